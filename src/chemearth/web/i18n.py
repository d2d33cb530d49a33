"""Strings of the website in English and Chinese (中文).

Strings live in ``static/i18n/<part>.<lang>.json`` (flat objects, keys namespaced by
part: ``page.``, ``map.``…). Every language must carry every key of English; a test
checks it. The names of the reference vocabulary (:mod:`chemearth.reference.terms`:
media, methods, analyte codes…) join them as ``term.<kind>.<value>`` in the languages that
have them; pages show them with :func:`term_html`, which marks a value without a name as
data (``translate="no"``).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

from markupsafe import Markup, escape

from chemearth.reference.terms import KINDS, term, terms

__all__ = ["LANGUAGES", "data_html", "strings", "term_html", "translate"]

LANGUAGES = ("en", "zh")
_DIR = Path(__file__).parent / "static" / "i18n"


@functools.cache
def strings(lang: str) -> dict[str, str]:
    """All strings of ``lang`` (English where a key is missing).

    Examples
    --------
    >>> strings("zh")["nav.map"]
    '地图'
    """
    lang = lang if lang in LANGUAGES else "en"
    out: dict[str, str] = {}
    for code in ("en", lang) if lang != "en" else ("en",):
        for p in sorted(_DIR.glob(f"*.{code}.json")):
            out.update(json.loads(p.read_text(encoding="utf-8")))
    for kind in KINDS:
        out.update({f"term.{kind}.{k}": v for k, v in terms(kind, lang).items()})
    return out


def translate(lang: str, key: str) -> str:
    """One string, or the key itself when no language has it.

    Examples
    --------
    >>> translate("en", "nav.catalogue")
    'Catalogue'
    """
    return strings(lang).get(key, key)


def data_html(value: object) -> Markup:
    """A stored value (a dataset id, a title) for a page, marked as data so that neither a
    translator nor the Chinese-page rule takes it for an untranslated UI string.

    Examples
    --------
    >>> data_html("kola-humus")
    Markup('<span translate="no">kola-humus</span>')
    """
    return Markup('<span translate="no">{}</span>').format("" if value is None else value)


def term_html(lang: str, kind: str, value: object) -> Markup:
    """A term of the reference vocabulary (:mod:`chemearth.reference.terms`) for a page:
    its name in ``lang``, else the value as stored, marked as data.

    Examples
    --------
    >>> term_html("zh", "medium", "humus"), term_html("en", "medium", "humus")
    (Markup('腐殖质（O层）'), Markup('humus'))
    >>> term_html("zh", "method", "a lab's own method")
    Markup('<span translate="no">a lab&#39;s own method</span>')
    """
    text = "" if value is None else str(value)
    name = term(kind, text, lang) if text else text
    if name is None:
        return data_html(text)
    return escape(name)
