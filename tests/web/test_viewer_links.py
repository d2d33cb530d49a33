"""Links that name a dataset open that dataset, in a real browser (Debian's chromium).

Over ``chemearth serve`` with pooled layers (the viewer then opens on "All surveys", and a
link naming only a dataset used to open another one). Each link form, in the query or the
hash, with or without an element, opens the named dataset with its first sensible element
(the viewer's common elements first), its own medium and method, and the layer's default
grid and level from ``/api/layers`` — the European grid for the Kola surveys, whose global
cells at 68–70° N are 6:1 strips. The dataset selector brings the new dataset's default grid
too. A screenshot goes to ``test-artifacts/link-dataset-only.png``.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from tests.web.test_browser import ARTIFACTS, TIMEOUT_MS

#: The viewer's common elements (app.js DEFAULT_ELEMENTS), in order.
DEFAULT_ELEMENTS = ("Pb", "Cu", "Zn", "As")

#: link -> (dataset, element or None for "the dataset's first sensible one")
LINKS = {
    "/?lang=en#dataset=kola-humus&element=Ni": ("kola-humus", "Ni"),
    "/?lang=en&dataset=kola-humus": ("kola-humus", None),
    "/?lang=en#dataset=kola-humus": ("kola-humus", None),
    "/?lang=en&dataset=kola-chorizon&element=Cr": ("kola-chorizon", "Cr"),
    "/?lang=en#dataset=usgs-ds801-top5&element=As": ("usgs-ds801-top5", "As"),
    "/?lang=en#dataset=meuse": ("meuse", None),
}


@pytest.fixture(scope="module")
def layers(pooled_server: str) -> list[dict[str, Any]]:
    r = httpx.get(pooled_server + "/api/layers", timeout=120)
    assert r.status_code == 200
    return list(r.json()["layers"])


def expected_key(layers: list[dict[str, Any]], dataset: str, element: str | None) -> str:
    """The layer key (app.js ``layerKey``) a link to ``dataset`` (and ``element``) opens."""
    own = [x for x in layers if x["dataset"] == dataset]
    assert own, f"{dataset} is not in /api/layers"
    if element is None:
        held = [x["element"] for x in own]
        element = next((e for e in DEFAULT_ELEMENTS if e in held), own[0]["element"])
    lay = next(x for x in own if x["element"] == element)  # its first medium and method
    return "|".join([dataset, element, lay["medium"], lay["method"], lay["default_grid"],
                     str(lay["default_level"]), "median"])


class Page:
    """A viewer page that records script errors and failed requests."""

    def __init__(self, browser: Any, base: str) -> None:
        self.context = browser.new_context(viewport={"width": 1280, "height": 820},
                                           locale="en-GB")
        self.page = self.context.new_page()
        self.page.set_default_timeout(TIMEOUT_MS)
        self.base = base
        self.errors: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        self.page.on("response", lambda r: self.errors.append(f"HTTP {r.status}: {r.url}")
                     if r.status >= 400 and not r.url.split("?")[0].endswith(
                         ("/favicon.ico", "/cell")) else None)

    def open(self, link: str) -> str:
        self.page.goto(self.base + link)
        self.page.wait_for_selector("body[data-ready='1']")
        return self.wait_layer()

    def wait_layer(self) -> str:
        self.page.wait_for_function(
            "() => { const m = document.getElementById('map');"
            " return m.dataset.layer && m.dataset.loaded === m.dataset.layer"
            " && m.dataset.tiles === 'loaded'; }")
        return str(self.page.get_attribute("#map", "data-layer"))

    def close(self) -> None:
        self.context.close()


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_each_link_form_opens_the_named_dataset(
    browser: Any, pooled_server: str, layers: list[dict[str, Any]]
) -> None:
    assert any(x["dataset"] == "pooled:public" for x in layers)  # the map opens on the world
    v = Page(browser, pooled_server)
    try:
        assert v.open("/?lang=en").startswith("pooled:public|")
        for link, (dataset, element) in LINKS.items():
            key = v.open(link)
            assert key == expected_key(layers, dataset, element), link
            assert v.page.input_value("#sel-dataset") == dataset
            assert f"dataset={dataset}" in v.page.url  # the URL now names the whole layer
            if link == "/?lang=en&dataset=kola-humus":
                ARTIFACTS.mkdir(exist_ok=True)
                v.page.screenshot(path=str(ARTIFACTS / "link-dataset-only.png"))
        assert not v.errors, v.errors
    finally:
        v.close()


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_link_followed_in_an_open_viewer_and_an_unknown_dataset(
    browser: Any, pooled_server: str, layers: list[dict[str, Any]]
) -> None:
    v = Page(browser, pooled_server)
    try:
        v.open("/?lang=en")
        v.page.evaluate("() => { window.location.hash = 'dataset=kola-chorizon'; }")
        v.page.wait_for_function(
            "() => document.getElementById('map').dataset.layer.startsWith('kola-chorizon|')")
        assert v.wait_layer() == expected_key(layers, "kola-chorizon", None)
        # followed in the open viewer, a dataset that is not shown: said so, nothing changes
        v.page.evaluate("() => { window.location.hash = 'dataset=no-such-dataset'; }")
        v.page.wait_for_function(
            "() => document.getElementById('status').textContent.includes('no-such-dataset')")
        assert v.wait_layer() == expected_key(layers, "kola-chorizon", None)
        # opened with it: said so, and the usual world map
        key = v.open("/?lang=en&from=elsewhere#dataset=no-such-dataset")  # a new document
        assert key.startswith("pooled:public|")
        assert "no-such-dataset" in v.page.inner_text("#status")
        assert not v.errors, v.errors
    finally:
        v.close()


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_choosing_a_dataset_brings_its_default_grid(
    browser: Any, pooled_server: str, layers: list[dict[str, Any]]
) -> None:
    """From the world map (global grid) to the Kola humus survey in the selector: the
    survey's layer opens on its default grid (European), not on the global grid's strips;
    back to the world map: the global grid, and the medium group of the survey's medium."""
    kola = [x for x in layers if x["dataset"] == "kola-humus" and x["element"] == "Pb"]
    assert kola
    assert kola[0]["default_grid"] == "europe"
    v = Page(browser, pooled_server)
    try:
        start = v.open("/?lang=en#dataset=pooled:public&element=Pb&medium=humus")
        assert start.split("|")[4] == "global"
        v.page.select_option("#sel-dataset", "kola-humus")
        v.page.wait_for_function(
            "() => document.getElementById('map').dataset.layer.startsWith('kola-humus|')")
        assert v.wait_layer().split("|")[4] == "europe"
        assert v.page.input_value("#sel-grid") == "europe"
        v.page.select_option("#sel-grid", "global")  # the user's choice is kept
        assert v.wait_layer().split("|")[4] == "global"
        v.page.select_option("#sel-dataset", "pooled:public")
        v.page.wait_for_function(
            "() => document.getElementById('map').dataset.layer.startsWith('pooled:public|')")
        assert v.wait_layer().split("|")[4] == "global"
        # from the C-horizon survey to the world map: the medium group it belongs to
        v.open("/?lang=en&from=chorizon#dataset=kola-chorizon&element=Ni")
        v.page.select_option("#sel-dataset", "pooled:public")
        v.page.wait_for_function(
            "() => document.getElementById('map').dataset.layer.startsWith('pooled:public|')")
        assert v.wait_layer().split("|")[1:3] == ["Ni", "subsoil"]
        assert not v.errors, v.errors
    finally:
        v.close()
