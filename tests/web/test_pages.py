"""Pages and strings: both languages complete, pages render in both, catalogue figures."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from chemearth.web.i18n import LANGUAGES, strings

I18N = Path(__file__).parents[2] / "src" / "chemearth" / "web" / "static" / "i18n"


@pytest.mark.parametrize("part", sorted({p.name.split(".")[0] for p in I18N.glob("*.json")}))
def test_every_language_has_every_string(part: str) -> None:
    texts = {lang: json.loads((I18N / f"{part}.{lang}.json").read_text()) for lang in LANGUAGES}
    assert set(texts["en"]) == set(texts["zh"])
    for key, en in texts["en"].items():
        zh = texts["zh"][key]
        assert sorted(re.findall(r"\{\w+\}", en)) == sorted(re.findall(r"\{\w+\}", zh))
        assert zh
        assert en


@pytest.mark.parametrize(
    "page", ["/", "/catalogue", "/catalogue/datasets/jura", "/datasets/jura/quality",
             "/catalogue/elements", "/catalogue/elements/Zn", "/upload", "/login"],
)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_pages_render_in_each_language(secure_client: Any, page: str, lang: str) -> None:
    r = secure_client.get(page, params={"lang": lang})
    assert r.status_code == 200
    want = strings(lang)
    assert want["nav.catalogue"] in r.text
    assert f'lang="{"zh-CN" if lang == "zh" else "en"}"' in r.text
    assert r.cookies.get("lang") == lang


def test_catalogue_pages_show_citation_licence_and_policy(secure_client: Any) -> None:
    page = secure_client.get("/catalogue/datasets/jura", params={"lang": "en"}).text
    entry = secure_client.get("/api/datasets/jura").json()
    assert entry["licence"] in page
    assert entry["citation"].split(".")[0] in page
    assert "public" in page
    kola = secure_client.get("/catalogue/datasets/kola-humus", params={"lang": "en"}).text
    assert "aggregated only" in kola
    assert "Cells of fewer than 3 samples are not published." in kola


def test_element_page_table_equals_the_baseline_api(secure_client: Any, secure_store: Any) -> None:
    """The per-element statistics table shows the baseline API's numbers."""
    from chemearth.stats.baselines import baseline

    page = secure_client.get("/catalogue/elements/Zn", params={"lang": "en"}).text
    expected = baseline(secure_store.store, "Zn", dataset="jura").iloc[0]
    section = page[page.index('href="/catalogue/datasets/jura"'):]
    for stat in ("median", "p95", "tukey_upper"):
        cell = re.search(rf'data-stat="{stat}">([^<]+)<', section).group(1)
        assert float(cell) == pytest.approx(float(expected[stat]), rel=5e-4)
    n = re.search(r'data-stat="n">([^<]+)<', section).group(1)
    assert int(n) == int(expected["n"])
