"""Quality-control commands of the ``chemearth`` tool: qc and level.

They register on :data:`chemearth.cli.cli` when that module is imported.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from chemearth.cli.common import cli, console, home_option, open_store_at, print_table

if TYPE_CHECKING:
    import pandas as pd

__all__: list[str] = []

#: Report columns printed, and their headings.
_SHOWN = {
    "element": "el", "method": "method", "n": "n", "pct_censored": "%<DL", "dl_max": "DL",
    "rsd_field_pct": "RSD field %", "rsd_analytical_pct": "RSD anal. %",
    "between_site_pct": "site %", "sampling_pct": "sampl. %", "analytical_pct": "anal. %",
    "fit_for_mapping": "mappable", "control_rsd_pct": "std RSD %", "control_drift": "drift",
    "batches_rejected": "rej. batches", "levelled": "levelled",
}


def _short(method: str) -> str:
    if not method:
        return "-"
    return method.split(";", maxsplit=1)[0].split("(", maxsplit=1)[0].strip()[:24]


def _read_reference(path: Path | None) -> pd.DataFrame | None:
    if path is None:
        return None
    import pandas as pd

    ref = pd.read_csv(path)
    missing = {"material", "element", "value"} - set(ref.columns)
    if missing:
        raise click.BadParameter(f"{path}: needs columns material, element, value (and "
                                 f"optionally sd); missing {', '.join(sorted(missing))}",
                                 param_hint="--reference")
    return ref


@cli.command()
@click.argument("dataset")
@click.option("--element", "elements", multiple=True,
              help="Only this element (repeat for more).")
@click.option("--threshold", type=click.FloatRange(0, 100), default=20.0, show_default=True,
              help="Largest share (%) of the total variance that sampling plus analytical "
                   "error may take for an element to be fit for mapping.")
@click.option("--reference", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="CSV of certified values: material, element, value[, sd].")
@click.option("--figures", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write Thompson-Howarth plots and control charts (PNG) to this folder.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the report (.csv table, or .json with controls and levelling).")
@home_option
def qc(dataset: str, elements: tuple[str, ...], threshold: float, reference: Path | None,
       figures: Path | None, output: Path | None, home: Path | str | None) -> None:
    """The data-quality report of DATASET.

    For a survey: per element and method the results, % below detection and the detection
    limit; the precision (RSD %) of its field and analytical duplicates; the nested analysis
    of variance (between-site, sampling and analytical shares, and whether the element is
    fit for mapping); the control of its reference materials (RSD %, drift, rejected
    batches); and the levelling applied. The quality-control datasets are those whose
    descriptor's [qc] section names the survey. For a quality-control dataset, its own
    results are analysed.
    """
    from chemearth.qc.report import quality_report

    store = open_store_at(home)
    rep = quality_report(store, dataset, reference=_read_reference(reference),
                         threshold=threshold / 100, elements=list(elements) or None)
    con = console()
    qc_list = ", ".join(f"{d} ({r})" for d, r in sorted(rep.qc.items())) or "none"
    con.print(f"[bold]{dataset}[/] ({rep.kind}{', ' + rep.role if rep.role else ''}); "
              f"quality-control data: {qc_list}")
    table = rep.elements
    shown = table[[c for c in _SHOWN if c in table.columns]].copy()
    shown["method"] = shown["method"].map(_short)
    for c in ("fit_for_mapping", "control_drift"):
        if c in shown.columns:
            shown[c] = shown[c].map(lambda v: "" if v is None or (isinstance(v, float)
                                                                  and math.isnan(v))
                                    else ("yes" if v else "no"))
    if "levelled" in shown.columns:
        shown["levelled"] = shown["levelled"].map(lambda v: "yes" if v else "")
    print_table(shown.rename(columns=_SHOWN).round(2), f"data quality of {dataset}")
    if "fit_for_mapping" in table.columns:
        unfit = table[table["fit_for_mapping"] == False]  # noqa: E712 - NaN is neither
        if len(unfit):
            con.print(f"unfit for mapping (sampling + analytical variance > {threshold:g} % "
                      f"of the total): " + ", ".join(
                          f"{e} ({_short(m)})" for e, m in zip(unfit["element"],
                                                              unfit["method"], strict=True)))
    if not rep.controls.empty:
        ctl = rep.controls.assign(method=rep.controls["method"].map(_short),
                                  drift=rep.controls["drift"].map({True: "yes", False: "no"}))
        print_table(ctl.round(2), "reference materials")
    for lev in rep.levelling:
        con.print(f"levelled: {lev['element']} {_short(lev['source_method'])} -> "
                  f"{lev['target_dataset']} {_short(lev['target_method'])}: "
                  f"{lev['transform']['formula']}; held-out bias "
                  f"{lev['before']['bias_pct']:+.1f} % -> {lev['after']['bias_pct']:+.1f} %")
    if output is not None:
        if output.suffix.lower() == ".json":
            output.write_text(json.dumps(rep.to_dict(), indent=1, default=str))
        elif output.suffix.lower() == ".csv":
            from chemearth.render.export import csv_safe_frame

            csv_safe_frame(table).to_csv(output, index=False)
        else:
            raise click.UsageError("output must end in .csv or .json")
        click.echo(f"wrote {output}")
    if figures is not None:
        n = _write_figures(store, dataset, rep.qc, list(elements) or None, figures)
        click.echo(f"wrote {n} figures to {figures}")


def _write_figures(store: Any, dataset: str, roles: dict[str, str],
                   elements: list[str] | None, folder: Path) -> int:
    """Thompson-Howarth plots of every duplicates dataset and control charts of every
    reference-material dataset; returns how many were written."""
    from chemearth.errors import StatisticsError
    from chemearth.qc.report import control_results, control_table, duplicate_pairs, qc_spec
    from chemearth.render.plots import figure_png
    from chemearth.render.qcplots import control_figure, thompson_howarth_figure

    folder.mkdir(parents=True, exist_ok=True)
    n = 0
    for d, role in sorted(roles.items()):
        spec = qc_spec(store, d)
        if spec is None:
            continue
        if role == "reference-material":
            charts, batches, _ = control_table(control_results(store, d, spec, elements), spec)
            for (c_el, c_meth, c_unit), chs in charts.items():
                for ch in chs:
                    name = _file(d, c_el, c_meth, ch.material)
                    (folder / f"control_{name}.png").write_bytes(figure_png(control_figure(
                        ch, element=c_el, unit=c_unit, batches=batches[(c_el, c_meth, c_unit)],
                        title=f"{d}: {ch.material}, {_short(c_meth)}")))
                    n += 1
            continue
        pairs = duplicate_pairs(store, d, spec, elements)
        for (el, meth, unit), g in pairs.groupby(["element", "method", "unit"]):
            try:
                fig = thompson_howarth_figure(g["a"], g["b"], censored_a=g["censored_a"],
                                              censored_b=g["censored_b"], element=str(el),
                                              unit=str(unit),
                                              title=f"{d}: {el}, {_short(str(meth))}")
            except StatisticsError:
                continue
            (folder / f"th_{_file(d, el, meth)}.png").write_bytes(figure_png(fig))
            n += 1
    return n


def _file(*parts: Any) -> str:
    import re

    return "_".join(re.sub(r"[^A-Za-z0-9.-]+", "-", _short(str(p)) if i == 2 else str(p))
                    .strip("-") for i, p in enumerate(parts) if str(p))


@cli.command()
@click.argument("dataset")
@click.argument("element")
@click.option("--from", "source", required=True, help="Analytical method of the values to "
              "level, as stored (see `chemearth show DATASET`).")
@click.option("--to", "target", required=True, help="Analytical method to level them to.")
@click.option("--against", default=None,
              help="Dataset of the target method (overlapping samples matched by sample id; "
                   "default: DATASET itself, samples analysed by both methods).")
@click.option("--transform", "kind", type=click.Choice(["ratio", "rma", "robust"]),
              default="rma", show_default=True,
              help="Ratio, reduced major axis, or reduced major axis with outliers trimmed.")
@click.option("--linear", is_flag=True, help="Fit on values instead of log10 values.")
@click.option("--holdout", type=click.FloatRange(0, 1, max_open=True), default=0.3,
              show_default=True, help="Share of pairs held out to check the levelling.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the split.")
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the before/after plot (PNG or SVG).")
@click.option("--apply", "apply_", is_flag=True,
              help="Write a new version of DATASET with the levelled values added and the "
                   "levelling recorded in its provenance.")
@home_option
def level(dataset: str, element: str, source: str, target: str, against: str | None,
          kind: str, linear: bool, holdout: float, seed: int, plot: Path | None,
          apply_: bool, home: Path | str | None) -> None:
    """Level ELEMENT of DATASET from one method (or survey) to another.

    Fits the transform on part of the pairs and prints the bias of the held-out pairs
    before and after. With --apply the levelled values become an extra analyte column of a
    new dataset version (method "<from>; levelled to <to>"); the original values are kept.
    Rebuild the grids afterwards (`chemearth grid DATASET`).
    """
    from chemearth.qc.levelling import apply_levelling
    from chemearth.qc.levelling import level as fit_level

    store = open_store_at(home)
    lev = fit_level(store, dataset, element, source, target, target_dataset=against,
                    kind=kind, log=not linear, holdout=holdout, seed=seed)
    con = console()
    t = lev.transform
    con.print(f"[bold]{dataset} {element}[/]: {source} -> "
              f"{(against + ': ') if against else ''}{target}")
    con.print(f"{kind} on {'log10 ' if t.log else ''}values: {t.describe()} "
              f"(fitted on {lev.n_train} pairs, {t.n} used; r = {t.r:.3f})")
    import pandas as pd

    rows = pd.DataFrame([{"": "before", **lev.before}, {"": "after", **lev.after}])
    print_table(rows.round(4), f"agreement with the target on {lev.n_test or lev.n_train} "
                 + ("held-out pairs" if lev.n_test else "pairs (nothing held out)"))
    if plot is not None:
        from chemearth.qc.levelling import paired_values
        from chemearth.render.plots import figure_png, figure_svg
        from chemearth.render.qcplots import levelling_figure

        pairs = paired_values(store, dataset, element, source, target, against)
        fig = levelling_figure(pairs["x"], pairs["y"], t, element=element, unit=lev.unit,
                               source=_short(source), target=_short(target))
        plot.write_bytes(figure_svg(fig) if plot.suffix.lower() == ".svg" else figure_png(fig))
        click.echo(f"wrote {plot}")
    if apply_:
        version = apply_levelling(store, lev)
        click.echo(f"{dataset} v{version}: {element} by {lev.method!r} added; "
                   f"rebuild its grids with `chemearth grid {dataset}`")
