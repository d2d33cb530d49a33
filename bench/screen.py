"""Benchmark: soil-quality screening of 1,000,000 samples x 8 elements, with exceedance per
cell at three grid levels, against DuckDB SQL.

A synthetic survey of N samples (default 1,000,000): the eight GB 15618-2018 metals (Cd,
Hg, As, Pb, Cr, Cu, Ni, Zn) with values and ``<DL`` flags drawn from the real USGS DS-801
topsoils, and soil pH drawn from the real Kola C-horizon (10 % of samples without pH, which
takes the most protective band), at uniform locations over a 1,000 km square of EPSG:6933
in eastern China. Exceedance is counted per cell at 80, 20 and 10 km (``--levels``: cells
of about 1,600, 100 and 25 samples; a percentage above a limit needs several samples).
Each method, in its own process (peak resident memory from ``wait4``; wall time measured
inside, data loading excluded):

* chemearth: :func:`chemearth.assess.screening.screen_frame` (per-sample limits by pH band, classes,
  flags) then :meth:`Screening.by_cell` at each level (the projection of the points to the
  grid is inside the timed part);
* DuckDB SQL: the same comparison as one query over the long table (8 M rows) joined to a
  limits table by element and pH band, then ``GROUP BY cell, element`` per level counting
  samples above the screening and the control value; its cell keys are given to it free.

The per-cell counts of the two are compared first: the bench stops, with no ratio, when any
cell differs. Each figure carries the machine's load (``common.LoadMeter``); the figures go
to ``<out>/screen.json``. Target (issue 5): chemearth under 5 s.

Usage: ``python bench/screen.py [--samples 1000000] [--out bench/out]``
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from common import (  # bench/common.py (the script's folder is on sys.path)
    data_dir,
    ds801_draw,
    load_note,
    run_child,
    write_result,
)

ROOT = Path(__file__).resolve().parents[1]
ELEMENTS = ["Cd", "Hg", "As", "Pb", "Cr", "Cu", "Ni", "Zn"]
LEVELS = (80_000, 20_000, 10_000)  # cells of ~1,600, ~100 and ~25 samples
CENTRE_LON, CENTRE_LAT, SIDE_M = 114.0, 30.0, 1_000_000.0
STANDARD = "gb15618-2018"


def generate(samples: int, out: Path, seed: int = 20261122) -> Path:
    """The synthetic survey, long (sample_index, element, value, censored, ph, lon, lat)."""
    import pyproj

    rng = np.random.default_rng(seed)
    raw = pd.read_csv(data_dir() / "usgs_ds801" / "ds801_top5_raw.csv", dtype=str)
    kola = pd.read_csv(data_dir() / "kola" / "chorizon.csv", usecols=["pH"])
    to_xy = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:6933", always_xy=True)
    to_ll = pyproj.Transformer.from_crs("EPSG:6933", "EPSG:4326", always_xy=True)
    cx, cy = to_xy.transform(CENTRE_LON, CENTRE_LAT)
    lon, lat = to_ll.transform(cx + rng.uniform(-SIDE_M / 2, SIDE_M / 2, samples),
                               cy + rng.uniform(-SIDE_M / 2, SIDE_M / 2, samples))
    ph_pool = kola["pH"].dropna().to_numpy(float)
    ph = ph_pool[rng.integers(0, len(ph_pool), samples)] + rng.normal(0, 0.8, samples)
    ph[rng.random(samples) < 0.10] = np.nan
    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("sample_index", "element", "value",
                                                          "censored")}
    for e in ELEMENTS:
        values, censored = ds801_draw(raw, e, samples, rng)
        cols["sample_index"].append(np.arange(samples))
        cols["element"].append(np.full(samples, e))
        cols["value"].append(values)
        cols["censored"].append(censored)
    table = {k: np.concatenate(v) for k, v in cols.items()}
    idx = table["sample_index"]
    table.update(ph=ph[idx], longitude=np.asarray(lon)[idx], latitude=np.asarray(lat)[idx])
    path = out / f"screen_{samples}.parquet"
    pq.write_table(pa.table(table), path)
    return path


def run_chemearth(path: Path, out: Path, levels: tuple[int, ...]) -> dict[str, float]:
    from chemearth.assess.screening import screen_frame
    from chemearth.reference.standards import get_standard

    frame = pq.read_table(path).to_pandas()
    frame["digestion"] = "total"
    std = get_standard(STANDARD)
    t0 = time.perf_counter()
    s = screen_frame(frame, std)
    t1 = time.perf_counter()
    cells = [s.by_cell("global", lv) for lv in levels]
    t2 = time.perf_counter()
    keep = ["level_m", "cell", "element", "n", "n_above_screening", "n_above_control"]
    pd.concat([c[keep] for c in cells]).to_parquet(out / "screen_chemearth.parquet")
    return {"seconds": t2 - t0, "samples_s": t1 - t0, "cells_s": t2 - t1,
            "cells": float(sum(len(c) for c in cells))}


def run_duckdb(path: Path, out: Path, levels: tuple[int, ...]) -> dict[str, float]:
    import duckdb

    from chemearth.grid.geometry import get_grid
    from chemearth.reference.standards import get_standard

    std = get_standard(STANDARD)
    g = get_grid("global")
    t = pq.read_table(path)
    # free for DuckDB: the cell keys of every row at every level
    lon = t.column("longitude").to_numpy()
    lat = t.column("latitude").to_numpy()
    x, y = g.to_xy(lon, lat)
    for lv in levels:
        t = t.append_column(f"k{lv}", pa.array(g.cell_keys_xy(x, y, lv)))
    rows = []
    for el in ELEMENTS:
        for level in std.levels:
            r = std.row(el, level)
            finite = r[np.isfinite(r)]
            rows.append({"element": el, "level": level, "b0": r[0], "b1": r[1], "b2": r[2],
                         "b3": r[3], "low": finite.min() if finite.size else np.nan})
    limits = pd.DataFrame(rows)
    con = duckdb.connect()
    con.execute("SET threads TO 2")
    con.register("t", t)
    con.register("limits", limits)
    t0 = time.perf_counter()
    con.execute("""
        CREATE TABLE screened AS
        WITH lim AS (
            SELECT element,
                   max(CASE WHEN level = 'screening' THEN b0 END) s0,
                   max(CASE WHEN level = 'screening' THEN b1 END) s1,
                   max(CASE WHEN level = 'screening' THEN b2 END) s2,
                   max(CASE WHEN level = 'screening' THEN b3 END) s3,
                   max(CASE WHEN level = 'screening' THEN low END) slow,
                   max(CASE WHEN level = 'control' THEN b0 END) c0,
                   max(CASE WHEN level = 'control' THEN b1 END) c1,
                   max(CASE WHEN level = 'control' THEN b2 END) c2,
                   max(CASE WHEN level = 'control' THEN b3 END) c3,
                   max(CASE WHEN level = 'control' THEN low END) clow
            FROM limits GROUP BY element)
        SELECT t.*,
          CASE WHEN ph IS NULL OR isnan(ph) THEN slow WHEN ph <= 5.5 THEN s0
               WHEN ph <= 6.5 THEN s1 WHEN ph <= 7.5 THEN s2 ELSE s3 END AS lim_s,
          CASE WHEN ph IS NULL OR isnan(ph) THEN clow WHEN ph <= 5.5 THEN c0
               WHEN ph <= 6.5 THEN c1 WHEN ph <= 7.5 THEN c2 ELSE c3 END AS lim_c
        FROM t JOIN lim USING (element)
    """)
    parts = []
    for lv in levels:
        parts.append(con.execute(f"""
            SELECT {lv} AS level_m, k{lv} AS cell, element, count(*) AS n,
                   sum(CASE WHEN value > lim_s AND NOT censored THEN 1 ELSE 0 END)
                       AS n_above_screening,
                   sum(CASE WHEN value > lim_c AND NOT censored THEN 1 ELSE 0 END)
                       AS n_above_control
            FROM screened GROUP BY ALL
        """).df())
    t1 = time.perf_counter()
    pd.concat(parts).to_parquet(out / "screen_duckdb.parquet")
    return {"seconds": t1 - t0, "cells": float(sum(len(p) for p in parts)), "threads": 2}


METHODS = {"chemearth": run_chemearth, "duckdb": run_duckdb}


def run(method: str, path: Path, out: Path, levels: tuple[int, ...]) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", method, "--data", str(path), "--out", str(out),
           "--levels", ",".join(str(lv) for lv in levels)]
    return run_child(cmd, method)


def check_same(out: Path) -> int:
    """Cells whose counts differ between chemearth and DuckDB (must be 0)."""
    a = pd.read_parquet(out / "screen_chemearth.parquet")
    b = pd.read_parquet(out / "screen_duckdb.parquet")
    keys = ["level_m", "cell", "element"]
    j = a.merge(b, on=keys, how="outer", suffixes=("_a", "_b"), indicator=True)
    bad = (j["_merge"] != "both")
    for c in ("n", "n_above_screening", "n_above_control"):
        bad |= j[f"{c}_a"].fillna(-1).astype(int) != j[f"{c}_b"].fillna(-1).astype(int)
    return int(bad.sum())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=1_000_000)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    ap.add_argument("--child", default=None)
    ap.add_argument("--data", type=Path, default=None)
    ap.add_argument("--levels", default=",".join(str(lv) for lv in LEVELS),
                    help="cell sizes in metres or like 10km (default 80km,20km,10km)")
    args = ap.parse_args()
    from chemearth.grid.levels import parse_level

    levels = tuple(parse_level(v) for v in args.levels.split(","))
    if args.child:
        print(json.dumps(METHODS[args.child](args.data, args.out, levels)))
        return
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"screen_{args.samples}.parquet"
    if not path.exists():
        path = generate(args.samples, args.out)
    n_rows = args.samples * len(ELEMENTS)
    print(f"screening {args.samples:,} samples x {len(ELEMENTS)} elements ({n_rows:,} analyses) "
          f"against {STANDARD}, exceedance per cell at "
          f"{', '.join(f'{lv / 1000:g} km' for lv in levels)}")
    results = {m: run(m, path, args.out, levels) for m in METHODS}
    differ = check_same(args.out)
    if differ:  # no ratio of two different answers
        raise SystemExit(f"chemearth and DuckDB disagree on {differ} cell(s)")
    print("  check      every cell's counts equal DuckDB's")
    threads = results["duckdb"].get("threads", "?")
    for m, r in results.items():
        extra = (f" (samples {r['samples_s']:.2f} s + cells {r['cells_s']:.2f} s)"
                 if "samples_s" in r else f" (cell keys given free; {threads} threads)")
        print(f"  {m:<10} {r['seconds']:6.2f} s{extra}, {int(r['cells']):,} cell rows, "
              f"peak memory {r['peak_rss'] / 2**30:.2f} GiB  [{load_note(r['load'])}]")
    ratio = results["duckdb"]["seconds"] / results["chemearth"]["seconds"]
    print(f"  ratio      chemearth is {ratio:.2f}x DuckDB SQL")
    target = results["chemearth"]["seconds"] < 5.0
    print(f"  target     under 5 s: {'met' if target else 'MISSED'}")
    written = write_result(args.out, "screen", {"samples": args.samples, "methods": results,
                                                "ratio_duckdb": ratio})
    print(f"figures: {written}")


if __name__ == "__main__":
    main()
