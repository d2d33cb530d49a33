"""Robust PCA, factors and biplots of compositions (chemearth.stats.compositional_factors).

The robust clr covariance is checked against scikit-learn's ``MinCovDet`` run
independently on pyrolite's ilr coordinates and taken to clr space here; the principal
components against a numpy eigen decomposition of it; varimax against scikit-learn's
rotation; the factor extraction against its fixed-point equations and a simulated factor
structure. Data: Kola C-horizon and GEMAS soils.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.linalg
from pyrolite.comp import codata
from sklearn.covariance import MinCovDet
from sklearn.decomposition._factor_analysis import _ortho_rotation

from chemearth.stats.compositional import CompositionError, closure, parts_of
from chemearth.stats.compositional_factors import (
    biplot,
    robust_factors,
    robust_pca,
    varimax,
)

KOLA_PARTS = ["Al", "Ca", "Co", "Cr", "Cu", "Fe", "K", "Mg", "Na", "Ni", "Pb", "Zn"]
GEMAS_PARTS = ["Al", "Ca", "Cr", "Fe", "K", "Mg", "Mn", "Na", "P", "Si", "Ti", "Zr"]


@pytest.fixture(scope="module", params=["kola", "gemas"])
def survey(request: pytest.FixtureRequest, data_dir: Path) -> pd.DataFrame:
    if request.param == "kola":
        return pd.read_csv(data_dir / "kola" / "chorizon.csv")[KOLA_PARTS]
    return pd.read_csv(data_dir / "gemas" / "gemas.csv")[GEMAS_PARTS]


def independent_clr_covariance(x: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """MCD on pyrolite's ilr coordinates, taken to clr space: V S Vᵀ and t Vᵀ."""
    psi = scipy.linalg.helmert(x.shape[1])  # (D-1) x D, pyrolite's default basis
    mcd = MinCovDet(random_state=seed).fit(codata.ILR(x))
    return psi.T @ mcd.covariance_ @ psi, mcd.location_ @ psi


def aligned(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``b`` with each column's sign matched to ``a`` (eigenvectors are defined up to sign)."""
    return b * np.sign((a * b).sum(axis=0))


@pytest.fixture(scope="module")
def pca_and_reference(survey: pd.DataFrame):
    x = survey.to_numpy(dtype=float)
    cov, center = independent_clr_covariance(x, seed=0)
    return robust_pca(survey), cov, center, x


def test_robust_clr_covariance_equals_min_cov_det(pca_and_reference) -> None:
    pca, cov, center, _ = pca_and_reference
    np.testing.assert_allclose(pca.covariance, cov, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(pca.center, center, rtol=1e-8, atol=1e-12)


def test_components_equal_a_numpy_eigen_decomposition(pca_and_reference) -> None:
    pca, cov, center, x = pca_and_reference
    values, vectors = np.linalg.eigh(cov)
    order = np.argsort(values)[::-1][: x.shape[1] - 1]
    values, vectors = values[order], vectors[:, order]
    np.testing.assert_allclose(pca.variances, values, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(pca.explained, values / values.sum(), rtol=1e-8)
    ours = pca.loadings.to_numpy()
    np.testing.assert_allclose(ours, aligned(ours, vectors), atol=1e-7)
    scores = (codata.CLR(x) - center) @ aligned(ours, vectors)
    np.testing.assert_allclose(pca.scores.to_numpy(), scores, atol=1e-6)
    assert list(pca.loadings.index) == list(pca.parts)
    np.testing.assert_allclose(ours.sum(axis=0), 0.0, atol=1e-10)  # clr loadings


@pytest.mark.parametrize("change", ["closed to 1", "in %", "each row scaled"])
def test_loadings_do_not_depend_on_closure_or_scale(pca_and_reference, change: str) -> None:
    pca, _, _, x = pca_and_reference
    rng = np.random.default_rng(1)
    other = {"closed to 1": closure(x), "in %": x / 1e4,
             "each row scaled": x * rng.uniform(0.01, 100, size=(len(x), 1))}[change]
    again = robust_pca(other)
    np.testing.assert_allclose(again.loadings.to_numpy(), pca.loadings.to_numpy(), atol=1e-7)
    np.testing.assert_allclose(again.variances, pca.variances, rtol=1e-7)
    np.testing.assert_allclose(again.scores.to_numpy(), pca.scores.to_numpy(), atol=1e-6)


def test_classical_pca_equals_the_sample_covariance(survey: pd.DataFrame) -> None:
    x = survey.to_numpy(dtype=float)
    pca = robust_pca(x, robust=False)
    cov = np.cov(codata.CLR(x), rowvar=False)
    np.testing.assert_allclose(pca.covariance, cov, atol=1e-12)
    np.testing.assert_allclose(pca.variances, np.sort(np.linalg.eigvalsh(cov))[::-1][:-1],
                               rtol=1e-8)


def test_biplots(pca_and_reference) -> None:
    pca, cov, _, _ = pca_and_reference
    form = biplot(pca, kind="form", components=(1, 3))
    np.testing.assert_allclose(form.samples.to_numpy(), pca.scores[["PC1", "PC3"]].to_numpy())
    np.testing.assert_allclose(form.arrows.to_numpy(), pca.loadings[["PC1", "PC3"]].to_numpy())
    cb = biplot(pca)
    sd = np.sqrt(pca.variances[:2])
    np.testing.assert_allclose(cb.arrows.to_numpy(), pca.loadings.to_numpy()[:, :2] * sd)
    np.testing.assert_allclose(cb.samples.to_numpy(), pca.scores.to_numpy()[:, :2] / sd)
    # with every component, the covariance biplot's arrows reproduce the clr covariance
    n = len(pca.variances)
    full = np.column_stack([biplot(pca, components=(k, k + 1 if k < n else 1)).arrows["x"]
                            for k in range(1, n + 1)])
    np.testing.assert_allclose(full @ full.T, cov, atol=1e-7)
    assert cb.explained == pytest.approx(tuple(pca.explained[:2]))


@pytest.mark.parametrize(("kind", "components", "message"), [
    ("scatter", (1, 2), "unknown biplot kind"),
    ("form", (1, 1), "two different"),
    ("form", (0, 2), "from 1 to"),
])
def test_bad_biplots_are_refused(pca_and_reference, kind, components, message) -> None:
    with pytest.raises(CompositionError, match=message):
        biplot(pca_and_reference[0], kind=kind, components=components)


def test_parts_keep_names_and_rows(data_dir: Path) -> None:
    frame = pd.read_csv(data_dir / "kola" / "chorizon.csv").set_index("ID")[KOLA_PARTS]
    frame.iloc[5, 0] = np.nan
    p = parts_of(frame)
    pca = robust_pca(p)
    assert pca.scores.index.equals(p.rows)
    assert list(pca.missing_rows) == [frame.index[5]]
    fa = robust_factors(p, 3)
    assert fa.scores.index.equals(p.rows)
    assert list(fa.loadings.index) == KOLA_PARTS


# --- varimax and factors ---------------------------------------------------------------------

def test_raw_varimax_equals_sklearn() -> None:
    rng = np.random.default_rng(2)
    loadings = rng.normal(size=(12, 3))
    ours, rotation = varimax(loadings, normalize=False, tol=1e-6, max_iter=100)
    theirs = _ortho_rotation(loadings, "varimax", tol=1e-6, max_iter=100).T
    np.testing.assert_allclose(ours, theirs, atol=1e-10)
    np.testing.assert_allclose(rotation @ rotation.T, np.eye(3), atol=1e-12)


def test_kaiser_varimax_is_varimax_of_the_row_normalised_loadings() -> None:
    rng = np.random.default_rng(3)
    loadings = rng.normal(size=(10, 2)) * rng.uniform(0.2, 2, size=(10, 1))
    h = np.sqrt((loadings ** 2).sum(axis=1, keepdims=True))
    theirs = _ortho_rotation(loadings / h, "varimax", tol=1e-6, max_iter=1000).T * h
    np.testing.assert_allclose(varimax(loadings)[0], theirs, atol=1e-10)
    # communalities are kept by any orthogonal rotation
    np.testing.assert_allclose((varimax(loadings)[0] ** 2).sum(axis=1), h[:, 0] ** 2)


@pytest.fixture(scope="module")
def factors(survey: pd.DataFrame):
    return survey, robust_factors(survey, 3, rotation="none", tol=1e-8, max_iter=500)


def test_factor_correlation_is_the_robust_clr_correlation(factors) -> None:
    survey, fa = factors
    cov, _ = independent_clr_covariance(survey.to_numpy(dtype=float), seed=0)
    sd = np.sqrt(np.diag(cov))
    np.testing.assert_allclose(fa.correlation, cov / np.outer(sd, sd), atol=1e-9)


def test_factors_solve_the_principal_factor_equations(factors) -> None:
    """At convergence: Λ are the 3 leading eigenpairs of R − H diag(ψ) H, ψ = 1 − ΣΛ²."""
    _, fa = factors
    assert fa.converged
    r = fa.correlation
    d = len(r)
    h = np.eye(d) - 1 / d
    lam = fa.loadings.to_numpy()
    psi = 1 - (lam ** 2).sum(axis=1)
    values, vectors = np.linalg.eigh(r - h @ np.diag(psi) @ h)
    top = vectors[:, -3:][:, ::-1] * np.sqrt(values[-3:][::-1])
    np.testing.assert_allclose(np.abs(lam), np.abs(top), atol=1e-5)
    np.testing.assert_allclose(fa.uniquenesses, np.diag(h @ np.diag(psi) @ h), atol=1e-6)
    np.testing.assert_allclose(fa.communalities, (lam ** 2).sum(axis=1))


def test_rotation_keeps_communalities_and_orders_factors(factors) -> None:
    survey, unrotated = factors
    fa = robust_factors(survey, 3, tol=1e-8, max_iter=500)
    np.testing.assert_allclose(fa.communalities, unrotated.communalities, atol=1e-8)
    ssq = (fa.loadings ** 2).sum(axis=0).to_numpy()
    assert (np.diff(ssq) <= 1e-12).all()
    assert (fa.loadings.sum(axis=0) > 0).all()
    np.testing.assert_allclose(fa.explained, ssq / len(fa.parts))


def test_simulated_factors_and_their_scores_are_recovered() -> None:
    """Two latent variables drive three parts each; three more parts are noise."""
    rng = np.random.default_rng(5)
    n = 500
    f = rng.normal(size=(n, 2))
    logx = np.hstack([f[:, [0]] + 0.2 * rng.normal(size=(n, 3)),
                      f[:, [1]] + 0.2 * rng.normal(size=(n, 3)),
                      0.2 * rng.normal(size=(n, 3))])
    x = np.exp(logx + np.linspace(0, 4, 9))
    x[:15, 0] *= 50  # a few contaminated samples
    fa = robust_factors(x, 2)
    big = fa.loadings.abs().idxmax(axis=1).tolist()
    assert big == ["F1"] * 6 + ["F2"] * 3
    # in clr space the first factor is the contrast of the two latent variables
    contrast = f[:, 0] - f[:, 1]
    r = np.corrcoef(fa.scores["F1"].to_numpy()[15:], contrast[15:])[0, 1]
    assert abs(r) > 0.95


@pytest.mark.parametrize(("n_factors", "rotation", "message"), [
    (0, "varimax", "allow 1 to"),
    (11, "varimax", "allow 1 to"),
    (2, "promax", "unknown rotation"),
])
def test_bad_factor_requests_are_refused(n_factors, rotation, message) -> None:
    survey = np.exp(np.random.default_rng(0).normal(size=(30, 12)))
    with pytest.raises(CompositionError, match=message):
        robust_factors(survey, n_factors, rotation=rotation)
