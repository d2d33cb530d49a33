"""Selectors shared by the stages above the store: which analyses of an element to use,
and how to read the catalogue's list columns.

Examples
--------
>>> digestion_rank("total") < digestion_rank("aqua-regia")
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from chemearth.errors import NotFoundError
from chemearth.store.base import Store

__all__ = [
    "DIGESTION_PREFERENCE",
    "choose_methods",
    "digestion_rank",
    "element_values",
    "string_list",
]

#: Digestions in the order their results are preferred for a comparison with totals.
DIGESTION_PREFERENCE = ("total", "near-total", "aqua-regia", "partial", "unknown")


def digestion_rank(digestion: object) -> int:
    """Position of a digestion in :data:`DIGESTION_PREFERENCE` (unknown names last).

    Examples
    --------
    >>> digestion_rank("total"), digestion_rank("aqua-regia"), digestion_rank("HF")
    (0, 2, 5)
    """
    d = str(digestion)
    return DIGESTION_PREFERENCE.index(d) if d in DIGESTION_PREFERENCE else len(
        DIGESTION_PREFERENCE)


def choose_methods(columns: pd.DataFrame, elements: Sequence[str],
                   methods: dict[str, str] | None = None) -> dict[str, str]:
    """The method used for each element: the user's, else the one closest to a total.

    ``columns`` is :meth:`Store.measurement_columns`; ties go to the first column.
    """
    out: dict[str, str] = {}
    for el in elements:
        rows = columns[columns["element"] == el]
        if rows.empty:
            continue
        if methods and el in methods:
            hit = rows[rows["method"].fillna("").str.contains(methods[el], regex=False)]
            if hit.empty:
                raise NotFoundError(f"{el}: no method matching {methods[el]!r}; "
                                    f"methods: {', '.join(map(str, rows['method']))}")
            out[el] = str(hit["method"].iloc[0])
            continue
        r = rows["digestion"].fillna("unknown").map(digestion_rank)
        out[el] = str(rows.iloc[int(np.argmin(r.to_numpy()))]["method"])
    return out


def element_values(store: Store, dataset_id: str, element: str,
                   method: str | None = None) -> tuple[pd.DataFrame, str]:
    """Analyses of one element by one method (default: the most total), and the method."""
    m = store.measurements(dataset_id, elements=[element])
    m = m[m["value"].notna()]
    if m.empty:
        raise NotFoundError(f"dataset {dataset_id!r} holds no analyses of {element!r}")
    methods = m["method"].fillna("").astype(str)
    if method is None:
        order = m["digestion"].fillna("unknown").map(digestion_rank).to_numpy()
        method = str(methods.iloc[int(np.argmin(order))])
    m = m[methods == method]
    if m.empty:
        raise NotFoundError(f"dataset {dataset_id!r}: no {element} analyses by {method!r}")
    return m.reset_index(drop=True), method


def string_list(value: Any) -> list[str]:
    """A catalogue list column (list, array, None or NaN) as a list of strings.

    Examples
    --------
    >>> string_list(["U", None, "Th"]), string_list(None), string_list(float("nan"))
    (['U', 'Th'], [], [])
    """
    try:
        return [str(v) for v in value if v is not None]
    except TypeError:  # None, NaN: not a list
        return []
