"""HTML pages: map viewer, catalogue, dataset and element pages, upload and login."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from chemearth.access.policy import Actor
from chemearth.errors import AuthenticationError, NotFoundError
from chemearth.web.auditing import audit_read
from chemearth.web.deps import COOKIE, authenticate, gateway
from chemearth.web.i18n import LANGUAGES, data_html, strings, term_html, translate

__all__ = ["page_actor", "render_page", "router"]

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


def _lang(request: Request) -> str:
    q = request.query_params.get("lang")
    if q in LANGUAGES:
        return str(q)
    c = request.cookies.get("lang")
    if c in LANGUAGES:
        return str(c)
    return "zh" if request.headers.get("accept-language", "").lower().startswith("zh") else "en"


def page_actor(request: Request) -> Actor:
    """The page's actor; a stale session cookie counts as anonymous on pages, and so does
    any token while the client is over the limit of failed tokens."""
    try:
        actor = authenticate(request)
    except AuthenticationError:
        return Actor.anonymous()
    audit_read(request, actor)
    request.state.actor = actor  # for the access log
    return actor


def render_page(request: Request, name: str, status: int = 200, **context: Any) -> Response:
    """The page template ``name`` in the request's language, for the request's actor."""
    lang = _lang(request)
    actor = page_actor(request) if "actor" not in context else context.pop("actor")
    resp = templates.TemplateResponse(
        request,
        name,
        {
            "lang": lang,
            "t": lambda key: translate(lang, key),
            "term": lambda kind, value: term_html(lang, kind, value),
            "data": data_html,
            "actor": actor,
            "strings_json": json.dumps(strings(lang), ensure_ascii=False).replace("</", "<\\/"),
            **context,
        },
        status_code=status,
    )
    if request.query_params.get("lang") in LANGUAGES:
        resp.set_cookie("lang", lang, samesite="lax", max_age=365 * 86400)
    return resp


@router.get("/", response_class=HTMLResponse)
def map_page(request: Request) -> Response:
    """The map viewer."""
    return render_page(request, "map.html")


@router.get("/catalogue", response_class=HTMLResponse)
def catalogue_page(request: Request) -> Response:
    """Datasets and the per-country table."""
    gw, actor = gateway(request), page_actor(request)
    return render_page(
        request, "catalogue.html", actor=actor,
        datasets=gw.datasets(actor), countries=gw.countries(actor),
    )


@router.get("/catalogue/datasets/{dataset}", response_class=HTMLResponse)
def dataset_page(request: Request, dataset: str) -> Response:
    """One dataset: metadata, citation, licence, policy, elements, layers and downloads."""
    gw, actor = gateway(request), page_actor(request)
    try:
        entry = gw.dataset(actor, dataset)
    except NotFoundError as exc:
        return render_page(request, "error.html", status=404, actor=actor, message=str(exc),
                           missing=("dataset", dataset))
    layers = [x for x in gw.layers(actor) if x["dataset"] == dataset]
    from chemearth.web.routes_media import gallery  # photos and videos (docs/media.md)

    return render_page(request, "dataset.html", actor=actor, d=entry, layers=layers,
                       media=gallery(gw, actor, dataset, request.app.state.settings.media))


@router.get("/catalogue/elements", response_class=HTMLResponse)
def elements_page(request: Request) -> Response:
    """Every element with the datasets that hold it."""
    gw, actor = gateway(request), page_actor(request)
    return render_page(request, "elements.html", actor=actor, elements=gw.elements(actor))


@router.get("/catalogue/elements/{element}", response_class=HTMLResponse)
def element_page(request: Request, element: str) -> Response:
    """One element: histogram, boxplot and ECDF, and the baseline table per dataset."""
    gw, actor = gateway(request), page_actor(request)
    try:
        rows = gw.element_baselines(actor, element)
    except NotFoundError as exc:
        return render_page(request, "error.html", status=404, actor=actor, message=str(exc),
                           missing=("element", element))
    from chemearth.web.routes_assess import assessor
    from chemearth.web.summaries import element_summary

    summary = element_summary(gw, actor, element, rows, assessor(request).standards())
    return render_page(request, "element.html", actor=actor, element=element, rows=rows,
                       summary=summary)


@router.get("/upload", response_class=HTMLResponse)
def upload_page(request: Request) -> Response:
    """Upload a survey file and its descriptor (data owners); the descriptor is proposed,
    checked and edited in a form (``static/describe.js``, ``POST /api/describe``)."""
    from chemearth.ingest.descriptor import CENSORING_ENCODINGS, MEDIA, SHARING_POLICIES

    lang = _lang(request)
    return render_page(
        request, "upload.html",
        choices={"media": MEDIA, "sharing": SHARING_POLICIES, "encodings": CENSORING_ENCODINGS,
                 "crs": _COMMON_CRS},
        describe_strings={k[len("describe."):]: v for k, v in strings(lang).items()
                          if k.startswith("describe.")},
    )


#: CRS offered in the upload form's list (any EPSG code or PROJ string may be typed).
_COMMON_CRS = ("EPSG:4326", "EPSG:4258", "EPSG:4269", "EPSG:3035", "EPSG:5070", "EPSG:28992",
               "EPSG:32632", "EPSG:32633", "EPSG:32634", "EPSG:32635", "EPSG:32636",
               "EPSG:4490", "EPSG:4214")


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> Response:
    """Enter an API token."""
    return render_page(request, "login.html")


@router.get("/logout")
def logout_page() -> Response:
    """Forget the session and go back to the map."""
    resp = RedirectResponse("/", status_code=303)
    resp.delete_cookie(COOKIE, path="/")
    return resp
