"""The audit log: append-only JSON lines, never a secret, a quiet ``read`` throttle."""

from __future__ import annotations

import json
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from chemearth.access.audit import AUDIT_FILE, AuditLog
from chemearth.access.policy import Actor, Role

OWNER = Actor("ngu-owner", Role.OWNER, "NGU", token_id="0123456789ab")


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _lines(home: Path) -> list[dict]:
    return [json.loads(x) for x in (home / AUDIT_FILE).read_text().splitlines()]


def test_an_event_is_one_json_line_with_who_and_what(tmp_path: Path) -> None:
    log = AuditLog(tmp_path)
    entry = log.record("download", OWNER, dataset="kola-humus", elements=["Ni", "Cu"],
                       format="csv", route="/api/downloads/kola-humus/samples.csv",
                       client="192.0.2.7", outcome="sent", ignored=None)
    [line] = _lines(tmp_path)
    assert line == entry
    assert line["time"].endswith("Z")
    assert {k: line[k] for k in ("event", "actor", "role", "organisation", "token_id",
                                 "dataset", "elements", "format", "client", "outcome")} == {
        "event": "download", "actor": "ngu-owner", "role": "owner", "organisation": "NGU",
        "token_id": "0123456789ab", "dataset": "kola-humus", "elements": ["Ni", "Cu"],
        "format": "csv", "client": "192.0.2.7", "outcome": "sent"}
    assert "ignored" not in line
    assert oct((tmp_path / AUDIT_FILE).stat().st_mode & 0o777) == "0o600"


def test_the_log_only_grows(tmp_path: Path) -> None:
    log = AuditLog(tmp_path)
    log.record("upload", OWNER, dataset="a", outcome="created")
    first = (tmp_path / AUDIT_FILE).read_bytes()
    log.record("upload", None, outcome="refused", status=401)
    assert (tmp_path / AUDIT_FILE).read_bytes().startswith(first)
    assert [e["actor"] for e in log.read()] == ["ngu-owner", "anonymous"]


def test_a_token_secret_is_never_written(tmp_path: Path) -> None:
    """A real token's actor is written by its id; a token passed by mistake comes out
    masked."""
    from chemearth.access.tokens import TokenStore

    tokens = TokenStore(tmp_path)
    token = tokens.create("owner", "owner", organisation="NGU")
    actor = tokens.authenticate(token)
    log = AuditLog(tmp_path)
    log.record("read", actor, dataset="kola-humus", note=f"token {token}", extra=[token])
    text = (tmp_path / AUDIT_FILE).read_text()
    secret = token.split("_", 2)[2]
    assert secret not in text
    assert token[:16] + "***" in text
    assert log.read()[0]["token_id"] == token[3:15]


def test_reads_are_recorded_once_per_token_dataset_and_minute(tmp_path: Path) -> None:
    clock = Clock()
    log = AuditLog(tmp_path, clock=clock)
    partner = Actor("partner", Role.PARTNER, grants=frozenset({"kola-humus"}),
                    token_id="aaaaaaaaaaaa")
    assert log.record_read(OWNER, "kola-humus", element="Ni") is not None
    assert log.record_read(OWNER, "kola-humus", element="Cu") is None  # the same minute
    assert log.record_read(OWNER, "kola-humus", "samples") is not None  # other data
    assert log.record_read(OWNER, "secret-meuse") is not None  # another dataset
    assert log.record_read(partner, "kola-humus") is not None  # another token
    clock.now += 59
    assert log.record_read(OWNER, "kola-humus") is None
    clock.now += 2
    assert log.record_read(OWNER, "kola-humus") is not None
    events = log.read(event="read")
    assert [(e["actor"], e["dataset"], e["data"]) for e in events] == [
        ("ngu-owner", "kola-humus", "dataset"), ("ngu-owner", "kola-humus", "samples"),
        ("ngu-owner", "secret-meuse", "dataset"), ("partner", "kola-humus", "dataset"),
        ("ngu-owner", "kola-humus", "dataset")]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, [0, 1, 2, 3, 4, 5]),
        ({"limit": 2}, [4, 5]),
        ({"event": "upload"}, [0, 3]),
        ({"dataset": "b"}, [1, 4]),
        ({"actor": "ngu-owner"}, [0, 1, 2, 3, 4, 5]),
        ({"actor": "0123456789ab", "event": "download", "limit": 1}, [5]),
        ({"since": "2000-01-01"}, [0, 1, 2, 3, 4, 5]),
        ({"since": "2999-01-01"}, []),
    ],
)
def test_reading_filters_and_keeps_the_latest(tmp_path: Path, query: dict,
                                              expected: list[int]) -> None:
    log = AuditLog(tmp_path)
    for i, (event, ds) in enumerate([("upload", "a"), ("download", "b"), ("read", "a"),
                                     ("upload", "c"), ("read", "b"), ("download", "a")]):
        log.record(event, OWNER, dataset=ds, n=i)
    assert [e["n"] for e in log.read(**query)] == expected


def test_a_torn_or_foreign_line_is_skipped(tmp_path: Path) -> None:
    log = AuditLog(tmp_path)
    log.record("upload", OWNER, outcome="created")
    with (tmp_path / AUDIT_FILE).open("a") as fh:
        fh.write('{"event": "upl\n[1, 2]\n')
    log.record("upload", OWNER, outcome="rejected")
    assert [e["outcome"] for e in log.read()] == ["created", "rejected"]


def test_without_a_home_nothing_is_recorded_and_nothing_fails(tmp_path: Path) -> None:
    class Homeless:  # a store backend without a home folder
        pass

    log = AuditLog(getattr(Homeless(), "home", None))
    assert log.record("upload", OWNER, outcome="created") is None
    assert log.record_read(OWNER, "x") is None
    assert log.read() == []


def test_an_unwritable_log_does_not_fail(tmp_path: Path, caplog) -> None:
    log = AuditLog(tmp_path / "missing-folder")
    assert log.record("upload", OWNER, outcome="created") is not None
    assert "could not be written" in caplog.text
    assert log.read() == []


def test_a_real_store_home_gets_the_log(tmp_path: Path) -> None:
    from chemearth.store import open_store

    store = open_store(tmp_path / "store")
    log = AuditLog(getattr(store, "home", None))
    log.record("upload", OWNER, outcome="created")
    assert log.path == Path(store.home) / AUDIT_FILE
    assert log.path.is_file()


def _write_many(args: tuple[str, int, int]) -> int:
    home, worker, n = args
    log = AuditLog(home)
    for i in range(n):
        log.record("read", OWNER, dataset=f"d{worker}", n=i, padding="x" * 3000)
    return n


def test_lines_of_threads_and_processes_never_interleave(tmp_path: Path) -> None:
    n = 150
    with ProcessPoolExecutor(3) as pool:
        futures = [pool.submit(_write_many, (str(tmp_path), w, n)) for w in range(3)]
        threads = [threading.Thread(target=_write_many, args=((str(tmp_path), 10 + t, n),))
                   for t in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sum(f.result() for f in futures) == 3 * n
    lines = (tmp_path / AUDIT_FILE).read_text().splitlines()
    assert len(lines) == 6 * n
    entries = [json.loads(x) for x in lines]  # every line whole
    for w in (0, 1, 2, 10, 11, 12):
        assert [e["n"] for e in entries if e["dataset"] == f"d{w}"] == list(range(n))
    assert os.path.getsize(tmp_path / AUDIT_FILE) == sum(len(x) + 1 for x in
                                                          (y.encode() for y in lines))
