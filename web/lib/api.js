// The dashboard's one way to talk to the node: JSON over fetch, the session
// cookie sent by the browser (never a token in JavaScript after login).
//
// Every failure is an ApiError carrying the API's stable error code, its
// message, the JSON pointer of the field at fault and, for refused tasks and
// refused bodies, every problem (`errors`).

export class ApiError extends Error {
  constructor(status, body) {
    const first = (body && (body.error || (body.errors && body.errors[0]))) || {};
    super(first.message || `HTTP ${status}`);
    this.status = status;
    this.code = first.code || 'http_' + status;
    this.pointer = first.pointer || '';
    this.errors = (body && body.errors) || (body && body.error ? [body.error] : []);
    this.body = body;
  }
}

// Listeners told when a call answers 401 (the session ended): the shell
// shows the login page again.
const unauthorizedListeners = new Set();
export function onUnauthorized(fn) {
  unauthorizedListeners.add(fn);
  return () => unauthorizedListeners.delete(fn);
}

/// `api('/api/tasks', {method: 'POST', body: {...}})` → the parsed JSON.
/// `query` (an object) is appended as a query string, empty values left out.
export async function api(path, { method = 'GET', body, query, headers = {}, raw = false, signal } = {}) {
  let url = path;
  if (query) {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query))
      if (v !== undefined && v !== null && v !== '') qs.set(k, String(v));
    const s = qs.toString();
    if (s) url += (url.includes('?') ? '&' : '?') + s;
  }
  const init = { method, credentials: 'same-origin', headers: { ...headers }, signal };
  if (body !== undefined) {
    if (body instanceof Blob || body instanceof ArrayBuffer) {
      init.body = body;
    } else {
      init.body = JSON.stringify(body);
      init.headers['Content-Type'] = 'application/json';
    }
  }
  const res = await fetch(url, init);
  if (raw && res.ok) return res;
  const text = await res.text();
  let parsed = null;
  if (text) {
    try { parsed = JSON.parse(text); } catch { parsed = { text }; }
  }
  if (!res.ok) {
    if (res.status === 401 && path !== '/api/session')
      for (const fn of unauthorizedListeners) fn();
    throw new ApiError(res.status, parsed);
  }
  return parsed;
}

/// A page of a list route: `{items, next_cursor}`.
export function page(path, { limit = 50, cursor, ...filters } = {}) {
  return api(path, { query: { limit, cursor, ...filters } });
}

/// The role order of the API: a viewer reads, an operator works, an admin
/// does everything.
const ROLES = ['viewer', 'operator', 'admin'];
export function allows(session, role) {
  return !!session && ROLES.indexOf(session.role) >= ROLES.indexOf(role);
}
