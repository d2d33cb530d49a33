"""Catalogue records: what national and regional catalogues harvest about each dataset.

One record per dataset an actor may see, built from the gateway's catalogue entries
(:meth:`Gateway.dataset <chemearth.access.catalogue.Catalogue.dataset>`) and grid layers:
an `OGC API - Records <https://ogcapi.ogc.org/records/>`_ record (a GeoJSON feature,
:func:`records`, searched by :func:`search`), and the same facts as a `DCAT-AP
<https://semiceu.github.io/DCAT-AP/>`_ catalogue in JSON-LD (:func:`dcat_catalogue`).

A record tells no more than the catalogue entry and layers the actor may already see: a
restricted dataset has no record (it answers as one that does not exist), embargoed
elements are not listed, and the extent of a dataset the actor sees under disclosure
control (``aggregated``) is the box around its *published* cells, never around its
samples (a box's edges are the outermost samples' coordinates).

Examples
--------
>>> parse_datetime("2001-05-01/..")
(datetime.date(2001, 5, 1), None)
>>> spdx_licence("CC0 1.0 (GcClust package copy)"), spdx_licence("GPL (R package sp)")
('CC0-1.0', 'other')
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from chemearth.access.disclosure import CONTROLLED_GRID
from chemearth.access.policy import Actor
from chemearth.errors import ChemearthError, NotFoundError

if TYPE_CHECKING:
    from chemearth.access.gateway import Gateway

__all__ = [
    "CATALOGUE_ID",
    "EU_AUTHORITY",
    "INSPIRE_THEME",
    "LAYER_FORMATS",
    "RECORD_CONFORMANCE",
    "SAMPLE_FORMATS",
    "RecordQuery",
    "RecordQueryError",
    "parse_bbox",
    "parse_datetime",
    "queryables",
    "record",
    "records",
    "search",
    "spdx_licence",
    "split_terms",
]

#: Id of the record collection (``/api/collections/catalogue``).
CATALOGUE_ID = "catalogue"
#: What every record conforms to.
RECORD_CONFORMANCE = "http://www.opengis.net/spec/ogcapi-records-1/1.0/req/record-core"
GEOJSON = "application/geo+json"
JSON = "application/json"
_TILESETS_MAP = "http://www.opengis.net/def/rel/ogc/1.0/tilesets-map"
#: INSPIRE theme and ISO 19115 topic category of every dataset
INSPIRE_THEME = ("http://inspire.ec.europa.eu/theme", "so", "Soil")
_ISO_TOPIC = ("https://standards.iso.org/iso/19139/resources/gmxCodelists.xml"
              "#MD_TopicCategoryCode", "geoscientificInformation", "Geoscientific information")
EU_AUTHORITY = "http://publications.europa.eu/resource/authority"
#: the layer downloads: extension -> (format name, media type, EU file type)
LAYER_FORMATS = {
    "tif": ("GeoTIFF", "image/tiff; application=geotiff", "GEOTIFF"),
    "nc": ("NetCDF", "application/x-netcdf", "NETCDF"),
    "parquet": ("GeoParquet", "application/vnd.apache.parquet", "PARQUET"),
    "csv": ("CSV", "text/csv", "CSV"),
}
SAMPLE_FORMATS = {
    "csv": ("CSV", "text/csv", "CSV"),
    "gpkg": ("GeoPackage", "application/geopackage+sqlite3", "GPKG"),
}
#: licence texts (lower case, start) with an SPDX identifier
_SPDX = {"cc0 1.0": "CC0-1.0", "cc0-1.0": "CC0-1.0", "cc-by-4.0": "CC-BY-4.0",
         "cc by 4.0": "CC-BY-4.0", "cc-by-sa-4.0": "CC-BY-SA-4.0", "odbl": "ODbL-1.0"}


class RecordQueryError(ChemearthError, ValueError):
    """A catalogue search parameter that cannot be understood (a bad ``datetime``)."""


def spdx_licence(text: str) -> str:
    """The SPDX identifier of a licence text, or ``"other"`` (OGC API - Records)."""
    low = text.strip().lower()
    return next((v for k, v in _SPDX.items() if low.startswith(k)), "other")


def parse_datetime(text: str | None) -> tuple[dt.date | None, dt.date | None] | None:
    """An OGC ``datetime`` parameter (an instant, or ``start/end`` with ``..`` for open)
    as a pair of dates (None for an open end); None for no parameter.

    Raises
    ------
    RecordQueryError
        For anything else.
    """
    if text is None or not text.strip():
        return None
    parts = text.strip().split("/")
    if len(parts) > 2:
        raise RecordQueryError(f"datetime {text!r} is not an instant or start/end")

    def day(s: str) -> dt.date | None:
        s = s.strip()
        if s in ("", ".."):
            return None
        try:
            return dt.date.fromisoformat(s[:10])
        except ValueError:
            raise RecordQueryError(
                f"datetime {text!r}: {s!r} is not a date (YYYY-MM-DD) or timestamp") from None

    start, end = day(parts[0]), day(parts[-1])
    if len(parts) == 1 and start is None:
        raise RecordQueryError(f"datetime {text!r} is not an instant or start/end")
    if start is not None and end is not None and end < start:
        raise RecordQueryError(f"datetime {text!r} ends before it starts")
    return start, end


@dataclass(frozen=True)
class RecordQuery:
    """A search of the catalogue (the record core query parameters).

    Attributes
    ----------
    q : tuple of str
        Free-text terms; a record matches if every word of any term is in its id,
        title, description, keywords, organisation or citation (case-insensitive).
    bbox : tuple of float, optional
        ``(west, south, east, north)``: records whose extent meets it.
    datetime : tuple, optional
        ``(start, end)`` dates (None: open): records whose sampling years meet it.
    ids, types, external_ids : tuple of str
        Record ids, record types (``dataset``), external identifiers to match (any).
    """

    q: tuple[str, ...] = ()
    bbox: tuple[float, float, float, float] | None = None
    datetime: tuple[dt.date | None, dt.date | None] | None = None
    ids: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    external_ids: tuple[str, ...] = ()


# ---------------------------------------------------------------------------- extents


def _box(lon: Any, lat: Any) -> tuple[float, float, float, float] | None:
    import numpy as np

    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    ok = np.isfinite(lon) & np.isfinite(lat)
    if not ok.any():
        return None
    return (float(lon[ok].min()), float(lat[ok].min()), float(lon[ok].max()),
            float(lat[ok].max()))


def _union(boxes: Sequence[tuple[float, float, float, float] | None]
           ) -> tuple[float, float, float, float] | None:
    real = [b for b in boxes if b is not None]
    if not real:
        return None
    return (min(b[0] for b in real), min(b[1] for b in real), max(b[2] for b in real),
            max(b[3] for b in real))


def _extent(gw: Gateway, actor: Actor, entry: dict[str, Any],
            layers: list[dict[str, Any]]) -> tuple[float, float, float, float] | None:
    """The box around the samples where the actor may see them, else around the
    published cells of the dataset's most extensive layer (the most cells of at least
    *k* samples) at its coarsest level (one layer: each takes a disclosure computation)."""
    ds = str(entry["dataset_id"])
    if entry["samples_visible"]:
        s = gw.store.samples(ds)
        box = _box(s["longitude"], s["latitude"]) if len(s) else None
        return None if box is None else tuple(round(v, 6) for v in box)  # type: ignore[return-value]
    inv = gw.snapshot().inventory
    inv = inv[(inv["dataset_id"] == ds) & (inv["grid"] == CONTROLLED_GRID)]
    best: tuple[int, dict[str, Any], int] | None = None
    for lay in layers:
        levels = lay["levels"].get(CONTROLLED_GRID)
        if not levels:
            continue
        rows = inv[(inv["element"] == lay["element"]) & (inv["medium"] == lay["medium"])
                   & (inv["method"] == lay["method"]) & (inv["level_m"] == max(levels))]
        n = int(rows["cells_n3"].sum())
        if best is None or n > best[0]:
            best = (n, lay, max(levels))
    if best is None:
        return None
    _, lay, level = best
    view = gw.layer_view(actor, ds, lay["element"], medium=lay["medium"],
                         method=lay["method"], grid=CONTROLLED_GRID, level=level)
    return _union([view.index.bbox])


def _polygon(box: tuple[float, float, float, float] | None) -> dict[str, Any] | None:
    if box is None:
        return None
    w, s, e, n = box
    if w == e or s == n:
        return {"type": "Point", "coordinates": [w, s]} if (w, s) == (e, n) else {
            "type": "LineString", "coordinates": [[w, s], [e, n]]}
    return {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}


# ---------------------------------------------------------------------------- records


def _description(entry: dict[str, Any]) -> str:
    media = ", ".join(entry["media"]) or "unspecified medium"
    depth = ""
    if entry["depth_top_cm"] is not None and entry["depth_bottom_cm"] is not None:
        depth = f" ({entry['depth_top_cm']:g}-{entry['depth_bottom_cm']:g} cm)"
    years = sorted(entry["sampling_years"])
    when = "" if not years else (f", sampled in {years[0]}" if years[0] == years[-1]
                                 else f", sampled {years[0]}-{years[-1]}")
    where = f" from {', '.join(entry['countries'])}" if entry["countries"] else ""
    return (f"{entry['n_samples']} samples of {media}{depth}{where}{when}: "
            f"{len(entry['elements'])} elements ({', '.join(entry['elements'])}), "
            f"collected by {entry['organisation']}. {entry['citation']}").strip()


def _keywords(entry: dict[str, Any]) -> list[str]:
    from chemearth.reference.countries import NAMES
    from chemearth.reference.elements import ELEMENTS

    out = ["geochemistry", "geochemical baseline", str(entry["kind"])]
    for el in entry["elements"]:
        out.append(el)
        if el in ELEMENTS:
            out.append(ELEMENTS[el].name)
    out += list(entry["media"])
    for c in entry["countries"]:
        out += [c, NAMES[c]] if c in NAMES else [c]
    return list(dict.fromkeys(out))


def _time(entry: dict[str, Any]) -> dict[str, Any] | None:
    years = sorted(int(y) for y in entry["sampling_years"])
    if not years:
        return None
    return {"interval": [f"{years[0]}-01-01", f"{years[-1]}-12-31"], "resolution": "P1Y"}


def _layer_links(b: str, ds: str, layers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for lay in layers:
        q = urlencode({"medium": lay["medium"], "method": lay["method"]})
        what = ", ".join(v for v in (lay["medium"], lay["method"]) if v)
        out.append({"rel": _TILESETS_MAP, "type": JSON,
                    "title": f"{lay['element']} map tiles (OGC API - Tiles; {what})",
                    "href": f"{b}/api/collections/{quote(ds)}.{lay['element']}/map/tiles?{q}"})
    return out


def _download_links(b: str, entry: dict[str, Any]) -> list[dict[str, Any]]:
    ds = quote(str(entry["dataset_id"]))
    out: list[dict[str, Any]] = []
    if entry["samples_visible"]:
        for ext, (name, media, _) in SAMPLE_FORMATS.items():
            out.append({"rel": "enclosure", "type": media, "title": f"Samples ({name})",
                        "href": f"{b}/api/downloads/{ds}/samples.{ext}"})
    for ext, (name, media, _) in LAYER_FORMATS.items():
        out.append({
            "rel": "enclosure", "type": media, "templated": True,
            "title": f"Grid layer of one element ({name})",
            "href": f"{b}/api/downloads/{ds}/layers/{{element}}.{ext}",
            "variables": {"element": {"type": "string", "enum": list(entry["elements"]),
                                      "description": "Element symbol"}},
        })
    return out


def _record(b: str, entry: dict[str, Any], box: tuple[float, float, float, float] | None,
            created: str, layers: list[dict[str, Any]]) -> dict[str, Any]:
    ds = str(entry["dataset_id"])
    q = quote(ds)
    licence = str(entry["licence"])
    page = f"{b}/catalogue/datasets/{q}"
    formats = [{"name": "GeoJSON", "mediaType": GEOJSON},
               {"name": "PNG", "mediaType": "image/png"}]
    formats += [{"name": n, "mediaType": m} for n, m, _ in LAYER_FORMATS.values()]
    if entry["samples_visible"]:
        formats.append({"name": "GeoPackage", "mediaType": SAMPLE_FORMATS["gpkg"][1]})
    contact: dict[str, Any] = {"organization": entry["organisation"], "roles": ["originator"]}
    if entry["url"]:
        contact["links"] = [{"rel": "about", "type": "text/html", "href": entry["url"]}]
    links = [
        {"rel": "self", "type": GEOJSON, "href": f"{b}/api/collections/{CATALOGUE_ID}/items/{q}"},
        {"rel": "alternate", "type": "text/html", "title": "The dataset page", "href": page},
        {"rel": "collection", "type": JSON, "title": "The catalogue",
         "href": f"{b}/api/collections/{CATALOGUE_ID}"},
        {"rel": "describedby", "type": JSON, "title": "Catalogue entry",
         "href": f"{b}/api/datasets/{q}"},
        {"rel": "license", "type": "text/html", "title": licence, "href": entry["url"] or page},
        {"rel": "items", "type": GEOJSON,
         "title": "Grid cell statistics (OGC API - Features)",
         "href": f"{b}/api/collections/{q}.cells/items"},
    ]
    if entry["url"]:
        links.append({"rel": "via", "type": "text/html", "title": "Source", "href": entry["url"]})
    if entry["samples_visible"]:
        links.append({"rel": "items", "type": GEOJSON, "title": "Samples (OGC API - Features)",
                      "href": f"{b}/api/collections/{q}.samples/items"})
    links += _layer_links(b, ds, layers) + _download_links(b, entry)
    ext_ids = [{"scheme": "url", "value": entry["url"]}] if entry["url"] else []
    return {
        "id": ds,
        "type": "Feature",
        "conformsTo": [RECORD_CONFORMANCE],
        "time": _time(entry),
        "geometry": _polygon(box),
        **({"bbox": list(box)} if box is not None else {}),
        "properties": {
            "type": "dataset",
            "dataset": ds,
            "title": entry["title"],
            "description": _description(entry),
            "keywords": _keywords(entry),
            "themes": [
                {"scheme": INSPIRE_THEME[0], "concepts": [
                    {"id": INSPIRE_THEME[1], "title": INSPIRE_THEME[2],
                     "url": f"{INSPIRE_THEME[0]}/{INSPIRE_THEME[1]}"}]},
                {"scheme": _ISO_TOPIC[0], "concepts": [
                    {"id": _ISO_TOPIC[1], "title": _ISO_TOPIC[2]}]}],
            "language": "en",
            "externalIds": ext_ids,
            "contacts": [contact],
            "license": spdx_licence(licence),
            "rights": licence,
            "citation": entry["citation"],
            "created": created,
            "updated": _iso(entry["ingested_at"]),
            "formats": formats,
            "organisation": entry["organisation"],
            "countries": list(entry["countries"]),
            "media": list(entry["media"]),
            "elements": list(entry["elements"]),
            "sharing": entry["sharing"],
            "kind": entry["kind"],
            "samples": entry["n_samples"],
        },
        "links": links,
    }


def _iso(text: Any) -> str:
    try:
        t = dt.datetime.fromisoformat(str(text))
    except ValueError:
        return str(text)
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return t.isoformat(timespec="seconds").replace("+00:00", "Z")


def _created(gw: Gateway) -> dict[str, str]:
    """When each dataset's first version was ingested."""
    allv = gw.store.datasets(all_versions=True)
    first = allv.sort_values("version").groupby("dataset_id").first()
    return {str(d): _iso(t) for d, t in first["ingested_at"].items()}


def records(gw: Gateway, actor: Actor, base: str) -> list[dict[str, Any]]:
    """A record of every dataset ``actor`` may see (links under ``base``, the site's
    address), sorted by id; memoised per catalogue snapshot and what the actor sees."""

    def make() -> list[dict[str, Any]]:
        entries = gw.datasets(actor)
        created = _created(gw)
        by_ds: dict[str, list[dict[str, Any]]] = {}
        for lay in gw.layers(actor):
            if not lay.get("pooled"):
                by_ds.setdefault(str(lay["dataset"]), []).append(lay)
        out = []
        for e in entries:
            ds = str(e["dataset_id"])
            lays = by_ds.get(ds, [])
            out.append(_record(base, e, _extent(gw, actor, e, lays),
                               created.get(ds, _iso(e["ingested_at"])), lays))
        return out

    return list(gw.memo(("records", base, gw.sight(actor)), make))


def record(gw: Gateway, actor: Actor, record_id: str, base: str) -> dict[str, Any]:
    """The record of one dataset.

    Raises
    ------
    NotFoundError
        No record of that id, or one of a dataset ``actor`` may not see (the same).
    """
    for rec in records(gw, actor, base):
        if rec["id"] == record_id:
            return rec
    raise NotFoundError(f"record {record_id!r} not found")


def _text(rec: dict[str, Any]) -> str:
    p = rec["properties"]
    return " ".join([rec["id"], p["title"], p["description"], " ".join(p["keywords"]),
                     p["organisation"], p["citation"]]).lower()


def _meets(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def _in_time(rec: dict[str, Any], when: tuple[dt.date | None, dt.date | None]) -> bool:
    t = rec["time"]
    if t is None:
        return False
    start, end = (dt.date.fromisoformat(v) for v in t["interval"])
    lo, hi = when
    return (hi is None or start <= hi) and (lo is None or lo <= end)


def search(recs: list[dict[str, Any]], query: RecordQuery) -> list[dict[str, Any]]:
    """The records of ``recs`` that match ``query`` (every given parameter; within one,
    any of its values)."""
    terms = [t.lower().split() for t in query.q if t.strip()]
    out = []
    for rec in recs:
        if query.ids and rec["id"] not in query.ids:
            continue
        if query.types and rec["properties"]["type"] not in query.types:
            continue
        if query.external_ids:
            have = {e["value"] for e in rec["properties"]["externalIds"]}
            have |= {f"{e['scheme']}:{e['value']}" for e in rec["properties"]["externalIds"]}
            if not have & set(query.external_ids):
                continue
        if terms and not any(all(w in _text(rec) for w in t) for t in terms):
            continue
        if query.bbox is not None and ("bbox" not in rec
                                       or not _meets(tuple(rec["bbox"]), query.bbox)):
            continue
        if query.datetime is not None and not _in_time(rec, query.datetime):
            continue
        out.append(rec)
    return out


def queryables(base: str) -> dict[str, Any]:
    """The JSON Schema of what the catalogue can be searched by."""
    s = {"type": "string"}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{base}/api/collections/{CATALOGUE_ID}/queryables",
        "type": "object",
        "title": "chemearth catalogue",
        "properties": {
            "id": {**s, "title": "Record id (the dataset id)", "description": "`ids=`"},
            "type": {**s, "enum": ["dataset"], "description": "`type=`"},
            "q": {**s, "description": "Free text: title, description, keywords (element "
                  "symbols and names, media, country codes and names), organisation, "
                  "citation. Comma-separated terms: any."},
            "geometry": {"format": "geometry-any", "description": "`bbox=w,s,e,n`"},
            "datetime": {**s, "format": "date-time",
                         "description": "`datetime=` an instant or start/end (.. open): "
                         "the sampling years"},
            "externalIds": {**s, "description": "`externalIds=` the source URL"},
        },
        "additionalProperties": False,
    }


def _finite_box(box: Sequence[float]) -> bool:
    return len(box) == 4 and all(math.isfinite(v) for v in box)


def parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    """``w,s,e,n`` in degrees as a tuple (None for no parameter).

    Raises
    ------
    RecordQueryError
        For anything but four finite numbers with south <= north.
    """
    if text is None or not text.strip():
        return None
    try:
        box = tuple(float(v) for v in text.split(","))
    except ValueError:
        box = ()
    if not _finite_box(box) or box[1] > box[3]:
        raise RecordQueryError(f"bbox {text!r} is not four numbers west,south,east,north")
    return box  # type: ignore[return-value]


def split_terms(text: str | None) -> tuple[str, ...]:
    """Comma-separated values of a query parameter, stripped, empty ones dropped."""
    return tuple(v.strip() for v in re.split(r",", text or "") if v.strip())
