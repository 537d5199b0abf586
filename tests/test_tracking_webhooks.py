"""ESP tracking webhooks through anymail's real Postmark webhook view: auth, ledger, suppression,
failing closed without a secret, deduplication, size limits and malformed bodies."""

import base64
import json

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

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


# --- Fail closed, deduplicated, bounded, never a 500 (issue 9, finding 4) -----------------------


@pytest.fixture
def no_webhook_secret(settings, esp):
    settings.ANYMAIL = {k: v for k, v in getattr(settings, "ANYMAIL", {}).items() if k != "WEBHOOK_SECRET"}


def test_without_a_secret_the_tracking_url_refuses_everything(client, no_webhook_secret, sent_delivery):
    for auth in ("", "Basic " + base64.b64encode(b"esp:anything").decode()):
        response = post(client, bounce(sent_delivery), auth)
        assert response.status_code == 403
    assert client.head(URL).status_code == 403
    assert not Suppression.objects.exists()
    assert Delivery.objects.get(pk=sent_delivery.pk).tracking_status == ""


def test_a_replay_with_a_new_event_id_changes_nothing(client, webhook_auth, sent_delivery):
    from approvals.models import AuditEvent, WebhookEvent

    post(client, bounce(sent_delivery, bounce_id=42), webhook_auth)
    events_before = AuditEvent.objects.count()
    response = post(client, bounce(sent_delivery, bounce_id=43), webhook_auth)
    assert response.status_code == 200
    assert WebhookEvent.objects.count() == 1
    assert AuditEvent.objects.count() == events_before


def test_one_event_id_is_applied_once_even_for_another_message(client, webhook_auth, sent_delivery):
    from approvals.models import WebhookEvent

    other = sent_delivery.campaign.deliveries.exclude(pk=sent_delivery.pk).get()
    post(client, bounce(sent_delivery, bounce_id=42), webhook_auth)
    post(client, bounce(other, bounce_id=42), webhook_auth)
    assert WebhookEvent.objects.count() == 1
    assert not Suppression.objects.filter(email=other.email).exists()


def test_a_delivered_then_a_bounced_event_for_one_message_are_both_applied(client, webhook_auth, sent_delivery):
    delivered = {"RecordType": "Delivery", "MessageID": sent_delivery.esp_message_id,
                 "Recipient": sent_delivery.email, "DeliveredAt": "2026-11-24T10:00:00Z", "Details": "250 OK"}
    post(client, delivered, webhook_auth)
    post(client, bounce(sent_delivery), webhook_auth)
    assert Delivery.objects.get(pk=sent_delivery.pk).tracking_status == "bounced"


def test_an_oversized_body_is_refused_unread(client, webhook_auth, sent_delivery, settings):
    payload = bounce(sent_delivery)
    payload["Content"] = "x" * (settings.MAILGUARD["WEBHOOK_MAX_BYTES"] + 1)
    response = post(client, payload, webhook_auth)
    assert response.status_code == 413
    assert not Suppression.objects.exists()


@pytest.mark.parametrize("body", [
    b"[]", b"[1, 2, 3]", b'"text"', b"42", b"null", b"{", b"\xff\xfe not utf-8", b"",
    b'{"RecordType": "Bounce", "Type": ["HardBounce"]}',
    b'{"RecordType": "Bounce", "BouncedAt": 12}',
    b'{"RecordType": "Bounce", "BouncedAt": "2026-13-45T99:00:00Z"}',
    b'{"RecordType": "Delivery", "Metadata": []}',
    b'{"FromFull": {"Email": "x@example.org"}}',
    b"[" * 100_000 + b"]" * 100_000,
], ids=lambda body: body[:30].decode("latin-1"))
def test_a_malformed_body_is_a_400_never_a_500(db, client, webhook_auth, body, settings):
    settings.MAILGUARD = {**settings.MAILGUARD, "WEBHOOK_MAX_BYTES": 1024 * 1024}
    response = client.post(URL, data=body, content_type="application/json", HTTP_AUTHORIZATION=webhook_auth)
    assert response.status_code == 400
    assert not Suppression.objects.exists()


def test_fields_of_unexpected_types_are_applied_as_text_or_refused_never_a_500(client, webhook_auth, sent_delivery):
    payload = {**bounce(sent_delivery), "Email": 12345, "Description": {"nested": ["x"]}, "ID": [1]}
    response = post(client, payload, webhook_auth)
    assert response.status_code in (200, 400)


def test_inbound_webhook_urls_do_not_exist(db, client, webhook_auth):
    response = client.post("/anymail/postmark/inbound/", data="{}", content_type="application/json",
                           HTTP_AUTHORIZATION=webhook_auth)
    assert response.status_code == 404


@pytest.mark.parametrize("esp_name", ["sendgrid", "mailgun", "amazon_ses", "brevo"])
def test_every_routed_tracking_url_fails_closed(db, client, no_webhook_secret, esp_name):
    assert client.post(f"/anymail/{esp_name}/tracking/", data="{}", content_type="application/json").status_code == 403


# --- Property: whatever JSON arrives, the answer is never a 500 ---------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
POSTMARK_KEYS = ["RecordType", "Type", "ID", "MessageID", "Email", "Recipient", "BouncedAt", "DeliveredAt",
                 "Description", "Details", "Metadata", "Tag", "SuppressSending", "SuppressionReason", "ChangedAt"]
POSTMARK_LIKE = st.dictionaries(
    st.sampled_from(POSTMARK_KEYS),
    st.sampled_from(["Bounce", "HardBounce", "SpamComplaint", "Delivery", "SubscriptionChange",
                     "2026-11-24T10:00:00Z", "x@example.org"]) | JSON_VALUES,
    max_size=10,
)


@hypothesis_settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=POSTMARK_LIKE | JSON_VALUES)
def test_no_payload_gives_a_server_error(db, client, webhook_auth, payload):
    response = client.post(URL, data=json.dumps(payload), content_type="application/json",
                           HTTP_AUTHORIZATION=webhook_auth)
    assert response.status_code in (200, 400)
