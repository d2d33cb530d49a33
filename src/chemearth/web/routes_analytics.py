"""Analytics routes: fractal thresholds and anomaly zones, composite anomalies, compositional
summaries, probabilistic screening and per-cell change significance. Every answer goes
through :class:`chemearth.access.analyst.Analyst`, which applies the sharing rules; the
map forms (``f=geojson``: cell outlines, sample points) are those answers with geometry
added (:mod:`chemearth.access.analyst_maps`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from chemearth.access.analyst import DEFAULT_STANDARD, Analyst
from chemearth.access.analyst_maps import cells_geojson, score_points
from chemearth.web.deps import ActorDep

__all__ = ["router"]

router = APIRouter()

TAG = "Analytics"
GEOJSON = "application/geo+json"


def analyst(request: Request) -> Analyst:
    """The app's analyst (made on first use over the app's gateway)."""
    a = getattr(request.app.state, "analyst", None)
    if a is None:
        a = request.app.state.analyst = Analyst(request.app.state.gateway)
    return a


AnalystDep = Annotated[Analyst, Depends(analyst)]
GridQ = Annotated[str | None, Query(pattern="^(global|europe)$", description="The grid.")]
Level = Annotated[str | None, Query(pattern=r"^\d+(\.\d+)?(km|m)?$", max_length=16,
                                    description="Cell size: 10km, 500m or metres.")]
Medium = Annotated[str | None, Query(max_length=64, description="Pooled layers: the medium "
                                     "group (e.g. humus).")]
Method = Annotated[str | None, Query(max_length=64, description="The analytical method "
                                     "(default: the one closest to a total).")]
Elements = Annotated[str, Query(max_length=400, description="Element codes separated by "
                                "commas.")]
Form = Annotated[str, Query(pattern="^(json|geojson)$", description="json, or geojson: "
                           "the records as GeoJSON features (cell outlines, sample points).")]
PageLimit = Annotated[int, Query(ge=1, le=10_000, description="GeoJSON form: the most "
                                 "features of one page.")]
PageOffset = Annotated[int, Query(ge=0, le=10_000_000, description="GeoJSON form: the "
                                  "first feature of the page.")]
Breakpoints = Annotated[int | None, Query(ge=1, le=3, description="Number of breakpoints "
                                          "(default: chosen by BIC, 1 to 3).")]


def _elements(text: str | None) -> list[str]:
    return [e.strip() for e in (text or "").split(",") if e.strip()][:40]


def _geojson(doc: dict[str, Any]) -> JSONResponse:
    return JSONResponse(doc, media_type=GEOJSON)


def cells_form(a: Analyst, doc: dict[str, Any], f: str, limit: int, offset: int
           ) -> dict[str, Any] | JSONResponse:
    """A per-cell answer as it is, or (``f=geojson``) a page of its cells as polygons."""
    if f != "geojson":
        return doc
    return _geojson(cells_geojson(doc, limit=limit, offset=offset, most=a.gw.max_rows))


@router.get("/api/analytics/fractal/{dataset}/{element}", tags=[TAG],
            summary="Fractal (C-A or C-N) anomaly thresholds")
def fractal(
    a: AnalystDep, actor: ActorDep, dataset: str, element: str,
    kind: Annotated[str, Query(pattern="^(C-A|C-N)$", description="C-A: cells (area); C-N: "
                               "samples (needs sample access).")] = "C-A",
    grid: GridQ = None, level: Level = None, medium: Medium = None, method: Method = None,
    breakpoints: Breakpoints = None,
) -> dict[str, Any]:
    """Breakpoints of the log-log concentration–area (published cells) or
    concentration–number (samples) curve as thresholds with confidence intervals, the
    segments' exponents, the segmented fit and the curve. A pooled id (``pooled:public``)
    gives C-A thresholds of the pooled layer's cells."""
    return a.thresholds(actor, dataset, element, kind=kind, grid=grid, level=level,
                        medium=medium, method=method, n_breakpoints=breakpoints)


@router.get("/api/analytics/fractal/{dataset}/{element}/zones", tags=[TAG],
            summary="Anomaly zones at 1, 2 and 4 times a threshold (GeoJSON)",
            response_class=JSONResponse)
def zones(
    a: AnalystDep, actor: ActorDep, dataset: str, element: str,
    threshold: Annotated[float | None, Query(gt=0, le=1e9, description="The threshold "
                                             "(default: a C-A breakpoint).")] = None,
    breakpoint: Annotated[int | None, Query(ge=1, le=3, description="Which C-A breakpoint "
                                            "(default: the highest).")] = None,
    grid: GridQ = None, level: Level = None, medium: Medium = None, method: Method = None,
) -> JSONResponse:
    """Outer (>= 1x), middle (>= 2x) and inner (>= 4x) anomaly zones of the element's cell
    surface as polygons in WGS84."""
    return _geojson(a.zones(actor, dataset, element, threshold=threshold,
                            breakpoint=breakpoint, grid=grid, level=level, medium=medium,
                            method=method))


@router.get("/api/analytics/composite/{dataset}", tags=[TAG],
            summary="Composite anomaly of several elements (GeoJSON)",
            response_class=JSONResponse)
def composite(
    a: AnalystDep, actor: ActorDep, dataset: str, elements: Elements,
    grid: GridQ = None, level: Level = None, medium: Medium = None, method: Method = None,
) -> JSONResponse:
    """Each element zoned at its highest C-A threshold on one grid level; polygons by the
    number of elements anomalous. Elements the dataset does not hold are left out."""
    return _geojson(a.composite(actor, dataset, _elements(elements), grid=grid, level=level,
                                medium=medium, method=method))


@router.get("/api/analytics/compositional/{dataset}", tags=[TAG],
            summary="Robust compositional PCA and factors", response_model=None)
def compositional(
    a: AnalystDep, actor: ActorDep, dataset: str,
    elements: Annotated[str | None, Query(max_length=400, description="The parts (default: "
                                          "the elements analysed in 90 % of the samples).")]
    = None,
    factors: Annotated[int, Query(ge=1, le=10)] = 2,
    robust: bool = True,
    scores: Annotated[bool, Query(description="Per-sample scores, robust distances and "
                                  "outlier flags (sample access only).")] = False,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    f: Form = "json",
) -> dict[str, Any] | JSONResponse:
    """Explained variance and clr loadings of the robust (MCD) principal components, and
    the loadings of the robust factors, of the dataset's composition. ``f=geojson``: the
    per-sample scores (``scores`` implied, sample access only) as points at the samples'
    places, the summary as members of the FeatureCollection."""
    if f == "geojson":
        return _geojson(score_points(a, actor, dataset, elements=_elements(elements) or None,
                                     factors=factors, robust=robust, limit=limit,
                                     offset=offset))
    return a.compositional(actor, dataset, elements=_elements(elements) or None,
                           factors=factors, robust=robust, scores=scores, limit=limit,
                           offset=offset)


@router.get("/api/analytics/probability/{dataset}/{element}", tags=[TAG],
            summary="Probability per cell of exceeding a standard's limit",
            response_model=None)
def probability(
    a: AnalystDep, actor: ActorDep, dataset: str, element: str,
    standard: Annotated[str, Query(max_length=64, description="A standard id (see "
                                   "/api/standards).")] = DEFAULT_STANDARD,
    limit_level: Annotated[str, Query(max_length=32, description="The standard's level.")]
    = "screening",
    land_use: Annotated[str | None, Query(max_length=64)] = None,
    ph: Annotated[float | None, Query(ge=0, le=14, description="The soil pH (default: the "
                                      "most protective limit).")] = None,
    grid: Annotated[str, Query(pattern="^(global|europe)$")] = "global",
    level: Level = None,
    quantity: Annotated[str, Query(pattern="^(true|measured)$")] = "true",
    p_lo: Annotated[float, Query(gt=0, lt=1)] = 0.1,
    p_hi: Annotated[float, Query(gt=0, lt=1)] = 0.9,
    f: Form = "json", limit: PageLimit = 10_000, offset: PageOffset = 0,
) -> dict[str, Any] | JSONResponse:
    """P(soil above the limit) per cell from lognormal block kriging and the precision of
    the QC duplicates, banded probably above / uncertain / probably below, with the counts
    per band. Needs sample access (kriging passes through the samples). ``f=geojson``: the
    cells as polygons (a page of ``limit`` from ``offset``; the JSON form lists all)."""
    doc = a.probability(actor, dataset, element, standard=standard, level_name=limit_level,
                        land_use=land_use, ph=ph, grid=grid, level=level or "10km",
                        quantity=quantity, p_lo=p_lo, p_hi=p_hi)
    return cells_form(a, doc, f, limit, offset)


@router.get("/api/analytics/change-significance/{dataset}/{element}", tags=[TAG],
            summary="Per-cell change significance at re-sampled sites", response_model=None)
def change_significance(
    a: AnalystDep, actor: ActorDep, dataset: str, element: str,
    against: Annotated[str | None, Query(description="The later campaign's dataset.",
                                         max_length=64)] = None,
    grid: Annotated[str, Query(pattern="^(global|europe)$")] = "global",
    level: Level = None,
    alpha: Annotated[float, Query(gt=0, lt=1)] = 0.05,
    max_distance: Annotated[float | None, Query(gt=0, le=1000)] = None,
    f: Form = "json", limit: PageLimit = 10_000, offset: PageOffset = 0,
) -> dict[str, Any] | JSONResponse:
    """Paired Prentice–Wilcoxon (or censored sign) test of change per cell, false-discovery
    rate controlled (Benjamini–Hochberg). Needs the samples of both datasets.
    ``f=geojson``: the cells as polygons (a page of ``limit`` from ``offset``)."""
    doc = a.change_significance(actor, dataset, against or dataset, element, grid=grid,
                                level=level or "20km", alpha=alpha,
                                max_distance_m=max_distance)
    return cells_form(a, doc, f, limit, offset)
