"""Tests of the XYZ PNG tiles: pixels against an independent per-pixel computation."""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import cache

import morecantile
import numpy as np
import pytest
from PIL import Image
from pyproj import Transformer

from chemearth.errors import GridError, NotFoundError
from chemearth.grid.geometry import EUROPE, GLOBAL, Grid
from chemearth.render import layer_index, tiles
from chemearth.render.layer_index import LayerIndex, layer_bounds
from chemearth.render.tiles import (
    MAX_ERROR_PX,
    TileError,
    empty_tile,
    encode_png,
    render_tile,
    tile_bounds,
    tile_classes,
)
from chemearth.stats.classes import ClassError, palette

TMS = morecantile.tms.get("WebMercatorQuad")
COLOURS = palette(9)
KOLA = (28.0, 34.0, 68.0, 70.0)
COLORADO = (-109.05, -102.05, 37.0, 41.0)


@dataclass(frozen=True)
class Layer:
    grid: Grid
    level: int
    keys: np.ndarray
    classes: np.ndarray
    index: LayerIndex


@cache
def make_layer(
    grid_name: str, region: tuple[float, float, float, float], level: int, dense: bool = True
) -> Layer:
    """Cells of a region, ~8 % left out (unpublished), random classes 0–8 (and a few 255)."""
    grid = GLOBAL if grid_name == "global" else EUROPE
    rng = np.random.default_rng(abs(hash((grid_name, region, level))) % 2**32)
    keys = grid.cells_in_region(region, level)
    keys = keys[rng.random(keys.size) > 0.08]
    classes = rng.integers(0, 9, keys.size).astype(np.uint8)
    classes[rng.random(keys.size) < 0.01] = 255
    index = LayerIndex.from_cells(
        grid, level, keys, classes, dense_max_cells=16_000_000 if dense else 0
    )
    return Layer(grid, level, keys, classes, index)


def reference(layer: Layer, z: int, x: int, y: int, size: int = 256) -> tuple[np.ndarray, ...]:
    """Classes of every pixel computed directly, and each pixel's distance to a cell edge.

    Pixel centres from morecantile's tile bounds, transformed one by one with a fresh
    pyproj Transformer (EPSG:3857 -> grid CRS) and keyed with ``Grid.cell_keys_xy``.
    The distance to the nearest cell edge is in pixels (grid metres over the pixel's
    smallest side in grid metres).
    """
    b = TMS.xy_bounds(morecantile.Tile(x, y, z))
    centres = (np.arange(size) + 0.5) / size
    px, py = np.meshgrid(
        b.left + (b.right - b.left) * centres, b.top - (b.top - b.bottom) * centres
    )
    t = Transformer.from_crs("EPSG:3857", layer.grid.crs, always_xy=True)
    gx, gy = (np.asarray(v) for v in t.transform(px, py, errcheck=False))
    keys = layer.grid.cell_keys_xy(gx, gy, layer.level)
    lookup = dict(zip(layer.keys.tolist(), layer.classes.tolist(), strict=True))
    expected = np.array([lookup.get(k, 255) for k in keys.ravel().tolist()], dtype=np.uint8)
    step = (b.right - b.left) / size
    ex, ey = (np.asarray(v) for v in t.transform(px + step, py, errcheck=False))
    sx, sy = (np.asarray(v) for v in t.transform(px, py - step, errcheck=False))
    pixel_m = np.minimum(np.hypot(ex - gx, ey - gy), np.hypot(sx - gx, sy - gy))
    with np.errstate(invalid="ignore"):
        rx, ry = np.mod(gx, layer.level), np.mod(gy, layer.level)
        edge_m = np.minimum.reduce([rx, layer.level - rx, ry, layer.level - ry])
    return expected.reshape(size, size), edge_m / pixel_m


def tile_over(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    t = TMS.tile(lon, lat, z)
    return z, t.x, t.y


CASES = [
    # (grid, region, level, lon, lat, zooms) -- tiles over the region's centre and edges
    ("europe", KOLA, 10_000, 31.0, 69.0, (6, 7, 8, 9)),
    ("europe", KOLA, 10_000, 28.1, 68.1, (6, 8, 9)),
    ("global", KOLA, 10_000, 31.0, 69.0, (6, 7, 8, 9)),
    ("global", KOLA, 10_000, 33.9, 69.9, (7, 9)),
    ("global", COLORADO, 10_000, -105.5, 39.0, (6, 7, 8, 9)),
    ("global", COLORADO, 10_000, -102.1, 37.05, (7, 9)),
    ("global", COLORADO, 1_000, -105.5, 39.0, (9, 11)),
    ("europe", (-10.0, 30.0, 36.0, 70.0), 40_000, 10.0, 50.0, (1, 2, 3, 4, 5)),
    ("europe", (-10.0, 30.0, 36.0, 70.0), 40_000, 25.0, 68.0, (3, 6)),
    # the global grid's north edge (cells clipped at 85.04°) and the antimeridian
    ("global", (-180.0, 180.0, 78.0, 85.0), 160_000, 179.9, 84.9, (2, 3, 5)),
    ("global", (-180.0, 180.0, 78.0, 85.0), 160_000, -179.9, 84.9, (3, 5)),
]
TILE_CASES = [
    pytest.param(grid, region, level, tile_over(lon, lat, z), id=f"{grid}-{level}-{lon}-{lat}-z{z}")
    for grid, region, level, lon, lat, zooms in CASES
    for z in zooms
]


@pytest.mark.parametrize("dense", [True, False], ids=["dense", "sparse"])
@pytest.mark.parametrize(("grid", "region", "level", "tile"), TILE_CASES)
def test_tile_pixels_match_an_independent_per_pixel_computation(
    grid: str,
    region: tuple[float, float, float, float],
    level: int,
    tile: tuple[int, int, int],
    dense: bool,
) -> None:
    layer = make_layer(grid, region, level, dense)
    got = tile_classes(layer.index, *tile)
    expected, edge_px = reference(layer, *tile)
    assert got.shape == (256, 256)
    assert got.dtype == np.uint8
    assert np.any(expected != 255), "the case should draw something"
    wrong = got != expected
    if layer.grid.crs == "EPSG:6933":
        # separable: the row and column of pixel centres are transformed exactly
        assert not wrong.any()
    else:
        # interpolated: only pixels within the interpolation error of a cell edge differ
        assert np.all(edge_px[wrong] < 2 * MAX_ERROR_PX), np.sort(edge_px[wrong])[-5:]
        assert wrong.mean() <= 0.005


@pytest.mark.parametrize(("grid", "region", "level", "tile"), TILE_CASES[::3])
def test_png_pixels_have_the_class_colours(
    grid: str, region: tuple[float, float, float, float], level: int, tile: tuple[int, int, int]
) -> None:
    layer = make_layer(grid, region, level)
    png = render_tile(layer.index, *tile, COLOURS, opacity=0.85)
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    assert image.mode == "P"
    assert image.size == (256, 256)
    rgba = np.asarray(image.convert("RGBA"))
    classes = tile_classes(layer.index, *tile)
    colours = np.array([[int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in COLOURS])
    drawn = classes != 255
    np.testing.assert_array_equal(rgba[drawn][:, :3], colours[classes[drawn]])
    assert np.all(rgba[drawn][:, 3] == 217)
    assert np.all(rgba[~drawn][:, 3] == 0)


def test_opaque_tiles_and_large_tiles() -> None:
    layer = make_layer("global", COLORADO, 10_000)
    tile = tile_over(-105.5, 39.0, 8)
    rgba = np.asarray(
        Image.open(io.BytesIO(render_tile(layer.index, *tile, COLOURS))).convert("RGBA")
    )
    classes = tile_classes(layer.index, *tile)
    assert set(np.unique(rgba[..., 3]).tolist()) == {0, 255}
    np.testing.assert_array_equal(rgba[..., 3] == 0, classes == 255)
    big = tile_classes(layer.index, *tile, size=512)
    expected, _ = reference(layer, *tile, size=512)
    np.testing.assert_array_equal(big, expected)
    assert Image.open(io.BytesIO(render_tile(layer.index, *tile, COLOURS, 512))).size == (512, 512)


@pytest.mark.parametrize(
    ("lon", "lat", "z"),
    [
        (10.0, 50.0, 3),
        (-8.0, 40.0, 4),
        (25.0, 68.0, 5),
        (-20.0, 64.0, 6),
        (30.0, 36.0, 7),
        (0.0, 60.0, 10),
        (15.0, 45.0, 14),
        (40.0, 70.0, 18),
    ],
)
def test_interpolated_europe_coordinates_are_well_under_a_pixel(
    lon: float, lat: float, z: int
) -> None:
    _, x, y = tile_over(lon, lat, z)
    b = TMS.xy_bounds(morecantile.Tile(x, y, z))
    centres = (np.arange(256) + 0.5) / 256
    cx, cy = b.left + (b.right - b.left) * centres, b.top - (b.top - b.bottom) * centres
    edges = (b.left, b.top, b.right, b.bottom)
    t = Transformer.from_crs("EPSG:3857", "EPSG:3035", always_xy=True)
    gx, gy = tiles._grid_xy(t, cx, cy, edges)
    px, py = np.meshgrid(cx, cy)
    ex, ey = (np.asarray(v) for v in t.transform(px, py))
    _, south, _, north = tile_bounds(z, x, y)
    pixel_m = (b.right - b.left) / 256 * np.cos(np.radians(max(abs(south), abs(north))))
    error_px = max(np.abs(gx - ex).max(), np.abs(gy - ey).max()) / pixel_m
    assert error_px < MAX_ERROR_PX
    mesh = tiles._mesh(t, cx, cy, edges)
    if z >= 6:  # the fast path: interpolated in a mesh of 17 nodes a side
        assert mesh is not None
        assert mesh[2].shape == (17, 17)
    if mesh is None:
        assert error_px == 0


@pytest.mark.parametrize("per_pixel", [0, 4])
@pytest.mark.parametrize(
    ("grid", "region", "tile"),
    [
        ("europe", KOLA, tile_over(31.0, 69.0, 8)),
        ("europe", KOLA, tile_over(34.0, 70.0, 6)),
        ("europe", KOLA, tile_over(28.0, 68.0, 7)),
        ("europe", (-10.0, 30.0, 36.0, 70.0), tile_over(10.0, 50.0, 4)),
        ("global", COLORADO, tile_over(-105.5, 39.0, 8)),
    ],
)
def test_sparse_lookups_equal_dense_ones(
    grid: str,
    region: tuple[float, float, float, float],
    tile: tuple[int, int, int],
    per_pixel: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    level = 10_000 if region != (-10.0, 30.0, 36.0, 70.0) else 40_000
    dense, sparse = (
        make_layer(grid, region, level).index,
        make_layer(grid, region, level, False).index,
    )
    monkeypatch.setattr(layer_index, "_BLOCK_PER_PIXEL", per_pixel)  # 0: binary search per pixel
    expected = tile_classes(dense, *tile)
    assert np.any(expected != 255)
    np.testing.assert_array_equal(tile_classes(sparse, *tile), expected)


def test_the_order_of_the_cells_does_not_matter() -> None:
    layer = make_layer("europe", KOLA, 10_000)
    order = np.random.default_rng(3).permutation(layer.keys.size)
    shuffled = LayerIndex.from_cells("europe", 10_000, layer.keys[order], layer.classes[order])
    np.testing.assert_array_equal(shuffled.keys, np.sort(layer.keys))
    tile = tile_over(31.0, 69.0, 7)
    np.testing.assert_array_equal(tile_classes(shuffled, *tile), tile_classes(layer.index, *tile))


# --------------------------------------------------------------------------- empty tiles
def test_empty_tile_is_a_transparent_png() -> None:
    for size in (256, 512):
        image = Image.open(io.BytesIO(empty_tile(size)))
        assert image.size == (size, size)
        assert np.all(np.asarray(image.convert("RGBA"))[..., 3] == 0)
    assert empty_tile() is empty_tile()


@pytest.mark.parametrize(
    "tile", [tile_over(135.0, -25.0, 6), tile_over(-60.0, -10.0, 3), (10, 0, 0), (0, 0, 0)]
)
def test_tiles_away_from_the_layer_short_circuit(
    tile: tuple[int, int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    layer = make_layer("europe", KOLA, 10_000)
    if tile == (0, 0, 0):  # the world tile holds Kola: drawn
        assert render_tile(layer.index, *tile, COLOURS) != empty_tile()
        return

    def no_transform(*args: object) -> None:
        raise AssertionError("a tile outside the layer should not be transformed")

    monkeypatch.setattr(tiles, "transformer", no_transform)
    assert render_tile(layer.index, *tile, COLOURS) is empty_tile()
    assert np.all(tile_classes(layer.index, *tile) == 255)


def test_tiles_within_the_bounds_but_without_cells_are_empty() -> None:
    keys = GLOBAL.cell_keys([31.0, -105.0], [69.0, 39.0], 10_000)  # Kola and Colorado
    index = LayerIndex.from_cells(GLOBAL, 10_000, keys, np.array([1, 2]))
    assert render_tile(index, *tile_over(-30.0, 55.0, 6), COLOURS) is empty_tile()
    assert render_tile(index, *tile_over(31.0, 69.0, 12), COLOURS) != empty_tile()


def test_an_index_of_no_cells() -> None:
    index = LayerIndex.from_cells(EUROPE, 1_000, np.array([], dtype=np.int64), [])
    assert index.n_cells == 0
    assert index.bbox is None
    assert layer_bounds(index) == (-180.0, -85.0511287798066, 180.0, 85.0511287798066)
    assert render_tile(index, 0, 0, 0, []) is empty_tile()
    assert index.cell_at(10.0, 50.0) is None
    assert index.lookup([4e6], [3e6]).tolist() == [255]


# --------------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    ("z", "x", "y", "match"),
    [
        (-1, 0, 0, "zoom"),
        (23, 0, 0, "zoom"),
        (0, 1, 0, "does not exist"),
        (0, 0, 1, "does not exist"),
        (3, 8, 0, "does not exist"),
        (3, 0, -1, "does not exist"),
        (22, 1 << 22, 0, "does not exist"),
        (1.0, 0, 0, "integer"),
        (1, "0", 0, "integer"),
        (True, 0, 0, "integer"),
    ],
)
def test_invalid_tiles_raise(z: object, x: object, y: object, match: str) -> None:
    layer = make_layer("europe", KOLA, 10_000)
    for call in (
        lambda: render_tile(layer.index, z, x, y, COLOURS),  # type: ignore[arg-type]
        lambda: tile_classes(layer.index, z, x, y),  # type: ignore[arg-type]
        lambda: tile_bounds(z, x, y),  # type: ignore[arg-type]
    ):
        with pytest.raises(TileError, match=match):
            call()
    assert issubclass(TileError, NotFoundError)


def test_the_largest_zoom_works() -> None:
    z, x, y = tile_over(31.0, 69.0, 22)
    layer = make_layer("europe", KOLA, 10_000)
    classes = tile_classes(layer.index, z, x, y)
    assert len(np.unique(classes)) <= 4  # a 10 m tile sees at most 4 cells


@pytest.mark.parametrize("size", [0, -256, 5000, 256.0])
def test_invalid_sizes_raise(size: object) -> None:
    layer = make_layer("europe", KOLA, 10_000)
    with pytest.raises(TileError, match="size"):
        render_tile(layer.index, 0, 0, 0, COLOURS, size)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("colours", "opacity", "match"),
    [
        (COLOURS[:8], 1.0, "only 8 colours"),
        (["red"] * 9, 1.0, "#rrggbb"),
        (["#12345"] * 9, 1.0, "#rrggbb"),
        ("#440154", 1.0, "sequence"),
        (COLOURS, 1.5, "opacity"),
        (COLOURS, float("nan"), "opacity"),
    ],
)
def test_invalid_colours_raise(colours: object, opacity: float, match: str) -> None:
    layer = make_layer("europe", KOLA, 10_000)
    with pytest.raises(ClassError, match=match):
        render_tile(layer.index, 0, 0, 0, colours, opacity=opacity)  # type: ignore[arg-type]


def test_from_cells_rejects_bad_cells() -> None:
    keys = EUROPE.cells_in_region(KOLA, 10_000)[:10]
    classes = np.arange(10, dtype=np.uint8)
    with pytest.raises(GridError, match="not a level"):
        LayerIndex.from_cells(EUROPE, 12_345, keys, classes)
    with pytest.raises(GridError, match="not a cell key of the 20km level"):
        LayerIndex.from_cells(EUROPE, 20_000, keys, classes)
    with pytest.raises(GridError, match="global grid"):
        LayerIndex.from_cells(GLOBAL, 10_000, keys, classes)
    with pytest.raises(GridError, match="given twice"):
        LayerIndex.from_cells(EUROPE, 10_000, np.r_[keys, keys[3]], np.r_[classes, 1])
    with pytest.raises(GridError):
        LayerIndex.from_cells(EUROPE, 10_000, np.r_[keys, -1], np.r_[classes, 1])
    with pytest.raises(GridError, match="int64 cell keys"):
        LayerIndex.from_cells(EUROPE, 10_000, EUROPE.key_to_id(keys), classes)
    with pytest.raises(ClassError, match="one integer per cell"):
        LayerIndex.from_cells(EUROPE, 10_000, keys, classes[:5])
    with pytest.raises(ClassError, match="one integer per cell"):
        LayerIndex.from_cells(EUROPE, 10_000, keys, classes.astype(float))
    with pytest.raises(ClassError, match="0–255"):
        LayerIndex.from_cells(EUROPE, 10_000, keys, np.r_[classes[:9].astype(int), 256])


def test_index_arrays_are_read_only() -> None:
    index = make_layer("europe", KOLA, 10_000).index
    with pytest.raises(ValueError, match="read-only"):
        index.classes[0] = 3


# --------------------------------------------------------------------------- point queries
@pytest.mark.parametrize("dense", [True, False])
@pytest.mark.parametrize(("grid", "region"), [("europe", KOLA), ("global", COLORADO)])
def test_lookup_matches_cell_keys_xy(
    grid: str, region: tuple[float, float, float, float], dense: bool
) -> None:
    layer = make_layer(grid, region, 10_000, dense)
    rng = np.random.default_rng(5)
    lon = rng.uniform(region[0] - 1, region[1] + 1, 5_000)
    lat = rng.uniform(region[2] - 1, region[3] + 1, 5_000)
    x, y = layer.grid.to_xy(lon, lat)
    x[:3] = [np.nan, np.inf, -1e9]
    lookup = dict(zip(layer.keys.tolist(), layer.classes.tolist(), strict=True))
    keys = layer.grid.cell_keys_xy(x, y, 10_000)
    expected = [lookup.get(k, 255) for k in keys.tolist()]
    got = layer.index.lookup(x, y)
    assert got.dtype == np.uint8
    assert got.tolist() == expected
    assert {0, 255} < set(expected)


@pytest.mark.parametrize(("grid", "region"), [("europe", KOLA), ("global", COLORADO)])
def test_cell_at(grid: str, region: tuple[float, float, float, float]) -> None:
    layer = make_layer(grid, region, 10_000)
    lon, lat = layer.grid.cell_centres(layer.keys[:50])
    assert [layer.index.cell_at(a, b) for a, b in zip(lon, lat, strict=True)] == list(
        layer.keys[:50]
    )
    published = set(layer.keys.tolist())
    absent = next(
        k for k in layer.grid.cells_in_region(region, 10_000).tolist() if k not in published
    )
    alon, alat = layer.grid.cell_centres([absent])
    assert layer.index.cell_at(float(alon[0]), float(alat[0])) is None
    assert layer.index.cell_at(0.0, -89.0) is None
    assert layer.index.cell_at(float("nan"), 50.0) is None
    assert isinstance(layer.index.cell_at(float(lon[0]), float(lat[0])), int)


# --------------------------------------------------------------------------- bounds
@pytest.mark.parametrize(("z", "x", "y"), [(0, 0, 0), (1, 1, 0), (6, 37, 17), (15, 17_000, 9_000)])
def test_tile_bounds_are_morecantiles(z: int, x: int, y: int) -> None:
    b = TMS.bounds(morecantile.Tile(x, y, z))
    assert tile_bounds(z, x, y) == (b.left, b.bottom, b.right, b.top)


@pytest.mark.parametrize(
    ("grid", "region", "level"),
    [
        ("europe", KOLA, 10_000),
        ("global", COLORADO, 10_000),
        ("global", (-180.0, 180.0, 78.0, 85.0), 160_000),
    ],
)
def test_layer_bounds_hold_every_cell_tightly(
    grid: str, region: tuple[float, float, float, float], level: int
) -> None:
    layer = make_layer(grid, region, level)
    west, south, east, north = layer_bounds(layer.index)
    polygons = layer.grid.cell_polygons(layer.keys, densify=32, to_wgs84=True)
    xmin = min(p.bounds[0] for p in polygons)
    ymin = min(p.bounds[1] for p in polygons)
    xmax = max(p.bounds[2] for p in polygons)
    ymax = max(p.bounds[3] for p in polygons)
    assert west <= xmin
    assert south <= ymin
    assert east >= xmax
    assert north >= ymax
    assert max(xmin - west, ymin - south, east - xmax, north - ymax) < 0.05
    assert -180 <= west < east <= 180
    assert -85.06 < south < north < 85.06


def test_repr_and_sizes() -> None:
    layer = make_layer("global", COLORADO, 10_000)
    assert repr(layer.index).startswith("LayerIndex(global, 10000 m, ")
    assert layer.index.n_cells == layer.keys.size
    assert layer.index.n_classes == 9
    assert layer.index.nbytes > layer.keys.size * 8
    sparse = make_layer("global", COLORADO, 10_000, dense=False).index
    assert "sparse" in repr(sparse)
    assert sparse.nbytes < layer.index.nbytes + sparse.keys.size


# --------------------------------------------------------------------------- encode_png
def test_encode_png_round_trip() -> None:
    classes = np.array([[0, 1, 2], [255, 2, 0]], dtype=np.uint8)
    image = Image.open(io.BytesIO(encode_png(classes, ["#ff0000", "#00ff00", "#0000ff"])))
    assert image.size == (3, 2)
    assert np.asarray(image.convert("RGBA")).tolist() == [
        [[255, 0, 0, 255], [0, 255, 0, 255], [0, 0, 255, 255]],
        [[0, 0, 0, 0], [0, 0, 255, 255], [255, 0, 0, 255]],
    ]
    assert encode_png(np.full((256, 256), 255), COLOURS) is empty_tile()


@pytest.mark.parametrize(
    ("classes", "match"),
    [
        (np.zeros(4, dtype=np.uint8), "2-D"),
        (np.zeros((2, 2)), "2-D integer"),
        (np.full((2, 2), 300), "0–255"),
        (np.full((2, 2), 9), "class 9 has no colour"),
    ],
)
def test_encode_png_rejects_bad_classes(classes: np.ndarray, match: str) -> None:
    with pytest.raises(ClassError, match=match):
        encode_png(classes, COLOURS)
