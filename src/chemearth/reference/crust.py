"""Crustal abundances, and whether a column's values are plausible in its declared unit.

A survey column in the wrong unit is off by a round factor: µg/kg read as mg/kg is 1,000
times too high, wt. % read as mg/kg 10,000 times too low. :func:`unit_problems` compares the
median of a column, converted to chemearth's canonical unit, with the element's abundance in
the upper continental crust (:data:`CRUSTAL_ABUNDANCE`: Rudnick & Gao 2003, shipped in
``reference/data/crust/ucc_rudnick_gao_2003.toml``), or, for analytes whose content the crust
does not set, with a plausible range (:data:`PLAUSIBLE_RANGES`). ``chemearth describe`` uses
it to propose a unit for a column whose header gives none (``chemearth.ingest.infer_units``);
``chemearth check`` calls it for each declared column.

Thresholds
----------
Soils, sediments, humus and moss differ from the crust, and partial digestions (aqua regia)
leave silicate-bound elements behind, so the bounds are wide. They were chosen on the
shipped descriptors' columns of the real surveys (every column of every descriptor in
``chemearth/ingest/data/descriptors``, values as declared, median of the positive numbers):

============================ ================== ==============================================
bound                        value              most extreme real column (median / crust)
============================ ================== ==============================================
:data:`HIGH_FACTOR`          200 × crust        Kola C-horizon Ir (INAA, all half the DL):
                                                114×; then Ag (INAA) 47×, NGS Cd 44×,
                                                Meuse Cd 27×
:data:`LOW_FACTOR_MAJOR`     crust / 5,000      Kola standard Si (aqua regia): 1/3,100;
                                                Kola C-horizon Si 1/2,200
:data:`LOW_FACTOR`           crust / 20,000     NADA groundwater Cu (µg/L declared as
                                                µg/kg): 1/9,350; Zn 1/6,100
============================ ================== ==============================================

Each bound sits 1.6 to 2 times beyond the most extreme real column (a test keeps it so).
The commonest unit error, µg/kg values read as mg/kg (1,000× too high), is then found for
every column whose true median is at least 1/5 of the crustal abundance: three quarters of
the real columns, and all their precious metals. wt. % read as mg/kg is found for every
major element whose true median is at most twice the crustal abundance (all of the real
ones). The real data spread over six orders of magnitude around the crust (groundwater to
humus), more than the factor 1,000 of the error, so a median alone cannot catch every
1,000× error: a trace element whose true median lies between 1/20 and 1/5 of the crust
(an eighth of the real columns, mostly aqua-regia and moss analyses) is not flagged when it
is off by 1,000 either way. EC (mS/m against µS/cm is only tenfold) is checked against its
physical range only.

"Major" elements are those of group ``major`` in :mod:`chemearth.reference.elements`
(Na, Mg, Al, Si, P, K, Ca, Ti, Mn, Fe).

Analytes checked against :data:`PLAUSIBLE_RANGES` instead (median, canonical unit): pH,
EC, LOI, grain size, CEC, and H, C, N with the carbon parameters, which organic matter
rather than the crust sets (Kola humus holds 45 % C and 1.3 % N, 157× the crustal N).
Every mass fraction above 100 % is impossible, whatever the analyte.

Examples
--------
>>> CRUSTAL_ABUNDANCE["Cu"], CRUSTAL_ABUNDANCE["Au"]
(28.0, 0.0015)
>>> unit_problems("Au", "mg/kg", np.array([1.0, 2.0, 5.0]))  # doctest: +ELLIPSIS
['Au: median 2 mg/kg is 1,333× the upper-crust abundance (0.0015 mg/kg)...']
>>> unit_problems("Au", "µg/kg", np.array([1.0, 2.0, 5.0]))
[]
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

from chemearth.errors import UnitError, UnknownElementError
from chemearth.reference.elements import ELEMENTS, analyte_kind, canonical_unit
from chemearth.reference.units import conversion_factor, parse_unit

__all__ = [
    "CRUSTAL_ABUNDANCE",
    "CRUST_CITATION",
    "HIGH_FACTOR",
    "LOW_FACTOR",
    "LOW_FACTOR_MAJOR",
    "PLAUSIBLE_RANGES",
    "column_median",
    "implausibility",
    "plausible_units",
    "unit_problems",
]

_CRUST_FILE = Path(__file__).parent / "data" / "crust" / "ucc_rudnick_gao_2003.toml"


def _load_crust() -> tuple[Mapping[str, float], str]:
    with _CRUST_FILE.open("rb") as f:
        doc = tomllib.load(f)
    table = {str(k): float(v) for k, v in doc["abundance"].items()}
    return MappingProxyType(table), str(doc["source"]["citation"])


CRUSTAL_ABUNDANCE, CRUST_CITATION = _load_crust()
"""Element symbol -> abundance in the upper continental crust, mg/kg (Rudnick & Gao 2003)."""

HIGH_FACTOR = 200.0
"""A median more than this many times the crustal abundance is flagged."""

LOW_FACTOR = 20_000.0
"""A trace element's median below the crustal abundance divided by this is flagged."""

LOW_FACTOR_MAJOR = 5_000.0
"""A major element's median below the crustal abundance divided by this is flagged."""

PLAUSIBLE_RANGES: Mapping[str, tuple[float, float, str]] = MappingProxyType({
    "pH": (0.0, 14.0, "the pH scale"),
    "EC": (0.005, 25_000.0, "ultrapure water to brine"),
    "LOI": (0.05, 100.0, "quartz sand to peat"),
    "sand": (0.1, 100.0, "a grain-size fraction"),
    "silt": (0.1, 100.0, "a grain-size fraction"),
    "clay": (0.1, 100.0, "a grain-size fraction"),
    "CEC": (0.05, 1_000.0, "sand to peat"),
    "H": (10.0, 150_000.0, "minerals to organic matter (about 6 % H)"),
    "C": (10.0, 600_000.0, "desert soils to peat and humus (up to about 55 % C)"),
    "C_org": (10.0, 600_000.0, "desert soils to peat and humus (up to about 55 % C)"),
    "C_inorg": (1.0, 130_000.0, "up to pure dolomite (13 % C)"),
    "N": (5.0, 100_000.0, "sand to organic matter"),
})  # fmt: skip
"""Analyte -> (lowest, highest plausible median in the canonical unit, why): the analytes
that are not compared with the crust (units: pH; EC mS/m; LOI, grain size %; CEC cmol/kg;
H, C, N, C_org, C_inorg mg/kg)."""

_MAX_MASS_FRACTION = 1e6  # mg/kg: 100 %


def column_median(values: npt.ArrayLike) -> float:
    """Median of the finite, positive numbers of a column (NaN when there are none).

    Zero and negative numbers are left out: in survey files they encode values below the
    detection limit (``0`` or ``-2`` for ``<2``), not concentrations.

    Examples
    --------
    >>> column_median([0.0, -2.0, 1.0, 3.0, float("nan")])
    2.0
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v) & (v > 0)]
    return float(np.median(v)) if len(v) else float("nan")


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if x >= 10 else f"{x:.2g}"


def unit_problems(element: str, unit: str, values: npt.ArrayLike) -> list[str]:
    """Why the values of a column look like they are not in ``unit`` (empty if plausible).

    Parameters
    ----------
    element : str
        Analyte code as declared (element, oxide or parameter, any case: ``"Au"``,
        ``"Fe2O3"``, ``"pH"``).
    unit : str
        The declared unit of the values (``"mg/kg"``, ``"ppb"``, ``"wt. %"``).
    values : array_like
        The column's numbers as written in the file, in ``unit``. NaN, zero and negative
        numbers (below-detection-limit encodings) are ignored.

    Returns
    -------
    list of str
        One message per problem: the unit cannot express the analyte at all (pH in mg/kg),
        or the median, in the canonical unit, is more than :data:`HIGH_FACTOR` times the
        crustal abundance, below it by more than :data:`LOW_FACTOR` (:data:`LOW_FACTOR_MAJOR`
        for major elements), outside :data:`PLAUSIBLE_RANGES`, or above 100 %. Each message
        names a usual unit in which the values would be plausible, if there is one.

    Examples
    --------
    >>> unit_problems("pH", "mg/kg", np.array([5.5, 6.0]))  # doctest: +ELLIPSIS
    ["pH: cannot convert pH from 'mg/kg' (mass_fraction) to its canonical unit 'pH' (pH)"]
    >>> unit_problems("Fe2O3", "mg/kg", np.array([3.1, 4.2, 5.0]))  # doctest: +ELLIPSIS
    ['Fe2O3: median 4.2 mg/kg (= 2.94 mg/kg Fe) is 1/13,337 of the upper-crust ...fit in %']
    >>> unit_problems("Fe2O3", "%", np.array([3.1, 4.2, 5.0]))
    []
    """
    problem = implausibility(element, unit, values)
    if problem is None:
        return []
    fits = [u for u in _alternatives(unit) if implausibility(element, u, values) is None]
    if fits:
        problem += f"; the values would fit in {fits[0]}"
    return [problem]


def plausible_units(
    element: str, values: npt.ArrayLike, candidates: Sequence[str] | None = None
) -> list[str]:
    """The units, of ``candidates``, in which the values of ``element`` are plausible.

    Parameters
    ----------
    element : str
        Analyte code (element, oxide or parameter).
    values : array_like
        The column's numbers as written.
    candidates : sequence of str, optional
        Units to try, in order of preference; default: the analyte's canonical unit, then
        the other usual units of its dimension (mg/kg, µg/kg, %, g/kg, ng/kg for mass
        fractions; mS/m, µS/cm for EC).

    Returns
    -------
    list of str
        The candidates, in their order, for which :func:`unit_problems` finds nothing.

    Examples
    --------
    >>> plausible_units("Au", [2.0, 3.0, 40.0], ["mg/kg", "µg/kg"])
    ['µg/kg']
    >>> plausible_units("Cu", [12.0, 28.0, 40.0], ["mg/kg", "µg/kg", "%"])
    ['mg/kg', 'µg/kg']
    >>> plausible_units("K", [1.2, 1.5, 2.0])  # wt. %, not mg/kg
    ['%', 'g/kg']
    """
    if candidates is None:
        try:
            first = canonical_unit(element)
        except UnknownElementError:
            return []
        candidates = [first, *(u for u in _alternatives(first) if u != first)]
    return [u for u in candidates if implausibility(element, u, values) is None]


_USUAL_UNITS = {
    "mass_fraction": ("mg/kg", "µg/kg", "%", "g/kg", "ng/kg"),
    "conductivity": ("mS/m", "µS/cm", "mS/cm"),
    "exchange": ("cmol/kg", "meq/kg"),
}


def _alternatives(unit: str) -> list[str]:
    """The usual units of the dimension of ``unit``, other than ``unit`` itself."""
    try:
        parsed = parse_unit(unit)
    except UnitError:
        return []
    return [u for u in _USUAL_UNITS.get(parsed.dimension, ()) if u != parsed.symbol]


def implausibility(element: str, unit: str, values: npt.ArrayLike) -> str | None:
    """Why the values are implausible in ``unit`` (None if they are plausible).

    Like :func:`unit_problems`, without the hint of a unit that would fit.

    Examples
    --------
    >>> implausibility("Au", "mg/kg", [2.0])
    'Au: median 2 mg/kg is 1,333× the upper-crust abundance (0.0015 mg/kg), more than 200×'
    >>> implausibility("Au", "ppb", [2.0]) is None
    True
    """
    try:
        code, factor = conversion_factor(unit, element)
    except (UnitError, UnknownElementError) as exc:
        return f"{element}: {exc}".replace('"', "'")
    median = column_median(values)
    if np.isnan(median):
        return None
    value = median * factor
    target = canonical_unit(code)
    said = f"{element}: median {median:.3g} {unit}"
    if analyte_kind(element) == "oxide":
        said += f" (= {value:.3g} mg/kg {code})"
    elif parse_unit(unit).symbol != target:
        said += f" (= {value:.3g} {target})"
    if code in PLAUSIBLE_RANGES:
        lo, hi, why = PLAUSIBLE_RANGES[code]
        if not lo <= value <= hi:
            return f"{said} is outside {lo:g} to {hi:g} {target} ({why}), where {code} medians lie"
        return None
    if target == "mg/kg" and value > _MAX_MASS_FRACTION:
        return f"{said} is more than 100 %"
    crust = CRUSTAL_ABUNDANCE.get(code)
    if crust is None:
        return None
    ratio = value / crust
    low = LOW_FACTOR_MAJOR if ELEMENTS[code].group == "major" else LOW_FACTOR
    where = f"the upper-crust abundance ({crust:g} mg/kg)"
    if ratio > HIGH_FACTOR:
        return f"{said} is {_fmt(ratio)}× {where}, more than {HIGH_FACTOR:g}×"
    if ratio < 1 / low:
        return f"{said} is 1/{_fmt(1 / ratio)} of {where}, less than 1/{low:,.0f}"
    return None
