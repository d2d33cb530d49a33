"""Uploads through the API: the CLI's validation, row-by-row errors, nothing half-written,
and the new data in the grids."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

ORG = "Geological Survey of Xanadu"


@pytest.fixture
def site(tmp_path: Path, boundaries: Path) -> Any:
    """An empty store served in process, with a data owner's and an admin's token."""
    from fastapi.testclient import TestClient

    from chemearth.access.tokens import TokenStore
    from chemearth.store import open_store
    from chemearth.web import WebSettings, create_app

    store = open_store(tmp_path / "store")
    tokens = TokenStore(store.home)
    owner = tokens.create("owner", "owner", organisation=ORG)
    client = TestClient(create_app(store, WebSettings(boundaries=boundaries, timeout_s=300)))
    return store, client, {"Authorization": f"Bearer {owner}"}


def _descriptor(dataset_id: str = "meuse-upload", organisation: str = ORG) -> bytes:
    from chemearth.ingest.shipped import shipped_descriptor

    text = shipped_descriptor("meuse").read_text(encoding="utf-8")
    text = text.replace('id = "meuse"', f'id = "{dataset_id}"')
    text = re.sub(r'organisation = ".*"', f'organisation = "{organisation}"', text)
    return text.encode()


def _post(client: Any, headers: dict[str, str], csv: bytes, desc: bytes, **form: str) -> Any:
    files = {"file": ("meuse.csv", csv, "text/csv"), "descriptor": ("meuse.toml", desc)}
    return client.post("/api/datasets", files=files, data=form, headers=headers)


def test_an_owner_uploads_a_survey_and_it_appears_in_the_grids(
    site: Any, data_dir: Path
) -> None:
    store, client, owner = site
    csv = (data_dir / "meuse" / "meuse.csv").read_bytes()
    r = _post(client, owner, csv, _descriptor())
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["dataset_id"], body["n_samples"], body["n_rejected"]) == ("meuse-upload", 155, 0)
    # the same values as the file, in the store
    stored = store.measurements("meuse-upload", elements=["Zn"])
    assert sorted(stored["value"]) == sorted(pd.read_csv(io.BytesIO(csv))["zinc"])
    # and in the grids, the catalogue and the tiles
    layers = client.get("/api/layers").json()["layers"]
    zn = next(x for x in layers if x["dataset"] == "meuse-upload" and x["element"] == "Zn")
    legend = client.get("/api/layers/meuse-upload/Zn/legend").json()
    assert legend["n_cells"] > 0
    assert zn["unit"] == "mg/kg"
    page = client.get("/catalogue").text
    assert "meuse-upload" in page
    # the same file again is recognised as unchanged
    again = _post(client, owner, csv, _descriptor())
    assert again.status_code == 201
    assert again.json()["status"] == "unchanged"


def test_bad_rows_are_listed_row_by_row_and_strict_writes_nothing(
    site: Any, data_dir: Path
) -> None:
    store, client, owner = site
    lines = (data_dir / "meuse" / "meuse.csv").read_text().splitlines()
    lines[3] = lines[3].replace(",1022.0,", ",lots,", 1) if ",1022.0," in lines[3] else re.sub(
        r"^([^,]*,[^,]*,[^,]*,[^,]*,[^,]*,)[^,]*", r"\1lots", lines[3])
    bad = ("\n".join(lines) + "\n").encode()
    r = _post(client, owner, bad, _descriptor(), strict="true")
    assert r.status_code == 422, r.text
    errors = r.json()["errors"]
    assert any(e["row"] == 4 and e["column"] == "zinc" for e in errors), errors
    assert all(e["file"] == "meuse.csv" for e in errors)
    assert "/tmp" not in r.text  # no server paths in messages
    assert store.datasets().empty  # nothing written
    # without strict, the bad row is rejected and listed, the rest stored
    r = _post(client, owner, bad, _descriptor())
    assert r.status_code == 201, r.text
    assert r.json()["n_rejected"] == 1
    assert r.json()["rejects"][0]["row"] == 4
    assert len(store.samples("meuse-upload")) == 154


def test_a_broken_descriptor_names_the_problem_and_writes_nothing(
    site: Any, data_dir: Path
) -> None:
    store, client, owner = site
    csv = (data_dir / "meuse" / "meuse.csv").read_bytes()
    desc = _descriptor().replace(b'zinc = "Zn"', b'zink = "Zn"')
    r = _post(client, owner, csv, desc)
    assert r.status_code == 422
    assert "zink" in r.json()["detail"]
    assert store.datasets().empty


def test_an_owner_cannot_upload_for_another_organisation(site: Any, data_dir: Path) -> None:
    store, client, owner = site
    csv = (data_dir / "meuse" / "meuse.csv").read_bytes()
    r = _post(client, owner, csv, _descriptor(organisation="Someone Else"))
    assert r.status_code == 403
    assert store.datasets().empty
