"""Pause, resume, cancel mid-send, auto-pause, copies for resends, proofs, data minimisation."""

import pytest
from django.core.exceptions import ValidationError

from approvals import workflow
from approvals.delivery import engine
from approvals.models import Campaign, Delivery, SenderIdentity
from tests.factories import approved_campaign, draft_campaign, members

State = Campaign.State
Status = Delivery.Status


@pytest.fixture
def small_batches(settings):
    # These tests drive the engine themselves; the hold window keeps a Celery worker started by an
    # earlier test from starting the same campaign at the same moment.
    settings.MAILGUARD = {**settings.MAILGUARD, "SEND_BATCH_SIZE": 5, "STATE_CHECK_EVERY": 1, "HOLD_SECONDS": 3600}


def test_paused_campaign_sends_nothing_more_and_resume_continues_where_it_stopped(
        drafter, reviewer, sender, esp, small_batches):
    campaign = approved_campaign(drafter, reviewer, sender, members(12))
    engine.start(campaign.pk)
    engine.send_batch(campaign.pk)
    assert len(esp.messages()) == 5
    workflow.pause(campaign, reviewer, "確認のため")
    assert engine.send_batch(campaign.pk).handled == 0
    assert len(esp.messages()) == 5
    workflow.resume(campaign, drafter)
    while engine.send_batch(campaign.pk).again_in == 0:
        pass
    assert esp.accepted_by_recipient() == {r["メールアドレス"]: 1 for r in members(12)}
    campaign.refresh_from_db()
    assert campaign.state == State.SENT


@pytest.mark.django_db(transaction=True)
def test_cancel_during_a_batch_stops_the_rest_of_the_batch(drafter, reviewer, sender, esp, small_batches):
    import threading

    from django.db import connection

    from tests.conftest import wait_for

    campaign = approved_campaign(drafter, reviewer, sender, members(5))
    engine.start(campaign.pk)
    esp.delay_next(1, 1.0)

    def send_in_another_connection():
        engine.send_batch(campaign.pk)
        connection.close()

    sending = threading.Thread(target=send_in_another_connection)
    sending.start()
    wait_for(lambda: esp.request_count >= 1, message="the first message to be in flight")
    workflow.cancel(campaign, reviewer, "止める")
    sending.join()
    assert len(esp.messages()) == 1
    statuses = sorted(campaign.deliveries.values_list("status", flat=True))
    assert statuses == [Status.CANCELLED] * 4 + [Status.SENT]


def test_campaign_pauses_itself_after_consecutive_failures_and_says_why(
        drafter, reviewer, sender, esp, settings):
    settings.MAILGUARD = {**settings.MAILGUARD, "AUTO_PAUSE_AFTER_FAILURES": 3, "SEND_BATCH_SIZE": 10}
    esp.fail_next(100, status=503)
    campaign = approved_campaign(drafter, reviewer, sender, members(10))
    engine.start(campaign.pk)
    engine.send_batch(campaign.pk)
    campaign.refresh_from_db()
    assert campaign.state == State.PAUSED
    assert "3" in campaign.pause_reason and "503" in campaign.pause_reason
    assert esp.request_count == 3
    assert campaign.deliveries.filter(status=Status.PENDING).count() == 10
    assert campaign.events.filter(action="paused", details__automatic=True).exists()


def test_resend_is_a_new_draft_that_needs_its_own_review(drafter, reviewer, sender, esp):
    first = approved_campaign(drafter, reviewer, sender, members(3),
                              attachments=[("guide.pdf", b"%PDF-1.4 x", "application/pdf")])
    copy = workflow.copy_campaign(first, drafter)
    assert copy.state == State.DRAFT and copy.copied_from == first
    assert copy.recipients.count() == 3 and copy.attachments.get().sha256 == first.attachments.get().sha256
    assert not copy.deliveries.exists()


def test_proof_goes_only_to_the_drafters_own_address_and_is_audited(drafter, sender, esp):
    campaign = draft_campaign(drafter, sender, members(3))
    recipient = campaign.recipients.get(row_number=3)
    workflow.send_proof(campaign, drafter, recipient)
    [message] = esp.messages()
    assert message.recipients == [drafter.email]
    assert "PROOF" in message.subject and recipient.display_name in message.text_body
    assert campaign.events.filter(action="proof_sent", details__to=drafter.email).exists()


def test_reviewer_cannot_send_proofs(drafter, reviewer, sender, esp):
    campaign = draft_campaign(drafter, sender, members(1))
    with pytest.raises(workflow.NotAllowed):
        workflow.send_proof(campaign, reviewer, campaign.recipients.get())
    assert esp.messages() == []


def test_unused_columns_can_be_dropped_from_every_stored_row(drafter, sender):
    campaign = draft_campaign(drafter, sender, members(3), body="{{氏名}} 様")
    dropped = workflow.drop_columns(campaign, drafter, ["会員番号", "氏名"])
    assert dropped == ["会員番号"]  # the name column is used and stays
    campaign.refresh_from_db()
    assert "会員番号" not in campaign.columns
    assert all("会員番号" not in data for data in campaign.recipients.values_list("data", flat=True))


def test_free_mail_address_cannot_be_an_approved_sender(db):
    with pytest.raises(ValidationError):
        SenderIdentity(display_name="x", email="someone@gmail.com").full_clean()


def test_free_mail_sender_blocks_submission(drafter):
    private = SenderIdentity.objects.create(display_name="私用", email="teacher@yahoo.co.jp")
    campaign = draft_campaign(drafter, private, members(1))
    with pytest.raises(workflow.SubmissionBlocked) as blocked:
        workflow.submit(campaign, drafter)
    assert [f.code for f in blocked.value.findings] == ["sender.free_mail"]
