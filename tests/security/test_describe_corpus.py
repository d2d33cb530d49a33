"""The upload corpus's hostile survey files, sent to the upload page's helper
(``POST /api/describe``): each is refused as the upload refuses it (the same status,
the file named), with no traceback and no server path, and the store stays byte-identical.

The cases, the site and the store snapshot are those of
:mod:`tests.security.test_upload_corpus`; only its cases about the survey file itself (and
who sends it) apply here, the helper having no descriptor to be given.
"""

from __future__ import annotations

from typing import Any

import pytest
from tests.security.test_upload_corpus import (  # noqa: F401 - fixtures used below
    CORPUS,
    Case,
    Kit,
    Site,
    _assert_unchanged,
    _snapshot,
    kit,
    site,
)

#: Corpus cases about the survey file and the sender, and what the answer must name.
FILE_CASES = {
    "file-over-the-limit": ("meuse.csv", "bytes"),
    "empty-file": ("meuse.csv", "empty"),
    "header-only": ("meuse.csv", "no data rows"),
    "csv-with-nul-bytes": ("meuse.csv",),
    "duplicate-column-names": ("meuse.csv", "duplicate column name"),
    "unknown-file-format": ("meuse.exe", "not a survey table"),
    "geopackage-that-is-not-one": ("meuse.gpkg", "not a readable vector file"),
    "xlsx-zip-bomb": ("bomb.xlsx", "compression ratio"),
    "xlsx-lying-zip-directory": ("lying.xlsx", "not a readable .xlsx"),
    "xlsx-not-a-zip": ("meuse.xlsx", "not a readable .xlsx"),
    "xlsx-header-only": ("head.xlsx", "no data rows"),
    "public-token": ("data owner",),
    "anonymous": ("data owner",),
    "invalid-token": ("invalid or revoked",),
}


def _params() -> list[Any]:
    return [pytest.param(c, id=c.id, marks=[pytest.mark.slow] if c.slow else [])
            for c in CORPUS if c.id in FILE_CASES]


def test_every_file_case_is_in_the_corpus() -> None:
    assert {c.id for c in CORPUS} >= set(FILE_CASES)


@pytest.mark.parametrize("case", _params())
def test_a_hostile_file_is_refused_by_describe_as_by_upload(
    site: Site, kit: Kit, case: Case  # noqa: F811 - the fixtures imported above
) -> None:
    upload = case.make(kit)
    headers = {}
    if upload.actor != "anonymous":
        headers["Authorization"] = f"Bearer {site.tokens[upload.actor]}"
    before = _snapshot(site.home)
    r = site.client.post("/api/describe", files={"file": upload.file}, headers=headers)
    assert r.status_code == case.status, r.text[:2000]
    body = r.text
    for name in FILE_CASES[case.id]:
        assert name in body, f"{name!r} not named in {body[:2000]}"
    assert "Traceback" not in body
    assert str(site.home) not in body
    assert "/tmp/" not in body
    _assert_unchanged(site.home, before)
