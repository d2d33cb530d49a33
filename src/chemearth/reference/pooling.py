"""Which analyses may be pooled across surveys: medium groups and method classes, as data.

A pooled (global) layer holds one element of one *medium group* by one *method class*,
over every dataset that may be pooled. The rules are a TOML file
(``chemearth/reference/data/pooling/pooling.toml``; ``docs/global.md``):

* **Medium groups** list the media they hold, in order of preference: topsoil, subsoil
  (C horizon, subsoil, B horizon), stream sediment, floodplain and overbank sediment,
  humus, moss, lake sediment, and water, which is never pooled with solids. "soil" counts
  as topsoil when its stated bottom depth is at most ``soil_max_bottom_cm``; soil of
  unstated depth is not pooled.
* **Method classes** are tried in order; the first whose ``digestions`` hold the column's
  digestion (and whose ``method_pattern`` and ``elements``, if given, match) is the class:
  total or near-total (XRF, INAA, fusion, four-acid), aqua regia, nitric acid, pH in water,
  loss on ignition. A column of no class is not pooled.
* **Equivalences** let an element's values of one class be pooled with another class,
  each with its reason. None is shipped.

Examples
--------
>>> rules = pooling_rules()
>>> rules.group_of("c-horizon"), rules.group_of("b-horizon"), rules.group_of("stream water")
('subsoil', 'subsoil', 'water')
>>> rules.group_of("soil", bottom_cm=20), rules.group_of("soil")
('topsoil', None)
>>> rules.class_of("Ni", "INAA (instrumental neutron activation)", "total")
'total'
>>> rules.class_of("Ni", "aqua regia extraction; ICP-AES", "aqua-regia")
'aqua-regia'
>>> rules.class_of("Cu", "HNO3 digestion; ICP-AES/ICP-MS", "partial")
'nitric-acid'
>>> rules.class_of("Rb", "not documented", "unknown") is None
True
"""

from __future__ import annotations

import functools
import math
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chemearth.errors import ChemearthError

__all__ = [
    "DEFAULT_RULES_FILE",
    "Equivalence",
    "MediumGroup",
    "MethodClass",
    "PoolingError",
    "PoolingRules",
    "pooling_rules",
]

#: The shipped rules.
DEFAULT_RULES_FILE = Path(__file__).parent / "data" / "pooling" / "pooling.toml"


class PoolingError(ChemearthError, ValueError):
    """Pooling rules that cannot be read, or a pooled layer that cannot be built as asked."""


@dataclass(frozen=True)
class MediumGroup:
    """A medium group: its id, title and media in order of preference."""

    id: str
    title: str
    media: tuple[str, ...]
    soil_max_bottom_cm: float | None = None


@dataclass(frozen=True)
class MethodClass:
    """A method class: the digestions it holds, optionally narrowed by a pattern on the
    method text and by element."""

    id: str
    title: str
    digestions: tuple[str, ...]
    method_pattern: str = ""
    elements: tuple[str, ...] = ()

    def matches(self, element: str, method: str, digestion: str) -> bool:
        """True if a column of ``element`` by ``method`` with ``digestion`` is of this class."""
        if digestion not in self.digestions:
            return False
        if self.elements and element not in self.elements:
            return False
        return not self.method_pattern or re.search(self.method_pattern, method) is not None


@dataclass(frozen=True)
class Equivalence:
    """A declared equivalence: ``element`` by class ``source`` pools with class ``target``."""

    element: str
    source: str
    target: str
    reason: str


@dataclass(frozen=True)
class PoolingRules:
    """The medium groups, method classes and equivalences of one rules file."""

    groups: tuple[MediumGroup, ...]
    classes: tuple[MethodClass, ...]
    equivalences: tuple[Equivalence, ...] = ()
    source: str = ""
    _by_medium: Mapping[str, tuple[str, int]] = field(default_factory=dict, repr=False,
                                                      compare=False)

    def group(self, group_id: str) -> MediumGroup:
        """The group called ``group_id``."""
        for g in self.groups:
            if g.id == group_id:
                return g
        raise PoolingError(f"no medium group {group_id!r}; groups: "
                           + ", ".join(g.id for g in self.groups))

    def method_class(self, class_id: str) -> MethodClass:
        """The class called ``class_id``."""
        for c in self.classes:
            if c.id == class_id:
                return c
        raise PoolingError(f"no method class {class_id!r}; classes: "
                           + ", ".join(c.id for c in self.classes))

    def group_of(self, medium: str, bottom_cm: float | None = None) -> str | None:
        """The group of a sampled ``medium`` (None: not pooled).

        ``bottom_cm`` is the sample's (or dataset's) bottom depth, used for "soil".
        """
        if medium in self._by_medium:
            return self._by_medium[medium][0]
        if medium == "soil" and bottom_cm is not None and math.isfinite(bottom_cm):
            for g in self.groups:
                if g.soil_max_bottom_cm is not None and bottom_cm <= g.soil_max_bottom_cm:
                    return g.id
        return None

    def preference(self, medium: str) -> int:
        """Rank of ``medium`` within its group (0 = preferred; "soil" ranks last)."""
        return self._by_medium.get(medium, ("", 1_000))[1]

    def class_of(self, element: str, method: str, digestion: str) -> str | None:
        """The class of a column (before equivalences; None: not pooled)."""
        for c in self.classes:
            if c.matches(element, method or "", digestion or "unknown"):
                return c.id
        return None

    def pooled_class(self, element: str, method: str, digestion: str) -> str | None:
        """The class a column is pooled in: :meth:`class_of`, then any equivalence."""
        cls = self.class_of(element, method, digestion)
        for eq in self.equivalences:
            if eq.element == element and eq.source == cls:
                return eq.target
        return cls

    def describe(self) -> dict[str, Any]:
        """The rules as plain data (for the API and ``chemearth global rules``)."""
        return {
            "source": self.source,
            "groups": [{"id": g.id, "title": g.title, "media": list(g.media),
                        "soil_max_bottom_cm": g.soil_max_bottom_cm} for g in self.groups],
            "classes": [{"id": c.id, "title": c.title, "digestions": list(c.digestions),
                         "method_pattern": c.method_pattern, "elements": list(c.elements)}
                        for c in self.classes],
            "equivalences": [{"element": e.element, "from": e.source, "to": e.target,
                              "reason": e.reason} for e in self.equivalences],
        }


def _table(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise PoolingError(f"{where}: must be a table")
    return value


def _tables(doc: Mapping[str, Any], key: str, source: str) -> list[Mapping[str, Any]]:
    value = doc.get(key, [])
    if not isinstance(value, list):
        raise PoolingError(f"{source} {key}: must be an array of tables ([[{key}]])")
    return [_table(v, f"{source} [[{key}]] #{i + 1}") for i, v in enumerate(value)]


def _strings(doc: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = doc.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise PoolingError(f"{where}: {key} must be a list of strings")
    return tuple(value)


def parse_rules(doc: Mapping[str, Any], source: str = "") -> PoolingRules:
    """Rules from a parsed TOML document (errors name the file and the entry)."""
    groups: list[MediumGroup] = []
    by_medium: dict[str, tuple[str, int]] = {}
    for gid, entry in _table(doc.get("groups", {}), f"{source} [groups]").items():
        where = f"{source} [groups.{gid}]"
        g = _table(entry, where)
        media = _strings(g, "media", where)
        if not media:
            raise PoolingError(f"{where}: media is empty")
        for rank, m in enumerate(media):
            if m in by_medium:
                raise PoolingError(f"{where}: medium {m!r} is already in group "
                                   f"{by_medium[m][0]!r}")
            by_medium[m] = (gid, rank)
        depth = g.get("soil_max_bottom_cm")
        if depth is not None and (isinstance(depth, bool) or not isinstance(depth, int | float)):
            raise PoolingError(f"{where}: soil_max_bottom_cm must be a number")
        groups.append(MediumGroup(gid, str(g.get("title", gid)), media,
                                  None if depth is None else float(depth)))
    classes: list[MethodClass] = []
    for i, c in enumerate(_tables(doc, "classes", source)):
        where = f"{source} [[classes]] #{i + 1}"
        if "id" not in c:
            raise PoolingError(f"{where}: no id")
        pattern = str(c.get("method_pattern", ""))
        try:
            re.compile(pattern)
        except re.error as exc:
            raise PoolingError(f"{where}: method_pattern {pattern!r}: {exc}") from exc
        classes.append(MethodClass(str(c["id"]), str(c.get("title", c["id"])),
                                   _strings(c, "digestions", where), pattern,
                                   _strings(c, "elements", where)))
    ids = [c.id for c in classes]
    equivalences = []
    for i, e in enumerate(_tables(doc, "equivalences", source)):
        where = f"{source} [[equivalences]] #{i + 1}"
        missing = [k for k in ("element", "from", "to", "reason") if not e.get(k)]
        if missing:
            raise PoolingError(f"{where}: missing {', '.join(missing)}")
        for k in ("from", "to"):
            if e[k] not in ids:
                raise PoolingError(f"{where}: {k} = {e[k]!r} is not a class ({', '.join(ids)})")
        equivalences.append(Equivalence(str(e["element"]), str(e["from"]), str(e["to"]),
                                        str(e["reason"])))
    return PoolingRules(tuple(groups), tuple(classes), tuple(equivalences), source, by_medium)


@functools.lru_cache(maxsize=8)
def _load(path: str, mtime_ns: int) -> PoolingRules:
    try:
        with open(path, "rb") as f:
            doc = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise PoolingError(f"{path}: {exc}") from exc
    return parse_rules(doc, path)


def pooling_rules(path: str | Path | None = None) -> PoolingRules:
    """The pooling rules of ``path`` (default: the shipped :data:`DEFAULT_RULES_FILE`)."""
    p = Path(path) if path is not None else DEFAULT_RULES_FILE
    try:
        mtime = p.stat().st_mtime_ns
    except OSError as exc:
        raise PoolingError(f"{p}: {exc.strerror or exc}") from exc
    return _load(str(p), mtime)


def media_of(rules: PoolingRules, group_ids: Sequence[str]) -> list[str]:
    """Every medium of the groups ``group_ids`` (for selecting samples)."""
    return [m for gid in group_ids for m in rules.group(gid).media]
