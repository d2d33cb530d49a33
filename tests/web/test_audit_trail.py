"""What the website writes to the audit log: uploads, reads of data that is not public
with a token, downloads of sample data that is not public (and CSV downloads of a real
survey whose sample ids are spreadsheet formulas come out neutralised).

Over its own store (the Meuse survey twice: restricted with formula sample ids, and
public with cadmium embargoed), so the log holds only this module's events.
"""

from __future__ import annotations

import csv
import io
import json
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from chemearth.errors import ChemearthWarning

ORG = "NGU"
SECRET = "meuse-secret"
OPEN = "meuse-open"
#: sample ids a spreadsheet would run (the first rows of the restricted copy)
PAYLOADS = ("=1+2", "@SUM(A1)", "+cmd", "-2+3")


@dataclass
class Site:
    """The store, a client of its website and one token per actor."""

    home: Path
    client: Any
    tokens: dict[str, str] = field(default_factory=dict)

    def headers(self, actor: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[actor]}"}

    def events(self, **query: Any) -> list[dict[str, Any]]:
        from chemearth.access.audit import AuditLog

        return AuditLog(self.home).read(**query)


def _descriptor(dataset_id: str, sharing: str, embargo: str, id_column: bool) -> str:
    from chemearth.ingest.shipped import shipped_descriptor

    text = shipped_descriptor("meuse").read_text(encoding="utf-8")
    text = text.replace('id = "meuse"', f'id = "{dataset_id}"')
    text = re.sub(r'organisation = ".*"', f'organisation = "{ORG}"', text)
    text = text.replace('sharing = "public"',
                        f'sharing = "{sharing}"\nembargoed_elements = {embargo}')
    if id_column:
        text = text.replace("[sample]\n", '[sample]\nid = "id"\n')
    return text


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, data_dir: Path, boundaries: Path) -> Site:
    from chemearth.access.tokens import TokenStore
    from chemearth.ingest.descriptor import parse_descriptor
    from chemearth.ingest.pipeline import ingest
    from chemearth.store import open_store
    from chemearth.web import WebSettings, create_app

    home = tmp_path_factory.mktemp("audit-store")
    store = open_store(home)
    lines = (data_dir / "meuse" / "meuse.csv").read_text().splitlines()
    ids = [*PAYLOADS, *(f"m{i}" for i in range(len(lines) - 1 - len(PAYLOADS)))]
    rows = list(csv.reader(lines))
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["id", *rows[0]])
    w.writerows([i, *r] for i, r in zip(ids, rows[1:], strict=True))
    survey = home.parent / "meuse-ids.csv"
    survey.write_text(out.getvalue())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ChemearthWarning)
        ingest(store, parse_descriptor(_descriptor(SECRET, "restricted", "[]", True),
                                       survey.with_suffix(".toml")),
               survey, boundaries=boundaries)
        ingest(store, parse_descriptor(_descriptor(OPEN, "public", '["Cd"]', False),
                                       data_dir / "meuse.toml"),
               data_dir / "meuse" / "meuse.csv", boundaries=boundaries)
    tokens = TokenStore(home)
    s = Site(home, TestClient(create_app(store, WebSettings(boundaries=boundaries,
                                                             timeout_s=300))))
    s.tokens = {"owner": tokens.create("ngu-owner", "owner", organisation=ORG),
                "other-org": tokens.create("gtk-owner", "owner", organisation="GTK"),
                "public": tokens.create("someone", "public"),
                "admin": tokens.create("root", "admin")}
    return s


def test_reads_of_non_public_data_are_logged_once_a_minute(site: Site) -> None:
    c, owner = site.client, site.headers("owner")
    for _ in range(3):
        assert c.get(f"/api/datasets/{SECRET}", headers=owner).status_code == 200
    assert c.get(f"/api/collections/{SECRET}.samples/items?limit=5",
                 headers=owner).status_code == 200
    assert c.get(f"/api/datasets/{OPEN}", headers=owner).status_code == 200  # public
    assert c.get(f"/api/elements/Cd/plot.png?dataset={OPEN}", headers=owner
                 ).status_code == 200  # an embargoed element
    assert c.get(f"/api/datasets/{SECRET}").status_code == 404  # anonymous
    assert c.get(f"/api/datasets/{SECRET}", headers=site.headers("other-org")
                 ).status_code == 404
    assert c.get(f"/catalogue/datasets/{SECRET}", headers=site.headers("admin")
                 ).status_code == 200  # a page
    reads = site.events(event="read")
    assert [(e["actor"], e["dataset"], e["data"]) for e in reads] == [
        ("ngu-owner", SECRET, "dataset"), ("ngu-owner", SECRET, "samples"),
        ("ngu-owner", OPEN, "dataset"), ("root", SECRET, "dataset")]
    assert reads[0]["sharing"] == "restricted"
    assert reads[0]["route"] == f"/api/datasets/{SECRET}"
    assert reads[0]["client"] == "testclient"
    assert reads[0]["token_id"] == site.tokens["owner"][3:15]
    assert reads[2]["embargoed"] == ["Cd"]
    assert all(e["outcome"] == "granted" for e in reads)


def test_sample_downloads_of_non_public_data_are_logged_each_time(site: Site) -> None:
    c, owner = site.client, site.headers("owner")
    for fmt in ("csv", "csv", "gpkg"):
        r = c.get(f"/api/downloads/{SECRET}/samples.{fmt}", headers=owner)
        assert r.status_code == 200
    before = len(site.events(event="download"))
    assert c.get(f"/api/downloads/{OPEN}/samples.csv?element=Zn", headers=owner
                 ).status_code == 200  # public data
    assert len(site.events(event="download")) == before
    assert c.get(f"/api/downloads/{OPEN}/samples.csv", headers=owner).status_code == 200
    downloads = site.events(event="download")
    assert [(e["dataset"], e["format"]) for e in downloads] == [
        (SECRET, "csv"), (SECRET, "csv"), (SECRET, "gpkg"), (OPEN, "csv")]
    assert downloads[0]["elements"] == ["Cd", "Cu", "Pb", "Zn"]
    assert downloads[-1]["embargoed"] == ["Cd"]
    assert {e["outcome"] for e in downloads} == {"sent"}


def test_downloaded_csv_neutralises_formula_sample_ids(site: Site) -> None:
    r = site.client.get(f"/api/downloads/{SECRET}/samples.csv", headers=site.headers("owner"))
    rows = list(csv.reader(io.StringIO(r.text)))[3:]
    ids = {row[0] for row in rows if row and not row[0].startswith("#")}
    assert {"'" + p for p in PAYLOADS} <= ids
    assert not ids & set(PAYLOADS)


def _upload(site: Site, headers: dict[str, str], data_dir: Path, dataset_id: str,
            strict: bool = False, bad: bool = False) -> Any:
    text = (data_dir / "meuse" / "meuse.csv").read_text()
    if bad:
        lines = text.splitlines()
        lines[3] = re.sub(r"^((?:[^,]*,){5})[^,]*", r"\1lots", lines[3])
        text = "\n".join(lines) + "\n"
    desc = _descriptor(dataset_id, "public", "[]", False)
    files = {"file": ("meuse.csv", text.encode()), "descriptor": ("meuse.toml", desc.encode())}
    return site.client.post("/api/datasets", files=files, headers=headers,
                            data={"strict": str(strict).lower()})


def test_uploads_are_logged_accepted_or_not(site: Site, data_dir: Path) -> None:
    owner = site.headers("owner")
    assert _upload(site, owner, data_dir, "meuse-up", strict=True, bad=True
                   ).status_code == 422
    assert _upload(site, owner, data_dir, "meuse-up").status_code == 201
    assert _upload(site, site.headers("public"), data_dir, "meuse-up2").status_code == 403
    assert _upload(site, {"Authorization": "Bearer ce_000000000000_" + "x" * 43}, data_dir,
                   "meuse-up3").status_code == 401
    cookie = {"Cookie": f"chemearth_token={site.tokens['owner']}"}
    assert _upload(site, cookie, data_dir, "meuse-up4").status_code == 403  # no Origin
    ups = site.events(event="upload")
    assert [(e["actor"], e["outcome"], e.get("status")) for e in ups] == [
        ("ngu-owner", "rejected", 422), ("ngu-owner", "ingested", None),
        ("someone", "refused", 403), ("anonymous", "refused", 401),
        ("anonymous", "refused", 403)]
    assert ups[1]["dataset"] == "meuse-up"
    assert (ups[1]["n_samples"], ups[1]["version"]) == (155, 1)
    assert all(e["route"] == "/api/datasets" for e in ups)


def test_no_token_secret_is_in_the_log(site: Site) -> None:
    for actor in site.tokens:
        site.client.get(f"/api/downloads/{SECRET}/samples.csv", headers=site.headers(actor))
    text = (site.home / "audit.log").read_text()
    assert "ngu-owner" in text
    for token in site.tokens.values():
        assert token.split("_", 2)[2] not in text


def test_a_store_without_a_home_audits_and_authenticates_through_the_store(
    site: Site, boundaries: Path
) -> None:
    """The audit log and the tokens are the store's (a server store has no folder)."""
    from chemearth.store import Store, open_store
    from chemearth.web import WebSettings, create_app

    class Homeless:
        """A store backend without a home folder."""

        def __init__(self, store: Any) -> None:
            self._store = store

        def __getattr__(self, name: str) -> Any:
            if name == "home":
                raise AttributeError(name)
            return getattr(self._store, name)

    Store.register(Homeless)
    client = TestClient(create_app(Homeless(open_store(site.home)),  # type: ignore[arg-type]
                                   WebSettings(boundaries=boundaries)))
    log = site.home / "audit.log"
    before = log.read_text() if log.exists() else ""
    assert client.get(f"/api/downloads/{OPEN}/samples.csv?element=Zn").status_code == 200
    r = client.post("/api/datasets", files={"file": ("a.csv", b"a"),
                                            "descriptor": ("a.toml", b"")},
                    headers=site.headers("owner"))
    assert r.status_code == 422, r.text  # the owner's token is known: the descriptor is bad
    after = log.read_text()
    assert after.startswith(before)
    added = after.splitlines()[len(before.splitlines()):]
    assert [json.loads(x)["outcome"] for x in added] == ["rejected"]
