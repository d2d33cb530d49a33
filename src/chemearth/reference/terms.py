"""Names of the reference vocabulary in another language than the one chemearth stores.

chemearth stores sample media, medium groups, method classes, analyte codes and
analytical methods in English (``docs/conventions.md``); the website and the atlas show
them in the reader's language. The Chinese names are data
(``chemearth/reference/data/terms/zh.toml``): one table per *kind* of term, keyed by the
stored English value.

========================  ===================================================
kind                      what
========================  ===================================================
``medium``                the sample media of descriptors (``topsoil``…)
``medium_group``          the medium groups of the pooling rules
``method_class``          the method classes of the pooling rules
``parameter``             non-elemental analyte codes (``LOI``, ``clay``…)
``variogram``             variogram models (``spherical``…)
``method``                analytical methods as the shipped descriptors write them
========================  ===================================================

Examples
--------
>>> term("medium", "topsoil", "zh")
'表层土壤'
>>> term("medium", "topsoil", "en")
'topsoil'
>>> term("method", "a method only its survey uses", "zh") is None
True
>>> label("method", "a method only its survey uses", "zh")
'a method only its survey uses'
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

__all__ = ["KINDS", "TERMS_DIR", "label", "term", "terms"]

#: The folder of the term tables, one TOML file per language.
TERMS_DIR = Path(__file__).parent / "data" / "terms"
#: The kinds of term.
KINDS = ("medium", "medium_group", "method_class", "parameter", "variogram", "method")


@functools.cache
def terms(kind: str, lang: str) -> Mapping[str, str]:
    """The names of one kind of term in ``lang`` (stored value -> name); empty for the
    stored language, English, and for a language without a table.

    Examples
    --------
    >>> terms("variogram", "zh")["spherical"]
    '球状模型'
    >>> dict(terms("variogram", "en"))
    {}
    """
    if kind not in KINDS:
        raise KeyError(f"no kind of term {kind!r}; kinds: {', '.join(KINDS)}")
    path = TERMS_DIR / f"{lang}.toml"
    if lang == "en" or not path.is_file():
        return MappingProxyType({})
    table = tomllib.loads(path.read_text(encoding="utf-8")).get(kind, {})
    return MappingProxyType({str(k): str(v) for k, v in table.items()})


def term(kind: str, value: str, lang: str = "en") -> str | None:
    """The name of ``value`` in ``lang``: the value itself in English, None where the
    language has no name for it.

    Examples
    --------
    >>> term("parameter", "clay", "zh")
    '黏粒'
    """
    if lang == "en":
        return value
    return terms(kind, lang).get(value)


def label(kind: str, value: str, lang: str = "en") -> str:
    """The name of ``value`` in ``lang``, else the value as stored.

    Examples
    --------
    >>> label("medium_group", "floodplain", "zh")
    '泛滥平原及河漫滩沉积物'
    """
    name = term(kind, value, lang)
    return value if name is None else name
