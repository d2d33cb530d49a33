"""Mineral anomalies: thresholds, anomalous samples, anomaly polygons and ranked targets.

* **Thresholds** (:func:`threshold_of`) from the baseline methods — ``tukey`` (upper
  inner fence on log10 data), ``mad2`` (median + 2 MAD on log10 data), ``ubv``
  (P75 + 1.5 IQR), ``sigma2`` (iterative 2σ on log10 data) — or a cumulative-frequency
  percentile ``p85``, ``p95``… (China's national lithium study used the 85th).
* **Surfaces** (:func:`surface`): the element gridded onto cells of a grid level (the
  cell median of the samples in each cell).
* **Targets** (:func:`targets`): cells at or above the threshold joined into polygons
  (8-connected by default), each with its area, number of samples, peak and mean value,
  mean contrast (value ÷ threshold) and *linear productivity* P = area × (mean −
  background), the classic measure of an anomaly's metal (Solovov 1987), by which
  targets are ranked. Each target lists the other elements anomalous over at least half
  its cells (its association).
* **Multi-element signatures** (:func:`signatures`): centred log-ratio (clr) scores, an
  additive index (the sum of robust z-scores of the named elements' clr), and the robust
  Mahalanobis distance of each sample's composition (isometric log-ratio coordinates,
  minimum covariance determinant estimate, scikit-learn) with the χ² 97.5 % cut-off
  (Filzmoser, Garrett & Reimann 2005). Censored values enter log-ratios at 0.65 × DL
  (Martín-Fernández, Barceló-Vidal & Pawlowsky-Glahn 2003). :func:`clr` and :func:`ilr`
  are those of :mod:`chemearth.stats.compositional`, re-exported here.

Examples
--------
>>> round(threshold_of(np.arange(1.0, 11.0), method="p85"), 6)
8.65
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy import ndimage, stats
from scipy.spatial import cKDTree

from chemearth.errors import ChemearthError
from chemearth.grid.aggregate import cell_stats
from chemearth.grid.geometry import INVALID_KEY, Grid, get_grid
from chemearth.grid.layers import grids_for
from chemearth.grid.levels import parse_level
from chemearth.stats import summary as st
from chemearth.stats.baselines import baseline_of
from chemearth.stats.compositional import clr, ilr
from chemearth.store.base import Store
from chemearth.store.selectors import element_values

__all__ = [
    "THRESHOLD_METHODS",
    "AnomalyError",
    "Surface",
    "as_geojson",
    "clr",
    "default_level",
    "ilr",
    "label_polygons",
    "raster_index",
    "signatures",
    "surface",
    "targets",
    "threshold_of",
]

#: Threshold methods besides ``p<NN>`` and the baseline column each reads.
THRESHOLD_METHODS = {"tukey": "tukey_upper", "mad2": "mad2_upper", "ubv": "ubv",
                     "sigma2": "sigma2_upper"}

#: Factor of the detection limit a censored value takes in log-ratios.
CENSORED_FACTOR = 0.65


class AnomalyError(ChemearthError, ValueError):
    """A threshold, surface or signature that cannot be computed as asked."""

    exit_code = 2


def threshold_of(values: np.ndarray, censored: np.ndarray | None = None, *,
                 method: str = "tukey") -> float:
    """The anomaly threshold of a set of values by ``method`` (``tukey``, ``mad2``, ``ubv``,
    ``sigma2`` or ``p<NN>`` such as ``p85``)."""
    x = np.asarray(values, dtype=float)
    c = np.zeros(x.shape, bool) if censored is None else np.asarray(censored, dtype=bool)
    m = re.fullmatch(r"p(\d+(?:\.\d+)?)", method)
    if m:
        q = float(m[1])
        if not 0 < q < 100:
            raise AnomalyError(f"percentile threshold {method!r} must lie between p0 and p100")
        return float(st.percentiles(x[np.isfinite(x)], q))
    if method not in THRESHOLD_METHODS:
        raise AnomalyError(f"unknown threshold method {method!r}: use p<NN> (e.g. p85) or "
                           f"one of {', '.join(THRESHOLD_METHODS)}")
    value = baseline_of(x, c)[THRESHOLD_METHODS[method]]
    if value is None or not math.isfinite(value):
        raise AnomalyError(f"the {method} threshold is not defined for these values "
                           "(too few, or not all positive)")
    return float(value)


def default_level(grid: Grid, longitude: np.ndarray, latitude: np.ndarray) -> int:
    """The finest level whose cells are at least 1.5 times the median sample spacing.

    Cells about as large as the spacing make a surface without holes between samples.
    """
    x, y = grid.to_xy(longitude, latitude)
    ok = np.isfinite(x) & np.isfinite(y)
    pts = np.column_stack([x[ok], y[ok]])
    if len(pts) < 2:
        return int(max(grid.levels))
    d, _ = cKDTree(pts).query(pts, k=2)
    spacing = float(np.median(d[:, 1]))
    fits = [lv for lv in grid.levels if lv >= 1.5 * spacing]
    return int(min(fits)) if fits else int(max(grid.levels))


@dataclass
class Surface:
    """One variable gridded onto the cells of one level.

    ``cells`` holds ``cell`` (key), ``cell_id``, ``n``, ``value`` (the cell median) and
    ``max``; ``samples`` the samples used with their ``cell``.
    """

    grid: Grid
    level_m: int
    variable: str
    unit: str
    cells: pd.DataFrame
    samples: pd.DataFrame
    method: str = ""

    @property
    def cell_area_km2(self) -> float:
        return (self.level_m / 1000.0) ** 2


def surface(
    samples: pd.DataFrame,
    *,
    variable: str,
    unit: str = "mg/kg",
    grid: str | None = None,
    level: int | str | None = None,
    min_n: int = 1,
    method: str = "",
) -> Surface:
    """Grid a per-sample variable: the median of the samples in each cell.

    Parameters
    ----------
    samples : pandas.DataFrame
        ``sample_id``, ``longitude``, ``latitude``, ``value``, ``censored``.
    variable, unit : str
        What the values are (``"Ni"``, ``"mg/kg"``).
    grid : str, optional
        Default: the European grid for data mostly in Europe, else the global grid.
    level : int or str, optional
        Default: :func:`default_level`.
    min_n : int
        Cells with fewer samples are left out (a sharing policy may require 3).
    """
    lon = samples["longitude"].to_numpy(float)
    lat = samples["latitude"].to_numpy(float)
    g = get_grid(grid or grids_for(lon, lat)[-1])
    level_m = parse_level(level) if level is not None else default_level(g, lon, lat)
    keys = g.cell_keys(lon, lat, level_m)
    ok = (keys != INVALID_KEY) & np.isfinite(samples["value"].to_numpy(float))
    s = samples[ok].assign(cell=keys[ok]).reset_index(drop=True)
    if s.empty:
        raise AnomalyError(f"no sample of {variable} lies on the {g.name} grid")
    cs = cell_stats(s["cell"].to_numpy(), s["value"].to_numpy(float),
                    s["censored"].to_numpy(bool))
    cs = cs[cs["n"] >= min_n].reset_index(drop=True)
    if cs.empty:
        raise AnomalyError(f"no {level_m / 1000:g} km cell holds {min_n} or more samples of "
                           f"{variable}: choose a larger cell size")
    cells = pd.DataFrame({"cell": cs["cell"].to_numpy(np.int64),
                          "cell_id": g.key_to_id(cs["cell"].to_numpy()),
                          "n": cs["n"].to_numpy(), "value": cs["median"].to_numpy(float),
                          "max": cs["max"].to_numpy(float)})
    s = s[s["cell"].isin(cells["cell"])].reset_index(drop=True)
    return Surface(g, level_m, variable, unit, cells, s, method)


def raster_index(surf: Surface, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Column and row of each cell in a dense array, and the array's west and north."""
    west, _, south, _ = surf.grid.cell_bounds(keys)
    size = float(surf.level_m)
    col = np.floor(west / size).astype(np.int64)
    row = np.floor(south / size).astype(np.int64)
    c0, r1 = col.min(), row.max()
    return col - c0, r1 - row, c0 * size, (r1 + 1) * size


def label_polygons(labels: np.ndarray, west: float, north: float, size: float, grid: Grid,
              n_labels: int) -> list[shapely.Geometry]:
    """The outline of each label (1 … n) in WGS84 degrees."""
    from rasterio import features
    from rasterio.transform import from_origin

    transform = from_origin(west, north, size, size)
    parts: dict[int, list[shapely.Geometry]] = {i: [] for i in range(1, n_labels + 1)}
    for geom, value in features.shapes(labels.astype(np.int32), mask=labels > 0,
                                       transform=transform, connectivity=8):
        parts[int(value)].append(shapely.geometry.shape(geom))
    to_wgs = pyproj.Transformer.from_crs(grid.crs, "EPSG:4326", always_xy=True)
    out = []
    for i in range(1, n_labels + 1):
        shape = shapely.union_all(parts[i])
        shape = shapely.segmentize(shape, size / 4)  # keep edges true after reprojection
        out.append(shapely.transform(shape, lambda xy: np.column_stack(
            to_wgs.transform(xy[:, 0], xy[:, 1]))))
    return out


def targets(
    surf: Surface,
    threshold: float,
    *,
    associated: dict[str, tuple[Surface, float]] | None = None,
    connectivity: int = 8,
) -> pd.DataFrame:
    """Anomaly targets: connected cells of ``surf`` at or above ``threshold``, ranked.

    Parameters
    ----------
    surf : Surface
        The gridded variable.
    threshold : float
        In the variable's unit.
    associated : dict, optional
        Other variables' surfaces (same grid and level) and thresholds: a target's
        ``association`` lists those anomalous over at least half its cells.
    connectivity : {8, 4}
        Whether cells touching at a corner belong to one target.

    Returns
    -------
    pandas.DataFrame
        One row per target, best first: ``rank``, ``target_id``, ``n_cells``,
        ``area_km2``, ``n_samples``, ``peak`` (highest sample), ``peak_sample_id``,
        ``peak_longitude``, ``peak_latitude``, ``mean`` (of the cell medians),
        ``contrast`` (mean ÷ threshold), ``productivity`` (area × (mean − background),
        km²·unit; background = median of all cells), ``association``, ``cells``
        (their ids) and ``geometry`` (shapely, WGS84).
    """
    if connectivity not in (4, 8):
        raise AnomalyError("connectivity must be 4 or 8")
    cells = surf.cells
    hot = cells[cells["value"] >= threshold].reset_index(drop=True)
    columns = ["rank", "target_id", "variable", "n_cells", "area_km2", "n_samples", "peak",
               "peak_sample_id", "peak_longitude", "peak_latitude", "mean", "contrast",
               "productivity", "association", "cells", "geometry"]
    if hot.empty:
        return pd.DataFrame(columns=columns)
    keys = hot["cell"].to_numpy(np.int64)
    col, row, west, north = raster_index(surf, keys)
    grid = np.zeros((row.max() + 1, col.max() + 1), dtype=bool)
    grid[row, col] = True
    structure = np.ones((3, 3), bool) if connectivity == 8 else None
    labels, n = ndimage.label(grid, structure=structure)
    lab = labels[row, col]
    background = float(np.median(cells["value"]))
    geoms = label_polygons(labels, west, north, float(surf.level_m), surf.grid, n)
    assoc_flags = {}
    for name, (other, thr) in (associated or {}).items():
        high = set(other.cells.loc[other.cells["value"] >= thr, "cell"].tolist())
        assoc_flags[name] = np.array([k in high for k in keys])
    samples = surf.samples
    rows = []
    for t in range(1, n + 1):
        mine = lab == t
        tk = keys[mine]
        vals = hot.loc[mine, "value"].to_numpy(float)
        ins = samples[samples["cell"].isin(tk)]
        top = ins.iloc[int(np.argmax(ins["value"].to_numpy(float)))]
        area = float(mine.sum()) * surf.cell_area_km2
        rows.append({
            "variable": surf.variable, "n_cells": int(mine.sum()), "area_km2": area,
            "n_samples": len(ins), "peak": float(top["value"]),
            "peak_sample_id": str(top["sample_id"]), "peak_longitude": float(top["longitude"]),
            "peak_latitude": float(top["latitude"]), "mean": float(vals.mean()),
            "contrast": float(vals.mean() / threshold) if threshold > 0 else np.nan,
            "productivity": area * (float(vals.mean()) - background),
            "association": ",".join(k for k, f in assoc_flags.items() if f[mine].mean() >= 0.5),
            "cells": ",".join(surf.grid.key_to_id(tk).tolist()),
            "geometry": geoms[t - 1],
        })
    out = pd.DataFrame(rows).sort_values(["productivity", "peak"], ascending=False)
    out = out.reset_index(drop=True)
    out.insert(0, "target_id", [f"{surf.variable}-{i + 1}" for i in range(len(out))])
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out[columns]


@dataclass
class Signatures:
    """Multi-element signatures of the samples of one dataset."""

    elements: tuple[str, ...]
    index_elements: tuple[str, ...]
    samples: pd.DataFrame
    cutoff: float
    methods: dict[str, str] = field(default_factory=dict)


def signatures(
    store: Store,
    dataset_id: str,
    elements: Sequence[str],
    *,
    index_elements: Sequence[str] | None = None,
    methods: dict[str, str] | None = None,
    quantile: float = 0.975,
    seed: int = 0,
) -> Signatures:
    """Multi-element signatures: clr scores, an additive index and robust distances.

    Parameters
    ----------
    elements : sequence of str
        The subcomposition (at least 3 elements).
    index_elements : sequence of str, optional
        Elements summed in the additive index (default: all of ``elements``).
    methods : dict, optional
        Element -> method (default: the most total).
    quantile : float
        Of the χ² distribution with D − 1 degrees of freedom, for ``outlier``.

    Returns
    -------
    Signatures
        ``samples`` holds ``sample_id``, ``longitude``, ``latitude``, ``clr_<el>`` per
        element, ``index`` and ``robust_distance``, and ``outlier``; samples lacking any
        element are left out.
    """
    from sklearn.covariance import MinCovDet

    els = list(dict.fromkeys(elements))
    if len(els) < 3:
        raise AnomalyError("a multi-element signature needs at least 3 elements")
    idx_els = list(index_elements or els)
    missing = [e for e in idx_els if e not in els]
    if missing:
        raise AnomalyError(f"index elements {', '.join(missing)} are not in the signature")
    wide = None
    used: dict[str, str] = {}
    for el in els:
        m, used[el] = element_values(store, dataset_id, el, (methods or {}).get(el))
        factor = np.where(m["censored"].to_numpy(bool), CENSORED_FACTOR, 1.0)
        v = factor * m["value"].to_numpy(float)
        part = pd.DataFrame({"sample_id": m["sample_id"].to_numpy(), el: v})
        if wide is None:
            wide = m[["sample_id", "longitude", "latitude"]].assign(**{el: v})
        else:
            wide = wide.merge(part, on="sample_id")
    assert wide is not None
    wide = wide.drop_duplicates("sample_id")
    x = wide[els].to_numpy(float)
    ok = np.all(np.isfinite(x) & (x > 0), axis=1)
    wide, x = wide[ok].reset_index(drop=True), x[ok]
    if len(wide) < 3 * len(els):
        raise AnomalyError(f"only {len(wide)} samples hold all of {', '.join(els)}")
    c = clr(x)
    out = wide[["sample_id", "longitude", "latitude"]].copy()
    z = np.zeros(len(out))
    for j, el in enumerate(els):
        out[f"clr_{el}"] = c[:, j]
        if el in idx_els:
            med = np.median(c[:, j])
            scale = st.mad_normal(c[:, j]) or float(np.std(c[:, j])) or 1.0
            z += (c[:, j] - med) / scale
    out["index"] = z
    coords = ilr(x)
    mcd = MinCovDet(random_state=seed).fit(coords)
    out["robust_distance"] = np.sqrt(mcd.mahalanobis(coords))
    cutoff = float(np.sqrt(stats.chi2.ppf(quantile, coords.shape[1])))
    out["outlier"] = out["robust_distance"] > cutoff
    return Signatures(tuple(els), tuple(idx_els), out, cutoff, used)


def as_geojson(frame: pd.DataFrame) -> dict[str, Any]:
    """Targets (or blocks) with a ``geometry`` column as a GeoJSON FeatureCollection."""
    feats = []
    for rec in frame.to_dict("records"):
        geom = rec.pop("geometry")
        props = {k: (None if isinstance(v, float) and not math.isfinite(v) else
                     v.item() if isinstance(v, np.generic) else v) for k, v in rec.items()}
        feats.append({"type": "Feature", "geometry": shapely.geometry.mapping(geom),
                      "properties": props})
    return {"type": "FeatureCollection", "features": feats}
