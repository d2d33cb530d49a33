"""Build the multi-scale grid database: per-cell statistics of every dataset at every level.

For each dataset version, medium, element (and analytical method) and grid level, every
cell holding samples gets the statistics of :data:`chemearth.aggregate.STATISTICS`. The
result is stored with the dataset version (``cells-<grid>.parquet``), so adding a dataset
computes only that dataset, and a new version of a dataset only that version.

Examples
--------
>>> from chemearth.store import open_store            # doctest: +SKIP
>>> table = build_cells(open_store(), "meuse")         # doctest: +SKIP
>>> table.column_names[:6]                             # doctest: +SKIP
['grid', 'level_m', 'cell', 'cell_id', 'medium', 'element']
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pyarrow as pa

from chemearth.aggregate import STATISTICS, RankedValues, factorize
from chemearth.store.base import Store

__all__ = ["CELL_COLUMNS", "build_cells", "cell_table_schema"]

#: Key columns of a cell table, before the statistics.
CELL_COLUMNS = ("grid", "level_m", "cell", "cell_id", "medium", "element", "method", "unit")

Progress = Callable[[str, int, int], None]


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


def build_cells(
    store: Store,
    dataset_id: str,
    version: int | None = None,
    grid: str = "global",
    levels: Sequence[int] | None = None,
    progress: Progress | None = None,
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

    Returns
    -------
    pyarrow.Table
        Schema :func:`cell_table_schema`; one row per (level, cell, medium, element,
        method). Samples without a location, or outside the grid, are left out.
    """
    from chemearth.grids import get_grid

    g = get_grid(grid)
    levels = list(levels or g.levels)
    samples = store.samples(dataset_id, version)
    located = samples["longitude"].notna().to_numpy() & samples["latitude"].notna().to_numpy()
    samples = samples[located]
    lon = samples["longitude"].to_numpy(dtype=np.float64)
    lat = samples["latitude"].to_numpy(dtype=np.float64)
    sample_index = samples["sample_index"].to_numpy(dtype=np.int64)
    per_level: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for level in levels:
        keys = g.cell_keys(lon, lat, level)
        inside = keys >= 0
        unique, gidx = factorize(keys[inside])
        full = np.full(len(keys), -1, dtype=np.int64)
        full[inside] = gidx
        per_level[level] = (unique, full, g.key_to_id(unique))
    media = samples["medium"].astype(str).to_numpy()
    columns = store.measurement_columns(dataset_id, version)
    tables: list[pa.Table] = []
    tick = progress or (lambda step, done, total: None)
    for n_done, col in enumerate(columns.itertuples(index=False)):
        tick(f"gridding {col.element}", n_done, len(columns))
        column_id: int = col.column_id  # type: ignore[assignment]
        wide = store.column_values(dataset_id, version, column_id)
        rows = _positions(sample_index, wide["sample_index"])
        ok = rows >= 0
        rows = rows[ok]
        values = wide["value"][ok]
        censored = wide["censored"][ok]
        for medium in np.unique(media[rows]):
            sel = media[rows] == medium
            ranked = RankedValues(values[sel], censored[sel])
            for level in levels:
                unique, full, ids = per_level[level]
                gidx = full[rows[sel]]
                inside = gidx >= 0
                if not inside.all():
                    ranked_in = RankedValues(values[sel][inside], censored[sel][inside])
                    stats = ranked_in.grouped_stats(unique, gidx[inside])
                else:
                    stats = ranked.grouped_stats(unique, gidx)
                tables.append(_table(g.name, level, stats, unique, ids, str(medium), col))
    tick("gridding", len(columns), len(columns))
    schema = cell_table_schema()
    if not tables:
        return schema.empty_table()
    return pa.concat_tables([t.cast(schema) for t in tables])


def _positions(index: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Position of each ``wanted`` sample index in ``index`` (-1 where absent)."""
    order = np.argsort(index)
    pos = np.searchsorted(index, wanted, sorter=order)
    pos = np.minimum(pos, len(index) - 1) if len(index) else pos
    found = (
        (len(index) > 0) & (index[order[pos]] == wanted)
        if len(index)
        else np.zeros(len(wanted), bool)
    )
    return np.where(found, order[pos], -1).astype(np.int64)


def _table(
    grid: str,
    level: int,
    stats: dict[str, np.ndarray],
    unique: np.ndarray,
    ids: np.ndarray,
    medium: str,
    col: object,
) -> pa.Table:
    n = len(stats["cell"])
    pos = np.searchsorted(unique, stats["cell"])
    cols: dict[str, pa.Array] = {
        "grid": pa.array([grid] * n, pa.string()),
        "level_m": pa.array(np.full(n, level, dtype=np.int32)),
        "cell": pa.array(stats["cell"].astype(np.int64)),
        "cell_id": pa.array(np.asarray(ids)[pos], pa.string()),
        "medium": pa.array([medium] * n, pa.string()),
        "element": pa.array([col.element] * n, pa.string()),  # type: ignore[attr-defined]
        "method": pa.array([col.method] * n, pa.string()),  # type: ignore[attr-defined]
        "unit": pa.array([col.unit] * n, pa.string()),  # type: ignore[attr-defined]
    }
    for name in STATISTICS:
        cols[name] = pa.array(stats[name])
    return pa.table(cols)
