"""Domains that are not the one meant (incident 14: a mistyped address reached a stranger for months).

Two checks, both blocking:

* ``domain_typos``: a domain one or two keystrokes from a big provider
  (``yahoo.co.jpp``, ``gmial.com``), or with an ending nobody means (``.con``),
  with the correction;
* ``lookalike_domains``: a domain that is rare in the list and one confusion away
  (``rn``/``m``, ``1``/``l``, ``0``/``o``, ``vv``/``w``, ``cl``/``d``, a hyphen for a
  dot, a slipped ending, one keystroke) from a domain the list or the organisation
  knows: the list's own frequent domains, the organisation's internal and sender
  domains, domains mail was delivered to before, and the curated table of Japanese
  carriers, ISPs and free-mail providers (``approvals.domains``). A ``.xx.jp``
  second level that Japan does not have (``.1g.jp``) is refused too.

A real domain that looks like a typo has a way out: the organisation's internal
domains and ``MAILGUARD["LOOKALIKE_DOMAINS_ALLOWED"]``.
"""

from collections import Counter, defaultdict
from collections.abc import Iterator

from django.conf import settings

from ..domains import JP_SECOND_LEVEL, KNOWN_DOMAINS, LOOKALIKES_THAT_EXIST
from .address_index import split_address
from .confusables import TLD_TYPOS, skeleton, text_skeleton
from .context import PreflightContext
from .distance import deletions2, edit_distance, near_pairs
from .findings import Finding, Severity, sorted_rows

# --- Typos of the big providers' domains ------------------------------------------------

# Providers most Japanese lists are full of; a domain one or two keystrokes away is a typo.
PROVIDERS = (
    "gmail.com", "yahoo.co.jp", "ybb.ne.jp", "docomo.ne.jp", "ezweb.ne.jp", "au.com", "softbank.ne.jp",
    "i.softbank.jp", "icloud.com", "outlook.jp", "outlook.com", "hotmail.com", "hotmail.co.jp", "nifty.com",
    "biglobe.ne.jp", "ocn.ne.jp",
)
# Providers with a domain per country: another two-letter country ending is not a typo.
_COUNTRY_VARIANTS = {"yahoo", "outlook", "hotmail", "live", "msn"}
# Endings that do not exist, and what they were meant to be.
_BAD_ENDINGS = {
    "j": "jp", "jpp": "jp", "pj": "jp", "jpn": "jp", "ip": "jp", "jjp": "jp", "c": "com", "con": "com",
    "cpm": "com", "comm": "com", "ocm": "com", "cmo": "com", "xom": "com", "vom": "com", "coom": "com",
    "cojp": "co.jp", "nejp": "ne.jp", "orjp": "or.jp", "acjp": "ac.jp", "gojp": "go.jp", "lgjp": "lg.jp",
    "edjp": "ed.jp",
}
_TYPO_ENDINGS_OF_COM = {"co", "cm", "om"}

_PROVIDER_NEIGHBOURHOOD: dict[str, set[str]] = defaultdict(set)
for _known in PROVIDERS:
    for _variant in deletions2(_known):
        _PROVIDER_NEIGHBOURHOOD[_variant].add(_known)


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
    if differ == [last - 1] and want[-1] == "jp" and got[last - 1] in JP_SECOND_LEVEL:
        return False  # softbank.co.jp next to softbank.ne.jp: the company, not its mobile mail
    if 0 in differ:
        name, wanted = got[0], want[0]
        if len(wanted) < 4:
            return False  # au, ocn, ybb: too short to tell a typo from another name
        if edit_distance(name, wanted, 2) > (1 if len(wanted) <= 6 else 2):
            return False
    return True


def suggest_domain(domain: str) -> str | None:
    """The provider domain that was probably meant, or None when domain looks intended."""
    if domain in PROVIDERS or domain in LOOKALIKES_THAT_EXIST or not domain:
        return None
    candidates = set()
    for variant in deletions2(domain):
        candidates |= _PROVIDER_NEIGHBOURHOOD.get(variant, set())
    best = None
    for known in sorted(candidates, key=PROVIDERS.index):
        distance = edit_distance(domain, known)
        if 1 <= distance <= 2 and _is_typo_of(domain, known) and (best is None or distance < best[0]):
            best = (distance, known)
    if best:
        return best[1]
    head, dot, ending = domain.rpartition(".")
    if dot and ending in _BAD_ENDINGS:
        return f"{head}.{_BAD_ENDINGS[ending]}"
    return None


def _rows_by_domain(ctx: PreflightContext) -> dict[str, list[int]]:
    by_domain: dict[str, list[int]] = defaultdict(list)
    for row in ctx.rows:
        _local, domain = split_address(row.address)
        if domain:
            by_domain[domain.rstrip(".")].append(row.row_number)
    return by_domain


def _allowed(ctx: PreflightContext) -> set[str]:
    return set(ctx.internal_domains) | set(settings.MAILGUARD.get("LOOKALIKE_DOMAINS_ALLOWED", ()))


def domain_typos(ctx: PreflightContext) -> Iterator[Finding]:
    allowed = _allowed(ctx)
    typos = []
    for domain, numbers in _rows_by_domain(ctx).items():
        if domain in allowed:
            continue
        meant = suggest_domain(domain)
        if meant:
            typos.append((", ".join(map(str, numbers)), domain, meant))
    if typos:
        typos.sort(key=lambda item: int(item[0].split(",")[0]))
        yield Finding("list.domain_typo", Severity.BLOCK, {"count": len(typos), "examples": typos},
                      rows=sorted_rows(int(r) for rows, _d, _m in typos for r in rows.split(", ")), items=tuple(typos))


# --- Look-alikes of the domains this list and this organisation know ----------------------

FREQUENT_SHARE = 0.005  # of the rows, for a domain to be one of the list's own frequent domains
FREQUENT_MIN = 3
MIN_LABEL_FOR_KEYSTROKE = 5  # a one-keystroke neighbour counts only for names this long


def _registrable_label(domain: str) -> str:
    """The name an organisation chose: example in example.co.jp, city.yokohama in city.yokohama.lg.jp."""
    labels = domain.split(".")
    if len(labels) >= 3 and labels[-1] == "jp" and labels[-2] in JP_SECOND_LEVEL:
        return ".".join(labels[:-2])
    return ".".join(labels[:-1])


def _bad_second_level(domain: str) -> str | None:
    """``.1g.jp`` -> ``lg``: a two-letter Japanese second level that does not exist, and the one meant."""
    labels = domain.split(".")
    if len(labels) < 3 or labels[-1] != "jp" or len(labels[-2]) != 2 or labels[-2] in JP_SECOND_LEVEL:
        return None
    got = labels[-2]
    for level in sorted(JP_SECOND_LEVEL):
        if text_skeleton(got) == text_skeleton(level) or edit_distance(got, level, 1) <= 1:
            return ".".join([*labels[:-2], level, "jp"])
    return None


def _references(ctx: PreflightContext, counts: Counter) -> tuple[set[str], set[str]]:
    """(every domain known to be meant, those a keystroke typo is measured against)."""
    threshold = max(FREQUENT_MIN, FREQUENT_SHARE * len(ctx.rows))
    frequent = {domain for domain, count in counts.items() if count >= threshold}
    close = frequent | ctx.internal_domains | ctx.sender_domains
    return close | KNOWN_DOMAINS | ctx.delivered_domains, close


def _lookalike(domain: str, by_skeleton: dict[str, set[str]]) -> tuple[str, str] | None:
    twins = by_skeleton.get(skeleton(domain), set()) - {domain}
    if twins:
        meant = sorted(twins)[0]
        head, _dot, ending = domain.rpartition(".")
        how = "ending" if ending in TLD_TYPOS and meant.rpartition(".")[0] == head else "confusable"
        return meant, how
    meant = _bad_second_level(domain)
    if meant:
        return meant, "second_level"
    return None


def lookalike_domains(ctx: PreflightContext) -> Iterator[Finding]:
    by_domain = _rows_by_domain(ctx)
    counts = Counter({domain: len(rows) for domain, rows in by_domain.items()})
    references, close = _references(ctx, counts)
    known = _allowed(ctx) | KNOWN_DOMAINS | LOOKALIKES_THAT_EXIST | ctx.sender_domains
    by_skeleton: dict[str, set[str]] = defaultdict(set)
    for domain in references:
        by_skeleton[skeleton(domain)].add(domain)
    rare = [domain for domain in by_domain if domain not in close and domain not in known
            and suggest_domain(domain) is None]  # domain_typos already names those
    found: dict[str, tuple[str, str]] = {}
    for domain in rare:
        hit = _lookalike(domain, by_skeleton)
        if hit:
            found[domain] = hit
    # One keystroke from a frequent, internal or sender domain (exmple.jp beside example.jp).
    targets = sorted(close)
    words = [d for d in rare if d not in found] + targets
    first_target = len(words) - len(targets)
    for i, j in near_pairs(words):
        if (i < first_target) == (j < first_target):
            continue
        domain, meant = (words[i], words[j]) if i < first_target else (words[j], words[i])
        if len(_registrable_label(meant)) >= MIN_LABEL_FOR_KEYSTROKE and edit_distance(domain, meant, 1) == 1 \
                and _registrable_label(domain) != _registrable_label(meant):
            found.setdefault(domain, (meant, "keystroke"))
    if not found:
        return
    items = sorted(((", ".join(map(str, by_domain[domain])), domain, meant, how)
                    for domain, (meant, how) in found.items()), key=lambda item: int(item[0].split(",")[0]))
    yield Finding("list.lookalike_domain", Severity.BLOCK, {"count": len(items), "examples": items},
                  rows=sorted_rows(number for domain in found for number in by_domain[domain]), items=tuple(items))
