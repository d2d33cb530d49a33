"""Who may enter a pooled layer, and who may see it: the sharing rules for global layers.

Pooled layers (:mod:`chemearth.grid.pooled`) are built per *scope*:

* ``public`` — seen by everyone (``view-pooled`` with no organisation). A dataset enters
  as its anonymous audience sees it, by the one permission question
  (:func:`~chemearth.access.policy.allowed`): public datasets in full; aggregated
  datasets under disclosure control — their samples enter a pooled cell only where their
  own cell is published (:meth:`Gateway.publication
  <chemearth.access.gateway.Gateway.publication>`), and the pooled cells withhold the
  order statistics their samples would give away; restricted datasets and embargoed
  elements never.
* ``org:NAME`` — an organisation's private pooled layers, seen by its data owners and
  partners (and administrators): every dataset enters as a member of the organisation
  sees it, so its own restricted data enter in full.

In the website and API a scope's pooled layers appear as a pseudo-dataset
``pooled:public`` ("All surveys") or ``pooled:org:NAME``, so tiles, legends, cells and
exports work on them as on any layer; a pooled cell's record lists its contributing
datasets with their citations.

Examples
--------
>>> scope_of("pooled:org:NGU"), pooled_id("public")
('org:NGU', 'pooled:public')
>>> is_pooled("pooled:public"), is_pooled("kola-humus")
(True, False)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from chemearth.access.policy import Action, Actor, Policy, Resource, Role, allowed
from chemearth.errors import NotFoundError
from chemearth.grid.pool_plan import PoolSource
from chemearth.grid.pooled import build_pooled, pooled_manifest
from chemearth.store.selectors import string_list

if TYPE_CHECKING:  # a Gateway; not imported, since the gateway imports this module
    Gateway = Any

__all__ = [
    "POOLED_PREFIX",
    "PUBLIC",
    "build_scope",
    "is_pooled",
    "may_view",
    "pooled_id",
    "scope_actor",
    "scope_of",
    "sources_for",
    "visible_scopes",
]

#: Dataset-id prefix of pooled layers in the website and API.
POOLED_PREFIX = "pooled:"
#: The public scope.
PUBLIC = "public"


def is_pooled(dataset_id: str) -> bool:
    """True if ``dataset_id`` names pooled layers rather than a dataset."""
    return dataset_id.startswith(POOLED_PREFIX)


def pooled_id(scope: str) -> str:
    """The pseudo-dataset id of a scope's pooled layers."""
    return POOLED_PREFIX + scope


def scope_of(dataset_id: str) -> str:
    """The scope a pooled pseudo-dataset id names (NotFoundError if malformed)."""
    scope = dataset_id[len(POOLED_PREFIX):] if is_pooled(dataset_id) else ""
    if scope == PUBLIC or (scope.startswith("org:") and len(scope) > 4):
        return scope
    raise NotFoundError(f"dataset {dataset_id!r} not found")


def _organisation(scope: str) -> str:
    return "" if scope == PUBLIC else scope[len("org:"):]


def scope_actor(scope: str) -> Actor:
    """The audience a scope's layers are built for: anonymous for ``public``, a partner
    of the organisation (no grants) for ``org:NAME``."""
    if scope == PUBLIC:
        return Actor.anonymous()
    return Actor(f"pooled:{scope}", Role.PARTNER, _organisation(scope))


def may_view(actor: Actor, scope: str) -> bool:
    """The permission question for a scope's pooled layers."""
    org = _organisation(scope)
    return allowed(actor, Action.VIEW_POOLED,
                   Resource.organisation_of(org) if org else Resource())


def visible_scopes(actor: Actor, organisations: Iterable[str]) -> list[str]:
    """The scopes ``actor`` may see among ``public`` and the organisations' ones."""
    scopes = [PUBLIC, *(f"org:{o}" for o in sorted(set(organisations)) if o)]
    return [s for s in scopes if may_view(actor, s)]


def sources_for(gateway: Gateway, scope: str) -> list[PoolSource]:
    """The dataset versions that enter ``scope``, each as its audience may see it.

    Only surveys are offered (the pooled build leaves out the rest and says why);
    datasets the audience may not see at all are not offered, and are not named in the
    pooled layers' manifest either.
    """
    who = scope_actor(scope)
    snap = gateway.snapshot()
    out = []
    for ds, rec in sorted(snap.records.items()):
        pol = snap.policies[ds]
        if str(rec.get("kind") or "survey") != "survey" or not pol.visible(who):
            continue
        elements = string_list(rec.get("elements"))  # a list or an array: never `or []`
        shown = frozenset(e for e in elements
                          if allowed(who, Action.VIEW_CELLS, Resource.of(pol, e)))
        if not shown:
            continue
        k = pol.min_cell_n(who)
        out.append(PoolSource(ds, int(rec["version"]), shown, k,
                              _admit(gateway, pol, k) if k > 1 else None))
    return out


def _admit(gateway: Gateway, pol: Policy, k: int) -> Any:
    """The admission rule of a controlled dataset: its own published cells."""
    from chemearth.access.disclosure import CONTROLLED_GRID

    def admit(grid: str, element: str, medium: str, method: str, level_m: int,
              keys: np.ndarray) -> np.ndarray:
        if grid != CONTROLLED_GRID:
            return np.zeros(len(keys), dtype=bool)
        pub = gateway.publication(pol.dataset_id, element, medium, method, k)
        return np.asarray(pub.published(level_m, keys), dtype=bool)

    return admit


def build_scope(gateway: Gateway, scope: str = PUBLIC, **options: Any) -> pd.DataFrame:
    """Build (or update) the pooled layers of ``scope``; options of
    :func:`~chemearth.grid.pooled.build_pooled`."""
    scope_of(pooled_id(scope))  # validates the scope
    return build_pooled(gateway.store, sources_for(gateway, scope), scope=scope, **options)


def manifest_for(gateway: Gateway, actor: Actor, scope: str) -> dict[str, Any]:
    """A scope's manifest if ``actor`` may see it (else the NotFoundError of a missing
    dataset), memoised per catalogue snapshot."""
    if not may_view(actor, scope):
        raise NotFoundError(f"dataset {pooled_id(scope)!r} not found")
    return dict(gateway.memo(("pooled-manifest", scope),
                             lambda: _current(gateway, scope,
                                              pooled_manifest(gateway.store, scope))))


def _current(gateway: Gateway, scope: str, manifest: dict[str, Any]) -> dict[str, Any]:
    """The part of a built manifest the sharing rules allow now.

    Pooled layers are built at one time and the sharing rules may change after (a dataset
    made restricted, an element embargoed, public data put under disclosure control): a
    layer is shown only while every member of it would still enter as it did, and what
    was left out only names datasets and elements the scope's audience may still see.
    """
    now = {s.dataset_id: s for s in sources_for(gateway, scope)}

    def still(element: str, member: dict[str, Any]) -> bool:
        src = now.get(str(member["dataset_id"]))
        return (src is not None and (src.elements is None or element in src.elements)
                and int(member.get("k", 1)) >= src.k)

    def shown(row: dict[str, Any]) -> bool:
        src = now.get(str(row.get("dataset_id")))
        element = str(row.get("element") or "")
        return src is not None and (not element or src.elements is None
                                    or element in src.elements)

    out = dict(manifest)
    out["layers"] = [e for e in manifest.get("layers", [])
                     if all(still(str(e["element"]), m) for m in e.get("members", []))]
    out["excluded"] = [x for x in manifest.get("excluded", []) if shown(x)]
    out["sources"] = {d: v for d, v in manifest.get("sources", {}).items() if d in now}
    return out


# ---------------------------------------------------------------------- layers and views


def layer_entries(gateway: Gateway, actor: Actor) -> list[dict[str, Any]]:
    """The pooled layers ``actor`` may see, as entries of :meth:`Gateway.layers`."""
    from chemearth.grid.layers import default_level

    orgs = [str(r.get("organisation") or "") for r in gateway.snapshot().records.values()]
    out = []
    for scope in visible_scopes(actor, orgs):
        man = manifest_for(gateway, actor, scope)
        by_layer: dict[tuple[str, str, str, str], list[dict[str, Any]]] = {}
        for e in man.get("layers", []):
            by_layer.setdefault((e["element"], e["medium"], e["method"], e["unit"]),
                                []).append(e)
        for (element, medium, method, unit), entries in sorted(by_layer.items()):
            grids = sorted({e["grid"] for e in entries}, key=lambda n: (n != "global", n))
            levels = {e["grid"]: sorted((int(v) for v in e["by_level"]), reverse=True)
                      for e in entries}
            first = next(e for e in entries if e["grid"] == grids[0])
            inv = pd.DataFrame([{"level_m": int(lv), **v} for lv, v in first["by_level"].items()])
            out.append({
                "dataset": pooled_id(scope),
                "title": "All surveys" if scope == PUBLIC
                else f"All surveys, with {_organisation(scope)}'s own",
                "element": element, "medium": medium, "method": method, "unit": unit,
                "grids": grids, "levels": levels, "default_grid": grids[0],
                "default_level": default_level(inv), "samples": False, "sharing": "pooled",
                "pooled": True, "datasets": sorted({m["dataset_id"] for e in entries
                                                    for m in e["members"]}),
            })
    return out


def pooled_view(gateway: Gateway, actor: Actor, dataset_id: str, element: str, *,
                medium: str | None, method: str | None, grid: str | None,
                level: int | str | None, stat: str) -> Any:
    """The view of one pooled layer (a :class:`~chemearth.access.gateway.LayerView` whose
    cell records list the contributing datasets)."""
    from chemearth.access.views import PooledView
    from chemearth.grid.geometry import get_grid
    from chemearth.grid.layers import LayerChoiceError, default_level
    from chemearth.grid.levels import parse_level

    scope = scope_of(dataset_id)
    man = manifest_for(gateway, actor, scope)
    rows = [e for e in man.get("layers", []) if e["element"] == element
            and (not medium or e["medium"] == medium)
            and (method is None or e["method"] == method)]
    if not rows:
        raise LayerChoiceError(f"no pooled layer for {element!r}"
                               + (f" in medium {medium!r}" if medium else "")
                               + (f" by method {method!r}" if method else ""))
    combos = sorted({(e["medium"], e["method"], e["unit"]) for e in rows})
    if len(combos) > 1:
        listed = "; ".join(f"medium={m} method={c}" for m, c, _ in combos)
        raise LayerChoiceError(f"{element!r} has {len(combos)} pooled layers, choose one: "
                               f"{listed}")
    grids = sorted({e["grid"] for e in rows}, key=lambda n: (n != "global", n))
    gname = grid or grids[0]
    entry = next((e for e in rows if e["grid"] == gname), None)
    if entry is None:
        raise LayerChoiceError(f"no pooled {gname!r} grid layer; grids: {', '.join(grids)}")
    g = get_grid(gname)
    inv = pd.DataFrame([{"level_m": int(lv), **v} for lv, v in entry["by_level"].items()])
    level_m = default_level(inv) if level in (None, "", "auto") else parse_level(level)
    if str(level_m) not in entry["by_level"]:
        raise LayerChoiceError(f"level {level!r} is not built for this pooled layer")
    key = ("pooled", scope, man.get("built_at"), element, entry["medium"], entry["method"],
           gname, level_m, stat)
    return gateway.cached_view(key, lambda: PooledView.make(gateway, man, entry, g, level_m,
                                                            stat))
