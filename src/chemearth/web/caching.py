"""HTTP caching shared by the routes: strong ETags, 304 answers and the in-memory tile
cache.

What an anonymous user sees may sit in shared caches (``Cache-Control: public``);
anything else is ``private``, and every answer varies on ``Authorization`` and
``Cookie``, so a cache never hands one actor's view to another.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Hashable

from fastapi import Request
from fastapi.responses import Response

__all__ = ["TileCache", "body_etag", "cache_headers", "cached_response"]


class TileCache:
    """Rendered tiles, least recently used out first (thread-safe)."""

    def __init__(self, entries: int) -> None:
        self.entries = entries
        self._tiles: OrderedDict[Hashable, tuple[bytes, str]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> tuple[bytes, str] | None:
        """A cached tile, or None."""
        with self._lock:
            tile = self._tiles.get(key)
            if tile is not None:
                self._tiles.move_to_end(key)
            return tile

    def put(self, key: Hashable, tile: tuple[bytes, str]) -> None:
        """Keep a tile."""
        if self.entries <= 0:
            return
        with self._lock:
            self._tiles[key] = tile
            while len(self._tiles) > self.entries:
                self._tiles.popitem(last=False)


def cache_headers(etag: str, anonymous: bool) -> dict[str, str]:
    """Headers of a cacheable answer (tiles, figures, atlas pages)."""
    return {
        "ETag": etag,
        # what anonymous users see may sit in shared caches; anything else may not
        "Cache-Control": ("public" if anonymous else "private") + ", max-age=600",
        "Vary": "Authorization, Cookie",
    }


def body_etag(body: bytes) -> str:
    """A strong ETag of a response body."""
    return '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def cached_response(body: bytes, media: str, etag: str, anonymous: bool,
                    request: Request | None, extra: dict[str, str] | None = None) -> Response:
    """``body`` with :func:`cache_headers` (and ``extra``), or 304 when the client holds
    ``etag`` already."""
    headers = {**cache_headers(etag, anonymous), **(extra or {})}
    if request is not None and request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media, headers=headers)
