"""Map layers: the layer list, TileJSON, XYZ PNG tiles, legends and cell look-ups."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Hashable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from chemearth.access.fitness import Fitness
from chemearth.access.gateway import Gateway, LayerView
from chemearth.access.policy import Actor
from chemearth.access.pooling import is_pooled, may_view, scope_of
from chemearth.errors import AuthenticationError, NotFoundError
from chemearth.web.auditing import audit_read
from chemearth.web.caching import TileCache, cache_headers, cached_response
from chemearth.web.deps import ActorDep, GatewayDep, authenticate, base_url

__all__ = ["CachedTiles", "router", "tile_etag", "tile_key"]

router = APIRouter(prefix="/api", tags=["layers and tiles"])

Medium = Annotated[str | None, Query(description="Sampled medium, e.g. `humus`.", max_length=64)]
Method = Annotated[
    str | None, Query(description="Analytical method as stored (`''` for none).", max_length=200)
]
GridQ = Annotated[
    str | None, Query(description="`global` (EPSG:6933) or `europe` (EPSG:3035).", max_length=16)
]
Level = Annotated[
    str | None,
    Query(description="Grid level, e.g. `10km` or `500m` (default: the layer's default).",
          max_length=16),
]
Stat = Annotated[str, Query(description="Cell statistic.", max_length=16)]
Element = Annotated[str, "element symbol"]

MAX_ZOOM = 14


def _view(
    gw: GatewayDep, actor: ActorDep, dataset: str, element: str, medium: str | None,
    method: str | None, grid: str | None, level: str | None, stat: str,
) -> LayerView:
    return gw.layer_view(
        actor, dataset, element, medium=medium, method=method, grid=grid, level=level, stat=stat
    )


def _query(view: LayerView) -> str:
    from urllib.parse import urlencode

    return urlencode(view.query())


@router.get("/layers", summary="The grid layers you may see")
def list_layers(gw: GatewayDep, actor: ActorDep) -> dict[str, Any]:
    """One entry per dataset, element, medium and method, with its grids and levels (the
    quality-control verdict of each is in its legend: it needs the dataset's quality
    report, which the list does not wait for)."""
    from chemearth.access.gateway import PUBLISHED_STATISTICS

    return {"layers": gw.layers(actor), "stats": PUBLISHED_STATISTICS}


@router.get("/layers/{dataset}/{element}/tilejson.json", summary="TileJSON of a layer")
def tilejson(
    request: Request, gw: GatewayDep, actor: ActorDep, dataset: str, element: Element,
    medium: Medium = None, method: Method = None, grid: GridQ = None, level: Level = None,
    stat: Stat = "median",
) -> dict[str, Any]:
    """TileJSON 3.0.0 for the XYZ tiles of one layer (one statistic at one level)."""
    from chemearth.render.layer_index import layer_bounds

    view = _view(gw, actor, dataset, element, medium, method, grid, level, stat)
    base = base_url(request)
    path = f"/api/layers/{dataset}/{element}"
    w, s, e, n = layer_bounds(view.index)
    return {
        "tilejson": "3.0.0",
        "name": f"{view.element} {view.stat} · {view.title} · {view.level}",
        "description": f"{view.element} ({view.unit}), {view.stat} per {view.level} cell, "
        f"{view.medium}" + (f", {view.method}" if view.method else ""),
        "attribution": view.citation,
        "tiles": [f"{base}{path}/tiles/{{z}}/{{x}}/{{y}}.png?{_query(view)}"],
        "minzoom": 0,
        "maxzoom": MAX_ZOOM,
        "bounds": [w, s, e, n],
        "center": [(w + e) / 2, (s + n) / 2, 4],
        "scheme": "xyz",
        "legend": f"{base}{path}/legend?{_query(view)}",
        "licence": view.licence,
    }


@router.get("/layers/{dataset}/{element}/legend", summary="Class limits of a layer")
def legend(
    gw: GatewayDep, actor: ActorDep, dataset: str, element: Element,
    medium: Medium = None, method: Method = None, grid: GridQ = None, level: Level = None,
    stat: Stat = "median",
) -> dict[str, Any]:
    """Cumulative-frequency classes (5, 10, 25, 50, 75, 90, 95, 98 %) with colours and unit,
    and ``qc``: the quality-control verdict of the layer's measurement where
    quality-control data exist (precision of the duplicates, measurement share of the
    variance, fit for mapping, the QC datasets behind it), else null."""
    view = _view(gw, actor, dataset, element, medium, method, grid, level, stat)
    return {**view.legend, "citation": view.citation, "licence": view.licence,
            "qc": Fitness(gw).view_verdict(actor, view)}


@router.get(
    "/layers/{dataset}/{element}/tiles/{z}/{x}/{y}.png",
    summary="XYZ tile of a layer",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}, "description": "A 256 x 256 PNG tile."}},
)
def tile(
    request: Request, gw: GatewayDep, actor: ActorDep, dataset: str, element: Element,
    z: int, x: int, y: int,
    medium: Medium = None, method: Method = None, grid: GridQ = None, level: Level = None,
    stat: Stat = "median",
) -> Response:
    """One Web Mercator (WebMercatorQuad) tile; cells not published are transparent."""
    from chemearth.render.tiles import render_tile

    key = tile_key(gw, actor, dataset, element, request.scope["path"],
                   request.scope["query_string"].decode("latin-1"))
    cache: TileCache = request.app.state.tile_cache
    hit = cache.get(key) if key is not None else None
    if hit is None:
        view = _view(gw, actor, dataset, element, medium, method, grid, level, stat)
        hit = (render_tile(view.index, z, x, y, view.colours), tile_etag(view, z, x, y))
        if key is not None:
            cache.put(key, hit)
    png, etag = hit
    return cached_response(png, "image/png", etag, actor.role == "anonymous", request)


def tile_key(
    gw: Gateway, actor: Actor, dataset: str, element: str, path: str, query: str
) -> tuple[Hashable, ...] | None:
    """What a rendered tile depends on: the catalogue, the request and what the actor
    may see of the dataset (None when the dataset is not visible: nothing is cached)."""
    snap = gw.snapshot()
    if is_pooled(dataset):  # a pooled layer: the same for everyone who may see its scope
        try:
            return (snap.generation, path, query, "pooled") if may_view(
                actor, scope_of(dataset)) else None
        except NotFoundError:
            return None
    pol = snap.policies.get(dataset)
    if pol is None or not pol.visible(actor):
        return None
    return (snap.generation, path, query, pol.min_cell_n(actor),
            pol.element_visible(actor, element))


_TILE_PATH = re.compile(r"^/api/layers/([^/]+)/([^/]+)/tiles/(\d+)/(\d+)/(\d+)\.png$")
#: Tiles one worker process renders at once outside the framework (more only wait for
#: the interpreter lock, and hold up the event loop)
RENDERING = 2


def tile_etag(view: LayerView, z: int, x: int, y: int) -> str:
    """The strong ETag of a tile of ``view``."""
    return '"' + hashlib.blake2b(repr((view.key, z, x, y)).encode(),
                                 digest_size=12).hexdigest() + '"'


class CachedTiles:
    """ASGI middleware: answer tiles without entering the framework.

    A tile already rendered is answered from the cache, for the same actor view the
    route cached it under (:func:`tile_key`); a tile not rendered yet of a layer whose
    view is built for what the actor may see
    (:meth:`~chemearth.access.gateway.Gateway.built_view`) is rendered in a worker thread
    (at most :data:`RENDERING` at once), kept and answered as the route answers it.
    Everything else, including every refusal and error, goes to the application.
    """

    def __init__(self, app: ASGIApp, gateway: Gateway, cache: TileCache) -> None:
        self.app = app
        self.gateway = gateway
        self.cache = cache
        self._limiter: Any = None  # made in the event loop, on first use

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            m = _TILE_PATH.match(scope["path"])
            if m is not None and await self._answer(scope, send, m):
                return
        await self.app(scope, receive, send)

    async def _answer(self, scope: Scope, send: Send, m: re.Match[str]) -> bool:
        conn = HTTPConnection(scope)
        try:  # a failure is counted, and a blocked client refused, by the application
            actor = authenticate(conn, count_failure=False)
        except AuthenticationError:
            return False
        dataset, element = m.group(1), m.group(2)
        query = scope["query_string"].decode("latin-1")
        key = tile_key(self.gateway, actor, dataset, element, scope["path"], query)
        if key is None:
            return False
        hit = self.cache.get(key)
        if hit is None:
            hit = await self._render(scope, actor, dataset, element, m)
            if hit is None:
                return False
            self.cache.put(key, hit)
        audit_read(conn, actor, dataset, element)
        conn.state.actor = actor  # for the access log
        png, etag = hit
        out = [(k.lower().encode(), v.encode())
               for k, v in cache_headers(etag, actor.role == "anonymous").items()]
        if conn.headers.get("if-none-match") == etag:
            await send({"type": "http.response.start", "status": 304, "headers": out})
            await send({"type": "http.response.body", "body": b""})
            return True
        out += [(b"content-type", b"image/png"), (b"content-length", str(len(png)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": out})
        await send({"type": "http.response.body", "body": png})
        return True

    async def _render(self, scope: Scope, actor: Actor, dataset: str, element: str,
                      m: re.Match[str]) -> tuple[bytes, str] | None:
        """The tile as the route renders it, when the layer's view is built; else None."""
        import anyio

        from chemearth.errors import ChemearthError
        from chemearth.render.tiles import render_tile
        from chemearth.web.answers import layer_query

        got = layer_query(scope["query_string"], stat=True)
        if got is None:
            return None
        z, x, y = int(m.group(3)), int(m.group(4)), int(m.group(5))
        try:
            t = got[1]
            view = self.gateway.built_view(
                actor, dataset, element, medium=t["medium"], method=t["method"],
                grid=t["grid"], level=t["level"], stat=t["stat"] or "median")
            if view is None:
                return None
            if self._limiter is None:
                self._limiter = anyio.CapacityLimiter(RENDERING)
            png = await anyio.to_thread.run_sync(
                render_tile, view.index, z, x, y, view.colours, limiter=self._limiter)
        except ChemearthError:  # e.g. a tile that does not exist: the route says so
            return None
        return png, tile_etag(view, z, x, y)


@router.get("/layers/{dataset}/{element}/cell", summary="The cell under a point")
def cell(
    gw: GatewayDep, actor: ActorDep, dataset: str, element: Element,
    lon: Annotated[float, Query(ge=-180, le=180)],
    lat: Annotated[float, Query(ge=-90, le=90)],
    medium: Medium = None, method: Method = None, grid: GridQ = None, level: Level = None,
) -> dict[str, Any]:
    """Statistics and sample count of the published cell at ``lon``, ``lat``, and ``qc``:
    the layer's quality-control verdict (as in the legend; a pooled cell has none)."""
    view = _view(gw, actor, dataset, element, medium, method, grid, level, "median")
    from chemearth.web.answers import cell_answer

    return cell_answer(Fitness(gw), actor, view, lon, lat)


@router.get("/tileMatrixSets", summary="Tile matrix sets (OGC API - Tiles)")
def tile_matrix_sets(request: Request) -> dict[str, Any]:
    """The one tile matrix set of the tiles: WebMercatorQuad."""
    base = base_url(request)
    return {
        "tileMatrixSets": [
            {
                "id": "WebMercatorQuad",
                "title": "Google Maps Compatible for the World",
                "links": [
                    {"rel": "self", "href": f"{base}/api/tileMatrixSets/WebMercatorQuad",
                     "type": "application/json"}
                ],
            }
        ]
    }


@router.get("/tileMatrixSets/{tms_id}", summary="One tile matrix set")
def tile_matrix_set(tms_id: str) -> dict[str, Any]:
    """The OGC 2D TileMatrixSet document (from morecantile)."""
    import morecantile

    from chemearth.errors import NotFoundError

    if tms_id != "WebMercatorQuad":
        raise NotFoundError(f"tile matrix set {tms_id!r} not found; use WebMercatorQuad")
    doc: dict[str, Any] = morecantile.tms.get(tms_id).model_dump(mode="json", exclude_none=True)
    return doc
