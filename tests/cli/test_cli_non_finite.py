"""``chemearth ingest`` of a file with infinite, NaN and overflowing numbers (issue 16).

Such cells are not measurements: each row holding one is rejected with its file, row,
column, value and "not a finite number", never stored as a missing value. Without
``--strict`` the other rows are ingested (exit 0, the documented behaviour for bad rows);
with ``--strict`` nothing is and the exit code is :class:`~chemearth.errors.IngestRejected`'s.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from chemearth.cli import cli

CHEMEARTH = str(Path(sys.executable).parent / "chemearth")
#: (line in the file, column, value written, value reported): line 1 is the header. A
#: column read as numbers reports the number read (1e400 overflows to inf).
NON_FINITE = [(2, "cadmium", "inf", "inf"), (3, "copper", "-inf", "-inf"),
              (4, "lead", "nan", "nan"), (5, "zinc", "1e400", "inf"), (6, "x", "Infinity", "inf")]


@pytest.fixture
def survey(tmp_path: Path, data_dir: Path) -> tuple[Path, Path]:
    """Twenty Meuse rows with :data:`NON_FINITE` written in, and a descriptor for them."""
    from chemearth.ingest.shipped import shipped_descriptor

    lines = (data_dir / "meuse" / "meuse.csv").read_text(encoding="utf-8").splitlines()[:21]
    header = lines[0].split(",")
    for line, column, value, _ in NON_FINITE:
        fields = lines[line - 1].split(",")
        fields[header.index(column)] = value
        lines[line - 1] = ",".join(fields)
    csv = tmp_path / "meuse-non-finite.csv"
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    desc = tmp_path / "meuse.toml"
    desc.write_text(shipped_descriptor("meuse").read_text(encoding="utf-8"), encoding="utf-8")
    return csv, desc


@pytest.fixture
def env(tmp_path: Path, boundaries: Path) -> dict[str, str]:
    return {"CHEMEARTH_HOME": str(tmp_path / "store"), "CHEMEARTH_BOUNDARIES": str(boundaries)}


def test_non_finite_rows_are_rejected_with_reasons_and_the_rest_ingested(
    survey: tuple[Path, Path], env: dict[str, str], tmp_path: Path
) -> None:
    import pandas as pd

    from chemearth.store import open_store

    csv, desc = survey
    report = tmp_path / "rejects.csv"
    r = CliRunner().invoke(cli, ["ingest", "-d", str(desc), str(csv), "--rejects", str(report)],
                           env=env)
    assert r.exit_code == 0, r.output
    assert "meuse v1: 15 samples" in r.stdout
    assert "5 rows rejected" in r.stdout
    for line, column, _, shown in NON_FINITE:
        assert (f"meuse-non-finite.csv, row {line}, column {column!r}: "
                f"{'coordinate' if column == 'x' else 'value'} is not a finite number") in r.stderr
        assert f"(value {shown!r})" in r.stderr
    rejects = pd.read_csv(report, keep_default_na=False)
    assert sorted(zip(rejects["row"], rejects["column"], strict=True)) == [
        (line, column) for line, column, _, _ in NON_FINITE]
    assert rejects["reason"].str.contains("not a finite number").all()
    stored = open_store(env["CHEMEARTH_HOME"], read_only=True).measurements("meuse")
    assert len(stored) == 15 * 4
    assert stored["value"].notna().all()


def test_strict_ingest_of_non_finite_values_exits_non_zero_and_writes_nothing(
    survey: tuple[Path, Path], env: dict[str, str]
) -> None:
    from chemearth.errors import IngestRejected
    from chemearth.store import open_store

    csv, desc = survey
    proc = subprocess.run(
        [CHEMEARTH, "ingest", "--strict", "-d", str(desc), str(csv)],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    assert proc.returncode == IngestRejected.exit_code, proc.stderr
    assert "5 bad row(s) (first at row 2)" in proc.stderr
    assert "meuse-non-finite.csv, row 2, column 'cadmium': value is not a finite number" in (
        proc.stderr)
    assert "Traceback" not in proc.stderr
    assert open_store(env["CHEMEARTH_HOME"], read_only=True).datasets().empty
