"""Regenerate the binary and non-UTF-8 files of the bad-input corpus.

These files cannot be written safely with a text editor (their bytes are the point), so
they are made here once and committed. Run from anywhere:

    .venv/bin/python tests/data/bad/make_binary_files.py

The output is deterministic except for the timestamps openpyxl and GDAL write into the
.xlsx and .gpkg containers.
"""

from __future__ import annotations

import io
import random
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def empty() -> None:
    (HERE / "10_empty.csv").write_bytes(b"")


def not_utf8() -> None:
    # Latin-1 bytes (0xE4 = a-umlaut) on line 4, while the descriptor declares utf-8
    text = (
        "SampleID,Location,Lon,Lat,Cu,Zn,As,Pb\n"
        "FI-1601,Helsinki,24.9384,60.1699,18.2,45,3.1,12\n"
        "FI-1602,Tampere,23.7610,61.4978,22.5,57,2.4,9.8\n"
        "FI-1603,Jyv\u00e4skyl\u00e4,25.7473,62.2426,15.0,38,1.1,7.2\n"
        "FI-1604,Oulu,25.4651,65.0121,9.6,29,1.8,6.5\n"
    )
    (HERE / "12_not_utf8.csv").write_bytes(text.encode("latin-1"))


def zipped_csv() -> None:
    # a zipped export renamed to .csv: binary with NUL bytes in the zip headers
    inner = (
        "SampleID,Lon,Lat,Cu,Zn,As,Pb\n"
        "FI-1701,24.9384,60.1699,18.2,45,3.1,12\n"
        "FI-1702,23.7610,61.4978,22.5,57,2.4,9.8\n"
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        info = zipfile.ZipInfo("survey.csv", date_time=(2020, 1, 1, 0, 0, 0))
        z.writestr(info, inner)
    (HERE / "13_binary_garbage.csv").write_bytes(buf.getvalue())


def corrupt_xlsx() -> None:
    rng = random.Random(20)
    (HERE / "20_corrupt.xlsx").write_bytes(bytes(rng.randrange(256) for _ in range(2048)))


def xlsx_header_row3() -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "till"
    ws.append(["Till geochemistry of southern Finland, <0.06 mm, aqua regia ICP-MS"])
    ws.append(["Concentrations in mg/kg; coordinates WGS84"])
    ws.append(["SampleID", "Lon", "Lat", "Cu", "Zn", "As", "Pb"])
    rows = [
        ["FI-1801", 24.9384, 60.1699, 18.2, 45, 3.1, 12],
        ["FI-1802", 23.7610, 61.4978, 22.5, 57, 2.4, 9.8],
        ["FI-1803", 25.6615, 60.9827, 20.3, "1O.5", 2.2, 11.5],  # letter O: sheet row 6
        ["FI-1804", 27.6782, 62.8924, 31.4, 52, 2.0, 14],
        ["FI-1805", 25.4651, 65.0121, 9.6, 29, 1.8, 6.5],
    ]
    for r in rows:
        ws.append(r)
    import datetime as dt

    wb.properties.created = wb.properties.modified = dt.datetime(2020, 1, 1)
    wb.save(HERE / "21_header_on_row3.xlsx")


def gbk_chinese() -> None:
    text = (
        "样品号,经度,纬度,铜,锌,砷,铅,土地利用\n"
        "BJ-2019-001,116.4074,39.9042,24.6,78.2,9.8,27.5,耕地\n"
        "BJ-2019-002,117.2010,39.0842,28.1,85.0,11.2,30.1,建设用地\n"
        "BJ-2019-003,114.5149,38.0428,21.9,69.4,8.7,24.0,林地\n"
        "BJ-2019-004,115.4646,38.8739,23.3,74.8,10.1,26.2,草地\n"
        "BJ-2019-005,118.1802,39.6309,26.7,81.5,12.4,29.8,园地\n"
    )
    (HERE / "24a_gbk_chinese.csv").write_bytes(text.encode("gbk"))


def latin1_french() -> None:
    text = (
        "Echantillon,Commune,Lon,Lat,Cu,Zn,As,Pb,Occupation\n"
        "W-001,Liège,5.5797,50.6326,28.4,152,14.2,61,friche industrielle\n"
        "W-002,Namur,4.8719,50.4674,19.7,88,9.1,35,prairie pâturée\n"
        "W-003,Arlon,5.8167,49.6833,14.2,63,11.8,24,forêt de feuillus\n"
        "W-004,Mons,3.9523,50.4542,17.6,79,8.4,30,culture céréalière\n"
        "W-005,Wavre,4.6100,50.7170,16.9,71,7.7,28,verger\n"
    )
    (HERE / "24b_latin1_french.csv").write_bytes(text.encode("latin-1"))


def polygons_shapefile() -> None:
    import geopandas as gpd
    from shapely.geometry import box

    gdf = gpd.GeoDataFrame(
        {
            "SampleID": ["FI-1901", "FI-1902", "FI-1903"],
            "Cu": [18.2, 22.5, 15.0],
            "Zn": [45.0, 57.0, 38.0],
        },
        geometry=[
            box(24.93, 60.16, 24.95, 60.18),  # sampling plots drawn as squares
            box(23.75, 61.49, 23.77, 61.51),
            box(25.74, 62.23, 25.76, 62.25),
        ],
        crs="EPSG:4326",
    )
    for old in HERE.glob("26_polygons.*"):
        if old.suffix != ".toml":
            old.unlink()
    gdf.to_file(HERE / "26_polygons.shp", driver="ESRI Shapefile")


if __name__ == "__main__":
    empty()
    not_utf8()
    zipped_csv()
    corrupt_xlsx()
    xlsx_header_row3()
    gbk_chinese()
    latin1_french()
    polygons_shapefile()
