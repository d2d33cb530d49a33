"""Bring-your-own-survey corpus (issue 18): real surveys written the ways other surveys are.

Every case derives one survey file from a shared real dataset (``../shared/data``) by renaming,
reprojecting and re-encoding its columns the ways real surveys do, and says what
``describe`` -> ``check`` -> ``ingest``, run with no edits, must give:

* ``same``: the same samples (ids where the shipped descriptor names an id column, row for
  row), locations to 1 m, countries, and the same measurements (element, canonical unit,
  value, censored flag, and the detection limit of censored values) as ingesting the original
  file with its shipped descriptor. Descriptor-only metadata (title, medium, licence, methods,
  attributes) may differ.
* ``decision``: ``describe`` (or ``check``) stops with a decision whose text names what the
  user must decide (a regular expression, ``Case.decision``), instead of ingesting silently
  wrong values.

Files are written at run time into a folder the caller gives (a test's temporary folder):
the shared data are never copied into the repository.

Each case also has an *oracle*: the shipped descriptor with the case's renames, coordinates,
units and censoring applied by hand (the edits a user would make). Ingesting the case's file
with it must give ``same``; that checks the corpus and the comparison themselves, so that a
failing case is a finding about ``describe``/``check``/``ingest``, not about the corpus.

Run ``python tests/ingest/byos_corpus.py --table`` for the markdown table of the closing note
(``--oracle`` for the oracle runs, ``--keep DIR`` to keep the files, ``--case ID`` to run some).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import math
import os
import re
import sys
import tempfile
import time
import tomllib
import traceback
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "CASES",
    "DECISION",
    "DIFFERENT",
    "ERROR",
    "SAME",
    "Built",
    "Case",
    "Layout",
    "Outcome",
    "Runner",
    "load_shipped",
    "markdown_table",
    "oracle_descriptor",
    "oracle_raw",
]

SAME = "same"
DECISION = "decision"
#: Outcomes that are neither: ingested but different from the shipped result, or failed.
DIFFERENT = "different"
ERROR = "error"

#: Largest distance between a sample's location here and in the reference, in metres.
LOCATION_TOLERANCE_M = 1.0
#: Relative tolerance on stored values (µg/kg -> mg/kg conversions round in the last bit).
VALUE_RTOL = 1e-9

_CHECK_MODULE = "chemearth.ingest.check"


# ------------------------------------------------------------------------------- the cases


@dataclass(frozen=True)
class Layout:
    """How a case's table is written.

    ``units`` gives a units row under the header (column -> unit text); ``title`` lines go
    above the header; an ``.xlsx`` gets a first sheet of ``notes`` and the data on ``sheet``;
    ``dates`` are written as date cells in a workbook.
    """

    name: str
    sep: str = ","
    title: tuple[str, ...] = ()
    units: Mapping[str, str] | None = None
    sheet: str = ""
    notes: tuple[str, ...] = ()
    dates: tuple[str, ...] = ()

    @property
    def header_row(self) -> int:
        """1-based line (or sheet row) of the column names."""
        return len(self.title) + 1

    @property
    def units_row(self) -> int:
        """1-based line of the units row, 0 without one."""
        return self.header_row + 1 if self.units else 0

    @property
    def first_row(self) -> int:
        """1-based line (or sheet row) of the first data row."""
        return self.header_row + 1 + (1 if self.units else 0)


@dataclass(frozen=True)
class Built:
    """A case's file as written, and where its data start."""

    path: Path
    header_row: int
    units_row: int
    first_row: int
    sheet: str | None = None


Recode = Callable[[pd.DataFrame, pd.DataFrame, Path, "Case"], pd.DataFrame]


@dataclass(frozen=True)
class Case:
    """One survey file of the corpus.

    ``names`` maps the original file's columns to this file's, in this file's order; the
    analyte columns among them are compared with the shipped ingest. ``crs`` is the CRS of
    this file's coordinates (they are reprojected when it differs from the shipped one; empty
    for tables without coordinates). ``recode`` re-encodes values (units, censoring marks)
    after renaming. ``censoring`` and ``units`` are the oracle's edits of the shipped
    descriptor (a whole ``[censoring]`` section; units per new column name).
    """

    id: str
    source: str
    varied: str
    names: Mapping[str, str]
    layout: Layout
    crs: str = ""
    recode: Recode | None = None
    expect: str = SAME
    decision: str = ""
    censoring: Mapping[str, Any] | None = None
    units: Mapping[str, str] = field(default_factory=dict)

    @property
    def sheet(self) -> str | None:
        """The worksheet to describe (workbooks only)."""
        return self.layout.sheet or None

    @property
    def expected(self) -> str:
        """The expected outcome in words."""
        if self.expect == SAME:
            return "same as shipped"
        return f"stops with a decision naming /{self.decision}/"

    def build(self, data_dir: Path, folder: Path) -> Built:
        """Write this case's survey file into ``folder`` from the shared data."""
        folder.mkdir(parents=True, exist_ok=True)
        shipped = load_shipped(self.source)
        original = read_text_table(data_dir / shipped.source.path)
        df = pd.DataFrame({new: original[old] for old, new in self.names.items()})
        if shipped.coordinates.located and self.crs and self.crs != shipped.coordinates.crs:
            x, y = shipped.coordinates.x, shipped.coordinates.y
            df[self.names[x]], df[self.names[y]] = reproject_text(
                original[x], original[y], shipped.coordinates.crs, self.crs
            )
        if self.recode is not None:
            df = self.recode(df, original, data_dir, self)
        path = folder / self.layout.name
        if path.suffix == ".xlsx":
            write_xlsx(path, df, self.layout)
        else:
            write_csv(path, df, self.layout)
        lay = self.layout
        return Built(path, lay.header_row, lay.units_row, lay.first_row, self.sheet)


def load_shipped(dataset_id: str) -> Any:
    """The shipped descriptor ``dataset_id``, parsed."""
    from chemearth.ingest.descriptor import load_descriptor
    from chemearth.ingest.shipped import shipped_descriptor

    path = shipped_descriptor(dataset_id)
    if path is None:
        raise LookupError(f"no shipped descriptor {dataset_id!r}")
    return load_descriptor(path)


# ------------------------------------------------------------------ reading and writing


def read_text_table(path: Path) -> pd.DataFrame:
    """A CSV file with every cell as the text written in it ("" when empty)."""
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)


def _floats(values: pd.Series) -> np.ndarray:
    return pd.to_numeric(values.replace("", np.nan), errors="raise").to_numpy(float)


def _lonlat(x: np.ndarray, y: np.ndarray, crs: str) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 lon/lat of (x, y) in ``crs``, as the ingest pipeline computes them: geographic
    WGS84/NAD83/ETRS89 numbers as they are, anything else through pyproj."""
    from pyproj import CRS, Transformer

    src = CRS.from_user_input(crs)
    if src.is_geographic and src.to_epsg() in (4326, 4269, 4258, 4283, 4167):
        return x, y
    lon, lat = Transformer.from_crs(src, "EPSG:4326", always_xy=True).transform(x, y)
    return np.asarray(lon, float), np.asarray(lat, float)


def reproject_text(
    x: pd.Series, y: pd.Series, src: str, dst: str
) -> tuple[list[str], list[str]]:
    """Coordinates in ``src`` written as text in ``dst`` (degrees to 1e-8, metres to 1 mm).

    The new coordinates go through WGS84 lon/lat exactly as the pipeline reads both CRSs, and
    the round trip back to lon/lat is checked to agree within 1 cm.
    """
    from pyproj import CRS, Transformer

    lon, lat = _lonlat(_floats(x), _floats(y), src)
    target = CRS.from_user_input(dst)
    if target.is_geographic:
        nx, ny = lon, lat
    else:
        nx, ny = Transformer.from_crs("EPSG:4326", target, always_xy=True).transform(lon, lat)
    digits = 8 if target.is_geographic else 3
    tx = ["" if math.isnan(v) else f"{v:.{digits}f}" for v in nx]
    ty = ["" if math.isnan(v) else f"{v:.{digits}f}" for v in ny]
    back_lon, back_lat = _lonlat(_floats(pd.Series(tx)), _floats(pd.Series(ty)), dst)
    ok = np.isnan(lon) | (
        (np.abs(back_lon - lon) * np.cos(np.radians(lat)) < 1e-7) & (np.abs(back_lat - lat) < 1e-7)
    )
    if not ok.all():
        raise ValueError(f"{src} -> {dst}: {int((~ok).sum())} points do not round-trip to 1 cm")
    return tx, ty


def write_csv(path: Path, df: pd.DataFrame, layout: Layout) -> None:
    """Write ``df`` (text cells) as a delimited file with the layout's title and units rows."""
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, delimiter=layout.sep, lineterminator="\n")
        for line in layout.title:
            w.writerow([line] if line else [])
        w.writerow(list(df.columns))
        if layout.units:
            w.writerow([layout.units.get(c, "") for c in df.columns])
        w.writerows(df.itertuples(index=False, name=None))


_INT = re.compile(r"^[+-]?\d+$")
_FLOAT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def _cell(text: str, as_date: bool) -> object:
    """A workbook cell for a text value: numbers as numbers, dates as dates, text as text."""
    if text == "":
        return None
    if as_date:
        return dt.date.fromisoformat(text)
    if _INT.match(text):
        return int(text)
    if _FLOAT.match(text):
        return float(text)
    return text


def write_xlsx(path: Path, df: pd.DataFrame, layout: Layout) -> None:
    """Write ``df`` to a workbook: a notes sheet first, then the data sheet."""
    import openpyxl

    wb = openpyxl.Workbook()
    notes = wb.active
    notes.title = "Notes"
    for line in layout.notes:
        notes.append([line])
    ws = wb.create_sheet(layout.sheet or "data")
    for line in layout.title:
        ws.append([line] if line else [])
    ws.append(list(df.columns))
    if layout.units:
        ws.append([layout.units.get(c) or None for c in df.columns])
    dated = [c in layout.dates for c in df.columns]
    for row in df.itertuples(index=False, name=None):
        ws.append([_cell(v, d) for v, d in zip(row, dated, strict=True)])
    wb.save(path)


# ---------------------------------------------------------------------------- re-encodings


def _decimal_text(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text[:-2] if text.endswith(".0") else text


def scale(column: str, factor: int) -> Recode:
    """Multiply the (new) column by ``factor``, exactly in decimal (mg/kg -> µg/kg: 1000)."""

    def recode(df: pd.DataFrame, _orig: pd.DataFrame, _data: Path, _case: Case) -> pd.DataFrame:
        df[column] = [_decimal_text(Decimal(v) * factor) if v else v for v in df[column]]
        return df

    return recode


def lt_from_limits(limits_file: str, factor: float = 0.5) -> Recode:
    """Write substituted constants as ``<DL``: every value in (0, factor x DL] of a column
    with a limit in ``limits_file`` (columns ``column``, ``detection_limit``, named by the
    original column) - the rule the pipeline applies to ``encoding = "substituted"``."""

    def recode(df: pd.DataFrame, _orig: pd.DataFrame, data: Path, case: Case) -> pd.DataFrame:
        limits = read_text_table(data / limits_file)
        dl = dict(zip(limits["column"], limits["detection_limit"], strict=True))
        for old, new in case.names.items():
            if old not in dl:
                continue
            limit = float(dl[old])
            mark = f"<{limit:g}"
            df[new] = [
                mark if v and 0 < float(v) <= factor * limit * (1 + 1e-6) else v for v in df[new]
            ]
        return df

    return recode


def lt_from_flag_file(flag_file: str, id_column: str, factor: float) -> Recode:
    """Write the flagged (``left``) constants, substituted at ``factor`` x DL, as ``<DL``."""

    def recode(df: pd.DataFrame, orig: pd.DataFrame, data: Path, case: Case) -> pd.DataFrame:
        flags = read_text_table(data / flag_file).set_index(id_column)
        flags = flags.loc[orig[id_column]]
        for old, new in case.names.items():
            if old not in flags.columns:
                continue
            left = (flags[old] == "left").to_numpy()
            df[new] = [
                f"<{float(v) / factor:.10g}" if flag and v else v
                for v, flag in zip(df[new], left, strict=True)
            ]
        return df

    return recode


def upper_flags(*columns: str) -> Recode:
    """Write boolean flags as R's ``TRUE``/``FALSE``."""

    def recode(df: pd.DataFrame, _orig: pd.DataFrame, _data: Path, _case: Case) -> pd.DataFrame:
        for c in columns:
            df[c] = df[c].str.upper()
        return df

    return recode


# -------------------------------------------------------------------------- the corpus


def _same(*names: str) -> dict[str, str]:
    return {n: n for n in names}


_GEMAS_ELEMENTS = ("Al", "Ba", "Ca", "Cr", "Fe", "K", "Mg", "Mn", "Na", "Nb", "P", "Si", "Sr",
                   "Ti", "V", "Y", "Zn", "Zr")  # fmt: skip
_GEMAS_ENGLISH = ("aluminium", "barium", "calcium", "chromium", "iron", "potassium", "magnesium",
                  "manganese", "sodium", "niobium", "phosphorus", "silicon", "strontium",
                  "titanium", "vanadium", "yttrium", "zinc", "zirconium")  # fmt: skip
_HUMUS_ELEMENTS = ("Ag", "Al", "As", "B", "Ba", "Be", "Bi", "Ca", "Cd", "Co", "Cr", "Cu", "Fe",
                   "Hg", "K", "La", "Mg", "Mn", "Mo", "Na", "Ni", "P", "Pb", "Rb", "S", "Sb",
                   "Sc", "Si", "Sr", "Th", "Tl", "U", "V", "Y", "Zn")  # fmt: skip
_BSS_OXIDES = ("SiO2", "TiO2", "Al2O3", "Fe2O3", "MnO", "MgO", "CaO", "Na2O", "K2O", "P2O5",
               "SO3")  # fmt: skip
_BSS_TRACES = ("As", "Ba", "Bi", "Ce", "Co", "Cr", "Cs", "Cu", "Ga", "Hf", "La", "Mo", "Nb", "Ni",
               "Pb", "Rb", "Sb", "Sc", "Sn", "Sr", "Ta", "Th", "U", "V", "W", "Y", "Zn",
               "Zr")  # fmt: skip
_COLORADO = ("Al", "Ca", "Fe", "K", "Mg", "Na", "S", "Ti", "As", "Ba", "Be", "Bi", "Cd", "Ce",
             "Co", "Cr", "Cu", "Ga", "In", "La", "Li", "Mn", "Mo", "Nb", "Ni", "P", "Pb", "Rb",
             "Sb", "Sc", "Sn", "Sr", "Th", "Tl", "U", "V", "W", "Y", "Zn")  # fmt: skip
_LT = "lt_string"


_DS801_XLSX_NAMES = _same(
    "SiteID", "StateID", "Latitude", "Longitude", "CollDate", "LandCover1", "Top5_Ag",
    "Top5_Al", "Top5_As", "Top5_Ca", "Top5_Cd", "Top5_Cu", "Top5_Fe", "Top5_Hg", "Top5_Pb",
    "Top5_Se", "Top5_Zn",
)  # fmt: skip
# the units row of the DS-801 spreadsheet, for the columns kept (ds801_top5_units.csv)
_DS801_XLSX_UNITS = {"Latitude": "Degrees", "Longitude": "Degrees", "Top5_Al": "wt. %",
                     "Top5_Ca": "wt. %", "Top5_Fe": "wt. %", "Top5_Ag": "mg/kg",
                     "Top5_As": "mg/kg", "Top5_Cd": "mg/kg", "Top5_Cu": "mg/kg",
                     "Top5_Hg": "mg/kg", "Top5_Pb": "mg/kg", "Top5_Se": "mg/kg",
                     "Top5_Zn": "mg/kg"}  # fmt: skip

CASES: tuple[Case, ...] = (
    Case(
        "kola-e35wgs",
        "kola-chorizon",
        "UTM 35N coordinates renamed E35wgs/N35wgs (zone and datum only in the names); "
        "numeric country code column COUN",
        {"ID": "ID", "XCOO": "E35wgs", "YCOO": "N35wgs", **_same(
            "Cu", "Ni", "Pb", "Zn", "Co", "Cr", "V", "Mo", "ELEV", "COUN", "LITO")},
        Layout("kola_c_e35wgs.csv"),
        crs="EPSG:32635",
    ),
    Case(
        "kola-dde-ddn-ppm",
        "kola-chorizon",
        "UTM 35N reprojected to lon/lat named DDE/DDN; element columns Cu_ppm, Ni_ppm...",
        {"ID": "ID", "XCOO": "DDE", "YCOO": "DDN", "Cu": "Cu_ppm", "Ni": "Ni_ppm",
         "Pb": "Pb_ppm", "Zn": "Zn_ppm", "Cr": "Cr_ppm", "Mn": "Mn_ppm", "Fe": "Fe_ppm"},
        Layout("kola_c_lonlat_ppm.csv"),
        crs="EPSG:4326",
    ),
    Case(
        "kola-units-row",
        "kola-chorizon",
        "units in a second header row (mg/kg, wt.%, %, mS/m; pH blank); XRF element wt.% "
        "and oxide columns, LOI, EC; coordinates UTM35N_E/UTM35N_N",
        {"ID": "ID", "XCOO": "UTM35N_E", "YCOO": "UTM35N_N", **_same(
            "Cu", "Zn", "Al_XRF", "Fe_XRF", "K2O", "CaO", "LOI", "EC", "pH")},
        Layout("kola_c_units_row.csv", units={
            "UTM35N_E": "m", "UTM35N_N": "m", "Cu": "mg/kg", "Zn": "mg/kg", "Al_XRF": "wt.%",
            "Fe_XRF": "wt.%", "K2O": "wt.%", "CaO": "wt.%", "LOI": "%", "EC": "mS/m"}),
        crs="EPSG:32635",
    ),
    Case(
        "kola-au-ppb-oxides-pct",
        "kola-chorizon",
        "Au_INAA x1000 as AU_PPB (µg/kg); Fe2O3_pct, SiO2_pct, Al2O3_pct; LOI_480; pH_H2O; "
        "Cu_AR...; coordinates EAST_UTM35/NORTH_UTM35",
        {"ID": "ID", "XCOO": "EAST_UTM35", "YCOO": "NORTH_UTM35", "Au_INAA": "AU_PPB",
         "Fe2O3": "Fe2O3_pct", "SiO2": "SiO2_pct", "Al2O3": "Al2O3_pct", "LOI": "LOI_480",
         "pH": "pH_H2O", "Cu": "Cu_AR", "Ni": "Ni_AR", "Zn": "Zn_AR"},
        Layout("kola_c_au_ppb.csv"),
        crs="EPSG:32635",
        recode=scale("AU_PPB", 1000),
        units={"AU_PPB": "µg/kg"},
    ),
    Case(
        "kola-lt-from-limits",
        "kola-chorizon",
        "half-DL constants re-encoded as '<DL' strings from the published limits; UTM 35N "
        "reprojected to LONG_WGS84/LAT_WGS84",
        {"ID": "ID", "XCOO": "LONG_WGS84", "YCOO": "LAT_WGS84", **_same(
            "Ag", "As", "Bi", "Co_INAA", "K", "Nd_INAA", "S", "Sc", "Cu", "Zn")},
        Layout("kola_c_lt_strings.csv"),
        crs="EPSG:4326",
        recode=lt_from_limits("kola/chorizonDL_detection_limits.csv"),
        censoring={"encoding": _LT},
    ),
    Case(
        "kola-dl-zeros",
        "kola-chorizon-dl",
        "0 = below DL with the limits published elsewhere (no limits file given); "
        "id column SAMPLE; coordinates UTM35_X/UTM35_Y",
        {"*ID": "SAMPLE", "XCOO": "UTM35_X", "YCOO": "UTM35_Y", **_same(
            "Ag", "As", "Bi", "Cu", "K", "S", "Zn")},
        Layout("kola_c_zeros.csv"),
        crs="EPSG:32635",
        expect=DECISION,
        decision=r"zero|detection.?limit|limits?_file",
    ),
    Case(
        "gemas-laea",
        "gemas",
        "lon/lat reprojected to ETRS89-LAEA (EPSG:3035) as X_LAEA/Y_LAEA next to a Y "
        "(yttrium) column; GEMAS country codes",
        {"COUNTRY": "COUNTRY", "longitude": "X_LAEA", "latitude": "Y_LAEA",
         **_same(*_GEMAS_ELEMENTS, "LOI")},
        Layout("gemas_laea.csv"),
        crs="EPSG:3035",
    ),
    Case(
        "gemas-utm33-xlsx",
        "gemas",
        "Excel workbook, notes sheet first; lon/lat reprojected to UTM 33N for all of Europe "
        "(UTM33N_E/UTM33N_N); upper-case element names AL, BA, FE...",
        {"COUNTRY": "Country", "longitude": "UTM33N_E", "latitude": "UTM33N_N",
         **{e: e.upper() for e in _GEMAS_ELEMENTS}, "LOI": "LOI"},
        Layout("gemas_utm33.xlsx", sheet="GEMAS_Ap", notes=(
            "GEMAS agricultural soils (Ap, 0-20 cm), XRF totals in mg/kg, LOI in wt.%.",
            "Coordinates: UTM zone 33N (WGS84), metres, for the whole of Europe.",
            "Reimann et al. (2014), Geologisches Jahrbuch B 102.")),
        crs="EPSG:32633",
    ),
    Case(
        "gemas-english-names",
        "gemas",
        "element columns named in English (aluminium, iron, potassium...); Lon/Lat; grain "
        "size sand/silt/clay and site attributes",
        {"COUNTRY": "COUNTRY", "longitude": "Lon", "latitude": "Lat",
         **_same("MeanTemp", "AnnPrec", "soilclass", "sand", "silt", "clay"),
         **dict(zip(_GEMAS_ELEMENTS, _GEMAS_ENGLISH, strict=True)), "LOI": "LOI"},
        Layout("gemas_english.csv"),
        crs="EPSG:4326",
    ),
    Case(
        "meuse-utm31n",
        "meuse",
        "RD New reprojected to UTM 31N (E_UTM31N/N_UTM31N)",
        {"x": "E_UTM31N", "y": "N_UTM31N", **_same(
            "cadmium", "copper", "lead", "zinc", "elev", "om", "landuse")},
        Layout("meuse_utm31n.csv"),
        crs="EPSG:32631",
    ),
    Case(
        "meuse-semicolon-title",
        "meuse",
        "';'-delimited, a title block above the header; RD New as X_RD/Y_RD; Cd_ppm, Cu_ppm...",
        {"x": "X_RD", "y": "Y_RD", "cadmium": "Cd_ppm", "copper": "Cu_ppm", "lead": "Pb_ppm",
         "zinc": "Zn_ppm", **_same("elev", "ffreq", "soil")},
        Layout("meuse_semicolon.csv", sep=";", title=(
            "Heavy metals in topsoils of the Meuse floodplain (Rikken & Van Rijn 1993)",
            "Sampled 1990; concentrations in mg/kg dry weight",
            "")),
        crs="EPSG:28992",
    ),
    Case(
        "ngs-albers-to-lonlat",
        "usgs-ngs-il-in",
        "NAD83 Conus Albers reprojected to lon/lat (LONG_DD/LAT_DD); MG_ICP40_PCT, "
        "K_ICP40_PCT; negative DL (-2 = <2)",
        {"LABNO": "LABNO", "x_albers": "LONG_DD", "y_albers": "LAT_DD", **_same(
            "PB_ICP40", "CU_ICP40", "CD_ICP40", "AS_ICP40"), "MG_ICP40": "MG_ICP40_PCT",
         "K_ICP40": "K_ICP40_PCT", **_same("TYPEDESC", "CATEGORY")},
        Layout("ngs_lonlat.csv"),
        crs="EPSG:4326",
    ),
    Case(
        "ngs-majors-without-unit",
        "usgs-ngs-il-in",
        "CU_ICP40-style names, the wt.% majors MG_ICP40/K_ICP40 without a unit anywhere "
        "(only their magnitude tells); lon/lat as LONGITUDE/LATITUDE; negative DL",
        {"LABNO": "LAB_ID", "x_albers": "LONGITUDE", "y_albers": "LATITUDE", **_same(
            "CU_ICP40", "PB_ICP40", "CD_ICP40", "MG_ICP40", "K_ICP40")},
        Layout("ngs_no_units.csv"),
        crs="EPSG:4326",
    ),
    Case(
        "ds801-xlsx-title-units",
        "usgs-ds801-top5-csv",
        "Excel workbook: notes sheet first, title block, header, units row (wt. %, mg/kg); "
        "'<x' strings and N.S.; dates as date cells",
        _DS801_XLSX_NAMES,
        Layout("ds801_top5.xlsx", sheet="Top5 soils", title=(
            "Appendix 2a. Soil samples, 0 to 5 cm depth: chemical data",
            "Smith et al. (2013), USGS Data Series 801",
            ""), units=_DS801_XLSX_UNITS, notes=(
            "N.S. = not sampled; <x = below the detection limit x.",
            "Coordinates in decimal degrees, NAD83."), dates=("CollDate",)),
        crs="EPSG:4269",
    ),
    Case(
        "ds801-semicolon-ppm",
        "usgs-ds801-top5-csv",
        "';'-delimited; units in the names (Cu_ppm, Al_pct); LAT_NAD83/LONG_NAD83; '<x' "
        "strings and N.S.",
        {"SiteID": "SiteID", "Latitude": "LAT_NAD83", "Longitude": "LONG_NAD83",
         "Top5_Ag": "Ag_ppm", "Top5_Al": "Al_pct", "Top5_As": "As_ppm", "Top5_Ca": "Ca_pct",
         "Top5_Cd": "Cd_ppm", "Top5_Cu": "Cu_ppm", "Top5_Fe": "Fe_pct", "Top5_K": "K_pct",
         "Top5_Pb": "Pb_ppm", "Top5_Zn": "Zn_ppm"},
        Layout("ds801_semicolon.csv", sep=";"),
        crs="EPSG:4269",
    ),
    Case(
        "jura-lv95-english",
        "jura",
        "lon/lat reprojected to the Swiss national grid LV95 (X_LV95/Y_LV95, "
        "X_ITM-style); elements in English (Cadmium, Copper...)",
        {"long": "X_LV95", "lat": "Y_LV95", **_same("Landuse", "Rock"), "Cd": "Cadmium",
         "Co": "Cobalt", "Cr": "Chromium", "Cu": "Copper", "Ni": "Nickel", "Pb": "Lead",
         "Zn": "Zinc"},
        Layout("jura_lv95.csv"),
        crs="EPSG:2056",
    ),
    Case(
        "bss-top-half-dl",
        "bss-top",
        "half-DL constants as shipped (no flag, no limits); extended UTM 35N reprojected to "
        "Long/Lat; Cl_T_pct, F_T_pct",
        {"ID": "ID", "CNo": "CNo", "XCOO": "Long", "YCOO": "Lat",
         **_same(*(f"{o}_T" for o in _BSS_OXIDES)), "Cl_T": "Cl_T_pct", "F_T": "F_T_pct",
         "LOI_T": "LOI_T", **_same(*(f"{e}_T" for e in _BSS_TRACES))},
        Layout("bss_top_lonlat.csv"),
        crs="EPSG:4326",
    ),
    Case(
        "kola-humus-units-in-names",
        "kola-humus",
        "half-DL constants as shipped; C_pct, H_pct, N_pct, LOI_pct, 'Cond (µS/cm)'; "
        "coordinates Easting_UTM35N_WGS84/Northing_UTM35N_WGS84",
        {"ID": "ID", "XCOO": "Easting_UTM35N_WGS84", "YCOO": "Northing_UTM35N_WGS84",
         **_same(*_HUMUS_ELEMENTS), "C": "C_pct", "H": "H_pct", "N": "N_pct",
         "LOI": "LOI_pct", "pH": "pH", "Cond": "Cond (µS/cm)"},
        Layout("kola_humus_units.csv"),
        crs="EPSG:32635",
    ),
    Case(
        "nada-cadmium-cen-flags",
        "nada-cadmium",
        "boolean *Cen flags written TRUE/FALSE, before their value column; no coordinates",
        {"Region": "Region", "CdCen": "CdCen", "Cd": "Cd"},
        Layout("cadmium_flags.csv"),
        recode=upper_flags("CdCen"),
    ),
    Case(
        "colorado-flags-as-lt",
        "usgs-ds520-colorado",
        "0.65 x DL constants flagged in a separate file re-encoded as '<DL' strings; LON/LAT",
        {"sample": "sample", "longitude": "LON", "latitude": "LAT", **_same(*_COLORADO)},
        Layout("colorado_lt.csv"),
        crs="EPSG:4326",
        recode=lt_from_flag_file(
            "usgs_ds520_colorado/colorado_soils_gcclust_censor_indicators.csv", "sample", 0.65
        ),
        censoring={"encoding": _LT},
    ),
    Case(
        "kola-moss-me-mn",
        "kola-moss",
        "UTM 35N coordinates as mE/mN with no zone or datum in the file: only the geography "
        "of 598 points (coasts, three countries) fixes the zone",
        {"ID": "ID", "XCOO": "mE", "YCOO": "mN", **_same("Cu", "Ni", "Pb", "Zn", "Cd", "Fe")},
        Layout("kola_moss_me_mn.csv"),
        crs="EPSG:32635",
    ),
    Case(
        "meuse-me-mn-no-zone",
        "meuse",
        "RD New reprojected to UTM 31N written as mE/mN with no zone or datum: 155 points in "
        "a few km2 land on land in any zone, so the zone cannot be inferred",
        {"x": "mE", "y": "mN", **_same("cadmium", "copper", "lead", "zinc")},
        Layout("meuse_me_mn.csv"),
        crs="EPSG:32631",
        expect=DECISION,
        decision=r"\bcrs\b|coordinate|\bmE\b|\bmN\b|zone",
    ),
    Case(
        "bss-bottom-short-oxides",
        "bss-bottom",
        "upper-case oxide names without units (SIO2, FE2O3, MNO...), P2O5 truncated to P2O; "
        "lon/lat",
        {"ID": "ID", "XCOO": "lon", "YCOO": "lat", "SiO2_B": "SIO2", "TiO2_B": "TIO2",
         "Al2O3_B": "AL2O3", "Fe2O3_B": "FE2O3", "MnO_B": "MNO", "MgO_B": "MGO",
         "CaO_B": "CAO", "Na2O_B": "NA2O", "K2O_B": "K2O", "P2O5_B": "P2O", "LOI_B": "LOI"},
        Layout("bss_bottom_short.csv"),
        crs="EPSG:4326",
    ),
    Case(
        "bss-top-extended-utm35",
        "bss-top",
        "the published XCOO/YCOO as they are: UTM 35N extended far west of the zone (eastings "
        "down to -806 km), no zone or datum in the file: only the geography of 768 points in "
        "10 countries fixes the CRS",
        _same("ID", "CNo", "XCOO", "YCOO", "Ba_T", "Rb_T", "Sr_T", "Zr_T"),
        Layout("bss_top_xcoo.csv"),
        crs="EPSG:32635",
    ),
    Case(
        "kola-ec-no-unit",
        "kola-chorizon",
        "EC with no unit anywhere (0.14-4.2: mS/m as published, but dS/m or mS/cm fit a "
        "soil extract as well); lon/lat",
        {"ID": "ID", "XCOO": "longitude", "YCOO": "latitude", **_same("Cu", "Zn", "pH", "EC")},
        Layout("kola_c_ec.csv"),
        crs="EPSG:4326",
        expect=DECISION,
        decision=r"\bEC\b",
    ),
)


def case_by_id(case_id: str) -> Case:
    """The case called ``case_id``."""
    for case in CASES:
        if case.id == case_id:
            return case
    raise KeyError(case_id)


# ------------------------------------------------------------------------ the oracle


def _rename_list(values: Iterable[str], names: Mapping[str, str]) -> list[str]:
    return [names[v] for v in values if v in names]


def _rescaled(
    sub: dict[str, Any], raw: dict[str, Any], column: str, unit: str | None
) -> dict[str, Any]:
    """A ``[censoring.substituted]`` entry in the column's new unit (when the case changed it)."""
    from chemearth.reference.units import unit_factor

    if not unit:
        return sub
    spec = raw["columns"][column]
    old = (spec.get("unit") if isinstance(spec, dict) else None) or raw["defaults"]["unit"]
    k = unit_factor(old, unit)
    return {**sub, "value": sub["value"] * k, "detection_limit": sub["detection_limit"] * k}


def oracle_descriptor(case: Case, built: Built, data_dir: Path) -> str:
    """The shipped descriptor edited by hand for this case's file (TOML text)."""
    import tomli_w

    return tomli_w.dumps(oracle_raw(case, built, data_dir))


def oracle_raw(case: Case, built: Built, data_dir: Path) -> dict[str, Any]:
    """The shipped descriptor edited by hand for this case's file (parsed TOML)."""
    from chemearth.ingest.shipped import shipped_descriptor

    raw = tomllib.loads(shipped_descriptor(case.source).read_text(encoding="utf-8"))
    names = case.names
    src = raw["source"]
    for key in ("units_row", "sheet"):
        src.pop(key, None)
    src.update(path=str(built.path), header_row=built.header_row)
    if built.units_row:
        src["units_row"] = built.units_row
    if built.sheet:
        src["sheet"] = built.sheet
    if "coordinates" in raw:
        co = raw["coordinates"]
        co["x"], co["y"], co["crs"] = names[co["x"]], names[co["y"]], case.crs
        if co.get("country_column"):
            co["country_column"] = names[co["country_column"]]
    _oracle_sample(raw.get("sample", {}), names)
    if case.censoring is not None:
        raw["censoring"] = dict(case.censoring)
    else:
        _oracle_censoring(raw, case, data_dir)
    columns = {}
    for old, spec in raw["columns"].items():
        if old in names:
            new = names[old]
            columns[new] = _with_unit(spec, case.units[new]) if new in case.units else spec
    raw["columns"] = columns
    return raw


def _with_unit(spec: str | dict[str, Any], unit: str) -> dict[str, Any]:
    out = {"element": spec} if isinstance(spec, str) else dict(spec)
    out["unit"] = unit
    return out


def _oracle_sample(sample: dict[str, Any], names: Mapping[str, str]) -> None:
    """``[sample]`` with the renamed columns (the ones the case dropped left out)."""
    for key in ("id", "date", "medium_column"):
        if key in sample:
            if sample[key] in names:
                sample[key] = names[sample[key]]
            else:
                del sample[key]
    if "medium_column" not in sample:
        sample.pop("medium_map", None)
    if "attributes" in sample:
        sample["attributes"] = _rename_list(sample["attributes"], names)


def _oracle_censoring(raw: dict[str, Any], case: Case, data_dir: Path) -> None:
    """The shipped ``[censoring]`` with absolute file paths and renamed constants."""
    cens = raw.get("censoring", {})
    for key in ("limits_file", "flag_file"):
        if cens.get(key):
            cens[key] = str(data_dir / cens[key])
    if "substituted" in cens:
        cens["substituted"] = {
            case.names[c]: _rescaled(v, raw, c, case.units.get(case.names[c]))
            for c, v in cens["substituted"].items() if c in case.names
        }


# ------------------------------------------------------------------- running and comparing


@dataclass
class Snapshot:
    """What one ingest stored, indexed by data row (0 = the first data row of the file)."""

    samples: pd.DataFrame
    measurements: pd.DataFrame
    rejects: list[str] = field(default_factory=list)


def snapshot(
    store: Any, dataset_id: str, first_row: int, rejects: list[str] | None = None
) -> Snapshot:
    """Samples and measurements of ``dataset_id`` in ``store`` by data row."""
    s = store.samples(dataset_id).copy()
    s["row"] = s["source_row"].astype(int) - first_row
    m = store.measurements(dataset_id)
    row_of = dict(zip(s["sample_index"], s["row"], strict=True))
    m = m.assign(row=m["sample_index"].map(row_of))
    keep = ["row", "source_column", "element", "unit", "value", "censored", "detection_limit"]
    return Snapshot(s.set_index("row").sort_index(), m[keep].reset_index(drop=True),
                    rejects or [])


def _norm_id(value: object) -> str:
    """An id as text, a whole number without ".0" (Kola writes ID 1 as "1.0")."""
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        return text
    return str(int(number)) if number.is_integer() else text


def _examples(rows: Iterable[object], n: int = 3) -> str:
    rows = list(rows)
    more = f" (+{len(rows) - n} more)" if len(rows) > n else ""
    return ", ".join(str(r) for r in rows[:n]) + more


def compare_samples(ref: pd.DataFrame, var: pd.DataFrame, ids: bool, dates: bool) -> list[str]:
    """Differences between two sample tables indexed by data row."""
    from pyproj import Geod

    out = []
    only_ref = ref.index.difference(var.index)
    only_var = var.index.difference(ref.index)
    if len(only_ref) or len(only_var):
        out.append(
            f"samples: {len(ref)} in the shipped ingest, {len(var)} here; data rows missing "
            f"here: [{_examples(only_ref)}]; extra here: [{_examples(only_var)}]"
        )
    common = ref.index.intersection(var.index)
    r, v = ref.loc[common], var.loc[common]
    if ids:
        a = r["sample_id"].map(_norm_id)
        b = v["sample_id"].map(_norm_id)
        bad = a != b
        if bad.any():
            pairs = (f"{x!r} vs {y!r}" for x, y in zip(a[bad], b[bad], strict=True))
            out.append(f"sample ids differ in {int(bad.sum())} rows, e.g. {_examples(pairs)}")
    lon1, lat1 = r["longitude"].to_numpy(float), r["latitude"].to_numpy(float)
    lon2, lat2 = v["longitude"].to_numpy(float), v["latitude"].to_numpy(float)
    nan = np.isnan(lon1) | np.isnan(lat1) | np.isnan(lon2) | np.isnan(lat2)
    nan_bad = (np.isnan(lon1) | np.isnan(lat1)) != (np.isnan(lon2) | np.isnan(lat2))
    if nan_bad.any():
        out.append(f"locations missing on one side only in {int(nan_bad.sum())} rows")
    if (~nan).any():
        ok = ~nan
        _, _, dist = Geod(ellps="WGS84").inv(lon1[ok], lat1[ok], lon2[ok], lat2[ok])
        far = np.asarray(dist) > LOCATION_TOLERANCE_M
        if far.any():
            rows = common[ok][far]
            out.append(
                f"locations differ by more than {LOCATION_TOLERANCE_M:g} m in {int(far.sum())} "
                f"of {int(ok.sum())} samples (max {float(np.max(dist)):.4g} m; rows "
                f"{_examples(rows)}; e.g. {lon1[ok][far][0]:.6f},{lat1[ok][far][0]:.6f} vs "
                f"{lon2[ok][far][0]:.6f},{lat2[ok][far][0]:.6f})"
            )
    out += _compare_column(r, v, "country", "countries")
    out += _compare_column(r, v, "sampled", "sampled flags")
    if dates:
        out += _compare_column(r, v, "sampled_on", "sampling dates",
                               lambda s: s.map(lambda d: "" if pd.isna(d) else str(d)[:10]))
    return out


def _compare_column(
    r: pd.DataFrame, v: pd.DataFrame, column: str, what: str,
    norm: Callable[[pd.Series], pd.Series] | None = None,
) -> list[str]:
    def text(s: pd.Series) -> pd.Series:
        return norm(s) if norm else s.map(lambda x: "" if x is None or x is pd.NA else str(x))

    a, b = text(r[column]), text(v[column])
    bad = a != b
    if not bad.any():
        return []
    pairs = pd.Series(list(zip(a[bad], b[bad], strict=True))).value_counts()
    common = ", ".join(f"{x!r}->{y!r} x{n}" for (x, y), n in pairs.head(4).items())
    return [f"{what} differ in {int(bad.sum())} samples: {common}"]


def compare_measurements(
    ref: pd.DataFrame, var: pd.DataFrame, names: Mapping[str, str], analytes: set[str]
) -> list[str]:
    """Differences between two measurement tables; ``names`` maps original columns to the
    variant's, ``analytes`` are the original analyte columns compared."""
    out = []
    back = {new: old for old, new in names.items()}
    compared = {old for old in names if old in analytes}
    ref = ref[ref["source_column"].isin(compared)]
    var = var.assign(column=var["source_column"].map(back))
    extra = var[~var["column"].isin(compared)]
    if len(extra):
        found = extra.groupby("source_column")["element"].first()
        out.append("analyte columns ingested here but not in the shipped ingest: "
                   + ", ".join(f"{c} ({e})" for c, e in found.items()))
    var = var[var["column"].isin(compared)]
    missing = sorted(compared - set(var["column"]) - (compared - set(ref["source_column"])))
    if missing:
        out.append("columns not ingested here: "
                   + ", ".join(f"{names[c]} (shipped {c})" for c in missing))
    ref = ref.rename(columns={"source_column": "column"})
    both = ref.merge(var.drop(columns="source_column"), on=["row", "column"], how="outer",
                     suffixes=("_ref", "_var"), indicator=True)
    for column, g in both.groupby("column", sort=True):
        if column in missing:
            continue
        out += _column_differences(str(column), names[str(column)], g)
    return out


def _column_differences(column: str, new: str, g: pd.DataFrame) -> list[str]:
    label = column if column == new else f"{new} (shipped {column})"
    out = []
    only_ref = g[g["_merge"] == "left_only"]
    only_var = g[g["_merge"] == "right_only"]
    if len(only_ref) or len(only_var):
        out.append(f"{label}: {len(only_ref)} values only in the shipped ingest (rows "
                   f"{_examples(only_ref['row'])}), {len(only_var)} only here")
    g = g[g["_merge"] == "both"]
    if g.empty:
        return out
    for key in ("element", "unit"):
        bad = g[f"{key}_ref"] != g[f"{key}_var"]
        if bad.any():
            out.append(f"{label}: {key} {g[f'{key}_ref'][bad].iloc[0]!r} here "
                       f"{g[f'{key}_var'][bad].iloc[0]!r}")
    a, b = g["value_ref"].to_numpy(float), g["value_var"].to_numpy(float)
    bad = ~(np.isclose(a, b, rtol=VALUE_RTOL, atol=0) | (np.isnan(a) & np.isnan(b)))
    if bad.any():
        i = int(np.argmax(bad))
        ratio = b[bad] / a[bad]
        out.append(f"{label}: value differs in {int(bad.sum())} of {len(g)} rows (row "
                   f"{int(g['row'].iloc[i])}: {a[i]!r} shipped, {b[i]!r} here; median ratio "
                   f"{float(np.nanmedian(ratio)):.6g})")
    ca, cb = g["censored_ref"].astype(bool), g["censored_var"].astype(bool)
    bad = ca != cb
    if bad.any():
        out.append(f"{label}: censored flag differs in {int(bad.sum())} rows "
                   f"({int((ca & ~cb).sum())} censored only in the shipped ingest, "
                   f"{int((cb & ~ca).sum())} only here; rows {_examples(g['row'][bad])})")
    both_c = (ca & cb).to_numpy()
    if both_c.any():
        da = g["detection_limit_ref"].to_numpy(float)[both_c]
        db = g["detection_limit_var"].to_numpy(float)[both_c]
        bad_dl = ~np.isclose(da, db, rtol=1e-6, atol=0)
        if bad_dl.any():
            out.append(f"{label}: detection limit of censored values differs in "
                       f"{int(bad_dl.sum())} rows ({da[bad_dl][0]!r} vs {db[bad_dl][0]!r})")
    return out


@dataclass
class Outcome:
    """What ``describe`` -> ``check`` -> ``ingest`` gave for one case, compared."""

    case: str
    status: str
    detail: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    descriptor: str = ""
    seconds: float = 0.0

    def as_expected(self, case: Case) -> bool:
        """True when this outcome is the one the case expects."""
        if case.expect == SAME:
            return self.status == SAME
        text = "\n".join(self.detail)
        return self.status == DECISION and re.search(case.decision, text, re.I) is not None

    def explain(self) -> str:
        """The outcome in a few lines, for an assertion message."""
        lines = [f"{self.case}: {self.status} ({self.seconds:.1f} s)"]
        lines += [f"  - {d}" for d in self.detail]
        lines += [f"  (note) {n}" for n in self.notes]
        return "\n".join(lines)


def _caught(caught: list[warnings.WarningMessage]) -> list[str]:
    out = []
    for w in caught:
        text = f"{w.category.__name__}: {w.message}"
        if text not in out:
            out.append(text)
    return out[:8]


def check_step() -> tuple[Callable[..., Any] | None, str]:
    """``check_file`` of :mod:`chemearth.ingest.check`, or None and why it is missing.

    Only the module's absence skips the step; a module that exists but fails to import is an
    error (raised).
    """
    try:
        from chemearth.ingest.check import check_file  # type: ignore[import-not-found]
    except ModuleNotFoundError as exc:
        if exc.name != _CHECK_MODULE:
            raise
        return None, (f"check step skipped: {_CHECK_MODULE} does not exist yet "
                      f"(ModuleNotFoundError: {exc})")
    return check_file, ""


class Runner:
    """Builds cases, ingests the references once per shipped descriptor, runs and compares.

    Everything is written under ``work`` (files, proposed descriptors, stores); outcomes are
    cached per case.
    """

    def __init__(self, data_dir: Path, boundaries: Path | None, work: Path) -> None:
        self.data_dir = data_dir
        self.boundaries = boundaries
        self.work = work
        self._built: dict[str, Built] = {}
        self._refs: dict[str, Snapshot] = {}
        self._outcomes: dict[tuple[str, bool], Outcome] = {}

    def built(self, case: Case) -> Built:
        """The case's file, written once."""
        if case.id not in self._built:
            self._built[case.id] = case.build(self.data_dir, self.work / "files" / case.id)
        return self._built[case.id]

    def reference(self, source: str) -> Snapshot:
        """The shipped descriptor's ingest of the original file, once per descriptor."""
        if source not in self._refs:
            from chemearth.ingest.pipeline import ingest
            from chemearth.store import open_store

            desc = load_shipped(source)
            store = open_store(self.work / "reference" / source)
            with warnings.catch_warnings(record=True):
                warnings.simplefilter("always")
                report = ingest(store, desc, data_dir=self.data_dir, boundaries=self.boundaries)
            first = desc.source.header_row + 1 + (1 if desc.source.units_row else 0)
            self._refs[source] = snapshot(store, desc.dataset.id, first, report.messages(5))
        return self._refs[source]

    def outcome(self, case: Case, oracle: bool = False) -> Outcome:
        """Run describe -> check -> ingest on the case and compare with the shipped ingest
        (``oracle``: ingest with the hand-edited descriptor instead)."""
        key = (case.id, oracle)
        if key not in self._outcomes:
            if oracle:
                self._outcomes[key] = self._timed(case, self._oracle, case)
            else:
                self._outcomes[key] = self._timed(case, self._describe_check_ingest, case)
        return self._outcomes[key]

    def ingest_and_compare(self, case: Case, descriptor: str, label: str) -> Outcome:
        """Ingest the case's file with the ``descriptor`` text and compare (no describe or
        check); ``label`` names the run's folder."""
        return self._timed(case, self._ingest_and_compare, case, descriptor, label)

    def _timed(self, case: Case, step: Callable[..., Outcome], *args: Any) -> Outcome:
        t0 = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                out = step(*args)
            except Exception as exc:  # reported per case: the summary needs every case
                out = Outcome(case.id, ERROR, [f"{type(exc).__name__}: {exc}"],
                              [traceback.format_exc(limit=-2).strip()])
        out.notes += _caught(caught)
        out.seconds = time.perf_counter() - t0
        return out

    def _folder(self, case: Case, label: str) -> Path:
        folder = self.work / label / case.id
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def _describe_check_ingest(self, case: Case) -> Outcome:
        from chemearth.ingest.describe import propose

        built = self.built(case)
        folder = self._folder(case, "runs")
        proposal = propose(built.path, sheet=case.sheet, boundaries=self.boundaries)
        (folder / "proposed.toml").write_text(proposal.text, encoding="utf-8")
        out = Outcome(case.id, DECISION, descriptor=proposal.text)
        if proposal.decisions:
            out.detail = [f"describe: {d}" for d in proposal.decisions]
            return out
        check_file, why = check_step()
        if check_file is None:
            out.notes.append(why)
        else:
            report = check_file(built.path, proposal.text, data_dir=folder,
                                boundaries=self.boundaries)
            stops = [p for p in report.problems if p.severity in ("error", DECISION)]
            out.notes += [f"check warning: {p.where}: {p.message}"
                          for p in report.problems if p.severity == "warning"][:6]
            if stops or not report.ok:
                out.status = DECISION if stops and all(
                    p.severity == DECISION for p in stops) else ERROR
                out.detail = [f"check {p.severity}: {p.where}: {p.message}" for p in stops]
                out.detail += [] if stops else ["check: report not ok without an error"]
                return out
        done = self._ingest_and_compare(case, proposal.text, "runs")
        done.notes = out.notes + done.notes
        return done

    def _oracle(self, case: Case) -> Outcome:
        text = oracle_descriptor(case, self.built(case), self.data_dir)
        return self._ingest_and_compare(case, text, "oracle")

    def _ingest_and_compare(self, case: Case, descriptor: str, label: str) -> Outcome:
        from chemearth.ingest.descriptor import load_descriptor
        from chemearth.ingest.pipeline import ingest
        from chemearth.store import open_store

        built = self.built(case)
        ref = self.reference(case.source)
        folder = self._folder(case, label)
        path = folder / "descriptor.toml"
        path.write_text(descriptor, encoding="utf-8")
        desc = load_descriptor(path)
        store = open_store(folder / "store")
        report = ingest(store, desc, built.path, data_dir=folder, boundaries=self.boundaries)
        var = snapshot(store, desc.dataset.id, built.first_row, report.messages(5))
        shipped = load_shipped(case.source)
        ids = bool(shipped.sample.id) and shipped.sample.id in case.names
        dates = bool(shipped.sample.date) and shipped.sample.date in case.names
        diff = compare_samples(ref.samples, var.samples, ids, dates)
        rows = ref.samples.index.intersection(var.samples.index)  # missing ones are reported
        diff += compare_measurements(ref.measurements[ref.measurements["row"].isin(rows)],
                                     var.measurements[var.measurements["row"].isin(rows)],
                                     case.names, {c.column for c in shipped.columns})
        if diff and var.rejects:
            diff.append("rejected here: " + " | ".join(var.rejects))
        return Outcome(case.id, DIFFERENT if diff else SAME, diff, descriptor=descriptor)


def _cell_text(text: str, limit: int = 300) -> str:
    text = text.replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def markdown_table(runner: Runner, cases: Iterable[Case] = CASES, oracle: bool = False) -> str:
    """The closing-note table: file, what was varied, expected, outcome, edits needed."""
    rows = ["| file | source | what was varied | expected | outcome | edits needed |",
            "|---|---|---|---|---|---|"]
    for case in cases:
        o = runner.outcome(case, oracle)
        mark = "ok" if o.as_expected(case) else "NOT AS EXPECTED"
        if o.status == SAME:
            edits = "none"
        elif o.status == DECISION:
            edits = "; ".join(o.detail)
        elif o.status == DIFFERENT:
            edits = "none asked, but the result differs: " + "; ".join(o.detail)
        else:
            edits = "failed: " + "; ".join(o.detail[:1])
        rows.append(
            f"| `{case.layout.name}`{f' (sheet {case.sheet})' if case.sheet else ''} "
            f"| {case.source} | {_cell_text(case.varied)} | {case.expected} "
            f"| {o.status} ({mark}) | {_cell_text(edits, 600)} |"
        )
    return "\n".join(rows)


def _default_data_dir() -> Path:
    env = os.environ.get("CHEMEARTH_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[3] / "shared" / "data"


def main(argv: list[str] | None = None) -> int:
    """``python tests/ingest/byos_corpus.py --table``: run the corpus and print the table."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--table", action="store_true", help="print the markdown table")
    p.add_argument("--oracle", action="store_true", help="use the hand-edited descriptors")
    p.add_argument("--details", action="store_true", help="print every outcome in full")
    p.add_argument("--data", type=Path, default=_default_data_dir(), help="shared data folder")
    p.add_argument("--keep", type=Path, help="write the files and stores here (kept)")
    p.add_argument("--case", action="append", help="run only this case (repeatable)")
    args = p.parse_args(argv)
    cases = [case_by_id(c) for c in args.case] if args.case else list(CASES)
    boundaries = args.data / "boundaries" / "ne_10m_admin_0_countries_deu.geojson"
    with tempfile.TemporaryDirectory(prefix="byos-") as tmp:
        work = args.keep or Path(tmp)
        runner = Runner(args.data, boundaries if boundaries.is_file() else None, work)
        t0 = time.perf_counter()
        outcomes = [runner.outcome(c, args.oracle) for c in cases]
        if args.table or not args.details:
            print(markdown_table(runner, cases, args.oracle))
        if args.details:
            for o in outcomes:
                print(o.explain(), end="\n\n")
        same = sum(o.status == SAME for o in outcomes)
        good = sum(o.as_expected(c) for o, c in zip(outcomes, cases, strict=True))
        expected = "" if args.oracle else f", {good}/{len(cases)} as expected"
        print(f"\n{same}/{len(cases)} same as shipped{expected}, "
              f"{time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
