"""Probability plots and scatterplot matrices of real survey values.

Every drawn number is checked against an independent computation on the raw files, read
here with pandas, not through chemearth: the sorted values and Hazen plotting positions
(``scipy.stats.mstats.plotting_positions`` with alpha = beta = 0.5, then
``scipy.stats.norm.ppf``), the quartiles (``statistics.quantiles``, method "inclusive" =
type 7) and Spearman's r_s (``scipy.stats.spearmanr`` on the complete rows).

Data: USGS DS-801 0–5 cm soils (``"<x"`` strings below the detection limit, ``N.S.`` for the
16 sites not sampled; As: 4,841 analyses, 56 below a DL of 0.6 and 4 measured at 0.6) and the
Kola C-horizon (606 samples, no missing values).
"""

from __future__ import annotations

import io
import statistics
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import same_color
from matplotlib.lines import Line2D
from PIL import Image
from scipy import stats
from scipy.stats.mstats import plotting_positions

from chemearth.errors import StatisticsError
from chemearth.render import exploratory, plots
from chemearth.render.exploratory import probability_figure, scatter_matrix_figure
from chemearth.render.plots import PlotError, cjk_font_family, figure_png, figure_svg

KOLA_ELEMENTS = ["Cu", "Ni", "Cr", "Co", "As", "Pb", "Zn", "Fe"]
DS801_ELEMENTS = ["As", "Cu", "Ni", "Co", "Pb"]

needs_cjk = pytest.mark.skipif(
    cjk_font_family() is None,
    reason="no CJK font installed (Debian: apt-get install fonts-wqy-microhei)",
)


# --------------------------------------------------------------------------- data


def _read_ds801(data_dir: Path, elements: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Values (censored ones at their DL, NaN where not sampled) and censoring flags."""
    raw = pd.read_csv(
        data_dir / "usgs_ds801" / "ds801_top5_raw.csv",
        dtype=str,
        usecols=[f"Top5_{e}" for e in elements],
    )[[f"Top5_{e}" for e in elements]]
    raw.columns = elements
    raw = raw.mask(raw == "N.S.")
    censored = raw.apply(lambda s: s.str.startswith("<", na=False))
    values = raw.apply(lambda s: pd.to_numeric(s.str.removeprefix("<")))
    return values, censored


@pytest.fixture(scope="module")
def ds801(data_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    return _read_ds801(data_dir, DS801_ELEMENTS)


@pytest.fixture(scope="module")
def arsenic(ds801) -> tuple[np.ndarray, np.ndarray]:
    values, censored = ds801
    sampled = values["As"].notna().to_numpy()
    x, c = values["As"].to_numpy()[sampled], censored["As"].to_numpy()[sampled]
    assert (x.size, c.sum(), (x[~c] == 0.6).sum()) == (4841, 56, 4)
    return x, c


@pytest.fixture(scope="module")
def kola(data_dir: Path) -> pd.DataFrame:
    frame = pd.read_csv(data_dir / "kola" / "chorizon.csv")[KOLA_ELEMENTS]
    assert frame.shape == (606, 8)
    return frame


@pytest.fixture(scope="module")
def as_probability(arsenic):
    return probability_figure(*arsenic, element="As", unit="mg/kg")


def _gid(ax, gid: str) -> list[Line2D]:
    return [ln for ln in ax.get_lines() if ln.get_gid() == gid]


def _points(ax, prefix: str) -> tuple[np.ndarray, np.ndarray]:
    """x and y of every point drawn with gid ``{prefix}-detected`` or ``{prefix}-censored``."""
    lines = _gid(ax, f"{prefix}-detected") + _gid(ax, f"{prefix}-censored")
    x = np.concatenate([np.asarray(ln.get_xdata(), dtype=float) for ln in lines])
    y = np.concatenate([np.asarray(ln.get_ydata(), dtype=float) for ln in lines])
    return x, y


def _hazen_quantiles(n: int) -> np.ndarray:
    positions = plotting_positions(np.arange(n, dtype=float), alpha=0.5, beta=0.5)
    return stats.norm.ppf(np.asarray(positions))


def _spearman_texts(ax) -> list[str]:
    return [t.get_text() for t in ax.texts if t.get_gid() == "spearman"]


# --------------------------------------------------------------------------- probability plot


def _probability_cases(arsenic, kola) -> dict[str, tuple[np.ndarray, np.ndarray | None, bool]]:
    values, censored = arsenic
    return {
        "DS-801 As, censored, log": (values, censored, True),
        "DS-801 As, censored, linear": (values, censored, False),
        "Kola Cu, log": (kola["Cu"].to_numpy(), None, True),
        "Kola Ni, linear": (kola["Ni"].to_numpy(), None, False),
        "Kola Fe, first 150 samples": (kola["Fe"].to_numpy()[:150], None, True),
    }


CASES = (
    "DS-801 As, censored, log",
    "DS-801 As, censored, linear",
    "Kola Cu, log",
    "Kola Ni, linear",
    "Kola Fe, first 150 samples",
)


@pytest.mark.parametrize("case", CASES)
def test_points_are_the_sorted_values_at_hazen_normal_quantiles(case, arsenic, kola) -> None:
    values, censored, log = _probability_cases(arsenic, kola)[case]
    fig = probability_figure(values, censored, element="X", unit="mg/kg", log=log)
    (ax,) = fig.axes
    x, y = _points(ax, "prob")
    order = np.argsort(y)
    np.testing.assert_array_equal(x[order], np.sort(values))
    np.testing.assert_allclose(y[order], _hazen_quantiles(values.size), rtol=0, atol=1e-12)
    assert ax.get_xscale() == ("log" if log else "linear")


@pytest.mark.parametrize("case", CASES)
def test_reference_line_passes_through_the_quartiles(case, arsenic, kola) -> None:
    values, censored, log = _probability_cases(arsenic, kola)[case]
    fig = probability_figure(values, censored, element="X", unit="mg/kg", log=log)
    (line,) = _gid(fig.axes[0], "reference")
    work = np.log10 if log else np.asarray
    lx, lz = work(np.asarray(line.get_xdata(), dtype=float)), np.asarray(line.get_ydata())
    q1, _, q3 = statistics.quantiles(work(values).tolist(), n=4, method="inclusive")
    slope = (lz[1] - lz[0]) / (lx[1] - lx[0])
    z75 = stats.norm.ppf(0.75)
    assert lz[0] + slope * (q1 - lx[0]) == pytest.approx(-z75, abs=1e-9)
    assert lz[0] + slope * (q3 - lx[0]) == pytest.approx(z75, abs=1e-9)
    assert slope == pytest.approx(2 * z75 / (q3 - q1), rel=1e-9)  # 1/σ of the fitted normal
    assert tuple(lz) == fig.axes[0].get_ylim()  # drawn across the whole probability axis


@pytest.mark.parametrize(
    ("n", "percents"),
    [
        (150, [1, 5, 10, 25, 50, 75, 90, 95, 99]),
        (199, [1, 5, 10, 25, 50, 75, 90, 95, 99]),
        (200, [0.1, 1, 5, 10, 25, 50, 75, 90, 95, 99, 99.9]),
        (606, [0.1, 1, 5, 10, 25, 50, 75, 90, 95, 99, 99.9]),
    ],
)
def test_probability_axis_is_labelled_in_cumulative_percent(kola, n, percents) -> None:
    values = kola["Cu"].to_numpy()[:n]
    (ax,) = probability_figure(values, element="Cu", unit="mg/kg").axes
    np.testing.assert_allclose(ax.get_yticks(), stats.norm.ppf(np.array(percents) / 100))
    assert [t.get_text() for t in ax.get_yticklabels()] == [f"{p:g}" for p in percents]
    assert ax.get_ylabel() == "Cumulative probability (%)"
    lo, hi = ax.get_ylim()
    z = _hazen_quantiles(n)
    assert lo < min(z[0], ax.get_yticks()[0])
    assert hi > max(z[-1], ax.get_yticks()[-1])


def test_censored_values_are_open_markers_at_their_limit_ranked_below_it(
    as_probability, arsenic
) -> None:
    values, censored = arsenic
    (ax,) = as_probability.axes
    (open_,) = _gid(ax, "prob-censored")
    (filled,) = _gid(ax, "prob-detected")
    assert open_.get_markerfacecolor() == "none"
    assert filled.get_markerfacecolor() != "none"
    np.testing.assert_array_equal(open_.get_xdata(), values[censored])  # all 56 at DL 0.6
    assert len(filled.get_xdata()) == 4841 - 56
    # "<0.6" is below a value measured at 0.6: the 56 take the ranks 1..56 (no detected
    # value is smaller than 0.6), the four measured 0.6 the ranks 57..60
    z = _hazen_quantiles(values.size)
    np.testing.assert_allclose(open_.get_ydata(), z[:56], atol=1e-12)
    at_dl = np.asarray(filled.get_xdata()) == 0.6
    np.testing.assert_allclose(np.asarray(filled.get_ydata())[at_dl], z[56:60], atol=1e-12)
    (dl,) = _gid(ax, "dl")
    assert dl.get_xdata()[0] == pytest.approx(0.6)


def test_probability_labels_title_and_legend(as_probability) -> None:
    fig = as_probability
    (ax,) = fig.axes
    assert ax.get_title() == "Cumulative probability plot"
    assert ax.get_xlabel() == "As (mg/kg)"
    assert fig.get_suptitle() == "As: n = 4841, 56 below detection limit"
    assert {"1", "10", "100"} <= {t.get_text() for t in ax.get_xticklabels()}
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == [
        "detected",
        "below detection limit (at DL)",
        "largest detection limit",
        "lognormal line through the quartiles",
    ]


def test_uncensored_probability_plot_has_no_limit_line(kola) -> None:
    fig = probability_figure(kola["Ni"], element="Ni", unit="mg/kg", log=False)
    (ax,) = fig.axes
    assert not _gid(ax, "prob-censored")
    assert not _gid(ax, "dl")
    assert ax.get_legend().get_texts()[-1].get_text() == "normal line through the quartiles"


def test_values_at_or_below_zero_are_left_out_of_a_log_probability_plot(kola) -> None:
    values = np.concatenate([[0.0, -1.0], kola["Cu"].to_numpy()])
    fig = probability_figure(values, element="Cu", unit="mg/kg")
    assert fig.get_supxlabel() == "not shown on the log scale: 2 value(s) ≤ 0"
    x, y = _points(fig.axes[0], "prob")
    assert x.size == 606
    np.testing.assert_allclose(np.sort(y), _hazen_quantiles(606), atol=1e-12)


def test_constant_values_draw_no_reference_line() -> None:
    fig = probability_figure([2.0, 2.0, 2.0], element="Cd", unit="mg/kg")
    assert not _gid(fig.axes[0], "reference")


@pytest.mark.parametrize(
    ("values", "kwargs", "error", "message"),
    [
        ([0.0, -2.0, np.nan], {}, StatisticsError, "no finite positive values"),
        ([np.nan], {"log": False}, StatisticsError, "no finite values"),
        ([1.0, np.inf], {}, StatisticsError, "infinite values are not allowed"),
        ([1.0, 2.0], {"censored": [True]}, StatisticsError, "censored: shape"),
        ([1.0, 2.0], {"lang": "fr"}, PlotError, "unknown language 'fr'"),
    ],
)
def test_probability_figure_refuses_bad_input(values, kwargs, error, message) -> None:
    with pytest.raises(error, match=message):
        probability_figure(values, element="Cu", unit="mg/kg", **kwargs)


# --------------------------------------------------------------------------- scatterplot matrix


@pytest.mark.parametrize("k", [2, 3, 5, 8])
def test_matrix_has_k_by_k_panels_with_histograms_on_the_diagonal(kola, k) -> None:
    frame = kola[KOLA_ELEMENTS[:k]]
    fig = scatter_matrix_figure(frame, units="mg/kg")
    assert len(fig.axes) == k * k
    for idx, ax in enumerate(fig.axes):
        i, j = divmod(idx, k)
        assert ax.get_xscale() == "log"
        if i == j:
            assert [t.get_text() for t in ax.texts] == [KOLA_ELEMENTS[i]]
            heights = np.array([p.get_height() for p in ax.containers[0]])
            counts, _ = np.histogram(np.log10(frame.iloc[:, i]), bins="auto")
            if counts.size <= 30:
                np.testing.assert_array_equal(heights, counts)
            assert heights.sum() == 606
            assert not ax.get_lines()
        else:
            assert ax.get_yscale() == "log"
            x, y = _points(ax, "scatter")
            assert x.size == 606
            np.testing.assert_array_equal(np.sort(x), np.sort(frame.iloc[:, j]))
            np.testing.assert_array_equal(np.sort(y), np.sort(frame.iloc[:, i]))


@pytest.mark.parametrize(
    ("elements", "log"),
    [
        (["Cu", "Ni"], True),
        (["Cu", "Ni", "Cr", "Co", "As"], True),
        (["As", "Pb", "Zn"], False),
        (KOLA_ELEMENTS, True),
    ],
)
def test_spearman_in_each_lower_panel_is_scipys(kola, elements, log) -> None:
    k = len(elements)
    fig = scatter_matrix_figure(kola[elements], log=log)
    for idx, ax in enumerate(fig.axes):
        i, j = divmod(idx, k)
        texts = _spearman_texts(ax)
        if i <= j:
            assert texts == []
            continue
        (text,) = texts
        label, printed = text.split(" = ")
        assert label == "rₛ"
        expected = stats.spearmanr(kola[elements[i]], kola[elements[j]]).statistic
        assert float(printed) == pytest.approx(expected, abs=0.005 + 1e-12)
        assert printed == f"{expected:.2f}"


def test_correlations_use_all_complete_rows_and_points_a_seeded_subsample(ds801) -> None:
    values, censored = ds801
    complete = values.notna().all(axis=1).to_numpy()
    assert complete.sum() == 4841  # the 16 sites not sampled are left out
    fig = scatter_matrix_figure(values, censored=censored, units="mg/kg", max_points=1000)
    assert fig.get_suptitle().startswith("Scatterplot matrix: n = 4841 complete samples, 1000")
    assert fig.get_supxlabel() == "left out: 16 sample(s) with a missing value"
    k = len(DS801_ELEMENTS)
    full = values[complete]
    for idx, ax in enumerate(fig.axes):
        i, j = divmod(idx, k)
        if i == j:
            assert sum(p.get_height() for p in ax.containers[0]) == 4841  # every row
            continue
        x, y = _points(ax, "scatter")
        assert x.size == 1000
        pairs = set(zip(full.iloc[:, j], full.iloc[:, i], strict=True))
        assert set(zip(x, y, strict=True)) <= pairs  # drawn points are complete rows
        if i > j:
            (text,) = _spearman_texts(ax)
            r = stats.spearmanr(full.iloc[:, i], full.iloc[:, j]).statistic
            assert text == f"rₛ = {r:.2f}"


@pytest.mark.parametrize(
    ("seed", "same"),
    [(0, True), (1, False)],
)
def test_subsample_is_reproducible_by_seed(kola, seed, same) -> None:
    frame = kola[["Cu", "Ni"]]
    first = _points(scatter_matrix_figure(frame, max_points=100).axes[2], "scatter")
    again = _points(scatter_matrix_figure(frame, max_points=100, seed=seed).axes[2], "scatter")
    assert first[0].size == again[0].size == 100
    assert np.array_equal(first[0], again[0]) is same


def test_censored_points_are_grey_at_their_limit(ds801) -> None:
    values, censored = ds801
    complete = values.notna().all(axis=1).to_numpy()
    vals, cens = values[complete], censored[complete]
    fig = scatter_matrix_figure(values, censored=censored)
    k = len(DS801_ELEMENTS)
    for idx, ax in enumerate(fig.axes):
        i, j = divmod(idx, k)
        if i == j:
            hatched = ax.containers[1]  # the censored part of the histogram
            assert sum(p.get_height() for p in hatched) == cens.iloc[:, i].sum()
            continue
        either = (cens.iloc[:, i] | cens.iloc[:, j]).to_numpy()
        (grey,) = _gid(ax, "scatter-censored")
        (blue,) = _gid(ax, "scatter-detected")
        assert same_color(grey.get_color(), "#6b6b6b")
        assert not same_color(blue.get_color(), "#6b6b6b")
        assert len(grey.get_xdata()) == either.sum() > 0
        np.testing.assert_array_equal(grey.get_xdata(), vals.iloc[:, j].to_numpy()[either])
        np.testing.assert_array_equal(grey.get_ydata(), vals.iloc[:, i].to_numpy()[either])
    assert [t.get_text() for t in fig.legends[0].get_texts()] == [
        "detected",
        "below detection limit in x or y (at DL)",
    ]


def test_value_labels_on_the_outer_panels_only(kola) -> None:
    k = 4
    fig = scatter_matrix_figure(kola[KOLA_ELEMENTS[:k]], units={"Cu": "mg/kg", "Ni": "mg/kg"})
    xlabels = [ax.get_xlabel() for ax in fig.axes]
    ylabels = [ax.get_ylabel() for ax in fig.axes]
    assert xlabels[-k:] == ["Cu (mg/kg)", "Ni (mg/kg)", "Cr", "Co"]
    assert not any(xlabels[:-k])
    assert ylabels[k - 1] == "Cu (mg/kg)"  # row 0: on the right, its left panel is a histogram
    assert [ylabels[i * k] for i in range(1, k)] == ["Ni (mg/kg)", "Cr", "Co"]
    assert sum(bool(label) for label in ylabels) == k


@pytest.mark.parametrize(
    ("zeros", "nans", "log", "note"),
    [
        (0, 0, True, ""),
        (3, 0, True, "left out: 3 sample(s) with a value ≤ 0 (log scale)"),
        (3, 0, False, ""),
        (0, 2, False, "left out: 2 sample(s) with a missing value"),
        (
            3,
            2,
            True,
            "left out: 2 sample(s) with a missing value; 3 sample(s) with a value ≤ 0 (log scale)",
        ),
    ],
)
def test_left_out_rows_are_counted_by_reason(kola, zeros, nans, log, note) -> None:
    frame = kola[["Cu", "Ni", "Cr"]].copy()
    frame.iloc[:zeros, 0] = 0.0  # Kola C-horizon has no zero: set some, as a digitising slip
    frame.iloc[zeros : zeros + nans, 2] = np.nan
    fig = scatter_matrix_figure(frame, log=log)
    assert fig.get_supxlabel() == note
    kept = frame.dropna()
    kept = kept[(kept > 0).all(axis=1)] if log else kept
    assert fig.get_suptitle().startswith(f"Scatterplot matrix: n = {len(kept)} complete")
    (text,) = _spearman_texts(fig.axes[3])
    assert text == f"rₛ = {stats.spearmanr(kept['Ni'], kept['Cu']).statistic:.2f}"


def test_a_constant_element_has_no_rank_correlation(kola) -> None:
    frame = kola[["Cu", "Ni"]].assign(Ni=1.0)
    (text,) = _spearman_texts(scatter_matrix_figure(frame).axes[2])
    assert text == "rₛ = n/a"


def _bad(kola: pd.DataFrame, ds801: tuple[pd.DataFrame, pd.DataFrame], case: str) -> dict:
    values, censored = ds801
    cases: dict[str, dict] = {
        "one column": {"frame": kola[["Cu"]]},
        "no columns": {"frame": kola[[]]},
        "nine columns": {"frame": kola.assign(V=kola["Cu"])},
        "duplicate columns": {"frame": kola[["Cu", "Cu", "Ni"]]},
        "not a frame": {"frame": kola["Cu"].to_numpy()},
        "not numeric": {"frame": kola[["Cu"]].assign(As=kola["As"].astype(str) + " mg")},
        "infinite": {
            "frame": kola[["Cu", "Ni"]].assign(Ni=kola["Ni"].where(kola.index != 5, np.inf))
        },
        "no complete rows": {"frame": kola[["Cu", "Ni"]].assign(Ni=np.nan)},
        "zeros on a log scale": {"frame": kola[["Cu", "Ni"]].assign(Ni=0.0)},
        "missing and zeros": {"frame": kola[["Cu", "Ni"]].assign(Ni=[0.0] * 6 + [np.nan] * 600)},
        "censored lacks a column": {"frame": values, "censored": censored.drop(columns="As")},
        "censored other index": {"frame": values, "censored": censored.iloc[1:]},
        "censored not boolean": {"frame": values, "censored": censored.astype(str)},
        "max_points zero": {"frame": values, "max_points": 0},
        "unknown language": {"frame": values, "lang": "fr"},
    }
    return cases[case]


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("one column", r"needs 2 to 8 element columns, got 1 \(Cu\)"),
        ("no columns", "needs 2 to 8 element columns, got 0$"),
        ("nine columns", "needs 2 to 8 element columns, got 9 "),
        ("duplicate columns", "duplicate columns Cu"),
        ("not a frame", "expected a pandas DataFrame, got ndarray"),
        ("not numeric", "column 'As' is not numeric"),
        ("infinite", "column 'Ni' has infinite values"),
        ("no complete rows", "no complete rows; each of the 606 rows has a missing value in"),
        ("zeros on a log scale", r"each of the 606 rows has a value <= 0 \(log scale\) in"),
        ("missing and zeros", "of the 606 rows, 600 have a missing value and 6 a value <= 0"),
        ("censored lacks a column", "censored: no column for As"),
        ("censored other index", "censored: its index differs"),
        ("censored not boolean", "censored: column 'As' is not boolean"),
        ("max_points zero", "max_points: must be at least 1, got 0"),
        ("unknown language", "unknown language 'fr'"),
    ],
)
def test_scatter_matrix_refuses_bad_input(kola, ds801, case, message) -> None:
    kwargs = _bad(kola, ds801, case)
    with pytest.raises(PlotError, match=message):
        scatter_matrix_figure(**kwargs)


def test_no_complete_rows_in_real_data_names_the_columns(data_dir: Path) -> None:
    """DS-801's mineralogy columns are empty for the 0–5 cm layer."""
    values, _ = _read_ds801(data_dir, ["As", "Quartz"])
    with pytest.raises(PlotError, match="4857 rows has a missing value in one of As, Quartz"):
        scatter_matrix_figure(values)


# --------------------------------------------------------------------------- both


@needs_cjk
def test_chinese_labels(arsenic, ds801) -> None:
    values, censored = ds801
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing glyph would warn
        prob = probability_figure(*arsenic, element="As", unit="mg/kg", lang="zh")
        matrix = scatter_matrix_figure(values, censored=censored, units="mg/kg", lang="zh")
        figure_png(prob, dpi=30)
        figure_png(matrix, dpi=30)
    (ax,) = prob.axes
    assert ax.get_title() == "累积概率图"
    assert ax.get_ylabel() == "累积概率 (%)"
    assert ax.get_xlabel() == "As 含量 (mg/kg)"
    assert "过四分位数的对数正态分布线" in [t.get_text() for t in ax.get_legend().get_texts()]
    assert "低于检出限 56 个" in prob.get_suptitle()
    assert matrix.get_suptitle().startswith("散点图矩阵：完整样品 n = 4841")
    assert matrix.get_supxlabel() == "未计入：16 个含缺失值的样品"
    assert matrix.axes[-1].get_xlabel() == "Pb 含量 (mg/kg)"
    assert cjk_font_family() in ax.title.get_fontfamily()


def test_without_a_cjk_font_chinese_falls_back_to_english(kola, monkeypatch) -> None:
    monkeypatch.setattr(plots, "cjk_font_family", lambda: None)
    prob = probability_figure(kola["Cu"], element="Cu", unit="mg/kg", lang="zh")
    matrix = scatter_matrix_figure(kola[["Cu", "Ni"]], lang="zh")
    assert prob.axes[0].get_title() == "Cumulative probability plot"
    assert matrix.get_suptitle().startswith("Scatterplot matrix")


@pytest.mark.parametrize("kind", ["probability", "matrix"])
def test_png_and_svg_render(kind, arsenic, ds801) -> None:
    if kind == "probability":
        fig = probability_figure(*arsenic, element="As", unit="mg/kg")
    else:
        fig = scatter_matrix_figure(ds801[0], censored=ds801[1], units="mg/kg", max_points=500)
    png = figure_png(fig, dpi=40)
    with Image.open(io.BytesIO(png)) as im:
        im.verify()
    with Image.open(io.BytesIO(png)) as im:
        w, h = fig.get_size_inches()
        assert im.size == (round(w * 40), round(h * 40))
    root = ET.fromstring(figure_svg(fig))
    assert root.tag == "{http://www.w3.org/2000/svg}svg"


def test_new_figures_are_exported() -> None:
    assert {"probability_figure", "scatter_matrix_figure"} <= set(exploratory.__all__)
