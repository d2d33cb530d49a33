"""The analytics overlays of the map viewer, in a real browser, against the API's answers.

Over ``chemearth serve`` on the grid store, the Kola humus nickel layer on its default grid
(Europe, 40 km cells). Each overlay of the "Analytics" section in turn: its legend must list
every class the API answers with the API's counts (zones and their cells, the number of
anomalous elements, the probability bands with the stated p_lo/p_hi, the change directions,
the factor-score classes, the outlier classes, the S-A anomaly classes and the singularity
classes), and a click on one cell or sample must
open a popup whose fields are that record's. The Chinese page shows the same classes by
their Chinese names (the page rule itself is walked in ``test_chinese_pages.py``).
Screenshots: ``test-artifacts/analytics-*.png``.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pytest
import shapely
from tests.web.test_browser import ARTIFACTS, js_fmt
from tests.web.viewer_page import ViewerPage, api_json

from chemearth.web.i18n import strings

DATASET, ELEMENT, MEDIUM, AGAINST = "kola-humus", "Ni", "humus", "kola-chorizon"
GRID, LEVEL = "europe", "40km"
ELEMENTS = "Ni,Cu,Co,Pb,Zn,Cr"  # the viewer's default set for Kola humus nickel
API = "/api/analytics"


class Page(ViewerPage):
    """The viewer on the Kola humus nickel layer."""

    def __init__(self, browser: Any, base: str, lang: str) -> None:
        super().__init__(browser, base, lang, f"dataset={DATASET}&element={ELEMENT}"
                         f"&medium={MEDIUM}&grid={GRID}&level=40000&lat=68.5&lon=31&zoom=6")
        self.page.wait_for_function(
            "() => document.querySelectorAll('#sel-an-against option').length > 1")

    def overlay(self, kind: str, against: str | None = None) -> None:
        self.page.select_option("#sel-analytics", kind)
        if against:
            self.page.select_option("#sel-an-against", against)
        self.page.wait_for_function(
            "k => document.getElementById('map').dataset.analytics === k"
            " && document.getElementById('analytics-map-legend').dataset.kind === k", arg=kind)

    def legend(self) -> dict[str, tuple[int, str]]:
        """The legend's classes: class -> (count, text)."""
        items = self.page.eval_on_selector_all(
            "#analytics-legend li", "els => els.map(e => [e.dataset.class, Number(e.dataset.n),"
            " e.innerText.trim()])")
        return {c: (n, text) for c, n, text in items}

    def popup_at(self, lat: float, lon: float, zoom: int) -> dict[str, str]:
        """Click the map at a place; the popup's id and fields (field -> raw value)."""
        self.click_at(lat, lon, zoom)
        pop = self.page.locator(".leaflet-popup .analytics-popup")
        pop.wait_for()
        out = dict(self.page.eval_on_selector_all(
            ".leaflet-popup .analytics-popup tr", "els => els.map(e => [e.dataset.field,"
            " e.dataset.value])"))
        out["_id"] = pop.get_attribute("data-id") or ""
        out["_text"] = pop.inner_text()
        return out

    def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.wait_for_timeout(300)
        self.page.screenshot(path=str(ARTIFACTS / f"analytics-{name}.png"))


def _same(shown: dict[str, str], record: dict[str, Any], keys: list[str]) -> None:
    for k in keys:
        want = record[k]
        if isinstance(want, float):
            assert float(shown[k]) == pytest.approx(want), k
        elif isinstance(want, bool):
            assert shown[k] == str(want).lower(), k
        else:
            assert shown[k] == str(want), k


def _inside(feature: dict[str, Any]) -> tuple[float, float]:
    """A point inside a feature's polygon (lat, lon)."""
    p = shapely.geometry.shape(feature["geometry"]).representative_point()
    return p.y, p.x


def _isolated(fc: dict[str, Any]) -> dict[str, Any]:
    """The sample point farthest from its nearest neighbour (one click hits it alone)."""
    xy = np.array([f["geometry"]["coordinates"] for f in fc["features"]])
    xy = xy * [np.cos(np.radians(xy[:, 1].mean())), 1.0]
    d = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    np.fill_diagonal(d, np.inf)
    return dict(fc["features"][int(np.argmax(d.min(axis=1)))])


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_analytics_overlays_agree_with_the_api(browser: Any, live_server: str) -> None:
    base = live_server
    v = Page(browser, base, "en")
    words = strings("en")
    try:
        q = {"grid": GRID, "level": LEVEL}
        # fractal anomaly zones: three classes with their cells; the threshold and its source
        zones = api_json(base, f"{API}/fractal/{DATASET}/{ELEMENT}/zones", **q)
        v.overlay("zones")
        shown = v.legend()
        assert list(shown) == zones["zone_names"]
        cells = {f["properties"]["name"]: f["properties"]["n_cells"] for f in zones["features"]}
        assert {k: n for k, (n, _) in shown.items()} == {z: cells.get(z, 0)
                                                        for z in zones["zone_names"]}
        note = v.page.inner_text("#analytics-legend-extra")
        i, n = zones["threshold_source"].removeprefix("C-A breakpoint ").split(" of ")
        assert f"{js_fmt(zones['threshold'])} {zones['unit']}" in note
        assert f"C-A breakpoint {i} of {n}" in note
        inner = max(zones["features"], key=lambda f: f["properties"]["zone"])
        pop = v.popup_at(*_inside(inner), 7)
        _same(pop, inner["properties"], ["name", "lower", "n_cells", "area_km2"])
        v.shot("zones")

        # composite anomaly: every count of anomalous elements, the elements used
        comp = api_json(base, f"{API}/composite/{DATASET}", elements=ELEMENTS, **q)
        v.overlay("composite")
        shown = v.legend()
        k = len(comp["elements"])
        by_zone = {f["properties"]["zone"]: f["properties"]["n_cells"] for f in comp["features"]}
        assert {int(c): n for c, (n, _) in shown.items()} == {z: by_zone.get(z, 0)
                                                              for z in range(1, k + 1)}
        assert shown["1"][1].startswith(f"1 of {k} elements anomalous")
        assert v.page.inner_text("#analytics-note") == "Elements: " + ", ".join(comp["elements"])
        top = max(comp["features"], key=lambda f: f["properties"]["zone"])
        pop = v.popup_at(*_inside(top), 7)
        _same(pop, top["properties"], ["zone", "n_cells", "area_km2"])

        # probability of exceeding the standard: bands with p_lo, p_hi and their cells
        prob = api_json(base, f"{API}/probability/{DATASET}/{ELEMENT}", f="geojson", **q)
        v.overlay("probability")
        shown = v.legend()
        assert {b: n for b, (n, _) in shown.items()} == {c["band"]: c["n"]
                                                         for c in prob["counts"]}
        assert shown["probably above"][1].startswith(f"Probably above: P ≥ {prob['p_hi']}")
        assert shown["probably below"][1].startswith(f"Probably below: P ≤ {prob['p_lo']}")
        assert Counter(f["properties"]["band"] for f in prob["features"]) == Counter(
            {c["band"]: c["n"] for c in prob["counts"] if c["n"]})
        prec = v.page.get_attribute("#analytics-legend-extra [data-precision]", "data-precision")
        assert prec == prob["precision_source"]
        cell = max(prob["features"], key=lambda f: f["properties"]["probability"])["properties"]
        pop = v.popup_at(cell["latitude"], cell["longitude"], 8)
        assert pop["_id"] == cell["cell_id"]
        _same(pop, cell, ["band", "probability", "estimate", "limit", "on_sample"])
        assert words["analytics.band.probably above"] in pop["_text"]
        v.shot("probability")

        # robust factor scores: five classes whose counts are the API's scores classed
        fc = api_json(base, f"{API}/compositional/{DATASET}", f="geojson", elements=ELEMENTS,
                  factors=3, limit=10_000)
        v.overlay("factors")
        scores = np.array([f["properties"]["F1"] for f in fc["features"]])
        want = np.bincount(np.searchsorted([-1.5, -0.5, 0.5, 1.5], scores, side="left"),
                           minlength=5)
        shown = v.legend()
        assert [shown[str(i)][0] for i in range(5)] == want.tolist()
        assert v.page.eval_on_selector_all(
            "#sel-an-factor option", "os => os.map(o => o.value)") == fc["factors"]["factors"]
        sample = _isolated(fc)
        lon, lat = sample["geometry"]["coordinates"]
        pop = v.popup_at(lat, lon, 7)
        assert pop["_id"] == sample["properties"]["sample_id"]
        _same(pop, sample["properties"], ["F1", "F2", "robust_distance", "outlier"])
        v.page.select_option("#sel-an-factor", "F2")  # another factor of the same answer
        v.page.wait_for_function("() => document.getElementById('analytics-legend-title')"
                                 ".textContent.includes('F2')")
        v.shot("factors")

        # multivariate outliers: the flag, and twice the cut-off
        v.overlay("outliers")
        cut = fc["cutoff"]
        flags = [(f["properties"]["outlier"], f["properties"]["robust_distance"])
                 for f in fc["features"]]
        shown = v.legend()
        assert shown["inlier"][0] == sum(not o for o, _ in flags)
        assert shown["outlier"][0] + shown["strong"][0] == fc["n_outliers"]
        assert shown["strong"][0] == sum(o and d > 2 * cut for o, d in flags)
        assert float(v.page.get_attribute("#analytics-legend-extra [data-cutoff]",
                                          "data-cutoff")) == pytest.approx(cut)
        pop = v.popup_at(lat, lon, 7)
        _same(pop, sample["properties"], ["robust_distance", "outlier"])
        v.shot("outliers")

        # change significance against the C-horizon campaign: all four directions
        ch = api_json(base, f"{API}/change-significance/{DATASET}/{ELEMENT}", against=AGAINST,
                  grid=GRID, level="20km", f="geojson")
        v.overlay("change", against=AGAINST)
        shown = v.legend()
        assert list(shown) == ["increase", "decrease", "no significant change", "too few pairs"]
        assert {d: n for d, (n, _) in shown.items()} == {
            d: ch["counts"].get(d, 0) for d in shown}
        assert f"α = {ch['alpha']}" in v.page.inner_text("#analytics-legend-extra")
        one = ch["features"][len(ch["features"]) // 2]
        c = shapely.geometry.shape(one["geometry"]).centroid
        pop = v.popup_at(c.y, c.x, 8)
        assert pop["_id"] == one["properties"]["cell_id"]
        _same(pop, one["properties"], ["direction", "n_pairs", "test"])
        v.shot("change")

        # S-A anomaly: five classes at steps of the anomaly's root mean square around 0
        sa = api_json(base, f"{API}/spectrum-area/{DATASET}/{ELEMENT}", f="geojson", **q)
        v.overlay("sa")
        anomaly = np.array([f["properties"]["anomaly"] for f in sa["features"]], float)
        rms = float(np.sqrt(np.mean(anomaly ** 2)))
        want = np.bincount(np.searchsorted(np.array([-1.5, -0.5, 0.5, 1.5]) * rms, anomaly,
                                           side="right"), minlength=5)
        shown = v.legend()
        assert [shown[str(i)][0] for i in range(5)] == want.tolist()
        extra = "#analytics-legend-extra [data-energy]"
        assert float(v.page.get_attribute(extra, "data-energy")) == pytest.approx(
            sa["energy_threshold"])
        assert float(v.page.get_attribute(extra, "data-rms")) == pytest.approx(rms)
        top = max(sa["features"], key=lambda f: f["properties"]["anomaly"])
        pop = v.popup_at(*_inside(top), 8)
        assert pop["_id"] == top["properties"]["cell_id"]
        _same(pop, top["properties"], ["value", "anomaly", "background", "censored", "n"])
        v.shot("sa")

        # local singularity: six classes of alpha around 2, and the cells without one
        si = api_json(base, f"{API}/singularity/{DATASET}/{ELEMENT}", f="geojson", **q)
        v.overlay("singularity")
        alpha = np.array([f["properties"]["alpha"] if f["properties"]["alpha"] is not None
                          else np.nan for f in si["features"]], float)
        fin = alpha[np.isfinite(alpha)]
        want = np.bincount(np.searchsorted([1.8, 1.9, 2.0, 2.1, 2.2], fin, side="right"),
                           minlength=6)
        shown = v.legend()
        assert [shown[str(i)][0] for i in range(6)] == want.tolist()
        assert shown["undefined"][0] == int(np.isnan(alpha).sum())
        assert f"({si['counts']['enrichment']} cells)" in v.page.inner_text(
            "#analytics-legend-extra")
        low = min((f for f in si["features"] if f["properties"]["alpha"] is not None),
                  key=lambda f: f["properties"]["alpha"])
        pop = v.popup_at(*_inside(low), 8)
        assert pop["_id"] == low["properties"]["cell_id"]
        _same(pop, low["properties"], ["value", "alpha", "se"])
        v.shot("singularity")

        # one overlay at a time: an assessment overlay puts the analytics one away
        v.page.select_option("#sel-assess", "anomalies")
        v.page.wait_for_function("() => document.getElementById('map').dataset.analytics === ''")
        assert v.page.input_value("#sel-analytics") == ""
        assert not v.page.is_visible("#analytics-map-legend")
        assert not v.errors, v.errors
    finally:
        v.context.close()


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_analytics_legends_in_chinese(browser: Any, live_server: str) -> None:
    """The classes by their Chinese names (the answers are cached by the test above)."""
    zh = strings("zh")
    v = Page(browser, live_server, "zh")
    try:
        v.overlay("probability")
        texts = [text for _, text in v.legend().values()]
        for band, text in zip(("probably above", "uncertain", "probably below"), texts,
                              strict=True):
            assert text.startswith(zh[f"analytics.band_range.{band}"].split("：")[0])
        v.overlay("outliers")
        assert v.page.inner_text("#analytics-legend-title").startswith("6 个组分")
        assert not v.errors, v.errors
    finally:
        v.context.close()
