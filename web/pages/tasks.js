// The task board: counts per status (one request), one server page of tasks
// (one request), filters and search kept in the hash, live through the
// node's Server-Sent Events. Never more than one page is fetched, so the
// first render costs the same at 100 tasks as at 100,000.
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { html, Status, ErrorBox, Loading, ShortId, fmtTime, usePager, Pager, Title } from '../lib/ui.js';
import { api, page } from '../lib/api.js';
import { href, navigate } from '../lib/router.js';

/// The statuses in the order a task goes through them; a status the server
/// counts and this list lacks is shown after them.
export const TASK_STATUSES = ['PENDING', 'READY', 'RUNNING', 'DONE', 'ERROR', 'CANCELLED', 'SKIPPED'];

/// The kinds of event that change a task (`docs/http-api.md`, Events). The
/// node names each event by its kind, so an EventSource hears only the kinds
/// it listens to.
export const TASK_EVENT_KINDS = [
  'task.created', 'task.ready', 'task.dispatched', 'task.succeeded', 'task.failed',
  'task.attempt_failed', 'task.requeued', 'task.cancelled', 'task.retried', 'task.revived',
  'task.skipped', 'task.reused', 'task.priority_changed', 'task.files_removed',
];

const PAGE_SIZE = 50;

/// Listens to the node's events and calls `refresh()` when an accepted one
/// arrived, at most once per `minInterval` ms and never while the previous
/// refresh is still running; a refresh that took long spaces the next one
/// out (twice its time), so a burst of 1,000 events a second costs a few
/// requests, not 1,000. `accept(data)` picks the events that matter.
/// Answers the connection's state: 'connecting', 'live' or 'reconnecting'.
export function useLiveRefresh(refresh, { kinds = TASK_EVENT_KINDS, accept = () => true, minInterval = 500, enabled = true } = {}) {
  const [state, setState] = useState('connecting');
  const refreshRef = useRef(refresh);
  const acceptRef = useRef(accept);
  refreshRef.current = refresh;
  acceptRef.current = accept;
  useEffect(() => {
    if (!enabled || typeof EventSource === 'undefined') return undefined;
    let dirty = false;
    let running = false;
    let timer = null;
    let last = 0;
    let gap = minInterval;
    let closed = false;
    const run = async () => {
      timer = null;
      if (closed) return;
      dirty = false;
      running = true;
      const started = performance.now();
      try { await refreshRef.current(); } catch { /* the page shows its own errors */ }
      const took = performance.now() - started;
      running = false;
      last = performance.now();
      gap = Math.max(minInterval, Math.min(10000, 2 * took));
      if (dirty) schedule();
    };
    const schedule = () => {
      if (timer || running || closed) return;
      timer = setTimeout(run, Math.max(0, last + gap - performance.now()));
    };
    const es = new EventSource('/api/events');
    const on = (e) => {
      let data = null;
      try { data = JSON.parse(e.data); } catch { return; }
      if (!acceptRef.current(data)) return;
      dirty = true;
      schedule();
    };
    for (const k of kinds) es.addEventListener(k, on);
    es.onopen = () => setState('live');
    es.onerror = () => setState(es.readyState === EventSource.CLOSED ? 'offline' : 'reconnecting');
    return () => {
      closed = true;
      if (timer) clearTimeout(timer);
      es.close();
    };
  }, [enabled, minInterval, kinds.join(',')]);
  return state;
}

/// The small "live" badge of a page that follows the node's events.
export function LiveBadge({ state }) {
  const words = { connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting…', offline: 'Offline' };
  return html`<span class=${'live-badge live-' + state} role="status" title="Updates from the node's event stream">
    <span class="live-dot" aria-hidden="true"></span>${words[state] || state}</span>`;
}

function StatusTabs({ counts, countsError, current, query }) {
  const keys = counts ? [...TASK_STATUSES.filter((s) => s in counts), ...Object.keys(counts).filter((k) => k !== 'total' && !TASK_STATUSES.includes(k))] : TASK_STATUSES;
  const tab = (status, label, n) => html`<li>
    <a href=${href('tasks', { ...query, status })} aria-current=${(current || '') === (status || '') ? 'page' : undefined}
       class=${'tab' + (status ? ' tab-' + status.toLowerCase() : '')}>
      ${label} <span class="count">${n === undefined ? '…' : n.toLocaleString()}</span></a></li>`;
  return html`<nav class="status-tabs" aria-label="Task status">
    <ul>
      ${tab(undefined, 'All', counts ? counts.total : undefined)}
      ${keys.map((s) => tab(s, s, counts ? counts[s] : undefined))}
    </ul>
    ${countsError && html`<${ErrorBox} error=${countsError} />`}
  </nav>`;
}

function Filters({ query }) {
  const [q, setQ] = useState(query.q || '');
  const [mod, setMod] = useState(query.module || '');
  const [modules, setModules] = useState([]);
  useEffect(() => { setQ(query.q || ''); setMod(query.module || ''); }, [query.q, query.module]);
  useEffect(() => {
    // Suggestions for the module box, after the board's own requests.
    let live = true;
    const t = setTimeout(() => page('/api/modules', { limit: 200 }).then((p) => live && setModules(p.items.map((m) => m.ref)), () => {}), 300);
    return () => { live = false; clearTimeout(t); };
  }, []);
  function submit(e) {
    e.preventDefault();
    navigate(href('tasks', { status: query.status, module: mod.trim(), q: q.trim() }));
  }
  function clear() {
    setQ(''); setMod('');
    navigate(href('tasks', { status: query.status }));
  }
  return html`<form class="toolbar" role="search" aria-label="Filter tasks" onSubmit=${submit}>
    <div>
      <label for="tasks-q">Search</label>
      <input id="tasks-q" type="search" size="34" value=${q} onInput=${(e) => setQ(e.target.value)}
             placeholder="task id prefix, module or trace id" />
    </div>
    <div>
      <label for="tasks-module">Module</label>
      <input id="tasks-module" type="text" list="tasks-module-list" size="22" value=${mod}
             onInput=${(e) => setMod(e.target.value)} placeholder="name@version" />
      <datalist id="tasks-module-list">${modules.map((m) => html`<option value=${m} />`)}</datalist>
    </div>
    <button type="submit">Apply</button>
    ${(query.q || query.module) && html`<button type="button" class="secondary" onClick=${clear}>Clear filters</button>`}
  </form>`;
}

function TaskRows({ items }) {
  return html`<table class="tasks-table">
    <caption class="tk-sr">Tasks, oldest first</caption>
    <thead><tr>
      <th scope="col">Task</th><th scope="col">Module</th><th scope="col">Status</th>
      <th scope="col">Priority</th><th scope="col">Attempt</th><th scope="col">Created</th>
      <th scope="col">Updated</th><th scope="col">Trace</th>
    </tr></thead>
    <tbody>
      ${items.map((t) => html`<tr key=${t.task_id}>
        <td><a href=${href('tasks', t.task_id)} aria-label=${'Task ' + t.task_id}><${ShortId} id=${t.task_id} /></a></td>
        <td><a href=${href('modules', t.module_ref)}>${t.module_ref}</a></td>
        <td><${Status} value=${t.status} />${t.error && t.error.code ? html` <code class="muted">${t.error.code}</code>` : ''}</td>
        <td>${t.priority ?? ''}</td>
        <td>${t.attempt ?? ''}</td>
        <td>${fmtTime(t.created_at)}</td>
        <td>${fmtTime(t.updated_at)}</td>
        <td>${t.trace_id ? html`<a href=${href('tasks', { q: t.trace_id })} aria-label=${'Tasks of trace ' + t.trace_id}><${ShortId} id=${t.trace_id} /></a>` : ''}</td>
      </tr>`)}
    </tbody>
  </table>`;
}

export function TasksPage({ query }) {
  const status = query.status || undefined;
  const module = query.module || undefined;
  const q = query.q || undefined;
  const filterKey = JSON.stringify([status, module, q]);
  const pager = usePager(filterKey);
  const [counts, setCounts] = useState({ data: null, error: null });
  const [list, setList] = useState({ data: null, error: null, key: null });
  const seq = useRef({ counts: 0, list: 0 });
  const current = useRef({});
  current.current = { status, module, q, cursor: pager.cursor };

  const loadCounts = () => {
    const n = ++seq.current.counts;
    const { module: m, q: search } = current.current;
    return api('/api/tasks/counts', { query: { module_ref: m, q: search } }).catch((e) => {
      // A node whose counts take no search: the module's counts.
      if (search && e.code === 'invalid_filter' && e.pointer === '/q') return api('/api/tasks/counts', { query: { module_ref: m } });
      throw e;
    }).then(
      (data) => n === seq.current.counts && setCounts({ data, error: null }),
      (error) => n === seq.current.counts && setCounts((c) => ({ data: c.data, error })));
  };
  const loadList = () => {
    const n = ++seq.current.list;
    const c = current.current;
    const key = JSON.stringify([c.status, c.module, c.q, c.cursor]);
    return page('/api/tasks', { limit: PAGE_SIZE, cursor: c.cursor, status: c.status, module_ref: c.module, q: c.q }).then(
      (data) => n === seq.current.list && setList({ data, error: null, key }),
      (error) => n === seq.current.list && setList({ data: null, error, key }));
  };

  // Layout effects: the requests leave as soon as the page is rendered, not
  // a frame later.
  useLayoutEffect(() => { loadCounts(); }, [module, q]);
  const lastFilter = useRef(filterKey);
  useLayoutEffect(() => {
    // New filters start at the first page: the pager drops its cursor a
    // render later, and that render loads.
    const changed = lastFilter.current !== filterKey;
    lastFilter.current = filterKey;
    if (changed && pager.cursor !== undefined) return;
    loadList();
  }, [filterKey, pager.cursor]);
  const live = useLiveRefresh(() => Promise.all([loadCounts(), loadList()]));

  const title = 'Tasks' + (status ? ' · ' + status : '');
  const key = JSON.stringify([status, module, q, pager.cursor]);
  const items = list.data ? list.data.items : null;
  return html`<section class="tasks-board">
    <div class="board-head">
      <${Title} text=${title} />
      <${LiveBadge} state=${live} />
      <a class="tk-button" href="#/new">New task</a>
    </div>
    <${StatusTabs} counts=${counts.data} current=${status} query=${{ module, q }}
      countsError=${counts.error && !(list.error && list.error.message === counts.error.message) ? counts.error : null} />
    <${Filters} query=${query} />
    ${(module || q) && html`<p class="muted filter-note">Showing ${module ? html`tasks of <code>${module}</code>` : 'tasks'}${q ? html` matching <code>${q}</code>` : ''}.</p>`}
    ${list.error && html`<${ErrorBox} error=${list.error} />`}
    ${!items && !list.error && html`<${Loading} what="Loading tasks" />`}
    ${items && (items.length === 0
      ? html`<p class="empty">${pager.pageNumber > 1 ? 'No more tasks.' : 'No tasks match.'} ${!status && !module && !q && html`<a href="#/new">Start one</a>.`}</p>`
      : html`<${TaskRows} items=${items} />`)}
    ${items && list.key !== key && html`<p class="loading" role="status">Updating…</p>`}
    <${Pager} pager=${pager} nextCursor=${list.data && list.data.next_cursor} label="Task pages" />
  </section>`;
}
