"""Cell tables of real datasets: counts conserved where cells nest, stats equal numpy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chemearth.grid.geometry import get_grid
from chemearth.grid.tables import ColumnData, build_cells, cell_tables
from chemearth.ingest.descriptor import load_descriptor
from chemearth.ingest.pipeline import ingest
from chemearth.ingest.shipped import shipped_descriptor
from chemearth.store import open_store


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, data_dir: Path, boundaries: Path):
    s = open_store(tmp_path_factory.mktemp("grid-store"))
    for ds in ("usgs-ds801-top5-csv", "meuse"):
        ingest(s, load_descriptor(shipped_descriptor(ds)), data_dir=data_dir, boundaries=boundaries)
    return s


@pytest.mark.parametrize("grid", ["global", "europe"])
def test_counts_conserved_where_cells_nest(store, grid: str) -> None:
    dataset = "usgs-ds801-top5-csv" if grid == "global" else "meuse"
    table = build_cells(store, dataset, grid=grid).to_pandas()
    g = get_grid(grid)
    for (element, medium), t in table.groupby(["element", "medium"], observed=True):
        totals = t.groupby("level_m")["n"].sum()
        assert totals.nunique() == 1, (element, medium, totals.to_dict())
        for child in g.levels:
            parent = g.parent_level(child)
            if parent is None:
                continue
            c = t[t["level_m"] == child]
            up = c.assign(p=g.parent(c["cell"].to_numpy(), parent)).groupby("p")["n"].sum()
            p = t[t["level_m"] == parent].set_index("cell")["n"]
            assert up.sort_index().to_dict() == p.sort_index().to_dict()


def test_cell_stats_equal_numpy_and_round_trip_the_store(store) -> None:
    table = build_cells(store, "usgs-ds801-top5-csv", levels=[160_000])
    store.write_cells("usgs-ds801-top5-csv", None, "global", table)
    cells = store.cells(dataset_id="usgs-ds801-top5-csv", element="As", level_m=160_000)
    m = store.measurements("usgs-ds801-top5-csv", elements=["As"])
    keys = get_grid("global").cell_keys(
        m["longitude"].to_numpy(), m["latitude"].to_numpy(), 160_000
    )
    m = m.assign(cell=keys)
    for row in cells.sample(25, random_state=1).itertuples():
        v = m.loc[m["cell"] == row.cell, "value"].to_numpy()
        assert row.n == len(v)
        assert row.median == pytest.approx(np.median(v))
        assert row.p95 == pytest.approx(np.percentile(v, 95))
        assert row.cell_id.startswith("G160km-")


@pytest.mark.slow
@settings(max_examples=60, deadline=None)
@given(
    grid=st.sampled_from(["global", "europe"]),
    lon0=st.floats(-20, 40),
    lat0=st.floats(36, 68),
    spread=st.sampled_from([0.01, 0.3, 5.0]),
    n=st.integers(1, 400),
    seed=st.integers(0, 2**32 - 1),
)
def test_counts_conserved_for_any_points(grid, lon0, lat0, spread, n, seed) -> None:
    """Summed over its children, every cell's n (and n censored) equals its own, at every
    nesting pair of levels (4 km cells are checked against 20 km, not 10 km, parents)."""
    rng = np.random.default_rng(seed)
    lon = lon0 + rng.normal(0, spread, n)
    lat = np.clip(lat0 + rng.normal(0, spread, n), -80, 80)
    values = rng.lognormal(2, 1, n)
    censored = rng.random(n) < 0.2
    media = rng.choice(np.array(["humus", "topsoil"]), n)
    g = get_grid(grid)
    col = ColumnData("Cu", "", "mg/kg", np.arange(n), values, censored)
    t = pa.concat_tables(cell_tables(grid, g.levels, lon, lat, media, [col])).to_pandas()
    for medium, part in t.groupby("medium"):
        totals = part.groupby("level_m")["n"].sum()
        on_grid = g.cell_keys(lon, lat, g.levels[0]) >= 0
        assert (totals == ((media == medium) & on_grid).sum()).all()
        for child in g.levels:
            for parent in g.levels:
                if parent <= child or not g.nests(child, parent):
                    continue
                c = part[part["level_m"] == child]
                up = (
                    c.assign(p=g.parent(c["cell"].to_numpy(), parent))
                    .groupby("p")[["n", "n_censored"]]
                    .sum()
                )
                p = part[part["level_m"] == parent].set_index("cell")[["n", "n_censored"]]
                assert up.sort_index().equals(p.sort_index()), (medium, child, parent)
