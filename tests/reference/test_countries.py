"""Tests of chemearth.reference.countries on real boundaries and real survey coordinates."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from pyproj import Geod, Transformer

from chemearth.errors import DescriptorError, InputFileError
from chemearth.reference.countries import (
    ALPHA3_TO_ALPHA2,
    GEMAS_CODES,
    NAMES,
    CountryLocator,
    to_alpha2,
)

DATA = Path(
    os.environ.get("CHEMEARTH_DATA") or Path(__file__).resolve().parents[3] / "shared" / "data"
)
NE_10M = DATA / "boundaries" / "ne_10m_admin_0_countries_deu.geojson"
NE_110M = DATA / "boundaries" / "ne_110m_admin_0_countries.geojson"


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"real data not available: {path}")
    return path


@pytest.fixture(scope="module")
def loc10() -> CountryLocator:
    return CountryLocator.from_file(_need(NE_10M))


@pytest.fixture(scope="module")
def loc110() -> CountryLocator:
    return CountryLocator.from_file(_need(NE_110M))


@pytest.fixture(scope="module")
def gemas() -> pd.DataFrame:
    return pd.read_csv(_need(DATA / "gemas" / "gemas.csv"))


@pytest.fixture(scope="module")
def kola() -> tuple[np.ndarray, np.ndarray]:
    frame = pd.read_csv(_need(DATA / "kola" / "chorizon.csv"), usecols=["XCOO", "YCOO"])
    to_wgs84 = Transformer.from_crs("EPSG:32635", "EPSG:4326", always_xy=True)
    lon, lat = to_wgs84.transform(frame["XCOO"].to_numpy(), frame["YCOO"].to_numpy())
    return np.asarray(lon), np.asarray(lat)


# --- to_alpha2 -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("FI", "FI"), ("fi", "FI"), (" gr ", "GR"), ("FIN", "FI"), ("nor", "NO"),
        ("RUS", "RU"), ("USA", "US"), ("GBR", "GB"), ("XKX", "XK"), ("Norway", "NO"),
        ("Russian Federation", "RU"), ("russia", "RU"), ("United States", "US"),
        ("United States of America", "US"), ("United Kingdom", "GB"), ("UK", "GB"),
        ("EL", "GR"), ("Greece", "GR"), ("Côte d'Ivoire", "CI"), ("COTE D'IVOIRE", "CI"),
        ("Czech Republic", "CZ"), ("Czechia", "CZ"), ("Bosnia & Herzegovina", "BA"),
        ("Kosovo", "XK"), ("Cocos Islands", "CC"), ("St. Lucia", "LC"), ("Åland", "AX"),
        ("Korea, Republic of", "KR"), ("The Netherlands", "NL"), ("Türkiye", "TR"),
        ("Turkey", "TR"), ("North Macedonia", "MK"), ("Viet Nam", "VN"),
    ],
)  # fmt: skip
def test_to_alpha2_iso_and_names(text: str, expected: str) -> None:
    assert to_alpha2(text) == expected


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("AUS", "AT"), ("BEL", "BE"), ("BOS", "BA"), ("BUL", "BG"), ("CRO", "HR"),
        ("CYP", "CY"), ("CZR", "CZ"), ("DEN", "DK"), ("EST", "EE"), ("FIN", "FI"),
        ("FOM", "MK"), ("FRA", "FR"), ("GER", "DE"), ("HEL", "GR"), ("HUN", "HU"),
        ("IRL", "IE"), ("ITA", "IT"), ("LAV", "LV"), ("LIT", "LT"), ("LUX", "LU"),
        ("MON", "ME"), ("NEL", "NL"), ("NOR", "NO"), ("POL", "PL"), ("PTG", "PT"),
        ("SIL", "CH"), ("SKA", "SK"), ("SLO", "SI"), ("SPA", "ES"), ("SRB", "RS"),
        ("SWE", "SE"), ("UKR", "UA"), ("UNK", "GB"),
    ],
)  # fmt: skip
def test_to_alpha2_gemas(code: str, expected: str) -> None:
    assert to_alpha2(code, scheme="gemas") == expected
    assert to_alpha2(code.lower(), scheme="gemas") == expected


def test_gemas_table_covers_the_file(gemas: pd.DataFrame) -> None:
    assert set(gemas["COUNTRY"]) == set(GEMAS_CODES)


@pytest.mark.parametrize(
    ("text", "scheme"),
    [("ZZ", None), ("XYZ", None), ("Atlantis", None), ("", None), ("FI", "gemas"),
     ("AUT", "gemas"), ("FIN", "iso3")],
)  # fmt: skip
def test_to_alpha2_unknown_raises(text: str, scheme: str | None) -> None:
    with pytest.raises(ValueError, match=repr(text) if scheme != "iso3" else "scheme") as info:
        to_alpha2(text, scheme=scheme)
    assert isinstance(info.value, DescriptorError)


def test_embedded_iso_table_is_complete_and_consistent() -> None:
    assert len(NAMES) == 250  # 249 ISO 3166-1 countries + XK
    assert len(ALPHA3_TO_ALPHA2) == 250
    assert sorted(ALPHA3_TO_ALPHA2.values()) == sorted(NAMES)
    for a3, a2 in ALPHA3_TO_ALPHA2.items():
        assert to_alpha2(a3) == a2
        assert to_alpha2(NAMES[a2]) == a2  # names never collide after normalising


def test_iso_table_agrees_with_natural_earth() -> None:
    features = json.loads(_need(NE_10M).read_text(encoding="utf-8"))["features"]
    pairs = {(f["properties"]["ISO_A2"], f["properties"]["ISO_A3"]) for f in features}
    pairs = {(a2, a3) for a2, a3 in pairs if len(a2) == 2}  # not "-99", not Taiwan's "CN-TW"
    assert len(pairs) > 230
    for a2, a3 in pairs:
        assert ALPHA3_TO_ALPHA2[a3] == a2


# --- CountryLocator basics -------------------------------------------------------------------


def test_from_file_is_cached_and_lists_codes(loc10: CountryLocator) -> None:
    assert CountryLocator.from_file(str(NE_10M)) is loc10
    codes = loc10.codes
    assert codes == sorted(codes)
    assert {"FR", "NO", "XK", "FI", "RU", "US", "GB", "GR", "CX", "CC", "AX"} <= set(codes)
    assert all(len(c) == 2 and c in NAMES for c in codes)
    assert loc10.name("NO") == "Norway"
    assert loc10.name("FIN") == "Finland"


def test_110m_file_recovers_france_and_norway(loc110: CountryLocator) -> None:
    assert {"FR", "NO", "CY", "SO"} <= set(loc110.codes)
    assert len(loc110.codes) == 175  # 177 features; N. Cyprus and Somaliland merge


@pytest.mark.parametrize(
    ("lon", "lat", "expected"),
    [
        (24.94, 60.17, "FI"), (10.75, 59.91, "NO"), (2.35, 48.86, "FR"), (37.62, 55.75, "RU"),
        (23.73, 37.98, "GR"), (-0.13, 51.51, "GB"), (-77.04, 38.91, "US"), (21.17, 42.67, "XK"),
        (105.63, -10.49, "CX"), (96.83, -12.166, "CC"), (19.93, 60.10, "AX"),
        (-52.33, 4.94, "FR"), (17.33, 78.32, "NO"), (32.95, 34.59, "CY"), (121.56, 25.03, "TW"),
    ],
)  # fmt: skip
def test_locate_known_places(loc10: CountryLocator, lon: float, lat: float, expected: str) -> None:
    result = loc10.locate(np.array([lon]), np.array([lat]))
    assert result.country[0] == expected
    assert result.distance_km[0] == 0.0


@pytest.mark.parametrize(
    ("lon", "lat", "expected"), [(2.35, 48.86, "FR"), (10.75, 59.91, "NO"), (24.94, 60.17, "FI")]
)
def test_locate_110m(loc110: CountryLocator, lon: float, lat: float, expected: str) -> None:
    assert loc110.locate(np.array([lon]), np.array([lat])).country[0] == expected


def test_locate_open_sea_invalid_and_empty(loc10: CountryLocator) -> None:
    lon = np.array([-30.0, np.nan, 10.0, 370.75, 10.75])
    lat = np.array([30.0, 50.0, 95.0, 59.91, 59.91])
    result = loc10.locate(lon, lat)
    assert list(result.country) == [None, None, None, "NO", "NO"]
    assert np.isnan(result.distance_km[:3]).all()
    empty = loc10.locate(np.array([]), np.array([]))
    assert empty.country.shape == (0,)
    assert empty.distance_km.shape == (0,)


def test_tolerance_decides_coastal_points(loc10: CountryLocator) -> None:
    # In the North Sea 22 km west of the islands off Bergen.
    lon, lat = np.array([4.55]), np.array([60.4])
    far = loc10.locate(lon, lat, tolerance_km=1.0)
    near = loc10.locate(lon, lat, tolerance_km=50.0)
    assert far.country[0] is None
    assert near.country[0] == "NO"
    assert 20.0 < far.distance_km[0] == near.distance_km[0] < 25.0
    assert np.isnan(loc10.locate(lon, lat, search_km=1.0).distance_km[0])


def test_distances_match_brute_force_geodesic(loc10: CountryLocator) -> None:
    """Outside points near coasts: compare with the geodesic to a densified boundary."""
    rng = np.random.default_rng(7)
    lon = rng.uniform(-10, 35, 4000)
    lat = rng.uniform(35, 72, 4000)
    result = loc10.locate(lon, lat, search_km=60)
    picked = np.flatnonzero(result.distance_km > 0.5)[:40]
    assert len(picked) == 40
    geod = Geod(ellps="WGS84")
    borders = shapely.boundary(pyogrio.read_dataframe(NE_10M).geometry.make_valid().to_numpy())
    for i in picked:
        box = shapely.box(lon[i] - 4, lat[i] - 1.5, lon[i] + 4, lat[i] + 1.5)
        near = shapely.segmentize(shapely.clip_by_rect(borders, *box.bounds), 0.002)
        xy = shapely.get_coordinates(near)
        n = len(xy)
        brute = geod.inv(np.full(n, lon[i]), np.full(n, lat[i]), xy[:, 0], xy[:, 1])[2]
        assert result.distance_km[i] == pytest.approx(brute.min() / 1000, rel=0.02, abs=0.25)


def test_antimeridian(loc10: CountryLocator) -> None:
    # Bering Sea east of 180°: the nearest land is Chukotka (RU), west of the antimeridian.
    d = loc10.distance_to_country(np.array([-178.66]), np.array([62.60]), "RU")[0]
    assert 80 < d < 100
    assert loc10.locate(np.array([-178.66]), np.array([62.60])).distance_km[0] == d


def test_distance_to_country(loc10: CountryLocator) -> None:
    lon, lat = np.array([24.94, 10.75, 19.93]), np.array([60.17, 59.91, 60.10])
    d = loc10.distance_to_country(lon, lat, "FIN")
    assert d[0] == 0.0
    assert d[1] > 300
    assert d[2] == 0.0  # Åland counts as Finland ...
    assert loc10.distance_to_country(lon, lat, "FI", include_parts=False)[2] > 20  # ... or not
    with pytest.raises(DescriptorError, match="BQ"):  # inside NL's polygon in this file
        loc10.distance_to_country(lon, lat, "BQ")
    with pytest.raises(DescriptorError, match="ZZ"):
        loc10.distance_to_country(lon, lat, "ZZ")


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(InputFileError):
        CountryLocator.from_file(tmp_path / "missing.geojson")
    broken = tmp_path / "broken.geojson"
    broken.write_text("{not json")
    with pytest.raises(InputFileError):
        CountryLocator.from_file(broken)
    square = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}
    feature = {"type": "Feature", "geometry": square, "properties": {"NAME": "Nowhere"}}
    nocode = tmp_path / "nocode.geojson"
    nocode.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    with pytest.raises(InputFileError, match="ADM0_A3"):
        CountryLocator.from_file(nocode)
    feature["properties"] = {"ISO_A2": "-99", "ISO_A2_EH": "NO", "ADM0_A3": "NOR"}
    newer = tmp_path / "newer.geojson"
    newer.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    assert CountryLocator.from_file(newer).codes == ["NO"]


# --- real surveys ----------------------------------------------------------------------------

# GEMAS samples whose located country differs from COUNTRY by more than 10 km, by row:
# row 293 (SRB, 19.5151 E 40.0094 N) lies in the sea off Albania, 300 km from Serbia; its LAEA
# Xcoord/Ycoord give 45.0094 N, so the latitude column has a typo. The three FIN samples on
# Åland (AX) agree through distance_to_country's ISO 3166-2 parts (Åland is FI-01).
GEMAS_BAD_LATITUDE = {293: "RS"}


def test_gemas_samples_fall_in_their_declared_country(
    loc10: CountryLocator, gemas: pd.DataFrame
) -> None:
    lon, lat = gemas["longitude"].to_numpy(), gemas["latitude"].to_numpy()
    declared = np.array([to_alpha2(c, scheme="gemas") for c in gemas["COUNTRY"]], dtype=object)
    result = loc10.locate(lon, lat, tolerance_km=10.0)
    differ = np.flatnonzero(result.country != declared)
    assert 1 - len(differ) / len(gemas) >= 0.99
    assert len(differ) <= 15
    for i in differ:
        d = loc10.distance_to_country(lon[i : i + 1], lat[i : i + 1], declared[i])[0]
        if i in GEMAS_BAD_LATITUDE:
            assert d > 250
        else:
            assert d <= 10.0, (i, gemas["COUNTRY"][i], lon[i], lat[i], result.country[i], d)
    assert sum(result.country[differ] == "AX") == 3


def test_gemas_code_table_matches_where_samples_fall(
    loc10: CountryLocator, gemas: pd.DataFrame
) -> None:
    located = loc10.locate(gemas["longitude"].to_numpy(), gemas["latitude"].to_numpy())
    frame = pd.DataFrame({"code": gemas["COUNTRY"], "found": located.country})
    for code, found in frame.groupby("code")["found"]:
        counts = found.value_counts(normalize=True)
        assert counts.index[0] == GEMAS_CODES[code], (code, counts.to_dict())
        assert counts.iloc[0] >= 0.9, (code, counts.to_dict())


def test_gemas_bad_latitude_is_fixed_by_laea(loc10: CountryLocator, gemas: pd.DataFrame) -> None:
    rows = gemas.loc[list(GEMAS_BAD_LATITUDE)]
    to_wgs84 = Transformer.from_crs("EPSG:3035", "EPSG:4326", always_xy=True)
    lon, lat = to_wgs84.transform(rows["Xcoord"].to_numpy(), rows["Ycoord"].to_numpy())
    result = loc10.locate(np.asarray(lon), np.asarray(lat))
    assert list(result.country) == list(GEMAS_BAD_LATITUDE.values())


def test_kola_samples_in_finland_norway_russia(
    loc10: CountryLocator, kola: tuple[np.ndarray, np.ndarray]
) -> None:
    lon, lat = kola
    result = loc10.locate(lon, lat, tolerance_km=3.0)
    assert set(result.country) == {"FI", "NO", "RU"}
    assert (result.distance_km <= 3.0).all()


def test_swapped_kola_coordinates_are_far_away(
    loc10: CountryLocator, kola: tuple[np.ndarray, np.ndarray]
) -> None:
    lon, lat = kola
    for code in ("RU", "FI", "NO"):
        assert loc10.distance_to_country(lat, lon, code).min() > 1000
    assert set(loc10.locate(lat, lon).country) <= {"AF", "PK", "IN", "IR", "TM", "TJ", None}


def test_usgs_ds801_samples_in_us(loc10: CountryLocator) -> None:
    path = _need(DATA / "usgs_ds801" / "ds801_top5_raw.csv")
    frame = pd.read_csv(path, usecols=["Latitude", "Longitude"])
    lon, lat = frame["Longitude"].to_numpy(), frame["Latitude"].to_numpy()
    assert (loc10.distance_to_country(lon, lat, "US") <= 10.0).all()
    result = loc10.locate(lon, lat)
    assert (result.country == "US").mean() > 0.999  # one Vermont sample is 0.8 km into Canada


@pytest.mark.slow  # about 5 s on an idle machine, 10 s on a busy one
def test_one_million_random_points(loc10: CountryLocator) -> None:
    rng = np.random.default_rng(0)
    n = 1_000_000
    lon = rng.uniform(-180, 180, n)
    lat = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))  # uniform on the sphere
    result = loc10.locate(lon, lat)
    assert result.country.shape == result.distance_km.shape == (n,)
    found = pd.notna(result.country)
    assert 0.25 < found.mean() < 0.35  # land is 29 % of the Earth
    assert (found == (result.distance_km <= 10.0)).all()
    assert np.nanmax(result.distance_km) <= 100.0


@pytest.mark.parametrize("code", ["NL", "US", "NO", "RU"])
def test_inside_test_agrees_with_locate(loc10: CountryLocator, code: str) -> None:
    """The fast prepared test of distance_to_country and the tree of locate agree exactly,
    also for points on the seams between the pieces a country is split into."""
    rng = np.random.default_rng(3)
    west, south, east, north = {
        "NL": (3.3, 50.7, 7.3, 53.6),
        "US": (-125, 24, -66, 50),
        "NO": (4, 57.9, 31.2, 71.2),
        "RU": (27, 41, 60, 70),
    }[code]
    lon = rng.uniform(west, east, 200_000)
    lat = rng.uniform(south, north, 200_000)
    inside_tree = loc10.locate(lon, lat, tolerance_km=0.0).country == code
    inside_fast = loc10.distance_to_country(lon, lat, code, include_parts=False) == 0
    assert np.array_equal(inside_tree, inside_fast)
