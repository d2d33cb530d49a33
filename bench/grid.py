"""Benchmark: the grid aggregation against DuckDB SQL, GeoPandas and a numpy.sort floor.

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
  latitude (the projection to EPSG:6933 is inside the timed part);
* DuckDB SQL: one ``GROUP BY cell, element`` query per level over the long table (40 M
  rows) with ``quantile_cont`` (8 quantiles), ``mad``, ``min``/``max``, ``count``,
  ``exp(avg(ln))`` and ``stddev_samp(log10)``; projected coordinates are given to it free;
* GeoPandas: per level, ``sjoin`` of the points with the cell squares, then pandas
  ``groupby`` (``quantile``, ``median``, ``min``, ``max``...) per element. It is run on
  ``--gpd-elements`` elements (default 4) and the per-element part is scaled to 40; the
  ``sjoin`` part is shared by all elements and counted once;
* floor: one ``numpy.sort`` of all N x 40 values;
* dask: :mod:`chemearth.grid.distributed` on a LocalCluster of 2 one-thread workers, over
  Parquet partitions of whole 160 km root cells (partitioning included in the time).

The chemearth and DuckDB medians are compared cell by cell as a check that both computed
the same thing. Targets (issue 3): >= 3x faster than DuckDB, >= 20x faster than
GeoPandas, peak memory < 4 GB, dask within 2x of the single-machine time.

Usage: ``python bench/grid.py [--samples 1000000] [--out bench/out]``
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from common import (  # bench/common.py (the script's folder is on sys.path)
    data_dir,
    ds801_draw,
    run_child,
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
    import geopandas as gpd
    import shapely

    d, _n = load(path)
    points = gpd.GeoDataFrame(
        {f"v{i}": d[f"v{i}"] for i in range(n_elements)}
        | {f"c{i}": d[f"c{i}"] for i in range(n_elements)},
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
        cc, rr = cc.ravel(), rr.ravel()
        squares = gpd.GeoDataFrame(
            {"cell": np.arange(len(cc))},
            geometry=shapely.box(cc * level, rr * level, (cc + 1) * level, (rr + 1) * level),
            crs="EPSG:6933",
        )
        joined = gpd.sjoin(points, squares, how="inner", predicate="within")
        t1 = time.perf_counter()
        join_s += t1 - t0
        frames = []
        for i in range(n_elements):
            v = joined[["cell", f"v{i}", f"c{i}"]].rename(columns={f"v{i}": "v", f"c{i}": "c"})
            g = v.groupby("cell")["v"]
            stats = pd.DataFrame(
                {
                    "n": g.size(),
                    "n_censored": v.groupby("cell")["c"].sum(),
                    "dl_max": v[v["c"]].groupby("cell")["v"].max(),
                    "min": g.min(),
                    "max": g.max(),
                }
            )
            qs = g.quantile(list(QUANTILES)).unstack()
            qs.columns = [f"q{round(p * 100)}" for p in QUANTILES]
            med = v["cell"].map(stats.join(qs)["q50"])
            stats["mad"] = (v["v"] - med).abs().groupby(v["cell"]).median()
            logs = np.log10(v["v"]).groupby(v["cell"])
            stats["gmean"] = 10 ** logs.mean()
            stats["log10_sd"] = logs.std(ddof=1)
            frames.append(stats.join(qs).assign(element=ELEMENTS[i], level_m=level))
        result = pd.concat(frames)
        result.to_parquet(out / f"geopandas-{level}.parquet")
        total += len(result)
        group_s += time.perf_counter() - t1
    scaled = join_s + group_s * len(ELEMENTS) / n_elements
    return {
        "seconds": scaled,
        "join_s": join_s,
        "group_s": group_s,
        "rows": total,
        "elements": n_elements,
    }


def run_floor(path: Path, out: Path) -> dict[str, float]:
    d, _n = load(path)
    allv = np.concatenate([d[f"v{i}"] for i in range(len(ELEMENTS))])
    start = time.perf_counter()
    allv.sort()
    return {"seconds": time.perf_counter() - start, "rows": len(allv)}


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


def run(method: str, path: Path, out: Path, extra: int) -> dict[str, float]:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        method,
        "--data",
        str(path),
        "--out",
        str(out),
        "--extra",
        str(extra),
    ]
    return run_child(cmd, method)


def check_same(out: Path) -> float:
    """Largest relative difference of chemearth and DuckDB medians (10 km cells, Cu)."""
    import duckdb

    ours = duckdb.sql(
        f"SELECT cell, median FROM '{out}/chemearth.parquet' "
        "WHERE level_m = 10000 AND element = 'Cu'"
    ).df()
    theirs = duckdb.sql(
        f"SELECT col, row, quantiles[4] AS median FROM '{out}/duckdb-10000.parquet' "
        "WHERE element = 'Cu'"
    ).df()
    from chemearth.grid.geometry import get_grid

    g = get_grid("global")
    bounds = g.cell_bounds(ours["cell"].to_numpy())
    ours["col"] = np.floor(bounds[0] / 10_000 + 0.5).astype(int)
    ours["row"] = np.floor(bounds[2] / 10_000 + 0.5).astype(int)
    both = ours.merge(theirs, on=["col", "row"], suffixes=("", "_duckdb"))
    if len(both) != len(ours) or len(both) != len(theirs):
        return float("inf")
    return float(np.max(np.abs(both["median"] - both["median_duckdb"]) / both["median"]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=1_000_000)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    ap.add_argument("--gpd-elements", type=int, default=4)
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
    print(
        f"bench/grid: {a.samples:,} samples x {len(ELEMENTS)} elements, levels "
        f"{', '.join(f'{x / 1000:g} km' for x in LEVELS)}; {os.cpu_count()} CPUs"
    )
    extra = {"geopandas": a.gpd_elements, "dask": a.workers}
    results = {}
    for method in METHODS:
        if method in a.skip.split(","):
            continue
        results[method] = run(method, path, out, extra.get(method, 0))
        r = results[method]
        print(
            f"  {method:10} {r['seconds']:9.2f} s  peak {r['peak_rss'] / 1e9:5.2f} GB  "
            f"rows {int(r['rows']):,}",
            flush=True,
        )
    ours = results["chemearth"]["seconds"]
    print("ratios (peer time / chemearth time):")
    if "duckdb" in results:
        print(
            f"  DuckDB SQL ({results['duckdb']['threads']} threads): "
            f"{results['duckdb']['seconds'] / ours:6.2f}x  (target >= 3x)"
        )
        print(f"  chemearth vs DuckDB medians, max relative difference: {check_same(out):.2e}")
    if "geopandas" in results:
        g = results["geopandas"]
        print(
            f"  GeoPandas sjoin+groupby:  {g['seconds'] / ours:6.2f}x  (target >= 20x; "
            f"sjoin {g['join_s']:.1f} s + groupby {g['group_s']:.1f} s for "
            f"{int(g['elements'])} elements, scaled to {len(ELEMENTS)})"
        )
    if "floor" in results:
        print(
            f"  floor, one numpy.sort:    {results['floor']['seconds'] / ours:6.2f}x "
            f"(chemearth is {ours / results['floor']['seconds']:.1f}x the floor)"
        )
    if "dask" in results:
        print(
            f"  dask, {a.workers} local workers:   {results['dask']['seconds'] / ours:6.2f}x "
            "(target <= 2x)"
        )
    peak = results["chemearth"]["peak_rss"]
    print(f"chemearth peak memory {peak / 1e9:.2f} GB (target < 4 GB)")


if __name__ == "__main__":
    main()
