"""Exception and warning tree of chemearth.

Every error raised on purpose by chemearth derives from :class:`ChemearthError`.
Subclasses also derive from the matching built-in exception, so callers that
expect ``ValueError`` or ``KeyError`` keep working::

    ChemearthError
    ├── DescriptorError(ValueError)      a dataset descriptor is invalid
    ├── InputFileError(ValueError)       a survey file cannot be read at all
    │   ├── EmptyFileError               the file holds no data rows
    │   └── InputTooLargeError           a file (or what it inflates to) is over a size limit
    ├── RowError(ValueError)             one bad cell or row (file, row, column, reason)
    ├── GridError(ValueError)            an unknown grid or level, a bad cell key, id or region
    │   └── TooManyCellsError            a request would return more cells than its limit
    ├── IngestRejected(ValueError)       --strict ingest found bad rows; nothing written
    ├── UnitError(ValueError)            an unknown or inconvertible unit
    ├── UnknownElementError(KeyError)    an element or oxide code chemearth does not know
    ├── CRSError(ValueError)             an unknown coordinate reference system
    ├── StatisticsError(ValueError)      the data cannot give the statistic asked for
    │   └── FractalError                 a fractal curve, its breakpoints, an S-A filter or
    │                                    anomaly zones cannot be computed
    │                                    (chemearth.stats.fractal)
    ├── StoreError(RuntimeError)         the store is unusable or locked
    ├── NotFoundError(KeyError)          a dataset id (or version) is not in the store
    │   ├── LayerChoiceError             a layer request matches no layer, or several
    │   │                                (chemearth.grid.layers)
    │   └── TileError                    a tile outside the tile matrix, or a bad size
    │                                    (chemearth.render.tiles)
    ├── AccessDenied(PermissionError)    the actor may not see or change this
    ├── AuthenticationError(PermissionError)  an API token is malformed, unknown or revoked
    │   └── TooManyAttempts              too many failed tokens from one address (429)
    │                                    (chemearth.web.hygiene)
    │
    │   errors of one stage, defined in its module (all also ValueError):
    ├── PoolingError                     pooling rules that cannot be read, or a pooled layer
    │                                    that cannot be built (chemearth.reference.pooling)
    ├── StandardError                    a soil-quality standard file or request is invalid
    │                                    (chemearth.reference.standards)
    ├── ReferenceCompositionError(KeyError)  a reference composition that is not shipped
    │                                    (chemearth.reference.compositions)
    ├── RegionError                      a region that cannot be understood
    │                                    (chemearth.stats.baselines)
    ├── ClassError                       map classes cannot be made (chemearth.stats.classes)
    ├── CompositionError                 compositions that cannot be transformed or analysed
    │                                    (chemearth.stats.compositional)
    ├── VariogramError                   a variogram cannot be fitted or is invalid
    │                                    (chemearth.interp.variogram)
    ├── InterpolationError               kriging or IDW cannot be done
    │                                    (chemearth.interp.kernels, re-exported by
    │                                    chemearth.interp.kriging)
    ├── ProjectionError                  a local projection cannot be made
    │                                    (chemearth.interp.projections)
    ├── SurfaceError                     a surface cannot be made on the cells asked for
    │                                    (chemearth.interp.surfaces)
    ├── ChangeError                      two campaigns cannot be compared
    │                                    (chemearth.assess.change)
    ├── PairingError                     the samples of two datasets cannot be paired: neither
    │                                    declares the other's sites and none is co-located
    │                                    (chemearth.assess.pairing)
    ├── AnomalyError                     anomalies cannot be found as asked
    │                                    (chemearth.assess.anomalies)
    ├── BlockError                       geochemical blocks cannot be delineated
    │                                    (chemearth.assess.blocks)
    ├── ProbabilisticError               probabilistic screening or its calibration cannot be
    │                                    done as asked (chemearth.assess.probabilistic)
    ├── PlotError                        a statistical plot cannot be drawn
    │                                    (chemearth.render.plots)
    ├── FilterError                      a CQL2 filter that cannot be read or applied
    │                                    (chemearth.access.cql2)
    ├── MapError                         a map cannot be drawn (chemearth.render.map_furniture)
    ├── RecordQueryError                 a catalogue search that cannot be understood (a bad
    │                                    ``datetime`` or ``bbox``; chemearth.access.records)
    ├── MediaError                       a photo or video is refused: not one of the types
    │                                    taken, undecodable, or of no sample
    │                                    (chemearth.render.media)
    └── AtlasError                       an atlas cannot be made (chemearth.render.atlas)

A test imports every module and fails on a subclass of :class:`ChemearthError` that this
tree does not name.

Warnings derive from :class:`ChemearthWarning` (a ``UserWarning``).
"""

from __future__ import annotations

__all__ = [
    "AccessDenied",
    "AuthenticationError",
    "CRSError",
    "ChemearthError",
    "ChemearthWarning",
    "DescriptorError",
    "EmptyFileError",
    "GridError",
    "IngestRejected",
    "InputFileError",
    "InputTooLargeError",
    "NotFoundError",
    "RowError",
    "StatisticsError",
    "StoreError",
    "TooManyCellsError",
    "UnitError",
    "UnknownElementError",
]


class ChemearthError(Exception):
    """Root of every error chemearth raises on purpose.

    ``exit_code`` is what the command-line tool returns for this error.
    """

    exit_code = 1

    def __str__(self) -> str:  # KeyError quotes its message; we do not.
        return str(self.args[0]) if self.args else self.__class__.__name__


class DescriptorError(ChemearthError, ValueError):
    """A dataset descriptor is missing, malformed or inconsistent with its file."""

    exit_code = 2


class InputFileError(ChemearthError, ValueError):
    """A survey file cannot be read (missing, undecodable, unknown format)."""

    exit_code = 3


class EmptyFileError(InputFileError):
    """A survey file has no data rows."""


class InputTooLargeError(InputFileError):
    """A file is larger than a limit: an upload, a descriptor, or a spreadsheet once
    decompressed (its cells, or the time it takes to read). The web answers 413."""


class RowError(ChemearthError, ValueError):
    """One bad row or cell; names the file, row (1-based line in the file), column and reason."""

    exit_code = 3

    def __init__(self, file: str, row: int | None, column: str | None, reason: str) -> None:
        self.file = file
        self.row = row
        self.column = column
        self.reason = reason
        where = [file]
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column!r}")
        super().__init__(f"{', '.join(where)}: {reason}")


class GridError(ChemearthError, ValueError):
    """An unknown grid or level, an invalid cell key, cell id or region."""

    exit_code = 2


class TooManyCellsError(GridError):
    """A request would return more cells than its ``max_cells`` limit."""


class IngestRejected(ChemearthError, ValueError):
    """A strict ingest met bad rows; the store was left untouched.

    ``rejects`` holds the bad rows (a frame of file, row, column, value, reason) when
    the ingest got that far, else None.
    """

    exit_code = 4

    def __init__(self, message: str, rejects: object = None) -> None:
        super().__init__(message)
        self.rejects = rejects


class UnitError(ChemearthError, ValueError):
    """A unit chemearth cannot parse, or cannot convert to the canonical unit."""

    exit_code = 2


class UnknownElementError(ChemearthError, KeyError):
    """An element, oxide or parameter code chemearth does not know."""

    exit_code = 2


class CRSError(ChemearthError, ValueError):
    """A coordinate reference system that pyproj cannot build."""

    exit_code = 2


class StatisticsError(ChemearthError, ValueError):
    """The data cannot give the statistic asked for (empty, wrong shape, too few detects…)."""

    exit_code = 2


class StoreError(ChemearthError, RuntimeError):
    """The store directory is unusable, corrupt or locked by another process."""

    exit_code = 5


class NotFoundError(ChemearthError, KeyError):
    """A dataset id or version that is not in the store."""

    exit_code = 6


class ChemearthWarning(UserWarning):
    """Something the user should know, which does not stop the work."""


class AccessDenied(ChemearthError, PermissionError):
    """The actor may not see or change this (a sharing policy, an embargo or a role)."""

    exit_code = 5


class AuthenticationError(ChemearthError, PermissionError):
    """An API token is malformed, unknown or revoked."""

    exit_code = 5
