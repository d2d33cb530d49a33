"""Assessment routes: standards, screening, change, enrichment, anomalies, blocks and their
map layers. Every answer goes through :class:`chemearth.access.assessor.Assessor`, which applies the
sharing rules."""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from chemearth.access.assessor import CHANGE_CLASSES, CHANGE_CLASSES_ZH, SCREEN_COLOURS, Assessor
from chemearth.jsonable import records
from chemearth.web.caching import body_etag, cached_response
from chemearth.web.deps import ActorDep

__all__ = ["router"]

router = APIRouter()


def assessor(request: Request) -> Assessor:
    """The app's assessor (made on first use over the app's gateway)."""
    a = getattr(request.app.state, "assessor", None)
    if a is None:
        a = request.app.state.assessor = Assessor(request.app.state.gateway)
    return a


AssessorDep = Annotated[Assessor, Depends(assessor)]
Standard = Annotated[str, Query(description="A standard id (see /api/standards).",
                                max_length=64)]
Level = Annotated[str | None, Query(description="Cell size, e.g. 10km.", max_length=16)]
GridQ = Annotated[str, Query(pattern="^(global|europe)$", description="The grid.")]
GEOJSON = "application/geo+json"
MaxDistance = Annotated[float | None, Query(
    gt=0, le=1000, description="Samples of two datasets that declare no shared sites pair "
    "when this close (m; default 20).")]


def _numbers(text: str) -> list[float]:
    """``"30,60,120"`` as numbers; anything else is the client's error (422)."""
    from chemearth.assess.blocks import BlockError

    try:
        out = [float(t) for t in text.split(",")]
    except ValueError:
        raise BlockError("thresholds: give numbers in mg/kg separated by commas") from None
    if not all(math.isfinite(v) and v > 0 for v in out):
        raise BlockError("thresholds must be positive numbers")
    return out


def _geojson(doc: dict[str, Any]) -> JSONResponse:
    return JSONResponse(doc, media_type=GEOJSON)


@router.get("/api/standards", tags=["Assessment"], summary="Soil-quality standards")
def standards(a: AssessorDep) -> list[dict[str, Any]]:
    """Every standard with its levels, classes, pH bands, land uses, limits and citation."""
    return a.standards()


@router.get("/api/standards/{standard_id}", tags=["Assessment"], summary="One standard")
def standard(a: AssessorDep, standard_id: str) -> dict[str, Any]:
    """One standard's limits (mg/kg, per element, level, land use and pH band)."""
    return a.standard(standard_id).to_dict()


@router.get("/api/assess/screening/{dataset}", tags=["Assessment"],
            summary="Screening against a soil-quality standard")
def screening(
    a: AssessorDep, actor: ActorDep, dataset: str,
    standard: Standard = "gb15618-2018",
    land_use: Annotated[str | None, Query(max_length=64)] = None,
    by: Annotated[str, Query(pattern="^(sample|cell|country|all)$")] = "all",
    grid: GridQ = "global", level: Level = None,
    elements: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    """Counts and percentages above each level of the standard, and its classes: per
    sample (full access only), per grid cell, per country or overall. Cells and regions
    of fewer than k samples are left out for aggregated datasets."""
    return a.screening(actor, dataset, standard, land_use=land_use, by=by, grid=grid,
                       level=level or "10km",
                       elements=[e for e in (elements or "").split(",") if e] or None)


@router.get("/api/assess/change/{dataset}/{element}", tags=["Assessment"],
            summary="Change per grid cell between two campaigns")
def change(
    a: AssessorDep, actor: ActorDep, dataset: str, element: str,
    against: Annotated[str | None, Query(description="The later campaign's dataset.",
                                         max_length=64)] = None,
    grid: GridQ = "global", level: Level = None,
    pairing: Annotated[str, Query(pattern="^(auto|sites|independent)$")] = "auto",
    max_distance: MaxDistance = None,
) -> list[dict[str, Any]]:
    """Change in median from ``dataset`` to ``against`` per cell: bootstrap interval,
    rank test, false-discovery-rate adjusted p and direction. Sites pair by sample id only
    where one dataset declares the other's sites, else by co-location; paired change needs
    the samples of both datasets (403 otherwise)."""
    frame = a.change(actor, dataset, against or dataset, element, grid=grid,
                     level=level or "20km", pairing=pairing, max_distance_m=max_distance)
    return records(frame)


@router.get("/api/assess/enrichment/{dataset}", tags=["Assessment"],
            summary="Enrichment ratios between paired media")
def enrichment(
    a: AssessorDep, actor: ActorDep, dataset: str,
    over: Annotated[str | None, Query(description="The medium below (dataset id).",
                                      max_length=64)] = None,
    elements: Annotated[str | None, Query(max_length=200)] = None,
    max_distance: MaxDistance = None,
) -> list[dict[str, Any]]:
    """Per element, ``dataset`` / ``over`` at the sites sampled in both: paired by sample
    id where one declares the other's sites, else by co-location. Needs the samples of
    both datasets (403 otherwise); no pair at all is a 422."""
    frame = a.enrichment(actor, dataset, over or dataset,
                         [e for e in (elements or "").split(",") if e] or None,
                         max_distance_m=max_distance)
    return records(frame)


@router.get("/api/assess/anomalies/{dataset}/{element}", tags=["Assessment"],
            summary="Ranked anomaly targets (GeoJSON)", response_class=JSONResponse)
def anomalies(
    a: AssessorDep, actor: ActorDep, dataset: str, element: str,
    threshold: Annotated[str, Query(pattern=r"^(tukey|mad2|ubv|sigma2|p\d{1,2}(\.\d+)?)$")]
    = "tukey",
    grid: Annotated[str | None, Query(pattern="^(global|europe)$")] = None,
    level: Level = None,
    associated: Annotated[str | None, Query(max_length=200)] = None,
) -> JSONResponse:
    """Anomaly polygons (cells at or above the threshold), ranked by productivity."""
    return _geojson(a.anomalies(actor, dataset, element, threshold=threshold, grid=grid,
                                level=level,
                                associated=[e for e in (associated or "").split(",") if e]))


@router.get("/api/assess/blocks/{dataset}/{element}", tags=["Assessment"],
            summary="Nested geochemical blocks and metal amounts (GeoJSON)",
            response_class=JSONResponse)
def blocks(
    a: AssessorDep, actor: ActorDep, dataset: str, element: str,
    thresholds: Annotated[str | None, Query(max_length=200)] = None,
    depth: Annotated[float, Query(gt=0, le=10_000)] = 1000.0,
    density: Annotated[float, Query(gt=0, le=25)] = 2.6,
    grid: Annotated[str | None, Query(pattern="^(global|europe)$")] = None,
    level: Level = None,
    known_block: Annotated[str | None, Query(max_length=64)] = None,
    known_lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
    known_lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
    known_resource: Annotated[float | None, Query(gt=0)] = None,
) -> JSONResponse:
    """Blocks at doubling thresholds (or the ones given), with Q = area x depth x density x
    mean concentration in tonnes, and R = Q x k when a known block and resource are given.
    Estimates, with their assumptions."""
    ts = _numbers(thresholds) if thresholds else None
    at = (known_lon, known_lat) if known_lon is not None and known_lat is not None else None
    return _geojson(a.blocks(actor, dataset, element, thresholds=ts, depth_m=depth,
                             density_t_m3=density, grid=grid, level=level,
                             known_block=known_block, known_at=at,
                             known_resource_t=known_resource))


@router.get("/api/assess/legend", tags=["Assessment"], summary="Legend of an assessment layer")
def legend(
    a: AssessorDep,
    kind: Annotated[str, Query(pattern="^(screening|change)$")] = "screening",
    standard: Standard = "gb15618-2018",
    element: Annotated[str | None, Query(max_length=16, description="With screening: "
                                         "the element whose limits to add.")] = None,
    land_use: Annotated[str | None, Query(max_length=64)] = None,
) -> dict[str, Any]:
    """Class names and colours of the screening (per standard) or change layers; with an
    ``element``, the standard's limits of it per level and pH band (``limits``)."""
    if kind == "change":
        return {"kind": kind, "classes": [{"name": n, "name_zh": CHANGE_CLASSES_ZH[n], "colour": c}
                                          for n, c in CHANGE_CLASSES]}
    std = a.standard(standard)
    colours = SCREEN_COLOURS.get(len(std.classes), [])
    out: dict[str, Any] = {
        "kind": kind, "standard": std.id, "title": std.title, "title_zh": std.title_zh,
        "citation": std.citation, "citation_zh": std.citation_zh, "levels": list(std.levels),
        "classes": [{"name": n, "name_zh": (std.classes_zh or std.classes)[i],
                     "colour": colours[i]} for i, n in enumerate(std.classes)]}
    if element:
        out["limits"] = a.standard_limits(standard, element, land_use)
    return out


@router.get("/api/assess/screening/{dataset}/{element}/cell", tags=["Assessment"],
            summary="The screened cell under a point")
def screening_cell(
    a: AssessorDep, actor: ActorDep, dataset: str, element: str,
    lon: Annotated[float, Query(ge=-180, le=180)], lat: Annotated[float, Query(ge=-90, le=90)],
    standard: Standard = "gb15618-2018",
    land_use: Annotated[str | None, Query(max_length=64)] = None,
    grid: GridQ = "global", level: Level = None,
) -> dict[str, Any]:
    """The class of the published cell under (``lon``, ``lat``), its samples above each
    limit of the standard and, for readers of the samples, the cell's own limits and its
    highest ratio of a value to its limit (what the screening tiles show, cell by cell)."""
    return a.screening_cell(actor, dataset, element, standard, lon=lon, lat=lat,
                            land_use=land_use, grid=grid, level=level or "10km")


@router.get(
    "/tiles/assess/{kind}/{dataset}/{element}/{z}/{x}/{y}.png",
    tags=["Assessment"], summary="XYZ tile of an assessment layer", response_class=Response,
    responses={200: {"content": {"image/png": {}}, "description": "A 256 x 256 PNG tile."}},
)
def tile(
    a: AssessorDep, actor: ActorDep, kind: str, dataset: str, element: str,
    z: int, x: int, y: int,
    standard: Standard = "gb15618-2018",
    land_use: Annotated[str | None, Query(max_length=64)] = None,
    against: Annotated[str | None, Query(max_length=64)] = None,
    grid: GridQ = "global", level: Level = None,
    request: Request = None,  # type: ignore[assignment]
) -> Response:
    """Screening (worst class per cell) or change (direction per cell) as map tiles."""
    from chemearth.render.tiles import render_tile

    params = {"standard": standard, "land_use": land_use, "against": against, "grid": grid,
              "level": level}
    index, colours, _ = a.layer(actor, kind, dataset, element, **params)
    png = render_tile(index, z, x, y, colours, opacity=0.85)
    return cached_response(png, "image/png", body_etag(png), actor.role == "anonymous",
                           request)
