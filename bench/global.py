"""Benchmark: the pooled (global) build of every survey against the per-dataset build.

Two stores, each made in a temporary folder and each step run once, in its own process
(peak resident memory from ``wait4``; the in-process time is the build call alone, the
wall time adds the process start and imports, the CPU time is the whole process's). The
data generation, the checks and every other step run in child processes too: a child's
``ru_maxrss`` starts from its parent's peak (the parent's memory before ``exec``), so the
parent holds no data.

* demo: every shipped descriptor ingested from the real data (``../shared/data``) as
  ``chemearth demo`` does;
* synthetic (only with ``--synthetic``): ``--samples`` (default 1,000,000) in five
  surveys of equal size drawn from five real ones, ingested from CSV. Each synthetic
  sample is a real site of its survey (sites with a location, picked at random) moved by
  ~0.5 km (normal, 0.005 degrees, as ``bench/ingest.py``), with that site's values times
  lognormal noise (sd 0.2 in ln); values below the detection limit stay ``<DL`` strings.
  All five pool into one medium group (topsoil) and one method class (total), by
  different media and methods:

  ==============  =====================  ==============  ============================
  survey          sites and values of    medium          method (from the real column)
  ==============  =====================  ==============  ============================
  syn-ds801       usgs-ds801-top5        topsoil 0-5     four-acid ICP (near-total)
  syn-ds520       usgs-ds520-colorado    soil 0-15 cm    four-acid ICP (near-total)
  syn-gemas       gemas                  topsoil 0-20    XRF (total)
  syn-bss         bss-top                soil 0-25 cm    XRF (total)
  syn-kola        kola-chorizon          soil 0-10 cm    XRF or INAA (total)
  ==============  =====================  ==============  ============================

  The Kola C horizon is declared a 0-10 cm soil so that it pools with the others: the
  synthetic surveys borrow real sites and value distributions, their media are labels.
  ``--elements`` (default 10) of the 13 elements all five measure by a total-class
  method (Al Ba Ca Cr Fe K Mg Mn Sr Zn Na P Ti), plus As in syn-ds801 alone (a pooled
  layer of one member).

Steps per store: ingest (reported, not compared); the per-dataset build
(:func:`chemearth.grid.layers.build_layers`, every survey, its default grids); the pooled
build (:func:`chemearth.grid.pooled.build_pooled`, scope ``public``, every dataset of the
store offered, global and European grids); the same pooled build again (nothing changed:
every layer ``unchanged``); then one dataset (:data:`UPDATE`: DS-520 Colorado, syn-kola)
taken out and put back, two incremental updates (an ``updated`` layer recomputes only the
160 km root cells the dataset's samples fall in). ``--skip update`` leaves them out.

Before any ratio is printed: after taking out and putting back, every pooled part (cells
and contributors) must equal the full build's; every pooled layer of one member (of one
medium) must have the statistics of that dataset's own cells, exactly; in every layer of
several members each cell's contributor counts must equal the members' own cell counts,
and its n their sum. The machine's load averages and core count are recorded before and
after each step. Target: the pooled build of the demo data under 60 s.

Results: the tables on stdout and ``bench/out/global.json``.

The synthetic part is opt-in: it takes 11-14 minutes on the 2-core machine (while other
work shared it), and its pooled build peaks at about 2.7 GB; the demo alone takes 4-8.

Usage: ``python bench/global.py [--synthetic] [--samples 1000000] [--elements 10]
[--skip demo,update] [--keep]``
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import shutil
import sys
import tempfile
import time
import warnings
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from common import ROOT, data_dir, run_child  # bench/common.py (the script's folder is on sys.path)

Result = dict[str, Any]

TARGET_DEMO_S = 60.0
JITTER_DEG = 0.005
NOISE_SD = 0.2
SEED = 20261124
#: Synthetic survey, real survey it is drawn from, declared medium and depth (cm).
SYNTHETIC = (
    ("syn-ds801", "usgs-ds801-top5", "topsoil", (0, 5)),
    ("syn-ds520", "usgs-ds520-colorado", "soil", (0, 15)),
    ("syn-gemas", "gemas", "topsoil", (0, 20)),
    ("syn-bss", "bss-top", "soil", (0, 25)),
    ("syn-kola", "kola-chorizon", "soil", (0, 10)),
)
#: Elements all five real surveys measure by a total-class method, in the order taken.
ELEMENTS = ("Al", "Ba", "Ca", "Cr", "Fe", "K", "Mg", "Mn", "Sr", "Zn", "Na", "P", "Ti")
#: An element of the first synthetic survey alone: a pooled layer of one member.
ONLY = ("syn-ds801", "As")
UPDATE = {"demo": "usgs-ds520-colorado", "synthetic": "syn-kola"}

# --------------------------------------------------------------------------- children


def child_ingest(home: Path, spec: list[str], locate: bool) -> Result:
    """Ingest ``spec``: descriptor files (``.toml``), shipped dataset ids, or ``*`` for
    every shipped descriptor."""
    from chemearth.config import BOUNDARIES_FILE
    from chemearth.ingest.descriptor import load_descriptor
    from chemearth.ingest.pipeline import ingest
    from chemearth.ingest.shipped import shipped_descriptors
    from chemearth.store import open_store

    descriptors = [str(p) for p in shipped_descriptors()
                   if "*" in spec or p.stem in spec] + [x for x in spec if x.endswith(".toml")]
    data = data_dir()
    boundaries = data / BOUNDARIES_FILE if locate and (data / BOUNDARIES_FILE).is_file() else None
    samples = measurements = 0
    with open_store(home) as store:
        start = time.perf_counter()
        for path in descriptors:
            report = ingest(store, load_descriptor(Path(path)), data_dir=data,
                            boundaries=boundaries)
            samples += report.n_samples
            measurements += report.n_measurements
        seconds = time.perf_counter() - start
    return {"seconds": seconds, "datasets": len(descriptors), "samples": samples,
            "measurements": measurements}


def child_layers(home: Path) -> Result:
    from chemearth.grid.layers import build_layers
    from chemearth.store import open_store

    with open_store(home) as store:
        start = time.perf_counter()
        report = build_layers(store)
        seconds = time.perf_counter() - start
    built = report[report["status"] == "built"]
    return {"seconds": seconds, "tables": len(built), "datasets": built["dataset_id"].nunique(),
            "rows": int(built["rows"].sum())}


def child_pooled(home: Path, without: str) -> Result:
    from chemearth.grid.pool_plan import PoolSource
    from chemearth.grid.pooled import build_pooled, pooled_manifest
    from chemearth.store import open_store

    with open_store(home) as store:
        catalogue = store.datasets()
        sources = [PoolSource(str(r.dataset_id), int(r.version))  # type: ignore[arg-type]
                   for r in catalogue.itertuples() if r.dataset_id != without]
        start = time.perf_counter()
        report = build_pooled(store, sources)
        seconds = time.perf_counter() - start
        excluded = [e for e in pooled_manifest(store)["excluded"]  # whole datasets
                    if not (e["element"] or e["medium"] or e["method"])]
    kept = report[report["status"] != "removed"]
    return {"seconds": seconds, "sources": len(sources), "layers": len(report),
            "status": {str(k): int(v) for k, v in report["status"].value_counts().items()},
            "by_grid": {str(k): int(v) for k, v in kept["grid"].value_counts().items()},
            "members": {str(k): int(v) for k, v in
                        kept["datasets"].value_counts().sort_index().items()},
            "cells": int(kept["cells"].sum()), "recomputed": int(report["recomputed"].sum()),
            "excluded_datasets": sorted({e["dataset_id"] for e in excluded})}


def child_snapshot(home: Path, dest: Path) -> Result:
    """Write every part of the public pooled collection under ``dest``."""
    from chemearth.grid.pooled import collection_name
    from chemearth.store import open_store

    name = collection_name("public")
    with open_store(home, read_only=True) as store:
        parts = store.list_parts(name)
        for part in parts:
            path = dest / part
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(store.read_part(name, part) or b"")
    return {"parts": len(parts)}


def child_check(home: Path, snapshot: Path | None) -> Result:
    out: Result = {"parts": check_parts(home, snapshot) if snapshot else 0}
    out["layers"] = dict(check_layers(home))
    return out


def child(a: argparse.Namespace) -> None:
    warnings.simplefilter("ignore")  # the ingest's expected ChemearthWarnings (half-DL...)
    if a.child == "ingest":
        out = child_ingest(a.home, a.descriptors.split(","), a.locate)
    elif a.child == "layers":
        out = child_layers(a.home)
    elif a.child == "pooled":
        out = child_pooled(a.home, a.without)
    elif a.child == "snapshot":
        out = child_snapshot(a.home, a.dest)
    elif a.child == "check":
        out = child_check(a.home, a.dest)
    else:
        out = generate(a.home, a.dest, a.samples, a.elements)
    print(json.dumps(out))


# --------------------------------------------------------------------------- parent


def load() -> dict[str, float]:
    """The 1, 5 and 15 minute load averages and the number of cores."""
    one, five, fifteen = os.getloadavg()
    return {"load1": one, "load5": five, "load15": fifteen, "cores": float(os.cpu_count() or 1)}


def run(label: str, step: str, home: Path, *extra: str, show: bool = True) -> Result:
    """One step in its own process: its result, wall time, CPU time (the whole process,
    user + system: steadier than wall time when other work shares the machine), peak
    memory and the load."""
    before = load()
    cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    cmd = [sys.executable, __file__, "--child", step, "--home", str(home), *extra]
    result: Result = run_child(cmd, label)
    result["wall_s"] = time.perf_counter() - t0
    cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)  # the child's, reaped by wait4
    result["cpu_s"] = cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime
    after = load()
    result.update({f"{k}_before": v for k, v in before.items() if k != "cores"})
    result.update({f"{k}_after": v for k, v in after.items() if k != "cores"})
    result["cores"] = before["cores"]
    if not show:
        return result
    status = result.get("status")
    what = (", ".join(f"{v} {k}" for k, v in status.items()) if status
            else f"{result.get('rows', result.get('samples', 0)):,} "
                 f"{'cell rows' if 'rows' in result else 'samples'}")
    print(f"  {label:38} {result['seconds']:8.2f} s  peak {result['peak_rss'] / 1e6:6.0f} MB  "
          f"({what}; load {before['load1']:.2f} → {after['load1']:.2f} on "
          f"{before['cores']:.0f} cores)", flush=True)
    return result


# --------------------------------------------------------------------------- checks


def check_parts(home: Path, snapshot: Path) -> int:
    """Assert the pooled parts of ``home`` hold what ``snapshot`` holds; the number compared."""
    import pyarrow.parquet as pq

    from chemearth.grid.pooled import collection_name
    from chemearth.store import open_store

    name = collection_name("public")
    full = sorted(str(p.relative_to(snapshot)) for p in snapshot.rglob("*") if p.is_file())
    with open_store(home, read_only=True) as store:
        now = sorted(store.list_parts(name))
        if full != now:
            raise SystemExit(f"pooled parts differ after the update: only in the full build "
                             f"{sorted(set(full) - set(now))[:5]}, only after the update "
                             f"{sorted(set(now) - set(full))[:5]}")
        for part in full:
            before, after = (snapshot / part).read_bytes(), store.read_part(name, part) or b""
            if before != after:
                a = pq.read_table(io.BytesIO(before)).to_pandas()
                b = pq.read_table(io.BytesIO(after)).to_pandas()
                pd.testing.assert_frame_equal(a, b, check_exact=True, obj=part)
    return len(full)


def _key(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(["level_m", "cell"]).reset_index(drop=True)


def check_layers(home: Path) -> Counter[str]:
    """Assert every pooled layer agrees with its members' own cells; counts of layers
    checked (``one member``, ``several members``) and skipped (with the reason)."""
    import pyarrow.parquet as pq

    from chemearth.grid.aggregate import STATISTICS
    from chemearth.grid.pool_plan import Member
    from chemearth.grid.pooled import collection_name, pooled_manifest
    from chemearth.store import open_store

    counts: Counter[str] = Counter()
    name = collection_name("public")
    stats = ["level_m", "cell", "cell_id", *STATISTICS]
    with open_store(home, read_only=True) as store:
        layers = pooled_manifest(store)["layers"]
        built = {(r.dataset_id, int(r.version), r.grid)  # type: ignore[arg-type]
                 for r in store.cell_versions().itertuples()}
        wanted: dict[tuple[str, str], list[tuple[int, Member]]] = defaultdict(list)
        todo = []
        for i, e in enumerate(layers):
            members = [Member.from_dict(d) for d in e["members"]]
            have = [m for m in members if (m.dataset_id, m.version, e["grid"]) in built]
            if len(members) == 1 and not have:
                counts["skipped: its member has no own cells on the grid"] += 1
                continue
            if len(members) == 1 and len(members[0].media) > 1:
                counts["skipped: one member of several media"] += 1
                continue
            todo.append((i, len(members), {m.dataset_id for m in have}))
            for m in have:
                wanted[(m.dataset_id, e["grid"])].append((i, m))
        own: dict[int, list[pd.DataFrame]] = defaultdict(list)
        for (ds, grid), uses in wanted.items():  # each dataset's own cells read once
            table = store.cells(grid, dataset_id=ds)
            for col in ("element", "method", "unit", "medium"):
                table[col] = table[col].astype(str)
            for i, m in uses:
                e = layers[i]
                sel = table[(table["element"] == e["element"]) & (table["method"] == m.method)
                            & (table["unit"] == e["unit"]) & table["medium"].isin(m.media)]
                own[i].append(sel[stats].assign(dataset_id=ds))
            del table
        for i, n_members, checkable in todo:
            e = layers[i]
            what = f"pooled {e['grid']} {e['medium']}/{e['method']}/{e['element']} ({e['unit']})"
            pooled = _key(pq.read_table(io.BytesIO(store.read_part(name, f"{e['part']}.cells")
                                                   or b"")).to_pandas())
            parts = own[i]
            if n_members == 1:
                mine = _key(parts[0].drop(columns="dataset_id"))
                pooled = pooled[stats].astype({"cell_id": str})
                mine = mine.astype({"cell_id": str})
                pd.testing.assert_frame_equal(pooled, mine, check_exact=True, obj=what)
                counts["one member: statistics equal"] += 1
                continue
            contrib = pq.read_table(io.BytesIO(
                store.read_part(name, f"{e['part']}.contributors") or b"")).to_pandas()
            if set(contrib["dataset_id"]) - checkable:
                counts["skipped: a contributing member has no own cells on the grid"] += 1
                continue
            theirs = pd.concat(parts, ignore_index=True)[["level_m", "cell", "dataset_id", "n"]]
            both = contrib.merge(theirs, on=["level_m", "cell", "dataset_id"], how="outer",
                                 suffixes=("", "_own"), indicator=True)
            bad = (both["_merge"] != "both") | (both["n"] != both["n_own"])
            if bad.any():
                raise SystemExit(f"{what}: {int(bad.sum())} contributor rows differ from the "
                                 f"members' own cells, e.g.\n{both[bad].head()}")
            total = theirs.groupby(["level_m", "cell"], as_index=False)["n"].sum()
            j = pooled[["level_m", "cell", "n"]].merge(total, on=["level_m", "cell"],
                                                       how="outer", suffixes=("", "_sum"))
            if j["n"].isna().any() or j["n_sum"].isna().any() or (j["n"] != j["n_sum"]).any():
                raise SystemExit(f"{what}: pooled n is not the sum of the members' n, e.g.\n"
                                 f"{j[j['n'] != j['n_sum']].head()}")
            counts["several members: n = sum of members' n"] += 1
    return counts


def scenario(label: str, home: Path, descriptors: str, locate: bool, update: str) -> Result:
    """Ingest, per-dataset build, pooled build, again, update; then the checks."""
    steps: Result = {}
    steps["ingest"] = run("ingest (not compared)", "ingest", home, "--descriptors",
                          descriptors, *(["--locate"] if locate else []))
    steps["per_dataset"] = run("per-dataset build (build_layers)", "layers", home)
    steps["pooled"] = run("pooled build (build_pooled)", "pooled", home)
    snapshot = home.parent / f"{label}-pooled-parts"
    if update:
        run("snapshot", "snapshot", home, "--dest", str(snapshot), show=False)
    steps["pooled_again"] = run("pooled again, nothing changed", "pooled", home)
    if set(steps["pooled_again"]["status"]) != {"unchanged"}:
        raise SystemExit(f"a second pooled build changed layers: {steps['pooled_again']}")
    if update:
        steps["pooled_without"] = run(f"pooled without {update}", "pooled", home,
                                      "--without", update)
        steps["pooled_update"] = run(f"pooled + {update} (update)", "pooled", home)
    checks = run("checks", "check", home, *(["--dest", str(snapshot)] if update else []),
                 show=False)
    if update:
        print(f"  checked: after taking {update} out and back, all {checks['parts']:,} pooled "
              "parts equal the full build's", flush=True)
    for what, k in sorted(checks["layers"].items()):
        print(f"  checked: {k:4} layers, {what}", flush=True)
    ours, pooled = steps["per_dataset"]["seconds"], steps["pooled"]["seconds"]
    return {"label": label, "steps": steps, "checks": checks["layers"], "update": update,
            "ratio_pooled_per_dataset": pooled / ours,
            "ratio_unchanged_full": steps["pooled_again"]["seconds"] / pooled}


# --------------------------------------------------------------------------- synthetic


def _best_column(store: Any, ds: str, meta: pd.DataFrame, element: str) -> Any:
    """The total or near-total column of ``element`` with the most values above the DL."""
    rows = meta[(meta["element"] == element) & meta["digestion"].isin(["total", "near-total"])]
    if rows.empty:
        raise SystemExit(f"{ds} has no total or near-total {element} column")
    best, most = None, -1
    for col in rows.sort_values("column_id").itertuples():
        v = store.column_values(ds, None, int(col.column_id))
        measured = int((~np.asarray(v["censored"], bool) & np.isfinite(v["value"])).sum())
        if measured > most:
            best, most = col, measured
    return best


def _significant(v: np.ndarray, digits: int = 4) -> np.ndarray:
    out = v.copy()
    ok = np.isfinite(v) & (v > 0)
    scale = 10.0 ** (digits - 1 - np.floor(np.log10(v[ok])))
    out[ok] = np.round(v[ok] * scale) / scale
    return out


def generate(sources: Path, out: Path, samples: int, n_elements: int) -> Result:
    """Write the synthetic surveys (CSV and descriptor each) from the real surveys in the
    store ``sources``; the descriptors' paths and a line on each survey."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    from chemearth.store import open_store

    rng = np.random.default_rng(SEED)
    out.mkdir(parents=True, exist_ok=True)
    paths, lines_out = [], []
    with open_store(sources, read_only=True) as store:
        catalogue = store.datasets()
        for i, (ident, src, medium, depth) in enumerate(SYNTHETIC):
            n = samples // len(SYNTHETIC) + (samples % len(SYNTHETIC) if i == 0 else 0)
            s = store.samples(src)
            lon = s["longitude"].to_numpy(dtype=float, na_value=np.nan)
            lat = s["latitude"].to_numpy(dtype=float, na_value=np.nan)
            site = np.flatnonzero(np.isfinite(lon) & np.isfinite(lat))
            index = pd.Index(s["sample_index"].to_numpy(np.int64)[site])
            pick = rng.integers(0, site.size, n)
            cols: dict[str, Any] = {
                "sample_id": pa.array([f"{ident}-{k:07d}" for k in range(n)]),
                "longitude": np.round(lon[site][pick] + rng.normal(0, JITTER_DEG, n), 5),
                "latitude": np.round(lat[site][pick] + rng.normal(0, JITTER_DEG, n), 5),
            }
            meta = store.measurement_columns(src)
            elements = list(ELEMENTS[:n_elements]) + ([ONLY[1]] if ident == ONLY[0] else [])
            lines = []
            for el in elements:
                col = _best_column(store, src, meta, el)
                v = store.column_values(src, None, int(col.column_id))
                pos = index.get_indexer(np.asarray(v["sample_index"], np.int64))
                ok = pos >= 0
                value = np.full(site.size, np.nan)
                cens = np.zeros(site.size, dtype=bool)
                value[pos[ok]] = np.asarray(v["value"], float)[ok]
                cens[pos[ok]] = np.asarray(v["censored"], bool)[ok]
                x, c = value[pick], cens[pick]
                x = _significant(np.where(c, x, x * np.exp(rng.normal(0, NOISE_SD, n))))
                text = pc.cast(pa.array(x, from_pandas=True), pa.string())
                cols[el] = pc.if_else(pa.array(c), pc.binary_join_element_wise("<", text, ""),
                                      text)
                lines.append(f"{el} = {{ element = {json.dumps(el)}, unit = "
                             f"{json.dumps(str(col.unit))}, method = "
                             f"{json.dumps(str(col.method))}, digestion = "
                             f"{json.dumps(str(col.digestion))} }}")
            csv_path = out / f"{ident}.csv"
            pacsv.write_csv(pa.table(cols), csv_path,
                            write_options=pacsv.WriteOptions(quoting_style="none"))
            row = catalogue[catalogue["dataset_id"] == src].iloc[0]
            countries = [str(c) for c in (row["countries"] if row["countries"] is not None
                                          else [])]
            desc = out / f"{ident}.toml"
            desc.write_text(f"""[dataset]
id = "{ident}"
title = "Synthetic survey drawn from {src} (bench/global.py)"
countries = {json.dumps(countries)}
medium = "{medium}"
depth_cm = [{depth[0]}, {depth[1]}]

[source]
path = {json.dumps(str(csv_path))}

[coordinates]
x = "longitude"
y = "latitude"
crs = "EPSG:4326"

[sample]
id = "sample_id"

[censoring]
encoding = "lt_string"

[columns]
""" + "\n".join(lines) + "\n")
            paths.append(str(desc))
            lines_out.append(f"{ident}: {n:,} samples at {site.size:,} sites of {src}, "
                             f"{len(elements)} elements → "
                             f"{csv_path.stat().st_size / 1e6:.0f} MB CSV")
    return {"descriptors": paths, "surveys": lines_out}


# --------------------------------------------------------------------------- report


def table(r: Result) -> None:
    s = r["steps"]
    rows = [("ingest", "ingest"), ("per-dataset build", "per_dataset"),
            ("pooled build", "pooled"), ("pooled again (unchanged)", "pooled_again"),
            (f"pooled without {r['update']}", "pooled_without"),
            (f"pooled + {r['update']} (update)", "pooled_update")]
    print(f"{'':40}{'in-proc s':>10}{'wall s':>9}{'CPU s':>8}{'peak MB':>9}"
          f"{'load1 before→after':>22}")
    for label, key in rows:
        if key in s:
            x = s[key]
            print(f"{label:40}{x['seconds']:10.2f}{x['wall_s']:9.2f}{x['cpu_s']:8.1f}"
                  f"{x['peak_rss'] / 1e6:9.0f}"
                  f"{x['load1_before']:>15.2f} → {x['load1_after']:.2f}")


def report(r: Result, target: float | None) -> None:
    s = r["steps"]
    ours, pooled = s["per_dataset"], s["pooled"]
    print(f"ratio pooled / per-dataset build: {r['ratio_pooled_per_dataset']:.2f}x in-process "
          f"({pooled['seconds']:.1f} s / {ours['seconds']:.1f} s), "
          f"{pooled['wall_s'] / ours['wall_s']:.2f}x wall, "
          f"{pooled['cpu_s'] / ours['cpu_s']:.2f}x CPU time; peak memory "
          f"{pooled['peak_rss'] / 1e6:.0f} MB / {ours['peak_rss'] / 1e6:.0f} MB")
    print(f"pooled again, nothing changed: {s['pooled_again']['seconds']:.2f} s "
          f"({r['ratio_unchanged_full']:.3f}x the full build)")
    if "pooled_update" in s:
        u = s["pooled_update"]
        print(f"update adding {r['update']}: {u['seconds']:.2f} s "
              f"({u['seconds'] / pooled['seconds']:.3f}x the full build; "
              f"{u['recomputed']:,} of {u['cells']:,} cell rows recomputed)")
    if target is not None:
        print(f"target: pooled build of the demo data under {target:.0f} s: "
              f"{'met' if pooled['seconds'] < target else 'MISSED'} "
              f"({pooled['seconds']:.1f} s in-process, {pooled['wall_s']:.1f} s wall)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--synthetic", action="store_true",
                    help="also the synthetic surveys (11-14 min on 2 cores)")
    ap.add_argument("--samples", type=int, default=1_000_000,
                    help="synthetic samples in all (five surveys)")
    ap.add_argument("--elements", type=int, default=10,
                    help=f"synthetic elements common to the five (1-{len(ELEMENTS)})")
    ap.add_argument("--skip", default="", help="comma-separated: demo, update")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    ap.add_argument("--keep", action="store_true", help="keep the temporary stores")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--home", type=Path, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--descriptors", default="", help=argparse.SUPPRESS)
    ap.add_argument("--locate", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--without", default="", help=argparse.SUPPRESS)
    ap.add_argument("--dest", type=Path, default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        child(a)
        return
    if not 1 <= a.elements <= len(ELEMENTS):
        ap.error(f"--elements must be 1-{len(ELEMENTS)}")
    skip = set(a.skip.split(","))
    a.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="chemearth-bench-global-"))
    info = {"cpus": os.cpu_count(), "data": str(data_dir()), "work": str(work),
            "samples": a.samples, "elements": a.elements}
    results: Result = {"info": info}
    print(f"bench/global: pooled against per-dataset grid build; {os.cpu_count()} CPUs; "
          f"stores in {work}", flush=True)
    try:
        if "demo" not in skip:
            print("demo: every shipped descriptor", flush=True)
            results["demo"] = scenario("demo", work / "demo", "*", True,
                                       "" if "update" in skip else UPDATE["demo"])
            pooled_s = results["demo"]["steps"]["pooled"]["seconds"]
            results["demo"].update(target_s=TARGET_DEMO_S, target_met=pooled_s < TARGET_DEMO_S)
        if a.synthetic:
            sources = work / "demo"
            if "demo" in skip:  # the five real surveys the synthetic ones are drawn from
                sources = work / "sources"
                wanted = {src for _, src, _, _ in SYNTHETIC}
                run("ingest the five real surveys", "ingest", sources, "--descriptors",
                    ",".join(sorted(wanted)), "--locate", show=False)
            print(f"synthetic: {a.samples:,} samples of five surveys, {a.elements} elements "
                  f"(+ {ONLY[1]} in {ONLY[0]})", flush=True)
            made = run("generate", "generate", sources, "--dest", str(work / "csv"),
                       "--samples", str(a.samples), "--elements", str(a.elements), show=False)
            for line in made["surveys"]:
                print(f"  {line}", flush=True)
            results["synthetic"] = scenario("synthetic", work / "synthetic",
                                            ",".join(made["descriptors"]), False,
                                            "" if "update" in skip else UPDATE["synthetic"])
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
    print()
    for key, target in (("demo", TARGET_DEMO_S), ("synthetic", None)):
        if key not in results:
            continue
        r = results[key]
        ing = r["steps"]["ingest"]
        pooled = r["steps"]["pooled"]
        print(f"{key}: {ing['datasets']} datasets, {ing['samples']:,} samples, "
              f"{ing['measurements']:,} measurements; per-dataset "
              f"{r['steps']['per_dataset']['rows']:,} cell rows in "
              f"{r['steps']['per_dataset']['tables']} tables; pooled {pooled['cells']:,} cell "
              f"rows in {pooled['layers']} layers ("
              f"{' + '.join(f'{v} {k}' for k, v in pooled['by_grid'].items())}; members: "
              f"layers {', '.join(f'{k}: {v}' for k, v in pooled['members'].items())}); "
              "datasets not pooled: "
              f"{', '.join(pooled['excluded_datasets']) or 'none'}")
        table(r)
        report(r, target)
        print()
    (a.out / "global.json").write_text(json.dumps(results, indent=1))
    print(f"results: {a.out / 'global.json'}")


if __name__ == "__main__":
    main()
