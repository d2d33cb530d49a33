"""Fractal and multifractal separation of geochemical anomalies from background.

* **Concentration–number** (:func:`concentration_number`, C-N): the number of samples
  N(≥ v) against the concentration v, log–log; **concentration–area**
  (:func:`concentration_area`, C-A; Cheng, Agterberg & Ballantyne 1994): the area
  A(ρ ≥ v) of a gridded surface at or above v. Populations that follow different power
  laws make straight segments; the breakpoints between them, fitted by segmented
  regression in log10–log10 (:func:`chemearth.stats.segmented.segmented_fit`, Muggeo's
  method, 1–3 breakpoints chosen by BIC or set), are the thresholds, each with its
  standard error and a confidence interval carried to concentration as ``10**(ψ ± t·se)``.
  Those delta-method errors take the points of the cumulative curve as independent and
  are too small; :func:`bootstrap_thresholds` resamples the samples (or cells) instead.
* **Spectrum–area** (:func:`spectrum_area`, S-A; Cheng, Xu & Grunsky 2000): the area of
  the wavenumber plane whose power-spectrum energy is at least S against S, log–log; the
  breakpoint S₀ splits the spectrum into a background filter (E > S₀, and the mean) and
  an anomaly filter (E ≤ S₀), both transformed back to the map.
* **Local singularity** (:func:`singularity`; Cheng 2007): in square windows of side
  ε = 1, 3, 5 … cells around each cell, the mean concentration behaves as c(ε) ∝ ε^(α−2);
  α is the slope of ln c(ε) on ln ε plus 2. α < 2 marks enrichment, α > 2 depletion.
* **Zones** (:func:`zones`): outer, middle and inner anomaly zones at 1, 2 and 4 times a
  threshold as an integer raster; **composite anomalies** (:func:`composite`) of several
  elements, each with its own threshold: the sum of their zone scores and the number of
  elements anomalous in each cell.

Values below the detection limit (DL) follow ``docs/conventions.md`` (value = DL and a
censored flag). A censored value is never counted as measured: at a level v above its DL
it is certainly below v and is not counted; at or below its DL it may or may not be, so
it enters only the upper bound ``measure_max`` of the curve. Points where the count is
uncertain (v below the highest DL) are left out of the fit, so no threshold below the
highest detection limit is reported as measured; with a single DL below every detected
value the curve is exact from the DL up.

Rasters are 2-D arrays with NaN where there is no data; row 0 is the north edge.

References
----------
Cheng, Q., Agterberg, F.P. & Ballantyne, S.B. (1994). The separation of geochemical
anomalies from background by fractal methods. *J. Geochem. Explor.* 51, 109–130.

Cheng, Q., Xu, Y. & Grunsky, E. (2000). Integrated spatial and spectrum method for
geochemical anomaly separation. *Natural Resources Research* 9, 43–52.

Cheng, Q. (2007). Mapping singularities with stream sediment geochemical data for
prediction of undiscovered mineral deposits in Gejiu, Yunnan Province, China.
*Ore Geology Reviews* 32, 314–324.

Examples
--------
>>> n = np.arange(1, 201)  # N(>= v) = 20 (v/10)^-2 above 10 and 20 (v/10)^-0.5 below
>>> values = np.where(n <= 20, 10 * (n / 20) ** -0.5, 10 * (n / 20) ** -2.0)
>>> cn = concentration_number(values)
>>> cn.thresholds.round(6).tolist(), cn.exponents.round(6).tolist()
([10.0], [-0.5, -2.0])
>>> zones(np.array([[1.0, 5.0], [11.0, np.nan]]), 5.0).tolist()
[[0, 1], [2, -1]]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import ndimage

from chemearth.errors import StatisticsError
from chemearth.jsonable import plain
from chemearth.stats.segmented import SegmentedFit, segmented_fit

__all__ = [
    "ZONE_MULTIPLES",
    "ZONE_NAMES",
    "BootstrapThresholds",
    "CompositeAnomaly",
    "FractalCurve",
    "FractalError",
    "FractalFit",
    "SingularityResult",
    "SpectrumArea",
    "bootstrap_thresholds",
    "composite",
    "concentration_area",
    "concentration_number",
    "curve",
    "fit_curve",
    "singularity",
    "spectrum_area",
    "zones",
]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

#: Multiples of the threshold that bound the outer, middle and inner zones.
ZONE_MULTIPLES = (1.0, 2.0, 4.0)
#: Names of the zones 1, 2, 3.
ZONE_NAMES = ("outer", "middle", "inner")
#: Curves of more distinct values than this are evaluated at log-spaced levels.
MAX_LEVELS = 1000
#: Number of log-spaced levels then.
N_LEVELS = 256


class FractalError(StatisticsError):
    """A fractal curve, its breakpoints, a filter or zones that cannot be computed."""


@dataclass(frozen=True)
class FractalCurve:
    """A cumulative log–log curve: ``measure`` at or above each ``level``.

    Attributes
    ----------
    kind : str
        ``"C-N"``, ``"C-A"`` or ``"S-A"``.
    levels : ndarray
        Concentrations (or energies), ascending.
    measure : ndarray
        Count, area or wavenumber area of the values certainly at or above each level
        (measured values ≥ level).
    measure_max : ndarray
        The same counting also every censored value whose DL exceeds the level.
    fitted : ndarray of bool
        Points used in the fit: positive measure and level at or above ``dl_max``.
    dl_max : float
        Highest detection limit of a censored value (NaN when none is censored).
    n_censored : int
        Number of censored values.
    unit : float
        The measure of one value (cell area; 1 for a count).
    """

    kind: str
    levels: FloatArray
    measure: FloatArray
    measure_max: FloatArray
    fitted: BoolArray
    dl_max: float
    n_censored: int
    unit: float

    def log_points(self) -> tuple[FloatArray, FloatArray]:
        """log10 level and log10 measure of the fitted points."""
        f = self.fitted
        return np.log10(self.levels[f]), np.log10(self.measure[f])

    def as_dict(self) -> dict[str, Any]:
        """Plain Python values."""
        return {f.name: plain(getattr(self, f.name), keep_nan=True) for f in fields(self)}


@dataclass(frozen=True)
class FractalFit:
    """A fractal curve with its segmented log–log fit and the thresholds it gives.

    ``thresholds`` are ``10**breakpoints`` (ascending) with their confidence bounds
    ``threshold_low`` and ``threshold_high``; ``exponents`` are the segment slopes
    (negative fractal dimensions of the C-A and C-N plots).
    """

    curve: FractalCurve
    fit: SegmentedFit
    thresholds: FloatArray
    threshold_low: FloatArray
    threshold_high: FloatArray

    @property
    def exponents(self) -> FloatArray:
        return self.fit.slopes

    def as_dict(self) -> dict[str, Any]:
        """Plain Python values (curve, fit and thresholds)."""
        return {"curve": self.curve.as_dict(), "fit": self.fit.as_dict(),
                "thresholds": plain(self.thresholds),
                "threshold_low": plain(self.threshold_low),
                "threshold_high": plain(self.threshold_high)}


def _levels(values: FloatArray, levels: ArrayLike | int | None) -> FloatArray:
    pos = values[values > 0]
    if isinstance(levels, int | np.integer) and not isinstance(levels, bool):
        if levels < 3:
            raise FractalError("levels must be at least 3")
        return np.geomspace(pos.min(), pos.max(), int(levels))
    if levels is not None:
        lv = np.unique(np.asarray(levels, dtype=np.float64))
        if lv.size < 3 or not np.all(np.isfinite(lv)) or np.any(lv <= 0):
            raise FractalError("levels must be at least 3 finite positive values")
        return lv
    distinct = np.unique(pos)
    if distinct.size <= MAX_LEVELS:
        return distinct
    # log-spaced targets, each moved up to the next value: every point is a step of the curve
    targets = np.geomspace(distinct[0], distinct[-1], N_LEVELS)
    return np.unique(distinct[np.searchsorted(distinct, targets * (1 - 1e-12))])


def curve(
    values: ArrayLike,
    censored: ArrayLike | None = None,
    *,
    kind: str = "C-N",
    unit: float = 1.0,
    levels: ArrayLike | int | None = None,
) -> FractalCurve:
    """The cumulative curve ``measure(≥ level)`` of ``values`` (any shape; NaN ignored).

    Parameters
    ----------
    values : array_like
        Concentrations; censored ones at their detection limit.
    censored : array_like of bool, optional
        True where the value is below its detection limit.
    kind : str
        A label: ``"C-N"``, ``"C-A"`` or ``"S-A"``.
    unit : float
        What one value weighs: 1 for a count, the cell area for a surface.
    levels : array_like or int, optional
        The levels v: default every distinct measured value, or when there are more than
        :data:`MAX_LEVELS` of them, the smallest value at or above each of
        :data:`N_LEVELS` log-spaced levels (so every point is a step of the curve); an
        int asks for that many log-spaced levels.

    Examples
    --------
    >>> c = curve([1.0, 2.0, 3.0, 4.0], [True, False, False, False])
    >>> c.levels.tolist(), c.measure.tolist(), c.measure_max.tolist(), c.fitted.tolist()
    ([2.0, 3.0, 4.0], [3.0, 2.0, 1.0], [3.0, 2.0, 1.0], [True, True, True])
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    c = (np.zeros(v.shape, bool) if censored is None
         else np.asarray(censored, dtype=bool).ravel())
    if c.shape != v.shape:
        raise FractalError("censored flags must have the shape of the values")
    if not (unit > 0 and math.isfinite(unit)):
        raise FractalError("unit (the measure of one value) must be positive")
    ok = np.isfinite(v)
    v, c = v[ok], c[ok]
    measured = np.sort(v[~c])
    if np.count_nonzero(measured > 0) < 3:
        raise FractalError(f"a {kind} curve needs at least 3 positive measured values")
    lv = _levels(measured, levels)
    n_ge = measured.size - np.searchsorted(measured, lv, side="left")
    dls = np.sort(v[c])
    n_cens = dls.size - np.searchsorted(dls, lv, side="right")  # DL > level: unknown
    dl_max = float(dls[-1]) if dls.size else math.nan
    fitted = (n_ge > 0) & (lv >= dl_max if dls.size else True)
    measure = np.asarray(n_ge * float(unit), dtype=np.float64)
    measure_max = np.asarray((n_ge + n_cens) * float(unit), dtype=np.float64)
    return FractalCurve(kind, lv, measure, measure_max,
                        np.asarray(fitted, dtype=bool), dl_max, int(dls.size), float(unit))


def fit_curve(
    fc: FractalCurve,
    n_breakpoints: int | None = None,
    *,
    max_breakpoints: int = 3,
    min_points: int = 5,
    confidence: float = 0.95,
) -> FractalFit:
    """Fit breakpoints to a curve in log10–log10 and turn them into thresholds.

    Parameters are those of :func:`chemearth.stats.segmented.segmented_fit`.
    """
    x, y = fc.log_points()
    try:
        fit = segmented_fit(x, y, n_breakpoints, max_breakpoints=max_breakpoints,
                            min_points=min_points, confidence=confidence)
    except StatisticsError as exc:
        raise FractalError(f"{fc.kind} curve: {exc}") from None
    return FractalFit(fc, fit, 10.0 ** fit.breakpoints, 10.0 ** fit.ci_low,
                      10.0 ** fit.ci_high)


def concentration_number(
    values: ArrayLike,
    censored: ArrayLike | None = None,
    *,
    levels: ArrayLike | int | None = None,
    n_breakpoints: int | None = None,
    max_breakpoints: int = 3,
    min_points: int = 5,
    confidence: float = 0.95,
) -> FractalFit:
    """Concentration–number thresholds of samples: N(≥ v) against v, log–log.

    Parameters
    ----------
    values, censored : array_like
        Sample concentrations (censored at their DL) and below-DL flags.
    levels : array_like or int, optional
        See :func:`curve`.
    n_breakpoints, max_breakpoints, min_points, confidence
        See :func:`chemearth.stats.segmented.segmented_fit`.

    Examples
    --------
    >>> n = np.arange(1, 101)
    >>> fit = concentration_number(np.where(n <= 10, 50 / n, 5 * (n / 10) ** -0.25),
    ...                            n_breakpoints=1)
    >>> fit.curve.kind, round(float(fit.thresholds[0]), 6), fit.exponents.round(6).tolist()
    ('C-N', 5.0, [-4.0, -1.0])
    """
    fc = curve(values, censored, kind="C-N", levels=levels)
    return fit_curve(fc, n_breakpoints, max_breakpoints=max_breakpoints,
                     min_points=min_points, confidence=confidence)


def concentration_area(
    surface: ArrayLike,
    censored: ArrayLike | None = None,
    *,
    cell_area: float = 1.0,
    levels: ArrayLike | int | None = None,
    n_breakpoints: int | None = None,
    max_breakpoints: int = 3,
    min_points: int = 5,
    confidence: float = 0.95,
) -> FractalFit:
    """Concentration–area thresholds of a gridded surface: A(ρ ≥ v) against v, log–log.

    Parameters
    ----------
    surface : array_like
        Cell values (a raster with NaN where empty, or the values of the cells).
    censored : array_like of bool, optional
        Cells whose value is a detection limit.
    cell_area : float
        Area of one cell (km², say): the areas are ``cell_area`` times cell counts.
    levels, n_breakpoints, max_breakpoints, min_points, confidence
        As for :func:`concentration_number`.

    Examples
    --------
    >>> r = np.hypot(*np.mgrid[-30:31, -30:31]) + 0.5  # 10 at r = 8, steeper inside
    >>> field = np.where(r > 30, np.nan, np.where(r < 8, 80 / r, 10 * (8 / r) ** 0.5))
    >>> fit = concentration_area(field, n_breakpoints=1, cell_area=0.25)
    >>> round(float(fit.thresholds[0]), 1), fit.exponents.round(1).tolist()
    (10.4, [-4.1, -2.0])
    """
    fc = curve(surface, censored, kind="C-A", unit=cell_area, levels=levels)
    return fit_curve(fc, n_breakpoints, max_breakpoints=max_breakpoints,
                     min_points=min_points, confidence=confidence)


@dataclass(frozen=True)
class BootstrapThresholds:
    """Percentile bootstrap intervals of C-N or C-A thresholds.

    ``thresholds`` are those of the data; ``low`` and ``high`` the bounds of the
    ``confidence`` percentile intervals over the ``n_boot`` − ``n_failed`` replicates
    whose fit succeeded; ``replicates`` holds their thresholds (one row each).
    """

    thresholds: FloatArray
    low: FloatArray
    high: FloatArray
    replicates: FloatArray
    n_boot: int
    n_failed: int
    confidence: float

    def as_dict(self) -> dict[str, Any]:
        return {f.name: plain(getattr(self, f.name)) for f in fields(self)
                if f.name != "replicates"}


def bootstrap_thresholds(
    values: ArrayLike,
    censored: ArrayLike | None = None,
    *,
    n_breakpoints: int,
    kind: str = "C-N",
    unit: float = 1.0,
    levels: ArrayLike | int | None = None,
    n_boot: int = 200,
    confidence: float = 0.95,
    min_points: int = 5,
    seed: int = 0,
) -> BootstrapThresholds:
    """Bootstrap the thresholds of a C-N (samples) or C-A (cell values) curve.

    The values (with their censoring flags) are resampled with replacement, the curve
    rebuilt and refitted with ``n_breakpoints``; the intervals are percentiles of the
    replicates' thresholds. Unlike the delta-method errors of the fit, which take the
    points of a cumulative curve as independent, this carries the sampling variation of
    the data (it still takes the samples, or cells, as independent of each other).

    Examples
    --------
    >>> n = np.arange(1, 201)
    >>> v = np.where(n <= 20, 10 * (n / 20) ** -0.5, 10 * (n / 20) ** -2.0)
    >>> b = bootstrap_thresholds(v, n_breakpoints=1, n_boot=20)
    >>> bool(b.low[0] <= b.thresholds[0] <= b.high[0]), b.n_boot - b.n_failed
    (True, 20)
    """
    if n_boot < 10:
        raise FractalError("n_boot must be at least 10")
    v = np.asarray(values, dtype=np.float64).ravel()
    c = (np.zeros(v.shape, bool) if censored is None
         else np.asarray(censored, dtype=bool).ravel())
    if c.shape != v.shape:
        raise FractalError("censored flags must have the shape of the values")
    ok = np.isfinite(v)
    v, c = v[ok], c[ok]
    base = fit_curve(curve(v, c, kind=kind, unit=unit, levels=levels), n_breakpoints,
                     min_points=min_points, confidence=confidence)
    rng = np.random.default_rng(seed)
    reps = []
    for _ in range(n_boot):
        i = rng.integers(0, v.size, v.size)
        try:
            fc = curve(v[i], c[i], kind=kind, unit=unit, levels=levels)
            reps.append(fit_curve(fc, n_breakpoints, min_points=min_points).thresholds)
        except FractalError:
            continue
    if len(reps) < max(10, n_boot // 2):
        raise FractalError(f"only {len(reps)} of {n_boot} bootstrap fits succeeded")
    r = np.log10(np.array(reps))
    q = 50 * (1 - confidence), 50 * (1 + confidence)
    return BootstrapThresholds(base.thresholds, 10.0 ** np.percentile(r, q[0], axis=0),
                               10.0 ** np.percentile(r, q[1], axis=0), 10.0 ** r, n_boot,
                               n_boot - len(reps), confidence)


def _raster(surface: ArrayLike, name: str = "surface") -> FloatArray:
    a = np.asarray(surface, dtype=np.float64)
    if a.ndim != 2 or min(a.shape) < 2:
        raise FractalError(f"{name} must be a 2-D raster of at least 2 × 2 cells")
    if not np.any(np.isfinite(a)):
        raise FractalError(f"{name} holds no finite value")
    return a


@dataclass(frozen=True)
class SpectrumArea:
    """A spectrum–area separation of a surface.

    ``anomaly`` + ``background`` = the surface (NaN cells stay NaN in both).
    ``energy_threshold`` is S₀; ``fit`` is None when S₀ was given. ``n_filled`` cells
    without data were filled with ``fill_value`` (the mean) before the transform.
    ``energy`` is the power spectrum |F|² (unshifted, as :func:`numpy.fft.fft2`).
    """

    curve: FractalCurve
    fit: FractalFit | None
    energy_threshold: float
    energy: FloatArray
    anomaly: FloatArray
    background: FloatArray
    n_filled: int
    fill_value: float


def spectrum_area(
    surface: ArrayLike,
    *,
    energy_threshold: float | None = None,
    levels: ArrayLike | int | None = None,
    n_breakpoints: int | None = None,
    max_breakpoints: int = 3,
    split: int = -1,
    min_points: int = 5,
    spacing: float = 1.0,
) -> SpectrumArea:
    """Spectrum–area (S-A) fractal filtering of a gridded surface (Cheng et al. 2000).

    Parameters
    ----------
    surface : array_like
        2-D raster; NaN cells are filled with the mean of the others before the 2-D FFT
        (their number is reported) and are NaN again in the results.
    energy_threshold : float, optional
        S₀. Default: a breakpoint of the S-A curve (without the zero wavenumber).
    levels, n_breakpoints, max_breakpoints, min_points
        Of the S-A fit, as for :func:`concentration_number`; the levels are energies,
        by default :data:`N_LEVELS` of them log-spaced from the least positive energy to
        the greatest (energy contours at equal log intervals, as Cheng et al. draw the
        S-A plot: a gap between the background's and the anomalies' energies is a flat
        stretch of the curve, not a single point).
    split : int
        Which breakpoint (ascending energy) is S₀: −1, the highest, separates the
        large-scale background from everything else.
    spacing : float
        Cell size; the S-A areas are in wavenumber units ``1 / (n·spacing)`` squared.

    Returns
    -------
    SpectrumArea
        ``background`` is the inverse transform of the spectrum where E > S₀ (with the
        mean), ``anomaly`` of the rest.

    Examples
    --------
    >>> yy, xx = np.mgrid[0:32, 0:32]
    >>> z = 10 * np.cos(2 * np.pi * xx / 32) + np.cos(2 * np.pi * 8 * yy / 32)
    >>> sa = spectrum_area(z, energy_threshold=1e6)
    >>> float(np.abs(sa.anomaly - np.cos(2 * np.pi * 8 * yy / 32)).max()) < 1e-9
    True
    """
    a = _raster(surface)
    missing = ~np.isfinite(a)
    fill = float(np.mean(a[~missing]))
    filled = np.where(missing, fill, a)
    spectrum = np.fft.fft2(filled)
    energy = np.abs(spectrum) ** 2
    ny, nx = a.shape
    dk = 1.0 / (nx * spacing) / (ny * spacing)
    nonzero = np.ones(a.shape, bool)
    nonzero[0, 0] = False
    fc = curve(energy[nonzero], kind="S-A", unit=dk,
               levels=N_LEVELS if levels is None else levels)
    sa_fit = None
    if energy_threshold is None:
        sa_fit = fit_curve(fc, n_breakpoints, max_breakpoints=max_breakpoints,
                           min_points=min_points)
        try:
            energy_threshold = float(sa_fit.thresholds[split])
        except IndexError:
            raise FractalError(f"split {split}: the S-A fit has "
                               f"{len(sa_fit.thresholds)} breakpoint(s)") from None
    elif not (energy_threshold > 0 and math.isfinite(energy_threshold)):
        raise FractalError("energy_threshold must be positive")
    keep = (energy > energy_threshold) | ~nonzero
    background = np.real(np.fft.ifft2(np.where(keep, spectrum, 0)))
    anomaly = np.real(np.fft.ifft2(np.where(keep, 0, spectrum)))
    background[missing] = np.nan
    anomaly[missing] = np.nan
    return SpectrumArea(fc, sa_fit, float(energy_threshold), energy, anomaly, background,
                        int(missing.sum()), fill)


@dataclass(frozen=True)
class SingularityResult:
    """Local singularity indices of a surface.

    ``alpha`` (α), its standard error ``se`` and the intercept ``log_density`` (ln of
    the fractal density c of c(ε) = c·ε^(α−2)) per cell; NaN where the cell has no data
    or a window mean is not positive. ``windows`` are the window sides ε in cells.
    """

    alpha: FloatArray
    se: FloatArray
    log_density: FloatArray
    windows: tuple[int, ...]


def singularity(surface: ArrayLike, *, windows: Sequence[int] = (1, 3, 5, 7, 9)
                ) -> SingularityResult:
    """Local singularity index α of every cell (Cheng 2007), window method.

    For each cell and each window side ε (odd, in cells, centred on the cell) the mean
    concentration c(ε) of the cells with data in the window is taken (windows reaching
    over the edge use the cells inside); α − 2 is the least-squares slope of ln c(ε) on
    ln ε.

    Parameters
    ----------
    surface : array_like
        2-D raster, NaN where empty.
    windows : sequence of int
        Odd window sides, ascending, at least two.

    Examples
    --------
    >>> float(singularity(np.full((9, 9), 3.0)).alpha[4, 4])
    2.0
    """
    a = _raster(surface)
    w = tuple(int(e) for e in windows)
    if len(w) < 2 or any(e < 1 or e % 2 == 0 for e in w) or list(w) != sorted(set(w)):
        raise FractalError("windows must be at least two ascending odd sizes (1, 3, 5 …)")
    ok = np.isfinite(a)
    vals = np.where(ok, a, 0.0)
    logs = []
    for e in w:
        s = ndimage.uniform_filter(vals, size=e, mode="constant", cval=0.0)
        n = ndimage.uniform_filter(ok.astype(np.float64), size=e, mode="constant", cval=0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            m = np.where(n > 1e-12, s / np.where(n > 1e-12, n, 1.0), np.nan)
            logs.append(np.where(m > 0, np.log(np.where(m > 0, m, 1.0)), np.nan))
    y = np.stack(logs)
    x = np.log(np.asarray(w, dtype=np.float64))
    xc = x - x.mean()
    sxx = float(xc @ xc)
    slope = np.tensordot(xc, y - y.mean(axis=0), axes=1) / sxx
    intercept = y.mean(axis=0) - slope * x.mean()
    resid = y - (intercept + slope * x[:, None, None])
    if len(w) > 2:
        se = np.sqrt((resid**2).sum(axis=0) / (len(w) - 2) / sxx)
    else:
        se = np.full(a.shape, np.nan)
    alpha = slope + 2.0
    bad = ~ok | np.any(~np.isfinite(y), axis=0)
    for arr in (alpha, se, intercept):
        arr[bad] = np.nan
    return SingularityResult(alpha, se, intercept, w)


def zones(
    surface: ArrayLike,
    threshold: float,
    *,
    multiples: Sequence[float] = ZONE_MULTIPLES,
) -> NDArray[np.int8]:
    """Anomaly zones: 0 below ``threshold``, 1 at or above it (outer), 2 at or above
    twice it (middle), 3 at or above four times (inner); −1 where there is no data.

    Parameters
    ----------
    surface : array_like
        Values (any shape), NaN where empty.
    threshold : float
        Positive, in the unit of the values.
    multiples : sequence of float
        Ascending multiples of the threshold bounding zones 1, 2, 3 … (at most 127).

    Examples
    --------
    >>> zones([[0.5, 1.0, 2.5], [4.0, 9.0, np.nan]], 1.0).tolist()
    [[0, 1, 2], [3, 3, -1]]
    """
    a = np.asarray(surface, dtype=np.float64)
    m = np.asarray(multiples, dtype=np.float64)
    if not (threshold > 0 and math.isfinite(threshold)):
        raise FractalError(f"a zone threshold must be positive, not {threshold}")
    if m.ndim != 1 or not 1 <= m.size <= 127 or np.any(m <= 0) or np.any(np.diff(m) <= 0):
        raise FractalError("zone multiples must be 1 to 127 ascending positive numbers")
    ok = np.isfinite(a)
    z = np.searchsorted(m * threshold, np.where(ok, a, 0.0), side="right")
    return np.where(ok, z, -1).astype(np.int8)


@dataclass(frozen=True)
class CompositeAnomaly:
    """Several elements' zones combined cell by cell.

    ``score`` is the sum of the elements' zone numbers (0 where none), ``count`` the
    number of elements anomalous (zone ≥ 1), ``n_valid`` the number with data; all −1
    where no element has data. ``elements`` names the layers in order.
    """

    elements: tuple[str, ...]
    score: NDArray[np.int16]
    count: NDArray[np.int16]
    n_valid: NDArray[np.int16]

    def as_dict(self) -> dict[str, Any]:
        return {f.name: plain(getattr(self, f.name)) for f in fields(self)}


def composite(
    layers: Mapping[str, tuple[ArrayLike, float]],
    *,
    multiples: Sequence[float] = ZONE_MULTIPLES,
) -> CompositeAnomaly:
    """Composite anomaly of several elements, each zoned at its own threshold.

    Parameters
    ----------
    layers : mapping
        Element -> (surface, threshold); surfaces of one shape.
    multiples : sequence of float
        As for :func:`zones`.

    Examples
    --------
    >>> c = composite({"Cu": ([[1.0, 30.0], [60.0, np.nan]], 20.0),
    ...                "Ni": ([[5.0, 9.0], [1.0, np.nan]], 4.0)})
    >>> c.score.tolist(), c.count.tolist(), c.n_valid.tolist()
    ([[1, 3], [2, -1]], [[1, 2], [1, -1]], [[2, 2], [2, -1]])
    """
    if not layers:
        raise FractalError("a composite anomaly needs at least one element")
    zs = {el: zones(s, thr, multiples=multiples) for el, (s, thr) in layers.items()}
    shapes = {z.shape for z in zs.values()}
    if len(shapes) != 1:
        raise FractalError(f"the surfaces of a composite differ in shape: {sorted(shapes)}")
    stack = np.stack(list(zs.values())).astype(np.int16)
    valid = (stack >= 0).sum(axis=0).astype(np.int16)
    score = np.where(stack > 0, stack, 0).sum(axis=0).astype(np.int16)
    count = (stack > 0).sum(axis=0).astype(np.int16)
    none = valid == 0
    return CompositeAnomaly(tuple(zs), np.where(none, -1, score).astype(np.int16),
                            np.where(none, -1, count).astype(np.int16),
                            np.where(none, -1, valid).astype(np.int16))
