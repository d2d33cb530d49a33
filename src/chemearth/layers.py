"""The grid database as a Python API: build it, and read layers as pandas or xarray.

A *layer* is one element of one dataset (in one medium, by one analytical method) at one
grid level: a table of cells (:func:`cells`) or a raster (:func:`layer`). The rasters are
:class:`xarray.DataArray` / :class:`xarray.Dataset` objects in the grid's equal-area CRS,
one pixel per cell, so they export to GeoTIFF and NetCDF (:mod:`chemearth.export`)
without resampling.

:func:`build_layers` keeps the database up to date: it computes the cell tables of every
survey dataset version that has none yet (or all with ``force``), on the global grid and,
for datasets mostly inside Europe, on the INSPIRE European grid too. A dataset already
built is not touched, so adding one dataset computes only that dataset.

Examples
--------
>>> from chemearth.store import open_store                       # doctest: +SKIP
>>> store = open_store()                                         # doctest: +SKIP
>>> build_layers(store)                                          # doctest: +SKIP
>>> da = layer(store, "Cu", dataset="kola-humus", level="10km")  # doctest: +SKIP
>>> da.attrs["unit"], da.dims                                    # doctest: +SKIP
('mg/kg', ('y', 'x'))
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from chemearth.aggregate import STATISTICS
from chemearth.errors import GridError, NotFoundError, TooManyCellsError
from chemearth.grids import get_grid
from chemearth.store.base import Store

if TYPE_CHECKING:
    import pyarrow as pa
    import xarray as xr

__all__ = [
    "EUROPE_SHARE",
    "LayerChoiceError",
    "build_layers",
    "cells",
    "grids_for",
    "layer",
    "parse_level",
    "resolve",
]

#: A dataset is also gridded on the European grid when at least this share of its
#: located samples fall on it.
EUROPE_SHARE = 0.5

#: Largest raster :func:`layer` makes unless told otherwise (cells = pixels).
MAX_PIXELS = 100_000_000

Progress = Callable[[str, int, int], None]
Builder = Callable[
    [Store, str, int, str, "Sequence[int] | None", Progress],
    "pa.Table | Iterable[pa.Table]",
]


class LayerChoiceError(NotFoundError):
    """A layer request matches no layer, or several (the message lists the choices)."""


def parse_level(level: int | str) -> int:
    """A grid level in metres from ``10000``, ``"10000"``, ``"10km"``, ``"10 km"`` or ``"500m"``.

    Examples
    --------
    >>> parse_level("10km"), parse_level("500 m"), parse_level(4000), parse_level("0.5km")
    (10000, 500, 4000, 500)
    """
    if isinstance(level, int | np.integer):
        return int(level)
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(km|m)?\s*", str(level).lower())
    if not m:
        raise GridError(f"level {level!r}: give metres (10000) or a size like '10km' or '500m'")
    metres = float(m.group(1)) * (1000 if m.group(2) == "km" else 1)
    if metres != int(metres):
        raise GridError(f"level {level!r} is not a whole number of metres")
    return int(metres)


def grids_for(longitude: np.ndarray, latitude: np.ndarray) -> list[str]:
    """The grids a dataset with samples at these places is built on.

    Always ``"global"``; also ``"europe"`` when at least :data:`EUROPE_SHARE` of the located
    samples fall on the European grid.

    Examples
    --------
    >>> grids_for(np.array([10.0, 25.0]), np.array([50.0, 60.0]))
    ['global', 'europe']
    >>> grids_for(np.array([-100.0]), np.array([40.0]))
    ['global']
    """
    lon = np.asarray(longitude, dtype=np.float64)
    lat = np.asarray(latitude, dtype=np.float64)
    ok = np.isfinite(lon) & np.isfinite(lat)
    out = ["global"]
    if ok.any():
        europe = get_grid("europe")
        on = europe.cell_keys(lon[ok], lat[ok], europe.levels[0]) >= 0
        if on.mean() >= EUROPE_SHARE:
            out.append("europe")
    return out


def build_layers(
    store: Store,
    datasets: Sequence[str] | None = None,
    *,
    grids: Sequence[str] | None = None,
    levels: Sequence[int | str] | None = None,
    force: bool = False,
    threads: int | None = None,
    progress: Progress | None = None,
    builder: Builder | None = None,
) -> pd.DataFrame:
    """Compute and store the cell tables that are missing (or all, with ``force``).

    Parameters
    ----------
    store : Store
        The store to read and write.
    datasets : sequence of str, optional
        Dataset ids (default: every survey dataset; quality-control and textbook datasets
        are only gridded when named).
    grids : sequence of str, optional
        Grids to build (default: :func:`grids_for` each dataset).
    levels : sequence, optional
        Levels to build (default: every level of the grid).
    force : bool
        Rebuild tables that exist already.
    threads : int, optional
        Threads for the per-element work (default: CPU count).
    progress : callable, optional
        Called as ``progress(message, done, total)`` per element.
    builder : callable, optional
        ``builder(store, dataset_id, version, grid, levels, progress)`` returning the cell
        table(s) of one dataset version (default: :func:`chemearth.gridding.iter_cells`
        on this machine; :mod:`chemearth.distributed` passes a dask one).

    Returns
    -------
    pandas.DataFrame
        One row per dataset and grid: ``dataset_id``, ``version``, ``grid``, ``status``
        (``built``, ``up to date`` or ``no located samples``), ``rows``, ``seconds``.
    """
    catalogue = store.datasets()
    if datasets:
        missing = sorted(set(datasets) - set(catalogue["dataset_id"]))
        if missing:
            raise NotFoundError(f"not in the store: {', '.join(missing)}")
        chosen = catalogue[catalogue["dataset_id"].isin(list(datasets))]
    else:
        chosen = catalogue[catalogue["kind"].fillna("survey") == "survey"]
    built = store.cell_versions()
    have = {(r.dataset_id, int(r.version), r.grid) for r in built.itertuples()}  # type: ignore[arg-type]
    level_list = [parse_level(x) for x in levels] if levels else None
    report = []
    from chemearth.gridding import iter_cells

    for row in chosen.itertuples(index=False):
        ds, version = str(row.dataset_id), int(row.version)  # type: ignore[arg-type]
        samples = store.samples(ds, version)
        lon = samples["longitude"].to_numpy(dtype=np.float64, na_value=np.nan)
        lat = samples["latitude"].to_numpy(dtype=np.float64, na_value=np.nan)
        located = bool((np.isfinite(lon) & np.isfinite(lat)).any())
        for grid in grids or grids_for(lon, lat):
            g = get_grid(grid)
            entry: dict[str, Any] = {"dataset_id": ds, "version": version, "grid": g.name}
            if not located:
                report.append({**entry, "status": "no located samples", "rows": 0, "seconds": 0})
                continue
            if (ds, version, g.name) in have and not force:
                report.append({**entry, "status": "up to date", "rows": None, "seconds": 0})
                continue
            start = time.perf_counter()

            def tick(msg: str, done: int, total: int, ds: str = ds, grid: str = g.name) -> None:
                if progress:
                    progress(f"{ds} {grid}: {msg}", done, total)

            tables: pa.Table | Iterable[pa.Table]
            if builder is None:
                tables = iter_cells(store, ds, version, g.name, level_list, tick, threads)
            else:
                tables = builder(store, ds, version, g.name, level_list, tick)
            rows = store.write_cells(ds, version, g.name, tables)
            seconds = round(time.perf_counter() - start, 2)
            report.append({**entry, "status": "built", "rows": rows, "seconds": seconds})
    return pd.DataFrame(
        report, columns=["dataset_id", "version", "grid", "status", "rows", "seconds"]
    )


def resolve(
    store: Store,
    element: str,
    *,
    dataset: str | None = None,
    medium: str | None = None,
    method: str | None = None,
    grid: str = "global",
    level_m: int | None = None,
) -> dict[str, Any]:
    """Which stored layer a request means: one (dataset, medium, method, unit), or an error.

    Looks at ``level_m`` (default: the grid's coarsest level). Raises
    :class:`LayerChoiceError` naming the choices when the request matches several layers
    (say ``dataset``, ``medium`` or ``method``) or none.
    """
    return _select(store, element, dataset, medium, method, grid, level_m)[0]


def _select(
    store: Store,
    element: str,
    dataset: str | None,
    medium: str | None,
    method: str | None,
    grid: str,
    level_m: int | None,
) -> tuple[dict[str, Any], pd.DataFrame]:
    """:func:`resolve`, and the stored cells of the chosen layer at ``level_m``."""
    g = get_grid(grid)
    level_m = g.levels[0] if level_m is None else level_m
    top = store.cells(g.name, dataset_id=dataset, element=element, level_m=level_m, medium=medium)
    if method is not None and len(top):
        top = top[top["method"].astype(str) == method]
    if top.empty:
        where = f" in dataset {dataset!r}" if dataset else ""
        raise LayerChoiceError(
            f"no {g.name} grid layer for {element!r} at {g.level_label(level_m)}{where}"
            + (f" in medium {medium!r}" if medium else "")
            + (f" by method {method!r}" if method else "")
            + " (is the element spelled as stored, and has `chemearth grid` been run?)"
        )
    keys = ["dataset_id", "version", "medium", "method", "unit"]
    choices = top[keys].astype(str).drop_duplicates().sort_values(keys)
    if len(choices) > 1:
        listed = "; ".join(
            f"dataset={r['dataset_id']} medium={r['medium']} method={r['method'] or '-'}"
            for r in choices.to_dict("records")
        )
        raise LayerChoiceError(f"{element!r} matches {len(choices)} layers, choose one: {listed}")
    chosen: dict[str, Any] = {str(k): v for k, v in choices.iloc[0].items()}
    chosen["version"] = int(chosen["version"])
    chosen["grid"] = g.name
    chosen["element"] = element
    return chosen, top


def cells(
    store: Store,
    element: str,
    *,
    level: int | str = 10_000,
    dataset: str | None = None,
    medium: str | None = None,
    method: str | None = None,
    grid: str = "global",
) -> pd.DataFrame:
    """The cells of one layer as a pandas frame, with centre longitude and latitude.

    Columns: ``cell_id``, ``cell``, ``longitude``, ``latitude``, ``x``, ``y`` (centre in the
    grid CRS) and the statistics of :data:`chemearth.aggregate.STATISTICS`; ``attrs`` hold
    what the layer is (dataset, version, medium, method, unit, grid, level_m).
    """
    level_m = parse_level(level)
    g = get_grid(grid)
    if level_m not in g.levels:
        raise GridError(f"level {level_m} m is not a level of the {g.name} grid: {g.levels}")
    which, frame = _select(store, element, dataset, medium, method, grid, level_m)
    return frame_of(frame, {**which, "level_m": level_m})


def frame_of(stored: pd.DataFrame, which: dict[str, Any]) -> pd.DataFrame:
    """Stored cell rows of one layer as the frame :func:`cells` returns.

    ``which`` names the layer (dataset_id, version, element, medium, method, unit, grid,
    level_m) and becomes the frame's ``attrs``.
    """
    g = get_grid(str(which["grid"]))
    frame = stored
    keys = frame["cell"].to_numpy(dtype=np.int64)
    lon, lat = g.cell_centres(keys)
    x, y = g.cell_centres(keys, to_wgs84=False)
    out = pd.DataFrame(
        {
            "cell_id": frame["cell_id"].astype(str).to_numpy(),
            "cell": keys,
            "longitude": lon,
            "latitude": lat,
            "x": x,
            "y": y,
        }
    )
    for name in STATISTICS:
        out[name] = frame[name].to_numpy()
    out.attrs.update(which)
    return out


def layer(
    store: Store,
    element: str,
    *,
    stat: str | None = "median",
    level: int | str = 10_000,
    dataset: str | None = None,
    medium: str | None = None,
    method: str | None = None,
    grid: str = "global",
    max_pixels: int = MAX_PIXELS,
) -> xr.DataArray | xr.Dataset:
    """One layer as a raster in the grid's CRS: a DataArray of ``stat``, or with
    ``stat=None`` a Dataset of every statistic.

    The raster covers the bounding box of the layer's cells, one pixel per cell, north
    up; cells without samples are NaN (``n`` is 0 there). Coordinates ``x`` and ``y`` are
    cell centres in metres; ``spatial_ref`` carries the CRS (CF ``grid_mapping``).

    Examples
    --------
    >>> da = layer(store, "Ni", dataset="kola-humus", level="20km")   # doctest: +SKIP
    >>> float(da.max()), da.attrs["unit"]                             # doctest: +SKIP
    (1812.5, 'mg/kg')
    """

    if stat is not None and stat not in STATISTICS:
        raise GridError(f"unknown statistic {stat!r}; statistics: {', '.join(STATISTICS)}")
    frame = cells(
        store, element, level=level, dataset=dataset, medium=medium, method=method, grid=grid
    )
    return raster(frame, stat, max_pixels)


def raster(
    frame: pd.DataFrame, stat: str | None = "median", max_pixels: int = MAX_PIXELS
) -> xr.DataArray | xr.Dataset:
    """A frame of :func:`cells` as the raster :func:`layer` returns."""
    import xarray as xr

    if frame.empty:
        raise LayerChoiceError("the layer has no cells to put in a raster")
    element = str(frame.attrs["element"])
    g = get_grid(str(frame.attrs["grid"]))
    size = frame.attrs["level_m"]
    col = np.floor(frame["x"].to_numpy() / size).astype(np.int64)
    row = np.floor(frame["y"].to_numpy() / size).astype(np.int64)
    c0, c1, r0, r1 = col.min(), col.max(), row.min(), row.max()
    width, height = int(c1 - c0 + 1), int(r1 - r0 + 1)
    if width * height > max_pixels:
        raise TooManyCellsError(
            f"the {element} layer at {size} m spans {width} x {height} cells "
            f"(more than {max_pixels:,}); choose a coarser level"
        )
    ix, iy = col - c0, r1 - row  # row 0 is the northernmost
    xs = (np.arange(c0, c1 + 1) + 0.5) * size
    ys = (np.arange(r1, r0 - 1, -1) + 0.5) * size
    names = list(STATISTICS) if stat is None else [stat]
    data_vars = {}
    for name in names:
        fill = 0 if name in ("n", "n_censored") else np.nan
        dtype = np.int64 if name in ("n", "n_censored") else np.float64
        grid_values = np.full((height, width), fill, dtype=dtype)
        grid_values[iy, ix] = frame[name].to_numpy()
        data_vars[name] = (
            ("y", "x"),
            grid_values,
            _var_attrs(name, {str(k): v for k, v in frame.attrs.items()}),
        )
    import pyproj

    crs = pyproj.CRS.from_user_input(g.crs)
    coords = {
        "x": ("x", xs, {"standard_name": "projection_x_coordinate", "units": "m"}),
        "y": ("y", ys, {"standard_name": "projection_y_coordinate", "units": "m"}),
        "spatial_ref": (
            (),
            0,
            {**crs.to_cf(), "spatial_ref": crs.to_wkt(), "crs_wkt": crs.to_wkt()},
        ),
    }
    attrs = {
        "dataset_id": frame.attrs["dataset_id"],
        "version": frame.attrs["version"],
        "element": element,
        "medium": frame.attrs["medium"],
        "method": frame.attrs["method"],
        "unit": frame.attrs["unit"],
        "grid": g.name,
        "crs": g.crs,
        "level_m": int(size),
        "cell_size_m": float(size),
    }
    ds = xr.Dataset(data_vars, coords=coords, attrs=attrs)
    for name in names:
        ds[name].attrs["grid_mapping"] = "spatial_ref"
    if stat is None:
        return ds
    out = ds[stat]
    out.attrs.update(attrs, statistic=stat)
    return out


def _var_attrs(name: str, which: dict[str, Any]) -> dict[str, Any]:
    counts = name in ("n", "n_censored")
    label = {
        "n": "number of analyses",
        "n_censored": "number of analyses below the detection limit",
        "dl_max": "largest detection limit among censored analyses",
        "mad": "median absolute deviation (unscaled)",
        "gmean": "geometric mean",
        "log10_sd": "standard deviation of log10 values",
    }.get(name, name)
    unit = "1" if counts or name == "log10_sd" else which["unit"]
    return {"long_name": f"{which['element']} {label}", "units": unit}
