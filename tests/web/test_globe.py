"""The globe view of the map viewer (``static/globe.js``, MapLibre GL JS) in a real browser.

The server runs over a copy of the grid store with the public pooled layers
(``pooled_server``). A link with ``view=globe`` must open the globe on the pooled world map
(the viewer's default layer), drawn with MapLibre's globe projection from the layer's own
XYZ tiles; a cell's pixel must have its class colour, a click on it must open the popup with
the values the API's ``/cell`` route gives, the link must reload into the same globe, the
Map / Globe switch must keep the layer, the legend and the view, and no request may leave
the server. Screenshots go to ``test-artifacts/globe-*.png`` at the repository root.

Never runs ``playwright install``: the browser is ``/usr/bin/chromium``; the browser tests
are skipped when it is missing.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from tests.web.test_browser import ARTIFACTS, I18N, TIMEOUT_MS, _api
from tests.web.test_global_viewer import POOLED, default_layer, pooled_cells

ROOT = Path(__file__).resolve().parents[2]
#: what globe.js draws under the layer (the land fill, and the sea: style.css's --sea)
LAND = (0xF3, 0xF1, 0xEA)
SEA = (0xD9, 0xE4, 0xEC)
#: the layer's opacity on the globe (globe.js LAYER_OPACITY)
OPACITY = 0.85
LOCAL_HOSTS = {"127.0.0.1", "localhost"}

GLOBE_LOADED = (
    "() => { const g = document.getElementById('globe'); const m = document.getElementById('map');"
    " return !!g && !!m.dataset.layer && g.dataset.loaded === m.dataset.layer"
    " && g.dataset.tiles === 'loaded'; }"
)
#: resolves once the globe has drawn everything it has to (MapLibre's "idle")
GLOBE_IDLE = (
    "() => new Promise((resolve) => { const m = window.chemearthGlobe;"
    " m.once('idle', () => resolve(true)); m.triggerRepaint(); })"
)


class GlobePage:
    """A browser context on the viewer that records every request, answer and error."""

    def __init__(self, browser: Any, base: str, locale: str = "en-GB") -> None:
        self.base = base
        self.context = browser.new_context(viewport={"width": 1366, "height": 850}, locale=locale)
        self.requests: list[tuple[str, str]] = []  # (resource type, URL)
        self.answers: list[tuple[str, str, int, str]] = []  # (type, URL, status, media type)
        self.errors: list[str] = []
        self.context.on("request", lambda r: self.requests.append((r.resource_type, r.url)))
        self.context.on("response", self._answer)
        self.page = self.new_page()

    def new_page(self) -> Any:
        page = self.context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        page.on(
            "console",
            lambda m: (
                self.errors.append(f"console: {m.text}")
                if m.type == "error" and "Failed to load resource" not in m.text
                else None
            ),
        )
        return page

    def _answer(self, resp: Any) -> None:
        req = resp.request
        self.answers.append(
            (req.resource_type, resp.url, resp.status, resp.headers.get("content-type", ""))
        )
        path = resp.url.split("?")[0]
        expected = path.endswith("/favicon.ico") or (resp.status == 404 and path.endswith("/cell"))
        if resp.status >= 400 and not expected:
            self.errors.append(f"HTTP {resp.status}: {resp.url}")

    def open(self, url: str, page: Any = None) -> Any:
        page = page or self.page
        page.goto(url)
        page.wait_for_selector("body[data-ready='1']")
        page.wait_for_function(GLOBE_LOADED)
        page.evaluate(GLOBE_IDLE)
        return page

    def shot(self, name: str, page: Any = None) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"globe-{name}.png"
        (page or self.page).wait_for_timeout(300)
        (page or self.page).screenshot(path=str(path))
        return path

    def foreign_requests(self) -> list[str]:
        """Requests to anything but this server (data: and blob: URLs stay in the page)."""
        out = []
        for _, url in self.requests:
            parts = urlsplit(url)
            if parts.scheme in ("data", "blob", "about"):
                continue
            if parts.hostname not in LOCAL_HOSTS:
                out.append(url)
        return out


def blend(colour: tuple[int, int, int], under: tuple[int, int, int]) -> tuple[float, ...]:
    return tuple(OPACITY * c + (1 - OPACITY) * u for c, u in zip(colour, under, strict=True))


def near(a: tuple[float, ...], b: tuple[float, ...], tol: float = 12) -> bool:
    """Whether two colours agree to ``tol`` per channel (blending rounds, screenshots too)."""
    return max(abs(x - y) for x, y in zip(a, b, strict=True)) <= tol


def hex_rgb(s: str) -> tuple[int, int, int]:
    s = s.lstrip("#")
    return int(s[0:2], 16), int(s[2:4], 16), int(s[4:6], 16)


def globe_pixels(page: Any) -> Any:
    """A screenshot of the globe (Pillow image) and its box on the page."""
    from PIL import Image

    box = page.locator("#globe").bounding_box()
    assert box is not None
    png = page.screenshot(clip=box)
    return Image.open(io.BytesIO(png)).convert("RGB"), box


def mode_colour(img: Any, x: float, y: float, r: int = 2) -> tuple[int, int, int]:
    """The most frequent colour of the (2r+1)² pixels around (x, y): a border line or the
    edge of a cell does not decide it."""
    from collections import Counter

    px = Counter(
        img.getpixel((int(x) + dx, int(y) + dy))
        for dx in range(-r, r + 1)
        for dy in range(-r, r + 1)
    )
    return px.most_common(1)[0][0]


def center(page: Any, which: str) -> tuple[float, float]:
    """(lat, lon) of the centre of the globe or of the flat map."""
    if which == "globe":
        c = page.evaluate("() => window.chemearthGlobe.getCenter()")
        return c["lat"], c["lng"]
    c = page.evaluate("() => window.chemearthMap.getCenter().wrap()")
    return c["lat"], c["lng"]


# ---------------------------------------------------------------------------- fast checks


def test_globe_strings_complete() -> None:
    """The globe's strings exist in English and Chinese (real Chinese), same placeholders."""
    en = json.loads((I18N / "globe.en.json").read_text(encoding="utf-8"))
    zh = json.loads((I18N / "globe.zh.json").read_text(encoding="utf-8"))
    assert set(en) == set(zh)
    assert all(k.startswith("globe.") for k in en)
    for k, v in en.items():
        assert sorted(re.findall(r"\{\w+\}", v)) == sorted(re.findall(r"\{\w+\}", zh[k])), k
        assert re.search(r"[\u4e00-\u9fff]", zh[k]), (k, zh[k])
    # the keys of MapLibre's own strings that globe.js passes as its locale
    js = (I18N.parent / "globe.js").read_text(encoding="utf-8")
    listed = re.search(r"MAPLIBRE_STRINGS = \[(.*?)\];", js, re.S)
    assert listed is not None
    for key in re.findall(r"'([\w.]+)'", listed.group(1)):
        assert f"globe.maplibre.{key}" in en, key


def test_maplibre_is_served_from_node_modules(tmp_path: Path) -> None:
    """MapLibre GL JS 5.9.0 comes from node_modules at /vendor/maplibre-gl; the map page has
    the switch and loads globe.js (MapLibre itself only on the first switch)."""
    from fastapi.testclient import TestClient

    from chemearth.store import open_store
    from chemearth.web import create_app

    pinned = json.loads((ROOT / "package.json").read_text())["dependencies"]["maplibre-gl"]
    assert pinned == "5.9.0"
    installed = ROOT / "node_modules" / "maplibre-gl" / "package.json"
    if not installed.is_file():
        pytest.skip("node_modules/maplibre-gl is missing (npm ci)")
    assert json.loads(installed.read_text())["version"] == pinned
    client = TestClient(create_app(open_store(tmp_path / "store")))
    for name, media in (("maplibre-gl.js", "javascript"), ("maplibre-gl.css", "text/css")):
        r = client.get(f"/vendor/maplibre-gl/{name}")
        assert r.status_code == 200, name
        assert media in r.headers["content-type"]
    page = client.get("/?lang=en").text
    assert 'id="view-globe"' in page
    assert 'id="view-map"' in page
    assert '<script src="/static/globe.js"></script>' in page
    assert "maplibre-gl.js" not in page  # loaded on demand by globe.js
    # no other site is named but in the credit's link (nothing is fetched from it)
    urls = set(re.findall(r"https?://[^\s'\"<>]+", client.get("/static/globe.js").text))
    assert urls <= {"https://maplibre.org"}, urls


# ---------------------------------------------------------------------------- the browser


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_globe_view(browser: Any, pooled_server: str) -> None:
    base = pooled_server
    layer = default_layer(_api(base, "/api/layers")["layers"])
    element, medium, method = layer["element"], layer["medium"], layer["method"]
    grid, level = layer["default_grid"], int(layer["default_level"])
    key = "|".join([POOLED, element, medium, method, grid, str(level), "median"])
    query = {"medium": medium, "method": method, "grid": grid, "level": level}

    ARTIFACTS.mkdir(exist_ok=True)
    for old in ARTIFACTS.glob("globe-*.png"):
        old.unlink()
    g = GlobePage(browser, base)
    page = g.page
    try:
        # ---------------------------------------------------------- 1 a link opens the globe
        g.open(base + "/?lang=en#view=globe")
        assert page.get_attribute("#map", "data-layer") == key  # the pooled world map first
        assert page.get_attribute("#globe", "data-loaded") == key
        assert page.get_attribute("body", "data-view") == "globe"
        assert page.get_attribute("#view-globe", "aria-pressed") == "true"
        assert page.get_attribute("#view-map", "aria-pressed") == "false"
        assert page.is_visible("#globe")
        assert page.evaluate("() => maplibregl.getVersion()") == "5.9.0"
        assert page.evaluate("() => window.chemearthGlobe.getProjection().type") == "globe"
        assert page.evaluate("() => window.chemearthGlobe.getLayer('chemearth-layer').type") == (
            "raster"
        )
        for k in ("view=globe", f"dataset={POOLED}", f"element={element}", f"level={level}"):
            assert k in page.url, (k, page.url)
        # the globe's own tile requests (MapLibre fetches; Leaflet's are images), all answered
        tiles = [
            (url, status, media)
            for kind, url, status, media in g.answers
            if kind == "fetch" and f"/api/layers/{POOLED}/{element}/tiles/" in url
        ]
        assert tiles, "the globe fetched no tile of the layer"
        assert all(status == 200 and media.startswith("image/png") for _, status, media in tiles), (
            tiles
        )
        assert all(
            f"level={level // 1000}km" in url or f"level={level}" in url for url, _, _ in tiles
        ), tiles
        # the legend stays in view over the globe, with the layer's classes
        legend = _api(base, f"/api/layers/{POOLED}/{element}/legend", stat="median", **query)
        assert page.locator("#legend .swatch").count() == len(legend["classes"])
        assert page.evaluate(
            "() => { const r = document.getElementById('legend').getBoundingClientRect();"
            " const e = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);"
            " return !!e && !!e.closest('#legend'); }"
        )
        # the canvas is no blank: a sphere of many colours on the dark of space
        img, _ = globe_pixels(page)
        assert len(img.getcolors(maxcolors=1 << 20) or []) > 50
        x, y = page.evaluate(
            "() => { const c = window.chemearthGlobe.getCenter();"
            " const p = window.chemearthGlobe.project(c); return [p.x, p.y]; }"
        )
        # the sphere is drawn: at its centre land, sea or a class of the layer over either
        mid = mode_colour(img, x, y)
        grounds = [LAND, SEA] + [
            blend(hex_rgb(c["colour"]), under) for c in legend["classes"] for under in (LAND, SEA)
        ]
        assert any(near(mid, ground) for ground in grounds), mid
        g.shot("pooled")

        # ---------------------------------------------------------- 2 a cell: colour and popup
        row = pooled_cells(base, layer, level)[0]  # the cell of most samples
        lon, lat = float(row["longitude"]), float(row["latitude"])
        cell = _api(base, f"/api/layers/{POOLED}/{element}/cell", lon=lon, lat=lat, **query)
        assert cell["cell_id"] == row["cell_id"]
        page.evaluate(
            "([lon, lat]) => window.chemearthGlobe.jumpTo({center: [lon, lat], zoom: 5})",
            [lon, lat],
        )
        page.wait_for_function(GLOBE_LOADED)
        page.evaluate(GLOBE_IDLE)
        x, y = page.evaluate(
            "([lon, lat]) => { const p = window.chemearthGlobe.project("
            "[lon, lat]); return [p.x, p.y]; }",
            [lon, lat],
        )
        img, box = globe_pixels(page)
        got = mode_colour(img, x, y)
        v = float(cell["median"])
        classes = [c for c in legend["classes"] if c["lower"] <= v <= c["upper"]]
        assert classes, (v, legend["classes"])
        wanted = [blend(hex_rgb(c["colour"]), under) for c in classes for under in (LAND, SEA)]
        assert any(near(got, w) for w in wanted), (got, wanted)
        # without the layer the same pixel is land or sea: the colour is the layer's
        page.evaluate(
            "() => window.chemearthGlobe.setLayoutProperty('chemearth-layer', 'visibility', 'none')"
        )
        page.evaluate(GLOBE_IDLE)
        bare = mode_colour(globe_pixels(page)[0], x, y)
        assert bare != got
        page.evaluate(
            "() => window.chemearthGlobe.setLayoutProperty('chemearth-layer',"
            " 'visibility', 'visible')"
        )
        page.evaluate(GLOBE_IDLE)

        page.mouse.click(box["x"] + x, box["y"] + y)
        pop = page.locator(".maplibregl-popup .cell-popup:not(.cell-popup-loading)")
        pop.wait_for()
        assert pop.get_attribute("data-cell-id") == cell["cell_id"]
        assert pop.locator(".cell-n-value").inner_text() == str(cell["n"])
        median_td = pop.locator("tr[data-stat='median'] td")
        assert float(median_td.get_attribute("data-value")) == pytest.approx(cell["median"])
        for stat in ("p25", "p75", "mean"):
            if cell.get(stat) is not None:
                td = pop.locator(f"tr[data-stat='{stat}'] td")
                assert float(td.get_attribute("data-value")) == pytest.approx(cell[stat])
        items = pop.locator(".cell-contributor")
        assert items.count() == len(cell["contributors"])
        assert pop.is_visible()
        page.evaluate(GLOBE_IDLE)  # the globe pans the popup into view
        g.shot("popup")

        # ---------------------------------------------------------- 3 the link reloads as is
        url = page.url
        assert "view=globe" in url
        lat0, lon0 = center(page, "globe")
        other = g.open(url, g.new_page())
        assert other.get_attribute("body", "data-view") == "globe"
        assert other.get_attribute("#map", "data-layer") == key
        assert other.get_attribute("#globe", "data-loaded") == key
        lat1, lon1 = center(other, "globe")
        assert (lat1, lon1) == (pytest.approx(lat0, abs=0.01), pytest.approx(lon0, abs=0.01))
        g.shot("reloaded", other)
        other.close()

        # ---------------------------------------------------------- 4 Map / Globe switch
        page.click("#view-map")
        page.wait_for_function("() => document.body.dataset.view === 'map'")
        assert not page.is_visible("#globe")
        assert (
            page.evaluate(
                "() => getComputedStyle(document.querySelector('.leaflet-map-pane')).visibility"
            )
            == "visible"
        )
        assert "view=globe" not in page.url
        assert page.get_attribute("#map", "data-layer") == key
        assert page.locator("#legend .swatch").count() == len(legend["classes"])
        lat2, lon2 = center(page, "map")
        assert (lat2, lon2) == (pytest.approx(lat0, abs=0.5), pytest.approx(lon0, abs=0.5))
        g.shot("flat-after-switch")
        page.evaluate("() => { window.chemearthMap.setView([48, 11], 5, {animate: false}); }")
        page.click("#view-globe")
        page.wait_for_function("() => document.body.dataset.view === 'globe'")
        page.wait_for_function(GLOBE_LOADED)
        assert "view=globe" in page.url
        lat3, lon3 = center(page, "globe")
        assert (lat3, lon3) == (pytest.approx(48, abs=0.5), pytest.approx(11, abs=0.5))
        # a link edited by hand switches too
        page.evaluate("() => { location.hash = location.hash.replace('view=globe', 'view=map'); }")
        page.wait_for_function("() => document.body.dataset.view === 'map'")
        assert "view=globe" not in page.url
        page.click("#view-globe")
        page.wait_for_function("() => document.body.dataset.view === 'globe'")

        # ---------------------------------------------------------- 5 another layer on the globe
        levels = [int(x) for x in layer["levels"][grid]]
        coarse = max(levels)
        assert coarse != level
        page.select_option("#sel-level", str(coarse))
        key2 = key.replace(f"|{level}|", f"|{coarse}|")
        page.wait_for_function(
            f"() => document.getElementById('globe').dataset.loaded === {json.dumps(key2)}"
        )
        assert any(
            kind == "fetch" and f"level={coarse // 1000}km" in url and status == 200
            for kind, url, status, _ in g.answers
            if "/tiles/" in url
        )
        assert f"level={coarse}" in page.url
        assert "view=globe" in page.url

        # ---------------------------------------------------------- 6 a query link, offline
        q = g.open(
            base + f"/?lang=en&view=globe#dataset={POOLED}&element={element}"
            f"&medium={medium}&method={method}",
            g.new_page(),
        )
        assert q.get_attribute("body", "data-view") == "globe"
        assert q.get_attribute("#map", "data-layer").startswith(
            f"{POOLED}|{element}|{medium}|{method}|"
        )
        q.click("#view-map")  # the query says globe: the hash must say map
        q.wait_for_function("() => document.body.dataset.view === 'map'")
        assert "view=map" in q.url.split("#")[1]
        q.close()

        assert not g.foreign_requests(), g.foreign_requests()
        assert not g.errors, g.errors
    except Exception:
        with contextlib.suppress(Exception):
            g.shot("failure")
        raise
    finally:
        g.context.close()


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_globe_in_chinese(browser: Any, pooled_server: str) -> None:
    """The switch, the globe's own controls and its legend read Chinese."""
    zh = json.loads((I18N / "globe.zh.json").read_text(encoding="utf-8"))
    g = GlobePage(browser, pooled_server, locale="zh-CN")
    try:
        page = g.open(pooled_server + "/?lang=zh#view=globe")
        assert page.inner_text("#view-globe").strip() == zh["globe.switch.globe"]
        assert page.inner_text("#view-map").strip() == zh["globe.switch.map"]
        assert page.get_attribute("#view-globe", "aria-pressed") == "true"
        assert (
            page.get_attribute(".maplibregl-ctrl-zoom-in", "title")
            == zh["globe.maplibre.NavigationControl.ZoomIn"]
        )
        assert page.get_attribute("#globe", "aria-label") == zh["globe.label"]
        assert "公里" in page.inner_text("#legend")
        g.shot("chinese")
        assert not g.foreign_requests(), g.foreign_requests()
        assert not g.errors, g.errors
    finally:
        g.context.close()
