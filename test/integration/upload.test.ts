/**
 * `POST /v1/upload/analyze` over real sockets (docs/protocol.md §2): real multipart uploads with Node's
 * `fetch` + `FormData` of real media made by ffmpeg, the whole error matrix, the size limit enforced
 * while streaming (with flat memory), per-account concurrency, and the promise that an upload
 * reports exactly what a stream session reports for the same media.
 */
import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { createConnection } from 'node:net';
import { promisify } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import Fastify from 'fastify';
import { Authenticator, TokenStore } from '../../server/auth.js';
import { RealClock, VirtualClock } from '../../server/clock.js';
import { RateLimiter } from '../../server/http/limits.js';
import { DISCARD_LIMIT_BYTES, registerUploadRoutes } from '../../server/http/upload-route.js';
import { resolveOptions } from '../../server/options.js';
import { Random } from '../../server/random.js';
import { loadScenario } from '../../scenarios/loader.js';
import { createMockServer } from '../../server/app.js';
import type { Scenario, UploadResponse } from '../../server/types/generated.js';
import { connect, type Frame } from '../support/client.js';
import { makeMedia, readMedia, type MediaOptions } from '../support/media.js';
import { startServer, useServers } from '../support/server.js';
import { expectError, send, upload } from '../support/upload.js';
import { until } from '../support/wait.js';

useServers();

const run = promisify(execFile);

/** `gc()` in this worker (vitest does not start it with --expose-gc). */
function exposeGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

const BOTH = ['conversation_quality_overall', 'conversation_quality_timeline'];
const MB = 1024 * 1024;

const CONTAINERS: Record<string, MediaOptions> = {
  mp4: { container: 'mp4', video: 'h264', audio: 'aac', seconds: 12 },
  mov: { container: 'mov', video: 'h264', audio: 'aac', seconds: 12 },
  webm: { container: 'webm', video: 'vp8', audio: 'opus', seconds: 12 },
  mkv: { container: 'mkv', video: 'h264', audio: 'aac', seconds: 12 },
  avi: { container: 'avi', video: 'h264', audio: 'mp3', seconds: 12 },
  'mpeg-ts': { container: 'mpegts', video: 'h264', audio: 'aac', seconds: 12 },
};
/** Over the 32-MB limit: 48 s of 1280x720 H.264 at 30 fps (about 40 MB). */
const OVERSIZED: MediaOptions = { container: 'mp4', video: 'h264', audio: null, seconds: 48, width: 1280, height: 720, fps: 30 };

const media: Record<string, Buffer> = {};
let webm60: Buffer;
let ts45: Buffer;
let clip2s: Buffer;
let audioOnly: Buffer;
let mp4: Buffer;
let oversizedPath: string;
let mp4Path: string;
/** A real, valid 4-s H.264 MP4 of about 4.6 KB (32x24 at 2 fps): under the docs' 10-KB minimum. */
let tiny: Buffer;

beforeAll(async () => {
  await Promise.all(Object.entries(CONTAINERS).map(async ([name, options]) => (media[name] = await readMedia(options))));
  [webm60, ts45, clip2s, audioOnly, mp4, oversizedPath, mp4Path, tiny] = await Promise.all([
    readMedia({ container: 'webm', video: 'vp8', audio: 'opus', seconds: 60 }),
    readMedia({ container: 'mpegts', video: 'h264', audio: 'aac', seconds: 45 }),
    readMedia({ container: 'webm', video: 'vp8', audio: 'opus', seconds: 2 }),
    readMedia({ container: 'webm', video: null, audio: 'opus', seconds: 4 }),
    readMedia({ container: 'mp4', video: 'h264', audio: 'aac', seconds: 4 }),
    makeMedia(OVERSIZED),
    makeMedia(CONTAINERS['mp4']!),
    readMedia({ container: 'mp4', video: 'h264', audio: null, seconds: 4, width: 32, height: 24, fps: 2 }),
  ]);
}, 180_000);

describe('200: the analysis of the whole file', () => {
  it.each(Object.keys(CONTAINERS))('%s', async (name) => {
    const server = await startServer({ processingRatio: 0 });
    const result = await upload(server.baseUrl, media[name]!, { filename: `call.${name}` });
    expect(result.status).toBe(200);
    const body = result.body as UploadResponse;
    // The default scenario: interest from 2 s is visible in 12 s of video (AVI's header says 12.1 s).
    expect(body.signals.map((s) => s.type)).toContain('interest');
    const mediaEnd = body.engagement_state.at(-1)!.end;
    expect(mediaEnd).toBeGreaterThanOrEqual(12);
    expect(mediaEnd).toBeLessThanOrEqual(12.1);
    for (const s of body.signals) expect(s.end).toBeLessThanOrEqual(mediaEnd);
    expect(body.conversation_quality).toBeUndefined();
  });

  it('detects the container from the bytes: WebM named video.mp4 and sent as video/mp4 works', async () => {
    const server = await startServer({ processingRatio: 0 });
    const asWebm = await upload(server.baseUrl, media['webm']!, { filename: 'video.webm', type: 'video/webm' });
    const disguised = await upload(server.baseUrl, media['webm']!, { filename: 'video.mp4', type: 'video/mp4' });
    expect(disguised.status).toBe(200);
    expect(disguised.body).toEqual(asWebm.body);
  });

  it('include[] selects the conversation-quality sections, before or after the file; unknown values and fields are ignored', async () => {
    const server = await startServer({ processingRatio: 0 });
    const file = media['mkv']!;
    const none = await upload(server.baseUrl, file, { include: ['goal_dimensions', 'nonsense'], fields: [['language', 'en'], ['include', BOTH[0]!]] });
    expect(none.body.conversation_quality).toBeUndefined();
    const overall = await upload(server.baseUrl, file, { include: ['conversation_quality_overall', 'nonsense'] });
    expect(Object.keys(overall.body.conversation_quality)).toEqual(['overall']);
    const timeline = await upload(server.baseUrl, file, { include: ['conversation_quality_timeline'], includeAfter: true });
    expect(Object.keys(timeline.body.conversation_quality)).toEqual(['timeline']);
    const both = await upload(server.baseUrl, file, { include: [...BOTH, ...BOTH], includeAfter: true });
    expect(both.body.conversation_quality.overall).toEqual(overall.body.conversation_quality.overall);
    expect(both.body.conversation_quality.timeline).toEqual(timeline.body.conversation_quality.timeline);
    // 12 s with 8-s windows every 3 s: periods [0, 11] and [11, 12], contiguous up to the end.
    expect(both.body.conversation_quality.timeline.map((p: { start: number; end: number }) => [p.start, p.end])).toEqual([
      [0, 11],
      [11, 12],
    ]);
    // Signals and engagement do not depend on include.
    expect({ ...both.body, conversation_quality: undefined }).toEqual({ ...none.body, conversation_quality: undefined });
  });

  it('waits processingRatio × duration on the server clock before answering', async () => {
    const clock = new VirtualClock();
    const server = await startServer({ clock, processingRatio: 0.25 });
    let answered = false;
    const pending = upload(server.baseUrl, media['mp4']!).then((r) => ((answered = true), r));
    await until(() => server.uploads.processing === 1, 'the upload waits on the clock');
    await clock.advance(2_999); // 0.25 × 12 s = 3 s
    expect(answered).toBe(false);
    await clock.advance(1);
    expect((await pending).status).toBe(200);
  });
});

describe('the upload codealong end to end', () => {
  it('exchanges a key pair for an upload token, uploads with both include flags, and gets a schema-valid analysis; the token expires on the server clock', async () => {
    const clock = new VirtualClock();
    const server = await startServer({ clock, processingRatio: 0, scenario: 'steady', keyPairs: [{ keyId: 'kid_demo', keySecret: 'ks_demo' }] });
    const exchange = await fetch(`${server.baseUrl}/v1/auth`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ key_id: 'kid_demo', key_secret: 'ks_demo', scopes: ['interhumanai.upload'] }),
    });
    expect(exchange.status).toBe(200);
    const token = (await exchange.json()) as { access_token: string; token_type: string; expires_in: number; scope: string };
    expect(token).toMatchObject({ token_type: 'Bearer', expires_in: 900, scope: 'interhumanai.upload' });

    const result = await upload(server.baseUrl, mp4, { token: token.access_token, include: BOTH, type: 'video/mp4', filename: 'call.mp4' });
    expect(result.status).toBe(200);
    const body = result.body as UploadResponse;
    // steady on a 12-s file: agreement (0–20) is present, cut at the file's end; hesitation starts at 12, after it.
    expect(body.signals.map((sig) => sig.type)).toEqual(['agreement']);
    for (const sig of body.signals) {
      expect(sig.end).toBeGreaterThan(sig.start);
      expect(sig.end).toBeLessThanOrEqual(12.5);
      expect(sig.rationale.length).toBeGreaterThan(0);
    }
    expect(body.engagement_state[0]).toMatchObject({ start: 0, state: 'engaged' });
    expect(body.conversation_quality?.overall).toBeDefined();
    expect(body.conversation_quality?.timeline?.length).toBeGreaterThan(0);

    await clock.advance(900_000);
    expectError(await upload(server.baseUrl, mp4, { token: token.access_token }), 401, 'ih2001');
  });
});

describe('the error matrix', () => {
  it('garbage bytes → 400 ih4002', async () => {
    const server = await startServer({ processingRatio: 0 });
    const garbage = new Uint8Array(50_000).map((_, k) => (k * 7919) % 251);
    const result = await upload(server.baseUrl, garbage, { filename: 'call.mp4', type: 'video/mp4' });
    expectError(result, 400, 'ih4002');
    expect(result.body.message).toMatch(/first bytes/);
  });

  it('a 4.6-KB video → 400 ih4001 (the docs: 10 KB minimum); minUploadBytes 0 lets the same file through', async () => {
    expect(tiny.length).toBeGreaterThan(4_000);
    expect(tiny.length).toBeLessThan(10 * 1024);
    const server = await startServer({ processingRatio: 0 });
    const result = await upload(server.baseUrl, tiny, { filename: 'call.mp4', type: 'video/mp4' });
    expectError(result, 400, 'ih4001');
    expect(result.body.message).toBe(`The file is ${tiny.length} bytes; an upload must be at least 10 KB (10240 bytes).`);
    const lenient = await startServer({ processingRatio: 0, minUploadBytes: 0 });
    expect((await upload(lenient.baseUrl, tiny)).status).toBe(200);
  });

  it('the minimum counts the bytes of the file part and comes before its content: garbage of 10239 bytes → ih4001, of 10240 → ih4002', async () => {
    const server = await startServer({ processingRatio: 0 });
    const garbage = new Uint8Array(10 * 1024).map((_, k) => (k * 7919) % 251);
    expectError(await upload(server.baseUrl, garbage.subarray(0, 10 * 1024 - 1)), 400, 'ih4001');
    expectError(await upload(server.baseUrl, garbage), 400, 'ih4002');
  });

  it('a 2-s clip → 400 ih4007', async () => {
    const server = await startServer({ processingRatio: 0 });
    const result = await upload(server.baseUrl, clip2s);
    expectError(result, 400, 'ih4007');
    expect(result.body.message).toMatch(/at least 3 seconds/);
  });

  it('no file part → 400 ih4001; a text field named file, or an empty file, too', async () => {
    const server = await startServer({ processingRatio: 0 });
    expectError(await upload(server.baseUrl, null, { include: BOTH }), 400, 'ih4001');
    expectError(await upload(server.baseUrl, mp4, { field: 'video' }), 400, 'ih4001');
    const asText = await upload(server.baseUrl, null, { fields: [['file', 'call.mp4']] });
    expectError(asText, 400, 'ih4001');
    expect(asText.body.message).toMatch(/as text/);
    expectError(await upload(server.baseUrl, new Uint8Array(0)), 400, 'ih4001');
  });

  it('not multipart → 400 ih4001 saying multipart/form-data with a "file" field is expected', async () => {
    const server = await startServer({ processingRatio: 0 });
    for (const init of [
      { body: mp4, headers: { 'Content-Type': 'video/mp4' } },
      { body: JSON.stringify({ file: 'x' }), headers: { 'Content-Type': 'application/json' } },
      { body: mp4 },
      {},
    ] as RequestInit[]) {
      const result = await send(server.baseUrl, init);
      expectError(result, 400, 'ih4001');
      expect(result.body.message).toMatch(/multipart\/form-data.*"file"/);
    }
  });

  it('a broken multipart body → 400 ih4001', async () => {
    const server = await startServer({ processingRatio: 0 });
    const body = '--XYZ\r\nContent-Disposition: form-data; name="file"; filename="a.mp4"\r\n\r\nabc'; // never terminated
    const result = await send(server.baseUrl, { body, headers: { 'Content-Type': 'multipart/form-data; boundary=XYZ' } });
    expectError(result, 400, 'ih4001');
  });

  it('audio only → 422 ih5001', async () => {
    const server = await startServer({ processingRatio: 0 });
    expectError(await upload(server.baseUrl, audioOnly), 422, 'ih5001');
  });

  it('a truncated MP4 → 422 ih5002', async () => {
    const server = await startServer({ processingRatio: 0 });
    const result = await upload(server.baseUrl, mp4.subarray(0, mp4.length >> 1), { filename: 'call.mp4' });
    expectError(result, 422, 'ih5002');
  });

  it('credentials: none → 401 ih2002, unknown → 401 ih2001, a token without the upload scope → 403 ih2003', async () => {
    const server = await startServer({ processingRatio: 0, apiKeys: ['ih_live_good'] });
    expectError(await upload(server.baseUrl, mp4, { token: null }), 401, 'ih2002');
    expectError(await upload(server.baseUrl, mp4, { token: 'ih_live_bad' }), 401, 'ih2001');
    const exchange = await fetch(`${server.baseUrl}/v1/auth`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ key_id: 'k', key_secret: 's', scopes: ['interhumanai.stream'] }),
    });
    const { access_token: streamOnly } = (await exchange.json()) as { access_token: string };
    expectError(await upload(server.baseUrl, media['mp4']!, { token: streamOnly }), 403, 'ih2003');
    expect((await upload(server.baseUrl, media['mp4']!, { token: 'ih_live_good' })).status).toBe(200);
  });

  it('rate limit per account → 429 ih3001 with Retry-After', async () => {
    const server = await startServer({ processingRatio: 0, rateLimitPerMinute: 2 });
    expect((await upload(server.baseUrl, media['mp4']!)).status).toBe(200);
    expect((await upload(server.baseUrl, media['mp4']!)).status).toBe(200);
    const limited = await upload(server.baseUrl, media['mp4']!);
    expectError(limited, 429, 'ih3001');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    // Another account is not affected.
    expect((await upload(server.baseUrl, media['mp4']!, { token: 'ih_live_other' })).status).toBe(200);
  });

  it('6 concurrent uploads of one account → exactly one 429 ih3002; the other five complete', async () => {
    const clock = new VirtualClock();
    const server = await startServer({ clock, processingRatio: 0.25 });
    const all = Array.from({ length: 6 }, () => upload(server.baseUrl, media['mp4']!));
    // Five hold their slot while "processing" on the virtual clock; the sixth is refused at once.
    await until(() => server.uploads.processing === 5, 'five uploads processing');
    const refused = await Promise.race(all);
    expectError(refused, 429, 'ih3002');
    // Another account has slots of its own.
    const other = upload(server.baseUrl, mp4, { token: 'ih_live_other' });
    await until(() => server.uploads.processing === 6, 'the other account processing');
    await clock.advance(3_000);
    const results = await Promise.all(all);
    expect(results.filter((r) => r.status === 429)).toEqual([refused]);
    expect(results.filter((r) => r.status === 200)).toHaveLength(5);
    expect((await other).status).toBe(200);
    // Slots are released: one more upload goes through.
    const again = upload(server.baseUrl, media['mp4']!);
    await until(() => server.uploads.processing === 1, 'the next upload processing');
    await clock.advance(3_000);
    expect((await again).status).toBe(200);
  });

  it('a bug → 500 ih1001 (the route on its own, with a scenario that throws when analyzed)', async () => {
    const clock = new RealClock();
    const http = Fastify({ logger: false, genReqId: () => randomUUID() });
    http.addHook('onRequest', async (request, reply) => void reply.header('X-Correlation-ID', request.id));
    const broken = new Proxy({ name: 'broken' } as Scenario, {
      get: (target, key) => {
        if (key === 'quota_exhausted' || key === 'name' || key === 'faults') return Reflect.get(target, key);
        throw new Error(`scenario field ${String(key)} exploded`);
      },
    });
    registerUploadRoutes(http, {
      options: resolveOptions({ processingRatio: 0, strictEvents: true }),
      scenario: broken,
      clock,
      authenticator: new Authenticator({ apiKeys: [], keyPairs: [], tokens: new TokenStore({ clock, random: new Random(1), ttlSeconds: 900 }) }),
      rateLimiter: new RateLimiter({ limit: null, clock }),
      random: new Random(1),
    });
    const address = await http.listen({ host: '127.0.0.1', port: 0 });
    try {
      const result = await upload(address, media['mp4']!);
      expectError(result, 500, 'ih1001');
    } finally {
      await http.close();
    }
  });

  it('closing the server cuts uploads still processing instead of waiting for them', async () => {
    const clock = new VirtualClock();
    const server = await startServer({ clock, processingRatio: 1 });
    const pending = upload(server.baseUrl, media['mp4']!).then(
      () => 'answered',
      () => 'cut',
    );
    await until(() => server.uploads.processing === 1, 'the upload processing');
    await server.close();
    expect(await pending).toBe('cut');
    expect(clock.pendingCount).toBe(0);
  });

  it('a client that goes away in the middle of its upload frees its slot', async () => {
    const server = await startServer({ processingRatio: 0, uploadConcurrency: 1 });
    const { port } = new URL(server.baseUrl);
    const socket = createConnection({ host: '127.0.0.1', port: Number(port) });
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.on('error', () => {});
    socket.write(
      `POST /v1/upload/analyze HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ih_live_test\r\n` +
        `Content-Type: multipart/form-data; boundary=XYZ\r\nContent-Length: ${10 * MB}\r\n\r\n` +
        `--XYZ\r\nContent-Disposition: form-data; name="file"; filename="a.mp4"\r\n\r\n`,
    );
    socket.write(mp4.subarray(0, 50_000));
    await until(() => server.uploads.inFlight === 1, 'the upload holds the only slot');
    socket.destroy();
    await until(() => server.uploads.inFlight === 0, 'the server noticed and freed the slot');
    expect((await upload(server.baseUrl, media['mp4']!)).status).toBe(200);
  });

  it('quota_exhausted scenario → 429 ih3003', async () => {
    const scenario: Scenario = { name: 'no-quota', quota_exhausted: true };
    const server = await startServer({ processingRatio: 0, scenario });
    expectError(await upload(server.baseUrl, mp4), 429, 'ih3003');
  });
});

/**
 * A client like Python's urllib: Connection: close, the whole multipart body written before it
 * reads anything; resolves with what it then reads, rejects if writing failed (a broken pipe).
 */
async function sendWholeBodyThenRead(baseUrl: string, bodyBytes: number): Promise<string> {
  const socket = createConnection({ host: '127.0.0.1', port: Number(new URL(baseUrl).port) });
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const head = '--b\r\nContent-Disposition: form-data; name="file"; filename="a.mp4"\r\n\r\n';
  const tail = '\r\n--b--\r\n';
  let answer = '';
  socket.on('data', (d) => (answer += d.toString('latin1')));
  const failed = new Promise<never>((_, reject) => socket.once('error', reject));
  const write = (chunk: string | Buffer) => new Promise<void>((resolve, reject) => socket.write(chunk, (err) => (err ? reject(err) : resolve())));
  const sending = (async () => {
    await write(`POST /v1/upload/analyze HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\nConnection: close\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: ${head.length + bodyBytes + tail.length}\r\n\r\n${head}`);
    const chunk = Buffer.alloc(1 << 20);
    for (let sent = 0; sent < bodyBytes; sent += chunk.length) await write(chunk.subarray(0, Math.min(chunk.length, bodyBytes - sent)));
    await write(tail);
  })();
  await Promise.race([sending, failed]);
  await Promise.race([new Promise((resolve) => socket.once('end', resolve)), failed]);
  return answer;
}

describe('closing the server', () => {
  it('does not wait for a client stalled in the middle of its upload body', async () => {
    const server = await createMockServer({ host: '127.0.0.1', logLevel: 'silent', processingRatio: 0 });
    const socket = createConnection({ host: '127.0.0.1', port: Number(new URL(server.baseUrl).port) });
    await new Promise((resolve) => socket.once('connect', resolve));
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.write(`POST /v1/upload/analyze HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 1000000\r\n\r\n--b\r\n`);
    await until(() => server.uploads.inFlight === 1, 'the upload is reading its body'); // which never comes
    const started = Date.now();
    await server.close();
    expect(Date.now() - started).toBeLessThan(1000);
    await closed;
  });
});

describe('upload faults (when: {upload: N})', () => {
  const withFaults = (faults: Scenario['faults']): Scenario => ({ ...loadScenario('steady'), name: 'upload-faults', faults });

  it('error: the n-th upload gets the code with its status, body and Retry-After; the others are analyzed', async () => {
    const server = await startServer({
      processingRatio: 0,
      scenario: withFaults([
        { when: { upload: 1 }, action: 'error', code: 'ih3002', retry_after_seconds: 2 },
        { when: { upload: 2 }, action: 'error', code: 'ih3001' },
        { when: { upload: 4 }, action: 'error', code: 'ih4003', message: 'scripted: too large' },
      ]),
    });
    const first = await upload(server.baseUrl, mp4);
    expectError(first, 429, 'ih3002');
    expect(first.headers.get('retry-after')).toBe('2');
    const second = await upload(server.baseUrl, mp4);
    expectError(second, 429, 'ih3001');
    expect(second.headers.get('retry-after')).toBe('1'); // ih3001 always says when to come back
    expect((await upload(server.baseUrl, mp4)).status).toBe(200);
    const fourth = await upload(server.baseUrl, mp4);
    expectError(fourth, 413, 'ih4003');
    expect(fourth.body.message).toBe('scripted: too large');
    expect(fourth.headers.get('retry-after')).toBeNull();
    expect((await upload(server.baseUrl, mp4)).status).toBe(200);
  });

  it('delay: the answer comes that many seconds later on the server clock', async () => {
    const clock = new VirtualClock();
    const server = await startServer({ processingRatio: 0, clock, scenario: withFaults([{ when: { upload: 1 }, action: 'delay', seconds: 90 }]) });
    let settled = false;
    const pending = upload(server.baseUrl, mp4).finally(() => (settled = true));
    await until(() => server.uploads.processing === 1, 'the delayed answer to be scheduled');
    await clock.advance(89_000);
    expect(settled).toBe(false);
    await clock.advance(1_000);
    expect((await pending).status).toBe(200);
  });

  it('an early answer reaches a Connection: close client that keeps sending (no broken pipe), as with Python urllib', async () => {
    const server = await startServer({ processingRatio: 0, scenario: withFaults([{ when: { upload: 1 }, action: 'error', code: 'ih3002' }]) });
    expect(await sendWholeBodyThenRead(server.baseUrl, 20 << 20)).toMatch(/^HTTP\/1\.1 429 [\s\S]*"error_id":"ih3002"/);
  });

  it('disconnect: the connection is cut with no answer, and the server serves the next upload', async () => {
    const server = await startServer({ processingRatio: 0, scenario: withFaults([{ when: { upload: 1 }, action: 'disconnect' }]) });
    await expect(upload(server.baseUrl, mp4)).rejects.toThrow();
    expect((await upload(server.baseUrl, mp4)).status).toBe(200);
  });

  it('stream sessions ignore upload faults, and uploads ignore stream faults', async () => {
    const server = await startServer({
      processingRatio: 0,
      timing: 'instant',
      scenario: withFaults([
        { when: { upload: 1 }, action: 'error', code: 'ih1001' },
        { when: { segment: 1 }, action: 'error', code: 'ih5004' },
      ]),
    });
    const client = await connect(server.streamUrl, { apiKey: 'ih_live_test' });
    await client.waitForType('session.ready');
    await client.sendBinary(mp4);
    const { code } = await client.closeGracefully(10_000);
    expect(code).toBe(1000);
    expect(client.frames.filter((f) => f.type === 'error').map((f) => (f.data as { code: string }).code)).toEqual(['ih5004']);
    expectError(await upload(server.baseUrl, mp4), 500, 'ih1001');
    expect((await upload(server.baseUrl, mp4)).status).toBe(200);
  });
});

/**
 * Node's fetch, in a child process, uploading `path` (FormData + a file-backed Blob); with a third
 * argument "endless", the file part is the file followed by zeros that never end (a streamed body),
 * and `produced` says how many bytes the client had produced when the answer's headers arrived.
 */
const FETCH_CLIENT = `
import { openAsBlob, createReadStream } from 'node:fs';
const [url, path, mode] = process.argv.slice(1);
let produced = 0;
let init;
if (mode === 'endless') {
  const boundary = 'ihmock' + Date.now();
  async function* body() {
    yield Buffer.from('--' + boundary + '\\r\\nContent-Disposition: form-data; name="file"; filename="call.mp4"\\r\\nContent-Type: video/mp4\\r\\n\\r\\n');
    for await (const chunk of createReadStream(path)) { produced += chunk.length; yield chunk; }
    const zeros = Buffer.alloc(1 << 16);
    for (;;) { produced += zeros.length; yield zeros; }
  }
  init = { body: ReadableStream.from(body()), duplex: 'half', headers: { 'Content-Type': 'multipart/form-data; boundary=' + boundary } };
} else {
  const form = new FormData();
  form.append('file', await openAsBlob(path, { type: 'video/mp4' }), 'call.mp4');
  init = { body: form, headers: {} };
}
try {
  const res = await fetch(url, { method: 'POST', ...init, headers: { ...init.headers, Authorization: 'Bearer ih_live_test' } });
  const atHeaders = produced;
  const headers = Object.fromEntries(res.headers);
  console.log(JSON.stringify({ status: res.status, headers, body: await res.json(), produced: atHeaders }));
} catch (err) {
  console.log(JSON.stringify({ error: String(err.cause ?? err) }));
}
process.exit(0);`;

interface ClientResult {
  status: number;
  headers: Record<string, string>;
  body: any;
  produced: number;
  error?: string;
}

async function fetchInChild(url: string, path: string, mode = 'file'): Promise<ClientResult> {
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', FETCH_CLIENT, url, path, mode], { timeout: 60_000 });
  const result = JSON.parse(stdout) as ClientResult;
  expect(result.error, 'fetch failed instead of reading the answer').toBeUndefined();
  expect(result.body.correlation_id).toBe(result.headers['x-correlation-id']);
  return result;
}

describe('413 while streaming', () => {
  // Three 40-MB uploads with two full GCs every 100 ms: CPU-bound, so the upper limit is generous for a
  // loaded machine (an upper limit, not a wait).
  it('a 40-MB file → 413 ih4003, read by fetch (not a reset), with flat memory', { timeout: 120_000 }, async () => {
    const size = statSync(oversizedPath).size;
    expect(size, 'the oversized test file').toBeGreaterThan(36 * MB);
    const server = await startServer({ processingRatio: 0 });
    // The client runs in another process, so what is measured here is the server alone. Memory is
    // sampled every 100 ms (a full GC takes tens of ms here) after two full GCs (V8 frees array
    // buffers of the first one concurrently): live memory, not garbage awaiting collection.
    const gc = exposeGc();
    for (let attempt = 0; attempt < 3; attempt++) {
      gc();
      gc();
      const before = process.memoryUsage();
      const peak = { rss: 0, live: 0 };
      const sampler = setInterval(() => {
        gc();
        gc();
        const m = process.memoryUsage();
        peak.rss = Math.max(peak.rss, m.rss - before.rss);
        peak.live = Math.max(peak.live, m.heapUsed + m.external - before.heapUsed - before.external);
      }, 100);
      let result: ClientResult;
      try {
        result = await fetchInChild(`${server.baseUrl}/v1/upload/analyze`, oversizedPath);
      } finally {
        clearInterval(sampler);
      }
      expect({ status: result.status, code: result.body.error_id }).toEqual({ status: 413, code: 'ih4003' });
      gc();
      gc();
      const after = process.memoryUsage();
      expect(peak.live, 'live heap + external memory during the upload').toBeLessThan(10 * MB);
      // RSS also holds the allocator's high-water mark of garbage socket buffers between two
      // samples; buffering the file would take 32 MB of it.
      expect(after.rss - before.rss, 'RSS after the upload').toBeLessThan(16 * MB);
      expect(peak.rss, 'RSS during the upload').toBeLessThan(24 * MB);
    }
  });

  it('answers as soon as the limit is crossed, while the client is still sending (a body that never ends)', async () => {
    const server = await startServer({ processingRatio: 0 });
    const result = await fetchInChild(`${server.baseUrl}/v1/upload/analyze`, mp4Path, 'endless');
    expect({ status: result.status, code: result.body.error_id }).toEqual({ status: 413, code: 'ih4003' });
    // If the server waited for the end of the body there would be no answer at all. Produced by the
    // client when it came: the limit plus what sat in socket buffers.
    expect(result.produced).toBeGreaterThan(32 * MB);
    expect(result.produced).toBeLessThan(64 * MB);
  });

  it('cuts a client that keeps sending after the early answer, once it has sent DISCARD_LIMIT_BYTES more', async () => {
    const server = await startServer({ processingRatio: 0, maxUploadBytes: 1 * MB });
    const { port } = new URL(server.baseUrl);
    const socket = createConnection({ host: '127.0.0.1', port: Number(port) });
    await new Promise((resolve) => socket.once('connect', resolve));
    const boundary = 'ihmockraw';
    socket.write(
      `POST /v1/upload/analyze HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ih_live_test\r\n` +
        `Content-Type: multipart/form-data; boundary=${boundary}\r\nTransfer-Encoding: chunked\r\n\r\n`,
    );
    const chunk = (data: Buffer) => Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`), data, Buffer.from('\r\n')]);
    socket.write(chunk(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.mp4"\r\n\r\n`)));
    socket.write(chunk(mp4));
    let answer = '';
    socket.on('data', (d) => (answer += d.toString('latin1')));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => {});
    // Keep sending zeros, ignoring the answer, until the server cuts the connection.
    const zeros = chunk(Buffer.alloc(1 * MB));
    let sent = 0;
    while (!socket.destroyed && sent < 400 * MB) {
      if (!socket.write(zeros)) await new Promise((resolve) => socket.once('drain', resolve).once('close', resolve));
      sent += zeros.length;
    }
    await closed;
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(answer).toContain('"error_id":"ih4003"');
    expect(sent).toBeGreaterThan(DISCARD_LIMIT_BYTES);
    expect(sent).toBeLessThan(DISCARD_LIMIT_BYTES + 48 * MB);
  });

  it('maxUploadBytes is an option; a file just under it is analyzed', async () => {
    const file = media['mkv']!;
    const exact = await startServer({ processingRatio: 0, maxUploadBytes: file.length });
    expect((await upload(exact.baseUrl, file)).status).toBe(200);
    const under = await startServer({ processingRatio: 0, maxUploadBytes: file.length - 1 });
    expectError(await upload(under.baseUrl, file), 413, 'ih4003');
  });
});

// ---- Upload ↔ stream equivalence ---------------------------------------------------------------

interface Span {
  type: string;
  start: number;
  end: number;
  probability: string;
}

const RANK: Record<string, number> = { low: 0, medium: 1, high: 2 };

/** detected → ended pairs of a stream session, with the highest probability reported in between. */
function streamSpans(frames: Frame[]): Span[] {
  const open = new Map<string, Span>();
  const spans: Span[] = [];
  for (const f of frames) {
    if (f.type === 'signal.detected') {
      const span = { type: f.data.signal_type, start: f.data.start, end: NaN, probability: f.data.probability };
      open.set(span.type, span);
      spans.push(span);
    } else if (f.type === 'signal.updated') {
      const span = open.get(f.data.signal_type)!;
      if (RANK[f.data.probability]! > RANK[span.probability]!) span.probability = f.data.probability;
    } else if (f.type === 'signal.ended') {
      open.get(f.data.signal_type)!.end = f.data.end;
      open.delete(f.data.signal_type);
    }
  }
  return spans;
}

async function streamOnce(streamUrl: string, file: Buffer): Promise<Frame[]> {
  const client = await connect(streamUrl);
  await client.waitForType('session.ready');
  client.sendJson({ include: BOTH });
  await client.waitForType('session.updated');
  await client.sendBinary(file); // one self-contained segment
  client.sendJson({ type: 'session.close' });
  expect((await client.closed).code).toBe(1000);
  expect(client.ofType('error')).toEqual([]);
  return client.frames;
}

describe('upload ↔ stream: the same engine, the same spans', () => {
  it.each([
    ['60-s WebM, conversation scenario', () => webm60, 'conversation'],
    ['45-s MPEG-TS, conversation scenario', () => ts45, 'conversation'],
    ['12-s MOV, steady scenario', () => media['mov']!, 'steady'],
  ] as const)('%s', async (_name, file, scenario) => {
    const uploads = await startServer({ processingRatio: 0, scenario, seed: 7 });
    const streams = await startServer({ timing: 'instant', scenario, seed: 7 });
    const body = (await upload(uploads.baseUrl, file(), { include: BOTH })).body as UploadResponse;
    const frames = await streamOnce(streams.streamUrl, file());

    const spans = streamSpans(frames);
    expect(spans.length).toBeGreaterThan(0);
    expect(body.signals.map(({ type, start, end, probability }) => ({ type, start, end, probability }))).toEqual(spans);
    // Every rationale in the upload was sent on the stream with that span's probability.
    for (const s of body.signals) {
      expect(frames.some((f) => (f.type === 'signal.detected' || f.type === 'signal.updated') && f.data.signal_type === s.type && f.data.rationale === s.rationale && f.data.probability === s.probability)).toBe(true);
    }
    // Engagement: the stream's changes, each up to the next, the last up to the end of the media.
    const mediaEnd = body.engagement_state.at(-1)!.end;
    const changes = frames.filter((f) => f.type === 'engagement.updated').map((f) => f.data as { start: number; state: string });
    expect(body.engagement_state.map((s) => [s.start, s.state])).toEqual(changes.filter((c, k) => (changes[k + 1]?.start ?? mediaEnd) > c.start).map((c) => [c.start, c.state]));
    // Quality: the stream's periods in order, and its last overall.
    const quality = frames.filter((f) => f.type === 'conversation_quality.updated').map((f) => f.data);
    expect(body.conversation_quality!.timeline).toEqual(quality.flatMap((d) => d.timeline));
    expect(body.conversation_quality!.overall).toEqual(quality.at(-1)!.overall);
    expect(mediaEnd).toBe(quality.at(-1)!.timeline[0].end);
  });
});
