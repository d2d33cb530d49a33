"""Log-ratio transforms, censored parts and robust distances (chemearth.stats.compositional).

The transforms are checked against pyrolite (``pyrolite.comp.codata``) on the Kola
C-horizon and GEMAS soils; the robust distances against scikit-learn's ``MinCovDet`` run
independently on pyrolite's ilr coordinates; the multiplicative replacement against its
formula on the Kola C-horizon with its detection limits (robCompositions' ``chorizonDL``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.linalg
from pyrolite.comp import codata
from scipy import stats
from sklearn.covariance import MinCovDet

from chemearth.stats.compositional import (
    CompositionError,
    alr,
    closure,
    clr,
    ilr,
    ilr_basis,
    inverse_alr,
    inverse_clr,
    inverse_ilr,
    parts_of,
    replace_censored,
    robust_distances,
)

#: Parts taken from each survey (all measured above the detection limit in these files).
KOLA_PARTS = ["Al", "Ba", "Ca", "Co", "Cr", "Cu", "Fe", "K", "Mg", "Mn", "Na", "Ni", "P",
              "Pb", "Sr", "Ti", "V", "Zn"]
GEMAS_PARTS = ["Al", "Ba", "Ca", "Cr", "Fe", "K", "Mg", "Mn", "Na", "Nb", "P", "Si", "Sr",
               "Ti", "V", "Y", "Zn", "Zr"]


def read_survey(data_dir: Path, name: str) -> pd.DataFrame:
    if name == "kola":
        return pd.read_csv(data_dir / "kola" / "chorizon.csv")[KOLA_PARTS]
    return pd.read_csv(data_dir / "gemas" / "gemas.csv")[GEMAS_PARTS]


@pytest.fixture(scope="module", params=["kola", "gemas"])
def survey(request: pytest.FixtureRequest, data_dir: Path) -> np.ndarray:
    return read_survey(data_dir, request.param).to_numpy(dtype=float)


# --- transforms against pyrolite ----------------------------------------------------------

TRANSFORMS = [  # (name, chemearth, pyrolite)
    ("clr", clr, codata.CLR),
    ("ilr", ilr, codata.ILR),
    ("alr last", alr, codata.ALR),
    ("alr first", lambda x: alr(x, divisor=0), lambda x: codata.ALR(x, ind=0)),
    ("alr Fe (7th)", lambda x: alr(x, divisor=6), lambda x: codata.ALR(x, ind=6)),
]


@pytest.mark.parametrize(("name", "ours", "theirs"), TRANSFORMS, ids=[t[0] for t in TRANSFORMS])
def test_transforms_equal_pyrolite(survey: np.ndarray, name: str, ours, theirs) -> None:
    np.testing.assert_allclose(ours(survey), theirs(survey), rtol=0, atol=1e-10)


INVERSES = [  # (name, forward, chemearth inverse, pyrolite inverse)
    ("clr", clr, inverse_clr, codata.inverse_CLR),
    ("ilr", ilr, inverse_ilr, codata.inverse_ILR),
    ("alr last", alr, inverse_alr, codata.inverse_ALR),
    ("alr Fe (7th)", lambda x: alr(x, divisor=6), lambda y: inverse_alr(y, divisor=6),
     lambda y: codata.inverse_ALR(y, ind=6)),
]


@pytest.mark.parametrize(("name", "forward", "ours", "theirs"), INVERSES,
                         ids=[t[0] for t in INVERSES])
def test_inverses_equal_pyrolite_and_give_the_closed_data(survey: np.ndarray, name: str,
                                                          forward, ours, theirs) -> None:
    y = forward(survey)
    np.testing.assert_allclose(ours(y), theirs(y), rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(ours(y), survey / survey.sum(axis=1, keepdims=True),
                               rtol=1e-9)


def test_inverses_close_to_the_total_asked(survey: np.ndarray) -> None:
    back = inverse_ilr(ilr(survey), total=1e6)
    np.testing.assert_allclose(back.sum(axis=1), 1e6)
    np.testing.assert_allclose(back, closure(survey, 1e6), rtol=1e-9)


def test_default_basis_is_pyrolites_helmert_basis() -> None:
    for d in (2, 3, 7, 18):
        np.testing.assert_allclose(ilr_basis(d), scipy.linalg.helmert(d), atol=1e-15)


def test_pivot_coordinates_follow_their_definition(survey: np.ndarray) -> None:
    """z_j = sqrt((D-j)/(D-j+1)) ln(x_j / g(x_{j+1..D})), written out here."""
    d = survey.shape[1]
    lx = np.log(survey)
    expected = np.column_stack([
        np.sqrt((d - j) / (d - j + 1)) * (lx[:, j - 1] - lx[:, j:].mean(axis=1))
        for j in range(1, d)
    ])
    np.testing.assert_allclose(ilr(survey, "pivot"), expected, atol=1e-10)
    np.testing.assert_allclose(ilr(survey, "pivot"),
                               codata.ILR(survey, psi=ilr_basis(d, "pivot")), atol=1e-10)
    np.testing.assert_allclose(inverse_ilr(ilr(survey, "pivot"), "pivot"), closure(survey),
                               rtol=1e-9)


@pytest.mark.parametrize("basis", ["helmert", "pivot"])
def test_ilr_is_an_isometry_of_clr(survey: np.ndarray, basis: str) -> None:
    z, c = ilr(survey[:50], basis), clr(survey[:50])
    dz = np.linalg.norm(z[:, None] - z[None], axis=2)
    dc = np.linalg.norm(c[:, None] - c[None], axis=2)
    np.testing.assert_allclose(dz, dc, atol=1e-10)


def test_transforms_are_scale_invariant(survey: np.ndarray) -> None:
    rng = np.random.default_rng(0)
    scaled = survey * rng.uniform(0.1, 1000, size=(len(survey), 1))
    for f in (clr, ilr, alr):
        np.testing.assert_allclose(f(scaled), f(survey), atol=1e-10)


@pytest.mark.parametrize(("call", "message"), [
    (lambda: clr([[1.0, 0.0, 2.0]]), "row 0, column 1"),
    (lambda: ilr([[1.0, 2.0], [1.0, np.nan]]), "row 1, column 1"),
    (lambda: ilr([[1.0, 2.0, 3.0]], "bad"), "unknown ilr basis"),
    (lambda: ilr([[1.0, 2.0, 3.0]], np.eye(3)[:2]), "orthonormal rows summing to zero"),
    (lambda: alr([[1.0, 2.0, 3.0]], divisor=3), "divisor 3"),
    (lambda: clr([1.0]), "at least 2 parts"),
])
def test_invalid_input_is_refused(call, message: str) -> None:
    with pytest.raises(CompositionError, match=message):
        call()


# --- censored and missing parts -----------------------------------------------------------

@pytest.fixture(scope="module")
def kola_dl(data_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Kola C-horizon values with each censored entry holding its detection limit."""
    raw = pd.read_csv(data_dir / "kola" / "chorizonDL.csv")
    limits = pd.read_csv(data_dir / "kola" / "chorizonDL_detection_limits.csv")
    dl = dict(zip(limits["column"], limits["detection_limit"], strict=True))
    parts = ["As", "Bi", "Cu", "K", "Ni", "Pb"]
    values = raw[parts].astype(float)
    censored = values == 0
    for p in parts:
        values.loc[censored[p], p] = dl[p]
    return values, censored


@pytest.mark.parametrize("fraction", [0.65, 0.5, 1.0])
def test_multiplicative_replacement_follows_its_formula(kola_dl, fraction: float) -> None:
    values, censored = kola_dl
    x, c = values.to_numpy(), censored.to_numpy()
    assert c.sum() == 10 + 15 + 3  # As, Bi, K below their limits
    out = replace_censored(x, c, fraction=fraction, total=1e6)
    delta = np.where(c, fraction * x, 0.0)
    factor = 1 - delta.sum(axis=1) / 1e6
    for i, j in np.argwhere(c):
        assert out[i, j] == pytest.approx(fraction * x[i, j], rel=1e-12)
    for i, j in np.argwhere(~c):
        assert out[i, j] == pytest.approx(x[i, j] * factor[i], rel=1e-12)
    # ratios between measured parts are unchanged
    rows = np.flatnonzero(c.any(axis=1))
    i = rows[0]
    measured = np.flatnonzero(~c[i])
    np.testing.assert_allclose(out[i, measured] / out[i, measured[0]],
                               x[i, measured] / x[i, measured[0]], rtol=1e-12)


def test_replacement_keeps_a_closed_row_closed() -> None:
    """Measured parts summing to 100 % (censored ones, holding their DL, counted as 0)."""
    x = np.array([[55.0, 0.2, 30.0, 15.0], [50.0, 0.4, 0.3, 50.0]])
    c = np.array([[False, True, False, False], [False, True, True, False]])
    out = replace_censored(x, c, total=100.0)
    np.testing.assert_allclose(out.sum(axis=1), 100.0)
    np.testing.assert_allclose(out[c], 0.65 * x[c])


def test_parts_of_reports_censored_counts_and_rows_left_out(kola_dl) -> None:
    values, censored = kola_dl
    values = values.copy()
    values.index = [f"S{i}" for i in range(len(values))]
    censored = censored.set_axis(values.index)
    values.iloc[[3, 40, 41], 2] = np.nan  # Cu not analysed in three samples
    p = parts_of(values, censored=censored)
    assert list(p.missing_rows) == ["S3", "S40", "S41"]
    assert len(p.rows) + len(p.missing_rows) == len(values)
    assert set(p.rows).isdisjoint(p.missing_rows)
    used = censored.loc[p.rows]
    assert p.n_censored == {k: int(v) for k, v in used.sum().items()}
    assert p.frame.shape == (len(values) - 3, 6)
    assert (p.values > 0).all()
    # without the flags, a zero is not a measurement: the row is left out, not used
    zeros = values.where(~censored, 0.0)
    q = parts_of(zeros)
    assert len(q.missing_rows) == int((censored.any(axis=1) | values.isna().any(axis=1)).sum())


# --- robust distances ------------------------------------------------------------------------

def test_robust_distances_equal_sklearn_min_cov_det(survey: np.ndarray) -> None:
    r = robust_distances(survey, random_state=3)
    z = codata.ILR(survey)
    mcd = MinCovDet(random_state=3).fit(z)
    np.testing.assert_allclose(r.samples["robust_distance"], np.sqrt(mcd.mahalanobis(z)),
                               rtol=1e-8)
    np.testing.assert_allclose(r.covariance, mcd.covariance_, rtol=1e-8, atol=1e-12)
    cutoff = np.sqrt(stats.chi2.ppf(0.975, survey.shape[1] - 1))
    assert r.cutoff == pytest.approx(cutoff)
    assert (r.samples["outlier"] == (r.samples["robust_distance"] > cutoff)).all()
    assert 0.02 < r.samples["outlier"].mean() < 0.5  # real surveys hold outliers


def test_robust_distances_do_not_depend_on_the_basis(data_dir: Path) -> None:
    x = read_survey(data_dir, "kola").to_numpy(dtype=float)[:, :8]
    a = robust_distances(x, basis="helmert")
    b = robust_distances(x, basis="pivot")
    np.testing.assert_allclose(a.samples["robust_distance"], b.samples["robust_distance"],
                               rtol=1e-6)


def simulated(n: int = 400, d: int = 6, n_out: int = 12, seed: int = 7) -> tuple[
        np.ndarray, np.ndarray]:
    """Log-normal compositions driven by one latent variable, with planted outliers.

    ``log x_j = μ_j + b_j f + e_j`` (f ~ N(0, 1), b_j ~ U(0.8, 1.2), e_j ~ N(0, 0.1²));
    each outlier has one part raised fivefold, within that part's univariate range (its
    log sd is about 1) but far off the ratios of the other samples.
    """
    rng = np.random.default_rng(seed)
    f = rng.normal(size=(n, 1))
    logx = np.linspace(1, 6, d) + f * rng.uniform(0.8, 1.2, d) + rng.normal(0, 0.1, (n, d))
    planted = rng.choice(n, n_out, replace=False)
    logx[planted, rng.integers(0, d, n_out)] += np.log(5.0)
    return np.exp(logx), np.isin(np.arange(n), planted)


def test_planted_outliers_are_found() -> None:
    x, planted = simulated()
    r = robust_distances(x)
    flagged = r.samples["outlier"].to_numpy()
    assert flagged[planted].all()
    assert flagged[~planted].mean() < 0.05  # about 2.5 % false alarms expected
    # the outliers are not extreme in any single part: a univariate 97.5 % rule misses them
    logx = np.log(x)
    z = np.abs(logx - np.median(logx, axis=0)) / stats.median_abs_deviation(
        logx, axis=0, scale="normal")
    assert (z[planted] > 2.24).any(axis=1).mean() < 0.5


def test_robust_distances_keep_the_rows_of_parts(kola_dl) -> None:
    values, censored = kola_dl
    p = parts_of(values.iloc[:200], censored=censored.iloc[:200])
    r = robust_distances(p)
    assert r.samples.index.equals(p.rows)
    with pytest.raises(CompositionError, match="quantile"):
        robust_distances(p, quantile=1.5)
    with pytest.raises(CompositionError, match="complete rows"):
        robust_distances(values.iloc[:5].to_numpy() + 1.0)
