"""OGC API - Features with Part 3 filtering, over the secure store's real surveys.

The CQL2 conformance table gives each filter in CQL2 text and in CQL2 JSON, and what it
must match, computed here with pandas (and shapely, for the spatial functions) from
``store.measurements`` and ``store.cells``: not from the wide sample table or the
features the API builds. The samples are Kola humus's (NO, FI, RU; censored values; a
one-letter element, B) as its data owner sees them; the cells are Jura's (public) at
10 km on the global grid. Then: errors, queryables, the API definition, paging with a
filter, and every listed collection readable (quality-control datasets have no
coordinates: their features have no geometry, and nothing is NaN).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
import shapely
from tests.web.conftest import (
    ACTORS,
    AGGREGATED,
    PUBLIC,
    QC_AGGREGATED,
    QC_PUBLIC,
    QC_RESTRICTED,
)

from chemearth.grid.geometry import get_grid

SAMPLES = f"/api/collections/{AGGREGATED}.samples"
CELLS = f"/api/collections/{PUBLIC}.cells"
CELL_QUERY = {"grid": "global", "level": "10km"}
#: a triangle over the Finnish-Russian part of the Kola survey (CRS84)
TRIANGLE = [(28.0, 67.0), (32.0, 67.0), (30.0, 69.5), (28.0, 67.0)]
TRIANGLE_WKT = "POLYGON((" + ", ".join(f"{x} {y}" for x, y in TRIANGLE) + "))"
TRIANGLE_JSON = {"type": "Polygon", "coordinates": [[list(p) for p in TRIANGLE]]}
BOX = (28.0, 68.0, 32.0, 70.0)


def prop(name: str) -> dict[str, str]:
    return {"property": name}


def op(name: str, *args: Any) -> dict[str, Any]:
    return {"op": name, "args": list(args)}


Rows = Callable[[pd.DataFrame], "pd.Series[bool]"]


def _in_shape(shape: Any, how: str = "intersects") -> Rows:
    def rows(w: pd.DataFrame) -> Any:
        pts = [shapely.Point(x, y) for x, y in zip(w["longitude"], w["latitude"], strict=True)]
        return pd.Series([getattr(shapely, how)(p, shape) for p in pts], index=w.index)
    return rows


#: (id, CQL2 text, CQL2 JSON, which samples match: a pandas function of the wide table)
SAMPLE_TABLE: list[tuple[str, str, Any, Rows]] = [
    ("gt", "Ni > 100", op(">", prop("Ni"), 100), lambda w: w["Ni"] > 100),
    ("and", "Ni >= 100 AND Cu < 50", op("and", op(">=", prop("Ni"), 100), op("<", prop("Cu"), 50)),
     lambda w: (w["Ni"] >= 100) & (w["Cu"] < 50)),
    ("or", "Ni < 5 OR Cu > 1000", op("or", op("<", prop("Ni"), 5), op(">", prop("Cu"), 1000)),
     lambda w: (w["Ni"] < 5) | (w["Cu"] > 1000)),
    ("not", "NOT (Pb <= 30)", op("not", op("<=", prop("Pb"), 30)), lambda w: w["Pb"] > 30),
    ("eq-text", "country = 'NO'", op("=", prop("country"), "NO"), lambda w: w["country"] == "NO"),
    ("ne-and", "country <> 'RU' AND Pb > 40",
     op("and", op("<>", prop("country"), "RU"), op(">", prop("Pb"), 40)),
     lambda w: (w["country"] != "RU") & (w["Pb"] > 40)),
    ("one-letter", "B > 3 AND B <= 10", op("and", op(">", prop("B"), 3), op("<=", prop("B"), 10)),
     lambda w: (w["B"] > 3) & (w["B"] <= 10)),
    ("censored", "Be_censored = true", op("=", prop("Be_censored"), True),
     lambda w: w["Be_censored"]),
    ("measured", "Be_censored = false AND Be < 0.2",
     op("and", op("=", prop("Be_censored"), False), op("<", prop("Be"), 0.2)),
     lambda w: ~w["Be_censored"] & (w["Be"] < 0.2)),
    ("between", "Ni BETWEEN 10 AND 20", op("between", prop("Ni"), 10, 20),
     lambda w: w["Ni"].between(10, 20)),
    ("not-between", "Ni NOT BETWEEN 5 AND 500", op("not", op("between", prop("Ni"), 5, 500)),
     lambda w: (w["Ni"] < 5) | (w["Ni"] > 500)),
    ("in", "country IN ('NO', 'FI')", op("in", prop("country"), ["NO", "FI"]),
     lambda w: w["country"].isin(["NO", "FI"])),
    ("not-in", "country NOT IN ('RU')", op("not", op("in", prop("country"), ["RU"])),
     lambda w: w["country"] != "RU"),
    ("like-one", "sample_id LIKE '1_'", op("like", prop("sample_id"), "1_"),
     lambda w: w["sample_id"].str.fullmatch(r"1.")),
    ("like-any", "sample_id LIKE '%77'", op("like", prop("sample_id"), "%77"),
     lambda w: w["sample_id"].str.endswith("77")),
    ("not-like", "sample_id NOT LIKE '1%' AND Ni > 50",
     op("and", op("not", op("like", prop("sample_id"), "1%")), op(">", prop("Ni"), 50)),
     lambda w: ~w["sample_id"].str.startswith("1") & (w["Ni"] > 50)),
    ("casei", "CASEI(country) = casei('fi')",
     op("=", op("casei", prop("country")), op("casei", "fi")), lambda w: w["country"] == "FI"),
    ("bbox", f"S_INTERSECTS(geometry, BBOX({', '.join(map(str, BOX))}))",
     op("s_intersects", prop("geometry"), {"bbox": list(BOX)}),
     lambda w: w["longitude"].between(BOX[0], BOX[2]) & w["latitude"].between(BOX[1], BOX[3])),
    ("polygon", f"S_INTERSECTS(geometry, {TRIANGLE_WKT})",
     op("s_intersects", prop("geometry"), TRIANGLE_JSON), _in_shape(shapely.Polygon(TRIANGLE))),
    ("within", f"S_WITHIN(geometry, {TRIANGLE_WKT}) AND Cu > 20",
     op("and", op("s_within", prop("geometry"), TRIANGLE_JSON), op(">", prop("Cu"), 20)),
     lambda w: _in_shape(shapely.Polygon(TRIANGLE), "within")(w) & (w["Cu"] > 20)),
    ("disjoint", f"S_DISJOINT(geometry, BBOX({', '.join(map(str, BOX))}))",
     op("s_disjoint", prop("geometry"), {"bbox": list(BOX)}),
     lambda w: ~(w["longitude"].between(BOX[0], BOX[2])
                 & w["latitude"].between(BOX[1], BOX[3]))),
    ("nested", "(country = 'FI' OR country = 'NO') AND NOT (Ni > 50 OR Cu > 50)",
     op("and", op("or", op("=", prop("country"), "FI"), op("=", prop("country"), "NO")),
        op("not", op("or", op(">", prop("Ni"), 50), op(">", prop("Cu"), 50)))),
     lambda w: w["country"].isin(["FI", "NO"]) & (w["Ni"] <= 50) & (w["Cu"] <= 50)),
    ("property-property", "Ni > Cu", op(">", prop("Ni"), prop("Cu")), lambda w: w["Ni"] > w["Cu"]),
    ("is-null", "Ag IS NULL OR Ni IS NULL",
     op("or", op("isNull", prop("Ag")), op("isNull", prop("Ni"))),
     lambda w: w["Ag"].isna() | w["Ni"].isna()),
]

#: the same for Jura's 10 km cells (public): the cells' names and statistics
CELL_TABLE: list[tuple[str, str, Any, Rows]] = [
    ("element", "element = 'Zn' AND median > 60",
     op("and", op("=", prop("element"), "Zn"), op(">", prop("median"), 60)),
     lambda c: (c["element"] == "Zn") & (c["median"] > 60)),
    ("count", "n >= 10", op(">=", prop("n"), 10), lambda c: c["n"] >= 10),
    ("in", "element IN ('Cd', 'Ni') AND p90 > 1",
     op("and", op("in", prop("element"), ["Cd", "Ni"]), op(">", prop("p90"), 1)),
     lambda c: c["element"].isin(["Cd", "Ni"]) & (c["p90"] > 1)),
    ("names", "level = '10km' AND grid = 'global' AND dataset = 'jura' AND n < 40",
     op("and", op("=", prop("level"), "10km"), op("=", prop("grid"), "global"),
        op("=", prop("dataset"), "jura"), op("<", prop("n"), 40)),
     lambda c: c["n"] < 40),
    ("point", "S_INTERSECTS(geometry, POINT(6.85 47.14))",
     op("s_intersects", prop("geometry"), {"type": "Point", "coordinates": [6.85, 47.14]}),
     lambda c: pd.Series([p.intersects(shapely.Point(6.85, 47.14)) for p in c["shape"]],
                         index=c.index)),
]


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def owner(secure_store: Any) -> dict[str, str]:
    return secure_store.headers("owner")


@pytest.fixture(scope="module")
def wide(secure_store: Any) -> pd.DataFrame:
    """Kola humus, one row per sample, from the long measurement table."""
    m = secure_store.store.measurements(AGGREGATED)
    m = m.assign(sample_id=m["sample_id"].astype(str), element=m["element"].astype(str))
    values = m.pivot_table(index="sample_id", columns="element", values="value",
                           aggfunc="first")
    cens = m.pivot_table(index="sample_id", columns="element", values="censored",
                         aggfunc="first").astype("boolean").fillna(False).astype(bool)
    sites = m.groupby("sample_id")[["longitude", "latitude", "country"]].first()
    out = sites.join(values).join(cens.add_suffix("_censored")).reset_index()
    out["country"] = out["country"].astype(str)
    return out


@pytest.fixture(scope="module")
def jura_cells(secure_store: Any) -> pd.DataFrame:
    c = secure_store.store.cells("global", dataset_id=PUBLIC, level_m=10_000)
    c = c.assign(**{k: c[k].astype(str) for k in ("element", "medium", "method", "cell_id")})
    c["id"] = ["~".join(("global", r.element, r.medium, r.method, r.cell_id))
               for r in c.itertuples()]
    c["shape"] = list(get_grid("global").cell_polygons(c["cell"].to_numpy(dtype=np.int64),
                                                        to_wgs84=True, densify=4))
    return c.reset_index(drop=True)


def _all(client: Any, url: str, params: dict[str, Any], headers: dict[str, str]) -> tuple[
        list[str], int]:
    """Every feature id of a filtered collection, following the ``next`` links."""
    r = client.get(url + "/items", params={**params, "limit": 10_000}, headers=headers)
    assert r.status_code == 200, r.text
    body = json.loads(r.text, parse_constant=_no_nan)
    assert not [ln for ln in body["links"] if ln["rel"] == "next"]
    return [f["id"] for f in body["features"]], int(body["numberMatched"])


def _no_nan(token: str) -> None:
    raise AssertionError(f"{token} in a JSON answer")


# --------------------------------------------------------------------------- the table


@pytest.mark.parametrize(("case", "text", "doc", "rows"), SAMPLE_TABLE,
                         ids=[c[0] for c in SAMPLE_TABLE])
def test_cql2_samples_table(secure_client: Any, owner: dict[str, str], wide: pd.DataFrame,
                            case: str, text: str, doc: Any, rows: Rows) -> None:
    """Each filter, in text and in JSON, matches exactly the samples pandas finds."""
    want = sorted(wide.loc[rows(wide).fillna(False).astype(bool), "sample_id"])
    assert 0 < len(want) < len(wide) or case == "is-null", f"{case}: a test that cannot fail"
    got_text = _all(secure_client, SAMPLES, {"filter": text}, owner)
    got_json = _all(secure_client, SAMPLES, {"filter": json.dumps(doc),
                                             "filter-lang": "cql2-json"}, owner)
    for ids, matched in (got_text, got_json):
        assert sorted(ids) == want
        assert matched == len(want)


@pytest.mark.parametrize(("case", "text", "doc", "rows"), CELL_TABLE,
                         ids=[c[0] for c in CELL_TABLE])
def test_cql2_cells_table(secure_client: Any, jura_cells: pd.DataFrame, case: str, text: str,
                          doc: Any, rows: Rows) -> None:
    want = sorted(jura_cells.loc[rows(jura_cells).fillna(False).astype(bool), "id"])
    assert 0 < len(want) < len(jura_cells), f"{case}: a test that cannot fail"
    for params in ({"filter": text}, {"filter": json.dumps(doc), "filter-lang": "cql2-json"}):
        ids, matched = _all(secure_client, CELLS, {**CELL_QUERY, **params}, {})
        assert (sorted(ids), matched) == (want, len(want))


def test_the_cql_text_of_gdal_before_3_7_is_read_as_cql2_text(
        secure_client: Any, owner: dict[str, str], wide: pd.DataFrame) -> None:
    """GDAL 3.6 sends ``filter-lang=cql-text`` with ``(a) AND (b)``, ``''`` in strings and
    ``ILIKE``."""
    text = "(Ni > 100) AND (country ILIKE 'r%') AND (country <> 'O''Brien')"
    ids, _ = _all(secure_client, SAMPLES, {"filter": text, "filter-lang": "cql-text"}, owner)
    want = wide.loc[(wide["Ni"] > 100) & (wide["country"] == "RU"), "sample_id"]
    assert sorted(ids) == sorted(want)
    assert len(ids) > 0


def test_queryables_as_query_parameters(secure_client: Any, owner: dict[str, str],
                                        wide: pd.DataFrame) -> None:
    """``?country=NO&Be_censored=true``: equalities, and with a filter."""
    ids, _ = _all(secure_client, SAMPLES, {"Be_censored": "true", "filter": "Ni > 10"}, owner)
    want = wide.loc[wide["Be_censored"] & (wide["Ni"] > 10), "sample_id"]
    assert sorted(ids) == sorted(want)
    assert len(ids) > 0
    one = wide["sample_id"].iloc[7]
    ids, matched = _all(secure_client, SAMPLES, {"sample_id": one}, owner)
    assert (ids, matched) == ([one], 1)


def test_paging_a_filter_counts_and_links_the_filtered_features(
        secure_client: Any, owner: dict[str, str], wide: pd.DataFrame) -> None:
    want = set(wide.loc[wide["Ni"] > 20, "sample_id"])
    url, params, seen = SAMPLES + "/items", {"filter": "Ni > 20", "limit": 40}, []
    while url:
        r = secure_client.get(url, params=params, headers=owner)
        body = r.json()
        assert body["numberMatched"] == len(want)
        seen += [f["id"] for f in body["features"]]
        nxt = [ln["href"] for ln in body["links"] if ln["rel"] == "next"]
        url, params = (nxt[0], None) if nxt else ("", None)
        if nxt:
            assert "filter=Ni+%3E+20" in nxt[0]
    assert len(seen) == len(set(seen)) == len(want)
    assert set(seen) == want


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(("params", "says"), [
    ({"filter": "Og > 1"}, "unknown property 'Og'"),
    ({"filter": "Ni >"}, "cannot be read as cql2-text"),
    ({"filter": "{\"op\": \">\"", "filter-lang": "cql2-json"}, "cannot be read as cql2-json"),
    ({"filter": "{\"op\": \">\"}", "filter-lang": "cql2-json"}, "cannot be read as cql2-json"),
    ({"filter": "Ni > 1", "filter-lang": "ecql"}, "filter-lang 'ecql' is not supported"),
    ({"filter": "Ni > 1", "filter-crs": "http://www.opengis.net/def/crs/EPSG/0/4326"},
     "only one is"),
    ({"filter": "country > 3"}, "compares a string with a number"),
    ({"filter": "Ni_censored = 'yes'"}, "compares a boolean with a string"),
    ({"filter": "Ni + 1 > 2"}, "arithmetic not supported"),
    ({"filter": "T_BEFORE(country, TIMESTAMP('2020-01-01T00:00:00Z'))"}, "cannot be read"),
    ({"filter": "ACCENTI(country) = 'NO'"}, "function 'accenti' not supported"),
    ({"filter": "S_INTERSECTS(Ni, POINT(30 68))"}, "spatial functions compare the geometry"),
    ({"filter": "geometry = 3"}, "compares a geometry with a number"),
    ({"filter": "Ni > 1 AND country"}, "cannot be read"),
    ({"Ni": "lots"}, "query parameter Ni='lots' is not a number"),
    ({"filter": "   "}, "the filter is empty"),
])
def test_bad_filters_answer_400_and_say_why(secure_client: Any, owner: dict[str, str],
                                            params: dict[str, str], says: str) -> None:
    r = secure_client.get(SAMPLES + "/items", params=params, headers=owner)
    assert r.status_code == 400, r.text
    assert says in r.json()["detail"]


def test_a_cells_filter_on_an_unknown_property_is_400_even_without_cells(
        secure_client: Any) -> None:
    r = secure_client.get(CELLS + "/items", params={"level": "500m", "filter": "Zn > 1"})
    assert r.status_code == 400
    assert "unknown property 'Zn'" in r.json()["detail"]


# --------------------------------------------------------------------------- queryables


def test_queryables_are_a_json_schema_of_the_samples_properties(
        secure_client: Any, owner: dict[str, str], wide: pd.DataFrame) -> None:
    r = secure_client.get(SAMPLES + "/queryables", headers=owner)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/schema+json")
    doc = r.json()
    assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert doc["$id"].endswith(SAMPLES + "/queryables")
    assert doc["type"] == "object"
    assert doc["additionalProperties"] is False
    props = doc["properties"]
    elements = [c for c in wide.columns if c.endswith("_censored")]
    assert {e.removesuffix("_censored") for e in elements} <= set(props)
    assert props["Ni"]["type"] == "number"
    assert props["Ni_censored"]["type"] == "boolean"
    assert props["country"]["type"] == "string"
    assert props["geometry"]["format"] == "geometry-point"
    # what GDAL before 3.7 reads: the draft's array, and plain JSON when it asks for it
    assert {q["id"] for q in doc["queryables"]} == set(props)
    r = secure_client.get(SAMPLES + "/queryables", headers={
        **owner, "Accept": "application/geo+json, application/json"})
    assert r.headers["content-type"].startswith("application/json")


def test_cells_queryables_name_the_statistics(secure_client: Any) -> None:
    props = secure_client.get(CELLS + "/queryables").json()["properties"]
    assert props["n"]["type"] == "integer"
    assert props["median"]["type"] == "number"
    assert props["element"]["type"] == "string"
    assert props["geometry"]["format"] == "geometry-polygon"


def test_collections_link_their_queryables_and_conformance_lists_part_3(
        secure_client: Any) -> None:
    col = secure_client.get(CELLS).json()
    rels = {ln["rel"]: ln["href"] for ln in col["links"]}
    assert rels["http://www.opengis.net/def/rel/ogc/1.0/queryables"].endswith(
        CELLS + "/queryables")
    conf = set(secure_client.get("/api/conformance").json()["conformsTo"])
    base = "http://www.opengis.net/spec/"
    assert {f"{base}ogcapi-features-3/1.0/conf/{c}" for c in (
        "filter", "features-filter", "queryables", "queryables-query-parameters")} <= conf
    assert {f"{base}cql2/1.0/conf/{c}" for c in (
        "cql2-text", "cql2-json", "basic-cql2", "advanced-comparison-operators",
        "case-insensitive-comparison", "basic-spatial-functions",
        "basic-spatial-functions-plus", "spatial-functions")} <= conf


def test_the_api_definition_of_api_is_relative_to_it(secure_client: Any) -> None:
    """The landing page's ``service-desc``: the /api routes, as OGC API clients look
    them up (``/collections/{collectionId}/items`` with its ``filter-lang`` values)."""
    landing = secure_client.get("/api").json()
    desc = next(ln for ln in landing["links"] if ln["rel"] == "service-desc")
    r = secure_client.get(desc["href"])
    assert r.status_code == 200
    doc = r.json()
    assert doc["servers"][0]["url"].endswith("/api")
    items = doc["paths"]["/collections/{collectionId}/items"]["get"]
    params = {p["name"]: p for p in items["parameters"]}
    assert params["collectionId"]["in"] == "path"
    assert {"cql2-text", "cql2-json", "cql-text"} <= set(params["filter-lang"]["schema"]["enum"])
    assert "/" in doc["paths"]
    assert "/collections/{collectionId}/queryables" in doc["paths"]
    assert not [p for p in doc["paths"] if p.startswith("/api")]


# --------------------------------------------------------------------------- every collection


@pytest.mark.parametrize("actor", list(ACTORS))
def test_every_listed_collection_is_readable(secure_client: Any, secure_store: Any,
                                             actor: str) -> None:
    """Items (strict JSON: no NaN) and queryables of every feature collection an actor is
    shown; samples without coordinates (QC data) have no geometry."""
    headers = secure_store.headers(actor)
    cols = secure_client.get("/api/collections", headers=headers).json()["collections"]
    features = [c["id"] for c in cols if c["id"].endswith((".samples", ".cells"))]
    assert len(features) >= 6
    no_geometry = 0
    for cid in features:
        r = secure_client.get(f"/api/collections/{cid}/items", params={"limit": 50},
                              headers=headers)
        assert r.status_code == 200, f"{cid}: {r.status_code} {r.text[:200]}"
        body = json.loads(r.text, parse_constant=_no_nan)
        for f in body["features"]:
            geom = f["geometry"]
            no_geometry += geom is None
            assert geom is None or geom["type"] in ("Point", "Polygon")
        q = secure_client.get(f"/api/collections/{cid}/queryables", headers=headers)
        assert q.status_code == 200, f"{cid}: {q.text[:200]}"
    assert f"{QC_PUBLIC}.samples" in features
    ngu = actor in ("owner", "admin")
    assert (f"{QC_AGGREGATED}.samples" in features) == ngu
    # the restricted reference-material dataset has no coordinates: listed and readable
    assert (f"{QC_RESTRICTED}.samples" in features) == ngu
    assert (no_geometry > 0) == ngu


def test_a_sample_without_coordinates_matches_no_spatial_filter(
        secure_client: Any, owner: dict[str, str]) -> None:
    url = f"/api/collections/{QC_RESTRICTED}.samples"
    everything = secure_client.get(url + "/items", params={"limit": 10_000},
                                   headers=owner).json()
    assert everything["numberMatched"] > 0
    assert all(f["geometry"] is None for f in everything["features"])
    flt = "S_DISJOINT(geometry, BBOX(-180, -90, 180, 90)) OR geometry IS NULL"
    r = secure_client.get(url + "/items", params={"filter": flt}, headers=owner).json()
    assert r["numberMatched"] == everything["numberMatched"]  # by IS NULL only
    r = secure_client.get(url + "/items", params={"filter": "S_DISJOINT(geometry, "
                                                  "BBOX(-180, -90, 180, 90))"},
                          headers=owner).json()
    assert r["numberMatched"] == 0
