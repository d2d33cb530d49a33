"""Cumulative-frequency colour classes of geochemical maps, and their legend.

Geochemical atlases colour a map by classes bounded at percentiles of the mapped values
(Reimann et al. 2008, ch. 5): by default at 5, 10, 25, 50, 75, 90, 95 and 98 %
(:data:`CLASS_PERCENTS`, the same as :data:`chemearth.stats.baselines.CLASS_PERCENTS`), which
gives up to nine classes. :func:`class_breaks` computes the class limits,
:func:`classify` puts values into classes, :func:`palette` gives one colour-blind-safe
colour per class (matplotlib's *viridis*, darkest for the lowest class) and
:func:`legend` ties them together for a map legend.

Conventions
-----------
* Limits are linear (type 7) percentiles of the finite values, strictly increasing and
  strictly between the minimum and the maximum: equal limits (many tied values, e.g.
  censored values at the detection limit) are merged and limits equal to the minimum or
  maximum are dropped, so every class has a positive width (unless all values are equal,
  which gives one class).
* Class ``k`` is ``[limit[k-1], limit[k])``: a value equal to a limit goes in the class
  above it. The first class starts at the data minimum, the last ends at (and includes)
  the maximum; ``-inf`` falls in the first class and ``+inf`` in the last.
* NaN gets the class :data:`NO_CLASS` (255).

Examples
--------
>>> import numpy as np
>>> values = np.arange(1.0, 101.0)
>>> class_breaks(values, (25, 50, 75)).tolist()
[25.75, 50.5, 75.25]
>>> classify([1.0, 25.75, 99.0, np.nan], [25.75, 50.5, 75.25]).tolist()
[0, 1, 3, 255]
>>> legend(values, "mg/kg", "median", percents=(50,)).to_dict()["classes"][1]
{'lower': 50.5, 'upper': 100.0, 'colour': '#fde725', 'percent_lower': 50.0, 'percent_upper': 100.0}
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

from chemearth.errors import ChemearthError

__all__ = [
    "CLASS_PERCENTS",
    "NO_CLASS",
    "ClassError",
    "Legend",
    "class_breaks",
    "classify",
    "legend",
    "palette",
]

#: Percentiles bounding the classes of geochemical maps (as
#: :data:`chemearth.stats.baselines.CLASS_PERCENTS`; a test keeps the two equal).
CLASS_PERCENTS: Final = (5, 10, 25, 50, 75, 90, 95, 98)
#: The class of a missing (NaN) value, and of "no cell" in tiles.
NO_CLASS: Final = 255
#: Most classes a legend can have (class indexes 0–254; 255 is :data:`NO_CLASS`).
MAX_CLASSES: Final = 255
#: The matplotlib colormap of :func:`palette`: perceptually uniform, colour-blind safe.
COLORMAP: Final = "viridis"

Floats = NDArray[np.float64]


class ClassError(ChemearthError, ValueError):
    """Invalid class percents, class limits or colours."""

    exit_code = 2


def _finite(values: ArrayLike) -> Floats:
    try:
        x = np.asarray(values, dtype=np.float64).ravel()
    except (TypeError, ValueError) as exc:
        raise ClassError(f"values must be numbers: {exc}") from None
    return x[np.isfinite(x)]


def _check_percents(percents: Sequence[float]) -> Floats:
    pct = np.asarray(percents, dtype=np.float64)
    if (
        pct.ndim != 1
        or not np.all(np.isfinite(pct))
        or np.any((pct <= 0) | (pct >= 100))
        or np.any(np.diff(pct) <= 0)
    ):
        raise ClassError(f"percents must increase strictly within (0, 100), got {percents!r}")
    if pct.size > MAX_CLASSES - 1:
        raise ClassError(f"at most {MAX_CLASSES - 1} percents, got {pct.size}")
    return pct


def _limits(x: Floats, pct: Floats) -> tuple[Floats, Floats, Floats]:
    """Merged limits of finite values ``x``, with the first and last percent of each limit."""
    if x.size == 0:
        empty = np.empty(0, dtype=np.float64)
        return empty, empty, empty
    # np.maximum.accumulate guards against rounding making interpolated percentiles dip.
    p = np.maximum.accumulate(np.percentile(x, pct, method="linear"))
    lo, hi = x.min(), x.max()
    keep = (p > lo) & (p < hi)
    p, pct = p[keep], pct[keep]
    limits, first, count = np.unique(p, return_index=True, return_counts=True)
    return limits, pct[first], pct[first + count - 1]


def class_breaks(values: ArrayLike, percents: Sequence[float] = CLASS_PERCENTS) -> Floats:
    """Class limits at percentiles of the finite values, ties merged.

    Parameters
    ----------
    values : array_like
        The mapped values; NaN and infinities are ignored.
    percents : sequence of float
        Strictly increasing percents within (0, 100); default :data:`CLASS_PERCENTS`.

    Returns
    -------
    numpy.ndarray
        Strictly increasing ``float64`` limits (at most ``len(percents)``), all strictly
        between the minimum and maximum of the values; empty for no finite values.

    Raises
    ------
    ClassError
        For invalid percents or non-numeric values.

    Examples
    --------
    >>> class_breaks([1, 1, 1, 1, 2, 3, 4, 5, 6, 7], (10, 25, 50, 75)).tolist()  # P10 = P25 = min
    [2.5, 4.75]
    """
    return _limits(_finite(values), _check_percents(percents))[0]


def _check_breaks(breaks: ArrayLike) -> Floats:
    b = np.asarray(breaks, dtype=np.float64)
    if b.ndim != 1 or not np.all(np.isfinite(b)) or np.any(np.diff(b) <= 0):
        raise ClassError("class limits must be finite and strictly increasing")
    if b.size > MAX_CLASSES - 1:
        raise ClassError(f"at most {MAX_CLASSES - 1} class limits, got {b.size}")
    return b


def classify(values: ArrayLike, breaks: ArrayLike) -> NDArray[np.uint8]:
    """Class index of each value: the number of limits at or below it; 255 for NaN.

    Class ``k`` holds the values ``v`` with ``breaks[k-1] <= v < breaks[k]``, so a value
    equal to a limit goes in the class above the limit. The result has the shape of
    ``values`` and holds 0 … ``len(breaks)``, or :data:`NO_CLASS` (255) for NaN.

    Raises
    ------
    ClassError
        If ``breaks`` are not finite and strictly increasing, or more than 254.

    Examples
    --------
    >>> classify([[0.5, 1.0], [1.5, 2.0]], [1.0, 2.0]).tolist()
    [[0, 1], [1, 2]]
    """
    b = _check_breaks(breaks)
    try:
        v = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ClassError(f"values must be numbers: {exc}") from None
    out = np.searchsorted(b, v, side="right").astype(np.uint8)
    out[np.isnan(v)] = NO_CLASS
    return out


@functools.lru_cache(maxsize=64)
def _palette(n: int) -> tuple[str, ...]:
    import matplotlib
    from matplotlib.colors import to_hex

    cmap = matplotlib.colormaps[COLORMAP]
    positions = np.linspace(0.0, 1.0, n) if n > 1 else np.full(n, 0.5)
    return tuple(to_hex(cmap(float(t)), keep_alpha=False) for t in positions)


def palette(n: int) -> list[str]:
    """``n`` colours ``'#rrggbb'`` for ``n`` classes, lowest (darkest) first.

    Evenly spaced samples of matplotlib's *viridis* colormap, from its dark end to its
    light end: perceptually uniform, readable in grey scale and by colour-blind readers.
    A single class gets the middle colour.

    Raises
    ------
    ClassError
        If ``n`` is not 0–255.

    Examples
    --------
    >>> palette(3)
    ['#440154', '#21918c', '#fde725']
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or not 0 <= n <= MAX_CLASSES:
        raise ClassError(f"palette size must be an integer 0–{MAX_CLASSES}, got {n!r}")
    return list(_palette(int(n)))


@dataclass(frozen=True)
class Legend:
    """Classes of a map legend: limits, colours and cumulative percents.

    Class ``k`` spans ``limits[k]`` to ``limits[k + 1]`` (lower included; the last
    class includes its upper limit), has colour ``colours[k]`` and holds the values
    between the ``percent_lower[k]`` and ``percent_upper[k]`` percentiles. ``limits``
    starts with the minimum and ends with the maximum of the data. A legend of no data
    has no classes and empty ``limits``.

    Examples
    --------
    >>> lg = Legend((0.0, 1.0, 4.0), ("#440154", "#fde725"), (0.0, 50.0), (50.0, 100.0),
    ...             "mg/kg", "median")
    >>> lg.n_classes, lg.breaks
    (2, (1.0,))
    """

    limits: tuple[float, ...]
    colours: tuple[str, ...]
    percent_lower: tuple[float, ...]
    percent_upper: tuple[float, ...]
    unit: str
    stat: str

    def __post_init__(self) -> None:
        n = len(self.colours)
        if n > MAX_CLASSES or len(self.limits) != (n + 1 if n else 0):
            raise ClassError(
                f"a legend of {n} classes needs {n + 1} limits, not {len(self.limits)}"
            )
        if len(self.percent_lower) != n or len(self.percent_upper) != n:
            raise ClassError(f"a legend of {n} classes needs {n} lower and upper percents")

    @property
    def n_classes(self) -> int:
        """The number of classes."""
        return len(self.colours)

    @property
    def breaks(self) -> tuple[float, ...]:
        """The inner limits, as :func:`classify` takes them."""
        return self.limits[1:-1]

    def to_dict(self) -> dict[str, Any]:
        """The legend as JSON-ready data: ``{"unit", "stat", "classes": [...]}``.

        Each class is ``{"lower", "upper", "colour", "percent_lower", "percent_upper"}``.

        Examples
        --------
        >>> d = legend([1.0, 2.0], "mg/kg", "mean", percents=(50,)).to_dict()
        >>> d["unit"], d["stat"], d["classes"][0]["upper"], d["classes"][0]["percent_upper"]
        ('mg/kg', 'mean', 1.5, 50.0)
        """
        classes = [
            {
                "lower": self.limits[k],
                "upper": self.limits[k + 1],
                "colour": self.colours[k],
                "percent_lower": self.percent_lower[k],
                "percent_upper": self.percent_upper[k],
            }
            for k in range(self.n_classes)
        ]
        return {"unit": self.unit, "stat": self.stat, "classes": classes}


def legend(
    values: ArrayLike, unit: str, stat: str, *, percents: Sequence[float] = CLASS_PERCENTS
) -> Legend:
    """The legend of a map of ``values``: :func:`class_breaks` classes, :func:`palette` colours.

    Where limits were merged (ties) the class below a limit ends at its first percent and
    the class above starts at its last, so the percents of neighbouring classes can leave
    a gap: the values equal to that limit.

    Parameters
    ----------
    values : array_like
        The mapped values (e.g. the cell medians of a layer); NaN and infinities ignored.
    unit, stat : str
        The unit of the values and the statistic they are, for the legend's title.
    percents : sequence of float
        As for :func:`class_breaks`.

    Examples
    --------
    >>> lg = legend([1, 2, 3, 3, 3, 3, 3, 3, 4, 5], "mg/kg", "median", percents=(25, 50, 75))
    >>> lg.limits, lg.percent_lower, lg.percent_upper  # P25 = P50 = P75 = 3
    ((1.0, 3.0, 5.0), (0.0, 75.0), (25.0, 100.0))
    """
    x = _finite(values)
    limits, first, last = _limits(x, _check_percents(percents))
    if x.size == 0:
        return Legend((), (), (), (), unit, stat)
    n = limits.size + 1
    return Legend(
        limits=(float(x.min()), *(float(v) for v in limits), float(x.max())),
        colours=tuple(palette(n)),
        percent_lower=(0.0, *(float(v) for v in last)),
        percent_upper=(*(float(v) for v in first), 100.0),
        unit=unit,
        stat=stat,
    )
