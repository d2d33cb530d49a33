"""Disclosure control: which aggregates of non-public data may leave the platform.

An ``aggregated`` dataset promises that no published number, and no combination of
published numbers, reveals the values of fewer than *k* samples. A rule on each cell
alone (``n >= k``) does not keep that promise: subtracting the published children of a
cell from the cell (counts, and sums of logs from the geometric means) leaves the
samples in no published child, which may be one or two. This module decides, for one
layer (dataset, element, medium, method), which cells and which statistics an actor
without full access may see.

The model
---------
Every published *set* of samples (a cell of some level, or the whole layer, whose
statistics the baselines publish) is known to the attacker with its count and its
linear statistics (sum of values and of their logs, hence mean, geometric mean and
log-SD). The sets generate an algebra; its *atoms* are the classes of samples with the
same membership in every published set. Anything an attacker computes from counts and
sums by adding and subtracting published answers is a sum over whole atoms. So the rule
is:

    every atom that lies in at least one published set holds at least *k* samples.

* **Levels.** Published cells come from one grid (the global EASE-Grid 2.0) and from a
  chain of levels in which every level nests in every coarser one (160, 80, 40, 20, 10,
  2, 1 and 0.5 km: the 4 km level straddles 10 km cells and is left out). The sets then
  form a tree, the atom of a sample is its finest published cell (or the layer), and
  the rule is checked cell by cell from the finest level up: a cell whose own atom
  holds 1 to *k*-1 samples gets the smallest of its published children added to that
  atom (the child is suppressed: *complementary suppression*), or, with no child to
  give, is suppressed itself. Cells of fewer than *k* samples are never published
  (*primary suppression*).
* **The other grid.** Cells of the European grid cut the global cells into pieces of any
  size, so an aggregated dataset's European layers are for full access only.
* **Versions.** Each earlier version is taken as published under the same rules; its
  atoms join the membership (samples matched by sample id). A cell or layer of the new
  version that would isolate fewer than *k* samples against an earlier version (a sample
  added or removed) is suppressed, up to the layer statistics if need be.
* **Statistics.** Order statistics of a small group are sample values. Minimum, maximum
  and the largest detection limit are never published; a percentile is published only
  when at least *k* values lie below and *k* above the values it is interpolated from
  (the median from 2k + 1 values, the 5th percentile from about 20k); the MAD as the
  median. Counts, geometric mean and log-SD are sums over atoms.
* **Regions and boxes.** A bounding box selects whole published cells and adds no set.
  Per-country breakdowns would cut cells at borders, so they are for full access only.

``docs/security.md`` states the model with the threat model and the attack suite that
tests it (``tests/security``).

Examples
--------
>>> import numpy as np
>>> keys = np.array([[1, 1, 1, 1, 1, 1, 1],      # one coarse cell of 7 samples
...                  [10, 10, 10, 11, 11, 11, 12]])  # children of 3, 3 and 1 samples
>>> pub = protect(keys, k=3)
>>> [sorted(int(c) for c in p) for p in pub.cells], pub.root
([[1], [11]], True)

Child 10 is suppressed so that the coarse cell's own atom (the samples in no published
child) holds 4 samples instead of 1: the coarse cell minus child 11 is then four samples.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "ABSENT",
    "CONTROLLED_GRID",
    "NEVER_PUBLISHED",
    "NONE",
    "PERCENTILE_OF",
    "Publication",
    "chain_levels",
    "layer_publication",
    "protect",
    "sample_keys",
    "smallest_atom",
    "statistic_published",
    "withhold_statistics",
]

#: The one grid on which data under disclosure control are published.
CONTROLLED_GRID = "global"

#: Label of a sample that is not in this version of the layer.
ABSENT = -2
#: Label of a sample in no published set.
NONE = -4
#: Label of a sample whose finest published set is the whole layer.
_ROOT = -3

#: Statistics never published from non-public data (they are single sample values).
NEVER_PUBLISHED = frozenset({
    "min", "max", "dl_max", "max_dl", "ros_median", "ros_mean", "km_median", "km_mean",
})

#: The percentile (in %) a statistic rests on; it is published when that percentile is.
PERCENTILE_OF: dict[str, tuple[float, ...]] = {
    "p5": (5,), "p10": (10,), "p25": (25,), "median": (50,), "p75": (75,), "p90": (90,),
    "p95": (95,), "p98": (98,), "mad": (50,), "mad_normal": (50,),
    "tukey_lower": (25, 75), "tukey_upper": (25, 75), "mad2_lower": (50,),
    "mad2_upper": (50,), "ubv": (25, 75), "sigma2_upper": (50,),
}
#: Statistics that are sums over the samples (published from any n >= k).
_LINEAR = frozenset({"n", "n_censored", "censored_pct", "gmean", "log10_sd", "mean", "sd"})


def statistic_published(name: str, n: int, k: int) -> bool:
    """True if statistic ``name`` of a group of ``n`` samples may be published.

    Examples
    --------
    >>> [statistic_published("median", n, 3) for n in (3, 6, 7)]
    [False, False, True]
    >>> statistic_published("max", 1000, 3), statistic_published("gmean", 3, 3)
    (False, True)
    >>> statistic_published("class_p95", 100, 3), statistic_published("class_p95", 20, 3)
    (True, False)
    """
    if n < k or name in NEVER_PUBLISHED:
        return False
    if name in _LINEAR:
        return True
    qs = PERCENTILE_OF.get(name)
    if qs is None and name.startswith("class_p"):
        try:
            qs = (float(name[len("class_p"):]),)
        except ValueError:
            return False
    if qs is None:
        return False  # unknown statistics are withheld, never guessed safe
    for q in qs:
        h = (n - 1) * q / 100.0
        if math.floor(h) < k or (n - 1 - math.ceil(h)) < k:
            return False
    return True


def withhold_statistics(frame: pd.DataFrame, k: int, n_column: str = "n") -> pd.DataFrame:
    """A copy of ``frame`` with every statistic a group may not publish set to NaN.

    Columns that are not statistics (ids, names, units, text) are kept; numeric
    columns that are neither known statistics nor counts are withheld.

    Examples
    --------
    >>> f = pd.DataFrame({"cell_id": ["a", "b"], "n": [3, 9], "median": [2.0, 5.0],
    ...                   "max": [4.0, 9.0], "gmean": [1.9, 4.2]})
    >>> withhold_statistics(f, 3)[["median", "max", "gmean"]].to_numpy().tolist()
    [[nan, nan, 1.9], [5.0, nan, 4.2]]
    """
    out = frame.copy()
    n = out[n_column].to_numpy(dtype=np.int64)
    for col in out.columns:
        if col == n_column or not pd.api.types.is_numeric_dtype(out[col]):
            continue
        if pd.api.types.is_bool_dtype(out[col]) or col in _KEYS:
            continue
        ok = np.array([statistic_published(str(col), int(v), k) for v in n], dtype=bool)
        if not ok.all():
            out[col] = out[col].astype(float).where(ok)
    return out


#: Numeric columns that identify rather than measure.
_KEYS = frozenset({"cell", "level_m", "version", "sample_index", "year", "depth_top_cm",
                   "depth_bottom_cm"})


def chain_levels(grid: Any, levels: Sequence[int]) -> list[int]:
    """The levels, coarse to fine, that each nest in every coarser one kept.

    Examples
    --------
    >>> from chemearth.grid.geometry import get_grid
    >>> chain_levels(get_grid("global"), [160_000, 20_000, 10_000, 4_000, 2_000])
    [160000, 20000, 10000, 2000]
    """
    kept: list[int] = []
    for lev in sorted({int(v) for v in levels}, reverse=True):
        if all(grid.nests(lev, p) for p in kept):
            kept.append(lev)
    return kept


@dataclass
class Publication:
    """What an actor without full access may see of one layer.

    Attributes
    ----------
    levels : tuple of int
        The published levels, coarse to fine.
    cells : list of numpy.ndarray
        Sorted keys of the published cells, one array per level of ``levels``.
    root : bool
        True if statistics of the whole layer (baselines) may be published.
    labels : numpy.ndarray
        Each sample's atom label (its finest published cell key, or a negative code):
        what a later version is checked against.
    primary, complementary : int
        Cells suppressed for holding fewer than *k* samples, and to protect others.
    """

    levels: tuple[int, ...]
    cells: list[np.ndarray]
    root: bool
    labels: np.ndarray = field(repr=False, default_factory=lambda: np.empty(0, np.int64))
    primary: int = 0
    complementary: int = 0

    def published(self, level_m: int, keys: np.ndarray) -> np.ndarray:
        """A mask of the ``keys`` (cells of ``level_m``) that are published."""
        keys = np.asarray(keys, dtype=np.int64)
        if int(level_m) not in self.levels:
            return np.zeros(len(keys), dtype=bool)
        pub = self.cells[self.levels.index(int(level_m))]
        return np.isin(keys, pub)

    def to_dict(self) -> dict[str, Any]:
        """Counts of published and suppressed cells (JSON-ready)."""
        return {"levels": list(self.levels), "published": [len(c) for c in self.cells],
                "root": self.root, "primary": self.primary,
                "complementary": self.complementary}


def _membership(keys: np.ndarray, pub: list[np.ndarray]) -> np.ndarray:
    return np.stack([np.isin(keys[i], pub[i]) for i in range(len(pub))]) if len(pub) else (
        np.zeros((0, keys.shape[1]), dtype=bool))


def _finest(member: np.ndarray, skip: np.ndarray | None = None) -> np.ndarray:
    """Index of the finest level each sample is published at (-1: none)."""
    m = member if skip is None else member & ~skip
    n_levels = m.shape[0]
    if n_levels == 0:
        return np.full(m.shape[1], -1, dtype=np.int64)
    rev = m[::-1]
    return np.where(rev.any(axis=0), n_levels - 1 - rev.argmax(axis=0), -1).astype(np.int64)


def _unpublish(pub: list[np.ndarray], level: int, keys: np.ndarray) -> None:
    pub[level] = np.setdiff1d(pub[level], keys)


def protect(
    keys: np.ndarray,
    k: int,
    present: np.ndarray | None = None,
    prior: Sequence[np.ndarray] = (),
    levels: Sequence[int] | None = None,
) -> Publication:
    """Decide which cells of one layer may be published (see the module docstring).

    Parameters
    ----------
    keys : numpy.ndarray
        Cell keys of shape (levels, samples), coarse to fine along a nested chain; -1
        where a sample is in no cell of that level.
    k : int
        Fewest samples an atom may hold.
    present : numpy.ndarray of bool, optional
        Which samples are in this version (others only in earlier ones).
    prior : sequence of numpy.ndarray
        :attr:`Publication.labels` of earlier versions, on the same samples.
    levels : sequence of int, optional
        The level of each row of ``keys`` (for :attr:`Publication.levels`).

    Returns
    -------
    Publication
    """
    keys = np.asarray(keys, dtype=np.int64)
    n_levels, n = keys.shape
    here = np.ones(n, dtype=bool) if present is None else np.asarray(present, dtype=bool)
    # primary suppression: cells of fewer than k samples
    pub: list[np.ndarray] = []
    primary = 0
    for i in range(n_levels):
        kv = keys[i][here & (keys[i] >= 0)]
        cells, counts = np.unique(kv, return_counts=True)
        pub.append(cells[counts >= k])
        primary += int((counts < k).sum())
    n_primary = sum(len(p) for p in pub)
    root = bool(here.sum() >= k)

    # complementary suppression within the version, finest level first
    for lev in range(n_levels - 1, -1, -1):
        member = _membership(keys, pub) & here
        f = _finest(member)
        own = (f == lev)
        cells, counts = np.unique(keys[lev][own], return_counts=True)
        bad = cells[(counts > 0) & (counts < k)]
        if len(bad):
            _fix(keys, pub, member, f, lev, bad)
    if root:
        member = _membership(keys, pub) & here
        f = _finest(member)
        r = int((here & (f < 0)).sum())
        if 0 < r < k:
            root = _fix_root(keys, pub, member, f, here)

    # earlier versions: no atom of all versions' sets together below k
    labels = _labels(keys, pub, root, here)
    for _ in range(4 * (n_levels + 2)):
        bad_labels = _violations(labels, prior, k)
        if bad_labels is None:
            break
        for lab in bad_labels:
            if lab == _ROOT:
                root = False
            elif lab >= 0:
                for i in range(n_levels):
                    if np.isin(lab, pub[i]):
                        _unpublish(pub, i, np.array([lab]))
        labels = _labels(keys, pub, root, here)
    else:  # pragma: no cover - each round removes a set, so this is never reached
        raise AssertionError("disclosure control did not converge")
    if smallest_atom(labels, prior) < k:  # pragma: no cover - safety net
        raise AssertionError("disclosure control left an atom of fewer than k samples")
    n_pub = sum(len(p) for p in pub)
    return Publication(
        levels=tuple(int(v) for v in (levels if levels is not None else range(n_levels))),
        cells=pub, root=root, labels=labels, primary=primary,
        complementary=n_primary - n_pub,
    )


def _fix(keys: np.ndarray, pub: list[np.ndarray], member: np.ndarray, f: np.ndarray,
         lev: int, bad: np.ndarray) -> None:
    """Give each cell of ``bad`` (level ``lev``) its smallest direct child atom, or drop it."""
    g = _finest(member, skip=_rows_at_or_below(member.shape, f))
    # samples whose finest published cell is a direct published descendant of a bad cell
    cand = (f > lev) & (g == lev) & np.isin(keys[lev], bad)
    if cand.any():
        idx = np.flatnonzero(cand)
        fl = f[idx]
        child = keys[fl, idx]
        atoms = pd.DataFrame({"parent": keys[lev][idx], "level": fl, "child": child})
        sizes = atoms.groupby(["parent", "level", "child"], sort=True).size().rename("size")
        ranked = sizes.reset_index().sort_values(["parent", "size", "level", "child"],
                                                 ascending=[True, True, False, True])
        pick = ranked.drop_duplicates("parent")
        for level in np.unique(pick["level"].to_numpy(np.int64)):
            chosen = pick.loc[pick["level"].to_numpy(np.int64) == level, "child"]
            _unpublish(pub, int(level), chosen.to_numpy(np.int64))
        helped = pick["parent"].to_numpy(np.int64)
    else:
        helped = np.empty(0, np.int64)
    _unpublish(pub, lev, np.setdiff1d(bad, helped))


def _fix_root(keys: np.ndarray, pub: list[np.ndarray], member: np.ndarray, f: np.ndarray,
              here: np.ndarray) -> bool:
    """Give the layer's own atom its smallest top published atom; False if none."""
    g = _finest(member, skip=_rows_at_or_below(member.shape, f))
    cand = here & (f >= 0) & (g < 0)
    if not cand.any():
        return False
    idx = np.flatnonzero(cand)
    atoms = pd.DataFrame({"level": f[idx], "child": keys[f[idx], idx]})
    size = atoms.groupby(["level", "child"]).size().sort_values(kind="stable")
    level, child = size.index[0]
    _unpublish(pub, int(level), np.array([child], dtype=np.int64))
    return True


def _rows_at_or_below(shape: tuple[int, ...], f: np.ndarray) -> np.ndarray:
    """A mask of (level, sample) at or finer than each sample's finest published level."""
    rows = np.arange(shape[0])[:, None]
    return (rows >= f[None, :]) & (f[None, :] >= 0)


def _labels(keys: np.ndarray, pub: list[np.ndarray], root: bool, here: np.ndarray
            ) -> np.ndarray:
    member = _membership(keys, pub) & here
    f = _finest(member)
    n = keys.shape[1]
    lab = np.full(n, NONE, dtype=np.int64)
    has = f >= 0
    lab[has] = keys[f[has], np.flatnonzero(has)]
    lab[~has & here] = _ROOT if root else NONE
    lab[~here] = ABSENT
    return lab


def _atoms(labels: np.ndarray, prior: Sequence[np.ndarray]
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The atoms of all versions' published sets: which samples lie in a published set,
    each such sample's atom and the atoms' sizes (None if no sample does)."""
    sig = np.stack([*prior, labels]) if prior else labels[None, :]
    sig = np.where(sig == ABSENT, NONE, sig)  # absent or unpublished: in no set alike
    covered = (sig != NONE).any(axis=0)
    if not covered.any():
        return None
    _, inv, counts = np.unique(sig[:, covered], axis=1, return_inverse=True,
                               return_counts=True)
    return covered, inv.ravel(), counts


def smallest_atom(labels: np.ndarray, prior: Sequence[np.ndarray] = ()) -> int:
    """Samples in the smallest atom that lies in a published set (a large number if none).

    ``labels`` and ``prior`` are :attr:`Publication.labels` of this and earlier versions.
    """
    atoms = _atoms(labels, prior)
    return 2**62 if atoms is None else int(atoms[2].min())


def _violations(labels: np.ndarray, prior: Sequence[np.ndarray], k: int
                ) -> list[int] | None:
    """Current labels to suppress so that every covered atom holds >= k samples."""
    atoms = _atoms(labels, prior)
    if atoms is None:
        return None
    covered, inv, counts = atoms
    small = np.flatnonzero(counts[inv] < k)
    if not len(small):
        return None
    out: set[int] = set()
    cur = labels[covered]
    psig = np.stack(prior)[:, covered] if prior else None
    _, first = np.unique(inv[small], return_index=True)  # one sample of each small atom
    for j in small[first]:
        lab = int(cur[j])
        if lab >= 0 or lab == _ROOT:
            out.add(lab)
        elif psig is not None:
            # the atom's samples are in no set of this version (removed, or unpublished):
            # every current set holding samples that shared its earlier sets tells it apart
            same = (psig == psig[:, [j]]).all(axis=0)
            out.update(int(v) for v in np.unique(cur[same]) if v >= 0 or v == _ROOT)
    return sorted(out) if out else None


def sample_keys(grid: Any, levels: Sequence[int], longitude: np.ndarray,
                latitude: np.ndarray) -> np.ndarray:
    """Cell keys of points at each of ``levels`` (shape levels × points, -1 outside)."""
    lon = np.asarray(longitude, dtype=float)
    lat = np.asarray(latitude, dtype=float)
    out = np.full((len(levels), len(lon)), -1, dtype=np.int64)
    ok = np.isfinite(lon) & np.isfinite(lat)
    if ok.any():
        for i, lev in enumerate(levels):
            out[i, ok] = grid.cell_keys(lon[ok], lat[ok], int(lev))
    return out


def layer_publication(
    versions: Mapping[int, pd.DataFrame], grid: Any, levels: Sequence[int], k: int
) -> Publication:
    """The publication of the latest of several versions of one layer.

    ``versions`` maps version numbers to the layer's measurements in that version
    (``sample_id``, ``longitude``, ``latitude``); each earlier version is taken as
    published under the same rules, in order.
    """
    chain = chain_levels(grid, levels)
    order = sorted(versions)
    ids = pd.Index(pd.unique(np.concatenate(
        [versions[v]["sample_id"].astype(str).to_numpy() for v in order])))
    prior: list[np.ndarray] = []
    pub: Publication | None = None
    for v in order:
        m = versions[v].drop_duplicates("sample_id")
        pos = ids.get_indexer(m["sample_id"].astype(str))
        keys = np.full((len(chain), len(ids)), -1, dtype=np.int64)
        keys[:, pos] = sample_keys(grid, chain, m["longitude"].to_numpy(),
                                   m["latitude"].to_numpy())
        present = np.zeros(len(ids), dtype=bool)
        present[pos] = True
        pub = protect(keys, k, present=present, prior=prior, levels=chain)
        prior.append(pub.labels)
    assert pub is not None
    return pub
