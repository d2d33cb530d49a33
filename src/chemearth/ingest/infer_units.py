"""Analyte columns of a survey table: element, unit and method proposed (``describe``).

:func:`propose_columns` turns the names recognised by :mod:`chemearth.reference.names`
(and a units row, where the file has one) into ``[columns]`` entries, with notes on what was
inferred and decisions for what the user must check. Every column is looked at, so one run
of ``chemearth describe`` lists every problem of the file, not the first one.

Where a column's unit comes from
--------------------------------
1. The units row, when the file has one; else the column name (``Cu_ppm``, ``Au (ppb)``).
   A declared unit is kept, but it is checked: a unit that cannot express the analyte (pH
   in mg/kg) is replaced by a fitting one, and values implausible in the declared unit
   (:func:`chemearth.reference.crust.unit_problems`) become a decision.
2. Otherwise the unit is proposed from the magnitude of the values: the first of the
   usual units of the analyte in which they are plausible
   (:func:`chemearth.reference.crust.plausible_units`), with a note saying why:

   ================================ ===============================================
   analyte                          units tried, in order
   ================================ ===============================================
   element                          mg/kg, µg/kg, %
   oxide                            %, mg/kg
   parameter                        the unit it is usually reported in
                                    (:attr:`~chemearth.reference.elements.Parameter.
                                    reported`, e.g. % for TOC), then its canonical unit
                                    (pH: ``"pH"``; EC: mS/m, µS/cm; LOI, grain size: %)
   ================================ ===============================================

   So gold with values of 1 to 50 and no unit gets µg/kg (in mg/kg it would be a thousand
   times the crustal abundance), iron with values of 0.5 to 8 gets %, pH gets ``"pH"`` and
   never the mg/kg default. % is never proposed for a column with a value above 100.
   An element in mg/kg is left without ``unit`` (``[defaults]`` says mg/kg). EC without a
   unit is a decision when both mS/m and µS/cm fit: the two differ tenfold.

:func:`unit_problems` (defined in :mod:`chemearth.reference.crust`) is importable from here
too, for ``chemearth check``.

Examples
--------
>>> from chemearth.ingest.descriptor import Source
>>> from chemearth.ingest.readers import read_table
>>> from chemearth.reference.names import recognise_columns
>>> raw = read_table("kola/chorizon.csv", Source())
>>> guesses = recognise_columns(["pH", "Al2O3", "Au_INAA", "Cu"])
>>> for p in propose_columns(raw, guesses):
...     print(p.line())
"pH" = { element = "pH", unit = "pH" }
"Al2O3" = { element = "Al2O3", unit = "%" }   # no unit in the file: % assumed
"Au_INAA" = { element = "Au", method = "INAA" }
"Cu" = { element = "Cu" }
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from chemearth.errors import DescriptorError, UnitError
from chemearth.ingest.detection_limits import parse_cells
from chemearth.ingest.readers import RawTable, sheets_hint
from chemearth.reference.crust import implausibility, plausible_units, unit_problems
from chemearth.reference.elements import PARAMETERS, analyte_kind
from chemearth.reference.names import ColumnGuess
from chemearth.reference.units import conversion_factor, parse_unit

__all__ = ["ColumnProposal", "column_numbers", "propose_column", "propose_columns",
           "unit_candidates", "unit_problems"]  # fmt: skip

_DEFAULT_UNIT = "mg/kg"  # what ``describe`` writes under [defaults]


@dataclass
class ColumnProposal:
    """One proposed ``[columns]`` entry.

    Attributes
    ----------
    column : str
        The column name in the file.
    element : str
        Analyte code (element, oxide or parameter).
    unit : str
        Unit to declare; ``""`` leaves it to the units row or ``[defaults]`` (mg/kg).
    method : str
        Analytical method read from the name (``"INAA"``, ``"pH in CaCl2"``).
    notes : list of str
        What was inferred, for the reader of the descriptor.
    decisions : list of str
        What the user must check or decide (``describe`` lists them under TO DECIDE).
    """

    column: str
    element: str
    unit: str = ""
    method: str = ""
    notes: list[str] = field(default_factory=list)
    decisions: list[str] = field(default_factory=list)

    def line(self) -> str:
        """The TOML line of this entry (notes and decisions as a trailing comment).

        Examples
        --------
        >>> ColumnProposal("Au", "Au", "µg/kg", notes=["from the magnitude"]).line()
        '"Au" = { element = "Au", unit = "µg/kg" }   # from the magnitude'
        """
        fields = [f"element = {json.dumps(self.element)}"]
        if self.unit:
            fields.append(f"unit = {json.dumps(self.unit, ensure_ascii=False)}")
        if self.method:
            fields.append(f"method = {json.dumps(self.method, ensure_ascii=False)}")
        text = f"{json.dumps(self.column, ensure_ascii=False)} = {{ {', '.join(fields)} }}"
        comments = [*self.notes, *self.decisions]
        return text + (f"   # {'; '.join(comments)}" if comments else "")


def column_numbers(raw: RawTable, column: str) -> np.ndarray:
    """The numbers of a column as written (``"<0.5"`` gives 0.5; text and blanks NaN).

    Examples
    --------
    >>> from chemearth.ingest.descriptor import Source
    >>> from chemearth.ingest.readers import read_table
    >>> raw = read_table("meuse/meuse.csv", Source())
    >>> float(np.median(column_numbers(raw, "zinc")))
    326.0
    """
    return np.asarray(parse_cells(raw.table.column(column)).number, dtype=np.float64)


def unit_candidates(analyte: str) -> list[str]:
    """The units tried, in order, for a column of ``analyte`` that declares none.

    Examples
    --------
    >>> unit_candidates("Au"), unit_candidates("Fe2O3")
    (['mg/kg', 'µg/kg', '%'], ['%', 'mg/kg'])
    >>> unit_candidates("pH"), unit_candidates("EC"), unit_candidates("C_org")
    (['pH'], ['mS/m', 'µS/cm'], ['%', 'mg/kg'])
    """
    kind = analyte_kind(analyte)
    if kind == "element":
        return ["mg/kg", "µg/kg", "%"]
    if kind == "oxide":
        return ["%", "mg/kg"]
    param = PARAMETERS[analyte]
    first = param.reported or param.unit
    extra = {"mass_fraction": ["mg/kg"], "conductivity": ["mS/m", "µS/cm"]}
    out = [first]
    for u in extra.get(parse_unit(param.unit).dimension, [param.unit]):
        if u not in out:
            out.append(u)
    return out


def propose_columns(raw: RawTable, guesses: Mapping[str, ColumnGuess]) -> list[ColumnProposal]:
    """One proposal per recognised analyte column.

    Parameters
    ----------
    raw : RawTable
        The table as read.
    guesses : mapping of str to ColumnGuess
        Column -> what its name says (:func:`chemearth.reference.names.recognise_column`).

    Returns
    -------
    list of ColumnProposal
        In the order of ``guesses``.

    Raises
    ------
    DescriptorError
        No column was recognised; for a workbook of several sheets the message lists them
        and suggests ``--sheet``.
    """
    if not guesses:
        raise DescriptorError(_nothing_found(raw))
    return [propose_column(raw, column, guess) for column, guess in guesses.items()]


def propose_column(raw: RawTable, column: str, guess: ColumnGuess) -> ColumnProposal:
    """The ``[columns]`` entry of one recognised column (see the module docstring).

    Examples
    --------
    >>> from chemearth.ingest.descriptor import Source
    >>> from chemearth.ingest.readers import read_table
    >>> from chemearth.reference.names import recognise_column
    >>> raw = read_table("kola/chorizon.csv", Source())
    >>> propose_column(raw, "EC", recognise_column("EC")).unit
    'mS/m'
    """
    values = column_numbers(raw, column)
    proposal = ColumnProposal(column, guess.analyte, method=guess.method or "",
                              notes=list(guess.notes))  # fmt: skip
    row_text = str(raw.units.get(column, "")).strip()
    row_unit = _parsed(row_text)
    if row_text and row_unit is None:
        proposal.decisions.append(
            f"column {column!r}: its units row says {row_text!r}, which is not a unit "
            "chemearth reads; a unit is proposed instead"
        )
    if row_unit is not None and guess.unit and row_unit != guess.unit:
        proposal.decisions.append(
            f"column {column!r}: the units row says {row_text!r} but the name says "
            f"{guess.unit}; the units row is proposed"
        )
    if row_unit is not None:
        _check_declared(proposal, row_text, "units row", values)
    elif guess.unit:
        _check_declared(proposal, guess.unit, "name", values)
    else:
        _infer(proposal, values, explicit=bool(row_text))
    return proposal


def _parsed(text: str) -> str | None:
    if not text:
        return None
    try:
        return parse_unit(text).symbol
    except UnitError:
        return None


def _check_declared(p: ColumnProposal, unit: str, source: str, values: np.ndarray) -> None:
    """Keep a unit the file declares, unless it cannot express the analyte."""
    try:
        conversion_factor(unit, p.element)
    except UnitError:
        _infer(p, values, explicit=True)
        p.decisions.append(
            f"column {p.column!r}: its {source} gives {unit!r}, which cannot express "
            f"{p.element}; {p.unit or _DEFAULT_UNIT} is proposed"
        )
        return
    p.unit = unit
    for problem in unit_problems(p.element, unit, values):
        p.decisions.append(f"column {p.column!r}: check the unit ({problem})")


def _fits(unit: str, values: np.ndarray) -> bool:
    """% is impossible for a column with a value above 100."""
    if unit != "%":
        return True
    finite = values[np.isfinite(values)]
    return not (len(finite) and float(finite.max()) > 100)


def _infer(p: ColumnProposal, values: np.ndarray, explicit: bool) -> None:
    """Propose a unit from the magnitude of the values (``explicit``: always write it)."""
    candidates = unit_candidates(p.element)
    fitting = [u for u in plausible_units(p.element, values, candidates) if _fits(u, values)]
    unit = fitting[0] if fitting else candidates[0]
    p.unit = "" if unit == _DEFAULT_UNIT and not explicit else unit
    if not fitting:
        why = implausibility(p.element, unit, values) or "values above 100"
        p.decisions.append(
            f"column {p.column!r}: no unit is given and none of {', '.join(candidates)} makes "
            f"its values plausible ({why}); set its unit"
        )
        return
    if p.element == "EC" and len(fitting) > 1:
        p.decisions.append(
            f"column {p.column!r}: EC is given without a unit; {unit} is proposed, but "
            f"{fitting[1]} fits the values too (the two differ tenfold): check the "
            "laboratory report"
        )
        return
    if unit != candidates[0]:
        why = implausibility(p.element, candidates[0], values) or "values above 100 %"
        p.notes.append(f"no unit in the file: {unit} from the magnitude ({why})")
    elif p.unit and p.element != "pH":
        p.notes.append(f"no unit in the file: {unit} assumed")


def _nothing_found(raw: RawTable) -> str:
    names = [c for c in raw.table.column_names if not c.startswith("__")]
    shown = ", ".join(repr(n) for n in names[:6]) + (", ..." if len(names) > 6 else "")
    message = f"{raw.name}: no analyte columns were recognised in the header ({shown})"
    hint = sheets_hint(raw.path)
    if hint:
        return (
            f"{message}; {hint}: if the data are on another sheet, run "
            f"`chemearth describe {raw.name} --sheet NAME` (or the sheet's number)"
        )
    return f"{message}; if the header is on another row, give it with --header-row"
