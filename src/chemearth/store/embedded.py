"""The embedded store: DuckDB catalogue plus immutable Parquet files in one directory.

Layout (``docs/conventions.md``)::

    <home>/catalog.duckdb
    <home>/data/dataset_id=<id>/version=<n>/samples.parquet
    <home>/data/dataset_id=<id>/version=<n>/measurements.parquet
    <home>/data/dataset_id=<id>/version=<n>/rejects.csv
    <home>/tmp/                      files of a write in progress

A version is written to ``tmp/``, renamed into ``data/`` and then registered in one
DuckDB transaction. Only registered versions are read, so a write killed at any point
(even by SIGKILL) leaves the visible store as it was; the leftovers are removed by the
next writer, under the store's lock. That writing is in
:mod:`chemearth.store.embedded_writer`; this module holds the store itself: opening and
locking the catalogue, the reads, the catalogue summaries and the grid-cell tables.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from chemearth.errors import NotFoundError, StoreError
from chemearth.store import parts_files
from chemearth.store.base import (
    MEASUREMENT_COLUMNS,
    SAMPLE_SCHEMA,
    JobHandle,
    Store,
    VersionWriter,
)
from chemearth.store.duckdb_shared import shared_cursor
from chemearth.store.embedded_files import (
    FileJobs,
    append_line,
    read_document,
    read_lines,
    update_document,
)
from chemearth.store.embedded_writer import (
    GENERATION_FILE,
    EmbeddedVersionWriter,
    bump_generation,
    fault,
    frame,
    quote,
    remove_uncommitted,
)
from chemearth.store.media import SiteMedia

__all__ = ["EmbeddedStore"]

_SCHEMA_VERSION = 2
_DDL = """
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE IF NOT EXISTS versions (
    dataset_id VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    title VARCHAR, organisation VARCHAR, countries VARCHAR[], media VARCHAR[],
    depth_top_cm DOUBLE, depth_bottom_cm DOUBLE, sampling_years INTEGER[], methods VARCHAR[],
    licence VARCHAR, citation VARCHAR, url VARCHAR, sharing VARCHAR,
    sharing_organisations VARCHAR[], embargoed_elements VARCHAR[], kind VARCHAR,
    same_samples_as VARCHAR, source_file VARCHAR, source_sha256 VARCHAR,
    descriptor_sha256 VARCHAR, descriptor VARCHAR,
    n_rows BIGINT, n_samples BIGINT, n_measurements BIGINT, n_rejected BIGINT,
    elements VARCHAR[], ingested_at TIMESTAMPTZ, path VARCHAR, extra JSON,
    PRIMARY KEY (dataset_id, version)
);
CREATE TABLE IF NOT EXISTS version_columns (
    dataset_id VARCHAR, version INTEGER, column_id INTEGER, source_column VARCHAR,
    element VARCHAR, unit VARCHAR, method VARCHAR, digestion VARCHAR, original_unit VARCHAR,
    factor DOUBLE, detection_limit DOUBLE
);
CREATE TABLE IF NOT EXISTS version_cells (
    dataset_id VARCHAR, version INTEGER, grid VARCHAR, n_rows BIGINT, built_at TIMESTAMPTZ,
    PRIMARY KEY (dataset_id, version, grid)
);
CREATE TABLE IF NOT EXISTS version_countries (
    dataset_id VARCHAR, version INTEGER, country VARCHAR,
    n_samples BIGINT, n_measurements BIGINT
);
"""
_MIGRATIONS = (
    # 2: versions are stored unpublished until their grid layers are built
    "ALTER TABLE versions ADD COLUMN IF NOT EXISTS published BOOLEAN DEFAULT TRUE",
)
_LATEST = """
SELECT v.* EXCLUDE (published) FROM versions v
JOIN (SELECT dataset_id, max(version) AS version FROM versions WHERE published
      GROUP BY dataset_id) l
USING (dataset_id, version)
"""
#: The audit log's file in the store folder.
AUDIT_FILE = "audit.log"
#: Longest wait for another process's DuckDB file lock before giving up.
LOCK_WAIT_S = 10.0


class EmbeddedStore(Store):
    """DuckDB + Parquet store in directory ``home``.

    Parameters
    ----------
    home : Path
        The store directory; created when missing.
    read_only : bool
        Open the catalogue read-only (several readers may share the store).

    Examples
    --------
    >>> import tempfile
    >>> store = EmbeddedStore(Path(tempfile.mkdtemp()) / "store")
    >>> store.datasets().empty
    True
    """

    def __init__(self, home: Path, read_only: bool = False) -> None:
        self.home = Path(home)
        self.read_only = read_only
        # folders of committed versions, which never change: (dataset_id, version) -> (v, path)
        self._paths_of: dict[tuple[str, int], tuple[int, str]] = {}
        self._generation: tuple[tuple[int, ...], str] | None = None
        try:
            self.home.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"store directory {self.home} cannot be created: {exc}") from None
        self._db = self.home / "catalog.duckdb"
        if not read_only:
            with self._write_lock(), self._connect() as con:
                con.execute(_DDL)
                for sql in _MIGRATIONS:
                    con.execute(sql)
                con.execute(
                    "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)",
                    [str(_SCHEMA_VERSION)],
                )
            with self._write_lock(), self._connect() as con:
                remove_uncommitted(self.home, con)

    # ------------------------------------------------------------------ plumbing

    @contextlib.contextmanager
    def _connect(self, read_only: bool | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor on this process's one connection to the catalogue.

        DuckDB refuses a second connection to a file open in the same process with another
        configuration, so every thread of a process shares one: read-write when the store
        is writable (its readers then read committed snapshots while a writer writes),
        read-only otherwise. It is closed when its last user is done, so that other
        processes can open the file between operations.
        """
        ro = self.read_only if read_only is None else read_only
        if ro and not self._db.exists():
            con = duckdb.connect(":memory:")
            con.execute(_DDL)
            for sql in _MIGRATIONS:
                con.execute(sql)
            try:
                yield con
            finally:
                con.close()
            return
        with shared_cursor(self._db, rw=not self.read_only, opener=self._open) as cur:
            yield cur

    def _open(self, read_only: bool) -> duckdb.DuckDBPyConnection:
        """Connect; while another process holds DuckDB's file lock (a connection is
        open for a moment per operation), wait up to :data:`LOCK_WAIT_S` seconds."""
        deadline = time.monotonic() + LOCK_WAIT_S
        pause = 0.005
        while True:
            try:
                return duckdb.connect(str(self._db), read_only=read_only)
            except duckdb.IOException as exc:
                first = str(exc).splitlines()[0]
                if "lock" not in first.lower() or time.monotonic() > deadline:
                    raise StoreError(
                        f"store {self.home} is in use by another process or unreadable: {first}"
                    ) from None
                time.sleep(pause)
                pause = min(pause * 2, 0.2)

    @contextlib.contextmanager
    def _write_lock(self) -> Iterator[None]:
        lock = open(self.home / ".write.lock", "w")  # noqa: SIM115 - held for the block
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
            lock.close()

    # ------------------------------------------------------------------ writing

    def find_version(
        self, dataset_id: str, source_sha256: str, descriptor_sha256: str
    ) -> int | None:
        with self._connect(read_only=True) as con:
            row = con.execute(
                "SELECT max(version) FROM versions WHERE dataset_id = ? AND source_sha256 = ? "
                "AND descriptor_sha256 = ? AND published",
                [dataset_id, source_sha256, descriptor_sha256],
            ).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def begin_version(self, dataset_id: str) -> VersionWriter:
        if self.read_only:
            raise StoreError(f"store {self.home} is open read-only")
        return EmbeddedVersionWriter(self.home, dataset_id, self._write_lock(), self._connect)

    def _registered(self, dataset_id: str, version: int) -> bool:
        with self._connect(read_only=True) as con:
            row = con.execute(
                "SELECT count(*) FROM versions WHERE dataset_id = ? AND version = ?",
                [dataset_id, version],
            ).fetchone()
        return bool(row and row[0])

    # ------------------------------------------------------------------ reading

    def datasets(self, all_versions: bool = False) -> pd.DataFrame:
        sql = (
            "SELECT * EXCLUDE (published) FROM versions WHERE published"
            if all_versions
            else _LATEST
        )
        with self._connect(read_only=True) as con:
            return frame(con.execute(sql + " ORDER BY dataset_id, version"))

    def _version(
        self, con: duckdb.DuckDBPyConnection, dataset_id: str, version: int | None
    ) -> tuple[int, str]:
        cache = self._paths_of
        if version is not None and (dataset_id, version) in cache:  # committed: immutable
            return cache[(dataset_id, version)]
        if version is None:
            row = con.execute(
                "SELECT version, path FROM versions WHERE dataset_id = ? AND published "
                "ORDER BY version DESC LIMIT 1",
                [dataset_id],
            ).fetchone()
        else:
            row = con.execute(
                "SELECT version, path FROM versions WHERE dataset_id = ? AND version = ?",
                [dataset_id, version],
            ).fetchone()
        if row is None:
            what = f"dataset {dataset_id!r}" + (f" version {version}" if version else "")
            raise NotFoundError(f"{what} is not in the store")
        found = int(row[0]), str(row[1])
        cache[(dataset_id, found[0])] = found
        return found

    def _paths(
        self, con: duckdb.DuckDBPyConnection, dataset_id: str | None, version: int | None
    ) -> list[Path]:
        if dataset_id is not None:
            return [self.home / self._version(con, dataset_id, version)[1]]
        sql = _LATEST.replace("v.* EXCLUDE (published)", "v.path") + " ORDER BY 1"
        rows = con.execute(sql).fetchall()
        return [self.home / r[0] for r in rows]

    @staticmethod
    def _parquet(paths: list[Path], name: str) -> str:
        files = ", ".join("'" + str(p / name).replace("'", "''") + "'" for p in paths)
        return (
            f"read_parquet([{files}], hive_partitioning = true, "
            "hive_types = {'dataset_id': VARCHAR, 'version': INTEGER})"
        )

    def samples(self, dataset_id: str | None = None, version: int | None = None) -> pd.DataFrame:
        with self._connect(read_only=True) as con:
            paths = self._paths(con, dataset_id, version)
            if not paths:
                return pd.DataFrame(columns=["dataset_id", "version", *SAMPLE_SCHEMA.names])
            return frame(
                con.execute(
                    f"SELECT * FROM {self._parquet(paths, 'samples.parquet')} "
                    "ORDER BY dataset_id, version, sample_index"
                )
            )

    def measurements(
        self,
        dataset_id: str | None = None,
        version: int | None = None,
        elements: list[str] | None = None,
        limit: int | None = None,
    ) -> pd.DataFrame:
        with self._connect(read_only=True) as con:
            versions = self._version_keys(con, dataset_id, version)
            sql, params = self._measurement_sql(con, versions, elements)
            if sql is None:
                return pd.DataFrame(columns=list(MEASUREMENT_COLUMNS))
            lim = f" LIMIT {int(limit)}" if limit is not None else ""
            order = " ORDER BY dataset_id, version, sample_index, element, method"
            return frame(con.execute(sql + order + lim, params))

    def _version_keys(
        self, con: duckdb.DuckDBPyConnection, dataset_id: str | None, version: int | None
    ) -> list[tuple[str, int, str]]:
        if dataset_id is not None:
            v, path = self._version(con, dataset_id, version)
            return [(dataset_id, v, path)]
        rows = con.execute(
            _LATEST.replace("v.* EXCLUDE (published)", "v.dataset_id, v.version, v.path")
            + " ORDER BY 1"
        ).fetchall()
        return [(str(a), int(b), str(c)) for a, b, c in rows]

    def _measurement_sql(
        self,
        con: duckdb.DuckDBPyConnection,
        versions: list[tuple[str, int, str]],
        elements: list[str] | None,
    ) -> tuple[str | None, list[Any]]:
        """SQL turning the wide per-version files into the long measurement table."""
        parts: list[str] = []
        params: list[Any] = []
        for ds, ver, path in versions:
            m_file = self.home / path / "measurements.parquet"
            if not m_file.exists():
                continue
            cols = con.execute(
                "SELECT column_id, element, unit, method, digestion, original_unit, factor, "
                "detection_limit, source_column FROM version_columns "
                "WHERE dataset_id = ? AND version = ? ORDER BY column_id",
                [ds, ver],
            ).fetchall()
            m_sql = quote(m_file)
            s_sql = quote(self.home / path / "samples.parquet")
            for k, element, unit, method, digestion, ounit, factor, dl, source in cols:
                if elements and element not in elements:
                    continue
                parts.append(
                    f"SELECT ?::VARCHAR AS dataset_id, ?::INTEGER AS version, s.sample_id, "
                    f"s.longitude, s.latitude, s.country::VARCHAR AS country, "
                    f"s.medium::VARCHAR AS medium, m.sample_index, ?::VARCHAR AS element, "
                    f"m.v{k} AS value, ?::VARCHAR AS unit, m.c{k} AS censored, "
                    f"CASE WHEN m.c{k} THEN m.v{k} ELSE ?::DOUBLE END AS detection_limit, "
                    f"?::VARCHAR AS method, ?::VARCHAR AS digestion, "
                    f"coalesce(m.o{k}, m.v{k} / ?::DOUBLE) AS original_value, "
                    f"?::VARCHAR AS original_unit, ?::VARCHAR AS source_column, "
                    f"CASE m.q{k} WHEN 1 THEN '<' WHEN 2 THEN '>' END AS qualifier "
                    f"FROM read_parquet({m_sql}) m JOIN read_parquet({s_sql}) s "
                    f"USING (sample_index) WHERE m.v{k} IS NOT NULL"
                )
                params += [ds, ver, element, unit, dl, method, digestion, factor, ounit, source]
        if not parts:
            return None, []
        return "SELECT * FROM (" + " UNION ALL ".join(parts) + ")", params

    def measurement_columns(self, dataset_id: str, version: int | None = None) -> pd.DataFrame:
        with self._connect(read_only=True) as con:
            v, _ = self._version(con, dataset_id, version)
            return frame(
                con.execute(
                    "SELECT column_id, element, unit, method, digestion, original_unit, factor, "
                    "detection_limit, source_column FROM version_columns "
                    "WHERE dataset_id = ? AND version = ? ORDER BY column_id",
                    [dataset_id, v],
                )
            )

    def column_values(
        self, dataset_id: str, version: int | None, column_id: int
    ) -> dict[str, np.ndarray]:
        path = self._path_of(dataset_id, version)
        f = self.home / path / "measurements.parquet"
        k = int(column_id)
        t = pq.read_table(f, columns=["sample_index", f"v{k}", f"c{k}"])
        t = t.filter(pc.is_valid(t.column(f"v{k}")))
        return {
            "sample_index": t.column("sample_index").to_numpy(),
            "value": t.column(f"v{k}").to_numpy(),
            "censored": t.column(f"c{k}").to_numpy(zero_copy_only=False).astype(bool),
        }

    def _path_of(self, dataset_id: str, version: int | None) -> str:
        """The folder of a version; without a connection when it is known already."""
        cache = self._paths_of
        if version is not None and (dataset_id, version) in cache:
            return cache[(dataset_id, version)][1]
        with self._connect(read_only=True) as con:
            return self._version(con, dataset_id, version)[1]

    def write_cells(
        self,
        dataset_id: str,
        version: int | None,
        grid: str,
        table: pa.Table | Iterable[pa.Table],
    ) -> int:
        if self.read_only:
            raise StoreError(f"store {self.home} is open read-only")
        tables = iter([table]) if isinstance(table, pa.Table) else iter(table)
        with self._write_lock():
            with self._connect(read_only=True) as con:
                v, path = self._version(con, dataset_id, version)
            final = self.home / path / f"cells-{grid}.parquet"
            tmp = final.with_suffix(f".{uuid.uuid4().hex}.tmp")
            rows = 0
            try:
                writer: pq.ParquetWriter | None = None
                for t in tables:
                    if writer is None:
                        writer = pq.ParquetWriter(tmp, t.schema, compression="zstd")
                    writer.write_table(t.cast(writer.schema), row_group_size=1 << 18)
                    rows += t.num_rows
                if writer is None:
                    raise StoreError(f"no cell table given for {dataset_id} on {grid}")
                writer.close()
                fault("cells-before-rename")
                os.replace(tmp, final)
            finally:
                tmp.unlink(missing_ok=True)
            with self._connect() as con:
                con.execute(
                    "INSERT OR REPLACE INTO version_cells VALUES (?, ?, ?, ?, now())",
                    [dataset_id, v, grid, rows],
                )
                row = con.execute(
                    "SELECT published FROM versions WHERE dataset_id = ? AND version = ?",
                    [dataset_id, v],
                ).fetchone()
            if row is not None and row[0]:  # an unpublished version's cells are not read
                bump_generation(self.home)
            return rows

    def cell_versions(self) -> pd.DataFrame:
        with self._connect(read_only=True) as con:
            return frame(
                con.execute(
                    "SELECT dataset_id, version, grid, n_rows FROM version_cells "
                    "ORDER BY dataset_id, version, grid"
                )
            )

    def cells(
        self,
        grid: str = "global",
        dataset_id: str | None = None,
        element: str | None = None,
        level_m: int | None = None,
        medium: str | None = None,
        limit: int | None = None,
    ) -> pd.DataFrame:
        with self._connect(read_only=True) as con:
            rows = con.execute(
                f"SELECT l.path FROM ({_LATEST}) l JOIN version_cells c "
                "USING (dataset_id, version) WHERE c.grid = ?"
                + (" AND l.dataset_id = ?" if dataset_id else "")
                + " ORDER BY 1",
                [grid, dataset_id] if dataset_id else [grid],
            ).fetchall()
            if not rows:
                return pd.DataFrame()
            files = [self.home / r[0] / f"cells-{grid}.parquet" for r in rows]
            where, params = ["TRUE"], []
            for col, val in (("element", element), ("level_m", level_m), ("medium", medium)):
                if val is not None:
                    where.append(f"{col} = ?")
                    params.append(val)
            lim = f" LIMIT {int(limit)}" if limit is not None else ""
            src = ", ".join(quote(f) for f in files)
            return frame(
                con.execute(
                    f"SELECT * FROM read_parquet([{src}], hive_partitioning = true, "
                    "hive_types = {'dataset_id': VARCHAR, 'version': INTEGER}) "
                    f"WHERE {' AND '.join(where)} "
                    f"ORDER BY dataset_id, level_m DESC, element, medium, cell, method, unit{lim}",
                    params,
                )
            )

    def cell_inventory(self) -> pd.DataFrame:
        with self._connect(read_only=True) as con:
            rows = con.execute(
                f"SELECT l.path, c.grid FROM ({_LATEST}) l JOIN version_cells c "
                "USING (dataset_id, version) ORDER BY 1, 2"
            ).fetchall()
            if not rows:
                return pd.DataFrame(
                    columns=[
                        "dataset_id", "version", "grid", "element", "medium", "method",
                        "unit", "level_m", "cells", "cells_n3",
                    ]
                )
            src = ", ".join(quote(self.home / p / f"cells-{g}.parquet") for p, g in rows)
            return frame(
                con.execute(
                    f"SELECT dataset_id, version, grid::VARCHAR AS grid, "
                    "element::VARCHAR AS element, medium::VARCHAR AS medium, "
                    "method::VARCHAR AS method, unit::VARCHAR AS unit, level_m, "
                    "count(*) AS cells, count(*) FILTER (WHERE n >= 3) AS cells_n3 "
                    f"FROM read_parquet([{src}], hive_partitioning = true, "
                    "hive_types = {'dataset_id': VARCHAR, 'version': INTEGER}) "
                    "GROUP BY ALL ORDER BY dataset_id, grid, element, medium, method, "
                    "level_m DESC"
                )
            )

    def generation(self) -> object:
        """The text of the store's ``generation`` file, replaced by every write that
        changes what readers of the latest versions see (a version committed published or
        published, cells of a published version written); "" before the
        first. Not the catalogue file's time stamp: that changes with every write,
        unpublished ones and checkpoints too, and every reader's caches were rebuilt
        several times per upload. Re-read only when replaced (else one ``stat``)."""
        try:
            st = os.stat(path := self.home / GENERATION_FILE)
            seen, known = (st.st_ino, st.st_mtime_ns, st.st_ctime_ns, st.st_size), self._generation
            if known is None or known[0] != seen:  # replaced after the stat: re-read next call
                self._generation = known = (seen, path.read_text())
        except FileNotFoundError:
            return ""
        return known[1]

    def dataset_summary(self) -> pd.DataFrame:
        sql = f"""
            SELECT dataset_id, version, title, organisation, n_samples AS samples,
                   len(elements) AS elements, n_measurements AS data_items,
                   array_to_string(countries, ' ') AS countries,
                   array_to_string(media, ', ') AS media, licence, sharing, n_rejected
            FROM ({_LATEST}) ORDER BY dataset_id
        """
        with self._connect(read_only=True) as con:
            return frame(con.execute(sql))

    def country_summary(self) -> pd.DataFrame:
        sql = f"""
            SELECT coalesce(c.country, '?') AS country, count(DISTINCT c.dataset_id) AS datasets,
                   sum(c.n_samples)::BIGINT AS samples,
                   sum(c.n_measurements)::BIGINT AS data_items
            FROM version_countries c JOIN ({_LATEST}) l USING (dataset_id, version)
            WHERE l.kind = 'survey' AND coalesce(l.same_samples_as, '') = ''
            GROUP BY 1 ORDER BY 1
        """
        with self._connect(read_only=True) as con:
            return frame(con.execute(sql))

    def version_tables(
        self, dataset_id: str, version: int | None = None
    ) -> tuple[pa.Table, pa.Table | None]:
        with self._connect(read_only=True) as con:
            _, path = self._version(con, dataset_id, version)
        m_file = self.home / path / "measurements.parquet"
        samples = pq.read_table(self.home / path / "samples.parquet").select(
            SAMPLE_SCHEMA.names)
        return samples, (pq.read_table(m_file) if m_file.exists() else None)

    # ------------------------------------------------------------------ publishing

    @property
    def location(self) -> str:
        return str(self.home)

    def publish(self, dataset_id: str, version: int) -> None:
        if self.read_only:
            raise StoreError(f"store {self.home} is open read-only")
        with self._write_lock(), self._connect() as con:
            if not con.execute(
                "SELECT count(*) FROM versions WHERE dataset_id = ? AND version = ?",
                [dataset_id, version],
            ).fetchone()[0]:  # type: ignore[index]
                raise NotFoundError(f"dataset {dataset_id!r} version {version} is not in the store")
            fault("before-publish")
            con.execute(
                "UPDATE versions SET published = TRUE WHERE dataset_id = ? AND version = ?",
                [dataset_id, version],
            )
            bump_generation(self.home)

    def unpublished(self) -> pd.DataFrame:
        with self._connect(read_only=True) as con:
            return frame(
                con.execute(
                    "SELECT dataset_id, version, source_sha256, descriptor_sha256, ingested_at "
                    "FROM versions WHERE NOT published ORDER BY dataset_id, version"
                )
            )

    def discard(self, dataset_id: str, version: int) -> None:
        if self.read_only:
            raise StoreError(f"store {self.home} is open read-only")
        with self._write_lock(), self._connect() as con:
            row = con.execute(
                "SELECT published, path FROM versions WHERE dataset_id = ? AND version = ?",
                [dataset_id, version],
            ).fetchone()
            if row is None:
                return
            if row[0]:
                raise StoreError(
                    f"dataset {dataset_id!r} version {version} is published; it is not discarded"
                )
            con.execute("BEGIN TRANSACTION")
            for table in ("versions", "version_columns", "version_cells", "version_countries"):
                con.execute(
                    f"DELETE FROM {table} WHERE dataset_id = ? AND version = ?",
                    [dataset_id, version],
                )
            con.execute("COMMIT")
        self._paths_of.pop((dataset_id, version), None)
        import shutil

        shutil.rmtree(self.home / str(row[1]), ignore_errors=True)

    # ------------------------------------------------------------ documents, audit, jobs

    def read_document(self, name: str) -> tuple[object, str | None]:
        return read_document(self.home / _plain(name))

    def update_document(self, name: str, update: Callable[[str | None], str]) -> None:
        update_document(self.home / _plain(name), update)

    def write_parts(self, collection: str, parts: Mapping[str, bytes | None],
                    manifest: Mapping[str, Any]) -> None:
        if self.read_only:
            raise StoreError(f"store {self.home} is open read-only")
        with self._write_lock():
            parts_files.write_parts(self._collection(collection), parts, manifest)
            bump_generation(self.home)

    def read_part(self, collection: str, name: str) -> bytes | None:
        return parts_files.read_part(self._collection(collection), name)

    def read_manifest(self, collection: str) -> dict[str, Any] | None:
        return parts_files.read_manifest(self._collection(collection))

    def list_parts(self, collection: str) -> list[str]:
        return parts_files.list_parts(self._collection(collection))

    def site_media(self) -> SiteMedia:
        from chemearth.store.media_files import FileMedia

        return FileMedia(self.home, self._write_lock, self._connect, self.read_only)

    def _collection(self, name: str) -> Path:
        return self.home / "collections" / parts_files.check_name(name, "collection")

    def append_audit(self, line: str) -> None:
        append_line(self.home / AUDIT_FILE, line)

    def audit_lines(self) -> Iterator[str]:
        return read_lines(self.home / AUDIT_FILE)

    def submit_job(
        self,
        kind: str,
        payload: dict[str, Any],
        files: dict[str, Path] | None = None,
        *,
        dataset_id: str = "",
        actor: str = "",
        organisation: str = "",
        token_id: str = "",
    ) -> str:
        return FileJobs(self.home).submit(
            kind, payload, files, dataset_id=dataset_id, actor=actor,
            organisation=organisation, token_id=token_id,
        )

    def claim_job(self, worker: str, max_attempts: int = 3) -> JobHandle | None:
        return FileJobs(self.home).claim(worker, max_attempts)

    def job(self, job_id: str) -> dict[str, Any] | None:
        return FileJobs(self.home).job(job_id)

    def jobs(self, limit: int = 100) -> pd.DataFrame:
        return FileJobs(self.home).jobs(limit)

    def rejects(self, dataset_id: str, version: int | None = None) -> pd.DataFrame:
        with self._connect(read_only=True) as con:
            _, path = self._version(con, dataset_id, version)
        f = self.home / path / "rejects.csv"
        if not f.exists():
            return pd.DataFrame(columns=["file", "row", "column", "value", "reason"])
        return pd.read_csv(f, dtype={"value": str}, keep_default_na=False)


def _plain(name: str) -> str:
    """A document name that is a plain file name (never a path)."""
    if not name or "/" in name or name.startswith("."):
        raise StoreError(f"document name {name!r} is not a plain file name")
    return name
