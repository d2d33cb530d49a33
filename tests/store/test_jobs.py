"""The job queue of the store, on every backend (``store_location``: embedded and PostgreSQL).

What each test proves:

* :func:`test_a_job_goes_queued_running_done_with_its_progress` and
  :func:`test_a_failed_job_keeps_its_reason`: a job's record (keys exactly
  :data:`~chemearth.store.base.JOB_COLUMNS`) follows queued → running → done or failed,
  with its progress, step, attempts, times, message and result.
* :func:`test_jobs_are_listed_newest_first_and_claimed_oldest_first`: jobs submitted within
  the same second are still listed newest first and claimed oldest first.
* :func:`test_a_jobs_files_come_back_by_name`: the files given with a job come back, by
  name, byte for byte, to the worker that claims it; other names are refused, and the
  files are gone once the job ended.
* :func:`test_a_released_job_is_claimed_again`: a worker that lets go of a job without
  ending it leaves it running, to be claimed again (attempts 2).
* :func:`test_threads_never_claim_the_same_job` and
  :func:`test_processes_never_claim_the_same_job`: workers claiming at the same time (threads
  of one process, or three processes) each get different jobs, and every job is run once.
* :func:`test_a_sigkilled_worker_releases_its_job`: while a worker process holds a job
  nobody else may claim it; killed by SIGKILL, it lets go at once and the job is claimed
  again with attempts 2.
* :func:`test_a_job_abandoned_max_attempts_times_fails`: after ``max_attempts`` workers died
  holding it, the job is failed with a message saying so, and the next job is claimed.
"""

from __future__ import annotations

import collections
import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from chemearth.errors import StoreError
from chemearth.store import Store, open_store
from chemearth.store.base import JOB_COLUMNS

#: A worker process: ``hold`` claims one job, says which, and waits to be killed; ``drain``
#: waits for the ``go`` file, then claims and finishes jobs until none is left, printing
#: each id.
WORKER = r"""
import os, sys, time
from pathlib import Path
from chemearth.store import open_store

location, mode, max_attempts = sys.argv[1], sys.argv[2], int(sys.argv[3])
store = open_store(location)
name = f"test-worker-{os.getpid()}"
if mode == "hold":
    handle = store.claim_job(name, max_attempts)
    print("claimed", handle.job_id if handle is not None else "-", flush=True)
    time.sleep(3600)
else:
    go = Path(sys.argv[4])
    print("ready", flush=True)
    while not go.exists():
        time.sleep(0.005)
    while (handle := store.claim_job(name, max_attempts)) is not None:
        with handle:
            time.sleep(0.01)
            handle.finish({"worker": name})
        print(handle.job_id, flush=True)
"""


@pytest.fixture
def store(store_location: str) -> Iterator[Store]:
    s = open_store(store_location)
    try:
        yield s
    finally:
        s.close()


def _worker(location: str, mode: str, *extra: str, max_attempts: int = 3) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, location, mode, str(max_attempts), *extra],
        stdout=subprocess.PIPE, text=True,
    )


def _held_by_child(location: str, max_attempts: int = 3) -> tuple[subprocess.Popen[str], str]:
    """A worker process holding the job it claimed (and that job's id)."""
    proc = _worker(location, "hold", max_attempts=max_attempts)
    assert proc.stdout is not None
    line = proc.stdout.readline().split()
    assert line[:1] == ["claimed"], f"the worker process did not claim: {line}"
    return proc, line[1]


def _kill(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


def _claim_again(store: Store, max_attempts: int = 3) -> object:
    """``claim_job`` right after a worker was killed. The embedded store's flock is gone when
    the process is; a PostgreSQL server lets go of the dead session's lock as soon as it
    reads the closed socket, a moment later: that moment is printed."""
    t0 = time.monotonic()
    handle = store.claim_job("test-claimer", max_attempts)
    while handle is None and time.monotonic() - t0 < 10:
        time.sleep(0.01)
        handle = store.claim_job("test-claimer", max_attempts)
    print(f"claimed again {1000 * (time.monotonic() - t0):.1f} ms after the kill")
    return handle


def _state(store: Store, job_id: str) -> str:
    job = store.job(job_id)
    assert job is not None
    return str(job["state"])


def _submit(store: Store, n: int) -> list[str]:
    return [store.submit_job("test", {"n": i}) for i in range(n)]


# --------------------------------------------------------------------------- lifecycle


def test_a_job_goes_queued_running_done_with_its_progress(store: Store, tmp_path: Path) -> None:
    survey = tmp_path / "survey.csv"
    survey.write_text("id,lon,lat,Zn\nA,5.7,50.9,300\n")
    before = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    job_id = store.submit_job(
        "upload", {"file": "survey.csv", "nested": {"a": [1, 2]}}, {"survey.csv": survey},
        dataset_id="meuse-x", actor="alice", organisation="NGU", token_id="tok-1",
    )
    queued = store.job(job_id)
    assert queued is not None
    assert tuple(queued) == JOB_COLUMNS
    assert {k: queued[k] for k in ("job_id", "kind", "state", "dataset_id", "actor",
                                   "organisation", "token_id", "progress", "attempts",
                                   "payload", "result", "started_at", "finished_at")} == {
        "job_id": job_id, "kind": "upload", "state": "queued", "dataset_id": "meuse-x",
        "actor": "alice", "organisation": "NGU", "token_id": "tok-1", "progress": 0.0,
        "attempts": 0, "payload": {"file": "survey.csv", "nested": {"a": [1, 2]}},
        "result": {}, "started_at": None, "finished_at": None,
    }
    assert isinstance(queued["created_at"], dt.datetime)
    assert queued["created_at"] >= before

    handle = store.claim_job("worker-1")
    assert handle is not None
    assert (handle.job_id, handle.kind, handle.attempts) == (job_id, "upload", 1)
    assert handle.payload == {"file": "survey.csv", "nested": {"a": [1, 2]}}
    running = store.job(job_id)
    assert running is not None
    assert (running["state"], running["attempts"]) == ("running", 1)
    assert running["started_at"] >= running["created_at"]
    assert store.claim_job("worker-2") is None  # held: nothing else to do

    handle.progress(0.4, "ingest: reading")  # the first progress is always written
    running = store.job(job_id)
    assert running is not None
    assert (running["progress"], running["step"]) == (pytest.approx(0.4), "ingest: reading")

    handle.finish({"version": 3, "n_samples": 1}, "ingested: meuse-x version 3")
    done = store.job(job_id)
    assert done is not None
    assert (done["state"], done["progress"], done["message"], done["result"]) == (
        "done", 1.0, "ingested: meuse-x version 3", {"version": 3, "n_samples": 1})
    assert done["finished_at"] >= done["started_at"]
    assert store.claim_job("worker-1") is None  # a job that ended is never claimed again


def test_a_failed_job_keeps_its_reason(store: Store) -> None:
    job_id = store.submit_job("upload", {})
    with store.claim_job("worker-1") as handle:  # type: ignore[union-attr]
        handle.progress(0.25, "ingest")
        handle.fail("zinc: 'lots' is not a number", {"error": "RowError", "row": 4})
    job = store.job(job_id)
    assert job is not None
    assert (job["state"], job["message"], job["result"], job["attempts"]) == (
        "failed", "zinc: 'lots' is not a number", {"error": "RowError", "row": 4}, 1)
    assert job["progress"] == pytest.approx(0.25)  # where it stopped
    assert store.claim_job("worker-1") is None


def test_unknown_job_is_none(store: Store) -> None:
    assert store.job("20240101000000-000000000000") is None
    assert store.job("../jobs") is None
    assert store.job("") is None
    frame = store.jobs()
    assert frame.empty
    assert tuple(frame.columns) == JOB_COLUMNS


def test_jobs_are_listed_newest_first_and_claimed_oldest_first(store: Store) -> None:
    ids = _submit(store, 6)  # within a second or two: ids alone cannot order them
    listed = store.jobs()
    assert tuple(listed.columns) == JOB_COLUMNS
    assert list(listed["job_id"]) == ids[::-1]
    assert list(store.jobs(limit=2)["job_id"]) == ids[:-3:-1]
    claimed = []
    while (handle := store.claim_job("worker-1")) is not None:
        with handle:
            claimed.append(handle.job_id)
            handle.finish({})
    assert claimed == ids


def test_a_jobs_files_come_back_by_name(store: Store, tmp_path: Path, data_dir: Path) -> None:
    survey = data_dir / "meuse" / "meuse.csv"
    descriptor = tmp_path / "any name.toml"
    descriptor.write_bytes("[dataset]\nid = \"x\"\n# ünïcode ✓\n".encode())
    store.submit_job("upload", {}, {"meuse.csv": survey, "descriptor.toml": descriptor})
    handle = store.claim_job("worker-1")
    assert handle is not None
    assert handle.file("meuse.csv").read_bytes() == survey.read_bytes()
    assert handle.file("descriptor.toml").read_bytes() == descriptor.read_bytes()
    assert handle.file("meuse.csv").read_bytes() == survey.read_bytes()  # asked twice
    for name in ("other.csv", "../meuse.csv", "files/meuse.csv"):
        with pytest.raises(StoreError, match="no file"):
            handle.file(name)
    handle.finish({})
    with pytest.raises(StoreError):
        handle.file("meuse.csv")  # the job ended: its files are gone


@pytest.mark.parametrize("name", ["../escape.csv", "a/b.csv", ".hidden"])
def test_a_job_file_name_must_be_plain(store: Store, tmp_path: Path, name: str) -> None:
    src = tmp_path / "f.csv"
    src.write_text("x\n")
    with pytest.raises(StoreError, match="plain file name"):
        store.submit_job("upload", {}, {name: src})
    assert store.jobs().empty  # nothing queued


def test_a_released_job_is_claimed_again(store: Store) -> None:
    job_id = store.submit_job("upload", {})
    with store.claim_job("worker-1") as first:  # type: ignore[union-attr]
        first.progress(0.5, "half way")
    # left without finish or fail: still running, and free
    job = store.job(job_id)
    assert job is not None
    assert (job["state"], job["attempts"]) == ("running", 1)
    again = store.claim_job("worker-2")
    assert again is not None
    assert (again.job_id, again.attempts) == (job_id, 2)
    again.finish({})


# --------------------------------------------------------------------------- concurrency


def test_threads_never_claim_the_same_job(store: Store) -> None:
    ids = _submit(store, 24)
    claimed: list[str] = []
    lock = threading.Lock()
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def work(n: int) -> None:
        try:
            start.wait()
            while (handle := store.claim_job(f"thread-{n}")) is not None:
                with handle:
                    with lock:
                        claimed.append(handle.job_id)
                    time.sleep(0.005)
                    handle.finish({"thread": n})
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    twice = [k for k, n in collections.Counter(claimed).items() if n > 1]
    assert not twice, f"claimed by two threads: {twice}"
    assert sorted(claimed) == sorted(ids)
    jobs = store.jobs()
    assert set(jobs["state"]) == {"done"}
    assert set(jobs["attempts"]) == {1}


def test_processes_never_claim_the_same_job(store: Store, store_location: str,
                                            tmp_path: Path) -> None:
    ids = _submit(store, 30)
    go = tmp_path / "go"
    procs = [_worker(store_location, "drain", str(go)) for _ in range(3)]
    try:
        for p in procs:
            assert p.stdout is not None
            assert p.stdout.readline().strip() == "ready"
        go.touch()
        outputs = [p.communicate(timeout=120)[0].split() for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                _kill(p)
    assert all(p.returncode == 0 for p in procs)
    claimed = [job_id for out in outputs for job_id in out]
    print("jobs per process:", [len(out) for out in outputs])
    twice = [k for k, n in collections.Counter(claimed).items() if n > 1]
    assert not twice, f"claimed by two processes: {twice}"
    assert sorted(claimed) == sorted(ids)
    jobs = store.jobs()
    assert set(jobs["state"]) == {"done"}
    assert set(jobs["attempts"]) == {1}
    # each job says which process ran it, and that is the one that printed it
    ran_by = {r["job_id"]: r["result"]["worker"] for r in jobs.to_dict("records")}
    for p, out in zip(procs, outputs, strict=True):
        assert {ran_by[j] for j in out} <= {f"test-worker-{p.pid}"}


# --------------------------------------------------------------------------- dead workers


def test_a_sigkilled_worker_releases_its_job(store: Store, store_location: str) -> None:
    job_id = store.submit_job("upload", {"file": "x.csv"})
    proc, held = _held_by_child(store_location)
    try:
        assert held == job_id
        assert store.claim_job("test-claimer") is None  # its worker is alive
        job = store.job(job_id)
        assert job is not None
        assert (job["state"], job["attempts"]) == ("running", 1)
    finally:
        _kill(proc)
    handle = _claim_again(store)
    assert handle is not None, "the killed worker's job was never offered again"
    assert (handle.job_id, handle.attempts) == (job_id, 2)  # type: ignore[attr-defined]
    job = store.job(job_id)
    assert job is not None
    assert (job["state"], job["attempts"]) == ("running", 2)
    handle.finish({"ok": True})  # type: ignore[attr-defined]
    job = store.job(job_id)
    assert job is not None
    assert (job["state"], job["attempts"]) == ("done", 2)


@pytest.mark.parametrize("max_attempts", [1, 3])
def test_a_job_abandoned_max_attempts_times_fails(
    store: Store, store_location: str, max_attempts: int
) -> None:
    doomed = store.submit_job("upload", {"n": 1})
    time.sleep(0.01)
    after = store.submit_job("upload", {"n": 2})
    for attempt in range(1, max_attempts + 1):
        proc, held = _held_by_child(store_location, max_attempts)
        _kill(proc)
        assert held == doomed  # the oldest job first, each time
        job = store.job(doomed)
        assert job is not None
        assert (job["state"], job["attempts"]) == ("running", attempt)
    # the next claim fails the doomed job and goes on to the next one (a PostgreSQL server
    # that has not yet noticed the last dead session skips the doomed job: look again)
    t0 = time.monotonic()
    handle = store.claim_job("test-claimer", max_attempts)
    while _state(store, doomed) != "failed" and time.monotonic() - t0 < 10:
        if handle is not None:
            handle.release()
        time.sleep(0.01)
        handle = store.claim_job("test-claimer", max_attempts)
    assert handle is not None
    assert handle.job_id == after
    handle.finish({})
    job = store.job(doomed)
    assert job is not None
    assert (job["state"], job["attempts"]) == ("failed", max_attempts)
    assert f"abandoned {max_attempts} times" in job["message"]
    assert "killed" in job["message"]
    assert store.claim_job("test-claimer", max_attempts) is None


def test_the_killing_helpers_kill(store_location: str) -> None:
    """The worker process really was alive holding the job until SIGKILL (so that the tests
    above prove something): it does not exit by itself."""
    store = open_store(store_location)
    store.submit_job("upload", {})
    proc, _ = _held_by_child(store_location)
    try:
        with pytest.raises(subprocess.TimeoutExpired):
            proc.wait(timeout=0.5)
    finally:
        _kill(proc)
    assert proc.returncode == -signal.SIGKILL
    store.close()


def test_what_killed_writers_left_is_removed_when_the_job_is_claimed(tmp_path: Path) -> None:
    """Embedded store: a process killed between writing a job's record and renaming it
    leaves ``.job.json.<x>.tmp`` in the job's folder, and one killed while submitting
    leaves ``.<job id>.<pid>.tmp``; the next claim (under the job's lock) removes both,
    and keeps a submission whose process still runs."""
    store = open_store(tmp_path / "store")
    try:
        job_id = store.submit_job("upload", {"file": "x.csv"})
        jobs = tmp_path / "store" / "jobs"
        half_written = jobs / job_id / ".job.json.0badf00d.tmp"
        half_written.write_text("{")
        dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)
        abandoned = jobs / f".20000101000000000000-aaaaaaaaaaaa.{dead.stdout.strip()}.tmp"
        (abandoned / "files").mkdir(parents=True)
        running = jobs / f".20000101000000000000-bbbbbbbbbbbb.{os.getpid()}.tmp"
        (running / "files").mkdir(parents=True)
        handle = store.claim_job("w")
        assert handle is not None
        assert handle.job_id == job_id
        assert not half_written.exists()
        assert not abandoned.exists()
        assert running.exists()
        handle.finish({})
        assert sorted(p.name for p in (jobs / job_id).iterdir()) == [".lock", "job.json"]
    finally:
        store.close()
