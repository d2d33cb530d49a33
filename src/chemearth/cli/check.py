"""``chemearth check FILE -d DESCRIPTOR``: every problem of a descriptor, before ingesting."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from chemearth.cli.common import cli, load_settings


@cli.command()
@click.argument("file", type=click.Path(path_type=Path), required=False)
@click.option("-d", "--descriptor", "descriptor_path", type=click.Path(path_type=Path),
              required=True, help="Dataset descriptor (TOML), or a shipped descriptor's id.")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None,
              help="Folder that the descriptor's relative paths refer to.")
@click.option("--boundaries", type=click.Path(path_type=Path), default=None,
              help="Natural Earth admin-0 countries (GeoJSON) for locating the points.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def check(file: Path | None, descriptor_path: Path, data_dir: Path | None,
          boundaries: Path | None, fmt: str) -> None:
    """Check DESCRIPTOR against FILE (default: the descriptor's own file) and list every
    problem at once: columns, units, CRS, countries, encodings and the rows that would be
    rejected. Nothing is written. Exit status 1 when something must be fixed or decided.
    """
    from chemearth.ingest.check import check_file
    from chemearth.ingest.shipped import shipped_descriptor

    settings = load_settings()
    if not descriptor_path.exists() and shipped_descriptor(str(descriptor_path)) is not None:
        descriptor_path = shipped_descriptor(str(descriptor_path))  # type: ignore[assignment]
    report = check_file(file, descriptor_path, data_dir=data_dir or settings.data_dir,
                        boundaries=boundaries or settings.boundaries)
    if fmt == "json":
        click.echo(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
    else:
        for line in report.lines():
            click.echo(line)
    if not report.ok:
        sys.exit(1)
