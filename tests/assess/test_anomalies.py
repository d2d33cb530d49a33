"""Anomaly thresholds, targets and multi-element signatures on the Kola surveys."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely

from chemearth.assess.anomalies import (
    AnomalyError,
    Surface,
    clr,
    ilr,
    signatures,
    surface,
    targets,
    threshold_of,
)
from chemearth.grid.geometry import EUROPE
from chemearth.stats.baselines import baseline_of
from chemearth.store.selectors import element_values

#: The nickel smelters of the Kola Peninsula (longitude, latitude).
SMELTERS = {"Nikel": (30.22, 69.41), "Monchegorsk": (32.92, 67.94)}
GEOD = pyproj.Geod(ellps="WGS84")


def _km_to_nearest_smelter(lon: float, lat: float) -> float:
    return min(GEOD.inv(lon, lat, *xy)[2] / 1000 for xy in SMELTERS.values())


@pytest.mark.parametrize("element", ["Ni", "Cu"])
@pytest.mark.parametrize("method", ["tukey", "p85", "p95", "mad2"])
def test_kola_top_anomalies_sit_at_the_smelters(demo_store, element: str, method: str) -> None:
    m, _ = element_values(demo_store.store, "kola-humus", element)
    surf = surface(m, variable=element)
    thr = threshold_of(m["value"].to_numpy(), m["censored"].to_numpy(), method=method)
    t = targets(surf, thr)
    for _, top in t.head(2).iterrows():  # the two best targets: one per smelter
        assert _km_to_nearest_smelter(top["peak_longitude"], top["peak_latitude"]) < 30
    near = {name: min(GEOD.inv(r.peak_longitude, r.peak_latitude, *xy)[2] / 1000
                      for r in t.head(2).itertuples()) for name, xy in SMELTERS.items()}
    assert max(near.values()) < 30, near
    assert t["rank"].tolist() == list(range(1, len(t) + 1))
    assert t["productivity"].is_monotonic_decreasing


def test_thresholds_equal_the_baseline_methods() -> None:
    x = np.random.default_rng(0).lognormal(3, 0.5, 400)
    c = np.zeros(400, bool)
    b = baseline_of(x, c)
    assert threshold_of(x, c, method="tukey") == b["tukey_upper"]
    assert threshold_of(x, c, method="mad2") == b["mad2_upper"]
    assert threshold_of(x, c, method="p85") == pytest.approx(np.percentile(x, 85))
    with pytest.raises(AnomalyError, match="unknown threshold method"):
        threshold_of(x, c, method="p85x")


def _surface(values: dict[str, float]) -> Surface:
    keys = EUROPE.id_to_key(list(values))
    cells = pd.DataFrame({"cell": keys, "cell_id": list(values), "n": 1,
                          "value": list(values.values()), "max": list(values.values())})
    lon, lat = EUROPE.cell_centres(keys)
    samples = pd.DataFrame({"sample_id": list(values), "longitude": lon, "latitude": lat,
                            "value": list(values.values()), "censored": False, "cell": keys})
    return Surface(EUROPE, 10_000, "Cu", "mg/kg", cells, samples)


def test_targets_on_a_known_surface() -> None:
    surf = _surface({
        "10kmE500N400": 100.0, "10kmE501N400": 300.0, "10kmE502N400": 5.0,  # target A
        "10kmE505N400": 50.0, "10kmE506N401": 60.0,  # B: diagonal neighbours
        "10kmE510N400": 1.0, "10kmE511N400": 2.0,
    })
    t8 = targets(surf, 40.0)
    assert t8["n_cells"].tolist() == [2, 2]
    a = t8.iloc[0]
    background = np.median([100, 300, 5, 50, 60, 1, 2])
    assert a["area_km2"] == 200.0
    assert a["mean"] == 200.0
    assert a["productivity"] == pytest.approx(200.0 * (200.0 - background))
    assert a["peak"] == 300.0
    assert a["contrast"] == pytest.approx(5.0)
    assert a["cells"] == "10kmE500N400,10kmE501N400"
    # the outline is the two cells: its area in the grid's equal-area CRS is 200 km²
    to_laea = pyproj.Transformer.from_crs("EPSG:4326", EUROPE.crs, always_xy=True)
    poly = shapely.transform(a["geometry"], lambda xy: np.column_stack(
        to_laea.transform(xy[:, 0], xy[:, 1])))
    assert poly.area / 1e6 == pytest.approx(200.0, rel=1e-3)
    assert len(targets(surf, 40.0, connectivity=4)) == 3  # B splits at the corner
    assert targets(surf, 1000.0).empty


def test_association() -> None:
    cu = _surface({"10kmE500N400": 100.0, "10kmE501N400": 300.0, "10kmE505N400": 80.0})
    ni = _surface({"10kmE500N400": 900.0, "10kmE501N400": 700.0, "10kmE505N400": 10.0})
    t = targets(cu, 50.0, associated={"Ni": (ni, 500.0)}).set_index("cells")
    assert t.loc["10kmE500N400,10kmE501N400", "association"] == "Ni"
    assert t.loc["10kmE505N400", "association"] == ""


def test_log_ratios() -> None:
    x = np.random.default_rng(1).lognormal(2, 1, (50, 5))
    c = clr(x)
    assert np.allclose(c.sum(axis=1), 0)
    assert np.allclose(clr(x * 7.3), c)  # scale invariant
    z = ilr(x)
    # an orthonormal basis: Aitchison distances equal Euclidean distances of coordinates
    d_clr = np.linalg.norm(c[0] - c[1])
    assert np.linalg.norm(z[0] - z[1]) == pytest.approx(d_clr)


def test_signatures_find_the_smelter_sites(demo_store) -> None:
    s = signatures(demo_store.store, "kola-humus", ["Ni", "Cu", "Co", "Fe", "Mn", "Zn", "Pb"],
                   index_elements=["Ni", "Cu", "Co"])
    top = s.samples.sort_values("index", ascending=False).head(10)
    near = [_km_to_nearest_smelter(r.longitude, r.latitude) < 30 for r in top.itertuples()]
    assert near[:5] == [True] * 5
    assert sum(near) >= 8
    assert s.samples.loc[top.index, "outlier"].all()
    # robust distances: the cut-off flags a small share of an ordinary population
    assert 0.02 < s.samples["outlier"].mean() < 0.3
    assert s.cutoff == pytest.approx(np.sqrt(14.449), rel=1e-3)  # chi2(0.975, 6)
    with pytest.raises(AnomalyError, match="at least 3"):
        signatures(demo_store.store, "kola-humus", ["Ni", "Cu"])


def test_robust_distance_is_affine_invariant(demo_store) -> None:
    """The MCD distance of a composition does not depend on the ilr basis."""
    from sklearn.covariance import MinCovDet

    s = signatures(demo_store.store, "kola-humus", ["Ni", "Cu", "Co", "Fe"])
    c = s.samples[[f"clr_{e}" for e in ["Ni", "Cu", "Co", "Fe"]]].to_numpy()
    q, _ = np.linalg.qr(np.random.default_rng(2).normal(size=(3, 3)))
    other = ilr(np.exp(c)) @ q  # another orthonormal basis of the same simplex
    mcd = MinCovDet(random_state=0).fit(other)
    d = np.sqrt(mcd.mahalanobis(other))
    assert np.corrcoef(d, s.samples["robust_distance"])[0, 1] > 0.99
