"""Change between campaigns and enrichment ratios, against independent computations."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from chemearth.assess.change import change_by_cell, change_frames, enrichment
from chemearth.assess.pairing import PairingError
from chemearth.grid.geometry import get_grid
from chemearth.ingest.shipped import shipped_descriptor

KOLA_ELEMENTS = ["As", "Cd", "Co", "Cu", "Ni", "Pb", "Zn", "Fe", "Mn"]


def _censored_half_dl(raw: pd.DataFrame, limits: pd.Series, column: str) -> np.ndarray:
    """Kola C-horizon: a value at half its detection limit stands for '< DL'."""
    if column not in limits.index:
        return np.zeros(len(raw), bool)
    return np.isclose(raw[column].to_numpy(float), 0.5 * limits[column])


def test_kola_humus_over_c_horizon(data_dir: Path, demo_store) -> None:
    got = enrichment(demo_store.store, "kola-humus", "kola-chorizon",
                     KOLA_ELEMENTS).set_index("element")
    humus = pd.read_csv(data_dir / "kola" / "humus.csv")
    chor = pd.read_csv(data_dir / "kola" / "chorizon.csv")
    limits = pd.read_csv(data_dir / "kola" / "chorizonDL_detection_limits.csv").set_index(
        "column")["detection_limit"]
    j = humus.merge(chor, on="ID", suffixes=("_h", "_c"))
    for el in KOLA_ELEMENTS:
        # humus: HNO3 (partial); C-horizon: the aqua regia column of the same name
        cens = _censored_half_dl(j.rename(columns={f"{el}_c": el}), limits, el)
        ok = ~cens & j[f"{el}_h"].notna() & j[f"{el}_c"].notna()
        r = (j.loc[ok, f"{el}_h"] / j.loc[ok, f"{el}_c"]).to_numpy(float)
        row = got.loc[el]
        assert row["n_pairs"] == len(r), el
        assert row["n_censored_pairs"] == int(cens.sum()), el
        assert row["median_ratio"] == pytest.approx(np.median(r), rel=1e-9), el
        assert row["gmean_ratio"] == pytest.approx(stats.gmean(r), rel=1e-9), el
        assert row["p75_ratio"] == pytest.approx(np.percentile(r, 75), rel=1e-9), el
        assert row["method_lower"].startswith("aqua regia")
    # the smelter elements and Pb from long-range pollution are enriched in the humus
    assert (got.loc[["Cd", "Pb", "Zn"], "enriched"] == "upper").all()
    assert (got.loc[["Fe", "Co"], "enriched"] == "lower").all()


def _bss_columns(which: str) -> dict[str, str]:
    """Raw column -> stored element, from the shipped descriptor's column table."""
    doc = tomllib.loads(shipped_descriptor(which).read_text())
    out = {}
    for col, spec in doc["columns"].items():
        code = spec if isinstance(spec, str) else spec["element"]
        m = re.match(r"[A-Z][a-z]?", code)
        if m and code not in ("LOI",):
            out[col] = m[0]
    return out


def _constants(which: str) -> dict[str, float]:
    """Declared substitution constants of a shipped descriptor, by raw column."""
    doc = tomllib.loads(shipped_descriptor(which).read_text())
    subs = doc.get("censoring", {}).get("substituted", {})
    return {col: float(entry["value"]) for col, entry in subs.items()}


def test_bss_top_over_bottom(data_dir: Path, demo_store) -> None:
    got = enrichment(demo_store.store, "bss-top", "bss-bottom").set_index("element")
    top = pd.read_csv(data_dir / "bss" / "bsstop.csv")
    bot = pd.read_csv(data_dir / "bss" / "bssbot.csv")
    tcol = {el: c for c, el in _bss_columns("bss-top").items()}
    bcol = {el: c for c, el in _bss_columns("bss-bottom").items()}
    j = top.merge(bot, on="ID")
    checked = 0
    for el in sorted(set(tcol) & set(bcol)):
        a, b = j[tcol[el]].to_numpy(float), j[bcol[el]].to_numpy(float)
        ok = np.isfinite(a) & np.isfinite(b) & (a > 0) & (b > 0)
        # a pair with a value below the limit (a declared substitution constant) is no ratio
        for v, col, which in ((a, tcol[el], "bss-top"), (b, bcol[el], "bss-bottom")):
            sub = _constants(which).get(col)
            if sub is not None:
                ok &= ~np.isclose(v, sub, rtol=1e-9, atol=0)
        r = a[ok] / b[ok]  # an oxide's ratio is its element's ratio
        assert got.loc[el, "n_pairs"] == len(r), el
        assert got.loc[el, "median_ratio"] == pytest.approx(np.median(r), rel=1e-9), el
        assert got.loc[el, "gmean_ratio"] == pytest.approx(stats.gmean(r), rel=1e-9), el
        d = np.round(np.log(r), 10)  # equal ratios written differently (5/3, 2.5/1.5) tie
        d = d[d != 0]
        if len(r) < 5:  # too few pairs above the limits for a test
            assert np.isnan(got.loc[el, "wilcoxon_p"]), el
        else:  # scipy's exact test for small samples without ties, else the approximation
            exact = len(d) <= 25 and len(np.unique(np.abs(d))) == len(d)
            p = stats.wilcoxon(d, method="exact" if exact else "approx").pvalue
            assert got.loc[el, "wilcoxon_p"] == pytest.approx(p, rel=1e-6), el
        checked += 1
    assert checked >= 40
    assert (got["n_site_pairs"] == len(j)).all()
    assert (got["pairing_rule"] == "declared (bss-bottom same_sites_as bss-top): "
                                   "paired by sample id").all()
    assert got["max_distance_m"].isna().all()
    assert got.loc["P", "enriched"] == "upper"
    assert got.loc["Pb", "enriched"] == "upper"


def _campaign(rng: np.random.Generator, n: int, factor: float, lon: float) -> pd.DataFrame:
    return pd.DataFrame({
        "sample_id": [f"s{i}" for i in range(n)], "longitude": lon, "latitude": 50.0,
        "value": rng.lognormal(3.0, 0.4, n) * factor, "censored": False,
    })


def test_change_detects_a_known_change_and_no_false_one() -> None:
    rng = np.random.default_rng(7)
    before = pd.concat([_campaign(rng, 30, 1.0, 5.0), _campaign(rng, 30, 1.0, 15.0)])
    before["sample_id"] = [f"a{i}" for i in range(len(before))]
    after = pd.concat([_campaign(rng, 30, 2.0, 5.0), _campaign(rng, 30, 1.0, 15.0)])
    after["sample_id"] = [f"b{i}" for i in range(len(after))]
    c = change_frames(before, after, level="80km").set_index("cell")
    g = get_grid("global")
    up, same = g.cell_keys([5.0, 15.0], [50.0, 50.0], 80_000)
    assert c.loc[up, "direction"] == "increase"
    assert c.loc[up, "ci_low"] > 0
    assert c.loc[same, "direction"] == "no significant change"
    assert c.loc[same, "ci_low"] < 0 < c.loc[same, "ci_high"]
    # the U test against a brute-force count and scipy's exact permutation distribution
    xb = before[before["longitude"] == 5.0]["value"].to_numpy()
    xa = after[after["longitude"] == 5.0]["value"].to_numpy()
    u = (xa[:, None] > xb[None, :]).sum() + 0.5 * (xa[:, None] == xb[None, :]).sum()
    assert stats.mannwhitneyu(xa, xb).statistic == u
    perm = stats.permutation_test((xa, xb), lambda x, y: np.median(x) - np.median(y),
                                  n_resamples=2000, random_state=0)
    assert perm.pvalue < 0.05
    assert c.loc[up, "p_value"] < 0.05


def test_paired_sites_use_the_signed_rank_test() -> None:
    rng = np.random.default_rng(3)
    before = _campaign(rng, 20, 1.0, 5.0)
    after = before.assign(value=before["value"] * rng.lognormal(0.3, 0.1, 20))
    c = change_frames(before, after, level="80km", same_sites=True).iloc[0]
    assert c["pairing"] == "sites"
    assert c["test"].startswith("wilcoxon")
    d = np.log(after["value"].to_numpy() / before["value"].to_numpy())
    assert c["p_value"] == pytest.approx(stats.wilcoxon(d, method="exact").pvalue)
    assert c["direction"] == "increase"
    assert (c["n_pairs"], c["pairing_rule"]) == (20, "declared (same sites, given by the "
                                                     "caller): paired by sample id")
    renamed = after.assign(sample_id="x" + after["sample_id"])
    with pytest.raises(PairingError, match="share no sample id"):
        change_frames(before, renamed, pairing="sites", same_sites=True)


def test_sample_ids_alone_never_pair_campaigns() -> None:
    """The same ids 1 km apart are two sites: `sites` is an error naming both campaigns
    and the distance, `auto` compares independent samples."""
    rng = np.random.default_rng(5)
    before = _campaign(rng, 20, 1.0, 5.0)
    after = before.assign(latitude=50.005, value=before["value"] * 3)  # 556 m north
    with pytest.raises(PairingError, match=r"'before' and 'after'.*within 20 m"):
        change_frames(before, after, level="80km", pairing="sites")
    c = change_frames(before, after, level="80km").iloc[0]
    assert (c["pairing"], c["test"], c["n_pairs"]) == ("independent", "mann-whitney u", 0)
    # ... and within a stated distance they are one site, paired one to one
    c = change_frames(before, after, level="80km", max_distance_m=600).iloc[0]
    assert (c["pairing"], c["n_pairs"], c["max_distance_m"]) == ("sites", 20, 600)
    with pytest.raises(PairingError, match="at most 1000 m"):
        change_frames(before, after, level="80km", max_distance_m=1500)


def test_kola_c_horizon_to_humus_by_cell(demo_store) -> None:
    """Humus Pb is an order of magnitude above C-horizon Pb at every site: every cell that
    holds enough re-sampled sites shows a significant increase."""
    c = change_by_cell(demo_store.store, "kola-chorizon", "kola-humus", "Pb", level="80km",
                       method_before="aqua regia extraction; ICP-AES or graphite-furnace AAS")
    assert (c["pairing"] == "sites").all()
    assert c["pairing_rule"].iloc[0] == ("declared (kola-humus same_sites_as kola-chorizon): "
                                         "paired by sample id")
    assert len(c) >= 15
    assert (c["direction"] == "increase").mean() > 0.9
    store = demo_store.store
    hum = store.measurements("kola-humus", elements=["Pb"])
    g = get_grid("global")
    cell = int(c.sort_values("n_after").iloc[-1]["cell"])
    chor = store.measurements("kola-chorizon", elements=["Pb"])
    chor = chor[chor["method"].str.startswith("aqua regia")]
    keys = g.cell_keys(chor["longitude"].to_numpy(), chor["latitude"].to_numpy(), 80_000)
    ids = set(chor.loc[keys == cell, "sample_id"])
    row = c.set_index("cell").loc[cell]
    assert row["median_before"] == pytest.approx(chor.loc[keys == cell, "value"].median())
    assert row["median_after"] == pytest.approx(hum[hum["sample_id"].isin(ids)]["value"].median())
