"""The map viewer in chromium, as the browser tests of its overlays drive it.

:class:`ViewerPage` opens the viewer on a ``#`` fragment in a fresh browser context, in
English or Chinese, collects the page's script errors and the HTTP errors of its requests,
and clicks the map at a place; :func:`api_json` reads the API the page reads.
"""

from __future__ import annotations

from typing import Any

import httpx
from tests.web.test_browser import TIMEOUT_MS


def api_json(base: str, path: str, *, timeout: float = 180, **params: Any) -> Any:
    """The JSON answer of a GET that must succeed."""
    r = httpx.get(base + path, params=params, timeout=timeout)
    assert r.status_code == 200, (path, r.text[:300])
    return r.json()


class ViewerPage:
    """The viewer at ``base/?lang=lang#fragment``, ready (``body[data-ready='1']``).

    ``errors`` collects script errors and the answers of 400 or more, except for URLs
    whose path ends with one of :attr:`IGNORED`.
    """

    IGNORED: tuple[str, ...] = ("/favicon.ico",)

    def __init__(self, browser: Any, base: str, lang: str, fragment: str) -> None:
        self.context = browser.new_context(viewport={"width": 1366, "height": 850},
                                           locale="zh-CN" if lang == "zh" else "en-GB")
        self.page = self.context.new_page()
        self.page.set_default_timeout(TIMEOUT_MS)
        self.errors: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        self.page.on("response", lambda r: self.errors.append(f"HTTP {r.status}: {r.url}")
                     if r.status >= 400 and not r.url.split("?")[0].endswith(self.IGNORED)
                     else None)
        self.page.goto(f"{base}/?lang={lang}#{fragment}")
        self.page.wait_for_selector("body[data-ready='1']")

    def click_at(self, lat: float, lon: float, zoom: int = 8) -> None:
        """Centre the map on a place at ``zoom`` with no popup open, and click there."""
        self.page.evaluate("([lat, lon, z]) => { window.chemearthMap.closePopup();"
                           " window.chemearthMap.setView([lat, lon], z, {animate: false}); }",
                           [lat, lon, zoom])
        # a closed popup fades out for 200 ms before it leaves the page
        self.page.wait_for_function("() => !document.querySelector('.leaflet-popup')")
        x, y = self.page.evaluate(
            "([lat, lon]) => { const p = window.chemearthMap.latLngToContainerPoint([lat, lon]);"
            " return [p.x, p.y]; }", [lat, lon])
        box = self.page.locator("#map").bounding_box()
        self.page.mouse.click(box["x"] + x, box["y"] + y)
