"""Geochemical blocks: metal amounts by hand, nesting, calibration, and Kola nickel."""

from __future__ import annotations

import itertools

import pandas as pd
import pytest
import shapely

from chemearth.assess.anomalies import Surface, surface
from chemearth.assess.blocks import (
    DEFAULT_DENSITY_T_M3,
    DEFAULT_DEPTH_M,
    BlockError,
    calibrate,
    delineate,
    doubling_thresholds,
    metal_tonnes,
    predict,
)
from chemearth.grid.geometry import EUROPE
from chemearth.store.selectors import element_values


def test_metal_amount_by_hand() -> None:
    # 250 km² of rock, 500 m deep, 2.7 t/m³, 40 mg/kg of Cu:
    area_m2 = 250 * 1000 * 1000  # km² -> m²
    rock_t = area_m2 * 500 * 2.7  # m³ × t/m³
    metal_g = rock_t * 40  # mg/kg = g/t
    assert metal_tonnes(250, 500, 2.7, 40) == pytest.approx(metal_g / 1e6)
    assert metal_tonnes(250, 500, 2.7, 40) == pytest.approx(13_500_000.0)


def _surface() -> Surface:
    values = {"10kmE500N400": 100.0, "10kmE501N400": 300.0, "10kmE502N400": 500.0,
              "10kmE510N400": 120.0, "10kmE520N400": 10.0, "10kmE521N400": 20.0}
    keys = EUROPE.id_to_key(list(values))
    cells = pd.DataFrame({"cell": keys, "cell_id": list(values), "n": 3,
                          "value": list(values.values()), "max": list(values.values())})
    return Surface(EUROPE, 10_000, "Cu", "mg/kg", cells, pd.DataFrame())


def test_nested_blocks_and_amounts() -> None:
    b = delineate(_surface(), [80.0, 250.0], depth_m=1000, density_t_m3=2.5)
    t = b.table.set_index("block_id")
    assert list(t.index) == ["Cu-T1-1", "Cu-T1-2", "Cu-T2-1"]
    big = t.loc["Cu-T1-1"]
    assert big["area_km2"] == 300.0
    assert big["mean"] == pytest.approx(300.0)
    # 300 km² × 1000 m × 2.5 t/m³ × 300 mg/kg = 3e8 m² · 1e3 m → 3e11 m³ → 7.5e11 t → 2.25e8 t
    assert big["metal_t"] == pytest.approx(2.25e8)
    inner = t.loc["Cu-T2-1"]
    assert inner["parent_id"] == "Cu-T1-1"
    assert inner["area_km2"] == 200.0
    assert set(inner["cells"].split(",")) <= set(big["cells"].split(","))
    assert big["geometry"].contains(inner["geometry"].buffer(-1e-6))
    assert t.loc["Cu-T1-2", "parent_id"] is None
    assert b.assumptions["depth_m"] == 1000
    assert "estimate" in b.assumptions


def test_calibration_and_prediction() -> None:
    b = delineate(_surface(), [80.0, 250.0])
    bid, k = calibrate(b, 1.0e6, block_id="Cu-T1-1")
    q = b.table.set_index("block_id").loc["Cu-T1-1", "metal_t"]
    assert k == pytest.approx(1.0e6 / q)
    p = predict(b, k, calibrated_on=bid).table.set_index("block_id")
    assert p.loc["Cu-T1-1", "resource_t"] == pytest.approx(1.0e6)
    assert p.loc["Cu-T1-2", "resource_t"] == pytest.approx(p.loc["Cu-T1-2", "metal_t"] * k)
    assert pd.isna(p.loc["Cu-T2-1", "resource_t"])  # another threshold: not predicted
    lon, lat = EUROPE.cell_centres(EUROPE.id_to_key(["10kmE501N400"]))
    assert calibrate(b, 1.0e6, at=(float(lon[0]), float(lat[0])))[0] == "Cu-T1-1"
    with pytest.raises(BlockError, match="no block"):
        calibrate(b, 1.0e6, block_id="Cu-T9-9")


def test_bad_block_requests() -> None:
    with pytest.raises(BlockError, match="increasing"):
        delineate(_surface(), [250.0, 80.0])
    with pytest.raises(BlockError, match="positive"):
        delineate(_surface(), [80.0], depth_m=0)


def test_kola_nickel_blocks(demo_store) -> None:
    m, method = element_values(demo_store.store, "kola-humus", "Ni")
    surf = surface(m, variable="Ni", method=method)
    ts = doubling_thresholds(surf)
    assert all(b == pytest.approx(2 * a) for a, b in itertools.pairwise(ts))
    b = delineate(surf)
    assert b.depth_m == DEFAULT_DEPTH_M
    assert b.density_t_m3 == DEFAULT_DENSITY_T_M3
    t = b.table
    monchegorsk = shapely.Point(32.92, 67.94)
    inner = t[t["threshold_index"] == t["threshold_index"].max()].iloc[0]
    assert inner["geometry"].distance(monchegorsk) < 0.3  # degrees: within ~15 km
    for _, child in t[t["parent_id"].notna()].iterrows():
        parent = t.set_index("block_id").loc[child["parent_id"]]
        assert set(child["cells"].split(",")) <= set(parent["cells"].split(","))
        assert child["threshold_index"] == parent["threshold_index"] + 1
