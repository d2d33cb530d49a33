"""The JSON API: catalogue, elements, downloads, sessions (OGC API - Features: routes_ogc)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import JSONResponse, Response

from chemearth.access.gateway import Gateway
from chemearth.access.policy import Actor
from chemearth.access.pooling import is_pooled
from chemearth.errors import NotFoundError
from chemearth.web.auditing import audit
from chemearth.web.deps import (
    COOKIE,
    ActorDep,
    GatewayDep,
    authenticate,
    base_url,
    check_origin,
    token_source,
)
from chemearth.web.hygiene import is_https

__all__ = ["boundaries_geojson", "router"]

router = APIRouter(prefix="/api")

GEOJSON = "application/geo+json"

Text = Annotated[str | None, Query(max_length=200)]


# ---------------------------------------------------------------------- catalogue


@router.get("/datasets", tags=["catalogue"], summary="Datasets you may see")
def datasets(gw: GatewayDep, actor: ActorDep) -> dict[str, Any]:
    """Catalogue entries: metadata, citation, licence and sharing policy."""
    return {"datasets": gw.datasets(actor)}


@router.get("/datasets/{dataset}", tags=["catalogue"], summary="One dataset")
def dataset(gw: GatewayDep, actor: ActorDep, dataset: str) -> dict[str, Any]:
    """One catalogue entry."""
    return gw.dataset(actor, dataset)


@router.get("/countries", tags=["catalogue"], summary="Per-country table")
def countries(gw: GatewayDep, actor: ActorDep) -> dict[str, Any]:
    """Per country: datasets, samples and data items you may see."""
    return {"countries": gw.countries(actor)}


@router.get("/elements", tags=["catalogue"], summary="Elements")
def elements(gw: GatewayDep, actor: ActorDep) -> dict[str, Any]:
    """Every element you may see, with the datasets holding it."""
    return {"elements": gw.elements(actor)}


@router.get("/elements/{element}", tags=["catalogue"], summary="Baselines of one element")
def element(gw: GatewayDep, actor: ActorDep, element: str) -> dict[str, Any]:
    """Baseline statistics per dataset, medium and method (see docs/baselines.md)."""
    return {"element": element, "baselines": gw.element_baselines(actor, element)}


@router.get(
    "/elements/{element}/plot.png",
    tags=["catalogue"],
    summary="Histogram, boxplot and ECDF",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}},
)
def element_plot(
    gw: GatewayDep, actor: ActorDep, element: str,
    dataset: Annotated[str, Query(max_length=200)],
    medium: Text = None, method: Text = None,
    lang: Annotated[str, Query(pattern="^(en|zh)$")] = "en",
) -> Response:
    """The distribution of one element in one dataset (where sample values are shared)."""
    from chemearth.render.plots import distribution_figure, figure_png

    values, censored, unit = gw.element_values(actor, element, dataset, medium, method)
    fig = distribution_figure(
        values, censored, element=element, unit=unit, title=f"{element} · {dataset}", lang=lang
    )
    return Response(figure_png(fig), media_type="image/png")


_BOUNDARIES: dict[str, bytes] = {}


@router.get(
    "/boundaries.geojson",
    tags=["catalogue"],
    summary="Country boundaries",
    response_class=Response,
    responses={200: {"content": {GEOJSON: {}}}},
)
def boundaries(request: Request) -> Response:
    """Natural Earth admin-0 country outlines (simplified) for the map."""
    return Response(boundaries_geojson(request.app.state.settings.boundaries),
                    media_type=GEOJSON, headers={"Cache-Control": "public, max-age=86400"})


def boundaries_geojson(path: Path | None) -> bytes:
    """The simplified country outlines of ``path`` as GeoJSON (made once per process)."""
    key = str(path)
    if key not in _BOUNDARIES:
        _BOUNDARIES[key] = _simplified_boundaries(path)
    return _BOUNDARIES[key]


def _simplified_boundaries(path: Path | None) -> bytes:
    if path is None:
        return b'{"type": "FeatureCollection", "features": []}'
    import geopandas as gpd
    import shapely

    small = Path(path).with_name("ne_110m_admin_0_countries.geojson")
    src = small if small.is_file() else Path(path)
    frame = gpd.read_file(src, columns=["ISO_A2", "NAME"])
    geom = shapely.simplify(shapely.make_valid(frame.geometry.values), 0.02)
    frame = frame.set_geometry(shapely.set_precision(geom, 0.001))
    return str(frame.to_json(drop_id=True)).encode()


# ---------------------------------------------------------------------- downloads


def _attachment(data: bytes, name: str, media: str, dataset_id: str, request: Request) -> Response:
    return Response(
        data,
        media_type=media,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Link": f'<{base_url(request)}/api/datasets/{dataset_id}>; rel="describedby"',
        },
    )


_LAYER_FORMATS = {"tif": "image/tiff", "nc": "application/x-netcdf", "csv": "text/csv",
                  "parquet": "application/vnd.apache.parquet"}


@router.get(
    "/downloads/{dataset}/layers/{element}.{fmt}",
    tags=["downloads"],
    summary="Download a gridded layer",
    response_class=Response,
    responses={200: {"content": {m: {} for m in _LAYER_FORMATS.values()}}},
)
def download_layer(
    request: Request, gw: GatewayDep, actor: ActorDep, dataset: str, element: str, fmt: str,
    medium: Text = None, method: Text = None,
    grid: Annotated[str | None, Query(max_length=16)] = None,
    level: Annotated[str | None, Query(max_length=16)] = None,
    stat: Annotated[str, Query(max_length=16)] = "median",
) -> Response:
    """A layer as Cloud-Optimised GeoTIFF (one statistic), NetCDF (every statistic),
    GeoParquet (cell polygons, every statistic) or atlas CSV; cells not published to you
    are left out; citation and licence inside. ``pooled:public`` is the pooled world
    layer ("All surveys")."""
    from chemearth.grid.layers import frame_of, raster
    from chemearth.render import export

    if fmt not in _LAYER_FORMATS:
        raise NotFoundError(f"format {fmt!r} not offered; one of {', '.join(_LAYER_FORMATS)}")
    view = gw.layer_view(actor, dataset, element, medium=medium, method=method, grid=grid,
                         level=level, stat=stat)
    which = {
        "dataset_id": view.dataset_id, "version": view.version, "element": view.element,
        "medium": view.medium, "method": view.method, "unit": view.unit,
        "grid": view.grid.name, "level_m": view.level_m,
        "citation": view.citation, "licence": view.licence,
    }
    frame = frame_of(view.cells, which)
    name = f"{dataset}-{element}-{view.level}-{stat if fmt != 'nc' else 'all'}.{fmt}"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / name
        if fmt == "tif":
            da = raster(frame, stat)
            da.attrs.update(citation=view.citation, licence=view.licence)
            export.write_cog(da, out)  # type: ignore[arg-type]
        elif fmt == "nc":
            ds = raster(frame, None)
            ds.attrs.update(references=view.citation, license=view.licence)
            export.write_netcdf(ds, out)  # type: ignore[arg-type]
        elif fmt == "parquet":
            export.write_geoparquet(frame, out)
        else:  # a pooled layer has no one detection limit: its members' differ
            dl = None if is_pooled(dataset) else export.detection_limit(gw.store, frame.attrs)
            export.write_atlas_csv(frame, out, stat, dl)
        data = out.read_bytes()
    return _attachment(data, name, _LAYER_FORMATS[fmt], dataset, request)


_SAMPLE_FORMATS = {"csv": "text/csv", "gpkg": "application/geopackage+sqlite3"}


@router.get(
    "/downloads/{dataset}/samples.{fmt}",
    tags=["downloads"],
    summary="Download sample data",
    response_class=Response,
    responses={200: {"content": {m: {} for m in _SAMPLE_FORMATS.values()}}},
)
def download_samples(
    request: Request, gw: GatewayDep, actor: ActorDep, dataset: str, fmt: str,
    element: Annotated[str | None, Query(max_length=400,
                       description="Element(s), comma-separated (default: all).")] = None,
) -> Response:
    """Sample data where the dataset shares them: CSV with the atlas three-line header, or
    GeoPackage; citation and licence inside."""
    from chemearth.render import sample_export

    if fmt not in _SAMPLE_FORMATS:
        raise NotFoundError(f"format {fmt!r} not offered; one of {', '.join(_SAMPLE_FORMATS)}")
    els = [e.strip() for e in element.split(",") if e.strip()] if element else None
    frame = gw.sample_frame(actor, dataset, els)
    cite = {"citation": str(frame.attrs["citation"]), "licence": str(frame.attrs["licence"])}
    name = f"{dataset}-samples.{fmt}"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / name
        if fmt == "csv":
            sample_export.write_samples_csv(frame, out, **cite)
        else:
            sample_export.write_samples_gpkg(frame, out, **cite)
        data = out.read_bytes()
    _audit_download(request, gw, actor, dataset, fmt, frame.attrs.get("elements") or {})
    return _attachment(data, name, _SAMPLE_FORMATS[fmt], dataset, request)


def _audit_download(request: Request, gw: Gateway, actor: Actor, dataset: str, fmt: str,
                    columns: dict[str, str]) -> None:
    """Record a download of sample data that is not public (see chemearth.access.audit)."""
    pol = gw.policy(actor, dataset)
    elements = sorted(set(map(str, columns.values())))
    embargoed = sorted(set(elements) & pol.embargo)
    if pol.sharing != "public" or embargoed:
        audit(request, "download", actor, dataset=dataset, sharing=pol.sharing,
              elements=elements, embargoed=embargoed or None, format=fmt, outcome="sent")


# ---------------------------------------------------------------------- sessions


@router.get("/session", tags=["session"], summary="Who am I")
def whoami(actor: ActorDep) -> dict[str, Any]:
    """The actor of the request's token or session cookie."""
    return actor.to_dict()


def _secure(request: Request) -> bool:
    """Whether the session cookie is marked ``Secure``: always with ``secure_cookies``,
    else when the client came over HTTPS (directly or through a trusted proxy)."""
    settings = request.app.state.settings
    return bool(settings.secure_cookies) or is_https(request.scope, settings.trusted_proxies)


@router.post(
    "/session", tags=["session"], summary="Log in with an API token",
    responses={403: {"description": "Sent from another site."},
               429: {"description": "Too many failed tokens from your address lately."}},
)
def login(
    request: Request,
    token: Annotated[str, Form(max_length=200, description="An API token.")],
) -> JSONResponse:
    """Check a token and keep it in an HttpOnly, SameSite=Strict session cookie
    (``Secure`` over HTTPS). A request from another site (its ``Origin``) is refused."""
    check_origin(request, required=False)
    actor: Actor = authenticate(request, token)
    resp = JSONResponse(actor.to_dict(), headers={"Cache-Control": "no-store"})
    resp.set_cookie(
        COOKIE, token, httponly=True, samesite="strict", path="/",
        secure=_secure(request), max_age=12 * 3600,
    )
    return resp


@router.delete(
    "/session", tags=["session"], summary="Log out",
    responses={403: {"description": "Sent from another site."}},
)
def logout(request: Request) -> JSONResponse:
    """Forget the session cookie (from this site only: ``Origin`` or ``Referer``)."""
    if token_source(request) == "cookie":
        check_origin(request)
    resp = JSONResponse({"detail": "logged out"})
    resp.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict",
                       secure=_secure(request))
    return resp
