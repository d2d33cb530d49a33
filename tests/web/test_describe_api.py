"""The upload page's helpers through the API: ``POST /api/describe`` and ``POST /api/check``.

Real survey files are posted as a data owner would: the answer's descriptor parses, its
decisions are those of ``chemearth describe`` (:func:`chemearth.ingest.describe.propose`)
and its problems those of ``chemearth check`` (:func:`chemearth.ingest.check.check_file`)
on the same file; the form's edits are written into the TOML; every other actor is
answered exactly as an upload would answer them; bad files get a 4xx naming the problem;
and nothing is written to the store, nor left in the temporary folder.
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ORG = "Geological Survey of Xanadu"
OTHER = "Geological Survey of Elsewhere"
#: The site's upload limit here: the Kola and GEMAS files fit, DS-801 (1.4 MB) does not.
FILE_LIMIT = 1024 * 1024
SEVERITY_ORDER = {"error": 0, "decision": 1, "warning": 2}


@dataclass
class Site:
    """An empty store served in process, with a token per kind of actor."""

    home: Path
    client: Any
    tokens: dict[str, str | None]

    def headers(self, actor: str) -> dict[str, str]:
        token = self.tokens[actor]
        return {"Authorization": f"Bearer {token}"} if token else {}

    def describe(self, actor: str, name: str, data: bytes, **form: str) -> Any:
        return self.client.post("/api/describe", files={"file": (name, data)}, data=form,
                                headers=self.headers(actor))

    def check(self, actor: str, name: str, data: bytes, descriptor: str | bytes,
              fields: dict[str, Any] | str | None = None) -> Any:
        desc = descriptor.encode() if isinstance(descriptor, str) else descriptor
        form = {} if fields is None else {
            "fields": fields if isinstance(fields, str) else json.dumps(fields)}
        return self.client.post("/api/check", files={"file": (name, data),
                                                     "descriptor": ("survey.toml", desc)},
                                data=form, headers=self.headers(actor))

    def upload(self, actor: str, name: str, data: bytes, descriptor: str) -> Any:
        return self.client.post("/api/datasets", headers=self.headers(actor), files={
            "file": (name, data), "descriptor": ("survey.toml", descriptor.encode())})


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The process's temporary folder for this module: the routes' folders go here, so
    the tests can see that none is left behind."""
    folder = tmp_path_factory.mktemp("describe-tmp")
    saved = tempfile.tempdir
    tempfile.tempdir = str(folder)
    try:
        yield folder
    finally:
        tempfile.tempdir = saved


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, boundaries: Path, scratch: Path) -> Site:
    from fastapi.testclient import TestClient

    from chemearth.access.tokens import TokenStore
    from chemearth.store import open_store
    from chemearth.web import WebSettings, create_app

    home = tmp_path_factory.mktemp("describe-store") / "store"
    store = open_store(home)
    tokens = TokenStore(store.home)
    keys: dict[str, str | None] = {
        "anonymous": None,
        "public": tokens.create("reader", "public"),
        "partner": tokens.create("partner", "partner", grants=["taken-id"]),
        "other": tokens.create("elsewhere-owner", "owner", organisation=OTHER),
        "owner": tokens.create("xanadu-owner", "owner", organisation=ORG),
        "admin": tokens.create("admin", "admin"),
        "bad-token": "ce_0123456789ab_" + "x" * 43,
    }
    # no limit on failed tokens: the bad-token cases would lock every token out
    settings = WebSettings(boundaries=boundaries, timeout_s=300, upload_max_bytes=FILE_LIMIT,
                           auth_failures=0)
    client = TestClient(create_app(store, settings), raise_server_exceptions=False)
    return Site(home, client, keys)


def _snapshot(home: Path) -> dict[str, str]:
    """SHA-256 of every file of the store (the audit log only grows: left out)."""
    return {str(p.relative_to(home)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(home.rglob("*")) if p.is_file() and p.name != "audit.log"}


@pytest.fixture
def unchanged(site: Site, scratch: Path) -> Iterator[None]:
    """The test writes nothing to the store and leaves no temporary folder behind."""
    before = _snapshot(site.home)
    yield
    assert _snapshot(site.home) == before, "the store changed"
    assert not list(scratch.glob("chemearth-describe-*")), "a temporary folder was left"


def _problems(report: Any) -> list[dict[str, str]]:
    return [{"severity": p.severity, "where": p.where, "message": p.message}
            for p in report.problems]


def _assert_same_as_the_cli(body: dict[str, Any], path: Path, boundaries: Path) -> None:
    """The answer holds what ``chemearth describe`` and ``chemearth check`` give."""
    from chemearth.ingest.check import check_file
    from chemearth.ingest.describe import propose

    proposal = propose(path, boundaries=boundaries)
    assert body["decisions"] == proposal.decisions
    report = check_file(path, body["descriptor"], boundaries=boundaries)
    assert sorted(map(json.dumps, body["problems"])) == sorted(map(json.dumps, _problems(report)))
    assert body["ok"] is report.ok
    assert body["n_rows"] == report.n_rows


def _assert_well_formed(body: dict[str, Any], name: str) -> Any:
    from chemearth.ingest.descriptor import parse_descriptor

    desc = parse_descriptor(body["descriptor"])
    assert desc.source.path == name  # the uploaded file, by its own name: no server path
    assert "/tmp" not in json.dumps(body)
    assert [SEVERITY_ORDER[p["severity"]] for p in body["problems"]] == sorted(
        SEVERITY_ORDER[p["severity"]] for p in body["problems"])
    assert {c["column"] for c in body["fields"]["columns"]} == {s.column for s in desc.columns}
    return desc


def _comment(line: str) -> bool:
    """A comment line, but not a key put out of use (``# crs = ""``), which an edit sets."""
    return line.startswith("#") and not re.match(r"#\s*\w+\s*=", line)


# ----------------------------------------------------------------------------- proposals


@pytest.mark.usefixtures("unchanged")
def test_a_kola_file_is_described_as_the_cli_describes_it(
    site: Site, data_dir: Path, boundaries: Path
) -> None:
    path = data_dir / "kola" / "chorizon.csv"
    r = site.describe("owner", "chorizon.csv", path.read_bytes())
    assert r.status_code == 200, r.text
    body = r.json()
    desc = _assert_well_formed(body, "chorizon.csv")
    assert (desc.dataset.id, desc.dataset.organisation) == ("chorizon", ORG)
    assert (desc.coordinates.x, desc.coordinates.y) == ("XCOO", "YCOO")
    assert {"Cu", "Ni", "Pb", "Zn"} <= {s.element for s in desc.columns}
    assert body["fields"]["organisation"] == ORG
    assert (body["fields"]["x"], body["fields"]["y"]) == ("XCOO", "YCOO")
    assert body["n_rows"] == 606
    _assert_same_as_the_cli(body, path, boundaries)


@pytest.mark.usefixtures("unchanged")
def test_a_gemas_file_is_described_as_the_cli_describes_it(
    site: Site, data_dir: Path, boundaries: Path
) -> None:
    path = data_dir / "gemas" / "gemas.csv"
    r = site.describe("owner", "gemas.csv", path.read_bytes())
    assert r.status_code == 200, r.text
    body = r.json()
    desc = _assert_well_formed(body, "gemas.csv")
    assert desc.dataset.organisation == ORG
    assert body["n_rows"] == 2108
    assert len(desc.columns) >= 10
    _assert_same_as_the_cli(body, path, boundaries)


@pytest.mark.usefixtures("unchanged")
def test_an_administrator_names_the_organisation(site: Site, data_dir: Path) -> None:
    csv = (data_dir / "meuse" / "meuse.csv").read_bytes()
    r = site.describe("admin", "meuse.csv", csv)
    assert r.status_code == 200, r.text
    assert r.json()["fields"]["organisation"] == ""  # an admin's token has none
    assert {"severity": "decision", "where": "[dataset].organisation"} in [
        {k: p[k] for k in ("severity", "where")} for p in r.json()["problems"]]
    r = site.describe("admin", "meuse.csv", csv, organisation=OTHER)
    assert r.status_code == 200, r.text
    assert r.json()["fields"]["organisation"] == OTHER
    assert "[dataset].organisation" not in {p["where"] for p in r.json()["problems"]}


# ----------------------------------------------------------------------------- checks


@pytest.mark.usefixtures("unchanged")
def test_the_forms_edits_are_written_into_the_descriptor_and_checked(
    site: Site, data_dir: Path, boundaries: Path
) -> None:
    from chemearth.ingest.check import check_file
    from chemearth.ingest.descriptor import parse_descriptor

    path = data_dir / "kola" / "chorizon.csv"
    proposed = site.describe("owner", "chorizon.csv", path.read_bytes()).json()
    assert any(p["where"] == "[dataset].medium" for p in proposed["problems"])
    edits = {"id": "kola-c", "title": 'Kola "C-horizon"', "medium": "c-horizon",
             "crs": "EPSG:32635", "countries": "NO, FI, RU", "sharing": "aggregated",
             "licence": "CC-BY-4.0",
             "columns": [{"column": "Cu", "element": "Cu", "unit": "ppm"},
                         {"column": "Ag", "element": ""}]}
    r = site.check("owner", "chorizon.csv", path.read_bytes(), proposed["descriptor"], edits)
    assert r.status_code == 200, r.text
    body = r.json()
    desc = parse_descriptor(body["descriptor"])
    assert (desc.dataset.id, desc.dataset.title, desc.dataset.medium) == (
        "kola-c", 'Kola "C-horizon"', "c-horizon")
    assert (desc.coordinates.crs, desc.dataset.countries) == ("EPSG:32635", ("NO", "FI", "RU"))
    assert (desc.dataset.sharing, desc.dataset.licence) == ("aggregated", "CC-BY-4.0")
    cu = next(s for s in desc.columns if s.column == "Cu")
    assert cu.unit == "ppm"
    assert "Ag" not in {s.column for s in desc.columns}
    assert body["fields"]["medium"] == "c-horizon"
    assert body["fields"]["crs"] == "EPSG:32635"
    # only the edited statements changed: the other lines and comments are as proposed
    old, new = proposed["descriptor"].splitlines(), body["descriptor"].splitlines()
    assert len(set(old) - set(new)) <= len(edits) + 3
    assert [ln for ln in old if _comment(ln)] == [ln for ln in new if _comment(ln)]
    assert not any(p["where"] == "[dataset].medium" for p in body["problems"])
    report = check_file(path, body["descriptor"], boundaries=boundaries)
    assert sorted(map(json.dumps, body["problems"])) == sorted(map(json.dumps, _problems(report)))


@pytest.mark.usefixtures("unchanged")
def test_a_descriptor_naming_a_server_file_is_not_opened(site: Site, data_dir: Path) -> None:
    csv = (data_dir / "meuse" / "meuse.csv").read_bytes()
    proposed = site.describe("owner", "meuse.csv", csv).json()["descriptor"]
    answers = []
    for name in ("/etc/passwd", "/no/such/file.csv"):
        text = proposed.replace("[censoring]\n", f'[censoring]\nlimits_file = "{name}"\n')
        r = site.check("owner", "meuse.csv", csv, text)
        assert r.status_code == 200, r.text
        (problem,) = r.json()["problems"]
        assert (problem["severity"], problem["where"]) == ("error", "upload")
        assert "same upload" in problem["message"]
        answers.append(problem["message"].replace(name, "NAME"))
        assert "root:" not in r.text
    assert answers[0] == answers[1]  # the same words whether the file exists or not


@pytest.mark.usefixtures("unchanged")
def test_a_descriptor_that_is_not_toml_is_a_problem_of_the_check(
    site: Site, data_dir: Path
) -> None:
    csv = (data_dir / "meuse" / "meuse.csv").read_bytes()
    r = site.check("owner", "meuse.csv", csv, "[dataset\nid = meuse\n")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["fields"] is None
    assert not body["ok"]
    assert [(p["severity"], p["where"]) for p in body["problems"]] == [("error", "descriptor")]
    # form edits cannot be written into it: said so
    r = site.check("owner", "meuse.csv", csv, "[dataset\nid = meuse\n", {"medium": "soil"})
    assert r.status_code == 422
    assert "not valid TOML" in r.json()["detail"]


# ----------------------------------------------------------------------------- who may


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize("actor", ["anonymous", "public", "partner", "other", "bad-token"])
def test_everyone_else_is_answered_as_an_upload_is(
    site: Site, data_dir: Path, actor: str
) -> None:
    """A descriptor for the owner's organisation: describe (for that organisation), check
    and upload give the same status and the same words."""
    path = data_dir / "meuse" / "meuse.csv"
    csv = path.read_bytes()
    proposal = site.describe("owner", "meuse.csv", csv).json()["descriptor"]
    assert f'organisation = "{ORG}"' in proposal
    up = site.upload(actor, "meuse.csv", csv, proposal)
    assert up.status_code in (401, 403), up.text
    answers = {
        "describe": site.describe(actor, "meuse.csv", csv, organisation=ORG),
        "check": site.check(actor, "meuse.csv", csv, proposal),
        "check with edits": site.check(actor, "meuse.csv", csv, proposal, {"medium": "soil"}),
    }
    for route, r in answers.items():
        assert (r.status_code, r.json()) == (up.status_code, up.json()), route
    if actor != "other":  # a describe for no organisation: the same refusal
        r = site.describe(actor, "meuse.csv", csv)
        assert (r.status_code, r.json()) == (up.status_code, up.json())


@pytest.mark.usefixtures("unchanged")
def test_refusals_come_before_anything_is_read(site: Site, data_dir: Path) -> None:
    """Anonymous callers get the upload's 403 even for a bad file, descriptor or form."""
    csv = (data_dir / "meuse" / "meuse.csv").read_bytes()
    refused = site.upload("anonymous", "meuse.csv", csv, "x").json()
    for r in (site.describe("anonymous", "survey.exe", b"MZ\x90\x00"),
              site.check("anonymous", "meuse.csv", csv, b"\xff" * 10),
              site.check("anonymous", "meuse.csv", csv, b"# x\n" * 300_000),
              site.check("anonymous", "meuse.csv", csv, "[dataset]\n", "{not json")):
        assert (r.status_code, r.json()) == (403, refused)


@pytest.mark.usefixtures("unchanged")
def test_an_owner_of_another_organisation_describes_for_their_own(
    site: Site, data_dir: Path
) -> None:
    """The positive control: the same actor may prepare uploads for their organisation."""
    r = site.describe("other", "meuse.csv", (data_dir / "meuse" / "meuse.csv").read_bytes())
    assert r.status_code == 200, r.text
    assert r.json()["fields"]["organisation"] == OTHER


# ----------------------------------------------------------------------------- bad input


def _header_only(data_dir: Path) -> bytes:
    return (data_dir / "meuse" / "meuse.csv").read_bytes().splitlines(keepends=True)[0]


BAD_FILES = [
    # id, file name, content (from the data folder), status, words the answer must hold
    ("not-a-table-type", "meuse.exe", lambda d: (d / "meuse" / "meuse.csv").read_bytes(),
     422, ("meuse.exe", "not a survey table", ".exe")),
    ("shapefile-alone", "meuse.shp", lambda d: b"\x00\x00\x27\x0a" * 50,
     422, ("meuse.shp", "not a survey table")),
    ("no-extension", "survey", lambda d: (d / "meuse" / "meuse.csv").read_bytes(),
     422, ("survey", "no extension")),
    ("empty", "meuse.csv", lambda d: b"", 422, ("meuse.csv", "empty")),
    ("header-only", "meuse.csv", _header_only, 422, ("meuse.csv", "no data rows")),
    ("binary-as-csv", "meuse.csv",
     lambda d: (d / "boundaries" / "ne_110m_admin_0_countries.geojson").read_bytes()[:4000]
     .replace(b'"', b"\xff"), 422, ("meuse.csv",)),
    ("csv-as-xlsx", "meuse.xlsx", lambda d: (d / "meuse" / "meuse.csv").read_bytes(),
     422, ("meuse.xlsx", "not a readable .xlsx")),
    ("csv-as-geopackage", "meuse.gpkg", lambda d: (d / "meuse" / "meuse.csv").read_bytes(),
     422, ("meuse.gpkg", "not a readable vector file")),
    ("over-the-limit", "ds801.csv",
     lambda d: (d / "usgs_ds801" / "ds801_top5_raw.csv").read_bytes(),
     413, ("ds801.csv", f"{FILE_LIMIT:,} bytes")),
]


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(("name", "make", "status", "words"),
                         [pytest.param(*c[1:], id=c[0]) for c in BAD_FILES])
def test_a_bad_file_is_refused_naming_the_problem(
    site: Site, data_dir: Path, name: str, make: Any, status: int, words: tuple[str, ...]
) -> None:
    """describe: a 4xx naming the problem. check: the same, or (a file of a survey type
    that cannot be read as its descriptor says: the descriptor may be at fault) an
    ``error`` of the check naming it."""
    data = make(data_dir)
    csv = (data_dir / "meuse" / "meuse.csv").read_bytes()
    proposal = site.describe("owner", "meuse.csv", csv).json()["descriptor"]
    described = site.describe("owner", name, data)
    checked = site.check("owner", name, data, proposal)
    for r in (described, checked):
        assert "/tmp" not in r.text
        assert str(site.home) not in r.text
        assert "Traceback" not in r.text
    assert described.status_code == status, described.text
    if checked.status_code == 200 and status == 422 and "not a survey table" not in words:
        body = checked.json()
        assert not body["ok"]
        detail = " ".join(p["message"] for p in body["problems"] if p["severity"] == "error")
        assert checked.json()["n_rows"] == 0
    else:
        assert checked.status_code == status, checked.text
        detail = checked.json()["detail"]
        assert detail == described.json()["detail"]
    for word in words:
        assert word in described.json()["detail"], described.json()["detail"]
        assert word in detail, detail


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(
    ("descriptor", "fields", "status", "words"),
    [
        pytest.param("# x\n" * 300_000, None, 413, ("survey.toml", "1,048,576 bytes"),
                     id="descriptor-over-1MiB"),
        pytest.param("[dataset]\ntitle = \"Meuse rivi\u00e8re\"\n".encode("latin-1"), None,
                     422, ("survey.toml", "UTF-8"), id="descriptor-not-utf8"),
        pytest.param(None, "{not json", 422, ("form fields", "JSON"), id="fields-not-json"),
        pytest.param(None, "[1, 2]", 422, ("form fields", "object"), id="fields-not-object"),
        pytest.param(None, {"colour": "red"}, 422, ("'colour'", "unknown"), id="unknown-field"),
        pytest.param(None, {"title": 3}, 422, ("'title'", "text"), id="field-not-text"),
        pytest.param(None, {"columns": [{"element": "Cu"}]}, 422, ("'columns'", "'column'"),
                     id="column-without-name"),
        pytest.param(None, {"notes": "x"}, 422, ("'notes'", "unknown"), id="not-a-form-field"),
        pytest.param("# " + "x" * 600_000 + "\n", {"title": "x" * 500_000}, 413,
                     ("1,048,576 bytes",), id="edits-over-1MiB"),
    ],
)
def test_a_bad_descriptor_or_form_is_refused_naming_the_problem(
    site: Site, data_dir: Path, descriptor: Any, fields: Any, status: int,
    words: tuple[str, ...]
) -> None:
    csv = (data_dir / "meuse" / "meuse.csv").read_bytes()
    proposal = site.describe("owner", "meuse.csv", csv).json()["descriptor"]
    if descriptor is None:
        descriptor = proposal
    elif fields is not None:
        descriptor = proposal + descriptor
    r = site.check("owner", "meuse.csv", csv, descriptor, fields)
    assert r.status_code == status, r.text
    for word in words:
        assert word in r.json()["detail"], r.json()["detail"]


# ----------------------------------------------------------------------------- last: writes


def test_a_checked_descriptor_uploads(site: Site, data_dir: Path) -> None:
    """Describe, fix, check until ok, upload: the dataset is in the catalogue."""
    csv = (data_dir / "meuse" / "meuse.csv").read_bytes()
    before = _snapshot(site.home)
    proposed = site.describe("owner", "meuse.csv", csv).json()
    edits = {"id": "meuse-described", "title": "Meuse floodplain topsoils",
             "medium": "floodplain sediment", "crs": "EPSG:28992", "countries": ["NL"],
             "decided": proposed["fields"]["to_decide"]}  # each item reviewed
    r = site.check("owner", "meuse.csv", csv, proposed["descriptor"], edits)
    body = r.json()
    assert body["ok"], body["problems"]
    assert _snapshot(site.home) == before
    up = site.upload("owner", "meuse.csv", csv, body["descriptor"])
    assert up.status_code == 201, up.text
    assert (up.json()["dataset_id"], up.json()["n_samples"]) == ("meuse-described", 155)
    entry = site.client.get("/api/datasets/meuse-described", headers=site.headers("owner"))
    assert entry.json()["title"] == "Meuse floodplain topsoils"
    # the id is now taken: for another organisation's owner the check says so, as the
    # upload would
    text = body["descriptor"].replace(f'organisation = "{ORG}"', f'organisation = "{OTHER}"')
    again = site.check("other", "meuse.csv", csv, text).json()
    assert {"severity": "error", "where": "upload",
            "message": "dataset id 'meuse-described' is taken; choose another id"} in \
        again["problems"]
    assert not again["ok"]
