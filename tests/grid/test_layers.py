"""The grid database API: building layers, reading cells and rasters, checked independently."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyproj
import pytest

from chemearth.errors import GridError, TooManyCellsError
from chemearth.grid.layers import LayerChoiceError, build_layers, cells, grids_for, layer
from chemearth.grid.levels import parse_level
from chemearth.ingest.descriptor import load_descriptor
from chemearth.ingest.pipeline import ingest
from chemearth.ingest.shipped import shipped_descriptor
from chemearth.store import open_store


def _independent_cells(store, dataset: str, element: str, size: int, crs: str) -> pd.DataFrame:
    """Per-cell statistics by pyproj + pandas groupby + numpy, sharing no chemearth code."""
    m = store.measurements(dataset, elements=[element]).dropna(subset=["longitude", "value"])
    x, y = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(
        m["longitude"].to_numpy(), m["latitude"].to_numpy()
    )
    m = m.assign(
        col=np.floor(np.asarray(x) / size).astype(int),
        row=np.floor(np.asarray(y) / size).astype(int),
    )
    rows = []
    for (medium, col, row), part in m.groupby(["medium", "col", "row"], observed=True):
        v = part["value"].to_numpy(dtype=float)
        cen = part["censored"].to_numpy(dtype=bool)
        med = np.median(v)
        logs = np.log10(v)
        rows.append(
            {
                "medium": medium,
                "col": col,
                "row": row,
                "n": len(v),
                "n_censored": int(cen.sum()),
                "min": v.min(),
                "max": v.max(),
                "median": med,
                **{f"p{q}": np.percentile(v, q) for q in (5, 10, 25, 75, 90, 95, 98)},
                "mad": np.median(np.abs(v - med)),
                "gmean": 10 ** logs.mean(),
                "log10_sd": logs.std(ddof=1) if len(v) > 1 else np.nan,
                "dl_max": v[cen].max() if cen.any() else np.nan,
            }
        )
    return pd.DataFrame(rows)


@pytest.mark.parametrize(
    ("dataset", "element", "level", "grid", "crs"),
    [
        ("usgs-ds801-top5", "As", 80_000, "global", "EPSG:6933"),  # censored at 0.6 mg/kg
        ("usgs-ds801-top5", "Pb", 20_000, "global", "EPSG:6933"),
        ("kola-humus", "Ni", 10_000, "global", "EPSG:6933"),
        ("kola-humus", "Cu", 40_000, "europe", "EPSG:3035"),
        ("meuse", "Zn", 500, "europe", "EPSG:3035"),
    ],
)
def test_cells_equal_an_independent_computation(
    grid_store, dataset: str, element: str, level: int, grid: str, crs: str
) -> None:
    ours = cells(grid_store, element, dataset=dataset, level=level, grid=grid)
    ref = _independent_cells(grid_store, dataset, element, level, crs)
    ours = ours.assign(
        col=np.floor(ours["easting"] / level).astype(int),
        row=np.floor(ours["northing"] / level).astype(int),
    )
    joined = ours.merge(ref, on=["col", "row"], suffixes=("", "_ref"), how="outer", indicator=True)
    assert (joined["_merge"] == "both").all(), joined["_merge"].value_counts()
    assert len(joined) == len(ref) > 5
    for stat in (
        "n",
        "n_censored",
        "min",
        "p5",
        "p10",
        "p25",
        "median",
        "p75",
        "p90",
        "p95",
        "p98",
        "max",
        "mad",
        "gmean",
        "log10_sd",
        "dl_max",
    ):
        np.testing.assert_allclose(
            joined[stat], joined[f"{stat}_ref"], rtol=1e-12, equal_nan=True, err_msg=stat
        )


def test_layer_raster_places_each_cell_at_its_pixel(grid_store) -> None:
    frame = cells(grid_store, "Ni", dataset="kola-humus", level="20km")
    da = layer(grid_store, "Ni", dataset="kola-humus", level="20km", stat="median")
    assert da.dims == ("y", "x")
    assert da.attrs["unit"] == "mg/kg"
    assert da.attrs["crs"] == "EPSG:6933"
    assert np.all(np.diff(da["y"].values) < 0)
    assert np.all(np.diff(da["x"].values) > 0)
    for row in frame.itertuples():
        assert da.sel(x=row.easting, y=row.northing).item() == row.median
    assert int(np.isfinite(da.values).sum()) == len(frame)
    ds = layer(grid_store, "Ni", dataset="kola-humus", level="20km", stat=None)
    assert int(ds["n"].sum()) == int(frame["n"].sum()) == 617
    assert pyproj.CRS.from_cf(ds["spatial_ref"].attrs) == pyproj.CRS("EPSG:6933")


def test_build_layers_builds_only_what_is_missing(
    tmp_path: Path, data_dir: Path, boundaries: Path
) -> None:
    store = open_store(tmp_path / "store")
    for ds in ("meuse", "usgs-ds801-top5"):
        ingest(
            store, load_descriptor(shipped_descriptor(ds)), data_dir=data_dir, boundaries=boundaries
        )
    first = build_layers(store, levels=["80km", "10km"])
    assert set(first["status"]) == {"built"}
    assert set(zip(first["dataset_id"], first["grid"], strict=True)) == {
        ("meuse", "global"),
        ("meuse", "europe"),
        ("usgs-ds801-top5", "global"),
    }
    before = store.cell_versions()
    ingest(
        store, load_descriptor(shipped_descriptor("jura")), data_dir=data_dir, boundaries=boundaries
    )
    second = build_layers(store, levels=["80km", "10km"]).set_index(["dataset_id", "grid"])
    assert second.loc[("jura", "global"), "status"] == "built"
    assert (second.drop(index="jura", level=0)["status"] == "up to date").all()
    after = store.cell_versions()
    assert after.merge(before).shape[0] == len(before)  # earlier tables untouched
    assert set(store.cells(level_m=10_000)["level_m"]) == {10_000}


def test_quality_control_datasets_are_gridded_only_when_named(
    tmp_path: Path, data_dir: Path, boundaries: Path
) -> None:
    store = open_store(tmp_path / "store")
    ingest(
        store,
        load_descriptor(shipped_descriptor("kola-chorizon-standard")),
        data_dir=data_dir,
        boundaries=boundaries,
    )
    assert build_layers(store).empty
    named = build_layers(store, ["kola-chorizon-standard"])
    assert named["status"].tolist() == ["no located samples"]


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        ({"element": "Cr", "dataset": "kola-chorizon"}, "matches 2 layers"),
        ({"element": "Cu"}, "matches"),
        ({"element": "Unobtainium"}, "no global grid layer for 'Unobtainium' at 80km"),
        ({"element": "Ni", "dataset": "meuse"}, "in dataset 'meuse'"),
    ],
)
def test_layer_requests_that_match_none_or_several_name_the_choices(
    grid_store, request_: dict[str, str], message: str
) -> None:
    with pytest.raises(LayerChoiceError, match=message):
        cells(grid_store, level="80km", **request_)


def test_layer_refuses_rasters_beyond_the_pixel_limit(grid_store) -> None:
    with pytest.raises(TooManyCellsError, match="choose a coarser level"):
        layer(grid_store, "As", dataset="usgs-ds801-top5", level="1km", max_pixels=1_000_000)


@pytest.mark.parametrize(
    ("text", "metres"),
    [("10km", 10_000), ("0.5 km", 500), ("500m", 500), (160000, 160_000), ("2000", 2000)],
)
def test_parse_level(text: str | int, metres: int) -> None:
    assert parse_level(text) == metres


@pytest.mark.parametrize("text", ["ten km", "0.1m", "1.5"])
def test_parse_level_rejects(text: str) -> None:
    with pytest.raises(GridError):
        parse_level(text)


def test_unknown_level_of_a_grid(grid_store) -> None:
    with pytest.raises(GridError, match="not a level"):
        cells(grid_store, "Ni", dataset="kola-humus", level="5km")


def test_grids_for_real_datasets(grid_store) -> None:
    for ds, grids in (
        ("usgs-ds801-top5", ["global"]),
        ("gemas", ["global", "europe"]),
        ("kola-humus", ["global", "europe"]),
    ):
        s = grid_store.samples(ds)
        assert grids_for(s["longitude"].to_numpy(), s["latitude"].to_numpy()) == grids
