"""Gridding, baselines and the Dask run on the PostgreSQL server store equal the embedded
store's, on real surveys.

The grid store's surveys but the largest (:data:`SURVEYS`: Kola humus and C-horizon, Meuse,
GEMAS; two CRSs, censored values, several methods per element, both grids) are ingested
into a PostgreSQL database and gridded there. Every cell table then equals the
embedded store's bit for bit, the stored layers are the same, baselines per country are
the same, and the Dask build reading its partitions from the server store gives the
same cells as one machine.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from tests.conftest import GRID_DATASETS
from tests.grid.test_distributed import assert_identical

from chemearth.errors import ChemearthWarning
from chemearth.grid.tables import build_cells

#: The grid store's surveys, USGS DS-801 left out for time (it adds nothing the others
#: do not have: one CRS, censored values, the global grid).
SURVEYS = tuple(ds for ds in GRID_DATASETS if ds != "usgs-ds801-top5")


@pytest.fixture(scope="module")
def pg_grid_store(pg_cluster: Any, data_dir: Path, boundaries: Path) -> Any:
    """The grid store's surveys, ingested and gridded on the server store."""
    from chemearth.grid.layers import build_layers
    from chemearth.ingest.descriptor import load_descriptor
    from chemearth.ingest.pipeline import ingest
    from chemearth.ingest.shipped import shipped_descriptor
    from chemearth.store import open_store

    pg_cluster.create_database("grid_store")
    store = open_store(pg_cluster.url("grid_store"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ChemearthWarning)
        for ds in SURVEYS:
            ingest(store, load_descriptor(shipped_descriptor(ds)), data_dir=data_dir,
                   boundaries=boundaries)
    build_layers(store)
    yield store
    store.close()
    pg_cluster.drop_database("grid_store")


@pytest.mark.slow
def test_stored_layers_are_the_same(grid_store: Any, pg_grid_store: Any) -> None:
    inventory = grid_store.cell_inventory()
    inventory = inventory[inventory["dataset_id"].isin(SURVEYS)].reset_index(drop=True)
    pd.testing.assert_frame_equal(inventory, pg_grid_store.cell_inventory())
    for grid, ds in (("global", "kola-humus"), ("global", "meuse"), ("europe", "gemas")):
        a = grid_store.cells(grid, dataset_id=ds)
        b = pg_grid_store.cells(grid, dataset_id=ds)
        assert len(a) > 200
        pd.testing.assert_frame_equal(a, b, check_exact=True)


@pytest.mark.slow
@pytest.mark.parametrize(("dataset", "grid"), [("kola-chorizon", "global"),
                                               ("gemas", "europe")])
def test_cell_tables_are_the_same_bit_for_bit(
    grid_store: Any, pg_grid_store: Any, dataset: str, grid: str
) -> None:
    assert_identical(build_cells(grid_store, dataset, grid=grid),
                     build_cells(pg_grid_store, dataset, grid=grid))


@pytest.mark.slow
@pytest.mark.parametrize(("element", "dataset"), [("Cu", "kola-chorizon"), ("Pb", "kola-humus"),
                                                  ("Zn", "meuse")])
def test_baselines_are_the_same(
    grid_store: Any, pg_grid_store: Any, element: str, dataset: str
) -> None:
    from chemearth.stats.baselines import baseline

    a = baseline(grid_store, element, dataset=dataset, by=["country"])
    b = baseline(pg_grid_store, element, dataset=dataset, by=["country"])
    assert len(a) > 0
    pd.testing.assert_frame_equal(a, b, check_exact=True)


@pytest.mark.slow
def test_dask_reads_the_server_store(pg_grid_store: Any) -> None:
    from chemearth.grid.distributed import build_cells_dask, connect

    single = build_cells(pg_grid_store, "kola-chorizon", grid="global")
    with connect("local:2") as client:
        for partitions in (1, 3):
            assert_identical(single, build_cells_dask(pg_grid_store, client, "kola-chorizon",
                                                      grid="global", partitions=partitions))
