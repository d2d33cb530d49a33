"""Robust principal components, factors and biplots of compositions (clr space).

The methods of Filzmoser, Hron & Reimann (2009, *Environmetrics* 20, 621–632: robust PCA)
and Filzmoser, Hron, Reimann & Garrett (2009, *Computers & Geosciences* 35, 1854–1861:
robust factor analysis), as implemented in the R package robCompositions:

1. The compositions are expressed in ilr coordinates ``z = clr(x) V`` (:func:`~chemearth.
   stats.compositional.ilr`; ``V`` orthonormal, D × (D−1)), where the covariance has full
   rank, and the minimum covariance determinant (MCD) location ``t_z`` and covariance
   ``S_z`` are estimated there (scikit-learn ``MinCovDet``, reweighted; ``robust=False``
   takes the mean and the sample covariance instead).
2. They are taken back to clr space, where each variable is one element:
   ``t = t_z Vᵀ``, ``S = V S_z Vᵀ`` (rank D − 1; they do not depend on the basis ``V``).

**Robust PCA** (:func:`robust_pca`) is the eigen decomposition ``S = G Λ Gᵀ``: the D − 1
non-zero eigenvalues (``variances``, and their share ``explained``), the loadings ``G`` in
clr space (one column per component; each column sums to zero; its sign is fixed so that
its largest entry in absolute value is positive) and the scores ``(clr(x) − t) G``.
Because clr is scale invariant, everything is the same for compositions in mg/kg, in %, or
closed to 1.

**Robust factor analysis** (:func:`robust_factors`) is principal factor analysis of the
robust clr *correlation* ``R`` (``S`` scaled by its standard deviations). ``R`` is
singular, so the uniquenesses are not a diagonal matrix but ``Ψ* = H diag(ψ) H`` with
``H = I − 11ᵀ/D`` the centring matrix (Filzmoser et al. 2009): starting from
``ψ_i = 1 − max_j≠i |R_ij|``, the k leading eigenpairs of ``R − Ψ*`` give the loadings
``Λ = vectors · sqrt(values)`` and new uniquenesses ``ψ = 1 − Σ_f Λ²``, until ψ changes
by less than ``tol``. The loadings are then rotated by varimax (Kaiser's normalised form,
:func:`varimax`; or not at all), ordered by decreasing sum of squares and signed so that
each column sums to a positive number. Factor scores, for mapping, are the regression
(Thomson) scores ``Z R⁺ Λ`` of the robustly standardised clr values ``Z`` (``R⁺`` the
Moore–Penrose inverse, as ``R`` is singular).

**Biplots** (:func:`biplot`) of two components: the *form* biplot draws the scores and the
loadings as they are (distances between samples kept); the *covariance* biplot draws the
scores divided by the square root of their variance and the loadings multiplied by it, so
that the arrows' lengths are the clr standard deviations and the cosines of their angles
the clr correlations (Aitchison & Greenacre 2002).

Examples
--------
>>> rng = np.random.default_rng(0)
>>> x = np.exp(rng.normal(size=(80, 5)))
>>> pca = robust_pca(x)
>>> pca.loadings.shape, round(float(pca.explained.sum()), 6)
((5, 4), 1.0)
>>> np.allclose(pca.loadings.sum(axis=0), 0.0)
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from chemearth.stats.compositional import (
    CompositionError,
    Parts,
    as_parts,
    clr,
    ilr,
    ilr_basis,
    robust_fit,
)

__all__ = [
    "BIPLOT_KINDS",
    "Biplot",
    "ClrMoments",
    "RobustFactors",
    "RobustPCA",
    "biplot",
    "clr_moments",
    "principal_factors",
    "robust_factors",
    "robust_pca",
    "varimax",
]

#: Kinds of :func:`biplot`.
BIPLOT_KINDS = ("covariance", "form")

Array = npt.NDArray[np.float64]


@dataclass
class ClrMoments:
    """Location and covariance of compositions in clr space, and the rows they rest on."""

    parts: Parts
    center: Array
    covariance: Array
    support: npt.NDArray[np.bool_]
    clr: Array


def clr_moments(
    data: Parts | npt.ArrayLike | pd.DataFrame, *, robust: bool = True, random_state: int = 0
) -> ClrMoments:
    """(Robust) centre and covariance in clr space, estimated in ilr coordinates.

    Parameters
    ----------
    data : Parts, pandas.DataFrame or array_like
        Compositions (:func:`~chemearth.stats.compositional.parts_of`, or positive parts).
    robust : bool
        MCD (default) or the mean and sample covariance.
    random_state : int
        Seed of ``MinCovDet``.

    Examples
    --------
    >>> m = clr_moments([[1.0, 2.0, 4.0], [2.0, 2.0, 2.0], [4.0, 2.0, 1.0]], robust=False)
    >>> np.allclose(m.covariance.sum(axis=0), 0.0), m.center.round(6).tolist()
    (True, [0.0, 0.0, 0.0])
    """
    p = as_parts(data)
    v = ilr_basis(len(p.parts))
    z = ilr(p.values, v)
    if robust:
        mcd = robust_fit(z, random_state)
        t, s, support = mcd.location_, mcd.covariance_, np.asarray(mcd.support_, bool)
    else:
        if len(z) < 2:
            raise CompositionError("a covariance needs at least 2 compositions")
        t, s, support = z.mean(axis=0), np.cov(z, rowvar=False), np.ones(len(z), bool)
    s = np.atleast_2d(s)
    return ClrMoments(p, np.asarray(t @ v), np.asarray(v.T @ s @ v), support, clr(p.values))


@dataclass
class RobustPCA:
    """Principal components of compositions in clr space.

    ``loadings`` (parts × ``PC1`` … ``PC<D−1>``) and ``scores`` (rows used × components)
    are frames; ``variances`` the eigenvalues, ``explained`` their shares; ``center`` and
    ``covariance`` the clr estimates; ``rows``/``missing_rows`` those of the input.
    """

    parts: tuple[str, ...]
    loadings: pd.DataFrame
    scores: pd.DataFrame
    variances: Array
    explained: Array
    center: Array
    covariance: Array
    support: npt.NDArray[np.bool_]
    robust: bool
    rows: pd.Index
    missing_rows: pd.Index


def _fix_signs(vectors: Array) -> Array:
    """Each column signed so that its largest entry in absolute value is positive."""
    idx = np.argmax(np.abs(vectors), axis=0)
    signs = np.sign(vectors[idx, np.arange(vectors.shape[1])])
    return np.asarray(vectors * np.where(signs == 0, 1.0, signs))


def robust_pca(
    data: Parts | npt.ArrayLike | pd.DataFrame, *, robust: bool = True, random_state: int = 0
) -> RobustPCA:
    """Robust principal component analysis of compositions, in clr space.

    Parameters
    ----------
    data : Parts, pandas.DataFrame or array_like
        Compositions (:func:`~chemearth.stats.compositional.parts_of` output keeps the part
        names and rows; a frame or array must hold positive parts only).
    robust : bool
        MCD covariance (default) or the classical one.
    random_state : int
        Seed of ``MinCovDet``.

    Returns
    -------
    RobustPCA

    Examples
    --------
    >>> f = pd.DataFrame(np.exp(np.random.default_rng(2).normal(size=(50, 3))),
    ...                  columns=["Cu", "Ni", "Co"])
    >>> pca = robust_pca(f)
    >>> list(pca.loadings.columns), len(pca.scores)
    (['PC1', 'PC2'], 50)
    """
    m = clr_moments(data, robust=robust, random_state=random_state)
    d = len(m.parts.parts)
    values, vectors = np.linalg.eigh(m.covariance)
    order = np.argsort(values)[::-1][: d - 1]
    values, vectors = np.clip(values[order], 0.0, None), _fix_signs(vectors[:, order])
    names = [f"PC{i + 1}" for i in range(d - 1)]
    loadings = pd.DataFrame(vectors, index=list(m.parts.parts), columns=names)
    scores = pd.DataFrame((m.clr - m.center) @ vectors, index=m.parts.rows, columns=names)
    total = float(values.sum())
    explained = values / total if total > 0 else np.full(len(values), np.nan)
    return RobustPCA(m.parts.parts, loadings, scores, values, explained, m.center,
                     m.covariance, m.support, robust, m.parts.rows, m.parts.missing_rows)


@dataclass
class Biplot:
    """Coordinates of a biplot of two principal components.

    ``samples`` (rows used × ``x``, ``y``) are the points, ``arrows`` (parts × ``x``,
    ``y``) the rays from the origin; ``explained`` the shares of the two components.
    """

    kind: str
    components: tuple[int, int]
    samples: pd.DataFrame
    arrows: pd.DataFrame
    explained: tuple[float, float]


def biplot(pca: RobustPCA, *, kind: str = "covariance",
           components: tuple[int, int] = (1, 2)) -> Biplot:
    """Biplot coordinates of two components of a :func:`robust_pca`.

    Parameters
    ----------
    pca : RobustPCA
    kind : {"covariance", "form"}
        ``covariance``: scores ÷ sqrt(variance), loadings × sqrt(variance) (arrows show the
        clr standard deviations and correlations). ``form``: scores and loadings as they
        are (distances between samples kept).
    components : tuple of int
        1-based numbers of the two components.

    Examples
    --------
    >>> pca = robust_pca(np.exp(np.random.default_rng(3).normal(size=(40, 4))))
    >>> b = biplot(pca, kind="form")
    >>> np.allclose(b.arrows["x"], pca.loadings["PC1"])
    True
    """
    if kind not in BIPLOT_KINDS:
        raise CompositionError(f"unknown biplot kind {kind!r}: use one of "
                               f"{', '.join(BIPLOT_KINDS)}")
    n = len(pca.variances)
    if len(set(components)) != 2 or not all(1 <= c <= n for c in components):
        raise CompositionError(f"components must be two different numbers from 1 to {n}")
    cols = [f"PC{c}" for c in components]
    scores = pca.scores[cols].to_numpy()
    loads = pca.loadings[cols].to_numpy()
    sd = np.sqrt(pca.variances[[c - 1 for c in components]])
    if kind == "covariance":
        if (sd <= 0).any():
            raise CompositionError("a covariance biplot needs components of positive variance")
        scores, loads = scores / sd, loads * sd
    ex = pca.explained[[c - 1 for c in components]]
    return Biplot(kind, (components[0], components[1]),
                  pd.DataFrame(scores, index=pca.scores.index, columns=["x", "y"]),
                  pd.DataFrame(loads, index=pca.loadings.index, columns=["x", "y"]),
                  (float(ex[0]), float(ex[1])))


def varimax(loadings: npt.ArrayLike, *, normalize: bool = True, tol: float = 1e-6,
            max_iter: int = 1000) -> tuple[Array, Array]:
    """Varimax rotation of a loading matrix (Kaiser 1958).

    Parameters
    ----------
    loadings : array_like
        Variables × factors.
    normalize : bool
        Kaiser normalisation: rows scaled to unit length before the rotation and back after
        (the default, as R's ``varimax``).
    tol, max_iter
        The iteration stops when the criterion grows by less than a factor ``1 + tol``.

    Returns
    -------
    rotated, rotation : numpy.ndarray
        ``rotated = loadings @ rotation``, ``rotation`` orthogonal.

    Examples
    --------
    >>> r, t = varimax([[0.8, 0.3], [0.7, -0.5], [0.2, 0.6], [0.5, 0.5]])
    >>> np.allclose(t @ t.T, np.eye(2)), (r.round(2) + 0.0).tolist()
    (True, [[0.48, 0.71], [0.86, 0.0], [-0.18, 0.6], [0.12, 0.7]])
    """
    a = np.asarray(loadings, dtype=float)
    p, k = a.shape
    if k < 2:
        return a.copy(), np.eye(k)
    scale = np.sqrt((a ** 2).sum(axis=1, keepdims=True)) if normalize else np.ones((p, 1))
    scale = np.where(scale > 0, scale, 1.0)
    a = a / scale
    rotation = np.eye(k)
    criterion = 0.0
    for _ in range(max_iter):
        r = a @ rotation
        u, s, vt = np.linalg.svd(a.T @ (r ** 3 - r * ((r ** 2).sum(axis=0) / p)))
        rotation = u @ vt
        new = float(s.sum())
        if criterion != 0 and new < criterion * (1 + tol):
            break
        criterion = new
    return np.asarray(a @ rotation * scale), rotation


@dataclass
class RobustFactors:
    """Factors of compositions in clr space (robust principal factor analysis).

    ``loadings`` (parts × ``F1`` … ``Fk``), ``uniquenesses`` (the diagonal of ``Ψ*``),
    ``communalities`` (row sums of squared loadings), ``scores`` (rows used × factors,
    to be mapped), ``explained`` (each factor's sum of squared loadings over D),
    ``correlation`` (the robust clr correlation), ``iterations`` and ``converged``.
    """

    parts: tuple[str, ...]
    loadings: pd.DataFrame
    uniquenesses: pd.Series
    communalities: pd.Series
    scores: pd.DataFrame
    explained: Array
    correlation: Array
    center: Array
    scale: Array
    rotation: str
    iterations: int
    converged: bool
    rows: pd.Index
    missing_rows: pd.Index


def principal_factors(correlation: Array, factors: int, *, tol: float = 1e-4,
                      max_iter: int = 100) -> tuple[Array, Array, int, bool]:
    """Principal factor extraction with centred uniquenesses ``H diag(ψ) H``.

    Returns the unrotated loadings, the diagonal of ``Ψ*``, the number of iterations and
    whether ψ changed by less than ``tol`` in the last.
    """
    r = np.asarray(correlation, dtype=float)
    d = len(r)
    h = np.eye(d) - 1.0 / d
    off = np.abs(r - np.diag(np.diag(r)))
    psi = 1.0 - off.max(axis=1)
    converged = False
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 - the count is reported
        values, vectors = np.linalg.eigh(r - h @ np.diag(psi) @ h)
        order = np.argsort(values)[::-1][:factors]
        if (values[order] <= 0).any():
            raise CompositionError(f"{factors} factors are too many for these "
                                   f"{d} parts: a reduced correlation eigenvalue is not "
                                   "positive (choose fewer factors)")
        lam = vectors[:, order] * np.sqrt(values[order])
        new = np.diag(r) - (lam ** 2).sum(axis=1)
        done = bool(np.all(np.abs(new - psi) < tol))
        psi = new
        if done:
            converged = True
            break
    return lam, np.diag(h @ np.diag(psi) @ h), it, converged


def robust_factors(
    data: Parts | npt.ArrayLike | pd.DataFrame,
    factors: int,
    *,
    rotation: str = "varimax",
    robust: bool = True,
    tol: float = 1e-4,
    max_iter: int = 100,
    random_state: int = 0,
) -> RobustFactors:
    """Robust factor analysis of compositions in clr space (Filzmoser et al. 2009).

    Parameters
    ----------
    data : Parts, pandas.DataFrame or array_like
        Compositions (at least 3 parts).
    factors : int
        Number of factors, 1 to D − 2.
    rotation : {"varimax", "none"}
        Varimax with Kaiser normalisation, or the unrotated loadings.
    robust : bool
        MCD correlation (default) or the classical one.
    tol, max_iter
        Convergence of the uniquenesses.
    random_state : int
        Seed of ``MinCovDet``.

    Returns
    -------
    RobustFactors

    Examples
    --------
    Three groups of three parts, the first two driven by a latent variable each, the third
    by none: in clr space the first factor opposes the first two groups and the second
    sets the third against the rest (clr values are relative to the row's mean).

    >>> rng = np.random.default_rng(4)
    >>> f1, f2 = rng.normal(size=(2, 300, 1))
    >>> x = np.exp(np.hstack([f1 + 0.3 * rng.normal(size=(300, 3)),
    ...                       f2 + 0.3 * rng.normal(size=(300, 3)),
    ...                       0.3 * rng.normal(size=(300, 3))]))
    >>> fa = robust_factors(x, 2)
    >>> fa.loadings.abs().idxmax(axis=1).tolist()
    ['F1', 'F1', 'F1', 'F1', 'F1', 'F1', 'F2', 'F2', 'F2']
    """
    if rotation not in ("varimax", "none"):
        raise CompositionError(f"unknown rotation {rotation!r}: use varimax or none")
    p = as_parts(data)
    d = len(p.parts)
    if not 1 <= factors <= d - 2:
        raise CompositionError(f"{d} parts allow 1 to {d - 2} factors, not {factors}")
    m = clr_moments(p, robust=robust, random_state=random_state)
    sd = np.sqrt(np.diag(m.covariance))
    if (sd <= 0).any():
        raise CompositionError("a part has no variance in clr space")
    corr = m.covariance / np.outer(sd, sd)
    lam, uniq, iterations, converged = principal_factors(corr, factors, tol=tol,
                                                         max_iter=max_iter)
    if rotation == "varimax":
        lam, _ = varimax(lam)
    ssq = (lam ** 2).sum(axis=0)
    order = np.argsort(-ssq, kind="stable")
    lam = lam[:, order]
    lam = lam * np.where(lam.sum(axis=0) < 0, -1.0, 1.0)
    names = [f"F{i + 1}" for i in range(factors)]
    z = (m.clr - m.center) / sd
    scores = z @ np.linalg.pinv(corr) @ lam
    idx = list(m.parts.parts)
    return RobustFactors(
        m.parts.parts, pd.DataFrame(lam, index=idx, columns=names),
        pd.Series(uniq, index=idx, name="uniqueness"),
        pd.Series((lam ** 2).sum(axis=1), index=idx, name="communality"),
        pd.DataFrame(scores, index=m.parts.rows, columns=names),
        (lam ** 2).sum(axis=0) / d, corr, m.center, sd, rotation, iterations, converged,
        m.parts.rows, m.parts.missing_rows)
