"""Compositional data: closure, censored parts, log-ratio transforms and robust distances.

Geochemical analyses are compositions: parts of a whole (mg/kg of 10⁶ mg/kg), informative
only through their ratios (Aitchison 1986). Statistics on them are computed on log-ratio
coordinates:

* :func:`clr` — centred log-ratio, ``log(x_i / g(x))`` with ``g`` the geometric mean of the
  row (D columns summing to zero; the space of the compositional biplot);
* :func:`ilr` — isometric log-ratio coordinates: ``clr(x) @ V`` for an orthonormal basis
  ``V`` (D × (D−1), :func:`ilr_basis`). The default is the **Helmert** basis of Egozcue
  et al. (2003), the basis of pyrolite and ``scipy.linalg.helmert``: coordinate ``j``
  (1-based) is ``sqrt(j/(j+1)) · log(g(x_1..x_j) / x_{j+1})``. The alternative ``"pivot"``
  gives the pivot coordinates of Filzmoser, Hron & Reimann (2009, robCompositions
  ``pivotCoord``): ``z_j = sqrt((D−j)/(D−j+1)) · log(x_j / g(x_{j+1}..x_D))``, so that the
  first coordinate holds all the relative information of the first part. Any orthonormal
  basis gives the same distances, covariance in clr space and robust distances;
* :func:`alr` — additive log-ratio to a chosen divisor part (not isometric);

each with its inverse (:func:`inverse_clr`, :func:`inverse_ilr`, :func:`inverse_alr`),
which returns the composition closed to ``total`` (:func:`closure`).

Censored parts and missing parts
--------------------------------
A value below the detection limit is stored as the limit itself with ``censored`` true
(``docs/conventions.md``). A log-ratio needs a positive number, so :func:`replace_censored`
applies the **multiplicative replacement** of Martín-Fernández, Barceló-Vidal &
Pawlowsky-Glahn (2003): a censored part becomes ``δ = fraction × DL`` (default
:data:`CENSORED_FRACTION` = 0.65) and every measured part of the row is multiplied by
``1 − Σδ / total``, where ``total`` is the whole the values are parts of (10⁶ for mg/kg).
The ratios between measured parts are kept exactly; a row whose measured parts sum to
``total`` (censored parts counted as zero) still sums to ``total``. A censored value is
therefore never used as if it were measured.

A part that was not analysed (NaN) cannot be replaced: :func:`parts_of` leaves such rows
out and says which (``Parts.rows`` are the rows used, ``Parts.missing_rows`` those left
out), never dropping a row silently.

Robust distances
----------------
:func:`robust_distances` gives each sample's robust Mahalanobis distance on ilr
coordinates, from the minimum covariance determinant estimate (scikit-learn
``MinCovDet``), and flags those beyond ``sqrt(χ²_{D−1}(0.975))`` as multivariate outliers
(Filzmoser, Garrett & Reimann 2005). Robust principal components and factors are in
:mod:`chemearth.stats.compositional_factors`.

Examples
--------
>>> x = np.array([[1.0, 1.0, 4.0], [2.0, 3.0, 5.0]])
>>> clr(x).round(4).tolist()[0]
[-0.4621, -0.4621, 0.9242]
>>> np.allclose(inverse_ilr(ilr(x)), closure(x))
True
>>> replace_censored([[100.0, 2.0, 1000.0]], [[False, True, False]]).round(4).tolist()
[[99.9999, 1.3, 999.9987]]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from chemearth.errors import ChemearthError

__all__ = [
    "CENSORED_FRACTION",
    "ILR_BASES",
    "CompositionError",
    "Parts",
    "RobustDistances",
    "alr",
    "as_parts",
    "closure",
    "clr",
    "ilr",
    "ilr_basis",
    "inverse_alr",
    "inverse_clr",
    "inverse_ilr",
    "parts_of",
    "replace_censored",
    "robust_distances",
    "robust_fit",
]

#: Fraction of the detection limit a censored part takes (Martín-Fernández et al. 2003).
CENSORED_FRACTION = 0.65

#: Named ilr bases of :func:`ilr_basis`.
ILR_BASES = ("helmert", "pivot")

Array = npt.NDArray[np.float64]


class CompositionError(ChemearthError, ValueError):
    """Compositions that cannot be transformed or analysed as asked."""

    exit_code = 2


def _matrix(x: npt.ArrayLike, what: str = "compositions") -> Array:
    a = np.asarray(x, dtype=float)
    if a.ndim == 1:
        a = a[np.newaxis, :]
    if a.ndim != 2 or a.shape[1] < 2:
        raise CompositionError(f"{what} must be a table of rows with at least 2 parts, "
                               f"not of shape {np.shape(x)}")
    return a


def _positive(x: npt.ArrayLike) -> Array:
    a = _matrix(x)
    bad = ~(np.isfinite(a) & (a > 0))
    if bad.any():
        row, col = (int(i) for i in np.argwhere(bad)[0])
        raise CompositionError(
            f"{int(bad.sum())} part(s) are not positive numbers (first: row {row}, column "
            f"{col}, value {a[row, col]!r}): replace censored parts first "
            "(replace_censored) and leave out rows with missing parts (parts_of)")
    return a


def closure(x: npt.ArrayLike, total: float = 1.0) -> Array:
    """Each row rescaled to sum to ``total``.

    Examples
    --------
    >>> closure([[1.0, 3.0]], 100).tolist()
    [[25.0, 75.0]]
    """
    a = _matrix(x)
    return np.asarray(total * a / a.sum(axis=1, keepdims=True))


def replace_censored(
    x: npt.ArrayLike,
    censored: npt.ArrayLike,
    *,
    fraction: float = CENSORED_FRACTION,
    total: float = 1e6,
) -> Array:
    """Multiplicative replacement of censored parts (Martín-Fernández et al. 2003).

    Parameters
    ----------
    x : array_like
        Compositions (rows); a censored entry holds its detection limit.
    censored : array_like of bool
        Same shape: true where the value is below the detection limit.
    fraction : float
        A censored part becomes ``fraction × DL`` (0 < fraction ≤ 1; default 0.65).
    total : float
        The whole the values are parts of (10⁶ for mg/kg, 100 for %): the measured parts
        of a row are multiplied by ``1 − Σδ / total``.

    Returns
    -------
    numpy.ndarray
        The compositions with positive censored parts; missing values (NaN) stay NaN.

    Examples
    --------
    >>> replace_censored([[60.0, 0.5, 40.0]], [[False, True, False]], total=100).round(6).tolist()
    [[59.805, 0.325, 39.87]]
    """
    a = _matrix(x)
    c = np.asarray(censored, dtype=bool).reshape(a.shape)
    if not 0 < fraction <= 1:
        raise CompositionError(f"fraction must lie in (0, 1], not {fraction}")
    if total <= 0:
        raise CompositionError(f"total must be positive, not {total}")
    delta = np.where(c, fraction * a, 0.0)
    if (c & ~(np.isfinite(a) & (a > 0))).any():
        raise CompositionError("a censored part needs a positive detection limit")
    sums = np.nansum(delta, axis=1, keepdims=True)
    if (sums >= total).any():
        raise CompositionError(f"the censored parts of a row add up to {total} or more")
    return np.asarray(np.where(c, delta, a * (1.0 - sums / total)))


@dataclass
class Parts:
    """Compositions ready for log-ratios, and the rows they came from.

    ``values`` (rows × parts) are positive, censored parts replaced; ``rows`` are the index
    labels of the input rows used, ``missing_rows`` those left out because a part was not
    measured (NaN, or a non-positive value not flagged as censored); ``n_censored`` counts
    the replaced values of each part among the rows used.
    """

    values: Array
    parts: tuple[str, ...]
    rows: pd.Index
    missing_rows: pd.Index
    n_censored: dict[str, int] = field(default_factory=dict)
    fraction: float = CENSORED_FRACTION

    @property
    def frame(self) -> pd.DataFrame:
        """The values as a frame indexed by the rows used."""
        return pd.DataFrame(self.values, index=self.rows, columns=list(self.parts))


def parts_of(
    frame: pd.DataFrame,
    parts: Sequence[str] | None = None,
    censored: pd.DataFrame | None = None,
    *,
    fraction: float = CENSORED_FRACTION,
    total: float = 1e6,
) -> Parts:
    """The compositions of ``parts`` in a wide frame, censored parts replaced.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per sample, one column per part (same unit for all, e.g. mg/kg); a
        censored entry holds its detection limit.
    parts : sequence of str, optional
        The columns forming the (sub)composition; default: all columns.
    censored : pandas.DataFrame, optional
        Booleans with the columns of ``parts`` (and the index of ``frame``): true where
        the value is below the detection limit. Default: nothing censored.
    fraction, total : float
        Of :func:`replace_censored`.

    Returns
    -------
    Parts
        Rows with a missing part (NaN, or not positive without being censored) are left out
        and listed in ``missing_rows``.

    Examples
    --------
    >>> f = pd.DataFrame({"Cu": [10.0, 2.0, np.nan], "Ni": [5.0, 4.0, 3.0],
    ...                   "Co": [1.0, 1.0, 1.0]}, index=["a", "b", "c"])
    >>> p = parts_of(f, censored=f.assign(Cu=[False, True, False], Ni=False, Co=False))
    >>> list(p.rows), list(p.missing_rows), p.n_censored["Cu"]
    (['a', 'b'], ['c'], 1)
    """
    names = list(dict.fromkeys(parts if parts is not None else map(str, frame.columns)))
    if len(names) < 2:
        raise CompositionError("a composition needs at least 2 parts")
    absent = [p for p in names if p not in frame.columns]
    if absent:
        raise CompositionError(f"parts {', '.join(absent)} are not columns of the frame")
    x = frame[names].to_numpy(dtype=float)
    if censored is None:
        c = np.zeros(x.shape, dtype=bool)
    else:
        lacking = [p for p in names if p not in censored.columns]
        if lacking:
            raise CompositionError(f"the censored flags lack parts {', '.join(lacking)}")
        c = censored[names].reindex(frame.index, fill_value=False).to_numpy(dtype=bool)
    usable = np.isfinite(x) & ((x > 0) | c)
    ok = usable.all(axis=1)
    values = replace_censored(x[ok], c[ok], fraction=fraction, total=total)
    counts = {p: int(n) for p, n in zip(names, c[ok].sum(axis=0), strict=True)}
    return Parts(_positive(values) if len(values) else values.reshape(0, len(names)),
                 tuple(names), frame.index[ok], frame.index[~ok], counts, fraction)


def clr(x: npt.ArrayLike) -> Array:
    """Centred log-ratio of compositions (rows of positive parts).

    Examples
    --------
    >>> clr(np.array([[1.0, 1.0, 4.0]])).round(4).tolist()
    [[-0.4621, -0.4621, 0.9242]]
    """
    lx = np.log(_positive(x))
    return np.asarray(lx - lx.mean(axis=1, keepdims=True))


def inverse_clr(y: npt.ArrayLike, total: float = 1.0) -> Array:
    """Compositions (closed to ``total``) of clr coordinates.

    Examples
    --------
    >>> inverse_clr([[0.0, 0.0, math.log(4.0)]], total=6).round(6).tolist()
    [[1.0, 1.0, 4.0]]
    """
    a = _matrix(y, "clr coordinates")
    e = np.exp(a - a.max(axis=1, keepdims=True))
    return closure(e, total)


def ilr_basis(parts: int, kind: str = "helmert") -> Array:
    """An orthonormal basis of the clr plane: ``(parts − 1) × parts``, rows orthonormal.

    Parameters
    ----------
    parts : int
        Number of parts D (at least 2).
    kind : {"helmert", "pivot"}
        ``helmert`` (default): row ``j`` (1-based) balances the first ``j`` parts against
        part ``j+1`` (Egozcue et al. 2003; equal to ``scipy.linalg.helmert(D)``).
        ``pivot``: row ``j`` balances part ``j`` against all later parts (pivot
        coordinates, Filzmoser et al. 2009).

    Examples
    --------
    >>> ilr_basis(3).round(4).tolist()
    [[0.7071, -0.7071, 0.0], [0.4082, 0.4082, -0.8165]]
    >>> ilr_basis(3, "pivot").round(4).tolist()
    [[0.8165, -0.4082, -0.4082], [0.0, 0.7071, -0.7071]]
    """
    d = int(parts)
    if d < 2:
        raise CompositionError("an ilr basis needs at least 2 parts")
    v = np.zeros((d - 1, d))
    for j in range(1, d):
        if kind == "helmert":
            v[j - 1, :j] = 1.0 / j
            v[j - 1, j] = -1.0
            v[j - 1] *= math.sqrt(j / (j + 1))
        elif kind == "pivot":
            rest = d - j
            v[j - 1, j - 1] = 1.0
            v[j - 1, j:] = -1.0 / rest
            v[j - 1] *= math.sqrt(rest / (rest + 1))
        else:
            raise CompositionError(f"unknown ilr basis {kind!r}: use one of "
                                   f"{', '.join(ILR_BASES)} or pass a matrix")
    return v


def _basis(basis: str | npt.ArrayLike, d: int) -> Array:
    if isinstance(basis, str):
        return ilr_basis(d, basis)
    v = np.asarray(basis, dtype=float)
    if v.shape != (d - 1, d) or not np.allclose(v @ v.T, np.eye(d - 1)) \
            or not np.allclose(v.sum(axis=1), 0.0):
        raise CompositionError(f"an ilr basis of {d} parts must be a ({d - 1}, {d}) matrix "
                               "of orthonormal rows summing to zero")
    return v


def ilr(x: npt.ArrayLike, basis: str | npt.ArrayLike = "helmert") -> Array:
    """Isometric log-ratio coordinates of compositions: ``clr(x) @ basis.T``.

    Parameters
    ----------
    x : array_like
        Compositions (rows of D positive parts).
    basis : {"helmert", "pivot"} or array_like
        Named basis of :func:`ilr_basis`, or a (D−1, D) matrix of orthonormal rows.

    Examples
    --------
    >>> ilr([[1.0, 1.0, 4.0]]).round(4).tolist()[0][1]
    -1.1319
    """
    c = clr(x)
    return np.asarray(c @ _basis(basis, c.shape[1]).T)


def inverse_ilr(z: npt.ArrayLike, basis: str | npt.ArrayLike = "helmert",
                total: float = 1.0) -> Array:
    """Compositions (closed to ``total``) of ilr coordinates in ``basis``.

    Examples
    --------
    >>> inverse_ilr([[0.0, -1.131923]], total=6).round(3).tolist()
    [[1.0, 1.0, 4.0]]
    """
    a = np.asarray(z, dtype=float)
    a = a[np.newaxis, :] if a.ndim == 1 else a
    if a.ndim != 2 or a.shape[1] < 1:
        raise CompositionError(f"ilr coordinates must be a table, not of shape {np.shape(z)}")
    return inverse_clr(a @ _basis(basis, a.shape[1] + 1), total)


def _divisor(divisor: int, d: int) -> int:
    if not -d <= divisor < d:
        raise CompositionError(f"divisor {divisor} is not a part of a {d}-part composition")
    return divisor % d


def alr(x: npt.ArrayLike, divisor: int = -1) -> Array:
    """Additive log-ratios ``log(x_i / x_divisor)`` of the other parts, in their order.

    Examples
    --------
    >>> alr([[1.0, 2.0, 4.0]]).round(4).tolist()
    [[-1.3863, -0.6931]]
    >>> alr([[1.0, 2.0, 4.0]], divisor=0).round(4).tolist()
    [[0.6931, 1.3863]]
    """
    a = np.log(_positive(x))
    k = _divisor(divisor, a.shape[1])
    return np.asarray(np.delete(a - a[:, [k]], k, axis=1))


def inverse_alr(y: npt.ArrayLike, divisor: int = -1, total: float = 1.0) -> Array:
    """Compositions (closed to ``total``) of additive log-ratios to part ``divisor``.

    ``divisor`` is the index the divisor part has in the composition (D parts).

    Examples
    --------
    >>> inverse_alr([[0.6931472, 1.3862944]], divisor=0, total=7).round(5).tolist()
    [[1.0, 2.0, 4.0]]
    """
    a = np.asarray(y, dtype=float)
    a = a[np.newaxis, :] if a.ndim == 1 else a
    if a.ndim != 2:
        raise CompositionError(f"alr coordinates must be a table, not of shape {np.shape(y)}")
    k = _divisor(divisor, a.shape[1] + 1)
    return inverse_clr(np.insert(a, k, 0.0, axis=1), total)


@dataclass
class RobustDistances:
    """Robust Mahalanobis distances of compositions, with the outlier cut-off.

    ``samples`` is indexed by the rows used and holds ``robust_distance`` and ``outlier``
    (distance above ``cutoff``); ``location`` and ``covariance`` are the MCD estimates in
    ilr coordinates of ``basis``; ``support`` marks the rows of the MCD subset.
    """

    samples: pd.DataFrame
    cutoff: float
    quantile: float
    location: Array
    covariance: Array
    support: npt.NDArray[np.bool_]
    basis: Array
    missing_rows: pd.Index = field(default_factory=lambda: pd.Index([]))


def robust_fit(z: Array, random_state: int = 0) -> Any:
    """scikit-learn's ``MinCovDet`` fitted to the rows of ``z`` (raw MCD, reweighted)."""
    from sklearn.covariance import MinCovDet

    if len(z) <= 2 * z.shape[1]:
        raise CompositionError(f"only {len(z)} complete rows for {z.shape[1] + 1} parts: a "
                               f"robust covariance needs more than {2 * z.shape[1]}")
    return MinCovDet(random_state=random_state).fit(z)


def as_parts(data: Parts | npt.ArrayLike | pd.DataFrame) -> Parts:
    """``data`` as :class:`Parts` (a frame or array must hold positive parts only)."""
    if isinstance(data, Parts):
        return data
    if isinstance(data, pd.DataFrame):
        return Parts(_positive(data.to_numpy(dtype=float)), tuple(map(str, data.columns)),
                     data.index, data.index[:0])
    x = _positive(data)
    return Parts(x, tuple(f"x{i + 1}" for i in range(x.shape[1])), pd.RangeIndex(len(x)),
                 pd.RangeIndex(0))


def robust_distances(
    data: Parts | npt.ArrayLike | pd.DataFrame,
    *,
    quantile: float = 0.975,
    basis: str | npt.ArrayLike = "helmert",
    random_state: int = 0,
) -> RobustDistances:
    """Robust Mahalanobis distance of each composition and the χ² outlier flag.

    Parameters
    ----------
    data : Parts, pandas.DataFrame or array_like
        Compositions: :func:`parts_of` output, or positive parts.
    quantile : float
        Of the χ² distribution with D − 1 degrees of freedom: a sample whose squared
        distance exceeds it is an outlier (default 0.975).
    basis : str or array_like
        ilr basis (the distances do not depend on it).
    random_state : int
        Seed of ``MinCovDet``.

    Returns
    -------
    RobustDistances

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> x = np.exp(rng.normal(size=(60, 4)))
    >>> x[0] = [1000.0, 1.0, 1.0, 1.0]
    >>> r = robust_distances(x)
    >>> bool(r.samples["outlier"].iloc[0]), round(r.cutoff, 3)
    (True, 3.058)
    """
    from scipy import stats

    p = as_parts(data)
    if not 0 < quantile < 1:
        raise CompositionError(f"quantile must lie in (0, 1), not {quantile}")
    v = _basis(basis, len(p.parts))
    z = ilr(p.values, v)
    mcd = robust_fit(z, random_state)
    d = np.sqrt(mcd.mahalanobis(z))
    cutoff = float(np.sqrt(stats.chi2.ppf(quantile, z.shape[1])))
    samples = pd.DataFrame({"robust_distance": d, "outlier": d > cutoff}, index=p.rows)
    return RobustDistances(samples, cutoff, quantile, mcd.location_, mcd.covariance_,
                           mcd.support_, v, p.missing_rows)
