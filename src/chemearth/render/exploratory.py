"""Exploratory plots of several values at once: cumulative probability plots and
scatter-plot matrices (Reimann et al. 2008, ch. 3 and 6).

:func:`probability_figure` plots sorted values against the normal quantiles of their
plotting positions; breaks in slope show several populations (e.g. background and
anomalies). :func:`scatter_matrix_figure` draws every pair of up to
:data:`MAX_MATRIX_ELEMENTS` elements with Spearman's rank correlation. Both follow
:mod:`chemearth.render.plots`: log10 axes labelled in the original unit, censored values at their
detection limit drawn apart, English or Chinese labels, figures on the Agg canvas without
pyplot.

Examples
--------
>>> fig = probability_figure([1.0, 2.0, 4.0, 8.0, 16.0], element="Cu", unit="mg/kg")
>>> fig.axes[0].get_xscale()
'log'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from numpy.typing import ArrayLike, NDArray

from chemearth.render.plots import (
    _BAR,
    _CENSORED,
    _FENCE,
    _LINE,
    PlotError,
    _back,
    _language,
    _log_axis,
    _plain,
    _prepare,
    _prop,
)

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

__all__ = ["MAX_MATRIX_ELEMENTS", "probability_figure", "scatter_matrix_figure"]

#: Largest number of elements in a scatterplot matrix.
MAX_MATRIX_ELEMENTS = 8

# --------------------------------------------------------------------------- probability plot

#: Cumulative percentages labelled on the probability axis.
_PROB_TICKS = (1.0, 5.0, 10.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0)

#: From this many values on, the probability axis also shows 0.1 % and 99.9 %: the extreme
#: plotting positions 0.5/n are then within 0.25 % of 0 and 100 %.
_WIDE_TAILS_N = 200


def probability_figure(
    values: ArrayLike,
    censored: ArrayLike | None = None,
    *,
    element: str,
    unit: str,
    log: bool = True,
    lang: str = "en",
) -> Figure:
    """Cumulative probability plot of one element's values.

    The ``i``-th smallest of ``n`` values is drawn at the normal quantile of its plotting
    position: ``y = Φ⁻¹((i - 0.5) / n)`` (Hazen's positions, which leave room for values
    below the smallest and above the largest one). The y axis is labelled in cumulative
    percent (1, 5, 10, 25, 50, 75, 90, 95 and 99 %; also 0.1 and 99.9 % from 200 values
    on). Values from one normal population (lognormal with ``log=True``) then fall on a
    straight line; breaks and bends show several populations, outliers or a detection
    limit (Reimann et al. 2008, ch. 3).

    The reference line is the normal distribution through the quartiles: it passes through
    ``(Q1, Φ⁻¹(0.25))`` and ``(Q3, Φ⁻¹(0.75))``, so its mean is ``(Q1 + Q3) / 2`` and its
    standard deviation ``IQR / (2 Φ⁻¹(0.75))``. With ``log=True`` the quartiles (type 7
    percentiles, as in :func:`distribution_figure`) are those of log10 values and the line
    is a lognormal distribution on a logarithmic axis labelled in the original unit.

    Censored values are drawn as open circles at their detection limit and ranked there;
    of equal values, the censored ones rank first (``<DL`` is below a value measured at
    the limit). A dotted vertical line marks the largest detection limit.

    Parameters
    ----------
    values : array_like
        Values in ``unit``; censored values at their detection limit. NaN are left out.
    censored : array_like of bool, optional
        True where a value is below its detection limit.
    element, unit : str
        Label of the value axis, e.g. ``"Cu"`` and ``"mg/kg"``.
    log : bool
        Logarithmic value axis and a lognormal reference line (default). Values <= 0 are
        then left out and counted in a note under the figure.
    lang : {"en", "zh"}
        Label language; English when no CJK font is installed (:func:`cjk_font_family`).

    Returns
    -------
    matplotlib.figure.Figure
        One axes. Artists carry gids: ``prob-detected`` and ``prob-censored`` (the points),
        ``reference`` (the line through the quartiles), ``dl``.

    Raises
    ------
    StatisticsError
        No finite (with ``log``: finite positive) value, or inputs of the wrong shape.
    PlotError
        An unknown ``lang``.

    Examples
    --------
    >>> fig = probability_figure([0.5, 1.0, 2.0, 4.0, 9.0], [True, False, False, False, False],
    ...                          element="Cd", unit="mg/kg")
    >>> ax = fig.axes[0]
    >>> ax.get_xlabel(), ax.get_ylabel()
    ('Cd (mg/kg)', 'Cumulative probability (%)')
    >>> [t.get_text() for t in ax.get_yticklabels()][:3]
    ['1', '5', '10']
    >>> ax.get_lines()[0].get_ydata().round(3).tolist()  # detected: Φ⁻¹(0.3), … Φ⁻¹(0.9)
    [-0.524, 0.0, 0.524, 1.282]
    """
    from scipy.stats import norm

    labels, fonts = _language(lang)
    data = _prepare(values, censored, log)
    order = np.lexsort((~data.c, data.x))  # equal values: the censored ones first
    x, c, w = data.x[order], data.c[order], data.y[order]
    n = x.size
    z = norm.ppf((np.arange(1, n + 1) - 0.5) / n)

    fig = Figure(figsize=(7.0, 5.5), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    ax.plot(x[~c], z[~c], "o", ms=3.5, color=_LINE, gid="prob-detected")
    handles: list[Any] = [
        Line2D([], [], marker="o", ls="", ms=4, color=_LINE, label=labels["detected"])
    ]
    if c.any():
        ax.plot(x[c], z[c], "o", ms=4, mfc="none", mec=_CENSORED, mew=1, gid="prob-censored")
        ax.axvline(float(x[c].max()), color=_CENSORED, lw=0.9, ls=":", gid="dl")
        handles += [
            Line2D(
                [], [], marker="o", ls="", ms=5, mfc="none", mec=_CENSORED, label=labels["censored"]
            ),
            Line2D([], [], color=_CENSORED, ls=":", label=labels["dl"]),
        ]

    ticks = (0.1, *_PROB_TICKS, 99.9) if n >= _WIDE_TAILS_N else _PROB_TICKS
    tick_z = norm.ppf(np.array(ticks) / 100.0)
    top = max(float(tick_z[-1]), float(np.abs(z).max())) + 0.2
    ax.set_ylim(-top, top)
    ax.set_yticks(tick_z, labels=[_plain(t) for t in ticks])

    q1, q3 = np.percentile(w, [25.0, 75.0])
    if q3 > q1:  # a line through the quartiles, drawn across the whole probability axis
        sd = (q3 - q1) / (2.0 * norm.ppf(0.75))
        ends = np.array([-top, top])
        line_x = _back((q1 + q3) / 2.0 + sd * ends, log)
        ax.plot(line_x, ends, color=_FENCE, lw=1.2, gid="reference", scalex=False)
        handles.append(
            Line2D([], [], color=_FENCE, lw=1.2, label=labels["ref_log" if log else "ref_lin"])
        )
    if log:
        _log_axis(ax, float(x[0]), float(x[-1]))
    ax.set_xlabel(labels["value"].format(element=element, unit=unit), **fonts)
    ax.set_ylabel(labels["prob_axis"], **fonts)
    ax.set_title(labels["prob"], **fonts)
    ax.grid(True, which="major", color="#dddddd", lw=0.5)
    ax.legend(handles=handles, loc="lower right", fontsize=8, frameon=False, prop=_prop(fonts, 8))
    fig.suptitle(labels["title"].format(element=element, n=n, nc=int(c.sum())), **fonts)
    if data.dropped:
        fig.supxlabel(labels["dropped"].format(k=data.dropped), fontsize=8, **fonts)
    return fig


# --------------------------------------------------------------------------- scatterplot matrix


@dataclass(frozen=True)
class _Table:
    elements: list[str]
    values: NDArray[np.float64]  # complete rows × elements
    censored: NDArray[np.bool_]  # same shape
    drawn: NDArray[np.intp]  # rows of ``values`` drawn in the scatter plots, ascending
    missing: int  # rows left out for a missing value
    nonpositive: int  # other rows left out for a value <= 0 (log scale only)


def scatter_matrix_figure(
    frame: pd.DataFrame,
    *,
    censored: pd.DataFrame | None = None,
    units: Mapping[str, str] | str | None = None,
    log: bool = True,
    lang: str = "en",
    max_points: int = 5000,
    seed: int = 0,
) -> Figure:
    """Scatterplot matrix of 2 to 8 elements with Spearman rank correlations.

    Panel ``(i, j)`` (row ``i``, column ``j``) plots element ``j`` on x against element
    ``i`` on y; the diagonal holds the histogram of each element (bins of equal width in
    log10 with ``log=True``; censored values hatched), and each panel below the diagonal
    prints the Spearman rank correlation ``r_s`` of its pair (Reimann et al. 2008, ch. 6).
    Points below the detection limit in either element of a pair are drawn in grey at the
    limit.

    Only complete rows enter — rows with a value for every element and, with ``log``, no
    value <= 0; how many were left out, and why, is noted under the figure. Correlations and
    histograms use all complete rows; the scatter plots draw at most ``max_points`` of
    them, a random subsample (``numpy.random.default_rng(seed)``, without replacement)
    when there are more. ``r_s`` is computed on average ranks of ties (censored values
    tie at their limit) and printed as n/a for fewer than 3 rows or a constant element.

    Parameters
    ----------
    frame : pandas.DataFrame
        One numeric column per element, named by the element; censored values at their
        detection limit. NaN (or None) marks a missing value.
    censored : pandas.DataFrame of bool, optional
        True where a value is below its detection limit; a column for every element of
        ``frame`` and the same index.
    units : mapping or str, optional
        The unit of each element (``{"Cu": "mg/kg"}``), or one unit for all.
    log : bool
        Logarithmic axes (default).
    lang : {"en", "zh"}
        Label language; English when no CJK font is installed (:func:`cjk_font_family`).
    max_points : int
        Largest number of points drawn in each scatter plot.
    seed : int
        Seed of the subsample.

    Returns
    -------
    matplotlib.figure.Figure
        ``k × k`` axes, row by row (``fig.axes[i * k + j]`` is panel ``(i, j)``). Artists
        carry gids: ``scatter-detected`` and ``scatter-censored`` (the points),
        ``spearman`` (the text), ``element`` (the name on the diagonal).

    Raises
    ------
    PlotError
        Fewer than 2 or more than 8 columns, duplicate or non-numeric columns, infinite
        values, ``censored`` not matching ``frame``, no complete row, ``max_points`` < 1
        or an unknown ``lang``.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"Cu": [8.0, 12.0, 20.0, 41.0], "Ni": [5.0, 9.0, 30.0, 17.0]})
    >>> fig = scatter_matrix_figure(frame, units="mg/kg")
    >>> len(fig.axes)
    4
    >>> [t.get_text() for t in fig.axes[2].texts]  # panel (1, 0): Ni against Cu
    ['rₛ = 0.80']
    >>> fig.axes[2].get_xlabel(), fig.axes[2].get_ylabel()
    ('Cu (mg/kg)', 'Ni (mg/kg)')
    """
    labels, fonts = _language(lang)
    table = _matrix_table(frame, censored, log, max_points, seed)
    k = len(table.elements)
    rs = _spearman(table.values)
    names = [_axis_name(e, units, labels) for e in table.elements]
    limits = [(float(v.min()), float(v.max())) for v in table.values.T]

    size = min(1.45 * k + 1.4, 13.0)
    fig = Figure(figsize=(size, size), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(k, k, squeeze=False)
    for i in range(k):
        for j in range(k):
            ax = axes[i, j]
            if i == j:
                _diagonal(ax, table, i, log)
            else:
                _pair(ax, table, i, j)
                _limits(ax, limits[i], log, axis="y")
            _limits(ax, limits[j], log, axis="x")
            if i > j:
                _spearman_text(ax, float(rs[i, j]), labels)
            _matrix_labels(ax, i, j, k, names, fonts)

    _matrix_notes(fig, table, labels, fonts)
    return fig


def _axis_name(element: str, units: Mapping[str, str] | str | None, labels: dict[str, str]) -> str:
    unit = units if isinstance(units, str) else (units or {}).get(element)
    if unit:
        return labels["value"].format(element=element, unit=unit)
    return labels["element"].format(element=element)


def _spearman_text(ax: Axes, r: float, labels: dict[str, str]) -> None:
    ax.text(
        0.04,
        0.96,
        labels["rs"].format(r="n/a" if np.isnan(r) else f"{r:.2f}"),
        transform=ax.transAxes,
        ha="left",
        va="top",
        fontsize=8,
        bbox={"facecolor": "white", "alpha": 0.8, "lw": 0, "pad": 1.5},
        gid="spearman",
    )


def _matrix_notes(
    fig: Figure, table: _Table, labels: dict[str, str], fonts: dict[str, Any]
) -> None:
    """Title, legend of the censored points and the note on rows left out."""
    fig.suptitle(labels["matrix"].format(n=len(table.values), m=len(table.drawn)), **fonts)
    if table.censored.any():
        handles = [
            Line2D([], [], marker="o", ls="", ms=4, color=_LINE, label=labels["detected"]),
            Line2D([], [], marker="o", ls="", ms=4, color=_CENSORED, label=labels["censored_pair"]),
        ]
        fig.legend(
            handles=handles,
            loc="outside lower center",
            ncols=2,
            frameon=False,
            prop=_prop(fonts, 8),
        )
    parts = [
        labels[key].format(k=k_out)
        for key, k_out in (("missing", table.missing), ("nonpositive", table.nonpositive))
        if k_out
    ]
    if parts:
        note = labels["left_out"].format(parts=labels["sep"].join(parts))
        fig.supxlabel(note, fontsize=8, **fonts)


def _matrix_table(
    frame: pd.DataFrame, censored: pd.DataFrame | None, log: bool, max_points: int, seed: int
) -> _Table:
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        raise PlotError(f"frame: expected a pandas DataFrame, got {type(frame).__name__}")
    elements = [str(col) for col in frame.columns]
    if not 2 <= len(elements) <= MAX_MATRIX_ELEMENTS:
        listed = f" ({', '.join(elements)})" if elements else ""
        raise PlotError(
            f"frame: a scatterplot matrix needs 2 to {MAX_MATRIX_ELEMENTS} element columns, "
            f"got {len(elements)}{listed}"
        )
    duplicated = sorted({e for e in elements if elements.count(e) > 1})
    if duplicated:
        raise PlotError(f"frame: duplicate columns {', '.join(duplicated)}")
    if isinstance(max_points, bool) or not isinstance(max_points, int | np.integer):
        raise PlotError(f"max_points: expected an integer, got {max_points!r}")
    if max_points < 1:
        raise PlotError(f"max_points: must be at least 1, got {max_points}")
    values = np.column_stack([_numbers(frame.iloc[:, j], e) for j, e in enumerate(elements)])
    flags = _flags(censored, frame, elements)

    finite = np.isfinite(values).all(axis=1)
    complete = finite & (values > 0).all(axis=1) if log else finite
    n = int(complete.sum())
    n_finite = int(finite.sum())
    if n == 0:
        raise PlotError(
            f"frame: no complete rows; {_why(len(frame), n_finite)} in one of {', '.join(elements)}"
        )
    drawn = np.arange(n)
    if n > max_points:
        drawn = np.sort(np.random.default_rng(seed).choice(n, size=int(max_points), replace=False))
    return _Table(
        elements, values[complete], flags[complete], drawn, len(frame) - n_finite, n_finite - n
    )


def _why(rows: int, finite: int) -> str:
    """Why none of ``rows`` is complete when ``finite`` of them have no missing value."""
    if rows == 0:
        return "the table has no rows"
    if finite == 0:
        return f"each of the {rows} rows has a missing value"
    if finite == rows:
        return f"each of the {rows} rows has a value <= 0 (log scale)"
    return (
        f"of the {rows} rows, {rows - finite} have a missing value "
        f"and {finite} a value <= 0 (log scale)"
    )


def _numbers(column: pd.Series, name: str) -> NDArray[np.float64]:
    try:
        x = column.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError):
        raise PlotError(f"frame: column {name!r} is not numeric (dtype {column.dtype})") from None
    if np.isinf(x).any():
        raise PlotError(f"frame: column {name!r} has infinite values")
    return x


def _flags(censored: pd.DataFrame | None, frame: pd.DataFrame, elements: list[str]) -> Any:
    import pandas as pd

    if censored is None:
        return np.zeros((len(frame), len(elements)), dtype=bool)
    if not isinstance(censored, pd.DataFrame):
        raise PlotError(f"censored: expected a pandas DataFrame, got {type(censored).__name__}")
    pairs = list(zip(frame.columns, elements, strict=True))
    missing = [name for col, name in pairs if col not in censored.columns]
    if missing:
        raise PlotError(f"censored: no column for {', '.join(missing)}")
    if not censored.index.equals(frame.index):
        raise PlotError("censored: its index differs from the index of frame")
    columns = []
    for col, name in pairs:
        flag = censored[col]
        if not (pd.api.types.is_bool_dtype(flag) or pd.api.types.is_integer_dtype(flag)):
            raise PlotError(f"censored: column {name!r} is not boolean (dtype {flag.dtype})")
        columns.append(flag.to_numpy(dtype=bool, na_value=False))
    return np.column_stack(columns)


def _spearman(values: NDArray[np.float64]) -> NDArray[np.float64]:
    """Spearman's r_s of every pair of columns: Pearson's r of their average ranks."""
    from scipy.stats import rankdata

    k = values.shape[1]
    if values.shape[0] < 3:
        return np.full((k, k), np.nan)
    ranks = rankdata(values, axis=0)
    centred = ranks - ranks.mean(axis=0)
    norms = np.sqrt((centred**2).sum(axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (centred.T @ centred) / np.outer(norms, norms)
    return np.asarray(np.clip(r, -1.0, 1.0), dtype=np.float64)


def _pair(ax: Axes, table: _Table, i: int, j: int) -> None:
    rows = table.drawn
    x, y = table.values[rows, j], table.values[rows, i]
    cen = table.censored[rows, j] | table.censored[rows, i]
    style: dict[str, Any] = {"ls": "", "marker": "o", "ms": 2.0, "mew": 0, "alpha": 0.6}
    ax.plot(x[~cen], y[~cen], color=_LINE, rasterized=True, gid="scatter-detected", **style)
    if cen.any():
        ax.plot(x[cen], y[cen], color=_CENSORED, rasterized=True, gid="scatter-censored", **style)


def _diagonal(ax: Axes, table: _Table, i: int, log: bool) -> None:
    v, c = table.values[:, i], table.censored[:, i]
    w = np.log10(v) if log else v
    edges = np.histogram_bin_edges(w, bins="auto")
    if edges.size - 1 > 30:  # a small panel: at most 30 bins
        edges = np.histogram_bin_edges(w, bins=30)
    counts, _ = np.histogram(w, bins=edges)
    left, right = _back(edges[:-1], log), _back(edges[1:], log)
    ax.bar(left, counts, width=right - left, align="edge", color=_BAR, edgecolor="white", lw=0.3)
    if c.any():
        n_cens, _ = np.histogram(w[c], bins=edges)
        ax.bar(
            left,
            n_cens,
            width=right - left,
            align="edge",
            color="none",
            edgecolor=_CENSORED,
            hatch="////",
            lw=0.3,
        )
    ax.set_ylim(0, max(float(counts.max()), 1.0) * 1.25)
    ax.set_yticks([])
    ax.text(
        0.5,
        0.95,
        table.elements[i],
        transform=ax.transAxes,
        ha="center",
        va="top",
        fontsize=10,
        fontweight="bold",
        gid="element",
    )


def _limits(ax: Axes, lim: tuple[float, float], log: bool, *, axis: Literal["x", "y"]) -> None:
    lo, hi = lim
    if log:
        _log_axis(ax, lo, hi, axis=axis, dense=1.5, minor=False)
        return
    pad = 0.05 * (hi - lo) if hi > lo else max(abs(lo) * 0.05, 0.5)
    (ax.set_xlim if axis == "x" else ax.set_ylim)(lo - pad, hi + pad)
    ax.locator_params(axis=axis, nbins=4)


def _matrix_labels(
    ax: Axes, i: int, j: int, k: int, names: list[str], fonts: dict[str, Any]
) -> None:
    """Value tick labels on the outer panels only: x at the bottom, y at the left — but
    row 0 at the right, since its left panel is a histogram."""
    ax.tick_params(labelsize=7, labelbottom=i == k - 1, labelleft=False)
    if i == k - 1:
        ax.set_xlabel(names[j], fontsize=8, **fonts)
    if i > 0 and j == 0:
        ax.tick_params(labelleft=True)
        ax.set_ylabel(names[i], fontsize=8, **fonts)
    if i == 0 and j == k - 1:
        ax.tick_params(right=True, labelright=True)
        ax.yaxis.set_label_position("right")
        ax.set_ylabel(names[0], fontsize=8, **fonts)
