"""Preflight: every check that runs while the drafter edits and again at submission.

Each check module is named after what it protects (``addresses``, ``similar``,
``domains``, ``names``, ``columns``, ``content``, ``leaks``, ``attachments``,
``mode``); the generic algorithms (``distance``, ``confusables``, ``romaji``,
``address_index``) and the data tables (``tables``, ``approvals.domains``) live
in modules of their own. A check takes the loaded ``PreflightContext`` (it never
queries the database itself) and yields ``Finding``s: a ``BLOCK`` finding stops
submission; ``ACKNOWLEDGE`` findings must be ticked by the reviewer one by one;
``INFO`` is shown only. A finding is a code and parameters; ``texts`` says it in
the reader's language. To add a check, write a function in the right module, a
sentence for its code in ``texts`` and list the function in ``CHECKS``.
"""

from collections.abc import Callable, Iterable

from ..models import Campaign
from . import (
    addresses,
    attachments,
    columns,
    content,
    domains,
    leaks,
    link_ownership,
    mode,
    names,
    org_rules,
    sender_domain,
    similar,
    trial_mode,
)
from .context import PreflightContext, Row
from .findings import Finding, Severity

Check = Callable[[PreflightContext], Iterable[Finding]]

CHECKS: list[Check] = [
    mode.sender_is_approved,
    sender_domain.sender_domain_authenticates,
    mode.recipient_mode_is_allowed,
    addresses.list_is_present,
    addresses.addresses_are_valid,
    addresses.addresses_sent_as_typed,
    addresses.list_size,
    columns.missing_values,
    addresses.addresses_are_unique,
    addresses.suppressed_addresses,
    domains.domain_typos,
    domains.lookalike_domains,
    similar.similar_addresses,
    names.names_shifted_against_addresses,
    names.display_names_changed,
    addresses.role_addresses,
    addresses.internal_external_split,
    columns.unused_columns,
    content.message_is_complete,
    content.merge_fields_are_known,
    content.merged_headers_are_safe,
    leaks.messages_carry_no_other_recipients_data,
    leaks.personal_data_patterns,
    link_ownership.messages_carry_only_their_own_links,
    attachments.attachments_are_safe,
    org_rules.organisation_rules,
    trial_mode.trial_drafters_send_only_inside,
]


def run_checks(context: PreflightContext) -> list[Finding]:
    findings: list[Finding] = []
    for check in CHECKS:
        findings.extend(check(context))
    return findings


def run_preflight(campaign: Campaign) -> list[Finding]:
    return run_checks(PreflightContext.load(campaign))


def blocking(findings: Iterable[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == Severity.BLOCK]


def needing_acknowledgement(findings: Iterable[dict]) -> list[dict]:
    """The stored findings (dicts) the reviewer must acknowledge."""
    return [f for f in findings if f["severity"] == Severity.ACKNOWLEDGE]


__all__ = ["Finding", "Severity", "PreflightContext", "Row", "run_preflight", "run_checks", "blocking",
           "needing_acknowledgement"]
