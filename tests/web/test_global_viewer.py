"""The map viewer on the pooled layers ("All surveys", the Chemical Earth) in a real browser.

The server runs over a copy of the grid store with the public pooled layers built on the
global grid (``pooled_server``). The viewer must open on the pooled world map of a common
element, overlay the sampling coverage of the medium group with the world share the API
gives, and list a pooled cell's contributing datasets with their citations. Screenshots go
to ``test-artifacts/global-*.png`` at the repository root.

Never runs ``playwright install``: the browser is ``/usr/bin/chromium``; the test is skipped
when it is missing.
"""

from __future__ import annotations

import contextlib
import csv
import io
from typing import Any

import pytest
from tests.web.test_browser import ARTIFACTS, Viewer, _api

POOLED = "pooled:public"
#: the viewer's default element: the first of these in topsoil by a total method (app.js)
DEFAULT_ELEMENTS = ("Pb", "Cu", "Zn", "As")


class GlobalViewer(Viewer):
    """The viewer helper of the browser test, its screenshots named ``{prefix}-NN-*.png``."""

    def __init__(self, page: Any, base: str, prefix: str = "global") -> None:
        super().__init__(page, base)
        self.prefix = prefix

    def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{self.prefix}-{len(self.shots) + 1:02d}-{name}.png"
        self.page.wait_for_timeout(350)  # popups fade in
        self.page.screenshot(path=str(path))
        self.shots.append(path)


def share_text(v: float) -> str:
    """A world share as the viewer writes it (app.js ``fmtShare``)."""
    x = float(v) * 100
    return "< 0.1" if 0 < x < 0.05 else f"{x:.1f}"


def default_layer(layers: list[dict[str, Any]]) -> dict[str, Any]:
    """The pooled layer the viewer should open on."""
    pooled = [lay for lay in layers if lay["dataset"] == POOLED]
    assert pooled, "no public pooled layer in /api/layers"
    for element in DEFAULT_ELEMENTS:
        for lay in pooled:
            if (lay["element"], lay["medium"], lay["method"]) == (element, "topsoil", "total"):
                return lay
    return pooled[0]


def pooled_cells(base: str, layer: dict[str, Any], level: int) -> list[dict[str, Any]]:
    """The cells of a pooled layer (its CSV download), most samples first."""
    import httpx

    r = httpx.get(
        f"{base}/api/downloads/{POOLED}/layers/{layer['element']}.csv",
        params={"medium": layer["medium"], "method": layer["method"],
                "grid": layer["default_grid"], "level": level, "stat": "median"},
        timeout=120,
    )
    assert r.status_code == 200, r.text[:500]
    # below the header: rows of units and detection limits; at the end, "# " notes
    rows = [row for row in csv.DictReader(io.StringIO(r.text))
            if (row.get("n") or "").isdigit()]
    assert rows, "the pooled layer has no cell"
    return sorted(rows, key=lambda row: -int(row["n"]))


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_viewer_opens_on_the_pooled_world_map(browser: Any, pooled_server: str) -> None:
    base = pooled_server
    layers = _api(base, "/api/layers")["layers"]
    assert layers[0]["dataset"] == POOLED
    assert layers[0]["pooled"] is True
    layer = default_layer(layers)
    element, medium, method = layer["element"], layer["medium"], layer["method"]
    grid = layer["default_grid"]
    level = int(layer["default_level"])

    context = browser.new_context(viewport={"width": 1366, "height": 850}, locale="en-GB")
    page = context.new_page()
    v = GlobalViewer(page, base)
    ARTIFACTS.mkdir(exist_ok=True)
    for old in ARTIFACTS.glob("global-*.png"):
        old.unlink()
    try:
        # ---------------------------------------------------------- 1 the pooled world map
        page.goto(base + "/?lang=en")
        page.wait_for_selector("body[data-ready='1']")
        key = v.wait_layer()
        assert key == "|".join([POOLED, element, medium, method, grid, str(level), "median"])
        assert page.input_value("#sel-dataset") == POOLED
        first = page.locator("#sel-dataset option").first
        assert first.get_attribute("value") == POOLED
        assert first.inner_text() == "All surveys"
        assert page.input_value("#sel-element") == element
        assert page.input_value("#sel-medium") == medium  # a medium group
        if page.is_visible("#sel-method"):
            assert page.input_value("#sel-method") == method  # a method class
        page.wait_for_function(
            "() => [...document.querySelectorAll('img.leaflet-tile')].some(t =>"
            " t.src.includes('/api/layers/pooled:public/') && t.complete && t.naturalWidth > 0)")
        assert page.evaluate("() => window.chemearthMap.getZoom()") <= 3  # the world in view
        assert "dataset=pooled:public" in page.url
        assert f"element={element}" in page.url
        legend = page.inner_text("#legend")
        assert element in legend
        assert "All surveys" in legend
        assert page.locator("#legend .swatch").count() >= 1
        assert "pooled map shows cell statistics only" in page.inner_text("#samples-hint")
        v.shot("pooled-world")

        # ---------------------------------------------------------- 2 coverage
        cov = _api(base, f"/api/global/coverage/{medium}")["world"]
        cells_gj = _api(base, f"/api/global/coverage/{medium}", fmt="geojson")["features"]
        covered = [f for f in cells_gj if f["properties"]["n_samples"] >= 1]
        assert covered
        assert page.is_visible("#show-coverage")
        assert not page.is_checked("#show-coverage")
        assert page.get_attribute("#map", "data-coverage") == "off"
        page.check("#show-coverage")
        page.wait_for_function("() => document.getElementById('map').dataset.coverage === 'on'")
        share = page.inner_text("#coverage-share")
        assert share == (f"Land covered: {share_text(cov['share_1'])} % (≥ 1 sample), "
                         f"{share_text(cov['share_5'])} % (≥ 5)"), share
        assert float(page.get_attribute("#coverage-share", "data-share1")) == pytest.approx(
            cov["share_1"], rel=1e-9)
        assert float(page.get_attribute("#coverage-share", "data-share5")) == pytest.approx(
            cov["share_5"], rel=1e-9)
        assert page.get_attribute("#map", "data-coverage-cells") == str(len(covered))
        assert page.locator(".leaflet-coverage-pane canvas").count() == 1
        assert page.is_visible("#coverage-legend")
        cov_legend = page.inner_text("#coverage-legend")
        assert "5 or more samples" in cov_legend
        assert "1–4 samples" in cov_legend
        assert page.locator("#coverage-legend .swatch").count() == 2
        assert "coverage=1" in page.url
        v.shot("coverage")

        # ---------------------------------------------------------- 3 a pooled cell's popup
        rows = pooled_cells(base, layer, level)
        chosen = None
        for row in rows[:25]:  # a cell where surveys overlap, if any
            lon, lat = float(row["longitude"]), float(row["latitude"])
            cell = _api(base, f"/api/layers/{POOLED}/{element}/cell", lon=lon, lat=lat,
                        medium=medium, method=method, grid=grid, level=level)
            if chosen is None or len(cell["contributors"]) > len(chosen[2]["contributors"]):
                chosen = (lat, lon, cell, row["cell_id"])
            if len(cell["contributors"]) >= 2:
                break
        assert chosen is not None
        lat, lon, cell, cell_id = chosen
        assert cell["pooled"] is True
        assert cell["contributors"]
        assert cell["cell_id"] == cell_id
        v.set_view(lat, lon, 6)
        v.click_at(lat, lon)
        pop = v.popup()
        assert pop.get_attribute("data-cell-id") == cell["cell_id"]
        assert pop.locator(".cell-n-value").inner_text() == str(cell["n"])
        median_td = pop.locator("tr[data-stat='median'] td")
        assert float(median_td.get_attribute("data-value")) == pytest.approx(cell["median"])
        text = pop.inner_text()
        assert f"Contributing datasets ({len(cell['contributors'])})" in text
        items = pop.locator(".cell-contributor")
        assert items.count() == len(cell["contributors"])
        for i, c in enumerate(cell["contributors"]):
            item = items.nth(i)
            assert item.get_attribute("data-dataset") == c["dataset"]
            assert item.get_attribute("data-n") == str(c["n"])
            item_text = item.inner_text()
            assert (c["title"] or c["dataset"]) in item_text
            assert f"{c['n']} samples" in item_text
            if c["citation"]:
                assert c["citation"] in item_text
            assert item.locator("a.contrib-title").get_attribute("href") == (
                f"/catalogue/datasets/{c['dataset']}")
        assert sum(c["n"] for c in cell["contributors"]) == cell["n"]
        v.shot("pooled-cell-popup")

        # ---------------------------------------------------------- 4 a contributor and back
        contributor = cell["contributors"][0]["dataset"]
        v.select("#sel-dataset", contributor)
        key_ds = v.wait_layer()
        assert key_ds.startswith(f"{contributor}|{element}|")
        assert page.get_attribute("#map", "data-coverage") == "on"  # the same medium group
        v.select("#sel-dataset", POOLED)
        assert v.wait_layer() == "|".join([POOLED, element, medium, method, grid,
                                           str(int(page.input_value("#sel-level"))), "median"])

        # ---------------------------------------------------------- 5 the link keeps it all
        url = page.url
        page.reload()
        page.wait_for_selector("body[data-ready='1']")
        v.wait_layer()
        assert page.input_value("#sel-dataset") == POOLED
        assert page.input_value("#sel-element") == element
        assert page.is_checked("#show-coverage")
        page.wait_for_function("() => document.getElementById('map').dataset.coverage === 'on'")
        assert page.url.split("#")[1] == url.split("#")[1]
        v.shot("reloaded-link")

        assert not v.errors, v.errors
    except Exception:
        with contextlib.suppress(Exception):
            v.shot("failure")
        raise
    finally:
        context.close()


@pytest.mark.slow
def test_pooled_map_in_chinese(browser: Any, pooled_server: str) -> None:
    """A shared link to the pooled map opens in Chinese with the pooled names translated."""
    import json

    from tests.web.test_browser import I18N

    zh = json.loads((I18N / "map.zh.json").read_text(encoding="utf-8"))
    layer = default_layer(_api(pooled_server, "/api/layers")["layers"])
    context = browser.new_context(viewport={"width": 1366, "height": 850}, locale="zh-CN")
    page = context.new_page()
    v = GlobalViewer(page, pooled_server, prefix="global-zh")
    try:
        page.goto(pooled_server + f"/?lang=zh#dataset={POOLED}&element={layer['element']}"
                  f"&medium={layer['medium']}&method={layer['method']}&lang=zh")
        page.wait_for_selector("body[data-ready='1']")
        v.wait_layer()
        assert page.input_value("#sel-dataset") == POOLED
        assert page.locator("#sel-dataset option:checked").inner_text() == zh[
            "map.dataset.pooled_public"]
        assert zh["map.coverage"] in page.inner_text("label[for='show-coverage']")
        assert not v.errors, v.errors
        v.shot("chinese")
    finally:
        context.close()


def test_pooled_strings_translated() -> None:
    """The strings of the pooled map exist in both languages (the set is checked whole by
    test_browser.py::test_viewer_strings_complete)."""
    import json

    from tests.web.test_browser import I18N

    for lang in ("en", "zh"):
        s = json.loads((I18N / f"map.{lang}.json").read_text(encoding="utf-8"))
        for k in ("map.dataset.pooled_public", "map.coverage", "map.coverage.share",
                  "map.popup.contributors", "map.popup.contributor_n",
                  "map.method.class.total", "map.medium.floodplain"):
            assert s.get(k), (lang, k)
