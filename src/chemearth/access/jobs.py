"""Background jobs: uploads (and other server-side ingests) run as jobs of the store.

A job goes queued → running → done or failed, with its progress, the step it is on and,
when it ends, a result or the reason it failed. Jobs live in the store
(:meth:`Store.submit_job <chemearth.store.base.Store.submit_job>`), so any worker of any
server process or host sharing the store may run them, and ``GET /api/jobs/{id}`` and
``chemearth jobs`` read them from anywhere.

An upload job publishes its dataset version atomically (:func:`chemearth.access.uploads.upload`
with a ``build``): committed unpublished, gridded, then published. A worker killed at any
moment leaves either the old state or a job that the next worker takes up again (the
claim is released by the operating system or the database when the worker dies); a job
abandoned :data:`MAX_ATTEMPTS` times fails with that reason. A failed upload leaves
nothing behind, and sending the file again repairs it.

:class:`JobWorker` is a thread that claims and runs jobs one at a time; the website starts
one per server process, and ``chemearth jobs run`` runs one in the foreground. On the
embedded store that thread is the one writer of its process.

Examples
--------
>>> import tempfile
>>> from chemearth.store import open_store
>>> store = open_store(tempfile.mkdtemp())
>>> job_id = store.submit_job("no-such-kind", {})
>>> run_pending(store)
1
>>> job = store.job(job_id)
>>> job["state"], job["message"]
('failed', "unknown job kind 'no-such-kind'")
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any

from chemearth import errors
from chemearth.access.catalogue import Catalogue
from chemearth.access.policy import Actor, Role
from chemearth.access.uploads import upload
from chemearth.errors import ChemearthError, IngestRejected, RowError
from chemearth.store.base import JobHandle, Store

__all__ = [
    "MAX_ATTEMPTS",
    "UPLOAD",
    "JobWorker",
    "error_of",
    "run_job",
    "run_pending",
    "submit_upload",
    "wait_for",
]

log = logging.getLogger("chemearth.jobs")

#: The kind of an upload job.
UPLOAD = "upload"
#: Claims of a job whose worker died before it ended, before it is failed.
MAX_ATTEMPTS = 3
#: At most this many rejected rows are kept in a job's result.
_MAX_REJECTS = 500


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def submit_upload(
    catalogue: Catalogue,
    actor: Actor,
    survey: Path,
    descriptor_text: str,
    *,
    file_name: str,
    descriptor_name: str = "descriptor.toml",
    strict: bool = False,
) -> str:
    """Queue the upload of ``survey`` (stored as ``file_name``) by ``actor``; its job id.

    Who may upload what is asked now (:func:`chemearth.access.uploads.authorise`), so a
    refusal is immediate, and again when the job runs.

    Raises
    ------
    AccessDenied, DescriptorError
    """
    from chemearth.access.uploads import authorise

    desc = authorise(catalogue, actor, descriptor_text, descriptor_name)
    payload = {
        "file": file_name,
        "descriptor": descriptor_text,
        "descriptor_name": descriptor_name,
        "strict": bool(strict),
        "actor": {"name": actor.name, "role": actor.role.value,
                  "organisation": actor.organisation, "grants": sorted(actor.grants),
                  "token_id": actor.token_id},
    }
    return catalogue.store.submit_job(
        UPLOAD, payload, {file_name: survey}, dataset_id=desc.dataset.id, actor=actor.name,
        organisation=actor.organisation, token_id=actor.token_id,
    )


def _actor(data: dict[str, Any]) -> Actor:
    return Actor(name=str(data.get("name", "")), role=Role(data.get("role", "anonymous")),
                 organisation=str(data.get("organisation", "")),
                 grants=frozenset(data.get("grants", ())),
                 token_id=str(data.get("token_id", "")))


def _scrub(text: str, folder: str) -> str:
    return text.replace(folder + "/", "").replace(folder, "")


def _failure(exc: BaseException, folder: str) -> dict[str, Any]:
    """A failed job's result: the error's class, message and (for bad rows) the rows."""
    if not isinstance(exc, ChemearthError):
        return {"error": "InternalError", "message": "an internal error (see the server log)"}
    out: dict[str, Any] = {"error": type(exc).__name__, "message": _scrub(str(exc), folder)}
    rows: list[dict[str, Any]] = []
    if isinstance(exc, RowError):
        rows.append({"file": Path(exc.file).name, "row": exc.row, "column": exc.column,
                     "reason": _scrub(exc.reason, folder)})
    rejects = getattr(exc, "rejects", None)
    if rejects is not None and hasattr(rejects, "to_dict"):
        rows += _records(rejects.head(_MAX_REJECTS), folder)
    if rows:
        out["errors"] = rows
    return out


def _records(frame: Any, folder: str) -> list[dict[str, Any]]:
    from chemearth.jsonable import records

    return [
        {k: _scrub(v, folder) if isinstance(v, str) else v for k, v in rec.items()}
        for rec in records(frame, default=str)
    ]


def error_of(job: dict[str, Any]) -> Exception | None:
    """The exception a failed job ended with, to be mapped to HTTP at the edge: the domain
    exception of its class (bad rows as :class:`IngestRejected`), or a ``RuntimeError``
    for an internal error, whose message says no more than that. None for a job that did
    not fail.

    Examples
    --------
    >>> exc = error_of({"state": "failed", "result": {"error": "AccessDenied",
    ...                                               "message": "not yours"}})
    >>> type(exc).__name__, str(exc)
    ('AccessDenied', 'not yours')
    >>> type(error_of({"state": "failed", "message": "x", "result": {}})).__name__
    'RuntimeError'
    """
    if job.get("state") != "failed":
        return None
    result = job.get("result") or {}
    name, message = str(result.get("error", "")), str(result.get("message") or job["message"])
    if name in ("RowError", "IngestRejected"):
        return IngestRejected(message)
    cls = getattr(errors, name, None)
    if not (isinstance(cls, type) and issubclass(cls, ChemearthError)):
        return RuntimeError(message)
    try:
        return cls(message)
    except TypeError:  # an exception with other arguments: its message is kept
        return ChemearthError(message)


def _run_upload(store: Store, handle: JobHandle, boundaries: Path | None) -> dict[str, Any]:
    from chemearth.grid.layers import build_layers

    p = handle.payload
    survey = handle.file(str(p["file"]))
    folder = str(survey.parent)
    actor = _actor(dict(p.get("actor") or {}))

    def ingest_tick(step: str, done: int, total: int) -> None:
        handle.progress(0.6 * done / max(total, 1), f"ingest: {step}")

    def build(store: Store, dataset_id: str, version: int) -> None:
        def grid_tick(step: str, done: int, total: int) -> None:
            handle.progress(0.6 + 0.35 * done / max(total, 1), f"grid layers: {step}")

        build_layers(store, versions={dataset_id: version}, progress=grid_tick)
        handle.progress(0.97, "publishing")

    result = upload(
        Catalogue(store), actor, survey, str(p["descriptor"]),
        descriptor_name=str(p.get("descriptor_name", "descriptor.toml")),
        boundaries=boundaries, strict=bool(p.get("strict")), build=build,
        progress=ingest_tick,
    )
    r = result.report
    return {
        "dataset_id": r.dataset_id,
        "version": r.version,
        "status": "ingested" if r.status == "resumed" else r.status,
        "file": str(p["file"]),
        "n_rows": r.n_rows,
        "n_samples": r.n_samples,
        "n_measurements": r.n_measurements,
        "n_rejected": r.n_rejected,
        "policy": result.policy,
        "rejects": _records(r.rejects.head(_MAX_REJECTS), folder)
        if r.rejects is not None else [],
        "warnings": [_scrub(w, folder) for w in r.warnings],
    }


def run_job(store: Store, handle: JobHandle, boundaries: Path | None = None) -> None:
    """Run one claimed job to its end (done or failed); never raises for the job's errors."""
    folder = ""
    try:
        if handle.kind != UPLOAD:
            raise errors.ChemearthError(f"unknown job kind {handle.kind!r}")
        with contextlib.suppress(Exception):  # a job without its file still runs, to fail
            folder = str(handle.file(str(handle.payload["file"])).parent)
        result = _run_upload(store, handle, boundaries)
    except Exception as exc:
        if not isinstance(exc, ChemearthError):
            log.exception("job %s failed", handle.job_id)
        failure = _failure(exc, folder)
        handle.fail(failure["message"], failure)
        return
    handle.finish(result, f"{result['status']}: {result['dataset_id']} version {result['version']}")


def run_pending(store: Store, boundaries: Path | None = None, limit: int | None = None) -> int:
    """Run queued (and abandoned) jobs until none is left (or ``limit``); how many ran."""
    done = 0
    while limit is None or done < limit:
        handle = store.claim_job(_worker_name(), MAX_ATTEMPTS)
        if handle is None:
            break
        with handle:
            run_job(store, handle, boundaries)
        done += 1
    return done


class JobWorker:
    """A daemon thread running the store's jobs one at a time.

    Parameters
    ----------
    store : Store
        The store whose jobs it runs.
    boundaries : Path, optional
        Country boundaries for the ingests.
    poll_s : float
        How often it looks for work when idle (:meth:`wake` looks at once).
    """

    def __init__(self, store: Store, boundaries: Path | None = None, poll_s: float = 1.0) -> None:
        self.store = store
        self.boundaries = boundaries
        self.poll_s = poll_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> JobWorker:
        """Start the thread (once)."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="chemearth-jobs",
                                                daemon=True)
                self._thread.start()
        return self

    def wake(self) -> None:
        """Look for work now (a job was just submitted)."""
        self.start()
        self._wake.set()

    def stop(self, timeout: float | None = None) -> None:
        """Stop after the job in hand."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                ran = run_pending(self.store, self.boundaries, limit=1)
            except Exception:  # the store is unreachable for a moment: try again later
                log.exception("job worker could not claim a job")
                ran = 0
            if not ran:
                self._wake.wait(self.poll_s)
                self._wake.clear()


def wait_for(store: Store, job_id: str, timeout_s: float, poll_s: float = 0.05) -> dict[str, Any]:
    """The job once it ended, or as it is after ``timeout_s`` seconds (blocking)."""
    deadline = time.monotonic() + timeout_s
    while True:
        job = store.job(job_id)
        if job is None or job["state"] in ("done", "failed") or time.monotonic() >= deadline:
            return job or {}
        time.sleep(poll_s)
