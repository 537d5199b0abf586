"""What one recipient receives: the rendered message and its exact headers.

The reviewer's preview and the worker's send both come from ``render_for``, so
what was reviewed is what leaves. The recipient field mode is applied here and
only here: the drafter picks a mode, the code writes the headers (incident 8).
"""

import functools
from dataclasses import dataclass, field
from email import policy
from email.errors import HeaderParseError
from email.utils import formataddr

import nh3
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.utils.translation import gettext as _

from . import merge, recipient_links
from .intake.addresses import sendable_address
from .models import Campaign, Delivery, Recipient

UNDISCLOSED = "undisclosed-recipients:;"
ADDRESS_HEADERS = frozenset({"From", "To", "Cc"})


@dataclass
class RenderedMessage:
    from_header: str
    to: list[str]
    cc: list[str]
    bcc: list[str]
    subject: str
    text: str
    html: str
    headers: dict[str, str] = field(default_factory=dict)

    def header_lines(self) -> list[tuple[str, str]]:
        """The headers as a person should read them, in the order mail clients show them."""
        lines = [("From", self.from_header), ("To", ", ".join(self.to) or UNDISCLOSED)]
        if self.cc:
            lines.append(("Cc", ", ".join(self.cc)))
        lines.append(("Subject", self.subject))
        lines.extend(self.headers.items())
        return lines

    def readable_header_lines(self) -> list[tuple[str, str, str]]:
        """(name, as the recipient's mail program shows it, as encoded in the message) for each header."""
        return [(name, decoded_header(name, value), value) for name, value in self.header_lines()]


def decoded_header(name: str, value: str) -> str:
    """An address header as mail programs show it: ``=?utf-8?b?…?= <koho@…>`` becomes ``市役所 広報課 <koho@…>``."""
    if name not in ADDRESS_HEADERS:
        return value
    try:
        return str(policy.default.header_factory(name, value))
    except (HeaderParseError, ValueError, IndexError):
        return value


def recipient_address(recipient: Recipient) -> str:
    """The To address with its display name; a line break there would inject headers."""
    if any(c in recipient.display_name + recipient.email for c in "\r\n"):
        raise merge.MergeError(_("A display name or address contains a line break, which cannot go into a header."))
    address = sendable_address(recipient.email)
    return formataddr((recipient.display_name, address)) if recipient.display_name else address


def sender_address(campaign: Campaign) -> str:
    """From: the name and address frozen at submission (while drafting, the chosen identity's)."""
    return _formatted_address(*campaign.sender_values())


@functools.lru_cache(maxsize=64)
def _formatted_address(name: str, address: str) -> str:
    # The same From for every message of a campaign: encoded once, not once per recipient.
    return formataddr((name, address))


def sanitize_html(html: str) -> str:
    """Drafter HTML is untrusted: keep formatting, drop scripts, handlers and styles that run."""
    return nh3.clean(html, link_rel="noopener noreferrer nofollow")


def message_id_for(delivery_key: str) -> str:
    """A deterministic Message-ID: the same delivery always carries the same id."""
    return f"<{delivery_key}@{settings.MAILGUARD['MESSAGE_ID_DOMAIN']}>"


def _addresses(campaign: Campaign, recipient: Recipient) -> tuple[list[str], list[str], list[str]]:
    mode = campaign.recipient_mode
    if mode == Campaign.RecipientMode.BCC:
        return [sender_address(campaign)], [], [sendable_address(recipient.email)]
    if mode == Campaign.RecipientMode.SHARED:
        everyone = [recipient_address(r) for r in campaign.recipients.order_by("row_number")]
        return everyone, [], []
    return [recipient_address(recipient)], [], []


def render_for(
    campaign: Campaign, recipient: Recipient, message_id: str = "", *, proof: bool = False
) -> RenderedMessage:
    """Render subject, bodies and headers for one recipient row. Raises merge.MergeError.

    ``proof``: a marked copy for the drafter or a seed mailbox, whose personal links the
    public pages refuse (see approvals.recipient_links).
    """
    row = recipient.data
    to, cc, bcc = _addresses(campaign, recipient)
    headers = {"X-MailGuard-Campaign": str(campaign.pk)}
    if message_id:
        headers = {"Message-ID": message_id, **headers}
    html = merge.render(campaign.body_html, row, escape_html=True) if campaign.body_html else ""
    # Download links and unsubscribe are MailGuard's own markup, added after the drafter's is sanitised.
    added = recipient_links.additions_for(campaign, recipient, proof=proof)
    return RenderedMessage(
        from_header=sender_address(campaign),
        to=to,
        cc=cc,
        bcc=bcc,
        subject=merge.render_header(campaign.subject, row),
        text=merge.render(campaign.body_text, row) + added.text,
        html=(sanitize_html(html) + added.html) if html else "",
        headers={**headers, **added.headers},
    )


def build_email(
    campaign: Campaign,
    delivery: Delivery,
    attachments: list[tuple[str, bytes, str]],
    connection=None,
) -> EmailMultiAlternatives:
    """The EmailMessage the worker hands to the backend for one delivery."""
    rendered = render_for(campaign, delivery.recipient, delivery.message_id)
    email = EmailMultiAlternatives(
        subject=rendered.subject,
        body=rendered.text,
        from_email=rendered.from_header,
        to=rendered.to,
        cc=rendered.cc,
        bcc=rendered.bcc,
        headers=rendered.headers,
        connection=connection,
    )
    if rendered.html:
        email.attach_alternative(rendered.html, "text/html")
    # ESPs keep metadata with the message, so a later search can find this delivery (reconcile).
    email.metadata = {"mailguard_delivery": delivery.message_id.strip("<>")}
    if not recipient_links.sends_links(campaign):  # with links, the files stay on the server
        for filename, content, content_type in attachments:
            email.attach(filename, content, content_type)
    return email
