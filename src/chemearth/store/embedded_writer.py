"""Writing a version of the embedded store atomically (see :mod:`chemearth.store.embedded`).

A version's files are written to ``<home>/tmp/<uuid>/``, fsynced, renamed into
``<home>/data/dataset_id=<id>/version=<n>/`` and then registered in one DuckDB
transaction (:func:`register_version`). Only registered versions are read, so a write
killed at any point (even by SIGKILL) leaves the visible store as it was;
:func:`remove_uncommitted` removes the leftovers, under the store's write lock.

The test-only fault points (:func:`fault`) are ``before-rename`` and ``before-commit``
here and ``cells-before-rename`` in :meth:`EmbeddedStore.write_cells
<chemearth.store.embedded.EmbeddedStore.write_cells>`. This module does not import
:mod:`chemearth.store.embedded`; the store passes in its lock and connection factory.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TypeAlias, cast

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from chemearth.config import fault_point
from chemearth.store.base import SAMPLE_SCHEMA, VersionRecord, VersionWriter

__all__ = [
    "GENERATION_FILE",
    "Connect",
    "EmbeddedVersionWriter",
    "bump_generation",
    "fault",
    "frame",
    "fsync_dir",
    "quote",
    "register_version",
    "remove_uncommitted",
]

_FSYNC = True
#: The file in the store folder whose text changes whenever what readers of the latest
#: versions see changes (:meth:`EmbeddedStore.generation
#: <chemearth.store.embedded.EmbeddedStore.generation>`).
GENERATION_FILE = "generation"

#: Opens a read-write connection to the store's catalogue (closed when the block ends).
Connect: TypeAlias = Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]


class EmbeddedVersionWriter(VersionWriter):
    """Writes Parquet files under ``tmp/`` holding the store's write lock until done.

    Parameters
    ----------
    home : Path
        The store directory.
    dataset_id : str
        The dataset a new version is written of.
    lock : AbstractContextManager[None]
        The store's write lock, not yet entered; held from here until the commit or
        abort.
    connect : Connect
        Opens a read-write connection to the store's catalogue.
    """

    def __init__(
        self,
        home: Path,
        dataset_id: str,
        lock: AbstractContextManager[None],
        connect: Connect,
    ) -> None:
        self.home = home
        self.dataset_id = dataset_id
        self._connect = connect
        self._lock = lock
        self._lock.__enter__()
        try:
            with connect() as con:
                remove_uncommitted(home, con)
                row = con.execute(
                    "SELECT coalesce(max(version), 0) FROM versions WHERE dataset_id = ?",
                    [dataset_id],
                ).fetchone()
            self.version = int(row[0]) + 1 if row else 1
            self.tmp = home / "tmp" / uuid.uuid4().hex
            self.tmp.mkdir(parents=True)
        except BaseException:
            self._lock.__exit__(None, None, None)
            raise
        self.final = home / "data" / f"dataset_id={dataset_id}" / f"version={self.version}"
        self._samples = pq.ParquetWriter(
            self.tmp / "samples.parquet",
            SAMPLE_SCHEMA,
            compression="lz4",
            use_dictionary=["crs_orig", "country", "medium"],  # ids and numbers do not repeat
        )
        self._measurements: pq.ParquetWriter | None = None
        self._closed = False
        self.n_measurements = 0
        self.n_censored = 0

    def write_samples(self, table: pa.Table) -> None:
        self._samples.write_table(table.cast(SAMPLE_SCHEMA))

    def write_measurements(self, table: pa.Table) -> None:
        if self._measurements is None:
            self._measurements = pq.ParquetWriter(
                self.tmp / "measurements.parquet",
                table.schema,
                compression="lz4",
                write_statistics=["sample_index"],
            )
        self._measurements.write_table(table, row_group_size=1 << 18)
        self._count(table)

    def _count(self, table: pa.Table) -> None:
        for name in table.column_names:
            if name.startswith("v"):
                col = table.column(name)
                self.n_measurements += len(col) - col.null_count
            elif name.startswith("c"):
                self.n_censored += int(pc.sum(table.column(name)).as_py() or 0)

    def _close_files(self) -> None:
        if not self._closed:
            self._samples.close()
            if self._measurements is not None:
                self._measurements.close()
            self._closed = True

    def exclude_samples(self, sample_index: np.ndarray) -> None:
        self._close_files()
        drop = pa.array(np.asarray(sample_index, dtype=np.int32))
        for name in ("samples", "measurements"):
            src = self.tmp / f"{name}.parquet"
            if not src.exists():
                continue
            table = pq.read_table(src)
            keep = pc.invert(pc.is_in(table.column("sample_index"), value_set=drop))
            kept = table.filter(keep)
            if name == "measurements":
                self.n_measurements = self.n_censored = 0
                self._count(kept)
            pq.write_table(kept.cast(table.schema), src, compression="zstd")

    def commit(
        self,
        record: VersionRecord,
        rejects: pd.DataFrame | None,
        per_country: dict[str, tuple[int, int]] | None,
    ) -> int:
        self._close_files()
        if per_country is None:
            per_country = self._count_by_country()
        if rejects is not None and not rejects.empty:
            rejects.to_csv(self.tmp / "rejects.csv", index=False)
        if _FSYNC:
            for f in self.tmp.iterdir():
                with open(f, "rb") as fh:
                    os.fsync(fh.fileno())
        record.version = self.version
        record.n_measurements = self.n_measurements
        self.final.parent.mkdir(parents=True, exist_ok=True)
        fault("before-rename")
        os.rename(self.tmp, self.final)
        fsync_dir(self.final.parent)
        try:
            with self._connect() as con:
                register_version(con, self.home, record, self.final, per_country, self.publish)
        except BaseException:
            shutil.rmtree(self.final, ignore_errors=True)
            raise
        self.committed = True
        if self.publish:
            bump_generation(self.home)
        self._lock.__exit__(None, None, None)
        return self.version

    def _count_by_country(self) -> dict[str, tuple[int, int]]:
        s_path = str(self.tmp / "samples.parquet").replace("'", "''")
        m_path = str(self.tmp / "measurements.parquet").replace("'", "''")
        con = duckdb.connect(":memory:")
        try:
            vcols = (
                [
                    f.name
                    for f in pq.read_schema(self.tmp / "measurements.parquet")
                    if f.name.startswith("v")
                ]
                if (self.tmp / "measurements.parquet").exists()
                else []
            )
            count = " + ".join(f"count(m.{c})" for c in vcols) or "0"
            join = f"LEFT JOIN read_parquet('{m_path}') m USING (sample_index)" if vcols else ""
            rows = con.execute(f"""
                SELECT coalesce(s.country, ''), count(DISTINCT s.sample_index), {count}
                FROM read_parquet('{s_path}') s {join}
                GROUP BY 1""").fetchall()
        finally:
            con.close()
        return {str(c): (int(a), int(b)) for c, a, b in rows}

    def abort(self) -> None:
        if self.committed:
            return
        with contextlib.suppress(Exception):
            self._close_files()
        shutil.rmtree(self.tmp, ignore_errors=True)
        self._lock.__exit__(None, None, None)


def register_version(
    con: duckdb.DuckDBPyConnection,
    home: Path,
    record: VersionRecord,
    final: Path,
    per_country: dict[str, tuple[int, int]],
    published: bool = True,
) -> None:
    """Register the version whose files are in ``final`` (already renamed into place) in
    the catalogue, in one transaction; unpublished unless ``published``."""
    elements = sorted({str(c["element"]) for c in record.columns})
    con.execute("BEGIN TRANSACTION")
    fault("before-commit")
    con.execute(
        "INSERT INTO versions VALUES (" + ", ".join(["?"] * 31) + ")",
        [
            record.dataset_id,
            record.version,
            record.title,
            record.organisation,
            record.countries,
            record.media,
            record.depth_top_cm,
            record.depth_bottom_cm,
            record.sampling_years,
            record.methods,
            record.licence,
            record.citation,
            record.url,
            record.sharing,
            record.sharing_organisations,
            record.embargoed_elements,
            record.kind,
            record.same_samples_as,
            record.source_file,
            record.source_sha256,
            record.descriptor_sha256,
            record.descriptor,
            record.n_rows,
            record.n_samples,
            record.n_measurements,
            record.n_rejected,
            elements,
            record.ingested_at,
            str(final.relative_to(home)),
            json.dumps(record.extra),
            published,
        ],
    )
    for col in record.columns:
        con.execute(
            "INSERT INTO version_columns VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                record.dataset_id,
                record.version,
                col["column_id"],
                col["source_column"],
                col["element"],
                col["unit"],
                col["method"],
                col["digestion"],
                col["original_unit"],
                col["factor"],
                col["detection_limit"],
            ],
        )
    for c in sorted(per_country):
        n_s, n_m = per_country[c]
        con.execute(
            "INSERT INTO version_countries VALUES (?, ?, ?, ?, ?)",
            [record.dataset_id, record.version, c or None, n_s, n_m],
        )
    con.execute("COMMIT")


def bump_generation(home: Path) -> None:
    """Record that what readers of the latest versions see has changed (call after the
    catalogue transaction that changed it committed, so that a reader who sees the new
    generation reads the new catalogue).

    Only such changes count: a version committed unpublished, the cells of an unpublished
    version or a checkpoint of the catalogue's file change nothing a reader sees, and
    every reader's caches would be rebuilt for nothing (several times per upload).
    """
    tmp = home / f".{GENERATION_FILE}.{uuid.uuid4().hex}.tmp"
    tmp.write_text(uuid.uuid4().hex)
    os.replace(tmp, home / GENERATION_FILE)


def remove_uncommitted(home: Path, con: duckdb.DuckDBPyConnection) -> None:
    """Remove files of writes that never committed (call under the write lock)."""
    tmp = home / "tmp"
    if tmp.exists():
        shutil.rmtree(tmp, ignore_errors=True)
    for f in home.glob(f".{GENERATION_FILE}.*.tmp"):
        f.unlink(missing_ok=True)
    registered = {r[0] for r in con.execute("SELECT path FROM versions").fetchall()}
    data = home / "data"
    if not data.exists():
        return
    for d in data.glob("dataset_id=*/version=*"):
        if str(d.relative_to(home)) not in registered:
            shutil.rmtree(d, ignore_errors=True)
    # a cell table being written (``write_cells``, under the same lock) by a process that
    # was killed before renaming it into place
    for f in data.glob("dataset_id=*/version=*/cells-*.tmp"):
        f.unlink(missing_ok=True)


def fault(point: str) -> None:
    """Fault injection for the atomicity tests: ``CHEMEARTH_FAULT=<point>`` pauses there.

    The tests kill the process (SIGKILL) while it waits, to prove that a write killed at
    that point leaves the store as it was.
    """
    wanted, flag = fault_point()
    if wanted == point:
        flag.touch()
        time.sleep(3600)


def frame(result: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """A query result as a pandas frame (through Arrow, keeping list and string types)."""
    return cast(pd.DataFrame, result.to_arrow_table().to_pandas())


def quote(path: Path) -> str:
    """``path`` as a quoted SQL string literal."""
    return "'" + str(path).replace("'", "''") + "'"


def fsync_dir(path: Path) -> None:
    """Flush directory ``path`` (a rename in it) to disk."""
    if not _FSYNC:
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
