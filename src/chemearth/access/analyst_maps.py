"""Map forms (GeoJSON) of the analytics answers that have no geometry of their own.

:class:`~chemearth.access.analyst.Analyst` answers probabilistic screening and change
significance as one record per grid cell, and compositional scores as one record per
sample. A map needs their outlines and places: these functions take those answers *as the
analyst gave them to the actor* (so every sharing rule has already been applied) and add

* the outline of each cell, in WGS84 (:func:`cells_geojson`: a polygon per cell record, its
  properties the record unchanged), and
* the place of each sample (:func:`score_points`: a point per score record, its properties
  the record unchanged; the analyst's ``compositional(scores=True)`` checks sample access
  before any coordinate is read).

Every other member of the answer (counts, thresholds, the standard, the precision source,
the cut-off…) stays a top-level member of the FeatureCollection, with ``n_cells``/``n_rows``
(all records), ``offset`` and ``n_returned`` (the features of this page). A page holds at
most the gateway's ``max_rows`` features.

Examples
--------
>>> doc = {"dataset": "d", "grid": "global", "p_lo": 0.1,
...        "cells": [{"cell_id": "G10km-E0240-N636", "probability": 0.5}]}
>>> fc = cells_geojson(doc)
>>> fc["type"], fc["p_lo"], fc["n_cells"], fc["features"][0]["properties"]["probability"]
('FeatureCollection', 0.1, 1, 0.5)
>>> fc["features"][0]["geometry"]["type"]
'Polygon'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import shapely

from chemearth.access.analyst import Analyst
from chemearth.access.policy import Actor
from chemearth.grid.geometry import get_grid

__all__ = ["DECIMALS", "cells_geojson", "score_points"]

#: Decimal places of the coordinates of a map form (1e-6 degree: about 0.1 m).
DECIMALS = 6
#: Segments per cell edge in WGS84 (a cell's sides bend a little off the grid's CRS).
_DENSIFY = 4


def _page(rows: list[dict[str, Any]], limit: int | None, offset: int, most: int | None
          ) -> list[dict[str, Any]]:
    size = len(rows) if limit is None else limit
    if most is not None:
        size = min(size, most)
    return rows[offset:offset + size]


def _collection(doc: dict[str, Any], key: str, features: list[dict[str, Any]]
                ) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "FeatureCollection", "features": features}
    out.update({k: v for k, v in doc.items() if k not in (key, "type", "features")})
    return out


def cells_geojson(doc: dict[str, Any], *, limit: int | None = None, offset: int = 0,
                  most: int | None = None) -> dict[str, Any]:
    """An analyst's per-cell answer (``cells`` of ``cell_id`` on the grid ``grid``) as a
    GeoJSON FeatureCollection of the cells' outlines.

    Parameters
    ----------
    doc : dict
        The answer of :meth:`Analyst.probability
        <chemearth.access.analyst.Analyst.probability>` or :meth:`Analyst.change_significance
        <chemearth.access.analyst.Analyst.change_significance>`.
    limit, offset : int
        The page of cells given as features (default: every cell), at most ``most``.
    most : int, optional
        The largest page (the gateway's ``max_rows``).

    Returns
    -------
    dict
        The FeatureCollection: one Polygon per cell, its properties the cell's record; the
        answer's other members, ``n_cells``, ``offset`` and ``n_returned``.
    """
    cells = list(doc.get("cells") or [])
    page = _page(cells, limit, offset, most)
    grid = get_grid(str(doc.get("grid") or "global"))
    polys: list[Any] = []
    if page:
        keys = grid.id_to_key([str(c["cell_id"]) for c in page])
        polys = list(grid.cell_polygons(keys, densify=_DENSIFY, to_wgs84=True))
    features = [{"type": "Feature", "id": str(c["cell_id"]),
                 "geometry": _mapping(p), "properties": c}
                for c, p in zip(page, polys, strict=True)]
    out = _collection(doc, "cells", features)
    out.update(n_cells=len(cells), offset=offset, n_returned=len(features))
    return out


def score_points(analyst: Analyst, actor: Actor, dataset_id: str, *,
                 elements: Sequence[str] | None = None, factors: int = 2,
                 robust: bool = True, limit: int = 100, offset: int = 0) -> dict[str, Any]:
    """Per-sample compositional scores, robust distances and outlier flags as GeoJSON
    points at the samples' places (sample access only, as the scores themselves).

    The answer is :meth:`Analyst.compositional
    <chemearth.access.analyst.Analyst.compositional>` with ``scores=True`` (which refuses
    an actor without sample access before anything is read); its ``samples`` become the
    features, in the same order and page, their properties unchanged.
    """
    doc = analyst.compositional(actor, dataset_id, elements=elements, factors=factors,
                                robust=robust, scores=True, limit=limit, offset=offset)
    rows = list(doc.get("samples") or [])
    places = analyst.store.samples(dataset_id)[["sample_id", "longitude", "latitude"]]
    where = {str(s): (lon, lat) for s, lon, lat in places.itertuples(index=False)}
    features = []
    for r in rows:
        lon, lat = where.get(str(r["sample_id"]), (np.nan, np.nan))
        geom = (None if not (np.isfinite(lon) and np.isfinite(lat)) else
                {"type": "Point", "coordinates": [round(float(lon), DECIMALS),
                                                  round(float(lat), DECIMALS)]})
        features.append({"type": "Feature", "id": str(r["sample_id"]), "geometry": geom,
                         "properties": r})
    out = _collection(doc, "samples", features)
    out.update(n_returned=len(features))
    return out


def _mapping(polygon: Any) -> dict[str, Any] | None:
    if polygon is None:
        return None
    rounded = shapely.set_precision(polygon, 10.0 ** -DECIMALS)
    out: dict[str, Any] = shapely.geometry.mapping(rounded)
    return out
