"""Tests of analyte-column recognition from survey column names (chemearth.reference.names)."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

from chemearth.reference.names import recognise_column, recognise_columns, recognise_units_row

DATA = Path(
    os.environ.get("CHEMEARTH_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data")
)

ICP40 = "ICP-AES (40 element, 4-acid)"


@pytest.mark.parametrize(
    ("name", "analyte", "unit", "method", "notes"),
    [
        ("Cu", "Cu", None, None, ()),
        ("Cu_ppm", "Cu", "mg/kg", None, ()),
        ("Cu_mgkg", "Cu", "mg/kg", None, ()),
        ("Cu_mg/kg", "Cu", "mg/kg", None, ()),
        ("Cu (mg/kg)", "Cu", "mg/kg", None, ()),
        ("Cu [ppm]", "Cu", "mg/kg", None, ()),
        ("Cu ppm", "Cu", "mg/kg", None, ()),
        ("Cu_pct", "Cu", "%", None, ()),
        ("Al_wt", "Al", "%", None, ()),
        ("Al_perc", "Al", "%", None, ()),
        ("Au_ppb", "Au", "µg/kg", None, ()),
        ("Au_ugkg", "Au", "µg/kg", None, ()),
        ("Top5_Cu", "Cu", None, None, ()),
        ("Top5_Al", "Al", None, None, ()),
        ("CU_ICP40", "Cu", None, ICP40, ()),
        ("MG_ICP40", "Mg", None, ICP40, ()),
        ("K_ICP40", "K", None, ICP40, ()),
        ("Al2O3_T", "Al2O3", None, None, ("total",)),
        ("Fe2O3", "Fe2O3", None, None, ()),
        ("Fe2O3_T", "Fe2O3", None, None, ("total",)),
        ("SiO2_T", "SiO2", None, None, ("total",)),
        ("SO3_T", "SO3", None, None, ("total",)),
        ("FE2O3", "Fe2O3", None, None, ()),
        ("La2O3", "La2O3", None, None, ()),
        ("Au_INAA", "Au", None, "INAA", ()),
        ("Cr_INAA", "Cr", None, "INAA", ()),
        ("Al_XRF", "Al", None, "XRF", ()),
        ("Br_IC", "Br", None, "ion chromatography", ()),
        ("NO3_IC", "NO3", None, "ion chromatography", ()),
        ("Ba_ppm", "Ba", "mg/kg", None, ()),
        ("As_T", "As", None, None, ("total",)),
        ("Cl_T", "Cl", None, None, ("total",)),
        ("F_T", "F", None, None, ("total",)),
        ("Zr_B", "Zr", None, None, ("bottom layer",)),
        ("LOI", "LOI", None, None, ()),
        ("LOI_T", "LOI", None, None, ("total",)),
        ("pH", "pH", None, None, ()),
        ("pH_CaCl2", "pH", None, "pH in CaCl2", ()),
        ("EC", "EC", None, None, ()),
        ("Cond", "EC", None, None, ()),
        ("TOC", "C_org", None, None, ()),
        ("Top5_C_Tot", "C", None, None, ("total",)),
        ("Top5_C_Org", "C_org", None, None, ()),
        ("Top5_C_Inorg", "C_inorg", None, None, ()),
        ("C", "C", None, None, ()),
        ("cadmium", "Cd", None, None, ()),
        ("copper", "Cu", None, None, ()),
        ("lead", "Pb", None, None, ()),
        ("zinc", "Zn", None, None, ()),
        ("Copper", "Cu", None, None, ()),
        ("ZINC", "Zn", None, None, ()),
        ("aluminum_ppm", "Al", "mg/kg", None, ()),
        ("cu_ppm", "Cu", "mg/kg", None, ()),
        ("Y", "Y", None, None, ()),
        ("sand", "sand", None, None, ()),
        ("Cl.", "Cl", None, None, ()),
        ("PO4...", "PO4", None, None, ()),
        ("F_ionselect", "F", None, "ion-selective electrode", ()),
        ("F1_Ag_INAA", "Ag", None, "INAA", ()),
        ("A2_pH", "pH", None, None, ()),
        ("ICP40_Cu", "Cu", None, ICP40, ()),
        ("Cu_ICP-MS", "Cu", None, "ICP-MS", ()),
        ("EC (µS/cm)", "EC", "µS/cm", None, ()),
        ("LOI (wt. %)", "LOI", "%", None, ()),
    ],
)
def test_recognised(name: str, analyte: str, unit: str | None, method: str | None,
                    notes: tuple[str, ...]) -> None:  # fmt: skip
    guess = recognise_column(name)
    assert guess is not None, name
    assert (guess.column, guess.analyte, guess.unit, guess.method, guess.notes) == (
        name, analyte, unit, method, notes,
    )  # fmt: skip
    assert 0.0 < guess.confidence <= 1.0


NOT_ANALYTES = [
    "ID", "SiteID", "StateID", "LabID", "Top5_LabID", "Latitude", "Longitude", "lat", "lon",
    "long", "x", "y", "X", "XCOO", "YCOO", "Xcoord", "Ycoord", "Xloc", "Yloc", "x_albers",
    "y_albers", "ELEV", "elev", "ASP", "TOPC", "LITO", "COUN", "COUNTRY", "sample", "Zone",
    "Region", "Aquifer", "set", "Landuse", "landuse", "Rock", "CollDate", "LandCover1",
    "LandCover2", "Top5_Depth", "MeanTemp", "AnnPrec", "soilclass", "dist", "dist.m", "om",
    "ffreq", "soil", "lime", "CNo", "TYPEDESC", "CATEGORY", "LABNO", "wt_INAA", "SUM_XRF",
    "Mass_INAA", "Sum", "Top5_Quartz", "Top5_Tot_Clay", "Top5_Kaolinit", "Top5_Tot_K_fs",
    "Top5_Tot_Plag", "Top5_Tot_14A", "Top5_Tot_Carb", "Top5_Calcite", "Top5_Hematite",
    "Top5_Pyrite", "Top5_Other", "Top5_Amorph", "AsCen", "CuCen", "y2001", "y2001Cen",
    "Lo01to96", "in.pit", "X.Loc", "F1_.Loc", "X.C_PAR", "*ID", "*COUN", "CRM", "RS", "K_40",
    "Cs_137", "Ac_228", "Cu_1", "Cu_dup", "cu", "in", "be", "PM", "AT", "FR", "O", "Ne", "",
    "  ", "Cu_pH", "pH_ppm", "unit", "column", "detection_limit", "Cu_cm",
]  # fmt: skip


@pytest.mark.parametrize("name", NOT_ANALYTES)
def test_not_recognised(name: str) -> None:
    assert recognise_column(name) is None


def test_single_letter_alone_is_less_certain() -> None:
    bare, prefixed, two_letter = (recognise_column(n) for n in ("K", "Top5_K", "Cu"))
    assert bare is not None
    assert prefixed is not None
    assert two_letter is not None
    assert bare.confidence < prefixed.confidence
    assert bare.confidence < two_letter.confidence


def test_capital_y_is_a_coordinate_next_to_x() -> None:
    assert list(recognise_columns(["X", "Y", "Cu", "Zn_ppm"])) == ["Cu", "Zn_ppm"]
    assert list(recognise_columns(["x", "y", "Y"])) == ["Y"]
    assert recognise_columns(["Xcoord", "Ycoord", "Y"])["Y"].analyte == "Y"


# --- real survey headers -----------------------------------------------------------------


def header(relative: str) -> list[str]:
    path = DATA / relative
    if not path.exists():
        pytest.skip(f"real data not available: {path}")
    with path.open(newline="", encoding="utf-8") as handle:
        return next(csv.reader(handle))


DS801_ANALYTES = {
    "Top5_Ag": "Ag", "Top5_Al": "Al", "Top5_As": "As", "Top5_Ba": "Ba", "Top5_Be": "Be",
    "Top5_Bi": "Bi", "Top5_C_Tot": "C", "Top5_C_Inorg": "C_inorg", "Top5_C_Org": "C_org",
    "Top5_Ca": "Ca", "Top5_Cd": "Cd", "Top5_Ce": "Ce", "Top5_Co": "Co", "Top5_Cr": "Cr",
    "Top5_Cs": "Cs", "Top5_Cu": "Cu", "Top5_Fe": "Fe", "Top5_Ga": "Ga", "Top5_Hg": "Hg",
    "Top5_In": "In", "Top5_K": "K", "Top5_La": "La", "Top5_Li": "Li", "Top5_Mg": "Mg",
    "Top5_Mn": "Mn", "Top5_Mo": "Mo", "Top5_Na": "Na", "Top5_Nb": "Nb", "Top5_Ni": "Ni",
    "Top5_P": "P", "Top5_Pb": "Pb", "Top5_Rb": "Rb", "Top5_S": "S", "Top5_Sb": "Sb",
    "Top5_Sc": "Sc", "Top5_Se": "Se", "Top5_Sn": "Sn", "Top5_Sr": "Sr", "Top5_Te": "Te",
    "Top5_Th": "Th", "Top5_Ti": "Ti", "Top5_Tl": "Tl", "Top5_U": "U", "Top5_V": "V",
    "Top5_W": "W", "Top5_Y": "Y", "Top5_Zn": "Zn",
}  # fmt: skip

GEMAS_ANALYTES = {
    "sand": "sand", "silt": "silt", "clay": "clay", "Al": "Al", "Ba": "Ba", "Ca": "Ca",
    "Cr": "Cr", "Fe": "Fe", "K": "K", "Mg": "Mg", "Mn": "Mn", "Na": "Na", "Nb": "Nb", "P": "P",
    "Si": "Si", "Sr": "Sr", "Ti": "Ti", "V": "V", "Y": "Y", "Zn": "Zn", "Zr": "Zr", "LOI": "LOI",
}  # fmt: skip

NGS_ANALYTES = {
    "PB_ICP40": "Pb", "CU_ICP40": "Cu", "CD_ICP40": "Cd", "AS_ICP40": "As", "MG_ICP40": "Mg",
    "K_ICP40": "K",
}  # fmt: skip

MEUSE_ANALYTES = {"cadmium": "Cd", "copper": "Cu", "lead": "Pb", "zinc": "Zn"}


@pytest.mark.parametrize(
    ("relative", "expected"),
    [
        ("usgs_ds801/ds801_top5_raw.csv", DS801_ANALYTES),
        ("gemas/gemas.csv", GEMAS_ANALYTES),
        ("usgs_ngs_il_in/ngs_il_in_subset_geomla.csv", NGS_ANALYTES),
        ("meuse/meuse.csv", MEUSE_ANALYTES),
    ],
)
def test_real_headers_exact(relative: str, expected: dict[str, str]) -> None:
    guesses = recognise_columns(header(relative))
    assert {column: g.analyte for column, g in guesses.items()} == expected


@pytest.mark.parametrize(
    ("relative", "metadata"),
    [
        ("kola/chorizon.csv",
         {"ID", "XCOO", "YCOO", "wt_INAA", "SUM_XRF", "ELEV", "COUN", "ASP", "TOPC", "LITO"}),
        ("bss/bsstop.csv", {"ID", "CNo", "XCOO", "YCOO"}),
        ("usgs_ds520_colorado/colorado_soils_gcclust.csv", {"sample", "longitude", "latitude"}),
    ],
)  # fmt: skip
def test_real_headers_all_but_metadata(relative: str, metadata: set[str]) -> None:
    names = header(relative)
    assert metadata <= set(names)
    assert set(recognise_columns(names)) == set(names) - metadata


def test_kola_chorizon_details() -> None:
    guesses = recognise_columns(header("kola/chorizon.csv"))
    expected = {
        "Al2O3": ("Al2O3", None), "Fe2O3": ("Fe2O3", None), "Au_INAA": ("Au", "INAA"),
        "Br_IC": ("Br", "ion chromatography"), "SO4_IC": ("SO4", "ion chromatography"),
        "Al_XRF": ("Al", "XRF"), "EC": ("EC", None), "pH": ("pH", None), "LOI": ("LOI", None),
        "Y": ("Y", None), "U_INAA": ("U", "INAA"),
    }  # fmt: skip
    assert {c: (guesses[c].analyte, guesses[c].method) for c in expected} == expected


def test_bss_oxides_and_halogens() -> None:
    guesses = recognise_columns(header("bss/bsstop.csv"))
    assert guesses["SO3_T"].analyte == "SO3"
    assert guesses["Fe2O3_T"].notes == ("total",)
    assert {guesses[c].analyte for c in ("Cl_T", "F_T", "LOI_T")} == {"Cl", "F", "LOI"}


# --- units rows ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        (["", "", "Degrees", "Degrees", "cm", "wt. %", "mg/kg"],
         [None, None, "degree", "degree", "cm", "%", "mg/kg"]),
        (["ppm", "ppb", "%", "pH", "mS/m"], ["mg/kg", "µg/kg", "%", "pH", "mS/m"]),
        (["unit", "mg/kg", "mg/kg"], [None, "mg/kg", "mg/kg"]),
        (["C-328818", "96", "AL", "31.3146"], [None, None, None, None]),
        (["<1", "0.79", "2.1"], [None, None, None]),
        (["Planted/Cultivated", "Pasture/Hay", "mg/kg"], [None, None, None]),
        (["", "", ""], [None, None, None]),
        ([], []),
        (["ppt", "mg/kg", "mg/kg"], [None, "mg/kg", "mg/kg"]),
    ],
)  # fmt: skip
def test_recognise_units_row(cells: list[str], expected: list[str | None]) -> None:
    assert recognise_units_row(cells) == expected


def test_ds801_units_row() -> None:
    path = DATA / "usgs_ds801" / "ds801_top5_units.csv"
    if not path.exists():
        pytest.skip(f"real data not available: {path}")
    with path.open(newline="", encoding="utf-8") as handle:
        units = {row["column"]: row["unit"] for row in csv.DictReader(handle)}
    names = header("usgs_ds801/ds801_top5_raw.csv")
    parsed = dict(zip(names, recognise_units_row([units[n] for n in names]), strict=True))
    assert parsed["Top5_LabID"] is None
    assert parsed["Latitude"] == "degree"
    assert parsed["Top5_Depth"] == "cm"
    assert parsed["Top5_Al"] == "%"
    assert parsed["Top5_As"] == "mg/kg"
    assert parsed["Top5_C_Org"] == "%"
    assert all(parsed[c] in {"%", "mg/kg"} for c in DS801_ANALYTES)
