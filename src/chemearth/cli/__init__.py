"""The ``chemearth`` command-line tool: one click group, one module per command family.

The group and the helpers its commands share are in :mod:`chemearth.cli.common`; importing
this package registers every command. Heavy imports live inside the commands, so
``chemearth --help`` is quick. Errors are printed as one line naming the file, row, column
and reason, never as a traceback (set ``CHEMEARTH_DEBUG=1`` to see one).
"""

from __future__ import annotations

import sys

import click

from chemearth.cli import (  # noqa: F401  (each module registers its commands)
    analytics,
    analytics_fields,
    assess,
    audit,
    check,
    db,
    global_layers,
    grid,
    jobs,
    maps,
    media,
    qc,
    serve,
    survey,
    tokens,
)
from chemearth.cli.common import cli
from chemearth.config import debug_enabled
from chemearth.errors import ChemearthError

__all__ = ["cli", "main"]


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI and turn every error into one line and an exit code."""
    try:
        cli.main(args=argv, prog_name="chemearth", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except ChemearthError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except Exception as exc:  # never a traceback for the user
        if debug_enabled():
            raise
        click.echo(
            f"internal error: {type(exc).__name__}: {exc} (set CHEMEARTH_DEBUG=1 for a traceback)",
            err=True,
        )
        sys.exit(70)

