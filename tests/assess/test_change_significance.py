"""Per-cell change significance: the tests of each cell, BH marks and pairing of campaigns.

Independent references: ``scipy.stats.binomtest`` on sign counts read from the
difference intervals SedPb ships (``Lo01to96``, ``Hi01to96``),
``statsmodels.stats.multitest.multipletests(method="fdr_bh")`` for the adjusted p-values,
and the raw Kola files (C-horizon below-DL values recognised from the published limits,
coordinates projected with pyproj) for the pairing of two real campaigns of the same sites.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from chemearth.assess.change import ChangeError
from chemearth.assess.change_significance import (
    DIRECTIONS,
    cell_change_significance,
    change_significance_frames,
)
from chemearth.assess.pairing import PairingError
from chemearth.grid.geometry import get_grid
from chemearth.stats.trends import paired_prentice_wilcoxon


@pytest.fixture(scope="module")
def sedpb(data_dir: Path) -> pd.DataFrame:
    """SedPb as pairs 1996 -> 2001, in cells of 10 consecutive sites (the last holds 2)."""
    df = pd.read_csv(data_dir / "nada" / "SedPb.csv")
    return pd.DataFrame({
        "cell": np.arange(len(df)) // 10,
        "value_before": df["y1996"], "censored_before": df["y1996Cen"].astype(bool),
        "value_after": df["y2001"], "censored_after": df["y2001Cen"].astype(bool),
        "lo": df["Lo01to96"], "hi": df["Hi01to96"],
    })


def _check_marks(out: pd.DataFrame, alpha: float) -> None:
    tested = out["test"] != "none"
    ref = multipletests(out.loc[tested, "p_value"], method="fdr_bh")[1]
    np.testing.assert_allclose(out.loc[tested, "q_value"], ref, rtol=1e-12)
    assert out.loc[~tested, "q_value"].isna().all()
    for _, row in out.iterrows():
        if row["test"] == "none":
            want = "too few pairs"
        elif row["q_value"] <= alpha:
            want = "increase" if row["statistic"] > 0 else "decrease"
        else:
            want = "no significant change"
        assert row["direction"] == want, row["cell"]
    assert set(out["direction"]) <= set(DIRECTIONS)


@pytest.mark.parametrize(("min_ppw_pairs", "test"),
                         [(10, "paired prentice-wilcoxon"), (11, "censored sign test")])
def test_sedpb_cells(sedpb: pd.DataFrame, min_ppw_pairs: int, test: str) -> None:
    out = cell_change_significance(sedpb, min_ppw_pairs=min_ppw_pairs, alpha=0.2)
    assert out["cell"].tolist() == list(range(9))
    assert out["n_pairs"].tolist() == [10] * 8 + [2]
    assert (out["test"].iloc[:8] == test).all()
    assert out["direction"].iloc[8] == "too few pairs"
    for key, part in sedpb.groupby("cell"):
        row = out.set_index("cell").loc[key]
        # signs from the published difference intervals, not from chemearth
        up = int((part["lo"] > 0).sum())
        down = int((part["hi"] < 0).sum())
        assert (row["n_increase"], row["n_decrease"]) == (up, down), key
        assert row["n_tied"] == len(part) - up - down
        assert row["n_censored"] == int((part["censored_before"] | part["censored_after"]).sum())
        if key == 8:
            assert np.isnan(row["p_value"])
        elif test == "censored sign test":
            assert row["p_value"] == pytest.approx(stats.binomtest(up, up + down).pvalue)
            assert row["statistic"] == up - down
        else:
            r = paired_prentice_wilcoxon(part["value_before"], part["censored_before"],
                                         part["value_after"], part["censored_after"])
            assert (row["statistic"], row["p_value"]) == pytest.approx((r.z, r.p_value))
    _check_marks(out, 0.2)


def test_known_changes_are_found_and_no_false_ones() -> None:
    """40 cells of 15 re-sampled sites, lognormal with DL 1 (~30 % censored); the values
    of 8 cells tripled. All 8 are marked increase, none of the 32 others changes."""
    rng = np.random.default_rng(21)
    rows = []
    for cell in range(40):
        site = rng.normal(0.5, 1.0, 15)
        b = np.exp(site + rng.normal(0, 0.3, 15))
        a = np.exp(site + rng.normal(0, 0.3, 15)) * (3.0 if cell < 8 else 1.0)
        rows.append(pd.DataFrame({"cell": cell, "value_before": np.maximum(b, 1.0),
                                  "censored_before": b < 1.0, "value_after": np.maximum(a, 1.0),
                                  "censored_after": a < 1.0}))
    pairs = pd.concat(rows, ignore_index=True)
    assert 0.2 < pairs["censored_before"].mean() < 0.45
    out = cell_change_significance(pairs).set_index("cell")
    assert (out.loc[:7, "direction"] == "increase").all()
    assert (out.loc[8:, "direction"] == "no significant change").all()
    _check_marks(out.reset_index(), 0.05)
    # ... and the same with the change reversed is a decrease
    swapped = pairs.rename(columns={"value_before": "value_after", "value_after": "value_before",
                                    "censored_before": "censored_after",
                                    "censored_after": "censored_before"})
    back = cell_change_significance(swapped).set_index("cell")
    assert (back.loc[:7, "direction"] == "decrease").all()


def _kola(data_dir: Path, element: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    from pyproj import Transformer

    to_wgs84 = Transformer.from_crs("EPSG:32635", "EPSG:4326", always_xy=True)
    limits = pd.read_csv(data_dir / "kola" / "chorizonDL_detection_limits.csv").set_index(
        "column")["detection_limit"]
    frames = []
    for name in ("chorizon", "humus"):
        raw = pd.read_csv(data_dir / "kola" / f"{name}.csv")
        lon, lat = to_wgs84.transform(raw["XCOO"].to_numpy(), raw["YCOO"].to_numpy())
        value = raw[element].to_numpy(float)
        # C-horizon: a value at half the published DL stands for "< DL"; humus: no flags
        cens = (np.isclose(value, 0.5 * limits[element]) if name == "chorizon"
                else np.zeros(len(raw), bool))
        frames.append(pd.DataFrame({
            "sample_id": raw["ID"].astype(int).astype(str), "longitude": lon, "latitude": lat,
            "value": np.where(cens, limits[element] if name == "chorizon" else 0, value),
            "censored": cens,
        }))
    return frames[0], frames[1]


def test_kola_c_horizon_to_humus(data_dir: Path) -> None:
    """Pb is enriched in the humus (atmospheric input) at nearly every site: nearly every
    cell tested is marked increase. As, with 10 C-horizon values below the DL, is tested
    without substituting them; each cell is the PPW (or sign) test of its own pairs."""
    chor, hum = _kola(data_dir, "Pb")
    out = change_significance_frames(chor, hum, level="80km", same_sites=True,
                                     names=("kola-chorizon", "kola-humus"))
    tested = out[out["test"] != "none"]
    assert len(tested) >= 15
    assert (tested["direction"] == "increase").mean() > 0.9
    assert out["pairing_rule"].iloc[0] == ("declared (same sites, given by the caller): "
                                           "paired by sample id")
    assert out["max_distance_m"].isna().all()
    _check_marks(out, 0.05)

    chor, hum = _kola(data_dir, "As")
    out = change_significance_frames(chor, hum, level="80km", same_sites=True)
    g = get_grid("global")
    keys = g.cell_keys(chor["longitude"].to_numpy(), chor["latitude"].to_numpy(), 80_000)
    assert out["n_censored"].sum() == chor["censored"].sum() == 10
    assert out["n_pairs"].sum() == len(chor)
    row = out.sort_values("n_pairs").iloc[-1]
    sel = keys == row["cell"]
    ids = chor.loc[sel, "sample_id"]
    h = hum.set_index("sample_id").loc[ids]
    r = paired_prentice_wilcoxon(chor.loc[sel, "value"], chor.loc[sel, "censored"],
                                 h["value"], h["censored"])
    assert (row["statistic"], row["p_value"]) == pytest.approx((r.z, r.p_value))
    assert row["cell_id"] == g.key_to_id(np.array([row["cell"]]))[0]
    _check_marks(out, 0.05)


def test_colocated_campaigns_pair_by_distance() -> None:
    """Other sample ids 5 m away are the same sites; 500 m away they pair with nothing."""
    rng = np.random.default_rng(4)
    n = 12
    before = pd.DataFrame({"sample_id": [f"a{i}" for i in range(n)],
                           "longitude": 10.0 + 0.01 * np.arange(n), "latitude": 50.0,
                           "value": rng.lognormal(2, 0.3, n), "censored": False})
    after = before.assign(sample_id=[f"b{i}" for i in range(n)],
                          latitude=50.0 + 5 / 111_195, value=before["value"] * 2)
    out = change_significance_frames(before, after, level="80km")
    assert out["n_pairs"].sum() == n
    assert out["pairing_rule"].iloc[0].startswith("co-located")
    assert out["max_distance_m"].iloc[0] == 20
    assert (out["direction"] == "increase").all()
    far = after.assign(latitude=50.0 + 500 / 111_195)
    with pytest.raises(PairingError, match="within 20 m"):
        change_significance_frames(before, far, level="80km")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"alpha": 0.0}, "false-discovery rate"),
        ({"min_pairs": 1}, "at least 2"),
        ({"min_pairs": 8, "min_ppw_pairs": 6}, "below min_pairs"),
        ({"cell": "site"}, "missing column"),
    ],
)
def test_bad_options(sedpb: pd.DataFrame, options: dict, message: str) -> None:
    with pytest.raises(ChangeError, match=message):
        cell_change_significance(sedpb, **options)


def test_missing_values_and_empty_input(sedpb: pd.DataFrame) -> None:
    holes = sedpb.copy()
    holes.loc[:4, "value_after"] = np.nan
    out = cell_change_significance(holes)
    assert out["n_pairs"].iloc[0] == 5
    with pytest.raises(ChangeError, match="no pair"):
        cell_change_significance(sedpb.assign(value_after=np.nan))
    few = cell_change_significance(sedpb, min_pairs=11, min_ppw_pairs=11)
    assert (few["direction"] == "too few pairs").all()
    assert few["q_value"].isna().all()
