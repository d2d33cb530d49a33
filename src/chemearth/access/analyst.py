"""Fractal thresholds and zones, compositional summaries, probabilistic screening and
per-cell change significance as an actor may see them.

:class:`Analyst` wraps a :class:`~chemearth.access.gateway.Gateway` and applies the sharing
rules of every other door (:mod:`chemearth.access.policy`), as
:class:`~chemearth.access.assessor.Assessor` does:

* a restricted dataset answers as a dataset that does not exist;
* an embargoed element answers as an element the dataset does not hold, and is left out
  of every list of elements asked for (composite anomalies, compositions);
* an aggregated-only dataset gives no per-sample result:

  - **fractal thresholds**: concentration–number (C-N) thresholds are drawn from the
    samples and need sample access (403 otherwise, as every per-sample door answers);
    concentration–area (C-A) thresholds, zones and composite anomalies are drawn from
    the element's cell surface (:meth:`Assessor.surface
    <chemearth.access.assessor.Assessor.surface>`), which under disclosure control holds
    only the published cells whose median may be published, so every level of the C-A
    curve is a published median and every zone a union of published cells;
  - **compositional summaries** (robust PCA variances and clr loadings, factor loadings)
    are statistics of the whole layer of each part, given where the layer's statistics
    are published (parts whose layer statistics are not are left out and named);
    per-sample scores, robust distances and outlier flags need sample access;
  - **probabilistic screening** krige the samples (a kriged surface passes through them
    where the nugget is small), so, as interpolated surfaces
    (:class:`~chemearth.access.mapper.Mapper`), it needs sample access: 403 for held,
    embargoed and absent elements alike. The measurement precision comes only from
    quality-control duplicates whose samples the actor may see;
  - **change significance** pairs the samples of two campaigns site by site (and a pair
    count per cell would tell where hidden samples lie within metres of a campaign of
    one's own), so it needs the samples of both datasets (403 otherwise, as paired change
    answers in :meth:`Assessor.change <chemearth.access.assessor.Assessor.change>`);
    cells of fewer than ``max(3, k)`` pairs are left out.

* **pooled layers** (``pooled:<scope>``, :mod:`chemearth.access.pooling`): C-A thresholds,
  zones and composite anomalies are drawn from the pooled layer's published cells (their
  medians, :meth:`Gateway.layer_view <chemearth.access.gateway.Gateway.layer_view>`); the
  other analytics need samples and answer for a pooled id as for a dataset that does not
  exist.

Results are memoised per catalogue snapshot, request and what the actor may see.
"""

from __future__ import annotations

import hashlib
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from chemearth.access.assessor import Assessor
from chemearth.access.gateway import Gateway
from chemearth.access.mapper import Mapper
from chemearth.access.policy import Actor, Policy
from chemearth.access.pooling import is_pooled
from chemearth.assess.anomalies import Surface, as_geojson
from chemearth.errors import AccessDenied, ChemearthError, NotFoundError
from chemearth.jsonable import plain, records
from chemearth.stats.fractal import ZONE_MULTIPLES, ZONE_NAMES, FractalError, FractalFit
from chemearth.store.selectors import element_values

__all__ = ["DEFAULT_STANDARD", "MAX_CELLS", "MAX_PARTS", "Analyst"]

#: The standard probabilistic screening compares with unless told otherwise.
DEFAULT_STANDARD = "gb15618-2018"
#: Most parts of one compositional summary.
MAX_PARTS = 40
#: Most cells of one probabilistic screening (block kriging of each).
MAX_CELLS = 100_000
#: Share of the samples a part must be analysed in to enter a default composition.
_COMPLETE = 0.9


class Analyst:
    """The new analytics behind the access rules (the web layer's only way to them)."""

    def __init__(self, gateway: Gateway) -> None:
        self.gw = gateway
        self.store = gateway.store
        self.assessor = Assessor(gateway)

    def _key(self, actor: Actor, *parts: Hashable) -> tuple[Hashable, ...]:
        return ("analyst", self.gw.sight(actor), *parts)

    def _visible_element(self, actor: Actor, pol: Policy, dataset_id: str, element: str) -> None:
        if not pol.element_visible(actor, element):
            raise NotFoundError(f"dataset {dataset_id!r} holds no analyses of {element!r}")

    # ------------------------------------------------------------------ surfaces

    def surface(self, actor: Actor, dataset_id: str, element: str, *, grid: str | None = None,
                level: str | None = None, medium: str | None = None,
                method: str | None = None) -> Surface:
        """The cell surface of ``element`` that C-A thresholds and zones are drawn from:
        a dataset's (published cells only under disclosure control), or a pooled layer's
        published cells (``medium``/``method`` choose the pooled layer)."""
        if not is_pooled(dataset_id):
            surf, _ = self.assessor.surface(actor, dataset_id, element, grid=grid, level=level)
            return surf
        view = self.gw.layer_view(actor, dataset_id, element, medium=medium, method=method,
                                  grid=grid, level=level, stat="median")
        cells = view.cells
        if cells.empty:
            raise NotFoundError(f"no published {view.level} cell of {element!r} in "
                                f"{dataset_id!r}")
        keys = cells["cell"].to_numpy(np.int64)
        lon, lat = view.grid.cell_centres(keys)
        ids = view.grid.key_to_id(keys)
        values = cells["median"].to_numpy(float)
        frame = pd.DataFrame({"cell": keys, "cell_id": ids,
                              "n": cells["n"].to_numpy(np.int64), "value": values,
                              "max": values})
        points = pd.DataFrame({"sample_id": ids, "longitude": lon, "latitude": lat,
                               "value": values, "censored": False, "cell": keys})
        return Surface(view.grid, view.level_m, element, view.unit, frame, points, view.method)

    # ------------------------------------------------------------------ fractal

    def _fit(self, actor: Actor, dataset_id: str, element: str, kind: str, *,
             grid: str | None, level: str | None, medium: str | None, method: str | None,
             n_breakpoints: int | None, max_breakpoints: int) -> tuple[FractalFit, dict[str, Any]]:
        from chemearth.assess.fractal_zones import concentration_area_of
        from chemearth.stats.fractal import concentration_number

        if kind == "C-N":
            if is_pooled(dataset_id):
                raise AccessDenied("pooled layers are shared as cells only: use the "
                                   "concentration-area (C-A) thresholds of their cells")
            pol = self.gw.sample_policy(actor, dataset_id)  # 403 before anything else
            self._visible_element(actor, pol, dataset_id, element)
            m, meth = element_values(self.store, dataset_id, element, method)
            fit = concentration_number(m["value"].to_numpy(float), m["censored"].to_numpy(bool),
                                       n_breakpoints=n_breakpoints,
                                       max_breakpoints=max_breakpoints)
            about = {"unit": str(m["unit"].iloc[0]), "method": meth, "n": len(m),
                     "support": "samples"}
            return fit, about
        if kind != "C-A":
            raise NotFoundError(f"no fractal curve {kind!r}: use C-A or C-N")
        surf = self.surface(actor, dataset_id, element, grid=grid, level=level, medium=medium,
                            method=method)
        # one fit per surface: actors who see the same published cells share it
        fit = self.gw.memo(("analyst", "C-A fit", _digest(surf), n_breakpoints,
                            max_breakpoints),
                           lambda: concentration_area_of(surf, n_breakpoints=n_breakpoints,
                                                         max_breakpoints=max_breakpoints))
        about = {"unit": surf.unit, "method": surf.method, "n": len(surf.cells),
                 "support": "cells", "grid": surf.grid.name,
                 "level": surf.grid.level_label(surf.level_m), "level_m": surf.level_m,
                 "area_unit": "km2"}
        return fit, about

    def thresholds(self, actor: Actor, dataset_id: str, element: str, *, kind: str = "C-A",
                   grid: str | None = None, level: str | None = None,
                   medium: str | None = None, method: str | None = None,
                   n_breakpoints: int | None = None, max_breakpoints: int = 3
                   ) -> dict[str, Any]:
        """Fractal thresholds of ``element``: the breakpoints of its C-A (cells) or C-N
        (samples) log-log curve with their confidence intervals, the segment exponents,
        the fit and the curve."""
        key = self._key(actor, "fit", dataset_id, element, kind, grid, level, medium, method,
                        n_breakpoints, max_breakpoints)
        fit, about = self.gw.memo(key, lambda: self._fit(
            actor, dataset_id, element, kind, grid=grid, level=level, medium=medium,
            method=method, n_breakpoints=n_breakpoints, max_breakpoints=max_breakpoints))
        c = fit.curve
        out = {"dataset": dataset_id, "element": element, "kind": c.kind, **about,
               "thresholds": [{"index": i + 1, "value": v, "low": lo, "high": hi}
                              for i, (v, lo, hi) in enumerate(zip(
                                  fit.thresholds, fit.threshold_low, fit.threshold_high,
                                  strict=True))],
               "exponents": fit.exponents, "confidence": fit.fit.confidence,
               "fit": fit.fit.as_dict(),
               "curve": {"levels": c.levels, "measure": c.measure,
                         "measure_max": c.measure_max, "fitted": c.fitted,
                         "dl_max": c.dl_max, "n_censored": c.n_censored}}
        return _json(out)

    def _threshold(self, actor: Actor, dataset_id: str, element: str, surf: Surface,
                   threshold: float | None, breakpoint: int | None,
                   medium: str | None, method: str | None) -> tuple[float, str]:
        """The zone threshold: the one given, or a C-A breakpoint of the same surface
        (default: the highest)."""
        if threshold is not None:
            return float(threshold), "given"
        t = self.thresholds(actor, dataset_id, element, kind="C-A", grid=surf.grid.name,
                            level=str(surf.level_m), medium=medium, method=method)
        values = [x["value"] for x in t["thresholds"]]
        i = len(values) if breakpoint is None else breakpoint
        if not 1 <= i <= len(values):
            raise FractalError(f"the C-A curve of {element!r} has {len(values)} "
                               f"breakpoint(s); breakpoint {i} does not exist")
        return float(values[i - 1]), f"C-A breakpoint {i} of {len(values)}"

    def zones(self, actor: Actor, dataset_id: str, element: str, *,
              threshold: float | None = None, breakpoint: int | None = None,
              grid: str | None = None, level: str | None = None, medium: str | None = None,
              method: str | None = None) -> dict[str, Any]:
        """Outer, middle and inner anomaly zones (1, 2 and 4 times the threshold) of
        ``element`` as GeoJSON polygons (WGS84) of its surface's cells."""
        from chemearth.assess.fractal_zones import zone_polygons

        surf = self.surface(actor, dataset_id, element, grid=grid, level=level, medium=medium,
                            method=method)
        thr, source = self._threshold(actor, dataset_id, element, surf, threshold,
                                      breakpoint, medium, method)
        polys = zone_polygons(surf, thr)
        doc = as_geojson(polys.assign(dataset=dataset_id, element=element))
        doc.update(dataset=dataset_id, element=element, threshold=thr,
                   threshold_source=source, multiples=list(ZONE_MULTIPLES),
                   zone_names=list(ZONE_NAMES), unit=surf.unit, grid=surf.grid.name,
                   level=surf.grid.level_label(surf.level_m), level_m=surf.level_m,
                   method=surf.method, n_cells=len(surf.cells))
        return _json(doc)

    def composite(self, actor: Actor, dataset_id: str, elements: Sequence[str], *,
                  grid: str | None = None, level: str | None = None,
                  medium: str | None = None, method: str | None = None) -> dict[str, Any]:
        """Composite anomaly of several elements, each zoned at its highest C-A threshold on
        one grid level, as GeoJSON polygons by the number of elements anomalous.

        Elements the dataset does not hold (or that ``actor`` may not see) are left out;
        at least two must remain.
        """
        from chemearth.assess.fractal_zones import composite_anomalies

        if not is_pooled(dataset_id):
            self.gw.policy(actor, dataset_id)  # a restricted dataset: as one that is not
        layers: dict[str, tuple[Surface, float]] = {}
        first: Surface | None = None
        for el in dict.fromkeys(elements):
            try:
                surf = self.surface(actor, dataset_id, el,
                                    grid=first.grid.name if first else grid,
                                    level=str(first.level_m) if first else level,
                                    medium=medium, method=method)
                thr, _ = self._threshold(actor, dataset_id, el, surf, None, None, medium,
                                         method)
            except (NotFoundError, AccessDenied):  # not held, or its statistics unpublished
                continue
            first = first or surf
            layers[el] = (surf, thr)
        if len(layers) < 2:
            raise NotFoundError(f"a composite anomaly needs two or more elements with a "
                                f"surface in {dataset_id!r}; found {len(layers)}")
        comp = composite_anomalies(layers)
        assert first is not None
        doc = as_geojson(comp.polygons.assign(dataset=dataset_id))
        doc.update(dataset=dataset_id, elements=list(layers), thresholds=comp.thresholds,
                   threshold_source="highest C-A breakpoint of each element",
                   multiples=list(ZONE_MULTIPLES), grid=first.grid.name,
                   level=first.grid.level_label(first.level_m), level_m=first.level_m,
                   n_cells=len(comp.cells),
                   n_anomalous=int((comp.cells["count"] > 0).sum()))
        return _json(doc)

    # ------------------------------------------------------------------ compositions

    def _parts_table(self, actor: Actor, pol: Policy, dataset_id: str,
                     elements: Sequence[str] | None) -> tuple[pd.DataFrame, pd.DataFrame,
                                                               list[str], list[str]]:
        """Wide values and censored flags (one row per sample id, one column per part)
        of the parts ``actor`` may use, and the parts left out unpublished."""
        from chemearth.reference.elements import is_element

        held = sorted({str(e) for e in self.store.measurement_columns(dataset_id)["element"]})
        shown = [e for e in held if is_element(e) and pol.element_visible(actor, e)]
        if elements:
            wanted = set(elements)
            shown = [e for e in shown if e in wanted]
        values, cens, unpublished = {}, {}, []
        k = pol.min_cell_n(actor)
        for el in shown[:MAX_PARTS]:
            m, _ = element_values(self.store, dataset_id, el)
            if pol.disclosure_controlled(actor):
                layers = m[["medium", "method"]].fillna("").astype(str).drop_duplicates()
                if not all(self.gw.publication(dataset_id, el, r["medium"], r["method"],
                                               k).root for r in layers.to_dict("records")):
                    unpublished.append(el)
                    continue
            m = m.drop_duplicates("sample_id").set_index(m["sample_id"].drop_duplicates()
                                                         .astype(str))
            values[el], cens[el] = m["value"].astype(float), m["censored"].astype(bool)
        wide = pd.DataFrame(values)
        flags = pd.DataFrame(cens).reindex(wide.index).fillna(False).astype(bool)
        if not elements and len(wide):  # a default composition: parts analysed nearly always
            keep = [c for c in wide.columns if wide[c].notna().mean() >= _COMPLETE]
            wide, flags = wide[keep], flags[keep]
        return wide, flags, list(wide.columns), unpublished

    def compositional(self, actor: Actor, dataset_id: str, *,
                      elements: Sequence[str] | None = None, factors: int = 2,
                      robust: bool = True, scores: bool = False, limit: int = 100,
                      offset: int = 0) -> dict[str, Any]:
        """Robust PCA (explained variance, clr loadings) and robust factors (loadings,
        uniquenesses) of a dataset's composition; with ``scores``, per-sample component
        and factor scores, robust distances and outlier flags (sample access only)."""
        from chemearth.stats.compositional import parts_of, robust_distances
        from chemearth.stats.compositional_factors import robust_factors, robust_pca

        if is_pooled(dataset_id):
            raise NotFoundError(f"dataset {dataset_id!r} not found")
        pol = self.gw.sample_policy(actor, dataset_id) if scores else \
            self.gw.policy(actor, dataset_id)
        wanted = tuple(sorted(set(elements))) if elements else None

        def make() -> dict[str, Any]:
            wide, flags, parts, unpublished = self._parts_table(actor, pol, dataset_id, wanted)
            if len(parts) < 3:
                raise NotFoundError(f"dataset {dataset_id!r} holds fewer than three of the "
                                    "elements asked for (a composition needs three parts)")
            p = parts_of(wide, parts, flags)
            pca = robust_pca(p, robust=robust)
            fa = robust_factors(p, min(factors, len(parts) - 2), robust=robust)
            rd = robust_distances(p) if scores else None
            return {"pca": pca, "fa": fa, "rd": rd, "parts": p, "unpublished": unpublished}

        r = self.gw.memo(self._key(actor, "coda", dataset_id, wanted, factors, robust, scores),
                         make)
        pca, fa, p = r["pca"], r["fa"], r["parts"]
        out: dict[str, Any] = {
            "dataset": dataset_id, "parts": list(p.parts), "robust": robust,
            "n_samples": len(p.rows), "n_left_out": len(p.missing_rows),
            "n_censored": p.n_censored, "censored_fraction": p.fraction,
            "not_published": r["unpublished"],
            "pca": {"components": list(pca.loadings.columns), "variances": pca.variances,
                    "explained": pca.explained,
                    "loadings": _by_part(pca.loadings)},
            "factors": {"factors": list(fa.loadings.columns), "rotation": fa.rotation,
                        "explained": fa.explained, "converged": fa.converged,
                        "loadings": _by_part(fa.loadings),
                        "uniquenesses": fa.uniquenesses.to_dict(),
                        "communalities": fa.communalities.to_dict()}}
        if scores:
            rd = r["rd"]
            table = pca.scores.join(fa.scores).join(rd.samples)
            table.index = table.index.rename("sample_id")
            table = table.reset_index().assign(dataset=dataset_id)
            out.update(cutoff=rd.cutoff, n_outliers=int(rd.samples["outlier"].sum()),
                       n_rows=len(table), offset=offset,
                       samples=records(table.iloc[offset:offset + min(limit,
                                                                      self.gw.max_rows)]))
        return _json(out)

    # ------------------------------------------------------------------ probability

    def _precision(self, actor: Actor, dataset_id: str, element: str, method: str
                   ) -> tuple[Any, str]:
        """The precision of ``element`` from the duplicates ``actor`` may read (field
        duplicates first), or None and why not."""
        from chemearth.assess.probabilistic import MeasurementPrecision
        from chemearth.qc.precision import pair_arrays
        from chemearth.qc.report import duplicate_pairs, linked_qc

        specs = linked_qc(self.store, dataset_id)
        pols = self.gw.snapshot().policies
        for role in ("field-duplicates", "analytical-duplicates"):
            for qc_id, spec in sorted(specs.items()):
                pol = pols.get(qc_id)
                if (spec.role != role or pol is None or not pol.samples_visible(actor, element)
                        or not pol.element_visible(actor, element)):
                    continue
                pairs = duplicate_pairs(self.store, qc_id, spec, [element])
                pairs = pairs[(pairs["element"] == element) & (pairs["method"] == method)]
                if len(pair_arrays(pairs["a"], pairs["b"], pairs["censored_a"],
                                   pairs["censored_b"])[0]) < 2:
                    continue
                try:
                    return MeasurementPrecision.from_duplicates(
                        pairs["a"], pairs["b"], pairs["censored_a"], pairs["censored_b"],
                        source=f"{role.replace('-', ' ')} ({qc_id}, {method})"), ""
                except ChemearthError:
                    continue
        return None, (f"none: no duplicates of {element} by {method} readable for "
                      f"{dataset_id!r}")

    def probability(self, actor: Actor, dataset_id: str, element: str, *,
                    standard: str = DEFAULT_STANDARD, level_name: str = "screening",
                    land_use: str | None = None, ph: float | None = None,
                    grid: str = "global", level: str = "10km", quantity: str = "true",
                    p_lo: float = 0.1, p_hi: float = 0.9) -> dict[str, Any]:
        """P(the soil of a cell exceeds the standard's limit) per cell from lognormal block
        kriging and the QC precision, its band and the counts per band."""
        from chemearth.assess.probabilistic import (
            ProbabilisticError,
            check_probabilities,
            check_quantity,
            screen_cells,
        )
        from chemearth.interp.surfaces import interpolate

        if is_pooled(dataset_id):
            raise NotFoundError(f"dataset {dataset_id!r} not found")
        Mapper(self.gw).check(actor, dataset_id, element)  # sample access, then the element
        check_probabilities(p_lo, p_hi)
        check_quantity(quantity)
        std = self.assessor.standard(standard)
        if level_name not in std.levels:
            raise NotFoundError(f"standard {std.id!r} has no level {level_name!r}; levels: "
                                f"{', '.join(std.levels)}")

        def fit() -> Any:
            return interpolate(self.store, dataset_id, element, method="kriging", log=True)

        it = self.gw.memo(("analyst", "kriging", dataset_id, element), fit)
        prec, why = self._precision(actor, dataset_id, element, it.method)

        def make() -> Any:
            try:
                return screen_cells(it, grid, level, standard=std, element=element,
                                    level=level_name, land_use=land_use, ph=ph,
                                    precision=prec, quantity=quantity,  # type: ignore[arg-type]
                                    p_lo=p_lo, p_hi=p_hi, max_cells=MAX_CELLS)
            except ProbabilisticError:
                if it.cells(grid, level, max_cells=MAX_CELLS).empty:
                    raise ProbabilisticError(
                        f"no {level} cell of the {grid} grid lies within reach of the "
                        "samples: choose smaller cells") from None
                raise

        src = prec.source if prec is not None else why
        s = self.gw.memo(("analyst", "probability", dataset_id, element, std.id, std.source,
                          level_name, land_use, ph, grid, level, quantity, p_lo, p_hi, src),
                         make)
        frame = s.frame.drop(columns=["key"]).assign(dataset=dataset_id, element=element)
        model = {k: v for k, v in s.model.items() if k not in ("dataset",)}
        return _json({
            "dataset": dataset_id, "element": element, "standard": std.id,
            "citation": std.citation, "level": level_name,
            "land_use": std.land_use_or_default(land_use), "ph": ph, "grid": grid,
            "cell_level": level, "quantity": quantity, "p_lo": p_lo, "p_hi": p_hi,
            "precision_source": src, "rsd": prec.rsd if prec is not None else None,
            "model": model, "counts": records(s.counts()), "cells": records(frame)})

    # ------------------------------------------------------------------ change

    def change_significance(self, actor: Actor, before: str, after: str, element: str, *,
                            grid: str = "global", level: str = "20km", alpha: float = 0.05,
                            max_distance_m: float | None = None) -> dict[str, Any]:
        """Per-cell change of ``element`` between two campaigns at re-sampled sites: paired
        Prentice–Wilcoxon (or censored sign) test per cell, Benjamini–Hochberg adjusted,
        marked increase, decrease, no significant change or too few pairs."""
        from chemearth.assess.change import ChangeError
        from chemearth.assess.change_significance import change_significance_frames
        from chemearth.assess.pairing import DEFAULT_MAX_DISTANCE_M, declared_link

        for ds in (before, after):
            if is_pooled(ds):
                raise NotFoundError(f"dataset {ds!r} not found")
        pb, pa = self.gw.policy(actor, before), self.gw.policy(actor, after)
        hidden = [ds for ds, p in ((before, pb), (after, pa)) if not p.samples_visible(actor)]
        if hidden:
            raise AccessDenied(
                f"change significance pairs the samples of {before!r} and {after!r} site by "
                f"site, but the samples of dataset {hidden[0]!r} are shared as grid layers "
                "only: see the change table for the cell medians")
        self._visible_element(actor, pb, before, element)
        self._visible_element(actor, pa, after, element)
        distance = max_distance_m or DEFAULT_MAX_DISTANCE_M
        min_n = max(3, pb.min_cell_n(actor), pa.min_cell_n(actor))

        def make() -> pd.DataFrame:
            mb, meth_b = element_values(self.store, before, element)
            ma, meth_a = element_values(self.store, after, element)
            units = set(mb["unit"]) | set(ma["unit"])
            if len(units) != 1:
                raise ChangeError(f"{element}: units differ between campaigns "
                                  f"({', '.join(sorted(units))})")
            link = declared_link(self.store, before, after)
            out = change_significance_frames(mb, ma, grid=grid, level=level,
                                             same_sites=link or False,
                                             max_distance_m=distance, names=(before, after),
                                             alpha=alpha)
            return out.assign(element=element, unit=units.pop(), method_before=meth_b,
                              method_after=meth_a)

        out = self.gw.memo(("analyst", "change-sig", before, after, element, grid, level,
                            alpha, distance), make)
        shown = out[out["n_pairs"] >= min_n].assign(dataset=before, against=after)
        return _json({"dataset": before, "against": after, "element": element, "grid": grid,
                      "level": level, "alpha": alpha, "min_pairs_shown": min_n,
                      "pairing_rule": str(out["pairing_rule"].iloc[0]) if len(out) else None,
                      "counts": shown["direction"].value_counts().to_dict(),
                      "cells": records(shown)})


def _digest(surf: Surface) -> tuple[Hashable, ...]:
    """What a C-A fit of ``surf`` is drawn from, as a memo key: the cells' keys and values,
    the samples' cells, values and censoring (the cells that may be detection limits), the
    grid and the cell size."""
    cells = pd.util.hash_pandas_object(surf.cells[["cell", "value"]], index=False)
    cols = [c for c in ("cell", "value", "censored") if c in surf.samples]
    samples = pd.util.hash_pandas_object(surf.samples[cols], index=False)
    return (surf.grid.name, surf.level_m, len(surf.cells),
            hashlib.blake2b(cells.to_numpy().tobytes()).hexdigest(),
            hashlib.blake2b(samples.to_numpy().tobytes()).hexdigest())


def _json(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` JSON-ready (NaN as None)."""
    out: dict[str, Any] = plain(doc)
    return out


def _by_part(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Loadings as one record per part (``element`` and one column per component)."""
    return records(frame.rename_axis("element").reset_index())
