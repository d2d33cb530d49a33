"""Strings of the website in English and Chinese (中文).

Strings live in ``static/i18n/<part>.<lang>.json`` (flat objects, keys namespaced by
part: ``page.``, ``map.``…). Every language must carry every key of English; a test
checks it.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

__all__ = ["LANGUAGES", "strings", "translate"]

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
    return out


def translate(lang: str, key: str) -> str:
    """One string, or the key itself when no language has it.

    Examples
    --------
    >>> translate("en", "nav.catalogue")
    'Catalogue'
    """
    return strings(lang).get(key, key)
