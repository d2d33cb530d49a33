/* chemearth map viewer: comparison of two layers (Leaflet 1.9, plain modern JavaScript).
 *
 * Beside the layer chosen in the panel ("A"), a second layer ("B") is shown
 *   - with a swipe: on the viewer's own map, B in a pane of its own clipped (CSS `clip`) to
 *     the right of a draggable vertical divider, and the panes of A (tiles, overlays,
 *     coverage) clipped to its left — the technique of leaflet-side-by-side, written here
 *     for Leaflet 1.9; or
 *   - side by side: a second Leaflet map right of the first, the two views linked.
 * B is any layer the actor may see (/api/layers: another medium, dataset, campaign, method,
 * level or statistic, pooled layers too), or the change between two campaigns: the cells of
 * /api/assess/change/{before}/{element}?against={after}, drawn from
 * /tiles/assess/change/{before}/{element}/{z}/{x}/{y}.png with the classes of
 * /api/assess/legend?kind=change. Each side has its own legend, and a click opens the popup
 * of the side clicked: a layer's cell (/api/layers/…/cell) or a cell's change.
 *
 * The state is kept in app.js's URL hash (chemearthViewer.urlExtras):
 *   compare=<dataset>/<element>/<medium>/<method>/<grid>/<level>/<stat>     a layer
 *   compare=change/<before>/<after>/<element>/<grid>/<level>                 a change
 *   layout=swipe|side, swipe=<0…1>: the divider's place as a share of the map's width
 * ("%" and "/" inside a part are written %25 and %2F.)
 *
 * Hooks for tests: #map[data-compare] = "off", "swipe" or "side"; #map[data-compare-key] =
 * the key of B; #map[data-compare-loaded] = the key of B whose tiles last finished loading;
 * #map[data-compare-tiles] = "loading" or "loaded"; #map[data-swipe] = the divider's share;
 * #compare-legend[data-state] = "loading", "ready" or "error"; window.chemearthCompareMap =
 * the second map (side by side).
 */
(function () {
  'use strict';

  const api = window.chemearthViewer;
  const mapEl = document.getElementById('map');
  const box = document.getElementById('compare');
  if (!api || !api.resolve || !api.urlExtras || !api.clickHooks || !mapEl || !box ||
      typeof L === 'undefined') return;
  const { map, h, fetchJSON, errorText } = api;

  /** B's pane on the viewer's map, and the panes of A clipped left of the divider. */
  const PANE = 'compare';
  const A_PANES = ['tilePane', 'overlayPane', 'coverage'];
  /** Change is offered on cells of 10 km and more, at 20 km unless A's level is offered. */
  const CHANGE_MIN_LEVEL = 10000;
  const CHANGE_DEFAULT_LEVEL = 20000;
  /** Class names of /api/assess/legend?kind=change and their string keys. */
  const CHANGE_KEYS = { decrease: 'decrease', 'no significant change': 'none', increase: 'increase' };
  const KEY_STEP = 0.02;

  /** A string of compare.*.json (keys starting "map." from map.*.json). */
  function t(key, vars) {
    return api.t(key.startsWith('map.') ? key : 'compare.' + key, vars, key);
  }

  function clamp(x, lo, hi) {
    return Math.min(hi, Math.max(lo, x));
  }

  function uniq(xs) {
    return Array.from(new Set(xs));
  }

  function pick(options, ...wanted) {
    for (const w of wanted) if (w !== undefined && w !== null && options.includes(w)) return w;
    return options[0];
  }

  function withUnit(text, unit) {
    return unit && text !== '–' ? text + '\u00a0' + unit : text;
  }

  function escapeHtml(s) {
    return String(s).replace(/[&<>"']/g, (c) => ({
      '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
    }[c]));
  }

  /** A level in metres as the assessment routes take it ("20km", "500m"). */
  function levelParam(m) {
    const x = Number(m);
    return x >= 1000 && x % 1000 === 0 ? x / 1000 + 'km' : x + 'm';
  }

  function titleOf(ds) {
    const l = api.layers().find((x) => x.dataset === ds);
    return api.datasetLabel(ds, l ? l.title : ds);
  }

  /** A dataset's name to show: a survey's title marked as data (translate="no"), a pooled
   * layer's translated name as text. */
  function titleNode(ds) {
    return api.isPooled(ds) ? titleOf(ds) : h('span', { translate: false }, titleOf(ds));
  }

  function layerEntry(s) {
    return api.layers().find((l) => l.dataset === s.dataset && l.element === s.element &&
      l.medium === s.medium && (l.method || '') === (s.method || '')) || null;
  }

  // ---------------------------------------------------------------- state and URL

  const state = {
    on: false,
    layout: 'swipe',   // or 'side'
    swipe: 0.5,
    kind: 'layer',     // or 'change'
    layer: null,       // B as a layer: { dataset, element, medium, method, grid, level, stat }
    change: null,      // B as a change: { before, after, element, grid, level }
  };
  let ready = false;   // the layers are known (app.js showed its first layer)
  let pending = readUrl();

  function readUrl() {
    const out = {};
    for (const src of [window.location.search, window.location.hash.replace(/^#/, '')]) {
      const p = new URLSearchParams(src);  // the hash wins over the query
      for (const k of ['compare', 'layout', 'swipe']) if (p.has(k)) out[k] = p.get(k);
    }
    return out.compare ? out : null;
  }

  function joinSpec(parts) {
    return parts.map((x) => String(x ?? '').replace(/%/g, '%25').replace(/\//g, '%2F')).join('/');
  }

  function splitSpec(v) {
    return String(v).split('/').map((x) => {
      try { return decodeURIComponent(x); } catch (e) { return x; }
    });
  }

  function specOf() {
    if (state.kind === 'change' && state.change) {
      const c = state.change;
      return 'change/' + joinSpec([c.before, c.after, c.element, c.grid, c.level]);
    }
    const s = state.layer;
    return s ? joinSpec([s.dataset, s.element, s.medium, s.method, s.grid, s.level, s.stat]) : '';
  }

  function bKey() {
    return state.kind === 'change' ? 'change|' + specOf() : 'layer|' + api.layerKey(state.layer);
  }

  api.urlExtras.push((p) => {
    const st = state.on ? { compare: specOf(), layout: state.layout, swipe: state.swipe } : pending;
    if (!st || !st.compare) return;
    const layout = st.layout === 'side' ? 'side' : 'swipe';
    p.set('compare', st.compare);
    p.set('layout', layout);
    if (layout === 'swipe') {
      const sw = Number(st.swipe);
      p.set('swipe', String(Number.isFinite(sw) ? Math.round(clamp(sw, 0, 1) * 1000) / 1000 : 0.5));
    }
  });

  /** Apply a compare state read from a link. */
  function applyUrl(st) {
    const parts = splitSpec(st.compare);
    state.layout = st.layout === 'side' ? 'side' : 'swipe';
    const sw = Number(st.swipe);
    state.swipe = st.swipe !== undefined && Number.isFinite(sw) ? clamp(sw, 0, 1) : 0.5;
    if (parts[0] === 'change' && parts.length === 6) {
      const [, before, after, element, grid, level] = parts;
      const rc = resolveChange({ before, after, element, grid, level: Number(level) });
      state.kind = 'change';
      state.change = rc ? rc.sel : null;
      if (!state.layer) state.layer = api.selection();
    } else if (parts.length === 7) {
      const [dataset, element, medium, method, grid, level, stat] = parts;
      state.kind = 'layer';
      state.layer = api.resolve({ dataset, element, medium, method, grid, level: Number(level),
        stat }, { keepDataset: true }).sel;
    } else {
      return false;
    }
    state.on = true;
    render();
    return true;
  }

  // ---------------------------------------------------------------- the datasets

  /** Countries of each dataset (for the default second layer and later campaign). */
  let INFO = new Map();
  let infoPromise = null;

  function loadInfo() {
    if (!infoPromise) {
      infoPromise = fetchJSON('/api/datasets').then((d) => {
        const list = Array.isArray(d) ? d : ((d && d.datasets) || []);
        INFO = new Map(list.map((x) => [String(x.dataset_id), x]));
      }).catch(() => { INFO = new Map(); });
    }
    return infoPromise;
  }

  /** Share of countries two datasets have in common (0 to 1; 0 when unknown). */
  function overlap(a, b) {
    const ca = new Set((INFO.get(a) || {}).countries || []);
    const cb = new Set((INFO.get(b) || {}).countries || []);
    const both = [...ca].filter((c) => cb.has(c)).length;
    const all = new Set([...ca, ...cb]).size;
    return all ? both / all : 0;
  }

  /** The second layer offered first: the same element in another medium of the same
   * dataset (pooled topsoil | subsoil), else in the dataset sharing most countries (another
   * campaign, or another medium of one survey), else another statistic of the same layer. */
  function defaultLayer() {
    const a = api.selection();
    let best = null;
    let bestScore = -1;
    for (const l of api.layers()) {
      if (l.element !== a.element) continue;
      const sameDs = l.dataset === a.dataset;
      if (sameDs && l.medium === a.medium && (l.method || '') === (a.method || '')) continue;
      let score;
      if (sameDs) score = l.medium !== a.medium ? 3 : 0.5;
      else score = 1 + (overlap(a.dataset, l.dataset) > 0 ? 1 + overlap(a.dataset, l.dataset) : 0);
      if (api.isPooled(l.dataset) !== api.isPooled(a.dataset)) score -= 0.5;
      if (score > bestScore) { best = l; bestScore = score; }
    }
    if (!best) {
      return api.resolve(Object.assign({}, a, { stat: a.stat === 'median' ? 'p90' : 'median' }),
        { keepDataset: true }).sel;
    }
    return api.resolve({ dataset: best.dataset, element: a.element, medium: best.medium,
      method: best.method || '', grid: a.grid, level: a.level, stat: a.stat },
    { keepDataset: true }).sel;
  }

  /** Datasets (not pooled) holding `element`, in the order of /api/layers. */
  function changeDatasets(element) {
    return uniq(api.layers().filter((l) => l.element === element && !api.isPooled(l.dataset))
      .map((l) => l.dataset));
  }

  /** A complete change selection from wanted values (null: no element in two datasets). */
  function resolveChange(want) {
    const a = api.selection();
    const elements = uniq(api.layers().map((l) => l.element))
      .filter((e) => changeDatasets(e).length >= 2).sort((x, y) => x.localeCompare(y, 'en'));
    if (!elements.length) return null;
    const element = pick(elements, want.element, a.element);
    const befores = changeDatasets(element);
    const before = pick(befores, want.before, a.dataset);
    const afters = befores.filter((d) => d !== before);
    const partner = afters.slice().sort((x, y) => overlap(before, y) - overlap(before, x))[0];
    const after = pick(afters, want.after, partner);
    const layer = api.layers().find((l) => l.dataset === before && l.element === element);
    const grids = layer.grids && layer.grids.length ? layer.grids : [layer.default_grid];
    const grid = pick(grids, want.grid, a.grid, 'global', layer.default_grid);
    let levels = ((layer.levels && layer.levels[grid]) || []).map(Number)
      .filter((m) => m >= CHANGE_MIN_LEVEL);
    if (!levels.length) levels = [CHANGE_DEFAULT_LEVEL];
    const level = pick(levels, Number(want.level), Number(a.level), CHANGE_DEFAULT_LEVEL);
    return { elements, befores, afters, grids, levels,
      sel: { before, after, element, grid, level } };
  }

  // ---------------------------------------------------------------- the panel

  const ui = {};

  function option(value, label, data) {
    // an option showing a stored value (a title, a code) is data: translate="no"
    return h('option', { value: String(value), translate: data ? false : undefined }, label);
  }

  function fill(select, options, value) {
    select.replaceChildren(...options.map((o) => option(o.value, o.label, o.data)));
    select.value = String(value);
  }

  /** An element's option: a parameter (clay, LOI…) by its name, else its code as data. */
  function elementOption(e) {
    return { value: e, label: api.analyteLabel(e), data: !api.hasString('term.parameter.' + e) };
  }

  /** A dataset's option: a survey's title is data, a pooled layer's name is not. */
  function datasetOption(d, label) {
    return { value: d, label: label || titleOf(d), data: !api.isPooled(d) };
  }

  function field(name, label, control) {
    ui['field_' + name] = h('div', { className: 'field', id: 'compare-field-' + name },
      h('label', { htmlFor: control.id }, label), control);
    return ui['field_' + name];
  }

  function showField(name, visible) {
    ui['field_' + name].hidden = !visible;
  }

  function buildPanel() {
    ui.toggle = h('input', { type: 'checkbox', id: 'compare-on', name: 'compare', disabled: true });
    ui.layout = h('select', { id: 'compare-layout', name: 'compare-layout' },
      option('swipe', t('layout.swipe')), option('side', t('layout.side')));
    ui.kind = h('select', { id: 'compare-kind', name: 'compare-kind' },
      option('layer', t('kind.layer')), option('change', t('kind.change')));
    for (const k of ['element', 'medium', 'dataset', 'method', 'before', 'after', 'grid', 'level',
      'stat']) {
      ui[k] = h('select', { id: 'compare-' + k, name: 'compare-' + k });
    }
    ui.hint = h('p', { className: 'hint compare-hint', id: 'compare-hint' });
    ui.body = h('div', { className: 'compare-body', id: 'compare-body', hidden: true },
      field('layout', t('layout'), ui.layout),
      field('kind', t('kind'), ui.kind),
      field('element', t('map.element'), ui.element),
      field('medium', t('map.medium'), ui.medium),
      field('dataset', t('map.dataset'), ui.dataset),
      field('method', t('map.method'), ui.method),
      field('before', t('before'), ui.before),
      field('after', t('after'), ui.after),
      field('grid', t('map.grid'), ui.grid),
      field('level', t('map.level'), ui.level),
      field('stat', t('map.stat'), ui.stat),
      ui.hint);
    box.append(h('label', { className: 'check', htmlFor: 'compare-on' }, ui.toggle, ' ',
      t('toggle')), ui.body);

    ui.toggle.addEventListener('change', () => enable(ui.toggle.checked));
    ui.layout.addEventListener('change', () => {
      state.layout = ui.layout.value === 'side' ? 'side' : 'swipe';
      render();
    });
    ui.kind.addEventListener('change', async () => {
      state.kind = ui.kind.value === 'change' ? 'change' : 'layer';
      if (state.kind === 'change') {
        await loadInfo();
        const rc = resolveChange(state.change || {});
        state.change = rc ? rc.sel : null;
      }
      render();
    });
    for (const k of ['element', 'medium', 'dataset', 'method', 'before', 'after', 'grid', 'level',
      'stat']) {
      ui[k].addEventListener('change', () => onSelect(k));
    }
  }

  function onSelect(which) {
    const value = which === 'level' ? Number(ui.level.value) : ui[which].value;
    if (state.kind === 'change') {
      const rc = resolveChange(Object.assign({}, state.change || {}, { [which]: value }));
      state.change = rc ? rc.sel : null;
    } else {
      state.layer = api.resolve(Object.assign({}, state.layer, { [which]: value }),
        { keepDataset: which === 'dataset', from: state.layer.dataset }).sel;
    }
    render();
  }

  function renderPanel() {
    ui.toggle.checked = state.on;
    ui.body.hidden = !state.on;
    box.classList.toggle('on', state.on);
    if (!state.on) return;
    ui.layout.value = state.layout;
    ui.kind.value = state.kind;
    const isLayer = state.kind === 'layer';
    for (const k of ['medium', 'dataset', 'method', 'stat']) showField(k, isLayer);
    for (const k of ['before', 'after']) showField(k, !isLayer);
    if (isLayer) {
      const r = api.resolve(state.layer, { keepDataset: true });
      const s = r.sel;
      fill(ui.element, r.elements.map(elementOption), s.element);
      fill(ui.medium, r.media.map((m) => ({ value: m, label: api.mediumLabel(m) })), s.medium);
      fill(ui.dataset, r.datasets.map((d) => {
        const m = r.mediumOf ? r.mediumOf.get(d) : s.medium;
        const label = titleOf(d);
        return datasetOption(d, m && m !== s.medium ? label + ' · ' + api.mediumLabel(m) : label);
      }), s.dataset);
      fill(ui.method, r.methods.map((m) => ({ value: m,
        label: api.methodLabel(m, api.isPooled(s.dataset)) })), s.method);
      showField('method', r.methods.length > 1);
      fill(ui.grid, r.grids.map((g) => ({ value: g, label: api.gridLabel(g) })), s.grid);
      showField('grid', r.grids.length > 1);
      fill(ui.level, r.levels.map((m) => ({ value: m, label: api.levelLabel(m) })), s.level);
      fill(ui.stat, api.stats().map((x) => ({ value: x, label: api.statLabel(x) })), s.stat);
      ui.hint.textContent = t(state.layout === 'side' ? 'hint.side' : 'hint.swipe');
      return;
    }
    const rc = state.change ? resolveChange(state.change) : null;
    if (!rc) {
      for (const k of ['element', 'before', 'after', 'grid', 'level']) ui[k].replaceChildren();
      ui.hint.textContent = t('need_two', { element: api.selection().element });
      return;
    }
    const c = rc.sel;
    fill(ui.element, rc.elements.map(elementOption), c.element);
    fill(ui.before, rc.befores.map((d) => datasetOption(d)), c.before);
    fill(ui.after, rc.afters.map((d) => datasetOption(d)), c.after);
    fill(ui.grid, rc.grids.map((g) => ({ value: g, label: api.gridLabel(g) })), c.grid);
    showField('grid', rc.grids.length > 1);
    fill(ui.level, rc.levels.map((m) => ({ value: m, label: api.levelLabel(m) })), c.level);
    ui.hint.textContent = t('hint.change') + ' ' +
      t(state.layout === 'side' ? 'hint.side' : 'hint.swipe');
  }

  // ---------------------------------------------------------------- legends and captions

  const LegendControl = L.Control.extend({
    options: { position: 'bottomright' },
    onAdd: function () { return legendB; },
  });
  const legendB = L.DomUtil.create('div', 'legend compare-legend leaflet-control');
  legendB.id = 'compare-legend';
  L.DomEvent.disableClickPropagation(legendB);
  L.DomEvent.disableScrollPropagation(legendB);
  const legendControl = new LegendControl();
  let legendOn = null;  // the map showing B's legend

  function legendLoading() {
    legendB.replaceChildren(h('div', { className: 'legend-loading' }, t('map.legend.loading')));
    legendB.dataset.state = 'loading';
  }

  function legendError(message) {
    legendB.replaceChildren(h('div', { className: 'legend-error' }, message));
    legendB.dataset.state = 'error';
  }

  function changeLabel(name) {
    return CHANGE_KEYS[name] ? t('change.class.' + CHANGE_KEYS[name]) : String(name);
  }

  function renderChangeLegend(lg, data, c) {
    const count = (d) => data.rows.filter((r) => r.direction === d).length;
    const classes = Array.isArray(lg.classes) ? lg.classes : [];
    const n = data.rows.length, up = count('increase'), down = count('decrease');
    legendB.replaceChildren(
      h('div', { className: 'legend-title' }, t('change.legend_title',
        { element: c.element, level: api.levelLabel(c.level) })),
      h('div', { className: 'legend-sub' }, titleNode(c.before), ' → ', titleNode(c.after)),
      h('table', { className: 'legend-classes change-classes' }, h('tbody', null,
        ...classes.slice().reverse().map((k) => h('tr', { className: 'legend-class',
          dataset: { direction: String(k.name) } },
        h('td', null, h('span', { className: 'swatch', style: { background: String(k.colour) },
          title: String(k.colour) })),
        h('td', { className: 'change-class' }, changeLabel(k.name)),
        h('td', { className: 'legend-pct' }, String(count(k.name))))))),
      h('div', { className: 'legend-sub change-cells', dataset: { n: String(n),
        up: String(up), down: String(down) } }, t('change.cells', { n, up, down })));
    legendB.dataset.state = 'ready';
  }

  /** Say on each legend which side it belongs to (CSS shows data-caption). */
  function renderCaptions() {
    const legA = api.legendControl().getContainer();
    if (!state.on) {
      delete legA.dataset.caption;
      delete legendB.dataset.caption;
      return;
    }
    const swipe = state.layout === 'swipe';
    legA.dataset.caption = t(swipe ? 'left' : 'map_a') + ' · ' + titleOf(api.selection().dataset);
    legendB.dataset.caption = t(swipe ? 'right' : 'map_b') + (state.kind === 'layer' &&
      state.layer ? ' · ' + titleOf(state.layer.dataset) : '');
    tagA.replaceChildren(...describeA());
    tagB.replaceChildren(...describeB());
  }

  /** A side's tag as nodes: the dataset (data, its full name as a tooltip) and the rest (with
   * its own tooltip, the tag being clipped by the divider). */
  function describeLayer(s) {
    const ds = titleNode(s.dataset);
    if (ds instanceof Node) ds.title = titleOf(s.dataset);
    const rest = [api.analyteLabel(s.element), api.mediumLabel(s.medium), api.statLabel(s.stat),
      api.levelLabel(s.level)].join(' · ');
    return [ds, ' · ', h('span', { title: rest }, rest)];
  }

  function describeA() {
    return describeLayer(api.selection());
  }

  function describeB() {
    if (state.kind === 'change') {
      const c = state.change;
      return c ? api.tNodes('compare.change.tag', { element: api.analyteLabel(c.element),
        before: titleOf(c.before), after: titleOf(c.after) },
      [c.before, c.after].every(api.isPooled) ? [] : ['before', 'after']) : [];
    }
    return state.layer ? describeLayer(state.layer) : [];
  }

  /** Move A's legend to a corner of the map (the DOM node, so app.js keeps its element). */
  function placeLegendA(corner) {
    const c = api.legendControl().getContainer();
    const target = mapEl.querySelector('.leaflet-control-container .leaflet-bottom.leaflet-' +
      corner);
    if (!target || c.parentNode === target) return;
    target.insertBefore(c, corner === 'right'
      ? target.querySelector('.leaflet-control-attribution') : target.firstChild);
  }

  // ---------------------------------------------------------------- the swipe divider

  map.createPane(PANE);
  const paneB = map.getPane(PANE);
  paneB.style.zIndex = '210';  // above A's tiles (200), below overlays (400)

  const divider = h('div', { className: 'compare-divider', id: 'compare-divider', hidden: true });
  const handle = h('div', { className: 'compare-handle', id: 'compare-handle', tabIndex: 0,
    role: 'slider', 'aria-label': t('divider'), 'aria-valuemin': '0', 'aria-valuemax': '100',
    'aria-orientation': 'horizontal' });
  const tagA = h('div', { className: 'compare-tag compare-tag-a', id: 'compare-tag-a' });
  const tagB = h('div', { className: 'compare-tag compare-tag-b', id: 'compare-tag-b' });
  divider.append(tagA, tagB, handle);
  mapEl.append(divider);
  L.DomEvent.disableClickPropagation(divider);

  function swiping() {
    return state.on && state.layout === 'swipe';
  }

  /** Clip B's pane right of the divider and A's panes left of it (layer coordinates). */
  function updateClip() {
    if (!swiping()) {
      paneB.style.clip = '';
      for (const name of A_PANES) {
        const p = map.getPane(name);
        if (p) p.style.clip = '';
      }
      mapEl.dataset.swipe = '';
      return;
    }
    const size = map.getSize();
    const nw = map.containerPointToLayerPoint([0, 0]);
    const se = map.containerPointToLayerPoint(size);
    const x = Math.round(size.x * state.swipe);
    const cx = nw.x + x;
    paneB.style.clip = 'rect(' + [nw.y, se.x, se.y, cx].join('px, ') + 'px)';
    const left = 'rect(' + [nw.y, cx, se.y, nw.x].join('px, ') + 'px)';
    for (const name of A_PANES) {
      const p = map.getPane(name);
      if (p) p.style.clip = left;
    }
    divider.style.left = x + 'px';
    // each side's name within its side of the map
    tagA.style.maxWidth = clamp(x - 24, 0, 384) + 'px';
    tagB.style.maxWidth = clamp(size.x - x - 24, 0, 384) + 'px';
    tagA.hidden = x < 80;
    tagB.hidden = size.x - x < 80;
    handle.setAttribute('aria-valuenow', String(Math.round(state.swipe * 100)));
    handle.setAttribute('aria-valuetext', Math.round(state.swipe * 100) + ' %');
    mapEl.dataset.swipe = String(state.swipe);
  }

  function setSwipe(share, write) {
    state.swipe = clamp(Math.round(share * 1000) / 1000, 0, 1);
    updateClip();
    if (write) api.writeUrl();
  }

  map.on('move zoomend resize viewreset', updateClip);

  let drag = null;
  divider.addEventListener('pointerdown', (ev) => {
    if (ev.button !== 0) return;
    ev.preventDefault();
    ev.stopPropagation();
    divider.setPointerCapture(ev.pointerId);
    divider.classList.add('dragging');
    drag = { id: ev.pointerId, dragging: map.dragging.enabled() };
    map.dragging.disable();
    handle.focus({ preventScroll: true });
  });
  divider.addEventListener('pointermove', (ev) => {
    if (!drag || ev.pointerId !== drag.id) return;
    const r = mapEl.getBoundingClientRect();
    setSwipe((ev.clientX - r.left) / r.width, false);
  });
  function endDrag(ev) {
    if (!drag || ev.pointerId !== drag.id) return;
    if (drag.dragging) map.dragging.enable();
    drag = null;
    divider.classList.remove('dragging');
    api.writeUrl();
  }
  for (const type of ['pointerup', 'pointercancel', 'lostpointercapture']) {
    divider.addEventListener(type, endDrag);
  }
  handle.addEventListener('keydown', (ev) => {
    const steps = { ArrowLeft: -KEY_STEP, ArrowDown: -KEY_STEP, ArrowRight: KEY_STEP,
      ArrowUp: KEY_STEP, PageDown: -0.1, PageUp: 0.1 };
    let share = null;
    if (ev.key in steps) share = state.swipe + steps[ev.key];
    else if (ev.key === 'Home') share = 0;
    else if (ev.key === 'End') share = 1;
    if (share === null) return;
    ev.preventDefault();
    ev.stopPropagation();
    setSwipe(share, true);
  });

  // ---------------------------------------------------------------- the second map

  let mapB = null;
  let mapBEl = null;
  let syncing = false;

  function sync(from, to) {
    if (syncing || !to || !state.on || state.layout !== 'side') return;
    syncing = true;
    try {
      to.setView(from.getCenter(), from.getZoom(), { animate: false });
    } finally {
      syncing = false;
    }
  }

  async function drawBoundaries(m) {
    try {
      const gj = await fetchJSON('/api/boundaries.geojson');
      L.geoJSON(gj, { pane: 'land', renderer: L.canvas({ pane: 'land', padding: 0.3 }),
        interactive: false,
        style: { stroke: false, fill: true, fillColor: '#f3f1ea', fillOpacity: 1 } }).addTo(m);
      L.geoJSON(gj, { pane: 'borders', renderer: L.canvas({ pane: 'borders', padding: 0.3 }),
        interactive: false, attribution: escapeHtml(t('map.attribution.boundaries')),
        style: { color: '#7d7d7d', weight: 0.8, opacity: 0.9, fill: false } }).addTo(m);
      api.setStatus('compare-boundaries', null);
    } catch (e) {
      api.setStatus('compare-boundaries', t('status.boundaries_error', { error: errorText(e) }));
    }
  }

  function ensureMapB() {
    if (mapB) return;
    mapBEl = h('div', { id: 'map-b', className: 'map compare-map-b', role: 'application',
      'aria-label': t('second_map') });
    mapEl.after(mapBEl);
    mapB = L.map(mapBEl, { minZoom: map.getMinZoom(), maxZoom: map.getMaxZoom(),
      worldCopyJump: true, zoomControl: false, attributionControl: true,
      center: map.getCenter(), zoom: map.getZoom() });
    mapB.attributionControl.setPrefix(map.attributionControl.options.prefix);
    for (const [name, z] of [['land', '150'], ['borders', '380']]) {
      mapB.createPane(name);
      mapB.getPane(name).style.zIndex = z;
      mapB.getPane(name).style.pointerEvents = 'none';
    }
    window.chemearthCompareMap = mapB;
    drawBoundaries(mapB);
    map.on('move', () => sync(map, mapB));
    mapB.on('move', () => sync(mapB, map));
    mapB.on('click', (e) => openPopup(mapB, e.latlng, 'b'));
  }

  /** Show the layout: divider and clip (swipe), the second map (side), or neither (off). */
  function setLayout() {
    const layout = state.on ? state.layout : 'off';
    const viewer = mapEl.parentElement;
    const wasSide = viewer.classList.contains('compare-side');
    mapEl.dataset.compare = layout;
    viewer.classList.toggle('compare-side', layout === 'side');
    divider.hidden = layout !== 'swipe';
    if (layout === 'side') ensureMapB();
    if (mapBEl) mapBEl.hidden = layout !== 'side';
    placeLegendA(layout === 'swipe' ? 'left' : 'right');
    const target = layout === 'off' ? null : (layout === 'side' ? mapB : map);
    if (legendOn !== target) {
      legendControl.remove();
      if (target) legendControl.addTo(target);
      legendOn = target;
    }
    if (wasSide !== (layout === 'side')) {
      map.invalidateSize({ animate: false });
      if (mapB && layout === 'side') {
        mapB.invalidateSize({ animate: false });
        sync(map, mapB);
      }
    }
    updateClip();
    renderCaptions();
  }

  // ---------------------------------------------------------------- the second layer

  let layerB = null;
  let bToken = 0;

  function markLoaded(key) {
    mapEl.dataset.compareLoaded = key;
    mapEl.dataset.compareTiles = 'loaded';
  }

  function removeB() {
    if (layerB) layerB.remove();
    layerB = null;
  }

  function boundsOf(tj) {
    const b = tj && tj.bounds;
    if (!Array.isArray(b) || b.length !== 4 || !b.every(Number.isFinite)) return null;
    return L.latLngBounds([b[1], b[0]], [b[3], b[2]]);
  }

  function addTiles(target, url, options, token, key) {
    const tl = L.tileLayer(url, Object.assign({ pane: target === map ? PANE : 'tilePane',
      minZoom: 0, maxZoom: 18, opacity: 0.85, className: 'chemearth-tiles compare-tiles' },
    options));
    tl.on('loading', () => { if (token === bToken) mapEl.dataset.compareTiles = 'loading'; });
    tl.on('load', () => { if (token === bToken) markLoaded(key); });
    layerB = tl;
    tl.addTo(target);
    if (!tl.isLoading()) markLoaded(key);
  }

  async function showLayer(target, token, key) {
    const s = Object.assign({}, state.layer);
    const q = api.layerQuery(s, true).toString();
    const tj = await fetchJSON(api.layerBase(s) + '/tilejson.json?' + q);
    if (token !== bToken) return;
    const tiles = Array.isArray(tj.tiles) ? tj.tiles : [];
    if (!tiles.length) throw new Error(t('map.status.tiles_error'));
    const bounds = boundsOf(tj);
    addTiles(target, tiles[0], {
      minNativeZoom: Number.isFinite(tj.minzoom) ? tj.minzoom : 0,
      maxNativeZoom: Number.isFinite(tj.maxzoom) ? tj.maxzoom : 14,
      bounds: bounds || undefined,
      attribution: tj.attribution
        ? '<span translate="no">' + escapeHtml(tj.attribution) + '</span>' : undefined,
    }, token, key);
    const legend = await fetchJSON(typeof tj.legend === 'string' && tj.legend ? tj.legend
      : api.layerBase(s) + '/legend?' + q);
    if (token !== bToken) return;
    api.renderLegend(legend, s, legendB, layerEntry(s));
  }

  const changeCache = new Map();

  function changeQuery(c) {
    return new URLSearchParams({ against: c.after, grid: c.grid, level: levelParam(c.level) });
  }

  /** The change rows of a selection, and by cell id (fetched once per selection). */
  function changeRows(c) {
    const url = '/api/assess/change/' + encodeURIComponent(c.before) + '/' +
      encodeURIComponent(c.element) + '?' + changeQuery(c).toString();
    let p = changeCache.get(url);
    if (!p) {
      p = fetchJSON(url).then((rows) => {
        const list = Array.isArray(rows) ? rows : [];
        return { rows: list, byId: new Map(list.map((r) => [String(r.cell_id), r])) };
      });
      p.catch(() => changeCache.delete(url));
      changeCache.set(url, p);
    }
    return p;
  }

  let changeColours = new Map();

  async function showChange(target, token, key) {
    const c = state.change ? Object.assign({}, state.change) : null;
    if (!c) throw new Error(t('need_two', { element: api.selection().element }));
    const [data, lg] = await Promise.all([changeRows(c),
      fetchJSON('/api/assess/legend?kind=change')]);
    if (token !== bToken) return;
    changeColours = new Map((lg.classes || []).map((k) => [String(k.name), String(k.colour)]));
    addTiles(target, '/tiles/assess/change/' + encodeURIComponent(c.before) + '/' +
      encodeURIComponent(c.element) + '/{z}/{x}/{y}.png?' + changeQuery(c).toString(),
    { opacity: 0.9, maxNativeZoom: 14 }, token, key);
    renderChangeLegend(lg, data, c);
  }

  /** Show B (tiles and legend) on the map of the layout. */
  async function showB() {
    const token = ++bToken;
    removeB();
    if (!state.on) {
      api.setStatus('compare', null);
      delete mapEl.dataset.compareKey;
      return;
    }
    const key = bKey();
    mapEl.dataset.compareKey = key;
    mapEl.dataset.compareTiles = 'loading';
    legendLoading();
    const target = state.layout === 'side' ? mapB : map;
    try {
      if (state.kind === 'change') await showChange(target, token, key);
      else await showLayer(target, token, key);
      if (token === bToken) api.setStatus('compare', null);
    } catch (e) {
      if (token !== bToken) return;
      const message = t(state.kind === 'change' ? 'status.change_error' : 'status.layer_error',
        { error: errorText(e) });
      api.setStatus('compare', message);
      legendError(message);
      markLoaded(key);
    }
  }

  // ---------------------------------------------------------------- popups

  let clickToken = 0;

  /** In the swipe, a click right of the divider is B's; left of it, A's: another script's
   * popup of A (e.g. a screened cell's) if one handles it, else A's cell. */
  function onClick(e) {
    if (!swiping()) return false;
    const right = e.containerPoint.x >= map.getSize().x * state.swipe;
    if (!right && api.clickHooks.some((f) => f !== onClick && f(e))) return true;
    openPopup(map, e.latlng, right ? 'b' : 'a');
    return true;
  }
  api.clickHooks.unshift(onClick);

  function sideLabel(side) {
    if (state.layout === 'swipe') return t(side === 'a' ? 'left' : 'right');
    return t(side === 'a' ? 'map_a' : 'map_b');
  }

  function wrapPopup(side, title, body) {
    return h('div', { className: 'compare-popup', dataset: { side } },
      h('div', { className: 'compare-popup-side' }, sideLabel(side), ...(title ? [' · ', title] : [])),
      body);
  }

  async function openPopup(target, latlng, side) {
    const token = ++clickToken;
    const ll = latlng.wrap();
    const change = side === 'b' && state.kind === 'change';
    const s = side === 'a' ? api.selection() : Object.assign({}, state.layer);
    const c = change && state.change ? Object.assign({}, state.change) : null;
    const title = change ? '' : titleNode(s.dataset);
    const popup = L.popup({ maxWidth: 400, minWidth: 220,
      className: 'cell-popup-wrap compare-popup-wrap',
      autoPanPaddingTopLeft: L.point(10, 44) })  // clear of the sides' names
      .setLatLng(latlng)
      .setContent(wrapPopup(side, title, h('div', { className: 'cell-popup cell-popup-loading' },
        t('map.popup.loading'))))
      .openOn(target);
    let body;
    try {
      body = change ? await changeCell(c, ll) : await layerCell(s, ll);
    } catch (err) {
      if (err && err.status === 404) {
        body = h('div', { className: 'cell-popup cell-popup-empty' },
          h('p', { className: 'cell-none' }, t(change ? 'change.none_here' : 'map.popup.none')),
          h('p', { className: 'cell-none-hint' },
            t(change ? 'change.none_hint' : 'map.popup.none_hint')));
      } else {
        body = h('div', { className: 'cell-popup cell-popup-error' },
          t('map.popup.error', { error: errorText(err) }));
      }
    }
    if (token !== clickToken || !target.hasLayer(popup)) return;
    popup.setContent(wrapPopup(side, title, body));
  }

  async function layerCell(s, ll) {
    const q = api.layerQuery(s, false);
    q.set('lon', ll.lng.toFixed(6));
    q.set('lat', ll.lat.toFixed(6));
    const cell = await fetchJSON(api.layerBase(s) + '/cell?' + q.toString());
    return api.cellContent(cell, s);
  }

  /** The change of the cell under a point: the cell is looked up in the earlier campaign's
   * layer (of the method the change compares) at the change's grid and level. */
  async function changeCell(c, ll) {
    const data = await changeRows(c);
    const method = data.rows.length ? String(data.rows[0].method_before ?? '') : null;
    const layers = api.layers().filter((l) => l.dataset === c.before && l.element === c.element);
    const l = layers.find((x) => (x.method || '') === method) || layers[0];
    if (!l) throw Object.assign(new Error(t('change.none_here')), { status: 404 });
    const s = { dataset: c.before, element: c.element, medium: l.medium, method: l.method || '',
      grid: c.grid, level: c.level };
    const q = api.layerQuery(s, false);
    q.set('lon', ll.lng.toFixed(6));
    q.set('lat', ll.lat.toFixed(6));
    const cell = await fetchJSON(api.layerBase(s) + '/cell?' + q.toString());
    const row = data.byId.get(String(cell.cell_id));
    if (!row) throw Object.assign(new Error(t('change.none_here')), { status: 404 });
    return changeContent(row, c);
  }

  function changeContent(r, c) {
    const unit = r.unit || '';
    const num = (v) => api.fmt(v);
    const signed = (v) => (Number(v) > 0 ? '+' : '') + num(v);
    const rows = [
      ['n_before', num(r.n_before), r.n_before],
      ['n_after', num(r.n_after), r.n_after],
      ['median_before', withUnit(num(r.median_before), unit), r.median_before],
      ['median_after', withUnit(num(r.median_after), unit), r.median_after],
      ['change', withUnit(signed(r.change), unit), r.change],
      ['change_pct', r.change_pct === null || r.change_pct === undefined ? '–'
        : signed(r.change_pct) + '\u00a0%', r.change_pct],
      ['ratio', num(r.ratio), r.ratio],
      ['ci', withUnit(signed(r.ci_low) + ' … ' + signed(r.ci_high), unit), ''],
      ['q_value', num(r.q_value), r.q_value],
      ['pairing', t('pairing.' + (r.pairing === 'sites' ? 'sites' : 'independent')), r.pairing],
    ];
    const dir = String(r.direction || '');
    return h('div', { className: 'cell-popup change-popup', dataset: { cellId: String(r.cell_id),
      direction: dir, medianBefore: String(r.median_before ?? ''),
      medianAfter: String(r.median_after ?? '') } },
    h('div', { className: 'cell-head' },
      h('strong', null, t('change.title', { element: c.element })),
      h('div', { className: 'cell-pooled' }, titleNode(c.before), ' → ', titleNode(c.after)),
      h('div', { className: 'cell-id' }, t('map.popup.cell') + ' ' + r.cell_id + ' (' +
        api.levelLabel(r.level_m ?? c.level) + ')')),
    h('div', { className: 'change-direction', dataset: { direction: dir } },
      h('span', { className: 'swatch', style: { background: changeColours.get(dir) || '#9e9e9e' } }),
      ' ', changeLabel(dir)),
    h('table', { className: 'cell-stats' }, h('tbody', null, ...rows.map(([k, text, raw]) =>
      h('tr', { dataset: { field: k } }, h('th', { scope: 'row' }, t('field.' + k)),
        h('td', { dataset: { value: raw === null || raw === undefined ? '' : String(raw) } },
          text))))));
  }

  // ---------------------------------------------------------------- on, off and changes

  function render() {
    renderPanel();
    setLayout();
    showB();
    api.writeUrl();
  }

  async function enable(on) {
    if (on && !state.on) {
      await loadInfo();
      if (!state.layer) state.layer = defaultLayer();
      if (state.kind === 'change') {
        const rc = resolveChange(state.change || {});
        state.change = rc ? rc.sel : null;
      }
    }
    state.on = on;
    if (!on) {
      map.closePopup();
      if (mapB) mapB.closePopup();
    }
    render();
  }

  /** A new element on side A: B follows when it showed A's element. */
  function followA(prev, a) {
    if (!state.on || !prev || prev.element === a.element) return false;
    if (state.kind === 'layer' && state.layer && state.layer.element === prev.element) {
      state.layer = api.resolve(Object.assign({}, state.layer, { element: a.element }),
        { keepDataset: true }).sel;
      return true;
    }
    if (state.kind === 'change' && state.change && state.change.element === prev.element) {
      const rc = resolveChange(Object.assign({}, state.change, { element: a.element }));
      if (rc) state.change = rc.sel;
      return !!rc;
    }
    return false;
  }

  let prevA = null;
  mapEl.addEventListener('chemearth:layer', (e) => {
    const a = e.detail || api.selection();
    if (!ready) {
      ready = true;
      ui.toggle.disabled = false;
      loadInfo();
      const st = pending;
      pending = null;
      if (st) applyUrl(st);
    } else if (followA(prevA, a)) {
      render();
    } else {
      renderCaptions();
    }
    prevA = Object.assign({}, a);
  });

  window.addEventListener('hashchange', () => {
    if (!ready) return;
    const st = readUrl();
    if (!st) {
      if (state.on) enable(false);
      return;
    }
    const same = state.on && st.compare === specOf() &&
      (st.layout === 'side' ? 'side' : 'swipe') === state.layout &&
      (state.layout === 'side' || Number(st.swipe) === state.swipe);
    if (!same) applyUrl(st);
  });

  buildPanel();
  mapEl.dataset.compare = 'off';
})();
