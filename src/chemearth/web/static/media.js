/* chemearth: photos and videos of sampling sites (docs/media.md), plain modern JavaScript.
 *
 *   GET  /api/datasets/{ds}/media?sample={id}   the items of one sample (popups)
 *   POST /api/datasets/{ds}/media               multipart files (+ manifest): attach
 *
 * - Sample popups (app.js, globe.js): every element .sample-popup[data-dataset][data-sample-id]
 *   that appears in the page gets the sample's thumbnails, if it has any (a strip under the
 *   values); nothing is shown to whoever may not see the dataset's samples (they get no
 *   sample popups anyway).
 * - A click on a thumbnail (a.media-open, in a popup or the dataset page's gallery) opens the
 *   photo, or a <video> player with the poster frame, over the page (Escape closes it).
 * - The dataset page's form #media-upload sends the files and shows what the server said.
 *
 * Strings: #media-i18n (the dataset page) or #i18n (the map page), keys media.*.
 * Hooks for tests: .sample-popup[data-media] = "loading", "none", "error" or the number of
 * items shown; #media-upload[data-state] = "busy", "done" or "error".
 */
(function () {
  'use strict';

  const STRINGS = (function () {
    for (const id of ['media-i18n', 'i18n']) {
      const el = document.getElementById(id);
      if (!el) continue;
      try {
        const s = JSON.parse(el.textContent || '{}');
        if (s && typeof s === 'object') return s;
      } catch (e) { /* next */ }
    }
    return {};
  })();

  function t(key, vars) {
    let s = Object.prototype.hasOwnProperty.call(STRINGS, key) ? String(STRINGS[key]) : key;
    if (vars) {
      s = s.replace(/\{(\w+)\}/g, (m, name) =>
        Object.prototype.hasOwnProperty.call(vars, name) ? String(vars[name]) : m);
    }
    return s;
  }

  function h(tag, props, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v === undefined || v === null) continue;
      if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k in el) el[k] = v;
      else el.setAttribute(k, v);
    }
    for (const c of children) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }

  function errorText(e) {
    return e && e.message ? e.message : String(e);
  }

  async function fetchJSON(url, init) {
    const r = await fetch(url, Object.assign({ credentials: 'same-origin',
      headers: { Accept: 'application/json' } }, init || {}));
    let body = null;
    try { body = await r.json(); } catch (e) { body = null; }
    if (!r.ok) {
      const err = new Error(body && body.detail ? String(body.detail) : 'HTTP ' + r.status);
      err.status = r.status;
      throw err;
    }
    return body;
  }

  function mediaUrl(ds, query) {
    return '/api/datasets/' + encodeURIComponent(ds) + '/media' + (query || '');
  }

  /** One thumbnail linking to its item (opened by the viewer). */
  function thumb(m) {
    const what = t(m.kind === 'video' ? 'media.video' : 'media.photo');
    const caption = what + ' · ' + t('media.sample', { id: m.sample_id }) + ' · ' + m.file_name;
    return h('a', { className: 'media-open', href: m.url, title: t('media.open', { name: m.file_name }),
      dataset: { kind: m.kind, poster: m.poster_url || '', mediaId: m.media_id, caption } },
    h('img', { src: m.thumbnail_url, alt: what + ' · ' + t('media.sample', { id: m.sample_id }),
      loading: 'lazy' }),
    m.kind === 'video' ? h('span', { className: 'media-play', 'aria-hidden': 'true' }, '▶') : null);
  }

  // ---------------------------------------------------------------- the viewer

  let viewer = null;

  function closeViewer() {
    if (!viewer) return;
    const v = viewer.querySelector('video');
    if (v) v.pause();
    viewer.remove();
    viewer = null;
  }

  function openViewer(a) {
    closeViewer();
    const kind = a.dataset.kind;
    const src = a.getAttribute('href');
    const body = kind === 'video'
      ? h('video', { src, controls: true, preload: 'metadata',
        poster: a.dataset.poster || undefined, className: 'media-viewer-video' })
      : h('img', { src, alt: a.dataset.caption || a.title || '', className: 'media-viewer-image' });
    const close = h('button', { type: 'button', className: 'media-viewer-close' }, t('media.close'));
    viewer = h('div', { className: 'media-viewer', role: 'dialog', 'aria-modal': 'true',
      'aria-label': a.dataset.caption || a.title || '' }, close, body,
    h('div', { className: 'media-viewer-caption' }, a.dataset.caption || a.title || ''));
    close.addEventListener('click', closeViewer);
    viewer.addEventListener('click', (e) => { if (e.target === viewer) closeViewer(); });
    document.body.append(viewer);
    close.focus();
  }

  document.addEventListener('click', (e) => {
    const a = e.target && e.target.closest ? e.target.closest('a.media-open') : null;
    if (!a || e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
    e.preventDefault();
    openViewer(a);
  });
  document.addEventListener('keydown', (e) => { if (e.key === 'Escape') closeViewer(); });

  // ---------------------------------------------------------------- sample popups

  const cache = new Map();  // "dataset\u0000sample" -> Promise of the items

  function itemsOf(ds, sample) {
    const key = ds + '\u0000' + sample;
    if (!cache.has(key)) {
      const p = fetchJSON(mediaUrl(ds, '?sample=' + encodeURIComponent(sample)))
        .then((body) => (body && Array.isArray(body.media) ? body.media : []));
      p.catch(() => cache.delete(key));  // a failure is asked again next time
      cache.set(key, p);
    }
    return cache.get(key);
  }

  async function decorate(pop) {
    const ds = pop.dataset.dataset;
    const sample = pop.dataset.sampleId;
    if (!ds || sample === undefined || pop.dataset.media || ds.startsWith('pooled:')) return;
    pop.dataset.media = 'loading';
    let items;
    try {
      items = await itemsOf(ds, sample);
    } catch (e) {
      if (e.status === 403 || e.status === 404) {
        pop.dataset.media = 'none';
        return;
      }
      pop.append(h('div', { className: 'media-strip media-strip-error' },
        t('media.popup.error', { error: errorText(e) })));
      pop.dataset.media = 'error';
      return;
    }
    if (!items.length) {
      pop.dataset.media = 'none';
      return;
    }
    pop.append(h('div', { className: 'media-strip' },
      h('div', { className: 'media-strip-title' }, t('media.popup.title')),
      h('ul', null, ...items.map((m) => h('li', { dataset: { mediaId: m.media_id } }, thumb(m))))));
    pop.dataset.media = String(items.length);
    // (no popup.update(): a Leaflet popup bound to a function would build its content anew,
    // and this script would decorate it again, for ever; the popup grows upwards as it is)
  }

  function scan(root) {
    if (!root || root.nodeType !== 1) return;
    if (root.matches('.sample-popup[data-dataset]')) decorate(root);
    for (const el of root.querySelectorAll('.sample-popup[data-dataset]')) decorate(el);
  }

  new MutationObserver((records) => {
    for (const r of records) for (const n of r.addedNodes) scan(n);
  }).observe(document.body, { childList: true, subtree: true });
  scan(document.body);

  // ---------------------------------------------------------------- the upload form

  const form = document.getElementById('media-upload');
  if (form) {
    const out = document.getElementById('media-result');
    const submit = document.getElementById('media-submit');
    const files = document.getElementById('media-files');
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      if (!files.files.length) {
        out.textContent = t('media.upload.choose');
        return;
      }
      form.dataset.state = 'busy';
      submit.disabled = true;
      out.classList.remove('error');
      out.textContent = t('media.upload.busy');
      try {
        const body = await fetchJSON(form.getAttribute('action'),
          { method: 'POST', body: new FormData(form) });
        const items = body.attached || [];
        const again = items.filter((m) => m.new === false).length;
        const lines = [t('media.upload.done', { n: items.length })];
        if (again) lines.push(t('media.upload.unchanged', { n: again }));
        for (const w of body.warnings || []) lines.push('⚠ ' + w);
        out.textContent = lines.join('\n');
        addToGallery(items.filter((m) => m.new !== false));
        form.reset();
        form.dataset.state = 'done';
      } catch (err) {
        out.classList.add('error');
        out.textContent = t('media.upload.failed', { error: errorText(err) });
        form.dataset.state = 'error';
      } finally {
        submit.disabled = false;
      }
    });
  }

  function addToGallery(items) {
    const list = document.getElementById('media-gallery');
    if (!list || !items.length) return;
    for (const m of items) {
      const caption = [t('media.sample', { id: m.sample_id })];
      if (m.distance_m !== null && m.distance_m !== undefined) {
        caption.push(t('media.distance', { m: Math.round(m.distance_m).toLocaleString() }));
      }
      list.append(h('li', { className: 'media-item media-' + m.kind,
        dataset: { mediaId: m.media_id, sampleId: m.sample_id } },
      thumb(m), h('span', { className: 'media-caption' }, caption.join(' · ')),
      m.warning ? h('span', { className: 'media-warning' }, '⚠ ' + t('media.warning')) : null));
    }
    const count = document.getElementById('media-count');
    if (count) count.textContent = String(list.children.length);
    const none = document.getElementById('media-none');
    if (none) none.hidden = true;
  }
})();
