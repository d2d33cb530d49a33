"""The summaries at the top of the element and quality pages.

Both read only what the page itself shows its reader (the element's baseline rows, the
quality report) plus, for the element, the pooled world baselines and the soil-quality
standards, through the same access-checked services; they add no number the reader could
not find further down the page or in the API.

* :func:`element_summary`: which surveys and media hold the element, how many samples, the
  range of the surveys' medians, the median of all surveys pooled (the world layers of the
  ``total`` method class, else of any), the standards' limits, and links to the page's
  sections.
* :func:`quality_summary`: the verdict on fitness for mapping, the checks passed and failed,
  the worst items, and links to the sections.

Examples
--------
>>> s = quality_summary({"elements": [
...     {"element": "Ni", "method": "m", "fit_for_mapping": True, "sampling_pct": 4.0,
...      "analytical_pct": 1.0, "pct_censored": 0.0},
...     {"element": "Cr", "method": "m", "fit_for_mapping": False, "sampling_pct": 30.0,
...      "analytical_pct": 5.0, "pct_censored": 0.0}], "controls": [], "levelling": [],
...     "qc": [], "threshold_pct": 20.0})
>>> s["verdict"], s["fit"], s["not_fit"], [w["element"] for w in s["worst"]]
('some', 1, 1, ['Cr'])
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from chemearth.access.gateway import Gateway
from chemearth.access.policy import Actor
from chemearth.errors import ChemearthError
from chemearth.jsonable import finite

__all__ = ["element_summary", "quality_summary"]

#: How many worst items the quality summary names.
WORST = 5
#: How many pooled world medians the element summary gives.
WORLD = 3


def _surveys(gw: Gateway, rows: list[dict[str, Any]]) -> tuple[set[str], set[str]]:
    """The survey datasets among ``rows`` (each counted once: a file of a survey already
    listed, ``same_samples_as``, is left out) and the quality-control ones."""
    records = gw.snapshot().records
    surveys, qc = set(), set()
    for r in rows:
        rec = records.get(str(r["dataset_id"]), {})
        kind = str(rec.get("kind") or "survey")
        if kind == "qc":
            qc.add(str(r["dataset_id"]))
        elif kind == "survey" and not rec.get("same_samples_as"):
            surveys.add(str(r["dataset_id"]))
    return surveys, qc


def _world(gw: Gateway, actor: Actor, element: str) -> list[dict[str, Any]]:
    """World medians of the element's public pooled layers (those of the method class
    ``total`` where there are any, else any; at most :data:`WORLD`), from the samples that
    may be used one by one (a layer without such samples is left out)."""
    from chemearth.access import global_products as gp
    from chemearth.access.pooling import PUBLIC, manifest_for

    try:
        manifest = manifest_for(gw, actor, PUBLIC)
    except ChemearthError:
        return []
    layers = [x for x in manifest.get("layers", [])
              if x["element"] == element and x["grid"] == "global"]
    chosen = [x for x in layers if x["method"] == "total"] or layers
    out: list[dict[str, Any]] = []
    for x in chosen:
        if len(out) == WORLD:
            break
        try:
            table = gp.baselines(gw, actor, element, scale="world", weighting="samples",
                                 medium=x["medium"], method=x["method"]).table
        except ChemearthError:
            continue
        if len(table) and finite(table["median"].iloc[0]) is not None:
            row = table.iloc[0]
            out.append({"medium": x["medium"], "method": x["method"], "unit": str(row["unit"]),
                        "median": finite(row["median"]), "n": int(row["n"]),
                        "n_datasets": int(row["n_datasets"])})
    return out


def _standards(standards: list[dict[str, Any]], element: str) -> list[dict[str, Any]]:
    """Per standard setting a limit for ``element``: its first level's limits (over the pH
    bands) for its default land use."""
    out = []
    for s in standards:
        first = s["levels"][0] if s.get("levels") else None
        for row in s.get("limits", []):
            if (row["element"], row["level"], row["land_use"]) != (
                    element, first, s.get("default_land_use")):
                continue
            values = [v for v in row["limits"] if v is not None]
            if values:
                out.append({"id": s["id"], "title": s.get("title", ""),
                            "title_zh": s.get("title_zh", ""), "level": first,
                            "land_use": row["land_use"], "min": min(values),
                            "max": max(values), "unit": s.get("unit", "mg/kg")})
    return out


def element_summary(gw: Gateway, actor: Actor, element: str, rows: list[dict[str, Any]],
                    standards: list[dict[str, Any]]) -> dict[str, Any]:
    """The summary of an element page: ``rows`` are the page's baselines
    (:meth:`Gateway.element_baselines`), ``standards`` those of ``/api/standards``.

    Memoised per catalogue snapshot and what the actor may see (the pooled baselines read
    samples).
    """
    def make() -> dict[str, Any]:
        surveys, qc = _surveys(gw, rows)
        mine = [r for r in rows if str(r["dataset_id"]) in surveys]
        samples: dict[str, int] = {}
        for r in mine:
            ds = str(r["dataset_id"])
            samples[ds] = max(samples.get(ds, 0), int(r.get("n") or 0))
        medians = [r for r in mine if finite(r.get("median")) is not None]
        low = min(medians, key=lambda r: float(r["median"])) if medians else None
        high = max(medians, key=lambda r: float(r["median"])) if medians else None
        return {
            "element": element, "surveys": len(surveys), "qc": len(qc),
            "media": sorted({str(r["medium"]) for r in mine}),
            "samples": sum(samples.values()),
            "low": low and {"value": float(low["median"]), "dataset": low["dataset_id"],
                            "unit": low.get("unit", "")},
            "high": high and {"value": float(high["median"]), "dataset": high["dataset_id"],
                              "unit": high.get("unit", "")},
            "world": _world(gw, actor, element),
            "standards": _standards(standards, element),
            "sections": [{"anchor": f"baseline-{i}", "dataset": str(r["dataset_id"]),
                          "medium": str(r["medium"]), "method": str(r.get("method") or "")}
                         for i, r in enumerate(rows, 1)],
        }

    return dict(gw.memo(("element-summary", element, gw.sight(actor)), make))


def quality_summary(report: dict[str, Any]) -> dict[str, Any]:
    """The summary of a quality page from its report (:meth:`Inspector.report`)."""
    elements = report.get("elements") or []
    fit = Counter(e.get("fit_for_mapping") for e in elements)
    controls = report.get("controls") or []
    drift = Counter(bool(c.get("drift")) for c in controls if c.get("drift") is not None)
    assessed = fit[True] + fit[False]
    if not assessed:
        verdict = "not_assessed"
    elif not fit[False]:
        verdict = "all"
    elif not fit[True]:
        verdict = "none"
    else:
        verdict = "some"

    def share(e: dict[str, Any]) -> float:
        return float(e.get("sampling_pct") or 0) + float(e.get("analytical_pct") or 0)

    worst = sorted((e for e in elements if e.get("fit_for_mapping") is False),
                   key=share, reverse=True)[:WORST]
    drifting = [c for c in controls if c.get("drift")][:WORST]
    censored = [e for e in elements if (finite(e.get("pct_censored")) or 0) > 50]
    return {
        "verdict": verdict, "assessed": assessed, "fit": fit[True], "not_fit": fit[False],
        "not_assessed": fit[None], "n_elements": len(elements),
        "not_fit_elements": sorted({str(e["element"]) for e in elements
                                    if e.get("fit_for_mapping") is False}),
        "drift_pass": drift[False], "drift_fail": drift[True],
        "batches_rejected": sum(int(c.get("rejected") or 0) for c in controls),
        "levelled": len(report.get("levelling") or []),
        "censored": len(censored),
        "qc_roles": sorted({str(q["role"]) for q in report.get("qc") or []}),
        "threshold_pct": report.get("threshold_pct"),
        "worst": [{"element": e["element"], "method": e.get("method", ""),
                   "share": share(e)} for e in worst],
        "drifting": [{"element": c["element"], "dataset": c["dataset"],
                      "method": c.get("method", "")} for c in drifting],
        "sections": [s for s, present in (
            ("qc", True), ("elements", True), ("controls", bool(controls)),
            ("levelling", True)) if present],
    }
