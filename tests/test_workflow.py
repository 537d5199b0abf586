"""The campaign state machine, roles and separation of duties, through approvals.workflow."""

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
