// The harness of the dashboard's browser tests (tests/browser/*_test.mjs) and
// of benchmarks/dashboard_bench.mjs.
//
// It starts a real `omniva serve` on 127.0.0.1 (a free port, a temporary data
// folder), drives Debian's chromium headless through playwright-core (from
// web/node_modules, installed by scripts/install-deps.sh) and offers the
// checks every page gets: no console error, an axe-core check (no serious or
// critical violation), a keyboard walk (focus visible, reaching the page's
// main controls) and no horizontal scrolling at 1366x768. Screenshots go to
// $OMNIVA_TEST_OUT or build/test-output/browser/.
//
// The omniva binary: $OMNIVA, else the first argument, else build/runtime/omniva.
// OMNIVA_KEEP_TMP=1 keeps the temporary folders (the node's log is node.log).
// OMNIVA_HEADED=1 shows the browser (needs a display).

import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const WEB = path.join(REPO, 'web');
export const CHROMIUM = process.env.OMNIVA_CHROMIUM || '/usr/bin/chromium';
export const VIEWPORT = { width: 1366, height: 768 };

// playwright-core and axe-core live in web/node_modules (web/package-lock.json):
// resolved from there, whatever the working directory.
const webRequire = createRequire(path.join(WEB, 'package.json'));

export function omnivaBinary() {
  const bin = process.env.OMNIVA || process.argv[2] || path.join(REPO, 'build', 'runtime', 'omniva');
  if (!fs.existsSync(bin)) throw new Error(`no omniva binary at ${bin} (build it, or set OMNIVA=path)`);
  return path.resolve(bin);
}

export function outputDir(sub = 'browser') {
  const dir = process.env.OMNIVA_TEST_OUT || path.join(REPO, 'build', 'test-output', sub);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/// Polls `fn` until it returns a truthy value; throws naming `what` after `timeout` ms.
export async function waitUntil(fn, { timeout = 20000, interval = 100, what = 'a condition' } = {}) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${what}` + (last ? ` (last error: ${last.message})` : ''));
    await sleep(interval);
  }
}

// Everything started here, stopped on exit whatever happens.
const cleanups = [];
export function onCleanup(fn) { cleanups.push(fn); }
let cleaned = false;
export async function cleanup() {
  if (cleaned) return;
  cleaned = true;
  for (const fn of cleanups.reverse()) {
    try { await fn(); } catch (e) { console.error('cleanup:', e.message); }
  }
}
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => { cleanup().finally(() => process.exit(128 + (os.constants.signals[sig] || 1))); });
}

// -- the node ----------------------------------------------------------------

const LISTENING = /node listening on (http:\/\/[0-9.]+:(\d+))/;
const LOGIN_LINK = /one-time login link: (http:\/\/\S+#login=([A-Za-z0-9_-]+))/;

/// Starts `omniva serve` in a temporary folder. `args`: extra arguments
/// (e.g. ['--mock']). Returns the node: {url, port, token, loginLink, data,
/// dir, log(), api(), stop()}.
/// `dir`: a folder to work in and keep (its data folder is `<dir>/data`),
/// instead of a temporary one removed at the end.
export async function startNode({ args = [], name = 'omniva-browser-', timeout = 30000, dir: keep = null } = {}) {
  const bin = omnivaBinary();
  if (keep) fs.mkdirSync(keep, { recursive: true });
  const dir = keep ? path.resolve(keep) : fs.mkdtempSync(path.join(os.tmpdir(), name));
  const data = path.join(dir, 'data');
  const logPath = path.join(dir, 'node.log');
  const logFd = fs.openSync(logPath, 'w');
  const argv = ['serve', '--data', data, '--http', '127.0.0.1:0',
    '--modules', path.join(REPO, 'modules'), '--web', WEB,
    // small intervals: a test node notices things quickly and keeps no reserve
    '--disk-reserve', '0', '--disk-check-interval', '500ms', '--retention-interval', '0',
    ...args];
  const proc = spawn(bin, argv, { cwd: dir, stdio: ['ignore', logFd, logFd] });
  fs.closeSync(logFd);
  let exited = null;
  proc.on('exit', (code, signal) => { exited = { code, signal }; });
  proc.on('error', (e) => { exited = { code: null, signal: null, error: e.message }; });
  const node = {
    dir, data, proc, logPath,
    log: () => fs.readFileSync(logPath, 'utf8'),
    async stop() {
      if (exited) return exited;
      proc.kill('SIGTERM');
      const end = Date.now() + 10000;
      while (!exited && Date.now() < end) await sleep(50);
      if (!exited) { proc.kill('SIGKILL'); while (!exited) await sleep(20); }
      return exited;
    },
  };
  onCleanup(async () => {
    await node.stop();
    if (keep) return;
    if (process.env.OMNIVA_KEEP_TMP) console.error(`kept ${dir}`);
    else fs.rmSync(dir, { recursive: true, force: true });
  });
  await waitUntil(() => {
    if (exited) throw Object.assign(new Error(`omniva serve exited (${JSON.stringify(exited)}):\n${node.log()}`), { fatal: true });
    return LISTENING.test(node.log());
  }, { timeout, what: "the node's 'listening' line" }).catch((e) => {
    throw new Error(e.message + '\n--- node log ---\n' + node.log());
  });
  const m = node.log().match(LISTENING);
  node.url = m[1];
  node.port = Number(m[2]);
  node.token = fs.readFileSync(path.join(data, 'token'), 'utf8').trim();
  // The one-time login link is printed with (or right after) the listening line.
  await waitUntil(() => LOGIN_LINK.test(node.log()), { timeout: 3000, what: 'the one-time login link' }).catch(() => {});
  const l = node.log().match(LOGIN_LINK);
  node.loginLink = l ? l[1] : null;
  node.loginCode = l ? l[2] : null;
  node.alive = () => !exited;
  /// The API with a bearer token (the admin's unless `token` is given):
  /// {status, body, headers}.
  node.api = (method, p, body, { token = node.token, headers = {} } = {}) =>
    apiCall(node.url, method, p, body, { token, headers });
  return node;
}

export async function apiCall(base, method, p, body, { token, headers = {}, raw = false } = {}) {
  const h = { ...headers };
  if (token) h.Authorization = `Bearer ${token}`;
  let b;
  if (body !== undefined) {
    if (Buffer.isBuffer(body) || typeof body === 'string') b = body;
    else { b = JSON.stringify(body); h['Content-Type'] = 'application/json'; }
  }
  const res = await fetch(base + p, { method, headers: h, body: b });
  const text = await res.text();
  let parsed = text;
  if ((res.headers.get('content-type') || '').startsWith('application/json') && text) parsed = JSON.parse(text);
  return { status: res.status, body: parsed, headers: res.headers };
}

// -- the browser ---------------------------------------------------------------

/// Launches Debian's chromium headless. Throws (the test fails, never skips)
/// when it or playwright-core is missing: `make test` installs both.
export async function launchBrowser() {
  if (!fs.existsSync(CHROMIUM))
    throw new Error(`no chromium at ${CHROMIUM}: scripts/install-deps.sh installs Debian's chromium (apt-get install chromium)`);
  let chromium;
  try {
    ({ chromium } = webRequire('playwright-core'));
  } catch (e) {
    throw new Error(`playwright-core is not installed in web/node_modules (run scripts/install-deps.sh): ${e.message}`);
  }
  const args = ['--disable-dev-shm-usage', '--disable-gpu', '--no-first-run', '--no-default-browser-check'];
  if (process.getuid && process.getuid() === 0) args.push('--no-sandbox');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: !process.env.OMNIVA_HEADED,
    args,
    timeout: 60000,
  });
  onCleanup(() => browser.close());
  return browser;
}

/// A fresh context (its own cookies; or `context`, shared) and page at 1366x768 that records
/// console errors, page errors and failed API answers.
/// `page.problems()` lists what went wrong so far; `page.allow(re)` accepts
/// console messages matching `re` (e.g. a refusal the flow provokes).
export async function newPage(browser, node, { name = 'page', context: shared = null } = {}) {
  const context = shared || await browser.newContext({ viewport: VIEWPORT, baseURL: node.url, acceptDownloads: false });
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  const problems = [];
  const allowed = [];
  const httpErrors = [];
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const text = msg.text();
    // Chromium logs every 4xx answer of fetch() as "Failed to load resource".
    // The dashboard provokes some on purpose (the session check before login,
    // a refused task, a refused delete) and shows them on the page, where the
    // test checks them; a 5xx or any other console error is a failure.
    if (/Failed to load resource: the server responded with a status of 4\d\d/.test(text)) return;
    if (allowed.some((re) => re.test(text))) return;
    problems.push(`[${name}] console error: ${text} (at ${page.url()})`);
  });
  page.on('pageerror', (err) => problems.push(`[${name}] page error: ${err.message} (at ${page.url()})`));
  page.on('response', (res) => {
    const s = res.status();
    if (s >= 500) problems.push(`[${name}] HTTP ${s} from ${res.request().method()} ${res.url()}`);
    else if (s >= 400) httpErrors.push(`${s} ${res.request().method()} ${res.url()}`);
  });
  page.problems = () => problems.slice();
  page.takeProblems = () => problems.splice(0);
  page.httpErrors = httpErrors;
  page.allow = (re) => allowed.push(re);
  page.context_ = context;
  return page;
}

/// A full-viewport screenshot `<out>/<name>.png`; returns its path.
export async function screenshot(page, name, { fullPage = false } = {}) {
  const file = path.join(outputDir(), `${name}.png`);
  await page.screenshot({ path: file, fullPage });
  return file;
}

// -- checks --------------------------------------------------------------------

const AXE = path.join(WEB, 'node_modules', 'axe-core', 'axe.min.js');

/// Runs axe-core on the page (WCAG 2.0/2.1 A and AA and best practices).
/// Returns the serious and critical violations, each printed with its nodes;
/// minor and moderate ones are printed as notes.
export async function axeCheck(page, label) {
  if (!fs.existsSync(AXE)) throw new Error(`axe-core is not installed (${AXE}): run scripts/install-deps.sh`);
  const has = await page.evaluate(() => typeof window.axe === 'object');
  // Evaluated through the DevTools protocol: the node's Content-Security-Policy
  // (script-src 'self') forbids an injected <script>, and stays on for the test.
  if (!has) await page.evaluate(fs.readFileSync(AXE, 'utf8') + '\n;typeof window.axe');
  const result = await page.evaluate(async () => {
    const r = await window.axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
      resultTypes: ['violations'],
    });
    return r.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.slice(0, 5).map((n) => ({ target: n.target.join(' '), summary: n.failureSummary })),
      count: v.nodes.length,
    }));
  });
  const bad = result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  for (const v of result) {
    const lines = [`axe ${label}: ${v.impact} ${v.id} (${v.count} element${v.count === 1 ? '' : 's'}): ${v.help}`];
    for (const n of v.nodes) lines.push(`    ${n.target}: ${String(n.summary || '').replace(/\s+/g, ' ')}`);
    (bad.includes(v) ? console.error : console.log)(lines.join('\n'));
  }
  return bad;
}

/// Presses Tab up to `max` times from the top of the page and records each
/// focused element. Fails (returns problems) when focus is not visible on one,
/// when it lands off screen, or when one of `expect` (accessible names, strings
/// or RegExps) is never reached.
export async function keyboardCheck(page, { expect = [], max = 80 } = {}) {
  await page.evaluate(() => {
    if (document.activeElement && document.activeElement !== document.body) document.activeElement.blur();
    window.scrollTo(0, 0);
  });
  // Start from the document itself, as a keyboard user arriving on the page.
  await page.mouse.click(1, VIEWPORT.height - 1).catch(() => {});
  await page.evaluate(() => { document.activeElement && document.activeElement.blur && document.activeElement.blur(); });
  const seen = [];
  const problems = [];
  let first = null;
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    const info = await page.evaluate(() => {
      const el = document.activeElement;
      if (!el || el === document.body) return null;
      const cs = getComputedStyle(el);
      const outline = cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) > 0;
      const ring = cs.boxShadow && cs.boxShadow !== 'none';
      const r = el.getBoundingClientRect();
      const labels = el.labels ? Array.from(el.labels).map((l) => l.textContent.trim()).join(' ') : '';
      const name = (el.getAttribute('aria-label') || labels || el.textContent || el.getAttribute('title')
        || el.getAttribute('placeholder') || el.value || '').replace(/\s+/g, ' ').trim();
      if (!el.dataset.kbId) el.dataset.kbId = String(Math.random()).slice(2);
      return {
        id: el.dataset.kbId, tag: el.tagName.toLowerCase(), name: name.slice(0, 80),
        visible: outline || ring,
        onScreen: r.width > 0 && r.height > 0 && r.bottom > 0 && r.right > 0
          && r.top < innerHeight && r.left < innerWidth,
        focusVisible: el.matches(':focus-visible'),
      };
    });
    if (!info) continue;
    if (first && info.id === first) break; // wrapped around
    if (!first) first = info.id;
    seen.push(info);
    // A canvas (the lineage graph) is focusable for its keyboard controls; it
    // shows focus through its container.
    if (!info.visible && info.tag !== 'canvas') problems.push(`focus not visible on <${info.tag}> "${info.name}"`);
    if (!info.onScreen) problems.push(`focused <${info.tag}> "${info.name}" is off screen`);
  }
  for (const want of expect) {
    const hit = seen.some((s) => (want instanceof RegExp ? want.test(s.name) : s.name.includes(want)));
    if (!hit) problems.push(`Tab never reaches "${want}" (reached: ${seen.map((s) => s.name || s.tag).join(' | ')})`);
  }
  return { seen, problems };
}

/// The page needs no horizontal scrolling at 1366x768.
export async function horizontalScrollCheck(page) {
  const r = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth,
    body: document.body.scrollWidth,
  }));
  return r.scroll > r.client + 1 || r.body > r.client + 1
    ? [`horizontal scroll: the page is ${Math.max(r.scroll, r.body)} px wide in a ${r.client} px viewport`]
    : [];
}

// -- a tiny runner ---------------------------------------------------------------

/// Steps run in order; a failed step stops the flow. `soft(problems)` records
/// problems without stopping (a11y, keyboard). `finish()` prints the summary,
/// cleans up and exits 1 when anything failed.
export function runner(title) {
  const failures = [];
  let pageForShots = null;
  const t = {
    failures,
    usePage(p) { pageForShots = p; },
    soft(label, problems) {
      for (const p of problems) failures.push(`${label}: ${p}`);
    },
    async step(name, fn) {
      const t0 = Date.now();
      process.stdout.write(`- ${name} ... `);
      try {
        const r = await fn();
        console.log(`ok (${Date.now() - t0} ms)`);
        return r;
      } catch (e) {
        console.log('FAILED');
        failures.push(`${name}: ${e.stack || e.message}`);
        if (pageForShots) {
          const safe = name.replace(/[^A-Za-z0-9]+/g, '-').slice(0, 60);
          await screenshot(pageForShots, `failure-${safe}`).then((f) => console.error(`  screenshot: ${f}`), () => {});
        }
        throw Object.assign(new Error(`step failed: ${name}`), { stepFailed: true });
      }
    },
    async main(fn) {
      console.log(`${title}`);
      // the failures of an earlier run would be taken for this one's
      for (const f of fs.readdirSync(outputDir())) if (/^failure-.*\.png$/.test(f)) fs.rmSync(path.join(outputDir(), f));
      let code = 0;
      try {
        await fn(t);
      } catch (e) {
        if (!e.stepFailed) failures.push(e.stack || e.message);
      }
      await cleanup();
      if (failures.length) {
        console.error(`\n${failures.length} failure(s):`);
        for (const f of failures) console.error(`  * ${f}`);
        code = 1;
      } else {
        console.log('\nall passed');
      }
      console.log(`screenshots: ${outputDir()}`);
      process.exit(code);
    },
  };
  return t;
}
