/**
 * Record and replay (issue 6) with a second ih-mock as the upstream: the recording proxy in front of
 * it, real continuation WebM, a real upload and a token exchange; then replay at each pacing mode,
 * divergence reports, scenario extraction, and a recorder killed mid-session.
 */
import { readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RealClock, VirtualClock, type Clock } from '../../server/clock.js';
import { Random } from '../../server/random.js';
import { extractScenario } from '../../server/record/extract.js';
import { loadScenario } from '../../scenarios/loader.js';
import { createRecorder, type Recorder } from '../../server/record/proxy.js';
import { readRecording, serverEvents, type RecordedStream } from '../../server/record/reader.js';
import { createReplayServer, type ReplayPace, type ReplayServer } from '../../server/record/replay.js';
import { connect, connectRefused, type Frame, type TestClient } from '../support/client.js';
import { startCli, waitReady } from '../support/cli.js';
import { liveWebmChunks, readMedia } from '../support/media.js';
import { semantic } from '../support/protocol.js';
import { startServer, useServers } from '../support/server.js';
import { until, untilReceived } from '../support/wait.js';

useServers();

const API_KEY = 'ih_live_SECRET_api_key_1';
const KEY_ID = 'kid_recorder';
const KEY_SECRET = 'ks_SECRET_pair_secret';
const BOTH = ['conversation_quality_overall', 'conversation_quality_timeline'];

let chunks: Buffer[];
let mp4: Buffer;
beforeAll(async () => {
  [chunks, mp4] = await Promise.all([liveWebmChunks(30, 3), readMedia({ container: 'mp4', video: 'h264', audio: 'aac', seconds: 4 })]);
}, 120_000);

const quiet = pino({ level: 'silent' });
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** An upstream ih-mock: steady, instant, seeded, with one API key and one key pair. */
function upstream() {
  return startServer({ scenario: 'steady', seed: 11, timing: 'instant', apiKeys: [API_KEY], keyPairs: [{ keyId: KEY_ID, keySecret: KEY_SECRET }] });
}

async function recorderFor(upstreamBase: string, withMedia = false, clock: Clock = new RealClock()): Promise<{ recorder: Recorder; base: string; file: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'ih-mock-rec-'));
  closers.push(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'session.jsonl');
  const recorder = createRecorder({ upstream: upstreamBase, out: file, withMedia, recorder: 'ih-mock test', host: '127.0.0.1', port: 0, clock, logger: quiet });
  const base = await recorder.listen();
  closers.push(() => recorder.close());
  return { recorder, base, file };
}

/** The client under test: config, every chunk, session.close; returns what it saw. */
async function streamSession(streamUrl: string, credential: { apiKey?: string; protocols?: string | string[] }, config: unknown = { include: BOTH }): Promise<{ client: TestClient; frames: Frame[] }> {
  const client = await connect(streamUrl, credential.protocols ? { protocols: credential.protocols } : { apiKey: credential.apiKey ?? API_KEY });
  await client.waitForType('session.ready');
  client.sendJson(config);
  await client.waitForType('session.updated');
  for (const chunk of chunks) await client.sendBinary(chunk);
  const { code } = await client.closeGracefully(15_000);
  expect(code).toBe(1000);
  return { client, frames: client.frames };
}

async function exchangeToken(base: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${base}/v1/auth`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key_id: KEY_ID, key_secret: KEY_SECRET, scopes: ['interhumanai.stream', 'interhumanai.upload'] }) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function upload(base: string, token: string): Promise<{ status: number; body: unknown }> {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(mp4)], { type: "video/mp4" }), 'call.mp4');
  form.append('include[]', 'conversation_quality_overall');
  const res = await fetch(`${base}/v1/upload/analyze`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
  return { status: res.status, body: await res.json() };
}

/**
 * Resolves once the server has handled everything this client sent so far, and everything it sent in
 * answer has arrived: a ping travels behind the client's frames, its pong behind the server's.
 */
async function roundTrip(client: TestClient): Promise<void> {
  await new Promise<void>((resolve) => {
    client.ws.once('pong', () => resolve());
    client.ws.ping();
  });
}

/** Type, data and correlation id: everything but the wall-clock timestamp. */
const exact = (frames: Frame[]) => frames.map((f) => ({ type: f.type, correlation_id: f.correlation_id, data: f.data }));

describe('ih-mock record', () => {
  it('proxies a stream session, a token exchange and an upload unchanged, and records them without a credential', async () => {
    const direct = await upstream();
    const proxied = await upstream();
    const { base, file, recorder } = await recorderFor(proxied.baseUrl);
    const streamUrl = `${base.replace('http', 'ws')}/v1/stream/analyze`;

    // The same client, straight to one upstream and through the recorder to its twin.
    const tokenDirect = await exchangeToken(direct.baseUrl);
    const tokenProxied = await exchangeToken(base);
    expect(tokenProxied.status).toBe(200);
    expect({ ...tokenProxied.body, access_token: 'x' }).toEqual({ ...tokenDirect.body, access_token: 'x' });
    const token = String(tokenProxied.body['access_token']);
    const viaDirect = await streamSession(direct.streamUrl, { apiKey: API_KEY });
    const viaProxy = await streamSession(streamUrl, { apiKey: API_KEY });
    expect(exact(viaProxy.frames)).toEqual(exact(viaDirect.frames));
    expect(viaProxy.client.upgrade?.headers['x-correlation-id']).toBe(viaProxy.frames[0]!.correlation_id);
    // A browser-style credential (subprotocol) travels through and is echoed as the upstream echoes it.
    const viaProtocol = await streamSession(streamUrl, { protocols: token });
    expect(viaProtocol.client.ws.protocol).toBe(token);
    expect(semantic(viaProtocol.frames)).toEqual(semantic(viaDirect.frames));
    expect(await upload(base, token)).toEqual(await upload(direct.baseUrl, String(tokenDirect.body['access_token'])));
    await recorder.close();

    const text = readFileSync(file, 'utf8');
    for (const secret of [API_KEY, KEY_SECRET, token, token.slice(6)]) expect(text, `the recording contains ${secret}`).not.toContain(secret);
    expect(text).toContain('[redacted]');
    const recording = readRecording(file);
    expect(recording.problems).toEqual([]);
    expect(recording.truncated).toBe(false);
    expect(recording.header).toMatchObject({ format: 'ih-mock-recording', version: 1, upstream: new URL(proxied.baseUrl).origin, media: 'summary' });
    expect(recording.sessions.map((s) => (s.kind === 'http' ? `${s.request.method} ${s.request.path} ${s.response?.status}` : `stream ${s.open.kind}`))).toEqual([
      'POST /v1/auth 200',
      'stream ws.open',
      'stream ws.open',
      'POST /v1/upload/analyze 200',
    ]);
    const stream = recording.sessions[1] as RecordedStream;
    expect(stream.open).toMatchObject({ path: '/v1/stream/analyze', headers: { authorization: 'Bearer [redacted]' }, correlation_id: viaProxy.frames[0]!.correlation_id });
    expect((recording.sessions[2] as RecordedStream).open).toMatchObject({ protocol: '[redacted]', headers: { 'sec-websocket-protocol': '[redacted]' } });
    // Frames in both directions: every chunk with its media seconds (30 s in all), every server frame verbatim.
    const binaries = stream.records.filter((r) => r.kind === 'ws.client.binary');
    expect(binaries).toHaveLength(chunks.length);
    expect(binaries.reduce((s, r) => s + (r.media_seconds ?? 0), 0)).toBeCloseTo(30, 1);
    expect(binaries.map((r) => r.kind === 'ws.client.binary' && r.video_codec)).toEqual(chunks.map(() => 'vp8')); // the stream's codec, on every chunk
    expect(serverEvents(stream).map((e) => e.type)).toEqual(viaProxy.frames.map((f) => f.type));
    expect(stream.records.at(-1)).toMatchObject({ kind: 'ws.close', by: 'server', code: 1000 });
    const exchange = recording.sessions[0]!;
    expect(exchange.kind === 'http' && exchange.request.body).toEqual({ kind: 'json', json: { key_id: KEY_ID, key_secret: '[redacted]', scopes: ['interhumanai.stream', 'interhumanai.upload'] } });
    expect(exchange.kind === 'http' && exchange.response?.body).toMatchObject({ kind: 'json', json: { access_token: '[redacted]', token_type: 'Bearer' } });
    const uploadRecord = recording.sessions[3]!;
    expect(uploadRecord.kind === 'http' && uploadRecord.request.body).toMatchObject({ kind: 'multipart', fields: [{ name: 'include[]', value: 'conversation_quality_overall' }], files: [{ field: 'file', filename: 'call.mp4', bytes: mp4.length }] });
  }, 60_000);

  it('credentials in odd places never reach the file, and a refused upgrade reaches the client as the upstream sent it', async () => {
    const server = await upstream();
    const { base, file, recorder } = await recorderFor(server.baseUrl);
    const wsBase = base.replace('http', 'ws');
    // A key in the query string too, as some browser clients send it.
    const inQuery = await connect(`${wsBase}/v1/stream/analyze?access_token=${API_KEY}&scenario=steady`, { apiKey: API_KEY });
    await inQuery.waitForType('session.ready');
    inQuery.ws.close();
    // A refused upgrade: the client sees the upstream's 401 and body, not a parse error.
    const refused = await connectRefused(`${wsBase}/v1/stream/analyze`, { apiKey: 'ih_live_SECRET_wrong_key' });
    expect(refused.status).toBe(401);
    expect(refused.body).toMatchObject({ error_id: 'ih2001' });
    // Token-exchange bodies that are not valid JSON, or hold a numeric secret; a form field named api_key.
    const post = (body: string, type = 'application/json') => fetch(`${base}/v1/auth`, { method: 'POST', headers: { 'content-type': type }, body });
    await post(`{"key_id":"${KEY_ID}","key_secret":"${KEY_SECRET}",}`);
    await post(`{"key_id":"${KEY_ID}","key_secret":"${KEY_SECRET}"}`, 'text/plain');
    await post(`{"key_id":"${KEY_ID}","key_secret":12345678901}`);
    const form = new FormData();
    form.append('api_key', 'ih_live_SECRET_in_a_form');
    form.append('file', new Blob([new Uint8Array(mp4)], { type: 'video/mp4' }), 'call.mp4');
    await fetch(`${base}/v1/upload/analyze`, { method: 'POST', headers: { authorization: `Bearer ${API_KEY}` }, body: form });
    // A request target that names another host is refused, not forwarded there with the credential.
    const elsewhere = await new Promise<string>((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port: Number(new URL(base).port) }, () => socket.write(`GET http://example.invalid/v1/auth HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${API_KEY}\r\nConnection: close\r\n\r\n`));
      let text = '';
      socket.on('data', (d) => (text += d));
      socket.on('end', () => resolve(text));
    });
    expect(elsewhere).toMatch(/^HTTP\/1\.1 400/);
    await until(() => readRecording(file).sessions.length >= 6, "every session is recorded");
    await recorder.close();
    const text = readFileSync(file, 'utf8');
    for (const secret of [API_KEY, KEY_SECRET, 'ih_live_SECRET_wrong_key', '12345678901', 'ih_live_SECRET_in_a_form']) expect(text, `the recording contains ${secret}`).not.toContain(secret);
    expect(readRecording(file).problems).toEqual([]);
  }, 60_000);

  it('--with-media keeps the video bytes in a sidecar the records point into', async () => {
    const server = await upstream();
    const { base, file, recorder } = await recorderFor(server.baseUrl, true);
    await streamSession(`${base.replace('http', 'ws')}/v1/stream/analyze`, { apiKey: API_KEY });
    await recorder.close();
    const recording = readRecording(file);
    expect(recording.header).toMatchObject({ media: 'sidecar', sidecar: 'session.jsonl.media' });
    const sidecar = readFileSync(`${file}.media`);
    const binaries = (recording.sessions[0] as RecordedStream).records.filter((r) => r.kind === 'ws.client.binary');
    binaries.forEach((r, i) => {
      expect(r.kind === 'ws.client.binary' && r.sidecar).toBeTruthy();
      if (r.kind === 'ws.client.binary' && r.sidecar) expect(sidecar.subarray(r.sidecar.offset, r.sidecar.offset + r.sidecar.length).equals(chunks[i]!)).toBe(true);
    });
  }, 60_000);

  it('an upload the client abandons before the answer is recorded as 499, and its replay answers nothing', async () => {
    // 4 s of video at ratio 1: the upstream answers after 4 s; the client gives up after 300 ms.
    const server = await startServer({ scenario: 'steady', seed: 11, processingRatio: 1, apiKeys: [API_KEY] });
    const { base, file, recorder } = await recorderFor(server.baseUrl);
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(mp4)], { type: 'video/mp4' }), 'call.mp4');
    const gaveUp = fetch(`${base}/v1/upload/analyze`, { method: 'POST', headers: { authorization: `Bearer ${API_KEY}` }, body: form, signal: AbortSignal.timeout(300) });
    await expect(gaveUp).rejects.toThrow();
    await until(() => readRecording(file).sessions.some((s) => s.kind === 'http' && s.response !== undefined), 'the abandoned exchange is recorded');
    await recorder.close();
    const recording = readRecording(file);
    const exchange = recording.sessions[0]!;
    expect(exchange.kind === 'http' && exchange.response).toMatchObject({ status: 499, body: { kind: 'raw', text: expect.stringMatching(/closed the connection before the answer/) } });
    expect(recording.sessions).toHaveLength(1); // no 502 or late answer recorded after it

    const replay = createReplayServer({ recording, pace: { mode: 'recorded', speed: 1 }, host: '127.0.0.1', port: 0, clock: new RealClock(), random: new Random(1), logger: quiet });
    const replayBase = await replay.listen();
    const again = new FormData();
    again.append('file', new Blob([new Uint8Array(mp4)], { type: 'video/mp4' }), 'call.mp4');
    // One field more than recorded: the replay reports it once it has read and matched the whole
    // request, which is when it decides (at once) whether to answer.
    again.append('probe', '1');
    let outcome = 'no answer yet';
    const pending = fetch(`${replayBase}/v1/upload/analyze`, { method: 'POST', headers: { authorization: 'Bearer k' }, body: again });
    pending.then((r) => (outcome = `answered ${r.status}`), () => (outcome = 'cut'));
    await until(() => replay.divergences.some((d) => /the form fields differ/.test(d.message)), 'the replay has read the request');
    expect(outcome).toBe('no answer yet');
    await replay.close(); // cuts the held request, and does not wait for it
    await expect(pending).rejects.toThrow();
  }, 30_000);

  it('an early answer (429 before the body is read) is recorded with the body the client sent before leaving', async () => {
    const server = await startServer({ scenario: 'quota-exhausted', apiKeys: [API_KEY] });
    const { base, file, recorder } = await recorderFor(server.baseUrl);
    const { port } = new URL(base);
    // A client that announces 8 MB, sends 1 MB, reads the early 429 and leaves.
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = createConnection({ host: '127.0.0.1', port: Number(port) }, () => {
        const boundary = 'xbound';
        const head = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.webm"\r\nContent-Type: video/webm\r\n\r\n`;
        socket.write(`POST /v1/upload/analyze HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${API_KEY}\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${8 << 20}\r\n\r\n${head}`);
        socket.write(Buffer.alloc(1 << 20));
      });
      let text = '';
      socket.on('data', (d) => {
        text += d.toString('latin1');
        if (text.includes('\r\n\r\n') && text.includes('}')) {
          socket.destroy();
          resolve(text);
        }
      });
      socket.on('error', reject);
    });
    expect(answer).toMatch(/^HTTP\/1.1 429/);
    // An hour's timeout: settled() must resolve because the exchange is recorded (not left open), within the test's 30 s.
    await recorder.settled(3_600_000);
    await recorder.close();
    const exchange = readRecording(file).sessions[0]!;
    expect(exchange.kind === 'http' && exchange.response?.status).toBe(429);
    expect(exchange.kind === 'http' && exchange.request.body).toMatchObject({ kind: 'raw', text: expect.stringMatching(/aborted by the client/) });
  }, 30_000);

  it("settled() waits while a stream session is open, gives up after its timeout on the recorder's clock, and resolves when the session closes", async () => {
    const server = await upstream();
    const clock = new VirtualClock();
    const { base, recorder } = await recorderFor(server.baseUrl, false, clock);
    const client = await connect(`${base.replace('http', 'ws')}/v1/stream/analyze`, { apiKey: API_KEY });
    await client.waitForType('session.ready');
    // A minute of the recorder's clock, longer than this test may take in real time.
    let timedOut = false;
    const timeout = recorder.settled(60_000).then(() => (timedOut = true));
    await clock.advance(59_999);
    expect(timedOut).toBe(false);
    await clock.advance(1);
    await timeout; // the session is still open: only the clock ended the wait
    // An hour's timeout the virtual clock never reaches: only the session's end can resolve it.
    const idle = recorder.settled(3_600_000);
    client.ws.close(1000, 'done');
    await idle;
    await client.closed;
  }, 30_000);

  it('an upstream that cuts an upload with no answer cuts the client too (no 502 of the proxy\'s own), recorded as 502', async () => {
    const scenario = { ...loadScenario('steady'), name: 'cut', faults: [{ when: { upload: 1 }, action: 'disconnect' as const }] };
    const server = await startServer({ scenario, processingRatio: 0, apiKeys: [API_KEY] });
    const { base, file, recorder } = await recorderFor(server.baseUrl);
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(mp4)], { type: 'video/mp4' }), 'call.mp4');
    await expect(fetch(`${base}/v1/upload/analyze`, { method: 'POST', headers: { authorization: `Bearer ${API_KEY}` }, body: form })).rejects.toThrow();
    await recorder.settled(5000);
    await recorder.close();
    const exchange = readRecording(file).sessions[0]!;
    expect(exchange.kind === 'http' && exchange.response).toMatchObject({ status: 502, body: { kind: 'raw', text: expect.stringMatching(/upstream cut the connection without an answer/) } });
  }, 30_000);

  it('a recorder killed with SIGKILL mid-session leaves a file readable up to its last record', async () => {
    const server = await upstream();
    const dir = await mkdtemp(join(tmpdir(), 'ih-mock-kill-'));
    closers.push(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'killed.jsonl');
    const run = startCli(['record', '--upstream', server.baseUrl, '--out', file, '--port', '0', '--log-level', 'silent']);
    const base = await waitReady(run, 20_000, 'record');
    const client = await connect(`${base.replace('http', 'ws')}/v1/stream/analyze`, { apiKey: API_KEY });
    await client.waitForType('session.ready');
    client.sendJson({ include: BOTH });
    for (const chunk of chunks.slice(0, 5)) await client.sendBinary(chunk);
    await client.waitForType('signal.detected');
    // Every chunk has passed the proxy (so its record is written) once the upstream has it.
    await untilReceived(server, 5);
    run.child.kill('SIGKILL');
    await run.exited;
    const recording = readRecording(file);
    const stream = recording.sessions[0] as RecordedStream;
    expect(stream.open.kind).toBe('ws.open');
    expect(stream.records.filter((r) => r.kind === 'ws.client.binary').length).toBeGreaterThanOrEqual(4);
    expect(serverEvents(stream).map((e) => e.type)).toContain('signal.detected');
    expect(stream.records.some((r) => r.kind === 'ws.close')).toBe(false);
    // A line cut by the kill is reported, not fatal.
    const cut = readRecording(file).records.length;
    const partial = `${readFileSync(file, 'utf8')}{"kind":"ws.server.text","session":1,"t":12`;
    const { parseRecording } = await import('../../server/record/reader.js');
    const parsed = parseRecording(partial, 'cut.jsonl');
    expect(parsed.truncated).toBe(true);
    expect(parsed.records).toHaveLength(cut);
    expect(parsed.problems.at(-1)!.message).toMatch(/cut short/);
  }, 60_000);
});

describe('ih-mock replay', () => {
  /** A fresh recording of one stream session, a token exchange and an upload. */
  async function recordOne(): Promise<{ file: string; frames: Frame[]; uploaded: { status: number; body: unknown } }> {
    const server = await upstream();
    const { base, file, recorder } = await recorderFor(server.baseUrl);
    const token = String((await exchangeToken(base)).body['access_token']);
    const { frames } = await streamSession(`${base.replace('http', 'ws')}/v1/stream/analyze`, { apiKey: API_KEY });
    const uploaded = await upload(base, token);
    await recorder.close();
    return { file, frames, uploaded };
  }

  async function replayServer(file: string, pace: ReplayPace, clientIdleMs?: number): Promise<{ replay: ReplayServer; base: string }> {
    const replay = createReplayServer({ recording: readRecording(file), pace, host: '127.0.0.1', port: 0, clock: new RealClock(), random: new Random(1), logger: quiet, ...(clientIdleMs !== undefined ? { clientIdleMs } : {}) });
    const base = await replay.listen();
    closers.push(() => replay.close());
    return { replay, base };
  }

  it.each<[string, ReplayPace]>([
    ['as recorded', { mode: 'recorded', speed: 1 }],
    ['4x faster', { mode: 'recorded', speed: 4 }],
    ['paced by the client media', { mode: 'media' }],
  ])('%s: the same client gets the same server frames in the same order, with no divergence', async (_name, pace) => {
    const { file, frames, uploaded } = await recordOne();
    const { replay, base } = await replayServer(file, pace);
    const token = await exchangeToken(base);
    expect(token.status).toBe(200);
    expect(String(token.body['access_token'])).toMatch(/^ihtok_[0-9a-f]{40}$/);
    const replayed = await streamSession(`${base.replace('http', 'ws')}/v1/stream/analyze`, { apiKey: 'any-key-works' });
    expect(exact(replayed.frames)).toEqual(exact(frames));
    expect(replayed.client.upgrade?.headers['x-correlation-id']).toBe(frames[0]!.correlation_id);
    expect(await upload(base, String(token.body['access_token']))).toEqual(uploaded);
    expect(replay.divergences).toEqual([]);
  }, 60_000);

  it('media pacing holds each event until the client has sent the media it is about', async () => {
    const { file } = await recordOne();
    const { base } = await replayServer(file, { mode: 'media' });
    const client = await connect(`${base.replace('http', 'ws')}/v1/stream/analyze`, { apiKey: 'k' });
    await client.waitForType('session.ready');
    client.sendJson({ include: BOTH });
    await client.waitForType('session.updated');
    await roundTrip(client);
    expect(client.types()).toEqual(['session.ready', 'session.updated']); // no media, no analysis
    for (const chunk of chunks.slice(0, 4)) await client.sendBinary(chunk); // 12 s: windows up to [3, 11)
    await roundTrip(client); // everything those 12 s unlocked has arrived
    expect(client.types()).toContain('signal.detected');
    const times = client.frames.flatMap((f) => (f.type === 'signal.detected' || f.type === 'engagement.updated' ? [f.data.start as number] : f.type === 'signal.ended' ? [f.data.end as number] : []));
    for (const t of times) expect(t).toBeLessThanOrEqual(12);
    client.ws.close();
  }, 60_000);

  it('reports a client that sends a different config, fewer segments or another token request', async () => {
    const { file } = await recordOne();
    const { replay, base } = await replayServer(file, { mode: 'media' });
    const client = await connect(`${base.replace('http', 'ws')}/v1/stream/analyze`, { apiKey: 'k' });
    await client.waitForType('session.ready');
    client.sendJson({ include: ['conversation_quality_overall'] });
    for (const chunk of chunks.slice(0, 3)) await client.sendBinary(chunk);
    client.ws.close();
    await client.closed;
    await until(() => replay.divergences.length >= 3, 'the divergences are reported');
    const messages = replay.divergences.map((d) => d.message);
    expect(messages).toContain('text frame 1 differs');
    expect(replay.divergences[0]).toMatchObject({ expected: { include: BOTH }, actual: { include: ['conversation_quality_overall'] } });
    expect(messages.some((m) => /sent 3 segments before closing, the recorded one 10/.test(m))).toBe(true);
    expect(messages.some((m) => /never sent session\.close before closing; the recorded one did/.test(m))).toBe(true);
    const res = await fetch(`${base}/v1/auth`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key_id: 'someone_else', key_secret: 'x', scopes: ['interhumanai.stream'] }) });
    expect(res.status).toBe(200);
    await until(() => replay.divergences.some((d) => /\/v1\/auth: the JSON body differs/.test(d.message)), 'the auth divergence');
    expect(JSON.stringify(replay.divergences)).not.toContain('"x"'); // a live secret is never printed
  }, 60_000);
});

describe('ih-mock replay: a client that stops short', () => {
  it.each<[string, ReplayPace]>([
    ['as recorded', { mode: 'recorded', speed: 4 }],
    ['paced by the client media', { mode: 'media' }],
  ])('%s: the shortfall is reported and the session still ends with the recorded ending', async (_name, pace) => {
    const server = await upstream();
    const { base: recorderBase, file, recorder } = await recorderFor(server.baseUrl);
    const recorded = await streamSession(`${recorderBase.replace('http', 'ws')}/v1/stream/analyze`, { apiKey: API_KEY });
    await recorder.close();
    const replay = createReplayServer({ recording: readRecording(file), pace, host: '127.0.0.1', port: 0, clock: new RealClock(), random: new Random(1), logger: quiet, clientIdleMs: 500 });
    const base = await replay.listen();
    closers.push(() => replay.close());
    // Three of the ten segments, and no session.close: then the client waits, as a stuck client would.
    const client = await connect(`${base.replace('http', 'ws')}/v1/stream/analyze`, { apiKey: 'k' });
    await client.waitForType('session.ready');
    client.sendJson({ include: BOTH });
    for (const chunk of chunks.slice(0, 3)) await client.sendBinary(chunk);
    await client.waitForType('session.ended', 1, 20_000);
    expect((await client.closed).code).toBe(1000);
    expect(client.types()).toEqual(recorded.frames.map((f) => f.type)); // the recorded session, to its end
    const messages = replay.divergences.map((d) => d.message);
    expect(messages).toContainEqual(expect.stringMatching(/^the client sent 3 segments before falling silent for 0\.5 s, the recorded one 10$/));
    expect(messages).toContainEqual(expect.stringMatching(/^the client never sent session\.close before falling silent for 0\.5 s; the recorded one did$/));
  }, 60_000);

  it('as recorded: a client slower than the recorded one still gets the closing frames only after its session.close, and no divergence', async () => {
    const server = await upstream();
    const { base: recorderBase, file, recorder } = await recorderFor(server.baseUrl);
    await streamSession(`${recorderBase.replace('http', 'ws')}/v1/stream/analyze`, { apiKey: API_KEY });
    await recorder.close();
    const replay = createReplayServer({ recording: readRecording(file), pace: { mode: 'recorded', speed: 1000 }, host: '127.0.0.1', port: 0, clock: new RealClock(), random: new Random(1), logger: quiet });
    const base = await replay.listen();
    closers.push(() => replay.close());
    // At 1000x every recorded frame is due at once; the closing ones must still wait for session.close.
    const client = await connect(`${base.replace('http', 'ws')}/v1/stream/analyze`, { apiKey: 'k' });
    await client.waitForType('session.ready');
    client.sendJson({ include: BOTH });
    await client.waitForType('session.updated');
    for (const chunk of chunks) await client.sendBinary(chunk);
    await roundTrip(client);
    expect(client.types()).not.toContain('session.closing');
    expect((await client.closeGracefully(15_000)).code).toBe(1000);
    expect(client.types().at(-1)).toBe('session.ended');
    expect(replay.divergences).toEqual([]);
  }, 60_000);
});

describe('ih-mock scenarios from-recording', () => {
  it('reconstructs a scenario that makes the emulator reproduce the recorded signal, engagement and quality events', async () => {
    const server = await upstream();
    const { base, file, recorder } = await recorderFor(server.baseUrl);
    const recorded = await streamSession(`${base.replace('http', 'ws')}/v1/stream/analyze`, { apiKey: API_KEY });
    await recorder.close();
    const stream = readRecording(file).sessions[0] as RecordedStream;
    const scenario = extractScenario(serverEvents(stream), { name: 'extracted', mediaEnd: 30 });
    const reproduced = await startServer({ scenario, timing: 'instant', clock: new VirtualClock() });
    const again = await streamSession(reproduced.streamUrl, { apiKey: 'k' });
    const analysis = (frames: Frame[]) => semantic(frames.filter((f) => /^(signal|engagement|conversation_quality)\./.test(f.type)));
    expect(analysis(again.frames).length).toBeGreaterThan(5);
    expect(analysis(again.frames)).toEqual(analysis(recorded.frames));
  }, 60_000);
});
