"""The grid database as a Python API: build it, and read layers as pandas or xarray.

A *layer* is one element of one dataset (in one medium, by one analytical method) at one
grid level: a table of cells (:func:`cells`) or a raster (:func:`layer`). The rasters are
:class:`xarray.DataArray` / :class:`xarray.Dataset` objects in the grid's equal-area CRS,
one pixel per cell, so they export to GeoTIFF and NetCDF (:mod:`chemearth.render.export`)
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

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from chemearth.errors import GridError, NotFoundError, TooManyCellsError
from chemearth.grid.aggregate import STATISTICS
from chemearth.grid.geometry import GRIDS, get_grid
from chemearth.grid.levels import parse_level
from chemearth.store.base import Store

if TYPE_CHECKING:
    import pyarrow as pa
    import xarray as xr

__all__ = [
    "DEFAULT_LEVEL_MIN_N",
    "DEFAULT_LEVEL_SHARE",
    "EUROPE_SHARE",
    "REGIONAL_SHARE",
    "LayerChoiceError",
    "build_layers",
    "cells",
    "default_level",
    "frame_of",
    "grids_for",
    "layer",
    "preferred_grid",
    "raster",
    "regional_shares",
    "resolve",
]

#: A dataset is also gridded on the European grid when at least this share of its
#: located samples fall on it.
EUROPE_SHARE = 0.5

#: A layer's default level is the finest at which at least :data:`DEFAULT_LEVEL_SHARE` of
#: the cells hold :data:`DEFAULT_LEVEL_MIN_N` samples or more (the coarsest level if none
#: does): fine enough to show the survey's pattern, coarse enough that most cells carry a
#: statistic rather than one sample.
DEFAULT_LEVEL_MIN_N = 3
DEFAULT_LEVEL_SHARE = 0.5

#: A dataset's layers open on a regional grid (the European one) when at least this share
#: of its located samples lie on it: nearly all of its data.
REGIONAL_SHARE = 0.99

#: Largest raster :func:`layer` makes unless told otherwise (cells = pixels).
MAX_PIXELS = 100_000_000

Progress = Callable[[str, int, int], None]
Builder = Callable[
    [Store, str, int, str, "Sequence[int] | None", Progress],
    "pa.Table | Iterable[pa.Table]",
]


class LayerChoiceError(NotFoundError):
    """A layer request matches no layer, or several (the message lists the choices)."""


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
    versions: Mapping[str, int] | None = None,
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
        table(s) of one dataset version (default: :func:`chemearth.grid.tables.iter_cells`
        on this machine; :mod:`chemearth.grid.distributed` passes a dask one).
    versions : mapping, optional
        Build these versions (dataset id → version), published or not, instead of the
        latest published version of ``datasets``: an upload's layers are built before
        its version is published.

    Returns
    -------
    pandas.DataFrame
        One row per dataset and grid: ``dataset_id``, ``version``, ``grid``, ``status``
        (``built``, ``up to date`` or ``no located samples``), ``rows``, ``seconds``.
    """
    if versions:
        chosen = pd.DataFrame(
            {"dataset_id": list(versions), "version": [int(v) for v in versions.values()]}
        )
    else:
        chosen = _chosen(store, datasets)
    built = store.cell_versions()
    have = {(r.dataset_id, int(r.version), r.grid) for r in built.itertuples()}  # type: ignore[arg-type]
    level_list = [parse_level(x) for x in levels] if levels else None
    report = []
    from chemearth.grid.tables import iter_cells

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


def _chosen(store: Store, datasets: Sequence[str] | None) -> pd.DataFrame:
    """The latest published versions of ``datasets`` (default: every survey)."""
    catalogue = store.datasets()
    if datasets:
        missing = sorted(set(datasets) - set(catalogue["dataset_id"]))
        if missing:
            raise NotFoundError(f"not in the store: {', '.join(missing)}")
        return catalogue[catalogue["dataset_id"].isin(list(datasets))]
    return catalogue[catalogue["kind"].fillna("survey") == "survey"]


def default_level(inventory: pd.DataFrame) -> int:
    """The default level of one layer: the rule of :data:`DEFAULT_LEVEL_SHARE`.

    Parameters
    ----------
    inventory : pandas.DataFrame
        The layer's rows of :meth:`Store.cell_inventory` on one grid: ``level_m``,
        ``cells`` and ``cells_n3`` (cells of :data:`DEFAULT_LEVEL_MIN_N` samples or more).

    Examples
    --------
    >>> inv = pd.DataFrame({"level_m": [40_000, 10_000, 1_000], "cells": [4, 30, 200],
    ...                     "cells_n3": [4, 16, 20]})
    >>> default_level(inv)
    10000
    >>> default_level(inv.assign(cells_n3=0))
    40000
    """
    if inventory.empty:
        raise LayerChoiceError("no levels built")
    rows = inventory.sort_values("level_m")
    ok = rows[rows["cells_n3"] >= DEFAULT_LEVEL_SHARE * rows["cells"]]
    return int((ok if len(ok) else rows.iloc[[-1]])["level_m"].iloc[0])


def regional_shares(store: Store) -> dict[str, dict[str, float]]:
    """The share of each dataset's located samples that lie on each regional grid.

    One read of every dataset's sample coordinates (latest versions).

    Returns
    -------
    dict
        ``dataset_id`` -> ``{grid: share}`` for every grid but the global one.
    """
    samples = store.samples()
    if samples.empty:
        return {}
    lon = samples["longitude"].to_numpy(np.float64)
    lat = samples["latitude"].to_numpy(np.float64)
    located = np.isfinite(lon) & np.isfinite(lat)
    ids = samples["dataset_id"].astype(str).to_numpy()[located]
    out: dict[str, dict[str, float]] = {}
    for name in GRIDS:
        if name == "global":
            continue
        g = get_grid(name)
        on = pd.Series(g.cell_keys(lon[located], lat[located], g.levels[0]) >= 0)
        for ds, share in on.groupby(ids).mean().items():
            out.setdefault(str(ds), {})[name] = float(share)
    return out


def preferred_grid(shares: Mapping[str, float], grids: Sequence[str]) -> str:
    """The grid one dataset's layer opens on: the rule of :data:`REGIONAL_SHARE`.

    The global grid (EASE-Grid 2.0, cylindrical equal-area) keeps areas but not shapes: its
    cells are square at 30° of latitude and stretch with latitude, to 6:1 at 70° (Kola),
    while a regional azimuthal grid (ETRS89-LAEA, the INSPIRE grid) keeps Europe's cells
    nearly square. So a layer built on a regional grid that holds (nearly) all of its
    dataset's samples opens there; any other layer opens on the global grid, the grid of
    the pooled world layers and of disclosure control.

    Parameters
    ----------
    shares : mapping of str to float
        The share of the dataset's located samples on each regional grid
        (:func:`regional_shares`).
    grids : sequence of str
        The grids the reader may see the layer on, the global grid first.

    Examples
    --------
    >>> preferred_grid({"europe": 1.0}, ["global", "europe"])
    'europe'
    >>> preferred_grid({"europe": 0.6}, ["global", "europe"])  # 40 % outside Europe
    'global'
    >>> preferred_grid({"europe": 1.0}, ["global"])  # the European grid not shown
    'global'
    """
    for grid in grids:
        if grid != "global" and shares.get(grid, 0.0) >= REGIONAL_SHARE:
            return grid
    return "global" if "global" in grids or not grids else grids[0]


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

    Looks at ``level_m`` (default: the layer's :func:`default_level`). Raises
    :class:`LayerChoiceError` naming the choices when the request matches several layers
    (say ``dataset``, ``medium`` or ``method``) or none.
    """
    return _select(store, element, dataset, medium, method, grid, level_m)[0]


def _default_level_of(store: Store, element: str, dataset: str | None, medium: str | None,
                      method: str | None, grid: str) -> int:
    """:func:`default_level` of the layer a request means (the grid's coarsest level when
    nothing matches, so that the caller's error names the request)."""
    inv = store.cell_inventory()
    keep = (inv["grid"] == grid) & (inv["element"] == element)
    for col, want in (("dataset_id", dataset), ("medium", medium), ("method", method)):
        if want is not None:
            keep &= inv[col].astype(str) == want
    rows = inv[keep]
    if rows.empty:
        return get_grid(grid).levels[0]
    if rows[["dataset_id", "version", "medium", "method"]].drop_duplicates().shape[0] > 1:
        # several layers match: the coarsest level lists them all in the error
        return get_grid(grid).levels[0]
    return default_level(rows)


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
    if level_m is None:
        level_m = _default_level_of(store, element, dataset, medium, method, g.name)
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
    chosen["level_m"] = level_m
    return chosen, top


def cells(
    store: Store,
    element: str,
    *,
    level: int | str | None = None,
    dataset: str | None = None,
    medium: str | None = None,
    method: str | None = None,
    grid: str = "global",
) -> pd.DataFrame:
    """The cells of one layer as a pandas frame, with centre longitude and latitude.

    Columns: ``cell_id``, ``cell``, ``longitude``, ``latitude``, ``easting``, ``northing``
    (centre in the grid CRS) and the statistics of
    :data:`chemearth.grid.aggregate.STATISTICS`; ``attrs`` hold what the layer is
    (dataset, version, medium, method, unit, grid, level_m). Without
    ``level``, the layer's :func:`default_level`.
    """
    level_m = None if level is None else parse_level(level)
    g = get_grid(grid)
    if level_m is not None and level_m not in g.levels:
        raise GridError(f"level {level_m} m is not a level of the {g.name} grid: {g.levels}")
    which, frame = _select(store, element, dataset, medium, method, grid, level_m)
    return frame_of(frame, which)


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
            "easting": x,
            "northing": y,
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
    level: int | str | None = None,
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
    col = np.floor(frame["easting"].to_numpy() / size).astype(np.int64)
    row = np.floor(frame["northing"].to_numpy() / size).astype(np.int64)
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
