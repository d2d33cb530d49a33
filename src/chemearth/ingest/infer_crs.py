"""Coordinates of a survey table and their CRS, inferred with evidence (``describe``).

:func:`propose_coordinates` finds the coordinate columns of a table and the CRS they are
written in, and says why: the evidence is written into the proposed descriptor as comments.

Examples
--------
>>> import pyarrow as pa
>>> from chemearth.ingest.readers import RawTable
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from chemearth.ingest.readers import RawTable

__all__ = ["CoordinateProposal", "numeric_range", "propose_coordinates"]

_LON = re.compile(r"^(lon|long|longitude|lng|x_?wgs84|dec_?long.*)$", re.I)
_LAT = re.compile(r"^(lat|latitude|y_?wgs84|dec_?lat.*)$", re.I)
_X = re.compile(r"^(x|xcoo|xcoord|x_.*|easting|east|utm_?e.*|xloc)$", re.I)
_Y = re.compile(r"^(y|ycoo|ycoord|y_.*|northing|north|utm_?n.*|yloc)$", re.I)


@dataclass
class CoordinateProposal:
    """The ``[coordinates]`` proposed for a table, with the evidence for it.

    ``x``/``y`` are empty when no coordinate columns were found; ``crs`` is empty when no
    CRS fits (then ``decisions`` says what the user must decide).
    """

    x: str = ""
    y: str = ""
    crs: str = ""
    comments: list[str] = field(default_factory=list)
    countries: tuple[str, ...] = ()
    decisions: list[str] = field(default_factory=list)

    @property
    def used(self) -> set[str]:
        """The columns taken as coordinates."""
        return {c for c in (self.x, self.y) if c and c != "geometry"}


def numeric_range(raw: RawTable, col: str) -> tuple[float, float]:
    """(min, max) of a numeric column; NaN when the column is not numeric or empty."""
    arr = raw.table.column(col)
    if not (pa.types.is_floating(arr.type) or pa.types.is_integer(arr.type)):
        return (np.nan, np.nan)
    v = arr.to_numpy(zero_copy_only=False).astype(float)
    if not np.isfinite(v).any():
        return (np.nan, np.nan)
    return float(np.nanmin(v)), float(np.nanmax(v))


def _first(names: list[str], pattern: re.Pattern[str]) -> str:
    return next((c for c in names if pattern.match(c)), "")


def propose_coordinates(
    raw: RawTable, names: list[str], boundaries: Path | None = None
) -> CoordinateProposal:
    """Find the coordinate columns of ``raw`` and the CRS they are written in.

    Parameters
    ----------
    raw : RawTable
        The table as read.
    names : list of str
        Its column names (without internal ``__`` columns), analytes included.
    boundaries : Path, optional
        Natural Earth admin-0 countries, to test where the points land.
    """
    if "__easting" in raw.table.column_names:
        return CoordinateProposal("geometry", "geometry", raw.crs or "EPSG:4326")
    lon, lat, x, y = (_first(names, p) for p in (_LON, _LAT, _X, _Y))
    if lon and lat:
        lo, la = numeric_range(raw, lon), numeric_range(raw, lat)
        if abs(lo[0]) <= 180 and abs(lo[1]) <= 180 and abs(la[0]) <= 90 and abs(la[1]) <= 90:
            return CoordinateProposal(lon, lat, "EPSG:4326",
                                      ["WGS84 longitude/latitude (check the datum)"])
    if x and y:
        xr, yr = numeric_range(raw, x), numeric_range(raw, y)
        return CoordinateProposal(
            x, y, "",
            decisions=[f"set [coordinates].crs for {x}/{y} (x {xr[0]:g}..{xr[1]:g}, "
                       f"y {yr[0]:g}..{yr[1]:g}): no CRS was inferred"],
        )
    return CoordinateProposal()
