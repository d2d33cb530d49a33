"""The header conventions of survey tables, as data: what each token of a column name means.

:mod:`chemearth.reference.names` splits a column name on ``_`` and white space and reads
the tokens with the tables below; nothing about a convention is written anywhere else. To
teach chemearth a new laboratory's habit, add a row here (and a case to
``tests/reference/test_name_conventions.py``).

======================================== ==================================================
column names                             table
======================================== ==================================================
``CU_ICP40``, ``Cu_AR``, ``Au_FA``       :data:`METHODS` (token -> method)
``Cu_ppm``, ``AU_PPB``, ``Au_ugkg``,     :data:`UNIT_TOKENS` (plus every spelling that
``Fe2O3_pct``, ``FE2O3_%``               :func:`~chemearth.reference.units.parse_unit`
                                         reads: ``ppm``, ``%``, ``mg/kg``, ``uS/cm``...)
``Cu (mg/kg)``, ``EC [µS/cm]``           a unit in brackets (any unit ``parse_unit`` reads)
``As_T``, ``LOI_Tot``                    :data:`TOTAL_TOKENS` (noted as "total")
``Zr_B`` (Baltic Soil Survey)            :data:`LAYER_TOKENS`
``C_Org``, ``C_Inorg``                   :data:`CARBON_FORMS` (after ``C`` only)
``pH_H2O``, ``pH_CaCl2``, ``pH_KCl``     :data:`PH_MEDIA` (after ``pH`` only)
``LOI_480``, ``LOI480``, ``LOI_1000``,   :data:`TEMPERATURE_ANALYTES`: a number after
``LOI_550C``                             ``LOI`` is the ignition temperature (°C), written
                                         into the method (``"loss on ignition at 480 °C"``)
``P2O``, ``Fe2O``, ``Al2O``              :data:`TRUNCATED_OXIDES` (see below)
``Top5_Cu``, ``F1_Cu``, ``ICP40_Cu``     :data:`PREFIX_WORDS` and letters+digits prefixes
``UTM35_Y``, ``RD_X``, ``LV95_N``        :data:`COORDINATE_WORDS`: never an analyte
``TOC``, ``Cond``, ``Corg``              aliases of :data:`~chemearth.reference.elements.
                                         PARAMETERS` (``elements.py``)
======================================== ==================================================

Tokens are matched case-insensitively, after removing ``-`` and ``.`` (``ICP-MS`` =
``icpms``). pH has no unit (its unit is ``"pH"``); EC is in mS/m unless a unit says
otherwise (``µS/cm`` is 0.1 mS/m).

Truncated oxides
----------------
Old database formats cut column names short, and the oxygen count is what goes first:
``P2O5`` becomes ``P2O``, ``Fe2O3`` becomes ``Fe2O``. The rule, applied to every oxide of
:data:`~chemearth.reference.elements.OXIDES` with more than one oxygen atom: the formula
without its oxygen count is read as that oxide when

* the oxygen (``O``) is still there: ``K2`` or ``Na2`` are never oxides (``K2`` is as
  likely a second potassium column), and oxides with one oxygen (``K2O``, ``CaO``) cannot
  be truncated this way;
* it is at least three characters long: ``CO`` (CO2) is cobalt, ``SO`` (SO3) is nothing;
* it is not itself a listed oxide and no other listed oxide truncates to it.

A real oxide that happens to look truncated (``Cu2O``, not in the list) keeps its own
formula. :data:`TRUNCATED_OXIDES` is that rule written out (a test derives it again).

Examples
--------
>>> METHODS["icp40"], UNIT_TOKENS["ugkg"], TRUNCATED_OXIDES["P2O"]
('ICP-AES (40 element, 4-acid)', 'µg/kg', 'P2O5')
>>> TEMPERATURE_ANALYTES["LOI"]
(200, 1200, 'loss on ignition at {t} °C')
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = [
    "CARBON_FORMS",
    "COORDINATE_WORDS",
    "LAYER_TOKENS",
    "METHODS",
    "NEVER_SYMBOLS",
    "PH_MEDIA",
    "PREFIX_WORDS",
    "TEMPERATURE_ANALYTES",
    "TOTAL_TOKENS",
    "TRUNCATED_OXIDES",
    "UNIT_TOKENS",
]

METHODS: Mapping[str, str] = MappingProxyType({
    "inaa": "INAA",
    "naa": "INAA",
    "xrf": "XRF",
    "icp40": "ICP-AES (40 element, 4-acid)",
    "ic": "ion chromatography",
    "icpms": "ICP-MS",
    "icpaes": "ICP-AES",
    "icpoes": "ICP-AES",
    "icp": "ICP",
    "aas": "AAS",
    "aa": "AAS",
    "cvaas": "CV-AAS",
    "ionselect": "ion-selective electrode",
    "ise": "ion-selective electrode",
    "ar": "aqua regia",
    "aquaregia": "aqua regia",
    "fa": "fire assay",
})  # fmt: skip
"""Method token (case-folded, without ``-`` and ``.``) -> method description. A method
token may come before the analyte (``ICP40_Cu``) or after it (``CU_ICP40``)."""

UNIT_TOKENS: Mapping[str, str] = MappingProxyType({
    "mgkg": "mg/kg",
    "ugkg": "µg/kg",
    "ugg": "mg/kg",
    "ngg": "µg/kg",
    "perc": "%",
    "wt": "%",
    "pct": "%",
    "uscm": "µS/cm",
    "msm": "mS/m",
    "mscm": "mS/cm",
    "dsm": "mS/cm",
})  # fmt: skip
"""Unit tokens with the ``/`` left out, as column names write them (case-folded) -> unit.
Every spelling :func:`chemearth.reference.units.parse_unit` reads is a unit token too
(``ppm``, ``PPB``, ``%``, ``mg/kg``, ``wt%``)."""

TOTAL_TOKENS: frozenset[str] = frozenset({"t", "tot", "total"})
"""Suffixes meaning a total (near-total) determination; noted as ``"total"``."""

LAYER_TOKENS: Mapping[str, str] = MappingProxyType({"b": "bottom layer"})
"""Suffixes naming a sampled layer (``Zr_B`` in the Baltic Soil Survey) -> note."""

CARBON_FORMS: Mapping[str, str] = MappingProxyType({
    "org": "C_org", "organic": "C_org", "inorg": "C_inorg", "inorganic": "C_inorg",
})  # fmt: skip
"""Suffixes after ``C`` naming a form of carbon (``Top5_C_Org``) -> parameter code."""

PH_MEDIA: Mapping[str, str] = MappingProxyType({
    "h2o": "H2O", "water": "H2O", "cacl2": "CaCl2", "kcl": "KCl",
})  # fmt: skip
"""Suffixes after ``pH`` naming the medium -> method ``"pH in <medium>"``."""

TEMPERATURE_ANALYTES: Mapping[str, tuple[int, int, str]] = MappingProxyType(
    {
        "LOI": (200, 1200, "loss on ignition at {t} °C"),
    }
)
"""Analytes that a temperature may follow (``LOI_480``, ``LOI480``, ``LOI_550C``) ->
(lowest, highest accepted °C, method template). Numbers outside the range are not read as
temperatures: ``LOI_105`` (drying at 105 °C is moisture, not LOI) is not recognised."""

TRUNCATED_OXIDES: Mapping[str, str] = MappingProxyType(
    {
        "SiO": "SiO2",
        "TiO": "TiO2",
        "Al2O": "Al2O3",
        "Fe2O": "Fe2O3",
        "P2O": "P2O5",
        "Cr2O": "Cr2O3",
        "V2O": "V2O5",
        "ZrO": "ZrO2",
        "U3O": "U3O8",
        "ThO": "ThO2",
    }
)
"""Truncated oxide formula (oxygen count cut off) -> the oxide; the rule is in the module
docstring. Matched in standard capitalisation, all upper case or all lower case."""

PREFIX_WORDS: frozenset[str] = frozenset({"top", "bot", "bottom", "sub"})
"""Words that may come before the analyte (``Top_Cu``), besides letters+digits prefixes
(``Top5``, ``F1``, ``A2``) and method tokens."""

COORDINATE_WORDS: frozenset[str] = frozenset({
    "utm", "zone", "rd", "lv", "etrs", "laea", "lcc", "gk", "mga",
    "nztm", "bng", "osgb", "lambert", "albers", "epsg", "wgs", "nad", "sweref", "rt",
    "kkj", "coord", "coords", "grid",
})  # fmt: skip
"""Words (case-folded, digits removed) naming a coordinate system: a column whose prefix is
one (``UTM35_Y``, ``RD_X``, ``LV95_N``, ``SWEREF99_E``) holds a coordinate, never the
analyte that follows (yttrium, nitrogen)."""

NEVER_SYMBOLS: frozenset[str] = frozenset({
    "O", "He", "Ne", "Ar", "Kr", "Xe", "Rn", "Tc", "Pm", "Po", "At", "Fr", "Ra", "Ac", "Pa",
})  # fmt: skip
"""Element symbols never proposed for a column: oxygen, the noble gases and elements without
a stable isotope (``PM``, ``AT``, ``FR`` columns are not promethium, astatine, francium)."""
