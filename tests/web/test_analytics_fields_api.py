"""Spectrum–area, singularity, spider and cell-compositional routes (``/api/analytics``):
what each actor gets, and that it is the core library's answer on the same published cells.

Leaks: an aggregated-only dataset's spider patterns need its samples (held, embargoed and
absent elements refused alike); its S-A and singularity cells are its published cells
only; the restricted dataset answers as one that does not exist. Correctness: each answer
equals :mod:`chemearth.stats.fractal` or :mod:`chemearth.stats.spider` (or the robust PCA)
called on the published surface, rebuilt here from the store or the pooled layer view.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from tests.web.conftest import AGGREGATED, EMBARGO, FULL_ACCESS, POOLED_PUBLIC, PUBLIC, SECRET
from tests.web.test_security import K, kola_pb_cells

API = "/api/analytics"
LEVEL = "40km"
NO_SAMPLES = ("anonymous", "public", "other-org")
#: Kola humus's elements of a spider diagram (La is its only rare earth)
KOLA_SPIDER = "La,Pb,Zn,Co,Mn"


@pytest.fixture(scope="module")
def client(secure_client: Any) -> Any:
    return secure_client


@pytest.fixture(scope="module")
def kola_cells(secure_store: Any) -> Any:
    return kola_pb_cells(secure_store)


def _get(client: Any, secure_store: Any, actor: str, url: str, **params: Any) -> Any:
    return client.get(url, params=params or None, headers=secure_store.headers(actor))


def _surface(grid: Any, level_m: int, keys: np.ndarray, values: np.ndarray) -> Any:
    """A surface of the cells ``keys`` with ``values`` (as the published cells are)."""
    from chemearth.assess.anomalies import Surface

    lon, lat = grid.cell_centres(keys)
    ids = grid.key_to_id(keys)
    cells = pd.DataFrame({"cell": keys, "cell_id": ids, "n": 1, "value": values,
                          "max": values})
    points = pd.DataFrame({"sample_id": ids, "longitude": lon, "latitude": lat,
                           "value": values, "censored": False, "cell": keys})
    return Surface(grid, level_m, "Pb", "mg/kg", cells, points)


def _at_cells(surf: Any, raster: np.ndarray) -> pd.Series:
    """The raster's value at each cell of the surface, by cell id."""
    from chemearth.assess.fractal_zones import surface_raster

    r = surface_raster(surf)
    flat = r.keys.ravel()
    pos = pd.Series(np.arange(flat.size), index=flat).loc[surf.cells["cell"]].to_numpy()
    return pd.Series(raster.ravel()[pos], index=surf.cells["cell_id"].to_numpy())


def _by_cell(cells: list[dict[str, Any]], column: str) -> pd.Series:
    return pd.Series({c["cell_id"]: c[column] for c in cells}, dtype=float)


# --------------------------------------------------------------------------- leaks


@pytest.mark.parametrize("actor", NO_SAMPLES)
def test_per_sample_spider_patterns_of_an_aggregated_dataset_are_refused_alike(
    client: Any, secure_store: Any, actor: str
) -> None:
    bodies = set()
    for el in ("La", *EMBARGO, "Og"):
        r = _get(client, secure_store, actor, f"{API}/spider/{AGGREGATED}",
                 elements=f"{el},Pb,Zn", per_sample="true")
        assert r.status_code == 403, (el, r.text)
        bodies.add(r.text.replace(el, "<el>"))
    assert len(bodies) == 1, bodies


@pytest.mark.parametrize("actor", NO_SAMPLES)
def test_the_spider_summary_of_an_aggregated_dataset_is_its_published_statistics(
    client: Any, secure_store: Any, actor: str
) -> None:
    """The median pattern is the published baselines' medians over the reference; the
    embargoed elements answer as absent; no sample."""
    from chemearth.reference.compositions import reference_composition

    r = _get(client, secure_store, actor, f"{API}/spider/{AGGREGATED}",
             elements=f"{KOLA_SPIDER},Ni,Cu", reference="UCC")
    assert r.status_code == 200, r.text
    body = r.json()
    none = _get(client, secure_store, actor, f"{API}/spider/{AGGREGATED}",
                elements=f"{KOLA_SPIDER},Og,Og", reference="UCC")
    assert none.text == r.text.replace("Ni,Cu", "Og,Og")
    assert "sample_id" not in r.text
    assert not set(EMBARGO) & set(body["elements"])
    base = client.get("/api/elements/Pb", headers=secure_store.headers(actor)).json()
    row = next(b for b in base["baselines"] if b["dataset_id"] == AGGREGATED)
    got = next(s for s in body["summary"] if s.get("element") == "Pb")
    ucc = reference_composition("UCC").abundance["Pb"]
    assert got["median"] == pytest.approx(row["median"])
    assert got["normalised"] == pytest.approx(row["median"] / ucc)
    assert got["censored_share"] == pytest.approx(row["n_censored"] / row["n"])


@pytest.mark.parametrize("route", ["spectrum-area", "singularity"])
@pytest.mark.parametrize("actor", NO_SAMPLES)
def test_filters_rest_on_published_cells_only(client: Any, secure_store: Any,
                                              kola_cells: Any, route: str,
                                              actor: str) -> None:
    from chemearth.grid.geometry import get_grid

    shown = kola_cells[kola_cells["published"]]
    r = _get(client, secure_store, actor, f"{API}/{route}/{AGGREGATED}/Pb", level=LEVEL)
    assert r.status_code == 200, r.text
    cells = r.json()["cells"]
    ids = set(get_grid("global").key_to_id(shown["cell"].to_numpy(np.int64)))
    assert {c["cell_id"] for c in cells} == ids
    assert min(c["n"] for c in cells) >= K
    for el in EMBARGO:  # an embargoed element as an absent one
        mine = _get(client, secure_store, actor, f"{API}/{route}/{AGGREGATED}/{el}")
        none = _get(client, secure_store, actor, f"{API}/{route}/{AGGREGATED}/Og")
        assert (mine.status_code, mine.text.replace(el, "Og")) == (404, none.text)


def test_the_restricted_dataset_answers_as_absent(client: Any, secure_store: Any) -> None:
    for path in ("spectrum-area/{}/Zn", "singularity/{}/Zn", "spider/{}?elements=Zn,Pb",
                 "compositional/{}/cells?elements=Zn,Pb,Cd,Cu"):
        mine = _get(client, secure_store, "partner", f"{API}/{path.format(SECRET)}")
        none = _get(client, secure_store, "partner", f"{API}/{path.format('no-such')}")
        assert mine.status_code == none.status_code == 404
        assert mine.text.replace(SECRET, "no-such") == none.text


def test_pooled_layers_have_no_per_sample_patterns(client: Any, secure_store: Any) -> None:
    r = _get(client, secure_store, "admin", f"{API}/spider/{POOLED_PUBLIC}", medium="topsoil",
             elements="Pb,Zn,Co", per_sample="true")
    assert r.status_code == 403, r.text


# --------------------------------------------------------------------------- correctness


def test_spectrum_area_is_the_core_librarys(client: Any, secure_store: Any) -> None:
    from chemearth.assess.anomalies import surface
    from chemearth.assess.fractal_zones import surface_raster
    from chemearth.stats.fractal import spectrum_area
    from chemearth.store.selectors import element_values

    m, method = element_values(secure_store.store, AGGREGATED, "Pb")
    surf = surface(m, variable="Pb", grid="europe", level=LEVEL, method=method)
    want = spectrum_area(surface_raster(surf).values, spacing=40.0)
    r = _get(client, secure_store, "owner", f"{API}/spectrum-area/{AGGREGATED}/Pb",
             grid="europe", level=LEVEL)
    assert r.status_code == 200, r.text
    got = r.json()
    assert want.fit is not None
    assert got["energy_threshold"] == pytest.approx(want.energy_threshold)
    np.testing.assert_allclose([b["value"] for b in got["breakpoints"]], want.fit.thresholds)
    np.testing.assert_allclose([b["low"] for b in got["breakpoints"]], want.fit.threshold_low)
    np.testing.assert_allclose(got["curve"]["measure"], want.curve.measure)
    for column, raster in (("anomaly", want.anomaly), ("background", want.background)):
        exp = _at_cells(surf, raster)
        np.testing.assert_allclose(_by_cell(got["cells"], column).loc[exp.index], exp,
                                   atol=1e-9)
    assert got["n_cells"] == len(surf.cells)
    geo = _get(client, secure_store, "owner", f"{API}/spectrum-area/{AGGREGATED}/Pb",
               grid="europe", level=LEVEL, f="geojson")
    assert geo.headers["content-type"].startswith("application/geo+json")
    fc = geo.json()
    feats = fc["features"]
    assert len(feats) == len(surf.cells)
    assert [f["properties"] for f in feats] == got["cells"]  # the records, unchanged
    assert {k: v for k, v in fc.items() if k not in ("type", "features", "offset",
                                                     "n_returned")} == {
        k: v for k, v in got.items() if k != "cells"}
    assert all(f["geometry"]["type"] == "Polygon" for f in feats)


def test_singularity_is_the_core_librarys_on_the_published_cells(
    client: Any, secure_store: Any, kola_cells: Any
) -> None:
    from chemearth.assess.fractal_zones import surface_raster
    from chemearth.grid.geometry import get_grid
    from chemearth.stats.fractal import singularity

    shown = kola_cells[kola_cells["published"]]
    surf = _surface(get_grid("global"), 40_000, shown["cell"].to_numpy(np.int64),
                    shown["median"].to_numpy(float))
    want = singularity(surface_raster(surf).values, windows=(1, 3, 5))
    r = _get(client, secure_store, "anonymous", f"{API}/singularity/{AGGREGATED}/Pb",
             level=LEVEL, windows="1,3,5")
    assert r.status_code == 200, r.text
    got = r.json()
    exp = _at_cells(surf, want.alpha)
    np.testing.assert_allclose(_by_cell(got["cells"], "alpha").loc[exp.index], exp)
    assert got["windows"] == [1, 3, 5]
    assert got["counts"]["enrichment"] == int((exp < 2).sum())
    assert got["counts"]["depletion"] == int((exp > 2).sum())
    fc = _get(client, secure_store, "anonymous", f"{API}/singularity/{AGGREGATED}/Pb",
              level=LEVEL, windows="1,3,5", f="geojson").json()
    assert [f["properties"] for f in fc["features"]] == got["cells"]
    assert fc["counts"] == got["counts"]
    assert fc["n_cells"] == got["n_cells"]


@pytest.mark.parametrize("route", ["spectrum-area", "singularity"])
def test_pooled_filters_are_those_of_the_pooled_cells(client: Any, secure_store: Any,
                                                      route: str) -> None:
    from chemearth.access.gateway import Gateway
    from chemearth.access.policy import Actor
    from chemearth.assess.fractal_zones import surface_raster
    from chemearth.stats.fractal import singularity, spectrum_area

    view = Gateway(secure_store.store).layer_view(Actor.anonymous(), POOLED_PUBLIC, "Pb",
                                                  medium="humus", level=LEVEL)
    surf = _surface(view.grid, 40_000, view.cells["cell"].to_numpy(np.int64),
                    view.cells["median"].to_numpy(float))
    values = surface_raster(surf).values
    r = _get(client, secure_store, "anonymous", f"{API}/{route}/{POOLED_PUBLIC}/Pb",
             level=LEVEL, medium="humus")
    assert r.status_code == 200, r.text
    got = r.json()
    if route == "singularity":
        column, raster = "alpha", singularity(values).alpha
    else:
        column, raster = "anomaly", spectrum_area(values, spacing=40.0).anomaly
    exp = _at_cells(surf, raster)
    np.testing.assert_allclose(_by_cell(got["cells"], column).loc[exp.index], exp, atol=1e-9)


@pytest.mark.parametrize("actor", sorted(FULL_ACCESS[AGGREGATED]))
def test_per_sample_spider_patterns_are_the_core_librarys(client: Any, secure_store: Any,
                                                          actor: str) -> None:
    from chemearth.stats.spider import normalise
    from chemearth.store.selectors import element_values

    els = KOLA_SPIDER.split(",")
    v, c = {}, {}
    for el in els:
        m = element_values(secure_store.store, AGGREGATED, el)[0]
        m = m.drop_duplicates("sample_id").set_index(m["sample_id"].drop_duplicates()
                                                     .astype(str))
        v[el], c[el] = m["value"], m["censored"].astype(bool)
    want = normalise(pd.DataFrame(v), "UCC", elements=els, censored=pd.DataFrame(c))
    r = _get(client, secure_store, actor, f"{API}/spider/{AGGREGATED}", elements=KOLA_SPIDER,
             reference="UCC", per_sample="true", limit=10_000)
    assert r.status_code == 200, r.text
    got = pd.DataFrame(r.json()["samples"]).set_index("sample_id")
    assert r.json()["n_rows"] == len(want)
    np.testing.assert_allclose(got.loc[want.index, els].to_numpy(float),
                               want[els].to_numpy(float))


def test_pooled_spider_summary_is_the_world_baselines(client: Any, secure_store: Any) -> None:
    """Jura (public, in full) gives the public topsoil layers; Kola humus's pooled layers
    (under disclosure control) have no sample usable one by one: left out and named."""
    from chemearth.reference.compositions import reference_composition

    r = _get(client, secure_store, "anonymous", f"{API}/spider/{POOLED_PUBLIC}",
             medium="topsoil", elements="Pb,Zn,Co", reference="UCC")
    assert r.status_code == 200, r.text
    body = r.json()
    world = client.get("/api/global/baselines/Zn", params={"medium": "topsoil",
                                                           "weighting": "samples"}).json()
    want = world["baselines"][0]["median"] / reference_composition("UCC").abundance["Zn"]
    got = next(s for s in body["summary"] if s.get("element") == "Zn")
    assert got["normalised"] == pytest.approx(want)
    humus = _get(client, secure_store, "anonymous", f"{API}/spider/{POOLED_PUBLIC}",
                 medium="humus", elements="Pb,Zn", reference="UCC")
    assert humus.status_code == 200, humus.text
    assert humus.json()["not_published"] == ["Pb", "Zn"]
    assert humus.json()["summary"] == []


def test_pooled_cell_composition_is_the_core_librarys(client: Any, secure_store: Any) -> None:
    from chemearth.access.gateway import Gateway
    from chemearth.access.policy import Actor
    from chemearth.stats.compositional import parts_of
    from chemearth.stats.compositional_factors import robust_pca

    parts = ["Cd", "Co", "Cr", "Cu", "Ni", "Pb", "Zn"]
    gw = Gateway(secure_store.store)
    wide = pd.DataFrame({el: gw.layer_view(Actor.anonymous(), POOLED_PUBLIC, el,
                                           medium="topsoil", level="1km")
                         .cells.set_index("cell")["median"] for el in parts})
    p = parts_of(wide, parts)
    pca = robust_pca(p)
    r = _get(client, secure_store, "anonymous", f"{API}/compositional/{POOLED_PUBLIC}/cells",
             elements=",".join(parts), medium="topsoil", level="1km")
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["parts"] == parts
    assert got["n_cells"] == len(p.rows)
    assert got["n_left_out"] == len(p.missing_rows)
    np.testing.assert_allclose(got["pca"]["explained"], pca.explained)
    np.testing.assert_allclose([[row[c] for c in pca.loadings.columns]
                                for row in got["pca"]["loadings"]], pca.loadings.to_numpy())


def test_a_public_datasets_cell_composition_for_anyone(client: Any, secure_store: Any) -> None:
    r = _get(client, secure_store, "anonymous", f"{API}/compositional/{PUBLIC}/cells",
             elements="Cd,Co,Cr,Og,Pb,Zn", level="1km")
    assert r.status_code == 200, r.text
    assert r.json()["parts"] == ["Cd", "Co", "Cr", "Pb", "Zn"]
