"""The map viewer in a real browser (Debian's chromium driven by Playwright) over a live server.

One walk through the viewer, as a user would: load the map, choose nickel in the Kola humus
layer and two cell sizes, click a published cell and compare the popup with the API, look at
the sample points, switch to Chinese (the view must survive), download the layer as GeoTIFF.
Screenshots of every step go to ``test-artifacts/`` at the repository root.

Never runs ``playwright install``: the browser is ``/usr/bin/chromium``; the test is skipped
when it is missing.
"""

from __future__ import annotations

import contextlib
import json
import math
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
I18N = ROOT / "src" / "chemearth" / "web" / "static" / "i18n"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 90_000
DATASET, ELEMENT, MEDIUM = "kola-humus", "Ni", "humus"


# ---------------------------------------------------------------------------- helpers


def js_fmt(v: float | None) -> str:
    """The viewer's number format (app.js ``fmt``): 3 significant digits, no trailing zeros."""
    if v is None:
        return "–"
    x = float(v)
    if x == 0:
        return "0"
    r = float(f"{x:.3g}")
    a = abs(r)
    if a >= 1e7 or a < 1e-4:
        mant, exp = f"{r:.2e}".split("e")
        mant = mant.rstrip("0").rstrip(".")
        return f"{mant}e{int(exp)}"
    decimals = max(0, 2 - math.floor(math.log10(a)))
    s = f"{r:.{decimals}f}"
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return s


def level_label(m: int) -> str:
    """``10000`` -> ``"10km"``, ``500`` -> ``"500m"`` (the grid's level labels)."""
    return f"{m // 1000}km" if m >= 1000 and m % 1000 == 0 else f"{m}m"


class Viewer:
    """A page of the map viewer with the steps the test takes."""

    def __init__(self, page: Any, base: str) -> None:
        self.page = page
        self.base = base
        self.errors: list[str] = []
        self.shots: list[Path] = []
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        # HTTP errors are checked on the responses ("Failed to load resource" says no URL)
        page.on(
            "console",
            lambda m: (
                self.errors.append(f"console: {m.text}")
                if m.type == "error" and "Failed to load resource" not in m.text
                else None
            ),
        )
        page.on("response", self._response)
        page.set_default_timeout(TIMEOUT_MS)

    def _response(self, resp: Any) -> None:
        path = resp.url.split("?")[0]
        expected = path.endswith("/favicon.ico") or (resp.status == 404 and path.endswith("/cell"))
        if resp.status >= 400 and not expected:
            self.errors.append(f"HTTP {resp.status}: {resp.url}")

    def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"browser-{len(self.shots) + 1:02d}-{name}.png"
        self.page.wait_for_timeout(350)  # popups fade in
        self.page.screenshot(path=str(path))
        self.shots.append(path)

    def wait_layer(self) -> str:
        """Wait until the tiles and the legend of the current layer have loaded (the legend
        is fetched after the tiles are requested, so under load it may come last); return
        the layer key."""
        self.page.wait_for_function(
            "() => { const m = document.getElementById('map');"
            " const lg = document.getElementById('legend');"
            " return m.dataset.layer && m.dataset.loaded === m.dataset.layer"
            " && m.dataset.tiles === 'loaded' && !(lg && lg.dataset.state === 'loading'); }"
        )
        return str(self.page.get_attribute("#map", "data-layer"))

    def select(self, sel: str, value: str) -> None:
        if self.page.input_value(sel) != value:
            self.page.select_option(sel, value)
        assert self.page.input_value(sel) == value

    def set_view(self, lat: float, lon: float, zoom: int) -> None:
        self.page.evaluate(
            "([lat, lon, zoom]) => { window.chemearthMap.setView([lat, lon], zoom,"
            " {animate: false}); }",
            [lat, lon, zoom],
        )
        self.wait_layer()

    def click_at(self, lat: float, lon: float) -> None:
        x, y = self.page.evaluate(
            "([lat, lon]) => { const p = window.chemearthMap.latLngToContainerPoint([lat, lon]);"
            " return [p.x, p.y]; }",
            [lat, lon],
        )
        box = self.page.locator("#map").bounding_box()
        assert box is not None
        assert 0 < x < box["width"], (x, box)
        assert 0 < y < box["height"], (y, box)
        # a closed popup fades out for 200 ms and catches clicks until it is gone
        self.page.evaluate("() => { window.chemearthMap.closePopup(); }")
        self.page.wait_for_function("() => !document.querySelector('.leaflet-popup')")
        self.page.mouse.click(box["x"] + x, box["y"] + y)

    def popup(self) -> Any:
        pop = self.page.locator(".leaflet-popup .cell-popup:not(.cell-popup-loading)")
        pop.wait_for()
        return pop


def _api(base: str, path: str, **params: Any) -> Any:
    import httpx

    r = httpx.get(base + path, params=params, timeout=60)
    assert r.status_code == 200, (path, params, r.status_code, r.text[:500])
    return r.json()


# ---------------------------------------------------------------------------- tests


def test_viewer_strings_complete() -> None:
    """Every viewer string exists in English and Chinese, with the same placeholders."""
    import re

    en = json.loads((I18N / "map.en.json").read_text(encoding="utf-8"))
    zh = json.loads((I18N / "map.zh.json").read_text(encoding="utf-8"))
    assert set(en) == set(zh)
    assert all(k.startswith("map.") for k in en)
    for k, v in en.items():
        assert sorted(re.findall(r"\{\w+\}", v)) == sorted(re.findall(r"\{\w+\}", zh[k])), k
    assert zh["map.stat.median"] == "中位数"
    assert zh["map.popup.samples"] == "样品数"


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_map_viewer(browser: Any, live_server: str) -> None:
    base_url = live_server
    # ------------------------------------------------------------------ the API's view
    catalogue = _api(base_url, "/api/layers")
    layers = [
        lay
        for lay in catalogue["layers"]
        if (lay["dataset"], lay["element"], lay["medium"]) == (DATASET, ELEMENT, MEDIUM)
    ]
    assert layers, f"no {DATASET} {ELEMENT} {MEDIUM} layer in /api/layers"
    layer = layers[0]
    grid = layer["default_grid"]
    levels = [int(v) for v in layer["levels"][grid]]
    coarse = levels[0]
    level = 10_000 if 10_000 in levels else levels[len(levels) // 2]
    assert level != coarse

    context = browser.new_context(
        viewport={"width": 1366, "height": 850}, accept_downloads=True, locale="en-GB"
    )
    page = context.new_page()
    v = Viewer(page, base_url)
    ARTIFACTS.mkdir(exist_ok=True)
    for old in ARTIFACTS.glob("browser-*.png"):
        old.unlink()
    try:
        # -------------------------------------------------------------- 1 load
        page.goto(base_url + "/?lang=en")
        page.wait_for_selector("body[data-ready='1']")
        v.wait_layer()
        kind = page.evaluate("() => typeof window.chemearthMap.latLngToContainerPoint")
        assert kind == "function"
        assert page.locator("#sel-element option").count() >= 1
        assert page.locator("#legend .swatch").count() >= 1
        assert "lat=" in page.url
        assert "dataset=" in page.url
        v.shot("initial")

        # -------------------------------------------------------------- 2 choose the layer
        v.select("#sel-element", ELEMENT)
        v.select("#sel-medium", MEDIUM)
        v.select("#sel-dataset", DATASET)
        if page.is_visible("#sel-method"):
            v.select("#sel-method", layer["method"])
        if len(layer["grids"]) > 1:
            assert page.is_visible("#sel-grid")
            v.select("#sel-grid", grid)
        else:
            assert not page.is_visible("#sel-grid")
        v.select("#sel-stat", "median")
        v.select("#sel-level", str(coarse))
        key = v.wait_layer()
        assert key == "|".join(
            [DATASET, ELEMENT, MEDIUM, layer["method"], grid, str(coarse), "median"]
        )
        legend = page.inner_text("#legend")
        assert ELEMENT in legend
        assert "Median" in legend
        assert f"{coarse // 1000} km" in legend
        v.shot("kola-humus-ni-coarse")

        v.select("#sel-level", str(level))
        key = v.wait_layer()
        assert key.endswith(f"|{grid}|{level}|median")
        legend_api = _api(
            base_url,
            f"/api/layers/{DATASET}/{ELEMENT}/legend",
            medium=MEDIUM,
            method=layer["method"],
            grid=grid,
            level=level_label(level),
            stat="median",
        )
        assert page.locator("#legend .swatch").count() == len(legend_api["classes"])
        legend = page.inner_text("#legend")
        assert js_fmt(legend_api["classes"][-1]["upper"]) in legend
        assert layer["unit"] in legend
        for k in ("level", "stat", "element", "dataset"):
            assert f"{k}=" in page.url
        assert f"level={level}" in page.url
        assert f"element={ELEMENT}" in page.url
        v.shot(f"kola-humus-ni-{level_label(level)}")

        # -------------------------------------------------------------- 3 click a cell
        import shapely.geometry

        fc = _api(
            base_url,
            f"/api/collections/{DATASET}.cells/items",
            element=ELEMENT,
            medium=MEDIUM,
            method=layer["method"],
            grid=grid,
            level=level_label(level),
            limit=500,
        )
        assert fc["features"], "no published cell to click"
        feat = max(fc["features"], key=lambda f: f["properties"]["n"])  # a cell of many samples
        pt = shapely.geometry.shape(feat["geometry"]).representative_point()
        lon, lat = float(pt.x), float(pt.y)
        cell = _api(
            base_url,
            f"/api/layers/{DATASET}/{ELEMENT}/cell",
            lon=lon,
            lat=lat,
            medium=MEDIUM,
            method=layer["method"],
            grid=grid,
            level=level_label(level),
        )
        assert cell["cell_id"] == feat["properties"]["cell_id"]

        v.set_view(lat, lon, 7)
        v.click_at(lat, lon)
        pop = v.popup()
        assert pop.get_attribute("data-cell-id") == cell["cell_id"]
        n_text = pop.locator(".cell-n-value").inner_text()
        assert n_text == str(cell["n"])
        assert "Samples" in pop.inner_text()
        median_td = pop.locator("tr[data-stat='median'] td")
        assert float(median_td.get_attribute("data-value")) == pytest.approx(cell["median"])
        assert (
            median_td.inner_text().replace("\u00a0", " ")
            == f"{js_fmt(cell['median'])} {cell['unit']}"
        )
        assert "Median" in pop.locator("tr[data-stat='median'] th").inner_text()
        v.shot("cell-popup")

        # -------------------------------------------------------------- 4 sample points
        if layer["samples"]:
            v.set_view(lat, lon, 9)
            page.wait_for_function(
                "() => Number(document.getElementById('map').dataset.samples) > 0"
            )
            assert page.locator("path.sample-point").count() > 0
            # a sample's popup: click the sample nearest the centre of the view
            b = page.evaluate("() => window.chemearthMap.getBounds().toBBoxString()")
            samples = _api(
                base_url,
                f"/api/collections/{DATASET}.samples/items",
                bbox=b,
                element=ELEMENT,
                medium=MEDIUM,
                limit=2000,
            )["features"]
            assert samples
            s0 = min(
                samples,
                key=lambda f: (
                    (f["geometry"]["coordinates"][0] - lon) ** 2
                    + (f["geometry"]["coordinates"][1] - lat) ** 2
                ),
            )
            v.click_at(s0["geometry"]["coordinates"][1], s0["geometry"]["coordinates"][0])
            sp = page.locator(".leaflet-popup .sample-popup")
            sp.wait_for()
            assert sp.get_attribute("data-sample-id") in {
                str(f["properties"]["sample_id"]) for f in samples
            }
            assert ELEMENT in sp.inner_text()
            assert layer["unit"] in sp.inner_text()
            v.shot("sample-points")
            v.set_view(lat, lon, 7)
            page.wait_for_function("() => document.getElementById('map').dataset.samples === '0'")
        else:
            assert page.is_visible("#samples-hint")

        # -------------------------------------------------------------- 5 Chinese
        before = page.evaluate(
            "() => { const c = window.chemearthMap.getCenter();"
            " return [c.lat, c.lng, window.chemearthMap.getZoom()]; }"
        )
        href = page.get_attribute("#lang-zh", "href") or ""
        assert "lang=zh" in href
        assert f"element={ELEMENT}" in href
        assert f"level={level}" in href
        with page.expect_navigation():
            page.click("#lang-zh")
        page.wait_for_selector("body[data-ready='1']")
        v.wait_layer()
        assert page.get_attribute("html", "lang") == "zh-CN"
        assert "lang=zh" in page.url
        assert page.inner_text("label[for='sel-element']").strip() == "元素"
        assert page.inner_text("label[for='sel-stat']").strip() == "统计量"
        assert page.locator("#sel-stat option:checked").inner_text() == "中位数"
        for sel, want in (
            ("#sel-element", ELEMENT),
            ("#sel-medium", MEDIUM),
            ("#sel-dataset", DATASET),
            ("#sel-level", str(level)),
            ("#sel-stat", "median"),
        ):
            assert page.input_value(sel) == want, sel
        after = page.evaluate(
            "() => { const c = window.chemearthMap.getCenter();"
            " return [c.lat, c.lng, window.chemearthMap.getZoom()]; }"
        )
        assert after[2] == before[2]
        assert after[0] == pytest.approx(before[0], abs=1e-3)
        assert after[1] == pytest.approx(before[1], abs=1e-3)
        assert "中位数" in page.inner_text("#legend")
        assert "下载此图层" in page.inner_text("#downloads")
        v.shot("chinese")

        v.click_at(lat, lon)
        pop = v.popup()
        text = pop.inner_text()
        assert "样品数" in text
        assert "中位数" in text
        assert pop.locator(".cell-n-value").inner_text() == str(cell["n"])
        v.shot("chinese-cell-popup")

        # a point without a published cell
        v.set_view(0.0, -30.0, 4)
        v.click_at(0.0, -30.0)
        pop = page.locator(".leaflet-popup .cell-popup-empty")
        pop.wait_for()
        zh = json.loads((I18N / "map.zh.json").read_text(encoding="utf-8"))
        assert zh["map.popup.none"] in pop.inner_text()
        v.shot("chinese-no-cell")
        v.set_view(lat, lon, 7)

        # -------------------------------------------------------------- 6 download
        tif_href = page.get_attribute("#download-tif", "href") or ""
        assert tif_href.startswith(f"/api/downloads/{DATASET}/layers/{ELEMENT}.tif?")
        for part in (f"medium={MEDIUM}", f"grid={grid}", f"level={level}", "stat=median"):
            assert part in tif_href, (part, tif_href)
        assert (page.get_attribute("#element-page", "href") or "").endswith(
            f"/catalogue/elements/{ELEMENT}"
        )
        with page.expect_download(timeout=TIMEOUT_MS) as dl_info:
            page.click("#download-tif")
        dl = dl_info.value
        assert dl.failure() is None, dl.failure()
        data = Path(dl.path()).read_bytes()
        assert data[:4] in (b"II*\x00", b"MM\x00*"), data[:16]
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / f"browser-download-{dl.suggested_filename or 'layer.tif'}").write_bytes(data)
        v.shot("after-download")

        assert not v.errors, v.errors
    except Exception:
        with contextlib.suppress(Exception):
            v.shot("failure")
        raise
    finally:
        context.close()


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_assessment_overlays(browser: Any, live_server: str) -> None:
    """Screening tiles, change tiles, anomaly targets and blocks drawn over the Kola layer;
    the anomaly popup shows the API's first target."""
    targets = _api(live_server, f"/api/assess/anomalies/{DATASET}/{ELEMENT}?threshold=p95")
    assert targets["features"], "the API finds no anomaly target"
    context = browser.new_context(viewport={"width": 1366, "height": 850}, locale="en-GB")
    page = context.new_page()
    v = Viewer(page, live_server)
    try:
        page.goto(live_server + f"/?lang=en#dataset={DATASET}&element={ELEMENT}&medium={MEDIUM}"
                  "&lat=68.5&lon=31&zoom=6")
        page.wait_for_selector("body[data-ready='1']")
        v.wait_layer()
        assert page.locator("#sel-standard option").count() >= 5

        def overlay(kind: str) -> None:
            with page.expect_response(lambda r: "/assess/" in r.url and r.status == 200):
                v.select("#sel-assess", kind)
            page.wait_for_function(
                f"() => document.getElementById('map').dataset.assess === '{kind}'")

        overlay("screening")
        page.wait_for_function(  # tiles of the overlay were requested and drawn
            "() => [...document.querySelectorAll('.leaflet-tile')]"
            ".some(t => t.src.includes('/tiles/assess/screening/') && t.complete)")
        names = page.locator("#assess-legend li").all_inner_texts()
        assert [n.strip() for n in names] == ["priority protection", "safe utilisation",
                                              "strict control"]
        assert "partial digestion" in page.inner_text("#assess-note")  # HNO3 on humus
        v.shot("assess-screening")

        v.select("#sel-assess", "change")
        assert "Choose the later campaign" in page.inner_text("#assess-note")
        with page.expect_response(lambda r: "/api/assess/change/" in r.url and r.status == 200):
            v.select("#sel-against", "kola-chorizon")
        page.wait_for_function("() => document.getElementById('map').dataset.assess === 'change'")
        cells = _api(live_server, f"/api/assess/change/{DATASET}/{ELEMENT}",
                     against="kola-chorizon", level="20km",
                     # the layer's grid: Kola opens on the European grid (its default)
                     grid=page.input_value("#sel-grid") or "global")
        assert f"{len(cells)} cells compared" in page.inner_text("#assess-note")
        v.shot("assess-change")

        overlay("anomalies")
        with page.expect_response(lambda r: "threshold=p95" in r.url and r.status == 200):
            v.select("#sel-threshold", "p95")
        page.wait_for_function(
            "n => document.querySelectorAll('.leaflet-overlay-pane path').length === n",
            arg=len(targets["features"]))
        first = targets["features"][0]["properties"]
        lon, lat = first["peak_longitude"], first["peak_latitude"]
        pt = page.evaluate("([lat, lon]) => { const p = window.chemearthMap"
                           ".latLngToContainerPoint([lat, lon]); return [p.x, p.y]; }",
                           [lat, lon])
        box = page.locator("#map").bounding_box()
        page.mouse.click(box["x"] + pt[0], box["y"] + pt[1])
        pop = page.locator(".leaflet-popup-content")
        pop.wait_for()
        assert first["target_id"] in pop.inner_text()
        v.shot("assess-anomalies")

        overlay("blocks")
        assert page.locator(".leaflet-overlay-pane path").count() >= 1
        assert "estimates" in page.inner_text("#assess-note")
        v.shot("assess-blocks")
        assert not v.errors, v.errors
    except Exception:
        with contextlib.suppress(Exception):
            v.shot("assess-failure")
        raise
    finally:
        context.close()


@pytest.mark.slow
def test_surface_overlay_and_atlas_page_links(browser: Any, live_server: str) -> None:
    """The kriged surface as a map layer (tiles, legend with the API's class limits, the
    variogram note), and the element page's atlas links answer PNG and PDF."""
    context = browser.new_context(viewport={"width": 1366, "height": 850}, locale="en-GB")
    page = context.new_page()
    v = Viewer(page, live_server)
    try:
        page.goto(live_server + f"/?lang=en#dataset={DATASET}&element={ELEMENT}&medium={MEDIUM}"
                  "&lat=68.5&lon=31&zoom=6")
        page.wait_for_selector("body[data-ready='1']")
        v.wait_layer()
        with page.expect_response(lambda r: "/api/surfaces/" in r.url and r.status == 200):
            v.select("#sel-assess", "surface-kriging")
        page.wait_for_function(
            "() => document.getElementById('map').dataset.assess === 'surface-kriging'")
        page.wait_for_function(
            "() => [...document.querySelectorAll('.leaflet-tile')]"
            ".some(t => t.src.includes('/tiles/surface/') && t.complete)")
        # the surface is estimated on the cells of the level the viewer shows
        d = _api(live_server, f"/api/surfaces/{DATASET}/{ELEMENT}", method="kriging",
                 grid=page.input_value("#sel-grid") or "global",
                 level=page.input_value("#sel-level"))
        items = page.locator("#assess-legend li").all_inner_texts()
        assert len(items) == len(d["legend"]["classes"]) == 7
        assert "(P98–P100)" in items[0]  # highest class first
        note = page.inner_text("#assess-note")
        assert d["variogram"]["model"] in note
        assert f"onto {d['n_cells']} cells" in note
        v.shot("surface-kriging")

        page.goto(live_server + f"/catalogue/elements/{ELEMENT}?lang=en")
        link = page.locator(f"a.atlas-pdf[href^='/atlas/{DATASET}/']").first
        href = link.get_attribute("href")
        pdf = page.request.get(live_server + href)
        assert pdf.status == 200
        assert pdf.body().startswith(b"%PDF")
        png = page.request.get(live_server + href.replace(".pdf?", ".png?"))
        assert png.headers["content-type"] == "image/png"
        assert not v.errors, v.errors
    except Exception:
        with contextlib.suppress(Exception):
            v.shot("surface-failure")
        raise
    finally:
        context.close()
