"""Regional baselines on real data, checked against numpy/scipy computed here."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import scipy.stats
import shapely

from chemearth.errors import NotFoundError
from chemearth.grid.geometry import get_grid
from chemearth.stats.baselines import RegionError, baseline, baseline_of, parse_region


def _values(store, dataset: str, element: str):
    return store.measurements(dataset, elements=[element]).dropna(subset=["value"])


def test_country_baseline_equals_numpy_and_hand_thresholds(grid_store) -> None:
    b = baseline(grid_store, "Ni", "country:NO", dataset="kola-humus")
    assert len(b) == 1
    row = b.iloc[0]
    m = _values(grid_store, "kola-humus", "Ni")
    v = m.loc[m["country"].astype(str) == "NO", "value"].to_numpy(dtype=float)
    assert row["n"] == len(v) == 137
    for q, name in ((5, "p5"), (25, "p25"), (50, "median"), (75, "p75"), (95, "p95"), (98, "p98")):
        assert row[name] == pytest.approx(np.percentile(v, q), rel=1e-12)
    # Tukey inner fence on log10: Q3 + 1.5 IQR of the logs, back-transformed
    q1, q3 = np.percentile(np.log10(v), [25, 75])
    assert row["tukey_upper"] == pytest.approx(10 ** (q3 + 1.5 * (q3 - q1)), rel=1e-12)
    # median + 2 MAD on log10, MAD scaled by 1.4826
    lg = np.log10(v)
    mad = 1.4826 * np.median(np.abs(lg - np.median(lg)))
    assert row["mad2_upper"] == pytest.approx(10 ** (np.median(lg) + 2 * mad), rel=1e-12)
    # upper limit of baseline variation: P75 + 1.5 IQR, capped at the maximum (n >= 30)
    p25, p75 = np.percentile(v, [25, 75])
    assert row["ubv"] == pytest.approx(min(p75 + 1.5 * (p75 - p25), v.max()), rel=1e-12)
    assert row["class_p90"] == pytest.approx(np.percentile(v, 90), rel=1e-12)
    assert row["gmean"] == pytest.approx(scipy.stats.gmean(v), rel=1e-12)


def test_censored_baseline_kaplan_meier_matches_scipy(grid_store) -> None:
    """DS-801 arsenic has 56 values below 0.6 mg/kg: the KM median is checked against
    ``scipy.stats.ecdf`` on left-censored data (an independent Kaplan-Meier)."""
    b = baseline(grid_store, "As", dataset="usgs-ds801-top5")
    row = b.iloc[0]
    m = _values(grid_store, "usgs-ds801-top5", "As")
    v = m["value"].to_numpy(dtype=float)
    c = m["censored"].to_numpy(dtype=bool)
    assert row["n_censored"] == c.sum() == 56
    # scipy's KM takes right-censored data: flip (Helsel 2012), t = M - x
    flip = v.max() + 1.0
    data = scipy.stats.CensoredData(uncensored=flip - v[~c], right=flip - v[c])
    sf = scipy.stats.ecdf(data).sf
    detects = np.unique(v[~c])
    cdf = sf.evaluate(flip - detects - 1e-9)  # P(X <= x) = P(T >= M - x)
    km_median = float(detects[np.argmax(cdf >= 0.5 - 1e-12)])
    assert row["km_median"] == pytest.approx(km_median)
    assert row["km_median"] == 5.2  # the median published with DS-801 (data README)
    assert row["max_dl"] == pytest.approx(0.6)


def test_grouping_by_an_attribute_splits_the_samples(grid_store) -> None:
    b = baseline(grid_store, "Pb", dataset="usgs-ds801-top5", by=["LandCover1"])
    whole = baseline(grid_store, "Pb", dataset="usgs-ds801-top5")
    assert b["n"].sum() == whole["n"].iloc[0]
    assert {"Forested Upland", "Planted/Cultivated"} <= set(b["LandCover1"])
    m = grid_store.measurements("usgs-ds801-top5", elements=["Pb"])
    s = grid_store.samples("usgs-ds801-top5")
    cover = {
        i: json.loads(a).get("LandCover1")
        for i, a in zip(s["sample_index"], s["attributes"], strict=True)
    }
    m = m.assign(cover=m["sample_index"].map(cover))
    forest = m.loc[m["cover"] == "Forested Upland", "value"].to_numpy(dtype=float)
    row = b.set_index("LandCover1").loc["Forested Upland"]
    assert row["n"] == len(forest)
    assert row["median"] == pytest.approx(np.median(forest))


def test_regions_select_the_same_samples_every_way(grid_store, tmp_path: Path) -> None:
    w, s, e, n = 25.0, 67.0, 31.0, 70.0
    by_box = baseline(grid_store, "Cu", f"bbox:{w},{s},{e},{n}", dataset="kola-humus")
    poly = tmp_path / "box.geojson"
    poly.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {},
                        "geometry": shapely.geometry.mapping(shapely.box(w, s, e, n)),
                    }
                ],
            }
        )
    )
    by_polygon = baseline(grid_store, "Cu", f"polygon:{poly}", dataset="kola-humus")
    assert by_box["n"].iloc[0] == by_polygon["n"].iloc[0] > 50
    assert by_box["median"].iloc[0] == by_polygon["median"].iloc[0]
    m = _values(grid_store, "kola-humus", "Cu")
    inside = m["longitude"].between(w, e) & m["latitude"].between(s, n)
    assert by_box["n"].iloc[0] == inside.sum()


def test_cell_region_equals_the_stored_cell(grid_store) -> None:
    cells = grid_store.cells(dataset_id="kola-humus", element="Cu", level_m=80_000)
    top = cells.sort_values("n").iloc[-1]
    b = baseline(grid_store, "Cu", f"cell:{top['cell_id']}", dataset="kola-humus").iloc[0]
    assert b["n"] == top["n"]
    assert b["median"] == top["median"]
    assert b["p95"] == pytest.approx(top["p95"])
    europe = get_grid("europe")
    s = grid_store.samples("kola-humus").iloc[0]
    cid = europe.key_to_id(europe.cell_keys([s["longitude"]], [s["latitude"]], 10_000))[0]
    assert baseline(grid_store, "Cu", f"cell:{cid}", dataset="kola-humus")["n"].iloc[0] >= 1


def test_country_region_across_datasets_keeps_datasets_apart(grid_store) -> None:
    b = baseline(grid_store, "Cu", "country:FI")
    assert {"kola-humus", "kola-chorizon"} <= set(b["dataset_id"])
    assert b.groupby(["dataset_id", "medium", "method"]).size().max() == 1


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("Finland", "write country:CODE"),
        ("country:FIN", "alpha-2"),
        ("bbox:1,2,3", "four numbers"),
        ("bbox:10,60,5,70", "W < E"),
        ("planet:earth", "unknown kind"),
        ("polygon:/nonexistent/area.gpkg", "does not exist"),
    ],
)
def test_bad_regions_are_explained(spec: str, message: str) -> None:
    with pytest.raises(RegionError, match=message):
        parse_region(spec)


def test_bad_cell_and_missing_data(grid_store) -> None:
    with pytest.raises(RegionError, match="not a cell id"):
        baseline(grid_store, "Cu", "cell:G10km-X1-Y2", dataset="kola-humus")
    with pytest.raises(NotFoundError, match="no analyses of 'Cu' in country AU"):
        baseline(grid_store, "Cu", "country:AU", dataset="kola-humus")
    with pytest.raises(NotFoundError, match="not in the store"):
        baseline(grid_store, "Cu", dataset="atlantis")


def test_ubv_needs_thirty_samples_and_fences_on_a_hand_example() -> None:
    # 1, 10, 100, 1000, 10000: log10 quartiles 1 and 3, IQR 2, upper fence 10**6
    b = baseline_of(np.array([1.0, 10.0, 100.0, 1000.0, 10000.0]), np.zeros(5, bool))
    assert b["tukey_upper"] == pytest.approx(1e6)
    assert b["ubv"] is None
    assert b["median"] == 100.0
