"""Issue 16, finding 2: pairing by raw sample id across datasets.

The attack: a data owner uploads a small dataset whose sample ids are those of an
aggregated-only survey (samples hidden, grids public), with the value 1 everywhere, and
asks for its enrichment over the hidden survey: the percentiles of the ratios would be the
hidden values. The same with the attacker's samples placed at the hidden sites, or with a
descriptor declaring ``same_sites_as`` the hidden survey. Each is run here through the API
as the attacker, who must recover nothing: enrichment and paired change are refused (403),
and change by cell compares independent samples of published cells only.

The positive control runs the same requests as an administrator (who may see both): the
ratios then are the hidden values, so the refused requests are the ones that would leak.
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from chemearth.errors import ChemearthWarning

VICTIM = "kola-humus"
VICTIM_ORG = "NGU"
ATTACKER_ORG = "Geological Survey of Mallory"
ELEMENTS = ("Pb", "Zn", "Cu")
K = 3  # cells of an aggregated dataset need this many samples

#: attacker's dataset -> (same ids as the victim, at the victim's sites, declares same sites)
VARIANTS = {
    "evil-ids": (True, False, False),        # the attack: raw ids, elsewhere
    "evil-declared": (True, False, True),    # ... and a same_sites_as declaration
    "evil-colocated": (False, True, False),  # own ids, at the hidden sites (worst case)
}


@dataclass
class Site:
    """The store served in process and the tokens of its actors."""

    client: Any
    store: Any
    headers: dict[str, dict[str, str]]
    victim_raw: pd.DataFrame

    def get(self, actor: str, url: str) -> Any:
        return self.client.get(url, headers=self.headers[actor])


def _attacker_upload(raw: pd.DataFrame, dataset_id: str) -> tuple[bytes, bytes]:
    same_ids, at_sites, declares = VARIANTS[dataset_id]
    frame = pd.DataFrame({
        "ID": raw["ID"] if same_ids else [f"m{i}" for i in range(len(raw))],
        "XCOO": raw["XCOO"],
        # 3 km north of every hidden site unless placed on it: nowhere near 20 m
        "YCOO": raw["YCOO"] + (0.0 if at_sites else 3_000.0),
        # the same values in every attacker dataset (ratios of 1), not one constant: a column
        # of one value would be read as a substitution constant (all below the limit)
        **dict.fromkeys(ELEMENTS, 1.0 + 0.1 * (np.arange(len(raw)) % 7)),
    })
    cols = "".join(f'{el} = "{el}"\n' for el in ELEMENTS)
    desc = (
        "[dataset]\n"
        f'id = "{dataset_id}"\ntitle = "My own humus survey"\n'
        f'organisation = "{ATTACKER_ORG}"\ncountries = ["FI", "NO", "RU"]\n'
        'medium = "humus"\nsharing = "restricted"\n'
        + (f'same_sites_as = "{VICTIM}"\n' if declares else "")
        + '[source]\npath = "mine.csv"\n'
        '[coordinates]\nx = "XCOO"\ny = "YCOO"\ncrs = "EPSG:32635"\ntolerance_km = 50\n'
        '[sample]\nid = "ID"\n[censoring]\nencoding = "none"\n'
        '[defaults]\nunit = "mg/kg"\nmethod = "HNO3 digestion; ICP-AES/ICP-MS"\n'
        'digestion = "partial"\n'
        f"[columns]\n{cols}"
    )
    return frame.to_csv(index=False).encode(), desc.encode()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, data_dir: Path, boundaries: Path) -> Site:
    """The victim's survey as aggregated-only, and the attacker's three uploads."""
    from fastapi.testclient import TestClient

    from chemearth.access.tokens import TokenStore
    from chemearth.grid.layers import build_layers
    from chemearth.ingest.descriptor import load_descriptor
    from chemearth.ingest.pipeline import ingest
    from chemearth.ingest.shipped import shipped_descriptor
    from chemearth.store import open_store
    from chemearth.web import WebSettings, create_app

    store = open_store(tmp_path_factory.mktemp("pairing-attack"))
    desc = load_descriptor(shipped_descriptor(VICTIM))
    desc = dataclasses.replace(desc, dataset=dataclasses.replace(
        desc.dataset, organisation=VICTIM_ORG, sharing="aggregated"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ChemearthWarning)
        ingest(store, desc, data_dir=data_dir, boundaries=boundaries)
    build_layers(store, levels=[80_000, 20_000])
    tokens = TokenStore(store.home)
    headers = {"anonymous": {}}
    for name, role, org in (("attacker", "owner", ATTACKER_ORG), ("admin", "admin", "")):
        headers[name] = {"Authorization": f"Bearer {tokens.create(name, role, organisation=org)}"}
    client = TestClient(create_app(store, WebSettings(boundaries=boundaries, timeout_s=300)))
    raw = pd.read_csv(data_dir / "kola" / "humus.csv")
    for dataset_id in VARIANTS:
        csv, text = _attacker_upload(raw, dataset_id)
        r = client.post("/api/datasets", headers=headers["attacker"],
                        files={"file": ("mine.csv", csv, "text/csv"),
                               "descriptor": ("mine.toml", text)})
        assert r.status_code == 201, r.text
        assert r.json()["n_samples"] > 500
    return Site(client, store, headers, raw)


def _refused(r: Any, *names: str) -> None:
    assert r.status_code == 403, r.text
    body = r.json()
    assert set(body) == {"detail"}  # a message, no number
    assert all(n in body["detail"] for n in names)


@pytest.mark.parametrize("mine", list(VARIANTS))
def test_enrichment_over_a_hidden_survey_is_refused(site: Site, mine: str) -> None:
    for upper, lower in ((mine, VICTIM), (VICTIM, mine)):
        r = site.get("attacker", f"/api/assess/enrichment/{upper}?over={lower}")
        _refused(r, VICTIM, "grid layers only")
        r = site.get("attacker", f"/api/assess/enrichment/{upper}?over={lower}"
                                 "&max_distance=1000")
        _refused(r, VICTIM)
    # the victim's survey over itself: its samples pair, so no actor without them gets it
    _refused(site.get("anonymous", f"/api/assess/enrichment/{VICTIM}?over={VICTIM}"), VICTIM)


@pytest.mark.parametrize("mine", list(VARIANTS))
def test_paired_change_with_a_hidden_survey_is_refused(site: Site, mine: str) -> None:
    for before, after in ((mine, VICTIM), (VICTIM, mine)):
        r = site.get("attacker", f"/api/assess/change/{before}/Pb?against={after}"
                                 "&pairing=sites&level=80km")
        _refused(r, VICTIM, "pairing=independent")


@pytest.mark.parametrize("mine", list(VARIANTS))
def test_change_by_cell_compares_independent_samples_only(site: Site, mine: str) -> None:
    r = site.get("attacker", f"/api/assess/change/{VICTIM}/Pb?against={mine}&level=80km")
    assert r.status_code == 200, r.text
    rows = r.json()
    assert rows
    # the hidden survey's cells: those that pass disclosure control, with a median that may
    # be published (2k + 1 samples)
    from chemearth.access.gateway import Gateway

    cells = site.store.cells("global", VICTIM, "Pb", 80_000)
    pub = Gateway(site.store).publication(VICTIM, "Pb", "humus", str(cells["method"].iloc[0]))
    ok = pub.published(80_000, cells["cell"].to_numpy(np.int64)) & (cells["n"] >= 2 * K + 1)
    published = dict(zip(cells["cell"].astype(int)[ok], cells["median"][ok], strict=True))
    assert {row["cell"] for row in rows} <= set(published)
    for row in rows:
        assert (row["pairing"], row["n_pairs"]) == ("independent", 0)
        # no rank test, no interval: against values the attacker chose they would count
        # the hidden values below them
        assert row["test"].startswith("none")
        assert row["p_value"] is None
        assert row["q_value"] is None
        assert row["ci_low"] is None
        assert row["direction"] is None
        assert row["n_before"] >= 2 * K + 1
        assert not {k for k in row if "sample" in k}
        # the hidden survey's medians shown are those of its published 80 km cells
        assert row["median_before"] == pytest.approx(published[row["cell"]], rel=1e-9)
    # and an actor with full access to both (the admin here) gets the test
    r = site.get("admin", f"/api/assess/change/{VICTIM}/Pb?against={mine}&level=80km")
    assert all(row["p_value"] is not None for row in r.json())


def test_the_positive_control_would_leak(site: Site) -> None:
    """With access to both, the ratios over the attacker's ones are the hidden values: the
    requests refused above are exactly the ones that would have leaked them (divided by the
    attacker's own known values)."""
    pb = site.victim_raw["Pb"].to_numpy(float)
    pb = pb / (1.0 + 0.1 * (np.arange(len(pb)) % 7))  # over the attacker's known values
    for mine in ("evil-declared", "evil-colocated"):
        r = site.get("admin", f"/api/assess/enrichment/{VICTIM}?over={mine}&elements=Pb")
        assert r.status_code == 200, r.text
        (row,) = r.json()
        assert row["median_ratio"] == pytest.approx(np.median(pb), rel=1e-9)
        assert row["p25_ratio"] == pytest.approx(np.percentile(pb, 25), rel=1e-9)
    # raw ids alone pair nothing, even for an administrator: a clear 422, never a 500
    r = site.get("admin", f"/api/assess/enrichment/{VICTIM}?over=evil-ids")
    assert r.status_code == 422, r.text
    assert "'kola-humus' and 'evil-ids' have no sample in common" in r.json()["detail"]
    assert "within 20 m" in r.json()["detail"]


def test_the_attackers_own_data_still_work(site: Site) -> None:
    """Refusal is about the hidden survey, not about enrichment: over two datasets whose
    samples the attacker sees (its own), the answer comes."""
    r = site.get("attacker", "/api/assess/enrichment/evil-colocated?over=evil-ids")
    assert r.status_code == 422, r.text  # 3 km apart, other ids, no declaration: no pair
    r = site.get("attacker", "/api/assess/enrichment/evil-declared?over=evil-ids")
    assert r.status_code == 200, r.text  # at the same places: co-located
    rows = r.json()
    assert {row["median_ratio"] for row in rows} == {1.0}
    assert {(row["pairing_rule"], row["n_site_pairs"]) for row in rows} == {
        ("co-located within 20 m", len(site.victim_raw))}


def test_results_are_not_cached_across_actors(site: Site) -> None:
    """The admin's answer (computed first) is never served to the attacker."""
    url = f"/api/assess/enrichment/{VICTIM}?over=evil-colocated"
    assert site.get("admin", url).status_code == 200
    _refused(site.get("attacker", url), VICTIM)
