"""Levelling one survey, laboratory or method to another.

Before data from two sources are merged, one is *levelled* to the other with a per-element
transform fitted on material both analysed: the same samples (overlapping sites, or one
sample set analysed by two methods) or shared reference materials (the means per material).

Transforms (:data:`TRANSFORMS`), fitted by default on log10 values, where the errors of
geochemical data are near normal and the relation between methods near linear:

``ratio``
    ``y = c·x`` with ``c`` the geometric mean of ``y/x`` (one factor, the usual levelling
    of a laboratory to another).
``rma``
    Reduced major axis regression, ``slope = sign(r)·s_y/s_x``: both variables carry error,
    so ordinary least squares would bias the slope towards zero (Garrett 1983).
``robust``
    Reduced major axis with outliers trimmed: pairs whose residual lies more than
    :data:`TRIM` robust standard deviations (1.4826·MAD) from the median residual are left
    out and the line refitted until the kept pairs no longer change. It stays symmetric in
    x and y, as levelling needs; the Theil–Sen estimator regresses y on x and is pulled
    towards zero by the error in x (slope 0.71 instead of 0.90 for Kola Cr, aqua regia
    against INAA), and a MAD-ratio slope fails on the coarse steps of INAA results.

:func:`level` fits a transform on a training share of the pairs and measures the bias on
the held-out rest before and after; :func:`apply_levelling` writes a new version of the
dataset with the levelled values as an extra analyte column (the original is kept) and the
levelling recorded in the version's provenance (``extra["levelling"]``).

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> x = np.exp(rng.normal(3, 1, 500)); y = 2.0 * x ** 0.9 * np.exp(rng.normal(0, 0.1, 500))
>>> t = fit_transform(x, y, "rma")
>>> round(t.slope, 2), round(agreement(t.apply(x), y)["bias_pct"], 1)
(0.91, 0.0)
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd
import pyarrow as pa
from scipy import stats as sps

from chemearth.errors import NotFoundError, StatisticsError
from chemearth.jsonable import finite, plain
from chemearth.store.base import Store, VersionRecord
from chemearth.store.selectors import string_list

__all__ = [
    "TRANSFORMS",
    "TRIM",
    "Levelling",
    "Transform",
    "agreement",
    "apply_levelling",
    "fit_transform",
    "level",
    "levelled_method",
    "paired_values",
]

#: Transforms :func:`fit_transform` knows.
TRANSFORMS: Final = ("ratio", "rma", "robust")
#: Residuals beyond this many robust SDs are trimmed by the ``robust`` transform.
TRIM: Final = 3.0


def _rma(u: np.ndarray, v: np.ndarray) -> tuple[float, float]:
    r = float(np.corrcoef(u, v)[0, 1])
    if not np.isfinite(r) or r == 0:
        raise StatisticsError("reduced major axis regression needs values that vary together")
    slope = math.copysign(float(np.std(v, ddof=1) / np.std(u, ddof=1)), r)
    return slope, float(np.mean(v) - slope * np.mean(u))


def _trimmed_rma(u: np.ndarray, v: np.ndarray, trim: float = TRIM, iterations: int = 20
                 ) -> tuple[float, float, np.ndarray]:
    """Reduced major axis refitted without outlying pairs; returns slope, intercept, kept."""
    keep = np.ones(len(u), dtype=bool)
    slope, intercept = _rma(u, v)
    for _ in range(iterations):
        res = v - (intercept + slope * u)
        scale = float(sps.median_abs_deviation(res[keep], scale="normal"))
        if scale <= 0:
            break
        new = np.abs(res - np.median(res[keep])) <= trim * scale
        if new.sum() < 3 or (new == keep).all():
            break
        keep = new
        slope, intercept = _rma(u[keep], v[keep])
    return slope, intercept, keep


@dataclass(frozen=True)
class Transform:
    """A fitted levelling transform ``y ≈ f(x)``.

    On log10 values (``log``): ``log10 y = intercept + slope·log10 x``; otherwise
    ``y = intercept + slope·x``. A ratio has slope 1 on the log scale (intercept ``log10 c``)
    or intercept 0 on the linear scale. ``n`` counts the pairs the fit used (the robust
    transform leaves outliers out); ``r`` is their correlation (of log10 values if ``log``).
    """

    kind: str
    log: bool
    intercept: float
    slope: float
    n: int
    r: float

    def apply(self, x: Any) -> np.ndarray:
        """Levelled values of ``x`` (NaN stays NaN)."""
        v = np.asarray(x, dtype=float)
        if self.log:
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.asarray(10.0 ** (self.intercept + self.slope * np.log10(v)))
        return self.intercept + self.slope * v

    @property
    def factor(self) -> float:
        """The multiplier of a ratio transform (NaN for the others)."""
        if self.kind != "ratio":
            return math.nan
        return 10.0**self.intercept if self.log else self.slope

    def describe(self) -> str:
        """The transform as a formula, e.g. ``log10 y = 0.21 + 0.93·log10 x``."""
        if self.kind == "ratio":
            return f"y = {self.factor:.4g}·x"
        if self.log:
            return f"log10 y = {self.intercept:.4g} + {self.slope:.4g}·log10 x"
        return f"y = {self.intercept:.4g} + {self.slope:.4g}·x"


def fit_transform(x: Any, y: Any, kind: str = "rma", log: bool = True) -> Transform:
    """Fit a levelling transform from paired results ``x`` (to level) and ``y`` (target).

    Raises
    ------
    StatisticsError
        For an unknown transform or fewer than 3 usable pairs.
    """
    if kind not in TRANSFORMS:
        raise StatisticsError(f"unknown levelling transform {kind!r}; one of "
                              f"{', '.join(TRANSFORMS)}")
    a = np.asarray(x, dtype=float)
    b = np.asarray(y, dtype=float)
    ok = np.isfinite(a) & np.isfinite(b)
    if log:
        ok &= (a > 0) & (b > 0)
    a, b = a[ok], b[ok]
    if len(a) < 3:
        raise StatisticsError(f"levelling needs at least 3 usable pairs, got {len(a)}")
    u, v = (np.log10(a), np.log10(b)) if log else (a, b)
    r = float(np.corrcoef(u, v)[0, 1]) if np.std(u) > 0 and np.std(v) > 0 else math.nan
    n_used = len(a)
    if kind == "ratio":
        if log:
            slope, intercept = 1.0, float(np.mean(v - u))
        else:
            slope, intercept = float(10 ** np.mean(np.log10(b / a))), 0.0
    elif kind == "rma":
        slope, intercept = _rma(u, v)
    else:
        slope, intercept, keep = _trimmed_rma(u, v)
        n_used = int(keep.sum())
        if n_used < len(u):
            r = float(np.corrcoef(u[keep], v[keep])[0, 1])
    return Transform(kind=kind, log=log, intercept=intercept, slope=slope, n=n_used, r=r)


def agreement(x: Any, y: Any) -> dict[str, float]:
    """How well results ``x`` agree with reference results ``y`` of the same samples.

    Returns ``n``; ``bias_pct``, the geometric-mean relative bias
    ``100·(10^mean(log10 x/y) - 1)``; ``median_ratio``; ``p``, the paired t test of the
    log ratios against zero; ``rmse_log10``; and ``mean_x``, ``mean_y``.
    """
    a = np.asarray(x, dtype=float)
    b = np.asarray(y, dtype=float)
    ok = np.isfinite(a) & np.isfinite(b) & (a > 0) & (b > 0)
    a, b = a[ok], b[ok]
    if len(a) < 2:
        raise StatisticsError(f"agreement needs at least 2 usable pairs, got {len(a)}")
    lr = np.log10(a) - np.log10(b)
    p = float(sps.ttest_1samp(lr, 0.0).pvalue) if np.std(lr) > 0 else (
        1.0 if lr.mean() == 0 else 0.0)
    return {"n": len(a), "bias_pct": float(100 * (10 ** lr.mean() - 1)),
            "median_ratio": float(np.median(a / b)), "p": p,
            "rmse_log10": float(np.sqrt(np.mean(lr**2))),
            "mean_x": float(a.mean()), "mean_y": float(b.mean())}


@dataclass(frozen=True)
class Levelling:
    """A transform fitted on training pairs and checked on held-out pairs.

    Attributes
    ----------
    dataset_id, element : str
        What is levelled.
    source_method : str
        The analytical method of the values levelled.
    target_dataset, target_method : str
        What they are levelled to.
    transform : Transform
        The fitted transform.
    n_train, n_test : int
        Pairs used to fit and held out.
    before, after : dict
        :func:`agreement` of the held-out pairs (of all pairs when nothing is held out)
        before and after levelling.
    holdout, seed : float, int
        The held-out share and the seed of the split.
    unit : str
        Unit of the values.
    """

    dataset_id: str
    element: str
    source_method: str
    target_dataset: str
    target_method: str
    transform: Transform
    n_train: int
    n_test: int
    before: dict[str, float]
    after: dict[str, float]
    holdout: float
    seed: int
    unit: str = "mg/kg"
    fitted_at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(
        timespec="seconds"))

    @property
    def method(self) -> str:
        """The method label of the levelled column."""
        return levelled_method(self.source_method, self.target_dataset, self.target_method,
                               self.dataset_id)

    def to_dict(self) -> dict[str, Any]:
        """The provenance record (JSON-ready)."""
        out = asdict(self)
        out["transform"]["formula"] = self.transform.describe()
        out["method"] = self.method
        clean: dict[str, Any] = plain(out)
        return clean


def levelled_method(source_method: str, target_dataset: str, target_method: str,
                    dataset_id: str) -> str:
    """The method label of levelled values, e.g. ``aqua regia …; levelled to INAA …``."""
    to = target_method if target_dataset == dataset_id else f"{target_dataset}: {target_method}"
    return f"{source_method}; levelled to {to}"


def paired_values(store: Store, dataset_id: str, element: str, source_method: str,
                  target_method: str, target_dataset: str | None = None) -> pd.DataFrame:
    """Pairs of uncensored results of the same samples: ``sample_id``, ``x``, ``y``.

    Within one dataset the samples are matched by their index (two methods on one sample);
    between datasets by their sample id (overlapping samples).

    Raises
    ------
    NotFoundError
        When a method holds no results of ``element``.
    """
    target_dataset = target_dataset or dataset_id

    def take(ds: str, method: str) -> pd.DataFrame:
        m = store.measurements(ds, elements=[element])
        m = m[m["method"].astype(str) == method]
        if m.empty:
            methods = sorted(store.measurements(ds, elements=[element])["method"].astype(str)
                             .unique())
            raise NotFoundError(f"dataset {ds!r} holds no {element} by {method!r}; methods: "
                                + (", ".join(methods) or "none"))
        m = m[~m["censored"].astype(bool)]
        return m[["sample_index", "sample_id", "value"]]

    x = take(dataset_id, source_method)
    y = take(target_dataset, target_method)
    on = "sample_index" if target_dataset == dataset_id else "sample_id"
    xx = x.rename(columns={"value": "x"})
    yy = y.rename(columns={"value": "y"})[[on, "y"]]
    pairs = xx.merge(yy, on=on, how="inner")
    return pairs[["sample_index", "sample_id", "x", "y"]].reset_index(drop=True)


def level(store: Store, dataset_id: str, element: str, source_method: str, target_method: str,
          *, target_dataset: str | None = None, kind: str = "rma", log: bool = True,
          holdout: float = 0.3, seed: int = 0) -> Levelling:
    """Fit a levelling transform on part of the pairs and check it on the rest.

    Parameters
    ----------
    store : Store
    dataset_id, element, source_method : str
        The values to level.
    target_method : str
        The method they are levelled to.
    target_dataset : str, optional
        The dataset of the target method (default: the same dataset).
    kind : {"ratio", "rma", "robust"}
        The transform.
    log : bool
        Fit on log10 values (default).
    holdout : float
        Share of pairs held out, at random with ``seed``, to measure the bias before and
        after (0: fit and check on all pairs).
    seed : int
        Seed of the split.

    Examples
    --------
    >>> from chemearth.store import open_store  # doctest: +SKIP
    >>> lev = level(open_store(), "kola-chorizon", "Cr",  # doctest: +SKIP
    ...             "aqua regia extraction; ICP-AES or graphite-furnace AAS",
    ...             "INAA (instrumental neutron activation)")
    """
    if not 0 <= holdout < 1:
        raise StatisticsError(f"holdout must be at least 0 and below 1, got {holdout}")
    pairs = paired_values(store, dataset_id, element, source_method, target_method,
                          target_dataset)
    n = len(pairs)
    test = np.zeros(n, dtype=bool)
    if holdout > 0:
        rng = np.random.default_rng(seed)
        test[rng.choice(n, size=round(holdout * n), replace=False)] = True
    train = ~test if test.any() else np.ones(n, dtype=bool)
    check = test if test.any() else train
    x, y = pairs["x"].to_numpy(float), pairs["y"].to_numpy(float)
    t = fit_transform(x[train], y[train], kind, log)
    unit = str(store.measurements(dataset_id, elements=[element])["unit"].iloc[0])
    return Levelling(dataset_id=dataset_id, element=element, source_method=source_method,
                     target_dataset=target_dataset or dataset_id, target_method=target_method,
                     transform=t, n_train=int(train.sum()), n_test=int(test.sum()),
                     before=agreement(x[check], y[check]),
                     after=agreement(t.apply(x[check]), y[check]),
                     holdout=holdout, seed=seed, unit=unit)


def levellings(record_extra: Any) -> list[dict[str, Any]]:
    """The levelling records of a version's ``extra`` (JSON text or dict)."""
    extra = json.loads(record_extra) if isinstance(record_extra, str) else (record_extra or {})
    return list(extra.get("levelling", []))


def apply_levelling(store: Store, lev: Levelling) -> int:
    """Write a new version of ``lev.dataset_id`` with the levelled values added.

    The levelled values become an extra analyte column (method :attr:`Levelling.method`,
    the digestion of the target); every other column, sample and the original values are
    copied unchanged. Censored results stay censored at the levelled detection limit. The
    levelling (transform, pairs, before/after agreement) is appended to the version's
    provenance, ``extra["levelling"]``; levelling the same element and method again
    replaces the earlier column and record.

    Returns
    -------
    int
        The new version number.
    """
    ds = lev.dataset_id
    rows = store.datasets()
    row = rows[rows["dataset_id"] == ds]
    if row.empty:
        raise NotFoundError(f"dataset {ds!r} is not in the store")
    rec = row.iloc[0].to_dict()
    cols = store.measurement_columns(ds)
    samples, wide = store.version_tables(ds)
    if wide is None:
        raise NotFoundError(f"dataset {ds!r} holds no measurements")
    src = cols[(cols["element"] == lev.element) & (cols["method"] == lev.source_method)]
    if src.empty:
        raise NotFoundError(f"dataset {ds!r} holds no {lev.element} by {lev.source_method!r}")
    source = src.iloc[0]
    k_src = int(source["column_id"])
    old = cols[(cols["element"] == lev.element) & (cols["method"] == lev.method)]
    if not old.empty:  # replace an earlier levelling of the same column
        k_old = int(old.iloc[0]["column_id"])
        wide = wide.drop_columns([f"{p}{k_old}" for p in "vcoq"])
        cols = cols[cols["column_id"] != k_old]
    k = int(cols["column_id"].max()) + 1
    target_cols = store.measurement_columns(lev.target_dataset)
    tgt = target_cols[(target_cols["element"] == lev.element)
                      & (target_cols["method"] == lev.target_method)]
    digestion = str(tgt.iloc[0]["digestion"]) if not tgt.empty else str(source["digestion"])
    v = wide.column(f"v{k_src}").to_numpy(zero_copy_only=False).astype(float)
    wide = (wide.append_column(f"v{k}", pa.array(lev.transform.apply(v), pa.float64()))
            .append_column(f"c{k}", wide.column(f"c{k_src}"))
            .append_column(f"o{k}", wide.column(f"o{k_src}"))
            .append_column(f"q{k}", wide.column(f"q{k_src}")))
    dl = float(source["detection_limit"])
    columns = [{str(a): plain(b) for a, b in c.items()} for c in cols.to_dict("records")]
    columns.append({
        "column_id": k, "source_column": str(source["source_column"]), "element": lev.element,
        "unit": str(source["unit"]), "method": lev.method, "digestion": digestion,
        "original_unit": str(source["original_unit"]), "factor": float(source["factor"]),
        "detection_limit": float(lev.transform.apply([dl])[0]) if math.isfinite(dl) else None,
    })
    extra = json.loads(rec["extra"]) if isinstance(rec.get("extra"), str) else dict(
        rec.get("extra") or {})
    history = [e for e in extra.get("levelling", [])
               if not (e.get("element") == lev.element and e.get("method") == lev.method)]
    extra["levelling"] = [*history, lev.to_dict()]
    methods = sorted({str(c["method"]) for c in columns})
    record = VersionRecord(
        dataset_id=ds, title=str(rec["title"]), organisation=str(rec["organisation"]),
        countries=string_list(rec["countries"]), media=string_list(rec["media"]),
        depth_top_cm=finite(rec["depth_top_cm"]), depth_bottom_cm=finite(rec["depth_bottom_cm"]),
        sampling_years=[int(y) for y in string_list(rec["sampling_years"])], methods=methods,
        licence=str(rec["licence"]), citation=str(rec["citation"]), url=str(rec["url"] or ""),
        sharing=str(rec["sharing"]),
        sharing_organisations=string_list(rec["sharing_organisations"]),
        embargoed_elements=string_list(rec["embargoed_elements"]), kind=str(rec["kind"]),
        same_samples_as=str(rec["same_samples_as"] or ""), source_file=str(rec["source_file"]),
        source_sha256=str(rec["source_sha256"]), descriptor_sha256=str(rec["descriptor_sha256"]),
        descriptor=str(rec["descriptor"]), n_rows=int(rec["n_rows"]),
        n_samples=int(rec["n_samples"]), n_rejected=int(rec["n_rejected"]),
        extra=extra, columns=columns,
    )
    rejects = store.rejects(ds)
    with store.begin_version(ds) as w:
        w.write_samples(samples)
        w.write_measurements(wide)
        return w.commit(record, rejects, None)
