"""Grid database commands: ``grid``, ``baseline`` and ``export``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from chemearth.cli.common import (
    cli,
    home_option,
    open_store_at,
    print_table,
    progress,
)

if TYPE_CHECKING:
    import pandas as pd

    from chemearth.store import Store


def parse_levels(text: str | None) -> list[int] | None:
    if not text:
        return None
    from chemearth.grid.levels import parse_level

    return [parse_level(x) for x in text.split(",") if x.strip()]


def build_grids(
    store: Store,
    datasets: list[str] | None = None,
    grids: list[str] | None = None,
    levels: list[int] | None = None,
    force: bool = False,
    threads: int | None = None,
    show_progress: bool = True,
) -> pd.DataFrame:
    """Build the missing grid layers with a progress bar; print and return the report."""
    from chemearth.grid.layers import build_layers

    with progress(show_progress) as tick:
        report = build_layers(
            store,
            datasets,
            grids=grids,
            levels=levels,
            force=force,
            threads=threads,
            progress=tick,
        )
    print_table(report, "Grid layers")
    return report


@cli.command()
@click.argument("datasets", nargs=-1)
@click.option(
    "--grid",
    "grids",
    multiple=True,
    type=click.Choice(["global", "europe"]),
    help="Grid(s) to build (default: global, and europe for datasets mostly in Europe).",
)
@click.option("--levels", default=None, help="Cell sizes, e.g. '80km,10km,1km' (default: all).")
@click.option("--force", is_flag=True, help="Rebuild layers that exist already.")
@click.option("--threads", type=int, default=None, help="Threads (default: CPU count).")
@click.option(
    "--scheduler",
    default=None,
    help="Run on a dask.distributed scheduler: its address, or 'local:N' for N local workers.",
)
@click.option("--partitions", type=int, default=None, help="Partitions for --scheduler.")
@home_option
def grid(
    datasets: tuple[str, ...],
    grids: tuple[str, ...],
    levels: str | None,
    force: bool,
    threads: int | None,
    scheduler: str | None,
    partitions: int | None,
    home: Path | str | None,
) -> None:
    """Build the multi-scale grid database (every element, medium and level).

    Without DATASETS, every survey dataset lacking its layers; a dataset already built is
    left alone unless --force.
    """
    store = open_store_at(home)
    if scheduler is None:
        build_grids(
            store,
            list(datasets) or None,
            list(grids) or None,
            parse_levels(levels),
            force,
            threads,
            show_progress=True,
        )
        return
    from chemearth.grid.distributed import build_layers_dask, connect

    with connect(scheduler) as client:
        report = build_layers_dask(
            store,
            client,
            list(datasets) or None,
            grids=list(grids) or None,
            levels=parse_levels(levels),
            force=force,
            partitions=partitions,
        )
    print_table(report, f"Grid layers (dask: {scheduler})")


_BASELINE_COLUMNS = [
    "n",
    "n_censored",
    "max_dl",
    "min",
    "p25",
    "median",
    "p75",
    "p95",
    "p98",
    "max",
    "mad_normal",
    "km_median",
    "tukey_upper",
    "mad2_upper",
    "ubv",
    "sigma2_upper",
]


@cli.command()
@click.argument("element")
@click.option(
    "--region",
    default=None,
    help="country:FI, dataset:ID, cell:ID, bbox:W,S,E,N or polygon:PATH (default: everywhere).",
)
@click.option("--dataset", default=None, help="Only this dataset.")
@click.option("--medium", default=None, help="Only this sampled medium.")
@click.option("--method", default=None, help="Only this analytical method.")
@click.option("--by", "by", multiple=True, help="Also group by country or a sample attribute.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None)
@home_option
def baseline(
    element: str,
    region: str | None,
    dataset: str | None,
    medium: str | None,
    method: str | None,
    by: tuple[str, ...],
    fmt: str,
    output: Path | None,
    home: Path | str | None,
) -> None:
    """Baseline and background/threshold values of ELEMENT in a region.

    Per dataset, medium and method (and --by groups): distribution, Kaplan-Meier and ROS
    estimates, Tukey's fence and median + 2 MAD on log10 data, P95/P98, the upper limit of
    baseline variation, iterative 2-sigma and cumulative-frequency class breaks.
    """
    from chemearth.stats.baselines import baseline as run

    table = run(open_store_at(home), element, region, dataset=dataset, medium=medium,
                method=method, by=by)
    if fmt == "csv":
        from chemearth.render.export import csv_safe_frame

        text = csv_safe_frame(table).to_csv(index=False)
    elif fmt == "json":
        text = table.to_json(orient="records", indent=2)
    else:
        keys = ["dataset_id", "medium", *[b for b in by if b != "medium"]]
        print_table(
            table[keys + _BASELINE_COLUMNS],
            f"{element} baseline, {table['region'].iloc[0]} ({table['unit'].iloc[0]})",
        )
        return
    if output:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}")
    else:
        click.echo(text, nl=False)


@cli.command()
@click.argument("element")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["cog", "netcdf", "geoparquet", "csv"]),
    default=None,
    help="Default: from the file suffix (.tif, .nc, .parquet, .csv).",
)
@click.option("--level", default="10km", show_default=True, help="Cell size, e.g. 10km or 500m.")
@click.option("--stat", default="median", show_default=True, help="Statistic (COG and CSV).")
@click.option("--dataset", default=None)
@click.option("--medium", default=None)
@click.option("--method", default=None)
@click.option("--grid", "grid_name", type=click.Choice(["global", "europe"]), default="global")
@home_option
def export(
    element: str,
    output: Path,
    fmt: str | None,
    level: str,
    stat: str,
    dataset: str | None,
    medium: str | None,
    method: str | None,
    grid_name: str,
    home: Path | str | None,
) -> None:
    """Export one grid layer of ELEMENT: Cloud-Optimised GeoTIFF, NetCDF, GeoParquet or CSV."""
    from chemearth.render.export import export_layer

    path = export_layer(
        open_store_at(home),
        element,
        output,
        format=fmt,
        stat=stat,
        level=level,
        dataset=dataset,
        medium=medium,
        method=method,
        grid=grid_name,
    )
    click.echo(f"wrote {path} ({path.stat().st_size:,} bytes)")
