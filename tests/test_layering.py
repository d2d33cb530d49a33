"""The architecture, enforced: one package per stage, imports only downward.

The layers are those of ``docs/architecture.md``. The checks parse every module's imports
(including those inside functions and under ``TYPE_CHECKING``), so a lazy import is held
to the same rule as one at the top:

* a package imports only from itself and from lower layers (the modules of layer 0 may
  also import each other, without a cycle);
* no ``_private`` name crosses a package boundary (neither ``from x import _y`` nor
  ``x._y``);
* the modules import each other without a cycle;
* no module is longer than :data:`MAX_LINES`.

Each rule is also run on a small package written here with a deliberate violation, to
show that the check can fail.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "chemearth"

#: Layer of each package (top-level modules are named by their module name).
LAYERS: dict[str, int] = {
    "errors": 0,
    "config": 0,
    "jsonable": 0,
    "reference": 1,
    "store": 1,
    "ingest": 2,
    "grid": 2,
    "stats": 3,
    "interp": 3,
    "qc": 3,
    "assess": 4,
    "render": 4,
    "access": 5,
    "web": 6,
    "cli": 7,
}

#: Longest module allowed (lines).
MAX_LINES = 700


@dataclass(frozen=True)
class Edge:
    """One import: ``source`` module imports ``target`` (and ``name`` from it)."""

    source: str
    target: str
    name: str | None
    line: int


def module_name(root: Path, path: Path, top: str) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join([top, *parts])


def package_of(module: str, top: str) -> str | None:
    """The stage a module belongs to (None for the root package itself)."""
    parts = module.split(".")
    return parts[1] if parts[0] == top and len(parts) > 1 else None


def modules(root: Path, top: str) -> dict[str, Path]:
    return {module_name(root, p, top): p for p in sorted(root.rglob("*.py"))}


def edges(root: Path, top: str) -> Iterator[Edge]:
    """Every import of a module of ``top`` by a module of ``top``."""
    known = modules(root, top)
    for mod, path in known.items():
        tree = ast.parse(path.read_text(), str(path))
        aliases: dict[str, str] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.name == top or a.name.startswith(top + "."):
                        yield Edge(mod, a.name, None, node.lineno)
                        aliases[a.asname or a.name] = a.name
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                if node.module != top and not node.module.startswith(top + "."):
                    continue
                for a in node.names:
                    sub = f"{node.module}.{a.name}"
                    if sub in known:  # ``from pkg import module``
                        yield Edge(mod, sub, None, node.lineno)
                        aliases[a.asname or a.name] = sub
                    else:
                        yield Edge(mod, node.module, a.name, node.lineno)
        for node in ast.walk(tree):  # ``module._private`` through an imported module
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                yield Edge(mod, aliases[node.value.id], node.attr, node.lineno)


def upward_imports(root: Path, top: str, layers: dict[str, int]) -> list[str]:
    """Imports of a package from the same or a higher layer than its own."""
    out = []
    for e in edges(root, top):
        src, dst = package_of(e.source, top), package_of(e.target, top)
        if src is None or dst is None or src == dst:
            continue  # the root package re-exports lazily; a package may import itself
        if layers[dst] > layers[src] or (layers[dst] == layers[src] and layers[src] > 0):
            out.append(f"{e.source}:{e.line} imports {e.target} (layer {layers[dst]} "
                       f"from layer {layers[src]})")
    return out


def private_crossings(root: Path, top: str) -> list[str]:
    """``_private`` names used outside the package that defines them."""
    return [
        f"{e.source}:{e.line} uses {e.target}.{e.name}"
        for e in edges(root, top)
        if e.name and e.name.startswith("_") and not e.name.startswith("__")
        and package_of(e.source, top) != package_of(e.target, top)
    ]


def cycles(root: Path, top: str) -> list[list[str]]:
    """Strongly connected groups of more than one module in the import graph (Tarjan)."""
    graph: dict[str, set[str]] = {m: set() for m in modules(root, top)}
    for e in edges(root, top):
        if e.target in graph and e.target != e.source:
            graph[e.source].add(e.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def long_modules(root: Path, limit: int) -> list[str]:
    return [
        f"{p.relative_to(root)}: {n} lines"
        for p in sorted(root.rglob("*.py"))
        if (n := len(p.read_text().splitlines())) > limit
    ]


# ---------------------------------------------------------------- the real package


def test_every_package_has_a_layer() -> None:
    stages = {p.name for p in SRC.iterdir() if (p / "__init__.py").is_file()}
    stages |= {p.stem for p in SRC.glob("*.py") if p.stem != "__init__"}
    assert stages == set(LAYERS), "add the new stage to LAYERS and docs/architecture.md"


def test_imports_only_downward() -> None:
    assert upward_imports(SRC, "chemearth", LAYERS) == []


def test_no_private_name_crosses_a_package() -> None:
    assert private_crossings(SRC, "chemearth") == []


def test_no_import_cycle() -> None:
    assert cycles(SRC, "chemearth") == []


def test_no_module_is_too_long() -> None:
    assert long_modules(SRC, MAX_LINES) == []


def test_architecture_page_lists_every_package() -> None:
    page = (SRC.parents[1] / "docs" / "architecture.md").read_text()
    for stage, layer in LAYERS.items():
        row = re.search(rf"^\|\s*{layer}\s*\|.*`{stage}`", page, re.M)
        assert row, f"docs/architecture.md: no row of layer {layer} naming `{stage}`"


# --------------------------------------------- the checks fail on a deliberate violation

BAD_TREE = {
    "__init__.py": "",
    "errors.py": "class E(Exception):\n    pass\n",
    "low/__init__.py": "",
    "low/a.py": "from fake.errors import E\n\ndef _helper():\n    return E\n",
    "low/b.py": "def f():\n    from fake.high.c import g  # upward, inside a function\n"
                "    return g\n",
    "high/__init__.py": "",
    "high/c.py": "from fake.low import a\nfrom fake.low.b import f\n\n"
                 "def g():\n    return a._helper()\n",
    "high/d.py": "from fake.low.a import _helper\n" + "x = 1\n" * 10,
}
BAD_LAYERS = {"errors": 0, "low": 1, "high": 2}


@pytest.fixture
def bad_tree(tmp_path: Path) -> Path:
    root = tmp_path / "fake"
    for name, text in BAD_TREE.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_an_upward_import_is_found(bad_tree: Path) -> None:
    found = upward_imports(bad_tree, "fake", BAD_LAYERS)
    assert found == ["fake.low.b:2 imports fake.high.c (layer 2 from layer 1)"]


def test_a_private_crossing_is_found(bad_tree: Path) -> None:
    assert sorted(private_crossings(bad_tree, "fake")) == [
        "fake.high.c:5 uses fake.low.a._helper",
        "fake.high.d:1 uses fake.low.a._helper",
    ]


def test_a_cycle_is_found(bad_tree: Path) -> None:
    assert cycles(bad_tree, "fake") == [["fake.high.c", "fake.low.b"]]


def test_a_long_module_is_found(bad_tree: Path) -> None:
    assert long_modules(bad_tree, 10) == ["high/d.py: 11 lines"]
