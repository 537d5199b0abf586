"""The audit trail: append-only events, each carrying the hash of the one before.

Only the workflow and delivery modules (and the retention command) call
``record``; nothing updates or deletes an event. On PostgreSQL a trigger
(migration 0004) refuses UPDATE and DELETE on the table itself.
``verify_chain`` recomputes every hash and names the first event that does not
match, so a changed or removed row is detected.

Limitation: removing events from the *end* of the log leaves a shorter chain
that is still valid. ``ChainState.last_hash`` is the head of the chain; keep it
somewhere else (``manage.py verify_audit`` prints it) and pass it back later
with ``verify_audit --anchor`` to detect truncation. The trigger does not stop
TRUNCATE or a table owner who disables it: run the application with a database
role that does not own the tables if that matters.
"""

import hashlib
import json
from dataclasses import dataclass
from functools import partial

from django.db import connection, transaction
from django.utils import timezone

from . import notifications
from .models import AuditEvent, Campaign

GENESIS_HASH = "0" * 64
# Any fixed number: the key of the PostgreSQL advisory lock that serialises appends.
_CHAIN_LOCK_KEY = 7_420_001


def _event_hash(prev_hash: str, fields: dict) -> str:
    canonical = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((prev_hash + canonical).encode("utf-8")).hexdigest()


def _hashed_fields(event: AuditEvent) -> dict:
    return {
        "created_at": event.created_at.isoformat(),
        "actor_id": event.actor_id,
        "actor_name": event.actor_name,
        "action": event.action,
        "campaign_id": event.campaign_id,
        "content_hash": event.content_hash,
        "details": event.details,
    }


def _lock_chain() -> None:
    # SQLite runs write transactions one at a time (IMMEDIATE mode), so only
    # PostgreSQL needs an explicit lock to keep two appends from sharing a parent.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK_KEY])


def record(
    action: str,
    *,
    actor=None,
    campaign: Campaign | None = None,
    content_hash: str = "",
    **details,
) -> AuditEvent:
    """Append one event. ``actor`` None means the system (a worker, a scheduled job)."""
    with transaction.atomic():
        _lock_chain()
        last = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first()
        event = AuditEvent(
            created_at=timezone.now().replace(microsecond=0),
            actor=actor,
            actor_name=actor.get_username() if actor else "system",
            action=action,
            campaign=campaign,
            content_hash=content_hash,
            details=json.loads(json.dumps(details, default=str)),
            prev_hash=last or GENESIS_HASH,
        )
        event.hash = _event_hash(event.prev_hash, _hashed_fields(event))
        event.save(force_insert=True)
        # Once the event is committed, whoever it concerns is told (approvals.notifications).
        transaction.on_commit(partial(notifications.event_recorded, event.pk, action), robust=True)
        return event


@dataclass(frozen=True)
class ChainState:
    ok: bool
    checked: int
    first_broken_id: int | None = None
    # The hash of the last event that verified (the genesis hash for an empty log).
    last_hash: str = GENESIS_HASH


def verify_chain() -> ChainState:
    """Walk the whole log in order; the first event whose links or hash differ breaks it."""
    expected_prev = GENESIS_HASH
    checked = 0
    for event in AuditEvent.objects.order_by("id").iterator(chunk_size=2000):
        if event.prev_hash != expected_prev or event.hash != _event_hash(
            event.prev_hash, _hashed_fields(event)
        ):
            return ChainState(ok=False, checked=checked, first_broken_id=event.id, last_hash=expected_prev)
        expected_prev = event.hash
        checked += 1
    return ChainState(ok=True, checked=checked, last_hash=expected_prev)


def contains_hash(event_hash: str) -> bool:
    """Whether an event with this hash is still in the log (an anchor recorded earlier)."""
    return AuditEvent.objects.filter(hash=event_hash.strip().lower()).exists()
