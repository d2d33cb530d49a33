"""Ordinary kriging, IDW, block estimates and cross-validation, checked against pykrige,
gstools and independent numpy solutions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from chemearth.interp.kriging import InterpolationError, Interpolator
from chemearth.interp.variogram import Variogram, experimental, fit

pykrige_ok = pytest.importorskip("pykrige.ok")
gs = pytest.importorskip("gstools")


@pytest.fixture(scope="module")
def meuse(data_dir: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d = pd.read_csv(data_dir / "meuse" / "meuse.csv")
    return d["x"].to_numpy(float), d["y"].to_numpy(float), d["zinc"].to_numpy(float)


def _pykrige(x, y, z, vg: Variogram):
    return pykrige_ok.OrdinaryKriging(
        x, y, z, variogram_model=vg.model if vg.model != "exponential" else "exponential",
        variogram_parameters={"sill": vg.sill, "range": vg.range, "nugget": vg.nugget},
    )


def _manual_ok(sx, sy, sz, tx, ty, vg: Variogram) -> tuple[float, float, float]:
    """Textbook ordinary kriging of one target with every sample (numpy only)."""
    n = sx.size
    d = np.hypot(sx[:, None] - sx[None, :], sy[:, None] - sy[None, :])
    a = np.ones((n + 1, n + 1))
    a[:n, :n] = vg.covariance(d)
    a[n, n] = 0.0
    b = np.ones(n + 1)
    b[:n] = vg.covariance(np.hypot(sx - tx, sy - ty))
    sol = np.linalg.solve(a, b)
    lam, mu = sol[:n], sol[n]
    return float(lam @ sz), float(vg.sill - lam @ b[:n] - mu), float(mu)


def test_meuse_loo_rmse_equals_pykrige(meuse) -> None:
    """Acceptance: log-zinc kriging of Meuse, leave-one-out RMSE against pykrige (same
    variogram, global neighbourhood) within 5 % - in fact to 1e-9."""
    x, y, z = meuse
    ip = Interpolator(x, y, z, log=True, neighbours=len(z))
    vg = ip.variogram
    assert vg.model == "spherical"
    cv = ip.cross_validate()
    lz = np.log(z)
    theirs = np.empty(z.size)
    for i in range(z.size):
        keep = np.arange(z.size) != i
        v, _ = _pykrige(x[keep], y[keep], lz[keep], vg).execute("points", x[i:i + 1],
                                                                 y[i:i + 1])
        theirs[i] = v[0]
    rmse_theirs = float(np.sqrt(np.mean((theirs - lz) ** 2)))
    s = cv.summary()
    assert s["rmse_transformed"] == pytest.approx(rmse_theirs, rel=0.05)
    np.testing.assert_allclose(cv.transformed_predicted, theirs, atol=1e-8)
    # back-transformed with the lognormal correction: nearly unbiased in mg/kg
    assert abs(s["bias"]) < 0.02 * z.mean()
    naive = np.exp(cv.transformed_predicted) - z
    assert naive.mean() < -0.05 * z.mean()  # exp(y*) alone is biased low (a median)


def test_moving_window_equals_pykrige_with_32_neighbours(meuse) -> None:
    x, y, z = meuse
    lz = np.log(z)
    vg = fit(experimental(x, y, lz), "spherical")
    ip = Interpolator(x, y, lz, variogram=vg, neighbours=32)
    gx, gy = np.meshgrid(np.linspace(x.min(), x.max(), 30), np.linspace(y.min(), y.max(), 40))
    ours = ip.predict(gx, gy)
    est, var = _pykrige(x, y, lz, vg).execute("points", gx.ravel(), gy.ravel(), backend="C",
                                              n_closest_points=32)
    np.testing.assert_allclose(ours.estimate, est, atol=1e-8)
    np.testing.assert_allclose(ours.variance, var, atol=1e-8)


def test_one_target_equals_textbook_solution(meuse) -> None:
    x, y, z = meuse
    vg = Variogram("exponential", 0.05, 0.6, 300.0)
    ip = Interpolator(x, y, np.log(z), variogram=vg, neighbours=len(z))
    for tx, ty in [(180_000.0, 331_000.0), (179_500.0, 330_400.0)]:
        k = ip.predict([tx], [ty])
        e, v, mu = _manual_ok(x, y, np.log(z), tx, ty, vg)
        assert (k.estimate[0], k.variance[0], k.lagrange[0]) == pytest.approx((e, v, mu))


def test_analytic_field_is_recovered_within_kriging_variance() -> None:
    """Acceptance: kriging a known smooth field from 600 samples recovers it at 2,500 grid
    nodes within its kriging standard deviation."""
    rng = np.random.default_rng(7)

    def field(x, y):
        return 10 + 3 * np.sin(x / 1500.0) * np.cos(y / 2000.0) + x / 5000.0

    x, y = rng.uniform(0, 10_000, (2, 600))
    ip = Interpolator(x, y, field(x, y), model="gaussian", neighbours=32)
    gx, gy = np.meshgrid(np.linspace(500, 9500, 50), np.linspace(500, 9500, 50))
    k = ip.predict(gx, gy)
    err = np.abs(k.estimate - field(gx, gy).ravel())
    sd = np.sqrt(k.variance)
    assert (err <= 2 * sd).mean() >= 0.99
    assert err.max() < 0.05  # of a field ranging over about 8 units


def _simulate(vg: Variogram, n: int, side: float, seed: int):
    """An exact Gaussian random field with covariance ``vg`` at ``n`` random points
    (Cholesky factor of the covariance matrix; numpy only)."""
    rng = np.random.default_rng(seed)
    x, y = rng.uniform(0, side, (2, n))
    c = vg.covariance(np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :]))
    z = np.linalg.cholesky(c + 1e-10 * np.eye(n)) @ rng.standard_normal(n)
    return x, y, z


@pytest.mark.parametrize("seed", [1, 2])
def test_kriging_variance_is_calibrated_on_a_simulated_field(seed) -> None:
    """An exactly simulated Gaussian random field with a known variogram: at held-out
    points the standardised errors have mean ~0 and mean square ~1."""
    vg = Variogram("exponential", 0.1, 1.0, 1500.0)
    x, y, z = _simulate(vg, 3000, 20_000.0, seed)
    train, test = np.arange(2500), np.arange(2500, 3000)
    ip = Interpolator(x[train], y[train], z[train], variogram=vg, neighbours=32)
    k = ip.predict(x[test], y[test])
    zs = (k.estimate - z[test]) / np.sqrt(k.variance)
    assert abs(zs.mean()) < 0.15
    assert 0.8 < np.mean(zs**2) < 1.25
    cv = ip.cross_validate(folds=5).summary()
    assert 0.8 < cv["mean_squared_standardised_error"] < 1.25


@pytest.mark.parametrize("seed", [3, 4])
def test_lognormal_back_transform_is_unbiased(seed) -> None:
    vg = Variogram("spherical", 0.05, 0.75, 4000.0)
    x, y, f = _simulate(vg, 3500, 30_000.0, seed)
    z = np.exp(3.0 + f)
    ip = Interpolator(x[:2500], y[:2500], z[:2500], log=True, variogram=vg, neighbours=32)
    k = ip.predict(x[2500:], y[2500:])
    obs = z[2500:]
    corrected = k.estimate.mean() / obs.mean()
    naive = np.exp(k.transformed).mean() / obs.mean()
    assert abs(corrected - 1) < 0.05
    assert naive < corrected
    assert naive < 0.97
    lo, hi = k.interval(0.9)
    assert 0.85 < np.mean((obs >= lo) & (obs <= hi)) < 0.95


def test_block_estimate_is_the_mean_of_point_estimates_and_variance_is_independent(
        meuse) -> None:
    x, y, z = meuse
    vg = Variogram("spherical", 0.05, 0.59, 897.0)
    lz = np.log(z)
    ip = Interpolator(x, y, lz, variogram=vg, neighbours=len(z))
    west, south, size, d = 179_800.0, 330_600.0, 400.0, 5
    blk = ip.predict_blocks([west], [south], size, discretisation=d)
    f = (np.arange(d) + 0.5) / d
    px, py = (a.ravel() for a in np.meshgrid(west + f * size, south + f * size))
    pts = ip.predict(px, py)
    assert blk.estimate[0] == pytest.approx(pts.estimate.mean())
    # independent block kriging: averaged right-hand side, C(V,V) without the nugget
    n = x.size
    a = np.ones((n + 1, n + 1))
    a[:n, :n] = vg.covariance(np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :]))
    a[n, n] = 0.0
    cbar = vg.covariance(np.hypot(x[:, None] - px[None, :], y[:, None] - py[None, :])).mean(1)
    sol = np.linalg.solve(a, np.append(cbar, 1.0))
    cvv = (vg.psill * vg.correlation(np.hypot(px[:, None] - px[None, :],
                                              py[:, None] - py[None, :]))).mean()
    assert blk.estimate[0] == pytest.approx(sol[:n] @ lz)
    assert blk.variance[0] == pytest.approx(cvv - sol[:n] @ cbar - sol[n])
    assert blk.variance[0] < pts.variance.min()


def test_idw_equals_independent_formula(meuse) -> None:
    x, y, z = meuse
    ip = Interpolator(x, y, z, method="idw", neighbours=12, power=2.0)
    tx, ty = np.array([180_000.0, 179_000.0]), np.array([331_000.0, 330_000.0])
    k = ip.predict(tx, ty)
    for j in range(2):
        d = np.hypot(x - tx[j], y - ty[j])
        near = np.argsort(d)[:12]
        w = 1.0 / d[near] ** 2
        assert k.estimate[j] == pytest.approx((w * z[near]).sum() / w.sum())
    assert ip.predict(x[:3], y[:3]).estimate.tolist() == z[:3].tolist()  # exact at samples
    assert np.isnan(k.variance).all()


def test_k_fold_equals_refitting_each_fold(meuse) -> None:
    x, y, z = meuse
    vg = Variogram("spherical", 0.05, 0.59, 897.0)
    ip = Interpolator(x, y, z, log=True, variogram=vg, neighbours=20)
    cv = ip.cross_validate(folds=5, seed=2)
    sizes = np.bincount(cv.fold)
    assert sizes.max() - sizes.min() <= 1
    assert sizes.sum() == z.size
    j = 3
    test = cv.fold == j
    sub = Interpolator(x[~test], y[~test], z[~test], log=True, variogram=vg, neighbours=20)
    np.testing.assert_allclose(cv.predicted[test], sub.predict(x[test], y[test]).estimate)
    s = cv.summary()
    e = cv.predicted - cv.observed
    assert (s["rmse"], s["mae"], s["bias"]) == pytest.approx(
        (np.sqrt(np.mean(e**2)), np.mean(np.abs(e)), np.mean(e)))


def test_radius_limits_the_neighbourhood() -> None:
    ip = Interpolator([0, 100, 200, 5000], [0, 0, 0, 0], [1.0, 2.0, 3.0, 9.0],
                      variogram=Variogram("exponential", 0.0, 1.0, 100.0), radius=300.0)
    k = ip.predict([100.0, 2500.0, 5100.0], [10.0, 0.0, 0.0])
    assert k.n_neighbours.tolist() == [3, 0, 1]
    assert np.isnan(k.estimate[1])
    assert k.estimate[2] == pytest.approx(9.0)


def test_threads_and_chunks_do_not_change_results(meuse) -> None:
    x, y, z = meuse
    vg = Variogram("spherical", 0.05, 0.59, 897.0)
    gx, gy = np.meshgrid(np.linspace(x.min(), x.max(), 25), np.linspace(y.min(), y.max(), 25))
    one = Interpolator(x, y, z, log=True, variogram=vg, workers=1).predict(gx, gy)
    two = Interpolator(x, y, z, log=True, variogram=vg, workers=2).predict(gx, gy, chunk=37)
    np.testing.assert_array_equal(one.estimate, two.estimate)


def test_samples_at_one_place_are_merged() -> None:
    ip = Interpolator([0, 0, 100, 200], [0, 0, 0, 0], [1.0, 3.0, 5.0, 7.0],
                      variogram=Variogram("spherical", 0.0, 1.0, 500.0))
    assert ip.n == 3
    assert ip.predict([0.0], [0.0]).estimate[0] == pytest.approx(2.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"values": [1.0, 0.0, 2.0], "log": True}, "cannot be log-transformed"),
        ({"values": [1.0, 2.0, np.nan]}, "at least 3 samples"),
        ({"method": "spline"}, "unknown method"),
        ({"neighbours": 0}, "neighbours must be"),
        ({"radius": -1.0}, "radius must be positive"),
    ],
)
def test_errors(kwargs, message) -> None:
    args = {"easting": [0, 1, 2], "northing": [0, 1, 0], "values": [1.0, 2.0, 3.0],
            "variogram": Variogram("spherical", 0, 1, 10)}
    args.update(kwargs)
    with pytest.raises(InterpolationError, match=message):
        Interpolator(**args)


def test_log_block_estimate_is_the_mean_of_back_transformed_points(meuse) -> None:
    x, y, z = meuse
    ip = Interpolator(x, y, z, log=True, variogram=Variogram("spherical", 0.05, 0.59, 897.0),
                      neighbours=len(z))
    blk = ip.predict_blocks([179_800.0], [330_600.0], 400.0, discretisation=4)
    f = (np.arange(4) + 0.5) / 4
    px, py = (a.ravel() for a in np.meshgrid(179_800.0 + f * 400, 330_600.0 + f * 400))
    assert blk.estimate[0] == pytest.approx(ip.predict(px, py).estimate.mean())
    lo, hi = blk.interval(0.9)
    assert lo[0] < blk.estimate[0] < hi[0]
