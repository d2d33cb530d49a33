"""A printable geochemical atlas of one dataset, and the map of one element.

:func:`make_atlas` writes a vector PDF in the style of the national and European atlases
(Reimann et al. 1998, 2014; Smith et al. 2013): a cover, contents, a methods page, one
page per element — its map (interpolated surface, grid cells or sample points in
cumulative-frequency classes), its distribution (histogram with density, Tukey boxplot,
ECDF) and its statistics table — and a summary table of all elements. English or Chinese.

The statistics are exactly those of :func:`chemearth.stats.baselines.baseline` (and so of the
baseline API, ``/api/elements/{element}/baselines``) for the dataset and the analytical
method mapped; :func:`element_table` returns them and the atlas prints them.

:func:`element_map` draws one element's map for the CLI and the website.

Examples
--------
>>> from chemearth.store import open_store                                    # doctest: +SKIP
>>> report = make_atlas(open_store(), "kola-chorizon", "kola.pdf",
...                     elements=["Cu", "Ni", "Cr"])                           # doctest: +SKIP
>>> report.pages, report.contents[3]                                         # doctest: +SKIP
(8, ('Cr', 4))
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pandas as pd

from chemearth.errors import ChemearthError, NotFoundError
from chemearth.jsonable import plain
from chemearth.reference.terms import label as term_label
from chemearth.render.atlas_text import LABELS, element_name
from chemearth.render.atlas_text import fmt_value as _fmt

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from chemearth.interp.surfaces import Interpolation
    from chemearth.render.atlas_analytics import AtlasAnalytics
    from chemearth.store.base import Store

__all__ = [
    "ATLAS_STATS",
    "AtlasError",
    "AtlasReport",
    "element_map",
    "element_page",
    "element_table",
    "make_atlas",
]

#: The statistics of an element page's table, in order (keys of the baseline API).
ATLAS_STATS: Final = (
    "n", "n_censored", "max_dl", "min", "p5", "p10", "p25", "median", "p75", "p90", "p95",
    "p98", "max", "mad", "tukey_lower", "tukey_upper",
)
#: A4 portrait, inches.
PAGE: Final = (8.27, 11.69)
#: Rows of the summary table per page.
SUMMARY_ROWS: Final = 32
#: Map kinds.
KINDS: Final = ("surface", "cells", "points")
#: Most sample sites drawn over a surface.
MAX_SITES: Final = 2000

Progress = Callable[[str, int, int], None]


class AtlasError(ChemearthError, ValueError):
    """An atlas that cannot be made (unknown map kind or language, no elements)."""


@dataclass
class AtlasReport:
    """What :func:`make_atlas` wrote.

    Attributes
    ----------
    path : Path
    pages : int
    elements : list of str
        The element pages, in order.
    contents : list of (title, page)
    tables : dict
        Element -> the statistics printed on its page (:func:`element_table`).
    maps : dict
        Element -> how its map was made (kind, and the interpolation's description).
    notes : list of str
        Elements left out and why, fallbacks taken.
    analytics : dict
        What the analytics pages print (:meth:`~chemearth.render.atlas_analytics.
        AtlasAnalytics.as_dict`), when asked for.
    quality : dict
        Element -> its row of the data-quality report (the mapped method), printed on the
        data-quality page.
    """

    path: Path
    pages: int
    lang: str
    elements: list[str] = field(default_factory=list)
    quality: dict[str, dict[str, Any]] = field(default_factory=dict)
    contents: list[tuple[str, int]] = field(default_factory=list)
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    maps: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    analytics: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"path": str(self.path), "pages": self.pages, "lang": self.lang,
                "elements": self.elements, "contents": self.contents, "tables": self.tables,
                "maps": self.maps, "notes": self.notes, "analytics": self.analytics}


# --------------------------------------------------------------------------- data


def _dataset_record(store: Store, dataset: str) -> dict[str, Any]:
    cat = store.datasets()
    rows = cat[cat["dataset_id"] == dataset]
    if rows.empty:
        raise NotFoundError(f"dataset {dataset!r} is not in the store")
    rec = rows.sort_values("version").iloc[-1].to_dict()
    return {str(k): v for k, v in rec.items()}


def _chosen_method(store: Store, dataset: str, element: str, method: str | None
                   ) -> tuple[pd.DataFrame, str]:
    from chemearth.store.selectors import element_values
    return element_values(store, dataset, element, method)


def element_table(store: Store, dataset: str, element: str, method: str | None = None
                  ) -> dict[str, Any]:
    """The statistics of an element page: the baseline row of ``dataset`` for the method
    mapped (default: the one closest to a total), as :func:`chemearth.stats.baselines.baseline`
    computes it, with ``unit``, ``medium`` and ``method``.

    Raises
    ------
    NotFoundError
        If the dataset holds no such analyses.
    """
    from chemearth.stats.baselines import baseline

    meth = method if method is not None else _chosen_method(store, dataset, element, None)[1]
    table = baseline(store, element, dataset=dataset, method=meth)
    row = table.iloc[0].to_dict()
    out: dict[str, Any] = plain(row)
    return out


# --------------------------------------------------------------------------- maps


def _interpolation(store: Store, dataset: str, element: str, method: str | None,
                   options: dict[str, Any] | None) -> Interpolation:
    from chemearth.interp.surfaces import interpolate

    opts = {k: v for k, v in (options or {}).items() if v is not None}
    return interpolate(store, dataset, element, analytical_method=method, **opts)


def element_map(
    store: Store,
    dataset: str,
    element: str,
    *,
    kind: str = "surface",
    scale: str = "classes",
    grid: str | None = None,
    level: str = "20km",
    lang: str = "en",
    boundaries: Path | None = None,
    analytical_method: str | None = None,
    interpolation: dict[str, Any] | None = None,
    ax: Any = None,
    info: dict[str, Any] | None = None,
    source: str | None = None,
) -> Figure:
    """The map of one element of a dataset: an interpolated surface, grid cells (cell
    medians at ``level``) or the sample points, with legend, boundaries, scale bar,
    projection and citation (:mod:`chemearth.render.maps`).

    ``info``, when given, receives how the map was made (kind, interpolation details).
    """
    from chemearth.render import maps

    if kind not in KINDS:
        raise AtlasError(f"unknown map kind {kind!r}; kinds: {', '.join(KINDS)}")
    rec = _dataset_record(store, dataset)
    source = source or _citation(rec)
    m, meth = _chosen_method(store, dataset, element, analytical_method)
    unit = str(m["unit"].iloc[0])
    lon = m["longitude"].to_numpy(dtype=float)
    lat = m["latitude"].to_numpy(dtype=float)
    val = m["value"].to_numpy(dtype=float)
    cen = m["censored"].to_numpy(dtype=bool)
    out: dict[str, Any] = {"kind": kind, "method": meth, "unit": unit}
    common: dict[str, Any] = {"element": element, "unit": unit, "scale": scale,
                              "boundaries": boundaries, "source": source, "lang": lang,
                              "ax": ax}
    if kind == "points":
        fig = maps.point_map(lon, lat, val, censored=cen, **common)
    elif kind == "cells":
        from chemearth.grid.aggregate import cell_stats
        from chemearth.grid.geometry import get_grid
        from chemearth.grid.layers import grids_for
        from chemearth.grid.levels import parse_level

        g = get_grid(grid or grids_for(lon, lat)[-1])  # square cells in Europe's LAEA
        lv = parse_level(level)
        keys = g.cell_keys(lon, lat, lv)
        on = keys >= 0
        stats = cell_stats(keys[on], val[on], cen[on])  # as the grid database computes them
        fig = maps.cell_map(g, lv, stats["cell"].to_numpy(), stats["median"].to_numpy(),
                            **common)
        out.update({"grid": g.name, "level": g.level_label(lv), "statistic": "median"})
    else:
        ip = _interpolation(store, dataset, element, meth, interpolation)
        surf = ip.raster()
        da = surf["estimate"]
        # the sites are drawn unless they would hide the surface
        pts = (ip.longitude, ip.latitude) if ip.n_samples <= MAX_SITES else None
        fig = maps.surface_map(da, points=pts, **common)
        out["interpolation"] = {k: v for k, v in ip.describe().items() if k != "crs_wkt"}
    if info is not None:
        info.update(out)
    return fig


def _citation(rec: dict[str, Any]) -> str:
    cit = str(rec.get("citation") or rec.get("title") or rec.get("dataset_id"))
    lic = rec.get("licence")
    return f"{cit}" + (f" ({lic})" if lic else "")


# --------------------------------------------------------------------------- pages


def _new_page() -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=PAGE)
    FigureCanvasAgg(fig)
    return fig


def _fonts(lang: str) -> dict[str, Any]:
    from chemearth.render.plots import cjk_font_family

    family = cjk_font_family() if lang == "zh" else None
    return {"fontfamily": family} if family else {}


def _footer(fig: Figure, page: int, text: str, fonts: dict[str, Any]) -> None:
    import textwrap

    fig.text(0.95, 0.02, str(page), ha="right", va="bottom", fontsize=9)
    fig.text(0.06, 0.02, textwrap.fill(text, 150), ha="left", va="bottom", fontsize=6,
             color="#555555", **fonts)


def _cover(rec: dict[str, Any], elements: Sequence[str], lang: str, when: str) -> Figure:
    from chemearth.store.selectors import string_list

    lab = LABELS[lang]
    fonts = _fonts(lang)
    fig = _new_page()
    fig.text(0.5, 0.80, lab["atlas_title"], ha="center", fontsize=26, weight="bold",
             **fonts)
    fig.text(0.5, 0.74, str(rec.get("title") or rec["dataset_id"]), ha="center",
             fontsize=14, wrap=True, **fonts)
    media = [term_label("medium", m, lang) for m in string_list(rec.get("media"))]
    lines = [
        f"{lab['dataset']}: {rec['dataset_id']} (v{rec.get('version', 1)})",
        f"{lab['medium']}: {lab['list_sep'].join(media) or '–'}",
        f"{lab['countries']}: {', '.join(string_list(rec.get('countries'))) or '–'}",
        f"{lab['samples']}: {rec.get('n_samples') or '–'}",
        f"{lab['elements']}: {', '.join(elements)}",
        "",
        f"{lab['source']}: {_citation(rec)}",
        "",
        f"{lab['made']} {when}",
    ]
    fig.text(0.12, 0.62, "\n".join(lines), ha="left", va="top", fontsize=10,
             linespacing=1.6, wrap=True, **fonts)
    return fig


def _contents(contents: list[tuple[str, int]], lang: str, page: int) -> Figure:
    lab = LABELS[lang]
    fonts = _fonts(lang)
    fig = _new_page()
    fig.text(0.1, 0.92, lab["contents"], fontsize=18, weight="bold", **fonts)
    y = 0.86
    for title, p in contents:
        fig.text(0.12, y, title, fontsize=10, **fonts)
        fig.text(0.88, y, str(p), fontsize=10, ha="right")
        y -= 0.024
    _footer(fig, page, "", fonts)
    return fig


def _methods(rec: dict[str, Any], kind: str, lang: str, page: int,
             methods_of: dict[str, str]) -> Figure:
    lab = LABELS[lang]
    fonts = _fonts(lang)
    fig = _new_page()
    fig.text(0.1, 0.92, lab["methods"], fontsize=18, weight="bold", **fonts)
    methods = sorted({term_label("method", m, lang) for m in methods_of.values()})
    text = lab["methods_text"].format(
        kind=lab[f"kind_{kind}"], methods=lab["method_sep"].join(methods) or "–",
        citation=_citation(rec),
    )
    fig.text(0.1, 0.87, text, ha="left", va="top", fontsize=9, linespacing=1.5, wrap=True,
             **fonts)
    _footer(fig, page, _citation(rec), fonts)
    return fig


def element_page(
    store: Store,
    dataset: str,
    element: str,
    *,
    lang: str = "en",
    kind: str = "surface",
    grid: str | None = None,
    level: str = "20km",
    boundaries: Path | None = None,
    method: str | None = None,
    page: int | None = None,
    info: dict[str, Any] | None = None,
    quality: dict[str, Any] | None = None,
) -> tuple[Figure, dict[str, Any]]:
    """One element's atlas page (A4): map, distribution plot and statistics table.

    Returns the figure and the table printed on it (:func:`element_table`). The website
    serves this page as PNG and PDF. ``quality`` is the element's row of the data-quality
    report (:func:`chemearth.qc.report.quality_report`); its precision and variance shares
    are noted under the map note.
    """
    from chemearth.render.plots import distribution_figure

    if lang not in LABELS:
        raise AtlasError(f"unknown language {lang!r}; languages: {', '.join(LABELS)}")
    lab = LABELS[lang]
    fonts = _fonts(lang)
    rec = _dataset_record(store, dataset)
    m, meth = _chosen_method(store, dataset, element, method)
    table = element_table(store, dataset, element, meth)
    unit = str(table["unit"])
    fig = _new_page()
    name = element_name(element, lang)
    fig.text(0.06, 0.965, f"{element}  {name}", fontsize=20, weight="bold", va="top",
             **fonts)
    fig.text(0.06, 0.935, f"{term_label('medium', str(table['medium']), lang)} · "
             f"{term_label('method', meth, lang)} · {unit}", fontsize=8.5,
             va="top", color="#333333", wrap=True, **fonts)
    ax_map = fig.add_axes((0.05, 0.50, 0.66, 0.40))
    minfo: dict[str, Any] = {}
    # the full citation is in the page's footer; the map names the dataset
    element_map(store, dataset, element, kind=kind, grid=grid, level=level, lang=lang,
                boundaries=boundaries, analytical_method=meth, ax=ax_map, info=minfo,
                source=str(rec.get("title") or dataset))
    # the distribution plot in the lower left quarter (a sub-figure lays out its own axes)
    quarters: Any = fig.subfigures(2, 2, height_ratios=[0.59, 0.41],
                                   width_ratios=[0.53, 0.47])
    sub = quarters[1][0]
    sub.subplots_adjust(left=0.14, right=0.97, bottom=0.17, top=0.86, hspace=0.45)
    distribution_figure(m["value"].to_numpy(dtype=float), m["censored"].to_numpy(dtype=bool),
                        element=element, unit=unit, lang=lang, figure=sub,
                        title=lab["plot_title"].format(n=int(table["n"]),
                                                       nc=int(table["n_censored"])))
    for ax in sub.axes:
        ax.title.set_fontsize(8)
        ax.tick_params(labelsize=7)
        ax.xaxis.label.set_fontsize(7.5)
        ax.yaxis.label.set_fontsize(7.5)
        if ax.get_legend() is not None:
            for t in ax.get_legend().get_texts():
                t.set_fontsize(6.5)
    _stats_table(fig, table, unit, lab, fonts)
    note = _map_note(minfo, lab)
    qnote = _quality_note(quality, lab)
    if qnote:
        note += "\n" + qnote
    fig.text(0.56, 0.085, note, fontsize=6.5, va="top", ha="left", wrap=True,
             color="#333333", **fonts)
    if page is not None:
        _footer(fig, page, _citation(rec), fonts)
    if info is not None:
        info.update(minfo)
    return fig, table


def _quality_note(row: dict[str, Any] | None, lab: dict[str, str]) -> str:
    """The precision and variance line of an element page ("" without QC figures)."""
    if not row:
        return ""
    parts = []
    for key, label in (("rsd_field_pct", "q_field"), ("rsd_analytical_pct", "q_analytical"),
                       ("control_rsd_pct", "q_standard")):
        if _finite(row.get(key)):
            parts.append(lab[label].format(v=row[key]))
    if _finite(row.get("measurement_pct")):
        parts.append(lab["q_variance"].format(v=row["measurement_pct"]) + " "
                     + lab["q_fit" if row.get("fit_for_mapping") else "q_unfit"])
    if row.get("levelled"):
        parts.append(lab["q_levelled"].format(v=row["levelled"]))
    return (lab["q_title"] + " " + "; ".join(parts) + ".") if parts else ""


def _finite(v: Any) -> bool:
    try:
        return math.isfinite(float(v))
    except (TypeError, ValueError):
        return False


def _quality_page(rows: dict[str, dict[str, Any]], lang: str, page: int,
                  part: Sequence[str], citation: str, qc: dict[str, str]) -> Figure:
    """The data-quality table of the atlas's elements (the mapped method of each)."""
    lab = LABELS[lang]
    fonts = _fonts(lang)
    fig = _new_page()
    fig.text(0.06, 0.95, lab["quality"], fontsize=18, weight="bold", **fonts)
    used = "; ".join(f"{d} ({lab.get('role_' + r, r)})" for d, r in sorted(qc.items()))
    fig.text(0.06, 0.925, lab["quality_text"].format(qc=used or "-"), fontsize=7.5,
             va="top", wrap=True, color="#333333", **fonts)
    cols = ["n", "pct_censored", "dl_max", "rsd_field_pct", "rsd_analytical_pct",
            "measurement_pct", "fit_for_mapping", "control_rsd_pct", "batches_rejected",
            "levelled"]
    head = [lab["col_element"], *[lab[f"qcol_{c}"] for c in cols]]
    body = []
    for el in part:
        row = rows.get(el, {})
        cells = [el]
        for c in cols:
            v = row.get(c)
            if c == "fit_for_mapping":
                cells.append("" if v is None or not isinstance(v, bool | np.bool_)
                             else lab["yes" if v else "no"])
            elif c == "levelled":
                cells.append(lab["yes"] if v else "")
            else:
                cells.append(_fmt(v) if _finite(v) else "")
        body.append(cells)
    _page_table(fig, (0.04, 0.08, 0.92, 0.80), body, head, fonts, 7, "quality-table")
    _footer(fig, page, citation, fonts)
    return fig


def _map_note(minfo: dict[str, Any], lab: dict[str, str]) -> str:
    ip = minfo.get("interpolation")
    if not ip:
        return lab[f"kind_{minfo.get('kind', 'points')}"]
    vg = ip.get("variogram") or {}
    cv = ip.get("cross_validation") or {}
    how = str(ip["interpolation"])
    parts = [lab["note_kriging"].format(
        how=lab.get(how.split(" (", maxsplit=1)[0], how), log=lab["log"] if ip.get("log") else "",
        k=ip["neighbours"], n=ip["n_samples"])]
    if vg:
        parts.append(lab["note_variogram"].format(
            model=term_label("variogram", str(vg["model"]), lab["lang"]), nugget=vg["nugget"],
            psill=vg["psill"],
            range=vg["practical_range"] / 1000.0))
    if cv:
        parts.append(lab["note_cv"].format(rmse=_fmt(cv.get("rmse")),
                                           mae=_fmt(cv.get("mae")),
                                           bias=_fmt(cv.get("bias"))))
    return "\n".join(parts)


def _stats_table(fig: Figure, table: dict[str, Any], unit: str, lab: dict[str, str],
                 fonts: dict[str, Any]) -> None:
    ax = fig.add_axes((0.56, 0.11, 0.38, 0.29))
    ax.set_axis_off()
    rows = [[lab[f"stat_{k}"], _fmt(table.get(k))] for k in ATLAS_STATS]
    rows.append([lab["stat_background"],
                 f"{_fmt(table.get('tukey_lower'))} – {_fmt(table.get('tukey_upper'))}"])
    t = ax.table(cellText=rows, colLabels=[lab["statistic"], unit], loc="upper center",
                 cellLoc="left", colWidths=[0.62, 0.38])
    t.auto_set_font_size(False)
    t.set_fontsize(7.5)
    t.scale(1.0, 1.05)
    for (r, _c), cell in t.get_celld().items():
        cell.set_linewidth(0.3)
        if fonts:
            cell.get_text().set_fontfamily(fonts["fontfamily"])
        if r == 0:
            cell.set_text_props(weight="bold")
    ax.set_gid("stats-table")


def _summary(tables: dict[str, dict[str, Any]], lang: str, page: int, part: Sequence[str],
             citation: str) -> Figure:
    lab = LABELS[lang]
    fonts = _fonts(lang)
    fig = _new_page()
    fig.text(0.06, 0.95, lab["summary"], fontsize=18, weight="bold", **fonts)
    cols = ["element", "unit", "n", "censored_pct", "min", "median", "mad", "p98", "max",
            "tukey_upper"]
    head = [lab[f"col_{c}"] for c in cols]
    body = []
    for el in part:
        t = tables[el]
        body.append([el, str(t.get("unit", "")), _fmt(t.get("n")),
                     _fmt(t.get("censored_pct")), *(_fmt(t.get(c)) for c in cols[4:])])
    _page_table(fig, (0.04, 0.08, 0.92, 0.84), body, head, fonts, 7.5)
    _footer(fig, page, citation, fonts)
    return fig


def _page_table(fig: Figure, rect: tuple[float, float, float, float], body: list[list[str]],
                head: list[str], fonts: dict[str, Any], size: float, gid: str = "") -> None:
    """A full-width table of a summary page: thin lines, bold (wrapping) header."""
    ax = fig.add_axes(rect)
    ax.set_axis_off()
    tb = ax.table(cellText=body, colLabels=head, loc="upper center", cellLoc="right")
    tb.auto_set_font_size(False)
    tb.set_fontsize(size)
    for (r, _c), cell in tb.get_celld().items():
        cell.set_linewidth(0.3)
        if fonts:
            cell.get_text().set_fontfamily(fonts["fontfamily"])
        if r == 0:
            cell.set_text_props(weight="bold")
            cell.get_text().set_wrap(True)
    if gid:
        ax.set_gid(gid)


def _quality_rows(store: Store, dataset: str, methods_of: dict[str, str]
                  ) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """Each element's data-quality row (of the method its page maps) and the QC datasets."""
    from chemearth.qc.report import quality_report

    rep = quality_report(store, dataset, elements=list(methods_of))
    rows: dict[str, dict[str, Any]] = {}
    for rec in rep.elements.to_dict("records"):
        if methods_of.get(str(rec["element"])) == str(rec["method"]):
            rows[str(rec["element"])] = {str(k): v for k, v in rec.items()}
    return rows, rep.qc


def make_atlas(
    store: Store,
    dataset: str,
    output: str | Path,
    *,
    elements: Sequence[str] | None = None,
    lang: str = "en",
    kind: str = "surface",
    grid: str | None = None,
    level: str = "20km",
    boundaries: Path | None = None,
    progress: Progress | None = None,
    analytics: bool = False,
) -> AtlasReport:
    """Write the atlas of ``dataset`` to ``output`` (PDF).

    Parameters
    ----------
    store : Store
    dataset : str
    output : path
    elements : sequence of str, optional
        Element pages, in this order (default: every element of the dataset, in order of
        atomic number).
    lang : {"en", "zh"}
    kind : {"surface", "cells", "points"}
        The map on each element page (default an ordinary-kriging surface of ln values).
    grid, level : str
        The cells of ``kind="cells"`` and of the C-A curves.
    boundaries : Path, optional
        Natural Earth admin-0 GeoJSON for country outlines.
    progress : callable, optional
        Called as ``progress(step, done, total)`` after each page.
    analytics : bool
        Append the analytics pages after the element pages: a C-A fractal page per element
        (on the cells of ``grid`` and ``level``) and the robust factor pages
        (:mod:`chemearth.render.atlas_analytics`).

    Raises
    ------
    AtlasError
        For an unknown kind or language, or when no element can be mapped.
    """
    from matplotlib.backends.backend_pdf import PdfPages

    from chemearth.reference.elements import ELEMENTS
    from chemearth.store.selectors import string_list

    if kind not in KINDS:
        raise AtlasError(f"unknown map kind {kind!r}; kinds: {', '.join(KINDS)}")
    if lang not in LABELS:
        raise AtlasError(f"unknown language {lang!r}; languages: {', '.join(LABELS)}")
    rec = _dataset_record(store, dataset)
    held = string_list(rec.get("elements"))
    if elements is None:
        order = {s: i for i, s in enumerate(ELEMENTS)}
        wanted = sorted((e for e in held if e in ELEMENTS), key=lambda e: order[e])
    else:
        wanted = list(dict.fromkeys(elements))
    tick = progress or (lambda step, done, total: None)
    report = AtlasReport(path=Path(output), pages=0, lang=lang)
    methods_of: dict[str, str] = {}  # element -> the method its page maps
    for el in wanted:
        try:
            methods_of[el] = _chosen_method(store, dataset, el, None)[1]
        except ChemearthError as e:
            report.notes.append(f"{el}: left out ({e})")
    usable = list(methods_of)
    if not usable:
        raise AtlasError(f"no element of {', '.join(wanted) or '(none)'} can be mapped in "
                         f"{dataset}")
    lab = LABELS[lang]
    n_summary = math.ceil(len(usable) / SUMMARY_ROWS)
    first = 4  # cover, contents, methods
    report.contents = [(lab["methods"], 3)]
    report.contents += [(f"{el}  {element_name(el, lang)}", first + i)
                        for i, el in enumerate(usable)]
    extra = _analytics(store, dataset, methods_of, lang, grid, level) if analytics else None
    n_extra = extra.pages if extra is not None else 0
    report.contents += extra.contents(first + len(usable)) if extra is not None else []
    s_first = first + len(usable) + n_extra
    report.contents += [(lab["summary"], s_first + j) for j in range(n_summary)]
    quality, qc_used = _quality_rows(store, dataset, methods_of)
    report.quality = quality
    q_first = s_first + n_summary
    report.contents += [(lab["quality"], q_first + j) for j in range(n_summary)]
    total = 3 + len(usable) + n_extra + 2 * n_summary
    when = _dt.date.today().isoformat()
    citation = _citation(rec)
    meta = {"Title": f"{lab['atlas_title']}: {rec.get('title') or dataset}",
            "Author": "chemearth", "Subject": citation,
            "Keywords": ", ".join(usable)}
    maps_info: dict[str, dict[str, Any]] = {}
    with PdfPages(Path(output), metadata=meta) as pdf:
        pdf.savefig(_cover(rec, usable, lang, when))
        tick(lab["cover"], 1, total)
        pdf.savefig(_contents(report.contents, lang, 2))
        tick(lab["contents"], 2, total)
        pdf.savefig(_methods(rec, kind, lang, 3, methods_of))
        tick(lab["methods"], 3, total)
        for i, el in enumerate(usable):
            info: dict[str, Any] = {}
            fig, table = element_page(store, dataset, el, lang=lang, kind=kind, grid=grid,
                                      level=level, boundaries=boundaries,
                                      method=methods_of[el], page=first + i, info=info,
                                      quality=quality.get(el))
            pdf.savefig(fig)
            report.tables[el] = table
            maps_info[el] = info
            tick(el, 4 + i, total)
        pages = extra.figures(first + len(usable), citation=citation, boundaries=boundaries,
                              source=str(rec.get("title") or dataset)) if extra else iter(())
        for j, (title, fig) in enumerate(pages):
            pdf.savefig(fig)
            tick(title, first + len(usable) + j, total)
        for j in range(n_summary):
            part = usable[j * SUMMARY_ROWS:(j + 1) * SUMMARY_ROWS]
            pdf.savefig(_summary(report.tables, lang, s_first + j, part, citation))
            tick(lab["summary"], total - 2 * n_summary + j + 1, total)
        for j in range(n_summary):
            part = usable[j * SUMMARY_ROWS:(j + 1) * SUMMARY_ROWS]
            pdf.savefig(_quality_page(quality, lang, q_first + j, part, citation, qc_used))
            tick(lab["quality"], total - n_summary + j + 1, total)
    report.elements = usable
    report.maps = maps_info
    report.pages = total
    if extra is not None:
        report.analytics = extra.as_dict()
        report.notes += extra.notes
    return report


def _analytics(store: Store, dataset: str, methods_of: dict[str, str], lang: str,
               grid: str | None, level: str) -> AtlasAnalytics:
    from chemearth.render.atlas_analytics import analyse

    return analyse(store, dataset, dict(methods_of), lang=lang, grid=grid, level=level)
