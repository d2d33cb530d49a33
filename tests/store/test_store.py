"""The store interface, run against both backends: the embedded DuckDB + Parquet store and
the PostgreSQL/PostGIS server store (``tests/store/test_postgres.py`` compares their reads
frame by frame on real surveys).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from chemearth.errors import NotFoundError, StoreError
from chemearth.ingest.descriptor import parse_descriptor
from chemearth.ingest.pipeline import ingest
from chemearth.store import MEASUREMENT_COLUMNS, EmbeddedStore, Store, open_store

DESCRIPTOR = """
[dataset]
id = "tiny"
title = "A tiny survey in Finland"
countries = ["FI"]
medium = "c-horizon"
licence = "CC0"
citation = "chemearth tests"
[source]
path = "{path}"
[coordinates]
x = "lon"
y = "lat"
[sample]
id = "id"
attributes = ["rock"]
[censoring]
encoding = "lt_string"
[columns]
Cu = "Cu"
Fe2O3 = {{ element = "Fe2O3", unit = "wt.%", method = "XRF", digestion = "total" }}
As_ppb = {{ element = "As", unit = "ppb" }}
"""

ROWS = """id,lon,lat,rock,Cu,Fe2O3,As_ppb
A1,25.0,62.0,granite,12.5,4.2,<50
A2,25.5,62.5,gneiss,<0.5,3.1,800
A3,26.0,63.0,granite,30,,120
"""


@pytest.fixture(params=["embedded", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if request.param == "embedded":
        return open_store(tmp_path / "store")
    return open_store(request.getfixturevalue("fresh_pg_url"))


def _ingest(store: Store, folder: Path, rows: str, boundaries: Path) -> object:
    csv = folder / "tiny.csv"
    csv.write_text(rows)
    desc = parse_descriptor(DESCRIPTOR.format(path=csv))
    return ingest(store, desc, boundaries=boundaries)


def test_long_measurement_table(store: Store, tmp_path: Path, boundaries: Path) -> None:
    _ingest(store, tmp_path, ROWS, boundaries)
    m = store.measurements("tiny")
    assert tuple(m.columns) == MEASUREMENT_COLUMNS
    got = {(r.sample_id, r.element): r for r in m.itertuples()}
    assert len(got) == 8  # 9 cells, one empty
    fe = got[("A1", "Fe")]
    assert fe.value == pytest.approx(
        4.2 * 10_000 * 2 * 55.845 / (2 * 55.845 + 3 * 15.999), rel=1e-4
    )
    assert (
        fe.unit,
        fe.original_value,
        fe.original_unit,
        fe.source_column,
        fe.method,
        fe.digestion,
    ) == ("mg/kg", pytest.approx(4.2), "wt.%", "Fe2O3", "XRF", "total")
    cu = got[("A2", "Cu")]
    assert (cu.value, cu.censored, cu.detection_limit, cu.qualifier) == (0.5, True, 0.5, "<")
    as_ = got[("A1", "As")]
    assert (as_.value, as_.censored, as_.original_value, as_.original_unit) == (
        pytest.approx(0.05),
        True,
        pytest.approx(50),
        "ppb",
    )
    assert got[("A3", "Cu")].censored == False  # noqa: E712 - numpy bool
    assert set(m["country"]) == {"FI"}


def test_samples_keep_attributes_and_locations(
    store: Store, tmp_path: Path, boundaries: Path
) -> None:
    _ingest(store, tmp_path, ROWS, boundaries)
    s = store.samples("tiny")
    assert list(s["sample_id"]) == ["A1", "A2", "A3"]
    assert list(s["source_row"]) == [2, 3, 4]
    assert s["attributes"][0] == '{"rock": "granite"}'
    assert list(s["medium"]) == ["c-horizon"] * 3


def test_changed_file_is_a_new_version_and_the_old_one_is_kept(
    store: Store, tmp_path: Path, boundaries: Path
) -> None:
    r1 = _ingest(store, tmp_path, ROWS, boundaries)
    r2 = _ingest(store, tmp_path, ROWS, boundaries)
    r3 = _ingest(store, tmp_path, ROWS + "A4,27.0,64.0,basalt,44,5.0,90\n", boundaries)
    assert [(r.status, r.version) for r in (r1, r2, r3)] == [  # type: ignore[attr-defined]
        ("ingested", 1),
        ("unchanged", 1),
        ("ingested", 2),
    ]
    assert len(store.samples("tiny")) == 4
    assert len(store.samples("tiny", version=1)) == 3
    versions = store.datasets(all_versions=True)
    assert list(versions["version"]) == [1, 2]
    assert list(store.datasets()["version"]) == [2]
    summary = store.dataset_summary()
    assert (summary["samples"][0], summary["data_items"][0], summary["elements"][0]) == (4, 11, 3)


def test_unknown_dataset(store: Store) -> None:
    with pytest.raises(NotFoundError, match="dataset 'nope' is not in the store"):
        store.samples("nope")
    with pytest.raises(KeyError):
        store.measurements("nope", version=3)


def test_empty_store(store: Store) -> None:
    assert store.datasets().empty
    assert store.measurements().empty
    assert store.country_summary().empty


def test_read_only_store_refuses_writes(tmp_path: Path) -> None:
    ro = EmbeddedStore(tmp_path / "ro", read_only=True)
    with pytest.raises(StoreError, match="read-only"):
        ro.begin_version("x")


def test_country_summary_counts_surveys_only(
    store: Store, tmp_path: Path, boundaries: Path
) -> None:
    _ingest(store, tmp_path, ROWS, boundaries)
    df = store.country_summary()
    assert df.to_dict("records") == [
        {"country": "FI", "datasets": 1, "samples": 3, "data_items": 8}
    ]
    assert isinstance(df, pd.DataFrame)


@pytest.mark.parametrize(("wait_s", "ok"), [(10.0, True), (0.1, False)])
def test_a_process_holding_the_catalogue_lock_is_waited_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, wait_s: float, ok: bool
) -> None:
    """Several server workers share one store: a brief lock held by another process is
    waited for (up to LOCK_WAIT_S), not an error."""
    import subprocess
    import sys
    import time

    import chemearth.store.embedded as emb
    from chemearth.errors import StoreError
    from chemearth.store import open_store

    store = open_store(tmp_path / "s")
    marker = tmp_path / "locked"
    holder = subprocess.Popen([
        sys.executable, "-c",
        "import duckdb, pathlib, time, sys; c = duckdb.connect(sys.argv[1]); "
        "pathlib.Path(sys.argv[2]).touch(); time.sleep(1.5); c.close()",
        str(store.home / "catalog.duckdb"), str(marker),
    ])
    try:
        while not marker.exists():
            time.sleep(0.02)
        monkeypatch.setattr(emb, "LOCK_WAIT_S", wait_s)
        if ok:
            assert store.datasets().empty
        else:
            with pytest.raises(StoreError, match="in use by another process"):
                store.datasets()
    finally:
        holder.wait(timeout=30)
