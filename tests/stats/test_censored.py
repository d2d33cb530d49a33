"""Kaplan–Meier, ROS and ``describe`` on censored data, against independent computations.

References used here, none of them calling :mod:`chemearth.stats.censored`:

- Kaplan–Meier: scipy's own KM (``scipy.stats.ecdf`` of ``CensoredData``) on Helsel's
  flipped data ``M - x`` (left- turned into right-censoring). The mean is the area under
  scipy's survival curve up to the largest flipped time; the standard error is the R
  ``survival`` restricted-mean formula with NADA's ``D / (D - 1)`` factor, evaluated on
  scipy's curve with at-risk counts taken on the flipped data.
- ROS: the Helsel & Cohn (1988) procedure written out step by step below in a different
  form (per-observation detection-limit index and rank within its group, the way
  ``statsmodels.imputation.ros`` writes it), then ``scipy.stats.norm.ppf`` and ``np.polyfit``.
  Out of tree, ``chemearth.stats.censored.ros`` was also compared with ``statsmodels`` 0.15
  ``imputation.ros`` on the same four NADA columns: identical to 1e-14.
- Data: the NADA textbook files (Helsel; CRAN NADA) and USGS DS-801 0–5 cm arsenic, whose
  published median (5.2 mg/kg, 4,841 analysed, 56 below the DL of 0.6) is checked.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from chemearth.stats.censored import StatisticsError, kaplan_meier, plotting_positions, ros
from chemearth.stats.summary import describe

NADA_COLUMNS = [
    ("Cadmium.csv", "Cd", "CdCen"),
    ("Arsenic.csv", "As", "AsCen"),
    ("CuZn.csv", "Cu", "CuCen"),
    ("CuZn.csv", "Zn", "ZnCen"),
    ("SedPb.csv", "y2001", "y2001Cen"),
    ("SedPb.csv", "y1996", "y1996Cen"),
]
NADA_IDS = [f"{f}:{v}" for f, v, _ in NADA_COLUMNS]


def _nada(data_dir: Path, file: str, value: str, flag: str) -> tuple[np.ndarray, np.ndarray]:
    df = pd.read_csv(data_dir / "nada" / file)[[value, flag]].dropna()
    return df[value].to_numpy(float), df[flag].astype(bool).to_numpy()


@pytest.fixture(params=NADA_COLUMNS, ids=NADA_IDS)
def nada(request: pytest.FixtureRequest, data_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    return _nada(data_dir, *request.param)


@pytest.fixture(scope="module")
def ds801_as(data_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """DS-801 0–5 cm As: ``"<0.6"`` -> (0.6, censored); ``N.S.`` and empty cells dropped."""
    values, flags = [], []
    with open(data_dir / "usgs_ds801" / "ds801_top5_raw.csv", newline="") as f:
        for row in csv.DictReader(f):
            cell = row["Top5_As"].strip()
            if cell in ("", "N.S."):
                continue
            flags.append(cell.startswith("<"))
            values.append(float(cell.lstrip("<")))
    return np.array(values), np.array(flags)


# --------------------------------------------------------------------------- KM reference


def scipy_km(x: np.ndarray, c: np.ndarray) -> dict[str, object]:
    """KM of left-censored data via scipy on flipped data (Helsel 2012, ch. 6)."""
    flip = x.max() + 1.0
    t_det, t_cen = flip - x[~c], flip - x[c]
    res = stats.ecdf(stats.CensoredData(uncensored=t_det, right=t_cen))
    t, surv = res.sf.quantiles, res.sf.probabilities  # every distinct flipped time
    surv_before = np.concatenate(([1.0], surv[:-1]))
    # restricted mean of T up to the largest flipped time, then back: mean X = M - E[T]
    area = np.sum(np.diff(np.concatenate(([0.0], t))) * surv_before)
    mean = flip - area
    # at each event time: area under S from t_j to the end, at-risk and event counts
    tail = np.array(
        [
            area - np.sum(np.diff(np.concatenate(([0.0], t[t <= tj]))) * surv_before[t <= tj])
            for tj in t
        ]
    )
    flipped = np.concatenate((t_det, t_cen))
    n_risk = np.array([np.sum(flipped >= tj) for tj in t])
    n_event = np.array([np.sum(t_det == tj) for tj in t])
    with np.errstate(divide="ignore", invalid="ignore"):
        hh = np.where(
            (n_event > 0) & (n_risk > n_event), n_event / (n_risk * (n_risk - n_event)), 0.0
        )
    n_det = int((~c).sum())
    se = math.sqrt(np.sum(tail**2 * hh) * n_det / (n_det - 1)) if n_det > 1 else math.nan
    # the ECDF at each detected value y = M - t: P(X <= y) = S just before t
    events = n_event > 0
    ys = (flip - t[events])[::-1]
    cdf = surv_before[events][::-1]
    return {"x": ys, "cdf": cdf, "mean": mean, "se": se, "undetermined": float(surv[-1])}


def ref_percentile(ys: np.ndarray, cdf: np.ndarray, undetermined: float, q: float) -> float:
    p = q / 100
    if undetermined > 0 and p <= undetermined + 1e-10:
        return math.nan
    for y, f in zip(ys, cdf, strict=True):
        if f >= p - 1e-10:
            return float(y)
    return float(ys[-1])


def test_km_against_scipy_on_nada(nada: tuple[np.ndarray, np.ndarray]) -> None:
    x, c = nada
    km, ref = kaplan_meier(x, c), scipy_km(x, c)
    np.testing.assert_allclose(km.x, ref["x"], rtol=1e-12)
    np.testing.assert_allclose(km.cdf, ref["cdf"], rtol=1e-12)
    assert km.mean == pytest.approx(ref["mean"], rel=1e-12)
    assert km.se == pytest.approx(ref["se"], rel=1e-10)
    assert km.undetermined == pytest.approx(ref["undetermined"], abs=1e-12)
    assert km.n == x.size
    assert km.n_censored == c.sum()
    for q in (5, 10, 25, 50, 75, 90, 95, 98, 100):
        expected = ref_percentile(ref["x"], ref["cdf"], ref["undetermined"], q)
        assert km.percentile(q) == pytest.approx(expected, nan_ok=True), q
    assert km.median == pytest.approx(km.percentile(50), nan_ok=True)


@pytest.mark.parametrize(
    ("values", "censored", "x", "cdf", "mean", "median", "undetermined", "lowest_censored"),
    [
        # 1, <2, 3, 4. From the top: at 4, 4 known <= 4, P(X<4) = 3/4; at 3, 3 known <= 3
        # (1, <2, 3), P(X<3) = 3/4 * 2/3 = 1/2; at 1, only 1 itself (<2 is not known <= 1),
        # P(X<1) = 0. Masses 1/2 at 1, 1/4 at 3 and 4: mean = 0.5 + 0.75 + 1 = 2.25.
        ([1, 2, 3, 4], [0, 1, 0, 0], [1, 3, 4], [0.5, 0.75, 1], 2.25, 1.0, 0.0, False),
        # <0.5, 0.5, 1.2, <2, 3.1. At 3.1: r = 5, P(X<3.1) = 4/5; at 1.2: r = 3, -> 8/15;
        # at 0.5: r = 2 (0.5 and <0.5), -> 4/15 left undetermined, put at the lowest DL 0.5.
        # mean = 3.1/5 + 1.2 (4/5 - 8/15) + 0.5 (8/15 - 4/15) + 0.5 (4/15) = 1.20667.
        (
            [0.5, 0.5, 1.2, 2.0, 3.1],
            [1, 0, 0, 1, 0],
            [0.5, 1.2, 3.1],
            [8 / 15, 0.8, 1],
            0.62 + 1.2 * 4 / 15 + 0.5 * 8 / 15,
            0.5,
            4 / 15,
            True,
        ),
    ],
)
def test_km_hand_examples(values, censored, x, cdf, mean, median, undetermined, lowest_censored):
    km = kaplan_meier(np.array(values, float), np.array(censored, bool))
    np.testing.assert_allclose(km.x, x)
    np.testing.assert_allclose(km.cdf, cdf)
    assert km.mean == pytest.approx(mean)
    assert km.median == median
    assert km.undetermined == pytest.approx(undetermined)
    assert km.lowest_censored is lowest_censored


def test_km_percentiles_below_the_lowest_detect_are_unknown() -> None:
    # 4 of 6 censored below every detect: 2/3 of the mass lies below the lowest detect 5
    km = kaplan_meier([1, 1, 2, 2, 5, 6], [True, True, True, True, False, False])
    assert km.undetermined == pytest.approx(2 / 3)
    assert math.isnan(km.median)
    assert km.percentile(90) == 6.0
    assert km.cdf_at([0.5, 5.0, 7.0])[1:].tolist() == pytest.approx([5 / 6, 1.0])
    assert math.isnan(km.cdf_at([0.5])[0])


def test_km_without_censoring_is_the_sample() -> None:
    x = np.array([3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0])
    km = kaplan_meier(x, np.zeros(x.size, bool))
    assert km.mean == pytest.approx(x.mean())
    assert km.se == pytest.approx(x.std(ddof=1) / math.sqrt(x.size))
    assert km.undetermined == 0.0
    np.testing.assert_allclose(km.cdf_at(km.x), [np.mean(x <= v) for v in km.x])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 30), st.booleans()), min_size=3, max_size=40).filter(
        lambda rows: sum(not cen for _, cen in rows) >= 2
    )
)
def test_km_matches_scipy_on_random_ties(rows: list[tuple[int, bool]]) -> None:
    # small integers make ties between detects and detection limits common
    x = np.array([v for v, _ in rows], float) / 10
    c = np.array([cen for _, cen in rows])
    km, ref = kaplan_meier(x, c), scipy_km(x, c)
    np.testing.assert_allclose(km.cdf, ref["cdf"], rtol=1e-10)
    assert km.mean == pytest.approx(ref["mean"], rel=1e-10)
    assert km.se == pytest.approx(ref["se"], rel=1e-8)


@pytest.mark.parametrize(
    ("values", "censored", "message"),
    [
        ([1.0, 2.0], [True, True], "every value is censored"),
        ([], [], "no values"),
        ([1.0, 2.0], [True], "differs"),
        ([1.0, 2.0], ["yes", "no"], "booleans"),
        ([[1.0, 2.0]], [[True, False]], "1-D"),
        ([1.0, np.inf], [False, False], "infinite"),
    ],
)
def test_km_bad_input(values, censored, message) -> None:
    with pytest.raises(StatisticsError, match=message):
        kaplan_meier(values, censored)
    assert issubclass(StatisticsError, ValueError)


# --------------------------------------------------------------------------- ROS reference


def reference_ros(x: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Helsel & Cohn (1988) robust ROS, step by step; returns the combined sample, sorted."""
    keep = ~(c & (x > x[~c].max()))  # censored above every detect are dropped (NADA)
    x, c = x[keep], c[keep]
    dls = sorted(set(x[c].tolist()))
    if x[~c].min() < dls[0]:
        dls = [x[~c].min(), *dls]  # a bottom threshold for detects below every DL
    k = len(dls)
    bounds = [*dls, math.inf]
    # probability of exceeding each threshold, from the top: P_j = P_j+1 + A/(A+B) (1-P_j+1)
    pe = [0.0] * (k + 1)
    for j in reversed(range(k)):
        a = sum(
            1 for v, cen in zip(x, c, strict=True) if not cen and bounds[j] <= v < bounds[j + 1]
        )
        b = sum(
            1
            for v, cen in zip(x, c, strict=True)
            if (cen and v <= dls[j]) or (not cen and v < dls[j])
        )
        pe[j] = pe[j + 1] + a / (a + b) * (1 - pe[j + 1])
    # per observation: its threshold index and its rank among its (threshold, censored) group
    rows = sorted(zip(x.tolist(), c.tolist(), strict=True), key=lambda r: (r[0], not r[1]))
    groups: dict[tuple[int, bool], int] = {}
    for v, cen in rows:
        j = max(i for i, d in enumerate(dls) if d <= v)
        groups[j, cen] = groups.get((j, cen), 0) + 1
    seen: dict[tuple[int, bool], int] = {}
    pp = []
    for v, cen in rows:
        j = max(i for i, d in enumerate(dls) if d <= v)
        seen[j, cen] = rank = seen.get((j, cen), 0) + 1
        size = groups[j, cen]
        if cen:
            pp.append((1 - pe[j]) * rank / (size + 1))
        else:
            pp.append((1 - pe[j]) + (pe[j] - pe[j + 1]) * rank / (size + 1))
    obs = np.array([v for v, _ in rows])
    cen = np.array([cc for _, cc in rows])
    z = stats.norm.ppf(np.array(pp))
    slope, intercept = np.polyfit(z[~cen], np.log(obs[~cen]), 1)
    modeled = obs.copy()
    modeled[cen] = np.exp(intercept + slope * z[cen])
    return np.sort(modeled)


def test_ros_against_step_by_step_reference_on_nada(nada: tuple[np.ndarray, np.ndarray]) -> None:
    x, c = nada
    result, expected = ros(x, c), reference_ros(x, c)
    np.testing.assert_allclose(np.sort(result.modeled), expected, rtol=1e-10)
    assert result.mean == pytest.approx(expected.mean(), rel=1e-10)
    assert result.sd == pytest.approx(expected.std(ddof=1), rel=1e-10)
    assert result.median == pytest.approx(np.median(expected), rel=1e-10)
    q = [5, 25, 50, 75, 95]
    np.testing.assert_allclose(result.percentile(q), np.percentile(expected, q), rtol=1e-10)
    # detects are kept as measured; imputed values stay below their detection limit here
    np.testing.assert_array_equal(result.modeled[~result.censored], result.obs[~result.censored])
    assert result.n + result.n_dropped == x.size
    assert result.n_censored + result.n_dropped == c.sum()


def test_hirsch_stedinger_positions_on_nada_example() -> None:
    # The hc.ppoints example of R NADA. Limits 0.5 and 1.5. Top: A = 3 detects >= 1.5,
    # B = 4 below 1.5 (<0.5, 0.5, 1.0, <1.5), P(>=1.5) = 3/7. At 0.5: A = 2 (0.5, 1.0),
    # B = 1 (<0.5 only; the detect 0.5 is not below 0.5), P(>=0.5) = 3/7 + 2/3 * 4/7 = 17/21.
    # NADA also counts the detect 0.5 in B (B = 2), giving 5/7: its <0.5 sits at 1/7.
    obs = [0.5, 0.5, 1.0, 1.5, 5.0, 10.0, 100.0]
    cen = [True, False, False, True, False, False, False]
    expected = [
        (4 / 21) / 2,  # <0.5: (1 - 17/21) * 1/2
        4 / 21 + (8 / 21) * 1 / 3,  # 0.5: (1 - 17/21) + (17/21 - 3/7) * 1/3
        4 / 21 + (8 / 21) * 2 / 3,  # 1.0
        (4 / 7) / 2,  # <1.5: (1 - 3/7) * 1/2
        4 / 7 + (3 / 7) * 1 / 4,  # 5, 10, 100: (1 - 3/7) + 3/7 * r/4
        4 / 7 + (3 / 7) * 2 / 4,
        4 / 7 + (3 / 7) * 3 / 4,
    ]
    np.testing.assert_allclose(plotting_positions(obs, cen), expected)


def test_plotting_positions_without_censoring_are_weibull() -> None:
    np.testing.assert_allclose(plotting_positions([5.0, 1.0, 3.0]), [3 / 4, 1 / 4, 2 / 4])


def test_ros_drops_censored_above_every_detect() -> None:
    x = np.array([0.5, 1.0, 2.0, 3.0, 4.0, 10.0, 10.0])
    c = np.array([True, False, False, False, False, True, True])
    result = ros(x, c)
    assert (result.n, result.n_dropped, result.n_censored) == (5, 2, 1)
    np.testing.assert_allclose(result.modeled, ros(x[:5], c[:5]).modeled)


def test_ros_flags_tenuous_results() -> None:
    x = np.array([1.0] * 9 + [2.0, 3.0])
    c = np.array([True] * 9 + [False, False])
    assert ros(x, c).tenuous
    assert not ros(x[6:], c[6:]).tenuous


@pytest.mark.parametrize(
    ("values", "censored", "message"),
    [
        ([1.0, 2.0, 3.0], [True, True, False], "at least 2 detected"),
        ([0.0, 2.0, 3.0], [True, False, False], "positive"),
    ],
)
def test_ros_bad_input(values, censored, message) -> None:
    with pytest.raises(StatisticsError, match=message):
        ros(values, censored)


def test_results_as_dict_are_json() -> None:
    km = kaplan_meier([1.0, 2.0, 3.0], [True, False, False])
    r = ros([1.0, 2.0, 3.0, 4.0], [True, False, False, False])
    for d in (km.as_dict(), r.as_dict()):
        json.dumps(d)
    assert km.as_dict()["x"] == [2.0, 3.0]
    assert r.as_dict()["censored"] == [True, False, False, False]


# --------------------------------------------------------------------------- describe


def test_describe_ds801_arsenic_published_and_independent(ds801_as) -> None:
    x, c = ds801_as
    s = describe(x, c)
    assert (s["n"], s["n_censored"], s["max_dl"]) == (4841, 56, 0.6)  # published n and DL
    assert s["median"] == 5.2  # published median
    for key, q in [("p5", 5), ("p25", 25), ("p75", 75), ("p95", 95), ("p98", 98)]:
        assert s[key] == pytest.approx(np.percentile(x, q), rel=1e-12)
    assert s["mad"] == pytest.approx(stats.median_abs_deviation(x))
    assert s["mad_normal"] == pytest.approx(1.4826 * stats.median_abs_deviation(x))
    # 56 of 4841 censored, plenty of detects: gmean and log sd from ROS
    assert s["method"] == "ros"
    logs = np.log10(reference_ros(x, c))
    assert s["gmean"] == pytest.approx(10 ** logs.mean(), rel=1e-10)
    assert s["log10_sd"] == pytest.approx(logs.std(ddof=1), rel=1e-10)
    # the censored values are 0.6; p5 above it is a real value
    assert s["below_dl"] == {k: s[k] <= 0.6 for k in s["below_dl"]}
    assert s["below_dl"]["min"]
    assert not s["below_dl"]["p5"]


def test_describe_nada_cadmium(data_dir: Path) -> None:
    x, c = _nada(data_dir, "Cadmium.csv", "Cd", "CdCen")
    s = describe(x, c)
    # 4 of 19 censored, largest DL 0.6: min (0.2), p5 (0.29), p10 (0.38), p25 (0.4) are not above it
    assert (s["n"], s["n_censored"], s["max_dl"], s["method"]) == (19, 4, 0.6, "ros")
    assert s["p25"] == pytest.approx(np.percentile(x, 25))
    assert [k for k, v in s["below_dl"].items() if v] == ["min", "p5", "p10", "p25"]
    assert s["gmean"] == pytest.approx(stats.gmean(reference_ros(x, c)), rel=1e-10)


@pytest.mark.parametrize(
    ("values", "censored", "method"),
    [
        # 2 detects: too few for ROS, substitute the DL
        ([1.0, 1.0, 2.0, 3.0], [True, True, False, False], "dl"),
        # 9 of 12 censored = 75 % with 3 detects: ROS
        ([1.0] * 9 + [2.0, 3.0, 4.0], [True] * 9 + [False] * 3, "ros"),
        # 13 of 16 censored = 81 %: over 80 %, substitute the DL
        ([1.0] * 13 + [2.0, 3.0, 4.0], [True] * 13 + [False] * 3, "dl"),
        ([1.0, 2.0, 3.0], None, "none"),
    ],
)
def test_describe_censoring_method(values, censored, method) -> None:
    s = describe(values, censored)
    assert s["method"] == method
    if method == "dl":
        assert s["gmean"] == pytest.approx(stats.gmean(values))
        assert s["log10_sd"] == pytest.approx(np.std(np.log10(values), ddof=1))
