"""The shape of a preflight finding: a code and its parameters, rendered in the reader's language.

A finding is stored (with the submitted version) as data, never as text: its
``code`` says what was found, ``params`` hold the facts (counts, names, a few
examples) and ``items`` every flagged row or pair, so the reviewer can page
through all of them. ``approvals.guards.texts`` turns a code and its params into
a sentence in whatever language the person reading it uses, at display time.

The text carries at most ``EXAMPLES_IN_TEXT`` examples: a finding about 5,000
rows stays three lines long, so the approve button stays in view, and the full
list is one click away.
"""

import hashlib
from dataclasses import dataclass, field
from enum import StrEnum

EXAMPLES_IN_TEXT = 3  # examples quoted in a finding's sentence; the rest are in its items
ROWS_IN_TEXT = 10  # row numbers quoted in a sentence before "…"
QUOTE_MAX = 256  # characters of one quoted value: longer than any valid address (254)


class Severity(StrEnum):
    BLOCK = "block"  # cannot be submitted until fixed
    ACKNOWLEDGE = "acknowledge"  # the reviewer must tick this finding by name
    INFO = "info"  # shown only


@dataclass(frozen=True, eq=False)
class Finding:
    code: str  # stable identifier of the check, e.g. "merge.unknown_field"
    severity: Severity
    params: dict = field(default_factory=dict)  # JSON values the sentence is built from
    rows: tuple[int, ...] = field(default_factory=tuple)  # list rows as Excel numbers them, all of them
    files: tuple[str, ...] = field(default_factory=tuple)
    # Every flagged item, one list of cells each (row, address, other row…), in the order
    # texts.item_columns(code) names them; empty when the rows say it all.
    items: tuple[tuple, ...] = field(default_factory=tuple)

    def __post_init__(self):
        examples = self.params.get("examples")
        if examples is not None and len(examples) > EXAMPLES_IN_TEXT:
            object.__setattr__(self, "params", {**self.params, "examples": list(examples[:EXAMPLES_IN_TEXT])})
        # A quoted cell can be as long as the upload (one 45 MB "address"): findings are stored
        # and drawn on pages, so each quote keeps its start only.
        object.__setattr__(self, "params", clipped(self.params))
        object.__setattr__(self, "items", tuple(tuple(clipped(cell) for cell in item) for item in self.items))

    @property
    def key(self) -> str:
        """Identifies this finding on this version, for the reviewer's acknowledgement."""
        return finding_key(self.code, self.rows, self.files)

    @property
    def message(self) -> str:
        from .texts import render

        return render(self.code, self.params, self.rows)

    @property
    def item_count(self) -> int:
        return len(self.items) or len(self.rows)

    def as_dict(self) -> dict:
        return {
            "code": self.code,
            "severity": str(self.severity),
            "params": self.params,
            "rows": list(self.rows),
            "files": list(self.files),
            "items": [list(item) for item in self.items],
            "key": self.key,
        }


def clipped(value):
    """``value`` with every string longer than ``QUOTE_MAX`` cut to that length and "…"."""
    if isinstance(value, str):
        return value if len(value) <= QUOTE_MAX else value[:QUOTE_MAX] + "…"
    if isinstance(value, list | tuple):
        return type(value)(clipped(item) for item in value)
    if isinstance(value, dict):
        return {key: clipped(item) for key, item in value.items()}
    return value


def finding_key(code: str, rows, files) -> str:
    where = ",".join(map(str, rows)) + "|" + ",".join(files)
    return f"{code}:{hashlib.sha256(where.encode()).hexdigest()[:12]}"


def row_summary(rows, limit: int = ROWS_IN_TEXT) -> str:
    """'3, 8, 12 …' — the first rows of a long list, for messages."""
    rows = list(rows)
    shown = ", ".join(str(r) for r in rows[:limit])
    return shown + (" …" if len(rows) > limit else "")


def sorted_rows(numbers) -> tuple[int, ...]:
    return tuple(sorted(set(numbers)))
