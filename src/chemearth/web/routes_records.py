"""OGC API - Records and DCAT-AP: the catalogue for other catalogues to harvest.

``/api/collections/catalogue`` is a record collection (``itemType: record``) listed with
the feature collections; its items are one record per dataset you may see
(:mod:`chemearth.access.records`), searchable by ``q``, ``bbox``, ``datetime`` (the
sampling years), ``ids``, ``type`` and ``externalIds``. ``/api/catalogue/dcat.jsonld`` is
the same catalogue in DCAT-AP (JSON-LD). A restricted dataset has no record, exactly as
one that does not exist.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse

from chemearth.access import records as rec
from chemearth.access.dcat import dcat_catalogue
from chemearth.access.gateway import Gateway
from chemearth.access.policy import Actor
from chemearth.web import routes_ogc
from chemearth.web.deps import ActorDep, GatewayDep, base_url

__all__ = ["CONFORMANCE", "catalogue_collection", "router"]

router = APIRouter(prefix="/api", tags=["OGC API - Records"])

#: The OGC API - Records conformance classes of these routes.
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-records-1/1.0/conf/record-core",
    "http://www.opengis.net/spec/ogcapi-records-1/1.0/conf/record-collection",
    "http://www.opengis.net/spec/ogcapi-records-1/1.0/conf/record-core-query-parameters",
    "http://www.opengis.net/spec/ogcapi-records-1/1.0/conf/records-api",
    "http://www.opengis.net/spec/ogcapi-records-1/1.0/conf/json",
    "http://www.opengis.net/spec/ogcapi-records-1/1.0/conf/oas30",
]

CID = rec.CATALOGUE_ID
GEOJSON = "application/geo+json"
JSONLD = "application/ld+json"

Text = Annotated[str | None, Query(max_length=400)]


def catalogue_collection(request: Request, gw: Gateway, actor: Actor) -> list[dict[str, Any]]:
    """The record collection's description (as listed at ``/api/collections``)."""
    b = base_url(request)
    boxes = [r["bbox"] for r in rec.records(gw, actor, b) if "bbox" in r]
    spatial = [min(x[0] for x in boxes), min(x[1] for x in boxes),
               max(x[2] for x in boxes), max(x[3] for x in boxes)] if boxes else [
        -180.0, -90.0, 180.0, 90.0]
    return [{
        "id": CID,
        "type": "Collection",
        "itemType": "record",
        "title": "chemearth catalogue",
        "description": "One record per geochemical survey (dataset): title, description, "
        "keywords (elements, media, countries), organisation, licence, citation, extent, "
        "sampling years, and links to its page, downloads, features and map tiles.",
        "keywords": ["geochemistry", "geochemical baseline", "soil", "sediment"],
        "language": "en",
        "license": "other",
        "crs": ["http://www.opengis.net/def/crs/OGC/1.3/CRS84"],
        "extent": {"spatial": {"bbox": [spatial],
                               "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}},
        "links": [
            {"rel": "self", "type": "application/json", "href": f"{b}/api/collections/{CID}"},
            {"rel": "items", "type": GEOJSON, "title": "The records",
             "href": f"{b}/api/collections/{CID}/items"},
            {"rel": "http://www.opengis.net/def/rel/ogc/1.0/queryables",
             "type": "application/schema+json",
             "href": f"{b}/api/collections/{CID}/queryables"},
            {"rel": "alternate", "type": JSONLD, "title": "DCAT-AP (JSON-LD)",
             "href": f"{b}/api/catalogue/dcat.jsonld"},
            {"rel": "alternate", "type": "text/html", "title": "The catalogue page",
             "href": f"{b}/catalogue"},
            {"rel": "license", "type": "text/html", "title": "Each record's own licence",
             "href": f"{b}/catalogue"},
        ],
    }]


if catalogue_collection not in routes_ogc.COLLECTION_SOURCES:
    routes_ogc.COLLECTION_SOURCES.append(catalogue_collection)
routes_ogc.CONFORMANCE.extend(c for c in CONFORMANCE if c not in routes_ogc.CONFORMANCE)


@router.get(f"/collections/{CID}", summary="The catalogue (a record collection)")
def catalogue(request: Request, gw: GatewayDep, actor: ActorDep) -> dict[str, Any]:
    """The record collection: one record per dataset you may see."""
    return catalogue_collection(request, gw, actor)[0]


@router.get(f"/collections/{CID}/queryables", summary="What the catalogue is searched by",
            response_class=JSONResponse,
            responses={200: {"content": {"application/schema+json": {}}}})
def queryables(request: Request) -> JSONResponse:
    """The queryable properties of the records (JSON Schema)."""
    return JSONResponse(rec.queryables(base_url(request)), media_type="application/schema+json")


@router.get(
    f"/collections/{CID}/items",
    summary="Search the catalogue",
    response_class=JSONResponse,
    responses={200: {"content": {GEOJSON: {}}}},
)
def items(
    request: Request, gw: GatewayDep, actor: ActorDep,
    q: Annotated[str | None, Query(max_length=400, description=(
        "Free text, comma-separated terms (any): title, description, keywords (element "
        "symbols and names, media, countries), organisation, citation."))] = None,
    bbox: Annotated[str | None, Query(max_length=200,
                                      description="west,south,east,north (WGS84).")] = None,
    datetime: Annotated[str | None, Query(max_length=100, description=(
        "An instant or `start/end` (`..` open): records sampled then."))] = None,
    ids: Text = None,
    type: Annotated[str | None, Query(max_length=100, description="`dataset`.")] = None,
    externalIds: Text = None,  # noqa: N803 - the standard's name
    limit: Annotated[int, Query(ge=1, le=1000, description="Most records to return.")] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000, description="Records to skip.")] = 0,
) -> JSONResponse:
    """Records of the datasets you may see, as GeoJSON features, matching every
    parameter given."""
    query = rec.RecordQuery(
        q=rec.split_terms(q), bbox=rec.parse_bbox(bbox), datetime=rec.parse_datetime(datetime),
        ids=rec.split_terms(ids), types=rec.split_terms(type),
        external_ids=rec.split_terms(externalIds))
    b = base_url(request)
    found = rec.search(rec.records(gw, actor, b), query)
    page = found[offset:offset + limit]
    params = {k: v for k, v in request.query_params.items() if k != "offset"}
    here = f"{b}/api/collections/{CID}/items?"
    links = [{"rel": "self", "type": GEOJSON, "href": here + urlencode({**params,
                                                                        "offset": offset})},
             {"rel": "collection", "type": "application/json",
              "href": f"{b}/api/collections/{CID}"}]
    if offset + len(page) < len(found):
        links.append({"rel": "next", "type": GEOJSON,
                      "href": here + urlencode({**params, "offset": offset + len(page)})})
    if offset > 0:
        links.append({"rel": "prev", "type": GEOJSON,
                      "href": here + urlencode({**params, "offset": max(0, offset - limit)})})
    body = {
        "type": "FeatureCollection",
        "features": page,
        "numberMatched": len(found),
        "numberReturned": len(page),
        "timeStamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "links": links,
    }
    return JSONResponse(body, media_type=GEOJSON)


@router.get(
    f"/collections/{CID}/items/{{dataset}}",
    summary="One record",
    response_class=JSONResponse,
    responses={200: {"content": {GEOJSON: {}}}},
)
def item(
    request: Request, gw: GatewayDep, actor: ActorDep,
    dataset: Annotated[str, Path(description="The record id: a dataset id.")],
) -> JSONResponse:
    """The record of one dataset."""
    return JSONResponse(rec.record(gw, actor, dataset, base_url(request)), media_type=GEOJSON)


@router.get(
    "/catalogue/dcat.jsonld",
    summary="The catalogue in DCAT-AP (JSON-LD)",
    response_class=JSONResponse,
    responses={200: {"content": {JSONLD: {}}}},
)
def dcat(request: Request, gw: GatewayDep, actor: ActorDep) -> JSONResponse:
    """A ``dcat:Catalog`` of the datasets you may see, each a ``dcat:Dataset`` with its
    distributions (features, downloads), for harvesting by DCAT-AP catalogues."""
    return JSONResponse(dcat_catalogue(gw, actor, base_url(request)), media_type=JSONLD)
