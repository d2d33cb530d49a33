"""Fractal anomaly separation (C-N, C-A, S-A, singularity, zones) against independent peers.

Peers and known answers, none of them calling :mod:`chemearth.stats.segmented`:

- Breakpoints and their standard errors: the ``piecewise-regression`` package (Pilgrim
  2021), which implements Muggeo's (2003) iteration with bootstrap restarting and the
  delta-method standard error, on the C-N and C-A curves of the Kola C-horizon survey
  (Reimann et al. 1998; ``kola/chorizonDL.csv``, zeros = below the published DL).
- Thresholds of simulated two-population fields with a known power-law break: samples of
  a broken Pareto law (C-N), and a radial field whose C-A law changes slope at a known
  concentration (C-A).
- A multifractal field: a lognormal multiplicative cascade (background) holding a second,
  eight times richer cascade (the anomaly) whose cells are known.
- Bootstrap intervals: their coverage of the known break of the simulated samples.
- Singularity: a field c ∝ r^(α−2) around a point, each cell holding the exact mean of c
  over the cell, so the window means are exactly c(ε) ∝ ε^(α−2); and a loop of
  ``np.nanmean`` / ``np.polyfit`` over every window of a random raster.
- S-A: a smooth background and small Gaussian anomalies; Parseval's identity; the
  unfiltered inverse transform.
- Zones and composites: small rasters checked by hand.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import piecewise_regression
import pytest
from scipy import integrate

from chemearth.errors import StatisticsError
from chemearth.stats.fractal import (
    FractalError,
    bootstrap_thresholds,
    composite,
    concentration_area,
    concentration_number,
    curve,
    singularity,
    spectrum_area,
    zones,
)
from chemearth.stats.segmented import segmented_fit

# ------------------------------------------------------------------ fixtures and helpers


@pytest.fixture(scope="module")
def kola(data_dir: Path) -> pd.DataFrame:
    """Kola C-horizon, zeros (below the DL) replaced by the published DL and flagged."""
    d = pd.read_csv(data_dir / "kola" / "chorizonDL.csv")
    dl = pd.read_csv(data_dir / "kola" / "chorizonDL_detection_limits.csv")
    limits = dict(zip(dl["column"], dl["detection_limit"], strict=True))
    cols = {}
    for col, limit in limits.items():
        if col in d:
            cols[f"{col}_cen"] = d[col] == 0
            cols[col] = d[col].where(d[col] != 0, limit)
    return pd.concat([d.drop(columns=[c for c in limits if c in d]), pd.DataFrame(cols)],
                     axis=1)


def kola_raster(d: pd.DataFrame, element: str, size_m: float = 10_000) -> np.ndarray:
    """The median of the samples in each ``size_m`` cell of UTM 35N (NaN where none)."""
    col = np.floor(d["XCOO"].to_numpy() / size_m).astype(int)
    row = np.floor(d["YCOO"].to_numpy() / size_m).astype(int)
    med = d.assign(col=col, row=row).groupby(["row", "col"])[element].median()
    r = np.full((row.max() - row.min() + 1, col.max() - col.min() + 1), np.nan)
    rr, cc = np.array(med.index.tolist()).T
    r[row.max() - rr, cc - col.min()] = med.to_numpy()
    return r


def peer_fit(x: np.ndarray, y: np.ndarray, k: int) -> dict:
    """piecewise-regression's fit (seeded: its restarts draw from numpy's global state)."""
    np.random.seed(21)
    fit = piecewise_regression.Fit(list(x), list(y), n_breakpoints=k, n_boot=25)
    res = fit.get_results()
    assert res["converged"]
    est = res["estimates"]
    return {"bp": np.array([est[f"breakpoint{i + 1}"]["estimate"] for i in range(k)]),
            "se": np.array([est[f"breakpoint{i + 1}"]["se"] for i in range(k)]),
            "slopes": np.array([est[f"alpha{i + 1}"]["estimate"] for i in range(k + 1)]),
            "rss": res["rss"], "bic": res["bic"]}


# ------------------------------------------------- breakpoints equal the independent peer

#: (curve, element, breakpoints). Breakpoints within 1e-4 log10 units (0.023 % of the
#: concentration), standard errors within 1 %, RSS no larger than the peer's.
PEER_CASES = [
    ("C-N", "Cu", 1), ("C-N", "Cu", 2), ("C-N", "Cu", 3),
    ("C-N", "Ni", 2), ("C-N", "As", 2), ("C-A", "Cu", 1), ("C-A", "Cu", 2),
]


@pytest.mark.parametrize(("kind", "element", "k"), PEER_CASES)
def test_kola_breakpoints_equal_piecewise_regression(kola, kind, element, k) -> None:
    if kind == "C-N":
        fit = concentration_number(kola[element], kola[f"{element}_cen"], n_breakpoints=k)
    else:
        fit = concentration_area(kola_raster(kola, element), n_breakpoints=k, cell_area=100.0)
    x, y = fit.curve.log_points()
    peer = peer_fit(x, y, k)
    assert fit.fit.converged
    np.testing.assert_allclose(fit.fit.breakpoints, peer["bp"], atol=1e-4)
    np.testing.assert_allclose(fit.fit.se, peer["se"], rtol=1e-2)
    np.testing.assert_allclose(fit.fit.slopes, peer["slopes"], atol=1e-3)
    assert fit.fit.rss <= peer["rss"] * (1 + 1e-9)
    assert fit.fit.bic == pytest.approx(peer["bic"], abs=0.05)
    # thresholds are 10 ** breakpoint, their interval 10 ** (ψ ± t se)
    np.testing.assert_allclose(fit.thresholds, 10.0 ** peer["bp"], rtol=3e-4)
    assert np.all(fit.threshold_low < fit.thresholds)
    assert np.all(fit.thresholds < fit.threshold_high)


def test_kola_cu_published_thresholds(kola) -> None:
    """Kola C-horizon Cu C-N, three breakpoints, values pinned (checked by the peer above)."""
    fit = concentration_number(kola["Cu"], n_breakpoints=3)
    assert fit.thresholds.round(2).tolist() == [10.64, 27.05, 50.09]
    assert fit.curve.n_censored == 0
    assert fit.fit.bic_by_count.keys() == {3}


def test_bic_chooses_among_one_to_three(kola) -> None:
    fit = concentration_number(kola["Cu"])
    bics = fit.fit.bic_by_count
    assert set(bics) == {1, 2, 3}
    assert fit.fit.n_breakpoints == min(bics, key=bics.__getitem__)
    for k in (1, 2, 3):
        x, y = concentration_number(kola["Cu"], n_breakpoints=k).curve.log_points()
        assert bics[k] == pytest.approx(peer_fit(x, y, k)["bic"], abs=0.05)


# ----------------------------------------------------------------- censored values


def test_censored_values_are_not_counted_as_measured() -> None:
    # detected 0.5 … 6, two censored with DLs 1 and 3
    values = [0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 1.0, 3.0]
    cens = [False] * 7 + [True, True]
    c = curve(values, cens)
    assert c.levels.tolist() == [0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    assert c.measure.tolist() == [7, 6, 5, 4, 3, 2, 1]  # measured values ≥ v only
    assert c.measure_max.tolist() == [9, 7, 6, 4, 3, 2, 1]  # + censored with DL > v
    assert c.fitted.tolist() == [False, False, False, True, True, True, True]
    assert (c.dl_max, c.n_censored) == (3.0, 2)


def test_kola_as_thresholds_lie_above_the_detection_limit(kola) -> None:
    fit = concentration_number(kola["As"], kola["As_cen"], n_breakpoints=2)
    assert fit.curve.n_censored == 10
    assert fit.curve.dl_max == 0.1
    assert np.all(fit.curve.levels[fit.curve.fitted] >= 0.1)
    assert np.all(fit.threshold_low > 0.1)
    # the censored samples never reach the measured count
    n_measured = int((~kola["As_cen"]).sum())
    assert fit.curve.measure.max() == n_measured


def test_thresholds_below_the_highest_dl_are_not_fitted() -> None:
    rng = np.random.default_rng(3)
    v = np.exp(rng.normal(1.0, 1.0, 400))
    cens = v < 3.0  # everything under 3 reported as "< 3"
    v = np.where(cens, 3.0, v)
    fit = concentration_number(v, cens, n_breakpoints=1)
    assert fit.curve.levels[fit.curve.fitted].min() >= 3.0
    assert fit.thresholds[0] > 3.0


# ------------------------------------------------- simulated fields with a known break


def broken_pareto(n: int, rng: np.random.Generator, vmin: float = 5.0, t: float = 50.0,
                  a1: float = 0.6, a2: float = 2.0) -> np.ndarray:
    """Samples with N(≥ v) ∝ v^-a1 below ``t`` and ∝ v^-a2 above (continuous at ``t``)."""
    u = rng.uniform(size=n)
    st = (t / vmin) ** -a1
    return np.where(u > st, vmin * u ** (-1 / a1), t * (u / st) ** (-1 / a2))


def test_cn_recovers_a_simulated_break() -> None:
    """20 samples of 3,000 from a broken Pareto law (break at 50, exponents 0.6 and 2):
    the median error of the threshold is under 0.03 log10 units (7 %), the worst under
    0.2 (58 %: the few samples of the upper tail scatter), and the exponents within 0.1
    and 0.5."""
    err, lower, upper = [], [], []
    for seed in range(20):
        fit = concentration_number(broken_pareto(3000, np.random.default_rng(seed)),
                                   n_breakpoints=1)
        err.append(abs(math.log10(fit.thresholds[0] / 50.0)))
        lower.append(fit.exponents[0])
        upper.append(fit.exponents[1])
    assert np.median(err) < 0.03
    assert max(err) < 0.2
    assert abs(np.median(lower) + 0.6) < 0.1
    assert abs(np.median(upper) + 2.0) < 0.5


@pytest.mark.parametrize(("noise", "tol"), [(0.0, 0.02), (0.05, 0.03), (0.1, 0.06)])
def test_ca_recovers_a_simulated_break(noise: float, tol: float) -> None:
    """A radial field 20 (r/12)^-1 inside r = 12 cells and 20 (r/12)^-0.4 outside, to the
    disc's edge (r = 60.5): A(≥ v) ∝ v^-2 above the threshold 20 and ∝ v^-5 below.
    With the number of breakpoints chosen by BIC, one breakpoint is 20 within ``tol``
    (lognormal noise of ``noise`` log units blurs the break) and the segments on either
    side have exponents −5 and −2 within 0.3. The other breakpoints mark the edge of the
    map (with noise, the lowest values) and the few cells of the peak."""
    c = 60
    r = np.hypot(*np.mgrid[-c:c + 1, -c:c + 1]) + 0.5
    field = np.where(r < 12, 20 * (r / 12) ** -1.0, 20 * (r / 12) ** -0.4)
    field *= np.exp(np.random.default_rng(1).normal(0, noise, r.shape)) if noise else 1.0
    field[r > c] = np.nan
    fit = concentration_area(field, cell_area=4.0)
    i = int(np.argmin(np.abs(np.log(fit.thresholds / 20.0))))
    assert fit.thresholds[i] == pytest.approx(20.0, rel=tol)
    assert fit.exponents[i] == pytest.approx(-5.0, abs=0.3)
    assert fit.exponents[i + 1] == pytest.approx(-2.0, abs=0.3)
    assert fit.curve.measure.max() == pytest.approx(4.0 * np.isfinite(field).sum())


def test_bootstrap_intervals_cover_a_simulated_break() -> None:
    """Ten samples of 2,000 from the broken Pareto law (break at 50), 40 replicates each:
    the 95 % percentile-bootstrap interval holds 50 at least 8 times in 10 (it did 10),
    while the delta-method interval, which takes the curve's points as independent, is
    narrower every time (1.5 to 7 times in log width; it held 50 only 4 times)."""
    covered = 0
    for seed in range(10):
        v = broken_pareto(2000, np.random.default_rng(seed))
        boot = bootstrap_thresholds(v, n_breakpoints=1, n_boot=40, seed=seed)
        delta = concentration_number(v, n_breakpoints=1)
        assert boot.thresholds[0] == delta.thresholds[0]
        assert boot.n_failed == 0
        covered += bool(boot.low[0] <= 50.0 <= boot.high[0])
        assert boot.high[0] / boot.low[0] > delta.threshold_high[0] / delta.threshold_low[0]
    assert covered >= 8


def lognormal_cascade(levels: int, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """A 2^levels square multifractal: each level splits every cell in four and multiplies
    each child by an independent lognormal weight of mean 1 (log sd ``sigma``)."""
    f = np.ones((1, 1))
    for _ in range(levels):
        f = np.kron(f, np.ones((2, 2)))
        f *= np.exp(sigma * rng.standard_normal(f.shape) - sigma**2 / 2)
    return f


@pytest.mark.parametrize("sigma", [0.1, 0.15])
def test_ca_finds_the_outer_boundary_of_a_multifractal_anomaly(sigma: float) -> None:
    """A 128² lognormal cascade of mean 10 holding a 32² cascade of mean 80 (the anomaly,
    1/16 of the area), five seeds. A C-A breakpoint flags every anomalous cell, and that
    threshold flags at most 5 % of the background (1.3–4.4 % in twenty seeds): C-A gives
    the anomaly's outer boundary, conservatively. What it does not give is the gap between
    the two populations: the breakpoint lies in the background's upper tail (about its
    99th percentile), below the gap, because the log-log curve of a lognormal population
    bends where the fit spends a breakpoint (recorded here, not hidden)."""
    for seed in range(5):
        rng = np.random.default_rng(seed)
        field = 10 * lognormal_cascade(7, sigma, rng)
        anomaly = np.zeros(field.shape, bool)
        anomaly[40:72, 50:82] = True
        field[anomaly] = 80 * lognormal_cascade(5, sigma, rng).ravel()
        fit = concentration_area(field, cell_area=1.0)
        flags_all = [t for t in fit.thresholds if (field[anomaly] >= t).all()]
        assert flags_all, fit.thresholds
        t = max(flags_all)
        assert ((field >= t) & ~anomaly).mean() / (~anomaly).mean() <= 0.05
        background = field[~anomaly]
        assert np.quantile(background, 0.95) < t < background.max()


def test_bootstrap_keeps_censoring_and_is_reproducible(kola) -> None:
    a = bootstrap_thresholds(kola["As"], kola["As_cen"], n_breakpoints=1, n_boot=20, seed=4)
    b = bootstrap_thresholds(kola["As"], kola["As_cen"], n_breakpoints=1, n_boot=20, seed=4)
    np.testing.assert_array_equal(a.replicates, b.replicates)
    assert a.replicates.shape == (20, 1)
    assert np.all(a.replicates >= 0.1)  # no replicate's threshold under the DL
    assert a.low[0] <= a.thresholds[0] <= a.high[0]


# ---------------------------------------------------------------------- singularity


def cell_means_of_power(beta: float, half: int) -> np.ndarray:
    """Cells of side 1 around the origin, each the exact mean of r**beta over the cell."""
    g, w = np.polynomial.legendre.leggauss(24)
    g, w = g / 2, w / 2
    out = np.empty((2 * half + 1, 2 * half + 1))
    for i in range(-half, half + 1):
        for j in range(-half, half + 1):
            xx, yy = np.meshgrid(i + g, j + g)
            out[j + half, i + half] = (w[:, None] * w[None, :] *
                                       np.hypot(xx, yy) ** beta).sum()
    # the centre: 8 ∫_0^{π/4} ∫_0^{1/(2 cos θ)} r^(β+1) dr dθ, in closed form over r
    out[half, half] = 8 * integrate.quad(
        lambda t: (0.5 / math.cos(t)) ** (beta + 2) / (beta + 2), 0, math.pi / 4)[0]
    return out


@pytest.mark.parametrize("alpha", [1.4, 1.8, 2.0, 2.3, 2.7])
def test_singularity_of_a_power_law_point(alpha: float) -> None:
    """c ∝ r^(α−2): the window means are exactly ∝ ε^(α−2), so α comes back at the
    centre (to 1e-6), with a zero standard error; α < 2 is enrichment."""
    field = 7.0 * cell_means_of_power(alpha - 2, 10)
    res = singularity(field, windows=(1, 3, 5, 7, 9))
    assert res.alpha[10, 10] == pytest.approx(alpha, abs=1e-6)
    assert res.se[10, 10] == pytest.approx(0.0, abs=1e-6)


def test_singularity_equals_a_loop_over_windows() -> None:
    rng = np.random.default_rng(5)
    a = np.exp(rng.normal(0, 0.5, (12, 15)))
    a[3, 4] = a[7, 11] = np.nan
    windows = (1, 3, 5, 7)
    res = singularity(a, windows=windows)
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            if np.isnan(a[i, j]):
                assert np.isnan(res.alpha[i, j])
                continue
            means = [np.nanmean(a[max(i - e // 2, 0):i + e // 2 + 1,
                                  max(j - e // 2, 0):j + e // 2 + 1]) for e in windows]
            slope, icpt = np.polyfit(np.log(windows), np.log(means), 1)
            assert res.alpha[i, j] == pytest.approx(slope + 2, abs=1e-9)
            assert res.log_density[i, j] == pytest.approx(icpt, abs=1e-9)


def test_singularity_rejects_even_windows() -> None:
    with pytest.raises(FractalError, match="odd"):
        singularity(np.ones((5, 5)), windows=(1, 2, 3))


# ------------------------------------------------------------------------------ S-A


def smooth_plus_anomalies(n: int = 64) -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[0:n, 0:n].astype(float)
    bg = (50 + 20 * np.cos(2 * np.pi * xx / n) + 15 * np.sin(2 * np.pi * 2 * yy / n + 0.3)
          + 10 * np.cos(2 * np.pi * (xx + yy) / n))
    anom = sum(8 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * 1.2**2))
               for cy, cx in [(10, 12), (40, 20), (25, 50), (52, 45), (15, 35)])
    noise = np.random.default_rng(21).normal(0, 0.05, (n, n))
    return bg + anom + noise, anom


def test_sa_separates_short_wavelength_anomalies() -> None:
    """Small Gaussian anomalies (σ = 1.2 cells, 8 high) on a smooth background of three
    long-wavelength harmonics (amplitudes 10–20) and faint noise: the anomaly filter at
    the highest S-A breakpoint recovers the anomalies' energy (about their mean) within
    ``tol`` and correlates with them above ``corr``; the background is off by under
    ``bg`` of the surface's range. The anomalies' own longest wavelengths, which share
    the background's energies, go to the background: that is the energy missing."""
    z, anom = smooth_plus_anomalies()
    truth = anom - anom.mean()
    for k, tol, corr, bg in [(None, 0.05, 0.95, 0.01), (1, 0.01, 0.99, 0.005)]:
        sa = spectrum_area(z, n_breakpoints=k)
        assert sa.fit is not None
        assert sa.energy_threshold == sa.fit.thresholds[-1]
        assert (sa.anomaly**2).sum() / (truth**2).sum() == pytest.approx(1.0, abs=tol)
        assert np.corrcoef(sa.anomaly.ravel(), truth.ravel())[0, 1] > corr
        assert np.abs(sa.background - (z - anom + anom.mean())).max() < bg * np.ptp(z)
        np.testing.assert_allclose(sa.anomaly + sa.background, z, atol=1e-10)


def test_sa_unfiltered_inverse_returns_the_surface() -> None:
    z, _ = smooth_plus_anomalies(32)
    ny, nx = z.shape
    everything = spectrum_area(z, energy_threshold=1e-300)
    np.testing.assert_allclose(everything.background, z, atol=1e-10)
    np.testing.assert_allclose(everything.anomaly, 0.0, atol=1e-10)
    # Parseval: the energy of the spectrum is that of the surface times its size
    assert everything.energy.sum() / (nx * ny) == pytest.approx((z**2).sum(), rel=1e-12)


def test_sa_fills_no_data_with_the_mean_and_reports_it() -> None:
    z, _ = smooth_plus_anomalies(32)
    z[5:8, 10:12] = np.nan
    sa = spectrum_area(z, n_breakpoints=1)
    assert sa.n_filled == 6
    assert sa.fill_value == pytest.approx(np.nanmean(z))
    assert np.array_equal(np.isnan(sa.anomaly), np.isnan(z))
    ok = np.isfinite(z)
    np.testing.assert_allclose(sa.anomaly[ok] + sa.background[ok], z[ok], atol=1e-10)


# ----------------------------------------------------------- zones and composites

ZONE_CASES = [
    # (values, threshold, multiples, zones)
    ([[0.5, 1.0, 1.9], [2.0, 3.99, 4.0], [100.0, np.nan, 0.0]], 1.0, (1, 2, 4),
     [[0, 1, 1], [2, 2, 3], [3, -1, 0]]),
    ([[10.0, 25.0], [49.9, 50.0]], 12.5, (1, 2, 4), [[0, 2], [2, 3]]),
    ([[1.0, 3.0, 9.0, 27.0]], 3.0, (1, 3), [[0, 1, 2, 2]]),
]


@pytest.mark.parametrize(("values", "threshold", "multiples", "expected"), ZONE_CASES)
def test_zones_by_hand(values, threshold, multiples, expected) -> None:
    assert zones(np.array(values), threshold, multiples=multiples).tolist() == expected


COMPOSITE_CASE = {
    "Cu": ([[10.0, 20.0, 45.0], [80.0, np.nan, 5.0]], 20.0),  # zones 0 1 2 / 3 -1 0
    "Ni": ([[3.0, 1.0, 4.0], [np.nan, np.nan, 9.0]], 2.0),    # zones 1 0 2 / -1 -1 3
    "Co": ([[1.0, 1.0, 1.0], [1.0, np.nan, 1.0]], 0.5),       # zones 2 2 2 / 2 -1 2
}


@pytest.mark.parametrize(("field", "expected"), [
    ("score", [[3, 3, 6], [5, -1, 5]]),
    ("count", [[2, 2, 3], [2, -1, 2]]),
    ("n_valid", [[3, 3, 3], [2, -1, 3]]),
])
def test_composite_by_hand(field: str, expected: list) -> None:
    comp = composite(COMPOSITE_CASE)
    assert comp.elements == ("Cu", "Ni", "Co")
    assert getattr(comp, field).tolist() == expected


@pytest.mark.parametrize(("call", "match"), [
    (lambda: zones([[1.0]], 0.0), "positive"),
    (lambda: zones([[1.0]], 1.0, multiples=(2, 1)), "ascending"),
    (lambda: composite({}), "at least one"),
    (lambda: composite({"a": ([[1.0]], 1.0), "b": ([[1.0, 2.0]], 1.0)}), "shape"),
    (lambda: concentration_number([1.0, 2.0]), "at least 3"),
    (lambda: concentration_number(np.arange(1.0, 8.0), n_breakpoints=2), "cannot hold"),
    (lambda: concentration_number(np.arange(1.0, 80.0), n_breakpoints=4), "1 to 3"),
    (lambda: spectrum_area(np.ones(5)), "2-D"),
    (lambda: spectrum_area(np.ones((4, 4)), energy_threshold=-1.0), "positive"),
    (lambda: bootstrap_thresholds(np.arange(1.0, 50.0), n_breakpoints=1, n_boot=5), "n_boot"),
])
def test_errors_name_the_problem(call, match: str) -> None:
    with pytest.raises(FractalError, match=match):
        call()


def test_fractal_error_is_a_statistics_and_value_error() -> None:
    assert issubclass(FractalError, StatisticsError)
    assert issubclass(FractalError, ValueError)
    with pytest.raises(StatisticsError, match="same length"):
        segmented_fit([1.0, 2.0], [1.0])
