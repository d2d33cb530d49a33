"""Fractal anomaly separation on gridded surfaces: C-A thresholds, zones and composites.

The map side of :mod:`chemearth.stats.fractal`. A :class:`~chemearth.assess.anomalies.Surface`
(the cell medians of an element on one grid level) becomes a dense raster
(:func:`surface_raster`, row 0 at the north) on which the concentration–area thresholds
(:func:`concentration_area_of`, areas in km²), the spectrum–area filter and the local
singularity index of :mod:`chemearth.stats.fractal` run unchanged; zones come back as
map layers (one row per cell, :func:`zone_layer`) and as polygons (:func:`zone_polygons`,
WGS84, one per zone: outer ≥ 1×, middle ≥ 2×, inner ≥ 4× the threshold), which
:func:`chemearth.assess.anomalies.as_geojson` writes as GeoJSON.
:func:`composite_anomalies` overlays several elements, each with its own threshold.

A cell whose median may be a detection limit (its value is not above the highest DL of
its censored samples) is flagged ``censored``: the C-A curve does not count it as measured
(see :mod:`chemearth.stats.fractal`), and the zones give it 0 when its DL is at or below
the threshold (its true value is certainly below) and −1, not zoned, when the DL exceeds
the threshold (its zone is unknown).

Examples
--------
>>> import pandas as pd
>>> from chemearth.assess.anomalies import surface
>>> s = pd.DataFrame({"sample_id": ["a", "b", "c", "d"], "longitude": [10.0, 10.0, 10.3, 10.3],
...                   "latitude": [50.0, 50.3, 50.0, 50.3], "value": [1.0, 2.0, 9.0, 30.0],
...                   "censored": [False] * 4})
>>> surf = surface(s, variable="Cu", grid="Europe", level="10km")
>>> zone_layer(surf, 5.0)[["value", "zone"]].values.tolist()  # 5, 10 and 20 bound the zones
[[1.0, 0.0], [2.0, 0.0], [9.0, 1.0], [30.0, 3.0]]
>>> zone_polygons(surf, 5.0)[["zone", "name", "lower", "n_cells", "area_km2"]].values.tolist()
[[1, 'outer', 5.0, 1, 100.0], [3, 'inner', 20.0, 1, 100.0]]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from chemearth.assess.anomalies import AnomalyError, Surface, label_polygons, raster_index
from chemearth.grid.geometry import Grid
from chemearth.stats.fractal import (
    ZONE_MULTIPLES,
    ZONE_NAMES,
    CompositeAnomaly,
    FractalFit,
    composite,
    concentration_area,
    zones,
)

__all__ = [
    "CompositeLayer",
    "SurfaceRaster",
    "cell_positions",
    "cell_table",
    "composite_anomalies",
    "concentration_area_of",
    "surface_raster",
    "zone_layer",
    "zone_polygons",
]

#: Key of an empty raster cell.
NO_CELL = -1


@dataclass(frozen=True)
class SurfaceRaster:
    """A surface as a dense raster.

    ``values`` (NaN where no cell), ``censored`` (the cell value may be a detection
    limit) and ``keys`` (the cell key, :data:`NO_CELL` where none) have one shape; row 0 is
    the north edge; ``west`` and ``north`` are the raster's corner in the grid's CRS and
    ``size`` its cell side in metres.
    """

    values: NDArray[np.float64]
    censored: NDArray[np.bool_]
    keys: NDArray[np.int64]
    west: float
    north: float
    size: float
    grid: Grid


def _censored_cells(surf: Surface) -> NDArray[np.bool_]:
    """Cells whose value is not above the highest DL of their censored samples."""
    s = surf.samples
    if "censored" not in s or not s["censored"].any():
        return np.zeros(len(surf.cells), bool)
    dl = s.loc[s["censored"].astype(bool)].groupby("cell")["value"].max()
    cell_dl = surf.cells["cell"].map(dl).to_numpy(float)
    return np.asarray(np.isfinite(cell_dl) & (surf.cells["value"].to_numpy(float) <= cell_dl))


def surface_raster(surf: Surface, *, keys: NDArray[np.int64] | None = None) -> SurfaceRaster:
    """The surface as a dense raster covering its cells (or the cells ``keys``)."""
    cells = surf.cells
    own = cells["cell"].to_numpy(np.int64)
    all_keys = own if keys is None else np.unique(np.concatenate([own, keys]))
    if all_keys.size == 0:
        raise AnomalyError(f"the surface of {surf.variable} has no cell")
    col, row, west, north = raster_index(surf, all_keys)
    shape = (int(row.max()) + 1, int(col.max()) + 1)
    values = np.full(shape, np.nan)
    cens = np.zeros(shape, bool)
    kr = np.full(shape, NO_CELL, np.int64)
    kr[row, col] = all_keys
    pos = np.searchsorted(all_keys, own) if keys is not None else np.arange(len(own))
    values[row[pos], col[pos]] = cells["value"].to_numpy(float)
    cens[row[pos], col[pos]] = _censored_cells(surf)
    return SurfaceRaster(values, cens, kr, west, north, float(surf.level_m), surf.grid)


def cell_positions(r: SurfaceRaster, keys: ArrayLike) -> NDArray[np.int64]:
    """The flat index in ``r`` (of ``r.values.ravel()``) of each cell key of ``keys``."""
    flat = r.keys.ravel()
    where = np.flatnonzero(flat != NO_CELL)
    at = pd.Series(where, index=flat[where])
    return at.loc[np.asarray(keys, np.int64)].to_numpy(np.int64)


def cell_table(surf: Surface, r: SurfaceRaster, **rasters: NDArray[np.float64]
               ) -> pd.DataFrame:
    """One row per cell of ``surf``: ``cell_id``, ``n``, ``value``, ``censored`` (the value
    may be a detection limit) and the value of each raster of ``rasters`` (shaped as
    ``r.values``) at the cell; ``r`` is ``surf``'s raster (:func:`surface_raster`)."""
    pos = cell_positions(r, surf.cells["cell"])
    out = pd.DataFrame({"cell_id": surf.cells["cell_id"].to_numpy(),
                        "n": surf.cells["n"].to_numpy(),
                        "value": surf.cells["value"].to_numpy(float),
                        "censored": r.censored.ravel()[pos]})
    for name, arr in rasters.items():
        out[name] = arr.ravel()[pos]
    return out


def concentration_area_of(
    surf: Surface,
    *,
    n_breakpoints: int | None = None,
    max_breakpoints: int = 3,
    levels: ArrayLike | int | None = None,
    min_points: int = 5,
    confidence: float = 0.95,
) -> FractalFit:
    """Concentration–area thresholds of a surface, areas in km².

    The parameters are those of :func:`chemearth.stats.fractal.concentration_area`;
    cells whose median may be a detection limit are passed as censored.
    """
    return concentration_area(surf.cells["value"].to_numpy(float), _censored_cells(surf),
                              cell_area=surf.cell_area_km2, levels=levels,
                              n_breakpoints=n_breakpoints, max_breakpoints=max_breakpoints,
                              min_points=min_points, confidence=confidence)


def _zone_raster(r: SurfaceRaster, threshold: float, multiples: Sequence[float]
                 ) -> NDArray[np.int8]:
    z = zones(r.values, threshold, multiples=multiples)
    # a censored cell (true value < its DL) is certainly below a threshold at or above its
    # DL, and of unknown zone under a lower threshold
    unknown = np.where(r.values > threshold, np.int8(-1), np.int8(0))
    return np.where(r.censored, unknown, z).astype(np.int8)


def _names(multiples: Sequence[float]) -> list[str]:
    if len(multiples) == len(ZONE_NAMES):
        return list(ZONE_NAMES)
    return [f"zone {i}" for i in range(1, len(multiples) + 1)]


def zone_layer(surf: Surface, threshold: float, *,
               multiples: Sequence[float] = ZONE_MULTIPLES) -> pd.DataFrame:
    """Each cell of the surface with its anomaly zone (a map layer).

    Returns
    -------
    pandas.DataFrame
        ``cell``, ``cell_id``, ``value``, ``zone`` (0 background, 1 … n; −1 a censored
        cell that cannot be zoned) and ``zone_name``.
    """
    r = surface_raster(surf)
    z = _zone_raster(r, threshold, multiples)
    col, row, _, _ = raster_index(surf, surf.cells["cell"].to_numpy(np.int64))
    zc = z[row, col].astype(int)
    names = ["", *_names(multiples)]
    return pd.DataFrame({"cell": surf.cells["cell"].to_numpy(np.int64),
                         "cell_id": surf.cells["cell_id"].to_numpy(),
                         "value": surf.cells["value"].to_numpy(float), "zone": zc,
                         "zone_name": [names[i] if i >= 0 else "censored" for i in zc]})


def _polygons(labels: NDArray[np.integer], r: SurfaceRaster, n: int, area_km2: float,
              names: list[str]) -> pd.DataFrame:
    lab = np.where(labels > 0, labels, 0).astype(np.int32)
    geoms = label_polygons(lab, r.west, r.north, r.size, r.grid, n)
    rows = [{"zone": i, "name": names[i - 1], "n_cells": int((lab == i).sum()),
             "area_km2": float((lab == i).sum()) * area_km2, "geometry": geoms[i - 1]}
            for i in range(1, n + 1) if (lab == i).any()]
    return pd.DataFrame(rows, columns=["zone", "name", "n_cells", "area_km2", "geometry"])


def zone_polygons(surf: Surface, threshold: float, *,
                  multiples: Sequence[float] = ZONE_MULTIPLES) -> pd.DataFrame:
    """The anomaly zones of a surface as polygons (WGS84), one row per zone present.

    Returns
    -------
    pandas.DataFrame
        ``zone``, ``name``, ``lower`` (the zone's lowest value: threshold × multiple),
        ``n_cells``, ``area_km2`` and ``geometry`` (shapely; the zones do not overlap).
        :func:`chemearth.assess.anomalies.as_geojson` turns it into GeoJSON.
    """
    r = surface_raster(surf)
    z = _zone_raster(r, threshold, multiples)
    out = _polygons(z, r, len(multiples), surf.cell_area_km2, _names(multiples))
    out.insert(2, "lower", [threshold * float(multiples[i - 1]) for i in out["zone"]])
    return out


@dataclass(frozen=True)
class CompositeLayer:
    """A composite anomaly of several elements on one grid level.

    ``cells`` holds ``cell``, ``cell_id``, ``zone_<element>`` per element (−1 no data),
    ``score``, ``count`` and ``n_valid`` (see
    :class:`chemearth.stats.fractal.CompositeAnomaly`); ``polygons`` one row per number
    of anomalous elements present (``zone`` = that count), in WGS84.
    """

    cells: pd.DataFrame
    polygons: pd.DataFrame
    raster: CompositeAnomaly
    thresholds: dict[str, float]


def composite_anomalies(layers: Mapping[str, tuple[Surface, float]], *,
                        multiples: Sequence[float] = ZONE_MULTIPLES) -> CompositeLayer:
    """Composite anomalies of several elements, each zoned at its own threshold.

    Parameters
    ----------
    layers : mapping
        Element -> (surface, threshold); the surfaces on one grid and level.
    multiples : sequence of float
        Zone bounds as multiples of each threshold.
    """
    if not layers:
        raise AnomalyError("a composite anomaly needs at least one element")
    surfs = [s for s, _ in layers.values()]
    if len({(s.grid.name, s.level_m) for s in surfs}) != 1:
        raise AnomalyError("the surfaces of a composite anomaly must share grid and level")
    keys = np.unique(np.concatenate([s.cells["cell"].to_numpy(np.int64) for s in surfs]))
    rasters = {el: surface_raster(s, keys=keys) for el, (s, _) in layers.items()}
    zr = {el: _zone_raster(rasters[el], thr, multiples) for el, (_, thr) in layers.items()}
    # zone rasters in, as surfaces of their zone numbers at threshold 1 (zone ≥ 1 ⇔ ≥ 1)
    comp = composite({el: (np.where(z >= 0, z, np.nan), 1.0) for el, z in zr.items()},
                     multiples=tuple(float(i) for i in range(1, len(multiples) + 1)))
    first = next(iter(rasters.values()))
    col, row, _, _ = raster_index(surfs[0], keys)
    cells = pd.DataFrame({"cell": keys, "cell_id": surfs[0].grid.key_to_id(keys)})
    for el, z in zr.items():
        cells[f"zone_{el}"] = z[row, col].astype(int)
    for name in ("score", "count", "n_valid"):
        cells[name] = getattr(comp, name)[row, col].astype(int)
    n = len(layers)
    polys = _polygons(comp.count, first, n, surfs[0].cell_area_km2,
                      [f"{i} of {n} elements anomalous" for i in range(1, n + 1)])
    return CompositeLayer(cells, polys, comp, {el: float(t) for el, (_, t) in layers.items()})
