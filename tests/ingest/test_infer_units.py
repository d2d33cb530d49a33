"""Units, methods and decisions proposed for analyte columns (chemearth.ingest.infer_units),
on real survey values under renamed headers, and ``chemearth describe`` on workbooks of
several sheets.

Every table here is written to ``tmp_path`` from the shared real data: the values are the
published ones (times 1000 where a column is turned into µg/kg, times 10 for µS/cm); only
the headers change, to the conventions a survey might use.
"""

from __future__ import annotations

import csv
import warnings
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from chemearth.cli import cli, main
from chemearth.errors import ChemearthWarning, DescriptorError
from chemearth.ingest.describe import propose, propose_descriptor
from chemearth.ingest.descriptor import Source, parse_descriptor
from chemearth.ingest.infer_units import (
    ColumnProposal,
    propose_column,
    propose_columns,
    unit_candidates,
)
from chemearth.ingest.pipeline import ingest
from chemearth.ingest.readers import read_table
from chemearth.reference.names import recognise_column, recognise_columns
from chemearth.reference.units import conversion_factor

# new column -> (Kola file, original column, factor applied to the values)
RENAMED = {
    "pH": ("chorizon", "pH", 1),
    "pH_CaCl2": ("chorizon", "pH", 1),
    "pH_H2O": ("chorizon", "pH", 1),
    "EC": ("chorizon", "EC", 1),
    "Cond": ("humus", "Cond", 1),
    "EC_uScm": ("chorizon", "EC", 10),  # mS/m -> µS/cm
    "LOI_480": ("chorizon", "LOI", 1),
    "LOI1000": ("humus", "LOI", 1),
    "P2O": ("chorizon", "P2O5", 1),
    "Fe2O": ("chorizon", "Fe2O3", 1),
    "Fe2O3_pct": ("chorizon", "Fe2O3", 1),
    "FE2O3_%": ("chorizon", "Fe2O3", 1),
    "SiO2": ("chorizon", "SiO2", 1),
    "AU": ("chorizon", "Au_INAA", 1000),  # mg/kg -> µg/kg
    "Ir": ("chorizon", "Ir_INAA", 1000),
    "Hg": ("humus", "Hg", 1000),
    "Ag_ICPMS": ("humus", "Ag", 1000),
    "AU_PPB": ("chorizon", "Au_INAA", 1000),
    "Au_ugkg": ("chorizon", "Au_INAA", 1000),
    "Au_INAA": ("chorizon", "Au_INAA", 1),
    "Cu_AR": ("chorizon", "Cu", 1),
    "CU_ICP40": ("chorizon", "Cu", 1),
    "Cu (mg/kg)": ("chorizon", "Cu", 1),
    "Al_XRF": ("chorizon", "Al_XRF", 1),
    "K": ("chorizon", "K_XRF", 1),
    "N": ("humus", "N", 1),
    "TOC": ("humus", "C", 1),  # total C of humus, nearly all organic
}


def kola(data_dir: Path, name: str) -> dict[str, dict[str, str]]:
    """A Kola file as {sample ID: row} (the files write ID 1 as ``1.0``)."""
    with (data_dir / "kola" / f"{name}.csv").open(newline="", encoding="utf-8") as handle:
        return {str(int(float(row["ID"]))): row for row in csv.DictReader(handle)}


def scaled(text: str, factor: float) -> str:
    return text if factor == 1 else f"{float(text) * factor:.6g}"


def renamed_table(tmp_path: Path, data_dir: Path, columns: list[str],
                  units: list[str] | None = None) -> Path:  # fmt: skip
    """Kola C-horizon and humus samples (same sites) with ``columns`` of :data:`RENAMED`."""
    files = {name: kola(data_dir, name) for name in ("chorizon", "humus")}
    ids = [i for i in files["chorizon"] if i in files["humus"]]
    path = tmp_path / "renamed.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["ID", "XCOO", "YCOO", *columns])
        if units is not None:
            out.writerow(["", "", "", *units])
        for i in ids:
            row = files["chorizon"][i]
            cells = [scaled(files[RENAMED[c][0]][i][RENAMED[c][1]], RENAMED[c][2])
                     for c in columns]  # fmt: skip
            out.writerow([i, row["XCOO"], row["YCOO"], *cells])
    return path


def proposals(path: Path, header_row: int = 1, units_row: int = 0) -> dict[str, ColumnProposal]:
    raw = read_table(path, Source(header_row=header_row, units_row=units_row))
    guesses = recognise_columns([c for c in raw.table.column_names if c not in ("XCOO", "YCOO")])
    return {p.column: p for p in propose_columns(raw, guesses)}


# column, element, unit, method, a note (substring), a decision (substring)
CASES = [
    ("pH", "pH", "pH", "", None, None),
    ("pH_CaCl2", "pH", "pH", "pH in CaCl2", None, None),
    ("pH_H2O", "pH", "pH", "pH in H2O", None, None),
    ("EC", "EC", "mS/m", "", None, "EC is given without a unit; mS/m is proposed"),
    ("Cond", "EC", "mS/m", "", None, "µS/cm fits the values too"),
    ("EC_uScm", "EC", "µS/cm", "", None, None),
    ("LOI_480", "LOI", "%", "loss on ignition at 480 °C", "no unit in the file: % assumed",
     None),
    ("LOI1000", "LOI", "%", "loss on ignition at 1000 °C", "% assumed", None),
    ("P2O", "P2O5", "%", "", "'P2O' read as P2O5 (a truncated oxide name)", None),
    ("Fe2O", "Fe2O3", "%", "", "'Fe2O' read as Fe2O3", None),
    ("Fe2O3_pct", "Fe2O3", "%", "", None, None),
    ("FE2O3_%", "Fe2O3", "%", "", None, None),
    ("SiO2", "SiO2", "%", "", "% assumed", None),
    ("AU", "Au", "µg/kg", "", "µg/kg from the magnitude (Au: median 1 mg/kg is 667× the "
     "upper-crust abundance (0.0015 mg/kg)", None),
    ("Ir", "Ir", "µg/kg", "", "µg/kg from the magnitude", None),
    ("Hg", "Hg", "µg/kg", "", "× the upper-crust abundance (0.05 mg/kg)", None),
    ("Ag_ICPMS", "Ag", "µg/kg", "ICP-MS", "µg/kg from the magnitude", None),
    ("AU_PPB", "Au", "µg/kg", "", None, None),
    ("Au_ugkg", "Au", "µg/kg", "", None, None),
    ("Au_INAA", "Au", "", "INAA", None, None),  # mg/kg, the [defaults] unit
    ("Cu_AR", "Cu", "", "aqua regia", None, None),
    ("CU_ICP40", "Cu", "", "ICP-AES (40 element, 4-acid)", None, None),
    ("Cu (mg/kg)", "Cu", "mg/kg", "", None, None),
    ("Al_XRF", "Al", "%", "XRF", "% from the magnitude (Al: median 7.38 mg/kg is 1/11,045",
     None),
    ("K", "K", "%", "", "% from the magnitude", None),
    ("N", "N", "%", "", "% from the magnitude", None),
    ("TOC", "C_org", "%", "", "% assumed", None),
]  # fmt: skip


@pytest.fixture(scope="module")
def renamed(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> dict[str, ColumnProposal]:
    path = renamed_table(tmp_path_factory.mktemp("renamed"), data_dir, list(RENAMED))
    return proposals(path)


@pytest.mark.parametrize(("column", "element", "unit", "method", "note", "decision"), CASES)
def test_proposed_column(renamed: dict[str, ColumnProposal], column: str, element: str,
                         unit: str, method: str, note: str | None,
                         decision: str | None) -> None:  # fmt: skip
    p = renamed[column]
    assert (p.element, p.unit, p.method) == (element, unit, method)
    if note is None:
        assert not any("no unit in the file" in n for n in p.notes)
    else:
        assert any(note in n for n in p.notes), p.notes
    if decision is None:
        assert p.decisions == []
    else:
        assert len(p.decisions) == 1
        assert decision in p.decisions[0]
        assert p.decisions[0].startswith(f"column {column!r}")
    conversion_factor(p.unit or "mg/kg", p.element)  # what ingest will do with it


def test_every_case_is_a_column_of_the_table(renamed: dict[str, ColumnProposal]) -> None:
    assert {c[0] for c in CASES} == set(RENAMED) == set(renamed)


def test_the_toml_line_carries_notes_and_decisions(renamed: dict[str, ColumnProposal]) -> None:
    assert renamed["pH"].line() == '"pH" = { element = "pH", unit = "pH" }'
    au = renamed["AU"].line()
    assert au.startswith('"AU" = { element = "Au", unit = "µg/kg" }   # no unit in the file')
    ec = renamed["EC"].line()
    assert ec.startswith('"EC" = { element = "EC", unit = "mS/m" }   # column \'EC\': EC is')
    loi = renamed["LOI_480"].line()
    assert 'method = "loss on ignition at 480 °C"' in loi


@pytest.mark.parametrize(
    ("analyte", "expected"),
    [
        ("Au", ["mg/kg", "µg/kg", "%"]),
        ("Fe2O3", ["%", "mg/kg"]),
        ("pH", ["pH"]),
        ("EC", ["mS/m", "µS/cm"]),
        ("LOI", ["%", "mg/kg"]),
        ("C_org", ["%", "mg/kg"]),
        ("CEC", ["cmol/kg"]),
        ("NO3", ["mg/kg"]),
    ],
)
def test_unit_candidates(analyte: str, expected: list[str]) -> None:
    assert unit_candidates(analyte) == expected
    for unit in expected:
        conversion_factor(unit, analyte)


# --- describe: the proposal ingests ---------------------------------------------------------------


def _ingest(text: str, tmp_path: Path, boundaries: Path) -> object:
    from chemearth.store import open_store

    desc = parse_descriptor(text)
    store = open_store(tmp_path / "store")
    with warnings.catch_warnings():  # half-DL constants without limits: not this test's concern
        warnings.simplefilter("ignore", ChemearthWarning)
        report = ingest(store, desc, boundaries=boundaries)
    return store, report


def test_described_ph_and_ec_columns_ingest(tmp_path: Path, data_dir: Path,
                                           boundaries: Path) -> None:  # fmt: skip
    """The issue: pH and EC were proposed in mg/kg, and the descriptor did not ingest."""
    columns = ["pH_H2O", "EC", "Cond", "LOI_480", "P2O", "AU", "Cu_AR", "K"]
    path = renamed_table(tmp_path, data_dir, columns)
    proposal = propose(path, boundaries=boundaries)
    text = proposal.text
    assert '"pH_H2O" = { element = "pH", unit = "pH", method = "pH in H2O" }' in text
    assert '"EC" = { element = "EC", unit = "mS/m" }' in text
    assert 'crs = "EPSG:32635"' in text
    # one run lists every column needing a decision: both EC columns
    assert [d.split(":")[0] for d in proposal.decisions] == ["column 'EC'", "column 'Cond'"]
    store, report = _ingest(text, tmp_path, boundaries)
    assert report.n_rejected == 0  # type: ignore[attr-defined]
    m = store.measurements()  # type: ignore[attr-defined]
    chorizon, humus = kola(data_dir, "chorizon"), kola(data_dir, "humus")
    expected = {  # source column -> (element, stored unit, value stored for sample i)
        "pH_H2O": ("pH", "pH", lambda i: float(chorizon[i]["pH"])),  # no unit, no conversion
        "EC": ("EC", "mS/m", lambda i: float(chorizon[i]["EC"])),  # the canonical unit
        "Cond": ("EC", "mS/m", lambda i: float(humus[i]["Cond"])),
        "LOI_480": ("LOI", "%", lambda i: float(chorizon[i]["LOI"])),
        "AU": ("Au", "mg/kg", lambda i: float(chorizon[i]["Au_INAA"])),  # µg/kg -> mg/kg
        "K": ("K", "mg/kg", lambda i: float(chorizon[i]["K_XRF"]) * 1e4),  # % -> mg/kg
        "P2O": ("P", "mg/kg", lambda i: float(chorizon[i]["P2O5"]) * 1e4 * 0.43646),
    }
    for column, (element, unit, value) in expected.items():
        rows = m[m["source_column"] == column]
        assert len(rows) > 500, column
        assert set(rows["element"]) == {element}
        assert set(rows["unit"]) == {unit}
        rows = rows[~rows["censored"].astype(bool)]  # half-DL constants are stored as '<DL'
        assert len(rows) > 100, column
        want = [value(str(i)) for i in rows["sample_id"]]
        np.testing.assert_allclose(rows["value"].to_numpy(float), want, rtol=1e-4,
                                   err_msg=column)  # fmt: skip
    method = m.loc[m["source_column"] == "LOI_480", "method"].iloc[0]
    assert method == "loss on ignition at 480 °C"


# --- units rows ---------------------------------------------------------------------------------


def test_units_row_is_checked_and_every_problem_is_listed(tmp_path: Path,
                                                         data_dir: Path) -> None:  # fmt: skip
    columns = ["pH", "Cu_AR", "EC_uScm", "AU", "Fe2O3_pct", "LOI_480"]
    units = ["mg/kg", "ppm", "µS/cm", "ppm", "wt. %", "weird"]
    path = renamed_table(tmp_path, data_dir, columns, units)
    props = proposals(path, header_row=1, units_row=2)
    assert props["pH"].unit == "pH"
    assert "its units row gives 'mg/kg', which cannot express pH; pH is proposed" in \
        props["pH"].decisions[0]  # fmt: skip
    assert (props["Cu_AR"].unit, props["Cu_AR"].decisions) == ("ppm", [])
    assert (props["EC_uScm"].unit, props["EC_uScm"].decisions) == ("µS/cm", [])
    assert props["AU"].unit == "ppm"  # the file says so: kept, but to be checked
    assert "check the unit (Au: median 1 ppm is 667× the upper-crust" in props["AU"].decisions[0]
    assert "would fit in µg/kg" in props["AU"].decisions[0]
    assert (props["Fe2O3_pct"].unit, props["Fe2O3_pct"].decisions) == ("wt. %", [])
    assert props["LOI_480"].unit == "%"  # written, so the unreadable units row is not used
    assert "units row says 'weird', which is not a unit" in props["LOI_480"].decisions[0]
    # describe finds the units row itself, and lists all three problems in one run
    proposal = propose(path)
    assert "units_row = 2" in proposal.text
    assert sorted(d.split(":")[0] for d in proposal.decisions if d.startswith("column")) == [
        "column 'AU'", "column 'LOI_480'", "column 'pH'"]  # fmt: skip
    parse_descriptor(proposal.text)


def test_units_row_and_name_disagree(tmp_path: Path, data_dir: Path) -> None:
    path = renamed_table(tmp_path, data_dir, ["AU_PPB"], ["ppm"])
    p = proposals(path, units_row=2)["AU_PPB"]
    assert p.unit == "ppm"
    assert "the units row says 'ppm' but the name says µg/kg" in p.decisions[0]


def test_no_analyte_column(tmp_path: Path, data_dir: Path) -> None:
    path = renamed_table(tmp_path, data_dir, [])
    raw = read_table(path, Source())
    with pytest.raises(DescriptorError, match=r"no analyte columns were recognised.*--header-row"):
        propose_columns(raw, {})
    with pytest.raises(DescriptorError, match="no analyte columns were recognised"):
        propose_descriptor(path)


def test_propose_column_alone(tmp_path: Path, data_dir: Path) -> None:
    path = renamed_table(tmp_path, data_dir, ["Hg"])
    raw = read_table(path, Source())
    p = propose_column(raw, "Hg", recognise_column("Hg"))  # type: ignore[arg-type]
    assert p.unit == "µg/kg"


# --- workbooks of several sheets ---------------------------------------------------------------


SHEET = "Kola C-horizon"


def workbook(tmp_path: Path, data_dir: Path) -> Path:
    """A notes sheet first, the Kola C-horizon data (a few columns) on the second."""
    import openpyxl

    book = openpyxl.Workbook()
    notes = book.active
    notes.title = "Notes"
    for line in (
        "Kola Ecogeochemistry Project, C-horizon soils (1995)",
        "Reimann et al. 1998",
        "",
        "Data on the next sheet; XCOO/YCOO UTM 35N",
    ):
        notes.append([line])  # fmt: skip
    data = book.create_sheet(SHEET)
    columns = ["ID", "XCOO", "YCOO", "pH", "EC", "Cu", "Al2O3", "Au_INAA"]
    data.append(columns)
    for i, row in kola(data_dir, "chorizon").items():
        data.append([i, *(float(row[c]) for c in columns[1:])])
    path = tmp_path / "kola.xlsx"
    book.save(path)
    return path


def test_first_sheet_without_data_names_the_sheets(tmp_path: Path, data_dir: Path) -> None:
    path = workbook(tmp_path, data_dir)
    with pytest.raises(DescriptorError) as err:
        propose_descriptor(path)
    message = str(err.value)
    assert "the workbook has 2 sheets: 'Notes' (0), 'Kola C-horizon' (1)" in message
    assert "--sheet" in message
    text = propose_descriptor(path, sheet=SHEET)
    assert 'sheet = "Kola C-horizon"' in text
    assert '"pH" = { element = "pH", unit = "pH" }' in text


def test_describe_command_with_sheet(tmp_path: Path, data_dir: Path, env: dict[str, str],
                                     capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    path = workbook(tmp_path, data_dir)
    with pytest.raises(SystemExit) as exit_:
        main(["describe", str(path)])
    assert exit_.value.code != 0
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert "'Notes' (0), 'Kola C-horizon' (1)" in err
    assert f"chemearth describe {path.name} --sheet NAME" in err
    runner = CliRunner()
    by_name = runner.invoke(cli, ["describe", str(path), "--sheet", SHEET], env=env)
    assert by_name.exit_code == 0, by_name.output
    out = tmp_path / "kola.toml"
    by_number = runner.invoke(cli, ["describe", str(path), "--sheet", "1", "-o", str(out)],
                              env=env)  # fmt: skip
    assert by_number.exit_code == 0, by_number.output
    text = out.read_text(encoding="utf-8")
    assert "sheet = 1" in text
    assert by_name.output.replace('sheet = "Kola C-horizon"', "sheet = 1") == text
    assert 'crs = "EPSG:32635"' in text  # the boundaries of the settings were used
    r = runner.invoke(cli, ["ingest", "-d", str(out)], env=env)
    assert r.exit_code == 0, r.output
    assert "606 samples" in r.output


def test_describe_command_with_a_sheet_that_does_not_exist(tmp_path: Path,
                                                           data_dir: Path) -> None:  # fmt: skip
    path = workbook(tmp_path, data_dir)
    r = CliRunner().invoke(cli, ["describe", str(path), "--sheet", "Data"])
    assert r.exit_code != 0
    assert "no sheet 'Data'" in str(r.exception)
