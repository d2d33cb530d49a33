"""The summaries at the top of the element and quality pages, and the default grid of a
dataset's layers.

Over the secure store (``tests/web/conftest.py``: Jura public, Kola humus aggregated with Ni
and Cu embargoed, the Meuse survey restricted as ``secret-meuse``, QC datasets, public pooled
layers): each summary holds the numbers of the page's own sections and of the API for the
same reader, in both languages, and nothing the reader may not see.
"""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from tests.web.conftest import AGGREGATED, EMBARGO, PUBLIC, SECRET

from chemearth.web.i18n import strings

ACTORS = ("anonymous", "owner")


def _page(client: Any, store: Any, path: str, actor: str, lang: str = "en") -> str:
    r = client.get(path, params={"lang": lang}, headers=store.headers(actor))
    assert r.status_code == 200, r.text[:300]
    return str(r.text)


def _summary(page: str) -> str:
    start = page.index('<section class="page-summary" id="summary"')
    return page[start:page.index("</section>", start)]


def _attr(text: str, element_id: str, name: str) -> str:
    m = re.search(rf'id="{element_id}"[^>]*\b{name}="([^"]*)"', text)
    assert m, (element_id, name)
    return html.unescape(m.group(1))


def _actor(secure_client: Any, secure_store: Any, actor: str) -> Any:
    return secure_client.app.state.gateway.actor(secure_store.tokens[actor])


# ---------------------------------------------------------------------------- element page


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("element", ["Zn", "Pb", "Ni"])
def test_element_summary_equals_the_page_and_the_api(
    secure_client: Any, secure_store: Any, actor: str, element: str
) -> None:
    gw = secure_client.app.state.gateway
    who = _actor(secure_client, secure_store, actor)
    rows = gw.element_baselines(who, element)
    surveys = {r["dataset_id"] for r in rows
               if gw.snapshot().records[r["dataset_id"]]["kind"] == "survey"}
    page = _page(secure_client, secure_store, f"/catalogue/elements/{element}", actor)
    s = _summary(page)
    assert int(_attr(s, "summary-datasets", "data-surveys")) == len(surveys)
    n = {ds: max(int(r["n"]) for r in rows if r["dataset_id"] == ds) for ds in surveys}
    assert int(_attr(s, "summary-samples", "data-n")) == sum(n.values())
    medians = [float(r["median"]) for r in rows
               if r["dataset_id"] in surveys and r["median"] is not None]
    if medians:
        assert float(_attr(s, "summary-medians", "data-low")) == pytest.approx(min(medians))
        assert float(_attr(s, "summary-medians", "data-high")) == pytest.approx(max(medians))
    # every section the summary links to is on the page, one per baseline
    anchors = re.findall(r'<a href="#(baseline-\d+)"', s)
    assert len(anchors) == len(rows)
    assert all(f'id="{a}"' in page for a in anchors)
    if actor == "anonymous":
        assert SECRET not in s
        if element in EMBARGO:  # an embargoed element's survey is not there at all
            assert AGGREGATED not in s
        assert PUBLIC in s


def test_element_summary_world_median_is_the_global_api(
    secure_client: Any, secure_store: Any
) -> None:
    s = _summary(_page(secure_client, secure_store, "/catalogue/elements/Zn", "anonymous"))
    items = re.findall(r'data-medium="([^"]+)" data-method="([^"]+)" data-median="([^"]+)"', s)
    assert items, "no pooled world median in the summary"
    for medium, method, median in items:
        r = secure_client.get("/api/global/baselines/Zn", params={
            "scale": "world", "weighting": "samples", "medium": medium, "method": method})
        assert r.status_code == 200, r.text
        world = [b for b in r.json()["baselines"] if b["weighting"] == "samples"]
        assert float(median) == pytest.approx(world[0]["median"])


@pytest.mark.parametrize(("element", "standard"), [("Zn", "gb15618-2018"), ("Pb", "ccme-2007"),
                                                   ("Cd", "dutch-2000")])
def test_element_summary_names_the_standards_limits(
    secure_client: Any, secure_store: Any, element: str, standard: str
) -> None:
    std = secure_client.get(f"/api/standards/{standard}").json()
    values = [v for row in std["limits"]
              if (row["element"], row["level"], row["land_use"])
              == (element, std["levels"][0], std["default_land_use"])
              for v in row["limits"] if v is not None]
    s = _summary(_page(secure_client, secure_store, f"/catalogue/elements/{element}", "admin"))
    m = re.search(rf'data-standard="{standard}" data-min="([^"]+)" data-max="([^"]+)"', s)
    assert m, f"{standard} not in the summary of {element}"
    assert (float(m.group(1)), float(m.group(2))) == (min(values), max(values))


# ---------------------------------------------------------------------------- quality page


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("dataset", [PUBLIC, AGGREGATED])
def test_quality_summary_counts_the_reports_checks(
    secure_client: Any, secure_store: Any, actor: str, dataset: str
) -> None:
    report = secure_client.get(f"/api/quality/{dataset}",
                               headers=secure_store.headers(actor)).json()
    rows = report["elements"]
    page = _page(secure_client, secure_store, f"/datasets/{dataset}/quality", actor)
    s = _summary(page)
    fit = [r["fit_for_mapping"] for r in rows]
    checks = dict(re.findall(r'<li data-check="fit" data-pass="(\d+)" data-fail="(\d+)"', s))
    assert checks == {str(fit.count(True)): str(fit.count(False))}
    verdict = _attr(s, "summary-verdict", "data-verdict")
    want = ("not_assessed" if fit.count(True) + fit.count(False) == 0 else
            "all" if not fit.count(False) else "none" if not fit.count(True) else "some")
    assert verdict == want
    drift = [c["drift"] for c in report["controls"]]
    m = re.search(r'data-check="drift" data-pass="(\d+)" data-fail="(\d+)"', s)
    assert m
    assert (int(m.group(1)), int(m.group(2))) == (drift.count(False), drift.count(True))
    worst = re.findall(r'<li data-element="([^"]+)"><a href="#elements">', s)
    failed = sorted((r for r in rows if r["fit_for_mapping"] is False),
                    key=lambda r: -((r["sampling_pct"] or 0) + (r["analytical_pct"] or 0)))
    assert worst == [r["element"] for r in failed][:5]
    for section in re.findall(r'<li><a href="#(\w+)">', s):
        assert f'id="{section}"' in page
    if actor == "anonymous" and dataset == AGGREGATED:
        assert not set(EMBARGO) & set(worst)


def test_quality_summary_names_a_failing_element_first(
    secure_client: Any, secure_store: Any
) -> None:
    """Over real QC data the verdict is not vacuous: some element is assessed."""
    s = _summary(_page(secure_client, secure_store, f"/datasets/{AGGREGATED}/quality", "owner"))
    assert _attr(s, "summary-verdict", "data-verdict") != "not_assessed"


# ---------------------------------------------------------------------------- languages


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("path", ["/catalogue/elements/Zn", f"/datasets/{PUBLIC}/quality"])
def test_summaries_speak_the_pages_language(
    secure_client: Any, secure_store: Any, lang: str, path: str
) -> None:
    s = _summary(_page(secure_client, secure_store, path, "owner", lang))
    want = strings(lang)
    assert want["fixes.summary.title"] in s
    assert "fixes." not in s  # no key shown as text
    assert "{" not in re.sub(r"<[^>]+>", "", s)  # every placeholder filled
    if lang == "zh":
        assert want["fixes.summary.sections"] in s


# ---------------------------------------------------------------------------- default grid


def test_a_surveys_layers_open_on_the_regional_grid_and_pooled_on_the_global(
    secure_client: Any, secure_store: Any
) -> None:
    """Jura and Kola lie wholly in Europe: their layers open on the European grid (square
    cells, not the 6:1 strips of EASE-Grid at 70° N) for readers who may see it; the pooled
    layers and the aggregated survey's public view (global grid only) open on the global."""
    for actor, expect in (("owner", {PUBLIC: "europe", AGGREGATED: "europe"}),
                          ("anonymous", {PUBLIC: "europe", AGGREGATED: "global"})):
        layers = secure_client.get("/api/layers", headers=secure_store.headers(actor)).json()
        seen: dict[str, set[str]] = {}
        for x in layers["layers"]:
            seen.setdefault(x["dataset"], set()).add(x["default_grid"])
            assert x["default_grid"] in x["grids"]
            if x["dataset"].startswith("pooled:"):
                assert x["default_grid"] == "global"
        for ds, grid in expect.items():
            assert seen[ds] == {grid}, (actor, ds, seen[ds])
