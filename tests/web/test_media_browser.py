"""Photos and videos in a real browser (Debian's chromium driven by Playwright).

An administrator attaches a photo of a Jura sampling site through the dataset page's form
(the photo made from the survey's own sample points, its GPS 5 km off: the page shows the
warning); the thumbnail appears in the page's gallery, then in the sample's popup on the
map, and opens full size; a site video opens in a player with its poster frame. Anonymous
visitors see Jura's photos but not Kola humus's (aggregated). Screenshots:
``test-artifacts/media-gallery.png``, ``media-popup.png``, ``media-photo.png``,
``media-video.png``, ``media-popup-zh.png``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import free_port
from tests.web.site_media import media_file
from tests.web.test_browser import ARTIFACTS, TIMEOUT_MS

CHEMEARTH = str(Path(sys.executable).with_name("chemearth"))
SAMPLE = "91"  # the Jura site the test attaches a photo to (248 m from any other site)


@pytest.fixture(scope="module")
def media_server(secure_store: Any, data_dir: Path,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    """``chemearth serve`` over a copy of the secure store (what the test attaches stays
    there); its URL and the store copy."""
    import httpx

    from chemearth.store import open_store

    home = tmp_path_factory.mktemp("media-browser") / "store"
    shutil.copytree(secure_store.home, home)
    port = free_port()
    log = home.parent / "serve.log"
    env = {**os.environ, "CHEMEARTH_HOME": str(home), "CHEMEARTH_STORE": str(home),
           "CHEMEARTH_DATA": str(data_dir)}
    with log.open("w") as fh:
        proc = subprocess.Popen([CHEMEARTH, "serve", "--host", "127.0.0.1", "--port", str(port)],
                                env=env, stdout=fh, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/api", timeout=2).status_code == 200:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start: {log.read_text()[-2000:]}")
            time.sleep(0.2)
        store = open_store(home, read_only=True)
        yield url, store
        store.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.wait_for_timeout(350)  # popups fade in
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def _watch(page: Any) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    page.on("response", lambda r: errors.append(f"HTTP {r.status}: {r.url}")
            if r.status >= 400 and not r.url.endswith(("/favicon.ico", "/cell"))
            and "/cell?" not in r.url else None)
    page.set_default_timeout(TIMEOUT_MS)
    return errors


def _site(store: Any, sample: str) -> tuple[float, float]:
    frame = store.samples("jura")
    row = frame[frame["sample_id"].astype(str) == sample].iloc[0]
    return float(row["longitude"]), float(row["latitude"])


def _open_sample_popup(page: Any, lon: float, lat: float, sample: str) -> Any:
    """Centre the map on a sample at zoom 14, click its point, wait for its media."""
    page.evaluate("([lat, lon]) => { window.chemearthMap.setView([lat, lon], 14,"
                  " {animate: false}); }", [lat, lon])
    # the points of the new view are drawn (the old ones are replaced once they arrive)
    page.wait_for_function(
        "s => { let found = false; window.chemearthMap.eachLayer((l) => {"
        " if (l.feature && l.getLatLng && String(l.feature.id) === s) found = true; });"
        " return found; }",
        arg=sample)
    page.wait_for_load_state("networkidle")
    x, y = page.evaluate("([lat, lon]) => { const p = window.chemearthMap"
                         ".latLngToContainerPoint([lat, lon]); return [p.x, p.y]; }", [lat, lon])
    box = page.locator("#map").bounding_box()
    page.evaluate("() => { window.chemearthMap.closePopup(); }")
    page.mouse.click(box["x"] + x, box["y"] + y)
    pop = page.locator(f".leaflet-popup .sample-popup[data-sample-id='{sample}']")
    pop.wait_for()
    page.wait_for_function(
        "s => { const p = document.querySelector(`.sample-popup[data-sample-id='${s}']`);"
        " return p && p.dataset.media && p.dataset.media !== 'loading'; }", arg=sample)
    page.wait_for_function(  # the thumbnails have loaded
        "() => [...document.querySelectorAll('.leaflet-popup .media-strip img')]"
        ".every(i => i.complete && i.naturalWidth > 0)")
    return pop


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_photo_uploaded_on_the_dataset_page_shows_in_the_sample_popup(
    browser: Any, media_server: tuple[str, Any], secure_store: Any, tmp_path: Path
) -> None:
    base, store = media_server
    context = browser.new_context(viewport={"width": 1366, "height": 850}, locale="en-GB")
    token = str(secure_store.tokens["admin"])
    context.add_cookies([{"name": "chemearth_token", "value": token, "url": base}])
    page = context.new_page()
    errors = _watch(page)
    try:
        # ---------------------------------------------------------- upload on the page
        photo = tmp_path / f"{SAMPLE}.jpg"
        photo.write_bytes(media_file(store, "jura", SAMPLE, away_m=5000))
        page.goto(base + "/catalogue/datasets/jura?lang=en")
        before = page.locator("#media-gallery li").count()
        assert before >= 2  # the secure store's photo and video of Jura sites
        page.set_input_files("#media-files", str(photo))
        page.click("#media-submit")
        page.wait_for_selector("#media-upload[data-state='done']")
        result = page.inner_text("#media-result")
        assert "1 attached." in result
        assert f"{SAMPLE}.jpg: the position recorded in the file is 5,000 m" in result
        item = page.locator(f"#media-gallery li[data-sample-id='{SAMPLE}']")
        item.wait_for()
        assert "Far from its sample" in item.inner_text()
        assert page.locator("#media-gallery li").count() == before + 1
        page.wait_for_function(
            f"() => {{ const i = document.querySelector("
            f"\"#media-gallery li[data-sample-id='{SAMPLE}'] img\");"
            " return i && i.complete && i.naturalWidth > 0; }")
        page.locator("#media").scroll_into_view_if_needed()
        _shot(page, "media-gallery")
        [rec] = list(store.site_media().records("jura", [SAMPLE]))
        assert rec.warning
        assert rec.distance_m == pytest.approx(5000, abs=1)

        # ---------------------------------------------------------- the sample's popup
        lon, lat = _site(store, SAMPLE)
        page.goto(base + f"/?lang=en#dataset=jura&element=Zn&medium=topsoil&lat={lat}"
                  f"&lon={lon}&zoom=14")
        page.wait_for_selector("body[data-ready='1']")
        pop = _open_sample_popup(page, lon, lat, SAMPLE)
        assert pop.get_attribute("data-media") == "1"
        assert "Photos and videos" in pop.inner_text()
        src = pop.locator(".media-strip img").get_attribute("src")
        assert src == f"/api/datasets/jura/media/{rec.media_id}/thumbnail"
        _shot(page, "media-popup")
        pop.locator("a.media-open").click()
        viewer = page.locator(".media-viewer img")
        viewer.wait_for()
        page.wait_for_function("() => { const i = document.querySelector('.media-viewer img');"
                               " return i.complete && i.naturalWidth === 800; }")
        _shot(page, "media-photo")
        page.keyboard.press("Escape")
        page.wait_for_function("() => !document.querySelector('.media-viewer')")

        # ---------------------------------------------------------- a site video
        video = next(r for r in store.site_media().records("jura") if r.kind == "video")
        vlon, vlat = _site(store, video.sample_id)
        pop = _open_sample_popup(page, vlon, vlat, video.sample_id)
        pop.locator("a.media-open[data-kind='video']").click()
        player = page.locator(".media-viewer video")
        player.wait_for()
        assert player.get_attribute("poster") == (
            f"/api/datasets/jura/media/{video.media_id}/poster")
        assert player.get_attribute("src") == f"/api/datasets/jura/media/{video.media_id}"
        _shot(page, "media-video")
        page.keyboard.press("Escape")

        # ---------------------------------------------------------- in Chinese
        page.goto(base + f"/?lang=zh#dataset=jura&element=Zn&medium=topsoil&lat={lat}"
                  f"&lon={lon}&zoom=14")
        page.wait_for_selector("body[data-ready='1']")
        pop = _open_sample_popup(page, lon, lat, SAMPLE)
        assert "照片和视频" in pop.inner_text()
        _shot(page, "media-popup-zh")
        assert not errors, errors
    except Exception:
        with contextlib.suppress(Exception):
            _shot(page, "media-failure")
        raise
    finally:
        context.close()


@pytest.mark.slow
def test_anonymous_visitors_see_jura_photos_but_not_kola_humus(
    browser: Any, media_server: tuple[str, Any]
) -> None:
    base, store = media_server
    context = browser.new_context(viewport={"width": 1200, "height": 800}, locale="en-GB")
    page = context.new_page()
    errors = _watch(page)
    try:
        page.goto(base + "/catalogue/datasets/jura?lang=en")
        assert page.locator("#media-gallery li").count() >= 2
        assert page.locator("#media-upload").count() == 0  # not theirs to attach
        page.goto(base + "/catalogue/datasets/kola-humus?lang=en")
        assert page.locator("#media-gallery").count() == 0
        assert "shared with full access to this dataset only" in page.inner_text("#media")
        kola = store.site_media().records("kola-humus")[0]
        r = page.request.get(base + f"/api/datasets/kola-humus/media/{kola.media_id}/thumbnail")
        assert r.status == 404
        errors[:] = [e for e in errors if "/media/" not in e]  # the 404 asked for above
        assert not errors, errors
    finally:
        context.close()
