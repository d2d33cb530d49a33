"""The core read path: every read of the website and API goes through here, with an actor.

:class:`Gateway` extends the :class:`~chemearth.access.catalogue.Catalogue` with grid
layers, cell and sample features, sample downloads and baselines, and applies the sharing
rules of :mod:`chemearth.access.policy` on every read: restricted datasets and embargoed
elements are invisible (the same :class:`~chemearth.errors.NotFoundError` as for something
that does not exist), sample data of aggregated-only datasets are refused, and their cells
pass disclosure control (:mod:`chemearth.access.disclosure`) before anything is computed
from them (class limits, tiles, downloads).
Pages, API routes, tiles, downloads and error messages are built on these methods only.

Examples
--------
>>> from chemearth.access.policy import Actor
>>> gw = Gateway(store)                                       # doctest: +SKIP
>>> gw.layer_view(Actor.anonymous(), "kola-humus", "Ni", level="10km")  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from chemearth.access.catalogue import MAX_ROWS, Catalogue
from chemearth.access.disclosure import (
    CONTROLLED_GRID,
    NEVER_PUBLISHED,
    Publication,
    chain_levels,
    layer_publication,
    withhold_statistics,
)
from chemearth.access.filtering import sample_points
from chemearth.access.policy import MIN_CELL_N, Actor, Policy
from chemearth.access.pooling import is_pooled, layer_entries, pooled_view
from chemearth.access.tokens import TokenStore
from chemearth.access.views import LayerView, PooledView
from chemearth.errors import ChemearthError, GridError, NotFoundError
from chemearth.grid.aggregate import STATISTICS
from chemearth.grid.geometry import Grid, get_grid
from chemearth.grid.layers import (
    LayerChoiceError,
    default_level,
    preferred_grid,
    regional_shares,
)
from chemearth.grid.levels import parse_level
from chemearth.jsonable import finite, plain
from chemearth.store.base import Store
from chemearth.store.selectors import string_list

__all__ = ["PUBLISHED_STATISTICS", "Gateway", "LayerView", "PooledView", "Where",
           "cell_feature_id"]

#: A feature filter (:mod:`chemearth.access.filtering`): which rows of a table of
#: published features (columns named as their properties) match, given a function
#: returning the rows' geometries (shapely, None where a feature has none).
Where = Callable[[pd.DataFrame, Callable[[], Any]], np.ndarray]

#: Layer views kept in memory.
_VIEWS = 256


class Gateway(Catalogue):
    """Read layers, cells and samples on behalf of actors, applying every sharing rule.

    The parameters are those of :class:`~chemearth.access.catalogue.Catalogue`; a gateway
    also keeps the layer views it built (:meth:`layer_view`) until the catalogue changes.
    """

    def __init__(
        self,
        store: Store,
        tokens: TokenStore | None = None,
        k: int = MIN_CELL_N,
        max_rows: int = MAX_ROWS,
    ) -> None:
        super().__init__(store, tokens, k, max_rows)
        self._views: OrderedDict[tuple[Hashable, ...], LayerView] = OrderedDict()
        self._view_locks: dict[tuple[Hashable, ...], threading.Lock] = {}

    def _snapshot_changed(self) -> None:
        self._views.clear()

    # ------------------------------------------------------------------ layers

    def layers(self, actor: Actor) -> list[dict[str, Any]]:
        """The grid layers ``actor`` may see, one entry per dataset/element/medium/method;
        the pooled layers (:mod:`chemearth.access.pooling`) first."""
        return list(self.memo(("layers", self.sight(actor), actor.role, actor.organisation),
                              lambda: layer_entries(self, actor) + self._layers(actor)))

    def _layers(self, actor: Actor) -> list[dict[str, Any]]:
        snap = self.snapshot()
        inv = snap.inventory
        if inv.empty:
            return []
        out = []
        keys = ["dataset_id", "element", "medium", "method", "unit"]
        regional = self.memo(("regional-shares",), lambda: regional_shares(self.store))
        for (ds, el, med, meth, unit), group in inv.groupby(keys, sort=True):
            pol = snap.policies.get(str(ds))
            if pol is None or not pol.element_visible(actor, str(el)):
                continue
            g = self._controlled_rows(pol, actor, group)
            if g.empty:
                continue
            grids = _grids(g)
            levels = {
                str(gr): sorted((int(v) for v in g.loc[g["grid"] == gr, "level_m"]), reverse=True)
                for gr in grids
            }
            # a regional grid where it holds (nearly) all the samples (grid.layers)
            default_grid = preferred_grid(regional.get(str(ds), {}), grids)
            out.append(
                {
                    "dataset": str(ds),
                    "title": str(snap.records[str(ds)]["title"]),
                    "element": str(el),
                    "medium": str(med),
                    "method": str(meth),
                    "unit": str(unit),
                    "grids": grids,
                    "levels": levels,
                    "default_grid": default_grid,
                    "default_level": default_level(g[g["grid"] == default_grid]),
                    "samples": pol.samples_visible(actor, str(el)),
                    "sharing": pol.sharing,
                }
            )
        return out

    def _choose(
        self,
        actor: Actor,
        dataset_id: str,
        element: str,
        medium: str | None,
        method: str | None,
        grid: str | None,
        level: int | str | None,
    ) -> tuple[Policy, pd.Series, Grid, int]:
        """Resolve a layer request to one inventory row (or a clear error)."""
        pol = self.policy(actor, dataset_id)
        inv = self.snapshot().inventory
        # an embargoed element answers exactly as an element the dataset does not hold
        shown = pol.element_visible(actor, element)
        rows = inv[(inv["dataset_id"] == dataset_id) & (inv["element"] == element) & shown]
        rows = self._controlled_rows(pol, actor, rows)
        if medium:
            rows = rows[rows["medium"] == medium]
        if method is not None:  # "" is the layer without a method, None any method
            rows = rows[rows["method"] == method]
        if rows.empty:
            raise LayerChoiceError(
                f"no grid layer for {element!r} in dataset {dataset_id!r}"
                + (f" in medium {medium!r}" if medium else "")
                + (f" by method {method!r}" if method else "")
            )
        combos = rows[["medium", "method", "unit"]].drop_duplicates()
        if len(combos) > 1:
            listed = "; ".join(
                f"medium={r['medium']} method={r['method'] or '-'}"
                for r in combos.to_dict("records")
            )
            raise LayerChoiceError(
                f"{element!r} in dataset {dataset_id!r} has {len(combos)} layers, "
                f"choose one: {listed}"
            )
        grids = _grids(rows)
        gname = grid or str(grids[0])
        if gname not in grids:
            raise LayerChoiceError(
                f"dataset {dataset_id!r} has no {gname!r} grid layer; grids: {', '.join(grids)}"
            )
        g = get_grid(gname)
        on = rows[rows["grid"] == gname]
        auto = level is None or level in ("", "auto")
        level_m = default_level(on) if auto else parse_level(level)  # type: ignore[arg-type]
        if level_m not in set(on["level_m"].astype(int)):
            labels = ", ".join(g.level_label(int(v)) for v in sorted(on["level_m"], reverse=True))
            raise LayerChoiceError(
                f"level {g.level_label(level_m) if level_m in g.levels else level!r} is not "
                f"built for this layer; levels: {labels}"
            )
        return pol, on[on["level_m"] == level_m].iloc[0], g, level_m

    def layer_view(
        self,
        actor: Actor,
        dataset_id: str,
        element: str,
        *,
        medium: str | None = None,
        method: str | None = None,
        grid: str | None = None,
        level: int | str | None = None,
        stat: str = "median",
    ) -> LayerView:
        """The published cells of one layer for ``actor``, with classes and tile index."""
        if stat not in STATISTICS or stat in ("dl_max",):
            raise GridError(f"unknown statistic {stat!r}; one of {', '.join(PUBLISHED_STATISTICS)}")
        if is_pooled(dataset_id):
            return pooled_view(self, actor, dataset_id, element, medium=medium,  # type: ignore[no-any-return]
                               method=method, grid=grid, level=level, stat=stat)
        pol = self.policy(actor, dataset_id)
        if pol.disclosure_controlled(actor) and stat in NEVER_PUBLISHED:
            raise GridError(f"the {stat} of a cell is a sample value and is not published for "
                            f"dataset {dataset_id!r}; choose median, gmean or a percentile")
        ask = _view_ask(pol, actor, dataset_id, element, medium, method, grid, level, stat)
        snap = self.snapshot()
        key = snap.memo.get(ask)
        view = self._views.get(key) if key is not None else None
        if view is not None:
            return view
        pol, row, g, level_m = self._choose(
            actor, dataset_id, element, medium, method, grid, level
        )
        min_n = pol.min_cell_n(actor)
        key = (
            dataset_id, int(row["version"]), element, str(row["medium"]), str(row["method"]),
            g.name, level_m, stat, min_n,
        )
        snap.memo[ask] = key
        return self.cached_view(key, lambda: self._build_view(key, row, g))

    def built_view(
        self,
        actor: Actor,
        dataset_id: str,
        element: str,
        *,
        medium: str | None = None,
        method: str | None = None,
        grid: str | None = None,
        level: int | str | None = None,
        stat: str = "median",
    ) -> LayerView | None:
        """The view :meth:`layer_view` gives for the same request when it is built
        already (for this catalogue snapshot), else None; never reads the store. The same
        sharing rules apply: a dataset ``actor`` may not see raises the same
        :class:`~chemearth.errors.NotFoundError`; a pooled layer, or a request
        :meth:`layer_view` would refuse, gives None (ask :meth:`layer_view` then)."""
        pol = None if is_pooled(dataset_id) else self.policy(actor, dataset_id)
        if (pol is None or stat not in STATISTICS or stat == "dl_max"
                or (pol.disclosure_controlled(actor) and stat in NEVER_PUBLISHED)):
            return None
        key = self.snapshot().memo.get(
            _view_ask(pol, actor, dataset_id, element, medium, method, grid, level, stat))
        return self._views.get(key) if key is not None else None

    def cached_view(self, key: tuple[Hashable, ...], make: Any) -> LayerView:
        """The view of ``key``, built by ``make()`` once (per catalogue snapshot)."""
        view = self._views.get(key)
        if view is not None:
            return view
        with self._lock:
            lock = self._view_locks.setdefault(key, threading.Lock())
        with lock:
            view = self._views.get(key)
            if view is None:
                view = make()
                with self._lock:
                    self._views[key] = view
                    while len(self._views) > _VIEWS:
                        self._views.popitem(last=False)
            else:
                self._views.move_to_end(key)
        return view

    def _build_view(self, key: tuple[Hashable, ...], row: pd.Series, g: Grid) -> LayerView:
        from chemearth.render.layer_index import LayerIndex
        from chemearth.stats.classes import classify, legend

        ds, version, element, medium, method, _, level_m, stat, min_n = key
        frame = self.store.cells(
            g.name, dataset_id=str(ds), element=str(element), level_m=int(level_m),  # type: ignore[call-overload]
            medium=str(medium),
        )
        frame = frame[frame["method"].astype(str) == method]
        if int(min_n) > 1:  # type: ignore[call-overload]  # under disclosure control
            frame = self._disclose(str(ds), frame, g.name, int(level_m), int(min_n))  # type: ignore[call-overload]
            frame = frame[frame[stat].notna()]
        frame = frame.reset_index(drop=True)
        values = frame[stat].to_numpy(dtype=float)
        classes = legend(values, str(row["unit"]), str(stat))
        breaks, colours = np.asarray(classes.breaks, dtype=float), list(classes.colours)
        rec = self.snapshot().records[str(ds)]
        view = LayerView(
            dataset_id=str(ds), version=int(version), element=str(element), medium=str(medium),  # type: ignore[call-overload]
            method=str(method), unit=str(row["unit"]), grid=g, level_m=int(level_m),  # type: ignore[call-overload]
            stat=str(stat), min_n=int(min_n), cells=frame, citation=str(rec["citation"]),  # type: ignore[call-overload]
            licence=str(rec["licence"]), title=str(rec["title"]), colours=colours,
        )
        lg = classes.to_dict()
        lg.update(level=view.level, level_m=view.level_m, n_cells=len(frame),
                  element=view.element, dataset=view.dataset_id)
        view.legend = lg
        keys = frame["cell"].to_numpy(dtype=np.int64)
        view.index = LayerIndex.from_cells(g, view.level_m, keys, classify(values, breaks))
        view._row_of = {int(k): i for i, k in enumerate(keys)}
        return view

    def cell_at(self, view: LayerView, lon: float, lat: float) -> dict[str, Any]:
        """Statistics of the published cell under a point of ``view``."""
        key = view.index.cell_at(lon, lat)
        rec = None if key is None else view.cell_record(key)
        if rec is None:
            raise NotFoundError(f"no published {view.level} cell at lon {lon:g}, lat {lat:g}")
        return rec

    # ------------------------------------------------------------------ disclosure

    def _controlled_rows(self, pol: Policy, actor: Actor, rows: pd.DataFrame) -> pd.DataFrame:
        """Inventory ``rows`` an actor under disclosure control may see: one grid, and
        the levels that nest in each other."""
        if not pol.disclosure_controlled(actor) or rows.empty:
            return rows
        on = rows[rows["grid"] == CONTROLLED_GRID]
        chain = chain_levels(get_grid(CONTROLLED_GRID), on["level_m"].astype(int).tolist())
        return on[on["level_m"].astype(int).isin(chain)]

    def publication(self, dataset_id: str, element: str, medium: str, method: str,
                    k: int | None = None) -> Publication:
        """The cells of one layer that pass disclosure control (memoised per snapshot).

        Every version of the dataset in the store counts as published, so that no
        difference between versions isolates fewer than *k* samples.
        """
        k = self.k if k is None else int(k)

        def make() -> Publication:
            inv = self.snapshot().inventory
            rows = inv[(inv["dataset_id"] == dataset_id) & (inv["grid"] == CONTROLLED_GRID)]
            levels = sorted({int(v) for v in rows["level_m"]}, reverse=True)
            allv = self.store.datasets(all_versions=True)
            vers = sorted(int(v) for v in allv.loc[allv["dataset_id"] == dataset_id, "version"])
            frames = {}
            for v in vers:
                m = self.store.measurements(dataset_id, version=v, elements=[element])
                m = m[m["value"].notna() & (m["medium"].astype(str) == medium)
                      & (m["method"].fillna("").astype(str) == method)]
                frames[v] = m[["sample_id", "longitude", "latitude"]]
            return layer_publication(frames, get_grid(CONTROLLED_GRID), levels, k)

        return self.memo(("publication", dataset_id, element, medium, method, k), make)  # type: ignore[no-any-return]

    def totals_published(self, actor: Actor, dataset_id: str, element: str) -> bool:
        """True if ``actor`` may see dataset-wide figures of ``element`` (baselines, QC):
        always with full access; else when every layer of the element publishes them."""
        pol = self.policy(actor, dataset_id)
        if not pol.element_visible(actor, element):
            return False
        if not pol.disclosure_controlled(actor):
            return True
        inv = self.snapshot().inventory
        rows = inv[(inv["dataset_id"] == dataset_id) & (inv["element"] == element)]
        combos = rows[["medium", "method"]].astype(str).drop_duplicates().to_dict("records")
        return bool(combos) and all(
            self.publication(dataset_id, element, c["medium"], c["method"]).root for c in combos)

    def _disclose(self, dataset_id: str, frame: pd.DataFrame, grid: str, level_m: int,
                  k: int) -> pd.DataFrame:
        """The rows of a cell table that pass disclosure control, their statistics
        withheld where a group is too small for them."""
        if grid != CONTROLLED_GRID or frame.empty:
            return frame.iloc[:0]
        keep = np.zeros(len(frame), dtype=bool)
        keys = frame["cell"].to_numpy(dtype=np.int64)
        names = frame[["element", "medium", "method"]].astype(str)
        groups: dict[Any, Any] = dict(names.groupby(list(names.columns)).indices)
        for (element, medium, method), rows in groups.items():
            pub = self.publication(dataset_id, str(element), str(medium), str(method), k)
            keep[rows] = pub.published(level_m, keys[rows])
        keep &= frame["n"].to_numpy() >= k
        return withhold_statistics(frame[keep], k)

    def _disclose_totals(self, dataset_id: str, element: str, table: pd.DataFrame,
                         k: int) -> pd.DataFrame:
        """Rows of layer-wide statistics (baselines) that pass disclosure control."""
        if table.empty:
            return table
        keep = []
        for rec in table.to_dict("records"):
            pub = self.publication(dataset_id, element, str(rec.get("medium") or ""),
                                   str(rec.get("method") or ""), k)
            keep.append(pub.root)
        return withhold_statistics(table[np.array(keep, dtype=bool)], k)

    # ------------------------------------------------------------------ features

    def cell_features(
        self,
        actor: Actor,
        dataset_id: str,
        *,
        element: str | None = None,
        medium: str | None = None,
        method: str | None = None,
        grid: str | None = None,
        level: int | str | None = None,
        bbox: Sequence[float] | None = None,
        cell_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
        where: Where | None = None,
    ) -> tuple[list[dict[str, Any]], int]:
        """GeoJSON features of published cells, and how many matched in all (``where``:
        a filter of the published values)."""
        pol = self.policy(actor, dataset_id)
        inv = self.snapshot().inventory
        rows = inv[inv["dataset_id"] == dataset_id]
        elements = sorted(str(e) for e in rows["element"].unique())
        if element is not None:
            elements = [element]
        elements = [e for e in elements if pol.element_visible(actor, e)]
        gname = grid or (_grids(rows) or ["global"])[0]
        g = get_grid(gname)
        if level is None or level in ("", "auto"):
            on = rows[rows["grid"] == gname]
            level_m = default_level(on) if len(on) else g.levels[0]
        else:
            level_m = parse_level(level)
        frame = self.store.cells(g.name, dataset_id=dataset_id, level_m=level_m, medium=medium)
        if frame.empty:
            return [], 0
        frame = frame[frame["element"].astype(str).isin(elements)]
        if method is not None:
            frame = frame[frame["method"].astype(str) == method]
        if pol.disclosure_controlled(actor):
            frame = self._disclose(dataset_id, frame, g.name, level_m, pol.min_cell_n(actor))
        if cell_id is not None:
            frame = frame[frame["cell_id"].astype(str) == cell_id]
        keys = frame["cell"].to_numpy(dtype=np.int64)
        lon, lat = g.cell_centres(keys)
        if bbox is not None:
            w, s, e, n = _bbox(bbox)
            inside = (lon >= w) & (lon <= e) & (lat >= s) & (lat <= n)
            frame, keys, lon, lat = frame[inside], keys[inside], lon[inside], lat[inside]
        if where is not None:
            table = frame.assign(dataset=dataset_id, grid=g.name, level=g.level_label(level_m))
            keep = where(table, lambda: g.cell_polygons(keys, to_wgs84=True, densify=4))
            frame, keys = frame[keep], keys[keep]
        matched = len(frame)
        page = slice(offset, offset + min(limit, self.max_rows))
        frame, keys = frame.iloc[page], keys[page]
        polys = g.cell_polygons(keys, to_wgs84=True, densify=4)
        import shapely

        feats = []
        for rec, poly in zip(frame.to_dict("records"), polys, strict=True):
            props: dict[str, Any] = {
                "dataset": dataset_id,
                "cell_id": str(rec["cell_id"]),
                "level": g.level_label(int(rec["level_m"])),
                "grid": g.name,
                "element": str(rec["element"]),
                "medium": str(rec["medium"]),
                "method": str(rec["method"]),
                "unit": str(rec["unit"]),
            }
            for name in STATISTICS:
                props[name] = int(rec[name]) if name in ("n", "n_censored") else finite(rec[name])
            if pol.disclosure_controlled(actor):
                props = {k: v for k, v in props.items() if v is not None or k not in STATISTICS}
            feats.append(
                {
                    "type": "Feature",
                    "id": cell_feature_id(props),
                    "geometry": shapely.geometry.mapping(poly) if poly is not None else None,
                    "properties": props,
                }
            )
        return feats, matched

    def cell_feature(self, actor: Actor, dataset_id: str, feature_id: str) -> dict[str, Any]:
        """One cell feature by its id (``element.medium.method.cell_id``)."""
        parts = feature_id.split("~")
        if len(parts) != 5:
            raise NotFoundError(f"feature {feature_id!r} not found")
        grid, element, medium, method, cell_id = parts
        pol = self.policy(actor, dataset_id)
        if not pol.element_visible(actor, element):
            raise NotFoundError(f"feature {feature_id!r} not found")
        try:
            g = get_grid(grid)
            key = int(g.id_to_key([cell_id])[0])
            level_m = int(g.level_of(np.array([key]))[0])
        except (GridError, ValueError, IndexError):
            raise NotFoundError(f"feature {feature_id!r} not found") from None
        feats, _ = self.cell_features(
            actor, dataset_id, element=element, medium=medium, method=method, grid=grid,
            level=level_m, cell_id=cell_id, limit=1,
        )
        if not feats:
            raise NotFoundError(f"feature {feature_id!r} not found")
        return feats[0]

    def sample_frame(
        self, actor: Actor, dataset_id: str, elements: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """The wide sample table (one row per sample) ``actor`` may download.

        Raises
        ------
        AccessDenied
            For an aggregated-only dataset without full access.
        """
        from chemearth.render.sample_export import samples_wide

        pol = self.sample_policy(actor, dataset_id)
        row = self.snapshot().records[dataset_id]
        allowed = [e for e in string_list(row.get("elements")) if pol.element_visible(actor, e)]
        if elements:  # unknown and embargoed elements are left out alike
            allowed = [e for e in allowed if e in set(elements)]
        frame = samples_wide(self.store, dataset_id, elements=allowed)
        frame.attrs.update(citation=str(row["citation"]), licence=str(row["licence"]),
                           dataset_id=dataset_id, version=int(row["version"]))
        return frame

    def sample_table(self, actor: Actor, dataset_id: str) -> pd.DataFrame:
        """:meth:`sample_frame` of every element ``actor`` may see, kept per catalogue
        snapshot (clients page through it); callers must not change it."""
        pol = self.sample_policy(actor, dataset_id)  # before the memo: it is not per actor
        shown = tuple(e for e in string_list(self.snapshot().records[dataset_id].get(
            "elements")) if pol.element_visible(actor, e))
        return self.memo(("sample_table", dataset_id, shown),  # type: ignore[no-any-return]
                         lambda: self.sample_frame(actor, dataset_id))

    def sample_features(
        self,
        actor: Actor,
        dataset_id: str,
        *,
        elements: Sequence[str] | None = None,
        medium: str | None = None,
        country: str | None = None,
        bbox: Sequence[float] | None = None,
        sample_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
        where: Where | None = None,
    ) -> tuple[list[dict[str, Any]], int]:
        """GeoJSON point features of samples (without geometry where a sample has no
        coordinates), and how many matched in all (``where``: a filter)."""
        if elements:
            frame = self.sample_frame(actor, dataset_id, elements)
        else:
            frame = self.sample_table(actor, dataset_id)
        if sample_id is not None:
            frame = frame[frame["sample_id"].astype(str) == sample_id]
        if medium:
            frame = frame[frame["medium"].astype(str) == medium]
        if country:
            frame = frame[frame["country"].astype(str) == country.upper()]
        if bbox is not None:
            w, s, e, n = _bbox(bbox)
            lon, lat = frame["longitude"], frame["latitude"]
            frame = frame[(lon >= w) & (lon <= e) & (lat >= s) & (lat <= n)]
        if where is not None:
            frame = frame[where(frame.assign(dataset=dataset_id), lambda: sample_points(frame))]
        matched = len(frame)
        page = frame.iloc[offset : offset + min(limit, self.max_rows)]
        feats = []
        base = ("sample_id", "longitude", "latitude")
        for rec in page.to_dict("records"):
            props: dict[str, Any] = {"dataset": dataset_id, "sample_id": str(rec["sample_id"])}
            for k, v in rec.items():
                if k not in base:
                    props[str(k)] = plain(v, default=str)
            feats.append(
                {
                    "type": "Feature",
                    "id": str(rec["sample_id"]),
                    "geometry": _point(rec["longitude"], rec["latitude"]),
                    "properties": props,
                }
            )
        return feats, matched

    def sample_feature(self, actor: Actor, dataset_id: str, sample_id: str) -> dict[str, Any]:
        """One sample feature by its sample id."""
        feats, _ = self.sample_features(actor, dataset_id, sample_id=sample_id, limit=1)
        if not feats:
            raise NotFoundError(f"feature {sample_id!r} not found")
        return feats[0]

    # ------------------------------------------------------------------ elements

    def element_baselines(self, actor: Actor, element: str) -> list[dict[str, Any]]:
        """Baseline statistics of ``element`` per dataset, medium and method."""
        return list(self.memo(("baselines", element, self.sight(actor)),
                               lambda: self._element_baselines(actor, element)))

    def _element_baselines(self, actor: Actor, element: str) -> list[dict[str, Any]]:
        from chemearth.stats.baselines import baseline

        held = {r["element"]: r["datasets"] for r in self.elements(actor)}
        if element not in held:
            raise NotFoundError(f"element {element!r} not found")
        out = []
        for ds in held[element]:
            pol = self.snapshot().policies[ds]
            try:
                table = baseline(self.store, element, dataset=ds)
            except ChemearthError:
                continue
            if pol.disclosure_controlled(actor):
                table = self._disclose_totals(ds, element, table, pol.min_cell_n(actor))
            for rec in table.to_dict("records"):
                if int(rec.get("n", 0)) < pol.min_cell_n(actor):
                    continue
                rec["samples_visible"] = pol.samples_visible(actor, element)
                out.append({str(k): plain(v, default=str) for k, v in rec.items()})
        return out

    def element_values(
        self,
        actor: Actor,
        element: str,
        dataset_id: str,
        medium: str | None = None,
        method: str | None = None,
    ) -> tuple[np.ndarray, np.ndarray, str]:
        """Sample values of one element (for plots): values, censored flags and unit.

        Raises
        ------
        AccessDenied
            For an aggregated-only dataset without full access.
        """
        pol = self.sample_policy(actor, dataset_id)
        m = self.store.measurements(dataset_id, elements=[element])
        if not pol.element_visible(actor, element):  # as if the dataset did not hold it
            m = m.iloc[:0]
        if medium:
            m = m[m["medium"].astype(str) == medium]
        if method is not None:
            m = m[m["method"].astype(str) == method]
        units = m["unit"].astype(str).unique()
        if m.empty or len(units) != 1:
            raise NotFoundError(
                f"no single set of {element!r} values in dataset {dataset_id!r}"
                + (" (choose a medium or method)" if len(units) > 1 else "")
            )
        return (
            m["value"].to_numpy(dtype=float),
            m["censored"].to_numpy(dtype=bool),
            str(units[0]),
        )


#: The statistics a published layer offers (``dl_max`` is the detection limit, not a
#: statistic of the values).
PUBLISHED_STATISTICS = [s for s in STATISTICS if s != "dl_max"]


def _view_ask(
    pol: Policy, actor: Actor, dataset_id: str, element: str, medium: str | None,
    method: str | None, grid: str | None, level: int | str | None, stat: str,
) -> tuple[Hashable, ...]:
    """The memo key of a layer request (a level in metres however written: ``40km``) and of
    what ``actor`` may see of the dataset (the resolved view depends on nothing else)."""
    with contextlib.suppress(GridError):  # not a level: the request fails when resolved
        level = None if level is None else parse_level(level)
    return ("view", dataset_id, element, medium, method, grid, level, stat,
            pol.min_cell_n(actor), pol.element_visible(actor, element))


def cell_feature_id(props: dict[str, Any]) -> str:
    """The OGC feature id of a cell: ``grid~element~medium~method~cell_id``."""
    return "~".join(
        str(props[k]) for k in ("grid", "element", "medium", "method", "cell_id")
    )


def _point(lon: Any, lat: Any) -> dict[str, Any] | None:
    """A GeoJSON point, None for a sample without coordinates (QC and textbook data)."""
    x, y = finite(lon), finite(lat)
    return None if x is None or y is None else {"type": "Point", "coordinates": [x, y]}


def _grids(rows: pd.DataFrame) -> list[str]:
    """The grids of inventory ``rows``, the global grid first (the default)."""
    return sorted((str(x) for x in rows["grid"].unique()), key=lambda n: (n != "global", n))


def _bbox(bbox: Sequence[float]) -> tuple[float, float, float, float]:
    if len(bbox) != 4:
        raise GridError("bbox needs four numbers: west,south,east,north")
    w, s, e, n = (float(v) for v in bbox)
    if not (-180 <= w <= 180 and -180 <= e <= 180 and -90 <= s <= n <= 90):
        raise GridError(f"bbox {w},{s},{e},{n} is not west,south,east,north in degrees")
    return w, s, e, n
