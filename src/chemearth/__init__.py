"""chemearth: global-scale geochemical baselines from real survey data.

The core library (ingest, store, statistics) imports no web framework and no Dask, and
``import chemearth`` itself is light: the stages are subpackages, imported when used (see
``docs/architecture.md``). :func:`open_store` and :func:`load_descriptor` load lazily.

Examples
--------
>>> import chemearth
>>> chemearth.__version__
'0.1.0'
"""

from __future__ import annotations

from chemearth.errors import (
    ChemearthError,
    ChemearthWarning,
    DescriptorError,
    IngestRejected,
    InputFileError,
    NotFoundError,
    RowError,
    StoreError,
    UnitError,
    UnknownElementError,
)

__version__ = "0.1.0"

__all__ = [
    "ChemearthError",
    "ChemearthWarning",
    "DescriptorError",
    "IngestRejected",
    "InputFileError",
    "NotFoundError",
    "RowError",
    "StoreError",
    "UnitError",
    "UnknownElementError",
    "__version__",
    "load_descriptor",
    "open_store",
]


def __getattr__(name: str) -> object:
    """Lazy access to the main entry points, keeping ``import chemearth`` light."""
    if name == "ingest":
        from chemearth.ingest.pipeline import ingest

        return ingest
    if name == "load_descriptor":
        from chemearth.ingest.descriptor import load_descriptor

        return load_descriptor
    if name == "open_store":
        from chemearth.store import open_store

        return open_store
    raise AttributeError(f"module 'chemearth' has no attribute {name!r}")
