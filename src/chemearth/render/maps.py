"""Publication-quality geochemical maps: class-symbol point maps, cell maps and surfaces.

Drawn as the European geochemical atlases (FOREGS, GEMAS) draw them, in classes bounded at
percentiles of the mapped values (:data:`ATLAS_PERCENTS`, 7 classes, by default) coloured by
:func:`chemearth.stats.classes.legend` (viridis: perceptually uniform, colour-blind safe):

* :func:`point_map` — one symbol per sample, one marker per class growing in size from the
  lowest class to the highest; values below the detection limit as open symbols;
* :func:`cell_map` — grid cells as filled polygons reprojected (densified) into the map CRS;
* :func:`surface_map` — an interpolated surface in its own CRS, one image, NaN transparent.

``scale="continuous"`` colours on :data:`CONTINUOUS_COLORMAP` (a log norm when all values are
positive) with a colorbar. Every map gets atlas furniture
(:mod:`chemearth.render.map_furniture`): Natural Earth country boundaries (optional), the
legend with the unit, a scale bar labelled with its true (geodesic) length, a north arrow,
the projection (:func:`chemearth.interp.projections.crs_name`), the data citation,
``Map: chemearth`` and a title. Point and cell maps are pure vector graphics.

Figures are :class:`matplotlib.figure.Figure` on the Agg canvas, never ``pyplot``; ``ax=``
draws into an Axes of a caller's figure (an atlas page). Chinese labels (``lang="zh"``) need
a CJK font (:func:`chemearth.render.plots.cjk_font_family`), else English is used.

Artists carry gids (for tests and SVG styling): ``class-<k>`` and ``class-<k>-censored``
symbols, ``points`` and ``points-censored`` (continuous), ``cells``, ``surface``, ``sites``,
``boundary-<ADM0_A3>``, ``land-<ADM0_A3>``, ``scalebar`` (the bar's baseline, end to end),
``scalebar-label``, ``north-arrow``, ``footer``.

Examples
--------
>>> fig = point_map([28.0, 30.0, 32.0, 31.0], [67.5, 68.0, 69.0, 70.0], [5.0, 10.0, 20.0, 40.0],
...                 element="Cu", unit="mg/kg", percents=(50,), source="Kola Project 1995")
>>> fig.axes[0].get_title()
'Cu (mg/kg)'
>>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()][:2]
['15.0 – 40.0 (P50–max)', '5.00 – 15.0 (min–P50)']
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pyproj
import shapely
from matplotlib import colormaps
from matplotlib.collections import PolyCollection
from matplotlib.colors import BoundaryNorm, Colormap, ListedColormap, LogNorm, Normalize
from matplotlib.lines import Line2D
from numpy.typing import ArrayLike, NDArray

from chemearth.interp.projections import local_crs, to_local
from chemearth.render.map_furniture import (
    Extent,
    Floats,
    MapError,
    class_legend,
    colorbar,
    finish,
    legend_patches,
    map_axes,
    map_extent,
    transformer,
)
from chemearth.render.plots import LANGUAGES, cjk_font_family
from chemearth.stats import classes

if TYPE_CHECKING:
    import xarray as xr
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from chemearth.grid.geometry import Grid

__all__ = [
    "ATLAS_PERCENTS",
    "CONTINUOUS_COLORMAP",
    "MARKERS",
    "SCALES",
    "MapError",
    "cell_map",
    "point_map",
    "surface_map",
]

#: Class percentiles of the European geochemical atlases (FOREGS, GEMAS): 7 classes.
ATLAS_PERCENTS: Final = (5, 25, 50, 75, 90, 98)
#: Colour scales of a map.
SCALES: Final = ("classes", "continuous")
#: Colormap of ``scale="continuous"``: perceptually uniform and colour-blind safe.
CONTINUOUS_COLORMAP: Final = "viridis"
#: Point symbol of each class, lowest first (cycled beyond nine classes).
MARKERS: Final = ("o", "s", "D", "^", "v", "p", "h", "P", "*")

_DENSIFY = 8  # segments per cell edge reprojected into the map CRS
_EDGE = "#222222"

# fmt: off
_LABELS: dict[str, dict[str, str]] = {
    "en": {"lang": "en", "title": "{element} ({unit})", "projection": "Projection: {name}",
           "source": "Data: {source}", "credit": "Map: chemearth",
           "censored": "open symbol: below detection limit", "n": "n = {n}",
           "sites": "dots: sample sites (n = {n})", "min": "min", "max": "max"},
    "zh": {"lang": "zh", "title": "{element} 含量 ({unit})", "projection": "投影：{name}",
           "source": "数据来源：{source}", "credit": "制图：chemearth",
           "censored": "空心符号：低于检出限", "n": "n = {n}",
           "sites": "黑点：采样点（n = {n}）", "min": "最小值", "max": "最大值"},
}
# fmt: on


# --------------------------------------------------------------------------- input


def _setup(lang: str, scale: str) -> tuple[dict[str, str], dict[str, Any]]:
    """The labels and font properties of a language, after checking the scale."""
    if scale not in SCALES:
        raise MapError(f"unknown scale {scale!r}; choose one of {', '.join(SCALES)}")
    if lang not in LANGUAGES:
        raise MapError(f"unknown language {lang!r}; choose one of {', '.join(LANGUAGES)}")
    family = cjk_font_family() if lang == "zh" else None
    if lang == "zh" and family is None:
        lang = "en"  # no font with Chinese glyphs: English rather than missing glyphs
    return _LABELS[lang], ({"family": ["DejaVu Sans", family]} if family else {})


def _floats(values: ArrayLike, name: str, size: int | None = None) -> Floats:
    try:
        x = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise MapError(f"{name} must be numbers: {exc}") from None
    if x.ndim != 1:
        raise MapError(f"{name} must be one-dimensional, got shape {x.shape}")
    if size is not None and x.size != size:
        raise MapError(f"{name} has {x.size} entries but there are {size} values")
    return x


def _map_crs(crs: pyproj.CRS | str | None, lon: Floats, lat: Floats) -> pyproj.CRS:
    return local_crs(lon, lat) if crs is None else _projected(crs, "map CRS")


def _projected(crs: pyproj.CRS | str, what: str) -> pyproj.CRS:
    """``crs`` as a projected CRS, or a MapError naming ``what``."""
    try:
        out = pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError as exc:
        raise MapError(f"the {what} {str(crs)[:60]!r} is unknown: {exc}") from None
    if not out.is_projected:
        raise MapError(f"the {what} must be projected (metres), got {out.name!r}")
    return out


# --------------------------------------------------------------------------- colour scale


def _norm(v: Floats) -> Normalize:
    lo, hi = float(v.min()), float(v.max())
    if lo > 0 and hi > lo:
        return LogNorm(lo, hi)
    if hi > lo:
        return Normalize(lo, hi)
    pad = abs(lo) * 0.1 or 1.0
    return Normalize(lo - pad, hi + pad)


def _cmap() -> Colormap:
    return colormaps[CONTINUOUS_COLORMAP].with_extremes(bad=(0.0, 0.0, 0.0, 0.0))


# --------------------------------------------------------------------------- maps


def point_map(
    longitude: ArrayLike, latitude: ArrayLike, values: ArrayLike, *,
    censored: ArrayLike | None = None, element: str, unit: str, scale: str = "classes",
    percents: Sequence[float] = ATLAS_PERCENTS, boundaries: str | Path | None = None,
    crs: pyproj.CRS | str | None = None, source: str | None = None, title: str | None = None,
    lang: str = "en", ax: Axes | None = None,
) -> Figure:
    """A class-symbol (or continuous-colour) map of sample values.

    Parameters
    ----------
    longitude, latitude : array_like
        WGS 84 degrees of each sample.
    values : array_like
        Values in ``unit``; censored values at their detection limit. Samples without
        finite coordinates or value are left out.
    censored : array_like of bool, optional
        True where a value is below its detection limit: drawn as an open symbol.
    element, unit : str
        For the title and legend, e.g. ``"Cu"`` and ``"mg/kg"``.
    scale : {"classes", "continuous"}
        Percentile classes (symbols of growing size, :data:`MARKERS`) or filled circles
        on :data:`CONTINUOUS_COLORMAP` (log norm when all values are positive).
    percents : sequence of float
        Class percentiles (default :data:`ATLAS_PERCENTS`; or
        :data:`chemearth.stats.classes.CLASS_PERCENTS`).
    boundaries : str or Path, optional
        A Natural Earth admin-0 countries file; no boundaries if None.
    crs : pyproj.CRS or str, optional
        Projected map CRS; default :func:`chemearth.interp.projections.local_crs` of the samples.
    source : str, optional
        The data citation printed under the map.
    title : str, optional
        Default ``"{element} ({unit})"``.
    lang : {"en", "zh"}
        Label language.
    ax : matplotlib.axes.Axes, optional
        Draw into this Axes (its figure is returned) instead of a new figure.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    MapError
        Mismatched lengths, no finite value, unknown scale, language or CRS.
    chemearth.stats.classes.ClassError
        Invalid ``percents``.

    Examples
    --------
    >>> fig = point_map([10.0, 10.5, 11.0], [60.0, 60.2, 60.1], [1.0, 3.0, 9.0],
    ...                 censored=[True, False, False], element="Ni", unit="mg/kg",
    ...                 scale="continuous")
    >>> type(fig.axes[0].collections[0].norm).__name__
    'LogNorm'
    """
    labels, fonts = _setup(lang, scale)
    v = _floats(values, "values")
    lon, lat = _floats(longitude, "longitude", v.size), _floats(latitude, "latitude", v.size)
    cen = (np.zeros(v.size, dtype=bool) if censored is None
           else np.asarray(censored, dtype=bool).ravel())
    if cen.size != v.size:
        raise MapError(f"censored has {cen.size} entries but there are {v.size} values")
    ok = np.isfinite(lon) & np.isfinite(lat) & np.isfinite(v)
    if not ok.any():
        raise MapError(f"no sample with finite coordinates and a finite {element} value to map")
    lon, lat, v, cen = lon[ok], lat[ok], v[ok], cen[ok]
    map_crs = _map_crs(crs, lon, lat)
    x, y = to_local(map_crs, lon, lat)
    ext = map_extent(x, y)
    ax = map_axes(ax, ext)
    heading = labels["title"].format(element=element, unit=unit)
    notes: list[str] = []
    if scale == "classes":
        _class_points(ax, ext, x, y, v, cen, heading, labels, fonts, percents, unit)
    else:
        norm = _norm(v)
        order = np.argsort(v, kind="stable")  # high values drawn last, on top
        det, low = order[~cen[order]], order[cen[order]]
        ax.scatter(x[det], y[det], s=20, c=v[det], cmap=_cmap(), norm=norm, zorder=3,
                   edgecolors=_EDGE, linewidths=0.25, gid="points")
        if low.size:
            ax.scatter(x[low], y[low], s=20, facecolors="none", zorder=3, linewidths=1.0,
                       edgecolors=_cmap()(norm(v[low])), gid="points-censored")
        colorbar(ax, norm, _cmap(), heading, fonts)
        notes = [labels["censored"].capitalize()] if cen.any() else []
    occupied = np.column_stack([x, y])
    return finish(ax, map_crs, ext, occupied, boundaries=boundaries, heading=heading,
                   title=title, source=source, notes=notes, labels=labels, fonts=fonts)


def _class_points(ax: Axes, ext: Extent, x: Floats, y: Floats, v: Floats,
                  cen: NDArray[np.bool_], heading: str, labels: dict[str, str],
                  fonts: dict[str, Any], percents: Sequence[float], unit: str) -> None:
    lg = classes.legend(v, unit, "sample value", percents=percents)
    k_of = classes.classify(v, lg.breaks)
    n = lg.n_classes
    # smaller symbols for dense surveys: the mean spacing of the sites on a 390 pt wide map
    spacing = math.sqrt((ext[1] - ext[0]) * (ext[3] - ext[2]) / v.size) / (ext[1] - ext[0])
    shrink = min(1.0, max(0.7, spacing * 390 / 12))
    handles = []
    for k in range(n):  # lowest class first, so the highest are drawn on top
        marker = MARKERS[k % len(MARKERS)]
        full = 3.2 + 4.8 * k / max(n - 1, 1)  # diameter in points
        size = (full * shrink) ** 2
        for flag in (False, True):
            sel = (k_of == k) & (cen == flag)
            if sel.any():
                ax.scatter(x[sel], y[sel], s=size, marker=marker, zorder=3 + 0.01 * k,
                           facecolors="none" if flag else lg.colours[k],
                           edgecolors=lg.colours[k] if flag else _EDGE,
                           linewidths=1.1 if flag else 0.3,
                           gid=f"class-{k}-censored" if flag else f"class-{k}")
        handles.append(Line2D([], [], ls="", marker=marker, markersize=full,
                              markerfacecolor=lg.colours[k], markeredgecolor=_EDGE,
                              markeredgewidth=0.3))
    extra: list[tuple[Artist, str]] = []
    if cen.any():
        extra.append((Line2D([], [], ls="", marker="o", markersize=6, markerfacecolor="none",
                             markeredgecolor="#555555", markeredgewidth=1.1),
                      f"{labels['censored']} ({int(cen.sum())})"))
    extra.append((Line2D([], [], ls=""), labels["n"].format(n=v.size)))
    class_legend(ax, lg, handles, heading, labels, fonts, extra)


def cell_map(
    grid: Grid | str, level_m: int, keys: ArrayLike, values: ArrayLike, *,
    element: str, unit: str, scale: str = "classes",
    percents: Sequence[float] = ATLAS_PERCENTS, boundaries: str | Path | None = None,
    crs: pyproj.CRS | str | None = None, source: str | None = None, title: str | None = None,
    lang: str = "en", ax: Axes | None = None,
) -> Figure:
    """A map of grid cells (e.g. cell medians) as filled polygons.

    The cell outlines (:meth:`chemearth.grid.geometry.Grid.cell_polygons`, every edge split into
    8 segments) are reprojected from ``grid.crs`` into the map CRS, so they stay exact.
    Drawn as one ``PolyCollection`` (gid ``cells``) of the cells with a finite value, in
    the order given. Other parameters as for :func:`point_map`; the default map CRS is
    :func:`chemearth.interp.projections.local_crs` of the cell centres.

    Raises
    ------
    MapError
        Mismatched lengths, keys not of ``level_m``, no finite value, unknown scale.
    chemearth.errors.GridError
        An unknown grid or an invalid cell key.

    Examples
    --------
    >>> from chemearth.grid.geometry import GLOBAL
    >>> keys = GLOBAL.cell_keys([25.0, 26.0, 27.0], [68.0, 68.5, 69.0], 20_000)
    >>> fig = cell_map(GLOBAL, 20_000, keys, [4.0, 8.0, 16.0], element="Cu", unit="mg/kg")
    >>> len(fig.axes[0].collections[0].get_paths())
    3
    """
    from chemearth.grid.geometry import get_grid

    labels, fonts = _setup(lang, scale)
    g = get_grid(grid)
    v = _floats(values, "values")
    k = np.asarray(keys).ravel()
    if k.size != v.size:
        raise MapError(f"keys has {k.size} entries but there are {v.size} values")
    ok = np.isfinite(v)
    if not ok.any():
        raise MapError(f"no cell with a finite {element} value to map")
    k, v = k[ok], v[ok]
    levels = g.level_of(k)
    if np.any(levels != level_m):
        bad = k[levels != level_m][0]
        raise MapError(f"cell {bad} is not a cell of the {level_m} m level of grid {g.name!r}")
    lon, lat = g.cell_centres(k)
    map_crs = _map_crs(crs, lon, lat)
    polygons = g.cell_polygons(k, densify=_DENSIFY)
    xy = shapely.get_coordinates(polygons).reshape(len(polygons), 4 * _DENSIFY + 1, 2)
    mx, my = transformer(g.crs, map_crs.to_wkt()).transform(xy[..., 0], xy[..., 1])
    verts = np.stack([mx, my], axis=-1)
    ext = map_extent(verts[..., 0].ravel(), verts[..., 1].ravel())
    ax = map_axes(ax, ext)
    heading = labels["title"].format(element=element, unit=unit)
    cells = PolyCollection(list(verts), edgecolors="face", linewidths=0.2, zorder=1, gid="cells")
    if scale == "classes":
        lg = classes.legend(v, unit, "cell value", percents=percents)
        cells.set_facecolor([lg.colours[i] for i in classes.classify(v, lg.breaks)])
        class_legend(ax, lg, legend_patches(lg), heading, labels, fonts,
                      [(Line2D([], [], ls=""), labels["n"].format(n=v.size))])
    else:
        norm = _norm(v)
        cells.set_array(v)
        cells.set_cmap(_cmap())
        cells.set_norm(norm)
        colorbar(ax, norm, _cmap(), heading, fonts)
    ax.add_collection(cells, autolim=False)
    occupied = verts.reshape(-1, 2)
    return finish(ax, map_crs, ext, occupied, boundaries=boundaries, heading=heading,
                   title=title, source=source, notes=(), labels=labels, fonts=fonts)


def _surface_grid(surface: xr.DataArray) -> tuple[pyproj.CRS, Floats, Floats, Floats]:
    """CRS, increasing x and y (cell centres) and the values with rows along y."""
    dims = tuple(getattr(surface, "dims", ()))
    if dims != ("y", "x"):
        raise MapError(f"the surface must have dims ('y', 'x'), got {dims}")
    given = surface.attrs.get("crs")
    if not given:
        raise MapError("the surface has no CRS: set surface.attrs['crs'] (WKT or 'EPSG:…')")
    crs = _projected(given, "surface CRS")
    x = _floats(surface["x"].values, "surface x")
    y = _floats(surface["y"].values, "surface y")
    z = np.asarray(surface.values, dtype=np.float64)
    for name, c in (("x", x), ("y", y)):
        step = np.diff(c)
        if c.size < 2 or not np.isfinite(c).all() or step[0] == 0 or not np.allclose(
                step, step[0], rtol=1e-6):
            raise MapError(f"surface {name} must be 2 or more evenly spaced cell centres")
    if x[1] < x[0]:
        x, z = x[::-1], z[:, ::-1]
    if y[1] < y[0]:
        y, z = y[::-1], z[::-1, :]
    return crs, x, y, z


def surface_map(
    surface: xr.DataArray, *, element: str, unit: str,
    points: tuple[ArrayLike, ArrayLike] | None = None, scale: str = "classes",
    percents: Sequence[float] = ATLAS_PERCENTS, boundaries: str | Path | None = None,
    source: str | None = None, title: str | None = None, lang: str = "en",
    ax: Axes | None = None,
) -> Figure:
    """A map of an interpolated surface, drawn in its own CRS as one image.

    Parameters
    ----------
    surface : xarray.DataArray
        Dims ``("y", "x")``, 1-D evenly spaced coordinates ``x`` and ``y`` (cell centres in
        metres; either may decrease) of the projected CRS in ``surface.attrs["crs"]`` (WKT
        or ``"EPSG:…"``). NaN cells are transparent.
    points : (longitude, latitude), optional
        Sample sites drawn as small black dots (gid ``sites``).

    Other parameters as for :func:`point_map`; the classes are percentiles of the finite
    surface values.

    Raises
    ------
    MapError
        Wrong dims, no or a geographic CRS, uneven coordinates, no finite value.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> s = xr.DataArray(np.arange(12.0).reshape(3, 4) + 1, dims=("y", "x"),
    ...                  coords={"y": [2e3, 1e3, 0.0], "x": [0.0, 1e3, 2e3, 3e3]},
    ...                  attrs={"crs": "EPSG:3035"})
    >>> fig = surface_map(s, element="Zn", unit="mg/kg", percents=(50,))
    >>> fig.axes[0].images[0].get_extent()  # cell edges: centres ± 500 m
    [-500.0, 3500.0, -500.0, 2500.0]
    """
    labels, fonts = _setup(lang, scale)
    crs, x, y, z = _surface_grid(surface)
    finite = np.isfinite(z)
    if not finite.any():
        raise MapError(f"the {element} surface has no finite value to map")
    dx, dy = float(x[1] - x[0]), float(y[1] - y[0])
    rows, cols = np.nonzero(finite)
    ext = map_extent(np.array([x[cols.min()] - dx / 2, x[cols.max()] + dx / 2]),
                  np.array([y[rows.min()] - dy / 2, y[rows.max()] + dy / 2]))
    ax = map_axes(ax, ext)
    heading = labels["title"].format(element=element, unit=unit)
    image_extent = (float(x[0] - dx / 2), float(x[-1] + dx / 2), float(y[0] - dy / 2),
                    float(y[-1] + dy / 2))
    options: dict[str, Any] = {"origin": "lower", "extent": image_extent, "zorder": 1,
                               "interpolation": "nearest", "gid": "surface"}
    notes: list[str] = []
    sites: Floats = np.empty((0, 2))
    if points is not None:
        plon = _floats(points[0], "points longitude")
        plat = _floats(points[1], "points latitude", plon.size)
        px, py = to_local(crs, plon, plat)
        sites = np.column_stack([px, py])[np.isfinite(px) & np.isfinite(py)]
        ax.plot(sites[:, 0], sites[:, 1], ls="", marker="o", ms=1.6, color="black", zorder=3,
                gid="sites")
        notes.append(labels["sites"].format(n=len(sites)))
    if scale == "classes":
        lg = classes.legend(z[finite], unit, "surface value", percents=percents)
        idx = np.ma.masked_array(classes.classify(z, lg.breaks).astype(np.float64), ~finite)
        cmap = ListedColormap(list(lg.colours)).with_extremes(bad=(0.0, 0.0, 0.0, 0.0))
        ax.imshow(idx, cmap=cmap, norm=BoundaryNorm(np.arange(lg.n_classes + 1) - 0.5,
                                                    lg.n_classes), **options)
        class_legend(ax, lg, legend_patches(lg), heading, labels, fonts)
    else:
        norm = _norm(z[finite])
        ax.imshow(np.ma.masked_invalid(z), cmap=_cmap(), norm=norm, **options)
        colorbar(ax, norm, _cmap(), heading, fonts)
    step = max(1, int(np.sqrt(finite.sum() / 20_000)))  # a thinned set of cells is enough
    gy, gx = np.meshgrid(y[::step], x[::step], indexing="ij")
    occupied = np.column_stack([gx[finite[::step, ::step]], gy[finite[::step, ::step]]])
    return finish(ax, crs, ext, np.vstack([occupied, sites]), boundaries=boundaries,
                   heading=heading, title=title, source=source, notes=notes, labels=labels,
                   fonts=fonts)
