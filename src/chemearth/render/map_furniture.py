"""Cartographic furniture of the geochemical maps of :mod:`chemearth.render.maps`.

The parts every map shares, whatever it shows:

* :func:`map_extent` and :func:`map_axes` — the extent of the data plus a margin, and a new
  figure (Agg canvas, never ``pyplot``) sized to it when the caller gives no Axes;
* :func:`class_legend` (with :func:`legend_patches`) and :func:`colorbar` — the legend of
  percentile classes right of the map, or the colour bar of a continuous scale;
* :func:`finish` — Natural Earth country boundaries and land (optional; the file is read
  once per modification time), the axis limits, a scale bar labelled with its true
  (geodesic) length, a north arrow, the footer (projection, data citation, notes,
  ``Map: chemearth``) and the title; the scale bar and the north arrow go to the corners
  with the fewest data;
* :func:`transformer` — cached pyproj transformers between two CRSs;
* :class:`MapError`, raised here for a missing or unreadable boundaries file and by the
  maps for their input.

Artists drawn here carry gids: ``boundary-<ADM0_A3>``, ``land-<ADM0_A3>``, ``scalebar``
(the bar's baseline, end to end), ``scalebar-segment``, ``scalebar-zero``, ``scalebar-mid``,
``scalebar-label``, ``north-arrow``, ``north``, ``footer``.
"""

from __future__ import annotations

import functools
import itertools
import math
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyproj
import shapely
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.collections import LineCollection
from matplotlib.colors import Colormap, LogNorm, Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, Patch, PathPatch, Rectangle
from matplotlib.path import Path as MplPath
from matplotlib.patheffects import withStroke
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter
from numpy.typing import NDArray

from chemearth.errors import ChemearthError
from chemearth.interp.projections import crs_name, from_local, to_local

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes

    from chemearth.stats import classes

__all__ = [
    "Extent",
    "Floats",
    "MapError",
    "class_legend",
    "colorbar",
    "finish",
    "legend_patches",
    "map_axes",
    "map_extent",
    "transformer",
]

#: Float arrays: coordinates and values.
Floats = NDArray[np.float64]
#: A map extent: xmin, xmax, ymin, ymax in map metres.
Extent = tuple[float, float, float, float]

_MARGIN = 0.05  # of the data extent, on each side
_LINE = "#3a3a3a"
_LAND = "#f1f0eb"
_SEA = "#e9f1f6"
_HALO = [withStroke(linewidth=2.5, foreground="white")]
_GEOD = pyproj.Geod(ellps="WGS84")
_CORNERS = ("lower left", "lower right", "upper left", "upper right")


class MapError(ChemearthError, ValueError):
    """Input a map cannot be drawn from: no finite values, mismatched lengths, an unknown
    scale or language, a surface without a CRS, an unreadable boundaries file."""

    exit_code = 2


# --------------------------------------------------------------------------- extent, axes


@functools.lru_cache(maxsize=32)
def transformer(source: str, target: str) -> pyproj.Transformer:
    """A transformer from ``source`` to ``target`` (longitude, easting first), cached."""
    return pyproj.Transformer.from_crs(source, target, always_xy=True)


def map_extent(x: Floats, y: Floats) -> Extent:
    """The data extent plus a 5 % margin, the short side widened to at least half the long
    one (room for the furniture; at least 2 km for a single site)."""
    xmin, xmax, ymin, ymax = float(x.min()), float(x.max()), float(y.min()), float(y.max())
    w, h = (xmax - xmin) * (1 + 2 * _MARGIN), (ymax - ymin) * (1 + 2 * _MARGIN)
    side = max(w, h, 2_000.0) / 2
    w, h = max(w, side), max(h, side)
    cx, cy = (xmin + xmax) / 2, (ymin + ymax) / 2
    return cx - w / 2, cx + w / 2, cy - h / 2, cy + h / 2


def map_axes(ax: Axes | None, extent: Extent) -> Axes:
    """``ax``, or the Axes of a new figure (Agg canvas) sized to ``extent``."""
    if ax is not None:
        return ax
    width, height = extent[1] - extent[0], extent[3] - extent[2]
    map_w = 5.4
    map_h = min(max(map_w * height / width, 3.0), 9.0)
    fig = Figure(figsize=(map_w + 2.6, map_h + 1.2), layout="constrained")
    fig.get_layout_engine().set(w_pad=0.1, h_pad=0.08)  # type: ignore[call-arg, union-attr]
    FigureCanvasAgg(fig)
    return fig.add_subplot()


def _root(ax: Axes) -> Figure:
    fig: Any = ax.figure
    while not isinstance(fig, Figure):  # a SubFigure: its parent, up to the root Figure
        fig = fig.figure
    return fig


def _prop(fonts: dict[str, Any], size: float) -> dict[str, Any]:
    return {"size": size, **fonts}


# --------------------------------------------------------------------------- legends


def _fmt(v: float, sig: int) -> str:
    if v == 0 or not math.isfinite(v):
        return f"{v:g}"
    decimals = sig - 1 - math.floor(math.log10(abs(v)))
    return f"{round(v, decimals):.0f}" if decimals <= 0 else f"{v:.{decimals}f}"


def _limit_texts(limits: Sequence[float]) -> list[str]:
    """Limits with 3 significant digits, more where neighbours would print alike."""
    for sig in range(3, 8):
        texts = [_fmt(v, sig) for v in limits]
        if all(a != b for a, b in itertools.pairwise(texts)):
            break
    return texts


def _percent(p: float, labels: dict[str, str]) -> str:
    return labels["min"] if p <= 0 else labels["max"] if p >= 100 else f"P{p:g}"


def class_legend(ax: Axes, lg: classes.Legend, handles: Sequence[Artist], heading: str,
                 labels: dict[str, str], fonts: dict[str, Any],
                 extra: Sequence[tuple[Artist, str]] = ()) -> None:
    """Legend right of the map: one row per class, the highest on top."""
    texts = _limit_texts(lg.limits)
    rows = [
        f"{texts[k]} – {texts[k + 1]} ({_percent(lg.percent_lower[k], labels)}–"
        f"{_percent(lg.percent_upper[k], labels)})"
        for k in range(lg.n_classes)
    ]
    ax.legend([*reversed(handles), *(h for h, _ in extra)],
              [*reversed(rows), *(t for _, t in extra)], title=heading, loc="upper left",
              bbox_to_anchor=(1.03, 1.0), borderaxespad=0.0, frameon=False,
              prop=_prop(fonts, 8), title_fontproperties=_prop(fonts, 9), alignment="left",
              handletextpad=0.6, labelspacing=0.7)


def legend_patches(lg: classes.Legend) -> list[Artist]:
    """One filled patch per class, the legend handles of cells and surfaces."""
    return [Patch(facecolor=c, edgecolor="#555555", linewidth=0.3) for c in lg.colours]


def colorbar(ax: Axes, norm: Normalize, cmap: Colormap, heading: str,
             fonts: dict[str, Any]) -> None:
    """Colour bar of a continuous scale right of the map, labelled ``heading``."""
    cb = _root(ax).colorbar(
        ScalarMappable(norm=norm, cmap=cmap), ax=ax, shrink=0.7, aspect=25, pad=0.03
    )
    cb.set_label(heading, fontdict=_prop(fonts, 9))
    cb.ax.tick_params(labelsize=8)
    if isinstance(norm, LogNorm):  # plain numbers in the unit, 1-2-5 over few decades
        few = math.log10(float(norm.vmax or 1.0) / float(norm.vmin or 1.0)) <= 3
        cb.locator = LogLocator(subs=(1.0, 2.0, 5.0) if few else (1.0,))
        cb.formatter = FuncFormatter(lambda v, _pos: f"{v:g}")
        cb.minorformatter = NullFormatter()
    if cb.solids is not None:
        cb.solids.set_rasterized(False)  # keep the map pure vector


# --------------------------------------------------------------------------- boundaries


def _lonlat_boxes(crs: pyproj.CRS, ext: Extent) -> list[tuple[float, float, float, float]]:
    """(west, south, east, north) boxes in degrees covering the map extent, split at the
    antimeridian; the whole longitude range when a pole is in the map."""
    xmin, xmax, ymin, ymax = ext
    ring = shapely.get_coordinates(shapely.segmentize(
        shapely.box(xmin, ymin, xmax, ymax), max(xmax - xmin, ymax - ymin) / 64))
    lon, lat = from_local(crs, ring[:, 0], ring[:, 1])
    ok = np.isfinite(lon) & np.isfinite(lat)
    if not ok.any():
        return []
    lon, lat = lon[ok], lat[ok]
    south, north = max(float(lat.min()) - 1.0, -90.0), min(float(lat.max()) + 1.0, 90.0)
    px, py = to_local(crs, [0.0, 0.0], [90.0, -90.0])
    inside = (px >= xmin) & (px <= xmax) & (py >= ymin) & (py <= ymax)
    if inside[0] or inside[1]:
        return [(-180.0, -90.0 if inside[1] else south, 180.0, 90.0 if inside[0] else north)]
    lonc = float(from_local(crs, [(xmin + xmax) / 2], [(ymin + ymax) / 2])[0][0])
    rel = (lon - lonc + 180.0) % 360.0 - 180.0
    west, east = lonc + float(rel.min()) - 1.0, lonc + float(rel.max()) + 1.0
    if east - west >= 360.0:
        return [(-180.0, south, 180.0, north)]
    if west < -180.0:
        return [(west + 360.0, south, 180.0, north), (-180.0, south, east, north)]
    if east > 180.0:
        return [(west, south, 180.0, north), (-180.0, south, east - 360.0, north)]
    return [(west, south, east, north)]


def _read_countries(path: Path, box: tuple[float, float, float, float]
                    ) -> tuple[list[str], NDArray[np.object_]]:
    """The countries whose bounding boxes meet ``box`` (lon/lat), from a file read once."""
    names, geoms, bounds = _countries_file(str(path), path.stat().st_mtime_ns)
    west, south, east, north = box
    sel = np.flatnonzero((bounds[:, 0] <= east) & (bounds[:, 2] >= west)
                         & (bounds[:, 1] <= north) & (bounds[:, 3] >= south))
    return [names[i] for i in sel], geoms[sel]


@functools.lru_cache(maxsize=4)
def _countries_file(path: str, mtime_ns: int
                    ) -> tuple[list[str], NDArray[np.object_], Floats]:
    """Every country of a boundaries file: names, valid geometries and their bounds
    (cached per file and modification time: a 10m file takes a second to read)."""
    import pyogrio

    del mtime_ns  # part of the cache key only
    try:
        fields = list(pyogrio.read_info(path)["fields"])
        code = next((f for f in ("ADM0_A3", "ISO_A3", "NAME") if f in fields), None)
        df = pyogrio.read_dataframe(path, columns=[code] if code else [])
    except Exception as exc:  # pyogrio raises several unrelated types
        raise MapError(f"cannot read country boundaries {path}: {exc}") from None
    names = [str(v) for v in df[code]] if code else [str(i) for i in range(len(df))]
    geoms = np.asarray(df.geometry.to_numpy(), dtype=object)
    bad = ~shapely.is_valid(geoms)
    geoms[bad] = shapely.buffer(geoms[bad], 0)  # Natural Earth 10m Egypt
    return names, geoms, shapely.bounds(geoms)


def _boundaries(ax: Axes, crs: pyproj.CRS, ext: Extent, path: str | Path) -> None:
    """Country outlines (thin dark lines) and land (light fill), clipped in longitude and
    latitude first, then projected and clipped to the map."""
    path = Path(path)
    if not path.is_file():
        raise MapError(f"country boundaries file not found: {path}")
    w, h = ext[1] - ext[0], ext[3] - ext[2]
    frame = (ext[0] - 0.1 * w, ext[2] - 0.1 * h, ext[1] + 0.1 * w, ext[3] + 0.1 * h)
    to_map = transformer("EPSG:4326", crs.to_wkt())
    lines: dict[str, list[Floats]] = {}
    land: dict[str, list[MplPath]] = {}
    for box in _lonlat_boxes(crs, (frame[0], frame[2], frame[1], frame[3])):
        names, geoms = _read_countries(path, box)
        outline = shapely.clip_by_rect(shapely.boundary(geoms), *box)
        area = shapely.clip_by_rect(geoms, *box)
        for name, line, poly in zip(names, outline, area, strict=True):
            line_m = _project(line, to_map, frame)
            if line_m is not None:
                lines.setdefault(name, []).extend(
                    shapely.get_coordinates(p) for p in shapely.get_parts(line_m))
            poly_m = _project(poly, to_map, frame)
            if poly_m is not None:
                land.setdefault(name, []).extend(_paths(poly_m))
    for name, paths in land.items():
        ax.add_patch(PathPatch(MplPath.make_compound_path(*paths), facecolor=_LAND,
                               edgecolor="none", zorder=0.5, gid=f"land-{name}"))
    for name, segments in lines.items():
        ax.add_collection(LineCollection(segments, colors=_LINE, linewidths=0.5, zorder=2,
                                         gid=f"boundary-{name}"), autolim=False)
    if land:
        ax.set_facecolor(_SEA)


def _project(geom: Any, to_map: pyproj.Transformer, frame: tuple[float, ...]) -> Any:
    if geom is None or shapely.is_empty(geom):
        return None
    out = shapely.transform(shapely.segmentize(geom, 0.25), to_map.transform, interleaved=False)
    if not np.isfinite(shapely.get_coordinates(out)).all():
        return None
    out = shapely.clip_by_rect(out, *frame)
    return None if shapely.is_empty(out) else out


def _paths(geom: Any) -> list[MplPath]:
    paths = []
    for poly in shapely.get_parts(geom):
        if not isinstance(poly, shapely.Polygon) or poly.is_empty:
            continue
        oriented = shapely.orient_polygons(poly)  # holes opposite to shells: nonzero fill
        paths += [MplPath(np.asarray(r.coords), closed=True)
                  for r in (oriented.exterior, *oriented.interiors)]
    return paths


# --------------------------------------------------------------------------- scale bar, arrow


def _free_corners(occupied: Floats, ext: Extent) -> tuple[str, str]:
    """The corner with the fewest data for the scale bar, the next one for the arrow."""
    xmin, xmax, ymin, ymax = ext
    w, h = xmax - xmin, ymax - ymin

    def crowd(corner: str, fw: float, fh: float) -> int:
        x0 = xmin if corner.endswith("left") else xmax - fw * w
        y0 = ymin if corner.startswith("lower") else ymax - fh * h
        x, y = occupied[:, 0], occupied[:, 1]
        return int(((x >= x0) & (x <= x0 + fw * w) & (y >= y0) & (y <= y0 + fh * h)).sum())

    bar = min(_CORNERS, key=lambda c: crowd(c, 0.36, 0.13))
    arrow = min((c for c in _CORNERS if c != bar), key=lambda c: crowd(c, 0.1, 0.18))
    return bar, arrow


def _geodesic(crs: pyproj.CRS, x0: float, x1: float, y: float) -> float:
    lon, lat = from_local(crs, [x0, x1], [y, y])
    return float(_GEOD.inv(lon[0], lat[0], lon[1], lat[1])[2])


def _nice(v: float) -> float:
    """The 1, 2 or 5 × 10^k nearest to ``v`` (in ratio)."""
    k = math.floor(math.log10(v))
    return min((m * 10.0**k for m in (1, 2, 5, 10)), key=lambda c: abs(math.log(c / v)))


def _scale_bar(ax: Axes, crs: pyproj.CRS, ext: Extent, corner: str,
               fonts: dict[str, Any]) -> None:
    """A bar of a round length, ~1/5 of the map wide, whose geodesic length (between its
    drawn end points) is the labelled one."""
    xmin, xmax, ymin, ymax = ext
    w, h = xmax - xmin, ymax - ymin
    thick = 0.007 * (w + h)
    y = ymin + 0.05 * h if corner.startswith("lower") else ymax - 0.09 * h
    guess_x = xmin + 0.05 * w if corner.endswith("left") else xmax - 0.28 * w
    km = _nice(_geodesic(crs, guess_x, guess_x + w / 5, y) / 1000.0)
    d = w / 5 * km * 1000.0 / _geodesic(crs, guess_x, guess_x + w / 5, y)
    x0 = xmin + 0.05 * w if corner.endswith("left") else xmax - 0.08 * w - d
    for _ in range(4):  # geodesic length is smooth in d: a few fixed-point steps converge
        d *= km * 1000.0 / _geodesic(crs, x0, x0 + d, y)
    for i in range(4):
        ax.add_patch(Rectangle((x0 + i * d / 4, y), d / 4, thick, zorder=6, lw=0.6,
                               facecolor="black" if i % 2 == 0 else "white",
                               edgecolor="black", gid="scalebar-segment"))
    ax.add_line(Line2D([x0, x0 + d], [y, y], color="black", lw=0.6, zorder=6, gid="scalebar"))
    for pos, text, gid in ((0.0, "0", "scalebar-zero"), (0.5, f"{km / 2:g}", "scalebar-mid"),
                           (1.0, f"{km:g} km", "scalebar-label")):
        ax.annotate(text, (x0 + pos * d, y + thick), xytext=(0, 2), textcoords="offset points",
                    ha="center", va="bottom", zorder=6, gid=gid, path_effects=_HALO,
                    fontproperties=_prop(fonts, 7))


def _north_arrow(ax: Axes, crs: pyproj.CRS, ext: Extent, corner: str) -> None:
    xmin, xmax, ymin, ymax = ext
    w, h = xmax - xmin, ymax - ymin
    length = 0.08 * min(w, h) + 0.02 * max(w, h)
    x = xmin + 0.05 * w if corner.endswith("left") else xmax - 0.05 * w
    y = ymin + 0.05 * h if corner.startswith("lower") else ymax - 0.07 * h - length
    lon, lat = from_local(crs, [x], [y])
    if not np.isfinite(lat[0]) or lat[0] > 89.0:
        return  # at (or near) the pole north has no single direction
    nx, ny = to_local(crs, lon, lat + 0.1)
    dx, dy = float(nx[0]) - x, float(ny[0]) - y
    norm = math.hypot(dx, dy)
    tip = (x + dx / norm * length, y + dy / norm * length)
    ax.add_patch(FancyArrowPatch((x, y), tip, arrowstyle="-|>", mutation_scale=14, lw=1.4,
                                 color="black", zorder=6, gid="north-arrow"))
    ax.annotate("N", tip, xytext=(0, 2), textcoords="offset points", ha="center", va="bottom",
                fontsize=9, fontweight="bold", zorder=6, path_effects=_HALO, gid="north")


# --------------------------------------------------------------------------- finishing


def finish(ax: Axes, crs: pyproj.CRS, ext: Extent, occupied: Floats, *,
           boundaries: str | Path | None, heading: str, title: str | None,
           source: str | None, notes: Sequence[str], labels: dict[str, str],
           fonts: dict[str, Any]) -> Figure:
    """The furniture of every map: boundaries, scale bar, north arrow, footer, title."""
    if boundaries is not None:
        _boundaries(ax, crs, ext, boundaries)
    ax.set_xlim(ext[0], ext[1])
    ax.set_ylim(ext[2], ext[3])
    ax.set_aspect("equal", adjustable="box")
    ax.set_xticks([])
    ax.set_yticks([])
    bar, arrow = _free_corners(occupied, ext)
    _scale_bar(ax, crs, ext, bar, fonts)
    _north_arrow(ax, crs, ext, arrow)
    lines = [labels["projection"].format(name=crs_name(crs, labels.get("lang", "en")))]
    if source:
        lines.append(textwrap.fill(labels["source"].format(source=source), 95))
    lines += [*notes, labels["credit"]]
    ax.text(0.0, -0.015, "\n".join(lines), transform=ax.transAxes, ha="left", va="top",
            fontproperties=_prop(fonts, 7), color="#333333", gid="footer")
    ax.set_title(title or heading, fontproperties=_prop(fonts, 12), pad=8)
    return _root(ax)


# --------------------------------------------------------------------------- maps
