"""Precision of duplicates and the nested ANOVA, checked against independent computations.

* the Kola C-horizon field and analytical duplicates (StatDA ``CHorFieldDUP.csv`` and
  ``CHorANADUP.csv``) read straight from the CSV files with pandas, their RSD computed
  pair by pair in a loop, and their ANOVA by statsmodels (``ols`` + ``anova_lm``, and a
  REML mixed model for the between-site variance);
* the rgr ``triples.test2`` regional survey with field duplicate pairs, likewise;
* the Thompson–Howarth fit against a plain re-implementation (sort, groups of 11,
  medians, ``numpy.polyfit``, σ = median|d| / (√2·Φ⁻¹(0.75))) and against a simulated
  precision model it must recover.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from chemearth.errors import StatisticsError
from chemearth.qc.precision import precision, thompson_howarth, variance_components
from chemearth.qc.report import anova_table, duplicate_pairs, precision_table

smf = pytest.importorskip("statsmodels.formula.api")
sm_anova = pytest.importorskip("statsmodels.stats.anova")

AR = "aqua regia extraction; ICP-AES or graphite-furnace AAS"
INAA = "INAA (instrumental neutron activation)"
#: elements whose aqua regia results have no value below the DL in either QC file
KOLA = ("Cu", "Cr", "Ni", "Co", "Zn", "Fe", "Mn", "V")


def _raw_pairs(data_dir, name: str, prefixes: tuple[str, str], column: str) -> pd.DataFrame:
    raw = pd.read_csv(data_dir / "kola" / name)
    return pd.DataFrame({"a": raw[prefixes[0] + column], "b": raw[prefixes[1] + column]}).dropna()


def _rsd_loop(a, b) -> float:
    """Root-mean-square of the pairs' coefficients of variation, pair by pair."""
    total = 0.0
    for x, y in zip(a, b, strict=True):
        sd = abs(x - y) / math.sqrt(2)
        total += (sd / ((x + y) / 2)) ** 2
    return 100 * math.sqrt(total / len(a))


def _statsmodels_components(pairs: pd.DataFrame) -> tuple[float, float, float]:
    """(MS between, MS within, REML site variance) of log10 pairs by statsmodels."""
    long = pd.DataFrame({
        "site": np.repeat(np.arange(len(pairs)), 2),
        "y": np.log10(np.column_stack([pairs["a"], pairs["b"]]).ravel()),
    })
    table = sm_anova.anova_lm(smf.ols("y ~ C(site)", data=long).fit())
    msb = table.loc["C(site)", "mean_sq"]
    msw = table.loc["Residual", "mean_sq"]
    mixed = smf.mixedlm("y ~ 1", long, groups=long["site"]).fit(reml=True)
    return float(msb), float(msw), float(mixed.cov_re.iloc[0, 0])


@pytest.fixture(scope="module")
def kola_pairs(demo_store):
    st = demo_store.store
    return (duplicate_pairs(st, "kola-chorizon-field-duplicates"),
            duplicate_pairs(st, "kola-chorizon-analytical-duplicates"))


@pytest.mark.parametrize("element", KOLA)
@pytest.mark.parametrize(("dataset", "file", "prefixes"), [
    ("field", "CHorFieldDUP.csv", ("F1_", "F2_")),
    ("analytical", "CHorANADUP.csv", ("A1_", "A2_")),
])
def test_kola_rsd_equals_pair_by_pair_computation(kola_pairs, data_dir, element, dataset,
                                                   file, prefixes):
    pairs = kola_pairs[0 if dataset == "field" else 1]
    table = precision_table(pairs).set_index(["element", "method"])
    got = table.loc[(element, AR)]
    raw = _raw_pairs(data_dir, file, prefixes, element)
    assert got["n_pairs"] == len(raw) == (49 if dataset == "field" else 52)
    assert got["rsd_pct"] == pytest.approx(_rsd_loop(raw["a"], raw["b"]), rel=1e-9)
    d = raw["a"] - raw["b"]
    pooled = 100 * math.sqrt((d**2).sum() / (2 * len(d))) / ((raw["a"] + raw["b"]) / 2).mean()
    assert got["rsd_pooled_pct"] == pytest.approx(pooled, rel=1e-9)
    assert got["precision_pct"] == pytest.approx(2 * got["rsd_pct"])


def test_kola_analytical_precision_is_better_than_field(kola_pairs):
    """Field duplicates carry sampling error on top of the analytical error."""
    f = precision_table(kola_pairs[0]).set_index(["element", "method"])
    a = precision_table(kola_pairs[1]).set_index(["element", "method"])
    better = [a.loc[(e, AR), "rsd_pct"] < f.loc[(e, AR), "rsd_pct"] for e in KOLA]
    assert sum(better) >= len(KOLA) - 1


@pytest.mark.parametrize("element", KOLA)
def test_kola_nested_anova_equals_statsmodels(kola_pairs, data_dir, element):
    table = anova_table(*kola_pairs).set_index(["element", "method"]).loc[(element, AR)]
    field = _raw_pairs(data_dir, "CHorFieldDUP.csv", ("F1_", "F2_"), element)
    anal = _raw_pairs(data_dir, "CHorANADUP.csv", ("A1_", "A2_"), element)
    msb, msw, reml_site = _statsmodels_components(field)
    _, msw_a, _ = _statsmodels_components(anal)
    assert table["ms_between"] == pytest.approx(msb, rel=1e-9)
    assert table["ms_within"] == pytest.approx(msw, rel=1e-9)
    assert table["between_site"] == pytest.approx(max(0.0, (msb - msw) / 2), rel=1e-9)
    assert table["between_site"] == pytest.approx(reml_site, rel=1e-4)  # REML = ANOVA here
    assert table["analytical"] == pytest.approx(min(msw, msw_a), rel=1e-9)
    assert table["sampling"] == pytest.approx(msw - min(msw, msw_a), rel=1e-9)
    total = table["between_site"] + msw
    assert table["measurement_pct"] == pytest.approx(100 * msw / total, rel=1e-9)
    assert table["fit_for_mapping"] == (msw <= 0.2 * total)
    f = msb / msw
    assert table["p"] == pytest.approx(sps.f.sf(f, len(field) - 1, len(field)), rel=1e-9)


def test_kola_flags_inaa_gold_unfit_for_mapping(kola_pairs):
    """INAA Au in the C horizon is close to its detection limit (72 % below it): the pairs
    above it differ by analytical noise alone, while aqua regia Ni maps the geology."""
    t = anova_table(*kola_pairs).set_index(["element", "method"])
    assert not t.loc[("Au", INAA), "fit_for_mapping"]
    assert t.loc[("Au", INAA), "analytical_pct"] > 40
    assert t.loc[("Ni", AR), "fit_for_mapping"]
    assert t.loc[("Ni", AR), "between_site_pct"] > 85


def test_rgr_triples_anova_equals_independent_computation(demo_store, data_dir):
    raw = pd.read_csv(data_dir / "qc" / "triples.test2.csv")
    first = raw.index[raw["RS"] == 1]
    pairs = pd.DataFrame({"a": raw.loc[first, "Ba_ppm"].to_numpy(),
                          "b": raw.loc[first + 1, "Ba_ppm"].to_numpy()})
    assert len(pairs) == 9
    assert (raw.loc[first + 1, "RS"] == 2).all()
    got_pairs = duplicate_pairs(demo_store.store, "qc-triplicates")
    assert sorted(got_pairs["a"]) == sorted(pairs["a"])
    assert sorted(got_pairs["b"]) == sorted(pairs["b"])
    regional = np.log10(raw.loc[raw["RS"].isin([0, 1]), "Ba_ppm"].to_numpy())
    m = demo_store.store.measurements("qc-triplicates")
    survey = m[m["sample_id"].isin(raw.loc[raw["RS"].isin([0, 1]), "ID"])]
    row = anova_table(got_pairs, None, survey).iloc[0]
    msb, msw, _ = _statsmodels_components(pairs)
    assert row["ms_within"] == pytest.approx(msw, rel=1e-9)
    assert row["ms_between"] == pytest.approx(msb, rel=1e-9)
    assert math.isnan(row["analytical"])
    assert row["survey_share_pct"] == pytest.approx(100 * msw / np.var(regional, ddof=1),
                                                    rel=1e-9)
    assert row["fit_for_mapping"]
    assert precision_table(got_pairs).iloc[0]["rsd_pct"] == pytest.approx(
        _rsd_loop(pairs["a"], pairs["b"]), rel=1e-9)


def _th_plain(a, b):
    mean = (np.asarray(a) + np.asarray(b)) / 2
    absd = np.abs(np.asarray(a) - np.asarray(b))
    frame = pd.DataFrame({"m": mean, "d": absd}).sort_values("m", kind="stable")
    frame = frame.iloc[: len(frame) // 11 * 11]
    frame["g"] = np.arange(len(frame)) // 11
    med = frame.groupby("g").median()
    slope, intercept = np.polyfit(med["m"], med["d"], 1)
    factor = 1 / (math.sqrt(2) * sps.norm.ppf(0.75))
    return intercept * factor, slope * factor, med


def test_thompson_howarth_equals_plain_implementation(kola_pairs):
    g = kola_pairs[1]
    g = g[(g["element"] == "Cu") & (g["method"] == AR)]
    th = thompson_howarth(g["a"], g["b"])
    s0, k, med = _th_plain(g["a"], g["b"])
    assert th.groups == 4 == len(med)
    assert th.s0 == pytest.approx(s0, rel=1e-9, abs=1e-12)
    assert th.k == pytest.approx(k, rel=1e-9)
    assert th.group_means == pytest.approx(tuple(med["m"]))


def test_thompson_howarth_recovers_a_simulated_precision_model():
    rng = np.random.default_rng(42)
    c = np.exp(rng.uniform(0, 7, 5000))
    s = 2.0 + 0.04 * c
    th = thompson_howarth(c + rng.normal(0, s), c + rng.normal(0, s))
    assert th.k == pytest.approx(0.04, rel=0.1)
    assert th.s0 == pytest.approx(2.0, rel=0.15)
    assert th.precision_pct(1000.0) == pytest.approx(200 * (2 + 40) / 1000, rel=0.1)


def test_variance_components_recover_simulated_design():
    rng = np.random.default_rng(7)
    n = 3000
    site = rng.normal(2.0, math.sqrt(0.09), n)  # log10 concentrations
    sampling, analytical = 0.01, 0.0025

    def sample() -> np.ndarray:
        return site + rng.normal(0, math.sqrt(sampling), n)

    s1, s2 = sample(), sample()
    f1 = s1 + rng.normal(0, math.sqrt(analytical), n)
    f2 = s2 + rng.normal(0, math.sqrt(analytical), n)
    a1 = s1 + rng.normal(0, math.sqrt(analytical), n)  # a second split of sample 1
    c = variance_components(10**f1, 10**f2, 10**f1, 10**a1)
    assert c.between_site == pytest.approx(0.09, rel=0.08)
    assert c.sampling == pytest.approx(sampling, rel=0.1)
    assert c.analytical == pytest.approx(analytical, rel=0.1)
    assert c.shares["measurement"] == pytest.approx(100 * 0.0125 / 0.1025, rel=0.1)
    assert c.fit_for_mapping


@pytest.mark.parametrize(("a", "b", "message"), [
    ([1.0], [1.1], "at least 2"),
    ([1.0, 2.0], [1.0], "one length"),
    ([0.0, -1.0, 5.0], [1.0, 1.0, np.nan], "at least 2"),
])
def test_precision_rejects_unusable_pairs(a, b, message):
    with pytest.raises(StatisticsError, match=message):
        precision(a, b)


def test_censored_pairs_are_left_out():
    p = precision([10.0, 20.0, 1.0], [11.0, 19.0, 1.0], censored_a=[False, False, True])
    assert p.n_pairs == 2
    assert p.n_left_out == 1
