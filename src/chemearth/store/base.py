"""The abstract store interface every backend implements.

The embedded backend (:class:`chemearth.store.embedded.EmbeddedStore`, DuckDB plus
Parquet) is the default. A server backend (PostgreSQL/PostGIS) and a distributed one
(Dask over partitioned Parquet) implement the same methods, and one parametrised test
suite runs against each.
"""

from __future__ import annotations

import abc
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pyarrow as pa

__all__ = ["MEASUREMENT_SCHEMA", "SAMPLE_SCHEMA", "Store", "VersionRecord"]

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

#: Columns of a measurement table (see docs/conventions.md).
MEASUREMENT_SCHEMA = pa.schema(
    [
        ("sample_index", pa.int32()),
        ("element", pa.dictionary(pa.int8(), pa.string())),
        ("value", pa.float64()),
        ("unit", pa.dictionary(pa.int8(), pa.string())),
        ("censored", pa.bool_()),
        ("detection_limit", pa.float64()),
        ("method", pa.dictionary(pa.int8(), pa.string())),
        ("digestion", pa.dictionary(pa.int8(), pa.string())),
        ("original_value", pa.float64()),
        ("original_unit", pa.dictionary(pa.int8(), pa.string())),
        ("source_column", pa.dictionary(pa.int8(), pa.string())),
        ("qualifier", pa.dictionary(pa.int8(), pa.string())),
    ]
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


class Store(abc.ABC):
    """Where datasets, samples and measurements live.

    Writes are atomic per dataset version; reads see only committed versions.
    """

    @abc.abstractmethod
    def find_version(self, dataset_id: str, source_sha256: str, descriptor_sha256: str) -> int | None:
        """The version already holding this exact file and descriptor, if any."""

    @abc.abstractmethod
    def write_version(
        self,
        record: VersionRecord,
        samples: pa.Table,
        measurements: Iterable[pa.Table],
        rejects: pd.DataFrame | None = None,
    ) -> int:
        """Store a new version of ``record.dataset_id`` atomically; return its number."""

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
    def dataset_summary(self) -> pd.DataFrame:
        """Per dataset (latest version): samples, elements, data items, countries, media."""

    @abc.abstractmethod
    def country_summary(self) -> pd.DataFrame:
        """Per country: datasets, samples and data items (latest versions)."""

    @abc.abstractmethod
    def rejects(self, dataset_id: str, version: int | None = None) -> pd.DataFrame:
        """The rows rejected when that version was ingested, with reasons."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
