"""Surfaces of real datasets: block-kriged grid cells and rasters, within reach of the
samples, censored values substituted, and the description that travels with them."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import cKDTree

from chemearth.grid.geometry import get_grid
from chemearth.grid.levels import parse_level
from chemearth.interp.kriging import Interpolator
from chemearth.interp.projections import to_local
from chemearth.interp.surfaces import SurfaceError, interpolate, interpolate_values


@pytest.fixture(scope="module")
def meuse_zn(grid_store):
    return interpolate(grid_store, "meuse", "Zn")


def test_meuse_interpolation_is_the_published_model(meuse_zn) -> None:
    vg = meuse_zn.variogram
    assert vg.model == "spherical"
    assert vg.range == pytest.approx(897, rel=0.01)  # gstat's vgm(0.591, "Sph", 897, 0.0507)
    d = meuse_zn.describe()
    assert (d["n_samples"], d["n_censored"], d["log"]) == (155, 0, True)
    assert d["crs"].startswith("Lambert azimuthal equal-area, centre 51")
    cv = d["cross_validation"]
    assert cv["folds"] == "leave-one-out"
    assert cv["rmse_transformed"] == pytest.approx(0.39, abs=0.01)


@pytest.mark.parametrize(("grid", "level"), [("europe", "500m"), ("europe", "1km"),
                                             ("global", "2km")])
def test_cells_are_block_means_within_reach(meuse_zn, grid, level) -> None:
    cells = meuse_zn.cells(grid, level)
    g = get_grid(grid)
    assert len(cells) > 0
    assert (g.key_to_id(cells["cell_key"].to_numpy()) == cells["cell_id"].to_numpy()).all()
    # every cell centre is within reach of a sample, and no cell within reach is missing
    ip = meuse_zn.interpolator
    cx, cy = to_local(meuse_zn.crs, cells["longitude"], cells["latitude"])
    d, _ = cKDTree(np.column_stack([ip.x, ip.y])).query(np.column_stack([cx, cy]))
    assert (d <= meuse_zn.reach).all()
    # block means lie within the data range and the interval holds the estimate
    z = np.exp(ip.t)
    assert cells["estimate"].between(z.min() * 0.5, z.max()).all()
    assert (cells["lower"] <= cells["estimate"]).all()
    assert (cells["estimate"] <= cells["upper"]).all()
    assert cells.attrs["level_m"] == parse_level(level)


def test_cell_estimate_equals_interpolator_on_the_cells_points(meuse_zn) -> None:
    """One cell recomputed by hand: its 4 x 4 points in the grid CRS, projected, kriged."""
    cells = meuse_zn.cells("europe", "1km")
    row = cells.iloc[len(cells) // 2]
    g = get_grid("europe")
    w, e, s, n = (float(v[0]) for v in g.cell_bounds([int(row["cell_key"])]))
    f = (np.arange(4) + 0.5) / 4
    px, py = (a.ravel() for a in np.meshgrid(w + f * (e - w), s + f * (n - s)))
    import pyproj

    lon, lat = pyproj.Transformer.from_crs(g.crs, "EPSG:4326", always_xy=True).transform(px,
                                                                                         py)
    qx, qy = to_local(meuse_zn.crs, lon, lat)
    k = meuse_zn.interpolator.predict_means(qx[None, :], qy[None, :])
    assert row["estimate"] == pytest.approx(k.estimate[0])


def test_raster_has_its_crs_and_blank_outside_reach(meuse_zn) -> None:
    ds = meuse_zn.raster(resolution=50.0)
    est = ds["estimate"]
    assert est.dims == ("y", "x")
    assert ds.attrs["crs"] == meuse_zn.crs.to_wkt()
    assert (np.diff(ds["y"].to_numpy()) < 0).all()
    assert np.isnan(est.to_numpy()).any()
    assert np.isfinite(est.to_numpy()).sum() > 1000
    ip = meuse_zn.interpolator
    mx, my = np.meshgrid(ds["x"].to_numpy(), ds["y"].to_numpy())
    d, _ = cKDTree(np.column_stack([ip.x, ip.y])).query(np.column_stack([mx.ravel(),
                                                                         my.ravel()]))
    finite = np.isfinite(est.to_numpy()).ravel()
    assert (finite == (d <= meuse_zn.reach)).all()
    # pixel values are the interpolator's point estimates
    j = np.flatnonzero(finite)[100]
    assert est.to_numpy().ravel()[j] == pytest.approx(ip.predict([mx.ravel()[j]],
                                                                [my.ravel()[j]]).estimate[0])


def test_censored_values_enter_at_a_factor_of_their_limit() -> None:
    rng = np.random.default_rng(4)
    lon, lat = rng.uniform(24, 26, 80), rng.uniform(60, 61, 80)
    v = rng.lognormal(2, 0.5, 80)
    cen = v < 5.0
    v[cen] = 5.0  # stored at the DL
    half = interpolate_values(lon, lat, v, cen, method="idw", log=True)
    third = interpolate_values(lon, lat, v, cen, method="idw", log=True,
                               censored_factor=1 / 3)
    assert half.n_censored == int(cen.sum()) > 0
    sub = np.where(cen, 2.5, v)
    ip = Interpolator(*to_local(half.crs, lon, lat), sub, method="idw", log=True)
    np.testing.assert_allclose(np.sort(half.interpolator.t), np.sort(ip.t))
    assert third.interpolator.t.min() < half.interpolator.t.min()


def test_kola_chorizon_uses_the_total_method_and_a_local_plane(grid_store) -> None:
    ip = interpolate(grid_store, "kola-chorizon", "Ni", method="idw")
    assert ip.method.startswith("INAA")  # a total method before aqua regia
    # the plane is centred on the survey, so kriging distances are true
    assert ip.describe()["crs"].endswith("°E, WGS 84")
    cells = ip.cells("global", "20km")
    assert 300 < len(cells) < 800


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: interpolate_values([1, 2], [1, 2], [1.0, 2.0]), "at least 3"),
        (lambda s: interpolate_values([1, 2, 3], [1, 2, 3], [1.0, 2.0, 3.0],
                                      censored_factor=2.0), "censored_factor"),
        (lambda s: interpolate(s, "meuse", "Zn").cells("europe", "500m", max_cells=10),
         "at most 10"),
        (lambda s: interpolate(s, "meuse", "Zn").raster(resolution=0.01), "pixels"),
    ],
)
def test_errors(grid_store, call, message) -> None:
    with pytest.raises(SurfaceError, match=message):
        call(grid_store)
