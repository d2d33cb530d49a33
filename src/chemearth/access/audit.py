"""The audit log: who uploaded what, and who read or downloaded data that is not public.

:class:`AuditLog` appends one JSON object per line to ``<store home>/audit.log``. The file
is opened for each event with ``O_APPEND`` and held under an exclusive ``flock`` while the
line is written, so lines of several threads, workers and processes never interleave; the
log is never rewritten. Each line holds:

================  ================================================================
key               value
================  ================================================================
``time``          UTC, ISO 8601 with milliseconds (``2025-01-31T12:00:00.000Z``)
``event``         ``upload``, ``read`` or ``download`` (see below)
``actor``         the token's name (``anonymous`` without a token)
``role``          ``anonymous``, ``public``, ``partner``, ``owner`` or ``admin``
``organisation``  the actor's organisation
``token_id``      the token's public id (never its secret)
``outcome``       what happened: ``created``, ``unchanged``, ``rejected``, ``refused``,
                  ``granted``, ``sent`` …
others            as given: ``dataset``, ``elements``, ``route``, ``format``,
                  ``client`` (the client address), ``status`` …
================  ================================================================

Events the website records (:mod:`chemearth.web`):

``upload``
    every upload, accepted (``created``/``unchanged``) or not (``rejected``: bad rows,
    ``refused``: not allowed).
``read``
    a token used to read data that is not public, with full access: any request naming
    a dataset that is not ``public``, or an embargoed element. Recorded at most once per
    token, dataset and kind of data (``dataset`` or ``samples``) per
    :attr:`AuditLog.read_interval_s` (60 s) in each server process, so a map session
    leaves a few lines, not one per tile.
``download``
    every download of sample data (CSV, GeoPackage) that is not public.

A store without a home (``getattr(store, "home", None)`` is None) gets an audit log
that records nothing. A log that cannot be written is reported on the
``chemearth.audit`` logger and does not fail the request.

Examples
--------
>>> import tempfile
>>> from chemearth.access.policy import Actor, Role
>>> log = AuditLog(tempfile.mkdtemp())
>>> _ = log.record("download", Actor("ngu", Role.OWNER, "NGU", token_id="0123456789ab"),
...                dataset="kola-humus", format="csv", outcome="sent")
>>> [(e["event"], e["actor"], e["dataset"]) for e in log.read()]
[('download', 'ngu', 'kola-humus')]
>>> AuditLog(None).record("upload", None) is None
True
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterator
from pathlib import Path
from typing import Any

from chemearth.access.policy import Actor
from chemearth.errors import ChemearthError
from chemearth.store.base import Store
from chemearth.store.embedded_files import append_line, read_lines

__all__ = ["AUDIT_FILE", "EVENTS", "AuditLog"]

#: Name of the audit log in the store's home.
AUDIT_FILE = "audit.log"
#: Events recorded by the website.
EVENTS = ("upload", "read", "download", "job")
#: Most throttle entries kept before old ones are dropped.
_MAX_THROTTLE = 50_000
#: An API token as it may appear in text: its secret is masked before anything is written.
_TOKEN = re.compile(r"(ce_[0-9a-f]{12}_)[A-Za-z0-9_-]{43}")

log = logging.getLogger("chemearth.audit")


def _utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _masked(value: Any) -> Any:
    """``value`` ready for JSON, any API token in its text masked."""
    if isinstance(value, str):
        return _TOKEN.sub(r"\1***", value)
    if isinstance(value, dict):
        return {str(k): _masked(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return [_masked(v) for v in items]
    if value is None or isinstance(value, bool | int | float):
        return value
    return _masked(str(value))


class AuditLog:
    """An append-only log of JSON lines, kept by the store.

    Parameters
    ----------
    home : Store, Path or str, optional
        The store (the embedded store keeps ``<home>/audit.log``, the server store a
        table), or the folder of an ``audit.log``; None records nothing.
    read_interval_s : float
        Shortest time between two ``read`` events of one token, dataset and kind of data.
    clock : callable
        Seconds (monotonic) for the ``read`` throttle; tests pass their own.
    """

    def __init__(
        self,
        home: Store | Path | str | None,
        *,
        read_interval_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store: Store | None = None
        self.path: Path | None = None
        if isinstance(home, Store):
            self.store = home
            store_home = getattr(home, "home", None)
            self.path = Path(store_home) / AUDIT_FILE if store_home is not None else None
        elif home is not None:
            self.path = Path(home) / AUDIT_FILE
        self.read_interval_s = read_interval_s
        self._clock = clock
        self._last: dict[Hashable, float] = {}
        self._lock = threading.Lock()

    def record(self, event: str, actor: Actor | None, **fields: Any) -> dict[str, Any] | None:
        """Append one event; return it as written (None when the log records nothing).

        ``fields`` whose value is None are left out. The actor's name, role, organisation
        and token id are written, never a token's secret.
        """
        if not self.enabled:
            return None
        who = actor if actor is not None else Actor.anonymous()
        entry: dict[str, Any] = {
            "time": _utc_now(),
            "event": event,
            "actor": who.name,
            "role": str(who.role),
            "organisation": who.organisation,
            "token_id": who.token_id,
        }
        entry.update({k: v for k, v in fields.items() if v is not None and k not in entry})
        entry = _masked(entry)
        line = json.dumps(entry, ensure_ascii=False, sort_keys=False)
        try:
            if self.store is not None:
                self.store.append_audit(line)
            else:
                assert self.path is not None
                append_line(self.path, line)
        except (OSError, ChemearthError) as exc:
            log.error("audit log of %s could not be written: %s", self.where, exc)
        return entry

    @property
    def enabled(self) -> bool:
        """Whether events are recorded at all."""
        return self.store is not None or self.path is not None

    @property
    def where(self) -> str:
        """Where the log is kept (a file or the server store), for messages."""
        if self.path is not None:
            return str(self.path)
        return self.store.location if self.store is not None else "nowhere"

    def record_read(
        self, actor: Actor, dataset: str, data: str = "dataset", **fields: Any
    ) -> dict[str, Any] | None:
        """A ``read`` event, unless one of the same token, ``dataset`` and ``data`` was
        recorded less than :attr:`read_interval_s` ago (then None)."""
        if not self.enabled:
            return None
        key = (actor.token_id or actor.name, dataset, data)
        now = self._clock()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self.read_interval_s:
                return None
            self._last[key] = now
            if len(self._last) > _MAX_THROTTLE:
                old = now - self.read_interval_s
                self._last = {k: t for k, t in self._last.items() if t >= old}
        return self.record("read", actor, dataset=dataset, data=data, **fields)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        """Every event, oldest first (lines that are not JSON objects are skipped)."""
        if self.store is not None:
            lines = self.store.audit_lines()
        elif self.path is not None:
            lines = read_lines(self.path)
        else:
            return
        for raw in lines:
            try:
                entry = json.loads(raw)
            except ValueError:
                continue
            if isinstance(entry, dict):
                yield entry

    def read(
        self,
        limit: int | None = None,
        *,
        event: str | None = None,
        dataset: str | None = None,
        actor: str | None = None,
        since: str | None = None,
    ) -> list[dict[str, Any]]:
        """The most recent events, oldest first.

        Parameters
        ----------
        limit : int, optional
            Most events returned (the latest ones).
        event, dataset, actor : str, optional
            Only events of this kind, dataset, or actor name or token id.
        since : str, optional
            Only events at or after this UTC time (ISO 8601, e.g. ``2025-01-31`` or
            ``2025-01-31T12:00``).
        """
        out: deque[dict[str, Any]] = deque(maxlen=limit if limit and limit > 0 else None)
        for entry in self:
            if event is not None and entry.get("event") != event:
                continue
            if dataset is not None and entry.get("dataset") != dataset:
                continue
            if actor is not None and actor not in (entry.get("actor"), entry.get("token_id")):
                continue
            if since is not None and str(entry.get("time", "")) < since:
                continue
            out.append(entry)
        return list(out)
