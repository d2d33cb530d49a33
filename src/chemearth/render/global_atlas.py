"""An atlas of pooled (global) layers: one page per element, the pooled cell medians of one
medium group and method class on a world map, with the contributing surveys.

Examples
--------
>>> report = make_global_atlas(store, "world.pdf", elements=["Cr", "Zn"],     # doctest: +SKIP
...                            medium="topsoil", method="total")
>>> report.pages                                                             # doctest: +SKIP
4
"""

from __future__ import annotations

import datetime as _dt
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from chemearth.errors import ChemearthError
from chemearth.grid.geometry import get_grid
from chemearth.grid.levels import parse_level
from chemearth.grid.pooled import pooled_cells, pooled_manifest
from chemearth.reference.terms import label
from chemearth.render.atlas import AtlasError
from chemearth.store.base import Store

__all__ = ["GlobalAtlasReport", "make_global_atlas"]

#: Map projection of the world pages: Equal Earth (areas true, as the grid's).
WORLD_CRS = "EPSG:8857"
PAGE = (11.69, 8.27)  # A4 landscape, inches

#: The words of the pages, per language ({medium} and {method} by their names in it).
TEXT: dict[str, dict[str, str]] = {
    "en": {"title": "The chemical Earth: pooled layers",
           "sub": "{medium} · {method} · {level} cells · scope {scope} · made {when}",
           "public": "public",
           "note": "Statistics pool the samples of every contributing survey of the same "
                   "medium group and method class; values below detection limits enter at "
                   "their limit and are never counted as measured.",
           "source": "Pooled from {datasets}",
           "map": "{element} — median per {level} cell, {medium}, {method}",
           "footer": "{cells} cells · {samples} samples · datasets: {datasets}"},
    "zh": {"title": "化学地球：汇集图层",
           "sub": "{medium} · {method} · {level}网格 · 范围：{scope} · 生成于 {when}",
           "public": "公开数据",
           "note": "统计量汇集同一介质组和同一方法类别的所有调查的样品；低于检出限的数据按检出限"
                   "计入，从不作为实测值计数。",
           "source": "汇集自：{datasets}",
           "map": "{element} — 每个{level}网格的中位数，{medium}，{method}",
           "footer": "{cells} 个网格 · {samples} 个样品 · 数据集：{datasets}"},
}


@dataclass
class GlobalAtlasReport:
    """What :func:`make_global_atlas` wrote."""

    path: Path
    pages: int = 0
    elements: list[str] = field(default_factory=list)
    datasets: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _page() -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=PAGE)
    FigureCanvasAgg(fig)
    return fig


def _world_outlines(boundaries: Path | None) -> Path | None:
    """The 1:110m countries next to ``boundaries`` when there are (a world page needs no
    1:10m coastline, which takes a minute to draw), else ``boundaries``."""
    if boundaries is None:
        return None
    coarse = Path(boundaries).with_name("ne_110m_admin_0_countries.geojson")
    return coarse if coarse.is_file() else Path(boundaries)


def make_global_atlas(
    store: Store,
    output: str | Path,
    *,
    elements: Sequence[str] | None = None,
    medium: str = "topsoil",
    method: str = "total",
    scope: str = "public",
    grid: str = "global",
    level: str = "160km",
    boundaries: Path | None = None,
    lang: str = "en",
) -> GlobalAtlasReport:
    """Write an atlas of the pooled layers of ``medium`` / ``method`` to ``output`` (PDF).

    One cover page (the contributing surveys with their citations, what was left out),
    then one page per element: pooled cell medians at ``level`` on an Equal Earth world
    map, with n cells, n samples and the datasets that entered; in English or Chinese
    (``lang="zh"``: the medium group and method class by their Chinese names).

    Raises
    ------
    AtlasError
        When no element has a pooled layer of that medium group and method class, or for
        an unknown language.
    """
    from matplotlib.backends.backend_pdf import PdfPages

    from chemearth.render import maps
    from chemearth.render.plots import cjk_font_family

    if lang not in TEXT:
        raise AtlasError(f"unknown language {lang!r}; languages: {', '.join(TEXT)}")
    tx = TEXT[lang]
    family = cjk_font_family() if lang == "zh" else None
    fonts: dict[str, Any] = {"fontfamily": family} if family else {}
    names = {"medium": label("medium_group", medium, lang),
             "method": label("method_class", method, lang)}

    man = pooled_manifest(store, scope)
    layers = {e["element"]: e for e in man.get("layers", [])
              if e["grid"] == grid and e["medium"] == medium and e["method"] == method}
    wanted = list(dict.fromkeys(elements)) if elements else sorted(layers)
    report = GlobalAtlasReport(Path(output))
    report.notes += [f"{el}: no pooled {medium}/{method} layer" for el in wanted
                     if el not in layers]
    usable = [el for el in wanted if el in layers]
    if not usable:
        raise AtlasError(f"no pooled {medium}/{method} layer for "
                         f"{', '.join(wanted) or '(none)'} in scope {scope!r}")
    g = get_grid(grid)
    lv = parse_level(level)
    outlines = _world_outlines(boundaries)
    cat = store.datasets()
    cites = {str(r["dataset_id"]): str(r.get("citation") or r.get("title") or r["dataset_id"])
             for r in cat.to_dict("records")}
    members = sorted({m["dataset_id"] for el in usable for m in layers[el]["members"]})
    report.datasets = members
    when = _dt.date.today().isoformat()
    with PdfPages(Path(output), metadata={"Title": f"Global atlas: {medium}, {method}",
                                          "Author": "chemearth"}) as pdf:
        cover = _page()
        cover.text(0.5, 0.88, tx["title"], ha="center", fontsize=22, weight="bold", **fonts)
        cover.text(0.5, 0.82, tx["sub"].format(
            level=g.level_label(lv), scope=tx["public"] if scope == "public" else scope,
            when=when, **names), ha="center", fontsize=12, **fonts)
        lines = [f"{d}: {textwrap.shorten(cites.get(d, d), 150)}" for d in members]
        lines += ["", tx["note"]]
        cover.text(0.06, 0.74, "\n".join(textwrap.fill(x, 170) for x in lines), va="top",
                   fontsize=8, linespacing=1.5, **fonts)
        pdf.savefig(cover)
        for el in usable:
            e = layers[el]
            try:
                cells = pooled_cells(store, el, scope=scope, grid=grid, level=lv,
                                     medium=medium, method=method)
            except ChemearthError as exc:
                report.notes.append(f"{el}: left out ({exc})")
                continue
            cells = cells[np.isfinite(cells["median"].to_numpy(float))]
            used = sorted({m["dataset_id"] for m in e["members"]})
            fig = maps.cell_map(
                g, lv, cells["cell"].to_numpy(np.int64), cells["median"].to_numpy(float),
                element=el, unit=str(e["unit"]), boundaries=outlines, crs=WORLD_CRS,
                source=tx["source"].format(datasets=", ".join(used)), lang=lang,
                title=tx["map"].format(element=el, level=g.level_label(lv), **names))
            fig.text(0.02, 0.01, tx["footer"].format(
                cells=len(cells), samples=int(cells["n"].sum()), datasets=", ".join(used)),
                fontsize=7, color="#444444", **fonts)
            pdf.savefig(fig)
            report.elements.append(el)
    report.pages = 1 + len(report.elements)
    return report
