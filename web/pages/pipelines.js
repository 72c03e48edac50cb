// Pipelines (#/pipelines): the registered pipelines, each drawn as its steps
// (a small SVG graph: a box per step, its kind as a badge, an arrow per
// dependency), and the triggers that start runs on a schedule, with the
// operator's form to create one and a button to remove one.
//
// The pieces the pipeline page (pages/pipeline.js) and the run page
// (pages/run.js) share live here too: the step graph (`StepGraph`), the
// words for a step and a schedule, and the form generated from a pipeline's
// `inputs` (`PipelineForm`), which launches a run or creates a trigger. Its
// fields are those of the New task page (lib/form.js): asset pickers, value
// controls by dtype, defaults, and the node's problems at the fields their
// pointers name (docs/pipelines.md).
import { html } from 'htm/preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, allows, ApiError } from '../lib/api.js';
import { ErrorBox, Loading, ShortId, Title, fmtTime, useAsync } from '../lib/ui.js';
import { href, navigate } from '../lib/router.js';
import {
  AssetPicker, FieldMessages, ValueField, checkField, fieldId, fieldValue, initialField, normalizeInput,
} from '../lib/form.js';
import { useLiveRefresh, LiveBadge } from './tasks.js';

const enc = encodeURIComponent;

/// The events that change what the pipelines page shows.
export const PIPELINE_EVENT_KINDS = ['pipeline.registered', 'trigger.created', 'trigger.removed', 'trigger.fired'];
/// The events of a run (docs/pipelines.md, Events): their subject is the run id.
export const RUN_EVENT_KINDS = ['run.started', 'run.paused', 'run.resumed', 'run.cancelled', 'run.retried', 'run.done', 'run.failed'];
/// A run's statuses, in the order a run goes through them.
export const RUN_STATUSES = ['RUNNING', 'PAUSED', 'DONE', 'FAILED', 'CANCELLED'];
/// A run that may still change on its own.
export const runActive = (status) => status === 'RUNNING' || status === 'PAUSED';

// -- words --------------------------------------------------------------------------

/// A step's kind: the node says it (`single`, `for_each`, `collect`); a
/// document read without it is judged by its members.
export function stepKind(s) {
  return s.kind || (s.for_each ? 'for_each' : s.collect ? 'collect' : 'single');
}

const isRef = (text) => typeof text === 'string' && /^[a-z][a-z0-9_-]*\.[^.]/.test(text) && !text.startsWith('inputs.');

/// The steps a step waits for: the node's `depends_on`, or, in a document
/// without it, the steps its sources name (`STEP.KEY`).
export function dependsOn(s, ids) {
  if (Array.isArray(s.depends_on)) return s.depends_on;
  const out = new Set();
  const add = (from) => {
    if (!isRef(from)) return;
    const id = from.slice(0, from.indexOf('.'));
    if (ids.has(id) && id !== s.id) out.add(id);
  };
  if (s.for_each) add(s.for_each.from);
  if (s.collect) add(s.collect.from);
  for (const src of Object.values(s.inputs || {})) if (src && typeof src === 'object') add(src.from);
  return [...out];
}

/// `select` in words: "the top 3 by /confidence".
export function selectWords(sel) {
  if (!sel) return '';
  const parts = [];
  const by = sel.by === 'score' ? (sel.pointer ? `by ${sel.pointer}` : 'by score') : `ranked by ${sel.by}`;
  if (sel.top !== undefined) parts.push(`the top ${sel.top} ${by}`);
  if (sel.min !== undefined) parts.push(`those scoring at least ${sel.min}${sel.top === undefined ? ' ' + by : ''}`);
  if (!parts.length) parts.push(`all, ${by}`);
  return parts.join(', of ');
}

/// How a step runs, in words.
export function stepWords(s) {
  const kind = stepKind(s);
  if (kind === 'for_each') {
    const fe = s.for_each || {};
    return `once per element of ${fe.from || '?'}${fe.pointer ? ' at ' + fe.pointer : ''}${fe.select ? ', keeping ' + selectWords(fe.select) : ''}`;
  }
  if (kind === 'collect') return `once, gathering ${(s.collect && s.collect.from) || 'a fanned-out step'}`;
  const under = (s.scope || []).filter((x) => x !== s.id);
  if (under.length) return `once per element of ${under.join(' → ')}`;
  return 'once per run';
}

/// A source of a step's input in words: `{"from": "inputs.K"}`, a literal.
export function sourceWords(src) {
  if (!src || typeof src !== 'object') return JSON.stringify(src);
  if ('value' in src) return 'the value ' + JSON.stringify(src.value);
  const f = String(src.from || '');
  if (f === 'item') return 'the element';
  if (f === 'collected') return 'the gathered list';
  if (f.startsWith('inputs.')) return `the run's input ${f.slice(7)}`;
  return f;
}

const UNITS = [['d', 86400000], ['h', 3600000], ['m', 60000], ['s', 1000]];

/// `every_ms` as the CLI writes it: 86400000 → "1d", 90000 → "90s".
export function everyText(ms) {
  for (const [u, n] of UNITS) if (ms >= n && ms % n === 0) return ms / n + u;
  return ms + 'ms';
}

/// A trigger's schedule in words.
export function scheduleWords(t) {
  if (t.cron) return `cron ${t.cron} (UTC)`;
  if (t.every_ms !== undefined) return 'every ' + everyText(t.every_ms);
  if (t.every) return 'every ' + t.every;
  return '';
}

/// A moment relative to now: "in 3 h", "12 min ago".
export function relative(t, now = Date.now()) {
  const d = new Date(t).getTime();
  if (!Number.isFinite(d)) return '';
  const ms = d - now;
  const a = Math.abs(ms);
  const words = a < 60000 ? `${Math.max(1, Math.round(a / 1000))} s`
    : a < 3600000 ? `${Math.round(a / 60000)} min`
    : a < 172800000 ? `${Math.round(a / 3600000)} h`
    : `${Math.round(a / 86400000)} days`;
  return ms >= 0 ? 'in ' + words : words + ' ago';
}

/// A run's task counts in words: "3 of 4 done, 1 failed".
export function countsWords(tasks) {
  if (!tasks) return '';
  const total = tasks.total ?? Object.entries(tasks).reduce((n, [k, v]) => (k === 'total' ? n : n + v), 0);
  const done = tasks.DONE || 0;
  const failed = tasks.ERROR || 0;
  return `${done} of ${total} done` + (failed ? `, ${failed} failed` : '') + (tasks.CANCELLED ? `, ${tasks.CANCELLED} cancelled` : '');
}

// -- the step graph ------------------------------------------------------------------

const NODE_W = 188, GAP_X = 54, GAP_Y = 18, PAD = 8;
/// A box's height: three lines, four with a run's figures.
const NODE_H = 66, NODE_H_STATS = 82;
const clip = (s, n) => (s.length > n ? s.slice(0, n - 1) + '…' : s);
let graphCount = 0;

/// Where each step goes: a column per depth (a step sits right of every step
/// it depends on), rows in the order of their parents' rows. Steps are
/// listed in creation order, so one pass suffices.
export function layoutSteps(steps, nodeH = NODE_H) {
  const ids = new Set(steps.map((s) => s.id));
  const index = new Map(steps.map((s, i) => [s.id, i]));
  const deps = steps.map((s) => dependsOn(s, ids).filter((d) => index.has(d) && index.get(d) < index.get(s.id)));
  const col = [];
  steps.forEach((s, i) => { col[i] = deps[i].reduce((c, d) => Math.max(c, col[index.get(d)] + 1), 0); });
  const columns = [];
  steps.forEach((s, i) => { (columns[col[i]] = columns[col[i]] || []).push(i); });
  const row = [];
  for (const c of columns) {
    const bary = (i) => (deps[i].length ? deps[i].reduce((n, d) => n + row[index.get(d)], 0) / deps[i].length : -1);
    c.sort((a, b) => bary(a) - bary(b) || a - b);
    c.forEach((i, r) => { row[i] = r; });
  }
  const rows = Math.max(1, ...columns.map((c) => c.length));
  const nodes = steps.map((s, i) => ({
    step: s, kind: stepKind(s), col: col[i], row: row[i],
    x: PAD + col[i] * (NODE_W + GAP_X),
    // a column with fewer steps is centred
    y: PAD + (row[i] + (rows - columns[col[i]].length) / 2) * (nodeH + GAP_Y),
  }));
  const edges = [];
  steps.forEach((s, i) => deps[i].forEach((d) => edges.push({ from: nodes[index.get(d)], to: nodes[i] })));
  const width = PAD * 2 + columns.length * NODE_W + Math.max(0, columns.length - 1) * GAP_X;
  const height = PAD * 2 + rows * nodeH + (rows - 1) * GAP_Y + 4;
  return { nodes, edges, width, height, nodeH };
}

function badgesOf(n) {
  const out = [];
  if (n.kind === 'for_each') out.push(['for each', 'foreach']);
  if (n.kind === 'collect') out.push(['collect', 'collect']);
  if (n.kind === 'for_each' && n.step.for_each && n.step.for_each.select)
    out.push([n.step.for_each.select.top !== undefined ? `select top ${n.step.for_each.select.top}` : 'select', 'select']);
  return out;
}

/// The steps of a pipeline as a graph. `stats` (the run page): per step id
/// `{state, text}`, drawn in the step's box (state: waiting, running,
/// done, partial, failed). The drawing is an image with its description;
/// the pages list the same steps in a table.
export function StepGraph({ steps = [], label, stats = null }) {
  const uid = useMemo(() => 'sg' + ++graphCount, []);
  const g = useMemo(() => layoutSteps(steps, stats ? NODE_H_STATS : NODE_H), [steps, !!stats]);
  const h = g.nodeH;
  if (!steps.length) return html`<p class="muted">No steps.</p>`;
  const ids = new Set(steps.map((s) => s.id));
  const description = steps.map((s) => {
    const after = dependsOn(s, ids);
    const st = stats && stats[s.id];
    return `${s.id} (${s.module}) runs ${stepWords(s)}${after.length ? ', after ' + after.join(' and ') : ''}${st ? ': ' + st.text : ''}`;
  }).join('; ') + '.';
  return html`<figure class="pl-graph">
    <svg viewBox=${`0 0 ${g.width} ${g.height}`} width=${g.width} height=${g.height}
        class="pl-svg" role="img" aria-labelledby=${uid + '-t'} aria-describedby=${uid + '-d'} data-steps=${steps.length}>
      <title id=${uid + '-t'}>${label || 'Steps'}</title>
      <desc id=${uid + '-d'}>${description}</desc>
      <defs>
        <marker id=${uid + '-arrow'} viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
          <path d="M 0 0 L 10 5 L 0 10 z" class="pl-arrowhead" />
        </marker>
      </defs>
      ${g.edges.map((e) => {
        const x1 = e.from.x + NODE_W - 2, y1 = e.from.y + h / 2, x2 = e.to.x - 2, y2 = e.to.y + h / 2;
        const mx = (x1 + x2) / 2;
        return html`<path class=${'pl-edge' + (e.to.kind === 'collect' ? ' pl-edge-collect' : '')} data-from=${e.from.step.id} data-to=${e.to.step.id}
            d=${`M ${x1} ${y1} C ${mx} ${y1}, ${mx} ${y2}, ${x2} ${y2}`} marker-end=${`url(#${uid}-arrow)`} />`;
      })}
      ${g.nodes.map((n) => {
        const st = stats && stats[n.step.id];
        const many = n.kind === 'for_each' || (n.step.scope && n.step.scope.length > 0);
        let bx = 10;
        return html`<g class=${'pl-node pl-kind-' + n.kind + (st ? ' pl-state-' + st.state : '')} data-step=${n.step.id}
            transform=${`translate(${n.x} ${n.y})`}>
          ${many && html`<rect class="pl-node-shadow" x="5" y="5" width=${NODE_W - 4} height=${h - 4} rx="6" />`}
          <rect class="pl-node-box" x="0" y="0" width=${NODE_W - 4} height=${h - 4} rx="6" />
          <text class="pl-node-id" x="10" y="19">${clip(n.step.id, 22)}</text>
          <text class="pl-node-module" x="10" y="35">${clip(String(n.step.module || ''), 28)}</text>
          ${badgesOf(n).map(([text, cls]) => {
            const w = text.length * 6.1 + 10;
            const x = bx;
            bx += w + 4;
            return html`<g class=${'pl-badge pl-badge-' + cls}><rect x=${x} y="42" width=${w} height="15" rx="7" />
              <text x=${x + w / 2} y="53" text-anchor="middle">${text}</text></g>`;
          })}
          ${st && html`<text class="pl-node-stat" x="10" y=${bx > 10 ? 71 : 55}>${clip(st.text, 28)}</text>`}
        </g>`;
      })}
    </svg>
    <figcaption class="muted small">Arrows run from a step to the steps that take its outputs. A stacked box runs once per element${stats ? '; its line says how far its tasks got' : ''}.</figcaption>
  </figure>`;
}

/// A pipeline's inputs and outputs in one line each.
export function IoSummary({ pipeline }) {
  const inputs = (pipeline.inputs || []).map(normalizeInput);
  const outputs = Object.entries(pipeline.outputs || {});
  return html`<dl class="kv pl-io">
    <dt>Inputs</dt><dd>${inputs.length ? inputs.map((i, n) => html`${n ? ', ' : ''}<code>${i.key}</code> <span class="muted">(${i.kind === 'ASSET'
      ? (i.c.media_types || []).join(' or ') || 'a file' : i.dtype || 'value'}${i.required && !i.hasDefault ? '' : ', optional'})</span>`) : html`<span class="muted">none</span>`}</dd>
    <dt>Outputs</dt><dd>${outputs.length ? outputs.map(([k, o], n) => html`${n ? ', ' : ''}<code>${k}</code> <span class="muted">from ${o && o.from}</span>`) : html`<span class="muted">none</span>`}</dd>
  </dl>`;
}

// -- the form generated from a pipeline's inputs ----------------------------------------

/// The JSON Schema of each `json` VALUE input, for the page's own checks:
/// inline ones at once, a registered one (`name@N`) fetched; a shipped one is
/// left to the node.
function useSchemas(inputs) {
  const [schemas, setSchemas] = useState({});
  useEffect(() => {
    let live = true;
    const now = {};
    for (const inp of inputs) {
      if (inp.kind !== 'VALUE' || inp.dtype !== 'json' || inp.c.schema === undefined) continue;
      const s = inp.c.schema;
      if (typeof s !== 'string') { now[inp.key] = { schema: s, note: 'checked against its inline schema' }; continue; }
      now[inp.key] = { schema: null, note: `schema ${s} is checked by the node` };
      if (s.includes('@'))
        api('/api/schemas/' + enc(s)).then(
          (doc) => live && setSchemas((o) => ({ ...o, [inp.key]: { schema: doc, note: `checked against ${s} (basics here, all by the node)` } })),
          () => {});
    }
    setSchemas(now);
    return () => { live = false; };
  }, [inputs]);
  return schemas;
}

const unescape = (t) => t.replace(/~1/g, '/').replace(/~0/g, '~');

/// The field a problem of the node's answer belongs to: `/inputs/K…` and
/// `/values/K…` → K (the part inside the value as `rest`), `/priority`,
/// `/mode`, `/every`, `/every_ms`, `/cron`; null for the others.
export function pipelineFieldOfPointer(pointer, keys) {
  const p = pointer || '';
  const m = /^\/(inputs|values)\/([^/]*)(\/.*)?$/.exec(p);
  if (m) {
    const key = unescape(m[2]);
    return keys.includes(key) ? { field: key, rest: m[3] || '' } : null;
  }
  const top = /^\/(priority|mode|every|every_ms|cron)(\/|$)/.exec(p);
  if (top) return { field: top[1] === 'every_ms' ? 'every' : top[1], rest: '' };
  return null;
}

const OTHER_LABELS = { priority: 'Priority', mode: 'Mode', every: 'Interval', cron: 'Cron expression' };
const OTHER_IDS = { priority: 'pl-priority', mode: 'pl-mode', every: 'pl-every', cron: 'pl-cron' };

/// The form of a pipeline's inputs: launches a run (`POST
/// /api/pipelines/{ref}/runs`, then the run's page) or, "on a schedule",
/// creates a trigger (`POST /api/triggers`). `schedule`: 'choice' (the
/// pipeline page: now or on a schedule), 'only' (the triggers form), or
/// 'never'. `onCreated(trigger)`: told of a new trigger.
export function PipelineForm({ pipeline, canRun, schedule = 'choice', onCreated }) {
  const ref = pipeline.ref || pipeline.name + '@' + pipeline.version;
  // (the same document read again keeps its inputs: the form keeps its state)
  const inputs = useMemo(() => (pipeline.inputs || []).map(normalizeInput), [pipeline.inputs]);
  const keys = inputs.map((i) => i.key);
  const [fields, setFields] = useState(() => Object.fromEntries(inputs.map((i) => [i.key, initialField(i, null)])));
  const [touched, setTouched] = useState({});
  const [attempted, setAttempted] = useState(false);
  const [server, setServer] = useState(null); // {byField, other, count, local?, trigger?}
  const [busy, setBusy] = useState(false);
  const [when, setWhen] = useState(schedule === 'only' ? 'schedule' : 'now');
  const [howOften, setHowOften] = useState('every');
  const [every, setEvery] = useState('1d');
  const [cron, setCron] = useState('0 6 * * *');
  const [mode, setMode] = useState('');
  const [priority, setPriority] = useState('');
  const [created, setCreated] = useState(null);
  const summaryRef = useRef(null);
  const schemas = useSchemas(inputs);
  const scheduled = when === 'schedule';
  const formId = scheduled ? 'pl-trigger' : 'pl-launch';

  const dropServer = (key) => setServer((s) => (s && s.byField[key] ? { ...s, byField: { ...s.byField, [key]: undefined } } : s));
  const change = (key) => (f) => {
    setFields((o) => ({ ...o, [key]: f }));
    setTouched((t) => ({ ...t, [key]: true }));
    dropServer(key);
    setCreated(null);
  };
  const setOther = (key, set) => (e) => { set(e.target.value); setTouched((t) => ({ ...t, [key]: true })); dropServer(key); setCreated(null); };

  const clientMessages = {};
  for (const inp of inputs) clientMessages[inp.key] = checkField(inp, fields[inp.key], schemas[inp.key] && schemas[inp.key].schema);
  const prioText = priority.trim();
  clientMessages.priority = prioText === '' || scheduled ? []
    : !Number.isInteger(Number(prioText)) ? ['A priority is a whole number.'] : [];
  clientMessages.every = scheduled && howOften === 'every' && !/^\s*\d+\s*(ms|s|m|h|d)\s*$/.test(every)
    ? ['A number and a unit: ms, s, m, h or d (such as 30m or 1d).'] : [];
  clientMessages.cron = scheduled && howOften === 'cron' && cron.trim().split(/\s+/).length !== 5
    ? ['Five fields: minute, hour, day of month, month, day of week.'] : [];
  clientMessages.mode = [];

  function messagesFor(key) {
    if (server && server.byField[key] && server.byField[key].length) return server.byField[key];
    return attempted || touched[key] ? clientMessages[key] : [];
  }

  function buildRequest() {
    const body = { inputs: {}, values: {} };
    const blocking = {};
    for (const inp of inputs) {
      const f = fields[inp.key];
      if (inp.kind === 'ASSET' || f.asset) {
        if (f.asset) body.inputs[inp.key] = f.asset;
        continue;
      }
      const v = fieldValue(inp, f);
      if (v.invalid) blocking[inp.key] = [v.invalid];
      else if (!v.omit) body.values[inp.key] = v.value;
    }
    if (mode) body.mode = mode;
    if (!scheduled && prioText !== '') {
      const n = Number(prioText);
      if (!Number.isFinite(n)) blocking.priority = ['Enter a number.'];
      else body.priority = n;
    }
    if (scheduled) {
      body.pipeline = ref;
      if (howOften === 'every') body.every = every.trim().replace(/\s+/g, '');
      else body.cron = cron.trim().replace(/\s+/g, ' ');
    }
    return { body, blocking };
  }

  async function submit(e) {
    e.preventDefault();
    if (!canRun || busy) return;
    setAttempted(true);
    setCreated(null);
    const { body, blocking } = buildRequest();
    if (Object.keys(blocking).length) {
      // Only what cannot be sent stops the request here; the node judges the rest.
      setServer({ byField: blocking, other: [], count: Object.keys(blocking).length, local: true });
      setTimeout(() => summaryRef.current && summaryRef.current.focus());
      return;
    }
    setBusy(true);
    setServer(null);
    try {
      if (scheduled) {
        const t = await api('/api/triggers', { method: 'POST', body });
        setCreated(t);
        if (onCreated) onCreated(t);
      } else {
        const run = await api(`/api/pipelines/${enc(ref)}/runs`, { method: 'POST', body });
        navigate(href('runs', run.run_id));
      }
    } catch (err) {
      const problems = err instanceof ApiError && err.errors.length ? err.errors
        : [{ code: err.code || 'error', message: err.message, pointer: err.pointer || '' }];
      const byField = {}, other = [];
      for (const p of problems) {
        const at = pipelineFieldOfPointer(p.pointer, keys);
        if (!at) { other.push(p); continue; }
        (byField[at.field] = byField[at.field] || []).push((at.rest ? `At ${at.rest}: ` : '') + p.message + (p.code ? ` (${p.code})` : ''));
      }
      setServer({ byField, other, count: problems.length, trigger: scheduled });
      setTimeout(() => summaryRef.current && summaryRef.current.focus());
    } finally {
      setBusy(false);
    }
  }

  const labelOf = (k) => OTHER_LABELS[k] || (inputs.find((i) => i.key === k) || {}).label || k;
  const focusField = (k) => setTimeout(() => {
    const el = document.getElementById(OTHER_IDS[k] || fieldId(k));
    if (el) el.focus();
  });
  const matched = server ? Object.entries(server.byField).filter(([, m]) => m && m.length) : [];
  const otherField = (key, control) => {
    const msgs = messagesFor(key);
    const id = OTHER_IDS[key];
    return html`<div class="nt-field">
      <div class="nt-label-row"><label for=${id}>${OTHER_LABELS[key]}</label></div>
      ${control({ id, 'aria-invalid': msgs.length ? 'true' : undefined,
        'aria-describedby': [msgs.length ? id + '-err' : '', id + '-hint'].filter(Boolean).join(' ') })}
      <${FieldMessages} id=${id + '-err'} messages=${msgs} />
    </div>`;
  };

  return html`<form class="nt-form pl-form" onSubmit=${submit} noValidate aria-labelledby=${formId + '-title'}>
    <h2 id=${formId + '-title'}>${schedule === 'only' ? `Schedule ${ref}` : `Launch ${ref}`}</h2>
    ${server && (matched.length || server.other.length) ? html`<div class="error nt-summary" role="alert" tabindex="-1" ref=${summaryRef}>
      <strong>${server.local ? 'The request cannot be sent yet'
        : `The node refused the ${server.trigger ? 'trigger' : 'run'} (${server.count} problem${server.count === 1 ? '' : 's'}); nothing was created.`}</strong>
      <ul>
        ${matched.map(([k, msgs]) => html`<li><button type="button" class="link" onClick=${() => focusField(k)}>${labelOf(k)}</button>: ${msgs.join(' ')}</li>`)}
        ${server.other.map((p) => html`<li><code>${p.code}</code> ${p.pointer && html`<code>${p.pointer}</code>`} ${p.message}</li>`)}
      </ul>
    </div>` : null}
    ${created && html`<p class="tk-ok" role="status">Trigger <${ShortId} id=${created.trigger_id} /> created: ${scheduleWords(created)}, next start ${fmtTime(created.next_start)}.</p>`}
    ${!canRun && html`<p class="nt-readonly" id=${formId + '-readonly'}>Your role cannot start runs or create triggers: the form is shown read-only. An operator or admin token can use it.</p>`}
    <fieldset class="nt-inputs" disabled=${!canRun} aria-describedby=${!canRun ? formId + '-readonly' : undefined}>
      <legend class="nt-sr">Inputs of ${ref}</legend>
      ${inputs.length === 0 && html`<p class="muted">This pipeline takes no inputs.</p>`}
      ${inputs.map((inp) => {
        const f = fields[inp.key];
        const msgs = messagesFor(inp.key);
        if (inp.kind === 'ASSET')
          return html`<${AssetPicker} key=${inp.key} inp=${inp} field=${f} onChange=${change(inp.key)} messages=${msgs} disabled=${!canRun} />`;
        const sc = schemas[inp.key];
        return html`<${ValueField} key=${inp.key} inp=${inp} field=${f} onChange=${change(inp.key)} messages=${msgs}
            disabled=${!canRun} schemaNote=${sc && sc.note} />`;
      })}
      <div class="pl-run-options">
        ${schedule === 'choice' && html`<fieldset class="radios pl-when">
          <legend>When</legend>
          <label><input type="radio" name=${formId + '-when'} value="now" checked=${!scheduled} onChange=${() => { setWhen('now'); setServer(null); setCreated(null); }} /> Now, once</label>
          <label><input type="radio" name=${formId + '-when'} value="schedule" checked=${scheduled} onChange=${() => { setWhen('schedule'); setServer(null); }} /> On a schedule</label>
        </fieldset>`}
        ${scheduled && html`<fieldset class="radios pl-how">
          <legend>Repeat</legend>
          <label><input type="radio" name=${formId + '-how'} value="every" checked=${howOften === 'every'} onChange=${() => setHowOften('every')} /> Every interval</label>
          <label><input type="radio" name=${formId + '-how'} value="cron" checked=${howOften === 'cron'} onChange=${() => setHowOften('cron')} /> Cron (UTC)</label>
        </fieldset>`}
        ${scheduled && howOften === 'every' && otherField('every', (a) => html`<input type="text" size="10" value=${every} spellcheck="false"
            onInput=${setOther('every', setEvery)} ...${a} />
          <p id="pl-every-hint" class="muted nt-hint">A number and a unit: <code>ms</code>, <code>s</code>, <code>m</code>, <code>h</code>, <code>d</code>. The first run starts one interval from now.</p>`)}
        ${scheduled && howOften === 'cron' && otherField('cron', (a) => html`<input type="text" size="20" value=${cron} spellcheck="false"
            onInput=${setOther('cron', setCron)} ...${a} />
          <p id="pl-cron-hint" class="muted nt-hint">Five fields in UTC: minute, hour, day of month, month, day of week (<code>*</code>, lists, ranges, steps).</p>`)}
        ${otherField('mode', (a) => html`<select value=${mode} onChange=${setOther('mode', setMode)} ...${a}>
            <option value="">The node's default</option>
            <option value="real">real: run the modules' programs</option>
            <option value="mock">mock: the mock adapter (fabricated outputs)</option>
          </select>
          <p id="pl-mode-hint" class="muted nt-hint">How the run's tasks are executed.</p>`)}
        ${!scheduled && otherField('priority', (a) => html`<input type="number" step="1" size="8" value=${priority}
            onInput=${setOther('priority', setPriority)} ...${a} />
          <p id="pl-priority-hint" class="muted nt-hint">Optional: the priority of the run's tasks (higher runs first, default 0).</p>`)}
      </div>
    </fieldset>
    <div class="nt-actions">
      <button type="submit" disabled=${!canRun || busy}>${busy ? (scheduled ? 'Creating…' : 'Launching…') : scheduled ? 'Create trigger' : 'Launch run'}</button>
      ${schedule !== 'only' && html`<span class="muted">${scheduled ? 'The trigger starts a run with these inputs on each date.' : 'The run page opens once the run has started.'}</span>`}
    </div>
  </form>`;
}

// -- triggers ---------------------------------------------------------------------------

/// The triggers as a table; an operator removes one (asked twice).
export function TriggerTable({ items, canWork, onRemoved, showPipeline = true }) {
  const [confirming, setConfirming] = useState(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [done, setDone] = useState(null);
  async function remove(t) {
    setBusy(true); setError(null); setDone(null);
    try {
      const r = await api('/api/triggers/' + enc(t.trigger_id), { method: 'DELETE' });
      setDone(`Trigger ${String((r && r.trigger_id) || t.trigger_id).slice(0, 8)} of ${t.pipeline} removed.`);
      setConfirming(null);
      if (onRemoved) onRemoved(t);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }
  if (!items.length) return html`<p class="muted">No trigger${showPipeline ? '' : ' for this pipeline'}.</p>
    ${done && html`<p class="tk-ok" role="status">${done}</p>`}`;
  return html`<div class="pl-table-wrap">
    <table class="pl-triggers">
      <caption class="tk-sr">Triggers${showPipeline ? '' : ' of this pipeline'}, with their next start</caption>
      <thead><tr>
        <th scope="col">Trigger</th>${showPipeline && html`<th scope="col">Pipeline</th>`}<th scope="col">Schedule</th>
        <th scope="col">Next start</th><th scope="col">Last start</th><th scope="col">Last run</th>
        <th scope="col">Inputs and values</th>${canWork && html`<th scope="col"><span class="tk-sr">Actions</span></th>`}
      </tr></thead>
      <tbody>
        ${items.map((t) => html`<tr key=${t.trigger_id}>
          <td><${ShortId} id=${t.trigger_id} />${t.mode ? html` <span class="muted small">${t.mode}</span>` : ''}</td>
          ${showPipeline && html`<td><a href=${href('pipelines', t.pipeline)}>${t.pipeline}</a></td>`}
          <td>${scheduleWords(t)}</td>
          <td>${fmtTime(t.next_start)} <span class="muted small">${relative(t.next_start)}</span></td>
          <td>${t.last_start ? fmtTime(t.last_start) : html`<span class="muted">not yet</span>`}</td>
          <td>${t.last_run_id ? html`<a href=${href('runs', t.last_run_id)} aria-label=${'Run ' + t.last_run_id}><${ShortId} id=${t.last_run_id} /></a>` : ''}</td>
          <td class="pl-trigger-values">${[...Object.entries(t.inputs || {}).map(([k, v]) => html`<div><code>${k}</code> = <a href=${href('assets', v)}><${ShortId} id=${v} /></a></div>`),
            ...Object.entries(t.values || {}).map(([k, v]) => html`<div><code>${k}</code> = <code>${clip(JSON.stringify(v), 40)}</code></div>`)]}</td>
          ${canWork && html`<td>${confirming === t.trigger_id
            ? html`<span role="group" aria-label="Confirm the removal" class="pl-confirm">
                <button type="button" class="danger" disabled=${busy} onClick=${() => remove(t)}>Yes, remove it</button>
                <button type="button" class="secondary" onClick=${() => setConfirming(null)}>Keep it</button></span>`
            : html`<button type="button" class="secondary" disabled=${busy} onClick=${() => { setConfirming(t.trigger_id); setDone(null); }}
                aria-label=${`Remove trigger ${t.trigger_id.slice(0, 8)} (${t.pipeline}, ${scheduleWords(t)})`}>Remove</button>`}</td>`}
        </tr>`)}
      </tbody>
    </table>
    ${done && html`<p class="tk-ok" role="status">${done}</p>`}
    <${ErrorBox} error=${error} />
  </div>`;
}

/// A pipeline's card on the list: its name, its steps drawn, its inputs and outputs.
function PipelineCard({ p }) {
  const ref = p.ref || p.name + '@' + p.version;
  const hid = 'pl-card-' + ref.replace(/[^A-Za-z0-9_-]/g, '-');
  return html`<section class="card pl-card" aria-labelledby=${hid} data-ref=${ref}>
    <div class="pl-card-head">
      <h2 id=${hid}><a href=${href('pipelines', ref)}>${ref}</a></h2>
      <span class="muted small">${(p.steps || []).length} step${(p.steps || []).length === 1 ? '' : 's'}</span>
    </div>
    ${p.description && html`<p class="pl-desc">${p.description}</p>`}
    <${StepGraph} steps=${p.steps || []} label=${'Steps of ' + ref} />
    <${IoSummary} pipeline=${p} />
  </section>`;
}

/// All the pipelines, a page of the node's list at a time.
function usePipelines() {
  const [state, setState] = useState({ items: null, next: null, error: null });
  const load = (cursor) => api('/api/pipelines', { query: { cursor } }).then(
    (p) => setState((s) => ({ items: cursor ? [...(s.items || []), ...(p.items || [])] : p.items || [], next: p.next_cursor || null, error: null })),
    (error) => setState((s) => ({ ...s, error })));
  useEffect(() => { load(); }, []);
  return { ...state, reload: () => load(), more: () => state.next && load(state.next) };
}

export function PipelinesPage({ session }) {
  const canWork = allows(session, 'operator');
  const pipelines = usePipelines();
  const triggers = useAsync(() => api('/api/triggers'), []);
  const [chosen, setChosen] = useState('');
  const live = useLiveRefresh(() => Promise.all([pipelines.reload(), triggers.reload()]),
    { kinds: PIPELINE_EVENT_KINDS, minInterval: 1000 });
  const items = pipelines.items || [];
  const picked = items.find((p) => (p.ref || p.name + '@' + p.version) === chosen);
  const trig = (triggers.data && triggers.data.items) || [];
  return html`<div class="pl-page">
    <div class="board-head">
      <${Title} text="Pipelines" />
      <${LiveBadge} state=${live} />
      <a href=${href('runs')}>All runs</a>
    </div>
    <p class="muted">A pipeline turns one request into many tasks: its steps run modules, and a step may run once per
      element of a list (<span class="pl-inline-badge pl-badge-foreach">for each</span>), keep only the best elements
      (<span class="pl-inline-badge pl-badge-select">select</span>) and gather them again
      (<span class="pl-inline-badge pl-badge-collect">collect</span>). Register one with <code>omniva pipeline register FILE</code>.</p>
    <${ErrorBox} error=${pipelines.error} />
    ${!pipelines.items && !pipelines.error && html`<${Loading} what="Loading the pipelines" />`}
    ${pipelines.items && items.length === 0 && html`<p class="empty">No pipeline is registered.</p>`}
    ${items.map((p) => html`<${PipelineCard} key=${p.ref || p.name + '@' + p.version} p=${p} />`)}
    ${pipelines.next && html`<button type="button" class="secondary" onClick=${pipelines.more}>Load more pipelines</button>`}

    <section class="card pl-triggers-card" aria-labelledby="pl-triggers-title">
      <h2 id="pl-triggers-title">Triggers</h2>
      <p class="muted">A trigger starts a run of its pipeline on a schedule. A start missed while the node was down runs once at restart.</p>
      <${ErrorBox} error=${triggers.error} />
      ${!triggers.data && !triggers.error ? html`<${Loading} what="Loading the triggers" />`
        : html`<${TriggerTable} items=${trig} canWork=${canWork} onRemoved=${triggers.reload} />`}
      ${canWork ? html`<div class="pl-new-trigger">
          <h3 id="pl-new-trigger-title">New trigger</h3>
          <label for="pl-trigger-pipeline">Pipeline</label>
          <select id="pl-trigger-pipeline" value=${chosen} onChange=${(e) => setChosen(e.target.value)}>
            <option value="">(choose a pipeline)</option>
            ${items.map((p) => { const r = p.ref || p.name + '@' + p.version; return html`<option value=${r}>${r}</option>`; })}
          </select>
          ${picked ? html`<${PipelineForm} key=${chosen} pipeline=${picked} canRun=${canWork} schedule="only" onCreated=${triggers.reload} />`
            : html`<p class="muted">Choose a pipeline: its inputs make the form.</p>`}
        </div>`
        : html`<p class="muted">Your token's role (${session && session.role}) can look at triggers but not create or remove them.</p>`}
    </section>
  </div>`;
}

