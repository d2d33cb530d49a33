"""``chemearth check``: every problem of a descriptor at once, before anything is written.

Each broken descriptor is a shipped one with mistakes put in the way users make them; the
check must list all of them in one run, and every shipped descriptor must pass.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from chemearth.cli import cli
from chemearth.ingest.check import check_file
from chemearth.ingest.shipped import shipped_descriptor

SHIPPED = sorted(p.stem for p in Path(shipped_descriptor("meuse")).parent.glob("*.toml"))


def _text(dataset_id: str) -> str:
    return Path(shipped_descriptor(dataset_id)).read_text(encoding="utf-8")


@pytest.mark.parametrize("dataset_id", SHIPPED)
def test_every_shipped_descriptor_passes(dataset_id: str, data_dir: Path,
                                         boundaries: Path) -> None:
    report = check_file(None, Path(shipped_descriptor(dataset_id)), data_dir=data_dir,
                        boundaries=boundaries)
    assert report.ok, report.lines()
    assert report.n_rows > 0


def test_all_problems_in_one_run(data_dir: Path, boundaries: Path) -> None:
    """Two missing columns, a unit that does not convert and a wrong CRS: four problems."""
    text = _text("kola-chorizon")
    text = text.replace('Ag = "Ag"', 'Ag_ppm = "Ag"').replace('Al = "Al"', 'AL = "Al"')
    text = text.replace('unit = "pH", method', 'unit = "mg/kg", method', 1)
    text = text.replace('crs = "EPSG:32635"', 'crs = "EPSG:32631"')
    assert text.count("EPSG:32631") == 1
    assert 'unit = "mg/kg", method = "pH' in text
    report = check_file(None, text, data_dir=data_dir, boundaries=boundaries)
    assert not report.ok
    errors = {p.where: p.message for p in report.problems if p.severity == "error"}
    assert errors["column 'Ag_ppm'"] == "named in the descriptor but not in the file"
    assert "did you mean 'Al'?" in errors["column 'AL'"]
    assert "[columns].pH" in errors
    crs = errors["[coordinates].crs"]
    assert re.search(r"with EPSG:32631 only \d+% of the points fall on land", crs), crs


def test_missing_crs_is_a_decision(data_dir: Path, boundaries: Path) -> None:
    text = _text("meuse").replace('crs = "EPSG:28992"', "")
    report = check_file(None, text, data_dir=data_dir, boundaries=boundaries)
    decisions = [p for p in report.problems if p.severity == "decision"]
    assert [p.where for p in decisions][:1] == ["[coordinates].crs"]
    assert not report.ok


@pytest.mark.parametrize(("dataset_id", "column", "value"), [
    ("bss-bottom", "Ni_B", "1.5"),
    ("kola-chorizon", "Au_INAA", "0.001"),
    ("meuse", "cadmium", "0.2"),
])
def test_undeclared_substitution_constant_is_a_decision(
        dataset_id: str, column: str, value: str, data_dir: Path, boundaries: Path) -> None:
    text = _text(dataset_id)
    text = "\n".join(ln for ln in text.splitlines() if not ln.startswith(f'"{column}" = {{ value'))
    report = check_file(None, text, data_dir=data_dir, boundaries=boundaries)
    found = [p for p in report.problems if p.where == f"[censoring.substituted].{column}"]
    assert len(found) == 1
    assert found[0].severity == "decision"
    assert found[0].message.startswith(f"{value} in ")
    assert "smallest value" in found[0].message
    assert not report.ok


def test_zeros_without_limits_are_a_decision(data_dir: Path, boundaries: Path) -> None:
    text = _text("meuse-all").replace('{ element = "Cd", detection_limit = 0.4 }', '"Cd"')
    report = check_file(None, text, data_dir=data_dir, boundaries=boundaries)
    assert any(p.severity == "decision" and "kept as missing" in p.message
               for p in report.problems), report.lines()


def test_rows_to_reject_are_counted_with_examples(data_dir: Path, boundaries: Path) -> None:
    report = check_file(None, Path(shipped_descriptor("gemas")), data_dir=data_dir,
                        boundaries=boundaries)
    assert report.ok
    rows = [p.message for p in report.problems if p.where == "rows"]
    assert rows == ["1 of 2108 rows would be rejected"]
    assert any("row 295" in p.message for p in report.problems)


def test_cli_exit_status(env: dict[str, str], data_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    r = runner.invoke(cli, ["check", "-d", "meuse"], env=env)
    assert r.exit_code == 0, r.output
    assert "ready to ingest" in r.output
    bad = tmp_path / "meuse.toml"
    bad.write_text(_text("meuse").replace('lead = "Pb"', 'lead_ppm = "Pb"'), encoding="utf-8")
    r = runner.invoke(cli, ["check", "-d", str(bad), "--format", "json"], env=env)
    assert r.exit_code == 1
    assert '"ok": false' in r.output
    assert "lead_ppm" in r.output
