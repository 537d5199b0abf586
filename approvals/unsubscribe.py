"""One-click unsubscribe (RFC 8058): a newsletter recipient's token puts their address on the suppression list.

The mailbox provider POSTs ``List-Unsubscribe=One-Click`` to the URL of the
``List-Unsubscribe`` header, without cookies or a page, so the token is the only
credential: it names the recipient row, never the address. The address goes on
the suppression list (reason "unsubscribed"), which blocks it in every later
campaign's preflight; the audit event names the campaign and row, not the address.
Doing it twice changes nothing and records nothing new.
"""

from enum import StrEnum

from django.db import transaction

from . import audit
from .models import Recipient, Suppression
from .recipient_links import UNSUBSCRIBE, read_token


class Refusal(StrEnum):
    NOT_FOUND = "not_found"
    PROOF = "proof"
    GONE = "gone"  # the row's address was removed by the retention purge


class UnsubscribeRefused(Exception):
    def __init__(self, refusal: Refusal):
        super().__init__(refusal.value)
        self.refusal = refusal


def recipient_for(token: str) -> Recipient:
    """The recipient row a token was made for; raises UnsubscribeRefused."""
    parsed = read_token(token)
    if parsed is None or parsed.kind != UNSUBSCRIBE:
        raise UnsubscribeRefused(Refusal.NOT_FOUND)
    recipient = Recipient.objects.select_related("campaign", "campaign__sender").filter(
        pk=parsed.recipient_id).first()
    if recipient is None:
        raise UnsubscribeRefused(Refusal.NOT_FOUND)
    if parsed.proof:
        raise UnsubscribeRefused(Refusal.PROOF)
    if "@" not in recipient.email:
        raise UnsubscribeRefused(Refusal.GONE)
    return recipient


def unsubscribe(recipient: Recipient) -> bool:
    """Suppress the row's address; False when it was already suppressed (for any reason)."""
    with transaction.atomic():
        _suppression, added = Suppression.objects.get_or_create(
            email=recipient.email.strip().lower(), defaults={"reason": Suppression.Reason.UNSUBSCRIBED})
        if added:
            audit.record("unsubscribed", campaign=recipient.campaign, row=recipient.row_number,
                         reason=Suppression.Reason.UNSUBSCRIBED)
    return added
