"""Verify the audit chain against every signed checkpoint and write a new one; exit 0 when intact, 1 when not."""

import sys

from django.core.management.base import BaseCommand

from approvals import audit, audit_checkpoints


class Command(BaseCommand):
    help = (
        "Recompute every audit event's keyed hash and its link to the one before, and compare the chain "
        "with every signed checkpoint in MAILGUARD_AUDIT_CHECKPOINT_FILE: a changed, removed or inserted "
        "event, a rewritten chain and a cut-off end are detected without being given anything. Then "
        "append a signed checkpoint of the result (and log it), unless --no-checkpoint. Prints "
        "'audit chain intact: N events' and the hash of the last event (exit 0), or what is broken (exit 1). "
        "Events written after the last checkpoint are protected by the keyed chain alone; --anchor HASH "
        "(repeatable) additionally requires an event hash recorded elsewhere to be in the log."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-checkpoint",
            action="store_true",
            help="Only verify; do not append a checkpoint (for a read-only check).",
        )
        parser.add_argument(
            "--anchor",
            action="append",
            default=[],
            metavar="HASH",
            help="The hash of an event recorded earlier (repeatable); it must still be in the chain.",
        )

    def handle(self, *args, no_checkpoint: bool, anchor: list[str], **options):
        if no_checkpoint:
            state, _reading = audit_checkpoints.verify()
        else:
            state, _verification = audit_checkpoints.checkpoint()
        if not state.ok:
            where = f" at event {state.first_broken_id}" if state.first_broken_id else ""
            self.stderr.write(f"audit chain broken{where} ({state.checked} events before it verified): "
                              f"{state.problem}")
            sys.exit(1)
        missing = [value for value in anchor if not audit.contains_hash(value)]
        if missing:
            for value in missing:
                self.stderr.write(f"anchor {value} is not in the audit log: it was truncated or rewritten")
            sys.exit(1)
        self.stdout.write(f"audit chain intact: {state.checked} events")
        self.stdout.write(f"last hash: {state.last_hash}")
        if not no_checkpoint:
            self.stdout.write(f"checkpoint written to {audit_checkpoints.checkpoint_path()}")
