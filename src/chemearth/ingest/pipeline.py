"""Ingest a survey file into a store: read, validate, normalise, write atomically.

The pipeline is

1. hash the file (content hash plus descriptor hash: the same pair again is a no-op);
2. read it (:mod:`chemearth.ingest.readers`) and check the descriptor against its columns;
3. prepare the samples (:mod:`chemearth.ingest.samples`): ids, CRS, countries, dates, media;
4. parse every analyte column, normalise its detection-limit encoding
   (:mod:`chemearth.ingest.detection_limits`) and convert it to the canonical unit
   (:mod:`chemearth.reference.units`);
5. reject every row with a problem (or, with ``strict``, the whole file) and write the rest
   as one new dataset version, atomically.

A CSV file is read in chunks (:data:`~chemearth.ingest.readers.CHUNK_BYTES`), on every
core: the next chunk is read on a thread of its own while the current one is checked, its
samples (CRS, countries) on another, its analyte columns side by side on a pool, and the
chunk before is written to Parquet on a fourth. At most three chunks are in flight, so
memory does not grow with the file. The country boundaries are loaded (or prepared, with
a cold cache) while the file is hashed.

The store's write lock is taken only after the first table is read and checked: the whole
of a spreadsheet or vector file, or the first chunk of a CSV file. A slow or hostile file
(a zip bomb, a huge sheet) is refused, or times out, without ever holding the lock.

Examples
--------
>>> from chemearth.store import open_store                       # doctest: +SKIP
>>> from chemearth.ingest.descriptor import load_descriptor              # doctest: +SKIP
>>> report = ingest(open_store(), load_descriptor("meuse.toml"))  # doctest: +SKIP
>>> report.status, report.n_samples                               # doctest: +SKIP
('ingested', 155)
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import time
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from chemearth.errors import (
    ChemearthWarning,
    DescriptorError,
    EmptyFileError,
    IngestRejected,
    InputFileError,
    RowError,
)
from chemearth.ingest.columns import (
    ParsedColumn,
    column_table,
    load_flags,
    load_limits,
    parse_columns,
    sampled_mask,
    substitution_notes,
    undeclared_constants,
    wide_table,
)
from chemearth.ingest.descriptor import Descriptor
from chemearth.ingest.readers import RawTable, file_digest, iter_tables
from chemearth.ingest.samples import Problems, SampleFrame, find_duplicates, prepare_samples
from chemearth.store.base import Store, VersionRecord, VersionWriter

__all__ = [
    "IngestReport",
    "expand_replicates",
    "ingest",
    "reject_messages",
    "resolve_source",
    "text_columns",
]

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
    rejects: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["file", "row", "column", "value", "reason"])
    )
    warnings: list[str] = field(default_factory=list)
    #: what the ingest did that the user should know (substitution constants censored)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def n_rejected(self) -> int:
        """Number of rejected rows."""
        return 0 if self.rejects.empty else int(self.rejects["row"].nunique())

    def messages(self, limit: int = 20) -> list[str]:
        """One message per problem: file, row, column, reason."""
        return reject_messages(self.file, self.rejects, limit)


def reject_messages(file: str, rejects: pd.DataFrame, limit: int = 20) -> list[str]:
    """Messages naming the file, row, column, reason and value of the first ``limit`` rejects."""
    head = rejects.head(limit)
    out = []
    for row, column, value, reason in zip(
        head["row"].tolist(),
        head["column"].tolist(),
        head["value"].tolist(),
        head["reason"].tolist(),
        strict=True,
    ):
        text = str(reason) + (f" (value {value!r})" if str(value) else "")
        out.append(str(RowError(file, int(row), str(column) or None, text)))
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
    may_commit: Callable[[], bool] | None = None,
    publish: bool = True,
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
    may_commit : callable, optional
        Asked under the write lock, right before the commit; when it answers False the
        ingest is abandoned (:class:`~chemearth.errors.IngestRejected`), nothing written.
        A web upload passes one that answers False once its request has been given up.
    publish : bool
        False: commit the version unpublished, to be published with
        :meth:`Store.publish <chemearth.store.base.Store.publish>` once its grid layers
        are built. An unpublished version of the same file and descriptor, left by an
        earlier attempt, is then taken up again (status ``resumed``) instead of ingesting.

    Returns
    -------
    IngestReport

    Raises
    ------
    InputFileError, DescriptorError, RowError, UnitError
        When the file or descriptor cannot be used at all.
    IngestRejected
        With ``strict``, when any row is bad; when every row is bad; when ``may_commit``
        says no. The store is unchanged.
    """
    t0 = time.perf_counter()
    src = resolve_source(desc, path, data_dir)
    if not src.is_file():
        raise InputFileError(f"{src}: file not found")
    if boundaries is not None and desc.coordinates.located:
        _preload_boundaries(boundaries)  # prepared while the file is hashed and read
    digest = file_digest(src)
    desc_sha = hashlib.sha256(desc.text.encode()).hexdigest()
    existing = store.find_version(desc.dataset.id, digest.sha256, desc_sha)
    if existing is not None:
        return IngestReport(desc.dataset.id, existing, "unchanged", src.name)
    if not publish:
        left = store.unpublished()
        left = left[(left["dataset_id"] == desc.dataset.id)
                    & (left["source_sha256"] == digest.sha256)
                    & (left["descriptor_sha256"] == desc_sha)]
        if len(left):
            return IngestReport(desc.dataset.id, int(left["version"].max()), "resumed", src.name)
    tick = progress or (lambda step, done, total: None)
    ref_dir = data_dir if data_dir is not None else src.parent
    run = _Run(desc, src, strict, boundaries, load_limits(desc, ref_dir), tick, ref_dir)
    tables = iter_tables(src, desc.source, digest, text_columns(desc))
    try:
        # before the write lock: a whole spreadsheet or vector file, or a CSV's first chunk
        first = next(tables, None)
        if first is None:
            raise EmptyFileError(f"{src.name}: the file has a header but no data rows")
        run.first = run.prepare(first)
        del first  # the run owns the checked chunk now: it is freed once written
        with store.begin_version(desc.dataset.id) as writer:
            # under the store's write lock now: another process may have ingested it meanwhile
            existing = store.find_version(desc.dataset.id, digest.sha256, desc_sha)
            if existing is not None:
                return IngestReport(desc.dataset.id, existing, "unchanged", src.name)
            try:
                report = run.write(tables, writer)
            finally:
                run.close()  # before the writer commits or aborts: no write is left in flight
            record = _record(desc, src, digest.sha256, desc_sha, run, report)
            record.columns = run.columns
            report.warnings = _summarise_warnings(report.warnings)
            if may_commit is not None and not may_commit():
                raise IngestRejected(
                    f"{src.name}: the ingest was given up before its commit; nothing was ingested"
                )
            tick("committing", 0, 1)
            writer.publish = publish
            report.version = writer.commit(record, report.rejects, run.per_country())
    finally:
        run.close()
        tables.close()
    for w in report.warnings:  # after the commit: a warning never undoes an ingest
        warnings.warn(f"{src.name}: {w}", ChemearthWarning, stacklevel=2)
    report.seconds = time.perf_counter() - t0
    return report


def _preload_boundaries(path: Path) -> None:
    """Load (or, with a cold cache, prepare) the country boundaries on a thread of their own.

    The samples thread asks for the same file later and waits for this load instead of
    starting another (:meth:`CountryLocator.from_file
    <chemearth.reference.countries.CountryLocator.from_file>` loads a file once). An error
    is left for that later call to raise, with the row context of the ingest.
    """
    import threading

    def load() -> None:
        from chemearth.reference.countries import CountryLocator

        with contextlib.suppress(Exception):
            CountryLocator.from_file(path)

    threading.Thread(target=load, name="chemearth-boundaries", daemon=True).start()


def _summarise_warnings(messages: list[str]) -> list[str]:
    """One warning per kind: "columns 'A', 'B' and 3 more: <what>" instead of one per column.

    Examples
    --------
    >>> _summarise_warnings(["column 'A': no limit", "column 'B': no limit", "other"])
    ["columns 'A', 'B': no limit", 'other']
    """
    import re

    grouped: dict[str, list[str]] = {}
    out: list[str] = []
    for m in messages:
        match = re.match(r"column '(.+?)': (.*)$", m, re.S)
        if match is None:
            out.append(m)
            continue
        if match.group(2) not in grouped:
            grouped[match.group(2)] = []
        grouped[match.group(2)].append(match.group(1))
    summaries = []
    for what, cols in grouped.items():
        named = ", ".join(repr(c) for c in cols[:8])
        more = f" and {len(cols) - 8} more" if len(cols) > 8 else ""
        word = "column" if len(cols) == 1 else "columns"
        summaries.append(f"{word} {named}{more}: {what}")
    return summaries + out


def _write(
    writer: VersionWriter,
    samples: pa.Table,
    parsed: list[ParsedColumn],
    keep: np.ndarray,
    new_index: np.ndarray,
) -> None:
    """Lay out and write one chunk (on the writer thread)."""
    writer.write_samples(samples)
    if parsed:
        writer.write_measurements(wide_table(parsed, keep, new_index))


def text_columns(desc: Descriptor) -> frozenset[str]:
    s, co = desc.sample, desc.coordinates
    names = [
        s.id,
        s.date,
        s.medium_column,
        co.country_column,
        *s.attributes,
        *s.replicate_id_columns,
    ]
    return frozenset(n for n in names if n)


@dataclass
class _Batch:
    """One chunk of the file, checked: its samples, parsed columns and problems."""

    raw: RawTable
    frame: SampleFrame
    parsed: list[ParsedColumn]
    problems: Problems
    rejects: pd.DataFrame


class _Run:
    """State of one ingest across the chunks of a file."""

    def __init__(
        self,
        desc: Descriptor,
        src: Path,
        strict: bool,
        boundaries: Path | None,
        limits: dict[str, float],
        tick: Progress,
        ref_dir: Path,
    ) -> None:
        self.desc, self.src, self.strict, self.boundaries = desc, src, strict, boundaries
        self.limits, self.tick, self.ref_dir = limits, tick, ref_dir
        self.rejects: list[pd.DataFrame] = []
        self.ids: list[pa.Array] = []
        self.id_lines: list[np.ndarray] = []
        self.id_index: list[np.ndarray] = []
        self.countries: dict[str, list[int]] = {}
        self.warnings: list[str] = []
        self.free_countries: dict[str, int] = {}  # freely located points per country
        self.n_rows = self.n_samples = self.n_not_sampled = 0
        self.media: set[str] = set()
        self.checked = False
        self.recount = False
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chemearth-samples")
        self.column_pool = ThreadPoolExecutor(
            max_workers=max(2, os.cpu_count() or 2), thread_name_prefix="chemearth-columns"
        )
        self.reader_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chemearth-read")
        self.writer_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chemearth-write")
        self.writing: Future[None] | None = None
        self.columns: list[dict[str, object]] = []
        self.flags: pd.DataFrame | None = None
        self.substituted: dict[str, int] = {}
        #: the first chunk, checked before the store's write lock is taken
        self.first: _Batch | None = None

    def write(
        self, rest: Iterator[RawTable], writer: VersionWriter
    ) -> IngestReport:
        """Write the first chunk (:attr:`first`, checked already), then check and write the
        others. No chunk is referenced once handed to the writer thread: at most one is
        being read, one checked and one written."""
        batch, self.first = self.first, None
        if batch is not None:
            self.add(batch, writer)
        for raw in _ahead(rest, self.reader_pool):
            batch = self.prepare(raw)
            del raw
            self.add(batch, writer)
        del batch
        return self.finish(writer)

    def prepare(self, raw: RawTable) -> _Batch:
        """Validate and normalise one chunk of the file (nothing is written)."""
        desc = self.desc
        raw = expand_replicates(raw, desc)
        if not self.checked:
            _check_columns(raw, desc)
            self.flags = load_flags(desc, self.ref_dir)
            self.checked = True
        self.tick("ingesting", raw.bytes_read or self.src.stat().st_size, self.src.stat().st_size)
        problems = Problems()
        if self.flags is None:  # samples (CRS, countries) and columns in parallel
            column_problems = Problems()
            future = self.pool.submit(prepare_samples, raw, desc, problems, self.boundaries)
            parsed = parse_columns(
                raw, desc, None, column_problems, self.limits, None, self.column_pool
            )
            frame = future.result()
            problems.extend(column_problems)
        else:  # the flag file is matched by sample id: samples first
            frame = prepare_samples(raw, desc, problems, self.boundaries)
            parsed = parse_columns(
                raw, desc, frame, problems, self.limits, self.flags, self.column_pool
            )
        for _line, text, found, expected in raw.invalid:
            problems.index.append(-1)
            problems.column.append("")
            problems.value.append(text[:60])
            problems.reason.append(f"row has {found} fields where the header has {expected}")
        rejects = _rejects_frame(raw, problems, [r[0] for r in raw.invalid])
        if self.strict and not rejects.empty:
            self._strict_fail(rejects)
        return _Batch(raw, frame, parsed, problems, rejects)

    def add(self, b: _Batch, writer: VersionWriter) -> None:
        """Write one checked chunk (on the writer thread) and count it."""
        raw, frame, parsed, problems, rejects = b.raw, b.frame, b.parsed, b.problems, b.rejects
        n = raw.table.num_rows
        self.rejects.append(rejects)
        first = not self.columns and not self.n_rows
        for w in frame.warnings + [w for p in parsed for w in p.warnings]:
            if w not in self.warnings:
                self.warnings.append(w)
        for code, k in frame.free_countries.items():
            self.free_countries[code] = self.free_countries.get(code, 0) + k
        if first:  # the first chunk (the whole of most files) is searched for constants
            found = undeclared_constants(parsed, self.desc)
            self.warnings += [f"column {c!r}: {m}" for c, m in found]
        for p in parsed:
            self.substituted[p.spec.column] = self.substituted.get(p.spec.column, 0) + (
                p.n_substituted)
        keep = ~problems.mask(n)
        sampled = sampled_mask(parsed, n)
        start = self.n_samples
        new_index = start + np.cumsum(keep) - 1
        samples = frame.to_arrow(keep, sampled, raw.lines, start)
        self.ids.append(frame.sample_id)
        self.id_lines.append(raw.lines)
        self.id_index.append(np.where(keep, new_index, -1))
        per_row = np.zeros(n, dtype=np.int64)
        for p in parsed:
            per_row += ~np.isnan(p.value)
        per_row[~keep] = 0
        if parsed:
            self.columns = column_table(parsed)
        self.wait()  # one write in flight at a time keeps memory bounded
        self.writing = self.writer_pool.submit(_write, writer, samples, parsed, keep, new_index)
        self._count_countries(frame.country[keep], per_row[keep])
        self.media.update(m for m in pd.unique(frame.medium[keep]) if m)
        self.n_rows += n + len(raw.invalid)
        self.n_samples += int(keep.sum())
        self.n_not_sampled += int((keep & ~sampled).sum())

    def _count_countries(self, country: np.ndarray, measured: np.ndarray) -> None:
        """Add the samples and measurements of one chunk to the per-country counts
        (no country, None or "", counts under "")."""
        codes, uniques = pd.factorize(country)  # None is -1
        labels = ["", *(str(u) or "" for u in uniques)]
        n = np.bincount(codes + 1, minlength=len(labels))
        m = np.bincount(codes + 1, weights=measured, minlength=len(labels))
        for label, k, total in zip(labels, n.tolist(), m.tolist(), strict=True):
            if k:
                acc = self.countries.setdefault(label, [0, 0])
                acc[0] += k
                acc[1] += int(total)

    def wait(self) -> None:
        """Wait for the write in flight (re-raising its error)."""
        if self.writing is not None:
            self.writing.result()
            self.writing = None

    def close(self) -> None:
        """Stop the worker threads."""
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.column_pool.shutdown(wait=True, cancel_futures=True)
        self.reader_pool.shutdown(wait=True, cancel_futures=True)  # no read left running
        self.writer_pool.shutdown(wait=True, cancel_futures=True)

    def _strict_fail(self, rejects: pd.DataFrame) -> None:
        msgs = reject_messages(self.src.name, rejects, 20)
        raise IngestRejected(
            f"{self.src.name}: {rejects['row'].nunique()} bad row(s) (first at row "
            f"{int(rejects['row'].min())}); with --strict nothing was ingested.\n"
            + "\n".join(msgs),
            rejects=rejects.assign(file=self.src.name),
        )

    def finish(self, writer: VersionWriter) -> IngestReport:
        """Reject duplicate ids across the whole file; build the report."""
        self.wait()
        if self.n_rows == 0:
            raise EmptyFileError(f"{self.src.name}: the file has a header but no data rows")
        ids = pa.chunked_array(self.ids, pa.string())
        lines = np.concatenate(self.id_lines)
        index = np.concatenate(self.id_index)
        label = (
            self.desc.sample.id
            or "/".join(self.desc.sample.replicate_id_columns)
            or ("(row number)")
        )
        dup = find_duplicates(ids, lines, label)
        dup.insert(0, "file", self.src.name)
        if not dup.empty:
            if self.strict:
                self._strict_fail(dup)
            drop = index[np.isin(lines, dup["row"].to_numpy()) & (index >= 0)]
            drop = np.unique(drop)
            if len(drop):
                writer.exclude_samples(drop)
                self._forget(drop)
            self.rejects.append(dup)
        rejects = pd.concat(
            [r for r in self.rejects if not r.empty] or [self.rejects[0]], ignore_index=True
        )
        rejects = rejects.sort_values(["row", "column"], kind="stable").reset_index(drop=True)
        if self.n_samples == 0:
            head = "\n".join(reject_messages(self.src.name, rejects, 10))
            raise IngestRejected(
                f"{self.src.name}: every one of the {self.n_rows} rows was "
                f"rejected; nothing was ingested.\n{head}",
                rejects=rejects.assign(file=self.src.name),
            )
        if self.free_countries and not self.desc.dataset.countries:
            from chemearth.ingest.infer_crs import spread_warning

            spread = spread_warning(self.free_countries, self.desc.coordinates.tolerance_km)
            if spread:
                self.warnings.append(spread)
        report = IngestReport(
            self.desc.dataset.id,
            0,
            "ingested",
            self.src.name,
            n_rows=self.n_rows,
            rejects=rejects,
            warnings=self.warnings,
        )
        report.notes = substitution_notes(self.substituted, self.desc)
        report.n_samples = self.n_samples
        report.n_not_sampled = self.n_not_sampled
        report.n_measurements = writer.n_measurements
        report.n_censored = writer.n_censored
        return report

    def _forget(self, drop: np.ndarray) -> None:
        """After dropping samples with duplicate ids the writer recounts per country."""
        self.n_samples -= len(drop)
        self.recount = True

    def per_country(self) -> dict[str, tuple[int, int]] | None:
        """(samples, measurements) per country code; None when the writer must recount."""
        if self.recount:
            return None
        return {c: (v[0], v[1]) for c, v in self.countries.items()}


def _ahead(tables: Iterator[RawTable], pool: ThreadPoolExecutor) -> Iterator[RawTable]:
    """The tables of ``tables``, each read on ``pool`` while the one before is checked.

    At most one table is read ahead, so memory stays bounded. :meth:`_Run.close` waits
    for a read in flight before the caller closes ``tables``.
    """
    pending = pool.submit(next, tables, None)
    while True:
        raw = pending.result()
        if raw is None:
            return
        pending = pool.submit(next, tables, None)
        yield raw


def expand_replicates(raw: RawTable, desc: Descriptor) -> RawTable:
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
                cols[c[len(p) :]] = t.column(c)
        ids = desc.sample.replicate_id_columns
        if ids:
            cols["__sample_id"] = pc.cast(t.column(ids[i]), pa.string())
        cols["__replicate"] = pa.array([p.rstrip("_.")] * t.num_rows, pa.string())
        parts.append(pa.table(cols))
    table = pa.concat_tables(parts, promote_options="permissive")
    lines = np.concatenate([raw.lines] * len(prefixes))
    return dataclasses.replace(raw, table=table, lines=lines)


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


def _rejects_frame(raw: RawTable, problems: Problems, invalid_lines: list[int]) -> pd.DataFrame:
    if not problems:
        return pd.DataFrame(
            {
                "file": pd.Series(dtype=str),
                "row": pd.Series(dtype="int64"),
                "column": pd.Series(dtype=str),
                "value": pd.Series(dtype=str),
                "reason": pd.Series(dtype=str),
            }
        )
    idx = np.asarray(problems.index)
    rows = np.empty(len(idx), dtype=np.int64)
    rows[idx >= 0] = raw.lines[idx[idx >= 0]]
    rows[idx < 0] = invalid_lines
    df = pd.DataFrame(
        {
            "file": raw.name,
            "row": rows,
            "column": problems.column,
            "value": problems.value,
            "reason": problems.reason,
        }
    )
    return df.sort_values(["row", "column"], kind="stable").reset_index(drop=True)


def _record(
    desc: Descriptor, src: Path, sha: str, desc_sha: str, run: _Run, report: IngestReport
) -> VersionRecord:
    d = desc.dataset
    countries = sorted(c for c in run.countries if c) or list(d.countries)
    methods = sorted({c.method for c in desc.columns if c.method})
    return VersionRecord(
        dataset_id=d.id,
        title=d.title,
        organisation=d.organisation,
        countries=countries,
        media=sorted(run.media),
        depth_top_cm=d.depth_cm[0] if d.depth_cm else None,
        depth_bottom_cm=d.depth_cm[1] if d.depth_cm else None,
        sampling_years=[int(y) for y in d.sampling_years or []],
        methods=methods,
        licence=d.licence,
        citation=d.citation,
        url=d.url,
        sharing=d.sharing,
        sharing_organisations=list(d.sharing_organisations),
        embargoed_elements=list(d.embargoed_elements),
        kind=d.kind,
        same_samples_as=d.same_samples_as,
        source_file=str(src),
        source_sha256=sha,
        descriptor_sha256=desc_sha,
        descriptor=desc.text,
        n_rows=report.n_rows,
        n_samples=report.n_samples,
        n_rejected=report.n_rejected,
    )
