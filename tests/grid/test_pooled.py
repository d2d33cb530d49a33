"""Pooled layers over several surveys (:mod:`chemearth.grid.pooled`, :mod:`.pool_plan`).

Every expectation is computed here from plain store reads (``store.measurements`` and
``store.samples``), the grid's cell keys and pandas, never through the pooled module's own
sample reader (:func:`pooled_samples`): which datasets and columns enter each layer is
written out in tables below, from what the shipped descriptors say of the real surveys.

The pooled layers are built into copies of the session's demo store (never into the
shared session stores), once per module, on both grids at 160, 80, 40 and 10 km.
"""

from __future__ import annotations

import io
import shutil
import warnings
from collections.abc import Iterable
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from chemearth.errors import ChemearthWarning, NotFoundError, StoreError
from chemearth.grid.geometry import get_grid
from chemearth.grid.pool_plan import PoolSource, plan_layers
from chemearth.grid.pooled import (
    build_pooled,
    pooled_cells,
    pooled_contributors,
    pooled_layers,
    pooled_manifest,
    pooled_samples,
)
from chemearth.ingest.descriptor import load_descriptor
from chemearth.ingest.pipeline import ingest
from chemearth.ingest.shipped import shipped_descriptor
from chemearth.reference.pooling import pooling_rules
from chemearth.store import EmbeddedStore, open_store

GRIDS = ("global", "europe")
LEVELS = (160_000, 80_000, 40_000, 10_000)
ROOT = 160_000

#: Elements the module's main build offers (every survey of the demo store, all grids).
ELEMENTS = frozenset({"Cr", "Zn", "As", "Ba", "Ni", "Cd", "Cu", "Fe", "Cl", "LOI", "pH"})

#: Medium groups and method classes as the shipped rules define them, written out here.
GROUP_MEDIA = {
    "topsoil": ("topsoil",),
    "subsoil": ("c-horizon", "subsoil", "b-horizon"),
    "floodplain": ("floodplain sediment", "overbank sediment"),
    "stream-sediment": ("stream sediment",),
    "humus": ("humus",),
    "moss": ("moss",),
}


def _in_class(m: pd.DataFrame, cls: str) -> pd.Series:
    """Rows of a measurement frame whose column is of method class ``cls``."""
    dig = m["digestion"].astype(str)
    method = m["method"].astype(str)
    if cls == "total":
        return dig.isin(["total", "near-total"])
    if cls == "aqua-regia":
        return dig == "aqua-regia"
    if cls == "nitric-acid":
        return (dig == "partial") & method.str.contains("HNO3", regex=False)
    if cls == "loi":
        return (m["element"] == "LOI") & method.str.contains("loss on ignition", case=False)
    if cls == "ph-water":
        return (m["element"] == "pH") & method.str.contains("water", case=False)
    raise AssertionError(cls)


STAT_COLUMNS = ("dl_max", "min", "p5", "p10", "p25", "median", "p75", "p90", "p95", "p98",
                "max", "mad", "gmean", "log10_sd")
PERCENTILES = {"p5": 0.05, "p10": 0.10, "p25": 0.25, "median": 0.50, "p75": 0.75,
               "p90": 0.90, "p95": 0.95, "p98": 0.98}


# ---------------------------------------------------------------------- independent side


def layer_frame(store, group: str, cls: str, element: str,
                datasets: dict[str, int]) -> pd.DataFrame:
    """The samples of one pooled layer from ``store.measurements``: one column per dataset
    (asserted), the group's media, located samples."""
    frames = []
    for ds, version in datasets.items():
        m = store.measurements(ds, version, elements=[element])
        m = m[m["medium"].astype(str).isin(GROUP_MEDIA[group]) & _in_class(m, cls)]
        assert m["method"].astype(str).nunique() <= 1, (ds, element, set(m["method"]))
        m = m.dropna(subset=["longitude", "latitude", "value"])
        frames.append(pd.DataFrame({
            "dataset_id": ds,
            "longitude": m["longitude"].to_numpy(float),
            "latitude": m["latitude"].to_numpy(float),
            "value": m["value"].to_numpy(float),
            "censored": m["censored"].to_numpy(bool),
        }))
    return pd.concat(frames, ignore_index=True)


def keyed(frame: pd.DataFrame, grid: str, level: int) -> pd.DataFrame:
    """``frame`` with the cell key of each sample at ``level``, off-grid samples dropped."""
    keys = get_grid(grid).cell_keys(frame["longitude"].to_numpy(float),
                                    frame["latitude"].to_numpy(float), level)
    return frame.assign(cell=np.asarray(keys, dtype=np.int64))[np.asarray(keys) >= 0]


def independent_stats(f: pd.DataFrame) -> pd.DataFrame:
    """Cell statistics by pandas groupby (linear percentiles, censored values at their
    detection limit, unscaled MAD, geometric mean and log10 SD of the positive values)."""
    by = f.groupby("cell")["value"]
    out = pd.DataFrame({"n": by.size(), "n_censored": f.groupby("cell")["censored"].sum()})
    out["dl_max"] = f["value"].where(f["censored"]).groupby(f["cell"]).max()
    out["min"] = by.min()
    for name, q in PERCENTILES.items():
        out[name] = by.quantile(q, interpolation="linear")
    out["max"] = by.max()
    dev = (f["value"] - by.transform("median")).abs()
    out["mad"] = dev.groupby(f["cell"]).median()
    pos = f[f["value"] > 0]
    out["gmean"] = np.exp(np.log(pos["value"]).groupby(pos["cell"]).mean())
    out["log10_sd"] = np.log10(pos["value"]).groupby(pos["cell"]).std(ddof=1)
    out["n_censored"] = out["n_censored"].astype(np.int64)
    return out.sort_index()


def independent_contributors(f: pd.DataFrame) -> pd.DataFrame:
    g = f.groupby(["cell", "dataset_id"])
    return pd.DataFrame({"n": g.size(), "n_censored": g["censored"].sum().astype(np.int64)})


def assert_stats_equal(got: pd.DataFrame, want: pd.DataFrame, columns: Iterable[str] = STAT_COLUMNS,
                       what: str = "") -> None:
    got = got.set_index("cell").sort_index()
    assert got.index.tolist() == want.index.tolist(), f"{what}: cells differ"
    assert got["n"].tolist() == want["n"].tolist(), what
    assert got["n_censored"].tolist() == want["n_censored"].tolist(), what
    for c in columns:
        np.testing.assert_allclose(got[c].to_numpy(float), want[c].to_numpy(float),
                                   rtol=1e-10, atol=1e-12, equal_nan=True,
                                   err_msg=f"{what}: {c}")


def cells_of(store, scope: str, element: str, grid: str, group: str, cls: str,
             level: int | None = None) -> pd.DataFrame:
    return pooled_cells(store, element, scope=scope, grid=grid, level=level, medium=group,
                        method=cls)


def roots(grid: str, keys: np.ndarray) -> np.ndarray:
    """The 160 km cell holding each cell key (of any level)."""
    g = get_grid(grid)
    keys = np.asarray(keys, dtype=np.int64)
    out = keys.copy()
    finer = g.level_of(keys) != ROOT
    if finer.any():
        out[finer] = g.parent(keys[finer], level_m=ROOT)
    return out


# ---------------------------------------------------------------------- fixtures


def _copy_demo(demo_store, tmp_path_factory: pytest.TempPathFactory, name: str):
    home = tmp_path_factory.mktemp(name) / "store"
    shutil.copytree(demo_store.store.home, home)
    return open_store(home)


def _sources(store, elements: frozenset[str] | None) -> list[PoolSource]:
    """Every dataset of ``store`` (latest version), offering ``elements``."""
    return [PoolSource(r.dataset_id, int(r.version), elements)
            for r in store.datasets().itertuples()]


@pytest.fixture(scope="module")
def full(demo_store, tmp_path_factory):
    """Every dataset of the demo store offered (qc, textbook and second files included: the
    plan leaves them out), :data:`ELEMENTS`, both grids, four levels; a fresh forced build."""
    store = _copy_demo(demo_store, tmp_path_factory, "pooled-full")
    report = build_pooled(store, _sources(store, ELEMENTS), grids=GRIDS, levels=LEVELS,
                          force=True)
    return SimpleNamespace(store=store, report=report)


# ---------------------------------------------------------------------- 1. statistics

#: Layers checked against the independent computation: (group, class, element, the
#: datasets that enter). Censored values: Zn (GEMAS, BSS, DS-801), As (BSS, DS-801,
#: DS-520), Cd (DS-801: 1054 of 4841), Ni (Kola INAA 523 of 606, BSS), Cd (Meuse).
ACCURACY = [
    ("topsoil", "total", "Cr", ("gemas", "bss-top", "usgs-ds801-top5", "usgs-ds520-colorado")),
    ("topsoil", "total", "Zn", ("gemas", "bss-top", "usgs-ds801-top5", "usgs-ds520-colorado")),
    ("topsoil", "total", "Ba", ("gemas", "bss-top", "usgs-ds801-top5", "usgs-ds520-colorado")),
    # GEMAS's XRF data have no As; DS-801 As by fusion (total) pools with 4-acid (near-total)
    ("topsoil", "total", "As", ("bss-top", "usgs-ds801-top5", "usgs-ds520-colorado")),
    ("topsoil", "total", "Cd", ("usgs-ds801-top5", "usgs-ds520-colorado")),
    ("topsoil", "nitric-acid", "Cr", ("jura",)),
    ("subsoil", "total", "Ni", ("kola-chorizon", "bss-bottom")),
    ("subsoil", "aqua-regia", "Ni", ("kola-chorizon",)),
    ("floodplain", "aqua-regia", "Cd", ("meuse",)),  # meuse-all: same samples, left out
    ("humus", "nitric-acid", "Cd", ("kola-humus",)),
    ("moss", "nitric-acid", "Zn", ("kola-moss",)),
    ("stream-sediment", "total", "Cu", ("usgs-ngs-il-in",)),
]


@pytest.fixture(scope="module")
def accuracy_frames(full):
    """The independent sample frame of each ACCURACY layer."""
    return {(g, c, e): layer_frame(full.store, g, c, e, dict.fromkeys(ds, 1))
            for g, c, e, ds in ACCURACY}


@pytest.mark.parametrize("grid", GRIDS)
@pytest.mark.parametrize(("group", "cls", "element", "datasets"), ACCURACY,
                         ids=[f"{g}-{c}-{e}" for g, c, e, _ in ACCURACY])
def test_pooled_statistics_equal_an_independent_computation(
        full, accuracy_frames, grid, group, cls, element, datasets) -> None:
    frame = accuracy_frames[(group, cls, element)]
    on_grid = {lev: keyed(frame, grid, lev) for lev in LEVELS}
    if len(on_grid[ROOT]) == 0:  # a US survey on the European grid: no layer at all
        with pytest.raises(NotFoundError):
            cells_of(full.store, "public", element, grid, group, cls)
        return
    everything = cells_of(full.store, "public", element, grid, group, cls)
    assert sorted(set(everything["level_m"])) == sorted(LEVELS)
    assert set(everything["grid"]) == {grid}
    assert (set(everything["medium"]), set(everything["method"]),
            set(everything["element"])) == ({group}, {cls}, {element})
    entry = next(e for e in pooled_manifest(full.store)["layers"]
                 if (e["grid"], e["medium"], e["method"], e["element"])
                 == (grid, group, cls, element))
    assert {m["dataset_id"] for m in entry["members"]} == set(datasets)
    for level in LEVELS:
        f = on_grid[level]
        want = independent_stats(f)
        got = cells_of(full.store, "public", element, grid, group, cls, level)
        assert_stats_equal(got, want, what=f"{grid} {level}")
        assert list(got["cell_id"]) == list(get_grid(grid).key_to_id(got["cell"].to_numpy()))
        assert entry["by_level"][str(level)] == {
            "cells": len(want), "cells_n3": int((want["n"] >= 3).sum()),
            "n": int(want["n"].sum())}
        # contributors: per dataset as counted here, and they add up to the cell's n
        contrib = pooled_contributors(full.store, element, grid=grid, level=level,
                                      medium=group, method=cls)
        got_c = contrib.set_index(["cell", "dataset_id"])[["n", "n_censored"]].sort_index()
        want_c = independent_contributors(f)
        pd.testing.assert_frame_equal(got_c, want_c, check_dtype=False)
        total = contrib.groupby("cell")["n"].sum().sort_index()
        assert total.tolist() == want["n"].tolist()
        assert (contrib["version"] == 1).all()
    # the pooled n of a cell is the sum of the datasets' own n in it
    n_sum = sum(len(keyed(frame[frame["dataset_id"] == ds], grid, ROOT)) for ds in datasets)
    assert entry["by_level"][str(ROOT)]["n"] == n_sum


def _part(store, scope: str, name: str, columns: list[str]) -> pd.DataFrame:
    data = store.read_part(f"pooled.{scope.replace(':', '=')}", name)
    assert data is not None, name
    return pq.read_table(io.BytesIO(data), columns=columns).to_pandas()


def test_contributors_add_up_in_every_layer_and_level(full) -> None:
    """Every stored layer, read as parts: per cell the contributors' n (and censored n)
    add up to the cell's, and the layer list counts the stored cells."""
    store = full.store
    entries = pooled_manifest(store)["layers"]
    assert len(entries) == len(full.report) > 50
    assert set(full.report["status"]) == {"built"}
    listed = pooled_layers(store).set_index(["grid", "medium", "method", "element", "level_m"])
    assert len(listed) == len(entries) * len(LEVELS)
    for e in entries:
        cells = _part(store, "public", e["part"] + ".cells", ["level_m", "cell", "n",
                                                              "n_censored"])
        contrib = _part(store, "public", e["part"] + ".contributors",
                        ["level_m", "cell", "dataset_id", "n", "n_censored"])
        sums = contrib.groupby(["level_m", "cell"])[["n", "n_censored"]].sum()
        own = cells.set_index(["level_m", "cell"])
        pd.testing.assert_frame_equal(sums.sort_index(), own.sort_index(), check_dtype=False)
        assert set(contrib["dataset_id"]) <= {m["dataset_id"] for m in e["members"]}
        for level in LEVELS:
            at = cells[cells["level_m"] == level]
            row = listed.loc[(e["grid"], e["medium"], e["method"], e["element"], level)]
            assert (row["cells"], row["n"], row["cells_n3"]) == (
                len(at), at["n"].sum(), (at["n"] >= 3).sum())


def test_only_surveys_of_their_own_samples_enter(full) -> None:
    excluded = pd.DataFrame(pooled_manifest(full.store)["excluded"])
    whole = excluded[(excluded["element"] == "") & (excluded["medium"] == "")]
    whole = whole.set_index("dataset_id")["reason"]
    expected = {
        "kola-chorizon-analytical-duplicates": "a qc dataset",
        "kola-chorizon-field-duplicates": "a qc dataset",
        "kola-chorizon-standard": "a qc dataset",
        "qc-crm": "a qc dataset",
        "qc-triplicates": "a qc dataset",
        "nada-arsenic": "a textbook dataset",
        "nada-cadmium": "a textbook dataset",
        "nada-cuzn": "a textbook dataset",
        "nada-sedpb": "a textbook dataset",
        "kola-chorizon-dl": "samples of kola-chorizon",
        "meuse-all": "samples of meuse",
        "usgs-ds801-top5-csv": "samples of usgs-ds801-top5",
    }
    assert set(whole.index) == set(expected)
    for ds, reason in expected.items():
        assert reason in whole[ds]
    members = {m["dataset_id"] for e in pooled_manifest(full.store)["layers"]
               for m in e["members"]}
    assert not members & set(expected)
    # samples of a medium in no group: the Illinois-Indiana survey's soils of unstated depth
    media = excluded[(excluded["element"] == "") & (excluded["medium"] != "")]
    assert sorted(zip(media["dataset_id"], media["medium"], strict=True)) == [
        ("usgs-ngs-il-in", "soil"), ("usgs-ngs-il-in", "unknown")]
    assert "soil of unstated depth" in media.loc[media["medium"] == "soil", "reason"].item()
    # columns of no class are named with the reason (Kola's EC of a water extract is no pH)
    no_class = excluded[excluded["reason"].str.startswith("method in no class")]
    assert set(no_class["element"]) <= ELEMENTS


# ---------------------------------------------------------------------- 2. Kola C vs BSS

#: Subsoil layers where Kola C horizon (INAA/XRF total, aqua regia) meets the Baltic Soil
#: Survey's bottom layer (XRF total) in Finland, Norway and Russia: which datasets pool.
SUBSOIL = [
    ("total", "Ni", {"kola-chorizon", "bss-bottom"}, "Kola INAA and BSS XRF: both total"),
    ("total", "Cr", {"kola-chorizon", "bss-bottom"}, "Kola INAA and BSS XRF: both total"),
    ("total", "Zn", {"kola-chorizon", "bss-bottom"}, "Kola INAA and BSS XRF: both total"),
    ("total", "As", {"kola-chorizon", "bss-bottom"}, "Kola INAA and BSS XRF: both total"),
    ("total", "Ba", {"kola-chorizon", "bss-bottom"}, "Kola INAA and BSS XRF: both total"),
    ("total", "Fe", {"kola-chorizon", "bss-bottom"}, "one of Kola's three total Fe columns"),
    ("total", "Cu", {"bss-bottom"}, "Kola C horizon has Cu by aqua regia only"),
    ("total", "Cl", {"bss-bottom"}, "Kola did not analyse Cl"),
    ("aqua-regia", "Ni", {"kola-chorizon"}, "BSS has no aqua regia analyses"),
    ("aqua-regia", "Cu", {"kola-chorizon"}, "BSS has no aqua regia analyses"),
    ("aqua-regia", "Cd", {"kola-chorizon"}, "BSS has no aqua regia analyses"),
    ("aqua-regia", "Fe", {"kola-chorizon"}, "BSS has no aqua regia analyses"),
    ("loi", "LOI", {"kola-chorizon", "bss-bottom"}, "loss on ignition in both"),
    ("ph-water", "pH", {"kola-chorizon"}, "BSS bottom layer has no pH"),
]


@pytest.fixture(scope="module")
def overlap(full) -> dict[tuple[str, int], np.ndarray]:
    """Cells holding both Kola C-horizon and BSS bottom-layer samples, per grid and level."""
    out = {}
    for grid in GRIDS:
        for level in LEVELS:
            sets = []
            for ds in ("kola-chorizon", "bss-bottom"):
                s = full.store.samples(ds)
                keys = get_grid(grid).cell_keys(s["longitude"].to_numpy(float),
                                                s["latitude"].to_numpy(float), level)
                sets.append(set(keys.tolist()) - {-1})
            out[(grid, level)] = np.array(sorted(sets[0] & sets[1]), dtype=np.int64)
    return out


@pytest.mark.parametrize("grid", GRIDS)
def test_kola_and_bss_overlap_in_finland_norway_and_russia(full, overlap, grid) -> None:
    """Kola's sites are in FI, NO and RU; BSS's sites next to them in FI and NO (at 160 km
    a European-grid cell on the border also holds a few Swedish BSS sites)."""
    for level in LEVELS:
        cells = overlap[(grid, level)]
        countries = {}
        for ds in ("kola-chorizon", "bss-bottom"):
            s = full.store.samples(ds)
            k = get_grid(grid).cell_keys(s["longitude"].to_numpy(float),
                                         s["latitude"].to_numpy(float), level)
            countries[ds] = set(s["country"].astype(str)[np.isin(k, cells)])
        if level == 10_000:
            continue  # sites 50 km apart seldom share a 10 km cell
        assert len(cells) >= 5, level
        assert countries["kola-chorizon"] == {"FI", "NO", "RU"}, level
        if level < ROOT:
            assert countries["bss-bottom"] == {"FI", "NO"}, level
        else:
            assert {"FI", "NO"} <= countries["bss-bottom"] <= {"FI", "NO", "SE"}


@pytest.mark.parametrize("grid", GRIDS)
@pytest.mark.parametrize(("cls", "element", "expected", "why"), SUBSOIL,
                         ids=[f"{c}-{e}" for c, e, _, _ in SUBSOIL])
def test_kola_c_horizon_and_bss_bottom_pool_where_their_classes_allow(
        full, overlap, grid, cls, element, expected, why) -> None:
    contrib = pooled_contributors(full.store, element, grid=grid, medium="subsoil",
                                  method=cls)
    assert set(contrib["dataset_id"]) == expected, why
    for level in LEVELS:
        at = contrib[contrib["level_m"] == level]
        per_cell = at.groupby("cell")["dataset_id"].agg(frozenset)
        both = per_cell.reindex(overlap[(grid, level)])
        # every sample has the element: where both surveys sampled, both enter, or only
        # the one whose class it is
        assert both.notna().all()
        assert all(v == frozenset(expected) for v in both), (level, why)
        if len(expected) == 1:
            assert all(v == frozenset(expected) for v in per_cell), (level, why)
    # the Kola B horizon never enters a subsoil layer the C horizon is in
    assert "kola-bhorizon" not in set(contrib["dataset_id"])


def _classes_of(store, ds: str) -> set[tuple[str, str]]:
    m = store.measurement_columns(ds)
    m = m[m["element"].isin(ELEMENTS)]
    out = set()
    for cls in ("total", "aqua-regia", "loi", "ph-water"):
        out |= {(e, cls) for e in m[_in_class(m, cls)]["element"]}
    return out


def test_kola_b_horizon_is_left_out_where_the_c_horizon_has_the_element(full) -> None:
    """Same sites (Kola B and C horizon): the preferred C horizon enters, B is named."""
    excluded = pd.DataFrame(pooled_manifest(full.store)["excluded"])
    b = excluded[excluded["dataset_id"] == "kola-bhorizon"]
    b_has, c_has = _classes_of(full.store, "kola-bhorizon"), _classes_of(full.store,
                                                                         "kola-chorizon")
    assert b_has
    assert b_has <= c_has  # so B is left out of every layer it could enter
    same = b[b["reason"].str.contains("sampled at the same sites as kola-chorizon")]
    assert same["medium"].eq("subsoil").all()
    assert same["reason"].str.contains("c-horizon is preferred").all()
    assert sorted(set(same["element"])) == sorted({e for e, _ in b_has})
    assert len(same) == len(b_has)
    for e in pooled_manifest(full.store)["layers"]:
        assert "kola-bhorizon" not in {m["dataset_id"] for m in e["members"]}


def test_b_horizon_enters_where_the_c_horizon_lacks_the_element(full) -> None:
    """Offered Kola C horizon with Ni only, the B horizon's Cu (aqua regia) enters alone."""
    store = full.store
    sources = [PoolSource("kola-chorizon", 1, frozenset({"Ni"})),
               PoolSource("kola-bhorizon", 1, frozenset({"Ni", "Cu"}))]
    build_pooled(store, sources, scope="org:bhorizon", grids=("europe",), levels=(ROOT,))
    man = pooled_manifest(store, "org:bhorizon")
    members = {(e["method"], e["element"]): {m["dataset_id"] for m in e["members"]}
               for e in man["layers"]}
    assert members == {("aqua-regia", "Ni"): {"kola-chorizon"},
                       ("total", "Ni"): {"kola-chorizon"},
                       ("aqua-regia", "Cu"): {"kola-bhorizon"}}
    left = [(x["element"], x["reason"]) for x in man["excluded"]
            if x["dataset_id"] == "kola-bhorizon"]
    assert [e for e, _ in left] == ["Ni"]
    cu = cells_of(store, "org:bhorizon", "Cu", "europe", "subsoil", "aqua-regia", ROOT)
    f = keyed(layer_frame(store, "subsoil", "aqua-regia", "Cu", {"kola-bhorizon": 1}),
              "europe", ROOT)
    assert_stats_equal(cu, independent_stats(f))


@pytest.mark.parametrize(("k_b", "other_organisation", "b_enters"), [
    (1, False, False),  # public datasets: same sites found, B left out
    (1, True, False),  # whoever published them
    (3, False, False),  # B under disclosure control, compared within its organisation
    (3, True, True),  # ... but never with another organisation's dataset
])
def test_controlled_sites_are_compared_only_within_their_organisation(
        full, k_b, other_organisation, b_enters) -> None:
    store = full.store
    cat = store.datasets(all_versions=True)
    if other_organisation:
        cat = cat.assign(organisation=np.where(cat["dataset_id"] == "kola-bhorizon",
                                               "Another survey", cat["organisation"]))
    sources = [PoolSource("kola-chorizon", 1, frozenset({"Ni"})),
               PoolSource("kola-bhorizon", 1, frozenset({"Ni"}), k=k_b)]
    layers, excluded = plan_layers(store, sources, pooling_rules(), catalogue=cat)
    ar = next(p for p in layers if (p.medium, p.method, p.element)
              == ("subsoil", "aqua-regia", "Ni"))
    members = {m.dataset_id: m.k for m in ar.members}
    same = [x for x in excluded if "same sites" in x["reason"]]
    if b_enters:
        assert members == {"kola-chorizon": 1, "kola-bhorizon": k_b}
        assert same == []
    else:
        assert members == {"kola-chorizon": 1}
        assert [(x["dataset_id"], x["element"]) for x in same] == [("kola-bhorizon", "Ni")]


def test_the_column_with_most_measured_values_enters(full) -> None:
    """Kola C horizon has Fe and Ca by INAA, XRF oxide and XRF element (all total): the one
    with most values above the detection limit enters (ties: the first column)."""
    store = full.store
    cols = store.measurement_columns("kola-chorizon")
    m = store.measurements("kola-chorizon", elements=["Fe", "Ca"])
    layers, excluded = plan_layers(store, [PoolSource("kola-chorizon", 1,
                                                      frozenset({"Fe", "Ca"}))],
                                   pooling_rules())
    chosen = {}
    for element in ("Fe", "Ca"):
        mine = m[(m["element"] == element) & _in_class(m, "total")]
        measured = (~mine["censored"].astype(bool)).groupby(mine["method"].astype(str)).sum()
        order = cols[(cols["element"] == element) & cols["digestion"].isin(
            ["total", "near-total"])].sort_values("column_id")
        assert len(order) == 3
        methods = list(order["method"])
        best = max(methods, key=lambda meth: (measured[meth], -methods.index(meth)))
        chosen[element] = best
        plan = next(p for p in layers if (p.medium, p.method, p.element)
                    == ("subsoil", "total", element))
        assert [(x.dataset_id, x.method) for x in plan.members] == [("kola-chorizon", best)]
        left = [x for x in excluded if x["element"] == element
                and "second total column" in x["reason"]]
        assert sorted(x["method"] for x in left) == sorted(set(methods) - {best})
        assert all(best in x["reason"] for x in left)
    # the module's build made the same choice for Fe
    entry = next(e for e in pooled_manifest(store)["layers"] if (
        e["grid"], e["medium"], e["method"], e["element"]) == ("europe", "subsoil", "total",
                                                             "Fe"))
    assert [x["method"] for x in entry["members"]
            if x["dataset_id"] == "kola-chorizon"] == [chosen["Fe"]]


def test_an_equivalence_moves_a_column_and_a_rules_change_rebuilds(full, tmp_path) -> None:
    """Hg by aqua regia declared equivalent to total: Kola's aqua-regia Hg (no censored
    value) then beats its INAA Hg (601 of 606 below the limit) in the total layer."""
    from chemearth.reference.pooling import DEFAULT_RULES_FILE

    path = tmp_path / "rules.toml"
    path.write_text(DEFAULT_RULES_FILE.read_text(encoding="utf-8") + """
[[equivalences]]
element = "Hg"
from = "aqua-regia"
to = "total"
reason = "test"
""", encoding="utf-8")
    rules = pooling_rules(path)
    store = full.store
    sources = [PoolSource("kola-chorizon", 1, frozenset({"Hg", "Ni"}))]
    kw: dict = {"scope": "org:rules", "grids": ("europe",), "levels": (ROOT,)}
    r1 = build_pooled(store, sources, rules=rules, **kw)
    assert set(zip(r1["method"], r1["element"], strict=True)) == {
        ("total", "Hg"), ("total", "Ni"), ("aqua-regia", "Ni")}  # no aqua-regia Hg left
    man = pooled_manifest(store, "org:rules")
    assert man["rules_source"] == str(path)
    hg = next(e for e in man["layers"] if e["element"] == "Hg")
    assert [m["method"] for m in hg["members"]] == ["aqua regia extraction; cold-vapour AAS"]
    left = [x for x in man["excluded"] if x["element"] == "Hg"]
    assert [x["method"] for x in left] == ["INAA (instrumental neutron activation)"]
    got = cells_of(store, "org:rules", "Hg", "europe", "subsoil", "total", ROOT)
    m = store.measurements("kola-chorizon", elements=["Hg"])
    m = m[m["digestion"] == "aqua-regia"]
    f = keyed(pd.DataFrame({"dataset_id": "kola-chorizon", "longitude": m["longitude"],
                            "latitude": m["latitude"], "value": m["value"],
                            "censored": m["censored"].astype(bool)}), "europe", ROOT)
    assert_stats_equal(got, independent_stats(f))
    # the same rules again: nothing to do; other rules: every layer is built afresh
    r2 = build_pooled(store, sources, rules=rules, **kw)
    assert set(r2["status"]) == {"unchanged"}
    r3 = build_pooled(store, sources, **kw)
    assert set(zip(r3["method"], r3["element"], r3["status"], strict=True)) == {
        ("total", "Hg", "built"), ("total", "Ni", "built"), ("aqua-regia", "Ni", "built"),
        ("aqua-regia", "Hg", "built")}


# ---------------------------------------------------------------------- 3. incremental

#: Elements and datasets of the incremental builds (bss-top is added to these); their
#: layers are compared with the full build's.
INC_ELEMENTS = frozenset({"Zn", "As", "Cl", "LOI"})
INC_DATASETS = ("gemas", "usgs-ds801-top5", "usgs-ds520-colorado", "jura", "kola-chorizon",
                "bss-bottom", "meuse")


def _tables(store, scope: str = "public",
            elements: Iterable[str] | None = None) -> dict[tuple, tuple[pd.DataFrame, ...]]:
    """(cells, contributors) of every layer of a scope, by (grid, group, class, element)."""
    out = {}
    for e in pooled_manifest(store, scope)["layers"]:
        if elements is not None and e["element"] not in elements:
            continue
        key = (e["grid"], e["medium"], e["method"], e["element"])
        c = cells_of(store, scope, e["element"], e["grid"], e["medium"], e["method"])
        k = pooled_contributors(store, e["element"], scope=scope, grid=e["grid"],
                                medium=e["medium"], method=e["method"])
        out[key] = (c, k)
    return out


def _entries(store, scope: str = "public") -> dict[tuple, dict]:
    return {(e["grid"], e["medium"], e["method"], e["element"]): e
            for e in pooled_manifest(store, scope)["layers"]}


def _bss_top_v2(tmp: Path, data_dir: Path) -> Path:
    """bsstop.csv without every third sample and with Zn doubled: a new version."""
    lines = (data_dir / "bss" / "bsstop.csv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    zn = header.index("Zn_T")
    rows = []
    for i, line in enumerate(lines[1:]):
        if i % 3 == 0:
            continue
        cells = line.split(",")
        assert len(cells) == len(header)
        cells[zn] = repr(float(cells[zn]) * 2)
        rows.append(",".join(cells))
    path = tmp / "bsstop-v2.csv"
    path.write_text("\n".join([lines[0], *rows]) + "\n", encoding="utf-8")
    return path


def _roots_of(store, dataset: str, version: int) -> dict[str, np.ndarray]:
    s = store.samples(dataset, version)
    out = {}
    for grid in GRIDS:
        k = get_grid(grid).cell_keys(s["longitude"].to_numpy(float),
                                     s["latitude"].to_numpy(float), ROOT)
        out[grid] = np.unique(k[k >= 0])
    return out


@pytest.fixture(scope="module")
def incremental(demo_store, tmp_path_factory, data_dir, boundaries):
    """Build without bss-top; add it; replace it by a second version; remove it again.
    Each step's report, tables and manifest entries are kept."""
    store = _copy_demo(demo_store, tmp_path_factory, "pooled-incremental")
    base = [PoolSource(ds, 1, INC_ELEMENTS) for ds in INC_DATASETS]
    kw: dict = {"grids": GRIDS, "levels": LEVELS}
    out = SimpleNamespace(store=store, steps={})

    def step(name: str, sources: list[PoolSource]) -> None:
        report = build_pooled(store, sources, **kw)
        out.steps[name] = SimpleNamespace(report=report, tables=_tables(store),
                                          entries=_entries(store))

    step("first", base)
    step("add", [*base, PoolSource("bss-top", 1, INC_ELEMENTS)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ChemearthWarning)
        rep = ingest(store, load_descriptor(shipped_descriptor("bss-top")),
                     _bss_top_v2(tmp_path_factory.mktemp("bss-v2"), data_dir),
                     boundaries=boundaries)
    assert rep.version == 2
    step("replace", [*base, PoolSource("bss-top", 2, INC_ELEMENTS)])
    step("remove", base)
    v1, v2 = _roots_of(store, "bss-top", 1), _roots_of(store, "bss-top", 2)
    # the 160 km cells each step touches: those of the old and the new samples
    out.touched = {"add": v1, "replace": {g: np.union1d(v1[g], v2[g]) for g in GRIDS},
                   "remove": v2}
    out.previous = {"add": "first", "replace": "add", "remove": "replace"}
    return out


def _status(report: pd.DataFrame) -> dict[tuple, str]:
    return {(r.grid, r.medium, r.method, r.element): r.status for r in report.itertuples()}


#: Status of layers once bss-top is added, (global, europe).
ADDED = [
    ("topsoil", "total", "Zn", ("updated", "updated")),  # GEMAS, DS-801, DS-520 and BSS
    # GEMAS's XRF data have no As: on the European grid the layer is new
    ("topsoil", "total", "As", ("updated", "built")),
    ("topsoil", "loi", "LOI", ("updated", "updated")),  # GEMAS and BSS
    ("topsoil", "total", "Cl", ("built", "built")),  # BSS is the only topsoil survey with Cl
    ("subsoil", "total", "Zn", ("unchanged", "unchanged")),
    ("subsoil", "aqua-regia", "As", ("unchanged", "unchanged")),
    ("subsoil", "loi", "LOI", ("unchanged", "unchanged")),
    ("topsoil", "nitric-acid", "Zn", ("unchanged", "unchanged")),  # Jura: HNO3, not with XRF
    ("floodplain", "aqua-regia", "Zn", ("unchanged", "unchanged")),
]


def test_first_build_builds_every_layer(incremental) -> None:
    r = incremental.steps["first"].report
    assert len(r) > 20
    assert set(r["status"]) == {"built"}
    assert (r["recomputed"] == r["cells"]).all()


@pytest.mark.parametrize(("group", "cls", "element", "status"), ADDED,
                         ids=[f"{g}-{c}-{e}" for g, c, e, _ in ADDED])
def test_adding_a_dataset_recomputes_only_the_layers_it_enters(
        incremental, group, cls, element, status) -> None:
    r = incremental.steps["add"].report.set_index(["grid", "medium", "method", "element"])
    for grid, want in zip(GRIDS, status, strict=True):
        row = r.loc[(grid, group, cls, element)]
        assert row["status"] == want, grid
        if want == "updated":
            assert 0 < row["recomputed"] < row["cells"]
        elif want == "unchanged":
            assert row["recomputed"] == 0
        else:
            assert row["recomputed"] == row["cells"]


def test_every_other_layer_is_unchanged(incremental) -> None:
    first, add = incremental.steps["first"], incremental.steps["add"]
    changed = {(g, c, e) for g, c, e, s in ADDED if set(s) != {"unchanged"}}
    status = _status(add.report)
    for (grid, group, cls, element), st in status.items():
        if (group, cls, element) not in changed:
            assert st == "unchanged", (grid, group, cls, element)
    assert sum(st == "unchanged" for st in status.values()) > 10
    unchanged = add.report[add.report["status"] == "unchanged"]
    assert (unchanged["recomputed"] == 0).all()
    for row in unchanged.itertuples():
        key = (row.grid, row.medium, row.method, row.element)
        assert add.entries[key] == first.entries[key]
        for a, b in zip(first.tables[key], add.tables[key], strict=True):
            pd.testing.assert_frame_equal(a, b)


def _outside(tables: tuple[pd.DataFrame, ...], grid: str,
             touched: np.ndarray) -> list[pd.DataFrame]:
    return [t[~np.isin(roots(grid, t["cell"].to_numpy()), touched)].reset_index(drop=True)
            for t in tables]


@pytest.mark.parametrize("step", ["add", "replace", "remove"])
def test_cells_outside_the_touched_root_cells_stay_as_they_were(incremental, step) -> None:
    now = incremental.steps[step]
    before = incremental.steps[incremental.previous[step]]
    updated = now.report[now.report["status"] == "updated"]
    assert len(updated) >= 3
    kept = 0
    for row in updated.itertuples():
        key = (row.grid, row.medium, row.method, row.element)
        touched = incremental.touched[step][row.grid]
        old = _outside(before.tables[key], row.grid, touched)
        new = _outside(now.tables[key], row.grid, touched)
        for a, b in zip(old, new, strict=True):
            pd.testing.assert_frame_equal(a, b)
        # what was recomputed is exactly the cells in the touched roots
        assert row.recomputed == row.cells - len(old[0]), key
        assert row.cells == len(now.tables[key][0])
        assert not before.tables[key][0].equals(now.tables[key][0])
        kept += len(old[0])
    assert kept > 0
    assert updated["recomputed"].sum() < updated["cells"].sum()


def test_incremental_build_equals_a_fresh_full_build(incremental, full) -> None:
    """After adding bss-top, every layer is as the forced full build of the same sources."""
    add = incremental.steps["add"]
    entries = _entries(full.store)
    # the full build has these layers and more (humus, moss, ... of other surveys)
    assert set(add.tables) <= set(entries)
    assert {k for k in entries if k[1] == "topsoil" and k[3] in INC_ELEMENTS} <= set(add.tables)
    for key, (cells, contrib) in add.tables.items():
        fresh = pooled_cells(full.store, key[3], grid=key[0], medium=key[1], method=key[2])
        pd.testing.assert_frame_equal(cells, fresh, obj=str(key))
        fresh = pooled_contributors(full.store, key[3], grid=key[0], medium=key[1],
                                    method=key[2])
        pd.testing.assert_frame_equal(contrib, fresh, obj=str(key))
        assert add.entries[key] == entries[key]


@pytest.mark.parametrize("grid", GRIDS)
def test_replacing_a_dataset_gives_the_statistics_of_its_new_version(incremental,
                                                                     grid) -> None:
    store = incremental.store
    replace = incremental.steps["replace"]
    status = _status(replace.report)
    assert status[(grid, "topsoil", "total", "Zn")] == "updated"
    assert status[(grid, "topsoil", "total", "Cl")] == "updated"  # all its roots touched
    assert status[(grid, "subsoil", "total", "Zn")] == "unchanged"
    versions = {"gemas": 1, "bss-top": 2, "usgs-ds801-top5": 1, "usgs-ds520-colorado": 1}
    frame = layer_frame(store, "topsoil", "total", "Zn", versions)
    assert (frame["dataset_id"] == "bss-top").sum() == 512
    cells, contrib = replace.tables[(grid, "topsoil", "total", "Zn")]
    for level in LEVELS:
        f = keyed(frame, grid, level)
        assert_stats_equal(cells[cells["level_m"] == level], independent_stats(f),
                           what=f"{grid} {level}")
        at = contrib[contrib["level_m"] == level]
        pd.testing.assert_frame_equal(
            at.set_index(["cell", "dataset_id"])[["n", "n_censored"]].sort_index(),
            independent_contributors(f), check_dtype=False)
    assert set(contrib.loc[contrib["dataset_id"] == "bss-top", "version"]) == {2}
    members = replace.entries[(grid, "topsoil", "total", "Zn")]["members"]
    assert {(m["dataset_id"], m["version"]) for m in members} == set(versions.items())


def test_removing_a_dataset_restores_the_layers_without_it(incremental) -> None:
    first, remove = incremental.steps["first"], incremental.steps["remove"]
    status = _status(remove.report)
    for grid in GRIDS:
        assert status[(grid, "topsoil", "total", "Cl")] == "removed"
        assert status[(grid, "topsoil", "total", "Zn")] == "updated"
    assert status[("europe", "topsoil", "total", "As")] == "removed"  # BSS was its only one
    assert status[("global", "topsoil", "total", "As")] == "updated"
    assert set(remove.tables) == set(first.tables)
    for key, (cells, contrib) in remove.tables.items():
        pd.testing.assert_frame_equal(cells, first.tables[key][0], obj=str(key))
        pd.testing.assert_frame_equal(contrib, first.tables[key][1], obj=str(key))
    assert remove.entries == first.entries
    parts = incremental.store.list_parts("pooled.public")
    assert not [p for p in parts if "/topsoil/total/Cl/" in p]
    assert len(parts) == 2 * len(remove.entries)


# ---------------------------------------------------------------------- 4. sharing

K = 3


@pytest.fixture(scope="module")
def controlled(full):
    """GEMAS under disclosure control (k = 3) admitted in every other cell of its own at
    each level, with BSS top layer in full; Cr and Zn, both grids."""
    store = full.store
    gemas = store.samples("gemas")
    admitted: dict[tuple[str, int], np.ndarray] = {}
    for grid in GRIDS:
        for level in LEVELS:
            k = get_grid(grid).cell_keys(gemas["longitude"].to_numpy(float),
                                         gemas["latitude"].to_numpy(float), level)
            admitted[(grid, level)] = np.unique(k[k >= 0])[::2]
    calls: list[tuple] = []

    def admit(grid, element, medium, method, level_m, keys):
        calls.append((grid, element, medium, method, level_m))
        return np.isin(np.asarray(keys), admitted[(grid, level_m)])

    sources = [PoolSource("gemas", 1, frozenset({"Cr", "Zn"}), k=K, admit=admit),
               PoolSource("bss-top", 1, frozenset({"Cr", "Zn"}))]
    report = build_pooled(store, sources, scope="org:controlled", grids=GRIDS, levels=LEVELS)
    return SimpleNamespace(store=store, report=report, calls=calls, admitted=admitted)


def test_the_admission_rule_is_asked_per_grid_level_and_layer(controlled) -> None:
    assert set(controlled.calls) == {(g, e, "topsoil", "XRF (total)", lev)
                                     for g in GRIDS for e in ("Cr", "Zn") for lev in LEVELS}


@pytest.mark.parametrize("grid", GRIDS)
@pytest.mark.parametrize("element", ["Cr", "Zn"])
def test_a_controlled_source_enters_only_admitted_cells_and_hides_its_extremes(
        controlled, grid, element) -> None:
    store = controlled.store
    frame = layer_frame(store, "topsoil", "total", element, {"gemas": 1, "bss-top": 1})
    kept_pct = withheld_pct = mad_only = 0
    for level in LEVELS:
        f = keyed(frame, grid, level)
        gem = f["dataset_id"] == "gemas"
        f = f[~gem | np.isin(f["cell"], controlled.admitted[(grid, level)])]
        want = independent_stats(f)
        g = f[f["dataset_id"] == "gemas"]
        has = want.index.isin(g["cell"])
        assert has.any()
        assert (~has).any()
        got = cells_of(store, "org:controlled", element, grid, "topsoil", "total", level)
        # n, censored counts, geometric mean and log SD as on the admitted samples
        assert_stats_equal(got, want, columns=("gmean", "log10_sd"), what=f"{level}")
        got = got.set_index("cell").sort_index()
        for c in ("min", "max", "dl_max"):
            assert got.loc[has, c].isna().all(), c
            np.testing.assert_allclose(got.loc[~has, c], want.loc[~has, c], rtol=1e-10,
                                       equal_nan=True)
        # a percentile stays only with k + 1 of the controlled values below and above it
        for name in PERCENTILES:
            p = want[name].reindex(g["cell"]).to_numpy()
            below = pd.Series(g["value"].to_numpy() < p).groupby(g["cell"].to_numpy()).sum()
            above = pd.Series(g["value"].to_numpy() > p).groupby(g["cell"].to_numpy()).sum()
            ok = ((below >= K + 1) & (above >= K + 1)).reindex(want.index, fill_value=True)
            expect = want[name].where(ok)
            np.testing.assert_allclose(got[name], expect, rtol=1e-10, equal_nan=True,
                                       err_msg=f"{level} {name}")
            kept_pct += int((ok & has).sum())
            withheld_pct += int((~ok).sum())
            if name == "median":  # the MAD: and k + 1 distances from it below and above
                dev = np.abs(g["value"].to_numpy() - p)
                mad = want["mad"].reindex(g["cell"]).to_numpy()
                d_below = pd.Series(dev < mad).groupby(g["cell"].to_numpy()).sum()
                d_above = pd.Series(dev > mad).groupby(g["cell"].to_numpy()).sum()
                mad_ok = ok & ((d_below >= K + 1) & (d_above >= K + 1)).reindex(
                    want.index, fill_value=True)
                np.testing.assert_allclose(got["mad"], want["mad"].where(mad_ok), rtol=1e-10,
                                           equal_nan=True)
                mad_only += int((ok & ~mad_ok).sum())
        contrib = pooled_contributors(store, element, scope="org:controlled", grid=grid,
                                      level=level, medium="topsoil", method="total")
        mine = contrib[contrib["dataset_id"] == "gemas"]
        assert np.isin(mine["cell"], controlled.admitted[(grid, level)]).all()
        pd.testing.assert_frame_equal(
            contrib.set_index(["cell", "dataset_id"])[["n", "n_censored"]].sort_index(),
            independent_contributors(f), check_dtype=False)
    assert kept_pct > 0
    assert withheld_pct > 0
    assert mad_only > 0  # MADs withheld by the distance rule where the median is shown


def test_pooled_samples_are_the_layers_samples(full, controlled, accuracy_frames) -> None:
    """The samples behind a layer; ``full_only`` leaves out the controlled members."""
    want = keyed(accuracy_frames[("topsoil", "total", "Zn")], "europe", 40_000)
    got = pooled_samples(full.store, "Zn", grid="europe", level=40_000, medium="topsoil",
                         method="total")
    got = got[got["cell"] >= 0]
    cols = ["dataset_id", "longitude", "latitude", "value", "censored", "cell"]
    pd.testing.assert_frame_equal(
        got[cols].sort_values(cols).reset_index(drop=True),
        want[cols].sort_values(cols).reset_index(drop=True), check_dtype=False)
    assert got.attrs["medium"] == "topsoil"
    ctl = pooled_samples(controlled.store, "Zn", scope="org:controlled", grid="europe",
                         medium="topsoil", method="total")
    assert set(ctl["dataset_id"]) == {"gemas", "bss-top"}
    public = pooled_samples(controlled.store, "Zn", scope="org:controlled", grid="europe",
                            medium="topsoil", method="total", full_only=True)
    assert set(public["dataset_id"]) == {"bss-top"}
    assert len(public) == 768


def test_a_controlled_source_without_an_admission_rule_enters_no_cell(full) -> None:
    store = full.store
    sources = [PoolSource("gemas", 1, frozenset({"Cr"}), k=K),
               PoolSource("bss-top", 1, frozenset({"Cr"}))]
    build_pooled(store, sources, scope="org:noadmit", grids=("europe",), levels=(ROOT,))
    got = cells_of(store, "org:noadmit", "Cr", "europe", "topsoil", "total", ROOT)
    f = keyed(layer_frame(store, "topsoil", "total", "Cr", {"bss-top": 1}), "europe", ROOT)
    assert_stats_equal(got, independent_stats(f))
    contrib = pooled_contributors(store, "Cr", scope="org:noadmit", grid="europe")
    assert set(contrib["dataset_id"]) == {"bss-top"}


def test_a_source_offers_only_its_shared_elements(full) -> None:
    store = full.store
    sources = [PoolSource("gemas", 1, frozenset({"Cr"})),
               PoolSource("bss-top", 1, frozenset({"Cr", "Zn", "Cl"}))]
    build_pooled(store, sources, scope="org:elements", grids=("europe",), levels=(ROOT,))
    man = pooled_manifest(store, "org:elements")
    members = {(e["medium"], e["method"], e["element"]): {m["dataset_id"] for m in e["members"]}
               for e in man["layers"]}
    assert members == {("topsoil", "total", "Cr"): {"gemas", "bss-top"},
                       ("topsoil", "total", "Zn"): {"bss-top"},
                       ("topsoil", "total", "Cl"): {"bss-top"}}
    # what is not offered is not named either (GEMAS's grain sizes would be "no class")
    assert {x["element"] for x in man["excluded"]} <= {"", "Cr", "Zn", "Cl"}
    assert man["sources"] == {"gemas": 1, "bss-top": 1}
    zn = pooled_contributors(store, "Zn", scope="org:elements", grid="europe")
    assert set(zn["dataset_id"]) == {"bss-top"}


# ---------------------------------------------------------------------- 5. both backends


def _snapshot(store, scope: str) -> tuple[dict, dict, list[str]]:
    man = {k: v for k, v in pooled_manifest(store, scope).items() if k != "built_at"}
    return man, _tables(store, scope), store.list_parts(f"pooled.{scope.replace(':', '=')}")


def test_embedded_and_postgres_stores_give_identical_pooled_layers(
        full, fresh_pg_url, data_dir: Path, boundaries: Path) -> None:
    """Kola C horizon and BSS bottom layer, Ni/Cu/Zn, Europe at 160 and 40 km; then BSS is
    withdrawn (Cu's layer removed, the others updated) on both."""
    ids = ("kola-chorizon", "bss-bottom")
    elements = frozenset({"Ni", "Cu", "Zn"})
    both = [PoolSource(ds, 1, elements) for ds in ids]
    kw: dict = {"scope": "org:backends", "grids": ("europe",), "levels": (ROOT, 40_000)}
    pg = open_store(fresh_pg_url)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ChemearthWarning)
            for ds in ids:
                ingest(pg, load_descriptor(shipped_descriptor(ds)), data_dir=data_dir,
                       boundaries=boundaries)
        snaps, reports = [], []
        for store in (full.store, pg):
            r1 = build_pooled(store, both, **kw)
            s1 = _snapshot(store, "org:backends")
            r2 = build_pooled(store, both[:1], **kw)
            snaps.append((s1, _snapshot(store, "org:backends")))
            reports.append((r1, r2))
    finally:
        pg.close()
    (emb1, emb2), (pg1, pg2) = snaps
    for a, b in ((emb1, pg1), (emb2, pg2)):
        assert a[0] == b[0]
        assert a[2] == b[2]
        assert set(a[1]) == set(b[1])
        for key in a[1]:
            for x, y in zip(a[1][key], b[1][key], strict=True):
                pd.testing.assert_frame_equal(x, y, obj=str(key))
    assert len(emb1[1]) == 6  # Ni, Cu and Zn: total (Kola INAA, BSS XRF) and aqua regia
    assert len(emb1[2]) == 12
    assert len(emb2[2]) == 10
    cols = ["grid", "medium", "method", "element", "status", "cells", "recomputed"]
    for e, p in zip(reports[0], reports[1], strict=True):
        pd.testing.assert_frame_equal(e[cols], p[cols])
    status = _status(reports[0][1])
    assert status[("europe", "subsoil", "total", "Cu")] == "removed"
    assert status[("europe", "subsoil", "total", "Ni")] == "updated"
    assert status[("europe", "subsoil", "aqua-regia", "Ni")] == "unchanged"
    assert not [p for p in emb2[2] if "/subsoil/total/Cu/" in p]


def test_collections_of_parts_on_both_backends(store_location: str) -> None:
    """The store's parts API that pooled layers live in: replace some parts, keep the
    others, delete with None, one manifest per collection, names checked, all or nothing."""
    store = open_store(store_location)
    try:
        assert store.read_manifest("pooled.public") is None
        assert store.read_part("pooled.public", "a") is None
        assert store.list_parts("pooled.public") == []
        gen0 = store.generation()
        store.write_parts("pooled.public", {"global/a": b"1", "c": b"", "d=x+1": b"\x00\xff"},
                          {"n": 1, "name": "Ærø"})
        assert store.generation() != gen0
        assert store.list_parts("pooled.public") == ["c", "d=x+1", "global/a"]
        assert store.read_part("pooled.public", "global/a") == b"1"
        assert store.read_part("pooled.public", "c") == b""
        assert store.read_manifest("pooled.public") == {"n": 1, "name": "Ærø"}
        store.write_parts("pooled.public", {"global/a": None, "e": b"5", "gone": None},
                          {"n": 2})
        assert store.list_parts("pooled.public") == ["c", "d=x+1", "e"]
        assert store.read_part("pooled.public", "d=x+1") == b"\x00\xff"  # kept as it was
        assert store.read_part("pooled.public", "global/a") is None
        assert store.read_manifest("pooled.public") == {"n": 2}
        store.write_parts("pooled.org=X", {"c": b"other"}, {"org": True})
        assert store.read_part("pooled.public", "c") == b""
        assert store.list_parts("pooled.org=X") == ["c"]
        for bad in ("../x", "a//b", "/a", "a b", "", "a/../b", ".hidden"):
            with pytest.raises(StoreError):
                store.write_parts("pooled.public", {"ok": b"1", bad: b"2"}, {"n": 3})
            with pytest.raises(StoreError):
                store.read_part("pooled.public", bad)
            with pytest.raises(StoreError):
                store.write_parts(bad, {"ok": b"1"}, {"n": 3})
        # a refused write changed nothing
        assert store.list_parts("pooled.public") == ["c", "d=x+1", "e"]
        assert store.read_manifest("pooled.public") == {"n": 2}
        if isinstance(store, EmbeddedStore):  # copy-on-write generations: current + previous
            store.write_parts("pooled.public", {"f": b"6"}, {"n": 4})
            folder = Path(store.home) / "collections" / "pooled.public"
            assert len(list(folder.glob("gen-*"))) == 2
            assert not list(folder.glob("CURRENT.*"))
    finally:
        store.close()
