// One pipeline (#/pipelines/REF): its steps drawn and listed, the form its
// `inputs` generate (launch a run now, or create a trigger), its recent
// runs (live through the node's events), its triggers, its outputs and the
// document as the node holds it.
import { html } from 'htm/preact';
import { api, allows } from '../lib/api.js';
import { ErrorBox, Loading, ShortId, Status, Title, fmtTime, useAsync } from '../lib/ui.js';
import { href } from '../lib/router.js';
import { useLiveRefresh, LiveBadge } from './tasks.js';
import {
  IoSummary, PipelineForm, RUN_EVENT_KINDS, StepGraph, TriggerTable, countsWords, dependsOn, sourceWords,
  stepKind, stepWords,
} from './pipelines.js';

const enc = encodeURIComponent;
/// Runs shown on the page: the newest.
const RECENT = 20;
const KIND_WORDS = { single: 'single', for_each: 'for each', collect: 'collect' };

/// A step's kind as a badge (words, never colour alone).
export function KindBadge({ step }) {
  const kind = stepKind(step);
  return html`<span class=${'pl-inline-badge pl-badge-' + (kind === 'for_each' ? 'foreach' : kind)}>${KIND_WORDS[kind] || kind}</span>
    ${kind === 'for_each' && step.for_each && step.for_each.select && html` <span class="pl-inline-badge pl-badge-select">select</span>`}`;
}

function StepsTable({ steps }) {
  const ids = new Set(steps.map((s) => s.id));
  return html`<div class="pl-table-wrap"><table class="pl-steps">
    <caption class="tk-sr">The steps, in creation order</caption>
    <thead><tr><th scope="col">Step</th><th scope="col">Module</th><th scope="col">Kind</th><th scope="col">Runs</th>
      <th scope="col">After</th><th scope="col">Inputs</th></tr></thead>
    <tbody>${steps.map((s) => html`<tr key=${s.id}>
      <th scope="row"><code>${s.id}</code>${s.description && html`<div class="muted small">${s.description}</div>`}</th>
      <td><a href=${href('modules', s.module)}>${s.module}</a></td>
      <td><${KindBadge} step=${s} /></td>
      <td>${stepWords(s)}</td>
      <td>${dependsOn(s, ids).map((d, i) => html`${i ? ', ' : ''}<code>${d}</code>`)}</td>
      <td><ul class="mod-keys">${Object.entries(s.inputs || {}).map(([k, src]) => html`<li><code>${k}</code> ← ${sourceWords(src)}</li>`)}</ul></td>
    </tr>`)}</tbody>
  </table></div>`;
}

/// Run summaries as a table (the pipeline page and the runs page).
export function RunRows({ items, showPipeline = false, caption = 'Runs, newest first' }) {
  return html`<div class="pl-table-wrap"><table class="pl-runs">
    <caption class="tk-sr">${caption}</caption>
    <thead><tr><th scope="col">Run</th>${showPipeline && html`<th scope="col">Pipeline</th>`}<th scope="col">Status</th>
      <th scope="col">Tasks</th><th scope="col">Started</th><th scope="col">Ended</th><th scope="col">Trigger</th></tr></thead>
    <tbody>${items.map((r) => html`<tr key=${r.run_id}>
      <td><a href=${href('runs', r.run_id)} aria-label=${'Run ' + r.run_id}><${ShortId} id=${r.run_id} /></a></td>
      ${showPipeline && html`<td><a href=${href('pipelines', r.pipeline)}>${r.pipeline}</a></td>`}
      <td><${Status} value=${r.status} /></td>
      <td>${countsWords(r.tasks)}</td>
      <td>${fmtTime(r.created_at)}</td>
      <td>${fmtTime(r.ended_at)}</td>
      <td>${r.trigger_id ? html`<${ShortId} id=${r.trigger_id} />` : html`<span class="muted">by hand</span>`}</td>
    </tr>`)}</tbody>
  </table></div>`;
}

export function PipelinePage({ params = [], session }) {
  const ref = params[0] || '';
  const canRun = allows(session, 'operator');
  const doc = useAsync(() => api('/api/pipelines/' + enc(ref)), [ref]);
  const runs = useAsync(() => api('/api/runs', { query: { pipeline: ref, limit: RECENT } }), [ref]);
  const triggers = useAsync(() => api('/api/triggers'), [ref]);
  // The recent runs follow their events; a task's end changes a run's counts.
  const live = useLiveRefresh(runs.reload,
    { kinds: [...RUN_EVENT_KINDS, 'task.succeeded', 'task.failed', 'task.cancelled', 'trigger.fired'], minInterval: 1000 });

  const p = doc.data;
  if (doc.error) return html`<${Title} text=${'Pipeline ' + ref} /><${ErrorBox} error=${doc.error} /><p><a href="#/pipelines">All pipelines</a></p>`;
  if (!p) return html`<${Title} text=${'Pipeline ' + ref} /><${Loading} what="Loading the pipeline" />`;
  const steps = p.steps || [];
  const mine = ((triggers.data && triggers.data.items) || []).filter((t) => t.pipeline === ref);
  const runItems = (runs.data && runs.data.items) || [];
  return html`<article class="pl-page">
    <p class="mod-crumbs"><a href="#/pipelines">Pipelines</a> / <code>${ref}</code></p>
    <div class="board-head">
      <${Title} text=${'Pipeline ' + ref} />
      <${LiveBadge} state=${live} />
    </div>
    ${p.description && html`<p>${p.description}</p>`}

    <section class="card" aria-labelledby="pl-steps-title">
      <h2 id="pl-steps-title">Steps</h2>
      <${StepGraph} steps=${steps} label=${'Steps of ' + ref} />
      <${StepsTable} steps=${steps} />
    </section>

    <${PipelineForm} key=${ref} pipeline=${{ ...p, ref }} canRun=${canRun} schedule="choice" onCreated=${triggers.reload} />

    <section class="card" aria-labelledby="pl-runs-title">
      <h2 id="pl-runs-title">Recent runs</h2>
      <${ErrorBox} error=${runs.error} />
      ${!runs.data && !runs.error ? html`<${Loading} what="Loading the runs" />`
        : runItems.length === 0 ? html`<p class="muted">No run yet.</p>`
        : html`<${RunRows} items=${runItems} caption=${'Recent runs of ' + ref + ', newest first'} />`}
      ${runs.data && runs.data.next_cursor && html`<p><a href=${href('runs', { pipeline: ref })}>All runs of ${ref}</a></p>`}
    </section>

    <div class="grid2">
      <section class="card" aria-labelledby="pl-schedules-title">
        <h2 id="pl-schedules-title">Triggers</h2>
        <${ErrorBox} error=${triggers.error} />
        ${triggers.data && html`<${TriggerTable} items=${mine} canWork=${false} showPipeline=${false} />`}
        <p class="muted small">Triggers are removed on the <a href="#/pipelines">Pipelines</a> page.</p>
      </section>
      <section class="card" aria-labelledby="pl-io-title">
        <h2 id="pl-io-title">Inputs and outputs</h2>
        <${IoSummary} pipeline=${p} />
      </section>
    </div>

    <section class="card" aria-labelledby="pl-doc-title">
      <h2 id="pl-doc-title">The document</h2>
      <details><summary>The pipeline as the node holds it (with each step's kind, scope and dependencies)</summary>
        <pre tabindex="0" aria-label=${'The document of ' + ref}>${JSON.stringify(p, null, 2)}</pre></details>
    </section>
  </article>`;
}
