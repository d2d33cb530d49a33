"""The interpolate, map and atlas commands, in process."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from chemearth.cli import cli

rasterio = pytest.importorskip("rasterio")


@pytest.fixture
def run(grid_store, data_dir, monkeypatch):
    monkeypatch.setenv("CHEMEARTH_HOME", str(grid_store.home))
    monkeypatch.setenv("CHEMEARTH_BOUNDARIES",
                       str(data_dir / "boundaries" / "ne_110m_admin_0_countries.geojson"))

    def invoke(*args: str):
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)

    return invoke


def test_interpolate_prints_variogram_and_cross_validation(run) -> None:
    r = run("interpolate", "meuse", "Zn")
    assert r.exit_code == 0, r.output
    assert "variogram: spherical: nugget 0.05067, partial sill 0.5906, range 897" in r.output
    assert "cross-validation (leave-one-out): RMSE 217" in r.output


@pytest.mark.parametrize(("suffix", "check"), [
    (".csv", lambda p: p.read_text().startswith("cell_key,cell_id,")),
    (".parquet", lambda p: p.stat().st_size > 0),
])
def test_interpolate_writes_cells(run, tmp_path, suffix, check) -> None:
    out = tmp_path / f"zn{suffix}"
    r = run("interpolate", "meuse", "Zn", "--grid", "europe", "--level", "500m", "-o", str(out))
    assert r.exit_code == 0, r.output
    assert check(out)


def test_interpolate_writes_a_georeferenced_raster(run, tmp_path) -> None:
    out = tmp_path / "ni.tif"
    r = run("interpolate", "kola-chorizon", "Ni", "--interpolation", "idw", "--folds", "5",
            "-o", str(out))
    assert r.exit_code == 0, r.output
    assert "cross-validation (5)" in r.output
    with rasterio.open(out) as src:
        assert src.count == 2
        assert "Lambert_Azimuthal_Equal_Area" in src.crs.to_wkt()
        assert src.descriptions[0] == "Ni estimate (mg/kg)"


@pytest.mark.parametrize(("args", "message"), [
    (("--variogram", "spherical,1"), "MODEL,NUGGET,PSILL,RANGE"),
    (("--variogram", "cubic,0,1,100"), "unknown variogram model"),
])
def test_interpolate_bad_variogram(run, args, message) -> None:
    r = CliRunner().invoke(cli, ["interpolate", "meuse", "Zn", *args])
    assert r.exit_code == 2
    assert message in r.output


def test_fixed_variogram_is_used(run) -> None:
    r = run("interpolate", "meuse", "Zn", "--variogram", "exponential,0.1,0.5,300")
    assert "exponential: nugget 0.1, partial sill 0.5, range 300 m" in r.output


@pytest.mark.parametrize("kind", ["points", "cells", "surface"])
def test_map_writes_png_and_vector_pdf(run, tmp_path, kind) -> None:
    for suffix in (".png", ".pdf"):
        out = tmp_path / f"cu-{kind}{suffix}"
        r = run("map", "kola-chorizon", "Cu", "--kind", kind, "-o", str(out))
        assert r.exit_code == 0, r.output
        head = out.read_bytes()[:8]
        assert head.startswith(b"\x89PNG" if suffix == ".png" else b"%PDF")


def test_atlas_command(run, tmp_path) -> None:
    out = tmp_path / "atlas.pdf"
    r = run("atlas", "--dataset", "meuse", "--elements", "Zn,Cd,Xx", "--kind", "points",
            "-o", str(out))
    assert r.exit_code == 0, r.output
    assert "(7 pages, 2 elements)" in r.output
    assert "Xx: left out" in r.output


def test_atlas_command_with_analytics(tmp_path, data_dir, monkeypatch) -> None:
    """--analytics adds a C-A page per element and the factor pages (one store of Kola
    only, so that the test needs no grid layers)."""
    import warnings

    from chemearth.errors import ChemearthWarning
    from chemearth.ingest.descriptor import load_descriptor
    from chemearth.ingest.pipeline import ingest
    from chemearth.ingest.shipped import shipped_descriptor
    from chemearth.store import open_store

    home = tmp_path / "store"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ChemearthWarning)
        ingest(open_store(home), load_descriptor(shipped_descriptor("kola-chorizon")),
               data_dir=data_dir)
    monkeypatch.setenv("CHEMEARTH_HOME", str(home))
    monkeypatch.setenv("CHEMEARTH_BOUNDARIES",
                       str(data_dir / "boundaries" / "ne_110m_admin_0_countries.geojson"))
    out = tmp_path / "atlas.pdf"
    r = CliRunner().invoke(cli, ["atlas", "--dataset", "kola-chorizon", "--elements",
                                 "Cu,Co,Cr", "--kind", "points", "--analytics", "-o", str(out)],
                           catch_exceptions=False)
    assert r.exit_code == 0, r.output
    # cover, contents, methods, 3 elements, 3 C-A pages, factors and F1, summary, quality
    assert "(13 pages, 3 elements)" in r.output
