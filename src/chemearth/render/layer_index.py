"""The cells of a grid layer at one level, indexed for map tiles and point queries.

A layer at one level is a set of cells of one grid, each with a colour class
(:func:`chemearth.stats.classes.classify` of the mapped statistic).
:meth:`LayerIndex.from_cells` indexes them once; :func:`chemearth.render.tiles.render_tile`
then draws its tiles, :meth:`LayerIndex.cell_at` finds the cell under a point, and
:func:`layer_bounds` gives the layer's bounding box for TileJSON.

Lookups
-------
* Points are keyed to cells exactly as :meth:`chemearth.grid.geometry.Grid.cell_keys_xy`
  keys them: given in the grid's CRS (:meth:`LayerIndex.classes_xy`), or, for layers of
  whole cells, as cell indexes interpolated in a mesh (:meth:`LayerIndex.classes_mesh`,
  with :func:`bilinear`, in float32 and without BLAS).
* A layer whose bounding box holds at most :data:`DENSE_MAX_CELLS` cells is also kept as
  a dense ``uint8`` raster of classes (one byte per cell of the box, with a border of
  255) and looked up by position; larger ones are looked up in the sorted cells (a small
  dense block of the cells under the tile, or binary search per pixel).

Examples
--------
>>> import numpy as np
>>> from chemearth.grid.geometry import EUROPE
>>> keys = EUROPE.cell_keys([30.0, 31.0], [69.0, 69.0], 10_000)  # two cells on Kola
>>> index = LayerIndex.from_cells(EUROPE, 10_000, keys, np.array([0, 1], dtype=np.uint8))
>>> index.cell_at(30.0, 69.0) == int(keys[0]), index.cell_at(0.0, 50.0)
(True, None)
>>> index.n_cells, index.n_classes
(2, 2)
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any, Final, TypeVar

import numpy as np
import pyproj
import shapely
from numpy.typing import ArrayLike, NDArray

from chemearth.errors import GridError
from chemearth.grid.geometry import INVALID_KEY, Grid, get_grid
from chemearth.stats.classes import NO_CLASS, ClassError

__all__ = [
    "DENSE_MAX_CELLS",
    "LayerIndex",
    "bilinear",
    "layer_bounds",
    "transformer",
]

#: Largest bounding box (in cells) of a layer kept as a dense raster (1 byte per cell).
DENSE_MAX_CELLS: Final = 16_000_000
#: Largest dense raster at all (its flat indexes are int32).
_DENSE_LIMIT = 1 << 30
#: Web Mercator latitude limit (degrees).
_MERC_LAT = 85.0511287798066
#: A sparse layer's cells under a tile are gathered in a dense block when they are at
#: most this many per pixel; otherwise every pixel is looked up by binary search.
_BLOCK_PER_PIXEL = 4

Box = tuple[float, float, float, float]
_F = TypeVar("_F", np.float32, np.float64)
#: Interval and fraction of linear interpolation of each pixel between mesh nodes.
Weights = tuple[NDArray[np.intp], NDArray[np.float64]]
#: Column and row weights, and grid x and y of the nodes.
Mesh = tuple[Weights, Weights, NDArray[np.float64], NDArray[np.float64]]
Keys = NDArray[np.int64]
Classes = NDArray[np.uint8]
Floats = NDArray[np.float64]


@functools.lru_cache(maxsize=16)
def transformer(source: str, target: str) -> pyproj.Transformer:
    """The shared, cached ``always_xy`` transformer from one CRS to another."""
    # Transformers are thread-safe (pyproj >= 3.1), so one per CRS pair is shared.
    return pyproj.Transformer.from_crs(source, target, always_xy=True)


def bilinear(values: NDArray[_F], u: Weights, v: Weights) -> NDArray[_F]:
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
        np.asarray(v) for v in transformer(grid.crs, "EPSG:4326").transform(ring[:, 0], ring[:, 1])
    )
    if not (np.all(np.isfinite(lon)) and np.all(np.isfinite(lat))):
        return (-180.0, -90.0, 180.0, 90.0)
    pad = 5e-4
    west, east = float(lon.min()) - pad, float(lon.max()) + pad
    south, north = float(lat.min()) - pad, float(lat.max()) + pad
    if np.any(np.abs(np.diff(lon)) > 180.0):  # the outline crosses the antimeridian
        west, east = -180.0, 180.0
    to_crs = transformer("EPSG:4326", grid.crs)
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
    bbox : tuple of float or None
        ``(west, south, east, north)`` in degrees around all cells (None if no cells).
    xy_box : tuple of float
        The bounds in Web Mercator metres, ``(left, bottom, right, top)`` (zeros if no
        cells).
    whole_cells : bool
        Every cell of the cells' bounding box is a whole square inside the grid (then
        :meth:`classes_mesh` may be used).

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
    bbox: Box | None
    _col0: int
    _row0: int
    _ncols: int
    _nrows: int
    _last_col: int  # the grid's last column and row at this level
    _last_row: int
    _max_class: int  # highest class drawn, -1 if none
    whole_cells: bool  # every cell of the bounding box is a whole square inside the grid
    _lin: Keys  # sorted (col - col0) * nrows + (row - row0) of each cell
    _lin_classes: Classes
    _dense: Classes | None  # (nrows + 2, ncols + 2) classes, a NO_CLASS border around
    xy_box: Box  # the bounds in Web Mercator metres

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
        >>> index.bbox is None, index.n_cells, layer_bounds(index)[0]
        (True, 0, -180.0)
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
        bbox = _lonlat_box(g, col, row, size)
        lat = np.clip([bbox[1], bbox[3]], -_MERC_LAT, _MERC_LAT)
        mx, my = transformer("EPSG:4326", "EPSG:3857").transform([bbox[0], bbox[2]], lat)
        xy_box = (float(mx[0]), float(my[0]), float(mx[1]), float(my[1]))
        lin, lin_classes = lin[lin_order], cl[lin_order]
        arrays: list[NDArray[Any]] = [keys, cl, lin, lin_classes]
        arrays += [dense] if dense is not None else []
        for a in arrays:
            a.flags.writeable = False
        return cls(
            g, level_m, keys, cl, bbox, col0, row0, ncols, nrows, last_col, last_row,
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
        """One more than the highest class drawn.

        That many colours are the least :func:`~chemearth.render.tiles.render_tile` needs.
        """
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

    def classes_xy(self, gx: Floats, gy: Floats) -> Classes:
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

    def classes_mesh(self, mesh: Mesh) -> Classes:
        """Classes at pixels whose grid coordinates are interpolated in a mesh.

        The fast path of :func:`~chemearth.render.tiles.tile_classes` for layers of
        :attr:`whole_cells`: the nodes are turned into cell indexes (an affine map, so it
        commutes with the interpolation), made local to the tile and interpolated in
        float32, which is exact to ~1e-5 pixel. A cell index is a rounding or so from the
        exact ``floor(x / size)``; the interpolation itself is good to
        :data:`chemearth.render.tiles.MAX_ERROR_PX`.
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
            local = bilinear((cells - base).astype(np.float32), u, v)
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
    if index.bbox is None:
        return (-180.0, -_MERC_LAT, 180.0, _MERC_LAT)
    w, s, e, n = index.bbox
    return (w, max(s, -_MERC_LAT), e, min(n, _MERC_LAT))
