"""Metal held in a soil layer from pooled cell baselines, and blocks over pooled layers.

A small case is worked out by hand (three cells, two countries); the real case pools
USGS DS-801 lithium (and GEMAS + DS-801 chromium) into cells and checks the totals against
a plain pandas computation of the cell percentiles.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from chemearth.assess.resources import (
    DEFAULT_BULK_DENSITY_T_M3,
    DEFAULT_DEPTH_M,
    ENVELOPES,
    RESOURCE_STATISTICS,
    pooled_blocks,
    pooled_surface,
    resource_totals,
)
from chemearth.errors import GridError, StatisticsError
from chemearth.grid.aggregate import cell_stats
from chemearth.grid.geometry import get_grid
from chemearth.store.base import Store

GLOBAL = get_grid("global")
#: Three 40 km cells side by side in Germany/Poland, and a fourth (sea) for samples only.
A, B, C, D = GLOBAL.cell_keys([14.0, 14.5, 15.0, 15.5], [52.0, 52.0, 52.0, 52.0],
                              40_000).tolist()


def hand_cells() -> pd.DataFrame:
    """Cell A without censoring; cell B with 3 of 8 values below a DL of 0.5 mg/kg, so its
    P5 and P25 (0.5) are only known to be at most 0.5; cell D has samples but no land."""
    t = pd.DataFrame({
        "cell": [A, B, D], "n": [10, 8, 4], "n_censored": [0, 3, 0],
        "dl_max": [np.nan, 0.5, np.nan],
        "min": [0.8, 0.5, 1.0], "p5": [1.0, 0.5, 1.0], "p10": [1.5, 0.5, 1.0],
        "p25": [2.0, 0.5, 1.0], "median": [4.0, 3.0, 2.0], "p75": [6.0, 5.0, 3.0],
        "p90": [9.0, 7.0, 3.0], "p95": [10.0, 8.0, 3.0], "p98": [11.0, 8.5, 3.0],
        "max": [12.0, 9.0, 3.0]})
    t.attrs.update(element="Li", medium="topsoil", method="total", unit="mg/kg")
    return t


def hand_land() -> pd.DataFrame:
    """A wholly in DE (1600 km²); B split DE 600 / PL 1000; C (no samples) in PL, 1200 km²
    of land (the rest is sea)."""
    keys = [A, B, B, C]
    return pd.DataFrame({"cell": keys, "cell_id": GLOBAL.key_to_id(keys),
                         "country": ["DE", "DE", "PL", "PL"], "continent": "Europe",
                         "land_km2": [1600.0, 600.0, 1000.0, 1200.0]})


def test_hand_computation() -> None:
    r = resource_totals(hand_cells(), hand_land(), depth_m=0.5, bulk_density_t_m3=1.2,
                        extrapolate_median=2.5)
    # soil per km²: 1e6 m² × 0.5 m = 5e5 m³, × 1.2 t/m³ = 6e5 t of soil;
    # at C mg/kg = C g/t it holds 6e5 × C g = 0.6 × C tonnes of metal
    per_km2 = 1e6 * 0.5 * 1.2 / 1e6
    assert per_km2 == pytest.approx(0.6)
    de = {"p5": 1600 * per_km2 * 1.0 + 600 * per_km2 * 0.5,
          "p25": 1600 * per_km2 * 2.0 + 600 * per_km2 * 0.5,
          "median": 1600 * per_km2 * 4.0 + 600 * per_km2 * 3.0,   # 3840 + 1080 = 4920 t
          "p75": 1600 * per_km2 * 6.0 + 600 * per_km2 * 5.0,
          "p95": 1600 * per_km2 * 10.0 + 600 * per_km2 * 8.0}
    pl = {"p5": 1000 * per_km2 * 0.5, "p25": 1000 * per_km2 * 0.5,
          "median": 1000 * per_km2 * 3.0,                          # 1800 t
          "p75": 1000 * per_km2 * 5.0, "p95": 1000 * per_km2 * 8.0}
    assert de["median"] == pytest.approx(4920.0)
    countries = r.countries.set_index("country")
    for s in RESOURCE_STATISTICS:
        assert countries.loc["DE", f"tonnes_{s}"] == pytest.approx(de[s])
        assert countries.loc["PL", f"tonnes_{s}"] == pytest.approx(pl[s])
        assert r.world[f"tonnes_{s}"].item() == pytest.approx(de[s] + pl[s])
    # coverage: PL has 2200 km² of land, 1000 km² of it in a cell with samples
    assert countries.loc["PL", "land_km2"] == 2200.0
    assert countries.loc["PL", "land_km2_covered"] == 1000.0
    assert countries.loc["PL", "land_km2_uncovered"] == 1200.0
    assert countries.loc["PL", "covered_pct"] == pytest.approx(100 * 1000 / 2200)
    assert countries.loc["DE", "covered_pct"] == 100.0
    # the uncovered 1200 km² at the declustered median 2.5 mg/kg, reported apart
    assert countries.loc["PL", "tonnes_median_extrapolated"] == pytest.approx(
        1200 * per_km2 * 2.5)
    assert countries.loc["DE", "tonnes_median_extrapolated"] == 0.0
    assert r.world["tonnes_median_with_extrapolation"].item() == pytest.approx(
        de["median"] + pl["median"] + 1200 * per_km2 * 2.5)
    # B's P5 and P25 are at its DL: upper bounds, flagged; its median is not
    cells = r.cells.set_index("cell")
    assert bool(cells.loc[B, "p25_upper_bound"])
    assert bool(cells.loc[B, "p5_upper_bound"])
    assert not cells.loc[B, "median_upper_bound"]
    assert not cells.loc[A, "p25_upper_bound"]
    assert countries.loc["DE", "tonnes_p25_below_dl"] == pytest.approx(600 * per_km2 * 0.5)
    assert countries.loc["PL", "tonnes_p25_below_dl"] == pytest.approx(1000 * per_km2 * 0.5)
    assert bool(r.world["p25_upper_bound"].item())
    assert not r.world["median_upper_bound"].item()
    assert cells.loc[B, "land_km2"] == 1600.0
    assert cells.loc[B, "n_countries"] == 2
    # D has samples and no land; C has land and no samples: neither is a covered cell
    assert set(r.cells["cell"]) == {A, B}
    assert any("no land part" in n for n in r.notes)
    assert any("1,200 of 4,400 km²" in n for n in r.notes)
    assert any("upper bounds" in n for n in r.notes)


def test_without_extrapolation_the_uncovered_land_is_left_out() -> None:
    r = resource_totals(hand_cells(), hand_land())
    assert np.isnan(r.world["tonnes_median_extrapolated"].item())
    assert r.world["land_km2_uncovered"].item() == 1200.0
    assert r.assumptions["extrapolation"] is None
    assert any("not in the totals" in n for n in r.notes)


def test_defaults_and_assumptions() -> None:
    assert (DEFAULT_DEPTH_M, DEFAULT_BULK_DENSITY_T_M3) == (1.0, 1.5)
    r = resource_totals(hand_cells(), hand_land())
    # 1 m × 1.5 t/m³: 1.5e6 t of soil per km²; A: 1600 km² × 1.5e6 t × 4 g/t = 9.6e9 g
    assert r.cells.set_index("cell").loc[A, "tonnes_median"] == pytest.approx(9600.0)
    assert r.assumptions["depth_m"] == 1.0
    assert r.assumptions["bulk_density_t_m3"] == 1.5
    assert set(r.assumptions["envelopes"]) == set(ENVELOPES)
    assert "not a percentile of the sum" in r.assumptions["envelopes"]["P25-P75 envelope"]


@pytest.mark.parametrize(("unit", "scale"), [("mg/kg", 1.0), ("µg/kg", 1e3), ("%", 1e-4),
                                             ("g/kg", 1e-3)])
def test_units(unit: str, scale: float) -> None:
    cells = hand_cells()
    for col in ("dl_max", *RESOURCE_STATISTICS):
        cells[col] = cells[col] * scale  # the same concentrations written in another unit
    cells.attrs["unit"] = unit
    got = resource_totals(cells, hand_land())
    want = resource_totals(hand_cells(), hand_land())
    for s in RESOURCE_STATISTICS:
        assert got.world[f"tonnes_{s}"].item() == pytest.approx(want.world[f"tonnes_{s}"].item())
        assert got.world[f"{s}_upper_bound"].item() == want.world[f"{s}_upper_bound"].item()
    assert got.cells["median"].tolist() == pytest.approx([4.0, 3.0])  # mg/kg


@pytest.fixture(scope="module")
def lithium(grid_store: Store) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """DS-801 Li (0-5 cm) pooled into 160 km cells, and each cell's land given to the
    country of its samples at the nominal cell area (25,600 km²), plus uncovered cells."""
    m = grid_store.measurements("usgs-ds801-top5", elements=["Li"])
    m = m[m["value"].notna()].reset_index(drop=True)
    m["cell"] = GLOBAL.cell_keys(m["longitude"].to_numpy(float),
                                 m["latitude"].to_numpy(float), 160_000)
    cells = cell_stats(m["cell"].to_numpy(), m["value"].to_numpy(float),
                       m["censored"].to_numpy(bool))
    cells.attrs.update(element="Li", medium="topsoil", method="total", unit="mg/kg")
    keys = cells["cell"].to_numpy()
    north = GLOBAL.cell_keys([-100.0, -90.0], [60.0, 60.0], 160_000)  # Canada: no samples
    land = pd.DataFrame({"cell": [*keys, *north], "country": ["US"] * len(keys) + ["CA"] * 2,
                         "continent": "North America", "land_km2": 25_600.0})
    land["cell_id"] = GLOBAL.key_to_id(land["cell"].to_numpy())
    return m, cells, land


def test_lithium_in_the_top_metre_equals_pandas(
        lithium: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]) -> None:
    m, cells, land = lithium
    r = resource_totals(cells, land)
    # independently: pandas quantiles (linear interpolation) per cell, then tonnes by hand
    q = m.groupby("cell")["value"].quantile(np.array([0.05, 0.25, 0.5, 0.75, 0.95])).unstack()
    soil_t = 25_600 * 1e6 * 1.0 * 1.5  # km² → m², × 1 m × 1.5 t/m³
    for s, p in zip(RESOURCE_STATISTICS, [0.05, 0.25, 0.5, 0.75, 0.95], strict=True):
        want = float((soil_t * q[p] / 1e6).sum())  # g/t → t
        assert r.world[f"tonnes_{s}"].item() == pytest.approx(want, rel=1e-12)
    us = r.countries.set_index("country")
    assert us.loc["US", "n_cells_covered"] == q.shape[0]
    assert us.loc["CA", "land_km2_uncovered"] == 2 * 25_600.0
    assert us.loc["CA", "tonnes_median"] == 0.0


def test_band_order_and_sums(lithium: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]) -> None:
    _, cells, land = lithium
    r = resource_totals(cells, land, extrapolate_median=20.0)
    for table in (r.cells, r.countries, r.continents, r.world):
        t = table[[f"tonnes_{s}" for s in RESOURCE_STATISTICS]].to_numpy(float)
        assert (np.diff(t, axis=1) >= 0).all()  # P5 ≤ P25 ≤ median ≤ P75 ≤ P95
    for col in [*(f"tonnes_{s}" for s in RESOURCE_STATISTICS), "land_km2",
                "land_km2_covered", "tonnes_median_extrapolated"]:
        world = r.world[col].item()
        assert r.countries[col].sum() == pytest.approx(world, rel=1e-12)
        assert r.continents[col].sum() == pytest.approx(world, rel=1e-12)
        if col.startswith("tonnes_") and col != "tonnes_median_extrapolated":
            assert r.cells[col].sum() == pytest.approx(world, rel=1e-12)


def test_bad_inputs() -> None:
    with pytest.raises(StatisticsError, match="positive"):
        resource_totals(hand_cells(), hand_land(), depth_m=0)
    with pytest.raises(StatisticsError, match="positive"):
        resource_totals(hand_cells(), hand_land(), bulk_density_t_m3=-1.5)
    with pytest.raises(StatisticsError, match="twice"):
        resource_totals(hand_cells(), pd.concat([hand_land(), hand_land()]))
    with pytest.raises(StatisticsError, match="land_km2"):
        resource_totals(hand_cells(), hand_land().drop(columns="land_km2"))
    neg = hand_land()
    neg.loc[0, "land_km2"] = -1.0
    with pytest.raises(StatisticsError, match=">= 0"):
        resource_totals(hand_cells(), neg)


# ------------------------------------------------------------ blocks over pooled layers


def test_blocks_over_a_hand_pooled_table() -> None:
    # A and B are neighbours at 40 km; C two cells away is not
    keys = GLOBAL.cell_keys([14.0, 14.5, 15.0, 16.0], [52.0] * 4, 40_000)
    cells = pd.DataFrame({"cell": keys, "n": [4, 4, 4, 1], "median": [40.0, 60.0, 10.0, 80.0],
                          "max": [50.0, 70.0, 20.0, 90.0]})
    cells.attrs.update(element="Li", unit="mg/kg")
    land = pd.DataFrame({"cell": [keys[0], keys[1], keys[1]], "country": ["DE", "DE", "PL"],
                         "land_km2": [1600.0, 1000.0, 200.0]})
    b = pooled_blocks(cells, [30.0], land=land, min_n=2, depth_m=100.0, density_t_m3=2.0)
    t = b.table
    assert len(t) == 1  # the 80 mg/kg cell has 1 sample (< min_n): left out
    row = t.iloc[0]
    assert (row["n_cells"], row["area_km2"], row["mean"]) == (2, 2 * 1600.0, 50.0)
    # whole cells: 3200 km² × 1e6 × 100 m × 2 t/m³ × 50 g/t / 1e6 = 3.2e7 t
    assert row["metal_t"] == pytest.approx(3200 * 1e6 * 100 * 2.0 * 50 / 1e6)
    # land only: (1600 × 40 + 1200 × 60) km²·g/t × 1e6 × 100 × 2 / 1e6
    assert row["land_km2"] == 2800.0
    assert row["metal_t_land"] == pytest.approx((1600 * 40 + 1200 * 60) * 1e6 * 100 * 2 / 1e6)
    assert b.assumptions["depth_m"] == 100.0


def test_blocks_over_a_real_pooled_layer(grid_store: Store) -> None:
    parts = []
    for ds in ("gemas", "usgs-ds801-top5"):
        m = grid_store.measurements(ds, elements=["Cr"])
        parts.append(m[m["value"].notna() & m["digestion"].isin(["total", "near-total"])])
    m = pd.concat(parts, ignore_index=True)
    m["cell"] = GLOBAL.cell_keys(m["longitude"].to_numpy(float), m["latitude"].to_numpy(float),
                                 80_000)
    m = m[m["cell"] != -1]
    cells = cell_stats(m["cell"].to_numpy(), m["value"].to_numpy(float),
                       m["censored"].to_numpy(bool))
    cells.attrs.update(element="Cr", unit="mg/kg")
    surf = pooled_surface(cells)
    assert (surf.level_m, surf.unit, len(surf.cells)) == (80_000, "mg/kg", len(cells))
    b = pooled_blocks(cells, [100.0, 200.0])
    medians = m.groupby("cell")["value"].median()
    by_id = pd.Series(medians.to_numpy(), index=GLOBAL.key_to_id(medians.index.to_numpy()))
    first = b.table[b.table["threshold_index"] == 1]
    assert first["n_cells"].sum() == int((medians >= 100.0).sum())
    for _, row in b.table.iterrows():
        vals = by_id.loc[row["cells"].split(",")]
        assert (vals >= row["threshold"]).all()
        assert row["mean"] == pytest.approx(vals.mean())
        assert row["area_km2"] == pytest.approx(len(vals) * 80.0 * 80.0)
        assert row["metal_t"] == pytest.approx(
            row["area_km2"] * 1e6 * 1000.0 * 2.6 * row["mean"] / 1e6)


def test_a_surface_needs_one_level() -> None:
    keys = [*GLOBAL.cell_keys([14.0], [52.0], 40_000), *GLOBAL.cell_keys([15.0], [52.0], 80_000)]
    cells = pd.DataFrame({"cell": keys, "n": 3, "median": 1.0, "max": 2.0})
    with pytest.raises(GridError, match="one level"):
        pooled_surface(cells)
    with pytest.raises(StatisticsError, match="no cell"):
        pooled_surface(cells, min_n=5)
