"""Readers for survey files: CSV, Excel (.xls, .xlsx), GeoPackage and Shapefile.

Every reader returns a :class:`RawTable`: the columns as found (numbers where a whole
column parses as numbers, text otherwise), the 1-based line (or sheet row, or feature
number) of every data row, and the units row when the descriptor names one. Meaning is
given to the columns later, by the descriptor.

Examples
--------
>>> from chemearth.descriptor import Source
>>> t = read_table("/work/shared/data/meuse/meuse.csv", Source())  # doctest: +SKIP
>>> t.table.num_rows, int(t.lines[0])                              # doctest: +SKIP
(155, 2)
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from chemearth.descriptor import Source
from chemearth.errors import EmptyFileError, InputFileError, RowError

__all__ = ["RawTable", "detect_delimiter", "file_digest", "read_table"]

_CHUNK = 1 << 24
_DELIMITERS = (",", ";", "\t", "|")


@dataclass
class RawTable:
    """A survey table as read, before the descriptor gives its columns meaning."""

    path: Path
    table: pa.Table
    lines: np.ndarray
    units: dict[str, str] = field(default_factory=dict)
    crs: str = ""
    encoding: str = ""
    row_label: str = "row"

    @property
    def name(self) -> str:
        """The file name used in messages."""
        return self.path.name


@dataclass(frozen=True)
class FileDigest:
    """Content hash and text checks of a file, made in one pass."""

    sha256: str
    size: int
    utf8_error: tuple[int, int, str] | None  # (line, byte offset, reason)
    has_bom: bool
    has_nul: bool


def file_digest(path: Path) -> FileDigest:
    """Hash ``path`` and check that it decodes as UTF-8, in one streaming pass.

    Examples
    --------
    >>> d = file_digest(Path("/work/shared/data/meuse/meuse.csv"))  # doctest: +SKIP
    >>> len(d.sha256), d.utf8_error                                  # doctest: +SKIP
    (64, None)
    """
    h = hashlib.sha256()
    dec = codecs.getincrementaldecoder("utf-8")()
    size = 0
    lines_before = 0
    err: tuple[int, int, str] | None = None
    first = b""
    has_nul = False
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            if not first:
                first = chunk[:4]
                has_nul = b"\x00" in chunk[:65536]
            h.update(chunk)
            if err is None:
                try:
                    dec.decode(chunk)
                except UnicodeDecodeError as exc:
                    line = lines_before + chunk.count(b"\n", 0, exc.start) + 1
                    err = (line, size + exc.start, exc.reason)
            lines_before += chunk.count(b"\n")
            size += len(chunk)
        if err is None:
            try:
                dec.decode(b"", final=True)
            except UnicodeDecodeError as exc:
                err = (lines_before + 1, size, exc.reason)
    return FileDigest(h.hexdigest(), size, err, first.startswith(codecs.BOM_UTF8), has_nul)


def _guess_encoding(path: Path, digest: FileDigest, declared: str) -> str:
    if declared not in ("auto", ""):
        try:
            codecs.lookup(declared)
        except LookupError:
            raise InputFileError(f"{path.name}: unknown encoding {declared!r}") from None
        if declared.lower().replace("-", "").replace("_", "") in ("utf8", "utf8sig"):
            if digest.utf8_error:
                line, offset, reason = digest.utf8_error
                raise RowError(
                    path.name, line, None,
                    f"undecodable bytes at byte {offset} ({reason}): the file is not UTF-8 "
                    "as declared; set [source] encoding (e.g. 'gb18030' or 'latin-1')",
                )
            return "utf-8-sig" if digest.has_bom else "utf-8"
        return declared
    if digest.utf8_error is None:
        return "utf-8-sig" if digest.has_bom else "utf-8"
    from charset_normalizer import from_bytes

    with open(path, "rb") as f:
        sample = f.read(1 << 20)
    best = from_bytes(sample, cp_isolation=["gb18030", "big5", "cp1252", "latin_1"]).best()
    if best is None:
        line, offset, reason = digest.utf8_error
        raise RowError(
            path.name, line, None,
            f"undecodable bytes at byte {offset} ({reason}) and no known encoding fits; "
            "set [source] encoding",
        )
    enc = best.encoding
    return "gb18030" if enc in ("gb2312", "gbk", "gb18030") else enc


def _head_lines(path: Path, encoding: str, n: int) -> list[str]:
    lines = []
    with open(path, encoding=encoding, errors="replace", newline="") as f:
        for _ in range(n):
            line = f.readline()
            if not line:
                break
            lines.append(line)
    return lines


def detect_delimiter(header: str) -> str:
    """Pick the delimiter that splits the header line into the most fields.

    Examples
    --------
    >>> detect_delimiter("ID;Cu;Zn")
    ';'
    >>> detect_delimiter("ID,Cu,Zn")
    ','
    """
    counts = {d: header.count(d) for d in _DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


_BAD_VALUE = re.compile(r"column #(\d+): CSV conversion error to (\w+): invalid value '(.*)'")


def _read_csv(path: Path, source: Source, digest: FileDigest) -> RawTable:
    if digest.size == 0:
        raise EmptyFileError(f"{path.name}: the file is empty")
    if digest.has_nul:
        raise InputFileError(f"{path.name}: holds NUL bytes; this is not a text (CSV) file")
    encoding = _guess_encoding(path, digest, source.encoding)
    head = _head_lines(path, encoding, max(source.header_row, source.units_row) + 1)
    if len(head) < source.header_row or not head[source.header_row - 1].strip():
        raise EmptyFileError(f"{path.name}: no header line at line {source.header_row}")
    header_line = head[source.header_row - 1].lstrip("\ufeff")
    delim = detect_delimiter(header_line) if source.delimiter == "auto" else source.delimiter
    if delim == "\\t":
        delim = "\t"
    names = next(csv.reader([header_line], delimiter=delim))
    names = [n.strip() for n in names]
    _check_names(path, names, source.header_row)
    units: dict[str, str] = {}
    skip_after = 0
    if source.units_row:
        if source.units_row != source.header_row + 1:
            raise InputFileError(f"{path.name}: units_row must follow the header row directly")
        if len(head) < source.units_row:
            raise EmptyFileError(f"{path.name}: no units line at line {source.units_row}")
        cells = next(csv.reader([head[source.units_row - 1]], delimiter=delim))
        units = {n: c.strip() for n, c in zip(names, cells, strict=False) if c.strip()}
        skip_after = 1
    first_data_line = source.header_row + 1 + skip_after
    column_types: dict[str, pa.DataType] = {}
    for _ in range(len(names) + 1):
        try:
            table = pacsv.read_csv(
                path,
                read_options=pacsv.ReadOptions(
                    encoding=encoding,
                    skip_rows=source.header_row,
                    column_names=names,
                    skip_rows_after_names=skip_after,
                    block_size=1 << 24,
                ),
                parse_options=pacsv.ParseOptions(delimiter=delim, newlines_in_values=False),
                convert_options=pacsv.ConvertOptions(
                    column_types=column_types,
                    null_values=list(source.missing),
                    strings_can_be_null=True,
                    quoted_strings_can_be_null=True,
                ),
            )
            break
        except pa.ArrowInvalid as exc:
            msg = str(exc)
            m = _BAD_VALUE.search(msg)
            if m:  # type inferred from the first block does not fit a later one: read as text
                column_types[names[int(m.group(1))]] = pa.string()
                continue
            raise _csv_error(path, msg, first_data_line) from None
    else:  # pragma: no cover - every column already text
        raise InputFileError(f"{path.name}: cannot be parsed as CSV")
    if table.num_rows == 0:
        raise EmptyFileError(f"{path.name}: the file has a header but no data rows")
    lines = np.arange(first_data_line, first_data_line + table.num_rows, dtype=np.int64)
    return RawTable(path, table, lines, units, encoding=encoding)


def _csv_error(path: Path, msg: str, first_data_line: int) -> InputFileError:
    m = re.search(r"Expected (\d+) columns, got (\d+): (.*)", msg)
    if m:
        return InputFileError(
            f"{path.name}: a row has {m.group(2)} fields where the header has {m.group(1)} "
            f"(delimiter or quoting problem): {m.group(3)[:80]!r}"
        )
    m = re.search(r"[Rr]ow #?(\d+)", msg)
    where = f"row {int(m.group(1)) + first_data_line - 1}: " if m else ""
    return InputFileError(f"{path.name}: {where}cannot be parsed as CSV ({msg.splitlines()[0]})")


def _check_names(path: Path, names: list[str], header_row: int) -> None:
    seen: dict[str, int] = {}
    for i, n in enumerate(names):
        if not n:
            raise RowError(path.name, header_row, f"#{i + 1}", "empty column name in the header")
        if n in seen:
            raise RowError(
                path.name, header_row, n,
                f"duplicate column name (columns {seen[n] + 1} and {i + 1})",
            )
        seen[n] = i


def _column_array(values: list[object]) -> pa.Array:
    """Numbers when every non-empty cell is a number, else text."""
    cleaned = [None if (v is None or v == "") else v for v in values]
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in cleaned if v is not None):
        return pa.array(cleaned, type=pa.float64())
    out = []
    for v in cleaned:
        if v is None:
            out.append(None)
        elif isinstance(v, float) and v.is_integer():
            out.append(str(int(v)))
        else:
            out.append(str(v).strip() or None)
    return pa.array(out, type=pa.string())


def _rows_to_raw(path: Path, rows: list[list[object]], source: Source, label: str) -> RawTable:
    if len(rows) < source.header_row:
        raise EmptyFileError(f"{path.name}: no header at row {source.header_row}")
    names = [str(c).strip() if c is not None else "" for c in rows[source.header_row - 1]]
    while names and not names[-1]:
        names.pop()
    if not names:
        raise EmptyFileError(f"{path.name}: row {source.header_row} (the header) is empty")
    _check_names(path, names, source.header_row)
    units: dict[str, str] = {}
    start = source.header_row
    if source.units_row:
        urow = rows[source.units_row - 1] if len(rows) >= source.units_row else []
        units = {n: str(c).strip() for n, c in zip(names, urow, strict=False) if c not in (None, "")}
        start = source.units_row
    data = rows[start:]
    keep = [i for i, r in enumerate(data) if any(c not in (None, "") for c in r[: len(names)])]
    if not keep:
        raise EmptyFileError(f"{path.name}: no data rows below the header")
    missing = set(source.missing)
    cols = {}
    for j, n in enumerate(names):
        vals = []
        for i in keep:
            r = data[i]
            v = r[j] if j < len(r) else None
            vals.append(None if (isinstance(v, str) and v.strip() in missing) else v)
        cols[n] = _column_array(vals)
    lines = np.asarray(keep, dtype=np.int64) + start + 1
    return RawTable(path, pa.table(cols), lines, units, row_label=label)


def _read_xls(path: Path, source: Source) -> RawTable:
    import xlrd

    try:
        book = xlrd.open_workbook(str(path))
    except Exception as exc:  # xlrd raises many kinds for a corrupt file
        raise InputFileError(f"{path.name}: not a readable .xls workbook ({exc})") from None
    sheet = _pick_sheet(path, source.sheet, book.sheet_names())
    sh = book.sheet_by_name(sheet)
    rows: list[list[object]] = []
    for r in range(sh.nrows):
        row: list[object] = []
        for c in range(sh.ncols):
            cell = sh.cell(r, c)
            if cell.ctype == xlrd.XL_CELL_DATE:
                row.append(xlrd.xldate.xldate_as_datetime(cell.value, book.datemode).date().isoformat())
            elif cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
                row.append(None)
            else:
                row.append(cell.value)
        rows.append(row)
    return _rows_to_raw(path, rows, source, "row")


def _read_xlsx(path: Path, source: Source) -> RawTable:
    import datetime as dt
    import zipfile

    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise InputFileError(f"{path.name}: not a readable .xlsx workbook ({exc})") from None
    sheet = _pick_sheet(path, source.sheet, book.sheetnames)
    rows: list[list[object]] = []
    for r in book[sheet].iter_rows(values_only=True):
        rows.append([v.date().isoformat() if isinstance(v, dt.datetime) else v for v in r])
    book.close()
    return _rows_to_raw(path, rows, source, "row")


def _pick_sheet(path: Path, sheet: str | int, names: list[str]) -> str:
    if isinstance(sheet, int):
        if not 0 <= sheet < len(names):
            raise InputFileError(f"{path.name}: no sheet number {sheet}; sheets: {names}")
        return names[sheet]
    if sheet not in names:
        raise InputFileError(f"{path.name}: no sheet {sheet!r}; sheets: {names}")
    return sheet


def _read_vector(path: Path, source: Source) -> RawTable:
    import pyogrio

    try:
        gdf = pyogrio.read_dataframe(path, layer=source.layer or None)
    except Exception as exc:  # pyogrio wraps GDAL errors in several classes
        raise InputFileError(f"{path.name}: not a readable vector file ({exc})") from None
    if len(gdf) == 0:
        raise EmptyFileError(f"{path.name}: the layer has no features")
    geom = gdf.geometry
    types = set(geom.geom_type.dropna())
    if types - {"Point"}:
        raise InputFileError(
            f"{path.name}: sample locations must be points, found {', '.join(sorted(types))}"
        )
    crs = gdf.crs.to_string() if gdf.crs is not None else ""
    df = gdf.drop(columns=gdf.geometry.name)
    table = pa.Table.from_pandas(df, preserve_index=False)
    table = table.append_column("__easting", pa.array(geom.x.to_numpy(), pa.float64()))
    table = table.append_column("__northing", pa.array(geom.y.to_numpy(), pa.float64()))
    lines = np.arange(1, len(gdf) + 1, dtype=np.int64)
    return RawTable(path, table, lines, crs=crs, row_label="feature")


_FORMATS = {
    ".csv": "csv", ".txt": "csv", ".tsv": "csv", ".xls": "xls", ".xlsx": "xlsx",
    ".gpkg": "vector", ".shp": "vector", ".geojson": "vector",
}


def read_table(path: str | Path, source: Source, digest: FileDigest | None = None) -> RawTable:
    """Read the survey file at ``path`` as described by ``source``.

    Parameters
    ----------
    path : str or Path
        The survey file.
    source : Source
        The descriptor's ``[source]`` section (header row, units row, encoding…).
    digest : FileDigest, optional
        A digest already made by :func:`file_digest` (saves a pass over the file).

    Raises
    ------
    InputFileError
        The file is missing, empty, of an unknown format or unreadable.
    RowError
        A problem that can be pinned to a row (undecodable bytes, duplicate header names).
    """
    p = Path(path)
    if not p.is_file():
        raise InputFileError(f"{p.name}: file not found")
    fmt = source.format if source.format != "auto" else _FORMATS.get(p.suffix.lower(), "")
    if fmt in ("excel",):
        fmt = "xlsx" if p.suffix.lower() == ".xlsx" else "xls"
    if fmt in ("gpkg", "shp", "shapefile", "geopackage"):
        fmt = "vector"
    if fmt == "csv":
        return _read_csv(p, source, digest or file_digest(p))
    if p.stat().st_size == 0:
        raise EmptyFileError(f"{p.name}: the file is empty")
    if fmt == "xls":
        return _read_xls(p, source)
    if fmt == "xlsx":
        return _read_xlsx(p, source)
    if fmt == "vector":
        return _read_vector(p, source)
    raise InputFileError(
        f"{p.name}: unknown file format {p.suffix!r}; use CSV, .xls, .xlsx, .gpkg or .shp"
    )


def sniff_text(path: Path, n: int = 20) -> list[str]:
    """The first ``n`` lines of a text file (for ``chemearth describe``)."""
    digest = file_digest(path)
    enc = _guess_encoding(path, digest, "auto")
    return [ln.rstrip("\r\n") for ln in _head_lines(path, enc, n)]

