"""Sending system mail through the configured backend (the fake ESP here, the outbox in the worker
tests), failures recorded and shown, and the pages: each person's settings, the system-mail ledger."""

import pytest
from django.urls import reverse

from approvals.models import Campaign, Delivery, SystemMail
from approvals.notifications import sending
from approvals.notifications.kinds import Kind
from approvals.profiles import profile_of
from tests.factories import members, submitted_campaign
from tests.notifications.helpers import arrived, body_of, plan_after, subject_of

Status = SystemMail.Status


@pytest.fixture
def waiting_mail(drafter, reviewer, sender) -> SystemMail:
    campaign = submitted_campaign(drafter, sender, members(2), name="会報 1月号")
    [mail] = plan_after("submitted", campaign)
    return mail


def test_a_notification_goes_through_the_esp_as_its_own_message_never_through_the_ledger(waiting_mail, esp):
    assert sending.send(waiting_mail.pk).status == Status.SENT
    [message] = esp.messages_to("reviewer@example.jp")
    assert message.subject == "[MailGuard] レビュー待ち: 会報 1月号"
    assert message.header("X-MailGuard-Notification") == Kind.REVIEW_WAITING
    assert message.header("Auto-Submitted") == "auto-generated"
    assert message.header("Message-ID") == waiting_mail.message_id
    assert f"/review/{waiting_mail.campaign_id}/" in message.text_body
    assert not Delivery.objects.exists()  # campaign mail's ledger is untouched
    waiting_mail.refresh_from_db()
    assert (waiting_mail.status, waiting_mail.attempts) == (Status.SENT, 1) and waiting_mail.sent_at


def test_the_outbox_backend_writes_the_message_a_person_can_open(waiting_mail, settings, tmp_path):
    settings.MAILGUARD_OUTBOX_DIR = tmp_path
    settings.MAILGUARD_SYSTEM_EMAIL_BACKEND = "approvals.delivery.outbox.OutboxEmailBackend"
    sending.send(waiting_mail.pk)
    message = arrived(waiting_mail)
    assert message["To"] == "reviewer@example.jp" and subject_of(message) == "[MailGuard] レビュー待ち: 会報 1月号"
    assert "会報 1月号" in body_of(message)


def test_a_row_is_sent_once_however_many_tasks_ask(waiting_mail, esp):
    assert sending.send(waiting_mail.pk).status == Status.SENT
    assert sending.send(waiting_mail.pk) is None
    assert len(esp.messages_to("reviewer@example.jp")) == 1


def test_a_refused_address_fails_at_once_with_the_reason(waiting_mail, esp):
    esp.reject_recipients(["reviewer@example.jp"])
    assert sending.send(waiting_mail.pk).status == Status.FAILED
    waiting_mail.refresh_from_db()
    assert waiting_mail.status == Status.FAILED and "AnymailRecipientsRefused" in waiting_mail.error


def test_an_unavailable_esp_is_retried_then_the_failure_stays_visible(waiting_mail, esp, settings):
    settings.MAILGUARD = {**settings.MAILGUARD, "SYSTEM_MAIL_MAX_ATTEMPTS": 2}
    esp.fail_next(5, status=503)
    first = sending.send(waiting_mail.pk)
    assert first.status == Status.QUEUED and first.retry_in > 0
    waiting_mail.refresh_from_db()
    assert waiting_mail.next_attempt_at and "503" in waiting_mail.error
    assert sending.send(waiting_mail.pk).status == Status.FAILED
    waiting_mail.refresh_from_db()
    assert (waiting_mail.status, waiting_mail.attempts) == (Status.FAILED, 2)


def test_a_separate_backend_can_carry_system_mail(waiting_mail, esp, settings, tmp_path):
    settings.MAILGUARD_OUTBOX_DIR = tmp_path
    settings.MAILGUARD_SYSTEM_EMAIL_BACKEND = "approvals.delivery.outbox.OutboxEmailBackend"
    sending.send(waiting_mail.pk)
    assert arrived(waiting_mail) is not None and not esp.messages()


# --- Pages -----------------------------------------------------------------------------------------


def test_each_person_chooses_language_and_what_to_receive_but_not_the_mandatory_kinds(client_for, drafter):
    client = client_for(drafter)
    page = client.get(reverse("notification_settings")).content.decode()
    assert f'value="{Kind.APPROVED}"' in page and f'data-kind="{Kind.REJECTED}"' in page
    assert f'value="{Kind.REVIEW_WAITING}"' not in page  # a drafter is never asked to review
    response = client.post(reverse("notification_settings"), {"language": "en", "receive": [Kind.SENDING_FINISHED]})
    assert response.status_code == 302
    profile = profile_of(drafter)
    assert profile.language == "en"
    assert Kind.APPROVED in profile.muted_notifications and Kind.SENDING_FINISHED not in profile.muted_notifications
    assert Kind.REJECTED not in profile.muted_notifications


@pytest.mark.parametrize("data", [{"language": "xx"}, {"language": "en", "receive": [Kind.IN_DOUBT]}])
def test_an_unknown_language_or_a_mandatory_kind_is_refused_with_a_message(client_for, drafter, data):
    response = client_for(drafter).post(reverse("notification_settings"), data)
    assert response.status_code == 200 and 'class="invalid-feedback d-block"' in response.content.decode()
    profile = profile_of(drafter)
    assert profile.language == "ja" and profile.muted_notifications == []


def test_each_person_sees_what_was_sent_to_them_and_what_failed(client_for, waiting_mail, reviewer):
    SystemMail.objects.filter(pk=waiting_mail.pk).update(status=Status.FAILED, error="SMTP 550 mailbox unknown")
    page = client_for(reviewer).get(reverse("notification_settings")).content.decode()
    assert "SMTP 550 mailbox unknown" in page and 'data-status="failed"' in page


def test_auditors_and_administrators_see_every_failure(client_for, waiting_mail, auditor, admin_client):
    SystemMail.objects.filter(pk=waiting_mail.pk).update(status=Status.FAILED, error="SMTP 550 mailbox unknown")
    for page in (client_for(auditor).get(reverse("audit_system_mail"), {"status": "failed"}),
                 admin_client.get(reverse("audit_system_mail"))):
        content = page.content.decode()
        assert page.status_code == 200 and "SMTP 550 mailbox unknown" in content
        assert 'id="system-mail-failed"' in content


def test_drafters_and_reviewers_cannot_read_other_peoples_system_mail(client_for, waiting_mail, drafter, reviewer):
    assert client_for(drafter).get(reverse("audit_system_mail")).status_code == 403
    assert client_for(reviewer).get(reverse("audit_system_mail")).status_code == 403


def test_admin_can_send_failed_mail_again(admin_client, waiting_mail, esp, django_capture_on_commit_callbacks):
    SystemMail.objects.filter(pk=waiting_mail.pk).update(status=Status.FAILED)
    with django_capture_on_commit_callbacks() as queued:
        admin_client.post(reverse("admin:approvals_systemmail_changelist"),
                          {"action": "send_again", "_selected_action": [waiting_mail.pk]})
    waiting_mail.refresh_from_db()
    assert waiting_mail.status == Status.QUEUED and len(queued) == 1
    assert sending.send(waiting_mail.pk).status == Status.SENT


def test_the_campaign_survives_without_its_notifications_being_lost(drafter, reviewer, sender):
    campaign = submitted_campaign(drafter, sender, members(2))
    [mail] = plan_after("submitted", campaign)
    Campaign.objects.filter(pk=campaign.pk).update(name="renamed")
    mail.refresh_from_db()
    assert "renamed" not in mail.subject  # the ledger keeps what was (to be) sent
