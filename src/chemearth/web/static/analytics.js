/* Analytics overlays of the map viewer, from the /api/analytics routes (which apply the
 * sharing rules), each with its own legend on the map and popups:
 *   zones        fractal (C-A) anomaly zones of the shown element at 1, 2 and 4 times a
 *                threshold (GET /api/analytics/fractal/{ds}/{el}/zones)
 *   composite    the number of elements anomalous per cell (GET /api/analytics/composite/{ds})
 *   probability  P(a cell exceeds a standard's limit), banded probably above / uncertain /
 *                probably below (GET /api/analytics/probability/{ds}/{el}?f=geojson)
 *   factors      robust factor scores of the samples (GET /api/analytics/compositional/{ds}
 *                ?f=geojson), one factor at a time, in diverging classes
 *   outliers     the samples' robust (MCD) distances and outlier flags (the same answer)
 *   change       per-cell significance of change against a later campaign
 *                (GET /api/analytics/change-significance/{ds}/{el}?f=geojson)
 *   sa           the anomaly component of spectrum–area filtering of the cell surface
 *                (GET /api/analytics/spectrum-area/{ds}/{el}?f=geojson)
 *   singularity  the local singularity index α of each cell
 *                (GET /api/analytics/singularity/{ds}/{el}?f=geojson)
 * The overlay follows the shown dataset and element ('chemearth:layer'). One overlay at a
 * time: choosing one here sets the assessment overlay (assess.js) to none, and back.
 *
 * Hooks for tests: #map[data-analytics] = the kind drawn ('error', 'unavailable', or '' when
 * none); #analytics-map-legend[data-kind]; its classes li[data-class][data-n]; a popup's
 * .analytics-popup[data-id] with rows tr[data-field][data-value] (the API's values).
 */
(function () {
  'use strict';

  const api = window.chemearthViewer;
  const mapEl = document.getElementById('map');
  const kindSel = document.getElementById('sel-analytics');
  if (!api || !mapEl || !kindSel || typeof L === 'undefined') return;
  const { map, t, fetchJSON, errorText, h } = api;
  const assessSel = document.getElementById('sel-assess');
  const elementsIn = document.getElementById('an-elements');
  const standardSel = document.getElementById('sel-an-standard');
  const againstSel = document.getElementById('sel-an-against');
  const factorSel = document.getElementById('sel-an-factor');
  const noteEl = document.getElementById('analytics-note');

  /** Elements tried, after the shown one, for composite anomalies and compositions. */
  const DEFAULT_SET = ['Cu', 'Ni', 'Co', 'Pb', 'Zn', 'Cr', 'As', 'Cd', 'V', 'Mn', 'Fe'];
  const MAX_ELEMENTS = 6;
  const FACTORS = 3;
  /** Kinds that need a survey's samples (not a pooled layer). */
  const PER_SAMPLE = new Set(['probability', 'factors', 'outliers', 'change']);
  const COLOURS = {
    zone: { outer: '#fdae61', middle: '#f46d43', inner: '#a50026' },
    count: ['#fee08b', '#fdae61', '#f46d43', '#d73027', '#a50026', '#67001f'],
    band: { 'probably above': '#b2182b', uncertain: '#fdb863', 'probably below': '#2166ac' },
    direction: { increase: '#b2182b', decrease: '#2166ac', 'no significant change': '#bdbdbd',
      'too few pairs': '#f7f7f7' },
    score: ['#2166ac', '#92c5de', '#f7f7f7', '#f4a582', '#b2182b'],
    alpha: ['#67001f', '#d6604d', '#fddbc7', '#d1e5f0', '#4393c3', '#053061'],
    undefined: '#bdbdbd',
    outlier: { inlier: '#9e9e9e', outlier: '#f46d43', strong: '#a50026' },
  };
  /** Factor-score class limits (scores are on a unit scale): five diverging classes. */
  const SCORE_BREAKS = [-1.5, -0.5, 0.5, 1.5];
  /** S-A anomaly classes: steps of the anomaly component's root mean square around 0. */
  const SA_STEPS = [-1.5, -0.5, 0.5, 1.5];
  /** Singularity classes: α < 2 enrichment, α > 2 depletion (Cheng 2007). */
  const ALPHA_BREAKS = [1.8, 1.9, 2.0, 2.1, 2.2];
  const BANDS = ['probably above', 'uncertain', 'probably below'];
  const DIRECTIONS = ['increase', 'decrease', 'no significant change', 'too few pairs'];

  map.createPane('analytics');
  map.getPane('analytics').style.zIndex = '405';  // over the tiles, borders and coverage
  const renderer = L.canvas({ pane: 'analytics', padding: 0.3 });

  let overlay = null;
  let token = 0;
  let last = null;  // the answer drawn: { kind, doc, s }
  const fields = { zones: [], composite: ['elements'], probability: ['standard'],
    factors: ['elements', 'factor'], outliers: ['elements'], change: ['against'],
    sa: [], singularity: [] };

  // ------------------------------------------------------------------ the legend control

  const titleEl = h('div', { className: 'legend-title', id: 'analytics-legend-title' });
  const listEl = h('ul', { className: 'assess-legend analytics-legend', id: 'analytics-legend' });
  const extraEl = h('div', { className: 'assess-legend-extra', id: 'analytics-legend-extra' });
  // the concentration legend gives way while an overlay (this or assess.js's) is shown
  const { show: showLegend } = api.overlayLegend('analytics-map-legend', 'analytics-map-legend',
    [titleEl, listEl, extraEl]);

  function item(cls, colour, n, ...text) {
    return h('li', { dataset: { class: cls, n: String(n) } },
      h('span', { className: 'swatch', style: { background: colour } }), ' ', ...text,
      h('span', { className: 'legend-count' }, ' · ' + n));
  }

  /** A stored value shown as is (a dataset or standard id): translate="no". */
  function data(v) { return h('span', { translate: false }, String(v)); }

  function sub(...nodes) { return h('p', { className: 'legend-sub' }, ...nodes); }

  /** The nodes of string `key` with the placeholders in `data` marked as data. */
  function tn(key, vars, data) { return api.tNodes(key, vars, data || []); }

  // ------------------------------------------------------------------ helpers

  function fmt(v) {
    if (v === null || v === undefined || v === '' || !Number.isFinite(Number(v))) return '–';
    return api.fmt(v);
  }

  function levelText(m) {
    const x = Number(m);
    return x >= 1000 && x % 1000 === 0 ? (x / 1000) + 'km' : x + 'm';
  }

  function show(id, visible) {
    const el = document.getElementById(id);
    if (el) el.hidden = !visible;
  }

  /** Element codes of the dataset shown (from /api/layers). */
  function datasetElements(s) {
    const els = api.layers().filter((l) => l.dataset === s.dataset).map((l) => l.element);
    return Array.from(new Set(els)).filter((e) => /^[A-Z][a-z]?$/.test(e));
  }

  /** The elements asked for: the input, else the shown element and common ones held. */
  function elementList(s) {
    const typed = (elementsIn && elementsIn.value || '').split(/[\s,;，、]+/)
      .map((e) => e.trim()).filter((e) => /^[A-Z][a-z]?$/.test(e));
    if (typed.length) return Array.from(new Set(typed)).slice(0, 40);
    const held = datasetElements(s);
    const out = [s.element, ...DEFAULT_SET.filter((e) => held.includes(e))];
    for (const e of held) if (out.length < 3 && !out.includes(e)) out.push(e);
    return Array.from(new Set(out)).slice(0, MAX_ELEMENTS);
  }

  function clear(keepNote) {
    last = null;
    if (overlay) map.removeLayer(overlay);
    overlay = null;
    titleEl.replaceChildren();
    listEl.replaceChildren();
    extraEl.replaceChildren();
    if (!keepNote) noteEl.replaceChildren();
    mapEl.dataset.analytics = '';
    showLegend('');
  }

  // ------------------------------------------------------------------ popups

  const YES_NO = (v) => t(v ? 'analytics.yes' : 'analytics.no');

  /** A popup's value: numbers formatted (with the unit where given), words translated. */
  function valueNode(key, v, unit) {
    if (v === null || v === undefined) return '–';
    if (key === 'band') return t('analytics.band.' + v, null, v);
    if (key === 'direction') return t('analytics.direction.' + v, null, v);
    if (key === 'test') return t('analytics.test.' + v, null, v);
    if (key === 'name') return t('analytics.zone.' + v, null, v);
    if (typeof v === 'boolean') return YES_NO(v);
    if (key === 'cell_id' || key === 'sample_id') return h('span', { translate: false }, String(v));
    if (typeof v === 'number') return unit ? fmt(v) + '\u00a0' + unit : fmt(v);
    return h('span', { translate: false }, String(v));
  }

  function popup(kind, props, keys, opts) {
    const o = opts || {};
    const rows = keys.filter((k) => props[k] !== undefined).map((k) => h('tr',
      { dataset: { field: k, value: String(props[k]) } },
      h('th', { scope: 'row' }, /^F\d+$/.test(k) ? t('analytics.field.factor', { factor: k })
        : t('analytics.field.' + k, null, k)),
      h('td', null, valueNode(k, props[k], (o.units || {})[k]))));
    const id = props.cell_id || props.sample_id || props.name || String(props.zone ?? '');
    return h('div', { className: 'analytics-popup', dataset: { kind, id: String(id) } },
      h('div', { className: 'cell-head' }, h('strong', null, ...[].concat(o.title || ''))),
      h('table', { className: 'cell-stats' }, h('tbody', null, ...rows)));
  }

  function draw(doc, style, kind, keys, opts) {
    const pts = kind === 'factors' || kind === 'outliers';
    overlay = L.geoJSON(doc, {
      pane: 'analytics',
      style: pts ? undefined : (f) => Object.assign({ renderer, bubblingMouseEvents: false,
        weight: 1, opacity: 0.9, fillOpacity: 0.6 }, style(f.properties)),
      pointToLayer: pts ? (f, ll) => L.circleMarker(ll, Object.assign({ renderer,
        bubblingMouseEvents: false, pane: 'analytics', weight: 1, color: '#333',
        fillOpacity: 0.9 }, style(f.properties))) : undefined,
      onEachFeature: (f, layer) => layer.bindPopup(() => popup(kind, f.properties, keys, opts),
        { className: 'analytics-popup-wrap', maxWidth: 340, minWidth: 200 }),
    }).addTo(map);
  }

  // ------------------------------------------------------------------ the overlays

  function zones(doc, s) {
    const byName = new Map(doc.features.map((f) => [f.properties.name, f.properties]));
    const thr = Number(doc.threshold);
    const names = doc.zone_names || ['outer', 'middle', 'inner'];
    const mult = doc.multiples || [1, 2, 4];
    titleEl.replaceChildren(t('analytics.legend.zones', { element: s.element }));
    listEl.replaceChildren(...names.map((name, i) => {
      const p = byName.get(name);
      const lower = fmt(thr * mult[i]);
      const text = i + 1 < names.length
        ? t('analytics.zone.range', { zone: t('analytics.zone.' + name), lower,
          upper: fmt(thr * mult[i + 1]), unit: doc.unit || '' })
        : t('analytics.zone.above', { zone: t('analytics.zone.' + name), lower, unit: doc.unit || '' });
      return item(name, COLOURS.zone[name] || '#999', p ? p.n_cells : 0, text);
    }));
    const m = /^C-A breakpoint (\d+) of (\d+)$/.exec(String(doc.threshold_source || ''));
    const source = m ? t('analytics.source.breakpoint', { i: m[1], n: m[2] })
      : t('analytics.source.given');
    extraEl.replaceChildren(sub(t('analytics.zones.note', { threshold: fmt(thr),
      unit: doc.unit || '', source, level: doc.level || '', cells: doc.n_cells })),
    sub(t('analytics.cells_note')));
    extraEl.firstChild.dataset.threshold = String(thr);
    draw(doc, (p) => ({ color: COLOURS.zone[p.name] || '#999', fillColor: COLOURS.zone[p.name] || '#999' }),
      'zones', ['name', 'lower', 'n_cells', 'area_km2'],
      { title: s.element + ' · C-A', units: { lower: doc.unit, area_km2: 'km²' } });
  }

  function countColour(k, n) {
    const c = COLOURS.count;
    return c[Math.min(c.length - 1, Math.round((k - 1) * (c.length - 1) / Math.max(1, n - 1)))];
  }

  function composite(doc) {
    const n = (doc.elements || []).length;
    const byZone = new Map(doc.features.map((f) => [Number(f.properties.zone), f.properties]));
    titleEl.replaceChildren(t('analytics.legend.composite', { n }));
    const items = [];
    for (let k = n; k >= 1; k -= 1) {
      const p = byZone.get(k);
      items.push(item(String(k), countColour(k, n), p ? p.n_cells : 0,
        t('analytics.composite.class', { k, n })));
    }
    listEl.replaceChildren(...items);
    const thr = Object.entries(doc.thresholds || {}).map(([e, v]) => e + ' ' + fmt(v)).join(' · ');
    extraEl.replaceChildren(sub(t('analytics.composite.note', { thresholds: thr,
      anomalous: doc.n_anomalous, cells: doc.n_cells, level: doc.level || '' })),
    sub(t('analytics.cells_note')));
    draw(doc, (p) => ({ color: countColour(Number(p.zone), n), fillColor: countColour(Number(p.zone), n) }),
      'composite', ['zone', 'n_cells', 'area_km2'],
      { title: (doc.elements || []).join(', '), units: { area_km2: 'km²' } });
  }

  function precisionNodes(src) {
    const text = String(src || '');
    const m = /^(field|analytical) duplicates \((.*)\)$/.exec(text);
    if (m) return tn('analytics.precision.' + m[1], { source: m[2] }, ['source']);
    return [t('analytics.precision.none')];
  }

  function truncated(doc, total) {
    return doc.n_returned < total
      ? [sub(t('analytics.truncated', { shown: doc.n_returned, total }))] : [];
  }

  function probability(doc, s) {
    const unit = (doc.model && doc.model.unit) || 'mg/kg';
    const limits = Array.from(new Set(doc.features.map((f) => f.properties.limit)));
    titleEl.replaceChildren(...tn('analytics.legend.probability', { element: s.element,
      limit: limits.length === 1 ? fmt(limits[0]) : limits.map(fmt).join('–'), unit,
      standard: doc.standard }, ['standard']));
    const counts = new Map((doc.counts || []).map((c) => [c.band, c.n]));
    listEl.replaceChildren(...BANDS.map((b) => item(b, COLOURS.band[b], counts.get(b) || 0,
      t('analytics.band_range.' + b, { p_lo: doc.p_lo, p_hi: doc.p_hi }))));
    const prec = sub(t('analytics.precision'), ' ', ...precisionNodes(doc.precision_source));
    prec.dataset.precision = String(doc.precision_source || '');
    extraEl.replaceChildren(
      sub(t('analytics.probability.note', { level: doc.cell_level, level_name:
        t('fixes.assess.level.' + doc.level, null, doc.level) })),
      prec, ...truncated(doc, doc.n_cells));
    draw(doc, (p) => ({ color: COLOURS.band[p.band] || '#999', fillColor: COLOURS.band[p.band] || '#999',
      weight: 0.5 }), 'probability',
    ['cell_id', 'band', 'probability', 'estimate', 'median', 'limit', 'ln_sd', 'on_sample'],
    { title: [s.element + ' · ', data(doc.standard)], units: { estimate: unit, median: unit, limit: unit } });
  }

  function change(doc, s) {
    titleEl.replaceChildren(...tn('analytics.legend.change', { element: s.element,
      before: doc.dataset, after: doc.against }, ['before', 'after']));
    const counts = doc.counts || {};
    listEl.replaceChildren(...DIRECTIONS.map((d) => item(d, COLOURS.direction[d], counts[d] || 0,
      t('analytics.direction.' + d))));
    extraEl.replaceChildren(sub(t('analytics.change.note', { alpha: doc.alpha,
      level: doc.level, min: doc.min_pairs_shown })), ...truncated(doc, doc.n_cells));
    draw(doc, (p) => ({ color: p.direction === 'too few pairs' ? '#777' : COLOURS.direction[p.direction],
      dashArray: p.direction === 'too few pairs' ? '3 3' : null,
      fillColor: COLOURS.direction[p.direction] || '#999' }), 'change',
    ['cell_id', 'direction', 'n_pairs', 'n_increase', 'n_decrease', 'n_tied', 'test', 'p_value', 'q_value'],
    { title: [s.element + ' · ', data(doc.dataset), ' → ', data(doc.against)] });
  }

  /** The class (0–4) of a factor score. */
  function scoreClass(v) {
    let i = 0;
    while (i < SCORE_BREAKS.length && v > SCORE_BREAKS[i]) i += 1;
    return i;
  }

  function scoreLabel(i) {
    const b = SCORE_BREAKS;
    if (i === 0) return t('analytics.score.below', { v: b[0] });
    if (i === b.length) return t('analytics.score.above', { v: b[b.length - 1] });
    return t('analytics.score.between', { lo: b[i - 1], hi: b[i] });
  }

  function fillFactors(doc) {
    const list = (doc.factors && doc.factors.factors) || [];
    const keep = factorSel.value;
    factorSel.replaceChildren(...list.map((f) => new Option(f, f)));
    factorSel.value = list.includes(keep) ? keep : (list[0] || '');
    return factorSel.value;
  }

  function factors(doc) {
    const f = fillFactors(doc);
    const fi = ((doc.factors && doc.factors.factors) || []).indexOf(f);
    const n = [0, 0, 0, 0, 0];
    for (const x of doc.features) {
      const v = x.properties[f];
      if (v !== null && v !== undefined) n[scoreClass(v)] += 1;
    }
    titleEl.replaceChildren(t('analytics.legend.factors', { factor: f, n: (doc.parts || []).length }));
    listEl.replaceChildren(...[4, 3, 2, 1, 0].map((i) => item(String(i), COLOURS.score[i], n[i],
      scoreLabel(i))));
    const loads = ((doc.factors && doc.factors.loadings) || [])
      .filter((r) => Math.abs(r[f]) >= 0.5).sort((a, b) => Math.abs(b[f]) - Math.abs(a[f]))
      .map((r) => r.element + ' ' + (r[f] > 0 ? '+' : '−') + fmt(Math.abs(r[f]))).join(' · ');
    const rot = (doc.factors && doc.factors.rotation) || 'none';
    extraEl.replaceChildren(
      sub(t('analytics.factors.loadings', { list: loads || '–' })),
      sub(t('analytics.factors.note', { explained: fmt(100 * ((doc.factors.explained || [])[fi] || 0)),
        rotation: t('analytics.rotation.' + rot, null, rot), n: doc.n_rows,
        parts: (doc.parts || []).join(', ') })),
      ...truncated(doc, doc.n_rows));
    const keys = ['sample_id', f, ...((doc.factors && doc.factors.factors) || []).filter((x) => x !== f),
      'robust_distance', 'outlier'];
    draw(doc, (p) => ({ radius: 5, fillColor: COLOURS.score[scoreClass(p[f])] }), 'factors', keys,
      { title: f });
  }

  function outlierClass(p, cutoff) {
    if (!p.outlier) return 'inlier';
    return p.robust_distance > 2 * cutoff ? 'strong' : 'outlier';
  }

  function outliers(doc) {
    const cutoff = Number(doc.cutoff);
    const n = { inlier: 0, outlier: 0, strong: 0 };
    for (const x of doc.features) n[outlierClass(x.properties, cutoff)] += 1;
    titleEl.replaceChildren(t('analytics.legend.outliers', { n: (doc.parts || []).length }));
    listEl.replaceChildren(...['strong', 'outlier', 'inlier'].map((c) => item(c,
      COLOURS.outlier[c], n[c], t('analytics.outlier.' + c, { cutoff: fmt(cutoff),
        double: fmt(2 * cutoff) }))));
    extraEl.replaceChildren(sub(t('analytics.outliers.note', { cutoff: fmt(cutoff),
      n: doc.n_outliers, total: doc.n_rows, parts: (doc.parts || []).join(', ') })),
    ...truncated(doc, doc.n_rows));
    extraEl.firstChild.dataset.cutoff = String(cutoff);
    const facs = (doc.factors && doc.factors.factors) || [];
    draw(doc, (p) => {
      const c = outlierClass(p, cutoff);
      return { radius: c === 'inlier' ? 3 : (c === 'outlier' ? 5 : 7), fillColor: COLOURS.outlier[c] };
    }, 'outliers', ['sample_id', 'robust_distance', 'outlier', ...facs], { title: t('analytics.kind.outliers') });
  }

  /** The class of `v` among ascending `breaks`: how many breaks are at or below it. */
  function classOf(v, breaks) {
    let i = 0;
    while (i < breaks.length && v >= breaks[i]) i += 1;
    return i;
  }

  function rangeLabel(i, breaks, unit, name) {
    const u = unit ? ' ' + unit : '';
    if (i === 0) return t('analytics.range.below', { name, v: fmt(breaks[0]) + u });
    if (i === breaks.length) return t('analytics.range.above', { name, v: fmt(breaks[i - 1]) + u });
    return t('analytics.range.between', { name, lo: fmt(breaks[i - 1]), hi: fmt(breaks[i]) + u });
  }

  function spectrumArea(doc, s) {
    const vals = doc.features.map((f) => f.properties.anomaly).filter((v) => Number.isFinite(v));
    const rms = Math.sqrt(vals.reduce((a, v) => a + v * v, 0) / Math.max(1, vals.length));
    const breaks = SA_STEPS.map((k) => k * rms);
    const n = new Array(breaks.length + 1).fill(0);
    for (const v of vals) n[classOf(v, breaks)] += 1;
    const unit = doc.unit || '';
    const name = t('analytics.sa.name');
    titleEl.replaceChildren(t('analytics.legend.sa', { element: s.element }));
    listEl.replaceChildren(...[4, 3, 2, 1, 0].map((i) => item(String(i), COLOURS.score[i], n[i],
      rangeLabel(i, breaks, unit, name))));
    const m = /^S-A breakpoint (\d+) of (\d+)$/.exec(String(doc.threshold_source || ''));
    const source = m ? t('analytics.source.sa_breakpoint', { i: m[1], n: m[2] })
      : t('analytics.source.given');
    const raster = doc.raster || {};
    extraEl.replaceChildren(
      sub(t('analytics.sa.note', { energy: fmt(doc.energy_threshold), source,
        rms: fmt(rms), unit, cells: doc.n_cells, level: doc.level || '',
        filled: raster.n_filled ?? 0 })),
      ...truncated(doc, doc.n_cells));
    extraEl.firstChild.dataset.energy = String(doc.energy_threshold);
    extraEl.firstChild.dataset.rms = String(rms);
    const colour = (p) => (Number.isFinite(p.anomaly)
      ? COLOURS.score[classOf(p.anomaly, breaks)] : COLOURS.undefined);
    draw(doc, (p) => ({ color: colour(p), fillColor: colour(p), weight: 0.5 }), 'sa',
      ['cell_id', 'value', 'anomaly', 'background', 'censored', 'n'],
      { title: s.element + ' · S-A', units: { value: unit, anomaly: unit, background: unit } });
  }

  function singularityMap(doc, s) {
    const n = new Array(ALPHA_BREAKS.length + 1).fill(0);
    let undef = 0;
    for (const f of doc.features) {
      const a = f.properties.alpha;
      if (Number.isFinite(a)) n[classOf(a, ALPHA_BREAKS)] += 1; else undef += 1;
    }
    const name = 'α';
    titleEl.replaceChildren(t('analytics.legend.singularity', { element: s.element }));
    listEl.replaceChildren(...[0, 1, 2, 3, 4, 5].map((i) => item(String(i), COLOURS.alpha[i],
      n[i], rangeLabel(i, ALPHA_BREAKS, '', name))),
    item('undefined', COLOURS.undefined, undef, t('analytics.singularity.undefined')));
    const c = doc.counts || {};
    extraEl.replaceChildren(
      sub(t('analytics.singularity.note', { enrichment: c.enrichment ?? 0,
        depletion: c.depletion ?? 0, windows: (doc.window_km || []).map(fmt).join(', '),
        cells: doc.n_cells, level: doc.level || '' })),
      ...truncated(doc, doc.n_cells));
    const colour = (p) => (Number.isFinite(p.alpha)
      ? COLOURS.alpha[classOf(p.alpha, ALPHA_BREAKS)] : COLOURS.undefined);
    draw(doc, (p) => ({ color: colour(p), fillColor: colour(p), weight: 0.5 }), 'singularity',
      ['cell_id', 'value', 'alpha', 'se', 'log_density', 'censored', 'n'],
      { title: s.element + ' · α', units: { value: doc.unit || '' } });
  }

  // ------------------------------------------------------------------ refresh

  function request(kind, s) {
    const ds = encodeURIComponent(s.dataset);
    const el = encodeURIComponent(s.element);
    const q = new URLSearchParams({ grid: s.grid || 'global', level: levelText(s.level) });
    if (['zones', 'composite', 'sa', 'singularity'].includes(kind)) {
      if (api.isPooled(s.dataset)) { q.set('medium', s.medium); q.set('method', s.method || ''); }
      if (kind === 'zones') return `/api/analytics/fractal/${ds}/${el}/zones?${q}`;
      if (kind === 'sa' || kind === 'singularity') {
        q.set('f', 'geojson');
        const path = kind === 'sa' ? 'spectrum-area' : 'singularity';
        return `/api/analytics/${path}/${ds}/${el}?${q}`;
      }
      q.set('elements', elementList(s).join(','));
      return `/api/analytics/composite/${ds}?${q}`;
    }
    if (kind === 'probability') {
      q.set('standard', standardSel.value || 'gb15618-2018');
      q.set('f', 'geojson');
      return `/api/analytics/probability/${ds}/${el}?${q}`;
    }
    if (kind === 'change') {
      q.set('against', againstSel.value);
      q.set('level', '20km');
      q.set('f', 'geojson');
      return `/api/analytics/change-significance/${ds}/${el}?${q}`;
    }
    const c = new URLSearchParams({ f: 'geojson', elements: elementList(s).join(','),
      factors: String(FACTORS), limit: '10000' });
    return `/api/analytics/compositional/${ds}?${c}`;
  }

  async function refresh() {
    const my = ++token;
    const kind = kindSel.value;
    const s = api.selection();
    for (const n of ['elements', 'standard', 'against', 'factor']) {
      show('field-an-' + n, !!kind && (fields[kind] || []).includes(n));
    }
    clear();
    if (!kind || !s.dataset || !s.element) return;
    if (PER_SAMPLE.has(kind) && api.isPooled(s.dataset)) {
      noteEl.textContent = t('analytics.pooled');
      mapEl.dataset.analytics = 'unavailable';
      return;
    }
    if (kind === 'change' && !againstSel.value) {
      noteEl.textContent = t('analytics.choose_against');
      mapEl.dataset.analytics = 'unavailable';
      return;
    }
    noteEl.textContent = t('analytics.loading');
    mapEl.dataset.analytics = 'loading';
    try {
      const doc = await fetchJSON(request(kind, s));
      if (my !== token) return;
      const draws = { zones, composite, probability, change, factors, outliers,
        sa: spectrumArea, singularity: singularityMap };
      draws[kind](doc, s);
      last = { kind, doc, s };
      noteEl.replaceChildren();
      if (kind === 'composite' || kind === 'factors' || kind === 'outliers') {
        noteEl.textContent = t('analytics.elements_used', {
          list: (doc.elements || doc.parts || []).join(', ') });
      }
      showLegend(kind);
      mapEl.dataset.analytics = kind;
    } catch (e) {
      if (my !== token) return;
      clear(true);
      noteEl.replaceChildren(...tn('analytics.error', { error: errorText(e) }, ['error']));
      mapEl.dataset.analytics = 'error';
    }
  }

  (async function init() {
    try {
      const [standards, datasets] = await Promise.all([
        fetchJSON('/api/standards'), fetchJSON('/api/datasets')]);
      standardSel.replaceChildren(...standards.map((x) => Object.assign(new Option(x.id, x.id),
        { translate: false })));  // standard ids are data
      if (standards.some((x) => x.id === 'gb15618-2018')) standardSel.value = 'gb15618-2018';
      const list = Array.isArray(datasets) ? datasets : (datasets.datasets || []);
      againstSel.replaceChildren(new Option(t('analytics.choose'), ''),
        ...list.map((d) => Object.assign(new Option(d.dataset_id, d.dataset_id),
          { translate: false })));  // dataset ids are data
    } catch (e) {
      noteEl.replaceChildren(...tn('analytics.error', { error: errorText(e) }, ['error']));
    }
  })();

  kindSel.addEventListener('change', () => {
    if (kindSel.value && assessSel && assessSel.value) {  // one overlay at a time
      assessSel.value = '';
      assessSel.dispatchEvent(new Event('change'));
    }
    refresh();
  });
  for (const el of [standardSel, againstSel, elementsIn]) el.addEventListener('change', refresh);
  factorSel.addEventListener('change', () => {  // another factor of the same answer
    if (kindSel.value !== 'factors' || !last || last.kind !== 'factors') return;
    if (overlay) map.removeLayer(overlay);
    factors(last.doc);
  });
  if (assessSel) {
    assessSel.addEventListener('change', () => {
      if (assessSel.value && kindSel.value) {
        kindSel.value = '';
        refresh();
      }
    });
  }
  mapEl.addEventListener('chemearth:layer', () => { if (kindSel.value) refresh(); });
})();
