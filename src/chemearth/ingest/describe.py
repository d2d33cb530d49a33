"""Propose a dataset descriptor for a survey file (``chemearth describe``).

The proposal finds the header row (and a units row below it), recognises element
columns from their names (:mod:`chemearth.reference.names`), coordinate, id, date and country
columns, guesses the CRS and the below-detection-limit encoding from the values, and
writes a commented TOML descriptor for the user to review and edit.

Examples
--------
>>> text = propose_descriptor(Path("meuse/meuse.csv"))
>>> '"zinc" = { element = "Zn" }' in text
True
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from chemearth.ingest.descriptor import Source, parse_descriptor
from chemearth.ingest.readers import RawTable, read_table, sniff_text

__all__ = ["find_header_row", "propose_descriptor"]

_LON = re.compile(r"^(lon|long|longitude|lng|x_?wgs84|dec_?long.*)$", re.I)
_LAT = re.compile(r"^(lat|latitude|y_?wgs84|dec_?lat.*)$", re.I)
_X = re.compile(r"^(x|xcoo|xcoord|x_.*|easting|east|utm_?e.*|xloc)$", re.I)
_Y = re.compile(r"^(y|ycoo|ycoord|y_.*|northing|north|utm_?n.*|yloc)$", re.I)
_ID = re.compile(r"(^id$|_id$|^id_|sample|labno|lab_?id|^site|\.loc$|^no$|^code$)", re.I)
_DATE = re.compile(r"date|collected|sampled_on", re.I)
_COUNTRY = re.compile(r"^(country|coun|iso|iso_?a[23]|nation)$", re.I)
_NUMERIC = re.compile(r"^\s*[<>]?\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$")


def _is_number(text: str) -> bool:
    return bool(_NUMERIC.match(text))


def find_header_row(rows: list[list[str]]) -> int:
    """The 1-based row holding the column names: the first wide row of mostly text cells.

    Examples
    --------
    >>> find_header_row([["Title"], [], ["ID", "Cu", "Zn"], ["1", "2", "3"]])
    3
    """
    widths = [sum(1 for c in r if str(c).strip()) for r in rows]
    widest = max(widths) if widths else 0
    for i, r in enumerate(rows):
        cells = [str(c).strip() for c in r if str(c).strip()]
        if (
            len(cells) >= max(2, 0.8 * widest)
            and sum(_is_number(c) for c in cells) <= len(cells) // 4
        ):
            return i + 1
    return 1


def _preview_rows(path: Path) -> list[list[str]]:
    suffix = path.suffix.lower()
    if suffix in (".xls", ".xlsx"):
        from chemearth.ingest.readers import excel_rows

        return [["" if v is None else str(v) for v in r] for r in excel_rows(path, 0, 40)]
    if suffix in (".gpkg", ".shp", ".geojson"):
        return []
    import csv

    from chemearth.ingest.readers import detect_delimiter

    lines = sniff_text(path, 40)
    delim = detect_delimiter(max(lines, key=lambda ln: max(ln.count(d) for d in ",;\t|")))
    return [list(r) for r in csv.reader(lines, delimiter=delim)]


def propose_descriptor(path: Path, header_row: int | None = None) -> str:
    """Return a commented TOML descriptor proposed for the survey file at ``path``.

    Parameters
    ----------
    path : Path
        A CSV, Excel, GeoPackage or Shapefile survey table.
    header_row : int, optional
        1-based row of the column names; found automatically when omitted.
    """
    from chemearth.reference.elements import is_element
    from chemearth.reference.names import recognise_column

    hrow, units_row = _layout(path, header_row)
    raw = read_table(path, Source(header_row=hrow, units_row=units_row))
    names = [c for c in raw.table.column_names if not c.startswith("__")]
    guesses = {}
    for c in names:
        g = recognise_column(c)
        if g is not None:
            guesses[c] = g
    lon, lat, x, y = (_first(names, p) for p in (_LON, _LAT, _X, _Y))
    coords = _coordinates(raw, lon, lat, x, y)
    id_col = _id_column(raw, names, set(guesses))
    date_col = next((c for c in names if _DATE.search(c) and c not in guesses), "")
    country_col = next((c for c in names if _COUNTRY.match(c)), "")
    country_scheme = _country_scheme(raw, country_col) if country_col else None
    if country_scheme is None:
        country_col = ""
    used = {id_col, date_col, country_col, *coords[:2]}
    attrs = [c for c in names if c not in guesses and c not in used and not c.endswith("Cen")]
    encoding, note = _censoring(raw, [c for c, g in guesses.items() if is_element(g.analyte)])
    stem = re.sub(r"[^a-z0-9]+", "-", path.stem.lower()).strip("-")[:60] or "dataset"
    out = [
        f"# Descriptor proposed by `chemearth describe` for {path.name}.",
        "# Review every line (units, methods, CRS, metadata), then:",
        f"#   chemearth ingest {path.name} -d {stem}.toml",
        "",
        "[dataset]",
        f"id = {json.dumps(stem)}",
        f"title = {json.dumps(path.stem)}",
        'organisation = ""',
        'medium = "unknown"   # topsoil, c-horizon, humus, moss, stream sediment, ...',
        'licence = ""',
        'citation = ""',
        'sharing = "public"   # public, aggregated or restricted',
        "",
        "[source]",
        f"path = {json.dumps(str(path))}",
        f"header_row = {hrow}",
    ]
    if units_row:
        out.append(f"units_row = {units_row}")
    if coords[0]:
        out += [
            "",
            "[coordinates]",
            f"x = {json.dumps(coords[0])}",
            f"y = {json.dumps(coords[1])}",
            f"crs = {json.dumps(coords[2])}{coords[3]}",
        ]
        if country_col:
            out.append(f"country_column = {json.dumps(country_col)}")
            if country_scheme:
                out.append(f"country_codes = {json.dumps(country_scheme)}")
    out += ["", "[sample]"]
    if id_col:
        out.append(f"id = {json.dumps(id_col)}")
    if date_col:
        out.append(f"date = {json.dumps(date_col)}")
    if attrs:
        out.append(f"attributes = {json.dumps(attrs, ensure_ascii=False)}")
    out += [
        "",
        "[censoring]",
        f'encoding = "{encoding}"{note}',
        "",
        "[defaults]",
        'unit = "mg/kg"',
        'method = ""',
        'digestion = "unknown"',
        "",
        "[columns]",
    ]
    out += _column_lines(raw, guesses)
    text = "\n".join(out) + "\n"
    parse_descriptor(text)  # the proposal must at least be a valid descriptor
    return text


def _oxide_unit(raw: RawTable, column: str, analyte: str) -> str | None:
    """Oxides are nearly always reported in wt.%: propose it when the values fit."""
    if not re.match(r"^[A-Z][a-z]?\d*O\d*$", analyte):
        return None
    _lo, hi = _range(raw, column)
    return "%" if not np.isnan(hi) and hi <= 100 else None


def _layout(path: Path, header_row: int | None) -> tuple[int, int]:
    """(header row, units row or 0), found from the first rows of the file."""
    from chemearth.reference.names import recognise_units_row

    rows = _preview_rows(path)
    hrow = header_row or (find_header_row(rows) if rows else 1)
    if len(rows) > hrow:
        below = rows[hrow]
        units = recognise_units_row([str(c) for c in below])
        if any(units) and not any(_is_number(str(c)) for c in below if str(c).strip()):
            return hrow, hrow + 1
    return hrow, 0


def _column_lines(raw: RawTable, guesses: dict[str, Any]) -> list[str]:
    """One ``[columns]`` line per recognised analyte column."""
    out = []
    for c, g in guesses.items():
        unit = raw.units.get(c) or g.unit or _oxide_unit(raw, c, g.analyte)
        fields = [f"element = {json.dumps(g.analyte)}"]
        if unit:
            fields.append(f"unit = {json.dumps(unit, ensure_ascii=False)}")
        if g.method:
            fields.append(f"method = {json.dumps(g.method)}")
        out.append(f"{json.dumps(c, ensure_ascii=False)} = {{ {', '.join(fields)} }}")
    return out


def _country_scheme(raw: RawTable, column: str) -> str | None:
    """ "" for ISO codes or names, "gemas" for the GEMAS project's codes, None if neither."""
    from chemearth.errors import DescriptorError
    from chemearth.reference.countries import to_alpha2

    values = {v for v in raw.table.column(column).to_pylist() if v}
    for scheme in (None, "gemas"):
        try:
            for v in values:
                to_alpha2(str(v), scheme)
        except DescriptorError:
            continue
        return scheme or ""
    return None


def _first(names: list[str], pattern: re.Pattern[str]) -> str:
    return next((c for c in names if pattern.match(c)), "")


def _range(raw: RawTable, col: str) -> tuple[float, float]:
    arr = raw.table.column(col)
    if not (pa.types.is_floating(arr.type) or pa.types.is_integer(arr.type)):
        return (np.nan, np.nan)
    v = arr.to_numpy()
    return float(np.nanmin(v)), float(np.nanmax(v))


def _coordinates(raw: RawTable, lon: str, lat: str, x: str, y: str) -> tuple[str, str, str, str]:
    if "__easting" in raw.table.column_names:
        return "geometry", "geometry", raw.crs or "EPSG:4326", ""
    if lon and lat:
        lo, la = _range(raw, lon), _range(raw, lat)
        if abs(lo[0]) <= 180 and abs(lo[1]) <= 180 and abs(la[0]) <= 90 and abs(la[1]) <= 90:
            return lon, lat, "EPSG:4326", "   # WGS84 longitude/latitude (check the datum)"
    if x and y:
        xr, yr = _range(raw, x), _range(raw, y)
        note = (
            f"   # TODO: set the CRS (EPSG code or PROJ string); x {xr[0]:g}..{xr[1]:g}, "
            f"y {yr[0]:g}..{yr[1]:g}"
        )
        return x, y, "EPSG:4326", note
    return "", "", "", ""


def _id_column(raw: RawTable, names: list[str], analytes: set[str]) -> str:
    for c in names:
        if c in analytes or not _ID.search(c):
            continue
        col = raw.table.column(c)
        if col.null_count == 0 and pc.count_distinct(col).as_py() == len(col):
            return c
    return ""


def _censoring(raw: RawTable, analytes: list[str]) -> tuple[str, str]:
    lt = neg = zero = 0
    for c in analytes:
        col = raw.table.column(c)
        if pa.types.is_string(col.type):
            lt += pc.sum(pc.fill_null(pc.starts_with(col, "<"), False)).as_py() or 0
        elif pa.types.is_floating(col.type) or pa.types.is_integer(col.type):
            v = col.to_numpy(zero_copy_only=False).astype(float)
            neg += int(np.sum(v < 0))
            zero += int(np.sum(v == 0))
    if any(f"{c}Cen" in raw.table.column_names for c in analytes):
        return "flag_column", "   # boolean *Cen columns flag values below the DL"
    if neg:
        return "negative", f"   # {neg} negative values found: -2 means <2"
    if zero:
        return "zero", (
            f"   # {zero} zeros found: if they mean <DL, give limits_file or "
            "per-column detection_limit"
        )
    if lt:
        return "lt_string", f"   # {lt} '<DL' values found"
    return "lt_string", (
        "   # no DL marks found; if values were substituted (e.g. half the DL) "
        'use "substituted" with factor and limits'
    )
