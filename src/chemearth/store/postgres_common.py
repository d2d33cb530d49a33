"""Plumbing shared by the PostgreSQL store's modules: URLs, connection pools, errors and
the Parquet chunks that hold its bulk data.

The server store (:mod:`chemearth.store.postgres`) talks to PostgreSQL through two
drivers: psycopg 3 for small statements (catalogue look-ups, jobs, documents, locks) and
ADBC (``adbc_driver_postgresql``) for everything bulk, which it moves as Arrow through
binary ``COPY``. Both kinds of connection are kept in small thread-safe pools
(:class:`Pool`), so that the web server's threads reuse them.

Examples
--------
>>> redact_url("postgresql://me:secret@db.example.org:5432/chemearth?sslmode=require")
'postgresql://me@db.example.org:5432/chemearth?sslmode=require'
>>> t = pa.table({"x": [1, 2, 3]})
>>> from_parquet(to_parquet(t)).equals(t)
True
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from typing import Any, Generic, LiteralString, TypeVar, cast
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

import adbc_driver_manager
import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
from adbc_driver_manager.dbapi import Connection as AdbcConnection

from chemearth.errors import NotFoundError, StoreError

__all__ = [
    "LOCK_CELLS",
    "LOCK_DOCUMENTS",
    "LOCK_JOBS",
    "LOCK_MIGRATIONS",
    "LOCK_VIEWS",
    "LOCK_WRITER",
    "SCHEMA",
    "VIEWS_SCHEMA",
    "AdbcConnection",
    "Pool",
    "arrow_query",
    "db_errors",
    "from_parquet",
    "password_of",
    "redact_url",
    "sql",
    "to_parquet",
    "with_parameter",
]

#: The schema of the store's tables.
SCHEMA = "chemearth"
#: The schema of the per-dataset QGIS views.
VIEWS_SCHEMA = "chemearth_views"

# First keys of the two-key advisory locks (``pg_advisory_lock(int, int)``); the second
# key says what is locked. Arbitrary constants, unlikely to be used by anything else.
#: Schema migrations (second key 0).
LOCK_MIGRATIONS = 0x43450001
#: Writers of a dataset (second key ``hashtext(dataset_id)``).
LOCK_WRITER = 0x43450002
#: The cell tables of a version (second key: the version's ``vid``).
LOCK_CELLS = 0x43450003
#: A claimed job (second key: the job's ``lock_key``), held by the worker's session.
LOCK_JOBS = 0x43450004
#: A document (second key ``hashtext(name)``).
LOCK_DOCUMENTS = 0x43450005
#: The QGIS view of a dataset (second key ``hashtext(dataset_id)``).
LOCK_VIEWS = 0x43450006

C = TypeVar("C")


def sql(text: str) -> LiteralString:
    """``text`` (SQL built by this package from constants and quoted identifiers, never
    from input) as psycopg's ``LiteralString``."""
    return text


def password_of(url: str) -> str | None:
    """The password in ``url`` (user info or ``password=`` parameter), if any."""
    parts = urlsplit(url)
    if parts.password:
        return unquote(parts.password)
    for key, value in parse_qsl(parts.query):
        if key == "password":
            return value
    return None


def with_parameter(url: str, key: str, value: str) -> str:
    """``url`` with the query parameter ``key`` set to ``value`` unless it has one.

    Examples
    --------
    >>> with_parameter("postgresql://u@h/db", "application_name", "chemearth")
    'postgresql://u@h/db?application_name=chemearth'
    """
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if any(k == key for k, _ in query):
        return url
    return urlunsplit(parts._replace(query=urlencode([*query, (key, value)])))


def redact_url(url: str) -> str:
    """``url`` without its password (neither in the user info nor as a parameter)."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        netloc = userinfo.split(":", 1)[0] + "@" + host
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k != "password"])
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    # ADBC appends the whole query ("Query was: ...") and libpq a SQLSTATE line
    text = text.split("Query was:", 1)[0].strip()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[0] if lines else type(exc).__name__


@contextlib.contextmanager
def db_errors(where: str, secret: str | None = None) -> Iterator[None]:
    """Turn the drivers' errors into :class:`StoreError` (``where``: the store's redacted
    URL); the message never holds ``secret`` (the password)."""
    try:
        yield
    except (StoreError, NotFoundError):
        raise
    except (psycopg.Error, adbc_driver_manager.Error) as exc:
        message = _first_line(exc)
        if secret:
            message = message.replace(secret, "***")
        raise StoreError(f"PostgreSQL store {where}: {message}") from None


class Pool(Generic[C]):
    """A few idle connections, shared by the threads of one process.

    A connection is lent to one thread at a time (:meth:`connection`); one that raised is
    closed rather than given back. After a ``fork`` the child never touches its parent's
    connections.

    Parameters
    ----------
    factory : callable
        Opens a new connection.
    close : callable
        Closes one.
    max_idle : int
        Idle connections kept at most.
    """

    def __init__(
        self, factory: Callable[[], C], close: Callable[[C], None], max_idle: int = 8
    ) -> None:
        self._factory = factory
        self._close = close
        self._max_idle = max_idle
        self._idle: list[C] = []
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._closed = False

    def _take(self) -> C | None:
        with self._lock:
            if self._pid != os.getpid():  # a forked child: forget the parent's sockets
                self._idle, self._pid = [], os.getpid()
            return self._idle.pop() if self._idle else None

    @contextlib.contextmanager
    def connection(self) -> Iterator[C]:
        """Lend a connection for the block."""
        if self._closed:
            raise StoreError("the store is closed")
        conn = self._take()
        if conn is None:
            conn = self._factory()
        ok = False
        try:
            yield conn
            ok = True
        finally:
            kept = False
            if ok and not self._closed:
                with self._lock:
                    if len(self._idle) < self._max_idle and self._pid == os.getpid():
                        self._idle.append(conn)
                        kept = True
            if not kept:
                with contextlib.suppress(Exception):
                    self._close(conn)

    def close(self) -> None:
        """Close the idle connections; lent ones are closed when they come back."""
        with self._lock:
            idle, self._idle = self._idle, []
            self._closed = True
            mine = self._pid == os.getpid()
        if mine:
            for conn in idle:
                with contextlib.suppress(Exception):
                    self._close(conn)


def arrow_query(conn: AdbcConnection, sql: str, params: tuple[Any, ...] | None = None) -> pa.Table:
    """Run ``sql`` (``$1``-style parameters) and return its result as Arrow."""
    with conn.cursor() as cur:
        cur.execute(sql, params)
        return cast(pa.Table, cur.fetch_arrow_table())


def to_parquet(table: pa.Table, compression: str = "lz4") -> bytes:
    """``table`` as the bytes of a Parquet file."""
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression=compression)
    return cast(bytes, sink.getvalue().to_pybytes())


def from_parquet(data: bytes | pa.Buffer) -> pa.Table:
    """The table in the Parquet bytes ``data``."""
    return pq.read_table(pa.BufferReader(data))
