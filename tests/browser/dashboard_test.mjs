// The dashboard end to end in a real browser (ctest browser_dashboard):
// Debian's chromium, headless, driven by playwright-core against a real
// `omniva serve` with a temporary data folder (tests/browser/harness.mjs).
//
//   OMNIVA=build/runtime/omniva node tests/browser/dashboard_test.mjs
//
// The flow of issue 14: log in with the token (the login form, and the
// one-time link `omniva serve` prints); upload a file (progress bar);
// quarantine a module; create a task on the uploaded file through the
// generated form, first with a wrong value (the error at the field, no task
// created), then correctly; try to delete the task's input asset while the
// task waits (the refusal and its holder); release the quarantine and watch
// the task reach DONE on the live board without a reload; open its
// explanation and lineage graph; a viewer token sees the pages but no action;
// logging out ends the session. Every page gets an axe-core check, a keyboard
// walk, a horizontal-scroll check and a screenshot (build/test-output/browser/
// or $OMNIVA_TEST_OUT). OMNIVA_README_SHOT=1 also writes the task page's
// screenshot to docs/images/task-page.png.
//
// Fails (never skips) when chromium or playwright-core is missing.

import fs from 'node:fs';
import path from 'node:path';
import {
  REPO, startNode, launchBrowser, newPage, screenshot, axeCheck, keyboardCheck,
  horizontalScrollCheck, runner, waitUntil, apiCall,
} from './harness.mjs';

const t = runner('browser_dashboard: the dashboard in chromium against a real node');

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

// The shell's navigation (every page once logged in).
const NAV = ['Tasks', 'New task', 'Assets', 'Modules', 'Operations', 'Log out'];

/// The checks every page gets: no console error so far, axe (no serious or
/// critical violation), the keyboard reaches `expect` with visible focus, no
/// horizontal scroll, and a screenshot `<name>.png`.
async function inspect(page, name, { expect = NAV } = {}) {
  // (a page following the node's events never goes idle for long)
  await page.waitForLoadState('networkidle', { timeout: 2000 }).catch(() => {});
  const t0 = Date.now();
  const shot = await screenshot(page, name);
  t.soft(`${name}: console`, page.takeProblems());
  const bad = await axeCheck(page, name);
  t.soft(`${name}: axe`, bad.map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target).join(', ')})`));
  t.soft(`${name}: width`, await horizontalScrollCheck(page));
  const t1 = Date.now();
  const kb = await keyboardCheck(page, { expect });
  t.soft(`${name}: keyboard`, kb.problems);
  console.log(`    ${name}: ${path.basename(shot)}, axe ${bad.length} serious/critical (${t1 - t0} ms), ` +
    `Tab reached ${kb.seen.length} controls (${Date.now() - t1} ms)`);
  return shot;
}

async function gotoRoute(page, hash) {
  await page.evaluate((h) => { location.hash = h; }, hash);
  await page.waitForFunction((h) => location.hash === h, hash);
}

async function counts(node) {
  const r = await node.api('GET', '/api/tasks/counts');
  assert(r.status === 200, `GET /api/tasks/counts: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

await t.main(async () => {
  const node = await t.step('start omniva serve', () => startNode());
  const browser = await t.step('launch chromium (playwright-core)', () => launchBrowser());
  const page = await newPage(browser, node, { name: 'admin' });
  t.usePage(page);

  await t.step('the checks catch what they look for (a page made wrong on purpose)', async () => {
    const bad = await newPage(browser, node, { name: 'self-check' });
    await bad.goto('about:blank'); // no CSP: the page's own <style> applies
    await bad.setContent(`<!doctype html><html lang="en"><head><title>wrong</title>
      <style>button:focus, button:focus-visible { outline: none; }</style></head>
      <body><main><h1>Wrong on purpose</h1><button></button><button>Named</button>
      <img src="data:," width="10" height="10"><div style="width: 2000px">wide</div></main></body></html>`);
    const v = await axeCheck(bad, 'self-check');
    assert(v.some((x) => x.id === 'button-name') && v.some((x) => x.id === 'image-alt'),
      `axe missed the unnamed button or the image without alt: ${JSON.stringify(v.map((x) => x.id))}`);
    const kb = await keyboardCheck(bad, { expect: ['Named', 'Never there'] });
    assert(kb.problems.some((p) => p.startsWith('focus not visible')), `the keyboard walk missed the invisible focus: ${kb.problems}`);
    assert(kb.problems.some((p) => p.includes('"Never there"')), 'the keyboard walk missed an unreachable control');
    assert((await horizontalScrollCheck(bad)).length === 1, 'the width check missed a 2000 px page');
    await bad.context().close();
  });

  // -- login -------------------------------------------------------------------
  await t.step('the login page asks for a token', async () => {
    await page.goto('/');
    await page.getByLabel('API token').waitFor();
    await inspect(page, 'login', { expect: ['API token'] });
  });

  await t.step('a wrong token is refused on the login page', async () => {
    await page.getByLabel('API token').fill('omv_not-a-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').waitFor();
    assert(await page.getByLabel('API token').isVisible(), 'the login form went away after a wrong token');
    assert((await page.context().cookies()).length === 0, 'a wrong token got a cookie');
  });

  await t.step('log in with the token through the form: an HttpOnly SameSite=Strict session cookie', async () => {
    await page.getByLabel('API token').fill(node.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
    await page.getByRole('button', { name: 'Log out' }).waitFor();
    const cookies = await page.context().cookies();
    assert(cookies.length >= 1, 'no cookie after login');
    for (const c of cookies) {
      assert(c.httpOnly, `cookie ${c.name} is not HttpOnly`);
      assert(c.sameSite === 'Strict', `cookie ${c.name} is SameSite=${c.sameSite}, not Strict`);
    }
    const visible = await page.evaluate(() => document.cookie);
    assert(!cookies.some((c) => visible.includes(c.value)), 'the session cookie is readable from JavaScript');
    // The page's API calls go with the cookie alone (no token in JavaScript).
    const status = await page.evaluate(() => fetch('/api/tasks/counts').then((r) => r.status));
    assert(status === 200, `GET /api/tasks/counts from the page with the cookie: ${status}`);
  });

  await t.step('the one-time login link printed by `omniva serve` logs in once', async () => {
    assert(node.loginLink, `omniva serve printed no "one-time login link: http://...#login=CODE" line:\n${node.log()}`);
    const other = await newPage(browser, node, { name: 'link' });
    await other.goto(node.loginLink);
    await other.getByRole('navigation', { name: 'Main' }).waitFor();
    await other.waitForFunction(() => !location.hash.includes('login='));
    t.soft('one-time link', other.takeProblems());
    const again = await newPage(browser, node, { name: 'link-again' });
    await again.goto(node.loginLink);
    await again.getByLabel('API token').waitFor();
    assert(!(await again.getByRole('navigation', { name: 'Main' }).isVisible()),
      'the one-time link logged in a second time');
    await other.context().close();
    await again.context().close();
  });

  // -- an upload with its progress bar ---------------------------------------------
  // 2.5 MB: over the asset page's text preview limit (2 MiB), so the page
  // offers a download instead of rendering it.
  const text = Array.from({ length: 85000 }, (_, i) => `line ${i} of the probe's input`).join('\n') + '\n';
  let uploaded;
  await t.step('upload a file on the Assets page (progress bar to 100%)', async () => {
    await gotoRoute(page, '#/assets');
    await page.getByLabel('File', { exact: true }).setInputFiles({
      name: 'probe-input.txt', mimeType: 'text/plain', buffer: Buffer.from(text),
    });
    await page.getByLabel('Label', { exact: false }).first().fill('probe input');
    await page.getByRole('button', { name: 'Upload', exact: true }).click();
    const link = page.getByRole('status').getByRole('link', { name: 'probe input' });
    await link.waitFor();
    const progress = page.getByRole('progressbar', { name: 'Upload progress' });
    const value = await progress.evaluate((el) => el.value);
    assert(value === 100, `the progress bar shows ${value}, not 100, after the upload`);
    uploaded = decodeURIComponent((await link.getAttribute('href')).split('/').pop());
    const a = await node.api('GET', `/api/assets/${uploaded}`);
    assert(a.status === 200 && a.body.size === Buffer.byteLength(text), `the uploaded asset: ${JSON.stringify(a.body)}`);
    await page.getByRole('table', { name: 'Assets' }).getByRole('link', { name: /probe input/ }).waitFor();
    await inspect(page, 'assets', { expect: [...NAV, 'File', 'Create value'] });
  });

  // -- quarantine a module, so that its task waits ------------------------------------
  await t.step('quarantine media-probe@1 on the Operations page', async () => {
    await gotoRoute(page, '#/ops');
    const form = page.locator('form').filter({ has: page.getByRole('button', { name: 'Quarantine', exact: true }) });
    await form.getByRole('radio', { name: /module/i }).check();
    await form.getByRole('combobox', { name: /Module/ }).selectOption('media-probe@1');
    await form.getByRole('textbox', { name: /Reason/ }).fill('browser test');
    await form.getByRole('button', { name: 'Quarantine', exact: true }).click();
    await page.getByRole('button', { name: 'Release module:media-probe@1' }).waitFor();
    const q = await node.api('GET', '/api/quarantines');
    assert(q.body.items.some((x) => x.target === 'module:media-probe@1'), `no quarantine: ${JSON.stringify(q.body)}`);
    await inspect(page, 'operations', { expect: [...NAV, 'Release module:media-probe@1', 'Quarantine'] });
  });

  // -- the generated form: a wrong value, then a right one ---------------------------
  let taskId;
  await t.step('New task: a wrong value is refused at its field and creates nothing', async () => {
    await gotoRoute(page, '#/new');
    await page.getByLabel('Module', { exact: true }).selectOption('media-probe@1');
    await page.getByRole('heading', { name: 'Inputs of media-probe@1' }).waitFor();
    await page.getByRole('radiogroup', { name: 'Media file: assets' })
      .getByRole('radio', { name: /probe input/ }).check();
    const rate = page.getByRole('spinbutton', { name: /^Analysis sample rate \(Hz\)/ });
    assert(await rate.inputValue() === '16000', `the default is not pre-filled: ${await rate.inputValue()}`);
    assert(await page.getByRole('slider', { name: /Analysis sample rate/ }).count() === 1, 'no slider for a bounded number');
    const before = await counts(node);
    await rate.fill('100');
    await page.getByRole('button', { name: 'Create task' }).click();
    const err = page.locator('#' + (await rate.getAttribute('aria-describedby')).split(' ')[0]);
    await waitUntil(async () => (await rate.getAttribute('aria-invalid')) === 'true', { what: 'the field marked invalid' });
    const msg = await err.textContent();
    assert(/8000|range|minimum|at least/i.test(msg), `the field's message does not say what is wrong: "${msg}"`);
    assert(page.url().includes('#/new'), `the page left the form: ${page.url()}`);
    const after = await counts(node);
    assert(after.total === before.total, `a task was created: total ${before.total} -> ${after.total}`);
    await inspect(page, 'new-task', { expect: [...NAV, 'Module', 'Analysis sample rate (Hz)', 'Create task'] });
  });

  await t.step('New task: the right value creates the task (it waits: its module is quarantined)', async () => {
    const before = await counts(node);
    await page.getByRole('spinbutton', { name: /^Analysis sample rate \(Hz\)/ }).fill('22050');
    await page.getByRole('button', { name: 'Create task' }).click();
    await page.waitForFunction(() => /^#\/tasks\/[0-9a-f-]{36}$/.test(location.hash));
    taskId = decodeURIComponent(page.url().split('#/tasks/')[1]);
    const after = await counts(node);
    assert(after.total === before.total + 1, `total ${before.total} -> ${after.total}`);
    const task = (await node.api('GET', `/api/tasks/${taskId}`)).body;
    assert(task.values.sample_rate === 22050 && task.input_mapping.source === uploaded, `the task: ${JSON.stringify(task)}`);
    assert(['PENDING', 'READY'].includes(task.status), `the task is ${task.status}, not waiting`);
  });

  await t.step('deleting the input of an unfinished task is refused, naming the task', async () => {
    await gotoRoute(page, `#/assets/${uploaded}`);
    await page.getByRole('button', { name: 'Delete asset' }).click();
    await page.getByRole('button', { name: 'Confirm delete' }).click();
    const alert = page.getByRole('alert').filter({ hasText: /asset_in_use|in use|held/i });
    await alert.waitFor();
    await alert.locator(`a[href="#/tasks/${taskId}"]`).waitFor();
    const a = await node.api('GET', `/api/assets/${uploaded}`);
    assert(a.status === 200 && a.body.status === 'AVAILABLE', `the asset after the refused delete: ${a.status}`);
    await inspect(page, 'asset', { expect: [...NAV] });
  });

  // -- the live board: release the quarantine elsewhere, watch the task finish ---------
  await t.step('the board shows the task live: released on another tab, DONE without a reload', async () => {
    await gotoRoute(page, '#/tasks');
    const row = page.getByRole('row').filter({ has: page.locator(`a[href="#/tasks/${taskId}"]`) });
    await row.waitFor();
    assert(!/DONE/.test(await row.textContent()), 'the task is DONE before its module was released');
    await page.evaluate(() => { window.__omnivaNoReload = true; });
    const ops = await newPage(browser, node, { name: 'ops-tab', context: page.context() });
    await ops.goto('/#/ops');
    await ops.getByRole('button', { name: 'Release module:media-probe@1' }).click();
    await ops.getByRole('status').filter({ hasText: 'Released' }).waitFor();
    t.soft('ops tab', ops.takeProblems());
    await ops.close();
    await waitUntil(async () => /DONE/.test(await row.textContent()), { timeout: 30000, what: 'the row to show DONE' });
    assert(await page.evaluate(() => window.__omnivaNoReload === true), 'the board page was reloaded');
    const task = (await node.api('GET', `/api/tasks/${taskId}`)).body;
    assert(task.status === 'DONE', `the task is ${task.status}`);
    await inspect(page, 'tasks', { expect: [...NAV] });
  });

  let downstream;
  await t.step('a second task reads the first one\'s output (for the lineage)', async () => {
    const output = (await node.api('GET', `/api/tasks/${taskId}`)).body.outputs.metadata;
    const r = await node.api('POST', '/api/tasks', { module_ref: 'summarize@1', input_mapping: { metadata: output } });
    assert(r.status === 201, `POST /api/tasks: ${r.status} ${JSON.stringify(r.body)}`);
    downstream = r.body.task_id;
    await waitUntil(async () => (await node.api('GET', `/api/tasks/${downstream}`)).body.status === 'DONE',
      { timeout: 30000, what: 'the summarize task to be DONE' });
  });

  await t.step('the task page: explanation and lineage graph', async () => {
    await page.locator(`a[href="#/tasks/${taskId}"]`).first().click();
    await page.waitForFunction((id) => location.hash === `#/tasks/${id}`, taskId);
    const explanation = page.locator('section', { has: page.getByRole('heading', { name: 'Explanation', exact: true }) });
    // HaloLux's reasoning chain: statements, each citing a packet of the log.
    await explanation.getByRole('listitem').first().waitFor();
    const cited = await explanation.getByRole('link', { name: /^Packet [0-9a-f]+/ }).count();
    assert(cited > 0, 'the explanation cites no packet');
    const lineage = page.locator('section', { has: page.getByRole('heading', { name: 'Lineage', exact: true }) });
    const graph = lineage.getByRole('group', { name: /Lineage graph of task/ });
    await graph.locator('canvas').first().waitFor();
    // The neighbourhood: the task, its input (the uploaded file) and its output.
    const nodes = lineage.getByRole('table', { name: /Nodes of the lineage graph/ });
    await nodes.locator(`a[href="#/assets/${uploaded}"]`).waitFor();
    const output = (await node.api('GET', `/api/tasks/${taskId}`)).body.outputs.metadata;
    await nodes.locator(`a[href="#/assets/${output}"]`).waitFor();
    await nodes.locator(`a[href="#/tasks/${downstream}"]`).waitFor();
    await waitUntil(async () => !/Loading the neighbourhood/.test(await lineage.textContent()), { what: 'the graph loaded' });
    // The canvas holds a drawing (not a blank box).
    const inked = await graph.locator('canvas').evaluateAll((cs) => cs.some((c) => {
      const g = c.getContext('2d');
      if (!g || !c.width || !c.height) return false;
      const d = g.getImageData(0, 0, c.width, c.height).data;
      for (let i = 3; i < d.length; i += 4) if (d[i]) return true;
      return false;
    }));
    assert(inked, 'the lineage canvas is blank');
    await screenshot(page, 'task-full', { fullPage: true });
    await inspect(page, 'task', { expect: [...NAV, 'Run again', 'Zoom in'] });
    if (process.env.OMNIVA_README_SHOT) {
      // README's picture: the whole page at 3/4 scale (a PNG under 300 KB).
      const ctx = await browser.newContext({ viewport: { width: 1366, height: 900 }, deviceScaleFactor: 0.75, baseURL: node.url });
      await ctx.addCookies(await page.context().cookies());
      const p = await ctx.newPage();
      await p.goto(`/#/tasks/${taskId}`);
      const l = p.locator('section', { has: p.getByRole('heading', { name: 'Lineage', exact: true }) });
      await l.locator(`a[href="#/tasks/${downstream}"]`).waitFor();
      await waitUntil(async () => !/Loading the neighbourhood/.test(await l.textContent()), { what: 'the graph loaded' });
      await p.waitForTimeout(500);
      const dest = path.join(REPO, 'docs', 'images', 'task-page.png');
      fs.mkdirSync(path.dirname(dest), { recursive: true });
      await p.screenshot({ path: dest, fullPage: true, scale: 'device' });
      console.log(`    README screenshot: ${dest} (${fs.statSync(dest).size} bytes)`);
      await ctx.close();
    }
  });

  await t.step('Modules and a module contract', async () => {
    await gotoRoute(page, '#/modules');
    await page.getByRole('link', { name: 'New task with media-probe@1' }).waitFor();
    await inspect(page, 'modules', { expect: [...NAV] });
    await gotoRoute(page, '#/modules/media-probe@1');
    await page.getByRole('heading', { name: 'Inputs' }).waitFor();
    await inspect(page, 'module', { expect: [...NAV, 'New task with this module'] });
  });

  // -- a viewer sees everything and changes nothing ---------------------------------
  await t.step('a viewer token sees every page and no action', async () => {
    // Something to act on: a quarantine and a task waiting behind it.
    const q = await node.api('POST', '/api/quarantines', { module: 'media-probe@1', reason: 'viewer check' });
    assert(q.status === 201, `POST /api/quarantines: ${q.status} ${JSON.stringify(q.body)}`);
    const w = await node.api('POST', '/api/tasks', { module_ref: 'media-probe@1', input_mapping: { source: uploaded }, values: { sample_rate: 8000 } });
    assert(w.status === 201, `POST /api/tasks: ${w.status} ${JSON.stringify(w.body)}`);
    const waiting = w.body.task_id;
    const made = await node.api('POST', '/api/tokens', { name: 'watcher', role: 'viewer' });
    assert(made.status === 201, `POST /api/tokens: ${made.status} ${JSON.stringify(made.body)}`);
    const v = await newPage(browser, node, { name: 'viewer' });
    await v.goto('/');
    await v.getByLabel('API token').fill(made.body.secret);
    await v.getByRole('button', { name: 'Sign in' }).click();
    await v.getByRole('navigation', { name: 'Main' }).waitFor();
    const actions = /^(Upload|Create value|Delete asset|Confirm delete|Quarantine|Release|Cancel|Yes, cancel|Retry|Run audit|Create task|Set priority|Change priority)\b/i;
    // (read in one go: a live page re-renders between two calls)
    const enabledActions = (p) => p.evaluate(() => Array.from(document.querySelectorAll('button, [role="button"], input[type="submit"]'))
      .filter((b) => !b.disabled && !b.closest('fieldset[disabled]') && b.offsetParent !== null)
      .map((b) => (b.getAttribute('aria-label') || b.textContent || b.value || '').replace(/\s+/g, ' ').trim()))
      .then((names) => names.filter((name) => actions.test(name)));
    const pages = [
      ['#/tasks', (p) => p.locator(`a[href="#/tasks/${taskId}"]`).first()],
      [`#/tasks/${taskId}`, (p) => p.getByRole('heading', { name: 'Explanation', exact: true })],
      [`#/tasks/${waiting}`, (p) => p.getByRole('heading', { name: 'Explanation', exact: true })],
      ['#/new?module=media-probe@1', (p) => p.getByRole('heading', { name: 'Inputs of media-probe@1' })],
      ['#/assets', (p) => p.getByRole('table', { name: 'Assets' })],
      [`#/assets/${uploaded}`, (p) => p.getByRole('heading', { name: 'Record' })],
      ['#/modules', (p) => p.getByRole('link', { name: 'New task with media-probe@1' })],
      ['#/ops', (p) => p.getByRole('heading', { name: 'Audits', exact: true })],
    ];
    // The admin sees the actions on the same pages (the check can fail).
    for (const [hash, ready, want] of [[`#/tasks/${waiting}`, pages[2][1], 'Cancel task'], ['#/ops', pages[7][1], 'Release module:media-probe@1']]) {
      await gotoRoute(page, hash);
      await ready(page).waitFor();
      await page.getByRole('button', { name: want }).waitFor();
      assert((await enabledActions(page)).includes(want), `the admin's "${want}" is not seen as an action on ${hash}`);
    }
    for (const [hash, ready] of pages) {
      await gotoRoute(v, hash);
      await ready(v).waitFor();
      await v.waitForLoadState('networkidle', { timeout: 2000 }).catch(() => {});
      const enabled = await enabledActions(v);
      assert(enabled.length === 0, `a viewer sees the action buttons ${JSON.stringify(enabled)} on ${hash}`);
    }
    await screenshot(v, 'viewer-ops');
    t.soft('viewer', v.takeProblems());
    await v.context().close();
    assert((await node.api('POST', `/api/tasks/${waiting}/cancel`)).status === 200, 'cancel the waiting task');
    assert((await node.api('DELETE', '/api/quarantines/module:media-probe@1')).status === 200, 'release media-probe@1');
  });

  // -- logging out ends the session ----------------------------------------------------
  await t.step('log out: the login page again, and the old cookie no longer works', async () => {
    const cookies = await page.context().cookies();
    const header = cookies.map((c) => `${c.name}=${c.value}`).join('; ');
    const ok = await apiCall(node.url, 'GET', '/api/tasks/counts', undefined, { headers: { Cookie: header } });
    assert(ok.status === 200, `the cookie before logout: ${ok.status}`);
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByLabel('API token').waitFor();
    const gone = await apiCall(node.url, 'GET', '/api/tasks/counts', undefined, { headers: { Cookie: header } });
    assert(gone.status === 401, `the cookie after logout: ${gone.status}, not 401`);
    await page.reload();
    await page.getByLabel('API token').waitFor();
  });

  t.soft('admin page', page.takeProblems());
  await t.step('the node stops cleanly', async () => {
    const r = await node.stop();
    assert(r.code === 0, `omniva serve exited ${JSON.stringify(r)}\n${node.log().slice(-3000)}`);
  });
});
