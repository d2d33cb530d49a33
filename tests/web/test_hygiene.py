"""Web hygiene: failed-token rate limit, Secure session cookie, Origin check of
cookie-authenticated writes, private caching of answers to tokens, ``nosniff`` on every
answer, and an embargo's existence told only to actors with full access.

Over the secure store of tests/web/conftest.py (real surveys under three policies).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.web.conftest import ACTORS, AGGREGATED, EMBARGO, FULL_ACCESS, PUBLIC, QC_PUBLIC

from chemearth.web import WebSettings, create_app
from chemearth.web.deps import COOKIE

BAD = "ce_000000000000_" + "x" * 43
NOT_FULL = [a for a in ACTORS if a not in FULL_ACCESS[AGGREGATED]]
FULL = sorted(FULL_ACCESS[AGGREGATED])


def _app(secure_store: Any, boundaries: Any, **settings: Any) -> Any:
    return create_app(secure_store.store,
                      WebSettings(boundaries=boundaries, timeout_s=120, **settings))


def _cookie(token: str | None) -> dict[str, str]:
    return {"Cookie": f"{COOKIE}={token}"} if token else {}


@pytest.fixture(scope="module")
def tile_url(secure_client: Any) -> str:
    """A tile of the public dataset over its samples."""
    import morecantile

    tj = secure_client.get(f"/api/layers/{PUBLIC}/Zn/tilejson.json").json()
    t = morecantile.tms.get("WebMercatorQuad").tile(6.85, 47.2, 9)
    return str(tj["tiles"][0]).replace("http://testserver", "").format(z=t.z, x=t.x, y=t.y)


# --------------------------------------------------------------------------- rate limit


def test_failed_tokens_are_rate_limited_per_client(secure_store: Any, boundaries: Any,
                                                   tile_url: str) -> None:
    app = _app(secure_store, boundaries, auth_failures=3)
    me, other = TestClient(app), TestClient(app, client=("192.0.2.9", 1234))
    good = secure_store.headers("owner")
    assert me.get(tile_url, headers=good).status_code == 200  # now in the tile cache
    for _ in range(3):
        assert me.get("/api/session", headers={"Authorization": f"Bearer {BAD}"}
                      ).status_code == 401
    r = me.get("/api/session", headers={"Authorization": f"Bearer {BAD}"})
    assert r.status_code == 429
    assert 0 < int(r.headers["retry-after"]) <= 60
    assert "too many failed" in r.json()["detail"]
    # blocked: no token of this client is checked, not even a good one (no oracle) ...
    for url in ("/api/session", "/api/datasets", tile_url):
        assert me.get(url, headers=good).status_code == 429, url
    assert me.get("/api/session", headers=_cookie(secure_store.tokens["owner"])
                  ).status_code == 429
    assert me.post("/api/session", data={"token": secure_store.tokens["owner"]}
                   ).status_code == 429
    # ... pages answer as to anonymous, anonymous requests are served, other clients too
    page = me.get(f"/catalogue/datasets/{AGGREGATED}", headers=good)
    assert page.status_code == 200
    assert 'href="/catalogue/elements/Ni"' not in page.text
    assert me.get("/api/datasets").status_code == 200
    assert other.get("/api/session", headers=good).json()["role"] == "owner"


@pytest.mark.parametrize("door", ["bearer", "cookie", "login", "page"])
def test_every_door_counts_failures(secure_store: Any, boundaries: Any, door: str) -> None:
    client = TestClient(_app(secure_store, boundaries, auth_failures=2))
    for _ in range(2):
        if door == "bearer":
            client.get("/api/datasets", headers={"Authorization": f"Bearer {BAD}"})
        elif door == "cookie":
            client.get("/api/datasets", headers=_cookie(BAD))
        elif door == "login":
            assert client.post("/api/session", data={"token": BAD}).status_code == 401
        else:
            assert client.get("/catalogue", headers=_cookie(BAD)).status_code == 200
    assert client.get("/api/session", headers=secure_store.headers("owner")).status_code == 429


def test_forwarded_addresses_count_only_from_trusted_proxies(
    secure_store: Any, boundaries: Any
) -> None:
    bad = {"Authorization": f"Bearer {BAD}"}
    # not trusted: X-Forwarded-For cannot be used to dodge the limit
    client = TestClient(_app(secure_store, boundaries, auth_failures=2))
    for i in range(2):
        client.get("/api/session", headers={**bad, "X-Forwarded-For": f"198.51.100.{i}"})
    assert client.get("/api/session", headers={**bad, "X-Forwarded-For": "198.51.100.7"}
                      ).status_code == 429
    # behind a trusted proxy, each forwarded client has its own count
    client = TestClient(_app(secure_store, boundaries, auth_failures=2,
                             trusted_proxies=("testclient",)))
    for _ in range(2):
        client.get("/api/session", headers={**bad, "X-Forwarded-For": "198.51.100.1"})
    assert client.get("/api/session", headers={**bad, "X-Forwarded-For": "198.51.100.1"}
                      ).status_code == 429
    assert client.get("/api/session", headers={**bad, "X-Forwarded-For": "198.51.100.2"}
                      ).status_code == 401


def test_the_limit_forgets_old_failures() -> None:
    from chemearth.web.hygiene import FailedAttempts, TooManyAttempts

    now = [0.0]
    guard = FailedAttempts(2, window_s=60, clock=lambda: now[0])
    guard.failed("a")
    now[0] = 30
    guard.failed("a")
    with pytest.raises(TooManyAttempts) as caught:
        guard.check("a")
    assert caught.value.retry_after == 30
    guard.check("b")
    now[0] = 60.5  # the first failure is out of the window
    guard.check("a")
    now[0] = 91  # all of a's failures too: a is forgotten when b fails
    guard.failed("b")
    assert list(guard._failures) == ["b"]
    assert FailedAttempts(0).check("a") is None  # 0: no limit


# --------------------------------------------------------------------------- cookies


@pytest.mark.parametrize(
    ("settings", "base_url", "headers", "secure"),
    [
        ({}, "http://testserver", {}, False),
        ({}, "https://testserver", {}, True),
        ({"secure_cookies": True}, "http://testserver", {}, True),
        ({}, "http://testserver", {"X-Forwarded-Proto": "https"}, False),  # not trusted
        ({"trusted_proxies": ("testclient",)}, "http://testserver",
         {"X-Forwarded-Proto": "https"}, True),
        ({"trusted_proxies": ("testclient",)}, "http://testserver",
         {"X-Forwarded-Proto": "http"}, False),
    ],
)
def test_the_session_cookie_is_secure_behind_https(
    secure_store: Any, boundaries: Any, settings: dict[str, Any], base_url: str,
    headers: dict[str, str], secure: bool
) -> None:
    client = TestClient(_app(secure_store, boundaries, **settings), base_url=base_url)
    r = client.post("/api/session", data={"token": secure_store.tokens["owner"]},
                    headers=headers)
    assert r.status_code == 200, r.text
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    assert ("; secure" in cookie) is secure
    forwarded = "trusted_proxies" in settings and headers.get("X-Forwarded-Proto") == "https"
    scheme = "https" if base_url.startswith("https") or forwarded else "http"
    r = client.delete("/api/session", headers={
        **headers, **_cookie(secure_store.tokens["owner"]), "Origin": f"{scheme}://testserver"})
    assert r.status_code == 200, r.text
    assert ("; secure" in r.headers["set-cookie"].lower()) is secure


# --------------------------------------------------------------------------- Origin


def _upload(client: Any, headers: dict[str, str]) -> Any:
    files = {"file": ("x.csv", b"x,y\n1,2\n"), "descriptor": ("x.toml", b"[dataset]\n")}
    return client.post("/api/datasets", files=files, headers=headers)


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ({}, False),
        ({"Origin": "https://evil.example"}, False),
        ({"Origin": "null"}, False),
        ({"Origin": "http://testserver.evil.example"}, False),
        ({"Origin": "https://testserver"}, False),  # another scheme is another origin
        ({"Referer": "https://evil.example/upload"}, False),
        ({"Origin": "http://testserver"}, True),
        ({"Referer": "http://testserver/upload"}, True),
        ({"Origin": "http://TESTSERVER:80"}, True),
    ],
)
def test_cookie_writes_need_this_sites_origin(
    secure_client: Any, secure_store: Any, origin: dict[str, str], allowed: bool
) -> None:
    r = _upload(secure_client, {**_cookie(secure_store.tokens["public"]), **origin})
    assert r.status_code == 403
    detail = r.json()["detail"]
    if allowed:  # past the Origin check, refused for the role
        assert "data owner" in detail
    else:
        assert "cross-site" in detail
        assert "Origin" in detail


def test_bearer_writes_need_no_origin(secure_client: Any, secure_store: Any) -> None:
    r = _upload(secure_client, secure_store.headers("public"))
    assert r.status_code == 403
    assert "data owner" in r.json()["detail"]
    r = _upload(secure_client, {**secure_store.headers("public"),
                                "Origin": "https://evil.example"})
    assert "data owner" in r.json()["detail"]


def test_log_in_and_out_refuse_other_sites(secure_client: Any, secure_store: Any) -> None:
    token = secure_store.tokens["public"]
    evil = {"Origin": "https://evil.example"}
    assert secure_client.post("/api/session", data={"token": token}, headers=evil
                              ).status_code == 403
    assert secure_client.post("/api/session", data={"token": token}).status_code == 200
    assert secure_client.delete("/api/session", headers={**_cookie(token), **evil}
                                ).status_code == 403
    assert secure_client.delete("/api/session", headers={**_cookie(token)}).status_code == 403
    assert secure_client.delete("/api/session", headers={
        **_cookie(token), "Origin": "http://testserver"}).status_code == 200
    assert secure_client.delete("/api/session").status_code == 200  # no cookie: nothing to do


def test_the_upload_page_posts_from_its_own_origin() -> None:
    """The page's fetch() is same-origin, so the browser sends this site's Origin."""
    from pathlib import Path

    import chemearth.web

    templates = Path(chemearth.web.__file__).parent / "templates"
    for name in ("upload.html", "login.html"):
        text = (templates / name).read_text()
        assert "fetch('/api/" in text
        assert "credentials: 'same-origin'" in text


# --------------------------------------------------------------------------- caching


def _answers(client: Any, tile_url: str, headers: dict[str, str]) -> dict[str, Any]:
    return {
        "json": client.get(f"/api/datasets/{PUBLIC}", headers=headers),
        "csv": client.get(f"/api/downloads/{PUBLIC}/samples.csv?element=Zn", headers=headers),
        "layer-csv": client.get(f"/api/downloads/{PUBLIC}/layers/Zn.csv", headers=headers),
        "png": client.get(tile_url, headers=headers),
        "cached png": client.get(tile_url, headers=headers),
        "plot": client.get(f"/api/elements/Zn/plot.png?dataset={PUBLIC}", headers=headers),
        "page": client.get(f"/catalogue/datasets/{PUBLIC}", headers=headers),
        "boundaries": client.get("/api/boundaries.geojson", headers=headers),
        "error": client.get("/api/datasets/nonexistent", headers=headers),
    }


@pytest.mark.parametrize("how", ["bearer", "cookie"])
def test_answers_to_tokens_are_private(secure_client: Any, secure_store: Any,
                                       tile_url: str, how: str) -> None:
    token = secure_store.tokens["partner"]
    headers = secure_store.headers("partner") if how == "bearer" else _cookie(token)
    for name, r in _answers(secure_client, tile_url, headers).items():
        assert r.status_code in (200, 404), (name, r.text)
        cache = r.headers.get("cache-control", "")
        assert cache.startswith("private"), (name, cache)
        assert "public" not in cache
        assert "no-store" in cache or "max-age" in cache, (name, cache)
        vary = {v.strip().lower() for v in r.headers.get("vary", "").split(",")}
        assert {"authorization", "cookie"} <= vary, (name, vary)


def test_anonymous_answers_keep_their_public_caching(secure_client: Any,
                                                     tile_url: str) -> None:
    got = _answers(secure_client, tile_url, {})
    assert got["png"].headers["cache-control"] == "public, max-age=600"
    assert got["cached png"].headers["cache-control"] == "public, max-age=600"
    assert got["boundaries"].headers["cache-control"] == "public, max-age=86400"
    assert "cache-control" not in got["json"].headers
    for name in ("png", "cached png", "json"):
        vary = {v.strip().lower() for v in got[name].headers["vary"].split(",")}
        assert {"authorization", "cookie"} <= vary, name


def test_every_answer_is_nosniff(secure_client: Any, secure_store: Any,
                                 tile_url: str) -> None:
    owner = secure_store.headers("owner")
    answers = {
        **{f"anonymous {k}": v for k, v in _answers(secure_client, tile_url, {}).items()},
        **{f"owner {k}": v for k, v in _answers(secure_client, tile_url, owner).items()},
        "304 cached tile": secure_client.get(tile_url, headers={
            "If-None-Match": secure_client.get(tile_url).headers["etag"]}),
        "static": secure_client.get("/static/app.js"),
        "openapi": secure_client.get("/openapi.json"),
        "docs": secure_client.get("/api/docs"),
        "redirect": secure_client.get("/logout", follow_redirects=False),
        "401": secure_client.get("/api/session", headers={"Authorization": "Bearer nope"}),
        "403": secure_client.get(f"/api/downloads/{AGGREGATED}/samples.csv"),
        "405": secure_client.put("/api/datasets"),
        "422": secure_client.get("/api/collections/x.samples/items?limit=0"),
        "page 404": secure_client.get("/catalogue/datasets/nonexistent"),
        "route 404": secure_client.get("/no/such/route"),
    }
    assert answers["304 cached tile"].status_code == 304
    assert answers["redirect"].status_code == 303
    for name, r in answers.items():
        assert r.headers.get("x-content-type-options") == "nosniff", name
        assert r.headers.get_list("x-content-type-options") == ["nosniff"], name


def test_a_timeout_answer_is_nosniff(secure_store: Any, boundaries: Any) -> None:
    app = create_app(secure_store.store, WebSettings(boundaries=boundaries, timeout_s=1e-9))
    r = TestClient(app).get(f"/api/elements/Zn/plot.png?dataset={PUBLIC}")
    assert r.status_code == 503
    assert r.headers.get_list("x-content-type-options") == ["nosniff"]


# --------------------------------------------------------------------------- embargo


@pytest.mark.parametrize("actor", list(ACTORS))
def test_only_full_access_learns_of_an_embargo(secure_client: Any, secure_store: Any,
                                               actor: str) -> None:
    h = secure_store.headers(actor)
    entry = secure_client.get(f"/api/datasets/{AGGREGATED}", headers=h).json()
    listed = {d["dataset_id"]: d for d in secure_client.get("/api/datasets", headers=h).json()[
        "datasets"]}
    pages = [secure_client.get(f"/catalogue/datasets/{AGGREGATED}", headers=h).text,
             secure_client.get("/catalogue", headers=h).text]
    if actor in FULL_ACCESS[AGGREGATED]:
        assert entry["embargo"] is True
        assert entry["embargoed_elements"] == sorted(EMBARGO)
        assert "Some elements are not shared publicly." in pages[0]
        assert "policy-embargo" in pages[1]
        return
    assert entry["embargo"] is False
    assert "embargoed_elements" not in entry
    assert listed[AGGREGATED] == entry
    # a public dataset with an embargo reads as the public dataset without one
    assert listed[QC_PUBLIC]["embargo"] is listed[PUBLIC]["embargo"] is False
    assert set(listed[QC_PUBLIC]) == set(listed[PUBLIC])
    for text in pages:
        assert "Some elements are not shared publicly." not in text
        assert "policy-embargo" not in text


@pytest.mark.parametrize("actor", NOT_FULL)
def test_an_embargoed_entry_is_byte_identical_to_one_without_embargo(
    secure_store: Any, actor: str
) -> None:
    """The same dataset with no embargo and without the embargoed elements gives the
    same catalogue entry, byte for byte."""
    from chemearth.access.catalogue import Catalogue
    from chemearth.store.selectors import string_list

    cat = Catalogue(secure_store.store)
    who = cat.actor(secure_store.tokens[actor])
    got = json.dumps(cat.dataset(who, AGGREGATED))
    snap = cat.snapshot()
    rec = snap.records[AGGREGATED]
    snap.policies[AGGREGATED] = dataclasses.replace(snap.policies[AGGREGATED],
                                                    embargo=frozenset())
    snap.records[AGGREGATED] = {**rec, "elements": [
        e for e in string_list(rec["elements"]) if e not in EMBARGO]}
    assert json.dumps(cat.dataset(who, AGGREGATED)) == got
