"""Checks on the attachments (incident 9: a city attached its recipient list instead of the newsletter).

Each file is read and inspected again at every preflight (``approvals.intake.attachments``
sniffs the real type, refuses executables and macro files and extracts the text).
The extracted text is then compared with this campaign's list:

* the very bytes of the uploaded list -> blocked;
* any address of a recipient -> blocked;
* rows of the list: three or more rows of which at least two distinctive
  values (e.g. name and member number) occur in the text -> blocked;
* more than five addresses of any kind -> blocked (a list of other people).

A file that cannot be read inside (encrypted, legacy format, damaged) and a
file whose name looks like a list (名簿, リスト, ...) must be acknowledged by
the reviewer, who has to open it.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterator

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ..intake.attachments import AttachmentRefused, inspect_attachment, suspicious_filename
from ..models import Attachment
from .context import PreflightContext
from .findings import Finding, Severity, row_summary
from .messages import EMAIL, normalise

__all__ = ["attachments_are_safe"]

MAX_FINDING_ROWS = 1000
MANY_ADDRESSES = 5  # more addresses than this in one file: a list of people
LIST_ROWS = 3  # this many rows of the list found in a file: it contains the list
VALUES_PER_ROW = 2  # distinctive values of a row that must occur for the row to count
COMMON_VALUE_ROWS = 3  # a value held by this many rows or more (a prefecture, "会員") is not distinctive
_ADDRESS_JUNK = ".'-_+"

# Cells of a table (CSV, spreadsheet rows, PDF table text): split on these, keep inner spaces.
_CELL_SEPARATORS = re.compile(r"[\t,;|()\[\]{}<>「」『』【】、。:/\"]+")
_WHITESPACE = re.compile(r"\s+")


def attachments_are_safe(ctx: PreflightContext) -> Iterator[Finding]:
    limits = settings.MAILGUARD
    list_data = _ListData(ctx)
    total = 0
    for attachment in ctx.attachments:
        total += attachment.size
        yield from _check_file(ctx, attachment, list_data, limits["MAX_ATTACHMENT_BYTES"])
    limit = limits["MAX_CAMPAIGN_ATTACHMENT_BYTES"]
    if total > limit:
        yield Finding(
            "attachment.too_large_together",
            Severity.BLOCK,
            _("The attachments together are %(size)s MB, more than the limit of %(limit)s MB per campaign. "
              "Remove some, or send a link to the files instead.")
            % {"size": _megabytes(total), "limit": _megabytes(limit)},
            files=tuple(a.filename for a in ctx.attachments),
        )


def _megabytes(size: int) -> str:
    return f"{size / 1_048_576:,.1f}".removesuffix(".0")


def _check_file(ctx: PreflightContext, attachment: Attachment, list_data: _ListData,
                max_bytes: int) -> Iterator[Finding]:
    name = attachment.filename
    files = (name,)

    def block(code: str, message: str, rows: tuple[int, ...] = ()) -> Finding:
        return Finding(code, Severity.BLOCK, message, rows=rows, files=files)

    try:
        with attachment.file.open("rb") as stream:
            data = stream.read()
    except (OSError, ValueError):
        yield block("attachment.unreadable",
                    _("“%(name)s” could not be read from storage. Remove it and attach it again.") % {"name": name})
        return
    list_sha256 = ctx.campaign.list_sha256
    if list_sha256 and hashlib.sha256(data).hexdigest() == list_sha256:
        yield block("attachment.is_the_list",
                    _("“%(name)s” is the recipient list itself (the same file that was uploaded as the list). "
                      "Every recipient would receive everyone's data. Remove it and attach the file you meant "
                      "to send.") % {"name": name})
        return
    try:
        inspection = inspect_attachment(name, data, max_bytes=max_bytes)
    except AttachmentRefused as exc:
        yield block("attachment.refused", _("“%(name)s”: %(reason)s") % {"name": name, "reason": exc})
        return
    if not inspection.allowed:
        yield block("attachment.refused", _("“%(name)s”: %(reason)s Remove it.")
                    % {"name": name, "reason": inspection.reason})
        return
    if inspection.text is None:
        yield Finding(
            "attachment.not_inspectable",
            Severity.ACKNOWLEDGE,
            _("“%(name)s” cannot be inspected: %(reason)s — open it and check it contains no personal data.")
            % {"name": name, "reason": inspection.reason},
            files=files,
        )
    else:
        yield from _scan_text(name, inspection.text, list_data, block)
    if suspicious_filename(name):
        yield Finding(
            "attachment.looks_like_a_list",
            Severity.ACKNOWLEDGE,
            _("The name “%(name)s” looks like a list (名簿, リスト, 一覧, members…); open it before approving "
              "and make sure it is not a list of people.") % {"name": name},
            files=files,
        )


def _scan_text(name: str, text: str, list_data: _ListData, block) -> Iterator[Finding]:
    norm = normalise(text)
    found: dict[str, None] = {}  # every address in the file, in order
    list_rows: list[int] = []
    for match in EMAIL.finditer(norm):
        address = match.group().replace("%40", "@")
        owners = list_data.address_owners.get(address)
        if owners is None and address[0] in _ADDRESS_JUNK:
            address = address.lstrip(_ADDRESS_JUNK)
            owners = list_data.address_owners.get(address)
        found.setdefault(address)
        if owners:
            list_rows.extend(owners)
    if list_rows:
        rows = sorted(set(list_rows))
        yield block(
            "attachment.list_addresses",
            ngettext(
                "“%(name)s” contains %(count)d address of a recipient on the list (row %(rows)s).",
                "“%(name)s” contains %(count)d addresses of recipients on the list (rows %(rows)s).",
                len(rows),
            ) % {"name": name, "count": len(rows), "rows": row_summary(rows)}
            + " " + _("Every recipient would receive them. Remove the file and attach the one you meant to send."),
            rows=tuple(rows[:MAX_FINDING_ROWS]),
        )
    elif len(found) > MANY_ADDRESSES:
        yield block(
            "attachment.many_addresses",
            _("“%(name)s” contains many addresses (%(count)d, e.g. %(examples)s). Every recipient would "
              "receive them. Remove the file, or remove the addresses from it.")
            % {"name": name, "count": len(found), "examples": ", ".join(list(found)[:3])},
        )
    rows = list_data.rows_in(norm)
    if len(rows) >= LIST_ROWS:
        yield block(
            "attachment.list_rows",
            _("“%(name)s” contains %(count)d rows of the recipient list (rows %(rows)s): for each, at least "
              "two of its values, such as name and member number, are in the file. Remove the file and "
              "attach the one you meant to send.")
            % {"name": name, "count": len(rows), "rows": row_summary(rows)},
            rows=tuple(rows[:MAX_FINDING_ROWS]),
        )


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
        self._addresses: dict[str, list[int]] | None = None
        self._keys: list[tuple[int, frozenset[str]]] | None = None

    @property
    def address_owners(self) -> dict[str, list[int]]:
        if self._addresses is None:
            self._addresses = {}
            for row in self._rows:
                if row.email:
                    self._addresses.setdefault(normalise(row.email.strip()), []).append(row.row_number)
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
