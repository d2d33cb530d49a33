"""What the embedded store keeps in plain files beside its catalogue: documents (the access
tokens), the audit log and the job queue.

Layout (in the store's folder)::

    <home>/<name>                 a document (``access.json``), mode 0600, replaced atomically
    <home>/audit.log              the audit log, one JSON object per line, append-only
    <home>/jobs/<job id>/job.json a job's record, replaced atomically
    <home>/jobs/<job id>/files/   the files given with the job
    <home>/jobs/<job id>/.lock    held (``flock``) by the worker running the job

These live outside the DuckDB catalogue on purpose: a job's progress is written often, and
must not make readers think the catalogue changed
(:meth:`EmbeddedStore.generation <chemearth.store.embedded.EmbeddedStore.generation>`).

A worker claims a job by taking an exclusive ``flock`` on its lock file without waiting;
the kernel lets go of it when the worker's process ends, even by SIGKILL, so a job left
``running`` whose lock is free was abandoned and is offered again.

Examples
--------
>>> import tempfile
>>> jobs = FileJobs(Path(tempfile.mkdtemp()))
>>> job_id = jobs.submit("upload", {"dataset_id": "x"}, dataset_id="x")
>>> with jobs.claim("worker-1") as handle:
...     handle.progress(0.5, "ingesting")
...     handle.finish({"version": 1})
>>> jobs.job(job_id)["state"], jobs.job(job_id)["attempts"]
('done', 1)
>>> jobs.claim("worker-1") is None
True
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pandas as pd

from chemearth.errors import StoreError
from chemearth.store.base import JOB_COLUMNS, JobHandle

__all__ = [
    "FileJobHandle",
    "FileJobs",
    "append_line",
    "read_document",
    "read_lines",
    "update_document",
]

#: How often a job's progress is written at most (seconds); states are always written.
_PROGRESS_EVERY_S = 0.5


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _write_atomic(path: Path, text: str, mode: int = 0o600) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def _remove_stale_tmp(path: Path) -> None:
    """Remove what :func:`_write_atomic` of ``path`` left when its process was killed
    between writing and renaming (call only while holding the lock that its writers hold)."""
    for f in path.parent.glob(f".{path.name}.*.tmp"):
        f.unlink(missing_ok=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


# ---------------------------------------------------------------------- documents


def read_document(path: Path) -> tuple[object, str | None]:
    """(stamp, text) of the document at ``path``; (None, None) when there is none."""
    try:
        st = path.stat()
        return (st.st_mtime_ns, st.st_size, st.st_ino), path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, None


def update_document(path: Path, update: Callable[[str | None], str]) -> None:
    """Replace the document at ``path`` by ``update(old)`` under an exclusive lock."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        old = path.read_text(encoding="utf-8") if path.exists() else None
        _remove_stale_tmp(path)
        _write_atomic(path, update(old))


# ---------------------------------------------------------------------- audit log


def append_line(path: Path, line: str) -> None:
    """Append one line to ``path`` (``O_APPEND`` under ``flock``: lines never interleave)."""
    data = line.rstrip("\n").encode("utf-8") + b"\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            os.write(fd, data)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def read_lines(path: Path) -> Iterator[str]:
    """The lines of ``path``, oldest first (none when it does not exist)."""
    with contextlib.suppress(FileNotFoundError), path.open("rb") as fh:
        for raw in fh:
            if raw.strip():
                yield raw.decode("utf-8", errors="replace").rstrip("\n")


# ---------------------------------------------------------------------- jobs


class FileJobs:
    """The job queue of an embedded store, in ``<home>/jobs``.

    Parameters
    ----------
    home : Path
        The store folder.
    """

    def __init__(self, home: Path) -> None:
        self.root = Path(home) / "jobs"

    def submit(
        self,
        kind: str,
        payload: dict[str, Any],
        files: dict[str, Path] | None = None,
        **fields: str,
    ) -> str:
        """Queue a job (see :meth:`chemearth.store.base.Store.submit_job`)."""
        stamp = _now()
        # ids sort as the jobs were submitted (listing newest first, claiming oldest
        # first): to the microsecond, since jobs submitted within one second are common
        job_id = stamp.strftime("%Y%m%d%H%M%S%f") + "-" + secrets.token_hex(6)
        tmp = self.root / f".{job_id}.{os.getpid()}.tmp"
        (tmp / "files").mkdir(parents=True)
        try:
            for name, src in (files or {}).items():
                if "/" in name or name.startswith("."):
                    raise StoreError(f"job file name {name!r} is not a plain file name")
                shutil.copyfile(src, tmp / "files" / name)
            record: dict[str, Any] = dict.fromkeys(JOB_COLUMNS)
            record.update(
                job_id=job_id, kind=kind, state="queued", progress=0.0, step="", message="",
                attempts=0, payload=payload, result={}, created_at=stamp.isoformat(),
                updated_at=stamp.isoformat(),
                **{k: fields.get(k, "") for k in ("dataset_id", "actor", "organisation",
                                                   "token_id")},
            )
            _write_atomic(tmp / "job.json", json.dumps(record))
            os.rename(tmp, self.root / job_id)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return job_id

    def _read(self, job_id: str) -> dict[str, Any] | None:
        try:
            data: dict[str, Any] = json.loads((self.root / job_id / "job.json").read_text())
            return data
        except (FileNotFoundError, NotADirectoryError, ValueError):
            return None

    def job(self, job_id: str) -> dict[str, Any] | None:
        """One job's record, or None (an id that is not a plain name is none)."""
        if not job_id or "/" in job_id or job_id.startswith("."):
            return None
        rec = self._read(job_id)
        return _typed(rec) if rec is not None else None

    def _ids(self) -> list[str]:
        if not self.root.exists():
            return []
        return sorted(p.name for p in self.root.iterdir() if not p.name.startswith("."))

    def jobs(self, limit: int = 100) -> pd.DataFrame:
        """The latest jobs, newest first."""
        recs: list[dict[str, Any]] = []
        for job_id in reversed(self._ids()):
            if len(recs) >= limit:
                break
            rec = self._read(job_id)
            if rec is not None:
                recs.append(_typed(rec))
        return pd.DataFrame(recs, columns=list(JOB_COLUMNS))

    def _remove_abandoned_submissions(self) -> None:
        """Remove the folders of submissions whose process was killed before it renamed
        them into place (``.<job id>.<pid>.tmp`` of a process that no longer runs)."""
        if not self.root.exists():
            return
        for p in self.root.glob(".*.tmp"):
            pid = p.name[: -len(".tmp")].rsplit(".", 1)[-1]
            if pid.isdigit() and not _pid_alive(int(pid)):
                shutil.rmtree(p, ignore_errors=True)

    def claim(self, worker: str, max_attempts: int = 3) -> FileJobHandle | None:
        """Claim the oldest queued or abandoned job (see ``Store.claim_job``).

        A job is claimed under its lock, which its writers hold: what a killed writer left
        half-written in its folder is removed then.
        """
        self._remove_abandoned_submissions()
        for job_id in self._ids():
            rec = self._read(job_id)
            if rec is None or rec["state"] not in ("queued", "running"):
                continue
            lock = open(self.root / job_id / ".lock", "w")  # noqa: SIM115 - held by the handle
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                lock.close()
                continue
            _remove_stale_tmp(self.root / job_id / "job.json")
            rec = self._read(job_id)  # again, now that it is ours
            if rec is None or rec["state"] not in ("queued", "running"):
                lock.close()
                continue
            handle = FileJobHandle(self.root / job_id, rec, lock)
            if rec["state"] == "running" and int(rec["attempts"]) >= max_attempts:
                handle.fail(
                    f"abandoned {rec['attempts']} times: its worker stopped each time "
                    "before it ended (killed or out of memory)"
                )
                continue
            now = _now().isoformat()
            rec.update(state="running", attempts=int(rec["attempts"]) + 1, worker=worker,
                       started_at=rec.get("started_at") or now, updated_at=now)
            handle.save()
            return handle
        return None


def _typed(rec: dict[str, Any]) -> dict[str, Any]:
    """A job record with its times as datetimes, keyed by exactly ``JOB_COLUMNS``."""
    out = {c: rec.get(c) for c in JOB_COLUMNS}
    for key in ("created_at", "started_at", "finished_at", "updated_at"):
        if out[key]:
            out[key] = dt.datetime.fromisoformat(str(out[key]))
    out["progress"] = float(out["progress"] or 0.0)
    out["attempts"] = int(out["attempts"] or 0)
    return out


class FileJobHandle(JobHandle):
    """A claimed job of :class:`FileJobs`; its lock file is held until :meth:`release`."""

    def __init__(self, folder: Path, record: dict[str, Any], lock: IO[str]) -> None:
        self.folder = folder
        self.record = record
        self._lock: IO[str] | None = lock
        self._saved = 0.0
        self.job_id = str(record["job_id"])
        self.kind = str(record["kind"])
        self.payload = dict(record.get("payload") or {})
        self.attempts = int(record.get("attempts") or 0)

    def save(self) -> None:
        """Write the record (atomically)."""
        _write_atomic(self.folder / "job.json", json.dumps(self.record))
        self.attempts = int(self.record.get("attempts") or 0)

    def file(self, name: str) -> Path:
        path = self.folder / "files" / name
        if "/" in name or not path.is_file():
            raise StoreError(f"job {self.job_id} has no file {name!r}")
        return path

    def progress(self, fraction: float, step: str) -> None:
        import time

        self.record.update(progress=max(0.0, min(1.0, float(fraction))), step=step,
                           updated_at=_now().isoformat())
        if time.monotonic() - self._saved >= _PROGRESS_EVERY_S:
            self.save()
            self._saved = time.monotonic()

    def _end(self, state: str, message: str, result: dict[str, Any] | None) -> None:
        now = _now().isoformat()
        self.record.update(state=state, message=message, result=result or {},
                           finished_at=now, updated_at=now,
                           progress=1.0 if state == "done" else self.record["progress"])
        self.save()
        files = self.folder / "files"
        shutil.rmtree(files, ignore_errors=True)  # the upload is in the store, or refused
        self.release()

    def finish(self, result: dict[str, Any], message: str = "") -> None:
        self._end("done", message, result)

    def fail(self, message: str, result: dict[str, Any] | None = None) -> None:
        self._end("failed", message, result)

    def release(self) -> None:
        if self._lock is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None
