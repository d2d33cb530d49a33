"""Ordinary kriging and inverse-distance weighting with local neighbourhoods, block
estimates, and cross-validation.

:class:`Interpolator` holds the samples of one variable in a projected CRS (metres) and
estimates it at other points (:meth:`Interpolator.predict`), over square blocks such as
the cells of a grid level (:meth:`Interpolator.predict_blocks`), and at the samples
themselves with each one left out (:meth:`Interpolator.cross_validate`).

Ordinary kriging
    Each estimate uses its ``neighbours`` nearest samples (optionally only those within
    ``radius``), found with a k-d tree in batches of targets; each batch's kriging systems
    are built and solved by a compiled kernel (:mod:`chemearth.interp.kernels`: Cholesky
    with the Lagrange row by Schur complement, LU when Cholesky fails), both on ``workers``
    threads, which is what makes hundreds of thousands of samples and millions of cells
    practical. A singular system raises :class:`InterpolationError`. With
    ``log=True`` (the default of :func:`chemearth.interp.surfaces`) the natural logarithms are
    kriged and estimates are back-transformed with the lognormal ordinary-kriging
    correction ``exp(y* + sigma^2 / 2 + mu)`` (Journel 1980), where ``mu`` is the Lagrange
    multiplier of the system ``C lambda + mu 1 = c`` — unbiased on the original scale,
    which a plain ``exp(y*)`` (a median) is not.

Kriging variance
    ``sigma^2 = C(0) - lambda . c - mu`` of the kriged variable (of ``ln z`` when
    ``log=True``). Intervals on the original scale are
    ``exp(y* + mu + sigma^2/2 +/- z sigma)``-style lognormal bounds (:attr:`Kriged.lower`,
    :attr:`Kriged.upper`).

Blocks
    A square block is discretised into ``d x d`` points; the block estimate is the kriging
    estimate of the block mean, with the neighbours of the block centre (its weights are
    the mean of the points' weights), and the block variance is
    ``C(V,V) - mean(lambda) . mean(c) - mean(mu)`` with ``C(V,V)`` the mean covariance
    between the block's points without the nugget (micro-scale variation and measurement
    error average out over a block). With ``log=True`` the block value is the mean of the
    back-transformed point estimates, i.e. an estimate of the block's arithmetic mean.

Inverse-distance weighting
    ``sum(w z) / sum(w)`` with ``w = d^-power`` over the same neighbourhoods; a target on a
    sample takes its value.

Samples at the same place (closer than ``1e-6`` m) are merged to their mean before
kriging, since they would make the system singular.

Examples
--------
>>> import numpy as np
>>> from chemearth.interp.variogram import Variogram
>>> x = np.array([0.0, 100.0, 0.0, 100.0]); y = np.array([0.0, 0.0, 100.0, 100.0])
>>> ip = Interpolator(x, y, [1.0, 2.0, 3.0, 4.0],
...                   variogram=Variogram("exponential", 0.0, 1.0, 200.0))
>>> k = ip.predict([50.0, 0.0], [50.0, 0.0])
>>> k.estimate.round(6).tolist(), bool(k.variance[1] < 1e-9)
([2.5, 1.0], True)

References
----------
Journel, A.G. (1980). The lognormal approach to predicting local distributions of
selective mining unit grades. *Mathematical Geology* 12, 285–303.

Webster, R. & Oliver, M.A. (2007). *Geostatistics for Environmental Scientists*, 2nd ed.
Wiley.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Final, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.spatial import cKDTree
from scipy.stats import norm

from chemearth.interp.kernels import InterpolationError, KernelResult, ordinary_kriging
from chemearth.interp.variogram import Variogram, variogram_of

__all__ = [
    "CrossValidation",
    "InterpolationError",
    "Interpolator",
    "Kriged",
]

#: Neighbours of each estimate by default.
NEIGHBOURS: Final = 32
#: Targets whose neighbours are searched and whose systems are solved together.
CHUNK: Final = 2048
#: Relative ridge on the diagonal of the covariance matrix: keeps systems with zero nugget
#: and near-coincident samples solvable.
RIDGE: Final = 1e-10
#: Points per block side by default (``d x d`` points per block).
DISCRETISATION: Final = 4

Floats = NDArray[np.float64]
Method = Literal["kriging", "idw"]


@dataclass(frozen=True)
class Kriged:
    """Estimates at targets.

    Attributes
    ----------
    estimate : ndarray
        On the original scale (back-transformed when ``log``).
    variance : ndarray
        Kriging variance of the kriged variable (of ``ln z`` when ``log``); NaN for IDW.
    transformed : ndarray
        The kriged variable's estimate (``ln`` estimate when ``log``, else = estimate).
        For blocks with ``log``: ``ln(estimate) - variance / 2``, the log of the median
        of a lognormal block mean, on which :meth:`interval` is centred.
    lagrange : ndarray
        The Lagrange multiplier ``mu`` (NaN for IDW).
    n_neighbours : ndarray of int
        Samples used for each target (0: none within the radius, estimate NaN).
    log : bool
        Whether ``ln z`` was kriged.
    """

    estimate: Floats
    variance: Floats
    transformed: Floats
    lagrange: Floats
    n_neighbours: NDArray[np.int64]
    log: bool

    def interval(self, level: float = 0.9) -> tuple[Floats, Floats]:
        """Two-sided ``level`` prediction interval on the original scale, assuming
        Gaussian (or, with ``log``, lognormal) errors with the kriging variance."""
        q = float(norm.ppf(0.5 + level / 2.0))
        sd = np.sqrt(np.maximum(self.variance, 0.0))
        if self.log:
            return np.exp(self.transformed - q * sd), np.exp(self.transformed + q * sd)
        return self.estimate - q * sd, self.estimate + q * sd

    @property
    def lower(self) -> Floats:
        """Lower limit of the 90 % interval (:meth:`interval`)."""
        return self.interval()[0]

    @property
    def upper(self) -> Floats:
        """Upper limit of the 90 % interval (:meth:`interval`)."""
        return self.interval()[1]


@dataclass(frozen=True)
class CrossValidation:
    """Cross-validation of an interpolator: every sample predicted without itself (LOO)
    or without its fold (k-fold).

    Attributes
    ----------
    observed, predicted : ndarray
        On the original scale.
    variance : ndarray
        Kriging variance of each prediction (transformed scale; NaN for IDW).
    transformed_observed, transformed_predicted : ndarray
        On the kriged scale (``ln`` when ``log``).
    fold : ndarray of int
        Fold of each sample (``-1`` = leave-one-out).
    method : str
    log : bool
    """

    observed: Floats
    predicted: Floats
    variance: Floats
    transformed_observed: Floats
    transformed_predicted: Floats
    fold: NDArray[np.int64]
    method: str
    log: bool

    @staticmethod
    def _errors(obs: Floats, pred: Floats) -> dict[str, float]:
        ok = np.isfinite(obs) & np.isfinite(pred)
        e = pred[ok] - obs[ok]
        if e.size == 0:
            return {"n": 0, "rmse": math.nan, "mae": math.nan, "bias": math.nan}
        return {"n": int(e.size), "rmse": float(np.sqrt(np.mean(e * e))),
                "mae": float(np.mean(np.abs(e))), "bias": float(np.mean(e))}

    @property
    def rmse(self) -> float:
        """Root mean squared error on the original scale."""
        return self._errors(self.observed, self.predicted)["rmse"]

    @property
    def mae(self) -> float:
        """Mean absolute error on the original scale."""
        return self._errors(self.observed, self.predicted)["mae"]

    @property
    def bias(self) -> float:
        """Mean error (predicted - observed) on the original scale."""
        return self._errors(self.observed, self.predicted)["bias"]

    def summary(self) -> dict[str, Any]:
        """RMSE, MAE and bias on the original scale, the same on the kriged scale, and
        for kriging the mean and mean square of the standardised errors (near 0 and 1
        when the kriging variance is right)."""
        out: dict[str, Any] = {"method": self.method, "log": self.log,
                               "folds": "leave-one-out" if (self.fold < 0).all()
                               else int(self.fold.max()) + 1}
        out.update(self._errors(self.observed, self.predicted))
        t = self._errors(self.transformed_observed, self.transformed_predicted)
        out.update({f"{k}_transformed": v for k, v in t.items() if k != "n"})
        if np.isfinite(self.variance).any():
            ok = (np.isfinite(self.variance) & (self.variance > 0)
                  & np.isfinite(self.transformed_predicted))
            zs = ((self.transformed_predicted[ok] - self.transformed_observed[ok])
                  / np.sqrt(self.variance[ok]))
            out["mean_standardised_error"] = float(zs.mean())
            out["mean_squared_standardised_error"] = float(np.mean(zs * zs))
        return out


def _merge_duplicates(x: Floats, y: Floats, z: Floats) -> tuple[Floats, Floats, Floats]:
    key = np.column_stack([np.round(x, 6), np.round(y, 6)])
    uniq, inv = np.unique(key, axis=0, return_inverse=True)
    if uniq.shape[0] == x.size:
        return x, y, z
    inv = inv.ravel()
    counts = np.bincount(inv)
    return (np.bincount(inv, x) / counts, np.bincount(inv, y) / counts,
            np.bincount(inv, z) / counts)


def _chunks(n: int, size: int) -> Iterator[slice]:
    for s in range(0, n, size):
        yield slice(s, min(n, s + size))


class Interpolator:
    """Samples of one variable ready to be interpolated.

    Parameters
    ----------
    easting, northing : array_like
        Sample coordinates in a projected CRS (metres).
    values : array_like
        The values (original scale); NaN rows are dropped.
    method : {"kriging", "idw"}
        Ordinary kriging or inverse-distance weighting.
    log : bool
        Krige ``ln(values)`` and back-transform (values must be positive).
    variogram : Variogram, optional
        The model (kriging; default: fitted to the (logged) values by
        :func:`chemearth.interp.variogram.variogram_of` with ``model``).
    model : str
        Model to fit when no ``variogram`` is given (``"auto"`` picks the best).
    neighbours : int
        Nearest samples used by each estimate.
    radius : float, optional
        Only samples within this distance (m); fewer than ``neighbours`` may be used.
    power : float
        IDW exponent.
    workers : int
        Threads solving kriging systems and querying the tree.

    Raises
    ------
    InterpolationError
        Fewer than 3 samples, non-positive values with ``log``, or bad options.
    """

    def __init__(
        self,
        easting: ArrayLike,
        northing: ArrayLike,
        values: ArrayLike,
        *,
        method: Method = "kriging",
        log: bool = False,
        variogram: Variogram | None = None,
        model: str = "auto",
        neighbours: int = NEIGHBOURS,
        radius: float | None = None,
        power: float = 2.0,
        workers: int = 2,
    ) -> None:
        xx, yy, zz = (np.asarray(a, dtype=np.float64).ravel()
                      for a in (easting, northing, values))
        if not xx.shape == yy.shape == zz.shape:
            raise InterpolationError(
                f"easting, northing and values differ in length: {xx.size}, {yy.size}, {zz.size}")
        ok = np.isfinite(xx) & np.isfinite(yy) & np.isfinite(zz)
        xx, yy, zz = xx[ok], yy[ok], zz[ok]
        if method not in ("kriging", "idw"):
            raise InterpolationError(f"unknown method {method!r}: kriging or idw")
        if log and (zz <= 0).any():
            raise InterpolationError(
                f"{int((zz <= 0).sum())} value(s) <= 0 cannot be log-transformed; "
                "substitute censored values first or interpolate without log")
        if int(neighbours) < 1:
            raise InterpolationError("neighbours must be at least 1")
        if radius is not None and not radius > 0:
            raise InterpolationError("the search radius must be positive")
        self.method: Method = method
        self.log = bool(log)
        t = np.log(zz) if self.log else zz
        self.x, self.y, self.t = _merge_duplicates(xx, yy, t)
        if self.x.size < 3:
            raise InterpolationError(f"interpolation needs at least 3 samples, got "
                                     f"{self.x.size}")
        self.n = int(self.x.size)
        self.neighbours = min(int(neighbours), self.n)
        self.radius = None if radius is None else float(radius)
        self.power = float(power)
        self.workers = max(1, int(workers))
        self.tree = cKDTree(np.column_stack([self.x, self.y]))
        if method == "kriging":
            self.variogram = (variogram if variogram is not None
                              else variogram_of(self.x, self.y, self.t, model))
        else:
            self.variogram = variogram  # type: ignore[assignment]

    # ----------------------------------------------------------------- neighbours

    def _query(self, tx: Floats, ty: Floats, k: int, tree: cKDTree | None = None,
               workers: int | None = None) -> tuple[Floats, NDArray[np.int64]]:
        tr = self.tree if tree is None else tree
        k = min(k, tr.n)
        d, i = tr.query(np.column_stack([tx, ty]), k=k,
                        distance_upper_bound=np.inf if self.radius is None else self.radius,
                        workers=self.workers if workers is None else workers)
        d = np.asarray(d, dtype=np.float64).reshape(tx.size, k)
        i = np.asarray(i, dtype=np.int64).reshape(tx.size, k)
        return d, i

    # ----------------------------------------------------------------- kriging core

    def _krige(self, idx: NDArray[np.int64], qx: Floats, qy: Floats) -> KernelResult:
        """Solve the systems of a batch with the compiled kernel
        (:func:`chemearth.interp.kernels.ordinary_kriging`, serial: :meth:`_run` runs
        batches on ``workers`` threads): row ``j`` of ``idx`` holds the neighbours
        (``>= n``: none) of the ``p`` points ``qx[j], qy[j]`` (``(m, p)``).
        """
        vg = self.variogram
        return ordinary_kriging(self.x, self.y, self.t, idx, qx, qy, vg.model,
                                nugget=vg.nugget, psill=vg.psill, range=vg.range,
                                ridge=RIDGE, workers=1)

    def _run(self, n: int, work: Callable[[slice, int], None], chunk: int) -> None:
        """``work(batch, threads)`` over batches of ``chunk`` targets: on ``workers``
        threads, one batch each at a time (their tree searches on one thread), or in this
        thread with ``workers`` threads for the tree when there is one batch."""
        slices = list(_chunks(n, chunk))
        if self.workers == 1 or len(slices) == 1:
            for s in slices:
                work(s, self.workers)
            return
        with ThreadPoolExecutor(self.workers) as ex:
            for _ in ex.map(work, slices, [1] * len(slices)):
                pass

    def _back(self, t: Floats, var: Floats, mu: Floats) -> Floats:
        if not self.log:
            return t
        return np.exp(t + 0.5 * var + mu)

    # ----------------------------------------------------------------- public

    def predict(self, easting: ArrayLike, northing: ArrayLike, *, chunk: int = CHUNK
                ) -> Kriged:
        """Estimates at points ``(easting, northing)`` (same CRS as the samples).

        Examples
        --------
        >>> import numpy as np
        >>> ip = Interpolator([0, 10, 20], [0, 0, 0], [1.0, 2.0, 4.0], method="idw")
        >>> ip.predict([10.0, 5.0], [0.0, 0.0]).estimate.round(4).tolist()
        [2.0, 1.6316]
        """
        tx = np.asarray(easting, dtype=np.float64).ravel()
        ty = np.asarray(northing, dtype=np.float64).ravel()
        if tx.shape != ty.shape:
            raise InterpolationError("easting and northing of the targets differ in length")
        return self._predict(tx, ty, chunk=chunk)

    def _predict(self, tx: Floats, ty: Floats, *, chunk: int = CHUNK,
                 tree: cKDTree | None = None, index_map: NDArray[np.int64] | None = None,
                 exclude_self: bool = False) -> Kriged:
        n = tx.size
        est = np.full(n, np.nan)
        var = np.full(n, np.nan)
        mu = np.full(n, np.nan)
        nn = np.zeros(n, dtype=np.int64)
        good = np.isfinite(tx) & np.isfinite(ty)
        src = tree if tree is not None else self.tree
        k = self.neighbours + (1 if exclude_self else 0)

        def work(s: slice, threads: int) -> None:
            g = good[s]
            gx, gy = tx[s][g], ty[s][g]
            if gx.size == 0:
                return
            d, i = self._query(gx, gy, k, src, threads)
            if exclude_self:
                d, i = _drop_self(d, i, gx, gy, self.x, self.y)
            valid = i < src.n
            if index_map is not None:  # a fold's tree indexes its own subset
                i = np.where(valid, index_map[np.where(valid, i, 0)], self.n)
            pos = np.arange(n)[s][g]
            nn[pos] = valid.sum(axis=1)
            if self.method == "kriging":
                r = self._krige(i, gx[:, None], gy[:, None])
                est[pos], var[pos] = r.estimate[:, 0], r.variance[:, 0]
                mu[pos] = r.lagrange[:, 0]
                return
            has = nn[pos] > 0
            out = np.full(gx.size, np.nan)
            if has.any():
                out[has] = self._idw(d[has], i[has], valid[has])
            est[pos] = out

        self._run(n, work, chunk)
        if self.method == "idw":
            back = np.exp(est) if self.log else est
            return Kriged(back, var, est, mu, nn, self.log)
        return Kriged(self._back(est, var, mu), var, est, mu, nn, self.log)

    def _idw(self, d: Floats, i: NDArray[np.int64], valid: NDArray[np.bool_]) -> Floats:
        z = self.t[np.where(valid, i, 0)]
        exact = valid & (d <= 1e-9)
        w = np.where(valid & ~exact, 1.0 / np.maximum(d, 1e-9) ** self.power, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            out: Floats = (w * z).sum(axis=1) / w.sum(axis=1)
        hit = exact.any(axis=1)
        if hit.any():
            zh = z[hit]
            out[hit] = zh[np.arange(zh.shape[0]), exact[hit].argmax(axis=1)]
        return out

    def predict_blocks(
        self,
        west: ArrayLike,
        south: ArrayLike,
        size: float | ArrayLike,
        *,
        discretisation: int = DISCRETISATION,
        chunk: int = CHUNK // 4,
    ) -> Kriged:
        """Estimates of the mean over square blocks ``[west, west + size) x [south,
        south + size)``, such as grid cells (kriging: block kriging; IDW: the mean of the
        point estimates at the same ``d x d`` points).

        Parameters
        ----------
        west, south : array_like
            Lower-left corners of the blocks (same CRS as the samples).
        size : float or array_like
            Side of the blocks (m).
        discretisation : int
            ``d``: the block is represented by ``d x d`` points at the centres of its
            ``d x d`` sub-squares.
        """
        wx = np.asarray(west, dtype=np.float64).ravel()
        sy = np.asarray(south, dtype=np.float64).ravel()
        sz = np.broadcast_to(np.asarray(size, dtype=np.float64), wx.shape).astype(float)
        d = int(discretisation)
        if d < 1:
            raise InterpolationError("discretisation must be at least 1")
        frac = (np.arange(d) + 0.5) / d
        fx, fy = (g.ravel() for g in np.meshgrid(frac, frac))
        px = wx[:, None] + fx[None, :] * sz[:, None]
        py = sy[:, None] + fy[None, :] * sz[:, None]
        return self.predict_means(px, py, chunk=chunk)

    def predict_means(self, easting: ArrayLike, northing: ArrayLike, *,
                      chunk: int = CHUNK // 4) -> Kriged:
        """Estimates of the means over sets of points: row ``i`` of ``easting`` and
        ``northing`` (shape ``(m, p)``) are the ``p`` points that represent block ``i``
        (e.g. a grid cell discretised in its own CRS and projected to the samples' CRS).
        The neighbours are those of the points' centroid. See :meth:`predict_blocks`.
        """
        pxa = np.asarray(easting, dtype=np.float64)
        pya = np.asarray(northing, dtype=np.float64)
        if pxa.ndim != 2 or pxa.shape != pya.shape or pxa.shape[1] < 1:
            raise InterpolationError("block points must be two (blocks, points) arrays")
        wx = pxa.mean(axis=1)
        sy = pya.mean(axis=1)
        n = wx.size
        est = np.full(n, np.nan)
        var = np.full(n, np.nan)
        tr = np.full(n, np.nan)
        mu_out = np.full(n, np.nan)
        nn = np.zeros(n, dtype=np.int64)
        vg = self.variogram

        def work(s: slice, threads: int) -> None:
            cx, cy, px, py = wx[s], sy[s], pxa[s], pya[s]
            good = np.isfinite(cx) & np.isfinite(cy)
            cx, cy = np.where(good, cx, 0.0), np.where(good, cy, 0.0)
            _dd, i = self._query(cx, cy, self.neighbours, workers=threads)
            i[~good] = self.n
            valid = i < self.n
            cnt = valid.sum(axis=1)
            has = cnt > 0
            pos = np.arange(n)[s]
            nn[pos] = cnt
            if not has.any():
                return
            if self.method == "idw":
                # mean of point IDW estimates with the centre's neighbours
                ii, vv = i[has], valid[has]
                sx_, sy_ = self.x[np.where(vv, ii, 0)], self.y[np.where(vv, ii, 0)]
                ddx = sx_[:, :, None] - px[has][:, None, :]
                ddy = sy_[:, :, None] - py[has][:, None, :]
                dist = np.sqrt(ddx * ddx + ddy * ddy)
                z = self.t[np.where(vv, ii, 0)]
                w = np.where(vv[:, :, None], 1.0 / np.maximum(dist, 1e-9) ** self.power, 0.0)
                pt = (w * z[:, :, None]).sum(axis=1) / w.sum(axis=1)
                if self.log:
                    pt = np.exp(pt)
                val = pt.mean(axis=1)
                est[pos[has]] = val
                tr[pos[has]] = np.log(val) if self.log else val
                return
            r = self._krige(i[has], px[has], py[has])
            e, v, m_ = r.estimate, r.variance, r.lagrange
            # block variance C(V,V) - lambda-bar . c-bar - mu-bar (no nugget in C(V,V))
            qx = px[has][:, :, None] - px[has][:, None, :]
            qy = py[has][:, :, None] - py[has][:, None, :]
            cvv = (vg.psill * vg.correlation(np.sqrt(qx * qx + qy * qy))).mean(axis=(1, 2))
            vbar = np.maximum(cvv - r.lbar_cbar - m_.mean(axis=1), 0.0)
            est[pos[has]] = self._back(e, v, m_).mean(axis=1)
            # with log: the block mean taken as lognormal with the block variance, so
            # its median is estimate * exp(-var / 2) (what interval() centres on)
            tr[pos[has]] = (np.log(est[pos[has]]) - 0.5 * vbar if self.log
                            else e.mean(axis=1))
            var[pos[has]] = vbar
            mu_out[pos[has]] = m_.mean(axis=1)

        self._run(n, work, chunk)
        return Kriged(est, var, tr, mu_out, nn, self.log)

    def cross_validate(self, folds: int | None = None, *, seed: int = 0,
                       chunk: int = CHUNK) -> CrossValidation:
        """Predict every sample without itself (``folds=None``: leave-one-out) or without
        its fold (``folds=k``: k random folds of near-equal size, seeded).

        The variogram is the one of the interpolator (fitted to all samples), as in gstat's
        ``krige.cv``. Samples merged at one place count once.

        Examples
        --------
        >>> import numpy as np
        >>> ip = Interpolator([0, 1, 2, 3], [0, 0, 0, 0], [1.0, 2.0, 3.0, 4.0],
        ...                   method="idw", neighbours=2)
        >>> cv = ip.cross_validate()
        >>> cv.predicted.round(6).tolist(), round(cv.rmse, 4)
        ([2.2, 2.0, 3.0, 2.8], 0.8485)
        """
        obs_t = self.t
        if folds is None:
            k = self._predict(self.x, self.y, chunk=chunk, exclude_self=True)
            fold = np.full(self.n, -1, dtype=np.int64)
            pred_t, var, _mu = k.transformed, k.variance, k.lagrange
            pred = k.estimate
        else:
            f = int(folds)
            if not 2 <= f <= self.n:
                raise InterpolationError(f"folds must be 2 to {self.n}, got {folds}")
            rng = np.random.default_rng(seed)
            fold = np.empty(self.n, dtype=np.int64)
            fold[rng.permutation(self.n)] = np.arange(self.n) % f
            pred_t = np.full(self.n, np.nan)
            var = np.full(self.n, np.nan)
            pred = np.full(self.n, np.nan)
            for j in range(f):
                test = fold == j
                train = np.flatnonzero(~test)
                tree = cKDTree(np.column_stack([self.x[train], self.y[train]]))
                kk = self._predict(self.x[test], self.y[test], chunk=chunk, tree=tree,
                                   index_map=train)
                pred_t[test], var[test], pred[test] = kk.transformed, kk.variance, kk.estimate
        obs = np.exp(obs_t) if self.log else obs_t
        return CrossValidation(obs, pred, var, obs_t, pred_t, fold, self.method, self.log)


def _drop_self(d: Floats, i: NDArray[np.int64], tx: Floats, ty: Floats,
               sx: Floats, sy: Floats) -> tuple[Floats, NDArray[np.int64]]:
    """Remove, per row, the neighbour at the target itself (distance 0), keeping k-1."""
    m, k = i.shape
    self_hit = d <= 1e-9
    # drop the first zero-distance neighbour of each row, else the farthest
    drop = np.where(self_hit.any(axis=1), self_hit.argmax(axis=1), k - 1)
    keep = np.ones((m, k), dtype=bool)
    keep[np.arange(m), drop] = False
    return d[keep].reshape(m, k - 1), i[keep].reshape(m, k - 1)
