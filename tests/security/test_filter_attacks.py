"""Attacks through CQL2 filters (OGC API - Features Part 3) on the store with sharing rules.

A filter runs on what the actor may see, so it may tell nothing more than the features
without it:

* an embargoed element is an unknown property, word for word as an element the dataset
  does not hold (as a filter, as a query parameter, in the queryables); as a cell's
  element it matches nothing, as an absent element does;
* a statistic withheld by disclosure control is null: ``median > t`` never matches a cell
  whose median is withheld, ``NOT (median > t)`` neither, and nothing matches ``n < k``;
* the restricted dataset answers any filter as a dataset that does not exist, the
  aggregated dataset's samples refuse every filter alike;
* filters too long, too deep or too large are refused (400) before they are evaluated;
  SQL in strings or names is text or an unknown property, and the store is untouched.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from tests.web.conftest import (
    ACTORS,
    AGGREGATED,
    EMBARGO,
    FULL_ACCESS,
    PUBLIC,
    QC_PUBLIC,
    SECRET,
)

from chemearth.access.cql2 import like_matcher
from chemearth.access.filtering import MAX_DEPTH, MAX_FILTER_CHARS, MAX_NODES

MISSING_DS = "nonexistent-survey"
MISSING_EL = "Og"
K = 3
#: who sees Ni in the public QC dataset of Kola humus (embargoed there): NGU and the admin
QC_FULL = {"owner", "admin"}


def _get(client: Any, url: str, params: dict[str, Any], headers: dict[str, str]) -> Any:
    r = client.get(url, params=params, headers=headers)
    assert r.status_code < 500, f"{url} {params}: {r.status_code} {r.text[:300]}"
    return r


def _text(r: Any) -> str:
    """An answer's text without its time stamp."""
    return re.sub(r'"timeStamp":"[^"]*"', "", r.text)


def _same(mine: Any, other: Any, old: str, new: str) -> None:
    """``mine`` is, word for word, the answer ``other`` with ``new`` read as ``old``."""
    assert mine.status_code == other.status_code
    assert _text(mine) == re.sub(rf"(?<![\w-]){new}(?![\w-])", old, _text(other))


# --------------------------------------------------------------------------- embargo


@pytest.mark.parametrize("actor", list(ACTORS))
@pytest.mark.parametrize("element", ["Ni", "Cu"])
def test_an_embargoed_element_is_an_unknown_property(
    secure_client: Any, secure_store: Any, actor: str, element: str
) -> None:
    """Kola humus's public QC dataset embargoes Ni, not Cu (which everyone sees there, so
    the test can fail both ways)."""
    h = secure_store.headers(actor)
    url = f"/api/collections/{QC_PUBLIC}.samples/items"
    sees = actor in QC_FULL or element == "Cu"
    def text(el: str) -> str:
        return f"{el} > 0 OR {el}_censored = true"

    def doc(el: str) -> str:
        return json.dumps({"op": ">", "args": [{"property": el}, 0]})

    for lang, flt in (("cql2-text", text), ("cql2-json", doc)):
        mine = _get(secure_client, url, {"filter": flt(element), "filter-lang": lang}, h)
        if sees:
            assert mine.status_code == 200
            assert mine.json()["numberMatched"] > 0
            continue
        assert mine.status_code == 400
        other = _get(secure_client, url, {"filter": flt(MISSING_EL), "filter-lang": lang}, h)
        _same(mine, other, element, MISSING_EL)
    # as a query parameter (queryables as parameters), and in the queryables
    mine = _get(secure_client, url, {element: "1", "limit": 5}, h)
    other = _get(secure_client, url, {MISSING_EL: "1", "limit": 5}, h)
    if sees:
        assert mine.json()["numberMatched"] < other.json()["numberMatched"]
    else:
        _same(mine, other, element, MISSING_EL)
    props = _get(secure_client, url.replace("/items", "/queryables"), {}, h).json()["properties"]
    assert (element in props) == sees
    assert (f"{element}_censored" in props) == sees
    assert "Pb" in props


@pytest.mark.parametrize("actor", list(ACTORS))
def test_an_embargoed_element_of_cells_matches_as_an_absent_one(
    secure_client: Any, secure_store: Any, actor: str
) -> None:
    h = secure_store.headers(actor)
    url = f"/api/collections/{AGGREGATED}.cells/items"
    for element in EMBARGO:
        flt = "element = '{el}' OR (element IN ('{el}') AND median > 0)"
        mine = _get(secure_client, url, {"level": "40km", "filter": flt.format(el=element)}, h)
        if actor in FULL_ACCESS[AGGREGATED]:
            assert mine.json()["numberMatched"] > 0
            continue
        assert mine.json()["numberMatched"] == 0
        other = _get(secure_client, url, {"level": "40km",
                                          "filter": flt.format(el=MISSING_EL)}, h)
        _same(mine, other, element, MISSING_EL)


# --------------------------------------------------------------------------- disclosure


def _cells(client: Any, headers: dict[str, str], flt: str | None = None) -> dict[str, Any]:
    params = {"element": "Pb", "level": "40km", "limit": 10_000}
    if flt is not None:
        params["filter"] = flt
    r = _get(client, f"/api/collections/{AGGREGATED}.cells/items", params, headers)
    assert r.status_code == 200, r.text
    return {f["id"]: f["properties"] for f in r.json()["features"]}


@pytest.mark.parametrize(("stat", "thresholds"), [
    ("median", (0.0, 15.0, 20.0, 30.0)), ("p90", (0.0, 25.0, 40.0)),
    ("p25", (0.0, 15.0)), ("max", (-1.0, 50.0)), ("min", (-1.0, 1e9)),
    ("dl_max", (-1.0,)), ("gmean", (0.0, 18.0)),
])
def test_a_withheld_statistic_is_null_to_every_filter(
    secure_client: Any, stat: str, thresholds: tuple[float, ...]
) -> None:
    """Kola humus Pb at 40 km, anonymously: the filtered cells are exactly the published
    ones whose shown statistic passes; a withheld one passes no comparison."""
    shown = _cells(secure_client, {})
    have = {fid: p[stat] for fid, p in shown.items() if stat in p}
    withheld = set(shown) - set(have)
    if stat in ("max", "min", "dl_max"):  # sample values: never published under control
        assert not have
    if stat == "median":  # published from 2k + 1 samples: some shown, some withheld
        assert have
        assert withheld
    for t in thresholds:
        assert set(_cells(secure_client, {}, f"{stat} > {t}")) == {
            f for f, v in have.items() if v > t}
        assert set(_cells(secure_client, {}, f"NOT ({stat} > {t})")) == {
            f for f, v in have.items() if v <= t}
        assert set(_cells(secure_client, {}, f"{stat} <= {t} OR {stat} > {t}")) == set(have)
    assert set(_cells(secure_client, {}, f"{stat} IS NULL")) == withheld


@pytest.mark.parametrize("actor", list(ACTORS))
def test_cells_below_k_match_no_filter(secure_client: Any, secure_store: Any,
                                       actor: str) -> None:
    """``n < 3`` finds nothing under disclosure control; with full access it finds the
    small cells (so the test can fail)."""
    h = secure_store.headers(actor)
    small = _cells(secure_client, h, f"n < {K}")
    everything = _cells(secure_client, h)
    assert set(_cells(secure_client, h, "n >= 0")) == set(everything)
    if actor in FULL_ACCESS[AGGREGATED]:
        assert small
        assert all(p["n"] < K for p in small.values())
    else:
        assert small == {}
        assert min(p["n"] for p in everything.values()) >= K


# --------------------------------------------------------------------------- datasets


@pytest.mark.parametrize("actor", list(ACTORS))
@pytest.mark.parametrize("kind", ["samples", "cells"])
@pytest.mark.parametrize("flt", ["Zn > 100", "Og > 1", "sample_id LIKE '1%'",
                                 "S_INTERSECTS(geometry, BBOX(5.7, 50.9, 5.8, 51.0))", "Zn >"])
def test_the_restricted_dataset_answers_every_filter_as_a_missing_one(
    secure_client: Any, secure_store: Any, actor: str, kind: str, flt: str
) -> None:
    h = secure_store.headers(actor)
    mine = _get(secure_client, f"/api/collections/{SECRET}.{kind}/items", {"filter": flt}, h)
    q = _get(secure_client, f"/api/collections/{SECRET}.{kind}/queryables", {}, h)
    if actor in FULL_ACCESS[SECRET]:
        assert mine.status_code in (200, 400)
        assert q.status_code == 200
        return
    other = _get(secure_client, f"/api/collections/{MISSING_DS}.{kind}/items",
                 {"filter": flt}, h)
    _same(mine, other, SECRET, MISSING_DS)
    _same(q, _get(secure_client, f"/api/collections/{MISSING_DS}.{kind}/queryables", {}, h),
          SECRET, MISSING_DS)


@pytest.mark.parametrize("actor", list(ACTORS))
def test_the_aggregated_samples_refuse_every_filter_alike(
    secure_client: Any, secure_store: Any, actor: str
) -> None:
    h = secure_store.headers(actor)
    url = f"/api/collections/{AGGREGATED}.samples/items"
    answers = [_get(secure_client, url, {"filter": f}, h)
               for f in ("Ni > 0", "Pb > 0", "Og > 0", "sample_id = '1'")]
    q = _get(secure_client, url.replace("/items", "/queryables"), {}, h)
    if actor in FULL_ACCESS[AGGREGATED]:
        assert [a.status_code for a in answers] == [200, 200, 400, 200]
        assert q.status_code == 200
    else:
        assert {a.status_code for a in answers} == {q.status_code} == {403}
        assert len({a.text for a in answers} | {q.text}) == 1


# --------------------------------------------------------------------------- size


def _nested_json(depth: int) -> str:
    doc: Any = {"op": ">", "args": [{"property": "Zn"}, 1]}
    for _ in range(depth):
        doc = {"op": "not", "args": [doc]}
    return json.dumps(doc)


@pytest.mark.parametrize(("lang", "flt", "says"), [
    ("cql2-text", "Zn > " + "1" * MAX_FILTER_CHARS, "longer than"),
    ("cql2-text", "NOT (" * (MAX_DEPTH + 5) + "Zn > 1" + ")" * (MAX_DEPTH + 5), "deeper"),
    ("cql2-text", " OR ".join(["Zn > 1"] * (MAX_DEPTH + 5)), "deeper"),
    ("cql2-text", "Zn IN (" + ",".join(map(str, range(MAX_NODES + 10))) + ")", "terms"),
    ("cql2-json", _nested_json(MAX_DEPTH + 5), "deeper"),
    ("cql2-json", "[" * 3000 + "]" * 3000, "deeper"),
    ("cql2-json", json.dumps({"op": "in", "args": [{"property": "Zn"},
                                                  list(range(MAX_NODES + 100))]}), "terms"),
])
def test_filters_too_large_or_deep_are_refused(secure_client: Any, lang: str, flt: str,
                                               says: str) -> None:
    r = _get(secure_client, f"/api/collections/{PUBLIC}.samples/items",
             {"filter": flt, "filter-lang": lang}, {})
    assert r.status_code == 400, r.text[:300]
    assert says in r.json()["detail"]
    assert len(r.text) < 1000  # the answer does not echo the filter


def test_like_patterns_cannot_backtrack(secure_client: Any) -> None:
    """``LIKE`` is matched segment by segment: many ``%`` against a long text take linear
    time (a backtracking regular expression, ``.*a.*a...b``, would take ages here)."""
    assert not like_matcher("%a" * 40 + "%b")("a" * 20_000)
    assert like_matcher("%a" * 40 + "%b")("a" * 20_000 + "b")
    flt = "sample_id LIKE '" + "%1" * 200 + "%'"
    r = _get(secure_client, f"/api/collections/{PUBLIC}.samples/items", {"filter": flt}, {})
    assert r.status_code == 200
    assert r.json()["numberMatched"] == 0


# --------------------------------------------------------------------------- injection


@pytest.mark.parametrize(("params", "status"), [
    ({"filter": "sample_id = '1'' OR ''1''=''1'"}, 200),
    ({"filter": "sample_id = '1; DROP TABLE samples; --'"}, 200),
    ({"filter": "sample_id = '1\\' OR 1=1 --'"}, 200),
    ({"filter": json.dumps({"op": "=", "args": [{"property": "sample_id"}, "x' OR 1=1 --"]}),
      "filter-lang": "cql2-json"}, 200),
    ({"sample_id": "1' OR '1'='1"}, 200),
    ({"filter": '"sample_id; DROP TABLE measurements" = 1'}, 400),
    ({"filter": "1=1; DELETE FROM measurements"}, 400),
    ({"filter": "Zn > 0) OR (1=1"}, 400),
    ({"filter": "Zn > 0 --"}, 400),
])
def test_sql_in_a_filter_is_text_or_refused(secure_client: Any, secure_store: Any,
                                            params: dict[str, str], status: int) -> None:
    before = len(secure_store.store.measurements(PUBLIC))
    url = f"/api/collections/{PUBLIC}.samples/items"
    r = _get(secure_client, url, params, {})
    assert r.status_code == status, r.text[:300]
    if status == 200:
        assert r.json()["numberMatched"] == 0
    assert len(secure_store.store.measurements(PUBLIC)) == before
    assert _get(secure_client, url, {"limit": 1}, {}).json()["numberMatched"] > 300
