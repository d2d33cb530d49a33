"""Probabilistic screening: the probability that the soil exceeds a limit, per point or
grid cell, from lognormal kriging and the precision of the QC duplicates.

A bare kriged value above or below a limit hides how sure the map is. This module gives,
for every target, ``P(true concentration > limit)`` and puts it in one of three bands a
regulator can act on: **probably above** (``P >= p_hi``, default 0.9), **probably below**
(``P <= p_lo``, default 0.1) and **uncertain** in between; and it checks on held-out samples
that those probabilities are honest (:func:`chemearth.assess.calibration.calibration`).

The predictive distribution
    ``ln z`` is kriged by :class:`chemearth.interp.kriging.Interpolator` with ``log=True``.
    At a point, ``ln Z ~ N(y*, s^2)`` with ``y*`` the ordinary-kriging estimate of ``ln z``
    (:attr:`Kriged.transformed`) and ``s^2`` from the kriging variance ``sigma^2`` (below).
    This is the distribution :meth:`Kriged.interval` already uses, and the exact posterior
    predictive of a Gaussian field whose mean is unknown (flat prior) and whose covariance
    is the variogram's: the ordinary-kriging error ``Y - y*`` has mean 0 and variance
    ``sigma^2``. The Lagrange term ``mu`` of the back-transform ``exp(y* + sigma^2/2 + mu)``
    (Journel 1980) makes the *estimate of the mean* unbiased over repeated sampling; it is
    not a shift of the error distribution, so it is reported in ``estimate`` but not added
    to ``ln_mean`` (adding it, ``mu < 0`` as a rule, would bias every probability low).
    For a grid cell (block kriging), ``ln_mean`` is ``ln(estimate) - v/2`` and ``s^2 = v``,
    the block variance, as :mod:`chemearth.interp.surfaces` centres its intervals.

The error model (what is screened, and where the QC precision enters)
    Measured values are ``ln z_meas = S + e``: ``S`` the true concentration of the soil at
    the site and ``e ~ N(0, tau^2)`` the measurement error, with
    ``tau^2 = ln(1 + RSD^2)`` and ``RSD`` the relative standard deviation of one result
    from the QC duplicates (:class:`MeasurementPrecision`; field duplicates by default, as
    they carry both sampling and analytical error, which is what the variogram's nugget
    holds). The variogram's nugget ``c0`` is that error plus micro-scale variation, so the
    error part is ``tau_e^2 = min(tau^2, c0)`` (a nugget smaller than ``tau^2`` means the
    variogram claims better precision than the duplicates show: the whole nugget is then
    error, and ``nugget_clipped`` says so).

    * ``quantity="true"`` (default) screens ``S``, the soil, not a lab result: at a target
      away from every sample ``s^2 = sigma^2 - tau_e^2``, since the kriging variance of
      ordinary kriging with a nugget predicts a *new measurement* there and so contains
      the error of that measurement; at a target on a sample, where kriging returns the
      measured value with ``sigma^2 = 0``, the measured value is not the truth:
      :func:`filtered_on_samples` krige ``S`` there (the sample's own error left out of its
      covariance with the target), which moves the estimate towards the neighbours and
      gives a variance between 0 and ``tau_e^2``. Both are ordinary kriging of ``S`` from
      noisy data (Cressie 1993, sec. 3.2.1). A grid cell's block variance already leaves
      the nugget out (error averages over a block), so it is used as it is.
    * ``quantity="measured"`` screens what one new analysis of a new sample at the target
      would report: ``s^2`` of ``"true"`` plus ``tau^2`` (away from samples this is
      ``sigma^2 + max(0, tau^2 - c0)``), about ``S``'s estimate. It is what held-out
      samples can test, so :func:`chemearth.assess.calibration.calibration` uses it by
      default.

    So a poorer precision *narrows* the uncertain band of ``"true"`` away from samples
    (more of the nugget is error, less is soil variation) and *widens* it on the samples
    and for ``"measured"``; :func:`screen_samples` screens measured values on their own
    (``s = tau``). Values below the detection limit are never taken as measured: a sample
    screens as "probably below" when even its detection limit would, else "uncertain".

Limits
    A number (or one per target), or a standard's limit: ``standard``, ``element``,
    ``level`` and ``land_use`` as in :mod:`chemearth.assess.screening`, with a single pH or
    one per target (pH-dependent limits such as GB 15618-2018's; a missing pH takes the most
    protective band, as screening does).

Examples
--------
>>> import numpy as np
>>> from chemearth.interp.kriging import Interpolator
>>> from chemearth.interp.variogram import Variogram
>>> ip = Interpolator([0, 100, 0, 100], [0, 0, 100, 100], [10.0, 20.0, 40.0, 80.0],
...                   log=True, variogram=Variogram("exponential", 0.05, 0.5, 200.0))
>>> s = screen_points(ip, [50.0, 0.0], [50.0, 100.0], limit=30.0,
...                   precision=MeasurementPrecision(0.10))
>>> s.frame[["probability", "band"]].round(3).to_dict("list")
{'probability': [0.446, 0.998], 'band': ['uncertain', 'probably above']}

References
----------
Journel, A.G. (1980). The lognormal approach to predicting local distributions of
selective mining unit grades. *Mathematical Geology* 12, 285-303.

Cressie, N. (1993). *Statistics for Spatial Data*, rev. ed., sec. 3.2.1 (kriging with
measurement error). Wiley.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy.stats import norm

from chemearth.errors import ChemearthError, NotFoundError, StatisticsError
from chemearth.interp.kriging import Interpolator, Kriged
from chemearth.qc.precision import pair_arrays
from chemearth.qc.precision import precision as duplicate_precision
from chemearth.qc.report import duplicate_pairs, linked_qc
from chemearth.reference.standards import Standard, get_standard

if TYPE_CHECKING:
    from chemearth.grid.geometry import Grid
    from chemearth.interp.surfaces import Interpolation
    from chemearth.store.base import Store

__all__ = [
    "BANDS",
    "P_HI",
    "P_LO",
    "MeasurementPrecision",
    "ProbabilisticError",
    "ProbabilisticScreening",
    "Quantity",
    "bands_of",
    "check_probabilities",
    "check_quantity",
    "exceedance_probability",
    "filtered_on_samples",
    "limits_for",
    "precision_of",
    "screen_cells",
    "screen_dataset",
    "screen_points",
    "screen_samples",
]

#: Default probability at or above which a target is "probably above".
P_HI: Final = 0.9
#: Default probability at or below which a target is "probably below".
P_LO: Final = 0.1
#: The bands, from the most to the least likely to exceed.
BANDS: Final = ("probably above", "uncertain", "probably below")
#: A target closer than this (m) to a sample is on it.
ON_SAMPLE: Final = 1e-6

Floats = NDArray[np.float64]
Quantity = Literal["true", "measured"]


class ProbabilisticError(ChemearthError, ValueError):
    """Probabilistic screening cannot be done as asked (bad probabilities, limits, or an
    interpolator without a kriging variance)."""


@dataclass(frozen=True)
class MeasurementPrecision:
    """The precision of one result: relative standard deviation ``rsd`` (a fraction).

    Attributes
    ----------
    rsd : float
        Relative standard deviation of one measurement (0.1 = 10 %).
    n_pairs : int
        Duplicate pairs behind it (0: given).
    source : str
        Where it comes from (e.g. ``"field duplicates"``).

    Examples
    --------
    >>> p = MeasurementPrecision(0.1)
    >>> round(p.ln_variance, 6), round(p.ln_sd, 4)
    (0.00995, 0.0998)
    >>> MeasurementPrecision.from_duplicates([10.0, 20.0, 40.0], [11.0, 19.0, 40.0]).n_pairs
    3
    """

    rsd: float
    n_pairs: int = 0
    source: str = "given"

    def __post_init__(self) -> None:
        if not (math.isfinite(self.rsd) and self.rsd >= 0):
            raise ProbabilisticError(f"rsd must be a finite fraction >= 0, got {self.rsd}")

    @property
    def ln_variance(self) -> float:
        """``ln(1 + rsd^2)``: the variance of ``ln`` of a result."""
        return math.log1p(self.rsd**2)

    @property
    def ln_sd(self) -> float:
        """``sqrt(ln(1 + rsd^2))``."""
        return math.sqrt(self.ln_variance)

    @classmethod
    def from_duplicates(cls, a: ArrayLike, b: ArrayLike, censored_a: ArrayLike | None = None,
                        censored_b: ArrayLike | None = None, *,
                        source: str = "field duplicates") -> MeasurementPrecision:
        """The RSD of duplicate pairs (:func:`chemearth.qc.precision.precision`: the
        root-mean-square of the pairs' CVs; censored pairs left out)."""
        p = duplicate_precision(a, b, censored_a, censored_b)
        return cls(p.rsd_pct / 100.0, p.n_pairs, source)


def _tau2(precision: MeasurementPrecision | float | None) -> float:
    if precision is None:
        return 0.0
    if isinstance(precision, MeasurementPrecision):
        return precision.ln_variance
    return MeasurementPrecision(float(precision)).ln_variance


def exceedance_probability(ln_mean: ArrayLike, ln_sd: ArrayLike, limit: ArrayLike) -> Floats:
    """``P(Z > limit)`` for ``ln Z ~ N(ln_mean, ln_sd^2)``; with ``ln_sd = 0``, 1 or 0.

    NaN where any input is NaN or the limit is not positive.

    Examples
    --------
    >>> exceedance_probability([0.0, 0.0, 1.0], [1.0, 0.0, 0.5], [1.0, 2.0, 1.0]).round(4)
    array([0.5   , 0.    , 0.9772])
    """
    m, s, lim = np.broadcast_arrays(*(np.asarray(a, dtype=np.float64)
                                      for a in (ln_mean, ln_sd, limit)))
    out = np.full(m.shape, np.nan)
    ok = np.isfinite(m) & np.isfinite(s) & np.isfinite(lim) & (lim > 0) & (s >= 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (np.log(np.where(ok, lim, 1.0)) - m) / s
    pos = ok & (s > 0)
    out[pos] = norm.sf(z[pos])
    zero = ok & (s == 0)
    out[zero] = (m[zero] > np.log(lim[zero])).astype(float)
    return out


def check_probabilities(p_lo: float, p_hi: float) -> None:
    """Raise :class:`ProbabilisticError` unless ``0 < p_lo < p_hi < 1``."""
    if not 0.0 < p_lo < p_hi < 1.0:
        raise ProbabilisticError(f"need 0 < p_lo < p_hi < 1, got p_lo={p_lo}, p_hi={p_hi}")


def bands_of(probability: ArrayLike, p_lo: float = P_LO, p_hi: float = P_HI
             ) -> pd.Categorical[Any]:
    """The band of each probability: ``P >= p_hi`` "probably above", ``P <= p_lo``
    "probably below", else "uncertain" (NaN: no band).

    Examples
    --------
    >>> list(bands_of([0.95, 0.9, 0.5, 0.1, float("nan")]))
    ['probably above', 'probably above', 'uncertain', 'probably below', nan]
    """
    check_probabilities(p_lo, p_hi)
    p = np.asarray(probability, dtype=np.float64)
    code = np.where(p >= p_hi, 0, np.where(p <= p_lo, 2, 1))
    code = np.where(np.isfinite(p), code, -1)
    return pd.Categorical.from_codes(code, categories=pd.Index(list(BANDS)))


def limits_for(
    n: int,
    limit: float | ArrayLike | None = None,
    *,
    standard: Standard | str | None = None,
    element: str | None = None,
    level: str = "screening",
    land_use: str | None = None,
    ph: float | ArrayLike | None = None,
) -> Floats:
    """The limit of each of ``n`` targets: ``limit`` (one or ``n``), or a standard's.

    With a standard the limits are those :meth:`Standard.classify` compares with (so
    :mod:`~chemearth.assess.screening` and this module agree), by pH band when the
    standard has bands: ``ph`` is one value or one per target; missing, the most
    protective band.

    Examples
    --------
    >>> limits_for(3, standard="gb15618-2018", element="Cd", land_use="paddy",
    ...            ph=[5.0, 7.0, float("nan")]).tolist()
    [0.3, 0.6, 0.3]
    """
    if (limit is None) == (standard is None):
        raise ProbabilisticError("give either a limit or a standard (with its element)")
    if limit is not None:
        lim = np.broadcast_to(np.asarray(limit, dtype=np.float64), (n,)).copy() if np.ndim(
            limit) == 0 else np.asarray(limit, dtype=np.float64).ravel()
        if lim.size != n:
            raise ProbabilisticError(f"{lim.size} limits for {n} targets")
    else:
        if element is None:
            raise ProbabilisticError("a standard's limit needs an element")
        std = standard if isinstance(standard, Standard) else get_standard(str(standard))
        p = np.broadcast_to(np.asarray(np.nan if ph is None else ph, dtype=np.float64), (n,))
        if level not in std.levels:
            raise ProbabilisticError(f"standard {std.id} has no level {level!r}")
        lim = std.classify(element, np.zeros(n), ph=p, land_use=land_use).limits[level]
    bad = np.isfinite(lim) & (lim <= 0)
    if bad.any():
        raise ProbabilisticError(f"limits must be positive; {int(bad.sum())} are not")
    if not np.isfinite(lim).any():
        raise ProbabilisticError("no target has a limit")
    return lim


@dataclass
class ProbabilisticScreening:
    """The probability of exceeding a limit at every target, and its band.

    Attributes
    ----------
    frame : pandas.DataFrame
        One row per target: ``key`` (the given keys or cell keys), ``easting``,
        ``northing`` (or the cells' ``cell_id``, ``longitude``, ``latitude``),
        ``estimate`` (the kriged mean, original unit), ``median`` (``exp(ln_mean)``),
        ``ln_mean``, ``ln_sd``, ``limit``, ``probability``, ``band``, ``on_sample``.
    p_lo, p_hi : float
        The band thresholds.
    quantity : str
        ``"true"`` or ``"measured"`` (module notes).
    model : dict
        The error model as JSON-ready data (``tau2``, ``nugget``, ``nugget_clipped``…).
    """

    frame: pd.DataFrame
    p_lo: float
    p_hi: float
    quantity: str
    model: dict[str, Any] = field(default_factory=dict)

    def counts(self) -> pd.DataFrame:
        """Targets per band, with the probabilities each band stands for.

        Examples
        --------
        >>> s = screen_samples([5.0, 50.0, 12.0], limit=10.0, precision=0.2)
        >>> s.counts()[["band", "n"]].to_dict("list")
        {'band': ['probably above', 'uncertain', 'probably below'], 'n': [1, 1, 1]}
        """
        n = self.frame["band"].value_counts().reindex(list(BANDS), fill_value=0)
        return pd.DataFrame({
            "band": list(BANDS),
            "probability": [f"P >= {self.p_hi:g}", f"{self.p_lo:g} < P < {self.p_hi:g}",
                            f"P <= {self.p_lo:g}"],
            "n": n.to_numpy(np.int64),
            "mean_probability": [float(self.frame.loc[self.frame["band"] == b,
                                                      "probability"].mean())
                                 if n[b] else math.nan for b in BANDS],
        })

    def describe(self) -> dict[str, Any]:
        """Thresholds, counts and the error model, as JSON-ready data."""
        return {"p_lo": self.p_lo, "p_hi": self.p_hi, "quantity": self.quantity,
                "counts": dict(zip(BANDS, self.counts()["n"].tolist(), strict=True)),
                **self.model}


def _screening(frame: pd.DataFrame, ln_mean: Floats, ln_sd: Floats, lim: Floats,
               p_lo: float, p_hi: float, quantity: str, model: dict[str, Any]
               ) -> ProbabilisticScreening:
    p = exceedance_probability(ln_mean, ln_sd, lim)
    frame = frame.assign(median=np.exp(ln_mean), ln_mean=ln_mean, ln_sd=ln_sd, limit=lim,
                         probability=p, band=bands_of(p, p_lo, p_hi))
    frame.attrs.update({"p_lo": p_lo, "p_hi": p_hi, "quantity": quantity, **model})
    return ProbabilisticScreening(frame, p_lo, p_hi, quantity, model)


def check_quantity(q: str) -> None:
    """Raise :class:`ProbabilisticError` unless ``q`` is "true" or "measured"."""
    if q not in ("true", "measured"):
        raise ProbabilisticError(f"quantity must be 'true' or 'measured', got {q!r}")


def filtered_on_samples(interpolator: Interpolator, easting: Floats, northing: Floats,
                        error: float, *, chunk: int = 1024) -> tuple[Floats, Floats]:
    """Ordinary kriging of the noise-free value ``S`` at targets on samples: the
    ln-scale estimate and variance when ``error`` (``tau_e^2 <= nugget``) of the nugget is
    measurement error (Cressie 1993, sec. 3.2.1).

    The system is that of the data (their covariances with the full nugget on the
    diagonal); the right-hand side is the covariance of the data with ``S``, which lacks
    ``error`` at the sample the target is on, and the variance of ``S`` is
    ``sill - error``. With ``error = 0`` this is exact interpolation (the measured value,
    variance 0); the neighbours are those of :attr:`Interpolator.neighbours` (within its
    radius).

    Examples
    --------
    >>> from chemearth.interp.variogram import Variogram
    >>> ip = Interpolator([0, 100, 0, 100], [0, 0, 100, 100], [10.0, 20.0, 40.0, 80.0],
    ...                   log=True, variogram=Variogram("exponential", 0.05, 0.5, 200.0))
    >>> m, v = filtered_on_samples(ip, np.array([0.0]), np.array([0.0]), 0.0)
    >>> round(float(np.exp(m[0])), 9), round(float(v[0]), 12)
    (10.0, 0.0)
    >>> m, v = filtered_on_samples(ip, np.array([0.0]), np.array([0.0]), 0.05)
    >>> bool(np.log(10.0) < m[0]), bool(0 < v[0] < 0.05)
    (True, True)
    """
    vg = interpolator.variogram
    n, k = interpolator.n, interpolator.neighbours
    mean = np.full(easting.size, np.nan)
    var = np.full(easting.size, np.nan)
    radius = np.inf if interpolator.radius is None else interpolator.radius
    for a in range(0, easting.size, chunk):
        tx, ty = easting[a:a + chunk], northing[a:a + chunk]
        d, i = interpolator.tree.query(np.column_stack([tx, ty]), k=k,
                                       distance_upper_bound=radius)
        d = np.asarray(d, dtype=np.float64).reshape(tx.size, k)
        i = np.asarray(i, dtype=np.int64).reshape(tx.size, k)
        valid = i < n
        j = np.where(valid, i, 0)
        sx, sy, st = interpolator.x[j], interpolator.y[j], interpolator.t[j]
        m = tx.size
        lhs = np.zeros((m, k + 1, k + 1))
        cov = vg.covariance(np.hypot(sx[:, :, None] - sx[:, None, :],
                                     sy[:, :, None] - sy[:, None, :]))
        both = valid[:, :, None] & valid[:, None, :]
        lhs[:, :k, :k] = np.where(both, cov, 0.0)
        lhs[:, np.arange(k), np.arange(k)] = np.where(valid, vg.sill, 1.0)
        lhs[:, :k, k] = lhs[:, k, :k] = valid
        rhs = np.zeros((m, k + 1))
        rhs[:, :k] = np.where(valid, vg.covariance(d) - np.where(d <= ON_SAMPLE, error, 0.0),
                              0.0)
        rhs[:, k] = 1.0
        sol = np.linalg.solve(lhs, rhs[:, :, None])[:, :, 0]
        lam = sol[:, :k]
        mean[a:a + chunk] = (lam * np.where(valid, st, 0.0)).sum(axis=1)
        var[a:a + chunk] = np.maximum(
            vg.sill - error - (lam * rhs[:, :k]).sum(axis=1) - sol[:, k], 0.0)
    return mean, var


def _point_distribution(ip: Interpolator, k: Kriged, tx: Floats, ty: Floats,
                        on: NDArray[np.bool_], tau2: float, quantity: str
                        ) -> tuple[Floats, Floats, dict[str, Any]]:
    """``ln_mean`` and ``s^2`` of each point target (module notes), and the model."""
    vg = ip.variogram
    tau_e2 = min(tau2, vg.nugget)
    ln_mean = k.transformed.copy()
    var = np.maximum(k.variance - tau_e2, 0.0)
    if on.any():
        ln_mean[on], var[on] = filtered_on_samples(ip, tx[on], ty[on], tau_e2)
    if quantity == "measured":
        var = var + tau2
    model = {"tau2": tau2, "nugget": vg.nugget, "tau2_removed_from_nugget": tau_e2,
             "nugget_clipped": bool(tau2 > vg.nugget), "support": "point",
             "variogram": vg.describe()}
    return ln_mean, var, model


def screen_points(
    interpolator: Interpolator,
    easting: ArrayLike,
    northing: ArrayLike,
    *,
    limit: float | ArrayLike | None = None,
    standard: Standard | str | None = None,
    element: str | None = None,
    level: str = "screening",
    land_use: str | None = None,
    ph: float | ArrayLike | None = None,
    precision: MeasurementPrecision | float | None = None,
    quantity: Quantity = "true",
    keys: ArrayLike | None = None,
    p_lo: float = P_LO,
    p_hi: float = P_HI,
) -> ProbabilisticScreening:
    """``P(z > limit)`` at points (same CRS as the interpolator's samples).

    Parameters
    ----------
    interpolator : Interpolator
        Ordinary kriging with ``log=True``.
    easting, northing : array_like
        The targets.
    limit, standard, element, level, land_use, ph
        The limits (:func:`limits_for`).
    precision : MeasurementPrecision or float, optional
        The precision of one result (a float is an RSD fraction); None: no measurement
        error (the nugget is all soil variation).
    quantity : {"true", "measured"}
        What is screened (module notes).
    keys : array_like, optional
        A key per target (default: 0 … n-1).
    p_lo, p_hi : float
        Band thresholds.

    Raises
    ------
    ProbabilisticError
        For IDW or ``log=False``, bad thresholds or limits.
    """
    check_probabilities(p_lo, p_hi)
    check_quantity(quantity)
    if interpolator.method != "kriging" or not interpolator.log:
        raise ProbabilisticError("probabilistic screening needs lognormal kriging "
                                 "(method='kriging', log=True)")
    tx = np.asarray(easting, dtype=np.float64).ravel()
    ty = np.asarray(northing, dtype=np.float64).ravel()
    lim = limits_for(tx.size, limit, standard=standard, element=element, level=level,
                     land_use=land_use, ph=ph)
    k = interpolator.predict(tx, ty)
    d, _ = interpolator.tree.query(np.column_stack([tx, ty]), k=1)
    on = np.asarray(d) <= ON_SAMPLE
    ln_mean, var, model = _point_distribution(interpolator, k, tx, ty, on, _tau2(precision),
                                              quantity)
    frame = pd.DataFrame({"key": np.arange(tx.size) if keys is None else np.asarray(keys),
                          "easting": tx, "northing": ty, "estimate": k.estimate,
                          "on_sample": on})
    return _screening(frame, ln_mean, np.sqrt(var), lim, p_lo, p_hi, quantity, model)


def screen_cells(
    interpolation: Interpolation,
    grid: str | Grid = "global",
    grid_level: int | str = "10km",
    *,
    limit: float | ArrayLike | None = None,
    standard: Standard | str | None = None,
    element: str | None = None,
    level: str = "screening",
    land_use: str | None = None,
    ph: float | pd.Series | None = None,
    precision: MeasurementPrecision | float | None = None,
    quantity: Quantity = "true",
    p_lo: float = P_LO,
    p_hi: float = P_HI,
    **cells: Any,
) -> ProbabilisticScreening:
    """``P(cell mean > limit)`` for the cells of a grid level
    (:meth:`chemearth.interp.surfaces.Interpolation.cells`, block kriging).

    ``element`` defaults to the interpolation's; ``ph`` is one value or a Series indexed
    by ``cell_key``; ``limit`` one value or a Series by ``cell_key``. Other keywords go to
    :meth:`~chemearth.interp.surfaces.Interpolation.cells`. The frame's ``key`` is the
    ``cell_key``, with ``cell_id``, ``longitude`` and ``latitude`` for maps.
    """
    check_probabilities(p_lo, p_hi)
    check_quantity(quantity)
    ip = interpolation.interpolator
    if ip.method != "kriging" or not ip.log:
        raise ProbabilisticError("probabilistic screening needs lognormal kriging "
                                 "(method='kriging', log=True)")
    c = interpolation.cells(grid, grid_level, **cells)
    keys = c["cell_key"]
    ph_of: float | Floats | None = (ph.reindex(keys.to_numpy()).to_numpy(np.float64)
                                    if isinstance(ph, pd.Series) else ph)
    if isinstance(limit, pd.Series):
        limit = limit.reindex(keys.to_numpy()).to_numpy(np.float64)
    lim = limits_for(len(c), limit, standard=standard,
                     element=element or (interpolation.element if standard else None),
                     level=level, land_use=land_use, ph=ph_of)
    est = c["estimate"].to_numpy(np.float64)
    v = c["variance"].to_numpy(np.float64)
    tau2 = _tau2(precision)
    var = v + (tau2 if quantity == "measured" else 0.0)
    frame = pd.DataFrame({"key": keys.to_numpy(), "cell_id": c["cell_id"].to_numpy(),
                          "longitude": c["longitude"].to_numpy(),
                          "latitude": c["latitude"].to_numpy(), "estimate": est,
                          "on_sample": False})
    model = {"tau2": tau2, "nugget": ip.variogram.nugget, "tau2_removed_from_nugget": 0.0,
             "nugget_clipped": bool(tau2 > ip.variogram.nugget), "support": "block",
             "variogram": ip.variogram.describe(), "dataset": interpolation.dataset,
             "element": interpolation.element, "unit": interpolation.unit}
    return _screening(frame, np.log(est) - v / 2.0, np.sqrt(var), lim, p_lo, p_hi,
                      quantity, model)


def screen_samples(
    values: ArrayLike,
    *,
    censored: ArrayLike | None = None,
    limit: float | ArrayLike | None = None,
    standard: Standard | str | None = None,
    element: str | None = None,
    level: str = "screening",
    land_use: str | None = None,
    ph: float | ArrayLike | None = None,
    precision: MeasurementPrecision | float,
    keys: ArrayLike | None = None,
    p_lo: float = P_LO,
    p_hi: float = P_HI,
) -> ProbabilisticScreening:
    """``P(true concentration > limit)`` of each measured value alone:
    ``ln S ~ N(ln value, tau^2)``.

    A censored value (its detection limit given) is not a measurement: its probability
    is the one of the detection limit, an upper bound, and its band "probably below" when
    that bound is at most ``p_lo``, else "uncertain" (never "probably above").
    """
    check_probabilities(p_lo, p_hi)
    v = np.asarray(values, dtype=np.float64).ravel()
    cen = (np.zeros(v.size, bool) if censored is None
           else np.broadcast_to(np.asarray(censored, dtype=bool), v.shape))
    lim = limits_for(v.size, limit, standard=standard, element=element, level=level,
                     land_use=land_use, ph=ph)
    tau2 = _tau2(precision)
    with np.errstate(divide="ignore", invalid="ignore"):
        ln_mean = np.where(v > 0, np.log(np.where(v > 0, v, 1.0)), np.nan)
    frame = pd.DataFrame({"key": np.arange(v.size) if keys is None else np.asarray(keys),
                          "estimate": v, "censored": cen, "on_sample": True})
    s = _screening(frame, ln_mean, np.full(v.size, math.sqrt(tau2)), lim, p_lo, p_hi,
                   "true", {"tau2": tau2, "support": "sample"})
    band = s.frame["band"].copy()
    band[cen & (band == BANDS[0]).to_numpy()] = BANDS[1]
    s.frame["band"] = band
    return s


def precision_of(store: Store, dataset_id: str, element: str, method: str | None = None,
                 *, roles: Sequence[str] = ("field-duplicates", "analytical-duplicates")
                 ) -> MeasurementPrecision:
    """The precision of ``element`` (by ``method``) from the duplicates of the
    quality-control datasets linked to ``dataset_id`` (:func:`chemearth.qc.report.linked_qc`).

    Field duplicates come first (sampling plus analytical error, what the nugget holds);
    analytical duplicates only when there are none (``source`` says which). Without
    ``method``, the method with the most usable pairs. Only pairs of the same method as
    the values screened are used: another method's precision says nothing of them.

    Raises
    ------
    NotFoundError
        When no linked duplicates give two usable pairs of the element and method.
    """
    specs = linked_qc(store, dataset_id)
    for role in roles:
        for qc_id, spec in sorted(specs.items()):
            if spec.role != role:
                continue
            pairs = duplicate_pairs(store, qc_id, spec, [element])
            pairs = pairs[pairs["element"] == element]
            if method is not None:
                pairs = pairs[pairs["method"] == method]
            elif len(pairs):
                usable = pairs.groupby("method")[["a", "b", "censored_a", "censored_b"]].apply(
                    lambda g: len(pair_arrays(g["a"], g["b"], g["censored_a"],
                                              g["censored_b"])[0]))
                pairs = pairs[pairs["method"] == usable.idxmax()]
            try:
                p = MeasurementPrecision.from_duplicates(
                    pairs["a"], pairs["b"], pairs["censored_a"], pairs["censored_b"],
                    source=f"{role.replace('-', ' ')} ({qc_id}"
                           f"{', ' + str(pairs['method'].iloc[0]) if len(pairs) else ''})")
            except StatisticsError:
                continue
            return p
    raise NotFoundError(f"no duplicates of {element}{' by ' + method if method else ''} "
                        f"give a precision for {dataset_id!r}")


def screen_dataset(
    store: Store,
    dataset_id: str,
    element: str,
    grid: str | Grid = "global",
    grid_level: int | str = "10km",
    *,
    limit: float | ArrayLike | None = None,
    standard: Standard | str | None = None,
    level: str = "screening",
    land_use: str | None = None,
    ph: float | pd.Series | None = None,
    precision: MeasurementPrecision | float | Literal["qc"] | None = "qc",
    quantity: Quantity = "true",
    p_lo: float = P_LO,
    p_hi: float = P_HI,
    analytical_method: str | None = None,
    **options: Any,
) -> ProbabilisticScreening:
    """Probabilistic screening of one element of a dataset on the cells of a grid level:
    :func:`chemearth.interp.surfaces.interpolate` (lognormal kriging; ``options`` go to
    it), the precision of the dataset's own QC duplicates (``precision="qc"``, by the
    method interpolated: :func:`precision_of`; none found, the screening goes on without
    measurement error and ``model["precision_source"]`` says so), then
    :func:`screen_cells`.
    """
    from chemearth.interp.surfaces import interpolate

    it = interpolate(store, dataset_id, element, analytical_method=analytical_method,
                     method="kriging", log=True, **options)
    prec: MeasurementPrecision | float | None = precision if not isinstance(
        precision, str) else None
    source = "none" if precision is None else "given"
    if isinstance(precision, str):
        if precision != "qc":
            raise ProbabilisticError(f"precision must be 'qc', a number or None, got "
                                     f"{precision!r}")
        try:
            prec = precision_of(store, dataset_id, element, it.method)
            source = prec.source
        except NotFoundError as e:
            source = f"none: {e}"
    out = screen_cells(it, grid, grid_level, limit=limit, standard=standard,
                       element=element, level=level, land_use=land_use, ph=ph,
                       precision=prec, quantity=quantity, p_lo=p_lo, p_hi=p_hi)
    rsd = prec.rsd if isinstance(prec, MeasurementPrecision) else prec
    out.model.update({"precision_source": source, "rsd": rsd, "method": it.method})
    out.frame.attrs.update({"precision_source": source, "rsd": rsd, "method": it.method})
    return out
