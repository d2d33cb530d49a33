"""Global products from pooled layers, for one actor: baselines, coverage, exceedance and
resource totals (what ``chemearth global`` and ``/api/global`` serve).

Every product is computed from what the actor may see of a scope's pooled layers
(:mod:`chemearth.access.pooling`):

* **Coverage** and **resource totals** use the pooled cells and their contributors,
  which passed disclosure control when the layers were built.
* **Baselines** and **exceedance** need the samples themselves, so only the members the
  audience sees in full enter; datasets under disclosure control are left out and named
  in the result's ``notes`` (their samples may never be used one by one).

Every table says what it is: ``weighting`` (samples or declustered), the standard and
its basis, the assumptions of resource totals, and the datasets that entered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from chemearth.access.policy import Actor
from chemearth.access.pooling import PUBLIC, manifest_for
from chemearth.errors import NotFoundError
from chemearth.grid.levels import parse_level
from chemearth.grid.pooled import pooled_cells, pooled_contributors, pooled_samples

if TYPE_CHECKING:
    from chemearth.access.gateway import Gateway
    from chemearth.assess.exceedance import Exceedance
    from chemearth.assess.resources import Resources
    from chemearth.grid.coverage import Coverage

__all__ = ["Product", "baselines", "coverage_of", "exceedance_of", "resources_of",
           "samples_for"]


@dataclass
class Product:
    """A product's main table and what the reader must know about it."""

    table: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


def _layer(gateway: Gateway, actor: Actor, scope: str, element: str, medium: str | None,
           method: str | None, grid: str) -> dict[str, Any]:
    man = manifest_for(gateway, actor, scope)
    rows = [e for e in man.get("layers", []) if e["element"] == element and e["grid"] == grid
            and (medium is None or e["medium"] == medium)
            and (method is None or e["method"] == method)]
    if not rows:
        raise NotFoundError(f"no pooled {grid} layer of {element!r}"
                            + (f" in {medium!r}" if medium else "")
                            + (f" by {method!r}" if method else ""))
    if len(rows) > 1:
        listed = "; ".join(f"medium={e['medium']} method={e['method']}" for e in rows)
        raise NotFoundError(f"{element!r} has {len(rows)} pooled layers, choose one: {listed}")
    return dict(rows[0])


def samples_for(gateway: Gateway, actor: Actor, element: str, *, medium: str | None = None,
                method: str | None = None, scope: str = PUBLIC, grid: str = "global",
                level: int | str | None = None,
                boundaries: Path | None = None) -> tuple[pd.DataFrame, list[str]]:
    """The samples of one pooled layer that may be used one by one, and notes.

    Members under disclosure control are left out (named in the notes). With
    ``boundaries``, a ``continent`` column is added (Natural Earth's CONTINENT).
    """
    e = _layer(gateway, actor, scope, element, medium, method, grid)
    frame = pooled_samples(gateway.store, element, scope=scope, grid=grid, level=level,
                           medium=e["medium"], method=e["method"], full_only=True)
    controlled = sorted({m["dataset_id"] for m in e["members"] if int(m.get("k", 1)) > 1})
    notes = [f"pooled {e['medium']} / {e['method']} layer of {element} ({e['unit']}); "
             f"datasets: {', '.join(sorted(set(frame['dataset_id'])))}"]
    if controlled:
        notes.append("left out (under disclosure control, samples not usable one by one): "
                     + ", ".join(controlled))
    if boundaries is not None:
        from chemearth.reference.continents import country_continents

        table = country_continents(boundaries)
        frame["continent"] = frame["country"].map(lambda c: table.get(str(c), ""))
    return frame, notes


def baselines(gateway: Gateway, actor: Actor, element: str, *, scale: str = "world",
              weighting: str = "both", medium: str | None = None, method: str | None = None,
              scope: str = PUBLIC, grid: str = "global", level: int | str = "160km",
              boundaries: Path | None = None) -> Product:
    """Baselines of a pooled layer per cell, country, continent or world, sample-based
    and declustered (each cell of ``level`` weighted equally)."""
    from chemearth.stats.global_baselines import global_baselines

    frame, notes = samples_for(gateway, actor, element, medium=medium, method=method,
                               scope=scope, grid=grid, level=level, boundaries=boundaries)
    if "continent" not in frame:
        frame["continent"] = ""
    table = global_baselines(frame, scale, weighting=weighting,  # type: ignore[arg-type]
                             grid=grid)
    notes.append(f"declustered: each {level} cell weighted equally; samples: each sample "
                 "weighted equally (column `weighting`)")
    return Product(table, notes)


def exceedance_of(gateway: Gateway, actor: Actor, element: str, *,
                  medium: str | None = "topsoil", method: str | None = "total",
                  scope: str = PUBLIC, grid: str = "global", level: int | str = "160km",
                  standard: str | None = None, land_use: str | None = None) -> Exceedance:
    """Percentage of samples above a soil standard per pooled cell and country (GB
    15618-2018; Sb, Co, V against GB 36600-2018 first class), with the pH of the samples
    where the medium group has a pH layer."""
    from chemearth.assess.exceedance import exceedance

    frame, _ = samples_for(gateway, actor, element, medium=medium, method=method,
                           scope=scope, grid=grid, level=level)
    try:
        ph, _ = samples_for(gateway, actor, "pH", medium=medium, method="ph-water",
                            scope=scope, grid=grid)
        # (astype: an empty frame's column is of objects, and ~ of it selects columns)
        ph = ph[~ph["censored"].astype(bool)].drop_duplicates(["dataset_id", "sample_id"])
        frame = frame.merge(ph[["dataset_id", "sample_id", "value"]].rename(
            columns={"value": "ph"}), on=["dataset_id", "sample_id"], how="left")
    except NotFoundError:
        frame["ph"] = np.nan
    frame.attrs.update(element=element)
    return exceedance(frame, element=element, standard=standard, land_use=land_use,
                      grid=grid)


def coverage_of(gateway: Gateway, actor: Actor, medium: str, boundaries: Path, *,
                scope: str = PUBLIC, min_samples: tuple[int, ...] = (1, 5)) -> Coverage:
    """Land coverage of the 160 km Global Reference Network cells by a medium group.

    A cell's samples are counted from the pooled contributors at 160 km: per dataset the
    most samples it gives any element of the group there (a sample analysed for several
    elements counts once), summed over datasets.
    """
    from chemearth.grid.coverage import coverage
    from chemearth.grid.geometry import get_grid

    man = manifest_for(gateway, actor, scope)  # the permission question, then the memo

    def make() -> Coverage:
        entries = [e for e in man.get("layers", []) if e["medium"] == medium
                   and e["grid"] == "global"]
        if not entries:
            raise NotFoundError(f"no pooled layer of medium group {medium!r}")
        parts = []
        for e in entries:
            c = pooled_contributors(gateway.store, e["element"], scope=scope, grid="global",
                                    level=160_000, medium=e["medium"], method=e["method"])
            parts.append(c[["cell", "dataset_id", "n"]])
        per = pd.concat(parts).groupby(["cell", "dataset_id"])["n"].max().groupby("cell").sum()
        g = get_grid("global")
        keys = per.index.to_numpy(dtype=np.int64)
        lon, lat = g.cell_centres(keys)
        counts = per.to_numpy(dtype=np.int64)
        return coverage(np.repeat(lon, counts), np.repeat(lat, counts), boundaries,
                        grid="global", level_m=160_000, min_samples=min_samples)

    out: Coverage = gateway.memo(("pooled-coverage", scope, medium, tuple(min_samples),
                                  str(boundaries)), make)
    return out


def resources_of(gateway: Gateway, actor: Actor, element: str, boundaries: Path, *,
                 medium: str | None = None, method: str | None = None, scope: str = PUBLIC,
                 grid: str = "global", level: int | str = "160km", depth_m: float = 1.0,
                 bulk_density_t_m3: float = 1.5,
                 extrapolate: bool = False) -> Resources:
    """Metal tonnes held in a layer of soil or sediment per cell, country, continent and
    world, from the pooled cells' percentiles
    (:func:`chemearth.assess.resources.resource_totals`)."""
    from chemearth.assess.resources import resource_totals
    from chemearth.grid.coverage import land_parts

    e = _layer(gateway, actor, scope, element, medium, method, grid)
    level_m = parse_level(level)
    cells = pooled_cells(gateway.store, element, scope=scope, grid=grid, level=level_m,
                         medium=e["medium"], method=e["method"])
    # the world's land at coarse levels (what is not covered is then reported too)
    land = land_parts(boundaries, grid=grid, level_m=level_m,
                      cells=None if level_m >= 80_000 else cells["cell"].to_numpy(np.int64))
    land = land[land["continent"] != "Antarctica"]  # as coverage: the GRN's land
    median = None
    if extrapolate:
        b = baselines(gateway, actor, element, medium=e["medium"], method=e["method"],
                      scope=scope, grid=grid, level=level_m, weighting="declustered")
        median = float(b.table["median"].iloc[0])
    return resource_totals(cells, land, element=element, unit=str(e["unit"]),
                           depth_m=depth_m, bulk_density_t_m3=bulk_density_t_m3,
                           extrapolate_median=median, grid=grid)
