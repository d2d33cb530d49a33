"""``chemearth analytics``: every command's output equals the core function it calls, on a
small store of real surveys (Kola C-horizon and its field duplicates, Meuse, the Baltic Soil
Survey's two layers), and bad input fails with one line naming what is wrong."""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from chemearth.cli import cli, main

#: Datasets of the store (ingested in about two seconds).
DATASETS = ("kola-chorizon", "kola-chorizon-field-duplicates", "meuse", "bss-top",
            "bss-bottom")
#: A subcomposition of the Kola C-horizon.
PARTS = ["Cu", "Ni", "Co", "Cr", "Zn", "Pb"]
#: Agreement of the printed figures (pandas writes JSON with 10 significant digits).
REL = 1e-9


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, data_dir: Path, boundaries: Path):
    from chemearth.errors import ChemearthWarning
    from chemearth.ingest.descriptor import load_descriptor
    from chemearth.ingest.pipeline import ingest
    from chemearth.ingest.shipped import shipped_descriptor
    from chemearth.store import open_store

    s = open_store(tmp_path_factory.mktemp("analytics-cli"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ChemearthWarning)
        for ds in DATASETS:
            ingest(s, load_descriptor(shipped_descriptor(ds)), data_dir=data_dir,
                   boundaries=boundaries)
    return s


@pytest.fixture(scope="module")
def home(store) -> str:
    return str(store.home)


def _run(args: list[str], home: str) -> str:
    r = CliRunner().invoke(cli, ["analytics", *args, "--home", home])
    assert r.exit_code == 0, r.output
    return r.output


def _json(args: list[str], home: str) -> list[dict]:
    return json.loads(_run([*args, "--format", "json"], home))


def _surface(store, dataset: str, element: str, level: str | None = None):
    from chemearth.assess.anomalies import surface
    from chemearth.store.selectors import element_values

    m, meth = element_values(store, dataset, element)
    return surface(m, variable=element, level=level, method=meth)


def _composition(store, dataset: str, elements: list[str]):
    """Values and censored flags of ``elements``, one column each, by sample id."""
    from chemearth.store.selectors import element_values

    v, c = {}, {}
    for el in elements:
        m = element_values(store, dataset, el)[0].set_index("sample_id")
        v[el], c[el] = m["value"], m["censored"].astype(bool)
    return pd.DataFrame(v), pd.DataFrame(c)


# ------------------------------------------------------------------ fractal


def test_fractal_ca_thresholds_equal_the_core(store, home: str) -> None:
    from chemearth.assess.fractal_zones import concentration_area_of

    got = _json(["fractal", "kola-chorizon", "Cu", "--level", "20km"], home)
    fit = concentration_area_of(_surface(store, "kola-chorizon", "Cu", "20km"))
    np.testing.assert_allclose([r["threshold"] for r in got], fit.thresholds, rtol=REL)
    np.testing.assert_allclose([r["threshold_low"] for r in got], fit.threshold_low,
                               rtol=REL)
    np.testing.assert_allclose([r["slope_above"] for r in got], fit.exponents[1:], rtol=REL)


def test_fractal_cn_bootstrap_equals_the_core(store, home: str) -> None:
    from chemearth.stats.fractal import bootstrap_thresholds, concentration_number
    from chemearth.store.selectors import element_values

    got = _json(["fractal", "kola-chorizon", "As", "--kind", "C-N", "--breakpoints", "1",
                 "--bootstrap", "20", "--seed", "3"], home)
    m, _ = element_values(store, "kola-chorizon", "As")
    v, c = m["value"].to_numpy(float), m["censored"].to_numpy(bool)
    fit = concentration_number(v, c, n_breakpoints=1)
    boot = bootstrap_thresholds(v, c, n_breakpoints=1, n_boot=20, seed=3)
    assert len(got) == 1
    assert got[0]["threshold"] == pytest.approx(float(fit.thresholds[0]), rel=REL)
    assert got[0]["boot_low"] == pytest.approx(float(boot.low[0]), rel=REL)
    assert got[0]["boot_high"] == pytest.approx(float(boot.high[0]), rel=REL)


def test_fractal_curve_and_notes(store, home: str) -> None:
    from chemearth.assess.fractal_zones import concentration_area_of

    got = pd.read_csv(io.StringIO(_run(["fractal", "kola-chorizon", "Cu", "--level", "20km",
                                        "--curve", "--format", "csv"], home)))
    fc = concentration_area_of(_surface(store, "kola-chorizon", "Cu", "20km")).curve
    np.testing.assert_allclose(got["measure"], fc.measure)
    assert got["fitted"].tolist() == fc.fitted.tolist()
    text = _run(["fractal", "kola-chorizon", "Cu", "--level", "20km"], home)
    assert "cells of 20 km on the europe grid" in text
    assert "a lower bound" in text


def test_spectrum_area_cells_equal_the_core(store, home: str) -> None:
    from chemearth.assess.fractal_zones import surface_raster
    from chemearth.stats.fractal import spectrum_area

    surf = _surface(store, "kola-chorizon", "Cu", "20km")
    r = surface_raster(surf)
    sa = spectrum_area(r.values, spacing=20.0)
    got = pd.DataFrame(_json(["spectrum-area", "kola-chorizon", "Cu", "--level", "20km"],
                             home)).set_index("cell_id")
    keys = dict(zip(r.keys.ravel().tolist(), range(r.keys.size), strict=True))
    pos = [keys[k] for k in surf.cells["cell"]]
    want = pd.DataFrame({"anomaly": sa.anomaly.ravel()[pos],
                         "background": sa.background.ravel()[pos]},
                        index=surf.cells["cell_id"])
    assert len(got) == len(want)
    np.testing.assert_allclose(got.loc[want.index, ["anomaly", "background"]], want,
                               rtol=REL, atol=1e-9)
    np.testing.assert_allclose(got["anomaly"] + got["background"], got["value"], rtol=1e-9)
    text = _run(["spectrum-area", "kola-chorizon", "Cu", "--level", "20km"], home)
    assert f"S0 = {sa.energy_threshold:.6g}" in text


def test_singularity_equals_the_core(store, home: str, tmp_path: Path) -> None:
    from chemearth.assess.fractal_zones import surface_raster
    from chemearth.stats.fractal import singularity

    surf = _surface(store, "kola-chorizon", "Cu", "20km")
    r = surface_raster(surf)
    s = singularity(r.values, windows=(1, 3, 5))
    out = tmp_path / "alpha.geojson"
    _run(["singularity", "kola-chorizon", "Cu", "--level", "20km", "--windows", "1,3,5",
          "-o", str(out)], home)
    feats = json.loads(out.read_text())["features"]
    got = pd.Series({f["properties"]["cell_id"]: f["properties"]["alpha"] for f in feats},
                    dtype=float)
    keys = dict(zip(r.keys.ravel().tolist(), range(r.keys.size), strict=True))
    want = pd.Series(s.alpha.ravel()[[keys[k] for k in surf.cells["cell"]]],
                     index=surf.cells["cell_id"])
    np.testing.assert_allclose(got.loc[want.index], want, rtol=REL)
    assert feats[0]["geometry"]["type"] == "Polygon"


# ------------------------------------------------------------------ zones


def test_zones_geojson_equals_the_core(store, home: str, tmp_path: Path) -> None:
    from chemearth.assess.fractal_zones import concentration_area_of, zone_polygons

    path = tmp_path / "zones.geojson"
    _run(["zones", "kola-chorizon", "Cu", "--level", "20km", "-o", str(path)], home)
    doc = json.loads(path.read_text())
    surf = _surface(store, "kola-chorizon", "Cu", "20km")
    want = zone_polygons(surf, float(concentration_area_of(surf).thresholds[0]))
    props = [f["properties"] for f in doc["features"]]
    assert [p["name"] for p in props] == want["name"].tolist()
    assert [p["n_cells"] for p in props] == want["n_cells"].tolist()
    np.testing.assert_allclose([p["lower"] for p in props], want["lower"], rtol=REL)
    assert {f["geometry"]["type"] for f in doc["features"]} <= {"Polygon", "MultiPolygon"}


def test_zone_cells_at_a_given_threshold(store, home: str) -> None:
    from chemearth.assess.fractal_zones import zone_layer

    got = pd.read_csv(io.StringIO(_run(["zones", "kola-chorizon", "Ni", "--threshold", "30",
                                        "--level", "20km", "--cells", "--format", "csv"],
                                       home)))
    want = zone_layer(_surface(store, "kola-chorizon", "Ni", "20km"), 30.0)
    assert got["zone"].tolist() == want["zone"].tolist()
    assert got["cell_id"].tolist() == want["cell_id"].tolist()


def test_composite_anomaly_equals_the_core(store, home: str) -> None:
    from chemearth.assess.anomalies import threshold_of
    from chemearth.assess.fractal_zones import composite_anomalies

    got = pd.read_csv(io.StringIO(_run(
        ["zones", "kola-chorizon", "Cu", "--composite", "Ni,Co", "--threshold", "tukey",
         "--level", "20km", "--cells", "--format", "csv"], home)))
    layers = {}
    for el in ("Cu", "Ni", "Co"):
        s = _surface(store, "kola-chorizon", el, "20km")
        layers[el] = (s, threshold_of(s.samples["value"].to_numpy(float),
                                      s.samples["censored"].to_numpy(bool), method="tukey"))
    want = composite_anomalies(layers).cells
    for col in ("cell_id", "zone_Cu", "zone_Ni", "zone_Co", "score", "count"):
        assert got[col].tolist() == want[col].tolist(), col


# ------------------------------------------------------------------ compositions


def test_robust_pca_equals_the_core(store, home: str) -> None:
    from chemearth.stats.compositional import parts_of
    from chemearth.stats.compositional_factors import robust_pca

    got = pd.DataFrame(_json(["compositional", "kola-chorizon", ",".join(PARTS)], home))
    got = got.set_index("element")
    v, c = _composition(store, "kola-chorizon", PARTS)
    pca = robust_pca(parts_of(v, PARTS, c))
    np.testing.assert_allclose(got.loc["explained"].to_numpy(float), pca.explained,
                               rtol=REL)
    np.testing.assert_allclose(got.loc[PARTS].to_numpy(float), pca.loadings.to_numpy(),
                               atol=REL)


def test_robust_factors_and_outliers_equal_the_core(store, home: str, tmp_path: Path) -> None:
    from chemearth.stats.compositional import parts_of, robust_distances
    from chemearth.stats.compositional_factors import robust_factors

    v, c = _composition(store, "kola-chorizon", PARTS)
    parts = parts_of(v, PARTS, c)
    got = pd.DataFrame(_json(["compositional", "kola-chorizon", ",".join(PARTS),
                              "--factors", "2"], home)).set_index("element")
    fa = robust_factors(parts, 2)
    np.testing.assert_allclose(got[["F1", "F2"]].to_numpy(float), fa.loadings.to_numpy(),
                               atol=REL)
    np.testing.assert_allclose(got["uniqueness"], fa.uniquenesses, atol=REL)
    path = tmp_path / "outliers.geojson"
    _run(["compositional", "kola-chorizon", ",".join(PARTS), "--outliers", "-o", str(path)],
         home)
    feats = json.loads(path.read_text())["features"]
    rd = robust_distances(parts).samples
    mine = {str(f["properties"]["sample_id"]): f["properties"] for f in feats}
    assert len(mine) == len(rd)
    np.testing.assert_allclose([mine[str(i)]["robust_distance"] for i in rd.index],
                               rd["robust_distance"], rtol=REL)
    assert sum(p["outlier"] for p in mine.values()) == int(rd["outlier"].sum())
    assert feats[0]["geometry"]["type"] == "Point"


def test_spider_medians_equal_the_core(store, home: str) -> None:
    from chemearth.stats.spider import normalise

    got = pd.DataFrame(_json(["spider", "kola-chorizon", "--reference", "UCC"], home))
    els = ["La", "Ce", "Nd", "Sm", "Eu", "Tb", "Yb", "Lu"]  # the REE Kola's INAA gives
    assert got["element"].tolist() == [*els, "Eu/Eu*", "Ce/Ce*"]
    v, c = _composition(store, "kola-chorizon", els)
    want = normalise(v, "UCC", censored=c)
    np.testing.assert_allclose(got["median"], want.median().to_numpy(), rtol=REL)
    assert got["n"].tolist() == want.notna().sum().tolist()


# ------------------------------------------------------------------ probabilities


def test_probability_counts_equal_the_core(store, home: str) -> None:
    from chemearth.assess.probabilistic import screen_dataset

    got = _json(["probability", "kola-chorizon", "Cu", "--limit", "20", "--grid", "europe",
                 "--level", "20km", "--counts"], home)
    want = screen_dataset(store, "kola-chorizon", "Cu", "europe", "20km", limit=20.0)
    assert [r["n"] for r in got] == want.counts()["n"].tolist()
    assert sum(r["n"] for r in got) == len(want.frame)


def test_probability_cells_geojson(store, home: str, tmp_path: Path) -> None:
    from chemearth.assess.probabilistic import screen_dataset

    path = tmp_path / "p.geojson"
    _run(["probability", "kola-chorizon", "Ni", "--standard", "gb15618-2018", "--grid",
          "europe", "--level", "20km", "--no-qc", "-o", str(path)], home)
    feats = json.loads(path.read_text())["features"]
    want = screen_dataset(store, "kola-chorizon", "Ni", "europe", "20km",
                          standard="gb15618-2018", precision=None)
    np.testing.assert_allclose([f["properties"]["probability"] for f in feats],
                               want.frame["probability"], rtol=REL)
    assert feats[0]["geometry"]["type"] == "Polygon"


def test_calibration_table_equals_the_core(store, home: str) -> None:
    from chemearth.assess.calibration import calibration
    from chemearth.assess.probabilistic import precision_of
    from chemearth.interp.projections import local_crs, to_local
    from chemearth.store.selectors import element_values

    got = _json(["probability", "kola-chorizon", "Cu", "--limit", "20", "--calibrate",
                 "--folds", "4"], home)
    m, meth = element_values(store, "kola-chorizon", "Cu")
    lon, lat = m["longitude"].to_numpy(float), m["latitude"].to_numpy(float)
    x, y = to_local(local_crs(lon, lat), lon, lat)
    want = calibration(x, y, m["value"], censored=m["censored"], limit=20.0, folds=4,
                       precision=precision_of(store, "kola-chorizon", "Cu", meth)).table
    assert [r["bin"] for r in got] == want["bin"].tolist()
    assert [r["n"] for r in got] == want["n"].tolist()
    assert [r["exceeding"] for r in got] == want["exceeding"].tolist()


# ------------------------------------------------------------------ change and trend


def test_change_significance_equals_the_core(store, home: str) -> None:
    from chemearth.assess.change_significance import change_significance_frames
    from chemearth.store.selectors import element_values

    got = pd.read_csv(io.StringIO(_run(["change-significance", "bss-bottom", "bss-top", "Pb",
                                        "--level", "160km", "--format", "csv"], home)))
    b, _ = element_values(store, "bss-bottom", "Pb")
    a, _ = element_values(store, "bss-top", "Pb")
    want = change_significance_frames(b, a, level="160km",
                                      same_sites="bss-bottom same_sites_as bss-top",
                                      names=("bss-bottom", "bss-top"))
    assert got["cell_id"].tolist() == want["cell_id"].tolist()
    assert got["direction"].tolist() == want["direction"].tolist()
    np.testing.assert_allclose(got["q_value"], want["q_value"], rtol=REL)
    assert (got["pairing_rule"] == "declared (bss-bottom same_sites_as bss-top): paired by "
            "sample id").all()


def test_trend_equals_ats(store, home: str) -> None:
    from chemearth.stats.trends import ats_slope
    from chemearth.store.selectors import element_values

    got = _json(["trend", "meuse", "Zn", "--against", "dist"], home)[0]
    m, _ = element_values(store, "meuse", "Zn")
    attrs = store.samples("meuse").set_index("sample_id")["attributes"].map(json.loads)
    dist = m["sample_id"].map(attrs.map(lambda a: a["dist"])).to_numpy(float)
    want = ats_slope(dist, m["value"].to_numpy(float), m["censored"].to_numpy(bool))
    assert got["slope"] == pytest.approx(want.slope, rel=REL)
    assert got["intercept"] == pytest.approx(want.intercept, rel=REL)
    assert got["p_value"] == pytest.approx(want.p_value, rel=REL)
    assert got["n"] == 155
    assert got["slope"] < 0  # zinc falls away from the river


# ------------------------------------------------------------------ errors


@pytest.mark.parametrize(("args", "message"), [
    (["fractal", "nowhere", "Cu"], "'nowhere'"),
    (["fractal", "meuse", "Au"], "dataset 'meuse' holds no analyses of 'Au'"),
    (["trend", "meuse", "Zn", "--against", "depth"], "dataset 'meuse' has no column 'depth'"),
    (["compositional", "meuse", "Cu,Zn"], "at least 3 elements"),
    (["probability", "meuse", "Zn", "--limit", "5", "--standard", "ccme-2007"],
     "either --limit or --standard"),
    (["zones", "kola-chorizon", "Cu", "--composite", "Ni", "--threshold", "40"],
     "a threshold per element"),
    (["zones", "kola-chorizon", "Cu", "--threshold", "p200"], "'p200'"),
    (["spider", "meuse"], "dataset 'meuse' holds no rare earth element"),
    (["singularity", "meuse", "Zn", "--windows", "1,2"], "ascending odd"),
])
def test_bad_input_is_one_line_naming_it(home: str, capsys: pytest.CaptureFixture[str],
                                         args: list[str], message: str) -> None:
    with pytest.raises(SystemExit) as info:
        main(["analytics", *args, "--home", home])
    assert info.value.code != 0
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
