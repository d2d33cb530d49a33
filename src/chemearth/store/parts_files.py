"""Collections of binary parts for the embedded store: derived products kept whole.

A *collection* (the pooled layers of one scope, say) is a folder of named parts (Parquet
files) and a JSON manifest. Writes are copy-on-write: a new generation folder gets the
new parts, hard links to the unchanged ones, and the manifest; then the ``CURRENT``
pointer is replaced atomically (``os.replace``). A reader reads ``CURRENT`` once and then
only that generation, so it never sees half a write; the generation before the current
one is kept for readers still in it, older ones are removed.

Examples
--------
>>> import tempfile
>>> root = Path(tempfile.mkdtemp())
>>> write_parts(root / "pooled-public", {"a": b"1", "b": b"2"}, {"n": 2})
>>> write_parts(root / "pooled-public", {"a": None, "c": b"3"}, {"n": 3})
>>> sorted(list_parts(root / "pooled-public")), read_manifest(root / "pooled-public")
(['b', 'c'], {'n': 3})
>>> read_part(root / "pooled-public", "b"), read_part(root / "pooled-public", "a")
(b'2', None)
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from chemearth.errors import StoreError

__all__ = ["check_name", "list_parts", "read_manifest", "read_part", "write_parts"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._=+-]*(/[A-Za-z0-9][A-Za-z0-9._=+-]*)*$")


def check_name(name: str, what: str = "part") -> str:
    """``name`` if it is a safe relative name (letters, digits, ``._=+-``, ``/``)."""
    if not _NAME.match(name) or ".." in name:
        raise StoreError(f"invalid {what} name {name!r}")
    return name


def _file(name: str) -> str:
    return name.replace("/", "~") + ".bin"


def _current(folder: Path) -> Path | None:
    try:
        gen = (folder / "CURRENT").read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return folder / gen


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest of the collection at ``folder`` (None if it has never been written)."""
    gen = _current(folder)
    if gen is None:
        return None
    return dict(json.loads((gen / "manifest.json").read_text(encoding="utf-8")))


def read_part(folder: Path, name: str) -> bytes | None:
    """The bytes of part ``name`` (None if there is no such part)."""
    gen = _current(folder)
    if gen is None:
        return None
    try:
        return (gen / _file(check_name(name))).read_bytes()
    except FileNotFoundError:
        return None


def list_parts(folder: Path) -> list[str]:
    """The names of the parts of the current generation."""
    gen = _current(folder)
    if gen is None:
        return []
    return sorted(p.name[:-4].replace("~", "/") for p in gen.glob("*.bin"))


def write_parts(folder: Path, parts: Mapping[str, bytes | None],
                manifest: Mapping[str, Any]) -> None:
    """Replace the given parts (``None``: delete), keep the others, set the manifest.

    The caller holds the store's write lock.
    """
    for name in parts:
        check_name(name)
    folder.mkdir(parents=True, exist_ok=True)
    old = _current(folder)
    gen = folder / f"gen-{uuid.uuid4().hex}"
    gen.mkdir()
    try:
        if old is not None:
            for p in old.glob("*.bin"):
                name = p.name[:-4].replace("~", "/")
                if name not in parts:
                    os.link(p, gen / p.name)
        for name, data in parts.items():
            if data is not None:
                (gen / _file(name)).write_bytes(data)
        (gen / "manifest.json").write_text(json.dumps(dict(manifest), sort_keys=True),
                                           encoding="utf-8")
        tmp = folder / f"CURRENT.{uuid.uuid4().hex}.tmp"
        tmp.write_text(gen.name, encoding="utf-8")
        os.replace(tmp, folder / "CURRENT")
    except BaseException:
        shutil.rmtree(gen, ignore_errors=True)
        raise
    keep = {gen.name, old.name if old is not None else ""}
    for d in folder.glob("gen-*"):
        if d.name not in keep:
            shutil.rmtree(d, ignore_errors=True)
    for f in folder.glob("CURRENT.*.tmp"):  # of a writer killed before its rename
        f.unlink(missing_ok=True)
