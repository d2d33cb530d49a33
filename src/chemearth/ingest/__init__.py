"""Ingest: from a survey file and its descriptor to validated rows in the store.

The stage reads a descriptor (:mod:`~chemearth.ingest.descriptor`) or proposes one
(:mod:`~chemearth.ingest.describe`), reads the file (:mod:`~chemearth.ingest.readers`),
parses every below-detection-limit encoding (:mod:`~chemearth.ingest.detection_limits`),
checks samples and converts element columns (:mod:`~chemearth.ingest.samples`,
:mod:`~chemearth.ingest.columns`) and writes one atomic version
(:mod:`~chemearth.ingest.pipeline`). The descriptors of the demo surveys ship in
``data/descriptors/`` (:mod:`~chemearth.ingest.shipped`).

The main entry points are importable from here; they load lazily, so importing one
submodule does not pull in the whole pipeline.

Examples
--------
>>> from chemearth.ingest import load_descriptor, shipped_descriptor
>>> load_descriptor(shipped_descriptor("meuse")).dataset.id
'meuse'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chemearth.ingest.descriptor import load_descriptor, parse_descriptor
    from chemearth.ingest.pipeline import IngestReport, ingest
    from chemearth.ingest.shipped import shipped_descriptor, shipped_descriptors

__all__ = [
    "IngestReport",
    "ingest",
    "load_descriptor",
    "parse_descriptor",
    "shipped_descriptor",
    "shipped_descriptors",
]

_WHERE = {
    "IngestReport": "pipeline",
    "ingest": "pipeline",
    "load_descriptor": "descriptor",
    "parse_descriptor": "descriptor",
    "shipped_descriptor": "shipped",
    "shipped_descriptors": "shipped",
}


def __getattr__(name: str) -> object:
    """Lazy access to the entry points named in ``__all__``."""
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(f"chemearth.ingest.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'chemearth.ingest' has no attribute {name!r}")
