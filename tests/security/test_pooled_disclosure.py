"""The attack suite against pooled layers, as an anonymous user of the API.

Pooled layers put several surveys' samples in one cell (:mod:`chemearth.grid.pooled`). An
attacker who knows every sample of the public surveys (they are public: their samples
download) subtracts them from each published pooled cell: what is left is the aggregated
dataset's share of the cell, its count (from the cell's contributors, or the cell's n
minus the known samples) and its sum of logs (n times the log of the geometric mean,
minus the known logs). The attacker adds the aggregated dataset's own published cells and
its baseline, and subtracts every cell's published descendants from it (parent minus
children, across levels) and each pooled share from the dataset's own cell of the same
place. A remainder of 1 to k-1 samples is a recovered group: its geometric mean is theirs.

* On the pooled layers the platform publishes the attack recovers nothing, and an oracle
  that knows every aggregated sample's place checks the stronger rule: every atom of the
  sets published (pooled shares, own cells, baseline) holds >= k samples.
* On a naive pooled build (every aggregated sample in every cell: ``PoolSource(k=1)``, in
  a copy of the store) the same attack recovers groups of fewer than k, and their true
  geometric means: the attack has teeth.
* Order statistics: cells holding aggregated samples give no minimum, maximum or largest
  detection limit, and each percentile (and the MAD, an order statistic of the distances
  from the median) has k + 1 of the aggregated values (distances) below and k + 1 above.
* Restricted data never enter the public scope (counted, not only named), embargoed
  elements never enter it from the aggregated dataset, and baselines and exceedance take
  no aggregated sample one by one.

The attacks run on the store with sharing rules of ``tests/web/conftest.py`` on both
backends (its public pooled layers of humus hold Kola humus alone), and on a *mixed*
store (embedded) where one half of the Kola humus sites is a public survey and the other
half the aggregated one, so that pooled cells really mix both. The mixed store also
carries the attacks that found leaks while this suite was written: a probe survey placed
at an aggregated dataset's sites (the manifest said whether they were), and a public
survey made restricted after the pooled layers were built (they kept showing it).
"""

from __future__ import annotations

import dataclasses
import io
import math
import shutil
import warnings
from collections import defaultdict
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest
from tests.conftest import BACKENDS
from tests.security.test_differencing import _baseline, _published_cells
from tests.web.conftest import (
    AGGREGATED,
    EMBARGO,
    LAYER_LEVELS,
    OWNER_ORG,
    POOLED_LEVELS,
    POOLED_ORG,
    POOLED_PUBLIC,
    PUBLIC,
    SECRET,
)

from chemearth.errors import ChemearthWarning
from chemearth.grid.geometry import get_grid

K = 3
ELEMENTS = ("Pb", "Zn")
MEDIUM = "humus"  # Kola humus's medium group
METHOD = "nitric-acid"  # its method class
#: the public half of the Kola humus sites in the mixed store
OPEN = "kola-humus-open"
GRID = get_grid("global")


# --------------------------------------------------------------------------- stores


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


def _descriptor(**changes: Any) -> Any:
    from chemearth.ingest.descriptor import load_descriptor
    from chemearth.ingest.shipped import shipped_descriptor

    desc = load_descriptor(shipped_descriptor("kola-humus"))
    return dataclasses.replace(desc, dataset=dataclasses.replace(desc.dataset, **changes))


def _ingest(store: Any, desc: Any, path: Path, boundaries: Path) -> None:
    from chemearth.ingest.pipeline import ingest

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ChemearthWarning)
        ingest(store, desc, path, boundaries=boundaries)


def _app(store: Any, boundaries: Path) -> Any:
    from fastapi.testclient import TestClient

    from chemearth.web import WebSettings, create_app

    return TestClient(create_app(store, WebSettings(boundaries=boundaries, timeout_s=120)))


def _build_public(store: Any, elements: frozenset[str] = frozenset(ELEMENTS),
                  levels: tuple[int, ...] = POOLED_LEVELS) -> None:
    """The public scope as ``build_scope`` builds it, for ``elements`` only (fast)."""
    from chemearth.access.gateway import Gateway
    from chemearth.access.pooling import sources_for
    from chemearth.grid.pooled import build_pooled

    sources = [dataclasses.replace(s, elements=(s.elements or frozenset()) & elements)
               for s in sources_for(Gateway(store), "public")]
    build_pooled(store, sources, scope="public", grids=("global",), levels=levels)


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory, data_dir: Path,
          boundaries: Path) -> SimpleNamespace:
    """Kola humus cut in two by sites: every other site a public survey of GTK
    (``kola-humus-open``), the others NGU's aggregated Kola humus; own layers on the
    global grid and the public pooled layers of Pb and Zn."""
    from chemearth.grid.layers import build_layers
    from chemearth.store import open_store

    tmp = tmp_path_factory.mktemp("pooled-mixed")
    lines = (data_dir / "kola" / "humus.csv").read_text(encoding="utf-8").splitlines(
        keepends=True)
    (tmp / "open.csv").write_text("".join([lines[0], *lines[1::2]]), encoding="utf-8")
    (tmp / "aggregated.csv").write_text("".join([lines[0], *lines[2::2]]), encoding="utf-8")
    store = open_store(tmp / "store")
    _ingest(store, _descriptor(id=OPEN, title="Kola humus, open sites", organisation="GTK",
                               sharing="public"), tmp / "open.csv", boundaries)
    _ingest(store, _descriptor(organisation=OWNER_ORG, sharing="aggregated"),
            tmp / "aggregated.csv", boundaries)
    build_layers(store, grids=["global"], levels=LAYER_LEVELS)
    _build_public(store)
    return SimpleNamespace(store=store, home=tmp / "store", folder=tmp,
                           client=_app(store, boundaries), boundaries=boundaries)


def _copy(home: Path, to: Path) -> Any:
    """An embedded store copied (attacks that write go to a copy)."""
    from chemearth.store import open_store

    shutil.copytree(home, to)
    return open_store(to)


# --------------------------------------------------------------------------- what is read


def _parquet(content: bytes) -> pd.DataFrame:
    import pyarrow.parquet as pq

    return pq.read_table(io.BytesIO(content)).drop_columns(["geometry"]).to_pandas()


#: what the attacker read of each pooled layer, per client (the reading is slow)
_READ: dict[tuple[int, str, str, str], pd.DataFrame] = {}


def _pooled_api(client: Any, element: str, *, dataset: str = POOLED_PUBLIC,
                medium: str = MEDIUM) -> pd.DataFrame:
    """:func:`_read_pooled`, once per client and layer."""
    key = (id(client), dataset, element, medium)
    if key not in _READ:
        _READ[key] = _read_pooled(client, element, dataset=dataset, medium=medium)
    return _READ[key].copy()


def _read_pooled(client: Any, element: str, *, dataset: str = POOLED_PUBLIC,
                 medium: str = MEDIUM, headers: dict[str, str] | None = None) -> pd.DataFrame:
    """Every cell of a pooled layer the API gives, every level built: statistics from
    the GeoParquet download (the geometric mean is never withheld: every cell), the
    contributors from each cell's record (``None`` where the cell answers no record: the
    cell route reads the median map, and a cell's median may be withheld)."""
    layers = client.get("/api/layers", headers=headers).json()["layers"]
    layer = next(x for x in layers if x["dataset"] == dataset and x["element"] == element
                 and x["medium"] == medium)
    rows = []
    for level_m in layer["levels"]["global"]:
        level = GRID.level_label(int(level_m))
        q = {"medium": medium, "level": level, "stat": "gmean"}
        r = client.get(f"/api/downloads/{dataset}/layers/{element}.parquet", params=q,
                       headers=headers)
        if r.status_code == 404 and "no published" in r.text:  # a level without cells
            continue
        assert r.status_code == 200, r.text
        for rec in _parquet(r.content).to_dict("records"):
            cell = client.get(f"/api/layers/{dataset}/{element}/cell", headers=headers,
                              params={"medium": medium, "level": level,
                                      "lon": rec["longitude"], "lat": rec["latitude"]})
            body = cell.json() if cell.status_code == 200 else None
            if body is None:
                assert cell.status_code == 404, cell.text
                assert pd.isna(rec["median"])
            else:
                assert body["cell_id"] == rec["cell_id"]
            rows.append({**rec, "level_m": int(level_m),
                         "key": int(GRID.id_to_key([rec["cell_id"]])[0]),
                         "contributors": None if body is None else {
                             c["dataset"]: int(c["n"]) for c in body["contributors"]},
                         "record": body})
    frame = pd.DataFrame(rows)
    assert len(frame), f"no pooled cells of {element}"
    assert frame["record"].notna().any(), f"no pooled cell of {element} answers its record"
    return frame


def _known_counts(pooled: pd.DataFrame, known: list[pd.DataFrame]) -> np.ndarray:
    """How many of each pooled cell's samples the attacker knows (public surveys)."""
    out = np.zeros(len(pooled), dtype=np.int64)
    for f in known:
        for i, (lv, key) in enumerate(zip(pooled["level_m"], pooled["key"], strict=True)):
            out[i] += int((_keys(f, lv) == key).sum())
    return out


def _pooled_store(store: Any, element: str, scope: str = "public") -> pd.DataFrame:
    """The cells of a pooled layer straight from the store (a naive build has no API)."""
    from chemearth.grid.pooled import pooled_cells, pooled_contributors

    cells = pooled_cells(store, element, scope=scope, medium=MEDIUM)
    contrib = pooled_contributors(store, element, scope=scope, medium=MEDIUM)
    by = defaultdict(dict)
    for r in contrib.itertuples():
        by[(int(r.level_m), int(r.cell))][str(r.dataset_id)] = int(r.n)
    cells = cells.assign(key=cells["cell"].astype(np.int64), level_m=cells["level_m"].astype(int))
    cells["contributors"] = [by[(lv, k)] for lv, k in zip(cells["level_m"], cells["key"],
                                                          strict=True)]
    return pd.DataFrame(cells)


def _samples(store: Any, dataset: str, element: str) -> pd.DataFrame:
    """A dataset's located humus values of ``element`` (for the attacker, a public
    survey's samples, which download; for the oracle, the aggregated dataset's)."""
    m = store.measurements(dataset, elements=[element])
    m = m[(m["medium"].astype(str) == MEDIUM)].dropna(subset=["value", "longitude",
                                                                "latitude"])
    return pd.DataFrame({"longitude": m["longitude"].to_numpy(float),
                         "latitude": m["latitude"].to_numpy(float),
                         "value": m["value"].to_numpy(float)})


def _keys(frame: pd.DataFrame, level_m: int) -> np.ndarray:
    return np.asarray(GRID.cell_keys(frame["longitude"].to_numpy(float),
                                     frame["latitude"].to_numpy(float), int(level_m)))


# --------------------------------------------------------------------------- the attack


@dataclasses.dataclass(frozen=True)
class Share:
    """One published set of the aggregated dataset's samples, as the attacker has it."""

    source: str  # "pooled", "own" or "root"
    level_m: int
    key: int
    n: int
    slog: float | None  # sum of natural logs of its values


def _shares(pooled: pd.DataFrame, known: list[pd.DataFrame], target: str) -> list[Share]:
    """The aggregated dataset's share of every pooled cell: the cell minus the known
    public samples in it (checked against the cell's contributors)."""
    out = []
    for row in pooled.itertuples():
        n_known, slog_known = 0, 0.0
        for f in known:
            v = f["value"].to_numpy(float)[_keys(f, row.level_m) == row.key]
            assert (v > 0).all()
            n_known += len(v)
            slog_known += float(np.log(v).sum())
        n = int(row.n) - n_known
        if row.contributors is not None:  # the cell's record says the same
            assert n == row.contributors.get(target, 0), (row.level_m, row.key)
            assert int(row.n) == sum(row.contributors.values())
        if n == 0:
            continue
        slog = (int(row.n) * math.log(row.gmean) - slog_known
                if row.gmean is not None and np.isfinite(row.gmean) else None)
        out.append(Share("pooled", int(row.level_m), int(row.key), n, slog))
    return out


def _own_shares(client: Any, element: str) -> list[Share]:
    """The aggregated dataset's own published cells (global grid: the only one published)
    and its baseline, as the API gives them to anonymous users."""
    cells = _published_cells(client, element)
    cells = cells[(cells["grid"] == "global") & (cells["medium"] == MEDIUM)]
    out = [Share("own", int(r.level_m), int(r.key), int(r.n),
                 int(r.n) * math.log(r.gmean) if r.gmean is not None else None)
           for r in cells.itertuples()]
    base = _baseline(client, element)
    if base is not None:
        g = base.get("gmean")
        out.append(Share("root", 0, 0, int(base["n"]),
                         int(base["n"]) * math.log(g) if g is not None else None))
    return out


def _recover(shares: list[Share]) -> list[tuple[int, float]]:
    """Groups of 1..K-1 samples the attacker isolates, with their geometric means: a
    share itself; a pooled share against the own cell of the same place; a set minus its
    nearest published descendants (every level nesting in it, and the baseline)."""
    found: list[tuple[int, float]] = []

    def gm(n: int, slog: float | None) -> float:
        return math.exp(slog / n) if slog is not None else math.nan

    sets: dict[tuple[int, int], list[Share]] = defaultdict(list)
    for s in shares:
        if 0 < s.n < K:
            found.append((s.n, gm(s.n, s.slog)))
        sets[(s.level_m, s.key)].append(s)
    for same in sets.values():
        for a in same:
            for b in same:
                if 0 < a.n - b.n < K:
                    d = None if a.slog is None or b.slog is None else a.slog - b.slog
                    found.append((a.n - b.n, gm(a.n - b.n, d)))
    one = {place: max(same, key=lambda s: s.n) for place, same in sets.items()}
    children = _nearest_descendants(one)
    tried = 0
    for place, kids in children.items():
        if place not in one or not kids:
            continue
        tried += 1
        p = one[place]
        r = p.n - sum(c.n for c in kids)
        if 0 < abs(r) < K:
            d = None if p.slog is None or any(c.slog is None for c in kids) else (
                p.slog - sum(c.slog for c in kids))  # type: ignore[misc]
            found.append((abs(r), gm(r, d) if d is not None else math.nan))
    print(f"pooled differencing: {len(shares)} shares, {tried} subtractions, "
          f"{len(found)} groups of fewer than {K} recovered")
    return found


def _nearest_descendants(one: dict[tuple[int, int], Share]
                         ) -> dict[tuple[int, int], list[Share]]:
    """Each set's nearest published descendants (levels nest: a tree; (0, 0): the root)."""
    levels = sorted({lv for lv, _ in one if lv}, reverse=True)
    children: dict[tuple[int, int], list[Share]] = defaultdict(list)
    for (lv, key), s in one.items():
        if lv == 0:
            continue
        for up in sorted(u for u in levels if u > lv and GRID.nests(lv, u)):
            parent = (up, int(GRID.parent(np.array([key]), up)[0]))
            if parent in one:
                children[parent].append(s)
                break
        else:
            children[(0, 0)].append(s)
    return children


def _atoms(shares: list[Share], truth: pd.DataFrame) -> np.ndarray:
    """The oracle: sizes of the atoms of the published sets over the true samples (each
    set's count checked against the true samples at its place)."""
    member = []
    for s in shares:
        row = np.ones(len(truth), dtype=bool) if s.source == "root" else (
            _keys(truth, s.level_m) == s.key)
        assert row.sum() == s.n, (s, int(row.sum()))  # the whole cell, not part of it
        member.append(row)
    mat = np.stack(member)
    covered = mat.any(axis=0)
    _, counts = np.unique(mat[:, covered], axis=1, return_counts=True)
    return np.asarray(counts)


def _naive(store: Any, to: Path, public: list[str]) -> Any:
    """A copy of the store with the naive public pooled layers: every aggregated sample
    in every cell (``k = 1``)."""
    from chemearth.grid.pool_plan import PoolSource
    from chemearth.grid.pooled import build_pooled

    copy = _copy(Path(store.location), to)
    latest = copy.datasets().set_index("dataset_id")["version"]
    sources = [PoolSource(ds, int(latest[ds]), frozenset(ELEMENTS)) for ds in public]
    sources.append(PoolSource(AGGREGATED, int(latest[AGGREGATED]), frozenset(ELEMENTS), k=1))
    build_pooled(copy, sources, scope="public", grids=("global",), levels=POOLED_LEVELS,
                 force=True)
    return copy


# --------------------------------------------------------------------------- differencing


@pytest.mark.slow
@pytest.mark.parametrize("element", ELEMENTS)
def test_pooled_differencing_recovers_no_group(attacked_client: Any, attacked_store: Any,
                                               element: str) -> None:
    """The store with sharing rules (both backends): its public humus layers pool Kola
    humus alone, under control; every share the attacker can form holds >= k samples."""
    pooled = _pooled_api(attacked_client, element)
    assert set().union(*pooled["contributors"].dropna()) == {AGGREGATED}
    assert 4_000 not in set(pooled["level_m"]), "4 km cells straddle 10 km cells"
    shares = _shares(pooled, [], AGGREGATED)
    own = _own_shares(attacked_client, element)
    # every pooled share is a set the dataset publishes itself, with the same count
    published = {(s.level_m, s.key): s.n for s in own}
    assert {(s.level_m, s.key): s.n for s in shares}.items() <= published.items()
    assert _recover(shares + own) == []
    truth = _samples(attacked_store.store, AGGREGATED, element)
    assert _atoms(shares + own, truth).min() >= K


@pytest.mark.slow
@pytest.mark.parametrize("element", ELEMENTS)
def test_mixed_cells_recover_no_group(mixed: SimpleNamespace, element: str) -> None:
    """Pooled cells holding public and aggregated samples: subtracting the public ones
    leaves shares of >= k, and no difference of shares, own cells and baseline isolates
    fewer than k."""
    pooled = _pooled_api(mixed.client, element)
    known = [_samples(mixed.store, OPEN, element)]
    mine = _known_counts(pooled, known)
    both = (mine > 0) & (pooled["n"].to_numpy() > mine)
    assert both.sum() >= 50, "the mixed store should mix both surveys in many cells"
    assert ((mine > 0) & ~both).any()  # and keep the aggregated samples out of others
    records = pooled["contributors"].dropna()
    assert records.map(lambda c: set(c) == {OPEN, AGGREGATED}).any()
    shares = _shares(pooled, known, AGGREGATED)
    own = _own_shares(mixed.client, element)
    assert _recover(shares + own) == []
    truth = _samples(mixed.store, AGGREGATED, element)
    assert _atoms(shares + own, truth).min() >= K


@pytest.mark.slow
@pytest.mark.parametrize("where", ["secure", "mixed"])
def test_a_naive_pooled_build_gives_groups_away(secure_store: Any, mixed: SimpleNamespace,
                                                tmp_path: Path, where: str) -> None:
    """The same attack on a naive build (every aggregated sample in every cell) recovers
    groups of fewer than k, and their true geometric means."""
    store, public = ((secure_store.store, [PUBLIC]) if where == "secure"
                     else (mixed.store, [OPEN]))
    naive = _naive(store, tmp_path / "naive", public)
    for element in ELEMENTS:
        pooled = _pooled_store(naive, element)
        known = [_samples(naive, ds, element) for ds in public]
        found = _recover(_shares(pooled, known, AGGREGATED))
        assert found, "the attack should find groups in a naive pooled layer"
        truth = _samples(naive, AGGREGATED, element)
        # a share of one sample is that sample: its value is one of the true values
        singles = [g for n, g in found if n == 1 and np.isfinite(g)]
        assert singles
        assert all(np.isclose(truth["value"], g, rtol=1e-6).any() for g in singles)


# --------------------------------------------------------------------------- order statistics


def _check_order_statistics(pooled: pd.DataFrame, known: list[pd.DataFrame],
                            truth: pd.DataFrame) -> tuple[int, int]:
    """Extremes absent in cells holding aggregated samples; every published percentile
    with k + 1 aggregated values strictly below and above; the MAD with k + 1 distances
    from the median below and above. Returns (percentiles kept, MADs kept)."""
    kept = mads = 0
    shares = pooled["n"].to_numpy() - _known_counts(pooled, known)
    for row, share in zip(pooled.to_dict("records"), shares, strict=True):
        if share == 0:
            continue
        for name in ("min", "max", "dl_max"):
            assert pd.isna(row[name]), (name, row["cell_id"])
            if row["record"] is not None:
                assert row["record"].get(name) is None, (name, row["cell_id"])
        v = truth["value"].to_numpy(float)[_keys(truth, row["level_m"]) == row["key"]]
        assert len(v) == share
        for name in ("p5", "p10", "p25", "median", "p75", "p90", "p95", "p98"):
            p = row[name]
            if pd.notna(p):
                kept += 1
                assert (v < p).sum() >= K + 1, (name, row["cell_id"])
                assert (v > p).sum() >= K + 1, (name, row["cell_id"])
        if pd.notna(row["mad"]):
            mads += 1
            assert pd.notna(row["median"])
            dev = np.abs(v - row["median"])
            assert (dev < row["mad"]).sum() >= K + 1, ("mad", row["cell_id"])
            assert (dev > row["mad"]).sum() >= K + 1, ("mad", row["cell_id"])
    return kept, mads


@pytest.mark.slow
@pytest.mark.parametrize("element", ELEMENTS)
def test_order_statistics_of_pooled_cells_hide_every_aggregated_sample(
    attacked_client: Any, attacked_store: Any, mixed: SimpleNamespace, element: str
) -> None:
    for client, store, public in ((attacked_client, attacked_store.store, []),
                                  (mixed.client, mixed.store, [OPEN])):
        pooled = _pooled_api(client, element)
        known = [_samples(store, ds, element) for ds in public]
        kept, mads = _check_order_statistics(pooled, known,
                                             _samples(store, AGGREGATED, element))
        assert kept > 0
        assert mads > 0
    # the legend of a statistic that is a sample value is refused, as for the dataset
    r = attacked_client.get(f"/api/layers/{POOLED_PUBLIC}/{element}/legend",
                            params={"medium": MEDIUM, "stat": "max"})
    assert r.status_code in (200, 400, 404, 422)
    if r.status_code == 200:  # a legend of no cell: every maximum is withheld
        assert r.json()["n_cells"] == 0


@pytest.mark.slow
def test_a_pooled_mad_is_no_aggregated_samples_distance(mixed: SimpleNamespace) -> None:
    """The leak this suite found: the MAD of a mixed cell was published whenever its
    median was, so it could be the distance of one aggregated sample from the median
    with fewer than k others nearer (public values known, that sample's value is the
    median +- the MAD). Every MAD published now has k + 1 aggregated distances on each
    side, in every cell, level and element of the mixed store."""
    from chemearth.grid.pooled import pooled_cells

    mads = 0
    for element in ELEMENTS:
        cells = pooled_cells(mixed.store, element, medium=MEDIUM)
        contrib = _pooled_store(mixed.store, element)["contributors"]
        truth = _samples(mixed.store, AGGREGATED, element)
        for row, who in zip(cells.to_dict("records"), contrib, strict=True):
            if AGGREGATED not in who or pd.isna(row["mad"]):
                continue
            mads += 1
            v = truth["value"].to_numpy(float)[_keys(truth, row["level_m"]) == row["cell"]]
            dev = np.abs(v - row["median"])
            assert (dev < row["mad"]).sum() >= K + 1
            assert (dev > row["mad"]).sum() >= K + 1
    assert mads > 0


# --------------------------------------------------------------------------- sharing rules


def test_restricted_samples_are_in_no_public_pooled_cell(attacked_client: Any,
                                                         attacked_store: Any) -> None:
    """The oracle counts: every public pooled cell's n is the sum of its contributors,
    all of them Jura or Kola humus; per layer and level, Jura's samples all enter and Kola
    humus's only in cells it publishes; the restricted survey is named nowhere in the
    public scope. NGU's own scope has it, in full."""
    from chemearth.access.gateway import Gateway
    from chemearth.grid.pooled import pooled_contributors, pooled_manifest

    store = attacked_store.store
    man = pooled_manifest(store, "public")
    assert man["layers"]
    named = ({m["dataset_id"] for e in man["layers"] for m in e["members"]}
             | {x["dataset_id"] for x in man["excluded"]} | set(man["sources"]))
    assert named == {PUBLIC, AGGREGATED}
    gw = Gateway(store)
    for e in man["layers"]:
        which = {"medium": e["medium"], "method": e["method"]}
        contrib = pooled_contributors(store, e["element"], **which)
        assert set(contrib["dataset_id"]) <= {PUBLIC, AGGREGATED}
        cells = _pooled_store_layer(store, e)
        sums = contrib.groupby(["level_m", "cell"])["n"].sum()
        assert (cells.set_index(["level_m", "cell"])["n"].sort_index()
                == sums.sort_index()).all()
        for member in e["members"]:
            ds = member["dataset_id"]
            m = store.measurements(ds, elements=[e["element"]])
            m = m[m["medium"].astype(str).isin(member["media"])
                  & (m["method"].fillna("").astype(str) == member["method"])]
            m = m.dropna(subset=["value", "longitude", "latitude"])
            mine = contrib[contrib["dataset_id"] == ds]
            for level_m in e["levels"]:
                got = int(mine.loc[mine["level_m"] == level_m, "n"].sum())
                keys = _keys(m, level_m)
                if ds == PUBLIC:
                    assert got == int((keys >= 0).sum())
                    continue
                assert member["k"] == K
                pub = gw.publication(ds, e["element"], MEDIUM, member["method"], K)
                want = int(pub.published(level_m, keys[keys >= 0]).sum())
                assert got == want, (e["element"], level_m)
    # NGU's scope: the restricted survey in full
    org = pooled_manifest(store, f"org:{OWNER_ORG}")
    flood = [e for e in org["layers"] if e["medium"] == "floodplain"]
    assert flood
    for e in flood:
        contrib = pooled_contributors(store, e["element"], scope=f"org:{OWNER_ORG}",
                                      medium="floodplain", method=e["method"])
        m = store.measurements(SECRET, elements=[e["element"]]).dropna(
            subset=["value", "longitude", "latitude"])
        for level_m in e["levels"]:
            got = contrib[(contrib["level_m"] == level_m) & (contrib["dataset_id"] == SECRET)]
            assert int(got["n"].sum()) == int((_keys(m, level_m) >= 0).sum())
    # and the API: no public answer names it; the owner reaches it
    anon = attacked_client.get("/api/global").text
    assert SECRET not in anon
    owner = attacked_client.get(f"/api/downloads/{POOLED_ORG}/layers/Zn.csv",
                                params={"medium": "floodplain", "level": "1km"},
                                headers=attacked_store.headers("owner"))
    assert owner.status_code == 200
    assert attacked_client.get(f"/api/downloads/{POOLED_ORG}/layers/Zn.csv",
                               params={"medium": "floodplain"}).status_code == 404


def _pooled_store_layer(store: Any, entry: dict[str, Any]) -> pd.DataFrame:
    from chemearth.grid.pooled import pooled_cells

    return pooled_cells(store, entry["element"], medium=entry["medium"],
                        method=entry["method"])


def test_embargoed_elements_enter_no_public_pooled_layer(attacked_client: Any,
                                                         attacked_store: Any) -> None:
    """Ni and Cu of Kola humus: in no public layer (their public layers are Jura's
    topsoil alone, counted), in NGU's own scope in full."""
    from chemearth.grid.pooled import pooled_contributors, pooled_manifest

    store = attacked_store.store
    man = pooled_manifest(store, "public")
    for e in man["layers"]:
        if e["element"] in EMBARGO:
            assert [m["dataset_id"] for m in e["members"]] == [PUBLIC]
            contrib = pooled_contributors(store, e["element"], medium=e["medium"],
                                          method=e["method"])
            assert set(contrib["dataset_id"]) == {PUBLIC}
    assert not [x for x in man["excluded"] if x["element"] in EMBARGO]
    layers = attacked_client.get("/api/layers").json()["layers"]
    for lay in layers:
        if lay["dataset"] == POOLED_PUBLIC and lay["element"] in EMBARGO:
            assert lay["datasets"] == [PUBLIC]
            assert lay["medium"] == "topsoil"
    for element in EMBARGO:
        r = attacked_client.get(f"/api/layers/{POOLED_PUBLIC}/{element}/legend",
                                params={"medium": MEDIUM})
        absent = attacked_client.get(f"/api/layers/{POOLED_PUBLIC}/Og/legend",
                                     params={"medium": MEDIUM})
        assert (r.status_code, r.text) == (absent.status_code,
                                           absent.text.replace("'Og'", f"'{element}'"))
    org = pooled_manifest(store, f"org:{OWNER_ORG}")
    ni = [e for e in org["layers"] if e["element"] == "Ni" and e["medium"] == MEDIUM]
    assert [m["dataset_id"] for m in ni[0]["members"]] == [AGGREGATED]
    assert ni[0]["members"][0]["k"] == 1


def test_baselines_and_exceedance_take_no_aggregated_sample(attacked_client: Any,
                                                            attacked_store: Any) -> None:
    """The public humus layers hold Kola humus alone, under control: no baseline or
    exceedance comes of them (no sample may be used one by one); NGU's own do."""
    for route in ("baselines", "exceedance"):
        url = f"/api/global/{route}/Pb"
        q = {"medium": MEDIUM, "method": METHOD}
        r = attacked_client.get(url, params=q)
        if route == "baselines":
            assert r.status_code == 422, r.text  # no values: Kola humus is left out
            continue
        assert r.status_code == 200, r.text
        body = r.json()
        assert [w["n"] for w in body["world"]] == [0]
        assert body["countries"] == body["cells"] == []
        owner = attacked_client.get(url, params={**q, "scope": f"org:{OWNER_ORG}"},
                                    headers=attacked_store.headers("owner"))
        assert owner.status_code == 200
        n = len(_samples(attacked_store.store, AGGREGATED, "Pb"))
        assert [w["n"] for w in owner.json()["world"]] == [n]
    b = attacked_client.get("/api/global/baselines/Pb",
                            params={"medium": MEDIUM, "method": METHOD,
                                    "scope": f"org:{OWNER_ORG}"},
                            headers=attacked_store.headers("owner")).json()
    world = next(row for row in b["baselines"] if row["weighting"] == "samples")
    assert world["datasets"] == AGGREGATED
    assert world["n"] == len(_samples(attacked_store.store, AGGREGATED, "Pb"))


@pytest.mark.slow
@pytest.mark.parametrize("element", ELEMENTS)
def test_mixed_baselines_and_exceedance_are_the_public_surveys_alone(
    mixed: SimpleNamespace, element: str
) -> None:
    """Where a layer mixes both, baselines and exceedance are those of the public half
    alone: its count, its median; the aggregated dataset is named as left out."""
    q = {"medium": MEDIUM, "method": METHOD}
    b = mixed.client.get(f"/api/global/baselines/{element}", params=q)
    assert b.status_code == 200, b.text
    body = b.json()
    assert any(AGGREGATED in note and "left out" in note for note in body["notes"])
    mine = _samples(mixed.store, OPEN, element)
    for row in body["baselines"]:
        assert row["datasets"] == OPEN
    world = next(row for row in body["baselines"] if row["weighting"] == "samples")
    assert world["n"] == len(mine)
    assert world["median"] == pytest.approx(float(np.median(mine["value"])), rel=1e-9)
    x = mixed.client.get(f"/api/global/exceedance/{element}", params=q)
    assert x.status_code == 200, x.text
    total = sum(int(w["n"]) for w in x.json()["world"])
    assert total == len(mine)


# --------------------------------------------------------------------------- leaks found


def test_a_probe_at_an_aggregated_datasets_sites_learns_nothing(
    mixed: SimpleNamespace, tmp_path: Path
) -> None:
    """The leak this suite found: pooling left out a survey "sampled at the same sites"
    as another, and said so in the public manifest, also when the other was under
    disclosure control. A data owner of another organisation who placed a survey of two
    sites at guessed places learnt, from ``/api/global``, whether the aggregated dataset
    had samples within about 10 m of them. A probe at its sites and one 1 km away are now
    pooled alike."""
    store = _copy(mixed.home, tmp_path / "store")
    lines = (mixed.folder / "aggregated.csv").read_text(encoding="utf-8").splitlines()

    def rows(ids: list[int], dx: float) -> str:
        out = [lines[0]]
        for i, line in zip(ids, (lines[5], lines[9]), strict=True):
            f = line.split(",")
            out.append(",".join([str(i), str(float(f[1]) + dx), *f[2:]]))
        return "\n".join(out) + "\n"

    (tmp_path / "at.csv").write_text(rows([9001, 9002], 0.0), encoding="utf-8")
    (tmp_path / "off.csv").write_text(rows([9003, 9004], 1000.0), encoding="utf-8")
    for ds, f in (("probe-at", "at.csv"), ("probe-off", "off.csv")):
        _ingest(store, _descriptor(id=ds, organisation="GTK", sharing="public"),
                tmp_path / f, mixed.boundaries)
    _build_public(store, frozenset({"Pb"}), (40_000,))
    body = _app(store, mixed.boundaries).get("/api/global").json()
    public = next(s for s in body["scopes"] if s["scope"] == "public")
    layer = next(x for x in public["layers"] if x["element"] == "Pb"
                 and x["medium"] == MEDIUM)
    assert {"probe-at", "probe-off"} <= set(layer["datasets"])
    assert not [x for x in public["excluded"] if x["dataset_id"].startswith("probe")]
    assert AGGREGATED not in str(public["excluded"])


def test_a_survey_restricted_after_the_build_leaves_the_public_pooled_layers(
    mixed: SimpleNamespace, tmp_path: Path
) -> None:
    """The leak this suite found: pooled layers are built by ``chemearth global build``;
    a survey made restricted afterwards (a new version) stayed in the public pooled
    layers, named with its samples in every cell, until the next build. The layers it is
    a member of are now withheld until then, and it is named nowhere."""
    store = _copy(mixed.home, tmp_path / "store")
    client = _app(store, mixed.boundaries)
    before = [x for x in client.get("/api/layers").json()["layers"]
              if x["dataset"] == POOLED_PUBLIC]
    assert {OPEN, AGGREGATED} <= set(before[0]["datasets"])
    desc = _descriptor(id=OPEN, title="Kola humus, now closed", organisation="GTK",
                       sharing="restricted")
    desc = dataclasses.replace(desc, text=desc.text + "\n# version 2: restricted\n")
    _ingest(store, desc, mixed.folder / "open.csv", mixed.boundaries)
    assert client.get(f"/api/datasets/{OPEN}").status_code == 404
    for url in ("/api/layers", "/api/global",
                f"/api/layers/{POOLED_PUBLIC}/Pb/legend?medium={MEDIUM}",
                f"/api/global/baselines/Pb?medium={MEDIUM}&method={METHOD}"):
        r = client.get(url)
        assert r.status_code < 500
        assert OPEN not in r.text, url
        assert "now closed" not in r.text, url
    assert not [x for x in client.get("/api/layers").json()["layers"]
                if x["dataset"] == POOLED_PUBLIC]
    # the next build brings the layers back, without it
    _build_public(store)
    after = [x for x in client.get("/api/layers").json()["layers"]
             if x["dataset"] == POOLED_PUBLIC]
    assert after
    assert all(x["datasets"] == [AGGREGATED] for x in after)
