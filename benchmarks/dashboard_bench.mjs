// The dashboard at 100,000 tasks, measured in a real browser (Debian's
// chromium, headless, through playwright-core; tests/browser/harness.mjs).
// Prints ONE JSON document on stdout, progress on stderr.
//
// usage: node benchmarks/dashboard_bench.mjs [BUILD_DIR]
//        (benchmarks/dashboard.sh, in make bench)
//
// 1. Loads a node (`omniva serve --mock`, temporary data folder) with
//    BENCH_DASHBOARD_TASKS tasks (default 100000) over HTTP, from
//    BENCH_DASHBOARD_CLIENTS concurrent kept-alive connections (default 8):
//    chains of 5 (media-probe -> summarize -> media-probe -> summarize ->
//    media-probe, each link on the PENDING output of the one before; 1% of
//    the tasks) and independent slow@1 tasks, every request distinct (no
//    duplicate is reused); then waits until every task has finished.
// 2. In the browser, logged in by the session cookie, each BENCH_DASHBOARD_RUNS
//    times (default 5) in a fresh page:
//    - board_first_render_ms: navigation start of `/#/tasks` to the first row
//      of tasks in the table (a MutationObserver stamps performance.now());
//    - task_page_ms: navigation start of `/#/tasks/ID` (the middle task of a
//      chain: two tasks up, two down) to its lineage graph drawn (the graph's
//      canvas is there, its neighbourhood loaded, one animation frame later);
//      record_shown_median: to the task's heading and summary shown;
//    - task_page_in_app_ms: the same page opened from the board by a click
//      (hash change to the graph drawn);
//    - js_heap_mb: the page's JS heap (CDP Performance.getMetrics,
//      JSHeapUsedSize) after the board and after the task page.
// 3. The API of a board page, 200 requests each on a kept-alive connection:
//    GET /api/tasks?limit=50, GET /api/tasks/counts, and both at once (what
//    the board asks for), p50/p99/max in ms.
// BENCH_DASHBOARD_DATA=DIR keeps the loaded node's folder; a later run with
// the same DIR measures it again without loading it.
// Target: board and task page each under 1 s (the median run) with 100,000
// tasks in the node; missing it is reported ("meets_target": false), not an
// error. Exits 1 when something fails to run.

import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import {
  startNode, launchBrowser, newPage, waitUntil, sleep, apiCall, cleanup,
} from '../tests/browser/harness.mjs';

// The omniva binary: $OMNIVA, else BUILD_DIR/runtime/omniva.
if (!process.env.OMNIVA && process.argv[2]) process.env.OMNIVA = path.join(process.argv[2], 'runtime', 'omniva');

const TASKS = Number(process.env.BENCH_DASHBOARD_TASKS || 100000);
const CLIENTS = Number(process.env.BENCH_DASHBOARD_CLIENTS || 8);
const RUNS = Number(process.env.BENCH_DASHBOARD_RUNS || 5);
const API_REQUESTS = Number(process.env.BENCH_DASHBOARD_API_REQUESTS || 200);
const CHAIN = 5;
const TARGET_MS = 1000;

const log = (...a) => console.error('dashboard_bench:', ...a);
const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

function stats(ms) {
  const s = [...ms].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];
  return { samples: s.length, p50_ms: round(q(0.5), 2), p99_ms: round(q(0.99), 2), max_ms: round(s[s.length - 1], 2) };
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// POST /api/tasks on kept-alive connections (node:http: less CPU per request
// than fetch, and the client shares the machine with the node).
const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });
function post(node, body) {
  const data = Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = http.request(node.url + '/api/tasks', {
      method: 'POST', agent,
      headers: { Authorization: `Bearer ${node.token}`, 'Content-Type': 'application/json', 'Content-Length': data.length },
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 201) reject(new Error(`POST /api/tasks: ${res.statusCode} ${text}`));
        else resolve(JSON.parse(text));
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(data);
  });
}

/// Fills the node: `chains` chains of 5 and the rest independent tasks, from
/// CLIENTS workers taking jobs off one counter.
async function load(node, source) {
  const chains = Math.max(1, Math.floor(TASKS / 100 / CHAIN));
  const singles = TASKS - chains * CHAIN;
  const jobs = chains + singles;
  const middles = [];
  let next = 0;
  let made = 0;
  const t0 = performance.now();
  let lastReport = t0;
  async function worker() {
    for (;;) {
      const j = next++;
      if (j >= jobs) return;
      if (j % Math.ceil(jobs / chains) === 0 && j / Math.ceil(jobs / chains) < chains) {
        const c = j / Math.ceil(jobs / chains);
        let t = await post(node, { module_ref: 'media-probe@1', input_mapping: { source }, values: { sample_rate: 8000 + c } });
        const ids = [t.task_id];
        for (let k = 1; k < CHAIN; k++) {
          t = k % 2 === 1
            ? await post(node, { module_ref: 'summarize@1', input_mapping: { metadata: t.outputs.metadata }, values: { style: 'short' } })
            : await post(node, { module_ref: 'media-probe@1', input_mapping: { source: t.outputs.summary }, values: { sample_rate: 8000 + c } });
          ids.push(t.task_id);
        }
        middles.push(ids[2]);
        made += CHAIN;
      } else {
        // distinct values: Paradox would reuse a duplicate's outputs
        await post(node, { module_ref: 'slow@1', values: { seconds: j / 1000, children: 0 } });
        made += 1;
      }
      const now = performance.now();
      if (now - lastReport > 10000) {
        lastReport = now;
        log(`${made} tasks submitted (${Math.round(made / ((now - t0) / 1000))}/s)`);
      }
    }
  }
  await Promise.all(Array.from({ length: CLIENTS }, worker));
  const submitSeconds = (performance.now() - t0) / 1000;
  log(`${made} tasks submitted in ${submitSeconds.toFixed(1)} s; waiting for them to finish`);
  let last = null;
  const c = await waitUntil(async () => {
    const r = await node.api('GET', '/api/tasks/counts');
    const b = r.body;
    const open = (b.PENDING || 0) + (b.READY || 0) + (b.RUNNING || 0);
    if (!last || performance.now() - last > 10000) { last = performance.now(); log(`${open} unfinished of ${b.total}`); }
    return open === 0 && b.total >= made ? b : null;
  }, { timeout: 30 * 60 * 1000, interval: 1000, what: 'every task to finish' });
  const finishSeconds = (performance.now() - t0) / 1000;
  return {
    result: {
      tasks: c.total, chains, done: c.DONE, error: c.ERROR || 0,
      submit_seconds: round(submitSeconds, 1), submitted_per_second: Math.round(made / submitSeconds),
      all_finished_seconds: round(finishSeconds, 1),
    },
    middles,
  };
}

async function heapMb(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('HeapProfiler.collectGarbage').catch(() => {});
  await cdp.send('Performance.enable');
  const { metrics } = await cdp.send('Performance.getMetrics');
  await cdp.detach();
  const m = Object.fromEntries(metrics.map((x) => [x.name, x.value]));
  return round(m.JSHeapUsedSize / 1048576, 1);
}

// Stamps, in the page, when the first task row appears and when the lineage
// graph is drawn: its canvas is there, its neighbourhood loaded (the nodes'
// table lists more than the task itself, nothing is loading), then the next
// animation frame (Cytoscape paints in one).
function stamper() {
  window.__bench = {};
  const seen = () => {
    const b = window.__bench;
    if (!b.board && document.querySelector('tbody tr a[href^="#/tasks/"]')) b.board = performance.now();
    if (!b.heading) {
      const h = document.querySelector('h1');
      if (h && /^Task \S+/.test(h.textContent) && document.querySelector('section [role="group"], section dl')) b.heading = performance.now();
    }
    if (b.graph || b.graphPending) return;
    const g = document.querySelector('[role="group"][aria-label^="Lineage graph of task"]');
    if (!g || !g.querySelector('canvas')) return;
    const box = g.closest('section') || document;
    const caption = Array.from(box.querySelectorAll('caption')).find((c) => /Nodes of the lineage graph/.test(c.textContent));
    const n = caption ? Number((caption.textContent.match(/\((\d+)\)/) || [])[1] || 0) : 0;
    if (n < 2 || /Loading the neighbourhood/.test(box.textContent)) return;
    b.graphPending = true;
    requestAnimationFrame(() => { b.graph = performance.now(); b.graphNodes = n; b.graphPending = false; });
  };
  new MutationObserver(seen).observe(document, { childList: true, subtree: true, characterData: true });
}

async function main() {
  // BENCH_DASHBOARD_DATA=DIR keeps the loaded node in DIR; a later run with
  // the same DIR measures it again without loading (`load.reused`).
  const keep = process.env.BENCH_DASHBOARD_DATA || null;
  const saved = keep && path.join(keep, 'bench-dashboard.json');
  const node = await startNode({ args: ['--mock'], name: 'omniva-dashboard-bench-', dir: keep });
  log(`node at ${node.url}`);
  let loaded;
  if (saved && fs.existsSync(saved)) {
    loaded = JSON.parse(fs.readFileSync(saved, 'utf8'));
    loaded.result.reused = true;
    log(`measuring the node loaded earlier in ${keep}`);
  } else {
    const up = await apiCall(node.url, 'POST', '/api/assets/upload?filename=bench.txt&media_type=text/plain&label=bench',
      Buffer.from('a small text for media-probe\n'), { token: node.token });
    if (up.status !== 201) throw new Error(`upload: ${up.status} ${JSON.stringify(up.body)}`);
    loaded = await load(node, up.body.asset_id);
    if (saved) fs.writeFileSync(saved, JSON.stringify(loaded));
  }
  const probe = loaded.middles[Math.floor(loaded.middles.length / 2)];

  const browser = await launchBrowser();
  const board = [], taskPage = [], taskText = [], inApp = [], heapBoard = [], heapTask = [];
  let requests = null;
  let timeline = null;
  let graphNodes = null;
  for (let run = 0; run < RUNS; run++) {
    const page = await newPage(browser, node, { name: `run${run}` });
    const s = await page.context().request.post(node.url + '/api/session', { data: { token: node.token } });
    if (s.status() !== 200 && s.status() !== 201) throw new Error(`POST /api/session: ${s.status()}`);
    await page.addInitScript(stamper);
    const asked = [];
    page.on('request', (r) => { if (r.url().includes('/api/')) asked.push(r.method() + ' ' + r.url().replace(node.url, '')); });
    await page.goto('/#/tasks');
    await page.waitForFunction(() => window.__bench.board, null, { timeout: 60000 });
    board.push(await page.evaluate(() => window.__bench.board));
    await page.waitForLoadState('networkidle').catch(() => {});
    if (!timeline) {
      requests = asked.slice();
      // where the first render's time went: each request's start and end (ms
      // from navigation start) and the render itself
      timeline = await page.evaluate(() => [
        ...performance.getEntriesByType('resource').map((e) => ({
          what: e.name.replace(location.origin, ''), start: Math.round(e.startTime), end: Math.round(e.responseEnd) })),
        { what: 'first row rendered', start: Math.round(window.__bench.board), end: Math.round(window.__bench.board) },
      ].sort((a, b) => a.start - b.start));
    }
    heapBoard.push(await heapMb(page));

    // in the app: a click on a task of the board to its graph
    const first = page.locator('tbody tr a[href^="#/tasks/"]').first();
    const t0 = await page.evaluate(() => { window.__bench.graph = null; window.__bench.graphPending = false; return performance.now(); });
    await first.click();
    await page.waitForFunction(() => window.__bench.graph, null, { timeout: 60000 });
    inApp.push(await page.evaluate(() => window.__bench.graph) - t0);
    await page.close();

    // cold: a fresh page straight onto the middle task of a chain
    const p2 = await newPage(browser, node, { name: `run${run}-task` });
    await p2.addInitScript(stamper);
    await p2.context().addCookies(await page.context().cookies());
    await p2.goto(`/#/tasks/${probe}`);
    await p2.waitForFunction(() => window.__bench.graph, null, { timeout: 60000 });
    taskPage.push(await p2.evaluate(() => window.__bench.graph));
    taskText.push(await p2.evaluate(() => window.__bench.heading || null));
    graphNodes = await p2.evaluate(() => window.__bench.graphNodes);
    await p2.waitForLoadState('networkidle').catch(() => {});
    heapTask.push(await heapMb(p2));
    const problems = [...page.problems(), ...p2.problems()];
    if (problems.length) throw new Error(problems.join('\n'));
    await p2.context().close();
    await page.context().close();
    log(`run ${run + 1}: board ${board[run].toFixed(0)} ms, task page ${taskPage[run].toFixed(0)} ms (in app ${inApp[run].toFixed(0)} ms)`);
  }

  // The API of a board page.
  const timed = async (fn) => { const t = performance.now(); await fn(); return performance.now() - t; };
  const get = (p) => async () => {
    const r = await apiCall(node.url, 'GET', p, undefined, { token: node.token });
    if (r.status !== 200) throw new Error(`GET ${p}: ${r.status}`);
  };
  const api = { tasks_page: [], counts: [], board_page: [] };
  for (let i = 0; i < 10; i++) await get('/api/tasks?limit=50')();
  for (let i = 0; i < API_REQUESTS; i++) api.tasks_page.push(await timed(get('/api/tasks?limit=50')));
  for (let i = 0; i < API_REQUESTS; i++) api.counts.push(await timed(get('/api/tasks/counts')));
  for (let i = 0; i < API_REQUESTS; i++)
    api.board_page.push(await timed(() => Promise.all([get('/api/tasks?limit=50')(), get('/api/tasks/counts')()])));

  const boardMedian = median(board), taskMedian = median(taskPage);
  const out = {
    load: loaded.result,
    runs: RUNS,
    board_first_render_ms: { median: round(boardMedian), first: round(board[0]), max: round(Math.max(...board)) },
    task_page_ms: {
      median: round(taskMedian), first: round(taskPage[0]), max: round(Math.max(...taskPage)), graph_nodes: graphNodes,
      record_shown_median: taskText.every((x) => x !== null) ? round(median(taskText)) : null,
    },
    task_page_in_app_ms: { median: round(median(inApp)), max: round(Math.max(...inApp)) },
    js_heap_mb: { board: median(heapBoard), task_page: median(heapTask) },
    board_requests: requests,
    board_timeline_first_run: timeline,
    api: Object.fromEntries(Object.entries(api).map(([k, v]) => [k, stats(v)])),
    target_ms: TARGET_MS,
    meets_target: boardMedian < TARGET_MS && taskMedian < TARGET_MS,
  };
  agent.destroy();
  const r = await node.stop();
  if (r.code !== 0) throw new Error(`omniva serve exited ${JSON.stringify(r)}`);
  return out;
}

let code = 0;
try {
  console.log(JSON.stringify(await main(), null, 2));
} catch (e) {
  log(e.stack || e.message);
  code = 1;
}
await cleanup();
process.exit(code);
