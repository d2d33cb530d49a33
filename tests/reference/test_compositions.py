"""Reference compositions (chemearth.reference.compositions) against the shared tables.

The shipped TOML values must equal pyrolite's CSV tables in the shared data folder
(``reference_compositions/``), converted here independently of chemearth: ppm as is, ppb
÷ 1000, wt. % of an oxide to the element by IUPAC atomic weights typed in below.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from chemearth.reference.compositions import (
    ALIASES,
    REFERENCE_COMPOSITIONS,
    ReferenceCompositionError,
    reference_composition,
)

ATOMIC_WEIGHT = {
    "O": 15.999, "Na": 22.990, "Mg": 24.305, "Al": 26.982, "Si": 28.085, "P": 30.974,
    "K": 39.098, "Ca": 40.078, "Ti": 47.867, "Mn": 54.938, "Fe": 55.845,
}  # fmt: skip
OXIDE = {
    "SiO2": ("Si", 1, 2), "TiO2": ("Ti", 1, 2), "Al2O3": ("Al", 2, 3), "FeO": ("Fe", 1, 1),
    "MnO": ("Mn", 1, 1), "MgO": ("Mg", 1, 1), "CaO": ("Ca", 1, 1), "Na2O": ("Na", 2, 1),
    "K2O": ("K", 2, 1), "P2O5": ("P", 2, 5),
}  # fmt: skip

#: Rows of the source tables left out because the element is also given as its oxide
#: (both hold a nitrogen-like value under the symbol Na).
LEFT_OUT = {"BCC_RudnickGao2003": {"Na": 56.0}, "UCC_RudnickGao2014": {"Na": 83.0}}


def shared_table(path: Path) -> tuple[dict[str, float], dict[str, float]]:
    """Element -> mg/kg of the values given as elements, and of those given as oxides."""
    elements: dict[str, float] = {}
    oxides: dict[str, float] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            value, unit, name = row["value"], row["units"], row["var"]
            if not value or not unit:
                continue
            if unit == "%" and name in OXIDE:
                element, n_metal, n_oxygen = OXIDE[name]
                metal = n_metal * ATOMIC_WEIGHT[element]
                oxides[element] = float(value) * 1e4 * metal / (metal + n_oxygen * 15.999)
            elif unit == "%":
                elements[name] = float(value) * 1e4
            elif unit == "ppm":
                elements[name] = float(value)
            else:
                assert unit == "ppb", row
                elements[name] = float(value) / 1000
    return elements, oxides


def test_the_six_shared_tables_are_shipped(data_dir: Path) -> None:
    shared = sorted(p.stem for p in (data_dir / "reference_compositions").glob("*.csv"))
    assert list(REFERENCE_COMPOSITIONS) == shared
    assert set(ALIASES.values()) <= set(REFERENCE_COMPOSITIONS)


@pytest.mark.parametrize("name", REFERENCE_COMPOSITIONS)
def test_shipped_values_equal_the_shared_table(data_dir: Path, name: str) -> None:
    elements, oxides = shared_table(data_dir / "reference_compositions" / f"{name}.csv")
    assert {k: elements.pop(k) for k in set(elements) & set(oxides)} == LEFT_OUT.get(name, {})
    shipped = reference_composition(name).abundance
    assert set(shipped) == set(elements) | set(oxides)
    for element, value in elements.items():
        assert shipped[element] == pytest.approx(value, rel=1e-9), element
    for element, value in oxides.items():  # four significant figures
        assert shipped[element] == pytest.approx(value, rel=5e-4), element


@pytest.mark.parametrize(("asked", "name", "element", "value"), [
    ("PAAS", "PAAS_TaylorMcLennan1985", "Eu", 1.1),
    ("nasc", "NASC_Gromet1984", "La", 32.0),
    ("UCC", "UCC_RudnickGao2014", "Ce", 63.0),
    ("BCC", "BCC_RudnickGao2003", "Yb", 1.9),
    ("UCC_McLennan2001", "UCC_McLennan2001", "Fe", 35000.0),  # 3.5 % as the element
    ("ucc_rudnickgao2003", "UCC_RudnickGao2003", "Au", 0.0015),  # 1.5 ppb
])
def test_names_aliases_and_units(asked: str, name: str, element: str, value: float) -> None:
    ref = reference_composition(asked)
    assert ref.name == name
    assert ref.abundance[element] == pytest.approx(value)
    assert ref.citation


@pytest.mark.parametrize(("asked", "message"), [
    ("chondrite", "no chondrite"), ("CI", "no chondrite"), ("MORB", "unknown reference"),
])
def test_unknown_compositions_are_refused(asked: str, message: str) -> None:
    with pytest.raises(ReferenceCompositionError, match=message):
        reference_composition(asked)
    assert issubclass(ReferenceCompositionError, KeyError)
