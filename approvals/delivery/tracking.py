"""ESP tracking webhooks (through anymail): delivered, bounced, complained… into the ledger.

The webhook URLs fail closed: without ``ANYMAIL_WEBHOOK_SECRET`` every request is
refused (403) and ``check --deploy`` reports the error; a body over
``MAILGUARD["WEBHOOK_MAX_BYTES"]`` is refused unread (413); a body the ESP's parser
cannot read (not JSON, a JSON array where an object belongs, missing or mistyped
fields, absurd nesting) is a 400, never a 500. Only anymail's *tracking* views are
routed; MailGuard reads no inbound mail, so no inbound URL exists.

anymail then authenticates the request (basic auth, and the ESP's signature where
it has one) and normalises the event; this module applies each event exactly
once, by the ESP's event id and by (message, recipient, event type), so a replay
under a new id changes nothing, and puts hard bounces, complaints and
unsubscribes on the suppression list that the recipient guards read.
ESP-provided text is stored as plain text and only ever shown escaped.
"""

import hashlib
import json

from anymail.exceptions import AnymailConfigurationError, AnymailError
from anymail.signals import tracking
from anymail.urls import urlpatterns as anymail_urlpatterns
from django.conf import settings
from django.db import IntegrityError, transaction
from django.dispatch import receiver
from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseForbidden
from django.urls import path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from .. import audit
from ..models import Delivery, Suppression, WebhookEvent

SUPPRESS = {
    "complained": Suppression.Reason.COMPLAINED,
    "unsubscribed": Suppression.Reason.UNSUBSCRIBED,
}
# What a parser raises on a body of the wrong shape (anymail's configuration error included: it is
# what Postmark's parser says of an inbound message posted here); anything else stays a 500.
PARSE_ERRORS = (ValueError, TypeError, AttributeError, KeyError, IndexError, RecursionError, AnymailError,
                AnymailConfigurationError)


def webhook_secret() -> str | list:
    return (getattr(settings, "ANYMAIL", None) or {}).get("WEBHOOK_SECRET") or ""


class _MalformedPayload(Exception):
    pass


class MalformedIsBadRequest:
    """Mixed into an anymail tracking view: a body its parser cannot read is a 400, not a 500."""

    def post(self, request, *args, **kwargs):
        try:
            return super().post(request, *args, **kwargs)
        except _MalformedPayload:
            return HttpResponseBadRequest("Malformed webhook payload.")

    def parse_events(self, request):
        try:
            return list(super().parse_events(request))
        except PARSE_ERRORS as err:
            raise _MalformedPayload from err


def _refusal(request) -> HttpResponse | None:
    """Before anymail sees the request: no secret, no webhooks; too large, not read."""
    if not webhook_secret():
        return HttpResponseForbidden("ESP webhooks are disabled: ANYMAIL_WEBHOOK_SECRET is not set.")
    limit = settings.MAILGUARD["WEBHOOK_MAX_BYTES"]
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if not declared.isdigit() or int(declared) > limit or len(request.body) > limit:
        return HttpResponse("Payload too large.", status=413)
    return None


def fail_closed(view_class):
    """The anymail tracking view behind the checks of ``_refusal`` (made before the view exists,
    so an ESP whose settings are missing refuses too)."""
    inner = type(f"Guarded{view_class.__name__}", (MalformedIsBadRequest, view_class), {}).as_view()

    @csrf_exempt  # the ESP has no CSRF token; basic auth and the ESP's signature stand in
    def view(request, *args, **kwargs):
        return _refusal(request) or inner(request, *args, **kwargs)

    return view


def _tracking_urlpatterns():
    patterns = []
    for pattern in anymail_urlpatterns:
        if (pattern.name or "").endswith("_tracking_webhook"):
            patterns.append(path(str(pattern.pattern), fail_closed(pattern.callback.view_class), name=pattern.name))
    return patterns


# Included by mailguard.urls under /anymail/ (namespace "anymail", as anymail's own urls).
urlpatterns = _tracking_urlpatterns()


@receiver(tracking, dispatch_uid="mailguard-tracking")
def on_tracking_event(sender, event, esp_name, **kwargs) -> None:
    apply_tracking_event(event, esp_name)


def _text(value) -> str:
    return "" if value is None else str(value)


def apply_tracking_event(event, esp_name: str) -> bool:
    """Apply one event; False when the same event (or a replay of it) was already applied."""
    recipient = _text(event.recipient).strip().lower()[:320]
    message_id = _text(event.message_id)[:255]
    event_type = _text(event.event_type)[:30]
    with transaction.atomic():
        try:
            with transaction.atomic():
                WebhookEvent.objects.create(
                    dedup_key=_dedup_key(event, esp_name, message_id, recipient, event_type),
                    esp_name=esp_name, event_id=_text(event.event_id)[:255], event_type=event_type,
                    esp_message_id=message_id, recipient=recipient,
                )
        except IntegrityError:
            return False
        delivery = _delivery_for(message_id, recipient)
        if delivery is not None:
            Delivery.objects.filter(pk=delivery.pk).update(
                tracking_status=event_type,
                tracking_detail=_text(event.description or event.mta_response)[:2000],
                tracking_at=event.timestamp or timezone.now(),
            )
        reason = _suppression_reason(event)
        if reason and recipient:
            _, added = Suppression.objects.get_or_create(email=recipient, defaults={"reason": reason})
            if added:
                audit.record("address_suppressed", campaign=delivery.campaign if delivery else None,
                             reason=reason, esp=esp_name)
    return True


def _dedup_key(event, esp_name: str, message_id: str, recipient: str, event_type: str) -> str:
    """Once per message, recipient and kind of event; without a message id, once per identical event."""
    if message_id:
        identity = [esp_name, "message", message_id, recipient, event_type]
    else:
        raw = event.esp_event if isinstance(event.esp_event, dict) else {
            "id": _text(event.event_id), "type": event_type, "recipient": recipient,
            "time": _text(event.timestamp)}
        identity = [esp_name, "event", raw]
    canonical = json.dumps(identity, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _delivery_for(esp_message_id: str, recipient: str) -> Delivery | None:
    if not esp_message_id:
        return None
    # In shared mode one ESP message covers several deliveries: the recipient picks the row.
    matches = Delivery.objects.filter(esp_message_id=esp_message_id).select_related("campaign")
    return matches.filter(email__iexact=recipient).first() or matches.first()


def _suppression_reason(event) -> str | None:
    if event.event_type in SUPPRESS:
        return SUPPRESS[event.event_type]
    if event.event_type == "bounced" and event.reject_reason == "bounced" and not _is_soft_bounce(event):
        return Suppression.Reason.BOUNCED
    return None


def _is_soft_bounce(event) -> bool:
    esp_event = event.esp_event if isinstance(event.esp_event, dict) else {}
    return _text(esp_event.get("Type")) in {"SoftBounce", "Transient", "DnsError"}
