/**
 * The server under a seeded barrage of malformed input, all against ONE server: text frames and
 * binary segments on a stream session, broken WebSocket upgrades, broken HTTP requests, broken
 * uploads and token-exchange bodies (generators in test/support/fuzz-inputs.ts). Every answer must
 * be the documented one: the v1 body with `X-Correlation-ID` on every HTTP error (the token
 * exchange's 422 `{"detail"}` aside), ih codes on the socket. Between batches `/health` must
 * answer; at the end no upload holds a slot, the log has no error line or stack trace and no
 * key_secret, and a control session streamed through it all got exactly the events it gets on a
 * quiet server.
 *
 * Replay a failure with its seed: FUZZ_SEED=<seed> npx vitest run test/integration/fuzz-server.test.ts
 * (FUZZ_ROUNDS=<n> for a longer run than the suite's).
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UPLOAD_ERROR_CODES } from '../../server/http/upload-route.js';
import { formatDiagnostics, validateAuthResponse, validateHttpError, validateHttpValidationError, validateUploadResponse } from '../../server/validation.js';
import type { MockServerOptions } from '../../server/app.js';
import { connect, type TestClient } from '../support/client.js';
import { brokenAuthRequest, brokenHttpRequest, brokenUpgrade, brokenUpload, isValidConfigFrame, sample, SECRET_MARK, segment, textFrame, type RawRequest } from '../support/fuzz-inputs.js';
import { readMedia } from '../support/media.js';
import { semantic } from '../support/protocol.js';
import { openRaw, UUID, type RawAnswer } from '../support/raw-http.js';
import { startServer, useServers } from '../support/server.js';
import { until } from '../support/wait.js';

useServers();

const SEED = Number(process.env['FUZZ_SEED'] ?? 20_261_205);
/** Rounds of inputs (a control segment and a /health check after each); FUZZ_ROUNDS=50 for a longer hunt. */
const ROUNDS = Number(process.env['FUZZ_ROUNDS'] ?? 5);
/** Inputs per round, per kind. */
const PER_ROUND = { text: 80, segments: 30, upgrades: 50, http: 80, uploads: 40, auth: 50 };
/** A server that never answers within this long is hung, not slow. */
const ANSWER_WITHIN_MS = 15_000;
const MAX_SEGMENT_BYTES = 512 * 1024;

const OPTIONS: MockServerOptions = {
  processingRatio: 0,
  rateLimitPerMinute: null,
  maxSegmentBytes: MAX_SEGMENT_BYTES,
  keyPairs: [{ keyId: 'kid', keySecret: `${SECRET_MARK}_pair`, scopes: ['interhumanai.upload'] }],
};
/** The control session: its own scenario, seed and timing, so its events depend on nothing else. */
const CONTROL_QUERY = '?scenario=steady&seed=5&timing=instant';

let webm: Buffer;
let mp4: Buffer;
beforeAll(async () => {
  [webm, mp4] = await Promise.all([readMedia({ container: 'webm', video: 'vp8', audio: 'opus', seconds: 4 }), readMedia({ container: 'mp4', video: 'h264', audio: 'aac', seconds: 4 })]);
}, 60_000);

/** Every failure names the seed and the input, so it can be replayed. */
function where(kind: string, index: number, input: string): string {
  return `FUZZ_SEED=${SEED}, ${kind} #${index}: ${input.slice(0, 400)}`;
}

let failed = false;
afterAll(() => {
  if (failed) console.error(`fuzz-server failed with FUZZ_SEED=${SEED}; replay: FUZZ_SEED=${SEED} npx vitest run test/integration/fuzz-server.test.ts`);
});

function withinTime<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([promise, new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ANSWER_WITHIN_MS} ms: ${what}`)), ANSWER_WITHIN_MS)))]).finally(() => clearTimeout(timer));
}

/** Send a raw request and read the first answer. A request the server may still be waiting on the rest of is then ended by the client. */
async function exchange(baseUrl: string, request: RawRequest, what: string, { mayWaitForMore = false } = {}): Promise<RawAnswer> {
  const conn = await openRaw(baseUrl, { bodyless: request.bytes.toString('latin1', 0, 5) === 'HEAD ' });
  try {
    await conn.write(request.bytes);
    if (request.end) conn.socket.end();
    if (mayWaitForMore && !request.end) {
      // An ill-framed request may leave the server rightly waiting for more; end it, then an answer is due.
      const early = await Promise.race([conn.answer, conn.closed.then(() => undefined), new Promise<undefined>((r) => setTimeout(r, 2_000))]);
      if (early) return early;
      conn.socket.end();
    }
    return await withinTime(conn.answer, what);
  } finally {
    conn.socket.destroy();
  }
}

/** What every HTTP error must be: the v1 body (or, on the token exchange, the documented 422) and the header. */
function checkHttpAnswer(answer: RawAnswer, what: string, { auth = false, head = false } = {}): any {
  const id = answer.headers['x-correlation-id'];
  expect(id, `X-Correlation-ID on ${answer.status} for ${what}`).toMatch(UUID);
  if (answer.status < 400 || head) return undefined;
  let body: any;
  try {
    body = JSON.parse(answer.text);
  } catch {
    throw new Error(`a ${answer.status} whose body is not JSON (${JSON.stringify(answer.text.slice(0, 200))}) for ${what}`);
  }
  if (auth && answer.status === 422) {
    const check = validateHttpValidationError(body);
    expect(check.ok ? '' : formatDiagnostics(check.errors), what).toBe('');
    return body;
  }
  const check = validateHttpError(body);
  expect(check.ok ? '' : formatDiagnostics(check.errors), `${answer.status} ${answer.text.slice(0, 200)} for ${what}`).toBe('');
  expect(body.correlation_id, what).toBe(id);
  return body;
}

/** The status each code goes with, where a request could meet several. */
const GENERIC = { 400: 'ih4900', 404: 'ih4904', 408: 'ih4908', 431: 'ih4931' } as Record<number, string>;

describe('fuzzing one server', () => {
  it(`answers ${ROUNDS} rounds of malformed input as documented, stays responsive, and leaves a control session untouched (FUZZ_SEED=${SEED})`, async () => {
    let logs = '';
    const sink = new Writable({
      write(chunk, _encoding, done) {
        logs += chunk.toString();
        done();
      },
    });
    const segments = Array.from({ length: ROUNDS + 1 }, () => webm);
    // The control session on a quiet server: what it must get on the fuzzed one too.
    const quiet = await startServer(OPTIONS);
    const reference = await controlRun(quiet.streamUrl, segments.length, async () => {});
    const server = await startServer({ ...OPTIONS, logLevel: 'info', logDestination: sink });
    const inputs = {
      text: sample(textFrame, SEED, PER_ROUND.text * ROUNDS),
      segments: sample(segment([webm, mp4], MAX_SEGMENT_BYTES), SEED + 1, PER_ROUND.segments * ROUNDS),
      upgrades: sample(brokenUpgrade, SEED + 2, PER_ROUND.upgrades * ROUNDS),
      http: sample(brokenHttpRequest, SEED + 3, PER_ROUND.http * ROUNDS),
      uploads: sample(brokenUpload([webm, mp4]), SEED + 4, PER_ROUND.uploads * ROUNDS),
      auth: sample(brokenAuthRequest, SEED + 5, PER_ROUND.auth * ROUNDS),
    };
    const fuzzed = await connect(`${server.streamUrl}?timing=instant`);
    await fuzzed.waitForType('session.ready');
    let segmentIndex = 0;
    const counts = { updated: 0, ih6001: 0, segmentErrors: 0, upgraded: 0 };

    try {
      const control = await controlRun(server.streamUrl, segments.length, async (round) => {
        if (round >= ROUNDS) return;
        const slice = <T>(all: T[], n: number) => all.slice(round * n, (round + 1) * n);

        // Text frames: exactly one answer each, in order: session.updated for a valid config, ih6001 otherwise.
        const texts = slice(inputs.text, PER_ROUND.text);
        const before = fuzzed.frames.length;
        for (const text of texts) fuzzed.sendText(text);
        await fuzzed.waitFor(() => answersSince(fuzzed, before).length >= texts.length, ANSWER_WITHIN_MS, `answers to ${texts.length} text frames (FUZZ_SEED=${SEED})`);
        answersSince(fuzzed, before).forEach((answer, k) => {
          const text = texts[k]!;
          const what = where('text frame', round * PER_ROUND.text + k, JSON.stringify(text));
          if (isValidConfigFrame(text)) {
            expect(answer.type, what).toBe('session.updated');
            counts.updated++;
          } else {
            expect({ type: answer.type, code: answer.data.code, segment: answer.data.segment }, what).toEqual({ type: 'error', code: 'ih6001', segment: null });
            expect(answer.data.message.length, what).toBeLessThan(2_000);
            counts.ih6001++;
          }
        });

        // Segments: each is accepted or refused with a media code; a config frame after each marks where its answers end.
        for (const [k, bytes] of slice(inputs.segments, PER_ROUND.segments).entries()) {
          const what = where('segment', round * PER_ROUND.segments + k, `${bytes.length} bytes, starting ${bytes.subarray(0, 16).toString('hex')}`);
          const mark = fuzzed.frames.length;
          await fuzzed.sendBinary(bytes);
          segmentIndex++;
          fuzzed.sendJson({});
          await fuzzed.waitFor(() => fuzzed.frames.slice(mark).some((f) => f.type === 'session.updated' || (f.type === 'error' && f.data.code === 'ih6001')), ANSWER_WITHIN_MS, what);
          for (const error of fuzzed.frames.slice(mark).filter((f) => f.type === 'error')) {
            counts.segmentErrors++;
            expect(['ih5001', 'ih5004', 'ih5006', 'ih6002'], what).toContain(error.data.code);
            expect(error.data.segment, what).toBe(segmentIndex);
            if (bytes.length > MAX_SEGMENT_BYTES || bytes.length === 0) expect(error.data.code, what).toBe(bytes.length === 0 ? 'ih5004' : 'ih6002');
          }
        }

        // Broken upgrades: 101 with a subprotocol that was offered, or the v1 error of their status.
        for (const [k, request] of slice(inputs.upgrades, PER_ROUND.upgrades).entries()) {
          const what = where('upgrade', round * PER_ROUND.upgrades + k, request.describe);
          const answer = await exchange(server.baseUrl, request, what);
          // 200: a request whose Connection header has no `upgrade` is a plain request (GET /health).
          expect([101, 200, 400, 401, 404], what).toContain(answer.status);
          expect(answer.headers['x-correlation-id'], what).toMatch(UUID);
          if (answer.status === 200) continue;
          if (answer.status === 101) {
            counts.upgraded++;
            const echoed = answer.headers['sec-websocket-protocol'];
            if (echoed !== undefined) expect(request.offered, what).toContain(echoed);
            continue;
          }
          if (request.bytes.toString('latin1', 0, 5) === 'HEAD ') {
            checkHttpAnswer(answer, what, { head: true });
            continue;
          }
          const body = checkHttpAnswer(answer, what);
          expect(answer.status === 401 ? ['ih2001', 'ih2002'] : [GENERIC[answer.status]], what).toContain(body.error_id);
        }

        // Broken HTTP: an answer to everything; every error the v1 body (422 only on the token exchange).
        for (const [k, request] of slice(inputs.http, PER_ROUND.http).entries()) {
          const what = where('http request', round * PER_ROUND.http + k, request.describe);
          const answer = await exchange(server.baseUrl, request, what, { mayWaitForMore: true });
          const line = request.bytes.toString('latin1', 0, 40);
          checkHttpAnswer(answer, what, { auth: /^POST \/v[01]\/auth[ ?\r]/.test(line), head: line.startsWith('HEAD ') });
        }

        // Broken uploads: one of the upload route's documented answers, or the parser's 400.
        for (const [k, request] of slice(inputs.uploads, PER_ROUND.uploads).entries()) {
          const what = where('upload', round * PER_ROUND.uploads + k, request.describe);
          const answer = await exchange(server.baseUrl, request, what);
          if (answer.status === 200) {
            const check = validateUploadResponse(JSON.parse(answer.text));
            expect(check.ok ? '' : formatDiagnostics(check.errors), what).toBe('');
            continue;
          }
          const body = checkHttpAnswer(answer, what);
          expect([...UPLOAD_ERROR_CODES, 'ih4900'], what).toContain(body.error_id);
        }

        // Token-exchange bodies: the documented answers, never echoing a key_secret.
        for (const [k, request] of slice(inputs.auth, PER_ROUND.auth).entries()) {
          const what = where('token exchange', round * PER_ROUND.auth + k, request.describe);
          const answer = await exchange(server.baseUrl, request, what);
          expect([200, 400, 401, 403, 422], what).toContain(answer.status);
          expect(answer.text, what).not.toContain(SECRET_MARK);
          if (answer.status === 200) {
            const check = validateAuthResponse(JSON.parse(answer.text));
            expect(check.ok ? '' : formatDiagnostics(check.errors), what).toBe('');
            continue;
          }
          const body = checkHttpAnswer(answer, what, { auth: true });
          if (answer.status !== 422) expect({ 400: 'ih2005', 401: 'ih2001', 403: 'ih2003' }[answer.status], what).toBe(body.error_id);
        }

        // Still responsive between batches.
        const health = await withinTime(fetch(`${server.baseUrl}/health`), `GET /health after round ${round} (FUZZ_SEED=${SEED})`);
        expect(health.status).toBe(200);
      });

      expect(semantic(control), `the control session's events under fuzzing (FUZZ_SEED=${SEED})`).toEqual(semantic(reference));
      expect((await fuzzed.closeGracefully()).code).toBe(1000);
      await until(() => server.uploads.inFlight === 0, `every upload slot is released (FUZZ_SEED=${SEED})`);
      // The fuzz reached what it was meant to reach.
      expect(counts.updated, 'valid config frames').toBeGreaterThan(10);
      expect(counts.ih6001, 'invalid text frames').toBeGreaterThan(10);
      expect(counts.segmentErrors, 'refused segments').toBeGreaterThan(10);
      expect(counts.upgraded, 'upgrades that succeeded').toBeGreaterThan(5);
      const lines = logs.split('\n').filter(Boolean);
      const bad = lines.filter((l) => l.includes('"stack"') || /\n\s+at /.test(l) || (JSON.parse(l) as { level: number }).level >= 50);
      expect(bad, `error lines or stack traces in the log (FUZZ_SEED=${SEED})`).toEqual([]);
      expect(lines.filter((l) => l.includes(SECRET_MARK)), `key_secret in the log (FUZZ_SEED=${SEED})`).toEqual([]);
    } catch (err) {
      failed = true;
      throw err;
    }
  }, 240_000);
});

/** Server frames answering client frames (session.updated, error without a segment) since `from`. */
function answersSince(client: TestClient, from: number) {
  return client.frames.slice(from).filter((f) => f.type === 'session.updated' || (f.type === 'error' && f.data.segment === null));
}

/**
 * The control session: `n` real segments, each once the server has the last, with `between(round)`
 * run after each, then a graceful close; returns every frame it got.
 */
async function controlRun(streamUrl: string, n: number, between: (round: number) => Promise<void>) {
  const client = await connect(`${streamUrl}${CONTROL_QUERY}`);
  await client.waitForType('session.ready');
  client.sendJson({ include: ['conversation_quality_overall', 'conversation_quality_timeline'] });
  await client.waitForType('session.updated');
  for (let round = 0; round < n; round++) {
    await client.sendBinary(webm);
    await between(round);
  }
  expect((await client.closeGracefully(ANSWER_WITHIN_MS)).code).toBe(1000);
  return client.frames;
}
