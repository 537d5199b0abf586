"""The content hash: SHA-256 over everything that decides what recipients receive.

Sender, subject, bodies, recipient field mode, campaign kind (newsletter adds
unsubscribe), how files travel (attached or as links), address/name columns, every
recipient row (in order) and every attachment's bytes (through their SHA-256).
The reviewer approves one hash; the worker recomputes it before the first
message and refuses to send if anything changed.
"""

import hashlib
import json

from .models import Campaign


def _canonical(value) -> bytes:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def compute_content_hash(campaign: Campaign) -> str:
    digest = hashlib.sha256()
    sender = campaign.sender
    digest.update(_canonical({
        "sender": [sender.display_name, sender.email] if sender else None,
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
    }))
    rows = campaign.recipients.order_by("row_number").values_list(
        "row_number", "email", "display_name", "data"
    )
    for row in rows.iterator(chunk_size=5000):
        digest.update(b"\nR")
        digest.update(_canonical(list(row)))
    for filename, sha256 in campaign.attachments.order_by("filename", "id").values_list(
        "filename", "sha256"
    ):
        digest.update(b"\nA")
        digest.update(_canonical([filename, sha256]))
    return digest.hexdigest()
