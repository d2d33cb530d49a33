"""The analytics pages of the atlas (issue 21): a Kola C-horizon atlas with ``analytics=True``
lists a C-A page per element and the factor pages in its contents; each C-A page prints the
thresholds and confidence bounds :mod:`chemearth.stats.fractal` computes for the element's
cells and a zone map whose legend names the three zones; the factor page prints the
explained variances of ``robust_pca`` and ``robust_factors``; a Chinese atlas prints its
own labels."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from chemearth.errors import ChemearthWarning
from chemearth.render.atlas import make_atlas
from chemearth.render.atlas_text import fmt_value
from chemearth.render.plots import cjk_font_family

pymupdf = pytest.importorskip("pymupdf")

DATASET = "kola-chorizon"
ELEMENTS = ["Cu", "Ni", "Co", "Cr", "Pb", "Zn"]
#: Elements without a value below the detection limit: their cells go to the C-A curve of
#: chemearth.stats.fractal as they are.
UNCENSORED = ["Cu", "Cr", "Pb"]


@pytest.fixture(scope="module")
def kola(tmp_path_factory, data_dir: Path):
    """A store holding the Kola C-horizon survey only."""
    from chemearth.ingest.descriptor import load_descriptor
    from chemearth.ingest.pipeline import ingest
    from chemearth.ingest.shipped import shipped_descriptor
    from chemearth.store import open_store

    store = open_store(tmp_path_factory.mktemp("kola-analytics"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ChemearthWarning)
        ingest(store, load_descriptor(shipped_descriptor(DATASET)), data_dir=data_dir)
    return store


@pytest.fixture(scope="module")
def small_boundaries(data_dir: Path) -> Path:
    return data_dir / "boundaries" / "ne_110m_admin_0_countries.geojson"


@pytest.fixture(scope="module")
def atlas(kola, small_boundaries, tmp_path_factory):
    out = tmp_path_factory.mktemp("atlas") / "kola-analytics.pdf"
    ticks: list[tuple[str, int, int]] = []
    report = make_atlas(kola, DATASET, out, elements=ELEMENTS, kind="points",
                        boundaries=small_boundaries, analytics=True,
                        progress=lambda s, d, t: ticks.append((s, d, t)))
    return report, pymupdf.open(out), ticks


def _page_of(report, title: str) -> int:
    return dict(report.contents)[title]


def test_contents_list_the_analytics_pages(atlas) -> None:
    report, doc, ticks = atlas
    n = len(ELEMENTS)
    assert doc.page_count == report.pages == 3 + n + n + 1 + 3 + 2  # + summary, quality
    contents = doc[1].get_text()
    titles = [t for t, _ in report.contents]
    ca = [f"{el}  " for el in ELEMENTS]
    fractal = [t for t in titles if "concentration–area (C-A) fractal" in t]
    assert [t[:4] for t in fractal] == ca  # one per element, after the element pages
    expected = [*fractal, "Robust factor analysis (clr)", "Factor F1: scores",
                "Factor F2: scores", "Factor F3: scores"]
    assert titles[1 + n:1 + n + len(expected)] == expected
    pages = [p for _, p in report.contents]
    assert pages == list(range(3, report.pages + 1))  # every page after the contents
    for title in expected:
        assert title in contents
        assert title in doc[_page_of(report, title) - 1].get_text()
    assert [d for _, d, _ in ticks] == list(range(1, report.pages + 1))
    assert "Summary table" in doc[report.pages - 2].get_text()
    assert report.notes == []


def _ca_text(report, doc, element: str) -> str:
    title = next(t for t, _ in report.contents if t.startswith(f"{element}  ") and "C-A" in t)
    return doc[_page_of(report, title) - 1].get_text()


def _cells(store, element: str):
    from chemearth.assess.anomalies import surface
    from chemearth.store.selectors import element_values

    m, meth = element_values(store, DATASET, element)
    return m, surface(m, variable=element, unit="mg/kg", level="20km", method=meth)


@pytest.mark.parametrize("element", UNCENSORED)
def test_ca_page_prints_the_thresholds_of_stats_fractal(atlas, kola, element) -> None:
    from chemearth.stats.fractal import concentration_area

    report, doc, _ = atlas
    m, surf = _cells(kola, element)
    assert not m["censored"].any()
    fit = concentration_area(surf.cells["value"].to_numpy(float),
                             cell_area=surf.cell_area_km2)
    printed = report.analytics["fractal"][element]
    np.testing.assert_allclose(printed["thresholds"], fit.thresholds, rtol=1e-12)
    np.testing.assert_allclose(printed["threshold_low"], fit.threshold_low, rtol=1e-12)
    np.testing.assert_allclose(printed["threshold_high"], fit.threshold_high, rtol=1e-12)
    text = _ca_text(report, doc, element)
    for t, lo, hi in zip(fit.thresholds, fit.threshold_low, fit.threshold_high, strict=True):
        assert fmt_value(t) in text
        assert f"{fmt_value(lo)} – {fmt_value(hi)}" in text
    # the main threshold is the lowest breakpoint above the median cell value
    median = float(np.median(surf.cells["value"]))
    assert printed["threshold"] == min(t for t in fit.thresholds if t > median)


@pytest.mark.parametrize("element", ELEMENTS)
def test_zone_map_legend_shows_the_three_zones(atlas, kola, element) -> None:
    """The thresholds and zones (censored cells too) are those of chemearth.assess's
    fractal zones of the same cells; the legend names the three zones."""
    from chemearth.assess.fractal_zones import concentration_area_of, zone_layer
    from chemearth.stats.fractal import zones

    report, doc, _ = atlas
    _, surf = _cells(kola, element)
    printed = report.analytics["fractal"][element]
    np.testing.assert_allclose(printed["thresholds"], concentration_area_of(surf).thresholds,
                               rtol=1e-12)
    t = printed["threshold"]
    layer = zone_layer(surf, t)["zone"].to_numpy()
    assert [z["n_cells"] for z in printed["zones"]] == [int((layer == i).sum()) for i in (1, 2, 3)]
    text = _ca_text(report, doc, element)
    assert f"Anomaly zones, {element} (mg/kg)" in text
    values = surf.cells["value"].to_numpy(float)
    counts = np.bincount(zones(values, t).ravel() + 1, minlength=5)[2:]  # zones 1, 2, 3
    for name, mult, z, n in zip(("outer", "middle", "inner"), (1, 2, 4), printed["zones"],
                                counts, strict=True):
        assert z["name"] == name
        assert z["lower"] == pytest.approx(mult * t, rel=1e-12)
        assert f"{name} zone ≥ {fmt_value(mult * t)} ({mult} × T); " in text
        if element in UNCENSORED:  # a censored cell is never zoned above its DL
            assert z["n_cells"] == n
    assert "km" in text  # the scale bar
    assert "Projection: Lambert azimuthal equal-area" in text


def _compositions(store) -> pd.DataFrame:
    from chemearth.stats.compositional import parts_of
    from chemearth.store.selectors import element_values

    vals, cens = {}, {}
    for el in ELEMENTS:
        m = element_values(store, DATASET, el)[0].set_index("sample_id")
        vals[el], cens[el] = m["value"], m["censored"]
    return parts_of(pd.DataFrame(vals), censored=pd.DataFrame(cens))


def test_factor_page_prints_the_explained_variances(atlas, kola) -> None:
    from chemearth.stats.compositional_factors import robust_factors, robust_pca

    report, doc, _ = atlas
    parts = _compositions(kola)
    pca, fa = robust_pca(parts), robust_factors(parts, 3)
    printed = report.analytics["factors"]
    assert printed["parts"] == ELEMENTS
    assert printed["n_samples"] == len(fa.rows) == 606
    np.testing.assert_allclose(printed["pca_explained"], pca.explained, rtol=1e-12)
    np.testing.assert_allclose(printed["factor_explained"], fa.explained, rtol=1e-12)
    text = doc[_page_of(report, "Robust factor analysis (clr)") - 1].get_text()
    for i, e in enumerate(pca.explained):
        assert f"PC{i + 1}" in text
        assert f"{100 * e:.1f}" in text
    for e in fa.explained:
        assert f"{100 * e:.1f}" in text
    for el in ELEMENTS:
        assert f"{fa.loadings.loc[el, 'F1']:.2f}" in text
    assert f"PC1 ({100 * pca.explained[0]:.1f}%)" in text  # the biplot's axis


@pytest.mark.parametrize("factor", ["F1", "F2", "F3"])
def test_factor_score_maps(atlas, factor) -> None:
    report, doc, _ = atlas
    i = int(factor[1]) - 1
    page = doc[_page_of(report, f"Factor {factor}: scores") - 1]
    text = page.get_text()
    assert f"{factor} score" in text  # the colour bar
    explained = report.analytics["factors"]["factor_explained"][i]
    assert f"{factor} explains {100 * explained:.1f} % of the clr variance; n = 606" in text
    assert "Projection: Lambert azimuthal equal-area" in text
    assert not page.get_image_info()  # vector


@pytest.mark.skipif(cjk_font_family() is None, reason="no CJK font installed")
def test_chinese_analytics_pages(kola, small_boundaries, tmp_path) -> None:
    out = tmp_path / "kola-zh.pdf"
    report = make_atlas(kola, DATASET, out, elements=["Cu", "Co", "Cr"], kind="points",
                        lang="zh", boundaries=small_boundaries, analytics=True)
    doc = pymupdf.open(out)
    titles = dict(report.contents)
    ca = doc[titles["Cu  铜：含量–面积（C-A）分形"] - 1].get_text()
    for word in ("外带", "中带", "内带", "主阈值 T", "Cu 异常分带"):
        assert word in ca
    assert "稳健因子分析" in doc[titles["稳健因子分析（clr）"] - 1].get_text()
    assert "F1 得分" in doc[titles["因子 F1：因子得分"] - 1].get_text()
    assert "含量–面积（C-A）分形" in doc[1].get_text()  # the contents
