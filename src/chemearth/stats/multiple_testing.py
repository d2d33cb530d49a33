"""Multiple testing: false-discovery-rate adjusted p-values (Benjamini & Hochberg 1995).

A map that tests every cell makes many tests at once; at the 5 % level one cell in twenty
of an unchanged area would be marked as changed. :func:`benjamini_hochberg` adjusts the
p-values so that, among the tests called significant at ``q <= alpha``, the expected
share of false discoveries is at most ``alpha`` (for independent or positively dependent
tests).

References
----------
Benjamini, Y. & Hochberg, Y. (1995). Controlling the false discovery rate: a practical and
powerful approach to multiple testing. *JRSS B* 57(1), 289–300.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from chemearth.errors import StatisticsError

__all__ = ["benjamini_hochberg"]


def benjamini_hochberg(p_values: ArrayLike) -> NDArray[np.float64]:
    """Benjamini–Hochberg (1995) adjusted p-values (q-values); NaN stays NaN.

    ``q_(i) = min_{k >= i} min(1, m p_(k) / k)`` over the ``m`` non-missing p-values
    sorted ascending; a test is a discovery at false-discovery rate ``α`` when its
    ``q <= α``.

    Examples
    --------
    >>> benjamini_hochberg([0.01, 0.04, 0.03, float("nan"), 0.5]).round(4).tolist()
    [0.04, 0.0533, 0.0533, nan, 0.5]
    """
    p = np.asarray(p_values, dtype=np.float64)
    if p.ndim != 1:
        raise StatisticsError("benjamini_hochberg: expected a 1-D array of p-values")
    ok = ~np.isnan(p)
    if ((p[ok] < 0) | (p[ok] > 1)).any():
        raise StatisticsError("benjamini_hochberg: p-values must lie in [0, 1]")
    out = np.full(p.shape, np.nan)
    m = int(ok.sum())
    if m == 0:
        return out
    pv = p[ok]
    order = np.argsort(pv, kind="stable")
    ranked = pv[order] * m / np.arange(1, m + 1)
    q = np.minimum(np.minimum.accumulate(ranked[::-1])[::-1], 1.0)
    back = np.empty(m)
    back[order] = q
    out[ok] = back
    return out
