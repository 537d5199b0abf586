"""A recipient's download link in use: is it still good, is this the recipient, serve and record.

The link page is public (recipients are outsiders), so the token alone must
not be enough: the person confirms the address the message was sent to, compared
in a normal form only (NFKC, case-folded, trimmed) and never shown back. Each
try is a ``Download`` row against the recipient's delivery: a download, or a
wrong address. Wrong addresses lock all of that recipient's links for a while
(``LINK_MAX_WRONG_ADDRESSES`` per ``LINK_LOCKOUT_SECONDS``); the delivery row is
locked while one try is judged, so concurrent guesses are counted one by one.

A link works once its message has left (delivery sent, or in doubt), for
``LINK_TTL_DAYS`` from the start of sending, until "stop all downloads"
(``workflow.stop_downloads``), and while the file is still the approved one
(its SHA-256 is checked on every download) and was not removed by the
retention purge.
"""

import hashlib
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import Attachment, Campaign, Delivery, Download, Recipient
from .recipient_links import DOWNLOAD, read_token

# Deliveries whose message may have reached the recipient.
LEFT = (Delivery.Status.SENT, Delivery.Status.IN_DOUBT)


class Refusal(StrEnum):
    NOT_FOUND = "not_found"  # not a token of ours, or its row or file no longer exists
    PROOF = "proof"  # a proof or seed copy's link
    NOT_SENT = "not_sent"  # the message has not left (yet)
    EXPIRED = "expired"
    STOPPED = "stopped"  # "stop all downloads"
    GONE = "gone"  # the file was purged, or is no longer the approved one
    LOCKED = "locked"  # too many wrong addresses


class LinkRefused(Exception):
    def __init__(self, refusal: Refusal):
        super().__init__(refusal.value)
        self.refusal = refusal


@dataclass(frozen=True)
class DownloadLink:
    campaign: Campaign
    recipient: Recipient
    delivery: Delivery
    attachment: Attachment
    expires_at: datetime


def open_link(token: str) -> DownloadLink:
    """The link behind a token, if it may still serve its file; raises LinkRefused."""
    parsed = read_token(token)
    if parsed is None or parsed.kind != DOWNLOAD or parsed.attachment_id is None:
        raise LinkRefused(Refusal.NOT_FOUND)
    recipient = Recipient.objects.select_related("campaign", "campaign__sender").filter(
        pk=parsed.recipient_id).first()
    attachment = Attachment.objects.filter(pk=parsed.attachment_id, campaign_id=getattr(
        recipient, "campaign_id", None)).first()
    if recipient is None or attachment is None:
        raise LinkRefused(Refusal.NOT_FOUND)
    if parsed.proof:
        raise LinkRefused(Refusal.PROOF)
    campaign = recipient.campaign
    delivery = Delivery.objects.filter(recipient=recipient).first()
    if delivery is None or delivery.status not in LEFT or campaign.sending_started_at is None:
        raise LinkRefused(Refusal.NOT_SENT)
    if campaign.downloads_stopped_at is not None:
        raise LinkRefused(Refusal.STOPPED)
    expires_at = expiry_of(campaign)
    if timezone.now() >= expires_at:
        raise LinkRefused(Refusal.EXPIRED)
    if not attachment.file.name:
        raise LinkRefused(Refusal.GONE)
    return DownloadLink(campaign, recipient, delivery, attachment, expires_at)


def expiry_of(campaign: Campaign) -> datetime | None:
    if campaign.sending_started_at is None:
        return None
    return campaign.sending_started_at + timedelta(days=settings.MAILGUARD["LINK_TTL_DAYS"])


def same_address(typed: str, stored: str) -> bool:
    """Compare only: what the list holds is never changed (full-width, case, spaces are one address)."""
    return bool(stored.strip()) and "@" in stored and _normal(typed) == _normal(stored)


def _normal(address: str) -> str:
    return unicodedata.normalize("NFKC", address).strip().casefold()


def confirm(link: DownloadLink, typed_address: str) -> bytes | None:
    """Judge and record one try: the file's bytes when the address is the recipient's, else None.

    Raises LinkRefused: LOCKED after too many wrong addresses, GONE when the file
    is no longer the approved one (then nothing is recorded as downloaded).
    """
    limits = settings.MAILGUARD
    with transaction.atomic():
        # One try at a time per recipient, so the count of wrong addresses cannot be outrun.
        Delivery.objects.select_for_update().filter(pk=link.delivery.pk).first()
        since = timezone.now() - timedelta(seconds=limits["LINK_LOCKOUT_SECONDS"])
        wrong = link.delivery.downloads.filter(outcome=Download.Outcome.WRONG_ADDRESS, created_at__gte=since)
        if wrong.count() >= limits["LINK_MAX_WRONG_ADDRESSES"]:
            raise LinkRefused(Refusal.LOCKED)
        if not same_address(typed_address, link.recipient.email):
            Download.objects.create(delivery=link.delivery, attachment=link.attachment,
                                    outcome=Download.Outcome.WRONG_ADDRESS)
            return None
        data = approved_bytes(link)
        Download.objects.create(delivery=link.delivery, attachment=link.attachment,
                                outcome=Download.Outcome.DOWNLOADED)
    return data


def approved_bytes(link: DownloadLink) -> bytes:
    """The file, only if it still hashes to what the reviewer approved. Raises LinkRefused(GONE)."""
    try:
        with link.attachment.file.open("rb") as handle:
            data = handle.read()
    except (OSError, ValueError) as err:
        raise LinkRefused(Refusal.GONE) from err
    if hashlib.sha256(data).hexdigest() != link.attachment.sha256:
        raise LinkRefused(Refusal.GONE)
    return data


def delete_link_files(campaign: Campaign) -> int:
    """Retention: remove the stored files a link campaign serves (the rows, names and hashes stay)."""
    if campaign.attachment_delivery != Campaign.AttachmentDelivery.LINKS:
        return 0
    deleted = 0
    for attachment in campaign.attachments.exclude(file=""):
        attachment.file.delete(save=False)
        attachment.save(update_fields=["file"])
        deleted += 1
    return deleted
