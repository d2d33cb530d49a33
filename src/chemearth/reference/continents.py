"""Continents and land polygons of the countries in a Natural Earth admin-0 file.

Natural Earth gives every admin-0 feature a ``CONTINENT`` attribute ("Europe", "Asia",
"Africa", "North America", "South America", "Oceania", "Antarctica" and "Seven seas (open
ocean)" for remote islands). :func:`country_land` reads a boundaries file once per path and
modification time and returns its land as valid WGS84 polygons, each with the ISO 3166-1
alpha-2 code of its country and the country's continent; :func:`country_continents` maps
countries to continents.

How a feature gets its country
    :func:`feature_code` reads the feature's own ISO properties (``ISO_A2_EH``, ``ISO_A2``,
    then ``ADM0_A3``, ``ISO_A3_EH``, ``ISO_A3`` as alpha-3 codes). Features without an ISO
    code ("-99": Kosovo, the UK bases on Cyprus, Guantánamo Bay, the Indian Ocean
    Territories, Bir Tawil …) take, polygon by polygon, the country that
    :class:`~chemearth.reference.countries.CountryLocator` gives a point inside the polygon,
    so land and samples (located by the same locator at ingest) agree on the country. Land
    that no country claims (Bir Tawil, the Spratly Islands, Scarborough Reef) keeps
    ``None``.

How a country gets its continent
    A country whose land spans several features (France and Clipperton Island, Australia and
    the Coral Sea Islands, Cyprus and the UK bases) takes the ``CONTINENT`` of its largest
    feature, so every country lies in exactly one continent and continents are sums of
    countries. Unclaimed land keeps its own feature's continent.

Antarctica
    Antarctica is land like any other here (continent :data:`ANTARCTICA`); whether it
    counts for coverage is the caller's choice (``exclude_antarctica`` of
    :func:`chemearth.grid.coverage.coverage`).

Invalid polygons (Egypt, Russia, Eritrea, Greenland, Sri Lanka and the Maldives in the
1:10m file) are repaired with ``buffer(0)``; the repaired areas agree with those of
``make_valid`` to 1e-8 square degrees.

Examples
--------
>>> land = country_land("boundaries/ne_110m_admin_0_countries.geojson")
>>> land.continent_of("FI"), land.continent_of("NZ"), land.continent_of("AQ")
('Europe', 'Oceania', 'Antarctica')
>>> round(land.country_geometry("IS").area, 1)  # square degrees
20.6
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import numpy as np
import pyogrio
import shapely
from numpy.typing import NDArray

from chemearth.errors import DescriptorError, InputFileError
from chemearth.reference.countries import ALPHA3_TO_ALPHA2, NAMES, CountryLocator, to_alpha2

__all__ = [
    "ANTARCTICA",
    "CountryLand",
    "continent_of",
    "country_continents",
    "country_land",
    "feature_code",
    "polygon_parts",
]

#: The Natural Earth ``CONTINENT`` value of Antarctica.
ANTARCTICA: Final = "Antarctica"

_ALPHA2_KEYS = ("ISO_A2_EH", "ISO_A2")
_ALPHA3_KEYS = ("ADM0_A3", "ISO_A3_EH", "ISO_A3")


def feature_code(properties: Mapping[str, object]) -> str | None:
    """The ISO 3166-1 alpha-2 code that a Natural Earth feature's own properties give.

    ``ISO_A2_EH`` and ``ISO_A2`` are used when they are alpha-2 codes chemearth knows;
    otherwise ``ADM0_A3``, ``ISO_A3_EH`` and ``ISO_A3`` as alpha-3 codes. Natural Earth
    writes ``"-99"`` where a unit has no code of its own (France and Norway in some
    versions, which their ``ADM0_A3`` still resolves; Kosovo, disputed and special areas,
    which stay None here).

    Parameters
    ----------
    properties : mapping
        The feature's attributes.

    Returns
    -------
    str or None

    Examples
    --------
    >>> feature_code({"ISO_A2": "-99", "ADM0_A3": "NOR"})
    'NO'
    >>> feature_code({"ISO_A2": "CN-TW", "ADM0_A3": "TWN"}), feature_code({"ADM0_A3": "KOS"})
    ('TW', None)
    """
    for key in _ALPHA2_KEYS:
        value = str(properties.get(key) or "").strip().upper()
        if value in NAMES:
            return value
    for key in _ALPHA3_KEYS:
        value = str(properties.get(key) or "").strip().upper()
        if value in ALPHA3_TO_ALPHA2:
            return ALPHA3_TO_ALPHA2[value]
    return None


@dataclass(frozen=True, eq=False)
class CountryLand:
    """The land of a boundaries file as valid WGS84 polygons with country and continent.

    Attributes
    ----------
    polygons : numpy.ndarray
        Shapely Polygons (longitude, latitude), valid, none empty; features are split into
        their polygons.
    country : numpy.ndarray
        Object array: the alpha-2 code of each polygon's country, None for unclaimed land.
    continent : numpy.ndarray
        Object array: each polygon's continent (its country's, see the module notes).
    source : str
        The resolved path of the boundaries file.
    """

    polygons: NDArray[np.object_]
    country: NDArray[np.object_]
    continent: NDArray[np.object_]
    source: str
    _continents: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def codes(self) -> list[str]:
        """Sorted alpha-2 codes of the countries with land in the file.

        Examples
        --------
        >>> land = country_land("boundaries/ne_110m_admin_0_countries.geojson")
        >>> len(land.codes), land.codes[:3]
        (175, ['AE', 'AF', 'AL'])
        """
        return sorted(self.continents)

    @property
    def continents(self) -> dict[str, str]:
        """Alpha-2 code → continent of every country in the file (a copy).

        Examples
        --------
        >>> land = country_land("boundaries/ne_110m_admin_0_countries.geojson")
        >>> land.continents["BR"]
        'South America'
        """
        return dict(self._continents)

    def continent_of(self, code: str) -> str:
        """The continent of a country given in any form :func:`to_alpha2` accepts.

        Raises
        ------
        DescriptorError
            For a code or name that is no country, or a country not in the file.

        Examples
        --------
        >>> land = country_land("boundaries/ne_110m_admin_0_countries.geojson")
        >>> land.continent_of("EGY")
        'Africa'
        """
        alpha2 = to_alpha2(code)
        if alpha2 not in self._continents:
            raise DescriptorError(f"country {code!r} ({alpha2}) has no land in {self.source}")
        return self._continents[alpha2]

    def country_geometry(self, code: str) -> shapely.MultiPolygon:
        """All polygons of one country as a MultiPolygon (WGS84).

        Examples
        --------
        >>> land = country_land("boundaries/ne_110m_admin_0_countries.geojson")
        >>> land.country_geometry("Norway").geom_type
        'MultiPolygon'
        """
        self.continent_of(code)  # raises for a country without land
        mine = self.polygons[self.country == to_alpha2(code)]
        return shapely.MultiPolygon(list(mine))


def country_land(boundaries: str | Path) -> CountryLand:
    """The land polygons of an admin-0 boundaries file (cached per path and modification time).

    Parameters
    ----------
    boundaries : str or Path
        A file pyogrio can read with the Natural Earth attributes ``CONTINENT`` and
        ``ISO_A2``/``ISO_A2_EH`` or ``ADM0_A3`` (the 1:10m or 1:110m admin-0 countries).

    Returns
    -------
    CountryLand
        Shared between callers: do not modify its arrays.

    Raises
    ------
    InputFileError
        If the file is missing, unreadable, or has no ``CONTINENT`` attribute.

    Examples
    --------
    >>> land = country_land("boundaries/ne_10m_admin_0_countries_deu.geojson")
    >>> sorted(set(land.continent))[:3]
    ['Africa', 'Antarctica', 'Asia']
    """
    path, mtime = _resolve(boundaries)
    return _load(path, mtime)


def country_continents(boundaries: str | Path) -> dict[str, str]:
    """Alpha-2 code → Natural Earth continent of every country in a boundaries file.

    Examples
    --------
    >>> c = country_continents("boundaries/ne_10m_admin_0_countries_deu.geojson")
    >>> c["FR"], c["CY"], c["XK"], c["TF"]
    ('Europe', 'Asia', 'Europe', 'Seven seas (open ocean)')
    """
    return country_land(boundaries).continents


def continent_of(country: str, boundaries: str | Path) -> str:
    """The continent of one country (any form :func:`to_alpha2` accepts).

    Examples
    --------
    >>> continent_of("United States", "boundaries/ne_10m_admin_0_countries_deu.geojson")
    'North America'
    """
    return country_land(boundaries).continent_of(country)


def _resolve(boundaries: str | Path) -> tuple[str, int]:
    resolved = Path(boundaries).expanduser().resolve()
    try:
        return str(resolved), resolved.stat().st_mtime_ns
    except OSError as exc:
        raise InputFileError(f"boundaries file {str(boundaries)!r} not found: {exc}") from exc


def polygon_parts(geoms: NDArray[np.object_]) -> tuple[NDArray[np.object_], NDArray[np.intp]]:
    """Polygons of (multi)polygons and collections, with the index of their source."""
    parts, index = shapely.get_parts(geoms, return_index=True)
    nested = shapely.get_type_id(parts) >= 4
    while nested.any():
        sub, sub_index = shapely.get_parts(parts[nested], return_index=True)
        parts = np.concatenate([parts[~nested], sub])
        index = np.concatenate([index[~nested], index[nested][sub_index]])
        nested = shapely.get_type_id(parts) >= 4
    keep = (shapely.get_type_id(parts) == 3) & (shapely.area(parts) > 0)
    return parts[keep], index[keep]


@functools.lru_cache(maxsize=4)
def _load(path: str, mtime_ns: int) -> CountryLand:
    """Read and repair a boundaries file; give each polygon a country and a continent."""
    try:
        frame = pyogrio.read_dataframe(path)
    except Exception as exc:
        raise InputFileError(f"cannot read boundaries file {path!r}: {exc}") from exc
    if "CONTINENT" not in frame.columns:
        raise InputFileError(f"{path!r} has no CONTINENT attribute (a Natural Earth file has)")
    if frame.crs is not None and not frame.crs.is_geographic:
        frame = frame.to_crs("OGC:CRS84")
    geoms = np.asarray(frame.geometry.values, dtype=object)
    present = ~shapely.is_missing(geoms)
    invalid = present & ~shapely.is_valid(geoms)
    geoms[invalid] = shapely.buffer(geoms[invalid], 0.0)
    polygons, feature = polygon_parts(geoms[present])
    feature = np.flatnonzero(present)[feature]
    props = frame.drop(columns="geometry").to_dict("records")
    codes = np.array([feature_code(p) for p in props], dtype=object)
    country = codes[feature]
    unnamed = np.flatnonzero(country == None)  # noqa: E711 (elementwise)
    if unnamed.size:  # ask the locator, polygon by polygon, as ingest does for samples
        inside = shapely.point_on_surface(polygons[unnamed])
        found = CountryLocator.from_file(path).locate(
            shapely.get_x(inside), shapely.get_y(inside), tolerance_km=0.0, search_km=1.0
        )
        country[unnamed] = found.country
    feature_continent = np.array([str(p["CONTINENT"]) for p in props], dtype=object)
    continent = feature_continent[feature]
    # each country: the continent of its largest feature (area weighted by cos(latitude))
    weight = shapely.area(polygons) * np.cos(np.radians(shapely.get_y(shapely.centroid(polygons))))
    continents: dict[str, str] = {}
    claimed = np.flatnonzero(country != None)  # noqa: E711
    for code in sorted(set(country[claimed])):
        mine = claimed[country[claimed] == code]
        per_feature: dict[int, float] = {}
        for i in mine:
            per_feature[int(feature[i])] = per_feature.get(int(feature[i]), 0.0) + weight[i]
        largest = max(per_feature, key=lambda f: per_feature[f])
        continents[code] = str(feature_continent[largest])
        continent[mine] = continents[code]
    return CountryLand(polygons, country, continent, path, continents)
