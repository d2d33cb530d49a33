"""Stores: where datasets, samples and measurements live.

:func:`open_store` opens the configured store; today that is the embedded
DuckDB + Parquet store (:class:`EmbeddedStore`).
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
    "open_store",
]


def open_store(home: str | Path | None = None, read_only: bool = False) -> Store:
    """Open the store at ``home`` (default: ``CHEMEARTH_HOME`` or the user data directory).

    Examples
    --------
    >>> store = open_store("/tmp/chemearth-doctest-store")
    >>> isinstance(store, Store)
    True
    """
    from chemearth.config import Settings

    path = Path(home) if home is not None else Settings.from_env().home
    return EmbeddedStore(path, read_only=read_only)
