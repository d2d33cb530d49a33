"""A coarse country mask: exact point-in-polygon tests only near borders.

:class:`BorderGrid` lays a grid of cells (0.1° by default) over the world and marks every
cell that a polygon boundary comes near, together with its neighbours two cells around.
No boundary passes through an unmarked cell or the cells around it, so every point of it
lies inside the same polygons as its centre: one exact test at the centre answers for
every point there. Points in marked (border) cells are left to the exact test.

Boundaries here are the rings of the polygon *pieces* the locator tests points against
(its seams included), so a point is never classified across a seam either.

Examples
--------
>>> import shapely
>>> pieces = np.array([shapely.box(0, 0, 10, 10)])
>>> grid = BorderGrid(pieces, np.array([0]), shapely.STRtree(pieces))
>>> grid.classify(np.array([5.0, 20.0, 0.05]), np.array([5.0, 5.0, 5.0])).tolist()
[0, -1, -2]
"""

from __future__ import annotations

import numpy as np
import shapely

__all__ = ["BORDER", "OUTSIDE", "BorderGrid"]

#: :meth:`BorderGrid.classify`: the point needs the exact test (near a boundary, or in
#: more than one country's polygons).
BORDER = -2
#: :meth:`BorderGrid.classify`: the point lies in no polygon.
OUTSIDE = -1
#: Cells this many around a cell a boundary comes near are marked too.
_MARGIN = 2
#: Pieces whose rings are marked at a time.
_BATCH = 512


class BorderGrid:
    """Which cells of a world grid are far from every polygon boundary.

    Parameters
    ----------
    pieces : numpy.ndarray of shapely.Polygon
        The polygons points are tested against (WGS84 degrees).
    owner : numpy.ndarray of int
        The country index of each piece.
    tree : shapely.STRtree
        A tree of ``pieces`` (the one the exact test queries).
    resolution : float
        Cell size in degrees.
    """

    def __init__(
        self, pieces: np.ndarray, owner: np.ndarray, tree: shapely.STRtree, resolution: float = 0.1
    ) -> None:
        self.resolution = float(resolution)
        self.nx = int(np.ceil(360.0 / resolution))
        self.ny = int(np.ceil(180.0 / resolution))
        self._owner = np.asarray(owner)
        self._tree = tree
        self.border = _dilate(self._touched(pieces), _MARGIN)

    def _cells(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(row, column) of the cell of each point (clipped to the grid)."""
        ix = np.floor((x + 180.0) / self.resolution).astype(np.int64).clip(0, self.nx - 1)
        iy = np.floor((y + 90.0) / self.resolution).astype(np.int64).clip(0, self.ny - 1)
        return iy, ix

    def _touched(self, pieces: np.ndarray) -> np.ndarray:
        """Cells holding a point of a boundary sampled at most a quarter cell apart."""
        grid = np.zeros((self.ny, self.nx), dtype=bool)
        for start in range(0, len(pieces), _BATCH):  # in batches: bounded memory
            self._mark(grid, pieces[start : start + _BATCH])
        return grid

    def _mark(self, grid: np.ndarray, pieces: np.ndarray) -> None:
        """Mark in ``grid`` the cells the rings of ``pieces`` pass through."""
        coords, ring = shapely.get_coordinates(shapely.get_rings(pieces), return_index=True)
        if not len(coords):
            return
        iy, ix = self._cells(coords[:, 0], coords[:, 1])
        grid[iy, ix] = True
        same = ring[1:] == ring[:-1]
        a, b = coords[:-1][same], coords[1:][same]
        step = self.resolution / 2  # any boundary point is within a quarter cell of a sample
        n = np.maximum(np.ceil(np.hypot(*(b - a).T) / step).astype(np.int64), 1)
        long = np.flatnonzero(n > 1)
        if not len(long):
            return
        extra = n[long] - 1
        seg = np.repeat(long, extra)
        k = np.arange(len(seg)) - np.repeat(np.cumsum(extra) - extra, extra)
        t = (k + 1) / n[seg]
        iy, ix = self._cells(a[seg, 0] + (b[seg, 0] - a[seg, 0]) * t,
                             a[seg, 1] + (b[seg, 1] - a[seg, 1]) * t)
        grid[iy, ix] = True

    def classify(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """The country index of each point where one test at its cell's centre decides it.

        Parameters
        ----------
        x, y : numpy.ndarray
            Longitudes in -180..180 and latitudes in -90..90 (finite).

        Returns
        -------
        numpy.ndarray of int
            The owner of the pieces holding the point; :data:`OUTSIDE` when it lies in no
            piece; :data:`BORDER` when a boundary is near or pieces of more than one
            country hold the cell (the exact test must answer).
        """
        out = np.full(len(x), BORDER, dtype=np.int64)
        if not len(x):
            return out
        iy, ix = self._cells(np.asarray(x, float), np.asarray(y, float))
        free = ~self.border[iy, ix]
        if not free.any():
            return out
        flat = iy[free] * self.nx + ix[free]
        cells, back = np.unique(flat, return_inverse=True)
        cx = (cells % self.nx + 0.5) * self.resolution - 180.0
        cy = (cells // self.nx + 0.5) * self.resolution - 90.0
        centre, piece = self._tree.query(shapely.points(cx, cy), predicate="intersects")
        cls = np.full(len(cells), OUTSIDE, dtype=np.int64)
        if len(centre):
            owners = self._owner[piece]
            lo = np.full(len(cells), np.iinfo(np.int64).max)
            hi = np.full(len(cells), -1)
            np.minimum.at(lo, centre, owners)
            np.maximum.at(hi, centre, owners)
            held = hi >= 0
            cls[held] = np.where(lo[held] == hi[held], hi[held], BORDER)
        out[free] = cls[back.ravel()]
        return out


def _dilate(grid: np.ndarray, radius: int) -> np.ndarray:
    """Mark every cell within ``radius`` cells of a marked one (longitudes wrap around)."""
    out = grid.copy()
    for shift in range(1, radius + 1):  # along longitude, across the antimeridian too
        out |= np.roll(grid, shift, axis=1) | np.roll(grid, -shift, axis=1)
    rows = out.copy()
    for shift in range(1, radius + 1):  # along latitude, up to the poles
        out[shift:] |= rows[:-shift]
        out[:-shift] |= rows[shift:]
    return out
