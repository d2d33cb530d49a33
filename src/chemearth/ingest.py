"""Ingest a survey file into a store: read, validate, normalise, write atomically.

The pipeline is

1. hash the file (content hash plus descriptor hash: the same pair again is a no-op);
2. read it (:mod:`chemearth.readers`) and check the descriptor against its columns;
3. prepare the samples (:mod:`chemearth.samples`): ids, CRS, countries, dates, media;
4. parse every analyte column, normalise its detection-limit encoding
   (:mod:`chemearth.censoring`) and convert it to the canonical unit (:mod:`chemearth.units`);
5. reject every row with a problem (or, with ``strict``, the whole file) and write the rest
   as one new dataset version, atomically.

Examples
--------
>>> from chemearth.store import open_store                       # doctest: +SKIP
>>> from chemearth.descriptor import load_descriptor              # doctest: +SKIP
>>> report = ingest(open_store(), load_descriptor("meuse.toml"))  # doctest: +SKIP
>>> report.status, report.n_samples                               # doctest: +SKIP
('ingested', 155)
"""

from __future__ import annotations

import hashlib
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from chemearth.censoring import CensoredColumn, apply_censoring, parse_cells
from chemearth.descriptor import ColumnSpec, Descriptor
from chemearth.errors import (
    ChemearthWarning,
    DescriptorError,
    IngestRejected,
    InputFileError,
    RowError,
    UnitError,
)
from chemearth.readers import RawTable, file_digest, read_table
from chemearth.samples import Problems, SampleFrame, prepare_samples
from chemearth.store.base import MEASUREMENT_SCHEMA, Store, VersionRecord

__all__ = ["IngestReport", "ingest", "resolve_source"]

Progress = Callable[[str, int, int], None]
_QUAL = np.array([None, "<", ">"], dtype=object)


@dataclass
class IngestReport:
    """What an ingest did, with the rejected rows and their reasons."""

    dataset_id: str
    version: int
    status: str
    file: str
    n_rows: int = 0
    n_samples: int = 0
    n_not_sampled: int = 0
    n_measurements: int = 0
    n_censored: int = 0
    rejects: pd.DataFrame = field(default_factory=pd.DataFrame)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def n_rejected(self) -> int:
        """Number of rejected rows."""
        return 0 if self.rejects.empty else int(self.rejects["row"].nunique())

    def messages(self, limit: int = 20) -> list[str]:
        """One message per problem: file, row, column, reason."""
        out = []
        for r in self.rejects.head(limit).itertuples():
            out.append(str(RowError(self.file, int(r.row), str(r.column), str(r.reason))))
        return out


def resolve_source(desc: Descriptor, path: str | Path | None, data_dir: Path | None) -> Path:
    """The file to read: ``path`` when given, else the descriptor's path under ``data_dir``."""
    if path is not None:
        return Path(path)
    if not desc.source.path:
        raise DescriptorError(f"{desc.where}: [source].path is not set and no file was given")
    p = Path(desc.source.path)
    if p.is_absolute():
        return p
    base = data_dir if data_dir is not None else (desc.path.parent if desc.path else Path.cwd())
    return base / p


def ingest(
    store: Store,
    desc: Descriptor,
    path: str | Path | None = None,
    *,
    data_dir: Path | None = None,
    boundaries: Path | None = None,
    strict: bool = False,
    progress: Progress | None = None,
) -> IngestReport:
    """Ingest one survey file described by ``desc`` into ``store``.

    Parameters
    ----------
    store : Store
        Where to write.
    desc : Descriptor
        What the columns mean.
    path : path, optional
        The survey file; defaults to the descriptor's ``[source].path`` under ``data_dir``.
    data_dir : Path, optional
        Folder that relative descriptor paths (source, limits and flag files) refer to.
    boundaries : Path, optional
        Natural Earth admin-0 boundaries for locating countries.
    strict : bool
        Reject the whole file when any row is bad (default: reject the bad rows only).
    progress : callable, optional
        Called as ``progress(step, done, total)``.

    Returns
    -------
    IngestReport

    Raises
    ------
    InputFileError, DescriptorError, RowError, UnitError
        When the file or descriptor cannot be used at all.
    IngestRejected
        With ``strict``, when any row is bad. The store is unchanged.
    """
    t0 = time.perf_counter()
    src = resolve_source(desc, path, data_dir)
    if not src.is_file():
        raise InputFileError(f"{src}: file not found")
    digest = file_digest(src)
    desc_sha = hashlib.sha256(desc.text.encode()).hexdigest()
    existing = store.find_version(desc.dataset.id, digest.sha256, desc_sha)
    if existing is not None:
        return IngestReport(desc.dataset.id, existing, "unchanged", src.name)
    tick = progress or (lambda step, done, total: None)
    tick("reading", 0, 1)
    raw = read_table(src, desc.source, digest)
    raw = _expand_replicates(raw, desc)
    _check_columns(raw, desc)
    problems = Problems()
    tick("samples", 0, 1)
    frame = prepare_samples(raw, desc, problems, boundaries)
    ref_dir = data_dir if data_dir is not None else src.parent
    parsed = _parse_columns(raw, desc, frame, problems, ref_dir, tick)
    n = raw.table.num_rows
    rejected = problems.mask(n)
    rejects = _rejects_frame(raw, problems)
    report = IngestReport(desc.dataset.id, 0, "ingested", src.name, n_rows=n, rejects=rejects)
    report.warnings = frame.warnings + [w for p in parsed for w in p.warnings]
    if strict and rejected.any():
        head = "\n".join(report.messages(20))
        raise IngestRejected(
            f"{src.name}: {report.n_rejected} of {n} rows are bad; with --strict nothing was "
            f"ingested.\n{head}"
        )
    keep = ~rejected
    sampled = _sampled_mask(parsed, n)
    lines = raw.lines
    del raw
    samples = frame.to_arrow(keep, sampled, lines)
    new_index = np.cumsum(keep) - 1
    stats: dict[str, object] = {}
    batches = _measurement_batches(parsed, keep, new_index, stats)
    record = _record(desc, src, digest.sha256, desc_sha, samples, n, report.n_rejected)
    for w in report.warnings:
        warnings.warn(f"{src.name}: {w}", ChemearthWarning, stacklevel=2)
    tick("writing", 0, 1)
    version = store.write_version(record, samples, batches, rejects)
    report.version = version
    report.n_samples = samples.num_rows
    report.n_not_sampled = int((~sampled & keep).sum())
    report.n_measurements = int(stats.get("n", 0))  # type: ignore[call-overload]
    report.n_censored = int(stats.get("censored", 0))  # type: ignore[call-overload]
    report.seconds = time.perf_counter() - t0
    return report


# --------------------------------------------------------------------------- columns


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


def _expand_replicates(raw: RawTable, desc: Descriptor) -> RawTable:
    """Turn one row per replicate pair (``F1_Cu``, ``F2_Cu``) into one row per replicate."""
    prefixes = desc.sample.replicate_prefixes
    if not prefixes:
        return raw
    t = raw.table
    shared = [c for c in t.column_names if not any(c.startswith(p) for p in prefixes)]
    parts = []
    for i, p in enumerate(prefixes):
        cols = {c: t.column(c) for c in shared}
        for c in t.column_names:
            if c.startswith(p):
                cols[c[len(p):]] = t.column(c)
        ids = desc.sample.replicate_id_columns
        if ids:
            cols["__sample_id"] = pc.cast(t.column(ids[i]), pa.string())
        cols["__replicate"] = pa.array([p.rstrip("_.")] * t.num_rows, pa.string())
        parts.append(pa.table(cols))
    table = pa.concat_tables(parts, promote_options="permissive")
    lines = np.concatenate([raw.lines] * len(prefixes))
    return RawTable(raw.path, table, lines, raw.units, raw.crs, raw.encoding, raw.row_label)


def _check_columns(raw: RawTable, desc: Descriptor) -> None:
    import difflib

    have = set(raw.table.column_names)
    if desc.sample.replicate_id_columns:
        have |= set(desc.sample.replicate_id_columns)
    missing = [c for c in desc.referenced_columns() if c not in have]
    if missing:
        hints = []
        for c in missing[:10]:
            close = difflib.get_close_matches(c, sorted(have), n=1)
            hints.append(f"{c!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise DescriptorError(
            f"{raw.name}: column(s) named in {desc.where} are not in the file: {', '.join(hints)}"
        )


def _limits(desc: Descriptor, ref_dir: Path) -> dict[str, float]:
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


def _flags(desc: Descriptor, raw: RawTable, ids: np.ndarray, ref_dir: Path) -> pd.DataFrame | None:
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
    df = df.drop_duplicates(key).set_index(key)
    aligned = df.reindex(pd.Index(ids))
    unmatched = aligned.index[aligned.isna().all(axis=1)]
    if len(unmatched):
        raise RowError(p.name, None, key, f"{len(unmatched)} sample(s) of {raw.name} have no "
                       f"flags, e.g. {list(unmatched[:3])}")
    values = {v.lower() for v in c.flag_values}
    return aligned.apply(lambda s: s.str.strip().str.lower().isin(values))


def _flag_column(raw: RawTable, name: str) -> np.ndarray:
    col = raw.table.column(name)
    if pa.types.is_boolean(col.type):
        return col.to_numpy(zero_copy_only=False).astype(bool)
    text = pc.utf8_lower(pc.cast(col, pa.string()))
    truth = pc.is_in(text, value_set=pa.array(["true", "t", "1", "yes", "1.0"]))
    return pc.fill_null(truth, False).to_numpy(zero_copy_only=False)


def _parse_columns(
    raw: RawTable, desc: Descriptor, frame: SampleFrame, problems: Problems, ref_dir: Path,
    tick: Progress,
) -> list[ParsedColumn]:
    from chemearth.units import conversion_factor

    limits = _limits(desc, ref_dir)
    flags = _flags(desc, raw, frame.sample_id, ref_dir)
    out = []
    total = len(desc.columns)
    for k, spec in enumerate(desc.columns):
        tick("parsing", k, total)
        unit = spec.unit or raw.units.get(spec.column) or "mg/kg"
        try:
            element, factor = conversion_factor(unit, spec.element)
        except UnitError as exc:
            row = desc.source.units_row if not spec.unit and desc.source.units_row else None
            raise RowError(raw.name, row, spec.column, str(exc)) from None
        cells = parse_cells(raw.table.column(spec.column), desc.source.not_sampled)
        limit = spec.detection_limit if spec.detection_limit is not None else limits.get(
            spec.column)
        fl = None
        if flags is not None and spec.column in flags:
            fl = flags[spec.column].to_numpy(dtype=bool)
        fc = None
        if desc.censoring.encoding == "flag_column":
            cen_name = spec.column + desc.censoring.flag_suffix
            if cen_name in raw.table.column_names:
                fc = _flag_column(raw, cen_name)
        col = apply_censoring(cells, desc.censoring, limit, fl, fc)
        _column_problems(cells, col, spec, problems)
        out.append(_finish(spec, element, unit, factor, cells, col, limit))
    tick("parsing", total, total)
    return out


def _column_problems(cells: object, col: CensoredColumn, spec: ColumnSpec,
                     problems: Problems) -> None:
    bad = cells.bad  # type: ignore[attr-defined]
    if bad.any():
        idx = np.flatnonzero(bad)
        problems.add(idx, spec.column, [cells.bad_text(i) for i in idx],  # type: ignore[attr-defined]
                     "value is not a number (nor a '<DL' value)")
    if col.negative_bad.any():
        idx = np.flatnonzero(col.negative_bad)
        problems.add(idx, spec.column, [f"{v:g}" for v in col.value[idx]],
                     "negative value is not a detection-limit encoding of this dataset "
                     "(set [censoring] encoding = 'negative' if it is)")


def _finish(spec: ColumnSpec, element: str, unit: str, factor: float, cells: object,
            col: CensoredColumn, limit: float | None) -> ParsedColumn:
    from chemearth.elements import canonical_unit

    qualifier = np.zeros(len(col.value), dtype=np.int8)
    qualifier[cells.lt] = 1  # type: ignore[attr-defined]
    qualifier[cells.gt] = 2  # type: ignore[attr-defined]
    number = cells.number  # type: ignore[attr-defined]
    changed = np.flatnonzero(col.censored & (number != col.value))
    originals = {int(i): float(number[i]) for i in changed}
    value = col.value * factor if factor != 1.0 else col.value
    warns = [f"column {spec.column!r}: {w}" for w in col.warnings]
    return ParsedColumn(spec, element, canonical_unit(element), unit, factor, value,
                        col.censored, qualifier, limit, cells.not_sampled,  # type: ignore[attr-defined]
                        originals, warns)


def _sampled_mask(parsed: list[ParsedColumn], n: int) -> np.ndarray:
    """A row is 'not sampled' when it has no value and at least one not-sampled marker."""
    if not parsed:
        return np.ones(n, dtype=bool)
    any_value = np.zeros(n, dtype=bool)
    any_ns = np.zeros(n, dtype=bool)
    for p in parsed:
        any_value |= ~np.isnan(p.value)
        any_ns |= p.not_sampled
    return any_value | ~any_ns


def _measurement_batches(
    parsed: list[ParsedColumn], keep: np.ndarray, new_index: np.ndarray, stats: dict[str, object]
) -> Iterator[pa.Table]:
    stats["n"] = 0
    stats["censored"] = 0
    for p in parsed:
        rows = np.flatnonzero(keep & ~np.isnan(p.value))
        if len(rows) == 0:
            continue
        value = p.value[rows]
        censored = p.censored[rows]
        original = p.value[rows] / p.factor if p.factor != 1.0 else value.copy()
        for i, v in p.originals.items():
            if keep[i]:
                original[np.searchsorted(rows, i)] = v
        limit = np.nan if p.limit is None else p.limit * p.factor
        dl = np.where(censored, value, limit)
        n = len(rows)
        qual = p.qualifier[rows]
        qualifier = pa.DictionaryArray.from_arrays(
            pa.array(np.where(qual == 0, -1, qual - 1).astype(np.int8), mask=(qual == 0)),
            pa.array(["<", ">"]),
        )
        stats["n"] = int(stats["n"]) + n  # type: ignore[call-overload]
        stats["censored"] = int(stats["censored"]) + int(censored.sum())  # type: ignore[call-overload]
        yield pa.Table.from_arrays(
            [
                pa.array(new_index[rows].astype(np.int32)),
                _const(p.element, n),
                pa.array(value),
                _const(p.unit, n),
                pa.array(censored),
                pa.array(dl, mask=np.isnan(dl)),
                _const(p.spec.method, n),
                _const(p.spec.digestion, n),
                pa.array(original),
                _const(p.original_unit, n),
                _const(p.spec.column, n),
                qualifier,
            ],
            schema=MEASUREMENT_SCHEMA,
        )


def _const(text: str, n: int) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, dtype=np.int8)), pa.array([text]))


def _rejects_frame(raw: RawTable, problems: Problems) -> pd.DataFrame:
    if not problems:
        return pd.DataFrame(columns=["file", "row", "column", "value", "reason"])
    df = pd.DataFrame(
        {
            "file": raw.name,
            "row": raw.lines[np.asarray(problems.index)],
            "column": problems.column,
            "value": problems.value,
            "reason": problems.reason,
        }
    )
    return df.sort_values(["row", "column"], kind="stable").reset_index(drop=True)


def _record(desc: Descriptor, src: Path, sha: str, desc_sha: str, samples: pa.Table,
            n_rows: int, n_rejected: int) -> VersionRecord:
    d = desc.dataset
    countries = sorted({c for c in samples.column("country").to_pylist() if c}) or list(
        d.countries)
    media = sorted({m for m in samples.column("medium").to_pylist() if m})
    methods = sorted({c.method for c in desc.columns if c.method})
    return VersionRecord(
        dataset_id=d.id, title=d.title, organisation=d.organisation, countries=countries,
        media=media, depth_top_cm=d.depth_cm[0] if d.depth_cm else None,
        depth_bottom_cm=d.depth_cm[1] if d.depth_cm else None,
        sampling_years=list(d.sampling_years or []), methods=methods, licence=d.licence,
        citation=d.citation, url=d.url, sharing=d.sharing,
        sharing_organisations=list(d.sharing_organisations),
        embargoed_elements=list(d.embargoed_elements), kind=d.kind,
        same_samples_as=d.same_samples_as, source_file=str(src), source_sha256=sha,
        descriptor_sha256=desc_sha, descriptor=desc.text, n_rows=n_rows,
        n_samples=samples.num_rows, n_rejected=n_rejected,
    )
