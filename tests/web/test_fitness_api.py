"""Fitness-for-purpose notes: the quality-control verdict on every answer of a measurement.

The Kola C-horizon survey with its field duplicates (public) and analytical duplicates
(restricted to NGU), beside the Meuse survey, which has no quality-control data:

* the verdict of the layer list, the legend, the cell (route and fast path) and the sample
  and cell features equals the library's data-quality report (:mod:`chemearth.qc.report`)
  computed from the quality-control datasets the actor may see;
* the restricted analytical duplicates count for NGU only: anonymous actors get the
  verdict of the field duplicates alone, which never names them;
* no verdict where no quality-control data exist (Meuse, and pooled layers).

The sharing rules of the secure store's QC datasets are checked in test_security.
"""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pytest

from chemearth.errors import ChemearthWarning

SURVEY = "kola-chorizon"
FIELD = "kola-chorizon-field-duplicates"
ANALYTICAL = "kola-chorizon-analytical-duplicates"
NO_QC = "meuse"
AQUA_REGIA = "aqua regia extraction; ICP-AES or graphite-furnace AAS"
LEVELS = (40_000, 10_000)
LEVEL = "40km"
FAST_CELLS = 12  # cells compared between the fast path and the route


@pytest.fixture(scope="module")
def fit_store(tmp_path_factory: pytest.TempPathFactory, data_dir: Path,
              boundaries: Path) -> Any:
    """The survey, its field duplicates (public) and analytical duplicates (NGU only),
    and Meuse; gridded at two levels; a token of NGU."""
    from chemearth.access.tokens import TokenStore
    from chemearth.grid.layers import build_layers
    from chemearth.ingest.descriptor import load_descriptor
    from chemearth.ingest.pipeline import ingest
    from chemearth.ingest.shipped import shipped_descriptor
    from chemearth.store import open_store

    store = open_store(tmp_path_factory.mktemp("fitness-store"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ChemearthWarning)
        for ds in (SURVEY, FIELD, ANALYTICAL, NO_QC):
            desc = load_descriptor(shipped_descriptor(ds))
            if ds == ANALYTICAL:
                desc = dataclasses.replace(desc, dataset=dataclasses.replace(
                    desc.dataset, sharing="restricted", organisation="NGU"))
            ingest(store, desc, data_dir=data_dir, boundaries=boundaries)
    build_layers(store, [SURVEY, NO_QC], grids=("global",), levels=LEVELS)
    store.fitness_token = TokenStore(store).create("ngu", "owner", organisation="NGU")
    return store


@pytest.fixture(scope="module")
def client(fit_store: Any, boundaries: Path) -> Any:
    from fastapi.testclient import TestClient

    from chemearth.web import WebSettings, create_app

    return TestClient(create_app(fit_store, WebSettings(boundaries=boundaries, timeout_s=120)))


def _headers(fit_store: Any, actor: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {fit_store.fitness_token}"} if actor == "ngu" else {}


def _want(fit_store: Any, actor: str, element: str, method: str) -> dict[str, Any] | None:
    """The verdict from the library's report of the QC datasets ``actor`` may see."""
    from chemearth.qc.report import linked_qc, quality_report

    qc = linked_qc(fit_store, SURVEY)
    if actor != "ngu":
        qc = {d: s for d, s in qc.items() if d != ANALYTICAL}
    rows = quality_report(fit_store, SURVEY, qc=qc).to_dict()["elements"]
    row = next(r for r in rows if r["element"] == element and r["method"] == method)
    if row.get("rsd_field_pct") is None and row.get("rsd_analytical_pct") is None:
        return None
    used = sorted(([FIELD] if row["rsd_field_pct"] is not None else [])
                  + ([ANALYTICAL] if row.get("rsd_analytical_pct") is not None else []))
    return {"precision_rsd_pct": row["rsd_field_pct"], "n_pairs": row["n_field_pairs"],
            "analytical_rsd_pct": row.get("rsd_analytical_pct"),
            "n_analytical_pairs": row.get("n_analytical_pairs"),
            "measurement_pct": row["measurement_pct"],
            "fit_for_mapping": row["fit_for_mapping"], "qc_datasets": used,
            "threshold_pct": 20.0}


def _layers(client: Any, headers: dict[str, str], ds: str, el: str) -> list[dict[str, Any]]:
    r = client.get("/api/layers", headers=headers)
    assert r.status_code == 200, r.text
    return [x for x in r.json()["layers"] if x["dataset"] == ds and x["element"] == el]


def _legend_qc(client: Any, headers: dict[str, str], ds: str, el: str, method: str) -> Any:
    """The ``qc`` of the legend of a layer (at :data:`LEVEL`)."""
    r = client.get(f"/api/layers/{ds}/{el}/legend", headers=headers,
                   params={"grid": "global", "level": LEVEL, "method": method})
    assert r.status_code == 200, r.text
    return r.json()["qc"]


def _column(fit_store: Any, element: str, method: str) -> str:
    """The sample features' property of ``element`` by ``method``."""
    from chemearth.render.sample_export import analyte_columns

    return next(c for c, (e, m, _) in analyte_columns(fit_store, SURVEY).items()
                if e == element and m == method)


def _cell_centre(client: Any, ds: str, el: str, method: str) -> tuple[float, float]:
    from chemearth.access.policy import Actor
    from chemearth.grid.geometry import get_grid

    view = client.app.state.gateway.layer_view(Actor.anonymous(), ds, el, method=method,
                                               grid="global", level=LEVEL)
    lon, lat = get_grid("global").cell_centres(view.cells["cell"].to_numpy(np.int64)[:1])
    return float(lon[0]), float(lat[0])


@pytest.mark.parametrize("actor", ["anonymous", "ngu"])
@pytest.mark.parametrize("element", ["Cu", "Pb", "Ni"])  # Ni: by two methods, QC of one
def test_every_answer_carries_the_reports_verdict(client: Any, fit_store: Any, actor: str,
                                                  element: str) -> None:
    headers = _headers(fit_store, actor)
    want = _want(fit_store, actor, element, AQUA_REGIA)
    assert want is not None
    assert want["precision_rsd_pct"] > 0
    assert want["n_pairs"] >= 40
    assert isinstance(want["fit_for_mapping"], bool)
    if actor == "anonymous":  # the restricted analytical duplicates do not count
        assert want["analytical_rsd_pct"] is None
        assert want["n_analytical_pairs"] is None
    else:
        assert want["analytical_rsd_pct"] > 0
    assert _legend_qc(client, headers, SURVEY, element, AQUA_REGIA) == want
    q = f"grid=global&level={LEVEL}&method={quote(AQUA_REGIA)}"
    base = f"/api/layers/{SURVEY}/{element}"
    lon, lat = _cell_centre(client, SURVEY, element, AQUA_REGIA)
    cell = client.get(f"{base}/cell?lon={lon}&lat={lat}&{q}", headers=headers)
    assert cell.status_code == 200, cell.text
    assert cell.json()["qc"] == want
    feats = client.get(f"/api/collections/{SURVEY}.cells/items?element={element}&limit=3&"
                       f"{q}", headers=headers).json()["features"]
    assert feats
    assert all(f["properties"]["qc"] == want for f in feats)
    col = _column(fit_store, element, AQUA_REGIA)
    samples = client.get(f"/api/collections/{SURVEY}.samples/items?limit=3",
                         headers=headers).json()["features"]
    assert samples
    assert all(f["properties"]["qc"][col] == want for f in samples)
    one = client.get(f"/api/collections/{SURVEY}.samples/items/{samples[0]['id']}",
                     headers=headers).json()
    assert one["properties"]["qc"][col] == want
    others = [x["method"] for x in _layers(client, headers, SURVEY, element)
              if x["method"] != AQUA_REGIA]  # each method its own verdict
    for m in others:
        assert _legend_qc(client, headers, SURVEY, element, m) == _want(
            fit_store, actor, element, m), m
    assert element != "Ni" or others


def test_the_verdict_equals_the_full_report_for_ngu(fit_store: Any, client: Any) -> None:
    """With every QC dataset visible, the verdict is the library's report as it stands."""
    from chemearth.qc.report import quality_report

    row = next(r for r in quality_report(fit_store, SURVEY).to_dict()["elements"]
               if r["element"] == "Cu" and r["method"] == AQUA_REGIA)
    got = _legend_qc(client, _headers(fit_store, "ngu"), SURVEY, "Cu", AQUA_REGIA)
    assert (got["precision_rsd_pct"], got["analytical_rsd_pct"], got["measurement_pct"],
            got["fit_for_mapping"]) == (row["rsd_field_pct"], row["rsd_analytical_pct"],
                                        row["measurement_pct"], row["fit_for_mapping"])
    assert got["n_pairs"] == 49  # the pairs of CHorFieldDUP.csv (test_quality_api)


def test_the_restricted_qc_dataset_never_reaches_anonymous(client: Any) -> None:
    """Nothing anonymous gets names the analytical duplicates, and its quality report
    agrees with the verdicts it gets."""
    report = client.get(f"/api/quality/{SURVEY}").json()
    assert [q["dataset"] for q in report["qc"]] == [FIELD]
    texts = [client.get("/api/layers").text,
             client.get(f"/api/layers/{SURVEY}/Cu/legend?grid=global&level={LEVEL}").text,
             client.get(f"/api/collections/{SURVEY}.samples/items?limit=5").text]
    assert all(ANALYTICAL not in t for t in texts)
    cu = next(r for r in report["elements"] if r["element"] == "Cu"
              and r["method"] == AQUA_REGIA)
    got = _legend_qc(client, {}, SURVEY, "Cu", AQUA_REGIA)
    assert got["measurement_pct"] == cu["measurement_pct"]
    assert got["precision_rsd_pct"] == cu["rsd_field_pct"]


def test_no_verdict_without_qc_data(client: Any) -> None:
    assert _layers(client, {}, NO_QC, "Zn")
    assert all("qc" not in x for x in _layers(client, {}, SURVEY, "Cu"))  # legends have it
    legend = client.get(f"/api/layers/{NO_QC}/Zn/legend?grid=global&level={LEVEL}")
    assert legend.status_code == 200, legend.text
    assert legend.json()["qc"] is None
    samples = client.get(f"/api/collections/{NO_QC}.samples/items?limit=2").json()["features"]
    assert samples
    assert all(f["properties"]["qc"] == {} for f in samples)


@pytest.mark.parametrize("actor", ["anonymous", "ngu"])
def test_the_fast_cell_answer_is_the_routes(client: Any, fit_store: Any, actor: str) -> None:
    from chemearth.access.policy import Actor
    from chemearth.grid.geometry import get_grid
    from chemearth.web.answers import FastAnswers

    assert any(m.cls is FastAnswers for m in client.app.user_middleware)
    headers = _headers(fit_store, actor)
    view = client.app.state.gateway.layer_view(Actor.anonymous(), SURVEY, "Cu",
                                               grid="global", level=LEVEL)
    lon, lat = get_grid("global").cell_centres(view.cells["cell"].to_numpy(np.int64))
    base = f"/api/layers/{SURVEY}/Cu/cell"
    first = client.get(f"{base}?lon={lon[0]}&lat={lat[0]}&grid=global&level={LEVEL}",
                       headers=headers)  # builds the view and its records
    assert first.status_code == 200
    assert first.json()["qc"] is not None
    for x, y in list(zip(lon, lat, strict=True))[:FAST_CELLS]:
        url = f"{base}?lon={x:.6f}&lat={y:.6f}&grid=global&level={LEVEL}"
        fast = client.get(url, headers=headers)
        slow = client.get(url + "&route=1&route=1", headers=headers)  # to the route
        assert fast.status_code == slow.status_code == 200
        assert fast.content == slow.content, url


def test_verdicts_are_computed_once_per_snapshot(client: Any, monkeypatch: Any) -> None:
    """A look-up after the first reads no report: the fast path stays a dict look-up."""
    from chemearth.access import inspector
    from chemearth.access.fitness import Fitness
    from chemearth.access.policy import Actor

    gw = client.app.state.gateway
    f = Fitness(gw)
    first = f.verdict(Actor.anonymous(), SURVEY, "Cu", AQUA_REGIA, "mg/kg")
    assert first is not None

    def refuse(*_: Any, **__: Any) -> Any:
        raise AssertionError("report computed again")

    monkeypatch.setattr(inspector.Inspector, "report", refuse)
    assert Fitness(gw).verdict(Actor.anonymous(), SURVEY, "Cu", AQUA_REGIA, "mg/kg") == first
    assert Fitness(gw).known_table(Actor.anonymous(), SURVEY)


def test_the_fast_path_never_computes_a_report(fit_store: Any, monkeypatch: Any) -> None:
    """Before the first look-up of a snapshot the fast path hands the cell to the route
    (which computes the report in a worker thread, not in the event loop)."""
    from chemearth.access import inspector
    from chemearth.access.fitness import Fitness
    from chemearth.access.gateway import Gateway
    from chemearth.access.policy import Actor

    def refuse(*_: Any, **__: Any) -> Any:
        raise AssertionError("report computed")

    monkeypatch.setattr(inspector.Inspector, "report", refuse)
    f = Fitness(Gateway(fit_store))  # a fresh gateway: nothing computed
    assert f.known_table(Actor.anonymous(), SURVEY) is None
    assert f.known_table(Actor.anonymous(), NO_QC) == {}  # no QC data: nothing to compute


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_legend_and_the_cell_popup_show_the_verdict(browser: Any,
                                                        secure_server: str) -> None:
    """On the map of the secure store's Kola humus Pb (anonymous: under disclosure
    control, verdict from its public field duplicates), the legend and a cell's popup
    show the API's verdict."""
    import httpx
    import shapely
    from tests.web.conftest import AGGREGATED, QC_PUBLIC
    from tests.web.test_browser import Viewer

    layers = httpx.get(f"{secure_server}/api/layers", timeout=60).json()["layers"]
    layer = next(x for x in layers if x["dataset"] == AGGREGATED and x["element"] == "Pb")
    grid = layer["grids"][0]
    level = 40_000 if 40_000 in layer["levels"][grid] else layer["levels"][grid][0]
    qc = httpx.get(f"{secure_server}/api/layers/{AGGREGATED}/Pb/legend", params={
        "grid": grid, "level": level, "method": layer["method"]}, timeout=60).json()["qc"]
    assert qc is not None
    assert qc["qc_datasets"] == [QC_PUBLIC]
    feats = httpx.get(f"{secure_server}/api/collections/{AGGREGATED}.cells/items", params={
        "element": "Pb", "grid": grid, "level": level, "limit": 200}, timeout=60).json()
    feat = max(feats["features"], key=lambda f: f["properties"]["n"])
    assert feat["properties"]["qc"] == qc
    pt = shapely.geometry.shape(feat["geometry"]).representative_point()
    lat, lon = float(pt.y), float(pt.x)
    verdict = "not fit for mapping" if qc["fit_for_mapping"] is False else "fit for mapping"
    context = browser.new_context(viewport={"width": 1366, "height": 850}, locale="en-GB")
    page = context.new_page()
    v = Viewer(page, secure_server)
    try:
        page.goto(f"{secure_server}/?lang=en#dataset={AGGREGATED}&element=Pb"
                  f"&medium={layer['medium']}&method={quote(layer['method'])}&grid={grid}"
                  f"&level={level}&lat={lat}&lon={lon}&zoom=7")
        page.wait_for_selector("body[data-ready='1']")
        v.wait_layer()
        note = page.locator("#legend .qc-note")
        note.wait_for()
        assert float(note.get_attribute("data-precision")) == pytest.approx(
            qc["precision_rsd_pct"])
        assert note.inner_text().startswith("QC: precision ±")
        assert note.inner_text().endswith(verdict)
        v.click_at(lat, lon)
        pop = v.popup()
        assert pop.get_attribute("data-cell-id") == feat["properties"]["cell_id"]
        cell_note = pop.locator(".qc-note")
        assert cell_note.inner_text() == note.inner_text()
        assert float(cell_note.get_attribute("data-share")) == pytest.approx(
            qc["measurement_pct"])
        assert cell_note.get_attribute("data-datasets") == QC_PUBLIC
        v.shot("cell-popup-qc")
        page.goto(page.url.replace("lang=en", "lang=zh"))  # the same view in Chinese
        page.wait_for_selector("body[data-ready='1']")
        v.wait_layer()
        zh = page.locator("#legend .qc-note")
        zh.wait_for()
        assert zh.inner_text().startswith("质控：精密度 ±")
        assert zh.inner_text().endswith("不适合制图" if qc["fit_for_mapping"] is False
                                        else "适合制图")
        assert not v.errors, v.errors
    finally:
        context.close()
