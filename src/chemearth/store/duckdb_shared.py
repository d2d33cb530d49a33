"""One DuckDB connection per catalogue file and process, shared by its threads.

DuckDB refuses a second connection to a file that is open in the same process with
another configuration ("Can't open a connection to same database file with a different
configuration"), which is what a website's readers met while an upload wrote. So every
thread of a process takes a cursor on one shared connection: read-write when the store is
writable (readers then read committed snapshots while a writer writes), read-only
otherwise. The connection is closed when its last user is done, so that other processes
can open the file between operations.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb

__all__ = ["SharedConnection", "shared_cursor"]


class SharedConnection:
    """One process's connection to one catalogue file, with its users."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.con: duckdb.DuckDBPyConnection | None = None
        self.rw = False
        self.users = 0


_SHARED: dict[Path, SharedConnection] = {}
_SHARED_LOCK = threading.Lock()


@contextlib.contextmanager
def shared_cursor(
    db: Path, rw: bool, opener: Callable[[bool], duckdb.DuckDBPyConnection]
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor on the process's shared connection to ``db`` (see ``EmbeddedStore._connect``).

    A read-write user waits for a read-only connection's users to finish; a read-only user
    takes a read-write connection as it is.
    """
    with _SHARED_LOCK:
        entry = _SHARED.setdefault(db.resolve(), SharedConnection())
    with entry.cond:
        while entry.con is not None and rw and not entry.rw:
            entry.cond.wait()
        if entry.con is None:
            entry.con = opener(not rw)
            entry.rw = rw
        entry.users += 1
        try:
            cur = entry.con.cursor()
        except BaseException:
            entry.users -= 1
            raise
    try:
        yield cur
    finally:
        with contextlib.suppress(Exception):
            cur.close()
        with entry.cond:
            entry.users -= 1
            if entry.users == 0 and entry.con is not None:
                entry.con.close()
                entry.con = None
                entry.cond.notify_all()
