"""Readers for survey files: CSV, Excel (.xls, .xlsx), GeoPackage and Shapefile.

Every reader returns a :class:`RawTable`: the columns as found (numbers where a whole
column parses as numbers, text otherwise), the 1-based line (or sheet row, or feature
number) of every data row, and the units row when the descriptor names one. Meaning is
given to the columns later, by the descriptor.

Examples
--------
>>> from chemearth.ingest.descriptor import Source
>>> t = read_table("meuse/meuse.csv", Source())
>>> t.table.num_rows, int(t.lines[0])
(155, 2)
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import re
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from chemearth.errors import EmptyFileError, InputFileError, RowError
from chemearth.ingest.descriptor import Source
from chemearth.ingest.spreadsheets import excel_rows, sheet_names, sheets_hint

__all__ = [
    "RawTable",
    "detect_delimiter",
    "excel_rows",
    "file_digest",
    "iter_csv_chunks",
    "iter_tables",
    "read_table",
    "sheet_names",
    "sheets_hint",
]

_CHUNK = 1 << 24
#: Bytes of a CSV file read and checked at a time by :func:`iter_tables`: small enough that
#: the chunks in flight (one read ahead, one checked, one written) stay a fraction of a
#: large file, large enough that pyarrow splits each over all cores.
CHUNK_BYTES = 1 << 22
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
    #: rows with a wrong number of fields: (line, text, fields found, fields expected)
    invalid: list[tuple[int, str, int, int]] = field(default_factory=list)
    #: how far into the file this table reaches, in bytes (for progress bars)
    bytes_read: int = 0

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
    >>> d = file_digest(Path("meuse/meuse.csv"))
    >>> len(d.sha256), d.utf8_error
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
                    path.name,
                    line,
                    None,
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
    # The encodings of survey files met in practice: Chinese national standard, Western
    # European. Big5 and the like are possible too, but must then be declared.
    best = from_bytes(sample, cp_isolation=["gb18030", "cp1252", "latin_1"]).best()
    if best is None:  # no clear winner: the first candidate that decodes the sample cleanly
        whole = sample if len(sample) < 1 << 20 else sample[: sample.rfind(b"\n") + 1]
        for candidate in ("gb18030", "cp1252"):
            try:
                whole.decode(candidate)
            except UnicodeDecodeError:
                continue
            return candidate
        line, offset, reason = digest.utf8_error
        raise RowError(
            path.name,
            line,
            None,
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


@dataclass(frozen=True)
class _CsvLayout:
    encoding: str
    delimiter: str
    names: list[str]
    units: dict[str, str]
    first_data_line: int
    data_offset: int


def _csv_layout(path: Path, source: Source, digest: FileDigest) -> _CsvLayout:
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
    names = [n.strip() for n in next(csv.reader([header_line], delimiter=delim))]
    _check_names(path, names, source.header_row)
    units: dict[str, str] = {}
    skip = source.header_row
    if source.units_row:
        if source.units_row != source.header_row + 1:
            raise InputFileError(f"{path.name}: units_row must follow the header row directly")
        if len(head) < source.units_row:
            raise EmptyFileError(f"{path.name}: no units line at line {source.units_row}")
        cells = next(csv.reader([head[source.units_row - 1]], delimiter=delim))
        units = {n: c.strip() for n, c in zip(names, cells, strict=False) if c.strip()}
        skip += 1
    offset = 0
    with open(path, "rb") as f:
        for _ in range(skip):
            line = f.readline()
            if not line:
                break
            offset += len(line)
    return _CsvLayout(encoding, delim, names, units, skip + 1, offset)


class _InvalidRows:
    """Collects rows whose field count differs from the header's."""

    def __init__(self) -> None:
        self.rows: list[tuple[int | None, str, int]] = []

    def __call__(self, row: object) -> str:
        self.rows.append((row.number, row.text, row.actual_columns))  # type: ignore[attr-defined]
        return "skip"


def _parse_chunk(
    buf: pa.Buffer,
    layout: _CsvLayout,
    source: Source,
    types: dict[str, pa.DataType],
    threads: bool,
) -> tuple[pa.Table, _InvalidRows]:
    while True:
        invalid = _InvalidRows()
        try:
            table = pacsv.read_csv(
                pa.BufferReader(buf),
                read_options=pacsv.ReadOptions(
                    encoding=layout.encoding
                    if layout.encoding not in ("utf-8", "utf-8-sig")
                    else "utf8",
                    column_names=layout.names,
                    use_threads=threads,
                    block_size=1 << 22,
                ),
                parse_options=pacsv.ParseOptions(
                    delimiter=layout.delimiter,
                    newlines_in_values=False,
                    ignore_empty_lines=False,
                    invalid_row_handler=invalid,
                ),
                convert_options=pacsv.ConvertOptions(
                    column_types=types,
                    null_values=list(source.missing),
                    strings_can_be_null=True,
                    quoted_strings_can_be_null=True,
                ),
            )
            return table, invalid
        except pa.ArrowInvalid as exc:
            m = _BAD_VALUE.search(str(exc))
            if not m:
                raise
            types[layout.names[int(m.group(1))]] = pa.string()  # mixed column: read as text


def iter_csv_chunks(
    path: Path,
    source: Source,
    digest: FileDigest | None = None,
    text_columns: frozenset[str] = frozenset(),
    chunk_bytes: int = 1 << 24,
) -> Iterator[RawTable]:
    """Read a CSV file in chunks of about ``chunk_bytes``, in bounded memory.

    Each chunk is parsed by pyarrow with all threads; column types come from the first
    chunk (a later chunk that does not fit reads that column as text). ``text_columns``
    are always read as text (ids keep their leading zeros). Blank lines are skipped;
    rows with a wrong number of fields are reported in ``RawTable.invalid``, with their
    line numbers.
    """
    digest = digest or file_digest(path)
    layout = _csv_layout(path, source, digest)
    types: dict[str, pa.DataType] = {n: pa.string() for n in layout.names if n in text_columns}
    line = layout.first_data_line
    first = True
    done = layout.data_offset
    for data in _line_blocks(path, layout.data_offset, chunk_bytes):
        done += len(data)
        n_lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
        buf = pa.py_buffer(data)
        try:
            table, invalid = _parse_chunk(buf, layout, source, dict(types), threads=True)
            if invalid.rows:  # only a single-threaded parse knows their line numbers
                table, invalid = _parse_chunk(buf, layout, source, dict(types), False)
        except pa.ArrowInvalid as exc:
            raise _csv_error(path, str(exc), line) from None
        if first:
            types.update(
                {
                    f.name: f.type
                    for f in table.schema
                    if not pa.types.is_null(f.type) and f.name not in types
                }
            )
            first = False
        bad_lines = [line + (num or 1) - 1 for num, _, _ in invalid.rows]
        lines = np.arange(line, line + n_lines, dtype=np.int64)
        if bad_lines:
            lines = lines[~np.isin(lines, bad_lines)]
        if len(lines) != table.num_rows:
            raise InputFileError(
                f"{path.name}: lines {line}-{line + n_lines - 1}: {table.num_rows} rows "
                f"parsed from {len(lines)} lines (quoted line breaks are not supported)"
            )
        blank = _blank_rows(table)
        if blank is not None:
            table = table.filter(pa.array(~blank))
            lines = lines[~blank]
        raw = RawTable(path, table, lines, layout.units, encoding=layout.encoding, bytes_read=done)
        raw.invalid = [
            (ln, text, n, len(layout.names))
            for ln, (_, text, n) in zip(bad_lines, invalid.rows, strict=True)
        ]
        yield raw
        line += n_lines


def _line_blocks(path: Path, offset: int, size: int) -> Iterator[bytes]:
    """Blocks of about ``size`` bytes from ``offset`` on, each ending at a line end.

    Plain reads, not a memory map: mapped pages of a large file would count against the
    process's memory as they are touched.
    """
    with open(path, "rb") as f:
        f.seek(offset)
        carry = b""
        while block := f.read(size):
            data = carry + block
            cut = data.rfind(b"\n")
            if cut < 0:
                carry = data
                continue
            carry = data[cut + 1 :]
            yield data[: cut + 1]
        if carry:
            yield carry


def _blank_rows(table: pa.Table) -> np.ndarray | None:
    """Rows where every cell is empty (blank lines), or None when there are none."""
    if table.num_rows == 0:
        return None
    blank = None
    for col in table.columns:
        nulls = col.is_null()
        blank = nulls if blank is None else pc.and_(blank, nulls)
        if not pc.any(blank).as_py():
            return None
    return None if blank is None else blank.to_numpy(zero_copy_only=False)


def _read_csv(path: Path, source: Source, digest: FileDigest) -> RawTable:
    chunks = list(iter_csv_chunks(path, source, digest))
    tables = [c.table for c in chunks]
    if not chunks or sum(t.num_rows for t in tables) == 0:
        raise EmptyFileError(f"{path.name}: the file has a header but no data rows")
    table = pa.concat_tables(tables, promote_options="permissive") if len(tables) > 1 else tables[0]
    raw = RawTable(
        path,
        table,
        np.concatenate([c.lines for c in chunks]),
        chunks[0].units,
        encoding=chunks[0].encoding,
    )
    raw.invalid = [r for c in chunks for r in c.invalid]
    return raw


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
                path.name,
                header_row,
                n,
                f"duplicate column name (columns {seen[n] + 1} and {i + 1})",
            )
        seen[n] = i


def _column_array(values: list[object]) -> pa.Array:
    """Numbers when every non-empty cell is a number, else text."""
    cleaned = [None if (v is None or v == "") else v for v in values]
    if all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in cleaned if v is not None
    ):
        return pa.array(cleaned, type=pa.float64())
    out: list[str | None] = []
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
        units = {
            n: str(c).strip() for n, c in zip(names, urow, strict=False) if c not in (None, "")
        }
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
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "csv",
    ".xls": "xls",
    ".xlsx": "xlsx",
    ".gpkg": "vector",
    ".shp": "vector",
    ".geojson": "vector",
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
    if fmt in ("xls", "xlsx"):
        return _rows_to_raw(p, excel_rows(p, source.sheet), source, "row")
    if fmt == "vector":
        return _read_vector(p, source)
    raise InputFileError(
        f"{p.name}: unknown file format {p.suffix!r}; use CSV, .xls, .xlsx, .gpkg or .shp"
    )


def iter_tables(
    path: str | Path,
    source: Source,
    digest: FileDigest | None = None,
    text_columns: frozenset[str] = frozenset(),
    chunk_bytes: int | None = None,
) -> Generator[RawTable, None, None]:
    """Read any survey file as a sequence of tables: CSV in chunks (of
    :data:`CHUNK_BYTES` unless ``chunk_bytes`` says otherwise), other formats whole."""
    chunk_bytes = chunk_bytes or CHUNK_BYTES
    p = Path(path)
    fmt = source.format if source.format != "auto" else _FORMATS.get(p.suffix.lower(), "")
    if fmt == "csv" and p.is_file():
        yield from iter_csv_chunks(p, source, digest, text_columns, chunk_bytes)
    else:
        yield read_table(p, source, digest)


def sniff_text(path: Path, n: int = 20) -> list[str]:
    """The first ``n`` lines of a text file (for ``chemearth describe``)."""
    digest = file_digest(path)
    enc = _guess_encoding(path, digest, "auto")
    return [ln.rstrip("\r\n") for ln in _head_lines(path, enc, n)]
