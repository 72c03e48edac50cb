// The dashboard's pipeline pages end to end in a real browser (ctest
// browser_pipelines): Debian's chromium, headless, driven by playwright-core
// against a real `omniva serve` with a temporary data folder
// (tests/browser/harness.mjs).
//
//   OMNIVA=build/runtime/omniva node tests/browser/pipelines_test.mjs
//
// The flow: three test modules and a pipeline over them are registered
// through the API (the pipeline from a JSON file written in the test's
// folder): `split` makes a `many` output, `each` runs once per element of
// it (for_each) and `gather` collects the results. The Pipelines page draws
// it (three steps, two arrows, the for-each and collect badges); its page
// generates the launch form from the pipeline's inputs (an asset picker, a
// text field with its pattern, a slider with its default). A first launch
// with a wrong value and no asset is refused with the node's problems at
// the two fields and creates no run; the second launches (mock mode) and
// lands on the run page. The for-each step's module is quarantined, so the
// run waits at the fan-out: the page shows its two branches created and
// none done, pauses and resumes the run with its buttons, then, the
// quarantine released, follows the run to DONE without a reload and shows
// each step's counts, the progress bars and the outputs linked to their
// assets. A trigger is refused for a bad interval (the error at the field),
// then created (listed with its next start) and removed. A viewer sees the
// pages and no action. Every page gets an axe-core check (no serious or
// critical violation), a keyboard walk, a width check and a screenshot in
// build/test-output/browser/ (or $OMNIVA_TEST_OUT).
//
// Fails (never skips) when chromium or playwright-core is missing.

import fs from 'node:fs';
import path from 'node:path';
import {
  startNode, launchBrowser, newPage, screenshot, axeCheck, keyboardCheck, horizontalScrollCheck, runner, waitUntil,
} from './harness.mjs';

const t = runner('browser_pipelines: the pipeline pages in chromium against a real node');

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

const NAV = ['Tasks', 'New task', 'Pipelines', 'Assets', 'Modules', 'Operations', 'Log out'];
const REF = 'pt-clips@1';
const LIST = 'application/vnd.omniva.asset-list+json';

// -- the test's modules (mock runs only: no program) and its pipeline --------------------

const module = (name, description, inputs, outputs) => ({
  name, version: 1, description, inputs, outputs,
  resources: { cpu: 1, memory_gb: 0.1, gpu: false, timeout_s: 30 },
  run: { command: ['python3', 'absent.py'] },
  schema_version: '1.0.0',
});
const MODULES = [
  module('pt-split', 'Browser test: splits a seed text into items (a many output).',
    [{ key: 'seed', label: 'Seed text', contract_type: 'ASSET', constraints: { media_types: ['text/plain'] } },
      { key: 'topic', label: 'Topic', contract_type: 'VALUE', dtype: 'string', constraints: { max_length: 40 } }],
    [{ key: 'items', label: 'Items', media_type: 'text/plain', many: true }]),
  module('pt-each', 'Browser test: works on one item.',
    [{ key: 'item', label: 'Item', contract_type: 'ASSET', constraints: { media_types: ['text/plain'] } },
      { key: 'rounds', label: 'Rounds', contract_type: 'VALUE', dtype: 'int', default: 1, constraints: { min: 1, max: 5 } }],
    [{ key: 'result', label: 'Result', media_type: 'text/plain' }]),
  module('pt-gather', 'Browser test: gathers the results into a report.',
    [{ key: 'results', label: 'Results', contract_type: 'ASSET', constraints: { media_types: [LIST] } }],
    [{ key: 'report', label: 'Report', media_type: 'text/plain' }]),
];
const PIPELINE = {
  name: 'pt-clips', version: 1, schema_version: '1.0.0',
  description: 'Browser test: a seed split into items, each item worked on, the results gathered',
  inputs: [
    { key: 'seed', label: 'Seed text', contract_type: 'ASSET', constraints: { media_types: ['text/plain'] } },
    { key: 'topic', label: 'Topic', contract_type: 'VALUE', dtype: 'string', constraints: { pattern: '^[a-z ]+$' } },
    { key: 'rounds', label: 'Rounds', contract_type: 'VALUE', dtype: 'int', default: 2, constraints: { min: 1, max: 5 } },
  ],
  steps: [
    { id: 'split', module: 'pt-split@1', inputs: { seed: { from: 'inputs.seed' }, topic: { from: 'inputs.topic' } } },
    { id: 'each', module: 'pt-each@1', for_each: { from: 'split.items' },
      inputs: { item: { from: 'item' }, rounds: { from: 'inputs.rounds' } } },
    { id: 'gather', module: 'pt-gather@1', collect: { from: 'each.result' }, inputs: { results: { from: 'collected' } } },
  ],
  outputs: { report: { from: 'gather.report' }, results: { from: 'each.result' } },
};

/// The checks every page gets: no console error so far, axe (no serious or
/// critical violation), the keyboard reaches `expect` with visible focus, no
/// horizontal scroll, and a screenshot `<name>.png`.
async function inspect(page, name, { expect = NAV } = {}) {
  await page.waitForLoadState('networkidle', { timeout: 2000 }).catch(() => {});
  const shot = await screenshot(page, name);
  t.soft(`${name}: console`, page.takeProblems());
  const bad = await axeCheck(page, name);
  t.soft(`${name}: axe`, bad.map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target).join(', ')})`));
  t.soft(`${name}: width`, await horizontalScrollCheck(page));
  const kb = await keyboardCheck(page, { expect, max: 120 });
  t.soft(`${name}: keyboard`, kb.problems);
  console.log(`    ${name}: ${path.basename(shot)}, axe ${bad.length} serious/critical, Tab reached ${kb.seen.length} controls`);
  return shot;
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

const runsOf = async (node) => (await must(node, 200, 'GET', `/api/runs?pipeline=${encodeURIComponent(REF)}`)).items;

/// A step's row of the run page's step table, as text.
const stepRow = (page, id) => page.locator(`table.run-steps tr[data-step="${id}"]`);

await t.main(async () => {
  const node = await t.step('start omniva serve', () => startNode({ name: 'omniva-pipelines-' }));
  const browser = await t.step('launch chromium (playwright-core)', () => launchBrowser());
  const page = await newPage(browser, node, { name: 'admin' });
  t.usePage(page);

  let seed;
  await t.step('register the test modules and the pipeline (from a JSON file) through the API', async () => {
    for (const m of MODULES) await must(node, 201, 'POST', '/api/modules', m);
    const file = path.join(node.dir, `${REF}.json`);
    fs.writeFileSync(file, JSON.stringify(PIPELINE, null, 2));
    const reg = await must(node, 201, 'POST', '/api/pipelines', fs.readFileSync(file, 'utf8'),
      { headers: { 'Content-Type': 'application/json' } });
    assert(reg.ref === REF, `POST /api/pipelines answered ref ${reg.ref}`);
    const p = await must(node, 200, 'GET', `/api/pipelines/${encodeURIComponent(REF)}`);
    const kinds = Object.fromEntries(p.steps.map((s) => [s.id, s.kind]));
    assert(kinds.split === 'single' && kinds.each === 'for_each' && kinds.gather === 'collect', `the steps' kinds: ${JSON.stringify(kinds)}`);
    const up = await must(node, 201, 'POST', '/api/assets/upload?filename=seed.txt&media_type=text%2Fplain&label=pipeline%20seed',
      'one\ntwo\n', { headers: { 'Content-Type': 'application/octet-stream' } });
    seed = up.asset_id;
    // The for-each step's module waits: the run stops at its fan-out until released.
    await must(node, 201, 'POST', '/api/quarantines', { module: 'pt-each@1', reason: 'browser test: hold the fan-out' });
  });

  await t.step('log in', async () => {
    await page.goto('/');
    await page.getByLabel('API token').fill(node.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
  });

  // -- the list: the pipeline drawn ------------------------------------------------------
  await t.step('Pipelines: the pipeline is drawn as its steps, with kind badges and arrows', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Pipelines' }).click();
    await page.waitForFunction(() => location.hash === '#/pipelines');
    const card = page.locator(`section.pl-card[data-ref="${REF}"]`);
    await card.waitFor();
    const graph = card.getByRole('img', { name: `Steps of ${REF}` });
    await graph.waitFor();
    const nodes = await graph.locator('g.pl-node').evaluateAll((gs) => gs.map((g) => ({
      step: g.dataset.step, text: g.textContent, cls: g.getAttribute('class'),
      x: g.transform.baseVal.consolidate().matrix.e })));
    assert(nodes.length === 3, `the graph draws ${nodes.length} steps: ${JSON.stringify(nodes)}`);
    const by = Object.fromEntries(nodes.map((n) => [n.step, n]));
    assert(/for each/.test(by.each.text) && /collect/.test(by.gather.text) && !/for each|collect/.test(by.split.text),
      `the kind badges: ${JSON.stringify(nodes.map((n) => n.text))}`);
    assert(by.split.x < by.each.x && by.each.x < by.gather.x, `the steps are not drawn left to right in order: ${JSON.stringify(nodes)}`);
    const edges = await graph.locator('path.pl-edge').evaluateAll((ps) => ps.map((p) => `${p.dataset.from}->${p.dataset.to}`).sort());
    assert(JSON.stringify(edges) === JSON.stringify(['each->gather', 'split->each']), `the arrows: ${JSON.stringify(edges)}`);
    const desc = await graph.evaluate((svg) => svg.querySelector('desc').textContent);
    assert(/each \(pt-each@1\) runs once per element of split\.items, after split/.test(desc), `the graph's description: ${desc}`);
    await inspect(page, 'pipelines', { expect: [...NAV, REF, 'All runs'] });
  });

  // -- the pipeline page: the form from its inputs ------------------------------------------
  await t.step('the pipeline page: its steps, and the launch form generated from its inputs', async () => {
    await page.getByRole('link', { name: REF, exact: true }).click();
    await page.waitForFunction((r) => decodeURIComponent(location.hash) === `#/pipelines/${r}`, REF);
    await page.getByRole('heading', { name: `Launch ${REF}` }).waitFor();
    assert(await page.getByRole('img', { name: `Steps of ${REF}` }).locator('g.pl-node').count() === 3, 'the page draws no 3 steps');
    const stepsTable = page.locator('table.pl-steps');
    assert(/once per element of split\.items/.test(await stepsTable.textContent()), 'the steps table does not say how each runs');
    // ASSET picker listing the uploaded text; a text field; a bounded int with its slider and default.
    await page.getByRole('radiogroup', { name: 'Seed text: assets' }).getByRole('radio', { name: /pipeline seed/ }).waitFor();
    const rounds = page.getByRole('spinbutton', { name: /^Rounds/ });
    assert(await rounds.inputValue() === '2', `the default of rounds is not pre-filled: "${await rounds.inputValue()}"`);
    assert(await page.getByRole('slider', { name: /Rounds/ }).count() === 1, 'no slider for a bounded int');
    await page.getByRole('textbox', { name: /^Topic/ }).waitFor();
    await page.getByRole('button', { name: 'Launch run' }).waitFor();
  });

  await t.step('a refused launch shows the node\'s problems at their fields and starts no run', async () => {
    const topic = page.getByRole('textbox', { name: /^Topic/ });
    await topic.fill('Not Allowed!');
    const answer = page.waitForResponse((r) => r.request().method() === 'POST' && /\/api\/pipelines\/[^/]+\/runs$/.test(r.url()));
    await page.getByRole('button', { name: 'Launch run' }).click();
    const refused = await answer;
    const body = await refused.json();
    assert(refused.status() === 422, `the refused launch answered ${refused.status()}: ${JSON.stringify(body)}`);
    const at = (pointer) => (body.errors || []).find((e) => e.pointer === pointer);
    assert(at('/values/topic') && at('/inputs/seed'), `the node's problems lack /values/topic or /inputs/seed: ${JSON.stringify(body)}`);
    await page.getByRole('alert').filter({ hasText: /The node refused the run/ }).waitFor();
    await waitUntil(async () => (await topic.getAttribute('aria-invalid')) === 'true', { what: 'the topic field marked invalid' });
    // The node's own words (and code) under each field, not the page's own check.
    for (const [key, pointer] of [['topic', '/values/topic'], ['seed', '/inputs/seed']]) {
      const p = at(pointer);
      const text = await page.locator(`#f-${key}-err`).textContent().catch(() => '');
      assert(text.includes(p.message) && text.includes(`(${p.code})`), `the ${key} field shows "${text}", not the node's "${p.message} (${p.code})"`);
      const described = await page.locator(`#f-${key}`).getAttribute('aria-describedby');
      assert((described || '').split(' ').includes(`f-${key}-err`), `the ${key} control is not described by its message: ${described}`);
    }
    assert(page.url().includes('#/pipelines/'), `the page left the form: ${page.url()}`);
    assert((await runsOf(node)).length === 0, 'a refused launch created a run');
    await inspect(page, 'pipeline-refused', { expect: [...NAV, 'Launch run', 'Topic', 'Seed text: asset id'] });
  });

  let runId;
  await t.step('launch: the corrected form starts a run (mock) and opens its page', async () => {
    await page.getByRole('radiogroup', { name: 'Seed text: assets' }).getByRole('radio', { name: /pipeline seed/ }).check();
    await page.getByRole('textbox', { name: /^Topic/ }).fill('cats and dogs');
    await page.getByLabel('Mode', { exact: true }).selectOption('mock');
    await page.getByRole('button', { name: 'Launch run' }).click();
    await page.waitForFunction(() => /^#\/runs\/[0-9a-f-]{36}$/.test(location.hash), undefined, { timeout: 15000 });
    runId = decodeURIComponent(page.url().split('#/runs/')[1]);
    const run = await must(node, 200, 'GET', `/api/runs/${runId}`);
    assert(run.pipeline === REF && run.mode === 'mock', `the run: ${JSON.stringify(run).slice(0, 400)}`);
    assert(run.inputs.seed === seed && run.values.topic === 'cats and dogs', `the run's inputs and values: ${JSON.stringify([run.inputs, run.values])}`);
    assert(run.values.rounds === 2 || run.values.rounds === undefined, `rounds: ${JSON.stringify(run.values)}`);
    await page.getByRole('heading', { name: `Run ${runId.slice(0, 8)}` }).waitFor();
  });

  await t.step('the run waits at its fan-out: two branches created, none done', async () => {
    await waitUntil(async () => /0 of 2 done/.test(await stepRow(page, 'each').textContent().catch(() => '')),
      { timeout: 30000, what: 'the each step at "0 of 2 done"' });
    assert(/1 of 1 done/.test(await stepRow(page, 'split').textContent()), 'split is not "1 of 1 done"');
    assert(/0 of 0 done/.test(await stepRow(page, 'gather').textContent()), 'gather has tasks before its elements ended');
    const bar = await stepRow(page, 'each').locator('progress').evaluate((p) => [p.value, p.max]);
    assert(bar[0] === 0 && bar[1] === 2, `the each step's progress bar: ${bar}`);
  });

  await t.step('an operator pauses and resumes the run with its buttons', async () => {
    await page.getByRole('button', { name: 'Pause run' }).click();
    await page.getByRole('button', { name: 'Resume run' }).waitFor();
    assert((await must(node, 200, 'GET', `/api/runs/${runId}`)).status === 'PAUSED', 'the run is not PAUSED after the Pause button');
    assert(/PAUSED/.test(await page.locator('.run-status').textContent()), 'the page does not show PAUSED');
    await inspect(page, 'run-paused', { expect: [...NAV, 'Resume run', 'Cancel run'] });
    await page.getByRole('button', { name: 'Resume run' }).click();
    await page.getByRole('button', { name: 'Pause run' }).waitFor();
    assert((await must(node, 200, 'GET', `/api/runs/${runId}`)).status === 'RUNNING', 'the run is not RUNNING after the Resume button');
  });

  await t.step('released, the run reaches DONE on the page without a reload', async () => {
    await page.evaluate(() => { window.__omnivaNoReload = true; });
    await must(node, 200, 'DELETE', '/api/quarantines/module:pt-each@1');
    await waitUntil(async () => /DONE/.test(await page.locator('.run-status').textContent()), { timeout: 60000, what: 'the run page to show DONE' });
    assert(await page.evaluate(() => window.__omnivaNoReload === true), 'the run page was reloaded');
    const run = await must(node, 200, 'GET', `/api/runs/${runId}`);
    assert(run.status === 'DONE', `the run is ${run.status}`);
    // each step's counts, as the node gives them and as the page shows them
    const want = { split: [1, 1], each: [2, 2], gather: [1, 1] };
    for (const [id, [done, created]] of Object.entries(want)) {
      const s = run.steps.find((x) => x.id === id);
      assert(s && s.branches === created && (s.tasks.DONE || 0) === done, `the node's step ${id}: ${JSON.stringify(s)}`);
      await waitUntil(async () => new RegExp(`${done} of ${created} done`).test(await stepRow(page, id).textContent()),
        { what: `the ${id} row to say ${done} of ${created} done` });
      const bar = await stepRow(page, id).locator('progress').evaluate((p) => [p.value, p.max]);
      assert(bar[0] === done && bar[1] === created, `the ${id} progress bar: ${bar}`);
      assert(new RegExp(`DONE\\s*${done}`).test(await stepRow(page, id).textContent()), `the ${id} row's tasks per status`);
    }
    assert(/2 elements kept, 2 branches created/.test(await stepRow(page, 'each').textContent()), 'the fan-out cell');
    const graph = page.getByRole('img', { name: /Steps of run/ });
    assert(await graph.locator('g.pl-state-done').count() === 3, 'the graph does not draw the three steps done');
    // the outputs, linked to their assets
    const report = run.outputs.report;
    const results = run.outputs.results;
    assert(typeof report === 'string' && Array.isArray(results) && results.length === 2, `the run's outputs: ${JSON.stringify(run.outputs)}`);
    await page.locator(`tr[data-output="report"] a[href="#/assets/${report}"]`).waitFor();
    for (const a of results) await page.locator(`tr[data-output="results"] a[href="#/assets/${a}"]`).waitFor();
    // every task of the run listed and linked
    for (const x of run.task_ids) await page.locator(`table.run-tasks a[href="#/tasks/${x.task_id}"]`).waitFor();
    assert(run.task_ids.length === 4, `the run has ${run.task_ids.length} tasks, not 4`);
    assert(await page.getByRole('button', { name: /Pause run|Resume run/ }).count() === 0, 'a DONE run still offers pause or resume');
    await screenshot(page, 'run-done-full', { fullPage: true });
    await inspect(page, 'run-done', { expect: [...NAV, `Pipeline ${REF}`, 'Step'] });
  });

  await t.step('the pipeline page lists the run, DONE; the runs page too', async () => {
    await page.getByRole('link', { name: `Pipeline ${REF}` }).click();
    const row = page.locator('table.pl-runs tr', { has: page.locator(`a[href="#/runs/${runId}"]`) });
    await row.waitFor();
    await waitUntil(async () => /DONE/.test(await row.textContent()) && /4 of 4 done/.test(await row.textContent()),
      { what: 'the run row DONE, 4 of 4 done' });
    await inspect(page, 'pipeline', { expect: [...NAV, 'Launch run', 'Topic'] });
    await gotoRoute(page, '#/runs');
    await page.locator(`table.pl-runs a[href="#/runs/${runId}"]`).waitFor();
    await inspect(page, 'runs', { expect: [...NAV, 'Status', 'Apply'] });
  });

  // -- triggers --------------------------------------------------------------------------
  let triggerId;
  await t.step('a trigger: a bad interval is refused at its field, then one is created with its next start', async () => {
    await gotoRoute(page, '#/pipelines');
    await page.getByLabel('Pipeline', { exact: true }).selectOption(REF);
    await page.getByRole('heading', { name: `Schedule ${REF}` }).waitFor();
    await page.getByRole('radiogroup', { name: 'Seed text: assets' }).getByRole('radio', { name: /pipeline seed/ }).check();
    await page.getByRole('textbox', { name: /^Topic/ }).fill('every day');
    const every = page.getByRole('textbox', { name: 'Interval' });
    await every.fill('3 weeks');
    const answer = page.waitForResponse((r) => r.request().method() === 'POST' && /\/api\/triggers$/.test(r.url()));
    await page.getByRole('button', { name: 'Create trigger' }).click();
    const refused = await answer;
    const body = await refused.json();
    const problem = (body.errors || [body.error]).find((e) => e && e.pointer === '/every');
    assert(refused.status() === 400 && problem, `the refused trigger: ${refused.status()} ${JSON.stringify(body)}`);
    await page.getByRole('alert').filter({ hasText: /The node refused the trigger/ }).waitFor();
    await waitUntil(async () => (await every.getAttribute('aria-invalid')) === 'true', { what: 'the interval marked invalid' });
    const shown = await page.locator('#pl-every-err').textContent();
    assert(shown.includes(problem.message), `the interval shows "${shown}", not the node's "${problem.message}"`);
    assert((await must(node, 200, 'GET', '/api/triggers')).items.length === 0, 'a refused trigger was created');
    await every.fill('1d');
    await page.getByRole('button', { name: 'Create trigger' }).click();
    await page.getByRole('status').filter({ hasText: /Trigger .* created/ }).waitFor();
    const items = (await must(node, 200, 'GET', '/api/triggers')).items;
    assert(items.length === 1 && items[0].pipeline === REF && items[0].every_ms === 86400000, `the triggers: ${JSON.stringify(items)}`);
    assert(items[0].values.topic === 'every day' && items[0].inputs.seed === seed, `the trigger's values and inputs: ${JSON.stringify(items[0])}`);
    triggerId = items[0].trigger_id;
    const row = page.locator('table.pl-triggers tr', { hasText: triggerId.slice(0, 8) });
    await row.waitFor();
    const text = await row.textContent();
    assert(/every 1d/.test(text) && /in (2[34] h|1 days)/.test(text), `the trigger's row: ${text}`);
    await inspect(page, 'pipelines-triggers', { expect: [...NAV, /^Remove trigger/, 'Create trigger'] });
  });

  await t.step('the trigger is removed (asked twice)', async () => {
    await page.getByRole('button', { name: new RegExp(`^Remove trigger ${triggerId.slice(0, 8)}`) }).click();
    await page.getByRole('button', { name: 'Yes, remove it' }).click();
    await page.getByRole('status').filter({ hasText: /removed/ }).waitFor();
    assert((await must(node, 200, 'GET', '/api/triggers')).items.length === 0, 'the trigger is still there');
    await waitUntil(async () => (await page.locator('table.pl-triggers').count()) === 0, { what: 'the trigger table gone' });
  });

  // -- a viewer sees the pages and no action ------------------------------------------------
  await t.step('a viewer token sees the pipeline pages and no action', async () => {
    await must(node, 201, 'POST', '/api/triggers', { pipeline: REF, every: '1h', inputs: { seed }, values: { topic: 'hourly' }, mode: 'mock' });
    await must(node, 201, 'POST', '/api/quarantines', { module: 'pt-each@1', reason: 'viewer check' });
    const waiting = await must(node, 201, 'POST', `/api/pipelines/${encodeURIComponent(REF)}/runs`,
      { inputs: { seed }, values: { topic: 'viewer' }, mode: 'mock' });
    const made = await must(node, 201, 'POST', '/api/tokens', { name: 'pipeline-watcher', role: 'viewer' });
    const actions = /^(Launch run|Create trigger|Remove|Yes, remove|Pause run|Resume run|Retry|Cancel run|Yes, cancel)/i;
    const enabledActions = (p) => p.evaluate(() => Array.from(document.querySelectorAll('button, [role="button"], input[type="submit"]'))
      .filter((b) => !b.disabled && !b.closest('fieldset[disabled]') && b.offsetParent !== null)
      .map((b) => (b.getAttribute('aria-label') || b.textContent || b.value || '').replace(/\s+/g, ' ').trim()))
      .then((names) => names.filter((name) => actions.test(name)));
    const pages = [
      ['#/pipelines', (p) => p.locator('table.pl-triggers'), /^Remove trigger/],
      [`#/pipelines/${REF}`, (p) => p.getByRole('heading', { name: `Launch ${REF}` }), /^Launch run$/],
      [`#/runs/${waiting.run_id}`, (p) => p.getByRole('heading', { name: 'Tasks of the run' }), /^Pause run$/],
      ['#/runs', (p) => p.locator(`a[href="#/runs/${waiting.run_id}"]`), null],
    ];
    // The admin sees the actions on the same pages (the check can fail).
    for (const [hash, ready, want] of pages) {
      if (!want) continue;
      await gotoRoute(page, hash);
      await ready(page).first().waitFor();
      await waitUntil(async () => (await enabledActions(page)).some((n) => want.test(n)), { what: `the admin's ${want} on ${hash}` });
    }
    const v = await newPage(browser, node, { name: 'viewer' });
    await v.goto('/');
    await v.getByLabel('API token').fill(made.secret);
    await v.getByRole('button', { name: 'Sign in' }).click();
    await v.getByRole('navigation', { name: 'Main' }).waitFor();
    for (const [hash, ready] of pages) {
      await gotoRoute(v, hash);
      await ready(v).first().waitFor();
      await v.waitForLoadState('networkidle', { timeout: 2000 }).catch(() => {});
      const enabled = await enabledActions(v);
      assert(enabled.length === 0, `a viewer sees the action buttons ${JSON.stringify(enabled)} on ${hash}`);
    }
    await screenshot(v, 'viewer-pipeline-run');
    t.soft('viewer', v.takeProblems());
    await v.context().close();
    await must(node, 200, 'POST', `/api/runs/${waiting.run_id}/cancel`);
  });

  t.soft('admin page', page.takeProblems());
  await t.step('the node stops cleanly', async () => {
    const r = await node.stop();
    assert(r.code === 0, `omniva serve exited ${JSON.stringify(r)}\n${node.log().slice(-3000)}`);
  });
});
