/**
 * CORS as a browser meets it: a page served from another origin (another port of 127.0.0.1) calls
 * the token exchange and the upload from headless Chromium, preflights and all, the way a web app
 * calls the live API (docs/protocol.md, "Browsers on other origins"). What reached the server is
 * read from its own HTTP server's request events, not from the page.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { MockServer } from '../../server/app.js';
import { readMedia } from '../support/media.js';
import { startServer, useServers } from '../support/server.js';

useServers();

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', '--no-first-run', '--disable-background-networking'];

/**
 * The web app: token exchange, then upload with the token, as a page's script writes them. Returns
 * what the page could see (a blocked call rejects with a TypeError and shows nothing else).
 */
const APP_HTML = `<!doctype html><meta charset="utf-8"><title>app</title><script>
window.analyze = async (api, videoBase64) => {
  const seen = {};
  try {
    const auth = await fetch(api + '/v1/auth', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ key_id: 'key_1', key_secret: 's3cret', scopes: ['interhumanai.upload'] }),
    });
    seen.authStatus = auth.status;
    const token = (await auth.json()).access_token;
    const form = new FormData();
    const bytes = Uint8Array.from(atob(videoBase64), (c) => c.charCodeAt(0));
    form.append('file', new Blob([bytes], { type: 'video/webm' }), 'call.webm');
    form.append('include[]', 'conversation_quality_overall');
    const upload = await fetch(api + '/v1/upload/analyze', { method: 'POST', headers: { Authorization: 'Bearer ' + token, 'X-IH-Test-Id': 'cors-page' }, body: form });
    seen.uploadStatus = upload.status;
    seen.correlationHeader = upload.headers.get('X-Correlation-ID');
    seen.body = await upload.json();
  } catch (err) {
    seen.error = String(err);
  }
  return seen;
};
</script>`;

interface Seen {
  authStatus?: number;
  uploadStatus?: number;
  correlationHeader?: string | null;
  body?: { signals: unknown[]; conversation_quality?: { overall?: unknown } };
  error?: string;
}

let browser: Browser;
let video: string;
const pageServers: Server[] = [];

beforeAll(async () => {
  [browser, video] = await Promise.all([chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS }), readMedia({ container: 'webm', video: 'vp8', audio: 'opus', seconds: 4 }).then((b) => b.toString('base64'))]);
});
afterAll(async () => {
  await browser?.close();
});
afterEach(async () => {
  await Promise.all(pageServers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

/** Serve the app page from 127.0.0.1 on a port of its own: an origin other than the API's. */
async function serveApp(): Promise<string> {
  const server = createServer((req, res) => {
    if (req.url === '/app.html') res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(APP_HTML);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  pageServers.push(server);
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

/** Every request the emulator's HTTP server receives: method, path, Origin. */
function requestsSeen(server: MockServer): { method: string; path: string; origin: string | undefined }[] {
  const seen: { method: string; path: string; origin: string | undefined }[] = [];
  server.http.server.on('request', (req: IncomingMessage) => seen.push({ method: req.method!, path: req.url!.split('?')[0]!, origin: req.headers.origin }));
  return seen;
}

async function runApp(origin: string, api: string): Promise<Seen> {
  const page: Page = await browser.newPage();
  try {
    await page.goto(`${origin}/app.html`);
    return await page.evaluate(([a, v]) => (window as unknown as { analyze: (api: string, video: string) => Promise<Seen> }).analyze(a, v), [api, video] as const);
  } finally {
    await page.close();
  }
}

describe('CORS: a page on another origin calls the API from Chromium', { timeout: 60_000 }, () => {
  it('by default any origin may: the token exchange and the upload succeed after their preflights, and the page reads both answers', async () => {
    const server = await startServer({ processingRatio: 0 });
    const seen = requestsSeen(server);
    const origin = await serveApp();
    const result = await runApp(origin, server.baseUrl);
    expect(result.error).toBeUndefined();
    expect(result).toMatchObject({ authStatus: 200, uploadStatus: 200 });
    expect(result.body!.signals.length).toBeGreaterThan(0);
    expect(result.body!.conversation_quality?.overall).toBeDefined();
    // Our choice: no header exposed beyond the safelisted ones (the id is in every error body).
    expect(result.correlationHeader).toBeNull();
    // Both calls needed a preflight (JSON body; Authorization and X-IH-Test-Id headers), from the page's origin.
    expect(seen).toEqual([
      { method: 'OPTIONS', path: '/v1/auth', origin },
      { method: 'POST', path: '/v1/auth', origin },
      { method: 'OPTIONS', path: '/v1/upload/analyze', origin },
      { method: 'POST', path: '/v1/upload/analyze', origin },
    ]);
    // The preflights are no uploads or token exchanges: the journal has the two real calls only.
    const journal = await server.admin.journal({ kind: ['upload', 'auth'] });
    expect(journal.entries.map((e) => [e.kind, e.detail])).toEqual([
      ['auth', expect.objectContaining({ status: 200 })],
      ['upload', expect.objectContaining({ status: 200 })],
    ]);
    expect(journal.entries[1]!.test_id).toBe('cors-page');
    // Error answers carry the header too, so a page can read why it was refused.
    const refused = await fetch(`${server.baseUrl}/v1/upload/analyze`, { method: 'POST', headers: { Origin: origin } });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('--cors-origins narrower: the listed origin gets its own origin back; another origin\'s preflight is refused and its upload never sent', async () => {
    const [allowed, refused] = await Promise.all([serveApp(), serveApp()]);
    const server = await startServer({ processingRatio: 0, corsOrigins: [allowed] });
    const seen = requestsSeen(server);
    const ok = await runApp(allowed, server.baseUrl);
    expect(ok).toMatchObject({ authStatus: 200, uploadStatus: 200 });
    const blocked = await runApp(refused, server.baseUrl);
    expect(blocked.authStatus).toBeUndefined();
    expect(blocked.error).toMatch(/TypeError: Failed to fetch/);
    const fromRefused = seen.filter((r) => r.origin === refused);
    expect(fromRefused).toEqual([{ method: 'OPTIONS', path: '/v1/auth', origin: refused }]);

    // The answers themselves, as the browser got them.
    const preflight = (origin: string) => fetch(`${server.baseUrl}/v1/upload/analyze`, { method: 'OPTIONS', headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization,x-ih-test-id' } });
    const yes = await preflight(allowed);
    expect(yes.status).toBe(204);
    const cors: Record<string, string> = {};
    yes.headers.forEach((value, name) => {
      if (name.startsWith('access-control-') || name === 'vary') cors[name] = value;
    });
    expect(cors).toEqual({
      'access-control-allow-origin': allowed,
      'access-control-allow-methods': 'GET, HEAD, POST',
      'access-control-allow-headers': 'authorization,x-ih-test-id',
      'access-control-max-age': '600',
      vary: 'Origin',
    });
    const no = await preflight(refused);
    expect(no.status).toBe(403);
    expect(no.headers.get('access-control-allow-origin')).toBeNull();
    expect(await no.json()).toMatchObject({ error_id: 'ih4903', correlation_id: no.headers.get('x-correlation-id') });
  });

  it('the admin API never answers another origin, whatever --cors-origins says', async () => {
    const server = await startServer();
    const preflight = await fetch(`${server.baseUrl}/__ih/queue/sessions`, { method: 'OPTIONS', headers: { Origin: 'http://127.0.0.1:1', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' } });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    expect(preflight.ok).toBe(false);
    const read = await fetch(`${server.baseUrl}/__ih/journal`, { headers: { Origin: 'http://127.0.0.1:1' } });
    expect(read.headers.get('access-control-allow-origin')).toBeNull();
  });
});
