"""Screening, change, anomalies and blocks as an actor may see them.

:class:`Assessor` wraps a :class:`~chemearth.access.gateway.Gateway` and applies the same sharing
rules as every other door (:mod:`chemearth.access.policy`):

* a restricted dataset answers as a dataset that does not exist;
* an embargoed element answers as an element the dataset does not hold, and is left out
  of every list (screening summaries, enrichment tables, target associations);
* an aggregated-only dataset gives no per-sample result: screening per sample is refused,
  cells and regions of fewer than k samples are dropped before anything is computed from
  them, and anomaly targets and blocks are drawn from published cells only, their peak
  given as the cell (centre and median), never as a sample.

Results are memoised per catalogue snapshot, request and what the actor may see, so map
tiles of an assessment layer are rendered from one computation.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from chemearth.access.gateway import Gateway
from chemearth.access.policy import Actor, Policy
from chemearth.assess.anomalies import Surface, as_geojson, surface, targets, threshold_of
from chemearth.assess.blocks import (
    DEFAULT_DENSITY_T_M3,
    DEFAULT_DEPTH_M,
    calibrate,
    delineate,
    doubling_thresholds,
    predict,
)
from chemearth.assess.change import change_by_cell, enrichment
from chemearth.assess.screening import Screening, screen
from chemearth.errors import AccessDenied, NotFoundError
from chemearth.jsonable import records
from chemearth.reference.standards import Standard, available_standards, get_standard
from chemearth.stats.classes import NO_CLASS
from chemearth.store.selectors import element_values

__all__ = ["CHANGE_CLASSES", "SCREEN_COLOURS", "Assessor"]

#: Colours of the classes of a standard (2–4 classes: low to high risk).
SCREEN_COLOURS = {2: ["#1a9850", "#d73027"], 3: ["#1a9850", "#fee08b", "#d73027"],
                  4: ["#1a9850", "#fee08b", "#fc8d59", "#d73027"]}
#: Classes of a change layer and their colours.
CHANGE_CLASSES = (("decrease", "#2166ac"), ("no significant change", "#d9d9d9"),
                  ("increase", "#b2182b"))


class Assessor:
    """The assessment tools behind the access rules (the web layer's only way to them)."""

    def __init__(self, gateway: Gateway) -> None:
        self.gw = gateway
        self.store = gateway.store

    # ------------------------------------------------------------------ helpers

    def _visible_element(self, actor: Actor, pol: Policy, dataset_id: str, element: str) -> None:
        """An embargoed element raises exactly what an element never analysed raises."""
        if not pol.element_visible(actor, element):
            raise NotFoundError(f"dataset {dataset_id!r} holds no analyses of {element!r}")

    def _key(self, actor: Actor, *parts: Hashable) -> tuple[Hashable, ...]:
        return ("assess", self.gw.sight(actor), *parts)

    def standards(self) -> list[dict[str, Any]]:
        """Every standard (public: no data)."""
        home = getattr(self.store, "home", None)
        return [s.to_dict() for s in available_standards(home).values()]

    def standard(self, standard_id: str) -> Standard:
        """One standard by id (shipped or in ``<home>/standards``; never a path here)."""
        if not standard_id.replace("-", "").isalnum():
            raise NotFoundError(f"no standard {standard_id!r}")
        return get_standard(standard_id, getattr(self.store, "home", None))

    # ------------------------------------------------------------------ screening

    def _screening(self, actor: Actor, dataset_id: str, std: Standard,
                   land_use: str | None) -> Screening:
        pol = self.gw.policy(actor, dataset_id)
        wanted = [e for e in std.elements if "(" not in e and pol.element_visible(actor, e)]

        def make() -> Screening:
            return screen(self.store, dataset_id, std, land_use=land_use, elements=wanted)

        return self.gw.memo(self._key(actor, "screen", dataset_id, std.id, std.source,  # type: ignore[no-any-return]
                                       land_use), make)

    def screening(self, actor: Actor, dataset_id: str, standard_id: str, *,
                  land_use: str | None = None, by: str = "all", grid: str = "global",
                  level: str = "10km", elements: Sequence[str] | None = None) -> dict[str, Any]:
        """Screening rows (``by``: sample, cell, country or all) and the notes."""
        pol = self.gw.policy(actor, dataset_id)
        if by == "sample" and not pol.samples_visible(actor):
            raise AccessDenied(
                f"the sample data of dataset {dataset_id!r} are shared as grid layers only")
        std = self.standard(standard_id)
        s = self._screening(actor, dataset_id, std, land_use)
        min_n = pol.min_cell_n(actor)
        if by == "sample":
            rows = s.samples
        elif by == "cell":
            rows = s.by_cell(grid, level)
            rows = rows[rows["n"] >= min_n]
        elif by in ("country", "all"):
            rows = s.by_region(by)
            rows = rows[rows["n"] >= min_n]
        else:
            raise NotFoundError(f"screening by {by!r}: use sample, cell, country or all")
        if elements:
            rows = rows[rows["element"].astype(str).isin(list(elements))]
        rows = rows.drop(columns=[c for c in ("sample_index",) if c in rows.columns])
        rows = rows.assign(dataset=dataset_id)
        return {"dataset": dataset_id, "standard": std.id, "citation": std.citation,
                "land_use": s.land_use, "by": by, "notes": s.notes, "rows": records(rows)}

    def screening_cells(self, actor: Actor, dataset_id: str, element: str, standard_id: str,
                        *, land_use: str | None, grid: str, level: str) -> tuple[
                            pd.DataFrame, Standard]:
        """Published cells of one element's screening (for tiles): ``cell``, ``worst_class``."""
        pol = self.gw.policy(actor, dataset_id)
        self._visible_element(actor, pol, dataset_id, element)
        std = self.standard(standard_id)
        s = self._screening(actor, dataset_id, std, land_use)
        cells = s.by_cell(grid, level)
        cells = cells[(cells["element"].astype(str) == element)
                      & (cells["n"] >= pol.min_cell_n(actor))]
        if cells.empty:
            raise NotFoundError(f"dataset {dataset_id!r} holds no analyses of {element!r}")
        return cells, std

    # ------------------------------------------------------------------ change

    def change(self, actor: Actor, before: str, after: str, element: str, *,
               grid: str = "global", level: str = "20km", pairing: str = "auto",
               alpha: float = 0.05) -> pd.DataFrame:
        """Per-cell change of ``element``, on cells published in both campaigns."""
        pb, pa = self.gw.policy(actor, before), self.gw.policy(actor, after)
        self._visible_element(actor, pb, before, element)
        self._visible_element(actor, pa, after, element)
        min_n = max(3, pb.min_cell_n(actor), pa.min_cell_n(actor))

        def make() -> pd.DataFrame:
            out = change_by_cell(self.store, before, after, element, grid=grid, level=level,
                                 pairing=pairing, alpha=alpha, min_n=min_n)
            return out.assign(dataset=before)

        return self.gw.memo(self._key(actor, "change", before, after, element, grid, level,  # type: ignore[no-any-return]
                                       pairing, alpha), make)

    def enrichment(self, actor: Actor, upper: str, lower: str,
                   elements: Sequence[str] | None = None) -> pd.DataFrame:
        """Enrichment ratios of the elements both datasets show ``actor``."""
        # per-element statistics over every shared site: no sample value or place leaves
        pu, pl = self.gw.policy(actor, upper), self.gw.policy(actor, lower)
        cu = set(self.store.measurement_columns(upper)["element"])
        cl = set(self.store.measurement_columns(lower)["element"])
        shown = sorted(e for e in cu & cl
                       if pu.element_visible(actor, e) and pl.element_visible(actor, e))
        if elements:
            shown = [e for e in shown if e in set(elements)]
        if not shown:
            raise NotFoundError(f"datasets {upper!r} and {lower!r} share none of the elements")
        table = enrichment(self.store, upper, lower, shown)
        return table[table["n_pairs"] >= 3].assign(dataset=upper)

    # ------------------------------------------------------------------ anomalies, blocks

    def _surface(self, actor: Actor, dataset_id: str, element: str, grid: str | None,
                 level: str | None) -> tuple[Surface, pd.DataFrame]:
        """The element's surface from published cells, and the values it was drawn from."""
        pol = self.gw.policy(actor, dataset_id)
        self._visible_element(actor, pol, dataset_id, element)
        m, method = element_values(self.store, dataset_id, element)
        surf = surface(m, variable=element, grid=grid, level=level, method=method,
                       min_n=pol.min_cell_n(actor))
        if not pol.samples_visible(actor):  # peaks are cells, never samples
            lon, lat = surf.grid.cell_centres(surf.cells["cell"].to_numpy())
            surf.samples = pd.DataFrame({
                "sample_id": surf.cells["cell_id"], "longitude": lon, "latitude": lat,
                "value": surf.cells["value"], "censored": False, "cell": surf.cells["cell"],
            })
        return surf, m

    def anomalies(self, actor: Actor, dataset_id: str, element: str, *,
                  threshold: str = "tukey", grid: str | None = None, level: str | None = None,
                  associated: Sequence[str] = ()) -> dict[str, Any]:
        """Ranked anomaly targets of ``element`` as GeoJSON."""
        pol = self.gw.policy(actor, dataset_id)
        surf, m = self._surface(actor, dataset_id, element, grid, level)
        thr = threshold_of(m["value"].to_numpy(), m["censored"].to_numpy(), method=threshold)
        others = {}
        for other in associated:
            if other == element or not pol.element_visible(actor, other):
                continue
            try:
                s2, m2 = self._surface(actor, dataset_id, other, surf.grid.name,
                                       str(surf.level_m))
            except NotFoundError:
                continue
            others[other] = (s2, threshold_of(m2["value"].to_numpy(),
                                              m2["censored"].to_numpy(), method=threshold))
        t = targets(surf, thr, associated=others)
        if not pol.samples_visible(actor):
            t = t.rename(columns={"peak_sample_id": "peak_cell_id"})
        doc = as_geojson(t.assign(dataset=dataset_id, element=element))
        doc.update(dataset=dataset_id, element=element, threshold=thr, threshold_method=threshold,
                   unit=surf.unit, grid=surf.grid.name, level_m=surf.level_m,
                   method=surf.method)
        return doc

    def blocks(self, actor: Actor, dataset_id: str, element: str, *,
               thresholds: Sequence[float] | None = None, start: str = "p85",
               depth_m: float = DEFAULT_DEPTH_M, density_t_m3: float = DEFAULT_DENSITY_T_M3,
               grid: str | None = None, level: str | None = None,
               known_block: str | None = None, known_at: tuple[float, float] | None = None,
               known_resource_t: float | None = None) -> dict[str, Any]:
        """Nested geochemical blocks of ``element`` as GeoJSON, with their assumptions."""
        surf, _ = self._surface(actor, dataset_id, element, grid, level)
        ts = list(thresholds) if thresholds else doubling_thresholds(surf, start)
        b = delineate(surf, ts, depth_m=depth_m, density_t_m3=density_t_m3)
        if known_resource_t is not None:
            bid, k = calibrate(b, known_resource_t, block_id=known_block, at=known_at)
            b = predict(b, k, calibrated_on=bid)
        doc = as_geojson(b.table.assign(dataset=dataset_id, element=element))
        doc.update(dataset=dataset_id, element=element, assumptions=b.assumptions,
                   unit=surf.unit)
        return doc

    # ------------------------------------------------------------------ map layers

    def layer(self, actor: Actor, kind: str, dataset_id: str, element: str,
              **params: Any) -> tuple[Any, list[str], list[str]]:
        """A tile index of an assessment layer, its colours and class names."""
        from chemearth.grid.geometry import get_grid
        from chemearth.grid.levels import parse_level
        from chemearth.render.layer_index import LayerIndex

        grid = params.get("grid") or "global"
        level = params.get("level") or ("10km" if kind == "screening" else "20km")
        key = self._key(actor, "layer", kind, dataset_id, element,
                        tuple(sorted(params.items())))

        def make() -> tuple[Any, list[str], list[str]]:
            if kind == "screening":
                cells, std = self.screening_cells(
                    actor, dataset_id, element, params.get("standard") or "gb15618-2018",
                    land_use=params.get("land_use"), grid=grid, level=level)
                classes = cells["worst_class"].to_numpy(np.int64)
                classes = np.where(classes < 0, NO_CLASS, classes).astype(np.uint8)
                names, colours = list(std.classes), SCREEN_COLOURS.get(len(std.classes), [])
                keys = cells["cell"].to_numpy(np.int64)
            elif kind == "change":
                against = params.get("against") or dataset_id
                c = self.change(actor, dataset_id, against, element, grid=grid, level=level)
                order = [name for name, _ in CHANGE_CLASSES]
                classes = c["direction"].map(order.index).to_numpy(np.uint8)
                names, colours = order, [col for _, col in CHANGE_CLASSES]
                keys = c["cell"].to_numpy(np.int64)
            else:
                raise NotFoundError(f"no assessment layer {kind!r}")
            index = LayerIndex.from_cells(get_grid(grid), parse_level(level), keys, classes)
            return index, colours, names

        return self.gw.memo(key, make)  # type: ignore[no-any-return]
