"""Calibration of probabilistic screening on held-out samples.

:func:`calibration` checks the probabilities of :mod:`chemearth.assess.probabilistic`
where the answer is known: the samples are split into k random folds, each fold is
predicted by kriging the others (the variogram refitted to them unless given), and in
each bin of predicted probability (the three bands, or equal-width bins such as deciles)
the fraction of held-out samples that exceed their limit is compared with the bin's mean
probability, with a binomial confidence interval (Wilson by default, or Clopper-Pearson,
:meth:`scipy.stats.binomtest`).

A bin is **calibrated** when its interval holds its mean probability. A band keeps its
**promise** when the observed fraction is not significantly outside what the band says:
"probably above" ``ci_high >= p_hi`` (among targets given P >= 0.9, at least 90 % exceed,
within sampling error), "probably below" ``ci_low <= p_lo``, "uncertain" an interval that
overlaps ``[p_lo, p_hi]``.

The held-out values are measurements, so ``quantity="measured"`` is what they test; a
simulation can pass the noise-free field as ``observed`` to test ``quantity="true"``.
Values below the detection limit enter the kriging at ``censored_factor`` x DL; held out,
one counts as not exceeding when its DL is at most the limit and is left out otherwise: it
is never taken as a measured value.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy.stats import binomtest

from chemearth.assess.probabilistic import (
    BANDS,
    P_HI,
    P_LO,
    MeasurementPrecision,
    ProbabilisticError,
    Quantity,
    bands_of,
    check_probabilities,
    check_quantity,
    limits_for,
    screen_points,
)
from chemearth.interp.kriging import NEIGHBOURS, Interpolator
from chemearth.interp.variogram import Variogram
from chemearth.reference.standards import Standard

__all__ = ["Calibration", "calibration"]

Floats = NDArray[np.float64]


@dataclass
class Calibration:
    """Predicted probabilities against exceedances observed at held-out samples.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per bin: ``bin``, ``p_from``, ``p_to``, ``n``, ``exceeding``,
        ``mean_probability``, ``observed_fraction``, ``ci_low``, ``ci_high`` (binomial
        interval at ``confidence``), ``calibrated`` (the mean probability within the
        interval) and ``promise`` (bands: "probably above" has ``ci_high >= p_hi``,
        "probably below" ``ci_low <= p_lo``, "uncertain" overlaps ``[p_lo, p_hi]``; deciles:
        as ``calibrated``).
    predictions : pandas.DataFrame
        Per held-out sample: ``fold``, ``easting``, ``northing``, ``value``, ``censored``,
        ``limit``, ``probability``, ``band``, ``exceeds`` (1, 0, or NaN when a detection
        limit above the limit leaves it unknown).
    folds, confidence, method, quantity, p_lo, p_hi :
        How it was done.
    """

    table: pd.DataFrame
    predictions: pd.DataFrame
    folds: int
    confidence: float
    method: str
    quantity: str
    p_lo: float
    p_hi: float

    @property
    def passed(self) -> bool:
        """Every populated bin keeps its promise."""
        t = self.table[self.table["n"] > 0]
        return bool(t["promise"].all())

    @property
    def calibrated(self) -> bool:
        """Every populated bin's mean probability is within its interval."""
        t = self.table[self.table["n"] > 0]
        return bool(t["calibrated"].all())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the table only)."""
        return {"folds": self.folds, "confidence": self.confidence, "method": self.method,
                "quantity": self.quantity, "p_lo": self.p_lo, "p_hi": self.p_hi,
                "passed": self.passed, "calibrated": self.calibrated,
                "bins": self.table.to_dict("records")}


def _interval(k: int, n: int, confidence: float, method: str) -> tuple[float, float]:
    if n == 0:
        return math.nan, math.nan
    ci = binomtest(k, n).proportion_ci(confidence_level=confidence, method=method)
    return float(ci.low), float(ci.high)


def _bin_table(p: Floats, obs: Floats, bins: str | int | Sequence[float], p_lo: float,
               p_hi: float, confidence: float, method: str) -> pd.DataFrame:
    if isinstance(bins, str):
        if bins != "bands":
            raise ProbabilisticError(f"bins must be 'bands', a count or edges, got {bins!r}")
        names = list(BANDS)
        band = np.asarray(bands_of(p, p_lo, p_hi).codes)
        rng = [(p_hi, 1.0), (p_lo, p_hi), (0.0, p_lo)]
    else:
        edges = (np.linspace(0.0, 1.0, int(bins) + 1) if isinstance(bins, int | np.integer)
                 else np.asarray(bins, dtype=np.float64))
        if edges.size < 2 or np.any(np.diff(edges) <= 0):
            raise ProbabilisticError("bin edges must increase")
        band = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, edges.size - 2)
        rng = list(itertools.pairwise(edges.tolist()))
        names = [f"{a:g}-{b:g}" for a, b in rng]
    rows = []
    for j, name in enumerate(names):
        sel = band == j
        n, k = int(sel.sum()), int(obs[sel].sum())
        lo, hi = _interval(k, n, confidence, method)
        mp = float(p[sel].mean()) if n else math.nan
        cal = bool(n and lo <= mp <= hi)
        if isinstance(bins, str):
            promise = [n and hi >= p_hi, n and hi >= p_lo and lo <= p_hi,
                       n and lo <= p_lo][j]
        else:
            promise = cal
        rows.append({"bin": name, "p_from": rng[j][0], "p_to": rng[j][1], "n": n,
                     "exceeding": k, "mean_probability": mp,
                     "observed_fraction": k / n if n else math.nan, "ci_low": lo,
                     "ci_high": hi, "calibrated": cal, "promise": bool(promise)})
    return pd.DataFrame(rows)


def calibration(
    easting: ArrayLike,
    northing: ArrayLike,
    values: ArrayLike,
    *,
    censored: ArrayLike | None = None,
    limit: float | ArrayLike | None = None,
    standard: Standard | str | None = None,
    element: str | None = None,
    level: str = "screening",
    land_use: str | None = None,
    ph: float | ArrayLike | None = None,
    precision: MeasurementPrecision | float | None = None,
    quantity: Quantity = "measured",
    observed: ArrayLike | None = None,
    folds: int = 5,
    seed: int = 0,
    variogram: Variogram | None = None,
    model: str = "auto",
    neighbours: int = NEIGHBOURS,
    censored_factor: float = 0.5,
    bins: str | int | Sequence[float] = "bands",
    p_lo: float = P_LO,
    p_hi: float = P_HI,
    confidence: float = 0.95,
    method: str = "wilson",
) -> Calibration:
    """Check the probabilities on held-out samples: k random folds; each fold's samples
    are predicted by kriging the others (the variogram refitted to them unless given),
    and the exceedances observed among the targets of each probability bin are compared
    with the bin's mean probability.

    The held-out values are measurements, so ``quantity="measured"`` is what they test.
    Censored values enter the kriging at ``censored_factor`` x DL; held out, one counts as
    not exceeding when its DL is at most the limit and is left out otherwise (never as a
    measured value).

    Parameters
    ----------
    easting, northing, values : array_like
        Samples (projected CRS, metres; values with censored ones at their DL).
    censored : array_like of bool, optional
        Which values are below their detection limit.
    limit, standard, element, level, land_use, ph
        Limits per sample (:func:`limits_for`; ``ph`` per sample for pH bands).
    precision, quantity
        As :func:`screen_points`.
    observed : array_like, optional
        What each held-out sample's exceedance is judged on (default: ``values``); a
        simulation passes the noise-free field here to test ``quantity="true"``.
    folds, seed : int
        Random folds of near-equal size.
    variogram, model, neighbours
        The kriging (:class:`~chemearth.interp.kriging.Interpolator`).
    bins : "bands", int or sequence
        The three bands, or equal-width bins of P (e.g. 10), or bin edges.
    confidence : float
        Level of the binomial intervals.
    method : {"wilson", "exact", "wilsoncc"}
        Interval (``"exact"``: Clopper-Pearson), as :meth:`scipy.stats.binomtest`.

    Examples
    --------
    >>> rng = np.random.default_rng(3)
    >>> x, y = rng.uniform(0, 1000, (2, 120))
    >>> z = np.exp(np.sin(x / 300) + np.cos(y / 250) + rng.normal(0, 0.2, 120))
    >>> cal = calibration(x, y, z, limit=float(np.median(z)), folds=4,
    ...                   variogram=Variogram("exponential", 0.04, 0.6, 300.0))
    >>> cal.table["n"].sum(), cal.passed
    (np.int64(120), True)
    """
    check_probabilities(p_lo, p_hi)
    check_quantity(quantity)
    if method not in ("wilson", "exact", "wilsoncc"):
        raise ProbabilisticError(f"unknown interval method {method!r}")
    x, y, v = (np.asarray(a, dtype=np.float64).ravel() for a in (easting, northing, values))
    if not x.shape == y.shape == v.shape:
        raise ProbabilisticError("easting, northing and values differ in length")
    cen = (np.zeros(v.size, bool) if censored is None
           else np.broadcast_to(np.asarray(censored, dtype=bool), v.shape).copy())
    lim = limits_for(v.size, limit, standard=standard, element=element, level=level,
                     land_use=land_use, ph=ph)
    ref = v if observed is None else np.asarray(observed, dtype=np.float64).ravel()
    if ref.shape != v.shape:
        raise ProbabilisticError(f"{ref.size} observed values for {v.size} samples")
    ok = np.isfinite(x) & np.isfinite(y) & np.isfinite(v) & (v > 0) & np.isfinite(lim)
    x, y, v, cen, lim, ref = x[ok], y[ok], v[ok], cen[ok], lim[ok], ref[ok]
    f = int(folds)
    if not 2 <= f <= v.size:
        raise ProbabilisticError(f"folds must be 2 to {v.size}, got {folds}")
    kriged = np.where(cen, v * censored_factor, v)
    fold = np.empty(v.size, dtype=np.int64)
    fold[np.random.default_rng(seed).permutation(v.size)] = np.arange(v.size) % f
    p = np.full(v.size, np.nan)
    band: NDArray[Any] = np.empty(v.size, dtype=object)
    for j in range(f):
        test, train = fold == j, fold != j
        ip = Interpolator(x[train], y[train], kriged[train], log=True, variogram=variogram,
                          model=model, neighbours=neighbours, workers=1)
        s = screen_points(ip, x[test], y[test], limit=lim[test], precision=precision,
                          quantity=quantity, p_lo=p_lo, p_hi=p_hi)
        p[test] = s.frame["probability"].to_numpy()
        band[test] = s.frame["band"].astype(object).to_numpy()
    exceeds = np.where(cen, np.where(ref <= lim, 0.0, np.nan), (ref > lim).astype(float))
    preds = pd.DataFrame({"fold": fold, "easting": x, "northing": y, "value": v,
                          "censored": cen, "limit": lim, "probability": p, "band": band,
                          "exceeds": exceeds})
    use = np.isfinite(exceeds) & np.isfinite(p)
    table = _bin_table(p[use], exceeds[use], bins, p_lo, p_hi, confidence, method)
    return Calibration(table, preds, f, confidence, method, quantity, p_lo, p_hi)
