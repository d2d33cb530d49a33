"""The FastAPI application: :func:`create_app` over a store.

Domain errors become HTTP errors here, at the edge, and nowhere else:

=======================  ======
error                    status
=======================  ======
AuthenticationError      401
AccessDenied             403
NotFoundError            404
TooManyCellsError        413
other ChemearthError     422
=======================  ======

Every message comes from the core query layer, which never names what the actor may
not see.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chemearth.access.catalogue import MAX_ROWS
from chemearth.access.gateway import Gateway
from chemearth.config import DEFAULT_MIN_CELL_N, DEFAULT_TILE_CACHE, node_modules_dir
from chemearth.errors import (
    AccessDenied,
    AuthenticationError,
    ChemearthError,
    NotFoundError,
    TooManyCellsError,
)
from chemearth.store.base import Store

__all__ = ["WebSettings", "create_app", "find_leaflet"]

log = logging.getLogger("chemearth.web")

_HERE = Path(__file__).parent


def find_leaflet() -> Path | None:
    """Leaflet's ``dist`` folder from ``npm ci`` (``CHEMEARTH_NODE_MODULES`` or the checkout)."""
    candidates = []
    env = node_modules_dir()
    if env is not None:
        candidates.append(env)
    candidates += [p / "node_modules" for p in (Path.cwd(), *_HERE.parents)]
    for nm in candidates:
        dist = nm / "leaflet" / "dist"
        if (dist / "leaflet.js").is_file():
            return dist
    return None


@dataclass
class WebSettings:
    """Settings of the website.

    Attributes
    ----------
    boundaries : Path, optional
        Natural Earth admin-0 GeoJSON drawn on the map and used to locate uploads.
    k : int
        Fewest samples behind a published cell of an aggregated-only dataset.
    max_rows : int
        Most rows (features, cells) one request returns.
    timeout_s : float
        Longest a request may run before it is answered with 503.
    tile_cache : int
        Tiles kept in memory.
    upload_max_bytes : int
        Largest upload accepted.
    secure_cookies : bool
        Mark the session cookie ``Secure`` (behind HTTPS).
    """

    boundaries: Path | None = None
    k: int = DEFAULT_MIN_CELL_N
    max_rows: int = MAX_ROWS
    timeout_s: float = 30.0
    tile_cache: int = DEFAULT_TILE_CACHE
    upload_max_bytes: int = 200 * 1024 * 1024
    secure_cookies: bool = False


def create_app(store: Store, settings: WebSettings | None = None) -> FastAPI:
    """The chemearth website and API over ``store``.

    Examples
    --------
    >>> import tempfile
    >>> from chemearth import open_store
    >>> app = create_app(open_store(Path(tempfile.mkdtemp())))
    >>> app.title
    'chemearth'
    """
    from chemearth.web import (
        routes_api,
        routes_assess,
        routes_maps,
        routes_pages,
        routes_quality,
        routes_tiles,
    )
    from chemearth.web.caching import TileCache

    settings = settings or WebSettings()
    gateway = Gateway(store, k=settings.k, max_rows=settings.max_rows)
    app = FastAPI(
        title="chemearth",
        version="0.1.0",
        summary="Global-scale geochemical baselines: catalogue, grid layers, tiles and samples.",
        description=(
            "OGC API - Features for samples and cells, XYZ tiles with TileJSON, catalogue, "
            "downloads and uploads. Send an API token as `Authorization: Bearer <token>`; "
            "without one you see what the data owners share publicly."
        ),
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.gateway = gateway
    app.state.settings = settings
    app.state.tile_cache = TileCache(settings.tile_cache)

    app.add_middleware(BoundedTime, timeout_s=settings.timeout_s)
    app.add_middleware(routes_tiles.CachedTiles, gateway=gateway, cache=app.state.tile_cache)

    _errors(app)
    app.include_router(routes_tiles.router)
    app.include_router(routes_api.router)
    app.include_router(routes_assess.router)
    app.include_router(routes_maps.router)
    app.include_router(routes_quality.router)
    app.include_router(routes_pages.router)
    app.mount("/static", StaticFiles(directory=_HERE / "static"), name="static")
    leaflet = find_leaflet()
    if leaflet is not None:
        app.mount("/vendor/leaflet", StaticFiles(directory=leaflet), name="leaflet")
    else:
        log.warning("Leaflet not found: run `npm ci` in the checkout (the map needs it)")
    return app


class BoundedTime:
    """ASGI middleware: answer 503 when a request runs longer than ``timeout_s``.

    Also marks every response ``X-Content-Type-Options: nosniff``. A pure ASGI
    middleware (not Starlette's BaseHTTPMiddleware) so it costs microseconds.
    """

    def __init__(self, app: ASGIApp, timeout_s: float) -> None:
        self.app = app
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_marked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", []), _NOSNIFF]
            await send(message)

        try:
            async with asyncio.timeout(self.timeout_s):
                await self.app(scope, receive, send_marked)
        except TimeoutError:
            if started:
                raise
            body = json.dumps(
                {"detail": f"the request took longer than {self.timeout_s:g} s"}
            ).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 503,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                        _NOSNIFF,
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})


_NOSNIFF = (b"x-content-type-options", b"nosniff")


def _errors(app: FastAPI) -> None:
    def handler(status: int, headers: dict[str, str] | None = None) -> Any:
        async def handle(request: Request, exc: Exception) -> JSONResponse:
            return JSONResponse({"detail": str(exc)}, status_code=status, headers=headers)

        return handle

    app.add_exception_handler(
        AuthenticationError, handler(401, {"WWW-Authenticate": 'Bearer realm="chemearth"'})
    )
    app.add_exception_handler(AccessDenied, handler(403))
    app.add_exception_handler(NotFoundError, handler(404))
    app.add_exception_handler(TooManyCellsError, handler(413))
    app.add_exception_handler(ChemearthError, handler(422))
