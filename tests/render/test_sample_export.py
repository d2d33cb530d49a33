"""Sample downloads (wide CSV with the atlas header, GeoPackage) read back against the store."""

from __future__ import annotations

import csv
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest

from chemearth.errors import ChemearthError, ChemearthWarning, InputFileError, NotFoundError
from chemearth.render.sample_export import (
    SAMPLE_FIELDS,
    read_samples_csv,
    samples_wide,
    write_samples_csv,
    write_samples_gpkg,
)

#: DS-801 ("<0.6" strings, 16 sites not sampled), NGS Illinois/Indiana (negative DL, two
#: media), Kola C-horizon (one element by up to four methods), Meuse (no censoring).
DATASETS = ("usgs-ds801-top5", "usgs-ngs-il-in", "kola-chorizon", "meuse")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, data_dir: Path, boundaries: Path):
    from chemearth.ingest.descriptor import load_descriptor
    from chemearth.ingest.pipeline import ingest
    from chemearth.ingest.shipped import shipped_descriptor
    from chemearth.store import open_store

    s = open_store(tmp_path_factory.mktemp("sample-export"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ChemearthWarning)
        for ds in DATASETS:
            ingest(
                s,
                load_descriptor(shipped_descriptor(ds)),
                data_dir=data_dir,
                boundaries=boundaries,
            )
    return s


def _record(store, dataset_id: str) -> pd.Series:
    rows = store.datasets()
    return rows[rows["dataset_id"] == dataset_id].iloc[0]


def _long_by_column(store, dataset_id: str, frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The store's long measurements, split by the wide frame's column names (matched on
    element and source column, independently of how the frame was built)."""
    long = store.measurements(dataset_id, elements=sorted(set(frame.attrs["elements"].values())))
    out: dict[str, pd.DataFrame] = {}
    for name in frame.attrs["columns"]:
        el, src = frame.attrs["elements"][name], frame.attrs["source_columns"][name]
        out[name] = long[(long["element"] == el) & (long["source_column"] == src)]
    return out


def _assert_matches_store(frame: pd.DataFrame, store, dataset_id: str, rtol: float) -> None:
    by_sample = frame.set_index("sample_id")
    parts = _long_by_column(store, dataset_id, frame)
    elements = sorted(set(frame.attrs["elements"].values()))
    assert sum(len(p) for p in parts.values()) == len(
        store.measurements(dataset_id, elements=elements)
    )
    for name, part in parts.items():
        got = by_sample.loc[part["sample_id"].astype(str), name].to_numpy(dtype=float)
        np.testing.assert_allclose(got, part["value"].to_numpy(), rtol=rtol, err_msg=name)
        flags = by_sample.loc[part["sample_id"].astype(str), name + "_censored"]
        np.testing.assert_array_equal(flags.to_numpy(dtype=bool), part["censored"].to_numpy())
        assert frame[name].notna().sum() == len(part)  # nothing else is filled in


def test_wide_table_names_each_method_column_of_an_element(store) -> None:
    frame = samples_wide(store, "kola-chorizon", ["Cr", "Fe"])
    assert list(frame.columns) == [
        *SAMPLE_FIELDS,
        "Cr",
        "Cr_censored",
        "Cr_INAA",
        "Cr_INAA_censored",
        "Fe",
        "Fe_censored",
        "Fe_INAA",
        "Fe_INAA_censored",
        "Fe_Fe2O3",
        "Fe_Fe2O3_censored",
        "Fe_XRF",
        "Fe_XRF_censored",
    ]
    attrs = frame.attrs
    assert attrs["methods"]["Cr_INAA"].startswith("INAA")
    assert attrs["methods"]["Cr"].startswith("aqua regia")
    assert attrs["detection_limits"]["Cr"] == 0.5
    assert attrs["detection_limits"]["Cr_INAA"] == 5.0
    assert attrs["source_columns"]["Fe_Fe2O3"] == "Fe2O3"
    assert set(attrs["units"].values()) == {"mg/kg"}
    everything = samples_wide(store, "kola-chorizon")
    assert set(attrs["columns"]) <= set(everything.attrs["columns"])  # names do not depend
    assert len(everything.attrs["columns"]) == len(store.measurement_columns("kola-chorizon"))
    _assert_matches_store(frame, store, "kola-chorizon", rtol=0)
    m = store.measurements("kola-chorizon", elements=["Cr"])
    inaa = m[m["source_column"] == "Cr_INAA"].set_index("sample_id")["value"]
    assert frame.set_index("sample_id").loc[inaa.index, "Cr_INAA"].tolist() == inaa.tolist()


def test_wide_table_leaves_out_sites_not_sampled(store) -> None:
    frame = samples_wide(store, "usgs-ds801-top5", ["As"])
    samples = store.samples("usgs-ds801-top5")
    assert len(samples) == 4857
    assert len(frame) == 4857 - 16 == frame["As"].notna().sum()
    assert frame["As_censored"].sum() == 56
    assert frame.attrs["detection_limits"]["As"] == 0.6  # lowest limit of a censored value
    assert frame.attrs["citation"] == _record(store, "usgs-ds801-top5")["citation"]


def test_unknown_elements_and_datasets_are_not_found(store) -> None:
    with pytest.raises(NotFoundError, match="has no Xx, Os; its elements: Cd, Cu, Pb, Zn"):
        samples_wide(store, "meuse", ["Zn", "Xx", "Os"])
    with pytest.raises(NotFoundError, match="'nowhere' is not in the store"):
        samples_wide(store, "nowhere")
    with pytest.raises(NotFoundError, match="version 7"):
        samples_wide(store, "meuse", version=7)


@pytest.mark.parametrize("dataset_id", ["usgs-ds801-top5", "usgs-ngs-il-in", "kola-chorizon"])
def test_csv_round_trip_equals_the_store(store, tmp_path: Path, dataset_id: str) -> None:
    frame = samples_wide(store, dataset_id)
    record = _record(store, dataset_id)
    path = write_samples_csv(
        frame, tmp_path / "s.csv", citation=record["citation"], licence=record["licence"]
    )
    back = read_samples_csv(path)
    assert list(back.columns) == list(frame.columns)
    assert back["sample_id"].tolist() == frame["sample_id"].tolist()
    np.testing.assert_allclose(back["longitude"], frame["longitude"], rtol=1e-14)
    np.testing.assert_allclose(back["latitude"], frame["latitude"], rtol=1e-14)
    assert back["country"].tolist() == frame["country"].tolist()
    assert back["medium"].tolist() == frame["medium"].tolist()
    back.attrs["elements"] = frame.attrs["elements"]
    back.attrs["source_columns"] = frame.attrs["source_columns"]
    _assert_matches_store(back, store, dataset_id, rtol=1e-14)
    for key in (
        "dataset_id",
        "version",
        "title",
        "citation",
        "licence",
        "url",
        "columns",
        "units",
        "detection_limits",
        "methods",
    ):
        assert back.attrs[key] == frame.attrs[key], key
    assert back.attrs["citation"] == " ".join(str(record["citation"]).split())


def test_csv_has_the_atlas_header_and_negative_limits(store, tmp_path: Path) -> None:
    frame = samples_wide(store, "usgs-ds801-top5", ["As", "Cu"])
    path = write_samples_csv(frame, tmp_path / "s.csv", citation="Smith (2013)", licence="PD")
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == [*SAMPLE_FIELDS, "As", "Cu"]
    assert rows[1] == ["", "deg", "deg", "", "", "mg/kg", "mg/kg"]
    assert rows[2][0] == "detection limit"
    assert rows[2][5] == "0.6"
    data = rows[3 : 3 + len(frame)]
    assert sum(r[5].startswith("-") for r in data) == 56
    assert {r[5] for r in data if r[5].startswith("-")} == {"-0.6"}
    trailer = rows[3 + len(frame) :]
    assert all(len(r) == 1 and r[0].startswith("# ") for r in trailer)
    assert ["# citation: Smith (2013)"] in trailer
    assert ["# licence: PD"] in trailer


def test_csv_reads_in_pandas_like_an_atlas_table(store, tmp_path: Path) -> None:
    frame = samples_wide(store, "meuse")
    path = write_samples_csv(frame, tmp_path / "s.csv", citation="Rikken, M. (1993)", licence="GPL")
    table = pd.read_csv(path, skiprows=[1, 2])  # what an atlas user does: skip units and DL
    notes = table["sample_id"].astype(str).str.startswith("#")
    assert (~notes).sum() == len(frame) == 155
    assert table["Zn"].dtype == float  # the trailing notes leave the numbers numeric
    assert table.loc[notes, "Zn"].isna().all()
    assert table.loc[~notes, "Zn"].median() == 326.0  # the published median
    assert "# citation: Rikken, M. (1993)" in set(table.loc[notes, "sample_id"])


def test_csv_refuses_negative_values_that_are_not_censored(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "sample_id": ["a"],
            "longitude": [1.0],
            "latitude": [2.0],
            "country": [None],
            "medium": ["soil"],
            "Eh": [-120.0],
        }
    )
    with pytest.raises(ChemearthError, match="'Eh': 1 negative values"):
        write_samples_csv(frame, tmp_path / "x.csv", citation="c", licence="l")


def test_reading_a_file_that_is_not_a_sample_table_fails(tmp_path: Path) -> None:
    p = tmp_path / "x.csv"
    p.write_text("cell_id,longitude,latitude,n,n_below_dl,Cu\n,,,,,\ndetection limit,,,,,\n")
    with pytest.raises(InputFileError, match="line 1 must start with sample_id"):
        read_samples_csv(p)


@pytest.mark.parametrize("dataset_id", ["usgs-ngs-il-in", "kola-chorizon"])
def test_geopackage_holds_points_values_and_metadata(
    store, tmp_path: Path, dataset_id: str
) -> None:
    frame = samples_wide(store, dataset_id)
    record = _record(store, dataset_id)
    path = write_samples_gpkg(
        frame,
        tmp_path / "s.gpkg",
        citation=record["citation"],
        licence=record["licence"],
        layer="samples",
    )
    info = pyogrio.read_info(path, layer="samples")
    assert info["crs"] == "EPSG:4326"
    assert info["geometry_type"] == "Point"
    assert info["features"] == len(frame)
    for meta in (info["dataset_metadata"], info["layer_metadata"]):
        assert meta["citation"] == " ".join(str(record["citation"]).split())
        assert meta["licence"] == record["licence"]
        assert meta["dataset_id"] == dataset_id
    units = json.loads(info["layer_metadata"]["units"])
    assert units == frame.attrs["units"]
    assert json.loads(info["layer_metadata"]["methods"]) == frame.attrs["methods"]

    gdf = pyogrio.read_dataframe(path, layer="samples")
    samples = store.samples(dataset_id).set_index("sample_id")
    ids = gdf["sample_id"].astype(str)
    np.testing.assert_allclose(gdf.geometry.x, samples.loc[ids, "longitude"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(gdf.geometry.y, samples.loc[ids, "latitude"], rtol=0, atol=1e-12)
    for name in frame.attrs["columns"]:
        assert gdf[name].dtype == np.float64, name
        assert gdf[name + "_censored"].dtype == bool, name
    back = pd.DataFrame(gdf.drop(columns="geometry"))
    back.attrs.update(frame.attrs)
    _assert_matches_store(back, store, dataset_id, rtol=0)


def test_geopackage_censored_flags_of_negative_limit_data(store, tmp_path: Path) -> None:
    frame = samples_wide(store, "usgs-ngs-il-in", ["Cd"])
    path = write_samples_gpkg(frame, tmp_path / "cd.gpkg", citation="c", licence="l")
    gdf = pyogrio.read_dataframe(path)
    m = store.measurements("usgs-ngs-il-in", elements=["Cd"])
    assert gdf["Cd_censored"].sum() == m["censored"].sum() > 0
    assert (gdf.loc[gdf["Cd_censored"], "Cd"] > 0).all()  # the limit, never negative
    assert set(gdf["medium"].dropna()) == set(m["medium"].dropna())
