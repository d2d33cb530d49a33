"""Global toxic-metal exceedance of pooled layers, checked against a plain pandas count.

The pooled frames are built here from real surveys of the grid store (GEMAS XRF totals and
USGS DS-801 0-5 cm near-totals as topsoil; the Kola C-horizon INAA totals, which carry a
soil pH), and the limits are read from the published tables in ``shared/data/standards``,
not from chemearth's standard files. The expected counts compare ``value > limit`` row by
row and group by cell and country with pandas.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from chemearth.assess.exceedance import (
    DEFAULT_CRITERIA,
    TOXIC_METALS,
    Criterion,
    any_exceedance,
    exceedance,
    with_criterion,
)
from chemearth.errors import StatisticsError
from chemearth.grid.geometry import get_grid
from chemearth.reference.standards import StandardError
from chemearth.store.base import Store

#: The topsoil pool ("total" method class: total and near-total digestions).
TOPSOIL = ("gemas", "usgs-ds801-top5")
#: Kola C-horizon: INAA is its total analysis (aqua regia is not pooled), and it has pH.
KOLA = ("kola-chorizon",)
#: The digestions of the "total" method class.
TOTAL = ("total", "near-total")
#: GB 15618-2018 pH band columns of the published table.
BANDS = ["ph_le_5.5", "ph_5.5_6.5", "ph_6.5_7.5", "ph_gt_7.5"]


def pooled(store: Store, datasets: tuple[str, ...], element: str, level_m: int) -> pd.DataFrame:
    """A pooled sample frame of ``element``: the total and near-total analyses of the
    datasets, with each sample's pH (NaN where none) and its global cell."""
    parts = []
    for dataset in datasets:
        m = store.measurements(dataset, elements=[element, "pH"])
        ph = m[m["element"] == "pH"].drop_duplicates("sample_index").set_index(
            "sample_index")["value"]
        m = m[(m["element"] == element) & m["digestion"].isin(TOTAL) & m["value"].notna()]
        if m.empty:
            continue
        parts.append(m.assign(ph=m["sample_index"].map(ph).astype(float)))
    f = pd.concat(parts, ignore_index=True)
    f["cell"] = get_grid("global").cell_keys(f["longitude"].to_numpy(float),
                                              f["latitude"].to_numpy(float), level_m)
    f["country"] = f["country"].astype(str)
    out: pd.DataFrame = f[["dataset_id", "version", "sample_id", "longitude", "latitude",
                           "country", "value", "censored", "cell", "ph"]].reset_index(drop=True)
    out.attrs.update(element=element, medium="topsoil", method="total", unit="mg/kg")
    return out


def published_limit(data_dir: Path, element: str, ph: np.ndarray, *, land_use: str = "other",
                    gb36600_class: str = "class1", assume_ph: float | None = None
                    ) -> np.ndarray:
    """Each sample's limit, straight from the published tables: GB 15618-2018 by pH band
    (the lowest band value without pH), else GB 36600-2018 screening (no pH)."""
    gb = pd.read_csv(data_dir / "standards" / "gb15618_2018_screening.csv")
    rows = gb[(gb["element"] == element) & gb["land_use"].isin([land_use, "all"])]
    if rows.empty:
        gb2 = pd.read_csv(data_dir / "standards" / "gb36600_2018_construction.csv")
        value = gb2.loc[gb2["element"] == element, f"screening_{gb36600_class}"].item()
        return np.full(len(ph), float(value))
    lim = [float(rows.iloc[0][b]) for b in BANDS]
    if assume_ph is not None:
        ph = np.where(np.isnan(ph), assume_ph, ph)
    out = np.full(len(ph), min(lim))  # no pH: the most protective value
    out[ph > 7.5] = lim[3]
    out[(ph > 6.5) & (ph <= 7.5)] = lim[2]
    out[(ph > 5.5) & (ph <= 6.5)] = lim[1]
    out[ph <= 5.5] = lim[0]
    return out


def expected_counts(frame: pd.DataFrame, limit: np.ndarray, by: str) -> pd.DataFrame:
    """n, above, not above, indeterminate and percentages per ``by``, with pandas."""
    d = frame.assign(limit=limit)
    over = d["value"] > d["limit"]
    d["above"] = over & ~d["censored"]
    d["indeterminate"] = over & d["censored"]
    d["not_above"] = ~over
    if by == "cell":
        d = d[d["cell"] != -1]
    g = d.groupby(by).agg(n=("value", "size"), n_above=("above", "sum"),
                          n_not_above=("not_above", "sum"),
                          n_indeterminate=("indeterminate", "sum"),
                          n_ph_measured=("ph", "count"))
    g["pct_above_determinate"] = 100 * g["n_above"] / (g["n_above"] + g["n_not_above"])
    g["pct_above_all"] = 100 * g["n_above"] / g["n"]
    return g


COUNT_COLUMNS = ["n", "n_above", "n_not_above", "n_indeterminate", "n_ph_measured"]


def assert_same(got: pd.DataFrame, want: pd.DataFrame, by: str) -> None:
    got = got.set_index(by).sort_index()
    want = want.sort_index()
    assert list(got.index) == list(want.index)
    for col in COUNT_COLUMNS:
        assert got[col].tolist() == want[col].astype(int).tolist(), col
    for col in ("pct_above_determinate", "pct_above_all"):
        np.testing.assert_allclose(got[col].to_numpy(float), want[col].to_numpy(float),
                                   rtol=1e-12, equal_nan=True)


@pytest.mark.parametrize("level_m", [40_000, 160_000])
@pytest.mark.parametrize("element", ["Cr", "Zn", "V", "Pb", "Cd", "As", "Ni", "Hg", "Sb", "Co"])
def test_topsoil_pool_equals_an_independent_count(grid_store: Store, data_dir: Path,
                                                  element: str, level_m: int) -> None:
    frame = pooled(grid_store, TOPSOIL, element, level_m)
    ex = exceedance(frame)
    limit = published_limit(data_dir, element, frame["ph"].to_numpy(float))
    assert_same(ex.cells, expected_counts(frame, limit, "cell"), "cell")
    assert_same(ex.countries, expected_counts(frame, limit, "country"), "country")
    assert ex.world["n"].item() == len(frame)
    assert ex.cells["n"].sum() == (frame["cell"] != -1).sum()
    assert ex.countries["n_above"].sum() == ex.world["n_above"].item()
    assert (ex.cells["cell_id"] == get_grid("global").key_to_id(ex.cells["cell"])).all()


def test_the_topsoil_pool_holds_both_surveys(grid_store: Store) -> None:
    frame = pooled(grid_store, TOPSOIL, "Zn", 40_000)
    assert set(frame["dataset_id"]) == set(TOPSOIL)
    assert frame["ph"].isna().all()  # neither survey measured pH
    ex = exceedance(frame)
    assert {"US", "DE", "FR"} <= set(ex.countries["country"])
    assert (ex.countries["n_ph_missing"] == ex.countries["n"]).all()
    assert "most protective" in ex.world["ph_assumption"].item()
    assert any("pH missing for" in n for n in ex.notes)


@pytest.mark.parametrize("land_use", ["other", "paddy"])
@pytest.mark.parametrize("element", ["As", "Cr", "Ni", "Zn", "Hg", "Co", "Sb"])
def test_kola_soil_ph_chooses_the_band(grid_store: Store, data_dir: Path, element: str,
                                       land_use: str) -> None:
    frame = pooled(grid_store, KOLA, element, 40_000)
    ex = exceedance(frame, land_use={"gb15618-2018": land_use})
    ph = frame["ph"].to_numpy(float)
    assert np.isfinite(ph).sum() > 500  # the survey's own pH
    limit = published_limit(data_dir, element, ph, land_use=land_use)
    np.testing.assert_array_equal(ex.samples["limit"].to_numpy(float), limit)
    assert_same(ex.cells, expected_counts(frame, limit, "cell"), "cell")
    assert_same(ex.countries, expected_counts(frame, limit, "country"), "country")
    assert set(ex.countries["country"]) == {"FI", "NO", "RU"}


def test_kola_mercury_is_mostly_indeterminate_for_paddy(grid_store: Store, data_dir: Path) -> None:
    # INAA Hg has a detection limit of 1 mg/kg; the paddy screening values are 0.5-1.0
    frame = pooled(grid_store, KOLA, "Hg", 40_000)
    ex = exceedance(frame, land_use="paddy")
    limit = published_limit(data_dir, "Hg", frame["ph"].to_numpy(float), land_use="paddy")
    undecided = int((frame["censored"] & (frame["value"] > limit)).sum())
    assert undecided > 500
    assert ex.world["n_indeterminate"].item() == undecided
    w = ex.world.iloc[0]
    assert w["n_above"] + w["n_not_above"] + w["n_indeterminate"] == w["n"]
    assert w["pct_above_all"] < w["pct_above_determinate"]
    assert any("indeterminate" in n for n in ex.notes)


@pytest.mark.parametrize("assume_ph", [5.0, 7.0, 8.0])
def test_an_assumed_ph_for_samples_without_one(grid_store: Store, data_dir: Path,
                                               assume_ph: float) -> None:
    frame = pooled(grid_store, KOLA, "Ni", 40_000)
    frame.loc[frame.index % 3 == 0, "ph"] = np.nan  # a third without pH
    ex = exceedance(frame, assume_ph=assume_ph)
    limit = published_limit(data_dir, "Ni", frame["ph"].to_numpy(float), assume_ph=assume_ph)
    assert_same(ex.countries, expected_counts(frame, limit, "country"), "country")
    assert f"assumed pH {assume_ph:g}" in ex.world["ph_assumption"].item()
    assert ex.world["n_ph_missing"].item() == int(frame["ph"].isna().sum())


@pytest.mark.parametrize(
    ("element", "standard_file"),
    [("Sb", "gb36600_2018_construction.csv"), ("Co", "gb36600_2018_construction.csv"),
     ("V", "gb36600_2018_construction.csv"), ("Pb", "gb15618_2018_screening.csv"),
     ("Cd", "gb15618_2018_screening.csv")])
def test_every_output_says_which_standard(grid_store: Store, element: str,
                                          standard_file: str) -> None:
    ex = exceedance(pooled(grid_store, TOPSOIL, element, 160_000))
    gb36600 = standard_file.startswith("gb36600")
    for table in (ex.cells, ex.countries, ex.world):
        assert (table["standard"] == ("gb36600-2018" if gb36600 else "gb15618-2018")).all()
        basis = str(table["basis"].iloc[0])
        assert basis.startswith(f"{element}: ")
        if gb36600:
            assert f"GB 15618-2018 lists no {element}" in basis
            assert "GB 36600-2018 first-class" in basis
            assert (table["land_use"] == "class1").all()
            assert (table["ph_assumption"].astype(str).str.startswith("not used")).all()
        assert (table["citation"] == ex.standard.citation).all()


@pytest.mark.parametrize("level", ["target", "intervention"])
def test_another_standard_by_id(grid_store: Store, data_dir: Path, level: str) -> None:
    frame = pooled(grid_store, TOPSOIL, "Zn", 80_000)
    ex = exceedance(frame, standard="dutch-2000", level=level)
    dutch = pd.read_csv(data_dir / "standards" / "dutch_2000_target_intervention.csv")
    limit = np.full(len(frame), float(dutch.loc[dutch["element"] == "Zn", level].item()))
    assert_same(ex.cells, expected_counts(frame, limit, "cell"), "cell")
    assert (ex.world["standard"] == "dutch-2000").all()


def _hand_frame(values: list[float], censored: list[bool], ph: list[float],
                cells: Any, countries: list[str]) -> pd.DataFrame:
    f = pd.DataFrame({"dataset_id": "hand", "version": 1,
                      "sample_id": [f"s{i}" for i in range(len(values))],
                      "longitude": 0.0, "latitude": 0.0, "country": countries,
                      "value": values, "censored": censored, "cell": cells, "ph": ph})
    f.attrs.update(element="Cd", medium="topsoil", method="total", unit="mg/kg")
    return f


def test_censored_values_by_hand() -> None:
    g = get_grid("global")
    a, b = g.cell_keys([10.0, 20.0], [50.0, 50.0], 40_000).tolist()
    # Cd, land use other: limit 0.3 at pH <= 7.5, 0.6 above, 0.3 without pH
    f = _hand_frame(
        values=[0.2, 0.5, 0.5, 0.2, 0.5, 0.5, 0.7],
        censored=[True, True, False, False, True, False, False],
        ph=[6.0, 6.0, 6.0, np.nan, 8.0, np.nan, 8.0],
        cells=[a, a, a, b, b, b, -1], countries=["DE", "DE", "DE", "PL", "PL", "PL", "PL"])
    ex = exceedance(f)
    # s0 <0.2 with limit 0.3: not above; s1 <0.5 with limit 0.3: indeterminate; s2 0.5 > 0.3
    # s3 0.2 <= 0.3 (no pH: 0.3); s4 <0.5 with limit 0.6: not above; s5 0.5 > 0.3 (no pH)
    # s6 0.7 > 0.6, off the grid
    assert ex.samples["state"].tolist() == [0, -1, 1, 0, 0, 1, 1]
    cells = ex.cells.set_index("cell")
    assert cells.loc[a, ["n", "n_above", "n_not_above", "n_indeterminate"]].tolist() == [
        3, 1, 1, 1]
    assert cells.loc[a, "pct_above_determinate"] == pytest.approx(100 * 1 / 2)
    assert cells.loc[a, "pct_above_all"] == pytest.approx(100 * 1 / 3)
    assert cells.loc[b, ["n", "n_above", "n_not_above", "n_indeterminate"]].tolist() == [
        3, 1, 2, 0]
    assert (cells.loc[b, "limit_min"], cells.loc[b, "limit_max"]) == (0.3, 0.6)
    assert cells.loc[b, "n_ph_missing"] == 2
    pl = ex.countries.set_index("country").loc["PL"]
    assert (pl["n"], pl["n_above"]) == (4, 2)  # the off-grid sample counts for its country
    assert any("off the grid" in n for n in ex.notes)


def test_indeterminate_everywhere_leaves_the_percentage_undefined() -> None:
    a = get_grid("global").cell_keys([10.0], [50.0], 40_000).item()
    ex = exceedance(_hand_frame([1.0, 1.0], [True, True], [np.nan, np.nan], [a, a],
                                ["DE", "DE"]))
    row = ex.cells.iloc[0]
    assert (row["n"], row["n_indeterminate"], row["pct_above_all"]) == (2, 2, 0.0)
    assert np.isnan(row["pct_above_determinate"])


def test_units_are_converted_to_mg_per_kg() -> None:
    a = get_grid("global").cell_keys([10.0], [50.0], 40_000).item()
    f = _hand_frame([200.0, 400.0], [False, False], [6.0, 6.0], [a, a], ["DE", "DE"])
    f.attrs["unit"] = "µg/kg"  # 0.2 and 0.4 mg/kg against 0.3 mg/kg
    ex = exceedance(f)
    assert ex.samples["value"].tolist() == pytest.approx([0.2, 0.4])
    assert ex.world["n_above"].item() == 1


def test_any_toxic_metal_equals_an_independent_count(grid_store: Store, data_dir: Path) -> None:
    elements = ["Cr", "Zn", "V", "Pb", "Cd", "As", "Ni", "Sb", "Co"]
    frames = [pooled(grid_store, TOPSOIL, el, 40_000) for el in elements]
    got = any_exceedance(frames)
    flags = []
    for el, f in zip(elements, frames, strict=True):
        limit = published_limit(data_dir, el, f["ph"].to_numpy(float))
        over = f["value"] > limit
        flags.append(f.assign(above=over & ~f["censored"], undecided=over & f["censored"],
                              one=1)[["dataset_id", "sample_id", "cell", "country", "above",
                                      "undecided", "one"]])
    per = pd.concat(flags).groupby(["dataset_id", "sample_id"]).agg(
        cell=("cell", "first"), country=("country", "first"), above=("above", "any"),
        undecided=("undecided", "any"), k=("one", "sum"))
    per["indeterminate"] = ~per["above"] & per["undecided"]
    per["not_above"] = ~per["above"] & ~per["undecided"]
    per["all"] = per["k"] == len(elements)
    for by, table in (("cell", got.cells), ("country", got.countries)):
        want = per.groupby(by).agg(n=("above", "size"), n_above_any=("above", "sum"),
                                   n_not_above=("not_above", "sum"),
                                   n_indeterminate=("indeterminate", "sum"),
                                   n_all_elements=("all", "sum"))
        t = table.set_index(by).sort_index()
        assert list(t.index) == list(want.index)
        for col in want.columns:
            assert t[col].tolist() == want[col].astype(int).tolist(), (by, col)
        np.testing.assert_allclose(
            t["pct_above_any_all"], 100 * want["n_above_any"] / want["n"], rtol=1e-12)
    gemas = per.loc["gemas"]
    assert (gemas["k"] == 3).all()  # GEMAS has Cr, Zn and V only: judged on those
    assert got.world["n"].item() == len(per)
    assert any("not analysed for every element" in n for n in got.notes)
    for el in elements:
        assert got.world[f"n_above_{el}"].item() == got.per_element[el].world["n_above"].item()
    basis = str(got.world["basis"].item())
    assert all(f"{el}: " in basis for el in elements)


def test_any_needs_one_level() -> None:
    g = get_grid("global")
    f1 = _hand_frame([0.1], [False], [6.0], g.cell_keys([10.0], [50.0], 40_000), ["DE"])
    f2 = _hand_frame([10.0], [False], [6.0], g.cell_keys([10.0], [50.0], 160_000), ["DE"])
    f2.attrs["element"] = "Pb"
    with pytest.raises(StatisticsError, match="different cells"):
        any_exceedance([f1, f2])
    with pytest.raises(StatisticsError, match="twice"):
        any_exceedance([f1, f1])


def test_the_default_table() -> None:
    assert TOXIC_METALS == ("Cd", "Hg", "As", "Pb", "Cr", "Zn", "Ni", "Sb", "Co", "V")
    assert {DEFAULT_CRITERIA[e].standard for e in ("Sb", "Co", "V")} == {"gb36600-2018"}
    assert {DEFAULT_CRITERIA[e].land_use for e in ("Sb", "Co", "V")} == {"class1"}
    t = with_criterion("Cu", Criterion("gb15618-2018", "orchard"))
    assert t["Cu"].land_use == "orchard"
    assert "Cu" not in DEFAULT_CRITERIA


@pytest.mark.parametrize(
    ("element", "options", "match"),
    [("Cu", {}, "no criterion for Cu"),
     ("Sb", {"standard": "gb15618-2018"}, "sets no screening value for Sb"),
     ("Cd", {"land_use": "forest"}, "unknown land use"),
     ("Cd", {"level": "guideline"}, "no level")])
def test_requests_a_standard_cannot_answer(element: str, options: dict[str, Any],
                                           match: str) -> None:
    a = get_grid("global").cell_keys([10.0], [50.0], 40_000).item()
    f = _hand_frame([1.0], [False], [6.0], [a], ["DE"])
    f.attrs["element"] = element
    with pytest.raises(StandardError, match=match):
        exceedance(f, **options)


def test_a_frame_without_the_pooled_columns() -> None:
    with pytest.raises(StatisticsError, match="cell"):
        exceedance(pd.DataFrame({"dataset_id": ["d"], "sample_id": ["a"], "country": ["DE"],
                                 "value": [1.0], "censored": [False]}), element="Cd")
