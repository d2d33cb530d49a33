"""The assessment API: the same answers as the library for full access, and the sharing
rules for everyone else (the route walk of test_security covers the generic checks)."""

from __future__ import annotations

from typing import Any

import pytest
from tests.web.conftest import AGGREGATED, EMBARGO, PUBLIC

from chemearth.assess.anomalies import surface, targets, threshold_of
from chemearth.assess.screening import screen
from chemearth.reference.standards import get_standard
from chemearth.store.selectors import element_values

K = 3


def _get(client: Any, url: str, headers: dict[str, str], status: int = 200) -> Any:
    r = client.get(url, headers=headers)
    assert r.status_code == status, f"{url}: {r.status_code} {r.text[:300]}"
    return r.json()


def test_standards_are_public(secure_client: Any, secure_store: Any) -> None:
    anon = secure_store.headers("anonymous")
    ids = [s["id"] for s in _get(secure_client, "/api/standards", anon)]
    assert "gb15618-2018" in ids
    gb = _get(secure_client, "/api/standards/gb15618-2018", anon)
    assert gb["ph_bands"][0] == "pH <= 5.5"
    assert gb["classes"][2] == "strict control"
    _get(secure_client, "/api/standards/gb9999", anon, 404)


def test_screening_equals_the_library_for_full_access(secure_client: Any,
                                                       secure_store: Any) -> None:
    body = _get(secure_client, f"/api/assess/screening/{AGGREGATED}?by=cell&level=10km",
                secure_store.headers("admin"))
    want = screen(secure_store.store, AGGREGATED, get_standard("gb15618-2018")).by_cell(
        "global", "10km")
    assert len(body["rows"]) == len(want)
    got = {(r["cell_id"], r["element"]): r["n_above_screening"] for r in body["rows"]}
    assert got == {(str(c), str(e)): int(n) for c, e, n in
                   zip(want["cell_id"], want["element"], want["n_above_screening"], strict=True)}
    assert any("partial digestion" in n for n in body["notes"])
    assert min(r["n"] for r in body["rows"]) < K  # so the filter below is really tested


def test_aggregated_screening_hides_samples_small_cells_and_embargoes(
    secure_client: Any, secure_store: Any
) -> None:
    anon = secure_store.headers("anonymous")
    _get(secure_client, f"/api/assess/screening/{AGGREGATED}?by=sample", anon, 403)
    cells = _get(secure_client, f"/api/assess/screening/{AGGREGATED}?by=cell&level=10km",
                 anon)["rows"]
    assert cells
    assert min(r["n"] for r in cells) >= K
    assert not {r["element"] for r in cells} & set(EMBARGO)
    whole = _get(secure_client, f"/api/assess/screening/{AGGREGATED}", anon)["rows"]
    assert {r["element"] for r in whole} == {"As", "Cd", "Cr", "Hg", "Pb", "Zn"}
    public = _get(secure_client, f"/api/assess/screening/{PUBLIC}?by=sample", anon)["rows"]
    assert public
    assert "sample_id" in public[0]


def test_anomaly_peaks_are_cells_without_sample_access(secure_client: Any,
                                                        secure_store: Any) -> None:
    url = f"/api/assess/anomalies/{AGGREGATED}/Pb?threshold=p90&level=20km&associated=Zn,Ni"
    anon = _get(secure_client, url, secure_store.headers("anonymous"))
    owner = _get(secure_client, url, secure_store.headers("owner"))
    for f in anon["features"]:
        assert "peak_sample_id" not in f["properties"]
        assert "20km" in f["properties"]["peak_cell_id"]  # a cell id, not a sample id
        assert "Ni" not in f["properties"]["association"].split(",")
    assert all("peak_sample_id" in f["properties"] for f in owner["features"])
    # the owner's answer is the library's
    m, _ = element_values(secure_store.store, AGGREGATED, "Pb")
    t = targets(surface(m, variable="Pb", level="20km"),
                threshold_of(m["value"].to_numpy(), m["censored"].to_numpy(), method="p90"))
    assert [f["properties"]["peak"] for f in owner["features"]] == t["peak"].tolist()


def test_enrichment_leaves_out_embargoed_elements(secure_client: Any,
                                                  secure_store: Any) -> None:
    url = f"/api/assess/enrichment/{AGGREGATED}?over={AGGREGATED}"
    anon = {r["element"] for r in _get(secure_client, url, secure_store.headers("anonymous"))}
    admin = {r["element"] for r in _get(secure_client, url, secure_store.headers("admin"))}
    assert set(EMBARGO) <= admin
    assert not set(EMBARGO) & anon
    assert anon == admin - set(EMBARGO)


def test_blocks_carry_their_assumptions(secure_client: Any, secure_store: Any) -> None:
    body = _get(secure_client, f"/api/assess/blocks/{PUBLIC}/Zn?depth=500&density=2.5",
                secure_store.headers("anonymous"))
    a = body["assumptions"]
    assert a["depth_m"] == 500
    assert a["density_t_m3"] == 2.5
    assert "estimate" in a
    for f in body["features"]:
        p = f["properties"]
        assert p["metal_t"] == pytest.approx(p["area_km2"] * 500 * 2.5 * p["mean"])
