"""Checks on what each recipient receives: nobody's message may carry another recipient's data.

Incidents 11 and 12: a job site sent users other users' names and browsing
history, and a newsletter's rushed apology carried every other member's
unsubscribe link (with their address). ``messages_carry_no_other_recipients_data``
looks, in every recipient's message, for any other recipient's address, for
another row's value of an identifying column (member number, phone...) and for
another recipient's name. ``personal_data_patterns`` looks for phone numbers,
My Number-like numbers and piles of addresses that do not come from the
recipient's own row.

Why this is fast for 100,000 recipients, and still exact
---------------------------------------------------------
A rendered message is the template's *static* text with every ``{{column}}``
replaced by the row's *merged value*. The static text is the same for every
recipient, so it is scanned once: a template that itself contains a list
address (a pasted list) is reported on its own, once, not 100,000 times.
Per row only the merged values are scanned, each inside a *window*: the value
plus the static characters around it that could belong to an address or id
token (the run of ``[a-z0-9._+'%@-]`` touching it; placeholders joined only by
such characters share one window). A token is made of those characters only,
so any token of the rendered message that touches a merged value lies wholly
inside one window (``"?m=" + "taro" + "@example.jp"`` is found), and a token
wholly in static text was already judged by the static scan. Static scan +
windows therefore see every token of every rendered message while doing work
proportional to the merged values only; for ``href="…?m={{address}}"`` the
window is the address alone.

Each window is tokenised once with two regexes (addresses, alphanumeric ids)
and every token is looked up in a dict "normalised value -> rows owning it";
a hit counts when the message's own row is not among the owners and the token
overlaps a merged value. Names have no token boundaries in Japanese, so they
are found differently (see ``_NameIndex``). Values are normalised the same
way everywhere (NFKC, lower case, dash variants to "-") so that full-width
"ｍｅｍｂｅｒ＠ｅｘａｍｐｌｅ．ｊｐ" and "member@example.jp" are the same token.

Not found: data the message carries encoded (base64, hashes) — those do not
identify anyone to a reader either — and phone numbers written with spaces
inside (only hyphenated or unseparated ones are one token).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from .. import merge
from .address_index import EMAIL, AddressOwners, normalise
from .context import PreflightContext, Row
from .findings import Finding, Severity

__all__ = ["messages_carry_no_other_recipients_data", "personal_data_patterns"]

# At most this many static characters are taken on each side of a merged value
# (an address is at most 254 characters long).
WINDOW_CONTEXT = 256
# Identifying column rule: of the non-empty values, at least this share must be
# id-like (see _id_key) and at least this share of those must be distinct.
ID_LIKE_SHARE = 0.9
DISTINCT_SHARE = 0.9
# A name held by this many rows or more is a common name, not an identifier.
COMMON_NAME_ROWS = 3
# Static text with data of this many rows looks like a pasted list: blocked.
PASTED_LIST_ROWS = 3
# More addresses than this in the static text are worth a look.
STATIC_ADDRESS_LIMIT = 3

ID_TOKEN = re.compile(r"[0-9a-z]+(?:[-_][0-9a-z]+)*")
_DATE = re.compile(r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}")
_LATIN_WORD = re.compile(r"[a-z][a-z'-]*")
_WHITESPACE = re.compile(r"\s+")
_HAS_DIGIT = re.compile(r"[0-9]")
# Every character an EMAIL or ID_TOKEN match can contain: the window boundaries.
_TOKEN_RUN_END = re.compile(r"[a-z0-9._+'%@-]*\Z")
_TOKEN_RUN_START = re.compile(r"[a-z0-9._+'%@-]*")
_HTML_SPECIAL = re.compile("[&<>\"']")

# Japanese phone numbers as people write them (after normalisation): landlines
# 0X-XXXX-XXXX, 0XX-XXX-XXXX, 0XXX-XX-XXXX and 03(1234)5678, mobiles
# 090/080/070, ten digits written together, and +81 forms.
# Each pattern starts with the character itself, its "no digit before" test comes
# just after it: the regex engine then jumps from one candidate character to the next
# instead of trying every position (8 times faster on 45 MB of notes; the same matches,
# see tests/guards/test_leak_patterns.py).
PHONE = re.compile(
    r"(?:0(?<![0-9+]0)(?:"
    r"[789]0[- ]?[0-9]{4}[- ]?[0-9]{4}"
    r"|[0-9][- ][0-9]{4}[- ][0-9]{4}"
    r"|[0-9]{2}[- ][0-9]{3}[- ][0-9]{4}"
    r"|[0-9]{3}[- ][0-9]{2}[- ][0-9]{4}"
    r"|[0-9]{1,3}\([0-9]{1,4}\)[0-9]{4}"
    r"|[0-9]{9}"
    r")|\+(?<![0-9+]\+)81[- ]?(?:\(0\))?[0-9]{1,4}[- ]?[0-9]{1,4}[- ]?[0-9]{4}"
    r")(?![0-9])"
)
# Twelve digits, optionally in groups of four: the shape of a My Number (個人番号).
MY_NUMBER = re.compile(r"[0-9](?<![0-9]{2})[0-9]{3}[ -]?[0-9]{4}[ -]?[0-9]{4}(?![0-9])")


def _id_key(norm: str) -> str | None:
    """The lookup key of an id-like value, or None.

    Id-like: one ID_TOKEN (letters, digits, inner "-"/"_"), at least 4
    characters with a digit; purely numeric ones need 5 digits so that years
    ("2024") never count, and ISO dates do not count at all. Hyphens are
    dropped, so 090-1234-5678 and 09012345678 are the same key.
    """
    if not ID_TOKEN.fullmatch(norm) or _DATE.fullmatch(norm):
        return None
    key = norm.replace("-", "")
    if len(key) < 4 or not _HAS_DIGIT.search(key):
        return None
    if key.isdigit() and len(key) < 5:
        return None
    return key


def _digits(text: str) -> str:
    return re.sub(r"[^0-9]", "", text.replace("+81", "0"))


def _capped(rows: Iterable[int]) -> tuple[int, ...]:
    return tuple(sorted(set(rows)))


# --- Templates: static text and placeholders --------------------------------------------


@dataclass
class _Window:
    prefix: str  # normalised static text before the first value, back to whitespace
    items: list[int | str]  # placeholder indexes and the normalised static text between them
    suffix: str  # normalised static text after the last value, up to whitespace


@dataclass
class _Template:
    label: str
    mode: str  # "header", "text" or "html": how merge renders a value into it
    statics: list[str]  # normalised; len(placeholders) + 1
    placeholders: list[merge.Placeholder]
    windows: list[_Window] = field(default_factory=list)

    @classmethod
    def parse(cls, label: str, mode: str, text: str) -> _Template:
        statics, placeholders, position = [], [], 0
        for match in merge.PLACEHOLDER.finditer(text):
            statics.append(normalise(text[position:match.start()]))
            placeholders.append(merge.Placeholder(match.group(0), match.group(1).strip()))
            position = match.end()
        statics.append(normalise(text[position:]))
        template = cls(label, mode, statics, placeholders)
        index = 0
        while index < len(placeholders):
            # Searched in the last WINDOW_CONTEXT characters only: the same result, in linear time.
            prefix = _TOKEN_RUN_END.search(statics[index][-WINDOW_CONTEXT:]).group()
            items: list[int | str] = [index]
            while index + 1 < len(placeholders) and _TOKEN_RUN_START.fullmatch(statics[index + 1]):
                items += [statics[index + 1], index + 1]
                index += 1
            suffix = _TOKEN_RUN_START.match(statics[index + 1]).group()[:WINDOW_CONTEXT]
            template.windows.append(_Window(prefix, items, suffix))
            index += 1
        return template



def _templates(ctx: PreflightContext) -> list[_Template]:
    c = ctx.campaign
    return [
        _Template.parse("subject", "header", c.subject or ""),
        _Template.parse("text", "text", c.body_text or ""),
        _Template.parse("html", "html", c.body_html or ""),
    ]


# --- Who owns which value -----------------------------------------------------------------


class _NameIndex:
    """Other recipients' display names, found in text without a substring search per name.

    A name is keyed by its normal form with whitespace removed (山田 太郎 ==
    山田太郎), or for Latin-script names by its words joined by one space.
    Names shorter than 2 characters, or held by COMMON_NAME_ROWS rows or more,
    identify nobody and are left out.

    Japanese text has no word boundaries, and searching 100,000 names in every
    message is 10^10 comparisons. Instead each name is filed under its first
    two characters; a text is walked once, and only at positions whose two
    characters start some name are the few name lengths filed there tried as
    one dict lookup each. That is one lookup per character of text, whatever
    the size of the list. Latin names are compared as runs of whole words, so
    "Ann" is not found in "Annual". Only merged values and the static text are
    walked (see the module docstring), never a whole message per row.
    """

    def __init__(self, rows: list[Row]):
        owners: dict[str, list[int]] = {}
        for row in rows:
            key = self.key(row.display_name) if row.display_name else ""
            if len(key) >= 2:
                owners.setdefault(key, []).append(row.row_number)
        self.owners = {key: rows for key, rows in owners.items() if len(rows) < COMMON_NAME_ROWS}
        self.lengths_by_start: dict[str, set[int]] = {}
        self.max_words = 0
        for key in self.owners:
            if key.isascii():
                self.max_words = max(self.max_words, min(key.count(" ") + 1, 4))
            else:
                self.lengths_by_start.setdefault(key[:2], set()).add(len(key))
        self.ascii_starts = any(start.isascii() for start in self.lengths_by_start)
        self._memo: dict[str, tuple[str, ...]] = {}

    @staticmethod
    def key(name: str) -> str:
        norm = normalise(name)
        return " ".join(norm.split()) if norm.isascii() else _WHITESPACE.sub("", norm)

    def __bool__(self) -> bool:
        return bool(self.owners)

    def find(self, norm: str) -> tuple[str, ...]:
        """The name keys occurring in normalised text."""
        found = self._memo.get(norm)
        if found is not None:
            return found
        hits: list[str] = []
        if self.lengths_by_start and (self.ascii_starts or not norm.isascii()):
            compact = _WHITESPACE.sub("", norm)
            starts, owners = self.lengths_by_start, self.owners
            for i in range(len(compact) - 1):
                lengths = starts.get(compact[i:i + 2])
                if lengths:
                    hits.extend(c for n in lengths if (c := compact[i:i + n]) in owners and len(c) == n)
        if self.max_words:
            words = _LATIN_WORD.findall(norm)
            for n in range(1, self.max_words + 1):
                for i in range(len(words) - n + 1):
                    candidate = " ".join(words[i:i + n])
                    if candidate in self.owners:
                        hits.append(candidate)
        found = tuple(dict.fromkeys(hits))
        if len(self._memo) < 200_000:
            self._memo[norm] = found
        return found


@dataclass
class _ListIndex:
    addresses: AddressOwners  # normalised sendable address -> rows it is the address of
    identifying_columns: list[str]
    id_owners: dict[str, list[int]]  # id key -> rows holding it in an identifying column
    id_column: dict[str, str]  # id key -> the (first) column it was found in
    names: _NameIndex

    @classmethod
    def build(cls, ctx: PreflightContext) -> _ListIndex:
        c = ctx.campaign
        addresses = AddressOwners((row.address, row.row_number) for row in ctx.rows)
        id_owners: dict[str, list[int]] = {}
        id_column: dict[str, str] = {}
        identifying = []
        for column in c.columns:
            if column in (c.address_column, c.name_column):
                continue
            keys = _identifying_keys(ctx.rows, column)
            if keys is None:
                continue
            identifying.append(column)
            for key, row_number in keys:
                id_owners.setdefault(key, []).append(row_number)
                id_column.setdefault(key, column)
        return cls(addresses, identifying, id_owners, id_column, _NameIndex(ctx.rows))

    def address_owner(self, token: str) -> tuple[str, list[int] | None]:
        return self.addresses.lookup(token)


def _identifying_keys(rows: list[Row], column: str) -> list[tuple[str, int]] | None:
    """(key, row) for each id-like value if the column identifies people, else None.

    The documented rule: of the column's non-empty values, at least 90% are
    id-like (_id_key: member numbers, phone numbers, codes — not names, dates
    or free text) and at least 90% of those are distinct. Values that are not
    id-like are not indexed even in such a column.
    """
    non_empty = 0
    keys: list[tuple[str, int]] = []
    for row in rows:
        value = row.data.get(column)
        if not value:
            continue
        non_empty += 1
        key = _id_key(normalise(str(value).strip()))
        if key:
            keys.append((key, row.row_number))
    if non_empty < 2 or len(keys) < ID_LIKE_SHARE * non_empty:
        return None
    if len({key for key, _row in keys}) < DISTINCT_SHARE * len(keys):
        return None
    return keys


@dataclass
class _Analysis:
    templates: list[_Template]
    index: _ListIndex


def _analysis(ctx: PreflightContext) -> _Analysis:
    """Built once per context and shared by both checks (the index is O(rows))."""
    cached = ctx.__dict__.get("_message_analysis")
    if cached is None:
        cached = _Analysis(_templates(ctx), _ListIndex.build(ctx))
        ctx.__dict__["_message_analysis"] = cached
    return cached


# --- Check 1: another recipient's data -------------------------------------------------


@dataclass
class _Leak:
    rows: list[int] = field(default_factory=list)
    example: tuple[int, int, str, str] | None = None  # (row, other row, merge field, what was found)

    def add(self, row: int, other: int, column: str, what: str = "") -> None:
        if not self.rows or self.rows[-1] != row:
            self.rows.append(row)
        if self.example is None:
            self.example = (row, other, column, what)


def messages_carry_no_other_recipients_data(ctx: PreflightContext) -> Iterator[Finding]:
    analysis = _analysis(ctx)
    yield from _static_findings(analysis)
    yield from _per_row_findings(ctx, analysis)


def _static_findings(analysis: _Analysis) -> Iterator[Finding]:
    """The static text goes to everyone: list data in it is scanned once, here."""
    index = analysis.index
    address_rows: dict[str, list[int]] = {}
    data_rows: dict[int, str] = {}  # row -> what of it was found
    labels: list[str] = []
    for template in analysis.templates:
        found = False
        for static in template.statics:
            for match in EMAIL.finditer(static):
                address, owners = index.address_owner(match.group())
                if owners:
                    address_rows[address] = owners
                    found = True
            for match in ID_TOKEN.finditer(static):
                for owner in index.id_owners.get(match.group().replace("-", ""), ()):
                    data_rows.setdefault(owner, match.group())
            if index.names:
                for key in index.names.find(static):
                    for owner in index.names.owners[key]:
                        data_rows.setdefault(owner, key)
        if found:
            labels.append(template.label)
    if address_rows:
        rows = [r for owners in address_rows.values() for r in owners]
        yield Finding(
            "message.list_addresses_in_text",
            Severity.BLOCK,
            {"count": len(address_rows), "examples": list(address_rows), "where": labels},
            rows=_capped(rows),
            items=tuple((owner, address) for address, owners in address_rows.items() for owner in owners),
        )
    if data_rows:
        pasted = len(data_rows) >= PASTED_LIST_ROWS
        rows = sorted(data_rows)
        yield Finding(
            "message.list_data_in_text",
            Severity.BLOCK if pasted else Severity.ACKNOWLEDGE,
            {"count": len(rows), "examples": list(dict.fromkeys(data_rows.values())), "pasted": pasted},
            rows=_capped(rows),
            items=tuple((row, data_rows[row]) for row in rows),
        )


def _per_row_findings(ctx: PreflightContext, analysis: _Analysis) -> Iterator[Finding]:
    index = analysis.index
    templates = [t for t in analysis.templates if t.placeholders]
    c = ctx.campaign
    # The name column is the row's own name by construction; ids and addresses hold no names.
    name_columns = sorted(
        {p.name for t in templates for p in t.placeholders}
        - {c.name_column, c.address_column, *index.identifying_columns}
    ) if index.names else []
    addresses, ids, names = _Leak(), _Leak(), _Leak()
    address_owner, id_owners, name_owners = index.address_owner, index.id_owners, index.names.owners
    scan_ids = bool(id_owners)

    # A window that is one merged value and nothing else (the usual case: a value between
    # spaces or punctuation) needs no text built around it: its tokens are the value's.
    isolated, joined = _split_windows(templates)
    for row in ctx.rows:
        number, data = row.row_number, row.data
        try:
            pieces = _isolated_values(isolated, data)
            if joined:
                text, spans = _windows(joined, data)
                pieces.append((text, spans))
        except merge.MergeError:
            continue  # content.merge_fields_are_known reports it; the message cannot be rendered
        for text, spans in pieces:
            if "@" in text or "%40" in text:
                for match in EMAIL.finditer(text):
                    _address, owners = address_owner(match.group())
                    if owners and number not in owners:
                        column = spans if isinstance(spans, str) else _column_at(spans, match.start(), match.end())
                        if column is not None:
                            addresses.add(number, owners[0], column)
            if scan_ids:
                for match in ID_TOKEN.finditer(text):
                    key = match.group().replace("-", "")
                    owners = id_owners.get(key)
                    if owners and number not in owners:
                        column = spans if isinstance(spans, str) else _column_at(spans, match.start(), match.end())
                        if column is not None:
                            ids.add(number, owners[0], column, index.id_column[key])
        for column in name_columns:
            value = data.get(column)
            if not value:
                continue
            for key in index.names.find(normalise(str(value))):
                owners = name_owners[key]
                if number not in owners:
                    names.add(number, owners[0], column)

    for leak, code in ((addresses, "message.other_recipient_address"), (ids, "message.other_recipient_data"),
                       (names, "message.other_recipient_name")):
        if not leak.rows:
            continue
        row, other, column, what = leak.example
        yield Finding(
            code,
            Severity.BLOCK,
            {"count": len(leak.rows), "row": row, "other": other, "column": column, "what": what},
            rows=_capped(leak.rows),
        )


def _split_windows(templates: list[_Template]) -> tuple[list[tuple[merge.Placeholder, str]], list[_Template]]:
    """(placeholder, mode) of every window that is a lone value, and templates left with the other windows."""
    isolated: dict[tuple[str, str], merge.Placeholder] = {}
    joined = []
    for template in templates:
        rest = []
        for window in template.windows:
            if not window.prefix and not window.suffix and len(window.items) == 1:
                placeholder = template.placeholders[window.items[0]]
                isolated.setdefault((placeholder.raw, template.mode), placeholder)
            else:
                rest.append(window)
        if rest:
            joined.append(_Template(template.label, template.mode, template.statics, template.placeholders, rest))
    return [(placeholder, mode) for (_raw, mode), placeholder in isolated.items()], joined


def _isolated_values(isolated: list[tuple[merge.Placeholder, str]], data: dict) -> list[tuple[str, str]]:
    """(normalised value, column) of each lone value, rendered as merge renders it in that part."""
    values = []
    for placeholder, mode in isolated:
        raw = _merged(placeholder, data)
        if mode == "header" and ("\n" in raw or "\r" in raw):
            merge.render_header(placeholder.raw, data)  # raises MergeError, as rendering would
        if mode == "html" and _HTML_SPECIAL.search(raw):
            raw = merge.render(placeholder.raw, data, escape_html=True)
        if raw:
            values.append((normalise(raw), placeholder.name))
    return values


def _windows(templates: list[_Template], data: dict) -> tuple[str, list[tuple[int, int, str]]]:
    """The row's windows joined by newlines, and where each merged value lies in them."""
    parts: list[str] = []
    spans: list[tuple[int, int, str]] = []
    position = 0
    rendered: dict[str, str] = {}  # placeholder -> normalised value, as merge renders it into text
    for template in templates:
        placeholders = template.placeholders
        for window in template.windows:
            parts.append(window.prefix)
            position += len(window.prefix)
            for item in window.items:
                if isinstance(item, str):
                    parts.append(item)
                    position += len(item)
                    continue
                placeholder = placeholders[item]
                value = rendered.get(placeholder.raw)
                if value is None:
                    value = rendered[placeholder.raw] = normalise(_merged(placeholder, data))
                if template.mode == "header" and ("\n" in value or "\r" in value):
                    merge.render_header(placeholder.raw, data)  # raises MergeError, as rendering would
                elif template.mode == "html" and _HTML_SPECIAL.search(value):
                    # Only then does escaping change the value: render it as merge does for HTML.
                    value = normalise(merge.render(placeholder.raw, data, escape_html=True))
                parts.append(value)
                spans.append((position, position + len(value), placeholder.name))
                position += len(value)
            parts.append(window.suffix)
            parts.append("\n")
            position += len(window.suffix) + 1
    return "".join(parts), spans


def _merged(placeholder: merge.Placeholder, data: dict) -> str:
    """What merge.render puts in place of one placeholder (the same rules, without its regex per row)."""
    value = data.get(placeholder.name, _MISSING)
    if value is _MISSING or not merge.FIELD_NAME.match(placeholder.name):
        return merge.render(placeholder.raw, data)  # raises MergeError, with merge's own message
    return str(value) if value is not None else ""


_MISSING = object()


def _column_at(spans: list[tuple[int, int, str]], start: int, end: int) -> str | None:
    """The merge field a token overlaps; None when the token lies in static text only."""
    for span_start, span_end, column in spans:
        if start < span_end and end > span_start:
            return column
    return None


# --- Check 2: personal data patterns ----------------------------------------------------


def personal_data_patterns(ctx: PreflightContext) -> Iterator[Finding]:
    """Phone numbers, My Number-like numbers and many addresses that everyone would receive.

    Kept simple on purpose. In the static text (the same for everyone) any
    phone number, any 12-digit My Number-like number and more than three
    addresses are shown to the reviewer to acknowledge: often it is the
    office's own contact number, but the reviewer must look. In merged values
    of ordinary columns (not the address, name or identifying columns, which
    check 1 covers), a number is expected when it is the recipient's own — a
    value of their row that is just that number, as when {{電話番号}} is merged
    — and reported when it is any other number inside the text.
    """
    analysis = _analysis(ctx)
    yield from _static_patterns(analysis)
    yield from _merged_patterns(ctx, analysis)


def _static_patterns(analysis: _Analysis) -> Iterator[Finding]:
    phones: dict[str, None] = {}
    numbers: dict[str, None] = {}
    addresses: dict[str, None] = {}
    for template in analysis.templates:
        for static in template.statics:
            phones.update(dict.fromkeys(m.group() for m in PHONE.finditer(static)))
            numbers.update(dict.fromkeys(m.group() for m in MY_NUMBER.finditer(static)))
            addresses.update(dict.fromkeys(m.group().replace("%40", "@") for m in EMAIL.finditer(static)))
    if phones:
        yield Finding("message.phone_number", Severity.ACKNOWLEDGE, {"count": len(phones), "examples": list(phones)})
    if numbers:
        yield Finding("message.my_number", Severity.ACKNOWLEDGE, {"count": len(numbers), "examples": list(numbers)})
    if len(addresses) > STATIC_ADDRESS_LIMIT:
        yield Finding("message.many_addresses", Severity.ACKNOWLEDGE,
                      {"count": len(addresses), "examples": list(addresses)})


def _merged_patterns(ctx: PreflightContext, analysis: _Analysis) -> Iterator[Finding]:
    c = ctx.campaign
    index = analysis.index
    used = {p.name for t in analysis.templates for p in t.placeholders}
    columns = sorted(used - {c.address_column, c.name_column, *index.identifying_columns})
    if not columns:
        return
    phone_rows: Counter[str] = Counter()  # column -> how many rows
    number_rows: Counter[str] = Counter()
    rows: list[int] = []
    for row in ctx.rows:
        flagged = False
        own: set[str] | None = None
        for column in columns:
            value = row.data.get(column)
            if not value:
                continue
            text = normalise(str(value))
            for pattern, counter in ((PHONE, phone_rows), (MY_NUMBER, number_rows)):
                for match in pattern.finditer(text):
                    if own is None:
                        own = _own_numbers(row)
                    if _digits(match.group()) not in own:
                        counter[column] += 1
                        flagged = True
                        break
        if flagged:
            rows.append(row.row_number)
    if rows:
        yield Finding(
            "message.personal_data_in_field",
            Severity.ACKNOWLEDGE,
            {"count": len(rows), "columns": sorted(phone_rows | number_rows)},
            rows=_capped(rows),
        )


def _own_numbers(row: Row) -> set[str]:
    """The digits of each of the row's values that is just a phone or My Number-like number."""
    own = set()
    for value in row.data.values():
        if value:
            text = normalise(str(value).strip())
            if PHONE.fullmatch(text) or MY_NUMBER.fullmatch(text):
                own.add(_digits(text))
    return own
