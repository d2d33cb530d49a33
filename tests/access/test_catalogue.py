"""The catalogue's memo: an answer is computed once per snapshot, even when many requests
ask for it at the same moment.

On a busy site every request that came in right after an upload was published found the
layer list missing and computed it (seconds of CPU each), all at once, until they ran past
the site's time limit (``tests/web/test_concurrency.py`` met 503s on ``/api/layers``). What
each test proves:

* :func:`test_concurrent_requests_compute_an_answer_once`: 16 threads asking for the same key
  while it is computed get the one answer, computed once; another key is not held up;
* :func:`test_a_failed_computation_is_not_kept`: an error reaches the caller, and the next
  caller computes it again;
* :func:`test_a_new_snapshot_computes_again`: a publish (a new generation) makes a new answer.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from chemearth.access.catalogue import Catalogue
from chemearth.store import open_store


@pytest.fixture
def catalogue(tmp_path: Path) -> Catalogue:
    return Catalogue(open_store(tmp_path / "store"))


def test_concurrent_requests_compute_an_answer_once(catalogue: Catalogue) -> None:
    calls: list[str] = []
    started = threading.Event()
    release = threading.Event()

    def slow() -> list[int]:
        calls.append("slow")
        started.set()
        release.wait(10)
        return [1, 2, 3]

    answers: list[object] = []
    threads = [threading.Thread(target=lambda: answers.append(catalogue.memo("layers", slow)))
               for _ in range(16)]
    threads[0].start()
    assert started.wait(10)
    for t in threads[1:]:
        t.start()
    # meanwhile another key is computed at once
    assert catalogue.memo("countries", lambda: "other") == "other"
    release.set()
    for t in threads:
        t.join(10)
    assert calls == ["slow"]
    assert answers == [[1, 2, 3]] * 16
    assert all(a is answers[0] for a in answers)


def test_a_failed_computation_is_not_kept(catalogue: Catalogue) -> None:
    def broken() -> object:
        raise RuntimeError("store unreachable")

    with pytest.raises(RuntimeError, match="unreachable"):
        catalogue.memo("layers", broken)
    assert catalogue.memo("layers", lambda: "now") == "now"


def test_a_new_snapshot_computes_again(
    catalogue: Catalogue, data_dir: Path, boundaries: Path
) -> None:
    import warnings

    from chemearth.errors import ChemearthWarning
    from chemearth.ingest.descriptor import load_descriptor
    from chemearth.ingest.pipeline import ingest
    from chemearth.ingest.shipped import shipped_descriptor

    assert catalogue.memo("n", lambda: len(catalogue.snapshot().records)) == 0
    desc = shipped_descriptor("meuse")
    assert desc is not None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ChemearthWarning)
        ingest(catalogue.store, load_descriptor(desc), data_dir=data_dir,
               boundaries=boundaries)
    assert catalogue.memo("n", lambda: len(catalogue.snapshot().records)) == 1


def test_a_dataset_published_during_a_request_is_no_error(
    catalogue: Catalogue, data_dir: Path, boundaries: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``/api/countries`` and ``/api/elements`` answered 500 (KeyError) when an upload was
    published between two reads of the snapshot in one request: one request reads one."""
    import warnings

    from chemearth.access.policy import Actor
    from chemearth.errors import ChemearthWarning
    from chemearth.ingest.descriptor import load_descriptor
    from chemearth.ingest.pipeline import ingest
    from chemearth.ingest.shipped import shipped_descriptor

    def add(ds: str) -> None:
        desc = shipped_descriptor(ds)
        assert desc is not None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ChemearthWarning)
            ingest(catalogue.store, load_descriptor(desc), data_dir=data_dir,
                   boundaries=boundaries)

    add("meuse")
    before = catalogue.snapshot()
    add("jura")  # published while a request is under way
    latest = Catalogue.snapshot.__get__(catalogue)
    for call, stale_reads, ids in ((catalogue.elements, 1, "datasets"),
                                   (catalogue.countries, 3, "dataset_ids")):
        reads = iter([before] * stale_reads)
        monkeypatch.setattr(catalogue, "snapshot", lambda r=reads: next(r, None) or latest())
        answer = call(Actor.anonymous())
        assert {d for row in answer for d in row[ids]} == {"meuse"}
        monkeypatch.undo()
