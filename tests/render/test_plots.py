"""Distribution figures of real survey values, checked against numpy computed independently."""

from __future__ import annotations

import io
import threading
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from PIL import Image

from chemearth.errors import ChemearthWarning, StatisticsError
from chemearth.render import plots
from chemearth.render.plots import (
    MAX_BINS,
    PlotError,
    cjk_font_family,
    distribution_figure,
    figure_png,
    figure_svg,
)

DATASETS = ("usgs-ds801-top5", "meuse")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, data_dir: Path, boundaries: Path):
    """DS-801 0-5 cm (As: 4,841 analyses, 56 below a DL of 0.6) and Meuse (no censoring)."""
    from chemearth.ingest.descriptor import load_descriptor
    from chemearth.ingest.pipeline import ingest
    from chemearth.ingest.shipped import shipped_descriptor
    from chemearth.store import open_store

    s = open_store(tmp_path_factory.mktemp("plots-store"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ChemearthWarning)
        for ds in DATASETS:
            ingest(
                s, load_descriptor(shipped_descriptor(ds)), data_dir=data_dir, boundaries=boundaries
            )
    return s


@pytest.fixture(scope="module")
def arsenic(store) -> tuple[np.ndarray, np.ndarray]:
    m = store.measurements("usgs-ds801-top5", elements=["As"])
    return m["value"].to_numpy(dtype=float), m["censored"].to_numpy(dtype=bool)


@pytest.fixture(scope="module")
def as_figure(arsenic):
    values, censored = arsenic
    return distribution_figure(values, censored, element="As", unit="mg/kg")


def _lines(ax, gid: str) -> list[Line2D]:
    return [ln for ln in ax.get_lines() if ln.get_gid() == gid]


def test_three_panels_on_a_log_axis_in_the_original_unit(as_figure, arsenic) -> None:
    fig = as_figure
    assert len(fig.axes) == 3
    hist, _, ecdf = fig.axes
    assert [ax.get_title() for ax in fig.axes] == [
        "Histogram and density",
        "Tukey boxplot",
        "Empirical cumulative distribution",
    ]
    assert all(ax.get_xscale() == "log" for ax in fig.axes)
    assert ecdf.get_xlabel() == "As (mg/kg)"
    assert hist.get_ylabel() == "Frequency"
    assert ecdf.get_ylabel() == "Cumulative frequency (%)"
    assert fig.get_suptitle() == "As: n = 4841, 56 below detection limit"
    labels = [t.get_text() for t in ecdf.get_xticklabels() if t.get_text()]
    assert {"1", "10", "100"} <= set(labels)  # plain numbers in mg/kg, not 10^x


def test_histogram_counts_are_numpy_histogram_of_log10_values(as_figure, arsenic) -> None:
    values, censored = arsenic
    logs = np.log10(values)
    counts, edges = np.histogram(logs, bins="auto")
    assert len(counts) <= MAX_BINS
    hist = as_figure.axes[0]
    everything, below_dl = hist.containers[0], hist.containers[1]
    heights = np.array([p.get_height() for p in everything])
    np.testing.assert_array_equal(heights, counts)
    assert heights.sum() == values.size == 4841
    left = np.log10([p.get_x() for p in everything])
    right = np.log10([p.get_x() + p.get_width() for p in everything])
    np.testing.assert_allclose(left, edges[:-1], rtol=0, atol=1e-12)
    np.testing.assert_allclose(right, edges[1:], rtol=0, atol=1e-12)
    cens_counts, _ = np.histogram(logs[censored], bins=edges)
    np.testing.assert_array_equal([p.get_height() for p in below_dl], cens_counts)
    assert cens_counts.sum() == 56


def test_density_curve_is_scaled_to_the_counts(as_figure, arsenic) -> None:
    values, _ = arsenic
    hist = as_figure.axes[0]
    (kde,) = _lines(hist, "kde")
    x, y = np.log10(kde.get_xdata()), kde.get_ydata()
    width = np.log10(hist.containers[0][0].get_x() + hist.containers[0][0].get_width()) - (
        np.log10(hist.containers[0][0].get_x())
    )
    area = float(np.sum((y[1:] + y[:-1]) / 2 * np.diff(x)))  # ∫ density d(log10 x) = n × bin
    assert area == pytest.approx(values.size * width, rel=0.02)


def test_boxplot_quartiles_whiskers_and_fences_are_tukeys(as_figure, arsenic) -> None:
    values, _ = arsenic
    logs = np.log10(values)
    q1, med, q3 = np.percentile(logs, [25, 50, 75])
    lower, upper = q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1)
    inside = values[(logs >= lower) & (logs <= upper)]
    box_ax = as_figure.axes[1]

    fences = sorted(ln.get_xdata()[0] for ln in _lines(box_ax, "fence"))
    np.testing.assert_allclose(fences, [10**lower, 10**upper], rtol=1e-12)
    whiskers = _lines(box_ax, "whisker")
    ends = sorted(v for ln in whiskers for v in ln.get_xdata())
    np.testing.assert_allclose([ends[0], ends[-1]], [inside.min(), inside.max()], rtol=1e-12)
    caps = sorted(ln.get_xdata()[0] for ln in _lines(box_ax, "cap"))
    np.testing.assert_allclose(caps, [inside.min(), inside.max()], rtol=1e-12)
    (box,) = [p for p in box_ax.patches if isinstance(p, Rectangle) and p.get_gid() == "box"]
    np.testing.assert_allclose(
        [box.get_x(), box.get_x() + box.get_width()], [10**q1, 10**q3], rtol=1e-12
    )
    (median,) = _lines(box_ax, "median")
    assert median.get_xdata()[0] == pytest.approx(10**med, rel=1e-12)
    outside = (logs < lower) | (logs > upper)
    drawn = sum(
        len(ln.get_xdata())
        for ln in box_ax.get_lines()
        if ln.get_gid() in ("outliers", "outliers-censored")
    )
    assert drawn == outside.sum() > 0

    from chemearth.stats.summary import tukey_fences  # the library's threshold agrees with the plot

    assert tukey_fences(values).upper == pytest.approx(10**upper, rel=1e-12)


def test_ecdf_draws_censored_values_as_open_symbols_at_their_limit(as_figure, arsenic) -> None:
    values, censored = arsenic
    ecdf = as_figure.axes[2]
    (open_,) = _lines(ecdf, "ecdf-censored")
    (filled,) = _lines(ecdf, "ecdf-detected")
    assert open_.get_markerfacecolor() == "none"
    assert filled.get_markerfacecolor() != "none"
    assert len(open_.get_xdata()) == censored.sum() == 56
    assert len(filled.get_xdata()) == (~censored).sum()
    np.testing.assert_array_equal(np.sort(open_.get_xdata()), np.sort(values[censored]))
    (step,) = _lines(ecdf, "ecdf")
    np.testing.assert_array_equal(step.get_xdata(), np.sort(values))
    np.testing.assert_allclose(step.get_ydata(), 100 * np.arange(1, values.size + 1) / values.size)
    (dl,) = _lines(ecdf, "dl")
    assert dl.get_xdata()[0] == pytest.approx(0.6)


def test_png_and_svg_are_valid(as_figure) -> None:
    png = figure_png(as_figure, dpi=50)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(io.BytesIO(png)) as im:
        im.verify()
    with Image.open(io.BytesIO(png)) as im:
        w, h = as_figure.get_size_inches()
        assert im.size == (round(w * 50), round(h * 50))
    svg = figure_svg(as_figure)
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"


def test_uncensored_linear_plot_of_meuse_zinc(store) -> None:
    m = store.measurements("meuse", elements=["Zn"])
    fig = distribution_figure(m["value"], element="Zn", unit="mg/kg", log=False, title="Zn")
    hist, box, ecdf = fig.axes
    assert hist.get_xscale() == "linear"
    assert fig.get_suptitle() == "Zn"
    assert not _lines(ecdf, "ecdf-censored")
    assert not _lines(ecdf, "dl")
    counts, _ = np.histogram(m["value"].to_numpy(), bins="auto")
    np.testing.assert_array_equal([p.get_height() for p in hist.containers[0]], counts)
    assert len(hist.containers) == 1  # nothing censored, no hatched bars
    q1, q3 = np.percentile(m["value"], [25, 75])
    fences = sorted(ln.get_xdata()[0] for ln in _lines(box, "fence"))
    np.testing.assert_allclose(fences, [q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1)])


@pytest.mark.skipif(
    cjk_font_family() is None,
    reason="no CJK font installed (Debian: apt-get install fonts-wqy-microhei)",
)
def test_chinese_labels_render_with_a_cjk_font(arsenic) -> None:
    values, censored = arsenic
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing glyph would warn
        fig = distribution_figure(values, censored, element="As", unit="mg/kg", lang="zh")
        png = figure_png(fig, dpi=40)
    hist, box, ecdf = fig.axes
    assert "直方图" in hist.get_title()
    assert "箱线图" in box.get_title()
    assert hist.get_ylabel() == "频数"
    assert ecdf.get_ylabel() == "累积频率 (%)"
    assert ecdf.get_xlabel() == "As 含量 (mg/kg)"
    assert "低于检出限" in fig.get_suptitle()
    assert cjk_font_family() in hist.title.get_fontfamily()
    assert png[:4] == b"\x89PNG"


def test_without_a_cjk_font_chinese_falls_back_to_english(arsenic, monkeypatch) -> None:
    monkeypatch.setattr(plots, "cjk_font_family", lambda: None)
    values, censored = arsenic
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = distribution_figure(values, censored, element="As", unit="mg/kg", lang="zh")
        figure_png(fig, dpi=30)
    assert fig.axes[0].get_title() == "Histogram and density"


def test_values_at_or_below_zero_are_noted_on_a_log_plot() -> None:
    fig = distribution_figure([0.0, -1.0, 2.0, 3.0, 5.0], element="Cd", unit="mg/kg")
    assert fig.get_supxlabel() == "not shown on the log scale: 2 value(s) ≤ 0"
    assert sum(p.get_height() for p in fig.axes[0].containers[0]) == 3


@pytest.mark.parametrize(
    ("values", "kwargs", "message"),
    [
        ([0.0, -2.0, np.nan], {}, "no finite positive values"),
        ([np.nan, np.nan], {"log": False}, "no finite values"),
        ([1.0, np.inf], {}, "infinite values are not allowed"),
        ([], {}, "no finite positive values"),
        ([1.0, 2.0], {"censored": [True]}, "censored: shape"),
        ([[1.0, 2.0]], {}, "expected a 1-D array"),
    ],
)
def test_bad_values_are_refused(values, kwargs, message) -> None:
    with pytest.raises(StatisticsError, match=message):
        distribution_figure(values, element="Cu", unit="mg/kg", **kwargs)


def test_unknown_language_is_refused() -> None:
    with pytest.raises(PlotError, match="unknown language 'fr'"):
        distribution_figure([1.0, 2.0], element="Cu", unit="mg/kg", lang="fr")


def test_figures_can_be_drawn_in_several_threads(arsenic) -> None:
    values, censored = arsenic

    def draw() -> bytes:
        fig = distribution_figure(values, censored, element="As", unit="mg/kg")
        return figure_png(fig, dpi=40)

    expected = draw()
    results: list[bytes] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            results.append(draw())
        except BaseException as exc:  # any failure of a thread
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert results == [expected] * 4
