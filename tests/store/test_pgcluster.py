"""The local PostgreSQL + PostGIS server of ``chemearth db``, on a real server.

As root the server runs as the ``postgres`` OS user, so every cluster of these tests is made
in a folder under ``/tmp`` that the user can enter (never under pytest's
``/tmp/pytest-of-root``, which is 0700).
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import stat
import tempfile
from pathlib import Path

import psycopg
import pytest

from chemearth.errors import StoreError
from chemearth.store import pgcluster
from chemearth.store.pgcluster import Cluster

URL = re.compile(r"^postgresql://chemearth:([A-Za-z0-9_-]+)@127\.0\.0\.1:(\d+)/chemearth$")
ROOT = os.geteuid() == 0


def test_init_start_status_url_stop_restart(open_folder: Path) -> None:
    cluster = Cluster(open_folder / "postgres")
    before = cluster.status()
    assert (before.initialized, before.running) == (False, False)
    assert "no cluster in" in str(before)

    cluster.init()
    assert cluster.initialized
    assert not cluster.status().running
    with pytest.raises(StoreError, match="has never run"):
        cluster.url()

    started = cluster.start()
    assert started.running
    assert started.pid is not None
    assert started.pid > 0
    assert started.port is not None
    assert started.data_dir == open_folder / "postgres" / "data"
    assert started.version is not None
    assert re.fullmatch(r"1[5-9](\.\d+)?", started.version)
    assert f"running (pid {started.pid})" in str(started)
    url = cluster.url()
    m = URL.match(url)
    assert m
    assert int(m.group(2)) == started.port

    assert cluster.start() == started  # idempotent: the same server
    with pytest.raises(StoreError, match="already runs on port"):
        cluster.start(port=started.port + 1 if started.port < 65535 else 1024)

    assert cluster.stop() is True
    stopped = cluster.status()
    assert (stopped.running, stopped.pid, stopped.port) == (False, None, started.port)
    assert "not running" in str(stopped)
    assert cluster.stop() is False

    again = Cluster(open_folder / "postgres").start()  # restart: the port it had before
    assert again.running
    assert again.port == started.port
    assert again.pid != started.pid
    assert cluster.url() == url
    with psycopg.connect(url, connect_timeout=10) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("chemearth",)
    assert cluster.stop() is True


def test_a_server_that_cannot_start_quotes_its_log(open_folder: Path) -> None:
    cluster = Cluster(open_folder / "postgres", timeout=20)
    cluster.init()
    with (cluster.data_dir / "postgresql.conf").open("a") as f:
        f.write("no_such_setting = 1\n")
    with pytest.raises(StoreError) as exc:
        cluster.start()
    message = str(exc.value)
    assert "PostgreSQL did not start" in message
    assert str(cluster.log_file) in message
    assert 'unrecognized configuration parameter "no_such_setting"' in message
    assert not cluster.status().running


def test_a_data_folder_without_its_passwords_is_never_deleted(open_folder: Path) -> None:
    data = open_folder / "postgres" / "data"
    data.mkdir(parents=True)
    (data / "PG_VERSION").write_text("15\n")
    with pytest.raises(StoreError, match=r"exists but .*cluster\.json"):
        Cluster(open_folder / "postgres").start()
    assert (data / "PG_VERSION").read_text() == "15\n"


def test_a_taken_port_is_refused(open_folder: Path, pg_cluster: Cluster) -> None:
    taken = pg_cluster.status().port
    assert taken is not None
    with pytest.raises(StoreError, match=f"port {taken} of 127.0.0.1 is taken"):
        Cluster(open_folder / "postgres").start(port=taken)


def test_passwords_are_private(pg_cluster: Cluster) -> None:
    assert stat.S_IMODE(pg_cluster.config_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(pg_cluster.folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(pg_cluster.data_dir.stat().st_mode) == 0o700
    owner = pg_cluster.data_dir.stat().st_uid
    if ROOT:
        assert owner == pwd.getpwnam(os.environ.get("CHEMEARTH_DB_USER") or "postgres").pw_uid
    else:
        assert owner == os.geteuid()
    m = URL.match(pg_cluster.url())
    assert m
    assert m.group(1) in pg_cluster.config_file.read_text()
    assert not (pg_cluster.folder / ".initdb-password").exists()


def test_the_url_reaches_postgis_as_chemearth(pg_url: str) -> None:
    with psycopg.connect(pg_url, connect_timeout=10) as conn:
        (version,) = conn.execute("SELECT postgis_version()").fetchone() or (None,)
        assert version is not None
        assert version.startswith("3.")
        row = conn.execute("SELECT current_user, current_database(), "
                           "current_setting('server_encoding'), current_setting('lc_collate'), "
                           "current_setting('listen_addresses')").fetchone()
        assert row == ("chemearth", "chemearth", "UTF8", "C", "127.0.0.1")
        superuser = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
                                 ).fetchone()
        assert superuser == (False,)
        conn.execute("CREATE TEMP TABLE t (g geometry(Point, 4326))")
        conn.execute("INSERT INTO t VALUES (ST_SetSRID(ST_MakePoint(5.74, 50.96), 4326))")
        assert conn.execute("SELECT ST_X(g) FROM t").fetchone() == (5.74,)


def test_the_password_is_required(pg_cluster: Cluster) -> None:
    port = pg_cluster.status().port
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(f"postgresql://chemearth:wrong@127.0.0.1:{port}/chemearth",
                        connect_timeout=10)


def test_fresh_databases_have_postgis_and_are_dropped(
    fresh_pg_url: str, pg_cluster: Cluster
) -> None:
    name = fresh_pg_url.rsplit("/", 1)[1]
    assert name.startswith("test_")
    with psycopg.connect(fresh_pg_url, connect_timeout=10) as conn:
        assert conn.execute("SELECT postgis_version() IS NOT NULL").fetchone() == (True,)
        conn.execute("CREATE TABLE mine (id int)")  # chemearth owns the database
    odd = 'odd "name"-1'
    pg_cluster.create_database(odd)
    pg_cluster.create_database(odd)  # again: nothing to do
    listed = pg_cluster.psql("SELECT datname FROM pg_database").splitlines()
    assert odd in listed
    assert name in listed
    pg_cluster.drop_database(odd)
    assert odd not in pg_cluster.psql("SELECT datname FROM pg_database").splitlines()


@pytest.mark.skipif(not ROOT, reason="as another user the server runs as that user")
def test_a_folder_the_server_user_cannot_enter_is_refused() -> None:
    closed = Path(tempfile.mkdtemp(prefix="chemearth-pg-closed-", dir="/tmp"))  # mode 0700
    try:
        with pytest.raises(StoreError) as exc:
            Cluster(closed / "store" / "postgres").start()
        message = str(exc.value)
        assert f"cannot enter {closed} " in message
        assert "'postgres'" in message or os.environ.get("CHEMEARTH_DB_USER", "") in message
        assert f"chmod o+x {closed}" in message
        assert list(closed.iterdir()) == []
    finally:
        shutil.rmtree(closed)


@pytest.mark.skipif(not ROOT, reason="the OS user is only chosen when running as root")
@pytest.mark.parametrize(("user", "message"), [
    ("no-such-user-chemearth", "does not exist"),
    ("root", "refuses to run as root"),
])
def test_the_server_user_must_exist_and_not_be_root(
    open_folder: Path, monkeypatch: pytest.MonkeyPatch, user: str, message: str
) -> None:
    monkeypatch.setenv("CHEMEARTH_DB_USER", user)
    with pytest.raises(StoreError, match=message):
        Cluster(open_folder / "postgres").init()


def test_missing_postgresql_names_the_debian_packages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pgcluster, "DEBIAN_ROOT", tmp_path / "nowhere")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(StoreError) as exc:
        Cluster(tmp_path / "postgres").start()
    assert "PostgreSQL is not installed" in str(exc.value)
    assert "postgresql postgresql-15-postgis-3" in str(exc.value)


def test_missing_postgis_names_its_debian_package(tmp_path: Path) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    scripts = {
        "postgres": "echo 'postgres (PostgreSQL) 15.99'",
        "pg_config": f"echo {tmp_path / 'share'}",
        "initdb": "exit 1", "pg_ctl": "exit 1", "psql": "exit 1",
    }
    for name, body in scripts.items():
        (bindir / name).write_text(f"#!/bin/sh\n{body}\n")
        (bindir / name).chmod(0o755)
    with pytest.raises(StoreError) as exc:
        Cluster(tmp_path / "postgres", bindir=bindir).start()
    assert "PostGIS is not installed for PostgreSQL 15" in str(exc.value)
    assert "postgresql-15-postgis-3" in str(exc.value)
    assert not (tmp_path / "postgres").exists()
