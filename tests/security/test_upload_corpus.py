"""Hardened uploads (issue 16): a corpus of bad uploads, each refused cleanly.

Every case of :data:`CORPUS` is one hostile or broken upload built in a temporary folder
from the real Meuse survey (``meuse/meuse.csv`` and its shipped descriptor). For each:

* the answer is the expected 4xx and its body names the problem (the file, row, column,
  descriptor field or limit at fault), with no traceback and no server path in it;
* the store directory is byte-identical afterwards: every regular file under it has the
  same SHA-256 (:func:`_snapshot`). Lock files are included: they are empty and only ever
  ``flock``-ed, never written, so they cannot differ. Directories are not compared: the
  writer's scratch folder ``tmp/`` may be created (empty) by an ingest that got as far as
  the write lock, and is emptied by the next writer anyway;
* the store's write lock is free, and a valid upload (a dozen Meuse rows) succeeds right
  after it, within a short time.

One site (store, app, tokens) is shared by the module: each case compares the store with
itself before and after, and the valid upload after each case writes a new version of
its own dataset, so the cases do not depend on each other's order.
"""

from __future__ import annotations

import concurrent.futures
import fcntl
import hashlib
import json
import re
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

ORG = "Geological Survey of Xanadu"
OTHER = "Geological Survey of Elsewhere"
#: The survey file limit of the test site (small, so the oversize case is cheap).
FILE_LIMIT = 2 * 1024 * 1024
#: Longest a valid upload may take after a bad one (a held lock would make it hang).
VALID_WITHIN_S = 60.0
#: Size of the sheet XML of the zip bomb (the size of the bomb of the issue).
BOMB_XML_BYTES = 150 * 1024 * 1024


# --------------------------------------------------------------------------- the site


@dataclass
class Site:
    """One store served in process, with tokens of every kind of actor."""

    home: Path
    client: Any
    tokens: dict[str, str]

    def post(self, up: Upload) -> Any:
        """POST ``up`` to ``/api/datasets`` as its actor."""
        files = {"file": up.file, "descriptor": up.descriptor}
        data = {"strict": "true"} if up.strict else {}
        headers = {}
        if up.actor != "anonymous":
            headers["Authorization"] = f"Bearer {self.tokens[up.actor]}"
        return self.client.post("/api/datasets", files=files, data=data, headers=headers)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, boundaries: Path, kit: Kit) -> Site:
    from fastapi.testclient import TestClient

    from chemearth.access.tokens import TokenStore
    from chemearth.store import open_store
    from chemearth.web import WebSettings, create_app

    home = tmp_path_factory.mktemp("corpus") / "store"
    store = open_store(home)
    tokens = TokenStore(store.home)
    keys = {
        "owner": tokens.create("xanadu-owner", "owner", organisation=ORG),
        "other": tokens.create("elsewhere-owner", "owner", organisation=OTHER),
        "public": tokens.create("reader", "public"),
        "bad-token": "ce_0123456789ab_" + "x" * 43,
    }
    settings = WebSettings(boundaries=boundaries, timeout_s=120, upload_max_bytes=FILE_LIMIT)
    client = TestClient(create_app(store, settings), raise_server_exceptions=False)
    site = Site(home, client, keys)
    # a dataset of another organisation, whose id the corpus then tries to take
    taken = Upload(("meuse.csv", kit.csv()), ("meuse.toml", kit.desc(id="taken-id", org=OTHER)),
                   actor="other")
    r = site.post(taken)
    assert r.status_code == 201, r.text
    return site


def _snapshot(home: Path) -> dict[str, bytes]:
    """SHA-256 of every regular file under ``home``, by path relative to it; the audit
    log's content itself (it records refused uploads too, and may only grow)."""
    from chemearth.access.audit import AUDIT_FILE

    out = {}
    for p in sorted(home.rglob("*")):
        if p.is_file():
            rel = str(p.relative_to(home))
            data = p.read_bytes()
            out[rel] = data if rel == AUDIT_FILE else hashlib.sha256(data).digest()
    return out


def _assert_unchanged_files(
    home: Path, before: dict[str, bytes], after: dict[str, bytes]
) -> None:
    """As :func:`_assert_unchanged`, on snapshots taken by the caller."""
    _compare(home, dict(before), dict(after))


def _assert_unchanged(home: Path, before: dict[str, bytes]) -> None:
    """Every file as it was, except the audit log, to which lines may only be appended,
    and the records of failed jobs."""
    _compare(home, before, _snapshot(home))


def _compare(home: Path, before: dict[str, bytes], after: dict[str, bytes]) -> None:
    from chemearth.access.audit import AUDIT_FILE

    log_before, log_after = before.pop(AUDIT_FILE, b""), after.pop(AUDIT_FILE, b"")
    assert log_after.startswith(log_before), "the audit log was rewritten"
    # the upload's job is kept as its record, failed, with its file removed
    new_jobs = {k.split("/")[1] for k in after.keys() - before.keys() if k.startswith("jobs/")}
    for job_id in new_jobs:
        state = json.loads((home / "jobs" / job_id / "job.json").read_text())["state"]
        assert state == "failed", f"job {job_id} of a bad upload is {state}"
        assert not any((home / "jobs" / job_id / "files").glob("*")), "its file was kept"
    after = {k: v for k, v in after.items() if not k.startswith("jobs/")}
    before = {k: v for k, v in before.items() if not k.startswith("jobs/")}
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert not changed, f"the store changed: {changed}"


def _assert_unlocked(home: Path) -> None:
    """The store's write lock can be taken at once (no ingest thread still holds it)."""
    with open(home / ".write.lock", "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pytest.fail("the store's write lock is still held after the upload was answered")
        fcntl.flock(fh, fcntl.LOCK_UN)


def _within(seconds: float, call: Callable[[], Any]) -> Any:
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    try:
        return pool.submit(call).result(timeout=seconds)
    except concurrent.futures.TimeoutError:
        pytest.fail(f"a valid upload took longer than {seconds:g} s: is the store locked?")
    finally:
        pool.shutdown(wait=False)


# --------------------------------------------------------------------------- building uploads


@dataclass(frozen=True)
class Upload:
    """One POST: the survey file and descriptor (name, bytes), the actor and strictness."""

    file: tuple[str, bytes]
    descriptor: tuple[str, bytes]
    actor: str = "owner"  # owner | other | public | anonymous | bad-token
    strict: bool = False


COLUMNS = ["x", "y", "cadmium", "copper", "lead", "zinc", "elev", "dist", "om", "ffreq",
           "soil", "lime", "landuse", "dist.m"]


@dataclass
class Kit:
    """The Meuse survey and its descriptor, and a folder to build large files in."""

    lines: list[str]
    descriptor: str
    work: Path
    cache: dict[str, bytes] = field(default_factory=dict)

    def csv(self, rows: slice = slice(None), cells: dict[tuple[int, str], str] | None = None,
            extra: list[str] | None = None) -> bytes:
        """The CSV with its data rows cut to ``rows``, ``cells[(line, column)]`` replaced
        (line as in the file: the header is line 1) and ``extra`` lines appended."""
        body = self.lines[1:][rows]
        out = [self.lines[0], *body]
        for (line, column), value in (cells or {}).items():
            fields = out[line - 1].split(",")
            fields[COLUMNS.index(column)] = value
            out[line - 1] = ",".join(fields)
        return ("\n".join(out + (extra or [])) + "\n").encode()

    def desc(self, id: str = "corpus-bad", org: str = ORG,
             edit: Callable[[str], str] | None = None) -> bytes:
        """The shipped Meuse descriptor under ``id`` for ``org``, then ``edit``-ed."""
        text = self.descriptor.replace('id = "meuse"', f'id = "{id}"')
        text = re.sub(r'organisation = ".*"', f'organisation = "{org}"', text)
        return (edit(text) if edit else text).encode()

    def valid(self, n: int) -> Upload:
        """A small valid upload, different for every ``n`` (a new version each time)."""
        start = 1 + (7 * n) % 120
        return Upload(("valid.csv", self.csv(slice(start, start + 12))),
                      ("valid.toml", self.desc(id="corpus-valid")))

    def bomb(self) -> bytes:
        """An .xlsx whose sheet XML inflates to :data:`BOMB_XML_BYTES` (built once)."""
        if "bomb" not in self.cache:
            path = self.work / "bomb.xlsx"
            _write_xlsx(path, _bomb_rows(BOMB_XML_BYTES))
            self.cache["bomb"] = path.read_bytes()
        return self.cache["bomb"]


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Kit:
    from chemearth.ingest.shipped import shipped_descriptor

    lines = (data_dir / "meuse" / "meuse.csv").read_text(encoding="utf-8").splitlines()
    text = shipped_descriptor("meuse").read_text(encoding="utf-8")
    return Kit(lines, text, tmp_path_factory.mktemp("corpus-files"))


_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
)
_SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
)
_SHEET_TAIL = "</sheetData></worksheet>"


def _write_xlsx(path: Path, rows: Iterator[str]) -> None:
    """A minimal .xlsx whose sheet XML is streamed from ``rows`` (never held whole)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", _CONTENT_TYPES)
        z.writestr("_rels/.rels", _RELS)
        z.writestr("xl/workbook.xml", _WORKBOOK)
        z.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(_SHEET_HEAD.encode())
            block: list[str] = []
            for row in rows:
                block.append(row)
                if len(block) == 4096:
                    sheet.write("".join(block).encode())
                    block = []
            sheet.write(("".join(block) + _SHEET_TAIL).encode())


def _inline_row(r: int, values: list[object]) -> str:
    cells = []
    for j, v in enumerate(values):
        ref = f"{chr(65 + j)}{r}"
        if isinstance(v, str):
            cells.append(f'<c r="{ref}" t="inlineStr"><is><t>{v}</t></is></c>')
        else:
            cells.append(f'<c r="{ref}"><v>{v}</v></c>')
    return f'<row r="{r}">{"".join(cells)}</row>'


def _bomb_rows(size: int) -> Iterator[str]:
    """A header, then the same row (without its optional row and cell references, so
    that it compresses about 280 times) over and over until ``size`` bytes of XML."""
    yield _inline_row(1, ["x", "y", "zinc"])
    text = "<row><c><v>181072</v></c><c><v>333611</v></c><c><v>1022</v></c></row>"
    for _ in range(size // len(text) + 1):
        yield text


def _small_xlsx(kit: Kit, name: str, rows: list[list[object]]) -> bytes:
    path = kit.work / name
    _write_xlsx(path, (_inline_row(i + 1, r) for i, r in enumerate(rows)))
    return path.read_bytes()


def _lying_xlsx(kit: Kit) -> bytes:
    """An .xlsx whose zip directory understates the sheet's size (1 KiB, for 4 MiB)."""
    if "lying" not in kit.cache:
        path = kit.work / "lying.xlsx"
        _write_xlsx(path, _bomb_rows(4 * 1024 * 1024))
        data = bytearray(path.read_bytes())
        with zipfile.ZipFile(path) as z:
            info = z.getinfo("xl/worksheets/sheet1.xml")
        small = (1024).to_bytes(4, "little")
        # local header: uncompressed size at offset 22 (the zip64 extra field keeps the real
        # one, so patch the central directory, which is what readers trust)
        for m in re.finditer(rb"PK\x01\x02", bytes(data)):
            start = m.start()
            name_len = int.from_bytes(data[start + 28:start + 30], "little")
            if bytes(data[start + 46:start + 46 + name_len]) == info.filename.encode():
                data[start + 24:start + 28] = small
                extra_len = int.from_bytes(data[start + 30:start + 32], "little")
                extra = start + 46 + name_len
                _patch_zip64(data, extra, extra + extra_len, small)
        kit.cache["lying"] = bytes(data)
    return kit.cache["lying"]


def _patch_zip64(data: bytearray, start: int, end: int, small: bytes) -> None:
    """Shrink the uncompressed size in a zip64 extra field, where there is one."""
    i = start
    while i + 4 <= end:
        tag = int.from_bytes(data[i:i + 2], "little")
        size = int.from_bytes(data[i + 2:i + 4], "little")
        if tag == 1 and size >= 8:
            data[i + 4:i + 12] = int.from_bytes(small, "little").to_bytes(8, "little")
        i += 4 + size


def _set(section: str, line: str) -> Callable[[str], str]:
    """An edit that adds ``line`` at the top of ``[section]``."""
    return lambda t: t.replace(f"[{section}]\n", f"[{section}]\n{line}\n", 1)


def _sub(old: str, new: str) -> Callable[[str], str]:
    def edit(t: str) -> str:
        assert old in t, old
        return t.replace(old, new, 1)

    return edit


def _with_ids(kit: Kit) -> bytes:
    """The first ten rows with an ``id`` column, in which S3 appears twice."""
    ids = ["S1", "S2", "S3", "S3", "S5", "S6", "S7", "S8", "S9", "S10"]
    out = ["id," + kit.lines[0]] + [f"{i},{ln}" for i, ln in zip(ids, kit.lines[1:11],
                                                                  strict=True)]
    return ("\n".join(out) + "\n").encode()


def _oversize(kit: Kit) -> bytes:
    body = kit.lines[1:] * (FILE_LIMIT // len("\n".join(kit.lines)) + 2)
    data = ("\n".join([kit.lines[0], *body]) + "\n").encode()
    assert len(data) > FILE_LIMIT
    return data


def _oversize_descriptor(kit: Kit) -> bytes:
    """A comment of more than 1 MiB before ``sharing = "restricted"``: a reader that
    stopped at 1 MiB would publish the dataset."""
    comment = "# " + "notes on the survey " * 60_000 + "\n"
    return kit.desc(edit=_sub('sharing = "public"\n', comment + 'sharing = "restricted"\n'))


def _latin1(kit: Kit) -> bytes:
    text = kit.csv(slice(0, 10), cells={(5, "landuse"): "Prairie_\u00e9t\u00e9"}).decode()
    return text.encode("latin-1")


# --------------------------------------------------------------------------- the corpus


@dataclass(frozen=True)
class Case:
    """One bad upload, the status expected and what the answer's body must name."""

    id: str
    make: Callable[[Kit], Upload]
    status: int
    names: tuple[str, ...]
    slow: bool = False


def _up(file: Callable[[Kit], bytes] | None = None, *, name: str = "meuse.csv",
        desc: Callable[[Kit], bytes] | None = None, actor: str = "owner",
        strict: bool = False) -> Callable[[Kit], Upload]:
    def make(kit: Kit) -> Upload:
        data = file(kit) if file else kit.csv()
        d = desc(kit) if desc else kit.desc()
        return Upload((name, data), ("meuse.toml", d), actor=actor, strict=strict)

    return make


def _d(edit: Callable[[str], str]) -> Callable[[Kit], bytes]:
    return lambda kit: kit.desc(edit=edit)


NOT_FINITE = "not a finite number"
CORPUS = [
    # ---- the descriptor
    Case("descriptor-truncated",
         _up(desc=lambda k: k.desc()[: k.desc().index(b"title") + 20]),
         422, ("meuse.toml", "not valid TOML")),
    Case("descriptor-over-1MiB-comment-before-sharing",
         _up(desc=_oversize_descriptor), 413, ("meuse.toml", "1,048,576 bytes")),
    Case("descriptor-not-utf8",
         _up(desc=lambda k: k.desc(edit=_sub("Meuse river", "Meuse rivi\u00e8re"))
             .decode().encode("latin-1")),
         422, ("meuse.toml", "UTF-8")),
    Case("descriptor-invalid-toml",
         _up(desc=lambda k: b"[dataset\nid = meuse\n"), 422, ("meuse.toml", "not valid TOML")),
    Case("descriptor-empty", _up(desc=lambda k: b""), 422, ("[dataset] section is required",)),
    Case("descriptor-missing-id", _up(desc=_d(_sub('id = "corpus-bad"\n', ""))),
         422, ("meuse.toml", "'id' is required")),
    Case("descriptor-no-columns",
         _up(desc=_d(lambda t: t[: t.index("[columns]")])), 422, ("no analyte columns",)),
    Case("descriptor-unknown-key", _up(desc=_d(_set("dataset", 'sharingg = "public"'))),
         422, ("meuse.toml", "sharingg")),
    Case("descriptor-unknown-element", _up(desc=_d(_sub('cadmium = "Cd"', 'cadmium = "Cx"'))),
         422, ("[columns].cadmium", "Cx")),
    Case("descriptor-column-not-in-file", _up(desc=_d(_sub('zinc = "Zn"', 'zink = "Zn"'))),
         422, ("meuse.csv", "zink")),
    Case("descriptor-unknown-crs", _up(desc=_d(_sub("EPSG:28992", "EPSG:999999"))),
         422, ("[coordinates].crs", "EPSG:999999")),
    Case("descriptor-bad-sharing",
         _up(desc=_d(_sub('sharing = "public"', 'sharing = "everyone"'))),
         422, ("[dataset].sharing", "everyone")),
    Case("descriptor-non-finite-detection-limit",
         _up(desc=_d(_sub('zinc = "Zn"', 'zinc = { element = "Zn", detection_limit = inf }'))),
         422, ("[columns].zinc", "detection_limit", NOT_FINITE)),
    # ---- paths in the descriptor: never opened, whether they exist or not
    Case("limits-file-absolute", _up(desc=_d(_set("censoring", 'limits_file = "/etc/passwd"'))),
         422, ("[censoring].limits_file", "/etc/passwd", "same upload")),
    Case("limits-file-parent", _up(desc=_d(_set("censoring", 'limits_file = "../../x.csv"'))),
         422, ("[censoring].limits_file", "same upload")),
    Case("limits-file-is-the-survey",
         _up(desc=_d(_set("censoring", 'limits_file = "meuse.csv"'))),
         422, ("[censoring].limits_file", "same upload")),
    Case("flag-file-absolute",
         _up(desc=_d(_sub('encoding = "none"',
                          'encoding = "flag_file"\nflag_file = "/etc/passwd"'))),
         422, ("[censoring].flag_file", "same upload")),
    Case("flag-file-parent",
         _up(desc=_d(_sub('encoding = "none"',
                          'encoding = "flag_file"\nflag_file = "../meuse/meuse.csv"'))),
         422, ("[censoring].flag_file", "same upload")),
    Case("source-path-absolute", _up(desc=_d(_sub('"meuse/meuse.csv"', '"/etc/passwd"'))),
         422, ("[source].path", "same upload")),
    Case("source-path-parent",
         _up(desc=_d(_sub('"meuse/meuse.csv"', '"../../../etc/passwd"'))),
         422, ("[source].path", "same upload")),
    # ---- who uploads
    Case("descriptor-of-another-organisation", _up(desc=lambda k: k.desc(org=OTHER)),
         403, ("organisation", OTHER)),
    Case("id-taken-by-another-organisation", _up(desc=lambda k: k.desc(id="taken-id")),
         403, ("taken-id", "taken")),
    Case("public-token", _up(actor="public"), 403, ("data owner",)),
    Case("anonymous", _up(actor="anonymous"), 403, ("data owner",)),
    Case("invalid-token", _up(actor="bad-token"), 401, ("invalid or revoked",)),
    # ---- the survey file as a whole
    Case("file-over-the-limit", _up(_oversize), 413, ("meuse.csv", f"{FILE_LIMIT:,} bytes")),
    Case("empty-file", _up(lambda k: b""), 422, ("meuse.csv", "empty")),
    Case("header-only", _up(lambda k: k.csv(slice(0, 0))), 422, ("meuse.csv", "no data rows")),
    Case("csv-with-nul-bytes",
         _up(lambda k: k.csv(slice(0, 10)).replace(b"Ah", b"A\x00h")), 422,
         ("meuse.csv", "NUL bytes")),
    Case("csv-declared-utf8-but-latin1",
         _up(_latin1, desc=_d(_set("source", 'encoding = "utf-8"'))),
         422, ("meuse.csv", '"row":5', "not UTF-8")),
    Case("duplicate-column-names",
         _up(lambda k: k.csv(slice(0, 10)).replace(b",lead,", b",copper,", 1)),
         422, ("meuse.csv", '"row":1', "duplicate column name")),
    Case("unknown-file-format", _up(lambda k: k.csv(), name="meuse.exe"), 422,
         ("meuse.exe", "unknown file format")),
    Case("geopackage-that-is-not-one", _up(lambda k: k.csv(), name="meuse.gpkg"), 422,
         ("meuse.gpkg", "not a readable vector file")),
    # ---- spreadsheets
    Case("xlsx-zip-bomb", _up(lambda k: k.bomb(), name="bomb.xlsx"), 413,
         ("bomb.xlsx", "xl/worksheets/sheet1.xml", "compression ratio"), slow=True),
    Case("xlsx-lying-zip-directory", _up(_lying_xlsx, name="lying.xlsx"), 422,
         ("lying.xlsx", "not a readable .xlsx")),
    Case("xlsx-not-a-zip", _up(lambda k: k.csv(), name="meuse.xlsx"), 422,
         ("meuse.xlsx", "not a readable .xlsx")),
    Case("xlsx-header-only",
         _up(lambda k: _small_xlsx(k, "head.xlsx", [COLUMNS]), name="head.xlsx"), 422,
         ("head.xlsx", "no data rows")),
    Case("xlsx-unknown-sheet",
         _up(lambda k: _small_xlsx(k, "sheet.xlsx", [COLUMNS, list(range(14))]),
             name="sheet.xlsx", desc=_d(_set("source", 'sheet = "Results"'))),
         422, ("sheet.xlsx", "no sheet 'Results'")),
    # ---- rows (strict: one bad row rejects the whole file)
    Case("non-finite-values-strict",
         _up(lambda k: k.csv(cells={(2, "cadmium"): "inf", (3, "copper"): "-inf",
                                    (4, "lead"): "nan", (5, "zinc"): "1e400"}), strict=True),
         422, (NOT_FINITE, '"row":2,"column":"cadmium"', '"row":3,"column":"copper"',
               '"row":4,"column":"lead"', '"row":5,"column":"zinc"')),
    Case("every-row-non-finite",
         _up(lambda k: k.csv(slice(0, 5), cells={(r, "zinc"): "Infinity" for r in range(2, 7)})),
         422, ("every one of the 5 rows", NOT_FINITE, '"column":"zinc"')),
    Case("coordinate-non-finite-strict",
         _up(lambda k: k.csv(cells={(3, "x"): "inf"}), strict=True),
         422, ('"row":3,"column":"x"', NOT_FINITE)),
    Case("coordinates-far-outside-the-country-strict",
         _up(lambda k: k.csv(cells={(6, "x"): "1e15", (6, "y"): "-1e15"}), strict=True),
         422, ('"row":6', "outside the declared country NL")),
    Case("duplicate-sample-ids-strict",
         _up(_with_ids, desc=_d(_set("sample", 'id = "id"')), strict=True),
         422, ('"row":4', "duplicate sample id 'S3'")),
    Case("value-not-a-number-strict",
         _up(lambda k: k.csv(cells={(7, "zinc"): "lots"}), strict=True),
         422, ('"row":7,"column":"zinc"', "not a number")),
    Case("negative-value-strict",
         _up(lambda k: k.csv(cells={(8, "lead"): "-5"}), strict=True),
         422, ('"row":8,"column":"lead"', "negative value")),
    Case("row-with-too-many-fields-strict",
         _up(lambda k: k.csv(slice(0, 20), extra=[k.lines[3] + ",1,2"]), strict=True),
         422, ('"row":22', "fields where the header has 14")),
]


def _params() -> list[Any]:
    return [pytest.param(c, id=c.id, marks=[pytest.mark.slow] if c.slow else [])
            for c in CORPUS]


def test_the_corpus_is_large_and_its_ids_unique() -> None:
    assert len(CORPUS) >= 30
    assert len({c.id for c in CORPUS}) == len(CORPUS)


@pytest.mark.parametrize("case", _params())
def test_a_bad_upload_is_refused_and_leaves_the_store_as_it_was(
    site: Site, kit: Kit, case: Case
) -> None:
    upload = case.make(kit)
    before = _snapshot(site.home)
    r = site.post(upload)
    assert r.status_code == case.status, r.text[:2000]
    body = r.text
    for name in case.names:
        assert name in body, f"{name!r} not named in {body[:2000]}"
    assert "detail" in r.json()
    assert "Traceback" not in body
    assert str(site.home) not in body
    assert "/tmp/" not in body
    _assert_unchanged(site.home, before)
    _assert_unlocked(site.home)
    ok = _within(VALID_WITHIN_S, lambda: site.post(kit.valid(CORPUS.index(case))))
    assert ok.status_code == 201, ok.text[:2000]


# --------------------------------------------------------------------------- the new rules


def test_a_path_in_an_uploaded_descriptor_does_not_reveal_whether_it_exists(
    site: Site, kit: Kit
) -> None:
    answers = []
    for path in ("/etc/passwd", "/etc/no-such-file-here", "../../etc/passwd", "../../nope"):
        up = _up(desc=_d(_set("censoring", f'limits_file = "{path}"')))(kit)
        r = site.post(up)
        assert r.status_code == 422
        answers.append(r.json()["detail"].replace(path, "<path>"))
    assert len(set(answers)) == 1, answers


def test_an_upload_without_sharing_is_restricted_to_its_organisation(
    site: Site, kit: Kit
) -> None:
    desc = kit.desc(id="corpus-default-sharing", edit=_sub('sharing = "public"\n', ""))
    r = site.post(Upload(("meuse.csv", kit.csv(slice(0, 20))), ("meuse.toml", desc)))
    assert r.status_code == 201, r.text
    assert r.json()["policy"] == {
        "sharing": "restricted", "sharing_organisations": [], "embargoed_elements": [],
    }
    ids = [d["dataset_id"] for d in site.client.get("/api/datasets").json()["datasets"]]
    assert "corpus-default-sharing" not in ids  # anonymous: not even listed
    owner = {"Authorization": f"Bearer {site.tokens['owner']}"}
    mine = site.client.get("/api/datasets", headers=owner).json()["datasets"]
    assert "corpus-default-sharing" in [d["dataset_id"] for d in mine]


def test_the_effective_policy_of_an_explicit_descriptor_is_echoed(site: Site, kit: Kit) -> None:
    desc = kit.desc(id="corpus-aggregated", edit=_sub(
        'sharing = "public"\n',
        'sharing = "aggregated"\nsharing_organisations = ["NGU"]\nembargoed_elements = ["Cd"]\n'))
    r = site.post(Upload(("meuse.csv", kit.csv(slice(0, 20))), ("meuse.toml", desc)))
    assert r.status_code == 201, r.text
    assert r.json()["policy"] == {
        "sharing": "aggregated", "sharing_organisations": ["NGU"], "embargoed_elements": ["Cd"],
    }


def test_non_finite_rows_are_rejected_and_the_rest_stored(site: Site, kit: Kit) -> None:
    from chemearth.store import open_store

    cells = {(2, "cadmium"): "inf", (3, "copper"): "-inf", (4, "lead"): "NaN",
             (5, "zinc"): "1e400"}
    desc = kit.desc(id="corpus-non-finite")
    r = site.post(Upload(("meuse.csv", kit.csv(slice(0, 30), cells=cells)), ("meuse.toml", desc)))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["n_samples"] == 26
    got = {(x["row"], x["column"]) for x in body["rejects"]}
    assert got == {(2, "cadmium"), (3, "copper"), (4, "lead"), (5, "zinc")}
    assert all(NOT_FINITE in x["reason"] for x in body["rejects"])
    stored = open_store(site.home, read_only=True).measurements("corpus-non-finite")
    assert stored["value"].notna().all()
    assert len(stored) == 26 * 4


def test_an_upload_over_the_limit_leaves_no_temporary_file_behind(
    site: Site, kit: Kit, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # the route's and Starlette's
    for up in (_up(_oversize)(kit), _up(desc=_oversize_descriptor)(kit)):
        assert site.post(up).status_code == 413
        assert list(scratch.iterdir()) == []


# --------------------------------------------------------------------------- the time limit


#: The time limit of requests to the hurried site: longer than a small upload's ingest.
HURRIED_S = 2.5


@pytest.fixture
def hurried(tmp_path: Path, boundaries: Path) -> Iterator[Site]:
    """A site of its own whose requests may last :data:`HURRIED_S` seconds."""
    from fastapi.testclient import TestClient

    from chemearth.access.tokens import TokenStore
    from chemearth.store import open_store
    from chemearth.web import WebSettings, create_app

    store = open_store(tmp_path / "store")
    owner = TokenStore(store.home).create("xanadu-owner", "owner", organisation=ORG)
    app = create_app(store, WebSettings(boundaries=boundaries, timeout_s=HURRIED_S))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Site(store.home, client, {"owner": owner})


def _slowly(seconds: float, fn: Callable[..., Any]) -> Callable[..., Any]:
    def slow(*args: Any, **kwargs: Any) -> Any:
        time.sleep(seconds)
        return fn(*args, **kwargs)

    return slow


def _wait_unlocked(home: Path, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with open(home / ".write.lock", "a") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                time.sleep(0.1)
                continue
            fcntl.flock(fh, fcntl.LOCK_UN)
            return
    pytest.fail("the store's write lock was never released")


def _job_ended(site: Site, url: str, seconds: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job = site.client.get(url, headers={"Authorization": f"Bearer {site.tokens['owner']}"})
        assert job.status_code == 200, job.text
        if job.json()["state"] in ("done", "failed"):
            return dict(job.json())
        time.sleep(0.1)
    pytest.fail(f"job {url} did not end in {seconds} s")


def test_an_upload_out_of_time_is_a_job_published_only_with_its_layers(
    hurried: Site, kit: Kit, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chemearth.grid import layers
    from chemearth.store import open_store

    # the grid layers take longer than the site's time limit
    monkeypatch.setattr(layers, "build_layers", _slowly(HURRIED_S + 1.5, layers.build_layers))
    r = hurried.post(kit.valid(1))
    assert r.status_code == 202, r.text  # accepted: the job goes on
    url = r.headers["Location"]
    assert r.json()["url"] == url
    assert r.json()["state"] in ("queued", "running")
    store = open_store(hurried.home, read_only=True)
    assert store.datasets().empty, "the version is visible before its layers are built"
    job = _job_ended(hurried, url)
    assert job["state"] == "done", job
    ds = job["result"]["dataset_id"]
    assert store.datasets()["dataset_id"].tolist() == [ds]
    assert ds in set(store.cell_versions()["dataset_id"]), "published without its layers"
    assert store.unpublished().empty


def test_an_upload_whose_layers_fail_publishes_nothing_and_a_retry_repairs_it(
    hurried: Site, kit: Kit, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chemearth.errors import GridError
    from chemearth.grid import layers
    from chemearth.store import open_store

    real = layers.build_layers

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise GridError("the grid builder broke down")

    monkeypatch.setattr(layers, "build_layers", broken)
    store = open_store(hurried.home, read_only=True)
    catalogue = store.datasets(all_versions=True)
    # the version was committed unpublished, then discarded: the catalogue file was
    # written, so compare what it holds, and every other file byte for byte
    before = {k: v for k, v in _snapshot(hurried.home).items() if "catalog.duckdb" not in k}
    r = hurried.post(kit.valid(2))
    assert r.status_code == 422, r.text
    assert "the grid builder broke down" in r.json()["detail"]
    after = {k: v for k, v in _snapshot(hurried.home).items() if "catalog.duckdb" not in k}
    _assert_unchanged_files(hurried.home, before, after)
    pd.testing.assert_frame_equal(store.datasets(all_versions=True), catalogue)
    assert store.unpublished().empty
    assert store.cell_versions().empty
    monkeypatch.setattr(layers, "build_layers", real)
    again = hurried.post(kit.valid(2))  # the same file: the retry publishes it whole
    assert again.status_code == 201, again.text
    assert again.json()["status"] == "ingested"
    assert set(store.datasets()["dataset_id"]) == {again.json()["dataset_id"]}
