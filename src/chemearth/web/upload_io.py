"""Receiving an upload: file names, size limits and the descriptor's text.

The upload route (``POST /api/datasets`` in :mod:`chemearth.web.routes_uploads`) reads the
survey file to a temporary folder and the descriptor into memory with these helpers.
Limits reject, they never truncate: a descriptor over
:data:`~chemearth.access.uploads.MAX_DESCRIPTOR_BYTES` or a file over the site's
``upload_max_bytes`` is refused whole (413), before anything is ingested.
"""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import UploadFile

from chemearth.access.uploads import MAX_DESCRIPTOR_BYTES
from chemearth.errors import DescriptorError, InputTooLargeError

__all__ = ["check_descriptor_size", "read_descriptor", "safe_name", "save_upload"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_BLOCK = 1 << 20


def safe_name(filename: str | None, default: str) -> str:
    """A client's file name reduced to a safe base name (no folders, no leading dot).

    Examples
    --------
    >>> safe_name("../../etc/pass wd.csv", "survey.csv"), safe_name(None, "survey.csv")
    ('pass_wd.csv', 'survey.csv')
    """
    return _UNSAFE.sub("_", Path(filename or default).name).lstrip(".") or default


async def save_upload(file: UploadFile, path: Path, limit: int) -> None:
    """Write the uploaded ``file`` to ``path``; over ``limit`` bytes it is refused."""
    size = 0
    with path.open("wb") as fh:
        while chunk := await file.read(_BLOCK):
            size += len(chunk)
            if size > limit:
                raise InputTooLargeError(
                    f"{path.name}: larger than the upload limit of {limit:,} bytes"
                )
            fh.write(chunk)


async def read_descriptor(descriptor: UploadFile, name: str) -> str:
    """The descriptor's text: at most :data:`MAX_DESCRIPTOR_BYTES` of UTF-8, or an error."""
    data = await descriptor.read(MAX_DESCRIPTOR_BYTES + 1)
    _within_limit(len(data), name, "it was not read")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DescriptorError(
            f"descriptor {name}: not UTF-8 (byte {exc.start}: {exc.reason})"
        ) from None


def check_descriptor_size(text: str, name: str) -> None:
    """Refuse a descriptor ``text`` (one edited on the server) over the descriptor limit."""
    _within_limit(len(text.encode("utf-8")), name, "it was not checked")


def _within_limit(size: int, name: str, outcome: str) -> None:
    if size > MAX_DESCRIPTOR_BYTES:
        raise InputTooLargeError(
            f"descriptor {name}: larger than the limit of {MAX_DESCRIPTOR_BYTES:,} bytes; "
            f"{outcome}"
        )
