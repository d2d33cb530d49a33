"""Data-quality reports of datasets and their quality-control figures (Thompson–Howarth
plots, control charts), as JSON, images and an HTML page. Every answer goes through
:class:`chemearth.access.inspector.Inspector`, which applies the sharing rules."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from chemearth.access.inspector import PLOTS, Inspector
from chemearth.errors import NotFoundError
from chemearth.web.caching import body_etag, cached_response
from chemearth.web.deps import ActorDep
from chemearth.web.routes_pages import page_actor, render_page

__all__ = ["router"]

router = APIRouter()

#: Media type of each figure format.
MEDIA = {"png": "image/png", "svg": "image/svg+xml"}
#: Quality-control roles whose results each kind of figure draws.
FIGURE_ROLES = {
    "field": ("field-duplicates", "replicate-status"),
    "analytical": ("analytical-duplicates",),
    "reference": ("reference-material",),
}


def inspector(request: Request) -> Inspector:
    """The app's inspector (made on first use over the app's gateway)."""
    i = getattr(request.app.state, "inspector", None)
    if i is None:
        i = request.app.state.inspector = Inspector(request.app.state.gateway)
    return i


InspectorDep = Annotated[Inspector, Depends(inspector)]
Which = Annotated[str, Query(pattern="^(field|analytical)$",
                             description="Thompson–Howarth plot of the field or the "
                             "analytical duplicates.")]
Method = Annotated[str | None, Query(max_length=200,
                                    description="Analytical method as stored (default: the "
                                    "first with quality-control results).")]
Material = Annotated[str | None, Query(max_length=100,
                                      description="Reference material of a control chart "
                                      "(default: the first).")]


@router.get("/api/quality/{dataset}", tags=["Quality"],
            summary="A dataset's data-quality report")
def quality(i: InspectorDep, actor: ActorDep, dataset: str) -> dict[str, Any]:
    """Per element and method: results, detection limits and % censored; precision of the
    field and analytical duplicates and the nested analysis of variance (between-site,
    sampling and analytical shares, fit for mapping); reference-material control (RSD,
    drift, rejected batches); and the levelling applied. ``qc`` lists the quality-control
    datasets behind the figures and whether their individual results are shared with you
    (the figures need them)."""
    return i.report(actor, dataset)


@router.get(
    "/quality/{dataset}/{element}/{plot}.{fmt}",
    tags=["Quality"], summary="A quality-control figure (PNG or SVG)", response_class=Response,
    responses={200: {"content": {"image/png": {}, "image/svg+xml": {}},
                     "description": "A Thompson–Howarth plot or a control chart."}},
)
def figure(i: InspectorDep, actor: ActorDep, dataset: str, element: str,
           plot: Annotated[str, Path(description=" or ".join(PLOTS) + ".")],
           fmt: Annotated[str, Path(description="png or svg.")],
           which: Which = "field", method: Method = None, material: Material = None,
           lang: Annotated[str, Query(pattern="^(en|zh)$", description="Label language.")]
           = "en",
           request: Request = None,  # type: ignore[assignment]
           ) -> Response:
    """The Thompson–Howarth plot of the duplicates of ``element`` (``which``: field or
    analytical) or the control chart of a reference material. Both draw individual
    results: they need access to the samples of the quality-control dataset."""
    if fmt not in MEDIA:
        raise NotFoundError(f"no figure format {fmt!r}: png or svg")
    body = i.figure(actor, dataset, element, plot, which=which, method=method or None,
                    material=material or None, fmt=fmt, lang=lang)
    name = f"{dataset}-{element}-{plot}.{fmt}"
    return cached_response(body, MEDIA[fmt], body_etag(body), actor.role == "anonymous",
                           request, {"Content-Disposition": f'inline; filename="{name}"'})


# --------------------------------------------------------------------------- the page


def figure_kinds(report: dict[str, Any]) -> set[str]:
    """The kinds of figure (:data:`FIGURE_ROLES`) a report's reader may open: those with a
    quality-control dataset whose individual results are shared with the reader."""
    roles = {q["role"] for q in report["qc"] if q["samples_visible"]}
    return {kind for kind, rs in FIGURE_ROLES.items() if roles & set(rs)}


def figure_links(report: dict[str, Any]) -> list[list[tuple[str, str]]]:
    """Per row of the report, the figures its reader may open: ``(kind, URL)`` with kind
    ``th-field``, ``th-analytical`` or ``control``."""
    kinds = figure_kinds(report)
    ds = quote(str(report["dataset"]), safe="")
    out = []
    for e in report["elements"]:
        base = f"/quality/{ds}/{quote(str(e['element']), safe='')}/"
        q = urlencode({"method": e["method"]})
        row = []
        if "field" in kinds and e.get("rsd_field_pct") is not None:
            row.append(("th-field", f"{base}thompson-howarth.png?{q}"))
        if "analytical" in kinds and e.get("rsd_analytical_pct") is not None:
            row.append(("th-analytical", f"{base}thompson-howarth.png?which=analytical&{q}"))
        if "reference" in kinds and e.get("control_rsd_pct") is not None:
            row.append(("control", f"{base}control.png?{q}"))
        out.append(row)
    return out


@router.get("/datasets/{dataset}/quality", response_class=HTMLResponse,
            include_in_schema=False)
def quality_page(request: Request, dataset: str) -> Response:
    """One dataset's data-quality report: QC datasets, the table per element and method,
    links to the figures the reader may see, and the levelling records."""
    i, actor = inspector(request), page_actor(request)
    try:
        entry = i.gw.dataset(actor, dataset)
        report = i.report(actor, dataset)
    except NotFoundError as exc:
        return render_page(request, "error.html", status=404, actor=actor, message=str(exc),
                           missing=("dataset", dataset))
    from chemearth.web.summaries import quality_summary

    return render_page(request, "quality.html", actor=actor, d=entry, r=report,
                       links=figure_links(report), figures=figure_kinds(report),
                       summary=quality_summary(report))
