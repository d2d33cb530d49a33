"""Levelling between methods and surveys.

Acceptance: the Kola C-horizon reports several elements both by aqua regia and by INAA
(a total method). A transform fitted on 70 % of the samples removes the between-method
bias on the 30 % held out, for five different random splits. The fits are checked against
independent implementations: the reduced major axis against ``scipy.odr`` orthogonal
regression of standardised variables, the ratio against a plain geometric mean, and the
robust fit against contaminated data the plain fit gets wrong.
"""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest

from chemearth.errors import ChemearthWarning, NotFoundError, StatisticsError
from chemearth.qc.levelling import (
    agreement,
    apply_levelling,
    fit_transform,
    level,
    paired_values,
)

AR = "aqua regia extraction; ICP-AES or graphite-furnace AAS"
INAA = "INAA (instrumental neutron activation)"


@pytest.fixture(scope="module")
def kola(tmp_path_factory, data_dir, boundaries):
    from chemearth.ingest.descriptor import load_descriptor
    from chemearth.ingest.pipeline import ingest
    from chemearth.ingest.shipped import shipped_descriptor
    from chemearth.store import open_store

    store = open_store(tmp_path_factory.mktemp("levelling"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ChemearthWarning)
        for ds in ("kola-chorizon", "kola-chorizon-dl"):
            ingest(store, load_descriptor(shipped_descriptor(ds)), data_dir=data_dir,
                   boundaries=boundaries)
    return store


@pytest.mark.parametrize("kind", ["ratio", "rma", "robust"])
@pytest.mark.parametrize("element", ["Cr", "Co", "Fe", "La"])
def test_kola_levelling_removes_between_method_bias_on_held_out_samples(kola, element, kind):
    for seed in range(5):
        lev = level(kola, "kola-chorizon", element, AR, INAA, kind=kind, holdout=0.3,
                    seed=seed)
        assert lev.n_test == pytest.approx(0.3 * (lev.n_test + lev.n_train), abs=1)
        before, after = lev.before, lev.after
        assert abs(before["bias_pct"]) > 40
        assert before["p"] < 1e-10
        assert abs(after["bias_pct"]) < 10
        assert after["p"] > 0.01  # no bias left that the held-out pairs can show
        assert after["rmse_log10"] < 0.8 * before["rmse_log10"]


def test_held_out_check_is_honest(kola):
    """The held-out pairs are not used in the fit: the training and test ids are disjoint
    and a different seed gives a different transform."""
    a = level(kola, "kola-chorizon", "Cr", AR, INAA, seed=1)
    b = level(kola, "kola-chorizon", "Cr", AR, INAA, seed=2)
    assert a.n_train + a.n_test == len(paired_values(kola, "kola-chorizon", "Cr", AR, INAA))
    assert a.transform.slope != b.transform.slope
    assert a.transform.n == a.n_train


def _odr_rma(u: np.ndarray, v: np.ndarray) -> tuple[float, float]:
    with warnings.catch_warnings():  # deprecated in SciPy 1.17, still the reference ODRPACK
        warnings.simplefilter("ignore", DeprecationWarning)
        from scipy import odr
    data = odr.RealData(u, v, sx=np.std(u, ddof=1), sy=np.std(v, ddof=1))
    out = odr.ODR(data, odr.unilinear, beta0=[1.0, 0.0], sstol=1e-14, partol=1e-14).run()
    return float(out.beta[0]), float(out.beta[1])


def test_rma_equals_orthogonal_regression_of_standardised_values(kola):
    pairs = paired_values(kola, "kola-chorizon", "Cr", AR, INAA)
    u, v = np.log10(pairs["x"].to_numpy()), np.log10(pairs["y"].to_numpy())
    t = fit_transform(pairs["x"], pairs["y"], "rma")
    slope, intercept = _odr_rma(u, v)
    assert t.slope == pytest.approx(slope, rel=1e-5)
    assert t.intercept == pytest.approx(intercept, rel=1e-5, abs=1e-6)
    assert t.r == pytest.approx(np.corrcoef(u, v)[0, 1])


def test_ratio_is_the_geometric_mean_ratio(kola):
    pairs = paired_values(kola, "kola-chorizon", "Cr", AR, INAA)
    t = fit_transform(pairs["x"], pairs["y"], "ratio")
    gm = math.exp(np.mean(np.log(pairs["y"] / pairs["x"])))
    assert t.factor == pytest.approx(gm, rel=1e-12)
    lin = fit_transform(pairs["x"], pairs["y"], "ratio", log=False)
    assert lin.factor == pytest.approx(gm, rel=1e-12)
    assert agreement(t.apply(pairs["x"]), pairs["y"])["bias_pct"] == pytest.approx(0, abs=1e-9)


def test_robust_fit_ignores_gross_outliers_the_plain_fit_follows():
    rng = np.random.default_rng(3)
    x = np.exp(rng.normal(3, 0.8, 400))
    y = 2.5 * x**0.9 * np.exp(rng.normal(0, 0.08, 400))
    y[:40] = x[:40] * 40  # 10 % gross errors (a wrong unit, a swapped sample)
    robust = fit_transform(x, y, "robust")
    plain = fit_transform(x, y, "rma")
    assert robust.slope == pytest.approx(0.9, abs=0.03)
    assert 10**robust.intercept == pytest.approx(2.5, rel=0.1)
    assert 350 <= robust.n <= 360  # the 40 contaminated pairs and at most a few more
    assert abs(plain.slope - 0.9) > 0.1


def test_levelling_between_surveys_by_sample_id(kola):
    """kola-chorizon-dl is the same survey in another package copy: levelling it to
    kola-chorizon by overlapping samples must find the identity."""
    lev = level(kola, "kola-chorizon-dl", "Cu", AR, AR, target_dataset="kola-chorizon",
                holdout=0.0)
    assert lev.n_train == 606 - 0 or lev.n_train > 590
    assert lev.transform.slope == pytest.approx(1.0, abs=1e-6)
    assert lev.after["bias_pct"] == pytest.approx(0.0, abs=1e-6)
    assert lev.method == f"{AR}; levelled to kola-chorizon: {AR}"


def test_apply_levelling_adds_a_column_and_records_provenance(tmp_path, data_dir, boundaries):
    from chemearth.ingest.descriptor import load_descriptor
    from chemearth.ingest.pipeline import ingest
    from chemearth.ingest.shipped import shipped_descriptor
    from chemearth.store import open_store

    store = open_store(tmp_path / "store")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ChemearthWarning)
        ingest(store, load_descriptor(shipped_descriptor("kola-chorizon")), data_dir=data_dir,
               boundaries=boundaries)
    before = store.measurements("kola-chorizon")
    lev = level(store, "kola-chorizon", "Cr", AR, INAA, kind="rma")
    assert apply_levelling(store, lev) == 2
    after = store.measurements("kola-chorizon")
    # every earlier value is kept as it was; one column is added
    keys = ["sample_id", "element", "method"]
    merged = before.merge(after, on=keys, suffixes=("", "_new"))
    assert len(merged) == len(before)
    assert np.array_equal(merged["value"].to_numpy(), merged["value_new"].to_numpy())
    new = after[after["method"] == lev.method].set_index("sample_id")["value"]
    src = before[(before["element"] == "Cr") & (before["method"] == AR)].set_index(
        "sample_id")["value"]
    assert len(new) == 606 == len(after) - len(before)
    assert np.allclose(new.loc[src.index], lev.transform.apply(src.to_numpy()), rtol=1e-12)
    cols = store.measurement_columns("kola-chorizon")
    row = cols[cols["method"] == lev.method].iloc[0]
    assert row["digestion"] == "total"
    extra = json.loads(store.datasets().set_index("dataset_id").loc["kola-chorizon", "extra"])
    (rec,) = extra["levelling"]
    assert rec["transform"]["kind"] == "rma"
    assert rec["after"]["bias_pct"] == pytest.approx(lev.after["bias_pct"])
    assert rec["n_test"] == lev.n_test
    # levelling again replaces the column and the record; nothing accumulates
    again = level(store, "kola-chorizon", "Cr", AR, INAA, kind="ratio")
    assert apply_levelling(store, again) == 3
    third = store.measurements("kola-chorizon")
    assert len(third) == len(after)
    extra = json.loads(store.datasets().set_index("dataset_id").loc["kola-chorizon", "extra"])
    assert [r["transform"]["kind"] for r in extra["levelling"]] == ["ratio"]


def test_failed_levelling_leaves_the_store_unchanged(kola):
    versions = kola.datasets(all_versions=True)
    with pytest.raises(NotFoundError, match="no Cr by 'XRF"):
        level(kola, "kola-chorizon", "Cr", "XRF", INAA)
    with pytest.raises(StatisticsError, match="unknown levelling transform"):
        level(kola, "kola-chorizon", "Cr", AR, INAA, kind="spline")
    with pytest.raises(StatisticsError, match="holdout"):
        level(kola, "kola-chorizon", "Cr", AR, INAA, holdout=1.5)
    pd.testing.assert_frame_equal(kola.datasets(all_versions=True), versions)
