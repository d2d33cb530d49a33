"""What :mod:`chemearth.ingest.infer_crs` knows: candidate CRSs, coordinate column names,
the hints names carry, and the continents of the world's countries.

The candidate CRSs (:func:`catalogue`) are WGS84 longitude/latitude, the 120 UTM zones on
WGS84, the CGCS2000 and Pulkovo 1942 Gauss-Krüger zones (with and without the zone number
written before the easting) and single national grids. Codes that give the same coordinates
to within a metre or two (ETRS89 and NAD83 UTM, GDA MGA, TM65 Irish Grid) are not tried
separately: :func:`equivalent_code` picks one when the names or the countries say so, and
:func:`aliases_of` names the others in the evidence.

Examples
--------
>>> [z.code for z in catalogue()][:3]
[4326, 28992, 27700]
>>> name_pairs(["ID", "E32wgs", "N32wgs", "Cu"])
[('en', 'E32wgs', 'N32wgs')]
>>> CrsHints.from_names("E32wgs", "N32wgs").zone
32
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

__all__ = [
    "ALIASES",
    "CONTINENTS",
    "COUNTRY_COLUMN",
    "GRIDS",
    "GRID_ORDER",
    "CrsHints",
    "Zone",
    "aliases_of",
    "catalogue",
    "continent_counts",
    "equivalent_code",
    "hinted",
    "name_pairs",
]

#: Names of a country column (as ``describe`` recognises them).
COUNTRY_COLUMN = re.compile(r"^(country|coun|iso|iso_?a[23]|nation)$", re.I)

#: Single national grids tried: (EPSG code, words in column names that name it).
GRIDS: dict[int, tuple[str, ...]] = {
    28992: ("rd", "rdnew", "amersfoort"),
    27700: ("bng", "osgb", "osgb36", "britishgrid"),
    2157: ("itm", "irenet95"),
    29903: ("ig", "irishgrid", "ing", "tm75", "tm65"),
    3035: ("laea", "etrslaea"),
    5070: ("albers", "aea", "conus"),
    2056: ("lv95", "ch1903plus", "mn95"),
    21781: ("lv03", "ch1903", "mn03"),
}
#: National grids in order of preference when two fit equally (a tiny survey can land in
#: both the Netherlands with RD New and Ireland with the Irish Grid: that is then a decision).
GRID_ORDER = tuple(GRIDS)

_FAMILY_ORDER = {"lonlat": 0, "grid": 1, "utm": 2, "utm-s": 2, "gk-cgcs2000": 3, "gk-pulkovo": 4}


@dataclass(frozen=True)
class Zone:
    """One candidate CRS.

    ``family`` is ``lonlat``, ``grid``, ``utm``, ``utm-s``, ``gk-cgcs2000`` or ``gk-pulkovo``;
    zone CRSs give their central meridian ``lon0`` and ``prefix``, the zone number written
    before the easting (millions; 0 for none). ``rep`` is the zone of the same system that
    places the points for all of them (zones differ only by their central meridian).
    """

    code: int
    family: str
    lon0: float = 0.0
    prefix: int = 0
    rep: Zone | None = None
    home: tuple[str, ...] = ()
    #: (west, south, east, north) where the system is used; west > east crosses 180 degrees
    region: tuple[float, float, float, float] | None = None

    @property
    def hemisphere(self) -> int:
        """-1 for the southern UTM zones, else 1."""
        return -1 if self.family == "utm-s" else 1

    @property
    def order(self) -> int:
        """Preference among CRSs that fit equally well (lower first)."""
        return _FAMILY_ORDER[self.family]

    @property
    def number(self) -> int:
        """The UTM zone number (0 for other CRSs)."""
        return self.code % 100 if self.family.startswith("utm") else 0


def _wrap(lon: float) -> float:
    return (lon + 180) % 360 - 180


@functools.cache
def catalogue() -> tuple[Zone, ...]:
    """Every candidate CRS (checked against pyproj's database by the tests).

    Examples
    --------
    >>> z = {z.code: z for z in catalogue()}
    >>> z[4513].lon0, z[4513].prefix, z[28405].lon0, z[2522].lon0
    (75, 25, 27, -171)
    """
    out = [Zone(4326, "lonlat"), *(Zone(c, "grid") for c in GRIDS)]
    north, south = Zone(32631, "utm", 3), Zone(32731, "utm-s", 3)
    out += [Zone(32600 + z, "utm", 6 * z - 183, rep=north) for z in range(1, 61)]
    out += [Zone(32700 + z, "utm-s", 6 * z - 183, rep=south) for z in range(1, 61)]
    cn, home, china = Zone(4502, "gk-cgcs2000", 75), ("CN",), (73.0, 3.0, 136.0, 54.0)
    out += [Zone(4502 + i, "gk-cgcs2000", 75 + 6 * i, 0, cn, home, china) for i in range(11)]
    # the 3-degree CM codes at 75E, 81E... are the 6-degree ones again: only the odd ones
    out += [Zone(4534 + i, "gk-cgcs2000", 75 + 3 * i, 0, cn, home, china)
            for i in range(1, 21, 2)]
    out += [Zone(4491 + i, "gk-cgcs2000", 6 * (13 + i) - 3, 13 + i, cn, home, china)
            for i in range(11)]
    out += [Zone(4513 + i, "gk-cgcs2000", 3 * (25 + i), 25 + i, cn, home, china)
            for i in range(21)]
    pk, ussr = Zone(2494, "gk-pulkovo", 21), (12.0, 35.0, -168.0, 84.0)
    out += [Zone(2494 + i, "gk-pulkovo", _wrap(21 + 6 * i), 0, pk, (), ussr) for i in range(29)]
    out += [Zone(28400 + z, "gk-pulkovo", _wrap(6 * z - 3), z, pk, (), ussr)
            for z in range(4, 33)]
    return tuple(out)


# --------------------------------------------------------------- coordinate column names

_ROLES = {
    "lonlat": (("longitude", "long", "lon", "lng"), ("latitude", "lat")),
    "en": (("eastings", "easting", "east", "e"), ("northings", "northing", "north", "n")),
    "xy": (("x",), ("y",)),
}
_TOKEN = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


def tokens(name: str) -> list[str]:
    """Words of a column name, split at case changes, digits and punctuation, lowercased.

    Examples
    --------
    >>> tokens("E32wgs"), tokens("EASTING_IG"), tokens("mE"), tokens("x_albers")
    (['e', '32', 'wgs'], ['easting', 'ig'], ['m', 'e'], ['x', 'albers'])
    """
    return [t.lower() for t in _TOKEN.findall(name)]


def _keys(name: str, role: int) -> set[tuple[str, str]]:
    """(family, name with the role word blanked) for every way ``name`` can be an x (0) or
    y (1) coordinate: as a word of its own or written at its start or end."""
    low = name.lower()
    toks = tokens(name)
    out = set()
    for family, words in _ROLES.items():
        for w in words[role]:
            for i, t in enumerate(toks):
                if t == w:
                    out.add((family, "t:" + "|".join([*toks[:i], "*", *toks[i + 1 :]])))
            if low.startswith(w):
                out.add((family, "r:*" + low[len(w) :]))
            if low.endswith(w):
                out.add((family, "r:" + low[: -len(w)] + "*"))
    return out


def name_pairs(names: list[str]) -> list[tuple[str, str, str]]:
    """(family, x, y) of column pairs named alike, longitude/latitude first.

    Examples
    --------
    >>> name_pairs(["DDE", "DDN", "mE", "mN", "Latitude", "Longitude"])
    [('lonlat', 'Longitude', 'Latitude'), ('en', 'DDE', 'DDN'), ('en', 'mE', 'mN')]
    """
    xs = [(i, c, _keys(c, 0)) for i, c in enumerate(names)]
    ys = [(c, _keys(c, 1)) for c in names]
    found = []
    for i, x, kx in xs:
        for y, ky in ys:
            common = {f for f, _ in kx & ky}
            if x != y and common:
                fam = min(common, key=list(_ROLES).index)
                found.append((list(_ROLES).index(fam), i, fam, x, y))
    return [(f, x, y) for _, _, f, x, y in sorted(found)]


# -------------------------------------------------------------------- hints from names

_DATUMS = {
    "wgs84": r"wgs_?84|wgs", "etrs89": r"etrs_?89|etrs|euref", "nad83": r"nad_?83",
    "gda2020": r"gda_?2020", "gda94": r"gda_?94", "cgcs2000": r"cgcs_?2000|cgcs",
    "pulkovo": r"pulkovo|sk_?42",
}
_NOT_ZONE = re.compile(r"(wgs|nad|etrs|gda|lv|cgcs|epsg|sk|ch|osgb|(?<!u)tm)_?\d+|19\d\d|20\d\d")


@dataclass(frozen=True)
class CrsHints:
    """What a table says about its CRS besides the values.

    ``codes``: CRSs named by the columns (``X_ITM`` -> 2157); ``families``: systems named
    (``utm``, ``gk``, ``mga``, ``en`` for east/north names); ``zone``: a UTM zone number in
    the names (``E32wgs``); ``datum``; ``degrees``: the columns are named longitude/latitude;
    ``countries``: the alpha-2 country of each row from a country column (or None).
    """

    codes: tuple[int, ...] = ()
    families: tuple[str, ...] = ()
    zone: int | None = None
    datum: str = ""
    degrees: bool = False
    countries: np.ndarray | None = None
    country_column: str = ""

    @classmethod
    def from_names(cls, *names: str) -> CrsHints:
        """The hints carried by coordinate column names.

        Examples
        --------
        >>> h = CrsHints.from_names("X_ITM", "Y_ITM")
        >>> h.codes, CrsHints.from_names("x_albers", "y_albers").codes
        ((2157,), (5070,))
        >>> CrsHints.from_names("UTM_E_33", "UTM_N_33").zone
        33
        """
        words = set()
        for n in names:  # words, and words with the number after them ("lv03", "osgb36")
            toks = tokens(n)
            words |= {*toks, *(a + b for a, b in itertools.pairwise(toks)
                               if b.isdigit() and not a.isdigit())}
        low = " ".join(n.lower() for n in names)
        codes = [c for c, ws in GRIDS.items() if words & set(ws)]
        codes += [int(m) for m in re.findall(r"epsg_?:?(\d{4,5})", low)]
        for m in re.findall(r"(?<!\d)(\d{4,5})(?!\d)", low):
            if int(m) in {z.code for z in catalogue()} or int(m) in ALIASES:
                codes.append(int(m))
        codes = [ALIASES.get(c, c) for c in codes]
        datum = next((d for d, pat in _DATUMS.items() if re.search(pat, low)), "")
        families = [f for f, ws in (("utm", ("utm",)), ("gk", ("gk", "gauss", "kruger")),
                                    ("mga", ("mga",))) if words & set(ws)]
        if any(f == "en" for f, _, _ in name_pairs(list(names))):
            families.append("en")
        zone = None
        numbers = [{int(d) for d in re.findall(r"\d+", _NOT_ZONE.sub(" ", n.lower()))}
                   for n in names]
        shared = set.intersection(*numbers) if numbers else set()
        if len(shared) == 1 and 1 <= (z := shared.pop()) <= 60:
            zone = z
        degrees = any(f == "lonlat" for f, _, _ in name_pairs(list(names)))
        return cls(tuple(dict.fromkeys(codes)), tuple(families), zone, datum, degrees)

    def describe(self) -> list[str]:
        """The hints in words, for the evidence."""
        said = [f"EPSG:{c}" for c in self.codes]
        if self.zone:
            said.append(f"zone {self.zone}")
        if self.datum:
            said.append(f"datum {self.datum}")
        out = [f"the column names point to {', '.join(said)}"] if said else []
        if self.country_column:
            out.append(f"column {self.country_column} gives the country of each sample")
        return out


def hinted(zone: Zone, hints: CrsHints) -> float:
    """Score bonus for a CRS that the hints point to."""
    bonus = 0.0
    if zone.code in hints.codes or (zone.family == "lonlat" and hints.degrees):
        bonus += 0.3
    if hints.zone and hints.zone in (zone.number, zone.prefix):
        bonus += 0.3
    if zone.family.startswith("utm") and ({"utm", "mga"} & set(hints.families)):
        bonus += 0.1
    if zone.family.startswith("gk") and "gk" in hints.families:
        bonus += 0.1
    if hints.datum and zone.family == f"gk-{hints.datum}":
        bonus += 0.1
    return bonus


# ---------------------------------------------------------- codes equal to the metre

#: Codes not tried themselves -> the catalogue's code that gives the same coordinates to
#: within a metre or two: ETRS89 / UTM 28N-37N, NAD83 / UTM 1N-23N, GDA94 and GDA2020 / MGA,
#: TM65 Irish Grid, and the CGCS2000 3-degree CM codes that repeat 6-degree ones.
ALIASES: dict[int, int] = {
    **{25800 + z: 32600 + z for z in range(28, 38)},
    **{26900 + z: 32600 + z for z in range(1, 24)},
    **{28300 + z: 32700 + z for z in range(48, 59)},
    6736: 32746, 6737: 32747, 6738: 32759,
    **{7800 + z: 32700 + z for z in range(46, 60)},
    29902: 29903,
    # CGCS2000 3-degree Gauss-Kruger CM 75E, 81E...: the 6-degree CM codes' projection
    **{4534 + 2 * k: 4502 + k for k in range(11)},
}


def equivalent_code(code: int, hints: CrsHints, countries: Mapping[str, int]) -> int:
    """The code to propose for ``code``: the ETRS89, NAD83 or GDA variant when the names say
    so (GDA2020 / MGA for points mostly in Australia), else ``code`` itself.

    Examples
    --------
    >>> equivalent_code(32632, CrsHints(datum="etrs89"), {"DE": 10})
    25832
    >>> equivalent_code(32755, CrsHints(), {"AU": 10}), equivalent_code(32632, CrsHints(), {})
    (7855, 32632)
    """
    wanted = {"etrs89": 25800, "nad83": 26900, "gda94": 28300, "gda2020": 7800}
    top = next(iter(countries), "")
    datum = hints.datum or ("gda2020" if top == "AU" and code // 100 == 327 else "")
    if datum not in wanted:
        return code
    gda94 = {v: k for k, v in ALIASES.items() if k in (6736, 6737, 6738)}
    if datum == "gda94" and code in gda94:
        return gda94[code]
    alias = wanted[datum] + code % 100
    return alias if ALIASES.get(alias) == code else code


def aliases_of(code: int) -> list[str]:
    """Evidence lines naming the codes that give the same coordinates as ``code``.

    Examples
    --------
    >>> aliases_of(29903)
    ['TM65 / Irish Grid (EPSG:29902) gives the same coordinates to within a metre or so']
    """
    base = ALIASES.get(code, code)
    same = sorted(c for c, b in ALIASES.items() if b == base and c != code)
    if base != code:
        same = [base, *same]
    if code == 4326:
        return ["longitude/latitude on WGS84; NAD83 (EPSG:4269), ETRS89 (EPSG:4258) and GDA "
                "degrees are the same to within a metre or two (check the datum)"]
    out = []
    zones = {z.code: z for z in catalogue()}
    if code in zones and zones[code].family.startswith("gk") and not zones[code].prefix:
        lon0 = zones[code].lon0
        twin = next((z for z in catalogue() if z.family == "utm" and z.lon0 == lon0), None)
        if twin is not None:
            out.append(f"UTM zone {twin.number}N (EPSG:{twin.code}) has the same central "
                       "meridian and differs only by its scale (0.9996): check the survey's "
                       "documentation")
    if code in (29902, 29903):
        other = 29902 if code == 29903 else 29903
        name = "TM65" if other == 29902 else "TM75"
        out.append(f"{name} / Irish Grid (EPSG:{other}) gives the same coordinates to within "
                   "a metre or so")
    elif same:
        out.append("the same coordinates to within a metre or two: EPSG:"
                   + ", EPSG:".join(map(str, same)) + " (ETRS89, NAD83, GDA, WGS84 or "
                   "3-degree zone variants; use the one the survey names)")
    return out


# ------------------------------------------------------------------------- continents

#: ISO alpha-2 codes per continent (transcontinental countries as Natural Earth places them).
CONTINENTS: dict[str, str] = {
    "Europe": "AD AL AT AX BA BE BG BY CH CZ DE DK EE ES FI FO FR GB GG GI GR HR HU IE IM IS "
    "IT JE LI LT LU LV MC MD ME MK MT NL NO PL PT RO RS RU SE SI SJ SK SM UA VA XK",
    "Asia": "AE AF AM AZ BD BH BN BT CC CN CX CY GE HK ID IL IN IO IQ IR JO JP KG KH KP KR KW "
    "KZ LA LB LK MM MN MO MV MY NP OM PH PK PS QA SA SG SY TH TJ TL TM TR TW UZ VN YE",
    "Africa": "AO BF BI BJ BW CD CF CG CI CM CV DJ DZ EG EH ER ET GA GH GM GN GQ GW KE KM LR "
    "LS LY MA MG ML MR MU MW MZ NA NE NG RE RW SC SD SH SL SN SO SS ST SZ TD TG TN TZ UG YT "
    "ZA ZM ZW",
    "North America": "AG AI AW BB BL BM BQ BS BZ CA CR CU CW DM DO GD GL GP GT HN HT JM KN KY "
    "LC MF MQ MS MX NI PA PM PR SV SX TC TT US VC VG VI",
    "South America": "AR BO BR CL CO EC FK GF GS GY PE PY SR UY VE",
    "Oceania": "AS AU CK FJ FM GU HM KI MH MP NC NF NR NU NZ PF PG PN PW SB TK TO TV UM VU WF "
    "WS",
    "Antarctica": "AQ BV TF",
}
_CONTINENT_OF = {c: k for k, codes in CONTINENTS.items() for c in codes.split()}


def continent_counts(counts: Mapping[str, int]) -> dict[str, int]:
    """Points per continent from points per country (alpha-2), most first.

    Examples
    --------
    >>> continent_counts({"US": 5, "FI": 3, "NO": 4})
    {'Europe': 7, 'North America': 5}
    """
    out: dict[str, int] = {}
    for c, k in counts.items():
        name = _CONTINENT_OF.get(c, "elsewhere")
        out[name] = out.get(name, 0) + k
    return dict(sorted(out.items(), key=lambda t: (-t[1], t[0])))
