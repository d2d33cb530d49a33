"""Photos and videos attached to samples: what the store keeps, and its interface.

Each *media item* is one file (a photo or a video) attached to one sample of a dataset
by sample id, with a JPEG thumbnail and, for a video, a JPEG poster frame: three *parts*
(:data:`MEDIA_PARTS`) and one :class:`MediaRecord`. Items belong to a dataset and a sample
id, not to a version: a new version of the dataset keeps them (the access layer shows
those whose sample the latest version still has, :mod:`chemearth.access.media`).

A media id is the first 20 hex digits of the SHA-256 of the dataset id, the sample id
and the file's bytes (:func:`media_id`), so the same file attached twice to the same
sample is one item, and both store backends give it the same id.

Backends: :class:`chemearth.store.media_files.FileMedia` (the embedded store: files under
``<home>/media/`` and a DuckDB table) and :class:`chemearth.store.postgres_media.PgMedia`
(PostgreSQL: a table and the parts as chunks of ``bytea``); one parametrised test suite
runs on both (``tests/store/test_media_store.py``).

Examples
--------
>>> media_id("jura", "2", b"\\xff\\xd8\\xff")
'0ec8acf09867028d150c'
"""

from __future__ import annotations

import abc
import datetime as dt
import hashlib
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from chemearth.errors import StoreError

__all__ = [
    "CHUNK_BYTES",
    "MEDIA_PARTS",
    "MediaBlob",
    "MediaRecord",
    "NewMedia",
    "SiteMedia",
    "check_media_id",
    "media_id",
    "record_filter",
]

#: The parts of a media item: the file as uploaded, its thumbnail, a video's poster frame.
MEDIA_PARTS = ("file", "thumbnail", "poster")
#: Bytes per chunk when a part is read (and stored, by the server backend).
CHUNK_BYTES = 1 << 20
_ID = re.compile(r"^[0-9a-f]{20}$")


def media_id(dataset_id: str, sample_id: str, content: bytes | Iterable[bytes]) -> str:
    """The id of a media item: a hash of its dataset id, sample id and bytes."""
    h = hashlib.sha256(f"{dataset_id}\0{sample_id}\0".encode())
    for chunk in [content] if isinstance(content, bytes) else content:
        h.update(chunk)
    return h.hexdigest()[:20]


def check_media_id(value: str) -> bool:
    """True for a well-formed media id (20 lowercase hex digits)."""
    return bool(_ID.match(value))


def record_filter(dataset_id: str | None, sample_ids: Iterable[str] | None,
                  media_ids: Iterable[str] | None, *, one_of: str, param: str
                  ) -> tuple[str, list[Any]]:
    """The WHERE clause (and its parameters) of :meth:`SiteMedia.records` in a dialect.

    ``one_of`` is the backend's test that ``{col}`` is in a list parameter, ``param`` its
    placeholder.

    Examples
    --------
    >>> record_filter("jura", ["2"], None, one_of="{col} = ANY(%s)", param="%s")
    ('TRUE AND sample_id = ANY(%s) AND dataset_id = %s', [['2'], 'jura'])
    """
    where: list[str] = ["TRUE"]
    params: list[Any] = []
    for col, val in (("sample_id", sample_ids), ("media_id", media_ids)):
        if val is not None:
            where.append(one_of.format(col=col))
            params.append([str(v) for v in val])
    if dataset_id is not None:
        where.append(f"dataset_id = {param}")
        params.append(dataset_id)
    return " AND ".join(where), params


@dataclass(frozen=True)
class MediaRecord:
    """What the store keeps about one media item (besides its parts)."""

    media_id: str
    dataset_id: str
    sample_id: str
    kind: str  # "image" or "video"
    content_type: str
    file_name: str
    size: int
    sha256: str
    width: int
    height: int
    duration_s: float | None = None
    #: the position the camera recorded (EXIF GPS, a video's ISO 6709 location)
    gps_longitude: float | None = None
    gps_latitude: float | None = None
    #: geodesic distance from the sample's location when attached, in metres
    distance_m: float | None = None
    warning: str = ""
    actor: str = ""
    organisation: str = ""
    created_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    #: column names and SQL types, in order (both backends' tables)
    COLUMNS = (
        ("media_id", "text"), ("dataset_id", "text"), ("sample_id", "text"),
        ("kind", "text"), ("content_type", "text"), ("file_name", "text"),
        ("size", "bigint"), ("sha256", "text"), ("width", "integer"),
        ("height", "integer"), ("duration_s", "double"), ("gps_longitude", "double"),
        ("gps_latitude", "double"), ("distance_m", "double"), ("warning", "text"),
        ("actor", "text"), ("organisation", "text"), ("created_at", "timestamptz"),
    )

    def row(self) -> list[Any]:
        """The values in :attr:`COLUMNS` order."""
        d = asdict(self)
        return [d[name] for name, _ in self.COLUMNS]

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> MediaRecord:
        """A record from values in :attr:`COLUMNS` order (as a table gives them back)."""
        d = dict(zip((n for n, _ in cls.COLUMNS), row, strict=True))
        for name in ("size", "width", "height"):
            d[name] = int(d[name] or 0)
        for name in ("duration_s", "gps_longitude", "gps_latitude", "distance_m"):
            d[name] = None if d[name] is None else float(d[name])
        for name in ("warning", "actor", "organisation"):
            d[name] = str(d[name] or "")
        created = d["created_at"]
        if isinstance(created, dt.datetime) and created.tzinfo is None:
            created = created.replace(tzinfo=dt.UTC)
        d["created_at"] = created.astimezone(dt.UTC) if isinstance(created,
                                                                   dt.datetime) else created
        return cls(**d)

    def sort_key(self) -> tuple[str, str, dt.datetime, str, str]:
        """Records are listed by dataset, sample id, time attached, file name and id."""
        return (self.dataset_id, self.sample_id, self.created_at, self.file_name,
                self.media_id)


@dataclass
class NewMedia:
    """An item to store: its record and its parts (role -> a file or its bytes)."""

    record: MediaRecord
    parts: dict[str, Path | bytes]

    def __post_init__(self) -> None:
        unknown = set(self.parts) - set(MEDIA_PARTS)
        if unknown or "file" not in self.parts or "thumbnail" not in self.parts:
            raise StoreError(f"media {self.record.media_id}: parts must be 'file', "
                             f"'thumbnail' and optionally 'poster' (got {sorted(self.parts)})")


class MediaBlob(abc.ABC):
    """One stored part of a media item, read in chunks (never whole in memory)."""

    size: int
    content_type: str

    @property
    def path(self) -> Path | None:
        """A local file holding the part, when the backend keeps it as one."""
        return None

    @abc.abstractmethod
    def chunks(self) -> Iterator[bytes]:
        """The bytes, in order, in chunks of at most :data:`CHUNK_BYTES`."""

    def read(self) -> bytes:
        """All the bytes (for thumbnails and posters, which are small)."""
        return b"".join(self.chunks())


class SiteMedia(abc.ABC):
    """The photos and videos of a store (:meth:`chemearth.store.base.Store.site_media`)."""

    @abc.abstractmethod
    def add(self, items: Sequence[NewMedia]) -> list[str]:
        """Store every item, atomically: all of them or, on any error, none.

        An item whose id is stored already is left as it is. Returns the ids stored now.
        """

    @abc.abstractmethod
    def records(self, dataset_id: str | None = None, sample_ids: Iterable[str] | None = None,
                media_ids: Iterable[str] | None = None) -> list[MediaRecord]:
        """The records matching every filter given, in :meth:`MediaRecord.sort_key` order."""

    def record(self, media_id: str) -> MediaRecord | None:
        """One record, or None."""
        if not check_media_id(media_id):
            return None
        found = self.records(media_ids=[media_id])
        return found[0] if found else None

    @abc.abstractmethod
    def open(self, media_id: str, part: str) -> MediaBlob | None:
        """A part of an item (``file``, ``thumbnail``, ``poster``), or None."""

    @abc.abstractmethod
    def delete(self, media_ids: Sequence[str]) -> int:
        """Remove the items (records and parts), atomically; return how many there were."""
