"""Checks on the attachments (incident 9: a city attached its recipient list instead of the newsletter).

Each file is read and inspected again at every preflight (``approvals.intake.attachments``
sniffs the real type, refuses executables, macro files and scripted PDFs and extracts
the text of every part, embedded files included).
The extracted text is then compared with this campaign's list:

* the very bytes of the uploaded list -> blocked;
* any address of a recipient -> blocked;
* rows of the list: three or more rows of which at least two distinctive
  values (e.g. name and member number) occur in the text -> blocked;
* more than five addresses of any kind -> blocked (a list of other people).

A file that cannot be read completely (encrypted, legacy format, damaged) and a
file whose name looks like a list (名簿, リスト, ...) must be acknowledged by
the reviewer, who has to open it; whatever text could be recovered from it is
scanned all the same.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterator

from django.conf import settings

from ..intake.attachments import AttachmentRefused, inspect_attachment, suspicious_filename
from .address_index import EMAIL, AddressOwners, normalise
from .context import AttachmentFile, PreflightContext
from .findings import Finding, Severity, sorted_rows

__all__ = ["attachments_are_safe", "scan_file"]

MANY_ADDRESSES = 5  # more addresses than this in one file: a list of people
LIST_ROWS = 3  # this many rows of the list found in a file: it contains the list
VALUES_PER_ROW = 2  # distinctive values of a row that must occur for the row to count
COMMON_VALUE_ROWS = 3  # a value held by this many rows or more (a prefecture, "会員") is not distinctive

# Cells of a table (CSV, spreadsheet rows, PDF table text): split on these, keep inner spaces.
_CELL_SEPARATORS = re.compile(r"[\t,;|()\[\]{}<>「」『』【】、。:/\"]+")
_WHITESPACE = re.compile(r"\s+")


def attachments_are_safe(ctx: PreflightContext) -> Iterator[Finding]:
    limits = settings.MAILGUARD
    list_data = _ListData(ctx)
    total = 0
    for attachment in ctx.attachments:
        total += attachment.size
        yield from scan_file(ctx, attachment, list_data, limits["MAX_ATTACHMENT_BYTES"])
    limit = limits["MAX_CAMPAIGN_ATTACHMENT_BYTES"]
    if total > limit:
        yield Finding("attachment.too_large_together", Severity.BLOCK,
                      {"size": _megabytes(total), "limit": _megabytes(limit)},
                      files=tuple(a.filename for a in ctx.attachments))


def _megabytes(size: int) -> str:
    return f"{size / 1_048_576:,.1f}".removesuffix(".0")


def scan_file(ctx: PreflightContext, attachment: AttachmentFile, list_data: _ListData | None = None,
              max_bytes: int | None = None) -> Iterator[Finding]:
    """The findings about one file: refused, unreadable, or carrying the list's data."""
    list_data = list_data or _ListData(ctx)
    max_bytes = max_bytes or settings.MAILGUARD["MAX_ATTACHMENT_BYTES"]
    name = attachment.filename
    files = (name,)

    def block(code: str, params: dict | None = None, rows: tuple[int, ...] = ()) -> Finding:
        return Finding(code, Severity.BLOCK, {"name": name, **(params or {})}, rows=rows, files=files)

    data = attachment.data
    if data is None:
        yield block("attachment.unreadable")
        return
    list_sha256 = ctx.campaign.list_sha256
    if list_sha256 and hashlib.sha256(data).hexdigest() == list_sha256:
        yield block("attachment.is_the_list")
        return
    try:
        inspection = inspect_attachment(name, data, max_bytes=max_bytes)
    except AttachmentRefused as exc:
        yield block("attachment.refused", {"reason": str(exc)})
        return
    if not inspection.allowed:
        yield block("attachment.refused", {"reason": _reason_data(inspection.reason)})
        return
    text = inspection.text
    if text is None:
        yield Finding("attachment.not_inspectable", Severity.ACKNOWLEDGE,
                      {"name": name, "reason": _reason_data(inspection.reason)}, files=files)
        text = inspection.salvaged  # what could be read is scanned all the same
    yield from _scan_text(name, text, list_data, block)
    if suspicious_filename(name):
        yield Finding("attachment.looks_like_a_list", Severity.ACKNOWLEDGE, {"name": name}, files=files)


def _reason_data(reason) -> dict | str:
    return reason.as_data() if hasattr(reason, "as_data") else str(reason)


def _scan_text(name: str, text: str, list_data: _ListData, block) -> Iterator[Finding]:
    norm = normalise(text)
    found: dict[str, None] = {}  # every address in the file, in order
    list_rows: list[int] = []
    for match in EMAIL.finditer(norm):
        address, owners = list_data.addresses.lookup(match.group())
        found.setdefault(address)
        if owners:
            list_rows.extend(owners)
    if list_rows:
        rows = sorted_rows(list_rows)
        yield block("attachment.list_addresses", {"count": len(rows)}, rows=rows)
    elif len(found) > MANY_ADDRESSES:
        yield block("attachment.many_addresses", {"count": len(found), "examples": list(found)})
    rows = list_data.rows_in(norm)
    if len(rows) >= LIST_ROWS:
        yield block("attachment.list_rows", {"count": len(rows)}, rows=tuple(rows))


def _tokens(norm: str) -> set[str]:
    """Everything a list value could appear as in extracted text.

    Cells (text between separators such as tabs and commas) with their inner
    whitespace removed, single words, and pairs of adjacent words joined (a
    name split by a PDF extractor: "山田 太郎" -> "山田太郎").
    """
    tokens: set[str] = set()
    for line in norm.splitlines():
        for cell in _CELL_SEPARATORS.split(line):
            words = cell.split()
            if not words:
                continue
            tokens.add("".join(words))
            if len(words) > 1:
                tokens.update(words)
                tokens.update(a + b for a, b in zip(words, words[1:], strict=False))
    return tokens


def _value_key(value: object) -> str:
    text = str(value)
    if text.isascii():
        key = text.lower()  # normalise(), without the call: this runs for every value of the list
    else:
        key = normalise(text)
    if not key.isalnum():
        key = _WHITESPACE.sub("", key).strip("'\"")
    return key


def _distinctive(key: str) -> bool:
    """Long enough to identify someone: 2+ characters, 4+ if only digits (not an age or a count)."""
    return len(key) >= 2 and not (key.isdigit() and len(key) < 4)


class _ListData:
    """The list's addresses and values, built on first use and shared by all attachments."""

    def __init__(self, ctx: PreflightContext):
        self._rows = ctx.rows
        self._addresses: AddressOwners | None = None
        self._keys: list[tuple[int, frozenset[str]]] | None = None

    @property
    def addresses(self) -> AddressOwners:
        if self._addresses is None:
            self._addresses = AddressOwners((row.address, row.row_number) for row in self._rows)
        return self._addresses

    @property
    def keys(self) -> list[tuple[int, frozenset[str]]]:
        if self._keys is None:
            self._keys = [(row.row_number, frozenset(_value_key(v) for v in row.data.values() if v))
                          for row in self._rows]
        return self._keys

    def rows_in(self, norm: str) -> list[int]:
        """The rows of which at least VALUES_PER_ROW distinctive values occur in the text.

        Distinctive: see _distinctive, and held by fewer than COMMON_VALUE_ROWS
        rows (a prefecture or a membership type identifies nobody). Only values
        found in the text can matter, so only those are counted across rows.
        """
        tokens = {token for token in _tokens(norm) if _distinctive(token)}
        if not tokens:
            return []
        hits = [(number, found) for number, keys in self.keys if len(found := keys & tokens) >= VALUES_PER_ROW]
        if len(hits) < LIST_ROWS:
            return []
        holders = Counter(key for _number, keys in self.keys for key in keys & tokens)
        return [number for number, found in hits
                if sum(holders[key] < COMMON_VALUE_ROWS for key in found) >= VALUES_PER_ROW]
