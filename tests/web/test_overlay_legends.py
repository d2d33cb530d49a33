"""The assessment overlays' own legends and the screened cell's popup, in a real browser.

Over ``chemearth serve`` on the grid store, the Kola humus nickel layer (Nikel and
Monchegorsk make some of the highest soil nickel in Europe, so its cells exceed the GB
15618-2018 screening value). With an overlay shown, the concentration legend gives way to
the overlay's: the screening classes with their colours and the standard's limits per soil
pH band, the change classes, the anomaly targets' ranks and threshold; a click on a screened
cell shows its class, its limits and how far they are exceeded (as the API says), not the
layer's concentrations. Screenshots: ``test-artifacts/overlay-*.png``.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest
from tests.web.test_browser import ARTIFACTS
from tests.web.viewer_page import ViewerPage, api_json

from chemearth.web.i18n import strings

DATASET, ELEMENT, MEDIUM = "kola-humus", "Ni", "humus"
STANDARD = "gb15618-2018"
_api = partial(api_json, timeout=120)


class Viewer(ViewerPage):
    """The viewer on the Kola humus nickel layer, with its overlay controls."""

    IGNORED = ("/favicon.ico", "/cell")

    def __init__(self, browser: Any, base: str, lang: str) -> None:
        super().__init__(browser, base, lang, f"dataset={DATASET}&element={ELEMENT}"
                         f"&medium={MEDIUM}&lat=68.5&lon=31&zoom=6")
        self.page.wait_for_function(
            "() => { const m = document.getElementById('map');"
            " return m.dataset.layer && m.dataset.loaded === m.dataset.layer; }")
        self.page.wait_for_function("() => document.querySelectorAll('#sel-standard option')"
                                    ".length > 0")

    def overlay(self, kind: str, **choose: str) -> None:
        """Show overlay ``kind`` with its options (``choose``: select id suffix -> value)."""
        self.page.select_option("#sel-assess", kind)
        for sel, value in choose.items():  # the overlay's own fields show with it
            self.page.select_option(f"#sel-{sel}", value)
        self.page.wait_for_function(
            "k => document.getElementById('map').dataset.assess === k"
            " && document.getElementById('assess-map-legend').dataset.kind === k", arg=kind)

    def visible(self, selector: str) -> bool:
        return bool(self.page.is_visible(selector))

    def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.wait_for_timeout(350)  # popups fade in
        self.page.screenshot(path=str(ARTIFACTS / f"overlay-{name}.png"))


def _exceeding_cell(base: str, grid: str, level: str) -> dict[str, Any]:
    """The screened cell with the most samples above the screening value, and its centre."""
    from chemearth.grid.geometry import get_grid

    rows = _api(base, f"/api/assess/screening/{DATASET}", by="cell", elements=ELEMENT,
                standard=STANDARD, grid=grid, level=level)["rows"]
    cell = max(rows, key=lambda r: (r["n_above_screening"], r["n"]))
    assert cell["n_above_screening"] > 0, "no Kola humus cell exceeds the screening value"
    g = get_grid(grid)
    lon, lat = g.cell_centres(g.id_to_key([cell["cell_id"]]))
    return {**cell, "lon": float(lon[0]), "lat": float(lat[0])}


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_screening_legend_and_a_screened_cells_popup(
    browser: Any, live_server: str, lang: str
) -> None:
    words = strings(lang)
    v = Viewer(browser, live_server, lang)
    try:
        assert v.visible("#legend")  # the concentration legend, before any overlay
        assert not v.visible("#assess-map-legend")
        v.overlay("screening", standard=STANDARD)
        # the overlay's legend replaces the concentration legend
        assert v.visible("#assess-map-legend")
        assert not v.visible("#legend")
        std = _api(live_server, f"/api/standards/{STANDARD}")
        names = [n.strip() for n in v.page.locator("#assess-legend li").all_inner_texts()]
        assert names == (std["classes_zh"] if lang == "zh" else std["classes"])
        colours = v.page.eval_on_selector_all(
            "#assess-legend li .swatch", "els => els.map(e => getComputedStyle(e).backgroundColor)")
        assert len(set(colours)) == len(names)
        # the standard's limits of nickel per pH band, as the standard holds them
        row = next(r for r in std["limits"] if (r["element"], r["level"], r["land_use"])
                   == (ELEMENT, "screening", std["default_land_use"]))
        shown = v.page.eval_on_selector_all(
            ".assess-limits td[data-level='screening']", "els => els.map(e => e.dataset.value)")
        assert [float(x) for x in shown] == row["limits"]
        assert words["fixes.assess.level.screening"] in v.page.inner_text("#assess-map-legend")
        v.shot(f"screening-legend-{lang}")

        # a click on the cell that exceeds most: class, limit and exceedance, not values
        grid = v.page.input_value("#sel-grid") or "global"
        level = v.page.input_value("#sel-level")
        cell = _exceeding_cell(live_server, grid, level)
        api = _api(live_server, f"/api/assess/screening/{DATASET}/{ELEMENT}/cell",
                   lon=cell["lon"], lat=cell["lat"], standard=STANDARD, grid=grid, level=level)
        v.click_at(cell["lat"], cell["lon"])
        pop = v.page.locator(".leaflet-popup .screen-popup")
        pop.wait_for()
        assert pop.get_attribute("data-cell-id") == cell["cell_id"] == api["cell_id"]
        assert pop.get_attribute("data-class") == str(api["class"]["index"])
        text = pop.inner_text()
        assert (api["class"]["name_zh"] if lang == "zh" else api["class"]["name"]) in text
        screening = next(x for x in api["levels"] if x["level"] == "screening")
        assert f"{screening['limit_min']:g}" in text
        above = pop.locator(".screen-level[data-level='screening'] .screen-above")
        assert above.get_attribute("data-n-above") == str(cell["n_above_screening"])
        ratio = pop.locator(".screen-level[data-level='screening'] .screen-ratio")
        assert float(ratio.get_attribute("data-ratio")) == pytest.approx(screening["ratio_max"])
        assert screening["ratio_max"] > 1
        assert v.page.locator(".leaflet-popup .cell-stats [data-stat='median']").count() == 0
        v.shot(f"screening-popup-{lang}")

        # no overlay: the concentration legend and popups are back
        v.page.select_option("#sel-assess", "")
        v.page.wait_for_function("() => document.getElementById('map').dataset.assess === ''")
        assert v.visible("#legend")
        assert not v.visible("#assess-map-legend")
        assert not v.errors, v.errors
    finally:
        v.context.close()


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_anomaly_change_and_block_legends(browser: Any, live_server: str) -> None:
    v = Viewer(browser, live_server, "en")
    try:
        targets = _api(live_server, f"/api/assess/anomalies/{DATASET}/{ELEMENT}",
                       threshold="p95")
        v.overlay("anomalies", threshold="p95")
        v.page.wait_for_function(
            "n => document.querySelectorAll('#assess-legend li[data-rank]').length === n",
            arg=min(max(f["properties"]["rank"] for f in targets["features"]), 6))
        assert not v.visible("#legend")
        legend = v.page.inner_text("#assess-map-legend")
        assert "Anomaly targets of Ni" in legend
        assert "rank 1" in legend
        assert f"{targets['threshold']:.3g}" in legend
        v.shot("anomalies-legend")

        v.overlay("change", against="kola-chorizon")
        assert v.page.locator("#assess-legend li").count() == 3
        assert "kola-chorizon" in v.page.inner_text("#assess-legend-title")
        assert not v.visible("#legend")
        v.shot("change-legend")

        blocks = _api(live_server, f"/api/assess/blocks/{DATASET}/{ELEMENT}")
        v.overlay("blocks")
        thresholds = sorted({f["properties"]["threshold"] for f in blocks["features"]})
        shown = v.page.eval_on_selector_all("#assess-legend li[data-threshold]",
                                            "els => els.map(e => Number(e.dataset.threshold))")
        assert sorted(shown) == pytest.approx(thresholds)
        assert not v.errors, v.errors
    finally:
        v.context.close()
