"""The analytics routes (``/api/analytics``): what each actor gets, and that it is the core
library's answer.

Leaks (the walk of tests/web/test_security.py covers every route; these aim at each new
output): an aggregated-only dataset gives no per-sample result (C-N thresholds,
compositional scores, probabilistic screening and change significance need its samples;
held, embargoed and absent elements answer alike), its C-A curve and zones rest on published
cells only, the QC precision comes only from duplicates the actor may read, and NGU's own
pooled layers answer outsiders as an organisation that does not exist.

Correctness: for a full-access actor every answer equals the core library's result on the
same data (:mod:`chemearth.stats.fractal`, :mod:`chemearth.assess.fractal_zones`,
:mod:`chemearth.stats.compositional_factors`, :mod:`chemearth.assess.probabilistic`,
:mod:`chemearth.assess.change_significance`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from tests.web.conftest import (
    AGGREGATED,
    EMBARGO,
    FULL_ACCESS,
    OWNER_ORG,
    POOLED_PUBLIC,
    PUBLIC,
    QC_AGGREGATED,
    SECRET,
)
from tests.web.test_security import K, kola_pb_cells

API = "/api/analytics"
LEVEL = "40km"
NO_SAMPLES = ("anonymous", "public", "other-org")
SAMPLES = tuple(sorted(FULL_ACCESS[AGGREGATED]))


@pytest.fixture(scope="module")
def client(secure_client: Any) -> Any:
    return secure_client


@pytest.fixture(scope="module")
def kola_cells(secure_store: Any) -> Any:
    return kola_pb_cells(secure_store)


def _get(client: Any, secure_store: Any, actor: str, url: str, **params: Any) -> Any:
    return client.get(url, params=params or None, headers=secure_store.headers(actor))


# --------------------------------------------------------------------------- leaks


PER_SAMPLE = [
    (f"{API}/fractal/{AGGREGATED}/{{el}}", {"kind": "C-N"}),
    (f"{API}/compositional/{AGGREGATED}", {"scores": "true", "elements": "{el},Pb,Zn,Co"}),
    (f"{API}/probability/{AGGREGATED}/{{el}}", {"level": LEVEL}),
    (f"{API}/change-significance/{AGGREGATED}/{{el}}", {"against": AGGREGATED,
                                                          "level": LEVEL}),
    # the map forms: cell outlines and sample points of the same answers
    (f"{API}/compositional/{AGGREGATED}", {"f": "geojson", "elements": "{el},Pb,Zn,Co"}),
    (f"{API}/probability/{AGGREGATED}/{{el}}", {"level": LEVEL, "f": "geojson"}),
    (f"{API}/change-significance/{AGGREGATED}/{{el}}", {"against": AGGREGATED,
                                                          "level": LEVEL, "f": "geojson"}),
]


@pytest.mark.parametrize("actor", NO_SAMPLES)
@pytest.mark.parametrize(("url", "params"), PER_SAMPLE)
def test_per_sample_answers_of_an_aggregated_dataset_are_refused_alike(
    client: Any, secure_store: Any, actor: str, url: str, params: dict[str, str]
) -> None:
    """403 for a held, an embargoed and an absent element, word for word."""
    bodies = set()
    for el in ("Pb", *EMBARGO, "Og"):
        q = {k: v.format(el=el) for k, v in params.items()}
        r = _get(client, secure_store, actor, url.format(el=el), **q)
        assert r.status_code == 403, (el, r.text)
        bodies.add(r.text.replace(el, "<el>"))
        assert "sample_id" not in r.text
    assert len(bodies) == 1, bodies


@pytest.mark.parametrize("actor", SAMPLES)
def test_sample_readers_get_scores_and_outliers(client: Any, secure_store: Any,
                                               actor: str) -> None:
    r = _get(client, secure_store, actor, f"{API}/compositional/{AGGREGATED}",
             elements="Pb,Zn,Co,Ni,Cu", scores="true", limit=5)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body["parts"]) == {"Pb", "Zn", "Co", "Ni", "Cu"}
    assert len(body["samples"]) == 5
    assert body["n_rows"] == body["n_samples"]
    assert {"sample_id", "PC1", "F1", "robust_distance", "outlier"} <= set(body["samples"][0])


@pytest.mark.parametrize("actor", NO_SAMPLES)
def test_the_compositional_summary_of_an_aggregated_dataset_has_no_sample(
    client: Any, secure_store: Any, actor: str
) -> None:
    r = _get(client, secure_store, actor, f"{API}/compositional/{AGGREGATED}",
             elements="Pb,Zn,Co,Ni,Cu,Mn")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["parts"] == ["Co", "Mn", "Pb", "Zn"]  # the embargoed parts answer as absent
    assert not set(EMBARGO) & set(r.text.replace('"', " ").split())
    assert "samples" not in body
    assert "sample_id" not in r.text
    assert [x["element"] for x in body["pca"]["loadings"]] == body["parts"]


def _zone_cells(doc: dict[str, Any], keys: np.ndarray) -> np.ndarray:
    """Which cells (their centres) lie in a zone polygon."""
    import shapely

    from chemearth.grid.geometry import get_grid

    lon, lat = get_grid("global").cell_centres(keys)
    zones = shapely.union_all([shapely.geometry.shape(f["geometry"]) for f in doc["features"]])
    return np.asarray(shapely.contains_xy(zones, lon, lat))


@pytest.mark.parametrize("actor", NO_SAMPLES)
def test_ca_curve_and_zones_rest_on_published_cells_only(
    client: Any, secure_store: Any, kola_cells: Any, actor: str
) -> None:
    """Under disclosure control the C-A curve counts the published cells whose median may be
    published, its levels are their medians, and zones cover no other cell."""
    shown = kola_cells[kola_cells["published"]]
    r = _get(client, secure_store, actor, f"{API}/fractal/{AGGREGATED}/Pb", level=LEVEL)
    assert r.status_code == 200, r.text
    fit = r.json()
    assert fit["n"] == len(shown)
    assert fit["grid"] == "global"
    assert set(np.round(fit["curve"]["levels"], 6)) <= set(np.round(shown["median"], 6))
    # a threshold low enough that every cell shown is in a zone
    z = _get(client, secure_store, actor, f"{API}/fractal/{AGGREGATED}/Pb/zones",
             level=LEVEL, threshold=0.01)
    assert z.status_code == 200, z.text
    doc = z.json()
    assert sum(f["properties"]["n_cells"] for f in doc["features"]) == len(shown)
    keys = kola_cells["cell"].to_numpy(np.int64)
    inside = _zone_cells(doc, keys)
    assert not inside[~kola_cells["published"].to_numpy()].any(), "an unpublished cell is zoned"
    assert inside[kola_cells["published"].to_numpy()].all()
    assert (kola_cells.loc[inside, "n"] >= K).all()


@pytest.mark.parametrize("actor", ["anonymous", "owner"])
def test_the_precision_comes_only_from_duplicates_the_actor_may_read(
    client: Any, secure_store: Any, actor: str
) -> None:
    """Jura's field duplicates are aggregated-only (NGU's): their precision is used for NGU
    only; the others screen without measurement error, and are told so."""
    r = _get(client, secure_store, actor, f"{API}/probability/{PUBLIC}/Zn", level="2km")
    assert r.status_code == 200, r.text
    body = r.json()
    if actor == "owner":
        assert QC_AGGREGATED in body["precision_source"]
        assert body["rsd"] > 0
    else:
        assert body["precision_source"].startswith("none")
        assert body["rsd"] is None
        assert QC_AGGREGATED not in r.text


@pytest.mark.parametrize("actor", ["anonymous", "public", "other-org", "partner"])
def test_ngus_pooled_layers_answer_outsiders_as_no_organisation(
    client: Any, secure_store: Any, actor: str
) -> None:
    for path in ("fractal/{}/Pb", "fractal/{}/Pb/zones"):
        mine = _get(client, secure_store, actor, f"{API}/{path.format(f'pooled:org:{OWNER_ORG}')}",
                    level=LEVEL, medium="humus")
        none = _get(client, secure_store, actor, f"{API}/{path.format('pooled:org:NOSUCH')}",
                    level=LEVEL, medium="humus")
        assert (mine.status_code, mine.text.replace(OWNER_ORG, "NOSUCH")) == (
            none.status_code, none.text)
        assert mine.status_code == 404


def test_the_restricted_dataset_answers_as_absent(client: Any, secure_store: Any) -> None:
    for path in ("fractal/{}/Zn?kind=C-N", "compositional/{}", "probability/{}/Zn?level=2km",
                 "composite/{}?elements=Zn,Pb,Cd", "change-significance/{}/Zn"):
        mine = _get(client, secure_store, "partner", f"{API}/{path.format(SECRET)}")
        none = _get(client, secure_store, "partner", f"{API}/{path.format('no-such')}")
        assert mine.status_code == none.status_code == 404
        assert mine.text.replace(SECRET, "no-such") == none.text


def test_change_significance_leaves_out_cells_of_too_few_pairs(
    client: Any, secure_store: Any
) -> None:
    r = _get(client, secure_store, "owner", f"{API}/change-significance/{AGGREGATED}/Pb",
             against=AGGREGATED, level=LEVEL)
    assert r.status_code == 200, r.text
    cells = r.json()["cells"]
    assert cells
    assert min(c["n_pairs"] for c in cells) >= 3


# --------------------------------------------------------------------------- correctness


def test_cn_thresholds_are_the_core_librarys(client: Any, secure_store: Any) -> None:
    from chemearth.stats.fractal import concentration_number
    from chemearth.store.selectors import element_values

    m, _ = element_values(secure_store.store, AGGREGATED, "Ni")
    want = concentration_number(m["value"].to_numpy(float), m["censored"].to_numpy(bool))
    r = _get(client, secure_store, "admin", f"{API}/fractal/{AGGREGATED}/Ni", kind="C-N")
    assert r.status_code == 200, r.text
    got = r.json()
    np.testing.assert_allclose([t["value"] for t in got["thresholds"]], want.thresholds)
    np.testing.assert_allclose([t["low"] for t in got["thresholds"]], want.threshold_low)
    np.testing.assert_allclose(got["exponents"], want.exponents)
    assert got["n"] == len(m)


def test_ca_thresholds_and_zones_are_the_core_librarys(client: Any, secure_store: Any) -> None:
    from chemearth.assess.anomalies import surface
    from chemearth.assess.fractal_zones import concentration_area_of, zone_polygons
    from chemearth.store.selectors import element_values

    m, method = element_values(secure_store.store, AGGREGATED, "Pb")
    surf = surface(m, variable="Pb", grid="europe", level=LEVEL, method=method)
    want = concentration_area_of(surf)
    r = _get(client, secure_store, "owner", f"{API}/fractal/{AGGREGATED}/Pb", grid="europe",
             level=LEVEL)
    assert r.status_code == 200, r.text
    np.testing.assert_allclose([t["value"] for t in r.json()["thresholds"]], want.thresholds)
    z = _get(client, secure_store, "owner", f"{API}/fractal/{AGGREGATED}/Pb/zones",
             grid="europe", level=LEVEL)
    doc = z.json()
    assert z.headers["content-type"].startswith("application/geo+json")
    assert doc["threshold"] == pytest.approx(float(want.thresholds[-1]))
    polys = zone_polygons(surf, float(want.thresholds[-1]))
    assert [f["properties"]["n_cells"] for f in doc["features"]] == polys["n_cells"].tolist()
    assert [f["properties"]["name"] for f in doc["features"]] == polys["name"].tolist()


def test_pooled_ca_thresholds_are_those_of_the_pooled_cells(client: Any,
                                                           secure_store: Any) -> None:
    from chemearth.access.gateway import Gateway
    from chemearth.access.policy import Actor
    from chemearth.stats.fractal import concentration_area

    view = Gateway(secure_store.store).layer_view(Actor.anonymous(), POOLED_PUBLIC, "Pb",
                                                  medium="humus", level=LEVEL)
    want = concentration_area(view.cells["median"].to_numpy(float), cell_area=40.0 ** 2)
    r = _get(client, secure_store, "anonymous", f"{API}/fractal/{POOLED_PUBLIC}/Pb",
             level=LEVEL, medium="humus")
    assert r.status_code == 200, r.text
    np.testing.assert_allclose([t["value"] for t in r.json()["thresholds"]], want.thresholds)
    c = _get(client, secure_store, "anonymous", f"{API}/composite/{POOLED_PUBLIC}",
             elements="Pb,Zn,Ni", level=LEVEL, medium="humus")
    assert c.status_code == 200, c.text
    assert c.json()["elements"] == ["Pb", "Zn"]  # Ni: Kola humus's embargo holds here too


def test_compositional_summary_is_the_core_librarys(client: Any, secure_store: Any) -> None:
    import pandas as pd

    from chemearth.stats.compositional import parts_of
    from chemearth.stats.compositional_factors import robust_factors, robust_pca
    from chemearth.store.selectors import element_values

    parts = ["Cd", "Co", "Cr", "Cu", "Ni", "Pb", "Zn"]
    cols = {}
    for el in parts:
        m, _ = element_values(secure_store.store, PUBLIC, el)
        cols[el] = m.drop_duplicates("sample_id").set_index("sample_id")
    wide = pd.DataFrame({el: c["value"] for el, c in cols.items()})
    flags = pd.DataFrame({el: c["censored"] for el, c in cols.items()}).astype(bool)
    p = parts_of(wide, parts, flags)
    pca, fa = robust_pca(p), robust_factors(p, 2)
    r = _get(client, secure_store, "anonymous", f"{API}/compositional/{PUBLIC}",
             scores="true", limit=10_000)
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["parts"] == parts
    np.testing.assert_allclose(got["pca"]["explained"], pca.explained)
    np.testing.assert_allclose([[row[c] for c in pca.loadings.columns]
                                for row in got["pca"]["loadings"]], pca.loadings.to_numpy())
    np.testing.assert_allclose([[row[c] for c in fa.loadings.columns]
                                for row in got["factors"]["loadings"]], fa.loadings.to_numpy())
    scores = pd.DataFrame(got["samples"]).set_index("sample_id")
    np.testing.assert_allclose(scores.loc[pca.scores.index.astype(str), "PC1"],
                               pca.scores["PC1"])


def test_probability_is_the_core_librarys(client: Any, secure_store: Any) -> None:
    from chemearth.assess.probabilistic import screen_dataset

    want = screen_dataset(secure_store.store, PUBLIC, "Zn", "global", "2km",
                          standard="gb15618-2018", land_use="other")
    r = _get(client, secure_store, "admin", f"{API}/probability/{PUBLIC}/Zn", level="2km",
             land_use="other")
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["precision_source"] == want.model["precision_source"]
    np.testing.assert_allclose([c["probability"] for c in got["cells"]],
                               want.frame["probability"])
    assert [c["band"] for c in got["cells"]] == want.frame["band"].tolist()
    assert [c["n"] for c in got["counts"]] == want.counts()["n"].tolist()


def test_change_significance_is_the_core_librarys(client: Any, secure_store: Any) -> None:
    from chemearth.assess.change_significance import change_significance_frames
    from chemearth.store.selectors import element_values

    m, _ = element_values(secure_store.store, PUBLIC, "Pb")
    want = change_significance_frames(m, m, level="20km", same_sites=True)
    want = want[want["n_pairs"] >= 3]
    r = _get(client, secure_store, "public", f"{API}/change-significance/{PUBLIC}/Pb")
    assert r.status_code == 200, r.text
    got = r.json()["cells"]
    assert [c["cell_id"] for c in got] == want["cell_id"].tolist()
    assert [c["direction"] for c in got] == want["direction"].tolist()
    assert [c["n_pairs"] for c in got] == want["n_pairs"].tolist()


# --------------------------------------------------------------------------- map forms


def _cell_forms(client: Any, secure_store: Any, actor: str, url: str,
                **params: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The JSON and GeoJSON forms of one per-cell answer."""
    plain = _get(client, secure_store, actor, url, **params)
    geo = _get(client, secure_store, actor, url, f="geojson", **params)
    assert plain.status_code == geo.status_code == 200, (plain.text[:300], geo.text[:300])
    assert geo.headers["content-type"].startswith("application/geo+json")
    return plain.json(), geo.json()


def _check_cell_form(plain: dict[str, Any], geo: dict[str, Any]) -> None:
    """One polygon per cell record, the record as its properties, the cell's centre in its
    polygon; the answer's other members unchanged."""
    import shapely

    from chemearth.grid.geometry import get_grid

    assert geo["type"] == "FeatureCollection"
    assert len(geo["features"]) == len(plain["cells"]) == geo["n_cells"] == geo["n_returned"]
    assert [f["properties"] for f in geo["features"]] == plain["cells"]
    assert [f["id"] for f in geo["features"]] == [c["cell_id"] for c in plain["cells"]]
    assert {k: v for k, v in geo.items() if k not in ("type", "features", "n_cells",
                                                      "offset", "n_returned")} == {
        k: v for k, v in plain.items() if k != "cells"}
    g = get_grid(plain["grid"])
    ids = [c["cell_id"] for c in plain["cells"]]
    lon, lat = g.cell_centres(g.id_to_key(ids))
    polys = [shapely.geometry.shape(f["geometry"]) for f in geo["features"]]
    assert all(p.is_valid and p.geom_type == "Polygon" for p in polys)
    assert shapely.contains_xy(np.array(polys, dtype=object), lon, lat).all()


@pytest.mark.parametrize("actor", ["anonymous", "owner"])
def test_probability_geojson_is_the_json_answer_with_cell_outlines(
    client: Any, secure_store: Any, actor: str
) -> None:
    plain, geo = _cell_forms(client, secure_store, actor, f"{API}/probability/{PUBLIC}/Zn",
                             level="2km")
    assert plain["cells"]
    _check_cell_form(plain, geo)
    assert geo["precision_source"] == plain["precision_source"]  # per actor, as the JSON


def test_change_significance_geojson_is_the_json_answer_with_cell_outlines(
    client: Any, secure_store: Any
) -> None:
    plain, geo = _cell_forms(client, secure_store, "owner",
                             f"{API}/change-significance/{AGGREGATED}/Pb", against=AGGREGATED,
                             grid="europe", level=LEVEL)
    assert plain["cells"]
    _check_cell_form(plain, geo)


def test_cell_geojson_is_paged(client: Any, secure_store: Any) -> None:
    url = f"{API}/probability/{PUBLIC}/Zn"
    plain = _get(client, secure_store, "admin", url, level="2km").json()
    geo = _get(client, secure_store, "admin", url, level="2km", f="geojson", limit=2,
               offset=1).json()
    assert [f["properties"] for f in geo["features"]] == plain["cells"][1:3]
    assert (geo["n_cells"], geo["offset"], geo["n_returned"]) == (len(plain["cells"]), 1, 2)
    assert _get(client, secure_store, "admin", url, level="2km", f="geojson",
                limit=10_001).status_code == 422


@pytest.mark.parametrize("actor", SAMPLES)
def test_score_geojson_places_each_scored_sample(client: Any, secure_store: Any,
                                                 actor: str) -> None:
    """One point per score record, at the sample's place, its properties the record."""
    params = {"elements": "Pb,Zn,Co,Ni,Cu", "factors": 2, "limit": 50, "offset": 5}
    plain = _get(client, secure_store, actor, f"{API}/compositional/{AGGREGATED}",
                 scores="true", **params)
    geo = _get(client, secure_store, actor, f"{API}/compositional/{AGGREGATED}",
               f="geojson", **params)
    assert plain.status_code == geo.status_code == 200, geo.text[:300]
    assert geo.headers["content-type"].startswith("application/geo+json")
    p, g = plain.json(), geo.json()
    assert len(g["features"]) == len(p["samples"]) == g["n_returned"] == 50
    assert [f["properties"] for f in g["features"]] == p["samples"]
    assert {k: v for k, v in g.items() if k not in ("type", "features", "n_returned")} == {
        k: v for k, v in p.items() if k != "samples"}
    where = secure_store.store.samples(AGGREGATED).set_index("sample_id")
    for f in g["features"]:
        lon, lat = f["geometry"]["coordinates"]
        row = where.loc[f["properties"]["sample_id"]]
        assert (lon, lat) == pytest.approx((row["longitude"], row["latitude"]), abs=1e-6)
