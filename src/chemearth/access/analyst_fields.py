"""Spectrum–area filtering, local singularity, spider diagrams and compositional summaries
of cell surfaces, as an actor may see them.

:class:`FieldAnalyst` extends :class:`~chemearth.access.analyst.Analyst` and keeps its rules
(see its module docstring: a restricted dataset answers as one that does not exist, an
embargoed element as one the dataset does not hold, an aggregated-only dataset gives no
per-sample result):

* **spectrum–area (S-A) filtering** and the **local singularity index** are computed on
  the element's cell surface (:meth:`Analyst.surface
  <chemearth.access.analyst.Analyst.surface>`): under disclosure control only the published
  cells whose median may be published, and on a pooled id (``pooled:public``,
  ``pooled:org:<org>``) the pooled layer's published cells. So they are given wherever
  concentration–area thresholds are. The surface becomes a dense raster (row 0 north) of
  at most :data:`MAX_RASTER` cells; cells without data are NaN (the S-A transform fills
  them with the mean first and reports how many). A cell whose median may be a detection
  limit is flagged ``censored`` (it enters the transform at its value).
* **spider diagrams**: per-sample normalised patterns and their Eu and Ce anomalies need
  sample access (403 otherwise); the summary (median pattern and censored share per
  element) is drawn from the dataset's *published layer statistics* (the baselines the
  gateway publishes, :meth:`Gateway.element_baselines
  <chemearth.access.gateway.Gateway.element_baselines>`), so it is given to every actor
  who may see them; elements whose layer statistics are not published are left out and
  named. A median not above the highest detection limit is not a measurement: it is not
  normalised (its ratio to the reference is given as an upper bound). On a pooled id the
  summary is that of the pooled layers' world baselines
  (:func:`chemearth.access.global_products.baselines`, sample-weighted), which use only
  the members whose samples the scope's audience may use one by one; a layer with none
  is left out and named. Per-sample patterns of pooled layers do not exist (403).
* **compositional summaries of cells**: robust PCA and factors of the published cell
  medians (cells × elements, each cell a composition, clr), of a dataset or a pooled id;
  cells lacking a part are left out and counted, elements without a published surface
  are left out.

Examples
--------
>>> from chemearth.access.policy import Actor
>>> fa = FieldAnalyst(gateway)                                      # doctest: +SKIP
>>> fa.spectrum_area(Actor.anonymous(), "pooled:public", "Pb", medium="humus",
...                  level="40km")["energy_threshold"]              # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from chemearth.access.analyst import MAX_PARTS, Analyst, _by_part
from chemearth.access.policy import Actor
from chemearth.access.pooling import is_pooled, manifest_for, scope_of
from chemearth.assess.anomalies import Surface, raster_index
from chemearth.errors import AccessDenied, ChemearthError, NotFoundError, TooManyCellsError
from chemearth.jsonable import plain, records
from chemearth.store.selectors import element_values

__all__ = ["MAX_RASTER", "FieldAnalyst"]

#: Most cells of the dense raster an S-A filter or singularity map is computed on.
MAX_RASTER = 1_000_000
#: The reference composition of spider diagrams unless told otherwise.
DEFAULT_REFERENCE = "PAAS"


class FieldAnalyst(Analyst):
    """S-A filtering, singularity, spider diagrams and cell compositions behind the
    access rules (the web layer's only way to them)."""

    # ------------------------------------------------------------------ rasters

    def _raster(self, actor: Actor, dataset_id: str, element: str, grid: str | None,
                level: str | None, medium: str | None, method: str | None
                ) -> tuple[Surface, Any, np.ndarray]:
        """The surface, its dense raster and each cell's flat position in it."""
        from chemearth.assess.fractal_zones import cell_positions, surface_raster

        surf = self.surface(actor, dataset_id, element, grid=grid, level=level,
                            medium=medium, method=method)
        keys = surf.cells["cell"].to_numpy(np.int64)
        col, row, _, _ = raster_index(surf, keys)
        size = (int(row.max()) + 1) * (int(col.max()) + 1)
        if size > MAX_RASTER:
            raise TooManyCellsError(
                f"the {surf.grid.level_label(surf.level_m)} cells of {element!r} span a "
                f"raster of {size} cells (at most {MAX_RASTER}): choose larger cells")
        r = surface_raster(surf)
        pos = cell_positions(r, keys)
        return surf, r, pos

    def _about(self, dataset_id: str, element: str, surf: Surface) -> dict[str, Any]:
        return {"dataset": dataset_id, "element": element, "unit": surf.unit,
                "method": surf.method, "support": "cells", "grid": surf.grid.name,
                "level": surf.grid.level_label(surf.level_m), "level_m": surf.level_m,
                "n_cells": len(surf.cells)}

    @staticmethod
    def _cells(dataset_id: str, element: str, surf: Surface, r: Any,
               **columns: np.ndarray) -> pd.DataFrame:
        from chemearth.assess.fractal_zones import cell_table

        out = cell_table(surf, r, **columns)
        out.insert(0, "element", element)
        out.insert(0, "dataset", dataset_id)
        return out

    @staticmethod
    def _document(doc: dict[str, Any], cells: pd.DataFrame) -> dict[str, Any]:
        return dict(plain({**doc, "cells": records(cells)}))

    def spectrum_area(self, actor: Actor, dataset_id: str, element: str, *,
                      grid: str | None = None, level: str | None = None,
                      medium: str | None = None, method: str | None = None,
                      energy_threshold: float | None = None, n_breakpoints: int | None = None,
                      max_breakpoints: int = 3, split: int | None = None
                      ) -> dict[str, Any]:
        """Spectrum–area filtering of the element's cell surface: the S-A curve, its
        breakpoints with confidence intervals, the energy threshold S₀ and the anomaly and
        background components of every cell (wavenumbers in 1/km)."""
        from chemearth.stats.fractal import spectrum_area

        surf, r, pos = self._raster(actor, dataset_id, element, grid, level, medium, method)

        def make() -> Any:
            return spectrum_area(r.values, energy_threshold=energy_threshold,
                                 n_breakpoints=n_breakpoints, max_breakpoints=max_breakpoints,
                                 split=-1 if split is None else split - 1,
                                 spacing=surf.level_m / 1000.0)

        sa = self.gw.memo(("analyst", "S-A", self.gw.sight(actor), dataset_id, element,
                           surf.grid.name, surf.level_m, medium, method, energy_threshold,
                           n_breakpoints, max_breakpoints, split), make)
        doc = self._about(dataset_id, element, surf)
        fit = sa.fit
        if fit is None:
            source, bps, fit_doc = "given", [], None
        else:
            i = len(fit.thresholds) if split is None else split
            source = f"S-A breakpoint {i} of {len(fit.thresholds)}"
            bps = [{"index": j + 1, "value": v, "low": lo, "high": hi}
                   for j, (v, lo, hi) in enumerate(zip(fit.thresholds, fit.threshold_low,
                                                       fit.threshold_high, strict=True))]
            fit_doc = {"exponents": fit.exponents, "confidence": fit.fit.confidence,
                       **fit.fit.as_dict()}
        c = sa.curve
        doc.update(
            kind="S-A", energy_threshold=sa.energy_threshold, threshold_source=source,
            breakpoints=bps, fit=fit_doc, wavenumber_unit="1/km",
            area_unit="(1/km)2",
            curve={"levels": c.levels, "measure": c.measure, "fitted": c.fitted},
            raster={"rows": r.values.shape[0], "columns": r.values.shape[1],
                    "n_filled": sa.n_filled, "fill_value": sa.fill_value},
            n_censored_cells=int(r.censored.ravel()[pos].sum()))
        cells = self._cells(dataset_id, element, surf, r, anomaly=sa.anomaly,
                            background=sa.background)
        return self._document(doc, cells)

    def singularity(self, actor: Actor, dataset_id: str, element: str, *,
                    windows: Sequence[int] = (1, 3, 5, 7, 9), grid: str | None = None,
                    level: str | None = None, medium: str | None = None,
                    method: str | None = None) -> dict[str, Any]:
        """Local singularity index α of every cell of the element's surface (with its
        standard error and log fractal density), and the counts of enrichment (α < 2)
        and depletion (α > 2)."""
        from chemearth.stats.fractal import singularity

        surf, r, _ = self._raster(actor, dataset_id, element, grid, level, medium, method)
        w = tuple(int(x) for x in windows)
        s = self.gw.memo(("analyst", "singularity", self.gw.sight(actor), dataset_id, element,
                          surf.grid.name, surf.level_m, medium, method, w),
                         lambda: singularity(r.values, windows=w))
        cells = self._cells(dataset_id, element, surf, r, alpha=s.alpha, se=s.se,
                            log_density=s.log_density)
        a = cells["alpha"].to_numpy(float)
        km = surf.level_m / 1000.0
        doc = self._about(dataset_id, element, surf)
        doc.update(kind="singularity", windows=list(s.windows),
                   window_km=[e * km for e in s.windows],
                   counts={"enrichment": int((a < 2).sum()), "depletion": int((a > 2).sum()),
                           "neutral": int((a == 2).sum()),
                           "undefined": int((~np.isfinite(a)).sum())},
                   n_censored_cells=int(cells["censored"].sum()))
        return self._document(doc, cells)

    # ------------------------------------------------------------------ spider diagrams

    def _wanted(self, actor: Actor, dataset_id: str, elements: Sequence[str] | None
                ) -> list[str]:
        """The elements asked for (default: the rare earths) that the dataset holds and
        ``actor`` may see, in the order asked; the others are left out unnamed."""
        from chemearth.reference.elements import is_element
        from chemearth.stats.spider import REE

        pol = self.gw.policy(actor, dataset_id)
        held = {str(e) for e in self.store.measurement_columns(dataset_id)["element"]}
        asked = list(dict.fromkeys(elements)) if elements else list(REE)
        return [e for e in asked if e in held and is_element(e)
                and pol.element_visible(actor, e)][:MAX_PARTS]

    def _layer_row(self, actor: Actor, dataset_id: str, element: str,
                   method: str | None) -> dict[str, Any] | None:
        """The published baseline of the element's layer in the dataset (by ``method``,
        default the most total; the largest medium), or None when unpublished."""
        _, meth = element_values(self.store, dataset_id, element, method)
        rows = [r for r in self.gw.element_baselines(actor, element)
                if r.get("dataset_id") == dataset_id and str(r.get("method") or "") == meth]
        rows = [r for r in rows if r.get("median") is not None]
        return max(rows, key=lambda r: int(r["n"])) if rows else None

    def _pooled_rows(self, actor: Actor, dataset_id: str, elements: Sequence[str] | None,
                     medium: str | None, method: str | None
                     ) -> tuple[dict[str, dict[str, Any]], list[str], list[str]]:
        """World baselines (sample-weighted) of the pooled layers of each element, the
        elements whose layers have none, and notes."""
        from chemearth.access.global_products import baselines
        from chemearth.stats.spider import REE

        scope = scope_of(dataset_id)
        man = manifest_for(self.gw, actor, scope)
        asked = list(dict.fromkeys(elements)) if elements else list(REE)
        rows: dict[str, dict[str, Any]] = {}
        unpublished, notes = [], []
        for el in asked[:MAX_PARTS]:
            layers = [e for e in man.get("layers", []) if e["element"] == el
                      and e["grid"] == "global" and medium in (None, e["medium"])
                      and method in (None, e["method"])]
            if not layers:
                continue  # as an element no pooled layer holds
            if len(layers) > 1:
                listed = "; ".join(f"medium={e['medium']} method={e['method']}" for e in layers)
                raise NotFoundError(f"{el!r} has {len(layers)} pooled layers, choose one: "
                                    f"{listed}")
            e = layers[0]
            try:
                p = baselines(self.gw, actor, el, scale="world", weighting="samples",
                              medium=e["medium"], method=e["method"], scope=scope)
            except ChemearthError:
                unpublished.append(el)
                continue
            world = [{str(k): v for k, v in r.items()} for r in p.table.to_dict("records")]
            if not world or world[0].get("median") is None:
                unpublished.append(el)
                continue
            rows[el] = {**world[0], "medium": e["medium"], "method": e["method"],
                        "unit": e["unit"]}
            notes += [n for n in p.notes if n not in notes]
        return rows, unpublished, notes

    def spider(self, actor: Actor, dataset_id: str, *, reference: str = DEFAULT_REFERENCE,
               elements: Sequence[str] | None = None, medium: str | None = None,
               method: str | None = None, per_sample: bool = False, limit: int = 100,
               offset: int = 0) -> dict[str, Any]:
        """Spider (REE) diagram of a dataset or pooled id: the median pattern normalised to
        ``reference`` with the censored share per element (published layer statistics);
        with ``per_sample``, each sample's normalised pattern with Eu/Eu* and Ce/Ce*
        (sample access only)."""
        from chemearth.reference.compositions import reference_composition

        ref = reference_composition(reference)
        wanted = tuple(elements) if elements else None
        if is_pooled(dataset_id):
            if per_sample:
                raise AccessDenied("pooled layers are shared as cells and layer statistics "
                                   "only: per-sample patterns need a dataset's samples")
            rows, unpublished, notes = self._pooled_rows(actor, dataset_id, wanted, medium,
                                                         method)
            els = list(rows)
            support = "world baselines of the pooled layers (samples weighted equally)"
        else:
            if per_sample:
                self.gw.sample_policy(actor, dataset_id)  # 403 before anything else
            els = self._wanted(actor, dataset_id, wanted)
            found = {el: self._layer_row(actor, dataset_id, el, method) for el in els}
            rows = {el: r for el, r in found.items() if r is not None}
            unpublished = [el for el, r in found.items() if r is None]
            notes, support = [], "published layer statistics (baselines) of the dataset"
        other_units = [el for el in rows if str(rows[el].get("unit")) != "mg/kg"]
        no_reference = [el for el in rows if el not in ref.abundance]
        shown = [el for el in rows if el not in other_units and el not in no_reference]
        if not shown and not unpublished:
            raise NotFoundError(f"dataset {dataset_id!r} holds none of the elements asked for "
                                f"with a {ref.name} abundance (default: the rare earths)")
        out: dict[str, Any] = {
            "dataset": dataset_id, "reference": ref.name, "citation": ref.citation,
            "elements": shown, "support": support, "not_published": unpublished,
            "not_in_mg_per_kg": other_units, "no_reference_abundance": no_reference,
            "notes": notes, "summary": _summary(shown, rows, ref.name)}
        if per_sample and shown:
            out.update(self._patterns(dataset_id, shown, ref.name, method, limit, offset))
        return dict(plain(out))

    def _patterns(self, dataset_id: str, elements: list[str], reference: str,
                  method: str | None, limit: int, offset: int) -> dict[str, Any]:
        """Per-sample normalised patterns (the caller checked sample access)."""
        from chemearth.stats.spider import normalise

        def make() -> pd.DataFrame:
            values, cens = {}, {}
            for el in elements:
                m, _ = element_values(self.store, dataset_id, el, method)
                m = m.drop_duplicates("sample_id").set_index(
                    m["sample_id"].drop_duplicates().astype(str))
                values[el], cens[el] = m["value"].astype(float), m["censored"].astype(bool)
            wide = pd.DataFrame(values)
            flags = pd.DataFrame(cens).reindex(wide.index).fillna(False).astype(bool)
            n = normalise(wide, reference, elements=elements, censored=flags)
            n.attrs = {"formulas": n.attrs["anomaly_formulas"]}
            return n

        n = self.gw.memo(("analyst", "spider", dataset_id, tuple(elements), reference, method),
                         make)
        table = n.rename_axis("sample_id").reset_index().assign(dataset=dataset_id)
        return {"anomaly_formulas": n.attrs["formulas"], "n_rows": len(table),
                "offset": offset,
                "samples": records(table.iloc[offset:offset + min(limit, self.gw.max_rows)])}

    # ------------------------------------------------------------------ cell compositions

    def cell_compositional(self, actor: Actor, dataset_id: str, elements: Sequence[str], *,
                           grid: str | None = None, level: str | None = None,
                           medium: str | None = None, method: str | None = None,
                           factors: int = 2, robust: bool = True) -> dict[str, Any]:
        """Robust PCA and factors of the published cell medians of several elements (each
        cell a composition), of a dataset or a pooled id."""
        from chemearth.stats.compositional import parts_of
        from chemearth.stats.compositional_factors import robust_factors, robust_pca

        if not is_pooled(dataset_id):
            self.gw.policy(actor, dataset_id)  # a restricted dataset: as one that is not
        surfs: dict[str, tuple[Surface, Any, np.ndarray]] = {}
        first: Surface | None = None
        for el in list(dict.fromkeys(elements))[:MAX_PARTS]:
            try:
                got = self._raster(actor, dataset_id, el,
                                   first.grid.name if first else grid,
                                   str(first.level_m) if first else level, medium, method)
            except (NotFoundError, AccessDenied):  # not held, or its statistics unpublished
                continue
            first = first or got[0]
            surfs[el] = got
        if len(surfs) < 3 or first is None:
            raise NotFoundError(f"dataset {dataset_id!r} has published cells of fewer than "
                                "three of the elements asked for (a composition needs three "
                                "parts)")
        values = {el: pd.Series(s.cells["value"].to_numpy(float),
                                index=s.cells["cell_id"].to_numpy())
                  for el, (s, _, _) in surfs.items()}
        cens = {el: pd.Series(r.censored.ravel()[pos], index=s.cells["cell_id"].to_numpy())
                for el, (s, r, pos) in surfs.items()}
        wide = pd.DataFrame(values)
        flags = pd.DataFrame(cens).reindex(wide.index).fillna(False).astype(bool)
        parts = list(surfs)

        def make() -> tuple[Any, Any, Any]:
            p = parts_of(wide, parts, flags)
            return p, robust_pca(p, robust=robust), robust_factors(
                p, min(factors, len(parts) - 2), robust=robust)

        p, pca, fa = self.gw.memo(("analyst", "cell-coda", self.gw.sight(actor), dataset_id,
                                   tuple(parts), first.grid.name, first.level_m, medium,
                                   method, factors, robust), make)
        return dict(plain({
            "dataset": dataset_id, "parts": list(p.parts), "robust": robust,
            "support": "published cell medians", "grid": first.grid.name,
            "level": first.grid.level_label(first.level_m), "level_m": first.level_m,
            "n_cells": len(p.rows), "n_left_out": len(p.missing_rows),
            "n_censored": p.n_censored, "censored_fraction": p.fraction,
            "pca": {"components": list(pca.loadings.columns), "variances": pca.variances,
                    "explained": pca.explained, "loadings": _by_part(pca.loadings)},
            "factors": {"factors": list(fa.loadings.columns), "rotation": fa.rotation,
                        "explained": fa.explained, "converged": fa.converged,
                        "loadings": _by_part(fa.loadings),
                        "uniquenesses": _by_part(fa.uniquenesses.to_frame("uniqueness")),
                        "communalities": _by_part(fa.communalities.to_frame("communality"))},
        }))


def _summary(elements: list[str], rows: dict[str, dict[str, Any]], reference: str
             ) -> list[dict[str, Any]]:
    """One record per element: the layer median normalised to ``reference`` (None when
    the median may be a detection limit; its ratio is then an upper bound), the censored
    share and what it was drawn from; the Eu and Ce anomalies of the median pattern last."""
    from chemearth.stats.spider import normalise

    if not elements:
        return []
    med = pd.DataFrame({el: [float(rows[el]["median"])] for el in elements})
    below = pd.DataFrame({el: ["median" in str(rows[el].get("below_dl") or "").split(",")]
                          for el in elements})
    norm = normalise(med, reference, elements=elements, censored=below)
    bound = normalise(med, reference, elements=elements, anomalies=False)
    out = []
    for el in elements:
        r = rows[el]
        n, nc = r.get("n"), r.get("n_censored")
        out.append({
            "element": el, "median": r["median"], "median_below_dl": bool(below[el].iloc[0]),
            "normalised": norm[el].iloc[0],
            "upper_bound": bound[el].iloc[0] if below[el].iloc[0] else None,
            "n": n, "n_censored": nc,
            "censored_share": (float(nc) / float(n) if n and nc is not None
                               and np.isfinite(float(nc)) else None),
            "medium": r.get("medium"), "method": r.get("method")})
    for name, formula in norm.attrs["anomaly_formulas"].items():
        out.append({"anomaly": name, "value": norm[name].iloc[0], "formula": formula})
    return out

