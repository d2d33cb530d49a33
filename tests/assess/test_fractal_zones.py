"""Anomaly zones, composite anomalies and C-A thresholds on gridded surfaces.

Small surfaces are laid on the European grid (ETRS89-LAEA, 10 km cells) from samples at
known cell centres, so every zone, score and area can be checked by hand; polygons are
checked with shapely (valid, disjoint, of the cells' area once projected back to LAEA).
The Kola C-horizon Cu surface (Reimann et al. 1998) is the real example.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely

from chemearth.assess.anomalies import AnomalyError, as_geojson, surface
from chemearth.assess.fractal_zones import (
    composite_anomalies,
    concentration_area_of,
    surface_raster,
    zone_layer,
    zone_polygons,
)
from chemearth.stats.fractal import concentration_area

#: LAEA corner of the test block (a cell corner of every level) and the cell size.
X0, Y0, SIZE = 4_000_000.0, 3_000_000.0, 10_000.0
TO_WGS = pyproj.Transformer.from_crs("EPSG:3035", "EPSG:4326", always_xy=True)
TO_LAEA = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:3035", always_xy=True)


def block(values: list[list[float]], censored: list[list[bool]] | None = None,
          variable: str = "Cu"):
    """A surface with one sample at the centre of each cell of a raster (row 0 north);
    NaN leaves the cell empty."""
    rows = []
    for i, line in enumerate(values):
        for j, v in enumerate(line):
            if np.isnan(v):
                continue
            x = X0 + (j + 0.5) * SIZE
            y = Y0 + (len(values) - i - 0.5) * SIZE
            lon, lat = TO_WGS.transform(x, y)
            rows.append({"sample_id": f"{variable}{i}{j}", "longitude": lon, "latitude": lat,
                         "value": v,
                         "censored": bool(censored[i][j]) if censored else False})
    return surface(pd.DataFrame(rows), variable=variable, grid="europe", level="10km")


CU = [[1.0, 2.0, 12.0, 25.0],
      [3.0, 11.0, 22.0, 45.0],
      [np.nan, 4.0, 9.0, 50.0]]


def test_surface_raster_puts_cells_back_in_place() -> None:
    r = surface_raster(block(CU))
    np.testing.assert_array_equal(r.values, np.array(CU))
    assert (r.west, r.north, r.size) == (X0, Y0 + 3 * SIZE, SIZE)
    assert (r.keys >= 0).sum() == 11


@pytest.mark.parametrize(("threshold", "expected"), [
    (10.0, [[0, 0, 1, 2], [0, 1, 2, 3], [-1, 0, 0, 3]]),
    (20.0, [[0, 0, 0, 1], [0, 0, 1, 2], [-1, 0, 0, 2]]),
    (5.0, [[0, 0, 2, 3], [0, 2, 3, 3], [-1, 0, 1, 3]]),
])
def test_zone_layer_by_hand(threshold: float, expected: list) -> None:
    surf = block(CU)
    layer = zone_layer(surf, threshold)
    r = surface_raster(surf)
    got = np.full(r.values.shape, -1)
    for key, zone in zip(layer["cell"], layer["zone"], strict=True):
        got[r.keys == key] = zone
    assert got.tolist() == expected
    names = dict(zip(layer["zone"], layer["zone_name"], strict=True))
    assert {names.get(1), names.get(2), names.get(3)} <= {"outer", "middle", "inner", None}


def test_zone_polygons_are_valid_disjoint_and_of_the_cells_area() -> None:
    surf = block(CU)
    polys = zone_polygons(surf, 10.0)
    assert polys[["zone", "name", "lower", "n_cells", "area_km2"]].values.tolist() == [
        [1, "outer", 10.0, 2, 200.0], [2, "middle", 20.0, 2, 200.0],
        [3, "inner", 40.0, 2, 200.0]]
    geoms = list(polys["geometry"])
    for g, n in zip(geoms, polys["n_cells"], strict=True):
        assert g.is_valid
        laea = shapely.transform(g, lambda xy: np.column_stack(
            TO_LAEA.transform(xy[:, 0], xy[:, 1])))
        assert laea.area / 1e6 == pytest.approx(100.0 * n, rel=1e-3)
    for a in range(3):
        for b in range(a + 1, 3):
            assert geoms[a].intersection(geoms[b]).area < 1e-9
    gj = as_geojson(polys)
    assert gj["type"] == "FeatureCollection"
    assert [f["properties"]["name"] for f in gj["features"]] == ["outer", "middle", "inner"]
    for f in gj["features"]:
        assert shapely.geometry.shape(f["geometry"]).is_valid


@pytest.mark.parametrize(("dl", "threshold", "zone"), [
    (4.0, 10.0, 0),    # "< 4": certainly below 10
    (10.0, 10.0, 0),   # "< 10": below 10
    (30.0, 10.0, -1),  # "< 30": may or may not reach 10: not zoned
])
def test_a_censored_cell_is_not_zoned_as_measured(dl: float, threshold: float,
                                                  zone: int) -> None:
    values = [[dl, 12.0], [1.0, 2.0]]
    cens = [[True, False], [False, False]]
    surf = block(values, cens)
    layer = zone_layer(surf, threshold)
    r = surface_raster(surf)
    assert r.censored.tolist() == [[True, False], [False, False]]
    key = r.keys[0, 0]
    assert layer.loc[layer["cell"] == key, "zone"].item() == zone


COMPOSITE = {
    "Cu": ([[1.0, 12.0, 25.0], [45.0, np.nan, 3.0]], 10.0),  # zones 0 1 2 / 3 . 0
    "Ni": ([[6.0, 1.0, 2.0], [2.0, 9.0, np.nan]], 2.0),      # zones 2 0 1 / 1 3 .
}


def test_composite_anomalies_by_hand() -> None:
    layers = {el: (block(v, variable=el), thr) for el, (v, thr) in COMPOSITE.items()}
    comp = composite_anomalies(layers)
    r = surface_raster(layers["Cu"][0], keys=comp.cells["cell"].to_numpy())
    want = {"score": [[2, 1, 3], [4, 3, 0]], "count": [[1, 1, 2], [2, 1, 0]],
            "n_valid": [[2, 2, 2], [2, 1, 1]], "zone_Cu": [[0, 1, 2], [3, -1, 0]],
            "zone_Ni": [[2, 0, 1], [1, 3, -1]]}
    for column, expected in want.items():
        got = np.full(r.values.shape, -9)
        for key, value in zip(comp.cells["cell"], comp.cells[column], strict=True):
            got[r.keys == key] = value
        assert got.tolist() == expected, column
    assert comp.polygons[["zone", "name", "n_cells"]].values.tolist() == [
        [1, "1 of 2 elements anomalous", 3], [2, "2 of 2 elements anomalous", 2]]
    assert all(g.is_valid for g in comp.polygons["geometry"])
    assert comp.thresholds == {"Cu": 10.0, "Ni": 2.0}


def test_composite_needs_one_grid_level() -> None:
    a = block([[1.0, 2.0]])
    b = surface(a.samples.drop(columns="cell"), variable="Ni", grid="europe", level="20km")
    with pytest.raises(AnomalyError, match="grid and level"):
        composite_anomalies({"Cu": (a, 1.0), "Ni": (b, 1.0)})


# ------------------------------------------------------------------ the Kola survey


@pytest.fixture(scope="module")
def kola_cu(data_dir: Path):
    d = pd.read_csv(data_dir / "kola" / "chorizonDL.csv")
    lon, lat = pyproj.Transformer.from_crs("EPSG:32635", "EPSG:4326", always_xy=True
                                           ).transform(d["XCOO"].to_numpy(), d["YCOO"].to_numpy())
    s = pd.DataFrame({"sample_id": d["*ID"].astype(str), "longitude": lon, "latitude": lat,
                      "value": d["Cu"].to_numpy(float), "censored": False})
    return surface(s, variable="Cu", grid="europe", level="10km")


def test_kola_ca_thresholds_in_km2_and_zones(kola_cu) -> None:
    fit = concentration_area_of(kola_cu, n_breakpoints=2)
    # the same as the stats function on the cell values, areas in km²
    same = concentration_area(kola_cu.cells["value"].to_numpy(), n_breakpoints=2,
                              cell_area=100.0)
    np.testing.assert_allclose(fit.thresholds, same.thresholds)
    assert fit.curve.measure.max() == 100.0 * len(kola_cu.cells)
    assert fit.thresholds[0] < fit.thresholds[1]
    threshold = float(fit.thresholds[-1])
    layer = zone_layer(kola_cu, threshold)
    polys = zone_polygons(kola_cu, threshold)
    values = kola_cu.cells["value"].to_numpy()
    for z, lower in zip(polys["zone"], polys["lower"], strict=True):
        upper = 2 * lower if z < 3 else np.inf
        n = int(((values >= lower) & (values < upper)).sum())
        assert polys.loc[polys["zone"] == z, "n_cells"].item() == n
        assert (layer["zone"] == z).sum() == n
    gj = as_geojson(polys)
    assert all(shapely.geometry.shape(f["geometry"]).is_valid for f in gj["features"])
