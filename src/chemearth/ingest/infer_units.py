"""Analyte columns of a survey table: element, unit and method proposed (``describe``).

:func:`propose_columns` turns the names recognised by :mod:`chemearth.reference.names`
(and a units row, where the file has one) into ``[columns]`` entries, with notes on what was
inferred and what the user must decide.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from chemearth.ingest.readers import RawTable

__all__ = ["ColumnProposal", "propose_columns"]


@dataclass
class ColumnProposal:
    """One proposed ``[columns]`` entry."""

    column: str
    element: str
    unit: str = ""
    method: str = ""
    notes: list[str] = field(default_factory=list)
    decisions: list[str] = field(default_factory=list)

    def line(self) -> str:
        """The TOML line of this entry (notes as a trailing comment)."""
        fields = [f"element = {json.dumps(self.element)}"]
        if self.unit:
            fields.append(f"unit = {json.dumps(self.unit, ensure_ascii=False)}")
        if self.method:
            fields.append(f"method = {json.dumps(self.method)}")
        text = f"{json.dumps(self.column, ensure_ascii=False)} = {{ {', '.join(fields)} }}"
        comments = [*self.notes, *self.decisions]
        return text + (f"   # {'; '.join(comments)}" if comments else "")


def _oxide_unit(raw: RawTable, column: str, analyte: str) -> str | None:
    """Oxides are nearly always reported in wt.%: propose it when the values fit."""
    from chemearth.ingest.infer_crs import numeric_range

    if not re.match(r"^[A-Z][a-z]?\d*O\d*$", analyte):
        return None
    _lo, hi = numeric_range(raw, column)
    return "%" if not np.isnan(hi) and hi <= 100 else None


def propose_columns(raw: RawTable, guesses: dict[str, Any]) -> list[ColumnProposal]:
    """One proposal per recognised analyte column (``guesses``: column -> ColumnGuess)."""
    out = []
    for c, g in guesses.items():
        unit = raw.units.get(c) or g.unit or _oxide_unit(raw, c, g.analyte) or ""
        out.append(ColumnProposal(c, g.analyte, unit, g.method or ""))
    return out
