"""Data-quality reports over the web: the Kola C-horizon survey with its field duplicates,
analytical duplicates and project standard, the rgr CRM analyses, and one levelling. The
report is the library's, the figures are images with working ETags, and the page shows the
table, the QC datasets, the figure links and the levelling in both languages (the sharing
rules are in test_security)."""

from __future__ import annotations

import csv
import math
import re
import warnings
from pathlib import Path
from typing import Any

import pytest

from chemearth.errors import ChemearthWarning
from chemearth.web.i18n import strings

SURVEY = "kola-chorizon"
QC = {"kola-chorizon-field-duplicates": "field-duplicates",
      "kola-chorizon-analytical-duplicates": "analytical-duplicates",
      "kola-chorizon-standard": "reference-material"}
CRM = "qc-crm"
AQUA_REGIA = "aqua regia extraction; ICP-AES or graphite-furnace AAS"
INAA = "INAA (instrumental neutron activation)"
PNG = b"\x89PNG"


@pytest.fixture(scope="module")
def quality_store(tmp_path_factory: pytest.TempPathFactory, data_dir: Path,
                  boundaries: Path) -> Any:
    """The survey, its three QC datasets and qc-crm, with Cr aqua regia levelled to INAA."""
    from chemearth.ingest.descriptor import load_descriptor
    from chemearth.ingest.pipeline import ingest
    from chemearth.ingest.shipped import shipped_descriptor
    from chemearth.qc.levelling import apply_levelling, level
    from chemearth.store import open_store

    store = open_store(tmp_path_factory.mktemp("quality-store"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ChemearthWarning)
        for ds in (SURVEY, *QC, CRM):
            ingest(store, load_descriptor(shipped_descriptor(ds)), data_dir=data_dir,
                   boundaries=boundaries)
    apply_levelling(store, level(store, SURVEY, "Cr", AQUA_REGIA, INAA, kind="robust"))
    return store


@pytest.fixture(scope="module")
def client(quality_store: Any) -> Any:
    from fastapi.testclient import TestClient

    from chemearth.web import create_app

    return TestClient(create_app(quality_store))


@pytest.fixture(scope="module")
def report(client: Any) -> dict[str, Any]:
    r = client.get(f"/api/quality/{SURVEY}")
    assert r.status_code == 200, r.text
    return dict(r.json())


def _row(report: dict[str, Any], element: str, method: str) -> dict[str, Any]:
    return next(r for r in report["elements"]
                if r["element"] == element and r["method"] == method)


def test_report_equals_the_library(quality_store: Any, report: dict[str, Any]) -> None:
    from chemearth.qc.report import quality_report

    want = quality_report(quality_store, SURVEY).to_dict()
    assert report["elements"] == want["elements"]
    assert report["controls"] == want["controls"]
    assert report["levelling"] == want["levelling"]
    assert report["threshold_pct"] == want["threshold_pct"] == 20.0
    assert report["qc"] == [{"dataset": d, "role": QC[d], "samples_visible": True}
                            for d in sorted(QC)]


def test_cu_field_precision_from_the_raw_file(data_dir: Path, report: dict[str, Any]) -> None:
    """Cu aqua regia field RSD: the root mean square of the pairs' CVs, from the file."""
    with (data_dir / "kola" / "CHorFieldDUP.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    cv = [abs(a - b) / math.sqrt(2) / ((a + b) / 2)
          for a, b in ((float(r["F1_Cu"]), float(r["F2_Cu"])) for r in rows)]
    cu = _row(report, "Cu", AQUA_REGIA)
    assert cu["n_field_pairs"] == len(cv) == 49
    assert cu["rsd_field_pct"] == pytest.approx(100 * math.sqrt(sum(c * c for c in cv) / len(cv)))
    assert cu["n"] == 606
    assert cu["fit_for_mapping"] is True
    assert cu["between_site_pct"] + cu["sampling_pct"] + cu["analytical_pct"] == pytest.approx(100)
    assert cu["control_rsd_pct"] > 0
    assert _row(report, "Cr", f"{AQUA_REGIA}; levelled to {INAA}")["levelled"].startswith("log10 y")


def test_qc_dataset_report_is_its_own(client: Any) -> None:
    """A reference-material dataset reports its own control charts (six CRMs of Cu)."""
    r = client.get(f"/api/quality/{CRM}").json()
    assert r["role"] == "reference-material"
    assert r["qc"] == [{"dataset": CRM, "role": "reference-material", "samples_visible": True}]
    assert [(c["element"], c["materials"]) for c in r["controls"]] == [("Cu", 6)]


@pytest.mark.parametrize(("url", "media"), [
    (f"/quality/{SURVEY}/Cu/thompson-howarth.png", "image/png"),
    (f"/quality/{SURVEY}/Cu/thompson-howarth.svg?which=analytical&method={AQUA_REGIA}",
     "image/svg+xml"),
    (f"/quality/{SURVEY}/Cu/control.png?method={AQUA_REGIA}", "image/png"),
    (f"/quality/{CRM}/Cu/control.png?material=TILL-4", "image/png"),
])
def test_figures_are_images_with_etags(client: Any, url: str, media: str) -> None:
    r = client.get(url)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith(media)
    assert r.content.startswith(PNG) if media == "image/png" else b"<svg" in r.content[:2000]
    etag = r.headers["etag"]
    assert client.get(url).headers["etag"] == etag  # the same bytes again
    again = client.get(url, headers={"if-none-match": etag})
    assert again.status_code == 304
    assert again.content == b""


def test_figures_differ_by_kind_and_material(client: Any) -> None:
    base = f"/quality/{SURVEY}/Cu/thompson-howarth.png"
    field = client.get(base).content
    assert client.get(base + "?which=analytical").content != field
    tills = {client.get(f"/quality/{CRM}/Cu/control.png?material={m}").headers["etag"]
             for m in ("TILL-4", "STSD-1")}
    assert len(tills) == 2


@pytest.mark.parametrize(("url", "status"), [
    (f"/quality/{SURVEY}/Cu/histogram.png", 404),
    (f"/quality/{SURVEY}/Cu/control.gif", 404),
    (f"/quality/{SURVEY}/Og/thompson-howarth.png", 404),
    (f"/quality/{SURVEY}/Og/control.svg", 404),
    (f"/quality/{SURVEY}/Cu/thompson-howarth.png?method=no-such-method", 404),
    (f"/quality/{CRM}/Cu/control.png?material=no-such-material", 404),
    (f"/quality/{CRM}/Cu/thompson-howarth.png", 404),
    ("/quality/no-such-survey/Cu/control.png", 404),
    ("/api/quality/no-such-survey", 404),
    (f"/quality/{SURVEY}/Cu/thompson-howarth.png?which=reference", 422),
    (f"/quality/{SURVEY}/Cu/control.png?material={'x' * 101}", 422),
])
def test_unknown_figures(client: Any, url: str, status: int) -> None:
    r = client.get(url)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")


def _cell(row: str, col: str) -> str:
    m = re.search(rf'data-col="{col}">([^<]*)<', row)
    assert m, col
    return m.group(1)


def _page_row(page: str, element: str, method: str) -> str:
    start = page.index(f'<tr data-element="{element}" data-method="{method}">')
    return page[start:page.index("</tr>", start)]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_quality_page(client: Any, report: dict[str, Any], lang: str) -> None:
    r = client.get(f"/datasets/{SURVEY}/quality", params={"lang": lang})
    assert r.status_code == 200
    page, t = r.text, strings(lang)
    assert f'lang="{"zh-CN" if lang == "zh" else "en"}"' in page
    for key in ("quality.title", "quality.qc_datasets", "quality.rsd_field",
                "quality.between_site", "quality.fit", "quality.levelling"):
        assert t[key] in page
    for d, role in QC.items():
        assert f'<tr data-qc="{d}">' in page
        assert t[f"quality.role.{role}"] in page
    cu = _row(report, "Cu", AQUA_REGIA)
    row = _page_row(page, "Cu", AQUA_REGIA)
    assert _cell(row, "n") == "606"
    for col in ("rsd_field_pct", "rsd_analytical_pct", "between_site_pct", "sampling_pct",
                "analytical_pct", "control_rsd_pct"):
        assert _cell(row, col) == f"{cu[col]:.1f}"
    assert _cell(row, "fit_for_mapping") == t["quality.yes"]
    assert _cell(row, "n_censored") == f"0 ({cu['pct_censored']:.1f} %)"
    links = re.findall(r'class="fig-([\w-]+)" href="([^"]+)"', row)
    assert [k for k, _ in links] == ["th-field", "th-analytical", "control"]
    for _, href in links:
        img = client.get(href.replace("&amp;", "&"))
        assert img.status_code == 200, href
        assert img.content.startswith(PNG)
    lev = report["levelling"][0]
    section = page[page.index('id="levelling-table"'):]
    assert lev["transform"]["formula"] in section
    assert f"{lev['before']['bias_pct']:.1f}" in section
    assert f"{lev['after']['bias_pct']:.1f}" in section


def test_pages_link_to_the_quality_page(client: Any) -> None:
    link = f'href="/datasets/{SURVEY}/quality"'
    assert link in client.get(f"/catalogue/datasets/{SURVEY}").text
    assert link in client.get("/catalogue").text
    missing = client.get("/datasets/no-such-survey/quality")
    assert missing.status_code == 404
    assert "no-such-survey" in missing.text
