"""Per-cell change map of re-sampled sites, marked by significance after FDR control.

Two campaigns that sampled the same sites give one pair of analyses per site. The sites
are grouped by map cell, and in each cell the pairs are tested for "no change" with tests
made for censored data (:mod:`chemearth.stats.trends`), never by substituting a value for
"below the detection limit":

* the **paired Prentice–Wilcoxon** (PPW) test where a cell holds at least
  ``min_ppw_pairs`` pairs (its normal approximation needs them);
* the **censored sign test** (exact binomial) where it holds fewer, down to
  ``min_pairs``; a cell with fewer pairs is marked ``too few pairs`` and not tested.

The p-values of the cells tested are adjusted together by the Benjamini–Hochberg
procedure (:func:`chemearth.stats.trends.benjamini_hochberg`), so that among the cells
marked as changed the expected share of false discoveries is at most ``alpha``. A cell is
marked ``increase`` or ``decrease`` where its adjusted p-value (``q_value``) is at most
``alpha``, by the sign of its test statistic (PPW Z, or increases minus decreases), and
``no significant change`` otherwise.

:func:`cell_change_significance` works on a table of pairs that already carry a cell key;
:func:`change_significance_frames` pairs two campaign tables by the rules of
:mod:`chemearth.assess.pairing` (declared same sites, else co-location) and puts each pair
in the grid cell of its first-campaign location.

Examples
--------
>>> pairs = pd.DataFrame({
...     "cell": ["a"] * 12 + ["b"] * 3,
...     "value_before": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 1, 1, 1],
...     "censored_before": [True] + [False] * 14,
...     "value_after": [3, 4, 6, 7, 9, 9, 12, 13, 15, 16, 17, 18, 1, 1, 1],
...     "censored_after": False})
>>> out = cell_change_significance(pairs)
>>> out[["cell", "n_pairs", "test", "direction"]].values.tolist()
[['a', 12, 'paired prentice-wilcoxon', 'increase'], ['b', 3, 'none', 'too few pairs']]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from chemearth.assess.change import ChangeError
from chemearth.assess.pairing import DEFAULT_MAX_DISTANCE_M, pair_frames
from chemearth.grid.geometry import INVALID_KEY, get_grid
from chemearth.grid.levels import parse_level
from chemearth.stats.multiple_testing import benjamini_hochberg
from chemearth.stats.trends import (
    censored_sign_test,
    pair_signs,
    paired_prentice_wilcoxon,
)

__all__ = [
    "DIRECTIONS",
    "MIN_PAIRS",
    "MIN_PPW_PAIRS",
    "cell_change_significance",
    "change_significance_frames",
]

#: The marks a cell can carry.
DIRECTIONS = ("increase", "decrease", "no significant change", "too few pairs")
#: Fewest pairs tested: with 5 pairs the two-sided sign test cannot go below p = 0.0625.
MIN_PAIRS = 6
#: Fewest pairs for the PPW test (normal approximation); fewer get the exact sign test.
MIN_PPW_PAIRS = 10

_PPW = "paired prentice-wilcoxon"
_SIGN = "censored sign test"


def _check(pairs: pd.DataFrame, columns: list[str], min_pairs: int, min_ppw_pairs: int,
           alpha: float) -> None:
    missing = [c for c in columns if c not in pairs.columns]
    if missing:
        raise ChangeError(f"pairs: missing column(s) {', '.join(missing)}")
    if min_pairs < 2:
        raise ChangeError(f"min_pairs={min_pairs}: at least 2 pairs are needed for a test")
    if min_ppw_pairs < min_pairs:
        raise ChangeError(f"min_ppw_pairs={min_ppw_pairs} is below min_pairs={min_pairs}")
    if not 0 < alpha < 1:
        raise ChangeError(f"alpha={alpha}: a false-discovery rate between 0 and 1")


def _test_cell(b: np.ndarray, bc: np.ndarray, a: np.ndarray, ac: np.ndarray,
               min_pairs: int, min_ppw_pairs: int) -> dict[str, Any]:
    sign = pair_signs(b, bc, a, ac)
    row: dict[str, Any] = {
        "n_pairs": len(b), "n_censored": int((bc | ac).sum()),
        "n_increase": int((sign > 0).sum()), "n_decrease": int((sign < 0).sum()),
        "n_tied": int((sign == 0).sum()),
    }
    if len(b) < min_pairs:
        row.update(test="none", statistic=np.nan, p_value=np.nan)
    elif len(b) < min_ppw_pairs:
        t = censored_sign_test(b, bc, a, ac)
        row.update(test=_SIGN, statistic=float(t.n_increase - t.n_decrease), p_value=t.p_value)
    else:
        r = paired_prentice_wilcoxon(b, bc, a, ac)
        row.update(test=_PPW, statistic=r.z, p_value=r.p_value)
    return row


def cell_change_significance(
    pairs: pd.DataFrame,
    *,
    cell: str = "cell",
    before: str = "value_before",
    before_censored: str = "censored_before",
    after: str = "value_after",
    after_censored: str = "censored_after",
    min_pairs: int = MIN_PAIRS,
    min_ppw_pairs: int = MIN_PPW_PAIRS,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Per cell, the test of change of paired censored values and its FDR-adjusted mark.

    Parameters
    ----------
    pairs : pandas.DataFrame
        One row per re-sampled site: the cell key and the two values with their censoring
        flags (a censored value is its detection limit). Rows with a missing value are
        left out.
    cell, before, before_censored, after, after_censored : str
        Column names.
    min_pairs : int
        Cells with fewer pairs are marked ``too few pairs`` and not tested.
    min_ppw_pairs : int
        Cells with at least this many pairs get the PPW test, others the sign test.
    alpha : float
        False-discovery rate.

    Returns
    -------
    pandas.DataFrame
        Per cell (sorted by key): ``cell``, ``n_pairs``, ``n_censored`` (pairs with a
        censored side), ``n_increase``, ``n_decrease``, ``n_tied`` (pairs whose order
        the data determine, or not), ``test`` (``paired prentice-wilcoxon``,
        ``censored sign test`` or ``none``), ``statistic`` (PPW Z, or increases minus
        decreases; positive for an increase), ``p_value``, ``q_value``
        (Benjamini–Hochberg over the cells tested; NaN where not tested) and
        ``direction`` (one of :data:`DIRECTIONS`).

    Raises
    ------
    ChangeError
        A missing column, bad options, or no pair at all.
    """
    cols = [cell, before, before_censored, after, after_censored]
    _check(pairs, cols, min_pairs, min_ppw_pairs, alpha)
    p = pairs[cols].dropna(subset=[cell, before, after])
    if p.empty:
        raise ChangeError("pairs: no pair with both values")
    rows = []
    for key, part in p.groupby(cell, sort=True):
        b, a = part[before].to_numpy(float), part[after].to_numpy(float)
        bc = part[before_censored].fillna(False).to_numpy(bool)
        ac = part[after_censored].fillna(False).to_numpy(bool)
        rows.append({"cell": key, **_test_cell(b, bc, a, ac, min_pairs, min_ppw_pairs)})
    out = pd.DataFrame(rows)
    out["q_value"] = benjamini_hochberg(out["p_value"].to_numpy(float))
    sig = out["q_value"] <= alpha
    out["direction"] = np.select(
        [out["test"] == "none", sig & (out["statistic"] > 0), sig & (out["statistic"] < 0)],
        ["too few pairs", "increase", "decrease"], default="no significant change")
    return out


def change_significance_frames(
    before: pd.DataFrame,
    after: pd.DataFrame,
    *,
    grid: str = "global",
    level: int | str = "20km",
    same_sites: bool | str = False,
    max_distance_m: float = DEFAULT_MAX_DISTANCE_M,
    names: tuple[str, str] = ("before", "after"),
    min_pairs: int = MIN_PAIRS,
    min_ppw_pairs: int = MIN_PPW_PAIRS,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Per-cell change map of two campaigns given as tables, with significance marks.

    Sites pair by :func:`chemearth.assess.pairing.pair_frames`: by sample id when
    ``same_sites`` declares the same sites, else by co-location within
    ``max_distance_m``. Each pair goes to the cell of its first-campaign location; the
    cells are tested as :func:`cell_change_significance` says.

    Parameters
    ----------
    before, after : pandas.DataFrame
        One row per analysis: ``sample_id``, ``longitude``, ``latitude``, ``value``,
        ``censored``; same element, unit and comparable method.
    grid, level :
        The cells (e.g. ``"global"``, ``"20km"``).
    same_sites, max_distance_m, names :
        As :func:`chemearth.assess.pairing.pair_frames`.
    min_pairs, min_ppw_pairs, alpha :
        As :func:`cell_change_significance`.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`cell_change_significance`, with ``grid``, ``level_m``,
        ``cell_id``, ``pairing_rule`` and ``max_distance_m`` (NaN for declared pairs).

    Raises
    ------
    PairingError
        No sample of one campaign pairs with one of the other.
    ChangeError
        No pair falls in a valid cell, or bad options.
    """
    g = get_grid(grid)
    level_m = parse_level(level)
    sp = pair_frames(before, after, same_sites=same_sites, max_distance_m=max_distance_m,
                     names=names)
    cols = ["sample_id", "longitude", "latitude", "value", "censored"]
    b = before[cols].astype({"sample_id": str}).drop_duplicates("sample_id")
    a = after[cols].astype({"sample_id": str}).drop_duplicates("sample_id")
    j = (sp.pairs.merge(b, left_on="sample_id_first", right_on="sample_id")
         .merge(a, left_on="sample_id_second", right_on="sample_id", suffixes=("_b", "_a")))
    keys = g.cell_keys(j["longitude_b"].to_numpy(float), j["latitude_b"].to_numpy(float),
                       level_m)
    j = j.assign(cell=keys)[keys != INVALID_KEY]
    if j.empty:
        raise ChangeError(f"no pair of {names[0]!r} and {names[1]!r} lies in a cell of the "
                          f"{g.name} grid")
    out = cell_change_significance(
        j, before="value_b", before_censored="censored_b", after="value_a",
        after_censored="censored_a", min_pairs=min_pairs, min_ppw_pairs=min_ppw_pairs,
        alpha=alpha)
    out["cell"] = out["cell"].astype(np.int64)
    out.insert(1, "cell_id", g.key_to_id(out["cell"].to_numpy()))
    out.insert(0, "level_m", level_m)
    out.insert(0, "grid", g.name)
    out["pairing_rule"] = sp.description
    out["max_distance_m"] = sp.max_distance_m if sp.max_distance_m else np.nan
    return out
