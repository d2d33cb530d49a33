"""Map and interpolation projections for a set of samples.

Kriging and maps need a plane where distances and areas are true. The chemearth grids'
CRSs are equal-area but not equidistant far from their centres (EASE-Grid 2.0 stretches
east–west distances 2.7 times at the latitude of Kola), so :func:`local_crs` gives a
Lambert azimuthal equal-area projection centred on the samples: within 1,500 km of the
centre, distances are true to within 2 %, areas exactly. :func:`crs_name` names it for a
map's margin.

Examples
--------
>>> crs = local_crs([28.0, 32.0], [67.0, 70.0])
>>> crs_name(crs)
'Lambert azimuthal equal-area, centre 68.5°N 30°E, WGS 84'
>>> to_local(crs, [30.0], [68.5])
(array([0.]), array([0.]))
"""

from __future__ import annotations

import functools

import numpy as np
import pyproj
from numpy.typing import ArrayLike, NDArray

from chemearth.errors import ChemearthError

__all__ = ["ProjectionError", "crs_name", "from_local", "local_crs", "to_local", "transformer"]

Floats = NDArray[np.float64]


class ProjectionError(ChemearthError, ValueError):
    """No valid coordinates to centre a projection on."""


def local_crs(longitude: ArrayLike, latitude: ArrayLike, *, step: float = 0.5) -> pyproj.CRS:
    """Lambert azimuthal equal-area CRS centred on the middle of the points' extent
    (rounded to ``step`` degrees, so that similar extents share one CRS).

    Raises
    ------
    ProjectionError
        If no point has finite coordinates.
    """
    lon = np.asarray(longitude, dtype=np.float64).ravel()
    lat = np.asarray(latitude, dtype=np.float64).ravel()
    ok = np.isfinite(lon) & np.isfinite(lat)
    if not ok.any():
        raise ProjectionError("no located samples to centre a map projection on")
    lon, lat = lon[ok], lat[ok]
    # the middle of the longitudes on the shorter side of the antimeridian
    shifted = np.where(lon < 0, lon + 360.0, lon)
    lo = lon if np.ptp(lon) <= np.ptp(shifted) else shifted
    lon0 = (float(lo.min() + lo.max()) / 2.0 + 180.0) % 360.0 - 180.0
    lat0 = float(lat.min() + lat.max()) / 2.0
    lon0, lat0 = round(lon0 / step) * step, round(lat0 / step) * step
    return _laea(lat0, lon0)


@functools.lru_cache(maxsize=64)
def _laea(lat0: float, lon0: float) -> pyproj.CRS:
    return pyproj.CRS.from_proj4(
        f"+proj=laea +lat_0={lat0:g} +lon_0={lon0:g} +x_0=0 +y_0=0 +datum=WGS84 +units=m "
        "+no_defs"
    )


@functools.lru_cache(maxsize=64)
def transformer(source: str, target: str) -> pyproj.Transformer:
    """A cached ``always_xy`` transformer between two CRSs given as text."""
    return pyproj.Transformer.from_crs(source, target, always_xy=True)


def to_local(crs: pyproj.CRS, longitude: ArrayLike, latitude: ArrayLike
             ) -> tuple[Floats, Floats]:
    """WGS 84 longitude/latitude to metres in ``crs``."""
    t = transformer("EPSG:4326", crs.to_wkt())
    x, y = t.transform(np.asarray(longitude, dtype=np.float64),
                       np.asarray(latitude, dtype=np.float64))
    return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)


def from_local(crs: pyproj.CRS, x: ArrayLike, y: ArrayLike) -> tuple[Floats, Floats]:
    """Metres in ``crs`` to WGS 84 longitude/latitude."""
    t = transformer(crs.to_wkt(), "EPSG:4326")
    lon, lat = t.transform(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
    return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)


#: Chinese names of the registered CRSs chemearth draws maps in (others by their code).
_NAMES_ZH = {8857: "等地球投影", 3035: "欧洲兰伯特方位等积投影", 4326: "WGS 84 经纬度"}


def crs_name(crs: pyproj.CRS | str, lang: str = "en") -> str:
    """A short name of a CRS for a map: the projection, its centre for a local LAEA, and
    the datum; an EPSG CRS by its name and code. ``lang="zh"`` names them in Chinese
    (a registered CRS without a Chinese name by its code).

    Examples
    --------
    >>> crs_name("EPSG:3035")
    'ETRS89-extended / LAEA Europe (EPSG:3035)'
    >>> crs_name(local_crs([29.0], [68.5]), "zh")
    '兰伯特方位等积投影，中心 68.5°N 29°E，WGS 84'
    """
    c = pyproj.CRS.from_user_input(crs)
    code = c.to_epsg()
    if code is not None and lang == "zh":
        return f"{_NAMES_ZH[code]}（EPSG:{code}）" if code in _NAMES_ZH else f"EPSG:{code}"
    if code is not None:
        return f"{c.name} (EPSG:{code})"
    params = {p.name: p.value for p in (c.coordinate_operation.params
                                        if c.coordinate_operation else [])}
    if c.coordinate_operation is not None and "Lambert Azimuthal" in \
            c.coordinate_operation.method_name:
        lat0 = float(params.get("Latitude of natural origin", 0.0))
        lon0 = float(params.get("Longitude of natural origin", 0.0))
        ns = "N" if lat0 >= 0 else "S"
        ew = "E" if lon0 >= 0 else "W"
        datum = c.datum.name if c.datum else ""
        if "WGS" in datum.upper() or "World Geodetic System 1984" in datum:
            datum = "WGS 84"
        centre = f"{abs(lat0):g}°{ns} {abs(lon0):g}°{ew}"
        if lang == "zh":
            return f"兰伯特方位等积投影，中心 {centre}，{datum}"
        return f"Lambert azimuthal equal-area, centre {centre}, {datum}"
    return c.name
