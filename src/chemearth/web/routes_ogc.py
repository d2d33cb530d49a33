"""OGC API - Features: landing page, conformance, collections, items and one item, with
Part 3 filtering: ``filter`` in CQL2 text or JSON, ``filter-lang``, ``filter-crs``, each
collection's ``queryables`` (:mod:`chemearth.access.filtering`), and queryables as query
parameters (``?sample_id=...``).

The conformance classes are the module-level list :data:`CONFORMANCE` and the
collections come from :func:`collection_list`, so other OGC APIs (Tiles, Records) add
theirs with one line: ``CONFORMANCE.extend([...])`` and
``COLLECTION_SOURCES.append(fn)`` where ``fn(request, gateway, actor)`` returns
collection descriptions; ``COLLECTION_LOOKUPS`` answers ``/api/collections/<id>`` for
the ids of other APIs (OGC API - Tiles' ``<dataset>.<element>``).
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlencode

import numpy as np
import pandas as pd
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from chemearth.access.filtering import (
    CRS84,
    FILTER_LANGS,
    MAX_FILTER_CHARS,
    BoundFilter,
    FeatureFilter,
    Queryable,
    cell_queryables,
    parse_filter,
    query_filter,
    queryables_schema,
    sample_queryables,
)
from chemearth.access.fitness import Fitness
from chemearth.access.gateway import Gateway, Where
from chemearth.access.policy import Actor
from chemearth.errors import AccessDenied, GridError, NotFoundError
from chemearth.grid.aggregate import STATISTICS
from chemearth.web.deps import ActorDep, GatewayDep, base_url

__all__ = [
    "CELL_QUERYABLES",
    "COLLECTION_LOOKUPS",
    "COLLECTION_SOURCES",
    "CONFORMANCE",
    "GEOJSON",
    "collection_list",
    "router",
]

router = APIRouter(prefix="/api")

GEOJSON = "application/geo+json"

#: The OGC conformance classes implemented (``/api/conformance``); other OGC APIs extend it.
CONFORMANCE: list[str] = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
    # Part 3: Filtering, and the CQL2 classes implemented (see chemearth.access.filtering)
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/case-insensitive-comparison",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
]

#: Functions ``(request, gateway, actor) -> list of collection descriptions`` whose
#: collections are listed after the feature collections at ``/api/collections``.
CollectionSource = Callable[[Request, Gateway, Actor], list[dict[str, Any]]]
COLLECTION_SOURCES: list[CollectionSource] = []

#: Functions ``(request, gateway, actor, dataset, name) -> collection description`` of
#: ``/api/collections/<dataset>.<name>`` when ``name`` is neither ``samples`` nor ``cells``
#: (OGC API - Tiles registers its map layers); the first registered answers.
CollectionLookup = Callable[[Request, Gateway, Actor, str, str], dict[str, Any]]
COLLECTION_LOOKUPS: list[CollectionLookup] = []

Limit = Annotated[int, Query(ge=1, le=10_000, description="Most features to return.")]
Offset = Annotated[int, Query(ge=0, le=10_000_000, description="Features to skip.")]
BBox = Annotated[
    str | None,
    Query(description="west,south,east,north in degrees (WGS84).", max_length=200,
          pattern=r"^-?[0-9.]+,-?[0-9.]+,-?[0-9.]+,-?[0-9.]+$"),
]
Text = Annotated[str | None, Query(max_length=200)]
Filter = Annotated[str | None, Query(
    alias="filter", max_length=64 * 1024,
    description="A CQL2 filter on the queryables, e.g. `Zn > 100 AND country = 'NO'` "
                f"(at most {MAX_FILTER_CHARS} characters).")]
FilterLang = Annotated[str, Query(
    alias="filter-lang", max_length=16, json_schema_extra={"enum": list(FILTER_LANGS)},
    description="`cql2-text` (default) or `cql2-json`; `cql-text` (GDAL before 3.7) is "
                "read as CQL2 text.")]
FilterCrs = Annotated[str | None, Query(
    alias="filter-crs", max_length=200,
    description=f"The CRS of the filter's geometries: only `{CRS84}` (the default).")]

OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
SCHEMA_JSON = "application/schema+json"
QUERYABLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/queryables"


@router.get("", tags=["OGC API - Features"], summary="Landing page")
def landing(request: Request) -> dict[str, Any]:
    """The OGC API landing page with links to the API definition, conformance and data."""
    b = base_url(request)
    return {
        "title": "chemearth",
        "description": "Geochemical baselines: samples and grid cells as OGC API - Features.",
        "links": [
            {"rel": "self", "type": "application/json", "href": f"{b}/api"},
            {"rel": "service-desc", "type": OPENAPI, "href": f"{b}/api/openapi.json"},
            {"rel": "service-doc", "type": "text/html", "href": f"{b}/api/docs"},
            {"rel": "conformance", "type": "application/json", "href": f"{b}/api/conformance"},
            {"rel": "data", "type": "application/json", "href": f"{b}/api/collections"},
            {"rel": "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes",
             "type": "application/json", "href": f"{b}/api/tileMatrixSets"},
        ],
    }


@router.get("/conformance", tags=["OGC API - Features"], summary="Conformance classes")
def conformance() -> dict[str, Any]:
    """The OGC conformance classes implemented."""
    return {"conformsTo": list(CONFORMANCE)}


def _collection(request: Request, entry: dict[str, Any], kind: str) -> dict[str, Any]:
    b = base_url(request)
    cid = f"{entry['dataset_id']}.{kind}"
    what = "samples (points)" if kind == "samples" else "grid cell statistics (squares)"
    return {
        "id": cid,
        "title": f"{entry['title']}: {what}",
        "description": f"{entry['citation']} Licence: {entry['licence']}.",
        "itemType": "feature",
        "crs": ["http://www.opengis.net/def/crs/OGC/1.3/CRS84"],
        "links": [
            {"rel": "self", "type": "application/json", "href": f"{b}/api/collections/{cid}"},
            {"rel": "items", "type": GEOJSON, "href": f"{b}/api/collections/{cid}/items"},
            {"rel": QUERYABLES_REL, "type": SCHEMA_JSON,
             "href": f"{b}/api/collections/{cid}/queryables"},
            # the Part 3 draft's relation, which GDAL before 3.7 follows
            {"rel": "queryables", "type": "application/json",
             "href": f"{b}/api/collections/{cid}/queryables"},
            {"rel": "license", "type": "text/html", "title": entry["licence"],
             "href": entry["url"] or f"{b}/catalogue/datasets/{entry['dataset_id']}"},
        ],
    }


def collection_list(request: Request, gw: Gateway, actor: Actor) -> list[dict[str, Any]]:
    """Every collection ``actor`` may read: the feature collections, then those of
    :data:`COLLECTION_SOURCES`."""
    out = []
    for entry in gw.datasets(actor):
        out.append(_collection(request, entry, "cells"))
        if entry["samples_visible"]:
            out.append(_collection(request, entry, "samples"))
    for source in COLLECTION_SOURCES:
        out.extend(source(request, gw, actor))
    return out


@router.get("/collections", tags=["OGC API - Features"], summary="Feature collections")
def collections(request: Request, gw: GatewayDep, actor: ActorDep) -> dict[str, Any]:
    """Per dataset you may see: ``<dataset>.cells`` and, where shared, ``<dataset>.samples``."""
    return {
        "links": [{"rel": "self", "type": "application/json",
                   "href": f"{base_url(request)}/api/collections"}],
        "collections": collection_list(request, gw, actor),
    }


def _split(cid: str) -> tuple[str, str]:
    dataset, _, kind = cid.rpartition(".")
    if kind not in ("samples", "cells") or not dataset:
        raise NotFoundError(f"collection {cid!r} not found; ids are <dataset>.samples or .cells")
    return dataset, kind


@router.get("/collections/{cid}", tags=["OGC API - Features"], summary="One collection")
def collection(request: Request, gw: GatewayDep, actor: ActorDep, cid: str) -> dict[str, Any]:
    """One collection's description; ``<dataset>.<element>`` is a map layer (OGC API -
    Tiles, :mod:`chemearth.web.routes_ogc_tiles`; query: medium, method, grid, level, stat)."""
    dataset, _, kind = cid.rpartition(".")
    if dataset and kind not in ("samples", "cells") and COLLECTION_LOOKUPS:  # a map layer
        return COLLECTION_LOOKUPS[0](request, gw, actor, dataset, kind)
    dataset, kind = _split(cid)
    entry = gw.dataset(actor, dataset)
    if kind == "samples" and not entry["samples_visible"]:
        raise AccessDenied(f"the sample data of dataset {dataset!r} are shared as grid layers only")
    return _collection(request, entry, kind)


#: The queryables of every cells collection.
CELL_QUERYABLES = cell_queryables(STATISTICS)
#: Query parameters of the items route that are not queryables (``f``: a format some
#: clients add; ``datetime``: no feature has a time).
_ITEMS_PARAMS = frozenset({"bbox", "limit", "offset", "element", "medium", "method",
                           "country", "grid", "level", "filter", "filter-lang", "filter-crs",
                           "f", "datetime"})


def _sample_where(flt: FeatureFilter | None, extra: dict[str, str]) -> Where | None:
    """The filter of a samples request, bound to the actor's sample table (whose
    columns are the queryables: embargoed elements are not in it)."""
    if flt is None and not extra:
        return None

    def where(frame: pd.DataFrame, shapes: Callable[[], Any]) -> np.ndarray:
        bound: BoundFilter | None = query_filter(flt, extra, sample_queryables(frame))
        if bound is None:
            return np.ones(len(frame), dtype=bool)
        return bound.mask(frame, shapes)

    return where


@router.get(
    "/collections/{cid}/queryables",
    tags=["OGC API - Features"],
    summary="Properties a filter may use",
    response_class=JSONResponse,
    responses={200: {"content": {SCHEMA_JSON: {}}}},
)
def queryables(request: Request, gw: GatewayDep, actor: ActorDep, cid: str) -> JSONResponse:
    """The collection's queryables as a JSON Schema (Part 3): for samples the sample
    id, country, medium, each element column's value and ``<column>_censored``, and the
    point; for cells their names, statistics and outline."""
    dataset, kind = _split(cid)
    entry = gw.dataset(actor, dataset)
    qs: list[Queryable]
    if kind == "samples":
        if not entry["samples_visible"]:
            raise AccessDenied(f"the sample data of dataset {dataset!r} are shared as grid "
                               "layers only")
        qs = sample_queryables(gw.sample_table(actor, dataset))
    else:
        qs = CELL_QUERYABLES
    url = f"{base_url(request)}/api/collections/{cid}/queryables"
    doc = queryables_schema(qs, url, f"{entry['title']}: {kind}")
    accept = request.headers.get("accept", "")
    # JSON Schema's own type, unless the client asks for JSON only (GDAL before 3.7)
    media = "application/json" if ("application/json" in accept
                                   and SCHEMA_JSON not in accept) else SCHEMA_JSON
    return JSONResponse(doc, media_type=media)


@router.get(
    "/openapi.json",
    tags=["OGC API - Features"],
    summary="The API definition of /api",
    response_class=JSONResponse,
    responses={200: {"content": {OPENAPI: {}}}},
)
def api_definition(request: Request) -> JSONResponse:
    """The OpenAPI document of the routes under ``/api``, relative to its server
    ``<site>/api`` (the landing page's ``service-desc``; ``/openapi.json`` describes the
    whole site). Collection paths name their parameter ``collectionId``, as OGC API -
    Features does, so clients find the parameters (``filter-lang``...) of
    ``/collections/{collectionId}/items``."""
    doc = request.app.openapi()
    out = {k: copy.deepcopy(v) for k, v in doc.items() if k != "paths"}
    out["servers"] = [{"url": f"{base_url(request)}/api"}]
    out["paths"] = {}
    for path, ops in doc["paths"].items():
        if path != "/api" and not path.startswith("/api/"):
            continue
        mine = copy.deepcopy(ops)
        for op in mine.values():
            for param in op.get("parameters", []) if isinstance(op, dict) else []:
                if param.get("in") == "path" and param.get("name") == "cid":
                    param["name"] = "collectionId"
        out["paths"][path[len("/api"):].replace("{cid}", "{collectionId}") or "/"] = mine
    return JSONResponse(out, media_type=OPENAPI)


def _query(params: dict[str, str], offset: int) -> str:
    """The query string of a page's link (quotes of CQL2 text left readable)."""
    return urlencode({**params, "offset": offset}, safe="'")


def _bbox(text: str | None) -> list[float] | None:
    if text is None:
        return None
    try:
        return [float(v) for v in text.split(",")]
    except ValueError:
        raise GridError(f"bbox {text!r} is not four numbers west,south,east,north") from None


@router.get(
    "/collections/{cid}/items",
    tags=["OGC API - Features"],
    summary="Features of a collection",
    response_class=JSONResponse,
    responses={200: {"content": {GEOJSON: {}}}},
)
def items(
    request: Request, gw: GatewayDep, actor: ActorDep, cid: str,
    bbox: BBox = None, limit: Limit = 100, offset: Offset = 0,
    element: Annotated[str | None, Query(max_length=400,
                       description="Element(s), comma-separated.")] = None,
    medium: Text = None, method: Text = None, country: Text = None,
    grid: Annotated[str | None, Query(max_length=16)] = None,
    level: Annotated[str | None, Query(max_length=16)] = None,
    filter_: Filter = None, filter_lang: FilterLang = "cql2-text", filter_crs: FilterCrs = None,
) -> JSONResponse:
    """GeoJSON features, paged with ``limit`` and ``offset``, filtered by ``bbox``,
    properties (samples: ``element`` (the element columns), ``medium``, ``country``;
    cells: ``element``, ``medium``, ``method``, ``grid``, ``level`` (one level: the
    layer's default unless given)), a CQL2 ``filter`` on the collection's queryables
    (``/queryables``), and any other queryable as a query parameter (equality:
    ``?sample_id=...``). A filter sees the published values only: an embargoed element
    is an unknown property, a withheld statistic is null. Each feature's ``qc`` property
    gives the quality-control verdict of its measurement where quality-control data exist
    (samples: by analyte column; cells: of the cell's layer, else null)."""
    dataset, kind = _split(cid)
    box = _bbox(bbox)
    flt = parse_filter(filter_, filter_lang, filter_crs) if filter_ is not None else None
    extra = {k: v for k, v in request.query_params.items() if k not in _ITEMS_PARAMS}
    if kind == "samples":
        els = [e.strip() for e in element.split(",") if e.strip()] if element else None
        feats, matched = gw.sample_features(
            actor, dataset, elements=els, medium=medium, country=country, bbox=box,
            limit=limit, offset=offset, where=_sample_where(flt, extra),
        )
        feats = Fitness(gw).sample_features(actor, dataset, feats)
    else:
        gw.dataset(actor, dataset)  # a dataset you may not see answers as a missing one
        bound = query_filter(flt, extra, CELL_QUERYABLES)
        feats, matched = gw.cell_features(
            actor, dataset, element=element, medium=medium, method=method, grid=grid,
            level=level, bbox=box, limit=limit, offset=offset,
            where=None if bound is None else bound.mask,
        )
        feats = Fitness(gw).cell_features(actor, feats)
    b = base_url(request)
    params = {k: v for k, v in request.query_params.items() if k not in ("offset",)}
    links = [{"rel": "self", "type": GEOJSON,
              "href": f"{b}/api/collections/{cid}/items?{_query(params, offset)}"}]
    if offset + len(feats) < matched:
        links.append({"rel": "next", "type": GEOJSON, "href": f"{b}/api/collections/{cid}/items?"
                      + _query(params, offset + len(feats))})
    if offset > 0:
        links.append({"rel": "prev", "type": GEOJSON, "href": f"{b}/api/collections/{cid}/items?"
                      + _query(params, max(0, offset - limit))})
    body = {
        "type": "FeatureCollection",
        "features": feats,
        "numberMatched": matched,
        "numberReturned": len(feats),
        "timeStamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "links": links,
    }
    return JSONResponse(body, media_type=GEOJSON)


@router.get(
    "/collections/{cid}/items/{fid}",
    tags=["OGC API - Features"],
    summary="One feature",
    response_class=JSONResponse,
    responses={200: {"content": {GEOJSON: {}}}},
)
def item(gw: GatewayDep, actor: ActorDep, cid: str, fid: str) -> JSONResponse:
    """One feature: a sample by its id, or a cell by ``grid~element~medium~method~cell_id``."""
    dataset, kind = _split(cid)
    fitness = Fitness(gw)
    if kind == "cells":
        feat = fitness.cell_features(actor, [gw.cell_feature(actor, dataset, fid)])[0]
    else:
        feat = fitness.sample_features(actor, dataset, [gw.sample_feature(actor, dataset, fid)])[0]
    return JSONResponse(feat, media_type=GEOJSON)
