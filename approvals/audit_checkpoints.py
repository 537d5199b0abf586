"""Signed checkpoints of the audit chain, kept where the database cannot rewrite them.

A checkpoint verifies the whole chain against every earlier checkpoint, then
appends one line to ``MAILGUARD_AUDIT_CHECKPOINT_FILE`` and writes the same line
to the log (logger ``approvals.audit``): when it ran, whether the chain verified,
how many events it had, the hash of the last one, how many unkeyed events start
the log, and an HMAC of all that under the audit key. Beat writes one every
``MAILGUARD_AUDIT_CHECKPOINT_SECONDS`` (hourly by default) and
``manage.py verify_audit`` one on demand.

Each verification compares the chain with every signed line, so without being
given anything:
- a cut tail (events deleted from the end) is detected once a checkpoint saw them;
- a rewrite by someone who holds the key is detected for every event a checkpoint saw;
- an edited or forged line fails its signature.
Events written after the last checkpoint are protected by the keyed chain only.

Make the file append-only for the application's user (``chattr +a`` on Linux) and
ship the log lines off the machine: the evidence is then outside the reach of
whoever controls the database. The auditor pages show the last line instead of
walking the chain on every view.
"""

import hmac
import json
import logging
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from . import audit

log = logging.getLogger("approvals.audit")
FORMAT = 1


@dataclass(frozen=True)
class Verification:
    """One signed line: the result of one verification."""

    at: datetime
    ok: bool
    events: int
    head: str
    head_id: int | None
    legacy: int
    problem: str


@dataclass(frozen=True)
class Reading:
    verifications: list[Verification]
    problems: list[str]  # lines that are not what this key signed

    def anchors(self) -> list[audit.Anchor]:
        return [audit.Anchor(v.events, v.head, v.legacy, f"the checkpoint of {v.at.isoformat()}")
                for v in self.verifications if v.ok]


def checkpoint_path() -> Path:
    return Path(settings.MAILGUARD_AUDIT_CHECKPOINT_FILE)


def verify() -> tuple[audit.ChainState, Reading]:
    """The chain against every signed checkpoint; a bad line is a problem of its own."""
    reading = read_checkpoints()
    state = audit.verify_chain(reading.anchors())
    if state.ok and reading.problems:
        state = audit.ChainState(False, state.checked, None, state.last_hash, state.last_id, state.legacy,
                                 reading.problems[0])
    return state, reading


def checkpoint() -> tuple[audit.ChainState, Verification]:
    """Verify, then append the signed result (an intact chain's head becomes an anchor)."""
    state, _reading = verify()
    verification = Verification(
        at=timezone.now().replace(microsecond=0), ok=state.ok, events=state.checked, head=state.last_hash,
        head_id=state.last_id, legacy=state.legacy, problem=state.problem,
    )
    line = _signed_line(verification)
    _append(line)
    (log.info if state.ok else log.error)("audit checkpoint %s", line)
    return state, verification


def last_verification() -> Verification | None:
    """The newest line this key signed, for the auditor pages (None: never verified, or unreadable)."""
    reading = read_checkpoints()
    return reading.verifications[-1] if reading.verifications else None


def read_checkpoints() -> Reading:
    path = checkpoint_path()
    if not path.exists():
        return Reading([], [])
    verifications, problems = [], []
    expected_key = audit.key_id()
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            verification, problem = _parse(line, expected_key)
            if problem:
                problems.append(f"checkpoint line {number} of {path}: {problem}")
            else:
                verifications.append(verification)
    return Reading(verifications, problems)


def _signed_line(verification: Verification) -> str:
    body = {
        "format": FORMAT, "at": verification.at.isoformat(), "ok": verification.ok,
        "events": verification.events, "head": verification.head, "head_id": verification.head_id,
        "legacy": verification.legacy, "problem": verification.problem, "key_id": audit.key_id(),
    }
    return json.dumps({**body, "sig": audit.sign(_canonical(body))}, sort_keys=True, ensure_ascii=False)


def _parse(line: str, expected_key: str) -> tuple[Verification | None, str]:
    try:
        body = json.loads(line)
        signature = body.pop("sig")
    except (ValueError, KeyError, AttributeError, TypeError):
        return None, "not a checkpoint line"
    if body.get("key_id") != expected_key:
        return None, "signed with another audit key"
    if not hmac.compare_digest(str(signature), audit.sign(_canonical(body))):
        return None, "its signature does not match: the line was edited or forged"
    return Verification(
        at=datetime.fromisoformat(body["at"]), ok=bool(body["ok"]), events=int(body["events"]),
        head=str(body["head"]), head_id=body["head_id"], legacy=int(body["legacy"]), problem=str(body["problem"]),
    ), ""


def _canonical(body: dict) -> bytes:
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def _append(line: str) -> None:
    path = checkpoint_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    # One write with O_APPEND: the line lands whole at the end, even with a file that only allows appends.
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(descriptor, (line + "\n").encode("utf-8"))
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
