"""The catalogue in DCAT-AP: what European (and other DCAT) catalogues harvest.

:func:`dcat_catalogue` turns the records of :mod:`chemearth.access.records` (so it tells
exactly what they tell: nothing of a restricted dataset or an embargoed element) into a
`DCAT-AP <https://semiceu.github.io/DCAT-AP/>`_ ``dcat:Catalog`` in JSON-LD, with
GeoDCAT-AP's ``dcat:bbox`` for the extent: one ``dcat:Dataset`` per record, its
distributions (OGC API - Features, sample and layer downloads), and the OGC API as a
``dcat:DataService``.

Examples
--------
>>> wkt((5.5, 50.9, 5.8, 51.0))
'POLYGON((5.5 50.9,5.8 50.9,5.8 51.0,5.5 51.0,5.5 50.9))'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from chemearth.access.policy import Actor
from chemearth.access.records import (
    EU_AUTHORITY,
    GEOJSON,
    INSPIRE_THEME,
    LAYER_FORMATS,
    SAMPLE_FORMATS,
    records,
)

if TYPE_CHECKING:
    from chemearth.access.gateway import Gateway

__all__ = ["CONTEXT", "dcat_catalogue", "wkt"]

CONTEXT = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "vcard": "http://www.w3.org/2006/vcard/ns#",
    "locn": "http://www.w3.org/ns/locn#",
    "gsp": "http://www.opengis.net/ont/geosparql#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
}
#: the OGC API standards the data service conforms to
_OGC_APIS = (
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-records-1/1.0/conf/records-api",
)
_ACCESS = {"public": "PUBLIC", "aggregated": "RESTRICTED", "restricted": "NON_PUBLIC"}


def _en(text: str) -> dict[str, str]:
    return {"@value": text, "@language": "en"}


def _date(text: str, kind: str = "dateTime") -> dict[str, str]:
    return {"@value": text, "@type": f"xsd:{kind}"}


def wkt(box: tuple[float, float, float, float]) -> str:
    w, s, e, n = box
    return f"POLYGON(({w} {s},{e} {s},{e} {n},{w} {n},{w} {s}))"


def _distribution(uri: str, title: str, media: str, ftype: str, licence: dict[str, Any],
                  download: bool, service: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "@id": f"{uri}#{ftype.lower()}-{title.split(maxsplit=1)[0].lower()}",
        "@type": "dcat:Distribution",
        "dct:title": _en(title),
        "dcat:accessURL": {"@id": uri},
        "dct:format": {"@id": f"{EU_AUTHORITY}/file-type/{ftype}"},
        "dcat:mediaType": {"@id": "https://www.iana.org/assignments/media-types/"
                           + media.split(";", maxsplit=1)[0]},
        "dct:license": licence,
    }
    if download:
        out["dcat:downloadURL"] = {"@id": uri}
    if service is not None:
        out["dcat:accessService"] = {"@id": service}
    return out


def _dcat_dataset(rec: dict[str, Any], b: str, service: str) -> dict[str, Any]:
    p = rec["properties"]
    ds = rec["id"]
    q = quote(ds)
    page = f"{b}/catalogue/datasets/{q}"
    lic: dict[str, Any] = {"@type": "dct:LicenseDocument", "rdfs:label": p["rights"]}
    if p["license"] != "other":
        lic["@id"] = f"https://spdx.org/licenses/{p['license']}"
    dists = [_distribution(f"{b}/api/collections/{q}.cells/items",
                           "Grid cells (OGC API - Features, GeoJSON)", GEOJSON, "GEOJSON",
                           lic, False, service)]
    if any(link["href"].endswith(f"/{q}.samples/items") for link in rec["links"]):
        dists.append(_distribution(f"{b}/api/collections/{q}.samples/items",
                                   "Samples (OGC API - Features, GeoJSON)", GEOJSON,
                                   "GEOJSON", lic, False, service))
        for ext, (name, media, ftype) in SAMPLE_FORMATS.items():
            dists.append(_distribution(f"{b}/api/downloads/{q}/samples.{ext}",
                                       f"Samples ({name})", media, ftype, lic, True))
    for name, media, ftype in LAYER_FORMATS.values():
        d = _distribution(page, f"Grid layers ({name}, one file per element)", media,
                          ftype, lic, False)
        d["@id"] = f"{page}#layers-{ftype.lower()}"
        dists.append(d)
    contact: dict[str, Any] = {"@type": "vcard:Organization", "vcard:fn": p["organisation"]}
    out: dict[str, Any] = {
        "@id": page,
        "@type": "dcat:Dataset",
        "dct:identifier": ds,
        "dct:title": _en(p["title"]),
        "dct:description": _en(p["description"]),
        "dcat:keyword": [_en(k) for k in p["keywords"]],
        "dcat:theme": [{"@id": f"{EU_AUTHORITY}/data-theme/ENVI"},
                       {"@id": f"{INSPIRE_THEME[0]}/{INSPIRE_THEME[1]}"}],
        "dct:publisher": {"@type": "foaf:Organization", "foaf:name": p["organisation"]},
        "dcat:contactPoint": contact,
        "dct:issued": _date(p["created"]),
        "dct:modified": _date(p["updated"]),
        "dct:language": {"@id": f"{EU_AUTHORITY}/language/ENG"},
        "dcat:landingPage": {"@id": page},
        "dct:accessRights": {
            "@id": f"{EU_AUTHORITY}/access-right/{_ACCESS.get(p['sharing'], 'PUBLIC')}"},
        "dct:bibliographicCitation": p["citation"],
        "dct:rights": {"@type": "dct:RightsStatement", "rdfs:label": p["rights"]},
        "dcat:distribution": dists,
    }
    if p["externalIds"]:
        contact["vcard:hasURL"] = {"@id": p["externalIds"][0]["value"]}
    spatial: list[dict[str, Any]] = [{"@id": f"{EU_AUTHORITY}/country/{a3}"}
                                     for a3 in _alpha3(p["countries"])]
    if "bbox" in rec:
        spatial.insert(0, {"@type": "dct:Location",
                           "dcat:bbox": {"@value": wkt(tuple(rec["bbox"])),
                                         "@type": "gsp:wktLiteral"}})
    if spatial:
        out["dct:spatial"] = spatial
    if rec["time"] is not None:
        start, end = rec["time"]["interval"]
        out["dct:temporal"] = {"@type": "dct:PeriodOfTime",
                               "dcat:startDate": _date(start, "date"),
                               "dcat:endDate": _date(end, "date")}
    return out


def _alpha3(codes: Sequence[str]) -> list[str]:
    from chemearth.reference.countries import ALPHA3_TO_ALPHA2

    to3 = {a2: a3 for a3, a2 in ALPHA3_TO_ALPHA2.items()}
    return [to3[c] for c in codes if c in to3]


def dcat_catalogue(gw: Gateway, actor: Actor, base: str) -> dict[str, Any]:
    """The catalogue as a DCAT-AP ``dcat:Catalog`` in JSON-LD: one ``dcat:Dataset`` per
    record ``actor`` may see, with its distributions, and the OGC API as a
    ``dcat:DataService``."""
    recs = records(gw, actor, base)
    service = f"{base}/api"
    modified = max((r["properties"]["updated"] for r in recs), default=None)
    out: dict[str, Any] = {
        "@context": CONTEXT,
        "@id": f"{base}/catalogue",
        "@type": "dcat:Catalog",
        "dct:title": _en("chemearth: geochemical baseline data"),
        "dct:description": _en(
            "Soil and sediment geochemical surveys: element concentrations of samples, "
            "and grid layers of statistics per cell, under each data owner's sharing rules."),
        "dct:publisher": {"@type": "foaf:Organization", "foaf:name": "chemearth",
                          "foaf:homepage": {"@id": f"{base}/"}},
        "foaf:homepage": {"@id": f"{base}/catalogue"},
        "dct:language": {"@id": f"{EU_AUTHORITY}/language/ENG"},
        "dcat:themeTaxonomy": {"@id": f"{EU_AUTHORITY}/data-theme"},
        "dcat:service": [{
            "@id": service,
            "@type": "dcat:DataService",
            "dct:title": _en("chemearth OGC API (Features, Tiles, Records)"),
            "dcat:endpointURL": {"@id": service},
            "dcat:endpointDescription": {"@id": f"{base}/openapi.json"},
            "dct:conformsTo": [{"@id": c} for c in _OGC_APIS],
            "dcat:servesDataset": [{"@id": f"{base}/catalogue/datasets/{quote(r['id'])}"}
                                   for r in recs],
        }],
        "dcat:dataset": [_dcat_dataset(r, base, service) for r in recs],
    }
    if modified is not None:
        out["dct:modified"] = _date(modified)
    return out
