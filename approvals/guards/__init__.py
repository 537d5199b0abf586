"""Preflight: every check that runs while the drafter edits and again at submission.

Each family of checks lives in its own module; a check takes the loaded
``PreflightContext`` and yields ``Finding``s. A ``BLOCK`` finding stops
submission; ``ACKNOWLEDGE`` findings must be ticked by the reviewer one by one;
``INFO`` is shown only. To add a check, write a function in the right module
and list it in ``CHECKS``.
"""

from collections.abc import Callable, Iterable

from ..models import Campaign
from . import attachments, content, messages, mode, names, org_rules, recipients, trial_mode
from .context import PreflightContext, Row
from .findings import Finding, Severity

Check = Callable[[PreflightContext], Iterable[Finding]]

CHECKS: list[Check] = [
    mode.sender_is_approved,
    mode.recipient_mode_is_allowed,
    recipients.list_is_present,
    recipients.addresses_are_valid,
    recipients.list_size,
    recipients.missing_values,
    recipients.addresses_are_unique,
    recipients.suppressed_addresses,
    recipients.domain_typos,
    recipients.similar_addresses,
    names.names_shifted_against_addresses,
    names.display_names_changed,
    recipients.role_addresses,
    recipients.internal_external_split,
    recipients.unused_columns,
    content.message_is_complete,
    content.merge_fields_are_known,
    content.merged_headers_are_safe,
    messages.messages_carry_no_other_recipients_data,
    messages.personal_data_patterns,
    attachments.attachments_are_safe,
    org_rules.organisation_rules,
    trial_mode.trial_drafters_send_only_inside,
]


def run_preflight(campaign: Campaign) -> list[Finding]:
    context = PreflightContext.load(campaign)
    findings: list[Finding] = []
    for check in CHECKS:
        findings.extend(check(context))
    return findings


def blocking(findings: Iterable[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == Severity.BLOCK]


def needing_acknowledgement(findings: Iterable[dict]) -> list[dict]:
    """The stored findings (dicts) the reviewer must acknowledge."""
    return [f for f in findings if f["severity"] == Severity.ACKNOWLEDGE]


__all__ = ["Finding", "Severity", "PreflightContext", "Row", "run_preflight", "blocking", "needing_acknowledgement"]
