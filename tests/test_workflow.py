"""The campaign state machine, roles and separation of duties, through approvals.workflow."""

import json

import pytest
from django.db import IntegrityError, transaction

from approvals import audit, review_evidence, workflow
from approvals.content_hash import compute_content_hash
from approvals.models import AuditEvent, Campaign, Delivery, Review, ReviewActivity
from approvals.roles import Role
from tests.conftest import audit_trigger_disabled, make_user
from tests.factories import (
    approve_after_review,
    approved_campaign,
    draft_campaign,
    members,
    review_everything,
    submitted_campaign,
)
from tests.samples import NEWSLETTER_PDF

State = Campaign.State


def test_submission_freezes_content_and_records_the_hash(drafter, sender):
    campaign = submitted_campaign(drafter, sender, members(3))
    assert campaign.state == State.IN_REVIEW
    assert campaign.submitted_hash == compute_content_hash(campaign)
    with pytest.raises(workflow.WorkflowError):
        workflow.update_message(campaign, drafter, subject="changed")
    campaign.refresh_from_db()
    assert campaign.subject != "changed"


def test_reviewer_approves_and_a_delivery_exists_per_recipient(drafter, reviewer, sender):
    campaign = approved_campaign(drafter, reviewer, sender, members(4))
    assert campaign.state == State.APPROVED
    assert campaign.approved_by == reviewer
    assert campaign.approved_hash == campaign.submitted_hash
    assert sorted(campaign.deliveries.values_list("email", flat=True)) == sorted(
        campaign.recipients.values_list("email", flat=True))
    assert Review.objects.get(campaign=campaign).content_hash == campaign.approved_hash


def test_drafter_cannot_approve_own_campaign_even_as_reviewer(db, django_user_model, sender):
    both = make_user(django_user_model, "both", Role.DRAFTER, Role.REVIEWER)
    campaign = submitted_campaign(both, sender, members(2))
    with pytest.raises(workflow.NotAllowed):
        workflow.approve(campaign, both, campaign.submitted_hash)
    campaign.refresh_from_db()
    assert campaign.state == State.IN_REVIEW


def test_superuser_who_edited_cannot_approve(db, django_user_model, drafter, sender):
    from approvals.models import Contributor

    boss = make_user(django_user_model, "boss", Role.DRAFTER, Role.REVIEWER, is_superuser=True)
    campaign = draft_campaign(drafter, sender, members(2))
    # An edit recorded before editing was limited to the campaign's own drafters.
    Contributor.objects.create(campaign=campaign, user=boss)
    workflow.update_message(campaign, boss, subject="{{氏名}} 様")
    workflow.submit(campaign, drafter)
    with pytest.raises(workflow.NotAllowed):
        workflow.approve(campaign, boss, campaign.submitted_hash)


def test_database_refuses_an_approver_who_is_the_drafter(drafter, sender):
    campaign = draft_campaign(drafter, sender, members(1))
    with pytest.raises(IntegrityError), transaction.atomic():
        Campaign.objects.filter(pk=campaign.pk).update(approved_by=drafter)


def test_user_without_reviewer_role_cannot_approve(drafter, auditor, sender):
    campaign = submitted_campaign(drafter, sender, members(2))
    with pytest.raises(workflow.NotAllowed):
        workflow.approve(campaign, auditor, campaign.submitted_hash)


def test_approval_of_a_changed_version_is_refused(drafter, reviewer, sender):
    campaign = submitted_campaign(drafter, sender, members(2))
    seen = campaign.submitted_hash
    review_everything(campaign, reviewer)
    # Someone changes a recipient row behind the workflow's back after submission.
    Campaign.objects.get(pk=campaign.pk).recipients.filter(row_number=2).update(email="other@example.org")
    with pytest.raises(workflow.WorkflowError, match="changed"):
        workflow.approve(campaign, reviewer, seen)
    campaign.refresh_from_db()
    assert campaign.state == State.IN_REVIEW
    assert not campaign.deliveries.exists()


def test_approval_with_a_stale_hash_is_refused(drafter, reviewer, sender):
    campaign = submitted_campaign(drafter, sender, members(2))
    review_everything(campaign, reviewer)
    with pytest.raises(workflow.WorkflowError, match="changed"):
        workflow.approve(campaign, reviewer, "0" * 64)


def test_second_approval_click_is_refused_and_creates_no_second_ledger(drafter, reviewer, reviewer2, sender):
    campaign = approved_campaign(drafter, reviewer, sender, members(3))
    with pytest.raises(workflow.WorkflowError):
        workflow.approve(campaign, reviewer2, campaign.approved_hash)
    assert Delivery.objects.filter(campaign=campaign).count() == 3


def test_rejected_campaign_returns_to_drafter_and_needs_a_new_review(drafter, reviewer, sender):
    campaign = submitted_campaign(drafter, sender, members(2))
    workflow.reject(campaign, reviewer, "宛名を確認してください")
    campaign.refresh_from_db()
    assert campaign.state == State.REJECTED
    with pytest.raises(workflow.WorkflowError):
        workflow.approve(campaign, reviewer, campaign.submitted_hash)
    workflow.update_message(campaign, drafter, subject="{{氏名}} 様 (修正版)")
    campaign.refresh_from_db()
    assert campaign.state == State.DRAFT
    workflow.submit(campaign, drafter)
    campaign.refresh_from_db()
    approve_after_review(campaign, reviewer)
    assert campaign.state == State.APPROVED


def test_rejection_needs_a_comment(drafter, reviewer, sender):
    campaign = submitted_campaign(drafter, sender, members(1))
    with pytest.raises(workflow.WorkflowError):
        workflow.reject(campaign, reviewer, "  ")


def test_unknown_merge_field_blocks_submission(drafter, sender):
    campaign = draft_campaign(drafter, sender, members(2), body="{{氏名}} 様 {{住所}}")
    with pytest.raises(workflow.SubmissionBlocked) as blocked:
        workflow.submit(campaign, drafter)
    assert any("住所" in f.message for f in blocked.value.findings)
    campaign.refresh_from_db()
    assert campaign.state == State.DRAFT


def test_submission_without_sender_is_blocked(drafter):
    campaign = draft_campaign(drafter, None, members(2))
    with pytest.raises(workflow.SubmissionBlocked):
        workflow.submit(campaign, drafter)


def test_cancel_during_hold_window_stops_every_delivery(drafter, reviewer, sender):
    campaign = approved_campaign(drafter, reviewer, sender, members(3))
    workflow.cancel(campaign, drafter, "間違い")
    campaign.refresh_from_db()
    assert campaign.state == State.CANCELLED
    assert set(campaign.deliveries.values_list("status", flat=True)) == {Delivery.Status.CANCELLED}


def test_auditor_cannot_cancel(drafter, reviewer, auditor, sender):
    campaign = approved_campaign(drafter, reviewer, sender, members(1))
    with pytest.raises(workflow.NotAllowed):
        workflow.cancel(campaign, auditor)


def test_every_action_writes_a_chained_audit_event(drafter, reviewer, sender):
    campaign = approved_campaign(drafter, reviewer, sender, members(2))
    actions = list(AuditEvent.objects.filter(campaign=campaign).values_list("action", flat=True))
    assert actions == ["created", "list_uploaded", "edited", "submitted", "approved"]
    approved = AuditEvent.objects.get(campaign=campaign, action="approved")
    assert approved.actor == reviewer and approved.content_hash == campaign.approved_hash
    assert audit.verify_chain().ok


def test_tampering_with_an_audit_event_breaks_the_chain(drafter, sender):
    draft_campaign(drafter, sender, members(1))
    event = AuditEvent.objects.order_by("id")[1]
    with audit_trigger_disabled():  # as a database superuser could
        AuditEvent.objects.filter(pk=event.pk).update(actor_name="someone-else")
    state = audit.verify_chain()
    assert not state.ok and state.first_broken_id == event.pk


def test_content_hash_covers_attachment_bytes(drafter, sender):
    campaign = draft_campaign(drafter, sender, members(1))
    before = compute_content_hash(campaign)
    workflow.add_attachment(campaign, drafter, "guide.pdf", b"%PDF-1.4 test", "application/pdf")
    assert compute_content_hash(campaign) != before


def test_the_preflight_hashes_the_rows_it_checks_the_same_way_as_the_stored_hash(drafter, sender):
    """The edit page looks stored findings up by the hash read from the database; the preflight stores
    them under the hash of the rows it checked. Both must agree, attachments (out of name order) included."""
    from approvals import preflight

    campaign = draft_campaign(drafter, sender, members(4))
    for name in ("b.pdf", "a.pdf", "b.pdf"):
        workflow.add_attachment(campaign, drafter, name, b"%PDF-1.4 " + name.encode(), "application/pdf")
    Campaign.objects.filter(pk=campaign.pk).update(content_hash_version=1)
    for version in (1, 2):
        campaign.refresh_from_db()
        content_hash, findings = preflight.check_now(campaign)
        assert content_hash == compute_content_hash(campaign)
        stored = preflight.cached_findings(campaign)
        assert stored is not None
        assert campaign.content_hash_version == version
        assert (json.dumps([f.as_dict() for f in stored], sort_keys=True)
                == json.dumps([f.as_dict() for f in findings], sort_keys=True))
        Campaign.objects.filter(pk=campaign.pk).update(content_hash_version=2)


def test_the_hash_takes_attachments_in_the_order_given_not_re_sorted(drafter, sender):
    """The database's (name, id) order is the one every hash uses: under a collation such as ICU or
    ja_JP it is not Python's code-point order ("a.pdf" before "B.pdf"), so hash_of must not re-sort."""
    from approvals.content_hash import attachments_in_hash_order, hash_of

    campaign = draft_campaign(drafter, sender, members(2))
    for name in ("B.pdf", "a.pdf"):
        workflow.add_attachment(campaign, drafter, name, b"%PDF-1.4 " + name.encode(), "application/pdf")
    rows = list(campaign.recipients.order_by("row_number").values_list("row_number", "email", "display_name", "data"))
    in_order = list(attachments_in_hash_order(campaign))
    assert hash_of(campaign, rows, in_order) == compute_content_hash(campaign)
    assert hash_of(campaign, rows, in_order[::-1]) != compute_content_hash(campaign)


def stored_then(campaign, drafter, change):
    """Store the findings of the campaign, make a change outside it, and return the findings shown after."""
    workflow.current_findings(campaign)
    change()
    return {f.code for f in workflow.current_findings(Campaign.objects.get(pk=campaign.pk))}


def test_a_rule_added_after_the_findings_were_stored_applies_to_the_page_and_the_submission(drafter, sender):
    from approvals.models import OrganisationRule

    campaign = draft_campaign(drafter, sender, members(3))
    codes = stored_then(campaign, drafter, lambda: OrganisationRule.objects.create(
        name="no notices", target="subject", match="keyword", expression="様", action="block", message="止めます"))
    assert any(code.startswith("org_rule.block") for code in codes), codes
    with pytest.raises(workflow.SubmissionBlocked):
        workflow.submit(Campaign.objects.get(pk=campaign.pk), drafter)


def test_trial_mode_switched_on_after_the_findings_were_stored_applies(drafter, sender, admin_user):
    from approvals.trial_mode import set_trial_mode

    campaign = draft_campaign(drafter, sender, members(3))
    codes = stored_then(campaign, drafter, lambda: set_trial_mode(drafter, True, actor=admin_user))
    assert "trial.outside_organisation" in codes


def test_a_new_sender_identity_after_the_findings_were_stored_is_checked_against(drafter, sender):
    """An approved sender's domain is one a typo is compared with: a new one is noticed at once."""
    from approvals.models import SenderIdentity

    rows = [*members(10), {"氏名": "市役所 窓口", "メールアドレス": "madoguchi@city-exampel.jp", "会員番号": "M9"}]
    campaign = draft_campaign(drafter, sender, rows)
    assert not stored_then(campaign, drafter, lambda: None) & {"list.lookalike_domain"}
    codes = stored_then(campaign, drafter, lambda: SenderIdentity.objects.create(
        email="info@city-example.jp", display_name="市役所"))
    assert "list.lookalike_domain" in codes, codes


def test_only_drafters_create_campaigns(reviewer):
    with pytest.raises(workflow.NotAllowed):
        workflow.create_campaign(reviewer, "x")


def test_approval_is_refused_until_previews_and_attachments_were_opened(drafter, reviewer, sender):
    campaign = submitted_campaign(drafter, sender, members(20),
                                  attachments=[("guide.pdf", NEWSLETTER_PDF, "application/pdf")])
    with pytest.raises(workflow.WorkflowError, match="open"):
        workflow.approve(campaign, reviewer, campaign.submitted_hash)
    review_evidence.record_opened(campaign, reviewer, ReviewActivity.Kind.ATTACHMENT, campaign.attachments.get().pk)
    missing = review_evidence.missing_evidence(campaign, reviewer)
    rows = [row for _, row, _ in missing.recipients]
    assert not missing.attachments and 2 in rows and 21 in rows  # first and last list rows
    approve_after_review(campaign, reviewer)
    assert campaign.state == State.APPROVED


def test_previews_opened_by_another_reviewer_do_not_count(drafter, reviewer, reviewer2, sender):
    campaign = submitted_campaign(drafter, sender, members(5))
    review_everything(campaign, reviewer2)
    assert review_evidence.missing_evidence(campaign, reviewer)


def test_every_finding_needing_acknowledgement_must_be_ticked(db, django_user_model, drafter, reviewer, sender):
    from approvals.models import InternalDomain

    InternalDomain.objects.create(domain="example.com")
    campaign = submitted_campaign(drafter, sender, members(3), mode="shared")
    [finding] = [f for f in campaign.findings if f["severity"] == "acknowledge" and f["code"] == "mode.shared"]
    review_everything(campaign, reviewer)
    with pytest.raises(workflow.WorkflowError, match="cknowledge"):
        workflow.approve(campaign, reviewer, campaign.submitted_hash, acknowledged=[])
    approve_after_review(campaign, reviewer)
    review = campaign.reviews.get()
    assert finding["key"] in review.acknowledged
    event = campaign.events.get(action="approved")
    assert finding["key"] in event.details["acknowledged"]


# --- One version, frozen at approval (issue 9, findings 2 and 6) --------------------------------


@pytest.fixture
def small_batches(settings):
    settings.MAILGUARD = {**settings.MAILGUARD, "SEND_BATCH_SIZE": 5, "STATE_CHECK_EVERY": 1}


def _from_headers(esp) -> set[str]:
    from email.header import decode_header, make_header

    return {str(make_header(decode_header(message.from_))) for message in esp.messages()}


def _admin_client(client_for, django_user_model):
    admin = django_user_model.objects.create_superuser("admin", "admin@example.jp", "pw-admin")
    return client_for(admin)


def test_an_admin_edit_of_the_sender_between_pause_and_resume_changes_no_from_header(
        drafter, reviewer, sender, esp, small_batches, client_for, django_user_model):
    from django.urls import reverse

    from approvals.delivery import engine

    campaign = approved_campaign(drafter, reviewer, sender, members(12))
    engine.start(campaign.pk)
    engine.send_batch(campaign.pk)
    workflow.pause(campaign, reviewer, "確認のため")
    admin = _admin_client(client_for, django_user_model)
    response = admin.post(reverse("admin:approvals_senderidentity_change", args=[sender.pk]),
                          {"display_name": "偽の差出人", "email": "attacker@evil.example.jp", "active": "on"})
    assert response.status_code == 302
    workflow.resume(campaign, drafter)
    while engine.send_batch(campaign.pk).again_in == 0:
        pass
    assert len(esp.messages()) == 12
    assert _from_headers(esp) == {"市役所 広報課 <koho@city.example.jp>"}
    campaign.refresh_from_db()
    assert campaign.state == State.SENT
    assert campaign.sender_label == "市役所 広報課 <koho@city.example.jp>"
    assert AuditEvent.objects.filter(action="sender_identity_changed", actor_name="admin").exists()


def test_an_admin_edit_of_the_sender_during_review_changes_nothing_the_reviewer_approves(
        drafter, reviewer, sender, esp):
    from approvals.delivery import engine

    campaign = submitted_campaign(drafter, sender, members(2))
    sender.display_name, sender.email = "別人", "other@city.example.jp"
    sender.save()
    approve_after_review(campaign, reviewer)  # the version the reviewer saw is still the submitted one
    engine.start(campaign.pk)
    engine.send_batch(campaign.pk)
    assert _from_headers(esp) == {"市役所 広報課 <koho@city.example.jp>"}


def test_content_changed_behind_the_workflow_after_a_pause_stops_the_resume_with_a_visible_reason(
        drafter, reviewer, sender, esp, small_batches):
    from approvals.delivery import engine

    campaign = approved_campaign(drafter, reviewer, sender, members(12))
    engine.start(campaign.pk)
    engine.send_batch(campaign.pk)
    workflow.pause(campaign, reviewer)
    campaign.recipients.filter(row_number=13).update(email="intruder@evil.example.jp")
    with pytest.raises(workflow.WorkflowError, match="no longer matches"):
        workflow.resume(campaign, drafter)
    campaign.refresh_from_db()
    assert campaign.state == State.CANCELLED and "no longer matches" in campaign.pause_reason
    assert engine.send_batch(campaign.pk).handled == 0
    assert len(esp.messages()) == 5 and not esp.messages_to("intruder@evil.example.jp")
    assert campaign.events.filter(action="send_refused_content_changed").exists()
    assert not campaign.deliveries.filter(status=Delivery.Status.PENDING).exists()


def test_a_message_changed_in_the_database_mid_send_stops_the_next_batch(drafter, reviewer, sender, esp, small_batches):
    from approvals.delivery import engine

    campaign = approved_campaign(drafter, reviewer, sender, members(12))
    engine.start(campaign.pk)
    engine.send_batch(campaign.pk)
    Campaign.objects.filter(pk=campaign.pk).update(subject="差し替えた件名")
    assert engine.send_batch(campaign.pk).handled == 0
    campaign.refresh_from_db()
    assert campaign.state == State.CANCELLED and campaign.pause_reason
    assert len(esp.messages()) == 5
    assert not any("差し替えた" in m.subject for m in esp.messages())
    event = campaign.events.get(action="send_refused_content_changed")
    assert event.details["found"].startswith("message-changed:")


def test_an_attachment_changed_on_disk_mid_send_stops_the_next_batch(drafter, reviewer, sender, esp, small_batches):
    from approvals.delivery import engine

    campaign = approved_campaign(drafter, reviewer, sender, members(12),
                                 attachments=[("guide.pdf", NEWSLETTER_PDF, "application/pdf")])
    engine.start(campaign.pk)
    engine.send_batch(campaign.pk)
    attachment = campaign.attachments.get()
    with open(attachment.file.path, "wb") as handle:
        handle.write(NEWSLETTER_PDF + b"% changed\n")
    assert engine.send_batch(campaign.pk).handled == 0
    campaign.refresh_from_db()
    assert campaign.state == State.CANCELLED and len(esp.messages()) == 5


def test_the_content_hash_covers_each_attachments_content_type(drafter, sender):
    campaign = draft_campaign(drafter, sender, members(1),
                              attachments=[("guide.pdf", NEWSLETTER_PDF, "application/pdf")])
    before = compute_content_hash(campaign)
    campaign.attachments.update(content_type="text/html")
    assert compute_content_hash(campaign) != before


def test_campaigns_hashed_by_the_first_rule_still_verify(drafter, reviewer, sender):
    """A campaign submitted before attachment types were hashed keeps its recorded hash valid."""
    import hashlib

    campaign = submitted_campaign(drafter, sender, members(2),
                                  attachments=[("guide.pdf", NEWSLETTER_PDF, "application/pdf")])
    Campaign.objects.filter(pk=campaign.pk).update(content_hash_version=1)
    campaign.refresh_from_db()

    def canonical(value):
        return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()

    digest = hashlib.sha256(canonical({
        "sender": [sender.display_name, sender.email], "subject": campaign.subject,
        "body_text": campaign.body_text, "body_html": campaign.body_html, "recipient_mode": campaign.recipient_mode,
        "address_column": campaign.address_column, "name_column": campaign.name_column}))
    for row in campaign.recipients.order_by("row_number").values_list("row_number", "email", "display_name", "data"):
        digest.update(b"\nR" + canonical(list(row)))
    for filename, sha in campaign.attachments.values_list("filename", "sha256"):
        digest.update(b"\nA" + canonical([filename, sha]))
    assert compute_content_hash(campaign) == digest.hexdigest()


def test_a_rejected_campaign_back_in_draft_follows_its_identity_and_the_newest_hash_rule(drafter, reviewer, sender):
    campaign = submitted_campaign(drafter, sender, members(2))
    assert campaign.sender_email == "koho@city.example.jp"
    workflow.reject(campaign, reviewer, "件名を直してください")
    workflow.update_message(campaign, drafter, subject="{{氏名}} 様 (修正)")
    campaign.refresh_from_db()
    assert (campaign.sender_name, campaign.sender_email, campaign.content_hash_version) == ("", "", 2)


def test_a_drafter_who_is_also_a_reviewer_cannot_edit_or_resubmit_another_drafters_rejected_campaign(
        db, django_user_model, drafter, reviewer, sender):
    both = make_user(django_user_model, "both", Role.DRAFTER, Role.REVIEWER)
    campaign = submitted_campaign(drafter, sender, members(2))
    workflow.reject(campaign, reviewer, "宛名を確認してください")
    with pytest.raises(workflow.NotAllowed):
        workflow.update_message(campaign, both, subject="{{氏名}} 様 (書き換え)")
    with pytest.raises(workflow.NotAllowed):
        workflow.submit(campaign, both)
    campaign.refresh_from_db()
    assert campaign.state == State.REJECTED and "書き換え" not in campaign.subject
    assert not workflow.can("edit", campaign, both) and not workflow.can("submit", campaign, both)


def test_a_subject_with_a_line_break_is_blocked_at_preflight(drafter, sender):
    campaign = draft_campaign(drafter, sender, members(2), subject="{{氏名}} 様\nBcc: evil@example.org")
    with pytest.raises(workflow.SubmissionBlocked) as blocked:
        workflow.submit(campaign, drafter)
    assert "message.subject_line_break" in {f.code for f in blocked.value.findings}


def test_submission_stores_the_findings_it_computed_and_the_edit_page_reuses_them(drafter, sender, monkeypatch):
    from approvals import guards, preflight

    campaign = draft_campaign(drafter, sender, members(3))
    first = workflow.current_findings(campaign)
    calls = []
    run_checks = guards.run_checks
    monkeypatch.setattr(preflight.guards, "run_checks", lambda c: calls.append(c) or run_checks(c))
    assert [f.as_dict() for f in workflow.current_findings(campaign)] == [f.as_dict() for f in first]
    workflow.submit(campaign, drafter)
    assert calls == []  # same version: neither the page nor the submission ran the checks again
    campaign.refresh_from_db()
    assert campaign.findings == [f.as_dict() for f in first]
    assert not campaign.preflight_runs.exists()  # they quote list data; the submitted findings remain


def test_the_edit_page_reruns_the_preflight_after_any_change(drafter, sender, monkeypatch):
    from approvals import guards, preflight
    from approvals.models import InternalDomain, Suppression

    campaign = draft_campaign(drafter, sender, members(3))
    workflow.current_findings(campaign)
    checked = []
    run_checks = guards.run_checks
    monkeypatch.setattr(preflight.guards, "run_checks", lambda c: checked.append(c) or run_checks(c))
    workflow.update_message(campaign, drafter, body_text="{{氏名}} 様\n変更しました。")
    workflow.current_findings(campaign)
    workflow.current_findings(campaign)
    assert len(checked) == 1  # run once for the new version, then taken from the store
    assert not any(f.code == "list.suppressed" for f in workflow.current_findings(campaign))
    Suppression.objects.create(email="member00001@example.com", reason=Suppression.Reason.BOUNCED)
    codes = {f.code for f in workflow.current_findings(campaign)}
    assert any("suppress" in code for code in codes), codes
    workflow.update_message(campaign, drafter, subject="{{氏名}} 様 {{住所}}")
    assert "merge.unknown_field" in {f.code for f in workflow.current_findings(campaign)}
    InternalDomain.objects.create(domain="example.com")
    workflow.current_findings(campaign)  # a new key, computed, not an error
