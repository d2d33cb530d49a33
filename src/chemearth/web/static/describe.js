/* chemearth upload page: the descriptor helper.

   A survey file chosen or dropped is sent to POST /api/describe, which answers a proposed
   descriptor (TOML), its key fields, the decisions left to the owner and the problems the
   check finds. The fields fill a form; the owner's edits (only the fields changed) go to
   POST /api/check with the file and the TOML, and the server writes them into the TOML
   (comments kept) and checks it again. The TOML can also be edited directly. The upload
   (the page's own script) sends the file with the TOML shown here: window.ceDescribe.

   Requests run one after another (a promise chain), so a late answer never overwrites a
   newer descriptor. No library: the TOML is written on the server. */
(function () {
  'use strict';

  const $ = (id) => document.getElementById(id);
  const T = JSON.parse($('describe-i18n').textContent);
  const fileInput = $('upload-file');
  const descInput = $('upload-descriptor');
  const panel = $('describe-panel');
  const toml = $('describe-toml');
  const fieldset = $('describe-fields');
  const state = {
    chain: Promise.resolve(),
    source: '',          // 'proposal' or 'file': where the TOML came from
    descName: '',        // the descriptor's file name for the upload
    decided: new Set(),  // items of the TOML's TO DECIDE list marked decided
    dirty: new Set(),    // form fields changed since the last answer
    columns: new Map(),  // column -> {element, unit} changed since the last answer
  };

  function run(task) {
    state.chain = state.chain.then(task, task);
    return state.chain;
  }

  function status(text, kind) {
    const p = $('describe-status');
    p.textContent = text;
    p.className = kind || '';
  }

  function problemItem(p) {
    const li = document.createElement('li');
    li.className = `problem problem-${p.severity}`;
    const sev = document.createElement('span');
    sev.className = 'severity';
    sev.textContent = T[`severity.${p.severity}`] || p.severity;
    const where = document.createElement('code');
    where.textContent = p.where;
    li.append(sev, ' ', where, ' ', p.message);
    return li;
  }

  function decisionItem(item) {
    const li = problemItem({severity: 'decision', where: '', message: item});
    const done = document.createElement('button');
    done.type = 'button';
    done.className = 'decided';
    done.textContent = T.decided;
    done.addEventListener('click', () => {
      state.decided.add(item);
      run(check);
    });
    li.append(' ', done);
    return li;
  }

  function showProblems(body) {
    // what the proposal left to decide: the TOML's "# TO DECIDE" list, each item until the
    // owner marks it decided (the check reports them too, under "TO DECIDE": shown here)
    const open = (body.fields && body.fields.to_decide) || [];
    $('describe-decisions').replaceChildren(...open.map(decisionItem));
    $('describe-decisions-box').hidden = open.length === 0;
    const ul = $('describe-problems');
    const items = (body.problems || []).filter((p) => p.where !== 'TO DECIDE').map(problemItem);
    if (!items.length) {
      const li = document.createElement('li');
      li.className = 'problem problem-none';
      li.textContent = T.no_problems;
      items.push(li);
    }
    ul.replaceChildren(...items);
    const rows = `${body.file}: ${body.n_rows} ${T.rows}. `;
    status(rows + (body.ok ? T.ok : T.not_ok), body.ok ? 'ok' : 'not-ok');
    panel.dataset.ok = body.ok ? 'true' : 'false';
  }

  function columnRow(c, defaultUnit) {
    const tr = document.createElement('tr');
    tr.dataset.column = c.column;
    const name = document.createElement('td');
    name.textContent = c.column;
    tr.appendChild(name);
    for (const key of ['element', 'unit']) {
      const td = document.createElement('td');
      const input = document.createElement('input');
      input.type = 'text';
      input.value = c[key];
      input.dataset.key = key;
      input.setAttribute('aria-label', `${c.column} ${key}`);
      if (key === 'unit') input.placeholder = defaultUnit || '';
      input.addEventListener('input', () => {
        const row = {};
        for (const i of tr.querySelectorAll('input')) row[i.dataset.key] = i.value;
        state.columns.set(c.column, row);
      });
      td.appendChild(input);
      tr.appendChild(td);
    }
    const method = document.createElement('td');
    method.textContent = c.method;
    tr.appendChild(method);
    return tr;
  }

  function fill(fields) {
    state.dirty.clear();
    state.columns.clear();
    state.decided.clear();
    fieldset.disabled = !fields;
    if (!fields) {
      status(T.no_form, 'not-ok');
      return;
    }
    for (const el of fieldset.querySelectorAll('[data-field]')) {
      const key = el.dataset.field;
      let value = fields[key];
      if (key === 'countries') value = (value || []).join(', ');
      value = value == null ? '' : String(value);
      if (el.tagName === 'SELECT' && ![...el.options].some((o) => o.value === value)) {
        el.add(new Option(value || '—', value));
      }
      el.value = value;
    }
    $('field-crs-label').hidden = fields.crs === null;
    $('field-xy').textContent = fields.x ? `${fields.x} / ${fields.y}` : '';
    $('describe-columns').querySelector('tbody').replaceChildren(
      ...fields.columns.map((c) => columnRow(c, fields.default_unit)));
  }

  function edits() {
    const out = {};
    for (const key of state.dirty) out[key] = fieldset.querySelector(`[data-field="${key}"]`).value;
    if (state.columns.size) {
      out.columns = [...state.columns].map(([column, v]) => ({column, ...v}));
    }
    if (state.decided.size) out.decided = [...state.decided];
    return out;
  }

  async function post(url, form, busy, failed) {
    status(busy, 'busy');
    panel.hidden = false;
    let resp;
    try {
      resp = await fetch(url, {method: 'POST', body: form, credentials: 'same-origin'});
    } catch (err) {
      status(`${failed} ${err}`, 'error');
      return null;
    }
    const body = await resp.json().catch(() => ({detail: resp.statusText}));
    if (!resp.ok) {
      const detail = typeof body.detail === 'string' ? body.detail : JSON.stringify(body.detail);
      status(`${failed} ${detail}`, 'error');
      return null;
    }
    return body;
  }

  function show(body) {
    toml.value = body.descriptor;
    showProblems(body);
    fill(body.fields);
    panel.dataset.answers = String(Number(panel.dataset.answers || 0) + 1);  // answers shown
  }

  async function describe() {
    const file = fileInput.files[0];
    if (!file) return null;
    const form = new FormData();
    form.append('file', file);
    const body = await post('/api/describe', form, T.proposing, T.failed);
    if (body) {
      state.source = 'proposal';
      state.descName = `${(body.fields && body.fields.id) || 'descriptor'}.toml`;
      show(body);
    }
    return body;
  }

  async function check() {
    const file = fileInput.files[0];
    if (!toml.value.trim()) return null;
    if (!file) {
      panel.hidden = false;
      status(T.no_file, 'not-ok');
      return null;
    }
    const form = new FormData();
    form.append('file', file);
    form.append('descriptor', new Blob([toml.value], {type: 'application/toml'}),
                state.descName || 'descriptor.toml');
    const changes = edits();
    if (Object.keys(changes).length) form.append('fields', JSON.stringify(changes));
    const body = await post('/api/check', form, T.checking, T.check_failed);
    if (body) show(body);
    return body;
  }

  async function loadDescriptor() {
    const file = descInput.files[0];
    if (!file) return;
    toml.value = await file.text();
    state.source = 'file';
    state.descName = file.name;
    state.dirty.clear();
    state.columns.clear();
    state.decided.clear();
    panel.hidden = false;
    await check();
  }

  fileInput.addEventListener('change', () => run(() => (state.source === 'file' ? check() : describe())));
  descInput.addEventListener('change', () => run(loadDescriptor));
  $('describe-check').addEventListener('click', () => run(check));
  for (const el of fieldset.querySelectorAll('[data-field]')) {
    const mark = () => state.dirty.add(el.dataset.field);
    el.addEventListener('input', mark);
    el.addEventListener('change', mark);
  }

  // drop a survey file (and a .toml descriptor) on the zone, or anywhere on the form
  const zone = $('upload-drop');
  const form = $('upload-form');
  function put(input, file) {
    const dt = new DataTransfer();
    dt.items.add(file);
    input.files = dt.files;
    input.dispatchEvent(new Event('change', {bubbles: true}));
  }
  form.addEventListener('dragover', (ev) => {
    ev.preventDefault();
    zone.classList.add('dragging');
  });
  form.addEventListener('dragleave', () => zone.classList.remove('dragging'));
  form.addEventListener('drop', (ev) => {
    ev.preventDefault();
    zone.classList.remove('dragging');
    const files = [...(ev.dataTransfer ? ev.dataTransfer.files : [])];
    const desc = files.find((f) => /\.toml$/i.test(f.name));
    const survey = files.find((f) => f !== desc);
    if (desc) put(descInput, desc);
    if (survey) put(fileInput, survey);
  });
  zone.addEventListener('click', () => fileInput.click());
  zone.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' || ev.key === ' ') {
      ev.preventDefault();
      fileInput.click();
    }
  });

  window.ceDescribe = {
    /** The upload's body: the file and the descriptor shown here, the form's edits
        written into it first; {error} when there is nothing to upload. */
    async uploadBody() {
      await state.chain;
      if (state.dirty.size || state.columns.size || state.decided.size) {
        const checked = await run(check);
        if (!checked) return {error: $('describe-status').textContent};
      }
      const body = new FormData();
      const file = fileInput.files[0];
      if (!file) return {error: T.no_descriptor};
      body.append('file', file);
      if (toml.value.trim()) {
        body.append('descriptor', new Blob([toml.value], {type: 'application/toml'}),
                    state.descName || 'descriptor.toml');
      } else if (descInput.files[0]) {
        body.append('descriptor', descInput.files[0]);
      } else {
        return {error: T.no_descriptor};
      }
      if ($('upload-strict').checked) body.append('strict', 'true');
      return {body};
    },
  };
}());
