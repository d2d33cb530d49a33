"""Excel workbooks (``.xls``, ``.xlsx``) read within limits of size, cells and time.

An ``.xlsx`` file is a zip archive of XML files, and a small one can inflate to a huge
sheet (a *zip bomb*: half a megabyte holding 150 MB of sheet XML). Before any XML is
parsed, :func:`check_xlsx` reads the archive's directory and refuses a workbook whose
members inflate to more than :data:`XLSX_MAX_BYTES` in all, or a large member whose
compression ratio is over :data:`XLSX_MAX_RATIO` (real sheets compress 5 to 15 times).
Python's ``zipfile`` never inflates a member past the size its directory declares, so a
directory that lies ends in a CRC error, which is reported as an unreadable workbook.
While a sheet is read, at most :data:`SHEET_MAX_CELLS` cells and :data:`SHEET_MAX_SECONDS`
seconds are spent on it. Every breach is an :class:`~chemearth.errors.InputTooLargeError`.

Examples
--------
>>> import tempfile, openpyxl
>>> path = Path(tempfile.mkdtemp()) / "tiny.xlsx"
>>> wb = openpyxl.Workbook(); wb.active.append(["Cu", "Zn"]); wb.active.append([1, 2])
>>> wb.save(path)
>>> excel_rows(path)
[['Cu', 'Zn'], [1, 2]]
"""

from __future__ import annotations

import time
import zipfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from chemearth.errors import ChemearthError, InputFileError, InputTooLargeError

__all__ = [
    "SHEET_MAX_CELLS",
    "SHEET_MAX_SECONDS",
    "XLSX_MAX_BYTES",
    "XLSX_MAX_RATIO",
    "check_xlsx",
    "excel_rows",
    "sheet_names",
    "sheets_hint",
]

#: Most bytes the members of an ``.xlsx`` archive may inflate to, together.
XLSX_MAX_BYTES = 512 * 1024 * 1024
#: Highest compression ratio (inflated / compressed size) of a member over 1 MiB.
XLSX_MAX_RATIO = 100
#: Most members an ``.xlsx`` archive may hold.
XLSX_MAX_MEMBERS = 10_000
#: Most cells (rows count as at least one) read from one sheet.
SHEET_MAX_CELLS = 5_000_000
#: Longest time spent reading one sheet.
SHEET_MAX_SECONDS = 300.0
#: Members smaller than this when inflated are never a bomb, whatever their ratio.
_RATIO_FLOOR = 1 << 20


def check_xlsx(path: Path) -> None:
    """Refuse an ``.xlsx`` archive that would inflate beyond the limits, before opening it.

    Raises
    ------
    InputFileError
        The file is not a zip archive.
    InputTooLargeError
        Too many members, a member inflating too much, or too many bytes in all.
    """
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
        raise InputFileError(f"{path.name}: not a readable .xlsx workbook ({exc})") from None
    if len(infos) > XLSX_MAX_MEMBERS:
        raise InputTooLargeError(
            f"{path.name}: {len(infos):,} files in the workbook's archive, over the limit "
            f"of {XLSX_MAX_MEMBERS:,}"
        )
    total = 0
    for info in infos:
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > _RATIO_FLOOR and ratio > XLSX_MAX_RATIO:
            raise InputTooLargeError(
                f"{path.name}: {info.filename} inflates from {info.compress_size:,} to "
                f"{info.file_size:,} bytes, a compression ratio of {ratio:,.0f} (the limit is "
                f"{XLSX_MAX_RATIO}); refused as a possible zip bomb"
            )
    if total > XLSX_MAX_BYTES:
        raise InputTooLargeError(
            f"{path.name}: the workbook inflates to {total:,} bytes, over the limit of "
            f"{XLSX_MAX_BYTES:,}; save the sheet as CSV"
        )


def excel_rows(path: Path, sheet: str | int = 0, limit: int | None = None) -> list[list[object]]:
    """The cells of one sheet of an ``.xls`` or ``.xlsx`` workbook, row by row.

    Dates become ISO strings; empty cells None. ``limit`` reads the first rows only.

    Raises
    ------
    InputFileError
        The workbook cannot be read, or has no such sheet.
    InputTooLargeError
        The workbook is over a limit of this module.
    """
    if path.suffix.lower() == ".xlsx":
        return _xlsx_rows(path, sheet, limit)
    return _xls_rows(path, sheet, limit)


def sheet_names(path: Path) -> list[str]:
    """The names of the sheets of an ``.xls`` or ``.xlsx`` workbook, in order.

    Raises
    ------
    InputFileError
        The workbook cannot be read.
    InputTooLargeError
        The ``.xlsx`` archive is over a limit of this module.

    Examples
    --------
    >>> import tempfile, openpyxl
    >>> path = Path(tempfile.mkdtemp()) / "two.xlsx"
    >>> wb = openpyxl.Workbook(); wb.active.title = "Notes"; _ = wb.create_sheet("Data")
    >>> wb.save(path)
    >>> sheet_names(path)
    ['Notes', 'Data']
    """
    if path.suffix.lower() == ".xlsx":
        import openpyxl

        check_xlsx(path)
        try:
            book = openpyxl.load_workbook(path, read_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a corrupt file
            raise InputFileError(f"{path.name}: not a readable .xlsx workbook ({exc})") from None
        try:
            return list(book.sheetnames)
        finally:
            book.close()
    import xlrd

    try:
        xls = xlrd.open_workbook(str(path), on_demand=True)
    except Exception as exc:  # xlrd raises many kinds for a corrupt file
        raise InputFileError(f"{path.name}: not a readable .xls workbook ({exc})") from None
    try:
        return list(xls.sheet_names())
    finally:
        xls.release_resources()


def sheets_hint(path: Path) -> str:
    """A sentence naming the sheets of a workbook of several sheets, else ``""``.

    For messages that should say the data may be on another sheet (``chemearth describe``
    reads the first sheet unless told otherwise). Never raises: an unreadable workbook gives
    ``""`` (its own error is reported elsewhere).

    Examples
    --------
    >>> import tempfile, openpyxl
    >>> path = Path(tempfile.mkdtemp()) / "two.xlsx"
    >>> wb = openpyxl.Workbook(); wb.active.title = "Notes"; _ = wb.create_sheet("Data")
    >>> wb.save(path)
    >>> sheets_hint(path)
    "the workbook has 2 sheets: 'Notes' (0), 'Data' (1)"
    >>> sheets_hint(Path("meuse/meuse.csv"))
    ''
    """
    if path.suffix.lower() not in (".xls", ".xlsx"):
        return ""
    try:
        names = sheet_names(path)
    except ChemearthError:
        return ""
    if len(names) < 2:
        return ""
    listed = ", ".join(f"{n!r} ({i})" for i, n in enumerate(names))
    return f"the workbook has {len(names)} sheets: {listed}"


def _xls_rows(path: Path, sheet: str | int, limit: int | None) -> list[list[object]]:
    import xlrd

    try:
        book = xlrd.open_workbook(str(path), on_demand=True)
        sh = book.sheet_by_name(_pick_sheet(path, sheet, book.sheet_names()))
    except ChemearthError:
        raise
    except Exception as exc:  # xlrd raises many kinds for a corrupt file
        raise InputFileError(f"{path.name}: not a readable .xls workbook ({exc})") from None

    def value(cell: object) -> object:
        kind, v = cell.ctype, cell.value  # type: ignore[attr-defined]
        if kind == xlrd.XL_CELL_DATE:
            return xlrd.xldate.xldate_as_datetime(v, book.datemode).date().isoformat()
        return None if kind in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK) else v

    n = sh.nrows if limit is None else min(limit, sh.nrows)
    return _bounded(path, (sh.row(r) for r in range(n)), value)


def _xlsx_rows(path: Path, sheet: str | int, limit: int | None) -> list[list[object]]:
    import datetime as dt

    import openpyxl

    check_xlsx(path)
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a corrupt file
        raise InputFileError(f"{path.name}: not a readable .xlsx workbook ({exc})") from None
    try:
        ws = book[_pick_sheet(path, sheet, book.sheetnames)]
        ws.reset_dimensions()  # pad rows to their own last cell, not a declared extent
        return _bounded(
            path,
            ws.iter_rows(values_only=True, max_row=limit),
            lambda v: v.date().isoformat() if isinstance(v, dt.datetime) else v,
        )
    except ChemearthError:
        raise
    except Exception as exc:  # the sheet's XML is parsed lazily, row by row
        raise InputFileError(f"{path.name}: not a readable .xlsx workbook ({exc})") from None
    finally:
        book.close()


def _bounded(
    path: Path, rows: Iterable[Sequence[object]], value: Callable[[object], object]
) -> list[list[object]]:
    """The rows as lists of values, within :data:`SHEET_MAX_CELLS` and the time limit."""
    deadline = time.monotonic() + SHEET_MAX_SECONDS
    cells = 0
    out: list[list[object]] = []
    for i, row in enumerate(rows):
        cells += max(len(row), 1)
        if cells > SHEET_MAX_CELLS:
            raise InputTooLargeError(
                f"{path.name}: more than {SHEET_MAX_CELLS:,} cells by sheet row {i + 1}; "
                "split the sheet or save it as CSV"
            )
        if i % 256 == 0 and time.monotonic() > deadline:
            raise InputTooLargeError(
                f"{path.name}: reading the sheet took longer than {SHEET_MAX_SECONDS:g} s "
                f"(stopped at sheet row {i + 1}); save it as CSV"
            )
        out.append([value(v) for v in row])
    return out


def _pick_sheet(path: Path, sheet: str | int, names: list[str]) -> str:
    if isinstance(sheet, int):
        if not 0 <= sheet < len(names):
            raise InputFileError(f"{path.name}: no sheet number {sheet}; sheets: {names}")
        return names[sheet]
    if sheet not in names:
        raise InputFileError(f"{path.name}: no sheet {sheet!r}; sheets: {names}")
    return sheet
