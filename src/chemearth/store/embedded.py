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
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from chemearth.errors import NotFoundError, StoreError
from chemearth.store.base import MEASUREMENT_SCHEMA, SAMPLE_SCHEMA, Store, VersionRecord

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
    >>> store = EmbeddedStore(Path("/tmp/chemearth-doctest"))   # doctest: +SKIP
    >>> store.datasets().empty                                   # doctest: +SKIP
    True
    """

    def __init__(self, home: Path, read_only: bool = False) -> None:
        self.home = Path(home)
        self.read_only = read_only
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
            try:
                con = duckdb.connect(str(self._db), read_only=ro)
            except duckdb.IOException as exc:
                raise StoreError(
                    f"store {self.home} is in use by another process or unreadable: "
                    f"{str(exc).splitlines()[0]}"
                ) from None
        try:
            yield con
        finally:
            con.close()

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

    def find_version(self, dataset_id: str, source_sha256: str, descriptor_sha256: str) -> int | None:
        with self._connect(read_only=True) as con:
            row = con.execute(
                "SELECT max(version) FROM versions WHERE dataset_id = ? AND source_sha256 = ? "
                "AND descriptor_sha256 = ?",
                [dataset_id, source_sha256, descriptor_sha256],
            ).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def write_version(
        self,
        record: VersionRecord,
        samples: pa.Table,
        measurements: Iterable[pa.Table],
        rejects: pd.DataFrame | None = None,
    ) -> int:
        if self.read_only:
            raise StoreError(f"store {self.home} is open read-only")
        with self._write_lock():
            with self._connect() as con:
                self._cleanup(con)
                row = con.execute(
                    "SELECT coalesce(max(version), 0) FROM versions WHERE dataset_id = ?",
                    [record.dataset_id],
                ).fetchone()
            version = int(row[0]) + 1 if row else 1
            tmp = self.home / "tmp" / uuid.uuid4().hex
            tmp.mkdir(parents=True)
            final = self.home / "data" / f"dataset_id={record.dataset_id}" / f"version={version}"
            try:
                counts = self._write_files(tmp, samples, measurements, rejects)
                final.parent.mkdir(parents=True, exist_ok=True)
                os.rename(tmp, final)
                _fsync_dir(final.parent)
                record.version = version
                record.n_measurements = counts["n"]
                self._register(record, final, counts)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                if final.exists() and not self._registered(record.dataset_id, version):
                    shutil.rmtree(final, ignore_errors=True)
                raise
        return version

    def _write_files(
        self, folder: Path, samples: pa.Table, measurements: Iterable[pa.Table],
        rejects: pd.DataFrame | None,
    ) -> dict[str, Any]:
        pq.write_table(samples.cast(SAMPLE_SCHEMA), folder / "samples.parquet",
                       compression="zstd")
        n = 0
        elements: set[str] = set()
        country = samples.column("country").to_numpy(zero_copy_only=False)
        per_country: dict[str, int] = {}
        with pq.ParquetWriter(folder / "measurements.parquet", MEASUREMENT_SCHEMA,
                              compression="zstd") as w:
            for batch in measurements:
                w.write_table(batch, row_group_size=1 << 20)
                n += batch.num_rows
                elements.update(batch.column("element").unique().to_pylist())
                idx = batch.column("sample_index").to_numpy()
                for c, k in pd.Series(country[idx]).value_counts(dropna=False).items():
                    key = c if isinstance(c, str) else ""
                    per_country[key] = per_country.get(key, 0) + int(k)
        if rejects is not None and not rejects.empty:
            rejects.to_csv(folder / "rejects.csv", index=False)
        if _FSYNC:
            for f in folder.iterdir():
                with open(f, "rb") as fh:
                    os.fsync(fh.fileno())
        return {"n": n, "elements": sorted(elements), "per_country": per_country}

    def _register(self, record: VersionRecord, final: Path, counts: dict[str, Any]) -> None:
        samples = pq.read_table(final / "samples.parquet", columns=["country"]).column("country")
        sample_counts = pd.Series(samples.to_pylist()).fillna("").value_counts()
        with self._connect() as con:
            con.execute("BEGIN TRANSACTION")
            con.execute(
                "INSERT INTO versions VALUES (" + ", ".join(["?"] * 30) + ")",
                [
                    record.dataset_id, record.version, record.title, record.organisation,
                    record.countries, record.media, record.depth_top_cm, record.depth_bottom_cm,
                    record.sampling_years, record.methods, record.licence, record.citation,
                    record.url, record.sharing, record.sharing_organisations,
                    record.embargoed_elements, record.kind, record.same_samples_as,
                    record.source_file, record.source_sha256, record.descriptor_sha256,
                    record.descriptor, record.n_rows, record.n_samples, counts["n"],
                    record.n_rejected, counts["elements"], record.ingested_at,
                    str(final.relative_to(self.home)), json.dumps(record.extra),
                ],
            )
            for c in sorted(set(sample_counts.index) | set(counts["per_country"])):
                con.execute(
                    "INSERT INTO version_countries VALUES (?, ?, ?, ?, ?)",
                    [record.dataset_id, record.version, c or None,
                     int(sample_counts.get(c, 0)), int(counts["per_country"].get(c, 0))],
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
            return con.execute(sql + " ORDER BY dataset_id, version").df()

    def _version(self, con: duckdb.DuckDBPyConnection, dataset_id: str,
                 version: int | None) -> tuple[int, str]:
        if version is None:
            row = con.execute(
                "SELECT version, path FROM versions WHERE dataset_id = ? "
                "ORDER BY version DESC LIMIT 1", [dataset_id]).fetchone()
        else:
            row = con.execute(
                "SELECT version, path FROM versions WHERE dataset_id = ? AND version = ?",
                [dataset_id, version]).fetchone()
        if row is None:
            what = f"dataset {dataset_id!r}" + (f" version {version}" if version else "")
            raise NotFoundError(f"{what} is not in the store")
        return int(row[0]), str(row[1])

    def _paths(self, con: duckdb.DuckDBPyConnection, dataset_id: str | None,
               version: int | None) -> list[Path]:
        if dataset_id is not None:
            return [self.home / self._version(con, dataset_id, version)[1]]
        rows = con.execute(_LATEST.replace("v.*", "v.path") + " ORDER BY 1").fetchall()
        return [self.home / r[0] for r in rows]

    @staticmethod
    def _parquet(paths: list[Path], name: str) -> str:
        files = ", ".join("'" + str(p / name).replace("'", "''") + "'" for p in paths)
        return (f"read_parquet([{files}], hive_partitioning = true, "
                "hive_types = {'dataset_id': VARCHAR, 'version': INTEGER})")

    def samples(self, dataset_id: str | None = None, version: int | None = None) -> pd.DataFrame:
        with self._connect(read_only=True) as con:
            paths = self._paths(con, dataset_id, version)
            if not paths:
                return pd.DataFrame(columns=["dataset_id", "version", *SAMPLE_SCHEMA.names])
            return con.execute(
                f"SELECT * FROM {self._parquet(paths, 'samples.parquet')} "
                "ORDER BY dataset_id, version, sample_index"
            ).df()

    def measurements(
        self,
        dataset_id: str | None = None,
        version: int | None = None,
        elements: list[str] | None = None,
        limit: int | None = None,
    ) -> pd.DataFrame:
        with self._connect(read_only=True) as con:
            paths = self._paths(con, dataset_id, version)
            if not paths:
                return pd.DataFrame()
            where, params = "", []
            if elements:
                where = "WHERE m.element IN (SELECT unnest(?))"
                params.append(list(elements))
            lim = f" LIMIT {int(limit)}" if limit is not None else ""
            sql = f"""
                SELECT m.dataset_id, m.version, s.sample_id, s.longitude, s.latitude,
                       s.country, s.medium, m.* EXCLUDE (dataset_id, version)
                FROM {self._parquet(paths, 'measurements.parquet')} m
                JOIN {self._parquet(paths, 'samples.parquet')} s
                  USING (dataset_id, version, sample_index)
                {where}
                ORDER BY m.dataset_id, m.version, m.sample_index, m.element, m.method{lim}
            """
            return con.execute(sql, params).df()

    def dataset_summary(self) -> pd.DataFrame:
        sql = f"""
            SELECT dataset_id, version, title, organisation, n_samples AS samples,
                   len(elements) AS elements, n_measurements AS data_items,
                   array_to_string(countries, ' ') AS countries,
                   array_to_string(media, ', ') AS media, licence, sharing, n_rejected
            FROM ({_LATEST}) ORDER BY dataset_id
        """
        with self._connect(read_only=True) as con:
            return con.execute(sql).df()

    def country_summary(self) -> pd.DataFrame:
        sql = f"""
            SELECT coalesce(c.country, '?') AS country, count(DISTINCT c.dataset_id) AS datasets,
                   sum(c.n_samples)::BIGINT AS samples,
                   sum(c.n_measurements)::BIGINT AS data_items
            FROM version_countries c JOIN ({_LATEST}) l USING (dataset_id, version)
            WHERE l.kind = 'survey'
            GROUP BY 1 ORDER BY 1
        """
        with self._connect(read_only=True) as con:
            return con.execute(sql).df()

    def rejects(self, dataset_id: str, version: int | None = None) -> pd.DataFrame:
        with self._connect(read_only=True) as con:
            _, path = self._version(con, dataset_id, version)
        f = self.home / path / "rejects.csv"
        if not f.exists():
            return pd.DataFrame(columns=["file", "row", "column", "value", "reason"])
        return pd.read_csv(f, dtype={"value": str}, keep_default_na=False)


def _fsync_dir(path: Path) -> None:
    if not _FSYNC:
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
