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
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache

from django.conf import settings
from django.core import signing
from django.template.defaultfilters import filesizeformat
from django.urls import get_resolver
from django.utils import translation
from django.utils.html import escape
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


# Tokens this process signed a moment ago, so reading back a message just rendered (the leak
# scan renders every message) needs no second HMAC. Exact: each entry is what was signed.
_RECENTLY_MADE: OrderedDict[str, LinkToken] = OrderedDict()
_RECENTLY_MADE_SIZE = 64


@lru_cache(maxsize=4)
def _signer(secret_key: str, fallbacks: tuple[str, ...]) -> signing.Signer:
    return signing.Signer(key=secret_key, fallback_keys=list(fallbacks), salt=SALT)


def _current_signer() -> signing.Signer:
    return _signer(settings.SECRET_KEY, tuple(getattr(settings, "SECRET_KEY_FALLBACKS", ())))


def make_token(kind: str, recipient_id: int, attachment_id: int | None = None, *, proof: bool = False) -> str:
    payload: dict = {"k": kind, "r": recipient_id}
    if attachment_id is not None:
        payload["a"] = attachment_id
    if proof:
        payload["p"] = 1
    token = _current_signer().sign_object(payload)
    _RECENTLY_MADE[token] = LinkToken(kind, recipient_id, attachment_id, proof)
    if len(_RECENTLY_MADE) > _RECENTLY_MADE_SIZE:
        _RECENTLY_MADE.popitem(last=False)
    return token


def read_token(token: str) -> LinkToken | None:
    """The token's contents, or None when it was not signed here (or was altered)."""
    token = token.replace("%3A", ":").replace("%3a", ":")
    made = _RECENTLY_MADE.get(token)
    if made is not None:
        return made
    try:
        payload = _current_signer().unsign_object(token)
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
    for candidate in set(TOKEN_PATTERN.findall(text)):
        token = read_token(candidate)
        if token is not None:
            yield token


def may_contain_token(text: str) -> bool:
    """A cheap look before the signature checks: could text hold a token at all?"""
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
    """Render many messages of one campaign (the preflight) without a query per message."""
    campaign._mailguard_link_files = sorted(attachments, key=lambda a: (a.filename, a.pk))
    try:
        yield
    finally:
        del campaign._mailguard_link_files


def addresses_of(recipient_ids: Iterable[int]) -> dict[int, str]:
    """The address of each recipient row a token names (rows of other campaigns included)."""
    return dict(Recipient.objects.filter(pk__in=set(recipient_ids)).values_list("pk", "email"))
