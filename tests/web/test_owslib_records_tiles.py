"""The catalogue and the map tiles read by real clients, and the API docs offline.

* OWSLib 0.35 (``owslib.ogcapi.records.Records``) lists the record collection, reads
  every record an actor may see and searches them (``q``, ``bbox``, ``datetime``);
* OGC API - Tiles: OWSLib has no Tiles client, so its ``Collections`` reads the layer
  collection and its HTTP helper follows the links (tilesets, tileset, tile template)
  to a tile, which must equal the XYZ tile byte for byte; GDAL's OGC API driver
  (Debian's ``gdal-bin`` 3.6, the driver QGIS uses) reads the same tile's pixels;
  GDAL's OAPIF driver reads the catalogue as a layer;
* the DCAT-AP export (JSON-LD) has the properties DCAT-AP requires for every dataset;
* restricted datasets are absent from records, DCAT and tilesets exactly as missing
  ones, embargoed elements as absent ones;
* ``/api/docs`` renders its operations in Debian's chromium with no request leaving the
  server (screenshot ``test-artifacts/api-docs.png``).

All against the secure store (tests/web/conftest.py) over a real ``chemearth serve``.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import numpy as np
import pytest
from tests.web.conftest import AGGREGATED, EMBARGO, PUBLIC, SECRET, SECRET_TITLE
from tests.web.test_browser import ARTIFACTS

MISSING = "nonexistent-survey"
TILESETS_MAP = "http://www.opengis.net/def/rel/ogc/1.0/tilesets-map"
GDAL_TRANSLATE = Path("/usr/bin/gdal_translate")
OGRINFO = Path("/usr/bin/ogrinfo")
#: actors without access to the restricted dataset (and without full access to Kola humus)
OUTSIDERS = ("anonymous", "public", "other-org")


@contextlib.contextmanager
def owslib_as(secure_store: Any, actor: str) -> Iterator[dict[str, str]]:
    """The headers of ``actor`` for OWSLib, whose ``API`` adds them to its module-wide
    request headers: they are taken out again afterwards."""
    from owslib import ogcapi

    before = dict(ogcapi.REQUEST_HEADERS)
    try:
        yield secure_store.headers(actor)
    finally:
        ogcapi.REQUEST_HEADERS.clear()
        ogcapi.REQUEST_HEADERS.update(before)


def visible(client: Any, secure_store: Any, actor: str) -> set[str]:
    """The datasets ``actor`` may see, from the catalogue API."""
    r = client.get("/api/datasets", headers=secure_store.headers(actor))
    return {d["dataset_id"] for d in r.json()["datasets"]}


# ---------------------------------------------------------------------------- records


@pytest.mark.parametrize("actor", ["anonymous", "partner", "owner"])
def test_owslib_reads_every_record_an_actor_may_see(
    secure_server: str, secure_client: Any, secure_store: Any, actor: str
) -> None:
    from owslib.ogcapi.records import Records

    with owslib_as(secure_store, actor) as headers:
        api = Records(f"{secure_server}/api", headers=headers)
        assert api.records() == ["catalogue"]
        assert "http://www.opengis.net/spec/ogcapi-records-1/1.0/conf/record-core" in (
            api.conformance()["conformsTo"])
        found = api.collection_items("catalogue", limit=1000)
        one = api.collection_item("catalogue", PUBLIC)
    ids = {f["id"] for f in found["features"]}
    assert ids == visible(secure_client, secure_store, actor)
    assert found["numberMatched"] == len(ids)
    assert (SECRET in ids) == (actor == "owner")
    assert one["properties"]["title"].startswith("Swiss Jura")
    for rec in found["features"]:
        p = rec["properties"]
        assert p["type"] == "dataset"
        assert p["title"]
        assert p["description"]
        assert p["contacts"][0]["organization"]
        assert {"self", "alternate", "license"} <= {link["rel"] for link in rec["links"]}
        if rec["id"] == AGGREGATED and actor not in ("partner", "owner"):
            assert not set(EMBARGO) & set(p["keywords"])
            assert "nickel" not in p["keywords"]
            assert not any(link["href"].endswith("/samples.csv") for link in rec["links"])


#: (actor, query parameters, the records found): free text (comma: any term), a box,
#: sampling dates; the embargoed nickel of Kola humus and the restricted survey found
#: by their owner only
SEARCHES = [
    ("anonymous", {"q": "Swiss Jura"}, {PUBLIC}),
    ("anonymous", {"q": "nickel"}, {PUBLIC}),
    ("owner", {"q": "nickel"}, {PUBLIC, AGGREGATED, "kola-humus-field-duplicates"}),
    ("anonymous", {"q": "O-horizon,swiss"}, {PUBLIC, AGGREGATED}),
    ("anonymous", {"q": "humus"}, {AGGREGATED, "kola-humus-field-duplicates"}),  # an id
    ("anonymous", {"q": SECRET_TITLE}, set()),
    ("owner", {"q": SECRET_TITLE}, {SECRET}),
    ("anonymous", {"bbox": [5, 47, 7, 48]}, {PUBLIC}),
    ("anonymous", {"bbox": [5.7, 50.9, 5.8, 51.0]}, set()),
    ("owner", {"bbox": [5.7, 50.9, 5.8, 51.0]}, {SECRET}),
    ("anonymous", {"datetime": "1992-06-01"}, {PUBLIC}),
    ("anonymous", {"datetime": "1990-01-01/1991-12-31"}, set()),
    ("owner", {"datetime": "1990-01-01/1991-12-31"}, {SECRET}),
    ("anonymous", {"datetime": "1994-01-01/..", "q": "o-horizon"}, {AGGREGATED}),
    ("anonymous", {"ids": f"{PUBLIC},{SECRET},{MISSING}"}, {PUBLIC}),
]


@pytest.mark.parametrize(("actor", "query", "expected"), SEARCHES)
def test_owslib_searches_the_catalogue(
    secure_server: str, secure_store: Any, actor: str, query: dict[str, Any],
    expected: set[str],
) -> None:
    from owslib.ogcapi.records import Records

    with owslib_as(secure_store, actor) as headers:
        found = Records(f"{secure_server}/api", headers=headers).collection_items(
            "catalogue", **query)
    assert {f["id"] for f in found["features"]} == expected


@pytest.mark.parametrize("actor", OUTSIDERS)
def test_owslib_gets_a_restricted_record_as_a_missing_one(
    secure_server: str, secure_store: Any, actor: str
) -> None:
    from owslib.ogcapi.records import Records

    errors = []
    with owslib_as(secure_store, actor) as headers:
        api = Records(f"{secure_server}/api", headers=headers)
        for ds in (SECRET, MISSING):
            with pytest.raises(RuntimeError) as err:
                api.collection_item("catalogue", ds)
            errors.append(str(err.value).replace(ds, "<id>"))
    assert errors[0] == errors[1]


@pytest.mark.skipif(not OGRINFO.is_file(), reason="no ogrinfo (apt-get install gdal-bin)")
def test_gdal_reads_the_catalogue_as_a_layer(secure_server: str, secure_client: Any) -> None:
    """The record collection is listed with the feature collections: GDAL's OAPIF driver
    (QGIS's) reads it like one."""
    out = subprocess.run([str(OGRINFO), "-ro", "-q", f"OAPIF:{secure_server}/api", "catalogue"],
                         capture_output=True, text=True, timeout=300, check=True).stdout
    titles = set(re.findall(r"^\s+title \(String\) = (.*)$", out, re.MULTILINE))
    expected = {d["title"] for d in secure_client.get("/api/datasets").json()["datasets"]}
    assert titles == expected
    assert SECRET_TITLE not in out


# ---------------------------------------------------------------------------- tiles

#: (actor, dataset, element, layer query, lon, lat, zoom): a public layer, the
#: aggregated one under disclosure control and in full, the pooled world layer
LAYERS = [
    ("anonymous", PUBLIC, "Zn", {}, 6.85, 47.14, 12),
    ("anonymous", AGGREGATED, "Pb", {"level": "40km"}, 29.0, 68.5, 7),
    ("partner", AGGREGATED, "Pb", {"level": "40km"}, 29.0, 68.5, 7),
    ("anonymous", "pooled:public", "Pb", {"medium": "humus", "level": "40km"}, 29.0, 68.5, 6),
]


def _link(doc: dict[str, Any], rel: str) -> str:
    return str(next(link["href"] for link in doc["links"] if link["rel"] == rel))


def _xyz(secure_server: str, headers: dict[str, str], tileset: dict[str, Any],
         ds: str, el: str, z: int, x: int, y: int) -> bytes:
    """The XYZ tile of the layer the tileset shows (its query, from its links)."""
    import httpx

    query = _link(tileset, "self").split("?", 1)[1]
    r = httpx.get(f"{secure_server}/api/layers/{ds}/{el}/tiles/{z}/{x}/{y}.png?{query}",
                  headers=headers, timeout=120)
    assert r.status_code == 200, r.text
    return r.content


@pytest.mark.parametrize(("actor", "ds", "el", "query", "lon", "lat", "z"), LAYERS)
def test_owslib_follows_a_layer_to_the_xyz_tile(
    secure_server: str, secure_store: Any, actor: str, ds: str, el: str,
    query: dict[str, str], lon: float, lat: float, z: int,
) -> None:
    import morecantile
    from owslib.ogcapi import Collections
    from owslib.util import http_get

    tile = morecantile.tms.get("WebMercatorQuad").tile(lon, lat, z)
    with owslib_as(secure_store, actor) as headers:
        api = Collections(f"{secure_server}/api/?{urlencode(query)}", headers=headers)
        coll = api.collection(f"{ds}.{el}")
        tilesets = http_get(_link(coll, TILESETS_MAP), headers=headers).json()
        [ref] = tilesets["tilesets"]
        assert ref["dataType"] == "map"
        assert ref["tileMatrixSetURI"].endswith("WebMercatorQuad")
        tileset = http_get(_link(ref, "self"), headers=headers).json()
        template = _link(tileset, "item")
        url = template.format(tileMatrix=z, tileRow=tile.y, tileCol=tile.x)
        got = http_get(url, headers=headers)
        xyz = _xyz(secure_server, headers, tileset, ds, el, z, tile.x, tile.y)
    assert coll["extent"]["spatial"]["bbox"][0][0] < lon < coll["extent"]["spatial"]["bbox"][0][2]
    assert str(z) in {m["tileMatrix"] for m in tileset["tileMatrixSetLimits"]}
    assert got.headers["content-type"] == "image/png"
    assert got.content == xyz
    assert np.asarray(_rgba(got.content))[..., 3].any(), "the tile should show cells"


def _rgba(png: bytes) -> Any:
    from PIL import Image

    return Image.open(io.BytesIO(png)).convert("RGBA")


@pytest.mark.skipif(not GDAL_TRANSLATE.is_file(),
                    reason="no gdal_translate (apt-get install gdal-bin)")
@pytest.mark.parametrize(("actor", "ds", "el", "query", "lon", "lat", "z"),
                         [c for c in LAYERS if c[0] == "anonymous"])
def test_gdal_reads_the_map_tiles(
    secure_server: str, secure_store: Any, tmp_path: Path, actor: str, ds: str, el: str,
    query: dict[str, str], lon: float, lat: float, z: int,
) -> None:
    """GDAL's OGC API driver reads one tile matrix over one tile's bounds: the same pixels
    as the XYZ tile. (GDAL 3.6 takes the extent in the tile matrix set's CRS, ``-oo
    MINX=…``; later versions read the collection's.)"""
    import httpx
    import morecantile
    import rasterio

    tms = morecantile.tms.get("WebMercatorQuad")
    tile = tms.tile(lon, lat, z)
    b = tms.xy_bounds(tile)
    out = tmp_path / "tile.tif"
    url = f"{secure_server}/api/collections/{ds}.{el}?{urlencode(query)}"
    opts = [f"TILEMATRIX={z}", f"MINX={b.left!r}", f"MINY={b.bottom!r}", f"MAXX={b.right!r}",
            f"MAXY={b.top!r}", "CACHE=NO"]
    subprocess.run([str(GDAL_TRANSLATE), "-q", *[a for o in opts for a in ("-oo", o)],
                    f"OGCAPI:{url}", str(out)], check=True, timeout=300, cwd=tmp_path)
    with rasterio.open(out) as src:
        pixels = src.read()
        assert src.crs.to_epsg() == 3857
    tileset = httpx.get(f"{secure_server}/api/collections/{ds}.{el}/map/tiles/WebMercatorQuad?"
                        + urlencode(query), timeout=120).json()
    xyz = np.asarray(_rgba(_xyz(secure_server, {}, tileset, ds, el, z, tile.x, tile.y)))
    assert pixels.shape == (4, 256, 256)
    assert (pixels.transpose(1, 2, 0) == xyz).all()


@pytest.mark.parametrize("actor", OUTSIDERS)
@pytest.mark.parametrize(
    "path",
    ["/api/collections/catalogue/items/{ds}", "/api/collections/{ds}.{el}",
     "/api/collections/{ds}.{el}/map/tiles",
     "/api/collections/{ds}.{el}/map/tiles/WebMercatorQuad",
     "/api/collections/{ds}.{el}/map/tiles/WebMercatorQuad/9/149/264"],
)
def test_restricted_and_embargoed_answer_as_missing(
    secure_client: Any, secure_store: Any, actor: str, path: str
) -> None:
    """The restricted survey's record, layers and tiles answer as those of a dataset that
    does not exist; an embargoed element's as an element no survey holds."""
    headers = secure_store.headers(actor)

    def get(ds: str, el: str, query: str = "") -> tuple[int, str]:
        r = secure_client.get(path.format(ds=ds, el=el) + query, headers=headers)
        return r.status_code, r.text.replace(ds, "<ds>").replace(f"'{el}'", "<el>")

    assert get(SECRET, "Zn") == get(MISSING, "Zn")
    assert get(SECRET, "Zn")[0] == 404
    if "{el}" in path:  # Kola humus at 40 km: Ni embargoed, Pb not
        assert get(AGGREGATED, "Ni", "?level=40km") == get(AGGREGATED, "Og", "?level=40km")
        assert get(AGGREGATED, "Ni", "?level=40km")[0] == 404
        assert get(AGGREGATED, "Pb", "?level=40km")[0] == 200


def test_a_restricted_layer_is_seen_by_its_organisation(
    secure_client: Any, secure_store: Any
) -> None:
    headers = secure_store.headers("owner")
    r = secure_client.get(f"/api/collections/{SECRET}.Zn/map/tiles", headers=headers)
    assert r.status_code == 200, r.text
    assert secure_client.get(f"/api/collections/{SECRET}.Zn/map/tiles").status_code == 404


def test_tiles_outside_the_tilesets_zoom_levels_are_not_found(secure_client: Any) -> None:
    base = f"/api/collections/{PUBLIC}.Zn/map/tiles/WebMercatorQuad"
    levels = [int(m["tileMatrix"]) for m in secure_client.get(base).json()[
        "tileMatrixSetLimits"]]
    assert levels == list(range(levels[0], 15))  # from the first level the layer spans a pixel
    for z in (levels[0] - 1, 15):
        assert secure_client.get(f"{base}/{z}/0/0").status_code == 404
    assert secure_client.get(f"{base.replace('WebMercatorQuad', 'WorldCRS84Quad')}/5/0/0"
                             ).status_code == 404


# ---------------------------------------------------------------------------- DCAT-AP

#: what DCAT-AP requires (and the recommendations a harvester relies on)
CATALOG_PROPERTIES = ("dct:title", "dct:description", "dct:publisher", "dcat:dataset")
DATASET_PROPERTIES = ("dct:identifier", "dct:title", "dct:description", "dcat:keyword",
                      "dcat:theme", "dct:publisher", "dcat:contactPoint", "dcat:distribution",
                      "dcat:landingPage", "dct:accessRights", "dct:issued", "dct:modified",
                      "dct:temporal")


@pytest.mark.parametrize("actor", ["anonymous", "other-org", "partner", "owner"])
def test_the_dcat_export_describes_every_visible_dataset(
    secure_client: Any, secure_store: Any, actor: str
) -> None:
    r = secure_client.get("/api/catalogue/dcat.jsonld", headers=secure_store.headers(actor))
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/ld+json")
    doc = json.loads(r.text)
    assert doc["@type"] == "dcat:Catalog"
    assert doc["@context"]["dcat"] == "http://www.w3.org/ns/dcat#"
    assert all(doc.get(p) for p in CATALOG_PROPERTIES)
    datasets = {d["dct:identifier"]: d for d in doc["dcat:dataset"]}
    assert set(datasets) == visible(secure_client, secure_store, actor)
    for ds, d in datasets.items():
        assert d["@type"] == "dcat:Dataset"
        missing = [p for p in DATASET_PROPERTIES if not d.get(p)]
        assert not missing, f"{ds} lacks {missing}"
        for dist in d["dcat:distribution"]:
            assert dist["@type"] == "dcat:Distribution"
            assert dist["dcat:accessURL"]["@id"].startswith("http")
            assert dist["dct:format"]["@id"].startswith(
                "http://publications.europa.eu/resource/authority/file-type/")
            assert dist["dct:license"]["rdfs:label"]
        downloads = {dist["dcat:downloadURL"]["@id"].rsplit("/", 1)[1]
                     for dist in d["dcat:distribution"] if "dcat:downloadURL" in dist}
        entry = secure_client.get(f"/api/datasets/{ds}", headers=secure_store.headers(actor))
        shared = entry.json()["samples_visible"]
        assert downloads == ({"samples.csv", "samples.gpkg"} if shared else set()), ds
    if actor in ("anonymous", "other-org"):
        words = {k["@value"] for k in datasets[AGGREGATED]["dcat:keyword"]}
        assert not words & {*EMBARGO, "nickel", "copper"}
    if actor != "owner":
        assert SECRET not in r.text
        assert SECRET_TITLE not in r.text


# ---------------------------------------------------------------------------- API docs


def test_the_api_docs_come_from_this_site(secure_client: Any) -> None:
    html = secure_client.get("/api/docs").text
    assets = re.findall(r'(?:src|href)="([^"]+)"', html) + re.findall(r"url: '([^']+)'", html)
    assert assets, html
    assert all(a.startswith("/") for a in assets), assets
    for a in assets:
        assert secure_client.get(a).status_code == 200, a


@pytest.mark.slow
def test_api_docs_render_offline(browser: Any, secure_server: str) -> None:
    """Swagger UI shows the operations, every request to the server itself; anything
    else is refused (as it would fail without internet)."""
    page = browser.new_page(viewport={"width": 1280, "height": 2000})
    requested: list[str] = []
    elsewhere: list[str] = []

    def route(r: Any) -> None:
        url = r.request.url
        requested.append(url)
        if url.startswith(secure_server + "/"):
            r.continue_()
        else:
            elsewhere.append(url)
            r.abort()

    page.route("**/*", route)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(f"{secure_server}/api/docs", wait_until="networkidle")
        page.wait_for_selector(".opblock", timeout=60_000)
        summaries = page.locator(".opblock-summary-description").all_inner_texts()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "api-docs.png"))
    finally:
        page.close()
    assert elsewhere == [], f"requests that leave the site: {elsewhere}"
    assert errors == []
    assert f"{secure_server}/openapi.json" in requested
    assert any("/vendor/swagger-ui/swagger-ui-bundle.js" in u for u in requested)
    assert {"Search the catalogue", "Map tile of a layer", "Features of a collection"} <= set(
        summaries)
