"""The coarse country mask answers exactly as the point-in-polygon test it short-cuts.

Compared on the coordinates of the real surveys in the data folder, on points scattered
around the real borders (on them, a hair off, a cell off) and on points worldwide.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from chemearth.reference.countries import CountryLocator
from chemearth.reference.country_grid import BORDER, OUTSIDE, BorderGrid

DATA = Path(
    os.environ.get("CHEMEARTH_DATA") or Path(__file__).resolve().parents[3] / "shared" / "data"
)
NE_10M = DATA / "boundaries" / "ne_10m_admin_0_countries_deu.geojson"
NE_110M = DATA / "boundaries" / "ne_110m_admin_0_countries.geojson"

#: (file, x column, y column, CRS) of each real survey's coordinates
SURVEYS = [
    ("usgs_ds801/ds801_top5_raw.csv", "Longitude", "Latitude", "EPSG:4326"),
    ("usgs_ds520_colorado/colorado_soils_gcclust.csv", "longitude", "latitude", "EPSG:4326"),
    ("usgs_ngs_il_in/ngs_il_in_subset_geomla.csv", "lon", "lat", "EPSG:4326"),
    ("gemas/gemas.csv", "longitude", "latitude", "EPSG:4326"),
    ("kola/chorizon.csv", "XCOO", "YCOO", "EPSG:32635"),
    ("bss/bsstop.csv", "XCOO", "YCOO", "EPSG:32635"),
    ("meuse/meuse.csv", "x", "y", "EPSG:28992"),
    ("jura/jura_pred_val.csv", "long", "lat", "EPSG:4326"),
]


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"real data not available: {path}")
    return path


@pytest.fixture(scope="module", params=[NE_10M, NE_110M], ids=["10m", "110m"])
def loc(request: pytest.FixtureRequest) -> CountryLocator:
    return CountryLocator.from_file(_need(request.param))


def _survey_points() -> tuple[np.ndarray, np.ndarray]:
    lons, lats = [], []
    for name, xcol, ycol, crs in SURVEYS:
        if not (DATA / name).is_file():
            continue
        frame = pd.read_csv(DATA / name, usecols=[xcol, ycol], low_memory=False)
        x = pd.to_numeric(frame[xcol], errors="coerce").to_numpy(float)
        y = pd.to_numeric(frame[ycol], errors="coerce").to_numpy(float)
        if crs != "EPSG:4326":
            x, y = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(x, y)
        lons.append(np.asarray(x))
        lats.append(np.asarray(y))
    if not lons:
        pytest.skip("no real survey coordinates found")
    return np.concatenate(lons), np.concatenate(lats)


def _border_points(loc: CountryLocator, n: int = 40_000) -> tuple[np.ndarray, np.ndarray]:
    """Points on the boundaries, a hair off them, and up to a few cells away."""
    rng = np.random.default_rng(7)
    coords = shapely.get_coordinates(loc._lines)
    pick = coords[rng.integers(0, len(coords), n)]
    scale = rng.choice([0.0, 1e-12, 1e-7, 1e-3, 0.05, 0.15, 0.3], size=(n, 1))
    pts = pick + rng.normal(size=(n, 2)) * scale
    # points exactly on cell edges and corners of the 0.1-degree grid near the borders
    edges = np.round(pick[: n // 4] * 10) / 10
    return np.r_[pts[:, 0], edges[:, 0]], np.r_[pts[:, 1], edges[:, 1]]


def _world_points(n: int = 40_000) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    lon = rng.uniform(-180, 180, n)
    lat = rng.uniform(-90, 90, n)
    extremes = np.array([[-180, 0], [180, 0], [180, -90], [-180, 90], [179.95, 65.0],
                         [-179.95, 65.0], [0, 90], [0, -90], [np.nan, 1], [200, 10]])
    return np.r_[lon, extremes[:, 0]], np.r_[lat, extremes[:, 1]]


@pytest.mark.parametrize("points", ["surveys", "borders", "world"])
def test_locate_coarse_equals_exact(loc: CountryLocator, points: str) -> None:
    lon, lat = {"surveys": _survey_points, "borders": lambda: _border_points(loc),
                "world": _world_points}[points]()
    coarse = loc.locate(lon, lat, tolerance_km=10.0, coarse=True)
    exact = loc.locate(lon, lat, tolerance_km=10.0, coarse=False)
    assert coarse.country.tolist() == exact.country.tolist()
    np.testing.assert_array_equal(coarse.distance_km, exact.distance_km)


@pytest.mark.parametrize("code", ["US", "FI", "NO", "RU", "FR", "CH", "DE", "NL"])
@pytest.mark.parametrize("points", ["surveys", "borders"])
def test_distance_coarse_equals_exact(loc: CountryLocator, code: str, points: str) -> None:
    if code not in loc.codes:
        pytest.skip(f"{code} not in this boundaries file")
    lon, lat = _survey_points() if points == "surveys" else _border_points(loc, 10_000)
    coarse = loc.distance_to_country(lon, lat, code, coarse=True)
    exact = loc.distance_to_country(lon, lat, code, coarse=False)
    np.testing.assert_array_equal(coarse, exact)


def test_grid_decides_most_survey_points(loc: CountryLocator) -> None:
    """The mask is worth having: most real sample sites are far from any border."""
    lon, lat = _survey_points()
    ok = np.isfinite(lon) & np.isfinite(lat)
    cls = loc._border_grid().classify(lon[ok], lat[ok])
    assert (cls != BORDER).mean() > 0.6


def test_grid_cells_near_a_boundary_are_left_to_the_exact_test() -> None:
    pieces = np.array([shapely.box(0, 0, 10, 10), shapely.box(10, 0, 20, 10)])
    grid = BorderGrid(pieces, np.array([0, 1]), shapely.STRtree(pieces))
    x = np.array([5.0, 15.0, 10.0, 10.25, 9.99, 30.0, -179.99, 179.99])
    y = np.array([5.0, 5.0, 5.0, 5.0, 5.0, 5.0, 0.0, 0.0])
    assert grid.classify(x, y).tolist() == [0, 1, BORDER, BORDER, BORDER, OUTSIDE, OUTSIDE,
                                            OUTSIDE]


def test_grid_overlapping_countries_are_exact() -> None:
    """A cell held by two countries' polygons is never decided by the grid."""
    pieces = np.array([shapely.box(0, 0, 10, 10), shapely.box(-5, -5, 15, 15)])
    grid = BorderGrid(pieces, np.array([0, 1]), shapely.STRtree(pieces))
    assert grid.classify(np.array([5.0, 12.0]), np.array([5.0, 12.0])).tolist() == [BORDER, 1]
