"""Experimental variograms and model fits, checked against gstools and gstat's published
Meuse fit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from chemearth.interp.variogram import (
    ExperimentalVariogram,
    Variogram,
    VariogramError,
    experimental,
    fit,
    from_dict,
    variogram_of,
)

gs = pytest.importorskip("gstools")


@pytest.fixture(scope="module")
def meuse(data_dir: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d = pd.read_csv(data_dir / "meuse" / "meuse.csv")
    return d["x"].to_numpy(float), d["y"].to_numpy(float), np.log(d["zinc"].to_numpy(float))


@pytest.mark.parametrize("estimator", ["matheron", "cressie"])
def test_experimental_equals_gstools(meuse, estimator) -> None:
    x, y, z = meuse
    ev = experimental(x, y, z, estimator=estimator)
    _, gamma, counts = gs.vario_estimate((x, y), z, ev.edges, estimator=estimator,
                                         return_counts=True)
    assert (counts == ev.pairs).all()
    np.testing.assert_allclose(ev.gamma, gamma, rtol=1e-12)
    # lags are the mean pair distances, inside their classes
    assert ((ev.lags > ev.edges[:-1]) & (ev.lags < ev.edges[1:])).all()


def test_meuse_fit_equals_gstats_published_model(meuse) -> None:
    """gstat's Meuse vignette: log(zinc) ~ vgm(0.591, "Sph", 897, 0.0507) (fit.method 7)."""
    vg = fit(experimental(*meuse), "spherical")
    assert vg.nugget == pytest.approx(0.0507, abs=5e-4)
    assert vg.psill == pytest.approx(0.591, abs=5e-3)
    assert vg.range == pytest.approx(897, abs=5)
    assert fit(experimental(*meuse)).model == "spherical"  # auto picks the best of three


@pytest.mark.parametrize(
    ("model", "cls", "range_factor"),
    [
        ("spherical", "Spherical", 1.0),
        ("exponential", "Exponential", 1.0),
        # gstools' Gaussian is exp(-(pi/4)(h/l)^2): range = 2 l / sqrt(pi)
        ("gaussian", "Gaussian", 2.0 / np.sqrt(np.pi)),
    ],
)
def test_fit_agrees_with_gstools_within_5_percent(meuse, model, cls, range_factor) -> None:
    ev = experimental(*meuse)
    ours = fit(ev, model)
    theirs = getattr(gs, cls)(dim=2)
    # the same criterion: sum of N/h^2 * residual^2 (gstools squares its weights)
    theirs.fit_variogram(ev.lags, ev.gamma, nugget=True,
                         weights=np.sqrt(ev.pairs / ev.lags**2), loss="linear")
    assert ours.sill == pytest.approx(theirs.sill, rel=0.05)
    assert ours.range == pytest.approx(theirs.len_scale * range_factor, rel=0.05)
    assert abs(ours.nugget - theirs.nugget) <= 0.05 * ours.sill
    np.testing.assert_allclose(ours.gamma(ev.lags), theirs.variogram(ev.lags), rtol=0.05)


@pytest.mark.parametrize(
    ("model", "h", "share"),
    [
        ("spherical", 1.0, 1.0),
        ("spherical", 0.5, 0.6875),
        ("exponential", 3.0, 1 - np.exp(-3.0)),
        ("gaussian", np.sqrt(3.0), 1 - np.exp(-3.0)),
    ],
)
def test_model_shapes(model, h, share) -> None:
    vg = Variogram(model, 0.2, 1.0, 100.0)
    assert vg.gamma(h * 100.0) == pytest.approx(0.2 + share)
    assert vg.gamma(0.0) == 0.0
    assert vg.covariance(0.0) == pytest.approx(1.2)
    hh = np.linspace(1, 500, 50)
    np.testing.assert_allclose(vg.covariance(hh), vg.sill - vg.gamma(hh), atol=1e-12)


def test_fixed_parameters_are_kept(meuse) -> None:
    ev = experimental(*meuse)
    vg = fit(ev, "exponential", nugget=0.1, range=300.0)
    assert (vg.nugget, vg.range, vg.fitted) == (0.1, 300.0, ("psill",))
    all_fixed = fit(ev, "spherical", nugget=0.05, psill=0.6, range=900.0)
    assert all_fixed.fitted == ()
    assert all_fixed.psill == 0.6


def test_weights_change_the_fit(meuse) -> None:
    ev = experimental(*meuse)
    fits = {w: fit(ev, "spherical", weights=w) for w in ("npairs/h2", "npairs", "cressie",
                                                         "none")}
    assert len({round(v.range, 3) for v in fits.values()}) == 4
    # each fit minimises its own criterion: the default weights' sum of squares is smallest
    w = ev.pairs / ev.lags**2
    sse = {k: float(np.sum(w * (v.gamma(ev.lags) - ev.gamma) ** 2)) for k, v in fits.items()}
    assert min(sse, key=sse.get) == "npairs/h2"


def test_large_data_are_subsampled_reproducibly() -> None:
    rng = np.random.default_rng(3)
    x, y = rng.uniform(0, 1e5, (2, 9000))
    z = np.sin(x / 1e4) + rng.normal(0, 0.2, 9000)
    a = experimental(x, y, z, max_points=2000, seed=1)
    b = experimental(x, y, z, max_points=2000, seed=1)
    assert (a.n_points, a.n_used) == (9000, 2000)
    np.testing.assert_array_equal(a.gamma, b.gamma)
    full = variogram_of(x, y, z, "spherical")
    sub = fit(a, "spherical")
    assert sub.range == pytest.approx(full.range, rel=0.15)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: experimental([0, 1], [0, 1], [1, 2]), "at least 3 points"),
        (lambda: experimental([0, 0, 0], [0, 0, 0], [1, 2, 3]), "all at one place"),
        (lambda: experimental([0, 1, 2], [0, 1, 2], [1, 2, 3], edges=[3, 1]), "increase"),
        (lambda: experimental([0, 1, 2], [0, 1, 2], [1, 2, 3], estimator="x"), "estimator"),
        (lambda: Variogram("cubic", 0, 1, 1), "unknown variogram model"),
        (lambda: Variogram("spherical", -1, 1, 1), "nugget >= 0"),
        (lambda: Variogram("spherical", 0, 0, 1), "positive sill"),
        (lambda: from_dict({"model": "spherical"}), "is missing"),
    ],
)
def test_errors(call, message) -> None:
    with pytest.raises(VariogramError, match=message):
        call()


def test_too_few_classes_to_fit() -> None:
    ev = ExperimentalVariogram(np.array([10.0, 20.0]), np.array([1.0, 2.0]),
                               np.array([50, 50]), np.array([0.0, 15.0, 25.0]), "matheron",
                               10, 10, 1.0)
    with pytest.raises(VariogramError, match="too few to fit"):
        fit(ev, "spherical")
    assert fit(ev, "spherical", nugget=0.0).fitted == ("psill", "range")
