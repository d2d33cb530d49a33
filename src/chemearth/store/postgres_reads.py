"""Reading the PostgreSQL store's bulk data as the embedded store returns it (see
:mod:`chemearth.store.postgres`).

The embedded store's reads go through DuckDB, Arrow and ``to_pandas``; these helpers give
the server store's Arrow results the same types (:func:`conform`, :func:`to_frame`) and
rebuild, from the stored Parquet chunks, what DuckDB computes there: the long measurement
table (:func:`long_table`) and the cell tables (:func:`cells_table`).

Examples
--------
>>> repeat("Cu", 3, pa.string()).to_pylist()
['Cu', 'Cu', 'Cu']
>>> conform(pa.table({"n": pa.array([1], pa.int64())}), [("n", pa.int32())]).schema
n: int32
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any, cast

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from chemearth.store.postgres_common import SCHEMA, AdbcConnection, arrow_query, from_parquet
from chemearth.store.postgres_writer import load_chunks

__all__ = [
    "COLUMN_INFO",
    "cells_table",
    "conform",
    "local_tz",
    "long_table",
    "plain_type",
    "repeat",
    "to_frame",
]

#: The columns of ``version_columns`` that ``measurement_columns`` returns, in order.
COLUMN_INFO = (
    "column_id, element, unit, method, digestion, original_unit, factor, detection_limit, "
    "source_column"
)


@functools.cache
def local_tz() -> str:
    """The time zone the embedded store's DuckDB gives its timestamps (the system's), so
    that both stores return the same dtypes."""
    try:
        import duckdb

        con = duckdb.connect(":memory:")
        try:
            row = con.execute("SELECT current_setting('TimeZone')").fetchone()
        finally:
            con.close()
        return str(row[0]) if row else "UTC"
    except Exception:  # pragma: no cover - DuckDB is a dependency of chemearth
        return "UTC"


def plain_type(t: pa.DataType) -> pa.DataType:
    """Dictionary types as their values (as DuckDB reads Parquet); timestamps with time
    zones in the local zone."""
    if pa.types.is_dictionary(t):
        return t.value_type
    if pa.types.is_timestamp(t) and t.tz is not None:
        return pa.timestamp(t.unit, tz=local_tz())
    return t


def conform(table: pa.Table, fields: Iterable[tuple[str, pa.DataType]]) -> pa.Table:
    """``table``'s columns ``fields`` (names and types, made plain by :func:`plain_type`),
    in that order."""
    schema = pa.schema([(n, plain_type(t)) for n, t in fields])
    return table.select(schema.names).cast(schema)


def to_frame(table: pa.Table) -> pd.DataFrame:
    """``table`` as pandas, as the embedded store converts its query results."""
    return cast(pd.DataFrame, table.to_pandas())


def repeat(value: Any, n: int, kind: pa.DataType) -> pa.Array:
    """``value`` ``n`` times (a dictionary of one entry, decoded: no Python loop)."""
    return pa.DictionaryArray.from_arrays(
        pa.array(np.zeros(n, dtype=np.int32)), pa.array([value], kind)
    ).cast(kind)


def cells_table(found: pa.Table, built: list[dict[str, Any]], limit: int | None) -> pa.Table:
    """The stored cell chunks ``found`` (``vid``, ``data``) of the versions ``built``
    (``vid``, ``dataset_id``, ``version``, ``cell_schema``) as one table, as the embedded
    store reads its cell files: dictionaries decoded, ``dataset_id`` and ``version``
    last, ordered by dataset, level (coarse first), element, medium and cell (then
    method and unit, so that ties are ordered too)."""
    of_vid = {int(r["vid"]): r for r in built}
    tables = []
    vids, data = found.column("vid").to_pylist(), found.column("data")
    for i, vid in enumerate(vids):
        t = from_parquet(data[i].as_buffer())
        t = t.append_column("dataset_id", repeat(of_vid[vid]["dataset_id"], t.num_rows,
                                                 pa.string()))
        tables.append(t.append_column("version", repeat(of_vid[vid]["version"], t.num_rows,
                                                        pa.int32())))
    if not tables:
        schema = pa.ipc.read_schema(pa.py_buffer(bytes(built[0]["cell_schema"])))
        tables = [schema.empty_table().append_column("dataset_id", pa.array([], pa.string()))
                  .append_column("version", pa.array([], pa.int32()))]
    t = pa.concat_tables(tables, promote_options="permissive")
    t = conform(t, [(f.name, f.type) for f in t.schema])
    keys = [("dataset_id", "ascending"), ("level_m", "descending"), ("element", "ascending"),
            ("medium", "ascending"), ("cell", "ascending"), ("method", "ascending"),
            ("unit", "ascending")]
    t = t.take(pc.sort_indices(t, sort_keys=[k for k in keys if k[0] in t.column_names]))
    if limit is not None:
        t = t.slice(0, max(int(limit), 0))
    return t


def long_table(
    conn: AdbcConnection,
    ds: str,
    version: int,
    vid: int,
    cols: list[dict[str, Any]],
    limit: int | None = None,
) -> pa.Table:
    """One version's measurements in the long layout (``MEASUREMENT_COLUMNS`` plus
    ``_column``, the position of the column in ``cols``), as the embedded store's SQL
    makes them: rows with a value whose sample exists. With ``limit``, only the rows of
    the samples holding the first ``limit`` rows in sample order (and ties)."""
    ks = [int(c["column_id"]) for c in cols]
    samples = arrow_query(
        conn,
        "SELECT sample_index, sample_id, longitude, latitude, country, medium "
        f"FROM {SCHEMA}.samples_{int(vid)}",
    )
    s_index = samples.column("sample_index").to_numpy().astype(np.int64)
    s_order = np.argsort(s_index, kind="stable")
    s_sorted = s_index[s_order]
    found: list[tuple[pa.Table, int, int, np.ndarray, np.ndarray, np.ndarray]] = []
    for chunk in load_chunks(conn, vid, ks):
        si = chunk.column("sample_index").to_numpy().astype(np.int64)
        for pos, k in enumerate(ks):
            if f"v{k}" not in chunk.column_names:
                continue
            rows = np.flatnonzero(pc.is_valid(chunk.column(f"v{k}")).to_numpy(False))
            at = np.searchsorted(s_sorted, si[rows])
            ok = at < len(s_sorted)
            ok[ok] = s_sorted[at[ok]] == si[rows][ok]
            found.append((chunk, pos, k, rows[ok], s_order[at[ok]], si[rows[ok]]))
    if limit is not None:  # rows come by sample_index first: keep the smallest ones only
        every = np.concatenate([f[5] for f in found]) if found else np.empty(0, np.int64)
        if len(every) > limit:
            top = np.partition(every, max(limit, 1) - 1)[max(limit, 1) - 1]
            found = [(c, pos, k, r[i <= top], sp[i <= top], i[i <= top])
                     for c, pos, k, r, sp, i in found]
    pieces: list[dict[str, Any]] = []
    for chunk, pos, k, rows, spos_of, si_of in found:
        take = pa.array(rows)
        n = len(rows)

        def column(name: str, kind: pa.DataType, c: pa.Table = chunk, n: int = n,
                   take: pa.Array = take) -> Any:
            if name in c.column_names:
                return c.column(name).take(take).cast(kind)
            return pa.nulls(n, kind)

        pieces.append({
            "spos": spos_of, "_column": np.full(n, pos, np.int32),
            "sample_index": si_of.astype(np.int32), "value": column(f"v{k}", pa.float64()),
            "censored": column(f"c{k}", pa.bool_()), "o": column(f"o{k}", pa.float64()),
            "q": column(f"q{k}", pa.int8()),
        })
    n = sum(len(p["spos"]) for p in pieces)

    def joined(key: str) -> Any:
        if key in ("spos", "_column", "sample_index"):
            return np.concatenate([p[key] for p in pieces]) if pieces else np.empty(0, np.int32)
        kind = {"value": pa.float64(), "censored": pa.bool_(), "o": pa.float64(),
                "q": pa.int8()}[key]
        arrays = [c for p in pieces for c in
                  (p[key].chunks if isinstance(p[key], pa.ChunkedArray) else [p[key]])]
        return pa.chunked_array(arrays, kind).combine_chunks()

    col = pa.array(joined("_column"))
    spos = pa.array(joined("spos"))
    value, censored = joined("value"), joined("censored")
    meta = {k: pa.array([c[k] for c in cols], pa.float64() if k in ("factor", "detection_limit")
                        else pa.string()) for k in COLUMN_INFO.split(", ")[1:]}
    factor = meta["factor"].take(col)
    ratio = pc.if_else(pc.equal(factor, 0.0), pa.scalar(None, pa.float64()),
                       pc.divide(value, factor))
    q = pc.fill_null(joined("q").cast(pa.int32()), 0)
    qualifier = pa.DictionaryArray.from_arrays(
        pc.if_else(pc.or_(pc.less(q, 1), pc.greater(q, 2)), pa.scalar(None, pa.int32()), q),
        pa.array([None, "<", ">"], pa.string()),
    ).cast(pa.string())
    return pa.table({
        "dataset_id": repeat(ds, n, pa.string()),
        "version": repeat(version, n, pa.int32()),
        "sample_id": samples.column("sample_id").take(spos),
        "longitude": samples.column("longitude").take(spos),
        "latitude": samples.column("latitude").take(spos),
        "country": samples.column("country").take(spos),
        "medium": samples.column("medium").take(spos),
        "sample_index": pa.array(joined("sample_index"), pa.int32()),
        "element": meta["element"].take(col),
        "value": value,
        "unit": meta["unit"].take(col),
        "censored": censored,
        "detection_limit": pc.if_else(pc.fill_null(censored, False), value,
                                      meta["detection_limit"].take(col)),
        "method": meta["method"].take(col),
        "digestion": meta["digestion"].take(col),
        "original_value": pc.coalesce(joined("o"), ratio),
        "original_unit": meta["original_unit"].take(col),
        "source_column": meta["source_column"].take(col),
        "qualifier": qualifier,
        "_column": col,
    })
