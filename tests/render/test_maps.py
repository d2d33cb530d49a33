"""Geochemical maps of real survey data, checked against independent computations: numpy
percentiles and digitize for the classes, pyproj.Geod for the scale bar, pyproj for the
reprojected cells, pypdf for vector output."""

from __future__ import annotations

import io
import re
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pyproj
import pytest
import xarray as xr
from matplotlib.colors import LogNorm, Normalize, to_hex
from matplotlib.figure import Figure
from matplotlib.markers import MarkerStyle
from matplotlib.path import Path as MplPath
from matplotlib.text import Text

from chemearth.errors import ChemearthError
from chemearth.grid.geometry import GLOBAL
from chemearth.interp.projections import crs_name, local_crs
from chemearth.render import maps
from chemearth.render.maps import (
    ATLAS_PERCENTS,
    MARKERS,
    MapError,
    cell_map,
    point_map,
    surface_map,
)
from chemearth.render.plots import cjk_font_family
from chemearth.stats.classes import CLASS_PERCENTS

KOLA_SOURCE = "Kola Ecogeochemistry Project, C-horizon (Reimann et al. 1998)"
GEOD = pyproj.Geod(ellps="WGS84")
SAFE_CMAPS = {"viridis", "cividis"}


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def b110(data_dir: Path) -> Path:
    return data_dir / "boundaries" / "ne_110m_admin_0_countries.geojson"


@pytest.fixture(scope="module")
def kola(data_dir: Path) -> pd.DataFrame:
    """Kola C-horizon: UTM 35N (EPSG:32635) projected to WGS 84 with pyproj."""
    df = pd.read_csv(data_dir / "kola" / "chorizon.csv",
                     usecols=["XCOO", "YCOO", "Cu", "Ni", "Cr", "As"])
    to_wgs = pyproj.Transformer.from_crs("EPSG:32635", "EPSG:4326", always_xy=True)
    lon, lat = to_wgs.transform(df["XCOO"].to_numpy(), df["YCOO"].to_numpy())
    return df.assign(lon=lon, lat=lat)


@pytest.fixture(scope="module")
def gemas(data_dir: Path) -> pd.DataFrame:
    return pd.read_csv(data_dir / "gemas" / "gemas.csv")


@pytest.fixture(scope="module")
def kola_cells(kola: pd.DataFrame) -> pd.Series:
    """Median Cu of the 20 km cells of the global grid."""
    keys = GLOBAL.cell_keys(kola["lon"], kola["lat"], 20_000)
    return kola["Cu"].groupby(keys).median()


@pytest.fixture(scope="module")
def surface() -> xr.DataArray:
    """A smooth log-normal-like field of 5 km cells in a LAEA centred on Kola, y decreasing,
    with a NaN corner (no data there)."""
    x = np.arange(-200_000.0, 200_001.0, 5_000.0)
    y = np.arange(250_000.0, -250_001.0, -5_000.0)
    xx, yy = np.meshgrid(x, y)
    z = 20.0 * np.exp(np.sin(xx / 90_000.0) + np.cos(yy / 70_000.0))
    z[(xx > 120_000) & (yy > 150_000)] = np.nan
    crs = local_crs([25.0, 35.0], [66.0, 71.0])
    return xr.DataArray(z, dims=("y", "x"), coords={"x": x, "y": y}, attrs={"crs": crs.to_wkt()})


@pytest.fixture(scope="module")
def cu_points(kola: pd.DataFrame, b110: Path) -> Figure:
    v = kola["Cu"].to_numpy()
    return point_map(kola["lon"], kola["lat"], v, censored=v == v.min(), element="Cu",
                     unit="mg/kg", boundaries=b110, source=KOLA_SOURCE)


def _texts(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.findobj(Text)]


def _by_gid(ax, gid: str) -> list:
    return [a for a in ax.get_children() if a.get_gid() == gid]


def _expected_limits(v: np.ndarray, percents) -> np.ndarray:
    """Inner class limits: numpy percentiles strictly inside (min, max), ties merged."""
    p = np.percentile(v, percents)
    return np.unique(p[(p > v.min()) & (p < v.max())])


def _rows(ax) -> list[tuple[float, float, str]]:
    """(lower, upper, percent range) of each legend class row, lowest class first."""
    out = []
    for t in ax.get_legend().get_texts():
        m = re.fullmatch(r"(\S+) – (\S+) \((\S+)\)", t.get_text())
        if m:
            out.append((float(m[1]), float(m[2]), m[3]))
    return out[::-1]


# --------------------------------------------------------------------------- classes


@pytest.mark.parametrize(
    ("element", "percents"),
    [("Cu", ATLAS_PERCENTS), ("Ni", ATLAS_PERCENTS), ("Cr", CLASS_PERCENTS),
     ("As", CLASS_PERCENTS)],  # As: many ties at the detection limit, limits merged
)
def test_legend_limits_are_numpy_percentiles(kola, element, percents) -> None:
    v = kola[element].to_numpy()
    ax = point_map(kola["lon"], kola["lat"], v, element=element, unit="mg/kg",
                   percents=percents).axes[0]
    inner = _expected_limits(v, percents)
    limits = [v.min(), *inner, v.max()]
    rows = _rows(ax)
    assert len(rows) == len(inner) + 1
    assert [r[0] for r in rows] == pytest.approx(limits[:-1], rel=5e-3)  # 3 significant digits
    assert [r[1] for r in rows] == pytest.approx(limits[1:], rel=5e-3)
    assert rows[0][2].startswith("min–")
    assert rows[-1][2].endswith("–max")
    assert ax.get_legend().get_title().get_text() == f"{element} (mg/kg)"
    if element == "Cu":
        assert [r[2] for r in rows] == ["min–P5", "P5–P25", "P25–P50", "P50–P75", "P75–P90",
                                        "P90–P98", "P98–max"]


@pytest.mark.parametrize("percents", [ATLAS_PERCENTS, CLASS_PERCENTS])
def test_each_symbol_has_the_class_numpy_digitize_gives(kola, percents) -> None:
    v = kola["Cu"].to_numpy()
    censored = v == v.min()
    crs = local_crs(kola["lon"], kola["lat"])
    ax = point_map(kola["lon"], kola["lat"], v, censored=censored, element="Cu", unit="mg/kg",
                   percents=percents, crs=crs).axes[0]
    x, y = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(
        kola["lon"].to_numpy(), kola["lat"].to_numpy())
    index = {(round(a), round(b)): i for i, (a, b) in enumerate(zip(x, y, strict=True))}
    expected = np.digitize(v, _expected_limits(v, percents))
    n = expected.max() + 1
    colours = [to_hex(c) for c in matplotlib.colormaps["viridis"](np.linspace(0, 1, n))]
    seen, sizes = 0, []
    for k in range(n):
        marker = MarkerStyle(MARKERS[k])
        shape = marker.get_path().transformed(marker.get_transform()).vertices
        for gid, open_ in ((f"class-{k}", False), (f"class-{k}-censored", True)):
            for coll in _by_gid(ax, gid):
                rows = [index[(round(a), round(b))] for a, b in coll.get_offsets()]
                assert (expected[rows] == k).all()
                assert (censored[rows] == open_).all()
                assert np.allclose(coll.get_paths()[0].vertices, shape)
                edge, face = coll.get_edgecolor(), coll.get_facecolor()
                if open_:
                    assert face.size == 0 or (face[:, 3] == 0).all()
                    assert to_hex(edge[0]) == colours[k]
                else:
                    assert to_hex(face[0]) == colours[k]
                    sizes.append(coll.get_sizes()[0])
                seen += len(rows)
    assert seen == v.size  # every sample drawn exactly once
    assert sizes == sorted(sizes)
    assert sizes[0] < sizes[-1]


def test_cells_coloured_by_class_and_reprojected_exactly(kola_cells) -> None:
    v = kola_cells.to_numpy()
    ax = cell_map(GLOBAL, 20_000, kola_cells.index.to_numpy(), v, element="Cu",
                  unit="mg/kg").axes[0]
    (cells,) = _by_gid(ax, "cells")
    k = np.digitize(v, _expected_limits(v, ATLAS_PERCENTS))
    colours = [to_hex(c) for c in matplotlib.colormaps["viridis"](np.linspace(0, 1, k.max() + 1))]
    assert [to_hex(c) for c in cells.get_facecolor()] == [colours[i] for i in k]
    # both CRSs are equal-area: a densified 20 km cell keeps its 400 km² area in the map
    lon, lat = GLOBAL.cell_centres(kola_cells.index.to_numpy())
    map_crs = local_crs(lon, lat)
    cx, cy = pyproj.Transformer.from_crs("EPSG:4326", map_crs, always_xy=True).transform(lon, lat)
    for path, x, y in zip(cells.get_paths(), cx, cy, strict=True):
        px, py = path.vertices[:, 0], path.vertices[:, 1]
        area = 0.5 * abs(np.dot(px, np.roll(py, 1)) - np.dot(py, np.roll(px, 1)))
        assert area == pytest.approx(400e6, rel=2e-3)
        assert MplPath(path.vertices).contains_point((x, y))


# --------------------------------------------------------------------------- furniture


def _scale_bar(fig: Figure, crs) -> tuple[float, float, float]:
    """(labelled km, geodesic km between the drawn end points, bar width / map width)."""
    ax = fig.axes[0]
    (bar,) = _by_gid(ax, "scalebar")
    (label,) = _by_gid(ax, "scalebar-label")
    km = float(label.get_text().removesuffix(" km"))
    to_wgs = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    lon, lat = to_wgs.transform(bar.get_xdata(), bar.get_ydata())
    true_km = GEOD.inv(lon[0], lat[0], lon[1], lat[1])[2] / 1000.0
    x0, x1 = ax.get_xlim()
    return km, true_km, float(np.ptp(bar.get_xdata()) / (x1 - x0))


@pytest.mark.parametrize(
    ("dataset", "kind", "crs"),
    [
        ("kola", "points", None),
        ("kola", "points", "EPSG:6933"),  # east-west stretched 2.4 times at 69°N
        ("kola", "points", "EPSG:32635"),
        ("kola", "cells", None),
        ("gemas", "points", None),  # all Europe: 1:5 of the map is ~800 km
        ("gemas", "points", "EPSG:3035"),
    ],
)
def test_scale_bar_label_is_the_geodesic_length_of_the_bar(
    kola, gemas, kola_cells, dataset, kind, crs
) -> None:
    df = kola if dataset == "kola" else gemas.rename(columns={"longitude": "lon",
                                                              "latitude": "lat"})
    if kind == "points":
        fig = point_map(df["lon"], df["lat"], df["Cr"], element="Cr", unit="mg/kg", crs=crs)
        map_crs = crs or local_crs(df["lon"], df["lat"])
    else:
        fig = cell_map(GLOBAL, 20_000, kola_cells.index, kola_cells, element="Cu",
                       unit="mg/kg")
        map_crs = local_crs(*GLOBAL.cell_centres(kola_cells.index.to_numpy()))
    km, true_km, share = _scale_bar(fig, map_crs)
    assert true_km == pytest.approx(km, rel=0.01)
    mantissa = km / 10 ** np.floor(np.log10(km))
    assert round(mantissa, 9) in {1.0, 2.0, 5.0}
    assert 0.1 < share < 0.35  # about a fifth of the map


@pytest.mark.parametrize(
    ("file", "drawn", "not_drawn"),
    [
        ("ne_110m_admin_0_countries.geojson", {"FIN", "NOR", "RUS"}, {"USA", "DEU", "GBR"}),
        ("ne_10m_admin_0_countries_deu.geojson", {"FIN", "NOR", "RUS"}, {"USA", "DEU"}),
    ],
)
def test_kola_boundaries_are_finland_norway_russia(kola, data_dir, file, drawn,
                                                   not_drawn) -> None:
    fig = point_map(kola["lon"], kola["lat"], kola["Ni"], element="Ni", unit="mg/kg",
                    boundaries=data_dir / "boundaries" / file)
    ax = fig.axes[0]
    codes = {str(a.get_gid()).removeprefix("boundary-") for a in ax.collections
             if str(a.get_gid()).startswith("boundary-")}
    assert drawn <= codes
    assert not codes & not_drawn
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    lo = np.array([x0 - 0.11 * (x1 - x0), y0 - 0.11 * (y1 - y0)])
    hi = np.array([x1 + 0.11 * (x1 - x0), y1 + 0.11 * (y1 - y0)])
    for gid in (f"boundary-{c}" for c in codes):  # clipped to the map plus its 10 % frame
        for seg in _by_gid(ax, gid)[0].get_segments():
            assert np.isfinite(seg).all()
            assert ((seg > lo) & (seg < hi)).all()


def test_boundaries_across_the_antimeridian(b110) -> None:
    """Chukotka and Alaska: sites on both sides of 180°, both countries drawn, no line
    wraps around the world."""
    lon = np.array([172.0, 176.0, 179.5, -179.0, -175.0, -168.0, -165.0])
    lat = np.array([64.5, 65.5, 66.0, 65.0, 66.5, 65.6, 64.8])
    ax = point_map(lon, lat, np.arange(1.0, 8.0), element="Cu", unit="mg/kg",
                   boundaries=b110).axes[0]
    width = np.ptp(ax.get_xlim())
    codes = {str(c.get_gid()) for c in ax.collections}
    assert {"boundary-RUS", "boundary-USA"} <= codes
    for coll in ax.collections:
        if str(coll.get_gid()).startswith("boundary-"):
            for seg in coll.get_segments():
                assert np.isfinite(seg).all()
                assert np.abs(np.diff(seg[:, 0])).max(initial=0) < 0.3 * width


def test_projection_citation_and_credit_are_printed(cu_points, kola) -> None:
    texts = "\n".join(_texts(cu_points))
    name = crs_name(local_crs(kola["lon"], kola["lat"]))
    assert f"Projection: {name}" in texts
    assert "Lambert azimuthal equal-area" in name
    assert f"Data: {KOLA_SOURCE}" in texts
    assert "Map: chemearth" in texts
    assert cu_points.axes[0].get_title() == "Cu (mg/kg)"
    assert "open symbol: below detection limit (2)" in texts
    assert "n = 606" in texts
    assert _by_gid(cu_points.axes[0], "north-arrow")


def test_map_axes_are_equal_aspect_without_ticks(cu_points, kola) -> None:
    ax = cu_points.axes[0]
    assert ax.get_aspect() == 1.0
    assert not ax.get_xticks().size
    assert not ax.get_yticks().size
    crs = local_crs(kola["lon"], kola["lat"])
    x, y = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(
        kola["lon"].to_numpy(), kola["lat"].to_numpy())
    for (lo, hi), data in ((ax.get_xlim(), x), (ax.get_ylim(), y)):
        margin = 0.05 * np.ptp(data)
        assert (lo, hi) == pytest.approx((data.min() - margin, data.max() + margin))


@pytest.mark.skipif(cjk_font_family() is None, reason="no CJK font installed")
def test_chinese_labels(kola, b110) -> None:
    fig = point_map(kola["lon"], kola["lat"], kola["Cu"], element="Cu", unit="mg/kg",
                    boundaries=b110, source="Kola 1995", lang="zh")
    texts = "\n".join(_texts(fig))
    ax = fig.axes[0]
    assert ax.get_title() == "Cu 含量 (mg/kg)"
    assert ax.get_legend().get_title().get_text() == "Cu 含量 (mg/kg)"
    assert "投影：" in texts
    assert "数据来源：Kola 1995" in texts
    assert "制图：chemearth" in texts
    assert "P98–最大值" in texts
    assert cjk_font_family() in ax.title.get_fontfamily()
    fig.savefig(io.BytesIO(), format="png", dpi=30)  # renders without missing-glyph trouble


# --------------------------------------------------------------------------- scales


@pytest.mark.parametrize("kind", ["points", "cells", "surface"])
def test_continuous_scale_is_log_on_a_colour_blind_safe_colormap(
    kola, kola_cells, surface, kind
) -> None:
    if kind == "points":
        fig = point_map(kola["lon"], kola["lat"], kola["Cu"], element="Cu", unit="mg/kg",
                        scale="continuous")
        mappable = _by_gid(fig.axes[0], "points")[0]
        values = kola["Cu"].to_numpy()
    elif kind == "cells":
        fig = cell_map(GLOBAL, 20_000, kola_cells.index, kola_cells, element="Cu",
                       unit="mg/kg", scale="continuous")
        mappable = _by_gid(fig.axes[0], "cells")[0]
        values = kola_cells.to_numpy()
    else:
        fig = surface_map(surface, element="Cu", unit="mg/kg", scale="continuous")
        mappable = fig.axes[0].images[0]
        values = surface.values[np.isfinite(surface.values)]
    assert isinstance(mappable.norm, LogNorm)
    assert (mappable.norm.vmin, mappable.norm.vmax) == (values.min(), values.max())
    assert mappable.get_cmap().name in SAFE_CMAPS
    assert len(fig.axes) == 2  # the map and its colorbar
    assert fig.axes[1].get_ylabel() == "Cu (mg/kg)"


def test_continuous_scale_is_linear_for_values_not_all_positive(kola) -> None:
    v = np.log10(kola["Cu"].to_numpy()) - 1.0  # negative and positive
    fig = point_map(kola["lon"], kola["lat"], v, element="log Cu", unit="-",
                    scale="continuous")
    norm = _by_gid(fig.axes[0], "points")[0].norm
    assert type(norm) is Normalize
    assert (norm.vmin, norm.vmax) == (v.min(), v.max())


def _pdf_images(fig: Figure) -> int:
    from pypdf import PdfReader

    buf = io.BytesIO()
    fig.savefig(buf, format="pdf")
    count = 0

    def walk(resources) -> None:
        nonlocal count
        xobjects = (resources or {}).get("/XObject") or {}
        for ref in xobjects.values():
            obj = ref.get_object()
            if obj.get("/Subtype") == "/Image":
                count += 1
            elif obj.get("/Subtype") == "/Form":
                walk(obj.get("/Resources"))

    for page in PdfReader(io.BytesIO(buf.getvalue())).pages:
        walk(page.get("/Resources"))
    return count


@pytest.mark.parametrize(
    ("kind", "scale", "images"),
    [
        ("points", "classes", 0),
        ("points", "continuous", 0),
        ("cells", "classes", 0),
        ("cells", "continuous", 0),
        ("surface", "classes", 1),
        ("surface", "continuous", 1),
    ],
)
def test_pdf_is_vector_except_the_surface_image(
    kola, kola_cells, surface, b110, kind, scale, images
) -> None:
    if kind == "points":
        fig = point_map(kola["lon"], kola["lat"], kola["Cu"], element="Cu", unit="mg/kg",
                        scale=scale, boundaries=b110)
    elif kind == "cells":
        fig = cell_map(GLOBAL, 20_000, kola_cells.index, kola_cells, element="Cu",
                       unit="mg/kg", scale=scale, boundaries=b110)
    else:
        fig = surface_map(surface, element="Cu", unit="mg/kg", scale=scale, boundaries=b110,
                          points=(kola["lon"], kola["lat"]))
    assert _pdf_images(fig) == images


# --------------------------------------------------------------------------- surface


def test_surface_map_classes_nan_and_sites(surface, kola, b110) -> None:
    fig = surface_map(surface, element="Cu", unit="mg/kg", points=(kola["lon"], kola["lat"]),
                      boundaries=b110, source="synthetic")
    ax = fig.axes[0]
    (image,) = ax.images
    assert image.get_extent() == pytest.approx((-202_500, 202_500, -252_500, 252_500))
    z = surface.values[::-1]  # drawn with y increasing (origin "lower")
    finite = np.isfinite(z)
    data = image.get_array()
    assert (np.ma.getmaskarray(data) == ~finite).all()  # NaN cells are transparent
    v = z[finite]
    assert (data[finite] == np.digitize(v, _expected_limits(v, ATLAS_PERCENTS))).all()
    rows = _rows(ax)
    limits = [v.min(), *_expected_limits(v, ATLAS_PERCENTS), v.max()]
    assert [r[0] for r in rows] == pytest.approx(limits[:-1], rel=5e-3)
    (sites,) = _by_gid(ax, "sites")
    assert len(sites.get_xdata()) == len(kola)
    assert {"boundary-FIN", "boundary-RUS"} <= {str(c.get_gid()) for c in ax.collections}
    assert "Projection: Lambert azimuthal equal-area, centre 68.5°N 30°E, WGS 84" in "\n".join(
        _texts(fig))
    km, true_km, _ = _scale_bar(fig, pyproj.CRS(surface.attrs["crs"]))
    assert true_km == pytest.approx(km, rel=0.01)


def test_draws_into_a_given_axes(kola, surface) -> None:
    page = Figure(figsize=(12, 5), layout="constrained")
    left, right = page.subplots(1, 2)
    out = point_map(kola["lon"], kola["lat"], kola["Ni"], element="Ni", unit="mg/kg", ax=left)
    assert out is page
    assert surface_map(surface, element="Cu", unit="mg/kg", ax=right) is page
    assert left.get_title() == "Ni (mg/kg)"
    assert right.images


# --------------------------------------------------------------------------- errors


def _bad_surface(surface: xr.DataArray, case: str) -> xr.DataArray:
    if case == "no crs":
        return surface.copy().assign_attrs(crs=None)
    if case == "dims":
        return surface.transpose("x", "y")
    if case == "geographic":
        return surface.copy().assign_attrs(crs="EPSG:4326")
    if case == "uneven":
        return surface.assign_coords(x=surface["x"] ** 1.01)
    return surface.copy(data=np.full(surface.shape, np.nan))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda k, c, s: point_map([1.0, 2.0], [60.0], [1.0, 2.0], element="Cu", unit="u"),
         "latitude has 1 entries but there are 2 values"),
        (lambda k, c, s: point_map([1.0], [60.0], [np.nan], element="Cu", unit="u"),
         "no sample with finite coordinates and a finite Cu value"),
        (lambda k, c, s: point_map([1.0], [60.0], [1.0], censored=[True, False], element="Cu",
                                   unit="u"), "censored has 2 entries"),
        (lambda k, c, s: point_map([1.0], [60.0], [1.0], element="Cu", unit="u",
                                   scale="quantiles"), "unknown scale 'quantiles'"),
        (lambda k, c, s: point_map([1.0], [60.0], [1.0], element="Cu", unit="u", lang="fr"),
         "unknown language 'fr'"),
        (lambda k, c, s: point_map([1.0], [60.0], [1.0], element="Cu", unit="u",
                                   crs="EPSG:4326"), "must be projected"),
        (lambda k, c, s: point_map([1.0], [60.0], [1.0], element="Cu", unit="u",
                                   boundaries="/nonexistent/countries.geojson"),
         "country boundaries file not found"),
        (lambda k, c, s: cell_map(GLOBAL, 20_000, c.index[:3], c.to_numpy()[:2],
                                  element="Cu", unit="u"), "keys has 3 entries"),
        (lambda k, c, s: cell_map(GLOBAL, 10_000, c.index, c, element="Cu", unit="u"),
         "not a cell of the 10000 m level"),
        (lambda k, c, s: cell_map(GLOBAL, 20_000, c.index, c * np.nan, element="Cu",
                                  unit="u"), "no cell with a finite Cu value"),
        (lambda k, c, s: surface_map(_bad_surface(s, "no crs"), element="Cu", unit="u"),
         "surface has no CRS"),
        (lambda k, c, s: surface_map(_bad_surface(s, "dims"), element="Cu", unit="u"),
         "must have dims"),
        (lambda k, c, s: surface_map(_bad_surface(s, "geographic"), element="Cu", unit="u"),
         "must be projected"),
        (lambda k, c, s: surface_map(_bad_surface(s, "uneven"), element="Cu", unit="u"),
         "surface x must be 2 or more evenly spaced cell centres"),
        (lambda k, c, s: surface_map(_bad_surface(s, "nan"), element="Cu", unit="u"),
         "no finite value"),
    ],
)
def test_bad_input_raises_map_error(kola, kola_cells, surface, call, message) -> None:
    with pytest.raises(MapError, match=re.escape(message)) as info:
        call(kola, kola_cells, surface)
    assert isinstance(info.value, ChemearthError)
    assert isinstance(info.value, ValueError)


def test_public_names() -> None:
    assert sorted(maps.__all__) == sorted(
        ["ATLAS_PERCENTS", "CONTINUOUS_COLORMAP", "MARKERS", "SCALES", "MapError", "cell_map",
         "point_map", "surface_map"])
    assert all(hasattr(maps, name) for name in maps.__all__)
    assert maps.CONTINUOUS_COLORMAP in SAFE_CMAPS
    assert len(ATLAS_PERCENTS) + 1 == 7
