"""Continents and land polygons of the Natural Earth boundaries, checked against the raw file.

The raw GeoJSON is read here with :mod:`json` and shapely only (not pyogrio), and the
country of each polygon is checked against :class:`CountryLocator`, which ingest uses to
give samples their country.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import shapely
from shapely.geometry import shape

from chemearth.errors import DescriptorError, InputFileError
from chemearth.reference.continents import (
    ANTARCTICA,
    continent_of,
    country_continents,
    country_land,
    feature_code,
)
from chemearth.reference.countries import NAMES, CountryLocator

FILES = ("ne_10m_admin_0_countries_deu.geojson", "ne_110m_admin_0_countries.geojson")


def raw_features(path: Path) -> list[tuple[dict, shapely.Geometry]]:
    """(properties, geometry repaired by buffer(0) where invalid) of each feature."""
    out = []
    for f in json.loads(path.read_text())["features"]:
        geom = shape(f["geometry"])
        out.append((f["properties"], geom if geom.is_valid else geom.buffer(0)))
    return out


@pytest.fixture(scope="module", params=FILES)
def boundary_file(request: pytest.FixtureRequest, data_dir: Path) -> Path:
    path = data_dir / "boundaries" / request.param
    if not path.is_file():
        pytest.skip(f"{path} missing")
    return path


@pytest.mark.parametrize(
    ("properties", "expected"),
    [
        ({"ISO_A2": "FI", "ADM0_A3": "FIN"}, "FI"),
        ({"ISO_A2_EH": "FR", "ISO_A2": "-99", "ADM0_A3": "FRA"}, "FR"),
        ({"ISO_A2": "-99", "ADM0_A3": "NOR"}, "NO"),  # Norway in many NE versions
        ({"ISO_A2": "CN-TW", "ISO_A3": "TWN", "ADM0_A3": "TWN"}, "TW"),
        ({"ISO_A2": "-99", "ISO_A3": "-99", "ADM0_A3": "KOS"}, None),  # no ISO code
        ({"ISO_A2": "-99", "ADM0_A3": "BRT"}, None),  # Bir Tawil
        ({"ISO_A2": "aq"}, "AQ"),
        ({}, None),
    ],
)
def test_feature_code_reads_iso_properties(properties: dict, expected: str | None) -> None:
    assert feature_code(properties) == expected


def test_every_iso_feature_gives_its_continent(boundary_file: Path) -> None:
    """A feature with its own ISO alpha-2 code is its country's largest feature in both
    files, so the country's continent is that feature's CONTINENT."""
    continents = country_continents(boundary_file)
    checked = 0
    for props, _ in raw_features(boundary_file):
        code = props.get("ISO_A2")
        if code in NAMES:
            assert continents[code] == props["CONTINENT"], (code, props["NAME"])
            checked += 1
    assert checked >= 170


def test_countries_of_several_features_take_the_largest(boundaries: Path) -> None:
    """Countries made of several Natural Earth units: the largest unit (by ellipsoidal area,
    computed here with pyproj.Geod) gives the continent."""
    from pyproj import Geod

    geod = Geod(ellps="WGS84")
    land = country_land(boundaries)
    feats = raw_features(boundaries)
    tree = shapely.STRtree([g for _, g in feats])
    point, feature = tree.query(shapely.point_on_surface(land.polygons), predicate="within")
    assert np.array_equal(np.sort(point), np.arange(len(land.polygons)))  # one unit each
    area: dict[str, dict[int, float]] = {}
    for p, f in zip(point.tolist(), feature.tolist(), strict=True):
        if land.country[p] is not None:
            polygon = shapely.geometry.polygon.orient(land.polygons[p])
            units = area.setdefault(land.country[p], {})
            units[f] = units.get(f, 0.0) + geod.geometry_area_perimeter(polygon)[0]
    several = 0
    for code, units in area.items():
        largest = max(units, key=lambda f: units[f])
        assert land.continent_of(code) == feats[largest][0]["CONTINENT"], code
        several += len({feats[f][0]["CONTINENT"] for f in units}) > 1
    assert several >= 1  # France (Europe) with Clipperton Island (Seven seas)


def test_polygons_keep_all_land_and_are_valid(boundary_file: Path) -> None:
    land = country_land(boundary_file)
    assert shapely.is_valid(land.polygons).all()
    assert (shapely.get_type_id(land.polygons) == 3).all()
    raw = sum(geom.area for _, geom in raw_features(boundary_file))
    assert shapely.area(land.polygons).sum() == pytest.approx(raw, rel=1e-12)


def test_land_countries_agree_with_the_locator(boundary_file: Path) -> None:
    """The country of every polygon is the one CountryLocator gives a point inside it."""
    land = country_land(boundary_file)
    inside = shapely.point_on_surface(land.polygons)
    found = CountryLocator.from_file(boundary_file).locate(
        shapely.get_x(inside), shapely.get_y(inside), tolerance_km=0.0
    )
    assert list(found.country) == list(land.country)
    assert set(land.codes) == set(CountryLocator.from_file(boundary_file).codes)


def test_only_unclaimed_land_has_no_country(boundaries: Path) -> None:
    """Bir Tawil, the Spratly Islands and Scarborough Reef are no country's in Natural
    Earth; every other polygon has one."""
    land = country_land(boundaries)
    unclaimed = shapely.union_all(land.polygons[land.country == None])  # noqa: E711
    names = {
        props["NAME"] for props, geom in raw_features(boundaries)
        if geom.intersection(unclaimed).area > 0
    }
    assert names == {"Bir Tawil", "Spratly Is.", "Scarborough Reef"}


@pytest.mark.parametrize(
    ("country", "continent"),
    [  # Natural Earth's CONTINENT of the unit, for codes coming from "-99" units
        ("FR", "Europe"),
        ("Norway", "Europe"),
        ("XK", "Europe"),  # Kosovo, by the locator
        ("CY", "Asia"),  # with the UK Sovereign Base Areas
        ("TW", "Asia"),  # ISO_A2 "CN-TW"
        ("CX", "Asia"),  # Indian Ocean Territories east of 100°E
        ("CC", "Asia"),  # and west of it
        ("AQ", ANTARCTICA),
    ],
)
def test_continent_of_special_units(boundaries: Path, country: str, continent: str) -> None:
    assert continent_of(country, boundaries) == continent
    assert country_land(boundaries).continent_of(country) == continent


def test_country_geometry_is_the_raw_feature(boundaries: Path) -> None:
    land = country_land(boundaries)
    raw = [g for p, g in raw_features(boundaries) if p["ISO_A2"] == "FI"]
    assert len(raw) == 1
    assert land.country_geometry("FIN").symmetric_difference(raw[0]).area < 1e-12


def test_errors(tmp_path: Path, boundaries: Path, data_dir: Path) -> None:
    with pytest.raises(InputFileError, match="not found"):
        country_land(tmp_path / "missing.geojson")
    no_continent = tmp_path / "no_continent.geojson"
    no_continent.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"ISO_A2": "FI"},
        "geometry": {"type": "Polygon", "coordinates": [[[24, 60], [25, 60], [25, 61],
                                                         [24, 60]]]}}]}))
    with pytest.raises(InputFileError, match="CONTINENT"):
        country_land(no_continent)
    garbage = tmp_path / "garbage.geojson"
    garbage.write_text("not json")
    with pytest.raises(InputFileError, match="cannot read"):
        country_land(garbage)
    with pytest.raises(DescriptorError):
        continent_of("Atlantis", boundaries)
    small = country_land(data_dir / "boundaries" / FILES[1])
    assert "MC" in NAMES
    assert "MC" not in small.codes  # Monaco is not in the 1:110m file
    with pytest.raises(DescriptorError, match="no land"):
        small.country_geometry("MC")


def test_cached_per_path_and_modification_time(tmp_path: Path, data_dir: Path) -> None:
    copy = tmp_path / "countries.geojson"
    shutil.copy(data_dir / "boundaries" / FILES[1], copy)
    first = country_land(copy)
    assert country_land(str(copy)) is first
    stat = copy.stat()
    os.utime(copy, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    again = country_land(copy)
    assert again is not first
    assert list(again.country) == list(first.country)
