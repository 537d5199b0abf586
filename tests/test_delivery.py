"""The delivery engine in this process, through anymail's real Postmark backend to the fake ESP."""

from email.utils import getaddresses

import pytest

from approvals import workflow
from approvals.delivery import engine
from approvals.models import Campaign, Delivery
from tests.factories import approved_campaign, members, send_all

State = Campaign.State
Status = Delivery.Status


def test_each_recipient_gets_one_message_with_only_their_address_in_to(drafter, reviewer, sender, esp):
    rows = members(5)
    campaign = approved_campaign(drafter, reviewer, sender, rows)
    send_all(campaign.pk)
    received = esp.messages()
    assert len(received) == 5
    for row in rows:
        [message] = esp.messages_to(row["メールアドレス"])
        assert [addr for _, addr in getaddresses([message.to])] == [row["メールアドレス"]]
        assert not message.cc and not message.bcc
        assert row["氏名"] in message.text_body and row["会員番号"] in message.text_body
        others = [r["メールアドレス"] for r in rows if r is not row]
        assert not any(o in message.text_body or o in message.to for o in others)
    campaign.refresh_from_db()
    assert campaign.state == State.SENT
    assert set(campaign.deliveries.values_list("status", flat=True)) == {Status.SENT}


def test_esp_message_id_and_deterministic_message_id_are_recorded(drafter, reviewer, sender, esp):
    campaign = approved_campaign(drafter, reviewer, sender, members(2))
    send_all(campaign.pk)
    by_message_id = {m.header("Message-ID"): m for m in esp.messages()}
    for delivery in campaign.deliveries.all():
        assert by_message_id[delivery.message_id].message_id == delivery.esp_message_id
        assert delivery.attempts == 1 and delivery.sent_at is not None


def test_running_the_send_twice_never_sends_a_delivered_recipient_twice(drafter, reviewer, sender, esp):
    campaign = approved_campaign(drafter, reviewer, sender, members(4))
    send_all(campaign.pk)
    engine.start(campaign.pk)
    engine.send_batch(campaign.pk)
    assert len(esp.messages()) == 4 and not esp.duplicates()


def test_transient_esp_error_is_retried_without_doubling(drafter, reviewer, sender, esp):
    campaign = approved_campaign(drafter, reviewer, sender, members(3))
    esp.fail_next(2, status=500)
    send_all(campaign.pk)
    while engine.send_batch(campaign.pk).again_in is not None:
        pass
    assert esp.accepted_by_recipient() == {r["メールアドレス"]: 1 for r in members(3)}
    campaign.refresh_from_db()
    assert campaign.state == State.SENT


def test_recipient_refused_by_the_esp_fails_with_its_reason(drafter, reviewer, sender, esp):
    rows = members(3)
    esp.reject_recipients([rows[1]["メールアドレス"]])
    campaign = approved_campaign(drafter, reviewer, sender, rows)
    send_all(campaign.pk)
    failed = campaign.deliveries.get(email=rows[1]["メールアドレス"])
    assert failed.status == Status.FAILED and "rejected" in failed.error
    campaign.refresh_from_db()
    assert campaign.state == State.PARTLY_FAILED
    assert len(esp.messages()) == 2


def test_timeout_after_the_esp_accepted_is_in_doubt_not_resent(drafter, reviewer, sender, esp, settings):
    settings.ANYMAIL = {**settings.ANYMAIL, "REQUESTS_TIMEOUT": 0.5}
    campaign = approved_campaign(drafter, reviewer, sender, members(2))
    esp.delay_next(1, 2.0)
    send_all(campaign.pk)
    statuses = sorted(campaign.deliveries.values_list("status", flat=True))
    assert statuses == [Status.IN_DOUBT, Status.SENT]
    assert len(esp.messages()) == 2 and not esp.duplicates()


def test_changed_content_after_approval_is_never_sent(drafter, reviewer, sender, esp):
    campaign = approved_campaign(drafter, reviewer, sender, members(2))
    Campaign.objects.filter(pk=campaign.pk).update(subject="差し替え")
    assert not engine.start(campaign.pk)
    campaign.refresh_from_db()
    assert campaign.state == State.CANCELLED
    assert esp.messages() == []
    assert campaign.events.filter(action="send_refused_content_changed").exists()


def test_changed_attachment_bytes_after_approval_are_never_sent(drafter, reviewer, sender, esp):
    campaign = approved_campaign(drafter, reviewer, sender, members(1),
                                 attachments=[("guide.pdf", b"%PDF-1.4 original", "application/pdf")])
    attachment = campaign.attachments.get()
    with open(attachment.file.path, "wb") as handle:
        handle.write(b"%PDF-1.4 swapped")
    assert not engine.start(campaign.pk)
    assert esp.messages() == []


def test_attachment_reaches_the_esp_byte_for_byte(drafter, reviewer, sender, esp):
    pdf = b"%PDF-1.4\n% newsletter\n"
    campaign = approved_campaign(drafter, reviewer, sender, members(2),
                                 attachments=[("会報.pdf", pdf, "application/pdf")])
    send_all(campaign.pk)
    for message in esp.messages():
        assert [(a.name, a.content) for a in message.attachments] == [("会報.pdf", pdf)]


def test_bcc_mode_puts_the_sender_in_to_and_the_recipient_in_the_envelope(drafter, reviewer, sender, esp):
    rows = members(2)
    campaign = approved_campaign(drafter, reviewer, sender, rows, mode="bcc")
    send_all(campaign.pk)
    for row in rows:
        [message] = esp.messages_to(row["メールアドレス"])
        assert sender.email in message.to and row["メールアドレス"] not in message.to
        assert message.bcc.strip() == row["メールアドレス"]


def test_cancelled_campaign_sends_nothing(drafter, reviewer, sender, esp):
    campaign = approved_campaign(drafter, reviewer, sender, members(2))
    workflow.cancel(campaign, reviewer, "stop")
    assert not engine.start(campaign.pk)
    assert engine.send_batch(campaign.pk).handled == 0
    assert esp.messages() == []


def test_stale_claim_becomes_in_doubt(drafter, reviewer, sender, settings):
    campaign = approved_campaign(drafter, reviewer, sender, members(2))
    engine.start(campaign.pk)
    from approvals.delivery import ledger

    claimed = ledger.claim_batch(campaign.pk, 1)
    assert len(claimed) == 1
    assert ledger.mark_stale_in_doubt(older_than_seconds=-1) == 1
    assert Delivery.objects.get(pk=claimed[0].pk).status == Status.IN_DOUBT


def test_person_can_resend_in_doubt_deliveries_and_it_is_audited(drafter, reviewer, sender, esp, settings):
    settings.ANYMAIL = {**settings.ANYMAIL, "REQUESTS_TIMEOUT": 0.5}
    campaign = approved_campaign(drafter, reviewer, sender, members(1))
    esp.delay_next(1, 2.0)
    send_all(campaign.pk)
    delivery = campaign.deliveries.get()
    assert delivery.status == Status.IN_DOUBT
    esp.clear()  # the ESP's own log says it never delivered it
    workflow.resolve_in_doubt(campaign, reviewer, [delivery.pk], resend=True)
    while engine.send_batch(campaign.pk).again_in == 0:
        pass
    assert Delivery.objects.get(pk=delivery.pk).status == Status.SENT
    assert len(esp.messages()) == 1
    assert campaign.events.filter(action="in_doubt_resent", actor=reviewer).exists()


def test_person_can_mark_in_doubt_deliveries_delivered(drafter, reviewer, sender, esp, settings):
    settings.ANYMAIL = {**settings.ANYMAIL, "REQUESTS_TIMEOUT": 0.5}
    campaign = approved_campaign(drafter, reviewer, sender, members(1))
    esp.delay_next(1, 2.0)
    send_all(campaign.pk)
    delivery = campaign.deliveries.get()
    workflow.resolve_in_doubt(campaign, reviewer, [delivery.pk], resend=False)
    assert Delivery.objects.get(pk=delivery.pk).status == Status.SENT
    assert campaign.events.filter(action="in_doubt_marked_delivered").exists()


def test_drafter_cannot_resolve_in_doubt_deliveries(drafter, reviewer, sender):
    campaign = approved_campaign(drafter, reviewer, sender, members(1))
    with pytest.raises(workflow.NotAllowed):
        workflow.resolve_in_doubt(campaign, drafter, [], resend=True)


def test_staged_send_pauses_after_the_first_recipients(drafter, reviewer, sender, esp, settings):
    settings.MAILGUARD = {**settings.MAILGUARD, "CANARY_SIZE": 3, "SEED_ADDRESSES": ["seed@city.example.jp"]}
    campaign = approved_campaign(drafter, reviewer, sender, members(10))
    send_all(campaign.pk)
    engine.send_batch(campaign.pk)
    campaign.refresh_from_db()
    assert campaign.state == State.PAUSED and "3" in campaign.pause_reason
    assert len(esp.messages_to("seed@city.example.jp")) == 1
    assert len(esp.messages()) == 1 + 3
    workflow.resume(campaign, reviewer)
    while engine.send_batch(campaign.pk).again_in == 0:
        pass
    campaign.refresh_from_db()
    assert campaign.state == State.SENT and len(esp.messages()) == 1 + 10


def test_shared_rate_limit_spaces_messages(drafter, reviewer, sender, esp, settings):
    settings.MAILGUARD = {**settings.MAILGUARD, "RATE_PER_SECOND": 20, "RATE_BURST": 1}
    campaign = approved_campaign(drafter, reviewer, sender, members(10))
    send_all(campaign.pk)
    times = sorted(esp.request_times)
    # No window of one second holds more than the limit plus the one-token burst.
    assert max(sum(1 for t in times if start <= t < start + 1) for start in times) <= 21
    assert len(times) == 10


def test_server_error_after_the_esp_stored_the_message_is_settled_by_its_log(drafter, reviewer, sender, esp):
    rows = members(3)
    campaign = approved_campaign(drafter, reviewer, sender, rows)
    esp.accept_then_fail_next(1, status=500)
    send_all(campaign.pk)
    assert esp.accepted_by_recipient() == {r["メールアドレス"]: 1 for r in rows}
    assert set(campaign.deliveries.values_list("status", flat=True)) == {Status.SENT}
    first = campaign.deliveries.order_by("id").first()
    assert first.esp_message_id == esp.messages()[0].message_id


def test_server_error_without_the_message_in_the_esp_log_is_retried(drafter, reviewer, sender, esp):
    campaign = approved_campaign(drafter, reviewer, sender, members(2))
    esp.fail_next(1, status=502)
    send_all(campaign.pk)
    assert len(esp.messages()) == 2 and not esp.duplicates()
    assert campaign.deliveries.order_by("id").first().attempts == 2


BATCH_BACKEND = "approvals.delivery.postmark_batch.EmailBackend"


def test_batch_backend_sends_individual_messages_in_one_call(drafter, reviewer, sender, esp, settings):
    settings.EMAIL_BACKEND = BATCH_BACKEND
    settings.MAILGUARD = {**settings.MAILGUARD, "SEND_BATCH_SIZE": 20}
    rows = members(20)
    campaign = approved_campaign(drafter, reviewer, sender, rows)
    send_all(campaign.pk)
    assert esp.request_count == 1
    for row in rows:
        [message] = esp.messages_to(row["メールアドレス"])
        assert message.endpoint == "email/batch"
        assert row["氏名"] in message.text_body and message.recipients == [row["メールアドレス"]]
    ids = set(campaign.deliveries.values_list("esp_message_id", flat=True))
    assert ids == {m.message_id for m in esp.messages()}


def test_batch_backend_fails_only_the_refused_recipient(drafter, reviewer, sender, esp, settings):
    settings.EMAIL_BACKEND = BATCH_BACKEND
    rows = members(6)
    esp.reject_recipients([rows[2]["メールアドレス"]])
    campaign = approved_campaign(drafter, reviewer, sender, rows)
    send_all(campaign.pk)
    refused = campaign.deliveries.get(email=rows[2]["メールアドレス"])
    assert refused.status == Status.FAILED and "406" in refused.error
    assert campaign.deliveries.filter(status=Status.SENT).count() == 5
    assert set(campaign.deliveries.values_list("attempts", flat=True)) == {1}


def test_batch_backend_settles_a_failed_call_by_the_esp_log(drafter, reviewer, sender, esp, settings):
    settings.EMAIL_BACKEND = BATCH_BACKEND
    rows = members(5)
    esp.accept_then_fail_next(1, status=503)
    campaign = approved_campaign(drafter, reviewer, sender, rows)
    send_all(campaign.pk)
    assert esp.accepted_by_recipient() == {r["メールアドレス"]: 1 for r in rows}
    assert set(campaign.deliveries.values_list("status", flat=True)) == {Status.SENT}


def test_campaign_does_not_finish_while_another_worker_holds_or_retries_a_delivery(
        drafter, reviewer, sender, esp):
    from approvals.delivery import ledger

    campaign = approved_campaign(drafter, reviewer, sender, members(3))
    engine.start(campaign.pk)
    [held] = ledger.claim_batch(campaign.pk, 1)  # another worker is sending this one
    while engine.send_batch(campaign.pk).again_in == 0:
        pass
    campaign.refresh_from_db()
    assert campaign.state == State.SENDING
    ledger.retry_later(held, "429 from the ESP", delay_seconds=60)  # it hands it back for later
    assert engine.send_batch(campaign.pk).again_in > 0
    campaign.refresh_from_db()
    assert campaign.state == State.SENDING
