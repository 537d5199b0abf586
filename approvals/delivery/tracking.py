"""ESP tracking webhooks (through anymail): delivered, bounced, complained… into the ledger.

anymail authenticates the request (basic auth, and the ESP's signature where it
has one) and normalises the event; this module applies each event exactly once
and puts hard bounces, complaints and unsubscribes on the suppression list that
the recipient guards read. ESP-provided text is stored as plain text and only
ever shown escaped.
"""

import hashlib
import json

from anymail.signals import tracking
from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone

from .. import audit
from ..models import Delivery, Suppression, WebhookEvent

SUPPRESS = {
    "complained": Suppression.Reason.COMPLAINED,
    "unsubscribed": Suppression.Reason.UNSUBSCRIBED,
}


@receiver(tracking, dispatch_uid="mailguard-tracking")
def on_tracking_event(sender, event, esp_name, **kwargs) -> None:
    apply_tracking_event(event, esp_name)


def apply_tracking_event(event, esp_name: str) -> bool:
    """Apply one event; False when the same event was already applied."""
    recipient = (event.recipient or "").strip().lower()
    with transaction.atomic():
        _, created = WebhookEvent.objects.get_or_create(
            dedup_key=_dedup_key(event, esp_name),
            defaults={"esp_name": esp_name, "event_type": event.event_type,
                      "esp_message_id": event.message_id or "", "recipient": recipient},
        )
        if not created:
            return False
        delivery = _delivery_for(event.message_id, recipient)
        if delivery is not None:
            Delivery.objects.filter(pk=delivery.pk).update(
                tracking_status=event.event_type,
                tracking_detail=str(event.description or event.mta_response or "")[:2000],
                tracking_at=event.timestamp or timezone.now(),
            )
        reason = _suppression_reason(event)
        if reason and recipient:
            _, added = Suppression.objects.get_or_create(email=recipient, defaults={"reason": reason})
            if added:
                audit.record("address_suppressed", campaign=delivery.campaign if delivery else None,
                             reason=reason, esp=esp_name)
    return True


def _dedup_key(event, esp_name: str) -> str:
    raw = event.esp_event if isinstance(event.esp_event, dict) else {
        "id": event.event_id, "type": event.event_type, "message": event.message_id,
        "recipient": event.recipient, "time": str(event.timestamp)}
    canonical = json.dumps([esp_name, raw], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _delivery_for(esp_message_id: str | None, recipient: str) -> Delivery | None:
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
    return esp_event.get("Type") in {"SoftBounce", "Transient", "DnsError"}
