"""Reference-material control: Shewhart charts, bias, drift and batch acceptance.

Laboratories insert reference materials (certified, or a project's own standard) among
the survey samples. Their repeated results, in analytical order, show:

* **precision and the control chart**: the mean (or the reference value where one is
  given) with lines at ±2 SD (warning) and ±3 SD (action), a Shewhart chart;
* **bias** against a certified value: ``mean - certified``, in % of the certified value,
  with a one-sample t test and the z score ``(mean - certified) / √(s²/n + u²)``;
* **drift** along the analytical order: the least-squares slope of the results on their
  position, with its p value, the change over the run in SD units, flagged when
  significant (p < 0.01) and larger than one SD over the run;
* **batch acceptance** (Westgard multirules on the z scores of the control results):
  a batch is *rejected* when a result is beyond ±3 SD (1-3s), two consecutive results
  beyond 2 SD on the same side (2-2s, the batch of the second), or the results of one batch
  span more than 4 SD (R-4s); a result beyond ±2 SD alone gives a *warning* (1-2s);
  otherwise the batch is *accepted*.

Without a certified value the chart centres on the material's own mean and SD, as
``rgr::crm.plot.new`` does with historic data.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(3)
>>> f = pd.DataFrame({"order": np.arange(40), "material": "STD", "value": rng.normal(50, 2, 40)})
>>> ch = control_charts(f)[0]
>>> ch.n, round(ch.rsd_pct, 1), ch.drift
(40, 4.7, False)
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd
from scipy import stats as sps

from chemearth.errors import StatisticsError
from chemearth.jsonable import plain

__all__ = [
    "DRIFT_P",
    "ControlChart",
    "batch_status",
    "control_charts",
]

#: Significance below which a slope along the analytical order counts as drift.
DRIFT_P: Final = 0.01


@dataclass(frozen=True)
class ControlChart:
    """Repeated results of one reference material for one element.

    Attributes
    ----------
    material : str
        The material's name.
    n : int
        Results.
    mean, sd, rsd_pct, median, mad : float
        The material's own statistics (MAD scaled to the SD of a normal distribution).
    centre, sd_chart : float
        Centre line and SD of the chart: the certified value and SD when given,
        otherwise the material's mean and SD.
    certified, certified_sd : float
        The reference value and its SD (NaN when none is given).
    bias, bias_pct, bias_p, bias_z : float
        ``mean - certified``, in % of it, the one-sample t test's p value and the z score
        (NaN without a certified value).
    slope_per_100, drift_p, drift_sd : float
        Slope along the analytical order (per 100 positions), its p value and the change
        over the run in chart SDs.
    drift : bool
        Significant drift (p < :data:`DRIFT_P`) larger than one chart SD over the run.
    order, values, z : tuple of float
        The results in analytical order and their z scores on the chart.
    """

    material: str
    n: int
    mean: float
    sd: float
    rsd_pct: float
    median: float
    mad: float
    centre: float
    sd_chart: float
    certified: float
    certified_sd: float
    bias: float
    bias_pct: float
    bias_p: float
    bias_z: float
    slope_per_100: float
    drift_p: float
    drift_sd: float
    drift: bool
    order: tuple[float, ...] = field(repr=False)
    values: tuple[float, ...] = field(repr=False)
    z: tuple[float, ...] = field(repr=False)

    @property
    def limits(self) -> dict[str, float]:
        """The chart's lines: ``-3``, ``-2``, ``centre``, ``+2``, ``+3`` SD."""
        c, s = self.centre, self.sd_chart
        return {"-3": c - 3 * s, "-2": c - 2 * s, "centre": c, "+2": c + 2 * s, "+3": c + 3 * s}

    @property
    def outside(self) -> dict[str, int]:
        """How many results fall beyond ±2 SD and beyond ±3 SD."""
        z = np.abs(np.asarray(self.z))
        return {"2sd": int((z > 2).sum()), "3sd": int((z > 3).sum())}

    def to_dict(self, points: bool = False) -> dict[str, Any]:
        """A JSON-ready dict; the individual results only with ``points``."""
        out = {k: v for k, v in asdict(self).items() if k not in ("order", "values", "z")}
        out.update(limits=self.limits, outside=self.outside)
        if points:
            out.update(order=list(self.order), values=list(self.values), z=list(self.z))
        return {str(k): plain(v) for k, v in out.items()}


def control_charts(frame: pd.DataFrame, reference: pd.DataFrame | None = None
                   ) -> list[ControlChart]:
    """One control chart per material.

    Parameters
    ----------
    frame : DataFrame
        Columns ``order`` (analytical position), ``material`` and ``value``; censored or
        missing results should be removed first.
    reference : DataFrame, optional
        Certified values: columns ``material``, ``value`` and optionally ``sd``.

    Raises
    ------
    StatisticsError
        For a material with fewer than 3 results (it is skipped when others have enough).
    """
    ref: dict[str, tuple[float, float]] = {}
    if reference is not None:
        for r in reference.to_dict("records"):
            ref[str(r["material"])] = (float(r["value"]),
                                       float(r.get("sd", math.nan) or math.nan))
    out = []
    skipped = []
    for material, group in frame.groupby("material", sort=True):
        g = group.sort_values("order", kind="stable")
        if len(g) < 3:
            skipped.append(str(material))
            continue
        out.append(_chart(str(material), g["order"].to_numpy(float),
                          g["value"].to_numpy(float), ref.get(str(material))))
    if not out:
        raise StatisticsError("control charts need at least 3 results of a material"
                              + (f"; too few for {', '.join(skipped)}" if skipped else ""))
    return out


def _chart(material: str, order: np.ndarray, x: np.ndarray,
           ref: tuple[float, float] | None) -> ControlChart:
    n = len(x)
    mean = float(x.mean())
    sd = float(x.std(ddof=1))
    cert, cert_sd = ref if ref else (math.nan, math.nan)
    centre = cert if ref else mean
    sd_chart = cert_sd if ref and math.isfinite(cert_sd) and cert_sd > 0 else sd
    z = (x - centre) / sd_chart if sd_chart > 0 else np.zeros(n)
    if ref:
        bias = mean - cert
        t = sps.ttest_1samp(x, cert)
        u = cert_sd if math.isfinite(cert_sd) else 0.0
        bias_z = bias / math.sqrt(sd**2 / n + u**2) if sd > 0 or u > 0 else math.nan
        bias_pct, bias_p = 100 * bias / cert, float(t.pvalue)
    else:
        bias = bias_pct = bias_p = bias_z = math.nan
    if np.ptp(order) > 0 and sd > 0:
        lr = sps.linregress(order, x)
        slope, p = float(lr.slope), float(lr.pvalue)
        change = abs(slope * np.ptp(order)) / sd_chart
    else:
        slope, p, change = 0.0, 1.0, 0.0
    return ControlChart(
        material=material, n=n, mean=mean, sd=sd, rsd_pct=100 * sd / mean if mean else math.nan,
        median=float(np.median(x)), mad=float(sps.median_abs_deviation(x, scale="normal")),
        centre=centre, sd_chart=sd_chart, certified=cert, certified_sd=cert_sd,
        bias=bias, bias_pct=bias_pct, bias_p=bias_p, bias_z=bias_z,
        slope_per_100=100 * slope, drift_p=p, drift_sd=float(change),
        drift=bool(p < DRIFT_P and change > 1.0),
        order=tuple(map(float, order)), values=tuple(map(float, x)), z=tuple(map(float, z)),
    )


def batch_status(charts: list[ControlChart], batch_of: Any = None) -> pd.DataFrame:
    """Accept, warn or reject each analytical batch (Westgard rules 1-2s, 1-3s, 2-2s, R-4s).

    Parameters
    ----------
    charts : list of ControlChart
        The charts whose results control the batches (their z scores are pooled in
        analytical order).
    batch_of : callable, optional
        Maps an analytical position to its batch; default: every control result is its own
        batch.

    Returns
    -------
    DataFrame
        One row per batch: ``batch``, ``first``, ``last`` (positions), ``n``, ``max_abs_z``,
        ``rules`` (the rules broken, comma-separated), ``status`` (accept, warn, reject).

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"order": range(8), "material": "S",
    ...                   "value": [10, 10.2, 9.8, 10.1, 9.9, 10.0, 13.0, 10.1]})
    >>> ch = control_charts(f, pd.DataFrame({"material": ["S"], "value": [10.0], "sd": [0.5]}))
    >>> batch_status(ch)["status"].tolist()
    ['accept', 'accept', 'accept', 'accept', 'accept', 'accept', 'reject', 'accept']
    """
    rows = [(o, z) for ch in charts for o, z in zip(ch.order, ch.z, strict=True)]
    if not rows:
        return pd.DataFrame(columns=["batch", "first", "last", "n", "max_abs_z", "rules",
                                     "status"])
    f = pd.DataFrame(rows, columns=["order", "z"]).sort_values("order", kind="stable")
    f["batch"] = [batch_of(o) for o in f["order"]] if batch_of else range(len(f))
    # 2-2s: this and the previous control result beyond 2 SD on the same side
    prev = f["z"].shift(1)
    f["r22"] = ((f["z"] > 2) & (prev > 2)) | ((f["z"] < -2) & (prev < -2))
    out = []
    for b, g in f.groupby("batch", sort=False):
        z = g["z"].to_numpy()
        rules = []
        if (np.abs(z) > 3).any():
            rules.append("1-3s")
        if g["r22"].any():
            rules.append("2-2s")
        if len(z) > 1 and np.ptp(z) > 4:
            rules.append("R-4s")
        status = "reject" if rules else "accept"
        if not rules and (np.abs(z) > 2).any():
            rules.append("1-2s")
            status = "warn"
        out.append({"batch": b, "first": float(g["order"].min()), "last": float(g["order"].max()),
                    "n": len(g), "max_abs_z": float(np.abs(z).max()), "rules": ",".join(rules),
                    "status": status})
    return pd.DataFrame(out)
