"""One way to turn numpy and pandas values into plain, JSON-ready Python values.

Every result that crosses into JSON (the API, provenance records, reports) goes through
:func:`plain`: numpy scalars become Python numbers, arrays and tuples lists, NaN,
infinities and pandas' missing markers ``None``. :func:`records` does the same for the
rows of a frame, :func:`finite` for one number.

This module imports neither numpy nor pandas at import time; it recognises their types
by duck typing, so the lowest layer stays light.

Examples
--------
>>> import numpy as np
>>> plain({"n": np.int64(3), "mean": np.float64("nan"), "q": (np.float32(0.5), 1)})
{'n': 3, 'mean': None, 'q': [0.5, 1]}
>>> plain(float("inf"), keep_nan=True)
inf
>>> finite("2.5"), finite("x"), finite(float("nan"))
(2.5, None, None)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["finite", "plain", "records"]

_MISSING_TYPES = frozenset({"NAType", "NaTType"})


def finite(value: Any) -> float | None:
    """``value`` as a float, or None when it is no finite number.

    Examples
    --------
    >>> finite(3), finite(None), finite(float("-inf"))
    (3.0, None, None)
    """
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def plain(
    value: Any,
    *,
    keep_nan: bool = False,
    default: Callable[[Any], Any] | None = None,
) -> Any:
    """A JSON-ready copy of ``value``.

    Parameters
    ----------
    value : any
        Numbers, strings, booleans, None, numpy scalars and arrays, mappings, lists and
        tuples, nested in any way.
    keep_nan : bool
        Keep NaN and infinities as floats (for Python use) instead of None (for JSON).
    default : callable, optional
        Applied to a value of any other type (e.g. ``str`` for timestamps); without it,
        such values are returned unchanged.

    Examples
    --------
    >>> import numpy as np
    >>> plain(np.array([1.0, np.nan]))
    [1.0, None]
    >>> plain([np.bool_(True), "a"])
    [True, 'a']
    """
    if value is None or isinstance(value, str | bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        f = float(value)  # also numpy.float64, a float subclass
        return f if keep_nan or math.isfinite(f) else None
    if isinstance(value, Mapping):
        return {str(k): plain(v, keep_nan=keep_nan, default=default) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v, keep_nan=keep_nan, default=default) for v in value]
    if type(value).__name__ in _MISSING_TYPES:
        return None
    tolist = getattr(value, "tolist", None)
    if tolist is not None and hasattr(value, "dtype"):  # numpy scalar or array
        return plain(tolist(), keep_nan=keep_nan, default=default)
    return default(value) if default is not None else value


def records(frame: Any, *, default: Callable[[Any], Any] | None = None) -> list[dict[str, Any]]:
    """The rows of a pandas frame as JSON-ready dicts (column names as strings).

    Examples
    --------
    >>> import pandas as pd
    >>> records(pd.DataFrame({"a": [1, 2], "b": [0.5, float("nan")]}))
    [{'a': 1, 'b': 0.5}, {'a': 2, 'b': None}]
    """
    return [plain(r, default=default) for r in frame.to_dict("records")]
