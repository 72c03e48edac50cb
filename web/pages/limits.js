// Budgets & quotas (#/limits): the named budgets and the runs' caps with
// what is spent, reserved and left of each cap as a bar, the quotas with the
// units used in their window, and the leases held (docs/policies.md). A
// budget's, a run's or a quota's own page (#/limits/budget/NAME,
// #/limits/run/ID, #/limits/quota/NAME) draws its spend over time as the
// lineage gives it (`lineage.series`: the figure after each packet that
// changed it), with the cap as a line, next to Zenith's figures; an operator
// creates named budgets and changes their caps here. Both pages follow the
// node's events (dispatches, settlements, changes, leases).
//
// Amounts are micro-USD (millionths of a dollar) in the API and dollars on
// the page; they stay integers until they are shown.
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api, allows } from '../lib/api.js';
import { ErrorBox, Loading, ShortId, Title, fmtTime, useAsync } from '../lib/ui.js';
import { href } from '../lib/router.js';
import { useLiveRefresh, LiveBadge } from './tasks.js';

const enc = encodeURIComponent;

/// The packets that change a budget, a quota or a lease (docs/policies.md).
export const LIMIT_EVENT_KINDS = [
  'task.dispatched', 'task.succeeded', 'task.failed', 'task.cancelled', 'task.attempt_failed',
  'budget.created', 'budget.changed', 'budget.settled',
  'quota.created', 'quota.changed',
  'lease.expired', 'lease.released',
];

const MICRO = 1000000;

/// Micro-USD as dollars: 1250000 → "$1.25", 2500 → "$0.0025", 10^12 →
/// "$1,000,000.00". Integer arithmetic: no float rounding on the way.
export function fmtUsd(micro) {
  if (micro === undefined || micro === null || !Number.isFinite(Number(micro))) return '–';
  const n = Math.round(Number(micro));
  const sign = n < 0 ? '−' : '';
  const abs = Math.abs(n);
  const dollars = Math.floor(abs / MICRO);
  let frac = String(abs % MICRO).padStart(6, '0').replace(/0+$/, '');
  if (frac.length < 2) frac = frac.padEnd(2, '0');
  return `${sign}$${dollars.toLocaleString('en-US')}.${frac}`;
}

/// Dollars typed by a person ("1.25", "$1,000", "0.0025") as micro-USD; null
/// when it is not an amount of at most six decimals.
export function parseUsd(text) {
  const s = String(text || '').trim().replace(/^\$/, '').replace(/,/g, '').trim();
  const m = /^(\d{1,10})(?:\.(\d{0,6}))?$/.exec(s) || /^()\.(\d{1,6})$/.exec(s);
  if (!m) return null;
  return Number(m[1] || '0') * MICRO + Number((m[2] || '').padEnd(6, '0'));
}

function fmtUnits(n) {
  if (n === undefined || n === null) return '–';
  return Number(n).toLocaleString('en-US');
}

const pct = (part, whole) => (whole > 0 ? Math.min(100, Math.max(0, (100 * part) / whole)) : part > 0 ? 100 : 0);
const pctWords = (part, whole) => (whole > 0 ? `${Math.round((100 * part) / whole)}%` : part > 0 ? 'all' : '0%');

/// A budget's figures in words (the bar beside them only repeats them).
export function budgetWords(b) {
  const spent = b.spent_usd_micro || 0;
  const reserved = b.reserved_usd_micro || 0;
  if (b.max_usd_micro === null || b.max_usd_micro === undefined)
    return `${fmtUsd(spent)} spent, ${fmtUsd(reserved)} reserved, no cap`;
  return `${fmtUsd(spent)} spent and ${fmtUsd(reserved)} reserved of ${fmtUsd(b.max_usd_micro)} (${pctWords(spent + reserved, b.max_usd_micro)} committed)`;
}

export function quotaWords(q) {
  return `${fmtUnits(q.used_units)} of ${fmtUnits(q.units)} units used (${pctWords(q.used_units || 0, q.units)})`;
}

/// Spent (solid), reserved (hatched) and what is left of a cap, as a bar.
/// Decorative: the words next to it say the same (`budgetWords`).
function UsageBar({ used, reserved = 0, cap, label }) {
  if (cap === null || cap === undefined) return html`<span class="muted">no cap</span>`;
  const u = pct(used, cap);
  const r = Math.min(100 - u, pct(reserved, cap));
  const full = used + reserved >= cap && cap >= 0;
  return html`<span class=${'lim-bar' + (full ? ' lim-bar-full' : '')} aria-hidden="true" title=${label}>
    <span class="lim-bar-used" style=${`width:${u}%`}></span><span class="lim-bar-reserved" style=${`width:${r}%`}></span>
  </span>`;
}

function windowWords(x) {
  return x.window ? html`per <code>${x.window}</code>` : html`<span class="muted">all time</span>`;
}

/// A name's link (a named budget, a quota) or a run's cap.
function subjectLink(b) {
  if (b.run_id) return html`<a href=${href('limits', 'run', b.run_id)} aria-label=${'Cap of run ' + b.run_id}>run <${ShortId} id=${b.run_id} /></a>`;
  const [kind, name] = String(b.subject).split(':');
  return html`<a href=${href('limits', kind, name)}>${name}</a>`;
}

function BudgetTable({ items, caption, first }) {
  return html`<div class="table-scroll"><table class="lim-table lim-budgets">
    <caption class="sr-only">${caption}</caption>
    <thead><tr><th scope="col">${first}</th><th scope="col">Window</th><th scope="col" class="num">Spent</th>
      <th scope="col" class="num">Reserved</th><th scope="col" class="num">Cap</th><th scope="col" class="num">Available</th>
      <th scope="col">Use of the cap</th></tr></thead>
    <tbody>${items.map((b) => html`<tr key=${b.subject} data-subject=${b.subject}>
      <th scope="row">${subjectLink(b)}${b.description && html`<div class="muted small">${b.description}</div>`}</th>
      <td>${windowWords(b)}</td>
      <td class="num">${fmtUsd(b.spent_usd_micro)}</td>
      <td class="num">${fmtUsd(b.reserved_usd_micro)}</td>
      <td class="num">${b.max_usd_micro === null || b.max_usd_micro === undefined ? html`<span class="muted">none</span>` : fmtUsd(b.max_usd_micro)}</td>
      <td class="num">${b.available_usd_micro === undefined ? '–' : fmtUsd(b.available_usd_micro)}</td>
      <td><span class="lim-use"><${UsageBar} used=${b.spent_usd_micro || 0} reserved=${b.reserved_usd_micro || 0} cap=${b.max_usd_micro} label=${budgetWords(b)} />
        <span class="small">${b.max_usd_micro === null || b.max_usd_micro === undefined ? '' : pctWords((b.spent_usd_micro || 0) + (b.reserved_usd_micro || 0), b.max_usd_micro)}</span></span></td>
    </tr>`)}</tbody>
  </table></div>`;
}

function QuotaTable({ items }) {
  return html`<div class="table-scroll"><table class="lim-table lim-quotas">
    <caption class="sr-only">Quotas</caption>
    <thead><tr><th scope="col">Quota</th><th scope="col">Window</th><th scope="col" class="num">Used</th>
      <th scope="col" class="num">Units</th><th scope="col" class="num">Available</th><th scope="col">Resets</th>
      <th scope="col">Use of the window</th></tr></thead>
    <tbody>${items.map((q) => html`<tr key=${q.subject} data-subject=${q.subject}>
      <th scope="row">${subjectLink(q)}${q.description && html`<div class="muted small">${q.description}</div>`}</th>
      <td>${windowWords(q)}</td>
      <td class="num">${fmtUnits(q.used_units)}</td>
      <td class="num">${fmtUnits(q.units)}</td>
      <td class="num">${fmtUnits(q.available_units)}</td>
      <td>${fmtTime(q.resets_at)}</td>
      <td><span class="lim-use"><${UsageBar} used=${q.used_units || 0} cap=${q.units} label=${quotaWords(q)} />
        <span class="small">${pctWords(q.used_units || 0, q.units)}</span></span></td>
    </tr>`)}</tbody>
  </table></div>`;
}

function LeaseTable({ items }) {
  if (!items.length) return html`<p class="muted">No lease is held: no attempt is writing to a prefix outside its folder now.</p>`;
  return html`<div class="table-scroll"><table class="lim-table lim-leases">
    <caption class="sr-only">Leases held</caption>
    <thead><tr><th scope="col">Prefix</th><th scope="col">Task</th><th scope="col" class="num">Attempt</th>
      <th scope="col">Taken</th><th scope="col">Expires</th></tr></thead>
    <tbody>${items.map((l) => html`<tr key=${l.subject || l.prefix} data-prefix=${l.prefix}>
      <th scope="row"><code>${l.prefix}</code></th>
      <td><a href=${href('tasks', l.task_id)} aria-label=${'Task ' + l.task_id}><${ShortId} id=${l.task_id} /></a></td>
      <td class="num">${l.attempt}</td>
      <td>${fmtTime(l.taken_at)}</td>
      <td>${fmtTime(l.expires_at)}</td>
    </tr>`)}</tbody>
  </table></div>`;
}

/// Keeps the last good answer of a list while the next one loads.
function itemsOf(r) {
  return (r.data && r.data.items) || [];
}

/// An operator's form: a new named budget (POST /api/budgets).
function NewBudgetForm({ onDone }) {
  const [name, setName] = useState('');
  const [cap, setCap] = useState('');
  const [win, setWin] = useState('');
  const [description, setDescription] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [capError, setCapError] = useState(null);
  const [done, setDone] = useState(null);
  async function submit(e) {
    e.preventDefault();
    setError(null); setCapError(null); setDone(null);
    const micro = parseUsd(cap);
    if (micro === null) { setCapError('Give the cap in dollars, e.g. 5 or 0.25 (at most six decimals).'); return; }
    const body = { name: name.trim(), max_usd_micro: micro };
    if (win.trim()) body.window = win.trim();
    if (description.trim()) body.description = description.trim();
    setBusy(true);
    try {
      const b = await api('/api/budgets', { method: 'POST', body });
      setDone(b);
      setName(''); setCap(''); setWin(''); setDescription('');
      onDone && onDone();
    } catch (err) {
      const atCap = (err.errors || []).filter((p) => p.pointer === '/max_usd_micro');
      if (atCap.length) setCapError(atCap.map((p) => `${p.message} (${p.code})`).join(' '));
      if (!atCap.length || (err.errors || []).length > atCap.length) setError(err);
    } finally {
      setBusy(false);
    }
  }
  return html`<form class="card pcard lim-form" aria-labelledby="lim-new-h" onSubmit=${submit}>
    <h3 id="lim-new-h">New budget</h3>
    <div class="lim-form-row">
      <div><label for="lim-new-name">Name</label>
        <input id="lim-new-name" type="text" required maxlength="64" value=${name} disabled=${busy}
               aria-describedby="lim-new-name-hint" onInput=${(e) => setName(e.target.value)} />
        <div id="lim-new-name-hint" class="muted small">lowercase letters, digits, <code>.</code> <code>_</code> <code>-</code></div></div>
      <div><label for="lim-new-cap">Cap in US dollars</label>
        <input id="lim-new-cap" type="text" inputmode="decimal" required value=${cap} disabled=${busy} placeholder="5.00"
               aria-invalid=${capError ? 'true' : undefined} aria-describedby=${capError ? 'lim-new-cap-err' : undefined}
               onInput=${(e) => setCap(e.target.value)} />
        ${capError && html`<div id="lim-new-cap-err" class="field-error" role="alert">${capError}</div>`}</div>
      <div><label for="lim-new-window">Window <span class="muted">(optional)</span></label>
        <input id="lim-new-window" type="text" value=${win} disabled=${busy} placeholder="1d"
               aria-describedby="lim-new-window-hint" onInput=${(e) => setWin(e.target.value)} />
        <div id="lim-new-window-hint" class="muted small"><code>30s</code>, <code>15m</code>, <code>12h</code>, <code>1d</code>; none: for all time</div></div>
    </div>
    <label for="lim-new-desc">Description <span class="muted">(optional)</span></label>
    <input id="lim-new-desc" type="text" class="lim-wide" value=${description} disabled=${busy} onInput=${(e) => setDescription(e.target.value)} />
    <div class="actions"><button type="submit" disabled=${busy || !name.trim() || !cap.trim()}>Create budget</button></div>
    <${ErrorBox} error=${error} />
    <div role="status">${done && html`<p class="ok">Budget <a href=${href('limits', 'budget', done.name)}>${done.name}</a> created: ${budgetWords(done)}.</p>`}</div>
  </form>`;
}

export function LimitsPage({ session }) {
  const budgets = useAsync(() => api('/api/budgets'), []);
  const quotas = useAsync(() => api('/api/quotas'), []);
  const leases = useAsync(() => api('/api/leases'), []);
  const live = useLiveRefresh(() => Promise.all([budgets.reload(), quotas.reload(), leases.reload()]),
    { kinds: LIMIT_EVENT_KINDS, minInterval: 1000 });
  const all = itemsOf(budgets);
  const named = all.filter((b) => !b.run_id);
  const runs = all.filter((b) => b.run_id);
  const canWork = allows(session, 'operator');
  return html`<article class="lim-page">
    <div class="board-head">
      <${Title} text="Budgets & quotas" />
      <${LiveBadge} state=${live} />
    </div>
    <p class="muted">A task that costs reserves its worst case when it is dispatched and settles what it really cost when it ends; it waits while a cap that applies has no room (docs/policies.md). Amounts in US dollars.</p>

    <section class="card" aria-labelledby="lim-budgets-h">
      <h2 id="lim-budgets-h">Budgets</h2>
      <${ErrorBox} error=${budgets.error} />
      ${!budgets.data && !budgets.error ? html`<${Loading} what="Loading the budgets" />`
        : budgets.data && (named.length
          ? html`<${BudgetTable} items=${named} caption="Named budgets" first="Budget" />`
          : html`<p class="muted">No named budget.${canWork ? ' Create one below.' : ''}</p>`)}
      ${runs.length > 0 && html`<h3>Runs' caps</h3>
        <p class="muted small">A run whose pipeline's policy has <code>budget.max_usd_micro</code> has its own cap.</p>
        <${BudgetTable} items=${runs} caption="Runs' caps" first="Run" />`}
      ${canWork && html`<${NewBudgetForm} onDone=${budgets.reload} />`}
    </section>

    <section class="card" aria-labelledby="lim-quotas-h">
      <h2 id="lim-quotas-h">Quotas</h2>
      <${ErrorBox} error=${quotas.error} />
      ${!quotas.data && !quotas.error ? html`<${Loading} what="Loading the quotas" />`
        : quotas.data && (itemsOf(quotas).length
          ? html`<${QuotaTable} items=${itemsOf(quotas)} />`
          : html`<p class="muted">No quota. <code>omniva quota create NAME --units N --window 1d</code> makes one.</p>`)}
    </section>

    <section class="card" aria-labelledby="lim-leases-h">
      <h2 id="lim-leases-h">Leases held</h2>
      <${ErrorBox} error=${leases.error} />
      ${!leases.data && !leases.error ? html`<${Loading} what="Loading the leases" />`
        : leases.data && html`<${LeaseTable} items=${itemsOf(leases)} />`}
    </section>
  </article>`;
}

// -- one budget, run cap or quota ---------------------------------------------------

/// "Nice" tick values from 0 to at least `max`: 1, 2 or 5 times a power of ten.
export function ticks(max, count = 4) {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw) || 10 * p;
  const out = [];
  for (let v = 0; v < max + step / 2; v += step) out.push(Math.round(v * 1e6) / 1e6);
  if (out[out.length - 1] < max) out.push(out[out.length - 1] + step);
  return out;
}

/// The chart's numbers: points in SVG coordinates, a step path per line, the
/// cap's height and the axes' ticks. `series` = [{at, value, reserved?}].
export function chartGeometry(series, cap, { width = 720, height = 240, left = 72, right = 16, top = 14, bottom = 30 } = {}) {
  const pts = series.map((p) => ({ ...p, t: Date.parse(p.at) })).filter((p) => !isNaN(p.t));
  const t0 = pts.length ? pts[0].t : 0;
  let t1 = pts.length ? pts[pts.length - 1].t : 1;
  // Points a few milliseconds apart still get a readable span.
  if (t1 - t0 < 1000) t1 = t0 + 1000;
  const pad = (t1 - t0) * 0.04;
  const x0 = t0 - pad;
  const x1 = t1 + pad;
  const top1 = pts.reduce((m, p) => Math.max(m, p.value + (p.reserved || 0)), 0);
  const yTicks = ticks(Math.max(top1, cap ?? 0, 1) * 1.05);
  const yMax = yTicks[yTicks.length - 1];
  const w = width - left - right;
  const h = height - top - bottom;
  const X = (t) => left + ((t - x0) / (x1 - x0)) * w;
  const Y = (v) => top + h - (v / yMax) * h;
  const step = (key) => pts.map((p, i) => {
    const y = Y(key(p));
    return i === 0 ? `M${X(p.t).toFixed(1)},${y.toFixed(1)}` : `H${X(p.t).toFixed(1)}V${y.toFixed(1)}`;
  }).join('');
  const xTicks = [];
  const n = Math.min(4, Math.max(2, pts.length));
  for (let i = 0; i < n; i++) xTicks.push(t0 + ((t1 - t0) * i) / (n - 1));
  return {
    width, height, left, right, top, bottom,
    points: pts.map((p) => ({ ...p, x: X(p.t), y: Y(p.value), yc: Y(p.value + (p.reserved || 0)) })),
    spentPath: step((p) => p.value),
    committedPath: step((p) => p.value + (p.reserved || 0)),
    capY: cap === null || cap === undefined ? null : Y(cap),
    yTicks: yTicks.map((v) => ({ v, y: Y(v) })),
    xTicks: xTicks.map((t) => ({ t, x: X(t) })),
    spanMs: pts.length ? pts[pts.length - 1].t - pts[0].t : 0,
  };
}

function fmtClock(t, spanMs) {
  const d = new Date(t);
  if (spanMs < 10000) return d.toLocaleTimeString('en-GB', { hour12: false }) + '.' + String(d.getMilliseconds()).padStart(3, '0');
  if (spanMs < 2 * 86400000) return d.toLocaleTimeString('en-GB', { hour12: false });
  return d.toLocaleString('en-GB', { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

/// Spend (or units used) over time as an SVG: a step line through the
/// figure after each packet, spent + reserved dashed above it, the cap as a
/// red line. The SVG is one image with a title and a description; the
/// caption and the table under it give the figures in words.
function SpendChart({ id, series, cap, fmt, what, capWord = 'cap', showReserved, events }) {
  if (!series.length)
    return html`<p class="muted lim-chart-empty">Nothing ${what === 'units' ? 'used' : 'spent or reserved'} yet: the lineage has no packet that changed it.</p>`;
  const g = chartGeometry(series, cap);
  const last = series[series.length - 1];
  const lastValue = last.value + (showReserved ? last.reserved || 0 : 0);
  const capText = cap === null || cap === undefined ? `no ${capWord}` : `${capWord} ${fmt(cap)}`;
  const summary = `${what === 'units' ? 'Units used' : 'Spend'} over time: ${series.length} change${series.length === 1 ? '' : 's'} from ${fmtTime(series[0].at)} to ${fmtTime(last.at)}; `
    + (what === 'units' ? `${fmt(last.value)} used` : `${fmt(last.value)} spent, ${fmt(last.reserved || 0)} reserved`)
    + ` after the last; ${capText}.`;
  const truncated = events > series.length ? ` The chart shows the last ${series.length} of ${events} changes.` : '';
  return html`<figure class="lim-chart" data-points=${series.length}>
    <svg class="lim-svg" viewBox=${`0 0 ${g.width} ${g.height}`} role="img" aria-labelledby=${id + '-t ' + id + '-d'}>
      <title id=${id + '-t'}>${what === 'units' ? 'Units used over time' : 'Spend over time'}</title>
      <desc id=${id + '-d'}>${summary}</desc>
      <g class="lim-axis">
        ${g.yTicks.map((tk) => html`<g key=${'y' + tk.v}>
          <line class="lim-grid" x1=${g.left} x2=${g.width - g.right} y1=${tk.y} y2=${tk.y} />
          <text x=${g.left - 6} y=${tk.y + 4} text-anchor="end">${fmt(tk.v)}</text></g>`)}
        ${g.xTicks.map((tk, i) => html`<text key=${'x' + i} x=${tk.x} y=${g.height - 10}
          text-anchor=${i === 0 ? 'start' : i === g.xTicks.length - 1 ? 'end' : 'middle'}>${fmtClock(tk.t, g.spanMs)}</text>`)}
        <line class="lim-baseline" x1=${g.left} x2=${g.width - g.right} y1=${g.height - g.bottom} y2=${g.height - g.bottom} />
      </g>
      ${showReserved && html`<path class="lim-line-committed" d=${g.committedPath} />`}
      <path class="lim-line-spent" d=${g.spentPath} />
      ${g.points.map((p) => html`<circle key=${p.seq} class="lim-point" data-seq=${p.seq} cx=${p.x} cy=${p.y} r="3.5">
        <title>${fmtTime(p.at)}: ${what === 'units' ? fmt(p.value) + ' used' : fmt(p.value) + ' spent, ' + fmt(p.reserved || 0) + ' reserved'} (packet ${p.seq})</title></circle>`)}
      ${g.capY !== null && html`<g class="lim-cap" data-cap=${cap}>
        <line x1=${g.left} x2=${g.width - g.right} y1=${g.capY} y2=${g.capY} />
        <text x=${g.width - g.right - 4} y=${g.capY - 5} text-anchor="end">${capText}</text></g>`}
    </svg>
    <figcaption>
      <span class="lim-key"><span class="lim-key-spent" aria-hidden="true"></span>${what === 'units' ? 'used' : 'spent'}</span>
      ${showReserved && html`<span class="lim-key"><span class="lim-key-committed" aria-hidden="true"></span>spent + reserved</span>`}
      ${g.capY !== null && html`<span class="lim-key"><span class="lim-key-cap" aria-hidden="true"></span>${capWord}</span>`}
      <span class="lim-caption-text">${summary}${truncated}</span>
    </figcaption>
    <details class="lim-points">
      <summary>The ${series.length} point${series.length === 1 ? '' : 's'} as a table</summary>
      <div class="table-scroll"><table>
        <caption class="sr-only">${what === 'units' ? 'Units used' : 'Spend'} after each packet that changed it</caption>
        <thead><tr><th scope="col">At</th><th scope="col" class="num">Packet</th>
          <th scope="col" class="num">${what === 'units' ? 'Used' : 'Spent'}</th>${showReserved && html`<th scope="col" class="num">Reserved</th>`}</tr></thead>
        <tbody>${series.map((p) => html`<tr key=${p.seq}><td>${fmtTime(p.at)}</td><td class="num">${p.seq}</td>
          <td class="num">${fmt(p.value)}</td>${showReserved && html`<td class="num">${fmt(p.reserved || 0)}</td>`}</tr>`)}</tbody>
      </table></div>
    </details>
  </figure>`;
}

/// An operator's form: a named budget's new cap (PUT /api/budgets/{name}).
function CapForm({ budget, onDone }) {
  const [cap, setCap] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [capError, setCapError] = useState(null);
  const [done, setDone] = useState(null);
  async function submit(e) {
    e.preventDefault();
    setError(null); setCapError(null); setDone(null);
    const micro = parseUsd(cap);
    if (micro === null) { setCapError('Give the cap in dollars, e.g. 5 or 0.25 (at most six decimals).'); return; }
    setBusy(true);
    try {
      const b = await api('/api/budgets/' + enc(budget.name), { method: 'PUT', body: { max_usd_micro: micro } });
      setDone({ before: budget.max_usd_micro, after: b.max_usd_micro });
      setCap('');
      onDone && onDone();
    } catch (err) {
      const atCap = (err.errors || []).filter((p) => p.pointer === '/max_usd_micro');
      if (atCap.length) setCapError(atCap.map((p) => `${p.message} (${p.code})`).join(' '));
      if (!atCap.length || (err.errors || []).length > atCap.length) setError(err);
    } finally {
      setBusy(false);
    }
  }
  return html`<form class="lim-cap-form" aria-labelledby="lim-cap-h" onSubmit=${submit}>
    <h3 id="lim-cap-h">Change the cap</h3>
    <p class="muted small">Tasks waiting for room in this budget go as soon as the new cap leaves it.</p>
    <label for="lim-cap-input">New cap in US dollars</label>
    <div class="lim-inline">
      <input id="lim-cap-input" type="text" inputmode="decimal" required value=${cap} disabled=${busy}
             placeholder=${budget.max_usd_micro === null || budget.max_usd_micro === undefined ? '' : fmtUsd(budget.max_usd_micro).slice(1)}
             aria-invalid=${capError ? 'true' : undefined} aria-describedby=${capError ? 'lim-cap-err' : undefined}
             onInput=${(e) => setCap(e.target.value)} />
      <button type="submit" disabled=${busy || !cap.trim()}>Set cap</button>
    </div>
    ${capError && html`<div id="lim-cap-err" class="field-error" role="alert">${capError}</div>`}
    <${ErrorBox} error=${error} />
    <div role="status">${done && html`<p class="ok">The cap is now ${fmtUsd(done.after)} (it was ${done.before === null || done.before === undefined ? 'none' : fmtUsd(done.before)}).</p>`}</div>
  </form>`;
}

const KINDS = {
  budget: { path: (n) => '/api/budgets/' + enc(n), title: (n) => `Budget ${n}` },
  run: { path: (n) => '/api/runs/' + enc(n) + '/spend', title: (n) => `Cap of run ${String(n).slice(0, 8)}` },
  quota: { path: (n) => '/api/quotas/' + enc(n), title: (n) => `Quota ${n}` },
};

function BudgetFacts({ b }) {
  return html`<dl class="kv lim-facts">
    <dt>Cap</dt><dd>${b.max_usd_micro === null || b.max_usd_micro === undefined ? 'none: it only counts' : fmtUsd(b.max_usd_micro)}</dd>
    <dt>Window</dt><dd>${b.window ? html`<code>${b.window}</code>, this one from ${fmtTime(b.window_start)}` : 'none: the cap holds for all time'}</dd>
    <dt>Spent</dt><dd data-field="spent">${fmtUsd(b.spent_usd_micro)}</dd>
    <dt>Reserved</dt><dd data-field="reserved">${fmtUsd(b.reserved_usd_micro)} <span class="muted">(by attempts running now)</span></dd>
    ${b.available_usd_micro !== undefined && html`<dt>Available</dt><dd data-field="available">${fmtUsd(b.available_usd_micro)}</dd>`}
    ${b.run_id && html`<dt>Run</dt><dd><a href=${href('runs', b.run_id)}>Run ${b.run_id}</a></dd>`}
    ${b.description && html`<dt>Description</dt><dd>${b.description}</dd>`}
    <dt>Created</dt><dd>${fmtTime(b.created_at)}</dd>
    <dt>Changed</dt><dd>${fmtTime(b.updated_at)}</dd>
  </dl>`;
}

function QuotaFacts({ q }) {
  return html`<dl class="kv lim-facts">
    <dt>Units per window</dt><dd>${fmtUnits(q.units)}</dd>
    <dt>Window</dt><dd>${q.window ? html`<code>${q.window}</code>, this one from ${fmtTime(q.window_start)}` : 'none'}</dd>
    <dt>Used</dt><dd data-field="used">${fmtUnits(q.used_units)}</dd>
    <dt>Available</dt><dd data-field="available">${fmtUnits(q.available_units)}</dd>
    <dt>Resets</dt><dd>${fmtTime(q.resets_at)}</dd>
    ${q.description && html`<dt>Description</dt><dd>${q.description}</dd>`}
    <dt>Created</dt><dd>${fmtTime(q.created_at)}</dd>
    <dt>Changed</dt><dd>${fmtTime(q.updated_at)}</dd>
  </dl>`;
}

/// Whether Zenith's figures and the lineage's agree, in words.
function Agreement({ x, quota }) {
  const l = x.lineage || {};
  const pairs = quota
    ? [['used', x.used_units, l.used_units, fmtUnits]]
    : [['spent', x.spent_usd_micro, l.spent_usd_micro, fmtUsd], ['reserved', x.reserved_usd_micro, l.reserved_usd_micro, fmtUsd]];
  const differ = pairs.filter(([, a, b]) => a !== b);
  const words = pairs.map(([k, , b, f]) => `${f(b)} ${k}`).join(', ');
  return html`<p class=${'lim-agree' + (differ.length ? ' lim-differ' : '')} data-agree=${differ.length ? 'no' : 'yes'}>
    Added up again from the lineage (${fmtUnits(l.events || 0)} packet${l.events === 1 ? '' : 's'}): ${words}.
    ${differ.length
      ? html`<strong>It differs from Zenith's figures</strong> (${differ.map(([k, a, , f]) => `${f(a)} ${k}`).join(', ')}): an attempt may have ended between the two reads; Paradox's audit (Operations) checks it.`
      : " The same as Zenith's figures."}
  </p>`;
}

export function LimitPage({ params = [], session }) {
  const kind = params[0];
  const name = params[1] || '';
  const spec = KINDS[kind];
  const doc = useAsync(() => (spec && name ? api(spec.path(name)) : Promise.resolve(null)), [kind, name]);
  const live = useLiveRefresh(doc.reload, { kinds: LIMIT_EVENT_KINDS, minInterval: 1000, enabled: !!spec });
  if (!spec || !name)
    return html`<${Title} text="Not found" /><p>There is no page <code>#/limits/${params.join('/')}</code>. <a href="#/limits">All budgets and quotas</a>.</p>`;
  const title = spec.title(name);
  const crumbs = html`<p class="mod-crumbs"><a href="#/limits">Budgets & quotas</a> / ${kind === 'run' ? 'run' : kind} <code>${name}</code></p>`;
  if (doc.error && !doc.data)
    return html`${crumbs}<${Title} text=${title} /><${ErrorBox} error=${doc.error} />
      ${doc.error.status === 404 && kind === 'run' && html`<p>A run has a cap once its first costly task is dispatched under a policy with <code>budget.max_usd_micro</code>.</p>`}`;
  if (!doc.data) return html`${crumbs}<${Title} text=${title} /><${Loading} what="Loading" />`;
  const x = doc.data;
  const quota = kind === 'quota';
  const series = ((x.lineage && x.lineage.series) || []).map((p) => quota
    ? { at: p.at, seq: p.seq, value: p.used_units || 0 }
    : { at: p.at, seq: p.seq, value: p.spent_usd_micro || 0, reserved: p.reserved_usd_micro || 0 });
  const showReserved = !quota && series.some((p) => p.reserved > 0);
  const canWork = allows(session, 'operator') && kind === 'budget';
  return html`<article class="lim-page lim-detail" data-subject=${x.subject}>
    ${crumbs}
    <div class="board-head">
      <${Title} text=${title} />
      <${LiveBadge} state=${live} />
    </div>
    <div class="grid2">
      <section class="card" aria-labelledby="lim-now-h">
        <h2 id="lim-now-h">Now</h2>
        <p class="lim-words">
          <${UsageBar} used=${quota ? x.used_units || 0 : x.spent_usd_micro || 0} reserved=${quota ? 0 : x.reserved_usd_micro || 0}
            cap=${quota ? x.units : x.max_usd_micro} label=${quota ? quotaWords(x) : budgetWords(x)} />
          <span data-field="words">${quota ? quotaWords(x) : budgetWords(x)}</span></p>
        ${quota ? html`<${QuotaFacts} q=${x} />` : html`<${BudgetFacts} b=${x} />`}
        ${canWork && html`<${CapForm} budget=${x} onDone=${doc.reload} />`}
      </section>
      <section class="card" aria-labelledby="lim-chart-h">
        <h2 id="lim-chart-h">${quota ? 'Units used over time' : 'Spend over time'}</h2>
        <${SpendChart} id="lim-chart" series=${series} cap=${quota ? x.units : x.max_usd_micro}
          fmt=${quota ? fmtUnits : fmtUsd} what=${quota ? 'units' : 'usd'} capWord=${quota ? 'units per window' : 'cap'}
          showReserved=${showReserved} events=${(x.lineage && x.lineage.events) || 0} />
        <${Agreement} x=${x} quota=${quota} />
        <p class="muted small">${quota
          ? 'Each point is a dispatch that charged the quota; units are not given back when an attempt fails.'
          : 'Each point is a packet that reserved (a dispatch) or settled (an attempt\u2019s end) against this cap.'}</p>
      </section>
    </div>
  </article>`;
}
