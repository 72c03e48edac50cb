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
const STATS_WINDOW = 900; // points kept on the charts (15 min at the default 1 s)
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

export function poolItems(data) {
  if (!data) return [];
  if (Array.isArray(data)) return data;
  return data.items || data.pools || [];
}

function num(v) {
  return v === undefined || v === null ? '–' : String(v);
}

function Resources({ r }) {
  if (!r) return '';
  const parts = [];
  if (r.cpu !== undefined) parts.push(`${r.cpu} CPU`);
  if (r.memory_gb !== undefined) parts.push(`${Number(r.memory_gb).toFixed(r.memory_gb % 1 ? 1 : 0)} GB`);
  if (r.gpu) parts.push(typeof r.gpu === 'number' ? `${r.gpu} GPU` : 'GPU');
  return parts.join(', ');
}

/// The pools of GET /api/pools: slots, work, a slot's resources and health
/// (ok, quarantined by an operator, a breaker open or half-open).
function Pools({ pools }) {
  if (pools.error && !pools.data) return html`<${ErrorBox} error=${pools.error} />`;
  if (!pools.data) return html`<${Loading} what="Loading the pools" />`;
  const items = poolItems(pools.data);
  if (!items.length) return html`<p>No pool.</p>`;
  return html`
    ${pools.error && html`<p class="muted">The last update failed (${pools.error.code}); showing the figures before it.</p>`}
    <div class="table-scroll"><table aria-label="Pools">
    <thead><tr><th scope="col">Pool</th><th scope="col">Where</th><th scope="col">Workers</th><th scope="col">Running</th>
      <th scope="col">Free slots</th><th scope="col">Queued</th><th scope="col">A slot</th><th scope="col">Health</th></tr></thead>
    <tbody>${items.map((p) => {
      const q = p.quarantine;
      return html`<tr key=${p.name}>
        <td><code>${p.name}</code></td>
        <td>${p.location || ''}</td>
        <td>${num(p.workers ?? p.slots_total)}</td>
        <td>${num(p.running)}</td>
        <td>${num(p.slots_free)}</td>
        <td>${num(p.queued)}</td>
        <td><${Resources} r=${p.resources} /></td>
        <td><span class=${'health health-' + String(p.health || 'unknown')}>${String(p.health || 'unknown').replace(/_/g, ' ')}</span>
          ${q && html`<div class="muted">${q.by === 'eclipse' ? 'breaker' : 'by ' + q.by}${q.since ? ' since ' + fmtTime(q.since) : ''}${q.reason ? ': ' + q.reason : ''}${q.failures !== undefined ? ` (${q.failures} failures in a row)` : ''}</div>`}</td>
      </tr>`;
    })}</tbody>
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
      <td>${String(q.target).startsWith('module:')
        ? html`<a href=${href('modules', q.target.slice(7))}><code>${q.target}</code></a>`
        : html`<code>${q.target}</code>`}</td>
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

/// GET /api/stats polled: the first answer whole, then only the points
/// after the newest one held (`since`), kept to the node's `capacity`.
function useStats(tick) {
  const [state, setState] = useState({ data: null, error: null });
  const held = useRef(null);
  useEffect(() => {
    let live = true;
    const before = held.current;
    const lastAt = before && before.points.length ? before.points[before.points.length - 1].at : undefined;
    api('/api/stats', { query: lastAt === undefined ? { limit: STATS_WINDOW } : { since: lastAt } }).then((d) => {
      if (!live) return;
      let points = d.points || [];
      if (before && lastAt !== undefined) {
        const t0 = toSeconds(lastAt);
        points = before.points.concat(points.filter((p) => toSeconds(p.at) > t0));
      }
      const cap = Math.min(d.capacity || STATS_WINDOW, STATS_WINDOW);
      if (points.length > cap) points = points.slice(points.length - cap);
      held.current = { ...d, points };
      setState({ data: held.current, error: null });
    }, (error) => live && setState({ data: held.current, error }));
    return () => { live = false; };
  }, [tick]);
  return state;
}

export function OpsPage({ session }) {
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const t = setInterval(() => { if (!document.hidden) setTick((n) => n + 1); }, POLL_MS);
    return () => clearInterval(t);
  }, []);
  const stats = useStats(tick);
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
