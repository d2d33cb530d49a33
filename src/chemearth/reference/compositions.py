"""Reference compositions of the crust and of shales, for spider and REE diagrams.

Six published compositions are shipped as TOML tables in
``reference/data/compositions/`` (element abundances in mg/kg), derived from the tables
pyrolite distributes (MIT licence; the same files are in the shared data folder
``reference_compositions/``, and a test checks the shipped values against them):

=========================== ============================================== ==========
name (alias)                reference                                      reservoir
=========================== ============================================== ==========
``PAAS_TaylorMcLennan1985`` Taylor & McLennan (1985); McLennan (2001)      Post-Archean
(``PAAS``)                                                                 Australian shale
``NASC_Gromet1984``         Gromet et al. (1984)                           North American
(``NASC``)                                                                 shale composite
``UCC_McLennan2001``        McLennan (2001)                                upper crust
``UCC_RudnickGao2003``      Rudnick & Gao (2003)                           upper crust
``UCC_RudnickGao2014``      Rudnick & Gao (2014)                           upper crust
(``UCC``)
``BCC_RudnickGao2003``      Rudnick & Gao (2003)                           bulk crust
(``BCC``)
=========================== ============================================== ==========

Major elements given as oxides are converted to the element (four significant figures).
There is **no chondrite** (or primitive-mantle) composition among them: the shared data
hold none, so chondrite-normalised REE diagrams cannot be drawn from shipped values; asking
for ``"chondrite"`` raises :class:`ReferenceCompositionError` saying so.

Examples
--------
>>> paas = reference_composition("PAAS")
>>> paas.name, paas.abundance["La"], paas.abundance["Eu"]
('PAAS_TaylorMcLennan1985', 38.2, 1.1)
>>> reference_composition("ucc").name
'UCC_RudnickGao2014'
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType

from chemearth.errors import ChemearthError

__all__ = [
    "ALIASES",
    "REFERENCE_COMPOSITIONS",
    "ReferenceComposition",
    "ReferenceCompositionError",
    "reference_composition",
]

_DIR = Path(__file__).parent / "data" / "compositions"

#: Names of the shipped reference compositions.
REFERENCE_COMPOSITIONS: tuple[str, ...] = tuple(sorted(p.stem for p in _DIR.glob("*.toml")))

#: Short names (case-insensitive) of some of them.
ALIASES: Mapping[str, str] = MappingProxyType({
    "PAAS": "PAAS_TaylorMcLennan1985",
    "NASC": "NASC_Gromet1984",
    "UCC": "UCC_RudnickGao2014",
    "BCC": "BCC_RudnickGao2003",
})

_CHONDRITE = ("chondrite", "ci", "c1", "cichondrite", "pm", "primitive mantle", "mantle")


class ReferenceCompositionError(ChemearthError, KeyError):
    """A reference composition that is not shipped."""

    exit_code = 2


@dataclass(frozen=True)
class ReferenceComposition:
    """A published composition: element -> mg/kg, with its citation."""

    name: str
    citation: str
    doi: str
    reservoir: str
    abundance: Mapping[str, float]


@cache
def _load(name: str) -> ReferenceComposition:
    with (_DIR / f"{name}.toml").open("rb") as f:
        doc = tomllib.load(f)
    src = doc["source"]
    table = {str(k): float(v) for k, v in doc["abundance"].items()}
    return ReferenceComposition(name, str(src["citation"]), str(src.get("doi", "")),
                                str(src["reservoir"]), MappingProxyType(table))


def reference_composition(name: str) -> ReferenceComposition:
    """The shipped reference composition ``name`` (a full name or an alias, any case).

    Examples
    --------
    >>> reference_composition("chondrite")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    chemearth.reference.compositions.ReferenceCompositionError: no chondrite or mantle ...
    """
    key = name.strip()
    if key.lower() in _CHONDRITE:
        raise ReferenceCompositionError(
            "no chondrite or mantle composition is shipped (the shared reference data hold "
            f"none): use one of {', '.join(REFERENCE_COMPOSITIONS)}")
    by_lower = {n.lower(): n for n in REFERENCE_COMPOSITIONS}
    by_lower.update({a.lower(): n for a, n in ALIASES.items()})
    if key.lower() not in by_lower:
        raise ReferenceCompositionError(
            f"unknown reference composition {name!r}: use one of "
            f"{', '.join(REFERENCE_COMPOSITIONS)} or {', '.join(ALIASES)}")
    return _load(by_lower[key.lower()])
