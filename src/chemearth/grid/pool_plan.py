"""Which analyte columns of which datasets enter each pooled layer, and why others do not.

A pooled layer is one element of one medium group by one method class, in one unit
(:mod:`chemearth.reference.pooling`). :func:`plan_layers` decides its *members* — one
analyte column of each dataset that may enter — and lists everything left out with the
reason:

* quality-control and textbook datasets, and datasets that are other files of a survey
  already in the store (``same_samples_as``), never enter;
* a column whose method has no class, or a sample whose medium has no group (soil of
  unstated depth), is not pooled;
* where a dataset has two columns of one element in one class (Kola C horizon: Fe by INAA
  and by XRF, both total), the column with more values above the detection limit enters
  (ties: the first column);
* where two datasets of one group were sampled at the same sites (at least
  :data:`SAME_SITES_SHARE` of one's sites within about 10 m of the other's: Kola B and C
  horizon), only the dataset of the preferred medium enters (then the larger, then the
  first by id), so that no site counts twice. The sites of a dataset under disclosure
  control are compared only with datasets of its own organisation (the outcome is
  published: it would tell where its samples are).

Examples
--------
>>> m = Member("kola-chorizon", 1, 12, ("c-horizon",), "INAA", "total", 1)
>>> m.key
('kola-chorizon', 1, 12, 1)
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from chemearth.errors import NotFoundError
from chemearth.reference.pooling import PoolingRules
from chemearth.store.base import Store

__all__ = [
    "SAME_SITES_SHARE",
    "Admit",
    "LayerPlan",
    "Member",
    "PoolSource",
    "layer_part",
    "plan_layers",
    "rules_digest",
    "sample_groups",
]

#: Share of a dataset's sites at another dataset's sites (same group) from which the two
#: are taken as sampled at the same sites.
SAME_SITES_SHARE = 0.5
#: Decimal places of degrees that locate a site (1e-4 degrees: about 10 m).
SITE_DECIMALS = 4

#: ``admit(grid, element, medium, method, level_m, keys)``: a mask of the cells (keys of
#: ``level_m``) in which a disclosure-controlled dataset's samples may enter a pooled cell.
Admit = Callable[[str, str, str, str, int, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class PoolSource:
    """A dataset version offered to a pooled build.

    ``elements`` limits the elements that may enter (None: all); ``k`` is the disclosure
    threshold of the audience (1: the audience sees the dataset in full); ``admit`` says,
    for a controlled source (``k > 1``), in which cells its samples may enter.
    """

    dataset_id: str
    version: int
    elements: frozenset[str] | None = None
    k: int = 1
    admit: Admit | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Member:
    """One analyte column of one dataset version in a pooled layer."""

    dataset_id: str
    version: int
    column_id: int
    media: tuple[str, ...]
    method: str
    digestion: str
    k: int = 1

    @property
    def key(self) -> tuple[str, int, int, int]:
        """What identifies the member's contribution (a change means recomputing)."""
        return (self.dataset_id, self.version, self.column_id, self.k)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (stored in the pooled collection's manifest)."""
        return {"dataset_id": self.dataset_id, "version": self.version,
                "column_id": self.column_id, "media": list(self.media),
                "method": self.method, "digestion": self.digestion, "k": self.k}

    @classmethod
    def from_dict(cls, d: Mapping[str, object]) -> Member:
        """Inverse of :meth:`to_dict`."""
        return cls(str(d["dataset_id"]), int(d["version"]), int(d["column_id"]),  # type: ignore[call-overload]
                   tuple(str(m) for m in d["media"]), str(d["method"]),  # type: ignore[attr-defined]
                   str(d["digestion"]), int(d.get("k", 1)))  # type: ignore[call-overload]


@dataclass
class LayerPlan:
    """One pooled layer: what it is and its members."""

    medium: str
    method: str
    element: str
    unit: str
    members: list[Member]

    @property
    def ident(self) -> tuple[str, str, str, str]:
        """(medium group, method class, element, unit)."""
        return (self.medium, self.method, self.element, self.unit)


def layer_part(grid: str, medium: str, method: str, element: str, unit: str) -> str:
    """The part-name stem of a layer in a pooled collection.

    Examples
    --------
    >>> layer_part("global", "topsoil", "total", "Pb", "mg/kg")
    'global/topsoil/total/Pb/mg_kg-38b91c'
    """
    slug = "".join(c if c.isascii() and c.isalnum() else "_" for c in unit).strip("_") or "u"
    tag = hashlib.sha1(unit.encode("utf-8")).hexdigest()[:6]
    el = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in element)
    return f"{grid}/{medium}/{method}/{el}/{slug}-{tag}"


def rules_digest(rules: PoolingRules) -> str:
    """A digest of the rules (a change rebuilds every layer)."""
    text = json.dumps(rules.describe() | {"source": ""}, sort_keys=True)
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def sample_groups(rules: PoolingRules, samples: pd.DataFrame, dataset_bottom: float) -> np.ndarray:
    """The medium group of every sample ("" where none)."""
    media = samples["medium"].astype(str).to_numpy()
    bottom_arr = (pd.to_numeric(samples["depth_bottom_cm"], errors="coerce").to_numpy(float)
                  if "depth_bottom_cm" in samples else np.full(len(samples), np.nan))
    out = np.empty(len(samples), dtype=object)
    for i, (m, b) in enumerate(zip(media, bottom_arr, strict=True)):
        depth = b if math.isfinite(b) else dataset_bottom
        out[i] = rules.group_of(m, depth if math.isfinite(depth) else None) or ""
    return out.astype(str)


def _sites(samples: pd.DataFrame, mask: np.ndarray) -> set[tuple[float, float]]:
    lon = samples["longitude"].to_numpy(dtype=float, na_value=np.nan)[mask]
    lat = samples["latitude"].to_numpy(dtype=float, na_value=np.nan)[mask]
    ok = np.isfinite(lon) & np.isfinite(lat)
    return set(zip(np.round(lon[ok], SITE_DECIMALS).tolist(),
                   np.round(lat[ok], SITE_DECIMALS).tolist(), strict=True))


@dataclass
class _Dataset:
    source: PoolSource
    row: dict[str, object]
    groups: np.ndarray
    sites: dict[str, set[tuple[float, float]]]
    n_by_group: dict[str, int]
    media_by_group: dict[str, tuple[str, ...]]


def plan_layers(  # noqa: C901 - one pass of plain rules, each commented
    store: Store,
    sources: Iterable[PoolSource],
    rules: PoolingRules,
    *,
    catalogue: pd.DataFrame | None = None,
) -> tuple[list[LayerPlan], list[dict[str, str]]]:
    """The pooled layers ``sources`` make, and what is left out with the reason.

    Returns ``(layers, excluded)``; ``excluded`` rows have ``dataset_id``, ``element``
    (empty: the whole dataset), ``medium``, ``method`` and ``reason``.
    """
    cat = store.datasets(all_versions=True) if catalogue is None else catalogue
    excluded: list[dict[str, str]] = []

    def skip(ds: str, reason: str, element: str = "", medium: str = "",
             method: str = "") -> None:
        excluded.append({"dataset_id": ds, "element": element, "medium": medium,
                         "method": method, "reason": reason})

    datasets: dict[str, _Dataset] = {}
    for src in sources:
        rows = cat[(cat["dataset_id"] == src.dataset_id) & (cat["version"] == src.version)]
        if rows.empty:
            raise NotFoundError(f"dataset {src.dataset_id} version {src.version} is not in "
                                "the store")
        row = {str(k): v for k, v in rows.iloc[0].to_dict().items()}
        kind = str(row.get("kind") or "survey")
        if kind != "survey":
            skip(src.dataset_id, f"a {kind} dataset, not a survey")
            continue
        same = str(row.get("same_samples_as") or "")
        if same:
            skip(src.dataset_id, f"another file of the samples of {same}")
            continue
        samples = store.samples(src.dataset_id, src.version)
        bottom = pd.to_numeric(pd.Series([row.get("depth_bottom_cm")]), errors="coerce")[0]
        groups = sample_groups(rules, samples, float(bottom))
        media = samples["medium"].astype(str).to_numpy()
        for m in sorted(set(media[groups == ""].tolist())):
            skip(src.dataset_id, "medium in no group" + (" (soil of unstated depth)"
                                                          if m == "soil" else ""), medium=m)
        names = sorted(set(groups.tolist()) - {""})
        datasets[src.dataset_id] = _Dataset(
            src, row, groups,
            {g: _sites(samples, groups == g) for g in names},
            {g: int((groups == g).sum()) for g in names},
            {g: tuple(sorted(set(media[groups == g].tolist()))) for g in names},
        )

    # candidate columns per layer
    candidates: dict[tuple[str, str, str, str], list[tuple[str, pd.Series]]] = {}
    for ds, d in datasets.items():
        cols = store.measurement_columns(ds, d.source.version)
        chosen: dict[tuple[str, str, str], list[pd.Series]] = {}
        for _, col in cols.iterrows():
            element, method = str(col["element"]), str(col["method"] or "")
            digestion = str(col.get("digestion") or "unknown")
            if d.source.elements is not None and element not in d.source.elements:
                continue  # not for this audience; saying so would reveal an embargo
            cls = rules.pooled_class(element, method, digestion)
            if cls is None:
                skip(ds, f"method in no class (digestion {digestion})", element, method=method)
                continue
            chosen.setdefault((element, cls, str(col["unit"])), []).append(col)
        for (element, cls, unit), cs in chosen.items():
            pick = cs[0]
            if len(cs) > 1:
                pick = _best_column(store, ds, d.source.version, cs)
                for c in cs:
                    if c is not pick:
                        skip(ds, f"a second {cls} column of {element}; "
                             f"{pick['method']} (more values above the detection limit) "
                             "enters", element, method=str(c["method"]))
            for g in d.sites:
                candidates.setdefault((g, cls, element, unit), []).append((ds, pick))

    layers = []
    for (g, cls, element, unit), cands in sorted(candidates.items()):
        order = sorted(cands, key=lambda c: (
            min(rules.preference(m) for m in datasets[c[0]].media_by_group[g]),
            -datasets[c[0]].n_by_group[g], c[0]))
        members: list[Member] = []
        kept: list[str] = []
        for ds, col in order:
            d = datasets[ds]
            twin = next((o for o in kept if _may_compare(d, datasets[o])
                         and _same_sites(d.sites[g], datasets[o].sites[g])), "")
            if twin:
                skip(ds, f"sampled at the same sites as {twin} ({g}); "
                     f"{', '.join(datasets[twin].media_by_group[g])} is preferred",
                     element, medium=g, method=str(col["method"]))
                continue
            kept.append(ds)
            members.append(Member(ds, d.source.version, int(col["column_id"]),
                                  d.media_by_group[g], str(col["method"] or ""),
                                  str(col.get("digestion") or "unknown"), d.source.k))
        layers.append(LayerPlan(g, cls, element, unit, members))
    return layers, excluded


def _may_compare(a: _Dataset, b: _Dataset) -> bool:
    """True if the sites of ``a`` and ``b`` may be compared: the outcome (who is left out,
    and why) is published, so the sites of a dataset under disclosure control are compared
    only with datasets of its own organisation. Anyone else could otherwise place a
    dataset of a few sites and learn from the manifest whether the controlled dataset has
    samples within about 10 m of them."""
    if a.source.k <= 1 and b.source.k <= 1:
        return True
    org = str(a.row.get("organisation") or "")
    return bool(org) and org == str(b.row.get("organisation") or "")


def _same_sites(a: set[tuple[float, float]], b: set[tuple[float, float]]) -> bool:
    if not a or not b:
        return False
    common = len(a & b)
    return common >= SAME_SITES_SHARE * min(len(a), len(b))


def _best_column(store: Store, ds: str, version: int, cols: Sequence[pd.Series]) -> pd.Series:
    """The column with the most values above the detection limit (ties: the first)."""
    best, most = cols[0], -1
    for c in sorted(cols, key=lambda c: int(c["column_id"])):
        v = store.column_values(ds, version, int(c["column_id"]))
        measured = int((~np.asarray(v["censored"], dtype=bool)
                        & np.isfinite(np.asarray(v["value"], dtype=float))).sum())
        if measured > most:
            best, most = c, measured
    return best
