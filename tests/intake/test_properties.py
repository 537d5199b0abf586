"""Property-based tests of intake: whatever bytes arrive, only intake's own error comes out, and soon.

The list reader may raise ``ListError`` and nothing else; the attachment
inspector may raise ``AttachmentRefused`` (empty or too large) and otherwise
returns an ``Inspection``. "Soon" is a watchdog, not a timing: an example that
runs for HANG_SECONDS is a hang (a quadratic step on an input of this size would
need minutes), whatever the machine's load.
"""

import contextlib
import csv
import datetime
import io
import signal
import zipfile

import pytest
from django.utils import translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from approvals.intake.attachments import AttachmentRefused, Inspection, inspect_attachment
from approvals.intake.lists import ListError, RecipientTable, read_recipient_list
from bench import corpus
from tests.samples import make_pdf, xlsx

HANG_SECONDS = 60
MAX_BYTES = 2 * 1024 * 1024
PROPERTIES = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow],
                      derandomize=True)


class Hang(Exception):
    pass


@contextlib.contextmanager
def watchdog(seconds: int = HANG_SECONDS):
    def expire(_signum, _frame):
        raise Hang(f"still running after {seconds} s: not linear in its input")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def read_list(filename: str, data: bytes):
    with watchdog():
        try:
            table = read_recipient_list(filename, data, max_bytes=MAX_BYTES, max_rows=200_000)
        except ListError as error:
            assert str(error)  # a message a person can act on
            return None
    assert isinstance(table, RecipientTable)
    assert all(len(row) == len(table.columns) for row in table.rows)
    return table


def inspect(filename: str, data: bytes):
    with watchdog():
        try:
            result = inspect_attachment(filename, data, max_bytes=MAX_BYTES)
        except AttachmentRefused:
            assert not data or len(data) > MAX_BYTES
            return None
    assert isinstance(result, Inspection)
    assert result.allowed or result.reason
    assert result.text is not None or result.reason
    return result


# --- The list reader --------------------------------------------------------------------------

cells = st.text(alphabet=st.sampled_from(list('ab@.,;\t"\r\n 　髙①㈱ｱ名前メール') + ["\ufffd", "\x00"]), max_size=12)


@PROPERTIES
@given(st.binary(max_size=4000), st.sampled_from(["list.csv", "list.txt", "list.xlsx"]))
def test_any_bytes_give_a_table_or_a_list_error(data, filename):
    read_list(filename, data)


@PROPERTIES
@given(st.lists(st.lists(cells, max_size=8), max_size=30), st.sampled_from(["utf-8", "utf-8-sig", "cp932",
                                                                              "utf-16"]))
def test_any_csv_in_the_encodings_excel_writes_gives_a_table_or_a_list_error(rows, encoding):
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    read_list("list.csv", buffer.getvalue().encode(encoding, errors="ignore"))


@PROPERTIES
@given(st.lists(cells, min_size=1, max_size=20, unique=True), st.lists(st.lists(cells), max_size=20))
def test_cells_come_back_exactly_as_typed(header, body):
    header = [f"c{i}{name.strip()}" for i, name in enumerate(header)]
    rows = [row[:len(header)] for row in body]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows([header, *rows])
    table = read_list("list.csv", buffer.getvalue().encode("utf-8"))
    if table is None:
        return  # refused with a reason (for instance a cell that looks garbled)
    kept = [row for row in rows if any(cell.strip() for cell in row)]
    for row, stored in zip(kept, table.rows, strict=False):
        for column, cell in zip(table.columns, row, strict=False):
            if cell.strip() or stored[column]:
                assert stored[column] == cell


# What a workbook can hold (openpyxl refuses control characters, as Excel does).
excel_text = st.text(alphabet=st.sampled_from(list('ab@.,;"\n 　髙①㈱ｱ名前メール') + ["\ufffd"]), max_size=12)
excel_values = st.one_of(st.none(), st.integers(-10**12, 10**12), st.floats(allow_nan=False, allow_infinity=False),
                         st.booleans(), st.dates(min_value=datetime.date(1900, 3, 1)), excel_text)


@PROPERTIES
@given(st.lists(st.lists(excel_values, max_size=6), max_size=15))
def test_any_workbook_gives_a_table_or_a_list_error(rows):
    read_list("list.xlsx", xlsx([[str(v) if isinstance(v, str) else v for v in row] for row in rows] or [[]]))


WORKBOOK = xlsx([["メール", "氏名"], ["a@example.jp", "山田"]])  # built once: a workbook's bytes carry the time


@PROPERTIES
@given(st.data())
def test_a_damaged_workbook_gives_a_list_error_not_a_crash(data):
    original = bytearray(WORKBOOK)
    for _ in range(data.draw(st.integers(1, 20))):
        position = data.draw(st.integers(0, len(original) - 1))
        original[position] = data.draw(st.integers(0, 255))
    read_list("list.xlsx", bytes(original))


def test_a_header_of_100000_columns_is_refused_with_its_count_after_one_pass():
    header = ",".join(f"column{i}" for i in range(100_000))
    with pytest.raises(ListError, match="100,000 columns; a recipient list may have at most 1,000"):
        read_recipient_list("wide.csv", (header + "\r\n" + "," * 99_999 + "x\r\n").encode(),
                            max_bytes=MAX_BYTES, max_rows=10)


def test_a_header_of_1000_columns_is_read():
    header = ",".join(f"column{i}" for i in range(1_000))
    table = read_list("wide.csv", (header + "\r\n" + "," * 999 + "x\r\n").encode())
    assert len(table.columns) == 1_000


def test_a_header_of_100000_columns_with_duplicates_names_a_few_of_them():
    header = ",".join(f"column{i % 50_000}" for i in range(100_000))
    with pytest.raises(ListError, match="more than once: “column0”") as refused:
        read_recipient_list("wide.csv", (header + "\r\n").encode(), max_bytes=MAX_BYTES, max_rows=10)
    assert len(str(refused.value)) < 1000


def test_one_very_long_line_and_many_short_rows_are_read():
    # A line of 600,000 characters: twenty cells at Excel's limit of one cell are read, one cell is not.
    cells = ",".join(["あ" * 30_000] * 20)
    assert read_list("long.csv", (",".join(f"c{i}" for i in range(20)) + "\r\n" + cells + "\r\n").encode())
    assert read_list("long.csv", ("note\r\n" + "あ" * 600_000 + "\r\n").encode()) is None
    table = read_list("many.csv", b"email\r\n" + b"a@example.jp\r\n" * 120_000)
    assert len(table.rows) == 120_000


# --- The attachment inspectors -----------------------------------------------------------------

EXTENSIONS = ["pdf", "docx", "xlsx", "pptx", "csv", "txt", "png", "zip", "doc", "xls", "html", "exe", ""]


@PROPERTIES
@given(st.binary(max_size=4000), st.sampled_from(EXTENSIONS))
def test_any_bytes_under_any_allowed_name_give_an_inspection(data, extension):
    inspect(f"file.{extension}" if extension else "file", data)


def _samples() -> dict[str, bytes]:
    rows = corpus.clean_members(20, 4)
    files = {name: data for name, data in corpus.hidden_list_files(rows).values()}
    files["flyer.pdf"] = make_pdf("flyer@example.jp")
    files["scripted.pdf"] = corpus.pdf_file(open_action_js=True)
    return files


SAMPLES = _samples()


@PROPERTIES
@given(st.sampled_from(sorted(SAMPLES)), st.data())
def test_damaged_office_pdf_and_zip_files_give_an_inspection_not_a_crash(name, data):
    damaged = bytearray(SAMPLES[name])
    for _ in range(data.draw(st.integers(1, 30))):
        position = data.draw(st.integers(0, len(damaged) - 1))
        damaged[position] = data.draw(st.integers(0, 255))
    inspect(name, bytes(damaged))


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


archives = st.recursive(
    st.binary(max_size=200) | st.sampled_from([b"taro@example.jp", b"MZ\x90\x00", make_pdf("x@example.jp")]),
    lambda inner: st.dictionaries(st.sampled_from(["a.csv", "b.zip", "c.pdf", "d.txt", "e.docx", "f"]), inner,
                                  min_size=1, max_size=3).map(_zip),
    max_leaves=12,
)


@PROPERTIES
@given(archives)
def test_nested_archives_of_any_shape_give_an_inspection_in_bounded_depth(archive):
    result = inspect("files.zip", archive)
    if result is not None and result.allowed and result.text is None:
        assert result.reason


def test_a_zip_nested_a_hundred_deep_stops_at_the_depth_limit():
    nested = b"taro@example.jp"
    for level in range(100):
        nested = _zip({f"level{level}.zip" if level else "list.csv": nested})
    result = inspect("deep.zip", nested)
    assert result.allowed and result.text is None and "nested" in result.reason
