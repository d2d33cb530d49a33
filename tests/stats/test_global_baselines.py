"""Global baselines of pooled frames, sample-based and declustered, on real survey data.

Pooled topsoil frames are built here from the session ``grid_store``: GEMAS (Ap 0–20 cm,
XRF totals) and USGS DS-801 (0–5 cm, four-acid near-total or fusion totals); each survey
contributes the one method it has for the element. GEMAS in this store holds XRF totals
only (no Pb, no aqua regia), so the pooled elements are those both surveys have.

Independent references, none of them calling :mod:`chemearth.stats.weighted`:

- weighted percentiles: ``numpy.percentile`` (all weights 1, and integer weights through
  ``numpy.repeat``), ``scipy.stats.quantile(..., weights=...)`` (frequency weights, type 7),
  ``numpy.quantile(..., weights=..., method="inverted_cdf")``;
- weighted Kaplan–Meier: the unweighted :func:`~chemearth.stats.censored.kaplan_meier` of the
  sample replicated by integer weights (cells of 1, 2 and 3 samples, weights ``6 / m``), and
  ``statsmodels`` ``SurvfuncRight`` with ``freq_weights`` on Helsel's flipped data;
- weighted log statistics: ``statsmodels`` ``DescrStatsW``;
- sample-based baselines: :func:`~chemearth.stats.baselines.baseline_of` run per region
  through a pandas ``groupby``; declustering weights from a pandas ``transform("size")``;
- the published DS-801 0–5 cm As median, 5.2 mg/kg (n = 4,841, 56 below the DL of 0.6).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.stats
from statsmodels.duration.survfunc import SurvfuncRight
from statsmodels.stats.weightstats import DescrStatsW

from chemearth.errors import GridError, StatisticsError
from chemearth.grid.geometry import GLOBAL
from chemearth.ingest.crs_catalogue import CONTINENTS
from chemearth.stats.baselines import baseline_of
from chemearth.stats.censored import kaplan_meier, ros
from chemearth.stats.global_baselines import (
    HEADER_COLUMNS,
    SCALES,
    STAT_COLUMNS,
    Scale,
    Weighting,
    global_baselines,
)
from chemearth.stats.summary import DESCRIBE_PERCENTS
from chemearth.stats.weighted import (
    declustering_weights,
    effective_n,
    weighted_baseline_of,
    weighted_kaplan_meier,
    weighted_percentile,
    weighted_sd,
)

TOPSOIL = ("gemas", "usgs-ds801-top5")
US_ONLY = ("usgs-ds801-top5",)
CONTINENT_OF = {c: name for name, codes in CONTINENTS.items() for c in codes.split()}
#: Order statistics that ``below_dl`` may name.
ORDER_KEYS = ("min", *DESCRIBE_PERCENTS, "max")
#: Statistics fitted by ROS on the samples, unweighted (not those of a replicated sample).
ROS_BASED = ("gmean", "log10_sd", "ros_median", "ros_mean")
Pool = Callable[..., pd.DataFrame]
PERCENTS = [0.0, 5.0, 10.0, 25.0, 33.3, 50.0, 75.0, 90.0, 95.0, 98.0, 100.0]


# ------------------------------------------------------------------ pooled frames


def _pool(store: Any, element: str, datasets: tuple[str, ...], level_m: int) -> pd.DataFrame:
    """A pooled topsoil frame of ``element``: one method per survey, never two."""
    parts = []
    for ds in datasets:
        m = store.measurements(ds, elements=[element])
        m = m[(m["medium"].astype(str) == "topsoil") & m["value"].notna()]
        assert m["method"].nunique() == 1, f"{ds} {element}: several methods"
        parts.append(m)
    m = pd.concat(parts, ignore_index=True)
    lon = m["longitude"].to_numpy(dtype=float)
    lat = m["latitude"].to_numpy(dtype=float)
    country = m["country"].fillna("").astype(str)
    frame = pd.DataFrame(
        {
            "dataset_id": m["dataset_id"].astype(str),
            "version": m["version"].astype(int),
            "sample_id": m["sample_id"].astype(str),
            "longitude": lon,
            "latitude": lat,
            "country": country,
            "continent": country.map(CONTINENT_OF).fillna(""),
            "value": m["value"].astype(float),
            "censored": m["censored"].astype(bool),
            "cell": GLOBAL.cell_keys(lon, lat, level_m),
        }
    ).reset_index(drop=True)
    frame.attrs = {"element": element, "medium": "topsoil", "method": "total", "unit": "mg/kg"}
    return frame


@pytest.fixture(scope="module")
def pooled(grid_store: Any) -> Pool:
    """``pooled(element, datasets=TOPSOIL, level_m=160_000)``: a pooled frame (cached)."""
    cache: dict[tuple[str, tuple[str, ...], int], pd.DataFrame] = {}

    def make(
        element: str, datasets: tuple[str, ...] = TOPSOIL, level_m: int = 160_000
    ) -> pd.DataFrame:
        key = (element, datasets, level_m)
        if key not in cache:
            cache[key] = _pool(grid_store, element, datasets, level_m)
        return cache[key].copy()

    return make


def _small_cells(frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The samples of cells holding 1, 2 or 3 of them, and integer weights ``6 / m``."""
    size = frame.groupby("cell")["cell"].transform("size")
    part = frame[size <= 3].reset_index(drop=True)
    m = part.groupby("cell")["cell"].transform("size").to_numpy()
    assert set(m) == {1, 2, 3}
    return part, (6 // m).astype(int)


def _weights(frame: pd.DataFrame) -> np.ndarray:
    """Declustering weights written independently: n / (cells × samples in the cell)."""
    size = frame.groupby("cell")["cell"].transform("size").to_numpy()
    return len(frame) / (frame["cell"].nunique() * size)


def _same(a: object, b: object, rel: float = 1e-12) -> bool:
    """Equal, NaN equal to NaN and None, floats to ``rel``."""
    if a is None or b is None or (isinstance(a, float) and math.isnan(a)):
        return (a is None or math.isnan(a)) and (b is None or math.isnan(b))  # type: ignore[arg-type]
    if isinstance(a, str | bool | np.bool_) or isinstance(b, str | bool | np.bool_):
        return a == b
    return bool(b == pytest.approx(a, rel=rel))


def _mismatches(
    expected: Any, got: Any, keys: Sequence[str], rel: float = 1e-12
) -> list[tuple[str, Any, Any]]:
    return [(k, expected[k], got[k]) for k in keys if not _same(expected[k], got[k], rel)]


# ------------------------------------------------------------------ weighted percentiles


def test_statistic_columns_are_those_of_baseline_of() -> None:
    x, c = np.array([1.0, 2.0, 4.0]), np.array([True, False, False])
    assert tuple(baseline_of(x, c)) == STAT_COLUMNS
    assert tuple(weighted_baseline_of(x, c, np.ones(3))) == STAT_COLUMNS


@pytest.mark.parametrize(
    ("element", "datasets"), [("Y", TOPSOIL), ("Zn", TOPSOIL), ("As", US_ONLY)]
)
def test_equal_weights_give_numpy_percentiles_exactly(
    pooled: Pool, element: str, datasets: tuple[str, ...]
) -> None:
    x = pooled(element, datasets)["value"].to_numpy()
    got = weighted_percentile(x, np.ones(x.size), PERCENTS)
    np.testing.assert_array_equal(got, np.percentile(x, PERCENTS))


@pytest.mark.parametrize(
    ("element", "datasets"), [("Y", TOPSOIL), ("Zn", TOPSOIL), ("As", US_ONLY)]
)
def test_integer_weights_give_the_percentiles_of_the_replicated_sample(
    pooled: Pool, element: str, datasets: tuple[str, ...]
) -> None:
    part, w = _small_cells(pooled(element, datasets, 40_000))
    x = part["value"].to_numpy()
    got = weighted_percentile(x, w, PERCENTS)
    np.testing.assert_array_equal(got, np.percentile(np.repeat(x, w), PERCENTS))


@pytest.mark.parametrize("level_m", [160_000, 40_000])
@pytest.mark.parametrize("element", ["Y", "Zn", "Ba"])
def test_declustered_percentiles_match_scipy_and_numpy(
    pooled: Pool, element: str, level_m: int
) -> None:
    frame = pooled(element, TOPSOIL, level_m)
    x, w = frame["value"].to_numpy(), _weights(frame)
    np.testing.assert_allclose(declustering_weights(frame["cell"].to_numpy()), w, rtol=1e-14)
    p = np.array(PERCENTS) / 100
    linear = weighted_percentile(x, w, PERCENTS)
    np.testing.assert_allclose(linear, scipy.stats.quantile(x, p, weights=w), rtol=1e-9)
    inverted = weighted_percentile(x, w, PERCENTS, method="inverted_cdf")
    np.testing.assert_array_equal(inverted, np.quantile(x, p, weights=w, method="inverted_cdf"))


@pytest.mark.parametrize(
    ("values", "weights", "q", "expected"),
    [
        ([1.0, 2.0, 3.0, 4.0], [1, 1, 1, 1], 50, np.percentile([1, 2, 3, 4], 50)),
        ([1.0, 2.0], [3, 1], 50, np.percentile([1, 1, 1, 2], 50)),
        ([1.0, 2.0], [3, 1], 90, np.percentile([1, 1, 1, 2], 90)),
        ([5.0, 1.0, 3.0], [2, 0, 2], 40, np.percentile([3, 3, 5, 5], 40)),
    ],
)
def test_weighted_percentile_hand_cases(
    values: list[float], weights: list[int], q: float, expected: float
) -> None:
    assert weighted_percentile(values, weights, q) == pytest.approx(float(expected), rel=1e-15)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"values": [1.0, 2.0], "weights": [1.0], "q": 50}, "one length"),
        ({"values": [1.0, 2.0], "weights": [1.0, -1.0], "q": 50}, ">= 0"),
        ({"values": [1.0, 2.0], "weights": [0.0, 0.0], "q": 50}, "positive weight"),
        ({"values": [1.0, 2.0], "weights": [0.2, 0.2], "q": 50}, "at least 1"),
        ({"values": [1.0, 2.0], "weights": [1.0, 1.0], "q": 101}, "0–100"),
        ({"values": [1.0, 2.0], "weights": [1.0, 1.0], "q": 50, "method": "hazen"}, "method"),
    ],
)
def test_weighted_percentile_refuses_bad_input(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(StatisticsError, match=message):
        weighted_percentile(**kwargs)


# ------------------------------------------------------------------ weighted Kaplan–Meier


@pytest.mark.parametrize(
    ("element", "datasets"),
    [("Zn", TOPSOIL), ("As", US_ONLY), ("Cd", US_ONLY), ("Ca", US_ONLY)],
)
def test_weighted_km_equals_km_of_the_replicated_sample(
    pooled: Pool, element: str, datasets: tuple[str, ...]
) -> None:
    """Cells of 1, 2, 3 samples weigh 1, 1/2, 1/3; times 6 these are integer counts."""
    part, w = _small_cells(pooled(element, datasets, 40_000))
    x, c = part["value"].to_numpy(), part["censored"].to_numpy()
    assert c.any()
    km = weighted_kaplan_meier(x, c, 1.0 / part.groupby("cell")["cell"].transform("size"))
    ref = kaplan_meier(np.repeat(x, w), np.repeat(c, w))
    np.testing.assert_array_equal(km.x, ref.x)
    np.testing.assert_allclose(km.cdf, ref.cdf, rtol=1e-12)
    np.testing.assert_allclose(km.weight_at_risk * 6, ref.n_at_risk, rtol=1e-12)
    assert km.mean == pytest.approx(ref.mean, rel=1e-12)
    assert km.undetermined == pytest.approx(ref.undetermined, rel=1e-9, abs=1e-15)
    assert km.lowest_censored == ref.lowest_censored
    for q in PERCENTS[1:]:
        assert _same(km.percentile(q), ref.percentile(q)), q
    assert _same(km.median, ref.median)


@pytest.mark.parametrize(("element", "datasets"), [("Zn", TOPSOIL), ("Cd", US_ONLY)])
def test_weighted_km_matches_statsmodels_with_frequency_weights(
    pooled: Pool, element: str, datasets: tuple[str, ...]
) -> None:
    frame = pooled(element, datasets, 160_000)
    x, c, w = frame["value"].to_numpy(), frame["censored"].to_numpy(), _weights(frame)
    km = weighted_kaplan_meier(x, c, w)
    flip = x.max() + 1.0  # Helsel: left-censored x to right-censored M - x
    sf = SurvfuncRight(flip - x, (~c).astype(int), freq_weights=w)
    detects = np.unique(x[~c])
    t = flip - detects - 1e-9  # P(X <= y) = P(T >= M - y) = S just before M - y
    i = np.searchsorted(sf.surv_times, t, side="right") - 1
    cdf = np.where(i >= 0, sf.surv_prob[np.maximum(i, 0)], 1.0)
    np.testing.assert_allclose(km.cdf, cdf, rtol=1e-10)
    median = float(detects[np.argmax(cdf >= 0.5 - 1e-10)])
    assert km.median == median


def test_weighted_km_without_censoring_is_the_weighted_ecdf(pooled: Pool) -> None:
    frame = pooled("Y")
    x, w = frame["value"].to_numpy(), _weights(frame)
    km = weighted_kaplan_meier(x, np.zeros(x.size, bool), w)
    assert km.median == np.quantile(x, 0.5, weights=w, method="inverted_cdf")
    assert km.mean == pytest.approx(np.average(x, weights=w), rel=1e-12)
    assert km.undetermined == 0.0


def test_weighted_km_needs_a_detect() -> None:
    with pytest.raises(StatisticsError, match="every value is censored"):
        weighted_kaplan_meier([1.0, 2.0], [True, True], [1.0, 1.0])


# ------------------------------------------------------------------ weighted baselines


@pytest.mark.parametrize(
    ("element", "datasets"), [("Y", TOPSOIL), ("Zn", TOPSOIL), ("As", US_ONLY), ("Cd", US_ONLY)]
)
def test_equal_weights_give_baseline_of(
    pooled: Pool, element: str, datasets: tuple[str, ...]
) -> None:
    frame = pooled(element, datasets)
    x, c = frame["value"].to_numpy(), frame["censored"].to_numpy()
    ref, got = baseline_of(x, c), weighted_baseline_of(x, c, np.ones(x.size))
    assert _mismatches(ref, got, STAT_COLUMNS) == []
    for k in DESCRIBE_PERCENTS:  # the percentiles are not just close: they are equal
        assert got[k] == ref[k], k


@pytest.mark.parametrize(("element", "censored"), [("Y", False), ("Zn", True), ("Cr", True)])
def test_integer_weights_give_baseline_of_the_replicated_sample(
    pooled: Pool, element: str, censored: bool
) -> None:
    part, w = _small_cells(pooled(element, TOPSOIL, 40_000))
    x, c = part["value"].to_numpy(), part["censored"].to_numpy()
    assert c.any() == censored
    ref = baseline_of(np.repeat(x, w), np.repeat(c, w))
    got = weighted_baseline_of(x, c, w)
    counts = ("n", "n_censored", "censored_pct")  # samples, not replicated copies
    keys = [k for k in STAT_COLUMNS if k not in counts and not (censored and k in ROS_BASED)]
    assert _mismatches(ref, got, keys, rel=1e-10) == []
    assert got["n"] == len(part)


def test_weighted_log_statistics_match_statsmodels(pooled: Pool) -> None:
    frame = pooled("Y")
    x, w = frame["value"].to_numpy(), _weights(frame)
    got = weighted_baseline_of(x, np.zeros(x.size, bool), w)
    d = DescrStatsW(np.log10(x), weights=w, ddof=1)
    assert got["gmean"] == pytest.approx(10**d.mean, rel=1e-12)
    assert got["log10_sd"] == pytest.approx(d.std, rel=1e-12)
    assert weighted_sd(np.log10(x), w) == pytest.approx(d.std, rel=1e-12)
    assert got["log_method"] == "none"


def test_censored_log_statistics_weight_the_ros_values_per_detection_limit(pooled: Pool) -> None:
    """Censored values at one DL share their mean weight among the values ROS imputes."""
    frame = pooled("Zn")
    x, c, w = frame["value"].to_numpy(), frame["censored"].to_numpy(), _weights(frame)
    got = weighted_baseline_of(x, c, w)
    r = ros(x, c)
    mean_w = pd.Series(w).groupby([x, c]).mean()
    rw = mean_w.loc[list(zip(r.obs, r.censored, strict=True))].to_numpy()
    d = DescrStatsW(np.log10(r.modeled), weights=rw, ddof=1)
    assert got["log_method"] == "ros"
    assert got["gmean"] == pytest.approx(10**d.mean, rel=1e-12)
    assert got["log10_sd"] == pytest.approx(d.std, rel=1e-12)
    assert got["ros_mean"] == pytest.approx(np.average(r.modeled, weights=rw), rel=1e-12)
    assert got["ros_median"] == pytest.approx(
        float(scipy.stats.quantile(r.modeled, 0.5, weights=rw)), rel=1e-12
    )


# ------------------------------------------------------------------ global baselines


@pytest.mark.parametrize("element", ["Y", "Cr", "Nb", "Ba"])
def test_declustering_moves_the_world_median_toward_the_sparser_survey(
    pooled: Pool, element: str
) -> None:
    """DS-801 puts about twice as many samples per 160 km cell as GEMAS: sample-based, the
    US are ~70 % of the world; declustered, their share falls, and the world median moves
    toward the GEMAS median (up for Y, Cr, Nb; down for Ba, higher in the US)."""
    frame = pooled(element)
    b = global_baselines(frame, "world").set_index("weighting")
    samples, declustered = b.loc["samples"], b.loc["declustered"]
    x, w = frame["value"].to_numpy(), _weights(frame)
    us = (frame["dataset_id"] == "usgs-ds801-top5").to_numpy()
    assert samples["median"] == pytest.approx(np.median(x), rel=1e-12)
    assert declustered["median"] == pytest.approx(
        float(scipy.stats.quantile(x, 0.5, weights=w)), rel=1e-9
    )
    assert w[us].sum() / w.sum() < us.mean()  # the dense survey weighs less
    toward = np.sign(np.median(x[~us]) - np.median(x[us]))
    assert np.sign(declustered["median"] - samples["median"]) == toward != 0
    assert declustered["n"] == samples["n"] == len(frame)
    assert declustered["n_cells"] == frame["cell"].nunique()
    assert declustered["effective_n"] == pytest.approx(w.sum() ** 2 / np.sum(w**2))
    assert declustered["effective_n"] < samples["effective_n"] == len(frame)
    assert samples["datasets"] == "gemas,usgs-ds801-top5"
    assert samples["dataset_versions"] == "gemas@1,usgs-ds801-top5@1"


def _region_of(frame: pd.DataFrame, scale: str) -> pd.Series:
    if scale == "world":
        return pd.Series("world", index=frame.index)
    if scale == "cell":
        return pd.Series(GLOBAL.key_to_id(frame["cell"].to_numpy()), index=frame.index)
    return frame[scale].replace("", np.nan)


@pytest.mark.parametrize("scale", SCALES)
def test_sample_based_rows_equal_baseline_of_per_region(pooled: Pool, scale: Scale) -> None:
    frame = pooled("Zn")  # censored in both surveys, at DLs of 1 and 3 mg/kg
    got = global_baselines(frame, scale, weighting="samples").set_index("region")
    expected = {
        region: baseline_of(part["value"].to_numpy(), part["censored"].to_numpy())
        for region, part in frame.groupby(_region_of(frame, scale))
        if (~part["censored"]).any()
    }
    assert set(expected) <= set(got.index)
    assert (got["scale"] == scale).all()
    assert (got["weighting"] == "samples").all()
    bad = {r: _mismatches(e, got.loc[r], STAT_COLUMNS, rel=0) for r, e in expected.items()}
    assert {r: m for r, m in bad.items() if m} == {}
    if scale == "country":
        assert got.loc["US", "datasets"] == "usgs-ds801-top5"
        assert got.loc["FR", "n"] == (frame["country"] == "FR").sum()
    if scale == "continent":
        assert set(got.index) == {"Europe", "North America", "Asia"}  # Cyprus is in Asia


def test_declustered_equals_sample_based_when_every_cell_holds_as_many_samples(
    pooled: Pool,
) -> None:
    frame = pooled("Zn")
    size = frame.groupby("cell")["cell"].transform("size")
    two = frame[size >= 2].groupby("cell").head(2).reset_index(drop=True)
    assert two.groupby("cell").size().eq(2).all()
    assert two["censored"].any()
    b = global_baselines(two, "world").set_index("weighting")
    samples, declustered = b.loc["samples"], b.loc["declustered"]
    assert _mismatches(samples.to_dict(), declustered, STAT_COLUMNS) == []
    for k in DESCRIBE_PERCENTS:
        assert declustered[k] == samples[k], k
    assert declustered["effective_n"] == samples["effective_n"] == len(two)


def test_cell_scale_rows_agree_between_weightings(pooled: Pool) -> None:
    b = global_baselines(pooled("Zn"), "cell")
    samples = b[b["weighting"] == "samples"].set_index("region")
    declustered = b[b["weighting"] == "declustered"].set_index("region")
    assert list(samples.index) == list(declustered.index)
    assert (samples["n_cells"] == 1).all()
    for region in samples.index[:: max(1, len(samples) // 60)]:
        assert _mismatches(samples.loc[region], declustered.loc[region], STAT_COLUMNS) == []


def test_published_ds801_arsenic_median(pooled: Pool) -> None:
    """DS-801 0–5 cm As: median 5.2 mg/kg, n = 4,841 analysed, 56 below the DL of 0.6."""
    b = global_baselines(pooled("As", US_ONLY), "country")
    us = b[(b["region"] == "US") & (b["weighting"] == "samples")].iloc[0]
    assert (us["n"], us["n_censored"], us["max_dl"]) == (4841, 56, pytest.approx(0.6))
    assert us["median"] == 5.2
    assert us["km_median"] == 5.2
    flagged = us["below_dl"].split(",")
    assert "min" in flagged
    assert "median" not in flagged
    assert set(b["region"]) == {"US"}
    assert list(b["weighting"]) == ["samples", "declustered"]


@pytest.mark.parametrize("weighting", ["samples", "declustered"])
def test_order_statistics_at_or_below_the_largest_dl_are_flagged(
    pooled: Pool, weighting: Weighting
) -> None:
    frame = pooled("Cd", US_ONLY)  # 22 % below detection
    row = global_baselines(frame, "world", weighting=weighting).iloc[0]
    max_dl = frame.loc[frame["censored"], "value"].max()
    assert row["max_dl"] == max_dl
    flagged = [k for k in ORDER_KEYS if row[k] <= max_dl]
    assert row["below_dl"].split(",") == flagged
    assert {"min", "p5", "p10"} <= set(flagged)
    assert "max" not in flagged


def test_level_m_recomputes_the_cells(pooled: Pool) -> None:
    frame = pooled("Y")  # cells of 160 km in the frame
    b = global_baselines(frame, "world", weighting="declustered", level_m=40_000).iloc[0]
    keys = GLOBAL.cell_keys(frame["longitude"], frame["latitude"], 40_000)
    assert b["level_m"] == 40_000
    assert b["n_cells"] == np.unique(keys).size
    w = declustering_weights(keys)
    x = frame["value"].to_numpy()
    assert b["median"] == pytest.approx(float(scipy.stats.quantile(x, 0.5, weights=w)))
    assert global_baselines(frame, "world").iloc[0]["level_m"] == 160_000


def test_off_grid_samples_count_only_in_sample_based_rows(pooled: Pool) -> None:
    frame = pooled("Y")
    frame.loc[frame.index[:10], "cell"] = -1
    b = global_baselines(frame, "world").set_index("weighting")
    assert b.loc["samples", "n"] == len(frame)
    assert b.loc["declustered", "n"] == len(frame) - 10
    assert (b["n_off_grid"] == 10).all()
    cells = global_baselines(frame, "cell", weighting="samples")
    assert cells["n"].sum() == len(frame) - 10


@pytest.mark.parametrize("scale", SCALES)
def test_every_row_says_its_scale_and_weighting(pooled: Pool, scale: Scale) -> None:
    b = global_baselines(pooled("Y"), scale)
    assert list(b.columns) == [*HEADER_COLUMNS, *STAT_COLUMNS]
    assert (b["scale"] == scale).all()
    per_region = b.groupby("region")["weighting"].agg(tuple)
    assert (per_region == ("samples", "declustered")).all()
    assert (b[["element", "medium", "unit"]] == ["Y", "topsoil", "mg/kg"]).all().all()


def test_an_all_censored_cell_keeps_its_row_without_km(pooled: Pool) -> None:
    frame = pooled("Cd", US_ONLY, 40_000)
    all_censored = frame.groupby("cell")["censored"].transform("all")
    assert all_censored.any()
    b = global_baselines(frame[all_censored], "cell")
    assert b["km_median"].isna().all()
    assert (b["n_censored"] == b["n"]).all()
    assert b["below_dl"].str.contains("max").all()


@pytest.mark.parametrize(
    ("change", "kwargs", "error", "message"),
    [
        (None, {"scale": "planet"}, StatisticsError, "scale"),
        (None, {"weighting": "kriged"}, StatisticsError, "weighting"),
        ("drop_cell", {}, StatisticsError, "missing columns cell"),
        ("off_grid", {}, StatisticsError, "no sample lies on the grid"),
        ("off_grid", {"weighting": "samples", "scale": "cell"}, StatisticsError, "on the grid"),
        ("two_levels", {}, StatisticsError, "one level"),
        ("no_values", {}, StatisticsError, "no values"),
        (None, {"level_m": 12_345}, GridError, "12345"),
        ("bad_key", {}, GridError, "not a cell key"),
    ],
)
def test_bad_requests_are_explained(
    pooled: Pool, change: str | None, kwargs: dict[str, Any], error: type, message: str
) -> None:
    frame = pooled("Y").head(50)
    if change == "drop_cell":
        frame = frame.drop(columns="cell")
    elif change == "off_grid":
        frame["cell"] = -1
    elif change == "two_levels":
        frame.loc[frame.index[:5], "cell"] = GLOBAL.cell_keys(
            frame["longitude"][:5], frame["latitude"][:5], 10_000
        )
    elif change == "no_values":
        frame["value"] = np.nan
    elif change == "bad_key":
        frame["cell"] = 7
    with pytest.raises(error, match=message):
        global_baselines(frame, **kwargs)


def test_samples_only_needs_no_cells(pooled: Pool) -> None:
    frame = pooled("Y")
    frame["cell"] = -1
    b = global_baselines(frame, "continent", weighting="samples")
    assert list(b["region"]) == ["Asia", "Europe", "North America"]
    assert b["level_m"].isna().all()
    assert (b["n_cells"] == 0).all()


def test_effective_n_and_declustering_weights_on_a_hand_example() -> None:
    w = declustering_weights(np.array([5, 5, 5, 8]))
    assert w.sum() == pytest.approx(4.0)
    assert w.tolist() == pytest.approx([2 / 3, 2 / 3, 2 / 3, 2.0])
    assert effective_n(w) == pytest.approx(16 / (3 * (2 / 3) ** 2 + 4))
    with pytest.raises(StatisticsError, match="off the grid"):
        declustering_weights(np.array([5, -1]))
