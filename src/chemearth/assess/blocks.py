"""Geochemical blocks and the metal they hold (Xie Xuejing's geochemical block method).

A geochemical block is a large area of a gridded element surface at or above a threshold.
:func:`delineate` draws **nested** blocks at successive thresholds (each block at a higher
threshold lies inside one block of the threshold below, its ``parent``) and gives per
block its area, mean concentration and the metal amount

    Q = area × depth × rock density × mean concentration

in tonnes: km² × m × t/m³ × mg/kg = 10⁶ m² · m · t/m³ · 10⁻⁶ = tonnes, so the product of
the four numbers in those units *is* tonnes. ``depth`` (default 1000 m: the metal within
1 km of the surface, as in the Chinese block studies) and ``density`` (default
2.6 t/m³, an average upper-crust rock) are the user's assumptions.

:func:`calibrate` derives the metallogenic coefficient k = known resource ÷ Q of a block
the user names (one holding a known deposit), and :func:`predict` gives every block at
that threshold a predicted resource R = Q × k. All of these are **estimates**: the result
carries its assumptions in ``Blocks.assumptions``.

Examples
--------
>>> from chemearth.grid.geometry import EUROPE
>>> keys = EUROPE.id_to_key(["10kmE500N400", "10kmE501N400", "10kmE502N400"])
>>> cells = pd.DataFrame({"cell": keys, "cell_id": EUROPE.key_to_id(keys), "n": 3,
...                       "value": [100.0, 200.0, 300.0], "max": [120.0, 250.0, 330.0]})
>>> surf = Surface(EUROPE, 10_000, "Cu", "mg/kg", cells, pd.DataFrame())
>>> b = delineate(surf, [50.0, 150.0], depth_m=1000, density_t_m3=2.5)
>>> b.table[["block_id", "parent_id", "area_km2", "mean", "metal_t"]].to_dict("records")[0]
{'block_id': 'Cu-T1-1', 'parent_id': None, 'area_km2': 300.0, 'mean': 200.0, 'metal_t': 150000000.0}
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import shapely
from scipy import ndimage

from chemearth.assess.anomalies import Surface, label_polygons, raster_index, threshold_of
from chemearth.errors import ChemearthError

__all__ = [
    "DEFAULT_DENSITY_T_M3",
    "DEFAULT_DEPTH_M",
    "BlockError",
    "Blocks",
    "calibrate",
    "delineate",
    "doubling_thresholds",
    "metal_tonnes",
    "predict",
]

#: Default depth of the blocks, metres.
DEFAULT_DEPTH_M = 1000.0
#: Default rock density, tonnes per cubic metre.
DEFAULT_DENSITY_T_M3 = 2.6


class BlockError(ChemearthError, ValueError):
    """Blocks that cannot be drawn or calibrated as asked."""

    exit_code = 2


def metal_tonnes(area_km2: float | np.ndarray, depth_m: float, density_t_m3: float,
                 concentration_mg_kg: float | np.ndarray) -> float | np.ndarray:
    """Metal held in a block, tonnes.

    Examples
    --------
    >>> metal_tonnes(1.0, 1.0, 2.5, 1.0)   # 1 km² × 1 m of rock at 1 mg/kg
    2.5
    """
    # km² -> m²: 1e6; m³ × t/m³ = t of rock; mg/kg = g/t -> t of metal: 1e-6
    return area_km2 * 1e6 * depth_m * density_t_m3 * concentration_mg_kg * 1e-6


def doubling_thresholds(surf: Surface, start: str | float = "p85",
                        max_levels: int = 6) -> list[float]:
    """Successive thresholds t, 2t, 4t … up to the surface's highest cell.

    ``start`` is a number or a threshold method of
    :func:`chemearth.assess.anomalies.threshold_of` applied to the cell values.
    """
    vals = surf.cells["value"].to_numpy(float)
    t0 = float(start) if isinstance(start, int | float) else threshold_of(vals, method=start)
    if not t0 > 0:
        raise BlockError(f"the first threshold must be positive, got {t0:g}")
    out = [t0]
    while len(out) < max_levels and out[-1] * 2 <= vals.max():
        out.append(out[-1] * 2)
    return out


@dataclass
class Blocks:
    """Nested geochemical blocks of one surface.

    ``table`` has one row per block: ``block_id``, ``threshold_index`` (1 = lowest),
    ``threshold``, ``parent_id``, ``n_cells``, ``area_km2``, ``mean`` (mg/kg, of the
    cell values), ``metal_t`` (Q), ``cells`` (ids) and ``geometry`` (shapely, WGS84);
    after :func:`predict` also ``k`` and ``resource_t`` (R).
    """

    surface: Surface
    thresholds: list[float]
    table: pd.DataFrame
    depth_m: float
    density_t_m3: float
    assumptions: dict[str, Any] = field(default_factory=dict)


def delineate(
    surf: Surface,
    thresholds: Sequence[float] | None = None,
    *,
    depth_m: float = DEFAULT_DEPTH_M,
    density_t_m3: float = DEFAULT_DENSITY_T_M3,
    min_cells: int = 1,
) -> Blocks:
    """Nested blocks of ``surf`` at increasing ``thresholds`` (default: doubling from P85).

    Parameters
    ----------
    surf : Surface
        A gridded element (mg/kg) on an equal-area grid.
    thresholds : sequence of float, optional
        Increasing thresholds in mg/kg.
    depth_m, density_t_m3 : float
        Assumed depth of the blocks and density of the rock.
    min_cells : int
        Smaller blocks are dropped.
    """
    if surf.unit != "mg/kg":
        raise BlockError(f"blocks need concentrations in mg/kg, not {surf.unit}")
    if not (depth_m > 0 and density_t_m3 > 0):
        raise BlockError("depth and density must be positive")
    ts = list(thresholds) if thresholds is not None else doubling_thresholds(surf)
    if not ts or any(b <= a for a, b in itertools.pairwise(ts)):
        raise BlockError("thresholds must be given in increasing order")
    cells = surf.cells
    if cells.empty:
        raise BlockError("the surface has no cells")
    keys = cells["cell"].to_numpy(np.int64)
    vals = cells["value"].to_numpy(float)
    col, row, west, north = raster_index(surf, keys)
    shape = (row.max() + 1, col.max() + 1)
    owner = np.full(len(keys), None, dtype=object)  # block id of each cell at the level below
    rows = []
    for i, t in enumerate(ts, start=1):
        grid = np.zeros(shape, bool)
        inside = vals >= t
        grid[row[inside], col[inside]] = True
        labels, n = ndimage.label(grid, structure=np.ones((3, 3), bool))
        lab = np.where(inside, labels[row, col], 0)
        geoms = label_polygons(labels, west, north, float(surf.level_m), surf.grid, n) if n else []
        found = []
        for b in range(1, n + 1):
            mine = lab == b
            if mine.sum() < min_cells:
                continue
            area = float(mine.sum()) * surf.cell_area_km2
            mean = float(vals[mine].mean())
            parents = {p for p in owner[mine] if p is not None}
            found.append({
                "threshold_index": i, "threshold": t,
                "parent_id": parents.pop() if parents else None,
                "n_cells": int(mine.sum()), "area_km2": area, "mean": mean,
                "metal_t": float(metal_tonnes(area, depth_m, density_t_m3, mean)),
                "cells": ",".join(surf.grid.key_to_id(keys[mine]).tolist()),
                "geometry": geoms[b - 1], "_mask": mine,
            })
        found.sort(key=lambda r: -r["metal_t"])
        new_owner = np.full(len(keys), None, dtype=object)
        for j, r in enumerate(found, start=1):
            r["block_id"] = f"{surf.variable}-T{i}-{j}"
            new_owner[r.pop("_mask")] = r["block_id"]
        owner = new_owner
        rows += found
    cols = ["block_id", "threshold_index", "threshold", "parent_id", "n_cells", "area_km2",
            "mean", "metal_t", "cells", "geometry"]
    table = pd.DataFrame(rows, columns=cols)
    table["parent_id"] = table["parent_id"].astype(object).where(table["parent_id"].notna(), None)
    assumptions = {
        "estimate": "metal amounts and resources are estimates, not reserves",
        "formula": "Q = area × depth × density × mean concentration",
        "depth_m": depth_m, "density_t_m3": density_t_m3,
        "concentration": f"mean of the {surf.level_m / 1000:g} km cell medians of "
                         f"{surf.variable} ({surf.method or 'method as stored'})",
        "grid": surf.grid.name, "level_m": surf.level_m,
        "thresholds_mg_kg": ts,
    }
    return Blocks(surf, ts, table, depth_m, density_t_m3, assumptions)


def calibrate(blocks: Blocks, known_resource_t: float, *, block_id: str | None = None,
              at: tuple[float, float] | None = None, threshold_index: int = 1) -> tuple[str, float]:
    """The metallogenic coefficient k = known resource ÷ Q of a named block.

    Name the block by ``block_id``, or by a point ``at`` = (longitude, latitude) inside it
    (the block at ``threshold_index`` that contains the point). Returns (block id, k).
    """
    if not known_resource_t > 0:
        raise BlockError("the known resource must be a positive number of tonnes")
    t = blocks.table
    if block_id is None:
        if at is None:
            raise BlockError("name the known block by block_id or by a point inside it")
        pt = shapely.Point(at)
        hit = t[(t["threshold_index"] == threshold_index)
                & t["geometry"].map(lambda g: g.covers(pt))]
        if hit.empty:
            raise BlockError(f"no block at threshold {threshold_index} contains {at}")
        block_id = str(hit["block_id"].iloc[0])
    row = t[t["block_id"] == block_id]
    if row.empty:
        raise BlockError(f"no block {block_id!r}")
    q = float(row["metal_t"].iloc[0])
    return block_id, known_resource_t / q


def predict(blocks: Blocks, k: float, *, calibrated_on: str) -> Blocks:
    """Predicted resource R = Q × k for every block at the calibration block's threshold."""
    t = blocks.table.copy()
    level = int(t.loc[t["block_id"] == calibrated_on, "threshold_index"].iloc[0])
    same = t["threshold_index"] == level
    t["k"] = np.where(same, k, np.nan)
    t["resource_t"] = np.where(same, t["metal_t"] * k, np.nan)
    assumptions = {**blocks.assumptions, "k": k, "calibrated_on": calibrated_on,
                   "resource": "R = Q × k, with k = known resource ÷ Q of the calibration "
                               "block; only blocks at its threshold are predicted"}
    return Blocks(blocks.surface, blocks.thresholds, t, blocks.depth_m, blocks.density_t_m3,
                  assumptions)
