"""Pairing the samples of two datasets: declared links, co-location, and never ids alone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from chemearth.assess.change import enrichment
from chemearth.assess.pairing import (
    DEFAULT_MAX_DISTANCE_M,
    PairingError,
    colocate,
    declared_link,
    pair_datasets,
    pair_frames,
)
from chemearth.errors import DescriptorError, NotFoundError
from chemearth.ingest.descriptor import parse_descriptor

R = 6_371_008.8


def _haversine_matrix(lon_a: np.ndarray, lat_a: np.ndarray, lon_b: np.ndarray,
                      lat_b: np.ndarray) -> np.ndarray:
    """Every distance (m) between the points of a and b: the brute force."""
    la, pa = np.radians(lon_a)[:, None], np.radians(lat_a)[:, None]
    lb, pb = np.radians(lon_b)[None, :], np.radians(lat_b)[None, :]
    h = np.sin((pb - pa) / 2) ** 2 + np.cos(pa) * np.cos(pb) * np.sin((lb - la) / 2) ** 2
    return 2 * R * np.arcsin(np.sqrt(h))


def _brute_force_pairs(d: np.ndarray, limit: float, ids_a: Any = None,
                       ids_b: Any = None) -> set[tuple[int, int]]:
    """Greedy one-to-one matching over the full distance matrix."""
    ia, ib = np.nonzero(d <= limit)
    same = (np.asarray(ids_a)[ia] == np.asarray(ids_b)[ib]) if ids_a is not None else \
        np.zeros(len(ia), bool)
    cand = sorted(zip(d[ia, ib], ~same, ia, ib, strict=True))
    used_a, used_b, out = set(), set(), set()
    for _, _, i, j in cand:
        if i not in used_a and j not in used_b:
            used_a.add(i)
            used_b.add(j)
            out.add((int(i), int(j)))
    return out


def _check_matching(d: np.ndarray, limit: float, got: set[tuple[int, int]]) -> None:
    """Within the limit, one to one, maximal and stable (no closer pair left out)."""
    assert all(d[i, j] <= limit for i, j in got)
    assert len({i for i, _ in got}) == len({j for _, j in got}) == len(got)
    dist_a = {i: d[i, j] for i, j in got}
    dist_b = {j: d[i, j] for i, j in got}
    for i, j in zip(*np.nonzero(d <= limit), strict=True):
        if (i, j) not in got:  # one of them found a partner at least as close
            assert min(dist_a.get(i, np.inf), dist_b.get(j, np.inf)) <= d[i, j]


@pytest.mark.parametrize(("lat0", "spread_m", "limit"), [
    (50.0, 200.0, 20.0),     # mid-latitude, dense: many candidates per sample
    (69.5, 5_000.0, 100.0),  # the Kola latitude, sparse
    (-33.9, 50.0, 20.0),     # southern hemisphere, every sample near every other
    (0.0, 2_000.0, 500.0),   # the equator, a large distance
])
def test_colocation_equals_brute_force(lat0: float, spread_m: float, limit: float) -> None:
    rng = np.random.default_rng(int(lat0 * 10) % 97)
    n_a, n_b = 300, 250
    deg = spread_m / 111_195.0
    lon_a = 10 + rng.uniform(0, deg / np.cos(np.radians(lat0)), n_a)
    lat_a = lat0 + rng.uniform(0, deg, n_a)
    # b: half re-sampled near a's sites (up to 1.5 x limit away), half elsewhere
    k = n_b // 2
    pick = rng.choice(n_a, k, replace=False)
    jitter = rng.uniform(-1.5, 1.5, (k, 2)) * limit / 111_195.0
    lon_b = np.r_[lon_a[pick] + jitter[:, 0] / np.cos(np.radians(lat0)),
                  10 + rng.uniform(0, deg / np.cos(np.radians(lat0)), n_b - k)]
    lat_b = np.r_[lat_a[pick] + jitter[:, 1], lat0 + rng.uniform(0, deg, n_b - k)]
    ia, ib, dist = colocate(lon_a, lat_a, lon_b, lat_b, limit)
    d = _haversine_matrix(lon_a, lat_a, lon_b, lat_b)
    got = set(zip(ia.tolist(), ib.tolist(), strict=True))
    assert got == _brute_force_pairs(d, limit)
    np.testing.assert_allclose(dist, d[ia, ib], rtol=1e-9, atol=1e-6)
    assert np.all(np.diff(dist) >= 0)  # by distance
    _check_matching(d, limit, got)
    assert len(got) > 0


def test_colocation_skips_missing_coordinates_and_prefers_equal_ids() -> None:
    # three samples of a at one place, b's ids in another order, one a sample unlocated
    lon_a, lat_a = np.array([5.0, 5.0, 5.0, np.nan]), np.array([50.0, 50.0, 50.0, 50.0])
    ids_a = np.array(["x", "y", "z", "w"], object)
    ids_b = np.array(["w", "z", "x", "y"], object)
    ia, ib, _ = colocate(lon_a, lat_a, np.full(4, 5.0), np.full(4, 50.0), 20,
                         ids_a=ids_a, ids_b=ids_b)
    assert sorted(zip(ids_a[ia], ids_b[ib], strict=True)) == [("x", "x"), ("y", "y"),
                                                              ("z", "z")]


@pytest.mark.parametrize("bad", [0, -5, np.nan, np.inf, 1_000.5])
def test_the_distance_is_checked(bad: float) -> None:
    with pytest.raises(PairingError, match="max_distance_m"):
        colocate([0.0], [0.0], [0.0], [0.0], bad)


def test_kola_moss_co_located_with_humus_equals_the_site_ids(demo_store: Any,
                                                             data_dir: Path) -> None:
    """The moss samples are numbered by file line (not declared); co-location within 20 m
    finds every Kola site they share with the humus, by its ID, and nothing else."""
    store = demo_store.store
    p = pair_datasets(store, "kola-moss", "kola-humus")
    assert (p.rule, p.max_distance_m) == ("co-located", DEFAULT_MAX_DISTANCE_M)
    moss = store.samples("kola-moss")
    site = dict(zip(moss["sample_id"], moss["attributes"].map(
        lambda t: str(int(float(json.loads(t)["ID"])))), strict=True))
    assert all(site[m] == h for m, h in zip(p.pairs["sample_id_first"],
                                           p.pairs["sample_id_second"], strict=True))
    raw_m = pd.read_csv(data_dir / "kola" / "moss.csv")
    raw_h = pd.read_csv(data_dir / "kola" / "humus.csv")
    assert p.n_pairs == len(set(raw_m["ID"]) & set(raw_h["ID"]))  # 708: two moss samples
    assert p.pairs["distance_m"].max() < 6
    # and the same pairs as a brute-force matching of the stored coordinates
    hum = store.samples("kola-humus")
    d = _haversine_matrix(moss["longitude"].to_numpy(), moss["latitude"].to_numpy(),
                          hum["longitude"].to_numpy(), hum["latitude"].to_numpy())
    want = _brute_force_pairs(d, DEFAULT_MAX_DISTANCE_M, moss["sample_id"].to_numpy(),
                              hum["sample_id"].to_numpy())
    mi = {s: i for i, s in enumerate(moss["sample_id"])}
    hi = {s: i for i, s in enumerate(hum["sample_id"])}
    assert {(mi[a], hi[b]) for a, b in zip(p.pairs["sample_id_first"],
                                           p.pairs["sample_id_second"], strict=True)} == want


def test_enrichment_over_co_located_sites_against_pandas(demo_store: Any) -> None:
    store = demo_store.store
    got = enrichment(store, "kola-moss", "kola-humus", ["Pb", "Cu"]).set_index("element")
    moss = store.measurements("kola-moss", elements=["Pb", "Cu"])
    hum = store.measurements("kola-humus", elements=["Pb", "Cu"])
    moss = moss.assign(ID=moss["sample_id"].map(dict(zip(
        store.samples("kola-moss")["sample_id"],
        store.samples("kola-moss")["attributes"].map(
            lambda t: str(int(float(json.loads(t)["ID"])))), strict=True))))
    pairs = pair_datasets(store, "kola-moss", "kola-humus").pairs
    moss = moss[moss["sample_id"].isin(pairs["sample_id_first"])]  # site 708: one sample
    for el in ("Pb", "Cu"):
        j = moss[moss["element"] == el].merge(hum[hum["element"] == el], left_on="ID",
                                              right_on="sample_id", suffixes=("_m", "_h"))
        ok = ~(j["censored_m"] | j["censored_h"]) & (j["value_m"] > 0) & (j["value_h"] > 0)
        r = (j.loc[ok, "value_m"] / j.loc[ok, "value_h"]).to_numpy(float)
        assert got.loc[el, "n_pairs"] == len(r)
        assert got.loc[el, "median_ratio"] == pytest.approx(np.median(r), rel=1e-12)
        assert got.loc[el, "gmean_ratio"] == pytest.approx(stats.gmean(r), rel=1e-12)
    assert (got["pairing_rule"] == "co-located within 20 m").all()
    assert (got["max_distance_m"] == 20).all()


def test_unrelated_surveys_never_pair(demo_store: Any) -> None:
    """Meuse (NL) and the Swiss Jura number their samples alike; they hold no common site."""
    store = demo_store.store
    shared = set(store.samples("meuse")["sample_id"]) & set(store.samples("jura")["sample_id"])
    assert len(shared) > 100  # so pairing by id would have "worked"
    for call in (lambda: pair_datasets(store, "meuse", "jura"),
                 lambda: enrichment(store, "meuse", "jura")):
        with pytest.raises(PairingError, match=r"'meuse' and 'jura'.*within 20 m"):
            call()


def test_declared_links(demo_store: Any) -> None:
    store = demo_store.store
    assert declared_link(store, "bss-top", "bss-bottom") == "bss-bottom same_sites_as bss-top"
    assert declared_link(store, "kola-chorizon", "kola-chorizon-dl") == (
        "kola-chorizon-dl same_samples_as kola-chorizon")
    assert declared_link(store, "jura", "jura") == "jura is the same dataset"
    assert declared_link(store, "meuse", "jura") == ""
    # humus -> C-horizon and C-horizon -> DL copy: no chain from humus to the DL copy
    assert declared_link(store, "kola-humus", "kola-chorizon-dl") == ""
    with pytest.raises(NotFoundError):
        declared_link(store, "meuse", "no-such-dataset")


def _frame(ids: list[str], lon: float) -> pd.DataFrame:
    return pd.DataFrame({"sample_id": ids, "longitude": lon, "latitude": 50.0})


def test_declared_pairs_without_a_common_id_are_an_error() -> None:
    with pytest.raises(PairingError, match=r"'a' and 'b' share no sample id.*b same_sites_as"):
        pair_frames(_frame(["1", "2"], 5.0), _frame(["3", "4"], 5.0),
                    same_sites="b same_sites_as a", names=("a", "b"))
    # declared: ids pair wherever the samples lie, and the distance is reported
    p = pair_frames(_frame(["1", "2"], 5.0), _frame(["2", "9"], 6.0), same_sites=True)
    assert p.pairs[["sample_id_first", "sample_id_second"]].values.tolist() == [["2", "2"]]
    assert p.pairs["distance_m"].iloc[0] == pytest.approx(71_474, rel=1e-3)


@pytest.mark.parametrize(("value", "want"), [
    ('"bss-top"', ("bss-top",)),
    ('["kola-chorizon", "kola-bhorizon"]', ("kola-chorizon", "kola-bhorizon")),
])
def test_descriptor_same_sites_as(value: str, want: tuple[str, ...]) -> None:
    text = f'[dataset]\nid = "x"\ntitle = "X"\nsame_sites_as = {value}\n[columns]\nCu = "Cu"\n'
    assert parse_descriptor(text).dataset.same_sites_as == want


@pytest.mark.parametrize("value", ['"x"', '["Bad Id"]', "[3]", "4"])
def test_descriptor_same_sites_as_is_checked(value: str) -> None:
    text = f'[dataset]\nid = "x"\ntitle = "X"\nsame_sites_as = {value}\n[columns]\nCu = "Cu"\n'
    with pytest.raises(DescriptorError, match="same_sites_as"):
        parse_descriptor(text)
