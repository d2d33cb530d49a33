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
next writer, under the store's lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, cast

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from chemearth.config import fault_point
from chemearth.errors import NotFoundError, StoreError
from chemearth.store.base import (
    MEASUREMENT_COLUMNS,
    SAMPLE_SCHEMA,
    Store,
    VersionRecord,
    VersionWriter,
)

__all__ = ["EmbeddedStore"]

_SCHEMA_VERSION = 1
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
_LATEST = """
SELECT v.* FROM versions v
JOIN (SELECT dataset_id, max(version) AS version FROM versions GROUP BY dataset_id) l
USING (dataset_id, version)
"""
_FSYNC = True
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
        try:
            self.home.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"store directory {self.home} cannot be created: {exc}") from None
        self._db = self.home / "catalog.duckdb"
        if not read_only:
            with self._connect() as con:
                con.execute(_DDL)
                con.execute(
                    "INSERT INTO meta VALUES ('schema_version', ?) ON CONFLICT DO NOTHING",
                    [str(_SCHEMA_VERSION)],
                )
            with self._write_lock(), self._connect() as con:
                self._cleanup(con)

    # ------------------------------------------------------------------ plumbing

    @contextlib.contextmanager
    def _connect(self, read_only: bool | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        ro = self.read_only if read_only is None else read_only
        if ro and not self._db.exists():
            con = duckdb.connect(":memory:")
            con.execute(_DDL)
        else:
            con = self._open(ro)
        try:
            yield con
        finally:
            con.close()

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

    def _cleanup(self, con: duckdb.DuckDBPyConnection) -> None:
        """Remove files of writes that never committed (call under the write lock)."""
        tmp = self.home / "tmp"
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
        registered = {r[0] for r in con.execute("SELECT path FROM versions").fetchall()}
        data = self.home / "data"
        if not data.exists():
            return
        for d in data.glob("dataset_id=*/version=*"):
            if str(d.relative_to(self.home)) not in registered:
                shutil.rmtree(d, ignore_errors=True)

    # ------------------------------------------------------------------ writing

    def find_version(
        self, dataset_id: str, source_sha256: str, descriptor_sha256: str
    ) -> int | None:
        with self._connect(read_only=True) as con:
            row = con.execute(
                "SELECT max(version) FROM versions WHERE dataset_id = ? AND source_sha256 = ? "
                "AND descriptor_sha256 = ?",
                [dataset_id, source_sha256, descriptor_sha256],
            ).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def begin_version(self, dataset_id: str) -> VersionWriter:
        if self.read_only:
            raise StoreError(f"store {self.home} is open read-only")
        return _EmbeddedVersionWriter(self, dataset_id)

    def _register(
        self, record: VersionRecord, final: Path, per_country: dict[str, tuple[int, int]]
    ) -> None:
        elements = sorted({str(c["element"]) for c in record.columns})
        with self._connect() as con:
            con.execute("BEGIN TRANSACTION")
            _fault("before-commit")
            con.execute(
                "INSERT INTO versions VALUES (" + ", ".join(["?"] * 30) + ")",
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
                    str(final.relative_to(self.home)),
                    json.dumps(record.extra),
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

    def _registered(self, dataset_id: str, version: int) -> bool:
        with self._connect(read_only=True) as con:
            row = con.execute(
                "SELECT count(*) FROM versions WHERE dataset_id = ? AND version = ?",
                [dataset_id, version],
            ).fetchone()
        return bool(row and row[0])

    # ------------------------------------------------------------------ reading

    def datasets(self, all_versions: bool = False) -> pd.DataFrame:
        sql = "SELECT * FROM versions" if all_versions else _LATEST
        with self._connect(read_only=True) as con:
            return _frame(con.execute(sql + " ORDER BY dataset_id, version"))

    def _version(
        self, con: duckdb.DuckDBPyConnection, dataset_id: str, version: int | None
    ) -> tuple[int, str]:
        cache = self._paths_of
        if version is not None and (dataset_id, version) in cache:  # committed: immutable
            return cache[(dataset_id, version)]
        if version is None:
            row = con.execute(
                "SELECT version, path FROM versions WHERE dataset_id = ? "
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
        rows = con.execute(_LATEST.replace("v.*", "v.path") + " ORDER BY 1").fetchall()
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
            return _frame(
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
            return _frame(con.execute(sql + order + lim, params))

    def _version_keys(
        self, con: duckdb.DuckDBPyConnection, dataset_id: str | None, version: int | None
    ) -> list[tuple[str, int, str]]:
        if dataset_id is not None:
            v, path = self._version(con, dataset_id, version)
            return [(dataset_id, v, path)]
        rows = con.execute(
            _LATEST.replace("v.*", "v.dataset_id, v.version, v.path") + " ORDER BY 1"
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
            m_sql = _quote(m_file)
            s_sql = _quote(self.home / path / "samples.parquet")
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
            return _frame(
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
                _fault("cells-before-rename")
                os.replace(tmp, final)
            finally:
                tmp.unlink(missing_ok=True)
            with self._connect() as con:
                con.execute(
                    "INSERT OR REPLACE INTO version_cells VALUES (?, ?, ?, ?, now())",
                    [dataset_id, v, grid, rows],
                )
            return rows

    def cell_versions(self) -> pd.DataFrame:
        with self._connect(read_only=True) as con:
            return _frame(
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
            src = ", ".join(_quote(f) for f in files)
            return _frame(
                con.execute(
                    f"SELECT * FROM read_parquet([{src}], hive_partitioning = true, "
                    "hive_types = {'dataset_id': VARCHAR, 'version': INTEGER}) "
                    f"WHERE {' AND '.join(where)} "
                    f"ORDER BY dataset_id, level_m DESC, element, medium, cell{lim}",
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
            src = ", ".join(_quote(self.home / p / f"cells-{g}.parquet") for p, g in rows)
            return _frame(
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
        stamps: list[tuple[int, int] | None] = []
        for p in (self._db, self._db.with_name(self._db.name + ".wal")):
            try:
                st = p.stat()
                stamps.append((st.st_mtime_ns, st.st_size))
            except FileNotFoundError:
                stamps.append(None)
        return tuple(stamps)

    def dataset_summary(self) -> pd.DataFrame:
        sql = f"""
            SELECT dataset_id, version, title, organisation, n_samples AS samples,
                   len(elements) AS elements, n_measurements AS data_items,
                   array_to_string(countries, ' ') AS countries,
                   array_to_string(media, ', ') AS media, licence, sharing, n_rejected
            FROM ({_LATEST}) ORDER BY dataset_id
        """
        with self._connect(read_only=True) as con:
            return _frame(con.execute(sql))

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
            return _frame(con.execute(sql))

    def version_tables(
        self, dataset_id: str, version: int | None = None
    ) -> tuple[pa.Table, pa.Table | None]:
        with self._connect(read_only=True) as con:
            _, path = self._version(con, dataset_id, version)
        m_file = self.home / path / "measurements.parquet"
        samples = pq.read_table(self.home / path / "samples.parquet").select(
            SAMPLE_SCHEMA.names)
        return samples, (pq.read_table(m_file) if m_file.exists() else None)

    def rejects(self, dataset_id: str, version: int | None = None) -> pd.DataFrame:
        with self._connect(read_only=True) as con:
            _, path = self._version(con, dataset_id, version)
        f = self.home / path / "rejects.csv"
        if not f.exists():
            return pd.DataFrame(columns=["file", "row", "column", "value", "reason"])
        return pd.read_csv(f, dtype={"value": str}, keep_default_na=False)


class _EmbeddedVersionWriter(VersionWriter):
    """Writes Parquet files under ``tmp/`` holding the store's write lock until done."""

    def __init__(self, store: EmbeddedStore, dataset_id: str) -> None:
        self.store = store
        self.dataset_id = dataset_id
        self._lock = store._write_lock()
        self._lock.__enter__()
        try:
            with store._connect() as con:
                store._cleanup(con)
                row = con.execute(
                    "SELECT coalesce(max(version), 0) FROM versions WHERE dataset_id = ?",
                    [dataset_id],
                ).fetchone()
            self.version = int(row[0]) + 1 if row else 1
            self.tmp = store.home / "tmp" / uuid.uuid4().hex
            self.tmp.mkdir(parents=True)
        except BaseException:
            self._lock.__exit__(None, None, None)
            raise
        self.final = store.home / "data" / f"dataset_id={dataset_id}" / f"version={self.version}"
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
        _fault("before-rename")
        os.rename(self.tmp, self.final)
        _fsync_dir(self.final.parent)
        try:
            self.store._register(record, self.final, per_country)
        except BaseException:
            shutil.rmtree(self.final, ignore_errors=True)
            raise
        self.committed = True
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


def _fault(point: str) -> None:
    """Fault injection for the atomicity tests: ``CHEMEARTH_FAULT=<point>`` pauses there.

    The tests kill the process (SIGKILL) while it waits, to prove that a write killed at
    that point leaves the store as it was.
    """
    wanted, flag = fault_point()
    if wanted == point:
        flag.touch()
        time.sleep(3600)


def _frame(result: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """A query result as a pandas frame (through Arrow, keeping list and string types)."""
    return cast(pd.DataFrame, result.to_arrow_table().to_pandas())


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _fsync_dir(path: Path) -> None:
    if not _FSYNC:
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
