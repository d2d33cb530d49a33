"""Photos and videos of the embedded store: files under the store folder, a DuckDB table.

Layout::

    <home>/media/<id[:2]>/<id>/file          the file as uploaded
    <home>/media/<id[:2]>/<id>/thumbnail     its JPEG thumbnail
    <home>/media/<id[:2]>/<id>/poster        a video's JPEG poster frame
    catalog.duckdb: table ``media``          one row per item (:class:`MediaRecord`)

A write (:meth:`FileMedia.add`) holds the store's write lock: it writes every item's parts
to ``<home>/tmp/``, renames each item's folder into ``media/`` and then inserts every row
in one DuckDB transaction. Only items with a row are read, so a write that fails or is
killed at any point leaves the visible store as it was; folders without a row (of a
write killed between the renames and the commit) are removed by the next write.

Examples
--------
>>> import tempfile
>>> from chemearth.store import open_store
>>> from chemearth.store.media import MediaRecord, NewMedia
>>> store = open_store(Path(tempfile.mkdtemp()) / "store")
>>> media = store.site_media()
>>> rec = MediaRecord("0123456789abcdef0123", "jura", "2", "image", "image/jpeg", "2.jpg",
...                   3, "x", 1, 1)
>>> media.add([NewMedia(rec, {"file": b"abc", "thumbnail": b"t"})])
['0123456789abcdef0123']
>>> [r.sample_id for r in media.records("jura")], media.open(rec.media_id, "file").read()
(['2'], b'abc')
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import duckdb

from chemearth.errors import StoreError
from chemearth.store.embedded_writer import fault
from chemearth.store.media import (
    CHUNK_BYTES,
    MEDIA_PARTS,
    MediaBlob,
    MediaRecord,
    NewMedia,
    SiteMedia,
    check_media_id,
    record_filter,
)

__all__ = ["DDL", "FileBlob", "FileMedia"]

_TYPES = {"text": "VARCHAR", "bigint": "BIGINT", "integer": "INTEGER", "double": "DOUBLE",
          "timestamptz": "TIMESTAMP"}  # times are kept in UTC
#: The media table of the catalogue (created by the first write).
DDL = (
    "CREATE TABLE IF NOT EXISTS media ("
    + ", ".join(f"{n} {_TYPES[t]}" + (" PRIMARY KEY" if n == "media_id" else "")
                for n, t in MediaRecord.COLUMNS)
    + ")"
)
_COLUMNS = ", ".join(n for n, _ in MediaRecord.COLUMNS)

Connect = Callable[..., contextlib.AbstractContextManager[duckdb.DuckDBPyConnection]]


class FileBlob(MediaBlob):
    """A part kept as a file."""

    def __init__(self, path: Path, content_type: str) -> None:
        self._path = path
        self.content_type = content_type
        self.size = path.stat().st_size

    @property
    def path(self) -> Path | None:
        return self._path

    def chunks(self) -> Iterator[bytes]:
        with self._path.open("rb") as fh:
            while chunk := fh.read(CHUNK_BYTES):
                yield chunk


class FileMedia(SiteMedia):
    """The media of the embedded store at ``home``.

    Parameters
    ----------
    home : Path
        The store folder.
    write_lock : callable
        The store's write lock (a context manager), held by every write.
    connect : callable
        The store's catalogue connection (``connect(read_only=...)``, a context manager).
    read_only : bool
        Refuse writes.
    """

    def __init__(self, home: Path, write_lock: Callable[[], contextlib.AbstractContextManager[
                 None]], connect: Connect, read_only: bool = False) -> None:
        self.home = Path(home)
        self._lock = write_lock
        self._connect = connect
        self.read_only = read_only

    def _folder(self, mid: str) -> Path:
        return self.home / "media" / mid[:2] / mid

    def _writable(self) -> None:
        if self.read_only:
            raise StoreError(f"store {self.home} is open read-only")

    @staticmethod
    def _has_table(con: duckdb.DuckDBPyConnection) -> bool:
        row = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'media' "
                          "AND schema_name = 'main'").fetchone()
        return bool(row and row[0])

    # ------------------------------------------------------------------ writing

    def add(self, items: Sequence[NewMedia]) -> list[str]:
        self._writable()
        ids = [it.record.media_id for it in items]
        if len(set(ids)) != len(ids) or not all(check_media_id(i) for i in ids):
            raise StoreError("media ids must be unique and well formed")
        with self._lock():
            with self._connect() as con:
                con.execute(DDL)
                have = self._registered(con)
            self._sweep(have)
            todo = [it for it in items if it.record.media_id not in have]
            if todo:
                self._write(todo)
        return [it.record.media_id for it in todo]

    def _write(self, todo: list[NewMedia]) -> None:
        staging = self.home / "tmp" / f"media-{uuid.uuid4().hex}"
        moved: list[Path] = []
        try:
            for it in todo:
                folder = staging / it.record.media_id
                folder.mkdir(parents=True)
                for part, data in it.parts.items():
                    if isinstance(data, bytes):
                        (folder / part).write_bytes(data)
                    else:
                        shutil.copyfile(data, folder / part)
            fault("media-before-rename")
            for it in todo:
                final = self._folder(it.record.media_id)
                final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(staging / it.record.media_id, final)
                moved.append(final)
            with self._connect() as con:
                con.execute("BEGIN TRANSACTION")
                try:
                    fault("media-before-commit")
                    con.executemany(
                        f"INSERT INTO media ({_COLUMNS}) VALUES "
                        f"({', '.join('?' * len(MediaRecord.COLUMNS))})",
                        [_row(it.record) for it in todo])
                    con.execute("COMMIT")
                except BaseException:
                    with contextlib.suppress(Exception):
                        con.execute("ROLLBACK")
                    raise
        except BaseException:
            for f in moved:
                shutil.rmtree(f, ignore_errors=True)
            raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _registered(self, con: duckdb.DuckDBPyConnection) -> set[str]:
        return {str(r[0]) for r in con.execute("SELECT media_id FROM media").fetchall()}

    def _sweep(self, registered: set[str]) -> None:
        """Remove item folders without a row (a write killed before its commit)."""
        root = self.home / "media"
        if not root.exists():
            return
        for folder in root.glob("*/*"):
            if folder.name not in registered:
                shutil.rmtree(folder, ignore_errors=True)

    def delete(self, media_ids: Sequence[str]) -> int:
        self._writable()
        ids = [m for m in media_ids if check_media_id(m)]
        if not ids:
            return 0
        with self._lock():
            with self._connect() as con:
                if not self._has_table(con):
                    return 0
                con.execute("BEGIN TRANSACTION")
                row = con.execute("SELECT count(*) FROM media WHERE list_contains(?, media_id)",
                                  [ids]).fetchone()
                con.execute("DELETE FROM media WHERE list_contains(?, media_id)", [ids])
                con.execute("COMMIT")
            for m in ids:
                shutil.rmtree(self._folder(m), ignore_errors=True)
        return int(row[0]) if row else 0

    # ------------------------------------------------------------------ reading

    def records(self, dataset_id: str | None = None, sample_ids: Iterable[str] | None = None,
                media_ids: Iterable[str] | None = None) -> list[MediaRecord]:
        where, params = record_filter(dataset_id, sample_ids, media_ids,
                                      one_of="list_contains(?, {col})", param="?")
        with self._connect(read_only=True) as con:
            if not self._has_table(con):
                return []
            rows = con.execute(f"SELECT {_COLUMNS} FROM media WHERE {where}", params).fetchall()
        return sorted((MediaRecord.from_row(r) for r in rows), key=MediaRecord.sort_key)

    def open(self, media_id: str, part: str) -> MediaBlob | None:
        if part not in MEDIA_PARTS:
            return None
        rec = self.record(media_id)
        if rec is None:
            return None
        path = self._folder(media_id) / part
        try:
            return FileBlob(path, rec.content_type if part == "file" else "image/jpeg")
        except FileNotFoundError:
            return None


def _row(rec: MediaRecord) -> list[Any]:
    row = rec.row()
    created = rec.created_at
    row[-1] = created.astimezone(dt.UTC).replace(tzinfo=None) if created.tzinfo else created
    return row
