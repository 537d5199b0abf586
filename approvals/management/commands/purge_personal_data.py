"""Remove the personal data of campaigns that finished long ago: approvals.retention does it, this prints."""

from django.core.management.base import BaseCommand, CommandError

from approvals import retention


class Command(BaseCommand):
    help = (
        "Replace the personal data (addresses, names, list values) of campaigns that finished (sent, partly "
        "failed, cancelled) more than N days ago with placeholders. Counts, the delivery ledger's statuses and "
        "the audit log stay; one audit event per campaign records what was removed. Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than-days", type=int, default=None,
            help="Campaigns finished more than this many days ago (default: MAILGUARD RETENTION_DAYS, 365).",
        )
        parser.add_argument("--dry-run", action="store_true", help="List the campaigns, change nothing.")

    def handle(self, *args, older_than_days: int | None, dry_run: bool, **options):
        if older_than_days is not None and older_than_days < 0:
            raise CommandError("--older-than-days must be 0 or more")
        run = retention.purge_due(older_than_days, dry_run=dry_run)
        for campaign_id, in_doubt in run.skipped:
            self.stderr.write(
                f"campaign {campaign_id} skipped: {in_doubt} deliveries are in doubt; resolve them first")
        for campaign_id, recipients in run.would_purge:
            self.stdout.write(f"would purge campaign {campaign_id} ({recipients} recipients)")
        for result in run.purged:
            self.stdout.write(
                f"campaign {result.campaign_id}: {result.recipients} recipients, "
                f"{result.deliveries} deliveries purged"
            )
        verb = "would purge" if dry_run else "purged"
        count = len(run.would_purge) if dry_run else len(run.purged)
        self.stdout.write(f"{verb} {count} campaigns older than {run.days} days; {len(run.skipped)} skipped")
