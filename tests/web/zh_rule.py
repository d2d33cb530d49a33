"""The rule of the Chinese-pages test (``test_chinese_pages.py``): what counts as a UI
string left in English, how a page's texts are read, and the walk through the map viewer.

**What is read.** Every text node of a page's body, the document title, and the attributes
users read: ``title``, ``placeholder``, ``aria-label``, ``aria-description``, ``alt``,
``label``, and the ``value`` of buttons (:data:`EXTRACT_JS`). Hidden elements are read too:
they are shown at some point.

**What is data** (exempt, with everything inside it): an element marked
``translate="no"`` — the HTML way to say "not to be translated", which the templates and
scripts put on dataset ids and titles, citations, licences, organisations, user names and
stored values without a translation (a method only its survey uses) — or with a ``lang``
other than Chinese (the "English" language link), or code: ``code``, ``kbd``, ``samp``,
``pre``, ``var``, a ``textarea``'s content, scripts and styles. The document title cannot
hold markup: its words that the page shows as data are data.

**What is an English word** (:func:`english_runs`). In the rest, code between backticks,
URLs, e-mail addresses, site paths (``/api/docs``) and file names (``2.jpg``) are removed
and the Latin words are tokenised. A token is *not* an English word when it holds a digit
(``P95``, ``EPSG:4326``, ``gb15618-2018``) or one of ``_ : / @`` (identifiers, ``mg/kg``),
is one letter (``n``, ``k``), is an acronym (all capitals: ``CSV``, ``RSD``, ``ICP-AES``),
has a capital after its first letter (names and formats: ``GeoTIFF``, ``NetCDF``, ``pH``,
``Thompson–Howarth``), is an element symbol (``Cu``), a unit
:func:`chemearth.reference.units.parse_unit` reads (``km``, ``ppm``, ``wt.%``) or the
software's own name (``chemearth``). The other tokens are English words, and consecutive
ones (separated by spaces and light punctuation only) form a *run*. A run fails when it
holds a word in lower case, or two or more words, or stands in a text without any Chinese
character. What passes is one capitalised name inside Chinese text (``Tukey 上限``); a name
of two words (``Natural Earth``) must be marked or translated.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable
from typing import Any

from tests.web.test_browser import ARTIFACTS

from chemearth.reference.elements import ELEMENTS

SOFTWARE = "chemearth"
TIMEOUT_MS = 120_000

_CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")
_NOT_WORDS = re.compile(
    r"`[^`]*`"  # code, between backticks
    r"|(?:https?://|www\.)\S+"  # URLs
    r"|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"  # e-mail addresses
    r"|(?<![\w/])/[\w./?=&%:~+-]+"  # site paths (/api/docs)
    r"|\b[\w.-]+\.(?:csv|tsv|toml|xlsx?|gpkg|tiff?|nc|json|geojson|png|svg|pdf|zip"
    r"|jpe?g|webp|mp4|mov|webm)\b",  # file names
    re.IGNORECASE,
)
_LATIN = "A-Za-zÀ-ÖØ-öø-ɏ"  # Latin letters, with accents (Äyräs, Jæger)
_TOKEN = re.compile(rf"[{_LATIN}][{_LATIN}0-9µ._:/%@'’+\-–]*")
_LIGHT_GAP = re.compile(r"[\s,;'\"’“”()\[\]&+\-–—]*")


def _is_unit(token: str) -> bool:
    from chemearth.errors import ChemearthError
    from chemearth.reference.units import parse_unit

    try:
        parse_unit(token)
    except (ChemearthError, ValueError):
        return False
    return True


def not_a_word(token: str) -> bool:
    """Whether a Latin token is exempt from the rule (see the module docstring)."""
    letters = [c for c in token if c.isalpha()]
    return (
        any(c.isdigit() for c in token)
        or any(c in "_:/@" for c in token)
        or len(letters) <= 1
        or all(c.isupper() for c in letters)
        or any(c.isupper() for c in letters[1:])
        or token in ELEMENTS
        or token == SOFTWARE
        or _is_unit(token)
    )


def english_runs(text: str, data: Iterable[str] = ()) -> list[str]:
    """The runs of English words in ``text`` that fail the rule (empty: it passes).

    ``data`` are strings known to be data (removed first: the document title's data).
    """
    for d in sorted((d for d in data if d), key=len, reverse=True):
        text = text.replace(d, " ")
    has_cjk = bool(_CJK.search(text))
    text = _NOT_WORDS.sub(" ", text)
    out: list[str] = []
    for segment in _CJK.split(text):
        run: list[str] = []
        end = 0
        for m in _TOKEN.finditer(segment):
            tok = m.group().rstrip(".,:;'’-–+")
            if run and not _LIGHT_GAP.fullmatch(segment[end:m.start()]):
                out += _failing(run, has_cjk)
                run = []
            if not_a_word(tok):
                out += _failing(run, has_cjk)
                run = []
            else:
                run.append(tok)
            end = m.end()
        out += _failing(run, has_cjk)
    return out


def _failing(run: list[str], has_cjk: bool) -> list[str]:
    if not run:
        return []
    if len(run) > 1 or run[0][0].islower() or not has_cjk:
        return [" ".join(run)]
    return []


EXTRACT_JS = """() => {
  const SKIP = new Set(['SCRIPT', 'STYLE', 'NOSCRIPT', 'TEMPLATE', 'CODE', 'KBD', 'SAMP', 'PRE',
                        'VAR', 'TEXTAREA']);
  const ATTRS = ['title', 'placeholder', 'aria-label', 'alt', 'aria-description', 'label'];
  const why = (el) => {
    for (let e = el; e && e.nodeType === 1; e = e.parentElement) {
      if (SKIP.has(e.tagName.toUpperCase())) return 'code';
      if (e.getAttribute('translate') === 'no') return 'data';
      const lang = e.getAttribute('lang');
      if (lang) return lang.toLowerCase().startsWith('zh') ? '' : 'lang';
    }
    return '';
  };
  const where = (el) => {
    const parts = [];
    for (let e = el, i = 0; e && e.nodeType === 1 && i < 4; e = e.parentElement, i++) {
      let s = e.tagName.toLowerCase();
      if (e.id) s += '#' + e.id;
      else if (e.classList.length) s += '.' + [...e.classList].slice(0, 2).join('.');
      parts.unshift(s);
      if (e.id) break;
    }
    return parts.join(' > ');
  };
  const out = [];
  const add = (el, what, text) => {
    text = String(text || '').replace(/\\s+/g, ' ').trim();
    if (text) out.push({where: where(el), what, text, exempt: why(el)});
  };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    add(n.parentElement, 'text', n.nodeValue);
  }
  for (const el of document.body.querySelectorAll('*')) {
    for (const a of ATTRS) if (el.hasAttribute(a)) add(el, '@' + a, el.getAttribute(a));
    if (el.tagName === 'INPUT' && ['submit', 'button', 'reset'].includes(el.type)) {
      add(el, '@value', el.value);
    }
  }
  const data = [...document.querySelectorAll('[translate="no"]')].map((e) => e.textContent.trim());
  out.push({where: 'head > title', what: 'text', text: document.title, exempt: '', data});
  return out;
}"""


class ChineseCheck:
    """Reads a page's texts and keeps what fails the rule, with where it was found."""

    def __init__(self, page: Any, prefix: str) -> None:
        self.page = page
        self.prefix = prefix
        self.failures: dict[tuple[str, str, str], set[str]] = {}
        self.errors: list[str] = []
        self.shots = 0
        page.set_default_timeout(TIMEOUT_MS)
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))

    def check(self, step: str) -> int:
        """Check the page as it is now; return the number of texts read."""
        items = self.page.evaluate(EXTRACT_JS)
        for it in items:
            if it["exempt"]:
                continue
            runs = english_runs(it["text"], it.get("data", ()))
            if runs:
                key = (it["where"] + " " + it["what"], it["text"][:160], ", ".join(runs))
                self.failures.setdefault(key, set()).add(step)
        return len(items)

    def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.shots += 1
        self.page.wait_for_timeout(300)
        self.page.screenshot(path=str(ARTIFACTS / f"{self.prefix}-{self.shots:02d}-{name}.png"))

    def report(self) -> str:
        lines = [f"{len(self.failures)} English UI strings:"]
        for (where, text, runs), steps in sorted(self.failures.items()):
            lines.append(f"  [{runs}] in {text!r} at {where} ({', '.join(sorted(steps)[:3])})")
        return "\n".join(lines)


def zh_url(url: str) -> str:
    return url + ("&" if "?" in url else "?") + "lang=zh"


def settle(page: Any) -> None:
    """Wait until the page has loaded (the map viewer: its first layer and legend)."""
    with contextlib.suppress(Exception):
        page.wait_for_load_state("networkidle", timeout=30_000)
    if page.locator("body.page-map").count():
        page.wait_for_selector("body[data-ready='1']")


MAP_DATASET, MAP_ELEMENT, MAP_MEDIUM, MAP_AGAINST = "kola-humus", "Ni", "humus", "kola-chorizon"


def _wait_layer(page: Any) -> None:
    page.wait_for_function(
        "() => { const m = document.getElementById('map');"
        " const lg = document.getElementById('legend');"
        " return m.dataset.layer && m.dataset.loaded === m.dataset.layer"
        " && m.dataset.tiles === 'loaded' && !(lg && lg.dataset.state === 'loading'); }")


def _click_latlon(page: Any, lat: float, lon: float) -> None:
    page.evaluate("() => { window.chemearthMap.closePopup(); }")
    x, y = page.evaluate("([lat, lon]) => { const p = window.chemearthMap"
                         ".latLngToContainerPoint([lat, lon]); return [p.x, p.y]; }", [lat, lon])
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)


def _select(page: Any, sel: str, value: str) -> None:
    if page.input_value(sel) != value:
        page.select_option(sel, value)


def _overlay(page: Any, kind: str) -> None:
    _select(page, "#sel-assess", kind)
    page.wait_for_function(
        "k => ['error', k].includes(document.getElementById('map').dataset.assess)"
        " || (k === 'change' && document.getElementById('assess-note').textContent)",
        arg=kind)


def _api(base: str, path: str, **params: Any) -> Any:
    import httpx

    r = httpx.get(base + path, params=params, timeout=120)
    assert r.status_code == 200, (path, params, r.status_code, r.text[:300])
    return r.json()


def walk_viewer(page: Any, base: str, c: ChineseCheck) -> None:
    """Open every panel, overlay, legend and popup of the viewer, checking each."""
    page.goto(base + "/?lang=zh")
    settle(page)
    _wait_layer(page)
    c.check("pooled map")
    c.shot("pooled")
    if page.is_visible("#show-coverage"):
        page.check("#show-coverage")
        page.wait_for_function("() => ['on', 'error'].includes("
                               "document.getElementById('map').dataset.coverage)")
        c.check("coverage")
        c.shot("coverage")
    # a pooled cell's popup, with its contributing datasets
    page.goto(base + f"/?lang=zh#dataset=pooled:public&element={MAP_ELEMENT}"
              f"&medium={MAP_MEDIUM}&lat=68.8&lon=30.5&zoom=6")
    settle(page)
    _wait_layer(page)
    _click_latlon(page, 68.8, 30.5)
    page.locator(".leaflet-popup .cell-popup:not(.cell-popup-loading)").wait_for()
    c.check("pooled cell popup")
    c.shot("pooled-popup")

    # a dataset's layer, a cell's popup, its sample points and a sample's popup
    page.goto(base + f"/?lang=zh#dataset={MAP_DATASET}&element={MAP_ELEMENT}"
              f"&medium={MAP_MEDIUM}&lat=68.8&lon=30.5&zoom=7")
    settle(page)
    _wait_layer(page)
    _click_latlon(page, 68.8, 30.5)
    page.locator(".leaflet-popup .cell-popup:not(.cell-popup-loading)").wait_for()
    c.check("cell popup")
    page.evaluate("() => { window.chemearthMap.setView([68.8, 30.5], 9, {animate: false}); }")
    _wait_layer(page)
    page.wait_for_function("() => Number(document.getElementById('map').dataset.samples) > 0")
    feats = _api(base, f"/api/collections/{MAP_DATASET}.samples/items",
                 bbox=page.evaluate("() => window.chemearthMap.getBounds().toBBoxString()"),
                 element=MAP_ELEMENT, limit=500)["features"]
    lon, lat = min((f["geometry"]["coordinates"] for f in feats),  # nearest the centre
                   key=lambda p: (p[0] - 30.5) ** 2 + (p[1] - 68.8) ** 2)
    _click_latlon(page, lat, lon)
    page.locator(".leaflet-popup .sample-popup").wait_for()
    c.check("sample popup")
    c.shot("sample-popup")
    page.evaluate("() => { window.chemearthMap.closePopup(); }")
    page.evaluate("() => { window.chemearthMap.setView([68.5, 31], 6, {animate: false}); }")
    _wait_layer(page)

    # every assessment overlay, each standard of the screening
    _overlay(page, "screening")
    for std in page.locator("#sel-standard option").evaluate_all(
            "os => os.map((o) => o.value)"):
        _select(page, "#sel-standard", std)
        page.wait_for_function("() => ['screening', 'error'].includes("
                               "document.getElementById('map').dataset.assess)")
        page.wait_for_load_state("networkidle")
        c.check(f"screening {std}")
    _click_latlon(page, 68.8, 30.5)  # a screened cell's popup
    with contextlib.suppress(Exception):
        page.locator(".leaflet-popup .cell-popup:not(.cell-popup-loading)").wait_for(
            timeout=60_000)
        page.wait_for_load_state("networkidle")
    c.check("screened cell popup")
    c.shot("screening")
    _overlay(page, "change")
    c.check("change: no campaign chosen")
    _select(page, "#sel-against", MAP_AGAINST)
    page.wait_for_function("() => ['change', 'error'].includes("
                           "document.getElementById('map').dataset.assess)")
    c.check("change")
    c.shot("change")
    for kind in ("anomalies", "blocks"):
        _overlay(page, kind)
        shapes = page.locator(".leaflet-overlay-pane path.leaflet-interactive")
        if shapes.count():
            shapes.first.click(force=True)
            with contextlib.suppress(Exception):
                page.locator(".leaflet-popup-content").wait_for(timeout=10_000)
        c.check(kind)
        c.shot(kind)
    for kind in ("surface-kriging", "surface-idw"):
        _overlay(page, kind)
        c.check(kind)
    _select(page, "#sel-assess", "")
    _walk_analytics(page, c)

    # every other control of the panel, generically (panels added later are opened too)
    _open_every_control(page, c)


LAYER_FORM = ("#layer-form select, #sel-assess, #sel-standard, #sel-against, #sel-threshold, "
              "#sel-analytics, #sel-an-against")


def _walk_analytics(page: Any, c: ChineseCheck) -> None:
    """Every analytics overlay (change against the C-horizon campaign): its legend and
    notes, and the popup of one of its cells, zones or samples."""
    for kind in page.locator("#sel-analytics option").evaluate_all(
            "os => os.map((o) => o.value).filter(Boolean)"):
        _select(page, "#sel-analytics", kind)
        if kind == "change":
            c.check("analytics change: no campaign chosen")
            _select(page, "#sel-an-against", MAP_AGAINST)
        page.wait_for_function(
            "k => ['error', 'unavailable', k].includes("
            "document.getElementById('map').dataset.analytics)", arg=kind)
        c.check(f"analytics {kind}")
        page.evaluate("() => { let done = false; window.chemearthMap.eachLayer((l) => {"
                      " if (!done && l.feature && l.getPopup && l.getPopup()) {"
                      " l.openPopup(); done = true; } }); }")
        c.check(f"analytics {kind} popup")
        c.shot(f"analytics-{kind}")
    page.evaluate("() => { window.chemearthMap.closePopup(); }")
    _select(page, "#sel-analytics", "")


def _open_every_control(page: Any, c: ChineseCheck) -> None:
    """Each select of the viewer outside the layer form and the assessment overlays
    (their options in turn, at most 6), each checkbox (on, then back), each button and
    ``details`` of the page (opened)."""
    selects = page.locator(f".viewer select:not({LAYER_FORM})")
    for i in range(selects.count()):
        s = selects.nth(i)
        if not s.is_visible():
            continue
        first = s.input_value()
        for value in s.locator("option").evaluate_all("os => os.map((o) => o.value)")[:6]:
            s.select_option(value)
            page.wait_for_load_state("networkidle")
            c.check(f"select {s.get_attribute('id')}={value}")
        s.select_option(first)
    boxes = page.locator(".viewer input[type=checkbox]")
    for i in range(boxes.count()):
        b = boxes.nth(i)
        if b.is_visible() and b.is_enabled():
            b.click()
            page.wait_for_load_state("networkidle")
            c.check(f"checkbox {b.get_attribute('id')}")
            b.click()
    buttons = page.locator(".viewer button, .leaflet-control button")
    for i in range(buttons.count()):
        b = buttons.nth(i)
        if b.is_visible() and b.is_enabled():
            url = page.url
            b.click()
            page.wait_for_load_state("networkidle")
            c.check(f"button {b.get_attribute('id') or b.inner_text()[:20]}")
            if page.url.split("#")[0] != url.split("#")[0]:
                page.go_back()
                settle(page)
    for d in page.locator("details:not([open])").all():
        if d.is_visible():
            d.locator("summary").click()
    c.check("details opened")
