"""Statistics of left-censored data: Kaplan–Meier and robust ROS (Helsel 2012).

A value below the detection limit is represented as in ``docs/conventions.md``: ``value`` is
the detection limit (DL) and ``censored`` is true. Both estimators here use that
representation directly, with any number of different detection limits.

- :func:`kaplan_meier` — the nonparametric Kaplan–Meier (KM) distribution of left-censored data
  (Helsel 2012, ch. 6), with the KM mean, its standard error and percentiles.
- :func:`ros` — robust regression on order statistics (Helsel & Cohn 1988; R NADA ``cenros``),
  imputing the censored values from a lognormal fit to the detected ones.
- :func:`plotting_positions` — the Hirsch–Stedinger plotting positions ROS uses.

Missing values (NaN) are dropped, with their censoring flags, before anything is computed.

References
----------
Helsel, D.R. (2012). *Statistics for Censored Environmental Data Using Minitab and R*, 2nd ed.
Wiley. Chapter 6.

Helsel, D.R. & Cohn, T.A. (1988). Estimation of descriptive statistics for multiply censored
water quality data. *Water Resources Research* 24(12), 1997–2004.

Hirsch, R.M. & Stedinger, J.R. (1987). Plotting positions for historical floods and their
precision. *Water Resources Research* 23(4), 715–727.

Lee, L. (2020). NADA: Nondetects and Data Analysis for Environmental Data. R package.

Examples
--------
>>> km = kaplan_meier([0.5, 0.5, 1.2, 2.0, 3.1], [True, False, False, True, False])
>>> round(km.mean, 4), km.median
(1.2067, 0.5)
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import ndtri

from chemearth.errors import StatisticsError
from chemearth.jsonable import plain

__all__ = [
    "PROB_TOL",
    "KMResult",
    "ROSResult",
    "StatisticsError",
    "checked_values",
    "kaplan_meier",
    "plotting_positions",
    "ros",
    "validated",
]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

#: Tolerance when comparing a cumulative probability with a requested one.
PROB_TOL = 1e-10
#: Above this share of censored values ROS results are tenuous (Helsel 2012; NADA warns).
ROS_MAX_CENSORED_SHARE = 0.8


def _frozen(array: ArrayLike, dtype: Any = np.float64) -> NDArray[Any]:
    out = np.array(array, dtype=dtype)
    out.flags.writeable = False
    return out


class _AsDict:
    """``as_dict()`` for the result dataclasses: arrays become lists, numpy scalars floats."""

    def as_dict(self) -> dict[str, Any]:
        """The result as a dict of plain Python values (JSON-friendly, NaN kept)."""
        return {f.name: plain(getattr(self, f.name), keep_nan=True) for f in fields(self)}  # type: ignore[arg-type]


def validated(
    values: ArrayLike,
    censored: ArrayLike | None = None,
    *,
    name: str = "values",
    flags: str = "censored",
) -> tuple[FloatArray, BoolArray]:
    """``values`` as float and ``censored`` as bool (all false when None), missing values
    kept.

    Raises :class:`StatisticsError`, naming the arguments (``name`` for the values,
    ``flags`` for the censoring flags), for a non 1-D array, non-boolean flags, flags of
    another shape than the values, or infinite values.

    Examples
    --------
    >>> x, c = validated([1.0, float("nan")], [0, 1], name="Cu")
    >>> x.tolist(), c.tolist()
    ([1.0, nan], [False, True])
    """
    try:
        x = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise StatisticsError(f"{name}: not numbers ({exc})") from None
    if x.ndim != 1:
        raise StatisticsError(f"{name}: expected a 1-D array, got {x.ndim} dimensions")
    if censored is None:
        c = np.zeros(x.shape, dtype=bool)
    else:
        raw = np.asarray(censored)
        if raw.dtype.kind not in "bui" and raw.size:
            raise StatisticsError(f"{flags}: expected booleans, got dtype {raw.dtype}")
        if raw.shape != x.shape:
            raise StatisticsError(f"{flags}: shape {raw.shape} differs from {name} {x.shape}")
        c = raw.astype(bool)
    if np.isinf(x).any():
        raise StatisticsError(f"{name}: infinite values are not allowed")
    return x, c


def checked_values(
    values: ArrayLike, censored: ArrayLike | None = None, *, name: str = "values"
) -> tuple[FloatArray, BoolArray]:
    """Check ``values``/``censored`` (:func:`validated`) and drop missing values.

    Returns the finite values as float and the censoring flags as bool (all false when
    ``censored`` is None).

    Examples
    --------
    >>> x, c = checked_values([1.0, float("nan"), 3.0], [False, True, True])
    >>> x.tolist(), c.tolist()
    ([1.0, 3.0], [False, True])
    """
    x, c = validated(values, censored, name=name)
    keep = ~np.isnan(x)
    return x[keep], c[keep]


# --------------------------------------------------------------------------- Kaplan–Meier


@dataclass(frozen=True, eq=False)
class KMResult(_AsDict):
    """Kaplan–Meier distribution of left-censored data (see :func:`kaplan_meier`).

    Attributes
    ----------
    x : ndarray
        The distinct detected values, ascending: where the KM ECDF steps.
    cdf : ndarray
        ``P(X <= x)`` at each ``x`` (the KM ECDF, right-continuous).
    n_at_risk : ndarray of int
        Observations known to be ``<= x``: detects ``<= x`` and censored values with
        ``DL <= x``.
    n_detected : ndarray of int
        Detected values equal to ``x``.
    n, n_censored : int
        Number of values and of censored values.
    mean, se : float
        KM mean and its standard error (NaN with fewer than 2 detects).
    median : float
        KM median (NaN where it falls below the lowest detected value).
    undetermined : float
        Probability mass below the lowest detected value, whose distribution KM cannot tell
        (``P(X < min(x))``); 0 unless censored values lie at or below the lowest detect.
    lowest_censored : bool
        True when the lowest observation is censored (a DL at or below the lowest detect):
        the mean then puts ``undetermined`` at the lowest DL and is biased high.
    """

    x: FloatArray
    cdf: FloatArray
    n_at_risk: NDArray[np.int64]
    n_detected: NDArray[np.int64]
    n: int
    n_censored: int
    mean: float
    se: float
    median: float
    undetermined: float
    lowest_censored: bool

    def percentile(self, q: float) -> float:
        """The ``q``-th percentile (0–100) of the KM ECDF.

        The smallest detected value whose cumulative probability reaches ``q/100`` (the
        inverse of the step ECDF, as NADA's ``quantile`` of a ``cenfit``). NaN when
        ``q/100 <= undetermined``: that percentile lies below the lowest detected value,
        among the censored ones, and is unknown.

        Examples
        --------
        >>> km = kaplan_meier([1.0, 2.0, 3.0, 4.0], [False] * 4)
        >>> km.percentile(50), km.percentile(51)
        (2.0, 3.0)
        """
        return _km_percentile(self.x, self.cdf, self.undetermined, q)

    def cdf_at(self, values: ArrayLike) -> FloatArray:
        """``P(X <= v)`` for each ``v``; NaN below the lowest detect when it is undetermined.

        Examples
        --------
        >>> km = kaplan_meier([1.0, 2.0, 3.0, 4.0], [True, False, False, False])
        >>> km.cdf_at([0.5, 2.5, 9.0]).tolist()
        [nan, 0.5, 1.0]
        """
        v = np.asarray(values, dtype=np.float64)
        i = np.searchsorted(self.x, v, side="right") - 1
        low = 0.0 if self.undetermined == 0 else np.nan
        out = np.where(i >= 0, self.cdf[np.clip(i, 0, None)], low)
        return np.asarray(out, dtype=np.float64)


def kaplan_meier(values: ArrayLike, censored: ArrayLike) -> KMResult:
    """Kaplan–Meier estimate of the distribution of left-censored data (Helsel 2012, ch. 6).

    Helsel turns left-censored data into right-censored data by flipping,
    ``t = M - x`` with ``M`` above the maximum, and applies survival-analysis KM. This
    function computes the same estimator directly on the original scale: at each distinct
    detected value ``y`` (from the largest down), with ``d`` detects equal to ``y`` and ``r``
    observations known to be ``<= y`` (detects ``<= y`` and censored values with ``DL <= y``;
    a ``<DL`` tied with a detect at ``DL`` is counted below it, as a censoring tied with an
    event is at risk in survival analysis), ``P(X < y) = P(X <= y) · (1 - d / r)``.

    Mean: the area under the survival curve, ``min + ∫ (1 - F(x)) dx``. When the lowest
    observation is censored the ECDF never reaches 0 (``undetermined`` > 0); following
    Helsel (Efron's 1967 correction) the lowest censored value is then treated as detected,
    i.e. that remaining probability is put at the lowest DL. The true values lie below it,
    so **the KM mean is then biased high** (``lowest_censored`` says so). This equals the
    restricted mean of R ``survival`` on the flipped data, up to the largest flipped time.

    Standard error: the ``survival`` formula for the restricted mean,
    ``var = Σ A_j² d_j / (r_j (r_j - d_j))`` with ``A_j`` the area under the ECDF from the
    lowest value up to ``y_j``, times ``D / (D - 1)`` with ``D`` the number of detects (the
    correction NADA applies). Without censoring ``se = sd / sqrt(n)``.

    Percentiles: see :meth:`KMResult.percentile`.

    Parameters
    ----------
    values : array_like of float
        Values; for a censored value, its detection limit.
    censored : array_like of bool
        True where the value is below its detection limit.

    Returns
    -------
    KMResult

    Raises
    ------
    StatisticsError
        No values, no detected value, or malformed input.

    Examples
    --------
    >>> km = kaplan_meier([1.0, 2.0, 3.0, 4.0], [False, True, False, False])
    >>> km.x.tolist(), km.cdf.round(4).tolist()
    ([1.0, 3.0, 4.0], [0.5, 0.75, 1.0])
    >>> round(km.mean, 4), km.median, km.lowest_censored
    (2.25, 1.0, False)
    """
    x, c = checked_values(values, censored)
    if x.size == 0:
        raise StatisticsError("kaplan_meier: no values")
    detects = x[~c]
    if detects.size == 0:
        raise StatisticsError("kaplan_meier: every value is censored; KM needs a detect")
    ys, d = np.unique(detects, return_counts=True)  # ascending
    ys, d = ys[::-1], d[::-1]  # descending: the order of the flipped survival curve
    r = np.searchsorted(np.sort(x), ys, side="right")
    below = np.cumprod(1.0 - d / r)  # P(X < y_j)
    cdf = np.concatenate(([1.0], below[:-1]))  # P(X <= y_j)
    undetermined = float(below[-1])
    lowest = float(x.min())

    mass = cdf - below
    mean = float(np.sum(mass * ys) + undetermined * lowest)

    # A_j = ∫_lowest^{y_j} F(x) dx, F = cdf[j + 1] on [y_{j+1}, y_j), undetermined below y_m.
    pieces = np.diff(ys[::-1], prepend=lowest) * np.concatenate(([undetermined], cdf[::-1][:-1]))
    area = np.cumsum(pieces)[::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        hh = np.where(r > d, d / (r * (r - d)), 0.0)
    n_det = int(d.sum())
    se = float(np.sqrt(np.sum(area**2 * hh) * n_det / (n_det - 1))) if n_det > 1 else np.nan

    x_asc, cdf_asc = ys[::-1], cdf[::-1]
    return KMResult(
        x=_frozen(x_asc),
        cdf=_frozen(cdf_asc),
        n_at_risk=_frozen(r[::-1], np.int64),
        n_detected=_frozen(d[::-1], np.int64),
        n=int(x.size),
        n_censored=int(c.sum()),
        mean=mean,
        se=se,
        median=_km_percentile(x_asc, cdf_asc, undetermined, 50.0),
        undetermined=undetermined,
        lowest_censored=bool(c.any() and x[c].min() <= ys[-1]),
    )


def _km_percentile(x: FloatArray, cdf: FloatArray, undetermined: float, q: float) -> float:
    if not 0 <= q <= 100:
        raise StatisticsError(f"q: percentile {q} is outside 0–100")
    p = q / 100.0
    if undetermined > 0 and p <= undetermined + PROB_TOL:
        return float("nan")
    i = int(np.searchsorted(cdf, p - PROB_TOL, side="left"))
    return float(x[min(i, x.size - 1)])


# --------------------------------------------------------------------------- ROS


def plotting_positions(values: ArrayLike, censored: ArrayLike | None = None) -> FloatArray:
    """Hirsch–Stedinger plotting positions for data with one or more detection limits.

    With the distinct detection limits ``DL_1 < … < DL_k`` (plus a bottom threshold when a
    detect lies below ``DL_1``), the probability of exceeding each limit is built from the
    top down (Helsel & Cohn 1988):
    ``P_j = P_{j+1} + A_j / (A_j + B_j) · (1 - P_{j+1})``, ``P_{k+1} = 0``, where ``A_j`` is
    the number of detects in ``[DL_j, DL_{j+1})`` and ``B_j`` the number of observations
    below ``DL_j``: censored values with ``DL <= DL_j`` and detects ``< DL_j``. The ``r``-th
    of the ``A_j`` detects gets ``(1 - P_j) + (P_j - P_{j+1}) r / (A_j + 1)``; the ``r``-th
    of the ``C_j`` censored values at ``DL_j`` gets ``(1 - P_j) r / (C_j + 1)``.

    Without censoring this is the Weibull position ``r / (n + 1)``.

    Note: R NADA (``cohn``) counts in ``B_j`` also the detects *equal* to ``DL_j``, which
    are already in ``A_j``; this function follows Helsel & Cohn (and ``statsmodels``) and
    does not. The two differ only where a detected value equals a detection limit.

    Parameters
    ----------
    values : array_like of float
        Values; for a censored value, its detection limit.
    censored : array_like of bool, optional
        True where the value is below its detection limit.

    Returns
    -------
    ndarray
        The plotting position (a probability in (0, 1)) of each non-missing value, in input
        order.

    Examples
    --------
    >>> plotting_positions([0.5, 0.5, 1.0, 1.5, 5.0, 10.0, 100.0],
    ...                    [True, False, False, True, False, False, False]).round(4).tolist()
    [0.0952, 0.3175, 0.4444, 0.2857, 0.6786, 0.7857, 0.8929]
    """
    x, c = checked_values(values, censored)
    pp = np.empty(x.size, dtype=np.float64)
    det, cen = x[~c], x[c]
    limits = np.unique(cen)
    if det.size and (limits.size == 0 or det.min() < limits[0]):
        limits = np.concatenate(([-np.inf], limits))
    upper = np.concatenate((limits[1:], [np.inf]))
    p_exceed = np.zeros(limits.size + 1)
    counts_a = np.zeros(limits.size, dtype=np.int64)
    for j in range(limits.size - 1, -1, -1):
        a = int(np.count_nonzero((det >= limits[j]) & (det < upper[j])))
        b = int(np.count_nonzero(cen <= limits[j]) + np.count_nonzero(det < limits[j]))
        counts_a[j] = a
        share = a / (a + b) if a + b else 0.0
        p_exceed[j] = p_exceed[j + 1] + share * (1.0 - p_exceed[j + 1])
    idx = np.arange(x.size)
    for j in range(limits.size):
        in_band = idx[~c & (x >= limits[j]) & (x < upper[j])]
        in_band = in_band[np.argsort(x[in_band], kind="stable")]
        rank = np.arange(1, in_band.size + 1)
        step = p_exceed[j] - p_exceed[j + 1]
        pp[in_band] = (1.0 - p_exceed[j]) + step * rank / (counts_a[j] + 1)
        at_limit = idx[c & (x == limits[j])]
        pp[at_limit] = (1.0 - p_exceed[j]) * np.arange(1, at_limit.size + 1) / (at_limit.size + 1)
    return pp


@dataclass(frozen=True, eq=False)
class ROSResult(_AsDict):
    """Robust regression on order statistics (see :func:`ros`).

    Attributes
    ----------
    obs, censored, plotting_position, modeled : ndarray
        Per value, sorted by value (censored first among ties), after dropping censored
        values above the largest detect: the value (DL where censored), its flag, its
        Hirsch–Stedinger plotting position, and the combined sample (detects as measured,
        censored values imputed).
    intercept, slope : float
        The fit ``ln(value) = intercept + slope · z`` of the detects, ``z`` the standard
        normal quantile of the plotting position.
    n, n_censored : int
        Number of values and of censored values used (after dropping).
    n_dropped : int
        Censored values dropped because their DL exceeds every detected value.
    mean, sd, median : float
        Of ``modeled`` (sd with ``ddof=1``; median as :func:`numpy.median`).
    tenuous : bool
        More than 80 % of the input censored: results are tenuous (Helsel 2012).
    """

    obs: FloatArray
    censored: BoolArray
    plotting_position: FloatArray
    modeled: FloatArray
    intercept: float
    slope: float
    n: int
    n_censored: int
    n_dropped: int
    mean: float
    sd: float
    median: float
    tenuous: bool

    def percentile(self, q: ArrayLike) -> Any:
        """Percentile(s) of the combined sample, ``numpy.percentile`` (= R type 7, as NADA).

        Examples
        --------
        >>> r = ros([1.0, 2.0, 3.0, 4.0, 5.0], [True, False, False, False, False])
        >>> float(r.percentile(50))
        3.0
        """
        return np.percentile(self.modeled, np.asarray(q, dtype=np.float64))


def ros(values: ArrayLike, censored: ArrayLike) -> ROSResult:
    """Robust ROS for left-censored data with multiple detection limits (Helsel & Cohn 1988).

    As R NADA ``cenros`` (log transform): censored values whose DL exceeds every detected
    value are dropped (NADA warns and drops them; they are counted in ``n_dropped``);
    Hirsch–Stedinger plotting positions are computed (:func:`plotting_positions`); the
    natural logs of the detected values are regressed (least squares) on the standard normal
    quantiles of their plotting positions; each censored value is imputed as
    ``exp(intercept + slope · z)`` at its own plotting position. The detected values are
    kept as measured ("robust" ROS), and the mean, sd, median and percentiles are those of
    the combined sample.

    Parameters
    ----------
    values : array_like of float
        Positive values; for a censored value, its detection limit.
    censored : array_like of bool
        True where the value is below its detection limit.

    Returns
    -------
    ROSResult

    Raises
    ------
    StatisticsError
        Fewer than 2 detected values, a value <= 0, or malformed input.

    Notes
    -----
    Deviations from NADA: detects equal to a DL are not double counted in the plotting
    positions (see :func:`plotting_positions`); NADA's dropping of high censored values
    misaligns its flag vector (``censored[obs < min(ix)]`` indexes the already-filtered
    ``obs``), which this function does not reproduce; without censoring the positions are
    Weibull ``r / (n + 1)`` rather than R ``ppoints`` (this changes only the fitted line,
    not the statistics, which are then those of the data).

    Examples
    --------
    >>> r = ros([0.5, 0.5, 1.0, 1.5, 5.0, 10.0, 100.0],
    ...         [True, False, False, True, False, False, False])
    >>> r.obs.tolist()
    [0.5, 0.5, 1.0, 1.5, 5.0, 10.0, 100.0]
    >>> r.modeled.round(3).tolist()
    [0.033, 0.5, 1.0, 0.296, 5.0, 10.0, 100.0]
    >>> round(r.mean, 3), r.median
    (16.69, 1.0)
    """
    x, c = checked_values(values, censored)
    n_input = x.size
    if np.count_nonzero(~c) < 2:
        raise StatisticsError("ros: needs at least 2 detected values")
    if np.any(x <= 0):
        raise StatisticsError("ros: values must be positive (the fit is on logarithms)")
    drop = c & (x > x[~c].max())
    x, c = x[~drop], c[~drop]
    order = np.lexsort((~c, x))
    x, c = x[order], c[order]
    pp = plotting_positions(x, c)
    z = ndtri(pp)
    slope, intercept = np.polyfit(z[~c], np.log(x[~c]), 1)
    modeled = x.copy()
    modeled[c] = np.exp(intercept + slope * z[c])
    return ROSResult(
        obs=_frozen(x),
        censored=_frozen(c, bool),
        plotting_position=_frozen(pp),
        modeled=_frozen(modeled),
        intercept=float(intercept),
        slope=float(slope),
        n=int(x.size),
        n_censored=int(c.sum()),
        n_dropped=int(drop.sum()),
        mean=float(modeled.mean()),
        sd=float(modeled.std(ddof=1)) if modeled.size > 1 else np.nan,
        median=float(np.median(modeled)),
        tenuous=bool(n_input and (c.sum() + drop.sum()) / n_input > ROS_MAX_CENSORED_SHARE),
    )
