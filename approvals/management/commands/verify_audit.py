"""Check the audit log's hash chain; exit 0 when intact, 1 naming the first broken event."""

import sys

from django.core.management.base import BaseCommand

from approvals import audit


class Command(BaseCommand):
    help = (
        "Recompute every audit event's hash and its link to the one before. Prints "
        "'audit chain intact: N events' and the hash of the last event (exit 0), or names the first "
        "event that was changed or removed (exit 1). Limitation: events removed from the END of the "
        "log leave a shorter chain that still verifies. Record the printed last hash somewhere else "
        "(a ticket, a mail to yourself) and pass it back later with --anchor: if that event is no "
        "longer in the log, the log was truncated or rewritten (exit 1)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--anchor",
            action="append",
            default=[],
            metavar="HASH",
            help="The hash of an event recorded earlier (repeatable); it must still be in the chain.",
        )

    def handle(self, *args, anchor: list[str], **options):
        state = audit.verify_chain()
        if not state.ok:
            self.stderr.write(
                f"audit chain broken at event {state.first_broken_id} "
                f"({state.checked} events before it verified)"
            )
            sys.exit(1)
        missing = [value for value in anchor if not audit.contains_hash(value)]
        if missing:
            for value in missing:
                self.stderr.write(f"anchor {value} is not in the audit log: it was truncated or rewritten")
            sys.exit(1)
        self.stdout.write(f"audit chain intact: {state.checked} events")
        self.stdout.write(f"last hash: {state.last_hash}")
