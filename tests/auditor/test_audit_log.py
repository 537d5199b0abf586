"""The audit log: verify_audit's exit codes, and a trigger (PostgreSQL and SQLite) that refuses changes."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from approvals import audit
from approvals.models import AuditEvent
from tests.conftest import audit_trigger_disabled
from tests.factories import approved_campaign, draft_campaign, members


def _verify(*args) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    try:
        call_command("verify_audit", *args, stdout=out, stderr=err)
    except SystemExit as exit_:
        return exit_.code, out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def test_verify_audit_reports_an_intact_chain_and_exits_0(drafter, reviewer, sender):
    approved_campaign(drafter, reviewer, sender, members(2))
    code, out, _err = _verify()
    assert code == 0
    assert f"audit chain intact: {AuditEvent.objects.count()} events" in out
    assert AuditEvent.objects.order_by("-id").first().hash in out


def test_verify_audit_on_an_empty_log_is_intact(db):
    code, out, _err = _verify()
    assert code == 0 and "audit chain intact: 0 events" in out


def test_verify_audit_names_the_first_tampered_event_and_exits_1(drafter, sender):
    draft_campaign(drafter, sender, members(1))
    event = AuditEvent.objects.order_by("id")[1]
    with audit_trigger_disabled():
        AuditEvent.objects.filter(pk=event.pk).update(actor_name="someone-else")
    code, out, err = _verify()
    assert code == 1 and "intact" not in out
    assert f"broken at event {event.pk}" in err


def test_verify_audit_detects_a_removed_event_in_the_middle(drafter, sender):
    draft_campaign(drafter, sender, members(1))
    second = AuditEvent.objects.order_by("id")[1]
    with audit_trigger_disabled():
        AuditEvent.objects.filter(pk=second.pk).delete()
    code, _out, err = _verify()
    following = AuditEvent.objects.filter(pk__gt=second.pk).order_by("id").first()
    assert code == 1 and f"broken at event {following.pk}" in err


def test_truncating_the_end_is_caught_by_the_last_checkpoint_without_an_anchor(drafter, sender):
    draft_campaign(drafter, sender, members(1))
    anchor = audit.verify_chain().last_hash
    assert _verify("--anchor", anchor)[0] == 0  # also writes a signed checkpoint
    with audit_trigger_disabled():
        AuditEvent.objects.filter(hash=anchor).delete()
    code, out, err = _verify()
    assert code == 1 and "intact" not in out and "cut off" in err
    code, _out, err = _verify("--no-checkpoint", "--anchor", anchor)
    assert code == 1


def test_verify_audit_help_documents_checkpoints_and_anchors():
    from approvals.management.commands.verify_audit import Command

    assert "checkpoint" in Command.help and "--anchor" in Command.help


# --- The table refuses UPDATE and DELETE (PostgreSQL and SQLite) ----------------------------


def test_the_database_refuses_to_update_an_audit_event(drafter, sender):
    draft_campaign(drafter, sender, members(1))
    event = AuditEvent.objects.get(action="created")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(actor_name="someone-else")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("UPDATE approvals_auditevent SET details = '{}'")
    event.refresh_from_db()
    assert event.actor_name == "drafter" and audit.verify_chain().ok


def test_the_database_refuses_to_delete_an_audit_event(drafter, sender):
    draft_campaign(drafter, sender, members(1))
    count = AuditEvent.objects.count()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=AuditEvent.objects.order_by("-id").first().pk).delete()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM approvals_auditevent")
    assert AuditEvent.objects.count() == count


def test_the_database_still_appends_events(drafter, sender):
    draft_campaign(drafter, sender, members(1))
    audit.record("test_event", note="appending is allowed")
    assert audit.verify_chain().ok
