"""Per-recipient links in a message: signed tokens, their public URLs, and what ``render_for`` adds.

A campaign that sends its files as links gives each recipient one URL per file;
a newsletter gives each recipient an unsubscribe URL (in the RFC 8058
``List-Unsubscribe`` headers and at the foot of the text). Every URL carries a
token signed with the secret key (``django.core.signing``): it names the
recipient row (and the file), cannot be guessed or altered, and holds no
address (incident 12: an apology carried unsubscribe links with every member's
address in them).

Tokens are deterministic, so the preview the reviewer opens shows the very links
that leave. Whether a link still works (sent, expired, stopped) is decided by the
server each time it is used (``approvals.downloads``, ``approvals.unsubscribe``).
A proof or seed copy carries *proof* tokens: the same message, but the public
pages refuse them, so a drafter clicking "unsubscribe" in their proof does not
unsubscribe the row it was rendered for.
"""

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.conf import settings
from django.core import signing
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import translation
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .models import Attachment, Campaign, Recipient

SALT = "mailguard.recipient-links"
DOWNLOAD = "d"
UNSUBSCRIBE = "u"
# What a signed token looks like in text (the colon may arrive percent-encoded). Only
# tokens whose signature verifies count, so the pattern may be generous.
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{8,}(?::|%3[Aa])[A-Za-z0-9_-]{40,}")


@dataclass(frozen=True)
class LinkToken:
    kind: str  # DOWNLOAD or UNSUBSCRIBE
    recipient_id: int
    attachment_id: int | None = None
    proof: bool = False


def make_token(kind: str, recipient_id: int, attachment_id: int | None = None, *, proof: bool = False) -> str:
    payload: dict = {"k": kind, "r": recipient_id}
    if attachment_id is not None:
        payload["a"] = attachment_id
    if proof:
        payload["p"] = 1
    return signing.Signer(salt=SALT).sign_object(payload)


def read_token(token: str) -> LinkToken | None:
    """The token's contents, or None when it was not signed here (or was altered)."""
    try:
        payload = signing.Signer(salt=SALT).unsign_object(token.replace("%3A", ":").replace("%3a", ":"))
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if not isinstance(payload, dict) or payload.get("k") not in (DOWNLOAD, UNSUBSCRIBE):
        return None
    recipient_id, attachment_id = payload.get("r"), payload.get("a")
    if not isinstance(recipient_id, int) or not (attachment_id is None or isinstance(attachment_id, int)):
        return None
    return LinkToken(payload["k"], recipient_id, attachment_id, bool(payload.get("p")))


def tokens_in(text: str) -> Iterator[LinkToken]:
    """Every valid MailGuard token anywhere in text (links, pasted fragments, header values)."""
    for match in TOKEN_PATTERN.finditer(text):
        token = read_token(match.group())
        if token is not None:
            yield token


def may_contain_token(text: str) -> bool:
    """A cheap look before the signature checks: could text hold a token at all?"""
    return TOKEN_PATTERN.search(text) is not None


def public_url(view_name: str, token: str) -> str:
    return settings.MAILGUARD["PUBLIC_BASE_URL"] + reverse(view_name, args=[token])


# --- What a message gains ------------------------------------------------------------------


@dataclass(frozen=True)
class Additions:
    text: str = ""
    html: str = ""
    headers: dict[str, str] = field(default_factory=dict)


def adds_personal_links(campaign: Campaign) -> bool:
    """Whether this campaign's messages carry links made for their recipient."""
    return campaign.kind == Campaign.Kind.NEWSLETTER or sends_links(campaign)


def sends_links(campaign: Campaign) -> bool:
    return campaign.attachment_delivery == Campaign.AttachmentDelivery.LINKS


def additions_for(campaign: Campaign, recipient: Recipient, *, proof: bool = False) -> Additions:
    """The download links and unsubscribe parts of one recipient's message.

    Written in the site's language whatever the reader of a preview has chosen,
    so the preview and the sent message are the same text.
    """
    files = _link_files(campaign) if sends_links(campaign) else []
    newsletter = campaign.kind == Campaign.Kind.NEWSLETTER
    if not files and not newsletter:
        return Additions()
    with translation.override(settings.LANGUAGE_CODE):
        links = [(attachment, public_url("public_download", make_token(
            DOWNLOAD, recipient.pk, attachment.pk, proof=proof))) for attachment in files]
        unsubscribe = public_url("public_unsubscribe", make_token(UNSUBSCRIBE, recipient.pk, proof=proof))
        text, html = "", ""
        if links:
            text += _download_text(links)
            html += _download_html(links)
        if newsletter:
            text += "\n\n" + _("To stop receiving this newsletter: %(url)s") % {"url": unsubscribe}
            html += format_html('<p><a href="{}">{}</a></p>', unsubscribe, _("Stop receiving this newsletter"))
        headers = _unsubscribe_headers(campaign, unsubscribe) if newsletter else {}
    return Additions(text=text, html=html, headers=headers)


def _download_intro() -> str:
    days = settings.MAILGUARD["LINK_TTL_DAYS"]
    return ngettext(
        "Download the files from these links. You will be asked for the address this message was sent to. "
        "The links work for %(days)d day after sending.",
        "Download the files from these links. You will be asked for the address this message was sent to. "
        "The links work for %(days)d days after sending.", days) % {"days": days}


def _size(attachment: Attachment) -> str:
    return str(filesizeformat(attachment.size)).replace("\xa0", " ")


def _download_text(links: list[tuple[Attachment, str]]) -> str:
    lines = ["", "", "――――――――――", _download_intro()]
    for attachment, url in links:
        lines += [f"{attachment.filename} ({_size(attachment)})", url]
    return "\n".join(lines)


def _download_html(links: list[tuple[Attachment, str]]) -> str:
    items = format_html_join("", '<li><a href="{}">{}</a> ({})</li>',
                             ((url, a.filename, _size(a)) for a, url in links))
    return format_html("<hr><p>{}</p><ul>{}</ul>", _download_intro(), items)


def _unsubscribe_headers(campaign: Campaign, url: str) -> dict[str, str]:
    """RFC 2369 and RFC 8058: a mailto for people, an https POST for one-click."""
    mailbox = settings.MAILGUARD["UNSUBSCRIBE_MAILTO"] or (campaign.sender.email if campaign.sender else "")
    targets = [f"<{url}>"] + ([f"<mailto:{mailbox}?subject=unsubscribe>"] if mailbox else [])
    return {"List-Unsubscribe": ", ".join(targets), "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


# --- Reading a campaign's files once when rendering many messages ------------------------------


def _link_files(campaign: Campaign) -> list[Attachment]:
    fixed = getattr(campaign, "_mailguard_link_files", None)
    return fixed if fixed is not None else list(campaign.attachments.order_by("filename", "id"))


@contextmanager
def files_read_once(campaign: Campaign, attachments: Iterable[Attachment]):
    """Render many messages of one campaign (the preflight) without a query per message."""
    campaign._mailguard_link_files = sorted(attachments, key=lambda a: (a.filename, a.pk))
    try:
        yield
    finally:
        del campaign._mailguard_link_files


def addresses_of(recipient_ids: Iterable[int]) -> dict[int, str]:
    """The address of each recipient row a token names (rows of other campaigns included)."""
    return dict(Recipient.objects.filter(pk__in=set(recipient_ids)).values_list("pk", "email"))
