"""Percentiles, MAD, ``describe`` and background/threshold methods.

References: numpy/scipy called directly on real data (Meuse floodplain soils: the published
medians Zn = 326 and Cd = 2.1 mg/kg), small examples computed by hand (the arithmetic is in
the comments), and hypothesis for invariants. Censored-data statistics are in
``test_censored.py``.
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from scipy import stats

from chemearth.stats.summary import (
    MAD_NORMAL,
    StatisticsError,
    cumulative_class_breaks,
    describe,
    iterative_2sigma,
    mad,
    mad_normal,
    median_2mad,
    percentile_threshold,
    percentiles,
    tukey_fences,
    ubv,
)

MEUSE_PUBLISHED_MEDIANS = {"zinc": 326.0, "cadmium": 2.1}


@pytest.fixture(scope="module")
def meuse(data_dir: Path) -> pd.DataFrame:
    return pd.read_csv(data_dir / "meuse" / "meuse.csv")


@pytest.fixture(params=["zinc", "cadmium", "copper", "lead"])
def meuse_column(request: pytest.FixtureRequest, meuse: pd.DataFrame) -> tuple[str, np.ndarray]:
    return request.param, meuse[request.param].to_numpy(float)


# --------------------------------------------------------------------------- describe


def test_describe_meuse_against_numpy_and_scipy(meuse_column) -> None:
    name, x = meuse_column
    s = describe(x)
    assert (s["n"], s["n_censored"], s["method"], s["max_dl"]) == (155, 0, "none", None)
    if name in MEUSE_PUBLISHED_MEDIANS:
        assert s["median"] == MEUSE_PUBLISHED_MEDIANS[name]
    expected = {"min": x.min(), "max": x.max()}
    for key, q in [("p5", 5), ("p10", 10), ("p25", 25), ("median", 50)]:
        expected[key] = np.percentile(x, q, method="linear")
    for key, q in [("p75", 75), ("p90", 90), ("p95", 95), ("p98", 98)]:
        expected[key] = np.quantile(x, q / 100)
    for key, value in expected.items():
        assert s[key] == pytest.approx(value, rel=1e-12), key
    assert s["mad"] == pytest.approx(stats.median_abs_deviation(x))
    assert s["mad_normal"] == pytest.approx(1.4826 * stats.median_abs_deviation(x))
    assert s["gmean"] == pytest.approx(stats.gmean(x), rel=1e-12)
    assert s["log10_sd"] == pytest.approx(np.std(np.log10(x), ddof=1), rel=1e-12)
    assert not any(s["below_dl"].values())
    json.dumps(s)


def test_describe_type7_percentiles_by_hand() -> None:
    # n = 5, type 7: h = (n - 1) p. p5: h = 0.2 -> 1 + 0.2 (2 - 1) = 1.2;
    # p25: h = 1 -> 2; p98: h = 3.92 -> 4 + 0.92 (10 - 4) = 9.52
    s = describe([10.0, 1.0, 3.0, 2.0, 4.0])
    assert (s["p5"], s["p25"], s["median"]) == pytest.approx((1.2, 2.0, 3.0))
    assert s["p98"] == pytest.approx(9.52)
    # |x - 3| = 7, 2, 0, 1, 1 -> MAD = 1
    assert (s["mad"], s["mad_normal"]) == (1.0, MAD_NORMAL)


def test_describe_flags_percentiles_below_the_largest_dl() -> None:
    # <1, <1, <5, 2, 3, 6, 8, 9, 12, 20: largest DL 5. Type 7 with n = 10, h = 9 p:
    # p25 h = 2.25 -> sorted [1, 1, 2, 3, 5, 6, 8, 9, 12, 20]: 2 + 0.25 = 2.25 (flagged);
    # median h = 4.5 -> 5 + 0.5 (6 - 5) = 5.5 (not flagged).
    x = [1, 1, 5, 2, 3, 6, 8, 9, 12, 20]
    c = [True, True, True] + [False] * 7
    s = describe(x, c)
    assert s["p25"] == pytest.approx(2.25)
    assert s["median"] == pytest.approx(5.5)
    flagged = [k for k, v in s["below_dl"].items() if v]
    assert flagged == ["min", "p5", "p10", "p25"]


def test_describe_missing_and_nonpositive_values() -> None:
    s = describe([1.0, float("nan"), 3.0, -1.0])
    assert s["n"] == 3
    assert math.isnan(s["gmean"])
    assert math.isnan(s["log10_sd"])
    one = describe([4.0])
    assert one["gmean"] == pytest.approx(4.0)
    assert math.isnan(one["log10_sd"])


@pytest.mark.parametrize("bad", [[], [float("nan")], [[1.0, 2.0]]])
def test_describe_bad_input(bad) -> None:
    with pytest.raises(StatisticsError):
        describe(bad)


# --------------------------------------------------------------------------- percentiles and MAD


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        # x = 1..4: h = 3 p; p0 -> 1, p25 -> h 0.75 -> 1.75, p50 -> 2.5, p100 -> 4
        (0, 1.0),
        (25, 1.75),
        (50, 2.5),
        (100, 4.0),
    ],
)
def test_percentiles_by_hand(q, expected) -> None:
    assert percentiles([4.0, 2.0, 1.0, 3.0], q) == pytest.approx(expected)


def test_percentiles_vector_and_errors() -> None:
    out = percentiles([1.0, 2.0, 3.0, 4.0], [25, 50])
    assert isinstance(out, np.ndarray)
    assert out.tolist() == [1.75, 2.5]
    for bad in (-1, 101, [50, 120]):
        with pytest.raises(StatisticsError, match="0–100"):
            percentiles([1.0, 2.0], bad)


def test_mad_meuse(meuse_column) -> None:
    _, x = meuse_column
    assert mad(x) == pytest.approx(stats.median_abs_deviation(x))
    # scipy's "normal" scale is 1/Φ⁻¹(0.75) = 1.482602…; ours is R's rounded 1.4826
    assert mad_normal(x) == pytest.approx(stats.median_abs_deviation(x, scale="normal"), rel=2e-6)


finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
samples = st.lists(finite, min_size=1, max_size=50)


@given(samples, st.floats(1e-3, 1e3), st.floats(-1e3, 1e3))
def test_median_and_mad_are_shift_and_scale_equivariant(x, a, b) -> None:
    arr = np.array(x)
    moved = a * arr + b
    scale = a * (np.abs(arr).max() + 1) + abs(b)
    assert percentiles(moved, 50) == pytest.approx(a * percentiles(arr, 50) + b, abs=1e-9 * scale)
    assert describe(moved)["median"] == pytest.approx(
        a * describe(arr)["median"] + b, abs=1e-9 * scale
    )
    assert mad(moved) == pytest.approx(a * mad(arr), abs=1e-9 * scale)
    assert mad_normal(moved) == pytest.approx(a * mad_normal(arr), abs=1e-9 * scale)


@given(samples, st.lists(st.floats(0, 100), min_size=2, max_size=20))
def test_percentiles_are_monotone_in_q(x, qs) -> None:
    out = percentiles(x, sorted(qs))
    assert np.all(np.diff(out) >= 0)
    assert out.min() >= min(x)
    assert out.max() <= max(x)


# --------------------------------------------------------------------------- thresholds


def test_tukey_fences_by_hand() -> None:
    # raw: 1..9, 100 (n = 10, h = 9 p). Q1: h = 2.25 -> 3 + 0.25 = 3.25; Q3: h = 6.75 ->
    # 7 + 0.75 = 7.75; IQR = 4.5; fences 3.25 - 6.75 = -3.5 and 7.75 + 6.75 = 14.5.
    f = tukey_fences([1, 2, 3, 4, 5, 6, 7, 8, 9, 100], log=False)
    assert (f.q1, f.q3, f.iqr, f.lower, f.upper) == pytest.approx((3.25, 7.75, 4.5, -3.5, 14.5))
    # log10 of 1, 10, …, 10^4 is 0..4: Q1 = 1, Q3 = 3, IQR = 2 -> 10^-2 and 10^6
    g = tukey_fences([1, 10, 100, 1000, 10000])
    assert (g.lower, g.upper) == pytest.approx((0.01, 1e6))


def test_tukey_fences_meuse(meuse_column) -> None:
    _, x = meuse_column
    y = np.log10(x)
    q1, q3 = np.percentile(y, [25, 75])
    f = tukey_fences(x)
    assert f.upper == pytest.approx(10 ** (q3 + 1.5 * (q3 - q1)))
    assert f.lower == pytest.approx(10 ** (q1 - 1.5 * (q3 - q1)))
    assert f.as_dict()["log"] is True


def test_median_2mad_by_hand_and_meuse(meuse: pd.DataFrame) -> None:
    # raw 1, 2, 3, 4, 100: median 3, |x - 3| = 2, 1, 0, 1, 97 -> MAD 1, MAD_normal 1.4826:
    # 3 ± 2 × 1.4826 = 0.0348 and 5.9652
    r = median_2mad([1, 2, 3, 4, 100], log=False)
    assert (r.lower, r.upper) == pytest.approx((0.0348, 5.9652))
    zn = meuse["zinc"].to_numpy(float)
    y = np.log10(zn)
    spread = 1.4826 * stats.median_abs_deviation(y)
    r = median_2mad(zn)
    assert (r.lower, r.upper) == pytest.approx(
        (10 ** (np.median(y) - 2 * spread), 10 ** (np.median(y) + 2 * spread))
    )


@pytest.mark.parametrize("q", [95, 98])
def test_percentile_threshold_meuse(meuse_column, q) -> None:
    _, x = meuse_column
    assert percentile_threshold(x, q) == pytest.approx(np.percentile(x, q))


@pytest.mark.parametrize(
    ("values", "expected", "capped", "reason"),
    [
        # 1..30: h = 29 p; P25 = 8 + 0.25 = 8.25, P75 = 22 + 0.75 = 22.75, IQR = 14.5;
        # 22.75 + 21.75 = 44.5 > max 30 -> capped at 30
        (list(range(1, 31)), 30.0, True, None),
        # 1..29 and 1000: the same P25/P75, 44.5 < 1000 -> 44.5
        ([*range(1, 30), 1000], 44.5, False, None),
        # 29 samples: too few
        (list(range(1, 30)), None, False, "needs at least 30 samples, got 29"),
    ],
)
def test_ubv_by_hand(values, expected, capped, reason) -> None:
    r = ubv(values)
    assert r.ubv == (pytest.approx(expected) if expected is not None else None)
    assert (r.capped, r.reason) == (capped, reason)


def test_ubv_meuse(meuse_column) -> None:
    _, x = meuse_column
    p25, p75 = np.percentile(x, [25, 75])
    assert ubv(x).ubv == pytest.approx(min(p75 + 1.5 * (p75 - p25), x.max()))


def test_iterative_2sigma_by_hand() -> None:
    # 10..15, 100: pass 1 mean 175/7 = 25, squared deviations 225+196+169+144+121+100+5625
    # = 6580, sd = sqrt(6580/6) = 33.12, upper 25 + 66.23 = 91.2 < 100 -> drop 100.
    # pass 2: mean 12.5, sd = sqrt(17.5/5) = 1.8708, 8.76..16.24 holds all -> stop.
    r = iterative_2sigma([10, 11, 12, 13, 14, 15, 100], log=False)
    assert (r.n_iterations, r.n_kept, r.converged) == (2, 6, True)
    assert (r.mean, r.sd) == pytest.approx((12.5, math.sqrt(3.5)))
    assert r.upper == pytest.approx(12.5 + 2 * math.sqrt(3.5))
    capped = iterative_2sigma([10, 11, 12, 13, 14, 15, 100], log=False, max_iter=1)
    assert (capped.n_iterations, capped.n_kept, capped.converged) == (1, 7, False)
    assert capped.mean == pytest.approx(25.0)


def test_iterative_2sigma_meuse(meuse_column) -> None:
    _, x = meuse_column
    y = np.log10(x)
    keep = np.ones(y.size, bool)
    passes = 0
    while True:  # the reference: a mask over the full array
        passes += 1
        m, s = y[keep].mean(), y[keep].std(ddof=1)
        new = keep & (np.abs(y - m) <= 2 * s)
        if new.sum() == keep.sum():
            break
        keep = new
    r = iterative_2sigma(x)
    assert (r.n_iterations, r.n_kept) == (passes, keep.sum())
    assert r.upper == pytest.approx(10 ** (m + 2 * s))


def test_cumulative_class_breaks(meuse: pd.DataFrame) -> None:
    # 1..100: P25 = 1 + 99 × 0.25 = 25.75, P50 = 50.5, P75 = 75.25 -> 25 values per class
    b = cumulative_class_breaks(range(1, 101), (25, 50, 75))
    assert b.breaks == pytest.approx((25.75, 50.5, 75.25))
    assert b.counts == (25, 25, 25, 25)
    zn = meuse["zinc"].to_numpy(float)
    b = cumulative_class_breaks(zn)
    assert b.breaks == pytest.approx(tuple(np.percentile(zn, [5, 10, 25, 50, 75, 90, 95, 98])))
    assert sum(b.counts) == zn.size
    edges = [-np.inf, *b.breaks, np.inf]
    assert b.counts == tuple(
        int(((zn > lo) & (zn <= hi)).sum()) for lo, hi in itertools.pairwise(edges)
    )
    with pytest.raises(StatisticsError, match="percents"):
        cumulative_class_breaks(zn, (50, 25))


def test_thresholds_flag_values_below_detection() -> None:
    # 10 values, 6 censored at DL 5: every threshold at or below 5 is unknown
    x = [5.0] * 6 + [6.0, 8.0, 30.0, 40.0]
    c = [True] * 6 + [False] * 4
    f = tukey_fences(x, censored=c)
    assert f.lower_below_dl
    assert not f.upper_below_dl
    assert f.n_censored == 6
    assert median_2mad(x, censored=c).lower_below_dl
    assert cumulative_class_breaks(x, (25, 90), censored=c).below_dl == (True, False)


@pytest.mark.parametrize(
    "call",
    [
        lambda: tukey_fences([1.0, -2.0]),
        lambda: median_2mad([0.0, 2.0]),
        lambda: iterative_2sigma([1.0]),
        lambda: iterative_2sigma([1.0, 2.0], max_iter=0),
        lambda: ubv([]),
    ],
)
def test_threshold_bad_input(call) -> None:
    with pytest.raises(StatisticsError):
        call()


@given(st.lists(st.floats(1e-3, 1e6), min_size=5, max_size=60))
def test_thresholds_bracket_the_median(x) -> None:
    assume(len(set(x)) > 1)
    med = float(np.median(x))
    f, m, s = tukey_fences(x), median_2mad(x), iterative_2sigma(x)
    tol = 1e-9 * max(x)
    assert f.lower <= med + tol
    assert f.upper >= med - tol
    assert m.lower <= med + tol
    assert m.upper >= med - tol
    assert s.n_kept <= len(x)
    assert s.lower <= s.upper
