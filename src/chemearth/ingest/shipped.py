"""Descriptors shipped with chemearth, one per dataset of the shared demo data.

The files name their survey file relative to the data folder (``CHEMEARTH_DATA``);
the data themselves are never part of chemearth. The file stem is the dataset id.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["shipped_descriptor", "shipped_descriptors"]

_HERE = Path(__file__).parent / "data" / "descriptors"


def shipped_descriptors() -> list[Path]:
    """Paths of every shipped descriptor, sorted by dataset id.

    Examples
    --------
    >>> any(p.stem == "meuse" for p in shipped_descriptors())
    True
    """
    return sorted(_HERE.glob("*.toml"))


def shipped_descriptor(dataset_id: str) -> Path | None:
    """The shipped descriptor of ``dataset_id``, or None."""
    p = _HERE / f"{dataset_id}.toml"
    return p if p.is_file() else None
