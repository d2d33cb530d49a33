"""The upload page's descriptor form: key fields read from a descriptor's TOML and written
back into it, comments and layout kept.

The page (``/upload``) shows the fields of a proposed descriptor in a form; the owner's
edits come back as a small JSON object (:func:`apply_fields`) and the server writes them
into the TOML text, so the browser needs no TOML library and the TOML is written by the
same Python that reads it. Only the statements edited change: every other line, comment
and key stays as it was. The result is not validated here: ``POST /api/check``
(:mod:`chemearth.web.routes_describe`) checks it like any descriptor.

Examples
--------
>>> text = '[dataset]\\nid = "a"   # the id\\n\\n[columns]\\n"Cu_ppm" = { element = "Cu" }\\n'
>>> out = apply_fields(text, {"id": "b", "columns": [{"column": "Cu_ppm", "unit": "ppm"}]})
>>> print(out, end="")
[dataset]
id = "b"   # the id
<BLANKLINE>
[columns]
"Cu_ppm" = { element = "Cu", unit = "ppm" }
>>> form_fields(out)["columns"]
[{'column': 'Cu_ppm', 'element': 'Cu', 'unit': 'ppm', 'method': ''}]
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from chemearth.errors import DescriptorError

__all__ = ["FIELDS", "apply_fields", "form_fields", "named_organisation", "to_decide",
           "toml_value"]

#: Form field -> (table, key) of the descriptor.
FIELDS: dict[str, tuple[str, str]] = {
    "id": ("dataset", "id"),
    "title": ("dataset", "title"),
    "organisation": ("dataset", "organisation"),
    "medium": ("dataset", "medium"),
    "licence": ("dataset", "licence"),
    "citation": ("dataset", "citation"),
    "sharing": ("dataset", "sharing"),
    "countries": ("dataset", "countries"),
    "crs": ("coordinates", "crs"),
    "encoding": ("censoring", "encoding"),
}
#: Fields whose key is removed when left empty (the descriptor's default then applies).
_OPTIONAL = frozenset({"countries", "crs", "encoding"})
#: Most column edits one request may carry.
MAX_COLUMNS = 5000
_BARE = re.compile(r"^[A-Za-z0-9_-]+$")
#: The comment block of what is left to decide, as ``chemearth describe`` writes it.
_DECIDE_HEAD, _DECIDE_ITEM = "# TO DECIDE", "#   - "


# ----------------------------------------------------------------------------- reading


def form_fields(text: str) -> dict[str, Any] | None:
    """The form's fields of the descriptor ``text``; None when it is not valid TOML.

    ``crs`` is None when the descriptor has no ``[coordinates]`` (nothing to set), ``x``
    and ``y`` name the coordinate columns, and ``columns`` lists the ``[columns]``
    entries with their element, unit and method (``""`` where not given; the unit then
    comes from the file's units row or ``default_unit``).
    """
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return None
    ds = _table(doc, "dataset")
    co = doc.get("coordinates")
    out: dict[str, Any] = {k: _str(ds.get(key)) for k, (t, key) in FIELDS.items()
                           if t == "dataset" and k != "countries"}
    countries = ds.get("countries")
    out["countries"] = [str(c) for c in countries] if isinstance(countries, list) else []
    out["crs"] = _str(co.get("crs")) if isinstance(co, dict) else None
    out["x"] = _str(co.get("x")) if isinstance(co, dict) else ""
    out["y"] = _str(co.get("y")) if isinstance(co, dict) else ""
    out["encoding"] = _str(_table(doc, "censoring").get("encoding"))
    out["default_unit"] = _str(_table(doc, "defaults").get("unit"))
    out["to_decide"] = to_decide(text)
    out["columns"] = []
    for column, value in _table(doc, "columns").items():
        spec = {"element": value} if isinstance(value, str) else value
        if isinstance(spec, dict):
            out["columns"].append({"column": column, "element": _str(spec.get("element")),
                                   "unit": _str(spec.get("unit")),
                                   "method": _str(spec.get("method"))})
    return out


def to_decide(text: str) -> list[str]:
    r"""The items of the descriptor's ``# TO DECIDE`` comment block (written by
    ``chemearth describe``; ``chemearth check`` reports each as a decision until its line
    is deleted).

    Examples
    --------
    >>> to_decide("# TO DECIDE before it can be ingested:\n#   - set the CRS\n\n[dataset]")
    ['set the CRS']
    """
    items: list[str] = []
    inside = False
    for line in text.splitlines():
        if line.startswith(_DECIDE_HEAD):
            inside = True
        elif inside and line.startswith(_DECIDE_ITEM):
            items.append(line[len(_DECIDE_ITEM):].strip())
        elif inside:
            break
    return items


def named_organisation(text: str) -> str:
    """The ``[dataset].organisation`` the descriptor ``text`` names; ``""`` when it names
    none or is not valid TOML.

    Examples
    --------
    >>> named_organisation('[dataset]\\norganisation = "NGU"'), named_organisation("[x")
    ('NGU', '')
    """
    try:
        value = _table(tomllib.loads(text), "dataset").get("organisation")
    except tomllib.TOMLDecodeError:
        return ""
    return value if isinstance(value, str) else ""


def _table(doc: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = doc.get(name)
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


# ----------------------------------------------------------------------------- writing


def toml_value(value: Any) -> str:
    """``value`` (str, bool, int, float, list, dict) as a one-line TOML value.

    Examples
    --------
    >>> toml_value({"element": "Cu", "detection_limit": 0.5, "note": 'a "b"'})
    '{ element = "Cu", detection_limit = 0.5, note = "a \\\\"b\\\\"" }'
    >>> toml_value(["NO", "FI"]), toml_value(float("inf"))
    ('["NO", "FI"]', 'inf')
    """
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{_key(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise DescriptorError(f"a value of type {type(value).__name__} cannot be written to TOML")


def _key(key: str) -> str:
    return key if _BARE.match(key) else toml_value(key)


def apply_fields(text: str, fields: Mapping[str, Any]) -> str:
    """The descriptor ``text`` with the form's ``fields`` written into it.

    Parameters
    ----------
    text : str
        A descriptor (valid TOML).
    fields : mapping
        Any of :data:`FIELDS` (strings; ``countries`` a list of codes or a comma-separated
        string); ``columns``: a list of ``{"column", "element", "unit"}`` (an empty
        ``element`` drops the column; an empty ``unit`` leaves it to the units row or
        ``[defaults]``; a column not yet listed is added); ``decided``: items of the
        ``# TO DECIDE`` block (:func:`to_decide`) to delete. An empty ``countries``,
        ``crs`` or ``encoding`` removes the key.

    Raises
    ------
    DescriptorError
        ``text`` is not valid TOML, or a field is unknown or of the wrong type.
    """
    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DescriptorError(
            f"the form's changes cannot be written: the descriptor is not valid TOML ({exc}); "
            "correct it in the TOML text first"
        ) from None
    doc = _Doc.parse(text)
    for name, value in fields.items():
        if name == "columns":
            for edit in _columns(value):
                doc.set_column(*edit)
            continue
        if name == "decided":
            doc.decided(set(_strings(name, value)))
            continue
        if name not in FIELDS:
            raise DescriptorError(f"form field {name!r} is unknown; known: "
                                  f"{', '.join([*FIELDS, 'columns', 'decided'])}")
        table, key = FIELDS[name]
        new = _countries(value) if name == "countries" else _text(name, value)
        if name in _OPTIONAL and not new:
            doc.remove((table,), key)
        else:
            doc.set((table,), key, new)
    return doc.text()


def _text(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise DescriptorError(f"form field {name!r}: expected text, got {value!r:.80}")
    return value.strip()


def _countries(value: Any) -> list[str]:
    items = re.split(r"[,;\s]+", value) if isinstance(value, str) else value
    return [c.strip() for c in _strings("countries", items) if c.strip()]


def _strings(name: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
        raise DescriptorError(f"form field {name!r}: expected a list of texts, got "
                              f"{value!r:.80}")
    return value


def _columns(value: Any) -> list[tuple[str, str | None, str | None]]:
    if not isinstance(value, list) or len(value) > MAX_COLUMNS:
        raise DescriptorError(f"form field 'columns': expected a list of at most "
                              f"{MAX_COLUMNS} columns")
    out = []
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("column"), str) or not all(
                isinstance(item.get(k, ""), str) for k in ("element", "unit")):
            raise DescriptorError(f"form field 'columns': each entry needs a 'column' and "
                                  f"text 'element' and 'unit' (got {item!r:.80})")
        element, unit = item.get("element"), item.get("unit")
        out.append((item["column"], None if element is None else element.strip(),
                    None if unit is None else unit.strip()))
    return out


# ----------------------------------------------------------------------------- the text


@dataclass
class _Stmt:
    """One statement of a TOML text: its lines, the table it is in, and what it is."""

    text: str
    table: tuple[str, ...]
    kind: str  # "header", "key" or "other" (blank lines and comments)
    key: str = ""
    value: Any = None
    comment: str = ""  # the trailing comment of a one-line statement, "#" included


class _Doc:
    """A TOML text as a list of statements, edited one statement at a time."""

    def __init__(self, stmts: list[_Stmt], newline_at_end: bool) -> None:
        self.stmts = stmts
        self.newline_at_end = newline_at_end

    @classmethod
    def parse(cls, text: str) -> _Doc:
        """Split a valid TOML ``text`` into statements (a key's value may span lines)."""
        lines = text.split("\n")
        end_nl = text.endswith("\n")
        if end_nl:
            lines.pop()
        stmts: list[_Stmt] = []
        table: tuple[str, ...] = ()
        state: tuple[str, int] = ("", 0)
        chunk: list[str] = []
        comment = -1
        for line in lines:
            chunk.append(line)
            state, comment = _scan(line, state)
            if state != ("", 0):
                continue
            stmt = _statement("\n".join(chunk), table, comment if len(chunk) == 1 else -1)
            if stmt.kind == "header":
                table = stmt.table
            stmts.append(stmt)
            chunk = []
        if chunk:  # cannot happen for valid TOML; kept as it is
            stmts.append(_Stmt("\n".join(chunk), table, "other"))
        return cls(stmts, end_nl)

    def text(self) -> str:
        """The edited text."""
        return "\n".join(s.text for s in self.stmts) + ("\n" if self.newline_at_end else "")

    def _find(self, table: tuple[str, ...], key: str) -> int:
        return next((i for i, s in enumerate(self.stmts)
                     if s.kind == "key" and s.table == table and s.key == key), -1)

    def _header(self, table: tuple[str, ...]) -> int:
        return next((i for i, s in enumerate(self.stmts)
                     if s.kind == "header" and s.table == table), -1)

    def set(self, table: tuple[str, ...], key: str, value: Any) -> None:
        """Set ``key = value`` in ``table``: in place (its comment kept), over a commented
        out ``# key = ...`` line, after the table's last key, or in a new table."""
        line = f"{_key(key)} = {toml_value(value)}"
        i = self._find(table, key)
        if i >= 0:
            old = self.stmts[i]
            comment = f"   {old.comment}" if old.comment else ""
            self.stmts[i] = _Stmt(line + comment, table, "key", key, value, old.comment)
            return
        new = _Stmt(line, table, "key", key, value)
        h = self._header(table)
        if h < 0:
            self.stmts += [_Stmt("", self.stmts[-1].table if self.stmts else (), "other"),
                           _Stmt("[" + ".".join(_key(t) for t in table) + "]", table,
                                 "header"), new]
            return
        out_of_use = re.compile(rf"^\s*#\s*{re.escape(key)}\s*=")
        last = h
        for i in range(h + 1, len(self.stmts)):
            s = self.stmts[i]
            if s.kind == "header":
                break
            if s.kind == "other" and out_of_use.match(s.text):
                self.stmts[i] = new
                return
            if s.kind == "key":
                last = i
        self.stmts.insert(last + 1, new)

    def remove(self, table: tuple[str, ...], key: str) -> None:
        """Remove ``key`` from ``table`` (nothing when it is not there)."""
        i = self._find(table, key)
        if i >= 0:
            del self.stmts[i]

    def decided(self, items: Collection[str]) -> None:
        """Delete ``items`` from the ``# TO DECIDE`` block (the block's heading too, when
        nothing is left in it)."""
        head = next((i for i, s in enumerate(self.stmts)
                     if s.kind == "other" and s.text.startswith(_DECIDE_HEAD)), -1)
        if head < 0:
            return
        i = head + 1
        while i < len(self.stmts) and self.stmts[i].text.startswith(_DECIDE_ITEM):
            if self.stmts[i].text[len(_DECIDE_ITEM):].strip() in items:
                del self.stmts[i]
            else:
                i += 1
        if i == head + 1:
            del self.stmts[head]
            if head > 0 and self.stmts[head - 1].text.strip() == "#":
                del self.stmts[head - 1]

    def set_column(self, column: str, element: str | None, unit: str | None) -> None:
        """Set a ``[columns]`` entry's element and unit (None: unchanged); an empty element
        drops the column."""
        sub = ("columns", column)
        if self._header(sub) >= 0:  # written as its own table: [columns."Cu ppm"]
            if element == "":
                raise DescriptorError(f"column {column!r} is its own table [columns.{column}]: "
                                      "remove it in the TOML text")
            for key, new in (("element", element), ("unit", unit)):
                if new:
                    self.set(sub, key, new)
                elif new == "" and key == "unit":
                    self.remove(sub, key)
            return
        i = self._find(("columns",), column)
        if element == "":
            if i >= 0:
                del self.stmts[i]
            return
        old = self.stmts[i].value if i >= 0 else {}
        spec = dict(old) if isinstance(old, dict) else {"element": old} if old else {}
        if element is not None:
            spec["element"] = element
        if unit:
            spec["unit"] = unit
        elif unit == "":
            spec.pop("unit", None)
        if not spec.get("element"):
            raise DescriptorError(f"column {column!r}: give its element")
        value: Any = spec["element"] if isinstance(old, str) and list(spec) == ["element"] \
            else spec
        line = f"{toml_value(column)} = {toml_value(value)}"
        if i >= 0:
            comment = self.stmts[i].comment
            self.stmts[i] = _Stmt(line + (f"   {comment}" if comment else ""), ("columns",),
                                  "key", column, value, comment)
        else:  # a new column, quoted like the proposal's
            self.set(("columns",), column, value)
            self.stmts[self._find(("columns",), column)].text = line


def _statement(text: str, table: tuple[str, ...], comment_at: int) -> _Stmt:
    """Classify one statement of a valid TOML text."""
    stripped = text.lstrip()
    if not stripped or stripped.startswith("#"):
        return _Stmt(text, table, "other")
    code = text[:comment_at] if comment_at >= 0 else text
    comment = text[comment_at:].strip() if comment_at >= 0 else ""
    doc = tomllib.loads(code)
    if stripped.startswith("["):
        path: list[str] = []
        node: Any = doc
        while isinstance(node, list) and node:
            node = node[-1]
        while isinstance(node, dict) and len(node) == 1:
            name, node = next(iter(node.items()))
            path.append(name)
            while isinstance(node, list) and node:
                node = node[-1]
        return _Stmt(text, tuple(path), "header", comment=comment)
    key, value = next(iter(doc.items())) if doc else ("", None)
    return _Stmt(text, table, "key", key, value, comment)


def _scan(line: str, state: tuple[str, int]) -> tuple[tuple[str, int], int]:
    """Scan one line of TOML from ``state`` (an open multi-line string's delimiter, and
    the depth of open brackets); the state at its end and where its comment starts (-1)."""
    ml, depth = state
    i, n = 0, len(line)
    while i < n:
        c = line[i]
        if ml:
            if c == "\\" and ml == '"""':
                i += 2
            elif line.startswith(ml, i):
                i += 3
                for _ in range(2):  # up to two quotes may end the string's content
                    if i < n and line[i] == ml[0]:
                        i += 1
                ml = ""
            else:
                i += 1
            continue
        if c == "#":
            return (ml, depth), i
        if line.startswith(('"""', "'''"), i):
            ml, i = line[i:i + 3], i + 3
        elif c == '"':
            i += 1
            while i < n and line[i] != '"':
                i += 2 if line[i] == "\\" else 1
            i += 1
        elif c == "'":
            j = line.find("'", i + 1)
            i = j + 1 if j >= 0 else n
        else:
            depth += (c in "[{") - (c in "]}")
            i += 1
    return (ml, max(depth, 0)), -1
