"""Below-detection-limit encodings inferred from the values (``describe``, ``check``, ingest).

Placeholder moved out of ``describe``; the substitution-constant detection follows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from chemearth.ingest.readers import RawTable

__all__ = ["CensoringProposal", "propose_censoring"]


@dataclass
class CensoringProposal:
    """The ``[censoring]`` section proposed for a table."""

    encoding: str
    comment: str = ""
    lines: list[str] = field(default_factory=list)
    decisions: list[str] = field(default_factory=list)


def propose_censoring(raw: RawTable, analytes: list[str], factor: float = 0.5) -> CensoringProposal:
    """How the table writes values below the detection limit, from its analyte columns."""
    lt = neg = zero = 0
    for c in analytes:
        col = raw.table.column(c)
        if pa.types.is_string(col.type):
            lt += pc.sum(pc.fill_null(pc.starts_with(col, "<"), False)).as_py() or 0
        elif pa.types.is_floating(col.type) or pa.types.is_integer(col.type):
            v = col.to_numpy(zero_copy_only=False).astype(float)
            neg += int(np.sum(v < 0))
            zero += int(np.sum(v == 0))
    if any(f"{c}Cen" in raw.table.column_names for c in analytes):
        return CensoringProposal("flag_column", "boolean *Cen columns flag values below the DL")
    if neg:
        return CensoringProposal("negative", f"{neg} negative values found: -2 means <2")
    if zero:
        return CensoringProposal(
            "zero", f"{zero} zeros found: if they mean <DL, give limits_file or per-column "
            "detection_limit")
    if lt:
        return CensoringProposal("lt_string", f"{lt} '<DL' values found")
    return CensoringProposal("lt_string", "no DL marks found")
