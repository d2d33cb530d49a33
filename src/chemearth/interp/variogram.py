"""Experimental variograms and the fitting of variogram models.

:func:`experimental` estimates the semivariogram of values at points in a projected CRS
(metres) in distance classes (Matheron's method-of-moments estimator, or Cressie and
Hawkins' robust one); :func:`fit` fits a spherical, exponential or Gaussian model with a
nugget to it by weighted least squares, and picks the best of the three when asked for
``"auto"``. Every parameter can be fixed instead of fitted. The result is a
:class:`Variogram`, which :mod:`chemearth.interp.kriging` uses.

Conventions (those of gstat, Pebesma 2004, which most geochemists know):

* ``gamma(h) = nugget + psill * f(h / range)`` for ``h > 0`` and ``gamma(0) = 0``, with
  ``f`` = ``1.5 t - 0.5 t^3`` (spherical, reaching the sill at ``range``),
  ``1 - exp(-t)`` (exponential, practical range ``3 range``) or ``1 - exp(-t^2)``
  (Gaussian, practical range ``sqrt(3) range``). The covariance is
  ``C(h) = nugget + psill - gamma(h)``.
* Distance classes are of equal width up to ``cutoff`` (default one third of the diagonal
  of the points' bounding box, gstat's default), 15 of them; a class's lag is the mean
  distance of its pairs, and classes with fewer than 30 pairs are not fitted (Journel &
  Huijbregts 1978).
* The default weights are gstat's ``fit.method = 7``: ``N_j / h_j^2`` (pairs over squared
  lag), which trusts the short lags that matter most for kriging.

Large datasets: the pairs are counted with a k-d tree up to the cutoff; above
``max_points`` points (default 6,000, about 18 million pairs) a seeded random subset is
used, which is recorded in the result.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(1)
>>> x, y = rng.uniform(0, 10_000, (2, 400))
>>> z = np.sin(x / 2_000) + np.cos(y / 3_000) + rng.normal(0, 0.1, 400)
>>> ev = experimental(x, y, z)
>>> len(ev.lags), ev.estimator
(15, 'matheron')
>>> vg = fit(ev, "spherical")
>>> vg.model, vg.nugget < vg.psill
('spherical', True)
>>> float(vg.gamma(0.0)), bool(vg.gamma(vg.range) == vg.sill)
(0.0, True)

References
----------
Cressie, N. & Hawkins, D.M. (1980). Robust estimation of the variogram: I. *Mathematical
Geology* 12, 115–125.

Journel, A.G. & Huijbregts, C.J. (1978). *Mining Geostatistics*. Academic Press.

Pebesma, E.J. (2004). Multivariable geostatistics in S: the gstat package. *Computers &
Geosciences* 30, 683–691.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import least_squares
from scipy.spatial import cKDTree

from chemearth.errors import ChemearthError

__all__ = [
    "MODELS",
    "ExperimentalVariogram",
    "Variogram",
    "VariogramError",
    "experimental",
    "fit",
    "from_dict",
    "variogram_of",
]

#: The variogram models :func:`fit` knows.
MODELS: Final = ("spherical", "exponential", "gaussian")
#: Distance classes of :func:`experimental` by default.
N_LAGS: Final = 15
#: Fewest pairs a distance class needs to be fitted.
MIN_PAIRS: Final = 30
#: Most points whose pairs are all counted; above, a random subset.
MAX_POINTS: Final = 6_000

Floats = NDArray[np.float64]
Weights = Literal["npairs/h2", "npairs", "cressie", "none"]
#: Factor from the range parameter to the practical range (95 % of the sill).
PRACTICAL: Final = {"spherical": 1.0, "exponential": 3.0, "gaussian": math.sqrt(3.0)}


class VariogramError(ChemearthError, ValueError):
    """A variogram that cannot be estimated or fitted (too few points, no pairs, bad model)."""


@dataclass(frozen=True)
class ExperimentalVariogram:
    """Semivariances per distance class.

    Attributes
    ----------
    lags : ndarray
        Mean pair distance of each class (m).
    gamma : ndarray
        Semivariance of each class.
    pairs : ndarray
        Number of pairs in each class.
    edges : ndarray
        Class limits (``len(lags) + 1``).
    estimator : str
        ``"matheron"`` or ``"cressie"``.
    n_points, n_used : int
        Points given, and points whose pairs were counted (fewer when subsampled).
    variance : float
        Sample variance of the values (the sill a stationary field tends to).
    """

    lags: Floats
    gamma: Floats
    pairs: NDArray[np.int64]
    edges: Floats
    estimator: str
    n_points: int
    n_used: int
    variance: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "lags": self.lags.tolist(),
            "gamma": self.gamma.tolist(),
            "pairs": self.pairs.tolist(),
            "edges": self.edges.tolist(),
            "estimator": self.estimator,
            "n_points": self.n_points,
            "n_used": self.n_used,
            "variance": self.variance,
        }


@dataclass(frozen=True)
class Variogram:
    """A variogram model: ``nugget + psill * f(h / range)``.

    Attributes
    ----------
    model : {"spherical", "exponential", "gaussian"}
    nugget, psill : float
        Nugget and partial sill (sill = nugget + psill).
    range : float
        The range parameter in metres (see the module notes for the practical range).
    fitted : tuple of str
        The parameters that were fitted (the others were given).
    sse : float
        Weighted sum of squared residuals of the fit (NaN when nothing was fitted).
    experimental : ExperimentalVariogram or None
        What it was fitted to.
    """

    model: str
    nugget: float
    psill: float
    range: float
    fitted: tuple[str, ...] = ()
    sse: float = math.nan
    weights: str = "npairs/h2"
    experimental: ExperimentalVariogram | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise VariogramError(f"unknown variogram model {self.model!r}; models: "
                                 + ", ".join(MODELS))
        if not (self.nugget >= 0 and self.psill >= 0 and self.range > 0) or not all(
            math.isfinite(v) for v in (self.nugget, self.psill, self.range)
        ):
            raise VariogramError(
                f"variogram parameters must be finite with nugget >= 0, psill >= 0 and "
                f"range > 0, got nugget={self.nugget}, psill={self.psill}, range={self.range}"
            )
        if self.nugget + self.psill <= 0:
            raise VariogramError("a variogram needs a positive sill (nugget + psill)")

    @property
    def sill(self) -> float:
        """nugget + psill."""
        return self.nugget + self.psill

    @property
    def practical_range(self) -> float:
        """Distance at which the model reaches 95 % of its structured part (m)."""
        return self.range * PRACTICAL[self.model]

    @property
    def nugget_ratio(self) -> float:
        """nugget / sill: the share of the variance that is not spatially structured."""
        return self.nugget / self.sill

    def correlation(self, h: ArrayLike) -> Floats:
        """``1 - f(h / range)``: the structured part's correlation at distance ``h``."""
        t = np.array(np.abs(np.asarray(h, dtype=np.float64)))  # an array, also for a scalar
        self.correlate(t)
        return t

    def correlate(self, h: Floats) -> None:
        """Replace the distances ``h`` (a float64 array, >= 0) by their correlations, in
        place: fewer passes over memory than :meth:`correlation`, for the kriging systems.
        """
        h /= self.range
        if self.model == "spherical":
            np.minimum(h, 1.0, out=h)  # 1 - t (1.5 - 0.5 t^2) is 0 from t = 1 on
            t2 = h * h
            t2 *= -0.5
            t2 += 1.5
            h *= t2
            np.subtract(1.0, h, out=h)
            return
        if self.model == "gaussian":
            np.multiply(h, h, out=h)
        np.negative(h, out=h)
        np.exp(h, out=h)

    def gamma(self, h: ArrayLike) -> Floats:
        """Semivariance at distance ``h`` (0 at ``h = 0``)."""
        hh = np.asarray(h, dtype=np.float64)
        g = self.nugget + self.psill * (1.0 - self.correlation(hh))
        return np.where(hh == 0.0, 0.0, g)

    def covariance(self, h: ArrayLike) -> Floats:
        """``sill - gamma(h)``: the sill at ``h = 0``, ``psill * correlation`` beyond."""
        hh = np.asarray(h, dtype=np.float64)
        c = self.psill * self.correlation(hh)
        return np.where(hh == 0.0, self.sill, c)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (with the experimental variogram when there is one)."""
        d: dict[str, Any] = {
            "model": self.model,
            "nugget": self.nugget,
            "psill": self.psill,
            "sill": self.sill,
            "range": self.range,
            "practical_range": self.practical_range,
            "nugget_ratio": self.nugget_ratio,
            "fitted": list(self.fitted),
            "weights": self.weights,
            "sse": None if math.isnan(self.sse) else self.sse,
        }
        if self.experimental is not None:
            d["experimental"] = self.experimental.to_dict()
        return d

    def describe(self) -> str:
        """One line, e.g. ``"spherical: nugget 0.05, partial sill 0.59, range 897 m"``."""
        return (f"{self.model}: nugget {self.nugget:.4g}, partial sill {self.psill:.4g}, "
                f"range {self.range:.4g} m (practical {self.practical_range:.4g} m)")


def _points(x: ArrayLike, y: ArrayLike, z: ArrayLike) -> tuple[Floats, Floats, Floats]:
    xx, yy, zz = (np.asarray(a, dtype=np.float64).ravel() for a in (x, y, z))
    if not xx.shape == yy.shape == zz.shape:
        raise VariogramError(f"x, y and values differ in length: {xx.size}, {yy.size}, "
                             f"{zz.size}")
    ok = np.isfinite(xx) & np.isfinite(yy) & np.isfinite(zz)
    return xx[ok], yy[ok], zz[ok]


def default_cutoff(easting: ArrayLike, northing: ArrayLike) -> float:
    """One third of the diagonal of the points' bounding box (gstat's default cutoff).

    Examples
    --------
    >>> default_cutoff([0, 3000], [0, 4000])
    1666.6666666666667
    """
    xx = np.asarray(easting, dtype=np.float64)
    yy = np.asarray(northing, dtype=np.float64)
    return float(math.hypot(np.ptp(xx), np.ptp(yy)) / 3.0)


def experimental(
    easting: ArrayLike,
    northing: ArrayLike,
    values: ArrayLike,
    *,
    n_lags: int = N_LAGS,
    cutoff: float | None = None,
    edges: ArrayLike | None = None,
    estimator: Literal["matheron", "cressie"] = "matheron",
    max_points: int = MAX_POINTS,
    seed: int = 0,
) -> ExperimentalVariogram:
    """The experimental (semi)variogram of ``values`` at ``(easting, northing)``
    (projected metres).

    Parameters
    ----------
    easting, northing, values : array_like
        Coordinates in metres and the values (already transformed, e.g. logged); rows
        with a NaN are dropped.
    n_lags : int
        Number of equal-width distance classes up to ``cutoff``.
    cutoff : float, optional
        Largest pair distance (default :func:`default_cutoff`).
    edges : array_like, optional
        Class limits instead of ``n_lags`` and ``cutoff``.
    estimator : {"matheron", "cressie"}
        ``sum((z_i - z_j)^2) / 2N``, or Cressie and Hawkins' robust
        ``(mean |z_i - z_j|^0.5)^4 / (2 (0.457 + 0.494 / N + 0.045 / N^2))``
        (Cressie 1993, eq. 2.4.12).
    max_points : int
        Above this many points, the pairs of a seeded random subset of this size.
    seed : int
        Seed of that subset.

    Raises
    ------
    VariogramError
        Fewer than 3 points, or no pairs within the cutoff.
    """
    xx, yy, zz = _points(easting, northing, values)
    n = xx.size
    if n < 3:
        raise VariogramError(f"a variogram needs at least 3 points, got {n}")
    if estimator not in ("matheron", "cressie"):
        raise VariogramError(f"unknown estimator {estimator!r}: matheron or cressie")
    variance = float(np.var(zz, ddof=1))
    if edges is not None:
        e = np.asarray(edges, dtype=np.float64)
        if e.ndim != 1 or e.size < 2 or not (np.diff(e) > 0).all() or e[0] < 0:
            raise VariogramError("variogram class edges must increase from >= 0")
    else:
        cut = default_cutoff(xx, yy) if cutoff is None else float(cutoff)
        if not cut > 0:
            raise VariogramError("the points are all at one place: no distances to bin")
        if int(n_lags) < 1:
            raise VariogramError("n_lags must be at least 1")
        e = np.linspace(0.0, cut, int(n_lags) + 1)
    use = np.arange(n)
    if n > max_points:
        use = np.sort(np.random.default_rng(seed).choice(n, max_points, replace=False))
    px, py, pz = xx[use], yy[use], zz[use]
    nb = e.size - 1
    sums = np.zeros(nb)
    dsum = np.zeros(nb)
    counts = np.zeros(nb, dtype=np.int64)
    tree = cKDTree(np.column_stack([px, py]))
    pairs = tree.query_pairs(float(e[-1]), output_type="ndarray")
    for start in range(0, len(pairs), 5_000_000):
        i, j = pairs[start:start + 5_000_000].T
        d = np.hypot(px[i] - px[j], py[i] - py[j])
        k = np.searchsorted(e, d, side="right") - 1
        keep = (k >= 0) & (k < nb) & (d > 0)
        k, d = k[keep], d[keep]
        diff = np.abs(pz[i[keep]] - pz[j[keep]])
        w = diff * diff if estimator == "matheron" else np.sqrt(diff)
        sums += np.bincount(k, weights=w, minlength=nb)
        dsum += np.bincount(k, weights=d, minlength=nb)
        counts += np.bincount(k, minlength=nb)
    if not counts.any():
        raise VariogramError("no pairs of points within the variogram cutoff")
    with np.errstate(invalid="ignore", divide="ignore"):
        if estimator == "matheron":
            gamma = sums / (2.0 * counts)
        else:
            gamma = (sums / counts) ** 4 / (
                2.0 * (0.457 + 0.494 / counts + 0.045 / counts**2))
        lags = dsum / counts
    ok = counts > 0
    return ExperimentalVariogram(
        lags=lags[ok], gamma=gamma[ok], pairs=counts[ok], edges=e, estimator=estimator,
        n_points=n, n_used=int(use.size), variance=variance,
    )


def _weights(kind: str, ev: ExperimentalVariogram) -> Floats:
    h, n = ev.lags, ev.pairs.astype(np.float64)
    if kind == "npairs/h2":
        return n / (h * h)
    if kind == "npairs":
        return n
    if kind in ("none", "cressie"):  # cressie: re-weighted by the model in the loop
        return np.ones_like(h)
    raise VariogramError(f"unknown weights {kind!r}: npairs/h2, npairs, cressie or none")


def _fit_one(
    ev: ExperimentalVariogram,
    model: str,
    fixed: dict[str, float],
    weights: str,
    h: Floats,
    g: Floats,
    n: Floats,
) -> Variogram:
    names = ("nugget", "psill", "range")
    free = [p for p in names if p not in fixed]
    gmax = float(g.max())
    hmax = float(ev.edges[-1])
    guess = {"nugget": max(float(g[0]) * 0.5, 0.0), "psill": max(gmax - float(g[0]) * 0.5,
             gmax * 0.5), "range": hmax / (2.0 * PRACTICAL[model])}
    lower = {"nugget": 0.0, "psill": 0.0, "range": hmax * 1e-4}
    upper = {"nugget": 10.0 * gmax, "psill": 10.0 * gmax, "range": hmax * 10.0}
    base_w = _weights(weights, ev)
    scale = gmax if gmax > 0 else 1.0

    def model_of(p: Sequence[float] | Floats) -> Variogram:
        vals = dict(fixed)
        vals.update(zip(free, (float(v) for v in p), strict=True))
        ps = max(vals["psill"], 0.0)
        if vals["nugget"] + ps <= 0:
            ps = 1e-12 * scale
        return Variogram(model, vals["nugget"], ps, vals["range"])

    def residuals(p: Floats, w: Floats) -> Floats:
        return np.sqrt(w) * (model_of(p).gamma(h) - g) / scale

    if not free:
        vg = model_of([])
        wsse = float(np.sum(base_w * (vg.gamma(h) - g) ** 2))
        return Variogram(model, vg.nugget, vg.psill, vg.range, (), wsse, weights, ev)
    x0 = np.array([min(max(guess[p], lower[p]), upper[p]) for p in free])
    bounds = (np.array([lower[p] for p in free]), np.array([upper[p] for p in free]))
    w = base_w
    rounds = 4 if weights == "cressie" else 1
    sol = None
    for _ in range(rounds):
        sol = least_squares(residuals, x0, bounds=bounds, args=(w,), method="trf",
                            x_scale="jac", max_nfev=2000)
        x0 = sol.x
        if weights == "cressie":
            gm = np.maximum(model_of(sol.x).gamma(h), 1e-12 * scale)
            w = n / (gm * gm)
    assert sol is not None
    vg = model_of(sol.x)
    wsse = float(np.sum(w * (vg.gamma(h) - g) ** 2))
    return Variogram(model, vg.nugget, vg.psill, vg.range, tuple(free), wsse, weights, ev)


def fit(
    ev: ExperimentalVariogram,
    model: str = "auto",
    *,
    nugget: float | None = None,
    psill: float | None = None,
    range: float | None = None,
    weights: Weights = "npairs/h2",
    min_pairs: int = MIN_PAIRS,
) -> Variogram:
    """Fit a variogram model to ``ev`` by weighted least squares.

    Parameters
    ----------
    ev : ExperimentalVariogram
        From :func:`experimental`.
    model : {"auto", "spherical", "exponential", "gaussian"}
        ``"auto"`` fits all three and keeps the one with the smallest weighted sum of
        squares.
    nugget, psill, range : float, optional
        Fix a parameter instead of fitting it (all three fixed: nothing is fitted).
    weights : {"npairs/h2", "npairs", "cressie", "none"}
        Least-squares weights: ``N_j / h_j^2`` (gstat 7, default), ``N_j`` (gstat 1),
        ``N_j / gamma(h_j)^2`` iterated (Cressie 1985, gstat 2) or equal (gstat 6).
    min_pairs : int
        Classes with fewer pairs are left out of the fit.

    Raises
    ------
    VariogramError
        For an unknown model, fewer fittable classes than free parameters, or invalid
        fixed parameters.

    Examples
    --------
    >>> ev = ExperimentalVariogram(np.array([100., 200., 300., 400., 500.]),
    ...     np.array([0.4, 0.7, 0.9, 1.0, 1.0]), np.array([50] * 5), np.linspace(0, 500, 6),
    ...     "matheron", 100, 100, 1.0)
    >>> fit(ev, "spherical", nugget=0.1).fitted
    ('psill', 'range')
    """
    wanted = MODELS if model == "auto" else (model,)
    for m in wanted:
        if m not in MODELS:
            raise VariogramError(f"unknown variogram model {m!r}; models: auto, "
                                 + ", ".join(MODELS))
    ok = (ev.pairs >= min_pairs) & np.isfinite(ev.gamma) & (ev.lags > 0)
    h, g, n = ev.lags[ok], ev.gamma[ok], ev.pairs[ok].astype(np.float64)
    fixed = {k: float(v) for k, v in (("nugget", nugget), ("psill", psill),
                                      ("range", range)) if v is not None}
    if h.size < 3 - len(fixed):
        raise VariogramError(
            f"only {h.size} distance class(es) hold {min_pairs} pairs or more; too few to "
            "fit a variogram (give the parameters, or a larger cutoff)"
        )
    trimmed = ExperimentalVariogram(h, g, ev.pairs[ok], ev.edges, ev.estimator,
                                    ev.n_points, ev.n_used, ev.variance)
    fits = [_fit_one(trimmed, m, fixed, weights, h, g, n) for m in wanted]
    best = min(fits, key=lambda v: v.sse)
    return Variogram(best.model, best.nugget, best.psill, best.range, best.fitted, best.sse,
                     best.weights, ev)


def variogram_of(
    easting: ArrayLike,
    northing: ArrayLike,
    values: ArrayLike,
    model: str = "auto",
    **kwargs: Any,
) -> Variogram:
    """:func:`experimental` then :func:`fit` in one call.

    Keyword arguments go to :func:`experimental` (``n_lags``, ``cutoff``, ``edges``,
    ``estimator``, ``max_points``, ``seed``) or :func:`fit` (``nugget``, ``psill``,
    ``range``, ``weights``, ``min_pairs``).
    """
    exp_keys = {"n_lags", "cutoff", "edges", "estimator", "max_points", "seed"}
    ev = experimental(easting, northing, values,
                      **{k: v for k, v in kwargs.items() if k in exp_keys})
    return fit(ev, model, **{k: v for k, v in kwargs.items() if k not in exp_keys})


def from_dict(d: dict[str, Any]) -> Variogram:
    """A :class:`Variogram` from ``model``, ``nugget``, ``psill`` and ``range`` (as given
    on a command line or in JSON).

    Examples
    --------
    >>> from_dict({"model": "exponential", "nugget": 0.1, "psill": 0.5, "range": 300}).sill
    0.6
    """
    try:
        return Variogram(str(d["model"]), float(d["nugget"]), float(d["psill"]),
                         float(d["range"]))
    except KeyError as e:
        raise VariogramError(f"a variogram needs model, nugget, psill and range; {e} "
                             "is missing") from None

