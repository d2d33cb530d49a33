"""Chemical reference table: elements, oxides and non-elemental parameters.

Everything chemearth knows about analytes lives here:

* :data:`ELEMENTS` -- hydrogen to uranium (Z = 1..92) with IUPAC 2021 abridged (five
  significant figures) or conventional standard atomic weights, and a geochemical group.
* :data:`GLOBAL_BASELINE_SUITE` -- the 76 elements of global geochemical baseline mapping.
* :data:`OXIDES` -- oxide formulas as reported by XRF laboratories, with the mass fraction of
  the element in the oxide *computed* from the atomic weights (never typed in).
* :data:`PARAMETERS` -- analytes that are not elements (LOI, pH, EC, organic carbon...).

Analyte codes
-------------
Elements use their symbol (``Cu``), oxides their formula (``Fe2O3``). The parameter codes are:

=========== ======= ======== ==================================================
code        unit    reported meaning
=========== ======= ======== ==================================================
``LOI``     %       %        loss on ignition
``pH``      pH      pH       pH (in whatever medium the survey used); no unit
``EC``      mS/m    mS/m     electrical conductivity (alias Cond); also µS/cm
``C_org``   mg/kg   %        organic carbon, as C (aliases TOC, Corg, SOC)
``C_inorg`` mg/kg   %        inorganic (carbonate) carbon, as C (alias TIC)
``sand``    %       %        sand-size fraction
``silt``    %       %        silt-size fraction
``clay``    %       %        clay-size fraction (grain size, not clay minerals)
``CEC``     cmol/kg cmol/kg  cation exchange capacity
``NO2``     mg/kg   mg/kg    nitrite, as NO2 (ion chromatography)
``NO3``     mg/kg   mg/kg    nitrate, as NO3 (ion chromatography)
``PO4``     mg/kg   mg/kg    phosphate, as PO4 (ion chromatography)
``SO4``     mg/kg   mg/kg    sulfate, as SO4 (ion chromatography)
=========== ======= ======== ==================================================

*unit* is the canonical unit values are stored in; *reported* the unit surveys usually
report the parameter in (:attr:`Parameter.reported`), which ``chemearth describe`` proposes
for a column that declares none.

Total carbon is the element ``C``. Halide anions (Cl-, Br-, F-) are the elements themselves.

Groups
------
``major`` (O, Na, Mg, Al, Si, P, K, Ca, Ti, Mn, Fe), ``volatile`` (H, C, N, S), ``halogen``
(F, Cl, Br, I), ``alkali`` (Li, Rb, Cs), ``alkaline_earth`` (Be, Sr, Ba), ``REE`` (La..Lu, the
geochemists' lanthanide series; Sc and Y are ``trace``), ``PGE`` (Ru, Rh, Pd, Os, Ir, Pt),
``actinide`` (Th, Pa, U), ``noble_gas``, ``radioactive`` (Tc, Po, At, Fr, Ra, Ac: no stable
isotope; their weight is the mass number of a long-lived isotope) and ``trace`` for the rest.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from chemearth.errors import UnknownElementError

__all__ = [
    "ELEMENTS",
    "ELEMENT_NAMES",
    "GLOBAL_BASELINE_SUITE",
    "GROUPS",
    "OXIDES",
    "PARAMETERS",
    "Element",
    "Oxide",
    "Parameter",
    "analyte_kind",
    "canonical_unit",
    "formula_weight",
    "get_oxide",
    "is_element",
    "lookup",
    "oxide_factor",
    "parse_formula",
]

GROUPS = (
    "major", "trace", "REE", "PGE", "halogen", "volatile", "alkali", "alkaline_earth",
    "actinide", "noble_gas", "radioactive",
)  # fmt: skip


@dataclass(frozen=True)
class Element:
    """One chemical element.

    Attributes
    ----------
    symbol : str
        Chemical symbol with standard capitalisation (``"Cu"``).
    name : str
        IUPAC English name (``"aluminium"``, ``"sulfur"``, ``"caesium"``).
    z : int
        Atomic number.
    atomic_weight : float
        IUPAC 2021 abridged/conventional standard atomic weight.
    group : str
        Geochemical group, one of :data:`GROUPS`.
    """

    symbol: str
    name: str
    z: int
    atomic_weight: float
    group: str


# symbol, name, Z, IUPAC 2021 abridged (or conventional) standard atomic weight, group.
# fmt: off
_ELEMENT_ROWS: tuple[tuple[str, str, int, float, str], ...] = (
    ("H", "hydrogen", 1, 1.008, "volatile"), ("He", "helium", 2, 4.0026, "noble_gas"),
    ("Li", "lithium", 3, 6.94, "alkali"), ("Be", "beryllium", 4, 9.0122, "alkaline_earth"),
    ("B", "boron", 5, 10.81, "trace"), ("C", "carbon", 6, 12.011, "volatile"),
    ("N", "nitrogen", 7, 14.007, "volatile"), ("O", "oxygen", 8, 15.999, "major"),
    ("F", "fluorine", 9, 18.998, "halogen"), ("Ne", "neon", 10, 20.180, "noble_gas"),
    ("Na", "sodium", 11, 22.990, "major"), ("Mg", "magnesium", 12, 24.305, "major"),
    ("Al", "aluminium", 13, 26.982, "major"), ("Si", "silicon", 14, 28.085, "major"),
    ("P", "phosphorus", 15, 30.974, "major"), ("S", "sulfur", 16, 32.06, "volatile"),
    ("Cl", "chlorine", 17, 35.45, "halogen"), ("Ar", "argon", 18, 39.95, "noble_gas"),
    ("K", "potassium", 19, 39.098, "major"), ("Ca", "calcium", 20, 40.078, "major"),
    ("Sc", "scandium", 21, 44.956, "trace"), ("Ti", "titanium", 22, 47.867, "major"),
    ("V", "vanadium", 23, 50.942, "trace"), ("Cr", "chromium", 24, 51.996, "trace"),
    ("Mn", "manganese", 25, 54.938, "major"), ("Fe", "iron", 26, 55.845, "major"),
    ("Co", "cobalt", 27, 58.933, "trace"), ("Ni", "nickel", 28, 58.693, "trace"),
    ("Cu", "copper", 29, 63.546, "trace"), ("Zn", "zinc", 30, 65.38, "trace"),
    ("Ga", "gallium", 31, 69.723, "trace"), ("Ge", "germanium", 32, 72.630, "trace"),
    ("As", "arsenic", 33, 74.922, "trace"), ("Se", "selenium", 34, 78.971, "trace"),
    ("Br", "bromine", 35, 79.904, "halogen"), ("Kr", "krypton", 36, 83.798, "noble_gas"),
    ("Rb", "rubidium", 37, 85.468, "alkali"), ("Sr", "strontium", 38, 87.62, "alkaline_earth"),
    ("Y", "yttrium", 39, 88.906, "trace"), ("Zr", "zirconium", 40, 91.224, "trace"),
    ("Nb", "niobium", 41, 92.906, "trace"), ("Mo", "molybdenum", 42, 95.95, "trace"),
    ("Tc", "technetium", 43, 97.0, "radioactive"), ("Ru", "ruthenium", 44, 101.07, "PGE"),
    ("Rh", "rhodium", 45, 102.91, "PGE"), ("Pd", "palladium", 46, 106.42, "PGE"),
    ("Ag", "silver", 47, 107.87, "trace"), ("Cd", "cadmium", 48, 112.41, "trace"),
    ("In", "indium", 49, 114.82, "trace"), ("Sn", "tin", 50, 118.71, "trace"),
    ("Sb", "antimony", 51, 121.76, "trace"), ("Te", "tellurium", 52, 127.60, "trace"),
    ("I", "iodine", 53, 126.90, "halogen"), ("Xe", "xenon", 54, 131.29, "noble_gas"),
    ("Cs", "caesium", 55, 132.91, "alkali"), ("Ba", "barium", 56, 137.33, "alkaline_earth"),
    ("La", "lanthanum", 57, 138.91, "REE"), ("Ce", "cerium", 58, 140.12, "REE"),
    ("Pr", "praseodymium", 59, 140.91, "REE"), ("Nd", "neodymium", 60, 144.24, "REE"),
    ("Pm", "promethium", 61, 145.0, "REE"), ("Sm", "samarium", 62, 150.36, "REE"),
    ("Eu", "europium", 63, 151.96, "REE"), ("Gd", "gadolinium", 64, 157.25, "REE"),
    ("Tb", "terbium", 65, 158.93, "REE"), ("Dy", "dysprosium", 66, 162.50, "REE"),
    ("Ho", "holmium", 67, 164.93, "REE"), ("Er", "erbium", 68, 167.26, "REE"),
    ("Tm", "thulium", 69, 168.93, "REE"), ("Yb", "ytterbium", 70, 173.05, "REE"),
    ("Lu", "lutetium", 71, 174.97, "REE"), ("Hf", "hafnium", 72, 178.49, "trace"),
    ("Ta", "tantalum", 73, 180.95, "trace"), ("W", "tungsten", 74, 183.84, "trace"),
    ("Re", "rhenium", 75, 186.21, "trace"), ("Os", "osmium", 76, 190.23, "PGE"),
    ("Ir", "iridium", 77, 192.22, "PGE"), ("Pt", "platinum", 78, 195.08, "PGE"),
    ("Au", "gold", 79, 196.97, "trace"), ("Hg", "mercury", 80, 200.59, "trace"),
    ("Tl", "thallium", 81, 204.38, "trace"), ("Pb", "lead", 82, 207.2, "trace"),
    ("Bi", "bismuth", 83, 208.98, "trace"), ("Po", "polonium", 84, 209.0, "radioactive"),
    ("At", "astatine", 85, 210.0, "radioactive"), ("Rn", "radon", 86, 222.0, "noble_gas"),
    ("Fr", "francium", 87, 223.0, "radioactive"), ("Ra", "radium", 88, 226.0, "radioactive"),
    ("Ac", "actinium", 89, 227.0, "radioactive"), ("Th", "thorium", 90, 232.04, "actinide"),
    ("Pa", "protactinium", 91, 231.04, "actinide"), ("U", "uranium", 92, 238.03, "actinide"),
)
# fmt: on

ELEMENTS: Mapping[str, Element] = MappingProxyType({row[0]: Element(*row) for row in _ELEMENT_ROWS})
"""Symbol -> :class:`Element`, in order of atomic number."""

ELEMENT_NAMES: Mapping[str, str] = MappingProxyType(
    {el.name: el.symbol for el in ELEMENTS.values()}
    | {"aluminum": "Al", "sulphur": "S", "cesium": "Cs", "phosphorous": "P"}
)
"""Lower-case English element name (IUPAC spelling plus US/British variants) -> symbol."""

GLOBAL_BASELINE_SUITE: tuple[str, ...] = (
    "Ag", "Al", "As", "Au", "B", "Ba", "Be", "Bi", "Br", "C", "Ca", "Cd", "Ce", "Cl", "Co",
    "Cr", "Cs", "Cu", "Dy", "Er", "Eu", "F", "Fe", "Ga", "Gd", "Ge", "Hf", "Hg", "Ho", "I",
    "In", "Ir", "K", "La", "Li", "Lu", "Mg", "Mn", "Mo", "N", "Na", "Nb", "Nd", "Ni", "Os",
    "P", "Pb", "Pd", "Pr", "Pt", "Rb", "Re", "Rh", "Ru", "S", "Sb", "Sc", "Se", "Si", "Sm",
    "Sn", "Sr", "Ta", "Tb", "Te", "Th", "Ti", "Tl", "Tm", "U", "V", "W", "Y", "Yb", "Zn",
    "Zr",
)  # fmt: skip
"""The 76 elements of global geochemical baseline mapping (IGGE / UNESCO Global Geochemical
Baselines; Xie Xuejing, Wang Xueqiu), in alphabetical order."""


@dataclass(frozen=True)
class Oxide:
    """A binary oxide as reported by XRF laboratories.

    Attributes
    ----------
    formula : str
        Formula with standard capitalisation (``"Fe2O3"``).
    element : str
        The non-oxygen element (``"Fe"``; ``"H"`` for H2O, ``"C"`` for CO2).
    n_metal, n_oxygen : int
        Atoms of the element and of oxygen in the formula unit.
    weight : float
        Formula weight (g/mol) from :data:`ELEMENTS`.
    factor_to_element : float
        Mass fraction of the element in the oxide (Fe2O3: 0.69943).
    """

    formula: str
    element: str
    n_metal: int
    n_oxygen: int
    weight: float
    factor_to_element: float


_TOKEN_RE = re.compile(r"([A-Z][a-z]?)(\d*)")
_CI_OXIDE_RE = re.compile(r"^([a-z]{1,2})(\d*)o(\d*)$")


def parse_formula(formula: str) -> dict[str, int]:
    """Parse a simple chemical formula (no brackets) into element counts.

    Parameters
    ----------
    formula : str
        Formula with standard capitalisation, e.g. ``"Fe2O3"`` or ``"CaCO3"``.

    Returns
    -------
    dict of str to int
        Element symbol -> number of atoms, in order of first appearance.

    Raises
    ------
    UnknownElementError
        If the text is not a formula or names an element chemearth does not know.

    Examples
    --------
    >>> parse_formula("U3O8")
    {'U': 3, 'O': 8}
    >>> parse_formula("CaCO3")
    {'Ca': 1, 'C': 1, 'O': 3}
    """
    text = formula.strip()
    counts: dict[str, int] = {}
    pos = 0
    for match in _TOKEN_RE.finditer(text):
        if match.start() != pos:
            break
        symbol, digits = match.groups()
        if symbol not in ELEMENTS:
            raise UnknownElementError(f"formula {formula!r}: unknown element {symbol!r}")
        count = int(digits) if digits else 1
        if count == 0:
            raise UnknownElementError(f"formula {formula!r}: zero count for {symbol}")
        counts[symbol] = counts.get(symbol, 0) + count
        pos = match.end()
    if not text or pos != len(text):
        raise UnknownElementError(f"{formula!r} is not a simple chemical formula such as 'Fe2O3'")
    return counts


def formula_weight(formula: str) -> float:
    """Formula weight (g/mol) of a simple formula from IUPAC atomic weights.

    Examples
    --------
    >>> round(formula_weight("SiO2"), 3)
    60.083
    """
    return sum(ELEMENTS[s].atomic_weight * n for s, n in parse_formula(formula).items())


def _make_oxide(formula: str) -> Oxide:
    counts = parse_formula(formula)
    others = [s for s in counts if s != "O"]
    if "O" not in counts or len(others) != 1:
        raise UnknownElementError(
            f"{formula!r} is not a binary oxide (one element plus oxygen, e.g. 'Fe2O3')"
        )
    element = others[0]
    weight = formula_weight(formula)
    metal_mass = counts[element] * ELEMENTS[element].atomic_weight
    return Oxide(formula, element, counts[element], counts["O"], weight, metal_mass / weight)


_OXIDE_FORMULAS = (
    "SiO2", "TiO2", "Al2O3", "Fe2O3", "FeO", "MnO", "MgO", "CaO", "Na2O", "K2O", "P2O5", "SO3",
    "Cr2O3", "BaO", "SrO", "NiO", "V2O5", "ZrO2", "CO2", "H2O", "Li2O", "Rb2O", "Cs2O", "BeO",
    "ZnO", "CuO", "PbO", "U3O8", "ThO2",
)  # fmt: skip

OXIDES: Mapping[str, Oxide] = MappingProxyType({f: _make_oxide(f) for f in _OXIDE_FORMULAS})
"""Formula -> :class:`Oxide` for the oxides laboratories commonly report."""


@dataclass(frozen=True)
class Parameter:
    """A non-elemental analyte with its canonical unit.

    Attributes
    ----------
    code : str
        Canonical chemearth code (``"LOI"``, ``"C_org"``).
    name : str
        Human-readable description.
    unit : str
        Canonical unit (as :func:`chemearth.reference.units.parse_unit` spells it).
    aliases : tuple of str
        Other codes that mean the same analyte (matched case-insensitively).
    usual_unit : str
        The unit surveys usually report it in, when not ``unit`` (``"%"`` for organic
        carbon); empty otherwise. See :attr:`reported`.
    """

    code: str
    name: str
    unit: str
    aliases: tuple[str, ...] = ()
    usual_unit: str = ""

    @property
    def reported(self) -> str:
        """The unit surveys usually report the parameter in (``usual_unit`` or ``unit``).

        Examples
        --------
        >>> PARAMETERS["C_org"].reported, PARAMETERS["pH"].reported
        ('%', 'pH')
        """
        return self.usual_unit or self.unit


# fmt: off
_PARAMETER_LIST = (
    Parameter("LOI", "loss on ignition", "%"),
    Parameter("pH", "pH", "pH"),
    Parameter("EC", "electrical conductivity", "mS/m", ("Cond", "conductivity")),
    Parameter("C_org", "organic carbon (as C)", "mg/kg",
              ("TOC", "Corg", "SOC", "OrgC", "C_organic", "organic_carbon"), "%"),
    Parameter("C_inorg", "inorganic (carbonate) carbon (as C)", "mg/kg",
              ("TIC", "Cinorg", "C_inorganic", "inorganic_carbon"), "%"),
    Parameter("sand", "sand-size fraction", "%"),
    Parameter("silt", "silt-size fraction", "%"),
    Parameter("clay", "clay-size fraction (grain size)", "%"),
    Parameter("CEC", "cation exchange capacity", "cmol/kg"),
    Parameter("NO2", "nitrite (as NO2)", "mg/kg"),
    Parameter("NO3", "nitrate (as NO3)", "mg/kg"),
    Parameter("PO4", "phosphate (as PO4)", "mg/kg"),
    Parameter("SO4", "sulfate (as SO4)", "mg/kg"),
)
# fmt: on

PARAMETERS: Mapping[str, Parameter] = MappingProxyType({p.code: p for p in _PARAMETER_LIST})
"""Code -> :class:`Parameter` for the non-elemental analytes."""


def _build_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for code in (*ELEMENTS, *OXIDES, *PARAMETERS):
        key = code.casefold()
        if key in index:  # pragma: no cover - guarded by a test
            raise RuntimeError(f"analyte codes {index[key]!r} and {code!r} collide")
        index[key] = code
    for param in PARAMETERS.values():
        for alias in param.aliases:
            index.setdefault(alias.casefold(), param.code)
    return index


_INDEX = _build_index()


def _generic_oxide(code: str) -> str | None:
    """Canonical spelling of a binary oxide not in :data:`OXIDES`, else None."""
    match = _CI_OXIDE_RE.match(code.casefold())
    if match is None:
        return None
    symbol = _INDEX.get(match.group(1))
    if symbol is None or symbol not in ELEMENTS or symbol == "O":
        return None
    a, b = (int(g) if g else 1 for g in match.groups()[1:])
    if a == 0 or b == 0:
        return None
    return f"{symbol}{a if a > 1 else ''}O{b if b > 1 else ''}"


def _unknown(code: str) -> UnknownElementError:
    keys = list(_INDEX)
    close = difflib.get_close_matches(code.casefold(), keys, n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(repr(_INDEX[c]) for c in close)}?" if close else ""
    return UnknownElementError(f"unknown element, oxide or parameter code {code!r}{hint}")


def lookup(code: str) -> str:
    """Canonical code of an element, oxide or parameter, matched case-insensitively.

    Any binary oxide of a known element (``"La2O3"``) is accepted even if it is not in
    :data:`OXIDES`. Parameter aliases resolve to their parameter (``"TOC"`` -> ``"C_org"``).

    Parameters
    ----------
    code : str
        Code as written by a user or a file, e.g. ``"CU"``, ``"fe2o3"``, ``"loi"``.

    Returns
    -------
    str
        The canonical code.

    Raises
    ------
    UnknownElementError
        If the code is unknown; the message suggests close matches.

    Examples
    --------
    >>> lookup("CU"), lookup("fe2o3"), lookup("ph"), lookup("TOC")
    ('Cu', 'Fe2O3', 'pH', 'C_org')
    """
    text = code.strip()
    if text in ELEMENTS or text in OXIDES or text in PARAMETERS:
        return text
    found = _INDEX.get(text.casefold())
    if found is not None:
        return found
    oxide = _generic_oxide(text)
    if oxide is not None:
        return oxide
    raise _unknown(code)


def analyte_kind(code: str) -> Literal["element", "oxide", "parameter"]:
    """Whether a code is an element, an oxide or a parameter.

    Examples
    --------
    >>> analyte_kind("cu"), analyte_kind("Al2O3"), analyte_kind("LOI")
    ('element', 'oxide', 'parameter')
    """
    canonical = lookup(code)
    if canonical in ELEMENTS:
        return "element"
    if canonical in PARAMETERS:
        return "parameter"
    return "oxide"


def is_element(code: str) -> bool:
    """True if the code is an element symbol (case-insensitive).

    Examples
    --------
    >>> is_element("PB"), is_element("Fe2O3"), is_element("LOI")
    (True, False, False)
    """
    return _INDEX.get(code.strip().casefold()) in ELEMENTS


def get_oxide(formula: str) -> Oxide:
    """The :class:`Oxide` for a formula, from :data:`OXIDES` or computed on the fly.

    Raises
    ------
    UnknownElementError
        If the formula is not a binary oxide of a known element.

    Examples
    --------
    >>> get_oxide("La2O3").element
    'La'
    """
    text = formula.strip()
    if text in OXIDES:
        return OXIDES[text]
    found = _INDEX.get(text.casefold(), "")
    if found in OXIDES:
        return OXIDES[found]
    try:
        return _make_oxide(text)
    except UnknownElementError:
        respelled = _generic_oxide(text)  # not standard capitalisation, e.g. "LA2O3"
        if respelled is None:
            raise
        return _make_oxide(respelled)


def oxide_factor(formula: str) -> float:
    """Mass fraction of the element in a binary oxide (multiply oxide mass to get element).

    Parameters
    ----------
    formula : str
        Oxide formula, e.g. ``"Fe2O3"``; need not be in :data:`OXIDES`.

    Returns
    -------
    float
        ``n_metal * A(element) / M(oxide)``.

    Examples
    --------
    >>> round(oxide_factor("Fe2O3"), 4)
    0.6994
    >>> round(oxide_factor("U3O8"), 4)
    0.848
    """
    return get_oxide(formula).factor_to_element


def canonical_unit(code: str) -> str:
    """Canonical chemearth unit of an analyte.

    Elements and oxides (which are stored as their element) are in ``"mg/kg"``; parameters
    keep their own unit (:data:`PARAMETERS`).

    Raises
    ------
    UnknownElementError
        If the code is unknown; the message names it and suggests close matches.

    Examples
    --------
    >>> canonical_unit("Cu"), canonical_unit("Fe2O3"), canonical_unit("EC")
    ('mg/kg', 'mg/kg', 'mS/m')
    """
    canonical = lookup(code)
    if canonical in PARAMETERS:
        return PARAMETERS[canonical].unit
    return "mg/kg"
