"""OGC API - Tiles: the map layers as map tilesets (rendered PNG tiles).

Each layer is a collection of its own, ``<dataset>.<element>`` (``kola-humus.Pb``,
``pooled:public.Cr`` for the pooled world layer "All surveys"), whose map is drawn as the
viewer draws it: the query parameters ``medium``, ``method``, ``grid``, ``level`` and
``stat`` choose the layer and statistic, with the viewer's defaults (the layer's default
grid and level, the median). The collection links its map tilesets
(``/map/tiles``, WebMercatorQuad only), whose tiles are the XYZ tiles of
:mod:`chemearth.web.routes_tiles`, byte for byte (the same renderer, cache and sharing
rules: an unpublished cell is transparent). Layer collections are not listed at
``/api/collections`` (one per dataset and element would bury the feature collections);
each dataset's catalogue record (``/api/collections/catalogue/items/<dataset>``) links
them.
"""

from __future__ import annotations

import math
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from chemearth.access.gateway import Gateway, LayerView
from chemearth.access.policy import Actor
from chemearth.access.pooling import is_pooled
from chemearth.errors import GridError, NotFoundError
from chemearth.render.tiles import TileError
from chemearth.web import routes_ogc, routes_tiles
from chemearth.web.deps import ActorDep, GatewayDep, base_url
from chemearth.web.routes_tiles import GridQ, Level, Medium, Method, Stat

__all__ = ["CONFORMANCE", "map_collection", "router"]

router = APIRouter(prefix="/api", tags=["OGC API - Tiles"])

#: The OGC API - Tiles conformance classes of these routes.
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/png",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/oas30",
]
routes_ogc.CONFORMANCE.extend(c for c in CONFORMANCE if c not in routes_ogc.CONFORMANCE)

TMS_ID = "WebMercatorQuad"
TMS_URI = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
CRS_3857 = "http://www.opengis.net/def/crs/EPSG/0/3857"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
JSON = "application/json"
REL = "http://www.opengis.net/def/rel/ogc/1.0/"
#: the layer query parameters a map collection takes (at most this long)
_PARAMS = {"medium": 64, "method": 200, "grid": 16, "level": 16, "stat": 16}
_MERC_LAT = 85.0511287798066

Dataset = Annotated[str, Path(description="Dataset id (`pooled:public`: All surveys).")]
Element = Annotated[str, Path(description="Element symbol, e.g. `Pb`.")]
TmsId = Annotated[str, Path(description="Tile matrix set: `WebMercatorQuad`.")]


def _cid(dataset: str, element: str) -> str:
    return f"{quote(dataset, safe=':')}.{quote(element)}"


def _query(view: LayerView) -> str:
    return urlencode(view.query())


def _limits(view: LayerView) -> list[dict[str, Any]]:
    """The tile matrices of the tileset: from the first zoom level where the layer spans
    a pixel each way to the viewer's deepest (every level for a layer without cells),
    each whole (a tile outside the layer is transparent, as an XYZ tile is).

    Whole matrices, not the tiles around the layer (which ``boundingBox`` gives): GDAL
    before 3.7 (Debian 12, and the QGIS built on it) fetches the wrong tiles of a tileset
    whose limits leave out rows or columns, and fails on a level where the layer spans
    less than a pixel.
    """
    import morecantile

    tms = morecantile.tms.get(TMS_ID)
    box = view.index.bbox
    span = math.inf
    if box is not None:
        w, s, e, n = box
        (x0, y0), (x1, y1) = _xy(w, max(s, -_MERC_LAT)), _xy(e, min(n, _MERC_LAT))
        span = min(x1 - x0, y1 - y0)
    out = []
    for z in range(routes_tiles.MAX_ZOOM + 1):
        if box is not None and span < tms.matrix(z).cellSize:
            continue
        last = (1 << z) - 1
        out.append({"tileMatrix": str(z), "minTileRow": 0, "maxTileRow": last,
                    "minTileCol": 0, "maxTileCol": last})
    return out


def _xy(lon: float, lat: float) -> tuple[float, float]:
    """Web Mercator metres of a point, rounded to the millimetre."""
    import morecantile

    x, y = morecantile.tms.get(TMS_ID).xy(lon, lat)
    return round(float(x), 3), round(float(y), 3)


def _inside(limits: list[dict[str, Any]], z: int, y: int, x: int) -> bool:
    lim = next((m for m in limits if m["tileMatrix"] == str(z)), None)
    return lim is not None and (lim["minTileRow"] <= y <= lim["maxTileRow"]
                                and lim["minTileCol"] <= x <= lim["maxTileCol"])


def _bbox(view: LayerView) -> list[float]:
    from chemearth.render.layer_index import layer_bounds

    return [round(v, 6) for v in layer_bounds(view.index)]


def _view(gw: Gateway, actor: Actor, dataset: str, element: str, medium: str | None,
          method: str | None, grid: str | None, level: str | None, stat: str) -> LayerView:
    return gw.layer_view(actor, dataset, element, medium=medium, method=method, grid=grid,
                         level=level, stat=stat)


def _tms(tms_id: str) -> None:
    if tms_id != TMS_ID:
        raise NotFoundError(f"tile matrix set {tms_id!r} not found; use {TMS_ID}")


def _title(view: LayerView) -> str:
    return f"{view.element} {view.stat} · {view.title} · {view.level}"


def map_collection(request: Request, gw: Gateway, actor: Actor, dataset: str,
                   element: str) -> dict[str, Any]:
    """The collection document of the map layer ``<dataset>.<element>``, the layer chosen
    by the request's query parameters (see the module docstring)."""
    params: dict[str, str | None] = {}
    for name, most in _PARAMS.items():
        v = request.query_params.get(name)
        if v is not None and len(v) > most:
            raise GridError(f"query parameter {name!r} is longer than {most} characters")
        params[name] = v
    view = _view(gw, actor, dataset, element, params["medium"], params["method"],
                 params["grid"], params["level"], params["stat"] or "median")
    b, cid, q = base_url(request), _cid(dataset, element), _query(view)
    links = [
        {"rel": "self", "type": JSON, "href": f"{b}/api/collections/{cid}?{q}"},
        {"rel": REL + "tilesets-map", "type": JSON, "title": "Map tilesets",
         "href": f"{b}/api/collections/{cid}/map/tiles?{q}"},
        {"rel": "license", "type": "text/html", "title": view.licence,
         "href": f"{b}/catalogue" if is_pooled(dataset)
         else f"{b}/catalogue/datasets/{quote(dataset, safe=':')}"},
        {"rel": "describedby", "type": JSON, "title": "Legend: class limits and colours",
         "href": f"{b}/api/layers/{_path(dataset, element)}/legend?{q}"},
        {"rel": "alternate", "type": JSON, "title": "TileJSON",
         "href": f"{b}/api/layers/{_path(dataset, element)}/tilejson.json?{q}"},
    ]
    if not is_pooled(dataset):
        ds = quote(dataset, safe=":")
        cells = urlencode({"element": element, "medium": view.medium, "method": view.method,
                           "grid": view.grid.name, "level": view.level})
        links += [
            {"rel": "items", "type": routes_ogc.GEOJSON,
             "title": "The cells as features (OGC API - Features)",
             "href": f"{b}/api/collections/{ds}.cells/items?{cells}"},
            {"rel": "describedby", "type": routes_ogc.GEOJSON,
             "title": "The dataset's catalogue record",
             "href": f"{b}/api/collections/catalogue/items/{ds}"},
        ]
    return {
        "id": f"{dataset}.{element}",
        "title": _title(view),
        "description": f"{view.element} ({view.unit}), {view.stat} per {view.level} cell on "
        f"the {view.grid.name} grid, {view.medium}"
        + (f", {view.method}" if view.method else "") + f". {view.citation}",
        "dataType": "map",
        "attribution": view.citation,
        "extent": {"spatial": {"bbox": [_bbox(view)], "crs": CRS84}},
        "crs": [CRS84],
        "links": links,
    }


if map_collection not in routes_ogc.COLLECTION_LOOKUPS:  # /api/collections/<dataset>.<element>
    routes_ogc.COLLECTION_LOOKUPS.append(map_collection)


def _path(dataset: str, element: str) -> str:
    return f"{quote(dataset, safe=':')}/{quote(element)}"


@router.get("/tileMatrixSets/{tms_id}/compatible", summary="A tile matrix set for every client")
def tile_matrix_set_compatible(tms_id: TmsId) -> dict[str, Any]:
    """The OGC tile matrix set in the 2.0 encoding (as ``/api/tileMatrixSets/{tms_id}``)
    with the members of the 1.0 encoding added, which GDAL before 3.7 (Debian 12, and the
    QGIS built on it) reads: the tilesets' ``tiling-scheme`` link."""
    import morecantile

    _tms(tms_id)
    tms = morecantile.tms.get(tms_id)
    out: dict[str, Any] = tms.model_dump(mode="json", exclude_none=True)
    (w, s, e, n), crs = tms.xy_bbox, out["crs"]
    out.update({
        "type": "TileMatrixSetType",
        "identifier": out["id"],
        "supportedCRS": crs,
        "boundingBox": {"type": "BoundingBoxType", "crs": crs, "lowerLeft": [w, s],
                        "upperRight": [e, n], "lowerCorner": [w, s], "upperCorner": [e, n]},
        "tileMatrix": [
            {"type": "TileMatrixType", "identifier": m["id"],
             "scaleDenominator": m["scaleDenominator"], "topLeftCorner": m["pointOfOrigin"],
             **{k: m[k] for k in ("tileWidth", "tileHeight", "matrixWidth", "matrixHeight")}}
            for m in out["tileMatrices"]],
    })
    return out


def _tileset_ref(b: str, cid: str, q: str, view: LayerView) -> dict[str, Any]:
    return {
        "title": _title(view),
        "dataType": "map",
        "crs": CRS_3857,
        "tileMatrixSetURI": TMS_URI,
        "links": [
            {"rel": "self", "type": JSON, "title": "The tileset",
             "href": f"{b}/api/collections/{cid}/map/tiles/{TMS_ID}?{q}"},
            {"rel": REL + "tiling-scheme", "type": JSON, "title": TMS_ID,
             "href": f"{b}/api/tileMatrixSets/{TMS_ID}/compatible"},
        ],
    }


@router.get("/collections/{dataset}.{element}/map/tiles", summary="Map tilesets of a layer")
def map_tilesets(
    request: Request, gw: GatewayDep, actor: ActorDep, dataset: Dataset, element: Element,
    medium: Medium = None, method: Method = None, grid: GridQ = None, level: Level = None,
    stat: Stat = "median",
) -> dict[str, Any]:
    """The map tilesets of the layer collection ``<dataset>.<element>``: one, in
    WebMercatorQuad."""
    view = _view(gw, actor, dataset, element, medium, method, grid, level, stat)
    b, cid, q = base_url(request), _cid(dataset, element), _query(view)
    return {
        "links": [{"rel": "self", "type": JSON,
                   "href": f"{b}/api/collections/{cid}/map/tiles?{q}"},
                  {"rel": REL + "geodata", "type": JSON, "title": "The layer collection",
                   "href": f"{b}/api/collections/{cid}?{q}"}],
        "tilesets": [_tileset_ref(b, cid, q, view)],
    }


@router.get("/collections/{dataset}.{element}/map/tiles/{tms_id}",
            summary="Map tileset of a layer")
def map_tileset(
    request: Request, gw: GatewayDep, actor: ActorDep, dataset: Dataset, element: Element,
    tms_id: TmsId, medium: Medium = None, method: Method = None, grid: GridQ = None,
    level: Level = None, stat: Stat = "median",
) -> dict[str, Any]:
    """The tileset's metadata: its tile matrix set, the tiles that hold published cells
    (``tileMatrixSetLimits``, zoom 0–14) and the tile URL template."""
    _tms(tms_id)
    view = _view(gw, actor, dataset, element, medium, method, grid, level, stat)
    b, cid, q = base_url(request), _cid(dataset, element), _query(view)
    w, s, e, n = _bbox(view)
    (x0, y0), (x1, y1) = _xy(w, s), _xy(e, n)
    out = _tileset_ref(b, cid, q, view)
    out["links"] += [
        {"rel": "item", "type": "image/png", "templated": True, "title": "A map tile",
         "href": f"{b}/api/collections/{cid}/map/tiles/{TMS_ID}"
                 f"/{{tileMatrix}}/{{tileRow}}/{{tileCol}}?{q}"},
        {"rel": REL + "geodata", "type": JSON, "title": "The layer collection",
         "href": f"{b}/api/collections/{cid}?{q}"},
    ]
    out.update({
        "description": f"{view.element} ({view.unit}), {view.stat} per {view.level} cell; "
        "cells not published to you are transparent.",
        "attribution": view.citation,
        "license": view.licence,
        "boundingBox": {"lowerLeft": [x0, y0], "upperRight": [x1, y1], "crs": CRS_3857},
        "centerPoint": {"coordinates": [(w + e) / 2, (s + n) / 2], "crs": CRS84,
                        "tileMatrix": "4"},
        "tileMatrixSetLimits": _limits(view),
    })
    return out


@router.get(
    "/collections/{dataset}.{element}/map/tiles/{tms_id}/{z}/{y}/{x}",
    summary="Map tile of a layer",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}, "description": "A 256 x 256 PNG tile."}},
)
def map_tile(
    request: Request, gw: GatewayDep, actor: ActorDep, dataset: Dataset, element: Element,
    tms_id: TmsId,
    z: Annotated[int, Path(description="Tile matrix (zoom level).")],
    y: Annotated[int, Path(description="Tile row (0 north).")],
    x: Annotated[int, Path(description="Tile column.")],
    medium: Medium = None, method: Method = None, grid: GridQ = None, level: Level = None,
    stat: Stat = "median",
) -> Response:
    """One tile (``{tileMatrix}/{tileRow}/{tileCol}``): the XYZ tile ``z/x/y`` of
    ``/api/layers/<dataset>/<element>/tiles``; 404 outside the tileset's limits."""
    _tms(tms_id)
    view = _view(gw, actor, dataset, element, medium, method, grid, level, stat)
    limits = _limits(view)
    if limits and not _inside(limits, z, y, x):
        raise TileError(f"tile {z}/{y}/{x} is outside the tileset's limits "
                        "(tileMatrixSetLimits)")
    return routes_tiles.tile(request, gw, actor, dataset, element, z, x, y, medium=medium,
                             method=method, grid=grid, level=level, stat=stat)


if map_collection not in routes_ogc.COLLECTION_LOOKUPS:  # /api/collections/<dataset>.<element>
    routes_ogc.COLLECTION_LOOKUPS.append(map_collection)
