// The run page's "Clips" section (web/pages/run.js): a preview of each clip a
// run's editor steps made, with its candidate's scores and Pantheon's votes.
//
// The dashboard knows no module, so a "clip step" is found from the
// contracts: a step whose module has an output of a `video/*` media type
// (the clip) and a `json` VALUE input holding a ClipCandidate (schema
// `ClipCandidate`, or the key `candidate`). Any pipeline built that way
// (`clips@1`: scraper -> analyzer per video -> editor per selected
// candidate) gets the section; others do not.
//
// What is fetched, all in parallel and only for the clips shown:
//   - the contract of each module of the run's steps, once per page load
//     (a ref names one immutable contract);
//   - per clip task, its record (`GET /api/tasks/{id}`: the candidate's and
//     the clip's asset ids), again only when its status changes, then its
//     candidate (`GET /api/assets/{id}`, a VALUE: start and end, scores,
//     votes), once;
//   - the run's own packets (`GET /api/lineage/{run_id}`), once per set of
//     branches: Pantheon's advice (`advice.pantheon`, its report inline and
//     as an asset, `report_asset`) and each fan-out's decision (`kept`,
//     `promoted`: which report row each promoted candidate is). A report
//     left out of its packet is read from its asset.
// The player's `src` is the clip's content URL: the session cookie goes
// with it (no token in JavaScript), and the node answers Range requests, so
// the player seeks.
import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../lib/api.js';
import { ErrorBox, Loading, ShortId, Status } from '../lib/ui.js';
import { href } from '../lib/router.js';

const enc = encodeURIComponent;
/// Clips shown before "Show all": each is a player and two small tables.
const CLIPS_SHOWN = 24;
/// Tags shown per clip before "+N more".
const TAGS_SHOWN = 12;
/// The run's packets read for Pantheon's reports (a run has a few per fan-out).
const LINEAGE_LIMIT = 10000;
const ENDED = ['DONE', 'ERROR', 'CANCELLED', 'SKIPPED'];

// Contracts and candidates never change under their ids: kept for the page's life.
const contracts = new Map(); // module ref -> Promise<contract>
const candidates = new Map(); // asset id -> Promise<asset record>

function contractOf(ref) {
  if (!contracts.has(ref)) {
    const p = api('/api/modules/' + enc(ref));
    p.catch(() => contracts.delete(ref));
    contracts.set(ref, p);
  }
  return contracts.get(ref);
}

function candidateOf(id) {
  if (!candidates.has(id)) {
    const p = api('/api/assets/' + enc(id));
    p.catch(() => candidates.delete(id));
    candidates.set(id, p);
  }
  return candidates.get(id);
}

/// The keys of a clip step's module: `{clip, candidate, video}` (video: an
/// ASSET input of video/*, the source), or null when it makes no clip.
export function clipKeys(contract) {
  if (!contract) return null;
  const outs = contract.outputs || [];
  const ins = contract.inputs || [];
  const videoOut = (o) => String(o.media_type || '').toLowerCase().startsWith('video/') && !o.many;
  const clip = outs.find((o) => o.key === 'clip' && videoOut(o)) || outs.find(videoOut);
  const isCandidate = (i) => i.contract_type === 'VALUE' && i.dtype === 'json'
    && ((i.constraints && i.constraints.schema === 'ClipCandidate') || i.key === 'candidate');
  const candidate = ins.find((i) => isCandidate(i) && i.constraints && i.constraints.schema === 'ClipCandidate') || ins.find(isCandidate);
  if (!clip || !candidate) return null;
  const video = ins.find((i) => i.contract_type === 'ASSET'
    && ((i.constraints && i.constraints.media_types) || []).some((m) => String(m).startsWith('video/')));
  return { clip: clip.key, candidate: candidate.key, video: video ? video.key : null };
}

/// A branch "1/0": the branch its fan-out was decided in ("1") and the
/// element's place among those kept (0).
export function splitBranch(b) {
  const s = String(b ?? '');
  const i = s.lastIndexOf('/');
  return { parent: i < 0 ? '' : s.slice(0, i), ordinal: Number(i < 0 ? s : s.slice(i + 1)) };
}

function compareBranches(a, b) {
  const x = String(a).split('/').map(Number);
  const y = String(b).split('/').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? -1) - (y[i] ?? -1);
    if (d) return d;
  }
  return 0;
}

const num = (v, d = 2) => (typeof v === 'number' && isFinite(v) ? v.toFixed(d) : '—');
function secs(v) {
  if (typeof v !== 'number' || !isFinite(v)) return '—';
  if (v < 60) return v.toFixed(2) + ' s';
  const m = Math.floor(v / 60);
  return `${m}:${(v - 60 * m).toFixed(2).padStart(5, '0')}`;
}

/// Pantheon's reports and the fan-out decisions of the clip steps, by
/// "step\nbranch", from the run's packets.
async function loadAdvice(runId, steps) {
  const h = await api('/api/lineage/' + enc(runId), { query: { limit: LINEAGE_LIMIT } });
  const reports = {};
  const decisions = {};
  for (const p of h.history || []) {
    const pl = p.payload || {};
    if (!steps.includes(pl.step)) continue;
    const key = pl.step + '\n' + (pl.branch ?? '');
    if (p.kind === 'advice.pantheon')
      reports[key] = { report: pl.report || null, asset: pl.report_asset || null, personas: pl.personas || null, packet: p.id };
    else if (p.kind === 'decision.zenith' && pl.decision === 'fan_out')
      decisions[key] = { kept: pl.kept || [], promoted: pl.promoted || [], asset: pl.report_asset || null };
  }
  // A report the packet does not carry: read from its asset.
  await Promise.all(Object.values(reports).filter((r) => !r.report && r.asset).map((r) =>
    api('/api/assets/' + enc(r.asset) + '/content').then((x) => { r.report = x; }, () => {})));
  return { reports, decisions, truncated: !!h.truncated };
}

/// A clip task's record and its candidate: {task, candidate, error}.
async function loadClip(taskId, keys) {
  const task = await api('/api/tasks/' + enc(taskId));
  const cid = (task.input_mapping || {})[keys.candidate];
  const rec = cid ? await candidateOf(cid) : null;
  return { task, candidateId: cid || null, candidate: rec && rec.value && typeof rec.value === 'object' ? rec.value : null };
}

/// Which row of its branch's report a clip's candidate is: the clip id's
/// place among the promoted ones, else the element's place among the kept.
function reportIndex(decision, candidate, ordinal) {
  if (!decision) return null;
  const j = candidate && candidate.clip_id ? decision.promoted.indexOf(candidate.clip_id) : -1;
  const at = j >= 0 ? j : ordinal;
  return Number.isInteger(at) && at >= 0 && at < decision.kept.length ? decision.kept[at] : null;
}

// -- the section ---------------------------------------------------------------------------

export function ClipsSection({ run }) {
  const steps = run.steps || [];
  const modulesKey = [...new Set(steps.map((s) => s.module))].sort().join(' ');
  const [keys, setKeys] = useState(null); // step id -> clipKeys
  const [keysError, setKeysError] = useState(null);
  useEffect(() => {
    let live = true;
    const refs = modulesKey ? modulesKey.split(' ') : [];
    Promise.all(refs.map((r) => contractOf(r).then((c) => [r, clipKeys(c)], () => [r, null]))).then((pairs) => {
      if (!live) return;
      const byModule = Object.fromEntries(pairs);
      const out = {};
      for (const s of steps) if (byModule[s.module]) out[s.id] = byModule[s.module];
      setKeys(out);
    }, (e) => live && setKeysError(e));
    return () => { live = false; };
  }, [modulesKey]);

  const [all, setAll] = useState(false);
  const clipTasks = keys ? (run.task_ids || []).filter((t) => keys[t.step])
    .sort((a, b) => (a.step < b.step ? -1 : a.step > b.step ? 1 : compareBranches(a.branch, b.branch))) : [];
  const shown = all ? clipTasks : clipTasks.slice(0, CLIPS_SHOWN);
  const clipSteps = keys ? Object.keys(keys).sort() : [];
  const taskKey = shown.map((t) => `${t.task_id}:${t.status}`).join(',');
  const adviceKey = clipSteps.join(',') + '|' + [...new Set(shown.map((t) => t.step + '\n' + splitBranch(t.branch).parent))].sort().join(',');

  // Pantheon's advice: again when a new branch's clips appear.
  const [advice, setAdvice] = useState({ data: null, error: null });
  useEffect(() => {
    if (!keys || !shown.length) return undefined;
    let live = true;
    loadAdvice(run.run_id, clipSteps).then((data) => live && setAdvice({ data, error: null }),
      (error) => live && setAdvice((a) => ({ data: a.data, error })));
    return () => { live = false; };
  }, [run.run_id, adviceKey, !!keys]);

  // The clips' records: a task again only when its status changed.
  const cache = useRef(new Map()); // task id -> {status, result}
  const [clips, setClips] = useState({});
  useEffect(() => {
    if (!keys || !shown.length) return undefined;
    let live = true;
    Promise.all(shown.map(async (t) => {
      const had = cache.current.get(t.task_id);
      if (had && had.status === t.status && !had.result.error) return [t.task_id, had.result];
      let result;
      try { result = await loadClip(t.task_id, keys[t.step]); } catch (error) { result = { error }; }
      cache.current.set(t.task_id, { status: t.status, result });
      return [t.task_id, result];
    })).then((pairs) => live && setClips(Object.fromEntries(pairs)));
    return () => { live = false; };
  }, [taskKey, !!keys]);

  if (keysError) return html`<section class="card" aria-labelledby="run-clips-title"><h2 id="run-clips-title">Clips</h2><${ErrorBox} error=${keysError} /></section>`;
  if (!keys || !clipSteps.length) return null;

  // Grouped by the branch their fan-out was decided in: one video each in clips@1.
  const groups = [];
  for (const t of shown) {
    const { parent, ordinal } = splitBranch(t.branch);
    const gk = t.step + '\n' + parent;
    let g = groups.find((x) => x.key === gk);
    if (!g) groups.push(g = { key: gk, step: t.step, parent, items: [] });
    g.items.push({ t, ordinal });
  }
  const done = clipTasks.filter((t) => t.status === 'DONE').length;
  const multiStep = clipSteps.length > 1;

  return html`<section class="card run-clips" aria-labelledby="run-clips-title">
    <h2 id="run-clips-title">Clips (${done} of ${clipTasks.length} made)</h2>
    <p class="muted small">Each clip the ${clipSteps.map((s, i) => html`${i ? ', ' : ''}<code>${s}</code>`)} step made, grouped by the
      branch it was selected in (one source video each), with its candidate's scores and how Pantheon's personas voted on it.</p>
    ${advice.error && html`<${ErrorBox} error=${advice.error} />`}
    ${advice.data && advice.data.truncated && html`<p class="muted small">The run has more packets than were read: a report may be missing.</p>`}
    ${clipTasks.length === 0 && html`<p class="muted">No clip yet: the clip tasks are created once their candidates are selected.</p>`}
    ${groups.map((g) => {
      const key = g.step + '\n' + g.parent;
      const rep = advice.data ? advice.data.reports[key] : null;
      const dec = advice.data ? advice.data.decisions[key] : null;
      const first = clips[g.items[0].t.task_id];
      const videoKey = keys[g.step].video;
      const source = first && first.task && videoKey ? (first.task.input_mapping || {})[videoKey] : null;
      const name = (g.parent === '' ? 'The run' : `Branch ${g.parent}`) + (multiStep ? ` (${g.step})` : '');
      const hid = 'run-clips-' + (g.step + '-' + (g.parent || 'root')).replace(/[^A-Za-z0-9_-]/g, '-');
      return html`<section class="run-clip-group" key=${key} aria-labelledby=${hid} data-branch=${g.parent}>
        <h3 id=${hid}>${name}: ${g.items.length} clip${g.items.length === 1 ? '' : 's'}</h3>
        <p class="run-clip-meta small">
          ${source && html`<span>Source video <a href=${href('assets', source)} aria-label=${'Source video, asset ' + source}><${ShortId} id=${source} /></a></span>`}
          ${rep && rep.asset && html`<span>Pantheon's report <a href=${href('assets', rep.asset)} aria-label=${"Pantheon's report for " + name + ', asset ' + rep.asset}><${ShortId} id=${rep.asset} /></a>${rep.personas ? html` (<code>${rep.personas}</code>)` : ''}</span>`}
          ${advice.data && !rep && html`<span class="muted">No Pantheon report for this branch.</span>`}
          ${!advice.data && !advice.error && html`<span class="muted">Loading Pantheon's report…</span>`}
        </p>
        ${g.items.map(({ t, ordinal }) => html`<${Clip} key=${t.task_id} t=${t} ordinal=${ordinal} group=${name}
          keys=${keys[t.step]} data=${clips[t.task_id]} report=${rep && rep.report} decision=${dec} />`)}
      </section>`;
    })}
    ${!all && clipTasks.length > CLIPS_SHOWN && html`<button type="button" class="secondary" onClick=${() => setAll(true)}>Show all ${clipTasks.length} clips</button>`}
  </section>`;
}

// -- one clip ------------------------------------------------------------------------------

function Clip({ t, ordinal, group, keys, data, report, decision }) {
  const n = Number.isFinite(ordinal) ? ordinal + 1 : t.branch;
  const c = data && data.candidate;
  const start = c ? c.start_time : undefined;
  const end = c ? c.end_time : undefined;
  const length = typeof start === 'number' && typeof end === 'number' ? end - start : undefined;
  const range = c ? `${secs(start)} to ${secs(end)}` : '';
  const hid = 'run-clip-' + t.task_id;
  const clipId = data && data.task ? (data.task.outputs || {})[keys.clip] : null;
  const idx = reportIndex(decision, c, ordinal);
  const verdict = report && idx !== null ? (report.candidates || []).find((x) => x.candidate === idx) : null;
  const rows = report && idx !== null ? (report.rows || []).filter((x) => x.candidate === idx) : [];
  return html`<article class="run-clip" aria-labelledby=${hid} data-task=${t.task_id} data-clip=${clipId || ''}>
    <h4 id=${hid}>Clip ${n}${c ? html`: ${secs(start)} – ${secs(end)}` : ''} <${Status} value=${t.status} /></h4>
    ${data && data.error && html`<${ErrorBox} error=${data.error} />`}
    ${!data && html`<${Loading} what="Loading the clip" />`}
    ${data && !data.error && html`<div class="run-clip-body">
      <div class="run-clip-player">
        ${t.status === 'DONE' && clipId
          ? html`<${Player} id=${clipId} label=${`Clip ${n} of ${group}${range ? ', ' + range : ''}`} />`
          : html`<p class="run-clip-none">${ENDED.includes(t.status) ? 'No clip: the task ended ' + t.status + '.' : 'Not made yet: the task is ' + t.status + '.'}</p>`}
      </div>
      <div class="run-clip-info">
        <dl class="kv run-clip-scores">
          <dt>Time range</dt><dd>${c ? html`${range} <span class="muted">(${secs(length)})</span>` : html`<span class="muted">no candidate</span>`}</dd>
          ${c && html`<dt>Confidence</dt><dd>${num(c.confidence)}</dd>
            <dt>Lattice priority</dt><dd>${num(c.lattice_priority, 3)}</dd>
            <dt>Faces</dt><dd>${c.faces_detected ?? '—'}</dd>
            <dt>Tags</dt><dd><${Tags} tags=${c.semantic_tags} /></dd>`}
          ${verdict && html`<dt>Consensus</dt><dd>${num(verdict.consensus, 3)}, dissent ${num(verdict.dissent, 3)}${verdict.dissenter ? html`, dissenter <code>${verdict.dissenter}</code>` : ''}</dd>`}
          <dt>Links</dt><dd class="run-clip-links">
            <a href=${href('tasks', t.task_id)} aria-label=${`Task of clip ${n} of ${group}`}>task <${ShortId} id=${t.task_id} /></a>
            ${clipId && html`<a href=${href('assets', clipId)} aria-label=${`Asset of clip ${n} of ${group}`}>clip <${ShortId} id=${clipId} /></a>`}
            ${data.candidateId && html`<a href=${href('assets', data.candidateId)} aria-label=${`Candidate of clip ${n} of ${group}`}>candidate <${ShortId} id=${data.candidateId} /></a>`}
          </dd>
        </dl>
        <${Votes} n=${n} group=${group} candidate=${c} rows=${rows} verdict=${verdict} />
      </div>
    </div>`}
  </article>`;
}

function Tags({ tags }) {
  const list = Array.isArray(tags) ? tags : [];
  if (!list.length) return html`<span class="muted">none</span>`;
  return html`<ul class="run-clip-tags">${list.slice(0, TAGS_SHOWN).map((x, i) => html`<li key=${i}><code>${String(x)}</code></li>`)}
    ${list.length > TAGS_SHOWN && html`<li class="muted">+${list.length - TAGS_SHOWN} more</li>`}</ul>`;
}

/// The player: the clip's content, its metadata only until played.
function Player({ id, label }) {
  const [failed, setFailed] = useState(false);
  useEffect(() => setFailed(false), [id]);
  return html`<video class="run-clip-video" controls preload="metadata" playsinline src=${'/api/assets/' + enc(id) + '/content'}
      aria-label=${label} onError=${() => setFailed(true)}></video>
    ${failed && html`<p class="field-error" role="alert">This browser cannot play the clip; <a href=${'/api/assets/' + enc(id) + '/content'} download>download it</a>.</p>`}`;
}

/// Pantheon's votes on one candidate: a row per persona (its vote, and from
/// the report its confidence and commentary), the dissenter marked in words.
function Votes({ n, group, candidate, rows, verdict }) {
  const votes = (candidate && candidate.pantheon_votes) || {};
  const agents = [...new Set([...rows.map((r) => r.agent), ...Object.keys(votes)])].sort();
  if (!agents.length) return html`<p class="muted small">No persona has voted on this candidate.</p>`;
  const byAgent = Object.fromEntries(rows.map((r) => [r.agent, r]));
  return html`<div class="pl-table-wrap"><table class="run-clip-votes">
    <caption>Pantheon's votes on clip ${n} of ${group}</caption>
    <thead><tr><th scope="col">Persona</th><th scope="col">Vote</th><th scope="col">Confidence</th><th scope="col">Commentary</th></tr></thead>
    <tbody>${agents.map((a) => {
      const r = byAgent[a] || {};
      const vote = typeof votes[a] === 'number' ? votes[a] : r.vote;
      return html`<tr key=${a} data-agent=${a}>
        <th scope="row"><code>${a}</code>${verdict && verdict.dissenter === a ? html` <span class="pl-inline-badge">dissents</span>` : ''}</th>
        <td>${num(vote, 3)}</td><td>${num(r.confidence, 3)}</td>
        <td>${r.commentary || html`<span class="muted">not in the report</span>`}</td>
      </tr>`;
    })}</tbody>
  </table></div>`;
}
