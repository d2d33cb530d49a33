"""Benchmark: ``chemearth ingest`` against pyarrow's raw CSV read of the same file.

Generates a CSV of N samples x 40 elements whose values are drawn from the real DS-801
(USGS, 0-5 cm soils) distributions, ``<DL`` strings included, at real DS-801 site
locations with ~1 km jitter. Then, one run each, every one in its own process:

* peer: ``pyarrow.csv.read_csv`` of the file (type inference, all threads);
* chemearth cold: ``python -m chemearth.cli ingest FILE -d DESCRIPTOR`` into a fresh store
  with an empty boundary cache (``CHEMEARTH_CACHE`` a new folder): the Natural Earth 1:10m
  countries are prepared from the GeoJSON, as on a first run;
* chemearth warm: the same into another fresh store, the boundary cache now filled.

chemearth runs from this checkout (``src/`` first on ``PYTHONPATH``), whatever is
installed. Before any ratio is printed, the store written by each run is checked against
what pyarrow parses from the file: the row count, the sample ids in file order, and for
several elements every value and censoring flag (``"<x"`` stored as censored at x, others
as the number); the bench stops when they disagree. Wall time, peak resident memory
(``wait4``) and the machine's load while it ran (``common.LoadMeter``) are shown per run;
the figures go to ``<out>/ingest.json``, which ``make bench`` gathers.

Targets (issue 22): the cold ingest at most 2.5x the raw read, its peak memory at most
3x the CSV size; ``chemearth --help`` under 0.3 s.

Usage: ``python bench/ingest.py [--rows 1000000] [--out bench/out]``
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from common import (  # bench/common.py (the script's folder is on sys.path)
    LoadMeter,
    data_dir,
    load_note,
    write_result,
)

ROOT = Path(__file__).resolve().parents[1]
BOUNDARIES = Path("boundaries") / "ne_10m_admin_0_countries_deu.geojson"
ELEMENTS = [
    "Ag",
    "Al",
    "As",
    "Ba",
    "Be",
    "Bi",
    "Ca",
    "Cd",
    "Ce",
    "Co",
    "Cr",
    "Cs",
    "Cu",
    "Fe",
    "Ga",
    "Hg",
    "In",
    "K",
    "La",
    "Li",
    "Mg",
    "Mn",
    "Mo",
    "Na",
    "Nb",
    "Ni",
    "P",
    "Pb",
    "Rb",
    "S",
    "Sb",
    "Sc",
    "Se",
    "Sn",
    "Sr",
    "Te",
    "Th",
    "Ti",
    "Tl",
    "U",
]
PEER_SCRIPT = """
import sys, time, pyarrow.csv as c
t = time.perf_counter(); tab = c.read_csv(sys.argv[1]); dt = time.perf_counter() - t
print(f"{dt:.4f} {tab.num_rows}")
"""
#: elements whose stored values are compared with pyarrow's parse (all in mg/kg in DS-801)
CHECKED = ("As", "Cu", "Pb", "Ba", "Sr", "Se")


def generate(rows: int, out: Path, seed: int = 20261121) -> tuple[Path, Path]:
    """Write the benchmark CSV and its descriptor; return their paths."""
    rng = np.random.default_rng(seed)
    real = pacsv.read_csv(
        data_dir() / "usgs_ds801" / "ds801_top5_raw.csv",
        convert_options=pacsv.ConvertOptions(
            column_types={f"Top5_{e}": pa.string() for e in ELEMENTS}
        ),
    )
    units = dict(
        line.strip().split(",", 1)
        for line in (data_dir() / "usgs_ds801" / "ds801_top5_units.csv")
        .read_text()
        .splitlines()[1:]
    )
    lon = real.column("Longitude").to_numpy()
    lat = real.column("Latitude").to_numpy()
    pick = rng.integers(0, len(lon), rows)
    cols: dict[str, pa.Array] = {
        "sample_id": pa.array([f"B{i:08d}" for i in range(rows)]),
        "longitude": pa.array(np.round(lon[pick] + rng.normal(0, 0.005, rows), 5)),
        "latitude": pa.array(np.round(lat[pick] + rng.normal(0, 0.005, rows), 5)),
    }
    lines = []
    for e in ELEMENTS:
        values = real.column(f"Top5_{e}").to_numpy(zero_copy_only=False)
        values = values[np.array([v not in (None, "N.S.") for v in values])]
        cols[e] = pa.array(values[rng.integers(0, len(values), rows)])
        unit = units.get(f"Top5_{e}", "mg/kg").replace("wt. %", "%")
        lines.append(f'{e} = {{ element = "{e}", unit = "{unit}" }}')
    csv_path = out / f"bench_{rows}.csv"
    pacsv.write_csv(
        pa.table(cols), csv_path, write_options=pacsv.WriteOptions(quoting_style="none")
    )
    desc = out / "bench.toml"
    desc.write_text(
        f"""[dataset]
id = "bench"
title = "Benchmark survey drawn from USGS DS-801 distributions"
countries = ["US"]
medium = "topsoil"

[source]
path = "{csv_path}"

[coordinates]
x = "longitude"
y = "latitude"
crs = "EPSG:4326"

[sample]
id = "sample_id"

[censoring]
encoding = "lt_string"

[defaults]
method = "ICP-AES/MS, near-total 4-acid"
digestion = "near-total"

[columns]
"""
        + "\n".join(lines)
        + "\n"
    )
    return csv_path, desc


def run(cmd: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``cmd`` in its own process: wall seconds, its own peak RSS bytes (``wait4``),
    stdout and the machine's load while it ran."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        with LoadMeter() as meter:
            t0 = time.perf_counter()
            p = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, text=True)
            _, status, usage = os.wait4(p.pid, 0)
            wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        text, errors = out.read(), err.read()
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd[:4])} failed:\n{text}\n{errors}")
    return {"wall_s": wall, "peak_rss": usage.ru_maxrss * 1024, "stdout": text,
            "load": meter.result()}


def check_store(home: Path, csv_path: Path, rows: int) -> dict[str, object]:
    """Compare the store written at ``home`` with pyarrow's parse of ``csv_path``."""
    folder = home / "data" / "dataset_id=bench" / "version=1"
    samples = pq.read_table(folder / "samples.parquet", columns=["sample_index", "sample_id"])
    cols = [f"{p}{ELEMENTS.index(e)}" for e in CHECKED for p in "vc"]
    meas = pq.read_table(folder / "measurements.parquet", columns=["sample_index", *cols])
    raw = pacsv.read_csv(csv_path, convert_options=pacsv.ConvertOptions(
        include_columns=["sample_id", *CHECKED],
        column_types={e: pa.string() for e in CHECKED}))
    problems = []
    if not (raw.num_rows == rows == samples.num_rows == meas.num_rows):
        problems.append(f"rows: file {raw.num_rows}, samples {samples.num_rows}, "
                        f"measurements {meas.num_rows}, generated {rows}")
    else:
        if not np.array_equal(meas.column("sample_index").to_numpy(), np.arange(rows)):
            problems.append("measurements are not in file order")
        if not samples.column("sample_id").equals(raw.column("sample_id")):
            problems.append("sample ids differ from the file's")
        for e in CHECKED:
            text = raw.column(e).combine_chunks()
            censored = pc.starts_with(text, "<").to_numpy(zero_copy_only=False)
            number = pc.cast(pc.utf8_ltrim(text, "<"), pa.float64()).to_numpy()
            k = ELEMENTS.index(e)
            value = meas.column(f"v{k}").to_numpy()
            flag = meas.column(f"c{k}").to_numpy(zero_copy_only=False)
            if not np.array_equal(value, number, equal_nan=True):
                problems.append(f"{e}: {int((value != number).sum())} values differ")
            if not np.array_equal(flag, censored):
                problems.append(f"{e}: {int((flag != censored).sum())} censoring flags differ")
    if problems:
        sys.exit("chemearth's store disagrees with the file:\n  " + "\n  ".join(problems))
    return {"rows": rows, "elements_compared": list(CHECKED), "agree": True}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    ap.add_argument("--generate-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.generate_only:
        generate(args.rows, args.out)
        return
    py = sys.executable
    print(f"generating {args.rows:,} samples x {len(ELEMENTS)} elements …", flush=True)
    # in a process of its own: a child's peak RSS (wait4) counts what its parent held when
    # it was started, so this process stays small until every measured run is done
    subprocess.run([py, __file__, "--generate-only", "--rows", str(args.rows), "--out",
                    str(args.out)], check=True)
    csv_path, desc = args.out / f"bench_{args.rows}.csv", args.out / "bench.toml"
    size = csv_path.stat().st_size
    print(f"CSV: {csv_path} ({size / 1e6:.0f} MB)")
    cache = Path(tempfile.mkdtemp(prefix="chemearth-bench-cache-"))  # empty: a cold cache
    env = {**os.environ, "CHEMEARTH_CACHE": str(cache),
           "CHEMEARTH_BOUNDARIES": str(data_dir() / BOUNDARIES),
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    chem = [py, "-m", "chemearth.cli", "ingest", "-d", str(desc)]
    homes = {label: args.out / f"store-{label}" for label in ("cold", "warm")}
    try:
        peer = run([py, "-c", PEER_SCRIPT, str(csv_path)])
        runs: dict[str, dict[str, Any]] = {}
        for label, home in homes.items():
            shutil.rmtree(home, ignore_errors=True)
            runs[label] = run(chem, {**env, "CHEMEARTH_HOME": str(home)})
            print(f"chemearth {label}: {runs[label]['stdout'].strip()}", flush=True)
        own_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        cached = sorted(p.name for p in cache.iterdir())
        helps = [run([py, "-m", "chemearth.cli", "--help"], env) for _ in range(5)]
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    if not cached:
        sys.exit("the cold run left no prepared boundaries in the cache: were countries checked?")
    if own_peak >= min(r["peak_rss"] for r in (peer, *runs.values())):
        sys.exit(f"this process peaked at {own_peak / 1e6:.0f} MB, as much as a run it started: "
                 "its figure may be this process's")
    for label, home in homes.items():  # after the runs: checking makes this process large
        runs[label]["check"] = check_store(home, csv_path, args.rows)
    peer_inproc, peer_rows = peer["stdout"].split()
    if int(peer_rows) != args.rows:
        sys.exit(f"pyarrow read {peer_rows} rows, not {args.rows}")
    print()
    print(f"one run each ({os.cpu_count()} CPUs); peak = the process's own peak RSS")
    print(f"{'':30}{'wall s':>8}{'peak MB':>9}{'x CSV':>7}   machine load")
    rows_out = [("pyarrow.csv.read_csv (peer)", peer),
                ("chemearth ingest, cold cache", runs["cold"]),
                ("chemearth ingest, warm cache", runs["warm"])]
    for label, r in rows_out:
        print(f"{label:30}{r['wall_s']:8.2f}{r['peak_rss'] / 1e6:9.0f}{r['peak_rss'] / size:7.2f}"
              f"   {load_note(r['load'])}")
    print(f"(pyarrow's in-process read: {float(peer_inproc):.2f} s)")
    help_s = sorted(h["wall_s"] for h in helps)
    print(f"chemearth --help: {', '.join(f'{h:.2f}' for h in help_s)} s "
          f"(median {help_s[2]:.2f} s; target < 0.3 s)")
    print()
    ratios = {label: runs[label]["wall_s"] / peer["wall_s"] for label in runs}
    memory = {label: runs[label]["peak_rss"] / size for label in runs}
    print("outputs agree: row count, sample ids, values and <DL flags of "
          f"{', '.join(CHECKED)} (both runs)")
    print(f"time ratio chemearth/pyarrow (wall): cold {ratios['cold']:.2f}x, "
          f"warm {ratios['warm']:.2f}x   target (cold) <= 2.5x")
    print(f"peak memory / CSV size:             cold {memory['cold']:.2f}x, "
          f"warm {memory['warm']:.2f}x   target (cold) <= 3x")
    strip = ("stdout",)
    path = write_result(args.out, "ingest", {
        "rows": args.rows, "elements": len(ELEMENTS), "csv_bytes": size,
        "bench_process_peak_rss": own_peak,
        "peer": {**{k: v for k, v in peer.items() if k not in strip},
                 "inprocess_s": float(peer_inproc)},
        "cold": {k: v for k, v in runs["cold"].items() if k not in strip},
        "warm": {k: v for k, v in runs["warm"].items() if k not in strip},
        "time_ratio": ratios, "memory_ratio": memory,
        "help_s": help_s, "help_median_s": help_s[2],
        "targets": {"time_ratio_cold": 2.5, "memory_ratio_cold": 3.0, "help_s": 0.3},
        "met": {"time": ratios["cold"] <= 2.5, "memory": memory["cold"] <= 3.0,
                "help": help_s[2] < 0.3},
    })
    print(f"figures: {path}")


if __name__ == "__main__":
    main()
