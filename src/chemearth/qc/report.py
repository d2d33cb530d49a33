"""Quality-control datasets in the store, and the data-quality report of a dataset.

A quality-control dataset (descriptor ``kind = "qc"`` with a ``[qc]`` section, see
:class:`chemearth.ingest.descriptor.QcSpec`) proves the quality of a survey named by its
``survey`` key. This module reads them from the store:

* :func:`duplicate_pairs`: the pairs of a duplicates dataset (``F1``/``F2`` replicates of
  one file row, or a routine sample with status 1 and its duplicate with status 2 on the next
  row), per element and method;
* :func:`precision_table` and :func:`anova_table`: precision per element and the nested
  analysis of variance (:mod:`chemearth.qc.precision`), field duplicates together with the
  analytical duplicates of the same survey;
* :func:`control_results` and :func:`control_table`: reference-material results in
  analytical order and their control charts and batches (:mod:`chemearth.qc.control`);
* :func:`quality_report`: one dataset's data-quality report: per element and method the
  number of results, detection limits and % censored, the precision and variance shares
  from its quality-control datasets, the reference-material control, and the levelling
  applied (:mod:`chemearth.qc.levelling`).

Nothing here applies sharing rules; :class:`chemearth.access.inspector.Inspector` does, for the
web layer.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from chemearth.errors import ChemearthError, NotFoundError, StatisticsError
from chemearth.ingest.descriptor import QcSpec, parse_descriptor
from chemearth.jsonable import plain
from chemearth.qc.control import ControlChart, batch_status, control_charts
from chemearth.qc.levelling import levellings
from chemearth.qc.precision import MAPPING_SHARE, precision, variance_components
from chemearth.store.base import Store

__all__ = [
    "QualityReport",
    "anova_table",
    "control_results",
    "control_table",
    "duplicate_pairs",
    "linked_qc",
    "precision_table",
    "qc_spec",
    "quality_report",
    "regional_values",
]

_KEYS = ["element", "method", "unit"]


def _record(rows: pd.DataFrame, dataset_id: str) -> dict[str, Any]:
    """A dataset's catalogue row (:meth:`Store.datasets`) as a dict."""
    row = rows[rows["dataset_id"] == dataset_id]
    if row.empty:
        raise NotFoundError(f"dataset {dataset_id!r} is not in the store")
    return {str(k): v for k, v in row.iloc[0].items()}


def _spec_of(rec: Mapping[Any, Any]) -> QcSpec | None:
    """The ``[qc]`` section of a catalogue row's descriptor (None when it has none)."""
    if str(rec["kind"]) != "qc" or not str(rec["descriptor"] or ""):
        return None
    return parse_descriptor(str(rec["descriptor"])).qc


def qc_spec(store: Store, dataset_id: str) -> QcSpec | None:
    """The ``[qc]`` section of a dataset's descriptor (None when it has none)."""
    return _spec_of(_record(store.datasets(), dataset_id))


def linked_qc(store: Store, survey_id: str, rows: pd.DataFrame | None = None
              ) -> dict[str, QcSpec]:
    """The quality-control datasets whose ``[qc].survey`` is ``survey_id``, by id.

    ``rows`` is the catalogue (:meth:`Store.datasets`) when the caller has read it already.
    """
    rows = store.datasets() if rows is None else rows
    out: dict[str, QcSpec] = {}
    for rec in rows[rows["kind"].astype(str) == "qc"].to_dict("records"):
        try:
            spec = _spec_of(rec)
        except ChemearthError:
            continue
        if spec is not None and spec.survey == survey_id:
            out[str(rec["dataset_id"])] = spec
    return out


def _attributes(samples: pd.DataFrame) -> pd.DataFrame:
    attrs = [json.loads(a) if isinstance(a, str) and a else {} for a in samples["attributes"]]
    return pd.DataFrame(attrs, index=samples.index)


def _require(store: Store, dataset_id: str, spec: QcSpec | None = None) -> QcSpec:
    spec = spec or qc_spec(store, dataset_id)
    if spec is None:
        raise StatisticsError(f"dataset {dataset_id!r} is not a quality-control dataset "
                              "(no [qc] section in its descriptor)")
    return spec


def duplicate_pairs(store: Store, dataset_id: str, spec: QcSpec | None = None,
                    elements: list[str] | None = None) -> pd.DataFrame:
    """Duplicate pairs of a duplicates dataset, one row per pair, element and method.

    Columns: ``pair`` (the file row of the first result), ``element``, ``method``,
    ``unit``, ``a``, ``b``, ``censored_a``, ``censored_b``, ``order`` (the first result's
    sample id as a number, NaN when not numeric).

    Raises
    ------
    StatisticsError
        For a dataset that is not a duplicates dataset.
    """
    spec = _require(store, dataset_id, spec)
    samples = store.samples(dataset_id)
    attrs = _attributes(samples)
    if spec.role in ("field-duplicates", "analytical-duplicates"):
        rep = attrs.get("replicate", pd.Series("", index=samples.index)).astype(str)
        first, second = sorted(rep[rep != ""].unique())[:2] if rep.ne("").any() else ("", "")
        key = samples["source_row"]
        a_idx = samples.loc[rep == first, ["sample_index"]].assign(pair=key[rep == first])
        b_idx = samples.loc[rep == second, ["sample_index"]].assign(pair=key[rep == second])
    elif spec.role == "replicate-status":
        status = attrs.get(spec.status_column, pd.Series("", index=samples.index)).astype(str)
        rows = samples.assign(status=status.str.strip()).sort_values("source_row")
        nxt = rows.shift(-1)
        ok = (rows["status"] == "1") & (nxt["status"] == "2")
        a_idx = pd.DataFrame({"sample_index": rows.loc[ok, "sample_index"].to_numpy(),
                              "pair": rows.loc[ok, "source_row"].to_numpy()})
        b_idx = pd.DataFrame({"sample_index": nxt.loc[ok, "sample_index"].astype(int).to_numpy(),
                              "pair": rows.loc[ok, "source_row"].to_numpy()})
    else:
        raise StatisticsError(f"dataset {dataset_id!r} holds {spec.role} results, not "
                              "duplicate pairs")
    m = store.measurements(dataset_id, elements=elements)
    cols = ["sample_index", "sample_id", "element", "method", "unit", "value", "censored"]
    m = m[cols]
    ma = m.merge(a_idx, on="sample_index")
    mb = m.merge(b_idx, on="sample_index")
    pairs = ma.merge(mb, on=["pair", *_KEYS], suffixes=("_a", "_b"))
    out = pd.DataFrame({
        "pair": pairs["pair"].astype(int), "element": pairs["element"].astype(str),
        "method": pairs["method"].astype(str), "unit": pairs["unit"].astype(str),
        "a": pairs["value_a"].astype(float), "b": pairs["value_b"].astype(float),
        "censored_a": pairs["censored_a"].astype(bool),
        "censored_b": pairs["censored_b"].astype(bool),
        "order": pd.to_numeric(pairs["sample_id_a"], errors="coerce"),
    })
    return out.sort_values(["element", "method", "pair"]).reset_index(drop=True)


def regional_values(store: Store, dataset_id: str, spec: QcSpec | None = None,
                    measurements: pd.DataFrame | None = None) -> pd.DataFrame:
    """Routine results of a replicate-status dataset (status 0 and 1, not the duplicates),
    from ``measurements`` (the dataset's, when the caller has read them already)."""
    spec = _require(store, dataset_id, spec)
    samples = store.samples(dataset_id)
    status = _attributes(samples).get(spec.status_column, pd.Series("", index=samples.index))
    keep = samples.loc[status.astype(str).str.strip().isin(["0", "1"]), "sample_index"]
    m = store.measurements(dataset_id) if measurements is None else measurements
    return m[m["sample_index"].isin(keep)]


def precision_table(pairs: pd.DataFrame) -> pd.DataFrame:
    """Precision per element, method and unit of :func:`duplicate_pairs` output.

    Columns: the keys, then :meth:`chemearth.qc.precision.Precision.to_dict` (``n_pairs``,
    ``n_left_out``, ``mean``, ``rsd_pct``, ``rsd_pooled_pct``, ``sd_log10``,
    ``precision_pct``, ``th_s0``, ``th_k_pct``). Groups with fewer than 2 usable pairs are
    left out.
    """
    rows = []
    for (el, meth, unit), g in pairs.groupby(_KEYS, sort=True):
        try:
            p = precision(g["a"], g["b"], g["censored_a"], g["censored_b"])
        except StatisticsError:
            continue
        rows.append({"element": el, "method": meth, "unit": unit, **p.to_dict()})
    return pd.DataFrame(rows)


def _usable(g: pd.DataFrame) -> pd.DataFrame:
    ok = ~(g["censored_a"] | g["censored_b"]) & (g["a"] > 0) & (g["b"] > 0)
    return g[ok]


def anova_table(field_pairs: pd.DataFrame, analytical_pairs: pd.DataFrame | None = None,
                survey: pd.DataFrame | None = None, threshold: float = MAPPING_SHARE
                ) -> pd.DataFrame:
    """Nested ANOVA per element, method and unit (log10 values).

    Parameters
    ----------
    field_pairs : DataFrame
        :func:`duplicate_pairs` of field duplicates (or of a replicate-status dataset).
    analytical_pairs : DataFrame, optional
        :func:`duplicate_pairs` of analytical duplicates of the same survey.
    survey : DataFrame, optional
        The survey's measurements: adds ``survey_share_pct``, the within-site variance as a
        share of the variance of the survey's log10 values.
    threshold : float
        Largest measurement share of the total variance still fit for mapping.

    Returns
    -------
    DataFrame
        The keys and :meth:`chemearth.qc.precision.Components.to_dict`; groups with fewer than
        3 usable field pairs are left out.
    """
    an = {k: _usable(g) for k, g in analytical_pairs.groupby(_KEYS)} if (
        analytical_pairs is not None and not analytical_pairs.empty) else {}
    sv: dict[Any, np.ndarray] = {}
    if survey is not None and not survey.empty:
        s = survey[~survey["censored"].astype(bool) & (survey["value"] > 0)]
        sv = {k: np.log10(g["value"].to_numpy(float))
              for k, g in s.groupby(["element", "method", "unit"])}
    rows = []
    for key, group in field_pairs.groupby(_KEYS, sort=True):
        g = _usable(group)
        a = an.get(key)
        try:
            c = variance_components(g["a"], g["b"],
                                    None if a is None or len(a) < 2 else a["a"],
                                    None if a is None or len(a) < 2 else a["b"],
                                    threshold=threshold)
        except StatisticsError:
            continue
        rec = {"element": key[0], "method": key[1], "unit": key[2], **c.to_dict()}
        s_log = sv.get(key)
        var = float(np.var(s_log, ddof=1)) if s_log is not None and len(s_log) > 2 else 0.0
        rec["survey_share_pct"] = 100 * c.ms_within / var if var > 0 else math.nan
        rows.append(rec)
    return pd.DataFrame(rows)


def control_results(store: Store, dataset_id: str, spec: QcSpec | None = None,
                    elements: list[str] | None = None) -> pd.DataFrame:
    """Uncensored reference-material results: ``element``, ``method``, ``unit``,
    ``material``, ``order``, ``value``, ``sample_id``, ``n_censored`` (per group).

    Raises
    ------
    StatisticsError
        For a dataset that is not a reference-material dataset.
    """
    spec = _require(store, dataset_id, spec)
    if spec.role != "reference-material":
        raise StatisticsError(f"dataset {dataset_id!r} holds {spec.role}, not reference-"
                              "material results")
    samples = store.samples(dataset_id)
    if spec.material_column:
        material = _attributes(samples).get(spec.material_column,
                                            pd.Series("", index=samples.index)).astype(str)
    else:
        material = pd.Series(spec.material, index=samples.index)
    order = (pd.to_numeric(samples["sample_id"], errors="coerce") if spec.order == "sample_id"
             else samples["source_row"].astype(float))
    info = pd.DataFrame({"sample_index": samples["sample_index"], "material": material,
                         "order": order})
    m = store.measurements(dataset_id, elements=elements)
    m = m.merge(info, on="sample_index")
    n_cens = m.groupby([*_KEYS, "material"])["censored"].transform("sum")
    m = m.assign(n_censored=n_cens)
    m = m[~m["censored"].astype(bool) & m["order"].notna()]
    return m[[*_KEYS, "material", "order", "value", "sample_id", "n_censored"]].reset_index(
        drop=True)


def _batcher(spec: QcSpec) -> Callable[[float], int] | None:
    size = spec.batch_size
    if size <= 0:
        return None
    return lambda pos: math.ceil(pos / size)


def control_table(results: pd.DataFrame, spec: QcSpec, reference: pd.DataFrame | None = None
                  ) -> tuple[dict[tuple[str, str, str], list[ControlChart]],
                             dict[tuple[str, str, str], pd.DataFrame], pd.DataFrame]:
    """Control charts per element/method/unit and the batch status of each.

    Returns the charts by key, the batches by key (:func:`chemearth.qc.control.batch_status`
    with the spec's batch size) and a summary table: the keys, ``materials``, ``n``,
    ``rsd_pct`` (the largest of the materials), ``max_abs_bias_pct``, ``drift`` (any
    material), ``batches``, ``warned``, ``rejected``.
    """
    charts: dict[tuple[str, str, str], list[ControlChart]] = {}
    batches: dict[tuple[str, str, str], pd.DataFrame] = {}
    rows = []
    for key, g in results.groupby(_KEYS, sort=True):
        ref = None
        if reference is not None and not reference.empty:
            ref = reference[reference["element"] == key[0]]
        try:
            chs = control_charts(g, ref)
        except StatisticsError:
            continue
        k = (str(key[0]), str(key[1]), str(key[2]))
        charts[k] = chs
        b = batches[k] = batch_status(chs, _batcher(spec))
        biases = [abs(c.bias_pct) for c in chs if math.isfinite(c.bias_pct)]
        rows.append({"element": k[0], "method": k[1], "unit": k[2],
                     "materials": len(chs), "n": sum(c.n for c in chs),
                     "rsd_pct": max(c.rsd_pct for c in chs),
                     "max_abs_bias_pct": max(biases) if biases else math.nan,
                     "drift": any(c.drift for c in chs), "batches": len(b),
                     "warned": int((b["status"] == "warn").sum()),
                     "rejected": int((b["status"] == "reject").sum())})
    return charts, batches, pd.DataFrame(rows)


@dataclass
class QualityReport:
    """The data-quality report of one dataset.

    Attributes
    ----------
    dataset_id, kind : str
        The dataset and its kind.
    role : str
        Its quality-control role ("" for a survey).
    qc : dict
        The quality-control datasets behind the figures, id → role.
    elements : DataFrame
        Per element, method and unit: ``n``, ``n_censored``, ``pct_censored``, ``dl_min``,
        ``dl_max``; from duplicates ``rsd_field_pct``, ``rsd_analytical_pct``,
        ``n_field_pairs``, ``n_analytical_pairs``, ``between_site_pct``, ``sampling_pct``,
        ``analytical_pct``, ``measurement_pct``, ``fit_for_mapping``; from reference
        materials ``control_rsd_pct``, ``control_drift``, ``batches_rejected``; and
        ``levelled`` (the transform of a levelled column, else "").
    controls : DataFrame
        :func:`control_table` summary (reference-material datasets).
    levelling : list of dict
        The levelling records of the dataset's provenance.
    threshold : float
        The measurement share above which an element is unfit for mapping.
    """

    dataset_id: str
    kind: str
    role: str
    qc: dict[str, str]
    elements: pd.DataFrame
    controls: pd.DataFrame = field(default_factory=pd.DataFrame)
    levelling: list[dict[str, Any]] = field(default_factory=list)
    threshold: float = MAPPING_SHARE

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"dataset": self.dataset_id, "kind": self.kind, "role": self.role,
                "qc": self.qc, "threshold_pct": 100 * self.threshold,
                "elements": _records(self.elements), "controls": _records(self.controls),
                "levelling": self.levelling}


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for rec in frame.to_dict("records"):
        out.append({str(k): plain(v) for k, v in rec.items()})
    return out


def _detection(m: pd.DataFrame) -> pd.DataFrame:
    """n, censored and detection limits per element, method and unit."""
    if m.empty:
        return pd.DataFrame(columns=[*_KEYS, "n", "n_censored", "pct_censored", "dl_min",
                                     "dl_max"])
    g = m.assign(censored=m["censored"].astype(bool)).groupby(_KEYS, sort=True)
    out = g.agg(n=("value", "size"), n_censored=("censored", "sum"),
                dl_min=("detection_limit", "min"), dl_max=("detection_limit", "max"))
    out["pct_censored"] = 100 * out["n_censored"] / out["n"]
    return out.reset_index()[[*_KEYS, "n", "n_censored", "pct_censored", "dl_min", "dl_max"]]


def quality_report(store: Store, dataset_id: str, *, reference: pd.DataFrame | None = None,
                   threshold: float = MAPPING_SHARE, qc: dict[str, QcSpec] | None = None,
                   elements: list[str] | None = None,
                   hidden: Mapping[str, Collection[str]] | None = None) -> QualityReport:
    """The data-quality report of ``dataset_id``.

    Parameters
    ----------
    store : Store
    dataset_id : str
        A survey (its linked quality-control datasets are used) or a quality-control
        dataset (its own results are used).
    reference : DataFrame, optional
        Certified values of reference materials: ``material``, ``element``, ``value``,
        optionally ``sd``.
    threshold : float
        Measurement share of the total variance above which an element is unfit for mapping.
    qc : dict, optional
        The quality-control datasets to use (id → spec), instead of those linked in the
        store (the web layer passes only those the actor may see).
    elements : list of str, optional
        Only these elements.
    hidden : mapping, optional
        Elements to leave out, per dataset id (the survey's or a quality-control
        dataset's): the web layer hides embargoed elements this way.
    """
    hide = {k: set(v) for k, v in (hidden or {}).items()}

    def pairs_of(d: str) -> pd.DataFrame:
        assert qc is not None
        p = duplicate_pairs(store, d, qc[d], elements)
        return p[~p["element"].isin(hide.get(d, set()))]

    rows = store.datasets()
    rec = _record(rows, dataset_id)
    own = _spec_of(rec)
    if qc is None:
        qc = {dataset_id: own} if own is not None else linked_qc(store, dataset_id, rows)
    m = store.measurements(dataset_id, elements=elements)
    m = m[~m["element"].astype(str).isin(hide.get(dataset_id, set()))]
    table = _detection(m)
    survey = m if own is None else None
    by_role: dict[str, list[str]] = {}
    for ds, spec in sorted(qc.items()):
        by_role.setdefault(spec.role, []).append(ds)
    field_ds = by_role.get("field-duplicates", []) + by_role.get("replicate-status", [])
    anal_ds = by_role.get("analytical-duplicates", [])
    fp = pd.concat([pairs_of(d) for d in field_ds]) if field_ds else pd.DataFrame()
    ap = pd.concat([pairs_of(d) for d in anal_ds]) if anal_ds else pd.DataFrame()
    if own is not None and own.role == "replicate-status":
        survey = regional_values(store, dataset_id, own, m)  # m: hidden elements left out
    extra = []
    if not fp.empty:
        pf = precision_table(fp).rename(columns={"rsd_pct": "rsd_field_pct",
                                                 "n_pairs": "n_field_pairs"})
        extra.append(pf[[*_KEYS, "rsd_field_pct", "n_field_pairs"]])
        av = anova_table(fp, ap if not ap.empty else None, survey, threshold)
        if not av.empty:
            extra.append(av[[*_KEYS, "between_site_pct", "sampling_pct", "analytical_pct",
                             "measurement_pct", "survey_share_pct", "fit_for_mapping"]])
    if not ap.empty:
        pa_ = precision_table(ap).rename(columns={"rsd_pct": "rsd_analytical_pct",
                                                  "n_pairs": "n_analytical_pairs"})
        extra.append(pa_[[*_KEYS, "rsd_analytical_pct", "n_analytical_pairs"]])
    controls = pd.DataFrame()
    for d in by_role.get("reference-material", []):
        res = control_results(store, d, qc[d], elements)
        res = res[~res["element"].isin(hide.get(d, set()))]
        _, _, summary = control_table(res, qc[d], reference)
        if summary.empty:
            continue
        summary.insert(0, "dataset", d)
        controls = pd.concat([controls, summary], ignore_index=True)
        extra.append(summary.rename(columns={"rsd_pct": "control_rsd_pct",
                                             "drift": "control_drift",
                                             "rejected": "batches_rejected"})
                     [[*_KEYS, "control_rsd_pct", "control_drift", "batches_rejected"]]
                     .groupby(_KEYS, as_index=False).first())
    for e in extra:
        table = table.merge(e, on=_KEYS, how="left")
    lev = [x for x in levellings(rec.get("extra"))
           if str(x.get("element")) not in hide.get(dataset_id, set())]
    by_method = {(str(x["element"]), str(x["method"])): x["transform"].get("formula", "")
                 for x in lev}
    table["levelled"] = [by_method.get((str(e), str(mt)), "")
                         for e, mt in zip(table["element"], table["method"], strict=True)]
    return QualityReport(dataset_id=dataset_id, kind=str(rec["kind"]),
                         role=own.role if own else "", qc={d: s.role for d, s in qc.items()},
                         elements=table, controls=controls, levelling=lev, threshold=threshold)
