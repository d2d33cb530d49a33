"""Evaluate a CQL2 filter's syntax tree (pygeofilter's) on the rows of a table.

:class:`RowEvaluator` is a pygeofilter evaluator whose values are columns of a table (one
value per row, with their nulls) or literals, and whose conditions are Kleene booleans
(pandas ``boolean``): a comparison with a null is unknown, and ``AND``, ``OR``, ``NOT``
follow three-valued logic. The filters themselves, their parsing and their limits are in
:mod:`chemearth.access.filtering`.

Examples
--------
>>> import pandas as pd
>>> from pygeofilter.parsers.cql2_json import parse
>>> frame = pd.DataFrame({"Zn": [50.0, float("nan"), 300.0]})
>>> tree = parse('{"op": "not", "args": [{"op": ">", "args": [{"property": "Zn"}, 100]}]}')
>>> RowEvaluator({"Zn": Queryable("Zn", "number")}, frame, None).evaluate(tree).tolist()
[True, <NA>, False]
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import numpy as np
import pandas as pd
from pygeofilter import ast, values
from pygeofilter.backends.evaluator import Evaluator
from pygeofilter.backends.evaluator import handle as _handle

from chemearth.errors import ChemearthError

__all__ = ["CRS84", "FilterError", "Queryable", "RowEvaluator", "like_matcher"]

def handle(*nodes: Any, subclasses: bool = False) -> Callable[[Any], Any]:
    """pygeofilter's ``handle`` decorator (the handler of these node types), typed."""
    return _handle(*nodes, subclasses=subclasses)  # type: ignore[no-any-return]


#: The one filter CRS: WGS 84 longitude, latitude.
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


class FilterError(ChemearthError, ValueError):
    """A filter that cannot be read or applied: its syntax, an unknown property, a type
    mismatch, something not supported, or too large (answered with 400)."""


@dataclass(frozen=True)
class Queryable:
    """A property a filter may name.

    Attributes
    ----------
    name : str
        The property name.
    kind : str
        ``string``, ``number``, ``integer``, ``boolean``, or the geometry: ``point`` or
        ``polygon``.
    title, description : str
        What the property is (the JSON Schema's ``title`` and ``description``).
    """

    name: str
    kind: str
    title: str = ""
    description: str = ""

    @property
    def geometry(self) -> bool:
        """True for the feature's geometry."""
        return self.kind in ("point", "polygon")

    def schema(self) -> dict[str, Any]:
        """The property's JSON Schema (OGC API - Features - Part 3, queryables)."""
        out: dict[str, Any] = {"title": self.title or self.name}
        if self.description:
            out["description"] = self.description
        if self.geometry:
            out["format"] = f"geometry-{self.kind}"
            out["x-ogc-role"] = "primary-geometry"
        else:
            out["type"] = self.kind
        return out


# ----------------------------------------------------------------------------- evaluation


@dataclass
class _Operand:
    """A value in a filter: one per row (``null`` gives the nulls) or a literal."""

    kind: str  # string | number | boolean | geometry
    values: Any
    null: np.ndarray | None = None

    @property
    def literal(self) -> bool:
        return self.null is None


_KIND = {"integer": "number", "point": "geometry", "polygon": "geometry"}
_CONVERSE = {"GeometryContains": "GeometryWithin", "GeometryWithin": "GeometryContains"}
_SPATIAL = {"GeometryIntersects": "intersects", "GeometryDisjoint": "disjoint",
            "GeometryContains": "contains", "GeometryWithin": "within",
            "GeometryTouches": "touches", "GeometryCrosses": "crosses",
            "GeometryOverlaps": "overlaps", "GeometryEquals": "equals"}


class RowEvaluator(Evaluator):  # type: ignore[misc]
    """Evaluate a filter's tree on the rows of a frame (pygeofilter's evaluator)."""

    def __init__(self, queryables: dict[str, Queryable], frame: pd.DataFrame,
                 shapes: Callable[[], Any] | None) -> None:
        self.queryables, self.frame, self.shapes = queryables, frame, shapes
        self.n = len(frame)

    def adopt(self, node: Any, *args: Any) -> Any:
        what = type(node).__name__
        if isinstance(node, ast.TemporalPredicate | date | datetime | time | timedelta
                      | values.Interval):
            what = "temporal values and functions (no property is a time)"
        elif isinstance(node, ast.Arithmetic):
            what = "arithmetic"
        elif isinstance(node, ast.ArrayPredicate | list):
            what = "arrays"
        raise FilterError(f"{what} not supported in filters")

    # ----------------------------------------------------------- logic
    @handle(ast.And)
    def and_(self, node: Any, lhs: Any, rhs: Any) -> Any:
        return self.condition(lhs) & self.condition(rhs)

    @handle(ast.Or)
    def or_(self, node: Any, lhs: Any, rhs: Any) -> Any:
        return self.condition(lhs) | self.condition(rhs)

    @handle(ast.Not)
    def not_(self, node: Any, sub: Any) -> Any:
        return ~self.condition(sub)

    @handle(ast.Include)
    def include(self, node: Any) -> Any:
        return _bools(np.full(self.n, not node.not_))

    def condition(self, value: Any) -> Any:
        if not isinstance(value, pd.arrays.BooleanArray):
            raise FilterError("AND, OR and NOT combine conditions, not values")
        return value

    # ----------------------------------------------------------- values
    @handle(ast.Attribute)
    def attribute(self, node: Any) -> _Operand:
        q = self.queryables.get(node.name)
        if q is None:
            raise FilterError(f"unknown property {node.name!r} (see the queryables)")
        kind = _KIND.get(q.kind, q.kind)
        if kind == "geometry":
            shapes = list(self.shapes()) if self.shapes is not None else []
            arr = np.empty(len(shapes), dtype=object)
            arr[:] = shapes
            return _Operand(kind, arr, np.array([s is None for s in shapes], dtype=bool))
        col = self.frame[node.name] if node.name in self.frame else pd.Series(
            [None] * self.n, dtype=object)
        if kind == "number":
            vals = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
            return _Operand(kind, vals, np.isnan(vals))
        obj = col.astype(object).to_numpy()
        null = np.asarray(pd.isna(obj), dtype=bool)
        obj = obj.copy()
        obj[null] = False if kind == "boolean" else ""
        if kind == "boolean":
            obj = obj.astype(bool)
        else:
            obj = np.array([str(v) for v in obj], dtype=object)
        return _Operand(kind, obj, null)

    @handle(str, int, float, bool)
    def literal(self, node: Any) -> _Operand:
        if isinstance(node, bool):
            return _Operand("boolean", node)
        if isinstance(node, str):
            return _Operand("string", node)
        return _Operand("number", float(node))

    @handle(values.Geometry, values.Envelope)
    def geometry(self, node: Any) -> _Operand:
        import shapely.geometry

        try:
            shape = shapely.geometry.shape(node.geometry)
        except Exception as exc:  # shapely's errors on bad GeoJSON vary
            raise FilterError(f"bad geometry in the filter: {exc}") from None
        return _Operand("geometry", shape)

    @handle(ast.Function)
    def function(self, node: Any, *args: Any) -> _Operand:
        name = node.name.lower()
        if name == "lower" and len(args) == 1:  # CASEI (pygeofilter names it lower)
            arg = self.operand(args[0])
            if arg.kind != "string":
                raise FilterError("CASEI takes a text property or text")
            if arg.literal:
                return _Operand("string", arg.values.lower())
            return _Operand("string", np.array([v.lower() for v in arg.values],
                                               dtype=object), arg.null)
        if name == "bbox" and len(args) in (4, 6):
            nums = [self.operand(a) for a in args]
            if not all(a.literal and a.kind == "number" for a in nums):
                raise FilterError("BBOX takes four numbers")
            v = [a.values for a in nums]
            return _Operand("geometry", _box(*(v if len(v) == 4 else v[:2] + v[3:5])))
        raise FilterError(f"function {node.name!r} not supported in filters (CASEI is)")

    def operand(self, value: Any) -> _Operand:
        if not isinstance(value, _Operand):
            raise FilterError("a condition cannot be compared as a value")
        return value

    # ----------------------------------------------------------- predicates
    @handle(ast.Comparison, subclasses=True)
    def comparison(self, node: Any, lhs: Any, rhs: Any) -> Any:
        a, b = self.operand(lhs), self.operand(rhs)
        self.same_kind(a, b, node.op.value)
        if a.kind == "geometry":
            raise FilterError("geometries are compared with S_EQUALS, S_INTERSECTS...")
        op = {"=": np.equal, "<>": np.not_equal, "<": np.less, "<=": np.less_equal,
              ">": np.greater, ">=": np.greater_equal}[node.op.value]
        return self.rows(op, a, b)

    @handle(ast.Between)
    def between(self, node: Any, lhs: Any, low: Any, high: Any) -> Any:
        x, lo, hi = self.operand(lhs), self.operand(low), self.operand(high)
        self.same_kind(x, lo, "BETWEEN")
        self.same_kind(x, hi, "BETWEEN")
        out = self.rows(np.greater_equal, x, lo) & self.rows(np.less_equal, x, hi)
        return ~out if node.not_ else out

    @handle(ast.In)
    def in_(self, node: Any, lhs: Any, *options: Any) -> Any:
        x = self.operand(lhs)
        out: Any = _bools(np.zeros(self.n, dtype=bool))
        for opt in options:
            o = self.operand(opt)
            self.same_kind(x, o, "IN")
            out = out | self.rows(np.equal, x, o)
        return ~out if node.not_ else out

    @handle(ast.IsNull)
    def is_null(self, node: Any, lhs: Any) -> Any:
        x = self.operand(lhs)
        null = np.full(self.n, False) if x.null is None else x.null
        return _bools(~null if node.not_ else null)

    @handle(ast.Like)
    def like(self, node: Any, lhs: Any) -> Any:
        x = self.operand(lhs)
        pattern, nocase = node.pattern, bool(node.nocase)
        if isinstance(pattern, dict) and pattern.get("op") == "casei":  # CQL2 JSON
            pattern, nocase = (pattern.get("args") or [None])[0], True
        elif getattr(pattern, "name", None) == "lower" and len(pattern.arguments) == 1:
            pattern, nocase = pattern.arguments[0], True
        if x.kind != "string" or not isinstance(pattern, str):
            raise FilterError("LIKE compares a text property with a text pattern")
        match = like_matcher(pattern.lower() if nocase else pattern)
        vals = [x.values] if x.literal else x.values
        hits = np.array([match(v.lower() if nocase else v) for v in vals], dtype=bool)
        null = np.zeros(self.n, dtype=bool) if x.literal else x.null
        hits = np.broadcast_to(hits, (self.n,)) if x.literal else hits
        out = _bools(hits, null)
        return ~out if node.not_ else out

    @handle(ast.SpatialComparisonPredicate, subclasses=True)
    def spatial(self, node: Any, lhs: Any, rhs: Any) -> Any:
        a, b = self.operand(lhs), self.operand(rhs)
        name = type(node).__name__
        if a.literal and not b.literal:  # literal first: the converse predicate
            a, b, name = b, a, _CONVERSE.get(name, name)
        return self.spatial_rows(_SPATIAL[name], a, b)

    @handle(ast.BBox)
    def bbox(self, node: Any, lhs: Any) -> Any:
        if node.crs not in (None, CRS84):
            raise FilterError(f"BBOX CRS {node.crs!r} not supported; the only one is CRS84")
        box = _box(float(node.minx), float(node.miny), float(node.maxx), float(node.maxy))
        return self.spatial_rows("intersects", self.operand(lhs),
                                 _Operand("geometry", box))

    def spatial_rows(self, op: str, a: _Operand, b: _Operand) -> Any:
        import shapely

        if a.kind != "geometry" or b.kind != "geometry" or a.literal or not b.literal:
            raise FilterError("spatial functions compare the geometry property with "
                              "a literal geometry (POINT, POLYGON, BBOX...)")
        try:
            hits = np.asarray(getattr(shapely, op)(a.values, b.values), dtype=bool)
        except shapely.errors.GEOSException as exc:
            raise FilterError(f"the filter's geometry cannot be used: {exc}") from None
        return _bools(hits, a.null)

    # ----------------------------------------------------------- helpers
    def same_kind(self, a: _Operand, b: _Operand, op: str) -> None:
        if a.kind != b.kind:
            raise FilterError(f"{op} compares a {a.kind} with a {b.kind}")

    def rows(self, op: Any, a: _Operand, b: _Operand) -> pd.arrays.BooleanArray:
        n = self.n
        null = np.zeros(n, dtype=bool)
        for x in (a, b):
            if not x.literal:
                null |= x.null
        av = a.values if not a.literal else np.full(n, a.values, dtype=object)
        bv = b.values if not b.literal else np.full(n, b.values, dtype=object)
        if a.kind == "number":
            av, bv = np.asarray(av, dtype=float), np.asarray(bv, dtype=float)
        with np.errstate(invalid="ignore"):
            hits = np.asarray(op(av, bv), dtype=bool) if n else np.zeros(0, dtype=bool)
        return _bools(hits, null)


def _bools(values: np.ndarray, null: np.ndarray | None = None) -> pd.arrays.BooleanArray:
    """Kleene booleans: ``values`` where known, unknown where ``null``."""
    values = np.asarray(values, dtype=bool)
    mask = np.zeros(len(values), dtype=bool) if null is None else np.asarray(null, dtype=bool)
    return pd.arrays.BooleanArray(values.copy(), mask.copy())


def _box(w: float, s: float, e: float, n: float) -> Any:
    """A CRS84 box; across the antimeridian when west > east."""
    import shapely

    if s > n:
        raise FilterError(f"a box's south {s:g} is north of its north {n:g}")
    if w <= e:
        return shapely.box(w, s, e, n)
    return shapely.union(shapely.box(w, s, 180.0, n), shapely.box(-180.0, s, e, n))


def like_matcher(pattern: str) -> Callable[[str], bool]:
    """A matcher of a CQL2 ``LIKE`` pattern without backtracking: the pattern is cut at
    each ``%`` into segments of literal characters and ``_``; the first segment must
    start the text, the last end it, each other one is found leftmost in turn.

    Examples
    --------
    >>> [like_matcher("a_c%")(s) for s in ("abc", "abcd", "ac", "xabc")]
    [True, True, False, False]
    >>> like_matcher("%50\\\\%%")("about 50% of"), like_matcher("%a%a%b")("a" * 30)
    (True, False)
    """
    segments: list[list[str | None]] = [[]]
    chars = iter(pattern)
    for ch in chars:
        if ch == "\\":
            segments[-1].append(next(chars, "\\"))
        elif ch == "%":
            segments.append([])
        else:
            segments[-1].append(None if ch == "_" else ch)
    regexes = [re.compile("".join("." if c is None else re.escape(c) for c in seg), re.S)
               for seg in segments]

    def match(text: str) -> bool:
        if len(regexes) == 1:
            return regexes[0].fullmatch(text) is not None
        first, *middle, last = regexes
        if first.match(text) is None:
            return False
        pos = len(segments[0])
        end = len(text) - len(segments[-1])
        if end < pos or last.fullmatch(text, end) is None:
            return False
        for rx in middle:
            found = rx.search(text, pos, end)
            if found is None:
                return False
            pos = found.end()
        return True

    return match
