"""The HTTP access log (:mod:`chemearth.web.access_log`): one Common-Log-Format line per
request with the actor's token id and the duration, and never a token, whether it came in
a header, a cookie, a query parameter or the path.

In process over the secure store (``tests/web/conftest.py``) with the log in the test's
folder, and once through ``chemearth serve``, which logs to ``<home>/logs/access.log``.
"""

from __future__ import annotations

import re
import stat
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from chemearth.web.access_log import redact_target

#: client - actor [time] "METHOD target HTTP/x" status bytes seconds
LINE = re.compile(
    r'^(?P<client>\S+) - (?P<actor>\S+) \[(?P<time>\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d '
    r'\+0000)\] "(?P<method>[A-Z]+) (?P<target>\S+) HTTP/(?P<http>[\d.]+)" (?P<status>\d{3}) '
    r'(?P<bytes>\d+|-) (?P<seconds>\d+\.\d{3})$'
)


@pytest.fixture
def logged(secure_store: Any, boundaries: Path, tmp_path: Path) -> tuple[Any, Path]:
    """A client of the secure website that logs to ``tmp_path/logs/access.log``."""
    from fastapi.testclient import TestClient

    from chemearth.web import WebSettings, create_app

    log = tmp_path / "logs" / "access.log"
    app = create_app(secure_store.store, WebSettings(boundaries=boundaries, timeout_s=120,
                                                     access_log=log))
    return TestClient(app), log


def _lines(log: Path) -> list[dict[str, str]]:
    out = []
    for text in log.read_text(encoding="utf-8").splitlines():
        m = LINE.match(text)
        assert m, f"not an access line: {text!r}"
        out.append(m.groupdict())
    return out


def _token_id(token: str) -> str:
    return token.split("_")[1]


def test_every_request_is_one_line(logged: tuple[Any, Path], secure_store: Any) -> None:
    client, log = logged
    owner = secure_store.tokens["owner"]
    asked = [
        ("/api/layers", {}, 200, "-"),
        ("/api/datasets/jura", secure_store.headers("owner"), 200, _token_id(owner)),
        ("/api/datasets/no-such-dataset", {}, 404, "-"),
        ("/catalogue", secure_store.headers("partner"), 200,
         _token_id(secure_store.tokens["partner"])),
        ("/api/datasets", {"Authorization": "Bearer ce_000000000000_" + "x" * 43}, 401, "-"),
    ]
    sent = []
    for path, headers, status, _ in asked:
        r = client.get(path, headers=headers)
        assert r.status_code == status, (path, r.text[:200])
        sent.append(len(r.content))
    lines = _lines(log)
    assert len(lines) == len(asked)
    for line, (path, _, status, actor), n in zip(lines, asked, sent, strict=True):
        assert (line["method"], line["target"], int(line["status"]), line["actor"]) == (
            "GET", path, status, actor)
        assert line["bytes"] == str(n)
        assert line["client"] == "testclient"
        assert float(line["seconds"]) >= 0
    assert stat.S_IMODE(log.stat().st_mode) == 0o600


@pytest.mark.parametrize("where", ["header", "cookie", "query", "query-named", "path"])
def test_a_token_never_appears(logged: tuple[Any, Path], secure_store: Any, where: str) -> None:
    client, log = logged
    token = secure_store.tokens["owner"]
    secret = token.split("_", 2)[2]
    if where == "header":
        client.get("/api/layers", headers={"Authorization": f"Bearer {token}"})
    elif where == "cookie":
        client.cookies.set("chemearth_token", token)  # the browser's session cookie
        client.get("/api/layers")
    elif where == "query":  # a token pasted as any parameter's value
        client.get("/api/layers", params={"lang": "en", "q": token})
    elif where == "query-named":  # a parameter named like a credential, whatever its value
        client.get("/api/layers", params={"access_token": "hunter2", "lang": "en"})
    else:
        client.get(f"/api/collections/{token}/items")
    text = log.read_text(encoding="utf-8")
    assert len(text.splitlines()) == 1
    for needle in (token, secret, "hunter2", "Bearer", "chemearth_token"):
        assert needle not in text, where
    if where.startswith("query") or where == "path":
        assert "REDACTED" in text
    if where in ("header", "cookie"):
        assert _lines(log)[0]["actor"] == _token_id(token)


@pytest.mark.parametrize(
    ("target", "logged_as"),
    [
        ("/a?token=x&lang=en", "/a?token=REDACTED&lang=en"),
        ("/a?Access_Token=x", "/a?Access_Token=REDACTED"),
        ("/a?api%5Fkey=x", "/a?api%5Fkey=REDACTED"),  # the name percent-encoded
        ("/a?lang=en&token", "/a?lang=en&token"),  # no value: nothing to hide
        ("/a?tokens=3", "/a?tokens=3"),  # another name
        ("/a/ce_0123456789ab_" + "S" * 43 + "/b", "/a/ce_0123456789ab_REDACTED/b"),
        ("/a?x=ce_0123456789ab_" + "S" * 43, "/a?x=ce_0123456789ab_REDACTED"),
    ],
)
def test_redaction_table(target: str, logged_as: str) -> None:
    assert redact_target(target) == logged_as


def test_a_forged_request_line_stays_one_line(logged: tuple[Any, Path]) -> None:
    """Quotes and line breaks in the target are escaped (they arrive percent-encoded from
    a client that encodes; raw, from one that does not)."""
    client, log = logged
    client.get('/api/x"y%0A127.0.0.1 - admin [x] "GET / HTTP/1.1" 200 1 0.001')
    lines = log.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1
    assert _lines(log)[0]["status"] == "404"


@pytest.mark.slow
def test_chemearth_serve_writes_the_log_under_the_home(
    secure_server: str, secure_store: Any
) -> None:
    import httpx

    probe = uuid.uuid4().hex
    token = secure_store.tokens["admin"]
    r = httpx.get(f"{secure_server}/api/layers", params={"probe": probe, "token": token},
                  headers={"Authorization": f"Bearer {token}"}, timeout=60)
    assert r.status_code == 200
    log = Path(secure_store.home) / "logs" / "access.log"
    # the line is written once the answer has been sent: the client may read the file first
    deadline = time.monotonic() + 30
    while True:
        mine = [line for line in log.read_text(encoding="utf-8").splitlines() if probe in line]
        if mine or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert len(mine) == 1
    m = LINE.match(mine[0])
    assert m, mine[0]
    assert m["client"] == "127.0.0.1"
    assert m["actor"] == _token_id(token)
    assert m["target"] == f"/api/layers?probe={probe}&token=REDACTED"
    assert token not in log.read_text(encoding="utf-8")


#: a process writing ``n`` numbered lines through the access log's handler, rotated at a
#: small size, started with the others at the same moment (the ``go`` file)
_WRITER = r"""
import logging, os, sys, time
from pathlib import Path
from chemearth.web import access_log as al
path, who, n, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
h = al._SharedRotatingFile(path, maxBytes=4096, backupCount=1000, encoding="utf-8", delay=True)
def fail(record):
    raise SystemExit(f"handler error: {sys.exc_info()[1]!r}")
h.handleError = fail
while not go.exists():
    time.sleep(0.005)
for i in range(n):
    h.emit(logging.makeLogRecord({"msg": f"{who} {i:05d} " + "x" * 60}))
h.close()
"""


def test_processes_rotating_together_lose_no_line(tmp_path: Path) -> None:
    """Four processes (as ``chemearth serve --workers 4``) write to one log rotated every
    4 kB: each rotation happens once, no line is lost or doubled, and none fails."""
    import subprocess
    import sys

    log, go = tmp_path / "access.log", tmp_path / "go"
    n = 400
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, str(log), f"w{k}", str(n),
                               str(go)], stderr=subprocess.PIPE, text=True) for k in range(4)]
    time.sleep(1.0)
    go.touch()
    for p in procs:
        _out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    lines = [line for f in tmp_path.glob("access.log*") if not f.name.endswith(".lock")
             for line in f.read_text().splitlines()]
    assert sorted(lines) == sorted(f"w{k} {i:05d} " + "x" * 60 for k in range(4)
                                   for i in range(n))
    assert len(list(tmp_path.glob("access.log.*"))) > 10  # it did rotate, many times
