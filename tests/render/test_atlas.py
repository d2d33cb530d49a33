"""The printable atlas: Kola C-horizon and DS-801 atlases of ten elements each render, every
element page carries a map, a plot and a table, and the table equals the baseline API
(/api/elements/{element})."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from chemearth.render.atlas import ATLAS_STATS, AtlasError, _fmt, element_table, make_atlas
from chemearth.render.plots import cjk_font_family

pymupdf = pytest.importorskip("pymupdf")

ATLASES = {
    "kola-chorizon": ["Al", "As", "Ca", "Co", "Cr", "Cu", "Fe", "Ni", "Pb", "Zn"],
    "usgs-ds801-top5": ["As", "Ba", "Cd", "Co", "Cr", "Cu", "Ni", "Pb", "V", "Zn"],
}


@pytest.fixture(scope="module")
def small_boundaries(data_dir: Path) -> Path:
    return data_dir / "boundaries" / "ne_110m_admin_0_countries.geojson"


@pytest.fixture(scope="module", params=sorted(ATLASES))
def atlas(request, grid_store, small_boundaries, tmp_path_factory):
    ds = request.param
    out = tmp_path_factory.mktemp("atlas") / f"{ds}.pdf"
    ticks: list[tuple[str, int, int]] = []
    report = make_atlas(grid_store, ds, out, elements=ATLASES[ds],
                        boundaries=small_boundaries,
                        progress=lambda s, d, t: ticks.append((s, d, t)))
    return ds, report, pymupdf.open(out), ticks


@pytest.mark.slow
def test_the_pdf_renders_with_every_page(atlas) -> None:
    ds, report, doc, ticks = atlas
    assert report.elements == ATLASES[ds]
    assert doc.page_count == report.pages == 3 + 10 + 2  # + summary and data quality
    for page in doc:
        pix = page.get_pixmap(dpi=30)
        grey = np.frombuffer(pix.samples, dtype=np.uint8)
        assert grey.min() < 100  # something is drawn on every page
    assert doc.metadata["author"] == "chemearth"
    # the progress bar saw every page, in order
    assert [d for _, d, _ in ticks] == list(range(1, report.pages + 1))


def test_contents_point_at_the_element_pages(atlas) -> None:
    ds, report, doc, _ = atlas
    contents = doc[1].get_text()
    for title, page in report.contents:
        assert title.split()[0] in contents
        if title.split()[0] in ATLASES[ds]:
            assert title in doc[page - 1].get_text()  # the page's heading, "Cu  copper"


def test_every_element_page_has_map_plot_and_table(atlas) -> None:
    _ds, report, doc, _ = atlas
    for i, el in enumerate(report.elements):
        page = doc[3 + i]
        text = page.get_text()
        assert f"{el} (" in text  # the map's title, "Cu (mg/kg)"
        assert "Projection: Lambert azimuthal equal-area" in text
        assert "Histogram and density" in text
        assert "Empirical cumulative distribution" in text
        assert "statistic" in text
        assert "background range" in text
        assert len(page.get_image_info()) == 1  # the kriged surface; the rest is vector
        assert report.maps[el]["kind"] == "surface"
        assert report.maps[el]["interpolation"]["cross_validation"]["n"] > 100


def test_table_values_equal_the_baseline_api(atlas, grid_store) -> None:
    from fastapi.testclient import TestClient

    from chemearth.web import create_app

    ds, report, doc, _ = atlas
    client = TestClient(create_app(grid_store))
    for i, el in enumerate(report.elements):
        rows = client.get(f"/api/elements/{el}").json()["baselines"]
        table = report.tables[el]
        api = [r for r in rows if r["dataset_id"] == ds and r["method"] == table["method"]]
        assert len(api) == 1, (el, table["method"])
        text = doc[3 + i].get_text()
        for k in ATLAS_STATS:
            want = api[0][k]
            assert table[k] == (want if want is None else pytest.approx(want, rel=1e-12,
                                                                      abs=0)), (el, k)
            assert _fmt(table[k]) in text, (el, k, _fmt(table[k]))


def test_summary_table_lists_every_element(atlas) -> None:
    _ds, report, doc, _ = atlas
    text = doc[report.pages - 2].get_text()
    assert "Summary table" in text
    for el in report.elements:
        assert _fmt(report.tables[el]["median"]) in text


def test_data_quality_page_and_notes(demo_store, small_boundaries, tmp_path) -> None:
    """With its QC datasets in the store, the Kola atlas prints each element's precision
    and variance shares (of the mapped method) as the data-quality report gives them."""
    from chemearth.qc.report import quality_report

    out = tmp_path / "kola-qc.pdf"
    report = make_atlas(demo_store.store, "kola-chorizon", out, elements=["Cu", "Ni"],
                        kind="points", boundaries=small_boundaries)
    doc = pymupdf.open(out)
    last = doc[report.pages - 1].get_text()
    assert "Data quality" in last
    assert "kola-chorizon-field-duplicates" in last
    rows = quality_report(demo_store.store, "kola-chorizon").elements.set_index(
        ["element", "method"])
    for i, el in enumerate(report.elements):
        q = report.quality[el]
        row = rows.loc[(el, q["method"])]
        assert q["rsd_field_pct"] == pytest.approx(row["rsd_field_pct"])
        assert _fmt(row["rsd_field_pct"]) in last
        assert _fmt(row["measurement_pct"]) in last
        page = " ".join(doc[3 + i].get_text().split())  # the note wraps
        assert f"field duplicates RSD {row['rsd_field_pct']:.1f} %" in page
        assert ("NOT fit for mapping" in page) == (not row["fit_for_mapping"])


def test_element_table_is_the_published_ds801_arsenic(grid_store) -> None:
    """USGS DS-801 0-5 cm: As median 5.2 mg/kg, n = 4,841 analysed, 56 below DL 0.6."""
    t = element_table(grid_store, "usgs-ds801-top5", "As")
    assert (t["n"], t["n_censored"], t["median"], t["max_dl"]) == (4841, 56, 5.2, 0.6)


@pytest.mark.skipif(cjk_font_family() is None, reason="no CJK font installed")
def test_chinese_atlas(grid_store, small_boundaries, tmp_path) -> None:
    out = tmp_path / "kola-zh.pdf"
    report = make_atlas(grid_store, "kola-chorizon", out, elements=["Ni", "Cu"], lang="zh",
                        kind="points", boundaries=small_boundaries)
    doc = pymupdf.open(out)
    assert "地球化学图集" in doc[0].get_text()
    assert "镍" in doc[3].get_text()
    assert "中位数" in doc[3].get_text()
    assert "汇总表" in doc[report.pages - 2].get_text()
    assert "数据质量" in doc[report.pages - 1].get_text()
    assert all(not doc[i].get_image_info() for i in range(report.pages))  # all vector


def test_cell_maps_and_left_out_elements(grid_store, small_boundaries, tmp_path) -> None:
    report = make_atlas(grid_store, "kola-chorizon", tmp_path / "a.pdf",
                        elements=["Cu", "Unobtainium", "Xx"], kind="cells",
                        boundaries=small_boundaries)
    assert report.elements == ["Cu"]
    assert report.maps["Cu"]["grid"] == "europe"  # square cells for data in Europe
    assert any(n.startswith("Unobtainium: left out") for n in report.notes)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"kind": "contours"}, "unknown map kind"),
    ({"lang": "fr"}, "unknown language"),
    ({"elements": ["Xx"]}, "no element"),
])
def test_errors(grid_store, tmp_path, kwargs, message) -> None:
    with pytest.raises(AtlasError, match=message):
        make_atlas(grid_store, "meuse", tmp_path / "x.pdf", **kwargs)
