"""Write the organisation's rules as YAML (to share them with another office)."""

from django.core.management.base import BaseCommand

from approvals.models import OrganisationRule
from approvals.org_rules.exchange import export_rules


class Command(BaseCommand):
    help = "Print the organisation rules as YAML, or write them to --output."

    def add_arguments(self, parser):
        parser.add_argument("--output", help="file to write (default: standard output)")

    def handle(self, *args, output=None, **options):
        text = export_rules(OrganisationRule.objects.all())
        if output:
            with open(output, "w", encoding="utf-8") as handle:
                handle.write(text)
        else:
            self.stdout.write(text, ending="")
