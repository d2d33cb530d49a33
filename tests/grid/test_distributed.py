"""The grid aggregation on a dask LocalCluster equals the single-machine result, bit for bit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from chemearth.errors import ChemearthError
from chemearth.grid.distributed import (
    build_cells_dask,
    build_layers_dask,
    connect,
    partition_dataset,
)
from chemearth.grid.geometry import get_grid
from chemearth.grid.tables import build_cells


def assert_identical(a: pa.Table, b: pa.Table) -> None:
    """Same schema, rows and values; floats compared bit for bit (NaN included)."""
    assert a.schema.equals(b.schema)
    assert a.num_rows == b.num_rows
    for name in a.column_names:
        x = a.column(name).to_numpy(zero_copy_only=False)
        y = b.column(name).to_numpy(zero_copy_only=False)
        if x.dtype.kind == "f":
            assert np.array_equal(x.view(np.int64), y.view(np.int64)), name
        else:
            assert np.array_equal(x, y), name


@pytest.fixture(scope="module")
def client():
    with connect("local:2") as c:
        yield c


@pytest.mark.slow
@pytest.mark.parametrize(
    ("dataset", "grid"),
    [("kola-chorizon", "global"), ("usgs-ds801-top5", "global"), ("gemas", "europe")],
)
def test_dask_equals_single_machine_with_1_2_4_partitions(
    grid_store, client, dataset: str, grid: str
) -> None:
    single = build_cells(grid_store, dataset, grid=grid)
    assert single.num_rows > 10_000
    for partitions in (1, 2, 4):
        distributed = build_cells_dask(
            grid_store, client, dataset, grid=grid, partitions=partitions
        )
        assert_identical(single, distributed)


def test_partitions_hold_whole_root_cells(grid_store, tmp_path: Path) -> None:
    paths, columns = partition_dataset(grid_store, "usgs-ds801-top5", tmp_path, 4)
    assert len(paths) == 4
    g = get_grid("global")
    owner: dict[int, int] = {}
    sizes = []
    for k, p in enumerate(paths):
        t = pq.read_table(p / "data.parquet")
        roots = g.cell_keys(
            t.column("longitude").to_numpy(), t.column("latitude").to_numpy(), 160_000
        )
        for r in np.unique(roots[roots >= 0]):
            assert owner.setdefault(int(r), k) == k
        sizes.append(t.num_rows)
        assert {f"v{c}" for c in columns["column_id"]} <= set(t.column_names)
    assert sum(sizes) == 4857  # every sample, once
    assert max(sizes) < 1.5 * min(sizes)  # balanced by sample count


def test_build_layers_on_dask_stores_the_same_cells(
    grid_store, client, tmp_path: Path, data_dir: Path, boundaries: Path
) -> None:
    from chemearth.ingest.descriptor import load_descriptor
    from chemearth.ingest.pipeline import ingest
    from chemearth.ingest.shipped import shipped_descriptor
    from chemearth.store import open_store

    store = open_store(tmp_path / "store")
    ingest(
        store,
        load_descriptor(shipped_descriptor("meuse")),
        data_dir=data_dir,
        boundaries=boundaries,
    )
    report = build_layers_dask(store, client, partitions=2)
    assert set(report["status"]) == {"built"}
    ours = store.cells("europe", dataset_id="meuse")
    ref = build_cells(store, "meuse", grid="europe").to_pandas()
    assert len(ours) == len(ref)
    assert np.array_equal(ours["median"].to_numpy(), ref["median"].to_numpy(), equal_nan=True)


def test_partitions_must_be_positive(grid_store, tmp_path: Path) -> None:
    with pytest.raises(ChemearthError, match="at least 1"):
        partition_dataset(grid_store, "meuse", tmp_path, 0)


def test_unreachable_scheduler_is_one_clear_error() -> None:
    with (
        pytest.raises(ChemearthError, match="cannot reach the dask scheduler"),
        connect("tcp://127.0.0.1:9", timeout=1),
    ):
        pass
