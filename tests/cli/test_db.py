"""``chemearth db start|status|url|stop`` on a real PostgreSQL server."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from chemearth.cli import cli, main

CHEMEARTH = str(Path(sys.executable).parent / "chemearth")
URL = re.compile(r"^postgresql://chemearth:[A-Za-z0-9_-]+@127\.0\.0\.1:(\d+)/chemearth$")


@pytest.fixture
def home(open_folder: Path) -> Path:
    """A store folder under /tmp that the server's OS user (postgres, as root) can enter."""
    return open_folder


def test_start_status_url_stop(home: Path) -> None:
    runner = CliRunner()
    r = runner.invoke(cli, ["db", "status", "--home", str(home)])
    assert r.exit_code == 0, r.output
    assert "no cluster in" in r.output

    r = runner.invoke(cli, ["db", "start", "--home", str(home)])
    assert r.exit_code == 0, r.output
    assert re.search(r"PostgreSQL 1\d[.\d]* running \(pid \d+\)", r.output)
    assert f"data:  {home / 'postgres' / 'data'}" in r.output
    assert "export CHEMEARTH_STORE=$(chemearth db url --home" in r.output

    r = runner.invoke(cli, ["db", "start", "--home", str(home)])  # already running
    assert r.exit_code == 0, r.output

    r = runner.invoke(cli, ["db", "status", "--home", str(home)])
    assert r.exit_code == 0, r.output
    assert "running (pid" in r.output
    port = re.search(r"port:\s+(\d+)", r.output)
    assert port

    # what `export CHEMEARTH_STORE=$(chemearth db url)` gets: the URL alone
    proc = subprocess.run(
        ["bash", "-c", f'export CHEMEARTH_STORE=$({CHEMEARTH} db url) && echo "$CHEMEARTH_STORE"'],
        env={"PATH": "/usr/bin:/bin", "CHEMEARTH_HOME": str(home)},
        capture_output=True, text=True, check=True, timeout=120,
    )
    url = proc.stdout.strip()
    m = URL.match(url)
    assert m, proc.stdout + proc.stderr
    assert m.group(1) == port.group(1)
    with psycopg.connect(url, connect_timeout=10) as conn:
        assert conn.execute("SELECT postgis_version() IS NOT NULL").fetchone() == (True,)

    r = runner.invoke(cli, ["db", "url", "--home", str(home), "--database", "other"])
    assert r.output.strip() == url.rsplit("/", 1)[0] + "/other"

    r = runner.invoke(cli, ["db", "stop", "--home", str(home)])
    assert r.exit_code == 0, r.output
    assert "stopped the server" in r.output
    r = runner.invoke(cli, ["db", "stop", "--home", str(home)])
    assert "no server runs" in r.output
    r = runner.invoke(cli, ["db", "status", "--home", str(home)])
    assert "not running" in r.output


def test_url_without_a_cluster_is_a_store_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["db", "url", "--home", str(tmp_path)])
    assert exc.value.code == 5
    err = capsys.readouterr().err
    assert err.startswith("error: no PostgreSQL cluster in")
    assert "chemearth db start" in err
