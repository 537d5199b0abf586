"""Checks on the addresses themselves: one valid, intended, mailable address per row.

The row is the unit (incident 10): a repeated address would be mailed twice, a
suppressed one has bounced or asked to be left alone (incident 14), a shared
role address reaches people nobody chose. Every check here is linear in the
number of rows (dicts and sets, never a comparison of every row with every other).
Addresses are compared in their sendable form (``Row.address``); the cell as
typed is what the finding quotes.
"""

import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from functools import lru_cache

from django.conf import settings
from email_validator import EmailNotValidError, validate_email

from .address_index import mailbox_key, split_address
from .context import PreflightContext, Row
from .findings import Finding, Severity, sorted_rows
from .romaji import looks_like_name, name_key
from .tables import ROLE_LOCAL_PARTS


def list_is_present(ctx: PreflightContext) -> Iterator[Finding]:
    if not ctx.campaign.address_column or not ctx.rows:
        yield Finding("list.missing", Severity.BLOCK)


def list_size(ctx: PreflightContext) -> Iterator[Finding]:
    limit = settings.MAILGUARD["MAX_RECIPIENTS"]
    if len(ctx.rows) > limit:
        yield Finding("list.too_large", Severity.BLOCK, {"count": len(ctx.rows), "limit": limit})


# --- Syntax ------------------------------------------------------------------------------

# email-validator's own dot-atom rule for a plain ASCII local part (RFC 5322 atext).
_ATEXT = r"a-zA-Z0-9_!#$%&'*+\-/=?^`{|}~"
_PLAIN_LOCAL = re.compile(rf"[{_ATEXT}]+(?:\.[{_ATEXT}]+)*\Z")


@lru_cache(maxsize=65_536)
def _domain_is_valid(domain: str) -> bool:
    try:
        validate_email("a@" + domain, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


# RFC 5321 (with RFC 3696's erratum): no address is longer, in characters or in UTF-8 octets.
MAX_ADDRESS_LENGTH = 254


def is_valid_address(email: str) -> bool:
    """email-validator's verdict (syntax only, internationalised domains allowed), faster.

    A plain ASCII address is split once and its domain validated once per list
    (validation costs ~25 µs, and a list has far fewer domains than rows); anything
    else (quotes, non-ASCII, Punycode, lengths near a limit) goes through
    ``validate_email`` as a whole.
    """
    if len(email) > MAX_ADDRESS_LENGTH:
        return False  # what email-validator says too, after reading every character (a 200 KB cell: 1 s)
    local, at, domain = email.rpartition("@")
    if (at and len(email) <= 254 and len(local) <= 64 and domain.isascii() and "xn--" not in domain.lower()
            and _PLAIN_LOCAL.match(local)):
        return _domain_is_valid(domain)
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


def addresses_are_valid(ctx: PreflightContext) -> Iterator[Finding]:
    # Empty addresses are reported by missing_values, with the other empty cells.
    bad = [(row.row_number, row.email) for row in ctx.rows if row.address and not is_valid_address(row.address)]
    if bad:
        yield Finding("list.invalid_address", Severity.BLOCK, {"count": len(bad), "examples": bad},
                      rows=sorted_rows(r for r, _a in bad), items=tuple(bad))


def addresses_sent_as_typed(ctx: PreflightContext) -> Iterator[Finding]:
    """Nothing is changed silently: rows whose address is sent in another form than typed."""
    changed = [(row.row_number, row.email, row.address) for row in ctx.rows
               if row.address and row.address != row.email]
    if changed:
        yield Finding("list.address_normalised", Severity.INFO, {"count": len(changed), "examples": changed},
                      rows=sorted_rows(r for r, _typed, _sent in changed), items=tuple(changed))


# --- Duplicates --------------------------------------------------------------------------


def _mailboxes(rows: list[Row]) -> dict[str, list[Row]]:
    groups: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        if row.address:
            groups[mailbox_key(row.address)].append(row)
    return groups


def _family(name: str) -> str:
    """The first word of a name (romanised): the family name in Japanese order."""
    key = name_key(name) if looks_like_name(name) else None
    return key.words[0] if key and key.words else ""


def _kind_of_duplicate(group: list[Row]) -> str:
    """'same': one person twice; 'family': different people of one family share a mailbox; 'other'."""
    names = {row.display_name.strip() for row in group}
    if len(names) <= 1:
        return "same"
    families = {_family(name) for name in names}
    return "family" if len(families) == 1 and "" not in families else "other"


def addresses_are_unique(ctx: PreflightContext) -> Iterator[Finding]:
    found: dict[str, list[tuple]] = {"list.duplicate_address": [], "list.duplicate_mailbox": [],
                                     "list.shared_address": []}
    for key, group in _mailboxes(ctx.rows).items():
        if len(group) < 2:
            continue
        spellings = list(dict.fromkeys(row.address for row in group))
        item = (", ".join(str(row.row_number) for row in group), " = ".join(spellings),
                " / ".join(dict.fromkeys(row.display_name for row in group if row.display_name)))
        kind = _kind_of_duplicate(group)
        if kind == "family":
            found["list.shared_address"].append(item)
        elif key.endswith("@gmail.com") and len({s.lower() for s in spellings}) > 1:
            found["list.duplicate_mailbox"].append(item)
        else:
            found["list.duplicate_address"].append(item)
    for code, items in found.items():
        if items:
            rows = sorted_rows(int(r) for rows, _a, _n in items for r in rows.split(", "))
            yield Finding(code, Severity.ACKNOWLEDGE if code == "list.shared_address" else Severity.BLOCK,
                          {"count": len(items), "examples": items}, rows=rows, items=tuple(items))


# --- Suppressed, role and internal addresses ---------------------------------------------


def suppressed_addresses(ctx: PreflightContext) -> Iterator[Finding]:
    if not ctx.suppressed:
        return
    reasons = {mailbox_key(email): reason for email, reason in ctx.suppressed.items()}
    by_reason: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for row in ctx.rows:
        if not row.address:
            continue
        reason = ctx.suppressed.get(row.address.lower()) or reasons.get(mailbox_key(row.address))
        if reason:
            by_reason[reason].append((row.row_number, row.email))
    for reason, found in sorted(by_reason.items()):
        yield Finding("list.suppressed", Severity.BLOCK, {"count": len(found), "reason": reason, "examples": found},
                      rows=sorted_rows(r for r, _a in found), items=tuple(found))


def role_addresses(ctx: PreflightContext) -> Iterator[Finding]:
    found = []
    for row in ctx.rows:
        local, domain = split_address(row.address)
        if domain and local.split("+", 1)[0] in ROLE_LOCAL_PARTS:
            found.append((row.row_number, row.email))
    if found:
        yield Finding("list.role_address", Severity.ACKNOWLEDGE, {"count": len(found), "examples": found},
                      rows=sorted_rows(r for r, _a in found), items=tuple(found))


def internal_external_split(ctx: PreflightContext) -> Iterator[Finding]:
    domains = Counter(domain for _local, domain in (split_address(row.address) for row in ctx.rows) if domain)
    if not domains:
        return
    internal = sum(count for domain, count in domains.items() if domain in ctx.internal_domains)
    external = Counter({domain: count for domain, count in domains.items() if domain not in ctx.internal_domains})
    yield Finding("list.internal_external", Severity.INFO, {
        "internal": internal, "external": external.total(), "domains": len(external),
        "top": [[domain, count] for domain, count in external.most_common(5)]})
