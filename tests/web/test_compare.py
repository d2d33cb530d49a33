"""Comparison of two layers in the map viewer (static/compare.js), in a real browser.

Debian's chromium driven by Playwright over ``chemearth serve`` on the grid store with the
public pooled layers (``pooled_server``). Side A is the Kola humus (O-horizon) nickel layer,
side B the Kola C-horizon one: the same sites sampled in two media, the "topsoil vs
subsoil" comparison; the change between two campaigns is that of the Kola C-horizon to the
humus survey, which the change assessment pairs by their declared same sites (no shipped
survey holds two sampling campaigns in time). The tests check that

* the swipe shows A left of the divider and B right of it: the clip of each side's panes,
  both layers' tiles loaded, and screenshot pixels that equal the all-A picture on the left
  and the all-B picture on the right, where the two pictures differ;
* dragging the divider (and its keys) moves the clip and the URL;
* a click gives the popup of the side clicked, equal to the API's ``/cell`` of that layer;
* the URL round-trips (swipe, side by side, change);
* the change layer shows in the same view with its own legend (the API's counts per class)
  and popups (the API's change of that cell);
* side by side, the two maps move together and each answers for its own layer;
* the controls are in Chinese on the Chinese page, with a pooled layer as side B.

Screenshots go to ``test-artifacts/compare-*.png``. Never runs ``playwright install``.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote_plus

import pytest
from tests.web.test_browser import ARTIFACTS, I18N, Viewer, _api

STATIC = I18N.parent
A = {"dataset": "kola-humus", "element": "Ni", "medium": "humus"}
B = {"dataset": "kola-chorizon", "element": "Ni", "medium": "c-horizon"}
GRID, LEVEL = "global", 40_000
#: the change: C-horizon to humus at 80 km, where the API finds significant changes
CHANGE_LEVEL = 80_000
VIEW = (68.6, 30.5, 6)
#: pixels of the two sides compared a few pixels away from the divider's line
MARGIN = 4
HIDE_CONTROLS = (
    ".leaflet-control-container, .compare-tag, .compare-divider, "
    ".leaflet-popup-pane { opacity: 0 !important; }"
)


@pytest.fixture(scope="module")
def layers(pooled_server: str) -> dict[str, dict[str, Any]]:
    """The /api/layers entries of sides A and B (B: the first method /api/layers lists)."""
    out = {}
    listed = _api(pooled_server, "/api/layers")["layers"]
    for side, want in (("a", A), ("b", B)):
        found = [lay for lay in listed if all(lay[k] == v for k, v in want.items())]
        assert found, f"no {want} layer in /api/layers"
        assert LEVEL in [int(v) for v in found[0]["levels"][GRID]]
        out[side] = found[0]
    return out


# ---------------------------------------------------------------------------- helpers


def part(x: Any) -> str:
    """One part of a compare= value as compare.js writes it."""
    return quote_plus(str(x).replace("%", "%25").replace("/", "%2F"), safe=":")


def layer_spec(lay: dict[str, Any], stat: str = "median", level: int = LEVEL) -> str:
    return "/".join(
        part(x)
        for x in (lay["dataset"], lay["element"], lay["medium"], lay["method"], GRID, level, stat)
    )


def viewer_url(
    base: str,
    a: dict[str, Any],
    compare: str | None = None,
    *,
    layout: str = "swipe",
    swipe: float = 0.5,
    view: tuple[float, float, int] = VIEW,
    lang: str = "en",
    level: int = LEVEL,
) -> str:
    lat, lon, zoom = view
    h = (
        f"lat={lat}&lon={lon}&zoom={zoom}&dataset={a['dataset']}&element={a['element']}"
        f"&medium={a['medium']}&method={quote_plus(a['method'])}&grid={GRID}&level={level}"
        "&stat=median"
    )
    if compare:
        h += f"&compare={compare}&layout={layout}"
        if layout == "swipe":
            h += f"&swipe={swipe}"
    return f"{base}/?lang={lang}#{h}&lang={lang}"


def level_label(m: int) -> str:
    return f"{m // 1000}km"


class Compare(Viewer):
    """The viewer helper of the browser tests, with the comparison's steps."""

    def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.wait_for_timeout(350)  # popups fade in
        path = ARTIFACTS / f"compare-{name}.png"
        self.page.screenshot(path=str(path))
        self.shots.append(path)

    def open(self, url: str) -> None:
        self.page.goto(url)
        self.page.wait_for_selector("body[data-ready='1']")
        self.wait_layer()
        self.wait_compare()

    def wait_compare(self) -> str:
        """Wait until side B's tiles and legend have loaded; return B's key."""
        self.page.wait_for_function(
            "() => { const m = document.getElementById('map');"
            " const lg = document.getElementById('compare-legend');"
            " return m.dataset.compare !== 'off' && m.dataset.compareKey"
            " && m.dataset.compareLoaded === m.dataset.compareKey"
            " && m.dataset.compareTiles === 'loaded' && lg && lg.dataset.state === 'ready'; }"
        )
        return str(self.page.get_attribute("#map", "data-compare-key"))

    def state(self) -> dict[str, str]:
        return dict(self.page.evaluate("() => ({...document.getElementById('map').dataset})"))

    def clips(self) -> dict[str, Any]:
        """The clip of B's pane and of A's tile pane, and where they should be."""
        return dict(
            self.page.evaluate(
                "() => { const m = window.chemearthMap, s = m.getSize();"
                " const nw = m.containerPointToLayerPoint([0, 0]);"
                " const se = m.containerPointToLayerPoint(s);"
                " const x = nw.x + Math.round(s.x * Number(m.getContainer().dataset.swipe));"
                " return { b: m.getPane('compare').style.clip, a: m.getPane('tilePane').style.clip,"
                " overlay: m.getPane('overlayPane').style.clip,"
                " wantB: `rect(${nw.y}px, ${se.x}px, ${se.y}px, ${x}px)`,"
                " wantA: `rect(${nw.y}px, ${x}px, ${se.y}px, ${nw.x}px)`, width: s.x }; }"
            )
        )

    def set_swipe(self, keys: list[str], share: float) -> None:
        self.page.focus("#compare-handle")
        for k in keys:
            self.page.keyboard.press(k)
        self.page.wait_for_function(
            "v => Number(document.getElementById('map').dataset.swipe) === v", arg=share
        )

    def map_pixels(self) -> Any:
        import numpy as np
        from PIL import Image

        png = self.page.locator("#map").screenshot()
        return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(np.int16)

    def point_of(self, lat: float, lon: float) -> tuple[float, float]:
        x, y = self.page.evaluate(
            "([lat, lon]) => { const p = window.chemearthMap.latLngToContainerPoint([lat, lon]);"
            " return [p.x, p.y]; }",
            [lat, lon],
        )
        return float(x), float(y)

    def popup_at(self, lat: float, lon: float, selector: str = ".cell-popup") -> Any:
        self.click_at(lat, lon)
        pop = self.page.locator(
            f".leaflet-popup .compare-popup {selector}:not(.cell-popup-loading)"
        )
        pop.wait_for()
        return pop


@contextlib.contextmanager
def compare_page(browser: Any, server: str, name: str, locale: str = "en-GB"
                 ) -> Iterator[Compare]:
    """A viewer page in a context of its own; at the end, no error in the page, and on a
    failure a screenshot ``compare-<name>-failure.png``."""
    context = browser.new_context(viewport={"width": 1366, "height": 850}, locale=locale)
    v = Compare(context.new_page(), server)
    try:
        yield v
        assert not v.errors, v.errors
    except Exception:
        with contextlib.suppress(Exception):
            v.shot(f"{name}-failure")
        raise
    finally:
        context.close()


def tiles_loaded(page: Any, pane: str, path: str) -> int:
    """Tiles of ``path`` loaded in a pane of the viewer's map."""
    return int(
        page.evaluate(
            "([pane, path]) => [...document.querySelectorAll(`#map .leaflet-${pane}-pane img`)]"
            ".filter(t => t.src.includes(path) && t.complete && t.naturalWidth > 0).length",
            [pane, path],
        )
    )


def common_cell(base: str, layers: dict[str, dict[str, Any]]) -> tuple[float, float, dict, dict]:
    """A point in a cell published in both layers with different medians, and each layer's
    /cell answer there."""
    import shapely.geometry

    a = layers["a"]
    fc = _api(
        base,
        f"/api/collections/{a['dataset']}.cells/items",
        element=a["element"],
        medium=a["medium"],
        method=a["method"],
        grid=GRID,
        level=level_label(LEVEL),
        limit=500,
    )
    for feat in sorted(fc["features"], key=lambda f: -f["properties"]["n"]):
        pt = shapely.geometry.shape(feat["geometry"]).representative_point()
        answers = []
        for lay in (layers["a"], layers["b"]):
            import httpx

            r = httpx.get(
                f"{base}/api/layers/{lay['dataset']}/{lay['element']}/cell",
                params={
                    "lon": pt.x,
                    "lat": pt.y,
                    "medium": lay["medium"],
                    "method": lay["method"],
                    "grid": GRID,
                    "level": level_label(LEVEL),
                },
                timeout=60,
            )
            answers.append(r.json() if r.status_code == 200 else None)
        ca, cb = answers
        if ca and cb and ca["median"] != cb["median"]:
            return float(pt.y), float(pt.x), ca, cb
    raise AssertionError("no cell published in both layers with different medians")


# ---------------------------------------------------------------------------- tests


def test_every_string_of_compare_js_exists() -> None:
    """Every key compare.js asks for is in both languages (its own file, or map.*)."""
    src = (STATIC / "compare.js").read_text(encoding="utf-8")
    keys = set(re.findall(r"\bt\('([a-z0-9_.]+)'", src))
    keys |= {f"change.class.{k}" for k in ("decrease", "none", "increase")}
    keys = {k for k in keys if not k.endswith(".")}  # t('field.' + k) and the like:
    rows = src.split("const rows = [", 1)[1].split("];", 1)[0]
    keys |= {f"field.{k}" for k in re.findall(r"\['(\w+)', ", rows)}
    keys |= {f"pairing.{k}" for k in ("sites", "independent")}
    assert len(keys) > 30
    for lang in ("en", "zh"):
        strings = {
            **json.loads((I18N / f"compare.{lang}.json").read_text(encoding="utf-8")),
            **json.loads((I18N / f"map.{lang}.json").read_text(encoding="utf-8")),
        }
        missing = sorted(
            k for k in keys if (k if k.startswith("map.") else f"compare.{k}") not in strings
        )
        assert not missing, (lang, missing)
    zh = json.loads((I18N / "compare.zh.json").read_text(encoding="utf-8"))
    assert all(re.search(r"[\u4e00-\u9fff]", v) for v in zh.values()), "a string left English"


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_swipe_shows_a_left_and_b_right(
    browser: Any, pooled_server: str, layers: dict[str, dict[str, Any]]
) -> None:
    import numpy as np

    with compare_page(browser, pooled_server, "swipe") as v:
        page = v.page
        v.open(viewer_url(pooled_server, layers["a"], layer_spec(layers["b"])))
        st = v.state()
        assert st["compare"] == "swipe"
        assert st["swipe"] == "0.5"
        assert st["compareKey"] == "layer|" + "|".join(
            [
                B["dataset"],
                B["element"],
                B["medium"],
                layers["b"]["method"],
                GRID,
                str(LEVEL),
                "median",
            ]
        )
        # the clip: B right of the divider, A (tiles and overlays) left of it
        c = v.clips()
        assert c["b"] == c["wantB"], c
        assert c["a"] == c["wantA"] == c["overlay"], c
        box = page.locator("#compare-divider").bounding_box()
        mbox = page.locator("#map").bounding_box()
        assert box["x"] + box["width"] / 2 - mbox["x"] == pytest.approx(c["width"] / 2, abs=1)
        # both layers' tiles loaded, each in its own pane
        assert tiles_loaded(page, "tile", f"/api/layers/{A['dataset']}/Ni/tiles/") > 0
        assert tiles_loaded(page, "compare", f"/api/layers/{B['dataset']}/Ni/tiles/") > 0
        assert tiles_loaded(page, "compare", f"/api/layers/{A['dataset']}/") == 0
        # each side's legend: A's classes on the left, B's on the right
        for side, sel in (("a", "#legend"), ("b", "#compare-legend")):
            lay = layers[side]
            lg = _api(
                pooled_server,
                f"/api/layers/{lay['dataset']}/Ni/legend",
                medium=lay["medium"],
                method=lay["method"],
                grid=GRID,
                level=level_label(LEVEL),
                stat="median",
            )
            assert page.locator(f"{sel} .swatch").count() == len(lg["classes"])
            assert "null" not in page.inner_text(sel)
        assert page.get_attribute("#legend", "data-caption").startswith("Left of the divider")
        assert page.get_attribute("#compare-legend", "data-caption").startswith(
            "Right of the divider"
        )
        assert page.locator("#map .leaflet-bottom.leaflet-left #legend").count() == 1
        assert page.locator("#map .leaflet-bottom.leaflet-right #compare-legend").count() == 1
        assert layers["b"]["title"] in page.inner_text("#compare-tag-b")
        v.shot("swipe")

        # pixels: the half-and-half picture is the all-A picture left of the divider and the
        # all-B picture right of it, where the two differ
        style = page.add_style_tag(content=HIDE_CONTROLS)
        v.set_swipe(["End"], 1)
        all_a = v.map_pixels()
        v.set_swipe(["Home"], 0)
        all_b = v.map_pixels()
        v.set_swipe(["PageUp"] * 5, 0.5)
        mixed = v.map_pixels()
        style.evaluate("s => s.remove()")
        x = round(all_a.shape[1] * 0.5)
        left, right = np.s_[:, : x - MARGIN], np.s_[:, x + MARGIN :]
        differ = (all_a != all_b).any(axis=2)
        assert differ[left].mean() > 0.02, "layers A and B look alike left of the divider"
        assert differ[right].mean() > 0.02, "layers A and B look alike right of the divider"
        assert (mixed[left] != all_a[left]).any(axis=2)[differ[left]].mean() < 0.001
        assert (mixed[right] != all_b[right]).any(axis=2)[differ[right]].mean() < 0.001


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_dragging_the_divider_moves_the_clip(
    browser: Any, pooled_server: str, layers: dict[str, dict[str, Any]]
) -> None:
    with compare_page(browser, pooled_server, "drag") as v:
        page = v.page
        v.open(viewer_url(pooled_server, layers["a"], layer_spec(layers["b"])))
        before = v.clips()
        centre = page.evaluate(
            "() => { const c = window.chemearthMap.getCenter(); return [c.lat, c.lng]; }"
        )
        mbox = page.locator("#map").bounding_box()
        hbox = page.locator("#compare-handle").bounding_box()
        hx, hy = hbox["x"] + hbox["width"] / 2, hbox["y"] + hbox["height"] / 2
        for target in (0.3, 0.8):
            page.mouse.move(hx, hy)
            page.mouse.down()
            hx = mbox["x"] + mbox["width"] * target
            page.mouse.move(hx, hy, steps=10)
            page.mouse.up()
            share = float(v.state()["swipe"])
            assert share == pytest.approx(target, abs=0.002)
            c = v.clips()
            assert c["b"] == c["wantB"], c
            assert c["a"] == c["wantA"], c
            assert c["b"] != before["b"]
            assert re.search(r"[#&]swipe=([\d.]+)", page.url).group(1) == str(share)
        # the drag moved the divider, not the map
        after = page.evaluate(
            "() => { const c = window.chemearthMap.getCenter(); return [c.lat, c.lng]; }"
        )
        assert after == pytest.approx(centre)
        v.set_swipe(["ArrowLeft"], round(share - 0.02, 3))
        assert v.clips()["b"] == v.clips()["wantB"]
        assert page.get_attribute("#compare-handle", "aria-valuenow") == str(
            round((share - 0.02) * 100)
        )


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_popup_of_each_side(
    browser: Any, pooled_server: str, layers: dict[str, dict[str, Any]]
) -> None:
    """One point, clicked left and then right of the divider: A's cell, then B's."""
    lat, lon, cell_a, cell_b = common_cell(pooled_server, layers)
    with compare_page(browser, pooled_server, "popup") as v:
        page = v.page
        v.open(
            viewer_url(
                pooled_server, layers["a"], layer_spec(layers["b"]), swipe=0.9, view=(lat, lon, 7)
            )
        )
        for side, cell, keys, share in (
            ("a", cell_a, [], 0.9),
            ("b", cell_b, ["Home", "PageUp"], 0.1),
        ):
            v.set_swipe(keys, share)
            x, _ = v.point_of(lat, lon)
            assert (x < v.clips()["width"] * share) == (side == "a")
            pop = v.popup_at(lat, lon)
            assert page.get_attribute(".leaflet-popup .compare-popup", "data-side") == side
            assert pop.get_attribute("data-cell-id") == cell["cell_id"]
            assert pop.locator(".cell-n-value").inner_text() == str(cell["n"])
            median = pop.locator("tr[data-stat='median'] td").get_attribute("data-value")
            assert float(median) == pytest.approx(cell["median"])
            head = page.inner_text(".leaflet-popup .compare-popup-side")
            assert head.startswith("Left" if side == "a" else "Right")
            assert layers[side]["title"] in head
            v.shot(f"popup-{side}")
        assert cell_a["median"] != cell_b["median"]


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize(
    ("layout", "kind", "swipe"),
    [
        ("swipe", "layer", 0.36),
        ("side", "layer", None),
        ("swipe", "change", 0.6),
    ],
)
def test_url_round_trips(
    browser: Any,
    pooled_server: str,
    layers: dict[str, dict[str, Any]],
    layout: str,
    kind: str,
    swipe: float | None,
) -> None:
    """The state made in the panel is in the URL, and the URL opens the same state."""
    context = browser.new_context(viewport={"width": 1366, "height": 850}, locale="en-GB")
    v = Compare(context.new_page(), pooled_server)
    page = v.page
    try:
        page.goto(viewer_url(pooled_server, layers["a"]))
        page.wait_for_selector("body[data-ready='1']")
        v.wait_layer()
        assert v.state()["compare"] == "off"
        assert "compare=" not in page.url
        page.check("#compare-on")
        v.wait_compare()
        v.select("#compare-layout", layout)
        if kind == "change":
            v.select("#compare-kind", "change")
            v.select("#compare-before", B["dataset"])
            v.select("#compare-after", A["dataset"])
            v.select("#compare-level", str(CHANGE_LEVEL))
        else:
            v.select("#compare-dataset", B["dataset"])
            v.select("#compare-stat", "p90")
        if swipe is not None:
            v.set_swipe(["Home"] + ["ArrowRight"] * round(swipe / 0.02), swipe)
        key = v.wait_compare()
        url = page.url
        hashed = dict(p.split("=", 1) for p in url.split("#", 1)[1].split("&"))
        assert hashed["layout"] == layout
        if kind == "change":
            assert hashed["compare"] == (
                f"change/{B['dataset']}/{A['dataset']}/Ni/{GRID}/{CHANGE_LEVEL}"
            )
        else:
            assert hashed["compare"].startswith(f"{B['dataset']}/Ni/")
            assert hashed["compare"].endswith("/p90")
        if swipe is not None:
            assert float(hashed["swipe"]) == swipe
        selects = {
            s: page.input_value(s)
            for s in ("#compare-layout", "#compare-kind", "#compare-element", "#compare-level")
        }
        state = v.state()

        v2 = Compare(context.new_page(), pooled_server)
        v2.open(url)
        assert v2.state()["compareKey"] == key
        assert v2.state()["compare"] == state["compare"] == layout
        assert v2.state().get("swipe") == state.get("swipe")
        assert v2.page.is_checked("#compare-on")
        for s, value in selects.items():
            assert v2.page.input_value(s) == value, s
        assert v2.page.url.split("#")[1] == url.split("#")[1]
        if layout == "side":
            assert v2.page.is_visible("#map-b")
            assert not v2.page.is_visible("#compare-divider")
        assert not v.errors, v.errors
        assert not v2.errors, v2.errors
    finally:
        context.close()


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_change_between_campaigns_beside_a_layer(
    browser: Any, pooled_server: str, layers: dict[str, dict[str, Any]]
) -> None:
    """Campaign A | change: the change layer in the same view, its legend counting the API's
    cells per class, and a changed cell's popup giving the API's change."""
    import shapely.geometry

    rows = _api(
        pooled_server,
        f"/api/assess/change/{B['dataset']}/Ni",
        against=A["dataset"],
        grid=GRID,
        level=level_label(CHANGE_LEVEL),
    )
    directions = {r["direction"] for r in rows}
    assert {"increase", "no significant change"} <= directions, directions
    chorizon = layers["b"]
    lookup = next(
        lay
        for lay in _api(pooled_server, "/api/layers")["layers"]
        if lay["dataset"] == B["dataset"]
        and lay["element"] == "Ni"
        and lay["method"] == rows[0]["method_before"]
    )
    cells = _api(
        pooled_server,
        f"/api/collections/{B['dataset']}.cells/items",
        element="Ni",
        medium=lookup["medium"],
        method=lookup["method"],
        grid=GRID,
        level=level_label(CHANGE_LEVEL),
        limit=500,
    )["features"]
    where = {f["properties"]["cell_id"]: f for f in cells}
    row = next(r for r in rows if r["direction"] == "increase" and r["cell_id"] in where)
    pt = shapely.geometry.shape(where[row["cell_id"]]["geometry"]).representative_point()
    lat, lon = float(pt.y), float(pt.x)

    with compare_page(browser, pooled_server, "change") as v:
        page = v.page
        spec = f"change/{B['dataset']}/{A['dataset']}/Ni/{GRID}/{CHANGE_LEVEL}"
        v.open(
            viewer_url(
                pooled_server, chorizon, spec, swipe=0.3, view=(lat, lon, 6), level=CHANGE_LEVEL
            )
        )
        assert v.state()["compareKey"] == "change|" + spec
        path = f"/tiles/assess/change/{B['dataset']}/Ni/"
        assert tiles_loaded(page, "compare", path) > 0
        assert tiles_loaded(page, "tile", f"/api/layers/{B['dataset']}/Ni/tiles/") > 0
        # its own legend: the classes and the API's count of each; A keeps its concentrations
        legend = page.locator("#compare-legend")
        names = legend.locator(".change-class").all_inner_texts()
        assert names == ["significant increase", "no significant change", "significant decrease"]
        for d in ("increase", "no significant change", "decrease"):
            n = legend.locator(f"tr[data-direction='{d}'] .legend-pct").inner_text()
            assert int(n) == sum(r["direction"] == d for r in rows), d
        cells_note = legend.locator(".change-cells")
        assert cells_note.get_attribute("data-n") == str(len(rows))
        assert "Ni per 80 km cell" in legend.inner_text()
        lg = _api(
            pooled_server,
            f"/api/layers/{B['dataset']}/Ni/legend",
            medium=B["medium"],
            method=chorizon["method"],
            grid=GRID,
            level=level_label(CHANGE_LEVEL),
        )
        assert page.locator("#legend .legend-classes .swatch").count() == len(lg["classes"])
        assert "mg/kg" in page.inner_text("#legend")
        v.shot("change")
        # the changed cell, right of the divider: the API's change
        pop = v.popup_at(lat, lon, ".change-popup")
        assert page.get_attribute(".leaflet-popup .compare-popup", "data-side") == "b"
        assert pop.get_attribute("data-cell-id") == row["cell_id"]
        assert pop.get_attribute("data-direction") == "increase"
        for k in ("median_before", "median_after", "change", "n_before", "n_after"):
            td = pop.locator(f"tr[data-field='{k}'] td")
            assert float(td.get_attribute("data-value")) == pytest.approx(row[k]), k
        assert "significant increase" in pop.inner_text()
        v.shot("change-popup")


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_side_by_side_maps_move_together(
    browser: Any, pooled_server: str, layers: dict[str, dict[str, Any]]
) -> None:
    lat, lon, cell_a, cell_b = common_cell(pooled_server, layers)
    with compare_page(browser, pooled_server, "side") as v:
        page = v.page
        v.open(
            viewer_url(
                pooled_server,
                layers["a"],
                layer_spec(layers["b"]),
                layout="side",
                view=(lat, lon, 7),
            )
        )
        assert page.is_visible("#map-b")
        assert not page.is_visible("#compare-divider")
        assert page.locator("#map-b #compare-legend").count() == 1
        assert v.clips()["b"] == ""
        assert v.clips()["a"] == ""
        assert (
            page.evaluate(
                "p => [...document.querySelectorAll('#map-b .leaflet-tile-pane img')]"
                ".filter(t => t.src.includes(p) && t.complete && t.naturalWidth > 0).length",
                f"/api/layers/{B['dataset']}/Ni/tiles/",
            )
            > 0
        )
        # the maps move together, whichever moves
        for mover, other in (
            ("chemearthMap", "chemearthCompareMap"),
            ("chemearthCompareMap", "chemearthMap"),
        ):
            page.evaluate(
                f"() => {{ window.{mover}.setView([69.1, 28.4], 8, {{animate: false}}); }}"
            )
            got = page.evaluate(
                f"() => {{ const m = window.{other}, c = m.getCenter();"
                " return [c.lat, c.lng, m.getZoom()]; }"
            )
            assert got == pytest.approx([69.1, 28.4, 8], abs=1e-4)
            page.evaluate(
                f"() => {{ window.{mover}.setView([{lat}, {lon}], 7, {{animate: false}}); }}"
            )
        v.wait_layer()
        v.wait_compare()
        # each map answers for its own layer
        bbox = page.locator("#map-b").bounding_box()
        x, y = page.evaluate(
            "([lat, lon]) => { const p = window.chemearthCompareMap"
            ".latLngToContainerPoint([lat, lon]); return [p.x, p.y]; }",
            [lat, lon],
        )
        page.mouse.click(bbox["x"] + x, bbox["y"] + y)
        pop = page.locator("#map-b .leaflet-popup .cell-popup:not(.cell-popup-loading)")
        pop.wait_for()
        assert pop.get_attribute("data-cell-id") == cell_b["cell_id"]
        value = pop.locator("tr[data-stat='median'] td").get_attribute("data-value")
        assert float(value) == pytest.approx(cell_b["median"])
        assert page.inner_text("#map-b .compare-popup-side").startswith("Right map")
        page.evaluate("() => { window.chemearthCompareMap.closePopup(); }")
        # the right popup's auto-pan may still be moving both maps: stop it and put the
        # view back before clicking the left map (else the click can land a cell away)
        page.evaluate(
            "([lat, lon]) => { window.chemearthCompareMap.stop(); window.chemearthMap.stop();"
            " window.chemearthMap.setView([lat, lon], 7, {animate: false}); }",
            [lat, lon],
        )
        page.wait_for_function(
            "([lat, lon]) => [window.chemearthMap, window.chemearthCompareMap].every(m => {"
            " const c = m.getCenter(); return Math.abs(c.lat - lat) < 1e-6"
            " && Math.abs(c.lng - lon) < 1e-6 && m.getZoom() === 7; })",
            arg=[lat, lon],
        )
        v.click_at(lat, lon)
        pop = page.locator("#map .leaflet-popup .cell-popup:not(.cell-popup-loading)")
        pop.wait_for()
        value = pop.locator("tr[data-stat='median'] td").get_attribute("data-value")
        assert float(value) == pytest.approx(cell_a["median"])
        v.shot("side")


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_compare_in_chinese_with_a_pooled_layer(
    browser: Any, pooled_server: str, layers: dict[str, dict[str, Any]]
) -> None:
    zh = json.loads((I18N / "compare.zh.json").read_text(encoding="utf-8"))
    zh_map = json.loads((I18N / "map.zh.json").read_text(encoding="utf-8"))
    pooled = next(
        lay
        for lay in _api(pooled_server, "/api/layers")["layers"]
        if lay["dataset"] == "pooled:public"
        and lay["element"] == "Ni"
        and lay["medium"] == "subsoil"
    )
    with compare_page(browser, pooled_server, "zh", locale="zh-CN") as v:
        page = v.page
        v.open(viewer_url(pooled_server, layers["a"], layer_spec(pooled), lang="zh"))
        assert page.get_attribute("html", "lang") == "zh-CN"
        assert v.state()["compareKey"].startswith("layer|pooled:public|Ni|")
        assert page.inner_text("#compare-title") == zh["compare.title"]
        assert page.inner_text("label[for='compare-on']").strip() == zh["compare.toggle"]
        assert page.inner_text("label[for='compare-layout']") == zh["compare.layout"]
        assert (
            page.locator("#compare-layout option:checked").inner_text()
            == zh["compare.layout.swipe"]
        )
        assert (
            page.locator("#compare-dataset option:checked").inner_text()
            == zh_map["map.dataset.pooled_public"]
        )
        assert page.get_attribute("#compare-legend", "data-caption").startswith(zh["compare.right"])
        assert page.get_attribute("#compare-handle", "aria-label") == zh["compare.divider"]
        assert zh_map["map.stat.median"] in page.inner_text("#compare-legend")
        v.shot("zh")
