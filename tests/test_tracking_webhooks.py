"""ESP tracking webhooks through anymail's real Postmark webhook view: auth, ledger, suppression."""

import base64
import json

import pytest

from approvals.models import Delivery, Suppression
from tests.factories import approved_campaign, members, send_all

URL = "/anymail/postmark/tracking/"


@pytest.fixture
def webhook_auth(settings, esp):
    settings.ANYMAIL = {**getattr(settings, "ANYMAIL", {}), "WEBHOOK_SECRET": "esp:s3cret"}
    return "Basic " + base64.b64encode(b"esp:s3cret").decode()


def post(client, payload, auth):
    return client.post(URL, data=json.dumps(payload), content_type="application/json",
                       HTTP_AUTHORIZATION=auth)


@pytest.fixture
def sent_delivery(drafter, reviewer, sender, esp):
    campaign = approved_campaign(drafter, reviewer, sender, members(2))
    send_all(campaign.pk)
    return campaign.deliveries.order_by("id").first()


def bounce(delivery, kind="HardBounce", bounce_id=42):
    return {"RecordType": "Bounce", "ID": bounce_id, "Type": kind, "MessageID": delivery.esp_message_id,
            "Email": delivery.email, "BouncedAt": "2026-11-24T10:00:00Z",
            "Description": "<script>alert('x')</script> mailbox unknown", "Details": "550 5.1.1"}


def test_hard_bounce_updates_the_ledger_and_suppresses_the_address(client, webhook_auth, sent_delivery):
    response = post(client, bounce(sent_delivery), webhook_auth)
    assert response.status_code == 200
    delivery = Delivery.objects.get(pk=sent_delivery.pk)
    assert delivery.tracking_status == "bounced"
    assert Suppression.objects.get(email=sent_delivery.email).reason == Suppression.Reason.BOUNCED


def test_soft_bounce_does_not_suppress(client, webhook_auth, sent_delivery):
    post(client, bounce(sent_delivery, kind="SoftBounce"), webhook_auth)
    assert not Suppression.objects.filter(email=sent_delivery.email).exists()


def test_complaint_suppresses_the_address(client, webhook_auth, sent_delivery):
    payload = {"RecordType": "SpamComplaint", "ID": 7, "Type": "SpamComplaint", "MessageID":
               sent_delivery.esp_message_id, "Email": sent_delivery.email, "BouncedAt": "2026-11-24T10:00:00Z"}
    post(client, payload, webhook_auth)
    assert Suppression.objects.get(email=sent_delivery.email).reason == Suppression.Reason.COMPLAINED


def test_delivered_event_is_recorded(client, webhook_auth, sent_delivery):
    payload = {"RecordType": "Delivery", "MessageID": sent_delivery.esp_message_id,
               "Recipient": sent_delivery.email, "DeliveredAt": "2026-11-24T10:00:00Z", "Details": "250 OK"}
    post(client, payload, webhook_auth)
    assert Delivery.objects.get(pk=sent_delivery.pk).tracking_status == "delivered"


def test_a_repeated_event_is_applied_once(client, webhook_auth, sent_delivery):
    from approvals.models import AuditEvent, WebhookEvent

    post(client, bounce(sent_delivery), webhook_auth)
    events_before = AuditEvent.objects.count()
    post(client, bounce(sent_delivery), webhook_auth)
    assert WebhookEvent.objects.count() == 1
    assert AuditEvent.objects.count() == events_before


def test_bad_basic_auth_is_refused(client, webhook_auth, sent_delivery):
    wrong = "Basic " + base64.b64encode(b"esp:wrong").decode()
    response = post(client, bounce(sent_delivery), wrong)
    assert response.status_code == 400
    assert not Suppression.objects.exists()


def test_esp_text_is_shown_inert_to_the_auditor(client, auditor, webhook_auth, sent_delivery):
    from django.urls import reverse

    post(client, bounce(sent_delivery), webhook_auth)
    client.force_login(auditor)
    page = client.get(reverse("audit_campaign", args=[sent_delivery.campaign_id]) + "?status=sent")
    body = page.content.decode()
    assert "bounced: &lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; mailbox unknown" in body
    assert "<script>alert" not in body
