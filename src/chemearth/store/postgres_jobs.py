"""What the PostgreSQL store keeps besides datasets: documents, the audit log and the job
queue (tables ``documents``, ``audit``, ``jobs`` and ``job_files`` of the schema
``chemearth``; see :mod:`chemearth.store.postgres_schema`).

* A document is a row; an update runs in a transaction holding an advisory lock on the
  document's name, so that updates from every process and host are serialised.
* The audit log is an append-only table with a ``bigserial`` id; it is read in id order.
* A job is a row, its files are ``bytea`` rows. A worker claims a job by taking a
  *session* advisory lock on it (``pg_try_advisory_lock``) on a connection of its own that
  it keeps while it works. When the worker dies, even by SIGKILL, its connection drops and
  the server lets go of the lock at once: a ``running`` job whose lock is free was
  abandoned and is claimed again (``attempts`` counts the claims; one abandoned
  ``max_attempts`` times is failed instead). Candidate rows are locked ``FOR UPDATE SKIP
  LOCKED`` while they are looked at, so two workers never claim the same job.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import psycopg
from psycopg.types.json import Jsonb

from chemearth.errors import StoreError
from chemearth.store.base import JOB_COLUMNS, JobHandle
from chemearth.store.postgres_common import LOCK_DOCUMENTS, LOCK_JOBS, SCHEMA, Pool, sql

__all__ = [
    "PgJobHandle",
    "PgJobs",
    "append_audit",
    "audit_lines",
    "read_document",
    "update_document",
]

#: How often a job's progress is written at most (seconds); states are always written.
_PROGRESS_EVERY_S = 0.5
#: Audit lines read per query.
_AUDIT_BATCH = 5000

PgConnection = psycopg.Connection[Any]

_COLUMNS = ", ".join(JOB_COLUMNS)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# ---------------------------------------------------------------------- documents


def read_document(pool: Pool[PgConnection], name: str) -> tuple[object, str | None]:
    """(revision, text) of document ``name``; (None, None) when there is none."""
    with pool.connection() as conn:
        row = conn.execute(
            sql(f"SELECT revision, body FROM {SCHEMA}.documents WHERE name = %s"), [name]
        ).fetchone()
    return (None, None) if row is None else (int(row[0]), str(row[1]))


def update_document(
    pool: Pool[PgConnection], name: str, update: Callable[[str | None], str]
) -> None:
    """Replace document ``name`` by ``update(old)``, serialised with every other update of
    it (an advisory lock on its name, held by the transaction)."""
    with pool.connection() as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s::int4, hashtext(%s))",
                     [LOCK_DOCUMENTS, name])
        row = conn.execute(
            sql(f"SELECT body FROM {SCHEMA}.documents WHERE name = %s"), [name]
        ).fetchone()
        new = update(None if row is None else str(row[0]))
        conn.execute(
            sql(
                f"INSERT INTO {SCHEMA}.documents (name, body, revision, updated_at) "
                f"VALUES (%s, %s, nextval('{SCHEMA}.document_revision'), now()) "
                "ON CONFLICT (name) DO UPDATE SET body = excluded.body, "
                "revision = excluded.revision, updated_at = excluded.updated_at"
            ),
            [name, new],
        )


# ---------------------------------------------------------------------- audit log


def append_audit(pool: Pool[PgConnection], line: str) -> None:
    """Append one line to the audit log (blank lines are not kept)."""
    text = line.rstrip("\n")
    if not text.strip():
        return
    with pool.connection() as conn:
        conn.execute(sql(f"INSERT INTO {SCHEMA}.audit (line) VALUES (%s)"), [text])


def audit_lines(pool: Pool[PgConnection]) -> Iterator[str]:
    """The audit log's lines, oldest first (read in batches; no connection is held
    between them)."""
    last = 0
    while True:
        with pool.connection() as conn:
            rows = conn.execute(
                sql(f"SELECT id, line FROM {SCHEMA}.audit WHERE id > %s ORDER BY id LIMIT %s"),
                [last, _AUDIT_BATCH],
            ).fetchall()
        for _, line in rows:
            yield str(line)
        if len(rows) < _AUDIT_BATCH:
            return
        last = int(rows[-1][0])


# ---------------------------------------------------------------------- jobs


def _typed(row: dict[str, Any]) -> dict[str, Any]:
    """A job row keyed by exactly ``JOB_COLUMNS``, typed as the embedded store types it."""
    out = {c: row.get(c) for c in JOB_COLUMNS}
    for key in ("created_at", "started_at", "finished_at", "updated_at"):
        stamp = out[key]
        if isinstance(stamp, dt.datetime):
            out[key] = stamp.astimezone(dt.UTC)
    out["progress"] = float(out["progress"] or 0.0)
    out["attempts"] = int(out["attempts"] or 0)
    out["payload"] = dict(out["payload"] or {})
    out["result"] = dict(out["result"] or {})
    return out


def _fetch_dict(conn: PgConnection, query: str, params: list[Any]) -> dict[str, Any] | None:
    cur = conn.execute(sql(query), params)
    row = cur.fetchone()
    if row is None:
        return None
    names = [d.name for d in cur.description or []]
    return dict(zip(names, row, strict=True))


class PgJobs:
    """The job queue of a PostgreSQL store.

    Parameters
    ----------
    pool : Pool
        The store's psycopg connections (autocommit).
    connect : callable
        Opens a new psycopg connection (autocommit): a claimed job keeps one.
    """

    def __init__(self, pool: Pool[PgConnection], connect: Callable[[], PgConnection]) -> None:
        self.pool = pool
        self.connect = connect

    def submit(
        self,
        kind: str,
        payload: dict[str, Any],
        files: dict[str, Path] | None = None,
        **fields: str,
    ) -> str:
        """Queue a job (see :meth:`chemearth.store.base.Store.submit_job`)."""
        for name in files or {}:
            if not name or "/" in name or name.startswith("."):
                raise StoreError(f"job file name {name!r} is not a plain file name")
        stamp = _now()
        job_id = stamp.strftime("%Y%m%d%H%M%S") + "-" + secrets.token_hex(6)
        with self.pool.connection() as conn, conn.transaction():
            conn.execute(
                sql(
                    f"INSERT INTO {SCHEMA}.jobs (job_id, kind, state, dataset_id, actor, "
                    "organisation, token_id, created_at, updated_at, payload, result) "
                    "VALUES (%s, %s, 'queued', %s, %s, %s, %s, %s, %s, %s, %s)"
                ),
                [job_id, kind, *(fields.get(k, "") for k in
                                 ("dataset_id", "actor", "organisation", "token_id")),
                 stamp, stamp, Jsonb(payload), Jsonb({})],
            )
            for name, src in (files or {}).items():
                conn.execute(
                    sql(f"INSERT INTO {SCHEMA}.job_files (job_id, name, data) "
                        "VALUES (%s, %s, %b)"),
                    [job_id, name, Path(src).read_bytes()],
                )
        return job_id

    def job(self, job_id: str) -> dict[str, Any] | None:
        """One job (keys ``JOB_COLUMNS``), or None."""
        if not job_id or "/" in job_id or job_id.startswith("."):
            return None
        with self.pool.connection() as conn:
            row = _fetch_dict(
                conn, f"SELECT {_COLUMNS} FROM {SCHEMA}.jobs WHERE job_id = %s", [job_id]
            )
        return None if row is None else _typed(row)

    def jobs(self, limit: int = 100) -> pd.DataFrame:
        """The latest jobs, newest first."""
        with self.pool.connection() as conn:
            cur = conn.execute(
                sql(f"SELECT {_COLUMNS} FROM {SCHEMA}.jobs "
                    "ORDER BY created_at DESC, job_id DESC LIMIT %s"),
                [int(limit)],
            )
            names = [d.name for d in cur.description or []]
            recs = [_typed(dict(zip(names, r, strict=True))) for r in cur.fetchall()]
        return pd.DataFrame(recs, columns=list(JOB_COLUMNS))

    def claim(self, worker: str, max_attempts: int = 3) -> PgJobHandle | None:
        """Claim the oldest queued or abandoned job (see ``Store.claim_job``)."""
        conn = self.connect()
        try:
            ids = conn.execute(
                sql(f"SELECT job_id FROM {SCHEMA}.jobs WHERE state IN ('queued', 'running') "
                    "ORDER BY created_at, job_id")
            ).fetchall()
            for (job_id,) in ids:
                record = self._try(conn, str(job_id), worker, max_attempts)
                if record is not None:
                    return PgJobHandle(conn, record)
        except BaseException:
            conn.close()
            raise
        conn.close()
        return None

    @staticmethod
    def _try(
        conn: PgConnection, job_id: str, worker: str, max_attempts: int
    ) -> dict[str, Any] | None:
        """Claim one job on ``conn`` (its session then holds the job's lock), fail it when
        it was abandoned too often, or leave it (None)."""
        abandoned = None
        record = None
        with conn.transaction():
            row = conn.execute(
                sql(f"SELECT state, attempts, lock_key FROM {SCHEMA}.jobs WHERE job_id = %s "
                    "AND state IN ('queued', 'running') FOR UPDATE SKIP LOCKED"),
                [job_id],
            ).fetchone()
            if row is None:
                return None  # another worker is looking at it, or it ended
            state, attempts, key = str(row[0]), int(row[1]), int(row[2])
            got = conn.execute("SELECT pg_try_advisory_lock(%s::int4, %s::int4)",
                               [LOCK_JOBS, key]).fetchone()
            if not got or not got[0]:
                return None  # its worker is alive
            now = _now()
            if state == "running" and attempts >= max_attempts:
                conn.execute(
                    sql(f"UPDATE {SCHEMA}.jobs SET state = 'failed', message = %s, "
                        "result = '{}', finished_at = %s, updated_at = %s WHERE job_id = %s"),
                    [f"abandoned {attempts} times: its worker stopped each time before it "
                     "ended (killed or out of memory)", now, now, job_id],
                )
                conn.execute(sql(f"DELETE FROM {SCHEMA}.job_files WHERE job_id = %s"),
                             [job_id])
                abandoned = key
            else:
                record = _fetch_dict(
                    conn,
                    f"UPDATE {SCHEMA}.jobs SET state = 'running', attempts = attempts + 1, "
                    "worker = %s, started_at = coalesce(started_at, %s), updated_at = %s "
                    f"WHERE job_id = %s RETURNING {_COLUMNS}, lock_key",
                    [worker, now, now, job_id],
                )
        if abandoned is not None:
            conn.execute("SELECT pg_advisory_unlock(%s::int4, %s::int4)", [LOCK_JOBS, abandoned])
            return None
        return record


class PgJobHandle(JobHandle):
    """A claimed job of :class:`PgJobs`: its connection holds the job's advisory lock until
    :meth:`release` (or until the worker dies)."""

    def __init__(self, conn: PgConnection, record: dict[str, Any]) -> None:
        self._conn: PgConnection | None = conn
        self._key = int(record["lock_key"])
        self.record = _typed(record)
        self.job_id = str(record["job_id"])
        self.kind = str(record["kind"])
        self.payload = dict(self.record["payload"])
        self.attempts = int(self.record["attempts"])
        self._saved = 0.0
        self._dir: Path | None = None

    def _live(self) -> PgConnection:
        if self._conn is None:
            raise StoreError(f"job {self.job_id} was released")
        return self._conn

    def file(self, name: str) -> Path:
        if "/" not in name and self._dir is not None and (self._dir / name).is_file():
            return self._dir / name
        row = None
        if name and "/" not in name:
            row = self._live().execute(
                sql(f"SELECT data FROM {SCHEMA}.job_files WHERE job_id = %s AND name = %s"),
                [self.job_id, name],
            ).fetchone()
        if row is None:
            raise StoreError(f"job {self.job_id} has no file {name!r}")
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="chemearth-job-"))
        path = self._dir / name
        path.write_bytes(bytes(row[0]))
        return path

    def progress(self, fraction: float, step: str) -> None:
        self.record.update(progress=max(0.0, min(1.0, float(fraction))), step=step)
        if time.monotonic() - self._saved >= _PROGRESS_EVERY_S:
            self._live().execute(
                sql(f"UPDATE {SCHEMA}.jobs SET progress = %s, step = %s, updated_at = %s "
                    "WHERE job_id = %s"),
                [self.record["progress"], step, _now(), self.job_id],
            )
            self._saved = time.monotonic()

    def _end(self, state: str, message: str, result: dict[str, Any] | None) -> None:
        now = _now()
        progress = 1.0 if state == "done" else float(self.record["progress"])
        conn = self._live()
        with conn.transaction():
            conn.execute(
                sql(f"UPDATE {SCHEMA}.jobs SET state = %s, message = %s, result = %s, "
                    "finished_at = %s, updated_at = %s, progress = %s WHERE job_id = %s"),
                [state, message, Jsonb(result or {}), now, now, progress, self.job_id],
            )
            conn.execute(sql(f"DELETE FROM {SCHEMA}.job_files WHERE job_id = %s"),
                         [self.job_id])
        self.record.update(state=state, message=message, result=result or {},
                           finished_at=now, updated_at=now, progress=progress)
        self.release()

    def finish(self, result: dict[str, Any], message: str = "") -> None:
        self._end("done", message, result)

    def fail(self, message: str, result: dict[str, Any] | None = None) -> None:
        self._end("failed", message, result)

    def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.execute("SELECT pg_advisory_unlock(%s::int4, %s::int4)",
                             [LOCK_JOBS, self._key])
            with contextlib.suppress(Exception):
                conn.close()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
