// The dashboard's shell: login, navigation and the page of the current route.
// Pages live in pages/*.js and are loaded when first opened, so the board's
// first render fetches only what the board needs.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { html, ErrorBox, Loading } from './lib/ui.js';
import { api, onUnauthorized } from './lib/api.js';
import { useRoute, href, navigate, currentRoute } from './lib/router.js';

// route's first part → [module file, export name]; a second part (an id)
// picks the detail page.
const PAGES = {
  tasks: ['./pages/tasks.js', 'TasksPage', './pages/task.js', 'TaskPage'],
  new: ['./pages/new_task.js', 'NewTaskPage'],
  assets: ['./pages/assets.js', 'AssetsPage', './pages/asset.js', 'AssetPage'],
  modules: ['./pages/modules.js', 'ModulesPage', './pages/modules.js', 'ModulePage'],
  pipelines: ['./pages/pipelines.js', 'PipelinesPage', './pages/pipeline.js', 'PipelinePage'],
  runs: ['./pages/run.js', 'RunsPage', './pages/run.js', 'RunPage'],
  ops: ['./pages/ops.js', 'OpsPage'],
  limits: ['./pages/limits.js', 'LimitsPage', './pages/limits.js', 'LimitPage'],
};

const NAV = [
  ['tasks', 'Tasks'],
  ['new', 'New task'],
  ['pipelines', 'Pipelines'],
  ['assets', 'Assets'],
  ['modules', 'Modules'],
  ['limits', 'Budgets & quotas'],
  ['ops', 'Operations'],
];

function Login({ onLogin, error: initialError }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState(initialError || null);
  const [busy, setBusy] = useState(false);
  async function submit(e) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onLogin(await api('/api/session', { method: 'POST', body: { token: token.trim() } }));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }
  return html`<main id="main" class="login">
    <h1>Omniva Engine</h1>
    <form onSubmit=${submit} class="card">
      <p>Sign in with an API token. The node's admin token is in <code>var/omniva/token</code>;
         <code>omniva serve</code> also prints a one-time login link.</p>
      <label for="login-token">API token</label>
      <input id="login-token" type="password" autocomplete="current-password" required
             value=${token} onInput=${(e) => setToken(e.target.value)} />
      <${ErrorBox} error=${error} />
      <button type="submit" disabled=${busy || !token.trim()}>Sign in</button>
    </form>
  </main>`;
}

function Page({ route, session }) {
  const [loaded, setLoaded] = useState(null);
  const [error, setError] = useState(null);
  const key = route.parts[0] || 'tasks';
  const spec = PAGES[key];
  const detail = spec && route.parts.length > 1 && spec.length > 2;
  const file = spec && (detail ? spec[2] : spec[0]);
  const name = spec && (detail ? spec[3] : spec[1]);
  useEffect(() => {
    if (!spec) return;
    let live = true;
    setError(null);
    import(file).then((m) => live && setLoaded({ file, name, C: m[name] }), (e) => live && setError(e));
    return () => { live = false; };
  }, [file, name]);
  if (!spec) return html`<h1>Not found</h1><p>There is no page <code>${route.path}</code>. <a href="#/tasks">Go to the tasks</a>.</p>`;
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!loaded || loaded.file !== file || loaded.name !== name) return html`<${Loading} />`;
  const C = loaded.C;
  return html`<${C} params=${route.parts.slice(1)} query=${route.query} session=${session} />`;
}

function App() {
  const route = useRoute();
  const [session, setSession] = useState(undefined);
  const [loginError, setLoginError] = useState(null);

  useEffect(() => onUnauthorized(() => setSession(null)), []);
  useEffect(() => {
    // A one-time login link: #login=<code> (a fragment never reaches the
    // server's logs); exchanged once, then removed from the address bar.
    const m = location.hash.match(/^#login=([A-Za-z0-9_-]+)$/);
    const start = m
      ? api('/api/session', { method: 'POST', body: { code: m[1] } }).then(
          (s) => { navigate('#/tasks', { replace: true }); return s; },
          (e) => { navigate('#/tasks', { replace: true }); setLoginError(e); return null; })
      : api('/api/session').catch(() => null);
    start.then(setSession);
  }, []);

  if (session === undefined) return html`<${Loading} what="Connecting" />`;
  if (!session) return html`<${Login} onLogin=${setSession} error=${loginError} />`;

  async function logout() {
    try { await api('/api/session', { method: 'DELETE' }); } catch { /* the session is gone either way */ }
    setSession(null);
  }
  // A run belongs to the pipelines' section of the navigation.
  const section = route.parts[0] || 'tasks';
  const current = section === 'runs' ? 'pipelines' : section;
  return html`
    <a class="skip" href="#main" onClick=${(e) => { e.preventDefault(); document.getElementById('main')?.focus(); }}>Skip to content</a>
    <header class="top">
      <a class="brand" href="#/tasks">Omniva</a>
      <nav aria-label="Main">
        <ul>${NAV.map(([k, label]) => html`<li><a href=${href(k)} aria-current=${current === k ? 'page' : undefined}>${label}</a></li>`)}</ul>
      </nav>
      <div class="who">
        <span>${session.name} (${session.role})</span>
        <button type="button" class="link" onClick=${logout}>Log out</button>
      </div>
    </header>
    <main id="main" tabindex="-1">
      <${Page} route=${route} session=${session} />
    </main>`;
}

if (!location.hash || location.hash === '#') history.replaceState(null, '', '#/tasks');
// Fetch the first page's module while the session is asked for, not after.
{
  const { parts } = currentRoute();
  const spec = PAGES[parts[0] || 'tasks'];
  if (spec) import(parts.length > 1 && spec.length > 2 ? spec[2] : spec[0]).catch(() => {});
}
render(html`<${App} />`, document.getElementById('app'));
export { navigate };
