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
from chemearth.render.atlas import AtlasError
from chemearth.store.base import Store

__all__ = ["GlobalAtlasReport", "make_global_atlas"]

#: Map projection of the world pages: Equal Earth (areas true, as the grid's).
WORLD_CRS = "EPSG:8857"
PAGE = (11.69, 8.27)  # A4 landscape, inches


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
) -> GlobalAtlasReport:
    """Write an atlas of the pooled layers of ``medium`` / ``method`` to ``output`` (PDF).

    One cover page (the contributing surveys with their citations, what was left out),
    then one page per element: pooled cell medians at ``level`` on an Equal Earth world
    map, with n cells, n samples and the datasets that entered.

    Raises
    ------
    AtlasError
        When no element has a pooled layer of that medium group and method class.
    """
    from matplotlib.backends.backend_pdf import PdfPages

    from chemearth.render import maps

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
        cover.text(0.5, 0.88, "The chemical Earth: pooled layers", ha="center", fontsize=22,
                   weight="bold")
        cover.text(0.5, 0.82, f"{medium} · {method} · {g.level_label(lv)} cells · "
                   f"scope {scope} · made {when}", ha="center", fontsize=12)
        lines = [f"{d}: {textwrap.shorten(cites.get(d, d), 150)}" for d in members]
        lines += ["", "Statistics pool the samples of every contributing survey of the "
                  "same medium group and method class; values below detection limits "
                  "enter at their limit and are never counted as measured."]
        cover.text(0.06, 0.74, "\n".join(textwrap.fill(x, 170) for x in lines), va="top",
                   fontsize=8, linespacing=1.5)
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
                source="Pooled from " + ", ".join(used),
                title=f"{el} — median per {g.level_label(lv)} cell, {medium}, {method}")
            fig.text(0.02, 0.01, f"{len(cells)} cells · {int(cells['n'].sum())} samples · "
                     f"datasets: {', '.join(used)}", fontsize=7, color="#444444")
            pdf.savefig(fig)
            report.elements.append(el)
    report.pages = 1 + len(report.elements)
    return report
