"""Exploratory plots of survey values: distribution, probability plot, scatterplot matrix.

:func:`distribution_figure` draws the three panels geochemists read together (Reimann et
al. 2008, ch. 3), stacked on one shared value axis:

1. a histogram with a Gaussian kernel density curve scaled to the counts;
2. a horizontal Tukey boxplot: box from Q1 to Q3, median, whiskers to the most extreme
   value within the inner fences ``Q1 - 1.5 IQR`` and ``Q3 + 1.5 IQR``, values beyond them
   as outliers, and the fences themselves as dashed lines (the upper inner fence of log10
   data is a threshold Reimann et al. 2005 recommend);
3. the empirical cumulative distribution function, ``i/n`` in % against the sorted values,
   with values below the detection limit drawn as open circles at their limit.

With ``log=True`` (the default) everything is computed on log10 values — the bins are of
equal width in log10, the density is estimated on log10 values, the quartiles and fences
are those of log10 values (type 7 percentiles, as :func:`chemearth.stats.summary.tukey_fences`) —
and drawn on a logarithmic axis labelled in the original unit.

Censored values enter at their detection limit (``docs/conventions.md``); the histogram
shows how many of each bin are censored (hatched), and a dotted line marks the largest
detection limit in every panel.

:func:`probability_figure` is the cumulative probability plot of one element (ch. 3.4):
the sorted values against the normal quantile of their plotting position, with a straight
(log)normal line through the quartiles; breaks and bends in the curve show several
populations. :func:`scatter_matrix_figure` draws every pair of 2 to 8 elements (ch. 6.3)
with histograms on the diagonal and Spearman rank correlations in the lower panels.

Figures are built as :class:`matplotlib.figure.Figure` on the Agg canvas, never through
``pyplot``: no global state is touched, so a web server may draw in several threads.
Chinese labels (``lang="zh"``) need a CJK font (Debian: ``fonts-noto-cjk`` or
``fonts-wqy-microhei``); without one the labels fall back to English, so that no glyph is
ever missing (:func:`cjk_font_family` says which font is used).

Examples
--------
>>> fig = distribution_figure([3.0, 5.0, 8.0, 12.0, 40.0], element="Cu", unit="mg/kg")
>>> len(fig.axes), fig.axes[2].get_xlabel()
(3, 'Cu (mg/kg)')
>>> figure_png(fig)[:4]
b'\\x89PNG'

References
----------
Reimann, C., Filzmoser, P. & Garrett, R.G. (2005). Background and threshold: critical
comparison of methods of determination. *Science of the Total Environment* 346, 1–16.

Reimann, C., Filzmoser, P., Garrett, R.G. & Dutter, R. (2008). *Statistical Data Analysis
Explained: Applied Environmental Statistics with R*. Wiley.
"""

from __future__ import annotations

import functools
import io
import math
import shutil
import subprocess
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure, SubFigure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter, NullLocator
from numpy.typing import ArrayLike, NDArray

from chemearth.errors import ChemearthError, StatisticsError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.axis import Axis

__all__ = [
    "LANGUAGES",
    "MAX_BINS",
    "PlotError",
    "cjk_font_family",
    "distribution_figure",
    "figure_png",
    "figure_svg",
]

#: Languages of the labels.
LANGUAGES = ("en", "zh")

#: Largest number of histogram bins (numpy's ``"auto"`` rule, capped).
MAX_BINS = 100


#: CJK font families looked for, best first (Simplified Chinese faces before others).
CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Droid Sans Fallback",
    "AR PL UMing CN",
    "AR PL UKai CN",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
    "Heiti SC",
    "Noto Sans CJK JP",
    "Noto Sans CJK TC",
)

_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "hist": "Histogram and density",
        "box": "Tukey boxplot",
        "ecdf": "Empirical cumulative distribution",
        "count": "Frequency",
        "cum": "Cumulative frequency (%)",
        "value": "{element} ({unit})",
        "samples": "all samples",
        "censored": "below detection limit (at DL)",
        "density": "kernel density",
        "detected": "detected",
        "fence": "Tukey inner fences",
        "dl": "largest detection limit",
        "title": "{element}: n = {n}, {nc} below detection limit",
        "dropped": "not shown on the log scale: {k} value(s) ≤ 0",
        "prob": "Cumulative probability plot",
        "prob_axis": "Cumulative probability (%)",
        "ref_log": "lognormal line through the quartiles",
        "ref_lin": "normal line through the quartiles",
        "element": "{element}",
        "matrix": "Scatterplot matrix: n = {n} complete samples, {m} drawn; "
        "rₛ = Spearman rank correlation",
        "left_out": "left out: {parts}",
        "missing": "{k} sample(s) with a missing value",
        "nonpositive": "{k} sample(s) with a value ≤ 0 (log scale)",
        "sep": "; ",
        "censored_pair": "below detection limit in x or y (at DL)",
        "rs": "rₛ = {r}",
    },
    "zh": {
        "hist": "直方图与核密度曲线",
        "box": "箱线图（Tukey）",
        "ecdf": "经验累积分布",
        "count": "频数",
        "cum": "累积频率 (%)",
        "value": "{element} 含量 ({unit})",
        "samples": "全部样品",
        "censored": "低于检出限（按检出限绘制）",
        "density": "核密度",
        "detected": "检出",
        "fence": "Tukey 内限",
        "dl": "最大检出限",
        "title": "{element}：n = {n}，低于检出限 {nc} 个",
        "dropped": "对数坐标未显示 ≤ 0 的值：{k} 个",
        "prob": "累积概率图",
        "prob_axis": "累积概率 (%)",
        "ref_log": "过四分位数的对数正态分布线",
        "ref_lin": "过四分位数的正态分布线",
        "element": "{element} 含量",
        "matrix": "散点图矩阵：完整样品 n = {n}，绘出 {m} 个；rₛ 为 Spearman 秩相关系数",
        "left_out": "未计入：{parts}",
        "missing": "{k} 个含缺失值的样品",
        "nonpositive": "{k} 个含 ≤ 0 值的样品（对数坐标）",
        "sep": "；",
        "censored_pair": "x 或 y 低于检出限（按检出限绘制）",
        "rs": "rₛ = {r}",
    },
}

_BAR = "#9ecae1"
_CENSORED = "#6b6b6b"
_LINE = "#08519c"
_FENCE = "#d95f02"


class PlotError(ChemearthError, ValueError):
    """A plot that cannot be drawn as asked: an unknown option (e.g. a language) or a table
    unfit for it (e.g. too few columns or no complete row)."""

    exit_code = 2


# --------------------------------------------------------------------------- fonts

_font_lock = threading.Lock()


@functools.cache
def cjk_font_family() -> str | None:
    """The family name of an installed font with Chinese glyphs, or None.

    Looks first among the fonts matplotlib knows, then asks fontconfig (``fc-list
    :lang=zh``) for fonts installed after matplotlib built its font cache and registers
    them. The answer is cached for the life of the process.

    Examples
    --------
    >>> cjk_font_family() is None or isinstance(cjk_font_family(), str)
    True
    """
    from matplotlib import font_manager

    with _font_lock:
        found = _known_cjk_family(font_manager.fontManager.ttflist)
        if found is not None:
            return found
        for path in _fontconfig_zh_files():
            try:
                font_manager.fontManager.addfont(path)
            except (OSError, RuntimeError, ValueError):
                continue
        return _known_cjk_family(font_manager.fontManager.ttflist)


def _known_cjk_family(entries: list[Any]) -> str | None:
    by_name: dict[str, str] = {str(e.name): str(e.fname) for e in entries}
    for family in CJK_FAMILIES:
        path = by_name.get(family)
        if path is not None and _has_glyph(path, "频"):
            return family
    return None


def _has_glyph(path: str, char: str) -> bool:
    from matplotlib.ft2font import FT2Font

    try:
        return bool(FT2Font(path).get_char_index(ord(char)))
    except (OSError, RuntimeError, ValueError):
        return False


def _fontconfig_zh_files() -> list[str]:
    exe = shutil.which("fc-list")
    if exe is None:
        return []
    try:
        out = subprocess.run(
            [exe, ":lang=zh", "file"], capture_output=True, text=True, timeout=20, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    files = {line.strip().rstrip(":").strip() for line in out.splitlines() if line.strip()}
    return sorted(f for f in files if f.lower().endswith((".ttf", ".otf", ".ttc")))


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class _Data:
    x: NDArray[np.float64]  # values on the data scale, sorted
    c: NDArray[np.bool_]  # censored flags, same order
    y: NDArray[np.float64]  # working scale: log10(x) or x
    dropped: int  # values <= 0 left out of a log plot


def _prepare(values: ArrayLike, censored: ArrayLike | None, log: bool) -> _Data:
    from chemearth.stats.censored import checked_values

    x, c = checked_values(values, censored)  # the checks of the censored-data statistics
    dropped = 0
    if log:
        positive = x > 0
        dropped = int((~positive).sum())
        x, c = x[positive], c[positive]
        if x.size == 0:
            raise StatisticsError(
                "no finite positive values to plot on a log scale "
                f"({dropped} values <= 0); use log=False"
            )
    elif x.size == 0:
        raise StatisticsError("no finite values to plot")
    order = np.argsort(x, kind="stable")
    x, c = x[order], c[order]
    y = np.log10(x) if log else x.copy()
    return _Data(x, c, y, dropped)


def _back(y: NDArray[np.float64] | float, log: bool) -> Any:
    return np.power(10.0, y) if log else y


# --------------------------------------------------------------------------- figure


def distribution_figure(
    values: ArrayLike,
    censored: ArrayLike | None = None,
    *,
    element: str,
    unit: str,
    title: str | None = None,
    log: bool = True,
    lang: str = "en",
    figure: Figure | SubFigure | None = None,
) -> Figure:
    """Histogram with density, Tukey boxplot and ECDF of one element's values.

    Parameters
    ----------
    values : array_like
        Values in ``unit``; censored values at their detection limit. NaN are left out.
    censored : array_like of bool, optional
        True where a value is below its detection limit.
    element, unit : str
        Label of the value axis, e.g. ``"Cu"`` and ``"mg/kg"``.
    title : str, optional
        Figure title; by default the element, n and the number below detection.
    log : bool
        Work on log10 values and draw a logarithmic axis (default). Values <= 0 are then
        left out and counted in a note under the figure.
    lang : {"en", "zh"}
        Label language. Chinese needs a CJK font (:func:`cjk_font_family`); without one
        the labels are English.
    figure : Figure or SubFigure, optional
        Draw into this (e.g. a sub-figure of an atlas page) instead of a new figure; the
        figure holding it is returned.

    Returns
    -------
    matplotlib.figure.Figure
        Three axes, top to bottom: histogram (``axes[0]``; its first bar container holds
        all values, the second the censored ones), boxplot (``axes[1]``), ECDF
        (``axes[2]``). Artists carry gids: ``kde``, ``box``, ``median``, ``whisker``,
        ``cap``, ``fence``, ``outliers``, ``ecdf``, ``ecdf-detected``, ``ecdf-censored``,
        ``dl``.

    Raises
    ------
    StatisticsError
        No finite (with ``log``: finite positive) value, or inputs of the wrong shape.
    PlotError
        An unknown ``lang``.

    Examples
    --------
    >>> fig = distribution_figure([0.5, 1.0, 2.0, 4.0], [True, False, False, False],
    ...                           element="Cd", unit="mg/kg")
    >>> [ax.get_title() for ax in fig.axes]
    ['Histogram and density', 'Tukey boxplot', 'Empirical cumulative distribution']
    """
    labels, fonts = _language(lang)
    data = _prepare(values, censored, log)

    fig: Figure | SubFigure
    if figure is None:
        fig = Figure(figsize=(7.0, 8.0), layout="constrained")
        FigureCanvasAgg(fig)
    else:
        fig = figure
    ax_hist, ax_box, ax_ecdf = fig.subplots(
        3, 1, sharex=True, gridspec_kw={"height_ratios": [3.0, 1.2, 3.0]}
    )
    _histogram(ax_hist, data, log, labels, fonts)
    _boxplot(ax_box, data, log, labels, fonts)
    _ecdf(ax_ecdf, data, labels, fonts)

    lo, hi = float(data.x[0]), float(data.x[-1])
    for ax in (ax_hist, ax_box, ax_ecdf):
        if log:
            _log_axis(ax, lo, hi)
        if data.c.any():
            ax.axvline(float(data.x[data.c].max()), color=_CENSORED, lw=0.9, ls=":", gid="dl")
        ax.tick_params(labelbottom=ax is not ax_box)
    ax_ecdf.set_xlabel(labels["value"].format(element=element, unit=unit), **fonts)

    heading = title or labels["title"].format(
        element=element, n=int(data.x.size), nc=int(data.c.sum())
    )
    fig.suptitle(heading, **fonts)
    if data.dropped:
        fig.supxlabel(labels["dropped"].format(k=data.dropped), fontsize=8, **fonts)
    return fig.figure if isinstance(fig, SubFigure) else fig


def _language(lang: str) -> tuple[dict[str, str], dict[str, Any]]:
    """The labels and font keywords of ``lang``; English when no CJK font is installed."""
    if lang not in LANGUAGES:
        raise PlotError(f"unknown language {lang!r}; choose one of {', '.join(LANGUAGES)}")
    family = cjk_font_family() if lang == "zh" else None
    if lang == "zh" and family is None:
        lang = "en"  # no font with Chinese glyphs: English rather than missing glyphs
    fonts: dict[str, Any] = {"fontfamily": ["DejaVu Sans", family]} if family else {}
    return _LABELS[lang], fonts


def _histogram(
    ax: Axes, data: _Data, log: bool, labels: dict[str, str], fonts: dict[str, Any]
) -> None:
    edges = np.histogram_bin_edges(data.y, bins="auto")
    if edges.size - 1 > MAX_BINS:
        edges = np.histogram_bin_edges(data.y, bins=MAX_BINS)
    counts, _ = np.histogram(data.y, bins=edges)
    n_cens, _ = np.histogram(data.y[data.c], bins=edges)
    left, right = _back(edges[:-1], log), _back(edges[1:], log)
    ax.bar(
        left,
        counts,
        width=right - left,
        align="edge",
        color=_BAR,
        edgecolor="white",
        linewidth=0.5,
        label=labels["samples"],
    )
    if data.c.any():
        ax.bar(
            left,
            n_cens,
            width=right - left,
            align="edge",
            color="none",
            edgecolor=_CENSORED,
            hatch="////",
            linewidth=0.5,
            label=labels["censored"],
        )
    if data.y.size > 1 and np.ptp(data.y) > 0:
        from scipy.stats import gaussian_kde

        width = float(edges[1] - edges[0])
        grid = np.linspace(edges[0] - width, edges[-1] + width, 256)
        density = gaussian_kde(data.y)(grid) * data.y.size * width
        ax.plot(_back(grid, log), density, color=_LINE, lw=1.4, gid="kde", label=labels["density"])
    ax.set_ylabel(labels["count"], **fonts)
    ax.set_title(labels["hist"], **fonts)
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper right", fontsize=8, frameon=False, prop=_prop(fonts, 8))


def _boxplot(
    ax: Axes, data: _Data, log: bool, labels: dict[str, str], fonts: dict[str, Any]
) -> None:
    q1, med, q3 = np.percentile(data.y, [25.0, 50.0, 75.0])
    iqr = q3 - q1
    lo_fence, hi_fence = q1 - 1.5 * iqr, q3 + 1.5 * iqr
    inside = data.y[(data.y >= lo_fence) & (data.y <= hi_fence)]
    w_lo, w_hi = float(inside.min()), float(inside.max())
    b = _back(np.array([q1, med, q3, w_lo, w_hi, lo_fence, hi_fence]), log)
    q1x, medx, q3x, w_lox, w_hix, lo_fx, hi_fx = (float(v) for v in b)
    h = 0.5
    ax.add_patch(
        Rectangle((q1x, -h / 2), q3x - q1x, h, facecolor=_BAR, edgecolor="black", lw=1, gid="box")
    )
    ax.plot([medx, medx], [-h / 2, h / 2], color="black", lw=2, gid="median")
    ax.plot([w_lox, q1x], [0, 0], color="black", lw=1, gid="whisker")
    ax.plot([q3x, w_hix], [0, 0], color="black", lw=1, gid="whisker")
    for w in (w_lox, w_hix):
        ax.plot([w, w], [-h / 4, h / 4], color="black", lw=1, gid="cap")
    out = (data.y < lo_fence) | (data.y > hi_fence)
    ax.plot(
        data.x[out & ~data.c],
        np.zeros(int((out & ~data.c).sum())),
        "o",
        ms=3,
        color="black",
        gid="outliers",
    )
    if (out & data.c).any():
        ax.plot(
            data.x[out & data.c],
            np.zeros(int((out & data.c).sum())),
            "o",
            ms=3,
            mfc="none",
            color=_CENSORED,
            gid="outliers-censored",
        )
    for f in (lo_fx, hi_fx):
        ax.axvline(f, color=_FENCE, lw=1, ls="--", gid="fence")
    ax.set_ylim(-0.6, 0.6)
    ax.set_yticks([])
    ax.set_title(labels["box"], **fonts)
    handles = [Line2D([], [], color=_FENCE, ls="--", lw=1, label=labels["fence"])]
    ax.legend(handles=handles, loc="upper right", fontsize=8, frameon=False, prop=_prop(fonts, 8))


def _ecdf(ax: Axes, data: _Data, labels: dict[str, str], fonts: dict[str, Any]) -> None:
    n = data.x.size
    p = 100.0 * np.arange(1, n + 1) / n
    ax.step(data.x, p, where="post", color=_LINE, lw=0.8, gid="ecdf")
    det = ~data.c
    ax.plot(
        data.x[det], p[det], "o", ms=2.5, color=_LINE, gid="ecdf-detected", label=labels["detected"]
    )
    handles: list[Any] = [
        Line2D([], [], marker="o", ls="", ms=4, color=_LINE, label=labels["detected"])
    ]
    if data.c.any():
        ax.plot(
            data.x[data.c],
            p[data.c],
            "o",
            ms=4,
            mfc="none",
            mec=_CENSORED,
            mew=1,
            gid="ecdf-censored",
            label=labels["censored"],
        )
        handles += [
            Line2D(
                [], [], marker="o", ls="", ms=5, mfc="none", mec=_CENSORED, label=labels["censored"]
            ),
            Line2D([], [], color=_CENSORED, ls=":", label=labels["dl"]),
        ]
    ax.set_ylim(0, 100)
    ax.set_ylabel(labels["cum"], **fonts)
    ax.set_title(labels["ecdf"], **fonts)
    ax.legend(handles=handles, loc="lower right", fontsize=8, frameon=False, prop=_prop(fonts, 8))
    ax.grid(True, which="major", color="#dddddd", lw=0.5)


def _prop(fonts: dict[str, Any], size: float) -> dict[str, Any]:
    prop: dict[str, Any] = {"size": size}
    if "fontfamily" in fonts:
        prop["family"] = fonts["fontfamily"]
    return prop


def _log_axis(
    ax: Axes,
    lo: float,
    hi: float,
    *,
    axis: Literal["x", "y"] = "x",
    dense: float = 3.0,
    minor: bool = True,
) -> None:
    """A log axis with tick labels as plain numbers in the original unit.

    Ticks at 1, 2 and 5 times the powers of ten when the axis spans at most ``dense``
    decades, else at the powers of ten only; unlabelled minor ticks unless ``minor`` is
    false (small panels, where they cost most of the drawing time).
    """
    pad = 10 ** (0.05 * max(math.log10(hi / lo), 0.5))
    decades = math.log10(hi * pad) - math.log10(lo / pad)
    subs: tuple[float, ...] = (1.0,) if decades > dense else (1.0, 2.0, 5.0)
    target: Axis
    if axis == "x":
        ax.set_xscale("log")
        ax.set_xlim(lo / pad, hi * pad)
        target = ax.xaxis
    else:
        ax.set_yscale("log")
        ax.set_ylim(lo / pad, hi * pad)
        target = ax.yaxis
    target.set_major_locator(LogLocator(base=10.0, subs=subs))
    target.set_major_formatter(FuncFormatter(_plain))
    target.set_minor_formatter(NullFormatter())
    if not minor:
        target.set_minor_locator(NullLocator())


def _plain(v: float, _pos: object = None) -> str:
    return f"{v:g}"


# --------------------------------------------------------------------------- output


def figure_png(fig: Figure, dpi: int = 100) -> bytes:
    """The figure as PNG bytes (Agg).

    Examples
    --------
    >>> figure_png(Figure(figsize=(1, 1)), dpi=10)[:8]
    b'\\x89PNG\\r\\n\\x1a\\n'
    """
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def figure_svg(fig: Figure) -> bytes:
    """The figure as SVG bytes (text as paths, so no font is needed to view it).

    Examples
    --------
    >>> figure_svg(Figure(figsize=(1, 1))).startswith(b"<?xml")
    True
    """
    buf = io.BytesIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    return buf.getvalue()
