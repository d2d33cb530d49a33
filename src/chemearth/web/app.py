"""The FastAPI application: :func:`create_app` over a store.

Domain errors become HTTP errors here, at the edge, and nowhere else:

=======================  ======
error                    status
=======================  ======
AuthenticationError      401
AccessDenied             403
NotFoundError            404
TooManyCellsError        413
InputTooLargeError       413
TooManyAttempts          429 (with ``Retry-After``)
FilterError              400 (a CQL2 filter that cannot be read or applied)
other ChemearthError     422
any other exception      500 (one line, no traceback)
=======================  ======

Every message comes from the core query layer, which never names what the actor may
not see.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chemearth.access.audit import AuditLog
from chemearth.access.catalogue import MAX_ROWS
from chemearth.access.filtering import FilterError
from chemearth.access.gateway import Gateway
from chemearth.access.jobs import JobWorker
from chemearth.access.media import MediaRules
from chemearth.config import (
    DEFAULT_AUTH_FAILURES,
    DEFAULT_MIN_CELL_N,
    DEFAULT_TILE_CACHE,
    node_modules_dir,
)
from chemearth.errors import (
    AccessDenied,
    AuthenticationError,
    ChemearthError,
    InputTooLargeError,
    NotFoundError,
    TooManyCellsError,
)
from chemearth.store.base import Store
from chemearth.web.hygiene import FailedAttempts, Hygiene, TooManyAttempts

__all__ = ["WebSettings", "create_app", "find_dist", "find_leaflet"]

log = logging.getLogger("chemearth.web")

_HERE = Path(__file__).parent


def find_leaflet() -> Path | None:
    """Leaflet's ``dist`` folder from ``npm ci`` (``CHEMEARTH_NODE_MODULES`` or the checkout)."""
    return find_dist("leaflet", "leaflet.js")


def find_dist(package: str, entry: str, folder: str = "dist") -> Path | None:
    """The ``dist`` folder (or ``folder``; ``""`` for the package's own) of an npm
    ``package`` holding ``entry``, from ``npm ci``.

    Looked for in ``CHEMEARTH_NODE_MODULES``, then in ``node_modules`` of the working
    folder and of the checkout.

    Examples
    --------
    >>> dist = find_dist("maplibre-gl", "maplibre-gl.js")  # the globe view's MapLibre GL JS
    >>> dist is None or (dist / "maplibre-gl.js").is_file()
    True
    """
    candidates = []
    env = node_modules_dir()
    if env is not None:
        candidates.append(env)
    candidates += [p / "node_modules" for p in (Path.cwd(), *_HERE.parents)]
    for nm in candidates:
        dist = nm / package / folder
        if (dist / entry).is_file():
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
        Always mark the session cookie ``Secure`` (it is marked anyway when the request
        came over HTTPS, directly or through a trusted proxy).
    trusted_proxies : tuple of str
        Addresses of reverse proxies whose ``X-Forwarded-For``, ``X-Forwarded-Proto``
        and ``X-Forwarded-Host`` are believed (none by default).
    auth_failures : int
        Failed token attempts one client address may make per ``auth_window_s`` before
        its tokens are refused with 429 (0: no limit).
    auth_window_s : float
        The window of ``auth_failures``, in seconds.
    access_log : Path or str, optional
        Where the HTTP access log goes (:mod:`chemearth.web.access_log`): a file, or
        ``"-"`` for standard error; None writes none.
    media : MediaRules
        Size limits and the GPS warning distance of photo and video uploads
        (:class:`chemearth.access.media.MediaRules`).
    """

    boundaries: Path | None = None
    k: int = DEFAULT_MIN_CELL_N
    max_rows: int = MAX_ROWS
    timeout_s: float = 30.0
    tile_cache: int = DEFAULT_TILE_CACHE
    upload_max_bytes: int = 200 * 1024 * 1024
    secure_cookies: bool = False
    trusted_proxies: tuple[str, ...] = ()
    auth_failures: int = DEFAULT_AUTH_FAILURES
    auth_window_s: float = 60.0
    access_log: Path | str | None = None
    media: MediaRules = field(default_factory=MediaRules)


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
        routes_analytics,
        routes_analytics_fields,
        routes_api,
        routes_assess,
        routes_describe,
        routes_global,
        routes_maps,
        routes_media,
        routes_ogc,
        routes_ogc_tiles,
        routes_pages,
        routes_quality,
        routes_records,
        routes_tiles,
        routes_uploads,
    )
    from chemearth.web.answers import FastAnswers
    from chemearth.web.auditing import AuditUploads
    from chemearth.web.caching import TileCache
    from chemearth.web.deps import carries_token
    from chemearth.web.warmup import Activity, TrackActivity

    settings = settings or WebSettings()
    gateway = Gateway(store, k=settings.k, max_rows=settings.max_rows)
    app = FastAPI(
        title="chemearth",
        version="0.1.0",
        summary="Global-scale geochemical baselines: catalogue, grid layers, tiles and samples.",
        description=(
            "OGC API - Features for samples and cells, OGC API - Tiles and XYZ tiles with "
            "TileJSON for the map layers, OGC API - Records and DCAT-AP for the catalogue, "
            "downloads and uploads. Send an API token as `Authorization: Bearer <token>`; "
            "without one you see what the data owners share publicly."
        ),
        docs_url=None,  # /api/docs: Swagger UI from node_modules (_api_docs)
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.gateway = gateway
    app.state.settings = settings
    app.state.tile_cache = TileCache(settings.tile_cache)
    app.state.auth_guard = FailedAttempts(settings.auth_failures, settings.auth_window_s)
    app.state.audit = AuditLog(store)
    app.state.jobs = JobWorker(store, settings.boundaries)  # started by the first upload
    app.state.activity = Activity()  # the warm-up steps aside for visitors (web.warmup)

    # the last added is the outermost: Hygiene marks every answer, cached tiles included
    app.add_middleware(BoundedTime, timeout_s=settings.timeout_s)
    app.add_middleware(AuditUploads)
    app.add_middleware(routes_tiles.CachedTiles, gateway=gateway, cache=app.state.tile_cache)
    app.add_middleware(FastAnswers, gateway=gateway)  # catalogue and cells (web.answers)
    app.add_middleware(Hygiene, carries_token=carries_token)
    if settings.access_log is not None:  # outermost: every answer is logged
        from chemearth.web.access_log import AccessLog, access_handler

        app.add_middleware(AccessLog, handler=access_handler(settings.access_log),
                           trusted_proxies=settings.trusted_proxies)
    app.add_middleware(TrackActivity, activity=app.state.activity)

    _errors(app)
    app.include_router(routes_tiles.router)
    app.include_router(routes_records.router)  # before routes_ogc: /collections/catalogue
    app.include_router(routes_ogc_tiles.router)
    app.include_router(routes_ogc.router)
    app.include_router(routes_api.router)
    app.include_router(routes_uploads.router)
    app.include_router(routes_media.router)
    app.include_router(routes_describe.router)
    app.include_router(routes_assess.router)
    app.include_router(routes_analytics.router)
    app.include_router(routes_analytics_fields.router)
    app.include_router(routes_global.router)
    app.include_router(routes_maps.router)
    app.include_router(routes_quality.router)
    app.include_router(routes_pages.router)
    app.mount("/static", StaticFiles(directory=_HERE / "static"), name="static")
    leaflet = find_leaflet()
    if leaflet is not None:
        app.mount("/vendor/leaflet", StaticFiles(directory=leaflet), name="leaflet")
    else:
        log.warning("Leaflet not found: run `npm ci` in the checkout (the map needs it)")
    _api_docs(app)
    maplibre = find_dist("maplibre-gl", "maplibre-gl.js")  # the globe view (globe.js)
    if maplibre is not None:
        app.mount("/vendor/maplibre-gl", StaticFiles(directory=maplibre), name="maplibre-gl")
    else:
        log.warning("MapLibre GL JS not found: run `npm ci` in the checkout (the globe needs it)")
    return app


def _api_docs(app: FastAPI) -> None:
    """``/api/docs``: Swagger UI from ``node_modules/swagger-ui-dist``, nothing from the
    internet (no CDN, no validator badge, no remote favicon)."""
    swagger = find_dist("swagger-ui-dist", "swagger-ui-bundle.js", folder="")
    if swagger is None:
        log.warning("Swagger UI not found: run `npm ci` in the checkout (/api/docs needs it)")
        return
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.responses import HTMLResponse

    app.mount("/vendor/swagger-ui", StaticFiles(directory=swagger), name="swagger-ui")

    @app.get("/api/docs", include_in_schema=False)
    def api_docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json", title="chemearth API",
            swagger_js_url="/vendor/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/vendor/swagger-ui/swagger-ui.css",
            swagger_favicon_url="/vendor/swagger-ui/favicon-32x32.png",
            swagger_ui_parameters={"validatorUrl": None})


class BoundedTime:
    """ASGI middleware: answer 503 when a request runs longer than ``timeout_s``.

    A pure ASGI middleware (not Starlette's BaseHTTPMiddleware) so it costs
    microseconds. (:class:`~chemearth.web.hygiene.Hygiene` adds ``nosniff``.)
    """

    def __init__(self, app: ASGIApp, timeout_s: float) -> None:
        self.app = app
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False
        # routes that wait (an upload for its job) stop waiting in time: request.state
        scope.setdefault("state", {})["deadline"] = time.monotonic() + self.timeout_s

        async def send_marked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
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
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})


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
    app.add_exception_handler(InputTooLargeError, handler(413))
    app.add_exception_handler(FilterError, handler(400))
    app.add_exception_handler(ChemearthError, handler(422))

    async def too_many(request: Request, exc: Exception) -> JSONResponse:
        wait = str(getattr(exc, "retry_after", 60))
        return JSONResponse({"detail": str(exc)}, status_code=429,
                            headers={"Retry-After": wait})

    async def internal(request: Request, exc: Exception) -> JSONResponse:
        # answered by Starlette's outermost middleware (which then re-raises, so the
        # server logs the traceback), outside Hygiene: mark it here
        return JSONResponse({"detail": "internal server error"}, status_code=500,
                            headers={"X-Content-Type-Options": "nosniff"})

    app.add_exception_handler(TooManyAttempts, too_many)
    app.add_exception_handler(Exception, internal)
