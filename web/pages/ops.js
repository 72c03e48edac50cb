// Operations (#/ops): throughput and queue depths over time, the pools and
// their health, breakers and quarantines (with release and quarantine), and
// Paradox's audits (list, run one).
import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import { api, page, allows } from '../lib/api.js';
import { Status, ErrorBox, Loading, ShortId, fmtTime, useAsync, usePager, Pager, Title } from '../lib/ui.js';
import { href } from '../lib/router.js';

const POLL_MS = 5000;
const COLORS = ['#0b5cad', '#17663a', '#a4161a', '#8a5300', '#6b2fa3', '#00707a', '#5a5f66', '#b0306a'];
const TASK_STATUSES = ['PENDING', 'READY', 'RUNNING', 'DONE', 'ERROR', 'CANCELLED', 'SKIPPED'];

/// Seconds since the epoch of a point's `at` (RFC 3339 text, or ms/s numbers).
export function toSeconds(at) {
  if (typeof at === 'number') return at > 1e11 ? at / 1000 : at;
  const t = Date.parse(at);
  return isNaN(t) ? null : t / 1000;
}

function fmtNum(x, digits = 2) {
  if (x === undefined || x === null || Number.isNaN(x)) return '–';
  return Number.isInteger(x) ? String(x) : Number(x).toFixed(digits);
}

/// A uPlot chart; the canvas is hidden from assistive technology and the
/// caption says the latest figures in words.
function Chart({ id, series, data, caption, yLabel }) {
  const box = useRef(null);
  const plot = useRef(null);
  const key = series.map((s) => s.label).join('|');
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const width = Math.max(280, el.clientWidth || 600);
    const opts = {
      width, height: 200,
      scales: { x: { time: true } },
      axes: [{}, { label: yLabel, size: 50 }],
      series: [{ label: 'Time' }, ...series.map((s, i) => ({
        label: s.label, stroke: COLORS[i % COLORS.length], width: 2, points: { show: false } }))],
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
    };
    const u = new uPlot(opts, data, el);
    plot.current = u;
    const ro = typeof ResizeObserver !== 'undefined'
      ? new ResizeObserver(() => { const w = Math.max(280, el.clientWidth); if (Math.abs(w - u.width) > 4) u.setSize({ width: w, height: 200 }); })
      : null;
    ro && ro.observe(el);
    return () => { ro && ro.disconnect(); u.destroy(); plot.current = null; };
  }, [key]);
  useEffect(() => { plot.current && plot.current.setData(data); }, [data]);
  return html`<figure class="chart" aria-labelledby=${id + '-cap'}>
    <div class="chart-box" ref=${box} aria-hidden="true"></div>
    <figcaption id=${id + '-cap'}>${caption}</figcaption>
  </figure>`;
}

/// The points of GET /api/stats as uPlot's columns.
export function statsColumns(stats) {
  const points = (stats && stats.points) || [];
  const xs = [];
  const thr = [];
  const sub = [];
  const q = [];
  const pools = new Set();
  for (const p of points) for (const n of Object.keys(p.pools || {})) pools.add(n);
  const poolNames = [...pools].sort();
  const poolQ = poolNames.map(() => []);
  const poolR = poolNames.map(() => []);
  for (const p of points) {
    const x = toSeconds(p.at);
    if (x === null) continue;
    xs.push(x);
    thr.push(p.throughput_per_s ?? null);
    sub.push(p.submitted_per_s ?? null);
    q.push(p.queue_depth ?? null);
    poolNames.forEach((n, i) => {
      const pp = (p.pools || {})[n];
      poolQ[i].push(pp ? pp.queued ?? null : null);
      poolR[i].push(pp ? pp.running ?? null : null);
    });
  }
  return { xs, thr, sub, q, poolNames, poolQ, poolR, last: points[points.length - 1] || null };
}

function Charts({ stats }) {
  if (stats.error && !stats.data)
    return html`<div><p>The node's statistics (<code>GET /api/stats</code>) are not available:</p><${ErrorBox} error=${stats.error} /></div>`;
  if (!stats.data) return html`<${Loading} what="Loading the statistics" />`;
  const c = statsColumns(stats.data);
  const last = c.last;
  const spanS = c.xs.length > 1 ? Math.round(c.xs[c.xs.length - 1] - c.xs[0]) : 0;
  const peak = (a) => a.reduce((m, v) => (v !== null && v > m ? v : m), 0);
  const span = spanS ? ` over the last ${spanS >= 120 ? Math.round(spanS / 60) + ' min' : spanS + ' s'}` : '';
  const thrCaption = last
    ? `Throughput at ${fmtTime(last.at)}: ${fmtNum(last.throughput_per_s)} tasks finished per second, ${fmtNum(last.submitted_per_s)} submitted per second; peak ${fmtNum(peak(c.thr))} finished per second${span}.`
    : 'No points yet.';
  const poolWords = c.poolNames.map((n, i) => {
    const pp = (last && last.pools && last.pools[n]) || {};
    return `pool ${n}: ${fmtNum(pp.queued)} queued, ${fmtNum(pp.running)} running, ${fmtNum(pp.slots_free)} slots free`;
  });
  const qCaption = last
    ? `Queue at ${fmtTime(last.at)}: ${fmtNum(last.queue_depth)} READY tasks waiting for a worker${poolWords.length ? '; ' + poolWords.join('; ') : ''}; deepest ${fmtNum(peak(c.q))}${span}.`
    : 'No points yet.';
  const qSeries = [{ label: 'Ready queue' }, ...c.poolNames.map((n) => ({ label: `${n} queued` })), ...c.poolNames.map((n) => ({ label: `${n} running` }))];
  const qData = [c.xs, c.q, ...c.poolQ, ...c.poolR];
  return html`
    ${stats.error && html`<p class="muted">The last update failed (${stats.error.code}); showing the figures before it.</p>`}
    <div class="grid2">
      <div>
        <h3>Throughput</h3>
        <${Chart} id="chart-throughput" yLabel="tasks/s"
          series=${[{ label: 'Finished per s' }, { label: 'Submitted per s' }]}
          data=${[c.xs, c.thr, c.sub]} caption=${thrCaption} />
      </div>
      <div>
        <h3>Queue depths</h3>
        <${Chart} id="chart-queues" yLabel="tasks" series=${qSeries} data=${qData} caption=${qCaption} />
      </div>
    </div>`;
}

function Counts({ counts }) {
  if (counts.error && !counts.data) return html`<${ErrorBox} error=${counts.error} />`;
  if (!counts.data) return null;
  const d = counts.data;
  const statuses = TASK_STATUSES.filter((s) => d[s] !== undefined).concat(Object.keys(d).filter((k) => k !== 'total' && !TASK_STATUSES.includes(k)));
  return html`<table class="counts" aria-label="Tasks by status">
    <thead><tr>${statuses.map((s) => html`<th scope="col"><a href=${href('tasks', { status: s })}>${s}</a></th>`)}<th scope="col">Total</th></tr></thead>
    <tbody><tr>${statuses.map((s) => html`<td>${d[s]}</td>`)}<td>${d.total}</td></tr></tbody>
  </table>`;
}

/// The pools of GET /api/pools, whatever its members: the known ones in
/// order, the rest after them.
const POOL_COLUMNS = [
  ['name', 'Pool'], ['workers', 'Workers'], ['slots', 'Slots'], ['slots_free', 'Free slots'], ['free', 'Free'],
  ['running', 'Running'], ['queued', 'Queued'], ['cpu', 'CPU'], ['memory_gb', 'Memory (GB)'], ['gpu', 'GPU'],
  ['health', 'Health'], ['state', 'State'], ['quarantine', 'Quarantine'],
];
export function poolItems(data) {
  if (!data) return [];
  if (Array.isArray(data)) return data;
  return data.items || data.pools || [];
}
function cell(v) {
  if (v === undefined || v === null) return '';
  if (typeof v === 'object') {
    if ('state' in v || 'status' in v) return html`<${Status} value=${v.state || v.status} />${v.reason ? ' ' + v.reason : ''}`;
    return html`<code>${JSON.stringify(v)}</code>`;
  }
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  return String(v);
}
function Pools({ pools }) {
  if (pools.error && !pools.data) return html`<${ErrorBox} error=${pools.error} />`;
  if (!pools.data) return html`<${Loading} what="Loading the pools" />`;
  const items = poolItems(pools.data);
  if (!items.length) return html`<p>No pool.</p>`;
  const keys = [];
  for (const it of items) for (const k of Object.keys(it)) if (!keys.includes(k)) keys.push(k);
  const known = POOL_COLUMNS.filter(([k]) => keys.includes(k));
  const rest = keys.filter((k) => !POOL_COLUMNS.some(([c]) => c === k)).map((k) => [k, k.replace(/_/g, ' ')]);
  const cols = [...known, ...rest];
  return html`<div class="table-scroll"><table aria-label="Pools">
    <thead><tr>${cols.map(([, t]) => html`<th scope="col">${t}</th>`)}</tr></thead>
    <tbody>${items.map((p) => html`<tr key=${p.name}>${cols.map(([k]) => html`<td>${
      k === 'health' || k === 'state' ? (typeof p[k] === 'string' ? html`<${Status} value=${p[k]} />` : cell(p[k])) : cell(p[k])}</td>`)}</tr>`)}</tbody>
  </table></div>`;
}

function QuarantineForm({ pools, onDone }) {
  const [kind, setKind] = useState('module');
  const [moduleRef, setModuleRef] = useState('');
  const [pool, setPool] = useState('');
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState(null);
  const [error, setError] = useState(null);
  const modules = useAsync(() => page('/api/modules', { limit: 1000 }), []);
  const moduleRefs = ((modules.data && modules.data.items) || []).map((m) => m.ref);
  const poolNames = poolItems(pools.data).map((p) => p.name).filter(Boolean);
  useEffect(() => { if (!moduleRef && moduleRefs.length) setModuleRef(moduleRefs[0]); }, [moduleRefs.join('|')]);
  useEffect(() => { if (!pool && poolNames.length) setPool(poolNames[0]); }, [poolNames.join('|')]);

  async function submit(e) {
    e.preventDefault();
    setBusy(true); setError(null); setResult(null);
    const body = kind === 'module' ? { module: moduleRef } : { pool: pool.trim() };
    if (reason.trim()) body.reason = reason.trim();
    try {
      const q = await api('/api/quarantines', { method: 'POST', body });
      setResult(q);
      setReason('');
      onDone && onDone();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }
  return html`<form class="card pcard quarantine-form" aria-labelledby="quarantine-form-h" onSubmit=${submit}>
    <h3 id="quarantine-form-h">Quarantine by hand</h3>
    <fieldset class="radios">
      <legend>Target</legend>
      <label><input type="radio" name="q-kind" value="module" checked=${kind === 'module'} onChange=${() => setKind('module')} /> A module</label>
      <label><input type="radio" name="q-kind" value="pool" checked=${kind === 'pool'} onChange=${() => setKind('pool')} /> A pool</label>
    </fieldset>
    ${kind === 'module'
      ? html`<label for="q-module">Module to quarantine</label>
          ${modules.error ? html`<${ErrorBox} error=${modules.error} />` : ''}
          <select id="q-module" value=${moduleRef} required onChange=${(e) => setModuleRef(e.target.value)}>
            ${moduleRefs.length === 0 && html`<option value="">${modules.loading ? 'Loading…' : 'No module registered'}</option>`}
            ${moduleRefs.map((r) => html`<option value=${r}>${r}</option>`)}
          </select>`
      : poolNames.length
        ? html`<label for="q-pool">Pool to quarantine</label>
            <select id="q-pool" value=${pool} required onChange=${(e) => setPool(e.target.value)}>
              ${poolNames.map((n) => html`<option value=${n}>${n}</option>`)}
            </select>`
        : html`<label for="q-pool">Pool to quarantine</label>
            <input id="q-pool" type="text" required value=${pool} onInput=${(e) => setPool(e.target.value)} />`}
    <label for="q-reason">Reason</label>
    <input id="q-reason" type="text" maxlength="1024" value=${reason} onInput=${(e) => setReason(e.target.value)}
           placeholder="driver update, bad release, …" />
    <div class="actions"><button type="submit" disabled=${busy || (kind === 'module' ? !moduleRef : !pool.trim())}>Quarantine</button></div>
    <${ErrorBox} error=${error} />
    <div role="status">${result && html`<p class="ok">Quarantined <code>${result.target}</code>${result.state ? ` (${result.state})` : ''}: nothing is dispatched to it until it is released.</p>`}</div>
  </form>`;
}

function Quarantines({ session, pools, tick }) {
  const pager = usePager('quarantines');
  const [changed, setChanged] = useState(0);
  const list = useAsync(() => page('/api/quarantines', { limit: 50, cursor: pager.cursor }), [pager.cursor, tick, changed]);
  const [released, setReleased] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(null);
  const canWork = allows(session, 'operator');
  const last = useRef(null);
  if (list.data) last.current = list.data;
  const data = list.data || last.current;

  async function release(target) {
    setBusy(target); setError(null); setReleased(null);
    try {
      const q = await api('/api/quarantines/' + encodeURIComponent(target), { method: 'DELETE' });
      setReleased((q && q.target) || target);
      setChanged((n) => n + 1);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(null);
    }
  }
  let body;
  if (list.error && !data) body = html`<${ErrorBox} error=${list.error} />`;
  else if (!data) body = html`<${Loading} what="Loading the quarantines" />`;
  else if (!(data.items || []).length) body = html`<p>Nothing is quarantined: every module and pool gets work.</p>`;
  else body = html`<div class="table-scroll"><table aria-label="Quarantines">
    <thead><tr><th scope="col">Target</th><th scope="col">State</th><th scope="col">By</th><th scope="col">Since</th>
      <th scope="col">Reason</th><th scope="col">Breaker</th>${canWork && html`<th scope="col"><span class="sr-only">Actions</span></th>`}</tr></thead>
    <tbody>${data.items.map((q) => html`<tr key=${q.target}>
      <td><code>${q.target}</code></td>
      <td><${Status} value=${q.state} /></td>
      <td>${q.by}</td>
      <td>${fmtTime(q.since)}</td>
      <td>${q.reason}</td>
      <td>${q.failures !== undefined && html`${q.failures} failures in a row`}
          ${q.probe_at && html`<div>probe at ${fmtTime(q.probe_at)}</div>`}
          ${q.probe_task && html`<div>probe: <a href=${href('tasks', q.probe_task)} aria-label=${'probe task ' + q.probe_task}><${ShortId} id=${q.probe_task} /></a></div>`}</td>
      ${canWork && html`<td><button type="button" class="secondary" disabled=${busy === q.target}
          aria-label=${'Release ' + q.target} onClick=${() => release(q.target)}>Release</button></td>`}
    </tr>`)}</tbody>
  </table></div>
  <${Pager} pager=${pager} nextCursor=${data.next_cursor} label="Quarantine pages" />`;
  return html`
    <div role="status">${released && html`<p class="ok">Released <code>${released}</code>: it gets work again.</p>`}</div>
    <${ErrorBox} error=${error} />
    ${body}
    ${canWork && html`<${QuarantineForm} pools=${pools} onDone=${() => { setReleased(null); setChanged((n) => n + 1); }} />`}`;
}

function Findings({ findings, label }) {
  if (!findings || !findings.length) return html`<p>No finding: the state agrees with the lineage.</p>`;
  return html`<div class="table-scroll"><table aria-label=${label}>
    <thead><tr><th scope="col">Severity</th><th scope="col">Check</th><th scope="col">Recommended</th>
      <th scope="col">Affected</th><th scope="col">Message</th></tr></thead>
    <tbody>${findings.map((f, i) => html`<tr key=${i}>
      <td><span class=${'severity severity-' + f.severity}>${f.severity}</span></td>
      <td><code>${f.check}</code></td>
      <td>${f.action}</td>
      <td>${(f.affected || []).map((a) => html`<div><code title=${a}>${a}</code></div>`)}</td>
      <td>${f.message}</td>
    </tr>`)}</tbody>
  </table></div>`;
}

function auditSummary(a) {
  const n = (a.findings || []).length;
  return `${n} finding${n === 1 ? '' : 's'}; checked ${a.tasks_checked ?? '?'} tasks, ${a.assets_checked ?? '?'} assets, ${a.packets_checked ?? '?'} packets`;
}

function Audits({ session }) {
  const pager = usePager('audits');
  const [changed, setChanged] = useState(0);
  const list = useAsync(() => page('/api/audits', { limit: 10, cursor: pager.cursor }), [pager.cursor, changed]);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState(null);
  const [error, setError] = useState(null);
  async function run() {
    setBusy(true); setError(null); setResult(null);
    try {
      const a = await api('/api/audits', { method: 'POST', body: {} });
      setResult(a);
      pager.reset();
      setChanged((n) => n + 1);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }
  return html`
    ${allows(session, 'operator') && html`<p class="actions">
      <button type="button" onClick=${run} disabled=${busy}>${busy ? 'Running the audit…' : 'Run audit'}</button>
      <span class="muted">Paradox checks the tasks, assets and holds against the lineage; findings are recommendations, nothing is changed.</span>
    </p>`}
    <${ErrorBox} error=${error} />
    <div role="status">${result && html`<div class="card pcard audit-result">
      <h3>Audit just run</h3>
      <p>Audit <code>${result.audit_id}</code> at ${fmtTime(result.finished_at)}: ${auditSummary(result)}.</p>
      <${Findings} findings=${result.findings} label="Findings of the audit just run" />
    </div>`}</div>
    <h3>Recorded audits</h3>
    ${list.error ? html`<${ErrorBox} error=${list.error} />`
      : !list.data ? html`<${Loading} what="Loading the audits" />`
      : !(list.data.items || []).length ? html`<p>No audit recorded yet.</p>`
      : html`<ul class="audits">${list.data.items.map((a) => html`<li key=${a.audit_id}>
          <details>
            <summary>${fmtTime(a.started_at)}, by ${a.requested_by}: ${auditSummary(a)}</summary>
            <p>Audit <code>${a.audit_id}</code>, recorded as packet <code>${a.packet_id}</code>; ran from ${fmtTime(a.started_at)} to ${fmtTime(a.finished_at)}.</p>
            <${Findings} findings=${a.findings} label=${'Findings of the audit ' + a.audit_id} />
          </details>
        </li>`)}</ul>
        <${Pager} pager=${pager} nextCursor=${list.data.next_cursor} label="Audit pages" />`}`;
}

export function OpsPage({ session }) {
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const t = setInterval(() => { if (!document.hidden) setTick((n) => n + 1); }, POLL_MS);
    return () => clearInterval(t);
  }, []);
  const stats = useKeep(useAsync(() => api('/api/stats'), [tick]));
  const counts = useKeep(useAsync(() => api('/api/tasks/counts'), [tick]));
  const pools = useKeep(useAsync(() => api('/api/pools'), [tick]));
  return html`
    <${Title} text="Operations" />
    <section aria-labelledby="ops-charts-h">
      <h2 id="ops-charts-h">Throughput and queues</h2>
      <${Counts} counts=${counts} />
      <${Charts} stats=${stats} />
    </section>
    <section aria-labelledby="ops-pools-h">
      <h2 id="ops-pools-h">Pools</h2>
      <${Pools} pools=${pools} />
    </section>
    <section aria-labelledby="ops-quarantines-h">
      <h2 id="ops-quarantines-h">Breakers and quarantines</h2>
      <p class="muted">A circuit breaker quarantines a module or pool after failures in a row (<code>by: eclipse</code>) and lets one probe through after its cooldown; operators quarantine and release by hand.</p>
      <${Quarantines} session=${session} pools=${pools} tick=${tick} />
    </section>
    <section aria-labelledby="ops-audits-h">
      <h2 id="ops-audits-h">Audits</h2>
      <${Audits} session=${session} />
    </section>`;
}

/// Keeps a polled answer's last good data while the next one loads; an error
/// is kept beside it.
function useKeep(r) {
  const last = useRef(null);
  if (r.data) last.current = r.data;
  if (r.error) return { ...r, data: last.current };
  return { ...r, data: r.data || last.current };
}
