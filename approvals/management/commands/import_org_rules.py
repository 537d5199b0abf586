"""Read organisation rules from a YAML file: all of them, or none when any entry is wrong."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from approvals.org_rules.exchange import RulesImportError, import_rules


class Command(BaseCommand):
    help = "Import organisation rules from a YAML file (rules with the same name are updated)."

    def add_arguments(self, parser):
        parser.add_argument("path")

    def handle(self, *args, path: str, **options):
        try:
            result = import_rules(Path(path).read_bytes())
        except OSError as err:
            raise CommandError(str(err)) from err
        except RulesImportError as err:
            raise CommandError("\n".join(err.errors)) from err
        self.stdout.write(f"created: {len(result.created)}, updated: {len(result.updated)}")
