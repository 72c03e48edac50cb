// A pipeline's run (#/runs/ID): its status, its steps drawn with how far
// each got, each step's tasks per status and its fan-out's progress
// (branches done of those created), the elements that did not succeed
// (linked to their tasks), the run's outputs (linked to their assets), the
// operator's pause, resume, retry and cancel, and, for a run whose steps
// make clips (an editor step: a video output, a ClipCandidate input), a
// player per clip with its candidate's scores and Pantheon's votes
// (run_clips.js). It follows the node's events
// about the run and its tasks (throttled, as the task page does). The runs
// (#/runs?pipeline=&status=) are listed newest first.
import { html } from 'htm/preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { api, allows, page } from '../lib/api.js';
import { ErrorBox, Loading, ShortId, Status, Title, fmtTime, usePager, Pager, useAsync } from '../lib/ui.js';
import { href, navigate } from '../lib/router.js';
import { useLiveRefresh, LiveBadge, TASK_STATUSES, TASK_EVENT_KINDS } from './tasks.js';
import { RUN_EVENT_KINDS, RUN_STATUSES, StepGraph, runActive, stepKind } from './pipelines.js';
import { KindBadge, RunRows } from './pipeline.js';
import { ClipsSection } from './run_clips.js';

const enc = encodeURIComponent;
/// The events that may change a run: its own, its tasks', and Zenith's
/// decisions (a fan-out creating tasks).
const LIVE_KINDS = [...RUN_EVENT_KINDS, ...TASK_EVENT_KINDS, 'decision.zenith'];
/// While a run is active it is also read again this often, in case an event
/// was missed (a reconnect).
const SAFETY_POLL_MS = 10000;
/// Rows of the task list shown before "Show all".
const TASK_ROWS = 100;
const PAGE_SIZE = 50;
const OPEN = ['PENDING', 'READY', 'RUNNING'];

const sumCounts = (t) => Object.entries(t || {}).reduce((n, [k, v]) => (k === 'total' ? n : n + (Number(v) || 0)), 0);

/// How far a step of a run got: tasks created (`branches`), done, failed,
/// still open; for a fan-out, the elements its decisions kept.
export function stepProgress(s) {
  const t = s.tasks || {};
  const created = s.branches ?? sumCounts(t);
  const done = t.DONE || 0;
  const failed = (t.ERROR || 0) + (t.CANCELLED || 0);
  const open = OPEN.reduce((n, k) => n + (t[k] || 0), 0);
  const fanouts = s.fanouts && Object.keys(s.fanouts).length ? s.fanouts : null;
  const expected = fanouts ? Object.values(fanouts).reduce((n, v) => n + (Number(v) || 0), 0) : null;
  const state = created === 0 ? 'waiting' : open > 0 ? 'running' : failed > 0 && done === 0 ? 'failed' : failed > 0 ? 'partial' : 'done';
  const text = created === 0 ? 'not started' : `${done}/${created} done` + (failed ? `, ${failed} failed` : '');
  return { created, done, failed, open, expected, fanouts, state, text };
}

function AssetLink({ id }) {
  return html`<a href=${href('assets', id)} aria-label=${'Asset ' + id}><${ShortId} id=${id} /></a>`;
}

function TaskLink({ id }) {
  return html`<a href=${href('tasks', id)} aria-label=${'Task ' + id}><${ShortId} id=${id} /></a>`;
}

function branchWords(b) {
  return b === '' || b === undefined || b === null ? html`<span class="muted">root</span>` : html`<code>${b}</code>`;
}

// -- the operator's actions -----------------------------------------------------------

function Actions({ run, session, onChanged }) {
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState(null);
  const [error, setError] = useState(null);
  const [confirming, setConfirming] = useState(false);
  useEffect(() => { setResult(null); setError(null); setConfirming(false); }, [run.run_id]);
  if (!allows(session, 'operator'))
    return html`<p class="muted actions-note">Your token's role (${session && session.role}) can look at runs but not change them.</p>`;
  const active = runActive(run.status);
  const retryable = run.status === 'FAILED' || (run.status === 'DONE' && (run.missing || []).length > 0);

  async function act(action, words) {
    setBusy(true); setError(null); setResult(null); setConfirming(false);
    try {
      const r = await api(`/api/runs/${enc(run.run_id)}/${action}`, { method: 'POST' });
      setResult({ text: `${words}: the run is ${r.status}.`, status: r.status });
      onChanged(r);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }
  return html`<section class="card tk-actions" aria-labelledby="run-actions-title">
    <h2 id="run-actions-title">Actions</h2>
    <div class="toolbar">
      ${run.status === 'RUNNING' && html`<button type="button" class="secondary" disabled=${busy} onClick=${() => act('pause', 'Paused')}
          aria-describedby="run-pause-hint">Pause run</button>`}
      ${run.status === 'PAUSED' && html`<button type="button" disabled=${busy} onClick=${() => act('resume', 'Resumed')}>Resume run</button>`}
      ${retryable && html`<button type="button" disabled=${busy} onClick=${() => act('retry', 'Retried')}>Retry failed tasks</button>`}
      ${active && !confirming && html`<button type="button" class="danger" disabled=${busy} onClick=${() => setConfirming(true)}>Cancel run</button>`}
      ${active && confirming && html`<span role="group" aria-label="Confirm the cancel">
        <span>Cancel every unfinished task of this run?</span>
        <button type="button" class="danger" disabled=${busy} onClick=${() => act('cancel', 'Cancelled')}>Yes, cancel the run</button>
        <button type="button" class="secondary" onClick=${() => setConfirming(false)}>Keep it running</button></span>`}
      ${!active && !retryable && html`<span class="muted">The run has ended${run.status === 'DONE' ? ' with every element done' : ''}: nothing to do.</span>`}
    </div>
    ${run.status === 'RUNNING' && html`<p id="run-pause-hint" class="muted small">While a run is paused no task of it is dispatched: the tasks it created wait READY until it is resumed.</p>`}
    ${run.status === 'PAUSED' && html`<p class="muted small">The run is paused: its tasks wait READY.</p>`}
    ${retryable && html`<p class="muted small">Retry re-runs the tasks that failed on their own, then what waited on them, and gathers again.</p>`}
    ${result && result.status === run.status && html`<p class="tk-ok" role="status">${result.text}</p>`}
    <${ErrorBox} error=${error} />
  </section>`;
}

// -- the steps ---------------------------------------------------------------------------

function StatusCounts({ tasks }) {
  const t = tasks || {};
  const keys = [...TASK_STATUSES.filter((s) => t[s]), ...Object.keys(t).filter((k) => k !== 'total' && !TASK_STATUSES.includes(k) && t[k])];
  if (!keys.length) return html`<span class="muted">no task yet</span>`;
  return html`<ul class="run-counts">${keys.map((k) => html`<li><${Status} value=${k} /> ${t[k]}</li>`)}</ul>`;
}

function StepRows({ steps }) {
  return html`<div class="pl-table-wrap"><table class="run-steps">
    <caption class="tk-sr">The run's steps: tasks per status and how far each got</caption>
    <thead><tr><th scope="col">Step</th><th scope="col">Module</th><th scope="col">Kind</th>
      <th scope="col">Progress (done of created)</th><th scope="col">Tasks per status</th><th scope="col">Fan-out</th></tr></thead>
    <tbody>${steps.map((s) => {
      const p = stepProgress(s);
      const kind = stepKind(s);
      // the fan-outs it runs under (a for_each step's scope ends with itself)
      const under = (s.scope || []).filter((x) => x !== s.id);
      return html`<tr key=${s.id} data-step=${s.id}>
        <th scope="row"><code>${s.id}</code>${under.length ? html`<div class="muted small">in each element of ${under.join(' → ')}</div>` : ''}</th>
        <td><a href=${href('modules', s.module)}>${s.module}</a></td>
        <td><${KindBadge} step=${s} /></td>
        <td><div class="run-progress">
          <progress max=${Math.max(1, p.created)} value=${p.done} aria-label=${`${s.id}: ${p.done} of ${p.created} tasks done`}></progress>
          <span class="run-progress-text">${p.done} of ${p.created} done${p.failed ? `, ${p.failed} failed` : ''}${p.open ? `, ${p.open} open` : ''}</span>
        </div></td>
        <td><${StatusCounts} tasks=${s.tasks} /></td>
        <td>${kind === 'for_each'
          ? p.fanouts ? html`${p.expected} element${p.expected === 1 ? '' : 's'} kept, ${p.created} branch${p.created === 1 ? '' : 'es'} created
              ${Object.keys(p.fanouts).length > 1 || Object.keys(p.fanouts)[0] !== '' ? html`<div class="muted small">${Object.entries(p.fanouts).map(([b, n]) => `${b === '' ? 'root' : b}: ${n}`).join(', ')}</div>` : ''}`
            : html`<span class="muted">not decided yet</span>`
          : kind === 'collect' ? html`<span class="muted">gathers its elements</span>` : html`<span class="muted">—</span>`}</td>
      </tr>`;
    })}</tbody>
  </table></div>`;
}

function TaskList({ items, truncated }) {
  const [step, setStep] = useState('');
  const [all, setAll] = useState(false);
  const steps = [...new Set(items.map((t) => t.step))];
  const shown = items.filter((t) => !step || t.step === step);
  const rows = all ? shown : shown.slice(0, TASK_ROWS);
  return html`<div>
    <div class="toolbar">
      <div>
        <label for="run-task-step">Step</label>
        <select id="run-task-step" value=${step} onChange=${(e) => setStep(e.target.value)}>
          <option value="">All steps</option>
          ${steps.map((s) => html`<option value=${s}>${s}</option>`)}
        </select>
      </div>
      <span class="muted">${shown.length} task${shown.length === 1 ? '' : 's'}${truncated ? ' (the first 1,000 of the run)' : ''}</span>
    </div>
    <div class="pl-table-wrap"><table class="run-tasks">
      <caption class="tk-sr">The run's tasks, in creation order</caption>
      <thead><tr><th scope="col">Task</th><th scope="col">Step</th><th scope="col">Branch</th><th scope="col">Status</th></tr></thead>
      <tbody>${rows.map((t) => html`<tr key=${t.task_id}>
        <td><${TaskLink} id=${t.task_id} /></td><td><code>${t.step}</code></td><td>${branchWords(t.branch)}</td><td><${Status} value=${t.status} /></td>
      </tr>`)}</tbody>
    </table></div>
    ${!all && shown.length > TASK_ROWS && html`<button type="button" class="secondary" onClick=${() => setAll(true)}>Show all ${shown.length} tasks</button>`}
  </div>`;
}

function Explanation({ id }) {
  const [open, setOpen] = useState(false);
  return html`<details class="run-explain" onToggle=${(e) => setOpen(e.target.open)}>
    <summary>HaloLux's story of the run, from its packets</summary>
    ${open && html`<${ExplanationBody} id=${id} />`}
  </details>`;
}

function ExplanationBody({ id }) {
  const ex = useAsync(() => api(`/api/runs/${enc(id)}/explain`), [id]);
  if (ex.error) return html`<${ErrorBox} error=${ex.error} />`;
  if (!ex.data) return html`<${Loading} what="Loading the explanation" />`;
  const d = ex.data;
  return html`<div class="explanation">
    ${d.chain && html`<ol class="chain">${d.chain.map((c, i) => html`<li key=${i}>${c.statement}
      ${c.packet_id && html`<a class="packet" href=${'/api/lineage/' + enc(c.packet_id)} target="_blank" rel="noopener"
        aria-label=${'Packet ' + c.packet_id + ' (opens the raw packet)'}><code>${c.packet_id.slice(0, 10)}</code></a>`}</li>`)}</ol>`}
    ${d.narrative && html`<p class="narrative">${d.narrative}</p>`}
    ${!d.chain && !d.narrative && html`<pre>${JSON.stringify(d, null, 2)}</pre>`}
  </div>`;
}

// -- the page -----------------------------------------------------------------------------

export function RunPage({ params = [], session }) {
  const id = params[0] || '';
  const [run, setRun] = useState({ data: null, error: null });
  const [pipeline, setPipeline] = useState({ ref: null, data: null, error: null });
  const known = useRef({ tasks: new Set(), active: true });
  const seq = useRef(0);

  const load = () => {
    const n = ++seq.current;
    return api('/api/runs/' + enc(id)).then(
      (data) => { if (n === seq.current) setRun({ data, error: null }); },
      (error) => { if (n === seq.current) setRun((r) => ({ data: r.data, error })); });
  };
  useLayoutEffect(() => { setRun({ data: null, error: null }); load(); }, [id]);

  const r = run.data;
  if (r) {
    known.current.tasks = new Set((r.task_ids || []).map((t) => t.task_id));
    known.current.active = runActive(r.status);
  }
  const ref = r && r.pipeline;
  useEffect(() => {
    if (!ref || pipeline.ref === ref) return;
    let live = true;
    api('/api/pipelines/' + enc(ref)).then(
      (data) => live && setPipeline({ ref, data, error: null }), (error) => live && setPipeline({ ref, data: null, error }));
    return () => { live = false; };
  }, [ref]);

  const live = useLiveRefresh(load, {
    kinds: LIVE_KINDS, minInterval: 400,
    accept: (d) => (RUN_EVENT_KINDS.includes(d.kind) ? d.subject === id
      : d.kind === 'decision.zenith' ? known.current.active
      : known.current.tasks.has(d.subject)),
  });
  const active = r ? runActive(r.status) : false;
  useEffect(() => {
    if (!active) return undefined;
    const t = setInterval(load, SAFETY_POLL_MS);
    return () => clearInterval(t);
  }, [active, id]);

  if (!r && run.error)
    return html`<${Title} text="Run" /><${ErrorBox} error=${run.error} /><p><a href="#/pipelines">Back to the pipelines</a></p>`;
  if (!r) return html`<${Title} text=${'Run ' + String(id).slice(0, 8)} /><${Loading} what="Loading the run" />`;

  const steps = r.steps || [];
  const stats = Object.fromEntries(steps.map((s) => { const p = stepProgress(s); return [s.id, { state: p.state, text: p.text }]; }));
  // The graph: the pipeline's steps (their sources and dependencies) with the run's figures.
  const graphSteps = pipeline.data && pipeline.data.steps ? pipeline.data.steps : steps;
  const total = r.tasks ? r.tasks.total ?? sumCounts(r.tasks) : 0;
  const ended = r.tasks ? total - OPEN.reduce((n, k) => n + (r.tasks[k] || 0), 0) : 0;
  const outputKeys = [...new Set([...Object.keys((pipeline.data && pipeline.data.outputs) || {}), ...Object.keys(r.outputs || {})])];
  const missing = r.missing || [];
  const inputs = Object.entries(r.inputs || {});
  const values = Object.entries(r.values || {});

  return html`<article class="run-page">
    <p class="mod-crumbs"><a href="#/pipelines">Pipelines</a> / <a href=${href('pipelines', r.pipeline)}>${r.pipeline}</a> / run</p>
    <div class="board-head">
      <${Title} text=${'Run ' + r.run_id.slice(0, 8)} />
      <span class="run-status" role="status" aria-label=${'Run status ' + r.status}><${Status} value=${r.status} /></span>
      <${LiveBadge} state=${live} />
      <a href=${href('pipelines', r.pipeline)}>Pipeline ${r.pipeline}</a>
    </div>
    ${run.error && html`<${ErrorBox} error=${run.error} />`}
    <${Actions} run=${r} session=${session} onChanged=${(x) => { seq.current++; setRun({ data: x, error: null }); load(); }} />

    <div class="grid2">
      <section class="card" aria-labelledby="run-summary-title">
        <h2 id="run-summary-title">Summary</h2>
        <dl class="kv">
          <dt>Run</dt><dd><code>${r.run_id}</code></dd>
          <dt>Pipeline</dt><dd><a href=${href('pipelines', r.pipeline)}>${r.pipeline}</a></dd>
          <dt>Status</dt><dd><${Status} value=${r.status} /></dd>
          ${r.mode && html`<dt>Mode</dt><dd>${r.mode}</dd>`}
          ${r.priority !== undefined && html`<dt>Priority</dt><dd>${r.priority}</dd>`}
          <dt>Started</dt><dd>${fmtTime(r.created_at)}</dd>
          <dt>Updated</dt><dd>${fmtTime(r.updated_at)}</dd>
          ${r.ended_at && html`<dt>Ended</dt><dd>${fmtTime(r.ended_at)}</dd>`}
          ${r.trigger_id && html`<dt>Trigger</dt><dd><${ShortId} id=${r.trigger_id} /></dd>`}
          ${r.requested_by && html`<dt>Requested by</dt><dd>${r.requested_by}</dd>`}
          ${r.error && html`<dt>Error</dt><dd class="task-error"><code>${r.error.code}</code> ${r.error.message}
            ${r.error.pointer && html` at <code>${r.error.pointer}</code>`}</dd>`}
          <dt>Inputs</dt><dd>${inputs.length || values.length ? html`<ul class="mod-keys">
            ${inputs.map(([k, v]) => html`<li><code>${k}</code> = <${AssetLink} id=${v} /></li>`)}
            ${values.map(([k, v]) => html`<li><code>${k}</code> = <code>${typeof v === 'string' ? v : JSON.stringify(v)}</code></li>`)}
          </ul>` : html`<span class="muted">none</span>`}</dd>
        </dl>
      </section>
      <section class="card" aria-labelledby="run-tasks-count-title">
        <h2 id="run-tasks-count-title">Tasks</h2>
        <div class="run-progress">
          <progress max=${Math.max(1, total)} value=${ended} aria-label=${`Tasks ended: ${ended} of ${total}`}></progress>
          <span class="run-progress-text">${ended} of ${total} task${total === 1 ? '' : 's'} ended</span>
        </div>
        <${StatusCounts} tasks=${r.tasks} />
        <h3 id="run-outputs-title">Outputs</h3>
        ${outputKeys.length === 0 ? html`<p class="muted">The pipeline names no outputs.</p>` : html`<table class="run-outputs" aria-labelledby="run-outputs-title">
          <thead><tr><th scope="col">Output</th><th scope="col">Assets</th></tr></thead>
          <tbody>${outputKeys.map((k) => {
            const v = (r.outputs || {})[k];
            return html`<tr key=${k} data-output=${k}><th scope="row"><code>${k}</code></th>
              <td>${v === undefined || v === null ? html`<span class="muted">not yet: its step has not finished</span>`
                : Array.isArray(v) ? (v.length ? v.map((a, i) => html`${i ? ' ' : ''}<${AssetLink} id=${a} />`) : html`<span class="muted">an empty list</span>`)
                : html`<${AssetLink} id=${v} />`}</td></tr>`;
          })}</tbody>
        </table>`}
      </section>
    </div>

    <section class="card" aria-labelledby="run-steps-title">
      <h2 id="run-steps-title">Steps</h2>
      ${pipeline.error && html`<${ErrorBox} error=${pipeline.error} />`}
      <${StepGraph} steps=${graphSteps} stats=${stats} label=${'Steps of run ' + r.run_id.slice(0, 8) + ' of ' + r.pipeline} />
      <${StepRows} steps=${steps} />
    </section>

    <${ClipsSection} run=${r} />

    ${missing.length > 0 && html`<section class="card" aria-labelledby="run-missing-title">
      <h2 id="run-missing-title">Missing elements (${missing.length})</h2>
      <p class="muted">Elements that did not succeed. One element's failure never fails its siblings; a collect gathers the others.</p>
      <div class="pl-table-wrap"><table class="run-missing">
        <thead><tr><th scope="col">Step</th><th scope="col">Branch</th><th scope="col">Task</th><th scope="col">Why</th></tr></thead>
        <tbody>${missing.map((m) => html`<tr key=${m.task_id + m.branch}>
          <td><code>${m.step}</code></td><td>${branchWords(m.branch)}</td>
          <td>${m.task_id ? html`<${TaskLink} id=${m.task_id} />` : ''}</td>
          <td><code class="task-error">${m.code}</code> ${m.message}</td>
        </tr>`)}</tbody>
      </table></div>
    </section>`}

    <section class="card" aria-labelledby="run-task-list-title">
      <h2 id="run-task-list-title">Tasks of the run</h2>
      ${(r.task_ids || []).length === 0 ? html`<p class="muted">No task yet.</p>`
        : html`<${TaskList} items=${r.task_ids} truncated=${!!r.tasks_truncated} />`}
    </section>

    <section class="card" aria-labelledby="run-explain-title">
      <h2 id="run-explain-title">Explanation</h2>
      <${Explanation} id=${r.run_id} />
    </section>
  </article>`;
}

/// The runs, newest first, filtered by pipeline and status (#/runs).
export function RunsPage({ query = {} }) {
  const status = query.status || '';
  const pipeline = query.pipeline || '';
  const [typed, setTyped] = useState(pipeline);
  useEffect(() => setTyped(pipeline), [pipeline]);
  const pager = usePager(status + '|' + pipeline);
  const list = useAsync(() => page('/api/runs', { limit: PAGE_SIZE, cursor: pager.cursor, status, pipeline }),
    [status, pipeline, pager.cursor]);
  const live = useLiveRefresh(list.reload, { kinds: RUN_EVENT_KINDS, minInterval: 1000 });
  const set = (next) => navigate(href('runs', { status, pipeline, ...next }));
  const items = list.data ? list.data.items || [] : null;
  return html`<section class="pl-page">
    <div class="board-head">
      <${Title} text="Runs" />
      <${LiveBadge} state=${live} />
      <a href="#/pipelines">Pipelines</a>
    </div>
    <form class="toolbar" role="search" aria-label="Filter runs" onSubmit=${(e) => { e.preventDefault(); set({ pipeline: typed.trim() }); }}>
      <div>
        <label for="runs-status">Status</label>
        <select id="runs-status" value=${status} onChange=${(e) => set({ status: e.target.value })}>
          <option value="">All statuses</option>
          ${RUN_STATUSES.map((s) => html`<option value=${s}>${s}</option>`)}
        </select>
      </div>
      <div>
        <label for="runs-pipeline">Pipeline</label>
        <input id="runs-pipeline" type="text" size="24" value=${typed} placeholder="name@version" onInput=${(e) => setTyped(e.target.value)} />
      </div>
      <button type="submit">Apply</button>
    </form>
    <${ErrorBox} error=${list.error} />
    ${!items && !list.error && html`<${Loading} what="Loading the runs" />`}
    ${items && (items.length === 0 ? html`<p class="empty">No runs match.</p>` : html`<${RunRows} items=${items} showPipeline=${true} />`)}
    ${list.data && html`<${Pager} pager=${pager} nextCursor=${list.data.next_cursor} label="Pages of runs" />`}
  </section>`;
}
