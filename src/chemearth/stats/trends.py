"""Trend and paired-change tests for left-censored data (Helsel 2012, ch. 9 and 12).

A value below the detection limit is represented as in ``docs/conventions.md``: ``value``
is the detection limit (DL) and ``censored`` is true, i.e. the true value lies in
``[0, DL)``. No value is ever substituted; comparisons with a censored value are made on
the interval it stands for.

- :func:`censored_kendall` — Kendall's S, tau-a, tau-b, variance and p-value for censored
  ``y`` against ``x`` (time, or a second censored variable).
- :func:`ats_slope` — the Akritas–Theil–Sen (ATS) line: the slope at which Kendall's S of
  ``x`` and the censored residuals ``y − βx`` is zero, intercept the Kaplan–Meier median
  of the residuals (Akritas, Murphy & LaValley 1995; R NADA ``cenken``).
- :func:`paired_prentice_wilcoxon` — the paired Prentice–Wilcoxon (PPW) test of two
  campaigns sampled at the same sites (O'Brien & Fleming 1987; Helsel 2012 sec. 9.3).
- :func:`censored_sign_test` — the sign test of paired censored data (Helsel 2012 sec. 9.1).

False-discovery-rate control over many such tests: :mod:`chemearth.stats.multiple_testing`.

Scoring pairs
-------------
Two observations compare as intervals. A detected value ``a`` is larger than ``<DL`` when
``a >= DL`` (the censored value lies below its limit); it is *undetermined* (scored as a
tie) when ``a < DL``. Two censored values are always undetermined, two detected values
compare as numbers. This is the scoring of Helsel (2012, sec. 12.2) and of NADA
``cenken``, which shifts censored values down by ``min(y)/1000`` so that ``<DL`` falls
below a detect equal to ``DL``.

References
----------
Akritas, M.G., Murphy, S.A. & LaValley, M.P. (1995). The Theil–Sen estimator with doubly
censored data and applications to astronomy. *JASA* 90(429), 170–177.

Brown, B.W., Hollander, M. & Korwar, R.M. (1974). Nonparametric tests of independence for
censored data, with applications to heart transplant studies. In *Reliability and
Biometry*, SIAM, 327–354.

Daniels, H.E. (1944). The relation between measures of correlation in the universe of
sample permutations. *Biometrika* 33(2), 129–135.

Helsel, D.R. (2012). *Statistics for Censored Environmental Data Using Minitab and R*, 2nd
ed. Wiley. Chapters 9 and 12.

O'Brien, P.C. & Fleming, T.R. (1987). A paired Prentice–Wilcoxon test for censored paired
data. *Biometrics* 43(1), 169–180.

Examples
--------
>>> k = censored_kendall([1, 2, 3, 4, 5], [1.0, 1.0, 2.0, 3.0, 5.0],
...                      y_censored=[True, True, False, True, False])
>>> k.s, round(k.tau_b, 4), round(k.p_value, 4)
(6.0, 0.7746, 0.0662)
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from chemearth.errors import StatisticsError
from chemearth.jsonable import plain
from chemearth.stats.censored import kaplan_meier, validated

__all__ = [
    "ATS_MAX_N",
    "KENDALL_MAX_N",
    "ATSResult",
    "KendallResult",
    "PPWResult",
    "SignTestResult",
    "ats_slope",
    "censored_kendall",
    "censored_sign_test",
    "pair_signs",
    "paired_prentice_wilcoxon",
    "peto_prentice_scores",
]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

#: Largest sample for :func:`censored_kendall` (the pairwise scores take O(n²) time).
KENDALL_MAX_N = 20_000
#: Largest sample for :func:`ats_slope` (it sorts the n(n−1)/2 pairwise slopes).
ATS_MAX_N = 3_000
#: Rows of the pairwise score matrix computed at once (bounds memory to ~8 MB per array).
_CHUNK_CELLS = 1_000_000


class _AsDict:
    """``as_dict()``: arrays become lists, numpy scalars floats (NaN kept)."""

    def as_dict(self) -> dict[str, Any]:
        """The result as a dict of plain Python values."""
        return {f.name: plain(getattr(self, f.name), keep_nan=True) for f in fields(self)}  # type: ignore[arg-type]


def _frozen(array: ArrayLike, dtype: Any = np.float64) -> NDArray[Any]:
    out = np.array(array, dtype=dtype)
    out.flags.writeable = False
    return out


def _columns(*pairs: tuple[str, ArrayLike, ArrayLike | None]) -> list[tuple[FloatArray, BoolArray]]:
    """Value/flag columns of equal length, with every row holding a NaN dropped."""
    cols = [validated(values, censored, name=name,
                      flags="censored" if name == "values" else f"{name}_censored")
            for name, values, censored in pairs]
    n = {v.size for v, _ in cols}
    if len(n) > 1:
        names = ", ".join(p[0] for p in pairs)
        raise StatisticsError(f"{names}: lengths differ ({sorted(n)})")
    keep = np.ones(cols[0][0].size, dtype=bool)
    for v, _ in cols:
        keep &= ~np.isnan(v)
    return [(v[keep], c[keep]) for v, c in cols]


def _order(vi: NDArray[Any], ci: NDArray[Any], vj: NDArray[Any],
           cj: NDArray[Any]) -> NDArray[np.int8]:
    """Interval comparison ``sign(z_i − z_j)`` (broadcast): +1 where ``z_i`` is known to be
    larger, −1 known smaller, 0 tied or undetermined (a detect below the other's DL, or
    both censored)."""
    gt = ~ci & np.where(cj, vi >= vj, vi > vj)
    lt = ~cj & np.where(ci, vj >= vi, vj > vi)
    return gt.astype(np.int8) - lt.astype(np.int8)


def _compare(v: FloatArray, c: BoolArray, rows: slice) -> NDArray[np.int8]:
    """:func:`_order` of the rows ``rows`` with every observation."""
    return _order(v[rows, None], c[rows, None], v[None, :], c[None, :])


def _chunks(n: int) -> list[slice]:
    step = max(1, _CHUNK_CELLS // max(n, 1))
    return [slice(i, min(i + step, n)) for i in range(0, n, step)]


# --------------------------------------------------------------------------- Kendall


@dataclass(frozen=True, eq=False)
class KendallResult(_AsDict):
    """Kendall's correlation of censored data (see :func:`censored_kendall`).

    Attributes
    ----------
    n : int
        Pairs of observations used (rows with a missing value dropped).
    s : float
        Kendall's S: determined concordant minus determined discordant pairs.
    tau_a : float
        ``S / (n(n−1)/2)``: the value R NADA ``cenken`` reports as ``tau``.
    tau_b : float
        ``S / sqrt((J − Tx)(J − Ty))``, ``J = n(n−1)/2`` and ``Tx``, ``Ty`` the pairs tied
        or undetermined in ``x`` and in ``y`` (scipy's tau-b when nothing is censored).
    var_s : float
        Variance of S under independence (see :func:`censored_kendall`).
    z : float
        ``S / sqrt(var_s)`` (or ``(|S| − 1) sign(S) / sqrt(var_s)`` with the continuity
        correction).
    p_value : float
        Two-sided normal p-value of ``z``.
    n_tied_x, n_tied_y : int
        ``Tx`` and ``Ty``.
    """

    n: int
    s: float
    tau_a: float
    tau_b: float
    var_s: float
    z: float
    p_value: float
    n_tied_x: int
    n_tied_y: int


def censored_kendall(
    x: ArrayLike,
    y: ArrayLike,
    *,
    x_censored: ArrayLike | None = None,
    y_censored: ArrayLike | None = None,
    continuity: bool = False,
) -> KendallResult:
    """Kendall's tau and its test for left-censored ``y`` (and optionally ``x``).

    Each pair of observations is scored in ``x`` and in ``y`` as the module docstring
    says (+1, −1, or 0 for tied or undetermined); ``S = Σ_{i<j} a_ij b_ij``.

    Variance: the exact permutation variance of S under independence of ``x`` and
    ``(y, censoring)`` (Daniels 1944; cf. Brown, Hollander & Korwar 1974 for censored
    data), checked in the tests by enumerating every permutation::

        var(S) = [ A2·B2 / (2n(n−1)) + (A3 − A2)(B3 − B2) / (n(n−1)(n−2)) ]

    with ``A2 = Σ_{i≠j} a_ij²`` (twice the determined pairs in ``x``) and
    ``A3 = Σ_i (Σ_j a_ij)²``, likewise ``B2``, ``B3`` for ``y``. Without censoring this
    *is* Kendall's tie-corrected variance of S (Kendall 1970, eq. 4.3; scipy's
    ``kendalltau`` asymptotic variance), and ``n(n−1)(2n+5)/18`` without ties.
    R NADA ``cenken`` uses instead D. Lorenz's adjustment of the untied variance for tied
    and censored groups; p-values then differ slightly (NADA also applies the continuity
    correction, ``continuity=True``).

    Parameters
    ----------
    x, y : array_like of float
        Paired observations; for a censored value, its detection limit.
    x_censored, y_censored : array_like of bool, optional
        True where the value is below its detection limit (default: none censored).
    continuity : bool
        Subtract 1 from ``|S|`` in ``z`` (as NADA); off by default, as scipy.

    Returns
    -------
    KendallResult

    Raises
    ------
    StatisticsError
        Fewer than 3 complete pairs, more than :data:`KENDALL_MAX_N`, or malformed input.

    Examples
    --------
    Time 1–5 and ``y = 1, <1, 2, <3, 5``: of the 10 pairs, ``(1, <3)``, ``(<1, <3)`` and
    ``(2, <3)`` are undetermined, ``(1, <1)`` is discordant (``1 >= 1 > <1``) and the 6
    others are concordant: ``S = 5``, ``tau_b = 5 / sqrt(10 · 7)``.

    >>> k = censored_kendall([1, 2, 3, 4, 5], [1, 1, 2, 3, 5],
    ...                      y_censored=[False, True, False, True, False])
    >>> k.s, k.n_tied_y, k.tau_a, round(k.tau_b, 4), round(k.p_value, 4)
    (5.0, 3, 0.5, 0.5976, 0.1432)
    """
    (xv, xc), (yv, yc) = _columns(("x", x, x_censored), ("y", y, y_censored))
    n = xv.size
    if n < 3:
        raise StatisticsError(f"censored_kendall: needs at least 3 complete pairs, got {n}")
    if n > KENDALL_MAX_N:
        raise StatisticsError(f"censored_kendall: {n} pairs is over the limit of "
                              f"{KENDALL_MAX_N}")
    s2 = a2 = b2 = 0
    a_row = np.zeros(n)
    b_row = np.zeros(n)
    for rows in _chunks(n):
        a = _compare(xv, xc, rows).astype(np.int64)
        b = _compare(yv, yc, rows).astype(np.int64)
        s2 += int((a * b).sum())
        a2 += int(np.abs(a).sum())
        b2 += int(np.abs(b).sum())
        a_row[rows] = a.sum(axis=1)
        b_row[rows] = b.sum(axis=1)
    s = s2 / 2.0
    j = n * (n - 1) / 2.0
    a3, b3 = float((a_row**2).sum()), float((b_row**2).sum())
    var_s = a2 * b2 / (2.0 * n * (n - 1)) + (a3 - a2) * (b3 - b2) / (n * (n - 1.0) * (n - 2))
    denom = np.sqrt((a2 / 2.0) * (b2 / 2.0))
    tau_b = s / denom if denom > 0 else float("nan")
    num = max(abs(s) - 1.0, 0.0) * np.sign(s) if continuity else s
    if var_s > 0:
        z = float(num / np.sqrt(var_s))
        p = float(2 * stats.norm.sf(abs(z)))
    else:
        z, p = 0.0, 1.0
    return KendallResult(
        n=int(n), s=float(s), tau_a=float(s / j), tau_b=float(tau_b), var_s=float(var_s),
        z=z, p_value=p, n_tied_x=int(j - a2 / 2), n_tied_y=int(j - b2 / 2),
    )


# --------------------------------------------------------------------------- ATS


@dataclass(frozen=True, eq=False)
class ATSResult(_AsDict):
    """The Akritas–Theil–Sen line of censored ``y`` on ``x`` (see :func:`ats_slope`).

    Attributes
    ----------
    slope : float
        The ATS slope (units of ``y`` per unit of ``x``).
    intercept : float
        Median of the residuals ``y − slope·x`` (Kaplan–Meier; NaN when that median lies
        below the lowest detected residual).
    slope_low, slope_high : float
        The ends of the interval of slopes where ``S`` changes sign (``slope`` is their
        mean; equal when S jumps across zero).
    kendall : KendallResult
        Kendall's tau of ``x`` and ``y`` and its p-value: the test of the trend.
    n, n_censored : int
        Observations used and censored among them.
    """

    slope: float
    intercept: float
    slope_low: float
    slope_high: float
    kendall: KendallResult
    n: int
    n_censored: int

    @property
    def p_value(self) -> float:
        """The p-value of Kendall's tau (the test of the trend)."""
        return self.kendall.p_value

    @property
    def tau(self) -> float:
        """Kendall's tau-b of ``x`` and ``y``."""
        return self.kendall.tau_b


def _residual_s(xv: FloatArray, yv: FloatArray, yc: BoolArray, beta: float,
                a_sign: NDArray[np.int8]) -> int:
    """Twice Kendall's S of ``x`` and the censored residuals ``y − βx``."""
    r = yv - beta * xv
    total = 0
    for rows in _chunks(xv.size):
        total += int((a_sign[rows].astype(np.int64) * _compare(r, yc, rows)).sum())
    return total


def ats_slope(
    x: ArrayLike,
    y: ArrayLike,
    y_censored: ArrayLike | None = None,
    *,
    continuity: bool = False,
) -> ATSResult:
    """Akritas–Theil–Sen slope and intercept of left-censored ``y`` on uncensored ``x``.

    The slope is the ``β`` where Kendall's S of ``x`` and the residuals ``y − βx`` (a
    censored ``y`` gives the censored residual ``DL − βx``) changes sign (Akritas, Murphy
    & LaValley 1995; Helsel 2012 sec. 12.3). ``S(β)`` is a non-increasing step function
    that only jumps at the pairwise slopes ``(y_j − y_i)/(x_j − x_i)`` (DLs taken as
    values), so instead of bisecting to a tolerance (as NADA ``cenken``) the jumps are
    searched exactly: ``slope`` is the mean of ``sup{β: S(β) > 0}`` and
    ``inf{β: S(β) < 0}``. Without censoring this is the median of the pairwise slopes
    over pairs with distinct ``x``: the Theil–Sen slope (``scipy.stats.theilslopes``).

    The intercept is the median of the residuals' Kaplan–Meier distribution
    (:func:`chemearth.stats.censored.kaplan_meier`, the smallest residual whose KM
    cumulative probability reaches 0.5). NADA ``cenken`` takes the median of a Turnbull
    estimate on the residual intervals ``[−βx, DL − βx]`` (``y`` bounded below by 0);
    with left-censoring only the KM median is the same estimator without that lower
    bound, so the two can differ when the bound matters.

    The test of the trend is Kendall's tau of ``x`` and ``y``
    (:func:`censored_kendall`; ``continuity`` is passed on).

    Parameters
    ----------
    x : array_like of float
        Time (or any uncensored explanatory variable).
    y : array_like of float
        Values; for a censored value, its detection limit.
    y_censored : array_like of bool, optional
        True where ``y`` is below its detection limit.
    continuity : bool
        Continuity correction of the Kendall test.

    Returns
    -------
    ATSResult

    Raises
    ------
    StatisticsError
        Fewer than 3 complete pairs, more than :data:`ATS_MAX_N`, all ``x`` equal, or no
        pair of observations whose order the data determine.

    Examples
    --------
    >>> r = ats_slope([1, 2, 3, 4, 5, 6], [1.1, 1.0, 2.9, 3.0, 5.2, 6.1],
    ...               [False, True, False, True, False, False])
    >>> round(r.slope, 4), round(r.slope_low, 4), round(r.slope_high, 4), round(r.tau, 4)
    (1.0458, 1.025, 1.0667, 0.7454)
    >>> round(r.intercept, 4), round(r.p_value, 4)
    (-0.2375, 0.0384)
    """
    (xv, _), (yv, yc) = _columns(("x", x, None), ("y", y, y_censored))
    n = xv.size
    if n < 3:
        raise StatisticsError(f"ats_slope: needs at least 3 complete pairs, got {n}")
    if n > ATS_MAX_N:
        raise StatisticsError(f"ats_slope: {n} pairs is over the limit of {ATS_MAX_N}")
    iu, ju = np.triu_indices(n, 1)
    keep = (xv[iu] != xv[ju]) & ~(yc[iu] & yc[ju])
    if not keep.any():
        raise StatisticsError("ats_slope: no pair of observations with different x and a "
                              "detected value")
    iu, ju = iu[keep], ju[keep]
    crit = np.unique((yv[ju] - yv[iu]) / (xv[ju] - xv[iu]))
    del iu, ju, keep
    a_sign = np.sign(xv[:, None] - xv[None, :]).astype(np.int8)
    span = max(1.0, float(np.abs(crit).max()))
    # S on the k-th open interval between jumps: k = 0 below crit[0], k = K above crit[-1]
    probes = np.concatenate(([crit[0] - span], (crit[:-1] + crit[1:]) / 2, [crit[-1] + span]))

    def s_at(k: int) -> int:
        return _residual_s(xv, yv, yc, float(probes[k]), a_sign)

    last = probes.size - 1
    lo_pos, hi_pos = -1, last + 1  # last interval with S > 0; first interval with S < 0
    a, b = 0, last
    while a <= b:  # S > 0 holds on a prefix of the intervals
        m = (a + b) // 2
        if s_at(m) > 0:
            lo_pos, a = m, m + 1
        else:
            b = m - 1
    a, b = max(lo_pos, 0), last
    while a <= b:  # S < 0 holds on a suffix
        m = (a + b) // 2
        if s_at(m) < 0:
            hi_pos, b = m, m - 1
        else:
            a = m + 1
    if lo_pos < 0 or hi_pos > last or lo_pos == last or hi_pos == 0:
        raise StatisticsError("ats_slope: Kendall's S of the residuals does not change sign; "
                              "the data determine no slope")
    slope_low, slope_high = float(crit[lo_pos]), float(crit[hi_pos - 1])
    slope = 0.5 * (slope_low + slope_high)
    resid = yv - slope * xv
    intercept = kaplan_meier(resid, yc).median if (~yc).any() else float("nan")
    return ATSResult(
        slope=slope, intercept=float(intercept), slope_low=slope_low, slope_high=slope_high,
        kendall=censored_kendall(xv, yv, y_censored=yc, continuity=continuity),
        n=int(n), n_censored=int(yc.sum()),
    )


# --------------------------------------------------------------------------- paired tests


def _obrien_fleming(b: FloatArray, bc: BoolArray, a: FloatArray,
                    ac: BoolArray) -> tuple[FloatArray, BoolArray, FloatArray, BoolArray]:
    """O'Brien & Fleming's (1987) adjustment of each pair (as NADA2 ``ppw.test``).

    Both censored: both become ``<max(DL)``. One censored with a DL above the other's
    detected value: that value becomes ``<DL`` too (their order is unknown).
    """
    b, bc, a, ac = b.copy(), bc.copy(), a.copy(), ac.copy()
    both = bc & ac
    top = np.maximum(b, a)
    b[both], a[both] = top[both], top[both]
    lift_a = bc & ~ac & (b > a)
    a[lift_a], ac[lift_a] = b[lift_a], True
    lift_b = ac & ~bc & (a > b)
    b[lift_b], bc[lift_b] = a[lift_b], True
    return b, bc, a, ac


def peto_prentice_scores(values: ArrayLike, censored: ArrayLike) -> FloatArray:
    """Prentice–Wilcoxon scores of left-censored data, from the Peto–Prentice survival.

    Helsel's flip turns left-censoring into right-censoring. The Peto–Prentice estimate
    of ``P(X < y)`` at the distinct detected values ``y_1 > y_2 > …`` is
    ``Ŝ_j = Π_{k<=j} (r_k + 1 − d_k)/(r_k + 1)``, with ``d_k`` detects equal to ``y_k``
    and ``r_k`` observations known to be ``<= y_k`` (detects ``<= y_k`` and censored
    values with ``DL <= y_k``). Scores, oriented so that a larger value scores higher:

    * a detect at ``y_j``: ``2 Ŝ − 1``, with ``Ŝ`` the mean of the ``d_j`` values the
      estimate takes if the ties are broken
      (``Ŝ_{j−1} (r_j + 1 − (d_j + 1)/2)/(r_j + 1)``; the midrank convention);
    * a censored ``<DL``: ``Ŝ(DL) − 1``, ``Ŝ(DL)`` the estimate of ``P(X < DL)`` (that
      after the smallest detect ``>= DL``; 1 above every detect).

    These are minus the scores of O'Brien & Fleming (1987) on the flipped data. Without
    censoring the score of a value of pooled midrank ``R`` among ``N`` is
    ``(2R − N − 1)/(N + 1)``: centred ranks.

    Examples
    --------
    >>> peto_prentice_scores([1.0, 2.0, 3.0], [False, False, False]).tolist()
    [-0.5, 0.0, 0.5]
    >>> peto_prentice_scores([1.0, 2.0, 2.0, 3.0], [True, False, False, False]).round(3).tolist()
    [-0.6, 0.0, 0.0, 0.6]
    """
    ((v, c),) = _columns(("values", values, censored))
    ys, d = np.unique(v[~c], return_counts=True)
    ys, d = ys[::-1], d[::-1]  # descending: the order of the flipped survival curve
    r = np.searchsorted(np.sort(v), ys, side="right")
    after = np.cumprod((r + 1.0 - d) / (r + 1.0))
    before = np.concatenate(([1.0], after[:-1]))
    s_detect = before * (r + 1.0 - (d + 1.0) / 2.0) / (r + 1.0)
    out = np.empty(v.size)
    # ys descending: the detect at v is position len - 1 - (index in ascending order)
    asc = ys[::-1]
    pos = ys.size - 1 - np.searchsorted(asc, v[~c])
    out[~c] = 2.0 * s_detect[pos] - 1.0
    k = np.searchsorted(asc, v[c], side="left")  # smallest detect >= DL (ascending index)
    s_cens = np.where(k < asc.size, after[np.clip(ys.size - 1 - k, 0, None)], 1.0)
    out[c] = s_cens - 1.0
    return out


@dataclass(frozen=True, eq=False)
class PPWResult(_AsDict):
    """The paired Prentice–Wilcoxon test (see :func:`paired_prentice_wilcoxon`).

    Attributes
    ----------
    n : int
        Pairs used.
    z : float
        ``Σ d / sqrt(Σ d²)``; positive when ``after`` tends to be larger.
    p_value : float
        Two-sided normal p-value of ``z``.
    score_before, score_after, difference : ndarray
        Per pair: the Peto–Prentice scores and ``d = score_after − score_before``.
    """

    n: int
    z: float
    p_value: float
    score_before: FloatArray
    score_after: FloatArray
    difference: FloatArray


def paired_prentice_wilcoxon(
    before: ArrayLike,
    before_censored: ArrayLike | None,
    after: ArrayLike,
    after_censored: ArrayLike | None,
    *,
    adjust_pairs: bool = True,
) -> PPWResult:
    """Paired Prentice–Wilcoxon test of "no change" between two paired campaigns.

    Following O'Brien & Fleming (1987) and Helsel (2012, sec. 9.3; NADA2 ``ppw.test``):
    each pair is first adjusted so that its order is never assumed (``adjust_pairs``:
    both censored become ``<max(DL)``; a detect below the other's DL becomes ``<DL``).
    The ``2n`` values are pooled and scored by :func:`peto_prentice_scores`; per pair
    ``d = score_after − score_before``. Under the null hypothesis each ``d`` is symmetric
    about 0, so ``Σ d`` has mean 0 and variance ``Σ d²`` given the ``|d|``;
    ``Z = Σ d / sqrt(Σ d²)`` is compared with the standard normal (two-sided).

    Without censoring the scores are centred pooled midranks, and ``Z`` equals
    ``Σ (R_after − R_before) / sqrt(Σ (R_after − R_before)²)`` on the pooled midranks
    ``R``: the normal approximation of the sign-flip (paired randomisation) test of the
    differences of pooled ranks.

    Parameters
    ----------
    before, after : array_like of float
        Paired values (same site, two campaigns); for a censored value, its DL.
    before_censored, after_censored : array_like of bool or None
        True where the value is below its detection limit (None: none censored).
    adjust_pairs : bool
        Apply O'Brien & Fleming's adjustment (default, as NADA2).

    Returns
    -------
    PPWResult

    Raises
    ------
    StatisticsError
        Fewer than 2 complete pairs or malformed input.

    Examples
    --------
    >>> r = paired_prentice_wilcoxon([1, 2, 3, 4], [True, False, False, False],
    ...                              [2, 3, 5, 6], None)
    >>> r.difference.round(3).tolist()
    [0.333, 0.444, 0.556, 0.444]
    >>> round(r.z, 4), round(r.p_value, 4)
    (1.9695, 0.0489)
    """
    (b, bc), (a, ac) = _columns(("before", before, before_censored),
                                ("after", after, after_censored))
    n = b.size
    if n < 2:
        raise StatisticsError(f"paired_prentice_wilcoxon: needs at least 2 pairs, got {n}")
    if adjust_pairs:
        b, bc, a, ac = _obrien_fleming(b, bc, a, ac)
    scores = peto_prentice_scores(np.concatenate((b, a)), np.concatenate((bc, ac)))
    sb, sa = scores[:n], scores[n:]
    d = sa - sb
    ss = float(np.sum(d**2))
    if ss > 0:
        z = float(d.sum() / np.sqrt(ss))
        p = float(2 * stats.norm.sf(abs(z)))
    else:
        z, p = 0.0, 1.0
    return PPWResult(n=int(n), z=z, p_value=p, score_before=_frozen(sb),
                     score_after=_frozen(sa), difference=_frozen(d))


def pair_signs(before: ArrayLike, before_censored: ArrayLike | None, after: ArrayLike,
               after_censored: ArrayLike | None) -> NDArray[np.int8]:
    """Per pair, the sign of ``after − before`` where the data determine it, else 0.

    Examples
    --------
    >>> pair_signs([1, 5, 2, 3], [False, True, True, False],
    ...            [2, 4, 1, 3], [False, False, True, True]).tolist()
    [1, 0, 0, -1]
    """
    (b, bc), (a, ac) = _columns(("before", before, before_censored),
                                ("after", after, after_censored))
    return _order(a, ac, b, bc)


@dataclass(frozen=True, eq=False)
class SignTestResult(_AsDict):
    """The sign test of paired censored data (see :func:`censored_sign_test`).

    Attributes
    ----------
    n : int
        Pairs used.
    n_increase, n_decrease : int
        Pairs where ``after`` is determined to be larger, smaller.
    n_tied : int
        Pairs tied or undetermined (left out of the test).
    p_value : float
        Exact two-sided binomial p-value of ``n_increase`` among the determined pairs
        (1 when none is determined).
    """

    n: int
    n_increase: int
    n_decrease: int
    n_tied: int
    p_value: float


def censored_sign_test(
    before: ArrayLike,
    before_censored: ArrayLike | None,
    after: ArrayLike,
    after_censored: ArrayLike | None,
) -> SignTestResult:
    """Sign test of "no change" for paired censored data (Helsel 2012, sec. 9.1).

    Each pair is an increase, a decrease, or undetermined (:func:`pair_signs`: equal
    detects, both censored, or a detect below the other's DL). Undetermined pairs are
    left out, and ``n_increase`` is tested against Binomial(``n_increase + n_decrease``,
    1/2), exactly (``scipy.stats.binomtest``). NADA2 ``cen_signtest`` also reports a
    version with Fong et al.'s (2003) correction for ties, which is not computed here.

    Examples
    --------
    >>> t = censored_sign_test([1, 1, 1, 1, 1, 1], [True] * 6,
    ...                        [2, 3, 4, 5, 6, 0.5], [False] * 6)
    >>> t.n_increase, t.n_decrease, t.n_tied, round(t.p_value, 4)
    (5, 0, 1, 0.0625)
    """
    (b, bc), (a, ac) = _columns(("before", before, before_censored),
                                ("after", after, after_censored))
    sign = _order(a, ac, b, bc)
    up, down = int((sign > 0).sum()), int((sign < 0).sum())
    p = float(stats.binomtest(up, up + down, 0.5).pvalue) if up + down else 1.0
    return SignTestResult(n=int(b.size), n_increase=up, n_decrease=down,
                          n_tied=int(b.size - up - down), p_value=p)
