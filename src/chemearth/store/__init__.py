"""Stores: where datasets, samples and measurements live.

:func:`open_store` opens the configured store: the embedded DuckDB + Parquet store
(:class:`EmbeddedStore`, the default) in a folder, or the server store
(:class:`chemearth.store.postgres.PostgresStore`) at a ``postgresql://`` URL.
"""

from __future__ import annotations

from pathlib import Path

from chemearth.store.base import (
    MEASUREMENT_COLUMNS,
    SAMPLE_SCHEMA,
    Store,
    VersionRecord,
    VersionWriter,
)
from chemearth.store.embedded import EmbeddedStore

__all__ = [
    "MEASUREMENT_COLUMNS",
    "SAMPLE_SCHEMA",
    "EmbeddedStore",
    "Store",
    "VersionRecord",
    "VersionWriter",
    "is_server_url",
    "open_store",
]


def is_server_url(location: str | Path | None) -> bool:
    """True for a PostgreSQL URL (``postgresql://`` or ``postgres://``).

    Examples
    --------
    >>> is_server_url("postgresql://chemearth@localhost:5432/chemearth"), is_server_url("/srv/x")
    (True, False)
    """
    return isinstance(location, str) and location.startswith(("postgresql://", "postgres://"))


def open_store(location: str | Path | None = None, read_only: bool = False) -> Store:
    """Open the store at ``location``: a folder (the embedded store) or a PostgreSQL URL.

    Without a location: ``CHEMEARTH_STORE`` if set, else ``CHEMEARTH_HOME`` or the user
    data directory.

    Examples
    --------
    >>> store = open_store("/tmp/chemearth-doctest-store")
    >>> isinstance(store, Store)
    True
    """
    from chemearth.config import Settings

    if location is None:
        location = Settings.from_env().store
    if is_server_url(location):
        from chemearth.store.postgres import PostgresStore

        return PostgresStore(str(location), read_only=read_only)
    return EmbeddedStore(Path(location), read_only=read_only)
