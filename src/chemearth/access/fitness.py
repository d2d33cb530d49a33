"""Fitness-for-purpose notes: the quality-control verdict of a measurement, as an actor
may see it.

Every answer of a measurement (a map layer's legend, a cell, an interpolated surface, a
sample or cell feature) carries its dataset's quality-control verdict for the element,
method and unit where quality-control data exist: the precision of the duplicates (relative standard
deviation of the field duplicates, and of the analytical duplicates), the measurement
share of the variance (sampling + analytical, from the nested analysis of variance), and
whether that share is small enough for mapping (:data:`chemearth.qc.precision.MAPPING_SHARE`).

The verdict is a row of the dataset's data-quality report as
:meth:`chemearth.access.inspector.Inspector.report` gives it to the actor, so the same
sharing rules apply as to the quality pages: a quality-control dataset the actor may not
see does not count (as if it did not exist), an element embargoed in the survey or in a
quality-control dataset is left out of that dataset's figures, figures of an
aggregated-only survey or quality-control dataset are left out under disclosure control.

Verdicts are computed once per catalogue snapshot and per *what the actor may see of the
dataset and its quality-control datasets* (:meth:`Fitness.sight`), kept per actor, and
looked up from a dict afterwards: the fast cell answers
(:class:`chemearth.web.answers.FastAnswers`) ask for one per request
(:meth:`Fitness.known_table`), and leave the first, which computes the dataset's quality
report (seconds), to the routes. The layer list carries none, for that reason.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, Final

from chemearth.access.catalogue import Snapshot
from chemearth.access.gateway import Gateway, LayerView, PooledView
from chemearth.access.policy import Actor, Policy
from chemearth.access.pooling import is_pooled
from chemearth.errors import ChemearthError

__all__ = ["VERDICT_FIELDS", "Fitness", "Table"]

#: The fields of a verdict, from the columns of the data-quality report.
VERDICT_FIELDS: Final = {
    "precision_rsd_pct": "rsd_field_pct",
    "n_pairs": "n_field_pairs",
    "analytical_rsd_pct": "rsd_analytical_pct",
    "n_analytical_pairs": "n_analytical_pairs",
    "measurement_pct": "measurement_pct",
    "fit_for_mapping": "fit_for_mapping",
}
_FIELD_ROLES: Final = ("field-duplicates", "replicate-status")
_ANALYTICAL_ROLES: Final = ("analytical-duplicates",)
#: the figures without which there is no verdict
_FIGURES: Final = ("precision_rsd_pct", "analytical_rsd_pct", "measurement_pct")

_LINKS: Final = ("fitness-links",)

Key = tuple[str, str, str]  # element, method, unit
Table = dict[Key, dict[str, Any]]


def _hidden(pol: Policy, actor: Actor) -> tuple[str, ...]:
    return tuple(sorted(e for e in pol.embargo if not pol.element_visible(actor, e)))


class Fitness:
    """Quality-control verdicts of measurements behind the access rules.

    Examples
    --------
    >>> from chemearth.access.policy import Actor
    >>> f = Fitness(Gateway(store))                                    # doctest: +SKIP
    >>> f.verdict(Actor.anonymous(), "kola-chorizon", "Cu", AQUA_REGIA, "mg/kg")  # doctest: +SKIP
    {'qc_datasets': [...], 'precision_rsd_pct': 9.6, ..., 'fit_for_mapping': True}
    """

    def __init__(self, gateway: Gateway) -> None:
        self.gw = gateway

    # ------------------------------------------------------------------ what is linked

    def links(self, snap: Snapshot | None = None) -> dict[str, tuple[str, ...]]:
        """Survey id → the ids of its quality-control datasets (``[qc].survey``), sorted;
        read from the catalogue once per snapshot (``snap``: the caller's)."""
        from chemearth.ingest.descriptor import parse_descriptor

        snap = snap if snap is not None else self.gw.snapshot()
        hit = snap.memo.get(_LINKS)
        if hit is not None:
            return hit  # type: ignore[no-any-return]

        def make() -> dict[str, tuple[str, ...]]:
            out: dict[str, list[str]] = {}
            for ds, rec in sorted(snap.records.items()):
                if str(rec.get("kind")) != "qc" or not str(rec.get("descriptor") or ""):
                    continue
                try:
                    spec = parse_descriptor(str(rec["descriptor"])).qc
                except ChemearthError:
                    continue
                if spec is not None:
                    out.setdefault(spec.survey, []).append(ds)
            return {s: tuple(ids) for s, ids in out.items()}

        links: dict[str, tuple[str, ...]] = self.gw.memo(_LINKS, make)
        return links

    def sight(self, actor: Actor, dataset_id: str, snap: Snapshot | None = None
              ) -> tuple[Hashable, ...] | None:
        """What ``actor`` may see of ``dataset_id`` and its quality-control datasets (the
        verdicts depend on nothing else), or None when no verdict can exist: the dataset
        is not visible, has no quality-control dataset, or none the actor may see."""
        snap = snap if snap is not None else self.gw.snapshot()
        linked = self.links(snap).get(dataset_id)
        if not linked:
            return None
        pol = snap.policies.get(dataset_id)
        if pol is None or not pol.visible(actor):
            return None
        seen = tuple((d, p.min_cell_n(actor), _hidden(p, actor)) for d in linked
                     if (p := snap.policies.get(d)) is not None and p.visible(actor))
        if not seen:
            return None
        return (dataset_id, pol.min_cell_n(actor), _hidden(pol, actor), seen)

    # ------------------------------------------------------------------ verdicts

    def table(self, actor: Actor, dataset_id: str) -> Table:
        """Verdicts of ``dataset_id`` by (element, method, unit) as ``actor`` may see them
        (computed once per catalogue snapshot and :meth:`sight`, kept per actor; callers
        must not change it). After the first, a look-up asks the store only whether the
        catalogue changed (one ``stat`` of the embedded store)."""
        snap = self.gw.snapshot()
        mine = ("fitness-of", actor, dataset_id)  # the actor's own, found without asking
        hit = snap.memo.get(mine)
        if hit is not None:
            return hit  # type: ignore[no-any-return]
        key = self.sight(actor, dataset_id, snap)
        table: Table = {} if key is None else self.gw.memo(
            ("fitness", key), lambda: self._table(actor, dataset_id))
        snap.memo[mine] = table
        return table

    def known_table(self, actor: Actor, dataset_id: str) -> Table | None:
        """:meth:`table` when it is computed already (for this snapshot), else None: never
        reads the store (the fast answers ask this, and leave a first look-up, which
        computes the dataset's quality report, to the routes)."""
        snap = self.gw.snapshot()
        mine = ("fitness-of", actor, dataset_id)
        hit = snap.memo.get(mine)
        if hit is not None:
            return hit  # type: ignore[no-any-return]
        key = self.sight(actor, dataset_id, snap)
        hit = {} if key is None else snap.memo.get(("fitness", key))
        if hit is not None:
            snap.memo[mine] = hit
        return hit

    def _table(self, actor: Actor, dataset_id: str) -> Table:
        from chemearth.access.inspector import Inspector

        report = Inspector(self.gw).report(actor, dataset_id)
        roles = {q["dataset"]: q["role"] for q in report["qc"]}
        held = {d: set(self.gw.dataset(actor, d)["elements"]) for d in roles}
        out: Table = {}
        for row in report["elements"]:
            v: dict[str, Any] = {k: row.get(col) for k, col in VERDICT_FIELDS.items()}
            if all(v[k] is None for k in _FIGURES):
                continue
            for n in ("n_pairs", "n_analytical_pairs"):  # counts (floats in the table)
                v[n] = None if v[n] is None else int(v[n])
            el = str(row["element"])
            used = []
            if v["precision_rsd_pct"] is not None or v["measurement_pct"] is not None:
                used += [d for d, r in roles.items() if r in _FIELD_ROLES and el in held[d]]
            if v["analytical_rsd_pct"] is not None:
                used += [d for d, r in roles.items() if r in _ANALYTICAL_ROLES and el in held[d]]
            v["qc_datasets"] = sorted(set(used))
            v["threshold_pct"] = report["threshold_pct"]
            out[(el, str(row["method"] or ""), str(row["unit"]))] = v
        return out

    def verdict(self, actor: Actor, dataset_id: str, element: str, method: str | None,
                unit: str, table: Table | None = None) -> dict[str, Any] | None:
        """The verdict of one measurement (a fresh dict), or None where there is none
        (``table``: :meth:`table` of the dataset when the caller has it)."""
        table = self.table(actor, dataset_id) if table is None else table
        v = table.get((element, method or "", unit))
        return None if v is None else {**v, "qc_datasets": list(v["qc_datasets"])}

    # ------------------------------------------------------------------ answers

    def view_verdict(self, actor: Actor, view: LayerView, table: Table | None = None
                     ) -> dict[str, Any] | None:
        """The verdict of a layer view's measurement (None for a pooled layer, which pools
        several datasets, and where there is none; ``table`` as for :meth:`verdict`)."""
        if isinstance(view, PooledView) or is_pooled(view.dataset_id):
            return None
        return self.verdict(actor, view.dataset_id, view.element, view.method, view.unit,
                            table)

    def attach(self, actor: Actor, record: dict[str, Any]) -> dict[str, Any]:
        """A cell record (or a cell feature's properties: ``dataset``, ``element``,
        ``method``, ``unit``) with its verdict as ``qc`` (None where there
        is none); changed in place and returned."""
        record["qc"] = self.verdict(actor, str(record["dataset"]), str(record["element"]),
                                    record.get("method"), str(record.get("unit") or ""))
        return record

    def sample_columns(self, actor: Actor, dataset_id: str) -> dict[str, dict[str, Any]]:
        """Verdicts by analyte column of the sample features of ``dataset_id`` (their
        property names: :func:`chemearth.render.sample_export.samples_wide`); only
        columns with a verdict."""
        table = self.table(actor, dataset_id)
        if not table:
            return {}
        from chemearth.render.sample_export import analyte_columns

        version = int(self.gw.snapshot().records[dataset_id]["version"])
        cols: dict[str, tuple[str, str, str]] = self.gw.memo(
            ("analyte-columns", dataset_id, version),
            lambda: analyte_columns(self.gw.store, dataset_id, version))
        out = {}
        for name, key in cols.items():
            v = table.get(key)
            if v is not None:
                out[name] = {**v, "qc_datasets": list(v["qc_datasets"])}
        return out

    def sample_features(self, actor: Actor, dataset_id: str,
                        features: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Sample features with ``qc`` added to their properties: the verdicts of the
        analyte columns they hold (changed in place and returned)."""
        by_column = self.sample_columns(actor, dataset_id) if features else {}
        for f in features:
            props = f["properties"]
            props["qc"] = {c: {**v, "qc_datasets": list(v["qc_datasets"])}
                           for c, v in by_column.items() if c in props}
        return features

    def cell_features(self, actor: Actor, features: list[dict[str, Any]]
                      ) -> list[dict[str, Any]]:
        """Cell features with their verdict as the ``qc`` property (in place)."""
        for f in features:
            self.attach(actor, f["properties"])
        return features
