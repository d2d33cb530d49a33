"""Benchmark: the grid aggregation against DuckDB SQL, GeoPandas and a measured floor.

A synthetic survey of N samples (default 1,000,000) x 40 elements: values and their
``<DL`` flags are drawn from the real USGS DS-801 distributions (``../shared/data``);
locations are uniform over a 224 km x 224 km square of EPSG:6933 in Colorado, which gives
about 200,000 cells of 0.5 km (some 5 samples each) and ~270,000 cells over the 9 levels
(160 km to 0.5 km). Every method computes, for every element and every level, per cell:
n, n censored, largest DL, min, P5, P10, P25, median, P75, P90, P95, P98, max, MAD,
geometric mean and log10 SD, and writes them to Parquet. Each runs in its own process;
wall time is measured inside (data loading excluded, the same for all), peak resident
memory from ``wait4``.

* chemearth: :func:`chemearth.grid.tables.cell_tables` (threads = CPUs), from longitude and
  latitude (the projection to EPSG:6933 is inside the timed part). Run twice, each in a
  fresh process: cold (empty compiled-kernel cache: numba compiles) and warm (the cache
  filled, as every later run); the ratios use the warm run, the cold one is shown;
* DuckDB SQL: one ``GROUP BY cell, element`` query per level over the long table (40 M
  rows) with ``quantile_cont`` (8 quantiles), ``mad``, ``min``/``max``, ``count``,
  ``exp(avg(ln))`` and ``stddev_samp(log10)``; projected coordinates are given to it free;
* GeoPandas: per level, ``sjoin`` of the points with the cell squares, then one pandas
  ``groupby`` over every element's column at once (one ``quantile`` call for all
  quantiles); all 40 elements (``--gpd-elements`` fewer for a quick look: no ratio then);
* floor: what any implementation must do at least, measured in the run: one argsort per
  element, every sample's cell at every level (integer division, hashed grouping), and
  writing a Parquet table as large as chemearth's;
* dask: :mod:`chemearth.grid.distributed` on a LocalCluster of 2 one-thread workers, over
  Parquet partitions of whole 160 km root cells (partitioning included in the time).

Before any ratio is printed, every statistic of every cell, element and level of chemearth
is compared with DuckDB's and GeoPandas' (relative difference <= 1e-9, a cell on one side
only fails): the bench stops when they disagree. Each figure carries the machine's load
while it ran (load average, CPU used by other processes, steal; see ``common.LoadMeter``)
and a warning when the machine was busy. The figures go to ``<out>/grid.json``, which
``make bench`` gathers into ``bench/out/summary.json``. Targets (issue 22): >= 5x DuckDB,
>= 10x GeoPandas on all 40 elements, <= 2x the floor, peak memory < 4 GB, dask within 2x.

Usage: ``python bench/grid.py [--samples 1000000] [--out bench/out]``
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
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
ELEMENTS = [
    "Ag", "Al", "As", "Ba", "Be", "Bi", "Ca", "Cd", "Ce", "Co", "Cr", "Cs", "Cu", "Fe",
    "Ga", "Hg", "In", "K", "La", "Li", "Mg", "Mn", "Mo", "Na", "Nb", "Ni", "P", "Pb", "Rb",
    "S", "Sb", "Sc", "Se", "Sn", "Sr", "Te", "Th", "Ti", "Tl", "U",
]  # fmt: skip
LEVELS = (160_000, 80_000, 40_000, 20_000, 10_000, 4_000, 2_000, 1_000, 500)
QUANTILES = (0.05, 0.10, 0.25, 0.50, 0.75, 0.90, 0.95, 0.98)
CENTRE_LON, CENTRE_LAT, SIDE_M = -105.5, 39.0, 224_000.0


def generate(samples: int, out: Path, seed: int = 20261121) -> Path:
    """Write the synthetic survey (wide: lon, lat, x, y, v<i>, c<i>) as Parquet."""
    import pyproj

    rng = np.random.default_rng(seed)
    raw = pd.read_csv(data_dir() / "usgs_ds801" / "ds801_top5_raw.csv", dtype=str)
    to_xy = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:6933", always_xy=True)
    to_ll = pyproj.Transformer.from_crs("EPSG:6933", "EPSG:4326", always_xy=True)
    cx, cy = to_xy.transform(CENTRE_LON, CENTRE_LAT)
    x = cx + rng.uniform(-SIDE_M / 2, SIDE_M / 2, samples)
    y = cy + rng.uniform(-SIDE_M / 2, SIDE_M / 2, samples)
    lon, lat = to_ll.transform(x, y)
    cols: dict[str, np.ndarray] = {"longitude": lon, "latitude": lat, "x": x, "y": y}
    for i, e in enumerate(ELEMENTS):
        cols[f"v{i}"], cols[f"c{i}"] = ds801_draw(raw, e, samples, rng)
    path = out / f"grid_{samples}.parquet"
    pq.write_table(pa.table(cols), path)
    return path


def load(path: Path) -> tuple[dict[str, np.ndarray], int]:
    t = pq.read_table(path)
    return {name: t.column(name).to_numpy() for name in t.column_names}, t.num_rows


# --------------------------------------------------------------------------- methods


def run_chemearth(path: Path, out: Path) -> dict[str, float]:
    from chemearth.grid.tables import ColumnData, cell_tables

    d, n = load(path)
    start = time.perf_counter()
    rows = np.arange(n)
    columns = (
        ColumnData(e, "", "mg/kg", rows, d[f"v{i}"], d[f"c{i}"]) for i, e in enumerate(ELEMENTS)
    )
    writer = None
    total = 0
    media = np.full(n, "topsoil")
    for table in cell_tables("global", LEVELS, d["longitude"], d["latitude"], media, columns):
        if writer is None:
            writer = pq.ParquetWriter(out / "chemearth.parquet", table.schema)
        writer.write_table(table)
        total += table.num_rows
    assert writer is not None
    writer.close()
    return {"seconds": time.perf_counter() - start, "rows": total}


def run_duckdb(path: Path, out: Path) -> dict[str, float]:
    import duckdb

    con = duckdb.connect()
    threads = con.execute("SELECT current_setting('threads')").fetchone()
    long_parts = " UNION ALL ".join(
        f"SELECT x, y, '{e}' AS element, v{i} AS value, c{i} AS censored FROM wide"
        for i, e in enumerate(ELEMENTS)
    )
    con.execute(f"CREATE TABLE wide AS SELECT * FROM read_parquet('{path}')")
    con.execute(f"CREATE TABLE long AS {long_parts}")
    con.execute("DROP TABLE wide")
    q = ", ".join(str(v) for v in QUANTILES)
    start = time.perf_counter()
    total = 0
    for level in LEVELS:
        sql = f"""
            COPY (
              SELECT {level} AS level_m,
                     floor(x / {level})::BIGINT AS col, floor(y / {level})::BIGINT AS row,
                     element, count(*) AS n, count(*) FILTER (WHERE censored) AS n_censored,
                     max(value) FILTER (WHERE censored) AS dl_max, min(value) AS min,
                     quantile_cont(value, [{q}]) AS quantiles, max(value) AS max,
                     mad(value) AS mad, exp(avg(ln(value))) AS gmean,
                     stddev_samp(log10(value)) AS log10_sd
              FROM long GROUP BY ALL
            ) TO '{out}/duckdb-{level}.parquet' (FORMAT parquet)
        """
        con.execute(sql)
        total += con.execute(f"SELECT count(*) FROM '{out}/duckdb-{level}.parquet'").fetchone()[0]
    return {"seconds": time.perf_counter() - start, "rows": total, "threads": int(threads[0])}


def run_geopandas(path: Path, out: Path, n_elements: int) -> dict[str, float]:
    """GeoPandas at its best reasonable configuration: per level one ``sjoin`` of the
    points with the cell squares, then one ``groupby`` over all elements' columns at once
    (count, min, max, censored counts, all quantiles in one call, MAD, log moments)."""
    import geopandas as gpd
    import shapely

    d, _n = load(path)
    names = ELEMENTS[:n_elements]
    vcols = [f"v{i}" for i in range(len(names))]
    ccols = [f"c{i}" for i in range(len(names))]
    points = gpd.GeoDataFrame(
        {c: d[c] for c in vcols + ccols},
        geometry=gpd.points_from_xy(d["x"], d["y"]),
        crs="EPSG:6933",
    )
    join_s = group_s = 0.0
    total = 0
    for level in LEVELS:
        t0 = time.perf_counter()
        c0, c1 = np.floor(d["x"].min() / level), np.floor(d["x"].max() / level)
        r0, r1 = np.floor(d["y"].min() / level), np.floor(d["y"].max() / level)
        cc, rr = np.meshgrid(np.arange(c0, c1 + 1), np.arange(r0, r1 + 1))
        cc, rr = cc.ravel().astype(np.int64), rr.ravel().astype(np.int64)
        squares = gpd.GeoDataFrame(
            {"col": cc, "row": rr},
            geometry=shapely.box(cc * level, rr * level, (cc + 1) * level, (rr + 1) * level),
            crs="EPSG:6933",
        )
        joined = gpd.sjoin(points, squares, how="inner", predicate="within")
        t1 = time.perf_counter()
        join_s += t1 - t0
        v = pd.DataFrame(joined[vcols].to_numpy(), columns=names)
        c = pd.DataFrame(joined[ccols].to_numpy(dtype=bool), columns=names)
        key = pd.MultiIndex.from_arrays([joined["col"].to_numpy(), joined["row"].to_numpy()],
                                        names=["col", "row"])
        v.index = c.index = key
        g = v.groupby(level=["col", "row"])
        parts = {
            "n": g.count(),
            "n_censored": c.groupby(level=["col", "row"]).sum(),
            "dl_max": v.where(c).groupby(level=["col", "row"]).max(),
            "min": g.min(),
            "max": g.max(),
            "mad": (v - g.transform("median")).abs().groupby(level=["col", "row"]).median(),
        }
        logs = np.log10(v).groupby(level=["col", "row"])
        parts["gmean"] = 10 ** logs.mean()
        parts["log10_sd"] = logs.std(ddof=1)
        qs = g.quantile(list(QUANTILES))  # one call: every quantile of every element
        for p_ in QUANTILES:
            parts[f"q{round(p_ * 100)}"] = qs.xs(p_, level=-1)
        long = pd.concat({k: f.stack() for k, f in parts.items()}, axis=1)
        long.index.names = ["col", "row", "element"]
        long = long.reset_index().assign(level_m=level)
        long.to_parquet(out / f"geopandas-{level}.parquet")
        total += len(long)
        group_s += time.perf_counter() - t1
    return {
        "seconds": join_s + group_s,
        "join_s": join_s,
        "group_s": group_s,
        "rows": total,
        "elements": len(names),
    }


def run_floor(path: Path, out: Path) -> dict[str, float]:
    """What any implementation must do at least: order every element's values (one
    argsort each), find each sample's cell at every level (integer division of the
    projected coordinates, given free as to DuckDB), and write a table as large as
    chemearth's (its own output, read before the clock starts, written with the same
    writer settings). Needs chemearth's output of the same run."""
    d, _n = load(path)
    ours = pq.ParquetFile(out / "chemearth.parquet")  # its tables, as chemearth wrote them
    tables = [ours.read_row_group(i) for i in range(ours.num_row_groups)]
    x, y = d["x"], d["y"]
    t0 = time.perf_counter()
    for i in range(len(ELEMENTS)):
        np.argsort(d[f"v{i}"])
    t1 = time.perf_counter()
    for level in LEVELS:
        col = np.floor_divide(x, level).astype(np.int64)
        row = np.floor_divide(y, level).astype(np.int64)
        pd.factorize(col * (1 << 32) + row, sort=False)  # grouped by hashing, not sorting
    t2 = time.perf_counter()
    with pq.ParquetWriter(out / "floor.parquet", ours.schema_arrow) as w:
        for table in tables:
            w.write_table(table)
    t3 = time.perf_counter()
    return {"seconds": t3 - t0, "argsort_s": t1 - t0, "levels_s": t2 - t1, "write_s": t3 - t2,
            "rows": sum(t.num_rows for t in tables)}


def run_dask(path: Path, out: Path, workers: int) -> dict[str, float]:
    from chemearth.grid.distributed import connect, partition_cells, write_partitions

    d, n = load(path)
    with connect(f"local:{workers}") as client:
        client.run(lambda: None)  # workers up before the clock starts
        start = time.perf_counter()
        columns = {i: (d[f"v{i}"], d[f"c{i}"]) for i in range(len(ELEMENTS))}
        meta = pd.DataFrame(
            {"column_id": range(len(ELEMENTS)), "element": ELEMENTS, "method": "", "unit": "mg/kg"}
        )
        paths, meta = write_partitions(
            d["longitude"],
            d["latitude"],
            np.full(n, "topsoil"),
            columns,
            meta,
            out / "parts",
            partitions=2 * workers,
        )
        futures = client.map(
            partition_cells,
            [str(p) for p in paths],
            columns=meta,
            grid="global",
            levels=list(LEVELS),
            out=str(out / "dask-cells"),
            pure=False,
        )
        rows = sum(client.gather(futures))
        return {"seconds": time.perf_counter() - start, "rows": rows}


METHODS = {
    "chemearth": run_chemearth,
    "duckdb": run_duckdb,
    "geopandas": run_geopandas,
    "floor": run_floor,
    "dask": run_dask,
}


def child(method: str, path: Path, out: Path, extra: int) -> None:
    fn = METHODS[method]
    args = (path, out, extra) if method in ("geopandas", "dask") else (path, out)
    print(json.dumps(fn(*args)))  # type: ignore[operator]


def run(method: str, path: Path, out: Path, extra: int,
        env: dict[str, str] | None = None) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", method, "--data", str(path), "--out", str(out),
           "--extra", str(extra)]
    return run_child(cmd, method, env)


#: chemearth's statistic columns and the peers' names for them
COMPARED = {"n": "n", "n_censored": "n_censored", "dl_max": "dl_max", "min": "min",
            "p5": "q5", "p10": "q10", "p25": "q25", "median": "q50", "p75": "q75",
            "p90": "q90", "p95": "q95", "p98": "q98", "max": "max", "mad": "mad",
            "gmean": "gmean", "log10_sd": "log10_sd"}
#: largest relative difference accepted (order statistics are exact; sums of logs differ
#: by rounding in the order of summation)
TOLERANCE = 1e-9
#: the standard deviation of log10 values is compared absolutely below this (cells of
#: equal values: 0 on one side, rounding noise on the other)
ABS_LOG_SD = 1e-12


def _ours(out: Path, level: int) -> pd.DataFrame:
    import duckdb

    from chemearth.grid.geometry import get_grid

    cols = ", ".join(COMPARED)
    ours = duckdb.sql(f"SELECT cell, element, {cols} FROM '{out}/chemearth.parquet' "
                      f"WHERE level_m = {level}").df()
    west, _e, south, _n = get_grid("global").cell_bounds(ours["cell"].to_numpy())
    ours["col"] = np.floor(west / level + 0.5).astype(np.int64)
    ours["row"] = np.floor(south / level + 0.5).astype(np.int64)
    return ours.drop(columns="cell")


def _duckdb(out: Path, level: int) -> pd.DataFrame:
    import duckdb

    q = ", ".join(f"quantiles[{i + 1}] AS q{round(p * 100)}" for i, p in enumerate(QUANTILES))
    return duckdb.sql(f"SELECT * EXCLUDE (quantiles, level_m), {q} "
                      f"FROM '{out}/duckdb-{level}.parquet'").df()


def compare(out: Path, peer: str) -> dict[str, float]:
    """Largest relative difference of each statistic between chemearth and ``peer``, over
    every cell, element and level (a cell missing on either side counts as infinite)."""
    worst = dict.fromkeys(COMPARED, 0.0)
    for level in LEVELS:
        ours = _ours(out, level)
        theirs = (_duckdb(out, level) if peer == "duckdb"
                  else pd.read_parquet(out / f"geopandas-{level}.parquet"))
        both = ours.merge(theirs, on=["col", "row", "element"], suffixes=("", "_peer"),
                          how="outer", indicator=True)
        if (both["_merge"] != "both").any():
            return dict.fromkeys(COMPARED, float("inf"))
        for ours_name, peer_name in COMPARED.items():
            a = both[ours_name].to_numpy(dtype=float)
            b = both[peer_name + ("_peer" if peer_name == ours_name else "")].to_numpy(dtype=float)
            same_nan = np.isnan(a) & np.isnan(b)
            rel = np.abs(a - b) / np.maximum(np.abs(a), 1e-300)
            if ours_name == "log10_sd":  # a spread of logs: equal values give 0 or ~1e-17
                rel[np.abs(a - b) <= ABS_LOG_SD] = 0.0
            rel[same_nan] = 0.0
            rel[np.isnan(rel)] = np.inf  # NaN on one side only
            worst[ours_name] = max(worst[ours_name], float(rel.max(initial=0.0)))
    return worst


def assert_same(out: Path, peer: str) -> float:
    """:func:`compare`, failing the bench (no ratio printed) when outputs differ."""
    worst = compare(out, peer)
    bad = {k: v for k, v in worst.items() if v > TOLERANCE}
    if bad:
        raise SystemExit(f"chemearth and {peer} disagree (max relative difference per "
                         f"statistic, tolerance {TOLERANCE:g}): {bad}")
    return max(worst.values())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=1_000_000)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    ap.add_argument("--gpd-elements", type=int, default=len(ELEMENTS),
                    help="Elements GeoPandas computes (default all; fewer is not compared "
                         "as a ratio).")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--skip", default="", help="Comma-separated methods to skip.")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--data", type=Path, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--extra", type=int, default=0, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        child(a.child, a.data, a.out, a.extra)
        return
    out = a.out / f"grid-{a.samples}"
    out.mkdir(parents=True, exist_ok=True)
    path = generate(a.samples, out)
    skip = set(a.skip.split(",")) - {""}
    print(
        f"bench/grid: {a.samples:,} samples x {len(ELEMENTS)} elements, levels "
        f"{', '.join(f'{x / 1000:g} km' for x in LEVELS)}; {os.cpu_count()} CPUs"
    )
    extra = {"geopandas": a.gpd_elements, "dask": a.workers}
    results: dict[str, dict[str, Any]] = {}
    # cold: a fresh process with an empty compiled-kernel cache (numba compiles); warm: a
    # fresh process with that cache filled, as every run after the first one
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        results["chemearth-cold"] = run("chemearth", path, out, 0, env)
        results["chemearth"] = run("chemearth", path, out, 0, env)
    for method in METHODS:
        if method in skip or method == "chemearth":
            continue
        results[method] = run(method, path, out, extra.get(method, 0))
    for name, r in results.items():
        print(f"  {name:15} {r['seconds']:9.2f} s  peak {r['peak_rss'] / 1e9:5.2f} GB  "
              f"rows {int(r['rows']):,}  [{load_note(r['load'])}]", flush=True)
    ours = results["chemearth"]["seconds"]
    ratios: dict[str, float] = {}
    checks: dict[str, float] = {}
    print("outputs (every statistic of every cell, element and level):")
    for peer in ("duckdb", "geopandas"):
        if peer in results and (peer != "geopandas" or a.gpd_elements == len(ELEMENTS)):
            checks[peer] = assert_same(out, peer)
            print(f"  chemearth = {peer}: max relative difference {checks[peer]:.1e}")
    print("ratios (peer time / chemearth warm time):")
    if "duckdb" in results:
        ratios["duckdb"] = results["duckdb"]["seconds"] / ours
        print(f"  DuckDB SQL ({results['duckdb']['threads']} threads, chemearth "
              f"{os.cpu_count()}): {ratios['duckdb']:6.2f}x  (target >= 5x)")
    if "geopandas" in checks:
        g = results["geopandas"]
        ratios["geopandas"] = g["seconds"] / ours
        print(f"  GeoPandas sjoin + one groupby, all {int(g['elements'])} elements: "
              f"{ratios['geopandas']:6.2f}x  (target >= 10x; sjoin {g['join_s']:.1f} s, "
              f"groupby {g['group_s']:.1f} s)")
    if "floor" in results:
        f = results["floor"]
        ratios["floor"] = ours / f["seconds"]
        print(f"  floor (argsorts {f['argsort_s']:.2f} s + levels {f['levels_s']:.2f} s + "
              f"Parquet write {f['write_s']:.2f} s = {f['seconds']:.2f} s): chemearth is "
              f"{ratios['floor']:.2f}x the floor (target <= 2x)")
    if "dask" in results:
        ratios["dask"] = results["dask"]["seconds"] / ours
        print(f"  dask, {a.workers} local workers: {ratios['dask']:6.2f}x (target <= 2x)")
    cold = results["chemearth-cold"]["seconds"]
    print(f"chemearth cold (kernels compiled) {cold:.2f} s, warm {ours:.2f} s; "
          f"peak memory {results['chemearth']['peak_rss'] / 1e9:.2f} GB (target < 4 GB)")
    busy = [n for n, r in results.items() if r["load"]["warning"]]
    if busy:
        print(f"WARNING: measured on a busy machine: {', '.join(busy)}")
    path_json = write_result(a.out, "grid", {"samples": a.samples, "methods": results,
                                             "ratios": ratios, "max_rel_diff": checks})
    print(f"figures: {path_json}")


if __name__ == "__main__":
    main()
