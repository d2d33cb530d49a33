"""Countries: normalise country codes and names, and locate sample coordinates.

chemearth names countries by ISO 3166-1 alpha-2 codes everywhere ("FI", "NO", "GB").
:func:`to_alpha2` turns alpha-3 codes, English names and survey-specific codes into
alpha-2 without any data file. :class:`CountryLocator` finds the country of each point
from Natural Earth admin-0 polygons whose path the caller passes in; chemearth does not
ship boundary files.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import re
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyogrio
import shapely
from pyproj import Geod

from chemearth.errors import DescriptorError, InputFileError
from chemearth.reference.country_codes import ALIASES, ALPHA3_TO_ALPHA2, GEMAS_CODES, NAMES
from chemearth.reference.country_grid import BORDER, BorderGrid

# fmt: off
__all__ = ["ALPHA3_TO_ALPHA2", "GEMAS_CODES", "NAMES", "CountryLocator", "LocateResult",
           "to_alpha2"]
# fmt: on

# Territories with their own alpha-2 that ISO 3166-2 also lists as subdivisions of a country;
# distance_to_country counts them as part of it (GEMAS samples Åland as Finland).
_PARTS = {
    "FI": ("AX",), "NO": ("SJ", "BV"), "NL": ("AW", "BQ", "CW", "SX"),
    "FR": ("BL", "GF", "GP", "MF", "MQ", "NC", "PF", "PM", "RE", "TF", "WF", "YT"),
    "US": ("AS", "GU", "MP", "PR", "UM", "VI"),
}

# Natural Earth units without an ISO_A2 of their own (ADM0_A3 -> alpha-2, None = no country).
# FRA and NOR (ISO_A2 "-99" in many versions) resolve through ALPHA3_TO_ALPHA2 instead.
_NE_SPECIAL: dict[str, str | None] = {
    "KOS": "XK", "CYN": "CY", "SOL": "SO",  # Kosovo, N. Cyprus, Somaliland
    "ESB": "CY", "WSB": "CY",  # UK Sovereign Base Areas: no ISO code, on Cyprus
    "USG": "CU", "BRI": "BR", "CLP": "FR", "CSI": "AU", "ATC": "AU",  # ISO 3166-2 / admin.
    "IOA": "CX",  # Indian Ocean Territories: Christmas Island; parts west of 100°E are CC
    "BRT": None, "PGA": None, "SCR": None,  # Bir Tawil, Spratly Is., Scarborough Reef
}
# fmt: on

_SCHEMES = (None, "gemas")
_KM_PER_DEG = 111.2
_MAX_VERTICES = 256
#: scaled boundary bands kept by :meth:`CountryLocator._band` (oldest dropped first)
_BAND_CACHE = 512
#: boundary lines near a latitude band, scaled, and their tree (None when there are none)
_Band = tuple[np.ndarray, np.ndarray, "shapely.STRtree | None"]
_GEOD = Geod(ellps="WGS84")
_LOAD_LOCK = threading.Lock()


def _norm(name: str) -> str:
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().casefold()
    text = re.sub(r"\bst\b\.?", "saint", text.replace("&", " and "))
    text = re.sub(r"[^a-z0-9]+", " ", text).strip()
    return text.removeprefix("the ")


def _name_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for name, code in [*((n, c) for c, n in NAMES.items()), *ALIASES.items()]:
        index[_norm(name)] = code
        index[_norm(re.sub(r"\(.*?\)", "", name))] = code
    return index


_BY_NAME = _name_index()


def to_alpha2(code_or_name: str, scheme: str | None = None) -> str:
    """Return the ISO 3166-1 alpha-2 code for a country code or English name.

    Parameters
    ----------
    code_or_name : str
        An alpha-2 or alpha-3 code, or an English name (case, accents and punctuation are
        ignored); with ``scheme="gemas"`` one of the GEMAS project's 3-letter codes.
    scheme : {None, "gemas"}
        ``None`` for ISO codes and names; ``"gemas"`` for GEMAS codes only.

    Returns
    -------
    str
        The alpha-2 code ("XK" for Kosovo); :class:`DescriptorError` if unknown.

    Examples
    --------
    >>> to_alpha2("FIN"), to_alpha2("Russian Federation"), to_alpha2("SLO", scheme="gemas")
    ('FI', 'RU', 'SI')
    """
    if scheme not in _SCHEMES:
        raise DescriptorError(f"unknown country code scheme {scheme!r}; use None or 'gemas'")
    if not isinstance(code_or_name, str):
        raise DescriptorError(f"country must be a string, not {code_or_name!r}")
    text = code_or_name.strip()
    upper = text.upper()
    if scheme == "gemas":
        if upper in GEMAS_CODES:
            return GEMAS_CODES[upper]
        raise DescriptorError(f"unknown GEMAS country code {code_or_name!r}")
    if len(upper) == 2 and upper in NAMES:
        return upper
    if len(upper) == 3 and upper in ALPHA3_TO_ALPHA2:
        return ALPHA3_TO_ALPHA2[upper]
    found = _BY_NAME.get(_norm(text))
    if found is None:
        raise DescriptorError(f"unknown country code or name {code_or_name!r}")
    return found


@dataclass(frozen=True)
class LocateResult:
    """Countries found by :meth:`CountryLocator.locate`, one entry per point.

    Attributes
    ----------
    country : numpy.ndarray
        Object array of alpha-2 codes, ``None`` where no country is within the tolerance.
    distance_km : numpy.ndarray
        0 inside a country, else the geodesic distance to the nearest one; NaN where none is
        within the search radius or the coordinates are invalid.
    """

    country: np.ndarray
    distance_km: np.ndarray


def _polygons(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Explode (multi)polygons and collections into polygons, with the source index."""
    parts, index = shapely.get_parts(geoms, return_index=True)
    multi = shapely.get_type_id(parts) >= 4
    if multi.any():
        sub, sub_index = _polygons(parts[multi])
        parts = np.concatenate([parts[~multi], sub])
        index = np.concatenate([index[~multi], index[multi][sub_index]])
    keep = (shapely.get_type_id(parts) == 3) & (shapely.area(parts) > 0)
    return parts[keep], index[keep]


def _subdivide(geoms: np.ndarray, owner: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Halve polygons along the longer side of their box until each is small."""
    done_g, done_o = [], []
    for _ in range(40):
        small = shapely.get_num_coordinates(geoms) <= _MAX_VERTICES
        done_g.append(geoms[small])
        done_o.append(owner[small])
        geoms, owner = geoms[~small], owner[~small]
        if not len(geoms):
            break
        x0, y0, x1, y1 = shapely.bounds(geoms).T
        wide = (x1 - x0) >= (y1 - y0)
        xm = np.where(wide, (x0 + x1) / 2, x1)
        ym = np.where(wide, y1, (y0 + y1) / 2)
        low = shapely.intersection(geoms, shapely.box(x0, y0, xm, ym))
        high = shapely.intersection(
            geoms, shapely.box(np.where(wide, xm, x0), np.where(wide, y0, ym), x1, y1)
        )
        geoms, index = _polygons(np.concatenate([low, high]))
        owner = np.concatenate([owner, owner])[index]
    return np.concatenate([*done_g, geoms]), np.concatenate([*done_o, owner])


def _chunk_rings(geoms: np.ndarray, owner: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cut polygon rings into lines of at most 16 segments (for fast nearest queries)."""
    coords, ring = shapely.get_coordinates(shapely.get_rings(geoms), return_index=True)
    ring_owner = np.repeat(owner, shapely.get_num_interior_rings(geoms) + 1)
    start = np.r_[0, np.flatnonzero(np.diff(ring)) + 1]
    nseg = np.diff(np.r_[start, len(ring)]) - 1
    nchunk = -(-nseg // 16)
    r = np.repeat(np.arange(len(start)), nchunk)
    c = np.arange(nchunk.sum()) - np.repeat(np.cumsum(nchunk) - nchunk, nchunk)
    lo = start[r] + 16 * c
    size = start[r] + np.minimum(16 * c + 16, nseg[r]) - lo + 1
    take = np.repeat(lo - np.cumsum(size) + size, size) + np.arange(size.sum())
    lines = shapely.linestrings(coords[take], indices=np.repeat(np.arange(len(lo)), size))
    return lines, ring_owner[r]


#: The fields :func:`_feature_code` reads.
_CODE_FIELDS = ("ISO_A2_EH", "ISO_A2", "ADM0_A3", "ISO_A3_EH", "ISO_A3")


def _feature_code(props: dict[str, object], x: float) -> str | None:
    for key in ("ISO_A2_EH", "ISO_A2"):
        value = str(props.get(key) or "").upper()
        if value in NAMES:
            return value
    for key in ("ADM0_A3", "ISO_A3_EH", "ISO_A3"):
        value = str(props.get(key) or "").upper()
        if value == "IOA" and x < 100:
            return "CC"
        if value in _NE_SPECIAL:
            return _NE_SPECIAL[value]
        if value in ALPHA3_TO_ALPHA2:
            return ALPHA3_TO_ALPHA2[value]
    return None


class CountryLocator:
    """Point-in-country lookup on admin-0 polygons (e.g. Natural Earth).

    Build it with :meth:`from_file`. Polygons are repaired (``make_valid``; Egypt, Russia and
    others are invalid in Natural Earth 1:10m) and split into pieces of at most 256 vertices
    for point-in-polygon tests; their rings are cut into short lines for nearest searches.

    Examples
    --------
    >>> loc = CountryLocator.from_file("boundaries/ne_10m_admin_0_countries_deu.geojson")
    >>> loc.locate(np.array([24.9]), np.array([60.2])).country
    array(['FI'], dtype=object)
    """

    def __init__(self, polygons: np.ndarray, owner: np.ndarray, codes: list[str], source: str):
        pieces, piece_owner = _subdivide(polygons, owner)
        lines, line_owner = _chunk_rings(polygons, owner)
        self._set(pieces, piece_owner, lines, line_owner, codes, source)

    def _set(
        self,
        pieces: np.ndarray,
        owner: np.ndarray,
        lines: np.ndarray,
        line_owner: np.ndarray,
        codes: list[str],
        source: str,
    ) -> None:
        self._codes = codes
        self._source = source
        self._pieces = pieces
        self._owner = owner
        self._tree = shapely.STRtree(pieces)
        self._lines, self._line_owner = lines, line_owner
        self._ymin, self._ymax = shapely.bounds(self._lines)[:, [1, 3]].T

    def _save(self, path: Path) -> None:
        """Write the prepared pieces and lines (their coordinates and offsets, uncompressed)
        so the next process skips preparing; read back without a copy of more than them."""
        p_type, p_coords, p_offsets = shapely.to_ragged_array(self._pieces)
        l_type, l_coords, l_offsets = shapely.to_ragged_array(self._lines)
        if p_type != shapely.GeometryType.POLYGON or l_type != shapely.GeometryType.LINESTRING:
            return  # never the case: pieces are polygons, lines linestrings
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        with open(tmp, "wb") as fh:
            np.savez(
                fh,
                piece_coords=p_coords,
                piece_rings=p_offsets[0],
                piece_polygons=p_offsets[1],
                piece_owner=self._owner.astype(np.int32),
                line_coords=l_coords,
                line_offsets=l_offsets[0],
                line_owner=self._line_owner.astype(np.int32),
                codes=np.array(self._codes, dtype=str),
                source=np.array(self._source, dtype=str),
            )
        os.replace(tmp, path)

    @classmethod
    def _restore(cls, path: Path) -> CountryLocator:
        with np.load(path, allow_pickle=False) as f:
            pieces = shapely.from_ragged_array(
                shapely.GeometryType.POLYGON,
                f["piece_coords"],
                (f["piece_rings"], f["piece_polygons"]),
            )
            lines = shapely.from_ragged_array(
                shapely.GeometryType.LINESTRING, f["line_coords"], (f["line_offsets"],)
            )
            obj = cls.__new__(cls)
            obj._set(
                pieces,
                f["piece_owner"].astype(np.intp),
                lines,
                f["line_owner"].astype(np.intp),
                [str(c) for c in f["codes"]],
                str(f["source"]),
            )
        return obj

    @classmethod
    def from_file(cls, path: str | Path) -> CountryLocator:
        """Load (once per path and modification time) an admin-0 countries file.

        Parameters
        ----------
        path : str or Path
            A vector file pyogrio can read, with ``ISO_A2``/``ISO_A2_EH`` or ``ADM0_A3``.

        Returns
        -------
        CountryLocator

        Examples
        --------
        >>> loc = CountryLocator.from_file("boundaries/ne_110m_admin_0_countries.geojson")
        >>> "NO" in loc.codes
        True
        """
        resolved = Path(path).expanduser().resolve()
        try:
            mtime = resolved.stat().st_mtime_ns
        except OSError as exc:
            raise InputFileError(f"boundaries file {str(path)!r} not found: {exc}") from exc
        with _LOAD_LOCK:  # one thread prepares a file while the others wait for it
            return _load(str(resolved), mtime)

    @property
    def codes(self) -> list[str]:
        """Sorted alpha-2 codes of the countries in the file."""
        return list(self._codes)

    def name(self, code: str) -> str:
        """Return the English name of a country.

        Examples
        --------
        >>> loc = CountryLocator.from_file("boundaries/ne_110m_admin_0_countries.geojson")
        >>> loc.name("NO")
        'Norway'
        """
        return NAMES[to_alpha2(code)]

    def locate(
        self,
        lon: np.ndarray,
        lat: np.ndarray,
        tolerance_km: float = 10.0,
        search_km: float = 100.0,
        *,
        coarse: bool = True,
    ) -> LocateResult:
        """Find the country of each point (WGS84 degrees).

        Points inside no polygon take the nearest country within ``tolerance_km``; distances
        to the nearest country are reported up to ``search_km``.

        Parameters
        ----------
        lon, lat : numpy.ndarray
            Longitudes and latitudes in degrees (any shape; the result is flat).
        tolerance_km : float
            Largest geodesic distance at which an outside point still gets a country.
        search_km : float
            Largest distance reported in ``distance_km`` (NaN beyond).
        coarse : bool
            Decide points far from every border by their grid cell
            (:class:`~chemearth.reference.country_grid.BorderGrid`); False tests every
            point against the polygons. The results are the same.

        Returns
        -------
        LocateResult

        Examples
        --------
        >>> loc = CountryLocator.from_file("boundaries/ne_110m_admin_0_countries.geojson")
        >>> loc.locate(np.array([10.7, 0.0]), np.array([59.9, 0.0])).country
        array(['NO', None], dtype=object)
        """
        x, y, ok = _coords(lon, lat)
        owner = np.full(x.size, -1)
        dist = np.full(x.size, np.nan)
        exact = self._undecided(x, y, ok, owner, dist) if coarse else ok
        point, piece = self._inside(x, y, exact)
        first = np.unique(point, return_index=True)[1]
        owner[point[first]] = self._owner[piece[first]]
        dist[point[first]] = 0.0
        out = np.flatnonzero(ok & (owner < 0))
        reach = max(search_km, tolerance_km)
        d, line = self._nearest(x[out], y[out], np.arange(len(self._lines)), reach)
        dist[out] = d
        near = out[d <= tolerance_km]
        owner[near] = self._line_owner[line[d <= tolerance_km]]
        country = np.array([None, *self._codes], dtype=object)[owner + 1]
        return LocateResult(country=country, distance_km=dist)

    def distance_to_country(
        self,
        lon: np.ndarray,
        lat: np.ndarray,
        code: str,
        include_parts: bool = True,
        *,
        coarse: bool = True,
    ) -> np.ndarray:
        """Geodesic distance in km from each point to a country (0 inside).

        Parameters
        ----------
        lon, lat : numpy.ndarray
            WGS84 degrees (any shape; the result is flat).
        code : str
            The country, in any form :func:`to_alpha2` accepts.
        include_parts : bool
            Also count territories that ISO 3166-2 lists as parts of the country (Åland for
            FI, Svalbard for NO, overseas France for FR, ...).
        coarse : bool
            Decide points far from every border by their grid cell; False tests every
            point against the polygons. The results are the same.

        Returns
        -------
        numpy.ndarray
            Kilometres; NaN for invalid coordinates. Within about 1 % up to a few hundred
            km; farther away an upper bound (the geodesic length to a boundary point).

        Examples
        --------
        >>> loc = CountryLocator.from_file("boundaries/ne_110m_admin_0_countries.geojson")
        >>> loc.distance_to_country(np.array([24.9]), np.array([60.2]), "FI")
        array([0.])
        """
        alpha2 = to_alpha2(code)
        if alpha2 not in self._codes:
            raise DescriptorError(f"country {code!r} ({alpha2}) is not in {self._source}")
        wanted = [alpha2, *(_PARTS.get(alpha2, ()) if include_parts else ())]
        wanted_ids = [self._codes.index(c) for c in wanted if c in self._codes]
        x, y, ok = _coords(lon, lat)
        dist = np.full(x.size, np.nan)
        inside = np.zeros(x.size, dtype=bool)
        exact = ok
        if coarse:  # cells far from every border answer for all their points
            idx = np.flatnonzero(ok)
            cls = self._border_grid().classify(x[idx], y[idx])
            inside[idx[np.isin(cls, wanted_ids)]] = True
            exact = np.zeros(x.size, dtype=bool)
            exact[idx[cls == BORDER]] = True
        if exact.any():
            inside[exact] = shapely.contains_xy(
                self._area(tuple(wanted_ids)), x[exact], y[exact]
            )
        rest = exact & ~inside  # outside, or on a seam between two pieces: ask the tree
        if rest.any():
            point, piece = self._inside(x, y, rest)
            inside[point[np.isin(self._owner[piece], wanted_ids)]] = True
        dist[inside] = 0.0
        out = np.flatnonzero(ok & ~inside)
        lines = np.flatnonzero(np.isin(self._line_owner, wanted_ids))
        dist[out] = self._nearest(x[out], y[out], lines, np.inf)[0]
        return dist

    def _border_grid(self) -> BorderGrid:
        """The coarse mask of cells far from every piece boundary (built on first use)."""
        grid: BorderGrid | None = self.__dict__.get("_grid")
        if grid is None:
            grid = BorderGrid(self._pieces, self._owner, self._tree)
            self.__dict__["_grid"] = grid
        return grid

    def _undecided(
        self, x: np.ndarray, y: np.ndarray, ok: np.ndarray, owner: np.ndarray, dist: np.ndarray
    ) -> np.ndarray:
        """Settle the points the grid decides (``owner``, ``dist``); the rest, as a mask."""
        idx = np.flatnonzero(ok)
        cls = self._border_grid().classify(x[idx], y[idx])
        held = cls >= 0
        owner[idx[held]] = cls[held]
        dist[idx[held]] = 0.0
        exact = np.zeros(x.size, dtype=bool)
        exact[idx[cls == BORDER]] = True
        return exact

    def _area(self, owners: tuple[int, ...]) -> shapely.Geometry:
        """The pieces of the given countries as one prepared geometry (kept per owner set).

        A prepared point-in-polygon test is several times faster than querying the tree of
        all pieces. It misses points on a seam between two pieces; the caller asks the
        tree about the points it leaves out.
        """
        cache: dict[tuple[int, ...], shapely.Geometry] = self.__dict__.setdefault("_areas", {})
        if owners not in cache:
            area = shapely.multipolygons(self._pieces[np.isin(self._owner, owners)])
            shapely.prepare(area)
            cache[owners] = area
        return cache[owners]

    def _inside(self, x: np.ndarray, y: np.ndarray, ok: np.ndarray) -> np.ndarray:
        """(point, piece) index pairs of valid points that intersect a polygon piece."""
        idx = np.flatnonzero(ok)
        point, piece = self._tree.query(shapely.points(x[idx], y[idx]), predicate="intersects")
        return np.stack([idx[point], piece])

    def _band(
        self, lines: np.ndarray, key: bytes, b: float, k: float, reach: float
    ) -> _Band:
        """The boundary ``lines`` near the 1-degree band from latitude ``b``, with their
        longitudes scaled by ``k``, and a tree of them (kept for the next chunk of points)."""
        cache: dict[tuple[bytes, float, float], _Band] = self.__dict__.setdefault("_bands", {})
        hit = cache.get((key, b, reach))
        if hit is None:
            near = (self._ymax[lines] >= b - reach) & (self._ymin[lines] <= b + 1 + reach)
            cand = lines[near]
            scaled = shapely.transform(self._lines[cand], lambda c: c * [k, 1.0])
            hit = (cand, scaled, shapely.STRtree(scaled) if len(cand) else None)
            if len(cache) >= _BAND_CACHE:
                cache.pop(next(iter(cache)))
            cache[(key, b, reach)] = hit
        return hit

    def _nearest(
        self, x: np.ndarray, y: np.ndarray, lines: np.ndarray, max_km: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Geodesic km to, and index of, the nearest of boundary ``lines`` (NaN, -1 beyond).

        Points are handled in 1-degree latitude bands; in each, longitudes are scaled by the
        band's cos(latitude) so planar distances approximate ground distances for the
        candidate search. The nearest boundary point is then measured with pyproj.Geod.
        """
        dist = np.full(x.size, np.nan)
        best = np.full(x.size, -1)
        band = np.floor(y).clip(-90, 89)
        reach = max_km / _KM_PER_DEG * 1.1 if np.isfinite(max_km) else np.inf
        key = hashlib.blake2b(lines.tobytes(), digest_size=16).digest()
        limit = None if np.isinf(reach) else reach
        for b in np.unique(band):
            sel = np.flatnonzero(band == b)
            k = np.cos(np.radians(b + 0.5))
            cand, scaled, tree = self._band(lines, key, float(b), k, reach)
            if tree is None:
                continue
            src, xs = sel, x[sel] * k
            for again in (False, True):  # again: copies shifted across the antimeridian
                pts = shapely.points(xs, y[src])
                (qi, ti), gap = tree.query_nearest(
                    pts, max_distance=limit, return_distance=True, all_matches=False
                )
                end = shapely.get_point(shapely.shortest_line(pts[qi], scaled[ti]), 1)
                qx, qy = shapely.get_x(end) / k, shapely.get_y(end)
                km = _GEOD.inv(x[src[qi]], y[src[qi]], qx, qy)[2] / 1000.0
                better = ~(dist[src[qi]] <= km)
                dist[src[qi][better]] = km[better]
                best[src[qi][better]] = cand[ti[better]]
                if again:
                    break
                found = np.full(len(src), reach)
                found[qi] = np.minimum(gap, reach)
                wrap = 180 * k - np.abs(xs) < found
                src, xs = src[wrap], xs[wrap] - np.sign(xs[wrap]) * 360 * k
        beyond = ~(dist <= max_km)
        dist[beyond], best[beyond] = np.nan, -1
        return dist, best


def _coords(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x, y = np.broadcast_arrays(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    x, y = x.ravel(), y.ravel()
    ok = np.isfinite(x) & np.isfinite(y) & (np.abs(y) <= 90)
    with np.errstate(invalid="ignore"):
        x = np.where(np.abs(x) <= 180, x, (x + 180) % 360 - 180)
    return x, y, ok


_CACHE_VERSION = "2"  # 2: coordinates and offsets (.npz) instead of WKB in Parquet


def _cache_file(path: str, mtime_ns: int) -> Path | None:
    """Where the prepared boundaries of ``path`` are cached (``CHEMEARTH_CACHE`` or the
    user cache directory), or None when caching is switched off (``CHEMEARTH_CACHE=off``)."""
    import hashlib

    from chemearth.config import boundaries_cache_dir

    base = boundaries_cache_dir()
    if base is None:
        return None
    key = hashlib.sha256(
        f"{_CACHE_VERSION}|{Path(path).resolve()}|{mtime_ns}|{Path(path).stat().st_size}".encode()
    ).hexdigest()[:24]
    return base / f"boundaries-{key}.npz"


@functools.lru_cache(maxsize=4)
def _load(path: str, mtime_ns: int) -> CountryLocator:
    """Read, repair and index a countries file (cached per path and mtime, in memory and
    on disk: preparing the 1:10m file takes seconds, reading the prepared copy a fraction)."""
    cache = _cache_file(path, mtime_ns)
    if cache is not None and cache.is_file():
        try:
            return CountryLocator._restore(cache)
        except Exception:
            cache.unlink(missing_ok=True)
    loc = _prepare(path)
    if cache is not None:
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            loc._save(cache)
        except OSError:
            pass  # a read-only cache directory only costs time
    _trim_heap()
    return loc


def _trim_heap() -> None:
    """Hand the C heap's free memory back to the system (glibc only; else nothing).

    Preparing boundaries frees many GEOS geometries; glibc keeps their memory unless asked.
    """
    import ctypes
    import ctypes.util

    with contextlib.suppress(Exception):
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)


def _prepare(path: str) -> CountryLocator:
    """Read, repair and index a countries file.

    Only the code fields are read (no GeoDataFrame is built) and only the invalid
    polygons are repaired: ``make_valid`` returns a valid polygon unchanged.
    """
    try:
        meta, _, wkb, fields = pyogrio.raw.read(path, columns=list(_CODE_FIELDS))
    except Exception as exc:
        raise InputFileError(f"cannot read boundaries file {path!r}: {exc}") from exc
    geoms = shapely.from_wkb(wkb)
    crs = meta.get("crs")
    if crs:
        from pyproj import CRS, Transformer

        if not CRS.from_user_input(crs).is_geographic:
            tr = Transformer.from_crs(crs, "OGC:CRS84", always_xy=True)
            geoms = shapely.transform(geoms, lambda c: np.column_stack(tr.transform(*c.T)))
    bad = ~shapely.is_valid(geoms)
    geoms[bad] = shapely.make_valid(geoms[bad])
    geoms, index = _polygons(geoms)
    names_read = [str(n) for n in meta["fields"]]
    centre_x = shapely.get_x(shapely.centroid(geoms))
    codes = [
        _feature_code({n: f[i] for n, f in zip(names_read, fields, strict=True)}, x)
        for i, x in zip(index, centre_x, strict=True)
    ]
    known = np.array([c is not None for c in codes], dtype=bool)
    if not known.any():
        raise InputFileError(f"{path!r} has no ISO_A2, ISO_A2_EH or ADM0_A3 country codes")
    names = sorted({c for c in codes if c is not None})
    owner = np.searchsorted(names, [c for c in codes if c is not None])
    return CountryLocator(geoms[known], owner, names, path)
