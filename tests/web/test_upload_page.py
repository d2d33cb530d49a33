"""A data owner logs in and uploads a survey through the page, in a real browser.

The server runs over its own empty store, so the upload touches no other test's data.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.web.conftest import _start
from tests.web.test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS

ORG = "Geological Survey of Xanadu"
TIMEOUT_MS = 120_000


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Iterator[tuple[str, str]]:
    from chemearth.access.tokens import TokenStore
    from chemearth.store import open_store

    home = tmp_path_factory.mktemp("upload-store")
    open_store(home)
    token = TokenStore(home).create("xanadu-owner", "owner", organisation=ORG)
    log = tmp_path_factory.mktemp("server") / "serve-upload.log"
    for url in _start(home, data_dir, log):
        yield url, token


def _descriptor(tmp: Path, dataset_id: str) -> Path:
    from chemearth.ingest.shipped import shipped_descriptor

    text = shipped_descriptor("meuse").read_text(encoding="utf-8")
    text = text.replace('id = "meuse"', f'id = "{dataset_id}"')
    text = re.sub(r'organisation = ".*"', f'organisation = "{ORG}"', text)
    path = tmp / f"{dataset_id}.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_owner_uploads_through_the_page(
    site: tuple[str, str], data_dir: Path, tmp_path: Path
) -> None:
    if not CHROMIUM.is_file():
        pytest.skip(f"no browser: {CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    url, token = site
    ARTIFACTS.mkdir(exist_ok=True)
    lines = (data_dir / "meuse" / "meuse.csv").read_text().splitlines()
    lines[3] = re.sub(r"^((?:[^,]*,){5})[^,]*", r"\1lots", lines[3])
    bad = tmp_path / "meuse-bad.csv"
    bad.write_text("\n".join(lines) + "\n")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(f"{url}/login?lang=en")
            page.fill("#login-token", token)
            with page.expect_navigation():
                page.click("#login-submit")
            page.goto(f"{url}/upload")
            assert "xanadu-owner" in page.inner_text("#who")
            # a bad row with strict: listed row by row, nothing written
            page.set_input_files("#upload-file", str(bad))
            page.set_input_files("#upload-descriptor", str(_descriptor(tmp_path, "meuse-page")))
            page.check("#upload-strict")
            page.click("#upload-submit")
            page.wait_for_selector("#upload-errors")
            rows = page.locator("#upload-errors tbody tr")
            first = rows.nth(0).inner_text()
            assert "meuse-bad.csv" in first
            assert "\t4\t" in first
            assert "zinc" in first
            page.screenshot(path=str(ARTIFACTS / "upload-01-rejected.png"), full_page=True)
            assert page.request.get(f"{url}/api/datasets").json()["datasets"] == []
            # the good file: ingested, gridded, in the catalogue
            page.uncheck("#upload-strict")
            page.set_input_files("#upload-file", str(data_dir / "meuse" / "meuse.csv"))
            page.click("#upload-submit")
            page.wait_for_selector("#upload-result p.ok")
            assert "meuse-page v1" in page.inner_text("#upload-result")
            # the organisation's jobs: the refused upload failed, the good one is done
            page.wait_for_selector("#upload-jobs tbody tr[data-state='done']")
            states = page.locator("#upload-jobs tbody tr").evaluate_all(
                "rows => rows.map(r => r.dataset.state)")
            assert states[:2] == ["done", "failed"], states
            page.screenshot(path=str(ARTIFACTS / "upload-02-accepted.png"), full_page=True)
            layers = page.request.get(f"{url}/api/layers").json()["layers"]
            assert {x["element"] for x in layers if x["dataset"] == "meuse-page"} == {
                "Cd", "Cu", "Pb", "Zn"}
            page.goto(f"{url}/catalogue")
            assert "meuse-page" in page.inner_text("#dataset-table")
        finally:
            browser.close()


def test_the_login_form_refuses_a_bad_token(site: tuple[str, str]) -> Any:
    import httpx

    url, _ = site
    r = httpx.post(f"{url}/api/session", data={"token": "ce_000000000000_" + "y" * 43})
    assert r.status_code == 401
    assert "chemearth_token" not in r.headers.get("set-cookie", "")
