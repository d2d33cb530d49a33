"""The ``chemearth`` command-line tool: one click group, one subcommand per stage.

Heavy imports live inside the commands, so ``chemearth --help`` is quick.
Errors are printed as one line naming the file, row, column and reason, never as a
traceback (set ``CHEMEARTH_DEBUG=1`` to see one).
"""

from __future__ import annotations

import os
import shutil
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import click

from chemearth.errors import ChemearthError, ChemearthWarning

if TYPE_CHECKING:
    import pandas as pd

    from chemearth.ingest import IngestReport
    from chemearth.store import Store

__all__ = ["cli", "main"]


def _settings() -> Any:
    from chemearth.config import Settings

    return Settings.from_env()


def _store(home: Path | None) -> Store:
    from chemearth.store import open_store

    return open_store(home)


@contextmanager
def _progress(enabled: bool) -> Iterator[Any]:
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
        console=_console(stderr=True),
    ) as bar:
        task = bar.add_task("", total=1)

        def tick(step: str, done: int, total: int) -> None:
            bar.update(task, description=step, completed=done, total=max(total, 1))

        yield tick


def _console(stderr: bool = False) -> Any:
    from rich.console import Console

    return Console(
        stderr=stderr,
        highlight=False,
        soft_wrap=False,
        width=200 if not sys.stdout.isatty() else None,
    )


def _print_table(df: pd.DataFrame, title: str = "") -> None:
    from rich.table import Table

    table = Table(title=title or None, show_lines=False)
    for c in df.columns:
        justify: Literal["right", "left"] = "right" if df[c].dtype.kind in "iuf" else "left"
        table.add_column(str(c), justify=justify, overflow="fold")
    for row in df.itertuples(index=False):
        table.add_row(*[_fmt(v) for v in row])
    _console().print(table)


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return f"{v:,.4g}"
    if isinstance(v, int):
        return f"{v:,}"
    return "" if v is None else str(v)


def _report_line(r: IngestReport) -> str:
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


_home_option = click.option(
    "--home",
    type=click.Path(path_type=Path),
    default=None,
    help="Store directory (default: $CHEMEARTH_HOME or the user data directory).",
)


@cli.command()
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "-d",
    "--descriptor",
    "descriptor_path",
    type=click.Path(path_type=Path),
    required=True,
    help="Dataset descriptor (TOML), or a shipped descriptor's id.",
)
@click.option("--strict", is_flag=True, help="Reject the whole file if any row is bad.")
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Folder that the descriptor's relative paths refer to.",
)
@click.option(
    "--boundaries",
    type=click.Path(path_type=Path),
    default=None,
    help="Natural Earth admin-0 countries (GeoJSON) for locating countries.",
)
@click.option(
    "--rejects",
    "rejects_out",
    type=click.Path(path_type=Path),
    default=None,
    help="Write the reject report (CSV) here.",
)
@_home_option
def ingest(
    files: tuple[Path, ...],
    descriptor_path: Path,
    strict: bool,
    data_dir: Path | None,
    boundaries: Path | None,
    rejects_out: Path | None,
    home: Path | None,
) -> None:
    """Ingest FILES (or the descriptor's own file) into the store.

    Bad rows go to a reject report and the rest is ingested; with --strict the whole
    file is rejected. A failed ingest leaves the store exactly as it was.
    """
    from chemearth.descriptor import load_descriptor
    from chemearth.descriptors import shipped_descriptor
    from chemearth.ingest import ingest as run

    settings = _settings()
    if not descriptor_path.exists() and shipped_descriptor(str(descriptor_path)) is not None:
        descriptor_path = shipped_descriptor(str(descriptor_path))  # type: ignore[assignment]
    desc = load_descriptor(descriptor_path)
    store = _store(home)
    targets: list[Path | None] = list(files) or [None]
    for f in targets:
        with _progress(sys.stderr.isatty()) as tick, warnings.catch_warnings(record=True) as ws:
            warnings.simplefilter("always", ChemearthWarning)
            report = run(
                store,
                desc,
                f,
                data_dir=data_dir or settings.data_dir,
                boundaries=boundaries or settings.boundaries,
                strict=strict,
                progress=tick,
            )
        for w in ws:
            click.echo(f"warning: {w.message}", err=True)
        click.echo(_report_line(report))
        if report.n_rejected:
            for m in report.messages(10):
                click.echo(f"  rejected: {m}", err=True)
            if report.n_rejected > 10:
                click.echo(f"  … and {len(report.rejects) - 10} more problems", err=True)
            if rejects_out:
                report.rejects.to_csv(rejects_out, index=False)
                click.echo(f"reject report written to {rejects_out}", err=True)


@cli.command()
@click.option("--by-country", is_flag=True, help="Show the per-country table only.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table")
@_home_option
def catalog(by_country: bool, fmt: str, home: Path | None) -> None:
    """List the datasets in the store, and what each country shares."""
    store = _store(home)
    show_catalog(store, by_country=by_country, fmt=fmt)


def show_catalog(store: Store, by_country: bool = False, fmt: str = "table") -> None:
    """Print the dataset catalogue and the per-country table."""
    datasets = store.dataset_summary()
    countries = store.country_summary()
    if fmt == "json":
        import json

        out: dict[str, Any] = {"countries": countries.to_dict("records")}
        if not by_country:
            out["datasets"] = datasets.to_dict("records")
        click.echo(json.dumps(out, indent=2, default=str))
        return
    if fmt == "csv":
        click.echo((countries if by_country else datasets).to_csv(index=False), nl=False)
        return
    if not by_country:
        cols = [
            "dataset_id",
            "version",
            "samples",
            "elements",
            "data_items",
            "countries",
            "media",
            "licence",
            "n_rejected",
        ]
        _print_table(datasets[cols].rename(columns={"n_rejected": "rejected"}), "Datasets")
    _print_table(countries, "Per country (surveys, latest versions)")


@cli.command()
@click.argument("dataset_id")
@click.option("--version", type=int, default=None)
@_home_option
def rejects(dataset_id: str, version: int | None, home: Path | None) -> None:
    """Show the rows rejected when DATASET_ID was ingested, with reasons."""
    df = _store(home).rejects(dataset_id, version)
    if df.empty:
        click.echo(f"{dataset_id}: no rows were rejected")
        return
    click.echo(df.to_csv(index=False), nl=False)


@cli.command()
@click.argument("file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--header-row", type=int, default=None, help="1-based header row (default: found).")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    default=None,
    help="Write the proposed descriptor here instead of printing it.",
)
def describe(file: Path, header_row: int | None, output: Path | None) -> None:
    """Propose a descriptor for FILE by recognising its element columns and units."""
    from chemearth.describe import propose_descriptor

    text = propose_descriptor(file, header_row=header_row)
    if output:
        output.write_text(text, encoding="utf-8")
        click.echo(
            f"descriptor written to {output}: review it, then `chemearth ingest {file} -d {output}`"
        )
    else:
        click.echo(text, nl=False)


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
    help="Store directory for the demo (default: <user data dir>/chemearth-demo); "
    "emptied first if an earlier demo made it; any other non-empty folder is refused.",
)
@click.option("--no-serve", is_flag=True, help="Stop after building the grids.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to serve on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to serve on.")
def demo(
    data_dir: Path | None, home: Path | None, no_serve: bool, host: str, port: int
) -> None:
    """Ingest every shipped dataset into a fresh store, print the catalogue, build the
    grids, then serve the website at http://127.0.0.1:8000."""
    from platformdirs import user_data_dir

    from chemearth.descriptor import load_descriptor
    from chemearth.descriptors import shipped_descriptors
    from chemearth.ingest import ingest as run

    settings = _settings()
    data = data_dir or settings.data_dir
    if data is None or not data.is_dir():
        raise click.UsageError(
            "no demo data: pass --data-dir or set CHEMEARTH_DATA to the shared data folder"
        )
    boundaries = settings.boundaries
    if boundaries is None and (data / "boundaries").is_dir():
        from chemearth.config import BOUNDARIES_FILE

        boundaries = data / BOUNDARIES_FILE
    own = Path(user_data_dir("chemearth-demo"))  # the demo's own folder, by its name
    target = home or Path(os.environ.get("CHEMEARTH_HOME") or own)
    marker = target / ".chemearth-demo"
    if target.exists() and any(target.iterdir()):
        if not marker.exists() and target != own:  # never wipe a folder the demo did not make
            raise click.UsageError(
                f"{target} is not empty and was not made by `chemearth demo`; "
                "pass --home with a new folder"
            )
        shutil.rmtree(target)
    target.mkdir(parents=True, exist_ok=True)
    marker.touch()
    store = _store(target)
    paths = shipped_descriptors()
    click.echo(f"chemearth demo: {len(paths)} datasets from {data} into {target}")
    from rich.progress import Progress

    out = _console()
    with Progress(console=_console(stderr=True), transient=True) as bar:
        task = bar.add_task("ingesting", total=len(paths))
        for p in paths:
            bar.update(task, description=f"ingesting {p.stem}")
            with warnings.catch_warnings(record=True) as ws:
                warnings.simplefilter("always", ChemearthWarning)
                report = run(store, load_descriptor(p), data_dir=data, boundaries=boundaries)
            out.print(_report_line(report))
            for w in ws[:3]:
                out.print(f"  [dim]warning: {w.message}[/dim]")
            if len(ws) > 3:
                out.print(f"  [dim]… and {len(ws) - 3} more warnings[/dim]")
            bar.advance(task)
    show_catalog(store)
    build_grids(store, show_progress=True)
    click.echo(f"store: {target}")
    if not no_serve:
        _serve(target, host, port, workers=1)


def _serve(home: Path, host: str, port: int, workers: int) -> None:
    from chemearth.web.app import find_leaflet
    from chemearth.web.serve import serve as run

    if find_leaflet() is None:
        click.echo("warning: Leaflet is not installed (run `npm ci`); the map page needs it",
                   err=True)
    click.echo(f"chemearth serving {home} at http://{host}:{port}  (Ctrl+C to stop)", err=False)
    sys.stdout.flush()
    run(home, host=host, port=port, workers=workers)


@cli.command()
@_home_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Worker processes.")
def serve(home: Path | None, host: str, port: int, workers: int) -> None:
    """Serve the website and API (map, catalogue, OGC API, tiles, downloads, uploads)."""
    from chemearth.config import Settings

    target = home or Settings.from_env().home
    if not (Path(target) / "catalog.duckdb").exists():
        raise click.UsageError(f"no store at {target}: run `chemearth demo` or `chemearth ingest`")
    _serve(Path(target), host, port, workers)


@cli.group()
def token() -> None:
    """API tokens and grants (kept hashed in the store's access.json)."""


@token.command("create")
@_home_option
@click.argument("name")
@click.option("--role", type=click.Choice(["public", "partner", "owner", "admin"]), required=True)
@click.option("--organisation", default="", help="The organisation (as in descriptors).")
@click.option("--grant", "grants", multiple=True, help="A dataset to grant (partners).")
def token_create(
    home: Path | None, name: str, role: str, organisation: str, grants: tuple[str, ...]
) -> None:
    """Create a token and print it once (only its hash is kept)."""
    from chemearth.access import TokenStore
    from chemearth.config import Settings

    tokens = TokenStore(Path(home or Settings.from_env().home))
    click.echo(tokens.create(name, role, organisation=organisation, grants=grants))


@token.command("list")
@_home_option
def token_list(home: Path | None) -> None:
    """List tokens (never the secrets)."""
    from chemearth.access import TokenStore
    from chemearth.config import Settings

    tokens = TokenStore(Path(home or Settings.from_env().home))
    for rec in tokens.records().values():
        d = rec.to_dict(secret_hash=False)
        click.echo(
            f"{d['token_id']}  {d['name']:<16} {d['role']:<8} {d['organisation'] or '-':<20} "
            f"grants={','.join(d['grants']) or '-'}{'  REVOKED' if d['revoked'] else ''}"
        )


@token.command("revoke")
@_home_option
@click.argument("token_id")
def token_revoke(home: Path | None, token_id: str) -> None:
    """Revoke a token by its id."""
    from chemearth.access import TokenStore
    from chemearth.config import Settings

    TokenStore(Path(home or Settings.from_env().home)).revoke(token_id)
    click.echo(f"revoked {token_id}")


@token.command("grant")
@_home_option
@click.argument("token_id")
@click.argument("dataset")
@click.option("--revoke", is_flag=True, help="Withdraw the grant instead.")
def token_grant(home: Path | None, token_id: str, dataset: str, revoke: bool) -> None:
    """Grant a token full access to a dataset (or withdraw it)."""
    from chemearth.access import TokenStore
    from chemearth.config import Settings

    TokenStore(Path(home or Settings.from_env().home)).grant(token_id, dataset, revoke=revoke)
    click.echo(f"{'withdrew' if revoke else 'granted'} {dataset} {'from' if revoke else 'to'} "
               f"{token_id}")


def _levels(text: str | None) -> list[int] | None:
    if not text:
        return None
    from chemearth.layers import parse_level

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
    from chemearth.layers import build_layers

    with _progress(show_progress) as tick:
        report = build_layers(
            store,
            datasets,
            grids=grids,
            levels=levels,
            force=force,
            threads=threads,
            progress=tick,
        )
    _print_table(report, "Grid layers")
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
@_home_option
def grid(
    datasets: tuple[str, ...],
    grids: tuple[str, ...],
    levels: str | None,
    force: bool,
    threads: int | None,
    scheduler: str | None,
    partitions: int | None,
    home: Path | None,
) -> None:
    """Build the multi-scale grid database (every element, medium and level).

    Without DATASETS, every survey dataset lacking its layers; a dataset already built is
    left alone unless --force.
    """
    store = _store(home)
    if scheduler is None:
        build_grids(
            store,
            list(datasets) or None,
            list(grids) or None,
            _levels(levels),
            force,
            threads,
            show_progress=True,
        )
        return
    from chemearth.distributed import build_layers_dask, connect

    with connect(scheduler) as client:
        report = build_layers_dask(
            store,
            client,
            list(datasets) or None,
            grids=list(grids) or None,
            levels=_levels(levels),
            force=force,
            partitions=partitions,
        )
    _print_table(report, f"Grid layers (dask: {scheduler})")


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
@_home_option
def baseline(
    element: str,
    region: str | None,
    dataset: str | None,
    medium: str | None,
    method: str | None,
    by: tuple[str, ...],
    fmt: str,
    output: Path | None,
    home: Path | None,
) -> None:
    """Baseline and background/threshold values of ELEMENT in a region.

    Per dataset, medium and method (and --by groups): distribution, Kaplan-Meier and ROS
    estimates, Tukey's fence and median + 2 MAD on log10 data, P95/P98, the upper limit of
    baseline variation, iterative 2-sigma and cumulative-frequency class breaks.
    """
    from chemearth.baselines import baseline as run

    table = run(_store(home), element, region, dataset=dataset, medium=medium, method=method, by=by)
    if fmt == "csv":
        text = table.to_csv(index=False)
    elif fmt == "json":
        text = table.to_json(orient="records", indent=2)
    else:
        keys = ["dataset_id", "medium", *[b for b in by if b != "medium"]]
        _print_table(
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
@_home_option
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
    home: Path | None,
) -> None:
    """Export one grid layer of ELEMENT: Cloud-Optimised GeoTIFF, NetCDF, GeoParquet or CSV."""
    from chemearth.export import export_layer

    path = export_layer(
        _store(home),
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


from chemearth import (  # noqa: E402
    cli_assess,  # noqa: F401  (registers the assessment commands)
    cli_maps,  # noqa: F401  (registers interpolate, map and atlas)
    cli_qc,  # noqa: F401  (registers qc and level)
)


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
        if os.environ.get("CHEMEARTH_DEBUG"):
            raise
        click.echo(
            f"internal error: {type(exc).__name__}: {exc} (set CHEMEARTH_DEBUG=1 for a traceback)",
            err=True,
        )
        sys.exit(70)


if __name__ == "__main__":  # pragma: no cover
    main()
