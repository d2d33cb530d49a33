"""Maps of the analytics pages: anomaly zones over grid cells, factor scores at sample sites.

* :func:`zone_map` — the cells of one element's surface, grey by their value, with the
  outer, middle and inner anomaly zones (1, 2 and 4 times a threshold; zone numbers as
  :func:`chemearth.stats.fractal.zones` gives them) filled in :data:`ZONE_COLOURS` on top,
  and a legend naming the three zones with their lower bounds and numbers of cells;
* :func:`score_map` — a score per sample (robust factor scores) on a diverging scale
  centred on 0, with a colour bar.

Both draw the atlas furniture of :func:`chemearth.render.map_furniture.finish` (country
boundaries, scale bar, north arrow, projection, source) on a Lambert azimuthal equal-area
projection centred on the data, in English or Chinese, as vector graphics on the Agg
canvas (``ax=`` draws into an atlas page).

Examples
--------
>>> from chemearth.grid.geometry import GLOBAL
>>> keys = GLOBAL.cell_keys([25.0, 26.0, 27.0], [68.0, 68.5, 69.0], 20_000)
>>> fig = zone_map(GLOBAL, keys, [4.0, 9.0, 30.0], [0, 1, 3], 5.0, element="Cu",
...                unit="mg/kg")
>>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()][:3]
['inner zone ≥ 20.0 (4 × T); 1 cells', 'middle zone ≥ 10.0 (2 × T); 0 cells', \
'outer zone ≥ 5.00 (1 × T); 1 cells']
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
from numpy.typing import ArrayLike

from chemearth.render.atlas_text import LABELS, fmt_value
from chemearth.stats.fractal import ZONE_MULTIPLES, ZONE_NAMES

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from chemearth.grid.geometry import Grid

__all__ = ["SCORE_COLORMAP", "ZONE_COLOURS", "score_map", "zone_map"]

#: Fill of the outer, middle and inner anomaly zones.
ZONE_COLOURS: Final = ("#fed976", "#fd8d3c", "#bd0026")
#: The diverging colour scale of scores.
SCORE_COLORMAP: Final = "RdBu_r"
_DENSIFY = 8  # segments per cell edge reprojected into the map CRS
_ZONE_EDGE = "#7f2704"


def zone_map(grid: Grid, keys: ArrayLike, values: ArrayLike, zones: ArrayLike,
             threshold: float, *, element: str, unit: str, lang: str = "en",
             boundaries: str | Path | None = None, source: str | None = None,
             title: str | None = None, ax: Axes | None = None) -> Figure:
    """The anomaly zones of an element's cells, with scale bar, north arrow and legend.

    Parameters
    ----------
    grid : Grid
        The grid of the cells.
    keys, values, zones : array_like
        Per cell: its key (one level of ``grid``), value and zone (0 background, 1–3
        outer to inner, −1 not zoned: a cell whose value may be a detection limit above
        the threshold).
    threshold : float
        The main threshold T; the zones start at 1, 2 and 4 × T
        (:data:`chemearth.stats.fractal.ZONE_MULTIPLES`).
    element, unit : str
        For the legend heading and the title.

    Other parameters as for :func:`chemearth.render.maps.cell_map`.

    Background cells are grey by their value (darker higher), cells not zoned hatched.
    Artists carry gids ``zone-0`` … ``zone-3``, ``zone-unknown`` and ``zone-legend``; the
    legend lists the three zones, even an empty one.
    """
    import shapely
    from matplotlib import colormaps
    from matplotlib.collections import PolyCollection
    from matplotlib.colors import LogNorm, Normalize
    from matplotlib.patches import Patch

    from chemearth.interp.projections import local_crs
    from chemearth.render.map_furniture import finish, map_axes, map_extent, transformer
    from chemearth.render.maps import _setup

    labels, fonts = _setup(lang, "classes")
    lab = LABELS[labels["lang"]]
    k = np.asarray(keys, dtype=np.int64).ravel()
    v = np.asarray(values, dtype=float).ravel()
    z = np.asarray(zones, dtype=int).ravel()
    lon, lat = grid.cell_centres(k)
    crs = local_crs(lon, lat)
    polys = grid.cell_polygons(k, densify=_DENSIFY)
    xy = shapely.get_coordinates(polys).reshape(len(polys), 4 * _DENSIFY + 1, 2)
    mx, my = transformer(grid.crs, crs.to_wkt()).transform(xy[..., 0], xy[..., 1])
    verts = np.stack([mx, my], axis=-1)
    ext = map_extent(verts[..., 0].ravel(), verts[..., 1].ravel())
    ax = map_axes(ax, ext)
    lo, hi = float(np.nanmin(v)), float(np.nanmax(v))
    norm = LogNorm(lo, hi) if lo > 0 and hi > lo else Normalize(lo, hi + 1e-12)
    grey = colormaps["Greys"](0.08 + 0.42 * np.clip(norm(v), 0.0, 1.0))
    style: dict[int, dict[str, Any]] = {
        0: {"facecolors": grey[z == 0], "edgecolors": "face", "linewidths": 0.2},
        -1: {"facecolors": "white", "edgecolors": "#777777", "hatch": "////",
             "linewidths": 0.2}}
    for i, colour in enumerate(ZONE_COLOURS, start=1):
        style[i] = {"facecolors": colour, "edgecolors": _ZONE_EDGE, "linewidths": 0.25}
    for zone, kw in style.items():
        sel = z == zone
        if sel.any():
            ax.add_collection(PolyCollection(list(verts[sel]), zorder=1 + max(zone, 0) * 0.1,
                                             gid="zone-unknown" if zone < 0 else f"zone-{zone}",
                                             **kw), autolim=False)
    handles: list[Any] = []
    texts: list[str] = []
    for i in reversed(range(len(ZONE_COLOURS))):
        handles.append(Patch(facecolor=ZONE_COLOURS[i], edgecolor=_ZONE_EDGE, linewidth=0.3))
        texts.append(lab[f"zone_{ZONE_NAMES[i]}"].format(
            v=fmt_value(threshold * ZONE_MULTIPLES[i])) + "; "
            + lab["zone_cells"].format(n=int((z == i + 1).sum())))
    handles.append(Patch(facecolor=colormaps["Greys"](0.3), edgecolor="#555555",
                         linewidth=0.3))
    texts.append(lab["zone_background"].format(v=fmt_value(threshold)))
    if (z < 0).any():
        handles.append(Patch(facecolor="white", edgecolor="#777777", hatch="////"))
        texts.append(lab["zone_unknown"] + "; " + lab["zone_cells"].format(n=int((z < 0).sum())))
    heading = lab["zones_heading"].format(element=element, unit=unit)
    prop = {"size": 7.5, **fonts}
    leg = ax.legend(handles, texts, title=heading, loc="upper left", bbox_to_anchor=(1.03, 1.0),
                    borderaxespad=0.0, frameon=False, prop=prop,
                    title_fontproperties={**prop, "size": 8.5}, alignment="left",
                    handletextpad=0.6, labelspacing=0.7)
    leg.set_gid("zone-legend")
    return finish(ax, crs, ext, verts.reshape(-1, 2), boundaries=boundaries, heading=heading,
                  title=title, source=source, notes=(), labels=labels, fonts=fonts)


def score_map(longitude: ArrayLike, latitude: ArrayLike, scores: ArrayLike, *, heading: str,
              lang: str = "en", boundaries: str | Path | None = None,
              source: str | None = None, title: str | None = None, ax: Axes | None = None
              ) -> tuple[Figure, float]:
    """Scores at the sample sites on a diverging scale centred on 0
    (:data:`SCORE_COLORMAP`), with a colour bar, scale bar and north arrow.

    The colours are clipped at ± the 98th percentile of |score| (returned with the figure);
    the strongest scores are drawn on top (gid ``scores``).
    """
    from matplotlib import colormaps
    from matplotlib.colors import Normalize

    from chemearth.interp.projections import local_crs, to_local
    from chemearth.render.map_furniture import colorbar, finish, map_axes, map_extent
    from chemearth.render.maps import _setup

    labels, mfonts = _setup(lang, "continuous")
    lon = np.asarray(longitude, dtype=float)
    lat = np.asarray(latitude, dtype=float)
    s = np.asarray(scores, dtype=float)
    ok = np.isfinite(lon) & np.isfinite(lat) & np.isfinite(s)
    lon, lat, s = lon[ok], lat[ok], s[ok]
    crs = local_crs(lon, lat)
    x, y = to_local(crs, lon, lat)
    ext = map_extent(x, y)
    ax = map_axes(ax, ext)
    lim = float(np.percentile(np.abs(s), 98)) or float(np.abs(s).max()) or 1.0
    norm = Normalize(-lim, lim)
    cmap = colormaps[SCORE_COLORMAP]
    order = np.argsort(np.abs(s), kind="stable")
    ax.scatter(x[order], y[order], c=np.clip(s[order], -lim, lim), cmap=cmap, norm=norm,
               s=12, edgecolors="#333333", linewidths=0.15, zorder=3, gid="scores")
    colorbar(ax, norm, cmap, heading, mfonts)
    fig = finish(ax, crs, ext, np.column_stack([x, y]), boundaries=boundaries,
                 heading=heading, title=title, source=source,
                 notes=[labels["n"].format(n=s.size)], labels=labels, fonts=mfonts)
    return fig, lim

