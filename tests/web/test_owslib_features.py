"""OWSLib (``owslib.ogcapi.features.Features``) reads the features of ``chemearth serve``:
conformance, the API definition, collections, queryables and filtered items (CQL2 text
and JSON, with ``bbox``), anonymously and with a data owner's token. Expectations come
from the store's measurements with pandas.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
from tests.web.conftest import AGGREGATED, PUBLIC, SECRET

owslib_features = pytest.importorskip("owslib.ogcapi.features")


@pytest.fixture
def clean_headers() -> Iterator[None]:
    """OWSLib keeps the headers of every client in one module dict: put it back."""
    from owslib import ogcapi

    before = dict(ogcapi.REQUEST_HEADERS)
    yield
    ogcapi.REQUEST_HEADERS.clear()
    ogcapi.REQUEST_HEADERS.update(before)


def _features(url: str, token: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else None
    return owslib_features.Features(f"{url}/api", headers=headers, timeout=300)


def _wide(store: Any, dataset: str) -> pd.DataFrame:
    m = store.measurements(dataset)
    m = m.assign(sample_id=m["sample_id"].astype(str), element=m["element"].astype(str))
    values = m.pivot_table(index="sample_id", columns="element", values="value",
                           aggfunc="first")
    sites = m.groupby("sample_id")[["longitude", "latitude"]].first()
    return sites.join(values).reset_index()


def _ids(fc: dict[str, Any]) -> list[str]:
    assert fc["numberReturned"] == len(fc["features"]) == fc["numberMatched"]
    return sorted(str(f["properties"]["sample_id"]) for f in fc["features"])


def test_owslib_sees_part_3_and_the_collections(secure_server: str, clean_headers: None
                                                ) -> None:
    api = _features(secure_server)
    conf = set(api.conformance()["conformsTo"])
    assert "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter" in conf
    assert "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text" in conf
    doc = api.api()  # the landing page's service-desc
    assert "/collections/{collectionId}/items" in doc["paths"]
    ids = set(api.feature_collections())
    assert {f"{PUBLIC}.samples", f"{PUBLIC}.cells", f"{AGGREGATED}.cells"} <= ids
    assert f"{AGGREGATED}.samples" not in ids
    assert not [i for i in ids if i.startswith(SECRET)]
    props = api.collection_queryables(f"{PUBLIC}.samples")["properties"]
    assert {"Zn", "Zn_censored", "sample_id", "geometry"} <= set(props)


@pytest.mark.parametrize(("flt", "rows"), [
    ("Zn > 100 AND Cd < 1", lambda w: (w["Zn"] > 100) & (w["Cd"] < 1)),
    ("Pb BETWEEN 40 AND 60 OR Cu > 150", lambda w: w["Pb"].between(40, 60) | (w["Cu"] > 150)),
    ("NOT (Ni < 30) AND sample_id LIKE '1%'",
     lambda w: (w["Ni"] >= 30) & w["sample_id"].str.startswith("1")),
])
def test_owslib_reads_filtered_items(secure_server: str, secure_store: Any,
                                     clean_headers: None, flt: str, rows: Any) -> None:
    w = _wide(secure_store.store, PUBLIC)
    want = sorted(w.loc[rows(w), "sample_id"])
    assert 0 < len(want) < len(w)
    api = _features(secure_server)
    got = api.collection_items(f"{PUBLIC}.samples", filter=flt, limit=1000)
    assert _ids(got) == want


def test_owslib_reads_cql2_json_with_a_bbox(secure_server: str, secure_store: Any,
                                           clean_headers: None) -> None:
    w = _wide(secure_store.store, PUBLIC)
    box = [6.8, 47.15, 7.0, 47.3]
    inside = w["longitude"].between(box[0], box[2]) & w["latitude"].between(box[1], box[3])
    want = sorted(w.loc[inside & (w["Co"] > 10), "sample_id"])
    assert 0 < len(want) < inside.sum()
    doc = {"op": ">", "args": [{"property": "Co"}, 10]}
    got = _features(secure_server).collection_items(
        f"{PUBLIC}.samples", bbox=box, limit=1000,
        **{"filter": json.dumps(doc), "filter-lang": "cql2-json"})
    assert _ids(got) == want


def test_owslib_with_a_token_reads_the_restricted_dataset(
    secure_server: str, secure_store: Any, clean_headers: None
) -> None:
    w = _wide(secure_store.store, SECRET)
    want = sorted(w.loc[w["Zn"] > 1000, "sample_id"])
    assert want
    api = _features(secure_server, secure_store.tokens["owner"])
    assert f"{SECRET}.samples" in api.feature_collections()
    got = api.collection_items(f"{SECRET}.samples", filter="Zn > 1000", limit=1000)
    assert _ids(got) == want
