"""Unpublished versions, on every backend (``store_location``: embedded and PostgreSQL).

An upload commits its version unpublished, builds its grid layers and only then publishes
it (:meth:`Store.publish <chemearth.store.base.Store.publish>`), so that nobody sees a
dataset without its layers. What each test proves, on the real Meuse survey (v1: the whole
file, published; v2: its first 100 rows, unpublished, with its cells built):

* :func:`test_an_unpublished_version_is_invisible_to_every_latest_read`: ``datasets()`` (both
  forms), ``find_version``, ``samples()`` / ``measurements()`` without a version,
  ``cells()``, ``cell_inventory()``, ``dataset_summary()`` and ``country_summary()`` show v1
  only, as if v2 did not exist; a dataset whose only version is unpublished is not there at
  all;
* :func:`test_an_unpublished_version_is_read_by_its_number`: every read that names the version
  reads it (the grid builder and the publisher need that);
* :func:`test_publish_makes_it_visible_with_its_cells`: after ``publish`` every latest read
  shows v2 with its cells; publishing again is a no-op, an unknown version an error;
* :func:`test_discard_removes_an_unpublished_version_only`: ``discard`` removes it with its
  cells and refuses a published version;
* :func:`test_the_next_version_number_skips_an_unpublished_one`;
* :func:`test_ingesting_the_same_file_unpublished_again_resumes`: status ``resumed``, the same
  version, nothing new written;
* :func:`test_a_publish_killed_before_it_commits_leaves_the_old_state`: a process SIGKILLed at
  the ``before-publish`` fault point leaves v1 visible and v2 unpublished, and the store
  usable: v2 is then published by another process;
* :func:`test_a_cell_build_killed_mid_write_leaves_the_cells_as_they_were`: a process
  SIGKILLed while it replaces a version's cell table (``cells-before-rename``) leaves the
  old table, and (embedded) its half-written file is removed by the next writer;
* :func:`test_the_embedded_generation_changes_only_with_what_readers_see`: readers'
  caches are not rebuilt for unpublished versions, their cells or jobs;
* :func:`test_an_ingest_killed_mid_write_leaves_nothing_visible`: a client process SIGKILLed
  in the middle of writing a version (``before-rename``: data written, catalogue not yet;
  ``before-commit``: everything written, not committed) leaves nothing visible, and the
  same ingest then succeeds.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest

from chemearth.errors import ChemearthWarning, NotFoundError, StoreError
from chemearth.grid.layers import build_layers, grids_for
from chemearth.ingest.descriptor import Descriptor, load_descriptor
from chemearth.ingest.pipeline import IngestReport, ingest
from chemearth.ingest.readers import file_digest
from chemearth.ingest.shipped import shipped_descriptor
from chemearth.store import Store, is_server_url, open_store

DS = "meuse"
#: Levels the tests build (a few, to keep them quick).
LEVELS = [80_000, 10_000, 1_000]
#: Rows of the unpublished version (the whole file has 155).
V2_ROWS = 100

#: A process that publishes (``publish DS VERSION``), builds cells (``build DS VERSION``) or
#: ingests (``ingest DESCRIPTOR CSV``) into the store, for the tests that kill it at a
#: fault point.
CHILD = r"""
import sys, warnings
from pathlib import Path
from chemearth.store import open_store
location, what = sys.argv[1], sys.argv[2]
store = open_store(location)
if what == "publish":
    store.publish(sys.argv[3], int(sys.argv[4]))
elif what == "build":
    from chemearth.grid.layers import build_layers
    build_layers(store, versions={sys.argv[3]: int(sys.argv[4])}, levels=[80_000, 10_000],
                 force=True)
else:
    from chemearth.ingest.descriptor import load_descriptor
    from chemearth.ingest.pipeline import ingest
    warnings.simplefilter("ignore")
    ingest(store, load_descriptor(Path(sys.argv[3])), Path(sys.argv[4]))
print("finished", flush=True)
"""


@pytest.fixture
def store(store_location: str) -> Iterator[Store]:
    s = open_store(store_location)
    try:
        yield s
    finally:
        s.close()


@pytest.fixture(scope="module")
def meuse() -> Descriptor:
    return load_descriptor(shipped_descriptor(DS))  # type: ignore[arg-type]


def _subset(data_dir: Path, folder: Path, rows: int, name: str = "meuse-part.csv") -> Path:
    """The first ``rows`` data rows of the real Meuse file, as a file of its own."""
    lines = (data_dir / "meuse" / "meuse.csv").read_text().splitlines()
    path = folder / name
    path.write_text("\n".join(lines[: rows + 1]) + "\n")
    return path


def _ingest(store: Store, desc: Descriptor, path: Path, boundaries: Path,
            publish: bool = True) -> IngestReport:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ChemearthWarning)
        return ingest(store, desc, path, boundaries=boundaries, publish=publish)


@pytest.fixture
def staged(store: Store, meuse: Descriptor, data_dir: Path, boundaries: Path,
           tmp_path: Path) -> Path:
    """v1 (the whole file) published with its layers; v2 (a subset) unpublished with its
    layers built. Returns v2's file."""
    v1 = _ingest(store, meuse, data_dir / "meuse" / "meuse.csv", boundaries)
    build_layers(store, levels=LEVELS)
    part = _subset(data_dir, tmp_path, V2_ROWS)
    v2 = _ingest(store, meuse, part, boundaries, publish=False)
    assert (v1.version, v1.status, v2.version, v2.status) == (1, "ingested", 2, "ingested")
    built = build_layers(store, versions={DS: 2}, levels=LEVELS)
    assert set(built["status"]) == {"built"}
    return part


def _versions(frame: pd.DataFrame) -> set[tuple[str, int]]:
    if frame.empty:
        return set()
    return {(str(d), int(v)) for d, v in zip(frame["dataset_id"], frame["version"], strict=True)}


def _latest_reads(store: Store) -> dict[str, object]:
    """Everything a reader of the latest versions sees, as plain values."""
    return {
        "datasets": _versions(store.datasets()),
        "all versions": _versions(store.datasets(all_versions=True)),
        "samples": _versions(store.samples()),
        "samples of meuse": _versions(store.samples(DS)),
        "n samples of meuse": len(store.samples(DS)),
        "measurements": _versions(store.measurements(elements=["Zn"])),
        "measurements of meuse": _versions(store.measurements(DS, elements=["Zn"])),
        "cells": _versions(store.cells("global")) | _versions(store.cells("europe")),
        "cells of meuse": _versions(store.cells("global", dataset_id=DS)),
        "inventory": _versions(store.cell_inventory()),
        "summary": _versions(store.dataset_summary()),
        "summary samples": [int(x) for x in store.dataset_summary()["samples"]],
        "countries": store.country_summary().to_dict("records"),
    }


def _expected(version: int, n: int) -> dict[str, object]:
    v = {(DS, version)}
    return {
        "datasets": v, "all versions": {(DS, x) for x in range(1, version + 1)},
        "samples": v, "samples of meuse": v, "n samples of meuse": n,
        "measurements": v, "measurements of meuse": v,
        "cells": v, "cells of meuse": v, "inventory": v, "summary": v, "summary samples": [n],
        "countries": [{"country": "NL", "datasets": 1, "samples": n, "data_items": 4 * n}],
    }


def test_an_unpublished_version_is_invisible_to_every_latest_read(
    store: Store, staged: Path, meuse: Descriptor
) -> None:
    assert _latest_reads(store) == _expected(1, 155)
    left = store.unpublished()
    assert list(left.columns) == ["dataset_id", "version", "source_sha256",
                                  "descriptor_sha256", "ingested_at"]
    assert _versions(left) == {(DS, 2)}
    sha = file_digest(staged).sha256
    assert left["source_sha256"].iloc[0] == sha
    desc_sha = hashlib.sha256(meuse.text.encode()).hexdigest()
    assert store.find_version(DS, sha, desc_sha) is None
    # the cells of v2 exist (built before publishing), only nobody reads them as latest
    assert (DS, 2) in _versions(store.cell_versions())


def test_a_dataset_with_only_an_unpublished_version_is_not_there(
    store: Store, meuse: Descriptor, data_dir: Path, boundaries: Path, tmp_path: Path
) -> None:
    report = _ingest(store, meuse, _subset(data_dir, tmp_path, 20), boundaries, publish=False)
    build_layers(store, versions={DS: report.version}, levels=LEVELS)
    assert report.version == 1
    assert store.datasets().empty
    assert store.datasets(all_versions=True).empty
    assert store.samples().empty
    assert store.measurements().empty
    assert store.cells("global").empty
    assert store.cell_inventory().empty
    assert store.dataset_summary().empty
    assert store.country_summary().empty
    reads: list[Callable[[], object]] = [
        lambda: store.samples(DS), lambda: store.measurements(DS),
        lambda: store.measurement_columns(DS),
    ]
    for read in reads:
        with pytest.raises(NotFoundError):
            read()
    assert len(store.samples(DS, 1)) == 20


def test_an_unpublished_version_is_read_by_its_number(store: Store, staged: Path) -> None:
    assert len(store.samples(DS, 2)) == V2_ROWS
    assert len(store.samples(DS, 1)) == 155
    zn = store.measurements(DS, 2, elements=["Zn"])
    assert set(zn["version"]) == {2}
    assert sorted(zn["value"]) == sorted(pd.read_csv(staged)["zinc"])
    cols = store.measurement_columns(DS, 2)
    assert sorted(cols["element"]) == ["Cd", "Cu", "Pb", "Zn"]
    k = int(cols.loc[cols["element"] == "Zn", "column_id"].iloc[0])
    assert len(store.column_values(DS, 2, k)["value"]) == V2_ROWS
    samples, wide = store.version_tables(DS, 2)
    assert samples.num_rows == V2_ROWS
    assert wide is not None
    assert wide.num_rows == V2_ROWS
    assert store.rejects(DS, 2).empty


def test_publish_makes_it_visible_with_its_cells(store: Store, staged: Path,
                                                 meuse: Descriptor) -> None:
    before = store.generation()
    store.publish(DS, 2)
    assert _latest_reads(store) == _expected(2, V2_ROWS)
    assert store.unpublished().empty
    desc_sha = hashlib.sha256(meuse.text.encode()).hexdigest()
    assert store.find_version(DS, file_digest(staged).sha256, desc_sha) == 2
    if before is not None:
        assert store.generation() != before  # readers that cache know to read again
    # every grid of the survey, every level built, is there
    samples = store.samples(DS)
    grids = set(grids_for(samples["longitude"].to_numpy(), samples["latitude"].to_numpy()))
    inv = store.cell_inventory()
    assert set(inv["grid"]) == grids == {"global", "europe"}
    assert set(inv["element"]) == {"Cd", "Cu", "Pb", "Zn"}
    assert set(inv["level_m"]) == set(LEVELS)
    assert int(store.cells("global", dataset_id=DS, element="Zn", level_m=80_000)["n"].sum()) \
        == V2_ROWS
    # again: nothing changes; an unknown version: an error
    store.publish(DS, 2)
    assert _latest_reads(store) == _expected(2, V2_ROWS)
    with pytest.raises(NotFoundError):
        store.publish(DS, 9)
    with pytest.raises(NotFoundError):
        store.publish("no-such-dataset", 1)


def test_discard_removes_an_unpublished_version_only(store: Store, staged: Path) -> None:
    store.discard(DS, 2)
    assert store.unpublished().empty
    assert _versions(store.cell_versions()) == {(DS, 1)}
    with pytest.raises(NotFoundError):
        store.samples(DS, 2)
    assert _latest_reads(store) == _expected(1, 155)
    store.discard(DS, 2)  # gone already: nothing to do
    with pytest.raises(StoreError, match="published"):
        store.discard(DS, 1)
    assert _latest_reads(store) == _expected(1, 155)


def test_the_next_version_number_skips_an_unpublished_one(
    store: Store, staged: Path, meuse: Descriptor, data_dir: Path, boundaries: Path,
    tmp_path: Path,
) -> None:
    v3 = _ingest(store, meuse, _subset(data_dir, tmp_path, 50, "fifty.csv"), boundaries)
    assert (v3.status, v3.version) == ("ingested", 3)
    assert _versions(store.datasets()) == {(DS, 3)}
    assert _versions(store.unpublished()) == {(DS, 2)}
    # publishing the older one later does not hide the newer
    store.publish(DS, 2)
    assert _versions(store.datasets()) == {(DS, 3)}
    assert _versions(store.datasets(all_versions=True)) == {(DS, 1), (DS, 2), (DS, 3)}
    assert len(store.samples(DS)) == 50


def test_ingesting_the_same_file_unpublished_again_resumes(
    store: Store, staged: Path, meuse: Descriptor, boundaries: Path
) -> None:
    again = _ingest(store, meuse, staged, boundaries, publish=False)
    assert (again.status, again.version) == ("resumed", 2)
    assert _versions(store.unpublished()) == {(DS, 2)}
    assert _versions(store.datasets(all_versions=True)) == {(DS, 1)}
    # a different file is a new version, not a resumption
    other = staged.with_name("other.csv")
    other.write_text(staged.read_text().replace("1022.0", "1023.0"))
    new = _ingest(store, meuse, other, boundaries, publish=False)
    assert (new.status, new.version) == ("ingested", 3)
    assert _versions(store.unpublished()) == {(DS, 2), (DS, 3)}


# --------------------------------------------------------------------------- killed writers


def _snapshot(store: Store) -> dict[str, object]:
    """What every reader sees, and which versions are kept unpublished."""
    return {
        **_latest_reads(store),
        "unpublished": _versions(store.unpublished()),
        "cell versions": _versions(store.cell_versions()),
        "samples csv": store.samples().to_csv(index=False),
        "measurements csv": store.measurements().to_csv(index=False),
        "summary csv": store.dataset_summary().to_csv(index=False),
    }


def _run_until_fault(location: str, fault: str, flag: Path, *args: str) -> None:
    """Run :data:`CHILD` with ``args`` until it pauses at ``fault``, then SIGKILL it."""
    env = {**os.environ, "CHEMEARTH_FAULT": fault, "CHEMEARTH_FAULT_FLAG": str(flag)}
    proc = subprocess.Popen([sys.executable, "-c", CHILD, location, *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not flag.exists():
            if proc.poll() is not None:
                out, err = proc.communicate()
                pytest.fail(f"the child ended before {fault}: {out}{err[-2000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"the child never reached {fault}")
            time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL


def test_a_publish_killed_before_it_commits_leaves_the_old_state(
    store: Store, store_location: str, staged: Path, tmp_path: Path
) -> None:
    before = _snapshot(store)
    _run_until_fault(store_location, "before-publish", tmp_path / "reached",
                     "publish", DS, "2")
    assert _snapshot(store) == before
    assert _snapshot(open_store(store_location)) == before  # and as a new process sees it
    # the store is usable: another process publishes it, and it is complete
    proc = subprocess.run([sys.executable, "-c", CHILD, store_location, "publish", DS, "2"],
                          check=False, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert _latest_reads(store) == _expected(2, V2_ROWS)
    assert store.unpublished().empty


@pytest.mark.parametrize("fault", ["before-rename", "before-commit"])
def test_an_ingest_killed_mid_write_leaves_nothing_visible(
    store: Store, store_location: str, meuse: Descriptor, data_dir: Path, boundaries: Path,
    tmp_path: Path, fault: str,
) -> None:
    _ingest(store, meuse, data_dir / "meuse" / "meuse.csv", boundaries)
    build_layers(store, levels=LEVELS)
    before = _snapshot(store)
    part = _subset(data_dir, tmp_path, 120)
    desc = tmp_path / "meuse.toml"
    desc.write_text(meuse.text)
    _run_until_fault(store_location, fault, tmp_path / "reached", "ingest", str(desc),
                     str(part))
    assert _snapshot(store) == before
    # usable: the same ingest now succeeds, as the next version
    again = _ingest(open_store(store_location), meuse, part, boundaries)
    assert (again.status, again.version) == ("ingested", 2)
    assert _versions(store.datasets()) == {(DS, 2)}
    assert len(store.samples(DS)) == 120


def test_a_cell_build_killed_mid_write_leaves_the_cells_as_they_were(
    store: Store, store_location: str, staged: Path, tmp_path: Path
) -> None:
    before = {**_snapshot(store), "cells v2": store.cells("global").to_csv(index=False)}
    _run_until_fault(store_location, "cells-before-rename", tmp_path / "reached",
                     "build", DS, "2")
    after = {**_snapshot(store), "cells v2": store.cells("global").to_csv(index=False)}
    assert after == before
    reopened = open_store(store_location)  # a writer's open cleans up after the killed one
    if not is_server_url(store_location):
        assert not list(Path(store_location).rglob("*.tmp"))
    reopened.publish(DS, 2)
    assert _latest_reads(store) == _expected(2, V2_ROWS)


def test_the_embedded_generation_changes_only_with_what_readers_see(
    tmp_path: Path, meuse: Descriptor, data_dir: Path, boundaries: Path
) -> None:
    """Readers rebuild their caches when the generation changes: an unpublished version
    and its cells, or a job's progress, must not make them (embedded: a file's text)."""
    store = open_store(tmp_path / "store")
    _ingest(store, meuse, data_dir / "meuse" / "meuse.csv", boundaries)
    g1 = store.generation()
    build_layers(store, levels=LEVELS)  # cells of the published version: readers see them
    g2 = store.generation()
    assert g2 != g1
    _ingest(store, meuse, _subset(data_dir, tmp_path, 30), boundaries, publish=False)
    build_layers(store, versions={DS: 2}, levels=LEVELS)
    store.submit_job("upload", {})
    with store.claim_job("w") as handle:  # type: ignore[union-attr]
        handle.progress(0.5, "half")
    assert store.generation() == g2
    store.discard(DS, 2)
    again = _ingest(store, meuse, _subset(data_dir, tmp_path, 40, "forty.csv"), boundaries,
                    publish=False)
    assert store.generation() == g2
    store.publish(DS, again.version)
    assert store.generation() != g2


def test_an_embedded_reader_sees_every_new_generation(tmp_path: Path) -> None:
    """A reader keeps the generation file's text while the file is the same one (its
    identity: inode, times, size), and reads it again each time a writer replaced it,
    even with text of the same length, many times in a row."""
    from chemearth.store.embedded_writer import GENERATION_FILE, bump_generation

    home = tmp_path / "store"
    writer, reader = open_store(home), open_store(home)
    assert reader.generation() == ""
    seen = []
    for _ in range(50):
        bump_generation(home)
        seen.append(reader.generation())
        assert seen[-1] == (home / GENERATION_FILE).read_text() == writer.generation()
        assert reader.generation() == seen[-1]  # kept while the file is the same
    assert len(set(seen)) == 50
