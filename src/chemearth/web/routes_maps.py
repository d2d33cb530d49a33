"""Interpolated surfaces (description, legend, tiles) and atlas pages (PNG, PDF). Every
answer goes through :class:`chemearth.access.mapper.Mapper`, which applies the sharing rules."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from chemearth.access.mapper import Mapper
from chemearth.web.caching import body_etag, cached_response
from chemearth.web.deps import ActorDep

__all__ = ["router"]

router = APIRouter()


def mapper(request: Request) -> Mapper:
    """The app's mapper (made on first use over the app's gateway)."""
    m = getattr(request.app.state, "mapper", None)
    if m is None:
        m = request.app.state.mapper = Mapper(request.app.state.gateway,
                                              request.app.state.settings.boundaries)
    return m


MapperDep = Annotated[Mapper, Depends(mapper)]
Method = Annotated[str, Query(pattern="^(kriging|idw)$",
                              description="Ordinary kriging (ln values) or IDW.")]
GridQ = Annotated[str, Query(pattern="^(global|europe)$", description="The grid.")]
Level = Annotated[str, Query(pattern=r"^\d+(\.\d+)?(km|m)?$",
                                 description="Cell size: 10km, 500m or metres.")]
Lang = Annotated[str, Query(pattern="^(en|zh)$", description="Label language.")]


@router.get("/api/surfaces/{dataset}/{element}", tags=["Maps"],
            summary="An interpolated surface: variogram, cross-validation and legend")
def surface(m: MapperDep, actor: ActorDep, dataset: str, element: str,
            method: Method = "kriging", grid: GridQ = "global", level: Level = "10km"
            ) -> dict[str, Any]:
    """How the surface of ``element`` is made (block estimates on the cells of ``level``):
    the variogram, leave-one-out cross-validation errors, cell count and legend classes.
    Needs access to the samples. ``qc``: the quality-control verdict of the measurement
    interpolated (as in the layer's legend), else null."""
    from chemearth.access.fitness import Fitness

    _, d = m.surface(actor, dataset, element, method=method, grid=grid, level=level)
    return {**d, "qc": Fitness(m.gw).verdict(actor, dataset, element, d.get("method"),
                                             str(d.get("unit") or ""))}


@router.get(
    "/tiles/surface/{dataset}/{element}/{z}/{x}/{y}.png",
    tags=["Maps"], summary="XYZ tile of an interpolated surface", response_class=Response,
    responses={200: {"content": {"image/png": {}}, "description": "A 256 x 256 PNG tile."}},
)
def surface_tile(m: MapperDep, actor: ActorDep, dataset: str, element: str, z: int, x: int,
                 y: int, method: Method = "kriging", grid: GridQ = "global",
                 level: Level = "10km",
                 request: Request = None,  # type: ignore[assignment]
                 ) -> Response:
    """The surface's cells in seven cumulative-frequency classes."""
    from chemearth.render.tiles import render_tile

    index, colours = m.layer(actor, dataset, element, method=method, grid=grid, level=level)
    png = render_tile(index, z, x, y, colours, opacity=0.85)
    return cached_response(png, "image/png", body_etag(png), actor.role == "anonymous",
                           request)


@router.get(
    "/atlas/{dataset}/{element}.{fmt}",
    tags=["Maps"], summary="An element's atlas page (PNG or PDF)", response_class=Response,
    responses={200: {"content": {"image/png": {}, "application/pdf": {}},
                     "description": "The A4 page: map, distribution plot, statistics."}},
)
def atlas_page(m: MapperDep, actor: ActorDep, dataset: str, element: str, fmt: str,
               lang: Lang = "en",
               kind: Annotated[str, Query(pattern="^(surface|cells|points)$")] = "surface",
               method: Annotated[str | None, Query(
                   max_length=200, description="Analytical method as stored "
                   "(default: the one closest to a total digestion).")] = None,
               request: Request = None,  # type: ignore[assignment]
               ) -> Response:
    """The element's page of the dataset's atlas, as on ``chemearth atlas``."""
    from chemearth.errors import NotFoundError

    if fmt not in ("png", "pdf"):
        raise NotFoundError(f"no atlas page format {fmt!r}: png or pdf")
    body = m.atlas_page(actor, dataset, element, fmt=fmt, lang=lang, kind=kind,
                        method=method or None)
    media = "image/png" if fmt == "png" else "application/pdf"
    name = f"{dataset}-{element}-atlas.{fmt}"
    return cached_response(body, media, body_etag(body), actor.role == "anonymous", request,
                           {"Content-Disposition": f'inline; filename="{name}"'})
