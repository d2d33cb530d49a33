"""The assessment commands: standards, screen, change, anomalies and blocks."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from chemearth.assess.screening import screen
from chemearth.cli import cli, main
from chemearth.reference.standards import get_standard


@pytest.fixture(scope="module")
def home(demo_store) -> str:
    return str(demo_store.store.home)


def _run(args: list[str]) -> str:
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 0, r.output
    return r.output


def test_standards_list_and_show(home: str) -> None:
    out = _run(["standards", "--home", home])
    for sid in ("gb15618-2018", "gb36600-2018", "ccme-2007", "dutch-2000", "gb15618-1995"):
        assert sid in out
    out = _run(["standards", "gb15618-2018", "--home", home])
    assert "5.5 < pH <= 6.5" in out
    assert "Ministry of Ecology and Environment" in out


def test_screen_csv_equals_the_library(demo_store, home: str) -> None:
    out = _run(["screen", "kola-chorizon", "--by", "country", "--format", "csv", "--home", home])
    got = pd.read_csv(io.StringIO(out))
    want = screen(demo_store.store, "kola-chorizon", get_standard("gb15618-2018")).by_region()
    assert got["n_above_screening"].tolist() == want["n_above_screening"].tolist()
    out = _run(["screen", "kola-humus", "--home", home])
    assert "partial digestion" in out
    assert "GB 15618-2018" in out


def test_screen_cells_and_samples(home: str, tmp_path: Path) -> None:
    path = tmp_path / "cells.json"
    _run(["screen", "kola-chorizon", "--by", "cell", "--level", "20km", "-o", str(path),
          "--home", home])
    cells = json.loads(path.read_text())
    assert cells
    assert all(c["cell_id"].startswith("G20km") for c in cells)
    out = _run(["screen", "kola-chorizon", "--by", "sample", "--elements", "Ni", "--format",
                "csv", "--standard", "dutch-2000", "--home", home])
    frame = pd.read_csv(io.StringIO(out))
    assert set(frame["element"]) == {"Ni"}
    assert (frame["limit_target"] == 35).all()


def test_change_and_ratios(home: str) -> None:
    out = _run(["change", "kola-chorizon", "kola-humus", "--elements", "Pb,Cd", "--format",
                "json", "--home", home])
    rows = {r["element"]: r for r in json.loads(out)}
    assert rows["Pb"]["enriched"] == "upper"
    assert rows["Pb"]["median_ratio"] > 5
    out = _run(["change", "bss-bottom", "bss-top", "Pb", "--level", "160km", "--home", home])
    assert "no significant change" in out
    assert "768 sites paired, declared (bss-bottom same_sites_as bss-top)" in out


@pytest.mark.parametrize(("args", "message"), [
    # unrelated surveys whose sample ids coincide: ratios, and change by pairs
    (["change", "meuse", "jura"], "'jura' and 'meuse' have no sample in common"),
    (["change", "meuse", "jura", "Zn", "--pairing", "sites"],
     "'meuse' and 'jura' have no sample in common"),
    (["change", "meuse", "jura", "--max-distance", "500"], "within 500 m"),
])
def test_unpaired_datasets_exit_non_zero(home: str, capsys: pytest.CaptureFixture[str],
                                         args: list[str], message: str) -> None:
    with pytest.raises(SystemExit) as info:
        main([*args, "--home", home])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: datasets ")
    assert message in err
    assert "(pairing by co-location)" in err
    assert err.count("\n") == 1


def test_the_cli_distance_default_is_the_library_one() -> None:
    from chemearth.assess.pairing import DEFAULT_MAX_DISTANCE_M

    opt = next(p for p in cli.commands["change"].params if p.name == "max_distance")
    assert opt.default == DEFAULT_MAX_DISTANCE_M


def test_anomalies_geojson(home: str, tmp_path: Path) -> None:
    path = tmp_path / "targets.geojson"
    _run(["anomalies", "kola-humus", "Ni", "Cu", "--threshold", "p85", "-o", str(path),
          "--home", home])
    doc = json.loads(path.read_text())
    first = doc["features"][0]
    assert first["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert first["properties"]["rank"] == 1
    assert first["properties"]["association"] == "Cu"
    out = _run(["anomalies", "kola-humus", "Ni", "Cu", "Co", "--signature", "--home", home])
    assert "robust distance cut-off" in out


def test_blocks_with_calibration(home: str) -> None:
    out = _run(["blocks", "kola-humus", "Ni", "--known-at", "32.92,67.94", "--known-resource",
                "2000000", "--format", "csv", "--home", home])
    t = pd.read_csv(io.StringIO(out))
    calibrated = t[t["resource_t"].notna()]
    assert calibrated["resource_t"].max() == pytest.approx(2_000_000)
    assert (t["metal_t"] > 0).all()


def test_errors_are_one_line(home: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["screen", "kola-chorizon", "--standard", "gb9999", "--home", home])
    assert info.value.code == 6
    err = capsys.readouterr().err
    assert err.startswith("error: no standard 'gb9999'")
    assert err.count("\n") == 1
    with pytest.raises(SystemExit) as info:
        main(["screen", "kola-chorizon", "--land-use", "moon", "--home", home])
    assert "unknown land use 'moon'" in capsys.readouterr().err
