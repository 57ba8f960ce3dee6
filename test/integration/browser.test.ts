/**
 * Interhuman's published browser codealong (getUserMedia + MediaRecorder.start(3000), each dataavailable
 * sent as a binary frame, credential as the WebSocket subprotocol), run unmodified in headless
 * Chromium with a fake camera and microphone (docs/protocol.md §1, §3.2-3.4).
 *
 * The page is test/clients/browser-codealong.html, served from 127.0.0.1 (a secure context, so
 * getUserMedia works over plain http). For debugging, the chunks Chromium sent (sizes, times and
 * bytes) are written to .cache/browser-codealong/ on every run; nothing asserts on that.
 */
import { createServer, type Server } from 'node:http';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { formatDiagnostics, validateServerEvent } from '../../server/validation.js';
import type { StreamSession } from '../../server/stream/session.js';
import { startServer, useServers } from '../support/server.js';

useServers();

const PAGE = fileURLToPath(new URL('../clients/browser-codealong.html', import.meta.url));
const DEBUG_DIR = fileURLToPath(new URL('../../.cache/browser-codealong/', import.meta.url));
const API_KEY = 'ih_live_browser_key';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** What the page's harness records (see the "harness" lines in the page). */
interface PageFrame {
  at: number;
  data: string;
}
interface PageChunk {
  at: number;
  size: number;
  sent: boolean;
}
interface PageState {
  frames: PageFrame[];
  chunks: PageChunk[];
  errors: string[];
  closed: { code: number; reason: string; wasClean: boolean } | null;
  recorder: { mimeType: string; recorderMimeType: string; startedAt: number } | undefined;
  protocol: string | undefined;
}

/** The page's globals, as the harness lines define them. */
type HarnessWindow = Window & {
  __frames: PageFrame[];
  __chunks: (PageChunk & { blob: Blob })[];
  __errors: string[];
  __closed: PageState['closed'];
  __recorder: PageState['recorder'];
  __ws: WebSocket | undefined;
  __stop: (() => void) | undefined;
};

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

/** Serve the codealong page (and nothing else) on 127.0.0.1, a free port. */
async function servePage(): Promise<string> {
  const html = await readFile(PAGE);
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path === '/codealong.html') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end(html);
    } else if (path === '/favicon.ico') {
      res.writeHead(204).end();
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('page server has no address');
  return `http://127.0.0.1:${address.port}/codealong.html`;
}

function pageState(page: Page): Promise<PageState> {
  return page.evaluate(() => {
    const w = window as unknown as HarnessWindow;
    return {
      frames: w.__frames ?? [],
      chunks: (w.__chunks ?? []).map(({ at, size, sent }) => ({ at, size, sent })),
      errors: w.__errors ?? [],
      closed: w.__closed ?? null,
      recorder: w.__recorder,
      protocol: w.__ws?.protocol,
    };
  });
}

/** Best effort: write what Chromium sent to .cache/browser-codealong/ (sizes in chunks.json, bytes in chunk-NN.webm). */
async function dumpChunks(page: Page, consoleLines: string[], session: StreamSession | undefined): Promise<void> {
  const dump = async (): Promise<void> => {
    const state = await pageState(page);
    const bytes = await page.evaluate(() =>
      Promise.all(
        ((window as unknown as HarnessWindow).__chunks ?? []).map(
          (c) =>
            new Promise<string>((resolve) => {
              const reader = new FileReader();
              reader.onload = () => {
                const url = String(reader.result); // data:<type>;base64,<bytes>, and the type itself holds commas
                resolve(url.slice(url.indexOf(';base64,') + ';base64,'.length));
              };
              reader.readAsDataURL(c.blob);
            }),
        ),
      ),
    );
    await rm(DEBUG_DIR, { recursive: true, force: true });
    await mkdir(DEBUG_DIR, { recursive: true });
    const startedAt = state.recorder?.startedAt ?? 0;
    const summary = {
      mimeType: state.recorder?.recorderMimeType,
      serverStats: session?.stats,
      serverEndReason: session?.endReason,
      chunks: state.chunks.map((c, i) => ({ index: i + 1, size: c.size, sent: c.sent, atSeconds: Number(((c.at - startedAt) / 1000).toFixed(3)) })),
      errors: state.errors,
      closed: state.closed,
      console: consoleLines,
    };
    await writeFile(`${DEBUG_DIR}chunks.json`, `${JSON.stringify(summary, null, 2)}\n`);
    await Promise.all(bytes.map((b64, i) => writeFile(`${DEBUG_DIR}chunk-${String(i + 1).padStart(2, '0')}.webm`, Buffer.from(b64, 'base64'))));
  };
  await Promise.race([dump(), new Promise((resolve) => setTimeout(resolve, 5_000))]).catch(() => undefined);
}

async function until(what: string, timeoutMs: number, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('the published browser codealong in headless Chromium', () => {
  it('streams MediaRecorder continuation chunks and gets analysis events', { timeout: 90_000 }, async () => {
    let session: StreamSession | undefined;
    const server = await startServer({ scenario: 'steady', timing: 'instant', onEvent: (_e, s) => (session ??= s) });
    const pageUrl = await servePage();

    const browser: Browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
    cleanups.push(() => browser.close());
    const page = await browser.newPage();
    const consoleLines: string[] = [];
    page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`.slice(0, 300)));
    page.on('pageerror', (err) => consoleLines.push(`pageerror: ${err.message}`));

    let passed = false;
    try {
      await page.goto(`${pageUrl}?${new URLSearchParams({ ws_url: server.streamUrl, api_key: API_KEY })}`);

      // Chunks every 3 s; the first 8-s window is due with the third chunk (~9 s in).
      await page.waitForFunction(
        () => {
          const w = window as unknown as HarnessWindow;
          const types = (w.__frames ?? []).map((f) => (JSON.parse(f.data) as { type: string }).type);
          return (types.includes('signal.detected') && types.includes('engagement.updated')) || types.includes('error') || (w.__closed ?? null) !== null;
        },
        undefined,
        { timeout: 20_000, polling: 200 },
      ).catch(async (err: Error) => {
        const seen = await pageState(page);
        const types = seen.frames.map((f) => (JSON.parse(f.data) as { type: string }).type);
        throw new Error(`${err.message}\nframes: ${types.join(', ')}\nchunks: ${JSON.stringify(seen.chunks)}\npage errors: ${seen.errors.join('; ')}`);
      });
      expect(session, 'the server has no session').toBeDefined();
      const live = session!;

      // A consistent snapshot: no chunk recorded meanwhile, and the server has handled every chunk sent.
      const sentCount = (p: PageState): number => p.chunks.filter((c) => c.sent).length;
      let state = await pageState(page);
      let stats = { ...live.stats };
      await until('the server to receive every chunk the page sent', 5_000, async () => {
        const before = await pageState(page);
        stats = { ...live.stats };
        state = await pageState(page);
        return before.chunks.length === state.chunks.length && stats.binaryMessages === sentCount(state);
      });
      expect([...server.sessions]).toEqual([live]);

      const frames = state.frames.map((f) => JSON.parse(f.data) as { type: string; correlation_id: string; data: any });
      for (const [i, frame] of frames.entries()) {
        const result = validateServerEvent(frame);
        expect(result.ok, result.ok ? '' : `frame ${i} ${frame.type}: ${formatDiagnostics(result.errors)}`).toBe(true);
      }
      const types = frames.map((f) => f.type);
      expect(state.errors, 'page errors').toEqual([]);
      expect(frames.filter((f) => f.type === 'error'), 'error events').toEqual([]);
      expect(state.protocol).toBe(API_KEY); // the subprotocol credential was echoed
      expect(types[0]).toBe('session.ready');
      expect(frames.find((f) => f.type === 'session.updated')?.data).toEqual({
        include: ['conversation_quality_overall', 'conversation_quality_timeline'],
        goal_dimensions: null,
      });
      expect(new Set(frames.map((f) => f.correlation_id)).size).toBe(1);
      // steady: agreement (high) from 0 s, engaged from 0 s.
      expect(frames.find((f) => f.type === 'signal.detected')?.data).toMatchObject({ signal_type: 'agreement', start: 0, probability: 'high' });
      expect(frames.find((f) => f.type === 'engagement.updated')?.data).toEqual({ state: 'engaged', start: 0 });

      // Server side: one continuous WebM stream in >= 3 messages, the continuation chunks accepted,
      // and media time (from the WebM timestamps) close to the wall time the recorder ran.
      expect(state.recorder?.recorderMimeType).toMatch(/^video\/webm/);
      expect(stats.binaryMessages).toBeGreaterThanOrEqual(3);
      expect(stats.rejectedMessages).toBe(0);
      expect(stats.bytesReceived).toBe(state.chunks.filter((c) => c.sent).reduce((n, c) => n + c.size, 0));
      const lastSent = state.chunks.filter((c) => c.sent).at(-1)!;
      const wallSeconds = (lastSent.at - state.recorder!.startedAt) / 1000;
      expect(Math.abs(stats.receivedSeconds - wallSeconds), `media ${stats.receivedSeconds} s vs wall ${wallSeconds} s`).toBeLessThanOrEqual(3);

      // The user stops: the codealong's recorder.stop(); ws.close(); tracks stopped.
      await page.evaluate(() => (window as unknown as HarnessWindow).__stop?.());
      await until('the server to end the session', 5_000, () => live.state === 'ended' && server.sessions.size === 0);
      expect(live.endReason).toBe('client_disconnected');
      await page.waitForFunction(() => ((window as unknown as HarnessWindow).__closed ?? null) !== null, undefined, { timeout: 5_000 });
      // A client that closes first gets no graceful-close events.
      const after = (await pageState(page)).frames.map((f) => (JSON.parse(f.data) as { type: string }).type);
      expect(after).not.toContain('session.closing');
      expect(after).not.toContain('session.ended');
      passed = true;
    } finally {
      // The recorded chunks are for debugging a failure; a passing run does not pay for writing them.
      if (!passed) await dumpChunks(page, consoleLines, session);
    }
  });
});
