"""Censored Kendall, ATS, paired Prentice–Wilcoxon, sign test and BH, against references.

References used here, none of them calling :mod:`chemearth.stats.trends`:

- Plain O(n²) loops written below (``bf_*``): one ``if``/``else`` per pair of
  observations for the interval comparison, Kendall's S and the tie counts; the PPW
  scores by walking the flipped data one observation at a time (ties among detects broken
  and the survival averaged over them, as NADA2 ``ppw.test`` does), with O'Brien &
  Fleming's adjustment made pair by pair.
- The variance of S: the population variance of S over *all* permutations of
  ``(y, censored)`` against ``x``, enumerated, on small subsets of the NADA data.
- Without censoring: ``scipy.stats.kendalltau`` (tau-b, asymptotic p),
  ``scipy.stats.theilslopes`` (slope; ``method="joint"`` intercept for odd n),
  ``scipy.stats.rankdata`` for the PPW statistic on pooled ranks and
  ``scipy.stats.permutation_test`` (paired sign flips) for its p-value.
- ``statsmodels.stats.multitest.multipletests(method="fdr_bh")`` for BH.
- Small examples worked by hand, with the working in comments.
- The NADA textbook files (Helsel; CRAN NADA). ``SedPb`` ships the interval of each paired
  difference 2001 − 1996 (``Lo01to96``, ``Hi01to96``), an independent record of which
  pairs have a determined sign. The NADA files hold no time series and this test knows no
  published ``cenken``/``ppw.test`` output for them, so no published number is checked.
- Simulations with a known trend (seeded): bias of the ATS slope, size and power of the
  Kendall and PPW tests.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from chemearth.errors import StatisticsError
from chemearth.stats.multiple_testing import benjamini_hochberg
from chemearth.stats.trends import (
    ats_slope,
    censored_kendall,
    censored_sign_test,
    pair_signs,
    paired_prentice_wilcoxon,
    peto_prentice_scores,
)

# --------------------------------------------------------------------------- brute force


def bf_cmp(vi: float, ci: bool, vj: float, cj: bool) -> int:
    """+1 if observation i is known to be larger than j, -1 if known smaller, else 0."""
    if not ci and not cj:
        return int(vi > vj) - int(vi < vj)
    if ci and cj:
        return 0
    if ci:  # i is <vi, j detected: j is larger when vj >= vi
        return -1 if vj >= vi else 0
    return 1 if vi >= vj else 0  # j is <vj, i detected


def bf_kendall(x, xc, y, yc) -> tuple[int, int, int]:
    """S, pairs tied/undetermined in x, in y."""
    s = tx = ty = 0
    n = len(x)
    for i in range(n):
        for j in range(i + 1, n):
            a = bf_cmp(x[i], xc[i], x[j], xc[j])
            b = bf_cmp(y[i], yc[i], y[j], yc[j])
            s += a * b
            tx += a == 0
            ty += b == 0
    return s, tx, ty


def bf_residual_s(x, y, yc, beta: float) -> int:
    r = [y[i] - beta * x[i] for i in range(len(x))]
    return bf_kendall(x, [False] * len(x), r, yc)[0]


def bf_ppw(b, bc, a, ac) -> tuple[float, list[float]]:
    """Z of the paired Prentice–Wilcoxon test, and the differences, by plain loops."""
    b, bc, a, ac = list(b), list(bc), list(a), list(ac)
    for i in range(len(b)):  # O'Brien & Fleming
        if bc[i] and ac[i]:
            b[i] = a[i] = max(b[i], a[i])
        elif bc[i] and b[i] > a[i]:
            a[i], ac[i] = b[i], True
        elif ac[i] and a[i] > b[i]:
            b[i], bc[i] = a[i], True
    vals, cens = b + a, bc + ac
    n_all = len(vals)
    # flipped time -v; a <DL sits just after the detect at DL in flipped time
    order = sorted(range(n_all), key=lambda k: (-vals[k], cens[k]))
    at_risk, surv = n_all, 1.0
    s_obs = [0.0] * n_all
    for k in order:
        if not cens[k]:
            surv *= at_risk / (at_risk + 1)  # Peto–Prentice: one event among at_risk + 1
        s_obs[k] = surv
        at_risk -= 1
    score = [0.0] * n_all
    for k in range(n_all):
        if cens[k]:
            score[k] = s_obs[k] - 1
        else:
            tied = [m for m in range(n_all) if not cens[m] and vals[m] == vals[k]]
            score[k] = 2 * sum(s_obs[m] for m in tied) / len(tied) - 1
    n = len(b)
    d = [score[n + i] - score[i] for i in range(n)]
    ss = sum(v * v for v in d)
    return (sum(d) / math.sqrt(ss) if ss else 0.0), d


def exact_permutation_var(x, xc, y, yc) -> float:
    """Variance of S over all permutations of (y, yc) against x (small n)."""
    s_all = []
    for perm in itertools.permutations(range(len(y))):
        s_all.append(bf_kendall(x, xc, [y[p] for p in perm], [yc[p] for p in perm])[0])
    return float(np.var(s_all))


# --------------------------------------------------------------------------- data


def nada(data_dir: Path, file: str, *cols: str) -> pd.DataFrame:
    return pd.read_csv(data_dir / "nada" / file)[list(cols)].dropna()


@pytest.fixture(scope="module")
def cuzn(data_dir: Path) -> pd.DataFrame:
    return nada(data_dir, "CuZn.csv", "Cu", "CuCen", "Zn", "ZnCen")


@pytest.fixture(scope="module")
def sedpb(data_dir: Path) -> pd.DataFrame:
    return nada(data_dir, "SedPb.csv", "y1996", "y1996Cen", "y2001", "y2001Cen",
                "Lo01to96", "Hi01to96")


@pytest.fixture(scope="module")
def arsenic(data_dir: Path) -> pd.DataFrame:
    return nada(data_dir, "Arsenic.csv", "As", "AsCen")


def _arr(df: pd.DataFrame, v: str, c: str) -> tuple[np.ndarray, np.ndarray]:
    return df[v].to_numpy(float), df[c].astype(bool).to_numpy()


# --------------------------------------------------------------------------- Kendall


def test_kendall_hand_example() -> None:
    # time 1..6, y = 2, <1, 4, <5, 6, 3
    # pairs (i<j), sign of y_j - y_i:
    #  (2,<1) -1   (2,4) +1   (2,<5) 0   (2,6) +1   (2,3) +1
    #  (<1,4) +1  (<1,<5) 0  (<1,6) +1  (<1,3) +1
    #  (4,<5)  0   (4,6) +1   (4,3) -1
    #  (<5,6) +1  (<5,3)  0
    #  (6,3)  -1
    # concordant 8, discordant 3 -> S = 5; undetermined in y: 4 -> tau_b = 5/sqrt(15*11)
    k = censored_kendall(np.arange(1, 7), [2, 1, 4, 5, 6, 3],
                         y_censored=[False, True, False, True, False, False])
    assert k.s == 5
    assert k.n_tied_y == 4
    assert k.n_tied_x == 0
    assert k.tau_a == pytest.approx(5 / 15)
    assert k.tau_b == pytest.approx(5 / math.sqrt(15 * 11))
    # var(S) by enumerating the 720 orders of y against time
    var = exact_permutation_var(list(range(6)), [False] * 6, [2, 1, 4, 5, 6, 3],
                                [False, True, False, True, False, False])
    assert k.var_s == pytest.approx(var, rel=1e-12)
    assert k.p_value == pytest.approx(2 * stats.norm.sf(5 / math.sqrt(var)))


@pytest.mark.parametrize(
    ("file", "cols", "rows"),
    [
        ("CuZn.csv", ("Cu", "CuCen", "Zn", "ZnCen"), slice(0, 7)),  # both censored
        ("CuZn.csv", ("Cu", "CuCen", "Zn", "ZnCen"), slice(10, 17)),
        ("CuZn.csv", ("Cu", "CuCen", "Zn", "ZnCen"), slice(70, 77)),
        ("SedPb.csv", ("y2001", "y2001Cen", "y1996", "y1996Cen"), slice(75, 82)),
    ],
    ids=["cuzn-0", "cuzn-10", "cuzn-70", "sedpb-75"],
)
def test_kendall_variance_is_the_permutation_variance(data_dir: Path, file: str,
                                                      cols: tuple[str, ...],
                                                      rows: slice) -> None:
    df = nada(data_dir, file, *cols).iloc[rows]
    x, xc = _arr(df, cols[0], cols[1])
    y, yc = _arr(df, cols[2], cols[3])
    k = censored_kendall(x, y, x_censored=xc, y_censored=yc)
    assert k.var_s == pytest.approx(exact_permutation_var(x, xc, y, yc), rel=1e-12)


@pytest.mark.parametrize(
    ("file", "cols"),
    [
        ("CuZn.csv", ("Cu", "CuCen", "Zn", "ZnCen")),
        ("SedPb.csv", ("y2001", "y2001Cen", "y1996", "y1996Cen")),
        ("Cadmium.csv", (None, None, "Cd", "CdCen")),
        ("Arsenic.csv", (None, None, "As", "AsCen")),
    ],
    ids=["cuzn", "sedpb", "cadmium-order", "arsenic-order"],
)
def test_kendall_against_brute_force_on_nada(data_dir: Path, file: str,
                                             cols: tuple[str | None, ...]) -> None:
    """S and tie counts on the full files; ``x`` is the row order where none is given."""
    df = pd.read_csv(data_dir / "nada" / file)
    if cols[0] is None:
        df = df[[cols[2], cols[3]]].dropna()
        x, xc = np.arange(len(df), dtype=float), np.zeros(len(df), bool)
    else:
        df = df[list(cols)].dropna()
        x, xc = _arr(df, cols[0], cols[1])
    y, yc = _arr(df, cols[2], cols[3])
    s, tx, ty = bf_kendall(x, xc, y, yc)
    k = censored_kendall(x, y, x_censored=xc, y_censored=yc)
    n = len(y)
    j = n * (n - 1) // 2
    assert (k.s, k.n_tied_x, k.n_tied_y) == (s, tx, ty)
    assert k.tau_b == pytest.approx(s / math.sqrt((j - tx) * (j - ty)))
    assert k.tau_a == pytest.approx(s / j)
    assert k.z == pytest.approx(s / math.sqrt(k.var_s))
    kc = censored_kendall(x, y, x_censored=xc, y_censored=yc, continuity=True)
    assert kc.z == pytest.approx((abs(s) - 1) * np.sign(s) / math.sqrt(k.var_s))


@pytest.mark.parametrize(
    ("file", "xcol", "ycol"),
    [
        ("CuZn.csv", "Cu", "Zn"),
        ("SedPb.csv", "y2001", "y1996"),
        ("SedPb.csv", "Lo01to96", "Hi01to96"),
        ("Arsenic.csv", None, "As"),
    ],
)
def test_kendall_without_censoring_is_scipy(data_dir: Path, file: str, xcol: str | None,
                                            ycol: str) -> None:
    """Flags ignored (DLs read as values): many ties, as in the real files."""
    df = pd.read_csv(data_dir / "nada" / file)
    df = df[[c for c in (xcol, ycol) if c]].dropna()
    x = df[xcol].to_numpy(float) if xcol else np.arange(len(df), dtype=float)
    y = df[ycol].to_numpy(float)
    k = censored_kendall(x, y)
    ref = stats.kendalltau(x, y, method="asymptotic")
    assert k.tau_b == pytest.approx(ref.statistic, rel=1e-12)
    assert k.p_value == pytest.approx(ref.pvalue, rel=1e-9)


def test_kendall_drops_missing_rows_and_checks_input() -> None:
    k = censored_kendall([1, 2, np.nan, 4, 5], [1, 2, 3, np.nan, 6])
    assert k.n == 3
    with pytest.raises(StatisticsError, match="at least 3"):
        censored_kendall([1, 2], [1, 2])
    with pytest.raises(StatisticsError, match="lengths differ"):
        censored_kendall([1, 2, 3], [1, 2])
    with pytest.raises(StatisticsError, match="booleans"):
        censored_kendall([1, 2, 3], [1, 2, 3], y_censored=["a", "b", "c"])


# --------------------------------------------------------------------------- ATS


def test_ats_hand_example() -> None:
    # x = 1..4, y = 2, <1, 4, 5; residual r = y - b x (the <1 gives <1 - 2b).
    # Sign of each pair (i<j) as b grows:
    #  (1,2): 2-b >= 1-2b for b >= -1 -> -1         (1,3), (1,4), (3,4): +1 for b < 1, -1 above
    #  (2,3): 4-3b >= 1-2b for b <= 3 -> +1         (2,4): 5-4b >= 1-2b for b <= 2 -> +1
    # S = -1 + 3 + 2 = 4 just below b = 1, and -1 - 3 + 2 = -2 just above: slope = 1.
    # Residuals at b = 1: 1, <-1, 1, 1 -> KM median 1 = intercept.
    r = ats_slope([1, 2, 3, 4], [2, 1, 4, 5], [False, True, False, False])
    assert (r.slope, r.slope_low, r.slope_high, r.intercept) == (1.0, 1.0, 1.0, 1.0)
    assert bf_residual_s([1, 2, 3, 4], [2, 1, 4, 5], [False, True, False, False], 0.999) == 4
    assert bf_residual_s([1, 2, 3, 4], [2, 1, 4, 5], [False, True, False, False], 1.001) == -2


def _ats_defining_property(x, y, yc, r) -> None:
    """S > 0 just below slope_low, S < 0 just above slope_high, S = 0 between them."""
    n = len(x)
    cands = sorted({(y[j] - y[i]) / (x[j] - x[i]) for i in range(n) for j in range(n)
                    if x[j] != x[i]})
    below = max(c for c in cands if c < r.slope_low - 1e-12)
    above = min(c for c in cands if c > r.slope_high + 1e-12)
    assert bf_residual_s(x, y, yc, (below + r.slope_low) / 2) > 0
    assert bf_residual_s(x, y, yc, (r.slope_high + above) / 2) < 0
    if r.slope_high > r.slope_low:
        assert bf_residual_s(x, y, yc, r.slope) == 0
    for c in (r.slope_low, r.slope_high):  # both ends are jumps of S
        assert any(abs(c - k) <= 1e-12 * max(1.0, abs(k)) for k in cands)


@pytest.mark.parametrize("case", ["arsenic-order", "sedpb-1996-on-2001", "cuzn-zn-on-cu"])
def test_ats_on_nada(data_dir: Path, case: str) -> None:
    if case == "arsenic-order":
        df = nada(data_dir, "Arsenic.csv", "As", "AsCen")
        # a shuffled row order as "time", so that the line is not trivial
        order = np.random.default_rng(21).permutation(len(df))
        x = order.astype(float)
        y, yc = _arr(df, "As", "AsCen")
    elif case == "sedpb-1996-on-2001":
        df = nada(data_dir, "SedPb.csv", "y2001", "y2001Cen", "y1996", "y1996Cen")
        df = df[~df["y2001Cen"].astype(bool)]
        x = df["y2001"].to_numpy(float)
        y, yc = _arr(df, "y1996", "y1996Cen")
    else:
        df = nada(data_dir, "CuZn.csv", "Cu", "CuCen", "Zn", "ZnCen")
        df = df[~df["CuCen"].astype(bool)]
        x = df["Cu"].to_numpy(float)
        y, yc = _arr(df, "Zn", "ZnCen")
    r = ats_slope(x, y, yc)
    _ats_defining_property(list(x), list(y), list(yc), r)
    assert r.n == len(x)
    assert r.n_censored == yc.sum()
    assert r.kendall.s == bf_kendall(list(x), [False] * len(x), list(y), list(yc))[0]


def test_ats_small_subset_full_scan(data_dir: Path) -> None:
    """Every interval between jumps scanned with the brute-force S (20 rows of SedPb)."""
    df = nada(data_dir, "SedPb.csv", "y2001", "y2001Cen", "y1996", "y1996Cen").iloc[60:80]
    x, y, yc = list(df["y2001"]), list(df["y1996"]), list(df["y1996Cen"].astype(bool))
    cands = sorted({(y[j] - y[i]) / (x[j] - x[i]) for i in range(20) for j in range(20)
                    if x[j] != x[i]})
    probes = [cands[0] - 1, *[(a + b) / 2 for a, b in itertools.pairwise(cands)],
              cands[-1] + 1]
    s = [bf_residual_s(x, y, yc, p) for p in probes]
    assert all(a >= b for a, b in itertools.pairwise(s))  # non-increasing
    last_pos = max(k for k, v in enumerate(s) if v > 0)
    first_neg = min(k for k, v in enumerate(s) if v < 0)
    lo, hi = cands[last_pos], cands[first_neg - 1]
    r = ats_slope(x, y, yc)
    assert (r.slope_low, r.slope_high) == pytest.approx((lo, hi), rel=1e-12)
    assert r.slope == pytest.approx((lo + hi) / 2, rel=1e-12)


@pytest.mark.parametrize(
    ("file", "xcol", "ycol"),
    [
        ("SedPb.csv", "y2001", "y1996"),
        ("CuZn.csv", "Cu", "Zn"),
        ("Cadmium.csv", None, "Cd"),
        ("Arsenic.csv", None, "As"),
    ],
)
def test_ats_without_censoring_is_theil_sen(data_dir: Path, file: str, xcol: str | None,
                                            ycol: str) -> None:
    df = pd.read_csv(data_dir / "nada" / file)
    df = df[[c for c in (xcol, ycol) if c]].dropna()
    x = (df[xcol].to_numpy(float) if xcol
         else np.random.default_rng(3).permutation(len(df)).astype(float))
    y = df[ycol].to_numpy(float)
    r = ats_slope(x, y)
    ref = stats.theilslopes(y, x, method="joint")
    assert r.slope == pytest.approx(ref.slope, rel=1e-12, abs=1e-14)
    resid = np.sort(y - r.slope * x)
    # the KM median is the lower middle residual (equal to theilslopes' for odd n)
    assert r.intercept == pytest.approx(resid[(len(y) - 1) // 2], rel=1e-12, abs=1e-12)
    if len(y) % 2:
        assert r.intercept == pytest.approx(ref.intercept, rel=1e-12, abs=1e-12)
    k = stats.kendalltau(x, y, method="asymptotic")
    assert (r.tau, r.p_value) == pytest.approx((k.statistic, k.pvalue), rel=1e-9)


@pytest.mark.parametrize(("scale", "tilt"), [(1.0, 0.0), (3.0, 0.0), (0.5, 0.2), (2.0, -1.5)])
def test_ats_is_equivariant(arsenic: pd.DataFrame, scale: float, tilt: float) -> None:
    """``y -> scale·y + tilt·x`` (DLs alike) gives ``slope -> scale·slope + tilt``, and
    Kendall's S of ``y`` is unchanged by any increasing transform (here the log)."""
    y, c = _arr(arsenic, "As", "AsCen")
    x = np.random.default_rng(8).permutation(len(y)).astype(float)
    base = ats_slope(x, y, c)
    moved = ats_slope(x, scale * y + tilt * x, c)
    assert moved.slope == pytest.approx(scale * base.slope + tilt, rel=1e-9, abs=1e-12)
    if tilt == 0:
        assert moved.intercept == pytest.approx(scale * base.intercept, rel=1e-9)
    assert censored_kendall(x, np.log(y), y_censored=c).s == base.kendall.s


def test_ats_refuses_what_it_cannot_estimate() -> None:
    with pytest.raises(StatisticsError, match="no pair"):
        ats_slope([1, 1, 1], [1, 2, 3])
    with pytest.raises(StatisticsError, match="no pair"):
        ats_slope([1, 2, 3], [1, 2, 3], [True, True, True])
    with pytest.raises(StatisticsError, match="does not change sign"):
        # 5, <1, <1: S(b) = 0 below b = -4, then -1, then -2 from b = -2: never positive
        ats_slope([1, 2, 3], [5, 1, 1], [False, True, True])


# --------------------------------------------------------------------------- simulations


def _simulate(rng: np.random.Generator, n: int, slope: float) -> tuple[np.ndarray, ...]:
    """y = 5 + slope·t + N(0, 1), t = 0..n-1 years; each sample's DL 4.5, 5 or 5.5 at
    random (multiple DLs, censoring independent of time)."""
    t = np.arange(n, dtype=float)
    y = 5.0 + slope * t + rng.normal(0.0, 1.0, n)
    dl = rng.choice([4.5, 5.0, 5.5], n)
    cen = y < dl
    return t, np.where(cen, dl, y), cen


def test_ats_recovers_a_known_slope() -> None:
    """200 series of 30 years, ~20 % censored: mean and median ATS slope within 0.01 of
    0.1 (the standard error of the mean of 200 slopes is about 0.0015)."""
    rng = np.random.default_rng(2021)
    slopes, share = [], []
    for _ in range(200):
        t, y, c = _simulate(rng, 30, 0.1)
        slopes.append(ats_slope(t, y, c).slope)
        share.append(c.mean())
    assert 0.1 < np.mean(share) < 0.4
    assert abs(np.mean(slopes) - 0.1) < 0.01
    assert abs(np.median(slopes) - 0.1) < 0.01


def test_kendall_size_and_power() -> None:
    """No trend (half the values censored): rejections at 5 % within the 99 % binomial
    interval of 400 tests, p-values roughly uniform. Slope 0.08/yr over 30 years (2.4 sd):
    power above 0.8 (it is about 0.93)."""
    rng = np.random.default_rng(7)
    null = []
    for _ in range(400):
        t, y, c = _simulate(rng, 30, 0.0)
        null.append(censored_kendall(t, y, y_censored=c).p_value)
    lo, hi = stats.binom.ppf([0.005, 0.995], 400, 0.05) / 400
    assert lo <= np.mean(np.array(null) < 0.05) <= hi
    # roughly uniform: each quarter of [0, 1] holds 25 % ± 7 %
    quarters = np.histogram(null, bins=4, range=(0, 1))[0] / 400
    assert np.all(np.abs(quarters - 0.25) < 0.07)
    power = []
    for _ in range(200):
        t, y, c = _simulate(rng, 30, 0.08)
        power.append(censored_kendall(t, y, y_censored=c).p_value < 0.05)
    assert np.mean(power) > 0.8


def test_ppw_size_and_power() -> None:
    """40 sites, values lognormal (site sd 1, re-sampling sd 0.5 in logs), DL 1 (about
    30 % censored). No change: rejections at 5 % within the 99 % binomial interval of
    400 tests. Every value × 1.5: power above 0.75 (it is about 0.89)."""
    rng = np.random.default_rng(11)

    def campaign(shift: float) -> tuple[np.ndarray, ...]:
        site = rng.normal(0.5, 1.0, 40)
        b = np.exp(site + rng.normal(0, 0.5, 40))
        a = np.exp(site + shift + rng.normal(0, 0.5, 40))
        return np.maximum(b, 1.0), b < 1.0, np.maximum(a, 1.0), a < 1.0

    null = [paired_prentice_wilcoxon(*campaign(0.0)).p_value for _ in range(400)]
    lo, hi = stats.binom.ppf([0.005, 0.995], 400, 0.05) / 400
    assert lo <= np.mean(np.array(null) < 0.05) <= hi
    power = [paired_prentice_wilcoxon(*campaign(np.log(1.5))).p_value < 0.05
             for _ in range(200)]
    assert np.mean(power) > 0.75


# --------------------------------------------------------------------------- PPW


def test_ppw_hand_example() -> None:
    # before <1, 2, 3, 4; after 2, 3, 5, 6 (no pair needs O'Brien–Fleming's adjustment).
    # Pooled, flipped from the top, Peto–Prentice P(X < y) after each detect:
    #   6: r=8, 8/9    5: r=7, 7/9    4: r=6, 6/9    3 (twice): r=5, 6/9·4/6 = 4/9
    #   2 (twice, and <1 is known below 2): r=3, 4/9·2/4 = 2/9
    # Detect score 2·S̄ − 1, S̄ the mean over broken ties: 6 → 7/9, 5 → 5/9, 4 → 3/9,
    #   3 → 2·(6/9·(5/6 + 4/6)/2) − 1 = 0, 2 → 2·(4/9·(3/4 + 2/4)/2) − 1 = −4/9;
    # <1 → P(X < 1) − 1 = 2/9 − 1 = −7/9.
    # d = (−4/9+7/9, 0+4/9, 5/9−0, 7/9−3/9) = (3, 4, 5, 4)/9; Z = 16 / sqrt(66) = 1.9695
    r = paired_prentice_wilcoxon([1, 2, 3, 4], [True, False, False, False],
                                 [2, 3, 5, 6], [False] * 4)
    np.testing.assert_allclose(r.difference, np.array([3, 4, 5, 4]) / 9, atol=1e-14)
    assert r.z == pytest.approx(16 / math.sqrt(66))
    assert r.p_value == pytest.approx(2 * stats.norm.sf(16 / math.sqrt(66)))


def test_ppw_adjusts_pairs() -> None:
    # pair 1: <5 and 3 -> both <5; pair 2: <2 and <4 -> both <4; pair 3 unchanged.
    r = paired_prentice_wilcoxon([5, 2, 1], [True, True, False], [3, 4, 7],
                                 [False, True, False])
    assert r.difference[0] == 0.0
    assert r.difference[1] == 0.0
    z, d = bf_ppw([5, 2, 1], [True, True, False], [3, 4, 7], [False, True, False])
    np.testing.assert_allclose(r.difference, d, atol=1e-14)
    assert r.z == pytest.approx(z)
    unadjusted = paired_prentice_wilcoxon([5, 2, 1], [True, True, False], [3, 4, 7],
                                          [False, True, False], adjust_pairs=False)
    assert unadjusted.difference[0] != 0.0


@pytest.mark.parametrize(
    ("file", "cols"),
    [
        ("SedPb.csv", ("y1996", "y1996Cen", "y2001", "y2001Cen")),
        ("CuZn.csv", ("Cu", "CuCen", "Zn", "ZnCen")),
    ],
)
def test_ppw_against_brute_force_on_nada(data_dir: Path, file: str,
                                         cols: tuple[str, ...]) -> None:
    df = nada(data_dir, file, *cols)
    b, bc = _arr(df, cols[0], cols[1])
    a, ac = _arr(df, cols[2], cols[3])
    r = paired_prentice_wilcoxon(b, bc, a, ac)
    z, d = bf_ppw(b, bc, a, ac)
    np.testing.assert_allclose(r.difference, d, atol=1e-12)
    assert r.z == pytest.approx(z, rel=1e-12)
    assert r.n == len(b)


def test_peto_prentice_scores_against_brute_force(arsenic: pd.DataFrame) -> None:
    """Scores of one pooled sample (Arsenic, three DLs) = the loop's, for every value."""
    v, c = _arr(arsenic, "As", "AsCen")
    half = len(v) // 2
    _, d = bf_ppw(v[:half], c[:half], v[half:2 * half], c[half:2 * half])
    r = paired_prentice_wilcoxon(v[:half], c[:half], v[half:2 * half], c[half:2 * half])
    np.testing.assert_allclose(r.difference, d, atol=1e-12)
    # without censoring: centred pooled midranks (2R - N - 1)/(N + 1)
    s = peto_prentice_scores(v, np.zeros(v.size, bool))
    ranks = stats.rankdata(v)
    np.testing.assert_allclose(s, (2 * ranks - v.size - 1) / (v.size + 1), atol=1e-12)


@pytest.mark.parametrize(("file", "b", "a"), [("SedPb.csv", "y1996", "y2001"),
                                               ("CuZn.csv", "Cu", "Zn")])
def test_ppw_without_censoring_is_the_pooled_rank_sign_flip_test(data_dir: Path, file: str,
                                                                 b: str, a: str) -> None:
    df = pd.read_csv(data_dir / "nada" / file)[[b, a]].dropna()
    xb, xa = df[b].to_numpy(float), df[a].to_numpy(float)
    r = paired_prentice_wilcoxon(xb, None, xa, None)
    ranks = stats.rankdata(np.concatenate((xb, xa)))
    dr = ranks[len(xb):] - ranks[:len(xb)]
    assert r.z == pytest.approx(dr.sum() / math.sqrt((dr**2).sum()), rel=1e-12)
    # ... whose p-value the sign-flip randomisation distribution confirms
    perm = stats.permutation_test((dr,), np.sum, permutation_type="samples",
                                  n_resamples=20_000, rng=np.random.default_rng(5))
    assert r.p_value == pytest.approx(perm.pvalue, abs=0.015)


# --------------------------------------------------------------------------- sign test


def test_pair_signs_match_the_published_difference_intervals(sedpb: pd.DataFrame) -> None:
    """SedPb ships [Lo, Hi] of 2001 − 1996 per site: the sign is known where 0 is outside
    it, and a tie where Lo = Hi = 0."""
    b, bc = _arr(sedpb, "y1996", "y1996Cen")
    a, ac = _arr(sedpb, "y2001", "y2001Cen")
    lo, hi = sedpb["Lo01to96"].to_numpy(float), sedpb["Hi01to96"].to_numpy(float)
    expected = np.where(lo > 0, 1, np.where(hi < 0, -1, 0))
    np.testing.assert_array_equal(pair_signs(b, bc, a, ac), expected)
    t = censored_sign_test(b, bc, a, ac)
    up, down = int((expected > 0).sum()), int((expected < 0).sum())
    assert (t.n_increase, t.n_decrease, t.n_tied) == (up, down, len(b) - up - down)
    assert t.p_value == pytest.approx(stats.binomtest(up, up + down).pvalue)
    # the SedPb counts themselves, from the file: 43 up, 24 down, 15 tied or undetermined
    assert (up, down, len(b)) == (43, 24, 82)


def test_sign_test_hand_example() -> None:
    # <1 → 2, 3, 4, 5, 6: up (each detect >= 1); <1 → 0.5: undetermined.
    # 5 up, 0 down: p = 2 · 0.5⁵ = 0.0625
    t = censored_sign_test([1] * 6, [True] * 6, [2, 3, 4, 5, 6, 0.5], [False] * 6)
    assert (t.n_increase, t.n_decrease, t.n_tied) == (5, 0, 1)
    assert t.p_value == pytest.approx(0.0625)
    assert censored_sign_test([1, 2], [True, True], [1, 2], [True, True]).p_value == 1.0


# --------------------------------------------------------------------------- BH


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_benjamini_hochberg_is_statsmodels(seed: int) -> None:
    rng = np.random.default_rng(seed)
    p = np.concatenate((rng.uniform(0, 1, 40), rng.uniform(0, 0.01, 10), [0.02, 0.02, 1.0]))
    rng.shuffle(p)
    ref = multipletests(p, method="fdr_bh")[1]
    np.testing.assert_allclose(benjamini_hochberg(p), ref, rtol=1e-14)
    with_nan = np.insert(p, [3, 7], np.nan)
    q = benjamini_hochberg(with_nan)
    assert np.isnan(q[[3, 8]]).all()
    np.testing.assert_allclose(q[~np.isnan(q)], ref, rtol=1e-14)


def test_benjamini_hochberg_checks_input() -> None:
    assert benjamini_hochberg([]).size == 0
    assert np.isnan(benjamini_hochberg([np.nan])).all()
    with pytest.raises(StatisticsError, match=r"\[0, 1\]"):
        benjamini_hochberg([0.5, 1.5])
