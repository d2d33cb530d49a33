"""Compiled kernels of the grid statistics: a counting sort by cell, then one sweep per cell.

The input is one element's values in ascending order, with their censored flags, their
log10 (NaN where a value is not positive) and a cell index per value. :func:`cell_statistics`
groups the values by cell with a stable counting sort, so each cell's values stay in
ascending order, and reads every statistic of a cell off its contiguous, sorted run:

* ``n``, ``n_censored`` and ``dl_max`` (the largest censored value) by counting;
* ``min``, the quantiles and ``max`` by position (Hyndman & Fan type 7, numpy's default
  ``"linear"`` method, computed as ``a + (b - a) * frac``);
* the MAD (unscaled median absolute deviation) by merging the two runs of deviations on
  either side of the median, which are already ordered, up to the middle one;
* the geometric mean and SD of log10 values from Neumaier-compensated sums of the
  finite logs (two passes over the cell's run: mean, then squared deviations).

The kernels are compiled by numba on first use (and cached on disk) and release the GIL,
so several elements are computed at once on threads. ``docs/grids.md`` describes how
:mod:`chemearth.grid.tables` feeds them every level of a grid.

Examples
--------
>>> import numpy as np
>>> values = np.array([1.0, 2.0, 3.0, 5.0])  # ascending
>>> cells = np.array([0, 0, 0, 1])
>>> groups, counts, stats = cell_statistics(
...     values, np.zeros(4, bool), np.log10(values), cells, np.empty(0, np.int64), 2,
...     np.array([0.5]), 0)
>>> groups.tolist(), counts[0].tolist(), stats[2].tolist()  # row 2: the first quantile
([0, 1], [3, 1], [2.0, 5.0])
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

__all__ = ["FLOAT_ROWS_AFTER_QUANTILES", "FLOAT_ROWS_BEFORE_QUANTILES", "cell_statistics"]

#: Float rows of :func:`cell_statistics` before the quantiles: ``dl_max``, ``min``.
FLOAT_ROWS_BEFORE_QUANTILES = 2
#: Float rows after the quantiles: ``max``, ``mad``, ``gmean``, ``log10_sd``.
FLOAT_ROWS_AFTER_QUANTILES = 4


@njit(cache=True, nogil=True)
def _group(
    values: NDArray[np.float64],
    censored: NDArray[np.bool_],
    logs: NDArray[np.float64],
    cells: NDArray[np.int64],
    lookup: NDArray[np.int64],
    n_groups: int,
) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.bool_], NDArray[np.float64]]:
    """Stable counting sort by cell: (bounds, values, censored, logs), grouped.

    Group ``g`` occupies ``bounds[g]:bounds[g + 1]`` of the grouped arrays, in the input
    order (ascending values stay ascending). The cell of value ``i`` is ``cells[i]``, or
    ``lookup[cells[i]]`` when ``lookup`` is not empty.
    """
    n = values.size
    direct = lookup.size == 0
    bounds = np.zeros(n_groups + 1, dtype=np.int64)
    for i in range(n):
        if direct:
            g = cells[i]
        elif 0 <= cells[i] < lookup.size:
            g = lookup[cells[i]]
        else:
            raise IndexError("cell index out of range of the lookup")
        if not 0 <= g < n_groups:
            raise IndexError("cell index out of range of the groups")
        bounds[g + 1] += 1
    for g in range(n_groups):
        bounds[g + 1] += bounds[g]
    fill = bounds[:-1].copy()
    v = np.empty(n, dtype=np.float64)
    cen = np.empty(n, dtype=np.bool_)
    lg = np.empty(n, dtype=np.float64)
    for i in range(n):
        g = cells[i] if direct else lookup[cells[i]]
        k = fill[g]
        fill[g] = k + 1
        v[k] = values[i]
        cen[k] = censored[i]
        lg[k] = logs[i]
    return bounds, v, cen, lg


@njit(cache=True, nogil=True, inline="always")
def _add(total: float, compensation: float, x: float) -> tuple[float, float]:
    """One step of Neumaier's compensated sum: the new (total, compensation)."""
    t = total + x
    if abs(total) >= abs(x):
        compensation += (total - t) + x
    else:
        compensation += (x - t) + total
    return t, compensation


@njit(cache=True, nogil=True)
def _mad(v: NDArray[np.float64], start: int, stop: int, median: float) -> float:
    """Median absolute deviation (unscaled) of the ascending run ``v[start:stop]``.

    The deviations left of the median rise from the median outwards, those right of it
    rise with the values: two ordered runs, merged up to the middle deviation(s). An even
    count takes ``(a + b) / 2`` of the two middle deviations.
    """
    c = stop - start
    lo, hi = 0, c
    while lo < hi:  # how many values lie below the median
        mid = (lo + hi) // 2
        if v[start + mid] < median:
            lo = mid + 1
        else:
            hi = mid
    n_left = lo
    n_right = c - n_left
    k_lo = (c - 1) // 2
    k_hi = min(k_lo + 1, c - 1)
    i = j = 0
    a = b = 0.0
    for t in range(k_hi + 1):
        if i < n_left and (
            j >= n_right or median - v[start + n_left - 1 - i] < v[start + n_left + j] - median
        ):
            d = median - v[start + n_left - 1 - i]
            i += 1
        else:
            d = v[start + n_left + j] - median
            j += 1
        if t == k_lo:
            a = d
        if t == k_hi:
            b = d
    return a if (c - 1) % 2 == 0 else (a + b) / 2


@njit(cache=True, nogil=True)
def _sweep(
    v: NDArray[np.float64],
    cen: NDArray[np.bool_],
    logs: NDArray[np.float64],
    start: int,
    stop: int,
    quantiles: NDArray[np.float64],
    median_at: int,
    counts: NDArray[np.int64],
    stats: NDArray[np.float64],
    col: int,
) -> None:
    """Every statistic of the ascending run ``start:stop``, into column ``col``."""
    c = stop - start
    n_cen = 0
    dl = -np.inf
    for k in range(start, stop):
        if cen[k]:
            n_cen += 1
            dl = max(dl, v[k])
    counts[0, col] = c
    counts[1, col] = n_cen
    stats[0, col] = dl if n_cen > 0 else np.nan
    stats[1, col] = v[start]
    nq = quantiles.size
    for qi in range(nq):
        h = (c - 1) * quantiles[qi]
        lo = int(np.floor(h))
        hi = min(lo + 1, c - 1)
        frac = h - lo
        a = v[start + lo]
        b = v[start + hi]
        stats[2 + qi, col] = a + (b - a) * frac
    median = stats[2 + median_at, col]
    stats[2 + nq, col] = v[stop - 1]
    stats[3 + nq, col] = _mad(v, start, stop, median)
    n_log = 0
    s, comp = 0.0, 0.0
    for k in range(start, stop):
        if np.isfinite(logs[k]):
            n_log += 1
            s, comp = _add(s, comp, logs[k])
    mean = (s + comp) / n_log if n_log > 0 else np.nan
    s, comp = 0.0, 0.0
    if n_log > 1:
        for k in range(start, stop):
            if np.isfinite(logs[k]):
                d = logs[k] - mean
                s, comp = _add(s, comp, d * d)
    stats[4 + nq, col] = 10.0**mean if n_log > 0 else np.nan
    stats[5 + nq, col] = np.sqrt((s + comp) / (n_log - 1)) if n_log > 1 else np.nan


@njit(cache=True, nogil=True)
def cell_statistics(
    values: NDArray[np.float64],
    censored: NDArray[np.bool_],
    logs: NDArray[np.float64],
    cells: NDArray[np.int64],
    lookup: NDArray[np.int64],
    n_groups: int,
    quantiles: NDArray[np.float64],
    median_at: int,
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """All statistics of every cell holding values, from values in ascending order.

    Parameters
    ----------
    values : ndarray of float64
        Finite values in ascending order (censored ones at their detection limit).
    censored : ndarray of bool
        True where a value is below its detection limit.
    logs : ndarray of float64
        ``log10(values)``, NaN where a value is not positive (left out of the log
        moments).
    cells : ndarray of int64
        The cell index of each value, in ``[0, n_groups)``, or an index into ``lookup``.
    lookup : ndarray of int64
        Empty, or the cell index of each value of ``cells`` (e.g. the parent of each fine
        cell), so a coarser level needs no array of its own per value.
    n_groups : int
        The number of cells (an upper bound of the indexes).
    quantiles : ndarray of float64
        Probabilities in ``[0, 1]`` (type-7 quantiles).
    median_at : int
        The position of 0.5 in ``quantiles``: the MAD is taken about that quantile.

    Returns
    -------
    groups : ndarray of int64
        The indexes of the cells holding values, ascending.
    counts : ndarray of int64, shape (2, len(groups))
        ``n`` and ``n_censored`` per cell.
    stats : ndarray of float64, shape (len(quantiles) + 6, len(groups))
        Per cell: ``dl_max`` (NaN without censored values), ``min``, the quantiles,
        ``max``, ``mad``, ``gmean`` and ``log10_sd`` (NaN without positive values, or
        with fewer than two for the SD).

    Examples
    --------
    >>> import numpy as np
    >>> v = np.array([0.5, 1.0, 2.0, 4.0])
    >>> g, c, s = cell_statistics(v, np.array([True, False, False, False]), np.log10(v),
    ...                           np.zeros(4, np.int64), np.empty(0, np.int64), 1,
    ...                           np.array([0.25, 0.5]), 1)
    >>> c[:, 0].tolist(), s[:, 0].tolist()
    ([4, 1], [0.5, 0.5, 0.875, 1.5, 4.0, 0.75, 1.4142135623730951, 0.38862805330516337])
    """
    bounds, v, cen, lg = _group(values, censored, logs, cells, lookup, n_groups)
    present = 0
    for g in range(n_groups):
        if bounds[g + 1] > bounds[g]:
            present += 1
    groups = np.empty(present, dtype=np.int64)
    counts = np.empty((2, present), dtype=np.int64)
    stats = np.empty((quantiles.size + 6, present), dtype=np.float64)
    col = 0
    for g in range(n_groups):
        if bounds[g + 1] == bounds[g]:
            continue
        groups[col] = g
        _sweep(v, cen, lg, bounds[g], bounds[g + 1], quantiles, median_at, counts, stats, col)
        col += 1
    return groups, counts, stats
