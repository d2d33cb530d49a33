"""The fast paths of the website (``chemearth.web.answers``, the tile middleware) and the
warm-up (``chemearth.web.warmup``): they answer exactly as the routes do, for the actor who
asked and the catalogue as it is now.

* every cell of real layers, for actors who see them differently: the answer from the
  view's in-memory index equals the route's, word for word (a repeated parameter sends a
  request to the route);
* tiles rendered outside the framework equal the route's;
* each actor's catalogue answers are its own (six actors, answers compared with the
  gateway's), and cached apart;
* a change of the catalogue empties the answer cache: the next answer is new;
* the warm-up computes the first pages' needs and the opening layer's view.
"""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tests.web.conftest import ACTORS, AGGREGATED, PUBLIC, QC_AGGREGATED, SECRET

from chemearth.errors import ChemearthWarning

#: what makes the fast paths hand a request to the route (a parameter given twice, which
#: the routes ignore)
TO_ROUTE = "&route=1&route=1"


def _actor(secure_store: Any, name: str) -> Any:
    from chemearth.access.policy import Actor

    token = secure_store.tokens[name]
    return Actor.anonymous() if token is None else _gw(secure_store).actor(token)


def _gw(secure_store: Any) -> Any:
    from chemearth.access.gateway import Gateway

    return Gateway(secure_store.store)


# --------------------------------------------------------------------------- cells


@pytest.mark.parametrize(("actor", "dataset", "element", "level"), [
    ("anonymous", PUBLIC, "Ni", "1km"),
    ("anonymous", AGGREGATED, "Pb", "40km"),   # under disclosure control
    ("partner", AGGREGATED, "Pb", "40km"),     # the same layer in full
    ("owner", SECRET, "Zn", "500m"),
    ("owner", PUBLIC, "Zn", "1km"),  # with the QC verdict of an aggregated-only QC dataset
])
def test_every_cell_answers_as_the_route(secure_client: Any, secure_store: Any, actor: str,
                                         dataset: str, element: str, level: str) -> None:
    from chemearth.grid.geometry import get_grid
    from chemearth.web.answers import FastAnswers

    assert any(m.cls is FastAnswers for m in secure_client.app.user_middleware)
    headers = secure_store.headers(actor)
    base = f"/api/layers/{dataset}/{element}/cell"
    gw = secure_client.app.state.gateway
    view = gw.layer_view(_actor(secure_store, actor), dataset, element, grid="global",
                         level=level)
    keys = view.cells["cell"].to_numpy(np.int64)
    assert keys.size > 0
    lon, lat = get_grid("global").cell_centres(keys)
    # one request through the route first: the view is then built (and its records made)
    first = secure_client.get(f"{base}?lon={lon[0]}&lat={lat[0]}&grid=global&level={level}",
                              headers=headers)
    assert first.status_code == 200, first.text
    if (actor, dataset) == ("owner", PUBLIC):  # Jura's field duplicates (aggregated-only)
        assert first.json()["qc"]["qc_datasets"] == [QC_AGGREGATED]
    for x, y in zip(lon, lat, strict=True):
        url = f"{base}?lon={x:.6f}&lat={y:.6f}&grid=global&level={level}"
        fast = secure_client.get(url, headers=headers)
        slow = secure_client.get(url + TO_ROUTE, headers=headers)
        assert fast.status_code == slow.status_code == 200, (url, fast.text, slow.text)
        assert fast.content == slow.content, url
        assert fast.headers["content-type"] == slow.headers["content-type"]


def test_a_point_without_a_cell_and_a_hidden_dataset_answer_as_the_route(
        secure_client: Any, secure_store: Any) -> None:
    base = "/api/layers/{}/Pb/cell?lon=0.5&lat=0.5&grid=global&level=40km"
    for url, status in ((base.format(AGGREGATED), 404), (base.format(SECRET), 404)):
        fast = secure_client.get(url)
        slow = secure_client.get(url + TO_ROUTE)
        assert fast.status_code == slow.status_code == status
        assert fast.json() == slow.json()


# --------------------------------------------------------------------------- tiles


@pytest.mark.parametrize("actor", ["anonymous", "partner"])
def test_tiles_rendered_outside_the_framework_are_the_routes(secure_client: Any,
                                                             secure_store: Any,
                                                             actor: str) -> None:
    headers = secure_store.headers(actor)
    q = "medium=humus&grid=global&level=40km&stat=median"
    base = f"/api/layers/{AGGREGATED}/Pb/tiles"
    assert secure_client.get(f"{base}/0/0/0.png?{q}", headers=headers).status_code == 200
    for z, x, y in ((3, 4, 1), (4, 9, 3), (5, 18, 7), (5, 19, 7), (6, 37, 14)):
        fast = secure_client.get(f"{base}/{z}/{x}/{y}.png?{q}&v={actor}", headers=headers)
        slow = secure_client.get(f"{base}/{z}/{x}/{y}.png?{q}{TO_ROUTE}", headers=headers)
        assert fast.status_code == slow.status_code == 200
        assert fast.content == slow.content
        assert fast.headers["etag"] == slow.headers["etag"]
        assert fast.headers["cache-control"] == slow.headers["cache-control"]


# --------------------------------------------------------------------------- catalogue


@pytest.mark.parametrize("path", ["/api/datasets", "/api/layers", f"/api/datasets/{PUBLIC}"])
def test_each_actor_gets_its_own_catalogue_answer(secure_client: Any, secure_store: Any,
                                                  path: str) -> None:
    from chemearth.web.answers import answer_cache

    gw = secure_client.app.state.gateway
    answers = {}
    for name in ACTORS:
        actor = _actor(secure_store, name)
        expected = {
            "/api/datasets": lambda a=actor: {"datasets": gw.datasets(a)},
            "/api/layers": lambda a=actor: {"layers": gw.layers(a), "stats": None},
        }.get(path, lambda a=actor: gw.dataset(a, PUBLIC))()
        for _ in range(2):  # the second from the cache
            got = secure_client.get(path, headers=secure_store.headers(name))
            assert got.status_code == 200
            body = got.json()
            if path == "/api/layers":
                body["stats"] = None
            assert body == json.loads(json.dumps(expected)), (name, path)
        answers[name] = got.content
        assert answer_cache(gw).get((actor, path, b"")) is not None
    # what actors see differs, and each was answered its own
    if path != f"/api/datasets/{PUBLIC}":
        assert answers["anonymous"] != answers["owner"]
        assert SECRET.encode() in answers["owner"]
        assert SECRET.encode() not in answers["public"]


def test_a_bad_token_is_refused_by_the_route(secure_client: Any) -> None:
    got = secure_client.get("/api/datasets", headers={"Authorization": "Bearer ce_x_y"})
    assert got.status_code == 401


def test_a_catalogue_change_empties_the_answer_cache(tmp_path: Path, data_dir: Path,
                                                     boundaries: Path) -> None:
    from fastapi.testclient import TestClient

    from chemearth.ingest.descriptor import load_descriptor
    from chemearth.ingest.pipeline import ingest
    from chemearth.ingest.shipped import shipped_descriptor
    from chemearth.store import open_store
    from chemearth.web import WebSettings, create_app
    from chemearth.web.answers import answer_cache

    store = open_store(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ChemearthWarning)
        ingest(store, load_descriptor(shipped_descriptor("jura")), data_dir=data_dir,
               boundaries=boundaries)
        client = TestClient(create_app(store, WebSettings(boundaries=boundaries)))
        ids = [[d["dataset_id"] for d in client.get("/api/datasets").json()["datasets"]]
               for _ in range(2)]
        assert ids == [["jura"], ["jura"]]
        gw = client.app.state.gateway
        before = answer_cache(gw)
        assert len(before) == 1
        ingest(store, load_descriptor(shipped_descriptor("meuse")), data_dir=data_dir,
               boundaries=boundaries)
        after = [d["dataset_id"] for d in client.get("/api/datasets").json()["datasets"]]
    assert after == ["jura", "meuse"]
    assert answer_cache(gw) is not before
    assert len(answer_cache(gw)) == 1


# --------------------------------------------------------------------------- warm-up


def test_warm_up_builds_what_the_first_page_needs(secure_store: Any, boundaries: Path) -> None:
    from chemearth.access.policy import Actor
    from chemearth.web import WebSettings, create_app
    from chemearth.web.warmup import _opening, warm

    app = create_app(secure_store.store, WebSettings(boundaries=boundaries))
    got = warm(app, 60.0)
    assert got["failed"] == 0
    assert not got["stopped"]
    assert got["done"] > 10
    gw, anon = app.state.gateway, Actor.anonymous()
    snap = gw.snapshot()
    sight = gw.sight(anon)
    assert ("layers", sight, anon.role, anon.organisation) in snap.memo
    layers = gw.layers(anon)
    opening = _opening(layers)
    assert opening
    assert opening[0]["dataset"] == "pooled:public"
    own = next(x for x in layers if not x["dataset"].startswith("pooled:"))
    assert gw.built_view(anon, own["dataset"], own["element"], medium=own["medium"],
                         method=own["method"], grid=own["default_grid"],
                         level=own["default_level"]) is not None


def test_warm_up_stops_at_its_budget(secure_store: Any, boundaries: Path) -> None:
    from chemearth.web import WebSettings, create_app
    from chemearth.web.warmup import warm

    got = warm(create_app(secure_store.store, WebSettings(boundaries=boundaries)), 0.0)
    assert got["done"] == 0
    assert got["stopped"]


def test_the_first_part_of_the_warm_up_builds_the_opening_view_and_stops(
    secure_store: Any, boundaries: Path
) -> None:
    """``part="first"`` (before ``chemearth serve`` answers) builds the opening layer's
    view and no other; ``part="rest"`` builds the others; together they are ``"all"``."""
    from chemearth.access.policy import Actor
    from chemearth.web import WebSettings, create_app
    from chemearth.web.warmup import VIEWS, _opening, _steps, warm

    app = create_app(secure_store.store, WebSettings(boundaries=boundaries))
    gw, anon = app.state.gateway, Actor.anonymous()

    def built(entry: dict[str, Any]) -> bool:
        return gw.built_view(anon, entry["dataset"], entry["element"], medium=entry["medium"],
                             method=entry["method"], grid=entry["default_grid"],
                             level=entry["default_level"]) is not None

    first = warm(app, 60.0, "first")
    layers = gw.layers(anon)
    opening = _opening(layers)  # a pooled layer here: its view is not a built_view's
    assert first["failed"] == 0
    assert len(opening) == 1
    assert [name for name, _step, of_first in _steps(app) if of_first][-1] == (
        f"view {opening[0]['dataset']} {opening[0]['element']}")
    assert first["done"] == sum(of_first for *_, of_first in _steps(app))
    others = [x for x in layers[:VIEWS]  # the datasets' own (built_view sees those)
              if x not in opening and not x["dataset"].startswith("pooled:")]
    assert others
    assert not any(built(x) for x in others)
    rest = warm(app, 60.0, "rest")
    assert rest["failed"] == 0
    assert all(built(x) for x in others)
    assert first["done"] + rest["done"] == warm(app, 60.0)["done"]
    with pytest.raises(ValueError, match="part"):
        warm(app, 1.0, "later")


def test_the_rest_of_the_warm_up_waits_for_visitors(secure_store: Any,
                                                   boundaries: Path) -> None:
    """While a request is in flight (counted by the outermost middleware) the rest of the
    warm-up takes no step: it waits for the worker to be idle, up to its budget."""
    from fastapi.testclient import TestClient

    from chemearth.web import WebSettings, create_app
    from chemearth.web.warmup import IDLE_S, warm

    app = create_app(secure_store.store, WebSettings(boundaries=boundaries))
    activity = app.state.activity
    with TestClient(app) as client:
        assert client.get("/api").status_code == 200
    assert activity.idle_for() < IDLE_S  # the request was counted
    assert warm(app, 60.0, "first")["failed"] == 0
    activity.begin()  # a visitor's request, in flight
    t0 = time.monotonic()
    held = warm(app, 1.5, "rest")
    assert held["done"] == 0
    assert held["stopped"]
    assert time.monotonic() - t0 >= 1.5
    activity.end()
    rest = warm(app, 60.0, "rest")
    assert rest["done"] > 0
    assert rest["failed"] == 0


@pytest.mark.parametrize("written", ["{km:g}km", "{km:g} km", "{m}", "{m}m"])
def test_a_view_built_for_a_level_is_found_however_the_level_is_written(
    secure_store: Any, boundaries: Path, written: str
) -> None:
    """The warm-up builds views with levels in metres; the page asks for ``40km``: the
    fast path finds the view either way (else every first tile went the slow way)."""
    from chemearth.access.policy import Actor
    from chemearth.web import WebSettings, create_app

    app = create_app(secure_store.store, WebSettings(boundaries=boundaries))
    gw, anon = app.state.gateway, Actor.anonymous()
    x = next(x for x in gw.layers(anon) if not x["dataset"].startswith("pooled:"))
    m = int(x["default_level"])
    ask = {"medium": x["medium"], "method": x["method"], "grid": x["default_grid"]}
    level = written.format(km=m / 1000, m=m)
    assert gw.built_view(anon, x["dataset"], x["element"], level=level, **ask) is None
    gw.layer_view(anon, x["dataset"], x["element"], level=m, **ask)
    assert gw.built_view(anon, x["dataset"], x["element"], level=level, **ask) is not None
