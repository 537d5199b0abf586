"""Recount every campaign's delivery counters from its ledger rows (see approvals.delivery.ledger)."""

from django.core.management.base import BaseCommand

from approvals.delivery import ledger


class Command(BaseCommand):
    help = (
        "Recount the per-campaign delivery counters (sent, failed, in doubt…) that the pages read from the "
        "delivery ledger itself, and say which campaigns were off. Safe to run at any time."
    )

    def add_arguments(self, parser):
        parser.add_argument("campaign", nargs="*", type=int, help="Only these campaign ids (default: all).")

    def handle(self, *args, campaign: list[int], **options):
        corrected = ledger.rebuild_counts(campaign or None)
        if corrected:
            self.stdout.write(f"corrected the counters of {len(corrected)} campaigns: "
                              + ", ".join(str(pk) for pk in corrected))
        else:
            self.stdout.write("every counter matched the ledger")
