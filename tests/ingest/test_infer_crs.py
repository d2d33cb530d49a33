"""Coordinate columns and their CRS, inferred by ``describe`` from real survey points.

The points are those of the shared surveys (Kola, Baltic Soil Survey, GEMAS, NGS, DS-801,
Meuse, Jura), reprojected with pyproj into other CRSs and written under other column names,
as other surveys publish them (``E32wgs``/``N32wgs``, ``DDE``/``DDN``, ``mE``/``mN``,
``X_ITM``/``Y_ITM``...). The Irish and British cases are the GEMAS samples of Ireland and the
United Kingdom in ITM, Irish Grid and British National Grid. Each case checks the CRS
proposed (or that none is), the countries, and that the evidence is written.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pyproj import CRS, Transformer

from chemearth.errors import ChemearthWarning
from chemearth.ingest.crs_catalogue import (
    ALIASES,
    GRIDS,
    CrsHints,
    aliases_of,
    catalogue,
    equivalent_code,
)
from chemearth.ingest.describe import propose
from chemearth.ingest.descriptor import Source, parse_descriptor
from chemearth.ingest.infer_crs import (
    CrsFit,
    candidate_crs,
    coordinate_candidates,
    evaluate_crs,
    propose_coordinates,
    rank_crs,
    spread_warning,
)
from chemearth.ingest.pipeline import ingest
from chemearth.ingest.readers import read_table
from chemearth.reference.countries import GEMAS_CODES
from chemearth.store import open_store

KOLA = ("RU", "FI", "NO")
BSS = ("NO", "SE", "FI", "RU", "EE", "LV", "LT", "BY", "PL", "DE")


@dataclass(frozen=True)
class Survey:
    """Real points: a file, its coordinate columns and their CRS, a subset, kept columns."""

    file: str
    x: str
    y: str
    crs: str
    keep: tuple[str, ...]
    subset: tuple[str, str] | None = None  # (column, value)


SURVEYS = {
    "kola": Survey("kola/chorizon.csv", "XCOO", "YCOO", "EPSG:32635", ("ID", "Cu", "Ni")),
    "bss": Survey("bss/bsstop.csv", "XCOO", "YCOO", "EPSG:32635", ("ID", "Cu_T")),
    "gemas": Survey("gemas/gemas.csv", "longitude", "latitude", "EPSG:4326", ("Al", "Zn")),
    "gemas-country": Survey("gemas/gemas.csv", "Xcoord", "Ycoord", "EPSG:3035",
                            ("COUNTRY", "Al")),
    "gemas-ie": Survey("gemas/gemas.csv", "longitude", "latitude", "EPSG:4326", ("Al",),
                       ("COUNTRY", "IRL")),
    "gemas-gb": Survey("gemas/gemas.csv", "longitude", "latitude", "EPSG:4326", ("Al",),
                       ("COUNTRY", "UNK")),
    "ngs": Survey("usgs_ngs_il_in/ngs_il_in_subset_geomla.csv", "x_albers", "y_albers",
                  "EPSG:5070", ("LABNO", "PB_ICP40")),
    "ds801": Survey("usgs_ds801/ds801_top5_raw.csv", "Longitude", "Latitude", "EPSG:4326",
                    ("SiteID",)),
    "meuse": Survey("meuse/meuse.csv", "x", "y", "EPSG:28992", ("zinc",)),
    "jura": Survey("jura/jura_pred_val.csv", "Xloc", "Yloc", "local", ("Cd", "Zn")),
}


def write_variant(data_dir: Path, tmp_path: Path, survey: str, crs: str,
                  names: tuple[str, str], scale: float = 1.0) -> Path:
    """The survey's points in ``crs`` under column ``names`` (after its kept columns)."""
    s = SURVEYS[survey]
    df = pd.read_csv(data_dir / s.file, low_memory=False)
    if s.subset:
        df = df[df[s.subset[0]] == s.subset[1]]
    x, y = df[s.x].to_numpy(float), df[s.y].to_numpy(float)
    if crs not in (s.crs, "local"):
        x, y = Transformer.from_crs(s.crs, crs, always_xy=True).transform(x, y)
    out = df[list(s.keep)].copy()
    out.insert(min(1, len(out.columns)), names[0], np.asarray(x) * scale)
    out.insert(min(2, len(out.columns)), names[1], np.asarray(y) * scale)
    path = tmp_path / f"{survey}-{names[0]}.csv"
    out.to_csv(path, index=False)
    return path


def proposal_for(path: Path, boundaries: Path | None):
    raw = read_table(path, Source())
    return propose_coordinates(raw, [c for c in raw.table.column_names
                                     if not c.startswith("__")], boundaries)


# --------------------------------------------------------------- CRS proposed, real points

# (id, survey, CRS written, column names, CRS expected, countries expected)
CASES = [
    ("kola-utm35", "kola", "EPSG:32635", ("XCOO", "YCOO"), "EPSG:32635", KOLA),
    ("kola-utm34", "kola", "EPSG:32634", ("XCOO", "YCOO"), "EPSG:32634", KOLA),
    ("kola-utm36", "kola", "EPSG:32636", ("XCOO", "YCOO"), "EPSG:32636", KOLA),
    ("kola-lonlat", "kola", "EPSG:4326", ("lon", "lat"), "EPSG:4326", KOLA),
    ("kola-DDE-DDN", "kola", "EPSG:4326", ("DDE", "DDN"), "EPSG:4326", KOLA),
    ("kola-E35wgs", "kola", "EPSG:32635", ("E35wgs", "N35wgs"), "EPSG:32635", KOLA),
    ("kola-mE-mN-zone34", "kola", "EPSG:32634", ("mE", "mN"), "EPSG:32634", KOLA),
    ("kola-etrs89", "kola", "EPSG:25835", ("E_ETRS89", "N_ETRS89"), "EPSG:25835", KOLA),
    ("kola-pulkovo-gk-zone5", "kola", "EPSG:28405", ("X", "Y"), "EPSG:28405", KOLA),
    ("bss-utm35", "bss", "EPSG:32635", ("XCOO", "YCOO"), "EPSG:32635", BSS),
    ("gemas-laea", "gemas-country", "EPSG:3035", ("Xcoord", "Ycoord"), "EPSG:3035", None),
    ("gemas-laea-no-country-column", "gemas", "EPSG:3035", ("Xcoord", "Ycoord"), "EPSG:3035",
     None),
    ("gemas-lonlat", "gemas", "EPSG:4326", ("longitude", "latitude"), "EPSG:4326", None),
    ("ireland-X_ITM", "gemas-ie", "EPSG:2157", ("X_ITM", "Y_ITM"), "EPSG:2157", ("IE",)),
    ("ireland-itm-xy", "gemas-ie", "EPSG:2157", ("x", "y"), "EPSG:2157", ("IE",)),
    ("ireland-EASTING_IG", "gemas-ie", "EPSG:29903", ("EASTING_IG", "NORTHING_IG"),
     "EPSG:29903", ("IE",)),
    ("ireland-ig-plain", "gemas-ie", "EPSG:29903", ("Easting", "Northing"), "EPSG:29903",
     ("IE",)),
    ("britain-bng-xy", "gemas-gb", "EPSG:27700", ("x", "y"), "EPSG:27700", ("GB",)),
    ("ngs-x_albers", "ngs", "EPSG:5070", ("x_albers", "y_albers"), "EPSG:5070", ("US",)),
    ("ngs-albers-xy", "ngs", "EPSG:5070", ("x", "y"), "EPSG:5070", ("US",)),
    ("ds801-utm11", "ds801", "EPSG:32611", ("UTM_E", "UTM_N"), "EPSG:32611", ("US",)),
    ("ds801-utm14", "ds801", "EPSG:32614", ("UTM_E", "UTM_N"), "EPSG:32614", ("US",)),
    ("ds801-utm17", "ds801", "EPSG:32617", ("UTM_E", "UTM_N"), "EPSG:32617", ("US",)),
    # the floodplain runs along the border river: the 38 sites that the 1:10m borders put
    # in Belgium lie within 2 km of the Netherlands, which holds most points
    ("meuse-rd-new", "meuse", "EPSG:28992", ("x", "y"), "EPSG:28992", ("NL",)),
]


@pytest.mark.parametrize(("survey", "crs_in", "names", "expected", "countries"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_proposes_the_crs_of_real_points(
    data_dir: Path, boundaries: Path, tmp_path: Path, survey: str, crs_in: str,
    names: tuple[str, str], expected: str, countries: tuple[str, ...] | None,
) -> None:
    p = proposal_for(write_variant(data_dir, tmp_path, survey, crs_in, names), boundaries)
    assert (p.x, p.y, p.crs) == (*names, expected), p.comments
    if countries is None:  # GEMAS: the 33 countries of its own country codes
        gemas = pd.read_csv(data_dir / "gemas" / "gemas.csv")
        countries = tuple({GEMAS_CODES[c] for c in gemas["COUNTRY"]})
    assert set(p.countries) == set(countries)
    # the evidence: where the points fall, with counts, and what else was tried
    assert f"({expected}): " in p.comments[0]
    assert "% of" in p.comments[0]
    assert "on land" in p.comments[0]
    listed = next(c for c in p.comments if c.startswith("countries: "))
    assert f"{p.countries[0]} " in listed
    tried = ("runner-up: ", "the values are degrees", "no other candidate CRS")
    assert any(c.startswith(tried) for c in p.comments)


def test_neighbouring_utm_zones_rank_below_the_right_one(data_dir: Path,
                                                         boundaries: Path) -> None:
    kola = pd.read_csv(data_dir / "kola" / "chorizon.csv")
    x, y = kola["XCOO"].to_numpy(), kola["YCOO"].to_numpy()
    fits = rank_crs(x, y, boundaries, limit=40)
    assert fits[0].crs == "EPSG:32635"
    right = fits[0]
    for zone in ("EPSG:32634", "EPSG:32636"):
        fit = evaluate_crs(x, y, zone, boundaries)
        assert fit.share_on_land < right.share_on_land - 0.05, fit
    scores = [f.score for f in fits]
    assert scores[0] == max(scores)


def test_small_survey_that_fits_two_national_grids_is_a_decision(
    data_dir: Path, boundaries: Path, tmp_path: Path
) -> None:
    """Meuse (3 km across, inland) lands in the Netherlands with RD New and in Ireland with the
    Irish Grid: RD New is proposed first, and the user must confirm it."""
    p = proposal_for(write_variant(data_dir, tmp_path, "meuse", "EPSG:28992", ("x", "y")),
                     boundaries)
    assert p.crs == "EPSG:28992"
    assert len(p.decisions) == 1
    assert "EPSG:29903" in p.decisions[0]
    assert "different countries" in p.decisions[0]


def test_scale_twin_is_named_as_runner_up(data_dir: Path, boundaries: Path,
                                          tmp_path: Path) -> None:
    """Pulkovo 1942 / Gauss-Kruger CM 27E and UTM 35N differ only by scale (3 km on Kola):
    either may be proposed, the other is named, the countries are the same."""
    path = write_variant(data_dir, tmp_path, "kola", "EPSG:2495", ("X", "Y"))
    p = proposal_for(path, boundaries)
    assert p.crs in ("EPSG:32635", "EPSG:2495")
    other = "EPSG:2495" if p.crs == "EPSG:32635" else "EPSG:32635"
    assert any(c.startswith("runner-up: ") and other in c for c in p.comments)
    assert set(p.countries) == set(KOLA)
    assert not p.decisions


# ------------------------------------------------------------------------ nothing fits

NO_FIT = [
    ("jura-local-km", "jura", "local", ("Xloc", "Yloc"), 1.0, "local grid"),
    ("gemas-laea-in-km", "gemas", "EPSG:3035", ("Xcoord", "Ycoord"), 0.001, "local grid"),
    ("kola-x-y-swapped", "kola", "EPSG:32635", ("y", "x"), 1.0, "swapped"),
]


@pytest.mark.parametrize(("survey", "crs_in", "names", "scale", "why"),
                         [c[1:] for c in NO_FIT], ids=[c[0] for c in NO_FIT])
def test_no_crs_is_proposed_when_none_fits(
    data_dir: Path, boundaries: Path, tmp_path: Path, survey: str, crs_in: str,
    names: tuple[str, str], scale: float, why: str,
) -> None:
    if names == ("y", "x"):  # the easting written in a column named y, the northing in x
        path = write_variant(data_dir, tmp_path, survey, crs_in, ("y", "x"), scale)
        df = pd.read_csv(path)
        df[["x", "y"] + [c for c in df.columns if c not in ("x", "y")]].to_csv(path,
                                                                           index=False)
    else:
        path = write_variant(data_dir, tmp_path, survey, crs_in, names, scale)
    p = proposal_for(path, boundaries)
    x, y = (names[1], names[0]) if names == ("y", "x") else names
    assert (p.x, p.y, p.crs) == (x, y, "")
    assert len(p.decisions) == 1
    decision = p.decisions[0]
    assert decision.startswith(f"set [coordinates].crs for {x}/{y} ({x} ")
    assert "80%" in decision
    assert why in decision
    assert not p.countries


# --------------------------------------------------------------------------- no boundaries

NO_LAND = [
    ("lonlat-named", "kola", "EPSG:4326", ("lon", "lat"), "EPSG:4326"),
    ("ngs-x_albers", "ngs", "EPSG:5070", ("x_albers", "y_albers"), "EPSG:5070"),
    ("ireland-X_ITM", "gemas-ie", "EPSG:2157", ("X_ITM", "Y_ITM"), "EPSG:2157"),
    ("kola-unnamed-utm", "kola", "EPSG:32635", ("XCOO", "YCOO"), ""),
    ("kola-zone-named", "kola", "EPSG:32635", ("E35wgs", "N35wgs"), ""),
]


@pytest.mark.parametrize(("survey", "crs_in", "names", "expected"),
                         [c[1:] for c in NO_LAND], ids=[c[0] for c in NO_LAND])
def test_without_boundaries_only_named_crs_are_proposed(
    data_dir: Path, tmp_path: Path, survey: str, crs_in: str, names: tuple[str, str],
    expected: str,
) -> None:
    p = proposal_for(write_variant(data_dir, tmp_path, survey, crs_in, names), None)
    assert (p.x, p.y, p.crs) == (*names, expected)
    assert any("land could not be tested" in c for c in p.comments)
    assert bool(p.decisions) == (not expected)


def test_without_boundaries_countries_come_from_a_country_column(
    data_dir: Path, tmp_path: Path
) -> None:
    path = write_variant(data_dir, tmp_path, "gemas-country", "EPSG:4326", ("lon", "lat"))
    p = proposal_for(path, None)
    assert p.crs == "EPSG:4326"
    gemas = pd.read_csv(data_dir / "gemas" / "gemas.csv")
    assert set(p.countries) == {GEMAS_CODES[c] for c in gemas["COUNTRY"]}
    assert any("countries from column COUNTRY" in c for c in p.comments)


# ----------------------------------------------------------------------- column names

# (columns, each holding Kola's eastings "x", northings "y" or copper "-"; x/y in UTM metres
# or degrees; the pairs expected)
NAMES = [
    ("ID:- E32wgs:x N32wgs:y Cu:-", "metres", [("E32wgs", "N32wgs")]),
    ("DDE:x DDN:y Zn:-", "degrees", [("DDE", "DDN")]),
    ("mE:x mN:y", "metres", [("mE", "mN")]),
    ("X_ITM:x Y_ITM:y", "metres", [("X_ITM", "Y_ITM")]),
    ("EASTING_IG:x NORTHING_IG:y", "metres", [("EASTING_IG", "NORTHING_IG")]),
    ("Xcoord:x Ycoord:y", "metres", [("Xcoord", "Ycoord")]),
    ("x_albers:x y_albers:y", "metres", [("x_albers", "y_albers")]),
    ("UTM_E:x UTM_N:y", "metres", [("UTM_E", "UTM_N")]),
    ("Latitude:y Longitude:x", "degrees", [("Longitude", "Latitude")]),
    ("lat:y long:x Xloc:x Yloc:y", "degrees", [("long", "lat"), ("Xloc", "Yloc")]),
    ("Se:x Sn:y", "degrees", []),  # elements, not east/north
    ("lon:x lat:y", "metres", []),  # named as degrees, but the values are not
    ("Cu:x Zn:y", "metres", []),
]


@pytest.mark.parametrize(("columns", "values", "expected"), NAMES,
                         ids=[n[0].replace(" ", "-") for n in NAMES])
def test_coordinate_columns_are_recognised_by_name(
    data_dir: Path, tmp_path: Path, columns: str, values: str,
    expected: list[tuple[str, str]],
) -> None:
    kola = pd.read_csv(data_dir / "kola" / "chorizon.csv")
    x, y = kola["XCOO"].to_numpy(), kola["YCOO"].to_numpy()
    if values == "degrees":
        x, y = Transformer.from_crs("EPSG:32635", "EPSG:4326", always_xy=True).transform(x, y)
    roles = dict(c.split(":") for c in columns.split())
    df = pd.DataFrame({c: {"x": x, "y": y, "-": kola["Cu"]}[r] for c, r in roles.items()})
    path = tmp_path / "names.csv"
    df.to_csv(path, index=False)
    raw = read_table(path, Source())
    assert coordinate_candidates(raw, list(roles), by_range=False) == expected


def test_coordinates_are_found_by_their_values_when_unnamed(data_dir: Path,
                                                            tmp_path: Path) -> None:
    kola = pd.read_csv(data_dir / "kola" / "chorizon.csv")
    df = pd.DataFrame({"ID": kola["ID"], "A1": kola["XCOO"], "A2": kola["YCOO"],
                       "Cu": kola["Cu"]})
    path = tmp_path / "unnamed.csv"
    df.to_csv(path, index=False)
    raw = read_table(path, Source())
    assert coordinate_candidates(raw, list(df.columns), by_range=False) == []
    assert coordinate_candidates(raw, list(df.columns))[:1] == [("A1", "A2")]


HINTS = [
    (("E32wgs", "N32wgs"), (), 32, "wgs84", False),
    (("X_ITM", "Y_ITM"), (2157,), None, "", False),
    (("EASTING_IG", "NORTHING_IG"), (29903,), None, "", False),
    (("x_albers", "y_albers"), (5070,), None, "", False),
    (("X_LV03", "Y_LV03"), (21781,), None, "", False),
    (("x_rd", "y_rd"), (28992,), None, "", False),
    (("X_3035", "Y_3035"), (3035,), None, "", False),
    (("E_25832", "N_25832"), (32632,), None, "", False),  # ETRS89 UTM 32N: its WGS84 twin
    (("UTM_E_33", "UTM_N_33"), (), 33, "", False),
    (("lon_wgs84", "lat_wgs84"), (), None, "wgs84", True),
    (("Xcoord", "Ycoord"), (), None, "", False),
]


@pytest.mark.parametrize(("names", "codes", "zone", "datum", "degrees"), HINTS,
                         ids=["-".join(h[0]) for h in HINTS])
def test_hints_from_column_names(names: tuple[str, str], codes: tuple[int, ...],
                                 zone: int | None, datum: str, degrees: bool) -> None:
    h = CrsHints.from_names(*names)
    assert (h.codes, h.zone, h.datum, h.degrees) == (codes, zone, datum, degrees)


# ------------------------------------------------------------------------ the catalogue

def test_catalogue_matches_pyproj_database() -> None:
    """Every candidate exists, is current, and its central meridian, false easting (the zone
    number before the easting) and scale are those the ranking assumes."""
    seen = set()
    for z in catalogue():
        crs = CRS.from_epsg(z.code)
        assert not crs.is_deprecated, z
        seen.add(z.code)
        if z.family in ("lonlat", "grid"):
            continue
        params = {p.name: p.value for p in crs.coordinate_operation.params}
        assert params["Longitude of natural origin"] == pytest.approx(z.lon0), z
        assert params["False easting"] == z.prefix * 1_000_000 + 500_000, z
        scale = 0.9996 if z.family.startswith("utm") else 1.0
        assert params["Scale factor at natural origin"] == pytest.approx(scale), z
        assert z.rep is not None
        rep = CRS.from_epsg(z.rep.code)
        assert rep.ellipsoid == crs.ellipsoid, z  # one projection per system, shifted
    assert len(seen) == len(catalogue())  # no code twice
    for alias, base in ALIASES.items():  # same projection; the datum within a few metres
        a, b = CRS.from_epsg(alias), CRS.from_epsg(base)
        assert not a.is_deprecated, alias
        assert base in seen, alias
        pa_ = {p.name: p.value for p in a.coordinate_operation.params}
        pb = {p.name: p.value for p in b.coordinate_operation.params}
        assert pa_ == pb, (alias, base)
    assert set(GRIDS) <= seen
    assert candidate_crs() == [f"EPSG:{c}" for c in (z.code for z in catalogue())]


@pytest.mark.parametrize(("code", "hints", "countries", "expected"), [
    (32632, CrsHints(datum="etrs89"), {"DE": 5}, 25832),
    (32615, CrsHints(datum="nad83"), {"US": 5}, 26915),
    (32755, CrsHints(), {"AU": 5}, 7855),
    (32755, CrsHints(datum="gda94"), {"AU": 5}, 28355),
    (32747, CrsHints(datum="gda94"), {"AU": 5}, 6737),
    (32635, CrsHints(datum="nad83"), {"FI": 5}, 32635),  # NAD83 has no zone 35N
    (28992, CrsHints(datum="etrs89"), {"NL": 5}, 28992),
])
def test_equivalent_codes_are_the_same_to_the_metre(code: int, hints: CrsHints,
                                                    countries: dict[str, int],
                                                    expected: int) -> None:
    got = equivalent_code(code, hints, countries)
    assert got == expected
    if got != code:  # the two codes really place a point within 2 m of each other
        a = CRS.from_epsg(code).area_of_use
        assert a is not None
        lon, lat = (a.west + a.east) / 2, max(a.south, -60) / 2 + min(a.north, 60) / 2
        to_a = Transformer.from_crs("EPSG:4326", f"EPSG:{code}", always_xy=True)
        to_b = Transformer.from_crs("EPSG:4326", f"EPSG:{got}", always_xy=True)
        xa, ya = to_a.transform(lon, lat)
        xb, yb = to_b.transform(lon, lat)
        assert abs(xa - xb) < 2
        assert abs(ya - yb) < 2
        assert any(str(code) in line or str(got) in line for line in aliases_of(got))


def test_evaluate_crs_reports_the_evidence(data_dir: Path, boundaries: Path) -> None:
    kola = pd.read_csv(data_dir / "kola" / "chorizon.csv")
    fit = evaluate_crs(kola["XCOO"].to_numpy(), kola["YCOO"].to_numpy(), "EPSG:32635",
                       boundaries)
    assert isinstance(fit, CrsFit)
    assert (fit.crs, fit.n, fit.share_valid) == ("EPSG:32635", 606, 1.0)
    assert fit.name == "WGS 84 / UTM zone 35N"
    assert fit.share_on_land > 0.99
    assert list(fit.countries) == ["RU", "FI", "NO"]
    assert list(fit.countries.values()) == sorted(fit.countries.values(), reverse=True)
    assert sum(fit.countries.values()) == 606
    no_land = evaluate_crs(kola["XCOO"].to_numpy(), kola["YCOO"].to_numpy(), "EPSG:32635",
                           None)
    assert np.isnan(no_land.share_on_land)
    assert no_land.countries == {}


# ------------------------------------------------------------------------ describe

def test_describe_writes_crs_countries_and_evidence(data_dir: Path, boundaries: Path,
                                                   tmp_path: Path) -> None:
    path = write_variant(data_dir, tmp_path, "kola", "EPSG:32635", ("E35wgs", "N35wgs"))
    proposal = propose(path, boundaries=boundaries)
    text = proposal.text
    assert 'countries = ["RU", "FI", "NO"]' in text
    assert 'x = "E35wgs"\ny = "N35wgs"\ncrs = "EPSG:32635"' in text
    assert "# WGS 84 / UTM zone 35N (EPSG:32635): " in text
    assert "# the column names point to zone 35, datum wgs84" in text
    desc = parse_descriptor(text)
    assert desc.coordinates.located
    assert "E35wgs" not in desc.sample.attributes
    assert proposal.decisions == []


# ------------------------------------------------------------------- ingest warnings

def _descriptor(csv: Path, coordinates: str, extra: str = "", countries: str = "") -> str:
    return f"""
[dataset]
id = "kola-variant"
title = "Kola C-horizon (renamed columns)"
{countries}

[source]
path = "{csv}"
{coordinates}

[sample]
id = "ID"
{extra}

[censoring]
encoding = "none"

[columns]
Cu = "Cu"
Ni = "Ni"
"""


def _ingest(tmp_path: Path, text: str, boundaries: Path) -> tuple[object, list[str]]:
    desc = parse_descriptor(text)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ChemearthWarning)
        report = ingest(open_store(tmp_path / "store"), desc, boundaries=boundaries)
    return report, [str(w.message) for w in caught if issubclass(w.category, ChemearthWarning)]


@pytest.mark.parametrize("as_attributes", [False, True], ids=["unused", "attributes"])
def test_ingest_warns_about_coordinates_without_coordinates_section(
    data_dir: Path, boundaries: Path, tmp_path: Path, as_attributes: bool
) -> None:
    """E35wgs/N35wgs are coordinates; without [coordinates] the samples have no location.
    Listed as attributes they are read as text: they are still recognised."""
    csv = write_variant(data_dir, tmp_path, "kola", "EPSG:32635", ("E35wgs", "N35wgs"))
    extra = 'attributes = ["E35wgs", "N35wgs"]' if as_attributes else ""
    report, caught = _ingest(tmp_path, _descriptor(csv, "", extra), boundaries)
    expected = ("the file has columns E35wgs/N35wgs that look like coordinates, but the "
                "descriptor has no [coordinates]: the samples are stored without locations")
    assert expected in report.warnings  # type: ignore[attr-defined]
    assert any(expected in m for m in caught)


def test_no_warning_when_the_coordinates_are_declared(data_dir: Path, boundaries: Path,
                                                      tmp_path: Path) -> None:
    csv = write_variant(data_dir, tmp_path, "kola", "EPSG:32635", ("E35wgs", "N35wgs"))
    coords = '[coordinates]\nx = "E35wgs"\ny = "N35wgs"\ncrs = "EPSG:32635"'
    report, caught = _ingest(tmp_path, _descriptor(csv, coords), boundaries)
    assert report.warnings == []  # type: ignore[attr-defined]
    assert caught == []
    assert report.n_samples == 606  # type: ignore[attr-defined]


SPREAD = [
    # (id, CRS declared, countries declared, warning expected, text in it)
    ("kola-right-zone", "EPSG:32635", "", False, ""),
    ("kola-wrong-zone-36", "EPSG:32636", "", True, "lie more than 10 km from any country"),
    ("kola-wrong-zone-with-countries", "EPSG:32636", 'countries = ["FI", "NO", "RU"]', False,
     ""),
]


@pytest.mark.parametrize(("crs", "countries", "warned", "text"), [s[1:] for s in SPREAD],
                         ids=[s[0] for s in SPREAD])
def test_ingest_warns_when_free_points_spread_implausibly(
    data_dir: Path, boundaries: Path, tmp_path: Path, crs: str, countries: str, warned: bool,
    text: str,
) -> None:
    """The Kola survey read in the wrong UTM zone (36N) and no [dataset].countries: a third
    of the points fall in the sea. With the countries declared, the rows are rejected as
    before and no warning is added."""
    csv = write_variant(data_dir, tmp_path, "kola", "EPSG:32635", ("XCOO", "YCOO"))
    coords = f'[coordinates]\nx = "XCOO"\ny = "YCOO"\ncrs = "{crs}"'
    report, caught = _ingest(tmp_path, _descriptor(csv, coords, countries=countries),
                             boundaries)
    spread = [w for w in report.warnings if "spread implausibly" in w]  # type: ignore[attr-defined]
    assert bool(spread) == warned
    if warned:
        assert text in spread[0]
        assert "of 606 points" in spread[0]
        assert any("spread implausibly" in m for m in caught)


def test_ingest_warns_when_points_fall_on_two_continents(data_dir: Path, boundaries: Path,
                                                         tmp_path: Path) -> None:
    """Real DS-801 (USA) and GEMAS (Europe) points in one file without [dataset].countries."""
    ds = pd.read_csv(data_dir / "usgs_ds801" / "ds801_top5_raw.csv", low_memory=False)
    ds = ds[ds["Latitude"].notna()].head(400)
    gemas = pd.read_csv(data_dir / "gemas" / "gemas.csv").head(400)
    both = pd.DataFrame({
        "ID": [f"us{i}" for i in range(len(ds))] + [f"eu{i}" for i in range(len(gemas))],
        "lon": np.r_[ds["Longitude"].to_numpy(float), gemas["longitude"].to_numpy(float)],
        "lat": np.r_[ds["Latitude"].to_numpy(float), gemas["latitude"].to_numpy(float)],
        "Cu": np.r_[np.ones(len(ds)), gemas["Zn"].to_numpy(float)],
        "Ni": np.ones(len(ds) + len(gemas)),
    })
    csv = tmp_path / "two-continents.csv"
    both.to_csv(csv, index=False)
    coords = '[coordinates]\nx = "lon"\ny = "lat"\ncrs = "EPSG:4326"'
    report, _caught = _ingest(tmp_path, _descriptor(csv, coords), boundaries)
    spread = [w for w in report.warnings if "spread implausibly" in w]  # type: ignore[attr-defined]
    assert len(spread) == 1
    # of the GEMAS 400, one is in Cyprus (Asia, as Natural Earth has it) and one is the
    # Serbian sample with a mistyped latitude, in the sea
    assert re.search(r"they fall on 2 continents \(North America 400, Europe 39\d\)",
                     spread[0])


@pytest.mark.parametrize(("counts", "expected"), [
    ({"FI": 300, "NO": 290, "RU": 10}, ""),
    ({"FI": 300, "": 10}, ""),  # 3 % off land: coastal points
    ({"FI": 300, "": 30}, "30 of 330 points (9%) lie more than 10 km from any country"),
    ({"US": 500, "CA": 20, "FI": 10}, ""),  # 2 % in Europe: strays, not a second continent
    ({"US": 500, "FI": 100}, "they fall on 2 continents (North America 500, Europe 100)"),
])
def test_spread_warning_thresholds(counts: dict[str, int], expected: str) -> None:
    got = spread_warning(counts)
    assert (expected in got) if expected else got == ""
