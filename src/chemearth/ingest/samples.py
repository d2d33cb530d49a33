"""Sample-level preparation: ids, coordinates, CRS, countries, dates, media.

:func:`prepare_samples` turns the descriptive columns of a
:class:`~chemearth.ingest.readers.RawTable`
into the sample table of ``docs/conventions.md`` and a list of row problems (bad
coordinates, a point far outside its declared country, duplicate ids…), each naming the
file's row and column.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from chemearth.errors import CRSError, DescriptorError
from chemearth.ingest.descriptor import Descriptor
from chemearth.ingest.detection_limits import parse_cells
from chemearth.ingest.readers import RawTable

__all__ = [
    "Problems",
    "SampleFrame",
    "find_duplicates",
    "prepare_samples",
    "transform_to_wgs84",
]


@dataclass
class Problems:
    """Row problems found so far: parallel lists of row index, column, value, reason."""

    index: list[int] = field(default_factory=list)
    column: list[str] = field(default_factory=list)
    value: list[str] = field(default_factory=list)
    reason: list[str] = field(default_factory=list)

    def add(self, rows: np.ndarray, column: str, values: list[str] | str, reason: str) -> None:
        """Record ``reason`` for every row index in ``rows``."""
        idx = np.flatnonzero(rows) if rows.dtype == bool else np.asarray(rows)
        self.index.extend(int(i) for i in idx)
        self.column.extend([column] * len(idx))
        vals = [values] * len(idx) if isinstance(values, str) else values
        self.value.extend(str(v) for v in vals)
        self.reason.extend([reason] * len(idx))

    def add_each(
        self, rows: np.ndarray, column: str, values: list[str], reasons: list[str]
    ) -> None:
        """Record one reason per row."""
        self.index.extend(int(i) for i in rows)
        self.column.extend([column] * len(rows))
        self.value.extend(str(v) for v in values)
        self.reason.extend(reasons)

    def extend(self, other: Problems) -> None:
        """Add the problems recorded in ``other``."""
        self.index.extend(other.index)
        self.column.extend(other.column)
        self.value.extend(other.value)
        self.reason.extend(other.reason)

    def mask(self, n: int) -> np.ndarray:
        """Boolean mask of the rows with at least one problem."""
        m = np.zeros(n, dtype=bool)
        if self.index:
            idx = np.asarray(self.index)
            m[idx[idx >= 0]] = True  # negative: rows the reader could not split into fields
        return m

    def __len__(self) -> int:
        return len(self.index)


@dataclass
class SampleFrame:
    """Sample columns in row order of the raw table (before rejected rows are dropped)."""

    sample_id: pa.Array
    longitude: np.ndarray
    latitude: np.ndarray
    x_orig: np.ndarray
    y_orig: np.ndarray
    crs: str
    country: np.ndarray
    medium: np.ndarray
    depth_top: np.ndarray
    depth_bottom: np.ndarray
    date: np.ndarray
    attributes: list[str] | None
    warnings: list[str] = field(default_factory=list)
    #: points located freely (no country declared anywhere) per country, "" off land
    free_countries: dict[str, int] = field(default_factory=dict)

    def to_arrow(
        self, keep: np.ndarray, sampled: np.ndarray, lines: np.ndarray, start: int = 0
    ) -> pa.Table:
        """The sample table of the kept rows, with ``sample_index`` start..start+n-1."""
        n = int(keep.sum())
        attrs = None
        if self.attributes is not None:
            attrs = [a for a, k in zip(self.attributes, keep, strict=True) if k]
        return pa.table(
            {
                "sample_index": pa.array(np.arange(start, start + n, dtype=np.int32)),
                "sample_id": self.sample_id.filter(pa.array(keep)),
                "longitude": pa.array(self.longitude[keep], pa.float64()),
                "latitude": pa.array(self.latitude[keep], pa.float64()),
                "x_orig": pa.array(self.x_orig[keep], pa.float64()),
                "y_orig": pa.array(self.y_orig[keep], pa.float64()),
                "crs_orig": pa.array([self.crs] * n, pa.string()).dictionary_encode(),
                "country": pa.array(self.country[keep], pa.string()).dictionary_encode(),
                "medium": pa.array(self.medium[keep], pa.string()).dictionary_encode(),
                "depth_top_cm": pa.array(self.depth_top[keep], pa.float64()),
                "depth_bottom_cm": pa.array(self.depth_bottom[keep], pa.float64()),
                "sampled_on": pa.array(self.date[keep], pa.date32()),
                "sampled": pa.array(sampled[keep], pa.bool_()),
                "attributes": pa.array(attrs, pa.string())
                if attrs is not None
                else pa.nulls(n, pa.string()),
                "source_row": pa.array(lines[keep], pa.int64()),
            }
        )


def transform_to_wgs84(
    x: np.ndarray, y: np.ndarray, crs: str
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Transform coordinates in ``crs`` to WGS84 longitude/latitude.

    Returns ``(longitude, latitude, crs_is_geographic)``; impossible inputs become NaN
    or infinite.

    Examples
    --------
    >>> lon, lat, geo = transform_to_wgs84(np.array([547960.0]), np.array([7693790.0]),
    ...                                    "EPSG:32635")
    >>> round(float(lon[0]), 3), round(float(lat[0]), 3), geo
    (28.219, 69.349, False)
    """
    from pyproj import CRS, Transformer
    from pyproj.exceptions import CRSError as PyprojCRSError

    try:
        src = CRS.from_user_input(crs)
    except PyprojCRSError as exc:
        raise CRSError(f"unknown CRS {crs!r}: {exc}") from None
    if src.is_geographic and src.ellipsoid and src.to_epsg() in (4326, 4269, 4258, 4283, 4167):
        # WGS84, NAD83, ETRS89, GDA94, NZGD2000: within a metre or two of WGS84
        return x.astype(float), y.astype(float), True
    tr = Transformer.from_crs(src, "EPSG:4326", always_xy=True)
    with np.errstate(all="ignore"):
        lon, lat = tr.transform(x, y, errcheck=False)
    return np.asarray(lon, float), np.asarray(lat, float), bool(src.is_geographic)


def _text(raw: RawTable, name: str) -> np.ndarray:
    col = raw.table.column(name)
    if pa.types.is_floating(col.type):
        arr = col.to_numpy()
        return np.array(
            [None if np.isnan(v) else (str(int(v)) if v.is_integer() else repr(v)) for v in arr],
            dtype=object,
        )
    return np.asarray(pc.cast(col, pa.string()).to_numpy(zero_copy_only=False), dtype=object)


def _numbers(raw: RawTable, name: str, problems: Problems, what: str) -> np.ndarray:
    cells = parse_cells(raw.table.column(name))
    nonfinite = cells.nonfinite if cells.nonfinite is not None else np.zeros_like(cells.bad)
    for mask, reason in ((cells.bad & ~nonfinite, "is not a number"),
                         (nonfinite, "is not a finite number")):
        if mask.any():
            idx = np.flatnonzero(mask)
            problems.add(idx, name, [cells.bad_text(int(i)) for i in idx], f"{what} {reason}")
    return cells.number


def prepare_samples(
    raw: RawTable,
    desc: Descriptor,
    problems: Problems,
    boundaries: Path | None,
) -> SampleFrame:
    """Build the sample columns of ``raw`` and record row problems in ``problems``."""
    n = raw.table.num_rows
    s, co = desc.sample, desc.coordinates
    names = raw.table.column_names
    # replicate files (F1_*/F2_*) are expanded to one row per replicate; each replicate's
    # id comes from its [sample].replicate_id_columns entry (``__sample_id``)
    id_col = s.id or ("__sample_id" if "__sample_id" in names else "")
    id_label = s.id or "/".join(s.replicate_id_columns) or "(row number)"
    if id_col:
        ids = _normalise_ids(_id_text(raw, id_col))
        missing = np.asarray(pc.is_null(ids).to_numpy(zero_copy_only=False), dtype=bool)
        problems.add(missing, id_label, "", "sample id is empty")
    elif "__replicate" in names:  # one source line holds several replicates
        reps = _text(raw, "__replicate")
        ids = pa.array(
            [f"{line}-{r}" for line, r in zip(raw.lines, reps, strict=True)], pa.string()
        )
    else:
        ids = pa.array([str(v) for v in raw.lines], pa.string())

    lon = lat = x = y = np.full(n, np.nan)
    crs = co.crs
    if co.located:
        xname, yname = ("__easting", "__northing") if co.x == "geometry" else (co.x, co.y)
        if co.x == "geometry" and raw.crs and co.crs == "EPSG:4326":
            crs = raw.crs
        x = _numbers(raw, xname, problems, "coordinate")
        y = _numbers(raw, yname, problems, "coordinate")
        empty = np.isnan(x) | np.isnan(y)
        problems.add(empty & ~problems.mask(n), f"{co.x}/{co.y}", "", "coordinate is missing")
        try:
            lon, lat, geographic = transform_to_wgs84(x, y, crs)
        except CRSError as exc:
            raise CRSError(f"{desc.where} [coordinates].crs: {exc}") from None
        _check_ranges(x, y, lon, lat, geographic, co.x, co.y, problems)
    country, warn, free = _countries(raw, desc, lon, lat, x, y, crs, problems, boundaries)
    if not co.located and desc.dataset.kind == "survey":
        warn += _unlocated_warning(raw)
    medium = _media(raw, desc, problems)
    dates = _dates(raw, desc, problems)
    top = np.full(n, desc.dataset.depth_cm[0] if desc.dataset.depth_cm else np.nan)
    bottom = np.full(n, desc.dataset.depth_cm[1] if desc.dataset.depth_cm else np.nan)
    if s.depth_top_column:
        top = _numbers(raw, s.depth_top_column, problems, "depth")
    if s.depth_bottom_column:
        bottom = _numbers(raw, s.depth_bottom_column, problems, "depth")
    attrs = _attributes(raw, desc)
    return SampleFrame(
        ids, lon, lat, x, y, crs, country, medium, top, bottom, dates, attrs, warn, free
    )


def _unlocated_warning(raw: RawTable) -> list[str]:
    """A warning when a survey without ``[coordinates]`` has columns named like coordinates."""
    from chemearth.ingest.infer_crs import coordinate_candidates

    names = [c for c in raw.table.column_names if not c.startswith("__")]
    pairs = coordinate_candidates(raw, names, by_range=False)
    if not pairs:
        return []
    cols = ", ".join(f"{x}/{y}" for x, y in pairs[:3])
    return [f"the file has columns {cols} that look like coordinates, but the descriptor has "
            "no [coordinates]: the samples are stored without locations"]


def _id_text(raw: RawTable, name: str) -> pa.Array:
    """An id column as text (numbers read as floats are written without ``.0``)."""
    col = raw.table.column(name)
    if pa.types.is_floating(col.type):
        return pa.array(list(_text(raw, name)), pa.string())
    arr = pc.utf8_trim_whitespace(pc.cast(col, pa.string()))
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def _normalise_ids(ids: pa.Array) -> pa.Array:
    """Ids written as whole numbers with a ``.0`` (``"12.0"``, from R or Excel) -> ``"12"``.

    Examples
    --------
    >>> _normalise_ids(pa.array(["1.0", "A", "12.00", None])).to_pylist()
    ['1', 'A', '12.00', None]
    """
    whole = pc.fill_null(pc.match_substring_regex(ids, r"^\d+\.0$"), False)
    if not pc.any(whole).as_py():
        return ids
    return pc.if_else(whole, pc.utf8_slice_codeunits(ids, 0, -2), ids)


def _all_distinct(ids: pa.Array | pa.ChunkedArray) -> bool:
    """Whether no id (nulls aside) occurs twice: sorted, no two neighbours are equal.

    A sort needs half the memory of a hash table of a million ids, and less time.

    Examples
    --------
    >>> _all_distinct(pa.array(["b", None, "a", None])), _all_distinct(pa.array(["a", "b", "a"]))
    (True, False)
    """
    valid = pc.drop_null(ids)
    if len(valid) < 2:
        return True
    ordered = valid.take(pc.sort_indices(valid))
    if isinstance(ordered, pa.ChunkedArray):
        ordered = ordered.combine_chunks()
    same = pc.equal(ordered.slice(1), ordered.slice(0, len(ordered) - 1))
    return not pc.any(same).as_py()


def find_duplicates(
    ids: np.ndarray | pa.Array | pa.ChunkedArray, lines: np.ndarray, column: str
) -> pd.DataFrame:
    """Reject rows for every sample id that occurs more than once (all occurrences).

    Returns a reject frame (row, column, value, reason) naming the other rows.

    Examples
    --------
    >>> df = find_duplicates(np.array(["a", "b", "a"], dtype=object), np.array([2, 3, 4]), "ID")
    >>> df["row"].tolist(), df["reason"][0]
    ([2, 4], "duplicate sample id 'a' (also on rows 4)")
    """
    arr = ids if isinstance(ids, pa.ChunkedArray | pa.Array) else pa.array(ids, pa.string())
    cols = ["row", "column", "value", "reason"]
    if _all_distinct(arr):
        return pd.DataFrame(columns=cols)  # the common case: every id once
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    enc = pc.dictionary_encode(arr)
    valid = ~np.asarray(pc.is_null(enc.indices).to_numpy(zero_copy_only=False), dtype=bool)
    codes = np.asarray(pc.fill_null(enc.indices, 0).to_numpy(zero_copy_only=False))
    counts = np.bincount(codes[valid], minlength=len(enc.dictionary))
    dup_mask = valid & (counts[codes] > 1)
    if not dup_mask.any():  # the common case: no Python objects made at all
        return pd.DataFrame(columns=cols)
    where = np.flatnonzero(dup_mask)
    ser = pd.Series(enc.dictionary.take(pa.array(codes[where])).to_pylist(), index=where)
    dup = ser.notna()
    groups = ser[dup].groupby(ser[dup]).groups
    out = []
    for value, idx in groups.items():
        rows = [int(lines[i]) for i in idx]
        for r in rows:
            others = [x for x in rows if x != r][:5]
            out.append(
                (
                    r,
                    column,
                    str(value),
                    f"duplicate sample id {value!r} (also on rows {', '.join(map(str, others))})",
                )
            )
    df = pd.DataFrame(out, columns=cols)
    return df.sort_values("row", kind="stable").reset_index(drop=True)


def _check_ranges(
    x: np.ndarray,
    y: np.ndarray,
    lon: np.ndarray,
    lat: np.ndarray,
    geographic: bool,
    xname: str,
    yname: str,
    problems: Problems,
) -> None:
    finite_in = ~(np.isnan(x) | np.isnan(y))
    if geographic:
        bad_lat = finite_in & (np.abs(y) > 90)
        swapped = bad_lat & (np.abs(x) <= 90) & (np.abs(y) <= 180)
        problems.add(
            swapped,
            yname,
            [f"{v:g}" for v in y[swapped]],
            "latitude outside -90..90 but a valid longitude: are longitude and latitude swapped?",
        )
        other = bad_lat & ~swapped
        metres = other & ((np.abs(y) > 1000) | (np.abs(x) > 1000))
        problems.add(
            metres,
            yname,
            [f"{v:g}" for v in y[metres]],
            "latitude outside -90..90: the values look like projected metres; "
            "check [coordinates].crs",
        )
        other &= ~metres
        problems.add(other, yname, [f"{v:g}" for v in y[other]], "latitude outside -90..90")
        bad_lon = finite_in & ~bad_lat & (np.abs(x) > 180)
        problems.add(bad_lon, xname, [f"{v:g}" for v in x[bad_lon]], "longitude outside -180..180")
    else:
        bad = finite_in & ~(np.isfinite(lon) & np.isfinite(lat) & (np.abs(lat) <= 90))
        problems.add(
            bad,
            f"{xname}/{yname}",
            [f"{a:g} {b:g}" for a, b in zip(x[bad], y[bad], strict=True)],
            "coordinates cannot be transformed: impossible in this CRS",
        )
    bad = finite_in & ~(np.isfinite(lon) & np.isfinite(lat))
    lon[bad] = np.nan
    lat[bad] = np.nan


def _countries(
    raw: RawTable,
    desc: Descriptor,
    lon: np.ndarray,
    lat: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    crs: str,
    problems: Problems,
    boundaries: Path | None,
) -> tuple[np.ndarray, list[str], dict[str, int]]:
    from chemearth.reference.countries import CountryLocator, to_alpha2

    n = raw.table.num_rows
    co = desc.coordinates
    declared = np.full(n, None, dtype=object)
    if co.country_column:
        codes = _text(raw, co.country_column)
        mapping: dict[str, str | None] = {}
        for c in set(codes) - {None}:
            try:
                mapping[c] = to_alpha2(c, co.country_codes or None)
            except DescriptorError:
                mapping[c] = None
        declared = np.array([mapping.get(c) if c is not None else None for c in codes], object)
        unknown = np.array([c is not None and mapping.get(c) is None for c in codes])
        problems.add(unknown, co.country_column, list(codes[unknown]), "unknown country code")
    elif co.country:
        declared[:] = to_alpha2(co.country)
    elif len(desc.dataset.countries) == 1:
        declared[:] = to_alpha2(desc.dataset.countries[0])
    located = ~np.isnan(lon)
    if boundaries is None or not located.any():
        warn = (
            []
            if not located.any()
            else ["no country boundaries available: countries taken from the descriptor only"]
        )
        return declared, warn, {}
    loc = CountryLocator.from_file(boundaries)
    country = declared.copy()
    tol = co.tolerance_km
    has_decl = located & pd.notna(declared)
    for code in set(declared[has_decl]):
        rows = np.flatnonzero(has_decl & (declared == code))
        dist = loc.distance_to_country(lon[rows], lat[rows], code)
        far = rows[dist > tol]
        _far_problems(far, dist[dist > tol], code, lon, lat, x, y, co, problems)
    free = located & ~has_decl
    free_counts: dict[str, int] = {}
    if free.any():
        rows = np.flatnonzero(free)
        res = loc.locate(lon[rows], lat[rows], tolerance_km=tol)
        found = np.asarray(res.country, dtype=object)
        allowed = [to_alpha2(c) for c in desc.dataset.countries]
        if allowed:
            dists = np.vstack([loc.distance_to_country(lon[rows], lat[rows], c) for c in allowed])
            nearest = np.argmin(dists, axis=0)
            best = dists[nearest, np.arange(len(rows))]
            inside = np.array([f in allowed for f in found])
            found = np.where(inside, found, np.array(allowed, dtype=object)[nearest])
            far = ~inside & (best > tol)
            names = "/".join(allowed)
            _far_problems(rows[far], best[far], names, lon, lat, x, y, co, problems)
        else:
            far = np.array([f is None for f in found])
            problems.add(
                rows[far],
                f"{co.x}/{co.y}",
                [f"{a:.4f} {b:.4f}" for a, b in zip(lon[rows[far]], lat[rows[far]], strict=True)],
                f"point lies more than {tol:g} km from any country: wrong CRS?",
            )
            for c in found:  # for the plausibility of the spread (pipeline)
                free_counts[c or ""] = free_counts.get(c or "", 0) + 1
        country[rows] = found
    return country, [], free_counts


def _far_problems(
    rows: np.ndarray,
    dist: np.ndarray,
    code: str,
    lon: np.ndarray,
    lat: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    co: object,
    problems: Problems,
) -> None:
    if len(rows) == 0:
        return
    reasons = [
        f"point (lon {lon[i]:.4f}, lat {lat[i]:.4f}) falls {d:,.0f} km outside the declared "
        f"country {code}: wrong CRS, or x and y swapped?"
        for i, d in zip(rows, dist, strict=True)
    ]
    names = f"{getattr(co, 'x', '')}/{getattr(co, 'y', '')}"
    problems.add_each(rows, names, [f"{x[i]:g} {y[i]:g}" for i in rows], reasons)


def _media(raw: RawTable, desc: Descriptor, problems: Problems) -> np.ndarray:
    n = raw.table.num_rows
    s = desc.sample
    if not s.medium_column:
        return np.full(n, desc.dataset.medium, dtype=object)
    vals = _text(raw, s.medium_column)
    out = np.array([s.medium_map.get(v) if v is not None else None for v in vals], object)
    unknown = np.array([v is not None and m is None for v, m in zip(vals, out, strict=True)])
    problems.add(unknown, s.medium_column, list(vals[unknown]), "medium not in [sample].medium_map")
    out[np.array([v is None for v in vals])] = desc.dataset.medium
    return out


def _dates(raw: RawTable, desc: Descriptor, problems: Problems) -> np.ndarray:
    n = raw.table.num_rows
    if not desc.sample.date:
        return np.full(n, None, dtype=object)
    vals = pd.Series(_text(raw, desc.sample.date))
    fmt = desc.sample.date_format or "ISO8601"
    parsed = pd.to_datetime(vals, format=fmt, errors="coerce")
    bad = (parsed.isna() & vals.notna()).to_numpy()
    problems.add(bad, desc.sample.date, list(vals[bad]), "date cannot be parsed")
    return np.array([d.date() if not pd.isna(d) else None for d in parsed], dtype=object)


def _attributes(raw: RawTable, desc: Descriptor) -> list[str] | None:
    names = list(desc.sample.attributes)
    if "__replicate" in raw.table.column_names:
        names.append("__replicate")
    if not names:
        return None
    df = raw.table.select(names).to_pandas()
    for c in df.columns:  # text attributes trimmed, as the spreadsheet readers do
        if df[c].dtype == object or pd.api.types.is_string_dtype(df[c]):
            df[c] = df[c].str.strip()
    df = df.rename(columns={"__replicate": "replicate"})
    return [
        json.dumps(
            {k: v for k, v in rec.items() if v is not None and not pd.isna(v)},
            ensure_ascii=False,
            default=str,
        )
        for rec in df.to_dict("records")
    ]
