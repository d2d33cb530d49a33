"""Geochemical baselines for any region and grouping.

:func:`baseline` selects the analyses of one element in a region — a country, a grid
cell, a bounding box, a polygon, a dataset or everything — groups them (always by dataset,
medium, analytical method and unit, which must never be pooled blindly; optionally also by
sample attributes such as land use or lithology) and gives per group:

* the distribution: n, n censored, min, P5 … P98, max, MAD, geometric mean, log10 SD
  (:func:`chemearth.stats.summary.describe`; censored values at their detection limit, with
  ``below_dl`` flags, and ROS for the log statistics);
* censored-data estimates: Kaplan–Meier median and mean, ROS median and mean
  (:mod:`chemearth.stats.censored`);
* background/threshold: Tukey's upper inner fence on log10 data, median + 2 MAD on log10
  data, P95 and P98, the upper limit of baseline variation P75 + 1.5 IQR (≥ 30 samples,
  capped at the maximum), iterative 2σ on log10 data (:mod:`chemearth.stats.summary`);
* cumulative-frequency class breaks at 5, 10, 25, 50, 75, 90, 95 and 98 %.

Regions are written ``country:FI``, ``dataset:kola-humus``, ``cell:G80km-E013-N055`` (or
an INSPIRE id such as ``10kmE432N321``), ``bbox:W,S,E,N`` (degrees) or
``polygon:PATH`` (any vector file GDAL reads; WGS 84 or with its CRS declared).

Examples
--------
>>> parse_region("bbox:10,50,12,52").kind, parse_region("country:fi").value
('bbox', 'FI')
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely

from chemearth.errors import ChemearthError, GridError, NotFoundError
from chemearth.stats import summary as st
from chemearth.stats.censored import StatisticsError, kaplan_meier, ros
from chemearth.store.base import Store

__all__ = [
    "CLASS_PERCENTS",
    "GROUP_KEYS",
    "Region",
    "RegionError",
    "baseline",
    "baseline_of",
    "in_region",
    "parse_region",
    "region_values",
]

#: Percentiles of the cumulative-frequency classes of element maps.
CLASS_PERCENTS = (5, 10, 25, 50, 75, 90, 95, 98)

#: Columns every baseline is grouped by.
GROUP_KEYS = ("dataset_id", "medium", "method", "unit")

#: Sample columns that can be grouped by besides attributes.
SAMPLE_FIELDS = ("country", "medium")


class RegionError(ChemearthError, ValueError):
    """A region that cannot be understood."""


@dataclass(frozen=True)
class Region:
    """Where a baseline is computed: ``kind`` is one of all, country, dataset, cell, bbox,
    polygon; ``value`` is the code, id, bounds or a WGS 84 shapely geometry."""

    kind: str
    value: Any
    label: str


def parse_region(spec: str | Region | shapely.Geometry | None) -> Region:
    """A :class:`Region` from its text form (see the module docstring) or a geometry.

    Examples
    --------
    >>> parse_region("cell:10kmE432N321").value
    '10kmE432N321'
    >>> parse_region(None).kind
    'all'
    """
    if spec is None:
        return Region("all", None, "all samples")
    if isinstance(spec, Region):
        return spec
    if isinstance(spec, shapely.Geometry):
        return Region("polygon", spec, "polygon")
    kind, sep, value = str(spec).partition(":")
    kind, value = kind.strip().lower(), value.strip()
    if not sep or not value:
        raise RegionError(
            f"region {spec!r}: write country:CODE, dataset:ID, cell:ID, bbox:W,S,E,N "
            "or polygon:PATH"
        )
    if kind == "country":
        if not (len(value) == 2 and value.isalpha()):
            raise RegionError(f"region {spec!r}: countries are ISO 3166 alpha-2 codes, e.g. FI")
        return Region("country", value.upper(), f"country {value.upper()}")
    if kind == "dataset":
        return Region("dataset", value, f"dataset {value}")
    if kind == "cell":
        return Region("cell", value, f"cell {value}")
    if kind == "bbox":
        try:
            w, s, e, n = (float(x) for x in value.split(","))
        except ValueError:
            raise RegionError(f"region {spec!r}: bbox needs four numbers W,S,E,N") from None
        if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
            raise RegionError(f"region {spec!r}: need -180 <= W < E <= 180, -90 <= S < N <= 90")
        return Region("bbox", (w, s, e, n), f"bbox {w},{s},{e},{n}")
    if kind == "polygon":
        return Region("polygon", _read_polygon(Path(value)), f"polygon {value}")
    raise RegionError(f"region {spec!r}: unknown kind {kind!r}")


def _read_polygon(path: Path) -> shapely.Geometry:
    import geopandas as gpd

    if not path.exists():
        raise RegionError(f"polygon file {path} does not exist")
    try:
        frame = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises several types
        raise RegionError(f"polygon file {path}: {exc}") from None
    if frame.empty:
        raise RegionError(f"polygon file {path} holds no features")
    if frame.crs is not None:
        frame = frame.to_crs("EPSG:4326")
    geom = shapely.union_all(frame.geometry.values)
    if geom.area == 0:
        raise RegionError(f"polygon file {path} holds no polygon")
    return geom


def region_values(
    store: Store,
    element: str,
    region: str | Region | shapely.Geometry | None = None,
    *,
    dataset: str | None = None,
    medium: str | None = None,
    method: str | None = None,
    by: Sequence[str] = (),
) -> pd.DataFrame:
    """The analyses of ``element`` in ``region``: one row per analysis, with the sample's
    dataset, location, country, medium and the ``by`` attributes as columns.

    Without ``dataset`` (or a ``dataset:`` region), quality-control and textbook datasets
    are left out.
    """
    reg = parse_region(region)
    if reg.kind == "dataset":
        if dataset is not None and dataset != reg.value:
            raise RegionError(f"region {reg.label} and dataset {dataset!r} disagree")
        dataset = reg.value
    catalogue = store.datasets()
    if dataset is not None:
        if dataset not in set(catalogue["dataset_id"]):
            raise NotFoundError(f"dataset {dataset!r} is not in the store")
        wanted = [dataset]
    else:
        wanted = list(catalogue.loc[catalogue["kind"].fillna("survey") == "survey", "dataset_id"])
    frames = []
    for ds in wanted:
        m = store.measurements(ds, elements=[element])
        if m.empty:
            continue
        if by:
            m = _with_attributes(store, ds, m, by)
        frames.append(m)
    if not frames:
        raise NotFoundError(
            f"no analyses of {element!r}" + (f" in dataset {dataset!r}" if dataset else "")
        )
    values = pd.concat(frames, ignore_index=True)
    if medium is not None:
        values = values[values["medium"].astype(str) == medium]
    if method is not None:
        values = values[values["method"].fillna("").astype(str) == method]
    keep = in_region(values, reg)
    values = values[keep & values["value"].notna()].reset_index(drop=True)
    values["method"] = values["method"].fillna("").astype(str)
    return values


def _with_attributes(store: Store, ds: str, m: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Add the ``by`` sample attributes (from the samples' attribute JSON) to ``m``."""
    wanted = [b for b in by if b not in SAMPLE_FIELDS]
    if not wanted:
        return m
    samples = store.samples(ds)[["sample_index", "attributes"]]
    parsed = [json.loads(a) if isinstance(a, str) and a else {} for a in samples["attributes"]]
    attrs = pd.DataFrame(
        {b: [p.get(b) for p in parsed] for b in wanted}, index=samples["sample_index"].to_numpy()
    )
    out = m.copy()
    for b in wanted:
        out[b] = attrs[b].reindex(m["sample_index"].to_numpy()).to_numpy()
    return out


def in_region(values: pd.DataFrame, reg: Region) -> np.ndarray:
    """Which rows of ``values`` (with longitude, latitude, country) lie in ``reg``."""
    lon = values["longitude"].to_numpy(dtype=np.float64, na_value=np.nan)
    lat = values["latitude"].to_numpy(dtype=np.float64, na_value=np.nan)
    if reg.kind in ("all", "dataset"):
        return np.ones(len(values), dtype=bool)
    if reg.kind == "country":
        return np.asarray(values["country"].astype(str).to_numpy() == reg.value)
    if reg.kind == "bbox":
        w, s, e, n = reg.value
        return np.asarray((lon >= w) & (lon <= e) & (lat >= s) & (lat <= n))
    if reg.kind == "polygon":
        ok = np.isfinite(lon) & np.isfinite(lat)
        inside = np.zeros(len(values), dtype=bool)
        inside[ok] = shapely.contains_xy(reg.value, lon[ok], lat[ok])
        return inside
    from chemearth.grid.geometry import get_grid

    cell_id = str(reg.value)
    g = get_grid("global" if cell_id.startswith("G") else "europe")
    try:
        key = int(g.id_to_key([cell_id])[0])
    except GridError as exc:
        raise RegionError(f"region {reg.label}: {exc}") from None
    return np.asarray(g.cell_keys(lon, lat, int(g.level_of([key])[0])) == key)


def baseline_of(values: np.ndarray, censored: np.ndarray) -> dict[str, Any]:
    """Every baseline statistic of one group of values (censored ones at their DL).

    Examples
    --------
    >>> b = baseline_of(np.array([1.0, 2.0, 4.0, 8.0, 16.0]), np.zeros(5, bool))
    >>> b["median"], round(b["tukey_upper"], 6), b["ubv"]
    (4.0, 64.0, None)
    """
    x = np.asarray(values, dtype=np.float64)
    c = np.asarray(censored, dtype=bool)
    d = st.describe(x, c)
    out: dict[str, Any] = {"n": d["n"], "n_censored": d["n_censored"]}
    out["censored_pct"] = 100.0 * d["n_censored"] / d["n"]
    out["max_dl"] = d["max_dl"]
    for k in (
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
        "mad_normal",
        "gmean",
        "log10_sd",
    ):
        out[k] = d[k]
    out["log_method"] = d["method"]
    out["below_dl"] = ",".join(k for k, v in d["below_dl"].items() if v)
    km = kaplan_meier(x, c)
    out["km_median"], out["km_mean"] = km.median, km.mean
    try:
        r = ros(x, c) if c.any() else None
        out["ros_median"] = r.median if r else d["median"]
        out["ros_mean"] = r.mean if r else float(x.mean())
    except StatisticsError:
        out["ros_median"] = out["ros_mean"] = math.nan
    positive = bool((x > 0).all())
    fences = st.tukey_fences(x, censored=c) if positive else None
    out["tukey_lower"] = fences.lower if fences else math.nan
    out["tukey_upper"] = fences.upper if fences else math.nan
    mad2 = st.median_2mad(x, censored=c) if positive else None
    out["mad2_lower"] = mad2.lower if mad2 else math.nan
    out["mad2_upper"] = mad2.upper if mad2 else math.nan
    u = st.ubv(x, censored=c)
    out["ubv"], out["ubv_capped"] = u.ubv, u.capped
    try:
        s2 = st.iterative_2sigma(x, censored=c) if positive else None
        out["sigma2_upper"] = s2.upper if s2 else math.nan
        out["sigma2_converged"] = s2.converged if s2 else False
    except StatisticsError:
        out["sigma2_upper"], out["sigma2_converged"] = math.nan, False
    breaks = st.cumulative_class_breaks(x, CLASS_PERCENTS, censored=c)
    for p, b in zip(CLASS_PERCENTS, breaks.breaks, strict=True):
        out[f"class_p{p}"] = b
    return out


def baseline(
    store: Store,
    element: str,
    region: str | Region | shapely.Geometry | None = None,
    *,
    dataset: str | None = None,
    medium: str | None = None,
    method: str | None = None,
    by: Sequence[str] = (),
) -> pd.DataFrame:
    """Baselines of ``element`` in ``region``, one row per group.

    Parameters
    ----------
    store : Store
        Where the data are.
    element : str
        Element as stored (``"Cu"``).
    region : str or Region or shapely geometry, optional
        See :func:`parse_region` (default: everywhere).
    dataset, medium, method : str, optional
        Restrict to one dataset, sampled medium or analytical method.
    by : sequence of str
        Extra grouping: ``country`` or any sample attribute (e.g. ``LandCover1`` in DS-801,
        ``LITO`` in the Kola C-horizon, ``Landuse`` and ``Rock`` in Jura).

    Returns
    -------
    pandas.DataFrame
        Group columns (:data:`GROUP_KEYS` and ``by``), ``element``, ``region`` and the
        columns of :func:`baseline_of`.

    Examples
    --------
    >>> b = baseline(store, "Ni", "country:NO", dataset="kola-humus")   # doctest: +SKIP
    >>> b[["n", "median", "tukey_upper", "ubv"]]                        # doctest: +SKIP
    """
    reg = parse_region(region)
    values = region_values(
        store, element, reg, dataset=dataset, medium=medium, method=method, by=by
    )
    if values.empty:
        raise NotFoundError(f"no analyses of {element!r} in {reg.label}")
    keys = [*GROUP_KEYS, *[b for b in by if b not in GROUP_KEYS]]
    for k in keys:
        values[k] = values[k].astype("string").fillna("")
    rows = []
    for group, part in values.groupby(keys, sort=True, observed=True):
        stats = baseline_of(
            part["value"].to_numpy(dtype=np.float64),
            part["censored"].to_numpy(dtype=bool),
        )
        rows.append(
            {
                **dict(zip(keys, group, strict=True)),
                "element": element,
                "region": reg.label,
                **stats,
            }
        )
    return pd.DataFrame(rows)
