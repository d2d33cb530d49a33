"""Layer views: the published cells of one layer for one actor, with classes and tile index.

:class:`LayerView` is a dataset's layer; :class:`PooledView` a pooled layer
(:mod:`chemearth.access.pooling`), whose cell records also list the contributing
datasets with their samples and citations.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from chemearth.grid.aggregate import STATISTICS
from chemearth.grid.geometry import Grid
from chemearth.jsonable import finite

__all__ = ["LayerView", "PooledView"]


@dataclass
class LayerView:
    """One published layer: the cells an actor may see, their classes and tile index."""

    dataset_id: str
    version: int
    element: str
    medium: str
    method: str
    unit: str
    grid: Grid
    level_m: int
    stat: str
    min_n: int
    cells: pd.DataFrame
    citation: str
    licence: str
    title: str
    colours: list[str] = field(default_factory=list)
    legend: dict[str, Any] = field(default_factory=dict)
    index: Any = None
    _row_of: dict[int, int] = field(default_factory=dict)
    _records: list[dict[str, Any]] = field(default_factory=list)

    @property
    def key(self) -> tuple[Hashable, ...]:
        """What identifies the view (for caches and ETags)."""
        return (
            self.dataset_id, self.version, self.element, self.medium, self.method,
            self.grid.name, self.level_m, self.stat, self.min_n,
        )

    @property
    def level(self) -> str:
        """The level as a label (``10km``)."""
        return self.grid.level_label(self.level_m)

    def query(self) -> dict[str, str]:
        """The query parameters that name this view."""
        return {
            "medium": self.medium,
            "method": self.method,
            "grid": self.grid.name,
            "level": self.level,
            "stat": self.stat,
        }

    @property
    def records_ready(self) -> bool:
        """Whether :meth:`cell_record` answers without first making the JSON-ready rows
        of the whole layer (they are made by its first call)."""
        return bool(self._records) or self.cells.empty

    def cell_record(self, key: int) -> dict[str, Any] | None:
        """Statistics of the published cell ``key`` (None if not published)."""
        i = self._row_of.get(int(key))
        if i is None:
            return None
        if not self._records:  # JSON-ready rows, made once
            self._records = [self._record({str(k): v for k, v in r.items()})
                             for r in self.cells.to_dict("records")]
        return dict(self._records[i])

    def _record(self, row: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "cell_id": str(row["cell_id"]),
            "level": self.level,
            "level_m": self.level_m,
            "grid": self.grid.name,
            "unit": self.unit,
            "dataset": self.dataset_id,
            "element": self.element,
            "medium": self.medium,
            "method": self.method,
        }
        for name in STATISTICS:
            v = row[name]
            out[name] = int(v) if name in ("n", "n_censored") else finite(v)
        return out


@dataclass
class PooledView(LayerView):
    """A pooled layer's view: cell records list their contributors (dataset, title,
    citation, samples) and say that the statistics pool several surveys."""

    contributors: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    members: list[str] = field(default_factory=list)

    def cell_record(self, key: int) -> dict[str, Any] | None:
        rec = super().cell_record(key)
        if rec is None:
            return None
        rec["pooled"] = True
        rec["contributors"] = [dict(c) for c in self.contributors.get(int(key), [])]
        return rec

    @classmethod
    def make(cls, gateway: Any, manifest: dict[str, Any], entry: dict[str, Any], g: Grid,
             level_m: int, stat: str) -> PooledView:
        """Build the view of one pooled layer entry of ``manifest`` at ``level_m``."""
        from chemearth.grid.pooled import pooled_cells, pooled_contributors
        from chemearth.render.layer_index import LayerIndex
        from chemearth.stats.classes import classify, legend

        scope = str(manifest["scope"])
        which = {"scope": scope, "grid": g.name, "level": level_m, "medium": entry["medium"],
                 "method": entry["method"]}
        frame = pooled_cells(gateway.store, entry["element"], **which)
        frame = frame[frame[stat].notna()].reset_index(drop=True)
        contrib = pooled_contributors(gateway.store, entry["element"], **which)
        records = gateway.snapshot().records
        members = [m["dataset_id"] for m in entry["members"]]
        by_cell: dict[int, list[dict[str, Any]]] = {}
        for r in contrib.to_dict("records"):
            rec = records.get(str(r["dataset_id"]), {})
            by_cell.setdefault(int(r["cell"]), []).append({
                "dataset": str(r["dataset_id"]), "version": int(r["version"]),
                "n": int(r["n"]), "n_censored": int(r["n_censored"]),
                "title": str(rec.get("title", "")), "citation": str(rec.get("citation", "")),
                "licence": str(rec.get("licence", ""))})
        values = frame[stat].to_numpy(dtype=float)
        classes = legend(values, str(entry["unit"]), str(stat))
        citation = "Pooled from " + "; ".join(
            str(records.get(d, {}).get("citation") or d) for d in members)
        view = cls(
            dataset_id=f"pooled:{scope}", version=0, element=str(entry["element"]),
            medium=str(entry["medium"]), method=str(entry["method"]), unit=str(entry["unit"]),
            grid=g, level_m=int(level_m), stat=stat, min_n=1, cells=frame, citation=citation,
            licence="the licences of the contributing datasets",
            title="All surveys" if scope == "public" else f"All surveys ({scope})",
            colours=list(classes.colours), contributors=by_cell, members=members,
        )
        lg = classes.to_dict()
        lg.update(level=view.level, level_m=view.level_m, n_cells=len(frame),
                  element=view.element, dataset=view.dataset_id, pooled=True,
                  datasets=members)
        view.legend = lg
        keys = frame["cell"].to_numpy(dtype=np.int64)
        view.index = LayerIndex.from_cells(g, view.level_m, keys,
                                           classify(values, np.asarray(classes.breaks, float)))
        view._row_of = {int(k): i for i, k in enumerate(keys)}
        return view
