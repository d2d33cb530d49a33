"""``chemearth media``: attach photos and videos to samples, list and remove them.

The command line works on the store directly, as its administrator (like ``chemearth
ingest``): it may attach media to any dataset. The checks are those of the website
(:mod:`chemearth.access.media`, ``docs/media.md``): all files or none.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from chemearth.cli.common import cli, home_option, open_store_at

if TYPE_CHECKING:
    from chemearth.access.gateway import Gateway
    from chemearth.access.policy import Actor

#: Who the command line acts as.
CLI_ACTOR = "command-line"


def _gateway(home: Path | str | None) -> Gateway:
    from chemearth.access.gateway import Gateway

    return Gateway(open_store_at(home), tokens=None)


def _admin() -> Actor:
    from chemearth.access.policy import Actor, Role

    return Actor(CLI_ACTOR, Role.ADMIN)


@cli.group()
def media() -> None:
    """Photos and videos of sampling sites, attached to samples by sample id."""


@media.command("add")
@home_option
@click.argument("dataset")
@click.argument("files", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--manifest", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="CSV (columns file, sample_id) or JSON mapping file names to "
              "sample ids; without it each file goes to the sample its name gives (2.jpg: 2).")
@click.option("--max-image-mb", type=click.FloatRange(min=0.001), default=20.0,
              show_default=True, help="Largest image accepted.")
@click.option("--max-video-mb", type=click.FloatRange(min=0.001), default=200.0,
              show_default=True, help="Largest video accepted.")
@click.option("--warn-m", type=click.FloatRange(min=0), default=500.0, show_default=True,
              help="Warn when a file's recorded position is farther from its sample.")
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
def media_add(home: Path | str | None, dataset: str, files: tuple[Path, ...],
              manifest: Path | None, max_image_mb: float, max_video_mb: float, warn_m: float,
              as_json: bool) -> None:
    """Attach photos (JPEG, PNG, WebP) and videos (MP4, MOV, WebM) to samples of DATASET,
    all or nothing."""
    from chemearth.access.media import MediaRules, Upload, attach_media, parse_manifest

    rules = MediaRules(image_max_bytes=int(max_image_mb * 2**20),
                       video_max_bytes=int(max_video_mb * 2**20), warn_beyond_m=warn_m)
    mapping = parse_manifest(manifest.name, manifest.read_bytes()) if manifest else None
    result = attach_media(_gateway(home), _admin(), dataset,
                          [Upload(f.name, f) for f in files], mapping, rules)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=1))
        return
    for m in result["attached"]:
        state = "attached" if m["new"] else "already attached"
        where = "" if m["distance_m"] is None else f", {m['distance_m']:,.0f} m from the sample"
        click.echo(f"{m['media_id']}  {m['file_name']} -> sample {m['sample_id']} "
                   f"({m['kind']}, {m['width']}x{m['height']}{where}): {state}")
    for w in result["warnings"]:
        click.echo(f"warning: {w}", err=True)


@media.command("list")
@home_option
@click.argument("dataset")
@click.option("--sample", default=None, help="Only this sample's photos and videos.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def media_list(home: Path | str | None, dataset: str, sample: str | None,
               as_json: bool) -> None:
    """List the photos and videos of DATASET's samples (of its latest version)."""
    from chemearth.access.media import list_media

    items = list_media(_gateway(home), _admin(), dataset, sample)
    if not items:
        click.echo(f"no photos or videos of {dataset}" + (f" sample {sample}" if sample else ""),
                   err=True)
    for m in items:
        if as_json:
            click.echo(json.dumps(m, ensure_ascii=False))
            continue
        where = "-" if m["distance_m"] is None else f"{m['distance_m']:,.0f} m"
        click.echo(f"{m['media_id']}  sample {m['sample_id']:<10} {m['kind']:<5} "
                   f"{m['content_type']:<15} {m['size']:>11,} B  {where:>9}  {m['file_name']}"
                   + ("  WARNING" if m["warning"] else ""))


@media.command("remove")
@home_option
@click.argument("dataset")
@click.argument("media_ids", nargs=-1, required=True)
def media_remove(home: Path | str | None, dataset: str, media_ids: tuple[str, ...]) -> None:
    """Remove photos or videos of DATASET by their ids."""
    from chemearth.access.media import detach_media

    gw = _gateway(home)
    for mid in media_ids:
        detach_media(gw, _admin(), dataset, mid)
        click.echo(f"removed {mid}")
