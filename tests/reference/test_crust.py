"""Crustal abundances and the plausibility of a column's unit (chemearth.reference.crust).

The shipped abundance table is checked against the shared reference composition it was
derived from; the thresholds of :func:`unit_problems` are checked against every column of
every shipped descriptor, read from the real survey files as ``chemearth check`` would.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from chemearth.ingest.descriptor import load_descriptor
from chemearth.ingest.detection_limits import parse_cells
from chemearth.ingest.pipeline import expand_replicates, resolve_source
from chemearth.ingest.readers import read_table
from chemearth.ingest.shipped import shipped_descriptors
from chemearth.reference.crust import (
    CRUST_CITATION,
    CRUSTAL_ABUNDANCE,
    HIGH_FACTOR,
    LOW_FACTOR,
    LOW_FACTOR_MAJOR,
    PLAUSIBLE_RANGES,
    column_median,
    implausibility,
    plausible_units,
    unit_problems,
)
from chemearth.reference.elements import ELEMENTS
from chemearth.reference.units import conversion_factor

# --- the shipped table against the shared file ---------------------------------------------

#: IUPAC standard atomic weights of the oxides' elements, typed in here independently of
#: chemearth.reference.elements.
ATOMIC_WEIGHT = {
    "O": 15.999, "Na": 22.990, "Mg": 24.305, "Al": 26.982, "Si": 28.085, "P": 30.974,
    "K": 39.098, "Ca": 40.078, "Ti": 47.867, "Mn": 54.938, "Fe": 55.845,
}  # fmt: skip
OXIDE = {
    "SiO2": ("Si", 1, 2), "TiO2": ("Ti", 1, 2), "Al2O3": ("Al", 2, 3), "FeO": ("Fe", 1, 1),
    "MnO": ("Mn", 1, 1), "MgO": ("Mg", 1, 1), "CaO": ("Ca", 1, 1), "Na2O": ("Na", 2, 1),
    "K2O": ("K", 2, 1), "P2O5": ("P", 2, 5),
}  # fmt: skip


def shared_ucc(data_dir: Path) -> dict[str, float]:
    """Element -> mg/kg from the shared UCC_RudnickGao2003.csv."""
    path = data_dir / "reference_compositions" / "UCC_RudnickGao2003.csv"
    out: dict[str, float] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            value, unit, name = row["value"], row["units"], row["var"]
            if not value or not unit:
                continue
            if unit == "%":
                element, n_metal, n_oxygen = OXIDE[name]
                metal = n_metal * ATOMIC_WEIGHT[element]
                out[element] = float(value) * 1e4 * metal / (metal + n_oxygen * 15.999)
            elif unit == "ppm":
                out[name] = float(value)
            else:
                assert unit == "ppb", row
                out[name] = float(value) / 1000
    return out


def test_shipped_abundances_equal_the_shared_reference_composition(data_dir: Path) -> None:
    expected = shared_ucc(data_dir)
    assert set(CRUSTAL_ABUNDANCE) == set(expected)
    for element, value in expected.items():
        # the major elements are rounded to four significant figures
        assert CRUSTAL_ABUNDANCE[element] == pytest.approx(value, rel=5e-4), element
    assert CRUSTAL_ABUNDANCE["Fe"] == pytest.approx(39180, rel=1e-3)  # FeO 5.04 %
    assert CRUSTAL_ABUNDANCE["Au"] == 0.0015  # 1.5 ppb


def test_the_table_is_cited() -> None:
    assert "Rudnick" in CRUST_CITATION
    assert "2003" in CRUST_CITATION


# --- the real surveys: none of the shipped columns is flagged, a 1000x error is ----------------


@dataclass(frozen=True)
class Column:
    dataset: str
    column: str
    element: str
    unit: str
    values: np.ndarray

    @property
    def canonical(self) -> tuple[str, float]:
        """(canonical analyte, median in its canonical unit)."""
        code, factor = conversion_factor(self.unit, self.element)
        return code, column_median(self.values) * factor


@pytest.fixture(scope="module")
def shipped_columns(data_dir: Path) -> list[Column]:
    """Every column of every shipped descriptor, with its values and unit as declared."""
    out = []
    for path in shipped_descriptors():
        desc = load_descriptor(path)
        raw = read_table(resolve_source(desc, None, data_dir), desc.source)
        raw = expand_replicates(raw, desc)
        for spec in desc.columns:
            unit = spec.unit or raw.units.get(spec.column) or desc.default_unit or "mg/kg"
            cells = parse_cells(raw.table.column(spec.column), desc.source.not_sampled)
            out.append(Column(desc.dataset.id, spec.column, spec.element, unit, cells.number))
    return out


def _ratio(col: Column) -> float:
    """Median / crustal abundance; NaN for analytes checked against a range instead."""
    code, median = col.canonical
    crust = CRUSTAL_ABUNDANCE.get(code)
    if crust is None or code in PLAUSIBLE_RANGES:
        return math.nan
    return median / crust


def test_no_column_of_a_shipped_descriptor_is_flagged(shipped_columns: list[Column]) -> None:
    assert len(shipped_columns) > 700
    flagged = {
        (c.dataset, c.column): problems
        for c in shipped_columns
        if (problems := unit_problems(c.element, c.unit, c.values))
    }
    assert flagged == {}


def test_thresholds_keep_a_margin_from_the_real_extremes(shipped_columns: list[Column]) -> None:
    """The bounds are about twice beyond the most extreme real column (module docstring)."""
    ratios = [(r, c) for c in shipped_columns if not math.isnan(r := _ratio(c))]
    highest = max(r for r, _ in ratios)
    lowest_trace = min(r for r, c in ratios if ELEMENTS[c.canonical[0]].group != "major")
    lowest_major = min(r for r, c in ratios if ELEMENTS[c.canonical[0]].group == "major")
    assert 100 < highest < HIGH_FACTOR / 1.5
    assert 1 / LOW_FACTOR < lowest_trace / 1.5 < 1 / 5_000
    assert 1 / LOW_FACTOR_MAJOR < lowest_major / 1.5 < 1 / 2_000


def test_microgram_values_read_as_mg_kg_are_flagged(shipped_columns: list[Column]) -> None:
    """µg/kg read as mg/kg (x 1000, the issue's error) is caught for every column whose true
    median is at least HIGH_FACTOR / 1000 of the crust: most columns, every precious metal."""
    with_crust = [c for c in shipped_columns if not math.isnan(_ratio(c))]
    caught = [c for c in with_crust if unit_problems(c.element, c.unit, c.values * 1000)]
    for c in with_crust:
        if _ratio(c) >= HIGH_FACTOR / 1000:
            assert c in caught, (c.dataset, c.column, _ratio(c))
    assert len(caught) / len(with_crust) > 0.75
    precious = [c for c in with_crust if c.canonical[0] in {"Au", "Ir", "Pt", "Pd", "Os", "Re"}]
    assert len(precious) >= 8  # Au_INAA and Ir_INAA of four Kola files
    assert all(c in caught for c in precious)


def test_a_thousandfold_error_is_flagged_one_way_or_the_other(
    shipped_columns: list[Column],
) -> None:
    """x 1000 or / 1000: caught for all major elements and most traces (the docstring says
    which traces are missed: true median between 1/20 and 1/5 of the crust)."""
    with_crust = [c for c in shipped_columns if not math.isnan(_ratio(c))]
    missed = [
        c for c in with_crust
        if not unit_problems(c.element, c.unit, c.values * 1000)
        and not unit_problems(c.element, c.unit, c.values / 1000)
    ]  # fmt: skip
    assert all(ELEMENTS[c.canonical[0]].group != "major" for c in missed)
    assert all(1 / 20 <= _ratio(c) <= 1 / 5 for c in missed)
    assert len(missed) / len(with_crust) < 0.15


def test_percent_read_as_mg_kg_is_flagged_for_major_elements(
    shipped_columns: list[Column],
) -> None:
    """Major elements and oxides declared in % would be 10,000 times too low in mg/kg."""
    percent = [
        c for c in shipped_columns
        if c.unit.replace(" ", "") in {"%", "wt.%"} and c.canonical[0] in ELEMENTS
        and ELEMENTS[c.canonical[0]].group == "major" and not np.isnan(column_median(c.values))
    ]  # fmt: skip
    assert len(percent) > 50
    for c in percent:
        assert unit_problems(c.element, "mg/kg", c.values), (c.dataset, c.column)


def test_parameters_off_by_1000_are_flagged(shipped_columns: list[Column]) -> None:
    params = [c for c in shipped_columns if c.element in {"pH", "LOI", "sand", "silt", "clay"}]
    assert len(params) > 15
    for c in params:
        assert unit_problems(c.element, c.unit, c.values * 1000), (c.dataset, c.column)


# --- single cases --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("element", "unit", "values", "expected"),
    [
        ("pH", "mg/kg", [5.5, 6.0], "cannot convert pH"),
        ("EC", "mg/kg", [0.3], "cannot convert EC"),
        ("Au", "mg/kg", [1.0, 2.0, 5.0], "1,333× the upper-crust abundance"),
        ("Au", "ppm", [1.0, 2.0, 5.0], "would fit in µg/kg"),
        ("Fe2O3", "mg/kg", [3.0, 4.0], "would fit in %"),
        ("Fe", "mg/kg", [3.0, 4.0], "less than 1/5,000"),
        ("pH", "pH", [5800.0], "outside 0 to 14"),
        ("LOI", "mg/kg", [2.0, 3.0], "would fit in %"),
        ("Te", "%", [200.0, 300.0], "more than 100 %"),
        ("Cu", "%", [28.0], "more than 200×"),
        ("Xx", "mg/kg", [1.0], "unknown element"),
        ("Cu", "furlongs", [1.0], "unknown unit"),
    ],
)
def test_problems(element: str, unit: str, values: list[float], expected: str) -> None:
    problems = unit_problems(element, unit, np.array(values))
    assert len(problems) == 1
    assert expected in problems[0]
    assert problems[0].startswith(element)


@pytest.mark.parametrize(
    ("element", "unit", "values"),
    [
        ("pH", "pH", [4.0, 7.5]),
        ("EC", "µS/cm", [120.0, 300.0]),
        ("Au", "ppb", [1.0, 2.0, 5.0]),
        ("Fe2O3", "wt. %", [3.0, 4.0]),
        ("C_org", "%", [1.5, 4.0]),
        ("Cu", "mg/kg", [12.0, 28.0, 900.0]),
        ("Te", "mg/kg", [0.1]),  # no crustal value: only the 100 % bound
        ("Cu", "mg/kg", [np.nan, np.nan]),  # nothing to judge
        ("Cu", "mg/kg", [0.0, -2.0, 25.0]),  # zero and negative numbers encode '<DL'
    ],
)
def test_plausible(element: str, unit: str, values: list[float]) -> None:
    assert unit_problems(element, unit, np.array(values)) == []
    assert implausibility(element, unit, values) is None


def test_below_detection_limit_encodings_do_not_count() -> None:
    # a column of '-0.005' (< 0.005) and a few gold values: the median is that of the values
    values = np.array([-0.005] * 50 + [1.0, 2.0, 3.0])
    assert column_median(values) == 2.0
    assert unit_problems("Au", "mg/kg", values)
    assert unit_problems("Au", "µg/kg", values) == []


def test_plausible_units_in_order_of_preference() -> None:
    assert plausible_units("Au", [2.0, 3.0, 40.0]) == ["µg/kg", "ng/kg"]
    assert plausible_units("Au", [2.0, 3.0], ["%", "µg/kg"]) == ["µg/kg"]
    assert plausible_units("K", [1.2, 1.5])[0] == "%"
    assert plausible_units("pH", [5.5]) == ["pH"]
    assert plausible_units("EC", [0.3, 0.4]) == ["mS/m", "µS/cm", "mS/cm"]
    assert plausible_units("EC", [60_000.0]) == ["µS/cm"]


def test_every_range_is_in_the_canonical_unit_of_a_known_analyte() -> None:
    from chemearth.reference.elements import canonical_unit

    for code, (lo, hi, why) in PLAUSIBLE_RANGES.items():
        assert canonical_unit(code)
        assert 0 <= lo < hi
        assert why
