"""CQL2 filters (OGC API - Features - Part 3: Filtering) over the features of a collection.

A filter is read by pygeofilter's parsers (CQL2 text and CQL2 JSON) into its syntax tree,
then evaluated on the table of features the gateway is about to publish
(:meth:`~chemearth.access.gateway.Gateway.sample_features`,
:meth:`~chemearth.access.gateway.Gateway.cell_features`), after every sharing rule and
before paging, so ``numberMatched`` and the ``next`` links count the filtered features.

**What a filter sees is what the feature shows.** It runs on the published values only:
an embargoed element is not a property at all (an *unknown property*, word for word as
for an element the dataset does not hold), a cell withheld by disclosure control is not
in the table, and a statistic withheld from a published cell is null, so ``median > 10``
does not match a cell whose median is withheld, and neither does ``NOT (median > 10)``.

Semantics (CQL2 1.0):

* comparisons with a null operand are *unknown*; ``AND``, ``OR`` and ``NOT`` follow
  three-valued logic, and a feature matches when the filter is *true*;
* ``LIKE`` uses ``%`` (any characters), ``_`` (one character) and ``\\`` (escape); it is
  matched segment by segment, never by a backtracking regular expression;
* ``CASEI(...)`` (and ``ILIKE``, which GDAL sends) compare without case;
* spatial functions (``S_INTERSECTS``, ``S_WITHIN``, ``S_CONTAINS``, ``S_DISJOINT``,
  ``S_TOUCHES``, ``S_CROSSES``, ``S_OVERLAPS``, ``S_EQUALS``) compare the feature's
  geometry (WGS 84 longitude, latitude: CRS84) with a literal ``POINT``, ``POLYGON``, ...
  or ``BBOX``; a feature without geometry matches none of them;
* a value below the detection limit is compared as its detection limit (its
  ``<column>_censored`` property is true).

Temporal and array functions, arithmetic and other functions are refused with a
:class:`FilterError`, as are filters over :data:`MAX_FILTER_CHARS` characters, deeper than
:data:`MAX_DEPTH` or with more than :data:`MAX_NODES` nodes.

Examples
--------
>>> import pandas as pd
>>> qs = [Queryable("sample_id", "string"), Queryable("Zn", "number")]
>>> frame = pd.DataFrame({"sample_id": ["a", "b", "c"], "Zn": [50.0, float("nan"), 300.0]})
>>> flt = parse_filter("Zn > 100 OR sample_id LIKE 'b%'").bind(qs)
>>> flt.mask(frame).tolist()
[False, True, True]
>>> parse_filter("NOT (Zn > 100)").bind(qs).mask(frame).tolist()    # null stays unknown
[True, False, False]
>>> parse_filter("Cu > 1").bind(qs)
Traceback (most recent call last):
...
chemearth.access.cql2.FilterError: unknown property 'Cu' (see the queryables)
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pygeofilter import ast

from chemearth.access.cql2 import CRS84, FilterError, Queryable, RowEvaluator

__all__ = [
    "CRS84",
    "FILTER_LANGS",
    "MAX_DEPTH",
    "MAX_FILTER_CHARS",
    "MAX_NODES",
    "BoundFilter",
    "FeatureFilter",
    "FilterError",
    "Queryable",
    "cell_queryables",
    "parse_filter",
    "query_filter",
    "queryables_schema",
    "sample_points",
    "sample_queryables",
]

#: Filter languages read; ``cql-text`` (the draft's name, sent by GDAL before 3.7) is
#: read as CQL2 text.
FILTER_LANGS = ("cql2-text", "cql2-json", "cql-text")
#: Longest filter read (characters).
MAX_FILTER_CHARS = 8_000
#: Deepest filter read (nested nodes of its syntax tree).
MAX_DEPTH = 100
#: Most nodes in one filter.
MAX_NODES = 1_000


# ----------------------------------------------------------------------------- queryables


_SAMPLE_BASE = (
    Queryable("dataset", "string", "Dataset", "The dataset id."),
    Queryable("sample_id", "string", "Sample", "The sample id in its dataset."),
    Queryable("country", "string", "Country", "ISO 3166-1 alpha-2 code of the site."),
    Queryable("medium", "string", "Medium", "The sampled medium."),
)


def sample_queryables(frame: pd.DataFrame) -> list[Queryable]:
    """The queryables of a samples collection: its wide sample table's properties.

    ``frame`` is the table :meth:`Gateway.sample_frame` gives the actor (embargoed
    elements are not in it, so they are not queryable).

    Examples
    --------
    >>> f = pd.DataFrame({"sample_id": ["1"], "Zn": [3.0], "Zn_censored": [False]})
    >>> f.attrs.update(columns=["Zn"], units={"Zn": "mg/kg"}, elements={"Zn": "Zn"})
    >>> [(q.name, q.kind) for q in sample_queryables(f)][4:]
    [('Zn', 'number'), ('Zn_censored', 'boolean'), ('geometry', 'point')]
    """
    out = list(_SAMPLE_BASE)
    units = frame.attrs.get("units") or {}
    elements = frame.attrs.get("elements") or {}
    for col in frame.attrs.get("columns") or []:
        unit = units.get(col, "")
        out.append(Queryable(
            col, "number", f"{elements.get(col, col)} ({unit})".replace(" ()", ""),
            "Concentration; below the detection limit, the limit (see "
            f"{col}_censored); null where not analysed."))
        out.append(Queryable(f"{col}_censored", "boolean", f"{col} below detection",
                             f"True where {col} is below the detection limit."))
    out.append(Queryable("geometry", "point", "Site", "The sample site (CRS84)."))
    return out


def sample_points(frame: pd.DataFrame) -> np.ndarray:
    """The points of a sample table's ``longitude`` and ``latitude`` (shapely; None for a
    sample without coordinates).

    Examples
    --------
    >>> sample_points(pd.DataFrame({"longitude": [5.0, None], "latitude": [50.0, 1.0]}))
    array([<POINT (5 50)>, None], dtype=object)
    """
    import shapely

    lon, lat = (frame[c].to_numpy(dtype=float) for c in ("longitude", "latitude"))
    ok = np.isfinite(lon) & np.isfinite(lat)
    out = np.full(len(frame), None, dtype=object)
    out[ok] = shapely.points(lon[ok], lat[ok])
    return out


def cell_queryables(statistics: Iterable[str]) -> list[Queryable]:
    """The queryables of a cells collection: the names and ``statistics`` of a cell.

    Examples
    --------
    >>> [q.name for q in cell_queryables(["n", "median"])][-3:]
    ['n', 'median', 'geometry']
    """
    out = [
        Queryable("dataset", "string", "Dataset", "The dataset id."),
        Queryable("cell_id", "string", "Cell", "The cell id in its grid."),
        Queryable("grid", "string", "Grid", "The grid (global or a regional one)."),
        Queryable("level", "string", "Level", "The cell size, as 10km or 500m."),
        Queryable("element", "string", "Element", "The element symbol."),
        Queryable("medium", "string", "Medium", "The sampled medium."),
        Queryable("method", "string", "Method", "The analytical method."),
        Queryable("unit", "string", "Unit", "The unit of the statistics."),
    ]
    for name in statistics:
        kind = "integer" if name in ("n", "n_censored") else "number"
        out.append(Queryable(name, kind, name, "A statistic of the cell's samples; null "
                             "where withheld by disclosure control."))
    out.append(Queryable("geometry", "polygon", "Cell", "The cell outline (CRS84)."))
    return out


def queryables_schema(queryables: Sequence[Queryable], url: str, title: str) -> dict[str, Any]:
    """The queryables as a JSON Schema document (``application/schema+json``).

    The ``queryables`` array repeats the names in the form of the Part 3 draft, which
    GDAL before 3.7 reads to know which properties it may filter on the server.

    Examples
    --------
    >>> doc = queryables_schema([Queryable("Zn", "number")], "http://x/q", "x")
    >>> doc["properties"], doc["additionalProperties"]
    ({'Zn': {'title': 'Zn', 'type': 'number'}}, False)
    """
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": url,
        "type": "object",
        "title": title,
        "properties": {q.name: q.schema() for q in queryables},
        "additionalProperties": False,
        "queryables": [{"id": q.name, "type": "geometry" if q.geometry else q.kind}
                       for q in queryables],
    }


# ----------------------------------------------------------------------------- parsing


@dataclass(frozen=True)
class FeatureFilter:
    """A filter read from CQL2 text or JSON; :meth:`bind` checks it against a
    collection's queryables."""

    text: str
    lang: str
    tree: Any

    def bind(self, queryables: Sequence[Queryable]) -> BoundFilter:
        """The filter checked against ``queryables`` (unknown properties and type
        mismatches raise :class:`FilterError`)."""
        bound = BoundFilter(self, {q.name: q for q in queryables})
        bound.mask(pd.DataFrame({q.name: [] for q in queryables if not q.geometry}))
        return bound


@dataclass(frozen=True)
class BoundFilter:
    """A filter checked against a collection's queryables."""

    filter: FeatureFilter
    queryables: dict[str, Queryable]

    def mask(self, frame: pd.DataFrame,
             shapes: Callable[[], Any] | None = None) -> np.ndarray:
        """Which rows of ``frame`` (columns named as the properties) match; ``shapes()``
        gives the rows' geometries (shapely, None where a feature has none) when the
        filter is spatial."""
        ev = RowEvaluator(self.queryables, frame, shapes)
        try:
            out = ev.evaluate(self.filter.tree)
        except FilterError:
            raise
        except (TypeError, ValueError, AttributeError, IndexError, KeyError) as exc:
            raise FilterError(f"the filter cannot be applied: {exc}") from None
        if not isinstance(out, pd.arrays.BooleanArray):
            raise FilterError("the filter is not a condition (true or false per feature)")
        return np.asarray(out.fillna(False).to_numpy(dtype=bool))


def parse_filter(text: str, lang: str | None = None, crs: str | None = None) -> FeatureFilter:
    """Read a filter (``filter``, ``filter-lang`` and ``filter-crs`` of a request).

    Raises
    ------
    FilterError
        Bad syntax (pygeofilter's message), an unknown language or CRS, or a filter too
        long or too deep.

    Examples
    --------
    >>> parse_filter("Zn BETWEEN 10 AND 20").tree
    Between(lhs=ATTRIBUTE Zn, low=10, high=20, not_=False)
    >>> parse_filter('{"op": ">", "args": [{"property": "n"}, 3]}', "cql2-json").tree
    GreaterThan(lhs=ATTRIBUTE n, rhs=3)
    """
    lang = lang or "cql2-text"
    if lang not in FILTER_LANGS:
        raise FilterError(f"filter-lang {lang!r} is not supported; one of "
                          f"{', '.join(FILTER_LANGS)}")
    if crs not in (None, "", CRS84):
        raise FilterError(f"filter-crs {crs!r} is not supported; the only one is {CRS84}")
    if len(text) > MAX_FILTER_CHARS:
        raise FilterError(f"the filter is longer than {MAX_FILTER_CHARS} characters")
    if not text.strip():
        raise FilterError("the filter is empty")
    try:
        tree = _parse_json(text) if lang == "cql2-json" else _text_parser().parse(text)
    except FilterError:
        raise
    except RecursionError:
        raise FilterError(f"the filter is nested deeper than {MAX_DEPTH} levels") from None
    except Exception as exc:  # lark's and pygeofilter's errors have no common base
        message = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
        message = " ".join(re.split(r"\s+Expected", message)[0].split())[:300]
        raise FilterError(f"the filter cannot be read as {lang}: {message}") from None
    _check_size(tree)
    return FeatureFilter(text, lang, tree)


def _parse_json(text: str) -> Any:
    from pygeofilter.parsers.cql2_json import parse

    doc = json.loads(text)
    _check_size(doc, json_doc=True)
    return parse(_normalise_json(doc))


def _normalise_json(node: Any) -> Any:
    """CQL2 JSON 1.0 forms pygeofilter 0.4 reads otherwise: ``between`` with three
    arguments, and ``{"bbox": [...]}`` (pygeofilter swaps its corners) as a polygon."""
    if isinstance(node, list):
        return [_normalise_json(v) for v in node]
    if not isinstance(node, dict):
        return node
    if isinstance(node.get("bbox"), list) and len(node) == 1:
        box = node["bbox"]
        if len(box) not in (4, 6) or not all(isinstance(v, int | float) for v in box):
            raise FilterError("a bbox has four numbers (or six, in 3D)")
        w, s, e, n = (box[0], box[1], box[3], box[4]) if len(box) == 6 else box
        return {"type": "Polygon",
                "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}
    out = {k: _normalise_json(v) for k, v in node.items()}
    args = out.get("args")
    if out.get("op") == "between" and isinstance(args, list) and len(args) == 3:
        out["args"] = [args[0], [args[1], args[2]]]
    return out


@functools.cache
def _text_parser() -> Any:
    """pygeofilter's CQL2 text grammar and transformer, with four fixes: property names
    of one character (``n``, ``K``, ``U``), ``''`` and ``\\'`` inside strings, ``NOT (a OR b)``, and
    ``ILIKE`` (which GDAL sends; its transformer has it, its grammar not)."""
    from lark import Lark, v_args
    from pygeofilter.parsers.cql2_text import parser as cql2

    path = Path(cql2.__file__).with_name("grammar.lark")
    grammar = path.read_text()
    fixes = {
        "attribute: /[a-zA-Z][a-zA-Z_:0-9.]+/": "attribute: /[a-zA-Z][a-zA-Z_:0-9.]*/",
        "SINGLE_QUOTED: \"'\" /.*?/ \"'\"": "SINGLE_QUOTED: /'(?:[^'\\\\]|''|\\\\.)*'/",
        '-> not_like\n': '-> not_like\n          | expression "ILIKE"i expression -> ilike\n'
                          '          | expression "NOT"i "ILIKE"i expression -> not_ilike\n',
        '| "NOT"i "(" predicate ")"': '| "NOT"i "(" condition ")"',
    }
    for old, new in fixes.items():
        if old not in grammar:  # pygeofilter changed its grammar: look again
            raise RuntimeError(f"pygeofilter's CQL2 grammar has no {old!r}")
        grammar = grammar.replace(old, new)

    @v_args(meta=False, inline=True)
    class Transformer(cql2.CQLTransformer):  # type: ignore[misc]
        def SINGLE_QUOTED(self, token: str) -> str:  # noqa: N802 - a terminal's name
            return re.sub(r"''|\\'", "'", str(token[1:-1]))

    return Lark(grammar, parser="lalr", maybe_placeholders=False, transformer=Transformer(),
                source_path=str(path), import_paths=[str(path.parent.parent)])


def _check_size(tree: Any, json_doc: bool = False) -> None:
    """Refuse a tree (a parsed filter or a JSON document) too deep or too large, without
    recursion."""
    limit = MAX_DEPTH * 3 if json_doc else MAX_DEPTH  # JSON nests args in lists
    stack = [(tree, 1)]
    nodes = 0
    while stack:
        node, depth = stack.pop()
        nodes += 1
        if depth > limit:
            raise FilterError(f"the filter is nested deeper than {MAX_DEPTH} levels")
        if nodes > MAX_NODES * (3 if json_doc else 1):
            raise FilterError(f"the filter has more than {MAX_NODES} terms")
        if json_doc:
            subs = list(node.values()) if isinstance(node, dict) else (
                node if isinstance(node, list) else [])
        else:
            subs = node.get_sub_nodes() if hasattr(node, "get_sub_nodes") else []
            subs = subs if isinstance(subs, list) else [subs]
        stack.extend((s, depth + 1) for s in subs)


def query_filter(flt: FeatureFilter | None, params: Mapping[str, str],
                 queryables: Sequence[Queryable]) -> BoundFilter | None:
    """``flt`` and the equalities of the query ``params`` that name a queryable
    (queryables as query parameters: ``?sample_id=A12&Zn_censored=false``), checked
    against ``queryables``; None when there is neither. Parameters naming no queryable
    are left alone (they may be other parameters of the request).

    Examples
    --------
    >>> qs = [Queryable("sample_id", "string"), Queryable("Zn", "number")]
    >>> query_filter(None, {"Zn": "3", "limit": "5"}, qs).filter.text
    'Zn = 3.0'
    >>> query_filter(None, {"Zn": "x"}, qs)
    Traceback (most recent call last):
    ...
    chemearth.access.cql2.FilterError: query parameter Zn='x' is not a number
    """
    by = {q.name: q for q in queryables}
    terms: list[Any] = []
    texts: list[str] = []
    for name, text in params.items():
        q = by.get(name)
        if q is None or q.geometry:
            continue
        value: Any = text
        if q.kind in ("number", "integer"):
            try:
                value = float(text)
            except ValueError:
                raise FilterError(f"query parameter {name}={text!r} is not a number") from None
        elif q.kind == "boolean":
            if text.lower() not in ("true", "false"):
                raise FilterError(f"query parameter {name}={text!r} is not true or false")
            value = text.lower() == "true"
        terms.append(ast.Equal(ast.Attribute(name), value))
        texts.append(f"{name} = {value!r}" if isinstance(value, str)
                     else f"{name} = {str(value).lower() if isinstance(value, bool) else value}")
    if flt is not None:
        terms.insert(0, flt.tree)
        texts.insert(0, f"({flt.text})" if texts else flt.text)
    if not terms:
        return None
    tree = terms[0] if len(terms) == 1 else ast.And.from_items(*terms)
    lang = flt.lang if flt is not None and not texts[1:] else "cql2-text"
    return FeatureFilter(" AND ".join(texts), lang, tree).bind(queryables)
