"""The server store: PostgreSQL with PostGIS (``postgresql://`` URLs).

:class:`PostgresStore` implements :class:`~chemearth.store.base.Store` on one PostgreSQL
database, so that any number of processes and hosts (web servers, job workers, the
command line) share one store, with transactions instead of file locks. Every read returns
the same pandas frames as the embedded store (:mod:`chemearth.store.embedded`) for the same
data: same columns, dtypes and row order.

Layout (schema ``chemearth``; the tables, migrations, QGIS views and database roles are
described in :mod:`chemearth.store.postgres_schema`, which a deployment guide links to):
the catalogue (``versions`` and friends), the samples with a PostGIS point each
(one table per version, GiST-indexed, attached to ``chemearth.samples`` once published),
and the bulk numbers as Parquet chunks in
``bytea`` rows: the wide measurement table by chunk of rows and analyte column
(``measurement_chunks``), the cell statistics by version, grid, level, medium, element,
method and unit (``cell_chunks``). Chunks are written with binary ``COPY`` and read
whole, so reading one analyte column (:meth:`PostgresStore.column_values`, called once
per column by the grid builder) or one layer of cells (a map tile) reads only those
bytes. One row per value was measured and rejected: for 200,000 samples x 40
elements, copying the 8 million measurement rows took 17 s (41 s with its index in place)
and the 6.3 million cell rows 79 s, against 28 s for the embedded store's whole ingest and
grid build (PostgreSQL pays about 2 µs per row and 0.3 µs per value on ``COPY``; Parquet a
few ns per value). The samples, whose rows are what SQL and desktop GIS users query, stay
relational.

Writing a version (:mod:`chemearth.store.postgres_writer`) is one transaction; writers
of the same dataset are serialised by an advisory lock. Reads that rebuild from chunks
what DuckDB computes for the embedded store are in :mod:`chemearth.store.postgres_reads`;
documents, the audit log and the job queue in :mod:`chemearth.store.postgres_jobs`. The
drivers are psycopg 3 (small statements) and ADBC (Arrow through binary ``COPY``), each in
a small pool of connections reused by all threads (:class:`PostgresStore` is thread-safe).

Examples
--------
>>> url = "postgresql://chemearth:secret@localhost:5432/chemearth"
>>> store = PostgresStore(url)  # doctest: +SKIP
>>> store.location  # doctest: +SKIP
'postgresql://chemearth@localhost:5432/chemearth'
>>> store.datasets().empty  # doctest: +SKIP
True
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, cast

import adbc_driver_postgresql.dbapi as adbc
import numpy as np
import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.compute as pc

from chemearth.errors import NotFoundError, StoreError
from chemearth.store import postgres_parts as pg_parts
from chemearth.store.base import MEASUREMENT_COLUMNS, SAMPLE_SCHEMA, JobHandle, Store, VersionWriter
from chemearth.store.embedded_writer import fault
from chemearth.store.media import SiteMedia
from chemearth.store.parts_files import check_name
from chemearth.store.postgres_common import (
    LOCK_CELLS,
    SCHEMA,
    AdbcConnection,
    Pool,
    arrow_query,
    db_errors,
    password_of,
    redact_url,
    sql,
    with_parameter,
)
from chemearth.store.postgres_jobs import (
    PgJobs,
    append_audit,
    audit_lines,
    read_document,
    update_document,
)
from chemearth.store.postgres_reads import (
    COLUMN_INFO,
    cells_table,
    conform,
    long_table,
    repeat,
    to_frame,
)
from chemearth.store.postgres_schema import migrate, refresh_view
from chemearth.store.postgres_writer import (
    PostgresVersionWriter,
    attach,
    load_chunks,
    load_columns,
    write_cell_chunks,
)

__all__ = ["PostgresStore"]

PgConnection = psycopg.Connection[Any]

_LATEST = (
    f"(SELECT DISTINCT ON (dataset_id) * FROM {SCHEMA}.versions WHERE published "
    "ORDER BY dataset_id, version DESC)"
)
_STRINGS = pa.list_(pa.field("l", pa.string()))
_CATALOGUE: list[tuple[str, pa.DataType]] = [
    ("dataset_id", pa.string()), ("version", pa.int32()), ("title", pa.string()),
    ("organisation", pa.string()), ("countries", _STRINGS), ("media", _STRINGS),
    ("depth_top_cm", pa.float64()), ("depth_bottom_cm", pa.float64()),
    ("sampling_years", pa.list_(pa.field("l", pa.int32()))), ("methods", _STRINGS),
    ("licence", pa.string()), ("citation", pa.string()), ("url", pa.string()),
    ("sharing", pa.string()), ("sharing_organisations", _STRINGS),
    ("embargoed_elements", _STRINGS), ("kind", pa.string()), ("same_samples_as", pa.string()),
    ("source_file", pa.string()), ("source_sha256", pa.string()),
    ("descriptor_sha256", pa.string()), ("descriptor", pa.string()), ("n_rows", pa.int64()),
    ("n_samples", pa.int64()), ("n_measurements", pa.int64()), ("n_rejected", pa.int64()),
    ("elements", _STRINGS), ("ingested_at", pa.timestamp("us", tz="UTC")),
    ("path", pa.string()), ("extra", pa.string()),
]
_SAMPLE_COLUMNS = ", ".join(SAMPLE_SCHEMA.names)
_INVENTORY = ["dataset_id", "version", "grid", "element", "medium", "method", "unit",
              "level_m", "cells", "cells_n3"]


def _plain(name: str) -> str:
    """A document name that is a plain name (as the embedded store's file names)."""
    if not name or "/" in name or name.startswith("."):
        raise StoreError(f"document name {name!r} is not a plain file name")
    return name


def _missing(dataset_id: str, version: int | None) -> NotFoundError:
    what = f"dataset {dataset_id!r}" + (f" version {version}" if version else "")
    return NotFoundError(f"{what} is not in the store")


class PostgresStore(Store):
    """The store in a PostgreSQL + PostGIS database.

    Parameters
    ----------
    url : str
        ``postgresql://user:password@host:port/database`` (libpq parameters allowed).
    read_only : bool
        Refuse every write (:class:`~chemearth.errors.StoreError`); the schema must be
        up to date already.

    Raises
    ------
    StoreError
        The server cannot be reached, PostGIS is missing, or the database's schema is newer
        than this chemearth (or older, read-only). Messages never hold the password.
    """

    def __init__(self, url: str, read_only: bool = False) -> None:
        self._url = url
        self.read_only = read_only
        self._where = redact_url(url)
        self._secret = password_of(url)
        self._pg: Pool[PgConnection] = Pool(self._pg_connect, lambda c: c.close())
        self._adbc: Pool[AdbcConnection] = Pool(self._adbc_connect, lambda c: c.close())
        self._jobs = PgJobs(self._pg, self._pg_connect)
        with self._errors(), self._pg.connection() as conn:
            migrate(conn, self._where, read_only)

    def __repr__(self) -> str:
        return f"PostgresStore({self._where!r})"

    # ------------------------------------------------------------------ plumbing

    def _pg_connect(self) -> PgConnection:
        url = with_parameter(self._url, "application_name", "chemearth")
        return psycopg.connect(with_parameter(url, "connect_timeout", "10"), autocommit=True)

    def _adbc_connect(self, autocommit: bool = True) -> AdbcConnection:
        url = with_parameter(self._url, "application_name", "chemearth")
        return cast(AdbcConnection, adbc.connect(url, autocommit=autocommit))

    def _errors(self) -> contextlib.AbstractContextManager[None]:
        return db_errors(self._where, self._secret)

    def _writable(self) -> None:
        if self.read_only:
            raise StoreError(f"store {self._where} is open read-only")

    def _arrow(self, query: str, params: tuple[Any, ...] | None = None) -> pa.Table:
        with self._adbc.connection() as conn:
            return arrow_query(conn, query, params)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[AdbcConnection]:
        """A new ADBC connection with a transaction: committed by the caller, rolled back
        and closed at the end of the block."""
        conn = self._adbc_connect(autocommit=False)
        try:
            yield conn
        finally:
            with contextlib.suppress(Exception):
                conn.rollback()
            conn.close()

    def _resolve(
        self, dataset_id: str, version: int | None, extra: str = ""
    ) -> dict[str, Any]:
        """The catalogue row (vid, version and ``extra`` columns) of a version: the latest
        published one, or the one given (published or not)."""
        cols = "vid, version" + (", " + extra if extra else "")
        with self._pg.connection() as conn:
            if version is None:
                cur = conn.execute(
                    sql(f"SELECT {cols} FROM {SCHEMA}.versions WHERE dataset_id = %s "
                        "AND published ORDER BY version DESC LIMIT 1"), [dataset_id])
            else:
                cur = conn.execute(
                    sql(f"SELECT {cols} FROM {SCHEMA}.versions WHERE dataset_id = %s "
                        "AND version = %s"), [dataset_id, int(version)])
            row = cur.fetchone()
            names = [d.name for d in cur.description or []]
        if row is None:
            raise _missing(dataset_id, version)
        return dict(zip(names, row, strict=True))

    def _bump(self, conn: AdbcConnection) -> None:
        with conn.cursor() as cur:
            cur.execute(f"UPDATE {SCHEMA}.meta SET value = value + 1 WHERE key = 'generation'")

    # ------------------------------------------------------------------ writing

    def find_version(
        self, dataset_id: str, source_sha256: str, descriptor_sha256: str
    ) -> int | None:
        with self._errors(), self._pg.connection() as conn:
            row = conn.execute(
                sql(f"SELECT max(version) FROM {SCHEMA}.versions WHERE dataset_id = %s "
                    "AND source_sha256 = %s AND descriptor_sha256 = %s AND published"),
                [dataset_id, source_sha256, descriptor_sha256],
            ).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def begin_version(self, dataset_id: str) -> VersionWriter:
        self._writable()
        with self._errors():
            conn = self._adbc_connect(autocommit=False)
        return PostgresVersionWriter(conn, dataset_id, self._where, self._secret)

    def write_cells(
        self,
        dataset_id: str,
        version: int | None,
        grid: str,
        table: pa.Table | Iterable[pa.Table],
    ) -> int:
        self._writable()
        tables = iter([table]) if isinstance(table, pa.Table) else iter(table)
        with self._errors(), self._transaction() as conn:
            where = "version = $2" if version is not None else "published"
            params: tuple[Any, ...] = (dataset_id,) + (() if version is None else (int(version),))
            found = arrow_query(
                conn,
                f"SELECT vid, version FROM {SCHEMA}.versions WHERE dataset_id = $1 AND {where} "
                "ORDER BY version DESC LIMIT 1 FOR SHARE",
                params,
            ).to_pylist()
            if not found:
                raise _missing(dataset_id, version)
            vid, v = int(found[0]["vid"]), int(found[0]["version"])
            with conn.cursor() as cur:
                cur.execute(f"SELECT pg_advisory_xact_lock({LOCK_CELLS}, {vid})")
            rows, schema = write_cell_chunks(conn, vid, grid, tables)
            if schema is None:
                raise StoreError(f"no cell table given for {dataset_id} on {grid}")
            with conn.cursor() as cur:
                cur.execute(
                    f"INSERT INTO {SCHEMA}.version_cells VALUES ($1, {v}, $2, {rows}, now(), $3) "
                    "ON CONFLICT (dataset_id, version, grid) DO UPDATE SET "
                    "n_rows = excluded.n_rows, built_at = excluded.built_at, "
                    "cell_schema = excluded.cell_schema",
                    (dataset_id, grid, schema.serialize().to_pybytes()),
                )
            self._bump(conn)
            conn.commit()
        return rows

    # ------------------------------------------------------------------ reading

    def datasets(self, all_versions: bool = False) -> pd.DataFrame:
        cols = [n for n, _ in _CATALOGUE if n not in ("path", "extra")]
        source = f"{SCHEMA}.versions WHERE published" if all_versions else f"{_LATEST} l"
        with self._errors():
            t = self._arrow(
                f"SELECT {', '.join(cols)}, 'data/dataset_id=' || dataset_id || '/version=' "
                f"|| version AS path, extra::text AS extra FROM {source} "
                "ORDER BY dataset_id, version"
            )
        return to_frame(conform(t, _CATALOGUE))

    def samples(self, dataset_id: str | None = None, version: int | None = None) -> pd.DataFrame:
        fields = [*((f.name, f.type) for f in SAMPLE_SCHEMA),
                  ("dataset_id", pa.string()), ("version", pa.int32())]
        with self._errors():
            if dataset_id is None:
                versions = self._arrow(
                    f"SELECT dataset_id, version, vid FROM {_LATEST} l ORDER BY dataset_id"
                ).to_pylist()
                if not versions:
                    return pd.DataFrame(columns=["dataset_id", "version", *SAMPLE_SCHEMA.names])
                t = self._arrow(
                    " UNION ALL ".join(
                        f"SELECT {i} AS _o, {_SAMPLE_COLUMNS} FROM {SCHEMA}.samples_{r['vid']}"
                        for i, r in enumerate(versions)
                    ) + " ORDER BY _o, sample_index"
                )
                which = t.column("_o")
                t = t.append_column("dataset_id", pa.array(
                    [r["dataset_id"] for r in versions], pa.string()).take(which))
                t = t.append_column("version", pa.array(
                    [r["version"] for r in versions], pa.int32()).take(which))
            else:
                row = self._resolve(dataset_id, version)
                t = self._arrow(
                    f"SELECT {_SAMPLE_COLUMNS} FROM {SCHEMA}.samples_{int(row['vid'])} "
                    "ORDER BY sample_index"
                )
                t = t.append_column("dataset_id", repeat(dataset_id, t.num_rows, pa.string()))
                t = t.append_column("version", repeat(row["version"], t.num_rows, pa.int32()))
        return to_frame(conform(t, fields))

    def measurements(
        self,
        dataset_id: str | None = None,
        version: int | None = None,
        elements: list[str] | None = None,
        limit: int | None = None,
    ) -> pd.DataFrame:
        with self._errors():
            if dataset_id is not None:
                row = self._resolve(dataset_id, version, "wide_schema IS NOT NULL AS wide")
                keys = [(dataset_id, int(row["version"]), int(row["vid"]), bool(row["wide"]))]
            else:
                latest = self._arrow(
                    f"SELECT dataset_id, version, vid, wide_schema IS NOT NULL AS wide "
                    f"FROM {_LATEST} l ORDER BY dataset_id"
                ).to_pylist()
                keys = [(r["dataset_id"], r["version"], r["vid"], r["wide"]) for r in latest]
            parts = []
            with self._adbc.connection() as conn:
                for ds, v, vid, wide in keys:
                    if not wide:
                        continue  # no measurements written (the embedded store: no file)
                    cols = arrow_query(
                        conn,
                        f"SELECT {COLUMN_INFO} FROM {SCHEMA}.version_columns "
                        "WHERE dataset_id = $1 AND version = $2 ORDER BY column_id",
                        (ds, v),
                    ).to_pylist()
                    cols = [c for c in cols if not elements or c["element"] in elements]
                    if cols:
                        parts.append(long_table(conn, ds, v, vid, cols, limit))
        if not parts:
            return pd.DataFrame(columns=list(MEASUREMENT_COLUMNS))
        t = pa.concat_tables(parts)
        order = pc.sort_indices(t, sort_keys=[
            ("dataset_id", "ascending"), ("version", "ascending"), ("sample_index", "ascending"),
            ("element", "ascending"), ("method", "ascending"), ("_column", "ascending"),
        ])
        t = t.take(order).drop_columns(["_column"])
        if limit is not None:
            t = t.slice(0, max(int(limit), 0))
        return to_frame(t)

    def measurement_columns(self, dataset_id: str, version: int | None = None) -> pd.DataFrame:
        with self._errors():
            row = self._resolve(dataset_id, version)
            t = self._arrow(
                f"SELECT {COLUMN_INFO} FROM {SCHEMA}.version_columns "
                "WHERE dataset_id = $1 AND version = $2 ORDER BY column_id",
                (dataset_id, int(row["version"])),
            )
        strings = {"element", "unit", "method", "digestion", "original_unit", "source_column"}
        fields = [(n, pa.string() if n in strings else pa.int32() if n == "column_id"
                   else pa.float64()) for n in COLUMN_INFO.split(", ")]
        return to_frame(conform(t, fields))

    def column_values(
        self, dataset_id: str, version: int | None, column_id: int
    ) -> dict[str, np.ndarray]:
        k = int(column_id)
        with self._errors():
            row = self._resolve(dataset_id, version)
            with self._adbc.connection() as conn:
                t = load_columns(conn, int(row["vid"]), [k])
        if t is None:
            return {"sample_index": np.empty(0, np.int32), "value": np.empty(0),
                    "censored": np.empty(0, bool)}
        t = t.filter(pc.is_valid(t.column(f"v{k}")))
        return {
            "sample_index": t.column("sample_index").to_numpy(),
            "value": t.column(f"v{k}").to_numpy(),
            "censored": t.column(f"c{k}").to_numpy(zero_copy_only=False).astype(bool),
        }

    def version_tables(
        self, dataset_id: str, version: int | None = None
    ) -> tuple[pa.Table, pa.Table | None]:
        with self._errors():
            row = self._resolve(dataset_id, version, "wide_schema")
            vid = int(row["vid"])
            with self._adbc.connection() as conn:
                samples = arrow_query(
                    conn,
                    f"SELECT {_SAMPLE_COLUMNS} FROM {SCHEMA}.samples_{vid} ORDER BY seq",
                )
                chunks = load_chunks(conn, vid) if row["wide_schema"] is not None else []
        samples = samples.cast(SAMPLE_SCHEMA)
        if row["wide_schema"] is None:
            return samples, None
        schema = pa.ipc.read_schema(pa.py_buffer(bytes(row["wide_schema"])))
        if not chunks:
            return samples, schema.empty_table()
        return samples, pa.concat_tables([c.select(schema.names).cast(schema) for c in chunks])

    def cell_versions(self) -> pd.DataFrame:
        with self._errors():
            t = self._arrow(
                f"SELECT dataset_id, version, grid, n_rows FROM {SCHEMA}.version_cells "
                "ORDER BY dataset_id, version, grid"
            )
        return to_frame(conform(t, [("dataset_id", pa.string()), ("version", pa.int32()),
                         ("grid", pa.string()), ("n_rows", pa.int64())]))

    def cells(
        self,
        grid: str = "global",
        dataset_id: str | None = None,
        element: str | None = None,
        level_m: int | None = None,
        medium: str | None = None,
        limit: int | None = None,
    ) -> pd.DataFrame:
        with self._errors(), self._adbc.connection() as conn:
            built = arrow_query(
                conn,
                f"SELECT l.vid, l.dataset_id, l.version, c.cell_schema FROM {_LATEST} l "
                f"JOIN {SCHEMA}.version_cells c USING (dataset_id, version) WHERE c.grid = $1"
                + (" AND l.dataset_id = $2" if dataset_id else "") + " ORDER BY l.dataset_id",
                (grid, dataset_id) if dataset_id else (grid,),
            ).to_pylist()
            if not built:
                return pd.DataFrame()
            where = ["vid = ANY($1::int4[])", "grid = $2"]
            params: list[Any] = [[r["vid"] for r in built], grid]
            for col, val in (("element", element), ("medium", medium)):
                if val is not None:
                    params.append(str(val))
                    where.append(f"{col} = ${len(params)}")
            if level_m is not None:
                where.append(f"level_m = {int(level_m)}")
            found = arrow_query(
                conn,
                f"SELECT vid, data FROM {SCHEMA}.cell_chunks WHERE {' AND '.join(where)} "
                "ORDER BY vid, part",
                tuple(params),
            )
        return to_frame(cells_table(found, built, limit))

    def cell_inventory(self) -> pd.DataFrame:
        with self._errors():
            t = self._arrow(
                f"SELECT l.dataset_id, l.version, c.grid, c.element, c.medium, c.method, c.unit, "
                f"c.level_m, sum(c.n_rows)::int8 AS cells, sum(c.n_n3)::int8 AS cells_n3 "
                f"FROM {SCHEMA}.cell_chunks c JOIN {_LATEST} l USING (vid) "
                f"JOIN {SCHEMA}.version_cells b ON b.dataset_id = l.dataset_id "
                "AND b.version = l.version AND b.grid = c.grid "
                "GROUP BY 1, 2, 3, 4, 5, 6, 7, 8 "
                "ORDER BY dataset_id, grid, element, medium, method, level_m DESC, unit"
            )
            if t.num_rows == 0 and self._arrow(
                f"SELECT 1 FROM {_LATEST} l JOIN {SCHEMA}.version_cells USING (dataset_id, version)"
            ).num_rows == 0:
                return pd.DataFrame(columns=_INVENTORY)
        types = [pa.string(), pa.int32(), *[pa.string()] * 5, pa.int32(), pa.int64(), pa.int64()]
        return to_frame(conform(t, zip(_INVENTORY, types, strict=True)))

    def generation(self) -> object:
        with self._errors(), self._pg.connection() as conn:
            row = conn.execute(
                sql(f"SELECT value FROM {SCHEMA}.meta WHERE key = 'generation'")
            ).fetchone()
        return None if row is None else int(row[0])

    def dataset_summary(self) -> pd.DataFrame:
        with self._errors():
            t = self._arrow(
                "SELECT dataset_id, version, title, organisation, n_samples AS samples, "
                "cardinality(elements)::int8 AS elements, n_measurements AS data_items, "
                "array_to_string(countries, ' ') AS countries, "
                "array_to_string(media, ', ') AS media, licence, sharing, n_rejected "
                f"FROM {_LATEST} l ORDER BY dataset_id"
            )
        s, i64 = pa.string(), pa.int64()
        return to_frame(conform(t, [("dataset_id", s), ("version", pa.int32()), ("title", s),
                         ("organisation", s), ("samples", i64), ("elements", i64),
                         ("data_items", i64), ("countries", s), ("media", s), ("licence", s),
                         ("sharing", s), ("n_rejected", i64)]))

    def country_summary(self) -> pd.DataFrame:
        with self._errors():
            t = self._arrow(
                "SELECT coalesce(c.country, '?') AS country, "
                "count(DISTINCT c.dataset_id)::int8 AS datasets, "
                "sum(c.n_samples)::int8 AS samples, sum(c.n_measurements)::int8 AS data_items "
                f"FROM {SCHEMA}.version_countries c JOIN {_LATEST} l USING (dataset_id, version) "
                "WHERE l.kind = 'survey' AND coalesce(l.same_samples_as, '') = '' "
                "GROUP BY 1 ORDER BY 1"
            )
        return to_frame(conform(t, [("country", pa.string()), ("datasets", pa.int64()),
                         ("samples", pa.int64()), ("data_items", pa.int64())]))

    def rejects(self, dataset_id: str, version: int | None = None) -> pd.DataFrame:
        with self._errors():
            row = self._resolve(dataset_id, version)
            with self._pg.connection() as conn:
                found = conn.execute(
                    sql(f"SELECT csv FROM {SCHEMA}.rejects WHERE dataset_id = %s "
                        "AND version = %s"), [dataset_id, int(row["version"])],
                ).fetchone()
        if found is None:
            return pd.DataFrame(columns=["file", "row", "column", "value", "reason"])
        return pd.read_csv(io.StringIO(str(found[0])), dtype={"value": str},
                           keep_default_na=False)

    # ------------------------------------------------------------------ publishing

    @property
    def location(self) -> str:
        return self._where

    def publish(self, dataset_id: str, version: int) -> None:
        self._writable()
        with self._errors(), self._transaction() as conn:
            found = arrow_query(
                conn,
                f"SELECT published, vid FROM {SCHEMA}.versions WHERE dataset_id = $1 "
                f"AND version = {int(version)} FOR UPDATE",
                (dataset_id,),
            ).to_pylist()
            if not found:
                raise _missing(dataset_id, version)
            fault("before-publish")
            if found[0]["published"]:
                return
            with conn.cursor() as cur:
                cur.execute(
                    f"UPDATE {SCHEMA}.versions SET published = TRUE WHERE dataset_id = $1 "
                    f"AND version = {int(version)}", (dataset_id,),
                )
            attach(conn, int(found[0]["vid"]))
            refresh_view(conn, dataset_id, lambda v, ks: load_columns(conn, v, ks))
            self._bump(conn)
            conn.commit()

    def unpublished(self) -> pd.DataFrame:
        with self._errors():
            t = self._arrow(
                "SELECT dataset_id, version, source_sha256, descriptor_sha256, ingested_at "
                f"FROM {SCHEMA}.versions WHERE NOT published ORDER BY dataset_id, version"
            )
        return to_frame(conform(t, [("dataset_id", pa.string()), ("version", pa.int32()),
                         ("source_sha256", pa.string()), ("descriptor_sha256", pa.string()),
                         ("ingested_at", pa.timestamp("us", tz="UTC"))]))

    def discard(self, dataset_id: str, version: int) -> None:
        self._writable()
        v = int(version)
        with self._errors(), self._transaction() as conn:
            found = arrow_query(
                conn,
                f"SELECT published, vid FROM {SCHEMA}.versions WHERE dataset_id = $1 "
                f"AND version = {v} FOR UPDATE",
                (dataset_id,),
            ).to_pylist()
            if not found:
                return
            if found[0]["published"]:
                raise StoreError(
                    f"dataset {dataset_id!r} version {version} is published; it is not discarded"
                )
            vid = int(found[0]["vid"])
            with conn.cursor() as cur:
                for table in ("versions", "version_columns", "version_cells",
                              "version_countries", "rejects"):
                    cur.execute(f"DELETE FROM {SCHEMA}.{table} WHERE dataset_id = $1 "
                                f"AND version = {v}", (dataset_id,))
                for table in ("measurement_chunks", "cell_chunks"):
                    cur.execute(f"DELETE FROM {SCHEMA}.{table} WHERE vid = {vid}")
                cur.execute(f"DROP TABLE IF EXISTS {SCHEMA}.samples_{vid}")
                cur.execute(f"DROP TABLE IF EXISTS {SCHEMA}.qgis_{vid}")
            self._bump(conn)
            conn.commit()

    # ------------------------------------------------------------ documents, audit, jobs

    def read_document(self, name: str) -> tuple[object, str | None]:
        with self._errors():
            return read_document(self._pg, _plain(name))

    def update_document(self, name: str, update: Callable[[str | None], str]) -> None:
        self._writable()
        with self._errors():
            update_document(self._pg, _plain(name), update)

    def write_parts(self, collection: str, parts: Mapping[str, bytes | None],
                    manifest: Mapping[str, Any]) -> None:
        self._writable()
        with self._errors():
            pg_parts.write_parts(self._pg, check_name(collection, "collection"), parts,
                                 manifest)

    def read_part(self, collection: str, name: str) -> bytes | None:
        with self._errors():
            return pg_parts.read_part(self._pg, collection, name)

    def read_manifest(self, collection: str) -> dict[str, Any] | None:
        with self._errors():
            return pg_parts.read_manifest(self._pg, collection)

    def list_parts(self, collection: str) -> list[str]:
        with self._errors():
            return pg_parts.list_parts(self._pg, collection)

    def site_media(self) -> SiteMedia:
        from chemearth.store.postgres_media import PgMedia

        return PgMedia(self._pg, self._errors, self._writable)

    def append_audit(self, line: str) -> None:
        self._writable()
        with self._errors():
            append_audit(self._pg, line)

    def audit_lines(self) -> Iterator[str]:
        def lines() -> Iterator[str]:
            with self._errors():
                yield from audit_lines(self._pg)

        return lines()

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
        self._writable()
        with self._errors():
            return self._jobs.submit(kind, payload, files, dataset_id=dataset_id, actor=actor,
                                     organisation=organisation, token_id=token_id)

    def claim_job(self, worker: str, max_attempts: int = 3) -> JobHandle | None:
        self._writable()
        with self._errors():
            return self._jobs.claim(worker, max_attempts)

    def job(self, job_id: str) -> dict[str, Any] | None:
        with self._errors():
            return self._jobs.job(job_id)

    def jobs(self, limit: int = 100) -> pd.DataFrame:
        with self._errors():
            return self._jobs.jobs(limit)

    def close(self) -> None:
        self._pg.close()
        self._adbc.close()
