"""Fast answers: the catalogue and cell look-ups answered without entering the framework.

:class:`FastAnswers` is an ASGI middleware, beside
:class:`~chemearth.web.routes_tiles.CachedTiles` (inside
:class:`~chemearth.web.hygiene.Hygiene` and the access log, so every answer is marked and
logged as the routes' are). It answers

* ``GET /api/datasets``, ``/api/datasets/{dataset}`` and ``/api/layers`` from a cache of
  the routes' own answers, kept per catalogue snapshot (a new snapshot, after any change
  readers see, starts an empty one) and keyed by the actor (every field of it: the cache
  never hands one actor's answer to another), the path and the query;
* ``GET /api/layers/{dataset}/{element}/cell`` when the layer's view is built already for
  what the actor may see (:meth:`~chemearth.access.gateway.Gateway.built_view`, which asks
  the dataset's policy as :meth:`~chemearth.access.gateway.Gateway.layer_view` does): the
  cell is found in the view's in-memory index and answered as the route answers it.

Anything else goes to the application: a cache miss (whose answer is then kept if it is a
plain 200), a token that fails or a client over the limit of failed tokens, a parameter
out of range or given twice, a layer not built yet, a dataset the actor may not see, a
point without a published cell; so every refusal and error comes from the routes.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any
from urllib.parse import parse_qsl

from pydantic import TypeAdapter
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chemearth.access.fitness import Fitness, Table
from chemearth.access.gateway import Gateway, LayerView, PooledView
from chemearth.access.policy import Actor
from chemearth.errors import AuthenticationError, ChemearthError
from chemearth.web.auditing import audit_read
from chemearth.web.deps import authenticate

__all__ = ["AnswerCache", "FastAnswers", "answer_cache", "catalogue_path", "layer_query"]

#: Answers kept per catalogue snapshot (least recently used out first).
ANSWERS = 1024
#: Largest answer kept.
MAX_BODY = 4 * 1024 * 1024

_CATALOGUE = re.compile(r"^/api/(?:datasets|layers|datasets/([^/]+))$")
_CELL = re.compile(r"^/api/layers/([^/]+)/([^/]+)/cell$")
#: the layer routes' text parameters and their longest values (routes_tiles)
_LAYER_TEXT = {"medium": 64, "method": 200, "grid": 16, "level": 16}
#: a plain decimal number (anything else, e.g. ``nan`` or ``1_0``, is for the route to judge)
_NUMBER = re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$")
_JSON = TypeAdapter(dict[str, Any])  # the routes' serialiser (FastAPI's fast path)
_JSON_HEADERS = [(b"content-type", b"application/json")]


def catalogue_path(path: str) -> tuple[bool, str | None]:
    """Whether ``path`` is a catalogue answer kept by :class:`FastAnswers`, and the
    dataset it names (None for the lists)."""
    m = _CATALOGUE.match(path)
    return (m is not None, m.group(1) if m else None)


class AnswerCache:
    """Whole answers (status, headers, body) of one catalogue snapshot, least recently
    used out first (thread-safe)."""

    def __init__(self, entries: int = ANSWERS) -> None:
        self.entries = entries
        self._answers: OrderedDict[Hashable, tuple[int, list[tuple[bytes, bytes]], bytes]] = (
            OrderedDict())
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> tuple[int, list[tuple[bytes, bytes]], bytes] | None:
        """A kept answer, or None."""
        with self._lock:
            hit = self._answers.get(key)
            if hit is not None:
                self._answers.move_to_end(key)
            return hit

    def put(self, key: Hashable, answer: tuple[int, list[tuple[bytes, bytes]], bytes]) -> None:
        """Keep an answer."""
        with self._lock:
            self._answers[key] = answer
            while len(self._answers) > self.entries:
                self._answers.popitem(last=False)

    def __len__(self) -> int:
        return len(self._answers)


def answer_cache(gw: Gateway) -> AnswerCache:
    """The answer cache of the gateway's current catalogue snapshot."""
    cache: AnswerCache = gw.memo(("web-answers",), AnswerCache)
    return cache


class FastAnswers:
    """ASGI middleware: the catalogue from :class:`AnswerCache`, cells from built views
    (see the module's docstring)."""

    def __init__(self, app: ASGIApp, gateway: Gateway) -> None:
        self.app = app
        self.gateway = gateway
        self.fitness = Fitness(gateway)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            path = scope["path"]
            listed, dataset = catalogue_path(path)
            if listed:
                await self._catalogue(scope, receive, send, dataset)
                return
            m = _CELL.match(path)
            rec = None if m is None else self._cell(scope, m.group(1), m.group(2))
            if rec is not None:
                await _send_json(send, rec)
                return
        await self.app(scope, receive, send)

    def _actor(self, conn: HTTPConnection) -> Actor | None:
        try:  # a failure is counted, and a blocked client refused, by the application
            return authenticate(conn, count_failure=False)
        except AuthenticationError:  # TooManyAttempts too
            return None

    async def _catalogue(self, scope: Scope, receive: Receive, send: Send,
                         dataset: str | None) -> None:
        conn = HTTPConnection(scope)
        actor = self._actor(conn)
        if actor is None:
            await self.app(scope, receive, send)
            return
        cache = answer_cache(self.gateway)
        key = (actor, scope["path"], scope["query_string"])
        hit = cache.get(key)
        if hit is not None:
            audit_read(conn, actor, dataset)  # as the route's current_actor does
            conn.state.actor = actor  # for the access log
            status, headers, body = hit
            await send({"type": "http.response.start", "status": status,
                        "headers": list(headers)})
            await send({"type": "http.response.body", "body": body})
            return
        seen: dict[str, Any] = {"status": 0, "headers": [], "body": []}

        async def keep(message: Message) -> None:
            if message["type"] == "http.response.start":
                seen["status"] = int(message["status"])
                seen["headers"] = [(bytes(k), bytes(v)) for k, v in message.get("headers", [])]
            elif message["type"] == "http.response.body":
                seen["body"].append(bytes(message.get("body", b"")))
                # kept only if the route answered the same actor (a grant changed meanwhile)
                if (not message.get("more_body", False)
                        and (scope.get("state") or {}).get("actor") == actor):
                    _keep(cache, key, seen)
            await send(message)

        await self.app(scope, receive, keep)

    def _cell(self, scope: Scope, dataset: str, element: str) -> dict[str, Any] | None:
        """The cell record the route would answer, or None to let the route answer."""
        params = _cell_params(scope["query_string"])
        if params is None:
            return None
        conn = HTTPConnection(scope)
        actor = self._actor(conn)
        if actor is None:
            return None
        lon, lat, text = params
        try:
            view = self.gateway.built_view(
                actor, dataset, element, medium=text["medium"], method=text["method"],
                grid=text["grid"], level=text["level"])
            if view is None or not view.records_ready:
                return None
            # the verdicts as computed already: a first look-up, which computes the
            # dataset's quality report, is the route's (outside the event loop)
            table = self.fitness.known_table(actor, dataset)
            if table is None:
                return None
            out = cell_answer(self.fitness, actor, view, lon, lat, table)
        except ChemearthError:  # refused, or no cell there: the route says so
            return None
        audit_read(conn, actor, dataset, element)  # as the route's current_actor does
        conn.state.actor = actor  # for the access log
        return out


def cell_answer(fitness: Fitness, actor: Actor, view: LayerView, lon: float, lat: float,
                table: Table | None = None) -> dict[str, Any]:
    """The answer of a cell look-up, the route's and :class:`FastAnswers`' alike: the
    record of the published cell under the point, and ``qc``, the layer's quality-control
    verdict (:meth:`~chemearth.access.fitness.Fitness.view_verdict`, from ``table`` when
    given; a pooled cell has no ``qc``)."""
    rec = fitness.gw.cell_at(view, lon, lat)
    if not isinstance(view, PooledView):
        rec["qc"] = fitness.view_verdict(actor, view, table)
    return rec


def _keep(cache: AnswerCache, key: Hashable, seen: dict[str, Any]) -> None:
    body = b"".join(seen["body"])
    headers: list[tuple[bytes, bytes]] = seen["headers"]
    if (seen["status"] == 200 and len(body) <= MAX_BODY
            and not any(k.lower() == b"set-cookie" for k, _ in headers)):
        cache.put(key, (200, headers, body))


def layer_query(
    query: bytes, numbers: tuple[str, ...] = (), stat: bool = False
) -> tuple[dict[str, float], dict[str, str | None]] | None:
    """The parameters of a layer request (the routes' ``medium``, ``method``, ``grid``,
    ``level``, with ``stat`` its ``stat``, and the required decimal ``numbers``), or None
    when the route should judge them: missing, malformed, too long or given twice. Other
    parameters are ignored, as the routes ignore them."""
    try:
        pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
    except ValueError:
        return None
    q = dict(pairs)
    if len(q) != len(pairs) or not all(_NUMBER.match(q.get(n, "")) for n in numbers):
        return None
    text: dict[str, str | None] = {}
    for name, longest in (_LAYER_TEXT | ({"stat": 16} if stat else {})).items():
        v = q.get(name)
        if v is not None and len(v) > longest:
            return None
        text[name] = v
    if stat and text["stat"] is None:
        text["stat"] = "median"  # the routes' default
    return {n: float(q[n]) for n in numbers}, text


def _cell_params(query: bytes) -> tuple[float, float, dict[str, str | None]] | None:
    """``lon``, ``lat`` (in range) and the layer of a cell query, or None."""
    got = layer_query(query, ("lon", "lat"))
    if got is None:
        return None
    nums, text = got
    lon, lat = nums["lon"], nums["lat"]
    return (lon, lat, text) if -180 <= lon <= 180 and -90 <= lat <= 90 else None


async def _send_json(send: Send, record: dict[str, Any]) -> None:
    body = _JSON.dump_json(record)
    headers = [(b"content-length", str(len(body)).encode()), *_JSON_HEADERS]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
