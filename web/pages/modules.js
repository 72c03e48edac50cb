// Modules: the registry as a paged list (#/modules) and one contract made
// readable (#/modules/REF): inputs, outputs, resources, policy, run.
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api, page } from '../lib/api.js';
import { ErrorBox, Loading, Pager, Title, useAsync, usePager } from '../lib/ui.js';
import { href } from '../lib/router.js';
import { normalizeInput, isOptional } from '../lib/form.js';

const PAGE_SIZE = 50;

function inputWords(inp) {
  const i = normalizeInput(inp);
  return i.kind === 'ASSET' ? (i.c.media_types || []).join(', ') || 'any media type' : i.dtype || 'value';
}

export function ModulesPage() {
  const pager = usePager('modules');
  const list = useAsync(() => page('/api/modules', { limit: PAGE_SIZE, cursor: pager.cursor }), [pager.cursor]);
  const items = (list.data && list.data.items) || [];
  return html`<div class="mod-page">
    <${Title} text="Modules" />
    <p class="muted">The registered module contracts, by reference. Open one to read its contract or start a task with it.</p>
    <${ErrorBox} error=${list.error} />
    ${list.loading && !list.data ? html`<${Loading} what="Loading the modules" />` : html`
    <table class="mod-list">
      <caption class="nt-sr">Registered modules, page ${pager.pageNumber}</caption>
      <thead><tr><th scope="col">Module</th><th scope="col">Description</th><th scope="col">Inputs</th><th scope="col">Outputs</th><th scope="col"><span class="nt-sr">Actions</span></th></tr></thead>
      <tbody>
        ${items.length === 0 && html`<tr><td colspan="5" class="muted">No module is registered.</td></tr>`}
        ${items.map((m) => html`<tr>
          <td><a href=${href('modules', m.ref)}><code>${m.ref}</code></a></td>
          <td>${m.description}</td>
          <td><ul class="mod-keys">${(m.inputs || []).map((i) => html`<li><code>${i.key}</code> <span class="muted">${i.contract_type} · ${inputWords(i)}</span></li>`)}</ul></td>
          <td><ul class="mod-keys">${(m.outputs || []).map((o) => html`<li><code>${o.key}</code> <span class="muted">${o.media_type}</span></li>`)}</ul></td>
          <td><a href=${href('new', { module: m.ref })} aria-label=${'New task with ' + m.ref}>New task</a></td>
        </tr>`)}
      </tbody>
    </table>`}
    ${list.data && html`<${Pager} pager=${pager} nextCursor=${list.data.next_cursor} label="Pages of modules" />`}
  </div>`;
}

/// A schema named by a contract: inline ones shown, registered ones
/// (`name@N`) fetched when opened, shipped ones named.
function SchemaRef({ schema }) {
  const [open, setOpen] = useState(false);
  if (schema === undefined || schema === null) return null;
  if (typeof schema !== 'string')
    return html`<details class="mod-schema"><summary>Inline schema</summary><pre>${JSON.stringify(schema, null, 2)}</pre></details>`;
  if (!schema.includes('@')) return html`<span>schema <code>${schema}</code> <span class="muted">(shipped)</span></span>`;
  return html`<details class="mod-schema" onToggle=${(e) => setOpen(e.target.open)}>
    <summary>Schema <code>${schema}</code></summary>
    ${open && html`<${SchemaDoc} refName=${schema} />`}
  </details>`;
}

function SchemaDoc({ refName }) {
  const doc = useAsync(() => api('/api/schemas/' + encodeURIComponent(refName)), [refName]);
  if (doc.error) return html`<${ErrorBox} error=${doc.error} />`;
  if (!doc.data) return html`<${Loading} what="Loading the schema" />`;
  return html`<pre>${JSON.stringify(doc.data, null, 2)}</pre>`;
}

const show = (v) => (typeof v === 'string' ? v : JSON.stringify(v));

function Constraints({ inp }) {
  const c = inp.c, parts = [];
  if (inp.kind === 'ASSET')
    parts.push(html`<div>media types: ${(c.media_types || []).length ? c.media_types.map((t, i) => html`${i ? ', ' : ''}<code>${t}</code>`) : 'any'}</div>`);
  if (c.min !== undefined || c.max !== undefined)
    parts.push(html`<div>${c.min !== undefined && c.max !== undefined ? `from ${c.min} to ${c.max}` : c.min !== undefined ? `at least ${c.min}` : `at most ${c.max}`}</div>`);
  if (c.enum) parts.push(html`<div>one of ${c.enum.map((v, i) => html`${i ? ', ' : ''}<code>${show(v)}</code>`)}</div>`);
  if (c.pattern) parts.push(html`<div>pattern <code>${c.pattern}</code></div>`);
  if (c.max_length !== undefined) parts.push(html`<div>at most ${c.max_length} characters</div>`);
  if (c.schema !== undefined) parts.push(html`<div><${SchemaRef} schema=${c.schema} /></div>`);
  return parts.length ? parts : html`<span class="muted">none</span>`;
}

function Policy({ refName, duplicates }) {
  const pol = useAsync(() => api('/api/policies/' + encodeURIComponent(refName)), [refName]);
  const r = pol.data && pol.data.retry;
  return html`<dl class="kv">
    <dt>Policy</dt><dd><code>${refName}</code>${pol.data && pol.data.description ? ' — ' + pol.data.description : ''}</dd>
    ${pol.error && html`<dt>Error</dt><dd><${ErrorBox} error=${pol.error} /></dd>`}
    ${r && html`
      <dt>Attempts</dt><dd>at most ${r.max_attempts}</dd>
      <dt>Pauses</dt><dd>${(r.backoff_ms || []).length ? r.backoff_ms.map((ms) => ms / 1000 + ' s').join(', ') : 'none'}</dd>
      <dt>Also retried on</dt><dd>${(r.retry_on || []).length ? r.retry_on.map((c, i) => html`${i ? ', ' : ''}<code>${c}</code>`) : 'transient failures only'}</dd>
      <dt>Jitter</dt><dd>±${r.jitter_pct !== undefined ? r.jitter_pct : 10}%</dd>`}
    <dt>Duplicates</dt><dd>${duplicatesWords(duplicates)}</dd>
  </dl>`;
}

function duplicatesWords(d) {
  if (!d) return 'allow (a duplicate runs)';
  if (typeof d === 'string') return d;
  return d.mode + (d.key ? ', key: ' + Object.entries(d.key).map(([k, ps]) => `${k} ${ps.join(' ')}`).join('; ') : '');
}

export function ModulePage({ params = [] }) {
  const ref = params[0] || '';
  const mod = useAsync(() => api('/api/modules/' + encodeURIComponent(ref)), [ref]);
  const c = mod.data;
  if (mod.error) return html`<${Title} text=${'Module ' + ref} /><${ErrorBox} error=${mod.error} /><p><a href="#/modules">All modules</a></p>`;
  if (!c) return html`<${Title} text=${'Module ' + ref} /><${Loading} what="Loading the contract" />`;
  const inputs = (c.inputs || []).map(normalizeInput);
  const res = c.resources || {};
  return html`<div class="mod-page">
    <p class="mod-crumbs"><a href="#/modules">Modules</a> / <code>${ref}</code></p>
    <${Title} text=${'Module ' + ref} />
    <p>${c.description}</p>
    <p><a class="button-link" href=${href('new', { module: ref })}>New task with this module</a></p>

    <h2 id="mod-inputs">Inputs</h2>
    <div class="mod-scroll">
    <table aria-labelledby="mod-inputs">
      <thead><tr><th scope="col">Key</th><th scope="col">Label</th><th scope="col">Kind</th><th scope="col">Type</th>
        <th scope="col">Constraints</th><th scope="col">Default</th><th scope="col">Required</th></tr></thead>
      <tbody>
        ${inputs.length === 0 && html`<tr><td colspan="7" class="muted">No inputs.</td></tr>`}
        ${inputs.map((i) => html`<tr>
          <th scope="row"><code>${i.key}</code></th>
          <td>${i.label}${i.description && html`<div class="muted">${i.description}</div>`}</td>
          <td>${i.kind}</td>
          <td>${i.kind === 'ASSET' ? 'file asset' : html`<code>${i.dtype}</code>`}</td>
          <td><${Constraints} inp=${i} /></td>
          <td>${i.hasDefault ? html`<code>${show(i.default)}</code>` : html`<span class="muted">none</span>`}</td>
          <td>${i.required && !i.hasDefault ? 'required' : isOptional(i) && i.hasDefault ? 'optional (default)' : 'optional'}</td>
        </tr>`)}
      </tbody>
    </table>
    </div>

    <h2 id="mod-outputs">Outputs</h2>
    <table aria-labelledby="mod-outputs">
      <thead><tr><th scope="col">Key</th><th scope="col">Label</th><th scope="col">Media type</th><th scope="col">Schema</th></tr></thead>
      <tbody>
        ${(c.outputs || []).length === 0 && html`<tr><td colspan="4" class="muted">No outputs.</td></tr>`}
        ${(c.outputs || []).map((o) => html`<tr>
          <th scope="row"><code>${o.key}</code></th>
          <td>${o.label || ''}${o.description && html`<div class="muted">${o.description}</div>`}</td>
          <td><code>${o.media_type}</code></td>
          <td>${o.schema !== undefined ? html`<${SchemaRef} schema=${o.schema} />` : html`<span class="muted">none</span>`}</td>
        </tr>`)}
      </tbody>
    </table>

    <div class="grid2">
      <section aria-labelledby="mod-resources" class="card">
        <h2 id="mod-resources">Resources</h2>
        <dl class="kv">
          <dt>CPU</dt><dd>${res.cpu}</dd>
          <dt>Memory</dt><dd>${res.memory_gb} GB</dd>
          <dt>GPU</dt><dd>${res.gpu ? 'yes' : 'no'}</dd>
          <dt>Timeout</dt><dd>${res.timeout_s} s</dd>
        </dl>
      </section>
      <section aria-labelledby="mod-policy" class="card">
        <h2 id="mod-policy">Retries and duplicates</h2>
        <${Policy} refName=${c.policy || 'default@1'} duplicates=${c.duplicates} />
      </section>
      <section aria-labelledby="mod-run" class="card">
        <h2 id="mod-run">Run</h2>
        <dl class="kv">
          <dt>Command</dt><dd><code>${(c.run && c.run.command || []).map((a) => (/[\s"']/.test(a) ? JSON.stringify(a) : a)).join(' ')}</code> <span class="muted">--manifest PATH</span></dd>
          <dt>Secrets</dt><dd>${c.secrets ? [...(c.secrets.required || []).map((s) => s + ' (required)'), ...(c.secrets.optional || []).map((s) => s + ' (optional)')].join(', ') || 'none' : 'none'}</dd>
          <dt>Schema version</dt><dd>${c.schema_version}</dd>
        </dl>
      </section>
      <section aria-labelledby="mod-json" class="card">
        <h2 id="mod-json">module.json</h2>
        <details><summary>The contract as the node holds it</summary><pre>${JSON.stringify(c, null, 2)}</pre></details>
      </section>
    </div>
  </div>`;
}
