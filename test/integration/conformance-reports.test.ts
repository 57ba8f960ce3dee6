/**
 * The conformance kit's reports as a developer meets them: the console when a client crashes on
 * start (its exit code and stderr once, the command that re-runs each case, colour only when asked
 * for), the matrix of several clients run by the CLI as a process (verdict cells, a JUnit file per
 * client, links that resolve), and the HTML reports, single and matrix, opened in headless Chromium
 * (lanes, error codes printed, the client's lanes, no empty chart). Screenshots go to
 * test-results/conformance-reports/ (look at them: that is what a developer sees).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectCases } from '../../conformance/cases.js';
import { htmlReport, timelineOf } from '../../conformance/html-report.js';
import { runCatalogue, scenarioCase } from '../../conformance/runner.js';
import { loadScenario } from '../../scenarios/loader.js';
import { renderTimeline } from '../../server/ui/timeline.js';
import { runCli } from '../support/cli.js';

const SHOTS = fileURLToPath(new URL('../../test-results/conformance-reports/', import.meta.url));
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'];
const node = (client: string) => `${JSON.stringify(process.execPath)} conformance/clients/${client}`;
const count = (text: string, part: string) => text.split(part).length - 1;

const temps: string[] = [];
const temp = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
};

let browser: Browser;
beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
});
afterAll(async () => {
  await browser?.close();
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

async function open(file: string, width = 1100): Promise<Page> {
  const page = await browser.newPage({ viewport: { width, height: 900 } });
  await page.goto(pathToFileURL(file).href);
  return page;
}

/** Every chart on the page draws something: a span, an engagement period, a quality line, a segment or an error. */
async function emptyCharts(page: Page): Promise<number> {
  return page.$$eval('svg.timeline', (svgs) => svgs.filter((svg) => svg.querySelector('g.lane rect:not(.lane-bg), polyline.quality, g.error-marker, g.segment') === null).length);
}

/** Every relative href of a page (file and anchor) resolves: the file exists, and the anchor is an id in it. */
function brokenLinks(file: string): string[] {
  const html = readFileSync(file, 'utf8');
  return [...html.matchAll(/href="([^"#]*)(?:#([^"]*))?"/g)].flatMap(([, path, anchor]) => {
    const target = path ? resolve(dirname(file), decodeURIComponent(path!)) : file;
    if (!existsSync(target)) return [`${path} (no such file)`];
    if (anchor && !readFileSync(target, 'utf8').includes(`id="${anchor}"`)) return [`${path}#${anchor} (no such anchor)`];
    return [];
  });
}

describe('the console', () => {
  it('a client that dies on a syntax error: its exit code and stderr once, and the command that re-runs each case', async () => {
    const dir = temp('ih-mock-crash-');
    const client = join(dir, 'crashes.mjs');
    writeFileSync(client, 'console.log("starting");\nconst broken = ;\n');
    const command = `${JSON.stringify(process.execPath)} ${client}`;
    const run = await runCli(['conformance', '--client', command, '--cases', '1.1,2.1,8.1']);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^1\.1 +FAILED +Handshake and a whole session/m);
    expect(count(run.stdout, 'the client exited with code 1 without opening a stream session')).toBe(2);
    expect(count(run.stdout, 'the client exited with code 1 without uploading')).toBe(1);
    // The stderr tail, once, under the case that finished first (cases run side by side), then a
    // reference to that case under the other two.
    expect(count(run.stdout, 'the client exited with code 1; its stderr ends with:')).toBe(1);
    expect(count(run.stdout, 'SyntaxError: Unexpected token')).toBe(1);
    const references = [...run.stdout.matchAll(/the client exited with code 1, with the same stderr as in case (\d+\.\d+)/g)].map((m) => m[1]!);
    expect(references).toHaveLength(2);
    const shownIn = references[0]!;
    expect(references).toEqual([shownIn, shownIn]);
    // Where a case's verdict line starts, and its block (up to its re-run line).
    const at = (id: string) => run.stdout.search(new RegExp(`^${id.replace('.', '\\.')} +FAILED`, 'm'));
    expect(run.stdout.slice(at(shownIn), run.stdout.indexOf('re-run:', at(shownIn)))).toContain('SyntaxError: Unexpected token');
    for (const id of ['1.1', '2.1', '8.1'].filter((id) => id !== shownIn)) expect(at(id)).toBeGreaterThan(at(shownIn));
    for (const id of ['1.1', '2.1', '8.1']) expect(run.stdout).toContain(`re-run: npx ih-mock conformance --client '${command}' --cases ${id}\n`);
    expect(run.stdout).toMatch(/3 cases in [\d.]+ s: 0 OK, 0 NON-STRICT, 3 FAILED, 0 INFORMATIONAL/);
    expect(run.stdout).not.toContain('\x1b[');
  }, 60_000);

  it('colours verdicts with FORCE_COLOR, never with NO_COLOR', async () => {
    const dir = temp('ih-mock-colour-');
    const client = join(dir, 'crashes.mjs');
    writeFileSync(client, 'process.exit(3);\n');
    const args = ['conformance', '--client', `${JSON.stringify(process.execPath)} ${client}`, '--cases', '2.1'];
    const coloured = await runCli(args, { FORCE_COLOR: '1', NO_COLOR: '' });
    expect(coloured.stdout).toContain('\x1b[31m\x1b[1mFAILED\x1b[0m');
    expect(coloured.stdout).toContain('the client exited with code 3; its stderr was empty');
    const plain = await runCli(args, { FORCE_COLOR: '1', NO_COLOR: '1' });
    expect(plain.stdout).toMatch(/^2\.1 +FAILED/m);
    expect(plain.stdout).not.toContain('\x1b[');
  }, 60_000);
});

describe('the matrix of clients', () => {
  it('runs every client through the CLI into one report: verdict cells, a JUnit file per client, links that resolve, and Chromium shows it', async () => {
    const dir = temp('ih-mock-matrix-');
    const reportDir = join(dir, 'report');
    const clientsFile = join(dir, 'clients.yaml');
    writeFileSync(clientsFile, ['- name: minimal (Python)', '  command: /usr/bin/python3 conformance/clients/minimal.py', '- name: no implicit end', `  command: ${JSON.stringify(node('broken-no-implicit-end.mjs'))}`, '  transport: stream', ''].join('\n'));
    const clients = ['reference.mjs', 'minimal.mjs', 'broken-ignores-size-limit.mjs', 'broken-upload-signal-type.mjs'].flatMap((c) => ['--client', node(c)]);
    const run = await runCli(['conformance', ...clients, '--clients', clientsFile, '--cases', '3.1,4.4,8.1', '--report-dir', reportDir]);
    expect(run.code).toBe(1);

    const names = ['reference.mjs', 'minimal.mjs', 'broken-ignores-size-limit.mjs', 'broken-upload-signal-type.mjs', 'minimal (Python)', 'no implicit end'];
    const expected: Record<string, (string | null)[]> = {
      '3.1': ['OK', 'OK', 'FAILED', 'OK', 'OK', 'OK'],
      '4.4': ['OK', 'OK', 'OK', 'OK', 'OK', 'FAILED'],
      '8.1': ['OK', 'OK', 'OK', 'FAILED', 'OK', null], // the last one streams only
    };
    const matrix = JSON.parse(readFileSync(join(reportDir, 'matrix.json'), 'utf8')) as { clients: { name: string; report: string; junit: string }[]; cases: { id: string; verdicts: Record<string, string | null> }[] };
    expect(matrix.clients.map((c) => c.name)).toEqual(names);
    expect(Object.fromEntries(matrix.cases.map((k) => [k.id, names.map((n) => k.verdicts[n])]))).toEqual(expected);

    // The console shows the same matrix.
    for (const [id, verdicts] of Object.entries(expected)) {
      const row = run.stdout.split('\n').find((l) => l.startsWith(`${id} `))!;
      expect(row.trim().split(/\s{2,}/).slice(2)).toEqual(verdicts.map((v) => v ?? '—'));
    }

    // A JUnit file per client, its failures the FAILED cells.
    for (const [i, client] of matrix.clients.entries()) {
      const junit = readFileSync(join(reportDir, client.junit), 'utf8');
      const failed = Object.values(expected).filter((v) => v[i] === 'FAILED').length;
      const ran = Object.values(expected).filter((v) => v[i] !== null).length;
      expect(junit).toMatch(new RegExp(`<testsuite name="ih-mock conformance: [^"]*" tests="${ran}" failures="${failed}"`));
    }
    // Every link resolves: the matrix to each case of each client's report, each report to its kept recordings.
    expect(brokenLinks(join(reportDir, 'index.html'))).toEqual([]);
    for (const client of matrix.clients) expect(brokenLinks(join(reportDir, client.report))).toEqual([]);
    expect(readFileSync(join(reportDir, 'no-implicit-end', 'report.html'), 'utf8')).toContain('href="recordings/4.4.wire.jsonl"');
    expect(existsSync(join(reportDir, 'reference.mjs', 'recordings'))).toBe(false); // nothing FAILED, nothing kept

    const page = await open(join(reportDir, 'index.html'), 1400);
    await page.screenshot({ path: join(SHOTS, 'matrix.png'), fullPage: true });
    const cells = await page.$$eval('table.matrix tbody tr', (rows) => rows.map((r) => Array.from(r.querySelectorAll('td')).slice(2).map((td) => td.textContent)));
    expect(cells).toEqual(Object.values(expected).map((v) => v.map((x) => x ?? '—')));
    // A FAILED cell opens that case in that client's report.
    await page.click('table.matrix tbody tr:nth-child(2) td:nth-child(8) a');
    await page.waitForURL(/no-implicit-end\/report\.html#case-4\.4$/);
    expect(await page.locator('[id="case-4.4"] .verdict').first().textContent()).toBe('FAILED');
    expect(await page.locator('[id="case-4.4"] g.lane-client.differs').count()).toBe(1);
    await page.screenshot({ path: join(SHOTS, 'matrix-client-report.png'), fullPage: true });
    await page.close();
  }, 180_000);
});

describe('the HTML report in Chromium', () => {
  it('shows lanes, printed error codes, the client\'s lanes under the server\'s, no empty chart; the renderer runs in the page as is', async () => {
    const dir = temp('ih-mock-html-');
    const file = join(dir, 'report.html');
    // A scenario whose server sheds two windows, for the dropped ranges.
    const drops = scenarioCase('D1', { ...loadScenario('steady'), name: 'drops', processing: { timing: 'instant' }, faults: [{ when: { media_seconds: 6 }, action: 'drop_windows', windows: 2 }] });
    const result = await runCatalogue([...selectCases(['4.4', '5.1']), drops], { client: { command: node('broken-no-implicit-end.mjs') }, keepFailedRecordings: join(dir, 'recordings') });
    expect(result.results.map((r) => r.verdict)).toEqual(['FAILED', 'OK', 'OK']);
    writeFileSync(file, htmlReport(result, 'ih-mock conformance: broken-no-implicit-end.mjs', { reportDir: dir, client: node('broken-no-implicit-end.mjs') }));
    const page = await open(file);
    await page.screenshot({ path: join(SHOTS, 'report.png'), fullPage: true });
    await page.locator('[id="case-4.4"] svg.timeline').screenshot({ path: join(SHOTS, 'report-4.4-timeline.png') });
    await page.locator('[id="case-5.1"] svg.timeline').screenshot({ path: join(SHOTS, 'report-5.1-timeline.png') });
    await page.locator('[id="case-D1"] svg.timeline').screenshot({ path: join(SHOTS, 'report-dropped-timeline.png') });

    expect(await emptyCharts(page)).toBe(0);
    expect(await page.locator('svg.timeline').count()).toBe(3);
    // Server lanes: a lane per signal type, engagement, the quality the reference client asks for, the client's segments.
    for (const id of ['4.4', '5.1', 'D1']) {
      const chart = page.locator(`[id="case-${id}"] svg.timeline`);
      expect(await chart.locator('g.lane-signal').count()).toBeGreaterThan(0);
      expect(await chart.locator('g.lane-segments').count()).toBe(1);
      expect(await chart.locator('g.lane-client').count()).toBeGreaterThan(0);
    }
    expect(await page.locator('[id="case-5.1"] g.lane-quality text.scale').allTextContents()).toEqual(['0', '50', '100']);
    expect(await page.locator('[id="case-D1"] rect.dropped').count()).toBeGreaterThan(0);
    // The error code is printed where the error is, visible without hovering; the client surfaced it.
    await expect(page.locator('[id="case-5.1"] g.error-marker text', { hasText: 'ih5004' }).isVisible()).resolves.toBe(true);
    await expect(page.locator('[id="case-5.1"] g.client-error.surfaced text', { hasText: 'ih5004' }).isVisible()).resolves.toBe(true);
    // 4.4: the client never ends the span the disconnect left open; its lane says so, and the list under the chart.
    expect(await page.locator('[id="case-4.4"] g.lane-client.differs text.lane-label').textContent()).toMatch(/^≠ agreement/);
    expect(await page.locator('[id="case-4.4"] g.lane-client.differs text.span-text').allTextContents()).toEqual(expect.arrayContaining(['no end']));
    expect(await page.locator('[id="case-4.4"] ul.diff li').allTextContents()).toEqual(expect.arrayContaining([expect.stringMatching(/^the client has agreement \[0, open\)/)]));
    // The FAILED case's recording is kept and linked.
    const href = await page.locator('[id="case-4.4"] a[href$=".wire.jsonl"]').getAttribute('href');
    expect(readFileSync(join(dir, href!), 'utf8')).toMatch(/"kind":"ws.open"/);
    expect(brokenLinks(file)).toEqual([]);

    // The renderer module runs in the browser unchanged (as the dashboard loads it) and draws what Node draws.
    const source = readFileSync(new URL('../../server/ui/timeline.js', import.meta.url), 'utf8');
    const data = timelineOf(result.results[1]!.traces[0]!);
    // (A string, so that vitest leaves its dynamic import alone.)
    const inBrowser = await page.evaluate(`(async () => {
      const url = URL.createObjectURL(new Blob([${JSON.stringify(source)}], { type: 'text/javascript' }));
      const timeline = await import(url);
      return timeline.renderTimeline(${JSON.stringify(data)});
    })()`);
    expect(inBrowser).toBe(renderTimeline(data));
    await page.close();
  }, 120_000);
});
