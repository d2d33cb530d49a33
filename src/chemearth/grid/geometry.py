"""Multi-scale equal-area grids: cell keys, cell ids, polygons and the level hierarchy.

Two grids share nine levels of square cells, 160, 80, 40, 20, 10, 4, 2, 1 and 0.5 km:
:data:`GLOBAL` in EASE-Grid 2.0 Global (EPSG:6933) and :data:`EUROPE` in ETRS89-LAEA
(EPSG:3035) with INSPIRE cell codes. Both are anchored at their CRS origin, so a level
nests in every coarser level that is a multiple of it (all pairs but 4 km in 10 km).
Every cell has an ``int64`` key for vectorised work and a readable id; ``-1``
(:data:`INVALID_KEY`) marks points outside a grid. ``docs/grids.md`` explains the choices.

Examples
--------
>>> from chemearth.grid.geometry import EUROPE, GLOBAL
>>> keys = GLOBAL.cell_keys([24.94, -9.14], [60.17, 38.72], 10_000)  # Helsinki, Lisbon
>>> GLOBAL.key_to_id(keys).tolist()
['G10km-E0240-N636', 'G10km-W0089-N458']
>>> GLOBAL.key_to_id(GLOBAL.parent(keys, 160_000)).tolist()
['G160km-E015-N39', 'G160km-W006-N28']
>>> EUROPE.key_to_id(EUROPE.cell_keys(24.94, 60.17, 1_000)).item()
'1kmE5145N4206'
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, Literal

import numpy as np
import pyproj
import shapely
from numpy.typing import ArrayLike, NDArray

from chemearth.errors import GridError, TooManyCellsError
from chemearth.grid.cell_ids import format_ids, parse_id
from chemearth.grid.levels import LEVELS, level_label

__all__ = [
    "EASE_X",
    "EASE_Y",
    "EUROPE",
    "GLOBAL",
    "GRIDS",
    "INVALID_KEY",
    "Grid",
    "GridError",
    "TooManyCellsError",
    "get_grid",
]

#: The key of "no cell": a point outside the grid, or a missing coordinate.
INVALID_KEY: Final = -1
#: Projected half-width and half-height of EASE-Grid 2.0 Global: x of longitude 180° and
#: y of latitude 85.0445664° in EPSG:6933 (NSIDC's extent of the global grid).
EASE_X: Final = 17_367_530.445161372
EASE_Y: Final = 7_314_540.830553433

_WGS84 = "EPSG:4326"
_BITS = 28  # bits of the column and of the row in a key
_OFFSET = 1 << (_BITS - 1)  # indices are stored offset-binary, so keys stay >= 0
_MASK = (1 << _BITS) - 1

Region = tuple[float, float, float, float]
Keys = NDArray[np.int64]
Floats = NDArray[np.float64]
#: Cell keys, or cell ids (None for a missing id).
Cells = ArrayLike | Sequence[str | None]


@functools.lru_cache(maxsize=16)
def _transformer(source: str, target: str) -> pyproj.Transformer:
    # pyproj >= 3.1 transformers are thread-safe, so one per CRS pair is shared.
    return pyproj.Transformer.from_crs(source, target, always_xy=True)


def _floor_div(values: Floats, size: float) -> Keys:
    """Exact ``floor(values / size)``: the float quotient is corrected by exact products."""
    q = np.floor(values / size)
    q -= q * size > values
    q += (q + 1.0) * size <= values
    return q.astype(np.int64)


@dataclass(frozen=True)
class Grid:
    """A multi-scale grid of square cells in an equal-area projected CRS.

    Cell ``(column, row)`` of level ``s`` is the square ``[column·s, (column+1)·s) ×
    [row·s, (row+1)·s)`` in CRS metres, clipped to :attr:`bounds` at the edges.

    Parameters
    ----------
    name : str
        Lowercase name, as used by :func:`get_grid`.
    crs : str
        The equal-area CRS, e.g. ``"EPSG:6933"``.
    levels : tuple of int
        Cell sizes in metres, strictly decreasing, at most 16.
    bounds : tuple of float
        Valid area ``(west, east, south, north)`` in CRS metres.
    code : int
        1–7, stored in every key so keys of different grids never collide.
    style : {"ease", "inspire"}
        Cell id format (see :meth:`key_to_id`).

    Examples
    --------
    >>> from chemearth.grid.geometry import GLOBAL
    >>> GLOBAL.crs, GLOBAL.nominal_area_km2(10_000), GLOBAL.nests(4_000, 20_000)
    ('EPSG:6933', 100.0, True)
    """

    name: str
    crs: str
    levels: tuple[int, ...]
    bounds: Region
    code: int
    style: Literal["ease", "inspire"]

    def __post_init__(self) -> None:
        levels = list(self.levels)
        if not levels or len(levels) > 16 or levels != sorted(set(levels), reverse=True):
            raise GridError(f"grid {self.name!r}: levels must be 1–16 distinct, decreasing sizes")
        if not 1 <= self.code <= 7:
            raise GridError(f"grid {self.name!r}: code must be 1–7, got {self.code}")

    def _index(self, level_m: int) -> int:
        try:
            return self.levels.index(level_m)
        except ValueError:
            raise GridError(
                f"level_m={level_m!r} is not a level of the {self.name} grid; "
                f"levels (m): {', '.join(map(str, self.levels))}"
            ) from None

    def level_label(self, level_m: int) -> str:
        """The label of a level in cell ids: ``"10km"``, ``"500m"``.

        Examples
        --------
        >>> from chemearth.grid.geometry import GLOBAL
        >>> GLOBAL.level_label(10_000), GLOBAL.level_label(500)
        ('10km', '500m')
        """
        return level_label(self.levels[self._index(level_m)])

    def nests(self, child_level: int, parent_level: int) -> bool:
        """Whether every cell of ``child_level`` lies in one cell of ``parent_level``.

        True when the parent level is coarser and a multiple of the child level.

        Examples
        --------
        >>> from chemearth.grid.geometry import GLOBAL
        >>> GLOBAL.nests(10_000, 160_000), GLOBAL.nests(4_000, 10_000)
        (True, False)
        """
        child = self.levels[self._index(child_level)]
        parent = self.levels[self._index(parent_level)]
        return parent > child and parent % child == 0

    def parent_level(self, level_m: int) -> int | None:
        """The nearest coarser level that ``level_m`` nests in (None for the coarsest).

        This is the hierarchy: 160 > 80 > 40 > 20 > 10 and 20 > 4 > 2 > 1 > 0.5 km.

        Examples
        --------
        >>> from chemearth.grid.geometry import GLOBAL
        >>> GLOBAL.parent_level(10_000), GLOBAL.parent_level(4_000), GLOBAL.parent_level(160_000)
        (20000, 20000, None)
        """
        found = [s for s in self.levels if self.nests(level_m, s)]
        return min(found) if found else None

    def child_level(self, level_m: int) -> int | None:
        """The nearest finer level that nests in ``level_m`` (None for the finest).

        Examples
        --------
        >>> from chemearth.grid.geometry import GLOBAL
        >>> GLOBAL.child_level(20_000), GLOBAL.child_level(10_000), GLOBAL.child_level(500)
        (10000, 2000, None)
        """
        found = [s for s in self.levels if self.nests(s, level_m)]
        return max(found) if found else None

    def nominal_area_km2(self, level_m: int) -> float:
        """Area of a whole cell in km² (cells clipped at the grid's edges are smaller).

        Examples
        --------
        >>> from chemearth.grid.geometry import EUROPE
        >>> EUROPE.nominal_area_km2(500)
        0.25
        """
        return (self.levels[self._index(level_m)] / 1000.0) ** 2

    @functools.cached_property
    def _ranges(self) -> NDArray[np.int64]:
        """Per level: the first and last valid column and row (cells overlapping bounds)."""
        w, e, s, n = self.bounds
        rows = [
            (math.floor(w / z), math.ceil(e / z) - 1, math.floor(s / z), math.ceil(n / z) - 1)
            for z in self.levels
        ]
        return np.array(rows, dtype=np.int64)

    def _encode(self, index: ArrayLike, col: ArrayLike, row: ArrayLike) -> Keys:
        idx = np.asarray(index, dtype=np.int64)
        c = np.asarray(col, dtype=np.int64) + _OFFSET
        r = np.asarray(row, dtype=np.int64) + _OFFSET
        return np.asarray((self.code << 60) | (idx << 56) | (c << _BITS) | r, dtype=np.int64)

    def _out_of_range(self, index: Keys, col: Keys, row: Keys) -> NDArray[np.bool_]:
        r = self._ranges[np.clip(index, 0, len(self.levels) - 1)]
        bad = (index < 0) | (index >= len(self.levels))
        return bad | (col < r[..., 0]) | (col > r[..., 1]) | (row < r[..., 2]) | (row > r[..., 3])

    def _decode(self, keys: Keys) -> tuple[NDArray[np.bool_], Keys, Keys, Keys]:
        """Split keys into (valid, level index, column, row); raise on foreign keys."""
        valid = keys != INVALID_KEY
        index = np.where(valid, (keys >> 56) & 0xF, 0)
        col = ((keys >> _BITS) & _MASK) - _OFFSET
        row = (keys & _MASK) - _OFFSET
        bad = valid & ((keys < 0) | (keys >> 60 != self.code) | self._out_of_range(index, col, row))
        if bad.any():
            first = int(keys[bad].flat[0])
            raise GridError(
                f"{first} is not a cell key of the {self.name} grid "
                f"({int(bad.sum())} invalid key(s) in all)"
            )
        return valid, index, col, row

    def _as_keys(self, keys_or_ids: Cells) -> Keys:
        arr = np.asarray(keys_or_ids)
        if arr.dtype.kind in "US" or (
            arr.dtype.kind == "O" and all(isinstance(v, str) or v is None for v in arr.flat)
        ):
            return self.id_to_key(arr)
        if arr.dtype.kind == "O":
            arr = arr.astype(np.int64)
        if arr.dtype.kind not in "iu":
            raise GridError(f"cell keys must be integers or cell id strings, not {arr.dtype}")
        return arr.astype(np.int64)

    def cell_keys_xy(self, easting: ArrayLike, northing: ArrayLike, level_m: int) -> Keys:
        """Cell keys (int64) of points in the grid's CRS (metres, broadcast together).

        ``level_m`` is one of :attr:`levels`. Points outside :attr:`bounds` or not finite
        get :data:`INVALID_KEY`. A point on a cell edge belongs to the cell east or north
        of it, except on the grid's east and north bounds.

        Examples
        --------
        >>> from chemearth.grid.geometry import EUROPE
        >>> keys = EUROPE.cell_keys_xy([4_321_000.0, -5.0], [3_210_000.0, 0.0], 10_000)
        >>> EUROPE.key_to_id(keys).tolist()
        ['10kmE432N321', None]
        """
        index = self._index(level_m)
        size = float(self.levels[index])
        e, n = np.broadcast_arrays(
            np.asarray(easting, dtype=np.float64), np.asarray(northing, dtype=np.float64)
        )
        west, east, south, north = self.bounds
        inside = (e >= west) & (e <= east) & (n >= south) & (n <= north)
        c0, c1, r0, r1 = (int(v) for v in self._ranges[index])
        col = np.clip(_floor_div(np.where(inside, e, 0.0), size), c0, c1)
        row = np.clip(_floor_div(np.where(inside, n, 0.0), size), r0, r1)
        return np.where(inside, self._encode(index, col, row), INVALID_KEY)

    def cell_keys(self, longitude: ArrayLike, latitude: ArrayLike, level_m: int) -> Keys:
        """Cell keys of WGS84 points (EPSG:4326, degrees, broadcast together).

        As :meth:`cell_keys_xy` after transforming the points with pyproj. Longitudes
        outside ±180° are wrapped by PROJ; latitudes beyond the grid get :data:`INVALID_KEY`.

        Examples
        --------
        >>> from chemearth.grid.geometry import GLOBAL
        >>> GLOBAL.key_to_id(GLOBAL.cell_keys([0.001, -0.001, 0.0], [0.001, -0.001, 89.0],
        ...                                   160_000)).tolist()
        ['G160km-E000-N00', 'G160km-W001-S01', None]
        """
        return self.cell_keys_xy(*self.to_xy(longitude, latitude), level_m)

    def to_xy(self, longitude: ArrayLike, latitude: ArrayLike) -> tuple[Floats, Floats]:
        """WGS84 points in the grid's CRS (metres), as :meth:`cell_keys` projects them.

        Project once and call :meth:`cell_keys_xy` per level when keying many levels.

        Examples
        --------
        >>> from chemearth.grid.geometry import GLOBAL
        >>> x, y = GLOBAL.to_xy([0.0], [0.0])
        >>> float(x[0]), float(y[0])
        (0.0, 0.0)
        """
        lon = np.asarray(longitude, dtype=np.float64)
        lat = np.asarray(latitude, dtype=np.float64)
        x, y = _transformer(_WGS84, self.crs).transform(lon, lat, errcheck=False)
        return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)

    @functools.cached_property
    def _widths(self) -> tuple[tuple[int, int], ...]:
        """Per level: digits of the column and row numbers in GLOBAL-style ids."""
        return tuple(
            (len(str(max(-c0, c1))), len(str(max(-r0, r1))))
            for c0, c1, r0, r1 in self._ranges.tolist()
        )

    def key_to_id(self, keys: Cells) -> NDArray[np.object_]:
        """Readable cell ids of keys (None for :data:`INVALID_KEY`).

        ``GLOBAL`` ids are ``G<level>-<E|W><column>-<N|S><row>``: ``E``/``N`` with the
        index for cells east/north of the origin, ``W``/``S`` with minus the index for the
        others, zero-padded to a fixed width per level. ``EUROPE`` ids are INSPIRE/EEA
        codes ``<level>E<column>N<row>``. Either way the numbers are the lower-left
        corner divided by the cell size.

        Examples
        --------
        >>> from chemearth.grid.geometry import GLOBAL
        >>> keys = GLOBAL.cell_keys_xy([4_999.0, -4_999.0], [-4_999.0, 4_999.0], 500)
        >>> GLOBAL.key_to_id(keys).tolist()
        ['G500m-E00009-S00010', 'G500m-W00010-N00009']
        """
        valid, index, col, row = self._decode(self._as_keys(keys))
        out = np.full(valid.shape, None, dtype=object)
        for i in np.unique(index[valid]).tolist():
            sel = valid & (index == i)
            label = level_label(self.levels[i])
            out[sel] = format_ids(self.style, label, col[sel], row[sel], self._widths[i])
        return out

    def id_to_key(self, ids: Cells) -> Keys:
        """Keys of cell ids (the inverse of :meth:`key_to_id`; None gives ``-1``).

        Raises
        ------
        GridError
            For a string that is not the canonical id of a cell of this grid.

        Examples
        --------
        >>> from chemearth.grid.geometry import EUROPE
        >>> keys = EUROPE.id_to_key(["10kmE432N321", "500mE8643N6421"])
        >>> EUROPE.key_to_id(keys).tolist()
        ['10kmE432N321', '500mE8643N6421']
        """
        arr = np.asarray(ids, dtype=object)
        labels = {level_label(s): i for i, s in enumerate(self.levels)}
        parsed = np.zeros((arr.size, 3), dtype=np.int64)
        missing = np.zeros(arr.size, dtype=bool)
        failed = np.zeros(arr.size, dtype=bool)
        for pos, text in enumerate(arr.flat):
            if text is None or (isinstance(text, float) and math.isnan(text)):
                missing[pos] = True
                continue
            cell = (parse_id(self.style, text, labels, self._widths)
                    if isinstance(text, str) else None)
            if cell is None:
                failed[pos] = True
            else:
                parsed[pos] = cell
        index, col, row = parsed.T
        failed |= ~missing & self._out_of_range(index, col, row)
        if failed.any():
            example = "G10km-E1234-N567" if self.style == "ease" else "10kmE432N321"
            raise GridError(
                f"{arr.flat[int(np.argmax(failed))]!r} is not a cell id of the {self.name} "
                f"grid (e.g. {example!r}; {int(failed.sum())} invalid id(s) in all)"
            )
        keys = np.where(missing, INVALID_KEY, self._encode(index, col, row))
        return np.asarray(keys, dtype=np.int64).reshape(arr.shape)

    def cell_bounds(self, keys: Cells) -> tuple[Floats, Floats, Floats, Floats]:
        """``(west, east, south, north)`` of each cell in CRS metres, clipped to the grid.

        NaN for :data:`INVALID_KEY`.

        Examples
        --------
        >>> from chemearth.grid.geometry import EUROPE
        >>> [b.item() for b in EUROPE.cell_bounds(EUROPE.id_to_key("10kmE432N321"))]
        [4320000.0, 4330000.0, 3210000.0, 3220000.0]
        """
        valid, index, col, row = self._decode(self._as_keys(keys))
        size = np.asarray(self.levels, dtype=np.float64)[index]
        west, east, south, north = self.bounds
        nan = np.nan
        return (
            np.where(valid, np.maximum(col * size, west), nan),
            np.where(valid, np.minimum((col + 1) * size, east), nan),
            np.where(valid, np.maximum(row * size, south), nan),
            np.where(valid, np.minimum((row + 1) * size, north), nan),
        )

    def cell_polygons(
        self, keys: Cells, *, densify: int | None = None, to_wgs84: bool = False
    ) -> NDArray[np.object_]:
        """Cell outlines as shapely Polygons, clipped to :attr:`bounds`, rings counter-clockwise.

        Parameters
        ----------
        keys : array_like
            Cell keys or ids; :data:`INVALID_KEY` gives None.
        densify : int, optional
            Split each edge into this many equal segments, so that the WGS84 outline
            follows the true cell boundary (default 1 in the grid CRS, 64 with ``to_wgs84``).
        to_wgs84 : bool
            Return longitude/latitude outlines instead of CRS metres.

        Examples
        --------
        >>> from chemearth.grid.geometry import EUROPE
        >>> EUROPE.cell_polygons(EUROPE.id_to_key(["1kmE4321N3210"]))[0].area
        1000000.0
        """
        w, e, s, n = self.cell_bounds(keys)
        valid = ~np.isnan(w)
        steps = densify if densify is not None else (64 if to_wgs84 else 1)
        if steps < 1:
            raise GridError(f"densify must be a positive number of segments, got {densify}")
        w, e, s, n = (v[valid][:, None] for v in (w, e, s, n))
        t = np.arange(steps) / steps
        xs = np.concatenate([w + (e - w) * t, e + 0 * t, e - (e - w) * t, w + 0 * t, w], axis=1)
        ys = np.concatenate([s + 0 * t, s + (n - s) * t, n + 0 * t, n - (n - s) * t, s], axis=1)
        if to_wgs84:
            lon, lat = _transformer(self.crs, _WGS84).transform(xs.ravel(), ys.ravel())
            xs, ys = np.reshape(lon, xs.shape), np.reshape(lat, ys.shape)
        out = np.full(valid.shape, None, dtype=object)
        out[valid] = shapely.polygons(np.stack([xs, ys], axis=-1))
        return out

    def cell_polygon(
        self, key_or_id: int | str, *, densify: int | None = None, to_wgs84: bool = False
    ) -> shapely.Polygon:
        """The outline of one cell (see :meth:`cell_polygons`).

        Examples
        --------
        >>> from chemearth.grid.geometry import GLOBAL
        >>> GLOBAL.cell_polygon("G160km-E000-N00").bounds
        (0.0, 0.0, 160000.0, 160000.0)
        """
        polygon = self.cell_polygons([key_or_id], densify=densify, to_wgs84=to_wgs84)[0]
        if polygon is None:
            raise GridError(f"{key_or_id!r} is the invalid-key sentinel, not a cell")
        return polygon

    def cell_centres(self, keys: Cells, *, to_wgs84: bool = True) -> tuple[Floats, Floats]:
        """Centres of cells (clipped at the grid's edges): (longitude, latitude) or metres.

        NaN for :data:`INVALID_KEY`.

        Examples
        --------
        >>> from chemearth.grid.geometry import GLOBAL
        >>> lon, lat = GLOBAL.cell_centres(GLOBAL.id_to_key(["G160km-E000-N00"]))
        >>> round(float(lon[0]), 4), round(float(lat[0]), 4)
        (0.8291, 0.6271)
        """
        w, e, s, n = self.cell_bounds(keys)
        x, y = (w + e) / 2.0, (s + n) / 2.0
        if not to_wgs84:
            return x, y
        lon, lat = _transformer(self.crs, _WGS84).transform(x, y)
        return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)

    def level_of(self, keys: Cells) -> Keys:
        """The level (cell size in metres) of each cell key or id; -1 for :data:`INVALID_KEY`.

        Examples
        --------
        >>> from chemearth.grid.geometry import EUROPE
        >>> EUROPE.level_of(["10kmE432N321", "500mE8642N6420"]).tolist()
        [10000, 500]
        """
        valid, index, _, _ = self._decode(self._as_keys(keys))
        return np.where(valid, np.asarray(self.levels, dtype=np.int64)[index], -1)

    def parent(self, keys: Cells, level_m: int | None = None) -> Keys:
        """Keys of the cells of ``level_m`` containing the given cells.

        Parameters
        ----------
        keys : array_like
            Cell keys (or ids), of any levels; :data:`INVALID_KEY` stays ``-1``.
        level_m : int, optional
            Target level; must nest (:meth:`nests`). Default: each key's
            :meth:`parent_level`.

        Examples
        --------
        >>> from chemearth.grid.geometry import GLOBAL
        >>> GLOBAL.key_to_id(GLOBAL.parent(["G4km-W0001-S0001", "G10km-E0019-N019"])).tolist()
        ['G20km-W001-S001', 'G20km-E009-N009']
        """
        k = self._as_keys(keys)
        valid, index, col, row = self._decode(k)
        out = np.full(k.shape, INVALID_KEY, dtype=np.int64)
        for i in np.unique(index[valid]).tolist():
            child = self.levels[i]
            target = self.parent_level(child) if level_m is None else level_m
            if target is None:
                raise GridError(f"{level_label(child)} is the coarsest level; it has no parent")
            if not self.nests(child, target):
                raise GridError(
                    f"{level_label(child)} cells do not nest in {level_label(target)} cells")
            ratio = target // child
            sel = valid & (index == i)
            out[sel] = self._encode(self._index(target), col[sel] // ratio, row[sel] // ratio)
        return out

    def children(self, key: int | str, level_m: int | None = None) -> Keys:
        """Sorted keys of the cells of ``level_m`` inside one cell.

        ``level_m`` defaults to the cell's :meth:`child_level`. A whole cell has
        ``(size / level_m)²`` children; at the grid's edges, only those that overlap
        :attr:`bounds`.

        Examples
        --------
        >>> from chemearth.grid.geometry import GLOBAL
        >>> GLOBAL.key_to_id(GLOBAL.children("G20km-E000-N000")).tolist()
        ['G10km-E0000-N000', 'G10km-E0000-N001', 'G10km-E0001-N000', 'G10km-E0001-N001']
        >>> len(GLOBAL.children("G20km-E000-N000", 4_000))
        25
        """
        valid, index, col, row = self._decode(self._as_keys([key]))
        if not valid[0]:
            raise GridError(f"{key!r} is the invalid-key sentinel, not a cell")
        parent = self.levels[int(index[0])]
        target = self.child_level(parent) if level_m is None else level_m
        if target is None:
            raise GridError(f"{level_label(parent)} is the finest level; it has no children")
        if not self.nests(target, parent):
            raise GridError(
                f"{level_label(target)} cells do not nest in {level_label(parent)} cells")
        ratio, ti = parent // target, self._index(target)
        c0, c1, r0, r1 = (int(v) for v in self._ranges[ti])
        cols = np.arange(int(col[0]) * ratio, (int(col[0]) + 1) * ratio)
        rows = np.arange(int(row[0]) * ratio, (int(row[0]) + 1) * ratio)
        cols, rows = cols[(cols >= c0) & (cols <= c1)], rows[(rows >= r0) & (rows <= r1)]
        cc, rr = np.meshgrid(cols, rows, indexing="ij")
        return np.sort(self._encode(ti, cc.ravel(), rr.ravel()))

    def cells_in_region(self, region: Region, level_m: int, *, max_cells: int = 1_000_000) -> Keys:
        """Sorted keys of the cells of ``level_m`` overlapping a WGS84 region.

        ``region`` is ``(west, east, south, north)`` in degrees with ``west < east`` (a
        region across the antimeridian takes two calls).

        Raises
        ------
        TooManyCellsError
            If the region's bounding rectangle in the grid CRS (an upper bound of the
            result) holds more than ``max_cells`` cells.

        Examples
        --------
        >>> from chemearth.grid.geometry import GLOBAL
        >>> GLOBAL.key_to_id(GLOBAL.cells_in_region((-1.0, 1.0, 0.2, 0.6), 80_000)).tolist()
        ['G80km-W002-N00', 'G80km-W001-N00', 'G80km-E000-N00', 'G80km-E001-N00']
        """
        index = self._index(level_m)
        size = float(self.levels[index])
        if max_cells < 0:
            raise GridError(f"max_cells must be >= 0, got {max_cells}")
        area = self._region_in_crs(region)
        if area is None:
            return np.empty(0, dtype=np.int64)
        x0, y0, x1, y1 = area.bounds
        c0, c1, r0, r1 = (int(v) for v in self._ranges[index])
        c0, r0 = max(c0, math.floor(x0 / size)), max(r0, math.floor(y0 / size))
        c1, r1 = min(c1, math.ceil(x1 / size) - 1), min(r1, math.ceil(y1 / size) - 1)
        count = max(0, c1 - c0 + 1) * max(0, r1 - r0 + 1)
        if count > max_cells:
            raise TooManyCellsError(
                f"region {tuple(region)} spans {count:,} cells of "
                f"{level_label(self.levels[index])} "
                f"in the {self.name} grid, more than max_cells={max_cells:,}"
            )
        cc, rr = (
            a.ravel()
            for a in np.meshgrid(np.arange(c0, c1 + 1), np.arange(r0, r1 + 1), indexing="ij")
        )
        if abs(area.area - area.envelope.area) > 1e-9 * area.envelope.area:
            boxes = shapely.box(cc * size, rr * size, (cc + 1) * size, (rr + 1) * size)
            shapely.prepare(area)
            keep = shapely.intersects(area, boxes) & ~shapely.touches(area, boxes)
            cc, rr = cc[keep], rr[keep]
        return self._encode(index, cc, rr)

    def _region_in_crs(self, region: Region) -> shapely.Geometry | None:
        """The part of a WGS84 region inside the grid, in CRS metres (None if empty)."""
        try:
            values = np.asarray(region, dtype=np.float64).ravel()
        except (TypeError, ValueError):
            values = np.empty(0)
        west, east, south, north = values if values.size == 4 else (np.nan,) * 4
        if not (west < east and -90.0 <= south < north <= 90.0):  # False for NaN too
            raise GridError(
                f"region {region!r} is not (west, east, south, north) in degrees with "
                "west < east and -90 <= south < north <= 90"
            )
        clip = shapely.box(west, south, east, north).intersection(_valid_area_lonlat(self))
        if clip.is_empty or clip.area == 0.0:
            return None
        to_crs = _transformer(_WGS84, self.crs)
        return shapely.transform(
            shapely.segmentize(clip, 0.05), to_crs.transform, interleaved=False
        )


@functools.lru_cache(maxsize=8)
def _valid_area_lonlat(grid: Grid) -> shapely.Polygon:
    """The grid's bounds as a WGS84 polygon (edges densified to 1/512 of their length)."""
    polygon = shapely.box(grid.bounds[0], grid.bounds[2], grid.bounds[1], grid.bounds[3])
    dense = shapely.segmentize(
        polygon, max(grid.bounds[1] - grid.bounds[0], grid.bounds[3] - grid.bounds[2]) / 512
    )
    to_lonlat = _transformer(grid.crs, _WGS84)
    return shapely.make_valid(shapely.transform(dense, to_lonlat.transform, interleaved=False))


#: EASE-Grid 2.0 Global (EPSG:6933) between ±85.0445664° latitude.
GLOBAL: Final = Grid("global", "EPSG:6933", LEVELS, (-EASE_X, EASE_X, -EASE_Y, EASE_Y), 1, "ease")
#: ETRS89-LAEA Europe (EPSG:3035), 0–8000 km east, 0–7200 km north, INSPIRE cell codes.
EUROPE: Final = Grid("europe", "EPSG:3035", LEVELS, (0.0, 8e6, 0.0, 7.2e6), 2, "inspire")
#: The grids by name.
GRIDS: Final[Mapping[str, Grid]] = MappingProxyType({g.name: g for g in (GLOBAL, EUROPE)})


def get_grid(name: str | Grid) -> Grid:
    """The grid called ``name`` (``"global"`` or ``"europe"``, case-insensitive).

    Examples
    --------
    >>> from chemearth.grid.geometry import get_grid
    >>> get_grid("Europe").crs
    'EPSG:3035'
    """
    if isinstance(name, Grid):
        return name
    try:
        return GRIDS[str(name).strip().lower()]
    except KeyError:
        raise GridError(f"unknown grid {name!r}; grids: {', '.join(GRIDS)}") from None
