"""Evidence that survives its own database (issue 9, finding 3).

The chain is keyed (HMAC under a key from the environment), so someone who can
write to the database cannot rewrite an event and recompute the hashes; signed
checkpoints kept outside the database catch a cut tail and a rewrite by someone
holding the key; every change to accounts, roles, sender identities and internal
domains is in the chain; the auditor sees approvals by brand-new reviewers.
"""

import hashlib
import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from approvals import audit, audit_checkpoints
from approvals.models import AuditEvent, InternalDomain, Review, SenderIdentity
from approvals.roles import Role
from tests.conftest import audit_trigger_disabled, make_user
from tests.factories import approve_after_review, draft_campaign, members, submitted_campaign


def verify_audit(*args) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    try:
        call_command("verify_audit", *args, stdout=out, stderr=err)
    except SystemExit as exit_:
        return exit_.code, out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def plain_sha256(prev_hash: str, event: AuditEvent) -> str:
    """What the chain was before it was keyed: anyone can compute it."""
    fields = {"created_at": event.created_at.isoformat(), "actor_id": event.actor_id,
              "actor_name": event.actor_name, "action": event.action, "campaign_id": event.campaign_id,
              "content_hash": event.content_hash, "details": event.details}
    canonical = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((prev_hash + canonical).encode()).hexdigest()


def rewrite_from(event_id: int, *, scheme: int, **changes) -> None:
    """Change one event and recompute every later hash, as an attacker without the key would."""
    with audit_trigger_disabled():
        AuditEvent.objects.filter(pk=event_id).update(**changes)
        prev = AuditEvent.objects.filter(pk__lt=event_id).order_by("-id").values_list("hash", flat=True).first()
        prev = prev or audit.GENESIS_HASH
        for event in AuditEvent.objects.filter(pk__gte=event_id).order_by("id"):
            new_hash = plain_sha256(prev, event)
            AuditEvent.objects.filter(pk=event.pk).update(prev_hash=prev, hash=new_hash, scheme=scheme)
            prev = new_hash


@pytest.fixture
def approved(drafter, reviewer, sender):
    campaign = submitted_campaign(drafter, sender, members(3))
    return approve_after_review(campaign, reviewer)


# --- The keyed chain -------------------------------------------------------------------------------


def test_new_events_are_keyed_and_their_hash_is_not_plain_sha256(approved):
    event = AuditEvent.objects.get(action="approved")
    assert event.scheme == AuditEvent.Scheme.HMAC_SHA256
    assert event.hash != plain_sha256(event.prev_hash, event)
    assert audit.verify_chain().ok


def test_a_rewritten_approver_with_every_later_hash_recomputed_is_detected(approved, reviewer2):
    approval = AuditEvent.objects.get(action="approved")
    rewrite_from(approval.pk, scheme=AuditEvent.Scheme.HMAC_SHA256, actor_name="reviewer2", actor_id=reviewer2.pk)
    state = audit.verify_chain()
    assert not state.ok and state.first_broken_id == approval.pk
    code, _out, err = verify_audit("--no-checkpoint")
    assert code == 1 and "changed" in err


def test_a_chain_rewritten_as_unkeyed_after_keyed_events_is_detected(approved):
    approval = AuditEvent.objects.get(action="approved")
    rewrite_from(approval.pk, scheme=AuditEvent.Scheme.SHA256, details={"comment": "rewritten"})
    state = audit.verify_chain()
    assert not state.ok and state.first_broken_id == approval.pk and "unkeyed" in state.problem


def test_a_whole_log_rewritten_as_unkeyed_is_caught_by_a_checkpoint(approved):
    assert verify_audit()[0] == 0  # a signed checkpoint
    first = AuditEvent.objects.order_by("id").first()
    rewrite_from(first.pk, scheme=AuditEvent.Scheme.SHA256)
    assert audit.verify_chain().ok  # on its own, an all-unkeyed chain from the beginning looks old
    code, _out, err = verify_audit()
    assert code == 1 and "rewritten" in err


def test_events_from_before_the_key_still_verify_and_keyed_ones_continue_them(db):
    """The chain that exists today: scheme 1 events, then the first keyed one links to their head."""
    prev = audit.GENESIS_HASH
    with audit_trigger_disabled():
        for number in range(3):
            event = AuditEvent(created_at=timezone.now().replace(microsecond=0), actor_name="system",
                               action=f"old_{number}", details={"n": number}, prev_hash=prev, scheme=1)
            event.hash = plain_sha256(prev, event)
            event.save(force_insert=True)
            prev = event.hash
    audit.record("first_keyed")
    state = audit.verify_chain()
    assert state.ok and state.checked == 4 and state.legacy == 3


def test_the_key_is_not_stored_in_the_database(approved, settings):
    key = audit.audit_key().decode()
    for table in connection.introspection.table_names():
        with connection.cursor() as cursor:
            cursor.execute(f'SELECT * FROM "{table}"')
            assert key not in repr(cursor.fetchall()), table


def test_another_key_does_not_verify_the_chain(approved, settings):
    settings.MAILGUARD_AUDIT_KEY = "another key of at least thirty-two characters"
    assert not audit.verify_chain().ok


# --- Signed checkpoints outside the database ----------------------------------------------------------


def test_a_checkpoint_is_a_signed_line_in_the_file_and_in_the_log(approved, caplog):
    caplog.set_level("INFO", logger="approvals.audit")
    code, out, _err = verify_audit()
    assert code == 0 and "checkpoint written" in out
    [line] = audit_checkpoints.checkpoint_path().read_text().splitlines()
    body = json.loads(line)
    assert body["ok"] and body["events"] == AuditEvent.objects.count() and body["sig"]
    assert body["head"] == AuditEvent.objects.order_by("-id").first().hash
    assert line in caplog.text


def test_cutting_the_last_event_is_detected_without_an_anchor(approved):
    assert verify_audit()[0] == 0
    with audit_trigger_disabled():
        AuditEvent.objects.order_by("-id").first().delete()
    code, _out, err = verify_audit()
    assert code == 1 and "cut off" in err


def test_a_rewrite_by_someone_holding_the_key_is_detected_by_the_checkpoint(approved):
    assert verify_audit()[0] == 0
    approval = AuditEvent.objects.get(action="approved")
    with audit_trigger_disabled():
        AuditEvent.objects.filter(pk=approval.pk).update(details={"comment": "rewritten with the key"})
        prev = approval.prev_hash
        for event in AuditEvent.objects.filter(pk__gte=approval.pk).order_by("id"):
            new_hash = audit._event_hash(prev, audit._hashed_fields(event))
            AuditEvent.objects.filter(pk=event.pk).update(prev_hash=prev, hash=new_hash)
            prev = new_hash
    assert audit.verify_chain().ok  # the key recomputes a valid chain…
    code, _out, err = verify_audit()
    assert code == 1 and "rewritten" in err  # …that no longer matches what the checkpoint signed


def test_an_edited_checkpoint_line_fails_its_signature(approved):
    assert verify_audit()[0] == 0
    path = audit_checkpoints.checkpoint_path()
    body = json.loads(path.read_text())
    body["events"] -= 1
    path.write_text(json.dumps(body) + "\n")
    code, _out, err = verify_audit("--no-checkpoint")
    assert code == 1 and "signature" in err


def test_events_appended_after_a_checkpoint_still_verify(approved):
    assert verify_audit()[0] == 0
    audit.record("later_event")
    assert verify_audit()[0] == 0


def test_beat_writes_a_checkpoint_at_least_daily(settings, db):
    from approvals.tasks import checkpoint_audit

    entry = settings.CELERY_BEAT_SCHEDULE["audit-checkpoint"]
    assert entry["task"] == "approvals.tasks.checkpoint_audit" and entry["schedule"] <= 24 * 3600
    checkpoint_audit()
    assert audit_checkpoints.last_verification().ok


def test_the_auditor_page_shows_the_last_verification_without_walking_the_chain(
        approved, auditor, client_for, monkeypatch):
    assert verify_audit()[0] == 0

    def walking_the_chain(*args, **kwargs):
        raise AssertionError("the page walked the whole chain")

    monkeypatch.setattr(audit, "verify_chain", walking_the_chain)
    page = client_for(auditor).get(reverse("audit_campaigns"))
    assert page.status_code == 200
    assert 'data-ok="true"' in page.content.decode()
    assert page.context["verification"].events == AuditEvent.objects.count()


def test_the_auditor_page_shows_a_broken_chain_found_by_the_last_verification(approved, auditor, client_for):
    with audit_trigger_disabled():
        AuditEvent.objects.filter(action="approved").update(actor_name="someone-else")
    assert verify_audit()[0] == 1
    page = client_for(auditor).get(reverse("audit_campaigns"))
    assert 'data-ok="false"' in page.content.decode()


# --- The table refuses changes, on SQLite too -------------------------------------------------------


def test_the_audit_table_refuses_update_and_delete_on_every_database(approved):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.update(actor_name="x")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        # (events a review points at are protected by the foreign key before the trigger is reached)
        AuditEvent.objects.exclude(pk__in=Review.objects.exclude(submission_event=None).values("submission_event")).delete()
    assert audit.verify_chain().ok


# --- Accounts, roles, senders and domains are in the chain ------------------------------------------


@pytest.fixture
def admin_client(client_for, django_user_model):
    admin = django_user_model.objects.create_superuser("admin", "admin@example.jp", "pw-admin-password")
    return client_for(admin)


def actions_by(actor_name: str) -> list[str]:
    return list(AuditEvent.objects.filter(actor_name=actor_name).order_by("id").values_list("action", flat=True))


def test_every_change_to_accounts_roles_senders_and_domains_is_in_the_chain(admin_client, db):
    from django.contrib.auth.models import Group, User

    from approvals.management.commands.seed_demo import ensure_groups

    reviewers = ensure_groups()[Role.REVIEWER]
    response = admin_client.post(reverse("admin:auth_user_add"), {
        "username": "newcomer", "password1": "a-long-enough-pass-123", "password2": "a-long-enough-pass-123",
        "usable_password": "true"})
    assert response.status_code == 302, response.content[:2000]
    newcomer = User.objects.get(username="newcomer")
    admin_client.post(reverse("admin:auth_user_change", args=[newcomer.pk]), {
        "username": "newcomer", "email": "newcomer@example.jp", "is_active": "on", "groups": [reviewers.pk],
        "date_joined_0": "2026-11-30", "date_joined_1": "10:00:00"})
    admin_client.post(reverse("admin:approvals_senderidentity_add"),
                      {"display_name": "広報課", "email": "koho2@city.example.jp", "active": "on"})
    admin_client.post(reverse("admin:approvals_internaldomain_add"), {"domain": "city.example.jp"})
    domain = InternalDomain.objects.get()
    admin_client.post(reverse("admin:approvals_internaldomain_delete", args=[domain.pk]), {"post": "yes"})
    admin_client.post(reverse("admin:auth_group_add"), {"name": "Contractors"})
    assert Group.objects.filter(name="Contractors").exists()
    assert actions_by("admin") == [
        "user_created", "user_changed", "role_granted", "sender_identity_created", "internal_domain_created",
        "internal_domain_deleted", "group_created",
    ]
    grant = AuditEvent.objects.get(action="role_granted", actor_name="admin")
    assert grant.details == {"user_id": newcomer.pk, "username": "newcomer", "role": "Reviewer"}
    changed = AuditEvent.objects.get(action="user_changed", actor_name="admin")
    assert changed.details["changed"]["email"] == ["", "newcomer@example.jp"]
    assert "password" not in json.dumps(AuditEvent.objects.get(action="user_created", actor_name="admin").details)
    assert audit.verify_chain().ok


def test_a_role_revoked_and_a_sender_changed_outside_a_request_are_recorded_as_system(db, django_user_model, sender):
    person = make_user(django_user_model, "person", Role.REVIEWER)
    person.groups.clear()
    sender.email = "other@city.example.jp"
    sender.save()
    revoked = AuditEvent.objects.get(action="role_revoked")
    assert revoked.actor_name == "system" and revoked.details["role"] == "Reviewer"
    changed = AuditEvent.objects.get(action="sender_identity_changed")
    assert changed.details["changed"] == {"email": ["koho@city.example.jp", "other@city.example.jp"]}


def test_a_login_records_no_account_change(drafter, client):
    before = AuditEvent.objects.count()
    client.post(reverse("login"), {"username": "drafter", "password": "pw-drafter"})
    assert AuditEvent.objects.count() == before


# --- An approval by an account that just became a reviewer ------------------------------------------


def test_an_admin_who_makes_a_second_reviewer_account_and_approves_their_own_campaign_is_shown_to_the_auditor(
        db, django_user_model, sender, auditor, client_for):
    boss = make_user(django_user_model, "boss", Role.DRAFTER)
    boss.is_superuser = boss.is_staff = True
    boss.save()
    campaign = submitted_campaign(boss, sender, members(3))
    admin = client_for(boss)
    admin.post(reverse("admin:auth_user_add"), {
        "username": "boss2", "password1": "a-long-enough-pass-123", "password2": "a-long-enough-pass-123",
        "usable_password": "true"})
    second = django_user_model.objects.get(username="boss2")
    from approvals.management.commands.seed_demo import ensure_groups

    admin.post(reverse("admin:auth_user_change", args=[second.pk]), {
        "username": "boss2", "email": boss.email, "is_active": "on", "groups": [ensure_groups()[Role.REVIEWER].pk],
        "date_joined_0": "2026-11-30", "date_joined_1": "10:00:00"})
    second.refresh_from_db()
    approve_after_review(campaign, second)

    page = client_for(auditor).get(reverse("audit_campaign", args=[campaign.pk]))
    body = page.content.decode()
    [grant, created] = sorted(page.context["recent_grants"], key=lambda g: g.action)
    assert grant.action == "role_granted" and grant.granted_by == "boss" and grant.by_contributor
    assert created.action == "user_created" and created.granted_by == "boss"
    assert grant.same_address_as_drafter
    assert 'id="recent-grants"' in body and 'data-granted-by="boss"' in body
    assert "boss2 was given the Reviewer role by boss" in body
    listing = client_for(auditor).get(reverse("audit_campaigns"))
    assert campaign.pk in listing.context["recent_grants"] and "recent-grant" in listing.content.decode()
    changes = client_for(auditor).get(reverse("audit_changes"))
    assert 'data-action="role_granted"' in changes.content.decode()


def test_a_long_standing_reviewer_is_not_flagged(drafter, reviewer, sender, auditor, client_for, settings):
    campaign = submitted_campaign(drafter, sender, members(2))
    approve_after_review(campaign, reviewer)
    later = timezone.now() + timedelta(days=settings.MAILGUARD["RECENT_ROLE_GRANT_DAYS"] + 1)
    type(campaign).objects.filter(pk=campaign.pk).update(approved_at=later)
    page = client_for(auditor).get(reverse("audit_campaign", args=[campaign.pk]))
    assert page.context["recent_grants"] == []


def test_an_admin_sender_identity_edit_never_changes_a_submitted_campaign(drafter, sender, admin_client):
    campaign = submitted_campaign(drafter, sender, members(2))
    admin_client.post(reverse("admin:approvals_senderidentity_change", args=[sender.pk]),
                      {"display_name": "偽", "email": "fake@city.example.jp", "active": "on"})
    assert SenderIdentity.objects.get(pk=sender.pk).email == "fake@city.example.jp"
    campaign.refresh_from_db()
    from approvals.content_hash import compute_content_hash

    assert campaign.sender_label == "市役所 広報課 <koho@city.example.jp>"
    assert compute_content_hash(campaign) == campaign.submitted_hash


def test_draft_campaign_follows_its_identity_until_submission(drafter, sender):
    campaign = draft_campaign(drafter, sender, members(1))
    sender.display_name = "新しい名前"
    sender.save()
    campaign.refresh_from_db()
    assert campaign.sender_label.startswith("新しい名前")
