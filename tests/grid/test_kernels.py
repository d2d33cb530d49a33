"""The compiled grid kernels against independent implementations.

Three references, on real surveys grouped by real grid cells and on edge cases:

* the definitions, cell by cell in plain Python: type-7 quantiles ``a + (b - a) * frac``
  of the sorted values, the MAD as the median of the sorted absolute deviations, log
  moments from exactly rounded sums (``math.fsum``). Order statistics must be equal to
  the bit, log moments within 1e-13;
* numpy and scipy (``np.quantile(method="linear")``,
  ``scipy.stats.median_abs_deviation``, ``scipy.stats.gmean``), which round differently
  (numpy interpolates from the upper neighbour above the midpoint): equal within 1e-12;
* the grid keys of :func:`chemearth.grid.tables._level_cells`, derived by integer
  division from the finest level, against keys computed from the coordinates.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyproj
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from chemearth.grid.aggregate import PERCENTILES, STATISTICS, SortedValues, cell_stats
from chemearth.grid.geometry import EASE_X, EASE_Y, get_grid
from chemearth.grid.kernels import _group
from chemearth.grid.levels import LEVELS
from chemearth.grid.tables import _level_cells

ORDER = ["n", "n_censored", "dl_max", "min", *PERCENTILES.values(), "max", "mad"]
Sample = tuple[np.ndarray, np.ndarray, np.ndarray]  # cells, values, censored

DATA = Path(
    os.environ.get("CHEMEARTH_DATA") or Path(__file__).resolve().parents[3] / "shared" / "data"
)


def _type7(s: np.ndarray, q: float) -> float:
    """Hyndman & Fan type 7 of ascending ``s``, as chemearth defines it."""
    h = (len(s) - 1) * q
    lo = math.floor(h)
    a, b = float(s[lo]), float(s[min(lo + 1, len(s) - 1)])
    return a + (b - a) * (h - lo)


def _definitions(cells: np.ndarray, values: np.ndarray, censored: np.ndarray) -> pd.DataFrame:
    """Every statistic by its definition, one cell at a time."""
    ok = np.isfinite(values)
    cells, values, censored = cells[ok], values[ok], censored[ok]
    rows = []
    for c in np.unique(cells):
        v, cen = values[cells == c], censored[cells == c]
        s = np.sort(v)
        row: dict[str, float] = {"cell": c, "n": len(s), "n_censored": int(cen.sum())}
        row["dl_max"] = float(v[cen].max()) if cen.any() else math.nan
        row["min"], row["max"] = float(s[0]), float(s[-1])
        for p, name in PERCENTILES.items():
            row[name] = _type7(s, p / 100)
        dev = np.sort(np.abs(s - row["median"]))
        k = (len(dev) - 1) // 2
        row["mad"] = float(dev[k]) if len(dev) % 2 else (float(dev[k]) + float(dev[k + 1])) / 2
        logs = [math.log10(x) for x in s if x > 0]
        mean = math.fsum(logs) / len(logs) if logs else math.nan
        row["gmean"] = 10.0**mean if logs else math.nan
        sq = math.fsum((x - mean) ** 2 for x in logs)
        row["log10_sd"] = math.sqrt(sq / (len(logs) - 1)) if len(logs) > 1 else math.nan
        rows.append(row)
    return pd.DataFrame(rows, columns=["cell", *STATISTICS])


def _numpy_scipy(cells: np.ndarray, values: np.ndarray, censored: np.ndarray) -> pd.DataFrame:
    """The same statistics from numpy and scipy, one cell at a time."""
    ok = np.isfinite(values)
    cells, values, censored = cells[ok], values[ok], censored[ok]
    rows = []
    for c in np.unique(cells):
        v, cen = values[cells == c], censored[cells == c]
        qs = np.quantile(v, [p / 100 for p in PERCENTILES], method="linear")
        pos = v[v > 0]
        rows.append(
            {"cell": c, "n": len(v), "n_censored": int(cen.sum()),
             "dl_max": v[cen].max() if cen.any() else np.nan, "min": v.min(),
             **dict(zip(PERCENTILES.values(), qs, strict=True)), "max": v.max(),
             "mad": scipy.stats.median_abs_deviation(v, scale=1.0),
             "gmean": scipy.stats.gmean(pos) if len(pos) else np.nan,
             "log10_sd": np.std(np.log10(pos), ddof=1) if len(pos) > 1 else np.nan}
        )  # fmt: skip
    return pd.DataFrame(rows, columns=["cell", *STATISTICS])


# ------------------------------------------------------------------------ real surveys


@cache
def _ds801(column: str, level: int = 160_000) -> Sample:
    """DS-801 topsoils by global cell; ``<DL`` values at their limit, censored."""
    df = pd.read_csv(DATA / "usgs_ds801" / "ds801_top5_raw.csv", dtype=str)
    text = df[column].where(df[column] != "N.S.").str.strip()
    censored = text.str.startswith("<").fillna(False).to_numpy(bool)
    values = pd.to_numeric(text.str.lstrip("<"), errors="coerce").to_numpy(float)  # NaN kept
    lon, lat = (pd.to_numeric(df[c]).to_numpy(float) for c in ("Longitude", "Latitude"))
    return get_grid("global").cell_keys(lon, lat, level), values, censored


@cache
def _kola(column: str, level: int) -> Sample:
    """Kola C-horizon by European cell; zeros are below the detection limit: at the limit."""
    df = pd.read_csv(DATA / "kola" / "chorizonDL.csv")
    limits = pd.read_csv(DATA / "kola" / "chorizonDL_detection_limits.csv")
    dl = float(limits.set_index("column").loc[column, "detection_limit"])
    v = df[column].to_numpy(float)
    censored = v == 0
    values = np.where(censored, dl, v)
    to_ll = pyproj.Transformer.from_crs("EPSG:32635", "EPSG:4326", always_xy=True)
    lon, lat = to_ll.transform(df["XCOO"].to_numpy(float), df["YCOO"].to_numpy(float))
    return get_grid("europe").cell_keys(lon, lat, level), values, censored


@cache
def _gemas(column: str) -> Sample:
    """GEMAS agricultural soils by 80 km European cell (half-DL substituted, no flags)."""
    df = pd.read_csv(DATA / "gemas" / "gemas.csv")
    lon, lat = df["longitude"].to_numpy(float), df["latitude"].to_numpy(float)
    values = df[column].to_numpy(float)
    return get_grid("europe").cell_keys(lon, lat, 80_000), values, np.zeros(len(values), bool)


REAL: dict[str, Callable[[], Sample]] = {
    "ds801-As": lambda: _ds801("Top5_As"),
    "ds801-Hg": lambda: _ds801("Top5_Hg"),
    "ds801-Se": lambda: _ds801("Top5_Se"),
    "ds801-Cu": lambda: _ds801("Top5_Cu"),
    "ds801-Cu-20km": lambda: _ds801("Top5_Cu", 20_000),
    "kola-As-20km": lambda: _kola("As", 20_000),
    "kola-Bi-40km": lambda: _kola("Bi", 40_000),
    "kola-Ag-10km": lambda: _kola("Ag", 10_000),
    "kola-pH-40km": lambda: _kola("pH", 40_000),
    "gemas-Cr": lambda: _gemas("Cr"),
    "gemas-Zn": lambda: _gemas("Zn"),
    "gemas-LOI": lambda: _gemas("LOI"),
}


def _real(name: str) -> Sample:
    if not (DATA / "README.md").is_file():
        pytest.skip(f"real survey data not found at {DATA}")
    cells, values, censored = REAL[name]()
    on = cells >= 0
    return cells[on], values[on], censored[on]


def _assert_definitions(got: pd.DataFrame, ref: pd.DataFrame) -> None:
    """Order statistics equal to the bit; log moments within 1e-13 (relative)."""
    assert got["cell"].tolist() == ref["cell"].tolist()
    for name in ORDER:
        np.testing.assert_array_equal(
            got[name].to_numpy(float), ref[name].to_numpy(float), err_msg=name
        )
    for name in ("gmean", "log10_sd"):
        np.testing.assert_allclose(
            got[name].to_numpy(float),
            ref[name].to_numpy(float),
            rtol=1e-13,
            atol=1e-15,
            err_msg=name,
        )


@pytest.mark.parametrize("case", list(REAL))
def test_real_data_equal_the_definitions(case: str) -> None:
    cells, values, censored = _real(case)
    assert (np.bincount(pd.factorize(cells)[0]) > 1).any()  # cells of several samples
    _assert_definitions(cell_stats(cells, values, censored), _definitions(cells, values, censored))


@pytest.mark.parametrize("case", list(REAL))
def test_real_data_agree_with_numpy_and_scipy(case: str) -> None:
    cells, values, censored = _real(case)
    got = cell_stats(cells, values, censored)
    ref = _numpy_scipy(cells, values, censored)
    assert got["cell"].tolist() == ref["cell"].tolist()
    scale = np.nanmax(np.abs(values))
    for name in STATISTICS:
        atol = 1e-12 * scale if name in ORDER else 1e-15
        np.testing.assert_allclose(got[name], ref[name], rtol=1e-12, atol=atol, err_msg=name)


# -------------------------------------------------------------------------- edge cases

nan = math.nan
EDGES = {
    # name: (cells, values, censored, {column: expected per cell})
    "one sample": ([4], [100.0], [False],
                   {"n": [1], "median": [100.0], "p5": [100.0], "p98": [100.0], "mad": [0.0],
                    "gmean": [100.0], "log10_sd": [nan], "dl_max": [nan]}),
    "all censored": ([1, 1, 1], [0.5, 1.0, 0.5], [True, True, True],
                     {"n": [3], "n_censored": [3], "dl_max": [1.0], "median": [0.5],
                      "max": [1.0]}),
    "censored counted, not dropped": ([1, 1, 2], [0.25, 3.0, 0.25], [True, False, True],
                                      {"n": [2, 1], "n_censored": [1, 1],
                                       "dl_max": [0.25, 0.25], "min": [0.25, 0.25],
                                       "median": [1.625, 0.25]}),
    "ties": ([2, 2, 2, 2], [7.0, 7.0, 7.0, 7.0], [False, True, False, False],
             {"median": [7.0], "mad": [0.0], "log10_sd": [0.0], "p25": [7.0], "dl_max": [7.0]}),
    "even count MAD": ([0, 0, 0, 0], [1.0, 2.0, 4.0, 8.0], [False] * 4,
                       {"median": [3.0], "mad": [1.5], "p25": [1.75], "p75": [5.0]}),
    # (a + b) / 2 of the middle deviations, which here differs from a + (b - a) / 2
    "even count MAD, rounding": ([3] * 4, [-535.4, 1.1, 1.18, 396.0], [False] * 4,
                                 {"median": [1.1400000000000001], "mad": [197.45000000000002]}),
    "two samples": ([9, 9], [1.0, 3.0], [False, False],
                    {"median": [2.0], "mad": [1.0], "p5": [1.1], "gmean": [math.sqrt(3.0)]}),
    "NaN and inf left out": ([1, 1, 1, 1, 2], [1.0, nan, 3.0, math.inf, nan],
                             [False, True, False, True, True],
                             {"cell": [1], "n": [2], "n_censored": [0], "dl_max": [nan],
                              "max": [3.0]}),
    "non-positive values: out of the logs only": (
        [5, 5, 5, 6, 6], [-1.0, 0.0, 100.0, -2.0, 0.0], [False] * 5,
        {"n": [3, 2], "median": [0.0, -1.0], "min": [-1.0, -2.0], "gmean": [100.0, nan],
         "log10_sd": [nan, nan]}),
    "cells in key order, not input order": ([30, 10, 20, 10], [4.0, 1.0, 2.0, 3.0], [False] * 4,
                                            {"cell": [10, 20, 30], "n": [2, 1, 1],
                                             "median": [2.0, 2.0, 4.0]}),
    "no values": ([], [], [], {"cell": []}),
}  # fmt: skip


@pytest.mark.parametrize("case", list(EDGES))
def test_edge_cases(case: str) -> None:
    cells, values, censored, expected = EDGES[case]
    args = (np.array(cells, np.int64), np.array(values, float), np.array(censored, bool))
    got = cell_stats(*args)
    assert list(got.columns) == ["cell", *STATISTICS]
    assert got["n"].dtype == got["n_censored"].dtype == np.int64
    for name, want in expected.items():
        np.testing.assert_array_equal(
            got[name].to_numpy(float), np.array(want, float), err_msg=name
        )
    _assert_definitions(got, _definitions(*args))


@settings(max_examples=150, deadline=None)
@given(
    arrays(np.int64, st.integers(1, 60), elements=st.integers(0, 5)),
    st.integers(0, 2**32 - 1),
    st.integers(0, 3),
)
def test_any_values_equal_the_definitions(cells: np.ndarray, seed: int, digits: int) -> None:
    rng = np.random.default_rng(seed)
    n = len(cells)
    values = np.round(rng.lognormal(0, 2, n) - 0.2, digits)  # ties, zeros, negatives
    values[rng.random(n) < 0.05] = np.nan
    censored = rng.random(n) < 0.3
    _assert_definitions(cell_stats(cells, values, censored), _definitions(cells, values, censored))


# ------------------------------------------------------------- counting sort and lookups


def test_counting_sort_is_stable() -> None:
    """Values of a cell stay in input order: ascending input stays ascending per cell."""
    rng = np.random.default_rng(1)
    cells = rng.integers(0, 7, 500)
    values = np.sort(np.round(rng.random(500), 1))  # ascending, with ties
    marker = np.arange(500, dtype=np.float64)  # rides in the logs slot
    bounds, v, _, lg = _group(values, np.zeros(500, bool), marker, cells, np.empty(0, np.int64), 7)
    assert bounds.tolist() == [0, *np.cumsum(np.bincount(cells, minlength=7)).tolist()]
    for g in range(7):
        part = slice(bounds[g], bounds[g + 1])
        np.testing.assert_array_equal(lg[part], np.flatnonzero(cells == g))
        np.testing.assert_array_equal(v[part], values[cells == g])


def test_lookup_gives_the_coarse_cells() -> None:
    """Fine cells with a parent lookup equal the parent cells given directly."""
    cells, values, censored = _real("ds801-Cu-20km")
    ok = np.isfinite(values)
    fine_keys, fine = np.unique(cells[ok], return_inverse=True)
    coarse_keys, parent = np.unique(
        get_grid("global").parent(fine_keys, 160_000), return_inverse=True
    )
    assert len(coarse_keys) < len(fine_keys)
    ranked = SortedValues(values[ok], censored[ok])
    fine_cells = ranked.take(fine)
    via = ranked.grouped_stats(fine_cells, len(coarse_keys), parent)
    direct = ranked.grouped_stats(parent[fine_cells], len(coarse_keys))
    assert via.keys() == direct.keys()
    for name in via:
        np.testing.assert_array_equal(via[name], direct[name], err_msg=name)


@pytest.mark.parametrize("case", list(REAL))
@pytest.mark.parametrize("fan_in", [3, 10**9])
def test_merged_from_the_finer_level_equals_the_direct_path(case: str, fan_in: int) -> None:
    """A coarser level merged from the finer level's counts and log moments
    (:func:`chemearth.grid.kernels.nested_statistics`) equals the direct computation:
    order statistics and counts to the bit, log moments within 1e-13, on real data
    grouped by real cells, whose parents here are every ``fan_in`` of them in key order
    (or all in one)."""
    cells, values, censored = _real(case)
    ok = np.isfinite(values)
    fine_keys, fine = np.unique(cells[ok], return_inverse=True)
    coarse_keys, parent = np.unique(np.arange(len(fine_keys)) // fan_in, return_inverse=True)
    ranked = SortedValues(values[ok], censored[ok])
    fine_cells = ranked.take(fine)
    finer = ranked.grouped_stats(fine_cells, len(fine_keys))
    merged = ranked.grouped_stats(fine_cells, len(coarse_keys), parent, finer=finer)
    direct = ranked.grouped_stats(parent[fine_cells], len(coarse_keys))
    for name in ["group", *ORDER]:
        np.testing.assert_array_equal(merged[name], direct[name], err_msg=name)
    for name in ("gmean", "log10_sd"):
        np.testing.assert_allclose(merged[name], direct[name], rtol=1e-13, atol=1e-15,
                                   err_msg=name)


@settings(max_examples=150, deadline=None)
@given(
    arrays(np.int64, st.integers(1, 80), elements=st.integers(0, 11)),
    st.integers(0, 2**32 - 1),
    st.integers(0, 3),
)
def test_merged_levels_equal_the_definitions(cells: np.ndarray, seed: int, digits: int) -> None:
    """Any values (ties, zeros, negatives, censored) in fine cells 0..11 merged into
    parents ``cell // 4``: every statistic equals its definition on the parent cells."""
    rng = np.random.default_rng(seed)
    n = len(cells)
    values = np.round(rng.lognormal(0, 2, n) - 0.2, digits)
    censored = rng.random(n) < 0.3
    fine_keys, fine = np.unique(cells, return_inverse=True)
    coarse_keys, parent = np.unique(fine_keys // 4, return_inverse=True)
    ranked = SortedValues(values, censored)
    fine_cells = ranked.take(fine)
    finer = ranked.grouped_stats(fine_cells, len(fine_keys))
    merged = ranked.grouped_stats(fine_cells, len(coarse_keys), parent, finer=finer)
    got = pd.DataFrame({"cell": coarse_keys[merged["group"]]}
                       | {k: merged[k] for k in STATISTICS})
    _assert_definitions(got, _definitions(cells // 4, values, censored))


def test_merge_refuses_counts_that_do_not_match() -> None:
    ranked = SortedValues(np.array([1.0, 2.0, 3.0]), np.zeros(3, bool))
    fine_cells = ranked.take(np.array([0, 1, 1]))
    finer = ranked.grouped_stats(fine_cells, 2)
    finer["n"] = finer["n"] + 1
    with pytest.raises(ValueError, match="do not match"):
        ranked.grouped_stats(fine_cells, 1, np.array([0, 0]), finer=finer)


@pytest.mark.parametrize(
    ("cells", "lookup"),
    [([0, 3], None), ([0, -1], None), ([0, 2], [0, 1]), ([0, 1], [0, 5]), ([0, -1], [0, 1])],
)
def test_cell_index_out_of_range_is_refused(cells: list[int], lookup: list[int] | None) -> None:
    ranked = SortedValues(np.array([1.0, 2.0]), np.zeros(2, bool))
    table = None if lookup is None else np.array(lookup)
    with pytest.raises(IndexError, match="out of range"):
        ranked.grouped_stats(np.array(cells), 3, table)


@pytest.mark.parametrize(
    ("grid", "levels"),
    [
        ("global", LEVELS),
        ("europe", LEVELS),
        ("global", (160_000, 10_000, 4_000)),  # 10 km does not nest in 4 km
        ("europe", (20_000, 10_000)),
        ("global", (500,)),
    ],
)
def test_derived_keys_equal_keys_from_coordinates(grid: str, levels: tuple[int, ...]) -> None:
    g = get_grid(grid)
    rng = np.random.default_rng(3)
    w, e, s, n = g.bounds
    x = np.concatenate([rng.uniform(w, e, 20_000), [w, e, e, w, 0.0, -0.0, -1e-9, 1e-9]])
    y = np.concatenate([rng.uniform(s, n, 20_000), [s, n, s, n, 0.0, -0.0, 1e-9, -1e-9]])
    x[:2000] = rng.normal(0.0, 3_000.0, 2000) + (w + e) / 2  # dense: many samples per cell
    x[-30:-20], y[-30:-20] = [w - 1.0] * 5 + [np.nan] * 5, [s] * 5 + [0.0] * 5  # off grid
    if grid == "global":
        assert (e, n) == (EASE_X, EASE_Y)
    fine, found = _level_cells(g, levels, x, y)
    assert len(found) == len(levels)
    finest = int(np.argmin(levels))
    for level, cells in zip(levels, found, strict=True):
        want = g.cell_keys_xy(x, y, level)
        on = want >= 0
        np.testing.assert_array_equal(on, fine >= 0)
        np.testing.assert_array_equal(cells.keys, np.unique(want[on]))
        if cells.nested:
            got = cells.keys[cells.index[fine[on]]]
        else:
            assert not g.nests(levels[finest], level)
            got = cells.keys[cells.index[on]]
        np.testing.assert_array_equal(got, want[on], err_msg=str(level))
        assert cells.ids.to_pylist() == g.key_to_id(cells.keys).tolist()
