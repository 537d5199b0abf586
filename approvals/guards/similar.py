"""Similar addresses that mean something (incident 13: a wrong but similar address was picked).

Near addresses are everywhere in a real list: numbered series (sato12, sato13),
families (taro.sato, hanako.sato), initials (m-takahashi, i-takahashi). Those are
different people, and a finding that fires on every list trains reviewers to tick
without reading (incident 5). So a near pair is reported only when something says
it is one person twice or a typo:

* both rows carry the same name and share a value nobody else in the list has (a
  phone number, a birthday): the same person entered twice, once mistyped;
* one row's address carries the other row's name and not its own (a wrongly picked address);
* the list has no names, and one address was mailed before while its twin never
  was (the new one is the typo), or the difference has the shape of a typo: a
  confusable (0/o, 1/l, rn/m), two neighbours swapped, a letter doubled or dropped
  from a run, or the same romanisation written two ways (satou.yuuki / sato.yuki).

Candidates come from the symmetric deletion index (``distance.near_pairs``), so
this stays linear in the number of rows.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterator
from functools import lru_cache

from .address_index import mailbox_key, normalise
from .confusables import text_skeleton
from .context import PreflightContext, Row
from .distance import CROWDED_KEY, edit_distance, near_pairs
from .findings import Finding, Severity, sorted_rows
from .romaji import address_key, fold_romaji, looks_like_name, name_key

MIN_LOCAL_PART = 4  # "taro" and "tomo" are two people, not a typo
_DIGITS = re.compile(r"\d+")
# Addresses that differ only in their digits are a numbered series (s2112345, s2112346)
# once this many share the same letters, or when their numbers are zero-padded IDs
# (member00001); fewer, free-form numbers (k.yamada1975 / k.yamada1976) are compared.
NUMBERED_SERIES = 5
_PADDED = re.compile(r"(?<!\d)0\d")
_SPACES = re.compile(r"\s+")


@lru_cache(maxsize=200_000)  # each row of every near pair: once per name is enough
def _comparable(name: str) -> str:
    return _SPACES.sub("", unicodedata.normalize("NFKC", name)).casefold()


def _same_name(a: Row, b: Row) -> bool:
    if not a.display_name.strip() or not b.display_name.strip():
        return False
    if _comparable(a.display_name) == _comparable(b.display_name):
        return True
    if looks_like_name(a.display_name) and looks_like_name(b.display_name):
        key_a, key_b = name_key(a.display_name), name_key(b.display_name)
        return bool(key_a.full) and key_a.full == key_b.full
    return False


def _carries(row: Row, address: str, *, given_only: bool = False) -> set[str]:
    """The parts of row's name found in address (only its given or whole name, if given_only)."""
    if not looks_like_name(row.display_name):
        return set()
    words = address_key(address).words
    key = name_key(row.display_name)
    tokens = key.tokens - ({key.words[0]} if given_only and len(key.words) > 1 else set())
    return {token for token in tokens if token in words} if words else set()


def _crossed(a: Row, b: Row) -> bool:
    """One row's address carries the other's given name and none of its own name.

    A shared family name proves nothing (m-mori and t-mori are two of the 森 family).
    """
    for one, other in ((a, b), (b, a)):
        if not _carries(one, one.address) and _carries(other, one.address, given_only=True):
            return True
    return False


def _typo_shape(x: str, y: str) -> bool:
    if text_skeleton(x) == text_skeleton(y) or fold_romaji(x) == fold_romaji(y):
        return True
    if len(x) == len(y):
        differ = [i for i, (p, q) in enumerate(zip(x, y, strict=True)) if p != q]
        return len(differ) == 2 and differ[1] == differ[0] + 1 and x[differ[0]] == y[differ[1]] \
            and x[differ[1]] == y[differ[0]]
    longer, shorter = (x, y) if len(x) > len(y) else (y, x)
    if len(longer) != len(shorter) + 1:
        return False
    for i in range(len(longer)):
        if longer[:i] + longer[i + 1:] == shorter:
            return (i > 0 and longer[i - 1] == longer[i]) or (i + 1 < len(longer) and longer[i + 1] == longer[i])
    return False


def _reason(a: Row, b: Row, ctx: PreflightContext, shared: _SharedValues) -> str | None:
    """Why this near pair is worth a look, or None when it is two different people."""
    named = bool(a.display_name.strip() and b.display_name.strip())
    if named:
        if _same_name(a, b):
            # Two people may share a name (two 後藤 恵); the same person twice shares more:
            # a phone number, a birthday, a value nobody else in the list has.
            return "same_name" if shared.between(a, b) else None
        return "crossed_name" if _crossed(a, b) else None
    mailed_a, mailed_b = a.address.lower() in ctx.history, b.address.lower() in ctx.history
    if mailed_a != mailed_b:
        return "new_twin"
    local_a, local_b = a.address.lower().rpartition("@")[0], b.address.lower().rpartition("@")[0]
    if _DIGITS.sub("", local_a) == _DIGITS.sub("", local_b):
        return None  # numbers that differ: sato12, sato13 are two people
    return "typo" if _typo_shape(local_a, local_b) else None


class _SharedValues:
    """Values of the other columns that only a couple of rows hold: what marks one person entered twice."""

    RARE = 2  # held by at most this many rows

    def __init__(self, ctx: PreflightContext):
        c = ctx.campaign
        self.skip = {c.address_column, c.name_column}
        self.rows = ctx.rows
        self._holders: Counter | None = None

    def _key(self, column: str, value) -> tuple[str, str] | None:
        """Values with digits (a phone, a birthday, a postal address): a name's reading is the name again."""
        text = normalise(str(value or "").strip())
        if len(text) < 4 or column in self.skip or not _DIGITS.search(text):
            return None
        return column, text

    def between(self, a: Row, b: Row) -> bool:
        if self._holders is None:
            self._holders = Counter(key for row in self.rows for column, value in row.data.items()
                                    if (key := self._key(column, value)) is not None)
        keys_a = {self._key(column, value) for column, value in a.data.items()} - {None}
        keys_b = {self._key(column, value) for column, value in b.data.items()} - {None}
        return any(self._holders[key] <= self.RARE for key in keys_a & keys_b)


def _series(locals_: list[str]):
    """The numbered series each local part belongs to (its letters), or None: see NUMBERED_SERIES."""
    skeletons = [_DIGITS.sub("", local) if any(c.isdigit() for c in local) else None for local in locals_]
    counts = Counter(skeletons)

    def family(index: int) -> str | None:
        skeleton = skeletons[index]
        if skeleton is None:
            return None
        if counts[skeleton] >= NUMBERED_SERIES or _PADDED.search(locals_[index]):
            return skeleton
        return None

    return family


MAX_LOCAL_PART = 64


def similar_addresses(ctx: PreflightContext) -> Iterator[Finding]:
    first: dict[str, Row] = {}  # one row per mailbox: duplicates are addresses_are_unique's business
    for row in ctx.rows:
        key = mailbox_key(row.address)
        if "@" in key and not key.startswith("@") and not key.endswith("@"):
            first.setdefault(key, row)
    by_domain: dict[str, list[str]] = defaultdict(list)
    for key in first:
        local, domain = key.rsplit("@", 1)
        # A local part over 64 characters is no address (RFC 5321; addresses_are_valid blocks it),
        # and its deletion neighbourhood would cost its length squared.
        if MIN_LOCAL_PART <= len(local) <= MAX_LOCAL_PART:
            by_domain[domain].append(local)
    pairs = []
    shared = _SharedValues(ctx)
    for domain, locals_ in by_domain.items():
        if len(locals_) < 2:
            continue
        rows = [first[f"{local}@{domain}"] for local in locals_]
        for i, j in near_pairs(locals_, lambda word: {fold_romaji(word), text_skeleton(word)}, _series(locals_),
                               most_paired=CROWDED_KEY):
            x, y = locals_[i], locals_[j]
            one, two = (rows[i], rows[j]) if rows[i].row_number < rows[j].row_number else (rows[j], rows[i])
            # The reason first: most near pairs have none, and it costs less than the distance. (A pair
            # found by a shared deletion is near anyway; only one whose spelling of one address equals
            # the other's skeleton may not be.)
            reason = _reason(one, two, ctx, shared)
            if reason and (edit_distance(x, y) <= 2 or fold_romaji(x) == fold_romaji(y)
                           or text_skeleton(x) == text_skeleton(y)):
                pairs.append((one.row_number, one.email, two.row_number, two.email, reason))
    if pairs:
        pairs.sort()
        yield Finding("list.similar_addresses", Severity.ACKNOWLEDGE, {"count": len(pairs), "examples": pairs},
                      rows=sorted_rows(r for p in pairs for r in (p[0], p[2])), items=tuple(pairs))
