// The dashboard's Budgets & quotas pages end to end in a real browser (ctest
// browser_limits): Debian's chromium, headless, driven by playwright-core
// against a real `omniva serve` with a temporary data folder
// (tests/browser/harness.mjs).
//
//   OMNIVA=build/runtime/omniva node tests/browser/limits_test.mjs
//
// The flow (docs/policies.md): a named budget `team` ($1.00 a day) and a
// quota `calls` (1,000 units a day) are created through the API; a costly
// module (mock runs, $0.25 a run, admission `budget.available` on `team`
// and `quota.available` 100 units of `calls`) gets five tasks: four spend
// the budget whole, the fifth waits. A pipeline whose policy caps a run at
// $0.50 runs a $0.10 step (a run's cap). A real module that writes a
// publishing prefix under a leasing policy holds its lease until the test
// opens its gate file. The page lists all of it with the figures in
// dollars and units, and bars; the budget's page draws its spend after each
// packet (as many points as the lineage's series, the last on the cap
// line), agrees with the lineage; an operator raises the cap there and the
// waiting task runs, the chart gaining its points without a reload. A bad
// amount is refused at its field; a new budget is created with the page's
// form; the quota's and the run's pages draw theirs; the lease goes when
// the attempt ends. A viewer sees the pages and no form. Every page gets an
// axe-core check (no serious or critical violation), a keyboard walk, a
// width check and a screenshot in build/test-output/browser/ (or
// $OMNIVA_TEST_OUT).
//
// Fails (never skips) when chromium or playwright-core is missing.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  startNode, launchBrowser, newPage, screenshot, axeCheck, keyboardCheck, horizontalScrollCheck, runner, waitUntil, onCleanup,
} from './harness.mjs';

const t = runner('browser_limits: the Budgets & quotas pages in chromium against a real node');

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

const NAV = ['Tasks', 'New task', 'Pipelines', 'Assets', 'Modules', 'Budgets & quotas', 'Operations', 'Log out'];
const PAID = 'lt-paid@1';
const CHEAP = 'lt-cheap@1';
const PUBLISH = 'lt-publish@1';
const PREFIX = '/publish/lt/';

// -- the test's modules ------------------------------------------------------------------

const contract = (name, description, extra) => ({
  name, version: 1, description, schema_version: '1.0.0',
  inputs: [{ key: 'prompt', label: 'Prompt', contract_type: 'VALUE', dtype: 'string' }],
  outputs: [{ key: 'answer', label: 'Answer', contract_type: 'ASSET', media_type: 'text/plain' }],
  resources: { cpu: 1, memory_gb: 0.1, gpu: false, timeout_s: 30 },
  run: { command: ['python3', 'absent.py'] },
  ...extra,
});
// Mock runs only (no program): the mock adapter reports the contract's per-run cost.
const PAID_MODULE = contract('lt-paid', 'Browser test: a paid API call ($0.25), charged to the team budget and the calls quota.', {
  cost: { usd_micro_per_run: 250000 },
  predicates: { admission: [
    { id: 'budget.available@1', args: { budget: 'team' } },
    { id: 'quota.available@1', args: { quota: 'calls', units: 100 } },
  ] },
});
const CHEAP_MODULE = contract('lt-cheap', 'Browser test: a cheap call ($0.10); a run of lt-capped is capped by its policy.', {
  cost: { usd_micro_per_run: 100000 },
});
const PIPELINE = {
  name: 'lt-capped', version: 1, schema_version: '1.0.0', policy: 'lt-capped@1',
  description: 'Browser test: one cheap step under a policy that caps a run at $0.50',
  inputs: [{ key: 'prompt', label: 'Prompt', contract_type: 'VALUE', dtype: 'string' }],
  steps: [{ id: 'ask', module: CHEAP, inputs: { prompt: { from: 'inputs.prompt' } } }],
  outputs: { answer: { from: 'ask.answer' } },
};

// A real module (a folder given with --modules): it writes the publishing
// prefix, so under its leasing policy each attempt holds a lease on it; it
// waits for the gate file its value names, so the test decides when the
// attempt (and its lease) ends.
const PUBLISH_MODULE = {
  name: 'lt-publish', version: 1, schema_version: '1.0.0',
  description: 'Browser test: publishes once its gate file exists, holding a lease on its publishing prefix meanwhile.',
  policy: 'lt-leased@1',
  inputs: [{ key: 'gate', label: 'Gate file', contract_type: 'VALUE', dtype: 'string' }],
  outputs: [{ key: 'receipt', label: 'Receipt', contract_type: 'ASSET', media_type: 'text/plain' }],
  writes: [{ prefix: PREFIX }],
  predicates: { admission: [{ id: 'lease.free@1' }] },
  resources: { cpu: 1, memory_gb: 0.1, gpu: false, timeout_s: 120 },
  run: { command: ['python3', 'main.py'] },
};
const PUBLISH_PROGRAM = `#!/usr/bin/env python3
"""lt-publish@1 (browser test): waits for the gate file, then writes its receipt."""
import json, os, sys, time

with open(sys.argv[sys.argv.index("--manifest") + 1], encoding="utf-8") as f:
    manifest = json.load(f)
gate = manifest["inputs"]["gate"]["value"]
end = time.monotonic() + 100
while not os.path.exists(gate):
    if time.monotonic() > end:
        print("the gate file never appeared: " + gate, file=sys.stderr)
        sys.exit(1)
    time.sleep(0.1)
with open(os.path.join(manifest["output_dir"], "receipt.txt"), "w", encoding="utf-8") as f:
    f.write("published\\n")
with open(manifest["output_manifest"], "w", encoding="utf-8") as f:
    json.dump({"outputs": {"receipt": {"path": "receipt.txt", "media_type": "text/plain"}}}, f)
`;

/// The folder given to the node with --modules: the publishing module with
/// its leasing policy, and the capping policy of the pipeline.
function writeModules() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'omniva-limits-modules-'));
  onCleanup(() => fs.rmSync(dir, { recursive: true, force: true }));
  const mod = path.join(dir, 'lt-publish');
  fs.mkdirSync(path.join(mod, 'policies'), { recursive: true });
  fs.writeFileSync(path.join(mod, 'module.json'), JSON.stringify(PUBLISH_MODULE, null, 2));
  fs.writeFileSync(path.join(mod, 'main.py'), PUBLISH_PROGRAM);
  fs.writeFileSync(path.join(mod, 'policies', 'lt-leased@1.json'), JSON.stringify({
    description: 'Browser test: attempts lease the prefixes they write.',
    leases: { default_ttl_s: 600, enable_path_leases: true },
  }));
  fs.mkdirSync(path.join(dir, 'policies'));
  fs.writeFileSync(path.join(dir, 'policies', 'lt-capped@1.json'), JSON.stringify({
    description: 'Browser test: a run may spend fifty cents.',
    budget: { max_usd_micro: 500000 },
  }));
  return dir;
}

/// The checks every page gets: no console error so far, axe (no serious or
/// critical violation), the keyboard reaches `expect` with visible focus, no
/// horizontal scroll, and a screenshot `<name>.png`.
async function inspect(page, name, { expect = NAV } = {}) {
  await page.waitForLoadState('networkidle', { timeout: 2000 }).catch(() => {});
  const shot = await screenshot(page, name, { fullPage: true });
  t.soft(`${name}: console`, page.takeProblems());
  const bad = await axeCheck(page, name);
  t.soft(`${name}: axe`, bad.map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target).join(', ')})`));
  t.soft(`${name}: width`, await horizontalScrollCheck(page));
  const kb = await keyboardCheck(page, { expect, max: 120 });
  t.soft(`${name}: keyboard`, kb.problems);
  console.log(`    ${name}: ${path.basename(shot)}, axe ${bad.length} serious/critical, Tab reached ${kb.seen.length} controls`);
}

async function gotoRoute(page, hash) {
  await page.evaluate((h) => { location.hash = h; }, hash);
  await page.waitForFunction((h) => location.hash === h, hash);
}

/// An API call that must answer `status`; the answer's body.
async function must(node, status, method, p, body, opts) {
  const r = await node.api(method, p, body, opts);
  assert(r.status === status, `${method} ${p} ${body === undefined ? '' : JSON.stringify(body).slice(0, 300)} -> ${r.status}, not ${status}: ${JSON.stringify(r.body)}`);
  return r.body;
}

const statusOf = async (node, id) => (await must(node, 200, 'GET', `/api/tasks/${id}`)).status;
const rowText = (page, table, subject) => page.locator(`table.${table} tr[data-subject="${subject}"]`).textContent();
const cells = async (page, table, subject) =>
  page.locator(`table.${table} tr[data-subject="${subject}"]`).locator('th, td').evaluateAll((xs) => xs.map((x) => x.textContent.replace(/\s+/g, ' ').trim()));

/// What the chart on the page draws: its points (SVG coordinates), the cap
/// line, the lines' paths and its caption.
const chartOf = (page) => page.locator('figure.lim-chart').evaluate((f) => ({
  points: Array.from(f.querySelectorAll('circle.lim-point')).map((c) => ({
    seq: Number(c.dataset.seq), cx: Number(c.getAttribute('cx')), cy: Number(c.getAttribute('cy')) })),
  cap: (() => { const g = f.querySelector('g.lim-cap'); if (!g) return null;
    const l = g.querySelector('line'); return { value: Number(g.dataset.cap), y: Number(l.getAttribute('y1')), text: g.textContent }; })(),
  spent: (f.querySelector('path.lim-line-spent') || {}).getAttribute?.('d') || '',
  committed: !!f.querySelector('path.lim-line-committed'),
  caption: f.querySelector('figcaption').textContent.replace(/\s+/g, ' '),
  title: f.querySelector('svg').getAttribute('aria-labelledby'),
}));

await t.main(async () => {
  const modules = writeModules();
  const node = await t.step('start omniva serve (with the test\'s module folder)', () =>
    startNode({ name: 'omniva-limits-', args: ['--modules', modules] }));
  const browser = await t.step('launch chromium (playwright-core)', () => launchBrowser());
  const page = await newPage(browser, node, { name: 'admin' });
  t.usePage(page);

  const paid = [];
  await t.step('a budget, a quota and a costly module: four tasks spend the budget, the fifth waits', async () => {
    const b = await must(node, 201, 'POST', '/api/budgets', { name: 'team', max_usd_micro: 1000000, window: '1d', description: 'one dollar a day' });
    assert(b.max_usd_micro === 1000000 && b.window === '1d', `the budget: ${JSON.stringify(b)}`);
    await must(node, 201, 'POST', '/api/quotas', { name: 'calls', units: 1000, window: '1d' });
    await must(node, 201, 'POST', '/api/modules', PAID_MODULE);
    await must(node, 201, 'POST', '/api/modules', CHEAP_MODULE);
    const lp = await must(node, 200, 'GET', `/api/modules/${PUBLISH}`);
    assert(lp.policy === 'lt-leased@1', `lt-publish was not loaded with its policy: ${JSON.stringify(lp).slice(0, 300)}`);
    for (let i = 1; i <= 5; i++) {
      const task = await must(node, 201, 'POST', '/api/tasks', { module_ref: PAID, values: { prompt: `question ${i}` }, mode: 'mock' });
      paid.push(task.task_id);
      // One at a time: each settles before the next is created, so the
      // series has a point per dispatch and per settlement.
      if (i < 5) await waitUntil(async () => (await statusOf(node, task.task_id)) === 'DONE', { what: `paid task ${i} DONE` });
    }
    await waitUntil(async () => {
      const x = await must(node, 200, 'GET', '/api/budgets/team');
      return x.spent_usd_micro === 1000000 && x.reserved_usd_micro === 0;
    }, { what: 'the team budget spent whole' });
    // The fifth has no room: it waits, and says why.
    const fifth = await must(node, 200, 'GET', `/api/tasks/${paid[4]}`);
    assert(!['DONE', 'RUNNING', 'ERROR'].includes(fifth.status), `the fifth task did not wait: ${fifth.status}`);
    const team = await must(node, 200, 'GET', '/api/budgets/team');
    assert(team.lineage.series.length === 8 && team.lineage.spent_usd_micro === 1000000,
      `the team budget's lineage: ${JSON.stringify(team.lineage)}`);
  });

  let runId;
  await t.step('a run of a pipeline whose policy caps it spends against its own cap', async () => {
    const reg = await must(node, 201, 'POST', '/api/pipelines', PIPELINE);
    const run = await must(node, 201, 'POST', `/api/pipelines/${encodeURIComponent(reg.ref)}/runs`, { values: { prompt: 'capped' }, mode: 'mock' });
    runId = run.run_id;
    await waitUntil(async () => (await must(node, 200, 'GET', `/api/runs/${runId}`)).status === 'DONE', { what: 'the capped run DONE' });
    const spend = await must(node, 200, 'GET', `/api/runs/${runId}/spend`);
    assert(spend.max_usd_micro === 500000 && spend.spent_usd_micro === 100000 && spend.lineage.series.length === 2,
      `the run's spend: ${JSON.stringify(spend)}`);
  });

  let leaseTask;
  const gate = path.join(node.dir, 'gate');
  await t.step('a real attempt holds a lease on its publishing prefix', async () => {
    const task = await must(node, 201, 'POST', '/api/tasks', { module_ref: PUBLISH, values: { gate } });
    leaseTask = task.task_id;
    await waitUntil(async () => (await must(node, 200, 'GET', '/api/leases')).items.some((l) => l.prefix === PREFIX && l.task_id === leaseTask),
      { timeout: 30000, what: `a lease on ${PREFIX}` });
  });

  await t.step('log in', async () => {
    await page.goto('/');
    await page.getByLabel('API token').fill(node.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
  });

  await t.step('the page\'s dollar formatting and parsing', async () => {
    const r = await page.evaluate(async () => {
      const m = await import('/pages/limits.js');
      return {
        fmt: [0, 2500, 250000, 1000000, 1250000, 123456789, 1000000000000, null].map(m.fmtUsd),
        parse: ['1.25', '$0.25', '5', '.5', '0.0025', '1,000', '1.1234567', 'abc', '', '-1'].map(m.parseUsd),
      };
    });
    const fmt = ['$0.00', '$0.0025', '$0.25', '$1.00', '$1.25', '$123.456789', '$1,000,000.00', '–'];
    const parse = [1250000, 250000, 5000000, 500000, 2500, 1000000000, null, null, null, null];
    assert(JSON.stringify(r.fmt) === JSON.stringify(fmt), `fmtUsd: ${JSON.stringify(r.fmt)}, not ${JSON.stringify(fmt)}`);
    assert(JSON.stringify(r.parse) === JSON.stringify(parse), `parseUsd: ${JSON.stringify(r.parse)}, not ${JSON.stringify(parse)}`);
  });

  // -- the list -------------------------------------------------------------------------------
  await t.step('Budgets & quotas lists the budget, the run\'s cap, the quota and the lease, in dollars and units', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Budgets & quotas' }).click();
    await page.waitForFunction(() => location.hash === '#/limits');
    await page.getByRole('heading', { name: 'Budgets & quotas', level: 1 }).waitFor();
    await page.locator('table.lim-budgets tr[data-subject="budget:team"]').waitFor();
    const team = await cells(page, 'lim-budgets', 'budget:team');
    // Budget, Window, Spent, Reserved, Cap, Available, Use
    assert(/^team/.test(team[0]) && /one dollar a day/.test(team[0]) && /1d/.test(team[1]), `the team row: ${JSON.stringify(team)}`);
    assert(team[2] === '$1.00' && team[3] === '$0.00' && team[4] === '$1.00' && team[5] === '$0.00' && /100%/.test(team[6]),
      `the team row's figures: ${JSON.stringify(team)}`);
    const bar = await page.locator('tr[data-subject="budget:team"] .lim-bar-used').evaluate((e) => e.style.width);
    assert(bar === '100%', `the team bar is ${bar} full`);
    const run = await cells(page, 'lim-budgets', `run:${runId}`);
    assert(run[2] === '$0.10' && run[4] === '$0.50' && run[5] === '$0.40' && /20%/.test(run[6]), `the run's row: ${JSON.stringify(run)}`);
    const runBar = await page.locator(`tr[data-subject="run:${runId}"] .lim-bar-used`).evaluate((e) => e.style.width);
    assert(runBar === '20%', `the run's bar is ${runBar} full`);
    const calls = await cells(page, 'lim-quotas', 'quota:calls');
    // Quota, Window, Used, Units, Available, Resets, Use
    assert(/^calls/.test(calls[0]) && calls[2] === '400' && calls[3] === '1,000' && calls[4] === '600' && /40%/.test(calls[6]),
      `the calls row: ${JSON.stringify(calls)}`);
    const lease = page.locator(`table.lim-leases tr[data-prefix="${PREFIX}"]`);
    await lease.waitFor();
    assert(await lease.locator(`a[href="#/tasks/${leaseTask}"]`).count() === 1, 'the lease does not link its task');
    await inspect(page, 'limits', { expect: [...NAV, 'team', `Cap of run ${runId}`, 'calls', `Task ${leaseTask}`, 'Name', 'Description (optional)'] });
  });

  // -- one budget: spend over time --------------------------------------------------------------
  await t.step('the budget\'s page draws its spend after each packet, the cap as a line, and agrees with the lineage', async () => {
    await page.locator('table.lim-budgets').getByRole('link', { name: 'team', exact: true }).click();
    await page.waitForFunction(() => location.hash === '#/limits/budget/team');
    await page.getByRole('heading', { name: 'Budget team', level: 1 }).waitFor();
    const api = await must(node, 200, 'GET', '/api/budgets/team');
    const c = await chartOf(page);
    assert(c.points.length === api.lineage.series.length && c.points.length === 8, `the chart draws ${c.points.length} points, the lineage has ${api.lineage.series.length}`);
    assert(JSON.stringify(c.points.map((p) => p.seq)) === JSON.stringify(api.lineage.series.map((p) => p.seq)), 'the points are not the series\' packets');
    // Left to right in time; the spend never goes down; the last point (all spent) lies on the cap line.
    for (let i = 1; i < c.points.length; i++) {
      assert(c.points[i].cx >= c.points[i - 1].cx, `point ${i} is left of point ${i - 1}`);
      assert(c.points[i].cy <= c.points[i - 1].cy + 0.01, `the spend goes down at point ${i}`);
    }
    assert(c.cap && c.cap.value === 1000000 && /cap \$1\.00/.test(c.cap.text), `the cap line: ${JSON.stringify(c.cap)}`);
    assert(Math.abs(c.points[c.points.length - 1].cy - c.cap.y) < 0.5, `the last point (${c.points[c.points.length - 1].cy}) is not on the cap line (${c.cap.y})`);
    assert(c.points[0].cy > c.cap.y + 50, `the first point (nothing spent) is not well below the cap: ${c.points[0].cy} vs ${c.cap.y}`);
    assert(c.committed, 'no spent + reserved line, though attempts reserved');
    assert(/8 changes/.test(c.caption) && /\$1\.00 spent, \$0\.00 reserved after the last; cap \$1\.00/.test(c.caption), `the caption: ${c.caption}`);
    assert(await page.getByRole('img', { name: /Spend over time/ }).count() === 1, 'the chart is no image named "Spend over time"');
    assert(await page.locator('[data-agree="yes"]').count() === 1, `the lineage does not agree: ${await page.locator('.lim-agree').textContent()}`);
    const words = await page.locator('[data-field="words"]').textContent();
    assert(/\$1\.00 spent and \$0\.00 reserved of \$1\.00 \(100% committed\)/.test(words), `the budget in words: ${words}`);
    // The points as a table, too.
    await page.getByText('The 8 points as a table').click();
    const rows = await page.locator('details.lim-points tbody tr').count();
    assert(rows === 8, `the points table has ${rows} rows`);
    await inspect(page, 'limits-budget', { expect: [...NAV, 'Budgets & quotas', 'New cap in US dollars', 'The 8 points as a table'] });
  });

  await t.step('a bad amount is refused at its field and changes nothing', async () => {
    const input = page.getByLabel('New cap in US dollars');
    await input.fill('one dollar');
    let puts = 0;
    const count = (r) => { if (r.method() === 'PUT') puts++; };
    page.on('request', count);
    await page.getByRole('button', { name: 'Set cap' }).click();
    await page.locator('#lim-cap-err').waitFor();
    assert(await input.getAttribute('aria-invalid') === 'true', 'the field is not marked invalid');
    assert((await input.getAttribute('aria-describedby')) === 'lim-cap-err', 'the field is not described by its message');
    page.off('request', count);
    assert(puts === 0, 'a bad amount was sent');
    assert((await must(node, 200, 'GET', '/api/budgets/team')).max_usd_micro === 1000000, 'the cap changed');
  });

  await t.step('raising the cap lets the waiting task run: the chart gains its points without a reload', async () => {
    await page.evaluate(() => { window.__omnivaNoReload = true; });
    const input = page.getByLabel('New cap in US dollars');
    await input.fill('1.50');
    const answer = page.waitForResponse((r) => r.request().method() === 'PUT' && /\/api\/budgets\/team$/.test(r.url()));
    await page.getByRole('button', { name: 'Set cap' }).click();
    const put = await answer;
    assert(put.status() === 200, `PUT answered ${put.status()}`);
    assert(JSON.parse(put.request().postData()).max_usd_micro === 1500000, `the page sent ${put.request().postData()}`);
    await page.getByRole('status').filter({ hasText: 'The cap is now $1.50 (it was $1.00).' }).waitFor();
    await waitUntil(async () => (await statusOf(node, paid[4])) === 'DONE', { timeout: 30000, what: 'the waiting task DONE' });
    await waitUntil(async () => (await chartOf(page)).points.length === 10, { timeout: 20000, what: 'the chart at 10 points' });
    const c = await chartOf(page);
    assert(c.cap.value === 1500000 && /cap \$1\.50/.test(c.cap.text), `the cap line after the change: ${JSON.stringify(c.cap)}`);
    assert(c.points[c.points.length - 1].cy > c.cap.y + 10, 'the last point ($1.25) is not below the new cap');
    await waitUntil(async () => /\$1\.25 spent and \$0\.00 reserved of \$1\.50/.test(await page.locator('[data-field="words"]').textContent()),
      { what: 'the budget in words after the change' });
    assert(await page.locator('[data-field="available"]').textContent() === '$0.25', 'available is not $0.25');
    assert(await page.evaluate(() => window.__omnivaNoReload === true), 'the page was reloaded');
    const api = await must(node, 200, 'GET', '/api/budgets/team');
    assert(api.max_usd_micro === 1500000 && api.spent_usd_micro === 1250000 && api.lineage.spent_usd_micro === 1250000, `the budget: ${JSON.stringify(api).slice(0, 400)}`);
  });

  // -- a new budget with the form -----------------------------------------------------------------
  await t.step('an operator creates a budget with the page\'s form', async () => {
    await page.getByRole('link', { name: 'Budgets & quotas' }).first().click();
    await page.waitForFunction(() => location.hash === '#/limits');
    await page.getByLabel('Name').fill('ops-extra');
    await page.getByLabel('Cap in US dollars').fill('2.5');
    await page.getByLabel(/^Window/).fill('12h');
    await page.getByLabel(/^Description/).fill('made in the browser');
    await page.getByRole('button', { name: 'Create budget' }).click();
    await page.getByRole('status').filter({ hasText: 'Budget ops-extra created' }).waitFor();
    const b = await must(node, 200, 'GET', '/api/budgets/ops-extra');
    assert(b.max_usd_micro === 2500000 && b.window === '12h' && b.description === 'made in the browser', `the new budget: ${JSON.stringify(b)}`);
    await page.locator('table.lim-budgets tr[data-subject="budget:ops-extra"]').waitFor();
    const row = await cells(page, 'lim-budgets', 'budget:ops-extra');
    assert(row[2] === '$0.00' && row[4] === '$2.50' && row[5] === '$2.50', `the new row: ${JSON.stringify(row)}`);
    // The same name again: the node's refusal, shown.
    await page.getByLabel('Name').fill('ops-extra');
    await page.getByLabel('Cap in US dollars').fill('1');
    await page.getByRole('button', { name: 'Create budget' }).click();
    await page.getByRole('alert').filter({ hasText: 'already_exists' }).waitFor();
  });

  // -- the quota and the run's cap ----------------------------------------------------------------
  await t.step('the quota\'s page draws the units used at each dispatch, the units per window as a line', async () => {
    await page.locator('table.lim-quotas').getByRole('link', { name: 'calls', exact: true }).click();
    await page.getByRole('heading', { name: 'Quota calls', level: 1 }).waitFor();
    const api = await must(node, 200, 'GET', '/api/quotas/calls');
    assert(api.used_units === 500 && api.lineage.series.length === 5, `the quota: ${JSON.stringify(api)}`);
    const c = await chartOf(page);
    assert(c.points.length === 5, `the quota's chart draws ${c.points.length} points`);
    assert(c.cap && c.cap.value === 1000 && /units per window 1,000/.test(c.cap.text), `the quota's line: ${JSON.stringify(c.cap)}`);
    assert(!c.committed, 'a quota has no reserved line');
    assert(await page.getByRole('img', { name: /Units used over time/ }).count() === 1, 'the chart is no image named "Units used over time"');
    assert(/500 of 1,000 units used \(50%\)/.test(await page.locator('[data-field="words"]').textContent()), 'the quota in words');
    assert(await page.locator('[data-agree="yes"]').count() === 1, 'the quota does not agree with its lineage');
    assert(await page.getByRole('button', { name: 'Set cap' }).count() === 0, 'a quota offers the budget\'s cap form');
    await inspect(page, 'limits-quota', { expect: [...NAV, 'Budgets & quotas'] });
  });

  await t.step('the run\'s cap page draws its reservation and settlement, linked to the run', async () => {
    await gotoRoute(page, '#/limits');
    await page.getByRole('link', { name: `Cap of run ${runId}` }).click();
    await page.getByRole('heading', { name: `Cap of run ${runId.slice(0, 8)}`, level: 1 }).waitFor();
    const c = await chartOf(page);
    assert(c.points.length === 2 && c.cap.value === 500000 && /cap \$0\.50/.test(c.cap.text), `the run's chart: ${JSON.stringify(c)}`);
    assert(/\$0\.10 spent, \$0\.00 reserved after the last/.test(c.caption), `the run's caption: ${c.caption}`);
    assert(await page.locator(`a[href="#/runs/${runId}"]`).count() === 1, 'the run is not linked');
    assert(await page.getByRole('button', { name: 'Set cap' }).count() === 0, 'a run\'s cap offers the form');
    await inspect(page, 'limits-run', { expect: [...NAV, 'Budgets & quotas', `Run ${runId}`] });
  });

  await t.step('an unknown budget says so', async () => {
    await gotoRoute(page, '#/limits/budget/nobody');
    await page.getByRole('alert').filter({ hasText: 'not_found' }).waitFor();
    page.takeProblems(); // the 404 is the point (Chromium logs it)
  });

  await t.step('the lease goes when its attempt ends: the list follows without a reload', async () => {
    await gotoRoute(page, '#/limits');
    await page.locator(`table.lim-leases tr[data-prefix="${PREFIX}"]`).waitFor();
    fs.writeFileSync(gate, 'open\n');
    await waitUntil(async () => (await statusOf(node, leaseTask)) === 'DONE', { timeout: 30000, what: 'the publishing task DONE' });
    await page.getByText('No lease is held').waitFor({ timeout: 20000 });
    assert((await must(node, 200, 'GET', '/api/leases')).items.length === 0, 'the node still lists a lease');
  });

  // -- a viewer ---------------------------------------------------------------------------------
  await t.step('a viewer token sees the pages and no form', async () => {
    const made = await must(node, 201, 'POST', '/api/tokens', { name: 'limits-watcher', role: 'viewer' });
    const v = await newPage(browser, node, { name: 'viewer' });
    await v.goto('/');
    await v.getByLabel('API token').fill(made.secret);
    await v.getByRole('button', { name: 'Sign in' }).click();
    await v.getByRole('navigation', { name: 'Main' }).waitFor();
    await gotoRoute(v, '#/limits');
    await v.locator('table.lim-budgets tr[data-subject="budget:team"]').waitFor();
    assert(/\$1\.25/.test(await rowText(v, 'lim-budgets', 'budget:team')), 'the viewer does not see the spend');
    assert(await v.locator('form').count() === 0, 'a viewer sees a form on the list');
    await gotoRoute(v, '#/limits/budget/team');
    await v.locator('circle.lim-point').first().waitFor();
    assert(await v.locator('circle.lim-point').count() === 10, 'the viewer\'s chart');
    assert(await v.locator('form').count() === 0, 'a viewer sees the cap form');
    await screenshot(v, 'viewer-limits-budget');
    t.soft('viewer', v.takeProblems());
    await v.context().close();
  });

  t.soft('admin page', page.takeProblems());
  await t.step('the node stops cleanly', async () => {
    const r = await node.stop();
    assert(r.code === 0, `omniva serve exited ${JSON.stringify(r)}\n${node.log().slice(-3000)}`);
  });
});
