"""Compiled kernels of the grid statistics: a counting sort by cell, then one sweep per cell.

The input is one element's values in ascending order, with their censored flags, their
log10 (NaN where a value is not positive) and a cell index per value. :func:`cell_statistics`
groups the values by cell with a stable counting sort, so each cell's values stay in
ascending order, and reads every statistic of a cell off its contiguous, sorted run:

* ``n``, ``n_censored`` and ``dl_max`` (the largest censored value) by counting;
* ``min``, the quantiles and ``max`` by position (Hyndman & Fan type 7, numpy's default
  ``"linear"`` method, computed as ``a + (b - a) * frac``);
* the MAD (unscaled median absolute deviation) as the middle element of the two runs of
  deviations on either side of the median, which are already ordered, found by bisection;
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
>>> groups, counts, stats, moments = cell_statistics(
...     values, np.zeros(4, bool), np.log10(values), cells, np.empty(0, np.int64), 2,
...     np.array([0.5]), 0)
>>> groups.tolist(), counts[0].tolist(), stats[2].tolist()  # row 2: the first quantile
([0, 1], [3, 1], [2.0, 5.0])
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

__all__ = [
    "FLOAT_ROWS_AFTER_QUANTILES",
    "FLOAT_ROWS_BEFORE_QUANTILES",
    "cell_statistics",
    "nested_statistics",
]

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
    rise with the values: two ordered runs, in which the middle deviation(s) are found
    by bisection (:func:`_kth_deviation`), in O(log n) steps. An even count takes
    ``(a + b) / 2`` of the two middle deviations.
    """
    c = stop - start
    lo, hi = 0, c
    while lo < hi:  # how many values lie below the median
        mid = (lo + hi) // 2
        if v[start + mid] < median:
            lo = mid + 1
        else:
            hi = mid
    k_lo = (c - 1) // 2
    a = _kth_deviation(v, start, lo, c - lo, median, k_lo)
    if (c - 1) % 2 == 0:
        return a
    return (a + _kth_deviation(v, start, lo, c - lo, median, min(k_lo + 1, c - 1))) / 2


@njit(cache=True, nogil=True, inline="always")
def _kth_deviation(
    v: NDArray[np.float64], start: int, n_left: int, n_right: int, median: float, k: int
) -> float:
    """The ``k``-th smallest (from 0) absolute deviation from ``median`` of the run.

    Left deviations ``A[i] = median - v[start + n_left - 1 - i]`` and right ones
    ``B[j] = v[start + n_left + j] - median`` both ascend: the ``k + 1`` smallest are the
    first ``i`` of ``A`` and ``k + 1 - i`` of ``B`` for the ``i`` at which ``A[i]`` is no
    longer below ``B[k - i]``, found by bisection (the classic k-th element of two sorted
    arrays); the deviations are the same floating-point expressions as a merge's.
    """
    t = k + 1
    lo = max(0, t - n_right)
    hi = min(t, n_left)
    while lo < hi:
        i = (lo + hi) // 2  # take i from A, t - i (at least 1) from B
        if median - v[start + n_left - 1 - i] < v[start + n_left + t - i - 1] - median:
            lo = i + 1
        else:
            hi = i
    i = lo
    j = t - i
    a = median - v[start + n_left - i] if i > 0 else -np.inf
    b = v[start + n_left + j - 1] - median if j > 0 else -np.inf
    return max(a, b)


@njit(cache=True, nogil=True)
def _order_statistics(
    v: NDArray[np.float64],
    start: int,
    stop: int,
    quantiles: NDArray[np.float64],
    median_at: int,
    stats: NDArray[np.float64],
    col: int,
) -> None:
    """``min``, the quantiles, ``max`` and ``mad`` of the ascending run ``start:stop``."""
    c = stop - start
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


@njit(cache=True, nogil=True)
def _log_statistics(
    n_log: float, mean: float, m2: float, nq: int, stats: NDArray[np.float64], col: int
) -> None:
    """``gmean`` and ``log10_sd`` from the count, mean and squared deviations of logs."""
    stats[4 + nq, col] = 10.0**mean if n_log > 0 else np.nan
    stats[5 + nq, col] = np.sqrt(m2 / (n_log - 1)) if n_log > 1 else np.nan


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
    moments: NDArray[np.float64],
    col: int,
) -> None:
    """Every statistic of the ascending run ``start:stop``, into column ``col``."""
    c = stop - start
    n_cen = 0
    dl = -np.inf
    n_log = 0
    s, comp = 0.0, 0.0
    for k in range(start, stop):  # counts, the largest limit and the sum of the logs
        if cen[k]:
            n_cen += 1
            dl = max(dl, v[k])
        if np.isfinite(logs[k]):
            n_log += 1
            s, comp = _add(s, comp, logs[k])
    counts[0, col] = c
    counts[1, col] = n_cen
    stats[0, col] = dl if n_cen > 0 else np.nan
    _order_statistics(v, start, stop, quantiles, median_at, stats, col)
    mean = (s + comp) / n_log if n_log > 0 else np.nan
    s, comp = 0.0, 0.0
    if n_log > 1:
        for k in range(start, stop):
            if np.isfinite(logs[k]):
                d = logs[k] - mean
                s, comp = _add(s, comp, d * d)
    moments[0, col] = n_log
    moments[1, col] = mean
    moments[2, col] = s + comp
    _log_statistics(n_log, mean, s + comp, quantiles.size, stats, col)


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
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]]:
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
    moments : ndarray of float64, shape (3, len(groups))
        The count of positive values, the mean of their log10 and the sum of squared
        deviations from it: what :func:`nested_statistics` merges into coarser cells.

    Examples
    --------
    >>> import numpy as np
    >>> v = np.array([0.5, 1.0, 2.0, 4.0])
    >>> g, c, s, m = cell_statistics(v, np.array([True, False, False, False]), np.log10(v),
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
    moments = np.empty((3, present), dtype=np.float64)
    col = 0
    for g in range(n_groups):
        if bounds[g + 1] == bounds[g]:
            continue
        groups[col] = g
        _sweep(v, cen, lg, bounds[g], bounds[g + 1], quantiles, median_at, counts, stats,
               moments, col)
        col += 1
    return groups, counts, stats, moments


@njit(cache=True, nogil=True)
def _merge_fine(
    lookup: NDArray[np.int64],
    n_groups: int,
    fine_groups: NDArray[np.int64],
    fine_counts: NDArray[np.int64],
    fine_dl: NDArray[np.float64],
    fine_moments: NDArray[np.float64],
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64], NDArray[np.float64],
           NDArray[np.float64], NDArray[np.float64]]:
    """Counts, ``dl_max`` and log moments of the coarse cells, merged from the fine ones:
    ``(n, n_censored, dl_max, n_log, mean, M2)`` per coarse cell."""
    n = np.zeros(n_groups, dtype=np.int64)
    n_cen = np.zeros(n_groups, dtype=np.int64)
    dl = np.full(n_groups, -np.inf)
    n_log = np.zeros(n_groups, dtype=np.float64)
    total = np.zeros(n_groups, dtype=np.float64)
    comp = np.zeros(n_groups, dtype=np.float64)
    for k in range(fine_groups.size):
        f = fine_groups[k]
        if not 0 <= f < lookup.size:
            raise IndexError("fine cell out of range of the lookup")
        g = lookup[f]
        if not 0 <= g < n_groups:
            raise IndexError("cell index out of range of the groups")
        n[g] += fine_counts[0, k]
        n_cen[g] += fine_counts[1, k]
        if fine_counts[1, k] > 0 and fine_dl[k] > dl[g]:
            dl[g] = fine_dl[k]
        m = fine_moments[0, k]
        if m > 0:
            n_log[g] += m
            total[g], comp[g] = _add(total[g], comp[g], m * fine_moments[1, k])
    mean = np.full(n_groups, np.nan)
    for g in range(n_groups):
        if n_log[g] > 0:
            mean[g] = (total[g] + comp[g]) / n_log[g]
        total[g] = 0.0
        comp[g] = 0.0
    for k in range(fine_groups.size):
        m = fine_moments[0, k]
        if m > 0:
            g = lookup[fine_groups[k]]
            d = fine_moments[1, k] - mean[g]
            total[g], comp[g] = _add(total[g], comp[g], fine_moments[2, k])
            total[g], comp[g] = _add(total[g], comp[g], m * d * d)
    return n, n_cen, dl, n_log, mean, total + comp


@njit(cache=True, nogil=True)
def nested_statistics(
    values: NDArray[np.float64],
    cells: NDArray[np.int64],
    lookup: NDArray[np.int64],
    n_groups: int,
    quantiles: NDArray[np.float64],
    median_at: int,
    fine_groups: NDArray[np.int64],
    fine_counts: NDArray[np.int64],
    fine_dl: NDArray[np.float64],
    fine_moments: NDArray[np.float64],
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]]:
    """:func:`cell_statistics` of a coarser level from a finer level's results.

    ``cells`` gives the fine cell of each value (the same array the fine level was
    computed from) and ``lookup`` the coarse cell of each fine cell. ``n``,
    ``n_censored`` and ``dl_max`` add up (or take the largest) over the fine cells; the
    log moments are merged by Chan, Golub & LeVeque's formula (``M2 = sum(M2_i +
    n_i (mean_i - mean)^2)``) with compensated sums, so only the values themselves are
    regrouped, for the order statistics. ``fine_*`` are the ``groups``, ``counts``,
    ``dl_max`` row and ``moments`` of the fine level's :func:`cell_statistics`.

    Examples
    --------
    >>> import numpy as np
    >>> v = np.array([1.0, 2.0, 4.0, 8.0]); cells = np.array([0, 1, 0, 1])
    >>> q = np.array([0.5])
    >>> fine = cell_statistics(v, np.zeros(4, bool), np.log10(v), cells,
    ...                        np.empty(0, np.int64), 2, q, 0)
    >>> g, c, s, m = nested_statistics(v, cells, np.array([0, 0]), 1, q, 0, fine[0],
    ...                                fine[1], fine[2][0], fine[3])
    >>> c[:, 0].tolist(), float(s[2, 0]), round(float(s[5, 0]), 12)  # n, median, gmean
    ([4, 0], 3.0, 2.828427124746)
    """
    n, n_cen, dl, n_log, mean, m2 = _merge_fine(
        lookup, n_groups, fine_groups, fine_counts, fine_dl, fine_moments)
    bounds = np.zeros(n_groups + 1, dtype=np.int64)
    present = 0
    for g in range(n_groups):
        bounds[g + 1] = bounds[g] + n[g]
        if n[g] > 0:
            present += 1
    if bounds[n_groups] != values.size:
        raise ValueError("the fine level's counts do not match the values")
    fill = bounds[:-1].copy()
    v = np.empty(values.size, dtype=np.float64)
    for i in range(values.size):  # a stable counting sort of the values alone
        g = lookup[cells[i]]
        j = fill[g]
        fill[g] = j + 1
        v[j] = values[i]
    groups = np.empty(present, dtype=np.int64)
    counts = np.empty((2, present), dtype=np.int64)
    stats = np.empty((quantiles.size + 6, present), dtype=np.float64)
    moments = np.empty((3, present), dtype=np.float64)
    col = 0
    for g in range(n_groups):
        if n[g] == 0:
            continue
        groups[col] = g
        counts[0, col] = n[g]
        counts[1, col] = n_cen[g]
        stats[0, col] = dl[g] if n_cen[g] > 0 else np.nan
        _order_statistics(v, bounds[g], bounds[g + 1], quantiles, median_at, stats, col)
        moments[0, col] = n_log[g]
        moments[1, col] = mean[g]
        moments[2, col] = m2[g]
        _log_statistics(n_log[g], mean[g], m2[g], quantiles.size, stats, col)
        col += 1
    return groups, counts, stats, moments
