"""Recognise analyte columns in survey tables from their column names.

Used by ``chemearth describe FILE`` to propose a dataset descriptor. A column name is split
on underscores and white space into tokens and read as::

    [prefix ...] ANALYTE [suffix ...]      or      ANALYTE (unit) / ANALYTE [unit]

* **prefix**: letters followed by digits (``Top5``, ``F1``, ``A2``), ``Top``/``Bot``/``Sub``,
  or a method (``ICP40_Cu``). Prefixes are skipped.
* **ANALYTE**: an element symbol, oxide formula, parameter code (or alias, e.g. ``Cond``,
  ``TOC``) or English element name (``copper``, ``aluminum``). Trailing ``.``, ``+`` and ``-``
  (ion charges, R's mangling of ``Cl-`` into ``Cl.``) are ignored.
* **suffix**: every suffix must be understood, otherwise the column is not an analyte (so
  ``Top5_Tot_K_fs`` or ``K_40`` are not potassium). Suffixes are methods (``INAA``, ``XRF``,
  ``ICP40``, ``AR``...), units (``ppm``, ``PPB``, ``mgkg``, ``ugkg``, ``pct``, ``%``...),
  ``T``/``Tot``/``Total`` (noted as ``"total"``), ``B`` (noted as ``"bottom layer"``, as in
  the Baltic Soil Survey), the carbon forms ``Org`` and ``Inorg`` after ``C`` (giving
  ``C_org`` and ``C_inorg``), the pH media ``H2O``, ``CaCl2``, ``KCl`` and an ignition
  temperature after ``LOI`` (``LOI_480``, also written ``LOI480``).

Every one of these conventions is a row of a table in
:mod:`chemearth.reference.name_conventions`, which also explains how truncated oxide names
(``P2O`` for P2O5, ``Fe2O`` for Fe2O3) are read.

Case rules, which keep metadata columns out:

* A symbol in standard capitalisation is an element (``Cu``, ``B``, ``Y``).
* An all-upper-case token is an element only for two-letter symbols (``CU_ICP40``); upper-case
  oxides are accepted too (``FE2O3``).
* An all-lower-case two-letter symbol is an element only with a recognised prefix or suffix
  (``cu_ppm``), never alone (``om`` in Meuse is organic matter, ``in`` is not indium).
* A single lower-case letter is never an element: ``x`` and ``y`` are coordinates. A bare
  upper-case ``Y`` is yttrium (GEMAS), except in :func:`recognise_columns` when the same table
  also has an ``X`` column, where ``X``/``Y`` are coordinates.
* Noble gases, oxygen and elements without a stable isotope (Tc, Pm, Po, At, Fr, Ra, Ac, Pa)
  are never proposed: ``PM``, ``AT`` or ``FR`` columns are not promethium, astatine, francium.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from chemearth.errors import ChemearthError, UnitError
from chemearth.reference.elements import (
    ELEMENT_NAMES,
    ELEMENTS,
    OXIDES,
    PARAMETERS,
    canonical_unit,
    get_oxide,
)
from chemearth.reference.name_conventions import (
    CARBON_FORMS,
    COORDINATE_WORDS,
    LAYER_TOKENS,
    METHODS,
    NEVER_SYMBOLS,
    PH_MEDIA,
    PREFIX_WORDS,
    TEMPERATURE_ANALYTES,
    TOTAL_TOKENS,
    TRUNCATED_OXIDES,
    UNIT_TOKENS,
)
from chemearth.reference.units import parse_unit

__all__ = ["METHOD_HINTS", "ColumnGuess", "recognise_column", "recognise_columns",
           "recognise_units_row"]  # fmt: skip


@dataclass(frozen=True)
class ColumnGuess:
    """What a column name says about its content.

    Attributes
    ----------
    column : str
        The column name as given.
    analyte : str
        Canonical analyte code: element symbol, oxide formula or parameter code.
    unit : str or None
        Canonical unit symbol hinted by the name (``"mg/kg"``, ``"%"``, ``"µg/kg"``).
    method : str or None
        Analytical method hinted by the name (``"INAA"``, ``"XRF"``...).
    confidence : float
        0..1; how sure the guess is (bare single letters score lowest).
    notes : tuple of str
        Other hints, e.g. ``("total",)`` for a ``_T`` suffix.
    """

    column: str
    analyte: str
    unit: str | None
    method: str | None
    confidence: float
    notes: tuple[str, ...] = ()


METHOD_HINTS: Mapping[str, str] = METHODS
"""Method token (case-folded, without ``-`` and ``.``) -> method description (the table
:data:`chemearth.reference.name_conventions.METHODS`)."""

_SYMBOLS = {s: s for s in ELEMENTS if s not in NEVER_SYMBOLS}
_SYMBOLS_CI = {s.casefold(): s for s in _SYMBOLS}
_OXIDES_CI = {f.casefold(): f for f in OXIDES}
_TRUNCATED_CI = {t.casefold(): (t, f) for t, f in TRUNCATED_OXIDES.items()}
_PARAMS_CI = {
    alias.casefold(): p.code for p in PARAMETERS.values() for alias in (p.code, *p.aliases)
}
_TEMPERATURE_CI = {code.casefold(): code for code in TEMPERATURE_ANALYTES}
_TEMPERATURE_RE = re.compile(r"(\d{2,4})\s*(?:°?c)?", re.IGNORECASE)
_GLUED_TEMPERATURE_RE = re.compile(r"([A-Za-z]+)(\d{3,4})(°?[Cc])?")
_PREFIX_RE = re.compile(r"[A-Za-z]{1,6}\d{1,3}")
_BRACKET_RE = re.compile(r"(.+?)\s*[\(\[]([^\)\]]*)[\)\]]\s*")
_NUMBER_RE = re.compile(r"[<>]?\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")
_BLANK_CELLS = frozenset({"", "-", "na", "n/a", "none", "nan"})


@dataclass(frozen=True)
class _Match:
    code: str
    confidence: float
    needs_context: bool = False
    note: str | None = None


def _truncated_oxide(tok: str) -> _Match | None:
    """A truncated oxide formula (``P2O``), by :data:`TRUNCATED_OXIDES`."""
    found = _TRUNCATED_CI.get(tok.casefold())
    if found is None:
        return None
    short, formula = found
    if tok != short and not (tok.isupper() or tok.islower()):
        return None
    return _Match(formula, 0.85, note=f"{tok!r} read as {formula} (a truncated oxide name)")


def _match_analyte(token: str) -> _Match | None:
    """Read one token as an analyte, applying the case rules of the module docstring."""
    tok = token.rstrip(".+-") or token
    if tok in _SYMBOLS:
        return _Match(tok, 0.95 if len(tok) == 2 else 0.7)
    if tok in OXIDES:
        return _Match(tok, 0.95)
    if (truncated := _truncated_oxide(tok)) is not None:
        return truncated
    if any(c.isdigit() for c in tok) and tok[:1].isupper() and not tok.isupper():
        try:  # an oxide in standard capitalisation that is not in the table, e.g. La2O3
            oxide = get_oxide(tok)
        except ChemearthError:
            oxide = None
        if oxide is not None and oxide.formula == tok and oxide.element in _SYMBOLS:
            return _Match(tok, 0.9)
    key = tok.casefold()
    if key in _PARAMS_CI:
        return _Match(_PARAMS_CI[key], 0.9)
    if key in ELEMENT_NAMES and ELEMENT_NAMES[key] in _SYMBOLS:
        return _Match(ELEMENT_NAMES[key], 0.9)
    if key in _OXIDES_CI and (tok.isupper() or tok.islower()):
        return _Match(_OXIDES_CI[key], 0.85)
    if len(tok) == 2 and key in _SYMBOLS_CI:
        if tok.isupper():
            return _Match(_SYMBOLS_CI[key], 0.85)
        if tok.islower():
            return _Match(_SYMBOLS_CI[key], 0.6, needs_context=True)
    return None


def _split(text: str) -> list[str]:
    return [t for t in re.split(r"[_\s]+", text.strip()) if t]


def _method_key(token: str) -> str:
    return token.casefold().replace("-", "").replace(".", "")


def _is_prefix(token: str) -> bool:
    return (
        _PREFIX_RE.fullmatch(token) is not None
        or token.casefold() in PREFIX_WORDS
        or _method_key(token) in METHOD_HINTS
    )


def _unit_of(token: str) -> str | None:
    key = _method_key(token).replace("/", "")
    if key in UNIT_TOKENS:
        return UNIT_TOKENS[key]
    try:
        return parse_unit(token).symbol
    except UnitError:
        return None


def _fits(unit: str, analyte: str) -> bool:
    """True if ``unit`` can express ``analyte`` (oxides as their element)."""
    return parse_unit(unit).dimension == parse_unit(canonical_unit(analyte)).dimension


@dataclass
class _Reading:
    """Mutable state while reading the tokens of one column name."""

    analyte: str
    unit: str | None = None
    method: str | None = None
    notes: list[str] = field(default_factory=list)
    evidence: int = 0

    def take_suffix(self, token: str) -> bool:
        """Apply one suffix token; False if the token is not understood."""
        key = _method_key(token)
        if self.analyte == "C" and key in CARBON_FORMS:
            self.analyte = CARBON_FORMS[key]
        elif key in TOTAL_TOKENS:
            self.notes.append("total")
        elif key in LAYER_TOKENS:
            self.notes.append(LAYER_TOKENS[key])
        elif self.analyte == "pH" and key in PH_MEDIA:
            self._add_method(f"pH in {PH_MEDIA[key]}")
        elif key in METHOD_HINTS:
            self._add_method(METHOD_HINTS[key])
        elif (temperature := self._temperature(token)) is not None:
            self._add_method(temperature)
        elif (hint := _unit_of(token)) is not None and _fits(hint, self.analyte):
            self.unit = hint
        else:
            return False
        self.evidence += 1
        return True

    def _add_method(self, method: str) -> None:
        self.method = method if self.method is None else f"{self.method}; {method}"

    def _temperature(self, token: str) -> str | None:
        """The method text of an ignition temperature (``480`` after ``LOI``), else None."""
        if self.analyte not in TEMPERATURE_ANALYTES:
            return None
        match = _TEMPERATURE_RE.fullmatch(token)
        if match is None:
            return None
        lowest, highest, template = TEMPERATURE_ANALYTES[self.analyte]
        degrees = int(match.group(1))
        return template.format(t=degrees) if lowest <= degrees <= highest else None


def _unglue(token: str) -> list[str]:
    """``LOI480`` -> ``["LOI", "480"]`` for the analytes of :data:`TEMPERATURE_ANALYTES`."""
    glued = _GLUED_TEMPERATURE_RE.fullmatch(token)
    if glued is None or glued.group(1).casefold() not in _TEMPERATURE_CI:
        return [token]
    return [glued.group(1), token[glued.end(1) :]]


def _tokens(text: str) -> tuple[list[str], str | None]:
    """Split a column name into tokens and the unit given in brackets, if any."""
    bracket = _BRACKET_RE.fullmatch(text.strip())
    name, unit = text, None
    if bracket is not None:
        try:
            name, unit = bracket.group(1), parse_unit(bracket.group(2)).symbol
        except UnitError:
            name = f"{bracket.group(1)} {bracket.group(2)}"
    return [part for token in _split(name) for part in _unglue(token)], unit


def recognise_column(name: str) -> ColumnGuess | None:
    """Guess the analyte, unit and method of a survey column from its name.

    Parameters
    ----------
    name : str
        Column name as in the file header.

    Returns
    -------
    ColumnGuess or None
        None when the column does not look like an analyte (ids, coordinates, land use,
        mineralogy, ``wt_INAA``...).

    Examples
    --------
    >>> g = recognise_column("CU_ICP40")
    >>> g.analyte, g.method
    ('Cu', 'ICP-AES (40 element, 4-acid)')
    >>> recognise_column("Cu (mg/kg)").unit
    'mg/kg'
    >>> recognise_column("Top5_C_Org").analyte
    'C_org'
    >>> recognise_column("SO3_T").analyte, recognise_column("SO3_T").notes
    ('SO3', ('total',))
    >>> recognise_column("LOI_480").method
    'loss on ignition at 480 °C'
    >>> g = recognise_column("P2O_pct")
    >>> g.analyte, g.unit, g.notes
    ('P2O5', '%', ("'P2O' read as P2O5 (a truncated oxide name)",))
    >>> recognise_column("y") is None, recognise_column("Top5_Tot_Clay") is None
    (True, True)
    """
    tokens, unit = _tokens(name)
    method: str | None = None
    prefixes = 0
    while (
        prefixes < len(tokens) - 1
        and _match_analyte(tokens[prefixes]) is None
        and _is_prefix(tokens[prefixes])
    ):
        if re.sub(r"\d+", "", tokens[prefixes]).casefold() in COORDINATE_WORDS:
            return None  # UTM35_Y is a coordinate, not yttrium
        method = METHOD_HINTS.get(_method_key(tokens[prefixes]), method)
        prefixes += 1
    if prefixes >= len(tokens) or (match := _match_analyte(tokens[prefixes])) is None:
        return None
    reading = _Reading(match.code, unit, method, evidence=prefixes + int(unit is not None))
    if match.note is not None:
        reading.notes.append(match.note)
    if not all(reading.take_suffix(token) for token in tokens[prefixes + 1 :]):
        return None
    if reading.unit is not None and not _fits(reading.unit, reading.analyte):
        return None
    if match.needs_context and reading.evidence == 0:
        return None
    confidence = match.confidence
    if reading.evidence:
        confidence = min(0.99, max(confidence, 0.9) + 0.02 * reading.evidence)
    return ColumnGuess(
        name,
        reading.analyte,
        reading.unit,
        reading.method,
        round(confidence, 2),
        tuple(reading.notes),
    )


def recognise_columns(columns: Iterable[str]) -> dict[str, ColumnGuess]:
    """Recognise the analyte columns of a whole header, using the other columns as context.

    Like :func:`recognise_column` for each name, except that a bare ``Y`` is taken as a
    coordinate (not yttrium) when the header also has an ``X`` column.

    Parameters
    ----------
    columns : iterable of str
        The header.

    Returns
    -------
    dict of str to ColumnGuess
        Recognised columns only, in header order.

    Examples
    --------
    >>> list(recognise_columns(["X", "Y", "Cu", "Zn_ppm"]))
    ['Cu', 'Zn_ppm']
    >>> list(recognise_columns(["Xcoord", "Y"]))
    ['Y']
    """
    names = list(columns)
    has_x = any(n.strip() == "X" for n in names)
    guesses: dict[str, ColumnGuess] = {}
    for name in names:
        if has_x and name.strip() == "Y":
            continue
        guess = recognise_column(name)
        if guess is not None:
            guesses[name] = guess
    return guesses


def recognise_units_row(cells: list[str]) -> list[str | None]:
    """Read the row under a header as a units row, if it is one.

    A row is a units row when at least one cell is a unit, no cell is a number, and the
    units outnumber the other non-empty cells. Ambiguous units such as ``ppt`` count as
    non-units here; :func:`chemearth.reference.units.parse_unit` explains why.

    Parameters
    ----------
    cells : list of str
        The cells of the row (empty strings for empty cells).

    Returns
    -------
    list of (str or None)
        Per cell, the canonical unit symbol (``"wt. %"`` -> ``"%"``, ``"Degrees"`` ->
        ``"degree"``) or None for empty or non-unit cells; all None when the row is not a
        units row.

    Examples
    --------
    >>> recognise_units_row(["", "Degrees", "wt. %", "ppm"])
    [None, 'degree', '%', 'mg/kg']
    >>> recognise_units_row(["C-328818", "96", "AL"])
    [None, None, None]
    """
    nothing: list[str | None] = [None] * len(cells)
    units: list[str | None] = []
    others = 0
    for cell in cells:
        text = "" if cell is None else str(cell).strip()
        if text.casefold() in _BLANK_CELLS:
            units.append(None)
            continue
        if _NUMBER_RE.fullmatch(text):
            return nothing
        try:
            units.append(parse_unit(text).symbol)
        except UnitError:
            units.append(None)
            others += 1
    found = sum(u is not None for u in units)
    return units if found and found > others else nothing
