"""Layer exports read back with the libraries their users use: rasterio, xarray, GeoPandas."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import rasterio
import xarray as xr

from chemearth.errors import ChemearthError
from chemearth.grid.layers import cells, layer
from chemearth.render.export import export_layer, read_atlas_csv

LAYER = {"dataset": "usgs-ds801-top5", "level": "40km"}


def test_cog_is_tiled_with_overviews_and_right_pixels(grid_store, tmp_path: Path) -> None:
    path = export_layer(grid_store, "As", tmp_path / "as.tif", stat="p90", **LAYER)
    da = layer(grid_store, "As", stat="p90", **LAYER)
    with rasterio.open(path) as src:
        assert src.crs == rasterio.crs.CRS.from_epsg(6933)
        assert src.res == (40_000.0, 40_000.0)
        assert src.profile["tiled"]
        assert src.profile["compress"] == "deflate"
        assert src.overviews(1)  # COG: internal overviews
        assert src.tags()["element"] == "As"
        assert src.tags(1)["units"] == "mg/kg"
        band = src.read(1)
        frame = cells(grid_store, "As", **LAYER)
        for row in frame.sample(20, random_state=0).itertuples():
            r, c = src.index(row.easting, row.northing)
            assert band[r, c] == np.float32(row.p90)
        assert np.isnan(band).sum() == band.size - len(frame)
    assert band.shape == da.shape
    with open(path, "rb") as fh:  # GDAL's COG layout: ghost header announcing the layout
        header = fh.read(2048)
    assert b"LAYOUT=IFDS_BEFORE_DATA" in header
    assert b"KNOWN_INCOMPATIBLE_EDITION=NO" in header


def test_netcdf_holds_every_statistic_with_cf_metadata(grid_store, tmp_path: Path) -> None:
    path = export_layer(grid_store, "As", tmp_path / "as.nc", **LAYER)
    ref = layer(grid_store, "As", stat=None, **LAYER)
    with xr.open_dataset(path) as ds:
        assert ds.attrs["Conventions"] == "CF-1.8"
        assert ds["median"].attrs["grid_mapping"] == "spatial_ref"
        assert ds["median"].attrs["units"] == "mg/kg"
        assert pyproj.CRS.from_cf(ds["spatial_ref"].attrs) == pyproj.CRS("EPSG:6933")
        for name in ("n", "n_censored", "median", "p98", "mad", "gmean"):
            np.testing.assert_array_equal(ds[name].values, ref[name].values)


def test_geoparquet_cells_are_the_grid_squares(grid_store, tmp_path: Path) -> None:
    path = export_layer(grid_store, "As", tmp_path / "as.parquet", **LAYER)
    gdf = gpd.read_parquet(path)
    assert gdf.crs.to_epsg() == 6933
    assert np.allclose(gdf.geometry.area, 40_000.0**2)
    frame = cells(grid_store, "As", **LAYER)
    assert gdf["cell_id"].tolist() == frame["cell_id"].tolist()
    assert np.array_equal(gdf["median"].to_numpy(), frame["median"].to_numpy())
    assert set(gdf["element"]) == {"As"}
    assert set(gdf["dataset_id"]) == {"usgs-ds801-top5"}
    centroids = gdf.geometry.centroid
    assert np.allclose(centroids.x, frame["easting"])
    assert np.allclose(centroids.y, frame["northing"])


def test_atlas_csv_has_the_three_line_header(grid_store, tmp_path: Path) -> None:
    path = export_layer(grid_store, "As", tmp_path / "as.csv", **LAYER)
    lines = path.read_text().splitlines()
    assert lines[0] == "cell_id,longitude,latitude,n,n_below_dl,As"
    assert lines[1].endswith(",mg/kg")
    assert lines[2] == "detection limit,,,,,0.6"
    table, meta = read_atlas_csv(path)
    frame = cells(grid_store, "As", **LAYER)
    assert meta["As"] == "mg/kg"
    assert meta["dl"] == "0.6"
    np.testing.assert_allclose(table["As"], frame["median"], rtol=1e-11)
    assert table["n"].sum() == frame["n"].sum() == 4841


@pytest.mark.parametrize(
    ("name", "fmt", "message"),
    [("x.xyz", None, "choose one of"), ("x.tif", "png", "choose one of")],
)
def test_unknown_formats_are_refused(grid_store, tmp_path: Path, name, fmt, message) -> None:
    with pytest.raises(ChemearthError, match=message):
        export_layer(grid_store, "As", tmp_path / name, format=fmt, **LAYER)


def test_unknown_statistic_is_refused(grid_store, tmp_path: Path) -> None:
    with pytest.raises(ChemearthError, match="unknown statistic 'p99'"):
        export_layer(grid_store, "As", tmp_path / "x.tif", stat="p99", **LAYER)


def test_atlas_csv_carries_citation_and_licence_after_the_data(tmp_path: Path) -> None:
    from chemearth.render.export import read_atlas_csv, write_atlas_csv

    f = pd.DataFrame({"cell_id": ["a", "b"], "longitude": [1.0, 2.0], "latitude": [3.0, 4.0],
                      "n": [5, 6], "n_censored": [0, 1], "median": [2.5, 3.5]})
    f.attrs.update(element="Cu", unit="mg/kg", citation="Doe, J. (2024), A survey,\nvol. 1",
                   licence="CC-BY 4.0")
    path = write_atlas_csv(f, tmp_path / "cu.csv", detection_limit=0.5)
    lines = path.read_text().splitlines()
    assert lines[0].endswith(",Cu")
    assert lines[2] == "detection limit,,,,,0.5"
    table, meta = read_atlas_csv(path)
    assert table["Cu"].tolist() == [2.5, 3.5]
    assert meta["citation"] == "Doe, J. (2024), A survey, vol. 1"
    assert meta["licence"] == "CC-BY 4.0"
