"""Checks on the recipient list itself: one valid, intended, mailable address per row.

The row is the unit (incident 10): a repeated address would be mailed twice, an
address one character away from another is the wrong-recipient risk of
incident 13, a mistyped provider domain the stranger of incident 14. Every
check here is linear in the number of rows (dicts, sets and a deletion index,
never a comparison of every row with every other), so that the preflight of a
100,000-row list stays well within its time budget.
"""

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from functools import lru_cache

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from email_validator import EmailNotValidError, validate_email

from ..models import Suppression
from .context import PreflightContext, Row
from .findings import Finding, Severity, row_summary
from .names import fold_romaji

MAX_ROWS_IN_FINDING = 1000
EXAMPLES_IN_MESSAGE = 10


def _rows(numbers: Iterable[int]) -> tuple[int, ...]:
    return tuple(sorted(set(numbers))[:MAX_ROWS_IN_FINDING])


def _more(total: int, shown: int) -> str:
    return "; …" if total > shown else ""


def _split(email: str) -> tuple[str, str]:
    """(local part, domain), both lowercased; empty domain when there is no @."""
    local, at, domain = email.strip().lower().rpartition("@")
    return (local, domain) if at else (domain, "")


def list_is_present(ctx: PreflightContext) -> Iterator[Finding]:
    if not ctx.campaign.address_column or not ctx.rows:
        yield Finding("list.missing", Severity.BLOCK, _("Upload a recipient list and choose its address column."))


# --- 1. Syntax ------------------------------------------------------------------------

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


def is_valid_address(email: str) -> bool:
    """email-validator's verdict (syntax only, internationalised domains allowed), faster.

    A plain ASCII address is split once and its domain validated once per list
    (validation costs ~25 µs, and a list has far fewer domains than rows); anything
    else (quotes, non-ASCII, Punycode, lengths near a limit) goes through
    ``validate_email`` as a whole.
    """
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
    bad = [row for row in ctx.rows if row.email.strip() and not is_valid_address(row.email)]
    if bad:
        numbers = [row.row_number for row in bad]
        examples = "; ".join(
            _("row %(row)d: %(address)s") % {"row": row.row_number, "address": row.email}
            for row in bad[:EXAMPLES_IN_MESSAGE]
        ) + _more(len(bad), EXAMPLES_IN_MESSAGE)
        yield Finding(
            "list.invalid_address",
            Severity.BLOCK,
            ngettext("%(count)d row has an address that is not a valid email address (row %(rows)s): "
                     "%(examples)s. Correct it in the list and upload it again.",
                     "%(count)d rows have an address that is not a valid email address (rows %(rows)s): "
                     "%(examples)s. Correct them in the list and upload it again.", len(bad))
            % {"count": len(bad), "rows": row_summary(numbers), "examples": examples},
            rows=_rows(numbers),
        )


# --- 2. Duplicates --------------------------------------------------------------------

GMAIL_DOMAINS = {"gmail.com", "googlemail.com"}


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
    local, domain = _split(email)
    domain = canonical_domain(domain)
    if domain in GMAIL_DOMAINS:
        local = local.split("+", 1)[0].replace(".", "")
        domain = "gmail.com"
    return f"{local}@{domain}"


def _mailboxes(rows: list[Row]) -> dict[str, list[Row]]:
    groups: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        if row.email.strip():
            groups[mailbox_key(row.email)].append(row)
    return groups


def addresses_are_unique(ctx: PreflightContext) -> Iterator[Finding]:
    exact: list[list[Row]] = []
    variants: list[list[Row]] = []
    for group in _mailboxes(ctx.rows).values():
        if len(group) > 1:
            gmail_spellings = mailbox_key(group[0].email).endswith("@gmail.com") and len(
                {row.email.strip().lower() for row in group}) > 1
            (variants if gmail_spellings else exact).append(group)

    def describe(groups: list[list[Row]]) -> str:
        return "; ".join(
            _("rows %(rows)s: %(addresses)s")
            % {"rows": ", ".join(str(row.row_number) for row in group[:EXAMPLES_IN_MESSAGE]),
               "addresses": " = ".join(dict.fromkeys(row.email.strip() for row in group))}
            for group in groups[:EXAMPLES_IN_MESSAGE]
        ) + _more(len(groups), EXAMPLES_IN_MESSAGE)

    if exact:
        yield Finding(
            "list.duplicate_address",
            Severity.BLOCK,
            ngettext("%(count)d address appears in more than one row (capital letters and the Punycode form of "
                     "a domain do not make an address different): %(groups)s. Each row is sent its own message, so "
                     "this person would get the mail twice, possibly under two different names. Keep one row per "
                     "address, delete the others and upload the list again.",
                     "%(count)d addresses appear in more than one row (capital letters and the Punycode form of "
                     "a domain do not make an address different): %(groups)s. Each row is sent its own message, so "
                     "these people would get the mail twice, possibly under two different names. Keep one row per "
                     "address, delete the others and upload the list again.", len(exact))
            % {"count": len(exact), "groups": describe(exact)},
            rows=_rows(row.row_number for group in exact for row in group),
        )
    if variants:
        yield Finding(
            "list.duplicate_mailbox",
            Severity.BLOCK,
            ngettext("%(count)d Gmail mailbox appears in more than one row, written differently (Gmail ignores "
                     "dots and anything after “+” before the @): %(groups)s. This person would get the mail twice. "
                     "Keep one row per mailbox, delete the others and upload the list again.",
                     "%(count)d Gmail mailboxes appear in more than one row, written differently (Gmail ignores "
                     "dots and anything after “+” before the @): %(groups)s. These people would get the mail twice. "
                     "Keep one row per mailbox, delete the others and upload the list again.", len(variants))
            % {"count": len(variants), "groups": describe(variants)},
            rows=_rows(row.row_number for group in variants for row in group),
        )


# --- Edit distance and the deletion index ---------------------------------------------


def edit_distance(a: str, b: str, limit: int = 2) -> int:
    """Optimal-string-alignment distance (a swap of neighbours counts once), or limit + 1 if larger."""
    if a == b:
        return 0
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    start = 0
    while start < len(a) and start < len(b) and a[start] == b[start]:
        start += 1
    end_a, end_b = len(a), len(b)
    while end_a > start and end_b > start and a[end_a - 1] == b[end_b - 1]:
        end_a -= 1
        end_b -= 1
    a, b = a[start:end_a], b[start:end_b]
    if not a or not b:
        return min(len(a) + len(b), limit + 1)
    before: list[int] | None = None
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if before is not None and i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                value = min(value, before[j - 2] + 1)
            current[j] = value
        if min(current) > limit:
            return limit + 1
        before, previous = previous, current
    return min(previous[-1], limit + 1)


def _deletions(word: str) -> set[str]:
    """The word and every word one character shorter."""
    keys = {word[:i] + word[i + 1:] for i in range(len(word))}
    keys.add(word)
    return keys


_DIGITS = re.compile(r"\d+")
# Addresses that differ only in their digits are a numbered series (s2112345, s2112346)
# once this many share the same letters, or when their numbers are zero-padded IDs
# (member00001); fewer, free-form numbers (k.yamada1975 / k.yamada1976) are compared.
NUMBERED_SERIES = 5
_PADDED = re.compile(r"(?<!\d)0\d")
# Above this many candidate pairs a list is one big cluster of look-alikes: report what was found.
MAX_CANDIDATES = 300_000


def _near_pairs(words: list[str]) -> set[tuple[int, int]]:
    """Index pairs of words whose one-deletion neighbourhoods meet (symmetric delete index).

    This finds every pair at edit distance 1 (substitution, insertion, deletion,
    swap of neighbours) and the distance-2 pairs of one insertion plus one deletion;
    each word is also indexed by its romanisation-folded spelling, which pairs the
    usual two- and three-letter variants (satou.yuuki / sato.yuki, shinbashi / sinbasi).
    Words that differ only in their digits are not paired when they look like a numbered
    series (see NUMBERED_SERIES: member00001 / member00002). The cost
    is about length + 2 keys per word, counted in C (Counter) so that only the keys two
    words share are handled in Python.
    """
    neighbourhoods = []
    every_key: list[str] = []
    for word in words:
        keys = _deletions(word)
        keys.add("\0" + fold_romaji(word))
        neighbourhoods.append(keys)
        every_key.extend(keys)
    shared = {key for key, count in Counter(every_key).items() if count > 1}
    del every_key
    if not shared:
        return set()
    buckets: dict[str, list[int]] = defaultdict(list)
    for number, keys in enumerate(neighbourhoods):
        for key in keys & shared:
            buckets[key].append(number)
    skeletons = [_DIGITS.sub("", word) for word in words]
    series = {skeleton for skeleton, count in Counter(skeletons).items() if count >= NUMBERED_SERIES}
    pairs: set[tuple[int, int]] = set()
    for bucket in buckets.values():
        by_skeleton: dict[str, list[int]] = defaultdict(list)
        for number in bucket:
            by_skeleton[skeletons[number]].append(number)
        groups = list(by_skeleton.items())
        for g, (skeleton, first) in enumerate(groups):
            if skeleton not in series and len(first) > 1:
                pairs.update((a, b) for x, a in enumerate(first) for b in first[x + 1:]
                             if not (_PADDED.search(words[a]) and _PADDED.search(words[b])))
            for _other, second in groups[g + 1:]:
                for a in first:
                    for b in second:
                        pairs.add((a, b) if a < b else (b, a))
        if len(pairs) > MAX_CANDIDATES:
            break
    return pairs


def _similar(a: str, b: str) -> bool:
    return edit_distance(a, b) <= 2 or fold_romaji(a) == fold_romaji(b)


# --- 3. Similar addresses ---------------------------------------------------------------

MIN_LOCAL_PART = 4  # "taro" and "tomo" are two people, not a typo


def similar_addresses(ctx: PreflightContext) -> Iterator[Finding]:
    # One entry per mailbox (duplicates are addresses_are_unique's business).
    first: dict[str, Row] = {}
    for key, group in _mailboxes(ctx.rows).items():
        if "@" in key and not key.startswith("@") and not key.endswith("@"):
            first[key] = group[0]
    by_domain: dict[str, list[str]] = defaultdict(list)
    by_local: dict[str, list[str]] = defaultdict(list)
    for key in first:
        local, domain = key.rsplit("@", 1)
        if len(local) >= MIN_LOCAL_PART:
            by_domain[domain].append(local)
        by_local[local].append(domain)

    found: set[tuple[str, str]] = set()
    for domain, locals_ in by_domain.items():
        if len(locals_) > 1:
            for i, j in _near_pairs(locals_):
                if _similar(locals_[i], locals_[j]):
                    found.add(tuple(sorted((f"{locals_[i]}@{domain}", f"{locals_[j]}@{domain}"))))
    for local, domains in by_local.items():
        if len(domains) > 1:
            for i, j in _near_pairs(domains):
                if min(len(domains[i]), len(domains[j])) >= 5 and edit_distance(domains[i], domains[j]) <= 2:
                    found.add(tuple(sorted((f"{local}@{domains[i]}", f"{local}@{domains[j]}"))))
    if not found:
        return
    pairs = sorted((tuple(sorted((first[a], first[b]), key=lambda r: r.row_number)) for a, b in found),
                   key=lambda pair: (pair[0].row_number, pair[1].row_number))
    examples = "; ".join(
        _("row %(row1)d %(address1)s ↔ row %(row2)d %(address2)s")
        % {"row1": one.row_number, "address1": one.email.strip(), "row2": two.row_number,
           "address2": two.email.strip()}
        for one, two in pairs[:EXAMPLES_IN_MESSAGE]
    ) + _more(len(pairs), EXAMPLES_IN_MESSAGE)
    yield Finding(
        "list.similar_addresses",
        Severity.ACKNOWLEDGE,
        ngettext("%(count)d pair of addresses differs by only one or two characters: %(examples)s. "
                 "One of them may be a mistyped or wrongly picked address that reaches a stranger. Check the pair "
                 "against the source of the list; correct any mistake and upload the list again.",
                 "%(count)d pairs of addresses differ by only one or two characters: %(examples)s. "
                 "One of each pair may be a mistyped or wrongly picked address that reaches a stranger. Check each "
                 "pair against the source of the list; correct any mistake and upload the list again.", len(pairs))
        % {"count": len(pairs), "examples": examples},
        rows=_rows(row.row_number for pair in pairs for row in pair),
    )


# --- 4. Domain typos ------------------------------------------------------------------

# Providers most Japanese lists are full of; a domain one or two keystrokes away is a typo.
KNOWN_DOMAINS = (
    "gmail.com", "yahoo.co.jp", "ybb.ne.jp", "docomo.ne.jp", "ezweb.ne.jp", "au.com", "softbank.ne.jp",
    "i.softbank.jp", "icloud.com", "outlook.jp", "outlook.com", "hotmail.com", "hotmail.co.jp", "nifty.com",
    "biglobe.ne.jp", "ocn.ne.jp",
)
# Real domains that happen to be close to a known one.
LOOKALIKES_THAT_EXIST = {
    "googlemail.com", "mail.com", "email.com", "ymail.com", "gmx.com", "aol.com", "me.com", "mac.com", "live.com",
    "live.jp", "msn.com", "yahoo.com", "yahoo.ne.jp", "softbank.jp", "softbank.co.jp", "au.net", "ocn.ad.jp",
    "nifty.ne.jp", "nifty.co.jp", "biglobe.co.jp", "docomo.co.jp", "icloud.co.jp", "cloud.com", "outlook.de",
    "outlook.fr", "outlook.es", "outlook.it", "outlook.kr", "outlook.cl", "outlook.be", "outlook.at",
    "outlook.dk", "outlook.ie", "outlook.sa", "outlook.ph", "outlook.sg", "outlook.my", "outlook.in",
    "outlook.co.th", "outlook.co.id", "outlook.co.nz", "outlook.com.au", "hotmail.co.uk", "hotmail.fr",
    "hotmail.de", "hotmail.it", "hotmail.es", "hotmail.co.th", "yahoo.co.uk", "yahoo.co.in", "yahoo.co.id",
    "yahoo.co.nz", "yahoo.co.th", "yahoo.co.kr",
}
# Providers with a domain per country: another two-letter country ending is not a typo.
_COUNTRY_VARIANTS = {"yahoo", "outlook", "hotmail", "live", "msn"}
# Endings nobody means, and what they were meant to be.
_BAD_ENDINGS = {
    "j": "jp", "jpp": "jp", "pj": "jp", "jpn": "jp", "c": "com", "con": "com", "cpm": "com", "comm": "com",
    "ocm": "com", "cmo": "com", "xom": "com", "vom": "com", "coom": "com", "cojp": "co.jp", "nejp": "ne.jp",
    "orjp": "or.jp", "acjp": "ac.jp", "gojp": "go.jp",
}
_JP_SECOND_LEVEL = {"co", "ne", "or", "ac", "go", "ed", "lg", "ad", "gr"}
_TYPO_ENDINGS_OF_COM = {"co", "cm", "om"}


def _deletions2(word: str) -> set[str]:
    return {shorter for once in _deletions(word) for shorter in _deletions(once)}


_KNOWN_NEIGHBOURHOOD: dict[str, set[str]] = defaultdict(set)
for _known in KNOWN_DOMAINS:
    for _variant in _deletions2(_known):
        _KNOWN_NEIGHBOURHOOD[_variant].add(_known)


def _is_typo_of(domain: str, known: str) -> bool:
    """Whether domain is a mistyping of a known provider's domain rather than another real domain."""
    got, want = domain.split("."), known.split(".")
    if len(got) != len(want):
        return got[0] == want[0]  # yahoo.cojp, yahoo.co.jpp.jp: the provider's name is right, the ending broken
    differ = [i for i, (g, w) in enumerate(zip(got, want, strict=True)) if g != w]
    last = len(want) - 1
    if differ == [last] and want[0] in _COUNTRY_VARIANTS and len(got[last]) == 2 and len(want[last]) == 2 \
            and got[last] not in _TYPO_ENDINGS_OF_COM:
        return False  # outlook.fr next to outlook.jp
    if differ == [last - 1] and want[-1] == "jp" and got[last - 1] in _JP_SECOND_LEVEL:
        return False  # softbank.co.jp next to softbank.ne.jp: the company, not its mobile mail
    if 0 in differ:
        name, wanted = got[0], want[0]
        if len(wanted) < 4:
            return False  # au, ocn, ybb: too short to tell a typo from another name
        if edit_distance(name, wanted, 2) > (1 if len(wanted) <= 6 else 2):
            return False
    return True


def suggest_domain(domain: str) -> str | None:
    """The domain that was probably meant, or None when domain looks intended."""
    if domain in KNOWN_DOMAINS or domain in LOOKALIKES_THAT_EXIST or not domain:
        return None
    candidates = set()
    for variant in _deletions2(domain):
        candidates |= _KNOWN_NEIGHBOURHOOD.get(variant, set())
    best = None
    for known in sorted(candidates, key=KNOWN_DOMAINS.index):
        distance = edit_distance(domain, known)
        if 1 <= distance <= 2 and _is_typo_of(domain, known) and (best is None or distance < best[0]):
            best = (distance, known)
    if best:
        return best[1]
    head, dot, ending = domain.rpartition(".")
    if dot and ending in _BAD_ENDINGS:
        return f"{head}.{_BAD_ENDINGS[ending]}"
    return None


def domain_typos(ctx: PreflightContext) -> Iterator[Finding]:
    # A BLOCK cannot be waved through, so a real domain that looks like a typo needs a way
    # out: the organisation's own domains, and MAILGUARD["LOOKALIKE_DOMAINS_ALLOWED"] if set.
    allowed = set(settings.MAILGUARD.get("LOOKALIKE_DOMAINS_ALLOWED", ()))
    by_domain: dict[str, list[int]] = defaultdict(list)
    for row in ctx.rows:
        _local, domain = _split(row.email)
        if domain:
            by_domain[domain].append(row.row_number)
    typos = []
    for domain, numbers in by_domain.items():
        if domain in ctx.internal_domains or domain in allowed:
            continue
        meant = suggest_domain(domain)
        if meant:
            typos.append((numbers, domain, meant))
    if not typos:
        return
    typos.sort()
    examples = "; ".join(
        ngettext("row %(rows)s: %(domain)s — did you mean %(meant)s?",
                 "rows %(rows)s: %(domain)s — did you mean %(meant)s?", len(numbers))
        % {"rows": row_summary(numbers, 5), "domain": domain, "meant": meant}
        for numbers, domain, meant in typos[:EXAMPLES_IN_MESSAGE]
    ) + _more(len(typos), EXAMPLES_IN_MESSAGE)
    yield Finding(
        "list.domain_typo",
        Severity.BLOCK,
        _("Some addresses end in a mistyped domain: %(examples)s. Mail to a mistyped domain reaches nobody, "
          "or a stranger who registered it. Correct the addresses in the list and upload it again.")
        % {"examples": examples},
        rows=_rows(number for numbers, _domain, _meant in typos for number in numbers),
    )


# --- 5. Role and list addresses ---------------------------------------------------------

ROLE_LOCAL_PARTS = {
    "info", "all", "ml", "list", "lists", "admin", "administrator", "support", "contact", "sales", "office",
    "webmaster", "postmaster", "hostmaster", "abuse", "noreply", "no-reply", "no_reply", "donotreply",
    "do-not-reply", "members", "member", "staff", "everyone", "all-staff", "allstaff", "team", "group",
    "mailinglist", "mailing-list", "announce", "news", "newsletter", "press", "pr", "hr", "recruit", "jinji",
    "soumu", "somu", "jimukyoku", "kouhou", "koho", "uketsuke", "toiawase", "otoiawase", "mail", "master",
}


def role_addresses(ctx: PreflightContext) -> Iterator[Finding]:
    found = []
    for row in ctx.rows:
        local, domain = _split(row.email)
        if domain and local.split("+", 1)[0] in ROLE_LOCAL_PARTS:
            found.append(row)
    if found:
        numbers = [row.row_number for row in found]
        examples = ", ".join(row.email.strip() for row in found[:EXAMPLES_IN_MESSAGE]) + (
            " …" if len(found) > EXAMPLES_IN_MESSAGE else "")
        yield Finding(
            "list.role_address",
            Severity.ACKNOWLEDGE,
            ngettext("%(count)d address looks like a shared or list address (row %(rows)s: %(examples)s). Mail "
                     "to it usually reaches several people, who may not all be meant to read it. Make sure everyone "
                     "behind it may see this message, or remove it from the list.",
                     "%(count)d addresses look like shared or list addresses (rows %(rows)s: %(examples)s). Mail "
                     "to them usually reaches several people, who may not all be meant to read it. Make sure "
                     "everyone behind these addresses may see this message, or remove them from the list.",
                     len(found))
            % {"count": len(found), "rows": row_summary(numbers), "examples": examples},
            rows=_rows(numbers),
        )


# --- 6. Suppressed addresses ------------------------------------------------------------


def suppressed_addresses(ctx: PreflightContext) -> Iterator[Finding]:
    if not ctx.suppressed:
        return
    reasons = {mailbox_key(email): reason for email, reason in ctx.suppressed.items()}
    by_reason: dict[str, list[Row]] = defaultdict(list)
    for row in ctx.rows:
        if not row.email.strip():
            continue
        reason = ctx.suppressed.get(row.email.strip().lower()) or reasons.get(mailbox_key(row.email))
        if reason:
            by_reason[reason].append(row)
    labels = dict(Suppression.Reason.choices)
    for reason, found in sorted(by_reason.items()):
        numbers = [row.row_number for row in found]
        examples = ", ".join(row.email.strip() for row in found[:EXAMPLES_IN_MESSAGE]) + (
            " …" if len(found) > EXAMPLES_IN_MESSAGE else "")
        yield Finding(
            "list.suppressed",
            Severity.BLOCK,
            ngettext("%(count)d address must not be mailed — %(reason)s (row %(rows)s: %(examples)s). "
                     "Remove it from the list and upload the list again.",
                     "%(count)d addresses must not be mailed — %(reason)s (rows %(rows)s: %(examples)s). "
                     "Remove them from the list and upload the list again.", len(found))
            % {"count": len(found), "reason": str(labels.get(reason, reason)), "rows": row_summary(numbers),
               "examples": examples},
            rows=_rows(numbers),
        )


# --- 7. Internal and external -------------------------------------------------------------


def internal_external_split(ctx: PreflightContext) -> Iterator[Finding]:
    domains = Counter(domain for _local, domain in (_split(row.email) for row in ctx.rows) if domain)
    if not domains:
        return
    internal = sum(count for domain, count in domains.items() if domain in ctx.internal_domains)
    external = Counter({domain: count for domain, count in domains.items() if domain not in ctx.internal_domains})
    top = ", ".join(f"{domain} ({count})" for domain, count in external.most_common(5)) or "—"
    yield Finding(
        "list.internal_external",
        Severity.INFO,
        _("Recipients inside your organisation: %(internal)d; outside: %(external)d, at %(domains)d "
          "domains. Most common outside domains: %(top)s.")
        % {"internal": internal, "external": external.total(), "domains": len(external), "top": top},
    )


# --- 8. Missing values ------------------------------------------------------------------


def missing_values(ctx: PreflightContext) -> Iterator[Finding]:
    """Empty cells in a column the message needs: the address, the display name, every merge field."""
    c = ctx.campaign
    if not c.address_column or not ctx.rows:
        return  # list_is_present says what to do
    needed = [c.address_column]
    if c.name_column and c.name_column != c.address_column:
        needed.append(c.name_column)
    needed += [column for column in c.columns if column in ctx.used_fields and column not in needed]
    for column in needed:
        if column == c.address_column:
            empty = [row.row_number for row in ctx.rows if not row.email.strip()]
        elif column == c.name_column:
            empty = [row.row_number for row in ctx.rows if not row.display_name.strip()]
        else:
            empty = [row.row_number for row in ctx.rows if not str(row.data.get(column) or "").strip()]
        if not empty:
            continue
        if column == c.address_column:
            text = ngettext("%(count)d row has no address in column “%(column)s” (row %(rows)s). Fill in the "
                            "address or delete the row, and upload the list again.",
                            "%(count)d rows have no address in column “%(column)s” (rows %(rows)s). Fill in the "
                            "addresses or delete the rows, and upload the list again.", len(empty))
        elif column == c.name_column and column not in ctx.used_fields:
            text = ngettext("%(count)d row has no name in the display-name column “%(column)s” (row %(rows)s). "
                            "Fill in the name, or choose no display-name column, and upload the list again.",
                            "%(count)d rows have no name in the display-name column “%(column)s” (rows %(rows)s). "
                            "Fill in the names, or choose no display-name column, and upload the list again.",
                            len(empty))
        else:
            text = ngettext("%(count)d row has no value in column “%(column)s”, which the message uses "
                            "(row %(rows)s); its message would have a gap. Fill in the value and upload the list "
                            "again, or take the merge field out of the message.",
                            "%(count)d rows have no value in column “%(column)s”, which the message uses "
                            "(rows %(rows)s); their messages would have a gap. Fill in the values and upload the "
                            "list again, or take the merge field out of the message.", len(empty))
        yield Finding(
            "list.missing_value",
            Severity.BLOCK,
            text % {"count": len(empty), "column": column, "rows": row_summary(empty)},
            rows=_rows(empty),
        )


# --- 9. Unused columns ------------------------------------------------------------------


def unused_columns(ctx: PreflightContext) -> Iterator[Finding]:
    unused = ctx.unused_columns
    if unused and ctx.rows:
        yield Finding(
            "list.unused_columns",
            Severity.INFO,
            _("These columns are uploaded but no merge field uses them: %(columns)s. Drop them so personal data "
              "the message does not need is never stored.")
            % {"columns": ", ".join(f"“{column}”" for column in unused)},
        )


# --- 10. List size ------------------------------------------------------------------------


def list_size(ctx: PreflightContext) -> Iterator[Finding]:
    limit = settings.MAILGUARD["MAX_RECIPIENTS"]
    if len(ctx.rows) > limit:
        yield Finding(
            "list.too_large",
            Severity.BLOCK,
            _("The list has %(count)d rows; at most %(limit)d recipients are allowed per campaign. "
              "Split the list into several campaigns.") % {"count": len(ctx.rows), "limit": limit},
        )
