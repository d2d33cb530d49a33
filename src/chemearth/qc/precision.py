"""Precision from duplicate analyses, and the nested analysis of variance.

Surveys prove their precision with *duplicates*: a second sample taken at the same site
(field duplicates, which carry sampling plus analytical error) and a second split of the
same sample analysed again (analytical duplicates, analytical error only).

* :func:`precision` gives, per pair set, the relative standard deviation as the
  root-mean-square of the pairs' coefficients of variation (Stanley & Lawie 2007, the
  estimator they recommend; a pair's CV is ``|a - b| / √2 / mean``), the pooled RSD
  (``√(Σd²/2n)`` over the grand mean) and the Thompson–Howarth line.
* :func:`thompson_howarth` fits the Thompson & Howarth (1978) model ``s = s0 + k·c``: pairs
  sorted by their mean, groups of 11, the median of each group's means and of its absolute
  differences, a least-squares line through those medians, and the intercept and slope
  multiplied by 1.0484 (for normal errors the median of ``|d|`` is ``0.954 σ``).
* :func:`variance_components` is the nested (hierarchical) ANOVA of a duplicate design, on
  log10 values: the one-way ANOVA of the field pairs splits the variance between sites from
  the variance within a site (sampling + analytical); analytical duplicates split the
  latter into analytical and sampling parts. An element whose sampling plus analytical
  variance exceeds a share of the total (default 20 %) is flagged unfit for mapping
  (Ramsey et al. 1992; Reimann et al. 2008, ch. 18).

Censored results are left out pair-wise: a pair with a value below the detection limit
carries no precision information about the value.

References
----------
Thompson, M. and Howarth, R.J. (1978). A new approach to the estimation of analytical
precision. Journal of Geochemical Exploration 9, 23–30.

Stanley, C.R. and Lawie, D. (2007). Average relative error in geochemical determinations:
clarification, calculation, and a plea for consistency. Exploration and Mining Geology 16,
267–275.

Examples
--------
>>> import numpy as np
>>> a = np.array([10.0, 20.0, 40.0, 80.0]); b = np.array([11.0, 19.0, 42.0, 76.0])
>>> round(precision(a, b).rsd_pct, 2)
4.57
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Final

import numpy as np
from scipy import stats as sps

from chemearth.errors import StatisticsError

__all__ = [
    "MAPPING_SHARE",
    "TH_FACTOR",
    "TH_GROUP",
    "Components",
    "Precision",
    "ThompsonHowarth",
    "pair_arrays",
    "precision",
    "thompson_howarth",
    "variance_components",
]

#: Largest share of the total variance sampling plus analytical error may take for an
#: element still to be fit for mapping.
MAPPING_SHARE: Final = 0.20
#: Pairs per group in the Thompson–Howarth method.
TH_GROUP: Final = 11
#: σ per median |d| of a pair of normal errors: 1 / (√2 · Φ⁻¹(0.75)).
TH_FACTOR: Final = 1.0 / (math.sqrt(2.0) * 0.6744897501960817)


def pair_arrays(a: Any, b: Any, censored_a: Any = None, censored_b: Any = None
                ) -> tuple[np.ndarray, np.ndarray, int]:
    """The usable pairs: both values finite and positive, neither censored.

    Returns the two arrays and how many pairs were left out.
    """
    x = np.asarray(a, dtype=float)
    y = np.asarray(b, dtype=float)
    if x.shape != y.shape:
        raise StatisticsError(f"duplicate pairs need two arrays of one length, got "
                              f"{x.size} and {y.size}")
    ok = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    for c in (censored_a, censored_b):
        if c is not None:
            ok &= ~np.asarray(c, dtype=bool)
    return x[ok], y[ok], int((~ok).sum())


@dataclass(frozen=True)
class ThompsonHowarth:
    """The Thompson–Howarth precision model ``s(c) = s0 + k·c``.

    Attributes
    ----------
    s0 : float
        Standard deviation at zero concentration (in the unit of the data).
    k : float
        Relative standard deviation at high concentration (a fraction).
    groups : int
        Groups of :data:`TH_GROUP` pairs behind the fit.
    group_means, group_abs_diffs : tuple of float
        Median pair mean and median absolute difference of each group.
    """

    s0: float
    k: float
    groups: int
    group_means: tuple[float, ...]
    group_abs_diffs: tuple[float, ...]

    def sd(self, c: Any) -> np.ndarray:
        """Standard deviation at concentration(s) ``c``."""
        return self.s0 + self.k * np.asarray(c, dtype=float)

    def precision_pct(self, c: Any) -> np.ndarray:
        """Precision at 95 % (``2 s / c``, in %) at concentration(s) ``c``."""
        cc = np.asarray(c, dtype=float)
        return np.asarray(200.0 * self.sd(cc) / cc)

    def detection_limit(self) -> float:
        """Concentration where the precision is 100 % (``2 s0 / (1 - 2k)``), NaN if none."""
        return 2 * self.s0 / (1 - 2 * self.k) if self.k < 0.5 else math.nan


def thompson_howarth(a: Any, b: Any, group: int = TH_GROUP) -> ThompsonHowarth:
    """Fit the Thompson–Howarth model to duplicate pairs.

    Parameters
    ----------
    a, b : array_like
        The two results of each pair (uncensored, positive).
    group : int
        Pairs per group (11 in the original method; the last, incomplete group is dropped).

    Raises
    ------
    StatisticsError
        With fewer than two complete groups.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> c = np.exp(rng.uniform(0, 6, 2000)); s = 0.5 + 0.05 * c
    >>> th = thompson_howarth(c + rng.normal(0, s), c + rng.normal(0, s))
    >>> round(th.k, 2)
    0.05
    """
    x, y, _ = pair_arrays(a, b)
    groups = len(x) // group
    if groups < 2:
        raise StatisticsError(f"Thompson-Howarth needs at least {2 * group} usable pairs, "
                              f"got {len(x)}")
    mean = (x + y) / 2
    absd = np.abs(x - y)
    order = np.argsort(mean, kind="stable")[: groups * group].reshape(groups, group)
    gm = np.median(mean[order], axis=1)
    gd = np.median(absd[order], axis=1)
    if np.ptp(gm) <= 0:
        raise StatisticsError("Thompson-Howarth needs pairs whose means differ between groups")
    slope, intercept = sps.linregress(gm, gd)[:2]
    return ThompsonHowarth(s0=float(intercept * TH_FACTOR), k=float(slope * TH_FACTOR),
                           groups=groups, group_means=tuple(map(float, gm)),
                           group_abs_diffs=tuple(map(float, gd)))


@dataclass(frozen=True)
class Precision:
    """Precision of one set of duplicate pairs.

    Attributes
    ----------
    n_pairs : int
        Usable pairs.
    n_left_out : int
        Pairs left out (a censored, missing or non-positive value).
    mean : float
        Grand mean of the usable pairs.
    rsd_pct : float
        Root-mean-square of the pairs' coefficients of variation, in %.
    rsd_pooled_pct : float
        ``√(Σd²/2n)`` over the grand mean, in %.
    sd_log10 : float
        ``√(Σ(log10 a - log10 b)²/2n)``, the within-pair SD on the log scale.
    precision_pct : float
        Precision at 95 %: ``2 × rsd_pct``.
    th : ThompsonHowarth or None
        The Thompson–Howarth fit (None below 22 usable pairs).
    """

    n_pairs: int
    n_left_out: int
    mean: float
    rsd_pct: float
    rsd_pooled_pct: float
    sd_log10: float
    precision_pct: float
    th: ThompsonHowarth | None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the Thompson–Howarth groups left out)."""
        out = {k: v for k, v in asdict(self).items() if k != "th"}
        out["th_s0"] = self.th.s0 if self.th else None
        out["th_k_pct"] = 100 * self.th.k if self.th else None
        return out


def precision(a: Any, b: Any, censored_a: Any = None, censored_b: Any = None) -> Precision:
    """Precision of duplicate pairs ``(a[i], b[i])``.

    Raises
    ------
    StatisticsError
        With fewer than two usable pairs.

    Examples
    --------
    >>> p = precision([100.0, 50.0, 10.0], [110.0, 45.0, 10.0])
    >>> p.n_pairs, round(p.rsd_pct, 2), round(p.precision_pct, 2)
    (3, 5.8, 11.59)
    """
    x, y, dropped = pair_arrays(a, b, censored_a, censored_b)
    if len(x) < 2:
        raise StatisticsError(f"precision needs at least 2 usable duplicate pairs, got {len(x)}")
    mean = (x + y) / 2
    d = x - y
    cv = np.abs(d) / math.sqrt(2.0) / mean
    rsd = 100.0 * float(np.sqrt(np.mean(cv**2)))
    pooled = 100.0 * float(np.sqrt(np.sum(d**2) / (2 * len(d)))) / float(mean.mean())
    dl = np.log10(x) - np.log10(y)
    try:
        th: ThompsonHowarth | None = thompson_howarth(x, y)
    except StatisticsError:
        th = None
    return Precision(n_pairs=len(x), n_left_out=dropped, mean=float(mean.mean()),
                     rsd_pct=rsd, rsd_pooled_pct=pooled,
                     sd_log10=float(np.sqrt(np.sum(dl**2) / (2 * len(dl)))),
                     precision_pct=2 * rsd, th=th)


@dataclass(frozen=True)
class Components:
    """Variance components of a duplicate design (log10 scale unless ``log`` is False).

    Attributes
    ----------
    between_site, sampling, analytical : float
        Variance components (``analytical`` NaN without analytical duplicates; then
        ``sampling`` holds sampling plus analytical).
    total : float
        Their sum.
    n_field_pairs, n_analytical_pairs : int
        Pairs behind each estimate.
    ms_between, ms_within : float
        Mean squares of the field pairs' one-way ANOVA (df ``n - 1`` and ``n``).
    f, p : float
        F = MS between / MS within and its upper-tail probability: is there more
        variation between sites than within them?
    threshold : float
        The largest share of measurement variance still fit for mapping.
    log : bool
        Computed on log10 values.
    """

    between_site: float
    sampling: float
    analytical: float
    total: float
    n_field_pairs: int
    n_analytical_pairs: int
    ms_between: float
    ms_within: float
    f: float
    p: float
    threshold: float = MAPPING_SHARE
    log: bool = True

    @property
    def measurement(self) -> float:
        """Sampling plus analytical variance."""
        return self.sampling + (0.0 if math.isnan(self.analytical) else self.analytical)

    @property
    def shares(self) -> dict[str, float]:
        """Each component as a percentage of the total."""
        t = self.total
        return {"between_site": 100 * self.between_site / t, "sampling": 100 * self.sampling / t,
                "analytical": 100 * self.analytical / t if not math.isnan(self.analytical)
                else math.nan, "measurement": 100 * self.measurement / t}

    @property
    def fit_for_mapping(self) -> bool:
        """Sampling plus analytical variance at most :attr:`threshold` of the total."""
        return self.measurement <= self.threshold * self.total

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict with the shares (in %) and the flag."""
        out = asdict(self)
        out.update({f"{k}_pct": v for k, v in self.shares.items()})
        out["fit_for_mapping"] = self.fit_for_mapping
        return out


def variance_components(
    field_a: Any,
    field_b: Any,
    analytical_a: Any = None,
    analytical_b: Any = None,
    *,
    log: bool = True,
    threshold: float = MAPPING_SHARE,
) -> Components:
    """Nested ANOVA of field duplicate pairs, with analytical duplicates if given.

    The field pairs' one-way random-effects ANOVA gives ``MSB`` (between pairs, df n - 1)
    and ``MSW = Σd²/2n`` (within, df n); the site variance is ``(MSB - MSW)/2`` (zero if
    negative) and ``MSW`` is sampling plus analytical variance. The analytical variance is
    ``Σd²/2n`` of the analytical pairs, capped at ``MSW``; sampling is the rest.

    Parameters
    ----------
    field_a, field_b : array_like
        Field duplicate pairs (uncensored, positive values).
    analytical_a, analytical_b : array_like, optional
        Analytical duplicate pairs.
    log : bool
        Work on log10 values (default), as geochemical data are near log-normal and the
        measurement error is proportional to the concentration.
    threshold : float
        Share of the total above which sampling + analytical variance makes an element
        unfit for mapping.

    Raises
    ------
    StatisticsError
        With fewer than 3 field pairs or 2 analytical pairs.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> site = rng.normal(2, 0.3, 400)
    >>> c = variance_components(site + rng.normal(0, .05, 400), site + rng.normal(0, .05, 400),
    ...                         log=False)
    >>> round(c.between_site, 2), round(c.sampling, 4), c.fit_for_mapping
    (0.09, 0.0024, True)
    """
    usable = pair_arrays if log else _finite  # log10 needs positive values
    fa, fb, _ = usable(field_a, field_b)
    if len(fa) < 3:
        raise StatisticsError(f"the variance analysis needs at least 3 usable field duplicate "
                              f"pairs, got {len(fa)}")
    if log:
        fa, fb = np.log10(fa), np.log10(fb)
    n = len(fa)
    means = (fa + fb) / 2
    msw = float(np.sum((fa - fb) ** 2) / (2 * n))
    msb = float(2 * np.var(means, ddof=1))
    site = max(0.0, (msb - msw) / 2)
    anal = math.nan
    n_an = 0
    if analytical_a is not None and analytical_b is not None:
        aa, ab, _ = usable(analytical_a, analytical_b)
        if len(aa) < 2:
            raise StatisticsError(f"the variance analysis needs at least 2 usable analytical "
                                  f"duplicate pairs, got {len(aa)}")
        if log:
            aa, ab = np.log10(aa), np.log10(ab)
        n_an = len(aa)
        anal = min(msw, float(np.sum((aa - ab) ** 2) / (2 * n_an)))
    if site + msw <= 0:
        raise StatisticsError("the variance analysis needs duplicate results that vary")
    sampling = msw - (0.0 if math.isnan(anal) else anal)
    f = msb / msw if msw > 0 else math.inf
    p = float(sps.f.sf(f, n - 1, n)) if math.isfinite(f) else 0.0
    return Components(between_site=site, sampling=sampling, analytical=anal,
                      total=site + msw, n_field_pairs=n, n_analytical_pairs=n_an,
                      ms_between=msb, ms_within=msw, f=f, p=p, threshold=threshold, log=log)


def _finite(a: Any, b: Any) -> tuple[np.ndarray, np.ndarray, int]:
    x = np.asarray(a, dtype=float)
    y = np.asarray(b, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    return x[ok], y[ok], int((~ok).sum())
