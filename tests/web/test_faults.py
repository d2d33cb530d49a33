"""A server killed at random moments while it takes uploads, on both store backends.

:func:`test_uploads_survive_a_server_killed_at_random_moments` starts ``chemearth serve``
(PostgreSQL: ``--workers 4``; the embedded store: one worker process) over a store holding
the Meuse survey, has a data owner upload :data:`UPLOADS` (10 real surveys and subsets of
them, each under a dataset id of its own, ``wait=false``), and then, :data:`KILLS` times at
a random moment (seeded: :data:`SEED`), SIGKILLs the whole server (every process of it) and
starts it again; over PostgreSQL, one kill in two SIGKILLs a single worker process instead
(uvicorn starts another). A job whose worker was killed is taken up again by a worker of
the restarted server; one whose workers were killed three times is failed.

It proves:

* after every restart, nothing is half visible: every dataset the catalogue lists has its
  layers listed (:func:`assert_whole`);
* no job is stuck: once the restarted server had time to take them up, every job is done,
  or failed because its workers were killed (``abandoned … times``), never another error;
* sending a failed upload again (the file and descriptor as before) publishes it: the
  version left unpublished by the killed workers is taken up, not duplicated. Since the
  random kills may fail no job, one more upload (:data:`ABANDONED`) has its worker killed
  three times on purpose, as soon as it runs it: its job fails (``abandoned 3 times``),
  the dataset is not listed, and sent again it is published as version 1;
* at the end every upload is listed with all its grid layers, the store holds every grid
  and level of each (:func:`tests.web.test_concurrency.assert_store_complete`), no version
  is left unpublished, and (embedded) no temporary file of a killed write is left behind.

Run it with::

    .venv/bin/pytest -s -m slow tests/web/test_faults.py
"""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.web.test_concurrency import (
    Server,
    Upload,
    api_datasets,
    api_layers,
    assert_listed_with_layers,
    assert_store_complete,
    follow_job,
    seed_store,
    server_env,
    survey_upload,
    workers_for,
)

from chemearth.store import is_server_url

#: (shipped descriptor, dataset id of the upload, rows kept: None = all).
UPLOADS: tuple[tuple[str, str, int | None], ...] = (
    ("meuse", "fault-meuse", None),
    ("meuse-all", "fault-meuse-all", None),
    ("jura", "fault-jura", None),
    ("kola-moss", "fault-kola-moss", None),
    ("kola-humus", "fault-kola-humus", 300),
    ("bss-top", "fault-bss-top", 400),
    ("bss-bottom", "fault-bss-bottom", None),
    ("usgs-ngs-il-in", "fault-ngs-il-in", 1500),
    ("gemas", "fault-gemas", 800),
    ("kola-bhorizon", "fault-kola-bhorizon", None),
)
#: The upload whose worker is killed three times on purpose (its job fails; then retried).
ABANDONED = ("kola-bhorizon", "fault-abandoned", None)
#: The seed of the kill moments and targets, and how many kills there are.
SEED = 20_240_611
KILLS = 6
#: Kill moments: this many seconds (uniform) after the server answered again.
KILL_AFTER_S = (0.2, 4.0)
#: Longest wait for every job to end once the killing stopped.
SETTLE_WITHIN_S = 600.0


def assert_whole(client: httpx.Client, token: str) -> None:
    """Every dataset the catalogue lists has its layers listed (none is half published)."""
    listed = set(api_datasets(client, token))
    with_layers = {x["dataset"] for x in api_layers(client, token)}
    kinds = {d["dataset_id"]: d["kind"]
             for d in client.get("/api/datasets",
                                 headers={"Authorization": f"Bearer {token}"}).json()["datasets"]}
    bare = {ds for ds in listed - with_layers if kinds.get(ds) == "survey"}
    assert not bare, f"listed without any grid layer: {sorted(bare)}"


def _kill_somehow(server: Server, rng: random.Random) -> str:
    """SIGKILL the whole server, or (several workers) one worker process; what was killed."""
    import os
    import signal

    if server.workers > 1 and rng.random() < 0.5:
        pids = server.worker_pids()
        if pids:
            pid = rng.choice(sorted(pids))
            os.kill(pid, signal.SIGKILL)
            return f"worker {pid}"
    server.kill()
    server.start()
    return "server"


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_uploads_survive_a_server_killed_at_random_moments(
    store_location: str, data_dir: Path, boundaries: Path, tmp_path: Path
) -> None:
    token = seed_store(store_location, data_dir, boundaries, seeded=("meuse",))
    uploads = {ds: survey_upload(data_dir, shipped, ds, rows) for shipped, ds, rows in UPLOADS}
    server = Server(store_location, workers_for(store_location), tmp_path / "serve.log",
                    server_env(store_location, data_dir, boundaries, tmp_path / "home"))
    rng = random.Random(SEED)
    t0 = time.monotonic()
    server.start()
    try:
        # a new connection per request: one kept alive may be to a worker killed since
        fresh = httpx.Limits(max_keepalive_connections=0)
        with httpx.Client(base_url=server.url, timeout=60, limits=fresh) as client:
            jobs = {ds: _submit(client, token, up) for ds, up in uploads.items()}
            for n in range(KILLS):
                time.sleep(rng.uniform(*KILL_AFTER_S))
                what = _kill_somehow(server, rng)
                states = _states(client, token, jobs)
                print(f"kill {n + 1} at {time.monotonic() - t0:.1f} s: {what}; jobs: {states}")
                assert_whole(client, token)
            ended = {ds: follow_job(client, token, job_id, SETTLE_WITHIN_S)
                     for ds, job_id in jobs.items()}
            print(f"every job ended {time.monotonic() - t0:.1f} s after the start")
            stuck = {ds: j.get("state") for ds, j in ended.items()
                     if j.get("state") not in ("done", "failed")}
            assert not stuck, f"jobs stuck: {stuck}"
            failed = {ds: j for ds, j in ended.items() if j["state"] == "failed"}
            for ds, j in ended.items():
                print(f"  {ds}: {j['state']} after {j['attempts']} attempt(s): {j['message']}")
            for ds, j in failed.items():
                assert "abandoned" in j["message"], f"{ds} failed otherwise: {j}"
            for ds, j in ended.items():
                if ds not in failed:
                    assert j["result"]["status"] in ("ingested", "unchanged"), j
            assert_whole(client, token)
            # a failed upload sent again is published (the unpublished version taken up)
            for ds in failed:
                retry = follow_job(client, token, _submit(client, token, uploads[ds]),
                                   SETTLE_WITHIN_S)
                assert retry["state"] == "done", retry
                # "unchanged" when the killed attempt had published before the kill (only
                # marking its job done was lost): version 1 is there either way
                assert retry["result"]["status"] in ("ingested", "unchanged"), retry
                assert retry["result"]["version"] == 1
            # and whatever the random kills did: a job whose worker is killed three times
            # fails, cleanly, and sent again it is published
            up = survey_upload(data_dir, *ABANDONED)
            uploads[up.dataset_id] = up
            job = follow_job(client, token, _abandon(server, client, token, up, 3),
                             SETTLE_WITHIN_S)
            assert (job["state"], job["attempts"]) == ("failed", 3), job
            assert "abandoned 3 times" in job["message"]
            assert up.dataset_id not in api_datasets(client, token)
            assert_whole(client, token)
            retry = follow_job(client, token, _submit(client, token, up), SETTLE_WITHIN_S)
            assert retry["state"] == "done", retry
            assert (retry["result"]["status"], retry["result"]["version"]) == ("ingested", 1)
            for ds in uploads:
                assert_listed_with_layers(client, token, ds)
            all_jobs = client.get("/api/jobs", params={"limit": 500},
                                  headers={"Authorization": f"Bearer {token}"}).json()["jobs"]
            assert {j["state"] for j in all_jobs} <= {"done", "failed"}
            print(f"{len(failed)} failed job(s) retried; {server.starts} server start(s); "
                  f"{time.monotonic() - t0:.1f} s in all")
    finally:
        server.stop()
        print(f"server log: {server.log}")
    assert_store_complete(store_location, list(uploads))
    if not is_server_url(store_location):
        left = list(Path(store_location).rglob("*.tmp"))
        assert not left, f"temporary files of killed writes are left: {left}"


def _abandon(server: Server, client: httpx.Client, token: str, up: Upload, times: int) -> str:
    """Upload ``up`` and SIGKILL the server ``times`` as soon as a worker runs its job
    (restarting it each time); the job's id."""
    job_id = _submit(client, token, up)
    auth = {"Authorization": f"Bearer {token}"}
    for attempt in range(1, times + 1):
        deadline = time.monotonic() + SETTLE_WITHIN_S
        while True:
            job = client.get(f"/api/jobs/{job_id}", headers=auth).json()
            if job["state"] == "running" and job["attempts"] == attempt:
                break
            assert job["state"] in ("queued", "running"), f"the job ended first: {job}"
            assert time.monotonic() < deadline, f"the job never ran: {job}"
            time.sleep(0.05)
        server.kill()
        server.start()
    return job_id


def _submit(client: httpx.Client, token: str, up: Upload) -> str:
    r = up.post(client, token)
    assert r.status_code in (201, 202), r.text
    return str(r.json()["job_id"])


def _states(client: httpx.Client, token: str, jobs: dict[str, str]) -> dict[str, Any]:
    """Each job's state and attempts, as the restarted server tells them."""
    out: dict[str, Any] = {}
    for ds, job_id in jobs.items():
        r = client.get(f"/api/jobs/{job_id}", headers={"Authorization": f"Bearer {token}"})
        j = r.json() if r.status_code == 200 else {}
        out[ds.removeprefix("fault-")] = f"{j.get('state')}/{j.get('attempts')}"
    return out
