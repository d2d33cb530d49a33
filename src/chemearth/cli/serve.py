"""``chemearth demo`` and ``chemearth serve``: the website over a store."""

from __future__ import annotations

import shutil
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import click

from chemearth.cli.common import (
    cli,
    console,
    home_option,
    load_settings,
    open_store_at,
    report_line,
)
from chemearth.cli.global_layers import build_global
from chemearth.cli.grid import build_grids
from chemearth.cli.survey import show_catalog
from chemearth.errors import ChemearthWarning

if TYPE_CHECKING:

    pass


@cli.command()
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Folder of the demo surveys (default: $CHEMEARTH_DATA or ../shared/data).",
)
@click.option(
    "--home",
    type=click.Path(path_type=Path),
    default=None,
    help="Store directory for the demo (default: the store every other command uses, "
    "$CHEMEARTH_HOME or <user data dir>/chemearth); emptied first if an earlier demo made "
    "it, used as it is if it holds an empty store; any other non-empty folder is refused.",
)
@click.option("--no-serve", is_flag=True, help="Stop after building the grids.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to serve on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to serve on.")
def demo(
    data_dir: Path | None, home: Path | None, no_serve: bool, host: str, port: int
) -> None:
    """Ingest every shipped dataset into a fresh store, print the catalogue, build the
    grids and the pooled world layers, then serve the website at http://127.0.0.1:8000.

    The store is the one every other command opens by default (``chemearth catalog``
    then lists the demo's datasets), unless ``--home`` names another folder."""
    from chemearth.ingest.descriptor import load_descriptor
    from chemearth.ingest.pipeline import ingest as run
    from chemearth.ingest.shipped import shipped_descriptors

    settings = load_settings()
    data = data_dir or settings.data_dir
    if data is None or not data.is_dir():
        raise click.UsageError(
            "no demo data: pass --data-dir or set CHEMEARTH_DATA to the shared data folder"
        )
    boundaries = settings.boundaries
    if boundaries is None and (data / "boundaries").is_dir():
        from chemearth.config import BOUNDARIES_FILE

        boundaries = data / BOUNDARIES_FILE
    target = home or settings.home  # the store the other commands open by default
    _prepare_demo_home(target)
    store = open_store_at(target)
    paths = shipped_descriptors()
    click.echo(f"chemearth demo: {len(paths)} datasets from {data} into {target}")
    from rich.progress import Progress

    out = console()
    with Progress(console=console(stderr=True), transient=True) as bar:
        task = bar.add_task("ingesting", total=len(paths))
        for p in paths:
            bar.update(task, description=f"ingesting {p.stem}")
            with warnings.catch_warnings(record=True) as ws:
                warnings.simplefilter("always", ChemearthWarning)
                report = run(store, load_descriptor(p), data_dir=data, boundaries=boundaries)
            out.print(report_line(report))
            for w in ws[:3]:
                out.print(f"  [dim]warning: {w.message}[/dim]")
            if len(ws) > 3:
                out.print(f"  [dim]… and {len(ws) - 3} more warnings[/dim]")
            bar.advance(task)
    show_catalog(store)
    build_grids(store, show_progress=True)
    build_global(store)  # the pooled world layers ("All surveys") the map opens on
    click.echo(f"store: {target}")
    if str(target) != settings.store:  # other commands would open another store: say so
        click.echo(f"other commands open {settings.store} by default: use this store with "
                   f"`export CHEMEARTH_HOME={target}` (and no CHEMEARTH_STORE) or --store {target}")
    if not no_serve:
        _serve(target, host, port, workers=1)


#: What an empty embedded store's folder holds (made by any command that opened it).
_EMPTY_STORE = frozenset({"catalog.duckdb", "catalog.duckdb.wal", ".write.lock", "tmp", "data",
                          "logs"})


def _prepare_demo_home(target: Path) -> None:
    """Make ``target`` ready for the demo: emptied when an earlier demo made it, kept when
    it is missing, empty or an empty store (e.g. made by ``chemearth catalog`` before the
    demo), refused otherwise (a folder the demo did not make is never wiped)."""
    marker = target / ".chemearth-demo"
    if target.exists() and any(target.iterdir()):
        if marker.exists():
            shutil.rmtree(target)
        elif not _empty_store(target):
            raise click.UsageError(
                f"{target} is not empty and was not made by `chemearth demo`; "
                "pass --home with a new folder"
            )
    target.mkdir(parents=True, exist_ok=True)
    marker.touch()


def _empty_store(folder: Path) -> bool:
    """Whether ``folder`` holds only an embedded store without any dataset."""
    if not {p.name for p in folder.iterdir()} <= _EMPTY_STORE:
        return False
    if not (folder / "catalog.duckdb").is_file() or any((folder / "data").glob("*")):
        return False
    store = open_store_at(folder)
    try:
        return bool(store.dataset_summary().empty)
    finally:
        store.close()


def _serve(home: Path | str, host: str, port: int, workers: int) -> None:
    from chemearth.web.app import find_leaflet
    from chemearth.web.serve import serve as run

    if find_leaflet() is None:
        click.echo("warning: Leaflet is not installed (run `npm ci`); the map page needs it",
                   err=True)
    where = home if isinstance(home, Path) else open_store_at(home).location
    click.echo(f"chemearth serving {where} at http://{host}:{port}  (Ctrl+C to stop)", err=False)
    sys.stdout.flush()
    run(home, host=host, port=port, workers=workers)


@cli.command()
@home_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Worker processes.")
def serve(home: Path | str | None, host: str, port: int, workers: int) -> None:
    """Serve the website and API (map, catalogue, OGC API, tiles, downloads, uploads)."""
    from chemearth.config import Settings

    target = home if home is not None else Settings.from_env().store
    if isinstance(target, str) and target.startswith(("postgresql://", "postgres://")):
        open_store_at(target).close()  # reachable, and its schema up to date, before serving
    elif not (Path(target) / "catalog.duckdb").exists():
        raise click.UsageError(f"no store at {target}: run `chemearth demo` or `chemearth ingest`")
    else:
        target = Path(target)
    _serve(target, host, port, workers)
