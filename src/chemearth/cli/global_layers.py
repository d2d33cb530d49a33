"""``chemearth global``: pooled layers across surveys and what they give — baselines,
coverage, toxic-metal exceedance and resource totals."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from chemearth.cli.common import cli, home_option, load_settings, open_store_at, print_table

if TYPE_CHECKING:
    import pandas as pd

    from chemearth.access.gateway import Gateway
    from chemearth.access.policy import Actor


def _gateway(home: Path | str | None) -> Gateway:
    from chemearth.access.gateway import Gateway

    return Gateway(open_store_at(home))


def _actor(scope: str) -> Actor:
    """The command line acts as the scope's own audience (a member for org:NAME)."""
    from chemearth.access.pooling import scope_actor

    return scope_actor(scope)


def _boundaries() -> Path:
    path = load_settings().boundaries
    if path is None:
        raise click.UsageError("no country boundaries: set CHEMEARTH_BOUNDARIES or "
                               "CHEMEARTH_DATA")
    return Path(path)


def _out(table: pd.DataFrame, title: str, csv: Path | None, columns: list[str]) -> None:
    if csv is not None:
        table.to_csv(csv, index=False)
        click.echo(f"wrote {len(table)} rows to {csv}")
        return
    shown = [c for c in columns if c in table.columns]
    print_table(table[shown] if shown else table, title)


def _scope(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """Refuse a scope that is neither ``public`` nor ``org:NAME`` (it would read as an
    empty scope: ``global layers --scope private`` listed nothing and exited 0)."""
    from chemearth.access.pooling import pooled_id, scope_of
    from chemearth.errors import NotFoundError

    try:
        return scope_of(pooled_id(value))
    except NotFoundError:
        raise click.BadParameter(f"{value!r}: give public, or org:NAME") from None


scope_option = click.option("--scope", default="public", show_default=True, callback=_scope,
                            help="public, or org:NAME for an organisation's own pooled layers.")
medium_option = click.option("--medium", default=None,
                             help="Medium group (topsoil, subsoil, humus, moss, floodplain, "
                             "stream-sediment…).")
method_option = click.option("--method", default=None,
                             help="Method class (total, aqua-regia, nitric-acid…).")
level_option = click.option("--level", default="160km", show_default=True,
                            help="Grid level (cell size).")
csv_option = click.option("--csv", "csv", type=click.Path(path_type=Path), default=None,
                          help="Write the table as CSV instead of printing it.")


@cli.group("global")
def global_group() -> None:
    """Pooled (global) layers: one map per element over every survey that may be pooled."""


def build_global(home_or_store: Any, scope: str = "public", grids: tuple[str, ...] = (),
                 force: bool = False, show: bool = True) -> pd.DataFrame:
    """Build the pooled layers of ``scope``; print a summary; return the report."""
    from chemearth.access.gateway import Gateway
    from chemearth.access.pooling import build_scope
    from chemearth.cli.common import progress
    from chemearth.grid.pooled import GRIDS

    gw = home_or_store if isinstance(home_or_store, Gateway) else Gateway(
        home_or_store if hasattr(home_or_store, "datasets") else open_store_at(home_or_store))
    with progress(show) as tick:
        report = build_scope(gw, scope, grids=grids or GRIDS, force=force, progress=tick)
    summary = (report.groupby(["grid", "status"]).agg(
        layers=("element", "size"), cells=("cells", "sum"), recomputed=("recomputed", "sum"),
        seconds=("seconds", "sum")).reset_index())
    print_table(summary, f"Pooled layers ({scope})")
    return report


@global_group.command("build")
@home_option
@scope_option
@click.option("--grid", "grids", multiple=True, type=click.Choice(["global", "europe"]),
              help="Grids to build (default: both).")
@click.option("--force", is_flag=True, help="Recompute every layer.")
def build(home: Path | str | None, scope: str, grids: tuple[str, ...], force: bool) -> None:
    """Build or update the pooled layers (only what changed is recomputed)."""
    build_global(home, scope, grids, force)


@global_group.command("layers")
@home_option
@scope_option
@click.option("--excluded", is_flag=True, help="List what was left out, with the reason.")
def layers(home: Path | str | None, scope: str, excluded: bool) -> None:
    """List the pooled layers (element, medium group, method class, datasets)."""
    import pandas as pd

    from chemearth.access.pooling import manifest_for

    man = manifest_for(_gateway(home), _actor(scope), scope)
    if excluded:
        print_table(pd.DataFrame(man.get("excluded", [])), "Left out")
        return
    rows = [{"grid": e["grid"], "medium": e["medium"], "method": e["method"],
             "element": e["element"], "unit": e["unit"],
             "datasets": ", ".join(m["dataset_id"] for m in e["members"]),
             "cells_160km": e["by_level"].get("160000", {}).get("cells", 0)}
            for e in man.get("layers", [])]
    print_table(pd.DataFrame(rows), f"Pooled layers ({scope})")


@global_group.command("baseline")
@click.argument("element")
@home_option
@scope_option
@medium_option
@method_option
@level_option
@click.option("--scale", type=click.Choice(["world", "continent", "country", "cell"]),
              default="world", show_default=True)
@click.option("--weighting", type=click.Choice(["samples", "declustered", "both"]),
              default="both", show_default=True,
              help="Each sample weighted equally, or each cell of --level.")
@csv_option
def baseline(element: str, home: Path | str | None, scope: str, medium: str | None,
             method: str | None, level: str, scale: str, weighting: str,
             csv: Path | None) -> None:
    """Baselines of a pooled layer per world, continent, country or cell."""
    from chemearth.access.global_products import baselines

    p = baselines(_gateway(home), _actor(scope), element, scale=scale, weighting=weighting,
                  medium=medium, method=method, scope=scope, level=level,
                  boundaries=load_settings().boundaries)
    for note in p.notes:
        click.echo(note)
    _out(p.table, f"{element} baselines ({scale})", csv,
         ["region", "weighting", "n", "n_censored", "n_datasets", "n_cells", "p25", "median",
          "p75", "p95", "km_median", "tukey_upper", "unit"])


@global_group.command("coverage")
@click.argument("medium")
@home_option
@scope_option
@click.option("--by", type=click.Choice(["world", "continent", "country"]), default="world",
              show_default=True)
@csv_option
def coverage(medium: str, home: Path | str | None, scope: str, by: str,
             csv: Path | None) -> None:
    """Share of land in 160 km cells holding at least 1 and 5 samples of MEDIUM."""
    import pandas as pd

    from chemearth.access.global_products import coverage_of

    cov = coverage_of(_gateway(home), _actor(scope), medium, _boundaries(), scope=scope)
    table = {"world": pd.DataFrame([cov.world]), "continent": cov.by_continent,
             "country": cov.by_country}[by]
    w = cov.world
    click.echo(f"{medium}: {100 * w['share_1']:.1f} % of land covered (>= 1 sample), "
               f"{100 * w['share_5']:.1f} % (>= 5); {int(w['n_cells_1'])} of "
               f"{int(w['n_cells_land'])} land cells of 160 km")
    _out(table, f"Coverage of {medium} ({by})", csv, [])


@global_group.command("exceedance")
@click.argument("elements", nargs=-1, required=True)
@home_option
@scope_option
@click.option("--medium", default="topsoil", show_default=True)
@click.option("--method", default="total", show_default=True)
@level_option
@click.option("--standard", default=None, help="Another standard id (default: GB 15618-2018; "
              "Sb, Co, V: GB 36600-2018 first class).")
@click.option("--by", type=click.Choice(["world", "country", "cell"]), default="country",
              show_default=True)
@csv_option
def exceedance(elements: tuple[str, ...], home: Path | str | None, scope: str, medium: str,
               method: str, level: str, standard: str | None, by: str,
               csv: Path | None) -> None:
    """Percentage of samples above the soil risk-screening values, per country or cell."""
    import pandas as pd

    from chemearth.access.global_products import exceedance_of

    gw = _gateway(home)
    tables = []
    for el in elements:
        x = exceedance_of(gw, _actor(scope), el, medium=medium, method=method, scope=scope,
                          level=level, standard=standard)
        click.echo(x.basis)
        tables.append({"world": x.world, "country": x.countries, "cell": x.cells}[by])
    _out(pd.concat(tables, ignore_index=True), f"Exceedance ({by})", csv,
         ["world", "country", "cell_id", "element", "n", "n_above", "n_indeterminate",
          "pct_above_determinate", "limit_min", "limit_max", "standard", "ph_assumption"])


@global_group.command("resources")
@click.argument("element")
@home_option
@scope_option
@medium_option
@method_option
@level_option
@click.option("--depth", type=float, default=1.0, show_default=True, help="Layer depth, m.")
@click.option("--density", type=float, default=1.5, show_default=True,
              help="Bulk density, t/m³.")
@click.option("--by", type=click.Choice(["world", "continent", "country"]), default="world",
              show_default=True)
@csv_option
def resources(element: str, home: Path | str | None, scope: str, medium: str | None,
              method: str | None, level: str, depth: float, density: float, by: str,
              csv: Path | None) -> None:
    """Tonnes of ELEMENT held in the top DEPTH m of soil: median and P25–P75, P5–P95."""
    from chemearth.access.global_products import resources_of

    r = resources_of(_gateway(home), _actor(scope), element, _boundaries(), medium=medium,
                     method=method, scope=scope, level=level, depth_m=depth,
                     bulk_density_t_m3=density)
    for note in r.notes:
        click.echo(note)
    _out({"world": r.world, "continent": r.continents, "country": r.countries}[by],
         f"{element} resources ({by})", csv,
         ["world", "continent", "country", "land_km2_covered", "covered_pct", "tonnes_p5",
          "tonnes_p25", "tonnes_median", "tonnes_p75", "tonnes_p95"])


@global_group.command("atlas")
@home_option
@scope_option
@click.option("--medium", default="topsoil", show_default=True)
@click.option("--method", default="total", show_default=True)
@click.option("--elements", default=None, help="Comma-separated (default: every pooled one).")
@level_option
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True)
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="The atlas PDF.")
def atlas(home: Path | str | None, scope: str, medium: str, method: str,
          elements: str | None, level: str, lang: str, output: Path) -> None:
    """A PDF atlas of pooled layers: one world map of cell medians per element."""
    from chemearth.access.pooling import manifest_for
    from chemearth.render.global_atlas import make_global_atlas

    gw = _gateway(home)
    manifest_for(gw, _actor(scope), scope)  # the scope's permission question
    wanted = [e.strip() for e in elements.split(",") if e.strip()] if elements else None
    report = make_global_atlas(gw.store, output, elements=wanted, medium=medium,
                               method=method, scope=scope, level=level,
                               boundaries=load_settings().boundaries, lang=lang)
    for note in report.notes:
        click.echo(note)
    click.echo(f"wrote {report.pages} pages ({', '.join(report.elements)}) to {output}")
