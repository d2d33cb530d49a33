"""Interpolated surfaces and atlas pages as an actor may see them.

:class:`Mapper` wraps a :class:`~chemearth.access.gateway.Gateway` and applies the sharing rules
(:mod:`chemearth.access.policy`) before anything is interpolated or drawn:

* a restricted dataset answers as a dataset that does not exist;
* an interpolated surface and an atlas page are made from the samples (a kriged surface
  passes through them where the nugget is small), so they need sample access: for an
  aggregated-only dataset every element is refused alike (403), whether held, embargoed or
  absent;
* with sample access, an embargoed element answers as an element the dataset does not hold.

Surfaces are block estimates on the cells of a grid level (:meth:`Interpolation.cells`),
classed at the 5, 25, 50, 75, 90 and 98th percentiles of the cell estimates, and are
memoised per catalogue snapshot, request and what the actor may see, so the map tiles of a
surface come from one interpolation.
"""

from __future__ import annotations

import io
from collections.abc import Hashable
from typing import Any, Final

import numpy as np
import pandas as pd

from chemearth.access.gateway import Gateway
from chemearth.access.policy import Actor
from chemearth.errors import AccessDenied, NotFoundError

__all__ = ["SURFACE_PERCENTS", "Mapper"]

#: Class limits of surface layers (7 classes, as the European atlases).
SURFACE_PERCENTS: Final = (5, 25, 50, 75, 90, 98)
#: Interpolation methods offered over the web.
METHODS: Final = ("kriging", "idw")


class Mapper:
    """Surfaces and atlas pages behind the access rules (the web layer's only way to them)."""

    def __init__(self, gateway: Gateway, boundaries: Any = None) -> None:
        self.gw = gateway
        self.store = gateway.store
        self.boundaries = boundaries

    def _key(self, actor: Actor, *parts: Hashable) -> tuple[Hashable, ...]:
        return ("mapper", self.gw.sight(actor), *parts)

    def check(self, actor: Actor, dataset_id: str, element: str) -> None:
        """Raise unless ``actor`` may see surfaces of ``element`` in ``dataset_id``."""
        pol = self.gw.policy(actor, dataset_id)  # NotFoundError for restricted
        if not pol.samples_visible(actor):
            raise AccessDenied(
                f"the sample data of dataset {dataset_id!r} are shared as grid layers only; "
                "interpolated surfaces and atlas pages are made from samples")
        if not pol.element_visible(actor, element):
            raise NotFoundError(f"dataset {dataset_id!r} holds no analyses of {element!r}")

    def interpolation(self, actor: Actor, dataset_id: str, element: str,
                      method: str = "kriging") -> Any:
        """The fitted :class:`chemearth.interp.surfaces.Interpolation` (memoised)."""
        from chemearth.interp.surfaces import interpolate

        if method not in METHODS:
            raise NotFoundError(f"no interpolation method {method!r}")
        self.check(actor, dataset_id, element)

        def make() -> Any:
            return interpolate(self.store, dataset_id, element, method=method)

        return self.gw.memo(self._key(actor, "fit", dataset_id, element, method), make)

    def surface(self, actor: Actor, dataset_id: str, element: str, *,
                method: str = "kriging", grid: str = "global", level: str = "10km"
                ) -> tuple[pd.DataFrame, dict[str, Any]]:
        """Cell estimates and a description with the legend (memoised)."""
        from chemearth.stats.classes import legend

        ip = self.interpolation(actor, dataset_id, element, method)

        def make() -> tuple[pd.DataFrame, dict[str, Any]]:
            cells = ip.cells(grid, level)
            d = {k: v for k, v in ip.describe().items() if k != "crs_wkt"}
            lg = legend(cells["estimate"].to_numpy(), ip.unit, "estimate",
                        percents=SURFACE_PERCENTS)
            d.update({"grid": grid, "level": cells.attrs.get("level_m"),
                      "n_cells": len(cells), "legend": lg.to_dict()})
            return cells, d

        return self.gw.memo(  # type: ignore[no-any-return]
            self._key(actor, "cells", dataset_id, element, method, grid, level), make)

    def layer(self, actor: Actor, dataset_id: str, element: str, *, method: str = "kriging",
              grid: str = "global", level: str = "10km") -> tuple[Any, list[str]]:
        """A tile index of the surface's cells and the class colours."""
        from chemearth.grid.geometry import get_grid
        from chemearth.grid.levels import parse_level
        from chemearth.render.layer_index import LayerIndex
        from chemearth.stats.classes import classify

        cells, d = self.surface(actor, dataset_id, element, method=method, grid=grid,
                                level=level)

        def make() -> tuple[Any, list[str]]:
            classes = d["legend"]["classes"]
            breaks = [c["lower"] for c in classes[1:]]
            cls = classify(cells["estimate"].to_numpy(), breaks)
            index = LayerIndex.from_cells(get_grid(grid), parse_level(level),
                                          cells["cell_key"].to_numpy(np.int64), cls)
            return index, [c["colour"] for c in classes]

        return self.gw.memo(  # type: ignore[no-any-return]
            self._key(actor, "layer", dataset_id, element, method, grid, level), make)

    def atlas_page(self, actor: Actor, dataset_id: str, element: str, *, fmt: str = "png",
                   lang: str = "en", kind: str = "surface", method: str | None = None
                   ) -> bytes:
        """One element's atlas page as PNG or (vector) PDF bytes (memoised)."""
        from chemearth.render.atlas import element_page

        if fmt not in ("png", "pdf"):
            raise NotFoundError(f"no atlas page format {fmt!r}")
        self.check(actor, dataset_id, element)

        def make() -> bytes:
            fig, _ = element_page(self.store, dataset_id, element, lang=lang, kind=kind,
                                  boundaries=self.boundaries, method=method)
            buf = io.BytesIO()
            fig.savefig(buf, format=fmt, dpi=110 if fmt == "png" else 100,
                        metadata={"Software": "chemearth"} if fmt == "png" else
                        {"Creator": "chemearth"})
            return buf.getvalue()

        return self.gw.memo(  # type: ignore[no-any-return]
            self._key(actor, "page", dataset_id, element, fmt, lang, kind, method), make)
