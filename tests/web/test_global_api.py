"""The global (pooled) routes over real surveys: ``/api/global`` and the layer routes of
``pooled:public``, against independent computations.

The store is a copy of the session's grid store with the Baltic Soil Survey's top layer
added (``bss-top``, relabelled as an organisation's, "NGU"), so that some 160 km cells of
the topsoil layers pool two surveys (BSS and GEMAS in Scandinavia and the Baltic). The
public pooled layers are built once on the global grid at 160 and 40 km (for a few
elements), NGU's own at 160 km.

Every expectation is computed here from ``store.measurements`` / ``store.samples``, the
grid's cell keys, pandas and numpy (and, for coverage and resources, the land of
:func:`chemearth.grid.coverage.land_parts`); the standard's limits are written out.
"""

from __future__ import annotations

import dataclasses
import io
import shutil
import warnings
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest
from tests.web.conftest import _with_policy

from chemearth.access.gateway import Gateway
from chemearth.access.pooling import sources_for
from chemearth.errors import ChemearthWarning
from chemearth.grid.coverage import coverage, land_parts
from chemearth.grid.geometry import get_grid
from chemearth.grid.pooled import build_pooled, pooled_cells

ORG = "NGU"
TOPSOIL = ("bss-top", "gemas", "usgs-ds801-top5")
#: element -> the surveys whose topsoil "total" column enters (from the descriptors: GEMAS
#: has XRF Cr, V, Zn but no Pb or As; BSS XRF and DS-801 four-acid/fusion have them all)
MEMBERS = {
    "Zn": set(TOPSOIL),
    "Cr": set(TOPSOIL),
    "Pb": {"bss-top", "usgs-ds801-top5"},
    "As": {"bss-top", "usgs-ds801-top5"},
    "Co": {"bss-top", "usgs-ds801-top5"},
}
#: GB 15618-2018 Table 1, risk-screening values for land use "other" (mg/kg), by pH band
#: (pH <= 5.5, 5.5-6.5, 6.5-7.5, > 7.5); GB 36600-2018 first class (mg/kg), any pH
GB15618_OTHER = {"Zn": (200.0, 200.0, 250.0, 300.0), "Cr": (150.0, 150.0, 200.0, 250.0),
                 "Pb": (70.0, 90.0, 120.0, 170.0), "As": (40.0, 40.0, 30.0, 25.0)}
GB36600_CLASS1 = {"Co": 20.0}
ROOT = 160_000
#: elements of the public build
ELEMENTS = frozenset({*MEMBERS, "Al"})
G = get_grid("global")
Q = "medium=topsoil&method=total"


# ---------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def world(grid_store, tmp_path_factory: pytest.TempPathFactory, data_dir: Path,
          boundaries: Path) -> SimpleNamespace:
    from fastapi.testclient import TestClient

    from chemearth.access.tokens import TokenStore
    from chemearth.ingest.descriptor import load_descriptor
    from chemearth.ingest.pipeline import ingest
    from chemearth.ingest.shipped import shipped_descriptor
    from chemearth.store import open_store
    from chemearth.web import WebSettings, create_app

    home = tmp_path_factory.mktemp("global-api") / "store"
    shutil.copytree(grid_store.home, home)
    store = open_store(home)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ChemearthWarning)
        ingest(store, _with_policy(load_descriptor(shipped_descriptor("bss-top")),
                                   organisation=ORG), data_dir=data_dir, boundaries=boundaries)
    gw = Gateway(store)
    # the public scope as build_scope builds it, for a few elements (fast): Al is in
    # every GEMAS sample, so coverage counts every sample of the three surveys
    public = [dataclasses.replace(s, elements=(s.elements or frozenset()) & ELEMENTS)
              for s in sources_for(gw, "public")]
    build_pooled(store, public, scope="public", grids=("global",), levels=("160km", "40km"))
    # NGU's own layers, only to be hidden from others: of its own survey alone (cheaper
    # than every survey again; who may see a scope does not depend on what it holds)
    own = [s for s in sources_for(gw, f"org:{ORG}") if s.dataset_id == "bss-top"]
    build_pooled(store, own, scope=f"org:{ORG}", grids=("global",), levels=("160km",))
    tokens = TokenStore(store)
    headers = {"anonymous": {}}
    for name, role, org in (("owner", "owner", ORG), ("other", "owner", "GTK"),
                            ("admin", "admin", "")):
        headers[name] = {"Authorization": f"Bearer {tokens.create(name, role, organisation=org)}"}
    client = TestClient(create_app(store, WebSettings(boundaries=boundaries, timeout_s=300)))
    return SimpleNamespace(store=store, client=client, headers=headers, boundaries=boundaries,
                           frames={})


def _get(world: SimpleNamespace, url: str, actor: str = "anonymous", status: int = 200) -> Any:
    r = world.client.get(url, headers=world.headers[actor])
    assert r.status_code == status, f"{url}: {r.status_code} {r.text[:400]}"
    return r


def samples(world: SimpleNamespace, element: str) -> pd.DataFrame:
    """The located topsoil values of ``element`` in its members' total/near-total column,
    from ``store.measurements``, with the 160 km cell of each (memoised per module)."""
    if element not in world.frames:
        frames = []
        for ds in sorted(MEMBERS[element]):
            m = world.store.measurements(ds, 1, elements=[element])
            m = m[(m["medium"].astype(str) == "topsoil")
                  & m["digestion"].astype(str).isin(["total", "near-total"])]
            assert m["method"].astype(str).nunique() == 1, (ds, element)
            m = m.dropna(subset=["longitude", "latitude", "value"])
            frames.append(pd.DataFrame({
                "dataset_id": ds, "sample_id": m["sample_id"].astype(str).to_numpy(),
                "longitude": m["longitude"].to_numpy(float),
                "latitude": m["latitude"].to_numpy(float),
                "country": m["country"].astype("string").fillna("").to_numpy(),
                "value": m["value"].to_numpy(float),
                "censored": m["censored"].to_numpy(bool),
            }))
        f = pd.concat(frames, ignore_index=True)
        f["cell"] = G.cell_keys(f["longitude"].to_numpy(), f["latitude"].to_numpy(), ROOT)
        world.frames[element] = f
    return world.frames[element].copy()


# ---------------------------------------------------------------------- catalogue


@pytest.mark.parametrize(("actor", "scopes"), [
    ("anonymous", ["public"]), ("other", ["public"]), ("owner", ["public", f"org:{ORG}"]),
    ("admin", None),  # every organisation's
])
def test_catalogue_lists_the_visible_scopes(world, actor: str, scopes: list[str] | None
                                            ) -> None:
    d = _get(world, "/api/global", actor).json()
    if scopes is None:
        orgs = set(world.store.datasets()["organisation"].astype(str))
        scopes = ["public", *(f"org:{o}" for o in sorted(orgs))]
    assert [s["scope"] for s in d["scopes"]] == scopes
    built = {s["scope"] for s in d["scopes"] if s["layers"]}
    assert built == {"public", f"org:{ORG}"} & set(scopes)
    public = d["scopes"][0]
    assert public["dataset"] == "pooled:public"
    zn = [e for e in public["layers"] if (e["element"], e["medium"], e["method"])
          == ("Zn", "topsoil", "total")]
    assert len(zn) == 1
    assert set(zn[0]["datasets"]) == MEMBERS["Zn"]
    f = samples(world, "Zn")
    assert zn[0]["by_level"][str(ROOT)] == {
        "cells": int(f["cell"].nunique()),
        "cells_n3": int((f.groupby("cell").size() >= 3).sum()), "n": len(f)}
    assert public["out_of_date"] == []


# ---------------------------------------------------------------------- baselines


def test_world_baselines_equal_numpy(world) -> None:
    d = _get(world, f"/api/global/baselines/Zn?{Q}").json()
    rows = {r["weighting"]: r for r in d["baselines"]}
    assert set(rows) == {"samples", "declustered"}
    f = samples(world, "Zn")
    v = f["value"].to_numpy()
    s = rows["samples"]
    assert (s["region"], s["n"], s["n_censored"]) == ("world", len(f), int(f["censored"].sum()))
    assert s["n_datasets"] == 3
    assert set(s["datasets"].split(",")) == MEMBERS["Zn"]
    assert s["n_cells"] == f["cell"].nunique()
    for name, q in (("p5", 5), ("p25", 25), ("median", 50), ("p75", 75), ("p95", 95)):
        assert s[name] == pytest.approx(np.percentile(v, q), rel=1e-12), name
    assert (s["min"], s["max"]) == (v.min(), v.max())
    # declustered: each 160 km cell weighs the same, Kish's effective n = C² / Σ 1/m_c
    per = f.groupby("cell").size().to_numpy(float)
    dc = rows["declustered"]
    assert dc["n"] == len(f)
    assert dc["effective_n"] == pytest.approx(len(per) ** 2 / np.sum(1 / per), rel=1e-9)
    assert any("declustered" in n for n in d["notes"])


@pytest.mark.parametrize("country", ["FI", "SE", "US"])
def test_country_baselines_equal_numpy(world, country: str) -> None:
    d = _get(world, f"/api/global/baselines/Pb?{Q}&scale=country&weighting=samples").json()
    row = next(r for r in d["baselines"] if r["region"] == country)
    f = samples(world, "Pb")
    v = f.loc[f["country"] == country, "value"].to_numpy()
    assert row["n"] == len(v) > 0
    assert row["median"] == pytest.approx(np.median(v), rel=1e-12)
    assert row["p90"] == pytest.approx(np.percentile(v, 90), rel=1e-12)


# ---------------------------------------------------------------------- coverage


def _topsoil_sites(world) -> pd.DataFrame:
    """Every topsoil sample row of the three members (``sampled`` kept as a column)."""
    frames = []
    for ds in TOPSOIL:
        s = world.store.samples(ds, 1)
        s = s[s["medium"].astype(str) == "topsoil"]
        frames.append(pd.DataFrame({"dataset_id": ds,
                                    "longitude": s["longitude"].to_numpy(float),
                                    "latitude": s["latitude"].to_numpy(float),
                                    "sampled": s["sampled"].fillna(True).to_numpy(bool)}))
    return pd.concat(frames, ignore_index=True)


def test_coverage_equals_coverage_of_the_members_samples(world) -> None:
    d = _get(world, "/api/global/coverage/topsoil").json()
    sites = _topsoil_sites(world)
    taken = sites[sites["sampled"]]
    want = coverage(taken["longitude"], taken["latitude"], world.boundaries)
    got = d["world"]
    for key in ("n_cells_land", "n_cells_1", "n_cells_5", "n_samples",
                "n_samples_elsewhere"):
        assert got[key] == want.world[key], key
    for key in ("land_km2", "covered_km2_1", "covered_km2_5", "share_1", "share_5"):
        assert got[key] == pytest.approx(want.world[key], rel=1e-12), key
    cont = pd.DataFrame(d["continents"]).set_index("continent").sort_index()
    ref = want.by_continent.set_index("continent").sort_index()
    assert cont.index.tolist() == ref.index.tolist()
    assert cont["n_cells_5"].tolist() == ref["n_cells_5"].tolist()
    np.testing.assert_allclose(cont["share_1"], ref["share_1"], rtol=1e-12)
    # DS-801 lists 16 planned sites that were never sampled (``sampled`` false, no values):
    # the API counts samples from the pooled contributors, so they do not count
    unsampled = sites[~sites["sampled"]]
    assert set(unsampled["dataset_id"]) == {"usgs-ds801-top5"}
    assert len(unsampled) == 16
    assert got["n_samples"] == len(sites) - 16


def test_coverage_geojson_is_the_land_cells(world) -> None:
    r = _get(world, "/api/global/coverage/topsoil?fmt=geojson")
    assert r.headers["content-type"].startswith("application/geo+json")
    layer = r.json()
    taken = _topsoil_sites(world).query("sampled")
    want = coverage(taken["longitude"], taken["latitude"], world.boundaries).cells
    props = pd.DataFrame([f["properties"] for f in layer["features"]])
    assert len(props) == len(want)
    assert props["cell_id"].tolist() == want["cell_id"].tolist()
    assert props["n_samples"].tolist() == want["n_samples"].tolist()
    assert int(props["covered_5"].sum()) == int(want["covered_5"].sum())


# ---------------------------------------------------------------------- cells and layers


def _cells_to_check(world) -> dict[str, int]:
    """A 160 km cell pooling BSS and GEMAS (the one with most samples), and DS-801's
    fullest cell."""
    f = samples(world, "Zn")
    by = f.groupby(["cell", "dataset_id"]).size().unstack(fill_value=0)
    mixed = by[(by["bss-top"] > 0) & (by["gemas"] > 0)]
    assert len(mixed) > 0
    return {"mixed": int(mixed.sum(axis=1).idxmax()),
            "us": int(by["usgs-ds801-top5"].idxmax())}


@pytest.mark.parametrize("level", [160_000, 40_000])
@pytest.mark.parametrize("which", ["mixed", "us"])
def test_cell_record_contributors_equal_a_groupby(world, which: str, level: int) -> None:
    root = _cells_to_check(world)[which]
    f = samples(world, "Zn")
    f = f[f["cell"] == root]
    f["key"] = G.cell_keys(f["longitude"].to_numpy(), f["latitude"].to_numpy(), level)
    key = int(f["key"].value_counts().idxmax())  # the fullest cell of that level in it
    lon, lat = G.cell_centres(np.array([key]))
    rec = _get(world, f"/api/layers/pooled:public/Zn/cell?{Q}&grid=global"
               f"&level={level // 1000}km&lon={lon[0]:.6f}&lat={lat[0]:.6f}").json()
    here = f[f["key"] == key]
    assert rec["cell_id"] == G.key_to_id(np.array([key]))[0]
    assert rec["pooled"] is True
    assert rec["dataset"] == "pooled:public"
    assert rec["n"] == len(here)
    assert rec["median"] == pytest.approx(here["value"].median(), rel=1e-12)
    got = {c["dataset"]: (c["n"], c["n_censored"]) for c in rec["contributors"]}
    want = {ds: (len(g), int(g["censored"].sum())) for ds, g in here.groupby("dataset_id")}
    assert got == want
    assert sum(c["n"] for c in rec["contributors"]) == rec["n"]
    if which == "mixed":
        assert set(got) == {"bss-top", "gemas"}
    titles = {c["dataset"]: c["title"] for c in rec["contributors"]}
    records = world.store.datasets().set_index("dataset_id")
    assert titles == {ds: records.loc[ds, "title"] for ds in got}
    assert all(c["citation"] and c["version"] == 1 for c in rec["contributors"])


def test_legend_tilejson_and_tile(world) -> None:
    q = f"{Q}&grid=global&level=160km"
    legend = _get(world, f"/api/layers/pooled:public/Zn/legend?{q}").json()
    assert legend["pooled"] is True
    assert set(legend["datasets"]) == MEMBERS["Zn"]
    assert legend["n_cells"] == samples(world, "Zn")["cell"].nunique()
    medians = samples(world, "Zn").groupby("cell")["value"].median().to_numpy()
    limits = [c["lower"] for c in legend["classes"]] + [legend["classes"][-1]["upper"]]
    assert (limits[0], limits[-1]) == (medians.min(), medians.max())
    tj = _get(world, f"/api/layers/pooled:public/Zn/tilejson.json?{q}").json()
    assert tj["tiles"][0].startswith("http://testserver/api/layers/pooled:public/Zn/tiles/")
    assert "Pooled from" in tj["attribution"]
    png = _get(world, f"/api/layers/pooled:public/Zn/tiles/2/2/1.png?{q}").content
    assert png.startswith(b"\x89PNG")


@pytest.fixture(scope="module")
def reference_cells(world) -> pd.DataFrame:
    cells = pooled_cells(world.store, "Zn", level=ROOT, medium="topsoil", method="total")
    # the stored layer is itself what a groupby of the members' samples gives
    f = samples(world, "Zn")
    by = f.groupby("cell")["value"]
    assert cells.set_index("cell")["n"].sort_index().tolist() == by.size().tolist()
    np.testing.assert_allclose(cells.set_index("cell")["median"].sort_index(), by.median(),
                               rtol=1e-12)
    return cells.sort_values("cell_id").reset_index(drop=True)


def _download(world, fmt: str) -> bytes:
    url = f"/api/downloads/pooled:public/layers/Zn.{fmt}?{Q}&grid=global&level=160km"
    r = _get(world, url)
    assert "attachment" in r.headers["content-disposition"]
    return r.content


def test_download_tif(world, reference_cells: pd.DataFrame) -> None:
    import rasterio

    x, y = G.cell_centres(reference_cells["cell"].to_numpy(), to_wgs84=False)
    with rasterio.MemoryFile(_download(world, "tif")) as mem, mem.open() as src:
        band = src.read(1)
        rows, cols = rasterio.transform.rowcol(src.transform, x, y)
        got = band[np.asarray(rows), np.asarray(cols)]
        assert int(np.isfinite(band).sum()) == len(reference_cells)
        assert src.crs.to_epsg() == 6933
        assert src.tags()["dataset_id"] == "pooled:public"
    np.testing.assert_allclose(got, reference_cells["median"].astype(np.float32), rtol=0)


def test_download_tif_cites_the_surveys(world) -> None:
    import rasterio

    with rasterio.MemoryFile(_download(world, "tif")) as mem, mem.open() as src:
        tags = src.tags()
    assert tags.get("citation", "").startswith("Pooled from")
    assert tags.get("licence")


def test_download_netcdf(world, reference_cells: pd.DataFrame) -> None:
    import xarray as xr

    x, y = G.cell_centres(reference_cells["cell"].to_numpy(), to_wgs84=False)
    with xr.open_dataset(io.BytesIO(_download(world, "nc")), engine="h5netcdf") as ds:
        pick = {"x": xr.DataArray(x), "y": xr.DataArray(y)}
        for stat in ("median", "p25", "p75", "gmean"):
            got = ds[stat].sel(pick, method="nearest").to_numpy()
            np.testing.assert_allclose(got, reference_cells[stat], rtol=1e-12, err_msg=stat)
        assert ds["n"].sel(pick, method="nearest").to_numpy().tolist() == \
            reference_cells["n"].tolist()
        assert int(np.isfinite(ds["median"].to_numpy()).sum()) == len(reference_cells)
        assert ds.attrs["references"].startswith("Pooled from")
        for ds_id in MEMBERS["Zn"]:
            cite = world.store.datasets().set_index("dataset_id").loc[ds_id, "citation"]
            assert cite in ds.attrs["references"]


def test_download_geoparquet(world, reference_cells: pd.DataFrame) -> None:
    import geopandas as gpd

    frame = gpd.read_parquet(io.BytesIO(_download(world, "parquet")))
    frame = frame.sort_values("cell_id").reset_index(drop=True)
    assert frame["cell_id"].tolist() == reference_cells["cell_id"].tolist()
    assert set(frame["dataset_id"]) == {"pooled:public"}
    for stat in ("n", "n_censored", "median", "p95", "max"):
        np.testing.assert_allclose(frame[stat].to_numpy(float),
                                   reference_cells[stat].to_numpy(float), rtol=1e-12,
                                   equal_nan=True, err_msg=stat)
    assert frame.crs.to_epsg() == 6933
    centres = frame.geometry.centroid
    x, y = G.cell_centres(reference_cells["cell"].to_numpy(), to_wgs84=False)
    np.testing.assert_allclose(centres.x, x, atol=1e-3)
    np.testing.assert_allclose(centres.y, y, atol=1e-3)


def test_download_atlas_csv(world, reference_cells: pd.DataFrame) -> None:
    text = _download(world, "csv").decode()
    lines = text.splitlines()
    assert lines[0] == "cell_id,longitude,latitude,n,n_below_dl,Zn"
    assert lines[2].split(",")[-1] == ""  # a pooled layer has no one detection limit
    notes = [ln for ln in lines[3:] if ln.startswith(("#", '"#'))]
    assert notes[0].strip('"').startswith("# citation: Pooled from")
    rows = "\n".join([lines[0], *(ln for ln in lines[3:] if ln not in notes)])
    frame = pd.read_csv(io.StringIO(rows)).sort_values("cell_id")
    assert frame["cell_id"].tolist() == reference_cells["cell_id"].tolist()
    assert frame["n"].tolist() == reference_cells["n"].tolist()
    assert frame["n_below_dl"].tolist() == reference_cells["n_censored"].tolist()
    np.testing.assert_allclose(frame["Zn"], reference_cells["median"], rtol=1e-9)


# ---------------------------------------------------------------------- exceedance


@pytest.mark.parametrize("element", sorted(MEMBERS))
def test_exceedance_equals_a_pandas_count(world, element: str) -> None:
    d = _get(world, f"/api/global/exceedance/{element}").json()
    if element in GB15618_OTHER:
        bands = GB15618_OTHER[element]
        assert list(d["assumptions"]["limits_by_band"].values()) == list(bands)
        assert d["basis"].startswith(f"{element}: gb15618-2018 screening, land use other")
        limit = min(bands)  # no topsoil pH layer here: the most protective band
    else:
        assert list(d["assumptions"]["limits_by_band"].values()) == [GB36600_CLASS1[element]]
        assert "gb36600-2018" in d["basis"]
        limit = GB36600_CLASS1[element]
    f = samples(world, element)
    f["above"] = ~f["censored"] & (f["value"] > limit)
    f["undecided"] = f["censored"] & (f["value"] > limit)

    def counts(g: pd.DataFrame) -> dict[str, Any]:
        above, undecided = int(g["above"].sum()), int(g["undecided"].sum())
        decided = len(g) - undecided
        return {"n": len(g), "n_above": above, "n_indeterminate": undecided,
                "pct_above_determinate": 100 * above / decided if decided else None}

    def check(row: dict[str, Any], want: dict[str, Any], what: str) -> None:
        for k, v in want.items():
            if v is None:
                assert row[k] is None, (what, k)
            else:
                assert row[k] == pytest.approx(v, rel=1e-12), (what, k)
        assert (row["limit_min"], row["limit_max"]) == (limit, limit), what

    assert len(d["world"]) == 1
    check(d["world"][0], counts(f), "world")
    assert counts(f)["n_above"] > 0  # each of these elements exceeds somewhere
    countries = {r["country"]: r for r in d["countries"]}
    assert set(countries) == set(f["country"])
    for c, g in f.groupby("country"):
        check(countries[c], counts(g), c)
    cells = {r["cell_id"]: r for r in d["cells"]}
    assert len(cells) == f["cell"].nunique()
    for key, g in f.groupby("cell"):
        check(cells[G.key_to_id(np.array([key]))[0]], counts(g), str(key))


# ---------------------------------------------------------------------- resources


@pytest.mark.parametrize(("depth", "density"), [(1.0, 1.5), (0.3, 1.2)])
def test_resources_equal_land_times_cell_medians(world, depth: float, density: float) -> None:
    d = _get(world, f"/api/global/resources/Zn?{Q}&depth_m={depth}&bulk_density={density}"
             ).json()
    f = samples(world, "Zn")
    conc = f.groupby("cell")["value"].quantile([0.25, 0.5, 0.75]).unstack()
    land = land_parts(world.boundaries, "global", ROOT)
    land = land[land["continent"] != "Antarctica"]
    parts = land[land["cell"].isin(conc.index)].copy()
    for q, name in ((0.25, "p25"), (0.5, "median"), (0.75, "p75")):
        parts[name] = parts["land_km2"] * depth * density * parts["cell"].map(conc[q])
    w = d["world"][0]
    assert d["assumptions"]["depth_m"] == depth
    assert d["assumptions"]["bulk_density_t_m3"] == density
    for name in ("p25", "median", "p75"):
        assert w[f"tonnes_{name}"] == pytest.approx(parts[name].sum(), rel=1e-9), name
    assert w["land_km2_covered"] == pytest.approx(parts["land_km2"].sum(), rel=1e-12)
    assert w["land_km2"] == pytest.approx(land["land_km2"].sum(), rel=1e-12)
    countries = {r["country"]: r for r in d["countries"]}
    for c in ("FI", "DE", "US"):
        mine = parts[parts["country"] == c]
        assert countries[c]["tonnes_median"] == pytest.approx(mine["median"].sum(), rel=1e-9)


# ---------------------------------------------------------------------- not found


HIDDEN = [  # built for NGU: 404 to others, 200 to its owner and administrators
    f"/api/layers/pooled:org:{ORG}/Zn/legend?{Q}",
    f"/api/layers/pooled:org:{ORG}/Zn/cell?{Q}&lon=25.0&lat=61.0",
    f"/api/downloads/pooled:org:{ORG}/layers/Zn.csv?{Q}",
    f"/api/global/exceedance/Zn?scope=org:{ORG}",
    f"/api/global/resources/Zn?{Q}&scope=org:{ORG}",
]


@pytest.mark.parametrize("url", HIDDEN)
@pytest.mark.parametrize(("actor", "status"), [("anonymous", 404), ("other", 404),
                                               ("owner", 200), ("admin", 200)])
def test_an_organisations_scope_is_hidden_from_others(world, url: str, actor: str,
                                                      status: int) -> None:
    r = _get(world, url, actor, status)
    if status == 404:  # as a scope that does not exist
        missing = _get(world, url.replace(f"org:{ORG}", "org:NOSUCH"), actor, 404)
        assert r.json()["detail"] == missing.json()["detail"].replace("NOSUCH", ORG)


@pytest.mark.parametrize("url", [
    "/api/layers/pooled:public/Xx/legend",
    f"/api/layers/pooled:public/Zn/legend?{Q}&level=10km",  # a level not built
    "/api/layers/pooled:public/Zn/legend?medium=moss",
    "/api/layers/pooled:nonsense/Zn/legend",
    "/api/layers/pooled:/Zn/legend",
    f"/api/layers/pooled:public/Xx/cell?{Q}&lon=25&lat=61",
    f"/api/layers/pooled:public/Zn/cell?{Q}&lon=0&lat=-60",  # no cell there
    "/api/layers/pooled:public/Xx/tilejson.json",
    "/api/downloads/pooled:public/layers/Xx.tif",
    f"/api/downloads/pooled:public/layers/Zn.shp?{Q}",
    "/api/global/baselines/Xx",
    "/api/global/coverage/moss",
    "/api/global/exceedance/Xx",
    f"/api/global/resources/Xx?{Q}",
])
def test_missing_pooled_layers_are_404(world, url: str) -> None:
    assert _get(world, url, "admin", 404).json()["detail"]
