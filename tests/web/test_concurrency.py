"""Uploads and reads at the same time on a real server: the acceptance test of concurrent
uploads, on both store backends.

:func:`test_uploads_while_readers_read` starts ``chemearth serve`` as a subprocess over a
store holding three real surveys with their grid layers (PostgreSQL: ``--workers 4``; the
embedded store: one worker process), then, at once:

* a data owner uploads :data:`UPLOADS` (8 real surveys from the shared data folder, each
  under a dataset id of its own) concurrently, with ``wait=false``, and follows each job at
  ``/api/jobs/{id}`` until it ends;
* :data:`READERS` readers hit map tiles, cell look-ups, TileJSON and the catalogue
  (``/api/datasets``, ``/api/layers``, ``/api/countries``, ``/api/elements``) without
  pause, for :data:`DURATION_S` seconds and for as long as uploads are still running (and
  until they have read every upload published). They follow the catalogue: a layer that
  ``/api/layers`` lists is read (TileJSON, tiles, cells) from then on, so a dataset
  published before all its layers were would be caught.

It proves that there is no error at all: no 5xx answer, no connection error, no request
answered 4xx that should not be (a cell look-up where no cell is published is a 404 by
design, counted apart); that every job ended ``done``; that every uploaded dataset is listed
by the catalogue with a layer per element on every grid its samples call for, and that the
store holds its cells at every level of those grids, with no version left unpublished.
It prints the p50 and p99 latency of the reads per kind (no assertion on timings).

Run it with::

    .venv/bin/pytest -s -m slow tests/web/test_concurrency.py

The helpers (a seeded store, the server subprocess, uploads of real surveys, the checks
of a complete dataset) are shared with :mod:`tests.web.test_faults`.
"""

from __future__ import annotations

import collections
import contextlib
import math
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from tests.conftest import free_port

from chemearth.errors import ChemearthWarning

CHEMEARTH = str(Path(sys.executable).with_name("chemearth"))
#: The organisation of the data owner who uploads.
ORG = "Geological Survey of Concurrency"
#: Surveys in the store before the server starts (shipped descriptors, public).
SEEDED = ("meuse", "jura", "kola-humus")
#: (shipped descriptor, dataset id of the upload, rows kept: None = all): real surveys
#: in six CRSs, from the Netherlands to the Kola peninsula, Illinois and the whole of
#: Europe, 155 to 2,858 samples, 4 to 42 elements (the two largest cut to their first rows).
UPLOADS: tuple[tuple[str, str, int | None], ...] = (
    ("meuse", "up-meuse", None),
    ("meuse-all", "up-meuse-all", None),
    ("jura", "up-jura", None),
    ("kola-humus", "up-kola-humus", None),
    ("kola-moss", "up-kola-moss", None),
    ("bss-top", "up-bss-top", 400),
    ("usgs-ngs-il-in", "up-ngs-il-in", None),
    ("gemas", "up-gemas", 600),
)
#: How long the readers read at least (seconds), and how many there are.
DURATION_S = 60.0
READERS = 32
#: Longest wait for the uploads' jobs to end, and for a server to answer after its start.
JOBS_WITHIN_S = 1500.0
START_WITHIN_S = 120.0
#: Longest the readers read on, after the uploads ended, to find and read the last ones.
READ_NEW_WITHIN_S = 120.0


# --------------------------------------------------------------------------- the site


@dataclass
class Upload:
    """One survey upload: its dataset id, file (name, bytes) and descriptor text."""

    dataset_id: str
    file_name: str
    data: bytes
    descriptor: str

    def post(self, client: httpx.Client, token: str, wait: bool = False) -> httpx.Response:
        """POST it to ``/api/datasets`` as the data owner whose token is given."""
        files: dict[str, tuple[str, bytes]] = {
            "file": (self.file_name, self.data),
            "descriptor": (f"{self.dataset_id}.toml", self.descriptor.encode()),
        }
        return client.post("/api/datasets", files=files,
                           data={"wait": "true" if wait else "false"},
                           headers={"Authorization": f"Bearer {token}"})


def survey_upload(data_dir: Path, shipped: str, dataset_id: str,
                  rows: int | None = None) -> Upload:
    """The real survey of a shipped descriptor, under ``dataset_id`` and :data:`ORG`; with
    ``rows``, only its first rows (a synthetic variant: another file, another version)."""
    from chemearth.ingest.descriptor import load_descriptor
    from chemearth.ingest.shipped import shipped_descriptor

    path = shipped_descriptor(shipped)
    assert path is not None
    desc = load_descriptor(path)
    assert desc.source.path
    survey = data_dir / desc.source.path
    text = path.read_text(encoding="utf-8")
    text = re.sub(r'(?m)^id = ".*"$', f'id = "{dataset_id}"', text, count=1)
    text = re.sub(r'(?m)^organisation = ".*"$', f'organisation = "{ORG}"', text, count=1)
    data = survey.read_bytes()
    if rows is not None:
        lines = data.decode("utf-8").splitlines()
        data = ("\n".join(lines[: rows + 1]) + "\n").encode()
    return Upload(dataset_id, survey.name, data, text)


def seed_store(location: str, data_dir: Path, boundaries: Path,
               seeded: tuple[str, ...] = SEEDED) -> str:
    """Ingest ``seeded`` with their grid layers into the store at ``location`` and make a
    data owner of :data:`ORG`; returns the owner's token. The store is closed after."""
    from chemearth.access.tokens import TokenStore
    from chemearth.grid.layers import build_layers
    from chemearth.ingest.descriptor import load_descriptor
    from chemearth.ingest.pipeline import ingest
    from chemearth.ingest.shipped import shipped_descriptor
    from chemearth.store import open_store

    store = open_store(location)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ChemearthWarning)
            for ds in seeded:
                desc = load_descriptor(shipped_descriptor(ds))  # type: ignore[arg-type]
                ingest(store, desc, data_dir=data_dir, boundaries=boundaries)
        build_layers(store)
        return TokenStore(store).create("uploader", "owner", organisation=ORG)
    finally:
        store.close()


@dataclass
class Server:
    """``chemearth serve`` over a store, as a subprocess (a process group of its own)."""

    location: str
    workers: int
    log: Path
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start it (again, on the same port) and wait until it answers."""
        self.starts += 1
        with self.log.open("a") as fh:
            fh.write(f"\n----- start {self.starts}\n")
            fh.flush()
            self.proc = subprocess.Popen(
                [CHEMEARTH, "serve", "--store", self.location, "--host", "127.0.0.1",
                 "--port", str(self.port), "--workers", str(self.workers)],
                env=self.env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True,
            )
        deadline = time.monotonic() + START_WITHIN_S
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/api", timeout=5).status_code == 200:
                    return
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"server did not start: {self.log.read_text()[-3000:]}")
            time.sleep(0.2)

    def worker_pids(self) -> list[int]:
        """The pids of the uvicorn worker processes (the server itself with one worker)."""
        import psutil

        assert self.proc is not None
        if self.workers == 1:
            return [self.proc.pid]
        pids = []
        for kid in psutil.Process(self.proc.pid).children():
            try:
                line = " ".join(kid.cmdline())
                alive = kid.status() != psutil.STATUS_ZOMBIE
            except psutil.Error:  # ended meanwhile (a killed worker not reaped yet)
                continue
            if alive and "multiprocessing.spawn" in line and "resource_tracker" not in line:
                pids.append(kid.pid)
        return pids

    def kill(self) -> None:
        """SIGKILL the server and its worker processes (its process group), at once."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait()
        self.proc = None

    def stop(self) -> None:
        """Stop it as Ctrl+C would (SIGINT to its group); SIGKILL after 30 s."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None


def server_env(location: str, data_dir: Path, boundaries: Path, home: Path) -> dict[str, str]:
    """The environment of a server over ``location`` (no fault point of a test inherited)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHEMEARTH_")}
    env.update(CHEMEARTH_STORE=location, CHEMEARTH_HOME=str(home),
               CHEMEARTH_DATA=str(data_dir), CHEMEARTH_BOUNDARIES=str(boundaries))
    return env


@contextlib.contextmanager
def serving(location: str, workers: int, data_dir: Path, boundaries: Path,
            folder: Path) -> Iterator[Server]:
    """A started :class:`Server`, stopped at the end (its log in ``folder``)."""
    server = Server(location, workers, folder / "serve.log",
                    server_env(location, data_dir, boundaries, folder / "home"))
    server.start()
    try:
        yield server
    finally:
        server.stop()
        print(f"server log: {server.log}")


def workers_for(location: str) -> int:
    """Worker processes of the server: 4 over PostgreSQL, 1 over the embedded store."""
    from chemearth.store import is_server_url

    return 4 if is_server_url(location) else 1


# --------------------------------------------------------------------------- checks


def follow_job(client: httpx.Client, token: str, job_id: str, within_s: float,
               errors: list[str] | None = None) -> dict[str, Any]:
    """Poll ``/api/jobs/{id}`` until the job ended (or ``within_s``); its last state.

    Connection errors (a server being restarted) are waited out; other failures are
    appended to ``errors`` when given.
    """
    deadline = time.monotonic() + within_s
    job: dict[str, Any] = {}
    while time.monotonic() < deadline:
        try:
            r = client.get(f"/api/jobs/{job_id}", headers={"Authorization": f"Bearer {token}"})
        except httpx.TransportError:
            time.sleep(0.5)
            continue
        if r.status_code != 200:
            if errors is not None:
                errors.append(f"GET /api/jobs/{job_id}: {r.status_code} {r.text[:300]}")
            time.sleep(0.5)
            continue
        job = r.json()
        if job["state"] in ("done", "failed"):
            return job
        time.sleep(0.5)
    return job


def api_layers(client: httpx.Client, token: str | None = None) -> list[dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    r = client.get("/api/layers", headers=headers)
    assert r.status_code == 200, r.text
    layers: list[dict[str, Any]] = r.json()["layers"]
    return layers


def api_datasets(client: httpx.Client, token: str | None = None) -> list[str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    r = client.get("/api/datasets", headers=headers)
    assert r.status_code == 200, r.text
    return [str(d["dataset_id"]) for d in r.json()["datasets"]]


def assert_listed_with_layers(client: httpx.Client, token: str, dataset_id: str) -> set[str]:
    """The catalogue lists ``dataset_id``, its layers are listed, and the first of them
    answers TileJSON, legend and a tile; returns the grids its layers are on."""
    assert dataset_id in api_datasets(client, token), f"{dataset_id} is not listed"
    mine = [x for x in api_layers(client, token) if x["dataset"] == dataset_id]
    assert mine, f"{dataset_id} is listed without any grid layer"
    first = mine[0]
    params = {"medium": first["medium"], "method": first["method"]}
    auth = {"Authorization": f"Bearer {token}"}
    tj = client.get(f"/api/layers/{dataset_id}/{first['element']}/tilejson.json",
                    params=params, headers=auth)
    assert tj.status_code == 200, tj.text
    legend = client.get(f"/api/layers/{dataset_id}/{first['element']}/legend", params=params,
                        headers=auth)
    assert legend.status_code == 200, legend.text
    assert legend.json()["n_cells"] > 0
    w, s, e, n = tj.json()["bounds"]
    z, x, y = tile_at((w + e) / 2, (s + n) / 2, 6)
    tile = client.get(tj.json()["tiles"][0].format(z=z, x=x, y=y), headers=auth)
    assert tile.status_code == 200, tile.text
    assert tile.content[:8] == b"\x89PNG\r\n\x1a\n"
    grids = {g for x in mine for g in x["grids"]}
    assert all(set(x["grids"]) == grids for x in mine), "a layer misses a grid"
    return grids


def assert_store_complete(location: str, dataset_ids: list[str] | None = None) -> None:
    """In the store (no server running): nothing unpublished, and every dataset listed
    (or each of ``dataset_ids``, which must be listed) has its cells on every grid its
    samples call for, at every level, for every element of its inventory."""
    from chemearth.grid.geometry import get_grid
    from chemearth.grid.layers import grids_for
    from chemearth.store import open_store

    store = open_store(location)
    try:
        left = store.unpublished()
        assert left.empty, f"versions left unpublished: {left.to_dict('records')}"
        listed = store.datasets()
        latest = dict(zip(listed["dataset_id"], listed["version"], strict=True))
        for ds in dataset_ids or []:
            assert ds in latest, f"{ds} is not listed"
        built = {(r.dataset_id, int(r.version), r.grid)  # type: ignore[arg-type]
                 for r in store.cell_versions().itertuples()}
        inv = store.cell_inventory()
        kinds = dict(zip(listed["dataset_id"], listed["kind"].fillna("survey"), strict=True))
        for ds, version in latest.items():
            if kinds[ds] != "survey":
                continue
            samples = store.samples(ds)
            lon = samples["longitude"].to_numpy(dtype=np.float64, na_value=np.nan)
            lat = samples["latitude"].to_numpy(dtype=np.float64, na_value=np.nan)
            grids = set(grids_for(lon, lat))
            missing = {g for g in grids if (ds, int(version), g) not in built}
            assert not missing, f"{ds} version {version} is listed without its {missing} cells"
            rows = inv[inv["dataset_id"] == ds]
            assert set(rows["grid"]) == grids
            for (grid, element), g in rows.groupby(["grid", "element"]):
                assert set(g["level_m"]) == set(get_grid(str(grid)).levels), (ds, grid, element)
    finally:
        store.close()


def tile_at(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    """The Web Mercator tile (z, x, y) holding a point."""
    n = 2**z
    lat = max(min(lat, 85.0), -85.0)
    x = int((lon + 180.0) / 360.0 * n)
    r = math.radians(lat)
    y = int((1.0 - math.asinh(math.tan(r)) / math.pi) / 2.0 * n)
    return z, min(max(x, 0), n - 1), min(max(y, 0), n - 1)


# --------------------------------------------------------------------------- the load


@dataclass
class Layer:
    """A layer the readers read: its paths, query, bounds."""

    dataset: str
    element: str
    params: dict[str, str]
    tiles: str = ""
    bounds: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)


@dataclass
class Load:
    """What the readers and uploaders saw."""

    timings: dict[str, list[float]] = field(default_factory=lambda: collections.defaultdict(list))
    errors: list[str] = field(default_factory=list)
    no_cell: int = 0
    layers: dict[tuple[str, str, str, str], Layer] = field(default_factory=dict)
    pending: list[Layer] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, seconds: float) -> None:
        with self.lock:
            self.timings[kind].append(seconds)

    def error(self, text: str) -> None:
        with self.lock:
            self.errors.append(text)

    def learn(self, listed: list[dict[str, Any]]) -> None:
        """Layers listed by ``/api/layers``: new ones are read (TileJSON first) from now on."""
        with self.lock:
            for x in listed:
                key = (x["dataset"], x["element"], x["medium"], x["method"])
                if key not in self.layers:
                    layer = Layer(x["dataset"], x["element"],
                                  {"medium": x["medium"], "method": x["method"]})
                    self.layers[key] = layer
                    self.pending.append(layer)

    def read_datasets(self) -> set[str]:
        """Datasets of which a layer was read (its TileJSON answered)."""
        with self.lock:
            return {x.dataset for x in self.layers.values() if x.tiles}

    def pick(self, rng: random.Random) -> tuple[Layer | None, bool]:
        """A layer to read: (one still without TileJSON, True) or (a known one, False)."""
        with self.lock:
            if self.pending:
                return self.pending.pop(), True
            ready = [x for x in self.layers.values() if x.tiles]
        return (rng.choice(ready), False) if ready else (None, False)


def _read_once(client: httpx.Client, load: Load, rng: random.Random, kind: str) -> None:
    """One read of ``kind`` (catalogue, tile, cell); a layer without TileJSON yet gets it."""
    layer, fresh = load.pick(rng) if kind != "catalogue" else (None, False)
    if kind == "catalogue" or layer is None:
        path = rng.choice(["/api/datasets", "/api/layers", "/api/countries", "/api/elements"])
        kind = "catalogue"
    elif fresh:
        kind = "tilejson"
        path = f"/api/layers/{layer.dataset}/{layer.element}/tilejson.json"
    elif kind == "tile":
        w, s, e, n = layer.bounds
        z, x, y = tile_at(rng.uniform(w, e), rng.uniform(s, n), rng.randint(3, 11))
        path = layer.tiles.format(z=z, x=x, y=y)
    else:
        w, s, e, n = layer.bounds
        path = f"/api/layers/{layer.dataset}/{layer.element}/cell"
    params: dict[str, str] | None = None
    if layer is not None and kind in ("tilejson", "cell"):
        params = dict(layer.params)
        if kind == "cell":
            params.update(lon=f"{rng.uniform(w, e):.5f}", lat=f"{rng.uniform(s, n):.5f}")
    t0 = time.perf_counter()
    try:
        r = client.get(path, params=params)
    except httpx.HTTPError as exc:
        load.error(f"{kind} {path}: {type(exc).__name__}: {exc}")
        if fresh and layer is not None:
            with load.lock:
                load.pending.append(layer)
        return
    seconds = time.perf_counter() - t0
    load.record(kind, seconds)
    if kind == "catalogue":
        load.record(f"  {path}", seconds)
    if kind == "cell" and r.status_code == 404 and "no published" in r.text:
        with load.lock:
            load.no_cell += 1
        return
    if r.status_code != 200:
        load.error(f"{kind} {path} {params or ''}: {r.status_code} {r.text[:300]}")
        return
    if kind == "catalogue" and path == "/api/layers":
        load.learn(r.json()["layers"])
    elif kind == "tilejson" and layer is not None:
        body = r.json()
        w, s, e, n = (float(v) for v in body["bounds"])
        layer.bounds = (w, s, e, n)
        layer.tiles = str(body["tiles"][0]).split(str(client.base_url).rstrip("/"), 1)[-1]
    elif kind == "tile" and r.content[:4] != b"\x89PNG":
        load.error(f"tile {path}: not a PNG")


def read_until(base: str, load: Load, stop: threading.Event, seed: int) -> None:
    """A reader: tiles, cells and the catalogue in turn until ``stop``."""
    rng = random.Random(seed)
    kinds = ["tile", "cell", "catalogue"]
    with httpx.Client(base_url=base, timeout=120) as client:
        i = seed
        while not stop.is_set():
            _read_once(client, load, rng, kinds[i % len(kinds)])
            i += 1


def percentiles(timings: dict[str, list[float]]) -> str:
    """p50 and p99 per kind of read, in milliseconds, as a table (the catalogue's paths
    indented under it)."""
    lines = [f"{'read':<22} {'n':>7} {'p50 ms':>9} {'p99 ms':>9} {'max ms':>9}"]
    kinds = sorted(k for k in timings if not k.startswith(" "))
    for kind in kinds:
        subs = sorted(k for k in timings if k.startswith(" ")) if kind == "catalogue" else []
        for name in (kind, *subs):
            t = np.asarray(timings[name]) * 1000
            lines.append(f"{name:<22} {len(t):>7} {np.percentile(t, 50):>9.1f} "
                         f"{np.percentile(t, 99):>9.1f} {t.max():>9.1f}")
    return "\n".join(lines)


def run_load(server: Server, token: str, uploads: list[Upload], duration_s: float,
             readers: int = READERS) -> tuple[Load, dict[str, dict[str, Any]], float]:
    """The uploads, all at once, while ``readers`` read for ``duration_s`` seconds and until
    every upload's job ended. Returns what was read, each dataset's job, the read seconds."""
    load = Load()
    with httpx.Client(base_url=server.url, timeout=60) as c:
        load.learn(api_layers(c))
    jobs: dict[str, dict[str, Any]] = {}
    stop = threading.Event()

    def upload(up: Upload) -> None:
        with httpx.Client(base_url=server.url, timeout=120) as client:
            try:
                r = up.post(client, token)
            except httpx.HTTPError as exc:
                load.error(f"upload {up.dataset_id}: {type(exc).__name__}: {exc}")
                return
            if r.status_code not in (201, 202):
                load.error(f"upload {up.dataset_id}: {r.status_code} {r.text[:300]}")
                return
            job = follow_job(client, token, r.json()["job_id"], JOBS_WITHIN_S, load.errors)
            with load.lock:
                jobs[up.dataset_id] = job

    t0 = time.monotonic()
    reading = [threading.Thread(target=read_until, args=(server.url, load, stop, n))
               for n in range(readers)]
    uploading = [threading.Thread(target=upload, args=(up,)) for up in uploads]
    for t in reading + uploading:
        t.start()
    for t in uploading:
        t.join()
    # read on for the duration, and until every upload published was read (TileJSON)
    wanted = {up.dataset_id for up in uploads if jobs.get(up.dataset_id, {}).get("state")
              == "done"}
    deadline = time.monotonic() + READ_NEW_WITHIN_S
    while time.monotonic() - t0 < duration_s or (
        not wanted <= load.read_datasets() and time.monotonic() < deadline
    ):
        time.sleep(0.2)
    stop.set()
    for t in reading:
        t.join()
    return load, jobs, time.monotonic() - t0


# --------------------------------------------------------------------------- the test


@pytest.mark.slow
@pytest.mark.timeout(2400)
@pytest.mark.parametrize("duration_s", [DURATION_S])
def test_uploads_while_readers_read(
    store_location: str, data_dir: Path, boundaries: Path, tmp_path: Path, duration_s: float
) -> None:
    token = seed_store(store_location, data_dir, boundaries)
    uploads = [survey_upload(data_dir, shipped, ds, rows) for shipped, ds, rows in UPLOADS]
    workers = workers_for(store_location)
    with serving(store_location, workers, data_dir, boundaries, tmp_path) as server:
        pids = set(server.worker_pids())
        load, jobs, seconds = run_load(server, token, uploads, duration_s)
        print(f"\nworker processes replaced meanwhile: {len(pids - set(server.worker_pids()))}")
        print(f"\n{len(uploads)} uploads, {READERS} readers, {workers} worker process(es): "
              f"read for {seconds:.1f} s, {sum(map(len, load.timings.values()))} reads, "
              f"{load.no_cell} cell look-ups where no cell is published")
        print(percentiles(load.timings))
        for ds, job in sorted(jobs.items()):
            print(f"  {ds}: {job.get('state')} in "
                  f"{_seconds(job.get('started_at'), job.get('finished_at'))} "
                  f"(attempts {job.get('attempts')}) {job.get('message', '')}")
        kinds = collections.Counter(" ".join(e.split(" ")[:2]) + " " + _status(e)
                                    for e in load.errors)
        assert not load.errors, f"{len(load.errors)} errors {dict(kinds)}, first: " \
                                f"{load.errors[:5]}"
        assert {ds: job.get("state") for ds, job in jobs.items()} == {
            up.dataset_id: "done" for up in uploads}
        assert all(job["result"]["status"] == "ingested" for job in jobs.values())
        with httpx.Client(base_url=server.url, timeout=60) as client:
            grids = {up.dataset_id: assert_listed_with_layers(client, token, up.dataset_id)
                     for up in uploads}
        # the readers found every uploaded dataset's layers in the catalogue and read them
        assert load.read_datasets() >= {up.dataset_id for up in uploads}
    assert_store_complete(store_location, [up.dataset_id for up in uploads])
    print("grids per upload:", {ds: sorted(g) for ds, g in grids.items()})


def _status(error: str) -> str:
    """The status code (or exception name) in an error line of :class:`Load`."""
    found = re.search(r"(?:: | )(\d{3}) |: (\w+Error|\w+Timeout)", error)
    return next((g for g in found.groups() if g), "?") if found else "?"


def _seconds(start: Any, end: Any) -> str:
    import datetime as dt

    if not start or not end:
        return "?"
    delta = dt.datetime.fromisoformat(str(end)) - dt.datetime.fromisoformat(str(start))
    return f"{delta.total_seconds():.1f} s"
