"""Benchmark: ``chemearth ingest`` against pyarrow's raw CSV read of the same file.

Generates a CSV of N samples x 40 elements whose values are drawn from the real DS-801
(USGS, 0-5 cm soils) distributions, ``<DL`` strings included, at real DS-801 site
locations with ~1 km jitter. Then, in the same run and each in its own process:

* peer: ``pyarrow.csv.read_csv`` of the file (type inference, all threads);
* chemearth: ``chemearth ingest FILE -d DESCRIPTOR`` into a fresh store.

Prints wall time, in-process time, peak resident memory (from ``wait4``) and the ratios.
Targets (issue 2): ingest at most 2.5x the raw read; peak memory at most 3x the CSV size.

Usage: ``python bench/ingest.py [--rows 1000000] [--out bench/out]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
from common import data_dir  # bench/common.py (the script's folder is on sys.path)

ROOT = Path(__file__).resolve().parents[1]
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


def run(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, int, str]:
    """Run ``cmd``; return (wall seconds, peak RSS bytes, stdout)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    out = p.stdout.read() if p.stdout else ""
    err = p.stderr.read() if p.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{cmd[0]} failed:\n{out}\n{err}")
    return wall, usage.ru_maxrss * 1024, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each; the best is kept")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"generating {args.rows:,} samples x {len(ELEMENTS)} elements …", flush=True)
    csv_path, desc = generate(args.rows, args.out)
    size = csv_path.stat().st_size
    print(f"CSV: {csv_path} ({size / 1e6:.0f} MB)")
    py = sys.executable
    home = args.out / "store"
    env = {**os.environ, "CHEMEARTH_HOME": str(home)}
    chem = [str(Path(py).parent / "chemearth"), "ingest", "-d", str(desc)]
    peers, ours = [], []
    for i in range(args.repeat):  # interleaved, so both see the same machine load
        peers.append(run([py, "-c", PEER_SCRIPT, str(csv_path)]))
        shutil.rmtree(home, ignore_errors=True)
        ours.append(run(chem, env))
        print(
            f"run {i + 1}: pyarrow {peers[-1][0]:.2f} s, chemearth {ours[-1][0]:.2f} s", flush=True
        )
    peer_wall, peer_rss, peer_out = min(peers)
    peer_inproc = float(peer_out.split()[0])
    ce_wall, ce_rss, ce_out = min(ours)
    print(ce_out.strip())
    startup, _, _ = run([str(Path(py).parent / "chemearth"), "--help"], env)
    print()
    print(f"best of {args.repeat} runs each:")
    print(f"{'':28}{'wall s':>10}{'peak MB':>10}")
    print(
        f"{'pyarrow.csv.read_csv (peer)':28}{peer_wall:10.2f}{peer_rss / 1e6:10.0f}"
        f"   (in-process read {peer_inproc:.2f} s)"
    )
    print(
        f"{'chemearth ingest':28}{ce_wall:10.2f}{ce_rss / 1e6:10.0f}"
        f"   (CLI start-up {startup:.2f} s)"
    )
    print()
    print(f"time ratio chemearth/pyarrow (wall): {ce_wall / peer_wall:.2f}x   target <= 2.5x")
    print(f"peak memory / CSV size:             {ce_rss / size:.2f}x   target <= 3x")


if __name__ == "__main__":
    main()
