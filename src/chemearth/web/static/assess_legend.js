/* The legends and popups of the assessment overlays (assess.js), on the map.
 *
 * While an overlay is shown, its own legend takes the place of the concentration legend
 * (#legend is hidden): the map control #assess-map-legend holds a title, the class list
 * #assess-legend (moved here from the side panel) and what the overlay's classes mean:
 *   screening   classes and colours, and the standard's limits of the element per level and
 *               soil-pH band (GET /api/assess/legend?element=)
 *   change      the direction classes, between which campaigns, on which cells
 *   anomalies   the threshold and the colours of the targets' ranks
 *   blocks      the colours of the nested blocks' thresholds
 *   surfaces    the surface's concentration classes
 * A click on the map with the screening overlay shown opens the screened cell's popup (GET
 * /api/assess/screening/{ds}/{el}/cell): its class, the limits and how far they are
 * exceeded, instead of the layer's concentrations.
 *
 * assess.js tells which overlay is shown with a 'chemearth:assess' event on #map (detail:
 * kind, the selection, and the overlay's legend or GeoJSON document; kind '' when none).
 * Hooks for tests: #assess-map-legend[data-kind], .screen-popup[data-cell-id][data-class].
 */
(function () {
  'use strict';

  const api = window.chemearthViewer;
  const mapEl = document.getElementById('map');
  const listEl = document.getElementById('assess-legend');
  if (!api || !mapEl || !listEl || typeof L === 'undefined') return;
  const { map, t, fetchJSON, errorText } = api;
  const zh = mapEl.dataset.lang === 'zh';
  const standardSel = document.getElementById('sel-standard');

  /** A DOM element with text children (strings are never parsed as HTML). */
  function h(tag, props, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v === undefined || v === null) continue;
      if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k === 'style') Object.assign(el.style, v);
      else el[k] = v;
    }
    for (const c of children) {
      if (c !== null && c !== undefined && c !== false) {
        el.append(c instanceof Node ? c : document.createTextNode(String(c)));
      }
    }
    return el;
  }

  function fmt(v) {
    if (v === null || v === undefined || !Number.isFinite(Number(v))) return '–';
    return api.fmt ? api.fmt(v) : String(+Number(v).toPrecision(3));
  }

  /** A level of a standard ("screening"), a land use ("paddy"), a pH band. */
  function levelName(lv) { return t('fixes.assess.level.' + lv, null, lv); }
  function landUseName(lu) { return t('fixes.assess.land_use.' + lu, null, lu); }
  function bandName(b) {
    return b === 'any pH' ? t('fixes.legend.any_ph') : String(b).replace(/<=/g, '≤').replace(/>=/g, '≥');
  }

  // ------------------------------------------------------------------ the legend control

  const titleEl = h('div', { className: 'legend-title', id: 'assess-legend-title' });
  const extraEl = h('div', { className: 'assess-legend-extra', id: 'assess-legend-extra' });
  // the class list moves from the panel to the map
  const { show } = api.overlayLegend('assess-map-legend', '', [titleEl, listEl, extraEl]);

  let shown = { kind: '' };

  function swatchItem(colour, text, dataset) {
    return h('li', { dataset }, h('span', { className: 'swatch', style: { background: colour } }),
      ' ' + text);
  }

  function screeningLegend(d) {
    const s = d.selection;
    const lg = d.legend || {};
    const std = (zh && lg.title_zh) || lg.standard || '';
    titleEl.textContent = t('fixes.legend.screening_title', { element: s.element, standard: std });
    const lim = lg.limits;
    const parts = [h('p', { className: 'legend-sub' }, t('fixes.legend.worst_class'))];
    if (lim && Array.isArray(lim.limits) && lim.limits.length) {
      const bands = lim.ph_bands || [];
      const head = h('tr', null, h('th', { scope: 'col' }, t('fixes.legend.ph')),
        ...lim.limits.map((x) => h('th', { scope: 'col' }, levelName(x.level))));
      const rows = bands.map((b, i) => h('tr', { dataset: { band: String(i) } },
        h('th', { scope: 'row' }, bandName(b)),
        ...lim.limits.map((x) => h('td', { className: 'legend-limits',
          dataset: { level: x.level, value: String(x.values[i] ?? '') } },
        x.values[i] === null || x.values[i] === undefined ? t('fixes.legend.no_limit')
          : fmt(x.values[i])))));
      parts.push(h('div', { className: 'legend-sub assess-limits-title' },
        t('fixes.legend.limits_title', { element: s.element, unit: lim.unit || 'mg/kg',
          land_use: landUseName(lim.land_use) })),
      h('table', { className: 'assess-limits' }, h('thead', null, head),
        h('tbody', null, ...rows)));
    }
    extraEl.replaceChildren(...parts);
  }

  function changeLegend(d) {
    const s = d.selection;
    titleEl.replaceChildren(...api.tNodes('fixes.legend.change_title', { element: s.element,
      before: s.dataset, after: d.against || '', level: d.level || '' }, ['before', 'after']));
    extraEl.replaceChildren(h('p', { className: 'legend-sub' }, t('fixes.legend.change_note')));
  }

  function anomalyLegend(d) {
    const s = d.selection;
    const doc = d.doc || {};
    const feats = Array.isArray(doc.features) ? doc.features : [];
    const palette = d.palette || [];
    titleEl.textContent = t('fixes.legend.anomalies_title', { element: s.element });
    const ranks = feats.map((f) => Number(f.properties.rank)).filter(Number.isFinite);
    const top = Math.min(ranks.length ? Math.max(...ranks) : 0, palette.length);
    const items = [];
    for (let r = 1; r <= top; r += 1) {
      const more = r === palette.length && Math.max(...ranks) > r;
      items.push(swatchItem(palette[r - 1], more ? t('fixes.legend.rank_more', { n: r })
        : t('fixes.legend.rank', { n: r }), { rank: String(r) }));
    }
    listEl.replaceChildren(...items);
    extraEl.replaceChildren(h('p', { className: 'legend-sub' }, feats.length
      ? t('fixes.legend.anomalies_note', { threshold: fmt(doc.threshold), unit: doc.unit || '' })
      : t('fixes.legend.anomalies_none')));
  }

  function blockLegend(d) {
    const s = d.selection;
    const doc = d.doc || {};
    const feats = Array.isArray(doc.features) ? doc.features : [];
    const palette = d.palette || [];
    titleEl.textContent = t('fixes.legend.blocks_title', { element: s.element });
    const byIndex = new Map();
    for (const f of feats) {
      const p = f.properties || {};
      if (Number.isFinite(Number(p.threshold_index))) byIndex.set(Number(p.threshold_index), p.threshold);
    }
    const items = [...byIndex.keys()].sort((a, b) => a - b).map((i) => swatchItem(
      palette[Math.min(i - 1, palette.length - 1)],
      t('fixes.legend.block_threshold', { threshold: fmt(byIndex.get(i)), unit: doc.unit || '' }),
      { threshold: String(byIndex.get(i)) }));
    listEl.replaceChildren(...items);
    extraEl.replaceChildren(h('p', { className: 'legend-sub' }, t('fixes.legend.blocks_note')));
  }

  function surfaceLegend(d) {
    titleEl.textContent = t('fixes.legend.surface_title', { element: d.selection.element,
      how: t('map.surface.' + d.kind.slice('surface-'.length), null, d.kind) });
    extraEl.replaceChildren(h('p', { className: 'legend-sub' }, t('fixes.legend.surface_note',
      { unit: d.unit || '' })));
  }

  mapEl.addEventListener('chemearth:assess', (e) => {
    const d = e.detail || {};
    shown = d.kind ? d : { kind: '' };
    if (!d.kind) {
      titleEl.textContent = '';
      extraEl.replaceChildren();
      show('');
      return;
    }
    if (d.kind === 'screening') screeningLegend(d);
    else if (d.kind === 'change') changeLegend(d);
    else if (d.kind === 'anomalies') anomalyLegend(d);
    else if (d.kind === 'blocks') blockLegend(d);
    else surfaceLegend(d);
    show(d.kind);
  });

  // ------------------------------------------------------------------ the screened cell

  let clickToken = 0;

  function limitText(x, unit) {
    if (x.limit_min === null || x.limit_min === undefined) return t('fixes.popup.no_limit');
    const v = x.limit_min === x.limit_max ? fmt(x.limit_min)
      : fmt(x.limit_min) + '–' + fmt(x.limit_max);
    return v + '\u00a0' + unit + ' (' + t(x.limits_of === 'cell' ? 'fixes.popup.limit_of_cell'
      : 'fixes.popup.limit_of_standard') + ')';
  }

  function screenContent(c) {
    const unit = c.unit || 'mg/kg';
    const cls = c.class;
    const rows = [h('tr', { className: 'screen-class' }, h('th', { scope: 'row' }, t('fixes.popup.class')),
      h('td', null, cls ? h('span', { className: 'swatch', style: { background: cls.colour } }) : null,
        ' ' + (cls ? (zh && cls.name_zh ? cls.name_zh : cls.name) : t('fixes.popup.indeterminate'))))];
    for (const x of c.levels || []) {
      const lines = [h('div', { className: 'screen-limit' }, limitText(x, unit))];
      if (x.limit_min !== null && x.limit_min !== undefined) {
        lines.push(h('div', { className: 'screen-above', dataset: { nAbove: String(x.n_above) } },
          t('fixes.popup.above', { n: x.n_above, total: c.n - (c.n_indeterminate || 0),
            pct: fmt(x.pct_above) })));
        if (x.ratio_max !== null && x.ratio_max !== undefined) {
          lines.push(h('div', { className: 'screen-ratio', dataset: { ratio: String(x.ratio_max) } },
            t(x.ratio_max > 1 ? 'fixes.popup.ratio_above' : 'fixes.popup.ratio_below',
              { ratio: fmt(x.ratio_max), excess: fmt(x.excess_max), unit })));
        }
      }
      rows.push(h('tr', { className: 'screen-level', dataset: { level: x.level } },
        h('th', { scope: 'row' }, levelName(x.level)), h('td', null, ...lines)));
    }
    const notes = [h('p', { className: 'screen-n' }, t('fixes.popup.samples', { n: c.n }) +
      (c.n_indeterminate ? ' · ' + t('fixes.popup.n_indeterminate', { n: c.n_indeterminate }) : ''))];
    if (c.ph_assumed) notes.push(h('p', { className: 'screen-note' }, t('fixes.popup.ph_assumed', { n: c.ph_assumed })));
    return h('div', { className: 'cell-popup screen-popup', dataset: { cellId: c.cell_id,
      class: cls ? String(cls.index) : '' } },
    h('div', { className: 'cell-head' }, h('strong', null, c.element + ' · ' + c.standard),
      h('div', { className: 'cell-id' }, t('map.popup.cell') + ' ' + c.cell_id + ' (' +
        c.level + ') · ' + landUseName(c.land_use))),
    h('table', { className: 'cell-stats screen-table' }, h('tbody', null, ...rows)), ...notes);
  }

  function onClick(e) {
    if (shown.kind !== 'screening') return false;
    const s = shown.selection;
    const my = ++clickToken;
    const ll = e.latlng.wrap();
    const popup = L.popup({ maxWidth: 360, minWidth: 240, className: 'cell-popup-wrap' })
      .setLatLng(e.latlng)
      .setContent(h('div', { className: 'cell-popup cell-popup-loading' }, t('map.popup.loading')))
      .openOn(map);
    const q = new URLSearchParams({ lon: ll.lng.toFixed(6), lat: ll.lat.toFixed(6),
      standard: (standardSel && standardSel.value) || 'gb15618-2018',
      grid: s.grid || 'global', level: String(s.level || '10km') });
    fetchJSON('/api/assess/screening/' + encodeURIComponent(s.dataset) + '/' +
      encodeURIComponent(s.element) + '/cell?' + q.toString()).then((c) => {
      if (my === clickToken && map.hasLayer(popup)) popup.setContent(screenContent(c));
    }, (err) => {
      if (my !== clickToken || !map.hasLayer(popup)) return;
      popup.setContent(h('div', { className: 'cell-popup cell-popup-empty screen-popup-none' },
        err && err.status === 404 ? t('fixes.popup.none') : t('map.popup.error', { error: errorText(err) })));
    });
    return true;
  }

  if (Array.isArray(api.clickHooks)) api.clickHooks.push(onClick);
})();
