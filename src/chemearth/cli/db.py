"""``chemearth db``: a local PostgreSQL + PostGIS server in ``<home>/postgres``.

``chemearth db start`` makes the cluster on first use and starts it on 127.0.0.1;
``export CHEMEARTH_STORE=$(chemearth db url)`` then points every command at it. The work is
done by :class:`chemearth.store.pgcluster.Cluster`.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING

import click

from chemearth.cli.common import cli, home_option

if TYPE_CHECKING:
    from chemearth.store.pgcluster import Cluster


def _cluster(home: Path | str | None) -> Cluster:
    from chemearth.store.pgcluster import Cluster, default_folder

    if isinstance(home, str):
        raise click.UsageError(
            "`chemearth db` manages a local server kept in a store folder: pass --home "
            "FOLDER, not a database URL"
        )
    return Cluster(home / "postgres" if home is not None else default_folder())


@cli.group()
def db() -> None:
    """A local PostgreSQL + PostGIS server for the store (in <home>/postgres)."""


@db.command("start")
@home_option
@click.option("--port", type=click.IntRange(1, 65535), default=None,
              help="Port on 127.0.0.1 (default: the one it had before, else a free one).")
def db_start(home: Path | str | None, port: int | None) -> None:
    """Start the server, making the cluster, the role and the database on first use."""
    status = _cluster(home).start(port=port)
    click.echo(str(status))
    where = f" --home {shlex.quote(str(home))}" if home is not None else ""
    click.echo(f"use it: export CHEMEARTH_STORE=$(chemearth db url{where})")


@db.command("stop")
@home_option
def db_stop(home: Path | str | None) -> None:
    """Stop the server (open sessions are ended)."""
    cluster = _cluster(home)
    stopped = cluster.stop()
    click.echo(f"stopped the server in {cluster.folder}" if stopped
               else f"no server runs in {cluster.folder}")


@db.command("status")
@home_option
def db_status(home: Path | str | None) -> None:
    """Whether the server runs, its pid, port, data folder and version."""
    click.echo(str(_cluster(home).status()))


@db.command("url")
@home_option
@click.option("--database", default="chemearth", show_default=True, help="Database name.")
def db_url(home: Path | str | None, database: str) -> None:
    """Print the store URL (postgresql://chemearth:…@127.0.0.1:<port>/chemearth)."""
    click.echo(_cluster(home).url(database))
