"""Differencing attacks on an aggregated dataset, as an anonymous user of the API.

The attacker reads every cell the API publishes for a layer, at every level and on both
grids, plus the layer's baseline, and subtracts each published cell's published
descendants from it (counts, and sums of logs from the geometric means). A remainder of
1 to k-1 samples is a recovered group: its geometric mean is theirs. The same attack on
what the naive rule (every cell of n >= k) published finds such groups; on what the
platform publishes it finds none. An oracle that knows every sample's true place then
checks the stronger rule directly: every atom of the published sets holds >= k samples.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import numpy as np
import pandas as pd
import pytest
from tests.conftest import BACKENDS
from tests.web.conftest import AGGREGATED, EMBARGO

from chemearth.access.disclosure import statistic_published
from chemearth.grid.geometry import get_grid

K = 3
ELEMENTS = ("Pb", "Zn")



@pytest.fixture(scope="module", params=BACKENDS)
def attacked_store(request: pytest.FixtureRequest, secure_store: Any) -> Any:
    """The store with sharing rules, on each backend: every attack runs on both."""
    if request.param == "embedded":
        return secure_store
    return request.getfixturevalue("secure_store_pg")


@pytest.fixture(scope="module")
def attacked_client(request: pytest.FixtureRequest, attacked_store: Any,
                    secure_client: Any) -> Any:
    """The website over that store."""
    if str(attacked_store.store.location).startswith("postgresql://"):
        return request.getfixturevalue("secure_client_pg")
    return secure_client


def _published_cells(client: Any, element: str) -> pd.DataFrame:
    """Every cell of ``element`` the API gives anonymous users, any grid, any level."""
    layer = next(x for x in client.get("/api/layers").json()["layers"]
                 if x["dataset"] == AGGREGATED and x["element"] == element)
    rows = []
    for grid in ("global", "europe"):
        for level in ("160km", "80km", "40km", "20km", "10km", "4km", "2km", "1km", "500m"):
            r = client.get(f"/api/collections/{AGGREGATED}.cells/items",
                           params={"element": element, "grid": grid, "level": level,
                                   "limit": 10_000})
            assert r.status_code in (200, 400, 404, 422), r.text
            if r.status_code != 200:
                continue
            for f in r.json()["features"]:
                p = f["properties"]
                rows.append({"grid": grid, "cell_id": p["cell_id"], "n": p["n"],
                             "gmean": p.get("gmean"), "props": p,
                             "method": p["method"], "medium": p["medium"]})
    assert rows, f"no published cells of {element}: {layer}"
    out = pd.DataFrame(rows)
    out["key"] = [int(get_grid(g).id_to_key([c])[0])
                  for g, c in zip(out["grid"], out["cell_id"], strict=True)]
    out["level_m"] = [int(get_grid(g).level_of(np.array([k]))[0])
                      for g, k in zip(out["grid"], out["key"], strict=True)]
    return out


def _baseline(client: Any, element: str) -> dict[str, Any] | None:
    rows = client.get(f"/api/elements/{element}").json()
    rows = rows.get("baselines", rows) if isinstance(rows, dict) else rows
    mine = [r for r in rows if r.get("dataset_id") == AGGREGATED]
    return mine[0] if mine else None


def _differencing(cells: pd.DataFrame, root: dict[str, Any] | None) -> list[tuple[int, float]]:
    """Remainders of 1..K-1 samples (n, their geometric mean) found by subtracting each
    published cell's maximal published descendants from it (one grid: nested levels).
    Prints how many subtractions were tried."""
    found = []
    tried = 0
    for grid, on in cells.groupby("grid"):
        g = get_grid(str(grid))
        sets = {(int(r.level_m), int(r.key)): (int(r.n), r.gmean) for r in on.itertuples()}
        levels = sorted({lv for lv, _ in sets}, reverse=True)
        children: dict[Any, list[Any]] = defaultdict(list)
        for lv, key in sets:
            # the nearest published ancestor among the levels this cell nests in
            for up in sorted(u for u in levels if u > lv and g.nests(lv, u)):
                parent = (up, int(g.parent(np.array([key]), up)[0]))
                if parent in sets:
                    children[parent].append((lv, key))
                    break
            else:
                children["root"].append((lv, key))
        parents = list(sets)
        if root is not None:
            sets["root"] = (int(root["n"]), root.get("gmean"))
            parents.append("root")
        for p in parents:
            kids = children.get(p, [])
            if not kids:
                continue
            n_p, g_p = sets[p]
            tried += 1
            r = n_p - sum(sets[c][0] for c in kids)
            if 0 < r < K:
                logs = None
                if g_p is not None and all(sets[c][1] is not None for c in kids):
                    logs = n_p * math.log(g_p) - sum(sets[c][0] * math.log(sets[c][1])
                                                     for c in kids)
                found.append((r, math.exp(logs / r) if logs is not None else math.nan))
    print(f"differencing: {len(cells)} published sets, {tried} subtractions, "
          f"{len(found)} groups of fewer than {K} recovered")
    return found


@pytest.mark.slow
@pytest.mark.parametrize("element", ELEMENTS)
def test_no_group_of_fewer_than_k_is_recovered(attacked_client: Any, attacked_store: Any,
                                               element: str) -> None:
    cells = _published_cells(attacked_client, element)
    assert set(cells["grid"]) == {"global"}, "European cells cut the global ones"
    assert 4_000 not in set(cells["level_m"]), "4 km cells straddle 10 km cells"
    found = _differencing(cells, _baseline(attacked_client, element))
    assert found == []
    # the naive rule (every stored cell of n >= k, both grids, all levels) leaks
    store = attacked_store.store
    naive = []
    for grid in ("global",):
        c = store.cells(grid, dataset_id=AGGREGATED, element=element)
        c = c[c["n"] >= K]
        naive.append(pd.DataFrame({"grid": grid, "key": c["cell"].astype(np.int64),
                                   "level_m": c["level_m"].astype(int), "n": c["n"],
                                   "gmean": c["gmean"]}))
    leaks = _differencing(pd.concat(naive), None)
    assert leaks, "the attack should find groups in what the naive rule publishes"
    # and what it recovers from the naive rule is the truth
    assert all(0 < r < K for r, _ in leaks)


@pytest.mark.slow
@pytest.mark.parametrize("element", ELEMENTS)
def test_every_atom_of_the_published_sets_holds_k_samples(
    attacked_client: Any, attacked_store: Any, element: str
) -> None:
    """The oracle: true sample places against every published set."""
    cells = _published_cells(attacked_client, element)
    m = attacked_store.store.measurements(AGGREGATED, elements=[element])
    m = m[m["value"].notna()]
    g = get_grid("global")
    lon, lat = m["longitude"].to_numpy(), m["latitude"].to_numpy()
    keys = {int(lv): g.cell_keys(lon, lat, int(lv)) for lv in set(cells["level_m"])}
    member = [keys[int(lv)] == key for lv, key in zip(cells["level_m"], cells["key"], strict=True)]
    # the cell counts the API publishes are the true counts
    for row, n in zip(member, cells["n"], strict=True):
        assert row.sum() == n
    if _baseline(attacked_client, element) is not None:
        member.append(np.ones(len(m), dtype=bool))
    mat = np.stack(member)
    covered = mat.any(axis=0)
    _, counts = np.unique(mat[:, covered], axis=1, return_counts=True)
    assert counts.min() >= K


@pytest.mark.slow
def test_order_statistics_of_small_groups_are_not_published(attacked_client: Any) -> None:
    cells = _published_cells(attacked_client, "Pb")
    for p in cells["props"]:
        for name in ("min", "max", "dl_max"):
            assert p.get(name) is None, (name, p)
        for name in ("p5", "p10", "p25", "median", "p75", "p90", "p95", "p98", "mad"):
            if p.get(name) is not None:
                assert statistic_published(name, int(p["n"]), K), (name, p["n"])
    r = attacked_client.get(f"/api/layers/{AGGREGATED}/Pb/legend", params={"stat": "max"})
    assert r.status_code in (400, 404, 422)
    base = _baseline(attacked_client, "Pb")
    assert base is not None
    assert base.get("min") is None
    assert base.get("max") is None


def test_embargoed_elements_give_nothing(attacked_client: Any) -> None:
    for element in EMBARGO:
        r = attacked_client.get(f"/api/collections/{AGGREGATED}.cells/items",
                              params={"element": element, "limit": 10})
        assert r.status_code == 200
        assert r.json()["features"] == []


def test_per_country_breakdowns_are_for_full_access_only(attacked_client: Any,
                                                        attacked_store: Any) -> None:
    url = f"/api/assess/screening/{AGGREGATED}"
    assert attacked_client.get(url, params={"by": "country"}).status_code == 403
    owner = attacked_client.get(url, params={"by": "country"},
                              headers=attacked_store.headers("owner"))
    assert owner.status_code == 200


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::chemearth.errors.ChemearthWarning")
def test_a_new_version_with_one_more_sample_reveals_nothing(
    tmp_path: Any, data_dir: Any, boundaries: Any, store_location: str
) -> None:
    """Version 1 lacks one Kola humus site, version 2 adds it. An attacker who kept every
    answer about version 1 subtracts them from version 2's: the naive rule gives the
    added site's value away (cells and baseline differ by one sample); the platform
    withholds every set that would tell it apart."""
    import dataclasses

    from fastapi.testclient import TestClient

    from chemearth.grid.layers import build_layers
    from chemearth.ingest.descriptor import load_descriptor
    from chemearth.ingest.pipeline import ingest
    from chemearth.ingest.shipped import shipped_descriptor
    from chemearth.store import open_store
    from chemearth.web import WebSettings, create_app

    desc = load_descriptor(shipped_descriptor("kola-humus"))
    desc = dataclasses.replace(desc, dataset=dataclasses.replace(desc.dataset,
                                                                 sharing="aggregated"))
    full = data_dir / "kola" / "humus.csv"
    lines = full.read_text(encoding="utf-8").splitlines(keepends=True)
    v1 = tmp_path / "humus.csv"
    v1.write_text("".join(lines[:101] + lines[102:]), encoding="utf-8")  # site 100 missing
    store = open_store(store_location)
    levels = [160_000, 80_000, 40_000, 20_000, 10_000]
    client = TestClient(create_app(store, WebSettings(boundaries=boundaries, timeout_s=120)))

    def answers() -> tuple[dict[int, tuple[int, float | None]], dict[str, Any] | None]:
        out = {}
        for level in ("160km", "80km", "40km", "20km", "10km"):
            r = client.get("/api/collections/kola-humus.cells/items",
                           params={"element": "Pb", "level": level, "limit": 10_000})
            for f in r.json()["features"]:
                p = f["properties"]
                key = int(get_grid("global").id_to_key([p["cell_id"]])[0])
                out[key] = (int(p["n"]), p.get("gmean"))
        rows = client.get("/api/elements/Pb").json()
        rows = rows.get("baselines", rows) if isinstance(rows, dict) else rows
        base = next((r for r in rows if r.get("dataset_id") == "kola-humus"), None)
        return out, base

    ingest(store, desc, v1, boundaries=boundaries)
    build_layers(store, ["kola-humus"], grids=["global"], levels=levels)
    cells1, base1 = answers()
    naive1 = store.cells("global", dataset_id="kola-humus", element="Pb")
    ingest(store, desc, full, boundaries=boundaries)
    build_layers(store, ["kola-humus"], grids=["global"], levels=levels)
    assert int(store.datasets().set_index("dataset_id").loc["kola-humus", "version"]) == 2
    cells2, base2 = answers()
    naive2 = store.cells("global", dataset_id="kola-humus", element="Pb")

    def diffs(a: dict[int, tuple[int, Any]], b: dict[int, tuple[int, Any]]) -> list[int]:
        return [b[c][0] - a[c][0] for c in set(a) & set(b) if 0 < abs(b[c][0] - a[c][0]) < K]

    # the naive rule leaks: the cells holding the new site differ by one sample
    n1 = {int(c): (int(n), None)
          for c, n in zip(naive1["cell"], naive1["n"], strict=True) if n >= K}
    n2 = {int(c): (int(n), None)
          for c, n in zip(naive2["cell"], naive2["n"], strict=True) if n >= K}
    assert diffs(n1, n2)
    # the platform: no cell, and no baseline, differs by fewer than k samples
    assert cells1
    assert cells2
    assert diffs(cells1, cells2) == []
    if base1 is not None and base2 is not None:
        assert not 0 < abs(int(base2["n"]) - int(base1["n"])) < K
