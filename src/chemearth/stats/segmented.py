"""Segmented (piecewise) linear regression with estimated breakpoints (Muggeo 2003).

The model of ``k`` breakpoints ψ₁ < … < ψₖ is continuous and piecewise linear::

    y = c + a·x + Σⱼ bⱼ·(x − ψⱼ)₊ + ε

Each candidate number of breakpoints is fitted in two steps:

1. a search over every combination of ``k`` candidate positions (quantiles of ``x``),
   each an ordinary least-squares fit, keeping the few lowest residual sums of squares;
2. from each of those starts, Muggeo's iteration: the model linearised around the
   current ψ (columns ``(x − ψⱼ)₊`` and ``−I(x > ψⱼ)``) gives ψⱼ ← ψⱼ + γⱼ / bⱼ, with step
   halving whenever the residual sum of squares would grow, until ψ moves less than
   ``1e-10`` of the range of ``x`` or no step longer than ``1e-6`` of it lowers the
   residual sum of squares (a minimum at a kink of the RSS, which stepped data have);
   then restarts on a small lattice around the best ψ (see ``_polish``).

The standard error of each breakpoint is Muggeo's delta-method one from the covariance of
the linearised fit at convergence, ``var(ψ) = (var γ + (γ/b)² var b − 2 (γ/b) cov(γ, b)) / b²``
(γ ≈ 0 there), and its confidence interval ψ ± t₍₁₋α/₂, n−2−2k₎·se. These assume
independent errors: on cumulative curves such as concentration–area plots, whose
neighbouring points share most of their samples, they are smaller than the true
uncertainty and are a lower bound.

The number of breakpoints, when not given, is the one of least Bayesian information
criterion ``n ln(RSS/n) + (2 + 2k) ln n`` among 1 … ``max_breakpoints``.

References
----------
Muggeo, V.M.R. (2003). Estimating regression models with unknown break-points.
*Statistics in Medicine* 22, 3055–3071.

Examples
--------
>>> x = np.linspace(0.0, 10.0, 41)
>>> y = np.where(x < 4.0, 1.0 + 0.5 * x, 3.0 - 1.0 * (x - 4.0))
>>> fit = segmented_fit(x, y, n_breakpoints=1)
>>> round(float(fit.breakpoints[0]), 6), fit.slopes.round(6).tolist()
(4.0, [0.5, -1.0])
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from chemearth.errors import StatisticsError
from chemearth.jsonable import plain

__all__ = ["SegmentedFit", "segmented_fit"]

FloatArray = NDArray[np.float64]

#: Largest number of breakpoints fitted.
MAX_BREAKPOINTS = 3
#: Candidate breakpoint positions searched, by number of breakpoints.
SEARCH_SIZE = {1: 60, 2: 40, 3: 22}
#: Starts of Muggeo's iteration kept from the search.
N_STARTS = 4
#: Iterations of Muggeo's algorithm at most.
MAX_ITERATIONS = 100
#: Convergence: largest move of a breakpoint, as a share of the range of x.
TOLERANCE = 1e-10
#: Also converged: no step longer than this share of the range of x lowers the RSS.
STALL = 1e-6


@dataclass(frozen=True)
class SegmentedFit:
    """A continuous piecewise-linear fit with estimated breakpoints.

    Attributes
    ----------
    breakpoints, se, ci_low, ci_high : ndarray
        The breakpoints (in units of x, ascending), their standard errors and the bounds
        of their ``confidence`` intervals.
    slopes, slope_se : ndarray
        The slope of each of the ``k + 1`` segments and its standard error.
    intercept : float
        ``c``, the value at ``x = 0`` of the first segment.
    rss, bic : float
        Residual sum of squares; Bayesian information criterion.
    n : int
        Number of points fitted.
    confidence : float
        Level of the intervals.
    converged : bool
        Whether Muggeo's iteration converged (else the best searched start is reported).
    bic_by_count : dict
        BIC of every number of breakpoints tried.
    """

    breakpoints: FloatArray
    se: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray
    slopes: FloatArray
    slope_se: FloatArray
    intercept: float
    rss: float
    bic: float
    n: int
    confidence: float
    converged: bool
    bic_by_count: dict[int, float]

    @property
    def n_breakpoints(self) -> int:
        return len(self.breakpoints)

    def predict(self, x: ArrayLike) -> FloatArray:
        """The fitted line at ``x``."""
        xx = np.asarray(x, dtype=np.float64)
        y = self.intercept + self.slopes[0] * xx
        for psi, db in zip(self.breakpoints, np.diff(self.slopes), strict=True):
            y = y + db * np.maximum(xx - psi, 0.0)
        return np.asarray(y, dtype=np.float64)

    def as_dict(self) -> dict[str, Any]:
        """The fit as plain Python values (lists and floats)."""
        return {f.name: plain(getattr(self, f.name), keep_nan=True) for f in fields(self)}


def _design(x: FloatArray, psi: FloatArray, *, with_v: bool) -> FloatArray:
    cols = [np.ones_like(x), x]
    cols += [np.maximum(x - p, 0.0) for p in psi]
    if with_v:
        cols += [-(x > p).astype(np.float64) for p in psi]
    return np.column_stack(cols)


def _rss(x: FloatArray, y: FloatArray, psi: FloatArray) -> float:
    coef, *_ = np.linalg.lstsq(_design(x, psi, with_v=False), y, rcond=None)
    r = y - _design(x, psi, with_v=False) @ coef
    return float(r @ r)


def _admissible(x: FloatArray, psi: FloatArray, min_points: int) -> bool:
    """Breakpoints inside the data, ascending, with ``min_points`` points in every segment."""
    p = psi.tolist()
    if not all(math.isfinite(v) for v in p) or any(b <= a for a, b in itertools.pairwise(p)):
        return False
    edges = [0, *np.searchsorted(x, psi, side="right").tolist(), len(x)]
    return all(b - a >= min_points for a, b in itertools.pairwise(edges))


def _search(x: FloatArray, y: FloatArray, k: int, min_points: int) -> list[FloatArray]:
    """The best few breakpoint combinations among candidate positions (OLS on each)."""
    lo, hi = x[min_points - 1], x[len(x) - min_points]
    cand = np.unique(np.quantile(x[(x > lo) & (x < hi)], np.linspace(0, 1, SEARCH_SIZE[k]))
                     ) if np.any((x > lo) & (x < hi)) else np.empty(0)
    scored: list[tuple[float, FloatArray]] = []
    for combo in itertools.combinations(cand, k):
        psi = np.asarray(combo, dtype=np.float64)
        if _admissible(x, psi, min_points):
            scored.append((_rss(x, y, psi), psi))
    scored.sort(key=lambda t: t[0])
    return [psi for _, psi in scored[:N_STARTS]]


def _muggeo(x: FloatArray, y: FloatArray, psi0: FloatArray, min_points: int
            ) -> tuple[FloatArray, float, bool]:
    """Muggeo's iteration from ``psi0`` with step halving: (ψ, RSS, converged)."""
    psi, rss = psi0.copy(), _rss(x, y, psi0)
    tol = TOLERANCE * float(x[-1] - x[0])
    k = len(psi)
    for _ in range(MAX_ITERATIONS):
        coef, *_ = np.linalg.lstsq(_design(x, psi, with_v=True), y, rcond=None)
        b, g = coef[2:2 + k], coef[2 + k:]
        if np.any(b == 0):
            return psi, rss, False
        step = g / b
        for _half in range(20):
            new = psi + step
            if _admissible(x, new, min_points):
                new_rss = _rss(x, y, new)
                if new_rss <= rss * (1 + 1e-12) + 1e-300:
                    break
            step = step / 2
        else:  # no step down to 2^-20 of Muggeo's lowers the RSS: a (kinked) minimum
            return psi, rss, bool(np.max(np.abs(step)) <= STALL * float(x[-1] - x[0]))
        moved = float(np.max(np.abs(new - psi)))
        psi, rss = new, new_rss
        if moved <= tol:
            return psi, rss, True
    return psi, rss, False


def _polish(x: FloatArray, y: FloatArray, best: tuple[float, FloatArray, bool],
            min_points: int) -> tuple[float, FloatArray, bool]:
    """Restart Muggeo's iteration from a lattice around the best breakpoints.

    The residual sum of squares of data with repeated or stepped values has many shallow
    local minima; restarts at ±1 and ±2 steps (±1 for three breakpoints) of 1/200 of the
    range of x around the best solution, repeated while they improve it, step out of them.
    """
    h = float(x[-1] - x[0]) / 200
    for _round in range(5):
        rss0, psi0, _ = best
        steps = (-2, -1, 0, 1, 2) if len(psi0) <= 2 else (-1, 0, 1)
        for offs in itertools.product(steps, repeat=len(psi0)):
            start = psi0 + h * np.asarray(offs, dtype=np.float64)
            if not any(offs) or not _admissible(x, start, min_points):
                continue
            psi, rss, ok = _muggeo(x, y, start, min_points)
            if rss < best[0] * (1 - 1e-10):
                best = (rss, psi, ok)
        if best[0] >= rss0 * (1 - 1e-10):
            break
    return best


def _bic(rss: float, n: int, k: int, tss: float) -> float:
    # an exact fit (RSS at rounding level) must not win by a log of zero: floor the RSS
    floor = max(tss, 1e-300) * 1e-24
    return n * math.log(max(rss, floor) / n) + (2 + 2 * k) * math.log(n)


def _fit_k(x: FloatArray, y: FloatArray, k: int, min_points: int, confidence: float,
           ) -> SegmentedFit | None:
    starts = _search(x, y, k, min_points)
    if not starts:
        return None
    best: tuple[float, FloatArray, bool] | None = None
    for s in starts:
        psi, rss, ok = _muggeo(x, y, s, min_points)
        if best is None or rss < best[0] * (1 - 1e-10):
            best = (rss, psi, ok)
    assert best is not None
    rss, psi, converged = _polish(x, y, best, min_points)
    n = len(x)
    tss = float(((y - y.mean()) ** 2).sum())
    design = _design(x, psi, with_v=True)
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    dof = n - (2 + 2 * k)
    resid = y - design @ coef
    s2 = float(resid @ resid) / dof
    cov = s2 * np.linalg.pinv(design.T @ design)
    b, g = coef[2:2 + k], coef[2 + k:]
    ib, ig = np.arange(2, 2 + k), np.arange(2 + k, 2 + 2 * k)
    r = g / b
    var = (cov[ig, ig] + r**2 * cov[ib, ib] - 2 * r * cov[ib, ig]) / b**2
    se = np.sqrt(np.maximum(var, 0.0))
    t = float(stats.t.ppf(0.5 + confidence / 2, dof))
    slope_se = np.array([math.sqrt(max(float(cov[1:j + 2, 1:j + 2].sum()), 0.0))
                         for j in range(k + 1)])
    # coefficients of the exact model at ψ (the linearised one's γ is ~0 at convergence)
    exact, *_ = np.linalg.lstsq(_design(x, psi, with_v=False), y, rcond=None)
    return SegmentedFit(
        breakpoints=psi, se=se, ci_low=psi - t * se, ci_high=psi + t * se,
        slopes=np.cumsum(exact[1:]), slope_se=slope_se,
        intercept=float(exact[0]), rss=rss, bic=_bic(rss, n, k, tss), n=n,
        confidence=confidence, converged=converged, bic_by_count={k: _bic(rss, n, k, tss)})


def segmented_fit(
    x: ArrayLike,
    y: ArrayLike,
    n_breakpoints: int | None = None,
    *,
    max_breakpoints: int = MAX_BREAKPOINTS,
    min_points: int = 5,
    confidence: float = 0.95,
) -> SegmentedFit:
    """Fit a continuous piecewise-linear model with 1–3 estimated breakpoints.

    Parameters
    ----------
    x, y : array_like
        The points (any order; pairs with a non-finite member are dropped).
    n_breakpoints : int, optional
        How many breakpoints; default: the number of least BIC among
        1 … ``max_breakpoints``.
    max_breakpoints : int
        At most 3.
    min_points : int
        Fewest points on each segment (at least 2).
    confidence : float
        Level of the breakpoints' confidence intervals.

    Returns
    -------
    SegmentedFit

    Raises
    ------
    StatisticsError
        Too few points, or a count of breakpoints outside 1–3.

    Examples
    --------
    >>> x = np.arange(30.0)
    >>> y = np.abs(x - 12.0) + 0.01 * np.sin(x)
    >>> fit = segmented_fit(x, y)
    >>> fit.n_breakpoints, round(float(fit.breakpoints[0]), 1), fit.slopes.round(2).tolist()
    (1, 12.0, [-1.0, 1.0])
    """
    xx = np.asarray(x, dtype=np.float64).ravel()
    yy = np.asarray(y, dtype=np.float64).ravel()
    if xx.shape != yy.shape:
        raise StatisticsError("x and y of a segmented fit must have the same length")
    ok = np.isfinite(xx) & np.isfinite(yy)
    order = np.argsort(xx[ok], kind="stable")
    xx, yy = xx[ok][order], yy[ok][order]
    if not 1 <= max_breakpoints <= MAX_BREAKPOINTS:
        raise StatisticsError(f"max_breakpoints must be 1 to {MAX_BREAKPOINTS}")
    if n_breakpoints is not None and not 1 <= n_breakpoints <= MAX_BREAKPOINTS:
        raise StatisticsError(f"n_breakpoints must be 1 to {MAX_BREAKPOINTS}, "
                              f"not {n_breakpoints}")
    if min_points < 2:
        raise StatisticsError("min_points must be at least 2")
    if not 0 < confidence < 1:
        raise StatisticsError("confidence must lie between 0 and 1")
    counts = [n_breakpoints] if n_breakpoints else list(range(1, max_breakpoints + 1))
    fits: dict[int, SegmentedFit] = {}
    for k in counts:
        if len(xx) < max(min_points * (k + 1), 2 + 2 * k + 1):
            continue
        fit = _fit_k(xx, yy, k, min_points, confidence)
        if fit is not None:
            fits[k] = fit
    if not fits:
        raise StatisticsError(
            f"{len(xx)} points cannot hold {counts[0]} breakpoint(s) with {min_points} "
            "points on every segment")
    bics = {k: f.bic for k, f in fits.items()}
    best = min(fits, key=lambda k: (bics[k], k))
    chosen = fits[best]
    return SegmentedFit(**{f.name: getattr(chosen, f.name) for f in fields(chosen)
                           if f.name != "bic_by_count"}, bic_by_count=bics)
