/* chemearth map viewer: Leaflet 1.9 (served at /vendor/leaflet/), plain modern JavaScript.
 *
 * Contract with the server (docs/web.md):
 *   GET /api/layers                                   the layers the actor may see
 *   GET /api/layers/{ds}/{el}/tilejson.json?query     TileJSON 3.0.0 (+ "legend": URL)
 *   GET /api/layers/{ds}/{el}/legend?query            class limits, colours, unit, stat, level
 *   GET /api/layers/{ds}/{el}/cell?lon=&lat=&query    statistics of the cell under a point
 *   GET /api/boundaries.geojson                       country boundaries
 *   GET /api/collections/{ds}.samples/items?bbox=     sample points (zoom >= SAMPLE_ZOOM)
 *   GET /api/global                                   the pooling rules (medium groups), read
 *                                                     only when /api/layers lists pooled layers
 *   GET /api/global/coverage/{group}[?fmt=geojson]    land coverage of a medium group
 * where query = medium, method, grid, level (metres) and stat.
 *
 * Pooled layers ("All surveys": one map per element pooled across surveys) are the layers of
 * the pseudo-datasets pooled:public and pooled:org:NAME; their medium is a medium group and
 * their method a method class. When /api/layers lists any, the viewer opens on the public
 * pooled map of a common element, the dataset selector offers "All surveys" first and also
 * the datasets whose medium belongs to the shown medium group, a "Coverage" checkbox overlays
 * the land cells holding samples of the group, and a pooled cell's popup lists the
 * contributing datasets with their citations. Without pooled layers nothing of this shows.
 *
 * Hooks for tests: window.chemearthMap (the L.Map); #map[data-layer] = the current layer key,
 * #map[data-loaded] = the key whose tiles last finished loading, #map[data-tiles] = "loading"
 * or "loaded" (the current tile layer), #map[data-samples] = sample points drawn,
 * #map[data-coverage] = "off", "loading", "on" or "error" and #map[data-coverage-cells] = the
 * coverage cells drawn; body[data-ready="1"] once the first layer's tiles have loaded.
 */
(function () {
  'use strict';

  const SAMPLE_ZOOM = 8;
  const SAMPLE_LIMIT = 2000;
  const SAMPLE_DEBOUNCE_MS = 350;
  /** Statistics of a cell, in the order the popup lists them. */
  const CELL_STATS = ['min', 'p5', 'p10', 'p25', 'median', 'p75', 'p90', 'p95', 'p98', 'max',
    'mean', 'gmean', 'mad', 'log10_sd'];
  /** Statistics without the layer's unit. */
  const UNITLESS = new Set(['n', 'n_censored', 'log10_sd']);
  /** View-state keys kept in the URL, in order. */
  const STATE_KEYS = ['lat', 'lon', 'zoom', 'dataset', 'element', 'medium', 'method', 'grid',
    'level', 'stat', 'coverage', 'lang'];
  /** The pseudo-dataset of the public pooled layers, and the prefix of every pooled one. */
  const POOLED_PUBLIC = 'pooled:public';
  const POOLED_PREFIX = 'pooled:';
  /** The element the viewer opens on (first present in topsoil, total), when pooled. */
  const DEFAULT_ELEMENTS = ['Pb', 'Cu', 'Zn', 'As'];
  /** Coverage cells: 1–4 samples, and 5 or more. */
  // (colours apart from the layers' viridis ramp: dark outlines, orange dashes)
  const COVERAGE_STYLE_1 = { stroke: true, color: '#c2410c', weight: 1.3, opacity: 0.95,
    dashArray: '4 3', fill: true, fillColor: '#fb923c', fillOpacity: 0.3 };
  const COVERAGE_STYLE_5 = { stroke: true, color: '#111827', weight: 1.2, opacity: 0.85,
    fill: true, fillColor: '#111827', fillOpacity: 0.1 };

  const mapEl = document.getElementById('map');
  if (!mapEl || typeof L === 'undefined') return;

  // ---------------------------------------------------------------- strings

  const STRINGS = (function () {
    const el = document.getElementById('i18n');
    try {
      const s = el ? JSON.parse(el.textContent || '{}') : {};
      return s && typeof s === 'object' ? s : {};
    } catch (e) {
      return {};
    }
  })();

  /** The translated string of `key` with `{name}` placeholders filled from `vars`. */
  function t(key, vars, fallback) {
    let s = Object.prototype.hasOwnProperty.call(STRINGS, key) ? STRINGS[key]
      : (fallback !== undefined ? fallback : key.replace(/^map\./, ''));
    if (vars) {
      s = String(s).replace(/\{(\w+)\}/g, (m, name) =>
        Object.prototype.hasOwnProperty.call(vars, name) ? String(vars[name]) : m);
    }
    return String(s);
  }

  const PAGE_LANG = mapEl.dataset.lang === 'zh' || mapEl.dataset.lang === 'en' ? mapEl.dataset.lang
    : ((document.documentElement.lang || '').toLowerCase().startsWith('zh') ? 'zh' : 'en');

  // ---------------------------------------------------------------- formatting

  /** A number to 3 significant digits without trailing zeros ("0.0123", "12300", "1.5"). */
  function fmt(v) {
    if (v === null || v === undefined || v === '') return '–';
    const x = Number(v);
    if (!Number.isFinite(x)) return String(v);
    if (x === 0) return '0';
    const r = Number(x.toPrecision(3));
    const a = Math.abs(r);
    if (a >= 1e7 || a < 1e-4) {
      return r.toExponential(2).replace(/\.?0+e/, 'e').replace('e+', 'e');
    }
    const decimals = Math.max(0, 2 - Math.floor(Math.log10(a)));
    let s = r.toFixed(decimals);
    if (s.indexOf('.') >= 0) s = s.replace(/0+$/, '').replace(/\.$/, '');
    return s;
  }

  /** A count ("12", "1 234" is not used: plain digits read the same in both languages). */
  function fmtCount(v) {
    if (v === null || v === undefined || v === '') return '–';
    const x = Number(v);
    return Number.isFinite(x) ? String(Math.round(x)) : String(v);
  }

  function withUnit(text, unit) {
    return unit && text !== '–' ? text + '\u00a0' + unit : text;
  }

  function levelLabel(m) {
    const x = Number(m);
    if (!Number.isFinite(x)) return String(m);
    return x >= 1000 ? t('map.level.km', { n: x / 1000 }) : t('map.level.m', { n: x });
  }

  function statLabel(s) {
    return t('map.stat.' + s, null, s);
  }

  function mediumLabel(m) {
    return t('map.medium.' + m, null, m);
  }

  /** A method; a pooled layer's method class has a translated name. */
  function methodLabel(m, pooled) {
    if (!m) return t('map.method.none');
    return pooled ? t('map.method.class.' + m, null, m) : t('term.method.' + m, null, m);
  }

  /** Whether the strings hold `key` (a label without one is shown as stored: data). */
  function hasString(key) {
    return Object.prototype.hasOwnProperty.call(STRINGS, key);
  }

  /** An analyte code: element symbols as they are, a parameter (clay, LOI…) by its name. */
  function analyteLabel(code) {
    return t('term.parameter.' + code, null, code);
  }

  function isPooled(ds) {
    return typeof ds === 'string' && ds.startsWith(POOLED_PREFIX);
  }

  /** The name of a dataset in the selector: pooled layers by their scope. */
  function datasetLabel(ds, title) {
    if (ds === POOLED_PUBLIC) return t('map.dataset.pooled_public');
    if (isPooled(ds) && ds.startsWith(POOLED_PREFIX + 'org:')) {
      return t('map.dataset.pooled_org', { org: ds.slice((POOLED_PREFIX + 'org:').length) });
    }
    return title || ds;
  }

  /** A share of land (0–1) as a percentage with one decimal ("10.7"; "< 0.1" when tiny). */
  function fmtShare(v) {
    const x = Number(v) * 100;
    if (!Number.isFinite(x)) return '–';
    if (x > 0 && x < 0.05) return '< 0.1';
    return x.toFixed(1);
  }

  function gridLabel(g) {
    return t('map.grid.' + g, null, g);
  }

  /** A DOM element: h('td', {className: 'x', dataset: {a: 1}}, 'text', child, ...). */
  function h(tag, props, ...children) {
    const el = document.createElement(tag);
    if (props) {
      for (const [k, v] of Object.entries(props)) {
        if (v === undefined || v === null) continue;
        if (k === 'dataset') Object.assign(el.dataset, v);
        else if (k === 'style') Object.assign(el.style, v);
        else if (k in el) el[k] = v;
        else el.setAttribute(k, v);
      }
    }
    for (const c of children) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }

  /** A string with its `{name}` placeholder filled by `value` marked as data
   * (translate="no"): the nodes to append. */
  function withData(template, name, value) {
    const [before, ...rest] = String(template).split('{' + name + '}');
    if (!rest.length) return [before];
    return [before, h('span', { translate: false }, value), rest.join(value)];
  }

  /** The string of `key` as nodes to append: its `{name}` placeholders filled from `vars`,
   * those named in `dataNames` marked as data (translate="no": dataset ids and titles). */
  function tNodes(key, vars, dataNames) {
    const s = t(key);
    const out = [];
    let last = 0;
    s.replace(/\{(\w+)\}/g, (m, name, at) => {
      out.push(s.slice(last, at));
      last = at + m.length;
      const known = vars && Object.prototype.hasOwnProperty.call(vars, name);
      const v = known ? String(vars[name]) : m;
      out.push(known && dataNames && dataNames.includes(name)
        ? h('span', { translate: false }, v) : v);
      return m;
    });
    out.push(s.slice(last));
    return out.filter((x) => x !== '');
  }

  function escapeHtml(s) {
    return String(s).replace(/[&<>"']/g, (c) => ({
      '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
    }[c]));
  }

  // ---------------------------------------------------------------- status line

  const statusEl = document.getElementById('status');
  const statusMessages = new Map();

  /** Set (or clear with null) the status message of one source ("layer", "samples", …). */
  function setStatus(source, message, kind) {
    if (message) statusMessages.set(source, { message, kind: kind || 'error' });
    else statusMessages.delete(source);
    if (!statusEl) return;
    statusEl.replaceChildren();
    let error = false;
    for (const { message: m, kind: k } of statusMessages.values()) {
      statusEl.append(h('span', { className: 'status-' + k }, m));
      if (k === 'error') error = true;
    }
    statusEl.classList.toggle('has-error', error);
  }

  // ---------------------------------------------------------------- fetching

  class HttpError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  /** GET a JSON document; HTTP errors throw HttpError with the server's `detail`. */
  async function fetchJSON(url, options) {
    let resp;
    try {
      resp = await fetch(url, Object.assign({ headers: { Accept: 'application/json' },
        credentials: 'same-origin' }, options || {}));
    } catch (e) {
      if (e && e.name === 'AbortError') throw e;
      throw new HttpError(0, t('map.status.network'));
    }
    if (!resp.ok) {
      let detail = resp.status + ' ' + (resp.statusText || '');
      try {
        const body = await resp.json();
        if (body && body.detail !== undefined) {
          detail = typeof body.detail === 'string' ? body.detail : JSON.stringify(body.detail);
        }
      } catch (e) { /* not JSON */ }
      throw new HttpError(resp.status, detail.trim());
    }
    return resp.json();
  }

  function errorText(e) {
    return e && e.message ? e.message : String(e);
  }

  // ---------------------------------------------------------------- URL state

  function readUrlState() {
    const out = {};
    const sources = [new URLSearchParams(window.location.search),
      new URLSearchParams(window.location.hash.replace(/^#/, ''))];
    for (const params of sources) {  // the hash wins over the query
      for (const k of STATE_KEYS) {
        if (params.has(k)) out[k] = params.get(k);
      }
    }
    return out;
  }

  function stateParams(langOverride) {
    const p = new URLSearchParams();
    const c = map.getCenter();
    p.set('lat', c.lat.toFixed(4));
    p.set('lon', c.lng.toFixed(4));
    p.set('zoom', String(map.getZoom()));
    if (sel.dataset) {
      p.set('dataset', sel.dataset);
      p.set('element', sel.element);
      p.set('medium', sel.medium);
      p.set('method', sel.method);
      p.set('grid', sel.grid);
      p.set('level', String(sel.level));
      p.set('stat', sel.stat);
    }
    if (coverageOn()) p.set('coverage', '1');
    for (const add of urlExtras) add(p);  // keys of other scripts (globe.js: view=globe)
    p.set('lang', langOverride || PAGE_LANG);
    return p;
  }

  /** The state as a hash or query string; the colon of "pooled:public" stays readable. */
  function stateString(langOverride) {
    return stateParams(langOverride).toString().replace(/%3A/gi, ':').replace(/%2F/gi, '/');
  }

  let lastHash = null;
  /** Functions adding other scripts' keys to the URL state (window.chemearthViewer.urlExtras). */
  const urlExtras = [];

  /** Write the view into the hash (history.replaceState) and the language links. */
  function writeUrl() {
    const hash = '#' + stateString();
    if (hash !== window.location.hash) {
      history.replaceState(history.state, '', window.location.pathname + window.location.search + hash);
    }
    lastHash = window.location.hash;
    for (const lang of ['en', 'zh']) {
      const a = document.getElementById('lang-' + lang);
      if (a) a.setAttribute('href', '?lang=' + lang + '#' + stateString(lang));
    }
  }

  // A shared link may name another language than the page was rendered in: reload once in it
  // (unless the query already asks for a language, which the server has honoured).
  const linkLang = new URLSearchParams(window.location.hash.replace(/^#/, '')).get('lang');
  const pageQuery = new URLSearchParams(window.location.search);
  if ((linkLang === 'en' || linkLang === 'zh') && linkLang !== PAGE_LANG && !pageQuery.has('lang')) {
    pageQuery.set('lang', linkLang);
    window.location.replace(window.location.pathname + '?' + pageQuery.toString() +
      window.location.hash);
    return;
  }

  // ---------------------------------------------------------------- the map

  // Leaflet's own words (the popup's close button) in the page's language, on every map
  L.Map.addInitHook(function () {
    this.on('popupopen', (e) => {
      const close = e.popup.getElement() &&
        e.popup.getElement().querySelector('.leaflet-popup-close-button');
      if (close && hasString('ui.close_popup')) close.setAttribute('aria-label', t('ui.close_popup'));
    });
  });

  const map = L.map(mapEl, {
    minZoom: 1,
    maxZoom: 16,
    worldCopyJump: true,
    zoomControl: true,
    attributionControl: true,
  });
  window.chemearthMap = map;
  map.attributionControl.setPrefix(
    '<a href="https://leafletjs.com" title="Leaflet" translate="no">Leaflet</a>');
  for (const [cls, key] of [['in', 'ui.zoom_in'], ['out', 'ui.zoom_out']]) {
    const btn = mapEl.querySelector('.leaflet-control-zoom-' + cls);  // Leaflet's English
    if (btn && hasString(key)) { btn.title = t(key); btn.setAttribute('aria-label', t(key)); }
  }

  map.createPane('land');
  map.getPane('land').style.zIndex = '150';          // below the tiles (200)
  map.createPane('borders');
  map.getPane('borders').style.zIndex = '380';       // above the tiles, below points (400)
  map.getPane('borders').style.pointerEvents = 'none';
  map.getPane('land').style.pointerEvents = 'none';

  L.control.scale({ metric: true, imperial: false, maxWidth: 150 }).addTo(map);

  const urlState = readUrlState();
  const hashView = (function () {
    const lat = Number(urlState.lat), lon = Number(urlState.lon), zoom = Number(urlState.zoom);
    if (urlState.lat !== undefined && urlState.lon !== undefined && urlState.zoom !== undefined &&
        Number.isFinite(lat) && Number.isFinite(lon) && Number.isFinite(zoom) &&
        Math.abs(lat) <= 90) {
      return { center: [lat, lon], zoom: Math.round(zoom) };
    }
    return null;
  })();
  if (hashView) map.setView(hashView.center, hashView.zoom);
  else map.setView([30, 10], 2);

  // ---------------------------------------------------------------- boundaries

  (async function loadBoundaries() {
    try {
      const gj = await fetchJSON('/api/boundaries.geojson');
      L.geoJSON(gj, {
        pane: 'land',
        renderer: L.canvas({ pane: 'land', padding: 0.3 }),
        interactive: false,
        style: { stroke: false, fill: true, fillColor: '#f3f1ea', fillOpacity: 1 },
      }).addTo(map);
      L.geoJSON(gj, {
        pane: 'borders',
        renderer: L.canvas({ pane: 'borders', padding: 0.3 }),
        interactive: false,
        attribution: escapeHtml(t('map.attribution.boundaries')),
        style: { color: '#7d7d7d', weight: 0.8, opacity: 0.9, fill: false },
      }).addTo(map);
    } catch (e) {
      setStatus('boundaries', t('map.status.boundaries_error', { error: errorText(e) }));
    }
  })();

  // ---------------------------------------------------------------- layers and selectors

  let LAYERS = [];
  let STATS = ['median'];
  /** Whether /api/layers lists pooled layers; the medium group of each medium (from the
   * pooling rules of /api/global; null without pooled layers: every medium its own). */
  let POOLED = false;
  let GROUP_OF = null;
  /** The medium groups that have pooled layers (the coverage toggle offers those). */
  let POOLED_MEDIA = new Set();

  function groupOf(medium) {
    if (GROUP_OF && GROUP_OF.has(medium)) return GROUP_OF.get(medium);
    return medium;
  }
  /** The current selection. */
  const sel = { dataset: null, element: null, medium: null, method: '', grid: null, level: null,
    stat: 'median' };
  let current = null;  // the current layer entry of /api/layers
  // what assess.js needs: the map, the strings and the error text of a failed fetch
  /** An overlay's legend on the map (assess_legend.js, analytics.js): the control `id`
   * holding `parts` (its title, classes and notes), hidden until `show(kind)`; while it
   * shows, the concentration legend gives way (`show('')` puts it back). */
  function overlayLegend(id, className, parts) {
    const Control = L.Control.extend({
      options: { position: 'bottomright' },
      onAdd: function () {
        const div = L.DomUtil.create('div',
          ['legend assess-map-legend', className, 'leaflet-control'].filter(Boolean).join(' '));
        div.id = id;
        div.hidden = true;
        L.DomEvent.disableClickPropagation(div);
        L.DomEvent.disableScrollPropagation(div);
        return div;
      },
    });
    const control = new Control();
    control.addTo(map);
    const box = control.getContainer();
    box.append(...parts);
    function show(kind) {
      box.hidden = !kind;
      box.dataset.kind = kind || '';
      const conc = document.getElementById('legend');
      if (conc) conc.hidden = !!kind;
    }
    return { box, show };
  }

  window.chemearthViewer = { map: map, t: t, fetchJSON: fetchJSON, errorText: errorText,
    selection: () => Object.assign({}, sel),
    // what globe.js needs too: the cell popup, the layer's URLs, the status line and the URL
    h: h, cellContent: cellContent, sampleContent: sampleContent, layerBase: layerBase,
    layerQuery: layerQuery, layerKey: layerKey, setStatus: setStatus, writeUrl: writeUrl,
    urlExtras: urlExtras };
  // what compare.js needs too: the layers and the selection resolver, labels, the legend and
  // its control, and hooks on map clicks (a hook returning true has handled the click)
  const clickHooks = [];
  Object.assign(window.chemearthViewer, { layers: () => LAYERS, stats: () => STATS,
    resolve: resolve, current: () => current, tileLayer: () => tileLayer,
    legendControl: () => legendControl, renderLegend: renderLegend, fmt: fmt,
    levelLabel: levelLabel, statLabel: statLabel, mediumLabel: mediumLabel,
    methodLabel: methodLabel, datasetLabel: datasetLabel, gridLabel: gridLabel,
    isPooled: isPooled, clickHooks: clickHooks, tNodes: tNodes, analyteLabel: analyteLabel,
    hasString: hasString, overlayLegend: overlayLegend });

  const selects = {
    element: document.getElementById('sel-element'),
    medium: document.getElementById('sel-medium'),
    dataset: document.getElementById('sel-dataset'),
    method: document.getElementById('sel-method'),
    grid: document.getElementById('sel-grid'),
    level: document.getElementById('sel-level'),
    stat: document.getElementById('sel-stat'),
  };

  function uniq(xs) {
    return Array.from(new Set(xs));
  }

  function pick(options, wanted, fallback) {
    if (wanted !== undefined && wanted !== null && options.includes(wanted)) return wanted;
    if (fallback !== undefined && fallback !== null && options.includes(fallback)) return fallback;
    return options[0];
  }

  function fill(select, options, value) {
    if (!select) return;
    // an option showing a stored value (a title, a code) is data: translate="no"
    select.replaceChildren(...options.map((o) => h('option',
      { value: String(o.value), translate: o.data ? false : undefined }, o.label)));
    select.value = String(value);
  }

  function showField(name, visible) {
    const f = document.getElementById('field-' + name);
    if (f) f.hidden = !visible;
  }

  /** A wanted selection that names a dataset to keep (`opts.keepDataset`: a link, the URL,
   * the dataset selector) made to fit that dataset: an element it lacks becomes its first of
   * DEFAULT_ELEMENTS (else its first in the order of /api/layers), a medium it lacks for the
   * element its medium of the same medium group (else its first). A link naming only a
   * dataset so opens that dataset, with its method, grid and level defaults (resolve). Other
   * wants, and datasets not listed, are unchanged. */
  function datasetWant(want, opts) {
    if (!opts.keepDataset || want.dataset === undefined || want.dataset === null) return want;
    const own = LAYERS.filter((l) => l.dataset === want.dataset);
    if (!own.length) return want;
    const out = Object.assign({}, want);
    const elements = uniq(own.map((l) => l.element));
    if (!elements.includes(out.element)) {
      out.element = DEFAULT_ELEMENTS.find((e) => elements.includes(e)) || own[0].element;
    }
    const media = uniq(own.filter((l) => l.element === out.element).map((l) => l.medium));
    if (!media.includes(out.medium)) {  // its medium of the same medium group, else its first
      const group = out.medium === undefined || out.medium === null ? null : groupOf(out.medium);
      out.medium = media.find((m) => group !== null && groupOf(m) === group) || media[0];
    }
    return out;
  }

  /** Resolve a complete, valid selection from wanted values (any may be missing or invalid).
   *
   * The medium comes before the dataset: the datasets offered are those with the element in
   * the medium, and, when there are pooled layers, those with it in another medium of the
   * same medium group (a pooled layer's medium is a group: "subsoil" holds the C-horizon
   * surveys). A wanted dataset is kept if it has the medium itself, or if `opts.keepDataset`
   * (the user chose it, or a link names it) and it has a medium of the group, which then
   * becomes the medium. `opts.from` is the dataset shown before, to choose a pooled layer's
   * method class that dataset contributes to. */
  function resolve(want, opts) {
    opts = opts || {};
    want = datasetWant(want, opts);
    const first = LAYERS[0];
    const elements = uniq(LAYERS.map((l) => l.element))
      .sort((a, b) => a.localeCompare(b, 'en'));
    const element = pick(elements, want.element, first.element);
    const byEl = LAYERS.filter((l) => l.element === element);
    const media = uniq(byEl.map((l) => l.medium)).sort();
    const wanted = pick(media, want.medium, first.element === element ? first.medium : undefined);
    const group = groupOf(wanted);
    const offered = byEl.filter((l) => l.medium === wanted ||
      (GROUP_OF !== null && groupOf(l.medium) === group));
    const datasets = uniq(offered.map((l) => l.dataset));  // in the order of /api/layers
    const mediumOf = new Map();
    for (const l of offered) {
      if (!mediumOf.has(l.dataset) || l.medium === wanted) mediumOf.set(l.dataset, l.medium);
    }
    const exact = datasets.filter((d) => mediumOf.get(d) === wanted);
    let dataset;
    if (want.dataset !== undefined && exact.includes(want.dataset)) dataset = want.dataset;
    else if (opts.keepDataset && datasets.includes(want.dataset)) dataset = want.dataset;
    else dataset = exact.length ? exact[0] : datasets[0];
    const medium = mediumOf.get(dataset);
    const byDs = byEl.filter((l) => l.dataset === dataset && l.medium === medium);
    const methods = uniq(byDs.map((l) => l.method || ''));
    let method = want.method === undefined ? undefined : String(want.method);
    if (!methods.includes(method) && isPooled(dataset)) {
      // from a dataset to the pooled map: the method class it contributes to, else "total"
      const via = opts.from ? byDs.find((l) => (l.datasets || []).includes(opts.from)) : null;
      method = via ? (via.method || '') : (methods.includes('total') ? 'total' : undefined);
    }
    method = pick(methods, method);
    const layer = byDs.find((l) => (l.method || '') === method);
    const grids = layer.grids && layer.grids.length ? layer.grids : [layer.default_grid];
    const grid = pick(grids, want.grid, layer.default_grid);
    const levels = ((layer.levels && layer.levels[grid]) || []).map(Number);
    let level = Number(want.level);
    if (!levels.includes(level)) {
      const dflt = Number(layer.default_level);
      level = levels.includes(dflt) ? dflt
        : levels.slice().sort((a, b) => Math.abs(Math.log(a / dflt)) - Math.abs(Math.log(b / dflt)))[0];
    }
    const stat = pick(STATS, want.stat, 'median');
    return { layer, elements, media, datasets, mediumOf, methods, grids, levels,
      sel: { dataset, element, medium, method, grid, level, stat } };
  }

  /** Fill the selectors from a resolved selection. */
  function renderSelectors(r) {
    const titles = {};
    for (const l of LAYERS) titles[l.dataset] = l.title || l.dataset;
    fill(selects.element, r.elements.map((e) => ({ value: e, label: analyteLabel(e),
      data: !hasString('term.parameter.' + e) })), r.sel.element);
    fill(selects.medium, r.media.map((m) => ({ value: m, label: mediumLabel(m) })), r.sel.medium);
    // a dataset of another medium of the group says which
    fill(selects.dataset, r.datasets.map((d) => {
      const m = r.mediumOf ? r.mediumOf.get(d) : r.sel.medium;
      const label = datasetLabel(d, titles[d]);
      return { value: d, label: m && m !== r.sel.medium ? label + ' · ' + mediumLabel(m) : label,
        data: !isPooled(d) };
    }), r.sel.dataset);
    const pooled = isPooled(r.sel.dataset);
    fill(selects.method, r.methods.map((m) => ({ value: m, label: methodLabel(m, pooled),
      data: !!m && !pooled && !hasString('term.method.' + m) })),
      r.sel.method);
    showField('method', r.methods.length > 1);
    fill(selects.grid, r.grids.map((g) => ({ value: g, label: gridLabel(g) })), r.sel.grid);
    showField('grid', r.grids.length > 1);
    fill(selects.level, r.levels.map((m) => ({ value: m, label: levelLabel(m) })), r.sel.level);
    fill(selects.stat, STATS.map((s) => ({ value: s, label: statLabel(s) })), r.sel.stat);
    if (selects.dataset) {
      selects.dataset.title = datasetLabel(r.sel.dataset, titles[r.sel.dataset]);
      selects.dataset.translate = isPooled(r.sel.dataset);  // a dataset's title is data
    }
  }

  function layerKey(s) {
    return [s.dataset, s.element, s.medium, s.method, s.grid, s.level, s.stat].join('|');
  }

  function layerBase(s) {
    return '/api/layers/' + encodeURIComponent(s.dataset) + '/' + encodeURIComponent(s.element);
  }

  function layerQuery(s, withStat) {
    const q = new URLSearchParams();
    q.set('medium', s.medium);
    q.set('method', s.method || '');
    q.set('grid', s.grid);
    q.set('level', String(s.level));
    if (withStat) q.set('stat', s.stat);
    return q;
  }

  function onSelectorChange(which) {
    const want = Object.assign({}, sel);
    want[which] = selects[which].value;
    if (which === 'level') want.level = Number(want.level);
    // A new dataset keeps the cell size only if it has it; a new element or medium keeps the
    // dataset only if it has the pair (resolve() handles both). A dataset chosen in the
    // selector may bring its own medium of the medium group.
    setStatus('link', null);  // a message about the link that opened the viewer is old now
    const opts = { keepDataset: which === 'dataset', from: sel.dataset };
    let r = resolve(want, opts);
    if (which !== 'grid' && r.sel.dataset !== sel.dataset) {
      // another dataset opens on its own default grid (a regional one where it holds the
      // data: global cells at high latitude are strips), unless the user picks the grid
      r = resolve(Object.assign({}, r.sel, { grid: undefined }), { keepDataset: true });
    }
    apply(r, { fitIfOutside: true });
  }

  for (const [name, select] of Object.entries(selects)) {
    if (select) select.addEventListener('change', () => onSelectorChange(name));
  }

  // ---------------------------------------------------------------- tiles, legend, downloads

  let tileLayer = null;
  const citationEl = document.getElementById('citation');
  const citationBox = document.getElementById('citation-box');
  let applyToken = 0;
  let firstLayerDone = false;

  function markLoaded(key) {
    mapEl.dataset.loaded = key;
    mapEl.dataset.tiles = 'loaded';
    if (!firstLayerDone) {
      firstLayerDone = true;
      document.body.dataset.ready = '1';
    }
  }

  function boundsOf(tj) {
    const b = tj && tj.bounds;
    if (!Array.isArray(b) || b.length !== 4 || !b.every(Number.isFinite)) return null;
    return L.latLngBounds([b[1], b[0]], [b[3], b[2]]);
  }

  function setDownloads(s) {
    const base = '/api/downloads/' + encodeURIComponent(s.dataset) + '/layers/' +
      encodeURIComponent(s.element);
    const q = layerQuery(s, true).toString();
    for (const ext of ['tif', 'nc', 'csv']) {
      const a = document.getElementById('download-' + ext);
      if (!a) continue;
      a.href = base + '.' + ext + '?' + q;
      a.setAttribute('download', [s.dataset, s.element, s.medium, s.level + 'm', s.stat]
        .join('_').replace(/[^\w.-]+/g, '-') + '.' + ext);
    }
    const ep = document.getElementById('element-page');
    if (ep) {
      ep.href = '/catalogue/elements/' + encodeURIComponent(s.element);
      ep.textContent = t('map.element_page', { element: s.element });
    }
  }

  /** Show a resolved selection: selectors, URL, downloads, tiles, legend and samples. */
  async function apply(r, opts) {
    opts = opts || {};
    const token = ++applyToken;
    Object.assign(sel, r.sel);
    current = r.layer;
    renderSelectors(r);
    // tell the assessment overlays (assess.js) which layer is shown
    mapEl.dispatchEvent(new CustomEvent('chemearth:layer', { detail: Object.assign({}, sel) }));
    const key = layerKey(sel);
    mapEl.dataset.layer = key;
    mapEl.dataset.tiles = 'loading';
    setDownloads(sel);
    writeUrl();
    map.closePopup();
    updateSampleHint();
    scheduleSamples(0);
    renderLegendLoading();
    updateCoverage();

    const s = Object.assign({}, sel);
    let tj;
    try {
      setStatus('layer', t('map.status.loading'), 'info');
      tj = await fetchJSON(layerBase(s) + '/tilejson.json?' + layerQuery(s, true).toString());
    } catch (e) {
      if (token !== applyToken) return;
      setStatus('layer', t('map.status.layer_error', { error: errorText(e) }));
      renderLegendError(e);
      if (tileLayer) { map.removeLayer(tileLayer); tileLayer = null; }
      markLoaded(key);  // nothing to wait for
      return;
    }
    if (token !== applyToken) return;
    setStatus('layer', null);

    const bounds = boundsOf(tj);
    if (bounds) {
      if (opts.fitInitial || (opts.fitIfOutside && !map.getBounds().intersects(bounds))) {
        map.fitBounds(bounds, { padding: [20, 20], maxZoom: 10, animate: false });
      }
    }

    const tiles = Array.isArray(tj.tiles) ? tj.tiles : [];
    if (tileLayer) { map.removeLayer(tileLayer); tileLayer = null; }
    if (!tiles.length) {
      setStatus('layer', t('map.status.tiles_error'));
      markLoaded(key);
    } else {
      const minZoom = Number.isFinite(tj.minzoom) ? tj.minzoom : 0;
      const maxZoom = Number.isFinite(tj.maxzoom) ? tj.maxzoom : 14;
      const tl = L.tileLayer(tiles[0], {
        minZoom: 0,
        maxZoom: 18,
        minNativeZoom: minZoom,
        maxNativeZoom: maxZoom,
        bounds: bounds || undefined,
        opacity: 0.85,
        attribution: tj.attribution
          ? '<span translate="no">' + escapeHtml(tj.attribution) + '</span>' : undefined,
        className: 'chemearth-tiles',
      });
      let ok = 0, failed = 0;
      tl.on('loading', () => { mapEl.dataset.tiles = 'loading'; });
      tl.on('tileload', () => { ok += 1; });
      tl.on('tileerror', () => { failed += 1; });
      tl.on('load', () => {
        if (token !== applyToken) return;
        if (failed > 0 && ok === 0) setStatus('tiles', t('map.status.tiles_error'));
        else setStatus('tiles', null);
        ok = 0; failed = 0;
        mapEl.dataset.tiles = 'loaded';
        markLoaded(key);
      });
      tileLayer = tl;
      tl.addTo(map);
      if (!tl.isLoading()) {  // no tile of the layer in view
        mapEl.dataset.tiles = 'loaded';
        markLoaded(key);
      }
    }

    if (citationEl) {
      citationEl.textContent = tj.attribution || '';
      citationBox.hidden = !tj.attribution;
    }

    const legendUrl = typeof tj.legend === 'string' && tj.legend
      ? tj.legend : layerBase(s) + '/legend?' + layerQuery(s, true).toString();
    try {
      const legend = await fetchJSON(legendUrl);
      if (token !== applyToken) return;
      currentLegend = legend;
      renderLegend(legend, s);
      setStatus('legend', null);
      recolourSamples();
    } catch (e) {
      if (token !== applyToken) return;
      setStatus('legend', t('map.status.legend_error', { error: errorText(e) }));
      renderLegendError(e);
    }
  }

  // ---------------------------------------------------------------- legend

  let currentLegend = null;
  const LegendControl = L.Control.extend({
    options: { position: 'bottomright' },
    onAdd: function () {
      const div = L.DomUtil.create('div', 'legend leaflet-control');
      div.id = 'legend';
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      return div;
    },
  });
  const legendControl = new LegendControl();
  legendControl.addTo(map);
  const legendEl = legendControl.getContainer();

  function renderLegendLoading() {
    currentLegend = null;
    legendEl.replaceChildren(h('div', { className: 'legend-loading' }, t('map.legend.loading')));
    legendEl.dataset.state = 'loading';
  }

  function renderLegendError(e) {
    legendEl.replaceChildren(h('div', { className: 'legend-error' }, errorText(e)));
    legendEl.dataset.state = 'error';
  }

  /** The legend of layer `s` (its /api/layers entry `layer`) into `target` (default: the
   * viewer's own legend and layer). */
  function renderLegend(lg, s, target, layer) {
    target = target || legendEl;
    layer = layer || current;
    const unit = lg.unit || (layer && layer.unit) || '';
    const stat = lg.stat || s.stat;
    const levelM = Number.isFinite(Number(lg.level_m)) ? Number(lg.level_m) : Number(s.level);
    const title = t('map.legend.title', {
      element: analyteLabel(s.element), stat: statLabel(stat), level: levelLabel(levelM),
    });
    const classes = Array.isArray(lg.classes) ? lg.classes : [];
    const children = [
      h('div', { className: 'legend-title' }, title),
      isPooled(s.dataset) ? h('div', { className: 'legend-pooled' },
        t('map.legend.pooled', { name: datasetLabel(s.dataset),
          n: fmtCount(layer && layer.datasets ? layer.datasets.length : 0) })) : null,
      h('div', { className: 'legend-sub' },
        mediumLabel(s.medium), ' · ',
        UNITLESS.has(stat) || !unit ? '' : t('map.legend.unit', { unit }) + ' · ',
        t('map.legend.cells', { n: fmtCount(lg.n_cells) })),
      qcNote(lg.qc),
    ];
    if (!classes.length) {
      children.push(h('div', { className: 'legend-empty' }, t('map.legend.empty')));
    } else {
      const table = h('table', { className: 'legend-classes' },
        h('thead', null, h('tr', null,
          h('th', { scope: 'col' }, ''),
          h('th', { scope: 'col' }, t('map.legend.limits')),
          h('th', { scope: 'col' }, t('map.legend.percentiles')))));
      const body = h('tbody');
      // highest class on top, as the colours read on the map
      for (const c of classes.slice().reverse()) {
        const limits = fmt(c.lower) + ' – ' + fmt(c.upper);
        const pct = 'P' + fmt(c.percent_lower) + '–P' + fmt(c.percent_upper);
        body.append(h('tr', { className: 'legend-class' },
          h('td', null, h('span', { className: 'swatch', style: { background: String(c.colour) },
            title: String(c.colour) })),
          h('td', { className: 'legend-limits' }, UNITLESS.has(stat) ? limits : withUnit(limits, unit)),
          h('td', { className: 'legend-pct' }, pct)));
      }
      table.append(body);
      children.push(table);
    }
    target.replaceChildren(...children.filter((c) => c !== null));
    target.dataset.state = 'ready';
  }

  function classColour(value) {
    const classes = currentLegend && Array.isArray(currentLegend.classes) ? currentLegend.classes : [];
    const x = Number(value);
    if (!classes.length || !Number.isFinite(x)) return '#9e9e9e';
    if (x <= classes[0].lower) return classes[0].colour;
    for (const c of classes) if (x <= c.upper) return c.colour;
    return classes[classes.length - 1].colour;
  }

  // ---------------------------------------------------------------- coverage

  // The land cells (160 km) holding samples of the shown medium group, over the tiles; the
  // clicks go through to the map (cell popups). Fetched once per scope and group, and kept.
  map.createPane('coverage');
  map.getPane('coverage').style.zIndex = '390';        // above the tiles and borders
  map.getPane('coverage').style.pointerEvents = 'none';
  const coverageRenderer = L.canvas({ pane: 'coverage', padding: 0.3 });
  const coverageBox = document.getElementById('field-coverage');
  const coverageCheck = document.getElementById('show-coverage');
  const coverageShare = document.getElementById('coverage-share');
  const coverageCache = new Map();
  let coverageLayer = null;
  let coverageShown = null;  // the key of the drawn cells
  let coverageToken = 0;
  mapEl.dataset.coverage = 'off';

  const CoverageLegendControl = L.Control.extend({
    options: { position: 'bottomright' },
    onAdd: function () {
      const div = L.DomUtil.create('div', 'legend coverage-legend leaflet-control');
      div.id = 'coverage-legend';
      div.hidden = true;
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      return div;
    },
  });
  const coverageLegendControl = new CoverageLegendControl();
  coverageLegendControl.addTo(map);
  const coverageLegendEl = coverageLegendControl.getContainer();

  function coverageOn() {
    return POOLED && !!(coverageCheck && coverageCheck.checked);
  }

  /** Scope and medium group of the coverage of a selection (null: no pooled group). */
  function coverageTarget(s) {
    if (!POOLED || !s || !s.medium) return null;
    const group = groupOf(s.medium);
    if (!POOLED_MEDIA.has(group)) return null;
    const scope = isPooled(s.dataset) ? s.dataset.slice(POOLED_PREFIX.length) : 'public';
    return { scope, group, key: scope + '|' + group };
  }

  /** The covered cells (GeoJSON, cells with samples only) and the world shares of a target.
   * The GeoJSON lists every land cell with its land area, so the shares are summed from it
   * (as the server sums them); if it lists covered cells only, the summary is fetched. */
  function fetchCoverage(target) {
    let p = coverageCache.get(target.key);
    if (!p) {
      const base = '/api/global/coverage/' + encodeURIComponent(target.group);
      const q = new URLSearchParams();
      if (target.scope !== 'public') q.set('scope', target.scope);
      const qs = q.toString();
      q.set('fmt', 'geojson');
      p = fetchJSON(base + '?' + q.toString()).then(async (gj) => {
        const feats = gj && Array.isArray(gj.features) ? gj.features : [];
        let land = 0, km1 = 0, km5 = 0, all = feats.length > 0;
        const cells = [];
        for (const f of feats) {
          const pr = (f && f.properties) || {};
          const km2 = Number(pr.land_km2);
          if (!Number.isFinite(km2)) all = false;
          land += km2;
          if (pr.covered_1 === true || Number(pr.n_samples) >= 1) {
            cells.push(f);
            km1 += km2;
            if (isCovered5(f)) km5 += km2;
          }
        }
        let world;
        if (all && cells.length < feats.length && land > 0) {
          world = { share_1: km1 / land, share_5: km5 / land, land_km2: land };
        } else {
          const summary = await fetchJSON(base + (qs ? '?' + qs : ''));
          world = (summary && summary.world) || {};
        }
        return { cells: { type: 'FeatureCollection', features: cells }, world };
      });
      p.catch(() => coverageCache.delete(target.key));
      coverageCache.set(target.key, p);
    }
    return p;
  }

  function isCovered5(f) {
    const pr = (f && f.properties) || {};
    return pr.covered_5 === true || Number(pr.n_samples) >= 5;
  }

  function removeCoverage() {
    if (coverageLayer) map.removeLayer(coverageLayer);
    coverageLayer = null;
    coverageShown = null;
    coverageLegendEl.hidden = true;
    coverageLegendEl.replaceChildren();
    mapEl.dataset.coverageCells = '0';
  }

  function shareText(world) {
    return t('map.coverage.share', { share1: fmtShare(world.share_1),
      share5: fmtShare(world.share_5) });
  }

  function renderCoverageLegend(target, world) {
    const row = (style, label) => h('div', { className: 'coverage-row' },
      h('span', { className: 'swatch coverage-swatch', style: {
        background: style.fillColor + Math.round(style.fillOpacity * 255).toString(16)
          .padStart(2, '0'),
        borderColor: style.color, borderStyle: style.dashArray ? 'dashed' : 'solid' } }),
      ' ', label);
    coverageLegendEl.replaceChildren(
      h('div', { className: 'legend-title' }, t('map.coverage.legend_title',
        { medium: mediumLabel(target.group) })),
      row(COVERAGE_STYLE_5, t('map.coverage.legend_5')),
      row(COVERAGE_STYLE_1, t('map.coverage.legend_1')),
      h('div', { className: 'legend-sub coverage-legend-share' }, shareText(world)));
    coverageLegendEl.hidden = false;
  }

  /** Show, hide or change the coverage overlay after a change of layer or of the toggle. */
  async function updateCoverage() {
    const token = ++coverageToken;
    if (!POOLED || !coverageCheck) return;
    const target = coverageTarget(sel);
    coverageCheck.disabled = !target;
    if (!coverageOn() || !target) {
      removeCoverage();
      mapEl.dataset.coverage = 'off';
      setStatus('coverage', null);
      coverageShare.textContent = coverageOn() && !target
        ? t('map.coverage.none', { medium: mediumLabel(sel.medium) }) : '';
      coverageShare.hidden = !coverageShare.textContent;
      return;
    }
    if (coverageShown === target.key && coverageLayer) {
      mapEl.dataset.coverage = 'on';
      return;
    }
    mapEl.dataset.coverage = 'loading';
    coverageShare.textContent = t('map.coverage.loading');
    coverageShare.hidden = false;
    let cov;
    try {
      cov = await fetchCoverage(target);
    } catch (e) {
      if (token !== coverageToken) return;
      removeCoverage();
      mapEl.dataset.coverage = 'error';
      coverageShare.textContent = '';
      coverageShare.hidden = true;
      setStatus('coverage', t('map.coverage.error', { error: errorText(e) }));
      return;
    }
    if (token !== coverageToken) return;
    removeCoverage();
    setStatus('coverage', null);
    coverageLayer = L.geoJSON(cov.cells, {
      pane: 'coverage',
      renderer: coverageRenderer,
      interactive: false,
      style: (f) => (isCovered5(f) ? COVERAGE_STYLE_5 : COVERAGE_STYLE_1),
    }).addTo(map);
    coverageShown = target.key;
    const world = cov.world || {};
    coverageShare.textContent = shareText(world);
    coverageShare.dataset.share1 = String(world.share_1 ?? '');
    coverageShare.dataset.share5 = String(world.share_5 ?? '');
    coverageShare.dataset.medium = target.group;
    coverageShare.hidden = false;
    renderCoverageLegend(target, world);
    mapEl.dataset.coverageCells = String(cov.cells.features.length);
    mapEl.dataset.coverage = 'on';
  }

  if (coverageCheck) {
    coverageCheck.addEventListener('change', () => {
      updateCoverage();
      if (current) writeUrl();
    });
  }

  // ---------------------------------------------------------------- cell popup

  let clickToken = 0;

  map.on('click', async (e) => {
    if (!current || clickHooks.some((f) => f(e))) return;
    const token = ++clickToken;
    const s = Object.assign({}, sel);
    const ll = e.latlng.wrap();
    const popup = L.popup({ maxWidth: isPooled(s.dataset) ? 400 : 340, minWidth: 220,
      className: 'cell-popup-wrap' })
      .setLatLng(e.latlng)
      .setContent(h('div', { className: 'cell-popup cell-popup-loading' }, t('map.popup.loading')))
      .openOn(map);
    const q = layerQuery(s, false);
    q.set('lon', ll.lng.toFixed(6));
    q.set('lat', ll.lat.toFixed(6));
    try {
      const cell = await fetchJSON(layerBase(s) + '/cell?' + q.toString());
      if (token !== clickToken || !map.hasLayer(popup)) return;
      popup.setContent(cellContent(cell, s));
    } catch (err) {
      if (token !== clickToken || !map.hasLayer(popup)) return;
      if (err.status === 404) {
        popup.setContent(h('div', { className: 'cell-popup cell-popup-empty' },
          h('p', { className: 'cell-none' }, t('map.popup.none')),
          h('p', { className: 'cell-none-hint' }, t('map.popup.none_hint'))));
      } else {
        popup.setContent(h('div', { className: 'cell-popup cell-popup-error' },
          t('map.popup.error', { error: errorText(err) })));
      }
    }
  });

  /** The fitness-for-purpose note of a measurement: its quality-control verdict (the `qc`
   * of a layer entry, legend, cell or sample feature), or null where there is none. */
  function qcNote(q) {
    if (!q || typeof q !== 'object') return null;
    let text;
    if (q.precision_rsd_pct !== null && q.precision_rsd_pct !== undefined &&
        q.measurement_pct !== null && q.measurement_pct !== undefined &&
        typeof q.fit_for_mapping === 'boolean') {
      text = t('map.qc.full', { precision: fmt(q.precision_rsd_pct), share: fmt(q.measurement_pct),
        verdict: t(q.fit_for_mapping ? 'map.qc.fit' : 'map.qc.unfit') });
    } else if (q.precision_rsd_pct !== null && q.precision_rsd_pct !== undefined) {
      text = t('map.qc.precision_only', { precision: fmt(q.precision_rsd_pct) });
    } else if (q.analytical_rsd_pct !== null && q.analytical_rsd_pct !== undefined) {
      text = t('map.qc.analytical_only', { precision: fmt(q.analytical_rsd_pct) });
    } else {
      return null;
    }
    const datasets = Array.isArray(q.qc_datasets) ? q.qc_datasets.map(String) : [];
    const pairs = q.n_pairs ?? q.n_analytical_pairs;
    return h('div', { className: 'qc-note', dataset: {
      fit: typeof q.fit_for_mapping === 'boolean' ? String(q.fit_for_mapping) : '',
      precision: String(q.precision_rsd_pct ?? ''), share: String(q.measurement_pct ?? ''),
      datasets: datasets.join(' '),  // the QC datasets behind it (ids: data, not words)
    }, title: t('map.qc.source', { n: fmtCount(pairs), limit: fmt(q.threshold_pct) }) }, text);
  }

  function cellContent(c, s) {
    const unit = c.unit || (current && current.unit) || '';
    const levelM = s.level;
    const root = h('div', { className: 'cell-popup', dataset: {
      cellId: c.cell_id || '', n: String(c.n ?? ''), median: String(c.median ?? ''),
    } });
    root.append(
      h('div', { className: 'cell-head' },
        h('strong', null, analyteLabel(s.element) + ' · ' + mediumLabel(s.medium)),
        isPooled(s.dataset) ? h('div', { className: 'cell-pooled' }, datasetLabel(s.dataset) +
          (s.method ? ' · ' + methodLabel(s.method, true) : '')) : null,
        h('div', { className: 'cell-id' }, t('map.popup.cell') + ' ' + (c.cell_id || '') +
          ' (' + levelLabel(levelM) + ')')),
      h('div', { className: 'cell-n' },
        h('span', { className: 'cell-n-label' }, t('map.popup.samples')),
        ' ',
        h('span', { className: 'cell-n-value', dataset: { value: String(c.n ?? '') } }, fmtCount(c.n))));
    const table = h('table', { className: 'cell-stats' });
    const tbody = h('tbody');
    for (const k of CELL_STATS) {
      if (!(k in c)) continue;
      const v = c[k];
      const text = UNITLESS.has(k) ? fmt(v) : withUnit(fmt(v), unit);
      tbody.append(h('tr', { className: k === s.stat ? 'current' : '', dataset: { stat: k } },
        h('th', { scope: 'row' }, statLabel(k)),
        h('td', { dataset: { value: v === null || v === undefined ? '' : String(v) } }, text)));
    }
    if ('n_censored' in c) {
      tbody.append(h('tr', { dataset: { stat: 'n_censored' } },
        h('th', { scope: 'row' }, t('map.popup.censored')),
        h('td', { dataset: { value: String(c.n_censored ?? '') } }, fmtCount(c.n_censored))));
    }
    if ('dl_max' in c && c.dl_max !== null && c.dl_max !== undefined) {
      tbody.append(h('tr', { dataset: { stat: 'dl_max' } },
        h('th', { scope: 'row' }, t('map.popup.dl_max')),
        h('td', { dataset: { value: String(c.dl_max) } }, withUnit(fmt(c.dl_max), unit))));
    }
    table.append(tbody);
    root.append(table);
    const note = qcNote(c.qc);
    if (note) root.append(note);
    if (c.pooled || Array.isArray(c.contributors)) root.append(contributorsContent(c));
    return root;
  }

  /** The datasets pooled into a cell: title (linked to its page), samples and citation. */
  function contributorsContent(c) {
    const list = Array.isArray(c.contributors) ? c.contributors : [];
    const items = list.map((k) => {
      const id = String(k.dataset || '');
      const nCens = Number(k.n_censored);
      return h('li', { className: 'cell-contributor', dataset: { dataset: id, n: String(k.n ?? '') } },
        h('div', { className: 'contrib-head' },
          h('a', { className: 'contrib-title', translate: false,
            href: '/catalogue/datasets/' + encodeURIComponent(id),
            title: id + (k.version !== undefined && k.version !== null ? ' v' + k.version : '') },
          String(k.title || id)),
          ' ',
          h('span', { className: 'contrib-n', dataset: { value: String(k.n ?? '') } },
            t('map.popup.contributor_n', { n: fmtCount(k.n) })),
          Number.isFinite(nCens) && nCens > 0
            ? h('span', { className: 'contrib-censored' },
              ' ' + t('map.popup.contributor_censored', { n: fmtCount(nCens) })) : null),
        k.citation ? h('div', { className: 'contrib-citation', translate: false },
          String(k.citation)) : null,
        k.licence ? h('div', { className: 'contrib-licence' },
          ...withData(t('map.popup.licence'), 'licence', String(k.licence))) : null);
    });
    return h('section', { className: 'cell-contributors', dataset: { n: String(list.length) } },
      h('h3', { className: 'contrib-title-row' },
        t('map.popup.contributors', { n: fmtCount(list.length) })),
      items.length ? h('ol', { className: 'contrib-list' }, ...items)
        : h('p', { className: 'contrib-none' }, t('map.popup.contributors_none')));
  }

  // ---------------------------------------------------------------- sample points

  const sampleLayer = L.layerGroup().addTo(map);
  let sampleTimer = null;
  let sampleAbort = null;
  const hintEl = document.getElementById('samples-hint');

  function updateSampleHint() {
    if (!hintEl) return;
    let msg = '';
    if (current && !current.samples) {
      msg = isPooled(sel.dataset) ? t('map.samples.pooled') : t('map.samples.hidden');
    } else if (current && map.getZoom() < SAMPLE_ZOOM) msg = t('map.samples.hint');
    hintEl.textContent = msg;
    hintEl.hidden = !msg;
  }

  function clearSamples() {
    samplesCover = null;
    if (sampleAbort) { sampleAbort.abort(); sampleAbort = null; }
    sampleLayer.clearLayers();
    mapEl.dataset.samples = '0';
  }

  function scheduleSamples(delay) {
    clearTimeout(sampleTimer);
    sampleTimer = setTimeout(loadSamples, delay === undefined ? SAMPLE_DEBOUNCE_MS : delay);
  }

  /** What the drawn points cover: layer key, the fetched extent, whether all were returned. */
  let samplesCover = null;

  async function loadSamples() {
    const s = Object.assign({}, sel);
    if (!current || !current.samples || map.getZoom() < SAMPLE_ZOOM) {
      clearSamples();
      setStatus('samples', null);
      return;
    }
    const view = map.getBounds();
    // the points already drawn cover this view: nothing to fetch (small pans, popup auto-pan)
    if (samplesCover && samplesCover.key === layerKey(s) && samplesCover.complete &&
        samplesCover.bounds.contains(view)) return;
    const b = view.pad(0.25);  // fetch a margin, so that small pans need nothing new
    const clamp = (x, lo, hi) => Math.min(hi, Math.max(lo, x));
    const west = clamp(b.getWest(), -180, 180), east = clamp(b.getEast(), -180, 180);
    const south = clamp(b.getSouth(), -90, 90), north = clamp(b.getNorth(), -90, 90);
    const q = new URLSearchParams();
    q.set('bbox', [west, south, east, north].map((x) => x.toFixed(5)).join(','));
    q.set('limit', String(SAMPLE_LIMIT));
    q.set('element', s.element);
    q.set('medium', s.medium);
    if (sampleAbort) sampleAbort.abort();
    const ctrl = new AbortController();
    sampleAbort = ctrl;
    let fc;
    try {
      fc = await fetchJSON('/api/collections/' + encodeURIComponent(s.dataset + '.samples') +
        '/items?' + q.toString(), { signal: ctrl.signal });
    } catch (e) {
      if (e && e.name === 'AbortError') return;
      if (sampleAbort === ctrl) {
        sampleAbort = null;
        clearSamples();
        setStatus('samples', t('map.status.samples_error', { error: errorText(e) }));
      }
      return;
    }
    if (sampleAbort !== ctrl || layerKey(s) !== layerKey(sel)) return;
    sampleAbort = null;
    // keep the point whose popup is open (removing it would close the popup)
    let keep = null;
    sampleLayer.eachLayer((m) => { if (m.isPopupOpen && m.isPopupOpen()) keep = m; });
    sampleLayer.eachLayer((m) => { if (m !== keep) sampleLayer.removeLayer(m); });
    const keepId = keep && keep.feature ? String(keep.feature.id ?? '') : null;
    const feats = fc && Array.isArray(fc.features) ? fc.features : [];
    let drawn = keep ? 1 : 0;
    for (const f of feats) {
      const g = f && f.geometry;
      if (!g || g.type !== 'Point' || !Array.isArray(g.coordinates)) continue;
      if (keepId !== null && String(f.id ?? '') === keepId) continue;
      const [lon, lat] = g.coordinates;
      const props = f.properties || {};
      const m = L.circleMarker([lat, lon], {
        radius: 4.5,
        weight: 1.2,
        color: '#ffffff',
        fillColor: classColour(props[s.element]),
        fillOpacity: 0.95,
        bubblingMouseEvents: false,
        className: 'sample-point',
      });
      m.feature = f;
      m.bindPopup(() => sampleContent(f, s), { className: 'sample-popup-wrap' });
      m.addTo(sampleLayer);
      drawn += 1;
    }
    mapEl.dataset.samples = String(drawn);
    const more = feats.length >= SAMPLE_LIMIT ||
      (Number.isFinite(fc.numberMatched) && fc.numberMatched > feats.length);
    samplesCover = { key: layerKey(s), bounds: L.latLngBounds([south, west], [north, east]),
      complete: !more };
    setStatus('samples', more ? t('map.samples.truncated', { n: feats.length }) : null, 'info');
  }

  function recolourSamples() {
    sampleLayer.eachLayer((m) => {
      const f = m.feature;
      if (f) m.setStyle({ fillColor: classColour((f.properties || {})[sel.element]) });
    });
  }

  function sampleContent(f, s) {
    const p = f.properties || {};
    const id = p.sample_id ?? f.id ?? '';
    const unit = p.unit || (current && current.unit) || '';
    const value = p[s.element];
    let valueText = typeof value === 'number' ? withUnit(fmt(value), unit)
      : (value === null || value === undefined ? '–' : withUnit(String(value), unit));
    if (p[s.element + '_censored'] === true) valueText += ' (' + t('map.popup.censored') + ')';
    const rows = [[s.element, valueText]];
    if (p.medium) rows.push([t('map.sample.medium'), mediumLabel(p.medium)]);
    if (p.country) rows.push([t('map.sample.country'), String(p.country)]);
    if (p.date) rows.push([t('map.sample.date'), String(p.date)]);
    // data-dataset: media.js adds the sample's photos and videos to the popup
    return h('div', { className: 'sample-popup',
      dataset: { sampleId: String(id), dataset: String(s.dataset) } },
      h('strong', null, t('map.sample.title', { id })),
      h('table', null, h('tbody', null, ...rows.map(([k, v]) =>
        h('tr', null, h('th', { scope: 'row' }, k), h('td', null, v))))),
      qcNote(p.qc && typeof p.qc === 'object' ? p.qc[s.element] : null));
  }

  // ---------------------------------------------------------------- view changes

  map.on('moveend', () => {
    if (current) writeUrl();
    updateSampleHint();
    scheduleSamples();
  });

  window.addEventListener('hashchange', () => {
    if (window.location.hash === lastHash || !LAYERS.length) return;
    const st = readUrlState();
    const lat = Number(st.lat), lon = Number(st.lon), zoom = Number(st.zoom);
    if ([lat, lon, zoom].every(Number.isFinite)) map.setView([lat, lon], Math.round(zoom));
    if (st.dataset !== undefined && !LAYERS.some((l) => l.dataset === st.dataset)) {
      setStatus('link', t('fixes.link.unknown_dataset', { dataset: st.dataset }), 'info');
      delete st.dataset;
    } else setStatus('link', null);
    // a link to another dataset opens that dataset's own layer: only what it names is kept
    const another = st.dataset !== undefined && st.dataset !== sel.dataset;
    const want = Object.assign({}, another ? { element: sel.element, stat: sel.stat } : sel, st);
    if (POOLED && coverageCheck) coverageCheck.checked = st.coverage === '1';
    apply(resolve(want, { keepDataset: true, from: sel.dataset }), {});
  });

  // ---------------------------------------------------------------- start

  (async function start() {
    let data;
    try {
      setStatus('layer', t('map.status.loading'), 'info');
      data = await fetchJSON('/api/layers');
    } catch (e) {
      setStatus('layer', t('map.status.layers_error', { error: errorText(e) }));
      document.body.dataset.ready = '1';
      return;
    }
    LAYERS = (data && Array.isArray(data.layers) ? data.layers : []).filter(
      (l) => l && l.dataset && l.element);
    if (data && Array.isArray(data.stats) && data.stats.length) {
      // the median first (the default), then the server's order
      STATS = data.stats.filter((x) => x === 'median').concat(data.stats.filter((x) => x !== 'median'));
    }
    if (!LAYERS.length) {
      setStatus('layer', t('map.status.no_layers'));
      legendEl.replaceChildren();
      document.body.dataset.ready = '1';
      writeUrl();
      return;
    }
    if (urlState.dataset !== undefined && !LAYERS.some((l) => l.dataset === urlState.dataset)) {
      // a link to a dataset not shown here (none such, or not shared): say so, open as usual
      setStatus('link', t('fixes.link.unknown_dataset', { dataset: urlState.dataset }), 'info');
      delete urlState.dataset;
    }
    let want = urlState;
    let fitInitial = !hashView;
    POOLED = LAYERS.some((l) => l.pooled || isPooled(l.dataset));
    if (POOLED) {
      POOLED_MEDIA = new Set(LAYERS.filter((l) => isPooled(l.dataset)).map((l) => l.medium));
      GROUP_OF = await mediumGroups();
      if (coverageBox) coverageBox.hidden = false;
      if (coverageCheck) coverageCheck.checked = urlState.coverage === '1';
      const dflt = pooledDefault();
      if (dflt && urlState.dataset === undefined && urlState.element === undefined) {
        // the Chemical Earth: the pooled world map of a common element
        want = Object.assign({}, urlState, { dataset: dflt.dataset, element: dflt.element,
          medium: dflt.medium, method: dflt.method || '' });
        fitInitial = false;
      }
    }
    setStatus('layer', null);
    apply(resolve(want, { keepDataset: true }), { fitInitial });
  })();

  /** The medium group of each medium, from the pooling rules (an empty map if they cannot
   * be read: every medium is then its own group). */
  async function mediumGroups() {
    const out = new Map();
    try {
      const g = await fetchJSON('/api/global');
      const groups = g && g.rules && Array.isArray(g.rules.groups) ? g.rules.groups : [];
      for (const grp of groups) {
        if (!grp || !grp.id) continue;
        out.set(String(grp.id), String(grp.id));
        for (const m of Array.isArray(grp.media) ? grp.media : []) out.set(String(m), String(grp.id));
      }
    } catch (e) {
      setStatus('groups', t('map.status.groups_error', { error: errorText(e) }), 'info');
    }
    return out;
  }

  /** The pooled layer the viewer opens on: public if any, the first of DEFAULT_ELEMENTS in
   * topsoil by a total method, else the first pooled layer. */
  function pooledDefault() {
    const pooled = LAYERS.filter((l) => isPooled(l.dataset));
    const pub = pooled.filter((l) => l.dataset === POOLED_PUBLIC);
    const pool = pub.length ? pub : pooled;
    for (const el of DEFAULT_ELEMENTS) {
      const l = pool.find((x) => x.element === el && x.medium === 'topsoil' && x.method === 'total');
      if (l) return l;
    }
    return pool[0] || null;
  }
})();
