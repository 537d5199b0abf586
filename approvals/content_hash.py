"""The content hash: SHA-256 over everything that decides what recipients receive.

The sender's name and address (as frozen at submission), subject, bodies,
recipient field mode, campaign kind (a newsletter adds unsubscribe),
how files travel (attached or as links), the list's columns and address/name columns, every
recipient row (in order) and every attachment: its name, its bytes (through
their SHA-256) and its content type. The reviewer approves one hash; the worker
recomputes it before the first message and on every resume, and checks the
part without the rows (``message_digest``) before every batch.

Versions. A campaign records the rule its hash was computed by
(``Campaign.content_hash_version``), so campaigns submitted before a rule
changed still verify: version 1 hashed neither the columns nor the attachment
types; version 2 does. A campaign that goes back to draft is hashed by the
newest rule from then on.
"""

import hashlib
import json
from collections.abc import Iterable, Sequence

from .models import Attachment, Campaign

CURRENT_VERSION = 2


def _canonical(value) -> bytes:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def _message_fields(campaign: Campaign, version: int) -> dict:
    sender = campaign.sender_values()
    fields = {
        "sender": list(sender) if sender else None,
        "subject": campaign.subject,
        "body_text": campaign.body_text,
        "body_html": campaign.body_html,
        "recipient_mode": campaign.recipient_mode,
        "address_column": campaign.address_column,
        "name_column": campaign.name_column,
        # Only when not the default, so versions approved before these choices existed keep their hash.
        **({"kind": campaign.kind} if campaign.kind != Campaign.Kind.NOTICE else {}),
        **({"attachment_delivery": campaign.attachment_delivery}
           if campaign.attachment_delivery != Campaign.AttachmentDelivery.ATTACH else {}),
    }
    if version >= 2:
        fields["columns"] = list(campaign.columns)
    return fields


def attachments_in_hash_order(campaign: Campaign):
    """The campaign's attachments in the order the hash takes them: (name, id) as the database sorts.

    The database's order, not Python's: with a collation such as ICU or ja_JP "B.pdf" and "a.pdf"
    sort differently from code points, and every hash of one campaign must agree.
    """
    return campaign.attachments.order_by("filename", "id")


def _attachment_fields(campaign: Campaign, version: int, attachments=None) -> list[list[str]]:
    """Each attachment's name, SHA-256 and type; from the database unless given (in hash order)."""
    if attachments is None:
        rows = attachments_in_hash_order(campaign).values_list("filename", "sha256", "content_type")
    else:
        rows = [(a.filename, a.sha256, a.content_type) for a in attachments]
    return [[filename, sha256, content_type] if version >= 2 else [filename, sha256]
            for filename, sha256, content_type in rows]


def compute_content_hash(campaign: Campaign) -> str:
    rows = campaign.recipients.order_by("row_number").values_list(
        "row_number", "email", "display_name", "data"
    )
    return hash_of(campaign, rows.iterator(chunk_size=5000))


def hash_of(campaign: Campaign, rows: Iterable[Sequence], attachments: Iterable[Attachment] | None = None) -> str:
    """The content hash of the campaign with these recipient rows (row number, address cell, name, data; in
    row order) and these attachment records (as ``attachments_in_hash_order`` gives them): the preflight
    hashes the very rows it checks."""
    version = campaign.content_hash_version or CURRENT_VERSION
    digest = hashlib.sha256()
    digest.update(_canonical(_message_fields(campaign, version)))
    for row in rows:
        digest.update(b"\nR")
        digest.update(_canonical(list(row)))
    for attachment in _attachment_fields(campaign, version, attachments):
        digest.update(b"\nA")
        digest.update(_canonical(attachment))
    return digest.hexdigest()


def message_digest(campaign: Campaign) -> str:
    """Everything but the recipient rows: cheap enough to check before every batch."""
    return hashlib.sha256(_canonical([
        _message_fields(campaign, CURRENT_VERSION), _attachment_fields(campaign, CURRENT_VERSION),
    ])).hexdigest()


def changed_attachment(campaign: Campaign) -> str | None:
    """The name of the first attachment whose stored bytes no longer match their recorded SHA-256."""
    for attachment in campaign.attachments.all():
        with attachment.file.open("rb") as handle:
            if hashlib.sha256(handle.read()).hexdigest() != attachment.sha256:
                return attachment.filename
    return None


def current_hash(campaign: Campaign) -> str:
    """The content hash, with every attachment's bytes re-read from storage."""
    changed = changed_attachment(campaign)
    if changed is not None:
        return "attachment-bytes-changed:" + changed
    return compute_content_hash(campaign)
