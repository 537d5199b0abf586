"""Names that no longer belong to their addresses (incident 10: a hand-built list drifted).

Two checks:

* ``names_shifted_against_addresses`` decides which columns hold people's names
  by their content (values shaped like names whose romanisation turns up in the
  list's addresses), whatever their header says, and adds every name-shaped
  column the message merges. In each it looks for each row's name in its own
  address, in the addresses a few rows above and below, and anywhere in the list.
  Runs of rows whose names sit in other rows' addresses rather than their own are
  what a list looks like after a row was inserted or deleted in one column only,
  or one column was sorted on its own: up or down, whole list or part of it.
* ``display_names_changed`` compares each row's display name with the name the
  same address was last sent under (loaded by ``PreflightContext``).

Both are built for 100,000 rows: romanisation is cached per name part, and a
sample decides first whether the addresses carry names at all.
"""

import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from .context import PreflightContext, Row
from .findings import Finding, Severity, sorted_rows
from .romaji import AddressKey, NameKey, address_key, looks_like_name, name_key

SAMPLE_ROWS = 1000  # rows romanised first to see whether the addresses carry names at all
NEIGHBOURS = 3  # a name found this many rows above or below is a shift by that many
WINDOW = 50  # a given name found this far away, in an address that is not its own row's: a block sorted alone
MIN_RUN = 2  # shifted rows in a run before it is reported: one coincidence is not a drift
NAME_SHAPED_SHARE = 0.6  # of a column's values, to be a column of names
NAMES_IN_ADDRESSES_SHARE = 0.15  # of those, found in the list's addresses

ALIGNED, SHIFTED, NEUTRAL = "aligned", "shifted", "neutral"


class _Placement:
    """Where the names of one column sit among the addresses; rows are romanised on first use."""

    def __init__(self, rows: list[Row], column: str | None):
        self.rows = rows
        self.column = column
        self._names: list[NameKey | None] = [None] * len(rows)
        self._addresses: list[AddressKey | None] = [None] * len(rows)
        self._whole: dict[str, list[int]] | None = None
        self._held: Counter | None = None
        self._by_word: dict[str, list[int]] | None = None

    def value(self, i: int) -> str:
        row = self.rows[i]
        return row.display_name if self.column is None else str(row.data.get(self.column) or "")

    def name(self, i: int) -> NameKey:
        key = self._names[i]
        if key is None:
            value = self.value(i)
            key = self._names[i] = name_key(value) if looks_like_name(value) else _NO_NAME
        return key

    def address(self, i: int) -> AddressKey:
        key = self._addresses[i]
        if key is None:
            key = self._addresses[i] = address_key(self.rows[i].address)
        return key

    def whole_names(self) -> dict[str, list[int]]:
        """An address's letters (both word orders) -> its rows: where a whole name is found at once."""
        if self._whole is None:
            self._whole = {}
            for j in range(len(self.rows)):
                address = self.address(j)
                keys = {address.letters}
                words = address.words.split(".")
                if len(words) == 2:
                    keys.add(words[1] + words[0])
                for key in keys:
                    if len(key) >= 6:
                        self._whole.setdefault(key, []).append(j)
        return self._whole

    def rows_with_word(self, word: str) -> list[int]:
        """The rows whose address has this word (in row order)."""
        if self._by_word is None:
            self._by_word = {}
            for j in range(len(self.rows)):
                for part in set(self.address(j).words.split(".")):
                    if len(part) >= 3:
                        self._by_word.setdefault(part, []).append(j)
        return self._by_word.get(word, [])

    def _nearby(self, i: int, tokens) -> list[int]:
        """Rows within WINDOW whose address carries these parts of row i's name and not their own name."""
        found = []
        for token in tokens:
            holders = self.rows_with_word(token)  # in row order: the window is a slice
            for j in holders[bisect_left(holders, i - WINDOW):bisect_right(holders, i + WINDOW)]:
                if j != i and not self.owned(j) and self.evidence(i, j):
                    found.append(j)
        return found

    def _displaced(self, j: int) -> bool:
        """Row j's own name sits in yet another address nearby: a chain, as a column sorted on its own leaves.

        One address that happens to contain a given name (peace.sakura142) is no chain; a whole
        name (family and given, nakagawa.misaki) in an address that is not its row's needs none.
        """
        name = self.name(j)
        given = name.tokens - {name.full} - ({name.words[0]} if len(name.words) > 1 else set())
        return bool(self._nearby(j, given or name.tokens))

    def held_once(self, i: int) -> bool:
        """Whether row i's name is the only one of its kind in the column (two 青木 健太 are two people)."""
        if self._held is None:
            self._held = Counter(_comparable_name(self.value(k)) for k in range(len(self.rows)))
        return self._held[_comparable_name(self.value(i))] == 1

    def owned(self, j: int) -> bool:
        """Whether row j's own name is in row j's address: then it is nobody else's."""
        return bool(self.evidence(j, j))

    def evidence(self, i: int, j: int) -> set[str]:
        """The parts of row i's name found in row j's address that no other nearby name explains.

        A part shared with a name next to that address (two 佐藤 in a row) says nothing
        about whose address it is; nor does a part found inside a longer part of another
        name (yumi inside mayumi). The same name twice in a row is no competitor: that is
        how a drifted column often looks where the drift ends.
        """
        name, address = self.name(i), self.address(j)
        if not address.letters:
            return set()
        found = {t for t in name.tokens if t in address.words or (t == name.full and t in address.letters)}
        if not found:
            return found
        others = [self.name(k).tokens for k in (j - 1, j, j + 1)
                  if 0 <= k < len(self.rows) and k != i and self.name(k) != name]
        found = found.difference(*others)
        for token in list(found):
            start = address.words.find(token)
            for other in others:
                for longer in other:
                    if len(longer) > len(token) and token in longer:
                        at = address.words.find(longer)
                        if at != -1 and at <= start and start + len(token) <= at + len(longer):
                            found.discard(token)
        return found

    def status(self, i: int) -> tuple[str, int]:
        """Whether row i's name is in its own address, in another row's (and how far), or nowhere."""
        name = self.name(i)
        if not name.tokens:
            return NEUTRAL, 0
        if self.evidence(i, i):
            return ALIGNED, 0
        # A name in another row's address counts only when that address is not its own row's.
        for distance in range(1, NEIGHBOURS + 1):
            for offset in (distance, -distance):
                j = i + offset
                # The same name twice in a row is how a drifted column looks where the drift ends.
                if 0 <= j < len(self.rows) and self.evidence(i, j) and (self.name(j) == name or not self.owned(j)):
                    return SHIFTED, offset
        # The given name in an address nearby that is not its own row's: the column was sorted on its own.
        given = name.tokens - {name.full} - ({name.words[0]} if len(name.words) > 1 else set())
        near = [j for j in self._nearby(i, given) if len(self.evidence(i, j)) >= 2 or self._displaced(j)]
        if near:
            return SHIFTED, min(near, key=lambda j: abs(j - i)) - i
        # The whole name, both parts, in one other address: the column moved further than that.
        if self.held_once(i):
            whole = self.whole_names()
            for key in name.orders:
                owners = [j for j in whole.get(key, ()) if j != i and not self.owned(j)]
                if owners:
                    return SHIFTED, min(owners, key=lambda j: abs(j - i)) - i
        return NEUTRAL, 0


_NO_NAME = NameKey(frozenset(), "")


def _sample(count: int) -> range:
    return range(0, count, max(1, count // SAMPLE_ROWS))


@dataclass
class _Run:
    rows: list[int] = field(default_factory=list)  # list row numbers of the shifted rows
    offsets: list[int] = field(default_factory=list)

    def describe(self) -> list:
        """[first row, last row, offset] — offset 0 when the names came from rows at different distances."""
        offsets = set(self.offsets)
        return [self.rows[0], self.rows[-1], self.offsets[0] if len(offsets) == 1 else 0]


def name_columns(ctx: PreflightContext) -> list[str | None]:
    """The columns to check: by content, plus merged name-shaped columns; None is the display-name column."""
    c = ctx.campaign
    rows = ctx.rows
    sample = [rows[i] for i in _sample(len(rows))][:SAMPLE_ROWS]
    address_words: set[str] = set()
    for row in sample:
        key = address_key(row.address)
        address_words.update(key.words.split("."))
        address_words.add(key.letters)
    address_words.discard("")
    chosen: list[str | None] = []
    for column in c.columns:
        if column == c.address_column:
            continue
        values = [str(row.data.get(column) or "") for row in sample]
        values = [v for v in values if v.strip()]
        shaped = [v for v in values if looks_like_name(v)]
        if not values or len(shaped) < NAME_SHAPED_SHARE * len(values):
            continue
        if column in ctx.used_fields or column == c.name_column:
            chosen.append(column)
            continue
        found = sum(1 for v in shaped if _name_in(name_key(v), address_words))
        if found >= max(3, NAMES_IN_ADDRESSES_SHARE * len(shaped)):
            chosen.append(column)
    if not c.columns and any(row.display_name for row in rows):
        chosen.append(None)  # a context built without columns: the display names alone
    return chosen


def _name_in(name: NameKey, address_words: set[str]) -> bool:
    return any(len(token) >= 4 and token in address_words for token in name.tokens) or any(
        key in address_words for key in name.orders)


def _runs(placement: _Placement) -> tuple[list[_Run], int, int]:
    rows = placement.rows
    runs: list[_Run] = []
    current: _Run | None = None
    aligned = shifted = 0
    for i in range(len(rows)):
        status, offset = placement.status(i)
        if status == NEUTRAL:
            continue  # carries no name we can place: neither continues nor ends a run
        if status == ALIGNED:
            aligned += 1
            current = None
            continue
        shifted += 1
        if current is None:
            current = _Run()
            runs.append(current)
        current.rows.append(rows[i].row_number)
        current.offsets.append(offset)
    return runs, aligned, shifted


def _addresses_can_carry_names(rows: list[Row]) -> bool:
    """False when the sampled addresses are one pattern with numbers (member000123, s2112345): no names."""
    words = Counter(address_key(rows[i].address).letters for i in _sample(len(rows)))
    words.pop("", None)
    return bool(words) and words.most_common(1)[0][1] * 2 <= words.total()


def names_shifted_against_addresses(ctx: PreflightContext) -> Iterator[Finding]:
    rows = ctx.rows
    if len(rows) < 2 or not _addresses_can_carry_names(rows):
        return
    for column in name_columns(ctx):
        placement = _Placement(rows, column)
        # Most lists either carry names in their addresses or do not: a spread sample
        # decides whether romanising every row is worth it.
        if all(placement.status(i)[0] == NEUTRAL for i in _sample(len(rows))):
            continue
        runs, aligned, shifted = _runs(placement)
        runs = [run for run in runs if len(run.rows) >= MIN_RUN]
        if not runs:
            continue
        counted = sum(len(run.rows) for run in runs)
        items = tuple(tuple(run.describe()) for run in runs)
        label = column if column is not None else ctx.campaign.name_column
        yield Finding(
            "list.names_shifted",
            Severity.BLOCK if counted * 2 > aligned + shifted else Severity.ACKNOWLEDGE,
            {"column": label or "", "shifted": counted, "named": aligned + shifted, "runs": len(runs),
             "examples": [list(item) for item in items]},
            rows=sorted_rows(number for run in runs for number in _span(run, rows)),
            items=items,
        )


def _span(run: _Run, rows: list[Row]) -> list[int]:
    """Every row from the first to the last shifted one: the rows between are part of the drift."""
    first, last = run.rows[0], run.rows[-1]
    return [row.row_number for row in rows if first <= row.row_number <= last]


# --- Names that changed since the last send -------------------------------------------

_SPACES = re.compile(r"\s+")


def _comparable_name(name: str) -> str:
    return _SPACES.sub("", unicodedata.normalize("NFKC", name)).casefold()


def display_names_changed(ctx: PreflightContext) -> Iterator[Finding]:
    if not ctx.history:
        return
    changed = []
    for row in ctx.rows:
        if not row.display_name.strip() or "@" not in row.address:
            continue
        before = ctx.history.get(row.address.lower())
        if before and before.name and _comparable_name(before.name) != _comparable_name(row.display_name):
            changed.append((row.row_number, before.name, row.display_name))
    if changed:
        yield Finding(
            "list.display_name_changed",
            Severity.ACKNOWLEDGE,
            {"count": len(changed), "examples": [list(item) for item in changed]},
            rows=sorted_rows(row for row, _before, _now in changed),
            items=tuple(changed),
        )


__all__ = ["display_names_changed", "names_shifted_against_addresses", "name_columns"]
