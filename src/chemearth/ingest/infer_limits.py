"""Below-detection-limit encodings inferred from the values (``describe``, ``check``, ingest).

Many surveys write a constant instead of "<DL": half the limit (the Kola, Baltic Soil Survey
and GEMAS tables), 0.65 × the limit, or the limit itself. Such a constant is not a
measurement, and a baseline that counts it as one is wrong (a median equal to the constant, a
MAD of 0, an RSD of 0). :func:`find_constant` finds them in one column:

* **at the bottom** — the smallest value of the column, held by at least two rows, with
  either no value between it and ``value / factor`` (the gap a substituted half-limit
  leaves: nothing was measured below the limit) in at least 2 % of rows or off the column's
  reporting grid (``2.5`` among integers), or a spike: at least 5 % of rows and three times
  as many as any other value. The inferred limit is ``value / factor``.
* **inside** — a value held by at least 20 % of rows and five times as many as any other,
  with values below it: a constant, but which limit it stands for cannot be inferred; the user
  must decide.

Examples
--------
>>> v = np.array([1.5] * 30 + [3.0, 3.2, 4.0, 5.5, 7.0, 9.0] * 10)
>>> f = find_constant(v, factor=0.5)
>>> f.kind, f.value, f.count, f.detection_limit
('bottom', 1.5, 30, 3.0)
>>> f.evidence
'1.5 in 30 of 90 rows (33%), the smallest value, with none between it and 3 (= 1.5 / 0.5)'
>>> find_constant(np.arange(1.0, 200.0)) is None
True
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from chemearth.ingest.descriptor import Substitution
from chemearth.ingest.readers import RawTable

__all__ = [
    "CensoringProposal",
    "ConstantFinding",
    "MarkerProposal",
    "find_constant",
    "has_limit",
    "propose_censoring",
    "propose_markers",
]

#: Cell texts that say a site was not sampled (rows of them are kept as "not sampled")
NOT_SAMPLED = ("N.S.", "NS", "n.s.", "ns", "not sampled", "Not sampled", "N.S")
#: Cell texts that say "no value" (already in ``[source].missing`` by default or common)
MISSING = ("", "NA", "N/A", "-", "n.d.", "nd", "N.D.", "n/a", "na", "--", "NaN", "nan")

#: A bottom constant needs this share of rows when a gap supports it (2 %) ...
_GAP_SHARE = 0.02
#: ... or this share (5 %) and ``_SPIKE`` times the rows of any other value.
_SPIKE_SHARE = 0.05
_SPIKE = 3.0
#: A constant inside the distribution: 20 % of rows, five times any other value.
_INSIDE_SHARE = 0.20
_INSIDE_SPIKE = 5.0
_SAMPLE = 50_000


@dataclass(frozen=True)
class ConstantFinding:
    """A constant in one column that looks written in place of "<DL"."""

    value: float
    count: int
    n: int
    kind: str  # "bottom" or "inside"
    detection_limit: float | None
    #: rows measured strictly between the constant and the inferred limit
    between: int
    evidence: str

    @property
    def share(self) -> float:
        """Share of the column's values that are the constant."""
        return self.count / self.n

    def substitution(self) -> Substitution:
        """The ``[censoring.substituted]`` declaration (bottom constants only)."""
        if self.detection_limit is None:
            raise ValueError("no detection limit can be inferred for a constant inside the "
                             "distribution")
        return Substitution(self.value, self.detection_limit, f"inferred: {self.evidence}")


def has_limit(analyte: str) -> bool:
    """Whether an analyte is reported against a detection limit (all but pH).

    Examples
    --------
    >>> has_limit("Au"), has_limit("SO4"), has_limit("pH"), has_limit("pH_CaCl2")
    (True, True, False, False)
    """
    return not analyte.startswith("pH")


def _decimals(values: np.ndarray) -> int:
    """The fewest decimals that write every value (0..6; 7 when none does)."""
    for d in range(7):
        scaled = values * 10.0**d
        if np.all(np.abs(scaled - np.round(scaled)) <= 1e-6 * np.maximum(1.0, np.abs(scaled))):
            return d
    return 7


def find_constant(values: np.ndarray, factor: float = 0.5) -> ConstantFinding | None:
    """Find a constant written in place of "below the detection limit" in one column.

    Parameters
    ----------
    values : ndarray of float
        The column's measured values (censored cells and missing values left out or NaN).
    factor : float
        The survey's convention: the constant is ``factor`` × the limit (0.5: half).

    Returns
    -------
    ConstantFinding or None
        None when no value looks substituted (see the module docstring for the rules).
    """
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    n = len(v)
    if n < 10:
        return None
    sample = v if n <= _SAMPLE else v[:: n // _SAMPLE + 1]
    vals, cnt = np.unique(sample, return_counts=True)
    if len(vals) == 1:
        c = float(vals[0])
        return ConstantFinding(c, n, n, "bottom", c / factor, 0,
                               f"every one of the {n} values is {c:g}: nothing was measured "
                               f"above the limit (taken as {c:g} / {factor:g})")
    scale = n / len(sample)
    order = np.argsort(cnt)[::-1]
    c = float(vals[0])
    k = int(np.count_nonzero(v == c))
    others = cnt[1:]
    spike = k >= _SPIKE * float(others.max()) * scale
    limit = c / factor
    above = v[v > c]
    nxt = float(above.min())
    gap = nxt >= limit * (1 - 1e-9)
    off_grid = _decimals(np.array([c])) > _decimals(vals[1:][:2000])
    share = k / n
    if k >= 2 and ((gap and (share >= _GAP_SHARE or off_grid))
                   or (share >= _SPIKE_SHARE and spike)):
        between = int(np.count_nonzero((v > c) & (v < limit * (1 - 1e-9))))
        how = (f"with none between it and {limit:g} (= {c:g} / {factor:g})" if gap else
               f"{between} values measured between it and {limit:g} (= {c:g} / {factor:g})")
        grid = ", off the grid of the other values" if off_grid and not spike else ""
        return ConstantFinding(c, k, n, "bottom", limit, between,
                               f"{c:g} in {k} of {n} rows ({share:.0%}), the smallest value"
                               f"{grid}, {how}")
    m = float(vals[order[0]])
    km = int(np.count_nonzero(v == m))
    second = float(cnt[order[1]]) * scale
    if m != c and km >= _INSIDE_SHARE * n and km >= _INSIDE_SPIKE * second:
        below = int(np.count_nonzero(v < m))
        return ConstantFinding(m, km, n, "inside", None, 0,
                               f"{m:g} in {km} of {n} rows ({km / n:.0%}), with {below} "
                               "smaller values: a constant, but of which limit?")
    return None


@dataclass
class CensoringProposal:
    """The ``[censoring]`` section proposed for a table, with the constants found."""

    encoding: str
    comment: str = ""
    lines: list[str] = field(default_factory=list)
    decisions: list[str] = field(default_factory=list)
    findings: dict[str, ConstantFinding] = field(default_factory=dict)


def _numbers(col: pa.ChunkedArray) -> np.ndarray | None:
    if pa.types.is_floating(col.type) or pa.types.is_integer(col.type):
        return np.asarray(col.to_numpy(zero_copy_only=False), dtype=float)
    return None


def propose_censoring(raw: RawTable, analytes: list[str], factor: float = 0.5,
                      marked: list[str] | None = None) -> CensoringProposal:
    """How the table writes values below the detection limit, from its analyte columns.

    Substitution constants found by :func:`find_constant` are declared under
    ``[censoring.substituted]`` with their evidence; constants inside a distribution are
    listed as decisions. Zeros and negative numbers count as below-limit marks only in the
    ``marked`` columns (elements and oxides: a silt share of 0 % is a measurement), all of
    ``analytes`` when None.
    """
    counted = set(analytes if marked is None else marked)
    lt = neg = zero = 0
    findings: dict[str, ConstantFinding] = {}
    for c in analytes:
        col = raw.table.column(c)
        v = _numbers(col)
        if v is None:
            if pa.types.is_string(col.type):
                lt += pc.sum(pc.fill_null(pc.starts_with(col, "<"), False)).as_py() or 0
            continue
        if c in counted:
            neg += int(np.sum(v < 0))
            zero += int(np.sum(v == 0))
        found = find_constant(v, factor)
        if found is not None:
            findings[c] = found
    flagged = any(f"{c}Cen" in raw.table.column_names for c in analytes)
    out = _encoding(flagged, neg, zero, lt, findings, factor)
    bottom = {c: f for c, f in findings.items() if f.kind == "bottom"}
    inside = {c: f for c, f in findings.items() if f.kind == "inside"}
    if out.encoding in ("substituted", "lt_string", "none") and bottom:
        out.lines += ["", "# Constants written in place of '<DL' (exactly these cells are stored",
                      "# censored at detection_limit); check each against the survey's limits:",
                      "[censoring.substituted]"]
        for c, f in bottom.items():
            s = f.substitution()
            out.lines.append(
                f"{json.dumps(c, ensure_ascii=False)} = {{ value = {s.value:g}, "
                f"detection_limit = {s.detection_limit:g}, note = {json.dumps(s.note)} }}")
    for c, f in inside.items():
        out.decisions.append(
            f"column {c!r}: {f.evidence} If it stands for '<DL', declare it under "
            "[censoring.substituted] with its limit")
    out.findings = findings
    return out


def _encoding(flagged: bool, neg: int, zero: int, lt: int,
              findings: dict[str, ConstantFinding], factor: float) -> CensoringProposal:
    if flagged:
        return CensoringProposal("flag_column", "boolean *Cen columns flag values below the DL")
    if neg:
        return CensoringProposal("negative", f"{neg} negative values found: -2 means <2")
    if zero:
        return CensoringProposal(
            "zero", f"{zero} zeros found, read as below the DL",
            decisions=[f"{zero} zero values: if they mean '<DL', give the limits "
                       "([censoring].limits_file or detection_limit per column); if they "
                       "were measured as zero, set [censoring].encoding = \"none\""])
    if lt:
        return CensoringProposal("lt_string", f"{lt} '<DL' values found")
    if any(f.kind == "bottom" for f in findings.values()):
        n = sum(f.kind == "bottom" for f in findings.values())
        return CensoringProposal(
            "substituted", f"no DL marks; constants in {n} column(s) look like {factor:g} x DL",
            [f"factor = {factor:g}   # assumed: the constant is {factor:g} x the limit"])
    return CensoringProposal("lt_string", "no DL marks and no substitution constant found")


@dataclass
class MarkerProposal:
    """``[source]`` lines for the texts written in analyte columns instead of numbers."""

    lines: list[str] = field(default_factory=list)
    decisions: list[str] = field(default_factory=list)


def propose_markers(raw: RawTable, analytes: list[str]) -> MarkerProposal:
    """Find the words written in analyte columns: not-sampled and missing-value markers.

    Cells that are numbers, ``<x`` or ``>x`` are left alone; every other text is counted.
    Known not-sampled words (``N.S.``) become ``not_sampled``, known missing-value words
    ``missing``; any other word is a decision (its row would be rejected).

    Examples
    --------
    >>> from pathlib import Path
    >>> t = pa.table({"Cu": ["1", "N.S.", "<2", "x?"], "Zn": ["3", "N.S.", "4", "n.d."]})
    >>> m = propose_markers(RawTable(Path("s.csv"), t, np.arange(2, 6)), ["Cu", "Zn"])
    >>> m.lines
    ['not_sampled = ["N.S."]', 'missing = ["", "NA", "N/A", "-", "n.d."]']
    >>> m.decisions  # doctest: +ELLIPSIS
    ["column 'Cu': 1 cell(s) hold 'x?', neither a number nor a known marker: list it in ..."]
    """
    from chemearth.ingest.descriptor import Source

    counts: dict[str, dict[str, int]] = {}
    for c in analytes:
        col = raw.table.column(c)
        if not pa.types.is_string(col.type) and not pa.types.is_large_string(col.type):
            continue
        text = pc.utf8_trim_whitespace(col)
        body = pc.utf8_trim_whitespace(pc.utf8_ltrim(text, "<>"))
        number = pc.fill_null(pc.match_substring_regex(
            body, r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"), True)
        words = pc.filter(text, pc.invert(number))
        for word, n in zip(*_value_counts(words), strict=True):
            counts.setdefault(word, {})[c] = n
    out = MarkerProposal()
    default_missing = list(Source().missing)
    not_sampled = [w for w in counts if w in NOT_SAMPLED]
    missing = [w for w in counts if w in MISSING and w not in default_missing]
    if not_sampled:
        out.lines.append(f"not_sampled = {json.dumps(not_sampled)}")
    if counts:
        out.lines.append(f"missing = {json.dumps(default_missing + missing)}")
    for word, where in counts.items():
        if word in NOT_SAMPLED or word in MISSING:
            continue
        for c, n in where.items():
            out.decisions.append(
                f"column {c!r}: {n} cell(s) hold {word!r}, neither a number nor a known "
                "marker: list it in [source].missing or not_sampled, or those rows are "
                "rejected")
    return out


def _value_counts(words: pa.ChunkedArray | pa.Array) -> tuple[list[str], list[int]]:
    vc = pc.value_counts(words)
    return ([v.as_py() for v in vc.field("values")], [int(n.as_py()) for n in vc.field("counts")])
