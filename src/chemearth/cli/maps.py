"""Map commands of the ``chemearth`` tool: interpolate, map, atlas.

They register on :data:`chemearth.cli.cli` when that module is imported.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from chemearth.cli.common import (
    cli,
    console,
    home_option,
    load_settings,
    open_store_at,
    print_table,
    progress,
)

if TYPE_CHECKING:
    from chemearth.interp.surfaces import Interpolation
    from chemearth.store import Store

__all__: list[str] = []


def _variogram(text: str | None) -> Any:
    """``"spherical,0.05,0.59,897"`` (model, nugget, partial sill, range in m) or None."""
    if not text:
        return None
    from chemearth.interp.variogram import from_dict

    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 4:
        raise click.BadParameter("give MODEL,NUGGET,PSILL,RANGE, e.g. spherical,0.05,0.6,900",
                                 param_hint="--variogram")
    try:
        return from_dict(dict(zip(("model", "nugget", "psill", "range"), parts, strict=True)))
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--variogram") from None


_INTERP_OPTIONS = [
    click.option("--interpolation", "how", type=click.Choice(["kriging", "idw"]),
                 default="kriging", show_default=True, help="Ordinary kriging or IDW."),
    click.option("--log/--no-log", default=None,
                 help="Interpolate ln(values) and back-transform (default: yes for kriging, "
                      "with the lognormal correction; no for IDW)."),
    click.option("--model", type=click.Choice(["auto", "spherical", "exponential", "gaussian"]),
                 default="auto", show_default=True, help="Variogram model to fit."),
    click.option("--variogram", "vg_text", default=None,
                 help="Fix the variogram instead: MODEL,NUGGET,PSILL,RANGE_M."),
    click.option("--neighbours", type=click.IntRange(1, 500), default=32, show_default=True,
                 help="Nearest samples per estimate."),
    click.option("--radius", type=click.FloatRange(min=0, min_open=True), default=None,
                 help="Only samples within this distance (m)."),
    click.option("--power", type=click.FloatRange(min=0, min_open=True), default=2.0,
                 show_default=True, help="IDW exponent."),
    click.option("--method", "analytical", default=None,
                 help="Analytical method as stored (default: closest to a total)."),
]


def _interp_options(f: Any) -> Any:
    for opt in reversed(_INTERP_OPTIONS):
        f = opt(f)
    return f


def _fit(store: Store, dataset: str, element: str, how: str, log: bool | None, model: str,
         vg_text: str | None, neighbours: int, radius: float | None, power: float,
         analytical: str | None, folds: int | None = None) -> Interpolation:
    from chemearth.interp.surfaces import interpolate

    return interpolate(store, dataset, element, analytical_method=analytical, method=how,
                       log=log, model=model, variogram=_variogram(vg_text),
                       neighbours=neighbours, radius=radius, power=power, folds=folds)


@cli.command()
@click.argument("dataset")
@click.argument("element")
@_interp_options
@click.option("--grid", default="global", show_default=True, help="global or europe.")
@click.option("--level", default=None, help="Estimate the cells of this level (e.g. 10km).")
@click.option("--resolution", type=float, default=None,
              help="Raster pixel size in metres (for .tif/.nc output; default automatic).")
@click.option("--folds", type=click.IntRange(2, None), default=None,
              help="k-fold cross-validation (default: leave-one-out).")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Write cells (.csv, .parquet) or a raster (.tif, .nc).")
@home_option
def interpolate(dataset: str, element: str, how: str, log: bool | None, model: str,
                vg_text: str | None, neighbours: int, radius: float | None, power: float,
                analytical: str | None, grid: str, level: str | None,
                resolution: float | None, folds: int | None, output: Path | None,
                home: Path | str | None) -> None:
    """Interpolate ELEMENT of DATASET: variogram, cross-validation, and a surface.

    Prints the fitted variogram and the cross-validation errors (RMSE, MAE, bias). With
    --level the cells of that grid level are block-kriged; with a .tif or .nc output a
    raster in a Lambert azimuthal equal-area plane centred on the data is written.
    """
    store = open_store_at(home)
    ip = _fit(store, dataset, element, how, log, model, vg_text, neighbours, radius, power,
              analytical, folds)
    d = ip.describe()
    con = console()
    con.print(f"[bold]{dataset} {element}[/] ({d['method']}; {d['n_samples']} samples, "
              f"{d['n_censored']} below DL at {d['censored_factor']:g} x DL)")
    con.print(f"{d['interpolation']}{' of ln values' if d['log'] else ''}, "
              f"{d['neighbours']} neighbours; plane: {d['crs']}")
    if ip.variogram is not None:
        con.print(f"variogram: {ip.variogram.describe()}")
    cv = d["cross_validation"]
    con.print(f"cross-validation ({cv['folds']}): RMSE {cv['rmse']:.4g}, MAE {cv['mae']:.4g}, "
              f"bias {cv['bias']:.4g} {ip.unit}"
              + (f"; ln scale RMSE {cv['rmse_transformed']:.4g}" if d["log"] else ""))
    if output is None and level is None:
        return
    suffix = output.suffix.lower() if output else ""
    if suffix in (".tif", ".tiff", ".nc"):
        _write_raster(ip.raster(resolution), output)  # type: ignore[arg-type]
        return
    cells = ip.cells(grid, level or "10km")
    if output is None:
        print_table(cells.drop(columns=["cell_key"]).head(20),
                     f"{len(cells)} cells of {level} (first 20)")
    elif suffix == ".parquet":
        cells.to_parquet(output, index=False)
        click.echo(f"wrote {output} ({len(cells)} cells)")
    elif suffix == ".csv":
        from chemearth.render.export import csv_safe_frame

        csv_safe_frame(cells).to_csv(output, index=False)
        click.echo(f"wrote {output} ({len(cells)} cells)")
    else:
        raise click.UsageError("output must end in .csv, .parquet, .tif or .nc")


def _write_raster(ds: Any, path: Path) -> None:
    """A surface raster to GeoTIFF (estimate and variance bands) or NetCDF."""
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin

    if path.suffix.lower() == ".nc":
        ds.to_netcdf(path, engine="h5netcdf")
        click.echo(f"wrote {path}")
        return
    x, y = ds["x"].to_numpy(), ds["y"].to_numpy()
    res = float(x[1] - x[0]) if x.size > 1 else float(ds.attrs["resolution_m"])
    transform = from_origin(float(x[0]) - res / 2, float(y[0]) + res / 2, res, res)
    with rasterio.open(path, "w", driver="GTiff", width=x.size, height=y.size, count=2,
                       dtype="float64", crs=ds.attrs["crs"], transform=transform,
                       nodata=np.nan, compress="deflate") as dst:
        dst.write(ds["estimate"].to_numpy(), 1)
        dst.write(ds["variance"].to_numpy(), 2)
        dst.set_band_description(1, f"{ds.attrs['element']} estimate ({ds.attrs['unit']})")
        dst.set_band_description(2, "kriging variance")
        dst.update_tags(description=ds.attrs["description"])
    click.echo(f"wrote {path}")


@cli.command(name="map")
@click.argument("dataset")
@click.argument("element")
@click.option("--kind", type=click.Choice(["points", "cells", "surface"]), default="points",
              show_default=True, help="Samples, grid cells, or an interpolated surface.")
@click.option("--scale", type=click.Choice(["classes", "continuous"]), default="classes",
              show_default=True, help="Cumulative-frequency classes or a continuous scale.")
@click.option("--grid", default=None,
              help="Grid of --kind cells (default: europe for data in Europe, else global).")
@click.option("--level", default="20km", show_default=True, help="Level of --kind cells.")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True)
@_interp_options
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="The map: .png, .pdf or .svg.")
@home_option
def map_(dataset: str, element: str, kind: str, scale: str, grid: str | None, level: str, lang: str,
         how: str, log: bool | None, model: str, vg_text: str | None, neighbours: int,
         radius: float | None, power: float, analytical: str | None, output: Path,
         home: Path | str | None) -> None:
    """Draw a map of ELEMENT of DATASET to a PNG, PDF (vector) or SVG file."""
    from chemearth.render.atlas import element_map

    if output.suffix.lower() not in (".png", ".pdf", ".svg"):
        raise click.UsageError("the map must be a .png, .pdf or .svg file")
    store = open_store_at(home)
    fig = element_map(store, dataset, element, kind=kind, scale=scale, grid=grid, level=level,
                      lang=lang, boundaries=load_settings().boundaries,
                      analytical_method=analytical,
                      interpolation={"method": how, "log": log, "model": model,
                                     "variogram": _variogram(vg_text),
                                     "neighbours": neighbours, "radius": radius,
                                     "power": power})
    fig.savefig(output, dpi=200 if output.suffix.lower() == ".png" else 100)
    click.echo(f"wrote {output}")


@cli.command()
@click.option("--dataset", required=True, help="The dataset id.")
@click.option("--elements", default=None,
              help="Comma-separated elements (default: every element of the dataset).")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True)
@click.option("--kind", type=click.Choice(["points", "cells", "surface"]), default="surface",
              show_default=True, help="The map on each element page.")
@click.option("--grid", default=None,
              help="Grid of --kind cells (default: europe for data in Europe, else global).")
@click.option("--level", default="20km", show_default=True, help="Level of --kind cells.")
@click.option("--analytics", is_flag=True,
              help="Add a C-A fractal page per element and the robust factor pages.")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="The atlas PDF.")
@home_option
def atlas(dataset: str, elements: str | None, lang: str, kind: str, grid: str | None, level: str,
          analytics: bool, output: Path, home: Path | str | None) -> None:
    """Make a printable atlas of DATASET: cover, contents, methods, one page per element
    (map, distribution plot, statistics) and a summary table, as a vector PDF; with
    --analytics also C-A fractal pages (thresholds, anomaly zones) and factor maps."""
    from chemearth.render.atlas import make_atlas

    store = open_store_at(home)
    wanted = [e.strip() for e in elements.split(",") if e.strip()] if elements else None
    with progress(sys.stderr.isatty()) as tick:
        report = make_atlas(store, dataset, output, elements=wanted, lang=lang, kind=kind,
                            grid=grid, level=level, boundaries=load_settings().boundaries,
                            progress=tick, analytics=analytics)
    click.echo(f"wrote {output} ({report.pages} pages, {len(report.elements)} elements)")
    for note in report.notes:
        console().print(f"[yellow]note:[/] {note}")
