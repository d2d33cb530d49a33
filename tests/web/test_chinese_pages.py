"""Every page of the website in Chinese, in a real browser: no UI string left in English.

The pages are not a hand list: every GET route of the application that answers HTML is a
page (:func:`page_urls`), called with each dataset kind of the secure store (a public
survey, an aggregated one with an embargo, a restricted one, a quality-control dataset, one
that does not exist) and each element kind, as an administrator and as an anonymous
visitor. The map viewer is walked with its panels open: the pooled world map with the
coverage overlay, a pooled cell's popup, a dataset's sample points and a sample's popup,
every assessment overlay (each standard's legend and notes, change, anomaly targets and
blocks with their popups, interpolated surfaces), every analytics overlay with a popup,
and then, generically, every other select, checkbox and button of the panel (so that panels
other helpers add are opened too).

**The rule** is written out in :mod:`tests.web.zh_rule` (``english_runs``): text inside an
element marked as data (``translate="no"``, a ``lang`` other than Chinese, code) is
exempt; elsewhere every run of English words fails, where numbers, identifiers, acronyms,
units, element symbols, URLs and file names are not words, and one capitalised name inside
Chinese text (``Tukey 上限``) is allowed. The strings of every part file in Chinese, the
API answers the viewer shows (standards, screening notes), and the atlases' PDF text
(PyMuPDF; the dataset's record and the references are data there) follow the same rule.

Screenshots go to ``test-artifacts/zh-*.png`` and ``test-artifacts/catalogue-zh.png``.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterable
from typing import Any

import pytest
from tests.web.conftest import AGGREGATED, EMBARGO, PUBLIC, QC_PUBLIC, SECRET
from tests.web.test_browser import ARTIFACTS
from tests.web.zh_rule import ChineseCheck, english_runs, settle, walk_viewer, zh_url

# ----------------------------------------------------------------------------- the rule


@pytest.mark.parametrize(
    ("text", "bad"),
    [
        ("中位数", []),
        ("Median", ["Median"]),
        ("samples", ["samples"]),
        ("样品 samples", ["samples"]),
        ("Tukey 上限（对数）", []),
        ("边界：Natural Earth", ["Natural Earth"]),
        ("Upper Tukey fence (log)", ["Upper Tukey fence log"]),
        ("中位数 + 2 MAD（对数）", []),
        ("Cu 含量 (mg/kg)", []),
        ("GeoTIFF（云优化）", []),
        ("NetCDF", []),
        ("P5–P25", []),
        ("gb15618-2018", []),
        ("kola-humus", ["kola-humus"]),
        ("pooled:public · EPSG:4326", []),
        ("Thompson–Howarth 图（野外）", []),
        ("水浸 pH", []),
        ("ICP-AES/ICP-MS 测定", []),
        ("c-horizon · aqua regia extraction", ["c-horizon", "aqua regia extraction"]),
        ("详见 https://example.org/a/b 与 /api/docs", []),
        ("目录 · chemearth", []),
        ("按 `chemearth check` 的方式检查", []),
        ("n = 606，低于检出限 0 个", []),
        ("file", ["file"]),
        ("样品 Detected", []),
        ("Kola Ecogeochemistry · 目录", ["Kola Ecogeochemistry"]),
    ],
)
def test_the_rule(text: str, bad: list[str]) -> None:
    """The rule finds English words, and leaves data-like tokens and kept names alone."""
    assert english_runs(text) == bad


def test_every_chinese_string_passes_the_rule() -> None:
    """Every string the pages and the viewer may show in Chinese (a key missing in Chinese
    falls back to English and fails here), whoever added it."""
    from chemearth.web.i18n import strings

    zh = strings("zh")
    bad = {k: (v, english_runs(re.sub(r"\{\w+\}", " ", v))) for k, v in zh.items()}
    bad = {k: v for k, v in bad.items() if v[1]}
    assert not bad, json.dumps(bad, ensure_ascii=False, indent=1)


# ----------------------------------------------------------------------------- the pages

#: what each path parameter of a page takes (every kind of dataset and element)
PAGE_PARAMS: dict[str, tuple[str, ...]] = {
    "dataset": (PUBLIC, AGGREGATED, SECRET, QC_PUBLIC, "no-such-dataset"),
    "element": ("Zn", EMBARGO[0], "Xx"),
}


def page_urls(app: Any, client: Any) -> list[str]:
    """Every page of ``app``: the GET routes outside the OpenAPI document (or declared as
    HTML), each path parameter taken from :data:`PAGE_PARAMS`, that answer HTML (a
    redirect such as ``/logout`` is not a page). The API's own documentation under
    ``/api/`` is for programmers and is excluded, like the API itself."""
    from fastapi.responses import HTMLResponse
    from starlette.routing import Route

    try:  # FastAPI >= 0.120 includes routers lazily
        from fastapi.routing import iter_route_contexts
        routes = [(c.path, c.original_route) for c in iter_route_contexts(app.routes)]
    except ImportError:
        routes = [(getattr(r, "path", None), r) for r in app.routes]
    urls: list[str] = []
    for path, r in routes:
        if (not isinstance(r, Route) or not path or "GET" not in (r.methods or ())
                or path.startswith("/api")):
            continue
        html = getattr(r, "response_class", None)
        if r.include_in_schema and not (isinstance(html, type) and issubclass(html, HTMLResponse)):
            continue
        names = re.findall(r"{(\w+)}", path)
        unknown = set(names) - set(PAGE_PARAMS)
        assert not unknown, f"page {path}: add {unknown} to PAGE_PARAMS"
        combos: list[dict[str, str]] = [{}]
        for n in names:
            combos = [{**c, n: v} for c in combos for v in PAGE_PARAMS[n]]
        for c in combos:
            url = re.sub(r"{(\w+)}", lambda m, c=c: c[m.group(1)], path)
            resp = client.get(url, params={"lang": "zh"}, follow_redirects=False)
            if resp.headers.get("content-type", "").startswith("text/html"):
                urls.append(url)
    return urls


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_every_page_in_chinese(browser: Any, secure_server: str, secure_app: Any,
                               secure_client: Any, secure_store: Any) -> None:
    """Every page, for an administrator and an anonymous visitor, in Chinese."""
    urls = page_urls(secure_app, secure_client)
    assert {"/", "/catalogue", f"/catalogue/datasets/{PUBLIC}", "/upload", "/login"} <= set(urls)
    _a_failed_job(secure_store.store)
    reports: list[str] = []
    for actor in ("admin", "anonymous"):
        context = browser.new_context(viewport={"width": 1366, "height": 850}, locale="zh-CN",
                                      extra_http_headers=secure_store.headers(actor))
        page = context.new_page()
        c = ChineseCheck(page, f"zh-pages-{actor}")
        try:
            for url in urls:
                page.goto(secure_server + zh_url(url))
                settle(page)
                assert page.get_attribute("html", "lang") == "zh-CN", url
                assert c.check(url) > 0, url
                if actor == "admin" and url.count("/") <= 3:
                    c.shot(re.sub(r"\W+", "-", url).strip("-") or "map")
            if c.failures or c.errors:
                reports.append(f"as {actor}: {c.report()}\n{c.errors}")
        finally:
            context.close()
    assert not reports, "\n".join(reports)


def _a_failed_job(store: Any) -> None:
    """A failed upload in the job list of the upload page (the server's worker fails it:
    its file is missing), whatever other tests left there: the server's English message in
    the list is marked as English, its step's words are translated."""
    import time

    job_id = store.submit_job("upload", {"file": "missing.csv", "descriptor": "x"},
                              dataset_id=SECRET, actor="owner", organisation="zh-test")
    deadline = time.monotonic() + 120
    while (job := store.job(job_id))["state"] != "failed":
        assert time.monotonic() < deadline, f"the server's worker did not fail {job}"
        time.sleep(0.2)
    assert "has no file" in job["message"]


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_catalogue_columns_in_chinese(browser: Any, secure_server: str, secure_store: Any) -> None:
    """The catalogue's columns in Chinese do not fall apart (CJK text may wrap between any
    two characters): every header on one line, no short cell narrower than 2 em or taller
    than 3 lines, at a desktop, a laptop and a tablet width (the table may scroll
    sideways). Screenshot: ``catalogue-zh.png`` (and ``catalogue-zh-<width>.png``)."""
    for width in (1366, 1024, 800):
        context = browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN",
                                      extra_http_headers=secure_store.headers("admin"))
        page = context.new_page()
        try:
            page.goto(secure_server + "/catalogue?lang=zh")
            page.wait_for_load_state("networkidle")
            cells = page.evaluate("""() => [...document.querySelectorAll(
                  'main table thead th, main table tbody td')].map((c) => {
                const s = getComputedStyle(c), range = document.createRange();
                range.selectNodeContents(c);  // the text's own box, not the row's
                const line = parseFloat(s.lineHeight) || 1.4 * parseFloat(s.fontSize);
                return {text: c.textContent.trim(), head: c.tagName === 'TH',
                        w: c.getBoundingClientRect().width,
                        h: range.getBoundingClientRect().height,
                        em: parseFloat(s.fontSize), line, table: c.closest('table').id};
              })""")
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / ("catalogue-zh.png" if width == 1366
                                                  else f"catalogue-zh-{width}.png")),
                            full_page=True)
            assert cells
            bad = [c for c in cells
                   if (c["head"] and c["h"] > 1.5 * c["line"])
                   or ((c["head"] or len(c["text"]) <= 12)  # long titles may wrap at words
                       and (c["w"] < 2 * c["em"] or c["h"] > 3 * c["line"] + 1))]
            assert not bad, (width, bad)
        finally:
            context.close()


# ----------------------------------------------------------------------------- the viewer

@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_map_viewer_in_chinese(browser: Any, pooled_server: str) -> None:
    """The viewer in Chinese with every panel, overlay, legend and popup opened."""
    context = browser.new_context(viewport={"width": 1366, "height": 850}, locale="zh-CN")
    page = context.new_page()
    c = ChineseCheck(page, "zh-map")
    try:
        walk_viewer(page, pooled_server, c)
        assert not c.failures, c.report()
        assert not c.errors, c.errors
    except Exception:
        with contextlib.suppress(Exception):
            c.shot("failure")
        raise
    finally:
        context.close()


# ----------------------------------------------------------------------------- API and atlas


def test_api_answers_the_viewer_shows_have_chinese(secure_client: Any) -> None:
    """What the viewer shows from the assessment API has Chinese: each standard's class
    names, title and citation (by rule: a Chinese standard's official Chinese title), and
    the screening notes."""
    for std in secure_client.get("/api/standards").json():
        assert std["title_zh"], std["id"]
        assert not english_runs(std["title_zh"]), std["id"]
        assert len(std["classes_zh"]) == len(std["classes"]), std["id"]
        for name in std["classes_zh"]:
            assert not english_runs(name), (std["id"], name)
        assert len(std["notes_zh"]) == len(std["notes"]), std["id"]
        for note in std["notes_zh"]:
            assert not english_runs(note), (std["id"], note)
        if std["jurisdiction"] == "CN":
            assert std["citation_zh"], std["id"]
            assert not english_runs(std["citation_zh"]), std["id"]
            lg = secure_client.get("/api/assess/legend",
                                   params={"standard": std["id"]}).json()
            assert lg["citation_zh"] == std["citation_zh"]
    for std in ("gb15618-2018", "gb36600-2018", "ccme-2007"):
        res = secure_client.get(f"/api/assess/screening/{PUBLIC}",
                                params={"standard": std, "by": "all"}).json()
        assert len(res["notes_zh"]) == len(res["notes"]), res["notes"]
        for note in res["notes_zh"]:
            assert not english_runs(note), note


def _pdf_text(data: bytes) -> str:
    import fitz

    with fitz.open(stream=data, filetype="pdf") as doc:
        return "\n".join(p.get_text() for p in doc)


def _pdf_failures(text: str, record: dict[str, Any], qc: Iterable[str]) -> list[str]:
    """English runs of an atlas's text, without the dataset's data (title, citation,
    licence, organisation, ids) and the bibliographic references (参考文献)."""
    flat = " ".join(text.split())
    flat = re.sub(r"参考文献：.*?。", " ", flat)
    data = [str(record.get(k) or "") for k in ("title", "citation", "licence", "organisation",
                                               "dataset_id", "url")]
    return english_runs(flat, [" ".join(d.split()) for d in data] + list(qc))


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_atlas_in_chinese(secure_store: Any, secure_client: Any, tmp_path: Any,
                          boundaries: Any) -> None:
    """The atlas in Chinese (cover, methods, element pages with their subtitles, summary and
    quality pages; pdf text read with PyMuPDF) and an element page from the website."""
    from chemearth.render.atlas import make_atlas

    record = secure_client.get(f"/api/datasets/{PUBLIC}").json()
    qc = secure_client.get(f"/api/quality/{PUBLIC}", headers=secure_store.headers("admin"))
    qc_ids = [q["dataset"] for q in qc.json()["qc"]]
    out = tmp_path / "atlas-zh.pdf"
    make_atlas(secure_store.store, PUBLIC, out, elements=["Cd", "Zn"], lang="zh",
               boundaries=boundaries)
    text = _pdf_text(out.read_bytes())
    assert "地球化学图集" in text
    assert not _pdf_failures(text, record, qc_ids), text
    r = secure_client.get(f"/atlas/{PUBLIC}/Zn.pdf", params={"lang": "zh"})
    assert r.status_code == 200
    page = _pdf_text(r.content)
    assert not _pdf_failures(page, record, qc_ids), page


def test_every_medium_and_method_has_a_chinese_name() -> None:
    """The sample media, the medium groups and method classes of the pooling rules, and
    the methods of every shipped descriptor have Chinese names."""
    from chemearth.ingest.descriptor import MEDIA, load_descriptor
    from chemearth.ingest.shipped import shipped_descriptors
    from chemearth.reference.terms import term

    for m in MEDIA:
        assert term("medium", m, "zh"), m
        assert not english_runs(term("medium", m, "zh") or ""), m
    methods = {c.method for p in shipped_descriptors()
               for c in load_descriptor(p).columns if c.method}
    for m in sorted(methods):
        zh = term("method", m, "zh")
        assert zh, m
        assert not english_runs(zh), (m, zh)
    assert term("method", "a method nobody wrote", "zh") is None
    assert term("medium", "topsoil", "en") == "topsoil"


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_global_atlas_in_chinese(secure_store: Any, tmp_path: Any, boundaries: Any) -> None:
    """The atlas of pooled layers in Chinese: its cover, map titles and footers. The
    cover's list of contributing surveys (``id: citation``, shortened) is data."""
    from chemearth.grid.pooled import pooled_manifest
    from chemearth.render.global_atlas import make_global_atlas

    layer = next(lay for lay in pooled_manifest(secure_store.store, "public")["layers"]
                 if lay["grid"] == "global" and lay["element"] == "Zn"
                 and lay["medium"] == "topsoil")  # Jura's, in full
    out = tmp_path / "world-zh.pdf"
    report = make_global_atlas(secure_store.store, out, elements=[layer["element"]],
                               medium=layer["medium"], method=layer["method"],
                               boundaries=boundaries, lang="zh")
    text = _pdf_text(out.read_bytes())
    assert "化学地球" in text
    lines = [ln for ln in text.splitlines()
             if not any(ln.startswith(f"{d}: ") for d in report.datasets)]
    assert not english_runs(" ".join(lines), report.datasets), text


def test_quality_figures_in_chinese(data_dir: Any) -> None:
    """The quality page's figures in Chinese (``lang=zh``): every text of the
    Thompson–Howarth plot of the Kola field duplicates and of the control chart of the
    Kola project standard passes the rule (the title's dataset id and material are data)."""
    import pandas as pd
    from matplotlib.text import Text

    from chemearth.qc.control import control_charts
    from chemearth.render.qcplots import control_figure, thompson_howarth_figure

    dup = pd.read_csv(data_dir / "kola" / "CHorFieldDUP.csv")
    std = pd.read_csv(data_dir / "kola" / "CHorSTANDARD.csv")
    frame = pd.DataFrame({"order": range(len(std)), "material": "STD", "value": std["Cu"]})
    figures = [
        thompson_howarth_figure(dup["F1_Cu"], dup["F2_Cu"], element="Cu", unit="mg/kg",
                                lang="zh"),
        control_figure(control_charts(frame.dropna())[0], element="Cu", unit="mg/kg",
                       lang="zh"),
    ]
    for fig in figures:
        texts = [t.get_text() for t in fig.findobj(Text) if t.get_text().strip()]
        assert any(_has_cjk(t) for t in texts)
        bad = {t: english_runs(t) for t in texts if english_runs(t)}
        assert not bad, bad


def _has_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)
