"""Screening of real surveys, checked against an independent computation from the files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from chemearth.assess.screening import BASIS_FLAGS, choose_methods, screen, screen_frame
from chemearth.grid.geometry import get_grid
from chemearth.reference.standards import INDETERMINATE, get_standard

BANDS = ["ph_le_5.5", "ph_5.5_6.5", "ph_6.5_7.5", "ph_gt_7.5"]


def _published_limit(data_dir: Path, element: str, ph: np.ndarray, land_use: str) -> np.ndarray:
    """GB 15618-2018 screening limit for each pH, straight from the published table."""
    t = pd.read_csv(data_dir / "standards" / "gb15618_2018_screening.csv")
    rows = t[(t["element"] == element) & t["land_use"].isin([land_use, "all"])]
    row = rows.iloc[0]
    band = np.select([ph <= 5.5, ph <= 6.5, ph <= 7.5, ph > 7.5], [0, 1, 2, 3], default=-1)
    limits = np.array([row[b] for b in BANDS], dtype=float)
    return np.where(band >= 0, limits[np.clip(band, 0, 3)], limits.min())


@pytest.fixture(scope="module")
def kola_c(demo_store):
    return screen(demo_store.store, "kola-chorizon", get_standard("gb15618-2018"))


def test_methods_prefer_totals(demo_store) -> None:
    cols = demo_store.store.measurement_columns("kola-chorizon")
    chosen = choose_methods(cols, ["Ni", "Cu", "Cr"])
    assert chosen["Ni"].startswith("INAA")
    assert chosen["Cr"].startswith("INAA")
    assert chosen["Cu"].startswith("aqua regia")  # no total Cu: the partial one, flagged
    assert choose_methods(cols, ["Ni"], {"Ni": "aqua regia"})["Ni"].startswith("aqua regia")


@pytest.mark.parametrize(("element", "column"), [("Ni", "Ni_INAA"), ("Cr", "Cr_INAA"),
                                                 ("Zn", "Zn_INAA"), ("As", "As_INAA")])
def test_kola_counts_equal_an_independent_count(data_dir: Path, kola_c, element: str,
                                                 column: str) -> None:
    raw = pd.read_csv(data_dir / "kola" / "chorizon.csv")
    raw = raw[raw[column].notna()]
    limit = _published_limit(data_dir, element, raw["pH"].to_numpy(float), "other")
    want = int((raw[column].to_numpy(float) > limit).sum())
    got = kola_c.summary().set_index("element").loc[element]
    assert got["n_above_screening"] == want
    assert got["n"] == len(raw)
    assert got["pct_above_screening"] == pytest.approx(100 * want / len(raw))
    assert got["ph_assumed"] == int(raw["pH"].isna().sum())


def test_partial_digestion_is_flagged(demo_store, kola_c) -> None:
    cu = kola_c.samples[kola_c.samples["element"] == "Cu"]
    assert (cu["basis_flag"] == BASIS_FLAGS["aqua-regia"]).all()
    ni = kola_c.samples[kola_c.samples["element"] == "Ni"]
    assert ni["basis_flag"].isna().all()
    assert any(n.startswith("Cu: aqua regia") for n in kola_c.notes)
    humus = screen(demo_store.store, "kola-humus", get_standard("gb15618-2018"))
    assert humus.samples["basis_flag"].notna().all()
    assert sum("partial digestion" in n for n in humus.notes) == len(humus.summary())


def test_missing_ph_uses_the_most_protective_band(demo_store) -> None:
    s = screen(demo_store.store, "usgs-ds801-top5", get_standard("gb15618-2018"),
               elements=["Cd", "Pb"])
    assert s.samples["ph_assumed"].all()
    assert set(s.samples["ph_band"]) == {"pH missing: most protective band"}
    assert s.samples.loc[s.samples["element"] == "Cd", "limit_screening"].eq(0.3).all()
    assert s.samples.loc[s.samples["element"] == "Pb", "limit_screening"].eq(70).all()
    assert s.notes[0].startswith("pH missing for 4841 of 4841 samples")


@pytest.mark.parametrize("level", ["80km", "20km", "10km"])
def test_cells_add_up_to_an_independent_groupby(kola_c, level: str) -> None:
    cells = kola_c.by_cell("global", level)
    s = kola_c.samples
    g = get_grid("global")
    keys = g.cell_keys(s["longitude"].to_numpy(float), s["latitude"].to_numpy(float),
                       int(level.removesuffix("km")) * 1000)
    want = (s.assign(cell=keys, above=s["above_screening"] == 1)
            .groupby(["cell", "element"])
            .agg(n=("value", "size"), above=("above", "sum"), worst=("class_index", "max")))
    got = cells.set_index(["cell", "element"]).loc[want.index]
    assert (got["n"] == want["n"]).all()
    assert (got["n_above_screening"] == want["above"]).all()
    assert (got["worst_class"] == want["worst"]).all()
    assert np.allclose(got["pct_above_screening"], 100 * want["above"] / want["n"])
    class_cols = [c for c in cells.columns if c.startswith("n_") and not c.startswith("n_above")]
    assert (cells[class_cols].sum(axis=1) == cells["n"]).all()


def test_regions_add_up(kola_c) -> None:
    by = kola_c.by_region("country")
    assert set(by["country"]) == {"FI", "NO", "RU"}
    total = by.groupby("element")[["n", "n_above_screening"]].sum()
    summary = kola_c.summary().set_index("element")
    assert (total["n"] == summary["n"]).all()
    assert (total["n_above_screening"] == summary["n_above_screening"]).all()


def test_censored_and_indeterminate() -> None:
    frame = pd.DataFrame({
        "sample_index": [0, 1, 2], "element": "Cd", "value": [0.2, 0.5, 0.5],
        "censored": [True, True, False], "ph": 6.0, "digestion": "total",
    })
    s = screen_frame(frame, get_standard("gb15618-2018"))
    assert s.samples["class_index"].tolist() == [0, INDETERMINATE, 1]
    assert s.samples["class"].tolist() == ["priority protection", "indeterminate",
                                           "safe utilisation"]
    summary = s.summary().iloc[0]
    assert summary["n_indeterminate"] == 1
    assert summary["pct_above_screening"] == pytest.approx(50.0)  # of the 2 decided
    assert any("indeterminate" in n for n in s.notes)


@pytest.mark.parametrize(("land_use", "limit", "cls"), [("paddy", 0.6, 0), ("other", 0.3, 1),
                                                       ("orchard", 0.3, 1)])
def test_land_use_chooses_the_row(land_use: str, limit: float, cls: int) -> None:
    frame = pd.DataFrame({"sample_index": [0], "element": "Cd", "value": [0.35],
                          "censored": [False], "ph": [7.0], "digestion": "total"})
    s = screen_frame(frame, get_standard("gb15618-2018"), land_use=land_use)
    assert s.samples["limit_screening"].iloc[0] == limit
    assert s.samples["class_index"].iloc[0] == cls
