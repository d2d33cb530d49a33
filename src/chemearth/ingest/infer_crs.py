"""Coordinates of a survey table and their CRS, inferred with evidence (``describe``).

:func:`coordinate_candidates` finds column pairs that look like coordinates (by their names,
e.g. ``lon``/``lat``, ``E32wgs``/``N32wgs``, ``DDE``/``DDN``, ``X_ITM``/``Y_ITM``, or by their
values); :func:`rank_crs` tries the candidate CRSs on them and :func:`propose_coordinates`
writes the best with its evidence: the share of points on land, the countries they fall in
and the runner-up. A CRS is proposed only when it puts at least :data:`MIN_ON_LAND` of the
points on land; local grids (a survey's own km grid) cannot be transformed and are left to
the user. :func:`spread_warning` is ingest's check of points located without declared
countries. The ranking is in :mod:`chemearth.ingest.crs_rank`, the CRS catalogue, column
names and continents in :mod:`chemearth.ingest.crs_catalogue`; :class:`CrsFit`,
:func:`evaluate_crs`, :func:`rank_crs` and :func:`candidate_crs` are importable from here.

Examples
--------
>>> from chemearth.ingest.descriptor import Source
>>> from chemearth.ingest.readers import read_table
>>> raw = read_table("kola/chorizon.csv", Source())
>>> coordinate_candidates(raw, raw.table.column_names)
[('XCOO', 'YCOO')]
>>> p = propose_coordinates(raw, raw.table.column_names,
...                         Path("boundaries/ne_10m_admin_0_countries_deu.geojson"))
>>> p.crs, p.countries
('EPSG:32635', ('RU', 'FI', 'NO'))
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from chemearth.ingest.crs_catalogue import (
    COUNTRY_COLUMN,
    CrsHints,
    aliases_of,
    continent_counts,
    equivalent_code,
    name_pairs,
)
from chemearth.ingest.crs_rank import (
    COAST_KM,
    TOLERANCE_KM,
    CrsFit,
    candidate_crs,
    country_counts,
    evaluate_crs,
    fit_points,
    is_degrees,
    locator,
    rank_crs,
    subsample,
    to_lonlat,
)
from chemearth.ingest.readers import RawTable

__all__ = [
    "MIN_ON_LAND",
    "CoordinateProposal",
    "CrsFit",
    "CrsHints",
    "candidate_crs",
    "coordinate_candidates",
    "evaluate_crs",
    "numeric_range",
    "propose_coordinates",
    "rank_crs",
    "spread_warning",
]

#: Share of the points a CRS must put on land to be proposed.
MIN_ON_LAND = 0.8
_ALL = 20_000  # most points located for the proposed CRS (its countries)
_DECIDE = 0.05  # a runner-up this close in another country makes the CRS a decision


@dataclass
class CoordinateProposal:
    """The ``[coordinates]`` proposed for a table, with the evidence for it.

    ``x``/``y`` are empty when no coordinate columns were found; ``crs`` is empty when no
    CRS fits (then ``decisions`` says what the user must decide). ``countries`` are the
    alpha-2 codes where the points fall (for ``[dataset].countries``).
    """

    x: str = ""
    y: str = ""
    crs: str = ""
    comments: list[str] = field(default_factory=list)
    countries: tuple[str, ...] = ()
    decisions: list[str] = field(default_factory=list)

    @property
    def used(self) -> set[str]:
        """The columns taken as coordinates."""
        return {c for c in (self.x, self.y) if c and c != "geometry"}


def numeric_range(raw: RawTable, col: str) -> tuple[float, float]:
    """(min, max) of a numeric column; NaN when the column is not numeric or empty.

    Examples
    --------
    >>> from chemearth.ingest.descriptor import Source
    >>> from chemearth.ingest.readers import read_table
    >>> numeric_range(read_table("meuse/meuse.csv", Source()), "x")
    (178605.0, 181390.0)
    """
    arr = raw.table.column(col)
    if not (pa.types.is_floating(arr.type) or pa.types.is_integer(arr.type)):
        return (np.nan, np.nan)
    v = arr.to_numpy(zero_copy_only=False).astype(float)
    if not np.isfinite(v).any():
        return (np.nan, np.nan)
    return float(np.nanmin(v)), float(np.nanmax(v))


def _values(raw: RawTable, col: str) -> np.ndarray | None:
    """A column as floats (text columns of numbers too, as ingest reads attributes); None
    when it holds no numbers."""
    arr = raw.table.column(col)
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        try:
            arr = pc.cast(pc.utf8_trim_whitespace(arr), pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None
    if not (pa.types.is_floating(arr.type) or pa.types.is_integer(arr.type)):
        return None
    v = np.asarray(arr.to_numpy(zero_copy_only=False), dtype=float)
    return v if np.isfinite(v).sum() >= max(1, 0.3 * len(v)) else None


def _looks_like(v: np.ndarray) -> str:
    """"deg", "m" or "" for one column's values (range-only candidates)."""
    f = v[np.isfinite(v)]
    if len(f) < 3 or np.ptp(f) == 0 or len(np.unique(f)) < 0.5 * len(f):
        return ""
    if np.abs(f).max() <= 180 and (f != np.round(f)).mean() >= 0.5:
        return "deg"
    if np.median(np.abs(f)) >= 1e4 and np.abs(f).max() < 1e8:
        return "m"
    return ""


def coordinate_candidates(
    raw: RawTable, names: list[str], *, by_range: bool = True
) -> list[tuple[str, str]]:
    """Column pairs ``(x, y)`` of ``raw`` that look like coordinates, the likeliest first.

    Pairs named alike (``lon``/``lat``, ``E32wgs``/``N32wgs``, ``DDE``/``DDN``, ``mE``/``mN``,
    ``X_ITM``/``Y_ITM``, ``EASTING_IG``/``NORTHING_IG``, ``Xcoord``/``Ycoord``,
    ``UTM_E``/``UTM_N``...) come first, longitude/latitude names before the others; then,
    with ``by_range``, neighbouring unnamed columns whose values look like degrees or metres.
    Element columns (``Se``/``Sn``) are never taken.

    Parameters
    ----------
    raw : RawTable
        The table as read.
    names : list of str
        The columns to consider.
    by_range : bool
        Also propose pairs recognised by their values only.

    Returns
    -------
    list of (str, str)

    Examples
    --------
    >>> from chemearth.ingest.descriptor import Source
    >>> from chemearth.ingest.readers import read_table
    >>> coordinate_candidates(read_table("gemas/gemas.csv", Source()), ["COUNTRY", "longitude",
    ...                       "latitude", "Xcoord", "Ycoord", "Al"])
    [('longitude', 'latitude'), ('Xcoord', 'Ycoord')]
    """
    cols = _Columns(raw)
    out: list[tuple[str, str]] = []
    for family, x, y in name_pairs(names):
        vx, vy = cols.get(x), cols.get(y)
        if vx is None or vy is None or cols.analyte(x) or cols.analyte(y):
            continue
        if family == "lonlat" and not is_degrees(vx, vy):
            continue
        if len(vx) > 1 and np.nanmax(vx) == np.nanmin(vx) and np.nanmax(vy) == np.nanmin(vy):
            continue
        if all(x not in p and y not in p for p in out):
            out.append((x, y))
    if not by_range:
        return out
    taken = {c for p in out for c in p}
    kinds = {c: "" if c in taken or cols.analyte(c) else cols.kind(c) for c in names}
    ranged: list[tuple[str, str]] = []
    for a, b in itertools.pairwise(names):
        if kinds[a] and kinds[a] == kinds[b]:
            va, vb = cols.get(a), cols.get(b)
            for p, q, vp, vq in ((a, b, va, vb), (b, a, vb, va)):
                if kinds[a] == "m" or (vp is not None and vq is not None and is_degrees(vp, vq)):
                    ranged.append((p, q))
    return out + ranged[:6]


class _Columns:
    """The numeric values of a table's columns, read once, and what they look like."""

    def __init__(self, raw: RawTable) -> None:
        self.raw = raw
        self.values: dict[str, np.ndarray | None] = {}

    def get(self, c: str) -> np.ndarray | None:
        if c not in self.values:
            self.values[c] = _values(self.raw, c)
        return self.values[c]

    @staticmethod
    def analyte(c: str) -> bool:
        from chemearth.reference.names import recognise_column

        g = recognise_column(c)
        return g is not None and g.confidence >= 0.9

    def kind(self, c: str) -> str:
        v = self.get(c)
        return "" if v is None else _looks_like(v)


def _hints_for(raw: RawTable, x: str, y: str) -> CrsHints:
    """What the column names and a country column say about the CRS of ``x``/``y``."""
    from chemearth.errors import DescriptorError
    from chemearth.reference.countries import to_alpha2

    hints = CrsHints.from_names(x, y)
    col = next((c for c in raw.table.column_names if COUNTRY_COLUMN.match(c)), "")
    if not col:
        return hints
    text = pc.cast(raw.table.column(col), pa.string()).to_pylist()
    values = {v.strip() for v in text if v and v.strip()}
    for scheme in (None, "gemas"):
        mapping: dict[str, str] = {}
        for v in values:
            try:
                mapping[v] = to_alpha2(v, scheme)
            except DescriptorError:
                continue
        if values and len(mapping) >= 0.9 * len(values):
            declared = np.array([mapping.get((v or "").strip()) for v in text], dtype=object)
            return CrsHints(hints.codes, hints.families, hints.zone, hints.datum,
                            hints.degrees, declared, col)
    return hints


def _strays(country: np.ndarray, dist: np.ndarray, lon: np.ndarray, lat: np.ndarray,
            counts: dict[str, int], loc: object) -> dict[str, int]:
    """Countries holding only stray points: every point outside the country within
    :data:`TOLERANCE_KM` of another proposed country, or inside it within :data:`COAST_KM` of
    another's border (the generalised 1:10m borders put them there: the Meuse floodplain
    survey runs along the Dutch-Belgian border river, and 38 of its Dutch sites fall in
    Belgium at that scale). The country holding most points is never a stray."""
    main = max(counts, key=lambda k: (counts[k], k))
    out: dict[str, int] = {}
    for c in sorted(counts, key=lambda k: (counts[k], k)):
        rows = np.flatnonzero(country == c)
        inside = dist[rows] == 0
        if c == main:
            continue
        box = (lon[rows].min() - 1, lon[rows].max() + 1, lat[rows].min() - 1, lat[rows].max() + 1)
        near = np.full(len(rows), np.inf)
        for o in counts:
            if o == c or o in out:
                continue
            mine = country == o
            if (lon[mine].max() < box[0] or lon[mine].min() > box[1]
                    or lat[mine].max() < box[2] or lat[mine].min() > box[3]):
                continue  # no point of the other country nearby: too far to matter
            d = loc.distance_to_country(lon[rows], lat[rows], o)  # type: ignore[attr-defined]
            near = np.fmin(near, d)
        if ((~inside & (near <= TOLERANCE_KM)) | (inside & (near <= COAST_KM))).all():
            out[c] = counts[c]
    return out


def _range_text(name: str, v: np.ndarray) -> str:
    return f"{name} {np.nanmin(v):g}..{np.nanmax(v):g}" if np.isfinite(v).any() else name


def _propose_pair(raw: RawTable, x: str, y: str, boundaries: Path | None
                  ) -> CoordinateProposal:
    """The proposal for one column pair: its best CRS with the evidence, or a decision."""
    vx, vy = _values(raw, x), _values(raw, y)
    if vx is None or vy is None:
        return CoordinateProposal()
    hints = _hints_for(raw, x, y)
    fits = rank_crs(vx, vy, boundaries, hints, limit=40)  # ties elsewhere must show
    loc = locator(boundaries)
    ranges = f"{_range_text(x, vx)}, {_range_text(y, vy)}"
    best = fits[0] if fits else None
    if loc is None:
        return _without_land(x, y, best, hints, ranges)
    if best is None or best.share_on_land < MIN_ON_LAND:
        tried = f" (best: {best.summary()})" if best and best.share_valid > 0 else ""
        why = ("they look like a local grid (a survey's own km or m) or a CRS in km"
               if _local(vx, vy) else "check the columns (x and y swapped?) and their units")
        return CoordinateProposal(
            x, y, "", [f"no supported CRS puts {MIN_ON_LAND:.0%} of the points on land{tried}"],
            _declared_countries(hints),
            [f"set [coordinates].crs for {x}/{y} ({ranges}): no supported CRS puts at least "
             f"{MIN_ON_LAND:.0%} of the points on land{tried}; {why}. A local grid cannot be "
             "transformed: give the survey's CRS, or add longitude/latitude columns"])
    code = equivalent_code(best.code, hints, best.countries)
    ok = np.isfinite(vx) & np.isfinite(vy)
    idx = subsample(ok, _ALL)
    lon, lat = to_lonlat(vx[idx], vy[idx], code, exact=True)
    full, country, dist = fit_points(code, lon, lat, loc)
    full = replace(full, share_around=best.share_around)
    strays = _strays(country, dist, lon, lat, full.countries, loc)
    kept = tuple(c for c in full.countries if c not in strays)
    more = f" (a subsample of the {int(ok.sum())})" if len(idx) < ok.sum() else ""
    comments = [full.summary() + more,
                "countries: " + ", ".join(f"{c} {k}" for c, k in full.countries.items())]
    if strays:
        comments.append("left out of [dataset].countries: " + ", ".join(
            f"{c} ({k} point{'s' * (k > 1)})" for c, k in strays.items())
            + f": stray points within {TOLERANCE_KM:g} km of another country's border")
    said, decisions = _runner_up(fits, best, code, x, y)
    comments += said + hints.describe() + aliases_of(code)
    return CoordinateProposal(x, y, f"EPSG:{code}", comments, kept, decisions)


def _runner_up(fits: list[CrsFit], best: CrsFit, code: int, x: str, y: str) -> tuple[
        list[str], list[str]]:
    """Evidence about the runner-up, and a decision when it fits about as well in another
    country (a small survey can land in the Netherlands with RD New and in Ireland with the
    Irish Grid)."""
    others = [f for f in fits if f.code not in (best.code, code)]
    if not others:
        return [("the values are degrees: only longitude/latitude was tried" if best.code == 4326
                 else "no other candidate CRS was worth testing")], []
    ru = others[0]
    said = [f"runner-up: {ru.summary()}"]
    if ru.countries:
        said[0] += " in " + ", ".join(f"{c} {k}" for c, k in list(ru.countries.items())[:4])
    close = [f for f in others
             if best.score - f.score < _DECIDE and f.share_on_land >= MIN_ON_LAND]
    top = next(iter(best.countries), "")
    elsewhere = next((f for f in close if next(iter(f.countries), "") != top), None)
    if elsewhere is not None:  # not only the runner-up: any CRS about as good, elsewhere
        return said, [f"confirm [coordinates].crs for {x}/{y}: {best.name} ({best.crs}) and "
                      f"{elsewhere.name} ({elsewhere.crs}) both put the points on land, in "
                      "different countries (see the evidence there)"]
    if close:
        said.append("the runner-up places the points in the same countries about as well")
    return said, []


def _local(vx: np.ndarray, vy: np.ndarray) -> bool:
    span = max(np.nanmax(vx) - np.nanmin(vx), np.nanmax(vy) - np.nanmin(vy))
    small = np.nanmax(np.abs(np.r_[vx, vy])) < 1e4
    return bool(small or (span < 1e3 and not is_degrees(vx, vy)))


def _declared_countries(hints: CrsHints) -> tuple[str, ...]:
    if hints.countries is None:
        return ()
    return tuple(country_counts(hints.countries))


def _without_land(x: str, y: str, best: CrsFit | None, hints: CrsHints,
                  ranges: str) -> CoordinateProposal:
    """No boundaries: propose only longitude/latitude or a CRS the column names give."""
    note = "land could not be tested (no country boundaries given)"
    countries = _declared_countries(hints)
    if countries:
        note += f"; countries from column {hints.country_column}"
    named = best is not None and (best.code in hints.codes or (
        best.code == 4326 and (hints.degrees or "en" in hints.families)))
    if best is not None and named and best.share_in_area >= MIN_ON_LAND:
        why = ("the columns are named as longitude/latitude" if best.code == 4326
               else "the column names give this CRS")
        return CoordinateProposal(x, y, best.crs, [f"{best.name} ({best.crs}): {why}; "
                                                   f"{best.share_in_area:.0%} of the points "
                                                   "inside its area of use", note,
                                                   *aliases_of(best.code)], countries)
    return CoordinateProposal(x, y, "", [note], countries, [
        f"set [coordinates].crs for {x}/{y} ({ranges}): no CRS was inferred ({note})"])


def propose_coordinates(
    raw: RawTable, names: list[str], boundaries: Path | None = None
) -> CoordinateProposal:
    """Find the coordinate columns of ``raw`` and the CRS they are written in.

    Every candidate pair of :func:`coordinate_candidates` is ranked (:func:`rank_crs`); the
    first pair whose best CRS puts :data:`MIN_ON_LAND` of its points on land is proposed,
    with the evidence as comments and the countries where the points fall. When none fits,
    the first pair is proposed without a CRS and ``decisions`` says why.

    Parameters
    ----------
    raw : RawTable
        The table as read.
    names : list of str
        Its column names (without internal ``__`` columns), analytes included.
    boundaries : Path, optional
        Natural Earth admin-0 countries, to test where the points land.

    Returns
    -------
    CoordinateProposal

    Examples
    --------
    >>> from chemearth.ingest.descriptor import Source
    >>> from chemearth.ingest.readers import read_table
    >>> p = propose_coordinates(read_table("jura/jura_pred_val.csv", Source()),
    ...                         ["Xloc", "Yloc", "Cd"])
    >>> p.crs, p.decisions[0][:41]
    ('', 'set [coordinates].crs for Xloc/Yloc (Xloc')
    """
    if "__easting" in raw.table.column_names:
        return _geometry(raw, boundaries)
    tried = []
    for x, y in coordinate_candidates(raw, names, by_range=False):
        proposal = _propose_pair(raw, x, y, boundaries)
        if proposal.crs:
            return proposal
        tried.append(proposal)
    if tried:
        return tried[0]
    for x, y in coordinate_candidates(raw, names)[:6]:  # by their values only
        proposal = _propose_pair(raw, x, y, boundaries)
        if proposal.crs and not proposal.decisions:
            return proposal
    return CoordinateProposal()


def _geometry(raw: RawTable, boundaries: Path | None) -> CoordinateProposal:
    crs = raw.crs or "EPSG:4326"
    out = CoordinateProposal("geometry", "geometry", crs)
    if boundaries is None or not crs.upper().startswith("EPSG:"):
        return out
    x = raw.table.column("__easting").to_numpy(zero_copy_only=False).astype(float)
    y = raw.table.column("__northing").to_numpy(zero_copy_only=False).astype(float)
    idx = subsample(np.isfinite(x) & np.isfinite(y), _ALL)
    fit = evaluate_crs(x[idx], y[idx], crs, boundaries)
    out.comments = [f"the file's own CRS: {fit.summary()}",
                    "countries: " + ", ".join(f"{c} {k}" for c, k in fit.countries.items())]
    out.countries = tuple(fit.countries)
    return out


def spread_warning(counts: dict[str, int], tolerance_km: float = TOLERANCE_KM) -> str:
    """A warning when freely located points spread implausibly, else ``""``.

    ``counts`` are points per country (alpha-2), with ``""`` for points farther than
    ``tolerance_km`` from any country. Implausible: at least 5 % of the points off land, or
    two or more continents each holding at least 5 % of them.

    Examples
    --------
    >>> spread_warning({"FI": 300, "NO": 290})
    ''
    >>> spread_warning({"US": 500, "FI": 400, "": 3})[:51]
    'the points were located without [dataset].countries'
    """
    total = sum(counts.values())
    if not total:
        return ""
    off = counts.get("", 0)
    continents = continent_counts({c: k for c, k in counts.items() if c})
    big = {c: k for c, k in continents.items() if k >= 0.05 * total}
    if off < 0.05 * total and len(big) < 2:
        return ""
    parts = []
    if off >= 0.05 * total:
        parts.append(f"{off} of {total} points ({off / total:.0%}) lie more than "
                     f"{tolerance_km:g} km from any country")
    if len(big) >= 2:
        parts.append(f"they fall on {len(big)} continents ("
                     + ", ".join(f"{c} {k}" for c, k in big.items()) + ")")
    return ("the points were located without [dataset].countries and spread implausibly: "
            + "; ".join(parts) + ": check [coordinates].crs (`chemearth describe` proposes "
            "one with its evidence), then set [dataset].countries")
