"""``chemearth global``: build, layers, baseline, coverage, exceedance and resources on a
copy of the session's grid store (five real surveys), in process (click's CliRunner, and
``main()`` for errors) and once through the installed script.

The pooled layers are built once for the module by ``chemearth global build --grid
global``; the CSV tables the commands write are compared with the library
(:mod:`chemearth.access.global_products`, which ``/api/global`` serves) and with numbers
counted here from ``store.measurements`` / ``store.samples`` with pandas and numpy.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from chemearth.access import global_products as gp
from chemearth.access.gateway import Gateway
from chemearth.access.policy import Actor
from chemearth.cli import cli, main
from chemearth.grid.coverage import coverage
from chemearth.grid.geometry import get_grid
from chemearth.grid.pooled import pooled_manifest

CHEMEARTH = str(Path(sys.executable).parent / "chemearth")
TOPSOIL = ("gemas", "usgs-ds801-top5")  #: the topsoil surveys of the grid store
G = get_grid("global")
ROOT = 160_000
#: GB 15618-2018 risk-screening values, land use "other", most protective pH band (mg/kg):
#: the limit of samples without pH (the grid store has no topsoil pH layer)
LOWEST_LIMIT = {"Zn": 200.0, "Pb": 70.0}


@pytest.fixture(scope="module")
def built(grid_store, tmp_path_factory: pytest.TempPathFactory, data_dir: Path,
          boundaries: Path) -> SimpleNamespace:
    home = tmp_path_factory.mktemp("global-cli") / "store"
    shutil.copytree(grid_store.home, home)
    env = {"CHEMEARTH_HOME": str(home), "CHEMEARTH_DATA": str(data_dir),
           "CHEMEARTH_BOUNDARIES": str(boundaries)}
    start = time.perf_counter()
    first = CliRunner().invoke(cli, ["global", "build", "--home", str(home), "--grid",
                                     "global"], env=env, catch_exceptions=False)
    seconds = time.perf_counter() - start
    from chemearth.store import open_store

    return SimpleNamespace(home=home, env=env, first=first, seconds=seconds,
                           store=open_store(home), boundaries=boundaries)


def run(built: SimpleNamespace, *args: str) -> str:
    r = CliRunner().invoke(cli, ["global", *args, "--home", str(built.home)], env=built.env,
                           catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r.output


def _csv(built: SimpleNamespace, tmp_path: Path, *args: str) -> pd.DataFrame:
    path = tmp_path / "out.csv"
    out = run(built, *args, "--csv", str(path))
    table = pd.read_csv(path, keep_default_na=False, na_values=[""])
    assert f"wrote {len(table)} rows to {path}" in out
    return table


def _status_rows(output: str) -> dict[str, tuple[int, int]]:
    """status -> (layers, recomputed) from the build's summary table."""
    rows = {}
    for line in output.splitlines():
        cells = [c.strip() for c in re.split(r"[│┃|]", line) if c.strip()]
        if len(cells) == 6 and cells[0] == "global":
            rows[cells[1]] = (int(cells[2].replace(",", "")), int(cells[4].replace(",", "")))
    return rows


def _values(store, element: str, datasets: tuple[str, ...]) -> pd.DataFrame:
    """Located topsoil values of ``element`` (total or near-total digestion)."""
    frames = []
    for ds in datasets:
        m = store.measurements(ds, 1, elements=[element])
        m = m[(m["medium"].astype(str) == "topsoil")
              & m["digestion"].astype(str).isin(["total", "near-total"])]
        if m.empty:
            continue
        assert m["method"].astype(str).nunique() == 1
        m = m.dropna(subset=["longitude", "latitude", "value"])
        frames.append(pd.DataFrame({
            "dataset_id": ds, "country": m["country"].astype("string").fillna("").to_numpy(),
            "longitude": m["longitude"].to_numpy(float),
            "latitude": m["latitude"].to_numpy(float),
            "value": m["value"].to_numpy(float), "censored": m["censored"].to_numpy(bool)}))
    f = pd.concat(frames, ignore_index=True)
    f["cell"] = G.cell_keys(f["longitude"].to_numpy(), f["latitude"].to_numpy(), ROOT)
    return f


def assert_tables_equal(got: pd.DataFrame, want: pd.DataFrame) -> None:
    """A CSV read back equals the library's table: same columns and rows, numbers to
    1e-12, text as text (empty and None alike)."""
    assert list(got.columns) == list(want.columns)
    assert len(got) == len(want)
    for c in want.columns:
        w = want[c]
        if pd.api.types.is_bool_dtype(w) or pd.api.types.is_numeric_dtype(w):
            np.testing.assert_allclose(got[c].to_numpy(float), w.to_numpy(float), rtol=1e-12,
                                       equal_nan=True, err_msg=c)
        else:
            norm = [("" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v))
                    for v in w]
            back = [("" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v))
                    for v in got[c]]
            assert back == norm, c


# ---------------------------------------------------------------------- build


def test_build_builds_every_layer_once(built) -> None:
    assert built.first.exit_code == 0, built.first.output
    assert "Pooled layers (public)" in built.first.output
    rows = _status_rows(built.first.output)
    layers = pooled_manifest(built.store)["layers"]
    assert set(rows) == {"built"}
    assert rows["built"][0] == len(layers) > 100
    assert {e["grid"] for e in layers} == {"global"}  # --grid global
    cells = sum(v["cells"] for e in layers for v in e["by_level"].values())
    assert rows["built"][1] == cells


def test_a_second_build_reports_every_layer_unchanged(built) -> None:
    before = pooled_manifest(built.store)
    start = time.perf_counter()
    out = run(built, "build", "--grid", "global")
    seconds = time.perf_counter() - start
    rows = _status_rows(out)
    assert set(rows) == {"unchanged"}
    assert rows["unchanged"] == (len(before["layers"]), 0)
    after = pooled_manifest(built.store)
    assert after["layers"] == before["layers"]
    assert seconds < built.seconds / 2  # nothing recomputed


def test_layers_lists_the_manifest(built) -> None:
    out = run(built, "layers")
    man = pooled_manifest(built.store)
    for e in man["layers"]:
        if (e["medium"], e["method"]) == ("topsoil", "total") and e["element"] in ("Zn", "Pb"):
            datasets = ", ".join(m["dataset_id"] for m in e["members"])
            cells = e["by_level"][str(ROOT)]["cells"]
            pattern = (rf"global\s*│\s*topsoil\s*│\s*total\s*│\s*{e['element']}\s*│\s*mg/kg"
                       rf"\s*│\s*{re.escape(datasets)}\s*│\s*{cells}\s")
            assert re.search(pattern, out), (e["element"], datasets)
    assert {m["dataset_id"] for e in man["layers"] if e["element"] == "Zn"
            and e["medium"] == "topsoil" for m in e["members"]} == set(TOPSOIL)
    excluded = run(built, "layers", "--excluded")
    assert "Left out" in excluded
    assert "method in no class" in excluded
    assert "grain size analysis" in excluded  # GEMAS's sand, silt and clay


# ---------------------------------------------------------------------- products


def test_baseline_csv_equals_the_library(built, tmp_path: Path) -> None:
    got = _csv(built, tmp_path, "baseline", "Zn", "--medium", "topsoil", "--method", "total")
    want = gp.baselines(Gateway(built.store), Actor.anonymous(), "Zn", medium="topsoil",
                        method="total", boundaries=built.boundaries).table
    assert_tables_equal(got, want)
    f = _values(built.store, "Zn", TOPSOIL)
    row = got.set_index("weighting").loc["samples"]
    assert row["n"] == len(f)
    assert row["median"] == pytest.approx(np.median(f["value"]), rel=1e-12)
    assert row["p75"] == pytest.approx(np.percentile(f["value"], 75), rel=1e-12)
    assert row["n_cells"] == f["cell"].nunique()


def test_baseline_by_country_and_declustered(built, tmp_path: Path) -> None:
    got = _csv(built, tmp_path, "baseline", "Pb", "--medium", "topsoil", "--method",
               "total", "--scale", "country", "--weighting", "declustered")
    assert set(got["weighting"]) == {"declustered"}
    f = _values(built.store, "Pb", TOPSOIL)
    us = got.set_index("region").loc["US"]
    assert us["n"] == (f["country"] == "US").sum()
    per = f[f["country"] == "US"].groupby("cell").size().to_numpy(float)
    assert us["effective_n"] == pytest.approx(len(per) ** 2 / np.sum(1 / per), rel=1e-9)


@pytest.fixture(scope="module")
def topsoil_coverage(built):
    return gp.coverage_of(Gateway(built.store), Actor.anonymous(), "topsoil",
                          built.boundaries)


@pytest.mark.parametrize("by", ["world", "continent", "country"])
def test_coverage_csv_equals_the_library_and_the_samples(built, topsoil_coverage,
                                                         tmp_path: Path, by: str) -> None:
    got = _csv(built, tmp_path, "coverage", "topsoil", "--by", by)
    cov = topsoil_coverage
    want = {"world": pd.DataFrame([cov.world]), "continent": cov.by_continent,
            "country": cov.by_country}[by]
    assert_tables_equal(got, want)
    # directly: the members' sampled sites (DS-801's 16 planned, never sampled, sites
    # have no values and are not samples)
    sites = []
    for ds in TOPSOIL:
        s = built.store.samples(ds, 1)
        sites.append(s[(s["medium"].astype(str) == "topsoil") & s["sampled"].fillna(True)])
    s = pd.concat(sites)
    direct = coverage(s["longitude"].to_numpy(float), s["latitude"].to_numpy(float),
                      built.boundaries)
    if by == "world":
        for key in ("n_samples", "n_cells_1", "n_cells_5", "n_cells_land"):
            assert got[key].iloc[0] == direct.world[key], key
        assert got["share_5"].iloc[0] == pytest.approx(direct.world["share_5"], rel=1e-12)
        out = run(built, "coverage", "topsoil")
        w = direct.world
        assert (f"topsoil: {100 * w['share_1']:.1f} % of land covered (>= 1 sample), "
                f"{100 * w['share_5']:.1f} % (>= 5); {w['n_cells_1']} of "
                f"{w['n_cells_land']} land cells of 160 km") in out


def test_exceedance_csv_equals_the_library_and_a_count(built, tmp_path: Path) -> None:
    got = _csv(built, tmp_path, "exceedance", "Zn", "Pb", "--by", "country")
    gw = Gateway(built.store)
    want = pd.concat([gp.exceedance_of(gw, Actor.anonymous(), el).countries
                      for el in ("Zn", "Pb")], ignore_index=True)
    assert_tables_equal(got, want)
    for el, limit in LOWEST_LIMIT.items():
        f = _values(built.store, el, TOPSOIL)
        mine = got[got["element"] == el].set_index("country")
        for c, g in f.groupby("country"):
            above = int((~g["censored"] & (g["value"] > limit)).sum())
            undecided = int((g["censored"] & (g["value"] > limit)).sum())
            assert (mine.loc[c, "n"], mine.loc[c, "n_above"], mine.loc[c, "n_indeterminate"]) \
                == (len(g), above, undecided), (el, c)
            assert mine.loc[c, "limit_min"] == limit


def test_exceedance_by_cell(built, tmp_path: Path) -> None:
    got = _csv(built, tmp_path, "exceedance", "Zn", "--by", "cell")
    f = _values(built.store, "Zn", TOPSOIL)
    f["above"] = ~f["censored"] & (f["value"] > LOWEST_LIMIT["Zn"])
    want = f.groupby("cell")["above"].agg(["size", "sum"])
    want.index = G.key_to_id(want.index.to_numpy())
    mine = got.set_index("cell_id").loc[want.index]
    assert mine["n"].tolist() == want["size"].tolist()
    assert mine["n_above"].tolist() == want["sum"].tolist()
    assert len(got) == len(want)


@pytest.mark.parametrize("by", ["world", "country"])
def test_resources_csv_equals_the_library(built, tmp_path: Path, by: str) -> None:
    got = _csv(built, tmp_path, "resources", "Zn", "--medium", "topsoil", "--method",
               "total", "--by", by, "--depth", "0.5", "--density", "1.3")
    r = gp.resources_of(Gateway(built.store), Actor.anonymous(), "Zn", built.boundaries,
                        medium="topsoil", method="total", depth_m=0.5,
                        bulk_density_t_m3=1.3)
    assert_tables_equal(got, {"world": r.world, "country": r.countries}[by])
    if by == "world":  # land of covered cells × depth × density × cell median
        from chemearth.grid.coverage import land_parts

        f = _values(built.store, "Zn", TOPSOIL)
        median = f.groupby("cell")["value"].median()
        land = land_parts(built.boundaries, "global", ROOT)
        land = land[(land["continent"] != "Antarctica") & land["cell"].isin(median.index)]
        tonnes = (land["land_km2"] * 0.5 * 1.3 * land["cell"].map(median)).sum()
        assert got["tonnes_median"].iloc[0] == pytest.approx(tonnes, rel=1e-9)


# ---------------------------------------------------------------------- errors


@pytest.mark.parametrize(("args", "message"), [
    (["baseline", "Xx"], "no pooled global layer of 'Xx'"),
    (["resources", "Xx"], "no pooled global layer of 'Xx'"),
    (["exceedance", "Xx"], "no pooled global layer of 'Xx'"),
    (["exceedance", "Fe"], "no criterion for Fe"),
    (["coverage", "moss"], "no pooled layer of medium group 'moss'"),
    (["baseline", "Zn"], "'Zn' has"),  # several pooled layers: choose one
    (["baseline", "Zn", "--medium", "topsoil", "--scope", "org:NGU"],
     "no pooled global layer of 'Zn' in 'topsoil'"),  # never built
])
def test_errors_are_one_line_and_non_zero(built, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str],
                                          args: list[str], message: str) -> None:
    for k, v in built.env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(SystemExit) as info:
        main(["global", *args, "--home", str(built.home)])
    assert info.value.code not in (0, None)
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert err.count("\n") == 1
    assert message in err


@pytest.mark.parametrize("scope", ["private", "org:", "pooled:public", "Public"])
@pytest.mark.parametrize("command", [["layers"], ["baseline", "Zn"], ["build"]])
def test_a_scope_that_is_neither_public_nor_an_organisation_is_refused(
        built, command: list[str], scope: str) -> None:
    r = CliRunner().invoke(cli, ["global", *command, "--scope", scope, "--home",
                                 str(built.home)], env=built.env)
    assert r.exit_code == 2
    assert f"Invalid value for '--scope': {scope!r}: give public, or org:NAME" in r.output


def test_bad_element_through_the_installed_script(built) -> None:
    proc = subprocess.run(
        [CHEMEARTH, "global", "baseline", "Xx", "--home", str(built.home)],
        env={**built.env, "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
        check=False, timeout=300,
    )
    assert proc.returncode != 0
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: no pooled global layer of 'Xx'")
