"""Interpolated surfaces and atlas pages over the web: the library's answers for whoever
may see the samples, and the sharing rules for everyone else (the route walk of
test_security covers the generic checks)."""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import quote

import numpy as np
import pytest
from tests.web.conftest import AGGREGATED, EMBARGO, PUBLIC, QC_AGGREGATED, SECRET

from chemearth.access.mapper import SURFACE_PERCENTS
from chemearth.interp.surfaces import interpolate
from chemearth.stats.classes import classify


def _get(client: Any, url: str, headers: dict[str, str], status: int = 200) -> Any:
    r = client.get(url, headers=headers)
    assert r.status_code == status, f"{url}: {r.status_code} {r.text[:300]}"
    return r


def test_surface_description_equals_the_library(secure_client: Any, secure_store: Any) -> None:
    d = _get(secure_client, f"/api/surfaces/{PUBLIC}/Zn?level=1km",
             secure_store.headers("anonymous")).json()
    want = interpolate(secure_store.store, PUBLIC, "Zn")
    cells = want.cells("global", "1km")
    assert d["variogram"]["model"] == want.variogram.model
    assert d["variogram"]["range"] == pytest.approx(want.variogram.range)
    assert d["cross_validation"]["rmse"] == pytest.approx(want.cross_validation["rmse"])
    assert d["n_cells"] == len(cells)
    limits = [c["lower"] for c in d["legend"]["classes"]] + [d["legend"]["classes"][-1]["upper"]]
    expected = np.percentile(cells["estimate"], SURFACE_PERCENTS)
    np.testing.assert_allclose(limits[1:-1], expected)
    assert len(d["legend"]["classes"]) == 7
    assert "crs_wkt" not in d
    legend = _get(secure_client, f"/api/layers/{PUBLIC}/Zn/legend?level=1km&method="
                  + quote(d["method"]), secure_store.headers("anonymous")).json()
    assert d["qc"] == legend["qc"]  # the fitness-for-purpose note of the measurement
    assert d["qc"]["qc_datasets"] == [QC_AGGREGATED]


def test_surface_tile_pixels_have_the_cells_class_colours(secure_client: Any,
                                                          secure_store: Any) -> None:
    """Independent check: project each 1 km cell centre into the tile and compare the
    pixel with the legend colour of the cell's class."""
    import morecantile
    import pyproj
    from PIL import Image

    from chemearth.grid.geometry import get_grid

    anon = secure_store.headers("anonymous")
    d = _get(secure_client, f"/api/surfaces/{PUBLIC}/Zn?level=1km", anon).json()
    cells = interpolate(secure_store.store, PUBLIC, "Zn").cells("global", "1km")
    tms = morecantile.tms.get("WebMercatorQuad")
    z = 11
    t = tms.tile(float(cells["longitude"].median()), float(cells["latitude"].median()), z)
    png = _get(secure_client, f"/tiles/surface/{PUBLIC}/Zn/{z}/{t.x}/{t.y}.png?level=1km",
               anon).content
    img = np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))
    b = tms.xy_bounds(t)
    g = get_grid("global")
    cx, cy = g.cell_centres(cells["cell_key"].to_numpy(), to_wgs84=False)
    mx, my = pyproj.Transformer.from_crs(g.crs, "EPSG:3857", always_xy=True).transform(cx, cy)
    px = ((mx - b.left) / (b.right - b.left) * 256).astype(int)
    py = ((b.top - my) / (b.top - b.bottom) * 256).astype(int)
    inside = (px >= 0) & (px < 256) & (py >= 0) & (py < 256)
    assert inside.sum() >= 5
    classes = d["legend"]["classes"]
    k = classify(cells["estimate"].to_numpy(), [c["lower"] for c in classes[1:]])
    for i in np.flatnonzero(inside):
        colour = classes[int(k[i])]["colour"]
        rgb = tuple(int(colour[j:j + 2], 16) for j in (1, 3, 5))
        assert tuple(img[py[i], px[i], :3]) == rgb
        assert img[py[i], px[i], 3] > 0


@pytest.mark.parametrize("fmt", ["png", "pdf"])
def test_atlas_page(secure_client: Any, secure_store: Any, fmt: str) -> None:
    r = _get(secure_client, f"/atlas/{PUBLIC}/Zn.{fmt}?kind=points",
             secure_store.headers("anonymous"))
    assert r.headers["content-type"] == ("image/png" if fmt == "png" else "application/pdf")
    assert r.content.startswith(b"\x89PNG" if fmt == "png" else b"%PDF")
    if fmt == "pdf":
        pymupdf = pytest.importorskip("pymupdf")
        text = pymupdf.open(stream=r.content, filetype="pdf")[0].get_text()
        base = _get(secure_client, "/api/elements/Zn",
                    secure_store.headers("anonymous")).json()["baselines"]
        row = next(b for b in base if b["dataset_id"] == PUBLIC)
        from chemearth.render.atlas import _fmt

        assert _fmt(row["median"]) in text
        assert "Zn  zinc" in text
    etag = r.headers["etag"]
    again = secure_client.get(f"/atlas/{PUBLIC}/Zn.{fmt}?kind=points",
                              headers={**secure_store.headers("anonymous"),
                                       "if-none-match": etag})
    assert again.status_code == 304


def test_aggregated_dataset_refuses_every_element_alike(secure_client: Any,
                                                        secure_store: Any) -> None:
    """Surfaces are made from samples: 403 for held, embargoed and absent elements alike,
    unless the actor has full access."""
    anon = secure_store.headers("anonymous")
    bodies = set()
    for el in ("Pb", *EMBARGO, "Og"):
        for url in (f"/api/surfaces/{AGGREGATED}/{el}",
                    f"/atlas/{AGGREGATED}/{el}.png?kind=points",
                    f"/tiles/surface/{AGGREGATED}/{el}/9/300/120.png"):
            r = _get(secure_client, url, anon, 403)
            bodies.add(r.text.replace(el, "EL"))
    assert len(bodies) == 1
    admin = secure_store.headers("admin")
    assert _get(secure_client, f"/api/surfaces/{AGGREGATED}/Pb", admin).json()["n_cells"] > 0


def test_restricted_dataset_answers_as_missing(secure_client: Any, secure_store: Any) -> None:
    for actor in ("anonymous", "partner", "other-org"):
        h = secure_store.headers(actor)
        a = _get(secure_client, f"/api/surfaces/{SECRET}/Zn", h, 404).text
        b = _get(secure_client, "/api/surfaces/no-such-survey/Zn", h, 404).text
        assert a.replace(SECRET, "X") == b.replace("no-such-survey", "X")
    _get(secure_client, f"/api/surfaces/{SECRET}/Zn", secure_store.headers("owner"))


@pytest.mark.parametrize("url", [
    f"/atlas/{PUBLIC}/Zn.svg",
    f"/api/surfaces/{PUBLIC}/Zn?method=spline",
    f"/api/surfaces/{PUBLIC}/Zn?level=10parsecs",
    f"/tiles/surface/{PUBLIC}/Zn/3/1/1.png?grid=mars",
])
def test_bad_requests(secure_client: Any, secure_store: Any, url: str) -> None:
    r = secure_client.get(url, headers=secure_store.headers("anonymous"))
    assert r.status_code in (404, 422)
