"""Disclosure control checked against a brute-force attacker on random hierarchies.

The brute force knows every published set and computes the atoms of the algebra they
generate directly (no tree reasoning): every atom inside a published set must hold at
least k samples, in one version and across versions (samples added and removed).
"""

from __future__ import annotations

import numpy as np
import pytest

from chemearth.access.disclosure import (
    chain_levels,
    protect,
    statistic_published,
    withhold_statistics,
)


def _sets(keys: np.ndarray, pub, present: np.ndarray) -> list[np.ndarray]:
    out = [(keys[i] == c) & present for i in range(keys.shape[0]) for c in pub.cells[i]]
    if pub.root:
        out.append(present.copy())
    return out


def _smallest_atom(sets: list[np.ndarray]) -> int:
    if not sets:
        return 10**9
    m = np.stack(sets)
    covered = m.any(axis=0)
    if not covered.any():
        return 10**9
    _, counts = np.unique(m[:, covered], axis=1, return_counts=True)
    return int(counts.min())


def _random_tree(rng: np.random.Generator) -> np.ndarray:
    n = int(rng.integers(5, 250))
    fine = rng.integers(0, int(rng.integers(2, 80)), n)
    return np.stack([fine // 27, fine // 9, fine // 3, fine]) + np.arange(4)[:, None] * 1000


@pytest.mark.parametrize("seed", range(6))
def test_no_atom_below_k_in_one_version(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(25):
        keys = _random_tree(rng)
        k = int(rng.integers(2, 6))
        pub = protect(keys, k)
        present = np.ones(keys.shape[1], dtype=bool)
        assert _smallest_atom(_sets(keys, pub, present)) >= k


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("change", ["removed", "added", "both"])
def test_no_atom_below_k_across_versions(seed: int, change: str) -> None:
    rng = np.random.default_rng(100 + seed)
    for _ in range(15):
        keys = _random_tree(rng)
        n = keys.shape[1]
        k = int(rng.integers(2, 5))
        v1, v2 = np.ones(n, dtype=bool), np.ones(n, dtype=bool)
        if change in ("removed", "both"):
            v2[rng.integers(0, n)] = False
        if change in ("added", "both"):
            v1[rng.integers(0, n)] = False
        p1 = protect(keys, k, present=v1)
        p2 = protect(keys, k, present=v2, prior=[p1.labels])
        assert _smallest_atom(_sets(keys, p1, v1) + _sets(keys, p2, v2)) >= k


def test_the_naive_rule_leaks_and_the_protected_one_does_not() -> None:
    """A cell of 7 whose children hold 3, 3 and 1 samples: publishing every cell with
    n >= 3 isolates the single sample; protection suppresses a child instead."""
    keys = np.array([[1] * 7, [10, 10, 10, 11, 11, 11, 12]])
    naive = [keys[0] == 1, keys[1] == 10, keys[1] == 11, np.ones(7, bool)]
    assert _smallest_atom(naive) == 1
    pub = protect(keys, 3)
    assert _smallest_atom(_sets(keys, pub, np.ones(7, bool))) >= 3
    assert len(pub.cells[0]) == 1
    assert len(pub.cells[1]) == 1


def test_one_added_sample_withholds_the_cells_that_hold_it() -> None:
    keys = np.array([[1] * 8, [10] * 4 + [11] * 4])
    v1 = np.array([True] * 7 + [False])
    p1 = protect(keys, 3, present=v1)
    assert p1.root
    assert list(p1.cells[1]) == [10, 11]
    p2 = protect(keys, 3, present=np.ones(8, bool), prior=[p1.labels])
    # every set holding the new sample would tell it apart from version 1
    assert not p2.root
    assert 11 not in p2.cells[1]
    assert 1 not in p2.cells[0]
    assert 10 in p2.cells[1]


def test_chain_leaves_out_the_level_that_does_not_nest() -> None:
    from chemearth.grid.geometry import get_grid
    from chemearth.grid.levels import LEVELS

    chain = chain_levels(get_grid("global"), LEVELS)
    assert 4_000 not in chain
    assert chain[0] == 160_000
    assert chain[-1] == 500
    g = get_grid("global")
    assert all(g.nests(c, p) for i, c in enumerate(chain) for p in chain[:i])


@pytest.mark.parametrize(
    ("name", "n", "k", "published"),
    [
        ("n", 3, 3, True), ("n", 2, 3, False), ("gmean", 3, 3, True),
        ("log10_sd", 3, 3, True), ("min", 10_000, 3, False), ("max", 10_000, 3, False),
        ("dl_max", 50, 3, False), ("median", 6, 3, False), ("median", 7, 3, True),
        ("p25", 12, 3, False), ("p25", 13, 3, True), ("p5", 60, 3, False),
        ("p5", 61, 3, True), ("p98", 200, 3, True), ("p98", 100, 3, False),
        ("mad", 7, 3, True), ("tukey_upper", 13, 3, True), ("class_p95", 100, 3, True),
        ("something_new", 10_000, 3, False),
    ],
)
def test_which_statistics_are_published(name: str, n: int, k: int, published: bool) -> None:
    assert statistic_published(name, n, k) is published


def test_order_statistics_published_have_k_values_on_each_side() -> None:
    """Checked against numpy's percentile: the published percentile lies strictly
    between the k-th smallest and the k-th largest values."""
    rng = np.random.default_rng(7)
    for n in range(3, 80):
        x = np.sort(rng.lognormal(size=n))
        for q, name in ((5, "p5"), (25, "p25"), (50, "median"), (75, "p75"), (95, "p95")):
            if statistic_published(name, n, 3):
                v = np.percentile(x, q)
                below = np.searchsorted(x, v, side="left")
                above = n - np.searchsorted(x, v, side="right")
                assert min(below, above) >= 3, (n, name)


def test_withheld_statistics_are_nan() -> None:
    import pandas as pd

    f = pd.DataFrame({"cell": [1, 2], "n": [3, 40], "median": [1.0, 2.0], "max": [3.0, 4.0],
                      "p5": [0.5, 0.7], "gmean": [1.1, 2.2], "unit": ["mg/kg", "mg/kg"]})
    out = withhold_statistics(f, 3)
    assert out["cell"].tolist() == [1, 2]
    assert out["unit"].tolist() == ["mg/kg"] * 2
    assert out["max"].isna().all()
    assert out["p5"].isna().all()
    assert np.isnan(out["median"][0])
    assert out["median"][1] == 2.0
    assert out["gmean"].tolist() == [1.1, 2.2]
