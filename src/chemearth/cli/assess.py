"""Assessment commands of the ``chemearth`` tool: standards, screen, change, anomalies, blocks.

They register on :data:`chemearth.cli.cli` when that module is imported.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from chemearth.cli.common import (
    cli,
    console,
    home_option,
    local_home,
    open_store_at,
    print_table,
)

if TYPE_CHECKING:
    import pandas as pd

__all__: list[str] = []

_FORMAT = click.option("--format", "fmt", type=click.Choice(["table", "csv", "json", "geojson"]),
                       default=None, help="Default: from the -o suffix, else a table.")
_OUTPUT = click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
                       help="Write here (.csv, .json, .geojson) instead of printing.")


def _split(text: str | None) -> list[str] | None:
    return [t.strip() for t in text.split(",") if t.strip()] if text else None


def _emit(table: pd.DataFrame, fmt: str | None, output: Path | None, title: str,
          show: list[str] | None = None, notes: list[str] | None = None) -> None:
    """Print or write a result table (GeoJSON when it has geometries and is asked for)."""
    from chemearth.assess.anomalies import as_geojson

    fmt = fmt or ({".csv": "csv", ".json": "json", ".geojson": "geojson"}.get(
        output.suffix.lower(), "csv") if output else "table")
    if fmt == "table":
        cols = [c for c in (show or list(table.columns)) if c in table.columns]
        print_table(table[cols], title)
        for n in notes or []:
            console().print(f"[yellow]note:[/] {n}")
        return
    flat = table.drop(columns=["geometry"], errors="ignore")
    if fmt == "geojson":
        if "geometry" not in table.columns:
            raise click.UsageError("this result has no geometries: use csv or json")
        doc: Any = as_geojson(table)
        if notes:
            doc["notes"] = notes
        text = json.dumps(doc, ensure_ascii=False)
    elif fmt == "json":
        text = flat.to_json(orient="records", indent=2, force_ascii=False)
    else:
        from chemearth.render.export import csv_safe_frame

        text = csv_safe_frame(flat).to_csv(index=False)
    if output:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output} ({len(table)} rows)")
    else:
        click.echo(text, nl=not text.endswith("\n"))


@cli.command()
@click.argument("standard_id", required=False)
@home_option
def standards(standard_id: str | None, home: Path | str | None) -> None:
    """List the soil-quality standards, or show the limits of STANDARD_ID.

    Standards are the shipped files plus TOML files in $CHEMEARTH_STANDARDS and
    <home>/standards/ (see chemearth.reference.standards for the format).
    """
    import pandas as pd

    from chemearth.reference.standards import available_standards, get_standard

    home = local_home(home)
    if standard_id is None:
        rows = [{"id": s.id, "levels": ", ".join(s.levels), "land uses": ", ".join(s.land_uses),
                 "pH bands": len(s.ph_bands), "elements": ", ".join(s.elements),
                 "title": s.title} for s in available_standards(home).values()]
        print_table(pd.DataFrame(rows), "soil-quality standards")
        return
    s = get_standard(standard_id, home)
    labels = [b.label for b in s.ph_bands] or ["limit"]
    rows = [{"element": el, "level": lv, "land use": lu, **dict(zip(labels, vals, strict=True))}
            for (el, lv, lu), vals in sorted(s.table.items())]
    print_table(pd.DataFrame(rows), f"{s.id} (mg/kg, {s.basis} concentrations)")
    click.echo(s.citation)
    for n in s.notes:
        click.echo(f"note: {n}")


@cli.command()
@click.argument("dataset")
@click.option("--standard", "standard_id", default="gb15618-2018", show_default=True,
              help="A standard id (see `chemearth standards`) or a standard file.")
@click.option("--land-use", default=None, help="One of the standard's land uses.")
@click.option("--elements", default=None, help="Comma-separated (default: all it covers).")
@click.option("--by", type=click.Choice(["sample", "cell", "country", "all"]), default="all",
              show_default=True, help="Per sample, per grid cell, per country or overall.")
@click.option("--grid", "grid_name", type=click.Choice(["global", "europe"]), default="global")
@click.option("--level", default="10km", show_default=True, help="Cell size for --by cell.")
@click.option("--region", default=None, help="country:FI, bbox:W,S,E,N, polygon:PATH …")
@_FORMAT
@_OUTPUT
@home_option
def screen(dataset: str, standard_id: str, land_use: str | None, elements: str | None, by: str,
           grid_name: str, level: str, region: str | None, fmt: str | None,
           output: Path | None, home: Path | str | None) -> None:
    """Screen DATASET against a soil-quality standard.

    Uses each sample's pH where the survey measured it, else the most protective pH band;
    comparisons on partial digestions are flagged. Counts and percentages above each
    level, and the standard's classes (GB 15618-2018: priority protection / safe
    utilisation / strict control).
    """
    from chemearth.assess.screening import screen as run
    from chemearth.reference.standards import get_standard

    std = get_standard(standard_id, local_home(home))
    s = run(open_store_at(home), dataset, std, land_use=land_use, elements=_split(elements),
            region=region)
    levels = std.levels
    title = f"{dataset} against {std.id} ({s.land_use})"
    if by == "sample":
        table = s.samples
        show = ["sample_id", "element", "value", "ph", *[f"limit_{lv}" for lv in levels],
                "class"]
    else:
        table = (s.by_cell(grid_name, level) if by == "cell" else
                 s.summary() if by == "all" else s.by_region("country"))
        show = [c for c in ("cell_id", "country") if c in table.columns]
        show += ["element", "n", *[f"pct_above_{lv}" for lv in levels],
                 *[c for c in table.columns if c.startswith("n_") and "above" not in c]]
    _emit(table, fmt, output, title, show, [*s.notes, f"standard: {std.citation}"])


@cli.command()
@click.argument("before")
@click.argument("after")
@click.argument("element", required=False)
@click.option("--grid", "grid_name", type=click.Choice(["global", "europe"]), default="global")
@click.option("--level", default="20km", show_default=True, help="Cell size compared.")
@click.option("--pairing", type=click.Choice(["auto", "sites", "independent"]), default="auto",
              show_default=True)
@click.option("--alpha", type=float, default=0.05, show_default=True,
              help="False-discovery rate for significant change.")
@click.option("--min-n", type=int, default=3, show_default=True)
@click.option("--method-before", default=None, help="Method in BEFORE (default: most total).")
@click.option("--method-after", default=None, help="Method in AFTER (default: most total).")
@click.option("--elements", default=None, help="Ratios: comma-separated elements.")
@click.option("--max-distance", type=click.FloatRange(0, 1000, min_open=True), default=20.0,
              show_default=True,
              help="Sites of datasets that declare no shared sites (same_sites_as) pair when "
              "this close, in metres.")
@_FORMAT
@_OUTPUT
@home_option
def change(before: str, after: str, element: str | None, grid_name: str, level: str,
           pairing: str, alpha: float, min_n: int, method_before: str | None,
           method_after: str | None, elements: str | None, max_distance: float,
           fmt: str | None, output: Path | None, home: Path | str | None) -> None:
    """Change of ELEMENT per grid cell from campaign BEFORE to campaign AFTER.

    Without ELEMENT: enrichment ratios AFTER/BEFORE per element at the sites sampled in
    both (e.g. humus over C-horizon, topsoil over subsoil). Sites pair by sample id only
    where one dataset declares the other's samples or sites (same_samples_as,
    same_sites_as), else by co-location within --max-distance; no pair is an error.
    """
    from chemearth.assess.change import change_by_cell, enrichment

    store = open_store_at(home)
    if element is None:
        table = enrichment(store, after, before, _split(elements), max_distance_m=max_distance)
        _emit(table, fmt, output, f"{after} / {before}",
              ["element", "n_pairs", "median_ratio", "gmean_ratio", "p25_ratio", "p75_ratio",
               "wilcoxon_p", "enriched", "digestion_upper", "digestion_lower"],
              [f"{table['n_site_pairs'].iloc[0]} sites paired, "
               f"{table['pairing_rule'].iloc[0]}"] if len(table) else None)
        return
    table = change_by_cell(store, before, after, element, method_before=method_before,
                           method_after=method_after, grid=grid_name, level=level,
                           pairing=pairing, alpha=alpha, min_n=min_n,
                           max_distance_m=max_distance)
    counts = table["direction"].value_counts().to_dict()
    first = table.iloc[0]
    how = (f"{first['n_pairs']} sites paired, {first['pairing_rule']}"
           if first["pairing"] == "sites" else "independent samples")
    _emit(table, fmt, output, f"{element}: {before} → {after}, {level} cells",
          ["cell_id", "n_before", "n_after", "median_before", "median_after", "change_pct",
           "ci_low", "ci_high", "q_value", "direction"],
          [f"{how}; " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))])


@cli.command()
@click.argument("dataset")
@click.argument("elements", nargs=-1, required=True)
@click.option("--threshold", default="tukey", show_default=True,
              help="tukey, mad2, ubv, sigma2 or a percentile such as p85.")
@click.option("--grid", "grid_name", type=click.Choice(["global", "europe"]), default=None)
@click.option("--level", default=None, help="Cell size (default: from the sample spacing).")
@click.option("--signature", is_flag=True,
              help="Multi-element: clr additive index and robust Mahalanobis distance.")
@click.option("--index", "index_elements", default=None,
              help="Signature: elements summed in the index (default: all).")
@_FORMAT
@_OUTPUT
@home_option
def anomalies(dataset: str, elements: tuple[str, ...], threshold: str, grid_name: str | None,
              level: str | None, signature: bool, index_elements: str | None,
              fmt: str | None, output: Path | None, home: Path | str | None) -> None:
    """Anomaly targets of each ELEMENT in DATASET, ranked by productivity.

    With --signature, the samples' multi-element signature instead: clr scores, the
    additive index and the robust (MCD) Mahalanobis distance with its chi-square cut-off.
    """
    import pandas as pd

    from chemearth.assess.anomalies import signatures, surface, targets, threshold_of
    from chemearth.store.selectors import element_values
    store = open_store_at(home)
    if signature:
        s = signatures(store, dataset, list(elements), index_elements=_split(index_elements))
        table = s.samples.sort_values("index", ascending=False)
        _emit(table, fmt, output, f"{dataset}: signature of {', '.join(s.elements)}",
              ["sample_id", "longitude", "latitude", "index", "robust_distance", "outlier"],
              [f"robust distance cut-off {s.cutoff:.3f} (chi-square 97.5 %)"])
        return
    surfaces, thresholds = {}, {}
    for el in elements:
        m, method = element_values(store, dataset, el)
        surfaces[el] = surface(m, variable=el, grid=grid_name, level=level, method=method)
        thresholds[el] = threshold_of(m["value"].to_numpy(), m["censored"].to_numpy(),
                                      method=threshold)
        grid_name, level = surfaces[el].grid.name, str(surfaces[el].level_m)
    frames = []
    for el in elements:
        others = {o: (surfaces[o], thresholds[o]) for o in elements if o != el}
        frames.append(targets(surfaces[el], thresholds[el], associated=others))
    table = pd.concat(frames, ignore_index=True)
    first = surfaces[elements[0]]
    where = f"{first.level_m / 1000:g} km {first.grid.name}"
    _emit(table, fmt, output, f"{dataset}: anomaly targets ({threshold}, {where})",
          ["target_id", "rank", "n_cells", "area_km2", "n_samples", "peak", "peak_longitude",
           "peak_latitude", "contrast", "productivity", "association"],
          [f"{el} threshold {thresholds[el]:.4g} mg/kg" for el in elements])


@cli.command()
@click.argument("dataset")
@click.argument("element")
@click.option("--thresholds", default=None, help="Comma-separated, mg/kg, increasing.")
@click.option("--start", default="p85", show_default=True,
              help="Without --thresholds: the first threshold (then doubling).")
@click.option("--depth", type=float, default=None, help="Block depth, m (default 1000).")
@click.option("--density", type=float, default=None, help="Rock density, t/m³ (default 2.6).")
@click.option("--grid", "grid_name", type=click.Choice(["global", "europe"]), default=None)
@click.option("--level", default=None, help="Cell size (default: from the sample spacing).")
@click.option("--known-block", default=None, help="Calibrate k on this block id …")
@click.option("--known-at", default=None, help="… or on the block holding LON,LAT …")
@click.option("--known-resource", type=float, default=None,
              help="… whose known resource is this many tonnes of metal.")
@_FORMAT
@_OUTPUT
@home_option
def blocks(dataset: str, element: str, thresholds: str | None, start: str,
           depth: float | None, density: float | None, grid_name: str | None,
           level: str | None, known_block: str | None, known_at: str | None,
           known_resource: float | None, fmt: str | None, output: Path | None,
           home: Path | str | None) -> None:
    """Nested geochemical blocks of ELEMENT and the metal they hold (estimates).

    Q = area × depth × density × mean concentration (tonnes); with a known block and its
    known resource, k = resource / Q and a predicted resource R = Q × k per block.
    """
    from chemearth.assess.anomalies import surface
    from chemearth.assess.blocks import (
        DEFAULT_DENSITY_T_M3,
        DEFAULT_DEPTH_M,
        calibrate,
        delineate,
        doubling_thresholds,
        predict,
    )
    from chemearth.store.selectors import element_values

    m, method = element_values(open_store_at(home), dataset, element)
    surf = surface(m, variable=element, grid=grid_name, level=level, method=method)
    if thresholds:
        ts = [float(t) for t in _split(thresholds) or []]
    else:  # --start is a number (mg/kg) or a threshold method such as p85 or tukey
        try:
            first: str | float = float(start)
        except ValueError:
            first = start
        ts = doubling_thresholds(surf, first)
    b = delineate(surf, ts, depth_m=depth or DEFAULT_DEPTH_M,
                  density_t_m3=density or DEFAULT_DENSITY_T_M3)
    show = ["block_id", "parent_id", "threshold", "n_cells", "area_km2", "mean", "metal_t"]
    if known_resource is not None:
        at = None
        if known_at:
            lon, lat = (float(v) for v in known_at.split(","))
            at = (lon, lat)
        bid, k = calibrate(b, known_resource, block_id=known_block, at=at)
        b = predict(b, k, calibrated_on=bid)
        show += ["resource_t"]
    notes = [f"{k}: {v}" for k, v in b.assumptions.items()]
    _emit(b.table, fmt, output, f"{dataset}: {element} geochemical blocks (estimates)", show, notes)
