"""``chemearth analytics spectrum-area`` and ``singularity``: spectrum–area filtering and
the local singularity index of an element's cell surface on a local store.

Each command grids the element's analyses (the cell medians at ``--level``, as ``chemearth
analytics fractal --kind C-A`` does), makes the surface a dense raster
(:func:`chemearth.assess.fractal_zones.surface_raster`) and calls
:func:`chemearth.stats.fractal.spectrum_area` or :func:`chemearth.stats.fractal.singularity`
on it; the result is one row per cell (GeoJSON cell outlines with ``-o x.geojson``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from chemearth.cli.analytics import (
    _GRID,
    _LEVEL,
    _METHOD,
    _cell_outlines,
    _surface,
    analytics,
)
from chemearth.cli.assess import _FORMAT, _OUTPUT, _emit
from chemearth.cli.common import home_option, open_store_at

if TYPE_CHECKING:
    import pandas as pd

    from chemearth.assess.anomalies import Surface

__all__: list[str] = []


def _with_outlines(table: pd.DataFrame, surf: Surface, fmt: str | None,
                   output: Path | None) -> pd.DataFrame:
    geo = fmt == "geojson" or (output is not None and output.suffix.lower() == ".geojson")
    return _cell_outlines(table, surf.grid.name) if geo else table


@analytics.command("spectrum-area")
@click.argument("dataset")
@click.argument("element")
@click.option("--breakpoints", type=click.IntRange(1, 3), default=None,
              help="Number of S-A breakpoints (default: 1 to 3 by BIC).")
@click.option("--split", type=click.IntRange(1, 3), default=None,
              help="Which breakpoint (ascending energy) is the threshold (default: the "
              "highest).")
@click.option("--energy", type=click.FloatRange(min=0, min_open=True), default=None,
              help="The energy threshold S0 instead of a fitted breakpoint.")
@click.option("--curve", "show_curve", is_flag=True,
              help="Print the S-A curve (energy, wavenumber area) instead of the cells.")
@_GRID
@_LEVEL
@_METHOD
@_FORMAT
@_OUTPUT
@home_option
def spectrum_area_command(dataset: str, element: str, breakpoints: int | None,
                          split: int | None, energy: float | None, show_curve: bool,
                          grid_name: str | None, level: str | None, method: str | None,
                          fmt: str | None, output: Path | None,
                          home: Path | str | None) -> None:
    """Spectrum–area (S-A) filtering of ELEMENT's cell surface in DATASET: per cell the
    anomaly (energy <= S0) and background (energy > S0, with the mean) components.

    Wavenumbers are in 1/km; cells without data are filled with the mean for the
    transform (counted in the notes) and left out of the table.
    """
    import pandas as pd

    from chemearth.assess.fractal_zones import cell_table, surface_raster
    from chemearth.stats.fractal import spectrum_area

    store = open_store_at(home)
    surf = _surface(store, dataset, element, grid_name, level, method)
    r = surface_raster(surf)
    sa = spectrum_area(r.values, energy_threshold=energy,
                       n_breakpoints=breakpoints, split=-1 if split is None else split - 1,
                       spacing=surf.level_m / 1000.0)
    title = f"{dataset}: {element} S-A ({surf.method}, {surf.level_m / 1000:g} km cells)"
    notes = [f"energy threshold S0 = {sa.energy_threshold:.6g}"
             + (" (given)" if sa.fit is None else ""),
             f"{sa.n_filled} raster cells without data filled with {sa.fill_value:.6g}"]
    if sa.fit is not None:
        notes += [f"breakpoint {i + 1}: {t:.6g} ({lo:.6g} to {hi:.6g})"
                  for i, (t, lo, hi) in enumerate(zip(sa.fit.thresholds, sa.fit.threshold_low,
                                                      sa.fit.threshold_high, strict=True))]
    if show_curve:
        c = sa.curve
        _emit(pd.DataFrame({"energy": c.levels, "area": c.measure, "fitted": c.fitted}),
              fmt, output, title, notes=notes)
        return
    table = cell_table(surf, r, anomaly=sa.anomaly, background=sa.background)
    _emit(_with_outlines(table, surf, fmt, output), fmt, output, title, notes=notes)


@analytics.command("singularity")
@click.argument("dataset")
@click.argument("element")
@click.option("--windows", default="1,3,5,7,9", show_default=True,
              help="Odd window sides in cells, ascending.")
@_GRID
@_LEVEL
@_METHOD
@_FORMAT
@_OUTPUT
@home_option
def singularity_command(dataset: str, element: str, windows: str, grid_name: str | None,
                        level: str | None, method: str | None, fmt: str | None,
                        output: Path | None, home: Path | str | None) -> None:
    """Local singularity index alpha of every cell of ELEMENT's surface in DATASET (alpha
    < 2 enrichment, > 2 depletion), with its standard error."""
    from chemearth.assess.fractal_zones import cell_table, surface_raster
    from chemearth.stats.fractal import singularity

    try:
        w = [int(x) for x in windows.split(",")]
    except ValueError:
        raise click.UsageError(f"--windows {windows!r}: odd integers such as 1,3,5") from None
    store = open_store_at(home)
    surf = _surface(store, dataset, element, grid_name, level, method)
    r = surface_raster(surf)
    s = singularity(r.values, windows=w)
    table = cell_table(surf, r, alpha=s.alpha, se=s.se, log_density=s.log_density)
    a = table["alpha"]
    notes = [f"windows {', '.join(map(str, s.windows))} cells "
             f"({surf.level_m / 1000:g} km each)",
             f"enrichment (alpha < 2): {(a < 2).sum()} cells; depletion (alpha > 2): "
             f"{(a > 2).sum()}; undefined: {a.isna().sum()}"]
    _emit(_with_outlines(table, surf, fmt, output), fmt, output,
          f"{dataset}: {element} singularity ({surf.method})", notes=notes)
