"""Tests of unit parsing and conversion to canonical units (chemearth.reference.units)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from chemearth.errors import UnitError, UnknownElementError
from chemearth.reference.units import Unit, conversion_factor, parse_unit, to_canonical, unit_factor

MICRO_SIGN = "\u00b5"  # µ MICRO SIGN
GREEK_MU = "\u03bc"  # μ GREEK SMALL LETTER MU

# IUPAC 2021 abridged standard atomic weights, typed in here independently of chemearth.
FE, OX, AL, SI, K, NA, P, MN, TI, CA, MG = (
    55.845, 15.999, 26.982, 28.085, 39.098, 22.990, 30.974, 54.938, 47.867, 40.078, 24.305,
)  # fmt: skip


def element_in_oxide(metal: float, n_metal: int, n_oxygen: int) -> float:
    """Mass fraction of the metal in M_nO_m, from the weights above."""
    return n_metal * metal / (n_metal * metal + n_oxygen * OX)


WT = 10_000.0  # mg/kg per wt.%

CONVERSIONS = [
    # value, unit, code -> canonical code, expected value in the canonical unit
    (1.0, "wt.%", "Cu", "Cu", 10_000.0),
    (2.5, "%", "Al", "Al", 25_000.0),
    (0.79, "wt. %", "Al", "Al", 7_900.0),
    (1.5, "pct", "Fe", "Fe", 15_000.0),
    (150.0, f"{MICRO_SIGN}g/kg", "Au", "Au", 0.15),
    (150.0, "ug/kg", "Au", "Au", 0.15),
    (3.0, "ppb", "Au", "Au", 0.003),
    (5.0, "ng/g", "Hg", "Hg", 0.005),
    (1.2, "g/kg", "S", "S", 1_200.0),
    (1.2, "mg/g", "S", "S", 1_200.0),
    (7.0, "ppm", "Zn", "Zn", 7.0),
    (7.0, f"{GREEK_MU}g/g", "Zn", "Zn", 7.0),
    (0.4, "g/t", "Au", "Au", 0.4),
    (1.0, "wt. %", "Fe2O3", "Fe", WT * element_in_oxide(FE, 2, 3)),
    (12.25, "wt. %", "Fe2O3", "Fe", 12.25 * WT * element_in_oxide(FE, 2, 3)),
    (13.07, "wt.%", "Al2O3", "Al", 13.07 * WT * element_in_oxide(AL, 2, 3)),
    (43.61, "%", "SiO2", "Si", 43.61 * WT * element_in_oxide(SI, 1, 2)),
    (2.01, "wt%", "K2O", "K", 2.01 * WT * element_in_oxide(K, 2, 1)),
    (1.14, "wt. %", "Na2O", "Na", 1.14 * WT * element_in_oxide(NA, 2, 1)),
    (0.481, "wt. %", "P2O5", "P", 0.481 * WT * element_in_oxide(P, 2, 5)),
    (0.167, "wt. %", "MnO", "Mn", 0.167 * WT * element_in_oxide(MN, 1, 1)),
    (1.29, "wt. %", "TiO2", "Ti", 1.29 * WT * element_in_oxide(TI, 1, 2)),
    (2.48, "wt. %", "CaO", "Ca", 2.48 * WT * element_in_oxide(CA, 1, 1)),
    (3.22, "wt. %", "MgO", "Mg", 3.22 * WT * element_in_oxide(MG, 1, 1)),
    (3.22, "wt. %", "mgo", "Mg", 3.22 * WT * element_in_oxide(MG, 1, 1)),
    (1.0, "mg/kg", "FeO", "Fe", element_in_oxide(FE, 1, 1)),
    (150.0, f"{MICRO_SIGN}S/cm", "EC", "EC", 15.0),
    (2.0, "mS/cm", "EC", "EC", 200.0),
    (12.0, "meq/100g", "CEC", "CEC", 12.0),
    (12.0, "cmol(+)/kg", "CEC", "CEC", 12.0),
    (3.5, "wt. %", "LOI", "LOI", 3.5),
    (35_000.0, "mg/kg", "LOI", "LOI", 3.5),
    (1.5, "wt. %", "C_org", "C_org", 15_000.0),
    (0.2, "wt. %", "C_Inorg", "C_inorg", 2_000.0),
    (6.1, "pH", "pH", "pH", 6.1),
    (40.0, "%", "sand", "sand", 40.0),
]


@pytest.mark.parametrize(("value", "unit", "code", "canonical", "expected"), CONVERSIONS)
def test_conversion_table(value: float, unit: str, code: str, canonical: str,
                          expected: float) -> None:  # fmt: skip
    got_code, factor = conversion_factor(unit, code)
    assert got_code == canonical
    assert value * factor == pytest.approx(expected, rel=1e-9)
    assert to_canonical(value, unit, code) == pytest.approx(expected, rel=1e-9)


def test_fe2o3_published_factor() -> None:
    # 1 wt.% Fe2O3 = 10000 x 0.69943 = 6994.3 mg/kg Fe (docs/conventions.md)
    assert to_canonical(1.0, "wt.%", "Fe2O3") == pytest.approx(6994.3, abs=0.05)


@pytest.mark.parametrize(
    ("text", "symbol", "dimension", "scale"),
    [
        ("mg/kg", "mg/kg", "mass_fraction", 1.0),
        ("  MG / KG ", "mg/kg", "mass_fraction", 1.0),
        ("mg kg-1", "mg/kg", "mass_fraction", 1.0),
        ("mg·kg⁻¹", "mg/kg", "mass_fraction", 1.0),
        ("ppm", "mg/kg", "mass_fraction", 1.0),
        ("PPM", "mg/kg", "mass_fraction", 1.0),
        (f"{MICRO_SIGN}g/g", "mg/kg", "mass_fraction", 1.0),
        (f"{GREEK_MU}g/g", "mg/kg", "mass_fraction", 1.0),
        ("ug/g", "mg/kg", "mass_fraction", 1.0),
        ("g/t", "mg/kg", "mass_fraction", 1.0),
        ("[ppm]", "mg/kg", "mass_fraction", 1.0),
        ("(mg/kg)", "mg/kg", "mass_fraction", 1.0),
        ("g/kg", "g/kg", "mass_fraction", 1e3),
        ("mg/g", "g/kg", "mass_fraction", 1e3),
        ("%", "%", "mass_fraction", 1e4),
        ("wt%", "%", "mass_fraction", 1e4),
        ("wt.%", "%", "mass_fraction", 1e4),
        ("wt. %", "%", "mass_fraction", 1e4),
        ("Wt. %", "%", "mass_fraction", 1e4),
        ("pct", "%", "mass_fraction", 1e4),
        ("percent", "%", "mass_fraction", 1e4),
        (f"{MICRO_SIGN}g/kg", "µg/kg", "mass_fraction", 1e-3),
        (f"{GREEK_MU}g/kg", "µg/kg", "mass_fraction", 1e-3),
        ("ug/kg", "µg/kg", "mass_fraction", 1e-3),
        ("ppb", "µg/kg", "mass_fraction", 1e-3),
        ("ng/g", "µg/kg", "mass_fraction", 1e-3),
        ("pH", "pH", "pH", 1.0),
        ("PH", "pH", "pH", 1.0),
        ("mS/m", "mS/m", "conductivity", 1.0),
        (f"{MICRO_SIGN}S/cm", "µS/cm", "conductivity", 0.1),
        (f"{GREEK_MU}S/cm", "µS/cm", "conductivity", 0.1),
        ("uS/cm", "µS/cm", "conductivity", 0.1),
        ("cmol/kg", "cmol/kg", "exchange", 1.0),
        ("cmol(+)/kg", "cmol/kg", "exchange", 1.0),
        ("cmolc/kg", "cmol/kg", "exchange", 1.0),
        ("meq/100g", "cmol/kg", "exchange", 1.0),
        ("meq/100 g", "cmol/kg", "exchange", 1.0),
        ("Degrees", "degree", "angle", 1.0),
        ("cm", "cm", "length", 0.01),
    ],
)
def test_parse_unit(text: str, symbol: str, dimension: str, scale: float) -> None:
    assert parse_unit(text) == Unit(symbol, dimension, scale)


def test_canonical_micro_sign_is_u00b5() -> None:
    assert parse_unit("ppb").symbol == f"{MICRO_SIGN}g/kg"


@pytest.mark.parametrize("text", ["ppt", "PPT", " ppt ", "(ppt)"])
def test_ppt_is_refused_as_ambiguous(text: str) -> None:
    with pytest.raises(UnitError, match="ambiguous"):
        parse_unit(text)


@pytest.mark.parametrize("text", ["furlongs", "", "mg/L", "Bq/kg", "kg"])
def test_unknown_unit(text: str) -> None:
    with pytest.raises(UnitError) as info:
        parse_unit(text)
    assert repr(text) in str(info.value)
    assert isinstance(info.value, ValueError)


def test_unknown_unit_suggests() -> None:
    with pytest.raises(UnitError, match="mg/kg"):
        parse_unit("mg/kgg")


@pytest.mark.parametrize(
    ("unit", "code"),
    [("mg/kg", "pH"), ("wt. %", "pH"), ("pH", "Cu"), (f"{MICRO_SIGN}S/cm", "Cu"),
     ("Degrees", "Cu"), ("cm", "Fe2O3"), ("mg/kg", "EC"), ("meq/100g", "Ca"), ("%", "CEC")],
)  # fmt: skip
def test_incompatible_units_raise(unit: str, code: str) -> None:
    with pytest.raises(UnitError) as info:
        to_canonical(1.0, unit, code)
    assert repr(unit) in str(info.value)


@pytest.mark.parametrize("code", ["Qz", "quartz", "Top5_Cu"])
def test_unknown_analyte(code: str) -> None:
    with pytest.raises(UnknownElementError):
        conversion_factor("mg/kg", code)


def test_vectorised_and_nan_preserving() -> None:
    values = np.array([1.0, np.nan, 2.0, 0.0])
    out = to_canonical(values, "wt. %", "Fe2O3")
    assert isinstance(out, np.ndarray)
    assert out.dtype == np.float64
    assert out.shape == values.shape
    assert np.isnan(out[1])
    factor = WT * element_in_oxide(FE, 2, 3)
    np.testing.assert_allclose(out[[0, 2, 3]], np.array([1.0, 2.0, 0.0]) * factor, rtol=1e-9)
    assert not np.shares_memory(out, values)


def test_two_dimensional_and_list_input() -> None:
    out = to_canonical(np.ones((2, 3)), "ppb", "Au")
    assert out.shape == (2, 3)
    np.testing.assert_allclose(out, 1e-3)
    listed = to_canonical([1, 2], "%", "Cu")
    np.testing.assert_allclose(listed, [1e4, 2e4])


@pytest.mark.parametrize("value", [1, 1.0, np.float32(1.0), np.int64(1)])
def test_scalar_input_gives_float(value: float) -> None:
    out = to_canonical(value, "%", "Cu")
    assert type(out) is float
    assert out == 10_000.0


def test_scalar_nan() -> None:
    assert math.isnan(to_canonical(float("nan"), "ppm", "Cu"))


@pytest.mark.parametrize(
    ("source", "target", "factor"),
    [("wt. %", "mg/kg", 1e4), ("mg/kg", "%", 1e-4), ("ppb", "ppm", 1e-3),
     (f"{MICRO_SIGN}S/cm", "mS/m", 0.1), ("meq/100g", "cmol(+)/kg", 1.0)],
)  # fmt: skip
def test_unit_factor(source: str, target: str, factor: float) -> None:
    assert unit_factor(source, target) == pytest.approx(factor)


def test_unit_factor_rejects_mixed_dimensions() -> None:
    with pytest.raises(UnitError):
        unit_factor("mg/kg", "mS/m")
