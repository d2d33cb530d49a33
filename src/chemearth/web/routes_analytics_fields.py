"""Analytics routes of cell surfaces and compositions: spectrum–area filtering, local
singularity, spider (REE) diagrams and compositional summaries of cell medians. Every
answer goes through :class:`chemearth.access.analyst_fields.FieldAnalyst`, which applies
the sharing rules of :mod:`chemearth.access.analyst`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from chemearth.access.analyst_fields import DEFAULT_REFERENCE, FieldAnalyst
from chemearth.web.deps import ActorDep
from chemearth.web.routes_analytics import (
    TAG,
    Breakpoints,
    Form,
    GridQ,
    Level,
    Medium,
    Method,
    PageLimit,
    PageOffset,
    _elements,
    cells_form,
)

__all__ = ["router"]

router = APIRouter()


def field_analyst(request: Request) -> FieldAnalyst:
    """The app's field analyst (made on first use over the app's gateway)."""
    a = getattr(request.app.state, "field_analyst", None)
    if a is None:
        a = request.app.state.field_analyst = FieldAnalyst(request.app.state.gateway)
    return a


FieldDep = Annotated[FieldAnalyst, Depends(field_analyst)]


@router.get("/api/analytics/spectrum-area/{dataset}/{element}", tags=[TAG],
            summary="Spectrum–area (S-A) anomaly and background of a cell surface",
            response_model=None)
def spectrum_area(
    a: FieldDep, actor: ActorDep, dataset: str, element: str,
    grid: GridQ = None, level: Level = None, medium: Medium = None, method: Method = None,
    breakpoints: Breakpoints = None,
    split: Annotated[int | None, Query(ge=1, le=3, description="Which breakpoint "
                                       "(ascending energy) is the filter's threshold "
                                       "(default: the highest).")] = None,
    energy: Annotated[float | None, Query(gt=0, le=1e300, description="The energy "
                                          "threshold S0 (default: an S-A breakpoint).")]
    = None,
    f: Form = "json", limit: PageLimit = 10_000, offset: PageOffset = 0,
) -> dict[str, Any] | JSONResponse:
    """The log-log S-A curve of the power spectrum of the element's published cell
    surface, its breakpoints with confidence intervals, and per cell the anomaly
    (energy <= S0) and background (energy > S0, with the mean) components. A pooled id
    (``pooled:public``) uses the pooled layer's cells."""
    doc = a.spectrum_area(actor, dataset, element, grid=grid, level=level, medium=medium,
                          method=method, energy_threshold=energy, n_breakpoints=breakpoints,
                          split=split)
    return cells_form(a, doc, f, limit, offset)


@router.get("/api/analytics/singularity/{dataset}/{element}", tags=[TAG],
            summary="Local singularity index of a cell surface",
            response_model=None)
def singularity(
    a: FieldDep, actor: ActorDep, dataset: str, element: str,
    windows: Annotated[str, Query(pattern=r"^\d{1,2}(,\d{1,2}){1,9}$", description="Odd "
                                  "window sides in cells, ascending.")] = "1,3,5,7,9",
    grid: GridQ = None, level: Level = None, medium: Medium = None, method: Method = None,
    f: Form = "json", limit: PageLimit = 10_000, offset: PageOffset = 0,
) -> dict[str, Any] | JSONResponse:
    """The singularity index alpha of every published cell (alpha < 2 enrichment, > 2
    depletion), its standard error, and the counts of each."""
    doc = a.singularity(actor, dataset, element, windows=[int(w) for w in windows.split(",")],
                        grid=grid, level=level, medium=medium, method=method)
    return cells_form(a, doc, f, limit, offset)


@router.get("/api/analytics/spider/{dataset}", tags=[TAG],
            summary="Spider (REE) diagram normalised to a reference composition")
def spider(
    a: FieldDep, actor: ActorDep, dataset: str,
    reference: Annotated[str, Query(max_length=40, description="PAAS, NASC, UCC, BCC or a "
                                    "named composition.")] = DEFAULT_REFERENCE,
    elements: Annotated[str | None, Query(max_length=400, description="Elements in diagram "
                                          "order (default: the rare earths).")] = None,
    medium: Medium = None, method: Method = None,
    per_sample: Annotated[bool, Query(description="Each sample's pattern with Eu/Eu* and "
                                      "Ce/Ce* (sample access only).")] = False,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    """The median pattern (published layer statistics; medians that may be detection
    limits are not normalised) and the censored share per element; per sample, the
    normalised values and the Eu and Ce anomalies."""
    return a.spider(actor, dataset, reference=reference, elements=_elements(elements) or None,
                    medium=medium, method=method, per_sample=per_sample, limit=limit,
                    offset=offset)


@router.get("/api/analytics/compositional/{dataset}/cells", tags=[TAG],
            summary="Robust compositional PCA and factors of published cell medians")
def cell_compositional(
    a: FieldDep, actor: ActorDep, dataset: str,
    elements: Annotated[str, Query(max_length=400, description="The parts, three or "
                                   "more, separated by commas.")],
    grid: GridQ = None, level: Level = None, medium: Medium = None, method: Method = None,
    factors: Annotated[int, Query(ge=1, le=10)] = 2,
    robust: bool = True,
) -> dict[str, Any]:
    """Explained variance and clr loadings of the robust principal components, and the
    robust factors, of the cells' medians (each cell a composition); of a dataset or a
    pooled id. Cells lacking a part are left out and counted."""
    return a.cell_compositional(actor, dataset, _elements(elements), grid=grid, level=level,
                                medium=medium, method=method, factors=factors, robust=robust)
