"""Rank candidate CRSs for a set of coordinates by where they put the points (``describe``,
``check``).

:func:`evaluate_crs` says how well one CRS places the points (valid, on land, in which
countries); :func:`rank_crs` tries every CRS of :func:`candidate_crs` and ranks them. The
land test uses Natural Earth admin-0 countries (:class:`~chemearth.reference.countries.
CountryLocator`). Coordinates that are wrong by a whole UTM zone still land, often entirely,
on some continent; what tells the zones apart is that a survey follows the land where it
really is (coasts, borders), so the share on land is compared with the land just around the
points, and points off land weigh heavily.

Examples
--------
>>> import pandas as pd
>>> d = pd.read_csv("kola/chorizon.csv")
>>> fits = rank_crs(d.XCOO.to_numpy(), d.YCOO.to_numpy(),
...                 Path("boundaries/ne_10m_admin_0_countries_deu.geojson"))
>>> fits[0].crs, list(fits[0].countries)
('EPSG:32635', ['RU', 'FI', 'NO'])
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from chemearth.ingest.crs_catalogue import GRID_ORDER, CrsHints, Zone, catalogue, hinted

__all__ = [
    "COAST_KM",
    "TOLERANCE_KM",
    "CrsFit",
    "candidate_crs",
    "country_counts",
    "evaluate_crs",
    "fit_points",
    "is_degrees",
    "locator",
    "rank_crs",
    "subsample",
    "to_lonlat",
]

#: A point within this distance of a country counts as on land (the boundaries are generalised).
COAST_KM = 2.0
#: A point within this distance of a country belongs to it (ingest's default tolerance).
TOLERANCE_KM = 10.0
_SCREEN = 40  # points per CRS in the coarse first screen
_SAMPLE = 300  # points per CRS in the second screen and the ranking
_MAX_DLON = 40.0  # a zone CRS is not used farther than this from its central meridian
_OFF_LAND = 10.0  # weight of the share off land in the score
_TIE = 0.03  # scores this close are a tie, broken by preference


@dataclass(frozen=True)
class CrsFit:
    """How well one CRS places a set of coordinates.

    Attributes
    ----------
    crs : str
        ``"EPSG:<code>"``.
    name : str
        The CRS name (pyproj's).
    n : int
        Points tested.
    share_valid : float
        Share of them that the CRS can transform to a longitude/latitude.
    share_on_land : float
        Share within :data:`COAST_KM` of a country; NaN when no boundaries were given.
    countries : dict of str to int
        Points per country (alpha-2, within :data:`TOLERANCE_KM`), most first.
    share_in_area : float
        Share inside the CRS's area of use (pyproj).
    share_agreeing : float
        Share falling in the country that the table's country column gives (NaN: none).
    share_around : float
        Share on land of the same points moved by half their extent (see :func:`rank_crs`).
    score : float
        The ranking score of :func:`rank_crs` (NaN from :func:`evaluate_crs`).
    """

    crs: str
    name: str
    n: int
    share_valid: float
    share_on_land: float
    countries: dict[str, int] = field(default_factory=dict)
    share_in_area: float = math.nan
    share_agreeing: float = math.nan
    share_around: float = math.nan
    score: float = math.nan

    @property
    def code(self) -> int:
        """The EPSG code (0 for a CRS given otherwise)."""
        number = self.crs.upper().removeprefix("EPSG:")
        return int(number) if number.isdigit() else 0

    def summary(self) -> str:
        """One line of evidence, e.g. ``WGS 84 / UTM zone 35N (EPSG:32635): 99.7 % on land``."""
        if math.isnan(self.share_on_land):
            land = f"{self.share_in_area:.0%} inside its area of use (land not tested)"
        else:
            land = f"{self.share_on_land:.1%} of {self.n} points on land"
            if not math.isnan(self.share_around):
                land += f" ({self.share_around:.0%} of the land around them)"
        return f"{self.name} ({self.crs}): {land}"


def is_degrees(x: np.ndarray, y: np.ndarray) -> bool:
    """True when every finite point is a possible longitude/latitude.

    Examples
    --------
    >>> is_degrees(np.array([24.9, np.nan]), np.array([60.2, 1.0])), is_degrees(
    ...     np.array([547960.0]), np.array([7693790.0]))
    (True, False)
    """
    ok = np.isfinite(x) & np.isfinite(y)
    return bool(ok.any()) and bool((np.abs(x[ok]) <= 180).all() and (np.abs(y[ok]) <= 90).all())


def _user_input(code: int | str) -> str:
    return f"EPSG:{code}" if isinstance(code, int) else code


@functools.lru_cache(maxsize=64)
def _transformer(code: int | str) -> object:
    from pyproj import Transformer

    return Transformer.from_crs(_user_input(code), "EPSG:4326", always_xy=True)


@functools.lru_cache(maxsize=512)
def _projection(code: int) -> object:
    from pyproj import Proj

    return Proj(f"EPSG:{code}")


@functools.lru_cache(maxsize=512)
def _crs_info(code: int | str) -> tuple[str, tuple[float, float, float, float] | None]:
    """(name, area of use (west, south, east, north)) of a CRS (an EPSG code or any text
    pyproj reads)."""
    from pyproj import CRS
    from pyproj.exceptions import CRSError as PyprojCRSError

    from chemearth.errors import CRSError

    try:
        crs = CRS.from_user_input(_user_input(code))
    except PyprojCRSError as exc:
        raise CRSError(f"unknown CRS {code!r}: {exc}") from None
    area = crs.area_of_use
    return crs.name, (tuple(area.bounds) if area is not None else None)  # type: ignore[return-value]


def to_lonlat(x: np.ndarray, y: np.ndarray, code: int | str, exact: bool = False) -> tuple[
        np.ndarray, np.ndarray]:
    """Longitude/latitude in degrees; NaN where the CRS cannot place a point.

    ``exact``: transformed to WGS84 (pyproj's best transformation: slow to set up for some
    datums, 0.1-0.6 s); else the projection only, on the CRS's own datum (within a few
    hundred metres of WGS84), which is enough to rank CRSs by where the points land.

    Examples
    --------
    >>> lon, lat = to_lonlat(np.array([547960.0]), np.array([7693790.0]), 32635, exact=True)
    >>> round(float(lon[0]), 3), round(float(lat[0]), 3)
    (28.219, 69.349)
    """
    if code in (4326, "EPSG:4326"):
        lon, lat = x.astype(float), y.astype(float)
    else:
        with np.errstate(all="ignore"):
            if exact:
                lon, lat = _transformer(code).transform(  # type: ignore[attr-defined]
                    x, y, errcheck=False)
            else:
                lon, lat = _projection(code)(x, y, inverse=True)  # type: ignore[operator]
        lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    bad = ~(np.isfinite(lon) & np.isfinite(lat) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180))
    return np.where(bad, np.nan, lon), np.where(bad, np.nan, lat)


def _in_area(lon: np.ndarray, lat: np.ndarray, code: int | str) -> np.ndarray:
    area = _crs_info(code)[1]
    if area is None:
        return np.asarray(np.isfinite(lon), dtype=bool)
    w, s, e, n = area
    return _in_box(lon, lat, (w, s - 0.5, e, n + 0.5))


def locator(boundaries: Path | None) -> object | None:
    """The :class:`~chemearth.reference.countries.CountryLocator` of ``boundaries`` (cached
    in memory and on disk), or None.

    Examples
    --------
    >>> locator(None) is None
    True
    """
    if boundaries is None:
        return None
    from chemearth.reference.countries import CountryLocator

    return CountryLocator.from_file(boundaries)


def _locate(loc: object, lon: np.ndarray, lat: np.ndarray, tol: float) -> tuple[
        np.ndarray, np.ndarray]:
    """(country or None, km to the nearest country or NaN) of each point (NaN: nowhere)."""
    country = np.full(len(lon), None, dtype=object)
    dist = np.full(len(lon), np.nan)
    ok = np.isfinite(lon)
    if ok.any():
        res = loc.locate(lon[ok], lat[ok], tolerance_km=tol, search_km=tol)  # type: ignore[attr-defined]
        country[ok], dist[ok] = res.country, res.distance_km
    return country, dist


def country_counts(country: np.ndarray) -> dict[str, int]:
    """Points per country code, most first (None left out).

    Examples
    --------
    >>> country_counts(np.array(["FI", None, "NO", "FI"], dtype=object))
    {'FI': 2, 'NO': 1}
    """
    codes, n = np.unique(np.asarray([c for c in country if c is not None], dtype=str),
                         return_counts=True)
    order = sorted(zip(codes.tolist(), n.tolist(), strict=True), key=lambda t: (-t[1], t[0]))
    return {c: int(k) for c, k in order}


def evaluate_crs(x: np.ndarray, y: np.ndarray, crs: str, boundaries: Path | None) -> CrsFit:
    """Say how well ``crs`` places the points ``x``/``y``: valid, on land, which countries.

    Parameters
    ----------
    x, y : numpy.ndarray
        Coordinates as written in the table (NaN for missing).
    crs : str
        ``"EPSG:<code>"``, or any CRS text pyproj reads (:class:`~chemearth.errors.CRSError`
        if it cannot).
    boundaries : Path, optional
        Natural Earth admin-0 countries; without it the land is not tested (NaN share).

    Returns
    -------
    CrsFit

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.read_csv("meuse/meuse.csv")
    >>> fit = evaluate_crs(d.x.to_numpy(), d.y.to_numpy(), "EPSG:28992",
    ...                    Path("boundaries/ne_10m_admin_0_countries_deu.geojson"))
    >>> fit.share_on_land, fit.countries   # the floodplain is the border: 1:10m is coarse
    (1.0, {'NL': 117, 'BE': 38})
    """
    text = str(crs).strip()
    number = text.upper().removeprefix("EPSG:")
    code: int | str = int(number) if number.isdigit() else text
    _crs_info(code)  # an unknown CRS: CRSError
    x, y = np.asarray(x, float), np.asarray(y, float)
    lon, lat = to_lonlat(x, y, code, exact=True)
    return fit_points(code, lon, lat, locator(boundaries))[0]


def fit_points(code: int | str, lon: np.ndarray, lat: np.ndarray, loc: object | None,
               declared: np.ndarray | None = None) -> tuple[CrsFit, np.ndarray, np.ndarray]:
    """The :class:`CrsFit` of points already placed by CRS ``code``, with each point's
    country (None: none within :data:`TOLERANCE_KM`) and distance to it in km.

    ``loc`` is a country locator (:func:`locator`; None: land not tested); ``declared`` the
    country of each point from the table, if it has a country column.

    Examples
    --------
    >>> fit, country, km = fit_points(4326, np.array([24.9]), np.array([60.2]), None)
    >>> fit.share_valid, fit.share_in_area, country[0]
    (1.0, 1.0, None)
    """
    n = len(lon)
    valid = np.isfinite(lon)
    in_area = float(_in_area(lon, lat, code).sum() / n) if n else math.nan
    country, dist = np.full(n, None, dtype=object), np.full(n, np.nan)
    land, agree = math.nan, math.nan
    if loc is not None and n:
        country, dist = _locate(loc, lon, lat, TOLERANCE_KM)
        land = float((dist <= COAST_KM).sum() / n)
        if declared is not None and (known := np.array([d is not None for d in declared])).any():
            agree = float((country[known] == declared[known]).mean())
    name = _crs_info(code)[0]
    fit = CrsFit(_user_input(code), name, n, float(valid.sum() / n) if n else 0.0, land,
                 country_counts(country), in_area, agree)
    return fit, country, dist


def subsample(ok: np.ndarray, k: int) -> np.ndarray:
    """At most ``k`` indices of the true entries of ``ok``, evenly spread (deterministic).

    Examples
    --------
    >>> subsample(np.array([True, False, True, True, True]), 2)
    array([0, 4])
    """
    idx = np.flatnonzero(ok)
    if len(idx) <= k:
        return idx
    return np.asarray(idx[np.unique(np.linspace(0, len(idx) - 1, k).round().astype(int))])


def _major_prefix(x: np.ndarray) -> int:
    """The zone number written before the eastings (millions), when 90 % share one."""
    prefix = np.floor(x[np.isfinite(x)] / 1e6)
    vals, cnt = np.unique(prefix, return_counts=True)
    return int(vals[np.argmax(cnt)]) if len(vals) and cnt.max() >= 0.9 * cnt.sum() else 0


def _trials(x: np.ndarray, y: np.ndarray, codes: list[Zone], major: int) -> dict[
        int, tuple[np.ndarray, np.ndarray]]:
    """Longitude/latitude of the points under each of ``codes``.

    Zones of one system differ only by their central meridian: one transformation per system
    places the points for all its zones (on the system's own datum). Surveys may extend far
    beyond their zone's band (the Baltic Soil Survey in UTM 35N reaches Norway): points are
    dropped only beyond 40 degrees from the central meridian.
    """
    out: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    base: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for z in codes:
        if z.rep is None:
            out[z.code] = to_lonlat(x, y, z.code)
            continue
        key = f"{z.family}:{bool(z.prefix)}"
        if key not in base:
            lon, lat = to_lonlat(x - major * 1e6 if z.prefix else x, y, z.rep.code)
            dlon = (lon - z.rep.lon0 + 180) % 360 - 180
            bad = ~(np.abs(dlon) <= _MAX_DLON) | ~(lat * z.hemisphere >= -1)
            base[key] = (np.where(bad, np.nan, dlon), np.where(bad, np.nan, lat))
        dlon, lat = base[key]
        out[z.code] = ((dlon + z.lon0 + 180) % 360 - 180, lat)
    return out


def _candidates(x: np.ndarray, y: np.ndarray, hints: CrsHints, major: int) -> list[Zone]:
    """The catalogue's CRSs worth trying: degrees are only tried as longitude/latitude (and
    as CRSs the names give), metres never; values all within 10 km of 0 (a local grid, or
    km: no survey lies at the false origin of a projected CRS) only as CRSs the names give;
    zones with a prefix only for the eastings' one."""
    degrees = is_degrees(x, y)
    local = not degrees and max(np.nanmax(np.abs(x)), np.nanmax(np.abs(y))) < 1e4
    out = []
    for z in catalogue():
        if z.family == "lonlat" and not degrees:
            continue
        if (degrees or local) and z.family != "lonlat" and z.code not in hints.codes:
            continue
        if z.prefix and z.prefix != major:
            continue
        out.append(z)
    return out


def _land_shares(trials: dict[int, tuple[np.ndarray, np.ndarray]], idx: np.ndarray,
                 loc: object) -> dict[int, float]:
    """Share of the points ``idx`` on land per CRS, all CRSs located in one call (points the
    CRS cannot place are left out; a CRS placing none scores 0)."""
    codes = list(trials)
    if not codes:
        return {}
    lon = np.concatenate([trials[c][0][idx] for c in codes])
    lat = np.concatenate([trials[c][1][idx] for c in codes])
    _country, dist = _locate(loc, lon, lat, COAST_KM)
    on = (dist <= COAST_KM).reshape(len(codes), len(idx))
    valid = np.isfinite(lon).reshape(len(codes), len(idx)).sum(axis=1)
    return {c: float(on[i].sum() / valid[i]) if valid[i] else 0.0 for i, c in enumerate(codes)}


def _around(x: np.ndarray, y: np.ndarray, zones: list[Zone], major: int, loc: object) -> dict[
        int, float]:
    """Share on land of the points moved by half the survey's extent in 8 directions.

    A survey follows the land: placed right, its points are on land while the same pattern
    moved a little is partly in the sea or off the country (a coast or a border it follows);
    placed wrong on a large landmass, moving it changes nothing. The difference is evidence
    where the share on land alone cannot tell zones apart (Kola on the Barents coast, or in
    Siberia six zones east)."""
    idx = subsample(np.ones(len(x), bool), 50)
    xs, ys = x[idx], y[idx]
    d = 0.5 * max(float(np.ptp(xs)), float(np.ptp(ys)))
    if not len(zones) or d == 0:
        return {}
    moved: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {z.code: [] for z in zones}
    for a in np.arange(8) * np.pi / 4:
        for code, ll in _trials(xs + d * np.cos(a), ys + d * np.sin(a), zones, major).items():
            moved[code].append(ll)
    trials = {c: (np.concatenate([m[0] for m in v]), np.concatenate([m[1] for m in v]))
              for c, v in moved.items()}
    return _land_shares(trials, np.arange(8 * len(idx)), loc)


def _score(fit: CrsFit, zone: Zone, hints: CrsHints) -> float:
    """Land first (a survey has next to no points in the sea: each point off land costs ten
    times what one on land gains), plus how much more land than around (:func:`_around`);
    then what the columns name, the country column, and a preference for a national grid
    whose (small) area of use holds the points. A projected CRS placing the points on
    Antarctica (where any wrong southern UTM zone lands on ice) loses a little."""
    land = 0.0 if math.isnan(fit.share_on_land) else fit.share_on_land
    score = land - _OFF_LAND * (1 - land) + hinted(zone, hints)
    if not math.isnan(fit.share_around):
        score += max(0.0, land - fit.share_around)
    if not math.isnan(fit.share_agreeing):
        score += 0.5 * fit.share_agreeing
    if not math.isnan(fit.share_in_area):
        score += {"grid": 0.1, "lonlat": 0.0}.get(zone.family, 0.02) * fit.share_in_area
    if fit.countries and zone.family != "lonlat":  # projected surveys of the ice cap are rare
        score -= 0.2 * fit.countries.get("AQ", 0) / fit.n
    return score


def _preference(zone: Zone, fit: CrsFit) -> float:
    """Among CRSs that fit about equally: longitude/latitude, national grids, UTM, then
    Gauss-Krüger (CGCS2000 before UTM for points in China)."""
    total = sum(fit.countries.values())
    home = total and sum(fit.countries.get(c, 0) for c in zone.home) >= 0.9 * total
    return 1.5 if home else zone.order + (GRID_ORDER.index(zone.code) / 100
                                          if zone.code in GRID_ORDER else 0.0)


def _screen(xs: np.ndarray, ys: np.ndarray, zones: dict[int, Zone], hints: CrsHints,
            major: int, loc: object, keep: int) -> tuple[list[int], dict[int, float]]:
    """The ``keep`` likeliest CRSs, and the land around the points for each (see
    :func:`rank_crs`). CRSs placing the points within ~20 km of each other (a UTM zone and
    the Gauss-Kruger zone of the same meridian) are tested once, as twins."""
    trials = _trials(xs, ys, list(zones.values()), major)
    for c, (lon, lat) in list(trials.items()):  # national and Gauss-Kruger grids at home
        z = zones[c]
        if (z.region and _in_box(lon, lat, z.region).mean() < 0.5) or (
                z.family == "grid" and _in_area(lon, lat, c).mean() < 0.5):
            del trials[c]
    twin = _twins(trials, zones)
    unique = {c: t for c, t in trials.items() if twin[c] == c}
    if not unique:
        return [], {}
    first = _land_shares(unique, subsample(np.ones(len(xs), bool), _SCREEN), loc)
    top = max(first.values(), default=0.0)
    bonus = {c: max(hinted(zones[t], hints) for t in trials if twin[t] == c) for c in unique}
    good = [c for c in unique if first[c] >= max(0.5, top - 0.2) or bonus[c]]
    if not good:  # nothing fits: the best few, to say so
        good = sorted(unique, key=lambda c: -first[c])[:3]
    good = sorted(good, key=lambda c: -(first[c] + bonus[c]))[:24]
    second = _land_shares({c: unique[c] for c in good}, np.arange(len(xs)), loc)
    top = max(second.values())
    near = [c for c in good if second[c] >= top - 0.05 or bonus[c]]
    near = sorted(near, key=lambda c: -(second[c] + bonus[c]))[:16]
    around = _around(xs, ys, [zones[c] for c in near], major, loc)
    prelim = {}
    for c in (t for t in trials if twin[t] in second):
        area = float(_in_area(*trials[c], c).mean()) if zones[c].family == "grid" else 1.0
        fit = CrsFit(f"EPSG:{c}", "", len(xs), 1.0, second[twin[c]], share_in_area=area,
                     share_around=around.get(twin[c], math.nan))
        prelim[c] = _score(fit, zones[c], hints)
    around = {c: around[twin[c]] for c in prelim if twin[c] in around}
    return sorted(prelim, key=lambda c: (-prelim[c], zones[c].order))[:keep], around


def _twins(trials: dict[int, tuple[np.ndarray, np.ndarray]], zones: dict[int, Zone]
           ) -> dict[int, int]:
    """For each CRS, the first (preferred) CRS placing the points at the same place."""
    reps: list[tuple[int, float, float]] = []
    twin = {}
    for c in sorted(trials, key=lambda c: (zones[c].order, c)):
        lon, lat = trials[c]
        if not np.isfinite(lon).any():
            twin[c] = c
            continue
        a, b = float(np.nanmedian(lon)), float(np.nanmedian(lat))
        twin[c] = next((r for r, ra, rb in reps if abs(ra - a) < 0.2 and abs(rb - b) < 0.2), c)
        if twin[c] == c:
            reps.append((c, a, b))
    return twin


def _in_box(lon: np.ndarray, lat: np.ndarray, box: tuple[float, float, float, float]
            ) -> np.ndarray:
    w, s, e, n = box
    in_lon = (lon >= w) & (lon <= e) if w <= e else (lon >= w) | (lon <= e)
    return in_lon & (lat >= s) & (lat <= n)


def rank_crs(
    x: np.ndarray,
    y: np.ndarray,
    boundaries: Path | None,
    hints: CrsHints | None = None,
    *,
    limit: int = 8,
) -> list[CrsFit]:
    """Rank the candidate CRSs of :func:`candidate_crs` for the points ``x``/``y``, best first.

    A deterministic subsample of at most 300 points is placed with every candidate (the
    zones of one system at once; each CRS on its own datum, within a few hundred metres of
    WGS84). A coarse land test on 40 points keeps the likely CRSs; for those, the share on
    land of all 300 points and of the same pattern moved by half its extent (the land
    "around") are measured, and the best ``limit`` are evaluated on all 300 points.
    The score is the share on land, plus how much it exceeds the share around, plus bonuses
    for a CRS the column names point to (``hints``), for agreement with the table's country
    column and, slightly, for a national grid holding the points in its area of use. CRSs
    within 0.03 of the best score are ordered by preference (longitude/latitude, national
    grids, UTM, Gauss-Krüger). Without ``boundaries`` only longitude/latitude and the CRSs
    named by ``hints`` are ranked, by their area of use.

    Parameters
    ----------
    x, y : numpy.ndarray
        Coordinates as written in the table.
    boundaries : Path, optional
        Natural Earth admin-0 countries.
    hints : CrsHints, optional
        What the column names and the table's country column say.
    limit : int
        Number of CRSs returned.

    Returns
    -------
    list of CrsFit
        Fits on the subsample, with their ``score``.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.read_csv("bss/bsstop.csv")
    >>> fits = rank_crs(d.XCOO.to_numpy(), d.YCOO.to_numpy(),
    ...                 Path("boundaries/ne_10m_admin_0_countries_deu.geojson"))
    >>> fits[0].crs, fits[0].share_on_land > 0.95, list(fits[0].countries)[:3]
    ('EPSG:32635', True, ['FI', 'SE', 'NO'])
    """
    hints = hints or CrsHints()
    x, y = np.asarray(x, float), np.asarray(y, float)
    idx = subsample(np.isfinite(x) & np.isfinite(y), _SAMPLE)
    if not len(idx):
        return []
    xs, ys = x[idx], y[idx]
    declared = hints.countries[idx] if hints.countries is not None else None
    major = _major_prefix(xs)
    zones = {z.code: z for z in _candidates(xs, ys, hints, major)}
    loc = locator(boundaries)
    around: dict[int, float] = {}
    if loc is None:
        keep = [c for c in zones if zones[c].family == "lonlat" or c in hints.codes]
    else:
        keep, around = _screen(xs, ys, zones, hints, major, loc, max(limit, 8))
    fits = []
    for c in keep:
        lon, lat = to_lonlat(xs, ys, c)
        fit = fit_points(c, lon, lat, loc, declared)[0]
        fit = replace(fit, share_around=around.get(c, math.nan))
        fits.append(replace(fit, score=round(_score(fit, zones[c], hints), 6)))
    best = max((f.score for f in fits), default=0.0)
    fits.sort(key=lambda f: (f.score < best - _TIE, _preference(zones[f.code], f)
                             if f.score >= best - _TIE else 0.0, -f.score, f.code))
    return fits[:limit]


def candidate_crs() -> list[str]:
    """Every CRS :func:`rank_crs` tries, as ``"EPSG:<code>"``.

    WGS84 longitude/latitude; UTM zones north and south (WGS84; ETRS89, NAD83 and GDA MGA
    zones are the same to within a metre or two and are named in the evidence); CGCS2000 and
    Pulkovo 1942 Gauss-Krüger zones, with and without the zone number before the easting;
    Irish Grid, ITM, British National Grid, RD New, ETRS89-LAEA Europe, Conus Albers, Swiss
    LV95 and LV03.

    Examples
    --------
    >>> codes = candidate_crs()
    >>> "EPSG:32635" in codes and "EPSG:2157" in codes and "EPSG:4513" in codes
    True
    """
    return [f"EPSG:{z.code}" for z in catalogue()]
