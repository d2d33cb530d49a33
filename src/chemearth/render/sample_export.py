"""Export a dataset's samples: CSV with the atlas header, or GeoPackage.

Sample data (one row per sample, one column per analyte column) come from
:func:`samples_wide` and go to :func:`write_samples_csv` (the three-line header of
:func:`~chemearth.render.export.write_atlas_csv`, values below the detection limit as
negative limits, citation and licence in a trailing ``#`` block; read back with
:func:`read_samples_csv`) or :func:`write_samples_gpkg` (points in EPSG:4326, a boolean
``<column>_censored`` beside each value column, citation and licence in the GeoPackage
metadata).

Examples
--------
>>> frame = samples_wide(store, "meuse", ["Cd", "Zn"])                 # doctest: +SKIP
>>> write_samples_csv(frame, "meuse.csv", citation="Rikken (1993)",
...                   licence="GPL")                                    # doctest: +SKIP
PosixPath('meuse.csv')
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from chemearth.errors import ChemearthError, InputFileError, NotFoundError
from chemearth.render.export import SafeCsvWriter, csv_unsafe, one_line

if TYPE_CHECKING:
    from chemearth.store.base import Store

__all__ = [
    "SAMPLE_FIELDS",
    "analyte_columns",
    "read_samples_csv",
    "samples_wide",
    "write_samples_csv",
    "write_samples_gpkg",
]

#: Columns of a wide sample table before its analyte columns.
SAMPLE_FIELDS = ("sample_id", "longitude", "latitude", "country", "medium")

#: Suffix of the boolean column beside each analyte column (frame and GeoPackage).
CENSORED_SUFFIX = "_censored"

#: What the CSV and GeoPackage say about values below the detection limit.
CENSORED_NOTE_CSV = "-x means below the detection limit x; empty means not analysed"
CENSORED_NOTE_GPKG = (
    "<column>_censored is true where the value is below the detection limit; the value is "
    "then the detection limit. A null value is not analysed."
)


def samples_wide(
    store: Store,
    dataset_id: str,
    elements: list[str] | None = None,
    *,
    version: int | None = None,
) -> pd.DataFrame:
    """One row per sample, one value column per analyte column of a dataset version.

    Columns: ``sample_id``, ``longitude``, ``latitude`` (WGS 84), ``country``, ``medium``,
    then for each analyte column its value in the canonical unit (the detection limit where
    censored, NaN where not analysed) followed by a boolean ``<name>_censored``. Samples
    listed but not sampled are left out. Values are read per analyte column
    (:meth:`Store.column_values`), so two columns of one element never mix.

    An analyte column is named by its element (``Cr``) when the dataset has one column of
    that element, or when its source column is the bare element. Other columns of the same
    element are named from their source column: ``Cr_INAA`` (source ``Cr_INAA``), ``Fe_XRF``
    (source ``Fe_XRF``), ``Fe_Fe2O3`` (Fe computed from the oxide column ``Fe2O3``). Names
    are fixed by all columns of the version, so they do not change with ``elements``.

    ``attrs`` holds ``dataset_id``, ``version``, ``title``, ``citation``, ``licence``,
    ``url``, ``columns`` (analyte column names in order) and, per analyte column,
    ``units``, ``detection_limits`` (the declared limit, else the lowest limit a censored
    value carries, else None), ``methods``, ``elements`` and ``source_columns``.

    Parameters
    ----------
    store : Store
        The store to read.
    dataset_id : str
        The dataset; the latest version unless ``version`` is given.
    elements : list of str, optional
        Element codes to keep (every column of each). All by default: callers that apply
        access rules (embargoed elements) must pass the allowed list.
    version : int, optional
        The dataset version.

    Raises
    ------
    NotFoundError
        The dataset (version) is not in the store, or has none of a requested element.

    Examples
    --------
    >>> frame = samples_wide(store, "meuse", ["Cd", "Zn"])             # doctest: +SKIP
    >>> list(frame.columns)                                            # doctest: +SKIP
    ['sample_id', 'longitude', 'latitude', 'country', 'medium', 'Cd', 'Cd_censored', 'Zn',
     'Zn_censored']
    """
    record = _version_record(store, dataset_id, version)
    ver = int(record["version"])
    columns = store.measurement_columns(dataset_id, ver)
    names = _analyte_names(columns)
    if elements is not None:
        wanted = list(dict.fromkeys(elements))
        present = list(dict.fromkeys(str(e) for e in columns["element"]))
        missing = [e for e in wanted if e not in present]
        if missing:
            raise NotFoundError(
                f"dataset {dataset_id!r} version {ver} has no {', '.join(missing)}; "
                f"its elements: {', '.join(present)}"
            )
        columns = columns[columns["element"].isin(wanted)]
    first = {el: i for i, el in reversed(list(enumerate(columns["element"])))}
    columns = columns.assign(_order=columns["element"].map(first)).sort_values(
        ["_order", "column_id"], kind="stable"
    )

    samples = store.samples(dataset_id, ver)
    if "sampled" in samples.columns:
        samples = samples[samples["sampled"].fillna(True).astype(bool)]
    samples = samples.sort_values("sample_index", kind="stable")
    index = pd.Index(samples["sample_index"].to_numpy(dtype=np.int64))
    data: dict[str, Any] = {
        "sample_id": samples["sample_id"].astype(str).to_numpy(dtype=object),
        "longitude": samples["longitude"].to_numpy(dtype=np.float64),
        "latitude": samples["latitude"].to_numpy(dtype=np.float64),
        "country": _text(samples["country"]),
        "medium": _text(samples["medium"]),
    }
    units: dict[str, str] = {}
    limits: dict[str, float | None] = {}
    methods: dict[str, str] = {}
    element_of: dict[str, str] = {}
    sources: dict[str, str] = {}
    for row in _records(columns):
        cid = int(row["column_id"])
        name = names[cid]
        got = store.column_values(dataset_id, ver, cid)
        pos = index.get_indexer(np.asarray(got["sample_index"], dtype=np.int64))
        ok = pos >= 0
        value = np.full(len(index), np.nan)
        cens = np.zeros(len(index), dtype=bool)
        value[pos[ok]] = np.asarray(got["value"], dtype=np.float64)[ok]
        cens[pos[ok]] = np.asarray(got["censored"], dtype=bool)[ok]
        data[name] = value
        data[name + CENSORED_SUFFIX] = cens
        units[name] = str(row["unit"])
        declared = _finite(row["detection_limit"])
        limits[name] = declared if declared is not None else _lowest(value[cens])
        methods[name] = "" if _missing(row["method"]) else str(row["method"])
        element_of[name] = str(row["element"])
        sources[name] = "" if _missing(row["source_column"]) else str(row["source_column"])
    frame = pd.DataFrame(data)
    frame.attrs.update(
        dataset_id=dataset_id,
        version=ver,
        title=_field(record, "title"),
        citation=_field(record, "citation"),
        licence=_field(record, "licence"),
        url=_field(record, "url"),
        columns=list(units),
        units=units,
        detection_limits=limits,
        methods=methods,
        elements=element_of,
        source_columns=sources,
    )
    return frame


def analyte_columns(store: Store, dataset_id: str, version: int | None = None
                    ) -> dict[str, tuple[str, str, str]]:
    """The analyte columns of a dataset version as :func:`samples_wide` names them, each
    with its ``(element, method, unit)`` (method ``""`` where none is given).

    Examples
    --------
    >>> analyte_columns(store, "meuse")["Zn"]                          # doctest: +SKIP
    ('Zn', 'aqua-regia', 'mg/kg')
    """
    ver = int(_version_record(store, dataset_id, version)["version"])
    columns = store.measurement_columns(dataset_id, ver)
    names = _analyte_names(columns)
    return {names[int(r["column_id"])]: (str(r["element"]),
                                         "" if _missing(r["method"]) else str(r["method"]),
                                         str(r["unit"]))
            for r in _records(columns)}


def write_samples_csv(
    frame: pd.DataFrame, path: str | Path, *, citation: str, licence: str
) -> Path:
    """Write a wide sample table as CSV with the atlas three-line header.

    Line 1 names the columns (``sample_id, longitude, latitude, country, medium`` and the
    analyte columns of :func:`samples_wide`), line 2 gives their units, line 3 the detection
    limit of each analyte column, as
    :func:`~chemearth.render.export.write_atlas_csv` does. Then one row per sample.

    **Below the detection limit** a value is written as the negative detection limit
    (``-0.5`` means ``<0.5``), the numeric convention of the USGS and atlas data tables
    that chemearth also reads (``[censoring] encoding = "negative"``). Every column stays
    numeric in spreadsheets and R/pandas, the limit of each sample is kept (it can differ
    from line 3), and the sign cannot be mistaken for a measured concentration. A column
    with a negative value that is not censored cannot be written this way and is refused.
    Numbers are written with 15 significant digits (a relative error below 1e-15).

    **Citation and licence** follow the data as a trailing block of comment rows, each a
    single CSV field starting with ``#`` (``# citation: …``, ``# licence: …``, the dataset,
    the censoring convention and each column's method). The three header lines stay where
    atlas tools look for them; a CSV reader sees the block as rows whose first field starts
    with ``#`` and whose other fields are empty, so numeric columns stay numeric, and one
    downloaded file carries its citation and licence. :func:`read_samples_csv` reads it.

    Examples
    --------
    >>> import tempfile, os
    >>> f = pd.DataFrame({"sample_id": ["a", "b"], "longitude": [5.75, 5.76],
    ...                   "latitude": [50.99, 50.98], "country": ["NL", "NL"],
    ...                   "medium": ["topsoil", "topsoil"], "Cd": [0.5, 2.1],
    ...                   "Cd_censored": [True, False]})
    >>> f.attrs.update(units={"Cd": "mg/kg"}, detection_limits={"Cd": 0.5})
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = write_samples_csv(f, os.path.join(d, "s.csv"), citation="Doe (2024)",
    ...                           licence="CC-BY-4.0")
    ...     print(open(p).read())
    sample_id,longitude,latitude,country,medium,Cd
    ,deg,deg,,,mg/kg
    detection limit,,,,,0.5
    a,5.75,50.99,NL,topsoil,-0.5
    b,5.76,50.98,NL,topsoil,2.1
    # citation: Doe (2024)
    # licence: CC-BY-4.0
    # censored: -x means below the detection limit x; empty means not analysed
    <BLANKLINE>
    """
    path = Path(path)
    names = _value_columns(frame)
    units = dict(frame.attrs.get("units", {}))
    limits = dict(frame.attrs.get("detection_limits", {}))
    methods = dict(frame.attrs.get("methods", {}))
    cells: list[list[str]] = [
        [str(v) for v in frame["sample_id"]],
        [_exact(v) for v in frame["longitude"]],
        [_exact(v) for v in frame["latitude"]],
        [_plain(v) for v in frame["country"]],
        [_plain(v) for v in frame["medium"]],
    ]
    for name in names:
        value = frame[name].to_numpy(dtype=np.float64)
        cens = _censored(frame, name)
        bad = np.isfinite(value) & (value < 0) & ~cens
        if bad.any():
            raise ChemearthError(
                f"column {name!r}: {int(bad.sum())} negative values that are not censored "
                "cannot be told from the negative-detection-limit convention of the CSV"
            )
        signed = np.where(cens, -np.abs(value), value)
        cells.append([_exact(v) for v in signed])
    trailer = [
        *_dataset_lines({str(k): v for k, v in frame.attrs.items()}),
        f"citation: {one_line(citation)}",
        f"licence: {one_line(licence)}",
        *([f"url: {frame.attrs['url']}"] if frame.attrs.get("url") else []),
        f"censored: {CENSORED_NOTE_CSV}",
        *(f"method {n}: {one_line(methods[n])}" for n in names if methods.get(n)),
    ]
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = SafeCsvWriter(fh)  # text cells cannot start a spreadsheet formula
        w.writerow([*SAMPLE_FIELDS, *names])
        w.writerow(["", "deg", "deg", "", "", *(units.get(n, "") for n in names)])
        w.writerow(["detection limit", "", "", "", "", *(_exact(limits.get(n)) for n in names)])
        w.writerows(zip(*cells, strict=True))
        w.writerows([f"# {line}"] for line in trailer)
    return path


def read_samples_csv(path: str | Path) -> pd.DataFrame:
    """Read a file of :func:`write_samples_csv` back into the frame of :func:`samples_wide`.

    Negative values become the detection limit with ``<name>_censored`` true; the trailing
    ``#`` block fills ``attrs`` (``citation``, ``licence``, ``dataset_id``, ``version``,
    ``title``, ``url``, ``methods``) and the header lines ``units`` and
    ``detection_limits``; ``elements`` and ``source_columns`` are not in the file.

    Raises
    ------
    InputFileError
        The file does not start with the sample columns or has a row of the wrong length.

    Examples
    --------
    >>> import tempfile, os
    >>> text = ("sample_id,longitude,latitude,country,medium,Cd\\n,deg,deg,,,mg/kg\\n"
    ...         "detection limit,,,,,0.5\\na,5.7,51.0,NL,soil,-0.5\\nb,5.8,51.1,NL,soil,2.1\\n"
    ...         "# licence: CC-BY-4.0\\n")
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = os.path.join(d, "s.csv")
    ...     _ = open(p, "w").write(text)
    ...     f = read_samples_csv(p)
    >>> f["Cd"].tolist(), f["Cd_censored"].tolist(), f.attrs["licence"]
    ([0.5, 2.1], [True, False], 'CC-BY-4.0')
    """
    path = Path(path)
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        rows = ([csv_unsafe(c) for c in r] for r in reader)  # undo SafeCsvWriter
        try:
            names, units, limits = next(rows), next(rows), next(rows)
        except StopIteration:
            raise InputFileError(f"{path}: fewer than the three header lines") from None
        if tuple(names[: len(SAMPLE_FIELDS)]) != SAMPLE_FIELDS:
            raise InputFileError(
                f"{path}: line 1 must start with {','.join(SAMPLE_FIELDS)}, "
                f"not {','.join(names[: len(SAMPLE_FIELDS)])}"
            )
        body: list[list[str]] = []
        notes: dict[str, str] = {}
        methods: dict[str, str] = {}
        for row in rows:
            if len(row) == 1 and row[0].startswith("#"):
                key, _, text = row[0].lstrip("#").strip().partition(":")
                key, text = key.strip(), text.strip()
                if key.startswith("method "):
                    methods[key.removeprefix("method ").strip()] = text
                else:
                    notes[key] = text
            elif row and any(row):
                if len(row) != len(names):
                    raise InputFileError(
                        f"{path}, row {reader.line_num}: {len(row)} fields, expected {len(names)}"
                    )
                body.append(row)
    raw = pd.DataFrame(body, columns=names, dtype=object)
    value_names = names[len(SAMPLE_FIELDS) :]
    data: dict[str, Any] = {
        "sample_id": raw["sample_id"].to_numpy(dtype=object),
        "longitude": _numbers(raw["longitude"]),
        "latitude": _numbers(raw["latitude"]),
        "country": np.array([v or None for v in raw["country"]], dtype=object),
        "medium": np.array([v or None for v in raw["medium"]], dtype=object),
    }
    for name in value_names:
        signed = _numbers(raw[name])
        data[name] = np.abs(signed)
        data[name + CENSORED_SUFFIX] = signed < 0
    frame = pd.DataFrame(data)
    dataset, _, version = notes.get("dataset", "").partition(", version ")
    frame.attrs.update(
        dataset_id=dataset or None,
        version=int(version) if version.strip().isdigit() else None,
        title=notes.get("title", ""),
        citation=notes.get("citation", ""),
        licence=notes.get("licence", ""),
        url=notes.get("url", ""),
        columns=list(value_names),
        units=dict(zip(value_names, units[len(SAMPLE_FIELDS) :], strict=True)),
        detection_limits={
            n: _finite(x) for n, x in zip(value_names, limits[len(SAMPLE_FIELDS) :], strict=True)
        },
        methods={n: methods.get(n, "") for n in value_names},
    )
    return frame


def write_samples_gpkg(
    frame: pd.DataFrame,
    path: str | Path,
    *,
    citation: str,
    licence: str,
    layer: str = "samples",
) -> Path:
    """Write a wide sample table as a GeoPackage point layer (EPSG:4326).

    Attributes: ``sample_id``, ``longitude``, ``latitude``, ``country``, ``medium``, then
    per analyte column its value as a float (the detection limit where censored, null
    where not analysed) and a boolean ``<name>_censored``: a typed format needs no sign
    trick, and GIS users can filter or symbolise on the flag.

    Citation and licence go into the GeoPackage metadata (``gpkg_metadata``, GDAL
    metadata at dataset and layer level, read by ``pyogrio.read_info``), together with the
    dataset, the censoring convention and, as JSON, each column's unit, detection limit
    and method; the layer description (``gpkg_contents``) repeats title, citation and
    licence for QGIS and ArcGIS. Samples without coordinates get a null geometry. An
    existing GeoPackage keeps its other layers; a layer of the same name is replaced.

    Examples
    --------
    >>> import tempfile, os, pyogrio
    >>> f = pd.DataFrame({"sample_id": ["a"], "longitude": [5.75], "latitude": [50.99],
    ...                   "country": ["NL"], "medium": ["topsoil"], "Cd": [0.5],
    ...                   "Cd_censored": [True]})
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = write_samples_gpkg(f, os.path.join(d, "s.gpkg"), citation="Doe (2024)",
    ...                            licence="CC-BY-4.0")
    ...     info = pyogrio.read_info(p)
    >>> info["dataset_metadata"]["licence"], info["crs"]
    ('CC-BY-4.0', 'EPSG:4326')
    """
    import json

    import geopandas as gpd
    import pyogrio
    import shapely

    path = Path(path)
    names = _value_columns(frame)
    lon = frame["longitude"].to_numpy(dtype=np.float64)
    lat = frame["latitude"].to_numpy(dtype=np.float64)
    located = np.isfinite(lon) & np.isfinite(lat)
    geometry = np.full(len(frame), None, dtype=object)
    geometry[located] = shapely.points(lon[located], lat[located])
    out: dict[str, Any] = {
        "sample_id": frame["sample_id"].astype(str).to_numpy(dtype=object),
        "longitude": lon,
        "latitude": lat,
        "country": np.array([_plain(v) or None for v in frame["country"]], dtype=object),
        "medium": np.array([_plain(v) or None for v in frame["medium"]], dtype=object),
    }
    for name in names:
        out[name] = frame[name].to_numpy(dtype=np.float64)
        out[name + CENSORED_SUFFIX] = _censored(frame, name)
    gdf = gpd.GeoDataFrame(pd.DataFrame(out), geometry=list(geometry), crs="EPSG:4326")
    attrs = frame.attrs
    about = {
        "citation": one_line(citation),
        "licence": one_line(licence),
        **{k: str(attrs[k]) for k in ("dataset_id", "version", "title", "url") if attrs.get(k)},
    }
    limits = attrs.get("detection_limits", {})
    layer_meta = {
        **about,
        "censored": CENSORED_NOTE_GPKG,
        "units": json.dumps({n: attrs.get("units", {}).get(n, "") for n in names}),
        "detection_limits": json.dumps({n: limits.get(n) for n in names}),
        "methods": json.dumps({n: attrs.get("methods", {}).get(n, "") for n in names}),
    }
    description = ". ".join(
        x for x in (about.get("title", ""), f"Citation: {about['citation']}",
                    f"Licence: {about['licence']}") if x
    )  # fmt: skip
    pyogrio.write_dataframe(
        gdf,
        path,
        layer=layer,
        driver="GPKG",
        dataset_metadata=about,
        layer_metadata=layer_meta,
        layer_options={"DESCRIPTION": description},
    )
    return path


def _version_record(store: Store, dataset_id: str, version: int | None) -> pd.Series:
    """The catalogue row of a dataset version (latest unless given)."""
    rows = store.datasets(all_versions=True)
    rows = rows[rows["dataset_id"] == dataset_id]
    if version is not None:
        rows = rows[rows["version"] == version]
    if rows.empty:
        what = f"dataset {dataset_id!r}" + (f" version {version}" if version else "")
        raise NotFoundError(f"{what} is not in the store")
    return rows.sort_values("version").iloc[-1]


def _analyte_names(columns: pd.DataFrame) -> dict[int, str]:
    """Column id → name of the analyte columns of a version (see :func:`samples_wide`)."""
    import re

    counts = columns["element"].value_counts()
    used = set(SAMPLE_FIELDS)
    names: dict[int, str] = {}
    rows = sorted(
        _records(columns),
        key=lambda r: (
            str(r["source_column"]).lower() != str(r["element"]).lower(),
            r["column_id"],
        ),
    )  # the bare element first, so that it gets the bare name
    for row in rows:
        cid, el = int(row["column_id"]), str(row["element"])
        src = "" if _missing(row["source_column"]) else str(row["source_column"])
        if counts[el] == 1 or src.lower() == el.lower():
            name = el
        elif src.lower().startswith(el.lower() + "_") and len(src) > len(el) + 1:
            name = f"{el}_{src[len(el) + 1 :]}"
        else:
            name = f"{el}_{src}" if src else el
        name = re.sub(r"[^0-9A-Za-z_]+", "_", name).strip("_") or f"{el}_{cid}"
        while name in used:
            name = f"{name}_{cid}"
        used.add(name)
        names[cid] = name
    return names


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): v for k, v in r.items()} for r in frame.to_dict("records")]


def _value_columns(frame: pd.DataFrame) -> list[str]:
    """The analyte columns of a wide sample frame, in order."""
    listed = frame.attrs.get("columns")
    if listed:
        return [str(c) for c in listed]
    return [
        str(c)
        for c in frame.columns
        if c not in SAMPLE_FIELDS and not str(c).endswith(CENSORED_SUFFIX)
    ]


def _censored(frame: pd.DataFrame, name: str) -> np.ndarray:
    flag = name + CENSORED_SUFFIX
    if flag not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    return frame[flag].fillna(False).to_numpy(dtype=bool)


def _dataset_lines(attrs: Mapping[str, Any]) -> list[str]:
    lines: list[str] = []
    if attrs.get("dataset_id"):
        version = attrs.get("version")
        lines.append(
            f"dataset: {attrs['dataset_id']}" + (f", version {version}" if version else "")
        )
    lines += [f"{k}: {one_line(attrs[k])}" for k in ("title",) if attrs.get(k)]
    return lines


def _text(series: pd.Series) -> np.ndarray:
    """Text values as an object array, None where missing."""
    return np.array([None if _missing(v) else str(v) for v in series], dtype=object)


def _missing(v: Any) -> bool:
    if v is None:
        return True
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _field(record: pd.Series, key: str) -> str:
    v = record.get(key)
    return "" if _missing(v) else str(v)


def _finite(v: Any) -> float | None:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _lowest(values: np.ndarray) -> float | None:
    return float(values.min()) if values.size else None


def _numbers(column: pd.Series) -> np.ndarray:
    return pd.to_numeric(column.replace("", np.nan), errors="raise").to_numpy(dtype=np.float64)


def _exact(v: Any) -> str:
    """A number for CSV with 15 significant digits, the most a float64 always keeps (so any
    value read from a file comes back as written, and conversion noise such as
    ``25099.999999999996`` reads ``25100``); empty for None and NaN."""
    x = _finite(v)
    return "" if x is None else f"{x:.15g}"


def _plain(v: Any) -> str:
    return "" if _missing(v) else str(v)
