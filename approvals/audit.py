"""The audit trail: append-only events, each carrying a keyed hash of the one before.

Only the workflow, delivery and account modules (and the retention command) call
``record``; nothing updates or deletes an event, and on PostgreSQL and SQLite a
trigger refuses UPDATE and DELETE on the table itself.

Keyed chain. Each event's hash is an HMAC-SHA256, over the previous hash and the
event's fields, under a key that lives outside the database
(``MAILGUARD_AUDIT_KEY``; see ``audit_key``). Someone who can write to the
database but does not hold the key can change an event, but cannot compute
hashes that verify: rewriting an event and recomputing every later hash is
detected. Cutting events off the end, or rewriting by someone who holds the
key, is detected against the signed checkpoints kept outside the database
(``approvals.audit_checkpoints``).

Versions (``AuditEvent.scheme``). Events written before the chain was keyed
carry plain SHA-256 hashes (scheme 1) and still verify under that rule, but
only as the beginning of the log: once a keyed event (scheme 2) appears, an
unkeyed one after it breaks the chain, and every checkpoint records how many
unkeyed events there were, so rewriting the whole log as unkeyed is detected too.
"""

import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from . import notifications
from .models import AuditEvent, Campaign

GENESIS_HASH = "0" * 64
Scheme = AuditEvent.Scheme
# Any fixed number: the key of the PostgreSQL advisory lock that serialises appends.
_CHAIN_LOCK_KEY = 7_420_001


# --- The key -----------------------------------------------------------------------------------


def audit_key() -> bytes:
    """``MAILGUARD_AUDIT_KEY`` from the environment (required in production).

    Without it (the embedded mode and the demo), a random key is created once in
    ``MAILGUARD_AUDIT_KEY_FILE`` (``var/audit.key``): it keeps the chain verifiable
    there, but lives beside the database, so it protects only against someone who has
    the database and not the files.
    """
    configured = getattr(settings, "MAILGUARD_AUDIT_KEY", "")
    if configured:
        return configured.encode()
    return _key_from_file(Path(settings.MAILGUARD_AUDIT_KEY_FILE))


@cache
def _key_from_file(path: Path) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(os.urandom(32).hex())
    key = path.read_text().strip()
    if not key:
        raise RuntimeError(f"the audit key file {path} is empty")
    return key.encode()


def key_id() -> str:
    """A fingerprint of the key (not the key): tells "another key" apart from "tampered"."""
    return hmac.new(audit_key(), b"mailguard audit key id", hashlib.sha256).hexdigest()[:16]


def sign(message: bytes) -> str:
    return hmac.new(audit_key(), message, hashlib.sha256).hexdigest()


# --- Hashing one event -------------------------------------------------------------------------


def _canonical(fields: dict) -> str:
    return json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _event_hash(prev_hash: str, fields: dict, scheme: int = Scheme.HMAC_SHA256) -> str:
    message = (prev_hash + _canonical(fields)).encode("utf-8")
    if scheme == Scheme.SHA256:
        return hashlib.sha256(message).hexdigest()
    return sign(message)


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
    """Append one event. ``actor`` None means the system (a worker, a scheduled job, a command)."""
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
            scheme=Scheme.HMAC_SHA256,
        )
        event.hash = _event_hash(event.prev_hash, _hashed_fields(event))
        event.save(force_insert=True)
        # Once the event is committed, whoever it concerns is told (approvals.notifications).
        transaction.on_commit(partial(notifications.event_recorded, event.pk, action), robust=True)
        return event


# --- Verification ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainState:
    ok: bool
    checked: int
    first_broken_id: int | None = None
    # The hash of the last event that verified (the genesis hash for an empty log).
    last_hash: str = GENESIS_HASH
    last_id: int | None = None
    # Events at the start of the log written before the chain was keyed.
    legacy: int = 0
    problem: str = ""


@dataclass(frozen=True)
class Anchor:
    """What a signed checkpoint saw: the chain had ``events`` events, the last one hashed ``head``."""

    events: int
    head: str
    legacy: int
    label: str  # where it comes from, for messages


def verify_chain(anchors: list[Anchor] = ()) -> ChainState:
    """Walk the whole log in order: every link, every hash, and every anchor's position.

    The first event whose link or hash differs breaks the chain; an anchor whose event
    is gone (a cut tail) or differs (a rewrite by someone holding the key) breaks it too.
    """
    wanted = {}
    for anchor in anchors:
        wanted.setdefault(anchor.events, []).append(anchor)
    expected_prev, checked, legacy, keyed, last_id = GENESIS_HASH, 0, 0, False, None
    for event in AuditEvent.objects.order_by("id").iterator(chunk_size=2000):
        problem = _event_problem(event, expected_prev, keyed)
        if problem:
            return ChainState(False, checked, event.id, expected_prev, last_id, legacy, problem)
        keyed = keyed or event.scheme == Scheme.HMAC_SHA256
        legacy += event.scheme == Scheme.SHA256
        expected_prev, last_id, checked = event.hash, event.id, checked + 1
        for anchor in wanted.pop(checked, ()):
            if anchor.head != event.hash:
                return ChainState(False, checked - 1, event.id, expected_prev, last_id, legacy,
                                  f"event {event.id} differs from what {anchor.label} recorded: rewritten")
    state = ChainState(True, checked, None, expected_prev, last_id, legacy)
    return _check_remaining_anchors(state, anchors, wanted)


def _event_problem(event: AuditEvent, expected_prev: str, keyed: bool) -> str:
    if event.prev_hash != expected_prev:
        return f"event {event.id} does not follow the one before it: an event was removed or inserted"
    if event.scheme == Scheme.SHA256 and keyed:
        return f"event {event.id} is unkeyed after keyed events: rewritten without the key"
    if event.scheme not in Scheme.values:
        return f"event {event.id} has an unknown hash scheme {event.scheme}"
    if not hmac.compare_digest(event.hash, _event_hash(event.prev_hash, _hashed_fields(event), event.scheme)):
        return f"event {event.id} was changed after it was written"
    return ""


def _check_remaining_anchors(state: ChainState, anchors, unreached: dict) -> ChainState:
    for count, missed in sorted(unreached.items()):
        if count == 0 and missed[0].head == GENESIS_HASH:
            continue
        return ChainState(False, state.checked, None, state.last_hash, state.last_id, state.legacy,
                          f"{missed[0].label} saw {count} events; only {state.checked} remain: "
                          "the end of the log was cut off")
    for anchor in anchors:
        if anchor.legacy != state.legacy:
            return ChainState(False, state.checked, None, state.last_hash, state.last_id, state.legacy,
                              f"{anchor.label} saw {anchor.legacy} unkeyed events at the start of the log, "
                              f"now there are {state.legacy}: rewritten")
    return state


def contains_hash(event_hash: str) -> bool:
    """Whether an event with this hash is still in the log (an anchor recorded earlier)."""
    return AuditEvent.objects.filter(hash=event_hash.strip().lower()).exists()
