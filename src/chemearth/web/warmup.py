"""Warm-up at start: compute what the first pages need, the first page's before the server
answers and the rest beside its first requests.

A fresh worker knows nothing: the first visitor of the map waited for the catalogue
snapshot, the layer list, the country outlines and the opening layer's view (15–27 s on
a loaded machine). :func:`warm` computes them, for an anonymous visitor, through the
same gateway methods the routes call (so the same sharing rules), into the caches the
routes use, which are kept per catalogue snapshot: after a change the first request of
each kind computes it again. In order, within a time budget
(``CHEMEARTH_WARM_S``):

1. the first page (``part="first"``, before ``chemearth serve`` answers, at most
   :data:`FIRST_BUDGET_S`): the catalogue snapshot, the dataset list, layers, elements and
   per-country table (catalogue page, ``/api/datasets``, ``/api/layers``), the country
   outlines, the page templates, and the view of the layer the map opens on (the pooled
   layer of :data:`OPENING_ELEMENTS`, as ``static/app.js`` chooses it; without pooled
   layers the first :data:`FIRST_VIEWS` layers listed);
2. the rest (``part="rest"``, in a thread beside the first requests): the first
   :data:`VIEWS` layers' default grid and level, then the baselines of the opening
   elements (their element pages; the others, and the quality and atlas pages, are kept
   per snapshot once asked for). Each of its steps waits until the worker has answered
   everything it was asked and been idle :data:`IDLE_S` (:class:`Activity`), so the first
   page's requests never share the worker with it.

Each step that fails is logged and skipped: a warm-up never stops the server.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from chemearth.access.gateway import Gateway
from chemearth.access.policy import Actor

__all__ = [
    "FIRST_BUDGET_S",
    "FIRST_VIEWS",
    "IDLE_S",
    "OPENING_ELEMENTS",
    "VIEWS",
    "Activity",
    "TrackActivity",
    "warm",
]

log = logging.getLogger("chemearth.web")

#: Layers (in the order of ``/api/layers``) whose default view is warmed: a part of the
#: gateway's views, which it keeps least recently made out first
VIEWS = 64
#: Layers warmed before the first page when there are no pooled layers to open on
FIRST_VIEWS = 4
#: Longest the first page's warm-up holds back a server's first answer (seconds)
FIRST_BUDGET_S = 5.0
#: The elements the map opens on, first found first (``DEFAULT_ELEMENTS`` of app.js).
OPENING_ELEMENTS = ("Pb", "Cu", "Zn", "As")
#: How long a worker must have been idle before each step of the rest of the warm-up
IDLE_S = 1.0


class Activity:
    """Requests in flight in this worker and when the last one ended (or the worker was
    made), for the warm-up to step aside for visitors.

    Examples
    --------
    >>> a = Activity(); a.begin(); a.idle_for()
    0.0
    >>> a.end(); a.idle_for() < 1.0
    True
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._in_flight = 0
        self._last = time.monotonic()

    def begin(self) -> None:
        with self._lock:
            self._in_flight += 1

    def end(self) -> None:
        with self._lock:
            self._in_flight -= 1
            self._last = time.monotonic()

    def idle_for(self) -> float:
        """Seconds since the last request ended; 0 while one is in flight."""
        with self._lock:
            return 0.0 if self._in_flight else time.monotonic() - self._last

    def wait_idle(self, seconds: float, until: float) -> bool:
        """Wait until idle for ``seconds`` or the monotonic time ``until``; whether idle."""
        while (idle := self.idle_for()) < seconds:
            left = until - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(seconds - idle, left, 0.25))
        return True


class TrackActivity:
    """ASGI middleware counting this worker's HTTP requests into an :class:`Activity`."""

    def __init__(self, app: ASGIApp, activity: Activity) -> None:
        self.app = app
        self.activity = activity

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.activity.begin()
        try:
            await self.app(scope, receive, send)
        finally:
            self.activity.end()


def warm(app: FastAPI, budget_s: float, part: str = "all") -> dict[str, Any]:
    """Compute what the first pages need, for an anonymous visitor, until ``budget_s``
    seconds have passed; returns how many steps ran and failed, whether it stopped at its
    budget, and the time.

    ``part``: ``"first"`` the first page's needs (catalogue, layer list, outlines,
    templates, the layer the map opens on: what ``chemearth serve`` computes before it
    answers), ``"rest"`` the others (more layers' views, baselines: beside the first
    requests), ``"all"`` both.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from chemearth import open_store
    >>> from chemearth.web.app import create_app
    >>> warm(create_app(open_store(Path(tempfile.mkdtemp()))), 5.0)["stopped"]
    False
    """
    t0 = time.monotonic()
    done = failed = 0
    stopped = False
    if part not in ("all", "first", "rest"):
        raise ValueError(f"part must be all, first or rest, not {part!r}")
    activity: Activity | None = getattr(app.state, "activity", None)
    for name, step, of_first in _steps(app):
        if part == "first" and not of_first:
            break  # the first page's steps come first
        if part == "rest" and of_first:
            continue
        if not of_first and activity is not None:  # visitors first
            activity.wait_idle(IDLE_S, t0 + budget_s)
        if time.monotonic() - t0 >= budget_s:  # later steps are made from earlier answers
            stopped = True
            break
        try:
            step()
            done += 1
        except Exception as exc:  # a warm-up never stops the server
            failed += 1
            log.warning("warm-up step %s failed: %s", name, exc)
    seconds = time.monotonic() - t0
    log.info("warm-up: %d steps in %.1f s (%d failed%s)", done, seconds, failed,
             ", stopped at its budget" if stopped else "")
    return {"done": done, "failed": failed, "stopped": stopped, "seconds": seconds}


def _steps(app: FastAPI) -> Iterator[tuple[str, Callable[[], object], bool]]:
    """The warm-up steps, most needed first (later ones are made from earlier answers),
    each with whether the first page needs it (those come first)."""
    from chemearth.web.routes_api import boundaries_geojson
    from chemearth.web.routes_pages import templates

    gw: Gateway = app.state.gateway
    anon = Actor.anonymous()
    yield "catalogue", gw.snapshot, True
    yield "datasets", lambda: gw.datasets(anon), True
    yield "layers", lambda: gw.layers(anon), True
    yield "elements", lambda: gw.elements(anon), True
    yield "countries", lambda: gw.countries(anon), True
    yield "boundaries", lambda: boundaries_geojson(app.state.settings.boundaries), True
    for name in ("map.html", "catalogue.html", "dataset.html", "element.html",
                 "elements.html", "quality.html"):
        yield f"template {name}", partial(templates.get_template, name), True
    layers, primed = gw.layers(anon), set[str]()
    # the layer the map opens on: the pooled default, else (no pooled layers) one of the
    # first layers listed, where the viewer's choice falls
    first = _opening(layers) or layers[:FIRST_VIEWS]
    for entry in first + [x for x in layers[:VIEWS] if x not in first]:
        yield (f"view {entry['dataset']} {entry['element']}",
               partial(_view, gw, anon, entry, primed), entry in first)
    held = {e["element"] for e in gw.elements(anon)}
    for el in (e for e in OPENING_ELEMENTS if e in held):  # ~1.5 s each on the demo store
        yield f"baselines {el}", partial(gw.element_baselines, anon, el), False


def _view(gw: Gateway, actor: Actor, entry: dict[str, Any], primed: set[str]) -> None:
    """Build the default view of a layer entry; the first of each grid also renders a
    tile (which makes the grid's coordinate transformer and loads the PNG encoder)."""
    from chemearth.render.tiles import render_tile

    view = gw.layer_view(actor, entry["dataset"], entry["element"], medium=entry["medium"],
                         method=entry["method"], grid=entry["default_grid"],
                         level=entry["default_level"])
    if view.grid.name not in primed:
        primed.add(view.grid.name)
        render_tile(view.index, 0, 0, 0, view.colours)


def _opening(layers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The layer the map opens on: the public pooled layer of the first of
    :data:`OPENING_ELEMENTS` in topsoil by a total method, else the first pooled layer
    (``pooledDefault`` of app.js); none without pooled layers."""
    pooled = [x for x in layers if str(x["dataset"]).startswith("pooled:")]
    public = [x for x in pooled if x["dataset"] == "pooled:public"] or pooled
    for el in OPENING_ELEMENTS:
        for x in public:
            if x["element"] == el and x["medium"] == "topsoil" and x["method"] == "total":
                return [x]
    return public[:1]
