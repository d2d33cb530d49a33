"""Pairing the samples of two datasets: by a declared key, or by co-location.

Enrichment ratios and paired change compare two analyses *of one site*. A sample id alone
does not say that: two unrelated surveys both number their samples 1, 2, 3 … Two samples
of different datasets are therefore paired only by one of two rules:

* **declared** — one of the two datasets declares that it holds the same samples
  (``[dataset].same_samples_as``: another file of the same analyses) or the same sites
  under the same sample ids (``[dataset].same_sites_as``: another medium or depth of one
  survey, e.g. the Baltic Soil Survey bottom layer and its top layer) as the other one, or
  the two are one dataset. Samples are then paired by equal sample id (the ``[sample].id``
  column of both files). A declaration links the two datasets it names only: links are
  not followed in chains, so no third dataset can join two unrelated ones.
* **co-located** — otherwise, each sample is paired with the nearest sample of the other
  dataset within ``max_distance_m`` (great-circle distance), one to one: candidate pairs
  are taken by increasing distance (equal distances: equal sample ids first, then file
  order) and a sample already used is never used again. Samples without coordinates are
  never co-located.

Sample ids are never compared across datasets that neither declare a link nor are
co-located. No pair at all is a :class:`PairingError` naming both datasets and the rule.

Default distance: :data:`DEFAULT_MAX_DISTANCE_M` = 20 m, the location error of a site
sampled again (a handheld GPS fix, ±5–10 m, plus the 10 m × 10 m square over which
composite soil samples are usually collected), and less than half the closest spacing of
two sites in the densest survey shipped (Meuse floodplain: 44 m), so that no neighbouring
site is taken for the same one. Give ``max_distance_m`` (up to
:data:`MAX_DISTANCE_LIMIT_M`) for coordinates published with less precision.

Examples
--------
>>> a = pd.DataFrame({"sample_id": ["1", "2"], "longitude": [10.0, 11.0],
...                   "latitude": [50.0, 50.0]})
>>> b = pd.DataFrame({"sample_id": ["2", "7"], "longitude": [10.0001, 12.0],
...                   "latitude": [50.0, 50.0]})
>>> p = pair_frames(a, b, names=("a", "b"))
>>> p.rule, p.n_pairs, p.pairs["sample_id_first"].tolist(), p.pairs["sample_id_second"].tolist()
('co-located', 1, ['1'], ['2'])
>>> round(float(p.pairs["distance_m"].iloc[0]), 1)
7.1
>>> pair_frames(a, b, same_sites="b same_sites_as a", names=("a", "b")).description
'declared (b same_sites_as a): paired by sample id'
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from chemearth.errors import ChemearthError, NotFoundError
from chemearth.store.base import Store

__all__ = [
    "DEFAULT_MAX_DISTANCE_M",
    "EARTH_RADIUS_M",
    "MAX_DISTANCE_LIMIT_M",
    "PairingError",
    "SamplePairs",
    "check_max_distance",
    "colocate",
    "declared_link",
    "great_circle_m",
    "pair_datasets",
    "pair_frames",
]

#: Default greatest distance between two co-located samples (m); see the module docstring.
DEFAULT_MAX_DISTANCE_M = 20.0
#: Largest ``max_distance_m`` accepted: farther apart is another site, not the same one.
MAX_DISTANCE_LIMIT_M = 1_000.0
#: Mean Earth radius (IUGG), m.
EARTH_RADIUS_M = 6_371_008.8

_PAIR_COLUMNS = ["sample_id_first", "sample_id_second", "distance_m"]


class PairingError(ChemearthError, ValueError):
    """The samples of two datasets cannot be paired (no declared link, none co-located)."""

    exit_code = 2


@dataclass(frozen=True)
class SamplePairs:
    """Pairs of samples of two datasets and the rule that made them.

    ``pairs`` has ``sample_id_first``, ``sample_id_second`` and ``distance_m`` (NaN where
    a declared pair lacks coordinates); ``rule`` is ``declared`` or ``co-located``;
    ``max_distance_m`` is the distance allowed (None for declared pairs).
    """

    first: str
    second: str
    rule: str
    declaration: str
    max_distance_m: float | None
    pairs: pd.DataFrame

    @property
    def n_pairs(self) -> int:
        """Number of pairs."""
        return len(self.pairs)

    @property
    def description(self) -> str:
        """The rule in words, e.g. ``co-located within 20 m``."""
        if self.rule == "declared":
            return f"declared ({self.declaration}): paired by sample id"
        return f"co-located within {self.max_distance_m:g} m"

    def to_dict(self) -> dict[str, Any]:
        """The rule, distance and counts (no sample id)."""
        d = self.pairs["distance_m"].to_numpy(float)
        has = np.isfinite(d)
        return {"first": self.first, "second": self.second, "rule": self.rule,
                "description": self.description, "max_distance_m": self.max_distance_m,
                "n_pairs": self.n_pairs,
                "max_pair_distance_m": float(d[has].max()) if has.any() else None}


def great_circle_m(lon1: Any, lat1: Any, lon2: Any, lat2: Any) -> np.ndarray:
    """Haversine distance in metres between points given in degrees (WGS84 as a sphere).

    >>> float(great_circle_m(0.0, 0.0, 0.0, 1.0).round())
    111195.0
    """
    lo1, la1, lo2, la2 = (np.radians(np.asarray(v, float)) for v in (lon1, lat1, lon2, lat2))
    h = (np.sin((la2 - la1) / 2) ** 2
         + np.cos(la1) * np.cos(la2) * np.sin((lo2 - lo1) / 2) ** 2)
    return np.asarray(2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0))))


def check_max_distance(max_distance_m: float) -> float:
    """``max_distance_m`` as a float, or a :class:`PairingError` if it is out of range."""
    d = float(max_distance_m)
    if not (math.isfinite(d) and 0 < d <= MAX_DISTANCE_LIMIT_M):
        raise PairingError(f"max_distance_m: {max_distance_m!r} must be more than 0 and at "
                           f"most {MAX_DISTANCE_LIMIT_M:g} m")
    return d


def _unit_xyz(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    lo, la = np.radians(lon), np.radians(lat)
    return np.column_stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)])


def colocate(lon_a: Any, lat_a: Any, lon_b: Any, lat_b: Any,
             max_distance_m: float = DEFAULT_MAX_DISTANCE_M, *,
             ids_a: Any = None, ids_b: Any = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One-to-one pairs of points of ``a`` and ``b`` no farther apart than ``max_distance_m``.

    Candidates come from a KD-tree of unit vectors (the chord of ``max_distance_m``), their
    distances from :func:`great_circle_m`; they are taken by increasing distance (ties:
    equal ``ids_a``/``ids_b`` first when given, then position), skipping points already
    paired. Points with a missing coordinate are never paired.

    Returns
    -------
    tuple of numpy.ndarray
        Positions in ``a``, positions in ``b`` and distances in metres, by distance.

    Examples
    --------
    >>> ia, ib, d = colocate([0.0, 0.0], [0.0, 0.0001], [0.0, 0.0], [0.00005, 1.0], 20)
    >>> ia.tolist(), ib.tolist()
    ([0], [0])
    """
    from scipy.spatial import cKDTree

    limit = check_max_distance(max_distance_m)
    la_, pa_, lb_, pb_ = (np.asarray(v, float) for v in (lon_a, lat_a, lon_b, lat_b))
    ok_a = np.flatnonzero(np.isfinite(la_) & np.isfinite(pa_))
    ok_b = np.flatnonzero(np.isfinite(lb_) & np.isfinite(pb_))
    empty = np.array([], np.int64)
    if not len(ok_a) or not len(ok_b):
        return empty, empty, np.array([], float)
    ta = cKDTree(_unit_xyz(la_[ok_a], pa_[ok_a]))
    tb = cKDTree(_unit_xyz(lb_[ok_b], pb_[ok_b]))
    chord = 2 * math.sin(limit / (2 * EARTH_RADIUS_M)) * (1 + 1e-9) + 1e-12
    cand = ta.sparse_distance_matrix(tb, chord, output_type="ndarray")
    i, j = ok_a[cand["i"]], ok_b[cand["j"]]
    d = great_circle_m(la_[i], pa_[i], lb_[j], pb_[j])
    keep = d <= limit
    i, j, d = i[keep], j[keep], d[keep]
    differ = np.zeros(len(i), bool)
    if ids_a is not None and ids_b is not None:
        differ = np.asarray(ids_a, object)[i] != np.asarray(ids_b, object)[j]
    order = np.lexsort((j, i, differ, d))
    used_a, used_b = np.zeros(len(la_), bool), np.zeros(len(lb_), bool)
    chosen = []
    for k in order:
        if not (used_a[i[k]] or used_b[j[k]]):
            used_a[i[k]] = used_b[j[k]] = True
            chosen.append(k)
    sel = np.asarray(chosen, np.int64)
    return i[sel].astype(np.int64), j[sel].astype(np.int64), d[sel]


def _sites(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per sample id: ``sample_id``, ``longitude``, ``latitude``."""
    out = frame[["sample_id", "longitude", "latitude"]].drop_duplicates("sample_id")
    return out.assign(sample_id=out["sample_id"].astype(str)).reset_index(drop=True)


def pair_frames(
    first: pd.DataFrame,
    second: pd.DataFrame,
    *,
    same_sites: bool | str = False,
    max_distance_m: float = DEFAULT_MAX_DISTANCE_M,
    names: tuple[str, str] = ("first", "second"),
) -> SamplePairs:
    """Pair the samples of two tables (``sample_id``, ``longitude``, ``latitude``).

    Parameters
    ----------
    first, second : pandas.DataFrame
        Samples (or analyses: one row per sample id is kept).
    same_sites : bool or str
        True, or the declaration in words (e.g. ``"bss-bottom same_sites_as bss-top"``),
        when the two hold the same sites under the same sample ids: pairs by sample id.
        Otherwise pairs by co-location.
    max_distance_m : float
        Of co-location (default :data:`DEFAULT_MAX_DISTANCE_M`).
    names : tuple of str
        Of the two datasets, for messages.

    Raises
    ------
    PairingError
        When no pair is found (naming both datasets and the rule).
    """
    limit = check_max_distance(max_distance_m)
    a, b = _sites(first), _sites(second)
    na, nb = names
    if same_sites:
        why = same_sites if isinstance(same_sites, str) else "same sites, given by the caller"
        j = a.merge(b, on="sample_id", suffixes=("_a", "_b"))
        pairs = pd.DataFrame({
            "sample_id_first": j["sample_id"], "sample_id_second": j["sample_id"],
            "distance_m": great_circle_m(j["longitude_a"], j["latitude_a"],
                                         j["longitude_b"], j["latitude_b"]),
        })
        if pairs.empty:
            raise PairingError(f"datasets {na!r} and {nb!r} share no sample id, though they "
                               f"are declared to hold the same sites ({why})")
        return SamplePairs(na, nb, "declared", why, None, pairs.reset_index(drop=True))
    ia, ib, d = colocate(a["longitude"], a["latitude"], b["longitude"], b["latitude"], limit,
                         ids_a=a["sample_id"], ids_b=b["sample_id"])
    if not len(ia):
        raise PairingError(
            f"datasets {na!r} and {nb!r} have no sample in common: neither declares the "
            "other's samples or sites (same_samples_as, same_sites_as), and no sample of "
            f"one lies within {limit:g} m of a sample of the other (pairing by co-location)")
    pairs = pd.DataFrame({"sample_id_first": a["sample_id"].to_numpy()[ia],
                          "sample_id_second": b["sample_id"].to_numpy()[ib], "distance_m": d})
    return SamplePairs(na, nb, "co-located", "", limit, pairs)


def _same_sites_as(descriptor_text: str) -> tuple[str, ...]:
    """``[dataset].same_sites_as`` of a stored descriptor (a string or a list)."""
    import tomllib

    try:
        value = tomllib.loads(descriptor_text or "").get("dataset", {}).get("same_sites_as", ())
    except tomllib.TOMLDecodeError:
        return ()
    return (value,) if isinstance(value, str) else tuple(str(v) for v in value)


def declared_link(store: Store, first: str, second: str) -> str:
    """How one of two datasets declares the other's samples or sites ("" when neither does).

    Only a direct declaration counts (``same_samples_as`` or ``same_sites_as`` of one naming
    the other), or the two being one dataset.
    """
    recs = store.datasets()
    recs = recs.set_index(recs["dataset_id"].astype(str))
    for ds in (first, second):
        if ds not in recs.index:
            raise NotFoundError(f"dataset {ds!r} is not in the store")
    if first == second:
        return f"{first} is the same dataset"
    for x, y in ((first, second), (second, first)):
        rec = recs.loc[x]
        if str(rec.get("same_samples_as") or "") == y:
            return f"{x} same_samples_as {y}"
        if y in _same_sites_as(str(rec.get("descriptor") or "")):
            return f"{x} same_sites_as {y}"
    return ""


def pair_datasets(store: Store, first: str, second: str, *,
                  max_distance_m: float = DEFAULT_MAX_DISTANCE_M) -> SamplePairs:
    """Pair the sampled sites of two stored datasets by the rules of this module.

    Examples
    --------
    >>> pair_datasets(store, "bss-top", "bss-bottom").description   # doctest: +SKIP
    'declared (bss-bottom same_sites_as bss-top): paired by sample id'
    >>> pair_datasets(store, "meuse", "jura")                        # doctest: +SKIP
    Traceback (most recent call last):
    PairingError: datasets 'meuse' and 'jura' have no sample in common: ...
    """
    link = declared_link(store, first, second)
    frames = []
    for ds in (first, second):
        s = store.samples(ds)
        if "sampled" in s.columns:
            s = s[s["sampled"].fillna(True).astype(bool)]
        frames.append(s)
    return pair_frames(frames[0], frames[1], same_sites=link or False,
                       max_distance_m=max_distance_m, names=(first, second))
