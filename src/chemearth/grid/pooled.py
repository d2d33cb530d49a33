"""Pooled layers: one map of the chemical Earth per element, over every survey that may be
pooled.

A pooled layer is one element of one medium group by one method class (and unit): the
samples of all its members (:mod:`chemearth.grid.pool_plan`) are put together and every
cell of every level of a grid gets the statistics of :data:`chemearth.grid.aggregate.STATISTICS`,
computed on the pooled samples exactly as for one dataset (censored values at their
detection limit, ``dl_max`` kept). Each cell also keeps its *contributors*: the datasets
whose samples it holds, with their numbers of samples.

Pooled layers are built per *scope*: ``public`` (what anyone may see) or ``org:NAME``
(an organisation's private pooled layers, with its own restricted data). Who may enter a
scope is decided by the caller (:mod:`chemearth.access.pooling`); this module only obeys
each :class:`~chemearth.grid.pool_plan.PoolSource`:

* a source with ``k == 1`` enters every cell;
* a disclosure-controlled source (``k > 1``) enters a cell only where its ``admit``
  says its own cell is published, so every set of its samples a pooled cell adds is a set
  it publishes already; and in cells holding its samples the minimum, maximum and
  largest detection limit are withheld, and a percentile is kept only when at least
  *k* + 1 of its values lie below it and *k* + 1 above (the MAD follows the median, and
  needs *k* + 1 of its values' distances from the median below it and *k* + 1 above).

A scope is stored as a collection of parts (:meth:`Store.write_parts`), one cell table and
one contributor table per layer and grid, with a manifest of the layers, their members,
and what was left out. :func:`build_pooled` recomputes only what changed: a layer whose
members are the same is kept; when a member is added, removed or replaced, only the
160 km root cells holding its old or new samples are recomputed (every level nests in
them), and the other cells are kept as they were.

Examples
--------
>>> collection_name("public"), collection_name("org:NGU")
('pooled.public', 'pooled.org=NGU')
"""

from __future__ import annotations

import datetime as dt
import io
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from chemearth.errors import GridError, NotFoundError
from chemearth.grid.aggregate import PERCENTILES
from chemearth.grid.geometry import Grid, get_grid
from chemearth.grid.levels import parse_level
from chemearth.grid.pool_plan import (
    LayerPlan,
    Member,
    PoolSource,
    layer_part,
    plan_layers,
    rules_digest,
    sample_groups,
)
from chemearth.grid.tables import ColumnData, canonical, cell_table_schema, cell_tables
from chemearth.reference.pooling import PoolingRules, pooling_rules
from chemearth.store.base import Store

__all__ = [
    "CONTRIBUTOR_SCHEMA",
    "GRIDS",
    "build_pooled",
    "collection_name",
    "pooled_cells",
    "pooled_contributors",
    "pooled_layers",
    "pooled_manifest",
    "pooled_samples",
]

#: Grids pooled layers are built on.
GRIDS = ("global", "europe")

#: Columns of a contributor table: one row per cell and contributing dataset.
CONTRIBUTOR_SCHEMA = pa.schema([
    ("level_m", pa.int32()), ("cell", pa.int64()), ("dataset_id", pa.string()),
    ("version", pa.int32()), ("n", pa.int64()), ("n_censored", pa.int64()),
])

Progress = Callable[[str, int, int], None]

#: Order statistics withheld in cells holding samples of a controlled source.
_EXTREMES = ("min", "max", "dl_max")


def collection_name(scope: str) -> str:
    """The store collection of a scope (``public`` or ``org:NAME``)."""
    safe = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else
                   ("=" if c == ":" else f"+{ord(c):x}") for c in scope)
    return f"pooled.{safe}"


def _to_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()


def _from_bytes(data: bytes) -> pa.Table:
    return pq.read_table(io.BytesIO(data))


# ---------------------------------------------------------------------- member data


class _Members:
    """Reads each member's samples and values once."""

    def __init__(self, store: Store, rules: PoolingRules) -> None:
        self.store, self.rules = store, rules
        self._samples: dict[tuple[str, int], pd.DataFrame] = {}
        self._catalogue = store.datasets(all_versions=True)
        self._values: dict[tuple[str, int, int, str], pd.DataFrame] = {}

    def samples(self, ds: str, version: int) -> pd.DataFrame:
        key = (ds, version)
        if key not in self._samples:
            s = self.store.samples(ds, version)
            row = self._catalogue[(self._catalogue["dataset_id"] == ds)
                                  & (self._catalogue["version"] == version)]
            bottom = float(pd.to_numeric(row["depth_bottom_cm"], errors="coerce").iloc[0]) \
                if len(row) else float("nan")
            s = s.assign(group=sample_groups(self.rules, s, bottom))
            self._samples[key] = s
        return self._samples[key]

    def values(self, m: Member, group: str) -> pd.DataFrame:
        """The member's located analyses in ``group``: lon, lat, value, censored, ids."""
        key = (m.dataset_id, m.version, m.column_id, group)
        if key not in self._values:
            self._values[key] = self._read(m, group)
        return self._values[key]

    def _read(self, m: Member, group: str) -> pd.DataFrame:
        s = self.samples(m.dataset_id, m.version)
        v = self.store.column_values(m.dataset_id, m.version, m.column_id)
        idx = pd.Index(s["sample_index"].to_numpy(dtype=np.int64))
        pos = idx.get_indexer(np.asarray(v["sample_index"], dtype=np.int64))
        values = np.asarray(v["value"], dtype=float)
        ok = (pos >= 0) & np.isfinite(values)
        pos = pos[ok]
        frame = pd.DataFrame({
            "sample_id": s["sample_id"].astype(str).to_numpy()[pos],
            "longitude": s["longitude"].to_numpy(dtype=float, na_value=np.nan)[pos],
            "latitude": s["latitude"].to_numpy(dtype=float, na_value=np.nan)[pos],
            "country": s["country"].astype("string").fillna("").to_numpy()[pos],
            "medium": s["medium"].astype(str).to_numpy()[pos],
            "value": values[ok],
            "censored": np.asarray(v["censored"], dtype=bool)[ok],
        })
        keep = (s["group"].to_numpy()[pos] == group) & np.isfinite(frame["longitude"]) \
            & np.isfinite(frame["latitude"])
        return pd.DataFrame(frame[keep].reset_index(drop=True))


# ---------------------------------------------------------------------- computing


def _layer_tables(g: Grid, levels: Sequence[int], plan: LayerPlan,
                  data: list[tuple[Member, pd.DataFrame]], admit_of: dict[str, PoolSource],
                  threads: int | None) -> tuple[pa.Table, pa.Table]:
    """Cell and contributor tables of one layer from its members' analyses."""
    frames = [f.assign(_member=i) for i, (_, f) in enumerate(data) if len(f)]
    if not frames:
        return cell_table_schema().empty_table(), CONTRIBUTOR_SCHEMA.empty_table()
    allv = pd.concat(frames, ignore_index=True)
    lon = allv["longitude"].to_numpy(float)
    lat = allv["latitude"].to_numpy(float)
    member = allv["_member"].to_numpy(np.int64)
    raw_media = allv["medium"].astype(str).to_numpy()
    controlled = np.array([m.k > 1 for m, _ in data], dtype=bool)
    x, y = g.to_xy(lon, lat)
    keys = {lev: g.cell_keys_xy(x, y, lev) for lev in levels}
    cells_out: list[pa.Table] = []
    contrib_out: list[pd.DataFrame] = []
    level_sets: list[list[int]] = [list(levels)] if not controlled.any() else [[lv]
                                                                               for lv in levels]
    for lvs in level_sets:
        use = np.ones(len(allv), dtype=bool)
        if controlled.any():
            lev = lvs[0]
            for i, (m, _) in enumerate(data):
                if m.k > 1:
                    src = admit_of[m.dataset_id]
                    for medium in m.media:
                        rows = (member == i) & (raw_media == medium)
                        ok = np.zeros(int(rows.sum()), dtype=bool)
                        if src.admit is not None and rows.any():
                            ok = np.asarray(src.admit(g.name, plan.element, medium, m.method,
                                                      lev, keys[lev][rows]), dtype=bool)
                        use[rows] = ok
        if not use.any():
            continue
        col = ColumnData(plan.element, plan.method, plan.unit, np.flatnonzero(use),
                         allv["value"].to_numpy(float)[use],
                         allv["censored"].to_numpy(bool)[use])
        media = np.full(len(allv), plan.medium, dtype=object)
        tables = list(cell_tables(g.name, lvs, lon, lat, media, [col], threads=threads))
        if not tables:
            continue
        t = pa.concat_tables(tables)
        if controlled.any():
            t = _withhold(t, lvs[0], keys[lvs[0]], use, member, controlled, data,
                          allv["value"].to_numpy(float))
        cells_out.append(t)
        for lev in lvs:
            k = keys[lev]
            sel = use & (k >= 0)
            contrib_out.append(_contributors(lev, k[sel], member[sel],
                                             allv["censored"].to_numpy(bool)[sel], data))
    cells = canonical(pa.concat_tables(cells_out)) if cells_out else \
        cell_table_schema().empty_table()
    contrib = (pa.Table.from_pandas(pd.concat(contrib_out, ignore_index=True),
                                    schema=CONTRIBUTOR_SCHEMA, preserve_index=False)
               if contrib_out else CONTRIBUTOR_SCHEMA.empty_table())
    return cells, _sort_contrib(contrib)


def _contributors(level: int, cells: np.ndarray, member: np.ndarray, censored: np.ndarray,
                  data: list[tuple[Member, pd.DataFrame]]) -> pd.DataFrame:
    """Samples (and censored ones) per cell and member, by one sort of a combined key."""
    n_members = len(data)
    cell_keys, cell_code = np.unique(cells.astype(np.int64), return_inverse=True)
    code = cell_code.astype(np.int64) * n_members + member
    uniq, inverse, counts = np.unique(code, return_inverse=True, return_counts=True)
    cens = np.bincount(inverse, weights=censored.astype(float), minlength=len(uniq))
    m = (uniq % n_members).astype(np.int64)
    ids = np.array([d[0].dataset_id for d in data], dtype=object)
    vers = np.array([d[0].version for d in data], dtype=np.int32)
    return pd.DataFrame({
        "level_m": np.full(len(uniq), level, dtype=np.int32),
        "cell": cell_keys[uniq // n_members],
        "dataset_id": ids[m],
        "version": vers[m],
        "n": counts.astype(np.int64),
        "n_censored": cens.astype(np.int64),
    })


def _sort_contrib(t: pa.Table) -> pa.Table:
    if t.num_rows == 0:
        return t
    return t.sort_by([("level_m", "descending"), ("cell", "ascending"),
                      ("dataset_id", "ascending")])


def _withhold(t: pa.Table, level: int, keys: np.ndarray, use: np.ndarray, member: np.ndarray,
              controlled: np.ndarray, data: list[tuple[Member, pd.DataFrame]],
              values: np.ndarray) -> pa.Table:
    """Withhold the order statistics a controlled member's samples would give away."""
    cells = t.column("cell").to_numpy()
    frame = t.to_pandas()
    withheld = {name: np.zeros(len(cells), dtype=bool)
                for name in (*_EXTREMES, *PERCENTILES.values(), "mad")}
    for i, (m, _) in enumerate(data):
        if not controlled[i]:
            continue
        rows = use & (member == i) & (keys >= 0)
        if not rows.any():
            continue
        pos = np.searchsorted(cells, keys[rows])
        pos = np.minimum(pos, len(cells) - 1)
        found = cells[pos] == keys[rows]
        pos, vals = pos[found], values[rows][found]
        present = np.bincount(pos, minlength=len(cells)) > 0
        for name in _EXTREMES:
            withheld[name] |= present
        for name in PERCENTILES.values():
            p = frame[name].to_numpy(float)
            below = np.bincount(pos, weights=(vals < p[pos]).astype(float), minlength=len(cells))
            above = np.bincount(pos, weights=(vals > p[pos]).astype(float), minlength=len(cells))
            withheld[name] |= present & ((below < m.k + 1) | (above < m.k + 1))
        # the MAD is an order statistic of the distances from the median: where fewer than
        # k + 1 of the source's distances lie below or above it, it can be one of its
        # samples' distance (public values known, the value is then the median +- the MAD)
        dev = np.abs(vals - frame["median"].to_numpy(float)[pos])
        mad = frame["mad"].to_numpy(float)[pos]
        below = np.bincount(pos, weights=(dev < mad).astype(float), minlength=len(cells))
        above = np.bincount(pos, weights=(dev > mad).astype(float), minlength=len(cells))
        withheld["mad"] |= present & ((below < m.k + 1) | (above < m.k + 1))
    withheld["mad"] |= withheld["median"]
    for name, mask in withheld.items():
        if mask.any():
            col = frame[name].to_numpy(float).copy()
            col[mask] = np.nan
            t = t.set_column(t.schema.get_field_index(name), name, pa.array(col, pa.float64()))
    return t


def _roots(g: Grid, keys: np.ndarray) -> np.ndarray:
    """The coarsest-level (root) cells of cell ``keys`` of any level."""
    keys = np.asarray(keys, dtype=np.int64)
    top = g.levels[0]
    lv = g.level_of(keys)
    out = keys.copy()
    finer = lv != top
    if finer.any():
        out[finer] = g.parent(keys[finer], level_m=top)
    return out


# ---------------------------------------------------------------------- building


def build_pooled(
    store: Store,
    sources: Iterable[PoolSource],
    *,
    scope: str = "public",
    rules: PoolingRules | None = None,
    grids: Sequence[str] = GRIDS,
    levels: Sequence[int | str] | None = None,
    force: bool = False,
    threads: int | None = None,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Build (or bring up to date) the pooled layers of ``scope`` from ``sources``.

    Parameters
    ----------
    store : Store
        Where the datasets are and the pooled layers go.
    sources : iterable of PoolSource
        The dataset versions that may enter (the caller decides: see
        :func:`chemearth.access.pooling.sources_for`).
    scope : str
        ``"public"`` or ``"org:NAME"``.
    rules : PoolingRules, optional
        Medium groups and method classes (default: the shipped rules).
    grids : sequence of str
        Grids to build on.
    levels : sequence, optional
        Levels (default: every level of the grid).
    force : bool
        Recompute every layer, changed or not.
    threads : int, optional
        Threads for the statistics.
    progress : callable, optional
        ``progress(message, done, total)`` per layer.

    Returns
    -------
    pandas.DataFrame
        One row per layer and grid: ``grid``, ``medium``, ``method``, ``element``,
        ``unit``, ``status`` (``built``, ``updated``, ``unchanged`` or ``removed``),
        ``datasets``, ``cells`` (rows stored), ``recomputed`` (rows computed now),
        ``seconds``.
    """
    rules = rules or pooling_rules()
    src_list = list(sources)
    by_id = {s.dataset_id: s for s in src_list}
    plans, excluded = plan_layers(store, src_list, rules)
    name = collection_name(scope)
    old = store.read_manifest(name) or {}
    digest = rules_digest(rules)
    reader = _Members(store, rules)
    old_layers = {(e["grid"], e["medium"], e["method"], e["element"], e["unit"]): e
                  for e in old.get("layers", [])}
    parts: dict[str, bytes | None] = {}
    entries: list[dict[str, Any]] = []
    report: list[dict[str, Any]] = []
    total = len(plans) * len(grids)
    done = 0
    for grid in grids:
        g = get_grid(grid)
        lvls = sorted((parse_level(x) for x in levels), reverse=True) if levels \
            else list(g.levels)
        for plan in plans:
            done += 1
            start = time.perf_counter()
            ident = (g.name, *plan.ident)
            stem = layer_part(g.name, *plan.ident)
            prev = old_layers.pop(ident, None)
            members = list(plan.members)
            same_setup = (prev is not None and not force and old.get("rules") == digest
                          and prev.get("levels") == lvls)
            prev_members = [Member.from_dict(d) for d in prev["members"]] if prev else []
            if same_setup and {m.key for m in prev_members} == {m.key for m in members}:
                entries.append(prev)
                report.append(_row(ident, "unchanged", prev, 0, start))
                continue
            data = [(m, reader.values(m, plan.medium)) for m in members]
            if same_setup and prev is not None:
                cells, contrib, recomputed = _update(store, name, g, lvls, plan, data,
                                                     prev, prev_members, by_id, reader, threads)
                status = "updated"
            else:
                cells, contrib = _layer_tables(g, lvls, plan, data, by_id, threads)
                recomputed, status = cells.num_rows, "built"
            if cells.num_rows == 0:
                if prev is not None:
                    parts[f"{stem}.cells"] = parts[f"{stem}.contributors"] = None
                    report.append(_row(ident, "removed", prev, 0, start))
                continue
            parts[f"{stem}.cells"] = _to_bytes(cells)
            parts[f"{stem}.contributors"] = _to_bytes(contrib)
            entry = _entry(ident, stem, lvls, members, cells, contrib)
            entries.append(entry)
            report.append(_row(ident, status, entry, recomputed, start))
            if progress:
                progress(f"{g.name} {plan.element} {plan.medium} {plan.method}", done, total)
    for ident, prev in old_layers.items():  # layers no longer made
        if ident[0] in grids:
            parts[f"{prev['part']}.cells"] = parts[f"{prev['part']}.contributors"] = None
            report.append(_row(ident, "removed", prev, 0, time.perf_counter()))
        else:
            entries.append(prev)
    manifest = {
        "scope": scope, "rules": digest, "rules_source": rules.source,
        "built_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "sources": {s.dataset_id: s.version for s in src_list},
        "layers": entries, "excluded": excluded,
    }
    store.write_parts(name, parts, manifest)
    return pd.DataFrame(report, columns=["grid", "medium", "method", "element", "unit",
                                         "status", "datasets", "cells", "recomputed",
                                         "seconds"])


def _row(ident: tuple[str, ...], status: str, entry: dict[str, Any], recomputed: int,
         start: float) -> dict[str, Any]:
    return {"grid": ident[0], "medium": ident[1], "method": ident[2], "element": ident[3],
            "unit": ident[4], "status": status, "datasets": len(entry.get("members", [])),
            "cells": int(sum(v["cells"] for v in entry.get("by_level", {}).values())),
            "recomputed": int(recomputed), "seconds": round(time.perf_counter() - start, 3)}


def _entry(ident: tuple[str, ...], stem: str, levels: Sequence[int], members: list[Member],
           cells: pa.Table, contrib: pa.Table) -> dict[str, Any]:
    lv = cells.column("level_m").to_numpy()
    n = cells.column("n").to_numpy()
    used = set(contrib.column("dataset_id").to_pylist())
    by_level = {}
    for level in levels:
        sel = lv == level
        by_level[str(level)] = {"cells": int(sel.sum()), "cells_n3": int((n[sel] >= 3).sum()),
                                "n": int(n[sel].sum())}
    return {"grid": ident[0], "medium": ident[1], "method": ident[2], "element": ident[3],
            "unit": ident[4], "part": stem, "levels": list(levels), "by_level": by_level,
            "members": [m.to_dict() for m in members if m.dataset_id in used]
            + [m.to_dict() for m in members if m.dataset_id not in used]}


def _update(store: Store, name: str, g: Grid, levels: Sequence[int], plan: LayerPlan,
            data: list[tuple[Member, pd.DataFrame]], prev: dict[str, Any],
            prev_members: list[Member], by_id: dict[str, PoolSource], reader: _Members,
            threads: int | None) -> tuple[pa.Table, pa.Table, int]:
    """Recompute the root cells the changed members touch; keep the other cells."""
    new_keys = {m.key for m, _ in data}
    old_keys = {m.key for m in prev_members}
    changed_new = [(m, f) for m, f in data if m.key not in old_keys]
    changed_old = [m for m in prev_members if m.key not in new_keys]
    touched: list[np.ndarray] = []
    for _, f in changed_new:
        touched.append(g.cell_keys(f["longitude"].to_numpy(), f["latitude"].to_numpy(),
                                   g.levels[0]))
    for m in changed_old:
        try:
            f = reader.values(m, plan.medium)
        except NotFoundError:  # the old version is gone: recompute everything
            cells, contrib = _layer_tables(g, levels, plan, data, by_id, threads)
            return cells, contrib, cells.num_rows
        touched.append(g.cell_keys(f["longitude"].to_numpy(), f["latitude"].to_numpy(),
                                   g.levels[0]))
    roots = np.unique(np.concatenate(touched)) if touched else np.empty(0, np.int64)
    roots = roots[roots >= 0]
    sub = []
    for m, f in data:
        r = g.cell_keys(f["longitude"].to_numpy(), f["latitude"].to_numpy(), g.levels[0])
        sub.append((m, f[np.isin(r, roots)].reset_index(drop=True)))
    new_cells, new_contrib = _layer_tables(g, levels, plan, sub, by_id, threads)
    old_cells = _from_bytes(_need(store.read_part(name, f"{prev['part']}.cells"), name))
    old_contrib = _from_bytes(_need(store.read_part(name, f"{prev['part']}.contributors"), name))
    keep = ~np.isin(_roots(g, old_cells.column("cell").to_numpy()), roots)
    keep_c = ~np.isin(_roots(g, old_contrib.column("cell").to_numpy()), roots)
    cells = canonical(pa.concat_tables([old_cells.filter(pa.array(keep)),
                                        new_cells.cast(old_cells.schema)]))
    contrib = _sort_contrib(pa.concat_tables([
        old_contrib.filter(pa.array(keep_c)), new_contrib.cast(old_contrib.schema)]))
    return cells, contrib, new_cells.num_rows


def _need(data: bytes | None, name: str) -> bytes:
    if data is None:
        raise GridError(f"pooled collection {name} lacks a part its manifest lists; rebuild "
                        "it with force")
    return data


# ---------------------------------------------------------------------- reading


def pooled_manifest(store: Store, scope: str = "public") -> dict[str, Any]:
    """The manifest of a scope's pooled layers (empty layers if never built)."""
    return store.read_manifest(collection_name(scope)) or {"scope": scope, "layers": [],
                                                           "excluded": []}


def pooled_layers(store: Store, scope: str = "public") -> pd.DataFrame:
    """One row per pooled layer, grid and level: ``grid``, ``medium``, ``method``,
    ``element``, ``unit``, ``level_m``, ``cells``, ``cells_n3``, ``n``, ``datasets``."""
    rows = []
    for e in pooled_manifest(store, scope)["layers"]:
        for level, v in e["by_level"].items():
            rows.append({"grid": e["grid"], "medium": e["medium"], "method": e["method"],
                         "element": e["element"], "unit": e["unit"], "level_m": int(level),
                         "cells": v["cells"], "cells_n3": v["cells_n3"], "n": v["n"],
                         "datasets": len(e["members"])})
    return pd.DataFrame(rows, columns=["grid", "medium", "method", "element", "unit",
                                       "level_m", "cells", "cells_n3", "n", "datasets"])


def _find(store: Store, scope: str, element: str, grid: str, medium: str | None,
          method: str | None) -> dict[str, Any]:
    layers = [e for e in pooled_manifest(store, scope)["layers"]
              if e["element"] == element and e["grid"] == grid
              and (medium is None or e["medium"] == medium)
              and (method is None or e["method"] == method)]
    if not layers:
        raise NotFoundError(
            f"no pooled {grid} layer of {element!r}"
            + (f" in {medium!r}" if medium else "") + (f" by {method!r}" if method else "")
            + f" in scope {scope!r} (has `chemearth global build` been run?)")
    if len(layers) > 1:
        listed = "; ".join(f"medium={e['medium']} method={e['method']} unit={e['unit']}"
                           for e in layers)
        raise NotFoundError(f"{element!r} has {len(layers)} pooled layers, choose one: {listed}")
    return dict(layers[0])


def pooled_cells(store: Store, element: str, *, scope: str = "public", grid: str = "global",
                 level: int | str | None = None, medium: str | None = None,
                 method: str | None = None) -> pd.DataFrame:
    """The cells of one pooled layer (all levels, or ``level``), with ``attrs`` naming it.

    Columns as a stored cell table (:func:`chemearth.grid.tables.cell_table_schema`).
    """
    e = _find(store, scope, element, grid, medium, method)
    t = _from_bytes(_need(store.read_part(collection_name(scope), f"{e['part']}.cells"),
                          collection_name(scope)))
    if level is not None:
        lev = parse_level(level)
        t = t.filter(pc.equal(t.column("level_m"), lev))
    frame = t.to_pandas()
    for col in ("grid", "medium", "element", "method", "unit"):
        frame[col] = frame[col].astype(str)
    frame.attrs.update({k: e[k] for k in ("grid", "medium", "method", "element", "unit")},
                       scope=scope, dataset_id=f"pooled:{scope}",
                       datasets=[m["dataset_id"] for m in e["members"]])
    return pd.DataFrame(frame)


def pooled_contributors(store: Store, element: str, *, scope: str = "public",
                        grid: str = "global", level: int | str | None = None,
                        medium: str | None = None, method: str | None = None,
                        cells: Sequence[int] | None = None) -> pd.DataFrame:
    """Contributors of the cells of one pooled layer: ``level_m``, ``cell``,
    ``dataset_id``, ``version``, ``n``, ``n_censored``."""
    e = _find(store, scope, element, grid, medium, method)
    t = _from_bytes(_need(store.read_part(collection_name(scope),
                                          f"{e['part']}.contributors"),
                          collection_name(scope))).to_pandas()
    if level is not None:
        t = t[t["level_m"] == parse_level(level)]
    if cells is not None:
        t = t[t["cell"].isin(np.asarray(cells, dtype=np.int64))]
    return pd.DataFrame(t.reset_index(drop=True))


def pooled_samples(store: Store, element: str, *, scope: str = "public",
                   grid: str = "global", level: int | str | None = None,
                   medium: str | None = None, method: str | None = None,
                   full_only: bool = False) -> pd.DataFrame:
    """The samples of one pooled layer, as one frame.

    Columns: ``dataset_id``, ``version``, ``sample_id``, ``longitude``, ``latitude``,
    ``country``, ``value`` (censored values at their detection limit), ``censored`` and,
    with ``level``, ``cell`` (key at that level, -1 off the grid); ``attrs`` name the
    layer. ``full_only`` leaves out the members under disclosure control (their samples
    may never leave the platform as such).
    """
    e = _find(store, scope, element, grid, medium, method)
    source = pooled_manifest(store, scope).get("rules_source")
    rules = pooling_rules(source) if source else pooling_rules()
    reader = _Members(store, rules)
    frames = []
    for d in e["members"]:
        m = Member.from_dict(d)
        if full_only and m.k > 1:
            continue
        f = reader.values(m, e["medium"])
        frames.append(f.assign(dataset_id=m.dataset_id, version=m.version))
    cols = ["dataset_id", "version", "sample_id", "longitude", "latitude", "country",
            "value", "censored"]
    out = (pd.concat(frames, ignore_index=True)[cols] if frames
           else pd.DataFrame(columns=cols))
    if level is not None:
        g = get_grid(grid)
        out["cell"] = g.cell_keys(out["longitude"].to_numpy(float),
                                  out["latitude"].to_numpy(float), parse_level(level))
    out.attrs.update({k: e[k] for k in ("grid", "medium", "method", "element", "unit")},
                     scope=scope)
    return out
