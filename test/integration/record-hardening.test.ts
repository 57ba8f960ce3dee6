/**
 * The recording proxy under hostile and unlucky conditions (issue 12), in front of a real ih-mock:
 * credentials of every shape never reach the file while protocol words stay whole (and the file
 * passes `ih-mock check`); the recorder process survives anything a client sends, answering its own
 * errors with the v1 body; an upstream that is down or silent gets 502 / 504 at once, not a hang.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { checkRecordings } from '../../conformance/check.js';
import { RealClock, VirtualClock } from '../../server/clock.js';
import { createRecorder, type Recorder } from '../../server/record/proxy.js';
import { readRecording, type RecordedExchange, type RecordedStream } from '../../server/record/reader.js';
import { validateHttpError } from '../../server/validation.js';
import { connect, connectRefused, withTimeout } from '../support/client.js';
import { startCli, waitReady } from '../support/cli.js';
import { liveWebmChunks, readMedia } from '../support/media.js';
import { freePort, rawAttempt, type RawAnswer } from '../support/raw-http.js';
import { startServer, useServers } from '../support/server.js';

useServers();

const API_KEY = 'ih_live_SECRET_api_key_1';
const SHORT_KEY = 'q7z';
const KEY_ID = 'kid_recorder';
const KEY_SECRET = 'ks_SECRET_pair_secret';
const SHORT_SECRET = 'zq9';
const COOKIE_SECRET = 'ck_SECRET_cookie_value';
const BOTH = ['conversation_quality_overall', 'conversation_quality_timeline'];

let chunks: Buffer[];
let mp4: Buffer;
beforeAll(async () => {
  [chunks, mp4] = await Promise.all([liveWebmChunks(12, 3), readMedia({ container: 'mp4', video: 'h264', audio: 'aac', seconds: 4 })]);
}, 120_000);

const quiet = pino({ level: 'silent' });
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function tempFile(name: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ih-mock-rec-hard-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return join(dir, name);
}

async function recorderFor(upstream: string, extra: Partial<Parameters<typeof createRecorder>[0]> = {}): Promise<{ recorder: Recorder; base: string; file: string }> {
  const file = await tempFile('session.jsonl');
  const recorder = createRecorder({ upstream, out: file, withMedia: false, recorder: 'ih-mock test', host: '127.0.0.1', port: 0, clock: new RealClock(), logger: quiet, seed: 1, ...extra });
  const base = await recorder.listen();
  cleanups.push(() => recorder.close());
  return { recorder, base, file };
}

/** An upstream that accepts connections and never answers; `asked` resolves once a request has arrived. */
async function silentUpstream(): Promise<{ upstream: string; asked: Promise<void> }> {
  const silent = createTcpServer();
  const held: Socket[] = [];
  const asked = new Promise<void>((resolve) =>
    silent.on('connection', (socket) => {
      held.push(socket);
      socket.once('data', () => resolve());
    }),
  );
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise((resolve) => {
        for (const s of held) s.destroy();
        silent.close(resolve);
      }),
  );
  return { upstream: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`, asked };
}

/** The v1 error body with a matching X-Correlation-ID, and a message saying it is the proxy's own answer. */
function expectOwnV1Error(res: RawAnswer, status: number): void {
  expect(res.status, res.text.slice(0, 300)).toBe(status);
  const body = JSON.parse(res.text) as Record<string, unknown>;
  expect(validateHttpError(body).ok, res.text).toBe(true);
  expect(res.headers['x-correlation-id']).toBe(body['correlation_id']);
  expect(String(body['message'])).toMatch(/^ih-mock record: /);
}

describe('recorder redaction: by where a credential is, and by its exact later occurrences', () => {
  it('key_secret as an array or object, short secrets, cookies and a multipart file name never reach the file', async () => {
    const server = await startServer({ scenario: 'steady', seed: 11, timing: 'instant', apiKeys: [API_KEY, SHORT_KEY], keyPairs: [{ keyId: KEY_ID, keySecret: KEY_SECRET }, { keyId: 'kid_short', keySecret: SHORT_SECRET }] });
    const { base, file, recorder } = await recorderFor(server.baseUrl);
    const auth = (body: unknown) => fetch(`${base}/v1/auth`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    await auth({ key_id: KEY_ID, key_secret: [KEY_SECRET], scopes: ['interhumanai.stream'] });
    await auth({ key_id: KEY_ID, key_secret: { value: KEY_SECRET, again: [KEY_SECRET] }, scopes: ['interhumanai.stream'] });
    expect((await auth({ key_id: 'kid_short', key_secret: SHORT_SECRET, scopes: ['interhumanai.stream'] })).status).toBe(200);
    // The short secret and a cookie value reappear later, on their own.
    await fetch(`${base}/health?x=${SHORT_SECRET}&ref=${COOKIE_SECRET}`, { headers: { cookie: `sid=${COOKIE_SECRET}; theme=dark` } });
    // A short API key as the stream credential, echoed back by the server in session.updated.
    const client = await connect(`${base.replace('http', 'ws')}/v1/stream/analyze?note=${SHORT_KEY}`, { apiKey: SHORT_KEY });
    await client.waitForType('session.ready');
    client.sendJson({ include: BOTH, goal_dimensions: [SHORT_KEY, 'rapport'] });
    expect((await client.waitForType('session.updated')).data.goal_dimensions).toContain(SHORT_KEY);
    client.ws.close();
    await client.closed;
    // An upload whose file name and a text field carry the key.
    const form = new FormData();
    form.append('note', `uploaded by ${API_KEY}`);
    form.append('file', new Blob([new Uint8Array(mp4)], { type: 'video/mp4' }), `backup_${API_KEY}_v2.mp4`);
    expect((await fetch(`${base}/v1/upload/analyze`, { method: 'POST', headers: { authorization: `Bearer ${API_KEY}` }, body: form })).status).toBe(200);
    await recorder.settled(5000);
    await recorder.close();

    const text = readFileSync(file, 'utf8');
    for (const secret of [API_KEY, KEY_SECRET, SHORT_SECRET, SHORT_KEY, COOKIE_SECRET]) expect(text, `the recording contains ${secret}`).not.toContain(secret);
    const recording = readRecording(file);
    expect(recording.problems).toEqual([]);
    const exchanges = recording.sessions.filter((s): s is RecordedExchange => s.kind === 'http');
    expect(exchanges[0]!.request.body).toEqual({ kind: 'json', json: { key_id: KEY_ID, key_secret: '[redacted]', scopes: ['interhumanai.stream'] } });
    expect(exchanges[1]!.request.body).toEqual({ kind: 'json', json: { key_id: KEY_ID, key_secret: '[redacted]', scopes: ['interhumanai.stream'] } });
    expect(exchanges[3]!.request.query).toBe('x=%5Bredacted%5D&ref=%5Bredacted%5D');
    const stream = recording.sessions.find((s): s is RecordedStream => s.kind === 'stream')!;
    const updated = stream.records.find((r) => r.kind === 'ws.server.text' && r.text.includes('session.updated'));
    expect(updated?.kind === 'ws.server.text' && JSON.parse(updated.text).data.goal_dimensions).toEqual(['[redacted]', 'rapport']);
    const upload = exchanges.find((e) => e.request.path === '/v1/upload/analyze')!;
    expect(upload.request.body).toMatchObject({ kind: 'multipart', fields: [{ name: 'note', value: 'uploaded by [redacted]' }], files: [{ field: 'file', filename: 'backup_[redacted]_v2.mp4' }] });
  }, 60_000);

  it('a subprotocol is redacted at its credential position only: protocol words stay whole and the file passes ih-mock check', async () => {
    const server = await startServer({ scenario: 'steady', seed: 11, timing: 'instant', apiKeys: [API_KEY] });
    const { base, file, recorder } = await recorderFor(server.baseUrl);
    const streamUrl = `${base.replace('http', 'ws')}/v1/stream/analyze`;
    // The key in Authorization; the offered subprotocol `session` is echoed (and, as a single offer, in the credential position).
    const single = await connect(streamUrl, { headers: { Authorization: `Bearer ${API_KEY}` }, protocols: ['session'] });
    expect(single.ws.protocol).toBe('session');
    await single.waitForType('session.ready');
    single.sendJson({ include: BOTH });
    for (const chunk of chunks) await single.sendBinary(chunk);
    expect((await single.closeGracefully(15_000)).code).toBe(1000);
    // The pair form with one more word after it: only the value after access_token is a credential.
    const pair = await connect(streamUrl, { protocols: ['access_token', API_KEY, 'json'] });
    expect(pair.ws.protocol).toBe('access_token');
    await pair.waitForType('session.ready');
    expect((await pair.closeGracefully()).code).toBe(1000);
    await recorder.settled(5000);
    await recorder.close();

    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain(API_KEY);
    expect(text).toContain('session_idle_timeout_seconds');
    expect(text).not.toMatch(/\[redacted\]_/);
    const [first, second] = readRecording(file).sessions as RecordedStream[];
    expect(first!.open).toMatchObject({ headers: { authorization: 'Bearer [redacted]', 'sec-websocket-protocol': '[redacted]' }, protocol: '[redacted]' });
    expect(second!.open).toMatchObject({ headers: { 'sec-websocket-protocol': 'access_token, [redacted], json' }, protocol: 'access_token' });
    const { results, problems, notChecked } = checkRecordings([file]);
    expect(problems).toEqual([]);
    expect(notChecked).toEqual([]);
    expect(results).toHaveLength(2);
    for (const r of results) expect(r.violations, r.source).toEqual([]);
  }, 60_000);
});

describe('the recorder process survives anything a client sends', () => {
  it('bad escapes, cut and broken multipart bodies, malformed HTTP and broken upgrades: own errors in the v1 body, still serving after each', async () => {
    const server = await startServer({ apiKeys: [API_KEY] });
    const file = await tempFile('hostile.jsonl');
    const run = startCli(['record', '--upstream', server.baseUrl, '--out', file, '--port', '0', '--log-level', 'warn']);
    cleanups.push(async () => {
      if (run.child.exitCode === null) run.child.kill('SIGKILL');
      await run.exited;
    });
    const base = await waitReady(run, 20_000, 'record');
    const stillServing = async (after: string) => {
      expect(run.child.exitCode, `the recorder exited after: ${after}\n${run.stderr()}`).toBeNull();
      const health = await fetch(`${base}/health`);
      expect(health.status, `GET /health after: ${after}`).toBe(200);
    };
    const send = (text: string | Buffer, opts: { cutAfterWrite?: boolean } = {}) => rawAttempt(base, text, opts);
    const multipartHead = (length: number) => `POST /v1/upload/analyze HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${API_KEY}\r\nContent-Type: multipart/form-data; boundary=xb\r\nContent-Length: ${length}\r\nConnection: close\r\n\r\n`;
    const cutForm = `--xb\r\nContent-Disposition: form-data; name="file"; filename="a.webm"\r\nContent-Type: video/webm\r\n\r\n${'v'.repeat(2000)}`;
    const upgrade = (extra: string, method = 'GET', target = '/v1/stream/analyze') =>
      `${method} ${target} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nAuthorization: Bearer ${API_KEY}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`;
    const key = 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';

    // Forwarded as they came: the upstream answers, whatever it answers.
    expect((await send('GET /health?%zz=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).status).toBeGreaterThan(0);
    await stillServing('GET /health?%zz=1');
    expect((await send(upgrade(key, 'GET', '/v1/stream/analyze?%zz=1&scenario=steady'), { cutAfterWrite: false })).status).toBeGreaterThan(0);
    await stillServing('an upgrade with a bad escape in its query');
    expect((await send(multipartHead(cutForm.length) + cutForm)).status).toBeGreaterThan(0);
    await stillServing('a multipart body that ends before its final boundary');
    await send(multipartHead(cutForm.length * 4) + cutForm, { cutAfterWrite: true });
    await stillServing('a multipart body cut by the client');
    await send(`POST /v1/upload/analyze HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello`);
    await stillServing('a multipart content type without a boundary');
    const noNames = '--xb\r\nContent-Disposition: form-data\r\n\r\nvalue\r\n--xb\r\nContent-Disposition: form-data; filename="a.webm"\r\nContent-Type: video/webm\r\n\r\nabcdefgh\r\n--xb--\r\n';
    expect((await send(multipartHead(noNames.length) + noNames)).status).toBe(400); // the upstream's ih4001
    await stillServing('multipart parts without a name');
    // HTTP/1.1 without Host: forwarded (the upstream request gets one), not refused with Node's bare 400.
    expect((await send('GET /health HTTP/1.1\r\nConnection: close\r\n\r\n')).status).toBe(200);

    // Not forwardable: the recorder's own answer, a v1 error body with X-Correlation-ID.
    expectOwnV1Error(await send('\x16\x03\x01 not http at all\r\n\r\n'), 400);
    expectOwnV1Error(await send('GET /health HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n'), 400);
    expectOwnV1Error(await send(`GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`), 431);
    expectOwnV1Error(await send('POST /v1/auth HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\nzz\r\n{}\r\n'), 400);
    expectOwnV1Error(await send('GET http://example.invalid/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'), 400);
    expectOwnV1Error(await send(upgrade('')), 400); // no Sec-WebSocket-Key
    expectOwnV1Error(await send(upgrade(`${key}Sec-WebSocket-Protocol: a b\r\n`)), 400);
    expectOwnV1Error(await send(upgrade(`${key}Sec-WebSocket-Protocol: x, x\r\n`)), 400);
    expectOwnV1Error(await send(upgrade(`${key}Sec-WebSocket-Protocol: , ${API_KEY}\r\n`)), 400);
    expectOwnV1Error(await send(upgrade(key, 'POST')), 405);
    await stillServing('malformed HTTP and broken upgrades');

    // A valid upgrade, then bytes that are not WebSocket frames.
    const garbage = await send(Buffer.concat([Buffer.from(upgrade(key)), Buffer.from([0x8f, 0xff, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05])]));
    expect(garbage.status).toBe(101);
    await stillServing('garbage frames after an upgrade');

    run.child.kill('SIGTERM');
    expect((await run.exited).code).toBe(0);
    expect(run.stderr()).not.toMatch(/^\s+at \S+/m); // no stack trace
    const recording = readRecording(file);
    expect(recording.problems).toEqual([]);
    // The body the client cut is recorded as cut, answered by nobody (499), not as a malformed request.
    const cut = recording.sessions.filter((s): s is RecordedExchange => s.kind === 'http' && s.request.path === '/v1/upload/analyze' && s.request.body?.kind === 'raw' && /aborted by the client/.test(s.request.body.text ?? ''));
    expect(cut.length).toBeGreaterThan(0);
    for (const exchange of cut) expect(exchange.response).toMatchObject({ status: 499, by: 'recorder' });
    // The exchange whose chunked encoding broke mid-request is recorded with the answer the client got.
    const chunked = recording.sessions.find((s): s is RecordedExchange => s.kind === 'http' && s.request.path === '/v1/auth');
    expect(chunked?.response).toMatchObject({ status: 400, by: 'recorder', body: { kind: 'json', json: { error_id: 'ih1001' } } });
  }, 60_000);
});

describe('an upstream that is down or silent', () => {
  it('an upgrade gets 502 with the v1 body at once (an upload too), recorded as the recorder\'s answer; close() resolves', async () => {
    const port = await freePort();
    const { base, file, recorder } = await recorderFor(`http://127.0.0.1:${port}`);
    const refused = await withTimeout(connectRefused(`${base.replace('http', 'ws')}/v1/stream/analyze`, { apiKey: API_KEY }), 5000, 'the answer to the upgrade');
    expect(refused.status).toBe(502);
    expect(validateHttpError(refused.body).ok).toBe(true);
    expect(refused.headers['x-correlation-id']).toBe(refused.body.correlation_id);
    expect(refused.body.message).toMatch(/^ih-mock record: the upstream http:\/\/127\.0\.0\.1:\d+ could not be reached/);
    const upload = await fetch(`${base}/v1/upload/analyze`, { method: 'POST', headers: { authorization: `Bearer ${API_KEY}` }, body: new FormData() });
    expect(upload.status).toBe(502);
    const body = (await upload.json()) as Record<string, unknown>;
    expect(validateHttpError(body).ok).toBe(true);
    expect(upload.headers.get('x-correlation-id')).toBe(body['correlation_id']);
    await recorder.settled(5000);
    await withTimeout(recorder.close(), 5000, 'recorder.close()');
    const [stream, exchange] = readRecording(file).sessions;
    expect(stream).toMatchObject({ kind: 'stream', open: { kind: 'ws.refused', status: 502, by: 'recorder' } });
    expect(exchange).toMatchObject({ kind: 'http', response: { status: 502, by: 'recorder', body: { kind: 'json', json: { error_id: 'ih1001' } } } });
  }, 30_000);

  it('an upstream that accepts the connection and never answers the handshake: 504 after the handshake time limit, on the recorder\'s clock', async () => {
    const { upstream, asked } = await silentUpstream();
    const clock = new VirtualClock();
    const { base, recorder } = await recorderFor(upstream, { clock, upstreamHandshakeTimeoutMs: 30_000 });
    const answer = connectRefused(`${base.replace('http', 'ws')}/v1/stream/analyze`, { apiKey: API_KEY });
    await asked;
    await clock.advance(29_000);
    await clock.advance(1_000);
    const refused = await withTimeout(answer, 5000, 'the 504');
    expect(refused.status).toBe(504);
    expect(validateHttpError(refused.body).ok).toBe(true);
    expect(refused.body.message).toMatch(/did not complete the WebSocket handshake within 30 s/);
    await withTimeout(recorder.close(), 5000, 'recorder.close()');
  }, 30_000);

  it('close() resolves while an upgrade still waits for a silent upstream', async () => {
    const { upstream, asked } = await silentUpstream();
    const { base, recorder } = await recorderFor(upstream);
    const answer = connectRefused(`${base.replace('http', 'ws')}/v1/stream/analyze`, { apiKey: API_KEY }).catch((err: Error) => err);
    await asked;
    await withTimeout(recorder.close(), 5000, 'recorder.close()');
    expect(await answer).toBeInstanceOf(Error); // cut, not answered
  }, 30_000);
});
