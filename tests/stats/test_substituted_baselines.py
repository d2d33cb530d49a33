"""Baselines of columns whose "<DL" values were written as a constant (issue 18).

The shipped Kola, Baltic Soil Survey, GEMAS and Meuse descriptors declare their substitution
constants; the stored baselines must then treat exactly those cells as below the limit. The
reference here reads the raw CSV with pandas, marks the cells equal to the constant as
censored at the declared limit, and computes the Kaplan–Meier median and percentiles with
scipy (``scipy_km`` of ``test_censored.py``: scipy's own KM on flipped data), independently
of :mod:`chemearth.stats`.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from test_censored import ref_percentile, scipy_km

from chemearth.ingest.descriptor import load_descriptor
from chemearth.stats.baselines import baseline

# dataset, source column, stored element, method substring, constant, limit
CASES = [
    ("bss-bottom", "Ni_B", "Ni", "", 1.5, 3.0),
    ("bss-top", "Cu_T", "Cu", "", 5.0, 10.0),
    ("kola-chorizon", "Au_INAA", "Au", "INAA", 0.001, 0.002),
    ("kola-chorizon", "Mo", "Mo", "aqua regia", 0.1, 0.2),
    ("kola-humus", "Be", "Be", "", 0.01, 0.02),
    ("gemas", "V", "V", "", 2.5, 5.0),
    ("meuse", "cadmium", "Cd", "", 0.2, 0.4),
]


@pytest.mark.parametrize(("dataset", "column", "element", "method", "const", "limit"), CASES,
                         ids=[f"{c[0]}:{c[1]}" for c in CASES])
def test_baseline_counts_the_constant_as_censored(demo_store, dataset, column, element,
                                                  method, const, limit) -> None:
    desc = load_descriptor(demo_store.descriptors[dataset])
    sub = desc.censoring.substituted[column]
    assert (sub.value, sub.detection_limit) == (const, limit)
    raw = pd.read_csv(demo_store.data_dir / desc.source.path)
    x = pd.to_numeric(raw[column], errors="coerce").dropna().to_numpy(float)
    if dataset == "gemas":  # the one row rejected at ingest (a mistyped latitude, line 295)
        x = np.delete(x, 293)
    c = np.isclose(x, const, rtol=1e-9, atol=0)
    x = np.where(c, limit, x)
    assert c.sum() > 0
    ref = scipy_km(x, c)
    stored = demo_store.store.measurements(dataset, elements=[element])
    methods = sorted({m for m in stored["method"] if method.lower() in m.lower()})
    assert len(methods) == 1, methods
    b = baseline(demo_store.store, element, dataset=dataset, method=methods[0])
    row = b.iloc[0]
    assert int(row["n"]) == len(x)
    assert int(row["n_censored"]) == int(c.sum())
    km_median = ref_percentile(ref["x"], ref["cdf"], ref["undetermined"], 50)
    if math.isnan(km_median):
        assert math.isnan(row["km_median"])
    else:
        assert row["km_median"] == pytest.approx(km_median, rel=1e-12)
        assert row["km_median"] != const  # the constant is never reported as the median
    assert row["km_mean"] == pytest.approx(ref["mean"], rel=1e-9)
