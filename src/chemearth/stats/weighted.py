"""Weighted statistics for declustered baselines.

Dense surveys put many samples where sparse ones put few; pooled, the dense ones dominate
every sample-based statistic. *Declustering* weights each sample by ``1 / (samples in its
grid cell)`` so that every cell of a chosen level weighs the same
(:func:`declustering_weights`). This module gives every baseline statistic of
:func:`chemearth.stats.baselines.baseline_of` with such weights
(:func:`weighted_baseline_of`), built on:

* :func:`weighted_percentile` — percentiles with **frequency weights**, the definition of
  ``scipy.stats.quantile(x, p, weights=w)``: a weight of ``k`` counts a value ``k`` times.
  With ``method="linear"`` (the default, used for the baselines) it is Hyndman & Fan type 7
  on that "replicated" sample: for sorted values with cumulative weights ``S_i`` and total
  ``W``, the virtual 0-based position is ``h = (W - 1) p``; the lower value is the first
  whose ``S_i > h``, the upper one the first whose ``S_i > h + 1``, and they are
  interpolated with the fraction ``h - floor(h)``. So integer weights give exactly
  ``numpy.percentile(numpy.repeat(x, w), q)``, and all weights 1 give exactly
  ``numpy.percentile(x, q)``, the sample-based definition of
  :mod:`chemearth.stats.summary`. Because the definition counts, the scale of the weights
  matters (weights 2 are not weights 1): declustering weights are therefore scaled to sum
  to the number of samples (each cell counts as ``n / n_cells`` samples), which makes them
  all 1 when every cell holds as many samples. ``method="inverted_cdf"`` (Hyndman & Fan
  type 1, scale-free) is the definition of ``numpy.quantile(x, p, weights=w,
  method="inverted_cdf")`` and of the Kaplan–Meier percentiles.
* :func:`weighted_kaplan_meier` — the Kaplan–Meier estimate of left-censored data with
  weights: at each detected value ``y`` (from the largest down), with ``d`` the weight of
  the detects equal to ``y`` and ``r`` the weight of the observations known to be ``<= y``,
  ``P(X < y) = P(X <= y) (1 - d / r)``. Integer weights give exactly the unweighted
  :func:`chemearth.stats.censored.kaplan_meier` of the replicated sample; the scale of the
  weights does not matter.
* weighted means and frequency-weighted standard deviations,
  ``sqrt(Σ w (x - m)² / (Σ w - 1))`` (``ddof=1`` of the replicated sample).

Values below the detection limit (DL) are never counted as measured: they enter the order
statistics at their DL and every percentile at or below the largest DL is flagged, as in
:func:`chemearth.stats.summary.describe`; the Kaplan–Meier estimates treat them as ``< DL``.

Examples
--------
>>> w = declustering_weights(["a", "a", "a", "b"])     # three samples in a, one in b
>>> w.tolist()
[0.6666666666666666, 0.6666666666666666, 0.6666666666666666, 2.0]
>>> weighted_percentile([1.0, 2.0, 3.0, 10.0], w, 50)   # cell b weighs as much as a
6.5
>>> weighted_percentile([1.0, 2.0, 3.0, 10.0], [1, 1, 1, 1], 50)   # sample-based
2.5
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

from chemearth.errors import StatisticsError
from chemearth.stats.baselines import CLASS_PERCENTS
from chemearth.stats.censored import PROB_TOL, ROS_MAX_CENSORED_SHARE, ros
from chemearth.stats.summary import DESCRIBE_PERCENTS, MAD_NORMAL, UBV_MIN_SAMPLES

__all__ = [
    "WeightedKMResult",
    "declustering_weights",
    "effective_n",
    "weighted_baseline_of",
    "weighted_kaplan_meier",
    "weighted_mean",
    "weighted_percentile",
    "weighted_sd",
]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
Method = Literal["linear", "inverted_cdf"]

#: Relative tolerance of "at or below the largest DL" (log10 round trips, as ``describe``).
DL_TOL = 1e-9


def _checked(
    values: ArrayLike, censored: ArrayLike | None, weights: ArrayLike
) -> tuple[FloatArray, BoolArray, FloatArray]:
    """Values, flags and weights as arrays; NaN values and zero weights dropped."""
    try:
        x = np.asarray(values, dtype=np.float64)
        w = np.asarray(weights, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise StatisticsError(f"values/weights: not numbers ({exc})") from None
    if x.ndim != 1 or w.shape != x.shape:
        raise StatisticsError(
            f"values and weights: need two 1-D arrays of one length, got {x.shape}, {w.shape}"
        )
    if censored is None:
        c = np.zeros(x.shape, dtype=bool)
    else:
        raw = np.asarray(censored)
        if raw.shape != x.shape or (raw.size and raw.dtype.kind not in "bui"):
            raise StatisticsError(f"censored: need {x.size} booleans, got {raw.shape} {raw.dtype}")
        c = raw.astype(bool)
    if np.isinf(x).any():
        raise StatisticsError("values: infinite values are not allowed")
    if not np.isfinite(w).all() or (w < 0).any():
        raise StatisticsError("weights: must be finite and >= 0")
    keep = ~np.isnan(x) & (w > 0)
    return x[keep], c[keep], w[keep]


def declustering_weights(cells: ArrayLike) -> FloatArray:
    """Weights ``n / (n_cells · m)``, ``m`` the number of samples in a sample's cell.

    Every cell gets the same total weight ``n / n_cells``, and the weights sum to ``n``: as
    frequency weights (see :func:`weighted_percentile`) each cell counts as ``n / n_cells``
    samples, and when every cell holds as many samples every weight is exactly 1.

    Parameters
    ----------
    cells : array_like
        The cell of each sample: integer keys (``-1``, off the grid, is refused: drop those
        samples first) or any labels.

    Returns
    -------
    ndarray of float

    Raises
    ------
    StatisticsError
        No cells, not 1-D, or a cell key ``-1``.

    Examples
    --------
    >>> declustering_weights([7, 7, 9, 9]).tolist()
    [1.0, 1.0, 1.0, 1.0]
    >>> declustering_weights([7, 9, 9, 9]).tolist()
    [2.0, 0.6666666666666666, 0.6666666666666666, 0.6666666666666666]
    """
    keys = np.asarray(cells)
    if keys.ndim != 1 or keys.size == 0:
        raise StatisticsError("cells: need a non-empty 1-D array of cells")
    if keys.dtype.kind in "iu" and (keys < 0).any():
        raise StatisticsError("cells: samples off the grid (cell -1) cannot be declustered")
    _, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    return np.asarray(keys.size / (counts.size * counts[inverse]), dtype=np.float64)


def effective_n(weights: ArrayLike) -> float:
    """Kish's effective sample size ``(Σ w)² / Σ w²``: ``n`` for equal weights.

    Examples
    --------
    >>> effective_n([1.0, 1.0, 1.0, 1.0]), round(effective_n([2.0, 2 / 3, 2 / 3, 2 / 3]), 9)
    (4.0, 3.0)
    """
    w = np.asarray(weights, dtype=np.float64)
    return float(w.sum() ** 2 / np.sum(w * w)) if w.size and w.sum() > 0 else math.nan


@overload
def weighted_percentile(
    values: ArrayLike, weights: ArrayLike, q: float, *, method: Method = "linear"
) -> float: ...
@overload
def weighted_percentile(
    values: ArrayLike,
    weights: ArrayLike,
    q: Sequence[float] | FloatArray,
    *,
    method: Method = "linear",
) -> FloatArray: ...
def weighted_percentile(
    values: ArrayLike,
    weights: ArrayLike,
    q: float | Sequence[float] | FloatArray,
    *,
    method: Method = "linear",
) -> float | FloatArray:
    """Percentiles with frequency weights (see the module docstring).

    Parameters
    ----------
    values : array_like of float
        Values (censored ones at their DL); NaN are dropped with their weights.
    weights : array_like of float
        Frequency weights, finite and ``>= 0`` (zero weights drop the value). With
        ``method="linear"`` they must sum to at least 1.
    q : float or sequence of float
        Percent(s), 0–100.
    method : {"linear", "inverted_cdf"}
        ``"linear"``: type 7 on the replicated sample (= ``numpy.percentile`` with all
        weights 1, = ``scipy.stats.quantile(..., weights=w)``). ``"inverted_cdf"``: the
        smallest value whose cumulative weight share reaches ``q / 100`` (=
        ``numpy.quantile(..., weights=w, method="inverted_cdf")``, except that a share
        within 1e-10 of ``q / 100`` counts as reaching it, as in the Kaplan–Meier
        percentiles).

    Returns
    -------
    float or ndarray
        A float for a scalar ``q``, else an array of the same length.

    Raises
    ------
    StatisticsError
        No value with a positive weight, bad weights or percents, or an unknown method.

    Examples
    --------
    >>> weighted_percentile([1.0, 2.0, 3.0, 4.0], [1, 1, 1, 1], [25, 50])
    array([1.75, 2.5 ])
    >>> weighted_percentile([1.0, 2.0], [3, 1], 50)    # = percentile of [1, 1, 1, 2]
    1.0
    >>> weighted_percentile([1.0, 2.0], [3, 1], 80, method="inverted_cdf")
    2.0
    """
    x, _, w = _checked(values, None, weights)
    if x.size == 0:
        raise StatisticsError("values: no value with a positive weight")
    qa = np.asarray(q, dtype=np.float64)
    if np.isnan(qa).any() or np.any((qa < 0) | (qa > 100)):
        raise StatisticsError(f"q: percentiles must lie in 0–100, got {q!r}")
    order = np.argsort(x, kind="stable")
    xs, cum = x[order], np.cumsum(w[order])
    p = qa / 100
    if method == "linear":
        if cum[-1] < 1:
            raise StatisticsError("weights: frequency weights must sum to at least 1")
        out = _linear(xs, cum, p)
    elif method == "inverted_cdf":
        i = np.searchsorted(cum / cum[-1], p - PROB_TOL, side="left")
        out = xs[np.minimum(i, xs.size - 1)]
    else:
        raise StatisticsError(f"method: 'linear' or 'inverted_cdf', got {method!r}")
    return float(out) if qa.ndim == 0 else np.asarray(out, dtype=np.float64)


def _linear(xs: FloatArray, cum: FloatArray, p: FloatArray) -> FloatArray:
    """Type 7 on the replicated sample, interpolated exactly as ``numpy.percentile`` does."""
    last = xs.size - 1
    h = (cum[-1] - 1) * p
    lo = np.minimum(np.searchsorted(cum, h, side="right"), last)
    hi = np.minimum(np.searchsorted(cum, h + 1, side="right"), last)
    t = h - np.floor(h)
    a, b = xs[lo], xs[hi]
    diff = b - a
    return np.asarray(np.where(t >= 0.5, b - diff * (1 - t), a + diff * t), dtype=np.float64)


def weighted_mean(values: ArrayLike, weights: ArrayLike) -> float:
    """``Σ w x / Σ w``.

    Examples
    --------
    >>> weighted_mean([1.0, 4.0], [3.0, 1.0])
    1.75
    """
    x, _, w = _checked(values, None, weights)
    if x.size == 0:
        raise StatisticsError("values: no value with a positive weight")
    return float(np.sum(w * x) / np.sum(w))


def weighted_sd(values: ArrayLike, weights: ArrayLike) -> float:
    """Frequency-weighted standard deviation ``sqrt(Σ w (x - m)² / (Σ w - 1))``.

    With integer weights, ``numpy.std(numpy.repeat(x, w), ddof=1)``; NaN when the weights
    sum to 1 or less.

    Examples
    --------
    >>> round(weighted_sd([1.0, 3.0], [2.0, 2.0]), 6)     # sd of 1, 1, 3, 3 (ddof=1)
    1.154701
    """
    x, _, w = _checked(values, None, weights)
    total = float(np.sum(w))
    if x.size == 0 or total <= 1:
        return math.nan
    d = x - np.sum(w * x) / total
    return float(np.sqrt(np.sum(w * d * d) / (total - 1)))


# --------------------------------------------------------------------------- Kaplan–Meier


@dataclass(frozen=True, eq=False)
class WeightedKMResult:
    """Weighted Kaplan–Meier distribution of left-censored data (see
    :func:`weighted_kaplan_meier`).

    Attributes
    ----------
    x : ndarray
        The distinct detected values, ascending: where the ECDF steps.
    cdf : ndarray
        ``P(X <= x)`` at each ``x``.
    weight_at_risk, weight_detected : ndarray
        Weight of the observations known to be ``<= x``, and of the detects equal to ``x``.
    n, n_censored : int
        Number of values (with a positive weight) and of censored ones.
    mean : float
        Area under the survival curve from the lowest value; the mass KM cannot place
        (``undetermined``) is put at the lowest DL, so the mean is then biased high.
    median : float
        :meth:`percentile` 50.
    undetermined : float
        Probability below the lowest detect, whose distribution KM cannot tell.
    lowest_censored : bool
        A censored value lies at or below the lowest detect.
    """

    x: FloatArray
    cdf: FloatArray
    weight_at_risk: FloatArray
    weight_detected: FloatArray
    n: int
    n_censored: int
    mean: float
    median: float
    undetermined: float
    lowest_censored: bool

    def percentile(self, q: float) -> float:
        """The smallest detected value whose cumulative probability reaches ``q / 100``;
        NaN when that lies below the lowest detect (``q / 100 <= undetermined``).

        Examples
        --------
        >>> km = weighted_kaplan_meier([1.0, 2.0, 3.0], [False] * 3, [1.0, 1.0, 2.0])
        >>> km.percentile(50), km.percentile(51)
        (2.0, 3.0)
        """
        if not 0 <= q <= 100:
            raise StatisticsError(f"q: percentile {q} is outside 0–100")
        return _km_percentile(self.x, self.cdf, self.undetermined, q / 100)


def _km_percentile(x: FloatArray, cdf: FloatArray, undetermined: float, p: float) -> float:
    if undetermined > 0 and p <= undetermined + PROB_TOL:
        return math.nan
    i = int(np.searchsorted(cdf, p - PROB_TOL, side="left"))
    return float(x[min(i, x.size - 1)])


def _frozen(a: ArrayLike) -> FloatArray:
    out = np.array(a, dtype=np.float64)
    out.flags.writeable = False
    return out


def weighted_kaplan_meier(
    values: ArrayLike, censored: ArrayLike, weights: ArrayLike
) -> WeightedKMResult:
    """Kaplan–Meier estimate of left-censored data with weights.

    As :func:`chemearth.stats.censored.kaplan_meier` (Helsel 2012, ch. 6, computed on the
    original scale) with weights in place of counts: a ``<DL`` tied with a detect at the DL
    is counted below it. Integer weights give the unweighted estimate of the sample with
    each value repeated as often; multiplying all weights by a constant changes nothing.

    Parameters
    ----------
    values : array_like of float
        Values; for a censored value, its detection limit.
    censored : array_like of bool
        True where the value is below its detection limit.
    weights : array_like of float
        Weights, finite and ``>= 0`` (zero weights drop the value).

    Returns
    -------
    WeightedKMResult

    Raises
    ------
    StatisticsError
        No values, no detected value, or malformed input.

    Examples
    --------
    >>> km = weighted_kaplan_meier([1.0, 2.0, 3.0, 4.0], [False, True, False, False],
    ...                            [1.0, 1.0, 1.0, 1.0])
    >>> km.cdf.round(4).tolist(), round(km.mean, 4), km.median
    ([0.5, 0.75, 1.0], 2.25, 1.0)
    """
    x, c, w = _checked(values, censored, weights)
    if x.size == 0:
        raise StatisticsError("weighted_kaplan_meier: no values")
    if c.all():
        raise StatisticsError("weighted_kaplan_meier: every value is censored; KM needs a detect")
    ys, inverse = np.unique(x[~c], return_inverse=True)  # ascending
    d = np.bincount(inverse, weights=w[~c], minlength=ys.size)
    det_below = np.concatenate(([0.0], np.cumsum(d)[:-1]))
    cen_order = np.argsort(x[c], kind="stable")
    cen_x, cen_cum = x[c][cen_order], np.cumsum(w[c][cen_order])
    k = np.searchsorted(cen_x, ys, side="right")
    cen_le = np.where(k > 0, cen_cum[np.maximum(k - 1, 0)] if cen_cum.size else 0.0, 0.0)
    rest = det_below + cen_le  # weight known <= y, without the detects at y
    below = np.cumprod((rest / (d + rest))[::-1])  # P(X < y), from the largest y down
    cdf_desc = np.concatenate(([1.0], below[:-1]))
    undetermined = float(below[-1])
    mean = float(np.sum((cdf_desc - below) * ys[::-1]) + undetermined * float(x.min()))
    cdf = cdf_desc[::-1]
    return WeightedKMResult(
        x=_frozen(ys),
        cdf=_frozen(cdf),
        weight_at_risk=_frozen(d + rest),
        weight_detected=_frozen(d),
        n=int(x.size),
        n_censored=int(c.sum()),
        mean=mean,
        median=_km_percentile(ys, cdf, undetermined, 0.5),
        undetermined=undetermined,
        lowest_censored=bool(c.any() and x[c].min() <= ys[0]),
    )


# --------------------------------------------------------------------------- baselines


def _ros_weighted(x: FloatArray, c: BoolArray, w: FloatArray) -> tuple[FloatArray, FloatArray]:
    """ROS combined sample (fitted on the samples, unweighted) with a weight per value.

    Censored values sharing one DL are exchangeable (each is only known to be ``< DL``), so
    the spread of values ROS imputes for them is given their mean weight; each keeps the
    group's total weight. Detects keep their own weight (tied detects share one value).
    """
    r = ros(x, c)
    kept = ~(c & (x > x[~c].max()))  # ros drops censored values above every detect
    keys = np.where(c[kept], -1.0, 1.0) * x[kept]  # DL (negative) or detected value
    groups, inverse = np.unique(keys, return_inverse=True)
    mean_w = np.bincount(inverse, weights=w[kept]) / np.bincount(inverse)
    model_keys = np.where(r.censored, -1.0, 1.0) * r.obs
    weights = mean_w[np.searchsorted(groups, model_keys)]
    return np.asarray(r.modeled, dtype=np.float64), np.asarray(weights, dtype=np.float64)


def _log_method(n: int, n_cen: int) -> str:
    """How the log statistics treat censored values (the rule of ``describe``)."""
    if n_cen == 0:
        return "none"
    if n - n_cen >= 3 and n_cen / n <= ROS_MAX_CENSORED_SHARE:
        return "ros"
    return "dl"


def _below(value: float | None, max_dl: float | None) -> bool:
    return value is not None and max_dl is not None and bool(value <= max_dl * (1 + DL_TOL))


def _two_sigma(logs: FloatArray, w: FloatArray, max_iter: int = 100) -> tuple[float, bool]:
    """Weighted iterative mean ± 2 sd of log10 values: (upper limit, converged)."""
    kept, kw = logs, w
    mean, sd, converged = math.nan, math.nan, False
    for _ in range(max_iter):
        mean, sd = weighted_mean(kept, kw), weighted_sd(kept, kw)
        if not math.isfinite(sd):
            return math.nan, False
        inside = (kept >= mean - 2 * sd) & (kept <= mean + 2 * sd)
        if inside.all():
            converged = True
            break
        kept, kw = kept[inside], kw[inside]
    return float(10.0 ** (mean + 2 * sd)), converged


def weighted_baseline_of(
    values: ArrayLike, censored: ArrayLike, weights: ArrayLike
) -> dict[str, Any]:
    """Every statistic of :func:`chemearth.stats.baselines.baseline_of`, with weights.

    The same keys, computed with frequency weights (:func:`weighted_percentile`, linear;
    :func:`weighted_mean`, :func:`weighted_sd`; :func:`weighted_kaplan_meier`). With all
    weights 1 the result equals ``baseline_of``; with integer weights it equals
    ``baseline_of`` of the replicated sample except for the ROS-based statistics (``gmean``
    and ``log10_sd`` under ``log_method = "ros"``, ``ros_median``, ``ros_mean``): ROS is
    fitted on the samples, unweighted; each detect keeps its weight and the values imputed
    for the censored values at one DL share those values' mean weight). ``n`` counts
    samples (also for the 30 samples the UBV needs). KM statistics are NaN when every value
    is censored.

    Parameters
    ----------
    values : array_like of float
        Values; for a censored value, its detection limit.
    censored : array_like of bool
        True where the value is below its detection limit.
    weights : array_like of float
        Frequency weights (e.g. :func:`declustering_weights`), summing to at least 1.

    Returns
    -------
    dict

    Examples
    --------
    >>> b = weighted_baseline_of([1.0, 2.0, 4.0, 8.0, 16.0], [False] * 5, [1.0] * 5)
    >>> b["median"], round(b["tukey_upper"], 6), b["ubv"]
    (4.0, 64.0, None)
    >>> weighted_baseline_of([1.0, 2.0, 4.0], [False] * 3, [2.0, 0.5, 0.5])["median"]
    1.0
    """
    x, c, w = _checked(values, censored, weights)
    if x.size == 0:
        raise StatisticsError("values: no value with a positive weight")
    n, n_cen = int(x.size), int(c.sum())
    max_dl = float(x[c].max()) if n_cen else None
    out: dict[str, Any] = {"n": n, "n_censored": n_cen, "censored_pct": 100.0 * n_cen / n}
    out["max_dl"] = max_dl
    order = {"min": float(x.min())}
    pcts = weighted_percentile(x, w, list(DESCRIBE_PERCENTS.values()))
    order.update(zip(DESCRIBE_PERCENTS, (float(v) for v in pcts), strict=True))
    order["max"] = float(x.max())
    out.update(order)
    out["mad"] = weighted_percentile(np.abs(x - order["median"]), w, 50.0)
    out["mad_normal"] = MAD_NORMAL * out["mad"]
    out.update(_log_stats(x, c, w))
    out["below_dl"] = ",".join(k for k, v in order.items() if _below(v, max_dl))
    out.update(_km_ros(x, c, w, order["median"]))
    out.update(_thresholds(x, c, w))
    for p, v in zip(CLASS_PERCENTS, weighted_percentile(x, w, CLASS_PERCENTS), strict=True):
        out[f"class_p{p}"] = float(v)
    return out


def _log_stats(x: FloatArray, c: BoolArray, w: FloatArray) -> dict[str, Any]:
    method = _log_method(x.size, int(c.sum()))
    out: dict[str, Any] = {"gmean": math.nan, "log10_sd": math.nan}
    if not np.any(x <= 0):
        vals, vw = _ros_weighted(x, c, w) if method == "ros" else (x, w)
        logs = np.log10(vals)
        out["gmean"] = float(10.0 ** weighted_mean(logs, vw))
        out["log10_sd"] = weighted_sd(logs, vw) if logs.size > 1 else math.nan
    out["log_method"] = method
    return out


def _km_ros(x: FloatArray, c: BoolArray, w: FloatArray, median: float) -> dict[str, float]:
    out = {"km_median": math.nan, "km_mean": math.nan}
    if not c.all():
        km = weighted_kaplan_meier(x, c, w)
        out["km_median"], out["km_mean"] = km.median, km.mean
    if not c.any():
        out["ros_median"], out["ros_mean"] = median, weighted_mean(x, w)
        return out
    try:
        vals, vw = _ros_weighted(x, c, w)
        out["ros_median"] = weighted_percentile(vals, vw, 50.0)
        out["ros_mean"] = weighted_mean(vals, vw)
    except StatisticsError:
        out["ros_median"] = out["ros_mean"] = math.nan
    return out


def _thresholds(x: FloatArray, c: BoolArray, w: FloatArray) -> dict[str, Any]:
    """Tukey fences and median ± 2 MAD on log10, UBV, iterative 2σ on log10; weighted."""
    nan = math.nan
    out: dict[str, Any] = {"tukey_lower": nan, "tukey_upper": nan, "mad2_lower": nan}
    out["mad2_upper"] = nan
    positive = bool((x > 0).all())
    if positive:
        logs = np.log10(x)
        q1, q3 = weighted_percentile(logs, w, [25.0, 75.0])
        out["tukey_lower"] = float(10.0 ** (q1 - 1.5 * (q3 - q1)))
        out["tukey_upper"] = float(10.0 ** (q3 + 1.5 * (q3 - q1)))
        med = weighted_percentile(logs, w, 50.0)
        spread = MAD_NORMAL * weighted_percentile(np.abs(logs - med), w, 50.0)
        out["mad2_lower"] = float(10.0 ** (med - 2 * spread))
        out["mad2_upper"] = float(10.0 ** (med + 2 * spread))
    out["ubv"], out["ubv_capped"] = None, False
    if x.size >= UBV_MIN_SAMPLES:
        p25, p75 = weighted_percentile(x, w, [25.0, 75.0])
        raw, top = float(p75 + 1.5 * (p75 - p25)), float(x.max())
        out["ubv"], out["ubv_capped"] = min(raw, top), raw > top
    out["sigma2_upper"], out["sigma2_converged"] = nan, False
    if positive and x.size >= 2:
        out["sigma2_upper"], out["sigma2_converged"] = _two_sigma(np.log10(x), w)
    return out
