// One asset (#/assets/ID): its record, a preview of its content by media type,
// where it came from, who holds it, a download link and (operators) delete.
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { api, allows } from '../lib/api.js';
import { Status, ErrorBox, Loading, ShortId, fmtTime, fmtBytes, useAsync, Title } from '../lib/ui.js';
import { href } from '../lib/router.js';

const TEXT_PREVIEW_MAX = 2 * 1024 * 1024; // bytes fetched for a JSON or text preview

function contentUrl(id) {
  return '/api/assets/' + encodeURIComponent(id) + '/content';
}

function isJsonType(mt) {
  return mt === 'application/json' || mt.endsWith('+json') || mt === 'application/x-ndjson';
}
function isTextType(mt) {
  return mt.startsWith('text/') || /^application\/(xml|javascript|x-yaml|yaml|toml|x-sh|csv)$/.test(mt) || mt.endsWith('+xml');
}

/// The tasks an `asset_in_use` refusal names (`error.holders`: task ids).
export function holdersOf(err) {
  const list = err && err.body && err.body.error && err.body.error.holders;
  return Array.isArray(list) ? list : [];
}

function TaskLinks({ ids }) {
  return html`<ul class="inline-list">${ids.map((t) => html`<li><a href=${href('tasks', t)}>task <code>${t}</code></a></li>`)}</ul>`;
}

/// A text or JSON file's content, fetched (up to TEXT_PREVIEW_MAX) and shown.
function TextPreview({ id, json, size }) {
  const tooBig = size !== undefined && size > TEXT_PREVIEW_MAX;
  const content = useAsync(async () => {
    if (tooBig) return null;
    const res = await api(contentUrl(id), { raw: true });
    return res.text();
  }, [id, tooBig]);
  if (tooBig) return html`<p>This file is ${fmtBytes(size)}: too large to preview here; download it.</p>`;
  if (content.error) return html`<${ErrorBox} error=${content.error} />`;
  if (content.data === null) return html`<${Loading} what="Loading the content" />`;
  let text = content.data;
  let note = null;
  if (json) {
    try { text = JSON.stringify(JSON.parse(text), null, 2); } catch (e) {
      note = html`<p class="muted">The content is not valid JSON (${e.message}); shown as it is.</p>`;
    }
  }
  return html`${note}<pre class="asset-text" tabindex="0" aria-label="Content of the asset">${text}</pre>`;
}

function Preview({ rec }) {
  const id = rec.asset_id;
  const name = rec.label || id;
  if (rec.kind === 'VALUE') {
    const v = rec.value;
    const structured = v !== null && typeof v === 'object';
    return html`<p>A value of dtype <code>${rec.dtype}</code>:</p>
      ${structured || rec.dtype === 'text'
        ? html`<pre class="asset-text" tabindex="0" aria-label="Value of the asset">${structured ? JSON.stringify(v, null, 2) : v}</pre>`
        : html`<p class="asset-value"><code>${typeof v === 'string' ? v : JSON.stringify(v)}</code></p>`}`;
  }
  if (rec.status !== 'AVAILABLE')
    return html`<p>No content to show: the asset is <${Status} value=${rec.status} />${rec.status === 'PENDING' ? ' (its task has not produced it yet)' : ''}.</p>`;
  const mt = String(rec.media_type || '').toLowerCase();
  const url = contentUrl(id);
  if (mt.startsWith('video/'))
    return html`<video class="asset-media" controls preload="metadata" src=${url} aria-label=${'Video: ' + name}></video>`;
  if (mt.startsWith('audio/'))
    return html`<audio controls preload="metadata" src=${url} aria-label=${'Audio: ' + name}></audio>`;
  if (mt.startsWith('image/'))
    return html`<img class="asset-media" src=${url} alt=${'Image: ' + name} />`;
  if (isJsonType(mt)) return html`<${TextPreview} id=${id} json=${true} size=${rec.size} />`;
  if (isTextType(mt)) return html`<${TextPreview} id=${id} json=${false} size=${rec.size} />`;
  return html`<p>No preview for <code>${rec.media_type || 'this media type'}</code>; download it to open it.</p>`;
}

const HISTORY_LIMIT = 50;

/// The tasks a packet changed: the task rows it wrote (`_rows.tasks`).
function tasksOf(p) {
  const rows = p.payload && p.payload._rows && p.payload._rows.tasks;
  return rows ? Object.keys(rows) : [];
}

/// The asset's lineage history: the first packets that touched it.
function History({ id }) {
  const h = useAsync(() => api('/api/lineage/' + encodeURIComponent(id), { query: { limit: HISTORY_LIMIT } }), [id]);
  if (h.error) return html`<${ErrorBox} error=${h.error} />`;
  if (!h.data) return html`<${Loading} what="Loading its history" />`;
  const packets = h.data.history || [];
  if (!packets.length) return html`<p class="muted">No packet names this asset.</p>`;
  return html`<div class="table-scroll"><table aria-label="History of the asset">
    <thead><tr><th scope="col">When</th><th scope="col">Event</th><th scope="col">By</th><th scope="col">Tasks</th></tr></thead>
    <tbody>${packets.map((p) => html`<tr key=${p.id}>
      <td>${fmtTime(p.at)}</td><td><code title=${'packet ' + p.id}>${p.kind}</code></td>
      <td>${(p.payload && p.payload.operator) || p.actor}</td>
      <td>${tasksOf(p).map((t) => html`<a href=${href('tasks', t)} aria-label=${'task ' + t}><${ShortId} id=${t} /></a> `)}</td>
    </tr>`)}</tbody>
  </table></div>
  ${h.data.truncated && html`<p class="muted">The first ${packets.length} packets; the asset has more.</p>`}`;
}

function Origin({ rec }) {
  if (rec.produced_by) {
    const pending = rec.status === 'PENDING';
    return html`<p>${pending ? 'Will be produced by ' : 'Produced by '}
      <a href=${href('tasks', rec.produced_by)}>task <code>${rec.produced_by}</code></a>.</p>`;
  }
  if (rec.kind === 'VALUE') return html`<p>Created as a value (not produced by a task).</p>`;
  return html`<p>Added directly (an upload or a file on the node), not produced by a task${rec.uri ? html`; stored at <code>${rec.uri}</code>` : ''}.</p>`;
}

function DeleteControl({ rec, onDeleted, onRefused }) {
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  async function remove() {
    setBusy(true); setError(null);
    try {
      const r = await api('/api/assets/' + encodeURIComponent(rec.asset_id), { method: 'DELETE' });
      onDeleted(r);
    } catch (err) {
      setError(err);
      setConfirming(false);
      onRefused && onRefused();
    } finally {
      setBusy(false);
    }
  }
  const holders = error && error.code === 'asset_in_use' ? holdersOf(error) : null;
  return html`<div class="asset-delete">
    ${confirming
      ? html`<p id="delete-confirm-q">Delete this asset? Its row goes; its history stays in the lineage.</p>
          <button type="button" class="danger" disabled=${busy} onClick=${remove} aria-describedby="delete-confirm-q">Confirm delete</button>
          <button type="button" class="secondary" disabled=${busy} onClick=${() => setConfirming(false)}>Keep it</button>`
      : html`<button type="button" class="danger" onClick=${() => { setError(null); setConfirming(true); }}>Delete asset</button>`}
    ${error && (holders
      ? html`<div class="error" role="alert">
          <p><strong>asset_in_use: </strong>${error.message}</p>
          ${holders.length > 0 && html`<p>Held by:</p><${TaskLinks} ids=${holders} />`}
        </div>`
      : html`<${ErrorBox} error=${error} />`)}
  </div>`;
}

export function AssetPage({ params, session }) {
  const id = params[0];
  const asset = useAsync(() => api('/api/assets/' + encodeURIComponent(id)), [id]);
  const [deleted, setDeleted] = useState(null);
  useEffect(() => setDeleted(null), [id]);

  if (deleted)
    return html`<${Title} text="Asset deleted" />
      <p role="status">The asset <code>${deleted}</code> was deleted. Its history stays in the lineage.</p>
      <p><a href=${href('assets')}>Back to the assets</a></p>`;
  if (asset.error)
    return html`<${Title} text="Asset" /><${ErrorBox} error=${asset.error} /><p><a href=${href('assets')}>Back to the assets</a></p>`;
  if (!asset.data) return html`<${Title} text="Asset" /><${Loading} what="Loading the asset" />`;
  const rec = asset.data;
  const holders = rec.holders || rec.holds || [];
  const name = rec.label || rec.asset_id;
  const downloadable = rec.kind === 'FILE' ? rec.status === 'AVAILABLE' : rec.kind === 'VALUE';
  return html`
    <${Title} text=${'Asset ' + name}>Asset <span class="asset-name">${name}</span> <${Status} value=${rec.status} /><//>
    <p><a href=${href('assets')}>All assets</a></p>
    <div class="grid2">
      <section class="card pcard" aria-labelledby="asset-record-h">
        <h2 id="asset-record-h">Record</h2>
        <dl class="kv">
          <dt>Id</dt><dd><code>${rec.asset_id}</code></dd>
          ${rec.label && html`<dt>Label</dt><dd>${rec.label}</dd>`}
          <dt>Kind</dt><dd>${rec.kind}</dd>
          ${rec.media_type && html`<dt>Media type</dt><dd><code>${rec.media_type}</code></dd>`}
          ${rec.dtype && html`<dt>Dtype</dt><dd><code>${rec.dtype}</code></dd>`}
          <dt>Status</dt><dd><${Status} value=${rec.status} /></dd>
          ${rec.size !== undefined && html`<dt>Size</dt><dd>${fmtBytes(rec.size)} (${rec.size} bytes)</dd>`}
          ${rec.sha256 && html`<dt>SHA-256</dt><dd><code>${rec.sha256}</code></dd>`}
          ${rec.uri && html`<dt>Stored at</dt><dd><code>${rec.uri}</code></dd>`}
          <dt>Created</dt><dd>${fmtTime(rec.created_at)}</dd>
          ${rec.purged_at && html`<dt>Purged</dt><dd>${fmtTime(rec.purged_at)}</dd>`}
        </dl>
        <p class="actions">
          ${downloadable && html`<a class="button" href=${contentUrl(rec.asset_id)} download=${rec.label || rec.asset_id}>Download</a>`}
        </p>
        ${allows(session, 'operator') && html`<${DeleteControl} rec=${rec} onDeleted=${() => setDeleted(rec.asset_id)} onRefused=${asset.reload} />`}
      </section>
      <section class="card pcard" aria-labelledby="asset-preview-h">
        <h2 id="asset-preview-h">Preview</h2>
        <${Preview} rec=${rec} />
      </section>
    </div>
    <section class="card pcard" aria-labelledby="asset-origin-h">
      <h2 id="asset-origin-h">Where it came from</h2>
      <${Origin} rec=${rec} />
      <h3>History</h3>
      <${History} id=${rec.asset_id} />
    </section>
    <section class="card pcard" aria-labelledby="asset-holders-h">
      <h2 id="asset-holders-h">Who holds it</h2>
      ${holders.length
        ? html`<p>Unfinished tasks holding it (it cannot be deleted until they end):</p><${TaskLinks} ids=${holders} />`
        : html`<p>No unfinished task holds it.</p>`}
    </section>`;
}
