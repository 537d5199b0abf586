"""Every audit action the code can record has words for people: no raw codes on a timeline."""

import re
from pathlib import Path

from django.urls import reverse

from approvals import account_audit, timeline
from approvals.models import AuditEvent, InternalDomain

APPROVALS = Path(__file__).resolve().parents[2] / "approvals"
# The first argument of audit.record(...): a literal, or either side of "a" if ... else "b".
FIRST_ARGUMENT = re.compile(
    r"""audit\.record\(\s*(?:["']([a-z_]+)["'] if [^,]* else ["']([a-z_]+)["']|["']([a-z_]+)["'])""")


def _recorded_actions() -> set[str]:
    actions = set()
    for path in APPROVALS.rglob("*.py"):
        for groups in FIRST_ARGUMENT.findall(path.read_text(encoding="utf-8")):
            actions.update(name for name in groups if name)
    return actions


def _account_actions() -> set[str]:
    account_audit.connect()  # fills TRACKED: user, group, sender_identity, internal_domain
    prefixes = {prefix for prefix, _fields in account_audit.TRACKED.values()}
    return {f"{prefix}_{change}" for prefix in prefixes for change in ("created", "changed", "deleted")}


def test_the_scan_finds_the_actions_it_must():
    found = _recorded_actions()
    # One of each shape: a literal, a literal on the next line, either side of a conditional.
    assert {"cancelled", "approved", "role_granted", "role_revoked", "trial_mode_lifted"} <= found


def test_every_recorded_action_has_a_label():
    missing = sorted(a for a in _recorded_actions() | _account_actions() if a not in timeline.LABELS)
    assert missing == []


def test_the_account_changes_page_shows_words_not_codes(db, client_for, auditor, admin_user):
    account_audit.connect()
    InternalDomain.objects.create(domain="city.example.jp")
    assert AuditEvent.objects.filter(action="internal_domain_created").exists()
    page = client_for(auditor).get(reverse("audit_changes")).content.decode()
    assert str(timeline.LABELS["internal_domain_created"]) in page
    assert ">internal_domain_created<" not in page
