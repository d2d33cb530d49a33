"""Land coverage of the Global Reference Network, checked against an independent computation.

The independent side shares no chemearth code: it reads the Natural Earth GeoJSON with
:mod:`json` and shapely, keys samples to 160 km cells with its own pyproj transformer and
``floor``, builds each cell as the longitude/latitude rectangle it is in EASE-Grid 2.0 (a
cylindrical projection: cell edges are meridians and parallels), densified in degrees,
intersects it with the raw country polygons (whose edges ``pyproj.Geod`` then takes as
geodesics, where chemearth takes them as straight in longitude/latitude) and measures areas
with ``Geod.geometry_area_perimeter``; a second check measures planar areas in EPSG:6933,
which is equal-area on the WGS84 ellipsoid.

Samples are those of the session ``grid_store`` (Kola humus and C-horizon, USGS DS-801
topsoil, Meuse, GEMAS).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely
from pyproj import Geod
from shapely.geometry import shape
from shapely.geometry.polygon import orient

from chemearth.errors import GridError, InputFileError, StatisticsError, TooManyCellsError
from chemearth.grid.coverage import LAND_COLUMNS, coverage, land_parts
from chemearth.grid.geometry import EASE_X, EASE_Y, get_grid

DATASETS = ("kola-humus", "kola-chorizon", "usgs-ds801-top5", "meuse", "gemas")
SIZE = 160_000.0
GEOD = Geod(ellps="WGS84")
TO_EASE = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:6933", always_xy=True)
FROM_EASE = pyproj.Transformer.from_crs("EPSG:6933", "EPSG:4326", always_xy=True)
LAT_MAX = FROM_EASE.transform(0.0, EASE_Y)[1]  # 85.0445664°: the grid's northern edge

Selector = Callable[[dict], bool]


# ------------------------------------------------------------------ independent computation


@pytest.fixture(scope="module")
def raw(boundaries: Path) -> list[tuple[dict, shapely.Geometry]]:
    """(properties, geometry) of every feature; invalid ones repaired with buffer(0)."""
    out = []
    for f in json.loads(boundaries.read_text())["features"]:
        geom = shape(f["geometry"])
        out.append((f["properties"], geom if geom.is_valid else geom.buffer(0)))
    return out


@pytest.fixture(scope="module")
def samples(grid_store) -> pd.DataFrame:
    return pd.concat([grid_store.samples(ds) for ds in DATASETS], ignore_index=True)


def sample_counts(lon: np.ndarray, lat: np.ndarray) -> Counter:
    """Samples per (column, row) of 160 km EASE-Grid 2.0 cells."""
    x, y = TO_EASE.transform(np.asarray(lon, float), np.asarray(lat, float))
    ok = np.isfinite(x) & np.isfinite(y) & (np.abs(y) <= EASE_Y)
    cols, rows = np.floor(x[ok] / SIZE).astype(int), np.floor(y[ok] / SIZE).astype(int)
    return Counter(zip(cols.tolist(), rows.tolist(), strict=True))


def rectangle(col: int, row: int) -> shapely.Polygon:
    """A 160 km cell as a longitude/latitude rectangle, densified to 0.05° along its edges."""
    x0, x1 = max(col * SIZE, -EASE_X), min((col + 1) * SIZE, EASE_X)
    y0, y1 = max(row * SIZE, -EASE_Y), min((row + 1) * SIZE, EASE_Y)
    (lon0, lon1), (lat0, lat1) = FROM_EASE.transform([x0, x1], [y0, y1])
    return shapely.segmentize(shapely.box(lon0, lat0, lon1, lat1), 0.05)


def geod_km2(geom: shapely.Geometry) -> float:
    return sum(
        abs(GEOD.geometry_area_perimeter(orient(p))[0])
        for p in shapely.get_parts(geom) if p.geom_type == "Polygon"
    ) / 1e6


def selected(raw: list, select: Selector) -> list[shapely.Geometry]:
    band = shapely.segmentize(shapely.box(-180.0, -LAT_MAX, 180.0, LAT_MAX), 0.05)
    return [g if band.contains(g) else g.intersection(band) for p, g in raw if select(p)]


def independent(raw: list, select: Selector, counts: Counter, k: int) -> tuple[float, float]:
    """(covered land, all land) in km² of the features ``select`` picks."""
    geoms = selected(raw, select)
    tree = shapely.STRtree(geoms)
    covered = 0.0
    for (col, row), n in counts.items():
        if n >= k:
            cell = rectangle(col, row)
            covered += sum(geod_km2(cell.intersection(geoms[i])) for i in tree.query(cell))
    return covered, sum(geod_km2(g) for g in geoms)


def unit(key: str, value: str) -> Selector:
    return lambda p: p.get(key) == value


def land_not_antarctica(p: dict) -> bool:
    return p["CONTINENT"] != "Antarctica"


# (medium, summary, name, the features that are its land)
SHARE_CASES = [
    ("topsoil", "country", "FI", unit("ISO_A2", "FI")),
    ("topsoil", "country", "NO", unit("ADM0_A3", "NOR")),  # ISO_A2 "-99" in this file
    ("topsoil", "country", "NL", unit("ISO_A2", "NL")),
    ("topsoil", "country", "US", unit("ISO_A2", "US")),
    ("humus", "country", "FI", unit("ISO_A2", "FI")),
    ("humus", "country", "RU", unit("ISO_A2", "RU")),
    ("floodplain sediment", "country", "BE", unit("ISO_A2", "BE")),
    # Natural Earth's North America; chemearth adds no unit of another CONTINENT to it
    ("topsoil", "continent", "North America", unit("CONTINENT", "North America")),
    ("topsoil", "world", "world", land_not_antarctica),
]


def summary_row(cov, summary: str, name: str) -> dict:
    if summary == "world":
        return cov.world
    frame = cov.by_country if summary == "country" else cov.by_continent
    return frame.set_index(summary).loc[name].to_dict()


@pytest.mark.parametrize(("medium", "summary", "name", "select"), SHARE_CASES)
def test_share_equals_independent_shapely_pyproj(
    samples: pd.DataFrame, boundaries: Path, raw: list, medium: str, summary: str, name: str,
    select: Selector,
) -> None:
    s = samples[samples["medium"] == medium]
    cov = coverage(s["longitude"], s["latitude"], boundaries)
    row = summary_row(cov, summary, name)
    counts = sample_counts(s["longitude"], s["latitude"])
    for k in (1, 5):
        covered, land = independent(raw, select, counts, k)
        assert covered > 0, "a case must cover something to test anything"
        assert row["land_km2"] == pytest.approx(land, rel=1e-4)
        assert row[f"covered_km2_{k}"] == pytest.approx(covered, rel=1e-4)
        assert row[f"share_{k}"] == pytest.approx(covered / land, rel=1e-4)


def test_covered_area_equals_planar_equal_area(
    samples: pd.DataFrame, boundaries: Path, raw: list
) -> None:
    """EPSG:6933 is equal-area on the WGS84 ellipsoid: planar areas of the projected
    continent inside the covered squares equal the ellipsoidal ones."""
    s = samples[samples["medium"] == "topsoil"]
    cov = coverage(s["longitude"], s["latitude"], boundaries)
    europe = cov.by_continent.set_index("continent").loc["Europe"]
    land = shapely.union_all([
        shapely.transform(g, TO_EASE.transform, interleaved=False)
        for g in selected(raw, unit("CONTINENT", "Europe"))
    ])
    shapely.prepare(land)
    counts = sample_counts(s["longitude"], s["latitude"])
    for k in (1, 5):
        squares = [shapely.box(c * SIZE, r * SIZE, (c + 1) * SIZE, (r + 1) * SIZE)
                   for (c, r), n in counts.items() if n >= k]
        planar = sum(land.intersection(sq).area for sq in squares) / 1e6
        assert europe[f"covered_km2_{k}"] == pytest.approx(planar, rel=1e-3)
    assert europe["land_km2"] == pytest.approx(land.area / 1e6, rel=1e-3)


# ------------------------------------------------------------------ sanity


def test_world_land_is_the_known_land_surface(boundaries: Path) -> None:
    """The CIA World Factbook's land area of the Earth, 148.94 million km², less
    Antarctica's 14.2 million (with ice shelves, which Natural Earth leaves out, hence the
    comparison without Antarctica)."""
    parts = land_parts(boundaries)
    world = parts.loc[parts["continent"] != "Antarctica", "land_km2"].sum()
    assert world == pytest.approx(148.94e6 - 14.2e6, rel=0.01)


@pytest.mark.parametrize(
    ("country", "known_km2"),
    [  # total areas (with inland water) of the national statistics offices
        ("FI", 338_455),  # Åland (about 1,600 km² of land) is a unit of its own here
        ("NO", 385_207),  # with Svalbard and Jan Mayen
        ("DE", 357_588),
        ("SE", 447_425),
        ("ES", 505_990),
        ("GB", 242_495),
        ("CA", 9_984_670),
        ("BR", 8_515_767),
        ("AU", 7_692_024),
    ],
)
def test_country_land_close_to_official_area(
    boundaries: Path, country: str, known_km2: float
) -> None:
    parts = land_parts(boundaries)
    land = parts.loc[parts["country"] == country, "land_km2"].sum()
    assert land == pytest.approx(known_km2, rel=0.02)  # the 1:10m coastline is generalised


def test_land_cells_are_those_touching_land(boundaries: Path, raw: list) -> None:
    """The 160 km land cells are exactly the cells whose rectangle intersects a country,
    about 5,000 cells' worth of land as in the GRN (Darnley et al. 1995)."""
    parts = land_parts(boundaries)
    tree = shapely.STRtree(shapely.get_parts([g for _, g in raw]))  # polygons: a faster tree
    cols = np.arange(np.floor(-EASE_X / SIZE), np.ceil(EASE_X / SIZE)).astype(int)
    rows = np.arange(np.floor(-EASE_Y / SIZE), np.ceil(EASE_Y / SIZE)).astype(int)
    cells = [(c, r) for c in cols.tolist() for r in rows.tolist()]
    rectangles = [rectangle(c, r) for c, r in cells]
    hit, _ = tree.query(rectangles, predicate="intersects")
    expected = {cells[i] for i in np.unique(hit)}
    total = parts.groupby("cell")["land_km2"].sum()
    w, e, s, n = get_grid("global").cell_bounds(total.index)
    cols_rows = zip(np.floor((w + e) / 2 / SIZE).astype(int).tolist(),
                    np.floor((s + n) / 2 / SIZE).astype(int).tolist(), strict=True)
    got = dict(zip(cols_rows, total, strict=True))
    assert set(got) == expected
    # a cell inside one country is all land: its area in EASE metres, which are equal-area
    # on the ellipsoid (25,600 km², less where the grid's edge at 85.04° clips the cell)
    inside, _ = tree.query(rectangles, predicate="within")
    assert len(inside) > 1000
    for i in inside.tolist():
        row = cells[i][1]
        height = min((row + 1) * SIZE, EASE_Y) - max(row * SIZE, -EASE_Y)
        assert got[cells[i]] == pytest.approx(SIZE * height / 1e6, rel=1e-5), cells[i]
    cov = coverage([], [], boundaries)
    equivalent = cov.world["land_km2"] / (SIZE / 1000) ** 2
    assert equivalent == pytest.approx(5_000, rel=0.1)
    assert equivalent < cov.world["n_cells_land"] < 1.5 * equivalent


def test_land_parts_columns_and_rows(boundaries: Path) -> None:
    parts = land_parts(boundaries)
    assert tuple(parts.columns) == LAND_COLUMNS
    assert not parts.duplicated(["cell", "country"]).any()
    assert (parts["land_km2"] > 0).all()
    nominal = (SIZE / 1000) ** 2
    assert parts["land_km2"].groupby(parts["cell"]).sum().max() <= nominal * (1 + 1e-5)
    assert list(get_grid("global").key_to_id(parts["cell"])) == list(parts["cell_id"])
    assert parts["cell"].is_monotonic_increasing
    parts.loc[0, "land_km2"] = -1.0  # a copy: the cached table stays as it was
    assert (land_parts(boundaries)["land_km2"] > 0).all()


# ------------------------------------------------------------------ samples and thresholds


@pytest.mark.parametrize("medium", ["topsoil", "humus", "c-horizon"])
def test_thresholds_count_samples_per_cell(
    samples: pd.DataFrame, boundaries: Path, medium: str
) -> None:
    s = samples[samples["medium"] == medium]
    cov = coverage(s["longitude"], s["latitude"], boundaries)
    counts = sample_counts(s["longitude"], s["latitude"])
    w, e, so, no = get_grid("global").cell_bounds(cov.cells["cell"])
    expected = [counts.get((int(c), int(r)), 0) for c, r in
                zip(np.floor((w + e) / 2 / SIZE), np.floor((so + no) / 2 / SIZE), strict=True)]
    assert cov.cells["n_samples"].tolist() == expected
    n = cov.cells["n_samples"]
    assert (cov.cells["covered_1"] == (n >= 1)).all()
    assert (cov.cells["covered_5"] == (n >= 5)).all()
    few = cov.cells[(n >= 1) & (n <= 4)]
    assert len(few) > 0, "the survey must have cells with 1-4 samples to test this"
    assert few["covered_1"].all()
    assert not few["covered_5"].any()
    assert cov.world["n_cells_1"] - cov.world["n_cells_5"] == len(few)
    assert cov.world["n_samples"] == n.sum()
    assert cov.world["n_samples"] + cov.world["n_samples_elsewhere"] == len(s)


def test_other_thresholds(samples: pd.DataFrame, boundaries: Path) -> None:
    s = samples[samples["medium"] == "topsoil"]
    most = max(sample_counts(s["longitude"], s["latitude"]).values())
    cov = coverage(s["longitude"], s["latitude"], boundaries, min_samples=(2, 10, most, 10))
    assert cov.min_samples == (2, 10, most)
    n = cov.cells["n_samples"]
    for k in cov.min_samples:
        assert (cov.cells[f"covered_{k}"] == (n >= k)).all()
        covered = cov.cells.loc[n >= k, "land_km2"].sum()
        assert cov.world[f"covered_km2_{k}"] == pytest.approx(covered, rel=1e-12)
    assert cov.world["share_2"] > cov.world["share_10"] > cov.world[f"share_{most}"] > 0
    assert cov.world[f"n_cells_{most}"] == (n == most).sum()
    single = coverage(s["longitude"], s["latitude"], boundaries, min_samples=3)
    assert single.min_samples == (3,)
    assert "covered_3" in single.cells


def test_samples_at_sea_count_for_their_land_cell(boundaries: Path) -> None:
    from chemearth.reference.continents import country_land

    land = country_land(boundaries)
    sea = (4.3, 52.9)  # North Sea off North Holland, in a cell with Dutch land
    ocean = (-30.0, 0.0)  # mid-Atlantic
    lon = np.array([sea[0], ocean[0], np.nan, 10.0])
    lat = np.array([sea[1], ocean[1], 50.0, 89.0])  # no coordinate; beyond the grid
    assert not shapely.contains_xy(shapely.union_all(land.polygons), lon[:2], lat[:2]).any()
    cov = coverage(lon, lat, boundaries)
    key = get_grid("global").cell_keys(sea[0], sea[1], 160_000)
    cell = cov.cells.set_index("cell").loc[int(key)]
    assert cell["n_samples"] == 1
    assert cell["covered_1"]
    assert cell["land_km2"] > 0
    assert cov.by_country.set_index("country").loc["NL", "n_cells_1"] == 1
    assert cov.world["n_samples"] == 1
    assert cov.world["n_samples_elsewhere"] == 3


def test_antarctica_is_a_choice(samples: pd.DataFrame, boundaries: Path, raw: list) -> None:
    s = samples[samples["medium"] == "topsoil"]
    without = coverage(s["longitude"], s["latitude"], boundaries)
    with_aq = coverage(s["longitude"], s["latitude"], boundaries, exclude_antarctica=False)
    antarctica = sum(geod_km2(g) for g in selected(raw, unit("CONTINENT", "Antarctica")))
    assert with_aq.world["land_km2"] - without.world["land_km2"] == pytest.approx(
        antarctica, rel=1e-4)
    assert with_aq.world["covered_km2_1"] == pytest.approx(without.world["covered_km2_1"])
    assert with_aq.world["share_1"] < without.world["share_1"]
    assert with_aq.world["n_cells_land"] > without.world["n_cells_land"]
    assert "Antarctica" not in set(without.by_continent["continent"])
    assert "AQ" in set(with_aq.by_country["country"])


# ------------------------------------------------------------------ cells, levels, grids


def test_given_cells_equal_the_full_table(samples: pd.DataFrame, boundaries: Path) -> None:
    full = land_parts(boundaries)
    s = samples[samples["medium"] == "topsoil"]
    keys = np.unique(get_grid("global").cell_keys(s["longitude"], s["latitude"], 160_000))
    some = land_parts(boundaries, cells=keys)
    want = full[full["cell"].isin(keys)].reset_index(drop=True)
    pd.testing.assert_frame_equal(some.drop(columns="land_km2"), want.drop(columns="land_km2"))
    np.testing.assert_allclose(some["land_km2"], want["land_km2"], rtol=1e-9)
    by_id = land_parts(boundaries, cells=list(want["cell_id"].unique()))
    pd.testing.assert_frame_equal(by_id, some)
    none = land_parts(boundaries, cells=[])
    assert none.empty
    assert tuple(none.columns) == LAND_COLUMNS


def test_finer_cells_sum_to_their_parent(boundaries: Path) -> None:
    g = get_grid("global")
    parents = g.id_to_key(["G160km-E005-N33", "G160km-E018-N45", "G160km-W057-N27"])
    children = np.concatenate([g.children(int(k), 80_000) for k in parents])
    fine = land_parts(boundaries, "global", "80km", cells=children)
    assert set(g.level_of(fine["cell"])) == {80_000}
    fine_sum = fine.groupby([g.parent(fine["cell"], 160_000), "country"])["land_km2"].sum()
    coarse = land_parts(boundaries, cells=parents).set_index(["cell", "country"])["land_km2"]
    assert len(coarse) >= 5
    pd.testing.assert_series_equal(fine_sum.sort_index(), coarse.sort_index(), check_names=False,
                                   check_index_type=False, rtol=1e-4)


def test_european_grid_gives_the_same_land(boundaries: Path) -> None:
    europe = land_parts(boundaries, "europe")
    world = land_parts(boundaries, "global")
    for country in ("FI", "DE", "ES"):
        a = europe.loc[europe["country"] == country, "land_km2"].sum()
        b = world.loc[world["country"] == country, "land_km2"].sum()
        assert a == pytest.approx(b, rel=1e-6)
    assert europe["cell_id"].str.startswith("160kmE").all()


# ------------------------------------------------------------------ map layer


def test_geojson_layer_holds_the_cells_and_their_samples(
    samples: pd.DataFrame, boundaries: Path
) -> None:
    s = samples[samples["medium"] == "humus"]
    cov = coverage(s["longitude"], s["latitude"], boundaries)
    layer = json.loads(json.dumps(cov.to_geojson()))
    assert len(layer["features"]) == len(cov.cells)
    props = pd.DataFrame([f["properties"] for f in layer["features"]])
    pd.testing.assert_frame_equal(props, cov.cells.drop(columns="cell"), check_dtype=False)
    polygons = np.array([shape(f["geometry"]) for f in layer["features"]])
    assert shapely.is_valid(polygons).all()
    inside = np.array([shapely.contains_xy(polygons, x, y).sum()
                       for x, y in zip(s["longitude"], s["latitude"], strict=True)])
    assert (inside == 1).all()  # every Kola sample is in exactly one land cell
    found = Counter(int(np.flatnonzero(shapely.contains_xy(polygons, x, y))[0])
                    for x, y in zip(s["longitude"], s["latitude"], strict=True))
    assert [found.get(i, 0) for i in range(len(polygons))] == cov.cells["n_samples"].tolist()


# ------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"grid": "mars"}, GridError, "unknown grid"),
        ({"level_m": 123}, GridError, "not a level"),
        ({"level_m": "ten km"}, GridError, "give metres"),
        ({"cells": ["G80km-E010-N66"]}, GridError, "not 160km cells"),
        ({"cells": [12345]}, GridError, "not a cell key"),
        ({"cells": ["nonsense"]}, GridError, "not a cell id"),
        ({"level_m": 80_000, "max_cells": 1_000}, TooManyCellsError, "max_cells"),
    ],
)
def test_land_parts_errors(boundaries: Path, kwargs: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        land_parts(boundaries, **kwargs)


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        (([1.0, 2.0], [50.0]), {}, StatisticsError, "differ in length"),
        (([], []), {"min_samples": 0}, StatisticsError, ">= 1"),
        (([], []), {"min_samples": (1, 2.5)}, StatisticsError, ">= 1"),
        (([], []), {"min_samples": ()}, StatisticsError, "empty"),
        (([], []), {"min_samples": True}, StatisticsError, ">= 1"),
    ],
)
def test_coverage_errors(
    boundaries: Path, args: tuple, kwargs: dict, error: type, match: str
) -> None:
    with pytest.raises(error, match=match):
        coverage(*args, boundaries, **kwargs)


def test_missing_boundaries(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="not found"):
        coverage([10.0], [60.0], tmp_path / "none.geojson")
