"""Quality-control figures: Thompson–Howarth plot, control chart, levelling plot.

* :func:`thompson_howarth_figure`: absolute difference of each duplicate pair against the
  pair mean on log–log axes, the group medians, the fitted line ``|d| = (s0 + k·c)/1.0484``
  converted back to the precision model, and reference lines of 10 % and 20 % precision
  (Thompson & Howarth 1978; ``rgr::thplot1``);
* :func:`control_figure`: a Shewhart chart of a reference material's results in analytical
  order, centre line, ±2 SD (warning) and ±3 SD (action) lines, results beyond them
  highlighted, the drift line when there is drift and rejected batches shaded;
* :func:`levelling_figure`: the paired results before and after levelling against the
  target method, with the 1:1 line and the fitted transform.

Figures are built on the Agg canvas without ``pyplot`` (see :mod:`chemearth.render.plots`).

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> c = np.exp(rng.uniform(1, 5, 60))
>>> a, b = c * rng.normal(1, .05, 60), c * rng.normal(1, .05, 60)
>>> fig = thompson_howarth_figure(a, b, element="Cu", unit="mg/kg")
>>> fig.axes[0].get_xscale()
'log'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullFormatter

from chemearth.errors import StatisticsError
from chemearth.qc.control import ControlChart
from chemearth.qc.precision import TH_FACTOR, pair_arrays, precision
from chemearth.render.plots import _plain

if TYPE_CHECKING:
    from chemearth.qc.levelling import Transform

__all__ = ["control_figure", "levelling_figure", "thompson_howarth_figure"]

#: The words of the Thompson–Howarth plot and the control chart, per language.
WORDS: dict[str, dict[str, str]] = {
    "en": {"pairs": "pairs (n = {n})", "precision": "{pct} % precision (95 %)",
           "medians": "group medians (11 pairs)", "x": "mean of the pair",
           "x_what": "mean of the pair, {what}", "y": "absolute difference |a − b|",
           "th": "Thompson–Howarth plot {element}",
           "th_sub": "RSD {rsd:.1f} %, precision {prec:.1f} % (95 %)",
           "left_out": "; {n} pairs left out",
           "equal": "{n} pair{s} with equal results not drawn (|a − b| = 0)",
           "certified": "certified value", "mean": "mean", "warning": "±2 SD (warning)",
           "action": "±3 SD (action)", "drift": "drift {slope:+.3g} per 100 positions",
           "order": "analytical order", "result": "result",
           "chart": "{head}: n {n}, mean {mean:.4g}, RSD {rsd:.1f} %{bias}",
           "bias": ", bias {bias:+.1f} %"},
    "zh": {"pairs": "重复样对（n = {n}）", "precision": "精密度 {pct} %（95 %）",
           "medians": "分组中位数（每组 11 对）", "x": "样对平均值",
           "x_what": "样对平均值，{what}", "y": "绝对差 |a − b|",
           "th": "Thompson–Howarth 图 {element}",
           "th_sub": "RSD {rsd:.1f} %，精密度 {prec:.1f} %（95 %）",
           "left_out": "；{n} 对未计入", "equal": "{n} 对结果相同，未绘出（|a − b| = 0）{s}",
           "certified": "认定值", "mean": "平均值", "warning": "±2 SD（警告限）",
           "action": "±3 SD（行动限）", "drift": "漂移：每 100 个位置 {slope:+.3g}",
           "order": "分析顺序", "result": "结果",
           "chart": "{head}：n {n}，平均值 {mean:.4g}，RSD {rsd:.1f} %{bias}",
           "bias": "，偏倚 {bias:+.1f} %"},
}


def _words(lang: str) -> dict[str, str]:
    if lang not in WORDS:
        raise StatisticsError(f"unknown language {lang!r}; choose one of {', '.join(WORDS)}")
    return WORDS[lang]


def _cjk(fig: Figure, lang: str) -> Figure:
    """Every text of ``fig`` in a font with Chinese glyphs (``lang="zh"``, when one is
    installed)."""
    from matplotlib.text import Text

    from chemearth.render.plots import cjk_font_family

    family = cjk_font_family() if lang == "zh" else None
    if family:
        for t in fig.findobj(Text):
            t.set_fontfamily(["DejaVu Sans", family])
    return fig


def thompson_howarth_figure(a: Any, b: Any, *, element: str = "", unit: str = "",
                            title: str = "", censored_a: Any = None, censored_b: Any = None,
                            lang: str = "en") -> Figure:
    """The Thompson–Howarth plot of duplicate pairs (labels in ``lang``: en or zh).

    Raises
    ------
    StatisticsError
        With fewer than 2 usable pairs, or for an unknown language.
    """
    w = _words(lang)
    x, y, dropped = pair_arrays(a, b, censored_a, censored_b)
    p = precision(x, y)
    fig = Figure(figsize=(6.0, 4.6), layout="constrained")
    ax = fig.add_subplot()
    mean = (x + y) / 2
    absd = np.abs(x - y)
    shown = absd > 0
    ax.scatter(mean[shown], absd[shown], s=14, color="#3b6ea8", alpha=0.75,
               label=w["pairs"].format(n=p.n_pairs))
    lo, hi = float(mean.min()) * 0.8, float(mean.max()) * 1.25
    cc = np.geomspace(lo, hi, 100)
    for pct, style in ((10, ":"), (20, "--")):
        # precision P = 2 s / c, and the median |d| of pairs is s / TH_FACTOR
        ax.plot(cc, pct / 200 * cc / TH_FACTOR, style, color="0.45", lw=1,
                label=w["precision"].format(pct=pct))
    if p.th is not None:
        ax.scatter(p.th.group_means, p.th.group_abs_diffs, marker="s", s=40,
                   color="#c0392b", zorder=3, label=w["medians"])
        fit = p.th.sd(cc) / TH_FACTOR
        ok = fit > 0
        ax.plot(cc[ok], fit[ok], color="#c0392b", lw=1.5,
                label=f"s = {p.th.s0:.3g} + {100 * p.th.k:.3g} % · c")
    ax.set_xscale("log")
    ax.set_yscale("log")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(FuncFormatter(_plain))
        axis.set_minor_formatter(NullFormatter())
    what = f"{element} ({unit})" if unit else element
    ax.set_xlabel(w["x_what"].format(what=what) if what else w["x"])
    ax.set_ylabel(w["y"])
    head = title or w["th"].format(element=element).strip()
    ax.set_title(head + "\n" + w["th_sub"].format(rsd=p.rsd_pct, prec=p.precision_pct)
                 + (w["left_out"].format(n=dropped) if dropped else ""), fontsize=10)
    if (~shown).any():
        n_eq = int((~shown).sum())
        ax.text(0.99, 0.01, w["equal"].format(n=n_eq, s="s" if n_eq > 1 and lang == "en"
                                              else ""),
                transform=ax.transAxes, ha="right", va="bottom", fontsize=7, color="0.4")
    ax.legend(fontsize=7, loc="upper left")
    ax.grid(True, which="major", lw=0.3, color="0.85")
    return _cjk(fig, lang)


def control_figure(chart: ControlChart, *, element: str = "", unit: str = "",
                   batches: pd.DataFrame | None = None, title: str = "",
                   lang: str = "en") -> Figure:
    """The Shewhart control chart of one reference material (labels in ``lang``)."""
    w = _words(lang)
    fig = Figure(figsize=(7.5, 4.0), layout="constrained")
    ax = fig.add_subplot()
    order = np.asarray(chart.order)
    values = np.asarray(chart.values)
    z = np.abs(np.asarray(chart.z))
    lim = chart.limits
    if batches is not None and not batches.empty:
        for r in batches[batches["status"] == "reject"].to_dict("records"):
            ax.axvspan(float(r["first"]) - 0.5, float(r["last"]) + 0.5, color="#f5b7b1",
                       alpha=0.6, lw=0)
    ax.plot(order, values, "-", color="0.7", lw=0.8)
    colours = np.where(z > 3, "#c0392b", np.where(z > 2, "#e67e22", "#3b6ea8"))
    ax.scatter(order, values, c=colours, s=18, zorder=3)
    ax.axhline(lim["centre"], color="#27ae60", lw=1.2,
               label=(w["certified"] if np.isfinite(chart.certified) else w["mean"])
               + f" {lim['centre']:.4g}")
    for k, style in (("+2", "--"), ("-2", "--"), ("+3", ":"), ("-3", ":")):
        ax.axhline(lim[k], color="#c0392b", lw=1, ls=style,
                   label=(w["warning"] if k == "+2" else w["action"] if k == "+3"
                          else None))
    if chart.drift:
        line = chart.mean + chart.slope_per_100 / 100 * (order - order.mean())
        ax.plot(order, line, color="#8e44ad", lw=1.2,
                label=w["drift"].format(slope=chart.slope_per_100))
    what = f"{element} ({unit})" if unit else element
    ax.set_xlabel(w["order"])
    ax.set_ylabel(what or w["result"])
    bias = w["bias"].format(bias=chart.bias_pct) if np.isfinite(chart.bias_pct) else ""
    ax.set_title(w["chart"].format(head=title or chart.material, n=chart.n, mean=chart.mean,
                                   rsd=chart.rsd_pct, bias=bias), fontsize=10)
    ax.legend(fontsize=7, loc="best")
    ax.grid(True, lw=0.3, color="0.88")
    return _cjk(fig, lang)


def levelling_figure(x: Any, y: Any, transform: Transform, *, element: str = "",
                     unit: str = "", source: str = "", target: str = "",
                     test: Any = None) -> Figure:
    """Paired results against the target method, before and after levelling.

    Raises
    ------
    StatisticsError
        Without usable pairs.
    """
    a = np.asarray(x, dtype=float)
    b = np.asarray(y, dtype=float)
    ok = np.isfinite(a) & np.isfinite(b) & (a > 0) & (b > 0)
    if not ok.any():
        raise StatisticsError("no usable pairs to draw")
    held = np.zeros(len(a), bool) if test is None else np.asarray(test, bool)
    fig = Figure(figsize=(9.0, 4.4), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    lo = float(min(a[ok].min(), b[ok].min(), transform.apply(a[ok]).min())) * 0.8
    hi = float(max(a[ok].max(), b[ok].max(), transform.apply(a[ok]).max())) * 1.25
    for ax, vals, name in ((axes[0], a, "before"), (axes[1], transform.apply(a), "after")):
        for mask, label, colour in ((ok & ~held, "fitted", "#3b6ea8"),
                                    (ok & held, "held out", "#e67e22")):
            if mask.any():
                ax.scatter(vals[mask], b[mask], s=10, alpha=0.7, color=colour, label=label)
        ax.plot([lo, hi], [lo, hi], color="0.3", lw=1, label="1:1")
        if name == "before":
            cc = np.geomspace(lo, hi, 100)
            ax.plot(cc, transform.apply(cc), color="#c0392b", lw=1.4,
                    label=f"{transform.kind}: {transform.describe()}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(lo, hi)
        ax.set_ylim(lo, hi)
        ax.set_aspect("equal")
        ax.set_title(f"{name} levelling", fontsize=10)
        ax.set_xlabel(f"{element} {source} ({unit})".strip() if name == "before"
                      else f"{element} levelled ({unit})")
        ax.grid(True, lw=0.3, color="0.88")
        ax.legend(fontsize=7, loc="upper left")
    axes[0].set_ylabel(f"{element} {target} ({unit})".strip())
    return fig
