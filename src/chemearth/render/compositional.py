"""Figures of compositional analyses: the clr biplot and the spider (REE) diagram.

:func:`biplot_figure` draws a :class:`~chemearth.stats.compositional_factors.Biplot`:
samples as points (outliers, if given, in another colour and in the legend), the parts as
arrows from the origin labelled with their element, the axes labelled with the component
and its share of the clr variance. In a covariance biplot the arrows' lengths are the clr
standard deviations, so they are drawn on a second scale (top and right axes) as is
usual (Aitchison & Greenacre 2002).

:func:`spider_figure` draws the output of :func:`chemearth.stats.spider.normalise`: one
line per sample (or per group: the median of each), the elements in the frame's order on
the horizontal axis, the normalised values on a logarithmic axis, a dotted line at 1 (the
reference), the legend naming the samples and the reference.

Figures are built as :class:`matplotlib.figure.Figure` on the Agg canvas, never through
``pyplot`` (as :mod:`chemearth.render.plots`); :func:`chemearth.render.plots.figure_png`
writes them.

Examples
--------
>>> import pandas as pd
>>> n = pd.DataFrame({"La": [1.2, 0.8], "Ce": [1.0, 0.7], "Nd": [0.9, 0.6]},
...                  index=["S1", "S2"])
>>> fig = spider_figure(n, reference="PAAS")
>>> fig.axes[0].get_yscale(), fig.axes[0].get_legend() is not None
('log', True)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure, SubFigure
from matplotlib.ticker import FuncFormatter, NullFormatter

from chemearth.render.plots import PlotError
from chemearth.stats.compositional_factors import Biplot
from chemearth.stats.spider import ANOMALIES

__all__ = ["MAX_LINES", "biplot_figure", "spider_figure"]

#: Most lines a spider diagram draws (more samples: give ``groups``).
MAX_LINES = 30

_POINT = "#4a7fb5"
_OUTLIER = "#d95f02"
_ARROW = "#b2182b"


def biplot_figure(
    bp: Biplot,
    *,
    outliers: Sequence[bool] | pd.Series | None = None,
    title: str | None = None,
    figsize: tuple[float, float] = (6.5, 6.0),
    figure: SubFigure | None = None,
) -> Figure:
    """Figure of a biplot (samples as points, parts as arrows).

    Parameters
    ----------
    bp : Biplot
        From :func:`chemearth.stats.compositional_factors.biplot`.
    outliers : sequence of bool, optional
        Per sample (in the order of ``bp.samples``), e.g. ``robust_distances(...).samples
        ["outlier"]``: drawn in orange and counted in the legend.
    title : str, optional
        Default: the kind of biplot.
    figure : matplotlib.figure.SubFigure, optional
        Draw into this sub-figure (a part of an atlas page) instead of a new figure.

    Returns
    -------
    matplotlib.figure.Figure
        The new figure (or the root figure of ``figure``). The (sub-)figure's ``axes[0]``
        holds the samples (gid ``samples``, ``outliers``), ``axes[1]`` (a twin scale) the
        arrows (gid ``arrows``) and their labels.

    Examples
    --------
    >>> from chemearth.stats.compositional_factors import biplot, robust_pca
    >>> x = np.exp(np.random.default_rng(0).normal(size=(40, 4)))
    >>> fig = biplot_figure(biplot(robust_pca(x)))
    >>> fig.axes[0].get_xlabel().startswith("PC1 ("), len(fig.axes)
    (True, 2)
    """
    s = bp.samples
    flag = np.zeros(len(s), bool) if outliers is None else np.asarray(outliers, bool)
    if len(flag) != len(s):
        raise PlotError(f"outliers has {len(flag)} flags for {len(s)} samples")
    fig: Figure | SubFigure = Figure(figsize=figsize) if figure is None else figure
    fig.subplots_adjust(top=0.86)
    ax = fig.add_subplot()
    ax.scatter(s["x"][~flag], s["y"][~flag], s=9, color=_POINT, alpha=0.6, lw=0,
               label=f"samples ({int((~flag).sum())})", gid="samples")
    if flag.any():
        ax.scatter(s["x"][flag], s["y"][flag], s=14, color=_OUTLIER, lw=0,
                   label=f"multivariate outliers ({int(flag.sum())})", gid="outliers")
    ax.axhline(0, color="0.75", lw=0.6)
    ax.axvline(0, color="0.75", lw=0.6)
    c1, c2 = bp.components
    ax.set_xlabel(f"PC{c1} ({100 * bp.explained[0]:.1f}%)")
    ax.set_ylabel(f"PC{c2} ({100 * bp.explained[1]:.1f}%)")
    lim = float(np.nanmax(np.abs(s[["x", "y"]].to_numpy()))) * 1.08 or 1.0
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    arrows = bp.arrows
    top = fig.add_axes(tuple(ax.get_position().bounds), frameon=False)
    top.xaxis.tick_top()
    top.yaxis.tick_right()
    top.patch.set_visible(False)
    alim = float(np.nanmax(np.abs(arrows.to_numpy()))) * 1.15 or 1.0
    top.set_xlim(-alim, alim)
    top.set_ylim(-alim, alim)
    for name, (x, y) in arrows.iterrows():
        top.annotate("", xy=(x, y), xytext=(0, 0),
                     arrowprops={"arrowstyle": "->", "color": _ARROW, "lw": 1.1})
        top.text(x * 1.07, y * 1.07, str(name), color=_ARROW, fontsize=8,
                 ha="center", va="center")
    top.plot([], [], color=_ARROW, label="clr parts", gid="arrows")
    handles = ax.get_legend_handles_labels()
    more = top.get_legend_handles_labels()
    ax.legend(handles[0] + more[0], handles[1] + more[1], loc="lower left", fontsize=8,
              frameon=True)
    kind = "Covariance" if bp.kind == "covariance" else "Form"
    fig.suptitle(title or f"{kind} biplot (robust PCA of clr)", fontsize=10)
    root = fig.get_figure(root=True) if figure is not None else fig
    assert isinstance(root, Figure)
    return root


def spider_figure(
    normalised: pd.DataFrame,
    *,
    reference: str | None = None,
    groups: pd.Series | Mapping[object, str] | None = None,
    title: str | None = None,
    figsize: tuple[float, float] = (7.0, 4.5),
) -> Figure:
    """Spider (REE) diagram of normalised values.

    Parameters
    ----------
    normalised : pandas.DataFrame
        From :func:`chemearth.stats.spider.normalise` (anomaly columns are left out);
        NaN (censored or missing) leaves a gap in a line.
    reference : str, optional
        Named in the axis label; default ``normalised.attrs["reference"]``.
    groups : pandas.Series or mapping, optional
        Sample (index) -> group: one line per group, the median of its samples.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
        One axes, logarithmic y; a line per sample or group (gid ``spider``).
    """
    els = [c for c in normalised.columns if c not in ANOMALIES]
    if not els:
        raise PlotError("nothing to draw: the frame holds no normalised element")
    data = normalised[els]
    if groups is not None:
        g = pd.Series(groups).reindex(data.index)
        data = data.groupby(g, sort=True).median()
    if len(data) > MAX_LINES:
        raise PlotError(f"{len(data)} lines are too many for a spider diagram (at most "
                        f"{MAX_LINES}): give groups")
    values = data.to_numpy(dtype=float)
    if not np.isfinite(values).any() or (values[np.isfinite(values)] <= 0).any():
        raise PlotError("a spider diagram needs positive normalised values")
    fig = Figure(figsize=figsize)
    ax = fig.add_subplot()
    xs = np.arange(len(els))
    for name, row in zip(data.index, values, strict=True):
        ax.plot(xs, row, marker="o", ms=3.5, lw=1.1, label=str(name), gid="spider")
    ax.axhline(1.0, color="0.4", lw=0.8, ls=":")
    ax.set_yscale("log")
    plain = FuncFormatter(lambda v, _pos: f"{v:g}")
    ax.yaxis.set_major_formatter(plain)
    finite = values[np.isfinite(values)]
    narrow = np.log10(max(finite.max(), 1.0) / min(finite.min(), 1.0)) < 1.5
    ax.yaxis.set_minor_formatter(plain if narrow else NullFormatter())
    ax.set_xticks(xs, els)
    ax.set_xlim(-0.5, len(els) - 0.5)
    ref = reference or str(normalised.attrs.get("reference", "reference"))
    ax.set_ylabel(f"sample / {ref}")
    ax.legend(fontsize=7, ncol=max(1, len(data) // 12 + 1), loc="best", frameon=False)
    ax.set_title(title or f"Normalised to {ref}", fontsize=10)
    fig.tight_layout()
    return fig
