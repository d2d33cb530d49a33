"""Parse analyte cells and normalise every below-detection-limit encoding.

Whatever the file wrote, a parsed column ends in one representation
(``docs/conventions.md``): ``value`` = the detection limit and ``censored`` = true for
a value below the limit. :func:`parse_cells` reads the numbers and the ``<``/``>``
qualifiers; :func:`apply_censoring` applies the dataset's encoding.

Examples
--------
>>> import pyarrow as pa
>>> cells = parse_cells(pa.array(["<0.6", "5.2", "N.S.", "x"]), not_sampled=("N.S.",))
>>> cells.number.tolist()[:2], cells.lt.tolist(), cells.bad.tolist()
([0.6, 5.2], [True, False, False, False], [False, False, False, True])
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from chemearth.ingest.descriptor import Censoring, Substitution

__all__ = ["NOT_FINITE", "Cells", "CensoredColumn", "apply_censoring", "parse_cells"]

_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
#: Words for numbers that are not measurements: infinities and NaN.
_NON_FINITE = r"^[+-]?(inf|infinity|nan)$"
#: The reason given for a cell holding one (``inf``, ``-inf``, ``nan``, ``1e400``…).
NOT_FINITE = "value is not a finite number"
_REL_TOL = 1e-6


@dataclass
class Cells:
    """The numbers of one column as written, with their qualifiers.

    ``number`` is NaN where the cell is empty, not sampled or unparseable. ``bad`` marks
    every unusable cell; ``nonfinite`` those of them that hold an infinite or NaN number
    (``inf``, ``-inf``, ``nan``, or ``1e400``, too large for a double), None when none does.
    """

    number: np.ndarray
    lt: np.ndarray
    gt: np.ndarray
    bad: np.ndarray
    not_sampled: np.ndarray
    text: pa.Array | None = None
    nonfinite: np.ndarray | None = None

    def bad_text(self, i: int) -> str:
        """The raw text of an unparseable cell ``i``."""
        return "" if self.text is None else str(self.text[i].as_py())


def parse_cells(array: pa.Array | pa.ChunkedArray, not_sampled: tuple[str, ...] = ()) -> Cells:
    """Parse one column of cells into numbers and ``<``/``>`` qualifiers.

    Parameters
    ----------
    array : pyarrow array
        The column as read: numbers, or text such as ``"<0.6"``, ``"> 10"``, ``"1e-3"``.
    not_sampled : tuple of str
        Markers of sites not sampled (``"N.S."``); they become missing values.

    Returns
    -------
    Cells
    """
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks() if array.num_chunks != 1 else array.chunk(0)
    n = len(array)
    false = np.zeros(n, dtype=bool)
    if pa.types.is_integer(array.type):
        number = array.cast(pa.float64()).to_numpy(zero_copy_only=False)
        return Cells(number, false, false.copy(), false.copy(), false.copy())
    if pa.types.is_floating(array.type):
        return _floats(array)
    if pa.types.is_null(array.type):
        return Cells(np.full(n, np.nan), false, false.copy(), false.copy(), false.copy())
    if pa.types.is_boolean(array.type):
        return Cells(
            np.full(n, np.nan),
            false,
            false.copy(),
            ~pc.is_null(array).to_numpy(zero_copy_only=False),
            false.copy(),
            array.cast(pa.string()),
        )
    text = array.cast(pa.string())
    fast = _fast_path(text)  # succeeds only when no cell is a marker, '>' value or text
    if fast is not None:
        return fast
    return _slow_path(pc.utf8_trim_whitespace(text), not_sampled)


def _floats(array: pa.Array) -> Cells:
    """A column read as numbers: infinities and NaN (not nulls) are non-finite, bad cells."""
    number = np.array(array.cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)
    false = np.zeros(len(number), dtype=bool)
    valid = np.asarray(pc.is_valid(array).to_numpy(zero_copy_only=False), dtype=bool)
    nonfinite = ~np.isfinite(number) & valid
    if not nonfinite.any():
        return Cells(number, false, false.copy(), false.copy(), false.copy())
    number[nonfinite] = np.nan
    return Cells(number, false, false.copy(), nonfinite.copy(), false.copy(),
                 array.cast(pa.string()), nonfinite)


def _fast_path(text: pa.Array) -> Cells | None:
    """Every cell is empty, a number or '<' + a number (the common case): two passes."""
    lt = pc.starts_with(text, "<")
    number = _fast_numbers(pc.utf8_ltrim(text, "< "))
    if number is None:
        return None
    n = len(text)
    lt_np = np.asarray(pc.fill_null(lt, False).to_numpy(zero_copy_only=False), dtype=bool)
    false = np.zeros(n, dtype=bool)
    return Cells(number, lt_np, false, false.copy(), false.copy(), None)


def _slow_path(text: pa.Array, not_sampled: tuple[str, ...]) -> Cells:
    """Cells with '>' qualifiers, not-sampled markers, spaces or text: checked one by one."""
    n = len(text)
    null = pc.is_null(text).to_numpy(zero_copy_only=False)
    if not_sampled:
        ns = pc.is_in(text, value_set=pa.array(list(not_sampled), pa.string()))
        ns_np = ns.to_numpy(zero_copy_only=False) & ~null
    else:
        ns_np = np.zeros(n, dtype=bool)
    lt = pc.fill_null(pc.starts_with(text, "<"), False)
    gt = pc.fill_null(pc.starts_with(text, ">"), False)
    body = pc.utf8_trim_whitespace(pc.utf8_ltrim(text, "<> "))
    ok = pc.fill_null(pc.match_substring_regex(body, _NUMBER), False)
    number = np.array(
        pc.cast(pc.if_else(ok, body, pa.scalar(None, pa.string())), pa.float64())
        .to_numpy(zero_copy_only=False),
        dtype=np.float64,
    )
    words = pc.fill_null(pc.match_substring_regex(body, _NON_FINITE, ignore_case=True), False)
    nonfinite = np.isinf(number) | np.asarray(words.to_numpy(zero_copy_only=False), dtype=bool)
    number[nonfinite] = np.nan
    bad = (~null & ~ok.to_numpy(zero_copy_only=False) & ~ns_np) | nonfinite
    return Cells(
        number,
        lt.to_numpy(zero_copy_only=False),
        gt.to_numpy(zero_copy_only=False),
        bad,
        ns_np,
        text if bad.any() else None,  # kept only to quote bad cells in messages
        nonfinite if nonfinite.any() else None,
    )


def _fast_numbers(body: pa.Array) -> np.ndarray | None:
    """Cast the whole column at once; None when any cell is not a finite number."""
    try:
        number = pc.cast(body, pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    number = np.asarray(number, dtype=np.float64)
    if np.isinf(number).any():  # "inf" is not a measurement
        return None
    nan = np.isnan(number)
    if nan.any() and (nan & ~pc.is_null(body).to_numpy(zero_copy_only=False)).any():
        return None  # "nan" written in a cell
    return number


@dataclass
class CensoredColumn:
    """One analyte column after the censoring encoding is applied (original units)."""

    value: np.ndarray
    censored: np.ndarray
    limit: float | None
    negative_bad: np.ndarray
    warnings: list[str] = field(default_factory=list)
    #: cells equal to a declared substitution constant, stored censored
    n_substituted: int = 0

    @property
    def detection_limit(self) -> np.ndarray:
        """The value where censored, else the column's limit (NaN when none is known)."""
        return np.where(self.censored, self.value, np.nan if self.limit is None else self.limit)


def apply_censoring(
    cells: Cells,
    censoring: Censoring,
    limit: float | None,
    flags: np.ndarray | None = None,
    flag_column: np.ndarray | None = None,
    substitution: Substitution | None = None,
) -> CensoredColumn:
    """Apply the dataset's below-detection-limit encoding to one parsed column.

    Parameters
    ----------
    cells : Cells
        From :func:`parse_cells`.
    censoring : Censoring
        The descriptor's ``[censoring]`` section.
    limit : float or None
        The column's detection limit in the column's unit, where the descriptor gives one.
    flags : ndarray of bool, optional
        For ``flag_file``: true where the flag file marks the cell censored.
    flag_column : ndarray of bool, optional
        For ``flag_column``: the boolean ``*Cen`` column.
    substitution : Substitution, optional
        A constant declared under ``[censoring.substituted]``: exactly the cells equal to
        it are stored censored at its detection limit, whatever the encoding.

    Returns
    -------
    CensoredColumn
        ``value`` is the detection limit where ``censored``; ``negative_bad`` marks negative
        numbers that the encoding does not explain (they are rejected by the caller).

    Examples
    --------
    >>> from chemearth.ingest.descriptor import Censoring, Substitution
    >>> cells = parse_cells(pa.array([-2.0, 5.0, None]))
    >>> col = apply_censoring(cells, Censoring(encoding="negative"), None)
    >>> col.value.tolist()[:2], col.censored.tolist()
    ([2.0, 5.0], [True, False, False])

    A declared constant (half the limit of 3) is censored; 1.4 and 2 stay measured:

    >>> cells = parse_cells(pa.array([1.5, 1.4, 2.0, 1.5]))
    >>> half = Substitution(value=1.5, detection_limit=3.0)
    >>> col = apply_censoring(cells, Censoring(encoding="none"), None, substitution=half)
    >>> col.value.tolist(), col.censored.tolist(), col.n_substituted
    ([3.0, 1.4, 2.0, 3.0], [True, False, False, True], 2)
    """
    v = cells.number.copy()
    finite = ~np.isnan(v)
    censored = cells.lt & finite
    warnings: list[str] = []
    n_substituted = 0
    if substitution is not None:
        sub = finite & ~censored & substitution.matches(v)
        n_substituted = int(sub.sum())
        censored |= sub
        v[sub] = substitution.detection_limit
        if limit is None:
            limit = substitution.detection_limit
    enc = censoring.encoding
    negative = finite & (v < 0)
    if enc == "negative":
        censored |= negative
        v[negative] = -v[negative]
        negative = np.zeros_like(negative)
    elif enc == "zero":
        zero = finite & (v == 0) & ~censored
        if zero.any():
            if limit is None:
                warnings.append(
                    f"{int(zero.sum())} zero value(s) mean 'below detection limit' but no limit "
                    "is given: they are kept as missing"
                )
                v[zero] = np.nan
            else:
                censored |= zero
                v[zero] = limit
    elif enc == "substituted" and limit is not None:
        # (without a limit: declared constants above; others are looked for at ingest)
        sub = finite & ~censored & (v > 0) & (v <= censoring.factor * limit * (1 + _REL_TOL))
        censored |= sub
        v[sub] = limit
    elif enc == "flag_file" and flags is not None:
        flagged = flags & finite & ~censored
        censored |= flagged
        v[flagged] = v[flagged] / censoring.factor
    elif enc == "flag_column" and flag_column is not None:
        flagged = flag_column & finite
        censored |= flagged
    return CensoredColumn(v, censored, limit, negative & ~censored, warnings, n_substituted)
