"""Countries: normalise country codes and names, and locate sample coordinates.

chemearth names countries by ISO 3166-1 alpha-2 codes everywhere ("FI", "NO", "GB").
:func:`to_alpha2` turns alpha-3 codes, English names and survey-specific codes into
alpha-2 without any data file. :class:`CountryLocator` finds the country of each point
from Natural Earth admin-0 polygons whose path the caller passes in; chemearth does not
ship boundary files.
"""

from __future__ import annotations

import functools
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyogrio
import shapely
from pyproj import Geod

from chemearth.errors import DescriptorError, InputFileError

# fmt: off
__all__ = ["ALPHA3_TO_ALPHA2", "GEMAS_CODES", "NAMES", "CountryLocator", "LocateResult",
           "to_alpha2"]
# fmt: on

# ISO 3166-1: alpha-2, alpha-3, English short name; plus XK/XKX Kosovo (user-assigned
# code used by the EU and IMF, and by Natural Earth's Kosovo polygon).
_ISO = """
AD AND Andorra|AE ARE United Arab Emirates|AF AFG Afghanistan|AG ATG Antigua and Barbuda|
AI AIA Anguilla|AL ALB Albania|AM ARM Armenia|AO AGO Angola|AQ ATA Antarctica|AR ARG Argentina|
AS ASM American Samoa|AT AUT Austria|AU AUS Australia|AW ABW Aruba|AX ALA Åland Islands|
AZ AZE Azerbaijan|BA BIH Bosnia and Herzegovina|BB BRB Barbados|BD BGD Bangladesh|BE BEL Belgium|
BF BFA Burkina Faso|BG BGR Bulgaria|BH BHR Bahrain|BI BDI Burundi|BJ BEN Benin|
BL BLM Saint Barthélemy|BM BMU Bermuda|BN BRN Brunei Darussalam|BO BOL Bolivia|
BQ BES Bonaire, Sint Eustatius and Saba|BR BRA Brazil|BS BHS Bahamas|BT BTN Bhutan|
BV BVT Bouvet Island|BW BWA Botswana|BY BLR Belarus|BZ BLZ Belize|CA CAN Canada|
CC CCK Cocos (Keeling) Islands|CD COD Democratic Republic of the Congo|
CF CAF Central African Republic|CG COG Congo|CH CHE Switzerland|CI CIV Côte d'Ivoire|
CK COK Cook Islands|CL CHL Chile|CM CMR Cameroon|CN CHN China|CO COL Colombia|CR CRI Costa Rica|
CU CUB Cuba|CV CPV Cabo Verde|CW CUW Curaçao|CX CXR Christmas Island|CY CYP Cyprus|CZ CZE Czechia|
DE DEU Germany|DJ DJI Djibouti|DK DNK Denmark|DM DMA Dominica|DO DOM Dominican Republic|
DZ DZA Algeria|EC ECU Ecuador|EE EST Estonia|EG EGY Egypt|EH ESH Western Sahara|ER ERI Eritrea|
ES ESP Spain|ET ETH Ethiopia|FI FIN Finland|FJ FJI Fiji|FK FLK Falkland Islands|FM FSM Micronesia|
FO FRO Faroe Islands|FR FRA France|GA GAB Gabon|GB GBR United Kingdom|GD GRD Grenada|
GE GEO Georgia|GF GUF French Guiana|GG GGY Guernsey|GH GHA Ghana|GI GIB Gibraltar|GL GRL Greenland|
GM GMB Gambia|GN GIN Guinea|GP GLP Guadeloupe|GQ GNQ Equatorial Guinea|GR GRC Greece|
GS SGS South Georgia and the South Sandwich Islands|GT GTM Guatemala|GU GUM Guam|
GW GNB Guinea-Bissau|GY GUY Guyana|HK HKG Hong Kong|HM HMD Heard Island and McDonald Islands|
HN HND Honduras|HR HRV Croatia|HT HTI Haiti|HU HUN Hungary|ID IDN Indonesia|IE IRL Ireland|
IL ISR Israel|IM IMN Isle of Man|IN IND India|IO IOT British Indian Ocean Territory|IQ IRQ Iraq|
IR IRN Iran|IS ISL Iceland|IT ITA Italy|JE JEY Jersey|JM JAM Jamaica|JO JOR Jordan|JP JPN Japan|
KE KEN Kenya|KG KGZ Kyrgyzstan|KH KHM Cambodia|KI KIR Kiribati|KM COM Comoros|
KN KNA Saint Kitts and Nevis|KP PRK North Korea|KR KOR South Korea|KW KWT Kuwait|
KY CYM Cayman Islands|KZ KAZ Kazakhstan|LA LAO Laos|LB LBN Lebanon|LC LCA Saint Lucia|
LI LIE Liechtenstein|LK LKA Sri Lanka|LR LBR Liberia|LS LSO Lesotho|LT LTU Lithuania|
LU LUX Luxembourg|LV LVA Latvia|LY LBY Libya|MA MAR Morocco|MC MCO Monaco|MD MDA Moldova|
ME MNE Montenegro|MF MAF Saint Martin (French part)|MG MDG Madagascar|MH MHL Marshall Islands|
MK MKD North Macedonia|ML MLI Mali|MM MMR Myanmar|MN MNG Mongolia|MO MAC Macao|
MP MNP Northern Mariana Islands|MQ MTQ Martinique|MR MRT Mauritania|MS MSR Montserrat|MT MLT Malta|
MU MUS Mauritius|MV MDV Maldives|MW MWI Malawi|MX MEX Mexico|MY MYS Malaysia|MZ MOZ Mozambique|
NA NAM Namibia|NC NCL New Caledonia|NE NER Niger|NF NFK Norfolk Island|NG NGA Nigeria|
NI NIC Nicaragua|NL NLD Netherlands|NO NOR Norway|NP NPL Nepal|NR NRU Nauru|NU NIU Niue|
NZ NZL New Zealand|OM OMN Oman|PA PAN Panama|PE PER Peru|PF PYF French Polynesia|
PG PNG Papua New Guinea|PH PHL Philippines|PK PAK Pakistan|PL POL Poland|
PM SPM Saint Pierre and Miquelon|PN PCN Pitcairn|PR PRI Puerto Rico|PS PSE Palestine|
PT PRT Portugal|PW PLW Palau|PY PRY Paraguay|QA QAT Qatar|RE REU Réunion|RO ROU Romania|
RS SRB Serbia|RU RUS Russian Federation|RW RWA Rwanda|SA SAU Saudi Arabia|SB SLB Solomon Islands|
SC SYC Seychelles|SD SDN Sudan|SE SWE Sweden|SG SGP Singapore|
SH SHN Saint Helena, Ascension and Tristan da Cunha|SI SVN Slovenia|SJ SJM Svalbard and Jan Mayen|
SK SVK Slovakia|SL SLE Sierra Leone|SM SMR San Marino|SN SEN Senegal|SO SOM Somalia|
SR SUR Suriname|SS SSD South Sudan|ST STP Sao Tome and Principe|SV SLV El Salvador|
SX SXM Sint Maarten (Dutch part)|SY SYR Syria|SZ SWZ Eswatini|TC TCA Turks and Caicos Islands|
TD TCD Chad|TF ATF French Southern Territories|TG TGO Togo|TH THA Thailand|TJ TJK Tajikistan|
TK TKL Tokelau|TL TLS Timor-Leste|TM TKM Turkmenistan|TN TUN Tunisia|TO TON Tonga|TR TUR Türkiye|
TT TTO Trinidad and Tobago|TV TUV Tuvalu|TW TWN Taiwan|TZ TZA Tanzania|UA UKR Ukraine|
UG UGA Uganda|UM UMI United States Minor Outlying Islands|US USA United States|UY URY Uruguay|
UZ UZB Uzbekistan|VA VAT Holy See|VC VCT Saint Vincent and the Grenadines|VE VEN Venezuela|
VG VGB British Virgin Islands|VI VIR U.S. Virgin Islands|VN VNM Viet Nam|VU VUT Vanuatu|
WF WLF Wallis and Futuna|WS WSM Samoa|YE YEM Yemen|YT MYT Mayotte|ZA ZAF South Africa|
ZM ZMB Zambia|ZW ZWE Zimbabwe|XK XKX Kosovo
"""
_ROWS = [e.split(" ", 2) for e in re.split(r"\s*\|\s*", _ISO.strip())]
NAMES: dict[str, str] = {a2: name for a2, _, name in _ROWS}
ALPHA3_TO_ALPHA2: dict[str, str] = {a3: a2 for a2, a3, _ in _ROWS}

# fmt: off
# Other English names, and the exceptionally reserved UK and EL used in European data.
_ALIASES = {
    "UK": "GB", "EL": "GR", "Great Britain": "GB", "Britain": "GB", "England": "GB",
    "Scotland": "GB", "Wales": "GB", "Northern Ireland": "GB", "Russia": "RU",
    "United States of America": "US", "Czech Republic": "CZ", "Turkey": "TR", "Vietnam": "VN",
    "Iran, Islamic Republic of": "IR", "Korea, Republic of": "KR", "Republic of Korea": "KR",
    "Korea, Democratic People's Republic of": "KP", "Bolivia, Plurinational State of": "BO",
    "Venezuela, Bolivarian Republic of": "VE", "Syrian Arab Republic": "SY",
    "Lao People's Democratic Republic": "LA", "Moldova, Republic of": "MD",
    "Republic of Moldova": "MD", "Tanzania, United Republic of": "TZ",
    "United Republic of Tanzania": "TZ", "Macedonia": "MK",
    "The former Yugoslav Republic of Macedonia": "MK", "Ivory Coast": "CI", "Swaziland": "SZ",
    "Cape Verde": "CV", "Burma": "MM", "Vatican": "VA", "Vatican City": "VA", "Brunei": "BN",
    "Micronesia, Federated States of": "FM", "Congo, The Democratic Republic of the": "CD",
    "DR Congo": "CD", "Congo-Kinshasa": "CD", "Republic of the Congo": "CG",
    "Congo-Brazzaville": "CG", "East Timor": "TL", "Palestine, State of": "PS", "Holland": "NL",
    "Bosnia": "BA", "Falkland Islands (Malvinas)": "FK", "Macau": "MO", "Aland": "AX",
}

# GEMAS (Reimann et al. 2014) country codes. Each mapping was checked by locating the 2108
# samples' WGS84 longitude/latitude (gemas.csv) in the Natural Earth 1:10m polygons: 99.3 %
# fall in the country given here (every code >= 90 %); the rest lie within 5 km of a border,
# on Åland (3 FIN samples) or have a mistyped latitude (1 SRB sample, 300 km off).
# Non-obvious ones: FOM = former Yugoslav Republic of Macedonia, HEL = Hellas (Greece),
# MON = Montenegro, NEL = Netherlands, SIL = Switzerland (all 17 samples in CH),
# SKA = Slovakia, SLO = Slovenia (all 9 in SI), UNK = United Kingdom, AUS = Austria.
GEMAS_CODES: dict[str, str] = {
    "AUS": "AT", "BEL": "BE", "BOS": "BA", "BUL": "BG", "CRO": "HR", "CYP": "CY", "CZR": "CZ",
    "DEN": "DK", "EST": "EE", "FIN": "FI", "FOM": "MK", "FRA": "FR", "GER": "DE", "HEL": "GR",
    "HUN": "HU", "IRL": "IE", "ITA": "IT", "LAV": "LV", "LIT": "LT", "LUX": "LU", "MON": "ME",
    "NEL": "NL", "NOR": "NO", "POL": "PL", "PTG": "PT", "SIL": "CH", "SKA": "SK", "SLO": "SI",
    "SPA": "ES", "SRB": "RS", "SWE": "SE", "UKR": "UA", "UNK": "GB",
}

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
_GEOD = Geod(ellps="WGS84")


def _norm(name: str) -> str:
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().casefold()
    text = re.sub(r"\bst\b\.?", "saint", text.replace("&", " and "))
    text = re.sub(r"[^a-z0-9]+", " ", text).strip()
    return text.removeprefix("the ")


def _name_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for name, code in [*((n, c) for c, n in NAMES.items()), *_ALIASES.items()]:
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
        """Write the prepared pieces and lines (WKB) so the next process skips preparing."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        n_p, n_l = len(self._pieces), len(self._lines)
        table = pa.table(
            {
                "kind": np.r_[np.zeros(n_p, np.int8), np.ones(n_l, np.int8)],
                "owner": np.r_[self._owner, self._line_owner].astype(np.int32),
                "wkb": pa.array(
                    list(shapely.to_wkb(np.r_[self._pieces, self._lines])), pa.binary()
                ),
            }
        ).replace_schema_metadata({"codes": ",".join(self._codes), "source": self._source})
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        pq.write_table(table, tmp)
        os.replace(tmp, path)

    @classmethod
    def _restore(cls, path: Path) -> CountryLocator:
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        meta = table.schema.metadata or {}
        kind = table.column("kind").to_numpy()
        owner = table.column("owner").to_numpy().astype(np.intp)
        geoms = shapely.from_wkb(np.asarray(table.column("wkb").to_pylist(), dtype=object))
        obj = cls.__new__(cls)
        obj._set(
            geoms[kind == 0],
            owner[kind == 0],
            geoms[kind == 1],
            owner[kind == 1],
            meta[b"codes"].decode().split(","),
            meta[b"source"].decode(),
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
        self, lon: np.ndarray, lat: np.ndarray, tolerance_km: float = 10.0, search_km: float = 100.0
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
        point, piece = self._inside(x, y, ok)
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
        self, lon: np.ndarray, lat: np.ndarray, code: str, include_parts: bool = True
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
        inside[ok] = shapely.contains_xy(self._area(tuple(wanted_ids)), x[ok], y[ok])
        rest = ok & ~inside  # outside, or on a seam between two pieces: ask the tree
        if rest.any():
            point, piece = self._inside(x, y, rest)
            inside[point[np.isin(self._owner[piece], wanted_ids)]] = True
        dist[inside] = 0.0
        out = np.flatnonzero(ok & ~inside)
        lines = np.flatnonzero(np.isin(self._line_owner, wanted_ids))
        dist[out] = self._nearest(x[out], y[out], lines, np.inf)[0]
        return dist

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
        limit = None if np.isinf(reach) else reach
        for b in np.unique(band):
            sel = np.flatnonzero(band == b)
            k = np.cos(np.radians(b + 0.5))
            near = (self._ymax[lines] >= b - reach) & (self._ymin[lines] <= b + 1 + reach)
            cand = lines[near]
            if not len(cand):
                continue
            scaled = shapely.transform(self._lines[cand], lambda c, k=k: c * [k, 1.0])
            tree = shapely.STRtree(scaled)
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


_CACHE_VERSION = "1"


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
    return base / f"boundaries-{key}.parquet"


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
    return loc


def _prepare(path: str) -> CountryLocator:
    """Read, repair and index a countries file."""
    try:
        frame = pyogrio.read_dataframe(path)
    except Exception as exc:
        raise InputFileError(f"cannot read boundaries file {path!r}: {exc}") from exc
    if frame.crs is not None and not frame.crs.is_geographic:
        frame = frame.to_crs("OGC:CRS84")
    geoms, index = _polygons(shapely.make_valid(np.asarray(frame.geometry.values)))
    props = frame.drop(columns="geometry").to_dict("records")
    centre_x = shapely.get_x(shapely.centroid(geoms))
    codes = [_feature_code(props[i], x) for i, x in zip(index, centre_x, strict=True)]
    known = np.array([c is not None for c in codes], dtype=bool)
    if not known.any():
        raise InputFileError(f"{path!r} has no ISO_A2, ISO_A2_EH or ADM0_A3 country codes")
    names = sorted({c for c in codes if c is not None})
    owner = np.searchsorted(names, [c for c in codes if c is not None])
    return CountryLocator(geoms[known], owner, names, path)
