"""Interpolated surfaces of one element of one dataset: kriged or IDW grid cells and
rasters.

:func:`interpolate` reads a dataset's analyses of an element (by the method closest to a
total, as :func:`chemearth.store.selectors.element_values` chooses), projects the samples to a
Lambert azimuthal equal-area plane centred on them (:func:`chemearth.interp.projections.local_crs`),
substitutes values below the detection limit, fits the variogram and cross-validates. The
:class:`Interpolation` it returns estimates

* the **cells of any grid level** (:meth:`Interpolation.cells`): block estimates, each cell
  discretised in its own equal-area grid CRS and projected to the kriging plane, so that a
  cell value is an estimate of the cell's mean;
* a **raster** in the kriging plane (:meth:`Interpolation.raster`) for maps and GeoTIFF
  export: point estimates at the pixel centres.

Both are limited to where the data reach: a cell or pixel is estimated only if its centre
lies within ``reach`` of a sample (default: twice the median distance from a sample to its
nearest neighbour), so a surface never extrapolates into unsampled country.

Values below the detection limit enter as ``censored_factor`` x DL (default ½ DL, the
common practice for mapping; Reimann et al. 2008, sec. 2.2), since kriging cannot use an
interval.

Examples
--------
>>> from chemearth.store import open_store                                  # doctest: +SKIP
>>> ip = interpolate(open_store(), "meuse", "Zn")                          # doctest: +SKIP
>>> ip.variogram.model, round(ip.cross_validation["rmse"])                 # doctest: +SKIP
('spherical', 218)
>>> ip.cells("europe", "1km")[["cell_id", "estimate", "variance"]].head()  # doctest: +SKIP
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Literal

import numpy as np
import pandas as pd
import pyproj
from scipy.spatial import cKDTree

from chemearth.errors import ChemearthError, NotFoundError
from chemearth.grid.geometry import get_grid
from chemearth.interp.kriging import NEIGHBOURS, Interpolator
from chemearth.interp.projections import crs_name, local_crs, to_local, transformer
from chemearth.interp.variogram import Variogram

if TYPE_CHECKING:
    import xarray as xr

    from chemearth.grid.geometry import Grid
    from chemearth.store.base import Store

__all__ = [
    "CENSORED_FACTOR",
    "Interpolation",
    "SurfaceError",
    "interpolate",
    "interpolate_values",
]

#: Factor of the detection limit that stands for a value below it.
CENSORED_FACTOR: Final = 0.5
#: Most cells or pixels one call estimates.
MAX_TARGETS: Final = 5_000_000
#: Largest side of a raster by default (pixels).
RASTER_SIDE: Final = 400


class SurfaceError(ChemearthError, ValueError):
    """A surface that cannot be made (too few located samples, too many cells, bad level)."""


@dataclass
class Interpolation:
    """An element of a dataset, ready to be estimated anywhere the data reach.

    Attributes
    ----------
    dataset, element, method, unit, medium : str
        What is interpolated (``method`` is the analytical method).
    interpolator : Interpolator
        The fitted interpolator, in metres of :attr:`crs`.
    crs : pyproj.CRS
        The kriging plane (local Lambert azimuthal equal-area).
    longitude, latitude : ndarray
        The samples used.
    n_censored : int
        How many of them were below the detection limit.
    censored_factor : float
        The factor of the DL they entered with.
    reach : float
        Largest distance (m) from a sample at which a cell or pixel is estimated.
    cross_validation : dict
        :meth:`chemearth.interp.kriging.CrossValidation.summary` of the interpolator.
    """

    dataset: str
    element: str
    method: str
    unit: str
    medium: str
    interpolator: Interpolator
    crs: pyproj.CRS
    longitude: np.ndarray
    latitude: np.ndarray
    n_censored: int
    censored_factor: float
    reach: float
    cross_validation: dict[str, Any] = field(default_factory=dict)

    @property
    def variogram(self) -> Variogram | None:
        """The variogram model (None for IDW)."""
        return self.interpolator.variogram if self.interpolator.method == "kriging" else None

    @property
    def n_samples(self) -> int:
        """Samples used."""
        return int(self.longitude.size)

    def describe(self) -> dict[str, Any]:
        """What was done, as JSON-ready data (for provenance, the API and the atlas)."""
        ip = self.interpolator
        vg = self.variogram
        return {
            "dataset": self.dataset,
            "element": self.element,
            "method": self.method,
            "unit": self.unit,
            "medium": self.medium,
            "interpolation": "ordinary kriging" if ip.method == "kriging"
            else f"inverse distance weighting (power {ip.power:g})",
            "log": ip.log,
            "neighbours": ip.neighbours,
            "radius_m": ip.radius,
            "n_samples": self.n_samples,
            "n_censored": self.n_censored,
            "censored_factor": self.censored_factor,
            "reach_m": self.reach,
            "crs": crs_name(self.crs),
            "crs_wkt": self.crs.to_wkt(),
            "variogram": vg.to_dict() if vg is not None else None,
            "cross_validation": self.cross_validation,
        }

    def _near(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        ip = self.interpolator
        d, _ = ip.tree.query(np.column_stack([x, y]), k=1, workers=ip.workers)
        return np.asarray(d) <= self.reach

    def cells(
        self,
        grid: str | Grid = "global",
        level: int | str = "10km",
        *,
        discretisation: int = 4,
        max_cells: int = MAX_TARGETS,
    ) -> pd.DataFrame:
        """Block estimates on the cells of one grid level within reach of the samples.

        Returns
        -------
        pandas.DataFrame
            ``cell_key``, ``cell_id``, ``longitude``, ``latitude`` (cell centre),
            ``estimate``, ``variance`` (of the kriged variable: ``ln`` when log),
            ``lower``, ``upper`` (90 % interval, original unit), ``n_neighbours``.

        Raises
        ------
        SurfaceError
            For an unknown level, or more than ``max_cells`` cells.
        """
        from chemearth.grid.levels import parse_level

        g = get_grid(grid)
        level_m = parse_level(level)
        g.level_label(level_m)
        size = float(level_m)
        gx, gy = g.to_xy(self.longitude, self.latitude)
        ok = np.isfinite(gx) & np.isfinite(gy)
        if not ok.any():
            raise SurfaceError(f"no sample of {self.dataset} lies on the {g.name} grid")
        pad = self.reach + size
        c0 = math.floor((gx[ok].min() - pad) / size)
        c1 = math.floor((gx[ok].max() + pad) / size)
        r0 = math.floor((gy[ok].min() - pad) / size)
        r1 = math.floor((gy[ok].max() + pad) / size)
        count = (c1 - c0 + 1) * (r1 - r0 + 1)
        if count > max_cells:
            raise SurfaceError(
                f"{count:,} cells of {g.level_label(level_m)} cover {self.dataset}; at most "
                f"{max_cells:,} are estimated at once (choose a coarser level)")
        cols, rows = np.meshgrid(np.arange(c0, c1 + 1), np.arange(r0, r1 + 1))
        cx = (cols.ravel() + 0.5) * size
        cy = (rows.ravel() + 0.5) * size
        lon, lat = _from_grid(g, cx, cy)
        lx, ly = to_local(self.crs, lon, lat)
        good = np.isfinite(lx) & np.isfinite(ly)
        near = np.zeros(cx.size, dtype=bool)
        near[good] = self._near(lx[good], ly[good])
        keys = g.cell_keys_xy(cx[near], cy[near], level_m)
        inside = keys >= 0
        keys, cx, cy = keys[inside], cx[near][inside], cy[near][inside]
        # discretise each cell in the grid CRS, then project the points to the plane
        d = int(discretisation)
        frac = (np.arange(d) + 0.5) / d - 0.5
        fx, fy = (a.ravel() for a in np.meshgrid(frac, frac))
        px = cx[:, None] + fx[None, :] * size
        py = cy[:, None] + fy[None, :] * size
        plon, plat = _from_grid(g, px.ravel(), py.ravel())
        qx, qy = to_local(self.crs, plon, plat)
        k = self.interpolator.predict_means(qx.reshape(px.shape), qy.reshape(px.shape))
        lo, hi = k.interval(0.9) if self.interpolator.method == "kriging" else (
            np.full(keys.size, np.nan), np.full(keys.size, np.nan))
        clon, clat = _from_grid(g, cx, cy)
        out = pd.DataFrame({
            "cell_key": keys,
            "cell_id": g.key_to_id(keys),
            "longitude": clon,
            "latitude": clat,
            "estimate": k.estimate,
            "variance": k.variance,
            "lower": lo,
            "upper": hi,
            "n_neighbours": k.n_neighbours,
        })
        out.attrs.update({"grid": g.name, "level_m": level_m, **self.describe()})
        return out[out["estimate"].notna()].reset_index(drop=True)

    def raster(
        self,
        resolution: float | None = None,
        *,
        max_side: int = RASTER_SIDE,
        max_pixels: int = MAX_TARGETS,
    ) -> xr.Dataset:
        """Point estimates on a regular raster of the kriging plane, where the data reach.

        Parameters
        ----------
        resolution : float, optional
            Pixel size in metres (default: the extent's longer side / ``max_side``,
            rounded to 1, 2 or 5 x 10^k m).

        Returns
        -------
        xarray.Dataset
            ``estimate`` and ``variance`` on dims ``(y, x)`` (pixel centres in metres, y
            decreasing, as a GeoTIFF), NaN outside reach; attrs ``crs`` (WKT),
            ``crs_name``, ``unit``, ``element`` and :meth:`describe` as JSON.
        """
        import json

        import xarray as xr

        ip = self.interpolator
        x0, x1 = float(ip.x.min() - self.reach), float(ip.x.max() + self.reach)
        y0, y1 = float(ip.y.min() - self.reach), float(ip.y.max() + self.reach)
        res = _nice(max(x1 - x0, y1 - y0) / max_side) if resolution is None else float(
            resolution)
        if not res > 0:
            raise SurfaceError("the raster resolution must be positive")
        nx = math.ceil((x1 - x0) / res)
        ny = math.ceil((y1 - y0) / res)
        if nx * ny > max_pixels:
            raise SurfaceError(f"{nx} x {ny} pixels is more than {max_pixels:,}; give a "
                               "coarser resolution")
        x0 = math.floor(x0 / res) * res
        y1 = math.ceil(y1 / res) * res
        xs = x0 + (np.arange(nx) + 0.5) * res
        ys = y1 - (np.arange(ny) + 0.5) * res
        mx, my = np.meshgrid(xs, ys)
        est = np.full(mx.shape, np.nan)
        var = np.full(mx.shape, np.nan)
        near = self._near(mx.ravel(), my.ravel()).reshape(mx.shape)
        if near.any():
            k = ip.predict(mx[near], my[near])
            est[near] = k.estimate
            var[near] = k.variance
        attrs = {
            "crs": self.crs.to_wkt(),
            "crs_name": crs_name(self.crs),
            "unit": self.unit,
            "element": self.element,
            "dataset": self.dataset,
            "resolution_m": res,
            "description": json.dumps(self.describe(), default=str),
        }
        return xr.Dataset(
            {"estimate": (("y", "x"), est, {"units": self.unit, **attrs}),
             "variance": (("y", "x"), var, {"units": "ln-units^2" if ip.log else
                                            f"({self.unit})^2", **attrs})},
            coords={"x": ("x", xs, {"units": "m"}), "y": ("y", ys, {"units": "m"})},
            attrs=attrs,
        )


def _from_grid(g: Grid, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lon, lat = transformer(g.crs, "EPSG:4326").transform(x, y, errcheck=False)
    return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)


def _nice(step: float) -> float:
    """1, 2 or 5 x 10^k at or above ``step``."""
    e = 10.0 ** math.floor(math.log10(step))
    for m in (1.0, 2.0, 5.0, 10.0):
        if m * e >= step * (1 - 1e-9):
            return m * e
    return 10.0 * e


def interpolate_values(
    longitude: np.ndarray,
    latitude: np.ndarray,
    values: np.ndarray,
    censored: np.ndarray | None = None,
    *,
    dataset: str = "",
    element: str = "",
    method_name: str = "",
    unit: str = "",
    medium: str = "",
    method: Literal["kriging", "idw"] = "kriging",
    log: bool | None = None,
    model: str = "auto",
    variogram: Variogram | None = None,
    neighbours: int = NEIGHBOURS,
    radius: float | None = None,
    power: float = 2.0,
    censored_factor: float = CENSORED_FACTOR,
    reach: float | None = None,
    folds: int | None = None,
    workers: int = 2,
) -> Interpolation:
    """:func:`interpolate` on arrays of WGS 84 longitude, latitude and values (censored
    values at their detection limit, as chemearth stores them).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> lon, lat = rng.uniform(10, 11, 60), rng.uniform(50, 51, 60)
    >>> ip = interpolate_values(lon, lat, np.exp(lon - 10 + rng.normal(0, .1, 60)),
    ...                         method="idw", element="Cu", unit="mg/kg")
    >>> ip.n_samples, ip.interpolator.method, ip.cross_validation["n"]
    (60, 'idw', 60)
    """
    lon = np.asarray(longitude, dtype=np.float64)
    lat = np.asarray(latitude, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64).copy()
    c = np.zeros(v.shape, bool) if censored is None else np.asarray(censored, dtype=bool)
    if not 0 < censored_factor <= 1:
        raise SurfaceError(f"censored_factor must be in (0, 1], got {censored_factor}")
    ok = np.isfinite(lon) & np.isfinite(lat) & np.isfinite(v)
    lon, lat, v, c = lon[ok], lat[ok], v[ok], c[ok]
    if v.size < 3:
        raise SurfaceError(f"{dataset or 'the data'}: {element} has {v.size} located "
                           "value(s); interpolation needs at least 3")
    v[c] = v[c] * censored_factor
    if log is None:  # lognormal kriging; IDW of logs would be a biased geometric mean
        log = method == "kriging"
    crs = local_crs(lon, lat)
    x, y = to_local(crs, lon, lat)
    ip = Interpolator(x, y, v, method=method, log=log, model=model, variogram=variogram,
                      neighbours=neighbours, radius=radius, power=power, workers=workers)
    if reach is None:
        d, _ = cKDTree(np.column_stack([ip.x, ip.y])).query(
            np.column_stack([ip.x, ip.y]), k=2)
        reach = 2.0 * float(np.median(d[:, 1]))
    cv = ip.cross_validate(folds)
    return Interpolation(
        dataset=dataset, element=element, method=method_name, unit=unit, medium=medium,
        interpolator=ip, crs=crs, longitude=lon, latitude=lat, n_censored=int(c.sum()),
        censored_factor=float(censored_factor), reach=float(reach),
        cross_validation=cv.summary(),
    )


def interpolate(
    store: Store,
    dataset: str,
    element: str,
    *,
    analytical_method: str | None = None,
    **options: Any,
) -> Interpolation:
    """Fit an interpolator to one element of one dataset.

    Parameters
    ----------
    store : Store
        Where the dataset is.
    dataset, element : str
        The dataset (latest version) and element (``"Cu"``).
    analytical_method : str, optional
        The method as stored (default: the one closest to a total digestion).
    **options
        As :func:`interpolate_values`: ``method`` ("kriging" or "idw"), ``log`` (default:
        True for kriging, False for IDW, whose back-transform has no bias correction),
        ``model``, ``variogram``, ``neighbours``, ``radius``, ``power``,
        ``censored_factor``, ``reach``, ``folds`` (None: leave-one-out) and ``workers``.

    Raises
    ------
    NotFoundError
        If the dataset holds no such analyses.
    SurfaceError, InterpolationError, VariogramError
        If they cannot be interpolated.
    """
    from chemearth.store.selectors import element_values
    m, meth = element_values(store, dataset, element, analytical_method)
    units = m["unit"].astype(str).unique()
    if len(units) != 1:
        raise NotFoundError(f"{dataset}: {element} by {meth!r} comes in several units")
    return interpolate_values(
        m["longitude"].to_numpy(dtype=float), m["latitude"].to_numpy(dtype=float),
        m["value"].to_numpy(dtype=float), m["censored"].to_numpy(dtype=bool),
        dataset=dataset, element=element, method_name=meth, unit=str(units[0]),
        medium=str(m["medium"].iloc[0]), **options,
    )
