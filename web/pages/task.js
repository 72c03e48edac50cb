// A task's page: its record, inputs and outputs, attempts and their logs,
// HaloLux's explanation, its lineage as a graph, and the operator's actions.
// A handful of requests whatever the node holds: the record, the task's own
// history (its attempts), the explanation, one log and the graph's
// neighbourhood; followed live through the node's events about this task.
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { html, Status, ErrorBox, Loading, ShortId, fmtTime, Title } from '../lib/ui.js';
import { api, allows } from '../lib/api.js';
import { href } from '../lib/router.js';
import { LineageGraph } from '../lib/lineage_graph.js';
import { useLiveRefresh, LiveBadge } from './tasks.js';

const enc = encodeURIComponent;
const UNFINISHED = ['PENDING', 'READY', 'RUNNING'];
const RETRYABLE = ['ERROR', 'CANCELLED'];
/// Packets of the task's history read for its attempts.
const HISTORY_LIMIT = 1000;
/// Characters of a log kept on the page: its tail.
const LOG_TAIL = 64 * 1024;

function payloadOf(p) {
  if (typeof p.payload === 'string') { try { return JSON.parse(p.payload); } catch { return {}; } }
  return p.payload || {};
}

/// The attempts of a task from its history: each dispatch, how it ended,
/// the requeues and retries that began the next.
export function attemptsOf(history, rec) {
  const map = new Map();
  let cur = 1;
  const get = (n) => { if (!map.has(n)) map.set(n, { n, status: 'WAITING' }); return map.get(n); };
  get(1);
  for (const p of history) {
    const pl = payloadOf(p);
    let a;
    switch (p.kind) {
      case 'task.dispatched':
        cur = pl.attempt || cur;
        a = get(cur);
        Object.assign(a, { started: p.at, pool: pl.pool, status: 'RUNNING' });
        break;
      case 'task.attempt_failed':
        a = get(pl.attempt || cur);
        Object.assign(a, { ended: p.at, status: 'FAILED', error: { code: pl.code, message: pl.message, transient: pl.transient } });
        break;
      case 'task.succeeded':
        a = get(cur);
        Object.assign(a, { ended: p.at, status: 'DONE', metrics: pl.metrics });
        break;
      case 'task.reused':
        Object.assign(get(cur), { ended: p.at, status: 'DONE', reused: true });
        break;
      case 'task.skipped':
        Object.assign(get(cur), { ended: p.at, status: 'SKIPPED' });
        break;
      case 'task.failed':
        a = get(cur);
        a.ended = a.ended || p.at;
        a.status = 'ERROR';
        a.error = a.error || { code: pl.code, message: pl.message, transient: pl.transient };
        break;
      case 'task.cancelled':
        a = get(cur);
        if (a.status === 'RUNNING' || a.status === 'WAITING') Object.assign(a, { status: 'CANCELLED', ended: p.at });
        break;
      case 'task.requeued': case 'task.retried': case 'task.revived':
        cur = pl.attempt || cur + 1;
        get(cur).reason = pl.reason || pl.because || (p.kind === 'task.retried' ? 'retried by an operator' : '');
        break;
      default:
    }
  }
  if (rec) for (let n = 1; n <= (rec.attempt || 1); n++) get(n);
  return [...map.values()].sort((x, y) => x.n - y.n);
}

function duration(a, b) {
  if (!a || !b) return '';
  const ms = new Date(b) - new Date(a);
  if (!(ms >= 0)) return '';
  return ms < 1000 ? ms + ' ms' : (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + ' s';
}

// -- the log panel --------------------------------------------------------------------

/// The tail of an attempt's log; `follow` streams it while the attempt runs.
function LogPanel({ task, attempt, setAttempt, attempts }) {
  const [stream, setStream] = useState('stdout');
  const [follow, setFollow] = useState(false);
  const [state, setState] = useState({ text: '', cut: 0, error: null, loading: true, streaming: false });
  const [tick, setTick] = useState(0);
  const running = task.status === 'RUNNING' && attempt === task.attempt;
  const pre = useRef(null);

  useEffect(() => { if (!running) setFollow(false); }, [running]);

  useEffect(() => {
    const ctl = new AbortController();
    let text = '';
    let cut = 0;
    let flushTimer = null;
    const flush = (extra = {}) => {
      flushTimer = null;
      setState((s) => ({ ...s, text, cut, ...extra }));
    };
    setState({ text: '', cut: 0, error: null, loading: true, streaming: false });
    (async () => {
      try {
        const res = await api(`/api/tasks/${enc(task.task_id)}/attempts/${attempt}/logs`,
          { query: { stream, follow: follow ? 1 : undefined }, raw: true, signal: ctl.signal });
        const reader = res.body.getReader();
        const dec = new TextDecoder();
        setState((s) => ({ ...s, loading: false, streaming: follow }));
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          text += dec.decode(value, { stream: true });
          if (text.length > LOG_TAIL) { cut += text.length - LOG_TAIL; text = text.slice(text.length - LOG_TAIL); }
          if (!flushTimer) flushTimer = setTimeout(flush, 150);
        }
        text += dec.decode();
        if (flushTimer) clearTimeout(flushTimer);
        flush({ loading: false, streaming: false });
      } catch (error) {
        if (ctl.signal.aborted) return;
        if (flushTimer) clearTimeout(flushTimer);
        flush({ loading: false, streaming: false, error });
      }
    })();
    return () => { ctl.abort(); if (flushTimer) clearTimeout(flushTimer); };
  }, [task.task_id, attempt, stream, follow, tick]);

  useEffect(() => {
    if (follow && pre.current) pre.current.scrollTop = pre.current.scrollHeight;
  }, [state.text, follow]);

  return html`<section class="card log-panel" aria-labelledby="logs-title">
    <h2 id="logs-title">Logs</h2>
    <div class="toolbar">
      <div>
        <label for="log-attempt">Attempt</label>
        <select id="log-attempt" value=${attempt} onChange=${(e) => setAttempt(Number(e.target.value))}>
          ${attempts.map((a) => html`<option value=${a.n}>${a.n} (${a.status.toLowerCase()})</option>`)}
        </select>
      </div>
      <fieldset class="inline">
        <legend>Stream</legend>
        ${['stdout', 'stderr'].map((s) => html`<label class="radio"><input type="radio" name="log-stream" value=${s}
            checked=${stream === s} onChange=${() => setStream(s)} /> ${s}</label>`)}
      </fieldset>
      <label class="check" title=${running ? 'Stream the log as the module writes it' : 'Only a running attempt can be followed'}>
        <input type="checkbox" checked=${follow} disabled=${!running} onChange=${(e) => setFollow(e.target.checked)} /> Follow
      </label>
      <button type="button" class="secondary" onClick=${() => setTick((t) => t + 1)}>Reload log</button>
      ${state.streaming && html`<span class="live-badge live-live" role="status"><span class="live-dot" aria-hidden="true"></span>Following</span>`}
    </div>
    <${ErrorBox} error=${state.error} />
    ${state.loading ? html`<${Loading} what="Loading the log" />`
      : !state.error && html`
        ${state.cut > 0 && html`<p class="muted">The first ${state.cut.toLocaleString()} characters are left out: the last ${LOG_TAIL / 1024} KiB are shown.</p>`}
        ${state.text
          ? html`<pre ref=${pre} tabindex="0" aria-label=${`${stream} of attempt ${attempt}`}>${state.text}</pre>`
          : html`<p class="muted">Attempt ${attempt} wrote nothing on ${stream}${task.mode === 'mock' ? ' (mock runs write no logs)' : ''}.</p>`}`}
  </section>`;
}

// -- the operator's actions ------------------------------------------------------------

function Actions({ task, session, onChanged }) {
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState(null);
  const [error, setError] = useState(null);
  const [confirming, setConfirming] = useState(false);
  const [priority, setPriority] = useState(String(task.priority ?? 0));
  useEffect(() => { setPriority(String(task.priority ?? 0)); }, [task.task_id, task.priority]);
  useEffect(() => { setResult(null); setError(null); setConfirming(false); }, [task.task_id]);
  const operator = allows(session, 'operator');
  const unfinished = UNFINISHED.includes(task.status);

  async function act(what, path, body, done) {
    setBusy(true); setError(null); setResult(null); setConfirming(false);
    try {
      const t = await api(`/api/tasks/${enc(task.task_id)}/${path}`, { method: 'POST', body });
      setResult(done(t));
      onChanged(t);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }
  function setPrio(e) {
    e.preventDefault();
    const text = priority.trim();
    const n = Number(text);
    // The node checks the rule (an integer in 32 bits); a text that is not a
    // number is sent as it is, so its answer says what is wrong.
    act('priority', 'priority', { priority: text !== '' && !Number.isNaN(n) ? n : text },
      (t) => `Priority set to ${t.priority}.`);
  }

  if (!operator)
    return html`<p class="muted actions-note">Your token's role (${session && session.role}) can look but not change tasks.</p>`;
  return html`<section class="card tk-actions" aria-labelledby="actions-title">
    <h2 id="actions-title">Actions</h2>
    <div class="toolbar">
      ${unfinished && !confirming && html`<button type="button" class="danger" disabled=${busy} onClick=${() => setConfirming(true)}>Cancel task</button>`}
      ${unfinished && confirming && html`<span role="group" aria-label="Confirm the cancel">
        <span>Cancel this task${task.status === 'RUNNING' ? ' and stop its attempt' : ''}? Tasks waiting on its outputs end too.</span>
        <button type="button" class="danger" disabled=${busy}
          onClick=${() => act('cancel', 'cancel', undefined, (t) => `Cancelled: the task is ${t.status}.`)}>Yes, cancel it</button>
        <button type="button" class="secondary" onClick=${() => setConfirming(false)}>Keep it</button></span>`}
      ${RETRYABLE.includes(task.status) && html`<button type="button" disabled=${busy}
          onClick=${() => act('retry', 'retry', undefined, (t) => `Retried: attempt ${t.attempt} is ${t.status}.`)}>Retry</button>`}
      ${unfinished && html`<form class="inline-form" noValidate onSubmit=${setPrio}>
        <label for="task-priority">Priority</label>
        <input id="task-priority" type="number" step="1" size="8" value=${priority} onInput=${(e) => setPriority(e.target.value)} />
        <button type="submit" class="secondary" disabled=${busy}>Set priority</button>
      </form>`}
      <a class="tk-button" href=${href('new', { module: task.module_ref, from: task.task_id })}>Run again</a>
    </div>
    ${result && html`<p class="tk-ok" role="status">${result}</p>`}
    <${ErrorBox} error=${error} />
  </section>`;
}

// -- the explanation ---------------------------------------------------------------------

function Explanation({ data, error }) {
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!data) return html`<${Loading} what="Loading the explanation" />`;
  return html`<div class="explanation">
    <p class="muted">Evidence found: ${Math.round((data.completeness ?? 0) * 100)}% of what HaloLux expects${data.missing && data.missing.length ? '.' : ', nothing missing.'}</p>
    <ol class="chain">
      ${(data.chain || []).map((c, i) => html`<li key=${i}>${c.statement}
        <a class="packet" href=${'/api/lineage/' + enc(c.packet_id)} target="_blank" rel="noopener"
           aria-label=${'Packet ' + c.packet_id + ' (opens the raw packet)'}><code title=${c.packet_id}>${c.packet_id.slice(0, 10)}</code></a></li>`)}
    </ol>
    ${data.missing && data.missing.length > 0 && html`<h3>Missing evidence</h3><ul>${data.missing.map((m) => html`<li>${m}</li>`)}</ul>`}
    <details><summary>The narrative as one text</summary><p class="narrative">${data.narrative}</p></details>
  </div>`;
}

// -- the page --------------------------------------------------------------------------

function AssetLink({ id }) {
  return html`<a href=${href('assets', id)} aria-label=${'Asset ' + id}><${ShortId} id=${id} /></a>`;
}

function showValue(v) {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

export function TaskPage({ params, session }) {
  const id = params[0];
  const [rec, setRec] = useState({ data: null, error: null });
  const [hist, setHist] = useState({ data: null, error: null });
  const [expl, setExpl] = useState({ data: null, error: null });
  const [logAttempt, setLogAttempt] = useState(null);

  const loadRecord = () => api('/api/tasks/' + enc(id)).then(
    (data) => setRec({ data, error: null }), (error) => setRec((r) => ({ data: r.data, error })));
  const loadHistory = () => api('/api/lineage/' + enc(id), { query: { limit: HISTORY_LIMIT } }).then(
    (data) => setHist({ data, error: null }), (error) => setHist({ data: null, error }));
  const loadExplanation = () => api('/api/explain/' + enc(id)).then(
    (data) => setExpl({ data, error: null }), (error) => setExpl({ data: null, error }));

  useLayoutEffect(() => {
    setRec({ data: null, error: null }); setHist({ data: null, error: null }); setExpl({ data: null, error: null });
    setLogAttempt(null);
    loadRecord(); loadHistory(); loadExplanation();
  }, [id]);

  const live = useLiveRefresh(() => Promise.all([loadRecord(), loadHistory(), loadExplanation()]),
    { accept: (d) => d.subject === id, minInterval: 400 });

  const t = rec.data;
  if (!t && rec.error) {
    return html`<${Title} text="Task" /><${ErrorBox} error=${rec.error} />
      <p><a href="#/tasks">Back to the tasks</a></p>`;
  }
  if (!t) return html`<${Title} text=${'Task ' + String(id).slice(0, 8)} /><${Loading} what="Loading the task" />`;

  const attempts = attemptsOf(hist.data ? hist.data.history || [] : [], t);
  const attempt = logAttempt || t.attempt || 1;
  const finished = !UNFINISHED.includes(t.status);
  const inputs = Object.entries(t.input_mapping || {});
  const values = Object.entries(t.values || {});
  const outputs = Object.entries(t.outputs || {});

  return html`<article class="task-page">
    <div class="board-head">
      <${Title} text=${'Task ' + t.task_id.slice(0, 8)} />
      <${Status} value=${t.status} />
      <${LiveBadge} state=${live} />
      <a href="#/tasks">All tasks</a>
    </div>
    ${rec.error && html`<${ErrorBox} error=${rec.error} />`}
    <${Actions} task=${t} session=${session} onChanged=${(x) => { setRec({ data: x, error: null }); loadHistory(); loadExplanation(); }} />
    <div class="grid2">
      <section class="card" aria-labelledby="summary-title">
        <h2 id="summary-title">Summary</h2>
        <dl class="kv">
          <dt>Task</dt><dd><code>${t.task_id}</code></dd>
          <dt>Status</dt><dd><${Status} value=${t.status} /></dd>
          <dt>Module</dt><dd><a href=${href('modules', t.module_ref)}>${t.module_ref}</a></dd>
          <dt>Priority</dt><dd>${t.priority ?? 0}</dd>
          <dt>Attempt</dt><dd>${t.attempt ?? ''}</dd>
          <dt>Created</dt><dd>${fmtTime(t.created_at)}</dd>
          <dt>${finished ? 'Finished' : 'Updated'}</dt><dd>${fmtTime(t.updated_at)}</dd>
          <dt>Trace</dt><dd>${t.trace_id ? html`<a href=${href('tasks', { q: t.trace_id })} aria-label=${'Tasks of trace ' + t.trace_id}><code>${t.trace_id}</code></a>` : ''}</dd>
          ${t.pool && html`<dt>Pool</dt><dd>${t.pool}</dd>`}
          ${t.mode && html`<dt>Mode</dt><dd>${t.mode}</dd>`}
          ${t.idempotency_key && html`<dt>Idempotency key</dt><dd><code>${t.idempotency_key}</code></dd>`}
          ${t.not_before && html`<dt>Not before</dt><dd>${fmtTime(t.not_before)}</dd>`}
          ${t.error && html`<dt>Error</dt><dd class="task-error"><code>${t.error.code}</code> ${t.error.message}
            ${t.error.pointer && html` at <code>${t.error.pointer}</code>`}${t.error.transient ? ' (transient)' : ''}</dd>`}
        </dl>
      </section>
      <section class="card" aria-labelledby="io-title">
        <h2 id="io-title">Inputs and outputs</h2>
        <table class="io-table">
          <caption class="tk-sr">Inputs, values and outputs of the task</caption>
          <thead><tr><th scope="col">Direction</th><th scope="col">Key</th><th scope="col">Asset or value</th></tr></thead>
          <tbody>
            ${inputs.map(([k, v]) => html`<tr key=${'i' + k}><td>input</td><th scope="row">${k}</th>
              <td>${(Array.isArray(v) ? v : [v]).map((a) => html`<${AssetLink} id=${a} /> `)}</td></tr>`)}
            ${values.map(([k, v]) => html`<tr key=${'v' + k}><td>value</td><th scope="row">${k}</th><td><code>${showValue(v)}</code></td></tr>`)}
            ${outputs.map(([k, v]) => html`<tr key=${'o' + k}><td>output</td><th scope="row">${k}</th><td><${AssetLink} id=${v} /></td></tr>`)}
            ${!inputs.length && !values.length && !outputs.length && html`<tr><td colspan="3" class="muted">No inputs or outputs.</td></tr>`}
          </tbody>
        </table>
      </section>
    </div>

    <section class="card" aria-labelledby="attempts-title">
      <h2 id="attempts-title">Attempts</h2>
      ${hist.error && html`<${ErrorBox} error=${hist.error} />`}
      ${!hist.data && !hist.error && html`<${Loading} what="Loading the attempts" />`}
      ${hist.data && html`<table class="attempts-table">
        <thead><tr><th scope="col">Attempt</th><th scope="col">Status</th><th scope="col">Pool</th><th scope="col">Dispatched</th>
          <th scope="col">Ended</th><th scope="col">Took</th><th scope="col">Error</th><th scope="col">Logs</th></tr></thead>
        <tbody>${attempts.map((a) => html`<tr key=${a.n} class=${a.n === attempt ? 'selected' : ''}>
          <th scope="row">${a.n}</th>
          <td><${Status} value=${a.status} />${a.reused ? html` <span class="muted">reused</span>` : ''}${a.reason ? html`<div class="muted small">${a.reason}</div>` : ''}</td>
          <td>${a.pool || ''}</td>
          <td>${fmtTime(a.started)}</td>
          <td>${fmtTime(a.ended)}</td>
          <td>${duration(a.started, a.ended)}</td>
          <td>${a.error ? html`<code>${a.error.code}</code> ${a.error.message}${a.error.transient ? ' (transient)' : ''}` : ''}</td>
          <td><button type="button" class="link" aria-pressed=${a.n === attempt ? 'true' : 'false'}
                onClick=${() => setLogAttempt(a.n)} aria-label=${'Show the logs of attempt ' + a.n}>Show logs</button></td>
        </tr>`)}</tbody>
      </table>`}
      ${hist.data && hist.data.truncated && html`<p class="muted">Only the first ${HISTORY_LIMIT} packets of the task's history were read.</p>`}
    </section>

    <${LogPanel} task=${t} attempt=${attempt} setAttempt=${setLogAttempt} attempts=${attempts} />

    <section class="card" aria-labelledby="explain-title">
      <h2 id="explain-title">Explanation</h2>
      <${Explanation} data=${expl.data} error=${expl.error} />
    </section>

    <section class="card" aria-labelledby="lineage-title">
      <h2 id="lineage-title">Lineage</h2>
      <${LineageGraph} task=${t} />
    </section>
  </article>`;
}

