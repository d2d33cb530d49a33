"""Tests of the chemical reference table (chemearth.reference.elements)."""

from __future__ import annotations

import dataclasses

import pytest

from chemearth.errors import UnknownElementError
from chemearth.reference.elements import (
    ELEMENT_NAMES,
    ELEMENTS,
    GLOBAL_BASELINE_SUITE,
    GROUPS,
    OXIDES,
    PARAMETERS,
    analyte_kind,
    canonical_unit,
    formula_weight,
    get_oxide,
    is_element,
    lookup,
    oxide_factor,
    parse_formula,
)

# IUPAC 2021 abridged standard atomic weights, typed in independently of the module.
IUPAC = {
    "H": 1.008, "C": 12.011, "N": 14.007, "O": 15.999, "Li": 6.94, "Be": 9.0122,
    "Na": 22.990, "Mg": 24.305, "Al": 26.982, "Si": 28.085, "P": 30.974, "S": 32.06,
    "K": 39.098, "Ca": 40.078, "Ti": 47.867, "V": 50.942, "Cr": 51.996, "Mn": 54.938,
    "Fe": 55.845, "Ni": 58.693, "Cu": 63.546, "Zn": 65.38, "Rb": 85.468, "Sr": 87.62,
    "Zr": 91.224, "Cs": 132.91, "Ba": 137.33, "La": 138.91, "Ce": 140.12, "Pb": 207.2,
    "Th": 232.04, "U": 238.03, "Au": 196.97, "Hg": 200.59, "Pt": 195.08, "Br": 79.904,
}  # fmt: skip

# The IGGE / UNESCO "76 elements" list, typed in independently of the module.
BASELINE_76 = (
    "Ag", "Al", "As", "Au", "B", "Ba", "Be", "Bi", "Br", "C", "Ca", "Cd", "Ce", "Cl", "Co",
    "Cr", "Cs", "Cu", "Dy", "Er", "Eu", "F", "Fe", "Ga", "Gd", "Ge", "Hf", "Hg", "Ho", "I",
    "In", "Ir", "K", "La", "Li", "Lu", "Mg", "Mn", "Mo", "N", "Na", "Nb", "Nd", "Ni", "Os",
    "P", "Pb", "Pd", "Pr", "Pt", "Rb", "Re", "Rh", "Ru", "S", "Sb", "Sc", "Se", "Si", "Sm",
    "Sn", "Sr", "Ta", "Tb", "Te", "Th", "Ti", "Tl", "Tm", "U", "V", "W", "Y", "Yb", "Zn", "Zr",
)  # fmt: skip

REQUIRED_OXIDES = {
    "SiO2": ("Si", 1, 2), "TiO2": ("Ti", 1, 2), "Al2O3": ("Al", 2, 3), "Fe2O3": ("Fe", 2, 3),
    "FeO": ("Fe", 1, 1), "MnO": ("Mn", 1, 1), "MgO": ("Mg", 1, 1), "CaO": ("Ca", 1, 1),
    "Na2O": ("Na", 2, 1), "K2O": ("K", 2, 1), "P2O5": ("P", 2, 5), "SO3": ("S", 1, 3),
    "Cr2O3": ("Cr", 2, 3), "BaO": ("Ba", 1, 1), "SrO": ("Sr", 1, 1), "NiO": ("Ni", 1, 1),
    "V2O5": ("V", 2, 5), "ZrO2": ("Zr", 1, 2), "CO2": ("C", 1, 2), "H2O": ("H", 2, 1),
    "Li2O": ("Li", 2, 1), "Rb2O": ("Rb", 2, 1), "Cs2O": ("Cs", 2, 1), "BeO": ("Be", 1, 1),
    "ZnO": ("Zn", 1, 1), "CuO": ("Cu", 1, 1), "PbO": ("Pb", 1, 1), "U3O8": ("U", 3, 8),
    "ThO2": ("Th", 1, 2),
}  # fmt: skip


def test_elements_cover_hydrogen_to_uranium() -> None:
    assert [el.z for el in ELEMENTS.values()] == list(range(1, 93))
    assert all(sym == el.symbol for sym, el in ELEMENTS.items())
    assert all(el.group in GROUPS for el in ELEMENTS.values())


@pytest.mark.parametrize(("symbol", "weight"), sorted(IUPAC.items()))
def test_atomic_weights_are_iupac(symbol: str, weight: float) -> None:
    assert ELEMENTS[symbol].atomic_weight == pytest.approx(weight, abs=1e-9)


@pytest.mark.parametrize(
    ("symbol", "name", "group"),
    [
        ("Si", "silicon", "major"), ("Fe", "iron", "major"), ("K", "potassium", "major"),
        ("Cu", "copper", "trace"), ("La", "lanthanum", "REE"), ("Lu", "lutetium", "REE"),
        ("Pt", "platinum", "PGE"), ("Os", "osmium", "PGE"), ("Cl", "chlorine", "halogen"),
        ("I", "iodine", "halogen"), ("C", "carbon", "volatile"), ("S", "sulfur", "volatile"),
        ("H", "hydrogen", "volatile"), ("N", "nitrogen", "volatile"),
        ("Rb", "rubidium", "alkali"), ("Ba", "barium", "alkaline_earth"),
        ("U", "uranium", "actinide"), ("Ar", "argon", "noble_gas"),
        ("Al", "aluminium", "major"), ("Cs", "caesium", "alkali"),
    ],
)  # fmt: skip
def test_names_and_groups(symbol: str, name: str, group: str) -> None:
    assert ELEMENTS[symbol].name == name
    assert ELEMENTS[symbol].group == group
    assert ELEMENT_NAMES[name] == symbol


@pytest.mark.parametrize(("alias", "symbol"), [("aluminum", "Al"), ("sulphur", "S"),
                                               ("cesium", "Cs")])  # fmt: skip
def test_name_variants(alias: str, symbol: str) -> None:
    assert ELEMENT_NAMES[alias] == symbol


def test_element_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        ELEMENTS["Cu"].atomic_weight = 1.0  # type: ignore[misc]


def test_global_baseline_suite_is_the_76_elements() -> None:
    assert len(GLOBAL_BASELINE_SUITE) == 76
    assert len(set(GLOBAL_BASELINE_SUITE)) == 76
    assert set(GLOBAL_BASELINE_SUITE) == set(BASELINE_76)
    assert all(symbol in ELEMENTS for symbol in GLOBAL_BASELINE_SUITE)
    assert not {"He", "Ne", "Ar", "O", "Ra"} & set(GLOBAL_BASELINE_SUITE)


@pytest.mark.parametrize(("formula", "expected"), sorted(REQUIRED_OXIDES.items()))
def test_oxide_table(formula: str, expected: tuple[str, int, int]) -> None:
    element, n_metal, n_oxygen = expected
    oxide = OXIDES[formula]
    assert (oxide.formula, oxide.element, oxide.n_metal, oxide.n_oxygen) == (
        formula, element, n_metal, n_oxygen,
    )  # fmt: skip
    weight = n_metal * IUPAC[element] + n_oxygen * IUPAC["O"]
    assert oxide.weight == pytest.approx(weight, rel=1e-12)
    assert oxide.factor_to_element == pytest.approx(n_metal * IUPAC[element] / weight, rel=1e-12)
    assert oxide_factor(formula) == oxide.factor_to_element


@pytest.mark.parametrize(
    ("formula", "factor"),
    [("Fe2O3", 0.6994), ("Al2O3", 0.5293), ("SiO2", 0.4674), ("K2O", 0.8302),
     ("CaO", 0.7147), ("U3O8", 0.8480), ("H2O", 0.1119), ("CO2", 0.2729)],
)  # fmt: skip
def test_oxide_factor_rounded(formula: str, factor: float) -> None:
    assert round(oxide_factor(formula), 4) == factor


@pytest.mark.parametrize(("formula", "element", "n_metal", "n_oxygen"),
                         [("La2O3", "La", 2, 3), ("Ce2O3", "Ce", 2, 3), ("PtO2", "Pt", 1, 2),
                          ("HgO", "Hg", 1, 1), ("CE2O3", "Ce", 2, 3)])  # fmt: skip
def test_oxides_outside_the_table(formula: str, element: str, n_metal: int,
                                  n_oxygen: int) -> None:  # fmt: skip
    expected = n_metal * IUPAC[element] / (n_metal * IUPAC[element] + n_oxygen * IUPAC["O"])
    assert oxide_factor(formula) == pytest.approx(expected, rel=1e-12)
    assert get_oxide(formula).element == element


@pytest.mark.parametrize("formula", ["CaCO3", "Fe", "NaCl", "Xx2O3", "", "oxide"])
def test_oxide_factor_rejects_non_oxides(formula: str) -> None:
    with pytest.raises(UnknownElementError):
        oxide_factor(formula)


@pytest.mark.parametrize(
    ("formula", "counts"),
    [("Fe2O3", {"Fe": 2, "O": 3}), ("U3O8", {"U": 3, "O": 8}), ("H2O", {"H": 2, "O": 1}),
     ("CaCO3", {"Ca": 1, "C": 1, "O": 3}), ("Cu", {"Cu": 1}),
     ("C6H12O6", {"C": 6, "H": 12, "O": 6}), (" SiO2 ", {"Si": 1, "O": 2})],
)  # fmt: skip
def test_parse_formula(formula: str, counts: dict[str, int]) -> None:
    assert parse_formula(formula) == counts


@pytest.mark.parametrize("formula", ["", "fe2o3", "2O", "Fe(OH)3", "Qq", "Fe0", "Fe2-O3"])
def test_parse_formula_rejects(formula: str) -> None:
    with pytest.raises(UnknownElementError):
        parse_formula(formula)


def test_formula_weight() -> None:
    assert formula_weight("Fe2O3") == pytest.approx(2 * 55.845 + 3 * 15.999)


@pytest.mark.parametrize(
    ("code", "unit"),
    [("LOI", "%"), ("pH", "pH"), ("EC", "mS/m"), ("C_org", "mg/kg"), ("C_inorg", "mg/kg"),
     ("sand", "%"), ("silt", "%"), ("clay", "%"), ("CEC", "cmol/kg"), ("NO3", "mg/kg"),
     ("PO4", "mg/kg"), ("SO4", "mg/kg")],
)  # fmt: skip
def test_parameters(code: str, unit: str) -> None:
    assert PARAMETERS[code].unit == unit
    assert canonical_unit(code) == unit
    assert analyte_kind(code) == "parameter"


@pytest.mark.parametrize(
    ("code", "unit"),
    [("Cu", "mg/kg"), ("Au", "mg/kg"), ("Si", "mg/kg"), ("Fe2O3", "mg/kg"), ("U3O8", "mg/kg"),
     ("cu", "mg/kg"), ("la2o3", "mg/kg"), ("loi", "%"), ("TOC", "mg/kg"), ("Cond", "mS/m")],
)  # fmt: skip
def test_canonical_unit(code: str, unit: str) -> None:
    assert canonical_unit(code) == unit


@pytest.mark.parametrize(("code", "suggestion"), [("Cuu", "Cu"), ("Fe2O4x", "Fe2O3"),
                                                  ("LOII", "LOI"), ("Zzz", None)])  # fmt: skip
def test_unknown_codes(code: str, suggestion: str | None) -> None:
    with pytest.raises(UnknownElementError) as info:
        canonical_unit(code)
    message = str(info.value)
    assert repr(code) in message
    if suggestion is not None:
        assert repr(suggestion) in message
    assert isinstance(info.value, KeyError)


@pytest.mark.parametrize(
    ("code", "canonical"),
    [("CU", "Cu"), ("cu", "Cu"), ("Cu", "Cu"), ("fe2o3", "Fe2O3"), ("FE2O3", "Fe2O3"),
     ("sio2", "SiO2"), ("u3o8", "U3O8"), ("PH", "pH"), ("loi", "LOI"), ("toc", "C_org"),
     ("c_org", "C_org"), ("TIC", "C_inorg"), ("Sand", "sand"), ("cec", "CEC"),
     ("no3", "NO3"), ("co2", "CO2"), ("CO", "Co"), ("La2O3", "La2O3"), (" Zn ", "Zn")],
)  # fmt: skip
def test_lookup(code: str, canonical: str) -> None:
    assert lookup(code) == canonical


@pytest.mark.parametrize(
    ("code", "expected"),
    [("Cu", True), ("PB", True), ("y", True), ("Fe2O3", False), ("LOI", False),
     ("pH", False), ("Xx", False), ("C_org", False)],
)  # fmt: skip
def test_is_element(code: str, expected: bool) -> None:
    assert is_element(code) is expected


def test_codes_are_unique_case_insensitively() -> None:
    codes = [*ELEMENTS, *OXIDES, *PARAMETERS]
    assert len({c.casefold() for c in codes}) == len(codes)


def test_analyte_kind() -> None:
    assert analyte_kind("fe") == "element"
    assert analyte_kind("FeO") == "oxide"
    assert analyte_kind("La2O3") == "oxide"
    with pytest.raises(UnknownElementError):
        analyte_kind("quartz")
