"""Baselines of pooled global layers at every scale: cell, country, continent, world.

The samples of several surveys of one medium group and method class are pooled per element
into a *pooled sample frame* (one row per sample, see :data:`FRAME_COLUMNS`).
:func:`global_baselines` gives the baselines of such a frame per region, each both

* **sample-based** (``weighting = "samples"``): every sample counts once; the statistics
  of :func:`chemearth.stats.baselines.baseline_of`;
* **declustered** (``weighting = "declustered"``): each sample weighs ``1 / (samples in
  its grid cell)`` (:func:`chemearth.stats.weighted.declustering_weights`), so each cell
  of the chosen level weighs the same and a dense national survey does not outweigh a
  sparse one; the same statistics with those weights
  (:func:`chemearth.stats.weighted.weighted_baseline_of`).

Every row says which in its ``weighting`` column, and at which ``scale`` and grid
``level_m`` it was computed. Percentiles are Hyndman & Fan type 7 either way: with
frequency weights scaled to sum to the number of samples, equal weights give exactly the
sample-based numbers (see :mod:`chemearth.stats.weighted`).

Values below the detection limit enter the order statistics at their DL and every order
statistic at or below the largest DL is listed in ``below_dl``; the Kaplan–Meier estimates
treat them as ``< DL``.

Examples
--------
>>> import pandas as pd
>>> frame = pd.DataFrame({
...     "dataset_id": ["dense"] * 3 + ["sparse"], "version": 1,
...     "sample_id": ["1", "2", "3", "4"], "longitude": [10.0, 10.01, 10.02, 20.0],
...     "latitude": 50.0, "country": ["DE", "DE", "DE", "PL"], "continent": "Europe",
...     "value": [1.0, 2.0, 3.0, 10.0], "censored": False, "cell": -1})
>>> b = global_baselines(frame, "world", level_m=160_000)   # cells of 160 km
>>> b[["region", "weighting", "n", "n_cells", "median"]].values.tolist()
[['world', 'samples', 4, 2, 2.5], ['world', 'declustered', 4, 2, 6.5]]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from chemearth.errors import StatisticsError
from chemearth.grid.geometry import INVALID_KEY, get_grid
from chemearth.stats.baselines import baseline_of
from chemearth.stats.weighted import declustering_weights, effective_n, weighted_baseline_of

__all__ = [
    "FRAME_COLUMNS",
    "HEADER_COLUMNS",
    "SCALES",
    "STAT_COLUMNS",
    "WEIGHTINGS",
    "Scale",
    "Weighting",
    "global_baselines",
]

#: The scales :func:`global_baselines` takes.
Scale = Literal["world", "continent", "country", "cell"]
#: The weightings :func:`global_baselines` takes.
Weighting = Literal["samples", "declustered", "both"]

#: Columns a pooled sample frame must have.
FRAME_COLUMNS = (
    "dataset_id",
    "version",
    "sample_id",
    "longitude",
    "latitude",
    "country",
    "continent",
    "value",
    "censored",
    "cell",
)
#: Scales a baseline can be computed at, coarsest first.
SCALES: tuple[str, ...] = ("world", "continent", "country", "cell")
#: The two weightings, in the order their rows come.
WEIGHTINGS: tuple[str, ...] = ("samples", "declustered")

#: What every row says about itself, before the statistics.
HEADER_COLUMNS = (
    "scale",
    "region",
    "weighting",
    "element",
    "medium",
    "method",
    "unit",
    "level_m",
    "n_datasets",
    "datasets",
    "dataset_versions",
    "n_cells",
    "n_off_grid",
    "effective_n",
)
#: The statistics of each row: the keys of :func:`~chemearth.stats.baselines.baseline_of`.
STAT_COLUMNS = (
    "n",
    "n_censored",
    "censored_pct",
    "max_dl",
    "min",
    "p5",
    "p10",
    "p25",
    "median",
    "p75",
    "p90",
    "p95",
    "p98",
    "max",
    "mad",
    "mad_normal",
    "gmean",
    "log10_sd",
    "log_method",
    "below_dl",
    "km_median",
    "km_mean",
    "ros_median",
    "ros_mean",
    "tukey_lower",
    "tukey_upper",
    "mad2_lower",
    "mad2_upper",
    "ubv",
    "ubv_capped",
    "sigma2_upper",
    "sigma2_converged",
    "class_p5",
    "class_p10",
    "class_p25",
    "class_p50",
    "class_p75",
    "class_p90",
    "class_p95",
    "class_p98",
)


def global_baselines(
    frame: pd.DataFrame,
    scale: Scale = "world",
    *,
    weighting: Weighting = "both",
    level_m: int | None = None,
    grid: str = "global",
) -> pd.DataFrame:
    """Baselines of a pooled sample frame per region, sample-based and/or declustered.

    Parameters
    ----------
    frame : pandas.DataFrame
        A pooled sample frame of one element (:data:`FRAME_COLUMNS`): ``value`` in the
        canonical unit, censored values at their detection limit with ``censored`` true,
        ``country`` ISO alpha-2 and ``continent`` (``""`` when unknown), ``cell`` the
        int64 key of a grid cell (``-1`` off the grid). ``frame.attrs`` may name the
        ``element``, ``medium``, ``method`` and ``unit``. Rows without a value are left out.
    scale : {"world", "continent", "country", "cell"}
        One region for all samples, or one per continent, country or grid cell. Samples of
        an unknown country (continent) are left out of country (continent) baselines, and
        samples off the grid out of cell baselines.
    weighting : {"both", "samples", "declustered"}
        Which rows to give (both: a sample-based and a declustered row per region).
    level_m : int, optional
        Grid level (cell size in metres) of the declustering cells and of the ``cell``
        scale; the cells are then computed from ``longitude``/``latitude``. By default the
        frame's ``cell`` column is used (all its cells must be of one level).
    grid : str
        The grid of the cells, ``"global"`` (EASE-Grid 2.0) or ``"europe"``.

    Returns
    -------
    pandas.DataFrame
        One row per region and weighting (sample-based first), regions sorted. Columns:
        :data:`HEADER_COLUMNS` — ``scale``; ``region`` (``"world"``, the continent, the
        country code or the cell id); ``weighting``; ``element``, ``medium``, ``method``,
        ``unit`` (from ``frame.attrs``); ``level_m`` (level of the cells, None without
        any); ``n_datasets``, ``datasets`` (ids, comma-separated) and
        ``dataset_versions`` (``id@version``) contributing to the row; ``n_cells`` (cells
        of the row's samples); ``n_off_grid`` (samples of the region without a cell:
        counted in the sample-based row, left out of the declustered one);
        ``effective_n`` (Kish's ``(Σw)²/Σw²``, ``n`` for sample-based rows) — then
        :data:`STAT_COLUMNS`, the statistics of ``baseline_of``. In declustered rows they
        are weighted; at the ``cell`` scale every sample of a cell weighs the same, so the
        two rows agree. KM statistics are NaN when every value is censored.

    Raises
    ------
    StatisticsError
        An unknown scale or weighting, missing columns, no values, or declustered
        statistics or cells asked for without any sample on the grid, or cells of several
        levels.
    chemearth.errors.GridError
        An unknown grid or level, or a ``cell`` that is not a key of the grid.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({
    ...     "dataset_id": "s", "version": 1, "sample_id": ["1", "2", "3"],
    ...     "longitude": [10.0, 10.01, 20.0], "latitude": 50.0, "country": ["DE", "DE", "PL"],
    ...     "continent": "Europe", "value": [1.0, 3.0, 9.0], "censored": False, "cell": -1})
    >>> b = global_baselines(frame, "country", weighting="declustered", level_m=160_000)
    >>> b[["region", "n", "n_cells", "median"]].values.tolist()
    [['DE', 2, 1, 2.0], ['PL', 1, 1, 9.0]]
    """
    if scale not in SCALES:
        raise StatisticsError(f"scale: one of {', '.join(SCALES)}, got {scale!r}")
    if weighting not in (*WEIGHTINGS, "both"):
        raise StatisticsError(f"weighting: samples, declustered or both, got {weighting!r}")
    wanted = WEIGHTINGS if weighting == "both" else (weighting,)
    data = _prepared(frame, level_m, grid)
    level = _level(data["cell"].to_numpy(), grid, level_m)
    if level is None and ("declustered" in wanted or scale == "cell"):
        raise StatisticsError(
            "no sample lies on the grid: declustered and cell baselines need cells "
            "(give level_m, or a frame whose cell column holds keys)"
        )
    labels = _region_labels(data, scale, grid)
    attrs = {k: str(frame.attrs.get(k, "") or "") for k in ("element", "medium", "method", "unit")}
    samples = _Samples.of(data)
    codes, regions = pd.factorize(labels, sort=True)  # -1: in no region of this scale
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(regions) + 1))
    rows = []
    for i, region in enumerate(regions):
        idx = order[bounds[i] : bounds[i + 1]]
        for wt in wanted:
            stats = samples.row(idx, wt)
            if stats is not None:
                rows.append(
                    {
                        "scale": scale,
                        "region": region,
                        "weighting": wt,
                        **attrs,
                        "level_m": level,
                        **stats,
                    }
                )
    return pd.DataFrame(rows, columns=[*HEADER_COLUMNS, *STAT_COLUMNS])


def _prepared(frame: pd.DataFrame, level_m: int | None, grid: str) -> pd.DataFrame:
    """The frame's columns, typed, without missing values; cells recomputed at ``level_m``."""
    missing = [c for c in FRAME_COLUMNS if c not in frame.columns]
    if missing:
        raise StatisticsError(f"pooled frame: missing columns {', '.join(missing)}")
    data = pd.DataFrame(
        {
            "dataset_id": frame["dataset_id"].astype(str).to_numpy(),
            "version": frame["version"].fillna(0).astype(np.int64).to_numpy(),
            "longitude": pd.to_numeric(frame["longitude"]).to_numpy(dtype=np.float64),
            "latitude": pd.to_numeric(frame["latitude"]).to_numpy(dtype=np.float64),
            "country": frame["country"].fillna("").astype(str).to_numpy(),
            "continent": frame["continent"].fillna("").astype(str).to_numpy(),
            "value": pd.to_numeric(frame["value"]).to_numpy(dtype=np.float64),
            "censored": frame["censored"].fillna(False).astype(bool).to_numpy(),
            "cell": frame["cell"].fillna(INVALID_KEY).astype(np.int64).to_numpy(),
        }
    )
    data = data[data["value"].notna()].reset_index(drop=True)
    if data.empty:
        raise StatisticsError("pooled frame: no values")
    if level_m is not None:
        keys = get_grid(grid).cell_keys(data["longitude"], data["latitude"], int(level_m))
        data["cell"] = np.asarray(keys, dtype=np.int64)
    return data


def _level(cells: np.ndarray, grid: str, level_m: int | None) -> int | None:
    """The level of the frame's cells (None without any cell)."""
    on = cells[cells != INVALID_KEY]
    if on.size == 0:
        return None
    if level_m is not None:
        return int(level_m)
    levels = np.unique(get_grid(grid).level_of(np.unique(on)))
    if levels.size != 1 or levels[0] < 0:
        found = ", ".join(str(int(v)) for v in levels)
        raise StatisticsError(f"pooled frame: cells must be valid keys of one level, got {found}")
    return int(levels[0])


def _region_labels(data: pd.DataFrame, scale: str, grid: str) -> pd.Series:
    """The region of each sample (NaN: in no region of this scale)."""
    if scale == "world":
        return pd.Series("world", index=data.index, dtype=object)
    if scale in ("continent", "country"):
        names = data[scale]
        return names.where(names != "", None).astype(object)
    cells = data["cell"].to_numpy()
    ids = np.full(cells.size, None, dtype=object)
    on = cells != INVALID_KEY
    ids[on] = get_grid(grid).key_to_id(cells[on])
    return pd.Series(ids, index=data.index, dtype=object)


@dataclass(frozen=True)
class _Samples:
    """The prepared frame as arrays, with a code per (dataset, version), in sorted order."""

    value: np.ndarray
    censored: np.ndarray
    cell: np.ndarray
    pair: np.ndarray
    pairs: tuple[tuple[str, int], ...]

    @classmethod
    def of(cls, data: pd.DataFrame) -> _Samples:
        ids = data["dataset_id"].to_numpy()
        versions = data["version"].to_numpy()
        pairs = tuple(sorted({(str(d), int(v)) for d, v in zip(ids, versions, strict=True)}))
        code = {p: i for i, p in enumerate(pairs)}
        return cls(
            value=data["value"].to_numpy(dtype=np.float64),
            censored=data["censored"].to_numpy(dtype=bool),
            cell=data["cell"].to_numpy(dtype=np.int64),
            pair=np.array([code[(str(d), int(v))] for d, v in zip(ids, versions, strict=True)]),
            pairs=pairs,
        )

    def row(self, idx: np.ndarray, weighting: str) -> dict[str, Any] | None:
        """Header counts and statistics of the samples ``idx`` under ``weighting``; None
        when no sample is left (declustered: none on the grid)."""
        off = int(np.count_nonzero(self.cell[idx] == INVALID_KEY))
        if weighting == "declustered":
            idx = idx[self.cell[idx] != INVALID_KEY]
        if idx.size == 0:
            return None
        x, c, cells = self.value[idx], self.censored[idx], self.cell[idx]
        if weighting == "samples":
            ones = np.ones(x.size)
            stats = baseline_of(x, c) if (~c).any() else weighted_baseline_of(x, c, ones)
            eff = float(x.size)
        else:
            w = declustering_weights(cells)
            stats = weighted_baseline_of(x, c, w)
            eff = effective_n(w)
        used = [self.pairs[i] for i in np.unique(self.pair[idx])]
        ids = sorted({d for d, _ in used})
        return {
            "n_datasets": len(ids),
            "datasets": ",".join(ids),
            "dataset_versions": ",".join(f"{d}@{v}" for d, v in used),
            "n_cells": int(np.unique(cells[cells != INVALID_KEY]).size),
            "n_off_grid": off,
            "effective_n": eff,
            **stats,
        }
