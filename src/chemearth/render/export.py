"""Export a grid layer: COG, NetCDF, GeoParquet or atlas CSV.

All four take what :mod:`chemearth.grid.layers` returns and write one file:

===========  =====================================================================
format       what is written
===========  =====================================================================
``cog``      one band (the statistic), float32, NaN as nodata, in the grid CRS, one
             pixel per cell, DEFLATE-compressed with internal tiles and overviews
             (GDAL's COG driver); tags name the element, unit, statistic, dataset
``netcdf``   every statistic as a variable on ``y``/``x`` (CF-1.8: projection
             coordinates, ``grid_mapping``, units), through xarray and h5netcdf
``geoparquet`` one row per cell with its square polygon in the grid CRS, its id,
             centre and every statistic (GeoPandas)
``csv``      the European atlas layout: a three-line header (column names with the
             element; units; detection limit), then one row per cell
===========  =====================================================================

A dataset's samples (one row per sample) are exported by
:mod:`chemearth.render.sample_export`.

Examples
--------
>>> from chemearth.grid.layers import layer                             # doctest: +SKIP
>>> export_layer(store, "Cu", "cu.tif", format="cog", dataset="gemas",
...              level="40km")                                      # doctest: +SKIP
PosixPath('cu.tif')
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from chemearth.errors import ChemearthError
from chemearth.grid.aggregate import STATISTICS
from chemearth.grid.geometry import get_grid

if TYPE_CHECKING:
    import xarray as xr

    from chemearth.store.base import Store

__all__ = [
    "FORMATS",
    "FORMULA_TRIGGERS",
    "SafeCsvWriter",
    "csv_safe",
    "csv_safe_frame",
    "csv_unsafe",
    "detection_limit",
    "export_layer",
    "one_line",
    "read_atlas_csv",
    "write_atlas_csv",
    "write_cog",
    "write_geoparquet",
    "write_netcdf",
]

#: Export formats and their usual file suffix.
FORMATS = {"cog": ".tif", "netcdf": ".nc", "geoparquet": ".parquet", "csv": ".csv"}


def write_cog(da: xr.DataArray, path: str | Path) -> Path:
    """Write a layer (from :func:`chemearth.grid.layers.layer`) as a Cloud-Optimised GeoTIFF."""
    import rasterio
    from rasterio.transform import from_origin

    path = Path(path)
    size = float(da.attrs["cell_size_m"])
    west = float(da["x"].values[0]) - size / 2
    north = float(da["y"].values[0]) + size / 2
    height, width = da.shape
    block = 256 if min(height, width) >= 256 else 16 * max(1, min(height, width) // 16 or 1)
    profile: dict[str, Any] = {
        "driver": "COG",
        "width": width,
        "height": height,
        "count": 1,
        "dtype": "float32",
        "crs": da.attrs["crs"],
        "transform": from_origin(west, north, size, size),
        "nodata": float("nan"),
        "compress": "DEFLATE",
        "predictor": 3,
        "blocksize": max(block, 16),
        "overview_resampling": "nearest",
    }
    values = np.asarray(da.values, dtype=np.float32)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(values, 1)
        dst.update_tags(**_tags(da.attrs))
        dst.set_band_description(1, f"{da.attrs['element']} {da.attrs['statistic']}")
        dst.update_tags(1, units=str(da.attrs["unit"]))
    return path


def write_netcdf(ds: xr.Dataset, path: str | Path) -> Path:
    """Write a layer's statistics (``layer(..., stat=None)``) as CF-1.8 NetCDF-4."""
    path = Path(path)
    out = ds.copy()
    out.attrs = {
        "Conventions": "CF-1.8",
        "title": f"{ds.attrs['element']} in {ds.attrs['medium']}, {ds.attrs['dataset_id']}, "
        f"{ds.attrs['level_m']} m cells ({ds.attrs['grid']} grid)",
        "source": "chemearth grid database",
        **{k: (str(v) if not isinstance(v, int | float) else v) for k, v in ds.attrs.items()},
    }
    encoding: dict[str, dict[str, Any]] = {}
    for name in out.data_vars:
        floating = out[name].dtype.kind == "f"
        encoding[str(name)] = {"zlib": True, "complevel": 4}
        encoding[str(name)]["_FillValue"] = np.nan if floating else None
    out.to_netcdf(path, engine="h5netcdf", encoding=encoding)
    return path


def write_geoparquet(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a layer's cells (:func:`chemearth.grid.layers.cells`) as GeoParquet polygons."""
    import geopandas as gpd

    path = Path(path)
    g = get_grid(frame.attrs["grid"])
    polygons = g.cell_polygons(frame["cell"].to_numpy(dtype=np.int64))
    out = frame.drop(columns=["cell"]).copy()
    for i, key in enumerate(("dataset_id", "element", "medium", "method", "unit"), start=1):
        out.insert(i, key, str(frame.attrs[key]))
    out.insert(6, "level_m", int(frame.attrs["level_m"]))
    gdf = gpd.GeoDataFrame(out, geometry=list(polygons), crs=g.crs)
    gdf.to_parquet(path, index=False)
    return path


def write_atlas_csv(
    frame: pd.DataFrame,
    path: str | Path,
    stat: str = "median",
    detection_limit: float | None = None,
) -> Path:
    """Write one statistic of a layer as CSV with the atlas three-line header.

    Line 1 names the columns, the value column by its element (``Cu``); line 2 gives
    each column's unit (``mg/kg``); line 3 the element's detection limit. Then one row
    per cell: id, centre longitude and latitude, n, n below DL and the value.

    Examples
    --------
    >>> import io, tempfile, os
    >>> f = pd.DataFrame({"cell_id": ["G10km-E0001-N001"], "longitude": [0.1],
    ...                   "latitude": [0.1], "n": [4], "n_censored": [1], "median": [2.5]})
    >>> f.attrs.update(element="Cu", unit="mg/kg")
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = write_atlas_csv(f, os.path.join(d, "cu.csv"), detection_limit=0.5)
    ...     print(open(p).read())
    cell_id,longitude,latitude,n,n_below_dl,Cu
    ,deg,deg,count,count,mg/kg
    detection limit,,,,,0.5
    G10km-E0001-N001,0.1,0.1,4,1,2.5
    <BLANKLINE>
    """
    path = Path(path)
    element, unit = str(frame.attrs["element"]), str(frame.attrs["unit"])
    dl = (
        ""
        if detection_limit is None or not math.isfinite(detection_limit)
        else _num(detection_limit)
    )
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = SafeCsvWriter(fh)  # text cells cannot start a spreadsheet formula
        w.writerow(["cell_id", "longitude", "latitude", "n", "n_below_dl", element])
        w.writerow(["", "deg", "deg", "count", "count", unit])
        w.writerow(["detection limit", "", "", "", "", dl])
        for row in zip(
            frame["cell_id"],
            frame["longitude"],
            frame["latitude"],
            frame["n"],
            frame["n_censored"],
            frame[stat],
            strict=True,
        ):
            w.writerow([row[0], _num(row[1]), _num(row[2]), int(row[3]), int(row[4]), _num(row[5])])
        for key in ("citation", "licence"):  # after the data, as in sample_export.write_samples_csv
            if frame.attrs.get(key):
                w.writerow([f"# {key}: {one_line(frame.attrs[key])}"])
    return path


def read_atlas_csv(path: str | Path) -> tuple[pd.DataFrame, dict[str, str]]:
    """Read a three-line-header CSV back: the table, and ``{column: unit}`` plus ``"dl"``.

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = os.path.join(d, "x.csv")
    ...     _ = open(p, "w").write("id,Cu\\n,mg/kg\\ndetection limit,0.5\\na,3.5\\n")
    ...     table, meta = read_atlas_csv(p)
    >>> table["Cu"].tolist(), meta["Cu"], meta["dl"]
    ([3.5], 'mg/kg', '0.5')
    """
    with Path(path).open(encoding="utf-8") as fh:
        names = [csv_unsafe(c) for c in next(csv.reader([fh.readline()]))]
        units = [csv_unsafe(c) for c in next(csv.reader([fh.readline()]))]
        limits = [csv_unsafe(c) for c in next(csv.reader([fh.readline()]))]
        lines = fh.read().splitlines()
    notes = [line.strip('"') for line in lines if line.startswith(("#", '"#'))]
    data = "\n".join(line for line in lines if not line.startswith(("#", '"#')))
    table = pd.read_csv(io.StringIO(data), header=None, names=names)
    for name in table.columns:
        if _is_text(table[name]):
            table[name] = table[name].map(lambda v: csv_unsafe(v) if isinstance(v, str) else v)
    meta = dict(zip(names, units, strict=True))
    meta["dl"] = limits[-1]
    for note in notes:  # "# citation: ..." and "# licence: ..."
        key, _, value = note.lstrip("# ").partition(": ")
        meta[key] = value
    return table, meta


def export_layer(
    store: Store,
    element: str,
    path: str | Path,
    *,
    format: str | None = None,
    stat: str = "median",
    level: int | str = 10_000,
    dataset: str | None = None,
    medium: str | None = None,
    method: str | None = None,
    grid: str = "global",
) -> Path:
    """Export one layer to ``path``; the format follows ``format`` or the file suffix."""
    from chemearth.grid.layers import cells, layer

    path = Path(path)
    fmt = format or next((k for k, v in FORMATS.items() if path.suffix.lower() == v), None)
    if path.suffix.lower() in (".tiff", ".gtiff") and format is None:
        fmt = "cog"
    if fmt not in FORMATS:
        raise ChemearthError(
            f"export format {format or path.suffix!r}: choose one of {', '.join(FORMATS)}"
        )
    if stat not in STATISTICS:
        raise ChemearthError(f"unknown statistic {stat!r}; statistics: {', '.join(STATISTICS)}")
    which = {"dataset": dataset, "medium": medium, "method": method, "grid": grid}
    if fmt == "cog":
        return write_cog(layer(store, element, stat=stat, level=level, **which), path)  # type: ignore[arg-type]
    if fmt == "netcdf":
        return write_netcdf(layer(store, element, stat=None, level=level, **which), path)  # type: ignore[arg-type]
    frame = cells(store, element, level=level, **which)  # type: ignore[arg-type]
    if fmt == "geoparquet":
        return write_geoparquet(frame, path)
    return write_atlas_csv(frame, path, stat, detection_limit(store, frame.attrs))


def detection_limit(store: Store, which: Mapping[Any, Any]) -> float | None:
    """The detection limit of a layer's element in its dataset version.

    The lowest limit declared for the element's column (of the layer's method), else the
    lowest limit among its censored values, else None.

    Parameters
    ----------
    store : Store
        The store to read.
    which : mapping
        The layer's ``attrs`` (from :func:`chemearth.grid.layers.cells`): ``dataset_id``,
        ``version``, ``element`` and ``method``.

    Returns
    -------
    float or None
        The detection limit in the canonical unit, None when there is none.
    """
    columns = store.measurement_columns(which["dataset_id"], which["version"])
    rows = columns[
        (columns["element"] == which["element"])
        & (columns["method"].fillna("").astype(str) == which["method"])
    ]
    limits = pd.to_numeric(rows["detection_limit"], errors="coerce").dropna()
    if len(limits):
        return float(limits.min())
    lowest: float | None = None  # none declared: the lowest limit a censored value carries
    for column_id in rows["column_id"]:
        v = store.column_values(which["dataset_id"], which["version"], int(column_id))
        if v["censored"].any():
            low = float(v["value"][v["censored"]].min())
            lowest = low if lowest is None else min(lowest, low)
    return lowest


#: First characters that make a spreadsheet read a cell as a formula (OWASP, "CSV
#: injection"): ``=``, ``+``, ``-``, ``@``, tab and carriage return.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_FORMULA = re.compile("'*[" + re.escape("".join(FORMULA_TRIGGERS)) + "]")
_NEUTRALISED = re.compile("'+[" + re.escape("".join(FORMULA_TRIGGERS)) + "]")


def csv_safe(cell: Any) -> Any:
    """``cell`` as a spreadsheet will not run it as a formula.

    A text cell starting with one of :data:`FORMULA_TRIGGERS` (after any single quotes)
    gets a leading single quote, which spreadsheets read as "this is text". Everything
    else is returned unchanged: numbers, text that is a number (``-1.5``, ``+2``,
    ``1e-05``: the negative detection limits of sample CSVs stay numbers) and any other
    text (``<0.5``, ``Cu``). :func:`csv_unsafe` undoes it exactly.

    Examples
    --------
    >>> [csv_safe(v) for v in ("=1+2", "@SUM(A1)", "-cmd", "-1.5", "<0.5", "Cu", -1.5)]
    ["'=1+2", "'@SUM(A1)", "'-cmd", '-1.5', '<0.5', 'Cu', -1.5]
    """
    if not isinstance(cell, str) or not _FORMULA.match(cell) or _NUMBER.fullmatch(cell):
        return cell
    return "'" + cell


def csv_unsafe(cell: str) -> str:
    """A cell of :func:`csv_safe` back as it was before.

    Examples
    --------
    >>> csv_unsafe("'=1+2"), csv_unsafe("''=x"), csv_unsafe("'quoted"), csv_unsafe("-1.5")
    ('=1+2', "'=x", "'quoted", '-1.5')
    """
    return cell[1:] if _NEUTRALISED.match(cell) else cell


class SafeCsvWriter:
    """A CSV writer (``,``, ``"``, lines ending in ``\\n``) whose every cell goes through
    :func:`csv_safe` first.

    A cell is quoted when it holds a comma, a quote or a line break, carriage returns
    included (:func:`csv.writer` leaves a lone ``\\r`` unquoted when lines end in
    ``\\n``, and a reader then splits the row there).

    Examples
    --------
    >>> out = io.StringIO()
    >>> SafeCsvWriter(out).writerow(["=HYPERLINK(1)", "-0.5", 2, None, "a,b"])
    >>> print(out.getvalue(), end="")
    '=HYPERLINK(1),-0.5,2,,"a,b"
    """

    def __init__(self, fh: Any) -> None:
        self._fh = fh

    def writerow(self, row: Iterable[Any]) -> None:
        """Write one row."""
        cells = [_field(csv_safe(c)) for c in row]
        if cells == [""]:
            cells = ['""']  # as csv.writer: a row of one empty cell is not a blank line
        self._fh.write(",".join(cells) + "\n")

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        """Write rows."""
        for row in rows:
            self.writerow(row)


def _field(cell: Any) -> str:
    """One CSV field, quoted where it must be."""
    text = "" if cell is None else float.__repr__(cell) if isinstance(cell, float) else str(cell)
    if any(c in text for c in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _is_text(column: pd.Series) -> bool:
    return column.dtype.kind == "O" or isinstance(
        column.dtype, pd.CategoricalDtype | pd.StringDtype
    )


def csv_safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with :func:`csv_safe` applied to its column names and text cells, for
    ``DataFrame.to_csv``; numeric columns are left alone.

    Examples
    --------
    >>> f = pd.DataFrame({"id": ["=1+1", "a"], "v": [-1.5, 2.0]})
    >>> print(csv_safe_frame(f).to_csv(index=False), end="")
    id,v
    '=1+1,-1.5
    a,2.0
    """
    out = frame.copy(deep=False)
    for name in out.columns:
        if not _is_text(out[name]):
            continue
        values = out[name].astype(object)
        safe = values.map(csv_safe)
        if not safe.equals(values):
            out[name] = safe
    out.columns = [csv_safe(c) for c in out.columns]
    return out


def one_line(text: Any) -> str:
    """``text`` as a string on one line, runs of whitespace made a single space.

    Examples
    --------
    >>> one_line("Doe, J.\\n  (2024)")
    'Doe, J. (2024)'
    """
    return " ".join(str(text).split())


def _num(x: Any) -> str:
    """A number for CSV: 12 significant digits, empty for NaN."""
    v = float(x)
    return f"{v:.12g}" if math.isfinite(v) else ""


def _tags(attrs: dict[str, Any]) -> dict[str, str]:
    keys = (
        "dataset_id",
        "version",
        "element",
        "medium",
        "method",
        "unit",
        "statistic",
        "grid",
        "level_m",
        "citation",
        "licence",
    )
    return {k: str(attrs[k]) for k in keys if k in attrs}
