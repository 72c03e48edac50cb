// The run page's clips (ctest browser_clips): a real `clips@1` run on the
// local test channel, watched in Debian's chromium (headless, playwright-core)
// against a real `omniva serve` (tests/browser/harness.mjs).
//
//   node tests/browser/clips_test.mjs build/runtime/omniva [repo]
//
// The flow: tests/content/media.py makes a channel of two 6-second videos
// (test patterns, a face, espeak-ng speech) and tests/content/channel_server.py
// serves it on 127.0.0.1. The node (real mode, the repository's modules)
// runs clips@1 on it: scraper@1, analyzer@1 per video, Pantheon's top 2 per
// video, editor@1 per kept candidate. The run page is opened as soon as the
// run starts and follows it to DONE without a reload. Then, from the node's
// own records (the edit tasks, their candidates, Pantheon's report assets):
//   - one group per video branch, one player per clip, each with the clip's
//     content URL; each player loads its metadata (readyState >= 1), lasts the
//     candidate's end_time - start_time (within 0.25 s) and is 1080x1920;
//     one clip plays (muted): its time advances and its frame is not black;
//   - each clip shows its time range, its candidate's confidence, Lattice
//     priority and faces, and a votes table with the three personas
//     (risk_mitigation, exploratory_push, trend_chasing): the candidate's
//     vote, and the report's confidence and commentary; the consensus and
//     the dissenter of the report;
//   - a fresh load of the page reads each clip's task and candidate once,
//     the run's packets once, and no more (no request per clip beyond those);
//   - no console error, axe (no serious or critical violation), the keyboard
//     reaches the players with visible focus, no horizontal scrolling at
//     1366x768, screenshots in build/test-output/browser/ (or $OMNIVA_TEST_OUT).
//
// Fails (never skips) when chromium, playwright-core, ffmpeg or the Debian
// python3 with OpenCV is missing.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  REPO as HERE, startNode, launchBrowser, newPage, screenshot, axeCheck, keyboardCheck, horizontalScrollCheck,
  runner, waitUntil, onCleanup,
} from './harness.mjs';

const t = runner('browser_clips: a clips@1 run previewed on the run page in chromium against a real node');
const REPO = path.resolve(process.argv[3] || HERE);
const PYTHON = '/usr/bin/python3'; // Debian's, with python3-opencv (scripts/install-deps.sh)
const PERSONAS = ['exploratory_push', 'risk_mitigation', 'trend_chasing'];
const NAV = ['Tasks', 'New task', 'Pipelines', 'Assets', 'Modules', 'Operations', 'Log out'];

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

const escape = (x) => String(x).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/// The text shows `label` followed by `value` (a term and its description).
const shows = (text, label, value) => new RegExp(escape(label) + '\\s*' + escape(value)).test(text);

/// An API call that must answer `status`; the answer's body.
async function must(node, status, method, p, body, opts) {
  const r = await node.api(method, p, body, opts);
  assert(r.status === status, `${method} ${p} -> ${r.status}, not ${status}: ${JSON.stringify(r.body).slice(0, 600)}`);
  return r.body;
}

/// The checks every page gets (as in pipelines_test.mjs).
async function inspect(page, name, { expect = NAV } = {}) {
  await page.waitForLoadState('networkidle', { timeout: 2000 }).catch(() => {});
  const shot = await screenshot(page, name);
  t.soft(`${name}: console`, page.takeProblems());
  const bad = await axeCheck(page, name);
  t.soft(`${name}: axe`, bad.map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target).join(', ')})`));
  t.soft(`${name}: width`, await horizontalScrollCheck(page));
  const kb = await keyboardCheck(page, { expect, max: 160 });
  t.soft(`${name}: keyboard`, kb.problems);
  console.log(`    ${name}: ${path.basename(shot)}, axe ${bad.length} serious/critical, Tab reached ${kb.seen.length} controls`);
}

/// Starts the test channel's server on a free port; its URL.
async function serveChannel(folder) {
  const proc = spawn(PYTHON, [path.join(REPO, 'tests/content/channel_server.py'), '--folder', folder, '--port', '0'],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let exited = null;
  proc.stdout.on('data', (d) => { out += d; });
  proc.stderr.on('data', (d) => { err += d; });
  proc.on('exit', (code) => { exited = code; });
  onCleanup(async () => {
    if (exited !== null) return;
    proc.kill('SIGTERM');
    await waitUntil(() => exited !== null, { timeout: 5000, what: 'the channel server to stop' }).catch(() => proc.kill('SIGKILL'));
  });
  const m = await waitUntil(() => {
    if (exited !== null) throw new Error(`the channel server exited ${exited}: ${err}`);
    return out.match(/http:\/\/127\.0\.0\.1:\d+\/?/);
  }, { timeout: 15000, what: "the channel server's URL" });
  return m[0];
}

await t.main(async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'omniva-clips-channel-'));
  onCleanup(() => { if (!process.env.OMNIVA_KEEP_TMP) fs.rmSync(tmp, { recursive: true, force: true }); });
  const channel = path.join(tmp, 'channel');

  await t.step('make a test channel: two 6-second videos (media.py)', async () => {
    const r = spawnSync(PYTHON, [path.join(REPO, 'tests/content/media.py'), '--out', channel, '--videos', '2', '--seconds', '6'],
      { encoding: 'utf8', timeout: 60000 });
    assert(r.status === 0, `media.py exited ${r.status}: ${r.stderr}`);
    const mp4 = fs.readdirSync(channel).filter((f) => f.endsWith('.mp4'));
    assert(mp4.length === 2, `media.py made ${mp4.length} videos: ${fs.readdirSync(channel)}`);
  });
  const channelUrl = await t.step('serve it (channel_server.py)', () => serveChannel(channel));
  const node = await t.step('start omniva serve (the repository\'s modules, real mode)', () => startNode({ name: 'omniva-clips-' }));
  const browser = await t.step('launch chromium (playwright-core)', () => launchBrowser());
  const page = await newPage(browser, node, { name: 'admin' });
  t.usePage(page);

  await t.step('log in', async () => {
    await page.goto('/');
    await page.getByLabel('API token').fill(node.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
  });

  let runId;
  await t.step('start clips@1 on the channel and open its run page', async () => {
    const stamp = '2024-05-01T00:00:00Z';
    const job = {
      job_id: '6f1c1d7e-3a2b-4c5d-8e9f-0a1b2c3d4e5f', creator_id: '1f1c1d7e-3a2b-4c5d-8e9f-0a1b2c3d4e5f',
      platform: 'other', target_url: channelUrl,
      requested_range: { since: '2023-01-01T00:00:00Z', until: '2025-12-31T23:59:59Z' },
      status: 'PENDING', created_at: stamp, updated_at: stamp,
    };
    const run = await must(node, 201, 'POST', `/api/pipelines/${encodeURIComponent('clips@1')}/runs`, { values: { job } });
    runId = run.run_id;
    await page.evaluate((h) => { location.hash = h; }, `#/runs/${runId}`);
    await page.getByRole('heading', { name: `Run ${runId.slice(0, 8)}` }).waitFor();
  });

  await t.step('the page follows the run to DONE without a reload, clips appearing', async () => {
    await page.evaluate(() => { window.__omnivaNoReload = true; });
    // the section appears as soon as the contracts are read: the editor step makes clips
    await page.getByRole('heading', { name: /^Clips \(\d+ of \d+ made\)$/ }).waitFor({ timeout: 20000 });
    const ended = await waitUntil(async () => (await page.locator('.run-status').textContent()).match(/DONE|FAILED|CANCELLED/),
      { timeout: 360000, interval: 500, what: 'the run page to show the run ended' }).catch((e) => e);
    if (!Array.isArray(ended) || ended[0] !== 'DONE') {
      const r = await node.api('GET', `/api/runs/${runId}`);
      throw new Error(`${ended instanceof Error ? ended.message : 'the run ended ' + ended[0]}\nthe run: ${JSON.stringify(r.body).slice(0, 3000)}\n--- node log ---\n${node.log().slice(-4000)}`);
    }
    assert(await page.evaluate(() => window.__omnivaNoReload === true), 'the run page was reloaded');
  });

  // The node's own records: what the page must show.
  let clips; // [{task, candidate, clipId, branch, parent, report, verdict, rows}]
  await t.step('the node: the run DONE, every video analysed, each branch\'s clips with their candidates and reports', async () => {
    const run = await must(node, 200, 'GET', `/api/runs/${runId}`);
    assert(run.status === 'DONE' && run.missing.length === 0, `the run: ${run.status}, missing ${JSON.stringify(run.missing)}`);
    const edits = run.task_ids.filter((x) => x.step === 'edit');
    assert(run.task_ids.filter((x) => x.step === 'analyze').length === 2, 'not two analyze tasks');
    assert(edits.length >= 2 && Array.isArray(run.outputs.clips) && run.outputs.clips.length === edits.length,
      `edit tasks ${edits.length}, clips ${JSON.stringify(run.outputs.clips)}`);
    const history = (await must(node, 200, 'GET', `/api/lineage/${runId}?limit=1000`)).history;
    const decisions = Object.fromEntries(history.filter((p) => p.kind === 'decision.zenith' && p.payload.step === 'edit')
      .map((p) => [p.payload.branch, p.payload]));
    clips = [];
    for (const e of edits) {
      const task = await must(node, 200, 'GET', `/api/tasks/${e.task_id}`);
      const candidate = (await must(node, 200, 'GET', `/api/assets/${task.input_mapping.candidate}`)).value;
      const parent = e.branch.split('/')[0];
      const d = decisions[parent];
      assert(d && d.report_asset, `no fan-out decision with a report for branch ${parent}`);
      // the report, as the asset the advice names
      const report = await must(node, 200, 'GET', `/api/assets/${d.report_asset}/content`);
      const idx = d.kept[d.promoted.indexOf(candidate.clip_id)];
      assert(idx !== undefined, `clip ${candidate.clip_id} is not among the promoted of branch ${parent}`);
      clips.push({
        task, candidate, clipId: task.outputs.clip, branch: e.branch, parent,
        verdict: report.candidates.find((c) => c.candidate === idx),
        rows: report.rows.filter((r) => r.candidate === idx),
      });
    }
    assert(new Set(clips.map((c) => c.parent)).size === 2, `the clips come from ${new Set(clips.map((c) => c.parent)).size} videos, not 2`);
  });

  await t.step('one group per video and one player per clip, each loading its metadata with the candidate\'s duration', async () => {
    const section = page.locator('section.run-clips');
    await waitUntil(async () => (await section.locator('video').count()) === clips.length,
      { what: `${clips.length} players`, timeout: 20000 });
    assert(await section.getByRole('heading', { name: `Clips (${clips.length} of ${clips.length} made)` }).count() === 1, 'the section heading\'s count');
    assert(await section.locator('section.run-clip-group').count() === 2, 'not two video groups');
    for (const c of clips) {
      const group = section.locator(`section.run-clip-group[data-branch="${c.parent}"]`);
      const card = group.locator(`article.run-clip[data-task="${c.task.task_id}"]`);
      await card.waitFor();
      assert(await card.getAttribute('data-clip') === c.clipId, `clip ${c.branch}: the card names ${await card.getAttribute('data-clip')}, not ${c.clipId}`);
      const video = card.locator('video');
      assert(await video.count() === 1, `clip ${c.branch} has ${await video.count()} players`);
      const src = await video.getAttribute('src');
      assert(src === `/api/assets/${c.clipId}/content`, `clip ${c.branch}: the player's src is ${src}`);
      const want = c.candidate.end_time - c.candidate.start_time;
      const m = await waitUntil(() => video.evaluate((v) => (v.readyState >= 1 ? { d: v.duration, w: v.videoWidth, h: v.videoHeight } : v.error ? { error: v.error.code } : null)),
        { what: `clip ${c.branch}'s metadata`, timeout: 15000 });
      assert(!m.error, `clip ${c.branch}: the player failed (MediaError ${m.error})`);
      assert(Math.abs(m.d - want) <= 0.25, `clip ${c.branch}: the player lasts ${m.d} s, the candidate ${want} s`);
      assert(m.w === 1080 && m.h === 1920, `clip ${c.branch}: the player is ${m.w}x${m.h}, not 1080x1920`);
      const label = await video.getAttribute('aria-label');
      assert(/^Clip \d+ of Branch \d+, /.test(label || ''), `clip ${c.branch}: the player's label "${label}"`);
    }
  });

  await t.step('a clip plays: its time advances and its frame is not black', async () => {
    const video = page.locator(`article.run-clip[data-task="${clips[0].task.task_id}"] video`);
    const r = await video.evaluate(async (v) => {
      v.muted = true;
      await v.play();
      const t0 = performance.now();
      while (v.currentTime < 0.2 && performance.now() - t0 < 8000) await new Promise((res) => setTimeout(res, 50));
      v.pause();
      const c = document.createElement('canvas');
      c.width = 54; c.height = 96;
      const g = c.getContext('2d');
      g.drawImage(v, 0, 0, c.width, c.height);
      const d = g.getImageData(0, 0, c.width, c.height).data;
      let sum = 0;
      for (let i = 0; i < d.length; i += 4) sum += d[i] + d[i + 1] + d[i + 2];
      return { time: v.currentTime, mean: sum / (d.length / 4) / 3 };
    });
    assert(r.time >= 0.2, `the clip did not play: currentTime ${r.time}`);
    assert(r.mean > 10, `the clip's frame is black (mean ${r.mean.toFixed(1)})`);
  });

  await t.step('each clip shows its range, its candidate\'s scores and the three personas\' votes from the report', async () => {
    for (const c of clips) {
      const card = page.locator(`article.run-clip[data-task="${c.task.task_id}"]`);
      const text = (await card.textContent()).replace(/\s+/g, ' ');
      const cand = c.candidate;
      const range = `${cand.start_time.toFixed(2)} s to ${cand.end_time.toFixed(2)} s (${(cand.end_time - cand.start_time).toFixed(2)} s)`;
      assert(text.includes(range), `clip ${c.branch}: no "${range}" in ${text.slice(0, 400)}`);
      assert(shows(text, 'Confidence', cand.confidence.toFixed(2)), `clip ${c.branch}: the confidence ${cand.confidence}`);
      assert(shows(text, 'Lattice priority', cand.lattice_priority.toFixed(3)), `clip ${c.branch}: the Lattice priority ${cand.lattice_priority}`);
      assert(shows(text, 'Faces', cand.faces_detected), `clip ${c.branch}: the faces ${cand.faces_detected}`);
      for (const tag of cand.semantic_tags.slice(0, 3)) assert(text.includes(tag), `clip ${c.branch}: the tag ${tag}`);
      assert(shows(text, 'Consensus', c.verdict.consensus.toFixed(3)) && text.includes(`dissenter ${c.verdict.dissenter}`),
        `clip ${c.branch}: the consensus ${c.verdict.consensus} and dissenter ${c.verdict.dissenter} in ${text.slice(0, 600)}`);
      const table = card.getByRole('table', { name: /^Pantheon's votes on clip \d+ of Branch \d+$/ });
      const rows = await table.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => ({
        agent: tr.dataset.agent, cells: Array.from(tr.children).map((x) => x.textContent.replace(/\s+/g, ' ').trim()) })));
      assert(JSON.stringify(rows.map((r) => r.agent)) === JSON.stringify(PERSONAS), `clip ${c.branch}: the personas ${JSON.stringify(rows.map((r) => r.agent))}`);
      for (const r of rows) {
        const want = c.rows.find((x) => x.agent === r.agent);
        assert(want, `clip ${c.branch}: the report has no row for ${r.agent}`);
        assert(r.cells[1] === cand.pantheon_votes[r.agent].toFixed(3), `clip ${c.branch} ${r.agent}: vote "${r.cells[1]}", not ${cand.pantheon_votes[r.agent]}`);
        assert(r.cells[2] === want.confidence.toFixed(3), `clip ${c.branch} ${r.agent}: confidence "${r.cells[2]}", not ${want.confidence}`);
        assert(r.cells[3] === want.commentary, `clip ${c.branch} ${r.agent}: commentary "${r.cells[3]}"`);
        assert(/dissents/.test(r.cells[0]) === (r.agent === c.verdict.dissenter), `clip ${c.branch} ${r.agent}: the dissenter mark`);
      }
    }
    await screenshot(page, 'run-clips-full', { fullPage: true });
    await page.locator('#run-clips-title').scrollIntoViewIfNeeded();
    await screenshot(page, 'run-clips');
    await inspect(page, 'run-clips-page', { expect: [...NAV, /^Clip 1 of Branch 0, /, /^Clip 2 of Branch 1, /, /^Pantheon's report for Branch 1/] });
  });

  await t.step('a fresh load reads each clip\'s task and candidate once and the run\'s packets once', async () => {
    const seen = [];
    const on = (req) => { if (new URL(req.url()).pathname.startsWith('/api/')) seen.push(`${req.method()} ${new URL(req.url()).pathname}`); };
    page.on('request', on);
    await page.reload();
    await waitUntil(async () => (await page.locator('section.run-clips video').count()) === clips.length, { what: 'the players after a reload' });
    await page.waitForLoadState('networkidle', { timeout: 5000 }).catch(() => {});
    await page.waitForTimeout(500);
    page.off('request', on);
    const count = (re) => seen.filter((s) => re.test(s)).length;
    const tasks = count(/^GET \/api\/tasks\/[^/]+$/);
    const records = count(/^GET \/api\/assets\/[^/]+$/);
    const lineage = count(/^GET \/api\/lineage\//);
    assert(tasks === clips.length, `${tasks} task reads for ${clips.length} clips: ${seen.join(', ')}`);
    assert(records === clips.length, `${records} asset record reads for ${clips.length} clips: ${seen.join(', ')}`);
    assert(lineage === 1, `${lineage} lineage reads: ${seen.join(', ')}`);
    console.log(`    ${seen.length} API requests for ${clips.length} clips`);
  });

  t.soft('admin page', page.takeProblems());
  await t.step('the node stops cleanly', async () => {
    const r = await node.stop();
    assert(r.code === 0, `omniva serve exited ${JSON.stringify(r)}\n${node.log().slice(-3000)}`);
  });
});
