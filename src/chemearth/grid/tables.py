"""Build the multi-scale grid database: per-cell statistics of every dataset at every level.

For each dataset version, medium, element (and analytical method) and grid level, every
cell holding samples gets the statistics of :data:`chemearth.grid.aggregate.STATISTICS`. The
result is stored with the dataset version (``cells-<grid>.parquet``), so adding a dataset
computes only that dataset, and a new version of a dataset only that version.

The computation itself is :func:`cell_tables`, which works on plain arrays and knows
nothing of the store: the single-machine path (:func:`build_cells`) feeds it a whole
dataset, the distributed path (:mod:`chemearth.grid.distributed`) one partition of 160 km
root cells at a time. Every level of both grids nests in the 160 km root cells, so a
cell never straddles two partitions and both paths give the same rows; :func:`canonical`
puts them in the same order.

Examples
--------
>>> import numpy as np
>>> lon, lat = np.array([10.01, 10.02, 10.5]), np.array([50.01, 50.02, 50.5])
>>> col = ColumnData("Cu", "", "mg/kg", np.arange(3), np.array([1.0, 3.0, 8.0]),
...                  np.zeros(3, bool))
>>> t = canonical(pa.concat_tables(cell_tables("global", [160_000, 10_000], lon, lat,
...                                            np.array(["soil"] * 3), [col])))
>>> t.select(["level_m", "cell_id", "n", "median"]).to_pylist()[0]
{'level_m': 160000, 'cell_id': 'G160km-E006-N35', 'n': 3, 'median': 3.0}
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from chemearth.grid.aggregate import STATISTICS, SortedValues, factorize
from chemearth.grid.geometry import Grid
from chemearth.store.base import Store

__all__ = [
    "CELL_COLUMNS",
    "ColumnData",
    "build_cells",
    "canonical",
    "cell_table_schema",
    "cell_tables",
    "iter_cells",
]

#: Key columns of a cell table, before the statistics.
CELL_COLUMNS = ("grid", "level_m", "cell", "cell_id", "medium", "element", "method", "unit")

#: The order of a cell table: coarse levels first, then medium, element, method, cell.
SORT_KEYS = [
    ("level_m", "descending"),
    ("medium", "ascending"),
    ("element", "ascending"),
    ("method", "ascending"),
    ("unit", "ascending"),
    ("cell", "ascending"),
]

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class ColumnData:
    """One analyte column: what it is, and its values by sample position.

    ``rows`` are positions into the sample arrays passed to :func:`cell_tables`;
    ``values`` are in the canonical unit, censored ones at their detection limit.
    """

    element: str
    method: str
    unit: str
    rows: np.ndarray
    values: np.ndarray
    censored: np.ndarray


def cell_table_schema() -> pa.Schema:
    """The Arrow schema of a stored cell table."""
    fields = [
        pa.field("grid", pa.dictionary(pa.int8(), pa.string())),
        pa.field("level_m", pa.int32()),
        pa.field("cell", pa.int64()),
        pa.field("cell_id", pa.string()),
        pa.field("medium", pa.dictionary(pa.int8(), pa.string())),
        pa.field("element", pa.dictionary(pa.int16(), pa.string())),
        pa.field("method", pa.dictionary(pa.int16(), pa.string())),
        pa.field("unit", pa.dictionary(pa.int8(), pa.string())),
    ]
    for name in STATISTICS:
        kind = pa.int64() if name in ("n", "n_censored") else pa.float64()
        fields.append(pa.field(name, kind))
    return pa.schema(fields)


def canonical(table: pa.Table) -> pa.Table:
    """``table`` in the canonical row order (:data:`SORT_KEYS`), with the stored schema."""
    schema = cell_table_schema()
    if table.num_rows == 0:
        return schema.empty_table()
    plain = table.select(list(schema.names))
    for name in ("grid", "medium", "element", "method", "unit"):
        i = plain.schema.get_field_index(name)
        plain = plain.set_column(i, name, plain.column(name).cast(pa.string()))
    order = pc.sort_indices(plain, sort_keys=SORT_KEYS)
    return plain.take(order).cast(schema).combine_chunks()


def cell_tables(
    grid: str,
    levels: Sequence[int],
    longitude: np.ndarray,
    latitude: np.ndarray,
    media: np.ndarray,
    columns: Iterable[ColumnData],
    threads: int | None = None,
    progress: Progress | None = None,
    n_columns: int | None = None,
) -> Iterator[pa.Table]:
    """Per-cell statistics of some samples, one table per column, medium and level.

    Parameters
    ----------
    grid : str
        ``"global"`` or ``"europe"``.
    levels : sequence of int
        Cell sizes in metres.
    longitude, latitude : ndarray
        WGS 84 coordinates of every sample; samples off the grid (or without a location)
        are left out.
    media : ndarray of str
        The sampled medium of every sample.
    columns : iterable of ColumnData
        The analyte columns; consumed lazily, a few at a time.
    threads : int, optional
        Columns computed at once (default: the number of CPUs). numpy's sort and the
        compiled kernels (:mod:`chemearth.grid.kernels`) release the GIL, so threads scale.
    progress : callable, optional
        Called as ``progress(element, done, total)``.
    n_columns : int, optional
        The number of columns, for progress only.

    Yields
    ------
    pyarrow.Table
        One table per column (with analyses on the grid), with the schema of
        :func:`cell_table_schema`; rows by medium, then ``levels`` order, then cell.
    """
    from chemearth.grid.geometry import get_grid

    g = get_grid(grid)
    lon = np.asarray(longitude, dtype=np.float64)
    lat = np.asarray(latitude, dtype=np.float64)
    fine, per_level = _level_cells(g, levels, *g.to_xy(lon, lat))  # project once
    medium_names, medium_code = np.unique(np.asarray(media, dtype=str), return_inverse=True)
    medium_code = np.where(fine >= 0, medium_code, -1)
    finest = int(np.argmin(levels)) if len(levels) else -1

    def work(col: ColumnData) -> pa.Table | None:
        rows = np.asarray(col.rows, dtype=np.int64)
        values = np.asarray(col.values, dtype=np.float64)
        censored = np.asarray(col.censored, dtype=bool)
        keep = (medium_code[rows] >= 0) & np.isfinite(values)
        rows, values, censored = rows[keep], values[keep], censored[keep]
        codes = medium_code[rows]
        out: list[pa.Table] = []
        if not per_level:
            return None
        for m in np.flatnonzero(np.bincount(codes, minlength=len(medium_names))):
            sel = codes == m if len(medium_names) > 1 else slice(None)
            ranked = SortedValues(values[sel], censored[sel], rows[sel])
            fine_cells = ranked.take(fine)  # the finest level's cell of each value, in order
            # the finest level first: the levels it nests in merge its counts and moments
            finest_stats = ranked.grouped_stats(fine_cells, len(per_level[finest].keys))
            for i, cells in enumerate(per_level):
                if i == finest:
                    stats = finest_stats
                elif not cells.nested:  # the finest level does not nest in it: its own index
                    stats = ranked.grouped_stats(ranked.take(cells.index), len(cells.keys))
                else:
                    stats = ranked.grouped_stats(fine_cells, len(cells.keys), cells.index,
                                                 finer=finest_stats)
                out.append(_table(g.name, levels[i], stats, cells, str(medium_names[m]), col))
        return pa.concat_tables(out) if out else None

    tick = progress or (lambda step, done, total: None)
    total = n_columns or 0
    workers = max(1, threads or os.cpu_count() or 1)
    with ThreadPoolExecutor(workers) as pool:
        pending: deque[tuple[str, Future[pa.Table | None]]] = deque()
        done = 0
        for col in columns:
            pending.append((col.element, pool.submit(work, col)))
            if len(pending) > workers:
                name, fut = pending.popleft()
                if (table := fut.result()) is not None:
                    yield table
                done += 1
                tick(name, done, total)
        while pending:
            name, fut = pending.popleft()
            if (table := fut.result()) is not None:
                yield table
            done += 1
            tick(name, done, total)


@dataclass(frozen=True)
class _LevelCells:
    """The cells of one level holding samples, and where each sample falls.

    ``keys`` are sorted and ``ids`` are their cell ids. ``index`` points into ``keys``:
    when ``nested`` (the finest level nests in this one) it gives the cell of each
    cell of the finest level, otherwise the cell of each sample (-1 off the grid).
    """

    keys: np.ndarray
    ids: pa.Array
    index: np.ndarray
    nested: bool


def _level_cells(
    g: Grid, levels: Sequence[int], x: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, list[_LevelCells]]:
    """Key the samples once, at the finest level; derive the coarser levels from it.

    Returns the index of each sample's cell among the finest level's cells (-1 off the
    grid) and, per level of ``levels``, its :class:`_LevelCells`. A level the finest
    nests in gets its keys from those of a finer level (:meth:`Grid.parent
    <chemearth.grid.geometry.Grid.parent>`, integer division of column and row) over
    the distinct cells only, not the samples; any other level (4 km among 10 km and
    coarser) is keyed from the coordinates. All levels share the grid's bounds, so a
    sample is on the grid at every level or at none.

    Examples
    --------
    >>> from chemearth.grid.geometry import GLOBAL
    >>> x, y = np.array([5_000.0, 25_000.0, 45_000.0]), np.array([5_000.0, 5_000.0, 5_000.0])
    >>> fine, cells = _level_cells(GLOBAL, [40_000, 20_000, 10_000, 4_000], x, y)
    >>> fine.tolist(), [len(c.keys) for c in cells], cells[0].index.tolist()
    ([0, 1, 2], [2, 3, 3, 3], [0, 0, 1])
    >>> cells[2].nested, cells[2].index.tolist()  # 10 km: 4 km cells do not nest in it
    (False, [0, 1, 2])
    """
    n = len(x)
    levels = [int(v) for v in levels]
    if not levels:
        return np.full(n, -1, dtype=np.int64), []
    finest = int(np.argmin(levels))
    key = g.cell_keys_xy(x, y, levels[finest])
    on_grid = key >= 0
    keys, index = factorize(key[on_grid])
    fine = np.full(n, -1, dtype=np.int64)
    fine[on_grid] = index
    found: dict[int, tuple[np.ndarray, np.ndarray, bool]] = {
        finest: (keys, np.arange(len(keys), dtype=np.int64), True)
    }
    for i in sorted(range(len(levels)), key=lambda j: levels[j]):
        if i == finest:
            continue
        if g.nests(levels[finest], levels[i]):
            # from the coarsest level found so far that nests in this one
            src = max(
                (j for j, f in found.items() if f[2] and g.nests(levels[j], levels[i])),
                key=levels.__getitem__,
            )
            src_keys, src_index, _ = found[src]
            level_keys, inverse = np.unique(g.parent(src_keys, levels[i]), return_inverse=True)
            found[i] = (level_keys, inverse.astype(np.int64)[src_index], True)
        else:
            level_keys, index = factorize(g.cell_keys_xy(x, y, levels[i])[on_grid])
            of_sample = np.full(n, -1, dtype=np.int64)
            of_sample[on_grid] = index
            found[i] = (level_keys, of_sample, False)
    out = []
    for i in range(len(levels)):
        level_keys, index, nested = found[i]
        ids = pa.array(g.key_to_id(level_keys), pa.string())
        out.append(_LevelCells(level_keys, ids, index, nested))
    return fine, out


def iter_cells(
    store: Store,
    dataset_id: str,
    version: int | None = None,
    grid: str = "global",
    levels: Sequence[int] | None = None,
    progress: Progress | None = None,
    threads: int | None = None,
) -> Iterator[pa.Table]:
    """:func:`cell_tables` over one dataset version of ``store``, reading columns lazily.

    Yields tables with the stored schema (:func:`cell_table_schema`), ready for
    :meth:`Store.write_cells <chemearth.store.base.Store.write_cells>`.
    """
    from chemearth.grid.geometry import get_grid

    g = get_grid(grid)
    levels = list(levels or g.levels)
    if version is None:  # fix the version once: every read below is of the same one
        catalogue = store.datasets()
        latest = catalogue.loc[catalogue["dataset_id"] == dataset_id, "version"]
        version = int(latest.iloc[0]) if len(latest) else None
    samples = store.samples(dataset_id, version)
    lon = samples["longitude"].to_numpy(dtype=np.float64, na_value=np.nan)
    lat = samples["latitude"].to_numpy(dtype=np.float64, na_value=np.nan)
    sample_index = samples["sample_index"].to_numpy(dtype=np.int64)
    media = samples["medium"].astype(str).to_numpy()
    meta = store.measurement_columns(dataset_id, version)

    def columns() -> Iterator[ColumnData]:
        for col in meta.itertuples(index=False):
            wide = store.column_values(dataset_id, version, int(col.column_id))  # type: ignore[arg-type]
            rows = _positions(sample_index, wide["sample_index"])
            ok = rows >= 0
            yield ColumnData(
                str(col.element),
                str(col.method or ""),
                str(col.unit),
                rows[ok],
                wide["value"][ok],
                wide["censored"][ok],
            )

    yield from cell_tables(g.name, levels, lon, lat, media, columns(), threads, progress, len(meta))


def build_cells(
    store: Store,
    dataset_id: str,
    version: int | None = None,
    grid: str = "global",
    levels: Sequence[int] | None = None,
    progress: Progress | None = None,
    threads: int | None = None,
) -> pa.Table:
    """Per-cell statistics of one dataset version at every level of ``grid``.

    Parameters
    ----------
    store : Store
        Where the dataset lives.
    dataset_id : str
        The dataset.
    version : int, optional
        Its version (default: the latest).
    grid : str
        ``"global"`` (EASE-Grid 2.0, EPSG:6933) or ``"europe"`` (INSPIRE, EPSG:3035).
    levels : sequence of int, optional
        Cell sizes in metres (default: all levels of the grid).
    progress : callable, optional
        Called as ``progress(step, done, total)``.
    threads : int, optional
        Columns computed at once (default: the number of CPUs).

    Returns
    -------
    pyarrow.Table
        Schema :func:`cell_table_schema`, in :func:`canonical` order; one row per
        (level, cell, medium, element, method). Samples without a location, or outside
        the grid, are left out.
    """
    tables = list(iter_cells(store, dataset_id, version, grid, levels, progress, threads))
    if not tables:
        return cell_table_schema().empty_table()
    return canonical(pa.concat_tables(tables))


def _positions(index: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Position of each ``wanted`` sample index in ``index`` (-1 where absent)."""
    if not len(index):
        return np.full(len(wanted), -1, dtype=np.int64)
    order = np.argsort(index)
    pos = np.minimum(np.searchsorted(index, wanted, sorter=order), len(index) - 1)
    found = index[order[pos]] == wanted
    return np.where(found, order[pos], -1).astype(np.int64)


def _table(
    grid: str,
    level: int,
    stats: dict[str, np.ndarray],
    cells: _LevelCells,
    medium: str,
    col: ColumnData,
) -> pa.Table:
    """One level's statistics as a table of the stored schema (constant columns are
    dictionary arrays of one value, and ids are taken from the level's id array, so no
    string is built per row)."""
    group = stats["group"]
    n = len(group)
    schema = cell_table_schema()

    def constant(name: str, value: str) -> pa.Array:
        kind = schema.field(name).type
        return pa.DictionaryArray.from_arrays(
            pa.array(np.zeros(n, dtype=kind.index_type.to_pandas_dtype())),
            pa.array([value], pa.string()),
        )

    cols: dict[str, pa.Array] = {
        "grid": constant("grid", grid),
        "level_m": pa.array(np.full(n, level, dtype=np.int32)),
        "cell": pa.array(cells.keys[group].astype(np.int64)),
        "cell_id": cells.ids.take(pa.array(group)),
        "medium": constant("medium", medium),
        "element": constant("element", col.element),
        "method": constant("method", col.method),
        "unit": constant("unit", col.unit),
    }
    for name in STATISTICS:
        cols[name] = pa.array(stats[name])
    return pa.table(cols, schema=schema)
