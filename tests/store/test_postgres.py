"""The PostgreSQL store: the same frames as the embedded store for the same real data, and
what only a server store has (migrations, QGIS views and roles, job locks held by
database sessions, bulk COPY paths, transactions that a killed client leaves untouched).

Every test runs on its own fresh database of the session's PostgreSQL server
(``fresh_pg_url``), except the comparison tests, which share one database per module.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psycopg
import pyarrow as pa
import pytest

from chemearth.errors import ChemearthWarning, NotFoundError, StoreError
from chemearth.store import SAMPLE_SCHEMA, EmbeddedStore, open_store
from chemearth.store.base import Store, VersionRecord
from chemearth.store.postgres import PostgresStore

#: Real datasets of the comparison tests: one small, one with several methods per
#: element, one with a rejected row and many countries, one without locations.
COMPARED = ("meuse", "kola-chorizon", "gemas", "nada-cadmium")


# ---------------------------------------------------------------------- helpers


def _sql(url: str, query: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(query, params)  # type: ignore[arg-type]
        return cur.fetchall() if cur.description else []


def _samples(n: int, country: str = "FI") -> pa.Table:
    rng = np.random.default_rng(n)
    return pa.table({
        "sample_index": pa.array(np.arange(n, dtype=np.int32)),
        "sample_id": pa.array([f"S{i}" for i in range(n)]),
        "longitude": pa.array(rng.uniform(24, 28, n)),
        "latitude": pa.array(rng.uniform(61, 65, n)),
        "x_orig": pa.array(rng.uniform(0, 1, n)),
        "y_orig": pa.array(rng.uniform(0, 1, n)),
        "crs_orig": pa.array(["EPSG:4326"] * n),
        "country": pa.array([country] * n),
        "medium": pa.array(["topsoil"] * n),
        "depth_top_cm": pa.array([0.0] * n),
        "depth_bottom_cm": pa.array([5.0] * n),
        "sampled_on": pa.nulls(n, pa.date32()),
        "sampled": pa.array([True] * n),
        "attributes": pa.array(["{}"] * n),
        "source_row": pa.array(np.arange(n, dtype=np.int64) + 2),
    }).cast(SAMPLE_SCHEMA)


def _wide(n: int, k: int) -> pa.Table:
    rng = np.random.default_rng(k)
    cols: dict[str, pa.Array] = {"sample_index": pa.array(np.arange(n, dtype=np.int32))}
    for j in range(k):
        v = np.round(rng.lognormal(2, 1, n), 2)
        cols[f"v{j}"] = pa.array(v, mask=np.arange(n) % 7 == 3)
        cols[f"c{j}"] = pa.array((np.arange(n) % 5 == 1) & (np.arange(n) % 7 != 3))
        cols[f"o{j}"] = pa.nulls(n, pa.float64())
        cols[f"q{j}"] = pa.array(np.where(np.arange(n) % 5 == 1, 1, 0).astype(np.int8),
                                 mask=np.arange(n) % 5 != 1)
    return pa.table(cols)


def _record(dataset_id: str, elements: tuple[str, ...], **kw: Any) -> VersionRecord:
    columns = [
        {"column_id": j, "source_column": f"{e}_ppm", "element": e, "unit": "mg/kg",
         "method": kw.pop(f"method{j}", ""), "digestion": "", "original_unit": "ppm",
         "factor": 1.0, "detection_limit": 0.5}
        for j, e in enumerate(elements)
    ]
    base: dict[str, Any] = {
        "title": f"Test survey {dataset_id}", "organisation": "GTK", "countries": ["FI"],
        "media": ["topsoil"], "depth_top_cm": 0.0, "depth_bottom_cm": 5.0,
        "sampling_years": [2020], "methods": [], "licence": "CC0",
        "citation": "chemearth tests", "url": "", "sharing": "public",
        "sharing_organisations": [], "embargoed_elements": [], "kind": "survey",
        "same_samples_as": "", "source_file": "tiny.csv", "source_sha256": uuid.uuid4().hex,
        "descriptor_sha256": "d", "descriptor": "", "n_rows": 0, "n_samples": 0,
    }
    base.update(kw)
    return VersionRecord(dataset_id=dataset_id, columns=columns, **base)


def _tiny(store: Store, dataset_id: str, n: int = 20, elements: tuple[str, ...] = ("Cu", "U"),
          publish: bool = True, exclude: list[int] | None = None, **kw: Any) -> int:
    """Write a small version directly through the writer; its number."""
    with store.begin_version(dataset_id) as w:
        w.publish = publish
        w.write_samples(_samples(n).slice(0, n // 2))
        w.write_samples(_samples(n).slice(n // 2))
        w.write_measurements(_wide(n, len(elements)).slice(0, n // 2))
        w.write_measurements(_wide(n, len(elements)).slice(n // 2))
        if exclude:
            w.exclude_samples(np.array(exclude))
        return w.commit(_record(dataset_id, elements, n_rows=n, n_samples=n, **kw), None, None)


def _ingest(store: Store, dataset_id: str, data_dir: Path, boundaries: Path) -> Any:
    from chemearth.ingest.descriptor import load_descriptor
    from chemearth.ingest.pipeline import ingest
    from chemearth.ingest.shipped import shipped_descriptor

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ChemearthWarning)
        return ingest(store, load_descriptor(shipped_descriptor(dataset_id)),
                      data_dir=data_dir, boundaries=boundaries)


@pytest.fixture
def pg(fresh_pg_url: str) -> PostgresStore:
    store = PostgresStore(fresh_pg_url)
    yield store
    store.close()


# ---------------------------------------------------------------------- same frames


@pytest.fixture(scope="module")
def both(pg_cluster: Any, tmp_path_factory: pytest.TempPathFactory, data_dir: Path,
         boundaries: Path) -> tuple[EmbeddedStore, PostgresStore]:
    """The :data:`COMPARED` datasets ingested, and their grid layers built, in an embedded
    store and in a PostgreSQL store."""
    from chemearth.grid.layers import build_layers

    name = f"test_cmp_{uuid.uuid4().hex[:10]}"
    pg_cluster.create_database(name)
    emb = EmbeddedStore(tmp_path_factory.mktemp("compared"))
    pgs = PostgresStore(pg_cluster.url(name))
    for store in (emb, pgs):
        for ds in COMPARED:
            _ingest(store, ds, data_dir, boundaries)
        build_layers(store)
    yield emb, pgs
    pgs.close()
    pg_cluster.drop_database(name)


def _same(a: pd.DataFrame, b: pd.DataFrame, keys: list[str] | None = None) -> None:
    """``a`` (PostgreSQL) equals ``b`` (embedded); with ``keys``, ``a`` is ordered by
    them and the frames are compared after breaking ties (DuckDB orders ties as it
    likes, differently from one call to the next)."""
    if keys:
        asc = [not k.endswith(" desc") for k in keys]
        cols = [k.removesuffix(" desc") for k in keys]
        ordered = a.sort_values(cols, ascending=asc, kind="stable")
        assert list(ordered.index) == list(a.index), "not in the embedded store's order"
        every = [c for c in a.columns if a[c].dtype != object]
        a = a.sort_values(every, kind="stable").reset_index(drop=True)
        b = b.sort_values(every, kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)


def test_catalogue_reads_are_the_same(both: tuple[EmbeddedStore, PostgresStore]) -> None:
    emb, pgs = both
    for all_versions in (False, True):
        a, b = pgs.datasets(all_versions), emb.datasets(all_versions)
        assert a["ingested_at"].dtype == b["ingested_at"].dtype
        _same(a.drop(columns="ingested_at"), b.drop(columns="ingested_at"))
    assert list(pgs.datasets()["dataset_id"]) == sorted(COMPARED)
    _same(pgs.dataset_summary(), emb.dataset_summary())
    _same(pgs.country_summary(), emb.country_summary())
    _same(pgs.cell_versions(), emb.cell_versions())
    _same(pgs.unpublished(), emb.unpublished())
    for ds in COMPARED:
        _same(pgs.measurement_columns(ds), emb.measurement_columns(ds))
        _same(pgs.rejects(ds), emb.rejects(ds))
    assert len(pgs.rejects("gemas")) == 1


@pytest.mark.parametrize("dataset_id", [None, *COMPARED])
def test_samples_are_the_same(both: tuple[EmbeddedStore, PostgresStore],
                              dataset_id: str | None) -> None:
    emb, pgs = both
    _same(pgs.samples(dataset_id), emb.samples(dataset_id))


@pytest.mark.parametrize(("dataset_id", "elements", "limit"), [
    ("meuse", None, None),
    ("kola-chorizon", None, None),
    ("gemas", ["Cu", "Zn"], None),
    (None, ["Cd"], None),
    ("meuse", ["Zn"], 7),
    ("nada-cadmium", None, None),
    ("meuse", ["Unobtainium"], None),
])
def test_measurements_are_the_same(
    both: tuple[EmbeddedStore, PostgresStore], dataset_id: str | None,
    elements: list[str] | None, limit: int | None
) -> None:
    emb, pgs = both
    a = pgs.measurements(dataset_id, elements=elements, limit=limit)
    b = emb.measurements(dataset_id, elements=elements, limit=limit)
    _same(a, b, ["dataset_id", "version", "sample_index", "element", "method"])


@pytest.mark.parametrize("dataset_id", COMPARED)
def test_version_tables_and_columns_are_the_same(
    both: tuple[EmbeddedStore, PostgresStore], dataset_id: str
) -> None:
    emb, pgs = both
    (s1, m1), (s2, m2) = pgs.version_tables(dataset_id), emb.version_tables(dataset_id)
    assert s1.schema == s2.schema == SAMPLE_SCHEMA
    pd.testing.assert_frame_equal(s1.to_pandas(), s2.to_pandas())
    assert m1 is not None
    assert m2 is not None
    assert m1.schema == m2.schema
    pd.testing.assert_frame_equal(m1.to_pandas(), m2.to_pandas())
    for k in pgs.measurement_columns(dataset_id)["column_id"]:
        a, b = pgs.column_values(dataset_id, None, int(k)), emb.column_values(dataset_id, None, k)
        assert a.keys() == b.keys()
        for key in a:
            assert a[key].dtype == b[key].dtype
            np.testing.assert_array_equal(a[key], b[key])


@pytest.mark.parametrize(("grid", "dataset_id", "element", "level_m", "medium", "limit"), [
    ("global", "meuse", None, None, None, None),
    ("global", None, None, None, None, None),
    ("europe", "kola-chorizon", "Ni", None, None, None),
    ("europe", None, "Zn", 10_000, None, None),
    ("global", None, "Cu", None, "c-horizon", 50),
    ("global", "gemas", "Nothing", None, None, None),
    ("nowhere", None, None, None, None, None),
])
def test_cells_are_the_same(
    both: tuple[EmbeddedStore, PostgresStore], grid: str, dataset_id: str | None,
    element: str | None, level_m: int | None, medium: str | None, limit: int | None
) -> None:
    emb, pgs = both
    a = pgs.cells(grid, dataset_id, element, level_m, medium, limit)
    b = emb.cells(grid, dataset_id, element, level_m, medium, limit)
    if limit is not None:  # ties at the limit: only the order and the columns can agree
        assert list(a.columns) == list(b.columns)
        assert len(a) == len(b) == limit
        a, b = a.drop(columns=["method", "unit"]), b.drop(columns=["method", "unit"])
    _same(a, b, ["dataset_id", "level_m desc", "element", "medium", "cell"] if len(a) else None)


def test_cell_inventory_is_the_same(both: tuple[EmbeddedStore, PostgresStore]) -> None:
    emb, pgs = both
    _same(pgs.cell_inventory(), emb.cell_inventory(),
          ["dataset_id", "grid", "element", "medium", "method", "level_m desc"])


def test_empty_stores_read_the_same(pg: PostgresStore, tmp_path: Path) -> None:
    emb = EmbeddedStore(tmp_path / "empty")
    for read in ("datasets", "samples", "measurements", "cells", "cell_inventory",
                 "cell_versions", "dataset_summary", "country_summary", "unpublished", "jobs"):
        a, b = getattr(pg, read)(), getattr(emb, read)()
        pd.testing.assert_frame_equal(a, b, obj=read)
    for store in (pg, emb):
        with pytest.raises(NotFoundError, match="dataset 'nope' is not in the store"):
            store.samples("nope")
        with pytest.raises(NotFoundError, match="dataset 'nope' version 3 is not in the store"):
            store.measurements("nope", version=3)


def test_direct_writes_read_the_same(pg: PostgresStore, tmp_path: Path) -> None:
    """The writer's own paths (chunks, exclusion, counting by country, unpublished
    versions) give the embedded store's results."""
    emb = EmbeddedStore(tmp_path / "emb")
    for store in (pg, emb):
        assert _tiny(store, "tiny", n=300, elements=("Cu", "U", "Cu"), exclude=[3, 4, 250],
                     method0="ICP", method2="XRF", source_sha256="s1") == 1
        assert _tiny(store, "tiny", n=40, publish=False, source_sha256="s2") == 2
    _same(pg.measurements("tiny"), emb.measurements("tiny"))
    _same(pg.samples("tiny", 2), emb.samples("tiny", 2))
    _same(pg.country_summary(), emb.country_summary())
    _same(pg.unpublished().drop(columns="ingested_at"),
          emb.unpublished().drop(columns="ingested_at"))
    (s1, m1), (s2, m2) = pg.version_tables("tiny", 1), emb.version_tables("tiny", 1)
    pd.testing.assert_frame_equal(s1.to_pandas(), s2.to_pandas())
    assert m1 is not None
    assert m2 is not None
    assert m1.schema == m2.schema
    pd.testing.assert_frame_equal(m1.to_pandas(), m2.to_pandas())
    assert len(s1) == 297


# ---------------------------------------------------------------------- migrations


def test_migrations_run_once_even_when_workers_open_together(fresh_pg_url: str) -> None:
    from chemearth.store.postgres_schema import MIGRATIONS

    errors: list[BaseException] = []

    def open_it() -> None:
        try:
            PostgresStore(fresh_pg_url).close()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    rows = _sql(fresh_pg_url, "SELECT version FROM chemearth.schema_migrations ORDER BY 1")
    assert rows == [(i + 1,) for i in range(len(MIGRATIONS))]


def test_a_new_migration_is_applied_at_open(
    fresh_pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import chemearth.store.postgres_schema as schema

    PostgresStore(fresh_pg_url).close()
    extra = ("a test table", ["CREATE TABLE chemearth.migration_test (x integer)"])
    monkeypatch.setattr(schema, "MIGRATIONS", [*schema.MIGRATIONS, extra])
    PostgresStore(fresh_pg_url).close()
    PostgresStore(fresh_pg_url).close()
    rows = _sql(fresh_pg_url, "SELECT version, description FROM chemearth.schema_migrations "
                              "ORDER BY 1")
    assert rows[-1] == (len(schema.MIGRATIONS), "a test table")
    assert len(rows) == len(schema.MIGRATIONS)
    assert _sql(fresh_pg_url, "SELECT to_regclass('chemearth.migration_test') IS NOT NULL") == [
        (True,)]


def test_a_newer_schema_or_an_old_one_read_only_is_refused(fresh_pg_url: str) -> None:
    with pytest.raises(StoreError, match="open it once read-write"):
        PostgresStore(fresh_pg_url, read_only=True)
    PostgresStore(fresh_pg_url).close()
    _sql(fresh_pg_url, "INSERT INTO chemearth.schema_migrations VALUES (99, 'future')")
    with pytest.raises(StoreError, match="schema version 99, newer than this chemearth"):
        PostgresStore(fresh_pg_url)


def test_a_database_without_postgis_is_refused_clearly(pg_cluster: Any) -> None:
    name = f"test_plain_{uuid.uuid4().hex[:10]}"
    pg_cluster.psql(f'CREATE DATABASE "{name}" OWNER chemearth TEMPLATE template0')
    try:
        with pytest.raises(StoreError, match="a superuser must run CREATE EXTENSION postgis"):
            PostgresStore(pg_cluster.url(name))
    finally:
        pg_cluster.drop_database(name)


# ---------------------------------------------------------------------- the store itself


def test_location_and_errors_never_show_the_password(fresh_pg_url: str) -> None:
    from urllib.parse import urlsplit

    store = open_store(fresh_pg_url)
    assert isinstance(store, PostgresStore)
    parts = urlsplit(fresh_pg_url)
    assert parts.password
    assert parts.password not in store.location
    assert store.location == fresh_pg_url.replace(f":{parts.password}@", "@")
    wrong = fresh_pg_url.replace(parts.password, "not-the-password-42")
    with pytest.raises(StoreError, match="password authentication failed") as exc:
        PostgresStore(wrong)
    assert "not-the-password-42" not in str(exc.value)
    with pytest.raises(StoreError) as exc:
        PostgresStore(f"postgresql://x:secret-99@127.0.0.1:{free_port()}/nope")
    assert "secret-99" not in str(exc.value)
    assert "PostgreSQL store postgresql://x@" in str(exc.value)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_read_only_store_refuses_writes(pg: PostgresStore, fresh_pg_url: str) -> None:
    _tiny(pg, "tiny")
    ro = PostgresStore(fresh_pg_url, read_only=True)
    assert list(ro.datasets()["dataset_id"]) == ["tiny"]
    for call in (lambda: ro.begin_version("x"), lambda: ro.publish("tiny", 1),
                 lambda: ro.discard("tiny", 1), lambda: ro.append_audit("{}"),
                 lambda: ro.write_cells("tiny", 1, "global", pa.table({"x": [1]})),
                 lambda: ro.update_document("access.json", lambda old: ""),
                 lambda: ro.submit_job("k", {}), lambda: ro.claim_job("w")):
        with pytest.raises(StoreError, match="read-only"):
            call()
    ro.close()


def test_unpublished_versions_are_invisible_until_published(pg: PostgresStore) -> None:
    g0 = pg.generation()
    assert _tiny(pg, "tiny", source_sha256="a") == 1
    g1 = pg.generation()
    assert g1 != g0
    assert _tiny(pg, "tiny", publish=False, n=30, source_sha256="b") == 2
    assert pg.find_version("tiny", "b", "d") is None
    assert pg.find_version("tiny", "a", "d") == 1
    assert list(pg.datasets(all_versions=True)["version"]) == [1]
    assert len(pg.samples("tiny")) == 20
    assert len(pg.samples("tiny", 2)) == 30
    assert list(pg.unpublished()[["dataset_id", "version"]].itertuples(index=False)) == [
        ("tiny", 2)]
    # the grid layers of an unpublished version are built before it is published
    assert len(pg.measurement_columns("tiny", 2)) == 2
    assert len(pg.column_values("tiny", 2, 0)["value"]) > 0
    cells = pa.table({"level_m": pa.array([1000], pa.int32()), "element": ["Cu"], "n": [4]})
    assert pg.write_cells("tiny", 2, "global", cells) == 1
    assert pg.cells("global").empty  # only latest published versions
    pg.publish("tiny", 2)
    pg.publish("tiny", 2)  # a no-op
    assert list(pg.datasets()["version"]) == [2]
    assert pg.unpublished().empty
    assert pg.find_version("tiny", "b", "d") == 2
    assert len(pg.cells("global")) == 1
    with pytest.raises(StoreError, match="is published; it is not discarded"):
        pg.discard("tiny", 2)
    with pytest.raises(NotFoundError, match="version 9"):
        pg.publish("tiny", 9)
    # a discarded version leaves nothing; its number is given again
    assert _tiny(pg, "tiny", publish=False, source_sha256="c") == 3
    g = pg.generation()
    pg.discard("tiny", 3)
    pg.discard("tiny", 3)  # nothing left to do
    assert pg.generation() != g
    assert _sql(pg._url, "SELECT count(*) FROM chemearth.versions WHERE version = 3") == [(0,)]
    assert _sql(pg._url, "SELECT to_regclass('chemearth.samples_3') IS NULL") == [(True,)]
    assert _tiny(pg, "tiny", publish=False, source_sha256="d") == 3


def test_publish_and_discard_do_not_wait_for_readers(pg: PostgresStore,
                                                      fresh_pg_url: str) -> None:
    _tiny(pg, "tiny", source_sha256="1")
    _tiny(pg, "tiny", publish=False, source_sha256="2")
    _tiny(pg, "tiny", publish=False, source_sha256="3")
    with psycopg.connect(fresh_pg_url) as reader:  # a long read, its transaction open
        assert reader.execute("SELECT count(*) FROM chemearth.samples").fetchone() == (20,)
        for call in (lambda: pg.discard("tiny", 3), lambda: pg.publish("tiny", 2)):
            done = threading.Thread(target=call)
            done.start()
            done.join(20)
            assert not done.is_alive()
    assert list(pg.datasets(all_versions=True)["version"]) == [1, 2]
    assert _sql(fresh_pg_url, "SELECT count(*) FROM chemearth.samples") == [(40,)]


def test_generation_changes_with_the_catalogue_only(pg: PostgresStore) -> None:
    _tiny(pg, "tiny")
    g = pg.generation()
    pg.datasets()
    pg.samples("tiny")
    pg.append_audit('{"event": "read"}')
    assert pg.generation() == g
    pg.write_cells("tiny", None, "global", pa.table({"level_m": [1], "n": [1]}))
    assert pg.generation() != g


def test_writers_of_one_dataset_wait_for_each_other(pg: PostgresStore) -> None:
    first = pg.begin_version("tiny")
    first.write_samples(_samples(4))
    got: list[int] = []
    second = threading.Thread(target=lambda: got.append(_tiny(pg, "tiny", source_sha256="2")))
    second.start()
    time.sleep(0.5)
    assert second.is_alive()  # waiting for the first writer's lock
    assert got == []
    other = _tiny(pg, "other")  # another dataset does not wait
    assert other == 1
    assert first.commit(_record("tiny", ()), None, None) == 1
    second.join(30)
    assert got == [2]
    assert list(pg.datasets(all_versions=True)["version"]) == [1, 1, 2]


def test_an_aborted_write_leaves_nothing(pg: PostgresStore) -> None:
    def write_and_fail() -> None:
        with pg.begin_version("tiny") as w:
            w.write_samples(_samples(10))
            w.write_measurements(_wide(10, 2))
            raise RuntimeError("abandoned")

    with pytest.raises(RuntimeError):
        write_and_fail()
    assert pg.datasets(all_versions=True).empty
    assert _sql(pg._url, "SELECT count(*) FROM chemearth.measurement_chunks") == [(0,)]
    assert _tiny(pg, "tiny") == 1


def test_reads_from_many_threads_share_few_connections(pg: PostgresStore) -> None:
    _tiny(pg, "tiny", n=100)
    want = pg.samples("tiny")
    values = pg.column_values("tiny", None, 1)["value"]
    failures: list[BaseException] = []

    def read() -> None:
        try:
            for _ in range(15):
                pd.testing.assert_frame_equal(pg.samples("tiny"), want)
                np.testing.assert_array_equal(pg.column_values("tiny", None, 1)["value"], values)
                pg.generation()
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    threads = [threading.Thread(target=read) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    count = "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'chemearth' " \
            "AND datname = current_database()"
    assert 0 < _sql(pg._url, count)[0][0] <= 16  # at most 8 of each driver kept
    pg.close()
    assert _sql(pg._url, count) == [(0,)]


def test_bulk_data_goes_through_copy(
    pg: PostgresStore, monkeypatch: pytest.MonkeyPatch, data_dir: Path, boundaries: Path
) -> None:
    """An ingest sends a few statements whatever its size: its rows go by binary COPY."""
    from adbc_driver_manager import dbapi

    calls = {"execute": 0, "ingest": 0}
    execute, ingest_ = dbapi.Cursor.execute, dbapi.Cursor.adbc_ingest

    def counted(name: str, f: Any) -> Any:
        def call(self: Any, *a: Any, **kw: Any) -> Any:
            calls[name] += 1
            return f(self, *a, **kw)
        return call

    monkeypatch.setattr(dbapi.Cursor, "execute", counted("execute", execute))
    monkeypatch.setattr(dbapi.Cursor, "adbc_ingest", counted("ingest", ingest_))
    report = _ingest(pg, "gemas", data_dir, boundaries)
    assert report.n_measurements > 40_000
    assert calls["execute"] < 40, calls
    assert calls["ingest"] < 20, calls


# ---------------------------------------------------------------------- QGIS views


def test_views_for_qgis(both: tuple[EmbeddedStore, PostgresStore]) -> None:
    _, pgs = both
    url = pgs._url
    views = [r[0] for r in _sql(url, "SELECT table_name FROM information_schema.views "
                                     "WHERE table_schema = 'chemearth_views' ORDER BY 1")]
    assert views == sorted(COMPARED)
    geo = _sql(url, "SELECT type, srid FROM geometry_columns "
                    "WHERE f_table_schema = 'chemearth_views' AND f_table_name = 'meuse'")
    assert geo == [("POINT", 4326)]
    cols = [r[0] for r in _sql(url, "SELECT column_name FROM information_schema.columns WHERE "
                                    "table_schema = 'chemearth_views' AND table_name = "
                                    "'kola-chorizon' ORDER BY ordinal_position")]
    assert cols[:5] == ["sample_index", "sample_id", "geom", "country", "medium"]
    assert len(cols) == 5 + 2 * len(pgs.measurement_columns("kola-chorizon"))
    assert len(set(cols)) == len(cols)
    assert "cu_mg_kg_below_dl" in _sql(url, "SELECT string_agg(column_name, ',') FROM "
                                            "information_schema.columns WHERE table_name = "
                                            "'meuse'")[0][0].split(",")
    zn = pgs.measurements("meuse", elements=["Zn"]).set_index("sample_id")["value"]
    rows = _sql(url, 'SELECT sample_id, zn_mg_kg, zn_mg_kg_below_dl FROM chemearth_views."meuse"')
    assert {r[0]: r[1] for r in rows} == zn.to_dict()
    plan = "\n".join(r[0] for r in _sql(
        url, 'EXPLAIN SELECT * FROM chemearth_views."gemas" '
             "WHERE geom && ST_MakeEnvelope(5, 50, 6, 51, 4326)"))
    assert "geom_idx" in plan


def test_the_reader_role_sees_public_views_without_embargoed_elements(
    pg: PostgresStore, pg_cluster: Any, fresh_pg_url: str
) -> None:
    from urllib.parse import quote, urlsplit

    pg_cluster.psql("DO $$ BEGIN CREATE ROLE chemearth_reader NOLOGIN; "
                    "EXCEPTION WHEN duplicate_object THEN NULL; END $$")
    _tiny(pg, "open", elements=("Cu", "U", "Cu"), embargoed_elements=["U"],
          method0="ICP", method2="XRF")
    _tiny(pg, "closed", sharing="restricted")
    _tiny(pg, "later", publish=False)
    pg.publish("later", 1)
    user, password = f"qgis_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    pg_cluster.psql(f"CREATE ROLE {user} LOGIN PASSWORD '{password}' IN ROLE chemearth_reader")
    try:
        parts = urlsplit(fresh_pg_url)
        url = f"postgresql://{user}:{quote(password)}@{parts.hostname}:{parts.port}{parts.path}"
        cols = _sql(url, 'SELECT * FROM chemearth_views."open" LIMIT 0')
        with psycopg.connect(url) as conn:
            cur = conn.execute('SELECT * FROM chemearth_views."open"')
            names = [d.name for d in cur.description or []]
            assert len(cur.fetchall()) == 20
        assert names == ["sample_index", "sample_id", "geom", "country", "medium",
                         "cu_mg_kg_icp", "cu_mg_kg_icp_below_dl",
                         "cu_mg_kg_xrf", "cu_mg_kg_xrf_below_dl"]
        assert cols == []
        m = pg.measurements("open", elements=["Cu"])
        want = {(r.sample_index, r.method): (r.value, r.censored) for r in m.itertuples()}
        rows = _sql(url, 'SELECT sample_index, cu_mg_kg_icp, cu_mg_kg_icp_below_dl, '
                         'cu_mg_kg_xrf, cu_mg_kg_xrf_below_dl FROM chemearth_views."open"')
        assert sum(r[2] is True for r in rows) > 0
        for i, icp, icp_dl, xrf, xrf_dl in rows:
            for method, value, below in (("ICP", icp, icp_dl), ("XRF", xrf, xrf_dl)):
                assert (value, below) == want.get((i, method), (None, None))
        assert len(_sql(url, 'SELECT * FROM chemearth_views."later"')) == 20
        for table in ('chemearth_views."closed"', "chemearth.samples", "chemearth.versions",
                      "chemearth.qgis_1"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                _sql(url, f"SELECT * FROM {table} LIMIT 1")
    finally:
        pg_cluster.psql(f"DROP ROLE {user}")


# ---------------------------------------------------------------------- documents, audit


def test_document_updates_are_serialised(pg: PostgresStore) -> None:
    assert pg.read_document("access.json") == (None, None)

    def bump(old: str | None) -> str:
        n = json.loads(old or '{"n": 0}')["n"]
        time.sleep(0.001)
        return json.dumps({"n": n + 1})

    def work() -> None:
        for _ in range(20):
            pg.update_document("access.json", bump)

    threads = [threading.Thread(target=work) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stamp, text = pg.read_document("access.json")
    assert json.loads(text or "{}") == {"n": 100}
    pg.update_document("access.json", lambda old: old or "")
    assert pg.read_document("access.json")[0] != stamp
    with pytest.raises(StoreError, match="not a plain file name"):
        pg.read_document("../etc/passwd")


def test_audit_lines_come_back_in_order(pg: PostgresStore, monkeypatch: pytest.MonkeyPatch) -> None:
    import chemearth.store.postgres_jobs as jobs

    monkeypatch.setattr(jobs, "_AUDIT_BATCH", 3)
    assert list(pg.audit_lines()) == []
    for i in range(7):
        pg.append_audit(json.dumps({"i": i}) + "\n")
    pg.append_audit("")
    assert [json.loads(line)["i"] for line in pg.audit_lines()] == list(range(7))


# ---------------------------------------------------------------------- jobs

_WORKER = """
import pathlib, sys, time
from chemearth.store import open_store
store = open_store(sys.argv[1])
handle = store.claim_job("worker-" + sys.argv[2])
pathlib.Path(sys.argv[3]).write_text(handle.job_id if handle else "")
time.sleep(3600)
"""


def _claiming_worker(url: str, flag: Path, name: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-c", _WORKER, url, name, str(flag)])
    deadline = time.monotonic() + 60
    while not flag.exists():
        assert proc.poll() is None, "the worker stopped"
        assert time.monotonic() < deadline, "the worker never claimed"
        time.sleep(0.02)
    return proc


def test_a_killed_worker_releases_its_job_at_once(
    pg: PostgresStore, fresh_pg_url: str, tmp_path: Path
) -> None:
    upload = tmp_path / "survey.csv"
    upload.write_text("id,Cu\nA,1\n")
    job_id = pg.submit_job("upload", {"file": "survey.csv"}, {"survey.csv": upload},
                           dataset_id="x", actor="alice")
    job = pg.job(job_id)
    assert job is not None
    assert (job["state"], job["attempts"], job["actor"]) == ("queued", 0, "alice")
    for attempt in (1, 2):
        flag = tmp_path / f"claimed-{attempt}"
        proc = _claiming_worker(fresh_pg_url, flag, str(attempt))
        try:
            assert flag.read_text() == job_id
            assert pg.claim_job("me") is None  # held by the live worker
            assert pg.job(job_id)["state"] == "running"  # type: ignore[index]
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
    deadline = time.monotonic() + 10
    while (handle := pg.claim_job("me")) is None:  # the server notices the dead session
        assert time.monotonic() < deadline
        time.sleep(0.05)
    with handle:
        assert (handle.job_id, handle.attempts, handle.payload) == (job_id, 3,
                                                                    {"file": "survey.csv"})
        path = handle.file("survey.csv")
        assert path.read_text() == "id,Cu\nA,1\n"
        with pytest.raises(StoreError, match="has no file"):
            handle.file("other.csv")
    # abandoned a third time: failed, with the reason
    assert pg.claim_job("me", max_attempts=3) is None
    job = pg.job(job_id)
    assert job is not None
    assert job["state"] == "failed"
    assert job["message"].startswith("abandoned 3 times")
    assert _sql(fresh_pg_url, "SELECT count(*) FROM chemearth.job_files") == [(0,)]


def test_workers_never_claim_the_same_job(pg: PostgresStore) -> None:
    ids = [pg.submit_job("k", {"i": i}) for i in range(12)]
    claimed: list[str] = []
    handles = []
    lock = threading.Lock()

    def work() -> None:
        while (h := pg.claim_job(threading.current_thread().name)) is not None:
            with lock:
                claimed.append(h.job_id)
                handles.append(h)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claimed) == sorted(ids)
    for i, h in enumerate(handles):
        h.progress(0.5, "half")
        if i % 2:
            h.finish({"ok": i}, "done it")
        else:
            h.fail("no", {"error": "X"})
    frame = pg.jobs(limit=5)
    assert list(frame.columns) == list(pg.jobs().columns)
    assert len(frame) == 5
    assert list(pg.jobs()["job_id"]) == ids[::-1]  # newest first
    job = pg.job(handles[1].job_id)
    assert job is not None
    assert (job["state"], job["progress"], job["result"], job["message"]) == (
        "done", 1.0, {"ok": 1}, "done it")
    assert job["finished_at"].tzinfo is not None
    assert pg.job("nope") is None


# ---------------------------------------------------------------------- killed clients


def _survey(folder: Path, rows: int) -> Path:
    rng = np.random.default_rng(7)
    df = pd.DataFrame({
        "id": [f"S{i:07d}" for i in range(rows)],
        "lon": np.round(rng.uniform(5.0, 5.8, rows), 5),
        "lat": np.round(rng.uniform(51.9, 52.3, rows), 5),
    })
    for e in ("Cu", "Zn", "Pb", "Cd", "As", "Ni", "Cr", "Co", "V", "Mn", "Ba", "Sr"):
        df[e] = np.round(rng.lognormal(3, 1, rows), 2)
    df.to_csv(folder / "big.csv", index=False)
    columns = "\n".join(f'{e} = "{e}"' for e in df.columns[3:])
    (folder / "big.toml").write_text(f"""
[dataset]
id = "big"
title = "Synthetic survey for the atomicity test"
countries = ["NL"]
medium = "topsoil"
[source]
path = "{folder / 'big.csv'}"
[coordinates]
x = "lon"
y = "lat"
[sample]
id = "id"
[columns]
{columns}
""")
    return folder / "big.toml"


def _snapshot(url: str) -> dict[str, Any]:
    store = PostgresStore(url, read_only=True)
    try:
        return {
            "versions": store.datasets(all_versions=True).to_csv(index=False),
            "unpublished": store.unpublished().to_csv(index=False),
            "samples": store.samples().to_csv(index=False),
            "measurements": store.measurements().to_csv(index=False),
            "cells": store.cell_versions().to_csv(index=False),
            "countries": store.country_summary().to_csv(index=False),
            "tables": _sql(url, "SELECT tablename FROM pg_tables WHERE schemaname = "
                                "'chemearth' ORDER BY 1"),
            "chunks": _sql(url, "SELECT count(*) FROM chemearth.measurement_chunks"),
        }
    finally:
        store.close()


def _kill_at(url: str, code: str, env: dict[str, str], fault: str | None, flag: Path,
             mid_copy: bool = False) -> None:
    env = {**os.environ, **env, "CHEMEARTH_STORE": url}
    if fault:
        env |= {"CHEMEARTH_FAULT": fault, "CHEMEARTH_FAULT_FLAG": str(flag)}
    proc = subprocess.Popen([sys.executable, "-c", code], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail("the child finished before it could be killed")
            if fault and flag.exists():
                break
            if mid_copy and _sql(url, "SELECT count(*) FROM pg_stat_progress_copy "
                                      "WHERE tuples_processed > 0")[0][0]:
                break
            time.sleep(0.005)
        else:
            pytest.fail("the child never reached the point to kill it at")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    deadline = time.monotonic() + 10  # the server rolls back when it sees the socket close
    while _sql(url, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")[0][0]:
        assert time.monotonic() < deadline
        time.sleep(0.05)


_INGEST = """
import os
from chemearth.ingest.descriptor import load_descriptor
from chemearth.ingest.pipeline import ingest
from chemearth.store import open_store
ingest(open_store(), load_descriptor(os.environ["DESCRIPTOR"]),
       boundaries=os.environ["CHEMEARTH_BOUNDARIES"], publish=os.environ["PUBLISH"] == "1")
"""


@pytest.mark.parametrize(("fault", "rows"), [
    pytest.param(None, 400_000, marks=pytest.mark.slow),
    ("before-rename", 3000),
    ("before-commit", 3000),
])
def test_a_killed_writer_leaves_the_store_as_it_was(
    pg: PostgresStore, fresh_pg_url: str, tmp_path: Path, data_dir: Path, boundaries: Path,
    fault: str | None, rows: int,
) -> None:
    from chemearth.ingest.descriptor import load_descriptor
    from chemearth.ingest.pipeline import ingest

    _ingest(pg, "meuse", data_dir, boundaries)
    descriptor = _survey(tmp_path, rows)
    before = _snapshot(fresh_pg_url)
    env = {"DESCRIPTOR": str(descriptor), "CHEMEARTH_BOUNDARIES": str(boundaries),
           "PUBLISH": "1"}
    _kill_at(fresh_pg_url, _INGEST, env, fault, tmp_path / "reached", mid_copy=fault is None)
    assert _snapshot(fresh_pg_url) == before
    report = ingest(pg, load_descriptor(descriptor), boundaries=boundaries)
    assert (report.status, report.version, report.n_samples) == ("ingested", 1, rows)
    assert sorted(pg.datasets()["dataset_id"]) == ["big", "meuse"]


def test_a_killed_publish_or_grid_build_changes_nothing(
    pg: PostgresStore, fresh_pg_url: str, tmp_path: Path, boundaries: Path
) -> None:
    from chemearth.grid.layers import build_layers

    descriptor = _survey(tmp_path, 2000)
    env = {"DESCRIPTOR": str(descriptor), "CHEMEARTH_BOUNDARIES": str(boundaries),
           "PUBLISH": "0"}
    subprocess.run([sys.executable, "-c", _INGEST], env={**os.environ, **env,
                   "CHEMEARTH_STORE": fresh_pg_url}, check=True)
    assert list(pg.unpublished()["version"]) == [1]
    build = ("from chemearth.grid.layers import build_layers\n"
             "from chemearth.store import open_store\n"
             "build_layers(open_store(), versions={'big': 1})\n")
    before = _snapshot(fresh_pg_url)
    _kill_at(fresh_pg_url, build, {}, "cells-before-rename", tmp_path / "cells")
    assert _snapshot(fresh_pg_url) == before
    publish = "from chemearth.store import open_store\nopen_store().publish('big', 1)\n"
    _kill_at(fresh_pg_url, publish, {}, "before-publish", tmp_path / "publish")
    assert _snapshot(fresh_pg_url) == before
    build_layers(pg, versions={"big": 1})
    pg.publish("big", 1)
    assert list(pg.datasets()["dataset_id"]) == ["big"]
    assert pg.unpublished().empty
    assert len(pg.cells("global", "big", "Cu")) > 0
