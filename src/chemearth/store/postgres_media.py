"""Photos and videos of the PostgreSQL store (see :mod:`chemearth.store.media`).

Records live in ``chemearth.media`` and the parts (the file, its thumbnail, a video's
poster frame) in ``chemearth.media_parts`` as chunks of :data:`~chemearth.store.media.
CHUNK_BYTES` of ``bytea`` (stored uncompressed: photos and videos are compressed
already), so a part is read, and served, one chunk at a time. A write inserts every
item's record and chunks in one transaction: all items or none. Like every table of the
schema, these are not granted to the desktop readers' role.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from psycopg import Connection as PgConnection

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
from chemearth.store.postgres_common import SCHEMA, Pool, sql

__all__ = ["MIGRATION", "PgMedia"]

_TYPES = {"text": 'text COLLATE "C"', "bigint": "bigint", "integer": "integer",
          "double": "double precision", "timestamptz": "timestamptz"}
_COLUMNS = ", ".join(n for n, _ in MediaRecord.COLUMNS)

#: The schema change that adds the tables (appended to the store's migrations).
MIGRATION = (
    "photos and videos attached to samples",
    [
        f"CREATE TABLE {SCHEMA}.media ("
        + ", ".join(f"{n} {_TYPES[t]}" + (" PRIMARY KEY" if n == "media_id" else " NOT NULL"
                                          if t in ("text", "bigint", "timestamptz") else "")
                    for n, t in MediaRecord.COLUMNS)
        + ")",
        f"CREATE INDEX media_by_sample ON {SCHEMA}.media (dataset_id, sample_id)",
        f"""CREATE TABLE {SCHEMA}.media_parts (
            media_id text COLLATE "C" NOT NULL
                REFERENCES {SCHEMA}.media (media_id) ON DELETE CASCADE,
            part text COLLATE "C" NOT NULL, seq integer NOT NULL, data bytea NOT NULL,
            PRIMARY KEY (media_id, part, seq))""",
        f"ALTER TABLE {SCHEMA}.media_parts ALTER COLUMN data SET STORAGE EXTERNAL",
    ],
)


class PgBlob(MediaBlob):
    """A part kept as chunks; each chunk is read by its own short query."""

    def __init__(self, pool: Pool[PgConnection], media_id: str, part: str, size: int,
                 n_chunks: int, content_type: str,
                 errors: Callable[[], contextlib.AbstractContextManager[None]]) -> None:
        self._pool, self._id, self._part = pool, media_id, part
        self._n, self._errors = n_chunks, errors
        self.size = size
        self.content_type = content_type

    def chunks(self) -> Iterator[bytes]:
        for seq in range(self._n):
            with self._errors(), self._pool.connection() as conn:
                row = conn.execute(
                    sql(f"SELECT data FROM {SCHEMA}.media_parts WHERE media_id = %s "
                        "AND part = %s AND seq = %s"), [self._id, self._part, seq]).fetchone()
            if row is None:
                raise StoreError(f"media {self._id}: part {self._part} was removed while read")
            yield bytes(row[0])


class PgMedia(SiteMedia):
    """The media of a PostgreSQL store.

    Parameters
    ----------
    pool : Pool
        The store's psycopg connections.
    errors : callable
        The store's error translation (a context manager).
    writable : callable
        Raises when the store is read-only.
    """

    def __init__(self, pool: Pool[PgConnection],
                 errors: Callable[[], contextlib.AbstractContextManager[None]],
                 writable: Callable[[], None]) -> None:
        self._pool = pool
        self._errors = errors
        self._writable = writable

    def add(self, items: Sequence[NewMedia]) -> list[str]:
        self._writable()
        ids = [it.record.media_id for it in items]
        if len(set(ids)) != len(ids) or not all(check_media_id(i) for i in ids):
            raise StoreError("media ids must be unique and well formed")
        stored: list[str] = []
        with self._errors(), self._pool.connection() as conn, conn.transaction():
            for mid in sorted(ids):  # the same order in every writer: no deadlock
                conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"media:{mid}"])
            have = {str(r[0]) for r in conn.execute(
                sql(f"SELECT media_id FROM {SCHEMA}.media WHERE media_id = ANY(%s)"),
                [ids]).fetchall()}
            marks = ", ".join(["%s"] * len(MediaRecord.COLUMNS))
            for it in items:
                rec = it.record
                if rec.media_id in have:
                    continue
                conn.execute(sql(f"INSERT INTO {SCHEMA}.media ({_COLUMNS}) VALUES ({marks})"),
                             rec.row())
                with conn.cursor().copy(sql(
                        f"COPY {SCHEMA}.media_parts (media_id, part, seq, data) FROM STDIN"
                )) as copy:
                    for part, data in it.parts.items():
                        for seq, chunk in enumerate(_chunks(data)):
                            copy.write_row((rec.media_id, part, seq, chunk))
                stored.append(rec.media_id)
            fault("media-before-commit")
        return stored

    def delete(self, media_ids: Sequence[str]) -> int:
        self._writable()
        ids = [m for m in media_ids if check_media_id(m)]
        if not ids:
            return 0
        with self._errors(), self._pool.connection() as conn, conn.transaction():
            cur = conn.execute(sql(f"DELETE FROM {SCHEMA}.media WHERE media_id = ANY(%s)"),
                               [ids])
            return int(cur.rowcount or 0)

    def records(self, dataset_id: str | None = None, sample_ids: Iterable[str] | None = None,
                media_ids: Iterable[str] | None = None) -> list[MediaRecord]:
        where, params = record_filter(dataset_id, sample_ids, media_ids,
                                      one_of="{col} = ANY(%s)", param="%s")
        with self._errors(), self._pool.connection() as conn:
            rows = conn.execute(sql(f"SELECT {_COLUMNS} FROM {SCHEMA}.media WHERE {where}"),
                                params).fetchall()
        return sorted((MediaRecord.from_row(r) for r in rows), key=MediaRecord.sort_key)

    def open(self, media_id: str, part: str) -> MediaBlob | None:
        if part not in MEDIA_PARTS or not check_media_id(media_id):
            return None
        with self._errors(), self._pool.connection() as conn:
            row = conn.execute(
                sql(f"SELECT m.content_type, count(p.seq), coalesce(sum(length(p.data)), 0) "
                    f"FROM {SCHEMA}.media m JOIN {SCHEMA}.media_parts p USING (media_id) "
                    "WHERE media_id = %s AND p.part = %s GROUP BY m.content_type"),
                [media_id, part]).fetchone()
        if row is None:
            return None
        ctype = str(row[0]) if part == "file" else "image/jpeg"
        return PgBlob(self._pool, media_id, part, int(row[2]), int(row[1]), ctype,
                      self._errors)


def _chunks(data: Path | bytes) -> Iterator[bytes]:
    if isinstance(data, bytes):
        for i in range(0, max(len(data), 1), CHUNK_BYTES):
            yield data[i:i + CHUNK_BYTES]
        return
    with Path(data).open("rb") as fh:
        first = True
        while (chunk := fh.read(CHUNK_BYTES)) or first:
            first = False
            yield chunk
