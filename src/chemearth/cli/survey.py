"""Survey commands: ``ingest``, ``describe``, ``catalog`` and ``rejects``."""

from __future__ import annotations

import contextlib
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from chemearth.cli.common import (
    cli,
    home_option,
    load_settings,
    open_store_at,
    print_table,
    progress,
    report_line,
)
from chemearth.errors import ChemearthWarning

if TYPE_CHECKING:

    from chemearth.store import Store


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
@home_option
def ingest(
    files: tuple[Path, ...],
    descriptor_path: Path,
    strict: bool,
    data_dir: Path | None,
    boundaries: Path | None,
    rejects_out: Path | None,
    home: Path | str | None,
) -> None:
    """Ingest FILES (or the descriptor's own file) into the store.

    Bad rows go to a reject report and the rest is ingested; with --strict the whole
    file is rejected. A failed ingest leaves the store exactly as it was.
    """
    from chemearth.ingest.descriptor import load_descriptor
    from chemearth.ingest.pipeline import ingest as run
    from chemearth.ingest.shipped import shipped_descriptor

    _return_freed_memory()
    settings = load_settings()
    if not descriptor_path.exists() and shipped_descriptor(str(descriptor_path)) is not None:
        descriptor_path = shipped_descriptor(str(descriptor_path))  # type: ignore[assignment]
    desc = load_descriptor(descriptor_path)
    store = open_store_at(home)
    targets: list[Path | None] = list(files) or [None]
    for f in targets:
        with progress(sys.stderr.isatty()) as tick, warnings.catch_warnings(record=True) as ws:
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
        for note in report.notes:
            click.echo(f"note: {note}", err=True)
        click.echo(report_line(report))
        if report.n_rejected:
            for m in report.messages(10):
                click.echo(f"  rejected: {m}", err=True)
            if report.n_rejected > 10:
                click.echo(f"  … and {len(report.rejects) - 10} more problems", err=True)
            if rejects_out:
                from chemearth.render.export import csv_safe_frame

                csv_safe_frame(report.rejects).to_csv(rejects_out, index=False)
                click.echo(f"reject report written to {rejects_out}", err=True)


def _return_freed_memory() -> None:
    """Keep an ingest's peak memory low (the command owns the process): it frees each
    chunk's buffers as the next is read, on several threads.

    Arrow buffers come from jemalloc where pyarrow has it (it returns freed pages sooner
    than pyarrow's default mimalloc); with glibc, the threads share two heaps
    (``M_ARENA_MAX``) instead of growing one each. (A fixed ``M_MMAP_THRESHOLD`` saves
    another 15 MB but costs most of a CPU-second in page faults.)
    """
    import ctypes
    import ctypes.util

    import pyarrow as pa

    with contextlib.suppress(NotImplementedError, AttributeError):
        pa.set_memory_pool(pa.jemalloc_memory_pool())
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(_M_ARENA_MAX, 2)


#: glibc ``mallopt`` parameter (malloc.h): the most heaps threads may use
_M_ARENA_MAX = -8


@cli.command()
@click.option("--by-country", is_flag=True, help="Show the per-country table only.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table")
@home_option
def catalog(by_country: bool, fmt: str, home: Path | str | None) -> None:
    """List the datasets in the store, and what each country shares."""
    store = open_store_at(home)
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
        from chemearth.render.export import csv_safe_frame

        table = csv_safe_frame(countries if by_country else datasets)
        click.echo(table.to_csv(index=False), nl=False)
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
        print_table(datasets[cols].rename(columns={"n_rejected": "rejected"}), "Datasets")
    print_table(countries, "Per country (surveys, latest versions)")


@cli.command()
@click.argument("dataset_id")
@click.option("--version", type=int, default=None)
@home_option
def rejects(dataset_id: str, version: int | None, home: Path | str | None) -> None:
    """Show the rows rejected when DATASET_ID was ingested, with reasons."""
    df = open_store_at(home).rejects(dataset_id, version)
    if df.empty:
        click.echo(f"{dataset_id}: no rows were rejected")
        return
    from chemearth.render.export import csv_safe_frame

    click.echo(csv_safe_frame(df).to_csv(index=False), nl=False)


@cli.command()
@click.argument("file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--header-row", type=int, default=None, help="1-based header row (default: found).")
@click.option(
    "--sheet",
    default=None,
    metavar="NAME|INDEX",
    help="Worksheet of a workbook: its name, or its 0-based number (default: the first).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    default=None,
    help="Write the proposed descriptor here instead of printing it.",
)
def describe(file: Path, header_row: int | None, sheet: str | None, output: Path | None) -> None:
    """Propose a descriptor for FILE by recognising its element columns and units."""
    from chemearth.errors import ChemearthError, InputFileError
    from chemearth.ingest.describe import propose_descriptor
    from chemearth.ingest.readers import sheet_names, sheets_hint

    chosen: str | int | None = sheet
    if sheet is not None and sheet.strip().isdigit():  # a number, unless a sheet is so named
        workbook = file.suffix.lower() in (".xls", ".xlsx")
        if not workbook or sheet not in sheet_names(file):
            chosen = int(sheet)
    try:
        text = propose_descriptor(
            file, header_row=header_row, sheet=chosen, boundaries=load_settings().boundaries
        )
    except ChemearthError as exc:
        hint = sheets_hint(file) if sheet is None else ""
        if not hint or "--sheet" in str(exc):
            raise
        raise InputFileError(
            f"{exc}; {hint}: if the data are on another sheet, run "
            f"`chemearth describe {file.name} --sheet NAME` (or the sheet's number)"
        ) from None
    if output:
        output.write_text(text, encoding="utf-8")
        click.echo(
            f"descriptor written to {output}: review it, then `chemearth ingest {file} -d {output}`"
        )
    else:
        click.echo(text, nl=False)
