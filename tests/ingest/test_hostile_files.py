"""Hostile and broken inputs at the ingest layer (issue 16).

Non-finite numbers are bad cells with a reason of their own; a descriptor's numbers must
be finite; spreadsheets are checked before they are opened (zip sizes and ratios) and read
within limits of cells and time; and the store's write lock is taken only after the file
has been read and checked, so no such file ever holds it.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from chemearth.errors import (
    DescriptorError,
    EmptyFileError,
    IngestRejected,
    InputFileError,
    InputTooLargeError,
)
from chemearth.ingest import spreadsheets
from chemearth.ingest.detection_limits import parse_cells
from chemearth.ingest.spreadsheets import check_xlsx, excel_rows

# --------------------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    "text", ["inf", "-inf", "+inf", "Infinity", "-INF", "nan", "NaN", "1e400", "-1e400", "<inf",
             "> 1e999"],
)
def test_non_finite_text_is_a_bad_cell_of_its_own_kind(text: str) -> None:
    c = parse_cells(pa.array([text, "5.2", None]))
    assert c.nonfinite is not None
    assert c.nonfinite.tolist() == [True, False, False]
    assert c.bad.tolist() == [True, False, False]
    assert np.isnan(c.number[0])
    assert c.number[1] == 5.2
    assert c.bad_text(0) == text


def test_non_finite_numbers_in_a_number_column_are_bad_cells() -> None:
    c = parse_cells(pa.array([1.0, float("inf"), float("-inf"), float("nan"), None]))
    assert c.nonfinite is not None
    assert c.nonfinite.tolist() == [False, True, True, True, False]  # a null is missing
    assert c.bad.tolist() == c.nonfinite.tolist()
    assert [c.bad_text(i) for i in (1, 2, 3)] == ["inf", "-inf", "nan"]
    assert np.isnan(c.number[1:]).all()


def test_finite_columns_have_no_non_finite_mask() -> None:
    assert parse_cells(pa.array([1.0, None])).nonfinite is None
    assert parse_cells(pa.array(["<0.5", "3"])).nonfinite is None


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ('zinc = { element = "Zn", detection_limit = inf }', "detection_limit"),
        ('zinc = { element = "Zn", detection_limit = nan }', "detection_limit"),
        ('zinc = "Zn"\n[coordinates]\ntolerance_km = -inf', "tolerance_km"),
        ('zinc = "Zn"\n[censoring]\nfactor = nan', "factor"),
    ],
)
def test_descriptor_numbers_must_be_finite(line: str, key: str) -> None:
    from chemearth.ingest.descriptor import parse_descriptor

    text = f'[dataset]\nid = "a"\ntitle = "A"\n[columns]\n{line}\n'
    with pytest.raises(DescriptorError, match=rf"{key}: .* is not a finite number"):
        parse_descriptor(text)


def test_descriptor_lists_of_numbers_must_be_finite() -> None:
    from chemearth.ingest.descriptor import parse_descriptor

    text = '[dataset]\nid = "a"\ntitle = "A"\ndepth_cm = [0, inf]\n[columns]\nzinc = "Zn"\n'
    with pytest.raises(DescriptorError, match=r"depth_cm: .* is not a finite number"):
        parse_descriptor(text)


def test_nan_is_not_a_missing_marker_unless_declared() -> None:
    from chemearth.ingest.descriptor import Source

    assert not {"nan", "NaN"} & set(Source().missing)


def test_a_descriptor_lists_the_files_it_names() -> None:
    from chemearth.ingest.descriptor import parse_descriptor

    d = parse_descriptor(
        '[dataset]\nid = "a"\ntitle = "A"\n[source]\npath = "s.csv"\n[censoring]\n'
        'encoding = "flag_file"\nflag_file = "../f.csv"\nlimits_file = "/etc/passwd"\n'
        '[columns]\nzinc = "Zn"\n')
    assert d.referenced_files() == {
        "[source].path": "s.csv",
        "[censoring].limits_file": "/etc/passwd",
        "[censoring].flag_file": "../f.csv",
    }


# --------------------------------------------------------------------------- spreadsheets


def _xlsx(path: Path, rows: list[list[Any]]) -> Path:
    import openpyxl

    wb = openpyxl.Workbook()
    for r in rows:
        wb.active.append(r)
    wb.save(path)
    return path


def _bomb(path: Path, xml_bytes: int = 8 << 20) -> Path:
    """An .xlsx-like zip whose sheet inflates from a few KiB to ``xml_bytes``."""
    row = b"<row><c><v>1</v></c><c><v>2</v></c></row>"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z, \
            z.open("xl/worksheets/sheet1.xml", "w") as sheet:
        for _ in range(xml_bytes // (len(row) * 1024) + 1):
            sheet.write(row * 1024)
    return path


@pytest.fixture
def no_openpyxl(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail if a workbook is opened at all (the checks must come first)."""
    import openpyxl

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the workbook was opened")

    monkeypatch.setattr(openpyxl, "load_workbook", refuse)


@pytest.mark.usefixtures("no_openpyxl")
def test_a_zip_bomb_is_refused_before_it_is_opened(tmp_path: Path) -> None:
    with pytest.raises(InputTooLargeError, match=r"bomb\.xlsx: xl/worksheets/sheet1\.xml "
                       r"inflates .* compression ratio of [\d,]+ \(the limit is 100\)"):
        excel_rows(_bomb(tmp_path / "bomb.xlsx"))


def test_a_workbook_inflating_over_the_total_limit_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import openpyxl

    path = _xlsx(tmp_path / "big.xlsx", [["Cu"], [1]])
    monkeypatch.setattr(openpyxl, "load_workbook", lambda *a, **k: pytest.fail("opened"))
    monkeypatch.setattr(spreadsheets, "XLSX_MAX_BYTES", 1000)
    with pytest.raises(InputTooLargeError, match=r"big\.xlsx: the workbook inflates to .* "
                       r"over the limit of 1,000"):
        check_xlsx(path)
    monkeypatch.setattr(spreadsheets, "XLSX_MAX_BYTES", 1 << 30)
    monkeypatch.setattr(spreadsheets, "XLSX_MAX_MEMBERS", 2)
    with pytest.raises(InputTooLargeError, match=r"files in the workbook's archive"):
        excel_rows(path)


def test_a_workbook_that_is_not_a_zip_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "text.xlsx"
    path.write_text("x,y\n1,2\n")
    with pytest.raises(InputFileError, match=r"text\.xlsx: not a readable \.xlsx workbook"):
        excel_rows(path)


def test_a_lying_zip_directory_ends_in_an_unreadable_workbook(tmp_path: Path) -> None:
    path = _xlsx(tmp_path / "lying.xlsx", [["Cu", "Zn"], *[[i, i + 1] for i in range(2000)]])
    data = bytearray(path.read_bytes())
    name = b"xl/worksheets/sheet1.xml"
    start = 0
    while True:  # the central directory entry of the sheet: declare 100 bytes inflated
        start = data.index(b"PK\x01\x02", start)
        n = int.from_bytes(data[start + 28:start + 30], "little")
        if bytes(data[start + 46:start + 46 + n]) == name:
            data[start + 24:start + 28] = (100).to_bytes(4, "little")
            break
        start += 4
    path.write_bytes(bytes(data))
    with pytest.raises(InputFileError, match=r"lying\.xlsx: not a readable \.xlsx workbook"):
        excel_rows(path)


def test_sheets_are_read_within_a_cell_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _xlsx(tmp_path / "wide.xlsx", [["Cu", "Zn"], *[[i, i] for i in range(10)]])
    monkeypatch.setattr(spreadsheets, "SHEET_MAX_CELLS", 10)
    with pytest.raises(InputTooLargeError, match=r"wide\.xlsx: more than 10 cells by sheet row 6"):
        excel_rows(path)


def test_sheets_are_read_within_a_time_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _xlsx(tmp_path / "slow.xlsx", [["Cu"], [1]])
    monkeypatch.setattr(spreadsheets, "SHEET_MAX_SECONDS", -1.0)
    with pytest.raises(InputTooLargeError, match=r"slow\.xlsx: reading the sheet took longer"):
        excel_rows(path)


def test_a_declared_sheet_extent_does_not_pad_the_rows(tmp_path: Path) -> None:
    path = _xlsx(tmp_path / "extent.xlsx", [["Cu", "Zn"], [1, 2]])
    with zipfile.ZipFile(path) as z:
        parts = {i.filename: z.read(i) for i in z.infolist()}
    sheet = parts["xl/worksheets/sheet1.xml"]
    # openpyxl writes `<dimension ref="A1:B2" />` or, with lxml, `<dimension ref="A1:B2"/>`
    parts["xl/worksheets/sheet1.xml"] = re.sub(
        rb'<dimension ref="A1:B2"\s*/>', b'<dimension ref="A1:XFD1048576"/>', sheet)
    assert parts["xl/worksheets/sheet1.xml"] != sheet
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    assert excel_rows(path) == [["Cu", "Zn"], [1, 2]]


# --------------------------------------------------------------------------- the write lock


@pytest.fixture
def meuse(tmp_path: Path, data_dir: Path) -> tuple[Any, list[str]]:
    from chemearth.ingest.descriptor import load_descriptor
    from chemearth.ingest.shipped import shipped_descriptor

    lines = (data_dir / "meuse" / "meuse.csv").read_text(encoding="utf-8").splitlines()
    return load_descriptor(shipped_descriptor("meuse")), lines


class _Spy:
    """Records the order of reading and locking, and wraps ``begin_version``."""

    def __init__(self, store: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        from chemearth.ingest import pipeline

        self.events: list[str] = []
        begin, read = store.begin_version, pipeline.iter_tables

        def locked(*a: Any, **k: Any) -> Any:
            self.events.append("lock")
            return begin(*a, **k)

        def reading(*a: Any, **k: Any) -> Any:
            for table in read(*a, **k):
                self.events.append("read")
                yield table

        monkeypatch.setattr(store, "begin_version", locked)
        monkeypatch.setattr(pipeline, "iter_tables", reading)


def test_a_spreadsheet_is_read_before_the_write_lock(
    tmp_path: Path, meuse: tuple[Any, list[str]], boundaries: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from chemearth.ingest.pipeline import ingest
    from chemearth.store import open_store

    desc, lines = meuse
    def cell(v: str) -> object:
        return float(v) if v[:1].isdigit() else (v or None)

    rows = [lines[0].split(",")] + [[cell(v) for v in ln.split(",")] for ln in lines[1:21]]
    store = open_store(tmp_path / "store")
    spy = _Spy(store, monkeypatch)
    report = ingest(store, desc, _xlsx(tmp_path / "meuse.xlsx", rows), boundaries=boundaries)
    assert report.n_samples == 20
    assert spy.events == ["read", "lock"]


@pytest.mark.parametrize("kind", ["bomb", "not-a-zip", "header-only-csv", "strict-bad-row"])
def test_a_file_refused_whole_never_takes_the_write_lock(
    tmp_path: Path, meuse: tuple[Any, list[str]], boundaries: Path,
    monkeypatch: pytest.MonkeyPatch, kind: str,
) -> None:
    from chemearth.ingest.pipeline import ingest
    from chemearth.store import open_store

    desc, lines = meuse
    strict = False
    if kind == "bomb":
        path, error = _bomb(tmp_path / "meuse.xlsx"), InputTooLargeError
    elif kind == "not-a-zip":
        path, error = tmp_path / "meuse.xlsx", InputFileError
        path.write_text("\n".join(lines))
    elif kind == "header-only-csv":
        path, error = tmp_path / "meuse.csv", EmptyFileError
        path.write_text(lines[0] + "\n")
    else:
        path, error, strict = tmp_path / "meuse.csv", IngestRejected, True
        path.write_text("\n".join([lines[0], lines[1].replace("11.7", "inf"), *lines[2:9]]))
    store = open_store(tmp_path / "store")
    spy = _Spy(store, monkeypatch)
    with pytest.raises(error):
        ingest(store, desc, path, boundaries=boundaries, strict=strict)
    assert "lock" not in spy.events
    assert not (store.home / "tmp").exists()


def test_an_ingest_whose_commit_is_called_off_writes_nothing(
    tmp_path: Path, meuse: tuple[Any, list[str]], boundaries: Path
) -> None:
    from chemearth.ingest.pipeline import ingest
    from chemearth.store import open_store

    desc, lines = meuse
    path = tmp_path / "meuse.csv"
    path.write_text("\n".join(lines[:11]) + "\n")
    store = open_store(tmp_path / "store")
    asked: list[bool] = []

    def no() -> bool:
        asked.append(True)
        return False

    with pytest.raises(IngestRejected, match=r"meuse\.csv: the ingest was given up"):
        ingest(store, desc, path, boundaries=boundaries, may_commit=no)
    assert asked == [True]
    assert store.datasets().empty
    report = ingest(store, desc, path, boundaries=boundaries, may_commit=lambda: True)
    assert (report.status, report.n_samples) == ("ingested", 10)
