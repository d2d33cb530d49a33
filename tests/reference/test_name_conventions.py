"""The header conventions of survey tables (chemearth.reference.name_conventions), as read
by chemearth.reference.names: one row per convention, and real headers renamed to them."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from chemearth.reference.elements import OXIDES, canonical_unit
from chemearth.reference.name_conventions import (
    CARBON_FORMS,
    COORDINATE_WORDS,
    LAYER_TOKENS,
    METHODS,
    PH_MEDIA,
    TEMPERATURE_ANALYTES,
    TOTAL_TOKENS,
    TRUNCATED_OXIDES,
    UNIT_TOKENS,
)
from chemearth.reference.names import METHOD_HINTS, recognise_column, recognise_columns
from chemearth.reference.units import conversion_factor, parse_unit

ICP40 = "ICP-AES (40 element, 4-acid)"


def _truncated(short: str, formula: str) -> str:
    return f"{short!r} read as {formula} (a truncated oxide name)"


@pytest.mark.parametrize(
    ("name", "analyte", "unit", "method", "notes"),
    [
        # units in the name
        ("Cu_ppm", "Cu", "mg/kg", None, ()),
        ("CU_PPM", "Cu", "mg/kg", None, ()),
        ("AU_PPB", "Au", "µg/kg", None, ()),
        ("Au_ugkg", "Au", "µg/kg", None, ()),
        ("Au_ppb", "Au", "µg/kg", None, ()),
        ("PT_PPB", "Pt", "µg/kg", None, ()),
        ("Pd_ng/g", "Pd", "µg/kg", None, ()),
        ("Ag_ug/g", "Ag", "mg/kg", None, ()),
        ("Fe2O3_pct", "Fe2O3", "%", None, ()),
        ("FE2O3_%", "Fe2O3", "%", None, ()),
        ("Cu (mg/kg)", "Cu", "mg/kg", None, ()),
        ("Au [ppb]", "Au", "µg/kg", None, ()),
        # methods
        ("CU_ICP40", "Cu", None, ICP40, ()),
        ("Cu_AR", "Cu", None, "aqua regia", ()),
        ("Au_FA", "Au", None, "fire assay", ()),
        ("Cu_ICP-MS_ppm", "Cu", "mg/kg", "ICP-MS", ()),
        # loss on ignition at a temperature
        ("LOI_480", "LOI", None, "loss on ignition at 480 °C", ()),
        ("LOI480", "LOI", None, "loss on ignition at 480 °C", ()),
        ("LOI_1000", "LOI", None, "loss on ignition at 1000 °C", ()),
        ("LOI1000", "LOI", None, "loss on ignition at 1000 °C", ()),
        ("LOI_550C", "LOI", None, "loss on ignition at 550 °C", ()),
        ("loi_550", "LOI", None, "loss on ignition at 550 °C", ()),
        ("LOI_1000_pct", "LOI", "%", "loss on ignition at 1000 °C", ()),
        ("LOI 480 (%)", "LOI", "%", "loss on ignition at 480 °C", ()),
        ("LOI", "LOI", None, None, ()),
        # truncated oxides
        ("P2O", "P2O5", None, None, (_truncated("P2O", "P2O5"),)),
        ("Fe2O", "Fe2O3", None, None, (_truncated("Fe2O", "Fe2O3"),)),
        ("FE2O", "Fe2O3", None, None, (_truncated("FE2O", "Fe2O3"),)),
        ("Al2O", "Al2O3", None, None, (_truncated("Al2O", "Al2O3"),)),
        ("SiO", "SiO2", None, None, (_truncated("SiO", "SiO2"),)),
        ("TIO", "TiO2", None, None, (_truncated("TIO", "TiO2"),)),
        ("P2O_pct", "P2O5", "%", None, (_truncated("P2O", "P2O5"),)),
        ("Al2O_T", "Al2O3", None, None, (_truncated("Al2O", "Al2O3"), "total")),
        ("P2O5", "P2O5", None, None, ()),
        ("K2O", "K2O", None, None, ()),
        ("Cu2O", "Cu2O", None, None, ()),  # a real oxide, not a truncated CuO
        ("CO", "Co", None, None, ()),  # cobalt, not a truncated CO2
        # parameters
        ("TOC", "C_org", None, None, ()),
        ("TOC_%", "C_org", "%", None, ()),
        ("pH", "pH", None, None, ()),
        ("pH_H2O", "pH", None, "pH in H2O", ()),
        ("pH_CaCl2", "pH", None, "pH in CaCl2", ()),
        ("PH_KCL", "pH", None, "pH in KCl", ()),
        ("pH (H2O)", "pH", None, "pH in H2O", ()),
        ("EC", "EC", None, None, ()),
        ("Cond", "EC", None, None, ()),
        ("EC_mS/m", "EC", "mS/m", None, ()),
        ("EC_uScm", "EC", "µS/cm", None, ()),
        ("Cond (µS/cm)", "EC", "µS/cm", None, ()),
    ],
)
def test_convention(name: str, analyte: str, unit: str | None, method: str | None,
                    notes: tuple[str, ...]) -> None:  # fmt: skip
    guess = recognise_column(name)
    assert guess is not None, name
    assert (guess.analyte, guess.unit, guess.method, guess.notes) == (analyte, unit, method, notes)
    if guess.unit is not None:  # every unit read from a name can be ingested for the analyte
        conversion_factor(guess.unit, guess.analyte)


@pytest.mark.parametrize(
    "name",
    [
        "K2", "Na2", "Al2",  # an oxide without its O: as likely a second column of K
        "SO",  # SO3 cut to two letters
        "LOI_105",  # drying at 105 °C is moisture, not LOI
        "LOI_2000", "LOI_48",
        "Cu_480", "K_40", "Cs_137",  # a number after anything but LOI is not a temperature
        "pH_ppm", "pH_mg/kg", "EC_ppm", "LOI_uScm", "Au_mS/m",  # a unit that cannot fit
        "P2O_xyz",
        "UTM35_Y", "UTM35_X", "RD_X", "LV95_N", "SWEREF99_E",  # coordinates, not Y or N
    ],
)  # fmt: skip
def test_not_a_convention(name: str) -> None:
    assert recognise_column(name) is None


def test_truncated_oxides_follow_the_documented_rule() -> None:
    """Every oxide with more than one O, cut before its oxygen count, when unambiguous."""
    cut: dict[str, list[str]] = {}
    for formula, oxide in OXIDES.items():
        if oxide.n_oxygen > 1:
            cut.setdefault(re.sub(r"\d+$", "", formula), []).append(formula)
    expected = {
        short: formulas[0]
        for short, formulas in cut.items()
        if len(formulas) == 1 and len(short) >= 3 and short not in OXIDES
    }
    assert dict(TRUNCATED_OXIDES) == expected
    assert {"P2O", "Fe2O", "Al2O"} <= set(TRUNCATED_OXIDES)
    assert "CO" not in TRUNCATED_OXIDES
    assert "SO" not in TRUNCATED_OXIDES


def test_tables_are_normalised() -> None:
    """Keys are matched after case-folding and removing '-', '.', '/': so must they be."""
    for table in (METHODS, UNIT_TOKENS, LAYER_TOKENS, CARBON_FORMS, PH_MEDIA):
        for key in table:
            assert key == key.casefold().replace("-", "").replace(".", "").replace("/", "")
    for key in TOTAL_TOKENS | COORDINATE_WORDS:
        assert key == key.casefold()
        assert not any(c.isdigit() for c in key)
    assert dict(METHOD_HINTS) == dict(METHODS)
    for unit in UNIT_TOKENS.values():
        assert parse_unit(unit).symbol == unit
    for code, (lowest, highest, template) in TEMPERATURE_ANALYTES.items():
        assert canonical_unit(code)
        assert 0 < lowest < highest
        assert "{t}" in template


# --- real headers renamed to the conventions --------------------------------------------------


def kola_header(data_dir: Path) -> list[str]:
    with (data_dir / "kola" / "chorizon.csv").open(newline="", encoding="utf-8") as handle:
        return next(csv.reader(handle))


RENAMED = {
    "P2O5": "P2O", "Fe2O3": "Fe2O", "Al2O3": "AL2O3_%", "SiO2": "SiO2_pct", "LOI": "LOI_480",
    "pH": "pH_H2O", "EC": "Cond", "Cu": "CU_AR", "Au_INAA": "AU_PPB", "Ni": "Ni (mg/kg)",
    "Zn": "Zn_ppm", "TiO2": "TiO",
}  # fmt: skip


def test_a_real_header_renamed_to_the_conventions_reads_the_same(data_dir: Path) -> None:
    names = kola_header(data_dir)
    original = recognise_columns(names)
    renamed = recognise_columns([RENAMED.get(n, n) for n in names])
    assert len(renamed) == len(original)
    for old, new in RENAMED.items():
        assert renamed[new].analyte == original[old].analyte, (old, new)
    assert renamed["LOI_480"].method == "loss on ignition at 480 °C"
    assert renamed["pH_H2O"].method == "pH in H2O"
    assert renamed["CU_AR"].method == "aqua regia"
    assert renamed["AU_PPB"].unit == "µg/kg"
    assert renamed["AL2O3_%"].unit == "%"
    assert renamed["Ni (mg/kg)"].unit == "mg/kg"


def test_prefixed_y_is_yttrium_but_a_coordinate_system_is_not() -> None:
    guesses = recognise_columns(["UTM35_X", "UTM35_Y", "Top5_Y", "F1_Y", "N_UTM31N", "N"])
    assert {c: g.analyte for c, g in guesses.items()} == {"Top5_Y": "Y", "F1_Y": "Y", "N": "N"}
