// Hash routing: `#/tasks/3b…?status=DONE`. The hash keeps the page's place
// (bookmarks, back and forward) without the node knowing any route but `/`.
import { useEffect, useState } from 'preact/hooks';

/// The current route: `{path: '/tasks/3b…', parts: ['tasks', '3b…'], query: {status: 'DONE'}}`.
export function currentRoute() {
  const hash = location.hash.replace(/^#/, '') || '/tasks';
  const q = hash.indexOf('?');
  const path = q < 0 ? hash : hash.slice(0, q);
  const query = Object.fromEntries(new URLSearchParams(q < 0 ? '' : hash.slice(q + 1)));
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  return { path, parts, query };
}

export function useRoute() {
  const [route, setRoute] = useState(currentRoute);
  useEffect(() => {
    const on = () => setRoute(currentRoute());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

/// A link target: `href('/tasks', id)` → `#/tasks/<id>`; `query` appended.
export function href(...parts) {
  let query = null;
  if (parts.length && typeof parts[parts.length - 1] === 'object') query = parts.pop();
  let h = '#/' + parts.map((p) => encodeURIComponent(p)).join('/');
  if (query) {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query))
      if (v !== undefined && v !== null && v !== '') qs.set(k, String(v));
    const s = qs.toString();
    if (s) h += '?' + s;
  }
  return h;
}

export function navigate(target, { replace = false } = {}) {
  if (replace) history.replaceState(null, '', target);
  else history.pushState(null, '', target);
  dispatchEvent(new HashChangeEvent('hashchange'));
}
