"""The ``chemearth`` click group and what its commands share: the store option, console,
tables and progress bars.

Heavy imports live inside the functions, so ``chemearth --help`` is quick.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import click

if TYPE_CHECKING:
    import pandas as pd

    from chemearth.ingest.pipeline import IngestReport
    from chemearth.store import Store

__all__ = [
    "cli",
    "console",
    "fmt",
    "home_option",
    "load_settings",
    "local_home",
    "open_store_at",
    "print_table",
    "progress",
    "report_line",
]


def load_settings() -> Any:
    from chemearth.config import Settings

    return Settings.from_env()


def local_home(home: Path | str | None) -> Path | None:
    """The folder of an embedded store (``home``, else the configured one), or None when the
    store is a server (its user files, such as standards, are then only the shipped ones)."""
    if isinstance(home, Path):
        return home
    if home is not None:
        return None
    settings = load_settings()
    return None if settings.store.startswith(("postgresql://", "postgres://")) else settings.home


def open_store_at(home: Path | str | None) -> Store:
    """The store at ``home`` (a folder or a URL), or the configured one."""
    from chemearth.store import open_store

    return open_store(home)


@contextmanager
def progress(enabled: bool) -> Iterator[Any]:
    """A rich progress bar whose callback takes (step, done, total)."""
    from rich.progress import (
        BarColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    if not enabled:
        yield lambda step, done, total: None
        return
    with Progress(
        TextColumn("{task.description:<28}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        transient=True,
        console=console(stderr=True),
    ) as bar:
        task = bar.add_task("", total=1)

        def tick(step: str, done: int, total: int) -> None:
            bar.update(task, description=step, completed=done, total=max(total, 1))

        yield tick


def console(stderr: bool = False) -> Any:
    from rich.console import Console

    return Console(
        stderr=stderr,
        highlight=False,
        soft_wrap=False,
        width=200 if not sys.stdout.isatty() else None,
    )


def print_table(df: pd.DataFrame, title: str = "") -> None:
    from rich.table import Table

    table = Table(title=title or None, show_lines=False)
    for c in df.columns:
        justify: Literal["right", "left"] = "right" if df[c].dtype.kind in "iuf" else "left"
        table.add_column(str(c), justify=justify, overflow="fold")
    for row in df.itertuples(index=False):
        table.add_row(*[fmt(v) for v in row])
    console().print(table)


def fmt(v: object) -> str:
    if isinstance(v, float):
        return f"{v:,.4g}"
    if isinstance(v, int):
        return f"{v:,}"
    return "" if v is None else str(v)


def report_line(r: IngestReport) -> str:
    if r.status == "unchanged":
        return f"{r.dataset_id}: unchanged (already ingested as version {r.version})"
    parts = [
        f"{r.dataset_id} v{r.version}: {r.n_samples:,} samples",
        f"{r.n_measurements:,} measurements ({r.n_censored:,} below DL)",
    ]
    if r.n_not_sampled:
        parts.append(f"{r.n_not_sampled} not sampled")
    parts.append(f"{r.n_rejected} rows rejected")
    return ", ".join(parts) + f" [{r.seconds:.1f} s]"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="chemearth")
def cli() -> None:
    """chemearth: global-scale geochemical baselines from real survey data."""


def _location(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    """A store location: a ``postgresql://`` URL as it is, a folder as a Path."""
    if value is None or value.startswith(("postgresql://", "postgres://")):
        return value
    return Path(value)


home_option = click.option(
    "--store",
    "--home",
    "home",
    default=None,
    callback=_location,
    metavar="FOLDER|URL",
    help="The store: a folder (the embedded store) or a postgresql:// URL "
    "(default: $CHEMEARTH_STORE, else $CHEMEARTH_HOME or the user data directory).",
)
