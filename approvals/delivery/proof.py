"""Marked copies of one recipient's rendering: proofs for the drafter, seeds for the organisation."""

from django.core.mail import EmailMultiAlternatives, get_connection
from django.utils.translation import gettext as _

from ..models import Campaign, Recipient
from ..recipient_links import sends_links
from ..rendering import render_for
from .sender import Outcome, send_message


def send_proof(campaign: Campaign, recipient: Recipient, to_address: str) -> tuple[bool, str]:
    return send_marked_copy(campaign, recipient, to_address, _("[PROOF for row %(row)d]") % {
        "row": recipient.row_number})


def send_marked_copy(campaign: Campaign, recipient: Recipient, to_address: str, marker: str) -> tuple[bool, str]:
    """Send the copy; (accepted, detail). Never goes to the recipient, only to ``to_address``."""
    rendered = render_for(campaign, recipient, proof=True)
    email = EmailMultiAlternatives(
        subject=f"{marker} {rendered.subject}",
        body=rendered.text,
        from_email=rendered.from_header,
        to=[to_address],
        headers={"X-MailGuard-Proof": str(campaign.pk)},
    )
    if rendered.html:
        email.attach_alternative(rendered.html, "text/html")
    for attachment in campaign.attachments.all() if not sends_links(campaign) else ():
        with attachment.file.open("rb") as handle:
            email.attach(attachment.filename, handle.read(), attachment.content_type)
    connection = get_connection()
    try:
        result = send_message(connection, email, [to_address])[to_address]
    finally:
        connection.close()  # an SMTP session must not stay open until garbage collection
    return result.outcome == Outcome.SENT, result.reason or result.esp_message_id
