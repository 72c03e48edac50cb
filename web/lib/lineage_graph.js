// A task's lineage as a graph of tasks and assets (Cytoscape.js), loaded as a
// bounded neighbourhood and grown one step at a time on request.
//
// The first load: the task (its record, given), its input assets and the
// tasks that made them, its output assets and the tasks that take them.
// Expanding a task reads its record (its inputs and outputs); expanding an
// asset reads its record (its producer, the unfinished tasks holding it) and
// the first packets of its history (the tasks that took it as input). Each
// expansion draws at most MAX_PER_SIDE neighbours a side and says how many
// more there are. Beside the canvas, a table lists the same nodes with links
// and "Expand" buttons, so the graph is usable by keyboard and screen reader.
import { useEffect, useRef, useState } from 'preact/hooks';
import { html, Status, ErrorBox, ShortId } from './ui.js';
import { api } from './api.js';
import { href, navigate } from './router.js';

// Cytoscape is fetched and parsed while the task page asks for its record,
// not after: the graph is drawn as soon as its neighbourhood is known.
const cytoscapeModule = import('cytoscape');

/// Neighbours drawn per side of one expansion.
export const MAX_PER_SIDE = 24;
/// Packets of an asset's history read to find the tasks that took it.
export const HISTORY_LIMIT = 200;
/// Nodes the graph holds at most; expanding further is refused politely.
export const MAX_NODES = 400;

const enc = encodeURIComponent;
/// The id of the stylesheet Cytoscape would add (see the import below).
const CY_STYLESHEET_ID = '__________cytoscape_stylesheet';
const short = (id) => String(id || '').slice(0, 8);

/// The graph's data, independent of any drawing: nodes (tasks and assets)
/// with a column (`level`: inputs left of their task, outputs right) and
/// edges in the direction data flows (asset → task that reads it → asset it
/// makes).
export class LineageModel {
  constructor() {
    this.nodes = new Map();
    this.edges = new Map();
    this.version = 0;
  }

  /// Adds a node, or completes the one there (its level stays the first).
  node(id, kind, level, patch = {}) {
    let n = this.nodes.get(id);
    if (!n) {
      if (this.nodes.size >= MAX_NODES) return null;
      n = { id, kind, level, label: '', status: '', up: false, down: false, more: 0, order: this.nodes.size };
      this.nodes.set(id, n);
    }
    for (const [k, v] of Object.entries(patch)) if (v !== undefined && v !== '') n[k] = v;
    this.version++;
    return n;
  }

  edge(source, target, label = '') {
    if (!this.nodes.has(source) || !this.nodes.has(target)) return;
    const id = source + '>' + target;
    if (!this.edges.has(id)) this.edges.set(id, { id, source, target, label });
    else if (label && !this.edges.get(id).label) this.edges.get(id).label = label;
    this.version++;
  }

  expanded(id) {
    const n = this.nodes.get(id);
    return !!n && n.up && n.down;
  }

  /// What a node's row says of its neighbours: "← a, b; → c".
  neighbours(id) {
    const ins = [], outs = [];
    for (const e of this.edges.values()) {
      if (e.target === id) ins.push(e.source);
      if (e.source === id) outs.push(e.target);
    }
    return { ins, outs };
  }

  /// Positions: one column per level, nodes in the order they came.
  positions() {
    const cols = new Map();
    for (const n of this.nodes.values()) {
      if (!cols.has(n.level)) cols.set(n.level, []);
      cols.get(n.level).push(n);
    }
    const pos = new Map();
    for (const [level, list] of cols) {
      list.sort((a, b) => a.order - b.order);
      list.forEach((n, i) => pos.set(n.id, { x: level * 200, y: (i - (list.length - 1) / 2) * 70 }));
    }
    return pos;
  }

  /// Nodes in reading order: by column, then top to bottom.
  ordered() {
    return [...this.nodes.values()].sort((a, b) => a.level - b.level || a.order - b.order);
  }
}

function taskLabel(rec) {
  return (rec.module_ref || 'task') + '\n' + short(rec.task_id);
}

function assetLabel(rec, key) {
  const name = rec.label || key || rec.media_type || rec.dtype || 'asset';
  return name + '\n' + short(rec.asset_id);
}

/// Reads a task record into the model: its inputs one column left, its
/// outputs one column right.
export function addTask(model, rec) {
  const me = model.node(rec.task_id, 'task', model.nodes.get(rec.task_id)?.level ?? 0,
    { label: taskLabel(rec), status: rec.status, up: true, down: true });
  if (!me) return;
  const L = me.level;
  const ins = Object.entries(rec.input_mapping || {}).flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((a) => [k, a]));
  ins.slice(0, MAX_PER_SIDE).forEach(([key, aid]) => {
    const had = model.nodes.has(aid);
    if (model.node(aid, 'asset', L - 1, had ? {} : { label: key + '\n' + short(aid) })) model.edge(aid, rec.task_id, key);
  });
  const outs = Object.entries(rec.outputs || {});
  outs.slice(0, MAX_PER_SIDE).forEach(([key, aid]) => {
    const had = model.nodes.has(aid);
    if (model.node(aid, 'asset', L + 1, had ? {} : { label: key + '\n' + short(aid) })) model.edge(rec.task_id, aid, key);
  });
  me.more = Math.max(0, ins.length - MAX_PER_SIDE) + Math.max(0, outs.length - MAX_PER_SIDE);
}

/// The task a `task.created` packet made: its payload's `task_id` (when
/// Paradox indexes it), else the task row it wrote, else the subject that is
/// neither an input nor an output.
export function taskOfCreated(p, payload) {
  if (payload.task_id) return payload.task_id;
  const rows = payload._rows && payload._rows.tasks && Object.keys(payload._rows.tasks);
  if (rows && rows.length) return rows[0];
  const assets = new Set([...Object.values(payload.inputs || {}), ...Object.values(payload.outputs || {})]);
  return (p.subjects || []).find((s) => !assets.has(s));
}

/// Reads an asset: its record (and its producer, one column left); with
/// `down`, also the tasks that took it as input (one column right), from the
/// first HISTORY_LIMIT packets of its history and its holders.
export async function loadAsset(model, id, { down = true } = {}) {
  const n0 = model.nodes.get(id);
  const L = n0 ? n0.level : 0;
  const [rec, hist] = await Promise.all([
    api('/api/assets/' + enc(id)),
    down ? api('/api/lineage/' + enc(id), { query: { limit: HISTORY_LIMIT } }).catch((e) => {
      // A node without the history limit: draw the holders only rather than
      // read an unbounded history.
      if (e.code === 'invalid_filter' && e.pointer === '/limit') return null;
      throw e;
    }) : null,
  ]);
  const me = model.node(id, 'asset', L, { label: assetLabel(rec, n0 && n0.label.split('\n')[0]), status: rec.status });
  if (!me) return;
  me.up = true;
  if (rec.produced_by) {
    const had = model.nodes.has(rec.produced_by);
    if (model.node(rec.produced_by, 'task', L - 1, had ? {} : { label: 'task\n' + short(rec.produced_by) }))
      model.edge(rec.produced_by, id);
  }
  if (!down) return;
  // The tasks that took it: task.created packets naming it among their inputs.
  const consumers = new Map();
  for (const p of (hist && hist.history) || []) {
    if (p.kind !== 'task.created') continue;
    let payload = p.payload;
    if (typeof payload === 'string') { try { payload = JSON.parse(payload); } catch { payload = {}; } }
    const inputs = (payload && payload.inputs) || {};
    const taskId = taskOfCreated(p, payload);
    for (const [key, aid] of Object.entries(inputs))
      if (aid === id && taskId && taskId !== rec.produced_by) consumers.set(taskId, { key, module_ref: payload.module_ref, status: payload.status });
    if (taskId === rec.produced_by && payload.module_ref) {
      const prod = model.nodes.get(taskId);
      if (prod && !prod.up) prod.label = payload.module_ref + '\n' + short(taskId);
    }
  }
  for (const t of rec.holds || []) if (!consumers.has(t)) consumers.set(t, { key: '' });
  const list = [...consumers];
  list.slice(0, MAX_PER_SIDE).forEach(([tid, c]) => {
    const had = model.nodes.has(tid);
    if (model.node(tid, 'task', L + 1, had ? {} : { label: (c.module_ref || 'task') + '\n' + short(tid) })) model.edge(id, tid, c.key);
  });
  me.more = Math.max(0, list.length - MAX_PER_SIDE);
  me.partial = !!(hist && hist.history && hist.history.length >= HISTORY_LIMIT) || hist === null;
  me.down = true;
}

/// One more step from a node: what it has not loaded yet.
export async function expandNode(model, id) {
  const n = model.nodes.get(id);
  if (!n || (n.up && n.down)) return;
  if (n.kind === 'task') addTask(model, await api('/api/tasks/' + enc(id)));
  else await loadAsset(model, id, { down: true });
}

/// The first neighbourhood of a task: the task, its inputs and their
/// producers, its outputs and the tasks that take them.
export async function loadNeighbourhood(model, task) {
  addTask(model, task);
  const ins = Object.values(task.input_mapping || {}).flat().slice(0, MAX_PER_SIDE);
  const outs = Object.values(task.outputs || {}).slice(0, MAX_PER_SIDE);
  const results = await Promise.allSettled([
    ...ins.map((a) => loadAsset(model, a, { down: false })),
    ...outs.map((a) => loadAsset(model, a, { down: true })),
  ]);
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
}

const STATUS_COLOURS = {
  DONE: '#17663a', AVAILABLE: '#17663a', ERROR: '#a4161a', FAILED: '#a4161a',
  RUNNING: '#0b5cad', READY: '#3f7fc4', PENDING: '#8a5300', CANCELLED: '#59616b',
  SKIPPED: '#59616b', PURGED: '#59616b',
};

function cyStyle() {
  return [
    { selector: 'node', style: {
      'label': 'data(label)', 'text-wrap': 'wrap', 'text-max-width': 150, 'font-size': 11,
      'text-valign': 'bottom', 'text-margin-y': 4, 'color': '#1b1f24',
      'background-color': 'data(colour)', 'width': 28, 'height': 28,
      'border-width': 2, 'border-color': '#ffffff', 'border-style': 'solid',
    } },
    { selector: 'node[kind = "task"]', style: { 'shape': 'round-rectangle', 'width': 38, 'height': 26 } },
    { selector: 'node[kind = "asset"]', style: { 'shape': 'ellipse' } },
    { selector: 'node[closed = 1]', style: { 'border-color': '#1b1f24', 'border-style': 'dashed' } },
    { selector: 'node[root = 1]', style: { 'border-width': 4, 'border-color': '#14243a', 'border-style': 'double' } },
    { selector: 'node:selected', style: { 'overlay-color': '#ffbf47', 'overlay-opacity': 0.45, 'overlay-padding': 6 } },
    { selector: 'edge', style: {
      'width': 1.5, 'line-color': '#8d96a0', 'target-arrow-color': '#8d96a0',
      'target-arrow-shape': 'triangle', 'curve-style': 'bezier',
      'label': 'data(label)', 'font-size': 9, 'color': '#4f5965', 'text-rotation': 'autorotate',
      'text-background-color': '#ffffff', 'text-background-opacity': 0.85, 'text-background-padding': 1,
    } },
  ];
}

/// Fits the graph in its canvas, never zooming a small graph in beyond 1.2.
function fitGraph(cy) {
  cy.fit(undefined, 30);
  if (cy.zoom() > 1.2) { cy.zoom(1.2); cy.center(); }
}

function entityHref(n) {
  return n.kind === 'task' ? href('tasks', n.id) : href('assets', n.id);
}

/// The lineage of a task: `task` is its record (its status followed live by
/// the page). Props: `task`.
export function LineageGraph({ task }) {
  const box = useRef(null);
  const cyRef = useRef(null);
  const modelRef = useRef(null);
  const [version, setVersion] = useState(0);
  const [selected, setSelected] = useState(task.task_id);
  const [busy, setBusyState] = useState({});
  const busyRef = useRef({});
  const setBusy = (f) => { busyRef.current = f(busyRef.current); setBusyState(busyRef.current); };
  const [error, setError] = useState(null);
  const [loading, setLoading] = useState(true);
  const [drawError, setDrawError] = useState(null);
  const rootId = task.task_id;

  // Draws the model: adds what is new, updates labels and colours, moves
  // every node to its column.
  const sync = (fit) => {
    const cy = cyRef.current;
    const model = modelRef.current;
    if (!cy || !model) return;
    const pos = model.positions();
    const added = [];
    cy.batch(() => {
      for (const n of model.nodes.values()) {
        const data = { id: n.id, label: n.label, kind: n.kind, colour: STATUS_COLOURS[n.status] || '#9aa3ad',
          closed: model.expanded(n.id) ? 0 : 1, root: n.id === rootId ? 1 : 0 };
        const el = cy.getElementById(n.id);
        if (el.empty()) { cy.add({ group: 'nodes', data, position: pos.get(n.id) }); added.push(pos.get(n.id)); }
        else { el.data(data); el.position(pos.get(n.id)); }
      }
      for (const e of model.edges.values())
        if (cy.getElementById(e.id).empty()) cy.add({ group: 'edges', data: { ...e } });
    });
    // New nodes out of sight: fit again (else the view stays where it is,
    // so the node under the pointer does not move).
    const ext = cy.extent();
    const hidden = added.some((p) => p.x < ext.x1 + 20 || p.x > ext.x2 - 20 || p.y < ext.y1 + 20 || p.y > ext.y2 - 20);
    if (fit || hidden) fitGraph(cy);
  };

  const refresh = (fit) => { sync(fit); setVersion(modelRef.current ? modelRef.current.version : 0); };

  async function expand(id) {
    const model = modelRef.current;
    if (!model || model.expanded(id) || busyRef.current[id]) return;
    if (model.nodes.size >= MAX_NODES) {
      setError({ code: 'too_many_nodes', message: `The graph holds ${MAX_NODES} nodes at most; open a node's page to see its own lineage.` });
      return;
    }
    setBusy((b) => ({ ...b, [id]: true }));
    setError(null);
    try {
      await expandNode(model, id);
    } catch (e) {
      setError(e);
    } finally {
      setBusy((b) => { const c = { ...b }; delete c[id]; return c; });
      refresh(false);
    }
  }

  function select(id) {
    setSelected(id);
    const cy = cyRef.current;
    if (cy) { cy.$(':selected').unselect(); cy.getElementById(id).select(); }
  }

  // The model and the first neighbourhood, once per task.
  useEffect(() => {
    const model = new LineageModel();
    modelRef.current = model;
    let live = true;
    setLoading(true);
    setError(null);
    setSelected(rootId);
    loadNeighbourhood(model, task).catch((e) => live && setError(e)).finally(() => {
      if (!live) return;
      setLoading(false);
      refresh(true);
    });
    refresh(true);
    return () => { live = false; };
  }, [rootId]);

  // The task's own status, as the page follows it.
  useEffect(() => {
    const model = modelRef.current;
    if (model && model.nodes.has(rootId)) { model.node(rootId, 'task', 0, { status: task.status }); refresh(false); }
  }, [task.status]);

  // Cytoscape (fetched since this module loaded); the canvas follows the
  // model.
  useEffect(() => {
    let cy = null;
    let live = true;
    cytoscapeModule.then(({ default: cytoscape }) => {
      if (!live || !box.current) return;
      // Cytoscape adds a <style> element unless one with its id is there;
      // the page's CSP allows no inline style, and style.css positions the
      // canvas itself (.lineage-canvas).
      if (!document.getElementById(CY_STYLESHEET_ID)) {
        const mark = document.createElement('meta');
        mark.id = CY_STYLESHEET_ID;
        document.head.appendChild(mark);
      }
      cy = cytoscape({
        container: box.current, style: cyStyle(), elements: [], layout: { name: 'preset' },
        minZoom: 0.2, maxZoom: 2, userZoomingEnabled: false, boxSelectionEnabled: false,
        autoungrabify: true, selectionType: 'single',
      });
      cyRef.current = cy;
      box.current.cy = cy; // for tests: a node's renderedPosition() to click
      // Cytoscape keeps where its canvas is on the screen until a scroll or
      // a resize; the page's sections above it load after it and move it.
      // Looked up again at each press, so clicks land on the right node.
      const where = () => cy.resize();
      box.current.addEventListener('mousedown', where, true);
      box.current.addEventListener('touchstart', where, { capture: true, passive: true });
      cy.on('tap', 'node', (e) => { const id = e.target.id(); select(id); expand(id); });
      cy.on('dbltap', 'node', (e) => {
        const n = modelRef.current && modelRef.current.nodes.get(e.target.id());
        if (n) navigate(entityHref(n));
      });
      sync(true);
      cy.getElementById(rootId).select();
    }, (e) => live && setDrawError(e));
    return () => { live = false; if (cy) cy.destroy(); cyRef.current = null; };
  }, [rootId]);

  // The canvas by keyboard: arrows move the selection, Enter opens the
  // selected node's page, Space or "+" expands it.
  function onKey(e) {
    const model = modelRef.current;
    if (!model) return;
    const list = model.ordered();
    const i = Math.max(0, list.findIndex((n) => n.id === selected));
    const cur = list[i];
    const pick = (n) => { if (n) { e.preventDefault(); select(n.id); } };
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      const col = list.filter((n) => n.level === cur.level);
      const j = col.findIndex((n) => n.id === cur.id) + (e.key === 'ArrowDown' ? 1 : -1);
      pick(col[j]);
    } else if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
      const d = e.key === 'ArrowRight' ? 1 : -1;
      const next = list.filter((n) => n.level === cur.level + d);
      pick(next[0]);
    } else if (e.key === 'Home') pick(model.nodes.get(rootId));
    else if (e.key === 'Enter' && cur) { e.preventDefault(); navigate(entityHref(cur)); }
    else if ((e.key === ' ' || e.key === '+') && cur) { e.preventDefault(); expand(cur.id); }
  }

  function zoom(f) {
    const cy = cyRef.current;
    if (!cy) return;
    cy.zoom({ level: cy.zoom() * f, renderedPosition: { x: cy.width() / 2, y: cy.height() / 2 } });
  }

  const model = modelRef.current;
  const nodes = model ? model.ordered() : [];
  const sel = model && model.nodes.get(selected);
  const name = (id) => { const n = model.nodes.get(id); return n ? n.label.replace('\n', ' ') : short(id); };
  return html`<div class="lineage" data-version=${version}>
    <div class="lineage-tools">
      <button type="button" class="secondary" onClick=${() => zoom(1.25)} aria-label="Zoom in">+</button>
      <button type="button" class="secondary" onClick=${() => zoom(0.8)} aria-label="Zoom out">−</button>
      <button type="button" class="secondary" onClick=${() => cyRef.current && fitGraph(cyRef.current)}>Fit</button>
      <span class="muted" id="lineage-help">Click a node to expand it; double-click (or Enter) opens its page.
        Arrow keys move between nodes, Space expands. Dashed: more to load.</span>
    </div>
    <div class="lineage-canvas" ref=${box} tabindex="0" role="group" onKeyDown=${onKey}
         aria-label=${'Lineage graph of task ' + rootId + '. The table below lists the same nodes.'}
         aria-describedby="lineage-help lineage-selected"></div>
    <p id="lineage-selected" class="muted lineage-selected" aria-live="polite">
      ${sel ? html`Selected: ${sel.kind} <a href=${entityHref(sel)}>${sel.label.replace('\n', ' ')}</a> ${sel.status && html`<${Status} value=${sel.status} />`}` : ''}
      ${loading ? ' Loading the neighbourhood…' : ''}
      ${Object.keys(busy).length ? ' Expanding…' : ''}
    </p>
    ${drawError && html`<${ErrorBox} error=${drawError} />`}
    <${ErrorBox} error=${error} />
    <table class="lineage-nodes">
      <caption>Nodes of the lineage graph (${nodes.length})</caption>
      <thead><tr><th scope="col">Node</th><th scope="col">Kind</th><th scope="col">Status</th>
        <th scope="col">From</th><th scope="col">To</th><th scope="col">Expand</th></tr></thead>
      <tbody>
        ${nodes.map((n) => {
          const { ins, outs } = model.neighbours(n.id);
          const done = model.expanded(n.id);
          return html`<tr key=${n.id} class=${n.id === selected ? 'selected' : ''}>
            <td><a href=${entityHref(n)} onFocus=${() => select(n.id)}>${n.label.split('\n')[0]}</a> <${ShortId} id=${n.id} />
              ${n.id === rootId && html` <span class="muted">(this task)</span>`}</td>
            <td>${n.kind}</td>
            <td>${n.status ? html`<${Status} value=${n.status} />` : html`<span class="muted">not loaded</span>`}</td>
            <td>${ins.map(name).join(', ')}</td>
            <td>${outs.map(name).join(', ')}${n.more ? html` <span class="muted">and ${n.more} more not drawn</span>` : ''}${n.partial ? html` <span class="muted">(first ${HISTORY_LIMIT} packets read)</span>` : ''}</td>
            <td>${done ? html`<span class="muted">expanded</span>`
              : html`<button type="button" class="secondary" disabled=${!!busy[n.id]} onClick=${() => { select(n.id); expand(n.id); }}
                       aria-label=${'Expand ' + n.kind + ' ' + n.id}>${busy[n.id] ? 'Loading…' : 'Expand'}</button>`}</td>
          </tr>`;
        })}
      </tbody>
    </table>
  </div>`;
}
