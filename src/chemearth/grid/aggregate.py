"""Per-cell robust statistics, computed for all cells of a grid level at once.

:func:`cell_stats` takes one value per measurement with its cell key and censored flag
and returns one row per cell: n, n censored, the largest detection limit among the
censored values, min, P5, P10, P25, median, P75, P90, P95, P98, max, MAD, geometric mean
and the standard deviation of log10 values.

How censoring is taken into account (``docs/grids.md``): censored values enter at their
detection limit (the store's representation), and ``dl_max`` is kept per cell, so any
percentile at or below ``dl_max`` is known only to be below the detection limit and is
shown so (maps and the API flag it). The geometric mean and log SD are computed on the
same values; where a cell has censored values they are upper bounds. Regional baselines
(:mod:`chemearth.stats.baselines`) use Kaplan–Meier and ROS instead.

The algorithm sorts once per element (:class:`SortedValues`) and reuses that order for
every grid level: the compiled kernel :func:`chemearth.grid.kernels.cell_statistics`
groups the ordered values by cell with a counting sort, which keeps each cell's values
ascending, and reads the statistics off each cell in one sweep; quantiles are read by
position (numpy's default "linear" method, Hyndman & Fan type 7).

Examples
--------
>>> import numpy as np
>>> cells = np.array([7, 7, 7, 9])
>>> values = np.array([1.0, 3.0, 2.0, 5.0])
>>> s = cell_stats(cells, values, np.zeros(4, bool))
>>> s["cell"].tolist(), s["n"].tolist(), s["median"].tolist()
([7, 9], [3, 1], [2.0, 5.0])
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["PERCENTILES", "STATISTICS", "SortedValues", "cell_stats", "factorize"]

#: Percentiles kept per cell (in percent) and their column names.
PERCENTILES = {
    5: "p5",
    10: "p10",
    25: "p25",
    50: "median",
    75: "p75",
    90: "p90",
    95: "p95",
    98: "p98",
}
#: Every statistic column of a cell table, in order.
STATISTICS = (
    "n",
    "n_censored",
    "dl_max",
    "min",
    *PERCENTILES.values(),
    "max",
    "mad",
    "gmean",
    "log10_sd",
)
#: The quantile probabilities of :data:`PERCENTILES`, in order, and where the median is.
_QUANTILES = np.array([p / 100 for p in PERCENTILES], dtype=np.float64)
_MEDIAN_AT = list(PERCENTILES).index(50)
_NO_LOOKUP = np.empty(0, dtype=np.int64)


def factorize(groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sorted unique groups, index of each element's group), by hashing, not sorting."""
    codes, uniques = pd.factorize(groups, sort=False)
    uniques = np.asarray(uniques)
    perm = np.argsort(uniques, kind="stable")
    remap = np.empty(len(perm), dtype=np.int64)
    remap[perm] = np.arange(len(perm), dtype=np.int64)
    return uniques[perm], remap[codes]


class SortedValues:
    """One element's values sorted once, reused for every grid level.

    Parameters
    ----------
    values : ndarray of float
        Finite values in the canonical unit; censored values at their detection limit.
    censored : ndarray of bool
        True where the value is below the detection limit.
    positions : ndarray of int, optional
        A position per value (e.g. its sample row), carried along so that per-sample
        arrays can be read in value order with :meth:`take`. Default ``0..n-1``.

    Examples
    --------
    >>> import numpy as np
    >>> sv = SortedValues(np.array([9.0, 4.0, 3.0]), np.array([False, True, False]))
    >>> sv.values.tolist(), sv.positions.tolist()
    ([3.0, 4.0, 9.0], [2, 1, 0])
    >>> s = sv.grouped_stats(sv.take(np.array([1, 0, 1])), 2)
    >>> s["group"].tolist(), s["n_censored"].tolist(), s["median"].tolist()
    ([0, 1], [1, 0], [4.0, 6.0])
    """

    def __init__(
        self, values: np.ndarray, censored: np.ndarray, positions: np.ndarray | None = None
    ) -> None:
        values = np.asarray(values, dtype=np.float64)
        # any order of equal values gives the same statistics: no need for a stable sort
        order = np.argsort(values)
        self.values = values[order]
        self.censored = np.ascontiguousarray(np.asarray(censored, dtype=bool)[order])
        pos = order if positions is None else np.asarray(positions, dtype=np.int64)[order]
        self.positions = pos.astype(np.int64, copy=False)
        with np.errstate(divide="ignore", invalid="ignore"):
            self.logs = np.log10(np.where(self.values > 0, self.values, np.nan))

    def __len__(self) -> int:
        return len(self.values)

    def take(self, per_position: np.ndarray) -> np.ndarray:
        """``per_position[positions]``: a per-sample array (e.g. cell indexes) in value order."""
        return np.ascontiguousarray(np.asarray(per_position)[self.positions], dtype=np.int64)

    def grouped_stats(
        self,
        cells: np.ndarray,
        n_groups: int,
        lookup: np.ndarray | None = None,
        finer: dict[str, np.ndarray] | None = None,
    ) -> dict[str, np.ndarray]:
        """The statistics of :data:`STATISTICS` for every group holding values.

        Parameters
        ----------
        cells : ndarray of int64
            The group index of each value, in value order (see :meth:`take`), in
            ``[0, n_groups)``; or, with ``lookup``, an index into ``lookup``.
        n_groups : int
            The number of groups.
        lookup : ndarray of int64, optional
            The group of each index of ``cells``: e.g. the parent cell of each cell of a
            finer level, so that ``cells`` is computed once for all levels.
        finer : dict of ndarray, optional
            This method's result for the groups of ``cells`` themselves (the finer
            level, without ``lookup``); with ``lookup``, the counts and log moments are
            then merged from it and only the values are regrouped
            (:func:`chemearth.grid.kernels.nested_statistics`).

        Returns
        -------
        dict of ndarray
            ``"group"`` (ascending indexes of the groups holding values), one array per
            name of :data:`STATISTICS`, aligned with it, and ``"log_moments"`` (count,
            mean and squared deviations of the log10 values, for ``finer``).

        Examples
        --------
        >>> import numpy as np
        >>> sv = SortedValues(np.array([1.0, 2.0, 4.0, 8.0]), np.zeros(4, bool))
        >>> cells = sv.take(np.array([0, 1, 0, 1]))
        >>> fine = sv.grouped_stats(cells, 2)
        >>> parent = np.array([0, 0])
        >>> a = sv.grouped_stats(cells, 1, parent, finer=fine)
        >>> b = sv.grouped_stats(cells, 1, parent)
        >>> a["median"].tolist(), bool(np.isclose(a["log10_sd"], b["log10_sd"]).all())
        ([3.0], True)
        """
        from chemearth.grid.kernels import cell_statistics, nested_statistics

        cells = np.ascontiguousarray(cells, dtype=np.int64)
        if finer is not None and lookup is not None:
            groups, counts, stats, moments = nested_statistics(
                self.values,
                cells,
                np.ascontiguousarray(lookup, dtype=np.int64),
                int(n_groups),
                _QUANTILES,
                _MEDIAN_AT,
                finer["group"],
                np.stack([finer["n"], finer["n_censored"]]),
                np.ascontiguousarray(finer["dl_max"]),
                finer["log_moments"],
            )
        else:
            table = _NO_LOOKUP if lookup is None else np.ascontiguousarray(lookup, dtype=np.int64)
            groups, counts, stats, moments = cell_statistics(
                self.values,
                self.censored,
                self.logs,
                cells,
                table,
                int(n_groups),
                _QUANTILES,
                _MEDIAN_AT,
            )
        out: dict[str, np.ndarray] = {
            "group": groups, "n": counts[0], "n_censored": counts[1], "log_moments": moments}
        for row, name in enumerate(STATISTICS[2:]):
            out[name] = stats[row]
        return out


def cell_stats(cells: np.ndarray, values: np.ndarray, censored: np.ndarray) -> pd.DataFrame:
    """Robust statistics of ``values`` for every distinct key in ``cells``.

    Parameters
    ----------
    cells : ndarray of int64
        The cell key of each value (see :mod:`chemearth.grid.geometry`).
    values : ndarray of float
        Values in the canonical unit; censored values at their detection limit. Values
        that are not finite (NaN, ±inf) are left out.
    censored : ndarray of bool
        True where the value is below the detection limit.

    Returns
    -------
    pandas.DataFrame
        One row per cell, ascending by key: ``cell`` and the columns of
        :data:`STATISTICS`. ``dl_max`` is NaN where the cell has no censored value.

    Examples
    --------
    >>> import numpy as np
    >>> s = cell_stats(np.array([3, 3, 3, 3]), np.array([1.0, 2.0, 4.0, 8.0]),
    ...                np.array([True, False, False, False]))
    >>> s[["n", "n_censored", "dl_max", "median", "mad"]].iloc[0].tolist()
    [4.0, 1.0, 1.0, 3.0, 1.5]
    >>> round(float(s["gmean"].iloc[0]), 6)  # 2 ** 1.5
    2.828427
    """
    values = np.asarray(values, dtype=np.float64)
    ok = np.isfinite(values)
    unique, gidx = factorize(np.asarray(cells)[ok])
    ranked = SortedValues(values[ok], np.asarray(censored, dtype=bool)[ok])
    stats = ranked.grouped_stats(ranked.take(gidx), len(unique))
    cols = {"cell": unique[stats["group"]]} | {k: stats[k] for k in STATISTICS}
    return pd.DataFrame(cols)
