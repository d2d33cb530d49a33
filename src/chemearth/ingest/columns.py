"""Analyte columns: parse, apply the detection-limit encoding, convert units, lay out wide.

One :class:`ParsedColumn` per descriptor column and chunk of the file; :func:`wide_table`
turns the parsed columns of a chunk into the store's wide measurement layout
(``docs/conventions.md``).
"""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from chemearth.errors import DescriptorError, RowError, UnitError, UnknownElementError
from chemearth.ingest.descriptor import ColumnSpec, Descriptor
from chemearth.ingest.detection_limits import (
    NOT_FINITE,
    Cells,
    CensoredColumn,
    apply_censoring,
    parse_cells,
)
from chemearth.ingest.readers import RawTable
from chemearth.ingest.samples import Problems, SampleFrame

__all__ = [
    "ParsedColumn",
    "column_table",
    "load_flags",
    "load_limits",
    "parse_columns",
    "sampled_mask",
    "wide_table",
]


@dataclass
class ParsedColumn:
    """One analyte column after parsing, censoring and unit conversion."""

    spec: ColumnSpec
    element: str
    unit: str
    original_unit: str
    factor: float
    value: np.ndarray  # canonical unit; NaN where missing
    censored: np.ndarray
    qualifier: np.ndarray  # int8: 0 none, 1 '<', 2 '>'
    limit: float | None
    not_sampled: np.ndarray
    originals: dict[int, float]
    warnings: list[str]
    #: cells equal to the column's declared substitution constant (stored censored)
    n_substituted: int = 0


def load_limits(desc: Descriptor, ref_dir: Path) -> dict[str, float]:
    c = desc.censoring
    if not c.limits_file:
        return {}
    p = ref_dir / c.limits_file
    try:
        df = pd.read_csv(p)
    except FileNotFoundError:
        raise DescriptorError(f"{desc.where}: limits_file {p} not found") from None
    name_col, dl_col = c.limits_columns
    if name_col not in df or dl_col not in df:
        raise DescriptorError(f"{p.name}: needs columns {name_col!r} and {dl_col!r}")
    return {str(k): float(v) for k, v in zip(df[name_col], df[dl_col], strict=True)}


def load_flags(desc: Descriptor, ref_dir: Path) -> pd.DataFrame | None:
    """The flag file of a ``flag_file`` encoding, indexed by sample id, as booleans."""
    c = desc.censoring
    if c.encoding != "flag_file":
        return None
    p = ref_dir / c.flag_file
    try:
        df = pd.read_csv(p, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise DescriptorError(f"{desc.where}: flag_file {p} not found") from None
    key = c.flag_id_column or desc.sample.id
    if key not in df:
        raise DescriptorError(f"{p.name}: flag file has no id column {key!r}")
    values = {v.lower() for v in c.flag_values}
    df = df.drop_duplicates(key).set_index(key)
    flags = df.apply(lambda s: s.str.strip().str.lower().isin(values))
    flags.attrs["file"] = p.name
    flags.attrs["key"] = key
    return cast(pd.DataFrame, flags)


def _align_flags(flags: pd.DataFrame, raw: RawTable, ids: np.ndarray) -> pd.DataFrame:
    aligned = flags.reindex(pd.Index(ids))
    unmatched = aligned.index[aligned.isna().all(axis=1)]
    if len(unmatched):
        raise RowError(
            flags.attrs["file"],
            None,
            flags.attrs["key"],
            f"{len(unmatched)} sample(s) of {raw.name} have no flags, e.g. {list(unmatched[:3])}",
        )
    return aligned.fillna(False).astype(bool)


def _flag_column(raw: RawTable, name: str) -> np.ndarray:
    col = raw.table.column(name)
    if pa.types.is_boolean(col.type):
        return np.asarray(col.to_numpy(zero_copy_only=False), dtype=bool)
    text = pc.utf8_lower(pc.cast(col, pa.string()))
    truth = pc.is_in(text, value_set=pa.array(["true", "t", "1", "yes", "1.0"]))
    return np.asarray(pc.fill_null(truth, False).to_numpy(zero_copy_only=False), dtype=bool)


def parse_columns(
    raw: RawTable,
    desc: Descriptor,
    frame: SampleFrame | None,
    problems: Problems,
    limits: dict[str, float],
    flag_table: pd.DataFrame | None,
    pool: Executor | None = None,
) -> list[ParsedColumn]:
    """Parse, censor and convert every analyte column of ``raw``.

    Parameters
    ----------
    raw : RawTable
        One table (or chunk) of the file.
    desc : Descriptor
        What the columns mean.
    frame : SampleFrame or None
        The chunk's samples (needed for a ``flag_file`` encoding only).
    problems : Problems
        Where the row problems found are recorded, column by column in descriptor order.
    limits : dict
        Detection limits by column from the descriptor's limits file.
    flag_table : pandas.DataFrame or None
        The flag file of a ``flag_file`` encoding.
    pool : Executor, optional
        Threads to parse the columns on (pyarrow's string kernels and numpy release the
        GIL, so columns parse side by side); the results, problems and the first error
        raised are those of parsing them one after the other.

    Returns
    -------
    list of ParsedColumn
        One per descriptor column, in descriptor order.
    """
    flags = None
    if flag_table is not None and frame is not None:
        ids = np.asarray(frame.sample_id.to_pylist(), dtype=object)
        flags = _align_flags(flag_table, raw, ids)
    if pool is None or len(desc.columns) < 2:
        return [_parse_one(raw, desc, spec, problems, limits, flags) for spec in desc.columns]
    own = [Problems() for _ in desc.columns]
    futures = [
        pool.submit(_parse_one, raw, desc, spec, mine, limits, flags)
        for spec, mine in zip(desc.columns, own, strict=True)
    ]
    try:
        parsed = [f.result() for f in futures]  # the first column's error first
    finally:
        for f in futures:
            f.cancel()
    for mine in own:
        problems.extend(mine)
    return parsed


def _parse_one(
    raw: RawTable,
    desc: Descriptor,
    spec: ColumnSpec,
    problems: Problems,
    limits: dict[str, float],
    flags: pd.DataFrame | None,
) -> ParsedColumn:
    """Parse, censor and convert one analyte column."""
    from chemearth.reference.units import conversion_factor

    from_row = not spec.unit and spec.column in raw.units
    unit = spec.unit or raw.units.get(spec.column) or desc.default_unit or "mg/kg"
    try:
        element, factor = conversion_factor(unit, spec.element)
    except UnitError as exc:
        if from_row:
            raise RowError(raw.name, desc.source.units_row, spec.column, str(exc)) from None
        raise DescriptorError(f"{desc.where} [columns] column {spec.column!r}: {exc}") from None
    except UnknownElementError as exc:
        raise DescriptorError(f"{desc.where} [columns] column {spec.column!r}: {exc}") from None
    cells = parse_cells(raw.table.column(spec.column), desc.source.not_sampled)
    limit = spec.detection_limit if spec.detection_limit is not None else limits.get(spec.column)
    fl = None
    if flags is not None and spec.column in flags:
        fl = flags[spec.column].to_numpy(dtype=bool)
    fc = None
    if desc.censoring.encoding == "flag_column":
        cen_name = spec.column + desc.censoring.flag_suffix
        if cen_name in raw.table.column_names:
            fc = _flag_column(raw, cen_name)
    substitution = desc.censoring.substituted.get(spec.column)
    col = apply_censoring(cells, desc.censoring, limit, fl, fc, substitution)
    _column_problems(cells, col, spec, problems)
    parsed = _finish(spec, element, unit, factor, cells, col, col.limit)
    parsed.n_substituted = col.n_substituted
    return parsed


def _column_problems(
    cells: Cells, col: CensoredColumn, spec: ColumnSpec, problems: Problems
) -> None:
    nonfinite = cells.nonfinite if cells.nonfinite is not None else np.zeros_like(cells.bad)
    bad = cells.bad & ~nonfinite
    if bad.any():
        idx = np.flatnonzero(bad)
        problems.add(
            idx,
            spec.column,
            [cells.bad_text(int(i)) for i in idx],
            "value is not a number (nor a '<DL' value)",
        )
    if nonfinite.any():
        idx = np.flatnonzero(nonfinite)
        texts = [cells.bad_text(int(i)) for i in idx]
        problems.add_each(idx, spec.column, texts, [_not_finite(t) for t in texts])
    if col.negative_bad.any():
        idx = np.flatnonzero(col.negative_bad)
        problems.add(
            idx,
            spec.column,
            [f"{v:g}" for v in col.value[idx]],
            "negative value is not a detection-limit encoding of this dataset "
            "(set [censoring] encoding = 'negative' if it is)",
        )


def _not_finite(text: str) -> str:
    """The reason for a non-finite cell; NaN may be a 'no value' marker, so say how."""
    if text.strip().lstrip("+-").lower() == "nan":
        return f"{NOT_FINITE} (list {text.strip()!r} in [source] missing if it means no value)"
    return NOT_FINITE


def _finish(
    spec: ColumnSpec,
    element: str,
    unit: str,
    factor: float,
    cells: object,
    col: CensoredColumn,
    limit: float | None,
) -> ParsedColumn:
    from chemearth.reference.elements import canonical_unit

    qualifier = np.zeros(len(col.value), dtype=np.int8)
    qualifier[cells.lt] = 1  # type: ignore[attr-defined]
    qualifier[cells.gt] = 2  # type: ignore[attr-defined]
    number = cells.number  # type: ignore[attr-defined]
    changed = np.flatnonzero(col.censored & (number != col.value))
    originals = {int(i): float(number[i]) for i in changed}
    value = col.value * factor if factor != 1.0 else col.value
    warns = [f"column {spec.column!r}: {w}" for w in col.warnings]
    return ParsedColumn(
        spec,
        element,
        canonical_unit(element),
        unit,
        factor,
        value,
        col.censored,
        qualifier,
        limit,
        cells.not_sampled,  # type: ignore[attr-defined]
        originals,
        warns,
    )


def sampled_mask(parsed: list[ParsedColumn], n: int) -> np.ndarray:
    """A row is 'not sampled' when it has no value and at least one not-sampled marker."""
    if not parsed:
        return np.ones(n, dtype=bool)
    any_value = np.zeros(n, dtype=bool)
    any_ns = np.zeros(n, dtype=bool)
    for p in parsed:
        any_value |= ~np.isnan(p.value)
        any_ns |= p.not_sampled
    return any_value | ~any_ns


def wide_table(parsed: list[ParsedColumn], keep: np.ndarray, new_index: np.ndarray) -> pa.Table:
    """The kept rows' measurements in the store's wide layout (see ``docs/conventions.md``).

    Column ``k`` of the descriptor becomes ``v<k>`` (value, canonical unit), ``c<k>``
    (censored), ``o<k>`` (original number where it is not ``value / factor``) and ``q<k>``
    (1 for ``<``, 2 for ``>``).
    """
    rows = np.flatnonzero(keep)
    arrays: dict[str, pa.Array] = {"sample_index": pa.array(new_index[rows].astype(np.int32))}
    for k, p in enumerate(parsed):
        value = p.value[rows]
        missing = np.isnan(value)
        original = np.full(len(rows), np.nan) if p.originals else np.empty(0)
        if p.originals:
            pos = np.fromiter(p.originals, dtype=np.int64)
            vals = np.fromiter(p.originals.values(), dtype=np.float64)
            j = np.searchsorted(rows, pos)
            ok = (j < len(rows)) & (rows[np.minimum(j, len(rows) - 1)] == pos)
            original[j[ok]] = vals[ok]
        qual = p.qualifier[rows]
        arrays[f"v{k}"] = pa.array(value, mask=missing if missing.any() else None)
        arrays[f"c{k}"] = pa.array(p.censored[rows] & ~missing)
        arrays[f"o{k}"] = (
            pa.array(original, mask=np.isnan(original))
            if p.originals
            else pa.nulls(len(rows), pa.float64())
        )
        arrays[f"q{k}"] = (
            pa.array(qual, mask=qual == 0) if qual.any() else pa.nulls(len(rows), pa.int8())
        )
    return pa.table(arrays)


def column_table(parsed: list[ParsedColumn]) -> list[dict[str, object]]:
    """Per analyte column: what ``v<k>`` holds (element, unit, method, limit…)."""
    return [
        {
            "column_id": k,
            "source_column": p.spec.column,
            "element": p.element,
            "unit": p.unit,
            "method": p.spec.method,
            "digestion": p.spec.digestion,
            "original_unit": p.original_unit,
            "factor": p.factor,
            "detection_limit": None if p.limit is None else p.limit * p.factor,
        }
        for k, p in enumerate(parsed)
    ]



def undeclared_constants(
    parsed: list[ParsedColumn], desc: Descriptor
) -> list[tuple[str, str]]:
    """(column, message) for columns holding what looks like an undeclared substitution constant.

    Only columns with no below-limit mark of their own (no ``<``, no censored cell) and no
    ``[censoring.substituted]`` entry are examined, with
    :func:`chemearth.ingest.infer_limits.find_constant` at the descriptor's factor.
    """
    from chemearth.ingest.infer_limits import find_constant, has_limit

    out = []
    for p in parsed:
        if p.spec.column in desc.censoring.substituted or p.censored.any():
            continue
        if not has_limit(p.element):
            continue
        found = find_constant(p.value / p.factor, desc.censoring.factor)
        if found is None:
            continue
        if found.kind == "bottom":
            what = (f"looks written in place of '<DL' (limit {found.detection_limit:g}?) but is "
                    "kept as a measured value; declare it under [censoring.substituted]")
        else:
            what = ("may stand for '<DL' but is kept as a measured value; if it does, declare "
                    "it under [censoring.substituted] with its limit")
        out.append((p.spec.column, f"{found.evidence}: the constant {what}"))
    return out


def substitution_notes(counts: dict[str, int], desc: Descriptor) -> list[str]:
    """One line per declared substitution constant: how many cells it censored, and why."""
    out = []
    for column, sub in desc.censoring.substituted.items():
        n = counts.get(column, 0)
        why = f" ({sub.note})" if sub.note else ""
        out.append(f"column {column!r}: {n} cell(s) equal to the substitution constant "
                   f"{sub.value:g} stored below the detection limit {sub.detection_limit:g}{why}")
    return out
