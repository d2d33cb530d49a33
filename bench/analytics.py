"""Benchmark: concentration–area (C-A) and concentration–number (C-N) thresholds and robust
PCA of compositions on 1,000,000 samples, against independent implementations.

Synthetic data built from real surveys (``../shared/data``), one seed:

* **C-A and C-N**: each sample is a random Kola C-horizon site (Reimann et al. 1998; UTM
  35N coordinates of ``kola/chorizon.csv``) moved by a Gaussian step of 3 km per axis, its
  copper the site's times ``exp(N(0, 0.15))``; the C-A surface is the cell median on the
  2 km cells of the European grid (EPSG:3035), some 36,000 cells;
* **robust PCA**: each composition is a random GEMAS row (Reimann et al. 2014, XRF totals
  of ``gemas/gemas.csv``) of ten parts (Al, Ca, Fe, K, Mg, Mn, Na, P, Si, Ti, mg/kg), each
  part times ``exp(N(0, 0.05))``.

Each method runs once in its own process (peak memory from ``wait4``, wall time measured
inside, data loading excluded, ``common.run_child``):

* chemearth C-A: :func:`chemearth.assess.anomalies.surface` (grid cells and their
  statistics from longitude and latitude) then
  :func:`chemearth.assess.fractal_zones.concentration_area_of` (the curve and the
  segmented fit, 1–3 breakpoints chosen by BIC); C-N:
  :func:`chemearth.stats.fractal.concentration_number` of the samples;
* peer C-A: pyproj to EPSG:3035, integer division into 2 km cells, pandas ``groupby``
  median, the cumulative curve in numpy at the same levels (every distinct value up to
  1,000 of them, else the value at or above each of 256 log-spaced targets), then the
  ``piecewise-regression`` package (Pilgrim 2021; Muggeo's method with bootstrap
  restarting, ``n_boot=100``, its default and the setting that finds the global fit) for
  1, 2 and 3 breakpoints, the number chosen by the same BIC (the package's own); C-N the
  same curve of the samples;
* chemearth robust PCA: :func:`chemearth.stats.compositional_factors.robust_pca`;
* peer robust PCA: pyrolite's ``ILR``, scikit-learn's ``MinCovDet(random_state=0)``, the
  covariance taken back to clr space with pyrolite's Helmert basis and ``numpy.linalg.eigh``.

Before any ratio is printed the outputs are compared and the bench stops when they differ:
the number of breakpoints must be equal and every breakpoint (log10 concentration) within
:data:`BREAKPOINT_TOL` (the package stops iterating when a breakpoint moves less than
1e-5); the C-A and C-N curves: the same number of points, levels within
:data:`LEVEL_TOL` (relative) and areas or counts equal; the explained variances and the
sign-fixed loadings within :data:`PCA_TOL`. Each figure carries the machine's load
(``common.LoadMeter``). The figures go to ``<out>/analytics.json``.

Usage: ``python bench/analytics.py [--samples 1000000] [--out bench/out]``
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from common import (  # bench/common.py (the script's folder is on sys.path)
    data_dir,
    load_note,
    run_child,
    write_result,
)

ROOT = Path(__file__).resolve().parents[1]
#: parts of the GEMAS compositions
PARTS = ["Al", "Ca", "Fe", "K", "Mg", "Mn", "Na", "P", "Si", "Ti"]
#: cell size of the C-A surface (m, European grid)
LEVEL_M = 2_000
#: largest difference of a breakpoint, log10 units (0.023 % of the concentration)
BREAKPOINT_TOL = 1e-4
#: largest relative difference of a curve's level (a cell median of an even number of
#: samples is the mean of the middle two, which two implementations may round apart)
LEVEL_TOL = 1e-12
#: largest difference of an explained share or a loading
PCA_TOL = 1e-8
#: names of the curves
KINDS = {"ca": "C-A", "cn": "C-N"}
#: the curve's levels (as chemearth.stats.fractal: all distinct values up to this many)
MAX_LEVELS, N_LEVELS = 1000, 256


def generate(samples: int, out: Path, seed: int = 20261205) -> Path:
    """Write the synthetic samples (lon, lat, cu, and the parts) as Parquet."""
    import pyproj

    rng = np.random.default_rng(seed)
    kola = pd.read_csv(data_dir() / "kola" / "chorizon.csv")
    site = rng.integers(0, len(kola), samples)
    x = kola["XCOO"].to_numpy(float)[site] + rng.normal(0, 3000, samples)
    y = kola["YCOO"].to_numpy(float)[site] + rng.normal(0, 3000, samples)
    lon, lat = pyproj.Transformer.from_crs("EPSG:32635", "EPSG:4326",
                                           always_xy=True).transform(x, y)
    cu = kola["Cu"].to_numpy(float)[site] * np.exp(rng.normal(0, 0.15, samples))
    gemas = pd.read_csv(data_dir() / "gemas" / "gemas.csv")[PARTS].dropna()
    row = rng.integers(0, len(gemas), samples)
    cols: dict[str, np.ndarray] = {"longitude": lon, "latitude": lat, "cu": cu}
    for p in PARTS:
        cols[p] = gemas[p].to_numpy(float)[row] * np.exp(rng.normal(0, 0.05, samples))
    path = out / f"analytics_{samples}.parquet"
    pq.write_table(pa.table(cols), path)
    return path


def load(path: Path) -> dict[str, np.ndarray]:
    t = pq.read_table(path)
    return {name: t.column(name).to_numpy() for name in t.column_names}


# --------------------------------------------------------------------------- C-A, C-N


def _fit_out(fit: Any) -> dict[str, Any]:
    return {"breakpoints": fit.fit.breakpoints.tolist(), "levels": fit.curve.levels.tolist(),
            "measure": fit.curve.measure.tolist(), "bic": float(fit.fit.bic)}


def run_chemearth_fractal(path: Path) -> dict[str, Any]:
    from chemearth.assess.anomalies import surface
    from chemearth.assess.fractal_zones import concentration_area_of
    from chemearth.stats.fractal import concentration_number

    d = load(path)
    n = len(d["cu"])
    samples = pd.DataFrame({"sample_id": np.arange(n), "longitude": d["longitude"],
                            "latitude": d["latitude"], "value": d["cu"],
                            "censored": np.zeros(n, bool)})
    t0 = time.perf_counter()
    surf = surface(samples, variable="Cu", grid="europe", level=LEVEL_M)
    t1 = time.perf_counter()
    ca = concentration_area_of(surf)
    t2 = time.perf_counter()
    cn = concentration_number(d["cu"])
    t3 = time.perf_counter()
    return {"seconds": t3 - t0, "ca_seconds": t2 - t0, "surface_s": t1 - t0,
            "ca_fit_s": t2 - t1, "cn_seconds": t3 - t2, "cells": len(surf.cells),
            "ca": _fit_out(ca), "cn": _fit_out(cn)}


def curve_levels(values: np.ndarray) -> np.ndarray:
    """Every distinct positive value, or when there are more than 1,000, the value at or
    above each of 256 log-spaced targets (the definition of the curve's points)."""
    distinct = np.unique(values[values > 0])
    if distinct.size <= MAX_LEVELS:
        return distinct
    targets = np.geomspace(distinct[0], distinct[-1], N_LEVELS)
    return np.unique(distinct[np.searchsorted(distinct, targets * (1 - 1e-12))])


def peer_breakpoints(levels: np.ndarray, measure: np.ndarray) -> dict[str, Any]:
    """piecewise-regression fits of 1, 2 and 3 breakpoints; the one of least BIC."""
    import piecewise_regression

    x, y = np.log10(levels), np.log10(measure)
    best: dict[str, Any] | None = None
    for k in (1, 2, 3):
        np.random.seed(k)  # its bootstrap restarting draws from numpy's global generator
        r = piecewise_regression.Fit(x, y, n_breakpoints=k).get_results()
        if not r["converged"]:
            continue
        bps = sorted(r["estimates"][f"breakpoint{i}"]["estimate"] for i in range(1, k + 1))
        if best is None or r["bic"] < best["bic"]:
            best = {"breakpoints": bps, "bic": float(r["bic"])}
    if best is None:
        raise SystemExit("piecewise-regression converged for no number of breakpoints")
    return best


def _curve(values: np.ndarray, unit: float) -> tuple[np.ndarray, np.ndarray]:
    v = np.sort(values)
    levels = curve_levels(v)
    return levels, (v.size - np.searchsorted(v, levels, side="left")) * unit


def run_peer_fractal(path: Path) -> dict[str, Any]:
    import pyproj

    d = load(path)
    t0 = time.perf_counter()
    x, y = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:3035", always_xy=True).transform(
        d["longitude"], d["latitude"])
    cells = pd.DataFrame({"col": np.floor(x / LEVEL_M).astype(np.int64),
                          "row": np.floor(y / LEVEL_M).astype(np.int64), "v": d["cu"]})
    med = cells.groupby(["col", "row"], sort=False)["v"].median().to_numpy()
    t1 = time.perf_counter()
    ca_levels, ca_measure = _curve(med, (LEVEL_M / 1000) ** 2)
    ca = {**peer_breakpoints(ca_levels, ca_measure), "levels": ca_levels.tolist(),
          "measure": ca_measure.tolist()}
    t2 = time.perf_counter()
    cn_levels, cn_measure = _curve(d["cu"], 1.0)
    cn = {**peer_breakpoints(cn_levels, cn_measure), "levels": cn_levels.tolist(),
          "measure": cn_measure.tolist()}
    t3 = time.perf_counter()
    return {"seconds": t3 - t0, "ca_seconds": t2 - t0, "surface_s": t1 - t0,
            "ca_fit_s": t2 - t1, "cn_seconds": t3 - t2, "cells": len(med), "ca": ca, "cn": cn}


# --------------------------------------------------------------------------- robust PCA


def run_chemearth_pca(path: Path) -> dict[str, Any]:
    from chemearth.stats.compositional_factors import robust_pca

    d = load(path)
    frame = pd.DataFrame({p: d[p] for p in PARTS})
    t0 = time.perf_counter()
    pca = robust_pca(frame, random_state=0)
    return {"seconds": time.perf_counter() - t0, "explained": pca.explained.tolist(),
            "loadings": pca.loadings.to_numpy().tolist()}


def run_peer_pca(path: Path) -> dict[str, Any]:
    from pyrolite.comp.codata import ILR, helmert_basis
    from sklearn.covariance import MinCovDet

    d = load(path)
    x = np.column_stack([d[p] for p in PARTS])
    t0 = time.perf_counter()
    z = ILR(x)
    mcd = MinCovDet(random_state=0).fit(z)
    v = helmert_basis(len(PARTS))  # (D-1) x D: rows orthonormal, clr = z @ v
    values, vectors = np.linalg.eigh(v.T @ mcd.covariance_ @ v)
    order = np.argsort(values)[::-1][: len(PARTS) - 1]
    values, vectors = values[order], vectors[:, order]
    big = np.argmax(np.abs(vectors), axis=0)
    vectors = vectors * np.sign(vectors[big, np.arange(vectors.shape[1])])
    return {"seconds": time.perf_counter() - t0,
            "explained": (values / values.sum()).tolist(), "loadings": vectors.tolist()}


METHODS = {"chemearth-fractal": run_chemearth_fractal, "peer-fractal": run_peer_fractal,
           "chemearth-pca": run_chemearth_pca, "peer-pca": run_peer_pca}


def run(method: str, path: Path) -> dict[str, Any]:
    return run_child([sys.executable, __file__, "--child", method, "--data", str(path)],
                     method)


# --------------------------------------------------------------------------- checks


def check_fractal(ours: dict[str, Any], peer: dict[str, Any]) -> dict[str, float]:
    """Largest breakpoint difference (log10) of C-A and C-N; stops the bench on any
    disagreement of the curves, the number of breakpoints or a breakpoint."""
    if ours["cells"] != peer["cells"]:
        raise SystemExit(f"C-A: {ours['cells']} cells in chemearth, {peer['cells']} in the "
                         "peer")
    worst = {}
    for kind in ("ca", "cn"):
        a, b = ours[kind], peer[kind]
        if (len(a["levels"]) != len(b["levels"])
                or not np.allclose(a["levels"], b["levels"], rtol=LEVEL_TOL, atol=0)
                or a["measure"] != b["measure"]):
            raise SystemExit(f"{KINDS[kind]}: the curves differ")
        if len(a["breakpoints"]) != len(b["breakpoints"]):
            raise SystemExit(f"{KINDS[kind]}: chemearth chose {len(a['breakpoints'])} "
                             f"breakpoints, piecewise-regression {len(b['breakpoints'])}")
        diff = float(np.max(np.abs(np.subtract(a["breakpoints"], b["breakpoints"]))))
        if diff > BREAKPOINT_TOL:
            raise SystemExit(f"{KINDS[kind]}: breakpoints differ by {diff:.2e} (log10) > "
                             f"{BREAKPOINT_TOL:g}: {a['breakpoints']} vs {b['breakpoints']}")
        worst[kind] = diff
    return worst


def check_pca(ours: dict[str, Any], peer: dict[str, Any]) -> float:
    diff = max(float(np.max(np.abs(np.subtract(ours[k], peer[k]))))
               for k in ("explained", "loadings"))
    if diff > PCA_TOL:
        raise SystemExit(f"robust PCA: chemearth and the peer differ by {diff:.2e} > "
                         f"{PCA_TOL:g}")
    return diff


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=1_000_000)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--data", type=Path, default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        print(json.dumps(METHODS[a.child](a.data)))
        return
    out = a.out / f"analytics-{a.samples}"
    out.mkdir(parents=True, exist_ok=True)
    path = generate(a.samples, out)
    print(f"bench/analytics: {a.samples:,} samples; C-A on {LEVEL_M / 1000:g} km cells, C-N, "
          f"robust PCA of {len(PARTS)} parts")
    results = {m: run(m, path) for m in METHODS}
    for name, r in results.items():
        print(f"  {name:18} {r['seconds']:8.2f} s  peak {r['peak_rss'] / 1e9:5.2f} GB  "
              f"[{load_note(r['load'])}]", flush=True)
    ours, peer = results["chemearth-fractal"], results["peer-fractal"]
    bp = check_fractal(ours, peer)
    pca = check_pca(results["chemearth-pca"], results["peer-pca"])
    print("outputs:")
    for kind in ("ca", "cn"):
        print(f"  {KINDS[kind]}: curves equal; {len(ours[kind]['breakpoints'])} breakpoints "
              f"at {', '.join(f'{10 ** b:.4g}' for b in ours[kind]['breakpoints'])} mg/kg; "
              f"max difference {bp[kind]:.1e} log10 (tolerance {BREAKPOINT_TOL:g})")
    print(f"  robust PCA: max difference of explained shares and loadings {pca:.1e} "
          f"(tolerance {PCA_TOL:g})")
    ratios = {"ca": peer["ca_seconds"] / ours["ca_seconds"],
              "cn": peer["cn_seconds"] / ours["cn_seconds"],
              "pca": results["peer-pca"]["seconds"] / results["chemearth-pca"]["seconds"]}
    print("ratios (peer time / chemearth time):")
    print(f"  C-A ({ours['cells']:,} cells): {ratios['ca']:6.2f}x  (surface "
          f"{ours['surface_s']:.2f} s vs {peer['surface_s']:.2f} s, curve and fit "
          f"{ours['ca_fit_s']:.2f} s vs {peer['ca_fit_s']:.2f} s)")
    print(f"  C-N: {ratios['cn']:6.2f}x  ({ours['cn_seconds']:.2f} s vs "
          f"{peer['cn_seconds']:.2f} s)")
    print(f"  robust PCA: {ratios['pca']:6.2f}x  ({results['chemearth-pca']['seconds']:.2f} s "
          f"vs {results['peer-pca']['seconds']:.2f} s)")
    busy = [n for n, r in results.items() if r["load"]["warning"]]
    if busy:
        print(f"WARNING: measured on a busy machine: {', '.join(busy)}")
    for r in (ours, peer):
        for kind in ("ca", "cn"):
            r[kind].pop("levels")
            r[kind].pop("measure")
    path_json = write_result(a.out, "analytics", {
        "samples": a.samples, "methods": results, "ratios": ratios,
        "max_diff": {"breakpoint_log10": bp, "pca": pca},
        "tolerance": {"breakpoint_log10": BREAKPOINT_TOL, "level_rel": LEVEL_TOL,
                      "pca": PCA_TOL}})
    print(f"figures: {path_json}")


if __name__ == "__main__":
    main()
