/**
 * The live dashboard (/__ih/ui/, docs/control-plane.md#the-dashboard) in headless Chromium, against
 * real clients streaming real media (ffmpeg-made MP4 segments) over real sockets: it lists the
 * running session, its timeline (drawn by server/ui/timeline.js, the HTML report's renderer) gains
 * lanes as the events arrive, an upload appears in the uploads list, and the inject forms end the
 * client's session (ih3003 with a close; a disconnect). On a server that needs the admin token, the
 * page asks for it, or takes it from its address's fragment and sends it as X-IH-Admin-Token.
 *
 * Every step waits on an event: the client's frames, the journal's wait route, or a selector in the
 * page; never a sleep. Screenshots go to test-results/dashboard/ and are attached to the test
 * output; with IH_DOCS_SCREENSHOTS=1 (`npm run docs:screenshots`) the live one is also written to
 * docs/images/dashboard.png for the README.
 */
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { waitEntry } from '../support/admin.js';
import { connect, type TestClient } from '../support/client.js';
import { readMedia } from '../support/media.js';
import { mp4Segments } from '../support/segments.js';
import { startServer, useServers } from '../support/server.js';
import { upload } from '../support/upload.js';

useServers();

const SHOTS = fileURLToPath(new URL('../../test-results/dashboard/', import.meta.url));
const DOCS_SHOT = fileURLToPath(new URL('../../docs/images/dashboard.png', import.meta.url));
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'];
const TOKEN = 'dashboard-admin-secret';

let browser: Browser;
let segments: Buffer[];
beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  segments = (await mp4Segments(16, 4)).map((path) => readFileSync(path));
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
});
afterAll(async () => {
  await browser?.close();
});

/** A page on the dashboard; its console errors and uncaught exceptions fail the test at `expectNoPageErrors`. */
async function openDashboard(url: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1500, height: 950 } });
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  await page.goto(url);
  return { page, errors };
}

/** The labels of the selected session's timeline lanes, top to bottom. */
const lanes = (page: Page) => page.$$eval('#timeline svg.timeline g.lane > text.lane-label', (labels) => labels.map((l) => l.childNodes[0]?.textContent ?? ''));

const row = (id: string, state?: string) => `#sessions tr[data-session-id="${id}"]${state ? `[data-state="${state}"]` : ''}`;

/** Send segment number `index` (1-based) and wait until the journal has it: the server received it. */
async function sendSegment(base: string, client: TestClient, id: string, segment: Buffer, index: number, call = {}): Promise<void> {
  await client.sendBinary(segment);
  for (let since = 0; ; ) {
    const { entry, next } = await waitEntry(base, `session=${id}&direction=in&type=binary&timeout_ms=20000&since=${since}`, call);
    if (entry.segment === index) return;
    since = next;
  }
}

async function shot(page: Page, name: string, annotate: TestContext['annotate'], docs = false): Promise<void> {
  const path = join(SHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  await annotate(`dashboard screenshot: ${name}`, { path, contentType: 'image/png' });
  if (docs && process.env['IH_DOCS_SCREENSHOTS'] === '1') {
    mkdirSync(dirname(DOCS_SHOT), { recursive: true });
    copyFileSync(path, DOCS_SHOT);
  }
}

describe('the live dashboard in headless Chromium', () => {
  it('lists a live session, draws its timeline lane by lane as events arrive, lists an upload, and its ih3003 form ends the client\'s session', { timeout: 120_000 }, async ({ annotate }) => {
    const server = await startServer({ scenario: 'steady', timing: 'instant' });
    const base = server.baseUrl;
    const { page, errors } = await openDashboard(`${base}/__ih/ui`);
    await page.waitForSelector('#live[data-live="true"]');
    expect(await page.locator('#status').textContent()).toContain('start-up scenario steady');
    expect(await page.locator('#sessions tbody tr').count()).toBe(0);

    // A real client opens a session: the list shows it live, open.
    const client = await connect(server.streamUrl);
    const ready = await client.waitForType('session.ready');
    const id: string = ready.correlation_id;
    await page.waitForSelector(row(id, 'open'));
    expect(await page.locator(`${row(id)} td`).nth(2).textContent()).toBe('steady');

    // Selected: an empty timeline (nothing on the media-time axis yet), and the frames log so far.
    await page.click(row(id));
    await page.waitForSelector('#timeline svg.timeline');
    expect(await lanes(page)).toEqual([]);
    expect(await page.locator('#timeline').textContent()).toContain('nothing on the media-time axis yet');
    await page.waitForSelector('#frames tr[data-type="session.ready"]');

    // 8 s of media: agreement (0-20 s) and engagement arrive; hesitation (from 12 s) cannot have yet.
    await sendSegment(base, client, id, segments[0]!, 1);
    await sendSegment(base, client, id, segments[1]!, 2);
    const { entry: agreement } = await waitEntry(base, `session=${id}&direction=out&type=signal.detected&signal_type=agreement&timeout_ms=20000`);
    await page.waitForSelector(`#frames tr[data-seq="${agreement.seq}"]`);
    await page.waitForFunction((seq) => Number(document.querySelector<HTMLElement>('#timeline')?.dataset['seq']) >= seq, agreement.seq);
    const early = await lanes(page);
    expect(early).toContain('agreement');
    expect(early).toContain('client segments');
    expect(early).not.toContain('hesitation');
    expect(await page.locator('#timeline g.lane-segments g.segment').count()).toBe(2);
    // The counters follow (binary messages: 2).
    await page.waitForFunction((sel) => document.querySelector(sel)?.querySelectorAll('td')[4]?.textContent === '2', row(id));

    // 16 s: hesitation is detected, and its lane appears.
    await sendSegment(base, client, id, segments[2]!, 3);
    await sendSegment(base, client, id, segments[3]!, 4);
    const { entry: hesitation } = await waitEntry(base, `session=${id}&direction=out&type=signal.detected&signal_type=hesitation&timeout_ms=20000`);
    await page.waitForFunction((seq) => Number(document.querySelector<HTMLElement>('#timeline')?.dataset['seq']) >= seq, hesitation.seq);
    const later = await lanes(page);
    expect(later.filter((l) => !early.includes(l))).toEqual(['hesitation']);
    expect(later.length).toBe(early.length + 1);
    expect(await page.locator('#timeline g.lane-segments g.segment').count()).toBe(4);
    // Every signal span drawn is a real bar with the renderer's probability colours.
    expect(await page.locator('#timeline g.lane-signal rect[fill="#08306b"]').count()).toBeGreaterThan(0);

    // An upload is listed as it is answered.
    const answer = await upload(base, await readMedia({ container: 'mp4', video: 'h264', audio: 'aac', seconds: 4 }));
    expect(answer.status).toBe(200);
    await page.waitForSelector('#uploads tbody tr[data-status="200"]');
    expect(await page.locator('#uploads tbody tr').count()).toBe(1);
    // Its analysis, drawn by the same renderer from the answer the journal kept.
    await page.click('#uploads tbody tr');
    await page.waitForSelector('#upload-timeline svg.timeline');
    const uploadLanes = await page.$$eval('#upload-timeline g.lane > text.lane-label', (labels) => labels.map((l) => l.childNodes[0]?.textContent ?? ''));
    const signalTypes = [...new Set((answer.body.signals as { type: string }[]).map((sig) => sig.type))].sort();
    expect(signalTypes).toContain('agreement');
    expect(uploadLanes).toEqual([...signalTypes, 'engagement']);
    await shot(page, 'live-session', annotate, true);

    // The error form: ih3003, then close. The client gets the error and the close 4029.
    await page.fill('form[data-action="error"] input[name="code"]', 'ih3003');
    await page.check('form[data-action="error"] input[name="close"]');
    await page.click('form[data-action="error"] button');
    const error = await client.waitForType('error');
    expect(error.data.code).toBe('ih3003');
    expect((await client.closed).code).toBe(4029);
    await page.waitForSelector(row(id, 'ended'));
    await page.waitForSelector('#inject-result:has-text("the session is ended")');
    // The error on the timeline, where the client's media had reached, and the forms disabled.
    await page.waitForSelector('#timeline g.error-marker');
    expect(await page.locator('#timeline g.lane-errors').textContent()).toContain('ih3003');
    await page.waitForSelector('#frames tr[data-type="session.ended"]');
    expect(await page.locator('#inject button:not([disabled])').count()).toBe(0);
    await shot(page, 'after-ih3003', annotate);

    expect(errors).toEqual([]);
    await page.close();
  });

  it('behind the admin token: asks for it, or takes it from #token= (then gone from the address) and sends it as a header; its disconnect button cuts the client off', { timeout: 120_000 }, async ({ annotate }) => {
    const server = await startServer({ host: '0.0.0.0', adminToken: TOKEN, scenario: 'steady', timing: 'instant' });
    const base = server.baseUrl.replace('0.0.0.0', '127.0.0.1');
    const client = await connect(server.streamUrl.replace('0.0.0.0', '127.0.0.1'));
    const id: string = (await client.waitForType('session.ready')).correlation_id;
    await sendSegment(base, client, id, segments[0]!, 1, { token: TOKEN });

    // Without the token: the page loads (it holds no data), the admin API refuses it, the page asks.
    const bare = await openDashboard(`${base}/__ih/ui/`);
    await bare.page.waitForSelector('#token-form:not([hidden])');
    expect(await bare.page.locator('#problem').textContent()).toContain('ihm2002');
    expect(await bare.page.locator('#sessions tbody tr').count()).toBe(0);
    // Typing it in: the page reloads and lists the session.
    await bare.page.fill('#token-input', TOKEN);
    await bare.page.click('#token-form button');
    await bare.page.waitForSelector(row(id, 'open'));
    await bare.page.close();

    // From the fragment, with the session preselected: the token leaves the address bar at once.
    const { page, errors } = await openDashboard(`${base}/__ih/ui/#token=${TOKEN}&session=${id}`);
    await page.waitForSelector('#live[data-live="true"]');
    expect(page.url()).toBe(`${base}/__ih/ui/#session=${id}`);
    await page.waitForSelector(`${row(id, 'open')}[aria-selected="true"]`);
    await page.waitForFunction(() => document.querySelectorAll('#timeline g.lane-segments g.segment').length === 1);

    await page.click('form[data-action="disconnect"] button');
    expect((await client.closed).code).toBe(1006);
    await page.waitForSelector(row(id, 'ended'));
    await page.waitForSelector('#frames tr[data-type="disconnect"]');
    await shot(page, 'after-disconnect', annotate);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('with #test_id= lists and acts on one test\'s sessions only', { timeout: 60_000 }, async () => {
    const server = await startServer({ scenario: 'steady', timing: 'instant' });
    const open = async (testId: string) => {
      const client = await connect(`${server.streamUrl}?test_id=${testId}`);
      return { client, id: (await client.waitForType('session.ready')).correlation_id as string };
    };
    const mine = await open('checkout');
    const theirs = await open('search');
    const { page, errors } = await openDashboard(`${server.baseUrl}/__ih/ui/#test_id=checkout`);
    await page.waitForSelector('#live[data-live="true"]');
    await page.waitForSelector(row(mine.id, 'open'));
    expect(await page.locator('#status').textContent()).toContain('test checkout');
    // Sessions opened meanwhile: the other test's first, then this test's; once this one is listed, the other is not.
    const later = await open('search');
    const mineToo = await open('checkout');
    await page.waitForSelector(row(mineToo.id, 'open'));
    expect(await page.locator('#sessions tbody tr').evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset['sessionId']))).toEqual([mineToo.id, mine.id]);

    await page.click(row(mine.id));
    await page.click('form[data-action="disconnect"] button');
    expect((await mine.client.closed).code).toBe(1006);
    await page.waitForSelector(row(mine.id, 'ended'));
    for (const other of [theirs, later]) expect(other.client.ws.readyState).toBe(other.client.ws.OPEN);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('is served only as the admin API is: refused where the admin API is disabled, and only its own files', async () => {
    const disabled = await startServer({ host: '0.0.0.0' });
    const res = await fetch(`${disabled.baseUrl.replace('0.0.0.0', '127.0.0.1')}/__ih/ui/`);
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error_id: string }).error_id).toBe('ihm2003');

    const server = await startServer();
    const page = await fetch(`${server.baseUrl}/__ih/ui/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const renderer = await fetch(`${server.baseUrl}/__ih/ui/timeline.js`);
    expect(await renderer.text()).toBe(readFileSync(new URL('../../server/ui/timeline.js', import.meta.url), 'utf8'));
    for (const path of ['/__ih/ui/..%2F..%2Fpackage.json', '/__ih/ui/timeline.test.ts', '/__ih/ui/dashboard.html.map', '/__ih/ui/__proto__', '/__ih/ui/constructor']) {
      const other = await fetch(`${server.baseUrl}${path}`);
      expect(other.status, path).toBe(404);
      expect(((await other.json()) as { error_id: string }).error_id).toBe('ihm4005');
    }
  });
});
