"""The assessment API: the same answers as the library for full access, and the sharing
rules for everyone else (the route walk of test_security covers the generic checks)."""

from __future__ import annotations

from typing import Any

import pytest
from tests.web.conftest import AGGREGATED, EMBARGO, PUBLIC, QC_PUBLIC

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
    url = f"/api/assess/anomalies/{AGGREGATED}/Pb?threshold=p90&level=80km&associated=Zn,Ni"
    anon = _get(secure_client, url, secure_store.headers("anonymous"))
    owner = _get(secure_client, url, secure_store.headers("owner"))
    for f in anon["features"]:
        assert "peak_sample_id" not in f["properties"]
        assert "80km" in f["properties"]["peak_cell_id"]  # a cell id, not a sample id
        assert "Ni" not in f["properties"]["association"].split(",")
    assert all("peak_sample_id" in f["properties"] for f in owner["features"])
    # the owner's answer is the library's
    m, _ = element_values(secure_store.store, AGGREGATED, "Pb")
    t = targets(surface(m, variable="Pb", level="80km"),
                threshold_of(m["value"].to_numpy(), m["censored"].to_numpy(), method="p90"))
    assert [f["properties"]["peak"] for f in owner["features"]] == t["peak"].tolist()


def test_enrichment_leaves_out_embargoed_elements(secure_client: Any,
                                                  secure_store: Any) -> None:
    # a public dataset with Ni embargoed: its samples are seen, its Ni is not
    url = f"/api/assess/enrichment/{QC_PUBLIC}?over={QC_PUBLIC}"
    anon = {r["element"] for r in _get(secure_client, url, secure_store.headers("anonymous"))}
    admin = {r["element"] for r in _get(secure_client, url, secure_store.headers("admin"))}
    assert "Ni" in admin
    assert "Ni" not in anon
    assert anon == admin - {"Ni"}


@pytest.mark.parametrize(("actor", "status"), [
    ("anonymous", 403), ("public", 403), ("other-org", 403),
    ("partner", 200), ("owner", 200), ("admin", 200),
])
def test_enrichment_needs_the_samples_of_both_datasets(secure_client: Any, secure_store: Any,
                                                       actor: str, status: int) -> None:
    """Ratios are made of pairs of samples: no actor without the samples gets them, not
    even as per-element statistics (tests/security/test_pairing.py runs the attack)."""
    url = f"/api/assess/enrichment/{AGGREGATED}?over={AGGREGATED}"
    body = _get(secure_client, url, secure_store.headers(actor), status)
    if status == 403:
        assert "grid layers only" in body["detail"]
        assert AGGREGATED in body["detail"]
    else:
        assert all(r["pairing_rule"].startswith("declared (") for r in body)


def test_paired_change_needs_the_samples_and_auto_falls_back(secure_client: Any,
                                                             secure_store: Any) -> None:
    url = f"/api/assess/change/{AGGREGATED}/Pb?against={AGGREGATED}&level=80km"
    anon = secure_store.headers("anonymous")
    body = _get(secure_client, url + "&pairing=sites", anon, 403)
    assert "pairing=independent" in body["detail"]
    rows = _get(secure_client, url, anon)
    assert {(r["pairing"], r["n_pairs"]) for r in rows} == {("independent", 0)}
    owner = _get(secure_client, url, secure_store.headers("owner"))
    assert {r["pairing"] for r in owner} == {"sites"}
    assert owner[0]["pairing_rule"] == f"declared ({AGGREGATED} is the same dataset): " \
        "paired by sample id"


@pytest.mark.parametrize("url", [
    # two unrelated surveys (Swiss Jura, Kola): ids alike, no common site
    f"/api/assess/enrichment/{PUBLIC}?over={AGGREGATED}",
    f"/api/assess/enrichment/{AGGREGATED}?over={PUBLIC}&max_distance=1000",
    f"/api/assess/change/{PUBLIC}/Pb?against={AGGREGATED}&pairing=sites",
])
def test_unrelated_surveys_are_a_clear_422(secure_client: Any, secure_store: Any,
                                           url: str) -> None:
    body = _get(secure_client, url, secure_store.headers("admin"), 422)
    detail = body["detail"]
    assert PUBLIC in detail
    assert AGGREGATED in detail
    assert "no sample in common" in detail
    assert " m of a sample of the other (pairing by co-location)" in detail


@pytest.mark.parametrize("distance", ["0", "-3", "1001", "nan"])
def test_the_distance_is_bounded(secure_client: Any, secure_store: Any,
                                 distance: str) -> None:
    url = f"/api/assess/enrichment/{PUBLIC}?over={PUBLIC}&max_distance={distance}"
    _get(secure_client, url, secure_store.headers("admin"), 422)


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
