// New task (#/new?module=REF&from=TASKID): pick a module, fill the form its
// contract generates (lib/form.js), submit. The page knows no module.
// "Run again" (from=TASKID) pre-fills the module, the inputs, the values and
// the priority of an earlier task.
import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, allows, ApiError } from '../lib/api.js';
import { ErrorBox, Loading, ShortId, Title, useAsync } from '../lib/ui.js';
import { href, navigate } from '../lib/router.js';
import {
  AssetPicker, FieldMessages, ValueField, checkField, fieldId, fieldOfPointer, fieldValue,
  initialField, isOptional, normalizeInput,
} from '../lib/form.js';

const MODULE_PAGE = 100;

/// The registry as a select, fetched a page at a time ("Load more modules").
function ModuleSelect({ value, onChange }) {
  const [mods, setMods] = useState([]);
  const [cursor, setCursor] = useState(undefined);
  const [next, setNext] = useState(null);
  const [error, setError] = useState(null);
  const [loading, setLoading] = useState(true);
  useEffect(() => {
    let live = true;
    setLoading(true);
    api('/api/modules', { query: { limit: MODULE_PAGE, cursor } }).then(
      (p) => { if (!live) return; setMods((m) => [...m, ...(p.items || [])]); setNext(p.next_cursor || null); setLoading(false); },
      (e) => { if (!live) return; setError(e); setLoading(false); });
    return () => { live = false; };
  }, [cursor]);
  const known = mods.some((m) => m.ref === value);
  return html`<div class="nt-module">
    <label for="nt-module">Module</label>
    <div class="nt-module-row">
      <select id="nt-module" value=${value || ''} onChange=${(e) => onChange(e.target.value)}>
        <option value="">${loading && !mods.length ? 'Loading modules…' : '(choose a module)'}</option>
        ${value && !known && html`<option value=${value}>${value}</option>`}
        ${mods.map((m) => html`<option value=${m.ref}>${m.ref}${m.description ? ' — ' + shorten(m.description, 70) : ''}</option>`)}
      </select>
      ${next && html`<button type="button" class="secondary" disabled=${loading} onClick=${() => setCursor(next)}>Load more modules</button>`}
      ${value && html`<a href=${href('modules', value)}>Contract of ${value}</a>`}
    </div>
    <${ErrorBox} error=${error} />
  </div>`;
}

function shorten(s, n) { return s.length > n ? s.slice(0, n - 1) + '…' : s; }

/// The JSON Schema of each `json` VALUE input: inline ones at once, a
/// registered one (`name@N`) fetched; a shipped one is left to the node.
function useSchemas(inputs) {
  const [schemas, setSchemas] = useState({});
  useEffect(() => {
    let live = true;
    const now = {};
    for (const inp of inputs) {
      if (inp.kind !== 'VALUE' || inp.dtype !== 'json' || inp.c.schema === undefined) continue;
      const s = inp.c.schema;
      if (typeof s !== 'string') { now[inp.key] = { schema: s, note: 'checked against its inline schema' }; continue; }
      now[inp.key] = { schema: null, note: `schema ${s} is checked by the node on submit` };
      if (s.includes('@'))
        api('/api/schemas/' + encodeURIComponent(s)).then(
          (doc) => live && setSchemas((o) => ({ ...o, [inp.key]: { schema: doc, note: `checked against ${s} (basics here, all by the node)` } })),
          () => {});
    }
    setSchemas(now);
    return () => { live = false; };
  }, [inputs]);
  return schemas;
}

function TaskForm({ contract, task, canRun }) {
  const ref = contract.name + '@' + contract.version;
  const [inputs] = useState(() => (contract.inputs || []).map(normalizeInput));
  const keys = inputs.map((i) => i.key);
  const [fields, setFields] = useState(() => Object.fromEntries(inputs.map((i) => [i.key, initialField(i, task)])));
  const [touched, setTouched] = useState({});
  const [priority, setPriority] = useState(task && task.priority !== undefined && task.priority !== 0 ? String(task.priority) : '');
  const [idem, setIdem] = useState('');
  const [attempted, setAttempted] = useState(false);
  const [server, setServer] = useState(null); // {byField: {key: [msg]}, other: [problem], count, error}
  const [busy, setBusy] = useState(false);
  const [moreOpen, setMoreOpen] = useState(!!(task && task.priority));
  const summaryRef = useRef(null);
  const schemas = useSchemas(inputs);

  const change = (key) => (f) => {
    setFields((o) => ({ ...o, [key]: f }));
    setTouched((t) => ({ ...t, [key]: true }));
    setServer((s) => (s && s.byField[key] ? { ...s, byField: { ...s.byField, [key]: undefined } } : s));
  };

  const clientMessages = {};
  for (const inp of inputs) clientMessages[inp.key] = checkField(inp, fields[inp.key], schemas[inp.key] && schemas[inp.key].schema);
  const prioText = priority.trim();
  const prioValue = Number(prioText);
  clientMessages.priority = prioText === '' ? []
    : !Number.isInteger(prioValue) ? ['A priority is a whole number.']
    : prioValue < -2147483648 || prioValue > 2147483647 ? ['From -2147483648 to 2147483647.'] : [];
  clientMessages.idempotency_key = [];

  function messagesFor(key) {
    if (server && server.byField[key] && server.byField[key].length) return server.byField[key];
    return attempted || touched[key] ? clientMessages[key] : [];
  }

  function buildRequest() {
    const req = { module_ref: ref, input_mapping: {}, values: {} };
    const blocking = {};
    for (const inp of inputs) {
      const f = fields[inp.key];
      if (inp.kind === 'ASSET' || f.asset) {
        if (f.asset) req.input_mapping[inp.key] = f.asset;
        continue;
      }
      const v = fieldValue(inp, f);
      if (v.invalid) blocking[inp.key] = [v.invalid];
      else if (!v.omit) req.values[inp.key] = v.value;
    }
    if (prioText !== '') {
      if (!Number.isFinite(prioValue)) blocking.priority = ['Enter a number.'];
      else req.priority = prioValue;
    }
    if (idem.trim()) req.idempotency_key = idem.trim();
    return { req, blocking };
  }

  async function submit(e) {
    e.preventDefault();
    if (!canRun || busy) return;
    setAttempted(true);
    const { req, blocking } = buildRequest();
    if (Object.keys(blocking).length) {
      // Only what cannot be sent stops the request here; the node judges the rest.
      setServer({ byField: blocking, other: [], count: Object.keys(blocking).length, local: true });
      setTimeout(() => summaryRef.current && summaryRef.current.focus());
      return;
    }
    setBusy(true);
    setServer(null);
    try {
      const t = await api('/api/tasks', { method: 'POST', body: req });
      navigate(href('tasks', t.task_id));
    } catch (err) {
      const problems = err instanceof ApiError && err.errors.length ? err.errors : [{ code: err.code || 'error', message: err.message, pointer: err.pointer || '' }];
      const byField = {}, other = [];
      for (const p of problems) {
        // A key that names a task made from another request is the key's problem.
        const at = p.code === 'idempotency_conflict' ? { field: 'idempotency_key', rest: '' } : fieldOfPointer(p.pointer, keys);
        if (!at) { other.push(p); continue; }
        (byField[at.field] = byField[at.field] || []).push((at.rest ? `At ${at.rest}: ` : '') + p.message + (p.code ? ` (${p.code})` : ''));
      }
      if (byField.priority || byField.idempotency_key) setMoreOpen(true);
      setServer({ byField, other, count: problems.length, status: err.status });
      setTimeout(() => summaryRef.current && summaryRef.current.focus());
    } finally {
      setBusy(false);
    }
  }

  const labelOf = (k) => (k === 'priority' ? 'Priority' : k === 'idempotency_key' ? 'Idempotency key' : (inputs.find((i) => i.key === k) || {}).label || k);
  function focusField(k) {
    if (k === 'priority' || k === 'idempotency_key') setMoreOpen(true);
    setTimeout(() => {
      const el = document.getElementById(k === 'priority' ? 'nt-priority' : k === 'idempotency_key' ? 'nt-idem' : fieldId(k));
      if (el) el.focus();
    });
  }
  const matched = server ? Object.entries(server.byField).filter(([, m]) => m && m.length) : [];

  const asValue = (key) => () => change(key)({ ...fields[key], asset: null });

  return html`<form class="nt-form" onSubmit=${submit} noValidate aria-labelledby="nt-form-title">
    <h2 id="nt-form-title">Inputs of ${ref}</h2>
    ${contract.description && html`<p class="muted">${contract.description}</p>`}
    ${server && (matched.length || server.other.length) ? html`<div class="error nt-summary" role="alert" tabindex="-1" ref=${summaryRef}>
      <strong>${server.local ? 'The request cannot be sent yet' : `The node refused the task (${server.count} problem${server.count === 1 ? '' : 's'}); nothing was created.`}</strong>
      <ul>
        ${matched.map(([k, msgs]) => html`<li><button type="button" class="link" onClick=${() => focusField(k)}>${labelOf(k)}</button>: ${msgs.join(' ')}</li>`)}
        ${server.other.map((p) => html`<li><code>${p.code}</code> ${p.pointer && html`<code>${p.pointer}</code>`} ${p.message}</li>`)}
      </ul>
    </div>` : null}
    ${!canRun && html`<p class="nt-readonly" id="nt-readonly">Your role cannot create tasks: the form is shown read-only. An operator or admin token can run it.</p>`}
    <fieldset class="nt-inputs" disabled=${!canRun} aria-describedby=${!canRun ? 'nt-readonly' : undefined}>
      <legend class="nt-sr">Inputs</legend>
      ${inputs.length === 0 && html`<p class="muted">This module takes no inputs.</p>`}
      ${inputs.map((inp) => {
        const f = fields[inp.key];
        const msgs = messagesFor(inp.key);
        if (inp.kind === 'ASSET')
          return html`<${AssetPicker} key=${inp.key} inp=${inp} field=${f} onChange=${change(inp.key)} messages=${msgs} disabled=${!canRun} />`;
        if (f.asset)
          return html`<div class="nt-field" key=${inp.key}>
            <div class="nt-label-row"><label for=${fieldId(inp.key)}>${inp.label}</label>${isOptional(inp) && html`<span class="nt-optional">(optional)</span>`}</div>
            <input type="text" id=${fieldId(inp.key)} class="nt-wide" value=${f.asset} spellcheck="false"
                aria-invalid=${msgs.length ? 'true' : undefined}
                aria-describedby=${[msgs.length ? fieldId(inp.key) + '-err' : '', fieldId(inp.key) + '-hint'].filter(Boolean).join(' ')}
                onInput=${(e) => change(inp.key)({ ...f, asset: e.target.value.trim() })} />
            <p id=${fieldId(inp.key) + '-hint'} class="muted nt-hint"><code>${inp.key}</code> · ${inp.dtype} · given as the VALUE asset <${ShortId} id=${f.asset} />
              ${' '}<button type="button" class="link" onClick=${asValue(inp.key)}>Enter a value instead</button></p>
            <${FieldMessages} id=${fieldId(inp.key) + '-err'} messages=${msgs} />
          </div>`;
        const sc = schemas[inp.key];
        return html`<${ValueField} key=${inp.key} inp=${inp} field=${f} onChange=${change(inp.key)} messages=${msgs}
            disabled=${!canRun} schemaNote=${sc && sc.note} />`;
      })}
      <details class="nt-more" open=${moreOpen} onToggle=${(e) => setMoreOpen(e.target.open)}>
        <summary>More: priority and idempotency key</summary>
        <div class="nt-field">
          <div class="nt-label-row"><label for="nt-priority">Priority</label><span class="nt-optional">(optional; higher runs first, default 0)</span></div>
          <input type="number" id="nt-priority" step="1" min="-2147483648" max="2147483647" value=${priority}
              aria-invalid=${messagesFor('priority').length ? 'true' : undefined}
              aria-describedby=${messagesFor('priority').length ? 'nt-priority-err' : undefined}
              onInput=${(e) => { setPriority(e.target.value); setTouched((t) => ({ ...t, priority: true })); setServer((s) => s && { ...s, byField: { ...s.byField, priority: undefined } }); }} />
          <${FieldMessages} id="nt-priority-err" messages=${messagesFor('priority')} />
        </div>
        <div class="nt-field">
          <div class="nt-label-row"><label for="nt-idem">Idempotency key</label><span class="nt-optional">(optional)</span></div>
          <input type="text" id="nt-idem" class="nt-wide" value=${idem} aria-describedby=${messagesFor('idempotency_key').length ? 'nt-idem-err nt-idem-hint' : 'nt-idem-hint'}
              aria-invalid=${messagesFor('idempotency_key').length ? 'true' : undefined}
              onInput=${(e) => { setIdem(e.target.value); setServer((s) => s && { ...s, byField: { ...s.byField, idempotency_key: undefined } }); }} />
          <p id="nt-idem-hint" class="muted nt-hint">The same key with the same request gives back the task made first instead of a new one.</p>
          <${FieldMessages} id="nt-idem-err" messages=${messagesFor('idempotency_key')} />
        </div>
      </details>
    </fieldset>
    <div class="nt-actions">
      <button type="submit" disabled=${!canRun || busy}>${busy ? 'Creating…' : 'Create task'}</button>
      <a href=${href('modules', ref)}>Contract of ${ref}</a>
    </div>
  </form>`;
}

export function NewTaskPage({ query = {}, session }) {
  const canRun = allows(session, 'operator');
  const fromId = query.from || '';
  const from = useAsync(() => (fromId ? api('/api/tasks/' + encodeURIComponent(fromId)) : null), [fromId]);
  const ref = query.module || (from.data && from.data.module_ref) || '';
  const contract = useAsync(() => (ref ? api('/api/modules/' + encodeURIComponent(ref)) : null), [ref]);
  // The task run again pre-fills the form only for its own module.
  const task = from.data && from.data.module_ref === ref ? from.data : null;

  function pick(r) {
    navigate(r ? href('new', { module: r }) : href('new'), { replace: true });
  }

  return html`<div class="nt-page">
    <${Title} text=${fromId ? 'Run a task again' : 'New task'} />
    ${fromId && html`<p>Pre-filled from task <a href=${href('tasks', fromId)}><${ShortId} id=${fromId} /></a>: change what you need and create a new task.</p>`}
    ${from.error && html`<${ErrorBox} error=${from.error} />`}
    <${ModuleSelect} value=${ref} onChange=${pick} />
    ${fromId && from.loading ? html`<${Loading} what="Loading the task to run again" />`
      : !ref ? html`<p class="muted">Choose a module: its contract makes the form.</p>`
      : contract.error ? html`<${ErrorBox} error=${contract.error} />`
      : contract.loading || !contract.data ? html`<${Loading} what="Loading the contract" />`
      : html`<${TaskForm} key=${ref + '|' + (task ? task.task_id : '')} contract=${contract.data} task=${task} canRun=${canRun} />`}
  </div>`;
}
