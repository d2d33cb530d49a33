"""The abstract store interface every backend implements.

The embedded backend (:class:`chemearth.store.embedded.EmbeddedStore`, DuckDB plus
Parquet) is the default. A server backend (PostgreSQL/PostGIS) and a distributed one
(Dask over partitioned Parquet) implement the same methods, and one parametrised test
suite runs against each.
"""

from __future__ import annotations

import abc
import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from chemearth.errors import StoreError
from chemearth.store.media import SiteMedia

__all__ = [
    "JOB_COLUMNS",
    "JOB_STATES",
    "MEASUREMENT_COLUMNS",
    "SAMPLE_SCHEMA",
    "JobHandle",
    "Store",
    "VersionRecord",
    "VersionWriter",
]

#: States of a job, in order: queued, running, then done or failed.
JOB_STATES = ("queued", "running", "done", "failed")
#: Columns of :meth:`Store.jobs` (and keys of :meth:`Store.job`).
JOB_COLUMNS = (
    "job_id", "kind", "state", "dataset_id", "actor", "organisation", "token_id",
    "created_at", "started_at", "finished_at", "updated_at", "progress", "step",
    "message", "attempts", "payload", "result",
)

#: Columns of a sample table (see docs/conventions.md).
SAMPLE_SCHEMA = pa.schema(
    [
        ("sample_index", pa.int32()),
        ("sample_id", pa.string()),
        ("longitude", pa.float64()),
        ("latitude", pa.float64()),
        ("x_orig", pa.float64()),
        ("y_orig", pa.float64()),
        ("crs_orig", pa.dictionary(pa.int8(), pa.string())),
        ("country", pa.dictionary(pa.int16(), pa.string())),
        ("medium", pa.dictionary(pa.int8(), pa.string())),
        ("depth_top_cm", pa.float64()),
        ("depth_bottom_cm", pa.float64()),
        ("sampled_on", pa.date32()),
        ("sampled", pa.bool_()),
        ("attributes", pa.string()),
        ("source_row", pa.int64()),
    ]
)

#: Columns of the (logical, long) measurement table returned by ``Store.measurements``.
MEASUREMENT_COLUMNS = (
    "dataset_id",
    "version",
    "sample_id",
    "longitude",
    "latitude",
    "country",
    "medium",
    "sample_index",
    "element",
    "value",
    "unit",
    "censored",
    "detection_limit",
    "method",
    "digestion",
    "original_value",
    "original_unit",
    "source_column",
    "qualifier",
)


@dataclass
class VersionRecord:
    """Everything the catalogue keeps about one version of a dataset."""

    dataset_id: str
    title: str
    organisation: str
    countries: list[str]
    media: list[str]
    depth_top_cm: float | None
    depth_bottom_cm: float | None
    sampling_years: list[int]
    methods: list[str]
    licence: str
    citation: str
    url: str
    sharing: str
    sharing_organisations: list[str]
    embargoed_elements: list[str]
    kind: str
    same_samples_as: str
    source_file: str
    source_sha256: str
    descriptor_sha256: str
    descriptor: str
    n_rows: int = 0
    n_samples: int = 0
    n_measurements: int = 0
    n_rejected: int = 0
    version: int = 0
    ingested_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    extra: dict[str, Any] = field(default_factory=dict)
    #: one entry per analyte column: column_id, source_column, element, unit, method,
    #: digestion, original_unit, factor, detection_limit
    columns: list[dict[str, Any]] = field(default_factory=list)


class VersionWriter(abc.ABC):
    """Writes one new dataset version; nothing is visible until :meth:`commit`.

    Use as a context manager: leaving the block without a commit (an exception, an
    interrupt) aborts and leaves the store as it was.
    """

    committed: bool = False
    version: int = 0
    n_measurements: int = 0
    n_censored: int = 0

    @abc.abstractmethod
    def write_samples(self, table: pa.Table) -> None:
        """Append sample rows (``SAMPLE_SCHEMA``)."""

    @abc.abstractmethod
    def write_measurements(self, table: pa.Table) -> None:
        """Append measurements in the wide layout: ``sample_index`` and, per analyte
        column ``k``, ``v<k>``, ``c<k>``, ``o<k>``, ``q<k>`` (``docs/conventions.md``)."""

    @abc.abstractmethod
    def exclude_samples(self, sample_index: np.ndarray) -> None:
        """Drop already-written samples (and their measurements) by ``sample_index``."""

    #: False: :meth:`commit` stores the version unpublished (see :meth:`Store.publish`).
    publish: bool = True

    @abc.abstractmethod
    def commit(
        self,
        record: VersionRecord,
        rejects: pd.DataFrame | None,
        per_country: dict[str, tuple[int, int]] | None,
    ) -> int:
        """Store the version, atomically; return its number.

        The version is visible at once unless :attr:`publish` was set to False before
        the commit: then it is kept unpublished, invisible to every read of the latest
        versions, until :meth:`Store.publish` (after its grid layers are built).
        ``per_country`` maps a country code ("" for none) to (samples, measurements);
        None lets the writer count them.
        """

    @abc.abstractmethod
    def abort(self) -> None:
        """Discard everything written."""

    def __enter__(self) -> VersionWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self.committed:
            self.abort()


class JobHandle(abc.ABC):
    """A job claimed by one worker (:meth:`Store.claim_job`), held until it ends.

    While the handle is held, no other worker may claim the job; a worker that dies
    (even by SIGKILL) releases it, and the job is offered again (``attempts`` counts the
    claims). Leaving the ``with`` block without :meth:`finish` or :meth:`fail` releases
    the job as it is (still ``running``), to be claimed again.
    """

    job_id: str
    kind: str
    payload: dict[str, Any]
    attempts: int

    @abc.abstractmethod
    def file(self, name: str) -> Path:
        """A local path holding the job's file ``name`` (as given to ``submit_job``)."""

    @abc.abstractmethod
    def progress(self, fraction: float, step: str) -> None:
        """Record progress (0 to 1) and the step being worked on."""

    @abc.abstractmethod
    def finish(self, result: dict[str, Any], message: str = "") -> None:
        """The job is done; ``result`` is JSON-able."""

    @abc.abstractmethod
    def fail(self, message: str, result: dict[str, Any] | None = None) -> None:
        """The job failed for the reason given."""

    @abc.abstractmethod
    def release(self) -> None:
        """Let go of the job (the worker stops without ending it)."""

    def __enter__(self) -> JobHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class Store(abc.ABC):
    """Where datasets, samples and measurements live.

    Writes are atomic per dataset version; reads see only committed versions.
    """

    @abc.abstractmethod
    def find_version(
        self, dataset_id: str, source_sha256: str, descriptor_sha256: str
    ) -> int | None:
        """The version already holding this exact file and descriptor, if any."""

    @abc.abstractmethod
    def begin_version(self, dataset_id: str) -> VersionWriter:
        """Start writing a new version of ``dataset_id`` (see :class:`VersionWriter`)."""

    @abc.abstractmethod
    def datasets(self, all_versions: bool = False) -> pd.DataFrame:
        """One row per dataset (latest version), or per version with ``all_versions``."""

    @abc.abstractmethod
    def samples(self, dataset_id: str | None = None, version: int | None = None) -> pd.DataFrame:
        """Samples of one dataset (latest version unless given), or of every dataset."""

    @abc.abstractmethod
    def measurements(
        self,
        dataset_id: str | None = None,
        version: int | None = None,
        elements: list[str] | None = None,
        limit: int | None = None,
    ) -> pd.DataFrame:
        """Measurements joined with their sample id and location."""

    @abc.abstractmethod
    def version_tables(
        self, dataset_id: str, version: int | None = None
    ) -> tuple[pa.Table, pa.Table | None]:
        """The stored sample table (``SAMPLE_SCHEMA``) and the wide measurement table of a
        version (latest unless given), for writing a derived version."""

    @abc.abstractmethod
    def measurement_columns(self, dataset_id: str, version: int | None = None) -> pd.DataFrame:
        """What each analyte column of a version holds: column_id, element, unit, method,
        digestion, original_unit, factor, detection_limit, source_column."""

    @abc.abstractmethod
    def column_values(
        self, dataset_id: str, version: int | None, column_id: int
    ) -> dict[str, np.ndarray]:
        """One analyte column's non-missing values: ``sample_index``, ``value``, ``censored``."""

    @abc.abstractmethod
    def write_cells(
        self,
        dataset_id: str,
        version: int | None,
        grid: str,
        table: pa.Table | Iterable[pa.Table],
    ) -> int:
        """Store (replace, atomically) the cell statistics of a version on ``grid``.

        ``table`` may be one table or an iterable of tables with the same schema, written
        as they come (so a large dataset never holds all its cells in memory). Returns the
        number of rows written.
        """

    @abc.abstractmethod
    def cell_versions(self) -> pd.DataFrame:
        """Which dataset versions have cell tables: dataset_id, version, grid, n_rows."""

    @abc.abstractmethod
    def cells(
        self,
        grid: str = "global",
        dataset_id: str | None = None,
        element: str | None = None,
        level_m: int | None = None,
        medium: str | None = None,
        limit: int | None = None,
    ) -> pd.DataFrame:
        """Stored cell statistics (latest versions), with ``dataset_id`` and ``version``."""

    @abc.abstractmethod
    def cell_inventory(self) -> pd.DataFrame:
        """Which layers the cell tables hold (latest versions).

        One row per dataset_id, version, grid, element, medium, method, unit and level_m,
        with ``cells`` (number of cells) and ``cells_n3`` (cells of 3 samples or more).
        """

    def generation(self) -> object:
        """A value that changes whenever the catalogue changes (``None``: unknown).

        Readers that cache what they derive from the catalogue compare it to decide when
        to read again.
        """
        return None

    @abc.abstractmethod
    def dataset_summary(self) -> pd.DataFrame:
        """Per dataset (latest version): samples, elements, data items, countries, media."""

    @abc.abstractmethod
    def country_summary(self) -> pd.DataFrame:
        """Per country: datasets, samples and data items (latest versions of surveys).

        Quality-control and textbook datasets, and other files of a survey already counted
        (``same_samples_as``), are left out so that nothing is counted twice.
        """

    @abc.abstractmethod
    def rejects(self, dataset_id: str, version: int | None = None) -> pd.DataFrame:
        """The rows rejected when that version was ingested, with reasons."""

    # ------------------------------------------------------------ publishing

    @property
    @abc.abstractmethod
    def location(self) -> str:
        """Where the store is, as :func:`chemearth.store.open_store` takes it (a folder or a
        ``postgresql://`` URL without its password)."""

    @abc.abstractmethod
    def publish(self, dataset_id: str, version: int) -> None:
        """Make an unpublished version visible, atomically (a no-op if it is published).

        Raises
        ------
        NotFoundError
            No such version.
        """

    @abc.abstractmethod
    def unpublished(self) -> pd.DataFrame:
        """Versions committed unpublished: dataset_id, version, source_sha256,
        descriptor_sha256, ingested_at."""

    @abc.abstractmethod
    def discard(self, dataset_id: str, version: int) -> None:
        """Remove an unpublished version with its cell tables (a published one: error).

        Raises
        ------
        StoreError
            The version is published.
        """

    # ------------------------------------------------------------ documents, audit

    @abc.abstractmethod
    def read_document(self, name: str) -> tuple[object, str | None]:
        """A small text document (the access tokens): (a stamp that changes when the
        document does, its text or None)."""

    @abc.abstractmethod
    def update_document(self, name: str, update: Callable[[str | None], str]) -> None:
        """Replace document ``name`` by ``update(old_text)``, atomically and serialised
        with every other update of it, in every process."""

    @abc.abstractmethod
    def append_audit(self, line: str) -> None:
        """Append one line (a JSON object) to the audit log; lines never interleave."""

    @abc.abstractmethod
    def audit_lines(self) -> Iterator[str]:
        """The audit log's lines, oldest first."""

    # ------------------------------------------------------------ jobs

    @abc.abstractmethod
    def submit_job(
        self,
        kind: str,
        payload: dict[str, Any],
        files: dict[str, Path] | None = None,
        *,
        dataset_id: str = "",
        actor: str = "",
        organisation: str = "",
        token_id: str = "",
    ) -> str:
        """Queue a job; the ``files`` are copied into the store. Returns its id."""

    @abc.abstractmethod
    def claim_job(self, worker: str, max_attempts: int = 3) -> JobHandle | None:
        """Claim the oldest job that is queued, or running with its worker gone.

        A job abandoned ``max_attempts`` times is marked failed instead (its message says
        so) and the next is looked at. None when there is nothing to do.
        """

    @abc.abstractmethod
    def job(self, job_id: str) -> dict[str, Any] | None:
        """One job (keys :data:`JOB_COLUMNS`), or None."""

    @abc.abstractmethod
    def jobs(self, limit: int = 100) -> pd.DataFrame:
        """The latest jobs, newest first (columns :data:`JOB_COLUMNS`)."""

    # ------------------------------------------------------------ collections of parts

    @abc.abstractmethod
    def write_parts(self, collection: str, parts: Mapping[str, bytes | None],
                    manifest: Mapping[str, Any]) -> None:
        """Replace the given parts of ``collection`` (``None``: delete them), keep its other
        parts, and set its manifest, atomically: readers see the old collection or the new
        one, never a mixture. Used for derived products kept whole (the pooled layers)."""

    @abc.abstractmethod
    def read_part(self, collection: str, name: str) -> bytes | None:
        """The bytes of one part of ``collection`` (None if there is no such part)."""

    @abc.abstractmethod
    def read_manifest(self, collection: str) -> dict[str, Any] | None:
        """The manifest of ``collection`` (None if it has never been written)."""

    @abc.abstractmethod
    def list_parts(self, collection: str) -> list[str]:
        """The names of the parts of ``collection``."""

    def site_media(self) -> SiteMedia:
        """The photos and videos attached to samples (:mod:`chemearth.store.media`)."""
        raise StoreError(f"{type(self).__name__} keeps no photos or videos")

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
