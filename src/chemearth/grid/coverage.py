"""Land coverage of the Global Reference Network: which land cells hold samples of a medium.

The IUGS/IAGC Global Reference Network (GRN; Darnley et al. 1995, *A Global Geochemical
Database*) divides the land surface into about 5,000 cells of 160 km × 160 km and asks for
at least five sites per cell and sampling medium; the UNESCO International Centre on
Global-Scale Geochemistry (ICGG) reports about 31 % of the land as covered. Here the GRN is
the 160 km level of the :data:`~chemearth.grid.geometry.GLOBAL` grid (EASE-Grid 2.0,
EPSG:6933, equal-area on the WGS84 ellipsoid); any level of either grid works the same way.

:func:`land_parts` gives, for each cell, the area of its intersection with each country's
land (the Natural Earth admin-0 polygons, see :mod:`chemearth.reference.continents`) on the
WGS84 ellipsoid. :func:`coverage` counts the samples in each land cell and sums the land of
the cells holding at least 1 (and at least 5) samples per country, continent and world;
:class:`Coverage` also gives the cells as WGS84 polygons for a map layer.

How areas are computed
    Land polygons are read in longitude/latitude with their edges straight in
    longitude/latitude (RFC 7946): edges are split to at most 0.1° before the polygons are
    projected to the grid's CRS, where cells are exact squares. The projected land is cut
    along the grid lines (each polygon halved at a grid line, round after round, vectorised
    with shapely 2) until every piece lies in one cell. The pieces' edges are then split
    into segments of at most 1/16 of the cell size in the grid CRS (cell edges are straight
    there, not in longitude/latitude), transformed back to longitude/latitude, and measured
    on the ellipsoid with ``pyproj.Geod(ellps="WGS84")``. A whole 160 km cell comes out at
    25,600 km² to 1e-5; land areas agree with a direct shapely + pyproj computation to about
    1e-5 (the edges of a polygon, straight in degrees here, are geodesics to ``Geod``). Land
    beyond the grid (south of 85.04°S for the global grid) is not counted.

Cost
    The land cells of the 160 km level (7,768 with Antarctica, 7,085 without, in the 1:10m
    file) take about 3 s after reading the boundaries (under 2 s), then nothing: the table
    is kept in memory per boundaries file, modification time, grid and level. The whole
    80 km level takes about 5 s, 40 km 15 s, 20 km a minute; finer levels are refused
    unless asked for cell by cell (``cells=``: about 0.1 s per thousand cells).

Examples
--------
>>> parts = land_parts("boundaries/ne_10m_admin_0_countries_deu.geojson")
>>> list(parts.columns)
['cell', 'cell_id', 'country', 'continent', 'land_km2']
>>> fi = parts[parts["country"] == "FI"]
>>> len(fi), int(round(fi["land_km2"].sum(), -3))  # the cells of Finland, its land
(29, 333000)
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyproj
import shapely
from numpy.typing import ArrayLike, NDArray
from pyproj import Geod

from chemearth.errors import GridError, InputFileError, StatisticsError, TooManyCellsError
from chemearth.grid.geometry import INVALID_KEY, Grid, get_grid
from chemearth.grid.levels import parse_level
from chemearth.jsonable import plain
from chemearth.reference.continents import ANTARCTICA, country_land, polygon_parts

__all__ = ["LAND_COLUMNS", "Coverage", "coverage", "land_parts"]

#: The columns of :func:`land_parts`, in order.
LAND_COLUMNS = ("cell", "cell_id", "country", "continent", "land_km2")

_WGS84 = "EPSG:4326"
_GEOD = Geod(ellps="WGS84")
#: Longest land edge (degrees) before projecting: edges stay straight in lon/lat.
_LONLAT_STEP = 0.1
#: Segments per cell edge before areas are taken on the ellipsoid.
_SEGMENTS = 16
#: Cell positions are read off piece bounds with this slack (in cells).
_EPS = 1e-7
_MAX_ROUNDS = 64

Pieces = tuple[NDArray[np.object_], NDArray[np.intp]]


@functools.lru_cache(maxsize=8)
def _transformer(source: str, target: str) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(source, target, always_xy=True)


def _boundaries_key(boundaries: str | Path) -> tuple[str, int]:
    resolved = Path(boundaries).expanduser().resolve()
    try:
        return str(resolved), resolved.stat().st_mtime_ns
    except OSError as exc:
        raise InputFileError(f"boundaries file {str(boundaries)!r} not found: {exc}") from exc


def _explode(geoms: NDArray[np.object_], owner: NDArray[np.intp]) -> Pieces:
    """Polygons with area of (multi)polygons and collections, each with its owner."""
    parts, index = polygon_parts(geoms)
    return parts, np.asarray(owner, dtype=np.intp)[index]


def _grid_area_lonlat(g: Grid) -> shapely.Geometry:
    """The part of the globe inside the grid's bounds, in longitude/latitude."""
    w, e, s, n = g.bounds
    ring = shapely.segmentize(shapely.box(w, s, e, n), max(e - w, n - s) / 1024)
    lonlat = shapely.transform(ring, _transformer(g.crs, _WGS84).transform, interleaved=False)
    return shapely.make_valid(lonlat)


def _fix(geoms: NDArray[np.object_], owner: NDArray[np.intp]) -> Pieces:
    bad = ~shapely.is_valid(geoms)
    if bad.any():
        geoms = geoms.copy()
        geoms[bad] = shapely.make_valid(geoms[bad])
    return _explode(geoms, owner)


@functools.lru_cache(maxsize=4)
def _projected_land(path: str, mtime_ns: int, grid_name: str) -> Pieces:
    """Land polygons inside the grid, in the grid CRS, with their index in the land arrays."""
    g = get_grid(grid_name)
    land = country_land(path)
    polygons, owner = land.polygons, np.arange(len(land.polygons), dtype=np.intp)
    area = _grid_area_lonlat(g)
    shapely.prepare(area)
    out = ~shapely.contains(area, polygons)
    if out.any():  # clip in lon/lat first: far from a projection's centre it folds over
        polygons = polygons.copy()
        polygons[out] = shapely.intersection(polygons[out], area)
        polygons, owner = _explode(polygons, owner)
    dense = shapely.segmentize(polygons, _LONLAT_STEP)
    projected = shapely.transform(
        dense, _transformer(_WGS84, g.crs).transform, interleaved=False
    )
    projected, owner = _fix(projected, owner)
    w, e, s, n = g.bounds
    box = shapely.box(w, s, e, n)
    out = ~shapely.contains(box, projected)
    if out.any():
        projected = projected.copy()
        projected[out] = shapely.intersection(projected[out], box)
        projected, owner = _explode(projected, owner)
    return projected, owner


def _split(pieces: NDArray[np.object_], owner: NDArray[np.intp], size: float) -> Pieces:
    """Cut polygons (grid CRS) along the grid lines of cells of ``size`` metres.

    Each round halves every polygon that spans more than one cell at the grid line nearest
    the middle of its longer side, so a polygon over ``c`` × ``r`` cells is done in about
    ``log2(c) + log2(r)`` rounds.
    """
    done_g: list[NDArray[np.object_]] = []
    done_o: list[NDArray[np.intp]] = []
    for _ in range(_MAX_ROUNDS):
        if not len(pieces):
            break
        x0, y0, x1, y1 = shapely.bounds(pieces).T
        c0, c1 = np.floor(x0 / size + _EPS), np.ceil(x1 / size - _EPS) - 1
        r0, r1 = np.floor(y0 / size + _EPS), np.ceil(y1 / size - _EPS) - 1
        one = (c0 >= c1) & (r0 >= r1)
        done_g.append(pieces[one])
        done_o.append(owner[one])
        rest = ~one
        pieces, owner = pieces[rest], owner[rest]
        x0, y0, x1, y1, c0, c1, r0, r1 = (v[rest] for v in (x0, y0, x1, y1, c0, c1, r0, r1))
        wide = (c1 - c0) >= (r1 - r0)
        xm = np.where(wide, np.floor((c0 + c1 + 1) / 2) * size, x1)
        ym = np.where(wide, y1, np.floor((r0 + r1 + 1) / 2) * size)
        xh, yh = np.where(wide, xm, x0), np.where(wide, y0, ym)
        halves = [
            shapely.clip_by_rect(p, *rect)
            for p, *rect in zip(pieces, x0, y0, xm, ym, strict=True)
        ] + [
            shapely.clip_by_rect(p, *rect)
            for p, *rect in zip(pieces, xh, yh, x1, y1, strict=True)
        ]
        pieces, owner = _explode(np.array(halves, dtype=object), np.concatenate([owner, owner]))
    # clip_by_rect keeps valid polygons valid; check once, on the small final pieces
    return _fix(np.concatenate([*done_g, pieces]), np.concatenate([*done_o, owner]))


def _areas_km2(g: Grid, pieces: NDArray[np.object_], level_m: int) -> NDArray[np.float64]:
    """Areas on the WGS84 ellipsoid of polygons given in the grid CRS (km²)."""
    if not len(pieces):
        return np.zeros(0)
    dense = shapely.segmentize(pieces, level_m / _SEGMENTS)
    lonlat = shapely.transform(dense, _transformer(g.crs, _WGS84).transform, interleaved=False)
    lonlat = shapely.orient_polygons(lonlat)  # shells counter-clockwise, holes clockwise
    rings = shapely.get_rings(lonlat)
    ring_owner = np.repeat(np.arange(len(lonlat)), shapely.get_num_interior_rings(lonlat) + 1)
    xy = shapely.get_coordinates(rings)
    ends = np.cumsum(shapely.get_num_coordinates(rings))
    starts = np.r_[0, ends[:-1]]
    signed = [  # the closing vertex repeats the first: Geod closes rings itself
        _GEOD.polygon_area_perimeter(xy[a : b - 1, 0], xy[a : b - 1, 1])[0]
        for a, b in zip(starts.tolist(), ends.tolist(), strict=True)
    ]
    return np.bincount(ring_owner, np.asarray(signed), len(lonlat)) / 1e6


def _piece_keys(g: Grid, pieces: NDArray[np.object_], level_m: int) -> NDArray[np.int64]:
    x0, y0, x1, y1 = shapely.bounds(pieces).T
    return g.cell_keys_xy((x0 + x1) / 2, (y0 + y1) / 2, level_m)


@functools.lru_cache(maxsize=4)
def _coarse(path: str, mtime_ns: int, grid_name: str) -> tuple[Pieces, shapely.STRtree]:
    """Land cut into the cells of the grid's coarsest level, and a tree of the pieces."""
    g = get_grid(grid_name)
    pieces, owner = _split(*_projected_land(path, mtime_ns, grid_name), float(g.levels[0]))
    return (pieces, owner), shapely.STRtree(pieces)


def _table(
    g: Grid, path: str, keys: NDArray[np.int64], owner: NDArray[np.intp], area: ArrayLike
) -> pd.DataFrame:
    """Sum piece areas per (cell, country) into the :func:`land_parts` frame."""
    land = country_land(path)
    country = land.country[owner]
    claimed = country != None  # noqa: E711 (elementwise)
    frame = pd.DataFrame(
        {
            "cell": keys,
            "country": np.where(claimed, country, ""),  # "" sorts first; None again below
            "continent": land.continent[owner],
            "land_km2": np.asarray(area, dtype=np.float64),
        }
    )
    summed = frame.groupby(["cell", "country", "continent"], sort=True)["land_km2"].sum()
    out = summed.reset_index()
    out.insert(1, "cell_id", g.key_to_id(out["cell"].to_numpy(np.int64)))
    out["country"] = out["country"].astype(object).where(out["country"] != "", None)
    out["cell"] = out["cell"].astype(np.int64)
    return out[list(LAND_COLUMNS)]


def _check_size(path: str, mtime_ns: int, g: Grid, level_m: int, max_cells: int) -> None:
    """Refuse a whole level whose land may span more than ``max_cells`` cells."""
    (pieces, _), _ = _coarse(path, mtime_ns, g.name)
    x0, y0, x1, y1 = shapely.bounds(pieces).T / level_m
    upper = np.sum((np.floor(x1) - np.floor(x0) + 1) * (np.floor(y1) - np.floor(y0) + 1))
    if upper > max_cells:
        raise TooManyCellsError(
            f"the land of the {g.name} grid at {g.level_label(level_m)} spans up to "
            f"{int(upper):,} cells, more than max_cells={max_cells:,}; pass cells="
        )


@functools.lru_cache(maxsize=8)
def _full_table(path: str, mtime_ns: int, grid_name: str, level_m: int) -> pd.DataFrame:
    """Every land cell of a level (kept: callers get copies)."""
    g = get_grid(grid_name)
    (pieces, owner), _ = _coarse(path, mtime_ns, grid_name)
    if level_m != g.levels[0]:
        if not g.nests(level_m, g.levels[0]):  # every level of the shipped grids nests
            pieces, owner = _projected_land(path, mtime_ns, grid_name)
        pieces, owner = _split(pieces, owner, float(level_m))
    keys = _piece_keys(g, pieces, level_m)
    return _table(g, path, keys, owner, _areas_km2(g, pieces, level_m))


def _as_keys(g: Grid, cells: Any, level_m: int) -> NDArray[np.int64]:
    arr = np.asarray(cells, dtype=object).ravel()
    if arr.size and all(isinstance(v, str) for v in arr):
        keys = g.id_to_key(arr)
    else:
        try:
            keys = np.asarray(arr.astype(np.int64), dtype=np.int64)
        except (TypeError, ValueError):
            raise GridError("cells must be cell keys (integers) or cell ids (strings)") from None
    levels = g.level_of(keys)  # raises for keys of another grid
    wrong = levels != level_m
    if wrong.any():
        raise GridError(
            f"{int(wrong.sum())} of the cells are not {g.level_label(level_m)} cells of the "
            f"{g.name} grid (e.g. {arr[int(np.argmax(wrong))]!r})"
        )
    return np.unique(keys)


def land_parts(
    boundaries: str | Path,
    grid: str | Grid = "global",
    level_m: int | str = 160_000,
    cells: Sequence[int] | Sequence[str] | ArrayLike | None = None,
    *,
    max_cells: int = 1_000_000,
) -> pd.DataFrame:
    """The land of each grid cell, per country, in km² on the WGS84 ellipsoid.

    Parameters
    ----------
    boundaries : str or Path
        A Natural Earth admin-0 countries file (see :func:`chemearth.reference.continents.
        country_land` for how land gets its country and continent).
    grid : str or Grid
        ``"global"`` (EASE-Grid 2.0) or ``"europe"``.
    level_m : int or str
        A level of the grid, in metres or as ``"160km"``.
    cells : array_like, optional
        Cell keys or ids of ``level_m`` to compute; default every cell with land.
        Cells without land give no rows.
    max_cells : int
        Without ``cells``: refuse a level whose land may span more cells than this.

    Returns
    -------
    pandas.DataFrame
        One row per cell and country with land in it, sorted by cell and country:
        ``cell`` (int64 key), ``cell_id``, ``country`` (alpha-2; None for land no country
        claims), ``continent`` (the country's Natural Earth continent, Antarctica included)
        and ``land_km2``. A fresh copy: callers may change it.

    Raises
    ------
    GridError
        For an unknown grid or level, or cells that are not cells of that level.
    TooManyCellsError
        Without ``cells``, when the level's land may span more than ``max_cells`` cells.
    InputFileError
        If the boundaries file cannot be read.

    Examples
    --------
    >>> b = "boundaries/ne_10m_admin_0_countries_deu.geojson"
    >>> part = land_parts(b, cells=["G160km-E005-N33"])  # the Alps east of Lake Constance
    >>> part["country"].tolist()
    ['AT', 'CH', 'DE', 'IT', 'LI']
    >>> round(part["land_km2"].sum())  # all land: the whole 160 km × 160 km cell
    25600
    """
    g = get_grid(grid)
    level = parse_level(level_m)
    g.level_label(level)  # raises for a level the grid does not have
    path, mtime = _boundaries_key(boundaries)
    if cells is None:
        if level != g.levels[0]:
            _check_size(path, mtime, g, level, int(max_cells))
        return _full_table(path, mtime, g.name, level).copy()
    keys = _as_keys(g, cells, level)
    (pieces, owner), tree = _coarse(path, mtime, g.name)
    w, e, s, n = g.cell_bounds(keys)
    box, piece = tree.query(shapely.box(w, s, e, n), predicate="intersects")
    clipped = [
        shapely.clip_by_rect(pieces[j], w[i], s[i], e[i], n[i])
        for i, j in zip(box.tolist(), piece.tolist(), strict=True)
    ]
    index = np.arange(len(box), dtype=np.intp)
    parts, which = _fix(np.array(clipped, dtype=object), index)
    area = _areas_km2(g, parts, level)
    return _table(g, path, keys[box[which]], owner[piece[which]], area)


@dataclass(frozen=True, eq=False)
class Coverage:
    """Which land cells of a grid level hold samples, and how much land they cover.

    Attributes
    ----------
    grid, level_m : str, int
        The grid and level.
    min_samples : tuple of int
        The sample-count thresholds; each ``k`` gives the columns ``covered_k`` (cells),
        ``covered_km2_k``, ``share_k`` and ``n_cells_k`` (summaries).
    exclude_antarctica : bool
        Whether Antarctica's land was left out.
    parts : pandas.DataFrame
        :func:`land_parts` rows of the land cells, with ``n_samples`` and ``covered_k``.
    cells : pandas.DataFrame
        One row per land cell: ``cell``, ``cell_id``, ``land_km2``, ``n_samples``,
        ``covered_k`` for each threshold.
    by_country, by_continent : pandas.DataFrame
        One row per country (``country``, ``continent``) or continent, then ``land_km2``,
        ``covered_km2_k``, ``share_k`` for each threshold, ``n_cells_land``, ``n_cells_k``
        for each threshold and ``n_samples`` (the samples in the unit's land cells; a cell
        shared by two countries counts for both). Land no country claims is in
        ``by_continent`` and ``world``, not in ``by_country``.
    world : dict
        The same for all land, plus ``n_samples_elsewhere``: samples given that fall in no
        land cell (at sea, beyond the grid, or without coordinates).
    """

    grid: str
    level_m: int
    min_samples: tuple[int, ...]
    exclude_antarctica: bool
    parts: pd.DataFrame
    cells: pd.DataFrame
    by_country: pd.DataFrame
    by_continent: pd.DataFrame
    world: dict[str, float | int]

    def cell_geometries(self, densify: int = 8) -> NDArray[np.object_]:
        """The land cells' outlines as WGS84 shapely Polygons, in the order of :attr:`cells`.

        Each edge is split into ``densify`` segments, so that the outline follows the cell
        on any map projection (the global grid's cells are longitude/latitude rectangles;
        the European grid's are not).

        Examples
        --------
        >>> cov = coverage([], [], "boundaries/ne_110m_admin_0_countries.geojson")
        >>> polygons = cov.cell_geometries()
        >>> len(polygons) == len(cov.cells), polygons[0].geom_type
        (True, 'Polygon')
        """
        keys = self.cells["cell"].to_numpy(np.int64)
        return get_grid(self.grid).cell_polygons(keys, densify=densify, to_wgs84=True)

    def to_geojson(self, densify: int = 8, precision: int = 5) -> dict[str, Any]:
        """The land cells as a GeoJSON FeatureCollection (WGS84) for a map layer.

        Each feature's properties are its row of :attr:`cells` without the key;
        coordinates are rounded to ``precision`` decimals (5: about 1 m).

        Examples
        --------
        >>> cov = coverage([5.0, 5.1], [52.0, 52.1],
        ...                "boundaries/ne_10m_admin_0_countries_deu.geojson")
        >>> layer = cov.to_geojson()
        >>> [f["properties"] for f in layer["features"] if f["properties"]["n_samples"]]
        ... # doctest: +NORMALIZE_WHITESPACE, +ELLIPSIS
        [{'cell_id': 'G160km-E003-N36', 'land_km2': ..., 'n_samples': 2,
          'covered_1': True, 'covered_5': False}]
        """
        props = plain(self.cells.drop(columns="cell").to_dict("records"))
        geoms = shapely.transform(
            self.cell_geometries(densify), lambda xy: np.round(xy, precision)
        )
        features = [
            {"type": "Feature", "geometry": shapely.geometry.mapping(geom), "properties": p}
            for geom, p in zip(geoms, props, strict=True)
        ]
        return {"type": "FeatureCollection", "features": features}


def _thresholds(min_samples: int | Sequence[int]) -> tuple[int, ...]:
    values = (min_samples,) if isinstance(min_samples, int | np.integer) else min_samples
    out: list[int] = []
    for k in values:
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
            raise StatisticsError(f"min_samples must be whole numbers >= 1, got {min_samples!r}")
        if int(k) not in out:
            out.append(int(k))
    if not out:
        raise StatisticsError("min_samples is empty: give at least one threshold")
    return tuple(out)


def _summary(parts: pd.DataFrame, by: list[str], ks: tuple[int, ...]) -> pd.DataFrame:
    """Land, covered land, shares, cell and sample counts of ``parts`` per ``by``."""
    frame = parts.copy()
    frame["_all"] = 0
    keys = by or ["_all"]
    grouped = frame.groupby(keys, sort=True)
    out = grouped["land_km2"].sum().to_frame()
    for k in ks:
        frame[f"_km2_{k}"] = frame["land_km2"].where(frame[f"covered_{k}"], 0.0)
        out[f"covered_km2_{k}"] = frame.groupby(keys, sort=True)[f"_km2_{k}"].sum()
        out[f"share_{k}"] = out[f"covered_km2_{k}"] / out["land_km2"]
    cells = frame.drop_duplicates([*keys, "cell"])
    per_cells = cells.groupby(keys, sort=True)
    out["n_cells_land"] = per_cells["cell"].size()
    for k in ks:
        out[f"n_cells_{k}"] = per_cells[f"covered_{k}"].sum().astype(np.int64)
    out["n_samples"] = per_cells["n_samples"].sum().astype(np.int64)
    return out.reset_index().drop(columns="_all", errors="ignore")


def coverage(
    longitude: ArrayLike,
    latitude: ArrayLike,
    boundaries: str | Path,
    *,
    grid: str | Grid = "global",
    level_m: int | str = 160_000,
    min_samples: int | Sequence[int] = (1, 5),
    exclude_antarctica: bool = True,
) -> Coverage:
    """Land coverage of a grid level by samples (of one medium) at the given points.

    A land cell is covered at threshold ``k`` when at least ``k`` samples fall in it; the
    covered land of a country is the land of that country inside its covered cells (a
    cell shared by two countries covers the part in each, whichever side its samples are
    on), and a share is covered land over all land. Samples off land (at sea, or in a
    country's waters) still count for the cell they fall in; samples in cells without land
    cover nothing. Points without coordinates or beyond the grid are ignored.

    Parameters
    ----------
    longitude, latitude : array_like
        WGS84 degrees of the samples, one per sample (pass one medium's samples: the GRN
        counts coverage per sampling medium).
    boundaries : str or Path
        The Natural Earth admin-0 file whose land is covered (see :func:`land_parts`).
    grid, level_m
        The grid and level; the GRN is the global 160 km level (the default).
    min_samples : int or sequence of int
        Thresholds of samples per cell: 1 (any sample) and 5 (the IUGS manual's minimum)
        by default.
    exclude_antarctica : bool
        Leave Antarctica out of the land (default). The GRN's "about 5,000 cells" are
        the land without Antarctica (134 million km², 5,250 cells' worth, 7,085 cells
        touching land); Antarctica would add 11.4 million km² (Natural Earth's, without
        ice shelves, north of 85.04°S) and 683 cells.

    Returns
    -------
    Coverage

    Raises
    ------
    StatisticsError
        If longitude and latitude differ in length, or a threshold is not a whole number
        of at least 1.
    GridError, InputFileError
        As :func:`land_parts`.
    TooManyCellsError
        For a level finer than 20 km, whose land cells :func:`land_parts` refuses to list.

    Examples
    --------
    >>> import pandas as pd
    >>> gemas = pd.read_csv("gemas/gemas.csv")
    >>> cov = coverage(gemas["longitude"], gemas["latitude"],
    ...                "boundaries/ne_10m_admin_0_countries_deu.geojson")
    >>> europe = cov.by_continent.set_index("continent").loc["Europe"]
    >>> bool(europe["share_5"] < europe["share_1"] < 1)
    True
    >>> cov.world["n_samples"] + cov.world["n_samples_elsewhere"] == len(gemas)
    True
    """
    g = get_grid(grid)
    level = parse_level(level_m)
    ks = _thresholds(min_samples)
    lon = np.asarray(longitude, dtype=np.float64).ravel()
    lat = np.asarray(latitude, dtype=np.float64).ravel()
    if lon.shape != lat.shape:
        raise StatisticsError(
            f"longitude and latitude differ in length: {lon.size} and {lat.size}"
        )
    parts = land_parts(boundaries, g, level)
    if exclude_antarctica:
        parts = parts[parts["continent"] != ANTARCTICA].reset_index(drop=True)
    keys = g.cell_keys(lon, lat, level)
    per_cell = pd.Series(keys[keys != INVALID_KEY]).value_counts()
    parts["n_samples"] = parts["cell"].map(per_cell).fillna(0).astype(np.int64)
    for k in ks:
        parts[f"covered_{k}"] = parts["n_samples"] >= k
    flags = [f"covered_{k}" for k in ks]
    cells = (
        parts.groupby("cell", sort=True)
        .agg(cell_id=("cell_id", "first"), land_km2=("land_km2", "sum"),
             n_samples=("n_samples", "first"), **{c: (c, "first") for c in flags})
        .reset_index()
    )
    claimed = parts[parts["country"].notna()]
    summary = _summary(parts, [], ks)
    world: dict[str, float | int] = {
        c: plain(summary[c].iloc[0]) if len(summary) else 0 for c in summary.columns
    }
    world["n_samples_elsewhere"] = int(lon.size - world["n_samples"])
    return Coverage(
        grid=g.name,
        level_m=level,
        min_samples=ks,
        exclude_antarctica=bool(exclude_antarctica),
        parts=parts,
        cells=cells,
        by_country=_summary(claimed, ["country", "continent"], ks),
        by_continent=_summary(parts, ["continent"], ks),
        world=world,
    )

