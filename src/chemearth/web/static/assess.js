/* Assessment overlays of the map viewer: soil-quality screening and change between
 * campaigns as tiles, anomaly targets and geochemical blocks as GeoJSON, all from the
 * /api/assess routes (which apply the sharing rules). Driven by app.js's
 * 'chemearth:layer' event: the overlay follows the shown dataset and element. */
(function () {
  'use strict';

  const api = window.chemearthViewer;
  const mapEl = document.getElementById('map');
  const kindSel = document.getElementById('sel-assess');
  if (!api || !mapEl || !kindSel) return;
  const { map, t, fetchJSON, errorText } = api;
  const standardSel = document.getElementById('sel-standard');
  const againstSel = document.getElementById('sel-against');
  const thresholdSel = document.getElementById('sel-threshold');
  const legendEl = document.getElementById('assess-legend');
  const noteEl = document.getElementById('assess-note');
  const zh = mapEl.dataset.lang === 'zh';
  let overlay = null;
  let token = 0;

  function show(id, visible) {
    const el = document.getElementById(id);
    if (el) el.hidden = !visible;
  }

  function legend(items) {
    legendEl.replaceChildren(...items.map((c) => {
      const li = document.createElement('li');
      const sw = document.createElement('span');
      sw.className = 'swatch';
      sw.style.background = c.colour;
      li.append(sw, document.createTextNode(' ' + (zh && c.name_zh ? c.name_zh : c.name)));
      return li;
    }));
  }

  function clear() {
    if (overlay) map.removeLayer(overlay);
    overlay = null;
    legendEl.replaceChildren();
    noteEl.textContent = '';
    noteEl.dataset.extra = '';
    mapEl.dataset.assess = '';
    announce({ kind: '' });
  }

  /** Tell assess_legend.js which overlay is shown (its legend and popups). */
  function announce(detail) {
    mapEl.dispatchEvent(new CustomEvent('chemearth:assess', { detail }));
  }

  function fmt(v) {
    if (typeof v !== 'number') return String(v);
    return Math.abs(v) >= 1e5 ? v.toExponential(3) : String(+v.toPrecision(4));
  }

  function popup(props, keys) {
    const rows = keys.filter((k) => props[k] !== undefined && props[k] !== null)
      .map((k) => `<tr><th>${t('map.assess.field.' + k, null, k)}</th><td>${fmt(props[k])}</td></tr>`);
    return `<table class="popup-table">${rows.join('')}</table>`;
  }

  /** How a surface was interpolated, in the page's language (the API says it in English). */
  function surfaceHow(method, text) {
    if (!zh) return text;
    const power = /power ([\d.]+)/.exec(String(text));
    return method === 'kriging' ? t('ui.surface.kriging')
      : t('ui.surface.idw', { power: power ? power[1] : '2' });
  }

  const PALETTE = ['#b2182b', '#ef8a62', '#fddbc7', '#d1e5f0', '#67a9cf', '#2166ac'];

  async function refresh() {
    const my = ++token;
    const kind = kindSel.value;
    const s = api.selection();
    show('field-standard', kind === 'screening');
    show('field-against', kind === 'change');
    show('field-threshold', kind === 'anomalies');
    clear();
    if (!kind || !s.dataset || !s.element) return;
    const ds = encodeURIComponent(s.dataset);
    const el = encodeURIComponent(s.element);
    const detail = { kind, selection: s, palette: PALETTE };
    let citation = null;
    try {
      if (kind === 'surface-kriging' || kind === 'surface-idw') {
        // an interpolated surface: block estimates on the cells of the shown level
        const method = kind.slice('surface-'.length);
        const q = new URLSearchParams({ method, grid: s.grid || 'global',
          level: s.level || '10km' });
        const d = await fetchJSON(`/api/surfaces/${ds}/${el}?${q}`);
        if (my !== token) return;
        overlay = L.tileLayer(`/tiles/surface/${ds}/${el}/{z}/{x}/{y}.png?${q}`,
          { opacity: 0.9, zIndex: 20 }).addTo(map);
        legend((d.legend.classes || []).slice().reverse().map((c) => ({
          colour: c.colour,
          name: `${fmt(c.lower)} – ${fmt(c.upper)} ${d.unit} (P${c.percent_lower}–P${c.percent_upper})`,
        })));
        const cv = d.cross_validation || {};
        const vg = d.variogram;
        noteEl.textContent = t('map.surface.note', {
          how: surfaceHow(method, d.interpolation), n: d.n_samples, cells: d.n_cells,
          rmse: fmt(cv.rmse), unit: d.unit,
          variogram: vg ? `${t('term.variogram.' + vg.model, null, vg.model)}, ${t('map.surface.range')} ${fmt(vg.practical_range / 1000)} km` : '–',
        });
        announce(Object.assign(detail, { legend: d.legend, unit: d.unit }));
        mapEl.dataset.assess = kind;
        return;
      }
      if (kind === 'screening' || kind === 'change') {
        const q = new URLSearchParams({ grid: s.grid || 'global' });
        if (kind === 'screening') {
          q.set('standard', standardSel.value || 'gb15618-2018');
          q.set('level', s.level || '10km');
          // the notes say what the comparison rests on (pH, digestion), never silently
          const res = await fetchJSON(`/api/assess/screening/${ds}?elements=${el}&standard=` +
            encodeURIComponent(q.get('standard')));
          if (my !== token) return;
          // the element's own notes and the general ones (in Chinese where the API has them)
          const notes = res.notes || [];
          const shown = zh && (res.notes_zh || []).length === notes.length ? res.notes_zh : notes;
          const own = shown.filter((n, i) => !/^[A-Z][a-z]?: /.test(notes[i]) ||
            notes[i].startsWith(s.element + ':'));
          noteEl.dataset.extra = own.join(' · ');
          // the standard's citation: in Chinese where it has one, else as published (data)
          citation = zh && res.citation_zh ? { text: res.citation_zh, data: false }
            : { text: res.citation || '', data: true };
        } else {
          if (!againstSel.value) {
            noteEl.textContent = t('map.assess.choose_against');
            return;
          }
          q.set('against', againstSel.value);
          q.set('level', '20km');
          Object.assign(detail, { against: againstSel.value, level: '20km' });
          // the cells first: a pair of campaigns without common cells says why, once
          const cells = await fetchJSON(`/api/assess/change/${ds}/${el}?${q}`);
          if (my !== token) return;
          const count = (d) => cells.filter((c) => c.direction === d).length;
          noteEl.dataset.extra = t('map.assess.note.change', {
            n: cells.length, up: count('increase'), down: count('decrease') });
        }
        const lg = await fetchJSON(`/api/assess/legend?kind=${kind}&element=${el}&standard=` +
          encodeURIComponent(standardSel.value || 'gb15618-2018'));
        if (my !== token) return;
        detail.legend = lg;
        overlay = L.tileLayer(`/tiles/assess/${kind}/${ds}/${el}/{z}/{x}/{y}.png?${q}`,
          { opacity: 0.9, zIndex: 20 }).addTo(map);
        legend(lg.classes || []);
        noteEl.textContent = noteEl.dataset.extra || (citation ? '' : lg.citation || '');
        if (citation && citation.text) {
          const c = document.createElement('span');
          c.className = 'assess-citation';
          c.translate = !citation.data;
          c.textContent = citation.text;
          noteEl.append(noteEl.textContent ? ' · ' : '', c);
        }
      } else {
        const url = kind === 'anomalies'
          ? `/api/assess/anomalies/${ds}/${el}?threshold=${thresholdSel.value}`
          : `/api/assess/blocks/${ds}/${el}`;
        const doc = await fetchJSON(url);
        if (my !== token) return;
        detail.doc = doc;
        const keys = kind === 'anomalies'
          ? ['target_id', 'rank', 'area_km2', 'n_samples', 'peak', 'contrast', 'productivity', 'association']
          : ['block_id', 'parent_id', 'threshold', 'area_km2', 'mean', 'metal_t'];
        overlay = L.geoJSON(doc, {
          style: (f) => {
            const i = kind === 'anomalies' ? (f.properties.rank - 1) : (f.properties.threshold_index - 1);
            return { color: PALETTE[Math.min(i, PALETTE.length - 1)], weight: 2, fillOpacity: 0.25 };
          },
          onEachFeature: (f, layer) => layer.bindPopup(popup(f.properties, keys)),
        }).addTo(map);
        noteEl.textContent = kind === 'anomalies'
          ? t('map.assess.note.anomalies', { threshold: fmt(doc.threshold), unit: doc.unit, n: doc.features.length })
          : t('map.assess.note.blocks', { depth: doc.assumptions.depth_m, density: doc.assumptions.density_t_m3, n: doc.features.length });
      }
      announce(detail);
      mapEl.dataset.assess = kind;
    } catch (e) {
      if (my !== token) return;
      noteEl.textContent = t('map.assess.error', { error: errorText(e) });
      mapEl.dataset.assess = 'error';
    }
  }

  (async function init() {
    try {
      const [standards, datasets] = await Promise.all([
        fetchJSON('/api/standards'), fetchJSON('/api/datasets')]);
      standardSel.replaceChildren(...standards.map((s) => new Option(s.id, s.id)));
      if (standards.some((s) => s.id === 'gb15618-2018')) standardSel.value = 'gb15618-2018';
      const list = Array.isArray(datasets) ? datasets : (datasets.datasets || []);
      againstSel.replaceChildren(new Option(t('map.assess.choose'), ''),
        ...list.map((d) => Object.assign(new Option(d.dataset_id, d.dataset_id),
          { translate: false })));  // dataset ids are data
    } catch (e) {
      noteEl.textContent = t('map.assess.error', { error: errorText(e) });
    }
  })();

  for (const el of [kindSel, standardSel, againstSel, thresholdSel]) {
    el.addEventListener('change', refresh);
  }
  mapEl.addEventListener('chemearth:layer', () => { if (kindSel.value) refresh(); });
})();
