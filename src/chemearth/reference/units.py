"""Units of geochemical data and their conversion to chemearth's canonical units.

A unit is parsed into a :class:`Unit`: a canonical spelling (``symbol``), a physical
``dimension`` and a ``scale`` to the base unit of that dimension:

=================== =========== =============================================================
dimension           base unit   accepted spellings (case- and whitespace-insensitive)
=================== =========== =============================================================
``mass_fraction``   mg/kg       mg/kg, ppm, µg/g, ug/g, g/t; %, wt%, wt.%, pct, percent,
                                g/100g; g/kg, mg/g, ‰; µg/kg, ppb, ng/g; ng/kg, pg/g
``conductivity``    mS/m        mS/m; µS/cm (0.1 mS/m); mS/cm, dS/m (100 mS/m); S/m
``pH``              pH          pH
``exchange``        cmol/kg     cmol/kg, cmol(+)/kg, cmolc/kg, meq/100g (= cmol/kg);
                                mmol(+)/kg, meq/kg (0.1 cmol/kg)
``angle``           degree      degrees, deg, °
``length``          m           m, cm, mm, km
=================== =========== =============================================================

Both micro signs (U+00B5 and U+03BC) and a plain ``u`` are accepted. ``ppt`` is refused: in
geochemistry it means parts per thousand (g/kg) as often as parts per trillion (ng/kg).
Equivalent spellings share one symbol (``ppm`` -> ``mg/kg``, ``meq/100g`` -> ``cmol/kg``).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import overload

import numpy as np
import numpy.typing as npt

from chemearth.errors import UnitError
from chemearth.reference.elements import OXIDES, analyte_kind, canonical_unit, get_oxide, lookup

__all__ = [
    "DIMENSIONS",
    "Unit",
    "conversion_factor",
    "parse_unit",
    "to_canonical",
    "unit_factor",
]

DIMENSIONS = {
    "mass_fraction": "mg/kg",
    "conductivity": "mS/m",
    "pH": "pH",
    "exchange": "cmol/kg",
    "angle": "degree",
    "length": "m",
}
"""Dimension -> its base unit (the unit with ``scale == 1``)."""


@dataclass(frozen=True)
class Unit:
    """A parsed unit.

    Attributes
    ----------
    symbol : str
        Canonical spelling (``"mg/kg"``, ``"%"``, ``"µg/kg"``, ``"µS/cm"``...).
    dimension : str
        One of :data:`DIMENSIONS`.
    scale : float
        Multiplier from this unit to the base unit of the dimension (``%``: 10000 mg/kg).
    """

    symbol: str
    dimension: str
    scale: float


# (symbol, dimension, scale, normalised spellings)
_UNIT_TABLE: tuple[tuple[str, str, float, tuple[str, ...]], ...] = (
    ("mg/kg", "mass_fraction", 1.0,
     ("mg/kg", "mgkg-1", "mgkg", "ppm", "ppmw", "ug/g", "ugg-1", "g/t", "gt-1", "g/tonne")),
    ("%", "mass_fraction", 1e4,
     ("%", "wt%", "pct", "wtpct", "percent", "wtpercent", "weightpercent", "mass%", "%wt",
      "%(w/w)", "%w/w", "g/100g", "perc")),
    ("g/kg", "mass_fraction", 1e3,
     ("g/kg", "gkg-1", "mg/g", "mgg-1", "‰", "permil", "permille", "ppth")),
    ("µg/kg", "mass_fraction", 1e-3,
     ("ug/kg", "ugkg-1", "ugkg", "ppb", "ppbw", "ng/g", "ngg-1")),
    ("ng/kg", "mass_fraction", 1e-6, ("ng/kg", "ngkg-1", "pg/g", "pgg-1")),
    ("mS/m", "conductivity", 1.0, ("ms/m", "msm-1")),
    ("µS/cm", "conductivity", 0.1, ("us/cm", "uscm-1")),
    ("mS/cm", "conductivity", 100.0, ("ms/cm", "mscm-1", "ds/m", "dsm-1")),
    ("S/m", "conductivity", 1000.0, ("s/m", "sm-1")),
    ("pH", "pH", 1.0, ("ph", "phunits", "phunit")),
    ("cmol/kg", "exchange", 1.0,
     ("cmol/kg", "cmol(+)/kg", "cmolc/kg", "cmol+/kg", "cmolkg-1", "cmol(+)kg-1", "cmolckg-1",
      "meq/100g", "meq100g-1", "mval/100g")),
    ("meq/kg", "exchange", 0.1,
     ("meq/kg", "meqkg-1", "mmol(+)/kg", "mmolc/kg", "mmol+/kg", "mmolckg-1")),
    ("degree", "angle", 1.0, ("degree", "degrees", "deg", "°", "decimaldegrees", "decdeg")),
    ("m", "length", 1.0, ("m", "metre", "meter", "metres", "meters")),
    ("cm", "length", 0.01, ("cm",)),
    ("mm", "length", 0.001, ("mm",)),
    ("km", "length", 1000.0, ("km",)),
)  # fmt: skip

_UNITS: dict[str, Unit] = {
    key: Unit(symbol, dim, scale) for symbol, dim, scale, keys in _UNIT_TABLE for key in keys
}
_AMBIGUOUS = {
    "ppt": "'ppt' is ambiguous in geochemistry (parts per thousand = g/kg, or parts per "
    "trillion = ng/kg); write the unit as g/kg or ng/kg",
}
_REPLACEMENTS = (
    ("µ", "u"),  # U+00B5 MICRO SIGN
    ("μ", "u"),  # U+03BC GREEK SMALL LETTER MU (what casefold turns U+00B5 into)
    ("⁻", "-"),
    ("¹", "1"),
    ("·", ""),
    ("^", ""),
    (".", ""),
)


def _normalise(text: str) -> str:
    key = "".join(text.split()).casefold()
    for old, new in _REPLACEMENTS:
        key = key.replace(old, new)
    while len(key) > 2 and key[0] + key[-1] in ("()", "[]", "{}"):
        key = key[1:-1]
    return key


def parse_unit(text: str) -> Unit:
    """Parse a unit as written in a survey file.

    Parameters
    ----------
    text : str
        Unit text, e.g. ``"mg/kg"``, ``"wt. %"``, ``"µg/g"``, ``"meq/100 g"``, ``"[ppm]"``.

    Returns
    -------
    Unit
        The parsed unit.

    Raises
    ------
    UnitError
        If the unit is unknown (the message names the text and suggests close matches), or
        is the ambiguous ``ppt``.

    Examples
    --------
    >>> parse_unit("Wt. %")
    Unit(symbol='%', dimension='mass_fraction', scale=10000.0)
    >>> parse_unit("ppb").symbol, parse_unit("cmol(+)/kg").symbol
    ('µg/kg', 'cmol/kg')
    """
    key = _normalise(text)
    if key in _AMBIGUOUS:
        raise UnitError(f"unit {text!r}: {_AMBIGUOUS[key]}")
    unit = _UNITS.get(key)
    if unit is None:
        close = difflib.get_close_matches(key, list(_UNITS), n=3, cutoff=0.7)
        hint = f"; did you mean {', '.join(repr(_UNITS[c].symbol) for c in close)}?"
        raise UnitError(f"unknown unit {text!r}{hint if close else ''}")
    return unit


def unit_factor(source: str, target: str) -> float:
    """Multiplier converting values in unit ``source`` to unit ``target``.

    Raises
    ------
    UnitError
        If either unit is unknown or they measure different things.

    Examples
    --------
    >>> unit_factor("wt.%", "mg/kg"), unit_factor("µS/cm", "mS/m")
    (10000.0, 0.1)
    """
    src, dst = parse_unit(source), parse_unit(target)
    if src.dimension != dst.dimension:
        raise UnitError(
            f"cannot convert {source!r} ({src.dimension}) to {target!r} ({dst.dimension})"
        )
    return src.scale / dst.scale


def conversion_factor(unit: str, code: str) -> tuple[str, float]:
    """Canonical analyte code and multiplier for values of ``code`` given in ``unit``.

    Oxides are converted to their element: the factor includes the mass fraction of the
    element in the oxide, computed from IUPAC atomic weights.

    Parameters
    ----------
    unit : str
        Unit of the values as written in the file (``"wt.%"``, ``"ppb"``...).
    code : str
        Analyte code as written (element, oxide or parameter, any case).

    Returns
    -------
    tuple of (str, float)
        The canonical analyte code (the element for an oxide) and the factor that converts
        the values to that analyte's canonical unit.

    Raises
    ------
    UnknownElementError
        If the analyte is unknown.
    UnitError
        If the unit is unknown or cannot express the analyte (e.g. mg/kg for pH).

    Examples
    --------
    >>> conversion_factor("ppb", "Au")
    ('Au', 0.001)
    >>> code, factor = conversion_factor("wt.%", "Fe2O3")
    >>> code, round(factor, 1)
    ('Fe', 6994.3)
    """
    analyte = lookup(code)
    chemical = 1.0
    target_code = analyte
    if analyte_kind(analyte) == "oxide":
        oxide = OXIDES.get(analyte) or get_oxide(analyte)
        target_code, chemical = oxide.element, oxide.factor_to_element
    target_unit = canonical_unit(target_code)
    src, dst = parse_unit(unit), parse_unit(target_unit)
    if src.dimension != dst.dimension:
        raise UnitError(
            f"cannot convert {analyte} from {unit!r} ({src.dimension}) to its canonical unit "
            f"{target_unit!r} ({dst.dimension})"
        )
    return target_code, src.scale / dst.scale * chemical


@overload
def to_canonical(values: float, unit: str, code: str) -> float: ...
@overload
def to_canonical(values: npt.ArrayLike, unit: str, code: str) -> npt.NDArray[np.float64]: ...
def to_canonical(
    values: float | npt.ArrayLike, unit: str, code: str
) -> float | npt.NDArray[np.float64]:
    """Convert values of analyte ``code`` in ``unit`` to chemearth's canonical unit.

    Mass fractions become mg/kg (an oxide becomes its element in mg/kg), conductivities
    mS/m, exchange capacities cmol/kg; parameters in % (LOI, sand...) stay in %.

    Parameters
    ----------
    values : float or array_like
        Values in ``unit``; NaN stays NaN.
    unit : str
        Unit of the values.
    code : str
        Analyte code (element, oxide or parameter).

    Returns
    -------
    float or numpy.ndarray
        A float for a scalar input, else a float64 array of the input's shape. The canonical
        analyte code is given by :func:`conversion_factor`.

    Raises
    ------
    UnknownElementError
        If the analyte is unknown.
    UnitError
        If the unit is unknown or does not fit the analyte.

    Examples
    --------
    >>> to_canonical(1.0, "wt. %", "Fe2O3").__round__(1)
    6994.3
    >>> to_canonical([150.0, float("nan")], "µS/cm", "EC")
    array([15., nan])
    """
    _, factor = conversion_factor(unit, code)
    if isinstance(values, int | float | np.integer | np.floating):
        return float(values) * factor
    return np.asarray(values, dtype=np.float64) * factor
