"""Metal held in a soil or sediment layer, from pooled cell baselines: per cell, country,
continent and world, with an envelope from the cell percentiles.

For every part of a grid cell inside a country (the **land parts** frame:
``cell``, ``cell_id``, ``country``, ``continent``, ``land_km2``) whose cell holds samples
(the **pooled cell table** of one element and level), the metal in a layer of depth ``d``
and dry bulk density ``ρ`` at concentration ``C`` is

.. code-block:: text

    tonnes = A [km²] × 10⁶ [m²/km²] × d [m] × ρ [t/m³] × C [mg/kg = g/t] × 10⁻⁶ [t/g]

(the product of the four numbers in those units is tonnes). ``C`` is the cell median for
the central value and the cell P25/P75 (and P5/P95) for the envelopes. Countries,
continents and the world are sums over their parts.

**Assumptions** (every result carries them in ``assumptions``):

* **depth** 1 m by default (:data:`DEFAULT_DEPTH_M`), and the concentration of the
  sampled layer (GEMAS 0-20 cm, DS-801 0-5 cm …) is taken to hold down to it;
* **dry bulk density** 1.5 t/m³ by default (:data:`DEFAULT_BULK_DENSITY_T_M3`): a typical
  mineral soil (most lie between about 1.1 and 1.7 t/m³; organic soils and peat are far
  lighter, 0.1-0.5). Pass the density of your medium, e.g. for a sediment;
* **covered land only**: cells with samples. The land of cells without samples is
  reported (``land_km2_uncovered``) and left out of the totals, unless a declustered
  median of the layer is given, which fills it as a separately labelled
  **extrapolation** (``tonnes_median_extrapolated``);
* **the envelope is not a confidence interval**: summing cell percentiles is not a
  percentile of the sum. ``tonnes_p25`` … ``tonnes_p75`` is "every cell at its P25 …
  every cell at its P75", the **P25-P75 envelope** (and P5-P95 likewise), a conservative
  band: the cells' deviations would have to be perfectly correlated to reach it;
* **below detection**: a percentile at or below the cell's largest detection limit
  (``dl_max``) is only an upper bound; its tonnes are an upper bound too, flagged
  (``<stat>_upper_bound``) and counted apart (``tonnes_<stat>_below_dl``).

:func:`pooled_surface` and :func:`pooled_blocks` draw geochemical blocks
(:func:`chemearth.assess.blocks.delineate`) over a pooled cell table.

Examples
--------
>>> from chemearth.grid.geometry import GLOBAL
>>> keys = GLOBAL.cell_keys([10.0, 10.5], [50.0, 50.0], 40_000)
>>> cells = pd.DataFrame({"cell": keys, "n": [5, 3], "n_censored": 0, "dl_max": np.nan,
...                       "p5": [1.0, 2.0], "p25": [2.0, 3.0], "median": [3.0, 4.0],
...                       "p75": [4.0, 5.0], "p95": [5.0, 6.0]})
>>> land = pd.DataFrame({"cell": keys, "cell_id": GLOBAL.key_to_id(keys),
...                      "country": "DE", "continent": "Europe", "land_km2": [1600.0, 800.0]})
>>> r = resource_totals(cells, land, element="Li")   # 1 m of soil at 1.5 t/m³
>>> # P25: 1600 km² × 1.5e6 t/km² × 2 g/t + 800 × 1.5e6 × 3 = 4.8e9 + 3.6e9 g = 8400 t
>>> r.world[["tonnes_p25", "tonnes_median", "tonnes_p75"]].iloc[0].tolist()
[8400.0, 12000.0, 15600.0]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd

from chemearth.assess.anomalies import Surface
from chemearth.assess.blocks import (
    DEFAULT_DENSITY_T_M3,
    Blocks,
    delineate,
    metal_tonnes,
)
from chemearth.assess.blocks import DEFAULT_DEPTH_M as BLOCK_DEPTH_M
from chemearth.errors import GridError, StatisticsError
from chemearth.grid.geometry import INVALID_KEY, get_grid
from chemearth.reference.units import unit_factor

__all__ = [
    "DEFAULT_BULK_DENSITY_T_M3",
    "DEFAULT_DEPTH_M",
    "ENVELOPES",
    "RESOURCE_STATISTICS",
    "Resources",
    "pooled_blocks",
    "pooled_surface",
    "resource_totals",
]

#: Default depth of the layer, metres (the top 1 m).
DEFAULT_DEPTH_M: Final = 1.0
#: Default dry bulk density, t/m³: a typical mineral soil (an assumption; pass your own).
DEFAULT_BULK_DENSITY_T_M3: Final = 1.5
#: The cell statistics turned into tonnes, lowest first.
RESOURCE_STATISTICS: Final = ("p5", "p25", "median", "p75", "p95")
#: The envelopes: name -> (lower statistic, upper statistic). Not percentiles of the sum.
ENVELOPES: Final = {"P25-P75 envelope": ("p25", "p75"), "P5-P95 envelope": ("p5", "p95")}

_CELL_COLUMNS = ("cell", "n", "n_censored", "dl_max", *RESOURCE_STATISTICS)
_LAND_COLUMNS = ("cell", "country", "continent", "land_km2")


@dataclass
class Resources:
    """Metal held in a layer, from one pooled cell table (:func:`resource_totals`).

    Attributes
    ----------
    element : str
        The element.
    cells : pandas.DataFrame
        One row per covered cell with land: ``cell``, ``cell_id``, ``n``,
        ``n_censored``, ``dl_max``, ``land_km2`` (summed over its countries),
        ``n_countries``, the concentrations ``p5`` … ``p95`` (mg/kg), ``tonnes_p5`` …
        ``tonnes_p95`` and ``<stat>_upper_bound`` (the percentile is at or below
        ``dl_max``).
    countries, continents, world : pandas.DataFrame
        One row per country (``country``; ``""`` unknown), continent (``continent``) and
        for the world (``world``): ``element``, ``land_km2`` (all land of the parts
        given), ``land_km2_covered``, ``land_km2_uncovered``, ``covered_pct``,
        ``n_cells_covered``, ``tonnes_<stat>`` (covered land only),
        ``tonnes_<stat>_below_dl`` (the part of it from percentiles at or below a
        detection limit: upper bounds), ``<stat>_upper_bound``, and
        ``tonnes_median_extrapolated`` and ``tonnes_median_with_extrapolation`` (NaN
        without a declustered median).
    notes : list of str
        What is not covered, and why.
    assumptions : dict
        Formula, depth, density, envelopes, concentration unit; JSON-ready.
    """

    element: str
    cells: pd.DataFrame
    countries: pd.DataFrame
    continents: pd.DataFrame
    world: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    assumptions: dict[str, Any] = field(default_factory=dict)


def _need(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise StatisticsError(f"the {what} needs the columns {', '.join(missing)}")


def resource_totals(
    cells: pd.DataFrame,
    land: pd.DataFrame,
    *,
    element: str | None = None,
    unit: str | None = None,
    depth_m: float = DEFAULT_DEPTH_M,
    bulk_density_t_m3: float = DEFAULT_BULK_DENSITY_T_M3,
    extrapolate_median: float | None = None,
    min_n: int = 1,
    grid: str = "global",
) -> Resources:
    """Metal held in a layer per cell, country, continent and world.

    Parameters
    ----------
    cells : pandas.DataFrame
        A pooled cell table of one element and level (``cell``, ``n``, ``n_censored``,
        ``dl_max``, ``p5``, ``p25``, ``median``, ``p75``, ``p95``).
    land : pandas.DataFrame
        Land parts (``cell``, ``country``, ``continent``, ``land_km2``) of every land
        cell of the area wanted (e.g. the world), with or without samples: the cells
        without samples are the uncovered land.
    element : str, optional
        Default: ``cells.attrs["element"]``.
    unit : str, optional
        Unit of the concentrations (default ``cells.attrs["unit"]``, else mg/kg).
    depth_m, bulk_density_t_m3 : float
        The layer's depth (m) and dry bulk density (t/m³).
    extrapolate_median : float, optional
        A declustered median of the layer (in ``unit``): uncovered land at this
        concentration, reported apart as an extrapolation.
    min_n : int
        Cells with fewer samples count as uncovered.
    grid : str
        The grid of the cell keys.

    Raises
    ------
    StatisticsError
        For missing columns, a cell or (cell, country) part given twice, a negative land
        area, or a depth or density that is not a positive number.
    """
    _need(cells, _CELL_COLUMNS, "pooled cell table")
    _need(land, _LAND_COLUMNS, "land parts frame")
    if not (np.isfinite(depth_m) and depth_m > 0
            and np.isfinite(bulk_density_t_m3) and bulk_density_t_m3 > 0):
        raise StatisticsError("depth and bulk density must be positive numbers")
    el = element or str(cells.attrs.get("element", ""))
    factor = unit_factor(unit or str(cells.attrs.get("unit", "mg/kg")), "mg/kg")
    if cells["cell"].duplicated().any():
        raise StatisticsError("the cell table holds a cell twice: give one element and level")
    parts = land[list(_LAND_COLUMNS)].copy()
    parts["country"] = parts["country"].astype("string").fillna("").astype(str)
    parts["continent"] = parts["continent"].astype("string").fillna("").astype(str)
    if parts.duplicated(["cell", "country"]).any():
        raise StatisticsError("the land parts give a (cell, country) part twice")
    if (parts["land_km2"] < 0).any() or parts["land_km2"].isna().any():
        raise StatisticsError("land areas must be numbers >= 0")
    c = cells[cells["n"] >= min_n].set_index("cell")
    conc = c[list(RESOURCE_STATISTICS)].astype(float) * factor
    dl = c["dl_max"].astype(float) * factor
    low = conc.le(dl.where(c["n_censored"] > 0), axis=0)  # NaN dl_max: never
    covered = parts["cell"].isin(c.index).to_numpy()
    for s in RESOURCE_STATISTICS:
        on = conc[s].reindex(parts["cell"]).to_numpy(float)
        t = metal_tonnes(parts["land_km2"].to_numpy(float), depth_m, bulk_density_t_m3, on)
        parts[f"tonnes_{s}"] = np.where(covered, t, 0.0)
        below = low[s].reindex(parts["cell"]).fillna(False).to_numpy(bool) & covered
        parts[f"tonnes_{s}_below_dl"] = np.where(below, t, 0.0)
    parts["covered"] = covered
    extra = (np.nan if extrapolate_median is None else
             metal_tonnes(1.0, depth_m, bulk_density_t_m3, float(extrapolate_median) * factor))
    parts["tonnes_median_extrapolated"] = (np.where(covered, 0.0, parts["land_km2"] * extra)
                                           if extrapolate_median is not None else np.nan)
    notes = _notes(c, parts, extrapolate_median)
    cell_table = _cell_table(c, conc, low, parts, grid)
    countries, continents, world = (_summed(parts, by, el)
                                    for by in ("country", "continent", "world"))
    assumptions = {
        "element": el, "formula": "tonnes = land area [km²] × 1e6 × depth [m] × bulk "
        "density [t/m³] × concentration [mg/kg = g/t] × 1e-6",
        "depth_m": depth_m, "bulk_density_t_m3": bulk_density_t_m3,
        "concentration": "pooled cell percentiles, converted to mg/kg "
                         f"(× {factor:g} from {unit or cells.attrs.get('unit', 'mg/kg')})",
        "central": "every cell at its median",
        "envelopes": {name: f"every cell at its {a.upper()} … every cell at its {b.upper()} "
                      "(a conservative envelope, not a percentile of the sum)"
                      for name, (a, b) in ENVELOPES.items()},
        "below_dl": "a percentile at or below the cell's dl_max is an upper bound; so are "
                    "its tonnes (tonnes_<stat>_below_dl)",
        "coverage": "totals are of covered land (cells with samples) only",
        "extrapolation": (None if extrapolate_median is None else
                          f"uncovered land at the declustered median {extrapolate_median:g} "
                          "(an extrapolation, reported apart)"),
        "min_n": min_n,
    }
    return Resources(el, cell_table, countries, continents, world, notes, assumptions)


def _notes(c: pd.DataFrame, parts: pd.DataFrame, extrapolate: float | None) -> list[str]:
    notes = []
    orphans = int((~c.index.isin(parts["cell"])).sum())
    if orphans:
        notes.append(f"{orphans} cells with samples have no land part (sea, or outside the "
                     "land parts given): left out")
    uncovered = parts.loc[~parts["covered"], "land_km2"].sum()
    total = parts["land_km2"].sum()
    if uncovered > 0:
        notes.append(f"{uncovered:,.0f} of {total:,.0f} km² of land have no samples: "
                     + ("not in the totals" if extrapolate is None else
                        "in tonnes_median_extrapolated only (an extrapolation)"))
    if any(parts[f"tonnes_{s}_below_dl"].gt(0).any() for s in RESOURCE_STATISTICS):
        notes.append("some cell percentiles are at or below a detection limit: their "
                     "tonnes are upper bounds (tonnes_<stat>_below_dl)")
    return notes


def _cell_table(c: pd.DataFrame, conc: pd.DataFrame, low: pd.DataFrame,
                parts: pd.DataFrame, grid: str) -> pd.DataFrame:
    p = parts[parts["covered"]]
    g = p.groupby("cell", sort=True)
    t = g.agg(land_km2=("land_km2", "sum"), n_countries=("country", "size"),
              **{f"tonnes_{s}": (f"tonnes_{s}", "sum") for s in RESOURCE_STATISTICS})
    keys = t.index.to_numpy(np.int64)
    out = pd.DataFrame({"cell": keys, "cell_id": get_grid(grid).key_to_id(keys)})
    for col in ("n", "n_censored", "dl_max"):
        out[col] = c[col].reindex(keys).to_numpy()
    out["land_km2"] = t["land_km2"].to_numpy(float)
    out["n_countries"] = t["n_countries"].to_numpy(np.int64)
    for s in RESOURCE_STATISTICS:
        out[s] = conc[s].reindex(keys).to_numpy(float)
    for s in RESOURCE_STATISTICS:
        out[f"tonnes_{s}"] = t[f"tonnes_{s}"].to_numpy(float)
    for s in RESOURCE_STATISTICS:
        out[f"{s}_upper_bound"] = low[s].reindex(keys).to_numpy(bool)
    return out


def _summed(parts: pd.DataFrame, by: str, element: str) -> pd.DataFrame:
    p = parts.assign(world="world", land_km2_covered=parts["land_km2"].where(parts["covered"], 0),
                     covered_n=parts["covered"].astype(np.int64))
    sums = [f"tonnes_{s}" for s in RESOURCE_STATISTICS] + [
        f"tonnes_{s}_below_dl" for s in RESOURCE_STATISTICS]
    g = p.groupby(by, sort=True)
    t = g[["land_km2", "land_km2_covered", "covered_n", *sums,
           "tonnes_median_extrapolated"]].sum(min_count=1).reset_index()
    out = pd.DataFrame({by: t[by].astype(object), "element": element})
    out["land_km2"] = t["land_km2"].to_numpy(float)
    out["land_km2_covered"] = t["land_km2_covered"].to_numpy(float)
    out["land_km2_uncovered"] = out["land_km2"] - out["land_km2_covered"]
    with np.errstate(invalid="ignore", divide="ignore"):
        out["covered_pct"] = 100.0 * out["land_km2_covered"] / out["land_km2"]
    out["n_cells_covered"] = t["covered_n"].to_numpy(np.int64)
    for col in sums:
        out[col] = t[col].to_numpy(float)
    for s in RESOURCE_STATISTICS:
        out[f"{s}_upper_bound"] = out[f"tonnes_{s}_below_dl"] > 0
    out["tonnes_median_extrapolated"] = t["tonnes_median_extrapolated"].to_numpy(float)
    out["tonnes_median_with_extrapolation"] = (out["tonnes_median"]
                                               + out["tonnes_median_extrapolated"])
    return out


def pooled_surface(
    cells: pd.DataFrame,
    *,
    element: str | None = None,
    unit: str | None = None,
    statistic: str = "median",
    grid: str = "global",
    min_n: int = 1,
    method: str = "",
) -> Surface:
    """A :class:`~chemearth.assess.anomalies.Surface` from a pooled cell table, for
    :func:`chemearth.assess.blocks.delineate` (which needs ``cell``, ``cell_id``, ``n``,
    ``value`` and ``max`` on one level of an equal-area grid, in mg/kg).

    Parameters
    ----------
    cells : pandas.DataFrame
        A pooled cell table of one element and level.
    element, unit : str, optional
        Default: the table's attrs (unit: mg/kg); values are converted to mg/kg.
    statistic : str
        The cell statistic mapped (default the median).
    grid : str
        The grid of the keys.
    min_n : int
        Cells with fewer samples are left out.
    method : str
        Recorded in the surface (default: the table's ``method`` attr).

    Raises
    ------
    GridError
        If the cells are not all of one level of ``grid``.
    StatisticsError
        For a table without the columns, or without any cell of ``min_n`` samples.
    """
    _need(cells, ("cell", "n", statistic, "max"), "pooled cell table")
    g = get_grid(grid)
    keys = cells["cell"].to_numpy(np.int64)
    keep = (cells["n"].to_numpy() >= min_n) & (keys != INVALID_KEY)
    if not keep.any():
        raise StatisticsError(f"no cell holds {min_n} or more samples")
    keys = keys[keep]
    levels = np.unique(g.level_of(keys))
    if len(levels) != 1 or levels[0] < 0:
        raise GridError(f"a surface needs cells of one level of the {g.name} grid, "
                        f"not {levels.tolist()}")
    factor = unit_factor(unit or str(cells.attrs.get("unit", "mg/kg")), "mg/kg")
    sel = cells[keep]
    table = pd.DataFrame({
        "cell": keys, "cell_id": g.key_to_id(keys), "n": sel["n"].to_numpy(),
        "value": sel[statistic].to_numpy(float) * factor,
        "max": sel["max"].to_numpy(float) * factor})
    return Surface(g, int(levels[0]), element or str(cells.attrs.get("element", "")), "mg/kg",
                   table, pd.DataFrame(),
                   method or str(cells.attrs.get("method", "")))


def pooled_blocks(
    cells: pd.DataFrame,
    thresholds: Sequence[float] | None = None,
    *,
    land: pd.DataFrame | None = None,
    depth_m: float = BLOCK_DEPTH_M,
    density_t_m3: float = DEFAULT_DENSITY_T_M3,
    min_cells: int = 1,
    **surface_options: Any,
) -> Blocks:
    """Geochemical blocks over a pooled layer: :func:`pooled_surface`, then
    :func:`~chemearth.assess.blocks.delineate` (its defaults: 1,000 m of rock at
    2.6 t/m³, the block method's convention, not the soil layer of
    :func:`resource_totals`).

    ``delineate`` counts the whole area of every cell, sea included. With ``land`` (a
    land parts frame) each block also gets ``land_km2`` (the land of its cells) and
    ``metal_t_land``, the metal of its land only (Σ land × cell value × depth ×
    density).

    Examples
    --------
    >>> from chemearth.grid.geometry import GLOBAL
    >>> keys = GLOBAL.cell_keys([10.0, 10.5, 11.0], [50.0, 50.0, 50.0], 40_000)
    >>> cells = pd.DataFrame({"cell": keys, "n": 4, "median": [10.0, 40.0, 50.0],
    ...                       "max": [20.0, 80.0, 90.0]})
    >>> cells.attrs.update(element="Li", unit="mg/kg")
    >>> b = pooled_blocks(cells, [30.0])
    >>> b.table[["block_id", "n_cells", "area_km2", "mean"]].to_dict("records")
    [{'block_id': 'Li-T1-1', 'n_cells': 2, 'area_km2': 3200.0, 'mean': 45.0}]
    """
    surf = pooled_surface(cells, **surface_options)
    blocks = delineate(surf, thresholds, depth_m=depth_m, density_t_m3=density_t_m3,
                       min_cells=min_cells)
    blocks.assumptions["concentration"] = (
        f"mean of the pooled {surf.level_m / 1000:g} km cell values of {surf.variable}")
    if land is None:
        return blocks
    _need(land, ("cell", "land_km2"), "land parts frame")
    area = land.groupby("cell")["land_km2"].sum()
    value = surf.cells.set_index("cell_id")["value"]
    key_of = pd.Series(surf.cells["cell"].to_numpy(), index=surf.cells["cell_id"])
    land_km2, metal = [], []
    for ids in blocks.table["cells"]:
        cid = ids.split(",")
        a = area.reindex(key_of.loc[cid].to_numpy()).fillna(0.0).to_numpy(float)
        land_km2.append(float(a.sum()))
        metal.append(float(np.sum(metal_tonnes(a, depth_m, density_t_m3,
                                               value.loc[cid].to_numpy(float)))))
    blocks.table["land_km2"] = land_km2
    blocks.table["metal_t_land"] = metal
    blocks.assumptions["land"] = ("metal_t_land: the land of each cell (land parts frame) "
                                  "× its value × depth × density, summed over the block")
    return blocks
