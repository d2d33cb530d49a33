"""Change between sampling campaigns, and enrichment between paired media.

:func:`change_by_cell` compares two campaigns over the same area cell by cell on a grid
level: the change in median, a bootstrap percentile confidence interval for it, and a
rank test — Mann–Whitney U for independent samples, or the Wilcoxon signed-rank test on
log ratios where the same sites were re-sampled (``pairing="sites"``; ``"auto"`` pairs
when 80 % of the samples of the smaller campaign find a pair). p-values are adjusted for
the number of cells tested (Benjamini–Hochberg false-discovery rate), and a cell's
``direction`` is ``increase`` or ``decrease`` where the adjusted value is below ``alpha``.

:func:`enrichment` gives per element the ratio between two media sampled at the same sites
(topsoil/subsoil, humus/C-horizon), for elements only (not pH or LOI): per-site ratios,
their median, geometric mean and quartiles, the ratio of medians and a Wilcoxon
signed-rank test of "no enrichment".

Samples of two datasets pair only by the rules of :mod:`chemearth.assess.pairing`: by sample
id where one dataset declares the other's samples or sites (``same_samples_as``,
``same_sites_as``), else by co-location within ``max_distance_m``; never by sample id alone.

Values below the detection limit: rank tests re-censor both campaigns at the highest
detection limit (every value below it ties), so that a change of laboratory limit is not
read as a change of soil; medians are of the values as stored (a censored value at its
limit). Ratios leave out pairs with a censored side and count them.

Examples
--------
>>> rng = np.random.default_rng(1)
>>> a = pd.DataFrame({"sample_id": [str(i) for i in range(40)], "longitude": 10.0,
...                   "latitude": 50.0, "value": rng.lognormal(2, 0.3, 40), "censored": False})
>>> b = a.assign(value=a["value"] * 2.0)
>>> c = change_frames(a, b, level="80km", same_sites=True)
>>> c[["n_before", "pairing", "ratio", "direction"]].to_dict("records")
[{'n_before': 40, 'pairing': 'sites', 'ratio': 2.0, 'direction': 'increase'}]
>>> c["pairing_rule"].iloc[0]
'declared (same sites, given by the caller): paired by sample id'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from chemearth.assess.pairing import (
    DEFAULT_MAX_DISTANCE_M,
    PairingError,
    SamplePairs,
    check_max_distance,
    declared_link,
    pair_datasets,
    pair_frames,
)
from chemearth.errors import ChemearthError, NotFoundError
from chemearth.grid.geometry import INVALID_KEY, get_grid
from chemearth.grid.levels import parse_level
from chemearth.reference.elements import is_element
from chemearth.store.base import Store
from chemearth.store.selectors import digestion_rank, element_values

__all__ = [
    "ChangeError",
    "Pair",
    "change_by_cell",
    "change_frames",
    "enrichment",
    "pair_methods",
    "site_ratios",
]

Pairing = Literal["auto", "sites", "independent"]
_COLS = ["sample_id", "longitude", "latitude", "value", "censored"]


class ChangeError(ChemearthError, ValueError):
    """Two campaigns or media that cannot be compared as asked."""

    exit_code = 2


def _recensor(a: np.ndarray, ca: np.ndarray, b: np.ndarray, cb: np.ndarray) -> tuple[
        np.ndarray, np.ndarray]:
    """Both samples with every value below the highest detection limit tied at 0."""
    dl = max(a[ca].max(initial=0.0), b[cb].max(initial=0.0))
    if dl <= 0:
        return a, b
    return np.where(a < dl, 0.0, a), np.where(b < dl, 0.0, b)


def _boot_median_diff(a: np.ndarray, b: np.ndarray, n_boot: int, rng: np.random.Generator,
                      paired: bool, level: float) -> tuple[float, float]:
    """Percentile bootstrap interval of median(b) - median(a) (or median of b - a)."""
    lo_q, hi_q = 50 * (1 - level), 50 * (1 + level)
    if paired:
        d = b - a
        idx = rng.integers(0, len(d), size=(n_boot, len(d)))
        boot = np.median(d[idx], axis=1)
    else:
        ia = rng.integers(0, len(a), size=(n_boot, len(a)))
        ib = rng.integers(0, len(b), size=(n_boot, len(b)))
        boot = np.median(b[ib], axis=1) - np.median(a[ia], axis=1)
    lo, hi = np.percentile(boot, [lo_q, hi_q])
    return float(lo), float(hi)


def _signed_rank_p(d: np.ndarray) -> float:
    """Two-sided Wilcoxon signed-rank p of ``d`` (zero differences dropped): exact for
    small samples without ties, else the normal approximation with tie correction (scipy's
    permutation fallback for ties is far too slow to run per cell). Differences are rounded
    to 1e-10 so that unit conversions' floating-point noise makes no ties or zeros."""
    d = np.round(d, 10)
    d = d[d != 0]
    if len(d) == 0:
        return 1.0
    ties = len(np.unique(np.abs(d))) < len(d)
    method = "exact" if len(d) <= 25 and not ties else "approx"
    return float(stats.wilcoxon(d, method=method).pvalue)


def _pairing(before: pd.DataFrame, after: pd.DataFrame, pairing: Pairing,
             same_sites: bool | str, max_distance_m: float,
             names: tuple[str, str]) -> SamplePairs | None:
    """The pairs of re-sampled sites, or None for independent samples."""
    if pairing == "independent":
        return None
    if pairing not in ("auto", "sites"):
        raise ChangeError(f"pairing={pairing!r}: use auto, sites or independent")
    check_max_distance(max_distance_m)  # a bad distance is an error, also for auto
    try:
        sp = pair_frames(before, after, same_sites=same_sites, max_distance_m=max_distance_m,
                         names=names)
    except PairingError:
        if pairing == "sites":
            raise
        return None
    smaller = min(before["sample_id"].nunique(), after["sample_id"].nunique())
    if pairing == "auto" and sp.n_pairs < 0.8 * smaller:
        return None
    return sp


def change_frames(
    before: pd.DataFrame,
    after: pd.DataFrame,
    *,
    grid: str = "global",
    level: int | str = "20km",
    min_n: int = 3,
    alpha: float = 0.05,
    confidence: float = 0.95,
    n_boot: int = 2000,
    pairing: Pairing = "auto",
    seed: int = 0,
    same_sites: bool | str = False,
    max_distance_m: float = DEFAULT_MAX_DISTANCE_M,
    names: tuple[str, str] = ("before", "after"),
) -> pd.DataFrame:
    """Per-cell change between two campaigns given as tables.

    Parameters
    ----------
    before, after : pandas.DataFrame
        One row per analysis: ``sample_id``, ``longitude``, ``latitude``, ``value``,
        ``censored``; same element, unit and comparable method.
    grid, level :
        The cells compared (e.g. ``"global"``, ``"20km"``).
    min_n : int
        Cells with fewer analyses (or pairs) in either campaign are not tested.
    alpha : float
        False-discovery rate for ``direction``.
    confidence : float
        Of the bootstrap interval of the change in median.
    n_boot : int
        Bootstrap resamples.
    pairing : {"auto", "sites", "independent"}
        Re-sampled sites (paired, :mod:`chemearth.assess.pairing`) or independent samples;
        ``auto`` pairs when 80 % of the samples of the smaller campaign find a pair.
    seed : int
        Of the bootstrap (results are reproducible).
    same_sites : bool or str
        True (or the declaration in words) when both campaigns hold the same sites under
        the same sample ids: pairs by sample id. Otherwise pairs by co-location.
    max_distance_m : float
        Of co-location (default 20 m).
    names : tuple of str
        Of the two campaigns, for messages.

    Returns
    -------
    pandas.DataFrame
        Per cell: ``cell``, ``cell_id``, ``n_before``, ``n_after``, ``median_before``,
        ``median_after``, ``change`` (after − before), ``change_pct``, ``ratio``,
        ``ci_low``/``ci_high`` (of ``change``), ``test``, ``p_value``, ``q_value``
        (Benjamini–Hochberg), ``direction``, and how samples were paired: ``pairing``
        (``sites`` or ``independent``), ``pairing_rule``, ``max_distance_m`` (NaN unless
        co-located) and ``n_pairs`` (pairs of sites over all cells; 0 when independent).

    Raises
    ------
    PairingError
        ``pairing="sites"`` and no sample of one campaign pairs with one of the other.
    """
    g = get_grid(grid)
    level_m = parse_level(level)
    rng = np.random.default_rng(seed)
    sp = _pairing(before, after, pairing, same_sites, max_distance_m, names)
    paired = sp is not None
    b = before[_COLS].dropna(subset=["value"])
    a = after[_COLS].dropna(subset=["value"])
    if sp is not None:
        # a re-sampled site: both analyses go to the cell of the first campaign's location
        j = (sp.pairs.merge(b.astype({"sample_id": str}), left_on="sample_id_first",
                            right_on="sample_id")
             .merge(a.astype({"sample_id": str}), left_on="sample_id_second",
                    right_on="sample_id", suffixes=("_b", "_a")))
        keys = g.cell_keys(j["longitude_b"].to_numpy(float), j["latitude_b"].to_numpy(float),
                           level_m)
        groups = {k: (j.index[keys == k]) for k in np.unique(keys[keys != INVALID_KEY])}
    else:
        kb = g.cell_keys(b["longitude"].to_numpy(float), b["latitude"].to_numpy(float), level_m)
        ka = g.cell_keys(a["longitude"].to_numpy(float), a["latitude"].to_numpy(float), level_m)
        both = np.intersect1d(kb[kb != INVALID_KEY], ka[ka != INVALID_KEY])
    rows = []
    for key in (sorted(groups) if paired else both):
        if paired:
            part = j.loc[groups[key]]
            xb, cb = part["value_b"].to_numpy(float), part["censored_b"].to_numpy(bool)
            xa, ca = part["value_a"].to_numpy(float), part["censored_a"].to_numpy(bool)
        else:
            mb, ma = kb == key, ka == key
            xb, cb = b["value"].to_numpy(float)[mb], b["censored"].to_numpy(bool)[mb]
            xa, ca = a["value"].to_numpy(float)[ma], a["censored"].to_numpy(bool)[ma]
        if min(len(xb), len(xa)) < min_n:
            continue
        rb, ra = _recensor(xb, cb, xa, ca)
        if paired:
            ok = (rb > 0) & (ra > 0)
            d = np.log(ra[ok]) - np.log(rb[ok])
            test = "wilcoxon signed-rank (paired sites, log ratio)"
            p = _signed_rank_p(d) if ok.sum() >= min_n else 1.0
        else:
            test = "mann-whitney u"
            p = float(stats.mannwhitneyu(ra, rb, alternative="two-sided").pvalue) \
                if np.ptp(np.r_[ra, rb]) > 0 else 1.0
        med_b, med_a = float(np.median(xb)), float(np.median(xa))
        lo, hi = _boot_median_diff(xb, xa, n_boot, rng, paired, confidence)
        rows.append({
            "cell": int(key), "n_before": len(xb), "n_after": len(xa),
            "median_before": med_b, "median_after": med_a, "change": med_a - med_b,
            "change_pct": 100 * (med_a - med_b) / med_b if med_b > 0 else np.nan,
            "ratio": med_a / med_b if med_b > 0 else np.nan,
            "ci_low": lo, "ci_high": hi, "test": test, "p_value": p,
        })
    out = pd.DataFrame(rows)
    if out.empty:
        raise ChangeError(
            f"no cell of {level_m / 1000:g} km holds {min_n} or more analyses in both campaigns"
        )
    out["q_value"] = stats.false_discovery_control(out["p_value"].to_numpy(float))
    sig = out["q_value"] < alpha
    out["direction"] = np.where(sig & (out["change"] > 0), "increase",
                                np.where(sig & (out["change"] < 0), "decrease",
                                         "no significant change"))
    out.insert(1, "cell_id", g.key_to_id(out["cell"].to_numpy()))
    out.insert(0, "level_m", level_m)
    out.insert(0, "grid", g.name)
    out["pairing"] = "sites" if paired else "independent"
    out["pairing_rule"] = sp.description if sp is not None else "independent samples"
    out["max_distance_m"] = (sp.max_distance_m if sp is not None and sp.max_distance_m
                             else np.nan)
    out["n_pairs"] = sp.n_pairs if sp is not None else 0
    return out


def change_by_cell(
    store: Store,
    before: str,
    after: str,
    element: str,
    *,
    method_before: str | None = None,
    method_after: str | None = None,
    **options: object,
) -> pd.DataFrame:
    """Per-cell change of ``element`` from dataset ``before`` to dataset ``after``.

    Methods default to the one closest to a total in each dataset; ``options`` are those
    of :func:`change_frames` (``max_distance_m`` among them). Sites pair by sample id only
    where one dataset declares the other's samples or sites
    (:func:`chemearth.assess.pairing.declared_link`), else by co-location. The result also
    names the element, unit and methods.

    Examples
    --------
    >>> c = change_by_cell(store, "bss-bottom", "bss-top", "Pb", level="80km")  # doctest: +SKIP
    >>> c["direction"].value_counts()                                          # doctest: +SKIP
    """
    mb, meth_b = element_values(store, before, element, method_before)
    ma, meth_a = element_values(store, after, element, method_after)
    units = set(mb["unit"]) | set(ma["unit"])
    if len(units) != 1:
        raise ChangeError(f"{element}: units differ between campaigns ({', '.join(units)})")
    link = declared_link(store, before, after)
    out = change_frames(mb, ma, same_sites=link or False, names=(before, after),
                        **options)  # type: ignore[arg-type]
    out.insert(3, "element", element)
    out.insert(4, "unit", units.pop())
    out["before"], out["after"] = before, after
    out["method_before"], out["method_after"] = meth_b, meth_a
    return out


@dataclass(frozen=True)
class Pair:
    """The methods compared for one element of two media."""

    element: str
    method_upper: str
    method_lower: str
    digestion_upper: str
    digestion_lower: str


def pair_methods(store: Store, upper: str, lower: str,
                 elements: Sequence[str] | None = None) -> list[Pair]:
    """For each element both datasets hold, the most comparable pair of methods.

    Same digestion where possible, else the closest; ties go to the more total one.
    """
    cu = store.measurement_columns(upper)
    cl = store.measurement_columns(lower)
    wanted = elements or sorted(e for e in set(cu["element"]) & set(cl["element"])
                                if is_element(e))
    pairs = []
    for el in wanted:
        ru, rl = cu[cu["element"] == el], cl[cl["element"] == el]
        if ru.empty or rl.empty:
            continue
        best = None
        for _, x in ru.iterrows():
            for _, y in rl.iterrows():
                dx, dy = digestion_rank(x["digestion"]), digestion_rank(y["digestion"])
                score = (abs(dx - dy), dx + dy)
                if best is None or score < best[0]:
                    best = (score, x, y)
        assert best is not None
        _, x, y = best
        pairs.append(Pair(el, str(x["method"]), str(y["method"]), str(x["digestion"]),
                          str(y["digestion"])))
    return pairs


def site_ratios(store: Store, upper: str, lower: str,
                elements: Sequence[str] | None = None, *,
                max_distance_m: float = DEFAULT_MAX_DISTANCE_M,
                sites: SamplePairs | None = None) -> pd.DataFrame:
    """Per site and element, ``upper / lower`` for each pair of samples of one site.

    Sites are paired by :func:`chemearth.assess.pairing.pair_datasets` (``sites``, when
    given, are those pairs already made): by sample id where one dataset declares the
    other's samples or sites, else by co-location within ``max_distance_m``.

    Returns
    -------
    pandas.DataFrame
        ``sample_id`` (of ``upper``), ``sample_id_lower``, ``distance_m``, ``longitude``,
        ``latitude``, ``element``, ``upper``, ``lower``, ``ratio`` (NaN where either side is
        censored or not positive) and ``censored``.

    Raises
    ------
    PairingError
        When no sample of one dataset pairs with a sample of the other.
    """
    pairs = pair_methods(store, upper, lower, elements)
    if not pairs:
        raise NotFoundError(f"datasets {upper!r} and {lower!r} share no element")
    sp = sites or pair_datasets(store, upper, lower, max_distance_m=max_distance_m)
    link = sp.pairs.rename(columns={"sample_id_first": "sample_id",
                                    "sample_id_second": "sample_id_lower"})
    els = [p.element for p in pairs]
    mu = store.measurements(upper, elements=els).astype({"sample_id": str})
    ml = store.measurements(lower, elements=els).astype({"sample_id": str})
    frames = []
    for p in pairs:
        u = mu[(mu["element"] == p.element) & (mu["method"].astype(str) == p.method_upper)]
        low = ml[(ml["element"] == p.element) & (ml["method"].astype(str) == p.method_lower)]
        j = (u[["sample_id", "longitude", "latitude", "value", "censored", "unit"]]
             .merge(link, on="sample_id")
             .merge(low[["sample_id", "value", "censored", "unit"]].rename(
                 columns={"sample_id": "sample_id_lower"}), on="sample_id_lower",
                 suffixes=("_u", "_l")))
        j = j.dropna(subset=["value_u", "value_l"])
        if (j["unit_u"] != j["unit_l"]).any():
            raise ChangeError(f"{p.element}: units differ between {upper} and {lower}")
        cens = j["censored_u"].astype(bool) | j["censored_l"].astype(bool)
        ok = ~cens & (j["value_u"] > 0) & (j["value_l"] > 0)
        frames.append(pd.DataFrame({
            "sample_id": j["sample_id"], "sample_id_lower": j["sample_id_lower"],
            "distance_m": j["distance_m"], "longitude": j["longitude"],
            "latitude": j["latitude"], "element": p.element, "upper": j["value_u"],
            "lower": j["value_l"], "ratio": np.where(ok, j["value_u"] / j["value_l"], np.nan),
            "censored": cens.to_numpy(),
        }))
    return pd.concat(frames, ignore_index=True)


def enrichment(store: Store, upper: str, lower: str,
               elements: Sequence[str] | None = None, *,
               max_distance_m: float = DEFAULT_MAX_DISTANCE_M) -> pd.DataFrame:
    """Enrichment ratios ``upper / lower`` per element, from sites sampled in both media.

    Sites pair as :func:`site_ratios` says: by sample id only where one dataset declares
    the other's samples or sites, else by co-location within ``max_distance_m``.

    Returns
    -------
    pandas.DataFrame
        Per element: ``n_pairs`` (both sides above detection), ``n_censored_pairs``
        (left out), ``median_ratio``, ``gmean_ratio``, ``p25_ratio``, ``p75_ratio``,
        ``ratio_of_medians``, ``wilcoxon_p`` (signed-rank test of log ratio = 0),
        ``enriched`` (``upper``, ``lower`` or ``neither`` at the 5 % level), the methods
        and digestions compared, and the pairing: ``pairing_rule``, ``max_distance_m``
        (NaN for declared pairs) and ``n_site_pairs`` (sites paired, any element).

    Raises
    ------
    PairingError
        When no sample of one dataset pairs with a sample of the other (never an empty
        table).

    Examples
    --------
    >>> e = enrichment(store, "kola-humus", "kola-chorizon")        # doctest: +SKIP
    >>> e.set_index("element").loc[["Ni", "Cu", "Pb"], "median_ratio"]  # doctest: +SKIP
    """
    sp = pair_datasets(store, upper, lower, max_distance_m=max_distance_m)
    r = site_ratios(store, upper, lower, elements, sites=sp)
    pairs = {p.element: p for p in pair_methods(store, upper, lower, elements)}
    rows = []
    for el, part in r.groupby("element", sort=True):
        x = part["ratio"].dropna().to_numpy(float)
        p = pairs[str(el)]
        row = {"element": el, "n_pairs": len(x), "n_censored_pairs": int(part["censored"].sum())}
        if len(x):
            lr = np.log(x)
            q25, q50, q75 = np.percentile(x, [25, 50, 75])
            ok = part["ratio"].notna()
            pv = _signed_rank_p(lr) if len(x) >= 5 else np.nan
            centre = float(np.median(lr)) or float(lr.mean())
            row.update(
                median_ratio=float(q50), gmean_ratio=float(np.exp(lr.mean())),
                p25_ratio=float(q25), p75_ratio=float(q75),
                ratio_of_medians=float(np.median(part.loc[ok, "upper"])
                                       / np.median(part.loc[ok, "lower"])),
                wilcoxon_p=pv,
                enriched=("neither" if not pv < 0.05 else ("upper" if centre > 0 else "lower")),
            )
        row.update(upper=upper, lower=lower, method_upper=p.method_upper,
                   method_lower=p.method_lower, digestion_upper=p.digestion_upper,
                   digestion_lower=p.digestion_lower, pairing_rule=sp.description,
                   max_distance_m=sp.max_distance_m or np.nan, n_site_pairs=sp.n_pairs)
        rows.append(row)
    if not rows:
        raise PairingError(f"datasets {upper!r} and {lower!r}: the {sp.n_pairs} sites paired "
                           f"({sp.description}) hold no analysis of an element in both")
    return pd.DataFrame(rows)
