"""Benchmark: XYZ PNG tiles of a grid layer, chemearth against rasterio/GDAL warping.

For each grid a synthetic, real-looking layer of about 50,000 cells of 10 km is made: a
smooth log-normal field (a few random waves of 150–900 km plus noise) over a region —
Fennoscandia and Kola for the European grid (EPSG:3035), the western United States for
the global grid (EPSG:6933) — with irregular holes where no cell is published. The
values are put in the cumulative-frequency classes of :mod:`chemearth.stats.classes`.

The same random tiles (default 500, zooms 4–10, each around a cell of the layer) are
rendered by

* chemearth: :func:`chemearth.render.tiles.render_tile` from a
  :class:`~chemearth.render.layer_index.LayerIndex`
  with its dense raster, and again with the sparse (binary search) lookup;
* rasterio: :func:`rasterio.warp.reproject` (nearest neighbour, GDAL's default error
  threshold of 0.125 pixel) from the dense raster of classes of the layer in the grid
  CRS to the tile's 256 × 256 Web Mercator window, then the same PNG encoder
  (:func:`chemearth.render.tiles.encode_png`).

Building the index and the raster is not timed. Before any ratio, the outputs are
compared: the share of pixels on which the two agree, and the share each gets right on
the first ``--exact`` tiles (default 100) against every pixel centre transformed by
pyproj; the bench stops when chemearth is below 99.9 % right or rasterio (whose GDAL
approximate transformer is off by up to 0.125 px near cell edges) below 95 %. Then ms per
tile (mean and median, one thread each, the machine's load beside each) and the rasterio
/ chemearth ratio; the figures go to ``<out>/tiles.json``.

Usage: ``python bench/tiles.py [--tiles 500] [--seed 1] [--exact 100] [--out bench/out]``
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from common import LoadMeter, load_note, write_result  # bench/common.py (the script's folder)

from chemearth.grid.geometry import get_grid
from chemearth.render.layer_index import LayerIndex
from chemearth.render.tiles import encode_png, render_tile, tile_classes
from chemearth.stats.classes import classify, legend

LEVEL = 10_000
TARGET_CELLS = 50_000
#: (grid, region (west, east, south, north) in degrees)
LAYERS = {
    "europe": (0.0, 45.0, 54.0, 72.0),
    "global": (-125.0, -95.0, 30.0, 49.0),
}


def make_layer(grid_name: str, seed: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Keys, classes and colours of a synthetic layer of about 50,000 cells."""
    rng = np.random.default_rng(seed)
    grid = get_grid(grid_name)
    keys = grid.cells_in_region(LAYERS[grid_name], LEVEL)
    x, y = grid.cell_centres(keys, to_wgs84=False)
    field = np.zeros(keys.size)
    for _ in range(8):
        wavelength = rng.uniform(150e3, 900e3)
        angle = rng.uniform(0, np.pi)
        phase = rng.uniform(0, 2 * np.pi)
        field += np.sin((x * np.cos(angle) + y * np.sin(angle)) * 2 * np.pi / wavelength + phase)
    holes = field + rng.normal(0, 0.8, keys.size)
    keep = holes > np.quantile(holes, 1 - min(1.0, TARGET_CELLS / keys.size))
    values = np.exp(0.4 * field[keep] + rng.normal(0, 0.3, int(keep.sum())) + 3.0)
    lg = legend(values, "mg/kg", "median")
    return keys[keep], classify(values, lg.breaks), list(lg.colours)


def random_tiles(grid_name: str, keys: np.ndarray, n: int, seed: int) -> list[tuple[int, int, int]]:
    import morecantile

    rng = np.random.default_rng(seed + 1)
    tms = morecantile.tms.get("WebMercatorQuad")
    lon, lat = get_grid(grid_name).cell_centres(rng.choice(keys, n))
    zooms = rng.integers(4, 11, n)
    out = []
    for a, b, z in zip(lon.tolist(), lat.tolist(), zooms.tolist(), strict=True):
        t = tms.tile(a, b, z)
        out.append((z, t.x, t.y))
    return out


def rasterio_renderer(
    grid_name: str, keys: np.ndarray, classes: np.ndarray, colours: list[str]
) -> tuple[Callable[[int, int, int], bytes], Callable[[int, int, int], np.ndarray]]:
    """Tile renderers warping a dense north-up raster of the layer with GDAL."""
    import morecantile
    from rasterio.crs import CRS
    from rasterio.transform import from_bounds, from_origin
    from rasterio.warp import Resampling, reproject

    grid = get_grid(grid_name)
    x, y = grid.cell_centres(keys, to_wgs84=False)
    col, row = np.floor(x / LEVEL).astype(int), np.floor(y / LEVEL).astype(int)
    c0, r1 = col.min(), row.max()
    raster = np.full((r1 - row.min() + 1, col.max() - c0 + 1), 255, dtype=np.uint8)
    raster[r1 - row, col - c0] = classes
    src_transform = from_origin(c0 * LEVEL, (r1 + 1) * LEVEL, LEVEL, LEVEL)
    src_crs, dst_crs = CRS.from_string(grid.crs), CRS.from_epsg(3857)
    tms = morecantile.tms.get("WebMercatorQuad")

    def classes_of(z: int, tx: int, ty: int) -> np.ndarray:
        b = tms.xy_bounds(morecantile.Tile(tx, ty, z))
        out = np.full((256, 256), 255, dtype=np.uint8)
        reproject(
            raster, out, src_transform=src_transform, src_crs=src_crs, src_nodata=255,
            dst_transform=from_bounds(b.left, b.bottom, b.right, b.top, 256, 256),
            dst_crs=dst_crs, dst_nodata=255, resampling=Resampling.nearest,
        )  # fmt: skip
        return out

    def render(z: int, tx: int, ty: int) -> bytes:
        return encode_png(classes_of(z, tx, ty), colours)

    return render, classes_of


def exact_classes(
    grid_name: str, keys: np.ndarray, classes: np.ndarray, z: int, x: int, y: int
) -> np.ndarray:
    """The classes of a tile's pixels, every pixel centre transformed by pyproj."""
    import morecantile
    from pyproj import Transformer

    grid = get_grid(grid_name)
    b = morecantile.tms.get("WebMercatorQuad").xy_bounds(morecantile.Tile(x, y, z))
    centres = (np.arange(256) + 0.5) / 256
    px, py = np.meshgrid(
        b.left + (b.right - b.left) * centres, b.top - (b.top - b.bottom) * centres
    )
    gx, gy = Transformer.from_crs("EPSG:3857", grid.crs, always_xy=True).transform(px, py)
    cell = grid.cell_keys_xy(gx, gy, LEVEL)
    pos = np.clip(np.searchsorted(keys, cell), 0, keys.size - 1)
    return np.where(keys[pos] == cell, classes[pos], 255).astype(np.uint8)


def chemearth_renderer(index: LayerIndex, colours: list[str]) -> Callable[[int, int, int], bytes]:
    def render(z: int, x: int, y: int) -> bytes:
        return render_tile(index, z, x, y, colours)

    return render


def timed(fn: Callable[[int, int, int], object], tiles: list[tuple[int, int, int]]) -> list[float]:
    for t in tiles[:20]:  # warm caches (transformers, palettes)
        fn(*t)
    ms = []
    for t in tiles:
        start = time.perf_counter()
        fn(*t)
        ms.append((time.perf_counter() - start) * 1e3)
    return ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiles", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--exact", type=int, default=100, help="tiles checked against per-pixel pyproj"
    )
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out")
    args = parser.parse_args()
    figures: dict[str, object] = {"tiles": args.tiles, "threads": 1}
    import rasterio

    print(f"{args.tiles} random tiles at zooms 4–10, 256 px; rasterio {rasterio.__version__}, "
          f"GDAL {rasterio.__gdal_version__}")  # fmt: skip
    for grid_name in LAYERS:
        keys, classes, colours = make_layer(grid_name, args.seed)
        tiles = random_tiles(grid_name, keys, args.tiles, args.seed)
        dense = LayerIndex.from_cells(grid_name, LEVEL, keys, classes)
        sparse = LayerIndex.from_cells(grid_name, LEVEL, keys, classes, dense_max_cells=0)
        gdal_render, gdal_classes = rasterio_renderer(grid_name, keys, classes, colours)
        renderers = {
            "chemearth (dense)": chemearth_renderer(dense, colours),
            "chemearth (sparse)": chemearth_renderer(sparse, colours),
            "rasterio reproject": gdal_render,
        }
        results, loads = {}, {}
        for name, fn in renderers.items():  # one thread each, in this process
            with LoadMeter() as meter:
                results[name] = timed(fn, tiles)
            loads[name] = meter.result()
        same = total = 0
        for t in tiles:
            a, b = tile_classes(dense, *t), gdal_classes(*t)
            same += int(np.sum(a == b))
            total += a.size
        exact = {"chemearth": 0, "rasterio": 0}
        checked = tiles[: args.exact]
        for t in checked:
            truth = exact_classes(grid_name, keys, classes, *t)
            exact["chemearth"] += int(np.sum(tile_classes(dense, *t) == truth))
            exact["rasterio"] += int(np.sum(gdal_classes(*t) == truth))
        n = max(1, len(checked) * 256 * 256)
        right = {k: v / n for k, v in exact.items()}
        # the outputs must agree before a ratio means anything: chemearth exact (its cells
        # are found for every pixel centre), rasterio within GDAL's approximate transformer
        # (0.125 px error threshold, its default: some 2 % of pixels near cell edges off), the
        # two agreeing on all but those pixels
        if right["chemearth"] < 0.999 or right["rasterio"] < 0.95 or same / total < 0.95:
            raise SystemExit(f"{grid_name}: outputs disagree: pixels agreeing "
                             f"{100 * same / total:.3f} %, right vs exact: {right}")
        print(f"\n{grid_name} grid ({get_grid(grid_name).crs}): {keys.size:,} cells of 10 km, "
              f"{dense!r}")  # fmt: skip
        print(f"  pixels agreeing: {100 * same / total:.3f} %; right (vs every pixel centre "
              f"transformed by pyproj, {len(checked)} tiles): chemearth "
              f"{100 * right['chemearth']:.3f} %, rasterio {100 * right['rasterio']:.3f} %")
        for name, ms in results.items():
            print(f"  {name:20s} {statistics.fmean(ms):7.3f} ms/tile mean, "
                  f"{statistics.median(ms):7.3f} median, {max(ms):7.2f} max  "
                  f"[{load_note(loads[name])}]")  # fmt: skip
        ratio = statistics.fmean(results["rasterio reproject"]) / statistics.fmean(
            results["chemearth (dense)"]
        )
        print(f"  rasterio / chemearth (dense), mean, 1 thread each: {ratio:.1f}x")
        figures[grid_name] = {
            "ms_mean": {k: statistics.fmean(v) for k, v in results.items()},
            "ms_median": {k: statistics.median(v) for k, v in results.items()},
            "ratio_rasterio_dense": ratio, "pixels_agreeing": same / total,
            "pixels_right": right, "load": loads,
        }
    print(f"figures: {write_result(args.out, 'tiles', figures)}")


if __name__ == "__main__":
    main()
