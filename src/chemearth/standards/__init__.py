"""Soil-quality standards shipped with chemearth, one TOML file per standard.

The values are facts transcribed from the published standards (see each file's
``citation``); :mod:`chemearth.standard` reads them. The file stem is the standard id.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["shipped_standard_files"]

_HERE = Path(__file__).parent


def shipped_standard_files() -> list[Path]:
    """Paths of every shipped standard file, sorted by id.

    Examples
    --------
    >>> [p.stem for p in shipped_standard_files()][:2]
    ['ccme-2007', 'dutch-2000']
    """
    return sorted(_HERE.glob("*.toml"))
