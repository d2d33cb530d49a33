"""Biplot and spider figures (chemearth.render.compositional), rendered from Kola data."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from chemearth.render.compositional import MAX_LINES, biplot_figure, spider_figure
from chemearth.render.plots import PlotError, figure_png
from chemearth.stats.compositional import parts_of, robust_distances
from chemearth.stats.compositional_factors import biplot, robust_pca
from chemearth.stats.spider import normalise

PARTS = ["Al", "Ca", "Co", "Cr", "Cu", "Fe", "K", "Mg", "Na", "Ni"]
REE = ["La", "Ce", "Nd", "Sm", "Eu", "Tb", "Yb", "Lu"]


@pytest.fixture(scope="module")
def kola(data_dir: Path) -> pd.DataFrame:
    return pd.read_csv(data_dir / "kola" / "chorizon.csv").set_index("ID")


def png_size(fig) -> tuple[int, int]:
    data = figure_png(fig, dpi=60)
    assert data[:4] == b"\x89PNG"
    return Image.open(io.BytesIO(data)).size


@pytest.mark.parametrize("kind", ["covariance", "form"])
def test_biplot_renders_with_outliers_and_legend(kola: pd.DataFrame, kind: str) -> None:
    p = parts_of(kola, PARTS)
    pca = robust_pca(p)
    flags = robust_distances(p).samples["outlier"]
    fig = biplot_figure(biplot(pca, kind=kind), outliers=flags)
    ax, top = fig.axes
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == [f"samples ({int((~flags).sum())})",
                     f"multivariate outliers ({int(flags.sum())})", "clr parts"]
    assert sorted(t.get_text() for t in top.texts if t.get_text()) == sorted(PARTS)
    assert ax.get_xlabel() == f"PC1 ({100 * pca.explained[0]:.1f}%)"
    assert png_size(fig) == (390, 360)
    with pytest.raises(PlotError, match="flags"):
        biplot_figure(biplot(pca), outliers=[True])


def test_spider_renders_on_a_log_axis(kola: pd.DataFrame) -> None:
    ree = kola[[f"{e}_INAA" for e in REE]].rename(columns=lambda c: c[:-5])
    n = normalise(ree.iloc[:5], "PAAS")
    fig = spider_figure(n)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    assert [t.get_text() for t in ax.get_xticklabels()] == REE  # anomalies left out
    assert len([ln for ln in ax.lines if ln.get_gid() == "spider"]) == 5
    assert ax.get_ylabel() == "sample / PAAS_TaylorMcLennan1985"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [str(i) for i in n.index]
    assert png_size(fig) == (420, 270)


def test_spider_of_groups_draws_their_medians(kola: pd.DataFrame) -> None:
    ree = kola[[f"{e}_INAA" for e in REE]].rename(columns=lambda c: c[:-5])
    n = normalise(ree, "UCC")
    groups = kola["COUN"].map(lambda c: f"country {int(c)}")  # the file's country codes
    fig = spider_figure(n, groups=groups)
    lines = [ln for ln in fig.axes[0].lines if ln.get_gid() == "spider"]
    assert len(lines) == 3
    first = n[groups == "country 1"][REE].median()
    np.testing.assert_allclose(lines[0].get_ydata(), first.to_numpy())
    with pytest.raises(PlotError, match="too many"):
        spider_figure(n)
    assert len(n) > MAX_LINES
