"""Bad-input corpus: every malformed file in tests/data/bad/ and what ingest must say about it.

Each case is one file, its own descriptor (same stem, ``.toml``) and the expected outcome:

* :class:`Fatal` -- the ingest raises ``exc`` and ``str(exc)`` matches ``match`` (which names
  the file and, where it makes sense, the row and the column); the store stays empty.
* :class:`Partial` -- the ingest writes ``n_samples`` samples and rejects exactly the rows of
  ``rejects`` (1-based physical lines of the file, header = line 1; sheet rows for Excel),
  each with a reason matching a regex.

``tests/data/bad/README.md`` lists the same cases in prose.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from chemearth.errors import (
    ChemearthError,
    CRSError,
    DescriptorError,
    EmptyFileError,
    IngestRejected,
    InputFileError,
    RowError,
    UnitError,
)
from chemearth.ingest.descriptor import load_descriptor
from chemearth.ingest.pipeline import IngestReport, ingest
from chemearth.store import open_store

BAD = Path(__file__).resolve().parents[1] / "data" / "bad"
BOUNDARIES_NAME = Path("boundaries") / "ne_10m_admin_0_countries_deu.geojson"
REJECT_COLUMNS = ["file", "row", "column", "value", "reason"]


def _data_dir() -> Path:
    env = os.environ.get("CHEMEARTH_DATA")
    if env:
        return Path(env)
    # tests/ -> the checkout -> its parent, where shared/ lives beside the checkout
    return Path(__file__).resolve().parents[2].parent / "shared" / "data"


@pytest.fixture(scope="session")
def boundaries() -> Path:
    path = _data_dir() / BOUNDARIES_NAME
    if not path.is_file():
        pytest.skip(f"country boundaries not found at {path} (set CHEMEARTH_DATA)")
    return path


# --------------------------------------------------------------------------- the table


@dataclass(frozen=True)
class Reject:
    """One expected problem: its row, column (None: not checked) and a regex on the reason."""

    row: int
    column: str | None
    reason: str
    value: str | None = None  # the offending cell as written, where it is worth checking


@dataclass(frozen=True)
class Partial:
    """The file is ingested without the rejected rows."""

    rejects: tuple[Reject, ...]
    n_samples: int


@dataclass(frozen=True)
class Fatal:
    """The file is refused as a whole."""

    exc: type[BaseException] | tuple[type[BaseException], ...]
    match: str


@dataclass(frozen=True)
class Case:
    stem: str  # descriptor tests/data/bad/<stem>.toml
    file: str  # the survey file in tests/data/bad/
    expect: Partial | Fatal
    strict: bool = False
    marks: tuple[Any, ...] = ()

    @property
    def id(self) -> str:
        return self.stem + ("-strict" if self.strict else "")


NOT_A_NUMBER = r"not a number"
# The ragged row itself is rejected with its line, but the last data row of the file is lost
# too (not ingested, not in the rejects): ingest records the ragged row as problem index -1,
# and Problems.mask() turns -1 into the last row.
OUTSIDE_FI = r"km outside the declared country FI"

CASES = [
    # 1. unparseable numbers in element cells
    Case(
        "01_number_unparseable",
        "01_number_unparseable.csv",
        Partial(
            (
                Reject(3, "Zn", NOT_A_NUMBER, "12,5"),
                Reject(5, "As", NOT_A_NUMBER, "abc"),
            ),
            n_samples=3,
        ),
    ),
    # 2. latitude out of range (95, and 626.010 with a slipped decimal point)
    Case(
        "02_latitude_out_of_range",
        "02_latitude_out_of_range.csv",
        Partial(
            (
                Reject(3, "Lat", r"latitude outside -90\.\.90"),
                Reject(4, "Lat", r"latitude outside -90\.\.90"),
            ),
            n_samples=2,
        ),
    ),
    # 3. longitude and latitude swapped on one row
    Case(
        "03a_lonlat_swapped",
        "03a_lonlat_swapped.csv",
        Partial((Reject(4, "Latitude", r"latitude outside -90\.\.90.*swapped"),), n_samples=4),
    ),
    Case(
        "03b_lonlat_swapped_in_range",
        "03b_lonlat_swapped_in_range.csv",
        Partial((Reject(3, None, OUTSIDE_FI + r".*swapped"),), n_samples=3),
    ),
    # 4. wrong CRS: metres declared as degrees, and degrees declared as metres
    #    every row is rejected, so the ingest fails as a whole and names the first rows
    Case(
        "04a_utm_declared_as_wgs84",
        "04a_utm_declared_as_wgs84.csv",
        Fatal(
            IngestRejected,
            r"04a_utm_declared_as_wgs84\.csv: every one of the 4 rows was rejected.*\n"
            r"04a_utm_declared_as_wgs84\.csv, row 2, column 'Y': latitude outside -90\.\.90.*"
            r"look like projected metres",
        ),
    ),
    Case(
        "04b_lonlat_declared_as_laea",
        "04b_lonlat_declared_as_laea.csv",
        Fatal(
            IngestRejected,
            r"04b_lonlat_declared_as_laea\.csv: every one of the 4 rows was rejected.*\n"
            r"04b_lonlat_declared_as_laea\.csv, row 2, column 'X/Y': .*km outside the declared "
            r"country NL: wrong CRS",
        ),
    ),
    # 5. a point in the Baltic Sea and one in South America, for a Finnish survey
    Case(
        "05_far_from_country",
        "05_far_from_country.csv",
        Partial(
            (
                Reject(3, None, OUTSIDE_FI),
                Reject(5, None, OUTSIDE_FI),
            ),
            n_samples=3,
        ),
    ),
    # 6. unknown unit in the descriptor: a unit (or descriptor) error, not a row error
    Case(
        "06_unknown_unit_in_descriptor",
        "06_unknown_unit_in_descriptor.csv",
        Fatal(
            (UnitError, DescriptorError),
            r"06_unknown_unit_in_descriptor\.(csv|toml)\b.*'As'.*unknown unit 'furlongs'",
        ),
    ),
    # 7. unknown unit in the units row
    Case(
        "07_unknown_unit_in_units_row",
        "07_unknown_unit_in_units_row.csv",
        Fatal(
            RowError,
            r"07_unknown_unit_in_units_row\.csv, row 2, column 'As': unknown unit 'mg/l'",
        ),
    ),
    # 7b. the same with [defaults] unit = "mg/kg": the units row still comes first
    #     (docs/descriptors.md: default unit "the units row, else [defaults], else mg/kg")
    Case(
        "07b_units_row_vs_defaults",
        "07b_units_row_vs_defaults.csv",
        Fatal(
            RowError,
            r"07b_units_row_vs_defaults\.csv, row 2, column 'As': unknown unit 'mg/l'",
        ),
    ),
    # 8. one sample id on two rows: both rejected, each naming the other
    Case(
        "08_duplicate_ids",
        "08_duplicate_ids.csv",
        Partial(
            (
                Reject(4, "SampleID", r"duplicate sample id 'NL-U-003' \(also on rows? 6\)"),
                Reject(6, "SampleID", r"duplicate sample id 'NL-U-003' \(also on rows? 4\)"),
            ),
            n_samples=3,
        ),
    ),
    # 9. negative values while the encoding is lt_string
    Case(
        "09_negative_values",
        "09_negative_values.csv",
        Partial(
            (
                Reject(3, "Cu", r"negative value.*encoding = 'negative'", "-2"),
                Reject(5, "Pb", r"negative value.*encoding = 'negative'", "-0.5"),
            ),
            n_samples=3,
        ),
    ),
    # 10-13. files that cannot be read at all
    Case("10_empty", "10_empty.csv", Fatal(EmptyFileError, r"10_empty\.csv: .*empty")),
    Case(
        "11_header_only",
        "11_header_only.csv",
        Fatal(EmptyFileError, r"11_header_only\.csv: .*no data rows"),
    ),
    Case(
        "12_not_utf8",
        "12_not_utf8.csv",
        Fatal(RowError, r"12_not_utf8\.csv, row 4: undecodable bytes.*not UTF-8"),
    ),
    Case(
        "13_binary_garbage",
        "13_binary_garbage.csv",
        Fatal(InputFileError, r"13_binary_garbage\.csv: .*NUL bytes"),
    ),
    # 14. ragged rows: rejected one by one, naming the line
    Case(
        "14a_too_many_fields",
        "14a_too_many_fields.csv",
        Partial((Reject(4, None, r"8 fields.*7|too many fields"),), n_samples=4),
    ),
    Case(
        "14b_too_few_fields",
        "14b_too_few_fields.csv",
        Partial((Reject(5, None, r"6 fields.*7|too few fields"),), n_samples=4),
    ),
    # 15-17. descriptor problems
    Case(
        "15_missing_column",
        "15_missing_column.csv",
        Fatal(
            DescriptorError,
            r"15_missing_column\.(csv|toml)\b.*'Pb_mg_kg' \(did you mean 'Pb_mgkg'\?\)",
        ),
    ),
    Case(
        "16_unknown_key",
        "16_unknown_key.csv",
        Fatal(
            DescriptorError,
            r"16_unknown_key\.toml \[source\]: unknown key\(s\) delimeter\b",
        ),
    ),
    Case(
        "17_unknown_element",
        "17_unknown_element.csv",
        Fatal(
            DescriptorError,
            r"17_unknown_element\.toml\b.*\[columns\]\.Pb\b.*'Pbb'.*'Pb'",
        ),
    ),
    # 18. empty sample id
    Case(
        "18_missing_sample_id",
        "18_missing_sample_id.csv",
        Partial((Reject(4, "SampleID", r"sample id is empty"),), n_samples=3),
    ),
    # 19. 31 June, and a day-first date in an ISO column
    Case(
        "19_unparseable_date",
        "19_unparseable_date.csv",
        Partial(
            (
                Reject(3, "Date", r"date cannot be parsed", "2019-06-31"),
                Reject(5, "Date", r"date cannot be parsed", "15/07/2019"),
            ),
            n_samples=3,
        ),
    ),
    # 20-21. Excel
    Case(
        "20_corrupt",
        "20_corrupt.xlsx",
        Fatal(InputFileError, r"20_corrupt\.xlsx: not a readable \.xlsx workbook"),
    ),
    Case(
        "21_header_on_row3",
        "21_header_on_row3.xlsx",
        Partial((Reject(6, "Zn", NOT_A_NUMBER, "1O.5"),), n_samples=4),
    ),
    # 22. a country name in Finnish
    Case(
        "22_unknown_country_code",
        "22_unknown_country_code.csv",
        Partial((Reject(5, "Country", r"unknown country code", "Suomi"),), n_samples=4),
    ),
    # 23. an empty latitude and one in degrees-minutes
    Case(
        "23_missing_coordinate",
        "23_missing_coordinate.csv",
        Partial(
            (
                Reject(3, None, r"coordinate is missing"),
                Reject(5, "Lat", r"coordinate is not a number", "60°59'N"),
            ),
            n_samples=3,
        ),
    ),
    # 24. positive controls: legacy encodings detected with encoding = "auto"
    Case("24a_gbk_chinese", "24a_gbk_chinese.csv", Partial((), n_samples=5)),
    Case("24b_latin1_french", "24b_latin1_french.csv", Partial((), n_samples=5)),
    # 25. one bad cell: rejected alone, or the whole file with --strict
    Case(
        "25_strict_one_bad_row",
        "25_strict_one_bad_row.csv",
        Partial((Reject(4, "Cu", NOT_A_NUMBER, "?"),), n_samples=4),
    ),
    Case(
        "25_strict_one_bad_row",
        "25_strict_one_bad_row.csv",
        Fatal(
            IngestRejected,
            r"(?s)^25_strict_one_bad_row\.csv: \D*\b1\b.*\n25_strict_one_bad_row\.csv, row 4, "
            r"column 'Cu': value is not a number",
        ),
        strict=True,
    ),
    # beyond the brief: polygons instead of points, and a mistyped EPSG code
    Case(
        "26_polygons",
        "26_polygons.shp",
        Fatal(InputFileError, r"26_polygons\.shp: .*must be points.*Polygon"),
    ),
    Case(
        "27_unknown_crs",
        "27_unknown_crs.csv",
        Fatal(CRSError, r"27_unknown_crs\.(csv|toml)\b.*EPSG:30670"),
    ),
]

PARAMS = [pytest.param(c, id=c.id, marks=c.marks) for c in CASES]


def _run(case: Case, store: Any, boundaries: Path) -> IngestReport:
    desc = load_descriptor(BAD / f"{case.stem}.toml")
    return ingest(store, desc, BAD / case.file, boundaries=boundaries, strict=case.strict)


def _check_partial(case: Case, expect: Partial, report: IngestReport, store: Any) -> None:
    rejects = report.rejects
    assert list(rejects.columns) == REJECT_COLUMNS
    want_rows = {r.row for r in expect.rejects}
    got = rejects[["row", "column", "value", "reason"]].to_string() if len(rejects) else "none"
    assert set(rejects["row"].astype(int)) == want_rows, f"rejects were:\n{got}"
    assert report.n_rejected == len(want_rows)
    assert (rejects["file"] == case.file).all()
    for r in expect.rejects:
        here = rejects[rejects["row"] == r.row]
        if r.column is not None:
            here = here[here["column"] == r.column]
        hits = here[[re.search(r.reason, str(reason)) is not None for reason in here["reason"]]]
        assert len(hits), f"no reject of row {r.row} col {r.column!r} ~ {r.reason!r}:\n{got}"
        if r.value is not None:
            assert r.value in set(hits["value"]), f"value {r.value!r} not recorded:\n{got}"
    for message in report.messages(100):
        assert message.startswith(f"{case.file}, row "), message
    assert report.n_samples == expect.n_samples
    samples = store.samples(report.dataset_id, report.version)
    assert len(samples) == expect.n_samples
    assert not set(samples["source_row"].astype(int)) & want_rows
    stored = store.rejects(report.dataset_id, report.version)
    assert set(stored["row"].astype(int)) == want_rows


@pytest.mark.parametrize("case", PARAMS)
def test_bad_input(case: Case, tmp_path: Path, boundaries: Path) -> None:
    store = open_store(tmp_path / "store")
    if isinstance(case.expect, Fatal):
        with pytest.raises(case.expect.exc, match=case.expect.match) as info:
            _run(case, store, boundaries)
        assert isinstance(info.value, ChemearthError)
        assert store.datasets().empty, "a refused file must leave the store untouched"
        return
    report = _run(case, store, boundaries)
    _check_partial(case, case.expect, report, store)


# --------------------------------------------------------------------------- details


def test_excel_rows_are_sheet_rows(tmp_path: Path, boundaries: Path) -> None:
    """Header on sheet row 3: the kept samples carry sheet rows 4, 5, 7, 8."""
    case = Case("21_header_on_row3", "21_header_on_row3.xlsx", Partial((), 4))
    report = _run(case, open_store(tmp_path / "store"), boundaries)
    samples = open_store(tmp_path / "store").samples(report.dataset_id)
    assert sorted(samples["source_row"].astype(int)) == [4, 5, 7, 8]
    assert report.messages() == [
        "21_header_on_row3.xlsx, row 6, column 'Zn': value is not a number (nor a '<DL' value) "
        "(value '1O.5')"
    ]


def test_gbk_file_decodes(tmp_path: Path, boundaries: Path) -> None:
    store = open_store(tmp_path / "store")
    case = Case("24a_gbk_chinese", "24a_gbk_chinese.csv", Partial((), 5))
    report = _run(case, store, boundaries)
    samples = store.samples(report.dataset_id).sort_values("source_row")
    assert samples["sample_id"].tolist()[0] == "BJ-2019-001"
    assert set(samples["country"]) == {"CN"}
    assert '"土地利用": "耕地"' in samples["attributes"].iloc[0]
    assert '"建设用地"' in samples["attributes"].iloc[1]
    cu = store.measurements(report.dataset_id)
    cu = cu[cu["element"] == "Cu"]
    assert sorted(cu["value"].round(1)) == [21.9, 23.3, 24.6, 26.7, 28.1]
    assert set(cu["source_column"]) == {"铜"}


def test_latin1_file_decodes(tmp_path: Path, boundaries: Path) -> None:
    store = open_store(tmp_path / "store")
    case = Case("24b_latin1_french", "24b_latin1_french.csv", Partial((), 5))
    report = _run(case, store, boundaries)
    attrs = store.samples(report.dataset_id).sort_values("source_row")["attributes"].tolist()
    assert '"Commune": "Liège"' in attrs[0]
    assert '"forêt de feuillus"' in attrs[2]
    assert '"culture céréalière"' in attrs[3]
    assert set(store.samples(report.dataset_id)["country"]) == {"BE"}


def _snapshot(home: Path) -> dict[str, str]:
    """Every data file of a store (catalogue excluded) with its content hash."""
    out = {}
    for p in sorted((home / "data").rglob("*")):
        if p.is_file():
            out[str(p.relative_to(home))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def test_strict_leaves_store_unchanged(tmp_path: Path, boundaries: Path) -> None:
    home = tmp_path / "store"
    store = open_store(home)
    _run(Case("24b_latin1_french", "24b_latin1_french.csv", Partial((), 5)), store, boundaries)
    before_files, before = _snapshot(home), store.datasets()
    assert before_files
    strict = Case("25_strict_one_bad_row", "25_strict_one_bad_row.csv", Partial((), 0), strict=True)
    with pytest.raises(IngestRejected, match=r"25_strict_one_bad_row\.csv.*row 4"):
        _run(strict, store, boundaries)
    pd.testing.assert_frame_equal(store.datasets(), before)
    assert _snapshot(home) == before_files
    reopened = open_store(home)
    pd.testing.assert_frame_equal(reopened.datasets(), before)
    assert _snapshot(home) == before_files


# --------------------------------------------------------------------------- CLI


def _chemearth(args: list[str], home: Path) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).parent / "chemearth"
    cmd = [str(script)] if script.is_file() else [sys.executable, "-m", "chemearth.cli"]
    env = {k: v for k, v in os.environ.items() if k != "CHEMEARTH_DEBUG"}
    env["CHEMEARTH_HOME"] = str(home)
    return subprocess.run(
        cmd + args, capture_output=True, text=True, env=env, timeout=300, check=False
    )


@pytest.mark.parametrize(
    ("stem", "file", "strict", "exc", "match"),
    [
        ("10_empty", "10_empty.csv", False, EmptyFileError, r"10_empty\.csv: .*empty"),
        (
            "13_binary_garbage",
            "13_binary_garbage.csv",
            False,
            InputFileError,
            r"13_binary_garbage\.csv: .*NUL",
        ),
        (
            "16_unknown_key",
            "16_unknown_key.csv",
            False,
            DescriptorError,
            r"16_unknown_key\.toml \[source\]: unknown key\(s\) delimeter",
        ),
        (
            "25_strict_one_bad_row",
            "25_strict_one_bad_row.csv",
            True,
            IngestRejected,
            r"25_strict_one_bad_row\.csv: .*(\n.*)*row 4, column 'Cu'",
        ),
    ],
)
def test_cli_reports_errors(
    stem: str,
    file: str,
    strict: bool,
    exc: type[ChemearthError],
    match: str,
    tmp_path: Path,
    boundaries: Path,
) -> None:
    args = [
        "ingest",
        str(BAD / file),
        "-d",
        str(BAD / f"{stem}.toml"),
        "--boundaries",
        str(boundaries),
        "--home",
        str(tmp_path / "store"),
    ]
    if strict:
        args.append("--strict")
    result = _chemearth(args, tmp_path / "store")
    output = result.stdout + result.stderr
    assert result.returncode == exc.exit_code != 0, output
    assert "Traceback" not in output
    # the CLI may name the descriptor by the path it was given
    assert re.search(r"^error: (\S*/)?" + match, result.stderr, re.MULTILINE), output
    assert open_store(tmp_path / "store").datasets().empty


def test_cli_partial_ingest_lists_rejects(tmp_path: Path, boundaries: Path) -> None:
    args = [
        "ingest",
        str(BAD / "08_duplicate_ids.csv"),
        "-d",
        str(BAD / "08_duplicate_ids.toml"),
        "--boundaries",
        str(boundaries),
        "--home",
        str(tmp_path / "store"),
    ]
    result = _chemearth(args, tmp_path / "store")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Traceback" not in output
    assert "3 samples" in result.stdout
    assert "2 rows rejected" in result.stdout
    assert "rejected: 08_duplicate_ids.csv, row 4, column 'SampleID'" in result.stderr
    assert "rejected: 08_duplicate_ids.csv, row 6, column 'SampleID'" in result.stderr
