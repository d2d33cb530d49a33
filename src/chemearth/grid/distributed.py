"""The grid aggregation on a ``dask.distributed`` cluster, over partitioned Parquet.

Every level of both grids nests in the 160 km root cells (``docs/grids.md``), so a
dataset split by root cell can be aggregated partition by partition: no cell at any level
spans two partitions, and each partition's cells are final. The steps:

1. :func:`partition_dataset` writes the dataset's samples with their analyte columns as
   hive-partitioned Parquet (``part=<k>/``), whole root cells per partition, balanced by
   sample count (largest root cell first into the emptiest partition). Rows keep their
   order, so sums inside a cell are taken in the same order as on one machine.
2. :func:`partition_cells` runs on a worker: it reads one partition and computes its
   cell tables with :func:`chemearth.grid.tables.cell_tables`, the very code the
   single-machine path runs.
3. :func:`build_cells_dask` maps step 2 over the partitions and puts the result in
   :func:`chemearth.grid.tables.canonical` order: the same table, bit for bit, as
   :func:`chemearth.grid.tables.build_cells`.

Workers must see the partition files: a local cluster does; a remote one needs the
``workdir`` on a shared file system (see ``docs/scaling.md``).

Examples
--------
>>> from chemearth.store import open_store                          # doctest: +SKIP
>>> with connect("local:2") as client:                              # doctest: +SKIP
...     table = build_cells_dask(open_store(), client, "kola-humus", partitions=4)
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from chemearth.errors import ChemearthError
from chemearth.grid.geometry import get_grid

if TYPE_CHECKING:
    from distributed import Client

    from chemearth.store.base import Store

__all__ = [
    "build_cells_dask",
    "build_layers_dask",
    "connect",
    "partition_cells",
    "partition_dataset",
    "write_partitions",
]


@contextlib.contextmanager
def connect(address: str, timeout: float = 10.0) -> Iterator[Client]:
    """A ``distributed.Client``: ``"local:N"`` starts a LocalCluster of N one-thread worker
    processes (closed on exit); anything else is a scheduler address (``tcp://host:8786``),
    given ``timeout`` seconds to answer."""
    from distributed import Client, LocalCluster

    if address.startswith("local"):
        _, _, n = address.partition(":")
        try:
            workers = int(n or 2)
        except ValueError:
            raise ChemearthError(f"scheduler {address!r}: write local:N, e.g. local:2") from None
        with (
            LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                memory_limit="auto",
            ) as cluster,
            Client(cluster) as client,
        ):
            yield client
        return
    try:
        client = Client(address, timeout=f"{timeout}s")
    except OSError as exc:
        raise ChemearthError(f"cannot reach the dask scheduler at {address}: {exc}") from None
    with client:
        yield client


def partition_dataset(
    store: Store,
    dataset_id: str,
    out_dir: str | Path,
    partitions: int,
    version: int | None = None,
    grid: str = "global",
) -> tuple[list[Path], pd.DataFrame]:
    """Write one dataset version as Parquet partitions of whole 160 km root cells.

    Returns the partition directories (empty ones left out) and the analyte columns
    (``column_id``, ``element``, ``method``, ``unit``); see :func:`write_partitions`.
    """
    from chemearth.grid.tables import _positions

    samples = store.samples(dataset_id, version)
    index = samples["sample_index"].to_numpy(dtype=np.int64)
    meta = store.measurement_columns(dataset_id, version)
    columns: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for k in meta["column_id"].astype(int):
        v = store.column_values(dataset_id, version, int(k))
        pos = _positions(index, v["sample_index"])
        found = pos >= 0
        values = np.full(len(index), np.nan)
        censored = np.zeros(len(index), dtype=bool)
        values[pos[found]], censored[pos[found]] = v["value"][found], v["censored"][found]
        columns[int(k)] = (values, censored)
    return write_partitions(
        samples["longitude"].to_numpy(dtype=np.float64, na_value=np.nan),
        samples["latitude"].to_numpy(dtype=np.float64, na_value=np.nan),
        samples["medium"].astype(str).to_numpy(),
        columns,
        meta,
        out_dir,
        partitions,
        grid,
    )


def write_partitions(
    longitude: np.ndarray,
    latitude: np.ndarray,
    media: np.ndarray,
    columns: Mapping[int, tuple[np.ndarray, np.ndarray]],
    meta: pd.DataFrame,
    out_dir: str | Path,
    partitions: int,
    grid: str = "global",
) -> tuple[list[Path], pd.DataFrame]:
    """Write samples and their analyte columns as partitions of whole 160 km root cells.

    Parameters
    ----------
    longitude, latitude, media : ndarray
        One entry per sample.
    columns : mapping
        ``column_id -> (values, censored)``, aligned with the samples; NaN where a sample
        has no analysis.
    meta : pandas.DataFrame
        ``column_id``, ``element``, ``method``, ``unit`` of each column.
    out_dir : path
        Where ``part=<k>/data.parquet`` are written.
    partitions : int
        How many partitions (at most; empty ones are not written).
    grid : str
        The grid whose 160 km cells are kept whole.

    Returns
    -------
    (list of Path, pandas.DataFrame)
        The partition folders and ``meta`` (methods as strings).
    """
    if partitions < 1:
        raise ChemearthError(f"partitions must be at least 1, got {partitions}")
    g = get_grid(grid)
    lon = np.asarray(longitude, dtype=np.float64)
    lat = np.asarray(latitude, dtype=np.float64)
    part = _assign(g.cell_keys(lon, lat, g.levels[0]), partitions)
    data: dict[str, Any] = {"longitude": lon, "latitude": lat, "medium": np.asarray(media, str)}
    for k, (values, censored) in columns.items():
        data[f"v{k}"], data[f"c{k}"] = values, censored
    table = pa.table(data)
    out = Path(out_dir)
    paths = []
    for p in range(partitions):
        rows = np.flatnonzero(part == p)
        if not len(rows):
            continue
        d = out / f"part={p}"
        d.mkdir(parents=True, exist_ok=True)
        pq.write_table(table.take(pa.array(rows)), d / "data.parquet", compression="zstd")
        paths.append(d)
    info = meta[["column_id", "element", "method", "unit"]].copy()
    info["method"] = info["method"].fillna("").astype(str)
    return paths, info


def _assign(root: np.ndarray, partitions: int) -> np.ndarray:
    """Partition of every sample: whole root cells, largest first into the emptiest."""
    part = np.full(len(root), -1, dtype=np.int64)
    on = root >= 0
    if not on.any():
        return part
    keys, inverse, counts = np.unique(root[on], return_inverse=True, return_counts=True)
    load = np.zeros(partitions, dtype=np.int64)
    owner = np.empty(len(keys), dtype=np.int64)
    for i in np.lexsort((keys, -counts)):
        owner[i] = int(np.argmin(load))
        load[owner[i]] += counts[i]
    part[on] = owner[inverse]
    return part


def partition_cells(
    path: str | Path,
    columns: pd.DataFrame,
    grid: str,
    levels: Sequence[int],
    threads: int = 1,
    out: str | Path | None = None,
) -> pa.Table | int:
    """The cell tables of one partition (runs on a worker).

    Returns the table, or with ``out`` writes it to ``out/<partition>.parquet`` as it is
    computed (so a worker never holds a whole partition's cells) and returns the number
    of rows.
    """
    from chemearth.grid.tables import ColumnData, cell_table_schema, cell_tables

    table = pq.read_table(Path(path) / "data.parquet")
    lon = table.column("longitude").to_numpy()
    lat = table.column("latitude").to_numpy()
    media = np.asarray(table.column("medium").to_pylist(), dtype=str)

    def data() -> Iterator[ColumnData]:
        for row in columns.itertuples(index=False):
            k = int(row.column_id)  # type: ignore[arg-type]
            values = table.column(f"v{k}").to_numpy()
            rows = np.flatnonzero(np.isfinite(values))
            censored = table.column(f"c{k}").to_numpy(zero_copy_only=False)
            yield ColumnData(
                str(row.element),
                str(row.method),
                str(row.unit),
                rows,
                values[rows],
                np.asarray(censored, dtype=bool)[rows],
            )

    schema = cell_table_schema()
    tables = cell_tables(grid, levels, lon, lat, media, data(), threads)
    if out is None:
        parts = list(tables)
        return pa.concat_tables(parts) if parts else schema.empty_table()
    Path(out).mkdir(parents=True, exist_ok=True)
    rows = 0
    with pq.ParquetWriter(Path(out) / f"{Path(path).name}.parquet", schema) as writer:
        for t in tables:
            writer.write_table(t)
            rows += t.num_rows
    return rows


def build_cells_dask(
    store: Store,
    client: Client,
    dataset_id: str,
    version: int | None = None,
    grid: str = "global",
    levels: Sequence[int] | None = None,
    partitions: int | None = None,
    workdir: str | Path | None = None,
) -> pa.Table:
    """:func:`chemearth.grid.tables.build_cells`, computed on a dask cluster.

    Parameters
    ----------
    store, dataset_id, version, grid, levels
        As for :func:`chemearth.grid.tables.build_cells`.
    client : distributed.Client
        The cluster.
    partitions : int, optional
        Number of Parquet partitions (default: two per worker thread).
    workdir : path, optional
        Where the partitions are written (default: a temporary folder, removed after);
        must be readable by every worker.
    """
    from chemearth.grid.tables import canonical, cell_table_schema

    g = get_grid(grid)
    level_list = list(levels or g.levels)
    if partitions is None:
        threads = sum(client.nthreads().values()) or 1
        partitions = 2 * threads
    own = workdir is None
    base = Path(tempfile.mkdtemp(prefix="chemearth-dask-")) if own else Path(workdir)  # type: ignore[arg-type]
    try:
        paths, columns = partition_dataset(store, dataset_id, base, partitions, version, g.name)
        if not paths:
            return cell_table_schema().empty_table()
        futures = client.map(
            partial(partition_cells, columns=columns, grid=g.name, levels=level_list),
            [str(p) for p in paths],
            pure=False,
        )
        tables: list[pa.Table] = client.gather(futures)
        return canonical(pa.concat_tables(tables))
    finally:
        if own:
            shutil.rmtree(base, ignore_errors=True)


def build_layers_dask(
    store: Store,
    client: Client,
    datasets: Sequence[str] | None = None,
    *,
    grids: Sequence[str] | None = None,
    levels: Sequence[int] | None = None,
    force: bool = False,
    partitions: int | None = None,
) -> pd.DataFrame:
    """:func:`chemearth.grid.layers.build_layers` with the aggregation on a dask cluster."""
    from chemearth.grid.layers import build_layers

    def builder(
        store: Store, ds: str, version: int, grid: str, levels: Sequence[int] | None, tick: Any
    ) -> pa.Table:
        return build_cells_dask(store, client, ds, version, grid, levels, partitions)

    return build_layers(store, datasets, grids=grids, levels=levels, force=force, builder=builder)
