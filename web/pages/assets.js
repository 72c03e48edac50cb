// The assets page (#/assets?status=&media_type=): the node's assets, filtered
// and paged by the server; an operator uploads a file (with its progress) or
// creates a value.
import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, page, allows, ApiError } from '../lib/api.js';
import { Status, ErrorBox, Loading, ShortId, fmtTime, fmtBytes, useAsync, usePager, Pager, Title } from '../lib/ui.js';
import { href, navigate } from '../lib/router.js';

export const ASSET_STATUSES = ['PENDING', 'AVAILABLE', 'FAILED', 'PURGED'];
export const DTYPES = ['string', 'text', 'url', 'int', 'float', 'bool', 'enum', 'json'];
export const COMMON_MEDIA_TYPES = [
  'video/*', 'video/mp4', 'video/webm', 'video/quicktime',
  'audio/*', 'audio/mpeg', 'audio/wav', 'audio/ogg',
  'image/*', 'image/png', 'image/jpeg', 'image/webp',
  'text/*', 'text/plain', 'text/csv', 'application/json', 'application/pdf',
];
const PAGE_SIZE = 50;

/// The media types of the filter and the upload's field, for their datalist.
function MediaTypeList({ id }) {
  return html`<datalist id=${id}>${COMMON_MEDIA_TYPES.map((t) => html`<option value=${t} />`)}</datalist>`;
}

/// A short view of a VALUE asset's value for a table cell.
export function valuePreview(v, max = 60) {
  if (v === undefined) return '';
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.length > max ? s.slice(0, max - 1) + '…' : s;
}

export function AssetsPage({ query, session }) {
  const status = query.status || '';
  const mediaType = query.media_type || '';
  const [typed, setTyped] = useState(mediaType);
  useEffect(() => setTyped(mediaType), [mediaType]);
  const pager = usePager(status + '|' + mediaType);
  const list = useAsync(
    () => page('/api/assets', { limit: PAGE_SIZE, cursor: pager.cursor, status, media_type: mediaType }),
    [status, mediaType, pager.cursor]);
  const canWork = allows(session, 'operator');

  function setFilters(next) {
    const q = { status, media_type: mediaType, ...next };
    navigate(href('assets', q));
  }

  return html`
    <${Title} text="Assets" />
    <section aria-label="Asset list">
      <form class="toolbar" role="search" aria-label="Filter assets"
            onSubmit=${(e) => { e.preventDefault(); setFilters({ media_type: typed.trim() }); }}>
        <div>
          <label for="assets-status">Status</label>
          <select id="assets-status" value=${status} onChange=${(e) => setFilters({ status: e.target.value, media_type: typed.trim() })}>
            <option value="">All statuses</option>
            ${ASSET_STATUSES.map((s) => html`<option value=${s}>${s}</option>`)}
          </select>
        </div>
        <div>
          <label for="assets-media-type">Media type</label>
          <input id="assets-media-type" type="search" list="assets-media-types" placeholder="video/* or image/png"
                 value=${typed} onInput=${(e) => setTyped(e.target.value)} />
          <${MediaTypeList} id="assets-media-types" />
        </div>
        <button type="submit">Apply filter</button>
        ${(status || mediaType) && html`<button type="button" class="secondary" onClick=${() => navigate(href('assets'))}>Clear filters</button>`}
      </form>
      <${AssetTable} list=${list} pager=${pager} filtered=${!!(status || mediaType)} />
    </section>
    ${canWork
      ? html`<div class="grid2 assets-forms">
          <${UploadForm} onDone=${list.reload} />
          <${ValueForm} onDone=${list.reload} />
        </div>`
      : html`<p class="muted">Your token's role (${session && session.role}) reads assets; uploading and creating values needs an operator token.</p>`}`;
}

function AssetTable({ list, pager, filtered }) {
  if (list.error) return html`<${ErrorBox} error=${list.error} />`;
  if (!list.data) return html`<${Loading} what="Loading assets" />`;
  const items = list.data.items || [];
  return html`
    ${items.length === 0
      ? html`<p>${filtered ? 'No asset matches these filters.' : 'There are no assets yet.'}</p>`
      : html`<div class="table-scroll"><table aria-label="Assets" aria-busy=${list.loading ? 'true' : 'false'}>
          <thead><tr>
            <th scope="col">Asset</th><th scope="col">Kind</th><th scope="col">Type</th><th scope="col">Status</th>
            <th scope="col">Size or value</th><th scope="col">Produced by</th><th scope="col">Created</th>
          </tr></thead>
          <tbody>${items.map((a) => html`<tr key=${a.asset_id}>
            <td><a href=${href('assets', a.asset_id)} title=${a.asset_id}>${a.label || String(a.asset_id).slice(0, 8)}</a>
              ${a.label && html` <${ShortId} id=${a.asset_id} />`}</td>
            <td>${a.kind}</td>
            <td>${a.media_type || (a.dtype && html`<span class="muted">value:</span> ${a.dtype}`)}</td>
            <td><${Status} value=${a.status} /></td>
            <td>${a.kind === 'VALUE' ? html`<code>${valuePreview(a.value)}</code>` : fmtBytes(a.size)}</td>
            <td>${a.produced_by && html`<a href=${href('tasks', a.produced_by)} aria-label=${'task ' + a.produced_by}><${ShortId} id=${a.produced_by} /></a>`}</td>
            <td>${fmtTime(a.created_at)}</td>
          </tr>`)}</tbody>
        </table></div>`}
    <${Pager} pager=${pager} nextCursor=${list.data.next_cursor} label="Asset pages" />`;
}

/// POSTs the raw bytes of `file` with XMLHttpRequest (fetch reports no upload
/// progress); the session cookie goes with it (same origin).
export function uploadFile(file, { filename, mediaType, label }, onProgress, xhrRef) {
  return new Promise((resolve, reject) => {
    const qs = new URLSearchParams();
    qs.set('filename', filename || file.name);
    if (mediaType) qs.set('media_type', mediaType);
    if (label) qs.set('label', label);
    const xhr = new XMLHttpRequest();
    if (xhrRef) xhrRef.current = xhr;
    xhr.open('POST', '/api/assets/upload?' + qs.toString());
    xhr.withCredentials = true;
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : file.size);
    xhr.onload = () => {
      let body = null;
      try { body = xhr.responseText ? JSON.parse(xhr.responseText) : null; } catch { body = { text: xhr.responseText }; }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body);
      else reject(new ApiError(xhr.status, body));
    };
    xhr.onerror = () => reject(Object.assign(new Error('The upload failed: the connection to the node broke.'), { code: 'network_error' }));
    xhr.onabort = () => reject(Object.assign(new Error('The upload was cancelled.'), { code: 'cancelled' }));
    xhr.send(file);
  });
}

function UploadForm({ onDone }) {
  const [file, setFile] = useState(null);
  const [mediaType, setMediaType] = useState('');
  const [label, setLabel] = useState('');
  const [progress, setProgress] = useState(null); // {loaded, total}
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [done, setDone] = useState(null);
  const xhr = useRef(null);
  const fileInput = useRef(null);

  async function submit(e) {
    e.preventDefault();
    if (!file) return;
    setBusy(true); setError(null); setDone(null);
    setProgress({ loaded: 0, total: file.size });
    try {
      const asset = await uploadFile(file, { mediaType: mediaType.trim(), label: label.trim() },
        (loaded, total) => setProgress({ loaded, total }), xhr);
      setProgress({ loaded: file.size, total: file.size });
      setDone(asset);
      setFile(null); setLabel('');
      if (fileInput.current) fileInput.current.value = '';
      onDone && onDone();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
      xhr.current = null;
    }
  }
  const pct = progress && progress.total ? Math.round((100 * progress.loaded) / progress.total) : 0;
  return html`<form class="card pcard" aria-labelledby="upload-h" onSubmit=${submit}>
    <h2 id="upload-h">Upload a file</h2>
    <label for="upload-file">File</label>
    <input id="upload-file" type="file" ref=${fileInput} disabled=${busy}
           onChange=${(e) => { setFile(e.target.files[0] || null); setDone(null); setError(null); }} />
    <label for="upload-media-type">Media type <span class="muted">(optional: detected from the bytes)</span></label>
    <input id="upload-media-type" type="text" list="upload-media-types" value=${mediaType} disabled=${busy}
           placeholder=${(file && file.type) || 'detected'} onInput=${(e) => setMediaType(e.target.value)} />
    <${MediaTypeList} id="upload-media-types" />
    <label for="upload-label">Label <span class="muted">(optional)</span></label>
    <input id="upload-label" type="text" value=${label} disabled=${busy} onInput=${(e) => setLabel(e.target.value)} />
    <div class="upload-progress">
      <label for="upload-progress">Upload progress</label>
      <progress id="upload-progress" max="100" value=${pct}>${pct}%</progress>
      <span aria-hidden="true">${progress ? `${pct}% (${fmtBytes(progress.loaded)} of ${fmtBytes(progress.total)})` : ''}</span>
    </div>
    <div class="actions">
      <button type="submit" disabled=${busy || !file}>${busy ? 'Uploading…' : 'Upload'}</button>
      ${busy && html`<button type="button" class="secondary" onClick=${() => xhr.current && xhr.current.abort()}>Cancel upload</button>`}
    </div>
    <${ErrorBox} error=${error} />
    <div role="status">${done && html`<p class="ok">Uploaded: <a href=${href('assets', done.asset_id)}>${done.label || done.asset_id}</a>${` (${done.media_type}, ${fmtBytes(done.size)}).`}</p>`}</div>
  </form>`;
}

/// The JSON text of a value typed as `dtype`: numbers and JSON as written
/// (an int beyond 2^53 keeps its digits), the rest as strings. Returns
/// {text} or {error} (a JSON field that does not parse).
export function valueJson(dtype, raw) {
  if (dtype === 'bool') return { text: raw === 'true' ? 'true' : 'false' };
  if (dtype === 'int' || dtype === 'float') {
    const t = raw.trim();
    if (/^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/.test(t)) return { text: t };
    return { text: JSON.stringify(raw) }; // the node says why it is not a number
  }
  if (dtype === 'json') {
    try { JSON.parse(raw); } catch (e) { return { error: 'This is not JSON: ' + e.message }; }
    return { text: raw };
  }
  return { text: JSON.stringify(raw) };
}

function ValueForm({ onDone }) {
  const [dtype, setDtype] = useState('string');
  const [value, setValue] = useState('');
  const [label, setLabel] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [fieldError, setFieldError] = useState(null);
  const [done, setDone] = useState(null);

  function changeDtype(d) {
    setDtype(d); setFieldError(null); setError(null);
    if (d === 'bool') setValue('true');
    else if (dtype === 'bool') setValue('');
  }
  async function submit(e) {
    e.preventDefault();
    setError(null); setFieldError(null); setDone(null);
    const v = valueJson(dtype, value);
    if (v.error) { setFieldError(v.error); return; }
    const text = `{"value": ${v.text}, "dtype": ${JSON.stringify(dtype)}${label.trim() ? ', "label": ' + JSON.stringify(label.trim()) : ''}}`;
    setBusy(true);
    try {
      const asset = await api('/api/assets/value', {
        method: 'POST', body: new Blob([text]), headers: { 'Content-Type': 'application/json' } });
      setDone(asset);
      setValue(dtype === 'bool' ? 'true' : ''); setLabel('');
      onDone && onDone();
    } catch (err) {
      const atValue = (err.errors || []).filter((p) => p.pointer && p.pointer.startsWith('/value'));
      if (atValue.length) setFieldError(atValue.map((p) => p.message).join(' '));
      if (!atValue.length || (err.errors || []).length > atValue.length) setError(err);
    } finally {
      setBusy(false);
    }
  }
  let control;
  const common = { id: 'value-value', 'aria-invalid': fieldError ? 'true' : undefined,
    'aria-describedby': fieldError ? 'value-value-error' : undefined, disabled: busy };
  if (dtype === 'bool')
    control = html`<select ...${common} value=${value} onChange=${(e) => setValue(e.target.value)}>
      <option value="true">true</option><option value="false">false</option></select>`;
  else if (dtype === 'text' || dtype === 'json')
    control = html`<textarea ...${common} rows="4" value=${value} placeholder=${dtype === 'json' ? '{"key": "value"}' : ''}
      onInput=${(e) => setValue(e.target.value)} />`;
  else
    control = html`<input ...${common} type=${dtype === 'url' ? 'url' : 'text'} inputmode=${dtype === 'int' || dtype === 'float' ? 'decimal' : undefined}
      value=${value} onInput=${(e) => setValue(e.target.value)} />`;
  return html`<form class="card pcard" aria-labelledby="value-h" onSubmit=${submit}>
    <h2 id="value-h">Create a value</h2>
    <label for="value-dtype">Dtype</label>
    <select id="value-dtype" value=${dtype} disabled=${busy} onChange=${(e) => changeDtype(e.target.value)}>
      ${DTYPES.map((d) => html`<option value=${d}>${d}</option>`)}
    </select>
    <label for="value-value">Value</label>
    ${control}
    ${fieldError && html`<div id="value-value-error" class="field-error" role="alert">${fieldError}</div>`}
    <label for="value-label">Label <span class="muted">(optional)</span></label>
    <input id="value-label" type="text" value=${label} disabled=${busy} onInput=${(e) => setLabel(e.target.value)} />
    <div class="actions"><button type="submit" disabled=${busy}>Create value</button></div>
    <${ErrorBox} error=${error} />
    <div role="status">${done && html`<p class="ok">Created: <a href=${href('assets', done.asset_id)}>${done.label || done.asset_id}</a>${` (${done.dtype}).`}</p>`}</div>
  </form>`;
}
