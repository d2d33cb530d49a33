"""Tests of the multi-scale grids: equal areas, nesting, ids, INSPIRE codes, regions."""

from __future__ import annotations

import re
from itertools import permutations
from pathlib import Path

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod, Transformer

from chemearth.errors import ChemearthError
from chemearth.grid import geometry as grids
from chemearth.grid.geometry import (
    EASE_X,
    EASE_Y,
    EUROPE,
    GLOBAL,
    INVALID_KEY,
    Grid,
    GridError,
    TooManyCellsError,
    get_grid,
)
from chemearth.grid.levels import LEVELS

ROOT = Path(__file__).resolve().parents[2]
GEOD = Geod(ellps="WGS84")
HELSINKI = (24.9384, 60.1699)
LISBON = (-9.1393, 38.7223)
NESTING_PAIRS = [(c, p) for c, p in permutations(LEVELS, 2) if p > c and (c, p) != (4_000, 10_000)]

longitudes = st.floats(-180.0, 180.0)
latitudes = st.floats(-85.0, 85.0)
#: Projected points anywhere inside the Europe grid.
eastings = st.floats(0.0, 8e6)
northings = st.floats(0.0, 7.2e6)
levels = st.sampled_from(LEVELS)


def _to_3035(lon: float, lat: float) -> tuple[float, float]:
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:3035", always_xy=True).transform(lon, lat)
    return float(x), float(y)


# --------------------------------------------------------------------------- areas
@pytest.mark.parametrize("level", [160_000, 10_000, 1_000])
@pytest.mark.parametrize(
    ("grid", "lon", "lat"),
    [
        (GLOBAL, 12.3, 0.0),
        (GLOBAL, -71.7, 45.0),
        (GLOBAL, 101.1, 70.0),
        (GLOBAL, -150.0, -70.0),
        (EUROPE, *LISBON),
        (EUROPE, 10.0, 52.0),
        (EUROPE, *HELSINKI),
        (EUROPE, 33.0, 70.0),
        (EUROPE, -31.3, 39.7),  # Azores, far from the projection centre
    ],
)
def test_cell_area_on_the_ellipsoid_is_nominal(
    grid: Grid, lon: float, lat: float, level: int
) -> None:
    key = grid.cell_keys(lon, lat, level).item()
    polygon = grid.cell_polygon(key, densify=64, to_wgs84=True)
    area_m2, _ = GEOD.geometry_area_perimeter(polygon)
    assert area_m2 / 1e6 == pytest.approx(grid.nominal_area_km2(level), rel=1e-3)
    assert polygon.covers(shapely.Point(lon, lat))


@pytest.mark.parametrize(("level", "km2"), [(160_000, 25_600.0), (10_000, 100.0), (500, 0.25)])
def test_nominal_area(level: int, km2: float) -> None:
    assert GLOBAL.nominal_area_km2(level) == EUROPE.nominal_area_km2(level) == km2


def test_cells_are_clipped_at_the_grid_edges() -> None:
    key = GLOBAL.cell_keys(0.0, 85.0, 160_000).item()
    assert GLOBAL.cell_polygon(key).bounds[3] == EASE_Y
    assert GLOBAL.cell_polygon(key).area < 160_000.0**2


# ------------------------------------------------------------------------- nesting
@pytest.mark.parametrize(
    ("child", "parent", "expected"),
    [
        (80_000, 160_000, True),
        (10_000, 160_000, True),
        (10_000, 20_000, True),
        (4_000, 20_000, True),
        (4_000, 160_000, True),
        (4_000, 10_000, False),
        (2_000, 10_000, True),
        (500, 4_000, True),
        (500, 10_000, True),
        (10_000, 10_000, False),
        (20_000, 10_000, False),
    ],
)
def test_nests(child: int, parent: int, expected: bool) -> None:
    assert GLOBAL.nests(child, parent) is expected
    assert EUROPE.nests(child, parent) is expected


@pytest.mark.parametrize(
    ("level", "parent", "child"),
    [
        (160_000, None, 80_000),
        (20_000, 40_000, 10_000),
        (10_000, 20_000, 2_000),
        (4_000, 20_000, 2_000),
        (2_000, 4_000, 1_000),
        (500, 1_000, None),
    ],
)
def test_hierarchy(level: int, parent: int | None, child: int | None) -> None:
    assert GLOBAL.parent_level(level) == parent
    assert GLOBAL.child_level(level) == child


@settings(deadline=None)
@given(lon=longitudes, lat=latitudes)
def test_parent_of_cell_is_cell_of_parent_global(lon: float, lat: float) -> None:
    for child, parent in NESTING_PAIRS:
        child_key = GLOBAL.cell_keys(lon, lat, child)
        assert GLOBAL.parent(child_key, parent) == GLOBAL.cell_keys(lon, lat, parent)


@settings(deadline=None)
@given(easting=eastings, northing=northings)
def test_parent_of_cell_is_cell_of_parent_europe(easting: float, northing: float) -> None:
    for child, parent in NESTING_PAIRS:
        child_key = EUROPE.cell_keys_xy(easting, northing, child)
        assert EUROPE.parent(child_key, parent) == EUROPE.cell_keys_xy(easting, northing, parent)


@settings(deadline=None, max_examples=50)
@given(lon=longitudes, lat=latitudes, pair=st.sampled_from(NESTING_PAIRS))
def test_children_contain_the_child(lon: float, lat: float, pair: tuple[int, int]) -> None:
    child, parent = pair
    if parent // child > 40:  # keep the children arrays small
        return
    parent_key = GLOBAL.cell_keys(lon, lat, parent).item()
    kids = GLOBAL.children(parent_key, child)
    assert GLOBAL.cell_keys(lon, lat, child).item() in kids
    assert (GLOBAL.parent(kids, parent) == parent_key).all()
    assert (np.diff(kids) > 0).all()
    w, e, s, n = (b.item() for b in GLOBAL.cell_bounds(parent_key))
    whole = (e - w, n - s) == (parent, parent)
    assert len(kids) == (parent // child) ** 2 if whole else len(kids) <= (parent // child) ** 2


@pytest.mark.parametrize(("grid", "point"), [(GLOBAL, (12.3, 45.6)), (EUROPE, HELSINKI)])
@pytest.mark.parametrize("level", [160_000, 20_000, 10_000, 4_000, 1_000])
def test_default_children_and_parent(grid: Grid, point: tuple[float, float], level: int) -> None:
    key = grid.cell_keys(*point, level).item()
    child = grid.child_level(level)
    assert child is not None
    kids = grid.children(key)
    assert len(kids) == (level // child) ** 2
    assert (grid.parent(kids, level) == key).all()
    if grid.parent_level(child) == level:  # 2 km cells belong to 4 km cells, not 10 km
        assert (grid.parent(kids) == key).all()


def test_parent_and_children_refuse_non_nesting_levels() -> None:
    key = GLOBAL.cell_keys(1.0, 1.0, 4_000)
    with pytest.raises(GridError, match="do not nest"):
        GLOBAL.parent(key, 10_000)
    with pytest.raises(GridError, match="no parent"):
        GLOBAL.parent(GLOBAL.cell_keys(1.0, 1.0, 160_000))
    with pytest.raises(GridError, match="no children"):
        GLOBAL.children(GLOBAL.cell_keys(1.0, 1.0, 500).item())
    with pytest.raises(GridError, match="do not nest"):
        GLOBAL.children(GLOBAL.cell_keys(1.0, 1.0, 10_000).item(), 4_000)


# -------------------------------------------------------------------- ids and keys
@settings(deadline=None)
@given(lon=longitudes, lat=latitudes, level=levels)
def test_key_id_round_trip_and_point_in_cell_global(lon: float, lat: float, level: int) -> None:
    key = GLOBAL.cell_keys(lon, lat, level)
    assert key.item() >= 0
    cell_id = GLOBAL.key_to_id(key)
    assert re.fullmatch(r"G\d+k?m-[EW]\d+-[NS]\d+", cell_id.item())
    assert GLOBAL.id_to_key(cell_id) == key
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:6933", always_xy=True).transform(lon, lat)
    assert GLOBAL.cell_polygon(key.item()).covers(shapely.Point(x, y))
    outline = GLOBAL.cell_polygon(cell_id.item(), to_wgs84=True, densify=2)
    assert outline.distance(shapely.Point(lon, lat)) < 1e-9  # lon 180 maps to 179.99999999999997


@settings(deadline=None)
@given(easting=eastings, northing=northings, level=levels)
def test_key_id_round_trip_and_point_in_cell_europe(
    easting: float, northing: float, level: int
) -> None:
    key = EUROPE.cell_keys_xy(easting, northing, level)
    cell_id = EUROPE.key_to_id(key).item()
    assert re.fullmatch(r"\d+k?mE\d+N\d+", cell_id)
    assert EUROPE.id_to_key(cell_id) == key
    assert EUROPE.cell_polygon(cell_id).covers(shapely.Point(easting, northing))


@settings(deadline=None)
@given(lon=longitudes, lat=latitudes, level=levels)
def test_cell_centre_lies_in_its_cell(lon: float, lat: float, level: int) -> None:
    key = GLOBAL.cell_keys(lon, lat, level)
    assert GLOBAL.cell_keys(*GLOBAL.cell_centres(key), level) == key
    assert GLOBAL.cell_keys_xy(*GLOBAL.cell_centres(key, to_wgs84=False), level) == key


@pytest.mark.parametrize(
    ("easting", "northing", "level", "cell_id"),
    [
        (0.0, 0.0, 10_000, "G10km-E0000-N000"),
        (-1.0, -1.0, 10_000, "G10km-W0001-S001"),
        (12_345_678.0, 5_678_901.0, 10_000, "G10km-E1234-N567"),
        (-115_000.0, -45_000.0, 10_000, "G10km-W0012-S005"),
        (EASE_X, EASE_Y, 160_000, "G160km-E108-N45"),
        (-EASE_X, -EASE_Y, 160_000, "G160km-W109-S46"),
        (-EASE_X, -EASE_Y, 500, "G500m-W34736-S14630"),
        (float(np.nextafter(4_000.0, 0.0)), 4_000.0, 500, "G500m-E00007-N00008"),
    ],
)
def test_global_ids(easting: float, northing: float, level: int, cell_id: str) -> None:
    key = GLOBAL.cell_keys_xy(easting, northing, level)
    assert GLOBAL.key_to_id(key).item() == cell_id
    assert GLOBAL.id_to_key(cell_id) == key


@pytest.mark.parametrize("level", [160_000, 10_000, 1_000, 500])
@pytest.mark.parametrize("place", [HELSINKI, LISBON])
def test_inspire_codes_of_known_points(place: tuple[float, float], level: int) -> None:
    x, y = _to_3035(*place)
    label = f"{level // 1000}km" if level >= 1000 else f"{level}m"
    expected = f"{label}E{int(x // level)}N{int(y // level)}"
    assert EUROPE.key_to_id(EUROPE.cell_keys(*place, level)).item() == expected


@pytest.mark.parametrize(
    ("place", "level", "code"),
    [
        (HELSINKI, 10_000, "10kmE514N420"),
        (HELSINKI, 1_000, "1kmE5145N4206"),
        (LISBON, 1_000, "1kmE2665N1946"),
        (LISBON, 500, "500mE5331N3893"),
    ],
)
def test_inspire_codes_literal(place: tuple[float, float], level: int, code: str) -> None:
    assert EUROPE.key_to_id(EUROPE.cell_keys(*place, level)).item() == code


def test_keys_are_sorted_west_to_east_then_south_to_north() -> None:
    keys = GLOBAL.cell_keys_xy([-5e5, -5e5, 5e5, 5e5], [-5e5, 5e5, -5e5, 5e5], 10_000)
    assert (np.diff(keys) > 0).all()
    assert (keys >= 0).all()
    assert GLOBAL.cell_keys(1.0, 1.0, 10_000) != EUROPE.cell_keys(1.0, 1.0, 10_000)


def test_sentinel_propagates() -> None:
    keys = np.array([INVALID_KEY, GLOBAL.cell_keys(1.0, 1.0, 10_000).item()])
    assert GLOBAL.key_to_id(keys)[0] is None
    assert GLOBAL.id_to_key([None, "G10km-E0000-N000"])[0] == INVALID_KEY
    assert GLOBAL.parent(keys)[0] == INVALID_KEY
    assert np.isnan(GLOBAL.cell_centres(keys)[0][0])
    assert GLOBAL.cell_polygons(keys)[0] is None
    with pytest.raises(GridError, match="sentinel"):
        GLOBAL.cell_polygon(INVALID_KEY)


@pytest.mark.parametrize(
    ("grid", "lon", "lat"),
    [
        (GLOBAL, 0.0, 86.0),
        (GLOBAL, 0.0, -90.0),
        (GLOBAL, np.nan, 0.0),
        (GLOBAL, 0.0, np.inf),
        (EUROPE, -170.0, 0.0),
        (EUROPE, 150.0, -30.0),
        (EUROPE, -100.0, 40.0),
    ],
)
def test_points_outside_the_grid_get_the_sentinel(grid: Grid, lon: float, lat: float) -> None:
    assert grid.cell_keys([lon], [lat], 10_000).tolist() == [INVALID_KEY]


@pytest.mark.parametrize("lon", [-180.0, 180.0])
def test_antimeridian_points_are_inside(lon: float) -> None:
    key = GLOBAL.cell_keys(lon, 10.0, 160_000)
    assert GLOBAL.key_to_id(key).item().startswith("G160km-" + ("W109" if lon < 0 else "E108"))


@pytest.mark.parametrize(
    ("grid", "bad_id"),
    [
        (GLOBAL, "G10km-E1234-N5678"),  # row wider than the level's width
        (GLOBAL, "G10km-E234-N567"),  # column narrower
        (GLOBAL, "G10km-W0000-N000"),  # W0 does not exist: the cell is E0
        (GLOBAL, "G10km-E0000-S000"),
        (GLOBAL, "G10km-E1800-N000"),  # beyond 180°
        (GLOBAL, "G7km-E0000-N000"),
        (GLOBAL, "10kmE432N321"),
        (GLOBAL, "g10km-e0000-n000"),
        (EUROPE, "10kmE0432N321"),  # leading zero
        (EUROPE, "10kmE432N720"),  # north of the grid
        (EUROPE, "G10km-E0000-N000"),
        (EUROPE, "10 kmE432N321"),
        (EUROPE, ""),
    ],
)
def test_bad_ids_are_refused(grid: Grid, bad_id: str) -> None:
    with pytest.raises(GridError, match="not a cell id"):
        grid.id_to_key([bad_id])


@pytest.mark.parametrize(
    "bad_key",
    [-2, 12345, int(EUROPE.cell_keys(10.0, 52.0, 10_000).item()), (1 << 60) | (15 << 56)],
)
def test_bad_keys_are_refused(bad_key: int) -> None:
    with pytest.raises(GridError, match="not a cell key"):
        GLOBAL.key_to_id([bad_key])


def test_bad_levels_and_names() -> None:
    with pytest.raises(GridError, match="not a level"):
        GLOBAL.cell_keys(0.0, 0.0, 5_000)
    with pytest.raises(GridError, match="unknown grid"):
        get_grid("mars")
    assert get_grid("GLOBAL") is GLOBAL
    assert get_grid(EUROPE) is EUROPE
    assert issubclass(GridError, ChemearthError)
    assert issubclass(GridError, ValueError)
    assert issubclass(TooManyCellsError, GridError)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"levels": (1_000, 2_000)},
        {"levels": ()},
        {"code": 0},
        {"code": 8},
    ],
)
def test_grid_definition_is_checked(kwargs: dict[str, object]) -> None:
    spec: dict[str, object] = {
        "name": "test",
        "crs": "EPSG:6933",
        "levels": LEVELS,
        "bounds": GLOBAL.bounds,
        "code": 3,
        "style": "ease",
    }
    with pytest.raises(GridError):
        Grid(**(spec | kwargs))  # type: ignore[arg-type]


# ------------------------------------------------------------------------- geometry
def test_ease_extent_matches_pyproj() -> None:
    t = Transformer.from_crs("EPSG:4326", "EPSG:6933", always_xy=True)
    x, y = t.transform(180.0, 85.0445664)
    assert (x, y) == pytest.approx((EASE_X, EASE_Y), abs=0.01)
    assert GLOBAL.bounds == (-EASE_X, EASE_X, -EASE_Y, EASE_Y)


@pytest.mark.parametrize("densify", [1, 3, 16])
def test_polygons_are_densified_counter_clockwise_rings(densify: int) -> None:
    keys = GLOBAL.cell_keys([1.0, 50.0], [1.0, 60.0], 10_000)
    for poly in GLOBAL.cell_polygons(keys, densify=densify, to_wgs84=True):
        assert len(poly.exterior.coords) == 4 * densify + 1
        assert poly.exterior.is_ccw
    with pytest.raises(GridError, match="densify"):
        GLOBAL.cell_polygons(keys, densify=0)


def test_polygons_follow_the_curved_boundary_in_europe() -> None:
    key = EUROPE.cell_keys(*HELSINKI, 160_000).item()
    coarse = EUROPE.cell_polygon(key, densify=1, to_wgs84=True)
    fine = EUROPE.cell_polygon(key, densify=64, to_wgs84=True)
    assert not coarse.equals(fine)
    assert EUROPE.cell_polygon(key).equals(EUROPE.cell_polygon(key, densify=4))


# -------------------------------------------------------------------------- regions
@settings(deadline=None, max_examples=30)
@given(
    west=st.floats(-179.0, 170.0),
    south=st.floats(-84.0, 75.0),
    width=st.floats(0.01, 9.0),
    height=st.floats(0.01, 9.0),
    level=st.sampled_from([160_000, 40_000, 10_000]),
)
def test_cells_in_region_cover_the_region(
    west: float, south: float, width: float, height: float, level: int
) -> None:
    region = (west, west + width, south, south + height)
    keys = GLOBAL.cells_in_region(region, level)
    assert (np.diff(keys) > 0).all()
    rng = np.random.default_rng(0)
    lon = rng.uniform(region[0], region[1], 200)
    lat = rng.uniform(region[2], region[3], 200)
    assert np.isin(GLOBAL.cell_keys(lon, lat, level), keys).all()
    lon_c, _ = GLOBAL.cell_centres(keys)
    assert ((lon_c > region[0] - 2.0) & (lon_c < region[1] + 2.0)).all()


def test_cells_in_region_europe_is_filtered_to_the_region() -> None:
    region = (20.0, 30.0, 60.0, 70.0)
    keys = EUROPE.cells_in_region(region, 10_000)
    rng = np.random.default_rng(1)
    lon, lat = rng.uniform(20.0, 30.0, 5_000), rng.uniform(60.0, 70.0, 5_000)
    assert np.isin(EUROPE.cell_keys(lon, lat, 10_000), keys).all()
    box = shapely.box(20.0, 60.0, 30.0, 70.0)
    polygons = EUROPE.cell_polygons(keys, to_wgs84=True, densify=4)
    assert shapely.intersects(box, polygons).all()
    w, e, s, n = (b for b in EUROPE.cell_bounds(keys))
    rectangle = ((e.max() - w.min()) / 1e4) * ((n.max() - s.min()) / 1e4)
    assert len(keys) < rectangle  # the region is not a rectangle in LAEA


@pytest.mark.parametrize(
    ("grid", "region", "level", "count"),
    [
        (GLOBAL, (-180.0, 180.0, -90.0, 90.0), 160_000, 218 * 92),
        (GLOBAL, (0.0, 0.5, 0.0, 0.5), 160_000, 1),
        (EUROPE, (-180.0, 180.0, -90.0, 90.0), 160_000, 50 * 45),
        (EUROPE, (-170.0, -160.0, -10.0, 10.0), 160_000, 0),
        (GLOBAL, (-1.0, 1.0, 86.0, 90.0), 10_000, 0),
    ],
)
def test_cells_in_region_counts(
    grid: Grid, region: tuple[float, float, float, float], level: int, count: int
) -> None:
    assert len(grid.cells_in_region(region, level)) == count


def test_cells_in_region_is_bounded() -> None:
    with pytest.raises(TooManyCellsError, match="max_cells"):
        GLOBAL.cells_in_region((-180.0, 180.0, -90.0, 90.0), 500)
    with pytest.raises(TooManyCellsError):
        EUROPE.cells_in_region((0.0, 10.0, 40.0, 50.0), 10_000, max_cells=100)
    assert len(EUROPE.cells_in_region((0.0, 1.0, 40.0, 41.0), 10_000, max_cells=300)) <= 300


@pytest.mark.parametrize(
    "region",
    [
        (10.0, 0.0, 0.0, 1.0),
        (0.0, 1.0, 5.0, 5.0),
        (0.0, 1.0, -91.0, 0.0),
        (0.0, np.nan, 0, 1),
        ("a", "b", "c", "d"),
    ],
)
def test_bad_regions_are_refused(region: tuple[float, float, float, float]) -> None:
    with pytest.raises(GridError, match="region"):
        GLOBAL.cells_in_region(region, 10_000)
    with pytest.raises(GridError, match="region"):
        GLOBAL.cells_in_region((0.0, 1.0), 10_000)  # type: ignore[arg-type]


# ---------------------------------------------------------------------- scale, docs
@pytest.mark.parametrize("grid", [GLOBAL, EUROPE])
def test_a_million_points(grid: Grid) -> None:
    rng = np.random.default_rng(42)
    lon, lat = rng.uniform(-180.0, 180.0, 1_000_000), rng.uniform(-85.0, 85.0, 1_000_000)
    keys = grid.cell_keys(lon, lat, 1_000)
    assert keys.shape == (1_000_000,)
    assert keys.dtype == np.int64
    if grid is GLOBAL:
        assert (keys >= 0).all()
    inside = keys >= 0
    assert (grid.parent(keys, 10_000)[inside] == grid.cell_keys(lon, lat, 10_000)[inside]).all()


def test_every_public_name_is_documented() -> None:
    doc = (ROOT / "docs" / "grids.md").read_text()
    for name in grids.__all__:
        assert name in doc, f"{name} is not in docs/grids.md"
    for method in [m for m in vars(Grid) if not m.startswith("_")]:
        assert method in doc or method in {"name", "crs", "levels", "bounds", "code", "style"}, (
            f"Grid.{method} is not in docs/grids.md"
        )
