"""GDAL's OGC API - Features driver (the one QGIS uses) against ``chemearth serve``.

Debian's ``gdal-bin`` (``ogrinfo``, ``ogr2ogr``; the Makefile installs it) reads the
secure store's server anonymously and as NGU's data owner (its token sent with
``GDAL_HTTP_HEADER_FILE``): it lists every collection the actor is shown, reads every one
of them (the restricted reference-material dataset has no coordinates: features without
geometry), and sends ``-where`` to the server as a CQL2 filter: GDAL 3.6 finds
``filter-lang`` (``cql-text``) in the API definition the landing page links, and the
queryables of the layer; its debug log shows the filtered request. What it gets is, feature
for feature, what the API gives.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.web.conftest import PUBLIC, QC_RESTRICTED

OGRINFO = Path("/usr/bin/ogrinfo")
OGR2OGR = Path("/usr/bin/ogr2ogr")
pytestmark = pytest.mark.skipif(not (OGRINFO.is_file() and OGR2OGR.is_file()),
                                reason="Debian's gdal-bin is not installed (make test installs it)")

ACTORS = ("anonymous", "owner")


def _gdal(tool: Path, *args: str, headers: Path | None = None, debug: bool = False
          ) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CPL_DEBUG": "ON" if debug else "OFF"}
    config = ["--config", "GDAL_HTTP_HEADER_FILE", str(headers)] if headers else []
    out = subprocess.run([str(tool), *config, *args], capture_output=True, text=True,
                         env=env, timeout=900, check=False)
    assert out.returncode == 0, f"{tool.name} {args}: {out.stderr[-2000:]}"
    assert "ERROR" not in out.stderr, out.stderr[-2000:]
    return out


@pytest.fixture(scope="module")
def header_files(secure_store: Any, tmp_path_factory: pytest.TempPathFactory
                 ) -> dict[str, Path | None]:
    """Per actor, a file of the HTTP headers GDAL sends (the owner's token)."""
    folder = tmp_path_factory.mktemp("gdal-headers")
    out: dict[str, Path | None] = {}
    for actor in ACTORS:
        token = secure_store.tokens[actor]
        if token is None:
            out[actor] = None
            continue
        path = folder / f"{actor}.txt"
        path.write_text(f"Authorization: Bearer {token}\n")
        out[actor] = path
    return out


def _api(url: str, path: str, headers: dict[str, str], **params: Any) -> Any:
    r = httpx.get(f"{url}{path}", params=params, headers=headers, timeout=300)
    assert r.status_code == 200, r.text[:300]
    return r.json()


@pytest.mark.parametrize("actor", ACTORS)
def test_gdal_lists_and_reads_every_collection(
    secure_server: str, secure_store: Any, header_files: dict[str, Path | None],
    tmp_path: Path, actor: str,
) -> None:
    """``ogrinfo -so`` lists the collections the API lists; ``ogrinfo -al -so`` gives each
    layer's feature count as the API's ``numberMatched``; ``ogr2ogr`` reads features of
    each layer."""
    h, headers = secure_store.headers(actor), header_files[actor]
    source = f"OAPIF:{secure_server}/api"
    listed = {c["id"] for c in _api(secure_server, "/api/collections", h)["collections"]}
    out = _gdal(OGRINFO, "-ro", "-so", source, headers=headers)
    layers = set(re.findall(r"^\d+: (\S+)", out.stdout, re.M))
    assert layers == listed
    assert (f"{QC_RESTRICTED}.samples" in layers) == (actor == "owner")

    out = _gdal(OGRINFO, "-ro", "-al", "-so", "-noextent", "-oo", "PAGE_SIZE=1000", source,
                headers=headers)
    counts = dict(re.findall(r"^Layer name: (\S+)\n(?:.*\n)*?Feature Count: (\d+)",
                             out.stdout, re.M))
    assert set(counts) == listed
    for cid in sorted(c for c in listed if c.endswith((".samples", ".cells"))):
        matched = _api(secure_server, f"/api/collections/{cid}/items", h, limit=1)[
            "numberMatched"]
        assert int(counts[cid]) == matched, cid
        dest = tmp_path / f"{cid}.json"
        _gdal(OGR2OGR, "-f", "GeoJSON", str(dest), source, cid, "-limit", "3",
              headers=headers)
        feats = json.loads(dest.read_text())["features"]
        assert len(feats) == min(3, matched), cid
        if cid == f"{QC_RESTRICTED}.samples":  # no coordinates: read, without geometry
            assert all(f["geometry"] is None for f in feats)


@pytest.mark.parametrize(("layer", "where", "flt"), [
    (f"{PUBLIC}.samples", "Zn > 100 AND Cd < 1", "Zn > 100 AND Cd < 1"),
    (f"{PUBLIC}.samples", "Pb >= 50 OR Cu > 100", "Pb >= 50 OR Cu > 100"),
    (f"{PUBLIC}.cells", "element = 'Zn' AND median > 60", "element = 'Zn' AND median > 60"),
])
def test_gdal_sends_where_to_the_server_as_cql(
    secure_server: str, layer: str, where: str, flt: str
) -> None:
    """``ogrinfo -where``: GDAL requests the items with ``filter`` (its debug log shows
    the URL, one page of the filtered features), and reads what the API gives."""
    source = f"OAPIF:{secure_server}/api"
    out = _gdal(OGRINFO, "-ro", "-al", "-q", "-oo", "PAGE_SIZE=1000", source, layer,
                "-where", where, debug=True)
    assert "CQL text detected" in out.stderr
    fetched = re.findall(r"Fetch\((\S+/items\?\S+)\)", out.stderr)
    filtered = [u for u in fetched if "filter=" in u]
    assert filtered, fetched
    assert all("filter-lang=cql-text" in u for u in filtered)
    ids = re.findall(r"^\s+id \(String\) = (.+)$", out.stdout, re.M)
    api = _api(secure_server, f"/api/collections/{layer}/items", {}, filter=flt,
               limit=10_000)
    assert 0 < api["numberMatched"] < _api(secure_server, f"/api/collections/{layer}/items",
                                           {}, limit=1)["numberMatched"]
    assert sorted(ids) == sorted(f["id"] for f in api["features"])


def test_ogr2ogr_writes_the_filtered_features_the_api_gives(
    secure_server: str, tmp_path: Path
) -> None:
    layer, where = f"{PUBLIC}.samples", "Ni > 30 AND Co < 12"
    dest = tmp_path / "out.json"
    _gdal(OGR2OGR, "-f", "GeoJSON", str(dest), f"OAPIF:{secure_server}/api", layer,
          "-where", where)
    got = json.loads(dest.read_text())["features"]
    api = _api(secure_server, f"/api/collections/{layer}/items", {}, filter=where,
               limit=10_000)["features"]
    assert api
    assert sorted(f["properties"]["sample_id"] for f in got) == sorted(
        f["properties"]["sample_id"] for f in api)
    for f in got:
        assert f["properties"]["Ni"] > 30
        assert f["properties"]["Co"] < 12
        assert f["geometry"]["type"] == "Point"
