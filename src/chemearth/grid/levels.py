"""The grid levels: cell sizes from 160 km to 0.5 km, their labels, and parsing them.

Examples
--------
>>> [level_label(m) for m in LEVELS]
['160km', '80km', '40km', '20km', '10km', '4km', '2km', '1km', '500m']
>>> parse_level("0.5km")
500
"""

from __future__ import annotations

import re
from typing import Final

import numpy as np

from chemearth.errors import GridError

__all__ = ["LEVELS", "level_label", "parse_level"]

#: Cell sizes of the chemearth grids in metres, coarsest first.
LEVELS: Final = (160_000, 80_000, 40_000, 20_000, 10_000, 4_000, 2_000, 1_000, 500)


def level_label(level_m: int) -> str:
    """A level in metres as its label: ``10km``, ``500m``.

    Examples
    --------
    >>> level_label(10_000), level_label(500)
    ('10km', '500m')
    """
    return f"{level_m // 1000}km" if level_m % 1000 == 0 else f"{level_m}m"


def parse_level(level: int | str) -> int:
    """A grid level in metres from ``10000``, ``"10000"``, ``"10km"``, ``"10 km"`` or ``"500m"``.

    Examples
    --------
    >>> parse_level("10km"), parse_level("500 m"), parse_level(4000), parse_level("0.5km")
    (10000, 500, 4000, 500)
    """
    if isinstance(level, int | np.integer):
        return int(level)
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(km|m)?\s*", str(level).lower())
    if not m:
        raise GridError(f"level {level!r}: give metres (10000) or a size like '10km' or '500m'")
    metres = float(m.group(1)) * (1000 if m.group(2) == "km" else 1)
    if metres != int(metres):
        raise GridError(f"level {level!r} is not a whole number of metres")
    return int(metres)
