"""Nothing restricted leaks through any door: a table-driven walk of every API route.

Every route of the OpenAPI document (and every page) is called by each of six actors
with parameters that aim at a restricted dataset, an embargoed element and cells of
fewer than k samples. For each answer:

* a restricted dataset answers exactly as a dataset that does not exist (status and
  body, once the requested id is swapped), unless the actor has full access;
* an embargoed element answers exactly as an element the dataset does not hold;
* no body names the restricted dataset's title or citation, lists an embargoed element,
  carries a sample of the aggregated-only dataset, or a cell of fewer than k samples;
* binary answers are checked too: tiles are transparent over unpublished cells, and
  GeoTIFF, NetCDF and CSV downloads hold only published cells;
* full-access actors do get the data (so the test can fail both ways).

Data-quality reports and figures add quality-control datasets behind each survey (see
tests/web/conftest.py): restricted ones stay out of reports and figures, embargoed elements
out of every row and figure, and figures of an aggregated-only one need sample access. The
QC verdicts on legends, cells, surfaces and features are the actor's own report's figures.

Pooled layers join the walk: every dataset route is also aimed at ``pooled:public`` and
``pooled:org:NGU``, and the global routes (``/api/global...``) at both scopes. The public
scope is the same for everyone and never holds the restricted dataset (its floodplain
layer answers as an absent element) nor an embargoed element of the aggregated one; its
cells holding aggregated samples show no extremes, and their downloads and tiles only
cells the aggregated dataset publishes. NGU's own scope answers, to everyone but its
organisation and the administrator, exactly as the scope of an organisation that does
not exist; to them it gives the data (so the test can fail both ways).
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import numpy as np
import pytest
from tests.web.conftest import (
    ACTORS,
    AGGREGATED,
    EMBARGO,
    FULL_ACCESS,
    ORG_VIEWERS,
    OWNER_ORG,
    POOLED_ORG,
    POOLED_PUBLIC,
    PUBLIC,
    QC_AGGREGATED,
    QC_PUBLIC,
    QC_RESTRICTED,
    SECRET,
    SECRET_TITLE,
)

MISSING_DS = "nonexistent-survey"
MISSING_EL = "Og"  # oganesson: in no survey
#: CQL2 filters of the items routes aimed at the element too (a property of the samples,
#: the cells' element): a filter must tell nothing that the route without it does not
FILTERS = {"samples": "{el} > 0 OR {el} IS NULL",
           "cells": "element = '{el}' AND (median > 0 OR median IS NULL OR n < 3)"}
K = 3
LEVEL = "40km"  # Kola humus has cells of 1 and 2 samples at 40 km, and of 7 or more
#: what only the full-access actors of SECRET may read anywhere (its title, its citation,
#: and the id of the restricted QC dataset of the public survey, NGU's like SECRET)
SECRET_MARKS = (SECRET_TITLE, "CR-7741", QC_RESTRICTED)
PNG = b"\x89PNG"

#: elements aimed at, per dataset
ELEMENTS = {PUBLIC: ("Zn",), AGGREGATED: ("Pb", *EMBARGO), SECRET: ("Zn",), MISSING_DS: ("Zn",),
            POOLED_PUBLIC: ("Pb", "Ni", "Zn"), POOLED_ORG: ("Pb", "Ni", "Zn")}

#: an organisation without datasets (its scope is what NGU's answers as to outsiders)
MISSING_ORG = "NOSUCH"
#: a medium group no survey of the store has
MISSING_MEDIUM = "moss"
#: the medium group of each element aimed at in pooled layers: Pb in humus (Kola humus
#: under disclosure control in the public scope), Ni in humus (embargoed: NGU's scope
#: only), Zn in floodplain sediment (the restricted Meuse survey: NGU's scope only)
POOLED_MEDIUM = {"Pb": "humus", "Ni": "humus", "Zn": "floodplain"}
#: the method class of each medium group's layers in the secure store
POOLED_METHOD = {"humus": "nitric-acid", "floodplain": "aqua-regia", "topsoil": "nitric-acid"}
#: (element, medium group) of the public scope that nobody sees there
PUBLIC_ABSENT = {("Ni", "humus"), ("Zn", "floodplain")}
#: cases of the global routes: (element, medium group) and, for coverage, (medium, format)
GLOBAL_LAYERS = (("Pb", "humus"), ("Ni", "humus"), ("Zn", "floodplain"), ("Zn", "topsoil"))
GLOBAL_COVERAGE = (("humus", "json"), ("topsoil", "geojson"), ("floodplain", "json"))


@dataclass(frozen=True)
class Case:
    """One request: the route template, the URL, and what it aims at."""

    route: str
    url: str
    dataset: str | None = None
    element: str | None = None
    #: (id, stand-in): to actors not in ``seen_by`` the answer is, word for word, the
    #: answer with the id swapped for the stand-in (something that does not exist)
    absent: tuple[str, str] | None = None
    seen_by: frozenset[str] = frozenset()

    def swapped(self, old: str, new: str) -> str:
        """The URL with an identifier swapped (in the path and query alike)."""
        return re.sub(rf"(?<![\w-]){re.escape(old)}(?![\w-])", new, self.url)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def client(secure_client: Any) -> Any:
    return secure_client


@pytest.fixture(scope="module")
def admin(secure_store: Any) -> dict[str, str]:
    return secure_store.headers("admin")


@pytest.fixture(scope="module")
def kola_cells(secure_store: Any) -> Any:
    """Kola humus Pb cells at 40 km, straight from the store (with n), and whether an
    anonymous median map shows them: the cell passes disclosure control
    (``chemearth.access.disclosure``, checked by ``tests/security``) and its median may
    be published (n >= 2k + 1)."""
    return kola_pb_cells(secure_store)


def kola_pb_cells(secure_store: Any) -> Any:
    """What the ``kola_cells`` fixture gives, for a secure store of either backend."""
    from chemearth.access.disclosure import statistic_published
    from chemearth.access.gateway import Gateway

    store = secure_store.store
    frame = store.cells("global", dataset_id=AGGREGATED, element="Pb", level_m=40_000)
    row = frame.iloc[0]
    pub = Gateway(store).publication(AGGREGATED, "Pb", str(row["medium"]), str(row["method"]))
    keys = frame["cell"].to_numpy(dtype=np.int64)
    frame["published"] = pub.published(40_000, keys) & np.array(
        [statistic_published("median", int(n), K) for n in frame["n"]])
    assert (frame["n"] < K).any()
    assert frame["published"].any()
    assert (~frame["published"] & (frame["n"] >= K)).any()  # suppressed or median withheld
    return frame


@pytest.fixture(scope="module")
def cases(client: Any, admin: dict[str, str], kola_cells: Any) -> list[Case]:
    """Every API route instantiated with the values of the table below."""
    return walk_cases(client, admin, kola_cells)


def walk_cases(client: Any, admin: dict[str, str], kola_cells: Any) -> list[Case]:
    """The ``cases`` fixture's requests, for a client of either backend."""
    import morecantile

    from chemearth.grid.geometry import get_grid

    g = get_grid("global")
    small = kola_cells[kola_cells["n"] < K].iloc[0]
    lon, lat = (float(v[0]) for v in g.cell_centres(np.array([small["cell"]])))
    tms = morecantile.tms.get("WebMercatorQuad")
    centre = {PUBLIC: (6.85, 47.2), AGGREGATED: (lon, lat), SECRET: (5.74, 50.97),
              MISSING_DS: (5.74, 50.97)}
    centre |= {POOLED_MEDIUM[el]: centre[ds] for el, ds in (("Pb", AGGREGATED),
                                                             ("Zn", SECRET))}
    fids: dict[str, list[str]] = {}
    for ds in (PUBLIC, AGGREGATED, SECRET):
        for kind, el in (("cells", ELEMENTS[ds][0]), ("samples", None)):
            q = {"limit": 1, **({"element": el, "level": LEVEL} if el else {})}
            r = client.get(f"/api/collections/{ds}.{kind}/items?{urlencode(q)}", headers=admin)
            assert r.status_code == 200, r.text
            fids.setdefault(ds, []).append(r.json()["features"][0]["id"])
    for ds in (PUBLIC, AGGREGATED, SECRET):  # photos and videos: real ids of each survey
        r = client.get(f"/api/datasets/{ds}/media", headers=admin)
        assert r.status_code == 200, r.text
        fids[f"media:{ds}"] = [m["media_id"] for m in r.json()["media"]]
        assert fids[f"media:{ds}"], f"no media of {ds} in the secure store"
    out: list[Case] = []
    for path, ops in client.get("/openapi.json").json()["paths"].items():
        if "get" not in ops:
            continue
        out += list(_instantiate(path, centre, fids, tms))
    return out


def _instantiate(  # noqa: C901 - one table of every route shape
    path: str, centre: dict[str, tuple[float, float]], fids: dict[str, list[str]], tms: Any
) -> Iterator[Case]:
    names = re.findall(r"{(\w+)}", path)
    if not names:
        query = {"/api/elements/{element}/plot.png": None}.get(path, {})
        if query is not None:
            yield Case(path, path)
        return
    if names == ["job_id"]:  # jobs are checked one actor at a time below
        yield Case(path, path.replace("{job_id}", "no-such-job"))
        return
    if names == ["standard_id"]:  # no data behind it
        for sid in ("gb15618-2018", "no-such-standard"):
            yield Case(path, path.replace("{standard_id}", sid))
        return
    if path.startswith("/api/global/"):
        yield from _global_cases(path, names)
        return
    if "media_id" in names:
        yield from _media_cases(path, fids)
        return
    aims_dataset = {"dataset", "cid"} & set(names) or path.endswith("plot.png")
    if not aims_dataset and "element" in names:  # across datasets: the JSON checks apply
        for el in ("Zn", "Pb", *EMBARGO, MISSING_EL):
            yield Case(path, path.replace("{element}", el), None, el)
        return
    for ds in (PUBLIC, AGGREGATED, SECRET, MISSING_DS, POOLED_PUBLIC, POOLED_ORG):
        if not aims_dataset:
            break
        for el in ELEMENTS[ds]:
            where = centre[POOLED_MEDIUM[el]] if ds.startswith("pooled:") else centre[ds]
            for variant in _variants(names, path):
                t = tms.tile(*where, 9)
                values = {"dataset": ds, "element": el, "z": t.z, "x": t.x, "y": t.y,
                          "tms_id": "WebMercatorQuad", **variant}
                if "cid" in names:  # a feature collection, or a map layer <dataset>.<element>
                    values["cid"] = f"{ds}.{el if variant['kind'] == 'map' else variant['kind']}"
                if "fid" in names:
                    known = fids.get(ds, ["x~Zn~~~G10km-E001-N001", "1"])
                    values["fid"] = known[0] if variant["kind"] == "cells" else known[1]
                    if variant["kind"] == "cells" and ds == AGGREGATED:
                        values["fid"] = values["fid"].replace("~Pb~", f"~{el}~")
                url = re.sub(r"{(\w+)}", lambda m, v=values: str(v[m.group(1)]), path)
                query = (_analytics_query(path, ds, el, variant)
                         if path.startswith("/api/analytics/") else
                         _query(path, ds, el, where, variant))
                url += "?" + urlencode(query, safe=":") if query else ""
                yield Case(path, url, ds, el, *_pooled_absent(ds, el, POOLED_MEDIUM.get(el)))
                if path.endswith("/items"):  # and with a CQL2 filter aimed at the element
                    flt = urlencode({"filter": FILTERS[variant["kind"]].format(el=el)},
                                    safe="'")
                    yield Case(path, f"{url}&{flt}", ds, el,
                               *_pooled_absent(ds, el, POOLED_MEDIUM.get(el)))
    if "tms_id" in names:
        yield Case(path, path.replace("{tms_id}", "WebMercatorQuad"))


def _pooled_absent(ds: str | None, el: str | None, medium: str | None
                   ) -> tuple[tuple[str, str] | None, frozenset[str]]:
    """What a request aimed at pooled layers must answer as (see :attr:`Case.absent`)."""
    if ds == POOLED_ORG:
        return (f"org:{OWNER_ORG}", f"org:{MISSING_ORG}"), frozenset(ORG_VIEWERS)
    if ds == POOLED_PUBLIC and el is not None and (el, medium) in PUBLIC_ABSENT:
        return (el, MISSING_EL), frozenset()
    if ds == POOLED_PUBLIC and el is None and medium == "floodplain":
        return (medium, MISSING_MEDIUM), frozenset()
    return None, frozenset()


def _global_cases(path: str, names: list[str]) -> Iterator[Case]:
    """The global routes, aimed at both scopes: layers the public scope holds (Kola humus
    under control, Jura), an embargoed element, the restricted survey's medium group."""
    for scope, ds in (("public", POOLED_PUBLIC), (f"org:{OWNER_ORG}", POOLED_ORG)):
        if names == ["medium"]:
            for medium, fmt in GLOBAL_COVERAGE:
                url = path.replace("{medium}", medium) + "?" + urlencode(
                    {"scope": scope, "fmt": fmt}, safe=":")
                yield Case(path, url, ds, None, *_pooled_absent(ds, None, medium))
            continue
        assert names == ["element"], path
        for el, medium in GLOBAL_LAYERS:
            url = path.replace("{element}", el) + "?" + urlencode(
                {"scope": scope, "medium": medium, "method": POOLED_METHOD[medium]}, safe=":")
            yield Case(path, url, ds, el, *_pooled_absent(ds, el, medium))


#: a media id no photo or video has (media ids are 20 hex digits)
MISSING_MEDIA = "0" * 20


def _media_cases(path: str, fids: dict[str, list[str]]) -> Iterator[Case]:
    """The photos and videos of each survey, and an id no item has: the restricted survey's
    answer as a missing dataset's; the aggregated survey's, to whoever may not see its
    samples, as a missing media id's."""
    for ds in (PUBLIC, AGGREGATED, SECRET):
        for mid in (*fids[f"media:{ds}"], MISSING_MEDIA):
            url = path.replace("{dataset}", ds).replace("{media_id}", mid)
            absent = (mid, MISSING_MEDIA) if ds == AGGREGATED and mid != MISSING_MEDIA else None
            yield Case(path, url, ds, None, absent, frozenset(FULL_ACCESS[AGGREGATED]))


def _variants(names: list[str], path: str) -> list[dict[str, str]]:
    if path.startswith("/quality/"):  # both figures and both formats, in two requests
        return [{"plot": "thompson-howarth", "fmt": "png"}, {"plot": "control", "fmt": "svg"}]
    if path.startswith("/atlas/"):
        return [{"fmt": "png"}, {"fmt": "pdf"}]
    if "/tiles/assess/" in path:
        return [{"kind": "screening"}, {"kind": "change"}]
    if path.startswith("/api/analytics/fractal/") and not path.endswith("/zones"):
        return [{"kind": "C-A"}, {"kind": "C-N"}]
    # the analytics' map forms (f=geojson) hold every record of their JSON answers as a
    # feature's properties and every other member (tests/web/test_analytics_api.py and
    # test_analytics_fields_api.py check they are equal): the walk reads the map form only
    if path.startswith("/api/analytics/compositional/") and not path.endswith("/cells"):
        return [{"scores": "false"}, {"f": "geojson"}]  # the summary; the scores' map form
    if path.startswith(("/api/analytics/probability/", "/api/analytics/change-significance/",
                        "/api/analytics/spectrum-area/", "/api/analytics/singularity/")):
        return [{"f": "geojson"}]
    if path.startswith("/api/analytics/spider/"):
        return [{"per_sample": "false"}, {"per_sample": "true"}]
    if path.startswith("/api/assess/screening/") and not path.endswith("/cell"):
        return [{"by": by} for by in ("sample", "cell", "country", "all")]
    if "cid" in names:
        maps = [{"kind": "map"}] if path == "/api/collections/{cid}" else []  # OGC API - Tiles
        return [{"kind": "cells"}, {"kind": "samples"}, *maps]
    if "fmt" in names:
        fmts = ("csv", "gpkg") if "samples" in path else ("tif", "nc", "csv", "parquet")
        return [{"fmt": f} for f in fmts]
    return [{}]


def _query(
    path: str, ds: str, el: str, lonlat: tuple[float, float], variant: dict[str, str]
) -> dict[str, Any]:
    if "/assess/" in path:  # the assessment routes: aim at 10 km cells, pair with itself
        q = {"level": LEVEL, **variant}
        if path.endswith("/cell"):  # the screened cell under the dataset's centre
            q.update(lon=lonlat[0], lat=lonlat[1])
        if "/change/" in path or variant.get("kind") == "change":
            q["against"] = ds
        if "/enrichment/" in path:
            q = {"over": ds}
        if "/anomalies/" in path:
            q["associated"] = ",".join(("Pb", "Zn", *EMBARGO))
        return {k: v for k, v in q.items() if k != "kind"}
    if path.startswith("/atlas/"):  # sample points: the cheapest page, same access rules
        return {"kind": "points"}
    if "/surface" in path:
        return {"level": LEVEL}
    if (path.startswith("/api/layers/") or "/layers/" in path  # and OGC API - Tiles' layers
            or "/map/tiles" in path or variant.get("kind") == "map"):
        q: dict[str, Any] = {"level": LEVEL}
        if ds.startswith("pooled:"):
            q["medium"] = POOLED_MEDIUM[el]
        if path.endswith("/cell"):
            q.update(lon=lonlat[0], lat=lonlat[1])
        return q
    if path.endswith("/items"):
        return {"element": el, "level": LEVEL, "limit": 10_000}
    if path.endswith("plot.png"):
        return {"dataset": ds}
    if "samples." in path:
        return {"element": el}
    return {}


def _analytics_query(path: str, ds: str, el: str, variant: dict[str, str]) -> dict[str, Any]:
    """The analytics routes: 40 km cells (some of Kola humus's hold fewer than k samples),
    the element aimed at first in every list of elements, change against the dataset."""
    q: dict[str, Any] = {"level": LEVEL, **variant}
    if ds.startswith("pooled:"):
        q["medium"] = POOLED_MEDIUM[el]
    if "/composite/" in path:
        q["elements"] = f"{el},Pb,Zn"
    if "/compositional/" in path:  # Kola humus: Cu and Ni embargoed; Jura: all seven
        if path.endswith("/cells"):  # published cell medians: the level and pooled medium
            q["elements"] = f"{el},Pb,Zn,Co,Cr,Cd,Mn"
        else:
            q = {"elements": f"{el},Pb,Zn,Co,Cr,Cd,Mn,Fe,Cu,Ni", **variant}
    if "/spider/" in path:  # Kola humus: La its only rare earth; Jura: none
        q["elements"] = f"{el},La,Pb,Zn,Co,Cd"
        q["reference"] = "UCC"
    if "/change-significance/" in path:
        q["against"] = ds
    return q


# --------------------------------------------------------------------------- checks


def _get(client: Any, url: str, headers: dict[str, str]) -> Any:
    r = client.get(url, headers=headers)
    assert r.status_code < 500, f"{url}: {r.status_code} {r.text[:300]}"
    return r


def _walk(obj: Any) -> Iterator[dict[str, Any]]:
    if isinstance(obj, dict):
        yield obj
        for v in obj.values():
            yield from _walk(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _walk(v)


def _check_json(body: Any, actor: str, url: str) -> None:
    kola_full = actor in FULL_ACCESS[AGGREGATED]
    for d in _walk(body):
        props = d.get("properties", d)
        ds = props.get("dataset", props.get("dataset_id"))
        if ds == SECRET:
            assert actor in FULL_ACCESS[SECRET], f"{url}: {actor} sees {SECRET}: {d}"
        _check_pooled_json(props, actor, url)
        if ds != AGGREGATED or kola_full:
            continue
        assert props.get("element") not in EMBARGO, f"{url}: {actor} sees embargoed {d}"
        assert not set(EMBARGO) & set(props), f"{url}: {actor} sees embargoed values {props}"
        if "elements" in props:  # element codes, or rows of a quality report
            names = {e if isinstance(e, str) else e.get("element") for e in props["elements"]}
            assert not set(EMBARGO) & names, f"{url}: lists embargoed"
        assert "sample_id" not in props, f"{url}: {actor} sees a sample of {AGGREGATED}"
        if "n" in props and props["n"] is not None and "cell_id" in props:
            assert props["n"] >= K, f"{url}: {actor} sees a cell of n={props['n']}"


def _check_pooled_json(props: dict[str, Any], actor: str, url: str) -> None:
    """Pooled layers, their cells and legends: NGU's own for its organisation only; in the
    public scope (the same for everyone), never the restricted dataset nor an embargoed
    element of the aggregated one, and cells holding its samples without extremes."""
    ds = props.get("dataset")
    if ds == POOLED_ORG or props.get("scope") == f"org:{OWNER_ORG}":
        assert actor in ORG_VIEWERS, f"{url}: {actor} sees NGU's pooled layers: {props}"
    if ds != POOLED_PUBLIC:  # (the public scope's layers and legends in the catalogue:
        return               # test_the_public_pooled_layers_are_everyones_...)
    members = props.get("datasets")
    if isinstance(members, list):  # a pooled layer or legend
        assert SECRET not in members, f"{url}: {actor}: {SECRET} in a public pooled layer"
        if AGGREGATED in members:
            assert props.get("element") not in EMBARGO, f"{url}: {actor} sees embargoed {props}"
    contributors = props.get("contributors")
    if isinstance(contributors, list):  # a pooled cell's record
        names = {c.get("dataset") for c in contributors}
        assert SECRET not in names, f"{url}: {actor}: {SECRET} in a public pooled cell"
        if AGGREGATED in names:
            assert props.get("element") not in EMBARGO, f"{url}: {actor} sees embargoed {props}"
            for name in ("min", "max", "dl_max"):
                assert props.get(name) is None, f"{url}: {actor} sees the {name}: {props}"
            assert all(c["n"] >= K for c in contributors if c.get("dataset") == AGGREGATED)


def _check_text(text: str, actor: str, case: Case) -> None:
    if actor in FULL_ACCESS[SECRET]:
        return
    for mark in SECRET_MARKS:
        assert mark not in text, f"{case.url}: {actor} sees {mark!r}"
    if SECRET not in case.url:
        assert SECRET not in text, f"{case.url}: {actor} sees the id {SECRET!r}"


def _check_binary(
    r: Any, actor: str, case: Case, kola_cells: Any, published: set[int]
) -> None:
    """Downloads and tiles of the aggregated dataset hold published cells only."""
    if case.dataset == POOLED_PUBLIC and case.element == "Pb":  # the same for everyone
        _check_pooled_binary(r, case, kola_cells, published)
        return
    if case.dataset != AGGREGATED or actor in FULL_ACCESS[AGGREGATED]:
        return
    ctype = r.headers["content-type"]
    if ctype.startswith("image/png") and "/tiles/" in case.url:
        _check_tile(r.content, case, kola_cells)
    elif ctype.startswith("text/csv") and "/layers/" in case.url:
        rows = [line for line in r.text.splitlines()[3:]
                if line and not line.startswith(("#", "\"#"))]
        ns = [int(line.split(",")[3]) for line in rows]
        assert ns, f"{case.url}: CSV holds no cells"
        assert min(ns) >= K, f"{case.url}: CSV holds cells of n < {K}"
    elif ctype.startswith("application/x-netcdf"):
        import xarray as xr

        with xr.open_dataset(io.BytesIO(r.content), engine="h5netcdf") as ds:
            n = ds["n"].values
        assert n[n > 0].min() >= K
        assert (n > 0).sum() == len(published)
    elif ctype.startswith("image/tiff"):
        import rasterio

        with rasterio.MemoryFile(r.content) as mem, mem.open() as src:
            band = src.read(1, masked=True)
        assert int(band.count()) == len(published), f"{case.url}: GeoTIFF cell count"
    elif "parquet" in ctype:
        frame = _parquet(r.content)
        assert len(frame) == len(published), f"{case.url}: GeoParquet cell count"
        assert _keys(frame["cell_id"]) == published
        assert frame["n"].min() >= K, f"{case.url}: GeoParquet holds cells of n < {K}"
        for name in ("min", "max", "dl_max"):
            assert frame[name].isna().all(), f"{case.url}: GeoParquet holds the {name}"


def _parquet(content: bytes) -> Any:
    import pyarrow.parquet as pq

    return pq.read_table(io.BytesIO(content)).drop_columns(["geometry"]).to_pandas()


def _keys(cell_ids: Any) -> set[int]:
    from chemearth.grid.geometry import get_grid

    return {int(k) for k in get_grid("global").id_to_key([str(c) for c in cell_ids])}


def _check_pooled_binary(r: Any, case: Case, kola_cells: Any, published: set[int]) -> None:
    """The public pooled humus layer of Pb holds Kola humus samples only (under control):
    its downloads and tiles show cells the dataset publishes, of >= k, without extremes."""
    ctype = r.headers["content-type"]
    if ctype.startswith("image/png") and "/tiles/" in case.url:
        _check_tile(r.content, case, kola_cells, complete=False)
    elif ctype.startswith("text/csv"):
        rows = [line.split(",") for line in r.text.splitlines()[3:]
                if line and not line.startswith(("#", "\"#"))]
        assert rows, f"{case.url}: CSV holds no cells"
        assert min(int(row[3]) for row in rows) >= K, f"{case.url}: CSV holds n < {K}"
        assert _keys(row[0] for row in rows) <= published, f"{case.url}: unpublished cells"
    elif ctype.startswith("application/x-netcdf"):
        import xarray as xr

        with xr.open_dataset(io.BytesIO(r.content), engine="h5netcdf") as ds:
            n = ds["n"].values
            extremes = [ds[name].values for name in ("min", "max", "dl_max")]
        assert 0 < (n > 0).sum() <= len(published)
        assert n[n > 0].min() >= K
        assert all(np.isnan(v).all() for v in extremes), f"{case.url}: extremes in NetCDF"
    elif ctype.startswith("image/tiff"):
        import rasterio

        with rasterio.MemoryFile(r.content) as mem, mem.open() as src:
            band = src.read(1, masked=True)
        assert 0 < int(band.count()) <= len(published), f"{case.url}: GeoTIFF cell count"
    elif "parquet" in ctype:
        frame = _parquet(r.content)
        assert len(frame), f"{case.url}: GeoParquet holds no cells"
        assert _keys(frame["cell_id"]) <= published, f"{case.url}: unpublished cells"
        assert frame["n"].min() >= K, f"{case.url}: GeoParquet holds cells of n < {K}"
        for name in ("min", "max", "dl_max"):
            assert frame[name].isna().all(), f"{case.url}: GeoParquet holds the {name}"


def _check_tile(png: bytes, case: Case, kola_cells: Any, complete: bool = True) -> None:
    """Pixels over cells of n < k are transparent; over published cells, opaque (with
    ``complete``; a pooled layer may show fewer cells)."""
    import morecantile
    import pyproj
    from PIL import Image

    from chemearth.grid.geometry import get_grid

    xyz = re.search(r"/(\d+)/(\d+)/(\d+)\.png", case.url)
    if xyz is not None:
        z, x, y = (int(v) for v in xyz.groups())
    else:  # OGC API - Tiles: {tileMatrix}/{tileRow}/{tileCol}
        z, y, x = (int(v) for v in re.search(r"/WebMercatorQuad/(\d+)/(\d+)/(\d+)",
                                             case.url).groups())
    img = np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))
    bounds = morecantile.tms.get("WebMercatorQuad").xy_bounds(x, y, z)
    g = get_grid("global")
    to_merc = pyproj.Transformer.from_crs(g.crs, "EPSG:3857", always_xy=True)
    cx, cy = g.cell_centres(kola_cells["cell"].to_numpy(), to_wgs84=False)
    mx, my = to_merc.transform(cx, cy)
    px = ((mx - bounds.left) / (bounds.right - bounds.left) * 256).astype(int)
    py = ((bounds.top - my) / (bounds.top - bounds.bottom) * 256).astype(int)
    inside = (px >= 0) & (px < 256) & (py >= 0) & (py < 256)
    assert inside.any(), "the tile should cover Kola cells"
    alpha = img[py[inside], px[inside], 3]
    shown = kola_cells["published"].to_numpy()[inside]
    assert (alpha[~shown] == 0).all(), f"{case.url}: an unpublished cell is drawn"
    if complete:
        assert (alpha[shown] > 0).all(), f"{case.url}: a published cell is missing"


def _same_as(client: Any, case: Case, headers: dict[str, str], r: Any, old: str, new: str) -> None:
    """``r`` must equal the answer for ``new`` in place of ``old`` (ids swapped back)."""
    other = _get(client, case.swapped(old, new), headers)
    assert r.status_code == other.status_code, (
        f"{case.url}: {r.status_code} differs from {other.status_code} for {new!r}"
    )
    if r.headers.get("content-type", "").startswith(("application/json", "text/html")):
        assert r.text == re.sub(rf"(?<![\w-]){new}(?![\w-])", old, other.text), (
            f"{case.url}: body differs from the answer for {new!r}: {r.text[:200]}"
        )


def _check_pooled(client: Any, case: Case, headers: dict[str, str], r: Any, actor: str,
                  reached: dict[str, int]) -> None:
    """A pooled layer nobody (or only NGU) sees answers as one that does not exist."""
    if case.absent is not None:
        if actor in case.seen_by:  # NGU's pooled layers, or a media item of Kola humus
            reached["org" if case.dataset == POOLED_ORG else "media"] += r.status_code == 200
        else:
            _same_as(client, case, headers, r, *case.absent)
    elif case.dataset == POOLED_PUBLIC:
        reached["pooled"] += r.status_code == 200


# --------------------------------------------------------------------------- tests


@pytest.mark.slow
@pytest.mark.timeout(1800)  # one actor's walk of every route: ~7 min alone on this machine
@pytest.mark.parametrize("actor", list(ACTORS))
def test_every_route_keeps_every_secret(
    client: Any, secure_store: Any, cases: list[Case], kola_cells: Any, actor: str
) -> None:
    headers = secure_store.headers(actor)
    published = set(kola_cells.loc[kola_cells["published"], "cell"].astype(int))
    print(f"crawl: {len(cases)} requests as {actor}")
    reached = {"secret": 0, "embargo": 0, "pooled": 0, "org": 0, "media": 0}
    for case in cases:
        r = _get(client, case.url, headers)
        ctype = r.headers.get("content-type", "")
        if ctype.startswith(("application/json", "application/geo+json")):
            _check_json(r.json(), actor, case.url)
        if ctype.startswith(("application/json", "application/geo+json", "application/ld+json",
                             "text/")):
            _check_text(r.text, actor, case)
        if r.status_code == 200:
            _check_binary(r, actor, case, kola_cells, published)
        if case.dataset == SECRET:
            if actor in FULL_ACCESS[SECRET]:
                reached["secret"] += r.status_code == 200
            else:
                _same_as(client, case, headers, r, SECRET, MISSING_DS)
        if case.dataset == AGGREGATED and case.element in EMBARGO:
            if actor in FULL_ACCESS[AGGREGATED]:
                reached["embargo"] += r.status_code == 200
            else:
                _same_as(client, case, headers, r, case.element, MISSING_EL)
        _check_pooled(client, case, headers, r, actor, reached)
    # the public pooled layers answer everyone: maps, cells, downloads, global products
    assert reached["pooled"] >= 14, f"{actor} should reach the public pooled layers: {reached}"
    if actor in ORG_VIEWERS:
        assert reached["org"] >= 30, f"{actor} should reach NGU's pooled layers: {reached}"
    if actor in FULL_ACCESS[SECRET]:
        assert reached["secret"] >= 10, f"{actor} should reach {SECRET}: {reached}"
    if actor in FULL_ACCESS[AGGREGATED]:
        assert reached["embargo"] >= 10, f"{actor} should reach embargoed elements: {reached}"
        assert reached["media"] >= 2, f"{actor} should reach Kola humus's photos: {reached}"


@pytest.mark.parametrize("actor", list(ACTORS))
def test_a_job_is_seen_only_by_its_organisation(
    client: Any, secure_store: Any, actor: str
) -> None:
    """An upload's job (its dataset, file, rejected rows) is its organisation's: anyone
    else gets the answer of a job that does not exist, and no list shows it."""
    store = secure_store.store
    job_id = store.submit_job("upload", {"file": "secret.csv", "descriptor": "x"},
                              dataset_id=SECRET, actor="owner", organisation=OWNER_ORG)
    headers = secure_store.headers(actor)
    r = client.get(f"/api/jobs/{job_id}", headers=headers)
    listed = client.get("/api/jobs", headers=headers)
    if actor in ("owner", "admin"):
        assert r.status_code == 200, r.text
        assert r.json()["dataset_id"] == SECRET
        assert "payload" not in r.json()  # the descriptor stays in the store
        assert job_id in {j["job_id"] for j in listed.json()["jobs"]}
    else:
        missing = client.get("/api/jobs/20000101000000-000000000000", headers=headers)
        assert (r.status_code, r.text) == (404, missing.text)
        assert SECRET not in r.text
        if actor == "other-org":  # a data owner of another organisation: its own jobs
            assert listed.status_code == 200
            assert job_id not in listed.text
            assert SECRET not in listed.text
        else:
            assert listed.status_code == 403


def test_the_walk_covers_every_route(client: Any, cases: list[Case]) -> None:
    """A new route cannot escape the walk: every GET route of the document is called."""
    doc = client.get("/openapi.json").json()
    gets = {p for p, ops in doc["paths"].items() if "get" in ops}
    walked = {c.route for c in cases}
    assert gets - walked == set()
    others = {(p, m) for p, ops in doc["paths"].items() for m in ops if m != "get"}
    assert others == {("/api/datasets", "post"), ("/api/session", "post"),
                      ("/api/session", "delete"), ("/api/describe", "post"),
                      ("/api/check", "post"),
                      # photos and videos: tests/web/test_media_api.py (every actor)
                      ("/api/datasets/{dataset}/media", "post"),
                      ("/api/datasets/{dataset}/media/{media_id}", "delete")}, (
        "test new write routes in this file")


def test_openapi_document_names_no_secret(client: Any) -> None:
    text = client.get("/openapi.json").text
    for mark in (SECRET, *SECRET_MARKS):
        assert mark not in text


@pytest.mark.parametrize("actor", list(ACTORS))
@pytest.mark.parametrize(
    "page",
    ["/", "/catalogue", f"/catalogue/datasets/{SECRET}", f"/catalogue/datasets/{AGGREGATED}",
     "/catalogue/elements", "/catalogue/elements/Ni", "/catalogue/elements/Zn",
     "/catalogue/elements/Pb", "/upload", "/login", f"/datasets/{SECRET}/quality",
     f"/datasets/{AGGREGATED}/quality", f"/datasets/{PUBLIC}/quality"],
)
def test_pages_keep_every_secret(client: Any, secure_store: Any, actor: str, page: str) -> None:
    r = _get(client, page, secure_store.headers(actor))
    _check_text(r.text, actor, Case(page, page, SECRET if SECRET in page else None))
    if actor not in FULL_ACCESS[AGGREGATED]:
        assert f'href="/catalogue/datasets/{AGGREGATED}">{AGGREGATED}</a> · humus' not in r.text \
            or "/catalogue/elements/Ni" not in page
        if page == f"/catalogue/datasets/{AGGREGATED}":
            assert 'href="/catalogue/elements/Ni"' not in r.text
            assert "samples.csv" not in r.text
        if page == f"/datasets/{AGGREGATED}/quality":
            assert r.status_code == 200
            for el in EMBARGO:
                assert f'data-element="{el}"' not in r.text
                assert f"/{el}/thompson-howarth" not in r.text
    if actor not in FULL_ACCESS[SECRET] and SECRET in page:
        assert r.status_code == 404
    if actor in FULL_ACCESS[SECRET] and SECRET in page:
        assert r.status_code == 200
        assert SECRET_TITLE in r.text


def test_country_table_counts_only_what_is_shared(client: Any, secure_store: Any) -> None:
    """Meuse (NL) is restricted and Ni, Cu are embargoed: the public table shows neither."""
    anon = {c["country"]: c for c in client.get("/api/countries").json()["countries"]}
    owner = {c["country"]: c for c in client.get(
        "/api/countries", headers=secure_store.headers("owner")).json()["countries"]}
    assert "NL" not in anon
    assert "NL" in owner
    m = secure_store.store.measurements(AGGREGATED)
    for country in ("NO", "FI", "RU"):
        rows = m[m["country"].astype(str) == country]
        hidden = rows["element"].astype(str).isin(EMBARGO).sum()
        assert hidden > 0
        assert owner[country]["data_items"] - anon[country]["data_items"] == hidden


@pytest.mark.parametrize(
    ("actor", "status"),
    [("anonymous", 403), ("public", 403), ("partner", 403), ("other-org", 403)],
)
def test_uploads_need_the_owner_of_the_organisation(
    client: Any, secure_store: Any, data_dir: Any, actor: str, status: int
) -> None:
    from chemearth.ingest.shipped import shipped_descriptor

    text = shipped_descriptor("meuse").read_text().replace('id = "meuse"', 'id = "meuse-up"')
    files = {"file": ("meuse.csv", (data_dir / "meuse" / "meuse.csv").read_bytes()),
             "descriptor": ("meuse.toml", text.encode())}
    before = secure_store.store.datasets()["dataset_id"].tolist()
    r = client.post("/api/datasets", files=files, headers=secure_store.headers(actor))
    assert r.status_code == status, r.text
    assert secure_store.store.datasets()["dataset_id"].tolist() == before


@pytest.mark.parametrize("actor", list(ACTORS))
def test_the_descriptor_helpers_answer_as_an_upload_and_keep_every_secret(
    client: Any, secure_store: Any, data_dir: Any, actor: str
) -> None:
    """``POST /api/describe`` and ``POST /api/check`` (the upload page's helpers): NGU's
    owner and the admin get a proposal and a check; everyone else gets, word for word,
    what an upload for NGU gets; no answer names the restricted dataset's title or
    citation, and nothing is written."""
    import hashlib

    from chemearth.ingest.shipped import shipped_descriptor

    home = secure_store.home
    before = {p: hashlib.sha256(p.read_bytes()).digest() for p in sorted(home.rglob("*"))
              if p.is_file() and p.name != "audit.log"}
    csv = (data_dir / "meuse" / "meuse.csv").read_bytes()
    text = shipped_descriptor("meuse").read_text().replace('id = "meuse"', 'id = "meuse-up"')
    text = re.sub(r'organisation = ".*"', f'organisation = "{OWNER_ORG}"', text)
    headers = secure_store.headers(actor)
    described = client.post("/api/describe", files={"file": ("meuse.csv", csv)},
                            data={"organisation": OWNER_ORG}, headers=headers)
    checked = client.post("/api/check", headers=headers, files={
        "file": ("meuse.csv", csv), "descriptor": ("meuse.toml", text.encode())})
    for r in (described, checked):
        assert r.status_code < 500, r.text
        _check_text(r.text, actor, Case("/api/describe", "/api/describe"))
    if actor in ("owner", "admin"):
        assert (described.status_code, checked.status_code) == (200, 200), checked.text
        assert "upload" not in {p["where"] for p in checked.json()["problems"]}
        assert f'organisation = "{OWNER_ORG}"' in described.json()["descriptor"]
    else:
        up = client.post("/api/datasets", headers=headers, files={
            "file": ("meuse.csv", csv), "descriptor": ("meuse.toml", text.encode())})
        assert up.status_code == 403, up.text
        for r in (described, checked):
            assert (r.status_code, r.json()) == (up.status_code, up.json())
    if actor == "other-org":  # its own organisation's draft over NGU's restricted id
        mine = re.sub(r'organisation = ".*"', 'organisation = "GTK"',
                      text.replace('id = "meuse-up"', f'id = "{SECRET}"'))
        files = {"file": ("meuse.csv", csv), "descriptor": ("meuse.toml", mine.encode())}
        up = client.post("/api/datasets", files=files, headers=headers)
        r = client.post("/api/check", files=files, headers=headers)
        assert up.status_code == 403, up.text
        assert {"severity": "error", "where": "upload",
                "message": up.json()["detail"]} in r.json()["problems"]
        for mark in SECRET_MARKS:  # the id is the actor's own input; nothing else of it
            assert mark not in r.text
    after = {p: hashlib.sha256(p.read_bytes()).digest() for p in sorted(home.rglob("*"))
             if p.is_file() and p.name != "audit.log"}
    assert after == before


def test_bad_tokens_are_refused_alike(client: Any, secure_store: Any) -> None:
    good = secure_store.tokens["admin"]
    bad = [good[:-1] + ("A" if good[-1] != "A" else "B"), "ce_000000000000_" + "x" * 43,
           "not-a-token"]
    answers = {client.get("/api/session", headers={"Authorization": f"Bearer {t}"}).text
               for t in bad}
    assert len(answers) == 1
    assert "invalid" in answers.pop()
    me = client.get("/api/session", headers=secure_store.headers("admin")).json()
    assert me["role"] == "admin"


def test_tokens_are_stored_hashed(secure_store: Any) -> None:
    text = (secure_store.home / "access.json").read_text()
    for token in secure_store.tokens.values():
        if token:
            assert token not in text
            secret = token.split("_", 2)[2]  # the secret is base64url: it may hold "_"
            assert secret
            assert secret not in text
    assert json.loads(text)["tokens"][0]["sha256"]


def test_cached_tiles_are_served_only_to_the_view_they_were_rendered_for(
    client: Any, secure_store: Any, cases: list[Case], kola_cells: Any
) -> None:
    """A tile rendered for a full-access actor, then asked for anonymously, from the cache."""
    owner = secure_store.headers("owner")
    tiles = [c for c in cases if "/tiles/" in c.url and c.dataset in (AGGREGATED, SECRET)]
    kola = next(c for c in tiles if c.dataset == AGGREGATED and c.element == "Pb")
    secret = next(c for c in tiles if c.dataset == SECRET)
    embargoed = next(c for c in tiles if c.dataset == AGGREGATED and c.element in EMBARGO)
    for case in (kola, secret, embargoed):
        for _ in range(2):  # the second answer comes from the cache
            assert client.get(case.url, headers=owner).status_code == 200
    r = client.get(kola.url)
    assert r.status_code == 200
    _check_tile(r.content, kola, kola_cells)  # the anonymous view, not the owner's
    for case in (secret, embargoed):
        r = client.get(case.url)
        assert r.status_code == 404
        assert r.headers["content-type"].startswith("application/json")
    bad = {"Authorization": "Bearer ce_000000000000_" + "x" * 43}
    assert client.get(kola.url, headers=bad).status_code == 401


def test_a_cached_tile_of_ngus_pooled_layers_is_served_to_its_organisation_only(
    client: Any, secure_store: Any, cases: list[Case]
) -> None:
    """A tile of NGU's pooled floodplain layer (the restricted survey), rendered for its
    data owner and cached, then asked for by everyone else: a 404, not the cached tile."""
    case = next(c for c in cases if "/tiles/" in c.url and c.dataset == POOLED_ORG
                and c.element == "Zn")
    for _ in range(2):  # the second answer comes from the cache
        r = client.get(case.url, headers=secure_store.headers("owner"))
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("image/png")
    for actor in set(ACTORS) - ORG_VIEWERS:
        r = client.get(case.url, headers=secure_store.headers(actor))
        assert r.status_code == 404, actor
        assert r.headers["content-type"].startswith("application/json")
    assert client.get(case.url, headers=secure_store.headers("admin")).status_code == 200


# --------------------------------------------------------------------------- data quality

#: who sees everything of NGU's datasets (the owner organisation and the administrator)
NGU_FULL = FULL_ACCESS[SECRET]


def _figure(client: Any, headers: dict[str, str], ds: str, el: str, plot: str) -> Any:
    ext = "png" if plot == "thompson-howarth" else "svg"
    return _get(client, f"/quality/{ds}/{el}/{plot}.{ext}", headers)


def _as_absent(client: Any, headers: dict[str, str], r: Any, ds: str, el: str,
               plot: str) -> None:
    """``r`` (a figure of ``el``) answers exactly as the figure of an absent element."""
    other = _figure(client, headers, ds, MISSING_EL, plot)
    assert (r.status_code, r.text) == (other.status_code, other.text.replace(MISSING_EL, el))


@pytest.mark.parametrize("actor", list(ACTORS))
def test_restricted_qc_datasets_are_in_no_report_and_draw_no_figure(
    client: Any, secure_store: Any, actor: str
) -> None:
    """The public survey's restricted reference-material dataset: listed, summarised and
    drawn for NGU's actors only; for everyone else the survey has no such dataset."""
    h = secure_store.headers(actor)
    report = _get(client, f"/api/quality/{PUBLIC}", h).json()
    ids = {q["dataset"] for q in report["qc"]}
    r = _figure(client, h, PUBLIC, "Zn", "control")
    if actor in NGU_FULL:
        assert ids == {QC_AGGREGATED, QC_RESTRICTED}
        assert {c["dataset"] for c in report["controls"]} == {QC_RESTRICTED}
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("image/svg+xml")
        return
    assert ids == {QC_AGGREGATED}
    assert report["controls"] == []
    assert all(row.get("control_rsd_pct") is None for row in report["elements"])
    assert r.status_code == 404
    _as_absent(client, h, r, PUBLIC, "Zn", "control")
    for url in (f"/api/quality/{QC_RESTRICTED}", f"/quality/{QC_RESTRICTED}/Zn/control.png"):
        mine = _get(client, url, h)
        missing = _get(client, url.replace(QC_RESTRICTED, MISSING_DS), h)
        assert mine.status_code == missing.status_code == 404
        assert mine.text == missing.text.replace(MISSING_DS, QC_RESTRICTED)


@pytest.mark.parametrize("actor", list(ACTORS))
def test_embargoed_elements_are_in_no_quality_row_or_figure(
    client: Any, secure_store: Any, actor: str
) -> None:
    """Kola humus embargoes Ni and Cu; its public QC dataset embargoes Ni only. Through the
    survey both answer as absent elements to whoever may not see them, Cu included."""
    h = secure_store.headers(actor)
    survey_full = actor in FULL_ACCESS[AGGREGATED]
    qc_full = actor in NGU_FULL  # sees Ni in the QC dataset too
    rows = {r["element"]: r for r in _get(client, f"/api/quality/{AGGREGATED}", h).json()[
        "elements"]}
    assert rows["Pb"]["rsd_field_pct"] is not None
    assert set(EMBARGO) & set(rows) == (set(EMBARGO) if survey_full else set())
    if survey_full:
        assert rows["Cu"]["rsd_field_pct"] is not None
        assert (rows["Ni"]["rsd_field_pct"] is not None) == qc_full
    assert _figure(client, h, AGGREGATED, "Pb", "thompson-howarth").content.startswith(PNG)
    for el, sees in (("Cu", survey_full), ("Ni", qc_full)):
        r = _figure(client, h, AGGREGATED, el, "thompson-howarth")
        if sees:
            assert r.status_code == 200
            assert r.content.startswith(PNG)
        else:
            assert r.status_code == 404
            _as_absent(client, h, r, AGGREGATED, el, "thompson-howarth")


@pytest.mark.parametrize("actor", list(ACTORS))
def test_figures_of_an_aggregated_only_qc_dataset_need_sample_access(
    client: Any, secure_store: Any, actor: str
) -> None:
    """Jura's field duplicates are shared as summaries (Cu embargoed): their precision is in
    everyone's report, their figures give 403 for held, embargoed and absent elements alike
    to whoever may not see their samples."""
    h = secure_store.headers(actor)
    sees = actor in NGU_FULL
    report = _get(client, f"/api/quality/{PUBLIC}", h).json()
    qc = {q["dataset"]: q for q in report["qc"]}
    assert qc[QC_AGGREGATED]["samples_visible"] == sees
    rows = {r["element"]: r for r in report["elements"]}
    assert rows["Zn"]["rsd_field_pct"] is not None
    assert rows["Zn"]["n_field_pairs"] >= K
    assert (rows["Cu"]["rsd_field_pct"] is not None) == sees
    answers = {el: _figure(client, h, PUBLIC, el, "thompson-howarth")
               for el in ("Zn", "Cu", MISSING_EL)}
    if sees:
        assert [answers[el].status_code for el in answers] == [200, 200, 404]
    else:
        assert {a.status_code for a in answers.values()} == {403}
        assert len({a.text for a in answers.values()}) == 1
    page = _get(client, f"/datasets/{PUBLIC}/quality", h).text
    assert ("/quality/jura/Zn/thompson-howarth.png" in page) == sees
    assert (QC_RESTRICTED in page) == sees
    assert QC_PUBLIC not in page


#: the verdict of a measurement (``qc``) from a row of the actor's quality report
_VERDICT = {"precision_rsd_pct": "rsd_field_pct", "n_pairs": "n_field_pairs",
            "analytical_rsd_pct": "rsd_analytical_pct",
            "n_analytical_pairs": "n_analytical_pairs", "measurement_pct": "measurement_pct",
            "fit_for_mapping": "fit_for_mapping"}


def _report_verdicts(client: Any, h: dict[str, str], ds: str) -> dict[tuple[str, str], Any]:
    """(element, method) → the figures of the actor's own quality report of ``ds`` behind a
    verdict (rows without any precision or variance share left out)."""
    rows = _get(client, f"/api/quality/{ds}", h).json()["elements"]
    out = {}
    for r in rows:
        v = {k: r.get(c) for k, c in _VERDICT.items()}
        if any(v[k] is not None for k in ("precision_rsd_pct", "analytical_rsd_pct",
                                          "measurement_pct")):
            out[(r["element"], r["method"])] = v
    return out


@pytest.mark.parametrize("actor", list(ACTORS))
def test_qc_verdicts_on_legends_cells_and_features_are_the_actors_report(
    client: Any, secure_store: Any, actor: str
) -> None:
    """Every legend, cell, surface and feature of a measurement carries as ``qc`` the
    figures of the actor's own quality report (so a restricted or embargoed QC dataset
    counts only for who may see its report), and names no QC dataset the actor may not
    see. Jura's Cu (embargoed in its aggregated-only field duplicates) and Kola humus' Ni
    (embargoed in its public field duplicates, granted to the partner in the survey only)
    have a verdict for NGU's actors only."""
    h = secure_store.headers(actor)
    layers = [x for x in _get(client, "/api/layers", h).json()["layers"]
              if x["dataset"] in (PUBLIC, AGGREGATED, SECRET)
              and x["element"] in ("Pb", "Zn", "Cu", "Ni")]
    assert layers
    seen: dict[tuple[str, str], bool] = {}
    for lay in layers:
        ds, el = lay["dataset"], lay["element"]
        want = _report_verdicts(client, h, ds).get((el, lay["method"]))
        q = {"medium": lay["medium"], "method": lay["method"], "grid": lay["grids"][0],
             "level": LEVEL}
        got = _get(client, f"/api/layers/{ds}/{el}/legend?{urlencode(q)}", h).json()["qc"]
        seen[(ds, el)] = got is not None
        assert (got is None) == (want is None), (actor, ds, el, got)
        if got is None:
            continue
        assert {k: got[k] for k in _VERDICT} == want, (actor, ds, el)
        visible = {q["dataset"] for q in _get(client, f"/api/quality/{ds}", h).json()["qc"]}
        assert set(got["qc_datasets"]) <= visible
        assert QC_RESTRICTED not in got["qc_datasets"]  # reference materials: no verdict
        feats = _get(client, f"/api/collections/{ds}.cells/items?"
                     + urlencode({**q, "element": el, "limit": 50}), h).json()["features"]
        assert feats
        assert all(f["properties"]["qc"] == got for f in feats)
        import shapely

        full = max(feats, key=lambda f: f["properties"]["n"])  # its median is published
        pt = shapely.geometry.shape(full["geometry"]).representative_point()
        cell = _get(client, f"/api/layers/{ds}/{el}/cell?"
                    + urlencode({**q, "lon": pt.x, "lat": pt.y}), h).json()
        assert cell.get("qc") == got, (actor, ds, el, cell)
    assert seen[(PUBLIC, "Zn")]
    assert seen[(AGGREGATED, "Pb")]
    assert seen[(PUBLIC, "Cu")] == (actor in NGU_FULL)
    if actor in FULL_ACCESS[AGGREGATED]:
        assert seen[(AGGREGATED, "Ni")] == (actor in NGU_FULL)
    assert ((SECRET, "Zn") in seen) == (actor in FULL_ACCESS[SECRET])
    surface = _get(client, f"/api/surfaces/{PUBLIC}/Cu?level=1km", h).json()
    cu = _get(client, f"/api/layers/{PUBLIC}/Cu/legend?"
              + urlencode({"method": surface["method"], "level": LEVEL}), h).json()
    assert surface["qc"] == cu["qc"]
    samples = _get(client, f"/api/collections/{PUBLIC}.samples/items?limit=3", h).json()
    for f in samples["features"]:
        assert set(f["properties"]["qc"]) == ({"Pb", "Zn", "Cu"} if actor in NGU_FULL
                                              else {"Pb", "Zn"})


# --------------------------------------------------------------------------- pooled layers


@pytest.mark.parametrize("actor", list(ACTORS))
def test_the_public_pooled_layers_are_everyones_and_ngus_own_its_organisations(
    client: Any, secure_store: Any, actor: str
) -> None:
    """Every actor sees the same public scope (Jura, and Kola humus without its embargoed
    elements; nothing of the restricted survey, nothing of any QC dataset); NGU's data
    owner and the administrator see NGU's own scope too, restricted survey and embargoed
    elements included."""
    h = secure_store.headers(actor)
    scopes = {sc["scope"]: sc for sc in _get(client, "/api/global", h).json()["scopes"]}
    anon = {sc["scope"]: sc for sc in _get(client, "/api/global", {}).json()["scopes"]}
    layers = [lay for lay in _get(client, "/api/layers", h).json()["layers"] if lay.get("pooled")]
    want = {"public", f"org:{OWNER_ORG}"} if actor in ORG_VIEWERS else {"public"}
    if actor == "admin":  # every organisation's scope, built or not (Jura's EPFL is not)
        assert set(scopes) == want | {"org:EPFL"}
        assert scopes["org:EPFL"]["layers"] == []
    else:
        assert set(scopes) == want
    assert {lay["dataset"] for lay in layers} == {f"pooled:{s}" for s in want}
    assert scopes["public"] == anon["public"]  # one public scope, whoever asks
    public = scopes["public"]
    members = {(lay["element"], lay["medium"]): set(lay["datasets"]) for lay in public["layers"]}
    named = set().union(*members.values()) | {x["dataset_id"] for x in public["excluded"]}
    assert named == {PUBLIC, AGGREGATED}
    assert ("Pb", "humus") in members
    assert not {el for (el, _), ds in members.items() if AGGREGATED in ds} & set(EMBARGO)
    assert not {x["element"] for x in public["excluded"]} & set(EMBARGO)
    if actor in ORG_VIEWERS:
        org = {(lay["element"], lay["medium"]): set(lay["datasets"])
               for lay in scopes[f"org:{OWNER_ORG}"]["layers"]}
        assert org[("Zn", "floodplain")] == {SECRET}
        assert org[("Ni", "humus")] == {AGGREGATED}
        assert org[("Pb", "humus")] == {AGGREGATED}
