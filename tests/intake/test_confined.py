"""Workbooks are read in a child process with a memory and a CPU ceiling (approvals/intake/confined.py)."""

import io
import os
import random
import resource
import signal
import zipfile

import pytest
from django.utils import translation

from approvals.intake import lists
from approvals.intake.confined import Exceeded, run_confined
from approvals.intake.lists import ListError, read_recipient_list
from tests.samples import rewrite_member, xlsx, xlsx_sharing

MB = 1024 * 1024


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


class Refused(Exception):
    pass


def give(value):
    return value


def refuse(message):
    raise Refused(message)


def fail():
    raise KeyError("a bug")


def die():
    os.kill(os.getpid(), signal.SIGKILL)


def grow():
    hoard = []
    while True:
        hoard.append(bytearray(16 * MB))


def spin():
    while True:
        pass


def half_an_answer():
    """Write the start of an answer on the pipe to the parent, then die: as a kill in mid-send would."""
    import gc
    import struct
    from multiprocessing.connection import Connection

    pipe = next(o for o in gc.get_objects() if isinstance(o, Connection) and o.writable and not o.closed)
    os.write(pipe.fileno(), struct.pack("!i", 1000) + b"x" * 100)
    os.kill(os.getpid(), signal.SIGKILL)


def test_the_child_gives_back_its_result_or_the_exception_the_caller_keeps():
    table = (["email"], [{"email": "山田@example.jp"}], [2], "utf-8")
    assert run_confined(give, table, memory_bytes=256 * MB, cpu_seconds=10, keep=Refused) == table
    with pytest.raises(Refused, match="^the reason$"):
        run_confined(refuse, "the reason", memory_bytes=256 * MB, cpu_seconds=10, keep=Refused)
    with pytest.raises(RuntimeError, match="KeyError"):
        run_confined(fail, memory_bytes=256 * MB, cpu_seconds=10, keep=Refused)


@pytest.mark.parametrize("function", [die, grow, spin, half_an_answer],
                         ids=["killed", "out-of-memory", "out-of-cpu", "killed-while-answering"])
def test_a_child_that_dies_or_passes_a_ceiling_is_reported_and_the_parent_is_unharmed(function):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(Exceeded):
        run_confined(function, memory_bytes=128 * MB, cpu_seconds=1, keep=Refused)
    # The parent's own peak memory did not take on what the child hoarded.
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 64 * 1024  # KiB


def one_string_in_every_row(rows: int, length: int = 32_000) -> bytes:
    """A small workbook whose one shared string fills a cell of every row: the reader copies it into each."""
    rng = random.Random(3)
    note = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(length))  # does not compress far
    return xlsx_sharing([["email", "note"], *([f"m{n}@example.jp", 0] for n in range(rows))], [note])


def corners(column: str, row: int) -> bytes:
    """A workbook with A1 and one more cell: the reader builds the whole rectangle between them."""
    book = xlsx([["email"], ["a@example.jp"]])
    last = f'<row r="{row}"><c r="{column}{row}"><v>1</v></c></row></sheetData>'.encode()
    return rewrite_member(book, "xl/worksheets/sheet1.xml", lambda sheet: sheet.replace(b"</sheetData>", last))


def markup(elements: int) -> bytes:
    """A one-row workbook followed by empty elements that the reader has to go through."""
    rng = random.Random(5)
    block = "".join(f'<x a="{rng.randrange(100)}"/>' for _ in range(100_000)).encode()  # too random to compress far
    filler = block * (elements // 100_000)
    book = xlsx([["email"], ["a@example.jp"]])
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(book)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED,
                                                                     compresslevel=1) as target:
        for name in source.namelist():
            part = source.read(name)
            target.writestr(name, part.replace(b"</sheetData>", b"</sheetData>" + filler) if "sheet1" in name else part)
    return out.getvalue()


def test_a_workbook_whose_one_string_would_fill_the_memory_is_refused_not_read(monkeypatch):
    monkeypatch.setattr(lists, "XLSX_MEMORY_BYTES", 200 * MB)
    data = one_string_in_every_row(20_000)  # 640 MB of text from a workbook of kilobytes
    assert len(data) < MB
    with pytest.raises(ListError) as refused:
        read_recipient_list("notes.xlsx", data, max_bytes=8 * MB, max_rows=100_000)
    assert str(refused.value).startswith("The workbook could not be read within the memory and time")
    assert "CSV UTF-8" in str(refused.value)


def test_a_workbook_whose_two_cells_span_the_whole_sheet_is_refused_not_read():
    """calamine asks for the rectangle from A1 to XFD1048576 at once (half a terabyte) and aborts: in the child."""
    with pytest.raises(ListError, match="^The workbook could not be read within the memory and time"):
        read_recipient_list("corners.xlsx", corners("XFD", 1_048_576), max_bytes=8 * MB, max_rows=100)


def test_a_workbook_that_takes_longer_than_its_cpu_time_is_refused(monkeypatch):
    monkeypatch.setattr(lists, "XLSX_CPU_SECONDS", 1)
    # Within the element budget of a million rows and the unpacking limit: about 3.5 s of reading
    # here, so well past the second it may take even on a machine twice as fast.
    data = markup(30_000_000)
    with pytest.raises(ListError, match="^The workbook could not be read within the memory and time"):
        read_recipient_list("big.xlsx", data, max_bytes=64 * MB, max_rows=1_000_000)


def test_a_list_of_many_empty_columns_is_refused_before_it_fills_the_memory(monkeypatch):
    """A header of 1,000 columns over rows of empty cells: little text, but every row keeps every column."""
    monkeypatch.setattr(lists, "MIN_CELLS", 0)
    data = ("email," + ",".join(f"c{i}" for i in range(999)) + "\r\n"
            + ("a@example.jp" + "," * 999 + "\r\n") * 30).encode()
    with pytest.raises(ListError) as refused:
        read_recipient_list("wide.csv", data, max_bytes=MB, max_rows=500)  # 50 x 500 = 25,000 cells
    assert str(refused.value).startswith("With its 1,000 columns, the list passes 25,000 cells at row 27.")


def test_an_ordinary_workbook_is_read_as_before():
    table = read_recipient_list("list.xlsx", xlsx([["氏名", "email"], ["山田 太郎", "yamada@example.jp"]]),
                                max_bytes=MB, max_rows=10)
    assert table.rows == [{"氏名": "山田 太郎", "email": "yamada@example.jp"}]


def test_the_table_is_made_in_the_child_so_an_empty_rectangle_never_reaches_the_web_process(monkeypatch):
    """A1 and T1048576: the reader builds 20 million empty cells; the web process gets only a message."""
    web_process, made_here = os.getpid(), []
    tabulate = lists._tabulate

    def watched(records, max_rows):
        if os.getpid() == web_process:
            made_here.append(max_rows)
        return tabulate(records, max_rows)

    monkeypatch.setattr(lists, "_tabulate", watched)
    with pytest.raises(ListError, match="^Row 1048576 has 20 values, but the header row names only 1 columns"):
        read_recipient_list("corners.xlsx", corners("T", 1_048_576), max_bytes=50 * MB, max_rows=100)
    assert made_here == []
    book = xlsx([["email", "氏名"], ["a@example.jp", "山田"]])
    table = read_recipient_list("list.xlsx", book, max_bytes=MB, max_rows=10)
    assert (table.rows, made_here) == ([{"email": "a@example.jp", "氏名": "山田"}], [])


def test_a_check_that_refuses_meanwhile_stops_the_child_and_is_the_answer():
    import multiprocessing

    def check():
        raise Refused("the archive is a bomb")

    with pytest.raises(Refused, match="^the archive is a bomb$"):
        run_confined(spin, memory_bytes=128 * MB, cpu_seconds=30, keep=Refused, meanwhile=check)
    assert multiprocessing.active_children() == []  # stopped and reaped, not left spinning for 30 s
    # A check that passes leaves the child's answer as it is.
    assert run_confined(give, "table", memory_bytes=128 * MB, cpu_seconds=10, meanwhile=lambda: None) == "table"
