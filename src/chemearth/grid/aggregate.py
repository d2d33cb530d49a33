"""Per-cell robust statistics, vectorised over all cells of a grid level at once.

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

The algorithm sorts once per element and level: values are ranked once, and the ranks
are sorted together with the cell index as one integer key, so each cell's values end up
contiguous and ordered; quantiles are then read off by position (numpy's default
"linear" method, Hyndman & Fan type 7).

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

__all__ = ["PERCENTILES", "STATISTICS", "RankedValues", "cell_stats", "factorize", "sorted_groups"]

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


def factorize(groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sorted unique groups, index of each element's group), by hashing, not sorting."""
    codes, uniques = pd.factorize(groups, sort=False)
    uniques = np.asarray(uniques)
    perm = np.argsort(uniques, kind="stable")
    remap = np.empty(len(perm), dtype=np.int64)
    remap[perm] = np.arange(len(perm), dtype=np.int64)
    return uniques[perm], remap[codes]


def sorted_groups(
    groups: np.ndarray, values: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sort ``values`` by group, then by value, with one integer sort.

    Returns ``(unique_groups, starts, counts, order)``: ``values[order]`` is grouped and
    ascending within each group; group ``i`` occupies ``starts[i]:starts[i] + counts[i]``.

    Examples
    --------
    >>> g, s, c, o = sorted_groups(np.array([2, 1, 2]), np.array([9.0, 4.0, 3.0]))
    >>> g.tolist(), s.tolist(), c.tolist(), np.array([9.0, 4.0, 3.0])[o].tolist()
    ([1, 2], [0, 1], [1, 2], [4.0, 3.0, 9.0])
    """
    ranked = RankedValues(values, np.zeros(len(values), dtype=bool))
    unique, gidx = factorize(np.asarray(groups))
    starts, counts, order = ranked.group_order(gidx, len(unique))
    return unique, starts, counts, order


class RankedValues:
    """One element's values, ranked once and reused for every grid level."""

    def __init__(self, values: np.ndarray, censored: np.ndarray) -> None:
        self.values = np.asarray(values, dtype=np.float64)
        self.censored = np.asarray(censored, dtype=bool)
        n = len(self.values)
        # any order of equal values gives the same statistics: no need for a stable sort
        self.by_value = np.argsort(self.values)
        self.rank = np.empty(n, dtype=np.int64)
        self.rank[self.by_value] = np.arange(n, dtype=np.int64)
        with np.errstate(divide="ignore", invalid="ignore"):
            self.logs = np.log10(np.where(self.values > 0, self.values, np.nan))

    def group_order(
        self, gidx: np.ndarray, n_groups: int, prior: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(starts, counts, order) with ``values[order]`` grouped, ascending in a group.

        ``prior`` is an optional earlier ``order`` for groups nested in these (a finer grid
        level): each group then arrives as a few ascending runs, which a stable (merge)
        sort joins in far less time than sorting from scratch. The result is the same.
        """
        n = len(self.values)
        if prior is None:
            key = gidx.astype(np.int64) * n + self.rank
            key.sort()
        else:
            key = gidx[prior].astype(np.int64) * n + self.rank[prior]
            key.sort(kind="stable")
        order = self.by_value[key % n] if n else key
        counts = np.bincount(gidx, minlength=n_groups).astype(np.int64)
        starts = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64)
        return starts, counts, order

    def stats(self, cells: np.ndarray) -> pd.DataFrame:
        """The statistics of :data:`STATISTICS` for every distinct key in ``cells``."""
        unique, gidx = factorize(np.asarray(cells))
        stats = self.grouped_stats(unique, gidx)
        return pd.DataFrame({k: stats[k] for k in ("cell", *STATISTICS)})

    def grouped_stats(
        self, groups: np.ndarray, gidx: np.ndarray, prior: np.ndarray | None = None
    ) -> dict[str, np.ndarray]:
        """Statistics per group, given each value's group index into ``groups``.

        Groups without values are left out. Factorising cell keys once per level and
        dataset (not per element) is the caller's saving. ``prior``: see
        :meth:`group_order`; the order used is returned under ``"_order"``.
        """
        g = len(groups)
        starts, counts, order = self.group_order(gidx, g, prior)
        has = counts > 0
        if not has.all():
            keep = np.flatnonzero(has)
            remap = np.full(g, -1, dtype=np.int64)
            remap[keep] = np.arange(len(keep))
            groups, gidx, g = groups[keep], remap[gidx], len(keep)
            starts, counts = starts[keep], counts[keep]
        v = self.values[order]
        cen = self.censored[order]
        out: dict[str, np.ndarray] = {"cell": groups, "n": counts}
        out["n_censored"] = np.bincount(gidx, weights=self.censored, minlength=g).astype(np.int64)
        dl = np.full(g, np.nan)
        if cen.any() and g:
            dl = np.maximum.reduceat(np.where(cen, v, -np.inf), starts)
            dl[~np.isfinite(dl)] = np.nan
        out["dl_max"] = dl
        out["min"] = v[starts]
        for p, name in PERCENTILES.items():
            out[name] = _quantile(v, starts, counts, p / 100)
        out["max"] = v[starts + counts - 1]
        out["mad"] = _mad(v, starts, counts, out["median"])
        good = np.isfinite(self.logs)
        gg = gidx[good]
        n_log = np.bincount(gg, minlength=g).astype(np.float64)
        s1 = np.bincount(gg, weights=self.logs[good], minlength=g)
        mean_log = np.divide(s1, n_log, out=np.full(g, np.nan), where=n_log > 0)
        dev2 = np.bincount(gg, weights=(self.logs[good] - mean_log[gg]) ** 2, minlength=g)
        out["gmean"] = np.where(n_log > 0, 10.0**mean_log, np.nan)
        out["log10_sd"] = np.sqrt(
            np.divide(dev2, n_log - 1, out=np.full(g, np.nan), where=n_log > 1)
        )
        out["_order"] = order
        return out


def _quantile(
    sorted_values: np.ndarray, starts: np.ndarray, counts: np.ndarray, q: float
) -> np.ndarray:
    """Type-7 quantile of every group of an already grouped-and-sorted array."""
    h = (counts - 1) * q
    lo = np.floor(h).astype(np.int64)
    hi = np.minimum(lo + 1, counts - 1)
    frac = h - lo
    a = sorted_values[starts + lo]
    b = sorted_values[starts + hi]
    return np.asarray(a + (b - a) * frac, dtype=np.float64)


def cell_stats(cells: np.ndarray, values: np.ndarray, censored: np.ndarray) -> pd.DataFrame:
    """Robust statistics of ``values`` for every distinct key in ``cells``.

    Parameters
    ----------
    cells : ndarray of int64
        The cell key of each value (see :mod:`chemearth.grid.geometry`).
    values : ndarray of float
        Values in the canonical unit; censored values at their detection limit.
    censored : ndarray of bool
        True where the value is below the detection limit.

    Returns
    -------
    pandas.DataFrame
        One row per cell: ``cell`` and the columns of :data:`STATISTICS`.
        ``dl_max`` is NaN where the cell has no censored value.
    """
    values = np.asarray(values, dtype=np.float64)
    ok = np.isfinite(values)
    ranked = RankedValues(values[ok], np.asarray(censored, dtype=bool)[ok])
    return ranked.stats(np.asarray(cells)[ok])


def _mad(v: np.ndarray, starts: np.ndarray, counts: np.ndarray, median: np.ndarray) -> np.ndarray:
    """Median absolute deviation from each group's median (unscaled), by selection.

    Within a group sorted ascending, the deviations left of the median fall and those to
    its right rise: two sorted runs. The k-th smallest deviation is found for all groups
    at once by a vectorised binary search over how many come from the left run.
    """
    g = len(counts)
    # left run: values < median, read from the median outwards; right run: values >= median
    n_left = _count_below(v, starts, counts, median)
    n_right = counts - n_left
    k_lo = (counts - 1) // 2  # type-7 median of the deviations: ranks k_lo and k_lo + 1
    a = _kth(v, starts, n_left, n_right, median, k_lo)
    b = _kth(v, starts, n_left, n_right, median, np.minimum(k_lo + 1, counts - 1))
    odd = (counts - 1) % 2 == 0
    out = np.where(odd, a, (a + b) / 2)
    return out if g else np.empty(0)


def _count_below(
    v: np.ndarray, starts: np.ndarray, counts: np.ndarray, median: np.ndarray
) -> np.ndarray:
    """How many values of each sorted group are below its median (vectorised search)."""
    lo = np.zeros(len(counts), dtype=np.int64)
    hi = counts.copy()
    while True:
        active = lo < hi
        if not active.any():
            return lo
        mid = (lo + hi) // 2
        below = np.zeros(len(counts), dtype=bool)
        idx = np.flatnonzero(active)
        below[idx] = v[starts[idx] + mid[idx]] < median[idx]
        lo = np.where(active & below, mid + 1, lo)
        hi = np.where(active & ~below, mid, hi)


def _kth(
    v: np.ndarray,
    starts: np.ndarray,
    n_left: np.ndarray,
    n_right: np.ndarray,
    median: np.ndarray,
    k: np.ndarray,
) -> np.ndarray:
    """k-th smallest (0-based) of the merged deviation runs of every group."""

    def left(i: np.ndarray) -> np.ndarray:  # i-th smallest left deviation
        return np.asarray(median - v[starts + n_left - 1 - i], dtype=np.float64)

    def right(j: np.ndarray) -> np.ndarray:  # j-th smallest right deviation
        return np.asarray(v[starts + n_left + j] - median, dtype=np.float64)

    # take i from the left run and k + 1 - i from the right run; search i
    lo = np.maximum(0, k + 1 - n_right)
    hi = np.minimum(k + 1, n_left)
    while True:
        active = lo < hi
        if not active.any():
            break
        i = (lo + hi) // 2
        # is the i-th left deviation smaller than the (k - i)-th right one? then take more left
        j = k - i
        safe_i = np.clip(i, 0, np.maximum(n_left - 1, 0))
        safe_j = np.clip(j, 0, np.maximum(n_right - 1, 0))
        take_more = (
            active & (j >= 0) & (j < n_right) & (i < n_left) & (left(safe_i) < right(safe_j))
        )
        take_more |= active & (j >= n_right)
        lo = np.where(take_more, i + 1, lo)
        hi = np.where(active & ~take_more, i, hi)
    i = lo  # number taken from the left run; the k-th is the larger of the two last taken
    j = k + 1 - i
    li = np.where(i > 0, left(np.clip(i - 1, 0, np.maximum(n_left - 1, 0))), -np.inf)
    rj = np.where(j > 0, right(np.clip(j - 1, 0, np.maximum(n_right - 1, 0))), -np.inf)
    return np.maximum(li, rj)
