"""Benchmark: the server store (PostgreSQL/PostGIS) against the embedded store (DuckDB +
Parquet), ingesting N samples x 40 elements and building every grid layer.

The survey is ``bench/ingest.py``'s: values drawn from the real DS-801 (USGS, 0-5 cm
soils) distributions with their ``<DL`` strings, at real DS-801 site locations with
~1 km jitter. In one run, each store in its own process (so its peak memory is its own),
one after the other:

* embedded: ``ingest`` then ``build_layers`` into a new store folder;
* postgresql: the same into a new database of a PostgreSQL 15 + PostGIS server started by
  the project's own :class:`chemearth.store.pgcluster.Cluster` (``chemearth db start``).

Before any ratio is printed the two stores are checked to hold the same thing: the same
samples, and for every dataset, grid, element and level the same cells with the same
statistics (compared exactly, column by column). The machine's load average and core
count are recorded before and after each run, so a contended run can be told from a slow
one. Target (issue 17): PostgreSQL within 2x of the embedded store.

Usage: ``python bench/store.py [--rows 1000000] [--out bench/out] [--order pe|ep]``
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, run_child  # bench/common.py (the script's folder is on sys.path)

CHILD = r"""
import json, sys, time, warnings
from chemearth.store import open_store
from chemearth.ingest import ingest, load_descriptor
from chemearth.grid.layers import build_layers
location, desc, csv = sys.argv[1:4]
store = open_store(location)
warnings.simplefilter("ignore")
t0 = time.perf_counter()
report = ingest(store, load_descriptor(desc), csv)
t1 = time.perf_counter()
built = build_layers(store, ["bench"])
t2 = time.perf_counter()
store.close()
print(json.dumps({"ingest_s": t1 - t0, "grid_s": t2 - t1, "total_s": t2 - t0,
                  "samples": report.n_samples, "measurements": report.n_measurements,
                  "cell_rows": int(built["rows"].sum())}))
"""


def load() -> dict[str, float]:
    """The 1, 5 and 15 minute load averages and the number of cores."""
    one, five, fifteen = os.getloadavg()
    return {"load1": one, "load5": five, "load15": fifteen, "cores": float(os.cpu_count() or 1)}


def run(label: str, location: str, desc: Path, csv: Path) -> dict[str, float]:
    before = load()
    t0 = time.perf_counter()
    result = run_child([sys.executable, "-c", CHILD, location, str(desc), str(csv)], label)
    result["wall_s"] = time.perf_counter() - t0
    after = load()
    result.update({f"{k}_before": v for k, v in before.items() if k != "cores"})
    result.update({f"{k}_after": v for k, v in after.items() if k != "cores"})
    result["cores"] = before["cores"]
    print(f"{label}: ingest {result['ingest_s']:.2f} s, grid {result['grid_s']:.2f} s, "
          f"peak {result['peak_rss'] / 1e6:.0f} MB (load {before['load1']:.2f} → "
          f"{after['load1']:.2f} on {before['cores']:.0f} cores)", flush=True)
    return result


def check_same(embedded: str, server: str) -> int:
    """Assert both stores hold the same samples and cells; the number of cells compared."""
    import pandas as pd

    from chemearth.store import open_store

    a, b = open_store(embedded, read_only=True), open_store(server, read_only=True)
    pd.testing.assert_frame_equal(a.datasets()[["dataset_id", "version", "n_samples",
                                                "n_measurements", "n_rejected"]],
                                  b.datasets()[["dataset_id", "version", "n_samples",
                                                "n_measurements", "n_rejected"]])
    pd.testing.assert_frame_equal(a.samples("bench"), b.samples("bench"))
    pd.testing.assert_frame_equal(a.cell_inventory(), b.cell_inventory())
    compared = 0
    for grid in sorted(set(a.cell_versions()["grid"])):
        for element in sorted(set(a.cell_inventory()["element"])):
            ca = a.cells(grid, "bench", element=element)
            cb = b.cells(grid, "bench", element=element)
            pd.testing.assert_frame_equal(ca, cb, check_exact=True)
            compared += len(ca)
    return compared


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    ap.add_argument("--order", choices=["ep", "pe"], default="ep",
                    help="embedded first (ep) or PostgreSQL first (pe)")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "bench"))
    from chemearth.store.pgcluster import Cluster
    from ingest import ELEMENTS, generate

    args.out.mkdir(parents=True, exist_ok=True)
    print(f"generating {args.rows:,} samples x {len(ELEMENTS)} elements …", flush=True)
    csv, desc = generate(args.rows, args.out)
    print(f"CSV: {csv} ({csv.stat().st_size / 1e6:.0f} MB)")
    folder = Path(tempfile.mkdtemp(prefix="chemearth-bench-pg-", dir="/tmp"))
    folder.chmod(0o755)
    cluster = Cluster(folder / "postgres")
    home = args.out / "store-embedded"
    shutil.rmtree(home, ignore_errors=True)
    try:
        cluster.start()
        cluster.create_database("bench")
        server = cluster.url("bench")
        runs = {"embedded": str(home), "postgresql": server}
        order = list(runs) if args.order == "ep" else list(reversed(runs))
        results = {label: run(label, runs[label], desc, csv) for label in order}
        cells = check_same(str(home), server)
        print(f"checked: the same samples and {cells:,} cells (exact) in both stores")
    finally:
        cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)
    e, p = results["embedded"], results["postgresql"]
    print()
    print(f"{args.rows:,} samples x {len(ELEMENTS)} elements, {e['measurements']:,.0f} "
          f"measurements, {e['cell_rows']:,.0f} cell rows")
    print(f"{'':12}{'ingest s':>10}{'grid s':>10}{'total s':>10}{'peak MB':>10}")
    for label, r in (("embedded", e), ("postgresql", p)):
        print(f"{label:12}{r['ingest_s']:10.2f}{r['grid_s']:10.2f}{r['total_s']:10.2f}"
              f"{r['peak_rss'] / 1e6:10.0f}")
    ratio = p["total_s"] / e["total_s"]
    print(f"ratio postgresql / embedded: ingest {p['ingest_s'] / e['ingest_s']:.2f}x, grid "
          f"{p['grid_s'] / e['grid_s']:.2f}x, total {ratio:.2f}x (target ≤ 2x: "
          f"{'met' if ratio <= 2 else 'MISSED'}); peak memory "
          f"{p['peak_rss'] / e['peak_rss']:.2f}x")
    (args.out / "store.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
