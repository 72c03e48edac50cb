// Small shared pieces of the dashboard's pages.
import { html } from 'htm/preact';
import { useEffect, useState, useCallback } from 'preact/hooks';

export { html };

/// A status as a badge: the colour is a class, the text stays the word.
export function Status({ value }) {
  return html`<span class=${'status status-' + String(value || '').toLowerCase()}>${value}</span>`;
}

/// An API error in words, with its code; `errors` listed when there are several.
export function ErrorBox({ error }) {
  if (!error) return null;
  const list = error.errors && error.errors.length > 1 ? error.errors : null;
  return html`<div class="error" role="alert">
    <strong>${error.code ? error.code + ': ' : ''}</strong>${error.message}
    ${list && html`<ul>${list.map((e) => html`<li><code>${e.code}</code> ${e.pointer && html`<code>${e.pointer}</code>`} ${e.message}</li>`)}</ul>`}
  </div>`;
}

export function Loading({ what = 'Loading' }) {
  return html`<p class="loading" role="status">${what}…</p>`;
}

/// An id shortened for tables, the whole one in its title.
export function ShortId({ id }) {
  if (!id) return null;
  return html`<code title=${id}>${String(id).slice(0, 8)}</code>`;
}

export function fmtTime(t) {
  if (!t) return '';
  const d = new Date(t);
  return isNaN(d) ? String(t) : d.toLocaleString();
}

export function fmtBytes(n) {
  if (n === undefined || n === null) return '';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = Number(n);
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return (i ? v.toFixed(1) : v) + ' ' + units[i];
}

/// `useAsync(() => api(...), [deps])` → {data, error, loading, reload}.
export function useAsync(fn, deps) {
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    Promise.resolve().then(fn).then(
      (data) => live && setState({ data, error: null, loading: false }),
      (error) => live && setState({ data: null, error, loading: false }));
    return () => { live = false; };
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}

/// Cursor paging: the server gives `next_cursor`; we keep the cursors of the
/// pages before so that "Previous" works too.
export function usePager(resetKey) {
  const [stack, setStack] = useState([undefined]);
  useEffect(() => setStack([undefined]), [resetKey]);
  const cursor = stack[stack.length - 1];
  return {
    cursor,
    pageNumber: stack.length,
    next: (c) => c && setStack((s) => [...s, c]),
    prev: () => setStack((s) => (s.length > 1 ? s.slice(0, -1) : s)),
    reset: () => setStack([undefined]),
  };
}

export function Pager({ pager, nextCursor, label = 'Pages' }) {
  return html`<nav class="pager" aria-label=${label}>
    <button type="button" onClick=${pager.prev} disabled=${pager.pageNumber <= 1}>Previous</button>
    <span>Page ${pager.pageNumber}</span>
    <button type="button" onClick=${() => pager.next(nextCursor)} disabled=${!nextCursor}>Next</button>
  </nav>`;
}

/// A page's title: the h1 and the document's title.
export function Title({ children, text }) {
  useEffect(() => { document.title = (text || '') + ' · Omniva'; }, [text]);
  return html`<h1>${children || text}</h1>`;
}
