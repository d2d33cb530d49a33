"""Analytics pages of the printable atlas: C-A fractal pages and robust factor pages.

:func:`analyse` computes, for the elements of an atlas (each by the method its element page
maps), what these pages print; :class:`AtlasAnalytics` then knows its pages before they are
drawn (so the contents can list them) and draws them (:meth:`AtlasAnalytics.figures`).
:func:`chemearth.render.atlas.make_atlas` appends them after the element pages when asked
(``analytics=True``).

* **A C-A page per element** (:func:`fractal_page`): the element on the cells of a grid
  level (the cell median of the samples, as the grid database and the atlas's cell maps
  compute it; 20 km cells by default), its concentration–area curve on log–log axes with
  the segments fitted by :func:`chemearth.stats.fractal.concentration_area` (breakpoints
  and their number chosen by BIC), each breakpoint marked with its confidence interval,
  the thresholds in the unit in a table, and a map of the anomaly zones (:func:`zone_map`:
  outer, middle and inner at 1, 2 and 4 times the main threshold T, over the cells shaded
  grey by their median; :mod:`chemearth.render.analytics_maps`) with the atlas's map
  furniture. The main threshold is the lowest
  breakpoint above the median cell value (the highest breakpoint when none is above it):
  breakpoints below the median split background populations. Cells whose median may be a
  detection limit are treated as :mod:`chemearth.assess.fractal_zones` treats them (not
  counted as measured; zone 0 when the DL is at or below T, unknown above it), which
  ``render``, a package of the same layer as ``assess``, cannot import.
* **Factor pages** (:func:`factor_page`, :func:`score_page`): robust PCA and robust
  factor analysis of the clr-transformed compositions of the atlas's elements
  (:func:`chemearth.stats.compositional_factors.robust_pca` and
  :func:`~chemearth.stats.compositional_factors.robust_factors`, samples with every
  element; censored values at 0.65 × DL); a page with the covariance biplot
  (:func:`chemearth.render.compositional.biplot_figure`), the loadings, communalities and
  explained variance of the factors and the variances of the principal components, then
  one page per factor with the map of its scores at the sample sites
  (:func:`~chemearth.render.analytics_maps.score_map`, a diverging scale centred on 0) and
  its loadings.

Pages are A4 figures on the Agg canvas, vector throughout, in English or Chinese
(:data:`chemearth.render.atlas_text.LABELS`).

Examples
--------
>>> from chemearth.store import open_store                                    # doctest: +SKIP
>>> an = analyse(open_store(), "kola-chorizon", {"Cu": None, "Ni": None, "Co": None})
...                                                                           # doctest: +SKIP
>>> an.pages, an.titles()[0]                                                  # doctest: +SKIP
(5, 'Cu  copper: concentration–area (C-A) fractal')
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pandas as pd

from chemearth.errors import ChemearthError
from chemearth.jsonable import plain
from chemearth.reference.terms import label as term_label
from chemearth.render.atlas_text import LABELS, element_name, fmt_value
from chemearth.stats.fractal import ZONE_MULTIPLES, ZONE_NAMES

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from chemearth.grid.geometry import Grid
    from chemearth.stats.compositional_factors import RobustFactors, RobustPCA
    from chemearth.stats.fractal import FractalFit
    from chemearth.store.base import Store

__all__ = [
    "MAX_FACTORS",
    "AtlasAnalytics",
    "ElementFractal",
    "FactorAnalysis",
    "analyse",
    "element_fractal",
    "factor_analysis",
    "factor_page",
    "fractal_page",
    "main_threshold",
    "score_page",
]

#: Factors of the factor pages at most (fewer when the elements allow fewer).
MAX_FACTORS: Final = 3
#: Principal components listed at most.
MAX_COMPONENTS: Final = 8
_PAGE = (8.27, 11.69)  # A4 portrait, inches
_POINT = "#4a7fb5"
_FIT = "#b2182b"
_BREAK = "#d95f02"


# --------------------------------------------------------------------------- analyses


def main_threshold(fit: FractalFit, median: float) -> float:
    """The threshold of the zones: the lowest breakpoint above ``median`` (the highest
    breakpoint when none is above it)."""
    above = fit.thresholds[fit.thresholds > median]
    return float(above[0] if above.size else fit.thresholds[-1])


@dataclass
class ElementFractal:
    """The C-A analysis of one element: its cells, fit, main threshold and zones.

    ``cells`` holds ``cell`` (key), ``n``, ``value`` (the median of the samples),
    ``censored`` (the median may be a detection limit) and ``zone`` (0 background, 1–3
    outer to inner at ``threshold``, −1 a censored cell that cannot be zoned), as
    :func:`chemearth.assess.fractal_zones.zone_layer` gives them.
    """

    element: str
    method: str
    unit: str
    grid: Grid
    level_m: int
    cells: pd.DataFrame
    fit: FractalFit
    threshold: float

    @property
    def cell_area_km2(self) -> float:
        """The area of one cell."""
        return (self.level_m / 1000.0) ** 2

    @property
    def median(self) -> float:
        """The median cell value."""
        return float(np.median(self.cells["value"].to_numpy(float)))

    def zone_counts(self) -> list[dict[str, Any]]:
        """Per zone (outer, middle, inner): its name, lower bound, cells and area (km²)."""
        z = self.cells["zone"].to_numpy(int)
        area = self.cell_area_km2
        return [{"zone": i + 1, "name": ZONE_NAMES[i], "lower": self.threshold * mult,
                 "n_cells": int((z == i + 1).sum()), "area_km2": float((z == i + 1).sum()) * area}
                for i, mult in enumerate(ZONE_MULTIPLES)]

    def as_dict(self) -> dict[str, Any]:
        """What the page prints, as plain values."""
        f = self.fit
        out: dict[str, Any] = plain({
            "element": self.element, "method": self.method, "unit": self.unit, "kind": "C-A",
            "grid": self.grid.name, "level_m": int(self.level_m),
            "n_cells": len(self.cells), "median": self.median,
            "thresholds": f.thresholds, "threshold_low": f.threshold_low,
            "threshold_high": f.threshold_high, "confidence": f.fit.confidence,
            "exponents": f.exponents, "threshold": self.threshold,
            "zones": self.zone_counts()})
        return out


def element_fractal(store: Store, dataset: str, element: str, *, method: str | None = None,
                    grid: str | None = None, level: int | str = "20km") -> ElementFractal:
    """The C-A analysis of ``element`` of ``dataset`` (analyses by ``method``) on the cells
    of ``level`` of ``grid`` (default: the European grid for data in Europe, else the
    global one).

    Raises
    ------
    chemearth.errors.ChemearthError
        No analyses, or a curve that cannot be fitted.
    """
    from chemearth.grid.aggregate import cell_stats
    from chemearth.grid.geometry import get_grid
    from chemearth.grid.layers import grids_for
    from chemearth.grid.levels import parse_level
    from chemearth.stats.fractal import concentration_area, zones
    from chemearth.store.selectors import element_values

    m, meth = element_values(store, dataset, element, method)
    lon = m["longitude"].to_numpy(float)
    lat = m["latitude"].to_numpy(float)
    val = m["value"].to_numpy(float)
    cen = m["censored"].to_numpy(bool)
    g = get_grid(grid or grids_for(lon, lat)[-1])
    lv = parse_level(level)
    keys = g.cell_keys(lon, lat, lv)
    on = (keys >= 0) & np.isfinite(val)
    cells = cell_stats(keys[on], val[on], cen[on])
    value = cells["median"].to_numpy(float)
    # a cell whose median is not above the highest DL of its censored samples may be a DL
    dl = pd.Series(val[on][cen[on]]).groupby(keys[on][cen[on]]).max()
    cell_dl = cells["cell"].map(dl).to_numpy(float)
    censored = np.isfinite(cell_dl) & (value <= cell_dl)
    fit = concentration_area(value, censored, cell_area=(lv / 1000.0) ** 2)
    thr = main_threshold(fit, float(np.median(value)))
    zone = np.where(censored, np.where(value > thr, -1, 0), zones(value, thr)).astype(int)
    frame = pd.DataFrame({"cell": cells["cell"].to_numpy(np.int64),
                          "n": cells["n"].to_numpy(int), "value": value,
                          "censored": censored, "zone": zone})
    return ElementFractal(element, meth, str(m["unit"].iloc[0]), g, int(lv), frame, fit, thr)


@dataclass
class FactorAnalysis:
    """Robust PCA and factors of the compositions of the atlas's elements.

    ``samples`` holds ``longitude`` and ``latitude`` of the samples used (indexed by
    ``sample_id``, in the order of the scores); ``n_left_out`` counts samples lacking an
    element.
    """

    parts: tuple[str, ...]
    samples: pd.DataFrame
    n_left_out: int
    pca: RobustPCA
    factors: RobustFactors

    @property
    def names(self) -> list[str]:
        """The factors, ``F1`` …"""
        return [str(c) for c in self.factors.loadings.columns]

    def as_dict(self) -> dict[str, Any]:
        """What the pages print, as plain values."""
        out: dict[str, Any] = plain({
            "parts": list(self.parts), "n_samples": len(self.samples),
            "n_left_out": self.n_left_out, "pca_variances": self.pca.variances,
            "pca_explained": self.pca.explained, "factor_explained": self.factors.explained,
            "loadings": self.factors.loadings.to_dict(),
            "communalities": self.factors.communalities.to_dict()})
        return out


def factor_analysis(store: Store, dataset: str, methods: Mapping[str, str | None], *,
                    factors: int | None = None) -> FactorAnalysis:
    """Robust PCA and robust factors of the elements ``methods`` (element -> method).

    ``factors`` defaults to ``min(MAX_FACTORS, D − 2)`` for D elements.

    Raises
    ------
    chemearth.stats.compositional.CompositionError
        Fewer than 3 elements, or too many factors for them.
    """
    from chemearth.stats.compositional import CompositionError, parts_of
    from chemearth.stats.compositional_factors import robust_factors, robust_pca
    from chemearth.store.selectors import element_values

    values: dict[str, pd.Series] = {}
    flags: dict[str, pd.Series] = {}
    where: list[pd.DataFrame] = []
    for el, meth in methods.items():
        m, _ = element_values(store, dataset, el, meth)
        m = m.drop_duplicates("sample_id").set_index("sample_id")
        values[el] = m["value"].astype(float)
        flags[el] = m["censored"].astype(bool)
        where.append(m[["longitude", "latitude"]])
    if len(values) < 3:
        raise CompositionError(f"a factor analysis needs 3 or more elements, got {len(values)}")
    frame = pd.DataFrame(values)
    cens = pd.DataFrame({el: f.reindex(frame.index, fill_value=False)
                         for el, f in flags.items()})
    parts = parts_of(frame, censored=cens)
    k = factors if factors is not None else min(MAX_FACTORS, len(parts.parts) - 2)
    pca = robust_pca(parts)
    fa = robust_factors(parts, k)
    coords = pd.concat(where).groupby(level=0).first().reindex(fa.rows)
    return FactorAnalysis(parts.parts, coords, len(parts.missing_rows), pca, fa)


@dataclass
class AtlasAnalytics:
    """The analytics pages of one atlas: C-A pages, then the factor pages.

    ``notes`` say which analyses were left out and why.
    """

    dataset: str
    lang: str
    fractals: dict[str, ElementFractal] = field(default_factory=dict)
    factors: FactorAnalysis | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def pages(self) -> int:
        """How many pages :meth:`figures` draws."""
        fa = 1 + len(self.factors.names) if self.factors is not None else 0
        return len(self.fractals) + fa

    def titles(self) -> list[str]:
        """The title of each page, in order (for the contents)."""
        lab = LABELS[self.lang]
        out = [_fractal_title(el, self.lang) for el in self.fractals]
        if self.factors is not None:
            out.append(lab["fa_title"])
            out += [lab["fa_map_title"].format(f=f) for f in self.factors.names]
        return out

    def contents(self, first: int) -> list[tuple[str, int]]:
        """Contents entries when the pages start at page ``first``."""
        return [(t, first + i) for i, t in enumerate(self.titles())]

    def figures(self, first: int, *, citation: str = "", source: str | None = None,
                boundaries: Path | None = None) -> Iterator[tuple[str, Figure]]:
        """Draw the pages, numbered from ``first``: (title, figure) one at a time."""
        titles = iter(self.titles())
        page = first
        for ef in self.fractals.values():
            yield next(titles), fractal_page(ef, lang=self.lang, page=page, citation=citation,
                                             source=source, boundaries=boundaries)
            page += 1
        if self.factors is not None:
            yield next(titles), factor_page(self.factors, lang=self.lang, page=page,
                                            citation=citation)
            for f in self.factors.names:
                page += 1
                yield next(titles), score_page(self.factors, f, lang=self.lang, page=page,
                                               citation=citation, source=source,
                                               boundaries=boundaries)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form: each element's C-A results, the factors, the notes."""
        return {"fractal": {el: ef.as_dict() for el, ef in self.fractals.items()},
                "factors": self.factors.as_dict() if self.factors is not None else None,
                "notes": list(self.notes)}


def analyse(store: Store, dataset: str, methods: Mapping[str, str | None], *,
            lang: str = "en", fractal_elements: Sequence[str] | None = None,
            grid: str | None = None, level: int | str = "20km",
            factors: int | None = None) -> AtlasAnalytics:
    """The analyses of the analytics pages of ``dataset``.

    Parameters
    ----------
    store : Store
    dataset : str
    methods : mapping
        Element -> analytical method (None: the one closest to a total), as the element
        pages map them; the factor analysis takes all of them.
    lang : {"en", "zh"}
    fractal_elements : sequence of str, optional
        The elements given a C-A page (default: all of ``methods``).
    grid, level : str, optional
        The cells of the C-A curves (see :func:`element_fractal`).
    factors : int, optional
        Number of robust factors (default ``min(MAX_FACTORS, D − 2)``).

    An element whose curve cannot be fitted, or factors that cannot be computed, are left
    out with a note.
    """
    out = AtlasAnalytics(dataset, lang)
    for el in fractal_elements if fractal_elements is not None else list(methods):
        try:
            out.fractals[el] = element_fractal(store, dataset, el, method=methods.get(el),
                                               grid=grid, level=level)
        except ChemearthError as exc:
            out.notes.append(f"{el}: no C-A page ({exc})")
    try:
        out.factors = factor_analysis(store, dataset, methods, factors=factors)
    except ChemearthError as exc:
        out.notes.append(f"factor pages left out ({exc})")
    return out


# --------------------------------------------------------------------------- page parts


def _new_page() -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=_PAGE)
    FigureCanvasAgg(fig)
    return fig


def _fonts(lang: str) -> dict[str, Any]:
    from chemearth.render.plots import cjk_font_family

    family = cjk_font_family() if lang == "zh" else None
    return {"fontfamily": family} if family else {}


def _wrap(text: str, width: int, lang: str) -> str:
    """Wrapped to ``width`` Latin characters (a Chinese character counts two)."""
    return "\n".join(textwrap.fill(p, width // 2 if lang == "zh" else width)
                     for p in text.split("\n"))


def _footer(fig: Figure, page: int | None, citation: str, fonts: dict[str, Any]) -> None:
    if page is not None:
        fig.text(0.95, 0.02, str(page), ha="right", va="bottom", fontsize=9)
    fig.text(0.06, 0.02, textwrap.fill(citation, 150), ha="left", va="bottom", fontsize=6,
             color="#555555", **fonts)


def _table(ax: Axes, body: list[list[str]], head: list[str], fonts: dict[str, Any],
           size: float, widths: Sequence[float] | None = None, gid: str = "") -> None:
    ax.set_axis_off()
    t = ax.table(cellText=body, colLabels=head, loc="upper center", cellLoc="right",
                 colWidths=list(widths) if widths is not None else None)
    t.auto_set_font_size(False)
    # rows that would run past the axes are squeezed into it, their text with them
    rows = len(body) + 1
    tall = ax.get_position().height * _PAGE[1] * 72  # points, on an atlas page
    fit = tall / rows / 1.6
    t.set_fontsize(min(size, fit))
    for (r, c), cell in t.get_celld().items():
        if size > fit:
            cell.set_height(1.0 / rows)
        cell.set_linewidth(0.3)
        if fonts:
            cell.get_text().set_fontfamily(fonts["fontfamily"])
        if r == 0:
            cell.set_text_props(weight="bold")
        if c == 0:
            cell.get_text().set_horizontalalignment("left")
    if gid:
        ax.set_gid(gid)


def _fractal_title(element: str, lang: str) -> str:
    sep = "：" if lang == "zh" else ": "
    return f"{element}  {element_name(element, lang)}{sep}{LABELS[lang]['ca_title']}"


# --------------------------------------------------------------------------- C-A page


def _curve_plot(ax: Axes, ef: ElementFractal, lab: dict[str, str], fonts: dict[str, Any]
                ) -> None:
    from matplotlib.patches import Patch
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    f = ef.fit
    c = f.curve
    ax.loglog(c.levels[c.fitted], c.measure[c.fitted], ls="", marker="o", ms=2.4,
              color=_POINT, label=lab["ca_cells"], gid="ca-points")
    other = ~c.fitted & (c.measure > 0)
    if other.any():
        ax.loglog(c.levels[other], c.measure[other], ls="", marker="o", ms=2.4, mfc="none",
                  color="0.6", label=lab["ca_unfitted"], gid="ca-unfitted")
    x, _ = c.log_points()
    xx = np.linspace(float(x.min()), float(x.max()), 400)
    ax.plot(10.0 ** xx, 10.0 ** f.fit.predict(xx), color=_FIT, lw=1.2, label=lab["ca_fit"],
            gid="ca-fit")
    top = ax.get_xaxis_transform()
    for i, (t, lo, hi) in enumerate(zip(f.thresholds, f.threshold_low, f.threshold_high,
                                        strict=True)):
        ax.axvspan(lo, hi, color="#fdae61", alpha=0.45, lw=0, zorder=0, gid=f"ca-ci-{i + 1}")
        main = bool(np.isclose(t, ef.threshold))
        ax.axvline(t, color="black" if main else _BREAK, lw=1.0 if main else 0.8,
                   ls="-" if main else "--", zorder=1, gid=f"ca-break-{i + 1}")
        ax.text(t, 1.01, f"T{i + 1}" + (" = T" if main else ""), transform=top, ha="center",
                va="bottom", fontsize=7)
    handles, texts = ax.get_legend_handles_labels()
    handles.append(Patch(color="#fdae61", alpha=0.45, lw=0))
    texts.append(lab["ca_ci"].format(c=100 * f.fit.confidence))
    ax.legend(handles, texts, loc="lower left", fontsize=6.5, frameon=False,
              prop={"size": 6.5, **({"family": fonts["fontfamily"]} if fonts else {})})
    plain_numbers = FuncFormatter(lambda v, _pos: f"{v:g}")
    for axis, lo, hi in ((ax.xaxis, c.levels.min(), c.levels.max()),
                         (ax.yaxis, c.measure[c.measure > 0].min(), c.measure.max())):
        few = np.log10(hi / lo) <= 2  # 1-2-5 ticks over few decades
        axis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0) if few else (1.0,)))
        axis.set_major_formatter(plain_numbers)
        axis.set_minor_formatter(NullFormatter())
    ax.tick_params(labelsize=7)
    ax.set_xlabel(lab["ca_xlabel"].format(unit=ef.unit), fontsize=8, **fonts)
    ax.set_ylabel(lab["ca_ylabel"], fontsize=8, **fonts)
    ax.set_gid("ca-curve")


def _threshold_tables(fig: Figure, ef: ElementFractal, lab: dict[str, str],
                      fonts: dict[str, Any]) -> None:
    f = ef.fit
    conf = 100 * f.fit.confidence
    body = [[f"T{i + 1}", fmt_value(t), f"{fmt_value(lo)} – {fmt_value(hi)}",
             f"{f.exponents[i + 1]:.2f}"]
            for i, (t, lo, hi) in enumerate(zip(f.thresholds, f.threshold_low,
                                                f.threshold_high, strict=True))]
    body.append([lab["ca_main"], fmt_value(ef.threshold), "", ""])
    head = [lab["ca_break"], ef.unit, lab["ca_ci_col"].format(c=conf), lab["ca_slope"]]
    _table(fig.add_axes((0.60, 0.74, 0.36, 0.16)), body, head, fonts, 7,
           (0.30, 0.16, 0.31, 0.23), gid="threshold-table")
    zones = [[lab[f"zone_{z['name']}"].format(v=fmt_value(z["lower"])), str(z["n_cells"]),
              fmt_value(z["area_km2"])] for z in reversed(ef.zone_counts())]
    _table(fig.add_axes((0.60, 0.63, 0.36, 0.09)), zones,
           [lab["ca_zones"], lab["ca_cells_col"], lab["ca_area_col"]], fonts, 7,
           (0.62, 0.17, 0.21), gid="zone-table")


def fractal_page(ef: ElementFractal, *, lang: str = "en", page: int | None = None,
                 citation: str = "", source: str | None = None,
                 boundaries: Path | None = None) -> Figure:
    """The C-A page of one element (A4): curve and fit, thresholds, zone map."""
    lab = LABELS[lang]
    fonts = _fonts(lang)
    fig = _new_page()
    fig.text(0.06, 0.965, _fractal_title(ef.element, lang), fontsize=16, weight="bold",
             va="top", **fonts)
    fig.text(0.06, 0.935, f"{term_label('method', ef.method, lang)} · {ef.unit} · {ef.grid.name} "
             f"{ef.level_m / 1000:g} km · n = {len(ef.cells)}", fontsize=8.5, va="top",
             color="#333333", **fonts)
    _curve_plot(fig.add_axes((0.10, 0.65, 0.44, 0.25)), ef, lab, fonts)
    _threshold_tables(fig, ef, lab, fonts)
    note = lab["ca_note"].format(level=f"{ef.level_m / 1000:g} km", grid=ef.grid.name,
                                 k=ef.fit.fit.n_breakpoints, slope=float(ef.fit.exponents[0]),
                                 median=fmt_value(ef.median), unit=ef.unit)
    fig.text(0.06, 0.595, _wrap(note, 140, lang), fontsize=6.8, va="top", color="#333333",
             linespacing=1.4, **fonts)
    from chemearth.render.analytics_maps import zone_map

    zone_map(ef.grid, ef.cells["cell"], ef.cells["value"], ef.cells["zone"], ef.threshold,
             element=ef.element, unit=ef.unit, lang=lang, boundaries=boundaries,
             source=source, ax=fig.add_axes((0.05, 0.11, 0.64, 0.41)))
    _footer(fig, page, citation, fonts)
    return fig


# --------------------------------------------------------------------------- factor pages


def factor_page(fa: FactorAnalysis, *, lang: str = "en", page: int | None = None,
                citation: str = "") -> Figure:
    """The overview page of the factors (A4): biplot, loadings and explained variances."""
    from chemearth.render.compositional import biplot_figure
    from chemearth.stats.compositional_factors import biplot

    lab = LABELS[lang]
    fonts = _fonts(lang)
    fig = _new_page()
    fig.text(0.06, 0.965, lab["fa_title"], fontsize=18, weight="bold", va="top", **fonts)
    text = lab["fa_text"].format(parts=lab["list_sep"].join(fa.parts), n=len(fa.samples),
                                 left=fa.n_left_out)
    fig.text(0.06, 0.93, _wrap(text, 135, lang), fontsize=7.5, va="top", color="#333333",
             linespacing=1.4, **fonts)
    gs = fig.add_gridspec(3, 3, height_ratios=[0.13, 0.45, 0.42], width_ratios=[0.14, 0.72,
                                                                                0.14])
    sub = fig.add_subfigure(gs[1, 1])
    biplot_figure(biplot(fa.pca), title=lab["biplot_title"], figure=sub)
    _translate_biplot(sub, lab, fonts)
    names = fa.names
    load = fa.factors.loadings.reindex(list(fa.parts)).to_numpy(float)
    comm = fa.factors.communalities.reindex(list(fa.parts)).to_numpy(float)
    body = [[el, *(f"{v:.2f}" for v in load[i]), f"{comm[i]:.2f}"]
            for i, el in enumerate(fa.parts)]
    body.append([lab["fa_explained"], *(f"{100 * e:.1f}" for e in fa.factors.explained), ""])
    head = ["", *names, lab["fa_communality"]]
    _table(fig.add_axes((0.06, 0.06, 0.50, 0.34)), body, head, fonts, 7,
           (0.28, *([0.5 / len(names)] * len(names)), 0.22), gid="loadings-table")
    n = min(MAX_COMPONENTS, len(fa.pca.explained))
    cum = np.cumsum(fa.pca.explained)
    rows = [[f"PC{i + 1}", f"{fa.pca.variances[i]:.3g}", f"{100 * fa.pca.explained[i]:.1f}",
             f"{100 * cum[i]:.1f}"] for i in range(n)]
    _table(fig.add_axes((0.60, 0.06, 0.36, 0.34)), rows,
           [lab["pca_component"], lab["pca_variance"], lab["fa_explained"],
            lab["pca_cumulative"]], fonts, 6.5, (0.22, 0.22, 0.28, 0.28), gid="pca-table")
    _footer(fig, page, citation, fonts)
    return fig


def _translate_biplot(sub: Any, lab: dict[str, str], fonts: dict[str, Any]) -> None:
    """The biplot's legend in the atlas's language and font."""
    legend = sub.axes[0].get_legend()
    if legend is None:
        return
    for t in legend.get_texts():
        t.set_text(t.get_text().replace("samples", lab["biplot_samples"])
                   .replace("clr parts", lab["biplot_parts"]))
        if fonts:
            t.set_fontfamily(fonts["fontfamily"])
    for t in sub.texts if fonts else ():  # the title
        t.set_fontfamily(fonts["fontfamily"])


def score_page(fa: FactorAnalysis, factor: str, *, lang: str = "en", page: int | None = None,
               citation: str = "", source: str | None = None,
               boundaries: Path | None = None) -> Figure:
    """One factor's page (A4): the map of its scores and its loadings."""
    from chemearth.render.analytics_maps import score_map

    lab = LABELS[lang]
    fonts = _fonts(lang)
    fig = _new_page()
    fig.text(0.06, 0.965, lab["fa_map_title"].format(f=factor), fontsize=18, weight="bold",
             va="top", **fonts)
    i = fa.names.index(factor)
    _, lim = score_map(fa.samples["longitude"], fa.samples["latitude"],
                       fa.factors.scores[factor], heading=lab["score_heading"].format(f=factor),
                       lang=lang, boundaries=boundaries, source=source,
                       ax=fig.add_axes((0.06, 0.40, 0.80, 0.51)))
    note = lab["score_note"].format(f=factor, v=100 * float(fa.factors.explained[i]),
                                    n=len(fa.samples), lim=fmt_value(lim))
    fig.text(0.06, 0.325, _wrap(note, 135, lang), fontsize=7.5, va="top", color="#333333",
             **fonts)
    ax = fig.add_axes((0.10, 0.07, 0.84, 0.2))
    load = fa.factors.loadings[factor]
    ax.bar(np.arange(len(load)), load.to_numpy(float),
           color=np.where(load.to_numpy(float) >= 0, _FIT, "#2166ac"), gid="loadings")
    ax.axhline(0.0, color="0.4", lw=0.6)
    ax.set_xticks(np.arange(len(load)), [str(e) for e in load.index], fontsize=7)
    ax.tick_params(axis="y", labelsize=7)
    ax.set_title(lab["score_loadings"].format(f=factor), fontsize=9, **fonts)
    _footer(fig, page, citation, fonts)
    return fig
