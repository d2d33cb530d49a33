"""``chemearth analytics``: fractal thresholds and zones, compositional analysis, spider
diagrams, probabilistic screening and censored trend and change tests on a local store.

Each command reads the store, calls one function of the core (``chemearth.stats.fractal``,
``chemearth.assess.fractal_zones``, ``chemearth.stats.compositional_factors``,
``chemearth.stats.spider``, ``chemearth.assess.probabilistic``,
``chemearth.assess.calibration``, ``chemearth.assess.change_significance``,
``chemearth.stats.trends``) and prints or writes its result as a table, CSV, JSON or
GeoJSON (``-o``). The commands register on :data:`chemearth.cli.cli` when this module is
imported; heavy imports stay inside them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from chemearth.cli.assess import _FORMAT, _OUTPUT, _emit, _split
from chemearth.cli.common import cli, home_option, local_home, open_store_at

if TYPE_CHECKING:
    import pandas as pd

    from chemearth.assess.anomalies import Surface
    from chemearth.stats.fractal import FractalFit
    from chemearth.store import Store

__all__: list[str] = []

_GRID = click.option("--grid", "grid_name", type=click.Choice(["global", "europe"]),
                     default=None, help="Default: Europe for data mostly in Europe.")
_LEVEL = click.option("--level", default=None,
                      help="Cell size such as 10km (default: from the sample spacing).")
_METHOD = click.option("--method", default=None,
                       help="Analytical method as stored (default: the most total).")
_SEED = click.option("--seed", type=int, default=0, show_default=True,
                     help="Random seed (bootstrap, MCD, folds).")


@cli.group()
def analytics() -> None:
    """Fractal anomaly separation, compositional analysis, probabilistic screening and
    censored trend tests of the datasets in a store."""


# ------------------------------------------------------------------ data plumbing


def _surface(store: Store, dataset: str, element: str, grid: str | None, level: str | None,
             method: str | None) -> Surface:
    from chemearth.assess.anomalies import surface
    from chemearth.store.selectors import element_values

    m, meth = element_values(store, dataset, element, method)
    return surface(m, variable=element, grid=grid, level=level, method=meth)


def _wide(store: Store, dataset: str, elements: list[str]
          ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Samples (id, longitude, latitude), values and censored flags, one column per element
    (by each element's most total method), indexed by sample id."""
    import pandas as pd

    from chemearth.store.selectors import element_values

    values, cens, where = {}, {}, []
    for el in elements:
        m, _ = element_values(store, dataset, el)
        m = m.drop_duplicates("sample_id").set_index("sample_id")
        units = set(m["unit"].astype(str))
        if units != {"mg/kg"}:
            raise click.UsageError(f"{dataset}: {el} is in {', '.join(sorted(units))}, "
                                   "not mg/kg")
        values[el], cens[el] = m["value"].astype(float), m["censored"].astype(bool)
        where.append(m[["longitude", "latitude"]])
    v = pd.DataFrame(values)
    c = pd.DataFrame(cens).reindex(v.index).fillna(False).astype(bool)
    loc = pd.concat(where)
    loc = loc[~loc.index.duplicated()].reindex(v.index)
    return loc, v, c


def _points(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with a ``geometry`` column of points at its longitude and latitude."""
    import shapely

    return frame.assign(geometry=list(shapely.points(frame["longitude"].to_numpy(float),
                                                     frame["latitude"].to_numpy(float))))


def _cell_outlines(frame: pd.DataFrame, grid: str) -> pd.DataFrame:
    """The frame with a ``geometry`` column of its cells' outlines (WGS84)."""
    from chemearth.grid.geometry import get_grid

    g = get_grid(grid)
    return frame.assign(geometry=list(g.cell_polygons(frame["cell_id"].to_numpy(),
                                                      to_wgs84=True)))


# ------------------------------------------------------------------ fractal


def _threshold_table(fit: FractalFit, boot: Any = None) -> pd.DataFrame:
    import pandas as pd

    f = fit.fit
    rows = []
    for i, t in enumerate(fit.thresholds):
        row = {"breakpoint": i + 1, "threshold": float(t),
               "threshold_low": float(fit.threshold_low[i]),
               "threshold_high": float(fit.threshold_high[i]),
               "log10_breakpoint": float(f.breakpoints[i]), "log10_se": float(f.se[i]),
               "slope_below": float(f.slopes[i]), "slope_above": float(f.slopes[i + 1])}
        if boot is not None:
            row.update(boot_low=float(boot.low[i]), boot_high=float(boot.high[i]))
        rows.append(row)
    return pd.DataFrame(rows)


@analytics.command()
@click.argument("dataset")
@click.argument("element")
@click.option("--kind", type=click.Choice(["C-N", "C-A"], case_sensitive=False), default="C-A",
              show_default=True, help="Concentration–number of the samples, or "
              "concentration–area of the cell surface.")
@click.option("--breakpoints", type=click.IntRange(1, 3), default=None,
              help="Number of breakpoints (default: 1 to 3 by BIC).")
@click.option("--bootstrap", "n_boot", type=click.IntRange(min=0), default=0,
              help="Also percentile intervals from this many bootstrap refits (≥ 10).")
@click.option("--confidence", type=click.FloatRange(0, 1, min_open=True, max_open=True),
              default=0.95, show_default=True)
@click.option("--curve", "show_curve", is_flag=True,
              help="Print the log–log curve and its fitted line instead of thresholds.")
@_GRID
@_LEVEL
@_METHOD
@_SEED
@_FORMAT
@_OUTPUT
@home_option
def fractal(dataset: str, element: str, kind: str, breakpoints: int | None, n_boot: int,
            confidence: float, show_curve: bool, grid_name: str | None, level: str | None,
            method: str | None, seed: int, fmt: str | None, output: Path | None,
            home: Path | str | None) -> None:
    """C-N or C-A thresholds of ELEMENT in DATASET: breakpoints of a segmented log–log fit
    with their confidence intervals (delta method; --bootstrap for resampled ones).

    C-A uses the cell medians at --level (areas in km²); values below the detection limit
    are never counted as measured, so no threshold below the highest DL is reported.
    """
    import numpy as np
    import pandas as pd

    from chemearth.assess.fractal_zones import concentration_area_of, surface_raster
    from chemearth.stats.fractal import bootstrap_thresholds, concentration_number
    from chemearth.store.selectors import element_values

    store = open_store_at(home)
    kind = kind.upper()
    if kind == "C-N":
        m, used = element_values(store, dataset, element, method)
        v, c = m["value"].to_numpy(float), m["censored"].to_numpy(bool)
        fit = concentration_number(v, c, n_breakpoints=breakpoints, confidence=confidence)
        unit, where = 1.0, f"{len(v)} samples"
    else:
        surf = _surface(store, dataset, element, grid_name, level, method)
        used = surf.method
        fit = concentration_area_of(surf, n_breakpoints=breakpoints, confidence=confidence)
        r = surface_raster(surf)
        ok = np.isfinite(r.values)
        v, c, unit = r.values[ok], r.censored[ok], surf.cell_area_km2
        where = f"{ok.sum()} cells of {surf.level_m / 1000:g} km on the {surf.grid.name} grid"
    title = f"{dataset}: {element} {kind} ({used})"
    if show_curve:
        fc = fit.curve
        table = pd.DataFrame({"level": fc.levels, "measure": fc.measure,
                              "measure_max": fc.measure_max, "fitted": fc.fitted})
        x = np.log10(fc.levels)
        table["line"] = np.where(fc.fitted, 10.0 ** fit.fit.predict(x), np.nan)
        _emit(table, fmt, output, title)
        return
    boot = None
    if n_boot:
        boot = bootstrap_thresholds(v, c, n_breakpoints=fit.fit.n_breakpoints, kind=kind,
                                    unit=unit, n_boot=n_boot, confidence=confidence,
                                    seed=seed)
    notes = [f"{where}; {fit.fit.n} curve points fitted, BIC {fit.fit.bic:.4g}, "
             f"converged: {fit.fit.converged}",
             "delta-method intervals take the curve points as independent: a lower bound"]
    if boot is not None:
        notes.append(f"bootstrap: {boot.n_boot - boot.n_failed} of {boot.n_boot} refits")
    if fit.curve.n_censored:
        notes.append(f"{fit.curve.n_censored} censored values; highest DL "
                     f"{fit.curve.dl_max:.4g}")
    _emit(_threshold_table(fit, boot), fmt, output, title, notes=notes)


def _thresholds_of(surfs: dict[str, Surface], threshold: str, breakpoint_no: int
                   ) -> dict[str, float]:
    """Each surface's threshold: a number (one element only), its fitted C-A threshold
    (``ca``) or a threshold method of its samples (``tukey``, ``p85``…)."""
    from chemearth.assess.anomalies import threshold_of
    from chemearth.assess.fractal_zones import concentration_area_of

    try:
        number = float(threshold)
    except ValueError:
        number = None
    out = {}
    for el, s in surfs.items():
        if number is not None:
            if len(surfs) > 1:
                raise click.UsageError("a composite anomaly takes a threshold per element: "
                                       "use --threshold ca or a method such as tukey")
            out[el] = number
        elif threshold.lower() == "ca":
            t = concentration_area_of(s).thresholds
            if breakpoint_no > len(t):
                raise click.UsageError(f"the C-A fit of {el} has {len(t)} breakpoint(s), "
                                       f"not {breakpoint_no}")
            out[el] = float(t[breakpoint_no - 1])
        else:
            out[el] = threshold_of(s.samples["value"].to_numpy(float),
                                   s.samples["censored"].to_numpy(bool), method=threshold)
    return out


@analytics.command()
@click.argument("dataset")
@click.argument("element")
@click.option("--threshold", default="ca", show_default=True,
              help="mg/kg, 'ca' (the fitted C-A threshold) or a method (tukey, p85 …).")
@click.option("--breakpoint", "breakpoint_no", type=click.IntRange(1, 3), default=1,
              show_default=True, help="With --threshold ca: which C-A breakpoint.")
@click.option("--composite", default=None,
              help="More elements (El1,El2): composite anomaly, each at its own threshold.")
@click.option("--cells", "per_cell", is_flag=True, help="One row per cell, not polygons.")
@_GRID
@_LEVEL
@_FORMAT
@_OUTPUT
@home_option
def zones(dataset: str, element: str, threshold: str, breakpoint_no: int,
          composite: str | None, per_cell: bool, grid_name: str | None, level: str | None,
          fmt: str | None, output: Path | None, home: Path | str | None) -> None:
    """Outer, middle and inner anomaly zones of ELEMENT (1, 2 and 4 times the threshold)
    as polygons (GeoJSON with -o x.geojson), or with --composite the number of elements
    anomalous in each cell."""
    from chemearth.assess.fractal_zones import composite_anomalies, zone_layer, zone_polygons

    store = open_store_at(home)
    els = list(dict.fromkeys([element, *(_split(composite) or [])]))
    surfs = {els[0]: _surface(store, dataset, els[0], grid_name, level, None)}
    first = surfs[els[0]]
    for el in els[1:]:
        surfs[el] = _surface(store, dataset, el, first.grid.name, str(first.level_m), None)
    thr = _thresholds_of(surfs, threshold, breakpoint_no)
    where = f"{first.level_m / 1000:g} km {first.grid.name} cells"
    notes = [f"{el} threshold {t:.4g} mg/kg ({threshold})" for el, t in thr.items()]
    if len(els) > 1:
        comp = composite_anomalies({el: (surfs[el], thr[el]) for el in els})
        if per_cell:
            _emit(comp.cells, fmt, output, f"{dataset}: composite of {', '.join(els)}",
                  notes=notes)
        else:
            _emit(comp.polygons, fmt, output, f"{dataset}: composite anomaly of "
                  f"{', '.join(els)} ({where})", ["zone", "name", "n_cells", "area_km2"],
                  notes)
        return
    if per_cell:
        _emit(zone_layer(first, thr[element]), fmt, output,
              f"{dataset}: {element} zones ({where})", notes=notes)
        return
    _emit(zone_polygons(first, thr[element]), fmt, output,
          f"{dataset}: {element} anomaly zones ({where})",
          ["zone", "name", "lower", "n_cells", "area_km2"], notes)


# ------------------------------------------------------------------ compositions


@analytics.command()
@click.argument("dataset")
@click.argument("elements")
@click.option("--factors", type=click.IntRange(min=1), default=None,
              help="Robust factor analysis with this many factors (varimax).")
@click.option("--outliers", is_flag=True,
              help="Per sample: robust Mahalanobis distance and the outlier flag.")
@click.option("--classical", is_flag=True, help="Mean and sample covariance, not MCD.")
@_SEED
@_FORMAT
@_OUTPUT
@home_option
def compositional(dataset: str, elements: str, factors: int | None, outliers: bool,
                  classical: bool, seed: int, fmt: str | None, output: Path | None,
                  home: Path | str | None) -> None:
    """Robust PCA of the composition ELEMENTS (comma-separated) in clr space: the share of
    variance each component explains and the loadings; --factors k for robust factor
    loadings; --outliers for each sample's robust distance (GeoJSON points with -o).

    Values below the detection limit enter as 0.65 × DL (multiplicative replacement);
    samples lacking an element are left out and counted.
    """
    import pandas as pd

    from chemearth.stats.compositional import parts_of, robust_distances
    from chemearth.stats.compositional_factors import robust_factors, robust_pca

    els = _split(elements) or []
    if len(els) < 3:
        raise click.UsageError("a composition needs at least 3 elements")
    loc, v, c = _wide(open_store_at(home), dataset, els)
    parts = parts_of(v, els, c)
    notes = [f"{len(parts.rows)} samples used, {len(parts.missing_rows)} left out "
             "(an element missing)"]
    if outliers:
        rd = robust_distances(parts, random_state=seed)
        table = loc.loc[parts.rows].join(rd.samples).rename_axis("sample_id").reset_index()
        notes.append(f"cut-off {rd.cutoff:.4g} (chi-square {rd.quantile:g}, "
                     f"{len(els) - 1} df); {int(table['outlier'].sum())} outliers")
        _emit(_points(table), fmt, output, f"{dataset}: robust distances",
              ["sample_id", "longitude", "latitude", "robust_distance", "outlier"], notes)
        return
    if factors is not None:
        fa = robust_factors(parts, factors, robust=not classical, random_state=seed)
        table = fa.loadings.join(fa.communalities).join(fa.uniquenesses)
        table = table.rename_axis("element").reset_index()
        notes.append("explained: " + ", ".join(f"{n} {e:.1%}" for n, e in
                                                zip(fa.loadings.columns, fa.explained,
                                                    strict=True)))
        _emit(table, fmt, output, f"{dataset}: {'robust ' * (not classical)}factors",
              notes=notes)
        return
    pca = robust_pca(parts, robust=not classical, random_state=seed)
    explained = pd.DataFrame([pca.explained], columns=pca.loadings.columns,
                             index=["explained"])
    table = pd.concat([explained, pca.loadings]).rename_axis("element").reset_index()
    _emit(table, fmt, output, f"{dataset}: {'robust ' * (not classical)}PCA (clr)",
          notes=notes)


@analytics.command()
@click.argument("dataset")
@click.option("--reference", default="PAAS", show_default=True,
              help="PAAS, NASC, UCC, BCC … (chemearth.reference.compositions).")
@click.option("--elements", default=None,
              help="Comma-separated, in diagram order (default: the REE the dataset holds).")
@click.option("--samples", "per_sample", is_flag=True,
              help="One row per sample instead of the medians.")
@_FORMAT
@_OUTPUT
@home_option
def spider(dataset: str, reference: str, elements: str | None, per_sample: bool,
           fmt: str | None, output: Path | None, home: Path | str | None) -> None:
    """Spider (REE) diagram values of DATASET normalised to a reference composition, with
    Eu/Eu* and Ce/Ce*: the median and quartiles per element, or per sample."""
    import pandas as pd

    from chemearth.stats.spider import REE, normalise

    store = open_store_at(home)
    els = _split(elements)
    if els is None:
        held = set(store.measurement_columns(dataset)["element"].astype(str))
        els = [e for e in REE if e in held]
        if not els:
            raise click.UsageError(f"dataset {dataset!r} holds no rare earth element: "
                                   "name the elements with --elements")
    loc, v, c = _wide(store, dataset, els)
    n = normalise(v, reference, elements=els, censored=c)
    if per_sample:
        _emit(loc.join(n).rename_axis("sample_id").reset_index(), fmt, output,
              f"{dataset} / {n.attrs['reference']}")
        return
    table = pd.DataFrame({"element": list(n.columns), "n": n.notna().sum().to_numpy(),
                          "median": n.median().to_numpy(),
                          "p25": n.quantile(0.25).to_numpy(),
                          "p75": n.quantile(0.75).to_numpy()})
    notes = [f"{k}: {f}" for k, f in n.attrs["anomaly_formulas"].items()]
    _emit(table, fmt, output, f"{dataset}: normalised to {n.attrs['reference']}",
          notes=[*notes, "values below the DL are left out", n.attrs["citation"]])


# ------------------------------------------------------------------ probabilities


@analytics.command()
@click.argument("dataset")
@click.argument("element")
@click.option("--limit", type=click.FloatRange(0, min_open=True), default=None,
              help="mg/kg (or use --standard).")
@click.option("--standard", "standard_id", default=None,
              help="A standard id (see `chemearth standards`).")
@click.option("--standard-level", default="screening", show_default=True)
@click.option("--land-use", default=None)
@click.option("--ph", type=float, default=None,
              help="pH for pH-banded limits (default: the most protective band).")
@click.option("--grid", "grid_name", type=click.Choice(["global", "europe"]),
              default="global", show_default=True)
@click.option("--level", default="10km", show_default=True, help="Cell size.")
@click.option("--quantity", type=click.Choice(["true", "measured"]), default=None,
              help="Screen the soil (true) or a new analysis (measured); default: true, "
              "and measured with --calibrate.")
@click.option("--p-lo", type=float, default=0.1, show_default=True)
@click.option("--p-hi", type=float, default=0.9, show_default=True)
@click.option("--no-qc", is_flag=True, help="Leave out the QC duplicates' precision.")
@click.option("--calibrate", is_flag=True,
              help="Print the held-out calibration table of the samples instead.")
@click.option("--folds", type=click.IntRange(min=2), default=5, show_default=True)
@click.option("--counts", "only_counts", is_flag=True, help="Only the counts per band.")
@_METHOD
@_SEED
@_FORMAT
@_OUTPUT
@home_option
def probability(dataset: str, element: str, limit: float | None, standard_id: str | None,
                standard_level: str, land_use: str | None, ph: float | None, grid_name: str,
                level: str, quantity: str | None, p_lo: float, p_hi: float, no_qc: bool,
                calibrate: bool, folds: int, only_counts: bool, method: str | None,
                seed: int, fmt: str | None, output: Path | None,
                home: Path | str | None) -> None:
    """Probability that each cell of ELEMENT exceeds a limit (lognormal kriging and the
    precision of the dataset's QC duplicates), in bands: probably above (P ≥ p-hi),
    uncertain, probably below (P ≤ p-lo). --calibrate checks those probabilities on
    held-out samples."""
    from chemearth.assess.probabilistic import screen_dataset
    from chemearth.reference.standards import get_standard

    if (limit is None) == (standard_id is None):
        raise click.UsageError("give either --limit or --standard")
    std = get_standard(standard_id, local_home(home)) if standard_id else None
    store = open_store_at(home)
    if calibrate:
        _calibrate(store, dataset, element, method, limit, std, standard_level, land_use, ph,
                   quantity or "measured", None if no_qc else "qc", folds, seed, p_lo, p_hi,
                   fmt, output)
        return
    s = screen_dataset(store, dataset, element, grid_name, level, limit=limit, standard=std,
                       level=standard_level, land_use=land_use, ph=ph,
                       precision=None if no_qc else "qc",
                       quantity="measured" if quantity == "measured" else "true",
                       p_lo=p_lo, p_hi=p_hi, analytical_method=method)
    m = s.model
    notes = [f"precision: {m.get('precision_source')}"
             + (f" (RSD {m['rsd']:.3g})" if m.get("rsd") else ""),
             ", ".join(f"{r.n} {r.band}" for r in s.counts().itertuples())]
    title = f"{dataset}: P({element} > limit), {level} cells ({m.get('method')})"
    if only_counts:
        _emit(s.counts(), fmt, output, title, notes=notes)
        return
    table = s.frame.drop(columns=["key"])
    if (fmt or "") == "geojson" or (output is not None and output.suffix == ".geojson"):
        table = _cell_outlines(table, grid_name)
    _emit(table, fmt, output, title, ["cell_id", "estimate", "median", "limit",
                                      "probability", "band"], notes)


def _calibrate(store: Store, dataset: str, element: str, method: str | None,
               limit: float | None, std: Any, standard_level: str, land_use: str | None,
               ph: float | None, quantity: str, precision: str | None, folds: int,
               seed: int, p_lo: float, p_hi: float, fmt: str | None,
               output: Path | None) -> None:
    """Held-out calibration of the probabilities of one element of a dataset."""
    from chemearth.assess.calibration import calibration
    from chemearth.assess.probabilistic import MeasurementPrecision, precision_of
    from chemearth.errors import NotFoundError
    from chemearth.interp.projections import local_crs, to_local
    from chemearth.store.selectors import element_values

    m, used = element_values(store, dataset, element, method)
    lon, lat = m["longitude"].to_numpy(float), m["latitude"].to_numpy(float)
    x, y = to_local(local_crs(lon, lat), lon, lat)
    prec: MeasurementPrecision | None = None
    source = "none"
    if precision == "qc":
        try:
            prec = precision_of(store, dataset, element, used)
            source = prec.source
        except NotFoundError as exc:
            source = f"none: {exc}"
    cal = calibration(x, y, m["value"].to_numpy(float), censored=m["censored"].to_numpy(bool),
                      limit=limit, standard=std, element=element if std else None,
                      level=standard_level, land_use=land_use, ph=ph, precision=prec,
                      quantity="true" if quantity == "true" else "measured", folds=folds,
                      seed=seed, p_lo=p_lo, p_hi=p_hi)
    _emit(cal.table, fmt, output,
          f"{dataset}: {element} calibration on held-out samples ({folds} folds, {used})",
          notes=[f"quantity {cal.quantity}; precision: {source}", f"passed: {cal.passed}"])


# ------------------------------------------------------------------ change and trend


@analytics.command("change-significance")
@click.argument("before")
@click.argument("after")
@click.argument("element")
@click.option("--grid", "grid_name", type=click.Choice(["global", "europe"]),
              default="global", show_default=True)
@click.option("--level", default="20km", show_default=True, help="Cell size compared.")
@click.option("--alpha", type=float, default=0.05, show_default=True,
              help="False-discovery rate (Benjamini–Hochberg over the cells tested).")
@click.option("--min-pairs", type=click.IntRange(min=2), default=6, show_default=True)
@click.option("--min-ppw-pairs", type=click.IntRange(min=2), default=10, show_default=True)
@click.option("--method-before", default=None, help="Method in BEFORE (default: most total).")
@click.option("--method-after", default=None, help="Method in AFTER (default: most total).")
@click.option("--max-distance", type=click.FloatRange(0, 1000, min_open=True), default=20.0,
              show_default=True, help="Co-location distance (m) where no shared sites are "
              "declared.")
@_FORMAT
@_OUTPUT
@home_option
def change_significance(before: str, after: str, element: str, grid_name: str, level: str,
                        alpha: float, min_pairs: int, min_ppw_pairs: int,
                        method_before: str | None, method_after: str | None,
                        max_distance: float, fmt: str | None, output: Path | None,
                        home: Path | str | None) -> None:
    """Per-cell change of ELEMENT at the sites sampled by BEFORE and AFTER: paired
    Prentice–Wilcoxon (or sign) tests of censored pairs, marked increase / decrease / no
    significant change after false-discovery-rate control."""
    from chemearth.assess.change_significance import change_significance_frames
    from chemearth.assess.pairing import declared_link
    from chemearth.store.selectors import element_values

    store = open_store_at(home)
    mb, _ = element_values(store, before, element, method_before)
    ma, _ = element_values(store, after, element, method_after)
    link = declared_link(store, before, after)
    table = change_significance_frames(mb, ma, grid=grid_name, level=level,
                                       same_sites=link or False, max_distance_m=max_distance,
                                       names=(before, after), min_pairs=min_pairs,
                                       min_ppw_pairs=min_ppw_pairs, alpha=alpha)
    if (fmt or "") == "geojson" or (output is not None and output.suffix == ".geojson"):
        table = _cell_outlines(table, grid_name)
    counts = table["direction"].value_counts()
    _emit(table, fmt, output, f"{element}: {before} → {after}, {level} cells",
          ["cell_id", "n_pairs", "n_censored", "test", "statistic", "p_value", "q_value",
           "direction"],
          [f"{table['pairing_rule'].iloc[0]}; "
           + ", ".join(f"{n} {d}" for d, n in sorted(counts.items()))])


def _column(store: Store, dataset: str, column: str, sample_ids: pd.Series) -> pd.Series:
    """A numeric sample column (``year`` of sampling, a sample field or an attribute) by
    sample id."""
    import pandas as pd

    from chemearth.errors import NotFoundError

    s = store.samples(dataset).drop_duplicates("sample_id").set_index("sample_id")
    attrs = pd.DataFrame([json.loads(a) if isinstance(a, str) and a else {}
                          for a in s["attributes"]], index=s.index)
    if column == "year":
        col = pd.to_datetime(s["sampled_on"]).dt.year
    elif column in s.columns and column not in ("attributes", "sample_id"):
        col = s[column]
    elif column in attrs.columns:
        col = attrs[column]
    else:
        numeric = ["year", "longitude", "latitude", "depth_top_cm", "depth_bottom_cm",
                   *attrs.columns]
        raise NotFoundError(f"dataset {dataset!r} has no column {column!r} (try "
                            f"{', '.join(map(str, numeric))})")
    out = pd.to_numeric(col, errors="coerce").reindex(sample_ids.to_numpy())
    if out.notna().sum() < 3:
        raise click.UsageError(f"column {column!r} of dataset {dataset!r} holds fewer than "
                               "3 numbers for these samples")
    return out


@analytics.command()
@click.argument("dataset")
@click.argument("element")
@click.option("--against", "column", default="year", show_default=True,
              help="A numeric sample column: year (of sampling), depth_top_cm, or an "
              "attribute such as dist.")
@click.option("--continuity", is_flag=True, help="Continuity correction (as R NADA).")
@_METHOD
@_FORMAT
@_OUTPUT
@home_option
def trend(dataset: str, element: str, column: str, continuity: bool, method: str | None,
          fmt: str | None, output: Path | None, home: Path | str | None) -> None:
    """Censored trend of ELEMENT against a numeric column: Kendall's tau and the
    Akritas–Theil–Sen line (no value below the detection limit is substituted)."""
    import numpy as np
    import pandas as pd

    from chemearth.stats.trends import ATS_MAX_N, ats_slope, censored_kendall
    from chemearth.store.selectors import element_values

    store = open_store_at(home)
    m, used = element_values(store, dataset, element, method)
    x = _column(store, dataset, column, m["sample_id"]).to_numpy(float)
    ok = np.isfinite(x)
    y, c = m["value"].to_numpy(float)[ok], m["censored"].to_numpy(bool)[ok]
    x = x[ok]
    notes = [f"{used}; {ok.sum()} samples with {column}, {int(c.sum())} censored"]
    row: dict[str, Any] = {"element": element, "against": column}
    if len(x) <= ATS_MAX_N:
        r = ats_slope(x, y, c, continuity=continuity)
        k = r.kendall
        row.update(slope=r.slope, slope_low=r.slope_low, slope_high=r.slope_high,
                   intercept=r.intercept)
    else:
        k = censored_kendall(x, y, y_censored=c, continuity=continuity)
        notes.append(f"more than {ATS_MAX_N} samples: Kendall's tau only, no ATS line")
    row.update(n=k.n, tau_b=k.tau_b, tau_a=k.tau_a, s=k.s, z=k.z, p_value=k.p_value)
    _emit(pd.DataFrame([row]), fmt, output, f"{dataset}: trend of {element} with {column}",
          notes=notes)
