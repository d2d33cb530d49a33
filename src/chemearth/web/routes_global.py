"""Global routes: the pooled layers' catalogue, baselines, coverage, toxic-metal exceedance
and resource totals (``/api/global``). Maps, tiles, cells and downloads of pooled layers
use the layer routes with the dataset ``pooled:public`` (or ``pooled:org:NAME``).

Every answer goes through :mod:`chemearth.access.global_products` with the actor, so a
scope the actor may not see is a 404 like a missing dataset.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from chemearth.access import global_products as gp
from chemearth.access.pooling import PUBLIC, manifest_for, scope_actor, visible_scopes
from chemearth.errors import NotFoundError
from chemearth.jsonable import plain, records
from chemearth.web.deps import ActorDep, GatewayDep

__all__ = ["router"]

router = APIRouter(prefix="/api/global", tags=["Global layers"])

Scope = Annotated[str, Query(max_length=300, pattern=r"^(public|org:[^/]{1,290})$",
                             description="public, or org:NAME for an organisation's own")]
Text = Annotated[str | None, Query(max_length=64)]
Level = Annotated[str, Query(max_length=16, description="Cell size, e.g. 160km.")]
GridQ = Annotated[str, Query(pattern="^(global|europe)$")]


def _boundaries(request: Request) -> Path:
    path = request.app.state.settings.boundaries
    if path is None:
        raise NotFoundError("no country boundaries configured (CHEMEARTH_BOUNDARIES)")
    return Path(path)


@router.get("", summary="Pooled layers you may see, and what was left out")
def catalogue(gw: GatewayDep, actor: ActorDep) -> dict[str, Any]:
    """Per visible scope: its layers (element, medium group, method class, unit, members)
    and the datasets or columns left out with the reason."""
    from chemearth.reference.pooling import pooling_rules

    snap = gw.snapshot()
    orgs = [str(r.get("organisation") or "") for r in snap.records.values()]
    out = []
    for scope in visible_scopes(actor, orgs):
        man = manifest_for(gw, actor, scope)
        built = {str(k): int(v) for k, v in man.get("sources", {}).items()}
        now = {ds: int(r["version"]) for ds, r in snap.records.items()
               if str(r.get("kind") or "survey") == "survey" and snap.policies[ds].visible(actor)
               and snap.policies[ds].visible(scope_actor(scope))}
        # surveys published or replaced since the build (`chemearth global build`); only
        # those the actor sees now are named
        stale = sorted(ds for ds in now if built.get(ds) != now[ds])
        out.append({"scope": scope, "dataset": f"pooled:{scope}",
                    "built_at": man.get("built_at"),
                    "out_of_date": stale,
                    "layers": [{k: e[k] for k in ("grid", "medium", "method", "element",
                                                  "unit", "levels", "by_level")}
                               | {"datasets": [m["dataset_id"] for m in e["members"]]}
                               for e in man.get("layers", [])],
                    "excluded": man.get("excluded", [])})
    return {"scopes": out, "rules": pooling_rules().describe()}


@router.get("/baselines/{element}", summary="Baselines of a pooled layer")
def baselines(gw: GatewayDep, actor: ActorDep, request: Request, element: str,
              medium: Text = None, method: Text = None, scope: Scope = PUBLIC,
              scale: Annotated[str, Query(pattern="^(world|continent|country|cell)$")] = "world",
              weighting: Annotated[str, Query(pattern="^(samples|declustered|both)$")] = "both",
              level: Level = "160km", grid: GridQ = "global") -> dict[str, Any]:
    """Sample-based and declustered baselines per world, continent, country or cell."""
    p = gp.baselines(gw, actor, element, scale=scale, weighting=weighting, medium=medium,
                     method=method, scope=scope, grid=grid, level=level,
                     boundaries=request.app.state.settings.boundaries)
    return {"element": element, "scale": scale, "notes": p.notes,
            "baselines": records(p.table)}


@router.get("/coverage/{medium}", summary="Land coverage of a medium group")
def coverage(gw: GatewayDep, actor: ActorDep, request: Request, medium: str,
             scope: Scope = PUBLIC,
             fmt: Annotated[str, Query(pattern="^(json|geojson)$")] = "json") -> Any:
    """Share of land in 160 km cells holding at least 1 and 5 samples, per country,
    continent and world; ``fmt=geojson`` gives the cells as a map layer."""
    cov = gp.coverage_of(gw, actor, medium, _boundaries(request), scope=scope)
    if fmt == "geojson":
        return JSONResponse(cov.to_geojson(), media_type="application/geo+json")
    return {"medium": medium, "level": "160km", "world": plain(cov.world),
            "continents": records(cov.by_continent), "countries": records(cov.by_country),
            "note": "land from Natural Earth 1:10m admin-0, Antarctica excluded; areas on "
            "the WGS 84 ellipsoid"}


@router.get("/exceedance/{element}", summary="Samples above a soil standard")
def exceedance(gw: GatewayDep, actor: ActorDep, element: str, medium: Text = "topsoil",
               method: Text = "total", scope: Scope = PUBLIC, level: Level = "160km",
               grid: GridQ = "global",
               standard: Annotated[str | None, Query(max_length=64)] = None,
               land_use: Text = None) -> dict[str, Any]:
    """Per pooled cell, country and world: the percentage of samples above the GB
    15618-2018 risk-screening value (Sb, Co, V: GB 36600-2018 first class), or
    ``standard``."""
    x = gp.exceedance_of(gw, actor, element, medium=medium, method=method, scope=scope,
                         grid=grid, level=level, standard=standard, land_use=land_use)
    return {"element": element, "basis": x.basis, "notes": list(x.notes),
            "assumptions": plain(x.assumptions), "world": records(x.world),
            "countries": records(x.countries), "cells": records(x.cells)}


@router.get("/resources/{element}", summary="Metal held in a soil layer")
def resources(gw: GatewayDep, actor: ActorDep, request: Request, element: str,
              medium: Text = None, method: Text = None, scope: Scope = PUBLIC,
              level: Level = "160km", grid: GridQ = "global",
              depth_m: Annotated[float, Query(gt=0, le=100)] = 1.0,
              bulk_density: Annotated[float, Query(gt=0, le=5)] = 1.5) -> dict[str, Any]:
    """Tonnes per cell, country, continent and world from the cells' P5–P95, with the
    formula's assumptions."""
    r = gp.resources_of(gw, actor, element, _boundaries(request), medium=medium,
                        method=method, scope=scope, grid=grid, level=level, depth_m=depth_m,
                        bulk_density_t_m3=bulk_density)
    return {"element": element, "notes": list(r.notes), "assumptions": plain(r.assumptions),
            "world": records(r.world), "continents": records(r.continents),
            "countries": records(r.countries)}
