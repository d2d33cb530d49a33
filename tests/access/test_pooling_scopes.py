"""Who enters a pooled scope and who may see it (:mod:`chemearth.access.pooling`).

A small store of real surveys under four sharing policies (the helpers of the website's
secure store, ``tests/web/conftest.py``):

==============  ===========  ============  ==========================================
dataset         policy       organisation  notes
==============  ===========  ============  ==========================================
jura            public       EPFL
kola-humus      aggregated   NGU           Ni and Cu embargoed; k = 3
secret-meuse    restricted   NGU           the Meuse survey under another id
gtk-moss        restricted   GTK           Kola moss, shared with NGU
kola-humus-…    public       NGU           a quality-control dataset (never pooled)
==============  ===========  ============  ==========================================

Every expectation is written out here from the policies above, or counted from
``store.measurements`` with numpy; the pooled layers of the public and NGU scopes are
built once for the module (global grid, 80 and 40 km) into the module's own store: NGU's
by :func:`build_scope` itself, the public one from :func:`sources_for` cut to a few
elements (the admission of the aggregated survey costs a publication per element).
"""

from __future__ import annotations

import dataclasses
import json
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from tests.web.conftest import (
    AGGREGATED,
    EMBARGO,
    OWNER_ORG,
    PUBLIC,
    QC_PUBLIC,
    SECRET,
    SECRET_TITLE,
    _qc_descriptor,
    _with_policy,
)

from chemearth.access.disclosure import CONTROLLED_GRID
from chemearth.access.gateway import Gateway
from chemearth.access.policy import Action, Actor, Resource, Role, allowed
from chemearth.access.pooling import (
    build_scope,
    is_pooled,
    layer_entries,
    manifest_for,
    may_view,
    pooled_id,
    pooled_view,
    scope_actor,
    scope_of,
    sources_for,
    visible_scopes,
)
from chemearth.errors import ChemearthWarning, NotFoundError
from chemearth.grid.geometry import get_grid
from chemearth.grid.pooled import (
    build_pooled,
    pooled_cells,
    pooled_contributors,
    pooled_manifest,
)

SHARED = "gtk-moss"  #: restricted to GTK, shared with NGU
K = 3  #: the default disclosure threshold
LEVELS = (80_000, 40_000)  #: levels of the pooled builds
SCOPES = ("public", f"org:{OWNER_ORG}", "org:GTK", "org:EPFL")

ACTORS = {
    "anonymous": Actor.anonymous(),
    "public": Actor("public", Role.PUBLIC),
    "partner-granted": Actor("partner", Role.PARTNER, grants=frozenset({AGGREGATED})),
    "ngu-partner": Actor("ngu-partner", Role.PARTNER, OWNER_ORG),
    "owner": Actor("owner", Role.OWNER, OWNER_ORG),
    "other-owner": Actor("gtk", Role.OWNER, "GTK"),
    "admin": Actor("admin", Role.ADMIN),
}

#: scope -> the actors who may see its pooled layers (written out from the rules: public
#: for everyone; an organisation's for its owners and partners, and administrators)
MAY_VIEW = {
    "public": set(ACTORS),
    f"org:{OWNER_ORG}": {"ngu-partner", "owner", "admin"},
    "org:GTK": {"other-owner", "admin"},
    "org:EPFL": {"admin"},
}

#: scope -> dataset -> (k, embargoed elements left out); datasets not listed never enter
SOURCES = {
    "public": {PUBLIC: (1, False), AGGREGATED: (K, True)},
    f"org:{OWNER_ORG}": {PUBLIC: (1, False), AGGREGATED: (1, False), SECRET: (1, False),
                         SHARED: (1, False)},
    "org:GTK": {PUBLIC: (1, False), AGGREGATED: (K, True), SHARED: (1, False)},
    "org:EPFL": {PUBLIC: (1, False), AGGREGATED: (K, True)},
}


# ---------------------------------------------------------------------- the store


@pytest.fixture(scope="module")
def secure(tmp_path_factory: pytest.TempPathFactory, data_dir: Path, boundaries: Path):
    """The store (gridded on the global grid at 80, 40 and 10 km), before any pooled
    build; ``elements`` are each dataset's elements as its measurement columns say."""
    from chemearth.grid.layers import build_layers
    from chemearth.ingest.descriptor import load_descriptor
    from chemearth.ingest.pipeline import ingest
    from chemearth.ingest.shipped import shipped_descriptor
    from chemearth.store import open_store

    store = open_store(tmp_path_factory.mktemp("pooling-scopes") / "store")
    descs = [
        _with_policy(load_descriptor(shipped_descriptor(PUBLIC)), organisation="EPFL"),
        _with_policy(load_descriptor(shipped_descriptor(AGGREGATED)), organisation=OWNER_ORG,
                     sharing="aggregated", embargoed_elements=EMBARGO),
        _with_policy(load_descriptor(shipped_descriptor("meuse")), id=SECRET,
                     title=SECRET_TITLE, organisation=OWNER_ORG, sharing="restricted"),
        _with_policy(load_descriptor(shipped_descriptor("kola-moss")), id=SHARED,
                     organisation="GTK", sharing="restricted",
                     sharing_organisations=(OWNER_ORG,)),
    ]
    descs.append(_qc_descriptor(QC_PUBLIC, {d.dataset.id: d for d in descs}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ChemearthWarning)
        for desc in descs:
            ingest(store, desc, data_dir=data_dir, boundaries=boundaries)
    build_layers(store, grids=["global"], levels=[80_000, 40_000, 10_000])
    elements = {}
    for d in descs:
        cols = store.measurement_columns(d.dataset.id, 1)
        elements[d.dataset.id] = frozenset(str(e) for e in cols["element"])
    return SimpleNamespace(store=store, elements=elements)


#: elements of the public build (two embargoed ones among them)
PUBLIC_ELEMENTS = frozenset({"Pb", "Zn", *EMBARGO})


def _build_public(gw: Gateway) -> pd.DataFrame:
    """The public scope as :func:`build_scope` builds it, for :data:`PUBLIC_ELEMENTS`."""
    sources = [dataclasses.replace(s, elements=(s.elements or frozenset()) & PUBLIC_ELEMENTS)
               for s in sources_for(gw, "public")]
    return build_pooled(gw.store, sources, scope="public", grids=("global",), levels=LEVELS)


@pytest.fixture(scope="module")
def built(secure):
    """The public and NGU scopes built; a fresh gateway over the store."""
    gw = Gateway(secure.store)
    before = {name: layer_entries(gw, a) for name, a in ACTORS.items()}
    reports = {"public": _build_public(gw),
               f"org:{OWNER_ORG}": build_scope(gw, f"org:{OWNER_ORG}", grids=("global",),
                                               levels=LEVELS)}
    return SimpleNamespace(store=secure.store, gw=gw, reports=reports, before=before)


def _located(store, ds: str, element: str) -> tuple[np.ndarray, np.ndarray, str, str]:
    """Longitude, latitude, medium and method of a dataset's located values of one
    element (one medium and one method asserted)."""
    m = store.measurements(ds, 1, elements=[element])
    m = m.dropna(subset=["longitude", "latitude", "value"])
    assert m["medium"].astype(str).nunique() == 1
    assert m["method"].astype(str).nunique() == 1
    return (m["longitude"].to_numpy(float), m["latitude"].to_numpy(float),
            str(m["medium"].iloc[0]), str(m["method"].iloc[0]))


# ---------------------------------------------------------------------- permission table


@pytest.mark.parametrize("scope", SCOPES)
@pytest.mark.parametrize("actor", ACTORS)
def test_may_view_table(actor: str, scope: str) -> None:
    expected = actor in MAY_VIEW[scope]
    assert may_view(ACTORS[actor], scope) is expected
    org = scope.removeprefix("org:") if scope != "public" else ""
    res = Resource.organisation_of(org) if org else Resource()
    assert allowed(ACTORS[actor], Action.VIEW_POOLED, res) is expected
    assert allowed(ACTORS[actor], "view-pooled", res) is expected


@pytest.mark.parametrize("actor", ACTORS)
def test_visible_scopes_follow_the_table(actor: str) -> None:
    # duplicates and datasets without an organisation name no scope
    got = visible_scopes(ACTORS[actor], ["NGU", "EPFL", "", "NGU", "GTK"])
    want = [s for s in ("public", "org:EPFL", "org:GTK", "org:NGU")
            if actor in MAY_VIEW[s]]
    assert got == want


@pytest.mark.parametrize(("dataset_id", "scope"), [
    ("pooled:public", "public"), ("pooled:org:NGU", "org:NGU"), ("pooled:org:a:b", "org:a:b"),
])
def test_pooled_ids(dataset_id: str, scope: str) -> None:
    assert is_pooled(dataset_id)
    assert scope_of(dataset_id) == scope
    assert pooled_id(scope) == dataset_id


@pytest.mark.parametrize("dataset_id", ["pooled:", "pooled:org:", "pooled:private", "jura",
                                        "pooled:Public"])
def test_malformed_scopes_are_not_found(dataset_id: str) -> None:
    with pytest.raises(NotFoundError, match="not found"):
        scope_of(dataset_id)


def test_scope_actors() -> None:
    assert scope_actor("public") == Actor.anonymous()
    ngu = scope_actor("org:NGU")
    assert (ngu.role, ngu.organisation, ngu.grants) == (Role.PARTNER, "NGU", frozenset())


# ---------------------------------------------------------------------- sources


@pytest.mark.parametrize("scope", SCOPES)
def test_sources_of_each_scope(secure, scope: str) -> None:
    gw = Gateway(secure.store)
    got = {s.dataset_id: s for s in sources_for(gw, scope)}
    assert set(got) == set(SOURCES[scope])  # restricted ones unseen, QC never
    assert QC_PUBLIC not in got
    for ds, (k, embargoed) in SOURCES[scope].items():
        s = got[ds]
        assert s.version == 1
        assert s.k == k
        assert (s.admit is not None) is (k > 1)
        want = secure.elements[ds] - (set(EMBARGO) if embargoed else set())
        assert s.elements == want, ds
        if embargoed:
            assert not set(EMBARGO) & s.elements


def test_restricted_dataset_enters_its_own_organisation_in_full(secure) -> None:
    gw = Gateway(secure.store)
    assert SECRET not in {s.dataset_id for s in sources_for(gw, "public")}
    own = {s.dataset_id: s for s in sources_for(gw, f"org:{OWNER_ORG}")}
    assert own[SECRET].k == 1
    assert own[SECRET].admit is None
    assert own[SECRET].elements == secure.elements[SECRET]
    assert own[AGGREGATED].elements >= set(EMBARGO)


def test_admission_of_the_aggregated_dataset_is_its_own_publication(secure) -> None:
    """The public source's ``admit`` answers as the dataset's own published cells, and
    every cell it admits holds at least k of the dataset's samples (counted here)."""
    gw = Gateway(secure.store)
    src = next(s for s in sources_for(gw, "public") if s.dataset_id == AGGREGATED)
    lon, lat, medium, method = _located(secure.store, AGGREGATED, "Pb")
    g = get_grid(CONTROLLED_GRID)
    for level in (80_000, 40_000, 10_000):
        keys = np.unique(g.cell_keys(lon, lat, level))
        mask = np.asarray(src.admit(CONTROLLED_GRID, "Pb", medium, method, level, keys))
        pub = gw.publication(AGGREGATED, "Pb", medium, method, K)
        assert mask.tolist() == pub.published(level, keys).tolist()
        assert 0 < mask.sum() < len(keys)  # some cells suppressed at these levels
        cells, counts = np.unique(g.cell_keys(lon, lat, level), return_counts=True)
        n_of = dict(zip(cells.tolist(), counts.tolist(), strict=True))
        assert min(n_of[int(c)] for c in keys[mask]) >= K
        # a level the dataset has no layer at, and another grid, admit nothing
    keys = np.unique(g.cell_keys(lon, lat, 160_000))
    assert not np.asarray(src.admit(CONTROLLED_GRID, "Pb", medium, method, 160_000,
                                    keys)).any()
    assert not np.asarray(src.admit("europe", "Pb", medium, method, 80_000, keys)).any()


# ---------------------------------------------------------------------- built scopes


def test_public_manifest_never_names_what_the_public_may_not_see(built) -> None:
    man = pooled_manifest(built.store, "public")
    assert set(man["sources"]) == {PUBLIC, AGGREGATED}
    text = json.dumps(man)
    for hidden in (SECRET, SECRET_TITLE, SHARED, QC_PUBLIC):
        assert hidden not in text
    humus = {e["element"] for e in man["layers"] if e["medium"] == "humus"}
    assert humus
    assert not humus & set(EMBARGO)
    assert not [x for x in man["excluded"] if x["element"] in EMBARGO
                and x["dataset_id"] == AGGREGATED]  # nor said to be left out
    own = pooled_manifest(built.store, f"org:{OWNER_ORG}")
    assert set(own["sources"]) == {PUBLIC, AGGREGATED, SECRET, SHARED}
    own_humus = {e["element"] for e in own["layers"] if e["medium"] == "humus"}
    assert set(EMBARGO) <= own_humus
    assert any(m["dataset_id"] == SECRET for e in own["layers"] for m in e["members"])


def test_controlled_samples_enter_only_published_cells(built) -> None:
    """Public: kola-humus Pb enters only the cells its own layer publishes, with at least
    k samples, and those cells withhold min, max and dl_max. NGU: every sample, and the
    order statistics are kept."""
    lon, lat, medium, method = _located(built.store, AGGREGATED, "Pb")
    g = get_grid("global")
    pub = built.gw.publication(AGGREGATED, "Pb", medium, method, K)
    for level in LEVELS:
        keys = g.cell_keys(lon, lat, level)
        cells, counts = np.unique(keys, return_counts=True)
        which = {"scope": "public", "level": level, "medium": "humus"}
        c = pooled_contributors(built.store, "Pb", **which)
        c = c[c["dataset_id"] == AGGREGATED]
        assert len(c) > 0
        assert pub.published(level, c["cell"].to_numpy()).all()
        n_of = dict(zip(cells.tolist(), counts.tolist(), strict=True))
        assert c["n"].tolist() == [n_of[int(k)] for k in c["cell"]]
        assert (c["n"] >= K).all()
        assert len(c) == int(pub.published(level, cells).sum())
        stats = pooled_cells(built.store, "Pb", **which).set_index("cell")
        held = stats.loc[c["cell"].to_numpy()]
        assert held[["min", "max", "dl_max"]].isna().all().all()
        # the organisation's own layer: every sample, every cell, nothing withheld
        own = pooled_contributors(built.store, "Pb", scope=f"org:{OWNER_ORG}", level=level,
                                  medium="humus")
        own = own[own["dataset_id"] == AGGREGATED].set_index("cell")["n"]
        assert own.index.tolist() == cells.tolist()
        assert own.tolist() == counts.tolist()
        own_stats = pooled_cells(built.store, "Pb", scope=f"org:{OWNER_ORG}", level=level,
                                 medium="humus")
        assert own_stats[["min", "max"]].notna().all().all()


@pytest.mark.parametrize("actor", ACTORS)
def test_layer_entries_list_only_visible_scopes(built, actor: str) -> None:
    a = ACTORS[actor]
    entries = layer_entries(built.gw, a)
    shown = {e["dataset"] for e in entries}
    want = {"pooled:public"} | ({f"pooled:org:{OWNER_ORG}"}
                                if actor in MAY_VIEW[f"org:{OWNER_ORG}"] else set())
    assert shown == want  # org:EPFL and org:GTK are visible to some but never built
    if actor in ("anonymous", "public"):
        assert not any(e["dataset"].startswith("pooled:org:") for e in entries)
    # the gateway's layer list starts with them, and says the same
    listed = [e for e in built.gw.layers(a) if is_pooled(e["dataset"])]
    assert {e["dataset"] for e in listed} == want
    public = [e for e in entries if e["dataset"] == "pooled:public"]
    assert all(e["title"] == "All surveys" and e["pooled"] and not e["samples"]
               for e in public)
    assert not any(SECRET in e["datasets"] or SHARED in e["datasets"] for e in public)
    assert not any(e["medium"] == "humus" and e["element"] in EMBARGO for e in public)
    own = [e for e in entries if e["dataset"] == f"pooled:org:{OWNER_ORG}"]
    if own:
        assert {e["title"] for e in own} == {f"All surveys, with {OWNER_ORG}'s own"}
        assert any(SECRET in e["datasets"] for e in own)


def test_entries_before_the_build_were_empty(built) -> None:
    assert all(v == [] for v in built.before.values())
    statuses = {s: set(r["status"]) for s, r in built.reports.items()}
    assert statuses == {"public": {"built"}, f"org:{OWNER_ORG}": {"built"}}


@pytest.mark.parametrize("actor", sorted(set(ACTORS) - MAY_VIEW[f"org:{OWNER_ORG}"]))
def test_a_hidden_scope_answers_as_a_missing_one(built, actor: str) -> None:
    a = ACTORS[actor]
    for scope in (f"org:{OWNER_ORG}", "org:NOSUCH"):
        with pytest.raises(NotFoundError) as hidden:
            manifest_for(built.gw, a, scope)
        assert str(hidden.value) == f"dataset {pooled_id(scope)!r} not found"
        with pytest.raises(NotFoundError) as view:
            pooled_view(built.gw, a, pooled_id(scope), "Pb", medium="humus", method=None,
                        grid=None, level=None, stat="median")
        assert str(view.value) == str(hidden.value)


def test_members_see_their_scope_cells_with_contributors(built) -> None:
    view = pooled_view(built.gw, ACTORS["owner"], pooled_id(f"org:{OWNER_ORG}"), "Zn",
                       medium="floodplain", method=None, grid="global", level="40km",
                       stat="median")
    key = int(view.cells["cell"].iloc[0])
    rec = view.cell_record(key)
    assert rec["pooled"] is True
    assert {c["dataset"] for c in rec["contributors"]} == {SECRET}
    assert sum(c["n"] for c in rec["contributors"]) == rec["n"]
    assert rec["contributors"][0]["title"] == SECRET_TITLE
    # the public has no floodplain layer at all: the restricted survey is its only member
    with pytest.raises(NotFoundError, match="no pooled layer"):
        pooled_view(built.gw, ACTORS["anonymous"], "pooled:public", "Zn",
                    medium="floodplain", method=None, grid=None, level=None, stat="median")


@pytest.mark.parametrize("scope", ["public", f"org:{OWNER_ORG}"])
def test_a_second_build_keeps_every_layer(built, scope: str) -> None:
    """A second build of an unchanged scope keeps every layer."""
    if scope == "public":
        report = _build_public(built.gw)
    else:
        report = build_scope(built.gw, scope, grids=("global",), levels=LEVELS)
    assert set(report["status"]) == {"unchanged"}
    assert len(report) == len(built.reports[scope])


@pytest.mark.parametrize("scope", ["private", "org:", "pooled:public", "Public"])
def test_build_scope_refuses_a_malformed_scope(secure, scope: str) -> None:
    with pytest.raises(NotFoundError, match="not found"):
        build_scope(Gateway(secure.store), scope, grids=("global",), levels=LEVELS)


def test_descriptor_helper_kept_the_policies(secure) -> None:
    """The policies the table above assumes are the ones the store holds."""
    cat = secure.store.datasets().set_index("dataset_id")
    assert cat.loc[AGGREGATED, "sharing"] == "aggregated"
    assert sorted(cat.loc[AGGREGATED, "embargoed_elements"]) == sorted(EMBARGO)
    assert cat.loc[SECRET, "sharing"] == "restricted"
    assert list(cat.loc[SHARED, "sharing_organisations"]) == [OWNER_ORG]
    assert cat.loc[QC_PUBLIC, "kind"] == "qc"
