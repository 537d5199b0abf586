"""The cells of an .xlsx workbook, read with calamine, and their text.

``lists`` reads a recipient list from the first worksheet; ``attachments`` scans every worksheet
for personal data. calamine (Rust) reads about ten times faster than openpyxl, which kept a
200,000-row list waiting for 12 s. Both callers run it in a child process with a memory and a
CPU ceiling (``confined``): one shared string in every cell makes any reader build gigabytes.
"""

import datetime
import io

from python_calamine import CalamineWorkbook, SheetTypeEnum

__all__ = ["BrokenWorkbook", "cell_text", "worksheets"]

Cells = list[list[object]]


class BrokenWorkbook(Exception):
    """The bytes are not a workbook calamine can read (not a zip, a missing part, a bad cell)."""


def worksheets(data: bytes, *, first_only: bool = False) -> list[Cells]:
    """The cells of each worksheet in workbook order (hidden ones too), every sheet from A1.

    Rows and columns keep the numbers Excel shows: a sheet whose data starts at C5 has four
    empty rows and two empty columns first. A formula error (#N/A, #REF!) arrives as an empty
    cell: the binding does not give its text (python-calamine issue 105).
    """
    try:
        with CalamineWorkbook.from_filelike(io.BytesIO(data)) as workbook:
            indexes = [index for index, sheet in enumerate(workbook.sheets_metadata)
                       if sheet.typ == SheetTypeEnum.WorkSheet]  # a chart sheet has no cells
            if first_only:
                indexes = indexes[:1]
            return [workbook.get_sheet_by_index(index).to_python(skip_empty_area=False) for index in indexes]
    except (MemoryError, KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - CalamineError, or a panic in Rust, which is no Exception
        raise BrokenWorkbook(f"{type(exc).__name__}: {exc}") from exc


def cell_text(value: object) -> str:
    """A cell as the text a person sees in it (numbers without a needless ".0", dates in ISO form)."""
    if isinstance(value, str):
        return value  # empty cells too: calamine gives ""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel stores every number as a float: 42.0 is 42
    if isinstance(value, datetime.datetime):
        if value.time() == datetime.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return str(value)
