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


def thompson_howarth_figure(a: Any, b: Any, *, element: str = "", unit: str = "",
                            title: str = "", censored_a: Any = None, censored_b: Any = None
                            ) -> Figure:
    """The Thompson–Howarth plot of duplicate pairs.

    Raises
    ------
    StatisticsError
        With fewer than 2 usable pairs.
    """
    x, y, dropped = pair_arrays(a, b, censored_a, censored_b)
    p = precision(x, y)
    fig = Figure(figsize=(6.0, 4.6), layout="constrained")
    ax = fig.add_subplot()
    mean = (x + y) / 2
    absd = np.abs(x - y)
    shown = absd > 0
    ax.scatter(mean[shown], absd[shown], s=14, color="#3b6ea8", alpha=0.75,
               label=f"pairs (n = {p.n_pairs})")
    lo, hi = float(mean.min()) * 0.8, float(mean.max()) * 1.25
    cc = np.geomspace(lo, hi, 100)
    for pct, style in ((10, ":"), (20, "--")):
        # precision P = 2 s / c, and the median |d| of pairs is s / TH_FACTOR
        ax.plot(cc, pct / 200 * cc / TH_FACTOR, style, color="0.45", lw=1,
                label=f"{pct} % precision (95 %)")
    if p.th is not None:
        ax.scatter(p.th.group_means, p.th.group_abs_diffs, marker="s", s=40,
                   color="#c0392b", zorder=3, label="group medians (11 pairs)")
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
    ax.set_xlabel(f"mean of the pair, {what}" if what else "mean of the pair")
    ax.set_ylabel("absolute difference |a − b|")
    head = title or f"Thompson–Howarth plot {element}".strip()
    ax.set_title(f"{head}\nRSD {p.rsd_pct:.1f} %, precision {p.precision_pct:.1f} % (95 %)"
                 + (f"; {dropped} pairs left out" if dropped else ""), fontsize=10)
    if (~shown).any():
        n_eq = int((~shown).sum())
        ax.text(0.99, 0.01, f"{n_eq} pair{'s' if n_eq > 1 else ''} with equal results "
                "not drawn (|a − b| = 0)",
                transform=ax.transAxes, ha="right", va="bottom", fontsize=7, color="0.4")
    ax.legend(fontsize=7, loc="upper left")
    ax.grid(True, which="major", lw=0.3, color="0.85")
    return fig


def control_figure(chart: ControlChart, *, element: str = "", unit: str = "",
                   batches: pd.DataFrame | None = None, title: str = "") -> Figure:
    """The Shewhart control chart of one reference material."""
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
               label=("certified value" if np.isfinite(chart.certified) else "mean")
               + f" {lim['centre']:.4g}")
    for k, style in (("+2", "--"), ("-2", "--"), ("+3", ":"), ("-3", ":")):
        ax.axhline(lim[k], color="#c0392b", lw=1, ls=style,
                   label=("±2 SD (warning)" if k == "+2" else "±3 SD (action)" if k == "+3"
                          else None))
    if chart.drift:
        line = chart.mean + chart.slope_per_100 / 100 * (order - order.mean())
        ax.plot(order, line, color="#8e44ad", lw=1.2,
                label=f"drift {chart.slope_per_100:+.3g} per 100 positions")
    what = f"{element} ({unit})" if unit else element
    ax.set_xlabel("analytical order")
    ax.set_ylabel(what or "result")
    bias = (f", bias {chart.bias_pct:+.1f} %" if np.isfinite(chart.bias_pct) else "")
    ax.set_title(f"{title or chart.material}: n {chart.n}, mean {chart.mean:.4g}, "
                 f"RSD {chart.rsd_pct:.1f} %{bias}", fontsize=10)
    ax.legend(fontsize=7, loc="best")
    ax.grid(True, lw=0.3, color="0.88")
    return fig


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
