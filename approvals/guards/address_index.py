"""Comparing addresses and values: one normal form, the mailbox an address reaches, who owns what.

Values are stored as typed (``approvals.intake``); every comparison goes through
``normalise`` (NFKC, lower case, one dash) so that full-width "ｍｅｍｂｅｒ＠ｅｘａｍｐｌｅ．ｊｐ"
and "member@example.jp" are the same token.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from ..text_scan import AddressPattern

# On normalised (lower-case) text; "%40" is "@" percent-encoded, as in unsubscribe links.
# Found in linear time whatever the text holds (approvals.text_scan).
EMAIL = AddressPattern()
ADDRESS_JUNK = ".'-_+"
_DASHES = re.compile("[\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63]")
GMAIL_DOMAINS = {"gmail.com", "googlemail.com"}


def normalise(text: str) -> str:
    """The one normal form every value and every text is compared in."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
        if _DASHES.search(text):
            text = _DASHES.sub("-", text)
    return text.lower()


def split_address(email: str) -> tuple[str, str]:
    """(local part, domain) of a sendable address, both lowercased; empty domain without an @."""
    local, at, domain = email.strip().lower().rpartition("@")
    return (local, domain) if at else (domain, "")


@lru_cache(maxsize=65_536)
def canonical_domain(domain: str) -> str:
    """Lowercase, no trailing dot, Punycode labels shown as Unicode (xn--r8jz45g.jp == 例え.jp)."""
    domain = domain.strip().lower().rstrip(".")
    if "xn--" in domain:
        try:
            domain = domain.encode("ascii").decode("idna")
        except UnicodeError:
            pass  # not valid Punycode: addresses_are_valid reports it
    return domain


def mailbox_key(email: str) -> str:
    """The mailbox an address reaches: case-insensitive; Gmail also ignores dots and +tags."""
    local, domain = split_address(email)
    domain = canonical_domain(domain)
    if domain in GMAIL_DOMAINS:
        local = local.split("+", 1)[0].replace(".", "")
        domain = "gmail.com"
    return f"{local}@{domain}"


class AddressOwners:
    """Normalised address -> the list rows it belongs to; finds an address token in any text."""

    def __init__(self, pairs):
        self.owners: dict[str, list[int]] = {}
        for address, row_number in pairs:
            if address:
                self.owners.setdefault(normalise(address.strip()), []).append(row_number)

    def __bool__(self) -> bool:
        return bool(self.owners)

    def lookup(self, token: str) -> tuple[str, list[int] | None]:
        address = token.replace("%40", "@")
        owners = self.owners.get(address)
        if owners is None and address and address[0] in ADDRESS_JUNK:
            # A quote or dot just before the address ('taro@example.jp') joins the match.
            address = address.lstrip(ADDRESS_JUNK)
            owners = self.owners.get(address)
        return address, owners
