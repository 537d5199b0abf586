"""Reads an uploaded recipient list (CSV or XLSX) into named columns and rows, or says why not.

One reader per format, looked up by extension in ``_READERS``; both feed the
same header/row rules in ``_tabulate``. Whatever cannot be read faithfully
(garbled text, broken quoting, a workbook built to exhaust the server) is a
``ListError`` whose message tells the person what to do. Email syntax is not
checked here.

Every cell is kept exactly as typed (``髙橋 ①郎`` stays ``髙橋 ①郎``, ``㈱みつばち``
stays ``㈱みつばち``, spaces around a value stay): what a person receives is what
was uploaded. Normal forms are for comparing only (blank cells, column names,
guessing the address column); the sendable form of an address is derived at the
moment of use (``approvals.intake.addresses``).

Every step is linear in the size of the file, whatever its shape (100,000
columns, one 50 MB line, a million short rows): no step compares each column or
row with every other.
"""

import codecs
import csv
import hashlib
import io
import re
import unicodedata
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import PurePath
from xml.etree import ElementTree

from charset_normalizer import from_bytes
from django.utils.translation import gettext as _

from . import workbooks
from .confined import WORKBOOK_CPU_SECONDS, WORKBOOK_MEMORY_BYTES, Exceeded, run_confined

__all__ = ["ListError", "RecipientTable", "read_recipient_list"]

# Zip bomb limits, relative to the upload limit so they scale with it.
# Total uncompressed size <= 5 x max_bytes (250 MB by default): what the largest real list
# needs (200,000 rows of 20 columns as openpyxl writes them unpack to 222 MB), and no more.
XLSX_MAX_EXPANSION = 5
XLSX_MAX_RATIO = 100  # no single member may expand more than 100-fold
# The time to read a workbook grows with its XML elements, whatever they are (calamine reads about
# six million a second). A workbook may hold, in all its parts together, half a million for its
# own parts (styles, theme, names) and 50 per row of the row limit: 200,000 rows of 20 columns as
# Excel writes them hold 8.2 million, the limit is 10.5 million. Crafted markup beyond that is
# refused as soon as the count passes it (the count runs while the confined child reads, and
# stops the child). Parts are counted whatever their names, since a reader finds them through
# the workbook's relationships.
XLSX_BASE_ELEMENTS = 500_000
XLSX_ELEMENTS_PER_ROW = 50
# What reading one workbook may add in memory and take in CPU time (intake/confined.py).
XLSX_MEMORY_BYTES = WORKBOOK_MEMORY_BYTES
XLSX_CPU_SECONDS = WORKBOOK_CPU_SECONDS
# A DTD can only appear in the prolog, before the root element; Excel's prolog is
# one line, so a prolog that does not end within this many bytes is refused too.
XML_PROLOG_BYTES = 64 * 1024
# The most bytes a text element of one cell can take: 32,767 characters of up to 10 bytes each
# when written as character references ("&#x1F600;").
TEXT_ELEMENT_BYTES = 10 * 32_767
CONTENT_TYPES_BYTES = 1024 * 1024  # Excel's list of part types is a few kilobytes
EXCEL_MAX_ROWS = 1_048_576
SNIFF_CHARS = 16 * 1024

_DELIMITERS = ",\t;"
# What charset-normalizer may choose from. Single-byte code pages cannot be told
# apart reliably (cp1250 turns Núñez into Núńez), so only cp1252 is offered.
_GUESSABLE = ["euc_jp", "gb18030", "big5", "euc_kr", "cp1252", "utf_16_le", "utf_16_be"]
# Excel's "Unicode text" (.txt) is UTF-16 with a BOM; a UTF-8 BOM comes from "CSV UTF-8".
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))
# Characters nobody types: the replacement character, NUL (UTF-16 read as
# something else), ESC (ISO-2022-JP), C1 controls and the code points Python's
# cp932 gives to bytes that are not characters. Each means a wrong codec.
_UNTYPABLE_CHARACTERS = "\ufffd\x00\x1b\x80-\x9f\uf8f0-\uf8f3"
_UNTYPABLE = re.compile(f"[{_UNTYPABLE_CHARACTERS}]")
# UTF-8 half-width katakana (EF BD xx, EF BE xx) read as CP932: the EF byte is lost
# or becomes "・", the next is ｽ or ｾ, so every other character is ｽ or ｾ.
# (Every alternative of the first repetition starts with a literal character, so the
# regex engine jumps from one ・, ｽ or ｾ to the next instead of trying every position.)
_HALFWIDTH_AS_CP932 = re.compile("(?:・[ｽｾ]|ｽ|ｾ)[^\x00-\x7f](?:・?[ｽｾ][^\x00-\x7f]){2,}")
# Excel's round trip of UTF-8 opened as CP932: each unreadable byte is shown as
# "・" (81 45) and saved as such, which makes the file valid UTF-8 again, with a
# character ending in byte 0x81 followed by "E" wherever that happened
# (山田太郎 -> 山田太郁E, ありがとう -> ありがとぁE). An "E" that starts a word of Latin
# letters is a word (商品EC, 食品EXPO, ランチEV), not a ghost: about one ghost in a hundred is
# followed by a letter. The patterns find each "E" first and then look at the character before
# it: in Japanese text that is 30 times faster than trying every Japanese character.
_JAPANESE_RANGES = "\u3000-\u30ff\u4e00-\u9fff\uff00-\uffef"
_BEFORE_E = re.compile(f"E(?![A-Za-z])(?<=[{_JAPANESE_RANGES}]E)")
# Of those, the characters whose UTF-8 ends in byte 0x81 (low six bits 000001), but for 、 and ！,
# which precede an E in real text ("電話、Eメール").
_GHOST_CHARACTERS = "".join(
    chr(code) for start, end in ((0x3000, 0x30FF), (0x4E00, 0x9FFF), (0xFF00, 0xFFEF))
    for code in range(start, end + 1) if code & 0x3F == 1 and chr(code) not in "、！")
_GHOST_BEFORE_E = re.compile(f"E(?![A-Za-z])(?<=[{_GHOST_CHARACTERS}]E)")
_JAPANESE = re.compile(f"[{_JAPANESE_RANGES}]")
_NON_ASCII = re.compile("[^\x00-\x7f\ufffd]")
# Byte value of each character a Latin-1 or cp1252 decoder can produce from 0x80-0xFF
# (cp1252 leaves 0x81, 0x8D, 0x8F, 0x90 and 0x9D undefined: "ignore" drops them).
_LATIN_BYTE = {chr(b): b for b in range(0x80, 0x100)} | {
    char: b for b in range(0x80, 0xA0) if (char := bytes([b]).decode("cp1252", "ignore"))
}
_LATIN_RUN = re.compile("[" + re.escape("".join(_LATIN_BYTE)) + "]+")
# A UTF-8 sequence of two or more bytes starts with a byte C2-F4, which Latin-1 and
# cp1252 both show as U+00C2-U+00F4: text without one cannot be UTF-8 read as Latin.
_LATIN_LEADS = "\u00c2-\u00f4"
_LATIN_LEAD = re.compile(f"[{_LATIN_LEADS}]")
_UNTYPABLE_OR_LATIN_LEAD = re.compile(f"[{_UNTYPABLE_CHARACTERS}{_LATIN_LEADS}]")
_CELL_SEPARATOR = "\x00"
# Parts that hold cell text (shared strings, inline strings in sheets; not DrawingML, whose text
# keeps its spaces), and in them the text of a rich-text run (after <r> or </rPr>, any namespace
# prefix) not marked xml:space="preserve" that starts or ends with white space, written as such
# or as a character reference. A whole cell's text is trimmed by Excel too; a run's is not. The
# end is found in the reversed bytes, where "</t></r>" comes first: searching for a fixed start is
# fast, and only runs that end in white space are read back to their start tag.
_CELL_TEXT_PART = re.compile(r"sharedstrings|worksheets/")
_WHITE = rb"[ \t\r\n]"
_UNMARKED_LEADING_SPACE = re.compile(  # after <r>, <r >, </rPr>, <rPr/>, with white space between tags
    rb"(?:r|rPr" + _WHITE + rb"*/)" + _WHITE + rb"*>" + _WHITE + rb"*<(?:[\w.-]+:)?t(?:\s(?![^>]*preserve)[^>]*)?>"
    rb"(?:[ \t\r\n]|&#(?:[xX]0*(?:9|[aAdD]|20)|0*(?:9|1[03]|32));)")
_UNMARKED_TRAILING_SPACE_REVERSED = re.compile(  # "</t></r>" reversed, then the text back to its start tag
    rb">" + _WHITE + rb"*r(?::[\w.-]+)?/<" + _WHITE + rb"*>" + _WHITE + rb"*t(?::[\w.-]+)?/<"
    rb"(?:[ \t\r\n]|;(?:02|[9aAdD])0*[xX]#&|;(?:23|31|01|9)0*#&)"
    rb"[^<>]*>(?:(?![^<>]*evreserp)[^<>]*[ \t\r\n])?t(?::[\w.-]+)?<")
_SPREADSHEETML_MAIN = ("spreadsheetml.sheet.main+xml", "spreadsheetml.template.main+xml")
_CONTENT_TYPES_NAMESPACE = "http://schemas.openxmlformats.org/package/2006/content-types"
# What an OpenDocument spreadsheet (its media type and manifest) or a binary workbook holds.
_OTHER_FORMATS = {"mimetype", "META-INF/manifest.xml", "content.xml", "xl/workbook.bin"}
_PROLOG_ITEM = re.compile(rb"\s*(?:<\?.*?\?>|<!--.*?-->)", re.DOTALL)
_UTF16_XML = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, b"<\x00", b"\x00<")
# What the csv module says when a cell passes csv.field_size_limit (its wording since Python 2).
_FIELD_LIMIT = re.compile(r"field larger than field limit")

_ADDRESS_NAME = re.compile(r"mail|メール|アドレス")
_NAME_EXACT = re.compile(r"(?:お?名前|氏名|宛名|姓名|フルネーム|(?:full|display)?[ _-]?name)")
_NAME_LOOSE = re.compile(r"名前|氏名|宛名|name")
# Readings and company names are names too, but not the one to greet someone by.
_NOT_A_PERSON = re.compile(r"カナ|かな|フリガナ|ふりがな|読み|よみ|kana|会社|company|mail|メール")


class ListError(ValueError):
    """A recipient list that cannot be used; str() is a translated message saying what to change."""


@dataclass
class RecipientTable:
    columns: list[str]
    rows: list[dict[str, str]]
    # The codec a CSV was decoded with ("utf-8-sig", "utf-8", "cp932", ...), or
    # "xlsx" for workbooks, which carry their own encoding.
    encoding: str
    sha256: str  # of the uploaded bytes, exactly as received
    # Each row's number as Excel shows it (header = row 1); blank rows are
    # skipped, so this is not always index + 2.
    row_numbers: list[int] = field(default_factory=list)

    def guess_address_column(self) -> str | None:
        """The column most likely to hold the addresses: by name first, then by content."""
        for column in self.columns:
            if _ADDRESS_NAME.search(_normalise(column).casefold()):
                return column
        for column in self.columns:
            values = [row[column] for row in self.rows[:1000] if row[column].strip()]
            if values and sum("@" in _normalise(value) for value in values) * 2 > len(values):
                return column
        return None

    def guess_name_column(self) -> str | None:
        """The column most likely to hold the name to address people by."""
        names = [_normalise(column).casefold() for column in self.columns]
        for column, name in zip(self.columns, names, strict=True):
            if _NAME_EXACT.fullmatch(name):
                return column
        for column, name in zip(self.columns, names, strict=True):
            if _NAME_LOOSE.search(name) and not _NOT_A_PERSON.search(name):
                return column
        return None


def read_recipient_list(
    filename: str, data: bytes, *, max_bytes: int, max_rows: int
) -> RecipientTable:
    """Read an uploaded .csv, .txt or .xlsx list; raises ListError for anything unusable.

    A list with a header and no rows is returned as is: the caller decides.
    """
    if not data:
        raise ListError(_("The file is empty."))
    if len(data) > max_bytes:
        raise ListError(
            _("The file is larger than the limit of %(limit)s MB.")
            % {"limit": _megabytes(max_bytes)}
        )
    reader = _READERS.get(PurePath(filename).suffix.lower())
    if reader is None:
        raise ListError(
            _("“%(name)s” cannot be read as a recipient list. Upload a CSV file (.csv or "
              ".txt) or an Excel workbook (.xlsx).") % {"name": filename}
        )
    columns, rows, row_numbers, encoding = reader(data, max_bytes, max_rows)
    return RecipientTable(columns, rows, encoding, hashlib.sha256(data).hexdigest(), row_numbers)


# --- Rules shared by all formats ------------------------------------------------

# A header wider than this is refused: far more than any member list has (Excel allows 16,384).
MAX_COLUMNS = 1_000
# Every row is kept with every column, empty or not: rows x columns may be at most 50 per row of
# the row limit (10 million cells for 200,000 rows; at least a million). Without it, a few hundred
# kilobytes of empty cells under a header of 1,000 columns became gigabytes of rows.
CELLS_PER_ROW_OF_THE_LIMIT = 50
MIN_CELLS = 1_000_000
# Excel's own limit for one cell. A longer value cannot have been saved from a spreadsheet as it
# is, and no merge field needs one: it is refused before anything else reads it.
MAX_CELL_CHARS = 32_767

_Tabulated = tuple[list[str], list[dict[str, str]], list[int], str]


def _tabulate(
    records: Iterable[list[str]], max_rows: int
) -> tuple[list[str], list[dict[str, str]], list[int]]:
    """Header, row dicts and Excel row numbers from raw rows (one per spreadsheet row)."""
    numbered = ((number, _clean(_within_cell_limit(cells, number))) for number, cells in enumerate(records, start=1))
    columns = next((_header([_normalise(cell) for cell in cells]) for _number, cells in numbered if cells), None)
    if columns is None:
        raise ListError(
            _("The file has no header row. The first row must name the columns, "
              "for example “email” and “name”.")
        )
    rows, row_numbers, count = [], [], 0
    most_rows_by_cells = max(MIN_CELLS, CELLS_PER_ROW_OF_THE_LIMIT * max_rows) // len(columns)
    for number, cells in numbered:
        if not cells:
            continue  # blank rows separate blocks in spreadsheets; they are nobody
        count += 1
        if count <= max_rows:  # past the limit, only count, so the message can say how many
            if count > most_rows_by_cells:
                raise ListError(_too_many_cells_message(number, len(columns), most_rows_by_cells * len(columns)))
            rows.append(_row(columns, cells, number))
            row_numbers.append(number)
    if count > max_rows:
        raise ListError(
            _("The list has %(count)d rows, more than the limit of %(limit)d rows.")
            % {"count": count, "limit": max_rows}
        )
    return columns, rows, row_numbers


def _too_many_cells_message(row: int, columns: int, limit: int) -> str:
    return _(
        "With its %(columns)s columns, the list passes %(limit)s cells at row %(row)d. Delete the columns "
        "the message does not need, or split the list."
    ) % {"columns": f"{columns:,}", "limit": f"{limit:,}", "row": row}


def _within_cell_limit(cells: list[str], number: int) -> list[str]:
    if cells and max(map(len, cells)) > MAX_CELL_CHARS:
        index = next(index for index, cell in enumerate(cells, start=1) if len(cell) > MAX_CELL_CHARS)
        raise ListError(_cell_too_long_message(number, _column_letter(index)))
    return cells


def _column_letter(number: int) -> str:
    """Excel's name of the column at 1-based ``number``: 1 is A, 27 is AA."""
    letters = ""
    while number:
        number, remainder = divmod(number - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def _cell_too_long_message(row: int, column: str = "") -> str:
    where = (_("Row %(row)d, column %(column)s") % {"row": row, "column": column} if column
             else _("Row %(row)d") % {"row": row})
    return _(
        "%(where)s holds a value longer than a spreadsheet cell can hold (%(limit)s characters). This is "
        "not a recipient list as Excel saves it: check that you chose the right file, or shorten the value."
    ) % {"where": where, "limit": f"{MAX_CELL_CHARS:,}"}


def _normalise(value: str) -> str:
    # For comparing only: NFKC turns what Japanese IMEs produce (full-width ＠ and
    # letters, the ideographic space) into the ASCII that comparisons need.
    return unicodedata.normalize("NFKC", value).strip()


def _clean(cells: list[str]) -> list[str]:
    """The row's cells as typed, without the blank ones at its end."""
    # Excel writes separators (or keeps cells) for columns that were only
    # formatted; blank trailing cells carry nothing, so they are not "extra".
    end = len(cells)
    while end and not _normalise(cells[end - 1]):
        end -= 1
    return cells[:end] if end < len(cells) else cells


def _header(cells: list[str]) -> list[str]:
    for number, name in enumerate(cells, start=1):
        if not name:
            raise ListError(
                _("Column %(number)d of the header row has no name. Give every column a "
                  "name, or delete the empty column.") % {"number": number}
            )
    # Counted once each (a header of 100,000 columns must not cost 100,000² comparisons).
    duplicates = sorted(name for name, count in Counter(cells).items() if count > 1)
    if duplicates:
        shown = ", ".join(f"“{name}”" for name in duplicates[:10]) + (" …" if len(duplicates) > 10 else "")
        raise ListError(
            _("The header row names these columns more than once: %(names)s. Column names "
              "must be unique.") % {"names": shown}
        )
    if len(cells) > MAX_COLUMNS:
        # Nobody reviews a message against thousands of columns, and every page would list them.
        raise ListError(
            _("The list has %(count)s columns; a recipient list may have at most %(limit)s. Delete the "
              "columns the message does not need and upload it again.")
            % {"count": f"{len(cells):,}", "limit": f"{MAX_COLUMNS:,}"}
        )
    return cells


def _row(columns: list[str], cells: list[str], number: int) -> dict[str, str]:
    if len(cells) > len(columns):
        raise ListError(
            _("Row %(row)d has %(count)d values, but the header row names only %(columns)d "
              "columns.") % {"row": number, "count": len(cells), "columns": len(columns)}
        )
    return dict(zip(columns, cells + [""] * (len(columns) - len(cells)), strict=True))


def _megabytes(size: int) -> str:
    return f"{size / 1_048_576:,.1f}".removesuffix(".0")


# --- CSV ------------------------------------------------------------------------


def _read_csv(data: bytes, max_bytes: int, max_rows: int) -> _Tabulated:
    text, encoding = _decode_known(data) or _decode_guessed(data)
    # The table first: its checks (cell length, row count, header) are cheap and refuse the
    # absurd files at once, before the mojibake scan reads every line of the text.
    table = _tabulate(_csv_records(text), max_rows)
    if _looks_garbled(text):
        raise ListError(_encoding_message())
    return (*table, encoding)


def _decode_known(data: bytes) -> tuple[str, str] | None:
    """Text in one of the encodings Excel writes, tried strictly so a wrong guess fails."""
    codec = _announced_codec(data)
    if codec:
        try:
            return data.decode(codec), codec
        except UnicodeDecodeError:
            raise ListError(_encoding_message()) from None
    # UTF-8 first: CP932 bytes are almost never valid UTF-8, the reverse is common.
    # cp932, not shift_jis: Excel writes NEC/IBM extensions such as 髙, 﨑 and ①.
    for codec in ("utf-8", "cp932"):
        try:
            return data.decode(codec), codec
        except UnicodeDecodeError:
            continue
    return None


def _announced_codec(data: bytes) -> str | None:
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return codec
    if b"\x1b" in data and (b"\x1b$B" in data or b"\x1b$@" in data):
        return "iso2022_jp"  # JIS is 7-bit, so it would pass as UTF-8 with escapes in it
    return None


def _decode_guessed(data: bytes) -> tuple[str, str]:
    best = from_bytes(data, cp_isolation=_GUESSABLE).best()
    if best is None:
        raise ListError(_encoding_message())
    return str(best), best.encoding


def _looks_garbled(text: str) -> bool:
    """True for mojibake: text decoded with the wrong codec, even if saved again since."""
    if "\x00" in text or "\x1b" in text:
        return True  # the only untypable characters that are ASCII
    # Every other sign is non-ASCII and none spans a line break: only lines with a
    # non-ASCII character are read (a list of addresses is mostly ASCII).
    foreign = "\n".join(line for line in text.split("\n") if not line.isascii())
    # One scan of the text for both classes (most text has neither), each class apart only if it found one.
    either = _UNTYPABLE_OR_LATIN_LEAD.search(foreign) is not None
    if either and _UNTYPABLE.search(foreign):
        return True
    if ("ｽ" in foreign or "ｾ" in foreign) and _HALFWIDTH_AS_CP932.search(foreign):  # the pattern needs one
        return True
    if _ghost_dots(foreign):
        return True
    # Line by line, so rows pasted in from a differently encoded file are caught too.
    may_be_latin = either and _LATIN_LEAD.search(foreign) is not None
    return any(_line_looks_garbled(line, may_be_latin) for line in foreign.splitlines() if not line.isascii())


def _line_looks_garbled(line: str, may_be_latin: bool = True) -> bool:
    # UTF-8 read as CP932 (縺ゅｊ…) or as Latin-1/cp1252 (ã‚ã‚Š…) turns back into
    # readable UTF-8 when re-encoded with that codec; real text turns into errors.
    if _reads_as_utf8(line.encode("cp932", errors="replace"), _JAPANESE):
        return True
    if not may_be_latin:
        return False
    as_latin = b"?".join(bytes(_LATIN_BYTE[ch] for ch in run) for run in _LATIN_RUN.findall(line))
    return _reads_as_utf8(as_latin, _NON_ASCII)


def _ghost_dots(text: str) -> bool:
    """True if on some line most characters before an "E" end in byte 0x81, as Excel's round trip leaves them.

    Line by line (one line is one row of a list): in a whole list, a garbled name would be outvoted
    by real words such as 本館E棟 in other rows. The regex engine counts; Python only visits lines
    with an "E", and none at all when no character before an "E" could be a ghost.
    """
    if not _GHOST_BEFORE_E.search(text):
        return False
    for line in text.split("\n"):
        if "E" in line:
            ghosts = len(_GHOST_BEFORE_E.findall(line))
            # Most of them: a character ending in 0x81 is no likelier before an "E" than any other.
            if ghosts and ghosts * 2 > len(_BEFORE_E.findall(line)):
                return True
    return False


def _reads_as_utf8(raw: bytes, meaningful: re.Pattern[str]) -> bool:
    decoded = raw.decode("utf-8", errors="replace")
    errors = decoded.count("\ufffd")
    if len(decoded) - errors <= errors:
        return False  # real text: mostly errors, so too few characters left to outnumber them
    recovered = len(meaningful.findall(decoded))
    return recovered >= 2 and recovered > errors


def _encoding_message() -> str:
    return _(
        "The file's character encoding could not be recognised, so its text would be "
        "garbled. In Excel, save it as “CSV UTF-8” or “CSV (Shift-JIS)” and upload it again."
    )


def _csv_records(text: str) -> Iterator[list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text), strict=True)
    number = 0
    while True:
        batch, error = _next_records(reader)
        for cells in batch:  # the rows before a broken one first: an earlier row's problem is reported first
            number += 1
            yield cells
        if error is not None:
            raise _csv_error_message(error, number + 1) from error
        if len(batch) < CSV_ROWS_PER_READ:
            return


# Rows read under one setting of the csv module's cell limit (setting it for every row of 200,000
# took as long as reading them).
CSV_ROWS_PER_READ = 1_000


def _next_records(reader) -> tuple[list[list[str]], csv.Error | None]:
    """Up to CSV_ROWS_PER_READ rows, and the error that stopped the reading early, if one did."""
    batch: list[list[str]] = []
    # The csv module stops at the first cell longer than a spreadsheet's, before reading the rest
    # of it. Its limit is global to the process: set for these rows only, then put back.
    with _csv_field_limit(MAX_CELL_CHARS):
        try:
            for cells in reader:
                batch.append(cells)
                if len(batch) == CSV_ROWS_PER_READ:
                    break
        except csv.Error as exc:
            return batch, exc
    return batch, None


def _csv_error_message(error: csv.Error, row: int) -> ListError:
    if _FIELD_LIMIT.match(str(error)):
        return ListError(_cell_too_long_message(row))
    # strict: an unclosed quote would otherwise swallow the rest of the file
    # into one cell and silently drop every row after it.
    return ListError(
        _("Row %(row)d is not valid CSV. Check its quotation marks: a quotation mark "
          "that is never closed joins all following rows into one cell.")
        % {"row": row}
    )


@contextmanager
def _csv_field_limit(limit: int) -> Iterator[None]:
    previous = csv.field_size_limit(limit)
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def _delimiter(text: str) -> str:
    try:
        delimiter = csv.Sniffer().sniff(text[:SNIFF_CHARS], delimiters=_DELIMITERS).delimiter
    except csv.Error:
        return ","  # one column, or too little text to tell: comma is what Excel writes
    return delimiter if delimiter in _DELIMITERS else ","


# --- XLSX -----------------------------------------------------------------------


def _read_xlsx(data: bytes, max_bytes: int, max_rows: int) -> _Tabulated:
    # The archive is checked here while the child reads it: calamine expands no entities and the
    # child has its ceilings, so nothing needs the check first, and the upload waits for the longer
    # of the two instead of both. A refusal by the check stops the child.
    try:
        columns, cells, row_numbers = run_confined(
            _workbook_table, data, max_bytes, max_rows,
            memory_bytes=XLSX_MEMORY_BYTES, cpu_seconds=XLSX_CPU_SECONDS, keep=ListError,
            meanwhile=lambda: _check_archive(data, max_bytes, max_rows))
    except Exceeded:
        raise ListError(_too_demanding_message()) from None
    return columns, _rows_of(columns, cells, len(row_numbers)), row_numbers, "xlsx"


def _workbook_table(data: bytes, max_bytes: int, max_rows: int) -> tuple[list[str], str, list[int]]:
    """The first worksheet as a table: run in a child process with a memory and a CPU ceiling.

    The table is made here, so that only what a list may hold reaches the web process (not, say,
    a million empty rows between two distant cells). Its cells travel back as one string, separated
    by NUL, which no cell holds (the mojibake check refuses it): a list of millions of separate
    strings took longer to pass between the processes than calamine took to read them.
    """
    try:
        sheets = workbooks.worksheets(data, first_only=True)
    except workbooks.BrokenWorkbook as exc:
        raise ListError(_invalid_xlsx_message()) from exc
    if not sheets:
        raise ListError(_invalid_xlsx_message())  # chart sheets only
    columns, rows, row_numbers = _tabulate(_xlsx_records(sheets[0], max_bytes), max_rows)
    return columns, _CELL_SEPARATOR.join(row[column] for row in rows for column in columns), row_numbers


def _rows_of(columns: list[str], cells: str, count: int) -> list[dict[str, str]]:
    values = cells.split(_CELL_SEPARATOR) if count else []
    width = len(columns)
    if len(values) != width * count:
        raise RuntimeError(f"{len(values)} cells came back from the workbook's {count} rows of {width} columns")
    return [dict(zip(columns, values[start:start + width], strict=True)) for start in range(0, len(values), width)]


def _check_archive(data: bytes, max_bytes: int, max_rows: int) -> None:
    """Refuse zip bombs, XML with a DTD, crafted markup and unmarked white space in rich text."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
        # NotImplementedError: a zip feature Python does not read (a newer version, another method).
        raise ListError(_invalid_xlsx_message()) from exc
    with archive:
        members = archive.infolist()
        # Declared sizes can be trusted: zipfile never returns more than file_size.
        if sum(member.file_size for member in members) > XLSX_MAX_EXPANSION * max_bytes:
            raise ListError(
                _("The workbook would unpack to more than %(limit)s MB, far more than a "
                  "recipient list needs, so it was not opened.")
                % {"limit": _megabytes(XLSX_MAX_EXPANSION * max_bytes)}
            )
        elements, most = 0, XLSX_BASE_ELEMENTS + XLSX_ELEMENTS_PER_ROW * (max_rows + 1)
        for member in members:
            if member.file_size > XLSX_MAX_RATIO * max(member.compress_size, 1):
                raise ListError(_unsafe_xlsx_message(member.filename))
            if _declares_dtd(archive, member):
                raise ListError(_unsafe_xlsx_message(member.filename))
            part_elements, unmarked_space = _elements_in(archive, member, most - elements)
            elements += part_elements
            if elements > most:
                raise ListError(_too_many_elements_message(most))
            if unmarked_space:
                raise ListError(_unmarked_space_message())
        if not _is_spreadsheetml(archive):
            # calamine would read an OpenDocument or a binary (.xlsb) workbook too, whose time
            # the element count above does not bound.
            raise ListError(_invalid_xlsx_message())


def _is_spreadsheetml(archive: zipfile.ZipFile) -> bool:
    """True if the package holds /xl/workbook.xml, its list of part types gives that part the type of
    an Excel workbook in XML (.xlsx, or a template), and it holds no part of another format. Run
    after the DTD check of every part."""
    parts = set(archive.namelist())
    if parts & _OTHER_FORMATS:
        return False  # calamine falls back to them when the workbook part does not read
    try:
        with archive.open("[Content_Types].xml") as stream:
            types = ElementTree.fromstring(stream.read(CONTENT_TYPES_BYTES))
    except (KeyError, zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError, EOFError,
            ElementTree.ParseError, ValueError, LookupError):  # an encoding that is no text codec
        return False
    return "xl/workbook.xml" in parts and any(
        override.get("PartName") == "/xl/workbook.xml" and override.get("ContentType", "").endswith(_SPREADSHEETML_MAIN)
        for override in types.iter(f"{{{_CONTENT_TYPES_NAMESPACE}}}Override"))


def _declares_dtd(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> bool:
    """True if an XML part has a DOCTYPE (entity expansion: "billion laughs")."""
    try:
        with archive.open(member) as stream:
            head = stream.read(XML_PROLOG_BYTES)
    except (zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError, EOFError) as exc:
        raise ListError(_invalid_xlsx_message()) from exc
    name = member.filename.lower()
    if name.endswith((".xml", ".rels", ".vml")) and head.startswith(_UTF16_XML):
        return True  # Excel writes UTF-8; a UTF-16 part could hide its DOCTYPE from us
    # Skip the XML declaration, processing instructions and comments; the next
    # markup is the root element, unless it is a declaration ("<!DOCTYPE", "<!ENTITY")
    # or a comment too long to end within the bytes read.
    position = len(codecs.BOM_UTF8) if head.startswith(codecs.BOM_UTF8) else 0
    while match := _PROLOG_ITEM.match(head, position):
        position = match.end()
    # "<?" here is a processing instruction that does not end within the bytes read: it could hide
    # a DOCTYPE after it, and Excel never writes one that long.
    return head[position:].lstrip().startswith((b"<!", b"<?"))


def _elements_in(archive: zipfile.ZipFile, member: zipfile.ZipInfo, most: int) -> tuple[int, bool]:
    """How many XML elements a part holds (its start tags, counted in the bytes as they unpack), and
    whether the text of a rich-text run in it starts or ends with a space, tab or line break that
    nothing marks to be kept. Stops reading once there are more than ``most`` elements.

    Excel marks such text xml:space="preserve"; without the mark, calamine drops the space, and
    a name stored in two runs, "山田" and " 太郎", would reach people as 山田太郎.
    """
    count, previous, unmarked = 0, b"", False
    holds_cell_text = _CELL_TEXT_PART.search(member.filename.lower()) is not None
    try:
        with archive.open(member) as stream:
            while chunk := stream.read(1 << 20):
                count += chunk.count(b"<") - chunk.count(b"</")
                if previous.endswith(b"<") and chunk.startswith(b"/"):
                    count -= 1  # an end tag split between two chunks
                if holds_cell_text and not unmarked:
                    # With the end of the chunk before: a text may begin there (as long as a cell
                    # may be, written with character references).
                    window = previous[-TEXT_ELEMENT_BYTES:] + chunk
                    unmarked = bool(_UNMARKED_LEADING_SPACE.search(window)
                                    or _UNMARKED_TRAILING_SPACE_REVERSED.search(window[::-1]))
                if count - chunk.endswith(b"<") > most:  # (a last "<" may begin an end tag)
                    break  # the caller refuses the workbook: no need to unpack the rest
                previous = chunk
    except (zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError, EOFError) as exc:
        raise ListError(_invalid_xlsx_message()) from exc
    return count, unmarked


def _xlsx_records(values: workbooks.Cells, max_bytes: int) -> list[list[str]]:
    """Each row's cells as text, once the workbook's text has passed the size limit and the mojibake check."""
    if len(values) > EXCEL_MAX_ROWS:
        raise ListError(_invalid_xlsx_message())  # a forged row number: Excel has no such row
    records, lines, text_size = [], [], 0
    for number, row in enumerate(values, start=1):
        try:
            line = "\t".join(row)  # most rows hold text only: joined at C speed
            cells = row
        except TypeError:  # a number, a date or a truth value
            cells = [workbooks.cell_text(value) for value in row]
            line = "\t".join(cells)
        # A shared string is stored once and may fill any number of cells: a workbook of a
        # few kilobytes can hold gigabytes of text. Its text may be as large as a CSV may be.
        text_size += len(line) if line.isascii() else len(line.encode())
        if text_size > max_bytes:
            raise ListError(_too_much_text_message(number, max_bytes))
        records.append(cells)
        lines.append(line)
    # A garbled CSV opened in Excel and saved as a workbook keeps its mojibake. The text is scanned
    # as a whole, as a CSV's is (one scan instead of one per row); the row is looked for only then.
    # Every sign of mojibake lies within one line, so some row shows it on its own (a test says so).
    if _looks_garbled("\n".join(lines)):
        number = next(number for number, line in enumerate(lines, start=1) if _looks_garbled(line))
        raise ListError(_garbled_row_message(number))
    return records


def _too_much_text_message(row: int, max_bytes: int) -> str:
    return _(
        "By row %(row)d the workbook already holds more text than the limit for a list "
        "(%(limit)s MB, as a CSV file). Check that you chose the right file, or split the list."
    ) % {"row": row, "limit": _megabytes(max_bytes)}


def _too_many_elements_message(limit: int) -> str:
    return _(
        "The workbook is too large to read here: it holds more than %(limit)s entries. In Excel, "
        "save it as “CSV UTF-8” and upload that file instead; CSV is read much faster."
    ) % {"limit": f"{limit:,}"}


def _too_demanding_message() -> str:
    return _(
        "The workbook could not be read within the memory and time the server gives one upload. "
        "In Excel, save it as “CSV UTF-8” and upload that file instead."
    )


def _invalid_xlsx_message() -> str:
    return _(
        "The file is not a valid Excel workbook (.xlsx). Open it in Excel and save it as "
        "“Excel Workbook”; if it is password-protected, remove the password first."
    )


def _garbled_row_message(number: int) -> str:
    return _(
        "Row %(row)d contains garbled text, as when a CSV file is opened in Excel with the "
        "wrong encoding. Correct the text, or upload the original CSV file instead."
    ) % {"row": number}


def _unmarked_space_message() -> str:
    return _(
        "Some text in the workbook starts or ends with a space or a line break that the file does not "
        "mark to be kept, so programs read it differently (Excel drops it; a name stored in two parts "
        "would lose the space between them). The workbook was probably written by a program other "
        "than Excel: open it in Excel and save it again, or upload it as CSV."
    )


def _unsafe_xlsx_message(part: str) -> str:
    return _(
        "The workbook was not opened: its part “%(part)s” is built in a way Excel never "
        "writes and that can exhaust the server. Save it again from Excel, or upload it "
        "as CSV."
    ) % {"part": part}


_READERS: dict[str, Callable[[bytes, int, int], _Tabulated]] = {
    ".csv": _read_csv,
    ".txt": _read_csv,
    ".xlsx": _read_xlsx,
}
