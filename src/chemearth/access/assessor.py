"""Screening, change, anomalies and blocks as an actor may see them.

:class:`Assessor` wraps a :class:`~chemearth.access.gateway.Gateway` and applies the same sharing
rules as every other door (:mod:`chemearth.access.policy`):

* a restricted dataset answers as a dataset that does not exist;
* an embargoed element answers as an element the dataset does not hold, and is left out
  of every list (screening summaries, enrichment tables, target associations);
* an aggregated-only dataset gives no per-sample result: screening per sample and per
  country is refused, only cells that pass disclosure control
  (:mod:`chemearth.access.disclosure`) are used, dataset-wide figures only where the
  layer's statistics are published, and anomaly targets and blocks are drawn from
  published cells whose median may be published, their peak given as the cell (centre
  and median), never as a sample.

Results are memoised per catalogue snapshot, request and what the actor may see, so map
tiles of an assessment layer are rendered from one computation.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from chemearth.access.disclosure import CONTROLLED_GRID
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
from chemearth.jsonable import finite, records
from chemearth.reference.standards import Standard, available_standards, get_standard
from chemearth.stats.classes import NO_CLASS
from chemearth.store.selectors import element_values

__all__ = ["CHANGE_CLASSES", "CHANGE_CLASSES_ZH", "SCREEN_COLOURS", "Assessor"]

#: Colours of the classes of a standard (2–4 classes: low to high risk).
SCREEN_COLOURS = {2: ["#1a9850", "#d73027"], 3: ["#1a9850", "#fee08b", "#d73027"],
                  4: ["#1a9850", "#fee08b", "#fc8d59", "#d73027"]}
#: Classes of a change layer and their colours.
CHANGE_CLASSES = (("decrease", "#2166ac"), ("no significant change", "#d9d9d9"),
                  ("increase", "#b2182b"))
#: The names of the change classes in Chinese.
CHANGE_CLASSES_ZH = {"decrease": "显著减少", "no significant change": "无显著变化",
                     "increase": "显著增加"}


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

    def _published(self, actor: Actor, pol: Policy, dataset_id: str, element: str,
                   samples: pd.DataFrame, grid: str, level_m: int | None,
                   cells: np.ndarray | None = None) -> np.ndarray | bool:
        """Which ``cells`` (of ``level_m``) pass disclosure control for ``actor``; with
        ``cells`` None, whether the element's dataset-wide figures are published.

        ``samples`` are the analyses the result was computed from (their media and
        methods name the layers). True everywhere for actors with full access.
        """
        if not pol.disclosure_controlled(actor):
            return True if cells is None else np.ones(len(cells), dtype=bool)
        mine = samples[samples["element"].astype(str) == element] if "element" in samples \
            else samples
        layers = mine[["medium", "method"]].fillna("").astype(str).drop_duplicates()
        pubs = [self.gw.publication(dataset_id, element, r["medium"], r["method"],
                                    pol.min_cell_n(actor))
                for r in layers.to_dict("records")]
        if cells is None:
            return bool(pubs) and all(p.root for p in pubs)
        if grid != CONTROLLED_GRID or level_m is None:
            return np.zeros(len(cells), dtype=bool)
        ok = np.ones(len(cells), dtype=bool) if pubs else np.zeros(len(cells), dtype=bool)
        for p in pubs:
            ok &= p.published(level_m, cells)
        return ok

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
        if by == "country" and pol.disclosure_controlled(actor):
            raise AccessDenied(
                f"dataset {dataset_id!r} is shared as grid layers only; per-country figures "
                "would cut its published cells at borders and are for full access only")
        std = self.standard(standard_id)
        s = self._screening(actor, dataset_id, std, land_use)
        min_n = pol.min_cell_n(actor)
        if by == "sample":
            rows = s.samples
        elif by == "cell":
            rows = s.by_cell(grid, level)
            rows = rows[rows["n"] >= min_n]
            rows = self._published_rows(actor, pol, dataset_id, s, rows, grid)
        elif by in ("country", "all"):
            rows = s.by_region(by)
            rows = rows[rows["n"] >= min_n]
            keep = [bool(self._published(actor, pol, dataset_id, str(e), s.samples, grid, None))
                    for e in rows["element"]]
            rows = rows[np.array(keep, dtype=bool)] if len(rows) else rows
        else:
            raise NotFoundError(f"screening by {by!r}: use sample, cell, country or all")
        if elements:
            rows = rows[rows["element"].astype(str).isin(list(elements))]
        rows = rows.drop(columns=[c for c in ("sample_index",) if c in rows.columns])
        rows = rows.assign(dataset=dataset_id)
        return {"dataset": dataset_id, "standard": std.id, "citation": std.citation,
                "citation_zh": std.citation_zh, "land_use": s.land_use, "by": by,
                "notes": s.notes, "notes_zh": s.notes_zh, "rows": records(rows)}

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
        cells = self._published_rows(actor, pol, dataset_id, s, cells, grid)
        if cells.empty:
            raise NotFoundError(f"dataset {dataset_id!r} holds no analyses of {element!r}")
        return cells, std

    def screening_cell(self, actor: Actor, dataset_id: str, element: str, standard_id: str,
                       *, lon: float, lat: float, land_use: str | None = None,
                       grid: str = "global", level: str = "10km") -> dict[str, Any]:
        """The screening of the published cell under a point: its class, the limits and
        the exceedance (counts above each limit; for readers of the samples also the
        cell's own limits, which follow its samples' pH, and its highest ratio to them).

        Readers under disclosure control get the counts of the published cell and the
        standard's limits for the element, nothing drawn from one sample.
        """
        from chemearth.grid.geometry import get_grid
        from chemearth.grid.levels import parse_level

        cells, std = self.screening_cells(actor, dataset_id, element, standard_id,
                                          land_use=land_use, grid=grid, level=level)
        g, level_m = get_grid(grid), parse_level(level)
        key = int(g.cell_keys(np.array([lon], float), np.array([lat], float), level_m)[0])
        found = cells[cells["cell"].to_numpy(np.int64) == key]
        if found.empty:
            raise NotFoundError(f"no screened {g.level_label(level_m)} cell of {element!r} "
                                f"in dataset {dataset_id!r} at this point")
        row = found.iloc[0]
        s = self._screening(actor, dataset_id, std, land_use)
        mine = None
        if self.gw.policy(actor, dataset_id).samples_visible(actor):
            smp = s.samples[s.samples["element"].astype(str) == element]
            at = g.cell_keys(smp["longitude"].to_numpy(float), smp["latitude"].to_numpy(float),
                             level_m)
            mine = smp[at == key]
        levels = []
        for lv in std.levels:
            entry: dict[str, Any] = {"level": lv, "n_above": int(row[f"n_above_{lv}"]),
                                     "pct_above": finite(row[f"pct_above_{lv}"])}
            entry.update(_cell_limits(mine, lv) if mine is not None and len(mine) else
                         _standard_limits(std.row(element, lv, s.land_use)))
            levels.append(entry)
        worst = int(row["worst_class"])
        names_zh = std.classes_zh or std.classes
        colours = SCREEN_COLOURS.get(len(std.classes), [None] * len(std.classes))
        return {
            "dataset": dataset_id, "element": element, "standard": std.id,
            "land_use": s.land_use, "unit": "mg/kg", "grid": g.name,
            "level": g.level_label(level_m), "cell_id": str(row["cell_id"]), "n": int(row["n"]),
            "n_indeterminate": int(row["n_indeterminate"]), "ph_assumed": int(row["ph_assumed"]),
            "basis_flag": None if pd.isna(row["basis_flag"]) else str(row["basis_flag"]),
            "class": None if worst < 0 else {"index": worst, "name": std.classes[worst],
                                             "name_zh": names_zh[worst],
                                             "colour": colours[worst]},
            "classes": [{"name": n, "name_zh": names_zh[i], "colour": colours[i],
                         "count": int(row[f"n_{_slug(n)}"])}
                        for i, n in enumerate(std.classes)],
            "levels": levels,
        }

    def standard_limits(self, standard_id: str, element: str,
                        land_use: str | None = None) -> dict[str, Any]:
        """One element's limits in a standard, per level and pH band (mg/kg; public)."""
        std = self.standard(standard_id)
        lu = std.land_use_or_default(land_use)
        bands = [b.label for b in std.ph_bands] or ["any pH"]
        return {"element": element, "land_use": lu, "ph_bands": bands, "unit": "mg/kg",
                "limits": [{"level": lv, "values": [finite(v) for v in
                                                    std.row(element, lv, lu)[:len(bands)]]}
                           for lv in std.levels]}

    def _published_rows(self, actor: Actor, pol: Policy, dataset_id: str, s: Screening,
                        rows: pd.DataFrame, grid: str) -> pd.DataFrame:
        """Screening rows per cell, only of cells that pass disclosure control."""
        if not pol.disclosure_controlled(actor) or rows.empty:
            return rows
        keep = np.zeros(len(rows), dtype=bool)
        groups: dict[Any, Any] = dict(rows.groupby(["element", "level_m"]).indices)
        for (element, level_m), idx in groups.items():
            cells = rows["cell"].to_numpy(np.int64)[idx]
            keep[idx] = self._published(actor, pol, dataset_id, str(element), s.samples,
                                        grid, int(level_m), cells)
        return rows[keep]

    # ------------------------------------------------------------------ change

    def change(self, actor: Actor, before: str, after: str, element: str, *,
               grid: str = "global", level: str = "20km", pairing: str = "auto",
               alpha: float = 0.05, max_distance_m: float | None = None) -> pd.DataFrame:
        """Per-cell change of ``element``, on cells published in both campaigns.

        Pairing re-sampled sites needs the samples of both datasets: where ``actor`` may
        not see those of one, ``pairing="sites"`` is refused and ``"auto"`` compares the
        campaigns as independent samples (docs/assessment.md, *Access rules*).
        """
        from chemearth.assess.pairing import DEFAULT_MAX_DISTANCE_M

        pb, pa = self.gw.policy(actor, before), self.gw.policy(actor, after)
        self._visible_element(actor, pb, before, element)
        self._visible_element(actor, pa, after, element)
        hidden = [ds for ds, p in ((before, pb), (after, pa)) if not p.samples_visible(actor)]
        if hidden and pairing == "sites":
            raise AccessDenied(
                f"paired change pairs the samples of {before!r} and {after!r}, but the "
                f"samples of dataset {hidden[0]!r} are shared as grid layers only: compare "
                "the campaigns cell by cell with pairing=independent")
        if hidden:
            pairing = "independent"
        distance = max_distance_m or DEFAULT_MAX_DISTANCE_M
        min_n = max(3, pb.min_cell_n(actor), pa.min_cell_n(actor))

        def make() -> pd.DataFrame:
            out = change_by_cell(self.store, before, after, element, grid=grid, level=level,
                                 pairing=pairing, alpha=alpha, min_n=min_n,
                                 max_distance_m=distance)
            return out.assign(dataset=before)

        out: pd.DataFrame = self.gw.memo(self._key(actor, "change", before, after, element,
                                                   grid, level, pairing, alpha, distance), make)
        controlled = [(ds, p, n_col) for ds, p, n_col in ((before, pb, "n_before"),
                                                          (after, pa, "n_after"))
                      if p.disclosure_controlled(actor)]
        return self._controlled_change(actor, out, controlled, element, grid, level) \
            if controlled else out

    def _controlled_change(self, actor: Actor, out: pd.DataFrame,
                           controlled: list[tuple[str, Policy, str]], element: str, grid: str,
                           level: str) -> pd.DataFrame:
        """Change rows an actor under disclosure control may see: cells published in each
        aggregated campaign whose medians may be published, without significance.

        A rank test or a bootstrap interval against a campaign the attacker made (values
        at a chosen threshold) would count the hidden values below it, so p, q, the
        interval and the direction are left out; the medians and their difference stay.
        """
        from chemearth.grid.levels import parse_level

        level_m = parse_level(level)
        keys = out["cell"].to_numpy(np.int64)
        keep = np.ones(len(out), dtype=bool)
        for ds, pol, n_col in controlled:
            m, _ = element_values(self.store, ds, element)
            keep &= np.asarray(self._published(actor, pol, ds, element, m, grid, level_m,
                                               keys))
            keep &= out[n_col].to_numpy() >= 2 * pol.min_cell_n(actor) + 1
        shown = out[keep].copy()
        for col in ("ci_low", "ci_high", "p_value", "q_value"):
            if col in shown:
                shown[col] = np.nan
        shown["test"] = "none: significance needs the samples of an aggregated dataset"
        shown["direction"] = None
        return shown

    def enrichment(self, actor: Actor, upper: str, lower: str,
                   elements: Sequence[str] | None = None, *,
                   max_distance_m: float | None = None) -> pd.DataFrame:
        """Enrichment ratios of the elements both datasets show ``actor``.

        Ratios are made of pairs of samples, so they need the samples of both datasets:
        where ``actor`` may not see those of one (aggregated-only), the request is refused,
        whatever the pairing rule (docs/assessment.md, *Access rules*).
        """
        from chemearth.assess.pairing import DEFAULT_MAX_DISTANCE_M

        pu, pl = self.gw.policy(actor, upper), self.gw.policy(actor, lower)
        hidden = [ds for ds, p in ((upper, pu), (lower, pl)) if not p.samples_visible(actor)]
        if hidden:
            # a ratio's percentiles over pairs with a known side are the other side's values
            raise AccessDenied(
                f"enrichment ratios pair the samples of {upper!r} and {lower!r}, but the "
                f"samples of dataset {hidden[0]!r} are shared as grid layers only")
        cu = set(self.store.measurement_columns(upper)["element"])
        cl = set(self.store.measurement_columns(lower)["element"])
        shown = sorted(e for e in cu & cl
                       if pu.element_visible(actor, e) and pl.element_visible(actor, e))
        if elements:
            shown = [e for e in shown if e in set(elements)]
        if not shown:
            raise NotFoundError(f"datasets {upper!r} and {lower!r} share none of the elements")
        table = enrichment(self.store, upper, lower, shown,
                           max_distance_m=max_distance_m or DEFAULT_MAX_DISTANCE_M)
        shown_rows = table[table["n_pairs"] >= 3]
        if shown_rows.empty:  # pairs, but too few for any element: an error, not []
            from chemearth.assess.pairing import PairingError

            raise PairingError(
                f"datasets {upper!r} and {lower!r}: no element has 3 or more pairs of "
                f"analyses ({int(table['n_pairs'].max()) if len(table) else 0} at most)")
        return shown_rows.assign(dataset=upper)

    # ------------------------------------------------------------------ anomalies, blocks

    def _surface(self, actor: Actor, dataset_id: str, element: str, grid: str | None,
                 level: str | None) -> tuple[Surface, pd.DataFrame]:
        """The element's surface from published cells, and the values it was drawn from."""
        pol = self.gw.policy(actor, dataset_id)
        self._visible_element(actor, pol, dataset_id, element)
        m, method = element_values(self.store, dataset_id, element)
        controlled = pol.disclosure_controlled(actor)
        if controlled and not self._published(actor, pol, dataset_id, element, m, "", None):
            raise AccessDenied(f"the statistics of {element!r} in dataset {dataset_id!r} are "
                               "not published (a new version changed too few samples)")
        if controlled and level is None:  # the layer's default level, on the published chain
            level = next((str(x["default_level"]) for x in self.gw.layers(actor)
                          if x["dataset"] == dataset_id and x["element"] == element
                          and x["method"] == method), None)
        surf = surface(m, variable=element, grid=CONTROLLED_GRID if controlled else grid,
                       level=level, method=method, min_n=pol.min_cell_n(actor))
        if controlled:  # cells that pass disclosure control, whose median may be published
            keys = surf.cells["cell"].to_numpy(np.int64)
            ok = self._published(actor, pol, dataset_id, element, m, surf.grid.name,
                                 surf.level_m, keys)
            ok &= surf.cells["n"].to_numpy() >= 2 * pol.min_cell_n(actor) + 1
            if not ok.any():
                raise NotFoundError(f"no published {surf.grid.level_label(surf.level_m)} cell "
                                    f"of {element!r} in dataset {dataset_id!r}")
            surf.cells = surf.cells[ok].reset_index(drop=True)
            surf.cells["max"] = surf.cells["value"]  # a cell's maximum is a sample value
            surf.samples = surf.samples[surf.samples["cell"].isin(surf.cells["cell"])]
        if not pol.samples_visible(actor):  # peaks are cells, never samples
            lon, lat = surf.grid.cell_centres(surf.cells["cell"].to_numpy())
            surf.samples = pd.DataFrame({
                "sample_id": surf.cells["cell_id"], "longitude": lon, "latitude": lat,
                "value": surf.cells["value"], "censored": False, "cell": surf.cells["cell"],
            })
        return surf, m

    def surface(self, actor: Actor, dataset_id: str, element: str, *, grid: str | None = None,
                level: str | None = None) -> tuple[Surface, pd.DataFrame]:
        """The element's surface as :meth:`anomalies` and :meth:`blocks` draw it (published
        cells only under disclosure control, peaks as cells without sample access), and the
        analyses behind it (for thresholds; never to be shown without sample access)."""
        return self._surface(actor, dataset_id, element, grid, level)

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
                if any(self.gw.policy(actor, d).disclosure_controlled(actor)
                       for d in (dataset_id, against)):
                    raise AccessDenied(
                        "a change layer marks significant change, which needs the samples "
                        "of both campaigns; see the change table for the cell medians")
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


def _slug(name: str) -> str:
    """A class name as its screening column (``n_<slug>``)."""
    return "".join(ch if ch.isalnum() else "_" for ch in name.lower()).strip("_")


def _standard_limits(row: np.ndarray) -> dict[str, Any]:
    """The range of a standard's limits over its pH bands (no sample behind it)."""
    ok = row[np.isfinite(row)]
    return {"limit_min": finite(ok.min()) if ok.size else None,
            "limit_max": finite(ok.max()) if ok.size else None, "limits_of": "standard"}


def _cell_limits(samples: pd.DataFrame, level: str) -> dict[str, Any]:
    """The limits a cell's samples were compared with at ``level`` (they follow each
    sample's pH), the highest ratio of a value to its limit and the most above it."""
    lim = samples[f"limit_{level}"].to_numpy(float)
    val = samples["value"].to_numpy(float)
    has = np.isfinite(lim)
    # a value below its detection limit says no more than "at most the limit"
    use = has & np.isfinite(val) & ~samples["censored"].to_numpy(bool) & (lim > 0)
    return {"limit_min": finite(lim[has].min()) if has.any() else None,
            "limit_max": finite(lim[has].max()) if has.any() else None, "limits_of": "cell",
            "ratio_max": finite((val[use] / lim[use]).max()) if use.any() else None,
            "excess_max": finite(max(0.0, float((val[use] - lim[use]).max())))
            if use.any() else None}
