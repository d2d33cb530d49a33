"""Core statistics for geochemical baselines: summaries, percentiles and thresholds.

Values below the detection limit follow ``docs/conventions.md``: ``value`` is the detection
limit (DL) and ``censored`` is true. Functions take a 1-D float array ``values`` and, where
censoring matters, a bool array ``censored`` of the same length. Missing values (NaN) are
dropped with their flags. Estimators made for censored data (Kaplan–Meier, ROS) live in
:mod:`chemearth.stats.censored` and are re-exported here.

Percentiles are ``numpy.percentile`` with its default ``'linear'`` method, which is
Hyndman & Fan (1996) type 7, the default of R's ``quantile``:
for sorted ``x_1 <= … <= x_n`` and ``p = q/100``, ``h = (n - 1) p`` and the percentile is
``x_⌊h⌋+1 + (h - ⌊h⌋) (x_⌊h⌋+2 - x_⌊h⌋+1)``.

Thresholds separating background from anomalies (Reimann et al. 2005): Tukey's inner fences
(:func:`tukey_fences`), median ± 2 MAD (:func:`median_2mad`), high percentiles
(:func:`percentile_threshold`), the upper limit of baseline variation (:func:`ubv`),
iterative mean ± 2 sd (:func:`iterative_2sigma`) and percentile class breaks
(:func:`cumulative_class_breaks`). Threshold functions take censored values at their DL and,
given ``censored``, flag a threshold at or below the largest DL, whose true value is unknown.

References
----------
Hyndman, R.J. & Fan, Y. (1996). Sample quantiles in statistical packages. *The American
Statistician* 50(4), 361–365.

Reimann, C., Filzmoser, P. & Garrett, R.G. (2005). Background and threshold: critical
comparison of methods of determination. *Science of the Total Environment* 346, 1–16.

Reimann, C., Filzmoser, P., Garrett, R.G. & Dutter, R. (2008). *Statistical Data Analysis
Explained: Applied Environmental Statistics with R*. Wiley.

Matschullat, J., Ottenstein, R. & Reimann, C. (2000). Geochemical background – can we
calculate it? *Environmental Geology* 39(9), 990–1000.

Examples
--------
>>> s = describe([2.0, 4.0, 8.0, 16.0, 32.0])
>>> s["median"], round(s["gmean"], 9), s["method"]
(8.0, 8.0, 'none')
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypedDict, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

from chemearth.stats.censored import (
    ROS_MAX_CENSORED_SHARE,
    KMResult,
    ROSResult,
    StatisticsError,
    _AsDict,
    checked_values,
    kaplan_meier,
    plotting_positions,
    ros,
)

__all__ = [
    "MAD_NORMAL",
    "ClassBreaks",
    "FencesResult",
    "KMResult",
    "MADResult",
    "ROSResult",
    "SigmaResult",
    "StatisticsError",
    "Summary",
    "UBVResult",
    "cumulative_class_breaks",
    "describe",
    "iterative_2sigma",
    "kaplan_meier",
    "mad",
    "mad_normal",
    "median_2mad",
    "percentile_threshold",
    "percentiles",
    "plotting_positions",
    "ros",
    "tukey_fences",
    "ubv",
]

FloatArray = NDArray[np.float64]

#: Factor making the MAD a consistent estimator of the sd of a normal distribution
#: (``1 / Φ⁻¹(0.75)``, rounded as in R's ``mad``).
MAD_NORMAL = 1.4826
#: Percentiles reported by :func:`describe`, by key.
DESCRIBE_PERCENTS = {
    "p5": 5.0,
    "p10": 10.0,
    "p25": 25.0,
    "median": 50.0,
    "p75": 75.0,
    "p90": 90.0,
    "p95": 95.0,
    "p98": 98.0,
}
#: Minimum number of samples for :func:`ubv` (GTK; ISO 19258).
UBV_MIN_SAMPLES = 30


def _nonempty(
    values: ArrayLike, censored: ArrayLike | None = None
) -> tuple[FloatArray, NDArray[np.bool_]]:
    x, c = checked_values(values, censored)
    if x.size == 0:
        raise StatisticsError("values: no non-missing values")
    return x, c


def _log10(x: FloatArray, log: bool) -> FloatArray:
    if not log:
        return x
    if np.any(x <= 0):
        raise StatisticsError("values: log=True needs positive values")
    return np.log10(x)


def _back(y: float, log: bool) -> float:
    return float(10.0**y) if log else float(y)


def _max_dl(x: FloatArray, c: NDArray[np.bool_]) -> float | None:
    return float(x[c].max()) if c.any() else None


def _below(value: float | None, max_dl: float | None) -> bool:
    """``value <= max_dl``, with a relative tolerance for log10 round trips (10**log10(5) > 5)."""
    return value is not None and max_dl is not None and bool(value <= max_dl * (1 + 1e-9))


# --------------------------------------------------------------------------- basic statistics


@overload
def percentiles(values: ArrayLike, q: float) -> float: ...
@overload
def percentiles(values: ArrayLike, q: Sequence[float] | FloatArray) -> FloatArray: ...
def percentiles(values: ArrayLike, q: float | Sequence[float] | FloatArray) -> float | FloatArray:
    """Percentiles by linear interpolation (``numpy.percentile``, Hyndman–Fan type 7).

    Parameters
    ----------
    values : array_like of float
        Values; NaN are dropped. Censored values, if any, enter at their DL.
    q : float or sequence of float
        Percent(s), 0–100.

    Returns
    -------
    float or ndarray
        A float for a scalar ``q``, else an array of the same length.

    Examples
    --------
    >>> percentiles([1.0, 2.0, 3.0, 4.0], 50)
    2.5
    >>> percentiles([1.0, 2.0, 3.0, 4.0], [0, 25, 100]).tolist()
    [1.0, 1.75, 4.0]
    """
    x, _ = _nonempty(values)
    qa = np.asarray(q, dtype=np.float64)
    if np.any((qa < 0) | (qa > 100)) or np.isnan(qa).any():
        raise StatisticsError(f"q: percentiles must lie in 0–100, got {q!r}")
    out = np.percentile(x, qa, method="linear")
    return float(out) if qa.ndim == 0 else np.asarray(out, dtype=np.float64)


def mad(values: ArrayLike) -> float:
    """Raw median absolute deviation, ``median(|x - median(x)|)`` (not scaled).

    Examples
    --------
    >>> mad([1.0, 2.0, 3.0, 4.0, 100.0])
    1.0
    """
    x, _ = _nonempty(values)
    return float(np.median(np.abs(x - np.median(x))))


def mad_normal(values: ArrayLike) -> float:
    """MAD scaled to estimate a normal sd: ``1.4826 × MAD`` (R's ``mad`` default).

    Examples
    --------
    >>> mad_normal([1.0, 2.0, 3.0, 4.0, 100.0])
    1.4826
    """
    return MAD_NORMAL * mad(values)


class Summary(TypedDict):
    """What :func:`describe` returns (a plain dict, typed)."""

    n: int
    n_censored: int
    min: float
    p5: float
    p10: float
    p25: float
    median: float
    p75: float
    p90: float
    p95: float
    p98: float
    max: float
    mad: float
    mad_normal: float
    gmean: float
    log10_sd: float
    method: str
    max_dl: float | None
    below_dl: dict[str, bool]


def describe(values: ArrayLike, censored: ArrayLike | None = None) -> Summary:
    """Summary statistics of one element, honest about values below detection.

    Returns n, n_censored, min, p5, p10, p25, median, p75, p90, p95, p98, max (linear
    percentiles, see :func:`percentiles`), ``mad`` (raw) and ``mad_normal`` (1.4826 × MAD),
    ``gmean`` (geometric mean) and ``log10_sd`` (sd of the log10 values, ``ddof=1``).

    Censoring rule:

    - Censored values take their detection limit in the order statistics and the MAD.
    - ``below_dl[key]`` is True for each of min, p5 … p98, max whose value is ``<=`` the
      largest detection limit among censored values (``max_dl``): its true value is unknown
      (it may be a DL, or be pulled up by one).
    - ``gmean`` and ``log10_sd`` use ROS-imputed censored values (:func:`ros`) when there are
      censored values, at least 3 detects and at most 80 % censored (``method = "ros"``);
      otherwise censored values are substituted by their DL (``method = "dl"``).
      ``method = "none"`` when nothing is censored. ROS drops censored values whose DL
      exceeds every detect, so these two then use fewer values than ``n``.
    - With any value ``<= 0``, ``gmean`` and ``log10_sd`` are NaN.

    Parameters
    ----------
    values : array_like of float
        Values; for a censored value, its detection limit.
    censored : array_like of bool, optional
        True where the value is below its detection limit.

    Returns
    -------
    Summary
        A dict; ``max_dl`` is None without censored values.

    Examples
    --------
    >>> s = describe([0.5, 0.5, 1.0, 2.0, 4.0], [True, True, False, False, False])
    >>> s["n_censored"], s["median"], s["below_dl"]["p25"], s["below_dl"]["median"], s["method"]
    (2, 1.0, True, False, 'ros')
    """
    x, c = _nonempty(values, censored)
    max_dl = _max_dl(x, c)
    order = {"min": float(x.min())}
    pcts = np.percentile(x, list(DESCRIBE_PERCENTS.values()))
    order.update(zip(DESCRIBE_PERCENTS, pcts, strict=True))
    order["max"] = float(x.max())
    gmean, log_sd, method = _log_summary(x, c)
    raw_mad = float(np.median(np.abs(x - np.median(x))))
    return Summary(
        n=int(x.size),
        n_censored=int(c.sum()),
        min=order["min"],
        p5=float(order["p5"]),
        p10=float(order["p10"]),
        p25=float(order["p25"]),
        median=float(order["median"]),
        p75=float(order["p75"]),
        p90=float(order["p90"]),
        p95=float(order["p95"]),
        p98=float(order["p98"]),
        max=order["max"],
        mad=raw_mad,
        mad_normal=MAD_NORMAL * raw_mad,
        gmean=gmean,
        log10_sd=log_sd,
        method=method,
        max_dl=max_dl,
        below_dl={k: _below(float(v), max_dl) for k, v in order.items()},
    )


def _log_summary(x: FloatArray, c: NDArray[np.bool_]) -> tuple[float, float, str]:
    """Geometric mean, log10 sd and the censoring method of :func:`describe`."""
    n_cen = int(c.sum())
    n_det = x.size - n_cen
    if n_cen == 0:
        method = "none"
    elif n_det >= 3 and n_cen / x.size <= ROS_MAX_CENSORED_SHARE:
        method = "ros"
    else:
        method = "dl"
    if np.any(x <= 0):
        return np.nan, np.nan, method
    logs = np.log10(ros(x, c).modeled if method == "ros" else x)
    log_sd = float(np.std(logs, ddof=1)) if logs.size > 1 else np.nan
    return float(10.0 ** np.mean(logs)), log_sd, method


# --------------------------------------------------------------------------- thresholds


@dataclass(frozen=True)
class FencesResult(_AsDict):
    """Tukey's inner fences (see :func:`tukey_fences`).

    ``lower``/``upper`` are on the data scale; ``q1``, ``q3`` and ``iqr`` on the working
    scale (log10 when ``log``). ``*_below_dl`` flag a fence at or below the largest DL.
    """

    lower: float
    upper: float
    q1: float
    q3: float
    iqr: float
    log: bool
    n: int
    n_censored: int
    lower_below_dl: bool
    upper_below_dl: bool


def tukey_fences(
    values: ArrayLike, *, log: bool = True, censored: ArrayLike | None = None
) -> FencesResult:
    """Tukey's inner fences ``Q1 - 1.5 IQR`` and ``Q3 + 1.5 IQR``, on log10 data by default.

    The quartiles are linear (type 7) percentiles of the log10 values, and the fences are
    back-transformed (``10**``). Reimann et al. (2005) and Reimann et al. (2008, ch. 7)
    recommend the upper fence of the log-transformed data as a threshold. Note that R's
    ``boxplot`` uses Tukey's hinges instead of type-7 quartiles; they differ slightly for
    small ``n``.

    Examples
    --------
    >>> f = tukey_fences([1.0, 10.0, 100.0, 1000.0, 10000.0])
    >>> f.q1, f.q3, f.iqr, round(f.lower, 6), f.upper
    (1.0, 3.0, 2.0, 0.01, 1000000.0)
    """
    x, c = _nonempty(values, censored)
    y = _log10(x, log)
    q1, q3 = np.percentile(y, [25.0, 75.0])
    iqr = q3 - q1
    lower, upper = _back(q1 - 1.5 * iqr, log), _back(q3 + 1.5 * iqr, log)
    max_dl = _max_dl(x, c)
    return FencesResult(
        lower=lower,
        upper=upper,
        q1=float(q1),
        q3=float(q3),
        iqr=float(iqr),
        log=log,
        n=int(x.size),
        n_censored=int(c.sum()),
        lower_below_dl=_below(lower, max_dl),
        upper_below_dl=_below(upper, max_dl),
    )


@dataclass(frozen=True)
class MADResult(_AsDict):
    """Median ± 2 MAD (see :func:`median_2mad`); ``median``, ``mad_normal`` on the working scale."""

    lower: float
    upper: float
    median: float
    mad_normal: float
    log: bool
    n: int
    n_censored: int
    lower_below_dl: bool
    upper_below_dl: bool


def median_2mad(
    values: ArrayLike, *, log: bool = True, censored: ArrayLike | None = None
) -> MADResult:
    """Median ± 2 × MAD_normal (1.4826 × MAD), on log10 data by default, back-transformed.

    Reimann et al. (2005): a robust replacement of mean ± 2 sd for estimating the range of
    background and the threshold.

    Examples
    --------
    >>> r = median_2mad([1.0, 10.0, 100.0, 1000.0, 10000.0])
    >>> r.median, r.mad_normal, round(r.upper)
    (2.0, 1.4826, 92300)
    """
    x, c = _nonempty(values, censored)
    y = _log10(x, log)
    med = float(np.median(y))
    spread = MAD_NORMAL * float(np.median(np.abs(y - med)))
    lower, upper = _back(med - 2 * spread, log), _back(med + 2 * spread, log)
    max_dl = _max_dl(x, c)
    return MADResult(
        lower=lower,
        upper=upper,
        median=med,
        mad_normal=spread,
        log=log,
        n=int(x.size),
        n_censored=int(c.sum()),
        lower_below_dl=_below(lower, max_dl),
        upper_below_dl=_below(upper, max_dl),
    )


def percentile_threshold(values: ArrayLike, q: float = 95.0) -> float:
    """A percentile used as threshold: usually the 95th or the 98th (Reimann et al. 2005).

    Linear (type 7) percentile of the values. Check ``describe(...)["below_dl"]`` when
    values are censored.

    Examples
    --------
    >>> percentile_threshold(list(range(1, 101)), 95), percentile_threshold(range(1, 101), 98)
    (95.05, 98.02)
    """
    return percentiles(values, float(q))


@dataclass(frozen=True)
class UBVResult(_AsDict):
    """Upper limit of baseline variation (see :func:`ubv`); ``ubv`` is None with a ``reason``."""

    ubv: float | None
    p25: float | None
    p75: float | None
    iqr: float | None
    maximum: float | None
    capped: bool
    n: int
    n_censored: int
    below_dl: bool
    reason: str | None


def ubv(values: ArrayLike, *, censored: ArrayLike | None = None) -> UBVResult:
    """Upper limit of baseline variation, ``P75 + 1.5 (P75 - P25)`` on the raw values.

    As the Geological Survey of Finland defines it for soil baselines (ULBL, Finnish
    "SSTP"), after the box-and-whisker rule of ISO 19258 (Soil quality — Guidance on the
    determination of background values): at least 30 samples are needed (else ``ubv`` is
    None with a ``reason``), and when the maximum is lower than the formula the maximum is
    used (``capped``). Percentiles are linear (type 7). See
    http://gtkdata.gtk.fi/Tapir/pages_en/sstp.html.

    Examples
    --------
    >>> r = ubv(list(range(1, 41)))
    >>> r.p25, r.p75, r.ubv, r.capped
    (10.75, 30.25, 40.0, True)
    >>> ubv([1.0, 2.0]).reason
    'needs at least 30 samples, got 2'
    """
    x, c = _nonempty(values, censored)
    n, n_cen = int(x.size), int(c.sum())
    if n < UBV_MIN_SAMPLES:
        reason = f"needs at least {UBV_MIN_SAMPLES} samples, got {n}"
        return UBVResult(None, None, None, None, None, False, n, n_cen, False, reason)
    p25, p75 = (float(v) for v in np.percentile(x, [25.0, 75.0]))
    maximum = float(x.max())
    raw = p75 + 1.5 * (p75 - p25)
    value = min(raw, maximum)
    return UBVResult(
        ubv=value,
        p25=p25,
        p75=p75,
        iqr=p75 - p25,
        maximum=maximum,
        capped=raw > maximum,
        n=n,
        n_censored=n_cen,
        below_dl=_below(value, _max_dl(x, c)),
        reason=None,
    )


@dataclass(frozen=True)
class SigmaResult(_AsDict):
    """Iterative mean ± 2 sd (see :func:`iterative_2sigma`).

    ``mean`` and ``sd`` are on the working scale (log10 when ``log``) and describe the
    ``n_kept`` values of the last pass; ``lower``/``upper`` = mean ∓/± 2 sd back-transformed.
    """

    mean: float
    sd: float
    lower: float
    upper: float
    log: bool
    n: int
    n_kept: int
    n_iterations: int
    converged: bool
    n_censored: int
    upper_below_dl: bool


def iterative_2sigma(
    values: ArrayLike,
    *,
    log: bool = True,
    max_iter: int = 100,
    censored: ArrayLike | None = None,
) -> SigmaResult:
    """Iterative 2σ technique (Matschullat et al. 2000): trim to mean ± 2 sd until stable.

    Each pass computes the mean and sd (``ddof=1``) of the values kept so far (log10 values
    by default) and drops those outside ``[mean - 2 sd, mean + 2 sd]``; it stops at the
    first pass that drops nothing (``converged``), or after ``max_iter`` passes.
    ``n_iterations`` counts the passes, the last one included. ``upper`` (mean + 2 sd,
    back-transformed) is the threshold; Reimann et al. (2005) warn that the result depends
    strongly on the data and tends to be too low.

    Examples
    --------
    >>> r = iterative_2sigma([10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 100.0], log=False)
    >>> r.n_kept, r.n_iterations, r.mean, round(r.upper, 3)
    (6, 2, 12.5, 16.242)
    """
    x, c = _nonempty(values, censored)
    if x.size < 2:
        raise StatisticsError("iterative_2sigma: needs at least 2 values")
    if max_iter < 1:
        raise StatisticsError(f"max_iter: must be at least 1, got {max_iter}")
    kept = _log10(x, log)
    converged = False
    for iteration in range(1, max_iter + 1):
        mean, sd = float(kept.mean()), float(kept.std(ddof=1))
        inside = (kept >= mean - 2 * sd) & (kept <= mean + 2 * sd)
        if inside.all():
            converged = True
            break
        if iteration < max_iter:
            kept = kept[inside]
    upper = _back(mean + 2 * sd, log)
    return SigmaResult(
        mean=mean,
        sd=sd,
        lower=_back(mean - 2 * sd, log),
        upper=upper,
        log=log,
        n=int(x.size),
        n_kept=int(kept.size),
        n_iterations=iteration,
        converged=converged,
        n_censored=int(c.sum()),
        upper_below_dl=_below(upper, _max_dl(x, c)),
    )


@dataclass(frozen=True)
class ClassBreaks(_AsDict):
    """Percentile class breaks (see :func:`cumulative_class_breaks`).

    ``counts[i]`` is the number of values in class ``i``: ``(-inf, b_0]``,
    ``(b_0, b_1]``, …, ``(b_last, inf)``; one more class than breaks.
    """

    percents: tuple[float, ...]
    breaks: tuple[float, ...]
    counts: tuple[int, ...]
    below_dl: tuple[bool, ...]


def cumulative_class_breaks(
    values: ArrayLike,
    percents: Sequence[float] = (5, 10, 25, 50, 75, 90, 95, 98),
    *,
    censored: ArrayLike | None = None,
) -> ClassBreaks:
    """Class breaks at percentiles of the cumulative distribution, for maps and legends.

    The percentile classes of geochemical maps (Reimann et al. 2008, ch. 5), linear (type 7)
    percentiles; ``below_dl`` flags breaks at or below the largest DL.

    Examples
    --------
    >>> b = cumulative_class_breaks(range(1, 101), (25, 50, 75))
    >>> b.breaks, b.counts
    ((25.75, 50.5, 75.25), (25, 25, 25, 25))
    """
    x, c = _nonempty(values, censored)
    pct = np.asarray(percents, dtype=np.float64)
    if pct.ndim != 1 or np.any((pct < 0) | (pct > 100)) or np.any(np.diff(pct) <= 0):
        raise StatisticsError(f"percents: must increase within 0–100, got {percents!r}")
    breaks = np.percentile(x, pct)
    cum = np.searchsorted(np.sort(x), breaks, side="right")
    counts = np.diff(np.concatenate(([0], cum, [x.size])))
    max_dl = _max_dl(x, c)
    return ClassBreaks(
        percents=tuple(float(p) for p in pct),
        breaks=tuple(float(b) for b in breaks),
        counts=tuple(int(k) for k in counts),
        below_dl=tuple(_below(float(b), max_dl) for b in breaks),
    )
