/* chemearth globe view: the map viewer's layer on a globe, with MapLibre GL JS 5 (served from
 * node_modules at /vendor/maplibre-gl/, loaded on the first switch to the globe) and its
 * globe projection. Fully offline: no basemap, glyphs or sprites from anywhere; the land and
 * borders are the site's own /api/boundaries.geojson (Natural Earth 1:110m).
 *
 * app.js stays the viewer: its selectors choose the layer, its Leaflet map keeps the view and
 * writes it into the URL, its legend shows the classes. The globe is drawn inside #map over
 * Leaflet's panes and under its controls, so the legends stay in view; it follows the layer
 * ('chemearth:layer' events) and shares the view with the flat map both ways, so switching
 * keeps the layer, the legend and the centre. What it uses of app.js is
 * window.chemearthViewer: the selection, the layer's URLs (layerBase, layerQuery), the cell
 * and sample popups' content (cellContent, sampleContent), the status line, the strings and
 * the URL (writeUrl, and urlExtras to add "view=globe").
 *
 * The switch: the buttons #view-map and #view-globe, and "view=globe" in the hash or query
 * (the hash wins); a link with view=globe opens the globe.
 *
 * Drawn on the globe: the layer's XYZ tiles (the TileJSON of the flat map), land and borders,
 * the coverage cells and the sample points the flat map shows (read from its layers).
 * Assessment overlays stay on the flat map (a note says so).
 *
 * Hooks for tests: window.chemearthGlobe (the maplibregl.Map once made); #globe[data-layer] =
 * the layer key shown, #globe[data-loaded] = the key whose tiles last finished loading,
 * #globe[data-tiles] = "loading" or "loaded", #globe[data-samples] and
 * #globe[data-coverage-cells] = the points and cells drawn; body[data-view] = "map" or
 * "globe".
 */
(function () {
  'use strict';

  const api = window.chemearthViewer;
  const mapEl = document.getElementById('map');
  if (!api || !mapEl || typeof L === 'undefined' || !Array.isArray(api.urlExtras)) return;
  const flat = api.map;
  const { t, h, fetchJSON, errorText } = api;

  const VENDOR = '/vendor/maplibre-gl/';
  const LAND = '#f3f1ea';
  const BORDER = '#7d7d7d';
  const LAYER_OPACITY = 0.85;
  /** Share of the globe area's smaller side the globe fills at the flat map's world view. */
  const GLOBE_FILL = 0.85;
  /** Flat-map zoom of the world view, and the zoom from which the two zooms are one apart. */
  const WORLD_ZOOM = 2;
  const PLAIN_ZOOM = 6;
  const FLAT_MIN_ZOOM = 1;
  const FLAT_MAX_ZOOM = 16;
  const SOURCE = 'chemearth-layer';
  const EMPTY = { type: 'FeatureCollection', features: [] };
  /** The keys of MapLibre's own strings that the globe shows (globe.maplibre.* strings). */
  const MAPLIBRE_STRINGS = ['Map.Title', 'AttributionControl.ToggleAttribution',
    'NavigationControl.ZoomIn', 'NavigationControl.ZoomOut', 'NavigationControl.ResetBearing',
    'Popup.Close', 'ScaleControl.Kilometers', 'ScaleControl.Meters'];
  /** The coverage cells as the flat map draws them (app.js COVERAGE_STYLE_1 and _5). */
  const COVERAGE_1 = { line: '#c2410c', width: 1.3, opacity: 0.95, fill: '#fb923c',
    fillOpacity: 0.3 };
  const COVERAGE_5 = { line: '#111827', width: 1.2, opacity: 0.85, fill: '#111827',
    fillOpacity: 0.1 };

  const globeEl = h('div', { id: 'globe', className: 'globe', role: 'application',
    'aria-label': t('globe.label'), hidden: true });
  mapEl.append(globeEl);
  // the flat map under the globe must not see its clicks, drags and wheel
  L.DomEvent.disableClickPropagation(globeEl);
  L.DomEvent.disableScrollPropagation(globeEl);
  globeEl.addEventListener('click', (e) => e.stopPropagation());

  const buttons = Array.from(document.querySelectorAll('#view-switch [data-view]'));

  let view = 'map';
  let globe = null;        // the maplibregl.Map, once made
  let making = null;       // the promise of the globe being made
  let shownKey = null;     // the layer key on the globe
  let layerToken = 0;
  let clickToken = 0;
  let popup = null;
  let syncing = false;     // a view change made by the other map: not sent back
  let sampleFeatures = []; // the flat map's sample GeoJSON features, by index
  let turnToData = false;  // turn the globe to the first layer's data (a link without a view)

  // ------------------------------------------------------------------ the view in the URL

  /** "globe" or "map", from the query and the hash (the hash wins). */
  function viewIn(search, hash) {
    let v = null;
    for (const src of [search, hash]) {
      const p = new URLSearchParams(String(src || '').replace(/^[?#]/, ''));
      if (p.has('view')) v = p.get('view');
    }
    return v === 'globe' ? 'globe' : 'map';
  }

  api.urlExtras.push((p) => {
    // the flat map is the default; say "map" only where a query would say otherwise
    if (view === 'globe') p.set('view', 'globe');
    else if (new URLSearchParams(window.location.search).has('view')) p.set('view', 'map');
  });

  /** Write the view into the URL: app.js's writeUrl once a layer is shown, else the hash's
   * view key alone (the rest of a shared link is still to be read by app.js). */
  function writeView() {
    if (api.selection().dataset) {
      api.writeUrl();
      return;
    }
    const p = new URLSearchParams(window.location.hash.replace(/^#/, ''));
    if (view === 'globe') p.set('view', 'globe');
    else if (new URLSearchParams(window.location.search).has('view')) p.set('view', 'map');
    else p.delete('view');
    const hash = p.toString().replace(/%3A/gi, ':');
    history.replaceState(history.state, '', window.location.pathname + window.location.search +
      (hash ? '#' + hash : ''));
  }

  // ------------------------------------------------------------------ the switch

  function renderSwitch() {
    for (const b of buttons) b.setAttribute('aria-pressed', String(b.dataset.view === view));
    document.body.dataset.view = view;
  }

  for (const b of buttons) {
    b.addEventListener('click', () => setView(b.dataset.view === 'globe' ? 'globe' : 'map'));
  }

  /** Show the flat map or the globe; `write`: put the view into the URL. */
  function setView(v, write) {
    if (v === view) return;
    view = v;
    renderSwitch();
    if (v === 'globe') showGlobe();
    else showFlat();
    if (write !== false) writeView();
  }

  function showFlat() {
    mapEl.classList.remove('globe-on');
    globeEl.hidden = true;
    if (popup) { popup.remove(); popup = null; }
    api.setStatus('globe', null);
    api.setStatus('globe-assess', null);
    flat.invalidateSize({ pan: false });
  }

  async function showGlobe() {
    mapEl.classList.add('globe-on');
    globeEl.hidden = false;
    flat.closePopup();
    try {
      await makeGlobe();
    } catch (e) {
      const message = e && e.webgl ? t('globe.status.no_webgl')
        : t('globe.status.load_error', { error: errorText(e) });
      if (view === 'globe') setView('map');  // the flat map works without WebGL
      api.setStatus('globe', message);
      return;
    }
    if (view !== 'globe') return;
    syncing = true;  // a resize ends with "moveend": not a move of the user's
    try {
      globe.resize();
    } finally {
      syncing = false;
    }
    followFlat();
    refreshOverlays();
    showLayer(api.selection());
  }

  // ------------------------------------------------------------------ making the globe

  function loadScript(src) {
    return new Promise((resolve, reject) => {
      const s = document.createElement('script');
      s.src = src;
      s.onload = () => resolve();
      s.onerror = () => reject(new Error(src));
      document.head.append(s);
    });
  }

  function loadCss(href) {
    if (document.querySelector('link[href="' + href + '"]')) return;
    const link = document.createElement('link');
    link.rel = 'stylesheet';
    link.href = href;
    // before globe.css, whose rules adjust MapLibre's
    const mine = document.querySelector('link[href="/static/globe.css"]');
    if (mine) mine.before(link);
    else document.head.append(link);
  }

  function webglAvailable() {
    try {
      const c = document.createElement('canvas');
      return !!(c.getContext('webgl2') || c.getContext('webgl'));
    } catch (e) {
      return false;
    }
  }

  function makeGlobe() {
    if (!making) {
      making = (async () => {
        if (!webglAvailable()) throw Object.assign(new Error('WebGL'), { webgl: true });
        api.setStatus('globe', t('globe.status.loading'), 'info');
        loadCss(VENDOR + 'maplibre-gl.css');
        if (typeof maplibregl === 'undefined') await loadScript(VENDOR + 'maplibre-gl.js');
        await createMap();
        api.setStatus('globe', null);
      })();
      making.catch(() => { making = null; });
    }
    return making;
  }

  function locale() {
    const out = {};
    for (const k of MAPLIBRE_STRINGS) out[k] = t('globe.maplibre.' + k);
    return out;
  }

  function sea() {
    const c = getComputedStyle(mapEl).backgroundColor;
    return c && c !== 'rgba(0, 0, 0, 0)' && c !== 'transparent' ? c : '#d9e4ec';
  }

  function createMap() {
    const v = flatView();
    const m = new maplibregl.Map({
      container: globeEl,
      style: {
        version: 8,
        sources: {
          countries: { type: 'geojson', data: EMPTY,
            attribution: escapeHtml(t('map.attribution.boundaries')) },
          coverage: { type: 'geojson', data: EMPTY },
          samples: { type: 'geojson', data: EMPTY },
        },
        layers: [
          { id: 'background', type: 'background', paint: { 'background-color': sea() } },
          { id: 'land', type: 'fill', source: 'countries',
            paint: { 'fill-color': LAND, 'fill-antialias': false } },
          { id: 'borders', type: 'line', source: 'countries',
            paint: { 'line-color': BORDER, 'line-width': 0.8, 'line-opacity': 0.9 } },
          { id: 'coverage-fill', type: 'fill', source: 'coverage', paint: {
            'fill-color': ['case', ['get', 'c5'], COVERAGE_5.fill, COVERAGE_1.fill],
            'fill-opacity': ['case', ['get', 'c5'], COVERAGE_5.fillOpacity, COVERAGE_1.fillOpacity],
          } },
          { id: 'coverage-line-1', type: 'line', source: 'coverage', filter: ['!', ['get', 'c5']],
            paint: { 'line-color': COVERAGE_1.line, 'line-width': COVERAGE_1.width,
              'line-opacity': COVERAGE_1.opacity, 'line-dasharray': [3, 2.3] } },
          { id: 'coverage-line-5', type: 'line', source: 'coverage', filter: ['get', 'c5'],
            paint: { 'line-color': COVERAGE_5.line, 'line-width': COVERAGE_5.width,
              'line-opacity': COVERAGE_5.opacity } },
          { id: 'samples', type: 'circle', source: 'samples', paint: {
            'circle-radius': 4.5, 'circle-color': ['get', 'colour'], 'circle-opacity': 0.95,
            'circle-stroke-color': '#ffffff', 'circle-stroke-width': 1.2,
          } },
        ],
      },
      center: [v.lng, v.lat],
      zoom: globeZoom(v.zoom, v.lat),
      minZoom: 0,
      maxZoom: FLAT_MAX_ZOOM - 1,
      attributionControl: false,
      locale: locale(),
      fadeDuration: 0,
    });
    m.addControl(new maplibregl.NavigationControl({ visualizePitch: false }), 'top-left');
    m.addControl(new maplibregl.ScaleControl({ unit: 'metric', maxWidth: 150 }), 'bottom-left');
    m.addControl(new maplibregl.AttributionControl({ compact: false,
      customAttribution: '<a href="https://maplibre.org" title="MapLibre GL JS" translate="no">' +
        'MapLibre</a>' }),
    'bottom-left');
    m.on('style.load', () => m.setProjection({ type: 'globe' }));
    m.on('moveend', () => { if (!syncing) leadFlat(); });
    m.on('click', onClick);
    m.on('mousemove', (e) => {
      const over = m.getLayer('samples') &&
        m.queryRenderedFeatures(e.point, { layers: ['samples'] }).length;
      m.getCanvas().style.cursor = over ? 'pointer' : '';
    });
    m.on('error', onError);
    globe = m;
    window.chemearthGlobe = m;
    return new Promise((resolve) => {
      m.once('load', () => {
        loadBoundaries();
        resolve();
      });
    });
  }

  async function loadBoundaries() {
    try {
      const gj = await fetchJSON('/api/boundaries.geojson');
      globe.getSource('countries').setData(gj);
    } catch (e) {
      api.setStatus('globe-boundaries', t('map.status.boundaries_error', { error: errorText(e) }));
    }
  }

  function escapeHtml(s) {
    return String(s).replace(/[&<>"']/g, (c) => ({
      '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
    }[c]));
  }

  // ------------------------------------------------------------------ the shared view

  /** The zoom at which the globe, centred at latitude `lat`, fills GLOBE_FILL of the globe
   * area's smaller side (MapLibre's globe: a radius of 512 · 2^z / (2π cos lat) pixels, so
   * that the centre has the flat map's scale). */
  function fillZoom(lat) {
    const size = globeEl.clientWidth && globeEl.clientHeight
      ? Math.min(globeEl.clientWidth, globeEl.clientHeight)
      : Math.min(flat.getSize().x, flat.getSize().y);
    const cos = Math.cos(Math.min(80, Math.abs(Number(lat) || 0)) * Math.PI / 180);
    return Math.log2(Math.max(64, size) * GLOBE_FILL * Math.PI * cos / 512);
  }

  /** The globe's zoom for a flat-map zoom `z` at latitude `lat`: one less (MapLibre's
   * 512-pixel tiles against Leaflet's 256) from PLAIN_ZOOM on, and the whole globe in view
   * at the world view, with a smooth, increasing passage between. */
  function globeZoom(z, lat) {
    const lift = fillZoom(lat) - (WORLD_ZOOM - 1);
    const k = Math.min(1, Math.max(0, (PLAIN_ZOOM - z) / (PLAIN_ZOOM - WORLD_ZOOM)));
    return Math.max(0, z - 1 + lift * k);
  }

  /** The flat-map zoom (whole) whose globe zoom at latitude `lat` is nearest `g`. */
  function flatZoom(g, lat) {
    let best = FLAT_MIN_ZOOM;
    for (let z = FLAT_MIN_ZOOM; z <= FLAT_MAX_ZOOM; z++) {
      if (Math.abs(globeZoom(z, lat) - g) < Math.abs(globeZoom(best, lat) - g)) best = z;
    }
    return best;
  }

  function flatView() {
    const c = flat.getCenter().wrap();
    return { lat: c.lat, lng: c.lng, zoom: flat.getZoom() };
  }

  /** The globe takes the flat map's view (a layer fitted, a link followed). */
  function followFlat() {
    if (!globe) return;
    const v = flatView();
    syncing = true;
    try {
      globe.jumpTo({ center: [v.lng, v.lat], zoom: globeZoom(v.zoom, v.lat) });
    } finally {
      syncing = false;
    }
    synced = globeState();
  }

  /** The globe's view, to tell a move of the user's from a resize's. */
  function globeState() {
    const c = globe.getCenter();
    return { lng: c.lng, lat: c.lat, zoom: globe.getZoom() };
  }

  let synced = null;

  /** The flat map (which writes the URL) takes the globe's view. */
  function leadFlat() {
    if (!globe || view !== 'globe') return;
    const now = globeState();
    if (synced && Math.abs(now.lng - synced.lng) < 1e-9 && Math.abs(now.lat - synced.lat) < 1e-9 &&
        Math.abs(now.zoom - synced.zoom) < 1e-9) return;  // not moved (a resize, say)
    synced = now;
    const c = globe.getCenter().wrap();
    const lat = Math.max(-85, Math.min(85, c.lat));
    syncing = true;
    try {
      flat.setView([lat, c.lng], flatZoom(globe.getZoom(), lat), { animate: false });
    } finally {
      syncing = false;
    }
  }

  flat.on('moveend', () => {
    if (!syncing && view === 'globe') followFlat();
  });

  // ------------------------------------------------------------------ the layer

  /** Show a selection's layer: its TileJSON's tiles between the land and the borders. */
  async function showLayer(s) {
    if (!globe || !s || !s.dataset) return;
    const key = api.layerKey(s);
    if (key === shownKey) return;
    const token = ++layerToken;
    shownKey = key;
    globeEl.dataset.layer = key;
    globeEl.dataset.tiles = 'loading';
    if (popup) { popup.remove(); popup = null; }
    let tj;
    try {
      tj = await fetchJSON(api.layerBase(s) + '/tilejson.json?' +
        api.layerQuery(s, true).toString());
    } catch (e) {
      if (token !== layerToken) return;
      removeLayer();
      done(key);  // app.js reports the error of the layer
      return;
    }
    if (token !== layerToken) return;
    removeLayer();
    // absolute, as the tiles are fetched by MapLibre (not through URL(): it would encode {z})
    const tiles = (Array.isArray(tj.tiles) ? tj.tiles : []).map((u) => String(u))
      .map((u) => (u.startsWith('/') && !u.startsWith('//') ? window.location.origin + u : u));
    if (!tiles.length) {
      done(key);
      return;
    }
    const src = { type: 'raster', tiles, tileSize: 256, scheme: 'xyz',
      minzoom: Number.isFinite(tj.minzoom) ? tj.minzoom : 0,
      maxzoom: Number.isFinite(tj.maxzoom) ? tj.maxzoom : 14 };
    const b = tj.bounds;
    if (Array.isArray(b) && b.length === 4 && b.every(Number.isFinite) && b[0] < b[2] &&
        b[1] < b[3]) {
      src.bounds = [Math.max(-180, b[0]), Math.max(-90, b[1]), Math.min(180, b[2]),
        Math.min(90, b[3])];
    }
    // the citation is data (as on the flat map): translate="no"
    if (tj.attribution) {
      src.attribution = '<span translate="no">' + escapeHtml(tj.attribution) + '</span>';
    }
    if (turnToData && src.bounds && src.bounds[2] - src.bounds[0] < 300) {
      // a link without a view: the globe turns to the layer's data (the flat map follows)
      const [w, so, e, n] = src.bounds;
      const lat = Math.max(-60, Math.min(60, (so + n) / 2));
      globe.jumpTo({ center: [(w + e) / 2, lat], zoom: globeZoom(flat.getZoom(), lat) });
    }
    turnToData = false;
    tileErrors = 0;
    globe.addSource(SOURCE, src);
    globe.addLayer({ id: SOURCE, type: 'raster', source: SOURCE, paint: {
      'raster-opacity': LAYER_OPACITY, 'raster-resampling': 'nearest', 'raster-fade-duration': 0,
    } }, 'borders');
    whenLoaded(token, key);
  }

  function removeLayer() {
    if (globe.getLayer(SOURCE)) globe.removeLayer(SOURCE);
    if (globe.getSource(SOURCE)) globe.removeSource(SOURCE);
  }

  /** Mark the layer loaded once the globe is idle with every tile of it in. */
  function whenLoaded(token, key) {
    globe.once('idle', () => {
      if (token !== layerToken) return;
      if (globe.getSource(SOURCE) && !globe.isSourceLoaded(SOURCE)) {
        whenLoaded(token, key);
        return;
      }
      if (tileErrors > 0) api.setStatus('globe-tiles', t('map.status.tiles_error'));
      else api.setStatus('globe-tiles', null);
      done(key);
    });
    globe.triggerRepaint();
  }

  function done(key) {
    globeEl.dataset.loaded = key;
    globeEl.dataset.tiles = 'loaded';
  }

  let tileErrors = 0;

  function onError(e) {
    if (e && e.sourceId === SOURCE) tileErrors += 1;  // reported once the layer is in
    else console.error(e && e.error ? e.error : e);    // MapLibre's own way without a listener
  }

  mapEl.addEventListener('chemearth:layer', (e) => {
    if (globe && view === 'globe') showLayer(e.detail);
  });

  // ------------------------------------------------------------------ popups

  async function onClick(e) {
    const s = api.selection();
    if (!s.dataset) return;
    const token = ++clickToken;
    if (popup) { popup.remove(); popup = null; }
    const tr = globe.transform;  // a click into space is no click on the layer
    if (tr && typeof tr.isPointOnMapSurface === 'function' &&
        !tr.isPointOnMapSurface(e.point)) return;
    const hit = globe.queryRenderedFeatures(e.point, { layers: ['samples'] })[0];
    const f = hit ? sampleFeatures[Number(hit.properties.i)] : null;
    if (f) {
      const [lon, lat] = f.geometry.coordinates;
      popup = new maplibregl.Popup({ className: 'sample-popup-wrap', maxWidth: '340px',
        focusAfterOpen: false }).setLngLat([lon, lat]).setDOMContent(api.sampleContent(f, s))
        .addTo(globe);
      fitPopup(popup);
      return;
    }
    const ll = e.lngLat.wrap();
    const pop = new maplibregl.Popup({ className: 'cell-popup-wrap',
      maxWidth: String(s.dataset.startsWith('pooled:') ? 400 : 340) + 'px', focusAfterOpen: false })
      .setLngLat(ll)
      .setDOMContent(h('div', { className: 'cell-popup cell-popup-loading' },
        t('map.popup.loading')))
      .addTo(globe);
    popup = pop;
    const q = api.layerQuery(s, false);
    q.set('lon', ll.lng.toFixed(6));
    q.set('lat', ll.lat.toFixed(6));
    let content;
    try {
      const cell = await fetchJSON(api.layerBase(s) + '/cell?' + q.toString());
      content = api.cellContent(cell, s);
    } catch (err) {
      content = err && err.status === 404
        ? h('div', { className: 'cell-popup cell-popup-empty' },
          h('p', { className: 'cell-none' }, t('map.popup.none')),
          h('p', { className: 'cell-none-hint' }, t('map.popup.none_hint')))
        : h('div', { className: 'cell-popup cell-popup-error' },
          t('map.popup.error', { error: errorText(err) }));
    }
    if (token !== clickToken || !pop.isOpen()) return;
    pop.setDOMContent(content);
    fitPopup(pop);
  }

  /** Pan the globe so that an open popup is in view (as Leaflet's autoPan does). */
  function fitPopup(pop) {
    requestAnimationFrame(() => {
      const el = pop.isOpen() ? pop.getElement() : null;
      if (!el || view !== 'globe') return;
      const r = el.getBoundingClientRect();
      const c = globeEl.getBoundingClientRect();
      const pad = 12;
      let dx = 0, dy = 0;
      if (r.bottom > c.bottom - pad) dy = r.bottom - (c.bottom - pad);
      if (r.top - dy < c.top + pad) dy = r.top - (c.top + pad);
      if (r.right > c.right - pad) dx = r.right - (c.right - pad);
      if (r.left - dx < c.left + pad) dx = r.left - (c.left + pad);
      if (Math.abs(dx) >= 1 || Math.abs(dy) >= 1) globe.panBy([dx, dy], { duration: 250 });
    });
  }

  // ------------------------------------------------------------------ overlays of the flat map

  /** The coverage cells and sample points the flat map draws, drawn on the globe too; the
   * assessment overlays are not (a note says so). */
  function refreshOverlays() {
    if (view !== 'globe') return;
    api.setStatus('globe-assess', mapEl.dataset.assess && mapEl.dataset.assess !== 'error'
      ? t('globe.note.assess') : null, 'info');
    if (!globe || !globe.getSource('samples')) return;
    const cells = [];
    const points = [];
    sampleFeatures = [];
    flat.eachLayer((l) => {
      if (l.options && l.options.pane === 'coverage' && typeof l.toGeoJSON === 'function' &&
          typeof l.getLayers === 'function') {
        for (const f of l.toGeoJSON().features || []) {
          const p = f.properties || {};
          cells.push({ type: 'Feature', geometry: f.geometry,
            properties: { c5: p.covered_5 === true || Number(p.n_samples) >= 5 } });
        }
      } else if (l instanceof L.CircleMarker && l.feature &&
          l.options.className === 'sample-point') {
        const ll = l.getLatLng();
        points.push({ type: 'Feature', geometry: { type: 'Point', coordinates: [ll.lng, ll.lat] },
          properties: { i: sampleFeatures.length,
            colour: String(l.options.fillColor || '#9e9e9e') } });
        sampleFeatures.push(l.feature);
      }
    });
    globe.getSource('coverage').setData({ type: 'FeatureCollection', features: cells });
    globe.getSource('samples').setData({ type: 'FeatureCollection', features: points });
    globeEl.dataset.coverageCells = String(cells.length);
    globeEl.dataset.samples = String(points.length);
  }

  let overlayQueued = false;
  function queueOverlays() {
    if (overlayQueued) return;
    overlayQueued = true;
    requestAnimationFrame(() => {
      overlayQueued = false;
      refreshOverlays();
    });
  }

  const watch = new MutationObserver(queueOverlays);
  watch.observe(mapEl, { attributes: true,
    attributeFilter: ['data-samples', 'data-coverage', 'data-coverage-cells', 'data-assess'] });
  const legendEl = document.getElementById('legend');  // samples are recoloured with the legend
  if (legendEl) watch.observe(legendEl, { attributes: true, attributeFilter: ['data-state'] });

  // ------------------------------------------------------------------ start

  window.addEventListener('hashchange', (e) => {
    // app.js has already rewritten the hash with the old view: read the link's own
    const u = new URL(e.newURL || window.location.href);
    const v = viewIn(u.search, u.hash);
    if (v !== view) {
      setView(v, false);
      writeView();
    }
  });

  view = 'map';
  renderSwitch();
  const wanted = viewIn(window.location.search, window.location.hash);
  const linked = ['lat', 'lon'].every((k) => new URLSearchParams(window.location.search).has(k) ||
    new URLSearchParams(window.location.hash.replace(/^#/, '')).has(k));
  turnToData = wanted === 'globe' && !linked;
  if (wanted === 'globe') setView('globe', false);
})();
