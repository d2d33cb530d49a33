"""Token attacks against the website: guessing, forging, reusing a revoked token, and a
``public`` token that an old access file gave an organisation (finding 7).

Each attack is run through the API with a fresh application (so the failed-token limit of
one test does not block another) over the store with sharing rules of the web tests.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.web.conftest import AGGREGATED, OWNER_ORG, SECRET

from chemearth.access.tokens import TokenStore


@pytest.fixture(scope="module")
def home(secure_store: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the store with sharing rules, whose tokens these attacks may change."""
    import shutil

    out = tmp_path_factory.mktemp("tokens") / "store"
    shutil.copytree(secure_store.home, out)
    return out


def _app(home: Path, boundaries: Path, **settings: Any) -> TestClient:
    from chemearth.store import open_store
    from chemearth.web import WebSettings, create_app

    return TestClient(create_app(open_store(home),
                                 WebSettings(boundaries=boundaries, timeout_s=120, **settings)))


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_forged_tokens_get_one_answer(secure_store: Any, home: Path, boundaries: Any) -> None:
    """An unknown id, a known id with a wrong secret, a malformed token and a revoked
    token all get the same 401: nothing tells an attacker which part was right."""
    client = _app(home, boundaries, auth_failures=0)
    owner = secure_store.tokens["owner"]
    _, token_id, secret = owner.split("_", 2)
    other = "B" if secret[-1] != "B" else "C"
    tokens = TokenStore(home)
    revoked = tokens.create("leaver", "owner", organisation=OWNER_ORG)
    tokens.revoke(re.fullmatch(r"ce_([0-9a-f]{12})_.*", revoked).group(1))
    forged = {
        "unknown id": f"ce_{'0' * 12}_{secret}",
        "wrong secret": f"ce_{token_id}_{'A' * 43}",
        "secret one character off": f"ce_{token_id}_{secret[:-1]}{other}",
        "malformed": "ce_nonsense",
        "revoked": revoked,
    }
    answers = {}
    for name, token in forged.items():
        r = client.get(f"/api/datasets/{SECRET}", headers=_bearer(token))
        answers[name] = (r.status_code, r.text)
    assert set(answers.values()) == {(401, answers["malformed"][1])}, answers
    assert "invalid or revoked" in answers["malformed"][1]
    # and the real token still works
    assert client.get(f"/api/datasets/{SECRET}", headers=_bearer(owner)).status_code == 200


def test_guessing_is_stopped_before_it_can_succeed(secure_store: Any, home: Path,
                                                   boundaries: Any) -> None:
    """After the allowed failures, even the right token is refused from that address, so
    a guess that happens to be right cannot be told from a wrong one."""
    client = _app(home, boundaries, auth_failures=5)
    owner = secure_store.tokens["owner"]
    _, token_id, _ = owner.split("_", 2)
    codes = [client.get("/api/session", headers=_bearer(f"ce_{token_id}_{'x' * 42}{i}")
                        ).status_code for i in range(8)]
    assert codes[:5] == [401] * 5
    assert set(codes[5:]) == {429}
    assert client.get(f"/api/datasets/{SECRET}", headers=_bearer(owner)).status_code == 429


@pytest.mark.parametrize("grants", [[], [SECRET, AGGREGATED]])
def test_a_public_token_from_an_old_file_sees_what_anonymous_sees(
    home: Path, boundaries: Any, grants: list[str]
) -> None:
    """Finding 7: a ``public`` token with the owner's organisation (and grants), as an old
    access file could hold, reads nothing that anonymous users cannot."""
    tokens = TokenStore(home)
    token = tokens.create("old-public", "public")
    data = json.loads(tokens.path.read_text())
    for rec in data["tokens"]:
        if rec["name"] == "old-public":
            rec.update(organisation=OWNER_ORG, grants=grants)
    tokens.path.write_text(json.dumps(data))
    client = _app(home, boundaries)
    for url in (f"/api/datasets/{SECRET}", f"/api/collections/{AGGREGATED}.samples/items",
                f"/api/downloads/{AGGREGATED}/samples.csv", "/api/datasets",
                f"/api/datasets/{AGGREGATED}", "/api/elements/Ni"):
        anon = client.get(url)
        mine = client.get(url, headers=_bearer(token))
        assert (mine.status_code, mine.content) == (anon.status_code, anon.content), url
    assert client.get("/api/session", headers=_bearer(token)).json()["organisation"] == ""
