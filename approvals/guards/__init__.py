"""Preflight: every check that runs while the drafter edits and again at submission.

Each family of checks lives in its own module and yields ``Finding``s. A
``BLOCK`` finding stops submission; ``ACKNOWLEDGE`` findings must be ticked by
the reviewer one by one; ``INFO`` is shown only.
"""

from collections.abc import Callable, Iterable

from ..models import Campaign
from . import content, mode, recipients
from .findings import Finding, Severity

Check = Callable[[Campaign], Iterable[Finding]]

CHECKS: list[Check] = [
    mode.sender_is_approved,
    mode.recipient_mode_is_allowed,
    recipients.list_is_present,
    recipients.addresses_are_valid,
    content.message_is_complete,
    content.merge_fields_are_known,
]


def run_preflight(campaign: Campaign) -> list[Finding]:
    findings: list[Finding] = []
    for check in CHECKS:
        findings.extend(check(campaign))
    return findings


def blocking(findings: Iterable[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == Severity.BLOCK]


__all__ = ["Finding", "Severity", "run_preflight", "blocking"]
