"""Reference-material control charts, bias, drift and batch rules.

The rgr ``crm.test`` copper analyses and the Kola C-horizon project standard are read
straight from their CSV files and summarised with pandas; drift slopes are checked against
statsmodels OLS; each Westgard rule against a hand-made sequence that breaks only it.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from chemearth.errors import StatisticsError
from chemearth.qc.control import batch_status, control_charts
from chemearth.qc.report import control_results, control_table, qc_spec

sm = pytest.importorskip("statsmodels.api")

AR = "aqua regia extraction; ICP-AES or graphite-furnace AAS"


def test_crm_statistics_equal_pandas(demo_store, data_dir):
    raw = pd.read_csv(data_dir / "qc" / "crm.test.csv")
    raw["order"] = np.arange(len(raw))
    res = control_results(demo_store.store, "qc-crm")
    charts = {c.material: c for c in control_charts(res)}
    expected = raw.groupby("CRM")["Cu"].agg(["count", "mean", "std", "median"])
    assert set(charts) == set(expected[expected["count"] >= 3].index)  # STSD-2, -4: 2 each
    assert set(expected.index) - set(charts) == {"STSD-2", "STSD-4"}
    for name, c in charts.items():
        e = expected.loc[name]
        assert c.n == e["count"]
        assert c.mean == pytest.approx(e["mean"], rel=1e-12)
        assert c.sd == pytest.approx(e["std"], rel=1e-12)
        assert c.rsd_pct == pytest.approx(100 * e["std"] / e["mean"], rel=1e-12)
        assert c.median == pytest.approx(e["median"])
        values = raw.loc[raw["CRM"] == name, "Cu"].to_numpy()
        assert c.values == pytest.approx(tuple(values))  # analytical (file) order kept
        assert c.limits["+2"] == pytest.approx(e["mean"] + 2 * e["std"])
        assert c.limits["-3"] == pytest.approx(e["mean"] - 3 * e["std"])


def test_drift_slope_equals_statsmodels(demo_store):
    res = control_results(demo_store.store, "qc-crm")
    for c in control_charts(res):
        fit = sm.OLS(np.asarray(c.values), sm.add_constant(np.asarray(c.order))).fit()
        assert c.slope_per_100 == pytest.approx(100 * fit.params[1], rel=1e-9, abs=1e-12)
        assert c.drift_p == pytest.approx(fit.pvalues[1], rel=1e-6)


def test_kola_standard_rsd_and_batches(demo_store, data_dir):
    raw = pd.read_csv(data_dir / "kola" / "CHorSTANDARD.csv")
    st = demo_store.store
    spec = qc_spec(st, "kola-chorizon-standard")
    assert spec is not None
    assert spec.batch_size == 15
    charts, _, summary = control_table(control_results(st, "kola-chorizon-standard", spec,
                                                    ["Cu", "Zn", "Pb"]), spec)
    for el in ("Cu", "Zn", "Pb"):
        (chart,) = charts[(el, AR, "mg/kg")]
        assert chart.n == 52
        assert chart.rsd_pct == pytest.approx(100 * raw[el].std() / raw[el].mean(), rel=1e-9)
        assert chart.order == tuple(float(v) for v in raw["X.Loc"])  # positions 15, 30, ...
        row = summary.set_index(["element", "method"]).loc[(el, AR)]
        assert row["batches"] == 52  # one standard per batch of 15 positions


def test_bias_against_a_certified_value():
    rng = np.random.default_rng(5)
    values = rng.normal(36.8, 1.2, 30)
    frame = pd.DataFrame({"order": np.arange(30), "material": "STSD-1", "value": values})
    ref = pd.DataFrame({"material": ["STSD-1"], "value": [36.0], "sd": [1.0]})
    (c,) = control_charts(frame, ref)
    n, mean, sd = 30, values.mean(), values.std(ddof=1)
    t = (mean - 36.0) / (sd / math.sqrt(n))
    assert c.bias == pytest.approx(mean - 36.0)
    assert c.bias_pct == pytest.approx(100 * (mean - 36.0) / 36.0)
    assert c.bias_p == pytest.approx(2 * sps.t.sf(abs(t), n - 1), rel=1e-9)
    assert c.bias_z == pytest.approx((mean - 36.0) / math.sqrt(sd**2 / n + 1.0))
    assert c.centre == 36.0
    assert c.sd_chart == 1.0


def test_drift_is_found_and_not_invented():
    rng = np.random.default_rng(11)
    order = np.arange(100.0)
    steady = pd.DataFrame({"order": order, "material": "S", "value": rng.normal(50, 1, 100)})
    drifting = steady.assign(value=steady["value"] + 0.04 * order)  # 4 SD over the run
    assert not control_charts(steady)[0].drift
    (c,) = control_charts(drifting)
    assert c.drift
    assert c.slope_per_100 == pytest.approx(4.0, abs=0.8)


#: z-scores (centre 10, SD 1) in analytical order -> status of each one-result batch
WESTGARD = [
    ("in control", [0.5, -1.0, 1.5, -0.2], ["accept"] * 4),
    ("1-2s warning", [0.5, 2.5, 0.1, -0.3], ["accept", "warn", "accept", "accept"]),
    ("1-3s", [0.5, -3.4, 0.1, 0.3], ["accept", "reject", "accept", "accept"]),
    ("2-2s", [0.5, 2.3, 2.4, 0.1], ["accept", "warn", "reject", "accept"]),
    ("2-2s needs one side", [0.5, 2.3, -2.4, 0.1], ["accept", "warn", "warn", "accept"]),
]


@pytest.mark.parametrize(("case", "z", "expected"), WESTGARD, ids=[w[0] for w in WESTGARD])
def test_westgard_rules_per_result(case, z, expected):
    frame = pd.DataFrame({"order": range(len(z)), "material": "S", "value": 10 + np.array(z)})
    ref = pd.DataFrame({"material": ["S"], "value": [10.0], "sd": [1.0]})
    assert batch_status(control_charts(frame, ref))["status"].tolist() == expected


def test_r4s_rejects_a_batch_spanning_more_than_four_sd():
    frame = pd.DataFrame({"order": range(6), "material": "S",
                          "value": 10 + np.array([0.2, 2.1, -2.2, 0.0, 0.3, -0.1])})
    ref = pd.DataFrame({"material": ["S"], "value": [10.0], "sd": [1.0]})
    b = batch_status(control_charts(frame, ref), lambda pos: int(pos // 3))
    assert b["status"].tolist() == ["reject", "accept"]
    assert b["rules"].iloc[0] == "R-4s"


def test_too_few_results():
    frame = pd.DataFrame({"order": [1, 2], "material": "S", "value": [1.0, 1.1]})
    with pytest.raises(StatisticsError, match="at least 3 results"):
        control_charts(frame)
