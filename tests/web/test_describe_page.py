"""The upload page's descriptor helper in a real browser (Debian's chromium, Playwright).

A data owner drops the real Meuse survey on the page, sees the proposed descriptor in a
form and the problems of its check (decisions amber, errors red), fixes fields, checks
again until nothing is left, uploads, and sees the job end and the dataset in the
catalogue. The server runs over its own empty store. Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.web.conftest import _start
from tests.web.test_browser import ARTIFACTS

ORG = "Geological Survey of Xanadu"
TIMEOUT_MS = 120_000
RED = "rgb(164, 22, 26)"  # --error
AMBER = "rgb(122, 75, 0)"  # --amber


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Iterator[tuple[str, str]]:
    from chemearth.access.tokens import TokenStore
    from chemearth.store import open_store

    home = tmp_path_factory.mktemp("describe-page-store")
    open_store(home)
    token = TokenStore(home).create("xanadu-owner", "owner", organisation=ORG)
    log = tmp_path_factory.mktemp("server") / "serve-describe.log"
    for url in _start(home, data_dir, log):
        yield url, token


def _answers(page: Any) -> int:
    return int(page.get_attribute("#describe-panel", "data-answers") or 0)


def _check(page: Any) -> None:
    """Click "Check again" and wait for its answer."""
    n = _answers(page)
    page.click("#describe-check")
    page.wait_for_function(
        f"Number(document.getElementById('describe-panel').dataset.answers || 0) > {n}")


def _problems(page: Any, severity: str) -> list[str]:
    return page.locator(f"#describe-problems li.problem-{severity}").all_inner_texts()


def _colour(page: Any, selector: str) -> str:
    return str(page.eval_on_selector(selector, "el => getComputedStyle(el).color"))


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_an_owner_drops_a_survey_fixes_its_descriptor_and_uploads(
    site: tuple[str, str], browser: Any, data_dir: Path
) -> None:
    url, token = site
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1200, "height": 1000})
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{url}/login?lang=en")
    page.fill("#login-token", token)
    with page.expect_navigation():
        page.click("#login-submit")
    page.goto(f"{url}/upload")
    assert page.is_hidden("#describe-panel")

    # drop the real file on the page: a proposal, checked
    text = (data_dir / "meuse" / "meuse.csv").read_text(encoding="utf-8")
    transfer = page.evaluate_handle(
        "([name, text]) => { const dt = new DataTransfer();"
        " dt.items.add(new File([text], name, {type: 'text/csv'})); return dt; }",
        ["meuse.csv", text])
    page.dispatch_event("#upload-drop", "drop", {"dataTransfer": transfer})
    page.wait_for_selector("#describe-panel[data-answers='1']")
    assert page.input_value("#field-id") == "meuse"
    assert page.input_value("#field-organisation") == ORG  # the owner's, filled in
    assert page.input_value("#field-medium") == "unknown"
    assert "x / y" in page.inner_text("#field-xy")
    columns = dict(zip(
        page.locator("#describe-columns tbody tr").evaluate_all(
            "rows => rows.map(r => r.dataset.column)"),
        page.locator("#describe-columns tbody tr td:nth-child(2) input").evaluate_all(
            "inputs => inputs.map(i => i.value)"), strict=True))
    assert columns == {"cadmium": "Cd", "copper": "Cu", "lead": "Pb", "zinc": "Zn"}
    assert any("[dataset].medium" in p for p in _problems(page, "warning"))
    assert 'organisation = "Geological Survey of Xanadu"' in page.input_value("#describe-toml")
    page.screenshot(path=str(ARTIFACTS / "describe-01-proposed.png"), full_page=True)

    # no CRS: a decision (amber); a wrong CRS: every row off land, an error (red)
    page.fill("#field-crs", "")
    _check(page)
    decisions = _problems(page, "decision")
    assert any("[coordinates].crs" in p for p in decisions), decisions
    assert _colour(page, "#describe-problems li.problem-decision") == AMBER
    assert page.get_attribute("#describe-panel", "data-ok") == "false"
    page.fill("#field-crs", "EPSG:4326")
    _check(page)
    assert _problems(page, "error"), page.inner_text("#describe-problems")
    assert _colour(page, "#describe-problems li.problem-error") == RED
    page.screenshot(path=str(ARTIFACTS / "describe-02-problems.png"), full_page=True)

    # fixed: the right CRS, the medium, an id and a title of the owner's choosing
    page.fill("#field-crs", "EPSG:28992")
    page.select_option("#field-medium", "floodplain sediment")
    page.fill("#field-id", "meuse-described")
    page.fill("#field-title", "Meuse floodplain, described on the page")
    page.fill("#describe-columns tr[data-column='zinc'] input[data-key='unit']", "mg/kg")
    _check(page)
    # what the proposal left to decide, now decided: marked so, one at a time (each is
    # taken out of the TOML's TO DECIDE list and checked again)
    decided = page.locator("#describe-decisions button.decided")
    while decided.count():
        n = _answers(page)
        item = page.locator("#describe-decisions li").first.inner_text()
        decided.first.click()
        page.wait_for_function(
            f"Number(document.getElementById('describe-panel').dataset.answers || 0) > {n}")
        assert item not in page.inner_text("#describe-decisions-box")
    assert page.is_hidden("#describe-decisions-box")
    assert "TO DECIDE" not in page.input_value("#describe-toml")
    assert _problems(page, "error") == []
    assert _problems(page, "decision") == []
    assert page.get_attribute("#describe-panel", "data-ok") == "true"
    toml = page.input_value("#describe-toml")
    assert 'crs = "EPSG:28992"' in toml
    assert 'medium = "floodplain sediment"' in toml
    assert '"zinc" = { element = "Zn", unit = "mg/kg" }' in toml

    # a last edit is written in by the upload itself; the job runs and the dataset appears
    page.fill("#field-licence", "GPL-3 (R package sp)")
    page.click("#upload-submit")
    page.wait_for_selector("#upload-result p.ok")
    assert "meuse-described v1" in page.inner_text("#upload-result")
    page.wait_for_selector("#upload-jobs tbody tr[data-state='done']")
    page.screenshot(path=str(ARTIFACTS / "describe-03-uploaded.png"), full_page=True)
    entry = page.request.get(f"{url}/api/datasets/meuse-described").json()
    assert entry["title"] == "Meuse floodplain, described on the page"
    assert entry["media"] == ["floodplain sediment"]
    assert entry["licence"] == "GPL-3 (R package sp)"
    page.goto(f"{url}/catalogue")
    assert "meuse-described" in page.inner_text("#dataset-table")
    page.close()


def test_the_helper_speaks_chinese(site: tuple[str, str], browser: Any) -> None:
    url, _ = site
    page = browser.new_page()
    page.goto(f"{url}/upload?lang=zh")
    assert "拖放" in page.inner_text("#upload-drop")
    assert page.inner_text("#describe-check") == "重新检查"
    page.close()
