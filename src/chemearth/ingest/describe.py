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
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.compute as pc

from chemearth.ingest.descriptor import Source, parse_descriptor
from chemearth.ingest.infer_crs import CoordinateProposal, propose_coordinates
from chemearth.ingest.readers import RawTable, read_table, sniff_text

__all__ = ["Proposal", "find_header_row", "propose", "propose_descriptor"]

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


def _preview_rows(path: Path, sheet: str | int | None = None) -> list[list[str]]:
    suffix = path.suffix.lower()
    if suffix in (".xls", ".xlsx"):
        from chemearth.ingest.readers import excel_rows

        rows = excel_rows(path, 0 if sheet is None else sheet, 40)
        return [["" if v is None else str(v) for v in r] for r in rows]
    if suffix in (".gpkg", ".shp", ".geojson"):
        return []
    import csv

    from chemearth.ingest.readers import detect_delimiter

    lines = sniff_text(path, 40)
    delim = detect_delimiter(max(lines, key=lambda ln: max(ln.count(d) for d in ",;\t|")))
    return [list(r) for r in csv.reader(lines, delimiter=delim)]


@dataclass
class Proposal:
    """A proposed descriptor, with what the user must still decide.

    ``text`` is the commented TOML; ``decisions`` lists, in words, every choice that could
    not be inferred (an empty list: the proposal should ingest as it is, after review).
    """

    text: str
    decisions: list[str] = field(default_factory=list)


def propose_descriptor(
    path: Path,
    header_row: int | None = None,
    *,
    sheet: str | int | None = None,
    boundaries: Path | None = None,
) -> str:
    """Return a commented TOML descriptor proposed for the survey file at ``path``.

    Parameters
    ----------
    path : Path
        A CSV, Excel, GeoPackage or Shapefile survey table.
    header_row : int, optional
        1-based row of the column names; found automatically when omitted.
    sheet : str or int, optional
        The worksheet of a workbook (name or 0-based index; default the first).
    boundaries : Path, optional
        Natural Earth admin-0 countries, to infer the CRS and the countries from where the
        points land.
    """
    return propose(path, header_row, sheet=sheet, boundaries=boundaries).text


def propose(
    path: Path,
    header_row: int | None = None,
    *,
    sheet: str | int | None = None,
    boundaries: Path | None = None,
) -> Proposal:
    """Like :func:`propose_descriptor`, with the decisions left to the user."""
    from chemearth.ingest.infer_limits import has_limit, propose_censoring, propose_markers
    from chemearth.ingest.infer_units import propose_columns
    from chemearth.reference.elements import analyte_kind
    from chemearth.reference.names import recognise_column

    hrow, units_row = _layout(path, header_row, sheet)
    source = Source(header_row=hrow, units_row=units_row, sheet=0 if sheet is None else sheet)
    raw = read_table(path, source)
    names = [c for c in raw.table.column_names if not c.startswith("__")]
    guesses = {}
    for c in names:
        g = recognise_column(c)
        if g is not None:
            guesses[c] = g
    coords = propose_coordinates(raw, names, boundaries)
    for c in coords.used:
        guesses.pop(c, None)
    id_col = _id_column(raw, names, set(guesses))
    date_col = next((c for c in names if _DATE.search(c) and c not in guesses), "")
    country_col = next((c for c in names if _COUNTRY.match(c)), "")
    country_scheme = _country_scheme(raw, country_col) if country_col else None
    if country_scheme is None:
        country_col = ""
    used = {id_col, date_col, country_col, *coords.used}
    attrs = [c for c in names if c not in guesses and c not in used and not c.endswith("Cen")]
    columns = propose_columns(raw, guesses)
    censoring = propose_censoring(
        raw, [p.column for p in columns if has_limit(p.element)],
        marked=[p.column for p in columns if analyte_kind(p.element) != "parameter"])
    markers = propose_markers(raw, [p.column for p in columns])
    decisions = [*coords.decisions, *(d for p in columns for d in p.decisions),
                 *censoring.decisions, *markers.decisions]
    stem = re.sub(r"[^a-z0-9]+", "-", path.stem.lower()).strip("-")[:60] or "dataset"
    out = [
        f"# Descriptor proposed by `chemearth describe` for {path.name}.",
        "# Review every line (units, methods, CRS, metadata), then:",
        f"#   chemearth check {path.name} -d {stem}.toml",
        f"#   chemearth ingest {path.name} -d {stem}.toml",
    ]
    if decisions:
        out.append("#")
        out.append("# TO DECIDE before it can be ingested:")
        out += [f"#   - {d}" for d in decisions]
    out += [
        "",
        "[dataset]",
        f"id = {json.dumps(stem)}",
        f"title = {json.dumps(path.stem)}",
        'organisation = ""',
    ]
    if coords.countries:
        out.append(f"countries = {json.dumps(list(coords.countries))}"
                   "   # where the points fall (see [coordinates])")
    out += [
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
    if sheet is not None:
        out.append(f"sheet = {json.dumps(sheet)}")
    out += markers.lines
    out += _coordinate_lines(coords, country_col, country_scheme)
    out += ["", "[sample]"]
    if id_col:
        out.append(f"id = {json.dumps(id_col)}")
    if date_col:
        out.append(f"date = {json.dumps(date_col)}")
    if attrs:
        out.append(f"attributes = {json.dumps(attrs, ensure_ascii=False)}")
    out += ["", "[censoring]"]
    note = f"   # {censoring.comment}" if censoring.comment else ""
    out.append(f'encoding = "{censoring.encoding}"{note}')
    out += censoring.lines
    out += [
        "",
        "[defaults]",
        'unit = "mg/kg"',
        'method = ""',
        'digestion = "unknown"',
        "",
        "[columns]",
    ]
    out += [p.line() for p in columns]
    text = "\n".join(out) + "\n"
    parse_descriptor(text)  # the proposal must at least be a valid descriptor
    return Proposal(text, decisions)


def _layout(
    path: Path, header_row: int | None, sheet: str | int | None = None
) -> tuple[int, int]:
    """(header row, units row or 0), found from the first rows of the file."""
    from chemearth.reference.names import recognise_units_row

    rows = _preview_rows(path, sheet)
    hrow = header_row or (find_header_row(rows) if rows else 1)
    if len(rows) > hrow:
        below = rows[hrow]
        units = recognise_units_row([str(c) for c in below])
        if any(units) and not any(_is_number(str(c)) for c in below if str(c).strip()):
            return hrow, hrow + 1
    return hrow, 0


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


def _id_column(raw: RawTable, names: list[str], analytes: set[str]) -> str:
    for c in names:
        if c in analytes or not _ID.search(c):
            continue
        col = raw.table.column(c)
        if col.null_count == 0 and pc.count_distinct(col).as_py() == len(col):
            return c
    return ""


def _coordinate_lines(coords: CoordinateProposal, country_col: str,
                      country_scheme: str | None) -> list[str]:
    """The ``[coordinates]`` section (none when the table has no coordinates)."""
    if not coords.x:
        return []
    out = ["", "[coordinates]"]
    out += [f"# {c}" for c in coords.comments]
    out += [f"x = {json.dumps(coords.x)}", f"y = {json.dumps(coords.y)}"]
    if coords.crs:
        out.append(f"crs = {json.dumps(coords.crs)}")
    else:
        out.append('# crs = ""   # TO DECIDE: no CRS fits these coordinates')
    if country_col:
        out.append(f"country_column = {json.dumps(country_col)}")
        if country_scheme:
            out.append(f"country_codes = {json.dumps(country_scheme)}")
    return out
