"""Compiled ordinary-kriging kernel: the kriging systems of many targets built and solved
one by one in machine code, in parallel over the targets.

:func:`ordinary_kriging` takes, for each target (or each block of points sharing one
neighbourhood), the indices of its nearest samples (from a k-d tree searched by the caller)
and solves the ordinary kriging system

.. math::

    \\begin{pmatrix} C & 1 \\\\ 1^T & 0 \\end{pmatrix}
    \\begin{pmatrix} \\lambda \\\\ \\mu \\end{pmatrix} =
    \\begin{pmatrix} c \\\\ 1 \\end{pmatrix}

without ever forming it: ``C = L L^T`` (Cholesky) and the Lagrange row by its Schur
complement,

* ``a = L^-1 c``, ``b = L^-1 1``, ``w = L^-1 z`` (forward substitutions only),
* ``mu = (a.b - 1) / b.b`` and ``lambda = C^-1 c - mu C^-1 1 = L^-T (a - mu b)``,
* estimate ``z.lambda = w.a - mu w.b``,
* variance ``sigma^2 = C(0) - lambda.c - mu = C(0) - a.a + mu a.b - mu``,

so a target costs one ``k x k`` Cholesky (``k^3 / 6`` multiply-adds) and three triangular
solves, and the weights are never needed. Blocks of ``p`` points (block kriging) share the
factorisation; ``mean(lambda) . mean(c) = (a_bar - mu_bar b) . a_bar``.

When the Cholesky factorisation fails (``C`` not numerically positive definite, as with a
Gaussian model without nugget and close samples) the full bordered system is solved by
Gaussian elimination with partial pivoting; a system whose pivot vanishes (relative to the
matrix) is reported as singular (status :data:`SINGULAR`), which :func:`ordinary_kriging`
turns into :class:`InterpolationError`.

The covariance follows :class:`~chemearth.interp.variogram.Variogram` and the systems of
:mod:`chemearth.interp.kriging`: ``C(h) = psill * correlation(h)`` off the diagonal,
``sill * (1 + ridge)`` on it (a tiny ridge keeps zero-nugget systems with near-coincident
samples solvable) and the full sill for a target on a sample.

Threads: with ``workers > 1`` the kernel is parallel over the targets (numba ``prange``,
blocks of :data:`BLOCK` targets) on ``workers`` threads (``numba.set_num_threads`` for the
call, at most ``NUMBA_NUM_THREADS``); with ``workers=1`` a serial build runs, which never
starts numba's threading layer. Both release the GIL, so callers may also run serial calls
on threads of their own: :class:`~chemearth.interp.kriging.Interpolator` does, one batch of
targets per thread with its neighbour search, which keeps both cores busy when another
process takes one for a while (measured faster than ``prange`` on a loaded 2-core
machine, where a parallel region waits for its slowest thread).

Examples
--------
>>> import numpy as np
>>> sx = np.array([0.0, 100.0, 0.0, 100.0]); sy = np.array([0.0, 0.0, 100.0, 100.0])
>>> st = np.array([1.0, 2.0, 3.0, 4.0])
>>> idx = np.array([[0, 1, 2, 3], [0, 1, 2, 3]])
>>> r = ordinary_kriging(sx, sy, st, idx, np.array([[50.0], [0.0]]),
...                      np.array([[50.0], [0.0]]), "exponential", nugget=0.0,
...                      psill=1.0, range=200.0)
>>> r.estimate[:, 0].round(6).tolist(), bool(r.variance[1, 0] < 1e-9)
([2.5, 1.0], True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numba
import numpy as np
from numba import njit, prange
from numpy.typing import NDArray

from chemearth.errors import ChemearthError

__all__ = [
    "BLOCK",
    "CHOLESKY",
    "LU",
    "MODEL_CODES",
    "NO_NEIGHBOURS",
    "SINGULAR",
    "InterpolationError",
    "KernelResult",
    "ordinary_kriging",
]

#: Codes of the variogram models in the kernel.
MODEL_CODES: Final = {"spherical": 0, "exponential": 1, "gaussian": 2}
#: Status of a target: solved by Cholesky and Schur complement.
CHOLESKY: Final = 0
#: Status: Cholesky failed, solved by LU with partial pivoting.
LU: Final = 1
#: Status: the system is singular (estimate NaN).
SINGULAR: Final = 2
#: Status: no valid neighbour (estimate NaN).
NO_NEIGHBOURS: Final = 3
#: Targets per parallel task.
BLOCK: Final = 64

Floats = NDArray[np.float64]


class InterpolationError(ChemearthError, ValueError):
    """Samples that cannot be interpolated (too few, non-positive values for a log model,
    bad options, a singular kriging system). Raised by :mod:`chemearth.interp.kriging`
    too, which re-exports it; defined here, below it."""


#: Reassociation (vectorised dot products) and fused multiply-adds; no ``nnan``/``ninf``,
#: so the NaN and infinity tests of the kernel keep their meaning.
_FAST: Final = {"reassoc", "contract"}
_EPS: Final = 2.220446049250313e-16


@njit(cache=True, nogil=True, fastmath=_FAST)
def _correlation(h: float, model: int, rng: float) -> float:  # pragma: no cover - compiled
    """``1 - f(h / range)`` of the variogram models (see :mod:`.variogram`)."""
    t = h / rng
    if model == 0:
        if t >= 1.0:
            return 0.0
        return 1.0 - t * (1.5 - 0.5 * t * t)
    if model == 1:
        return math.exp(-t)
    return math.exp(-t * t)


@njit(cache=True, nogil=True, fastmath=_FAST)
def _cholesky(a: Floats, n: int) -> bool:  # pragma: no cover - compiled
    """Lower Cholesky factor of ``a[:n, :n]`` in place (lower triangle); False when a
    pivot is not clearly positive."""
    for j in range(n):
        s = a[j, j]
        for m in range(j):
            s -= a[j, m] * a[j, m]
        if not s > n * _EPS * a[j, j]:  # also catches NaN
            return False
        d = math.sqrt(s)
        a[j, j] = d
        for i in range(j + 1, n):
            s = a[i, j]
            for m in range(j):
                s -= a[i, m] * a[j, m]
            a[i, j] = s / d
    return True


@njit(cache=True, nogil=True, fastmath=_FAST)
def _forward(lo: Floats, n: int, b: Floats, out: Floats) -> None:  # pragma: no cover
    """``out[:n] = L^-1 b[:n]`` with ``L = lo[:n, :n]`` lower triangular."""
    for i in range(n):
        s = b[i]
        for m in range(i):
            s -= lo[i, m] * out[m]
        out[i] = s / lo[i, i]


@njit(cache=True, nogil=True, fastmath=_FAST)
def _pivot(a: Floats, n: int, j: int) -> tuple[int, float]:  # pragma: no cover - compiled
    """Row of the largest ``|a[i, j]|``, ``i >= j``, and that value."""
    p = j
    best = abs(a[j, j])
    for i in range(j + 1, n):
        v = abs(a[i, j])
        if v > best:
            best = v
            p = i
    return p, best


@njit(cache=True, nogil=True, fastmath=_FAST)
def _lu_solve(a: Floats, n: int, nrhs: int) -> bool:  # pragma: no cover - compiled
    """Solve ``a[:n, :n] X = a[:n, n:n + nrhs]`` in place by Gaussian elimination with
    partial pivoting; X replaces the right-hand sides. False when a pivot vanishes
    (below ``n * eps * max|a|``)."""
    scale = 0.0
    for i in range(n):
        for j in range(n):
            scale = max(scale, abs(a[i, j]))
    tol = n * _EPS * scale
    w = n + nrhs
    for j in range(n):
        p, best = _pivot(a, n, j)
        if not best > tol:
            return False
        if p != j:
            for c in range(j, w):
                t = a[j, c]
                a[j, c] = a[p, c]
                a[p, c] = t
        inv = 1.0 / a[j, j]
        for i in range(j + 1, n):
            f = a[i, j] * inv
            for c in range(j + 1, w):
                a[i, c] -= f * a[j, c]
    for col in range(n, w):
        for i in range(n - 1, -1, -1):
            s = a[i, col]
            for c in range(i + 1, n):
                s -= a[i, c] * a[c, col]
            a[i, col] = s / a[i, i]
    return True


@njit(cache=True, nogil=True, fastmath=_FAST)
def _solve_lu(px: Floats, py: Floats, pt: Floats, kk: int, c: Floats, qn: int,
              model: int, psill: float, sill: float, rng: float, ridge: float,
              big: Floats, out_e: Floats, out_v: Floats, out_m: Floats
              ) -> tuple[bool, float]:  # pragma: no cover - compiled
    """The bordered system of one neighbourhood by LU; returns (solved, lbar . cbar)."""
    n = kk + 1
    for i in range(kk):
        big[i, i] = sill * (1.0 + ridge)
        for j in range(i):
            dx = px[i] - px[j]
            dy = py[i] - py[j]
            v = psill * _correlation(math.sqrt(dx * dx + dy * dy), model, rng)
            big[i, j] = v
            big[j, i] = v
        big[i, kk] = 1.0
        big[kk, i] = 1.0
    big[kk, kk] = 0.0
    for q in range(qn):
        for i in range(kk):
            big[i, n + q] = c[q, i]
        big[kk, n + q] = 1.0
    if not _lu_solve(big, n, qn):
        return False, math.nan
    lbar_cbar = 0.0
    for i in range(kk):
        lb = 0.0
        cb = 0.0
        for q in range(qn):
            lb += big[i, n + q]
            cb += c[q, i]
        lbar_cbar += (lb / qn) * (cb / qn)
    for q in range(qn):
        e = 0.0
        lc = 0.0
        for i in range(kk):
            lam = big[i, n + q]
            e += lam * pt[i]
            lc += lam * c[q, i]
        mu = big[kk, n + q]
        out_e[q] = e
        out_v[q] = max(sill - lc - mu, 0.0)
        out_m[q] = mu
    return True, lbar_cbar


@njit(cache=True, nogil=True, fastmath=_FAST)
def _solve_cholesky(lo: Floats, kk: int, pt: Floats, c: Floats, qn: int, sill: float,
                    ones: Floats, b: Floats, w: Floats, a: Floats, abar: Floats,
                    out_e: Floats, out_v: Floats, out_m: Floats
                    ) -> float:  # pragma: no cover - compiled
    """Schur-complement solution with the Cholesky factor ``lo``; returns lbar . cbar."""
    _forward(lo, kk, ones, b)
    _forward(lo, kk, pt, w)
    bb = 0.0
    wb = 0.0
    for i in range(kk):
        bb += b[i] * b[i]
        wb += w[i] * b[i]
        abar[i] = 0.0
    mubar = 0.0
    for q in range(qn):
        _forward(lo, kk, c[q], a)
        ab = 0.0
        aa = 0.0
        wa = 0.0
        for i in range(kk):
            ab += a[i] * b[i]
            aa += a[i] * a[i]
            wa += w[i] * a[i]
            abar[i] += a[i]
        mu = (ab - 1.0) / bb
        out_e[q] = wa - mu * wb
        out_v[q] = max(sill - (aa - mu * ab) - mu, 0.0)
        out_m[q] = mu
        mubar += mu
    mubar /= qn
    lbar_cbar = 0.0
    for i in range(kk):
        ai = abar[i] / qn
        lbar_cbar += (ai - mubar * b[i]) * ai
    return lbar_cbar


@njit(cache=True, nogil=True, fastmath=_FAST)
def _unsolved(t: int, qn: int, est: Floats, var: Floats, mu: Floats,
              lbc: Floats) -> None:  # pragma: no cover - compiled
    for q in range(qn):
        est[t, q] = math.nan
        var[t, q] = math.nan
        mu[t, q] = math.nan
    lbc[t] = math.nan


@njit(cache=True, nogil=True, fastmath=_FAST)
def _targets(first: int, last: int, sx: Floats, sy: Floats, st: Floats,
             idx: NDArray[np.int64], qx: Floats, qy: Floats, model: int, psill: float,
             sill: float, rng: float, ridge: float, est: Floats, var: Floats, mu: Floats,
             lbc: Floats, status: NDArray[np.int8]) -> None:  # pragma: no cover - compiled
    """Solve targets ``first`` to ``last - 1`` (scratch space allocated once)."""
    k = idx.shape[1]
    qn = qx.shape[1]
    n = sx.size
    lo = np.empty((k, k))
    big = np.empty((k + 1, k + 1 + qn))
    c = np.empty((qn, k))
    px = np.empty(k)
    py = np.empty(k)
    pt = np.empty(k)
    ones = np.ones(k)
    b = np.empty(k)
    w = np.empty(k)
    a = np.empty(k)
    abar = np.empty(k)
    for t in range(first, last):
        kk = 0
        for j in range(k):
            s = idx[t, j]
            if s >= 0 and s < n:
                px[kk] = sx[s]
                py[kk] = sy[s]
                pt[kk] = st[s]
                kk += 1
        if kk == 0:
            status[t] = NO_NEIGHBOURS
            _unsolved(t, qn, est, var, mu, lbc)
            continue
        for i in range(kk):
            lo[i, i] = sill * (1.0 + ridge)
            for j in range(i):
                dx = px[i] - px[j]
                dy = py[i] - py[j]
                lo[i, j] = psill * _correlation(math.sqrt(dx * dx + dy * dy), model, rng)
        for q in range(qn):
            for i in range(kk):
                dx = px[i] - qx[t, q]
                dy = py[i] - qy[t, q]
                h = math.sqrt(dx * dx + dy * dy)
                # a target on a sample: the full sill (exact interpolator)
                c[q, i] = sill if h == 0.0 else psill * _correlation(h, model, rng)
        if _cholesky(lo, kk):
            status[t] = CHOLESKY
            lbc[t] = _solve_cholesky(lo, kk, pt, c, qn, sill, ones, b, w, a, abar,
                                     est[t], var[t], mu[t])
            continue
        ok, lbar_cbar = _solve_lu(px, py, pt, kk, c, qn, model, psill, sill, rng, ridge,
                                  big, est[t], var[t], mu[t])
        if ok:
            status[t] = LU
            lbc[t] = lbar_cbar
        else:
            status[t] = SINGULAR
            _unsolved(t, qn, est, var, mu, lbc)


@njit(parallel=True, cache=True, nogil=True, fastmath=_FAST)
def _kernel_parallel(sx: Floats, sy: Floats, st: Floats, idx: NDArray[np.int64],
                     qx: Floats, qy: Floats, model: int, psill: float, sill: float,
                     rng: float, ridge: float, est: Floats, var: Floats, mu: Floats,
                     lbc: Floats, status: NDArray[np.int8]) -> None:  # pragma: no cover
    m = idx.shape[0]
    for blk in prange((m + BLOCK - 1) // BLOCK):
        _targets(blk * BLOCK, min(m, (blk + 1) * BLOCK), sx, sy, st, idx, qx, qy, model,
                 psill, sill, rng, ridge, est, var, mu, lbc, status)


@njit(cache=True, nogil=True, fastmath=_FAST)
def _kernel_serial(sx: Floats, sy: Floats, st: Floats, idx: NDArray[np.int64],
                   qx: Floats, qy: Floats, model: int, psill: float, sill: float,
                   rng: float, ridge: float, est: Floats, var: Floats, mu: Floats,
                   lbc: Floats, status: NDArray[np.int8]) -> None:  # pragma: no cover
    _targets(0, idx.shape[0], sx, sy, st, idx, qx, qy, model, psill, sill, rng, ridge,
             est, var, mu, lbc, status)


def _max_threads() -> int:
    """Threads numba may use (``NUMBA_NUM_THREADS``, by default the CPUs)."""
    return int(numba.config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class KernelResult:
    """Solutions of :func:`ordinary_kriging` for ``m`` neighbourhoods of ``p`` points.

    Attributes
    ----------
    estimate, variance, lagrange : ndarray, shape (m, p)
        Kriged estimate, kriging variance ``C(0) - lambda.c - mu`` (clipped at 0) and
        Lagrange multiplier ``mu`` of each point (NaN without neighbours).
    lbar_cbar : ndarray, shape (m,)
        ``mean(lambda) . mean(c)`` over the ``p`` points (block variances).
    status : ndarray of int8, shape (m,)
        :data:`CHOLESKY`, :data:`LU`, :data:`SINGULAR` or :data:`NO_NEIGHBOURS`.
    """

    estimate: Floats
    variance: Floats
    lagrange: Floats
    lbar_cbar: Floats
    status: NDArray[np.int8]


def ordinary_kriging(
    sx: Floats,
    sy: Floats,
    st: Floats,
    idx: NDArray[np.integer],
    qx: Floats,
    qy: Floats,
    model: str,
    *,
    nugget: float,
    psill: float,
    range: float,
    ridge: float = 1e-10,
    workers: int = 1,
    raise_singular: bool = True,
) -> KernelResult:
    """Ordinary kriging of ``m`` neighbourhoods, each serving ``p`` target points.

    Parameters
    ----------
    sx, sy, st : ndarray, shape (n,)
        Sample coordinates (projected metres) and values (the kriged variable).
    idx : ndarray of int, shape (m, k)
        Indices into the samples of each neighbourhood's samples; entries outside
        ``[0, n)`` (a k-d tree's "missing" index ``n``) are skipped.
    qx, qy : ndarray, shape (m, p)
        The ``p`` target points of each neighbourhood (``p = 1`` for point kriging).
    model : {"spherical", "exponential", "gaussian"}
        Variogram model (:class:`~chemearth.interp.variogram.Variogram` conventions).
    nugget, psill, range : float
        Variogram parameters.
    ridge : float
        Relative ridge added to the diagonal of ``C``.
    workers : int
        Threads (capped at ``numba.config.NUMBA_NUM_THREADS``); 1: the serial build, safe
        to call from several threads at once.
    raise_singular : bool
        Raise on a singular system (else its status is :data:`SINGULAR`, estimates NaN).

    Returns
    -------
    KernelResult

    Raises
    ------
    InterpolationError
        A singular kriging system (with ``raise_singular``), or an unknown model.

    Examples
    --------
    >>> import numpy as np
    >>> sx, sy = np.array([0.0, 10.0, 20.0]), np.zeros(3)
    >>> r = ordinary_kriging(sx, sy, np.array([1.0, 2.0, 4.0]), np.array([[0, 1, 2]]),
    ...                      np.array([[10.0]]), np.array([[0.0]]), "spherical",
    ...                      nugget=0.0, psill=1.0, range=50.0)
    >>> round(float(r.estimate[0, 0]), 6), int(r.status[0])
    (2.0, 0)
    """
    if model not in MODEL_CODES:
        raise InterpolationError(f"unknown variogram model {model!r}")
    f64 = np.float64
    sx, sy, st = (np.ascontiguousarray(v, dtype=f64) for v in (sx, sy, st))
    ii = np.ascontiguousarray(idx, dtype=np.int64)
    qx2 = np.ascontiguousarray(qx, dtype=f64)
    qy2 = np.ascontiguousarray(qy, dtype=f64)
    if ii.ndim != 2 or qx2.ndim != 2 or qx2.shape != qy2.shape or qx2.shape[0] != ii.shape[0]:
        raise InterpolationError("kernel: idx (m, k) and target points (m, p) disagree")
    m, p = qx2.shape
    est = np.empty((m, p))
    var = np.empty((m, p))
    mu = np.empty((m, p))
    lbc = np.empty(m)
    status = np.empty(m, dtype=np.int8)
    args = (sx, sy, st, ii, qx2, qy2, MODEL_CODES[model], float(psill),
            float(nugget) + float(psill), float(range), float(ridge), est, var, mu, lbc,
            status)
    threads = max(1, min(int(workers), _max_threads()))
    if m and p and threads == 1:
        _kernel_serial(*args)
    elif m and p:
        before = numba.get_num_threads()
        numba.set_num_threads(threads)
        try:
            _kernel_parallel(*args)
        finally:
            numba.set_num_threads(before)
    if raise_singular and (status == SINGULAR).any():
        t = int(np.flatnonzero(status == SINGULAR)[0])
        raise InterpolationError(
            f"the kriging system of target {t} (at {qx2[t, 0]:.6g}, {qy2[t, 0]:.6g}) is "
            f"singular ({int((status == SINGULAR).sum())} of {m} targets): samples at one "
            "place, or a degenerate variogram")
    return KernelResult(est, var, mu, lbc, status)
