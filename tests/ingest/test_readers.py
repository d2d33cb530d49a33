"""Every supported format and text encoding gives the same samples and measurements.

The Meuse survey is written out as CSV (comma, semicolon + UTF-8 BOM, tab, Latin-1 and
GB18030 with non-ASCII text), Excel (.xlsx with the header on row 3, and .xls is covered by
DS-801 in test_real_data), GeoPackage and Shapefile, each ingested with its own descriptor,
and compared with the plain CSV ingest.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

from chemearth.ingest.descriptor import parse_descriptor
from chemearth.ingest.pipeline import ingest
from chemearth.ingest.readers import detect_delimiter
from chemearth.store import open_store

BASE = """
[dataset]
id = "meuse-{fmt}"
title = "Meuse as {fmt}"
countries = ["NL"]
medium = "floodplain sediment"
[source]
path = "{path}"
{source}
[coordinates]
x = "{x}"
y = "{y}"
crs = "EPSG:28992"
[sample]
id = "sample"
attributes = ["landuse"]
[columns]
cadmium = "Cd"
copper = "Cu"
lead = "Pb"
zinc = "Zn"
"""


@pytest.fixture(scope="module")
def meuse(data_dir: Path) -> pd.DataFrame:
    df = pd.read_csv(data_dir / "meuse" / "meuse_all.csv")
    df["sample"] = df["sample"].astype(int).astype(str)
    df["landuse"] = df["landuse"].fillna("?") + " – prairie évêché 草地  "
    return df[["sample", "x", "y", "cadmium", "copper", "lead", "zinc", "landuse"]]


def _write(fmt: str, df: pd.DataFrame, folder: Path) -> tuple[Path, str, str, str]:
    """Write ``df`` in ``fmt``; return (path, extra [source] lines, x, y)."""
    if fmt == "csv":
        p = folder / "m.csv"
        df.to_csv(p, index=False)
        return p, "", "x", "y"
    if fmt == "semicolon-bom":
        p = folder / "m.csv"
        df.to_csv(p, index=False, sep=";", encoding="utf-8-sig")
        return p, "", "x", "y"
    if fmt == "tab":
        p = folder / "m.txt"
        df.to_csv(p, index=False, sep="\t")
        return p, "", "x", "y"
    if fmt == "gb18030":
        p = folder / "m.csv"
        df.to_csv(p, index=False, encoding="gb18030")
        return p, "", "x", "y"
    if fmt == "latin-1":
        p = folder / "m.csv"
        d = df.assign(
            landuse=df["landuse"]
            .str.replace("草地", "", regex=False)
            .str.replace("–", "-", regex=False)
        )
        d.to_csv(p, index=False, encoding="latin-1")
        return p, 'encoding = "latin-1"', "x", "y"
    if fmt == "xlsx":
        p = folder / "m.xlsx"
        with pd.ExcelWriter(p) as w:
            pd.DataFrame([["Meuse topsoils"], [""]]).to_excel(w, header=False, index=False)
            df.to_excel(w, startrow=2, index=False)
        return p, "header_row = 3", "x", "y"
    gdf = gpd.GeoDataFrame(
        df.drop(columns=["x", "y"]), geometry=gpd.points_from_xy(df["x"], df["y"]), crs="EPSG:28992"
    )
    if fmt == "gpkg":
        p = folder / "m.gpkg"
        gdf.to_file(p, layer="samples", driver="GPKG")
        return p, 'layer = "samples"', "geometry", "geometry"
    p = folder / "m.shp"
    gdf.to_file(p, driver="ESRI Shapefile")
    return p, "", "geometry", "geometry"


FORMATS = ["csv", "semicolon-bom", "tab", "gb18030", "latin-1", "xlsx", "gpkg", "shp"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_formats_give_identical_data(
    fmt: str, meuse: pd.DataFrame, tmp_path: Path, boundaries: Path
) -> None:
    store = open_store(tmp_path / "store")
    results = {}
    for name in dict.fromkeys(("csv", fmt)):
        folder = tmp_path / name
        folder.mkdir(exist_ok=True)
        path, source, x, y = _write(name, meuse, folder)
        text = BASE.format(fmt=name, path=path.as_posix(), source=source, x=x, y=y)
        report = ingest(store, parse_descriptor(text), boundaries=boundaries)
        assert report.n_samples == 164, report.messages()
        m = store.measurements(f"meuse-{name}")
        s = store.samples(f"meuse-{name}")
        results[name] = (
            m[["sample_id", "element", "value", "censored"]].reset_index(drop=True),
            s[["sample_id", "longitude", "latitude", "country"]].reset_index(drop=True),
            s["attributes"].tolist(),
        )
    pd.testing.assert_frame_equal(results["csv"][0], results[fmt][0])
    pd.testing.assert_frame_equal(results["csv"][1], results[fmt][1], atol=1e-9)
    if fmt != "latin-1":
        assert results["csv"][2] == results[fmt][2]
        assert "草地" in results[fmt][2][0]
    else:
        assert "évêché" in results[fmt][2][0]


@pytest.mark.parametrize(
    ("header", "delimiter"),
    [("ID,Cu,Zn", ","), ("ID;Cu;Zn", ";"), ("ID\tCu\tZn", "\t"), ("ID|Cu|Zn", "|"), ("ID", ",")],
)
def test_detect_delimiter(header: str, delimiter: str) -> None:
    assert detect_delimiter(header) == delimiter
