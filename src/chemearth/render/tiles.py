"""XYZ PNG map tiles (Web Mercator, ``WebMercatorQuad``) rendered from a grid layer's cells.

A layer at one level is a set of cells of one grid, each with a colour class
(:func:`chemearth.stats.classes.classify` of the mapped statistic). :meth:`LayerIndex.from_cells`
indexes them once; :func:`render_tile` then draws any tile: the centre of each pixel is
taken from Web Mercator to the grid's CRS, keyed to its cell like
:meth:`chemearth.grid.geometry.Grid.cell_keys_xy`, and painted in its class colour. Pixels
without a cell are transparent.

Speed
-----
* Only the window of the tile's pixels inside the layer's bounding box is computed; a
  tile outside it is :func:`empty_tile` (a cached transparent PNG) at once, as is a tile
  that meets no cell.
* EASE-Grid 2.0 (EPSG:6933) is separable from Web Mercator (easting depends only on
  longitude, northing only on latitude), so a tile transforms one row and one column of
  pixel centres, exactly as pyproj would transform every pixel.
* ETRS89-LAEA (EPSG:3035) is not: a mesh of 17 × 17 nodes is transformed and
  interpolated bilinearly, in cell units and float32, without BLAS. The interpolation
  error is bounded from the errors at the middles of the mesh's edges and the mesh
  refined (33, 65 nodes, then every pixel) until it is under :data:`MAX_ERROR_PX` of a
  pixel: 17 nodes from zoom 6 on.
* A layer whose bounding box holds at most :data:`DENSE_MAX_CELLS` cells is also kept as
  a dense ``uint8`` raster of classes (one byte per cell of the box, with a border of
  255) and looked up by position; larger ones are looked up in the sorted cells (a small
  dense block of the cells under the tile, or binary search per pixel).

The PNGs are palette images (``P`` mode): colour ``k`` is class ``k`` and the one index
after the classes is fully transparent (tRNS), so a tile of nine classes is a 4-bit PNG.

Examples
--------
>>> import io
>>> import numpy as np
>>> from PIL import Image
>>> from chemearth.grid.geometry import EUROPE
>>> keys = EUROPE.cell_keys([30.0, 31.0], [69.0, 69.0], 10_000)  # two cells on Kola
>>> index = LayerIndex.from_cells(EUROPE, 10_000, keys, np.array([0, 1], dtype=np.uint8))
>>> index.cell_at(30.0, 69.0) == int(keys[0]), index.cell_at(0.0, 50.0)
(True, None)
>>> png = render_tile(index, 8, 149, 60, ["#440154", "#fde725"])
>>> Image.open(io.BytesIO(png)).size
(256, 256)
>>> render_tile(index, 8, 0, 0, ["#440154", "#fde725"]) == empty_tile()
True
"""

from __future__ import annotations

import functools
import io
import math
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, TypeVar

import numpy as np
import pyproj
import shapely
from numpy.typing import ArrayLike, NDArray

from chemearth.errors import GridError, NotFoundError
from chemearth.grid.geometry import INVALID_KEY, Grid, get_grid
from chemearth.stats.classes import NO_CLASS, ClassError

if TYPE_CHECKING:
    import morecantile

__all__ = [
    "DENSE_MAX_CELLS",
    "MAX_ERROR_PX",
    "MAX_TILE_SIZE",
    "MAX_ZOOM",
    "TILE_MATRIX_SET",
    "LayerIndex",
    "TileError",
    "empty_tile",
    "encode_png",
    "layer_bounds",
    "render_tile",
    "tile_bounds",
    "tile_classes",
]

#: The OGC tile matrix set of the tiles.
TILE_MATRIX_SET: Final = "WebMercatorQuad"
#: Highest zoom level served.
MAX_ZOOM: Final = 22
#: Largest bounding box (in cells) of a layer kept as a dense raster (1 byte per cell).
DENSE_MAX_CELLS: Final = 16_000_000
#: Largest dense raster at all (its flat indexes are int32).
_DENSE_LIMIT = 1 << 30
#: Largest error, in pixels, of the interpolated pixel positions of non-separable grids.
MAX_ERROR_PX: Final = 0.05
#: Largest tile side in pixels.
MAX_TILE_SIZE: Final = 4096

#: Web Mercator latitude limit (degrees).
_MERC_LAT = 85.0511287798066
#: Grid CRSs whose easting depends only on longitude and northing only on latitude.
_SEPARABLE = frozenset({"EPSG:6933", "EPSG:4326", "EPSG:3857"})
#: Node counts of the interpolation mesh, coarsest first (then every pixel).
_MESH_NODES = (17, 33, 65)
#: A sparse layer's cells under a tile are gathered in a dense block when they are at
#: most this many per pixel; otherwise every pixel is looked up by binary search.
_BLOCK_PER_PIXEL = 4
#: Windows of at most this many pixels are transformed pixel by pixel.
_EXACT_PIXELS = 1024
#: zlib settings of the PNGs: run-length encoding is 2–4x faster than the default
#: strategy on class tiles, and the files are as small as with level 6.
_PNG_OPTIONS: Final = {"compress_level": 6, "compress_type": zlib.Z_RLE}
_COLOUR = re.compile(r"#([0-9a-fA-F]{6})")

Box = tuple[float, float, float, float]
_F = TypeVar("_F", np.float32, np.float64)
#: Interval and fraction of linear interpolation of each pixel between mesh nodes.
_Weights = tuple[NDArray[np.intp], NDArray[np.float64]]
#: Column and row weights, and grid x and y of the nodes.
_Mesh = tuple[_Weights, _Weights, NDArray[np.float64], NDArray[np.float64]]
Keys = NDArray[np.int64]
Classes = NDArray[np.uint8]
Floats = NDArray[np.float64]


class TileError(NotFoundError):
    """A tile that is not in the tile matrix set (bad zoom, column or row)."""


@functools.lru_cache(maxsize=16)
def _transformer(source: str, target: str) -> pyproj.Transformer:
    # Transformers are thread-safe (pyproj >= 3.1), so one per CRS pair is shared.
    return pyproj.Transformer.from_crs(source, target, always_xy=True)


@functools.lru_cache(maxsize=1)
def _tms() -> morecantile.TileMatrixSet:
    import morecantile

    return morecantile.tms.get(TILE_MATRIX_SET)


def _check_tile(z: int, x: int, y: int) -> None:
    for name, v in (("z", z), ("x", x), ("y", y)):
        if isinstance(v, bool) or not isinstance(v, int | np.integer):
            raise TileError(f"tile {name} must be an integer, got {v!r}")
    if not 0 <= z <= MAX_ZOOM:
        raise TileError(f"tile zoom {z} is not in 0–{MAX_ZOOM}")
    n = 1 << int(z)
    if not (0 <= x < n and 0 <= y < n):
        raise TileError(
            f"tile {z}/{x}/{y} does not exist: x and y must be in 0–{n - 1} at zoom {z}"
        )


def _check_size(size: int) -> int:
    if isinstance(size, bool) or not isinstance(size, int | np.integer):
        raise TileError(f"tile size must be an integer, got {size!r}")
    if not 1 <= size <= MAX_TILE_SIZE:
        raise TileError(f"tile size {size} is not in 1–{MAX_TILE_SIZE}")
    return int(size)


def tile_bounds(z: int, x: int, y: int) -> Box:
    """``(west, south, east, north)`` of a ``WebMercatorQuad`` tile in degrees.

    Raises
    ------
    TileError
        If ``z`` is not 0–22 or ``x``, ``y`` not 0 … 2**z - 1.

    Examples
    --------
    >>> [round(v, 4) for v in tile_bounds(1, 1, 0)]
    [0.0, 0.0, 180.0, 85.0511]
    """
    _check_tile(z, x, y)
    import morecantile

    b = _tms().bounds(morecantile.Tile(int(x), int(y), int(z)))
    return (float(b.left), float(b.bottom), float(b.right), float(b.top))


def _tile_xy_bounds(z: int, x: int, y: int) -> Box:
    """``(left, bottom, right, top)`` of a tile in Web Mercator metres."""
    import morecantile

    b = _tms().xy_bounds(morecantile.Tile(int(x), int(y), int(z)))
    return (float(b.left), float(b.bottom), float(b.right), float(b.top))


def _floor_div(values: Floats, size: float) -> Keys:
    """Exact ``floor(values / size)``, as :meth:`Grid.cell_keys_xy` computes cell indexes."""
    q = np.floor(values / size)
    q -= q * size > values
    q += (q + 1.0) * size <= values
    return q.astype(np.int64)


def _lonlat_box(grid: Grid, col: Keys, row: Keys, size: float) -> Box:
    """Longitude/latitude bounding box of cells (their columns and rows at one level).

    The box of the cells' convex hull in the grid's CRS (the hull of the first and last
    cell of every row), its edges densified to 5 km, padded by 5e-4° (~50 m): it holds
    every cell, and is tight for layers with a convex outline.
    """
    order = np.argsort(row, kind="stable")
    r, c = row[order], col[order]
    starts = np.flatnonzero(np.r_[True, r[1:] != r[:-1]])
    rows, first, last = r[starts], np.minimum.reduceat(c, starts), np.maximum.reduceat(c, starts)
    w, e, s, n = grid.bounds
    xs = np.clip(np.concatenate([first, first, last + 1, last + 1]) * size, w, e)
    ys = np.clip(np.concatenate([rows, rows + 1, rows, rows + 1]) * size, s, n)
    hull = shapely.MultiPoint(np.column_stack([xs, ys])).convex_hull
    ring = shapely.get_coordinates(shapely.segmentize(hull.boundary, 5_000.0))
    lon, lat = (
        np.asarray(v) for v in _transformer(grid.crs, "EPSG:4326").transform(ring[:, 0], ring[:, 1])
    )
    if not (np.all(np.isfinite(lon)) and np.all(np.isfinite(lat))):
        return (-180.0, -90.0, 180.0, 90.0)
    pad = 5e-4
    west, east = float(lon.min()) - pad, float(lon.max()) + pad
    south, north = float(lat.min()) - pad, float(lat.max()) + pad
    if np.any(np.abs(np.diff(lon)) > 180.0):  # the outline crosses the antimeridian
        west, east = -180.0, 180.0
    to_crs = _transformer("EPSG:4326", grid.crs)
    for pole in (-90.0, 90.0):
        px, py = to_crs.transform(0.0, pole, errcheck=False)
        if shapely.intersects_xy(hull, px, py):
            west, east = -180.0, 180.0
            south, north = min(south, pole), max(north, pole)
    return (max(west, -180.0), max(south, -90.0), min(east, 180.0), min(north, 90.0))


@dataclass(frozen=True, eq=False, repr=False)
class LayerIndex:
    """The cells of one layer at one level, indexed for tiles and point queries.

    Build it with :meth:`from_cells`. ``keys`` are sorted and ``classes`` follow them.
    The cells are those published at this level; a cell absent from the index is
    transparent on tiles and ``None`` for :meth:`cell_at`. A cell of class
    :data:`~chemearth.stats.classes.NO_CLASS` (255) is in the index but not drawn.

    Attributes
    ----------
    grid : Grid
        The grid of the cells.
    level_m : int
        Their level (cell size in metres).
    keys : numpy.ndarray
        Sorted, distinct ``int64`` cell keys.
    classes : numpy.ndarray
        ``uint8`` class of each cell.
    bounds : tuple of float or None
        ``(west, south, east, north)`` in degrees around all cells (None if no cells).

    Examples
    --------
    >>> import numpy as np
    >>> from chemearth.grid.geometry import GLOBAL
    >>> keys = GLOBAL.cell_keys([-105.0, -104.9], [39.0, 39.0], 10_000)
    >>> index = LayerIndex.from_cells("global", 10_000, keys, np.array([3, 4]))
    >>> index
    LayerIndex(global, 10000 m, 2 cells, dense 2x1)
    """

    grid: Grid
    level_m: int
    keys: Keys
    classes: Classes
    bounds: Box | None
    _col0: int
    _row0: int
    _ncols: int
    _nrows: int
    _last_col: int  # the grid's last column and row at this level
    _last_row: int
    _max_class: int  # highest class drawn, -1 if none
    _whole: bool  # every cell of the bounding box is a whole square inside the grid
    _lin: Keys  # sorted (col - col0) * nrows + (row - row0) of each cell
    _lin_classes: Classes
    _dense: Classes | None  # (nrows + 2, ncols + 2) classes, a NO_CLASS border around
    _xy_box: Box  # the bounds in Web Mercator metres

    @classmethod
    def from_cells(
        cls,
        grid: Grid | str,
        level_m: int,
        cell_keys: ArrayLike,
        classes: ArrayLike,
        *,
        dense_max_cells: int = DENSE_MAX_CELLS,
    ) -> LayerIndex:
        """Index the published cells of one layer at one level.

        Parameters
        ----------
        grid : Grid or str
            The grid of the cells, or its name.
        level_m : int
            The level of every cell (cell size in metres).
        cell_keys : array_like of int64
            The cells' keys (:meth:`Grid.cell_keys`), distinct, in any order.
        classes : array_like of int
            One class index (0–255, 255 = not drawn) per cell, as
            :func:`chemearth.stats.classes.classify` gives.
        dense_max_cells : int
            Keep a dense raster when the cells' bounding box holds at most this many
            cells (one byte each); ``0`` never.

        Raises
        ------
        GridError
            For an unknown grid or level, keys of another grid or level, or a key given
            twice.
        ClassError
            If ``classes`` is not one integer 0–255 per key.

        Examples
        --------
        >>> import numpy as np
        >>> from chemearth.grid.geometry import EUROPE
        >>> index = LayerIndex.from_cells(EUROPE, 1_000, [], np.array([], dtype=np.uint8))
        >>> index.bounds is None, render_tile(index, 0, 0, 0, []) == empty_tile()
        (True, True)
        """
        g = get_grid(grid)
        g.level_label(level_m)  # raises a GridError listing the levels for another level
        level_m, size = int(level_m), float(level_m)
        try:
            keys = np.asarray(cell_keys, dtype=np.int64).ravel()
        except (TypeError, ValueError, OverflowError):
            raise GridError("cell_keys must be int64 cell keys (see Grid.id_to_key)") from None
        raw = np.asarray(classes)
        if raw.shape != keys.shape or (raw.size and raw.dtype.kind not in "iu"):
            raise ClassError(
                f"classes must be one integer per cell key: got {raw.dtype} of shape "
                f"{raw.shape} for {keys.size} keys"
            )
        if raw.size and (raw.min() < 0 or raw.max() > NO_CLASS):
            raise ClassError("classes must be 0–255")
        levels = g.level_of(keys)  # raises GridError for keys of another grid
        if np.any(levels != level_m):
            bad = int(keys[np.argmax(levels != level_m)])
            raise GridError(f"{bad} is not a cell key of the {g.level_label(level_m)} level")
        order = np.argsort(keys, kind="stable")
        keys, cl = keys[order], raw.astype(np.uint8)[order]
        if keys.size > 1 and np.any(keys[1:] == keys[:-1]):
            dup = int(keys[1:][keys[1:] == keys[:-1]][0])
            raise GridError(f"cell key {dup} ({g.key_to_id([dup])[0]}) is given twice")
        w, e, s, n = g.bounds
        last_col, last_row = math.ceil(e / size) - 1, math.ceil(n / size) - 1
        drawn = cl[cl != NO_CLASS]
        max_class = int(drawn.max()) if drawn.size else -1
        if keys.size == 0:
            empty = np.empty(0, dtype=np.int64)
            return cls(
                g, level_m, empty, np.empty(0, np.uint8), None, 0, 0, 0, 0, last_col,
                last_row, -1, False, empty, np.empty(0, np.uint8), None, (0.0, 0.0, 0.0, 0.0),
            )  # fmt: skip
        cx, cy = g.cell_centres(keys, to_wgs84=False)
        col, row = np.floor(cx / size).astype(np.int64), np.floor(cy / size).astype(np.int64)
        col0, row0 = int(col.min()), int(row.min())
        ncols, nrows = int(col.max()) - col0 + 1, int(row.max()) - row0 + 1
        lin = (col - col0) * nrows + (row - row0)
        lin_order = np.argsort(lin, kind="stable")
        dense = None
        if ncols * nrows <= min(dense_max_cells, _DENSE_LIMIT):
            dense = np.full((nrows + 2, ncols + 2), NO_CLASS, dtype=np.uint8)
            dense[row - row0 + 1, col - col0 + 1] = cl
        x0, x1, y0, y1 = col0 * size, (col0 + ncols) * size, row0 * size, (row0 + nrows) * size
        whole = w <= x0 and x1 <= e and s <= y0 and y1 <= n
        bounds = _lonlat_box(g, col, row, size)
        lat = np.clip([bounds[1], bounds[3]], -_MERC_LAT, _MERC_LAT)
        mx, my = _transformer("EPSG:4326", "EPSG:3857").transform([bounds[0], bounds[2]], lat)
        xy_box = (float(mx[0]), float(my[0]), float(mx[1]), float(my[1]))
        lin, lin_classes = lin[lin_order], cl[lin_order]
        arrays: list[NDArray[Any]] = [keys, cl, lin, lin_classes]
        arrays += [dense] if dense is not None else []
        for a in arrays:
            a.flags.writeable = False
        return cls(
            g, level_m, keys, cl, bounds, col0, row0, ncols, nrows, last_col, last_row,
            max_class, whole, lin, lin_classes, dense, xy_box,
        )  # fmt: skip

    def __repr__(self) -> str:
        kind = f"dense {self._ncols}x{self._nrows}" if self._dense is not None else "sparse"
        return f"LayerIndex({self.grid.name}, {self.level_m} m, {self.keys.size} cells, {kind})"

    @property
    def n_cells(self) -> int:
        """The number of cells."""
        return int(self.keys.size)

    @property
    def n_classes(self) -> int:
        """One more than the highest class drawn (the colours :func:`render_tile` needs)."""
        return self._max_class + 1

    @property
    def nbytes(self) -> int:
        """Memory held by the index's arrays, in bytes."""
        arrays = (self.keys, self.classes, self._lin, self._lin_classes, self._dense)
        return sum(a.nbytes for a in arrays if a is not None)

    def lookup(self, x: ArrayLike, y: ArrayLike) -> Classes:
        """Class of the cell under each point in the grid's CRS (metres, broadcast).

        :data:`~chemearth.stats.classes.NO_CLASS` (255) where no cell of the layer is. Points
        are keyed exactly as :meth:`Grid.cell_keys_xy` keys them.

        Examples
        --------
        >>> import numpy as np
        >>> from chemearth.grid.geometry import EUROPE
        >>> keys = EUROPE.id_to_key(["10kmE432N321"])
        >>> index = LayerIndex.from_cells(EUROPE, 10_000, keys, np.array([7]))
        >>> index.lookup([4_321_000.0, 4_331_000.0], 3_215_000.0).tolist()
        [7, 255]
        """
        k = self.grid.cell_keys_xy(x, y, self.level_m)
        if self.keys.size == 0:
            return np.full(k.shape, NO_CLASS, dtype=np.uint8)
        pos = np.minimum(np.searchsorted(self.keys, k), self.keys.size - 1)
        hit = (self.keys[pos] == k) & (k != INVALID_KEY)
        return np.where(hit, self.classes[pos], NO_CLASS).astype(np.uint8)

    def cell_at(self, lon: float, lat: float) -> int | None:
        """Key of the layer's cell under a WGS84 point, or None where it has none.

        Examples
        --------
        >>> import numpy as np
        >>> from chemearth.grid.geometry import GLOBAL
        >>> keys = GLOBAL.cell_keys([-105.0], [39.0], 10_000)
        >>> index = LayerIndex.from_cells(GLOBAL, 10_000, keys, np.array([0]))
        >>> GLOBAL.key_to_id([index.cell_at(-105.01, 39.01)]).tolist(), index.cell_at(0, 0)
        (['G10km-W1014-N460'], None)
        """
        k = int(self.grid.cell_keys(lon, lat, self.level_m).ravel()[0])
        if k == INVALID_KEY or self.keys.size == 0:
            return None
        pos = int(np.searchsorted(self.keys, k))
        return k if pos < self.keys.size and int(self.keys[pos]) == k else None

    def _classes_xy(self, gx: Floats, gy: Floats) -> Classes:
        """Classes at grid-CRS points (broadcast), keyed as :meth:`Grid.cell_keys_xy` does."""
        size = float(self.level_m)
        w, e, s, n = self.grid.bounds
        col = np.minimum(_floor_div(np.where(np.isfinite(gx), gx, 0.0), size), self._last_col)
        row = np.minimum(_floor_div(np.where(np.isfinite(gy), gy, 0.0), size), self._last_row)
        ci, ri = col - self._col0, row - self._row0
        ci[(gx < w) | (gx > e) | ~np.isfinite(gx) | (ci < 0) | (ci >= self._ncols)] = -1
        ri[(gy < s) | (gy > n) | ~np.isfinite(gy) | (ri < 0) | (ri >= self._nrows)] = -1
        if self._dense is not None:
            out: Classes = np.take(self._dense, (ri + 1) * (self._ncols + 2) + (ci + 1))
            return out
        if ci.ndim == ri.ndim == 2 and ci.shape[0] == 1 and ri.shape[1] == 1:
            # separable: look up each distinct (column, row) once
            cu, cinv = np.unique(ci, return_inverse=True)
            ru, rinv = np.unique(ri, return_inverse=True)
            block = self._sparse(cu[None, :], ru[:, None])
            return block[rinv.reshape(-1, 1), cinv.reshape(1, -1)]
        return self._sparse(ci, ri)

    def _classes_mesh(self, mesh: _Mesh) -> Classes:
        """Classes at pixels whose grid coordinates are interpolated in a mesh.

        The fast path of :func:`tile_classes` for layers of whole cells: the nodes are
        turned into cell indexes (an affine map, so it commutes with the interpolation),
        made local to the tile and interpolated in float32, which is exact to ~1e-5
        pixel. A cell index is a rounding or so from the exact ``floor(x / size)``; the
        interpolation itself is good to :data:`MAX_ERROR_PX`.
        """
        u, v, nx, ny = mesh
        size = float(self.level_m)
        index, spans = [], []
        for nodes, origin, last in (
            (nx, self._col0 - 1, self._ncols + 1),
            (ny, self._row0 - 1, self._nrows + 1),
        ):
            cells = nodes / size - origin  # 1 + the index in the bounding box
            base = math.floor(float(cells.min()))
            local = _bilinear((cells - base).astype(np.float32), u, v)
            i = local.astype(np.int32)  # local >= 0: truncation is floor
            i += base
            index.append(np.clip(i, 0, last, out=i))  # 0 and last: outside the box
            spans.append((min(max(base, 0), last), min(max(math.floor(cells.max()), 0), last)))
        ci, ri = index
        if self._dense is not None:
            ri *= self._ncols + 2
            ri += ci
            out: Classes = np.take(self._dense, ri)
            return out
        (c0, c1), (r0, r1) = spans
        if (c1 - c0 + 1) * (r1 - r0 + 1) <= _BLOCK_PER_PIXEL * ci.size:
            # few cells under the tile: a small dense block of them
            ri -= r0
            ri *= c1 - c0 + 1
            ri += ci
            ri -= c0
            block: Classes = np.take(self._block(c0, c1, r0, r1), ri)
            return block
        col, row = ci.astype(np.int64) - 1, ri.astype(np.int64) - 1
        col[col >= self._ncols] = -1
        row[row >= self._nrows] = -1
        return self._sparse(col, row)

    def _block(self, c0: int, c1: int, r0: int, r1: int) -> Classes:
        """Classes of cells ``c0``–``c1`` × ``r0``–``r1`` from the sorted cells (255: none).

        Indexes are 1 + the column and row in the bounding box, as in the dense raster.
        """
        block = np.full((r1 - r0 + 1, c1 - c0 + 1), NO_CLASS, dtype=np.uint8)
        cols = np.arange(max(c0, 1), min(c1, self._ncols) + 1, dtype=np.int64) - 1
        lo_row, hi_row = max(r0, 1) - 1, min(r1, self._nrows) - 1
        if cols.size == 0 or lo_row > hi_row:
            return block
        start = np.searchsorted(self._lin, cols * self._nrows + lo_row)
        stop = np.searchsorted(self._lin, cols * self._nrows + hi_row, side="right")
        counts = stop - start
        total = int(counts.sum())
        if total == 0:
            return block
        # the positions start[i] … stop[i] - 1 of every column, in one array
        offsets = np.repeat(start - np.cumsum(counts) + counts, counts)
        pos = offsets + np.arange(total)
        lin = self._lin[pos]
        block[lin % self._nrows + 1 - r0, lin // self._nrows + 1 - c0] = self._lin_classes[pos]
        return block

    def _sparse(self, ci: Keys, ri: Keys) -> Classes:
        shape = np.broadcast_shapes(ci.shape, ri.shape)
        if self._lin.size == 0:
            return np.full(shape, NO_CLASS, dtype=np.uint8)
        lin = ci * self._nrows + ri
        pos = np.minimum(np.searchsorted(self._lin, lin), self._lin.size - 1)
        hit = (ci >= 0) & (ri >= 0) & (self._lin[pos] == lin)
        return np.where(hit, self._lin_classes[pos], NO_CLASS).astype(np.uint8)


def layer_bounds(index: LayerIndex) -> Box:
    """``(west, south, east, north)`` of a layer for TileJSON, in degrees.

    The bounding box of the layer's cells, within the Web Mercator latitudes; the whole
    Web Mercator world for a layer of no cells.

    Examples
    --------
    >>> import numpy as np
    >>> from chemearth.grid.geometry import GLOBAL
    >>> keys = GLOBAL.cell_keys([-105.0], [39.0], 160_000)
    >>> w, s, e, n = layer_bounds(LayerIndex.from_cells(GLOBAL, 160_000, keys, np.array([0])))
    >>> round(w, 2), round(s, 2), round(e, 2), round(n, 2)
    (-106.13, 37.73, -104.47, 39.32)
    """
    if index.bounds is None:
        return (-180.0, -_MERC_LAT, 180.0, _MERC_LAT)
    w, s, e, n = index.bounds
    return (w, max(s, -_MERC_LAT), e, min(n, _MERC_LAT))


def _interpolation(at: Floats, nodes: Floats) -> _Weights:
    """Interval ``k`` and fraction ``t`` of each of ``at`` between monotone ``nodes``."""
    sign = 1.0 if nodes[-1] > nodes[0] else -1.0
    k = np.clip(np.searchsorted(sign * nodes, sign * at, side="right") - 1, 0, nodes.size - 2)
    return k, (at - nodes[k]) / (nodes[k + 1] - nodes[k])


def _bilinear(values: NDArray[_F], u: _Weights, v: _Weights) -> NDArray[_F]:
    """``values`` on a mesh (rows v, columns u) interpolated at the points ``v`` × ``u``.

    Separable and element-wise in the dtype of ``values``: no BLAS (whose threads stall
    on a busy machine).
    """
    (ku, fu), (kv, fv) = u, v
    tu: NDArray[_F] = fu.astype(values.dtype)
    tv: NDArray[_F] = fv.astype(values.dtype)
    rows: NDArray[_F] = values[:, ku] * (1 - tu) + values[:, ku + 1] * tu  # (mesh rows, pixels)
    out: NDArray[_F] = np.diff(rows, axis=0).take(kv, axis=0)
    out *= tv[:, None]
    out += rows.take(kv, axis=0)
    return out


def _exact_xy(t: pyproj.Transformer, cx: Floats, cy: Floats) -> tuple[Floats, Floats]:
    """Every pixel centre transformed: ``(len(cy), len(cx))`` arrays."""
    gx, gy = t.transform(np.tile(cx, cy.size), np.repeat(cy, cx.size), errcheck=False)
    return np.asarray(gx).reshape(cy.size, cx.size), np.asarray(gy).reshape(cy.size, cx.size)


def _mesh(t: pyproj.Transformer, cx: Floats, cy: Floats, edges: Box) -> _Mesh | None:
    """A mesh to interpolate the grid coordinates of pixel centres ``cx`` × ``cy`` in.

    ``cx``, ``cy`` are in Web Mercator, rows north first; ``edges`` are the window's
    outer pixel edges ``(left, top, right, bottom)``. The mesh's nodes are at equal
    steps from edge to edge; it is the coarsest (17, 33 or 65 nodes a side) whose
    bilinear interpolation error, bounded from its errors at the middles of the mesh's
    edges, is under :data:`MAX_ERROR_PX` of a pixel. Returns the interpolation weights
    of the columns and rows of pixels and the nodes' grid coordinates, or None when no
    mesh fits (or the window is small): then every pixel is to be transformed.
    (Interpolating linearly in latitude instead of Web Mercator northing was tried: it
    is 10–25 % less accurate for EPSG:3035.)
    """
    width, height = cx.size, cy.size
    if width * height <= _EXACT_PIXELS:
        return None
    x0, y0, x1, y1 = edges
    for nodes in _MESH_NODES:
        nu, nv = min(nodes, width + 1), min(nodes, height + 1)
        mx, my = x0 + (x1 - x0) * np.linspace(0.0, 1.0, nu), y0 + (y1 - y0) * np.linspace(0, 1, nv)
        bx, by = (mx[:-1] + mx[1:]) / 2.0, (my[:-1] + my[1:]) / 2.0
        # the nodes, then the midpoints of the mesh's horizontal and vertical edges
        px = np.concatenate([np.tile(mx, nv), np.tile(bx, nv), np.tile(mx, nv - 1)])
        py = np.concatenate([np.repeat(my, nu), np.repeat(my, nu - 1), np.repeat(by, nu)])
        gx, gy = (np.asarray(v) for v in t.transform(px, py, errcheck=False))
        k, h = nu * nv, nu * nv + (nu - 1) * nv
        nx, ny = gx[:k].reshape(nv, nu), gy[:k].reshape(nv, nu)
        # Bilinear interpolation errs by about s(1-s)·a + t(1-t)·b in a block (s, t in
        # 0–1), where a and b are 4x its errors at the middles of the block's edges.
        err = 0.0
        for n, g in ((nx, gx), (ny, gy)):
            across = np.abs(g[k:h].reshape(nv, nu - 1) - (n[:, :-1] + n[:, 1:]) / 2.0)
            down = np.abs(g[h:].reshape(nv - 1, nu) - (n[:-1] + n[1:]) / 2.0)
            err = max(err, float(np.max(across)) + float(np.max(down)))
        # the smallest pixel side in grid metres, along either direction of the mesh
        pixel = min(
            float(np.min(np.hypot(np.diff(nx, axis=1), np.diff(ny, axis=1)))) * (nu - 1) / width,
            float(np.min(np.hypot(np.diff(nx, axis=0), np.diff(ny, axis=0)))) * (nv - 1) / height,
        )
        if math.isfinite(err) and math.isfinite(pixel) and err <= MAX_ERROR_PX * pixel:
            return _interpolation(cx, mx), _interpolation(cy, my), nx, ny
        if nu == width + 1 and nv == height + 1:
            break
    return None


def _grid_xy(t: pyproj.Transformer, cx: Floats, cy: Floats, edges: Box) -> tuple[Floats, Floats]:
    """Grid coordinates of pixel centres ``cx`` × ``cy``: from a :func:`_mesh`, or exact."""
    mesh = _mesh(t, cx, cy, edges)
    if mesh is None:
        return _exact_xy(t, cx, cy)
    u, v, nx, ny = mesh
    return _bilinear(nx, u, v), _bilinear(ny, u, v)


def _overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def tile_classes(index: LayerIndex, z: int, x: int, y: int, size: int = 256) -> Classes:
    """Class of every pixel of a tile: ``(size, size)`` uint8, row 0 north, 255 = no cell.

    Only the window of pixels inside the layer's bounding box is computed.

    Raises
    ------
    TileError
        For a tile not in ``WebMercatorQuad`` up to zoom 22, or a size not 1–4096.

    Examples
    --------
    >>> import numpy as np
    >>> from chemearth.grid.geometry import GLOBAL
    >>> index = LayerIndex.from_cells(GLOBAL, 160_000, GLOBAL.cell_keys(0.5, 0.5, 160_000), [2])
    >>> np.unique(tile_classes(index, 7, 64, 63), return_counts=True)
    (array([  2, 255], dtype=uint8), array([17214, 48322]))
    """
    _check_tile(z, x, y)
    size = _check_size(size)
    out = np.full((size, size), NO_CLASS, dtype=np.uint8)
    box = _tile_xy_bounds(z, x, y)
    if index.bounds is None or not _overlaps(box, index._xy_box):
        return out
    left, bottom, right, top = box
    centres = (np.arange(size) + 0.5) / size
    cx, cy = left + (right - left) * centres, top - (top - bottom) * centres
    west, south, east, north = index._xy_box
    ix = np.flatnonzero((cx >= west) & (cx <= east))
    iy = np.flatnonzero((cy >= south) & (cy <= north))
    if ix.size == 0 or iy.size == 0:
        return out
    i0, i1, j0, j1 = int(ix[0]), int(ix[-1]) + 1, int(iy[0]), int(iy[-1]) + 1
    cx, cy = cx[i0:i1], cy[j0:j1]
    t = _transformer("EPSG:3857", index.grid.crs)
    if index.grid.crs in _SEPARABLE:
        gx = np.asarray(t.transform(cx, np.zeros(cx.size))[0])
        gy = np.asarray(t.transform(np.zeros(cy.size), cy)[1])
        out[j0:j1, i0:i1] = index._classes_xy(gx[None, :], gy[:, None])
    else:
        edges = (
            left + (right - left) * i0 / size,
            top - (top - bottom) * j0 / size,
            left + (right - left) * i1 / size,
            top - (top - bottom) * j1 / size,
        )
        mesh = _mesh(t, cx, cy, edges)
        if mesh is not None and index._whole:
            out[j0:j1, i0:i1] = index._classes_mesh(mesh)
        else:
            out[j0:j1, i0:i1] = index._classes_xy(*_grid_xy(t, cx, cy, edges))
    return out


@functools.lru_cache(maxsize=8)
def _empty_png(size: int) -> bytes:
    from PIL import Image

    image = Image.new("P", (size, size), 0)
    image.putpalette(b"\x00\x00\x00")
    buf = io.BytesIO()
    image.save(buf, "PNG", transparency=b"\x00", optimize=True)
    return buf.getvalue()


def empty_tile(size: int = 256) -> bytes:
    """A fully transparent PNG tile (cached).

    Examples
    --------
    >>> empty_tile()[:8] == b"\\x89PNG\\r\\n\\x1a\\n", len(empty_tile()) < 200
    (True, True)
    """
    return _empty_png(_check_size(size))


@functools.lru_cache(maxsize=64)
def _png_palette(colours: tuple[str, ...], alpha: int) -> tuple[bytes, bytes, Classes]:
    """PLTE and tRNS of ``colours`` plus a transparent entry, and the class → index map."""
    rgb = bytearray()
    for c in colours:
        m = _COLOUR.fullmatch(c) if isinstance(c, str) else None
        if m is None:
            raise ClassError(f"colours must be '#rrggbb' strings, got {c!r}")
        rgb += bytes.fromhex(m[1])
    n = len(colours)
    lut = np.full(256, n, dtype=np.uint8)
    lut[:n] = np.arange(n, dtype=np.uint8)
    lut.flags.writeable = False
    return bytes(rgb) + b"\x00\x00\x00", bytes([alpha] * n + [0]), lut


def render_tile(
    index: LayerIndex,
    z: int,
    x: int,
    y: int,
    colours: Sequence[str],
    size: int = 256,
    *,
    opacity: float = 1.0,
) -> bytes:
    """A ``WebMercatorQuad`` tile of a layer as PNG bytes.

    Each pixel takes the colour of the class of the cell under its centre; pixels
    without a cell (or of class 255) are transparent.

    Parameters
    ----------
    index : LayerIndex
        The layer's cells and classes.
    z, x, y : int
        Zoom (0–22), column and row (0 … 2**z - 1, row 0 north) of the tile.
    colours : sequence of str
        ``'#rrggbb'`` colour of each class (e.g. ``Legend.colours``); at least
        ``index.n_classes`` and at most 255.
    size : int
        Tile side in pixels (256; 512 for high-density screens).
    opacity : float
        Alpha of the cells, 0–1 (``0.85`` lets the base map show through).

    Raises
    ------
    TileError
        For a tile that does not exist, or a size not 1–4096.
    ClassError
        For malformed colours, fewer colours than classes, or an opacity not in 0–1.

    Examples
    --------
    >>> import io
    >>> import numpy as np
    >>> from PIL import Image
    >>> from chemearth.grid.geometry import GLOBAL
    >>> index = LayerIndex.from_cells(GLOBAL, 160_000, GLOBAL.cell_keys(0.5, 0.5, 160_000), [1])
    >>> png = render_tile(index, 7, 64, 63, ["#440154", "#fde725"], opacity=0.85)
    >>> Image.open(io.BytesIO(png)).convert("RGBA").getpixel((0, 255))
    (253, 231, 37, 217)
    """
    palette = _checked_palette(colours, opacity)
    if index.n_classes > len(colours):
        raise ClassError(
            f"the layer has {index.n_classes} classes but only {len(colours)} colours were given"
        )
    return _encode(tile_classes(index, z, x, y, size), palette)


def _checked_palette(colours: Sequence[str], opacity: float) -> tuple[bytes, bytes, Classes]:
    if not 0.0 <= opacity <= 1.0:
        raise ClassError(f"opacity must be 0–1, got {opacity!r}")
    if isinstance(colours, str) or len(colours) > NO_CLASS:
        raise ClassError(f"colours must be a sequence of at most {NO_CLASS} '#rrggbb' strings")
    return _png_palette(tuple(colours), round(255 * opacity))


def _encode(classes: Classes, palette: tuple[bytes, bytes, Classes]) -> bytes:
    height, width = classes.shape
    if height == width and np.all(classes == NO_CLASS):
        return empty_tile(width)
    from PIL import Image

    plte, trns, lut = palette
    pixels = np.ascontiguousarray(np.take(lut, classes))
    image = Image.frombuffer("P", (width, height), pixels, "raw", "P", 0, 1)
    image.putpalette(plte)
    buf = io.BytesIO()
    image.save(buf, "PNG", transparency=trns, **_PNG_OPTIONS)
    return buf.getvalue()


def encode_png(classes: ArrayLike, colours: Sequence[str], *, opacity: float = 1.0) -> bytes:
    """A PNG of a 2-D array of classes (row 0 at the top), as :func:`render_tile` draws tiles.

    Class ``k`` is painted ``colours[k]`` with alpha ``opacity``; class 255 is transparent.
    An all-transparent square image is :func:`empty_tile`.

    Raises
    ------
    ClassError
        For classes that are not a 2-D array of integers 0–255, a class without a colour,
        malformed colours or an opacity not in 0–1.

    Examples
    --------
    >>> import io
    >>> from PIL import Image
    >>> png = encode_png([[0, 1], [255, 1]], ["#440154", "#fde725"])
    >>> Image.open(io.BytesIO(png)).convert("RGBA").getpixel((0, 1))
    (0, 0, 0, 0)
    """
    palette = _checked_palette(colours, opacity)
    raw = np.asarray(classes)
    if raw.ndim != 2 or 0 in raw.shape or raw.dtype.kind not in "iu":
        raise ClassError(
            f"classes must be a non-empty 2-D integer array, got {raw.dtype} {raw.shape}"
        )
    if raw.min() < 0 or raw.max() > NO_CLASS:
        raise ClassError("classes must be 0–255")
    drawn = raw[raw != NO_CLASS]
    if drawn.size and int(drawn.max()) >= len(colours):
        raise ClassError(f"class {int(drawn.max())} has no colour ({len(colours)} colours given)")
    return _encode(raw.astype(np.uint8), palette)
