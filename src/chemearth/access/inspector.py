"""Data-quality reports and quality-control figures as an actor may see them.

:class:`Inspector` wraps a :class:`~chemearth.access.gateway.Gateway` and applies the sharing rules
(:mod:`chemearth.access.policy`) before anything is computed from quality-control data:

* a restricted dataset answers as a dataset that does not exist, whether it is the survey
  asked for or one of its quality-control datasets (whose figures are then left out, as if
  it did not exist);
* an embargoed element answers as an element the dataset does not hold: one embargoed in
  the survey is left out of the survey's report (quality-control rows included) and
  figures; one embargoed in a quality-control dataset, out of that dataset's rows and
  figures;
* summary figures (precision, variance shares, control statistics, detection limits, %
  censored) are aggregates: for an aggregated-only dataset a row or figure resting on
  fewer results than the dataset's smallest published cell is left out;
* figures that draw individual results (the Thompson–Howarth plot, the control chart and
  the points behind them) need sample access to the quality-control dataset: otherwise 403,
  for held, embargoed and absent elements alike (as surfaces and atlas pages answer).

Reports are memoised per catalogue snapshot and what the actor may see.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, Final

import numpy as np
import pandas as pd

from chemearth.access.gateway import Gateway
from chemearth.access.policy import Actor
from chemearth.errors import AccessDenied, NotFoundError
from chemearth.ingest.descriptor import QcSpec

__all__ = ["PLOTS", "Inspector"]

#: Quality-control figures served per element.
PLOTS: Final = ("thompson-howarth", "control")
_N_COLUMNS: Final = {"n_field_pairs": ("rsd_field_pct", "between_site_pct", "sampling_pct",
                                       "analytical_pct", "measurement_pct",
                                       "survey_share_pct", "fit_for_mapping"),
                     "n_analytical_pairs": ("rsd_analytical_pct",)}


class Inspector:
    """Quality reports behind the access rules (the web layer's only way to them)."""

    def __init__(self, gateway: Gateway) -> None:
        self.gw = gateway
        self.store = gateway.store

    def _key(self, actor: Actor, *parts: Hashable) -> tuple[Hashable, ...]:
        return ("inspector", self.gw.sight(actor), *parts)

    def _qc(self, actor: Actor, dataset_id: str) -> dict[str, QcSpec]:
        """The quality-control datasets behind ``dataset_id`` that ``actor`` may see."""
        from chemearth.qc.report import linked_qc, qc_spec

        def make() -> dict[str, QcSpec]:
            own = qc_spec(self.store, dataset_id)
            return {dataset_id: own} if own is not None else linked_qc(self.store, dataset_id)

        specs: dict[str, QcSpec] = self.gw.memo(("qc-links", dataset_id), make)
        visible = set(self.gw.visible_datasets(actor))
        return {d: s for d, s in specs.items() if d in visible}

    def _hidden(self, actor: Actor, datasets: list[str]) -> dict[str, set[str]]:
        out = {}
        for d in datasets:
            pol = self.gw.policy(actor, d)
            out[d] = {e for e in pol.embargo if not pol.element_visible(actor, e)}
        return out

    def report(self, actor: Actor, dataset_id: str) -> dict[str, Any]:
        """The data-quality report of ``dataset_id`` (JSON-ready, memoised)."""
        from chemearth.qc.report import quality_report

        pol = self.gw.policy(actor, dataset_id)  # NotFoundError when restricted
        qc = self._qc(actor, dataset_id)

        def make() -> dict[str, Any]:
            hidden = self._hidden(actor, [dataset_id, *qc])
            for d in qc:  # what the survey embargoes stays out of its QC rows too
                hidden[d] = hidden[d] | hidden[dataset_id]
            rep = quality_report(self.store, dataset_id, qc=qc, hidden=hidden)
            el = rep.elements
            k_survey = pol.min_cell_n(actor)
            el = el[el["n"] >= k_survey].copy()
            if pol.disclosure_controlled(actor) and len(el):  # dataset-wide figures
                ok = [self.gw.totals_published(actor, dataset_id, str(e)) for e in el["element"]]
                el = el[np.array(ok, dtype=bool)].copy()
            # figures of aggregated-only QC datasets rest on at least their smallest cell
            k_qc = max((self.gw.policy(actor, d).min_cell_n(actor) for d in qc), default=1)
            for n_col, cols in _N_COLUMNS.items():
                if n_col in el.columns:
                    few = el[n_col].fillna(0) < k_qc
                    for c in (n_col, *cols):
                        if c in el.columns and few.any():
                            el[c] = el[c].astype(object)
                            el.loc[few, c] = None
            rep.elements = el
            if not rep.controls.empty:
                rep.controls = rep.controls[rep.controls["n"] >= k_qc]
            out = rep.to_dict()
            out["qc"] = [{"dataset": d, "role": r,
                          "samples_visible": self.gw.policy(actor, d).samples_visible(actor)}
                         for d, r in sorted(rep.qc.items())]
            return out

        return dict(self.gw.memo(self._key(actor, "report", dataset_id), make))

    def _plot_source(self, actor: Actor, dataset_id: str, element: str, which: str
                     ) -> tuple[str, QcSpec]:
        """The QC dataset drawn for ``which`` (a role), checked for sample access.

        The first quality-control dataset of the role whose samples ``actor`` may see and
        that holds ``element`` visibly (in it and in ``dataset_id``) is drawn. Otherwise the
        answer does not depend on the element, so an embargoed element answers exactly as
        an absent one: 403 when a dataset of the role shares summaries only, else 404.
        """
        survey = self.gw.policy(actor, dataset_id)
        roles = {"field": ("field-duplicates", "replicate-status"),
                 "analytical": ("analytical-duplicates",),
                 "reference": ("reference-material",)}[which]
        shown = survey.element_visible(actor, element)
        denied = ""
        for d, spec in sorted(self._qc(actor, dataset_id).items()):
            if spec.role not in roles:
                continue
            if not self.gw.policy(actor, d).samples_visible(actor):
                denied = denied or d
            elif shown and element in self.gw.dataset(actor, d)["elements"]:
                return d, spec
        if denied:
            raise AccessDenied(f"the results of quality-control dataset {denied!r} are shared "
                               "as summaries only; its figures draw individual results")
        raise NotFoundError(f"no {which} quality-control results of {element!r} for dataset "
                            f"{dataset_id!r}")

    def pairs(self, actor: Actor, dataset_id: str, element: str, which: str = "field",
              method: str | None = None) -> tuple[pd.DataFrame, str]:
        """Duplicate pairs of ``element`` (``which`` = field or analytical) and their QC
        dataset's id."""
        from chemearth.qc.report import duplicate_pairs

        if which not in ("field", "analytical"):
            raise NotFoundError(f"no duplicates of kind {which!r}")
        d, spec = self._plot_source(actor, dataset_id, element, which)
        p = duplicate_pairs(self.store, d, spec, [element])
        if method:
            p = p[p["method"] == method]
        if p.empty:
            raise NotFoundError(f"no {which} duplicates of {element!r}"
                                + (f" by {method!r}" if method else ""))
        return p, d

    def charts(self, actor: Actor, dataset_id: str, element: str, method: str | None = None
               ) -> tuple[list[Any], pd.DataFrame, QcSpec, str]:
        """Control charts of ``element`` (one per material and method), batches, spec, id."""
        from chemearth.qc.report import control_results, control_table

        d, spec = self._plot_source(actor, dataset_id, element, "reference")
        res = control_results(self.store, d, spec, [element])
        if method:
            res = res[res["method"] == method]
        charts, batches, _ = control_table(res, spec)
        if not charts:
            raise NotFoundError(f"no reference-material results of {element!r}")
        key = sorted(charts)[0]
        return charts[key], batches[key], spec, d

    def figure(self, actor: Actor, dataset_id: str, element: str, plot: str, *,
               which: str = "field", method: str | None = None, material: str | None = None,
               fmt: str = "png", lang: str = "en") -> bytes:
        """A quality-control figure as PNG or SVG bytes (memoised), labelled in ``lang``."""
        from chemearth.reference.terms import label
        from chemearth.render.plots import figure_png, figure_svg
        from chemearth.render.qcplots import control_figure, thompson_howarth_figure

        if plot not in PLOTS:
            raise NotFoundError(f"no quality-control figure {plot!r}")
        if fmt not in ("png", "svg"):
            raise NotFoundError(f"no figure format {fmt!r}")

        def make() -> bytes:
            if plot == "thompson-howarth":
                p, d = self.pairs(actor, dataset_id, element, which, method)
                meth = str(p["method"].iloc[0])
                p = p[p["method"] == meth]
                fig = thompson_howarth_figure(
                    p["a"], p["b"], censored_a=p["censored_a"], censored_b=p["censored_b"],
                    element=element, unit=str(p["unit"].iloc[0]), lang=lang,
                    title=(f"{d}: {element}, {label('method', meth, lang)}" if meth
                           else f"{d}: {element}"))
            else:
                chs, batches, _, d = self.charts(actor, dataset_id, element, method)
                chart = next((c for c in chs if material is None or c.material == material),
                             None)
                if chart is None:
                    raise NotFoundError(f"no reference material {material!r}")
                fig = control_figure(chart, element=element, batches=batches, lang=lang,
                                     title=f"{d}: {chart.material}")
            return figure_png(fig) if fmt == "png" else figure_svg(fig)

        key = self._key(actor, "figure", dataset_id, element, plot, which, method, material, fmt,
                        lang)
        return bytes(self.gw.memo(key, make))

