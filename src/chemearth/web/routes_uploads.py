"""Uploads and their jobs: ``POST /api/datasets`` and ``GET /api/jobs[/{id}]``.

An upload is checked at once (who may upload what, the descriptor), stored with its job
(:func:`chemearth.access.jobs.submit_upload`) and run by a job worker of any server
process. The request waits for the job while the site's time limit allows (or not at all
with ``wait=false``): it then answers as the job ended (201 with the report, 422 with the
bad rows, …), else 202 with the job's address. The dataset version is published only
when its grid layers are built, so nobody sees it half made.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from chemearth.access import jobs
from chemearth.access.policy import Action, Actor, Resource, allowed
from chemearth.errors import AccessDenied, NotFoundError
from chemearth.jsonable import plain
from chemearth.web import upload_io
from chemearth.web.auditing import audit
from chemearth.web.deps import ActorDep, GatewayDep

__all__ = ["router"]

router = APIRouter(prefix="/api")

#: Seconds before the site's time limit at which an upload request stops waiting.
WAIT_MARGIN_S = 0.5
#: Job fields shown to the job's owner.
_SHOWN = ("job_id", "kind", "state", "dataset_id", "actor", "organisation", "created_at",
          "started_at", "finished_at", "progress", "step", "message", "attempts", "result")


def _visible(actor: Actor, job: dict[str, Any] | None) -> dict[str, Any]:
    """The job if ``actor`` may see it; else the same 404 as a job that does not exist."""
    if job is None or not allowed(actor, Action.VIEW_JOB,
                                  Resource.organisation_of(str(job.get("organisation") or ""))):
        raise NotFoundError("no such job")
    return job


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _public(job: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = plain({k: job.get(k) for k in _SHOWN}, default=_iso)
    out["url"] = f"/api/jobs/{job['job_id']}"
    return out


@router.post(
    "/datasets",
    tags=["uploads"],
    summary="Upload a survey",
    status_code=201,
    responses={
        202: {"description": "Accepted: the job is still running; follow its `url`."},
        403: {"description": "Not a data owner of the descriptor's organisation."},
        413: {"description": "The file or descriptor is over its size limit."},
        422: {"description": "The file or descriptor is invalid; errors row by row."},
    },
)
async def upload(
    request: Request,
    gw: GatewayDep,
    actor: ActorDep,
    file: Annotated[UploadFile, File(description="The survey file (CSV, Excel, GeoPackage).")],
    descriptor: Annotated[UploadFile, File(description="The dataset descriptor (TOML).")],
    strict: Annotated[bool, Form(description="Reject the whole file on any bad row.")] = False,
    wait: Annotated[bool, Form(description="Wait for the job (within the site's time "
                                           "limit); false: answer 202 at once.")] = True,
) -> JSONResponse:
    """Validate and ingest a survey file with its descriptor, then build its grid layers.

    The same validation as ``chemearth ingest``, run as a job: nothing is published
    unless the job ends done, and then the dataset comes with all its grid layers. Needs
    a data owner's token (for the descriptor's organisation) or an admin's. A descriptor
    without ``sharing`` makes the dataset restricted to its organisation; the answer
    gives the policy in effect. See docs/web.md (Uploads) for the limits.
    """
    settings = request.app.state.settings
    if actor.role not in ("owner", "admin"):
        raise AccessDenied("uploads need a data owner's or an administrator's token")
    name = upload_io.safe_name(file.filename, "survey.csv")
    desc_name = upload_io.safe_name(descriptor.filename, "descriptor.toml")
    text = await upload_io.read_descriptor(descriptor, desc_name)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        await upload_io.save_upload(file, path, settings.upload_max_bytes)
        job_id = await run_in_threadpool(
            jobs.submit_upload, gw, actor, path, text, file_name=name,
            descriptor_name=desc_name, strict=strict,
        )
    request.app.state.jobs.wake()
    deadline = getattr(request.state, "deadline", time.monotonic() + settings.timeout_s)
    job = await _wait(gw, job_id, deadline - WAIT_MARGIN_S if wait else 0.0)
    if job.get("state") == "done":
        result = dict(job.get("result") or {})
        audit(request, "upload", actor, dataset=result.get("dataset_id"),
              version=result.get("version"), file=name, n_samples=result.get("n_samples"),
              n_rejected=result.get("n_rejected"), job=job_id, outcome=result.get("status"))
        return JSONResponse({**result, "job_id": job_id, "url": f"/api/jobs/{job_id}"},
                            status_code=201)
    if job.get("state") == "failed":
        failure = dict(job.get("result") or {})
        if failure.get("error") in ("RowError", "IngestRejected"):
            return JSONResponse({"detail": failure.get("message", job.get("message")),
                                 "errors": failure.get("errors", []), "job_id": job_id},
                                status_code=422)
        exc = jobs.error_of(job)
        if exc is not None:
            raise exc
    return JSONResponse(_public(job), status_code=202,
                        headers={"Location": f"/api/jobs/{job_id}"})


async def _wait(gw: Any, job_id: str, deadline: float) -> dict[str, Any]:
    """The job once it ended, or as it is at ``deadline`` (``time.monotonic``; never
    blocking the event loop)."""
    pause = 0.02
    while True:
        job: dict[str, Any] = await run_in_threadpool(gw.store.job, job_id) or {}
        if job.get("state") in ("done", "failed") or time.monotonic() >= deadline:
            return job
        await asyncio.sleep(pause)
        pause = min(pause * 1.5, 0.25)


@router.get("/jobs", tags=["uploads"], summary="Your uploads' jobs",
            responses={403: {"description": "Not a data owner or an administrator."}})
def job_list(
    gw: GatewayDep,
    actor: ActorDep,
    limit: Annotated[int, Query(ge=1, le=500, description="Most jobs listed.")] = 50,
) -> dict[str, Any]:
    """The latest jobs of the actor's organisation (every job for an administrator)."""
    if actor.role not in ("owner", "admin"):
        raise AccessDenied("jobs are shown to data owners and administrators")
    frame = gw.store.jobs(limit=500)
    shown = [
        _public({str(k): v for k, v in rec.items()}) for rec in frame.to_dict("records")
        if allowed(actor, Action.VIEW_JOB,
                   Resource.organisation_of(str(rec.get("organisation") or "")))
    ]
    return {"jobs": shown[:limit]}


@router.get("/jobs/{job_id}", tags=["uploads"], summary="One job",
            responses={404: {"description": "No such job (or not yours)."}})
def job_detail(gw: GatewayDep, actor: ActorDep, job_id: str) -> dict[str, Any]:
    """State, progress, step and outcome of one job (of the actor's organisation)."""
    if len(job_id) > 64:
        raise NotFoundError("no such job")
    return _public(_visible(actor, gw.store.job(job_id)))
