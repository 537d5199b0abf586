"""Per-recipient links in a message: signed tokens, their public URLs, and what ``render_for`` adds.

A campaign that sends its files as links gives each recipient one URL per file;
a newsletter gives each recipient an unsubscribe URL (in the RFC 8058
``List-Unsubscribe`` headers and at the foot of the text). Every URL carries a
token with an HMAC under the secret key (as Django's ``salted_hmac``, its own salt;
old keys in ``SECRET_KEY_FALLBACKS`` still verify): it names the recipient row
(and the file), cannot be guessed or altered, and holds no address (incident 12:
an apology carried unsubscribe links with every member's address in them).

Tokens are deterministic, so the preview the reviewer opens shows the very links
that leave. Whether a link still works (sent, expired, stopped) is decided by the
server each time it is used (``approvals.downloads``, ``approvals.unsubscribe``).
A proof or seed copy carries *proof* tokens: the same message, but the public
pages refuse them, so a drafter clicking "unsubscribe" in their proof does not
unsubscribe the row it was rendered for.
"""

import base64
import hashlib
import hmac
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.urls import get_resolver
from django.utils import translation
from django.utils.crypto import constant_time_compare
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .models import Attachment, Campaign, Recipient

SALT = "mailguard.recipient-links"
DOWNLOAD = "d"
UNSUBSCRIBE = "u"
# A token: kind (d: download, u: unsubscribe), "p" for a proof copy, the recipient row id,
# for a download "-" and the attachment id, then "." and 22 characters (132 bits) of an
# HMAC-SHA256 of all that under the secret key. "d1234-7.Zx3…" Only tokens whose MAC verifies
# count, so the pattern needs no word boundaries (a link wrapped in another URL, "%2Fd1234-7.…",
# is still found).
TOKEN_PATTERN = re.compile(r"([du]p?)([0-9]{1,18})(?:-([0-9]{1,18}))?\.([A-Za-z0-9_-]{22})")
MAC_LENGTH = 22


@dataclass(frozen=True)
class LinkToken:
    kind: str  # DOWNLOAD or UNSUBSCRIBE
    recipient_id: int
    attachment_id: int | None = None
    proof: bool = False


def _mac(payload: str, secret: str) -> str:
    """Django's salted_hmac(SALT, payload, secret, "sha256"), with the derived key kept: the leak
    scan makes and reads a few tokens for every recipient."""
    digest = hmac.digest(_derived_key(secret), payload.encode(), "sha256")
    return base64.urlsafe_b64encode(digest).decode()[:MAC_LENGTH]


@lru_cache(maxsize=8)
def _derived_key(secret: str) -> bytes:
    return hashlib.sha256((SALT + secret).encode()).digest()


def make_token(kind: str, recipient_id: int, attachment_id: int | None = None, *, proof: bool = False) -> str:
    payload = f"{kind}{'p' if proof else ''}{recipient_id}" + (f"-{attachment_id}" if attachment_id is not None else "")
    return f"{payload}.{_mac(payload, settings.SECRET_KEY)}"


def read_token(token: str) -> LinkToken | None:
    """The token's contents, or None when it was not made here (or was altered)."""
    match = TOKEN_PATTERN.fullmatch(token)
    return _verified(match) if match else None


def _verified(match: re.Match) -> LinkToken | None:
    kind, recipient_id, attachment_id, mac = match.groups()
    if (kind[0] == DOWNLOAD) != (attachment_id is not None):
        return None
    payload = match.group()[:-MAC_LENGTH - 1]
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", ())]
    if not any(constant_time_compare(mac, _mac(payload, key)) for key in keys):
        return None
    return LinkToken(kind[0], int(recipient_id), int(attachment_id) if attachment_id else None, kind.endswith("p"))


def tokens_in(text: str) -> Iterator[LinkToken]:
    """Every valid MailGuard token anywhere in text (links, pasted fragments, header values)."""
    seen = set()
    for match in TOKEN_PATTERN.finditer(text):
        if match.group() not in seen:
            seen.add(match.group())
            token = _verified(match)
            if token is not None:
                yield token


def may_contain_token(text: str) -> bool:
    """A cheap look before any MAC is checked: could text hold a token at all?"""
    return TOKEN_PATTERN.search(text) is not None


def public_url(view_name: str, token: str) -> str:
    """The configured base URL (including any path the site is served under) and the view's path."""
    return settings.MAILGUARD["PUBLIC_BASE_URL"] + _path_of(view_name).replace(_SLOT, token)


_SLOT = "__token__"


@lru_cache(maxsize=8)
def _path_of(view_name: str) -> str:
    # The resolver's own reverse carries no script prefix: a preview rendered inside a web
    # request and a message rendered by a worker get the same link.
    return "/" + get_resolver().reverse(view_name, _SLOT)


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
    wording = _wording(settings.LANGUAGE_CODE, settings.MAILGUARD["LINK_TTL_DAYS"],
                       tuple((a.filename, a.size) for a in files))
    text, html = "", ""
    if files:
        urls = [public_url("public_download", make_token(DOWNLOAD, recipient.pk, a.pk, proof=proof)) for a in files]
        text += "\n\n――――――――――\n" + wording.intro + "".join(
            f"\n{label}\n{url}" for label, url in zip(wording.file_labels, urls, strict=True))
        html += f"<hr><p>{escape(wording.intro)}</p><ul>" + "".join(
            f'<li><a href="{escape(url)}">{escape(label)}</a></li>'
            for label, url in zip(wording.file_labels, urls, strict=True)) + "</ul>"
    headers = {}
    if newsletter:
        url = public_url("public_unsubscribe", make_token(UNSUBSCRIBE, recipient.pk, proof=proof))
        text += "\n\n" + wording.unsubscribe_text % {"url": url}
        html += f'<p><a href="{escape(url)}">{escape(wording.unsubscribe_label)}</a></p>'
        headers = _unsubscribe_headers(campaign, url)
    return Additions(text=text, html=html, headers=headers)


@dataclass(frozen=True)
class _Wording:
    intro: str
    file_labels: tuple[str, ...]  # "kaiho.pdf (1.2 MB)"
    unsubscribe_text: str  # with %(url)s
    unsubscribe_label: str


@lru_cache(maxsize=32)
def _wording(language: str, days: int, files: tuple[tuple[str, int], ...]) -> _Wording:
    """The fixed words of the additions, translated once per campaign rather than once per message."""
    with translation.override(language):
        return _Wording(
            intro=ngettext(
                "Download the files from these links. You will be asked for the address this message was sent "
                "to. The links work for %(days)d day after sending.",
                "Download the files from these links. You will be asked for the address this message was sent "
                "to. The links work for %(days)d days after sending.", days) % {"days": days},
            file_labels=tuple(f"{name} ({str(filesizeformat(size)).replace(chr(0xA0), ' ')})" for name, size in files),
            unsubscribe_text=_("To stop receiving this newsletter: %(url)s"),
            unsubscribe_label=_("Stop receiving this newsletter"),
        )


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
    """Render many messages of one campaign (the preflight) without a query per message.

    ``attachments`` in the database's (filename, id) order, as the preflight loads them: the order
    ``_link_files`` reads when a message is sent (Python's sort differs under collations such as ICU).
    """
    campaign._mailguard_link_files = list(attachments)
    try:
        yield
    finally:
        del campaign._mailguard_link_files


def addresses_of(recipient_ids: Iterable[int]) -> dict[int, str]:
    """The address of each recipient row a token names (rows of other campaigns included)."""
    return dict(Recipient.objects.filter(pk__in=set(recipient_ids)).values_list("pk", "email"))
