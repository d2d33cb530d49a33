"""Writing a version of the PostgreSQL store in one transaction (see
:mod:`chemearth.store.postgres`).

A :class:`PostgresVersionWriter` holds one ADBC connection with an open transaction from
:meth:`~chemearth.store.base.Store.begin_version` to its commit: nothing it writes is
visible to anyone else before the commit, and an abort, an error or a killed client (the
server rolls back when the connection drops) leaves nothing behind. Writers of the same
dataset are serialised by a transaction-level advisory lock on the dataset id, so each gets
its own version number (the largest one, published or not, plus one).

What it writes, all by binary ``COPY`` (``adbc_ingest``):

* the samples into a new table ``chemearth.samples_<vid>``, indexed in bulk at the commit
  and attached as a partition of ``chemearth.samples`` when the version is published
  (:func:`attach`);
* the wide measurement table (``sample_index``, ``v<k>``, ``c<k>``, ``o<k>``, ``q<k>``) in
  chunks of :data:`CHUNK_ROWS` rows, each chunk as one Parquet file per analyte column
  ``k`` (``column_id`` -1 holds ``sample_index``) in ``chemearth.measurement_chunks``, so
  that reading one column reads only its bytes, and the values the QGIS view shows into
  ``chemearth.qgis_<vid>`` (:func:`~chemearth.store.postgres_schema.qgis_rows`), while
  the file is still being read;
* at the commit, the catalogue rows and, when the version is published, its QGIS view.

The test-only fault points of the embedded store are kept, with the same names
(:func:`chemearth.store.embedded_writer.fault`): ``before-rename`` (all data written, no
catalogue row yet) and ``before-commit`` (everything written, the transaction open) here,
``cells-before-rename`` in :func:`write_cell_chunks` and ``before-publish`` in the store.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from chemearth.errors import StoreError
from chemearth.store.base import SAMPLE_SCHEMA, VersionRecord, VersionWriter
from chemearth.store.embedded_writer import fault
from chemearth.store.postgres_common import (
    LOCK_WRITER,
    SCHEMA,
    AdbcConnection,
    arrow_query,
    db_errors,
    from_parquet,
    to_parquet,
)
from chemearth.store.postgres_schema import qgis_rows, refresh_view

__all__ = [
    "CHUNK_ROWS",
    "PostgresVersionWriter",
    "attach",
    "cell_groups",
    "load_chunks",
    "load_columns",
    "split_wide",
    "write_cell_chunks",
]

#: Rows of the wide measurement table per stored chunk.
CHUNK_ROWS = 1 << 17
#: Most rows of one stored cell chunk.
CELL_CHUNK_ROWS = 1 << 18
#: Bytes of encoded chunks sent to the server at once.
_SEND_BYTES = 64 << 20

_MEASURE = re.compile(r"^[vcoq](\d+)$")
_CELL_KEYS = ("grid", "level_m", "medium", "element", "method", "unit")


def split_wide(table: pa.Table) -> dict[int, pa.Table]:
    """The wide measurement table by analyte column: ``k`` -> its ``v<k>``, ``c<k>``,
    ``o<k>``, ``q<k>``; -1 -> ``sample_index`` (and any other column).

    Examples
    --------
    >>> t = pa.table({"sample_index": [0, 1], "v0": [1.0, None], "c0": [False, False]})
    >>> {k: v.column_names for k, v in split_wide(t).items()}
    {-1: ['sample_index'], 0: ['v0', 'c0']}
    """
    groups: dict[int, list[int]] = {}
    for i, name in enumerate(table.column_names):
        m = _MEASURE.match(name)
        groups.setdefault(int(m.group(1)) if m else -1, []).append(i)
    return {k: table.select(idx) for k, idx in sorted(groups.items())}


def attach(conn: AdbcConnection, vid: int) -> None:
    """Attach ``chemearth.samples_<vid>`` to ``chemearth.samples`` (when a version is
    published), in the caller's transaction; a no-op when it is attached.

    Its indexes and ``CHECK (vid = <vid>)`` constraint exist already, so attaching neither
    scans nor indexes it, and takes a lock that readers do not wait for. Unpublished
    versions are read from their own table and dropped without locking the parent.
    """
    found = arrow_query(
        conn,
        f"SELECT count(*) AS n FROM pg_inherits WHERE inhrelid = '{SCHEMA}.samples_{int(vid)}'"
        f"::regclass AND inhparent = '{SCHEMA}.samples'::regclass",
    )
    if not found.column("n")[0].as_py():
        with conn.cursor() as cur:
            cur.execute(f"ALTER TABLE {SCHEMA}.samples ATTACH PARTITION "
                        f"{SCHEMA}.samples_{int(vid)} FOR VALUES IN ({int(vid)})")


def load_chunks(
    conn: AdbcConnection, vid: int, column_ids: list[int] | None = None
) -> list[pa.Table]:
    """The stored chunks of a version's wide measurement table, in order (only
    ``sample_index`` and the columns ``column_ids`` when given)."""
    sql = (
        f"SELECT chunk, column_id, data FROM {SCHEMA}.measurement_chunks WHERE vid = {int(vid)}"
    )
    params: tuple[Any, ...] | None = None
    if column_ids is not None:
        sql += " AND column_id = ANY($1::int4[])"
        params = ([-1, *sorted({int(k) for k in column_ids})],)
    found = arrow_query(conn, sql + " ORDER BY chunk, column_id", params)
    chunks: dict[int, dict[str, pa.ChunkedArray]] = {}
    numbers = found.column("chunk").to_pylist()
    data = found.column("data")
    for i, chunk in enumerate(numbers):
        part = from_parquet(data[i].as_buffer())
        cols = chunks.setdefault(int(chunk), {})
        for name in part.column_names:
            cols[name] = part.column(name)
    return [pa.table(chunks[c]) for c in sorted(chunks)]


def load_columns(conn: AdbcConnection, vid: int, column_ids: list[int]) -> pa.Table | None:
    """``sample_index`` and the ``v<k>``, ``c<k>`` columns ``column_ids`` of a version, as
    one table (None when it has no measurements)."""
    chunks = load_chunks(conn, vid, column_ids)
    if not chunks:
        return None
    names = ["sample_index"] + [f"{p}{k}" for k in column_ids for p in ("v", "c")]
    return pa.concat_tables([c.select(names) for c in chunks])


def _count(table: pa.Table) -> tuple[int, int]:
    """(measurements, censored) of a wide table, as the embedded writer counts them."""
    n = censored = 0
    for name in table.column_names:
        if name.startswith("v"):
            col = table.column(name)
            n += len(col) - col.null_count
        elif name.startswith("c"):
            censored += int(pc.sum(table.column(name)).as_py() or 0)
    return n, censored


class PostgresVersionWriter(VersionWriter):
    """Writes one version in one transaction of its own ADBC connection.

    Parameters
    ----------
    conn : AdbcConnection
        A new connection, not in autocommit mode; the writer closes it.
    dataset_id : str
        The dataset a new version is written of.
    where : str
        The store's URL without password (for messages).
    secret : str, optional
        The password, kept out of messages.
    """

    def __init__(
        self, conn: AdbcConnection, dataset_id: str, where: str, secret: str | None = None
    ) -> None:
        self.dataset_id = dataset_id
        self._where, self._secret = where, secret
        self._conn: AdbcConnection | None = conn
        self._wide: pa.Schema | None = None
        self._buffer: list[pa.Table] = []
        self._buffered = 0
        self._chunks = 0
        self._seq = 0
        self._qgis = False
        self.n_measurements = 0
        self.n_censored = 0
        try:
            with self._errors():
                self._execute(
                    f"SELECT pg_advisory_xact_lock({LOCK_WRITER}, hashtext($1))", (dataset_id,)
                )
                got = arrow_query(
                    conn,
                    f"SELECT coalesce(max(version), 0) + 1 AS version, "
                    f"nextval('{SCHEMA}.vid_seq')::int4 AS vid "
                    f"FROM {SCHEMA}.versions WHERE dataset_id = $1",
                    (dataset_id,),
                ).to_pylist()[0]
                self.version, self.vid = int(got["version"]), int(got["vid"])
                self._table = f"samples_{self.vid}"
                self._execute(
                    f"CREATE TABLE {SCHEMA}.{self._table} (LIKE {SCHEMA}.samples "
                    f"INCLUDING DEFAULTS INCLUDING GENERATED, CONSTRAINT {self._table}_vid "
                    f"CHECK (vid = {self.vid}))"
                )
        except BaseException:
            self._close()
            raise

    # ---------------------------------------------------------------- plumbing

    def _errors(self) -> contextlib.AbstractContextManager[None]:
        return db_errors(self._where, self._secret)

    def _live(self) -> AdbcConnection:
        if self._conn is None:
            raise StoreError(f"the write of {self.dataset_id} version {self.version} is over")
        return self._conn

    def _execute(self, sql: str, params: tuple[Any, ...] | None = None) -> None:
        with self._live().cursor() as cur:
            cur.execute(sql, params)

    def _ingest(self, table_name: str, table: pa.Table) -> None:
        with self._live().cursor() as cur:
            cur.adbc_ingest(table_name, table, mode="append", db_schema_name=SCHEMA)

    def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.rollback()
            with contextlib.suppress(Exception):
                conn.close()

    # ---------------------------------------------------------------- writing

    def write_samples(self, table: pa.Table) -> None:
        t = table.cast(SAMPLE_SCHEMA)
        cols: dict[str, pa.ChunkedArray | pa.Array] = {
            "vid": pa.array(np.full(t.num_rows, self.vid, dtype=np.int32)),
            "seq": pa.array(np.arange(self._seq, self._seq + t.num_rows, dtype=np.int32)),
        }
        for field in SAMPLE_SCHEMA:
            col = t.column(field.name)
            cols[field.name] = col.cast(pa.string()) if pa.types.is_dictionary(col.type) else col
        self._seq += t.num_rows
        with self._errors():
            self._ingest(self._table, pa.table(cols))

    def write_measurements(self, table: pa.Table) -> None:
        if self._wide is None:
            self._wide = table.schema
        elif not table.schema.equals(self._wide):
            table = table.cast(self._wide)
        self._buffer.append(table)
        self._buffered += table.num_rows
        n, censored = _count(table)
        self.n_measurements += n
        self.n_censored += censored
        if self._buffered >= CHUNK_ROWS:
            self._flush()

    def _flush(self) -> None:
        if not self._buffer:
            return
        wide = pa.concat_tables(self._buffer)
        self._buffer, self._buffered = [], 0
        self._write_chunk(wide)

    def _write_chunk(self, wide: pa.Table) -> None:
        parts = split_wide(wide)
        rows = pa.table({
            "vid": pa.array([self.vid] * len(parts), pa.int32()),
            "column_id": pa.array(list(parts), pa.int32()),
            "chunk": pa.array([self._chunks] * len(parts), pa.int32()),
            "n_rows": pa.array([wide.num_rows] * len(parts), pa.int32()),
            "data": pa.array([to_parquet(p) for p in parts.values()], pa.binary()),
        })
        self._chunks += 1
        ks = sorted(k for k in parts if k >= 0 and f"v{k}" in wide.column_names)
        with self._errors():
            self._ingest("measurement_chunks", rows)
            if ks:  # the values the QGIS view shows, as they come (see refresh_view)
                with self._live().cursor() as cur:
                    cur.adbc_ingest(f"qgis_{self.vid}", qgis_rows(wide, ks),
                                    mode="append" if self._qgis else "create",
                                    db_schema_name=SCHEMA)
                self._qgis = True

    def exclude_samples(self, sample_index: np.ndarray) -> None:
        drop = [int(i) for i in np.asarray(sample_index, dtype=np.int64)]
        with self._errors():
            self._flush()
            self._execute(
                f"DELETE FROM {SCHEMA}.{self._table} WHERE sample_index = ANY($1::int4[])",
                (drop,),
            )
            chunks = load_chunks(self._live(), self.vid)
            self._execute(f"DELETE FROM {SCHEMA}.measurement_chunks WHERE vid = {self.vid}")
            self._execute(f"DROP TABLE IF EXISTS {SCHEMA}.qgis_{self.vid}")
        self._chunks, self._qgis = 0, False
        self.n_measurements = self.n_censored = 0
        drop_set = pa.array(drop, pa.int32())
        for chunk in chunks:
            keep = pc.invert(pc.is_in(chunk.column("sample_index"), value_set=drop_set))
            kept = chunk.filter(keep)
            if self._wide is not None:
                kept = kept.select(self._wide.names).cast(self._wide)
            n, censored = _count(kept)
            self.n_measurements += n
            self.n_censored += censored
            if kept.num_rows:
                self._write_chunk(kept)

    def commit(
        self,
        record: VersionRecord,
        rejects: pd.DataFrame | None,
        per_country: dict[str, tuple[int, int]] | None,
    ) -> int:
        conn = self._live()
        try:
            with self._errors():
                self._flush()
                if per_country is None:
                    per_country = self._count_by_country()
                record.version = self.version
                record.n_measurements = self.n_measurements
                fault("before-rename")
                self._ingest("versions", self._version_row(record))
                if record.columns:
                    self._ingest("version_columns", _columns_table(record))
                if per_country:
                    self._ingest("version_countries", _countries_table(record, per_country))
                if rejects is not None and not rejects.empty:
                    self._execute(
                        f"INSERT INTO {SCHEMA}.rejects VALUES ($1, {self.version}, $2)",
                        (self.dataset_id, rejects.to_csv(index=False)),
                    )
                table = f"{SCHEMA}.{self._table}"
                self._execute(f"CREATE INDEX ON {table} (vid, sample_index)")
                self._execute(f"CREATE INDEX ON {table} USING gist (geom)")
                if self.publish:
                    refresh_view(conn, self.dataset_id, lambda v, ks: load_columns(conn, v, ks))
                    attach(conn, self.vid)
                self._execute(
                    f"UPDATE {SCHEMA}.meta SET value = value + 1 WHERE key = 'generation'"
                )
                fault("before-commit")
                conn.commit()
        except BaseException:
            self._close()
            raise
        self.committed = True
        self._close()
        return self.version

    def _version_row(self, r: VersionRecord) -> pa.Table:
        strings = pa.list_(pa.string())
        at = r.ingested_at if r.ingested_at.tzinfo else r.ingested_at.replace(tzinfo=dt.UTC)
        wide = self._wide.serialize().to_pybytes() if self._wide is not None else None
        return pa.table({
            "dataset_id": pa.array([r.dataset_id], pa.string()),
            "version": pa.array([self.version], pa.int32()),
            "title": pa.array([r.title], pa.string()),
            "organisation": pa.array([r.organisation], pa.string()),
            "countries": pa.array([list(r.countries)], strings),
            "media": pa.array([list(r.media)], strings),
            "depth_top_cm": pa.array([r.depth_top_cm], pa.float64()),
            "depth_bottom_cm": pa.array([r.depth_bottom_cm], pa.float64()),
            "sampling_years": pa.array([[int(y) for y in r.sampling_years]],
                                       pa.list_(pa.int32())),
            "methods": pa.array([list(r.methods)], strings),
            "licence": pa.array([r.licence], pa.string()),
            "citation": pa.array([r.citation], pa.string()),
            "url": pa.array([r.url], pa.string()),
            "sharing": pa.array([r.sharing], pa.string()),
            "sharing_organisations": pa.array([list(r.sharing_organisations)], strings),
            "embargoed_elements": pa.array([list(r.embargoed_elements)], strings),
            "kind": pa.array([r.kind], pa.string()),
            "same_samples_as": pa.array([r.same_samples_as], pa.string()),
            "source_file": pa.array([r.source_file], pa.string()),
            "source_sha256": pa.array([r.source_sha256], pa.string()),
            "descriptor_sha256": pa.array([r.descriptor_sha256], pa.string()),
            "descriptor": pa.array([r.descriptor], pa.string()),
            "n_rows": pa.array([r.n_rows], pa.int64()),
            "n_samples": pa.array([r.n_samples], pa.int64()),
            "n_measurements": pa.array([r.n_measurements], pa.int64()),
            "n_rejected": pa.array([r.n_rejected], pa.int64()),
            "elements": pa.array([sorted({str(c["element"]) for c in r.columns})], strings),
            "ingested_at": pa.array([at], pa.timestamp("us", tz="UTC")),
            "extra": pa.array([json.dumps(r.extra)], pa.string()),
            "published": pa.array([bool(self.publish)], pa.bool_()),
            "vid": pa.array([self.vid], pa.int32()),
            "wide_schema": pa.array([wide], pa.binary()),
            "n_chunks": pa.array([self._chunks], pa.int32()),
        })

    def _count_by_country(self) -> dict[str, tuple[int, int]]:
        """Samples and measurements per country, as the embedded writer counts them
        (measurements of samples that are not in the sample table are not counted)."""
        conn = self._live()
        samples = arrow_query(conn, f"SELECT sample_index, country FROM {SCHEMA}.{self._table}")
        index = samples.column("sample_index").to_numpy().astype(np.int64)
        order = np.argsort(index, kind="stable")
        counts = np.zeros(len(index), dtype=np.int64)
        for chunk in load_chunks(conn, self.vid):
            si = chunk.column("sample_index").to_numpy().astype(np.int64)
            n = np.zeros(len(si), dtype=np.int64)
            for name in chunk.column_names:
                if name.startswith("v"):
                    n += pc.is_valid(chunk.column(name)).to_numpy(zero_copy_only=False)
            if not len(index):
                continue
            at = np.minimum(np.searchsorted(index[order], si), len(index) - 1)
            ok = index[order][at] == si
            np.add.at(counts, order[at[ok]], n[ok])
        countries = samples.column("country").to_pylist()
        out: dict[str, tuple[int, int]] = {}
        for c in sorted({str(x or "") for x in countries}):
            mine = np.array([str(x or "") == c for x in countries], dtype=bool)
            out[c] = (len(np.unique(index[mine])), int(counts[mine].sum()))
        return out

    def abort(self) -> None:
        if self.committed:
            return
        self._buffer = []
        self._close()


def _columns_table(r: VersionRecord) -> pa.Table:
    def strings(key: str) -> pa.Array:
        return pa.array([c.get(key) for c in r.columns], pa.string())

    def floats(key: str) -> pa.Array:
        return pa.array([c.get(key) for c in r.columns], pa.float64())

    n = len(r.columns)
    return pa.table({
        "dataset_id": pa.array([r.dataset_id] * n, pa.string()),
        "version": pa.array([r.version] * n, pa.int32()),
        "column_id": pa.array([int(c["column_id"]) for c in r.columns], pa.int32()),
        "source_column": strings("source_column"),
        "element": strings("element"),
        "unit": strings("unit"),
        "method": strings("method"),
        "digestion": strings("digestion"),
        "original_unit": strings("original_unit"),
        "factor": floats("factor"),
        "detection_limit": floats("detection_limit"),
    })


def _countries_table(r: VersionRecord, per_country: dict[str, tuple[int, int]]) -> pa.Table:
    keys = sorted(per_country)
    return pa.table({
        "dataset_id": pa.array([r.dataset_id] * len(keys), pa.string()),
        "version": pa.array([r.version] * len(keys), pa.int32()),
        "country": pa.array([k or None for k in keys], pa.string()),
        "n_samples": pa.array([per_country[k][0] for k in keys], pa.int64()),
        "n_measurements": pa.array([per_country[k][1] for k in keys], pa.int64()),
    })


# ---------------------------------------------------------------------- cells


def _codes(col: pa.ChunkedArray) -> tuple[np.ndarray, list[Any]]:
    arr = col.combine_chunks()
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    enc = pc.dictionary_encode(arr)
    codes = pc.fill_null(enc.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    return codes, enc.dictionary.to_pylist()


def cell_groups(table: pa.Table) -> Iterator[tuple[dict[str, Any], pa.Table]]:
    """``table``'s rows by grid, level, medium, element, method and unit (the keys of a
    stored cell chunk), each group in the rows' order, groups in order of appearance.

    Examples
    --------
    >>> t = pa.table({"level_m": [10, 20, 10], "element": ["Cu", "Cu", "Cu"], "n": [1, 2, 3]})
    >>> [(k["level_m"], g.column("n").to_pylist()) for k, g in cell_groups(t)]
    [(10, [1, 3]), (20, [2])]
    """
    n = table.num_rows
    if n == 0:
        return
    names = [k for k in _CELL_KEYS if k in table.column_names]
    coded = [_codes(table.column(k)) for k in names]
    if not coded:
        yield {}, table
        return
    codes = np.stack([c for c, _ in coded])

    def key_of(row: int) -> dict[str, Any]:
        return {name: (values[c[row]] if c[row] >= 0 else None)
                for name, (c, values) in zip(names, coded, strict=True)}

    # the builder's tables come grouped already: then each group is a slice (no copy)
    runs = np.flatnonzero(np.any(codes[:, 1:] != codes[:, :-1], axis=0)) + 1
    starts = [0, *runs.tolist()]
    if len(starts) <= 10_000 and len({tuple(codes[:, i]) for i in starts}) == len(starts):
        for start, end in itertools.pairwise([*starts, n]):
            yield key_of(start), table.slice(start, end - start)
        return
    order = np.lexsort(codes[::-1])
    ordered = codes[:, order]
    change = np.flatnonzero(np.any(ordered[:, 1:] != ordered[:, :-1], axis=0)) + 1
    for start, end in itertools.pairwise([0, *change.tolist(), n]):
        yield key_of(int(order[start])), table.take(pa.array(order[start:end]))


def write_cell_chunks(
    conn: AdbcConnection, vid: int, grid: str, tables: Iterable[pa.Table]
) -> tuple[int, pa.Schema | None]:
    """Write the cell tables of version ``vid`` on ``grid`` as Parquet chunks, as they
    come (the caller's transaction; the old chunks are deleted first). Returns the number
    of rows and the schema (the first table's; later ones are cast to it)."""
    with conn.cursor() as cur:
        cur.execute(f"DELETE FROM {SCHEMA}.cell_chunks WHERE vid = {int(vid)} AND grid = $1",
                    (grid,))
    schema: pa.Schema | None = None
    rows = part = size = 0
    pending: dict[str, list[Any]] = {f.name: [] for f in _CELL_CHUNK_SCHEMA}

    def send() -> None:
        nonlocal size
        if not pending["part"]:
            return
        batch = pa.table({f.name: pa.array(pending[f.name], f.type) for f in _CELL_CHUNK_SCHEMA})
        with conn.cursor() as cur:
            cur.adbc_ingest("cell_chunks", batch, mode="append", db_schema_name=SCHEMA)
        for values in pending.values():
            values.clear()
        size = 0

    for given in tables:
        if schema is None:
            schema = given.schema
        t = given if given.schema.equals(schema) else given.cast(schema)
        rows += t.num_rows
        for key, group in cell_groups(t):
            for start in range(0, group.num_rows, CELL_CHUNK_ROWS):
                piece = group.slice(start, CELL_CHUNK_ROWS)
                data = to_parquet(piece, "zstd")
                n3 = 0
                if "n" in piece.column_names:
                    n3 = int(pc.sum(pc.greater_equal(piece.column("n"), 3)).as_py() or 0)
                row = {**key, "vid": vid, "grid": grid, "part": part,
                       "n_rows": piece.num_rows, "n_n3": n3, "data": data}
                for name, values in pending.items():
                    values.append(row.get(name))
                part += 1
                size += len(data)
                if size >= _SEND_BYTES:
                    send()
    send()
    fault("cells-before-rename")
    return rows, schema


_CELL_CHUNK_SCHEMA = pa.schema([
    ("vid", pa.int32()), ("grid", pa.string()), ("part", pa.int32()),
    ("level_m", pa.int32()), ("medium", pa.string()), ("element", pa.string()),
    ("method", pa.string()), ("unit", pa.string()), ("n_rows", pa.int64()),
    ("n_n3", pa.int64()), ("data", pa.binary()),
])
