"""Benchmark: the chemearth web server under load, against TiTiler serving the same layer.

Against a warm server on 127.0.0.1, ``wrk`` (``-t2 -c64 --latency``; ``urls.lua`` beside
this file picks one URL per request from a pre-generated list and prints counts and latency
percentiles as JSON) runs these phases, each its own wrk run:

==================  ==========================================================================
phase               requests
==================  ==========================================================================
tiles-uncached      every request a tile URL never requested before: tiles of one layer
                    (DS-801 As median, 10 km) at zooms 4-12: first every tile that meets a
                    published cell (~45,000), dealt round-robin over the zooms, then the rest
                    of the samples' bounding box. The list (200,000 by default) is longer than
                    the phase can serve, so a server cache only ever sees each URL once
                    ("wrapped" > 0 says it ran out; the result is then marked invalid)
tiles-cached        200 tile URLs holding data (all zooms), each requested once and then
                    under load for the warm-up, then requested at random again and again
api-cell            ``/api/layers/{dataset}/{element}/cell?lon=&lat=&medium=&level=`` at
                    random points inside random published cells, both datasets, 8 elements
api-catalogue       ``/api/datasets``, ``/api/datasets/{dataset}``, ``/api/layers``
mixed (30 s)        what a map viewer sends: 70 % tiles (half the cached set, half tiles of the
                    other layers, DS-801 and Kola, at a random zoom and a random place holding
                    data), 20 % cell queries, 10 % catalogue JSON
==================  ==========================================================================

The named peer is TiTiler (``titiler.application`` 2.x on uvicorn, the same number of
workers, in its own virtual environment ``bench/serve/.venv-titiler`` that this script makes
on first use) serving ``chemearth export`` of the same layer as a Cloud-Optimised GeoTIFF
(EPSG:6933, float32, 10 km) at ``/cog/tiles/WebMercatorQuad/{z}/{x}/{y}.png?url=<file>&
rescale=<P2>,<P98>&colormap_name=viridis``; it runs the tiles-uncached phase over the same
z/x/y list. TiTiler keeps no tile cache, so every tile it serves is rendered.

The store is ingested (``usgs-ds801-top5``, ``kola-humus``) and gridded into a temporary
CHEMEARTH_HOME, or built once into / reused from ``--store PATH``. The server is
``chemearth serve --host 127.0.0.1 --port P --workers W`` with CHEMEARTH_HOME set. wrk runs on
the same 2-core machine as the servers and takes some of their CPU; it is a closed loop (64
clients, each waiting for its answer), so latencies are those of a saturated server. Beside
2xx answers per second and latency percentiles, each phase reports the server's CPU time per
request (its whole process group, from /proc: steadier than throughput on a shared machine)
and the share of the machine that other processes used meanwhile. A server worker that died
(e.g. at start-up) or a traceback in the server's log is reported as a WARNING.

Before the phases, right after the server first answers, ``first_page.py`` (beside this
file) times the map page in a real browser (chromium driven by Playwright): load event and
the moment every request the page made had its answer; skipped without a browser.

Targets: tile p99 < 100 ms uncached; uncached tiles/s >= 5x TiTiler's; cached tiles
>= 9,000/s; API p99 < 50 ms; first page drawn < 1 s. Results also go to
``bench/out/serve.json``.

Usage: ``.venv/bin/python bench/serve/run.py [--quick] [--store PATH] [--skip-titiler]``
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
LUA = HERE / "urls.lua"
TITILER_VENV = HERE / ".venv-titiler"
TITILER_REQUIREMENT = ["titiler.application>=2.4,<3", "uvicorn>=0.30"]
DATASETS = ("usgs-ds801-top5", "kola-humus")
MIX_ELEMENTS = ("As", "Cu", "Ni", "Pb", "Zn", "Cr", "Co", "Cd")
# GDAL settings TiTiler's own deployment files use (docker-compose.yml), so the peer runs tuned
TITILER_GDAL_ENV = {
    "GDAL_CACHEMAX": "200",
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "GDAL_INGESTED_BYTES_AT_OPEN": "32768",
    "VSI_CACHE": "TRUE",
    "VSI_CACHE_SIZE": "536870912",
    "PYTHONWARNINGS": "ignore",
}
TARGETS = {
    "tile_p99_uncached_ms": 100.0,
    "uncached_ratio_vs_titiler": 5.0,
    "cached_tiles_per_s": 9000.0,  # issue 22
    "api_p99_ms": 50.0,
    "first_page_s": 1.0,
}


def data_dir() -> Path:
    env = os.environ.get("CHEMEARTH_DATA")
    return Path(env) if env else ROOT.parent / "shared" / "data"


def chemearth_exe() -> str:
    exe = Path(sys.executable).parent / "chemearth"
    return str(exe) if exe.exists() else "chemearth"


def run(
    cmd: list[str], env: dict[str, str], check: bool = True
) -> subprocess.CompletedProcess[str]:
    p = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    if check and p.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{p.stdout}\n{p.stderr}")
    return p


# --------------------------------------------------------------------------- the store


def ensure_store(home: Path, env: dict[str, str]) -> None:
    """Ingest and grid the two datasets into ``home`` unless they are there already."""
    home.mkdir(parents=True, exist_ok=True)
    have: set[str] = set()
    p = run([chemearth_exe(), "catalog", "--format", "json"], env, check=False)
    if p.returncode == 0:
        have = {d["dataset_id"] for d in json.loads(p.stdout).get("datasets", [])}
    for ds in DATASETS:
        if ds not in have:
            print(f"  ingest {ds} …", flush=True)
            run([chemearth_exe(), "ingest", "-d", ds], env)
    print("  grid (missing layers) …", flush=True)
    run([chemearth_exe(), "grid"], env)


@dataclass
class Places:
    lon: np.ndarray  # sample places (tiles are taken around them)
    lat: np.ndarray
    medium: str
    elements: list[str]
    cells: dict[str, tuple[np.ndarray, np.ndarray]]  # element -> published cell centres (x, y)


def read_places(home: Path, level_m: int, main_element: str) -> dict[str, Places]:
    """Per dataset: sample places, medium, elements with a global layer at ``level_m``, and
    the centres (EPSG:6933) of the cells of that layer for :data:`MIX_ELEMENTS` and the
    benchmarked element."""
    from chemearth.grid.layers import cells
    from chemearth.store import open_store

    out: dict[str, Places] = {}
    with open_store(home) as store:
        inv = store.cell_inventory()
        for ds in DATASETS:
            s = store.samples(ds)
            if "sampled" in s:
                s = s[s["sampled"].fillna(True).astype(bool)]
            s = s[np.isfinite(s["longitude"]) & np.isfinite(s["latitude"])]
            sel = inv[(inv["dataset_id"] == ds) & (inv["grid"] == "global")]
            sel = sel[sel["level_m"] == level_m]
            elements = sorted(set(sel["element"]))
            medium = str(s["medium"].mode().iloc[0])
            centres = {}
            for el in {main_element, *MIX_ELEMENTS}:
                if el in elements:
                    c = cells(store, el, level=level_m, dataset=ds, medium=medium)
                    c = c[c["n"] > 0]
                    centres[el] = (c["easting"].to_numpy(float), c["northing"].to_numpy(float))
            out[ds] = Places(
                s["longitude"].to_numpy(float),
                s["latitude"].to_numpy(float),
                medium,
                elements,
                centres,
            )
    return out


# --------------------------------------------------------------------------- URL lists

Tile = tuple[int, int, int]
ByZoom = dict[int, tuple[list[Tile], list[Tile]]]


def tiles_by_zoom(p: Places, element: str, zooms: list[int], level_m: int) -> ByZoom:
    """Per zoom: (tiles holding data, other tiles over the samples' bounding box).

    A tile holds data when it meets a published cell of ``element``'s layer (a square of
    EPSG:6933, whose x is linear in longitude, so its corners give its lon/lat box). Tile
    indices come from morecantile's WebMercatorQuad.
    """
    import morecantile
    import pyproj

    tms = morecantile.tms.get("WebMercatorQuad")
    w, s, e, n = p.lon.min(), p.lat.min(), p.lon.max(), p.lat.max()
    to_ll = pyproj.Transformer.from_crs("EPSG:6933", "EPSG:4326", always_xy=True)
    cx, cy = p.cells[element]
    half = 0.49 * level_m  # a hair inside the square, so a tile that only touches is out
    west, north = to_ll.transform(cx - half, cy + half)
    east, south = to_ll.transform(cx + half, cy - half)
    north, south = np.minimum(north, 85.0), np.maximum(south, -85.0)
    out: ByZoom = {}
    for z in zooms:
        nw, se = tms.tile(w, n, z), tms.tile(e, s, z)
        data: set[Tile] = set()
        for cw, cn, ce, cs in zip(west, north, east, south, strict=True):
            a, b = tms.tile(cw, cn, z), tms.tile(ce, cs, z)
            for x in range(a.x, b.x + 1):
                for y in range(a.y, b.y + 1):
                    data.add((z, x, y))
        rest = [
            (z, x, y)
            for x in range(nw.x, se.x + 1)
            for y in range(nw.y, se.y + 1)
            if (z, x, y) not in data
        ]
        out[z] = (sorted(data), rest)
    return out


def round_robin(queues: list[list[Tile]], n: int) -> list[Tile]:
    """Up to ``n`` tiles taken one from each queue in turn (queues are emptied)."""
    out: list[Tile] = []
    while len(out) < n and any(queues):
        for q in queues:
            if q and len(out) < n:
                out.append(q.pop())
    return out


def deal(
    by_zoom: ByZoom,
    n: int,
    rng: random.Random,
    exclude: frozenset[Tile] | set[Tile] = frozenset(),
) -> list[Tile]:
    """Up to ``n`` distinct tiles: first every tile holding data, round-robin over the zooms
    (so low zooms, which have few, come early), then the other tiles of the extent, also
    round-robin over the zooms."""
    out: list[Tile] = []
    for part in (0, 1):
        queues = [[t for t in by_zoom[z][part] if t not in exclude] for z in sorted(by_zoom)]
        for q in queues:
            rng.shuffle(q)
        out += round_robin(queues, n - len(out))
    return out


def hot_tiles(by_zoom: ByZoom, n: int, rng: random.Random) -> list[Tile]:
    """``n`` tiles holding data, spread evenly over the zooms, taking at most half of a
    zoom's data tiles (so the uncached phase still has tiles at every zoom)."""
    queues = []
    for z in sorted(by_zoom):
        data = by_zoom[z][0]
        queues.append(rng.sample(data, len(data) // 2))
    out = round_robin(queues, n)
    rng.shuffle(out)
    return out


def ce_tile(ds: str, el: str, t: Tile, q: str) -> str:
    z, x, y = t
    return f"/api/layers/{ds}/{el}/tiles/{z}/{x}/{y}.png?{q}"


def ce_query(p: Places, level: str, stat: str | None = "median") -> str:
    q = {"medium": p.medium, "level": level, "grid": "global"}
    if stat:
        q["stat"] = stat
    return urllib.parse.urlencode(q)


def ce_cells(
    ds: str, el: str, p: Places, level: str, level_m: int, n: int, rng: np.random.Generator
) -> list[str]:
    """``n`` cell queries at random points inside random published cells of the layer."""
    import pyproj

    cx, cy = p.cells[el]
    pick = rng.integers(0, len(cx), n)
    x = cx[pick] + rng.uniform(-0.45, 0.45, n) * level_m
    y = cy[pick] + rng.uniform(-0.45, 0.45, n) * level_m
    lon, lat = pyproj.Transformer.from_crs("EPSG:6933", "EPSG:4326", always_xy=True).transform(x, y)
    return [ce_cell(ds, el, p, level, a, b) for a, b in zip(lon, lat, strict=True)]


def ce_cell(ds: str, el: str, p: Places, level: str, lon: float, lat: float) -> str:
    q = urllib.parse.urlencode(
        {"lon": f"{lon:.5f}", "lat": f"{lat:.5f}", "medium": p.medium, "level": level}
    )
    return f"/api/layers/{ds}/{el}/cell?{q}"


def titiler_tile(t: Tile, cog: Path, rescale: tuple[float, float]) -> str:
    z, x, y = t
    q = urllib.parse.urlencode(
        {
            "url": str(cog),
            "rescale": f"{rescale[0]:.6g},{rescale[1]:.6g}",
            "colormap_name": "viridis",
        }
    )
    return f"/cog/tiles/WebMercatorQuad/{z}/{x}/{y}.png?{q}"


@dataclass
class Lists:
    files: dict[str, Path] = field(default_factory=dict)
    probes: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


def write_list(out: Path, name: str, urls: list[str], lists: Lists) -> None:
    path = out / f"urls-{name}.txt"
    path.write_text("\n".join(urls) + "\n")
    lists.files[name] = path
    lists.counts[name] = len(urls)


def build_lists(
    args: argparse.Namespace,
    places: dict[str, Places],
    cog: Path,
    rescale: tuple[float, float],
    out: Path,
) -> Lists:
    rng = random.Random(args.seed)
    zooms = list(range(args.zmin, args.zmax + 1))
    level_m = args.level_m
    main_ds, main_el = args.dataset, args.element
    lists = Lists()
    # tiles are taken around the cells of the main element (As has a value at every site)
    by_zoom = {
        ds: tiles_by_zoom(p, main_el if main_el in p.cells else next(iter(p.cells)), zooms, level_m)
        for ds, p in places.items()
    }
    qs = {ds: ce_query(p, args.level) for ds, p in places.items()}

    hot = hot_tiles(by_zoom[main_ds], args.hot, rng)
    distinct = deal(by_zoom[main_ds], args.tile_urls, rng, exclude=set(hot))
    n_data = sum(len(d) for d, _ in by_zoom[main_ds].values())
    print(
        f"  {main_ds}: {n_data:,} tiles hold data at z{args.zmin}-{args.zmax}; "
        f"{len(distinct):,} distinct tile URLs, {len(hot)} cached-set tiles"
    )
    write_list(
        out,
        "ce-tiles-uncached",
        [ce_tile(main_ds, main_el, t, qs[main_ds]) for t in distinct],
        lists,
    )
    write_list(
        out, "ce-tiles-cached", [ce_tile(main_ds, main_el, t, qs[main_ds]) for t in hot], lists
    )
    write_list(out, "tt-tiles-uncached", [titiler_tile(t, cog, rescale) for t in distinct], lists)
    write_list(out, "tt-tiles-cached", [titiler_tile(t, cog, rescale) for t in hot], lists)

    layers = [(ds, el) for ds, p in places.items() for el in MIX_ELEMENTS if el in p.elements]
    nrng = np.random.default_rng(args.seed)
    cells = [
        u
        for ds, el in layers
        for u in ce_cells(ds, el, places[ds], args.level, level_m, 20_000 // len(layers), nrng)
    ]
    rng.shuffle(cells)
    write_list(out, "ce-api-cell", cells, lists)
    catalogue = ["/api/datasets", "/api/layers"] + [f"/api/datasets/{ds}" for ds in places]
    write_list(out, "ce-api-catalogue", catalogue, lists)

    # the mixed workload: tiles of the other layers, so it never touches the uncached list
    other = [(ds, el) for ds, el in layers if (ds, el) != (main_ds, main_el)]
    # (a random zoom, then a random tile holding data at that zoom)
    mixed: list[str] = []
    hot_urls = lists.files["ce-tiles-cached"].read_text().split()
    for _ in range(args.mixed_urls):
        r = rng.random()
        if r < 0.35:
            mixed.append(rng.choice(hot_urls))
        elif r < 0.70:
            ds, el = rng.choice(other)
            tile = rng.choice(by_zoom[ds][rng.choice(zooms)][0])
            mixed.append(ce_tile(ds, el, tile, qs[ds]))
        elif r < 0.90:
            mixed.append(rng.choice(cells))
        else:
            mixed.append(rng.choice(catalogue))
    write_list(out, "ce-mixed", mixed, lists)
    lists.probes = {"tile": hot_urls[0]}
    for ds, el in layers:  # one tile holding data of each other dataset
        if ds != main_ds and ds not in {p.split("/")[3] for p in lists.probes.values()}:
            lists.probes[f"tile ({ds} {el})"] = ce_tile(
                ds, el, by_zoom[ds][zooms[len(zooms) // 2]][0][0], qs[ds]
            )
    lists.probes |= {"cell": cells[0], "catalogue": "/api/layers"}
    return lists


# --------------------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str, timeout: float = 30.0) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.headers.get("content-type", ""), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("content-type", ""), e.read()


@contextmanager
def server(
    name: str,
    cmd: list[str],
    env: dict[str, str],
    port: int,
    health: str,
    log: Path,
    timeout: float = 180.0,
) -> Iterator[tuple[str, int]]:
    """Start ``cmd`` in its own process group; once ``health`` answers, yield its base URL
    and the group id."""
    base = f"http://127.0.0.1:{port}"
    with log.open("w") as fh:
        proc = subprocess.Popen(
            cmd, env=env, cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        t0 = time.perf_counter()
        while True:
            if proc.poll() is not None:
                sys.exit(
                    f"{name} exited with {proc.returncode}; log {log}:\n" + log.read_text()[-3000:]
                )
            try:
                if get(base + health, timeout=5)[0] == 200:
                    break
            except OSError:
                pass
            if time.perf_counter() - t0 > timeout:
                sys.exit(f"{name} did not answer {health} in {timeout:.0f} s; log {log}")
            time.sleep(0.25)
        print(f"  {name} up on {base} after {time.perf_counter() - t0:.1f} s", flush=True)
        yield base, proc.pid
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # the group this script started
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def group_cmdlines(pgid: int) -> list[str]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if int((d / "stat").read_text().rsplit(")", 1)[1].split()[2]) == pgid:
                    out.append((d / "cmdline").read_bytes().replace(b"\0", b" ").decode())
            except (OSError, IndexError, ValueError):
                continue
    return out


def check_workers(name: str, pgid: int, log: Path, workers: int, warnings: list[str]) -> None:
    """Warn (and record) when fewer worker processes live than asked for, or the server log
    holds a traceback: e.g. a worker that died at start-up leaves the others to serve alone."""
    found = []
    if workers > 1:  # uvicorn's supervisor spawns its workers with multiprocessing
        alive = sum("spawn_main" in c for c in group_cmdlines(pgid))
        if alive < workers:
            found.append(f"{name}: {alive} of {workers} worker processes alive")
    text = log.read_text(errors="replace")
    if "Traceback" in text:
        last = [x for x in text.splitlines() if x.strip()][-1]
        found.append(f"{name}: traceback in {log.name}: {last[:300]}")
    for w in found:
        if w not in warnings:
            warnings.append(w)
            print(f"  WARNING {w}", flush=True)


def chemearth_serve_available() -> tuple[bool, str]:
    if not (ROOT / "src" / "chemearth" / "web" / "app.py").exists():
        return False, "src/chemearth/web/app.py does not exist yet"
    p = subprocess.run(
        [chemearth_exe(), "serve", "--help"], capture_output=True, text=True, check=False
    )
    if p.returncode != 0:
        return False, f"`chemearth serve --help` failed: {(p.stderr or p.stdout).strip()[-300:]}"
    return True, p.stdout


def ensure_titiler() -> Path:
    py = TITILER_VENV / "bin" / "python"
    ok = (
        py.exists()
        and subprocess.run(
            [str(py), "-c", "import titiler.application.main, uvicorn"],
            capture_output=True,
            check=False,
        ).returncode
        == 0
    )
    if not ok:
        print(f"  installing TiTiler into {TITILER_VENV.relative_to(ROOT)} …", flush=True)
        base_python = shutil.which("python3") or sys.executable
        subprocess.run([base_python, "-m", "venv", str(TITILER_VENV)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", *TITILER_REQUIREMENT], check=True)
    return py


def titiler_version(py: Path) -> str:
    p = subprocess.run(
        [
            str(py),
            "-c",
            "import importlib.metadata as m; "
            "print(m.version('titiler.application'), m.version('rio-tiler'), "
            "m.version('rasterio'))",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    v = p.stdout.split()
    return f"titiler.application {v[0]} (rio-tiler {v[1]}, rasterio {v[2]})" if len(v) == 3 else "?"


def probe(base: str, probes: dict[str, str]) -> None:
    """Each kind of URL must answer 200 before the phases run: stop with the answer if not."""
    for kind, path in probes.items():
        status, ctype, body = get(base + path)
        if status != 200:
            sys.exit(f"probe {kind}: GET {path} -> {status} {ctype}\n{body[:600]!r}")
        print(f"  probe {kind}: 200 {ctype} {len(body):,} bytes")


def first_page(base: str, info: dict[str, Any], warnings: list[str]) -> None:
    """Time the map page in a real browser right after the server first answered
    (``first_page.py`` beside this file); target: drawn in under 1 s."""
    sys.path.insert(0, str(HERE))
    import first_page as fp

    if why := fp.available():
        info["first_page"] = f"not measured: {why}"
        print(f"  first page: not measured ({why})")
        return
    r = fp.measure(base)
    info["first_page"] = r
    ok = r["drawn_s"] < TARGETS["first_page_s"] and not r["failed"]
    print(f"  first page: load event {r['load_s']:.2f} s, drawn {r['drawn_s']:.2f} s "
          f"({r['requests']} requests, {r['failed']} failed; slowest "
          f"{r['slowest'][0]['url'][:60] if r['slowest'] else '-'} "
          f"{r['slowest'][0]['s'] if r['slowest'] else 0:.2f} s)   target < "
          f"{TARGETS['first_page_s']:.0f} s: {'yes' if ok else 'NO'}", flush=True)
    if r["failed"]:
        warnings.append(f"first page: {r['failed']} requests failed")


def serial_pass(base: str, path: Path) -> None:
    for u in path.read_text().split():
        get(base + u)


# --------------------------------------------------------------------------- wrk


def group_cpu(pgid: int) -> float:
    """CPU seconds (user + system, with reaped children) of the live processes of a group."""
    ticks = 0
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            f = (d / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(f[2]) == pgid:  # fields after the name: state ppid pgrp ... utime(11) stime ...
            ticks += int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])
    return ticks / os.sysconf("SC_CLK_TCK")


def machine_cpu() -> float:
    """CPU seconds spent busy by the whole machine since boot (all cores)."""
    v = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    return (sum(v[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def wrk(
    base: str,
    urls: Path,
    mode: str,
    seconds: float,
    args: argparse.Namespace,
    log: Path | None = None,
    pgid: int | None = None,
) -> dict[str, Any]:
    """One wrk run; with ``pgid`` (the server's group) also the CPU used by the server, by
    wrk and by everything else on the machine meanwhile."""
    env = {
        **os.environ,
        "BENCH_URLS": str(urls),
        "BENCH_MODE": mode,
        "BENCH_THREADS": str(args.threads),
    }
    cmd = [
        "wrk",
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{max(1, round(seconds))}s",
        "--latency",
        f"--timeout={args.timeout}s",
        "-s",
        str(LUA),
        base,
    ]
    srv0, mach0 = (group_cpu(pgid) if pgid else 0.0), machine_cpu()
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    srv1, mach1 = (group_cpu(pgid) if pgid else 0.0), machine_cpu()
    if log is not None:
        log.write_text(" ".join(cmd) + "\n" + p.stdout + p.stderr)
    line = next((x for x in p.stdout.splitlines() if x.startswith("BENCH_JSON ")), None)
    if p.returncode != 0 or line is None:
        sys.exit(f"wrk failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    r: dict[str, Any] = json.loads(line.split(" ", 1)[1])
    secs = r["duration_us"] / 1e6
    r["seconds"] = secs
    r["req_per_s"] = r["requests"] / secs
    r["ok_per_s"] = r["status"]["2xx"] / secs
    r["non_2xx"] = r["requests"] - r["status"]["2xx"]
    r["p50_ms"] = r["latency_us"]["p50"] / 1000
    r["p99_ms"] = r["latency_us"]["p99"] / 1000
    wrk_cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    r["cpu_s"] = {"server": srv1 - srv0, "wrk": wrk_cpu, "machine": mach1 - mach0}
    r["cpu_s"]["other"] = max(0.0, r["cpu_s"]["machine"] - r["cpu_s"]["server"] - wrk_cpu)
    ncpu = os.cpu_count() or 1
    r["server_cpu_ms_per_req"] = 1000 * r["cpu_s"]["server"] / max(r["requests"], 1)
    r["other_cpu_pct"] = 100 * r["cpu_s"]["other"] / (secs * ncpu)
    # a phase measured while other processes used the machine cannot be told from a slow
    # one: said beside its figures (``make bench``'s summary repeats it)
    r["load"] = {"loadavg_end": [round(v, 2) for v in os.getloadavg()],
                 "warning": (f"other processes used {r['other_cpu_pct']:.0f} % of the machine"
                             if r["other_cpu_pct"] > 5 else "")}
    return r


def phase(
    results: list[dict[str, Any]],
    name: str,
    server_name: str,
    srv: tuple[str, int],
    urls: Path,
    mode: str,
    seconds: float,
    args: argparse.Namespace,
    out: Path,
) -> dict[str, Any]:
    print(f"  {server_name} {name}: {seconds:.0f} s …", end=" ", flush=True)
    log = out / f"wrk-{server_name}-{name}.txt"
    r = wrk(srv[0], urls, mode, seconds, args, log, pgid=srv[1])
    r.update(phase=name, server=server_name)
    results.append(r)
    note = f", {r['non_2xx']} non-2xx" if r["non_2xx"] else ""
    note += f", list wrapped {r['wrapped']}x" if r["wrapped"] else ""
    print(
        f"{r['ok_per_s']:,.0f}/s, p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, "
        f"server CPU {r['server_cpu_ms_per_req']:.2f} ms/request, "
        f"other processes {r['other_cpu_pct']:.0f} % of the machine{note}",
        flush=True,
    )
    return r


# --------------------------------------------------------------------------- main


def cog_rescale(path: Path) -> tuple[float, float]:
    import rasterio

    with rasterio.open(path) as src:
        a = src.read(1)
    a = a[np.isfinite(a)]
    lo, hi = np.percentile(a, [2, 98])
    return float(lo), float(hi)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a few seconds per phase (smoke test)")
    ap.add_argument(
        "--store",
        type=Path,
        default=None,
        help="store to reuse (built there if missing; default: a temporary one)",
    )
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    ap.add_argument("--workers", type=int, default=2, help="server workers (both servers)")
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2, help="wrk threads")
    ap.add_argument("--duration", type=float, default=15.0, help="seconds per phase")
    ap.add_argument("--mixed-duration", type=float, default=30.0)
    ap.add_argument("--warmup", type=float, default=5.0, help="seconds of warm-up load")
    ap.add_argument("--timeout", type=int, default=30, help="wrk request timeout, seconds")
    ap.add_argument("--dataset", default="usgs-ds801-top5")
    ap.add_argument("--element", default="As")
    ap.add_argument("--level", default="10km")
    ap.add_argument("--zooms", default="4-12")
    ap.add_argument("--tile-urls", type=int, default=200_000)
    ap.add_argument("--hot", type=int, default=200, help="tiles in the cached set")
    ap.add_argument("--mixed-urls", type=int, default=50_000)
    ap.add_argument("--seed", type=int, default=20261121)
    ap.add_argument("--skip-chemearth", action="store_true")
    ap.add_argument("--skip-titiler", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.duration, args.mixed_duration, args.warmup = 3.0, 3.0, 1.0
        args.tile_urls = min(args.tile_urls, 20_000)
        args.mixed_urls = min(args.mixed_urls, 10_000)
    args.zmin, args.zmax = (int(v) for v in args.zooms.split("-"))
    from chemearth.grid.levels import parse_level

    args.level_m = parse_level(args.level)
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")
    args.out.mkdir(parents=True, exist_ok=True)
    work = args.out / "serve"
    work.mkdir(exist_ok=True)

    temp = None
    if args.store is None:
        temp = Path(tempfile.mkdtemp(prefix="chemearth-bench-serve-"))
        home = temp / "store"
    else:
        home = args.store.resolve()
    env = {**os.environ, "CHEMEARTH_HOME": str(home)}
    env.setdefault("CHEMEARTH_DATA", str(data_dir()))
    results: list[dict[str, Any]] = []
    warnings: list[str] = []
    info: dict[str, Any] = {
        "warnings": warnings,
        "cpus": os.cpu_count(),
        "workers": args.workers,
        "connections": args.connections,
        "wrk_threads": args.threads,
        "quick": args.quick,
        "layer": f"{args.dataset} {args.element} median {args.level}",
        "zooms": args.zooms,
        "loadavg_start": os.getloadavg(),
    }
    try:
        t0 = time.perf_counter()
        print(f"store {home}:", flush=True)
        ensure_store(home, env)
        cog = work / f"{args.dataset}-{args.element}-{args.level}.tif"
        run(
            [
                chemearth_exe(),
                "export",
                args.element,
                "--dataset",
                args.dataset,
                "--level",
                args.level,
                "--stat",
                "median",
                "-o",
                str(cog),
            ],
            env,
        )
        rescale = cog_rescale(cog)
        print(
            f"  COG {cog.relative_to(ROOT)} ({cog.stat().st_size:,} bytes), "
            f"rescale P2-P98 {rescale[0]:.3g}-{rescale[1]:.3g} [{time.perf_counter() - t0:.0f} s]"
        )
        places = read_places(home, args.level_m, args.element)
        print("URL lists:", flush=True)
        lists = build_lists(args, places, cog, rescale, work)
        info["url_counts"] = lists.counts

        ok, why = (False, "skipped") if args.skip_chemearth else chemearth_serve_available()
        info["chemearth"] = "ran" if ok else f"not run: {why}"
        if ok:
            cmd = [
                chemearth_exe(),
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port := free_port()),
                "--workers",
                str(args.workers),
            ]
            if "--home" in why:  # why is the --help text here
                cmd += ["--home", str(home)]
            print("chemearth serve:", flush=True)
            t_start = time.perf_counter()
            with server("chemearth", cmd, env, port, "/api", work / "chemearth-serve.log") as srv:
                base = srv[0]
                info["server_up_s"] = time.perf_counter() - t_start
                first_page(base, info, warnings)  # before anything else touches the server
                probe(base, lists.probes)
                ce_log = work / "chemearth-serve.log"
                check_workers("chemearth", srv[1], ce_log, args.workers, warnings)
                f = lists.files
                # warm: every cached-set tile once, then a short mixed load (other layers)
                serial_pass(base, f["ce-tiles-cached"])
                wrk(base, f["ce-mixed"], "random", args.warmup, args)
                for name, mode, seconds in (
                    ("tiles-uncached", "seq", args.duration),
                    ("tiles-cached", "random", args.duration),
                    ("api-cell", "random", args.duration),
                    ("api-catalogue", "random", args.duration),
                    ("mixed", "random", args.mixed_duration),
                ):
                    if name == "tiles-cached":  # the cache may have dropped them meanwhile
                        serial_pass(base, f["ce-tiles-cached"])
                        wrk(base, f["ce-tiles-cached"], "random", args.warmup, args)
                    urls = f[f"ce-{name}"]
                    phase(results, name, "chemearth", srv, urls, mode, seconds, args, work)
                check_workers("chemearth", srv[1], ce_log, args.workers, warnings)
        else:
            print(f"chemearth serve: not run ({why})", flush=True)

        if not args.skip_titiler:
            py = ensure_titiler()
            info["titiler"] = titiler_version(py)
            print(f"TiTiler ({info['titiler']}):", flush=True)
            port = free_port()
            cmd = [
                str(py),
                "-m",
                "uvicorn",
                "titiler.application.main:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(args.workers),
                "--log-level",
                "warning",
                "--no-access-log",
            ]
            tenv = {**os.environ, **TITILER_GDAL_ENV}
            with server("titiler", cmd, tenv, port, "/healthz", work / "titiler.log") as srv:
                base = srv[0]
                f = lists.files
                probe(base, {"tile": f["tt-tiles-cached"].read_text().split()[0]})
                tt_log = work / "titiler.log"
                check_workers("titiler", srv[1], tt_log, args.workers, warnings)
                serial_pass(base, f["tt-tiles-cached"])
                wrk(base, f["tt-tiles-cached"], "random", args.warmup, args)
                urls = f["tt-tiles-uncached"]
                phase(
                    results,
                    "tiles-uncached",
                    "titiler",
                    srv,
                    urls,
                    "seq",
                    args.duration,
                    args,
                    work,
                )
                check_workers("titiler", srv[1], tt_log, args.workers, warnings)
    finally:
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)

    info["loadavg_end"] = os.getloadavg()
    report(results, info, args)


def problem(r: dict[str, Any]) -> str:
    """Why a phase's numbers mean nothing: > 1 % non-2xx or socket errors, or the
    uncached list ran out."""
    n = max(r["requests"], 1)
    sock = sum(r["errors"][k] for k in ("connect", "read", "write", "timeout"))
    if r["non_2xx"] > 0.01 * n:
        return "non-2xx"
    if sock > 0.01 * n:
        return "socket errors/timeouts"
    return "list wrapped" if r["wrapped"] else ""


def verdict(ok: bool, r: dict[str, Any]) -> str:
    if why := problem(r):
        return f"invalid ({why})"
    return "yes" if ok else "NO"


def report(results: list[dict[str, Any]], info: dict[str, Any], args: argparse.Namespace) -> None:
    by = {(r["server"], r["phase"]): r for r in results}
    ce_unc, tt_unc = by.get(("chemearth", "tiles-uncached")), by.get(("titiler", "tiles-uncached"))
    ratio = (
        ce_unc["ok_per_s"] / tt_unc["ok_per_s"]
        if ce_unc and tt_unc and tt_unc["ok_per_s"]
        else None
    )

    for r in results:
        target, met = "", ""
        if r["server"] == "chemearth" and r["phase"] == "tiles-uncached":
            p99_ok = r["p99_ms"] < TARGETS["tile_p99_uncached_ms"]
            target = f"p99 < {TARGETS['tile_p99_uncached_ms']:.0f} ms; >= 5x TiTiler"
            ratio_ok = ratio is not None and ratio >= TARGETS["uncached_ratio_vs_titiler"]
            met = verdict(p99_ok and ratio_ok, r)
            if met in ("yes", "NO"):
                met = f"p99 {'yes' if p99_ok else 'NO'}, ratio " + (
                    "n/a" if ratio is None else ("yes" if ratio_ok else "NO")
                )
        elif r["server"] == "chemearth" and r["phase"] == "tiles-cached":
            target = f"> {TARGETS['cached_tiles_per_s']:,.0f}/s"
            met = verdict(r["ok_per_s"] > TARGETS["cached_tiles_per_s"], r)
        elif r["server"] == "chemearth" and r["phase"].startswith("api-"):
            target = f"p99 < {TARGETS['api_p99_ms']:.0f} ms"
            met = verdict(r["p99_ms"] < TARGETS["api_p99_ms"], r)
        elif r["server"] == "titiler":
            target, met = "(peer)", verdict(True, r).replace("yes", "-")
        else:
            target, met = "-", verdict(True, r).replace("yes", "-")
        r["target"], r["met"] = target, met

    print()
    la0, la1 = info["loadavg_start"], info["loadavg_end"]
    print(f"load average (1, 5, 15 min): {la0[0]:.2f} {la0[1]:.2f} {la0[2]:.2f} at the start, "
          f"{la1[0]:.2f} {la1[1]:.2f} {la1[2]:.2f} at the end")
    print(
        f"{info['cpus']} CPUs; {args.workers} server workers each; wrk -t{args.threads} "
        f"-c{args.connections} on the same machine; layer {info['layer']}, zooms {args.zooms}"
    )
    head = (
        f"{'phase':16}{'server':11}{'requests':>10}{'ok/s':>10}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'non-2xx':>9}{'CPU ms/req':>12}{'other %':>9}   {'target':34}met?"
    )
    print(head)
    print("-" * len(head))
    for r in results:
        print(
            f"{r['phase']:16}{r['server']:11}{r['requests']:>10,}{r['ok_per_s']:>10,.1f}"
            f"{r['p50_ms']:>9.1f}{r['p99_ms']:>9.1f}{r['non_2xx']:>9,}"
            f"{r['server_cpu_ms_per_req']:>12.2f}{r['other_cpu_pct']:>9.0f}   {r['target']:34}"
            f"{r['met']}"
        )
    fp = info.get("first_page")
    if isinstance(fp, dict):
        print(f"first page after start: drawn in {fp['drawn_s']:.2f} s (load event "
              f"{fp['load_s']:.2f} s; server answered {info.get('server_up_s', 0):.1f} s after "
              f"launch)   target < {TARGETS['first_page_s']:.0f} s")
    for w in info.get("warnings", []):
        print(f"WARNING {w}")
    print(
        "ok/s: 2xx answers per second; CPU ms/req: the server's CPU time per request (all its "
        "workers); other %: CPU used by other processes on the machine during the phase "
        "(noise: rerun if high)"
    )
    print()
    if ratio is not None:
        print(
            f"uncached tiles/s, chemearth / TiTiler: {ratio:.1f}x   target >= "
            f"{TARGETS['uncached_ratio_vs_titiler']:.0f}x"
        )
    elif tt_unc:
        print(
            f"TiTiler uncached tiles: {tt_unc['ok_per_s']:.1f}/s "
            f"(chemearth: {info.get('chemearth', 'not run')})"
        )
    out = args.out / "serve.json"
    out.write_text(
        json.dumps(
            {"info": info, "targets": TARGETS, "ratio_uncached": ratio, "results": results},
            indent=2,
        )
    )
    print(f"results: {out}")


if __name__ == "__main__":
    main()
