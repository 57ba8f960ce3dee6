/**
 * Fuzzing the recording proxy (issue 12): the recorder CLI as a process in front of a real ih-mock,
 * fed seeded batches of malformed requests, bad escapes, cut multipart bodies, broken upgrades,
 * garbage frames and odd auth bodies (test/support/fuzz-recorder-inputs.ts), between real sessions.
 * Asserted: it stays up (`/health` through it answers between batches), every error it produces
 * itself is the v1 body with X-Correlation-ID, every connection ends in bounded time, no credential
 * it was sent reaches the file, no stack trace in its output, and its recording passes `ih-mock check`.
 *
 * Seeded and bounded: IH_FUZZ_SEED=<n> replays a run (the seed is printed on failure); a run stops
 * starting batches after FUZZ_BUDGET_MS.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { Random } from '../../server/random.js';
import { readRecording } from '../../server/record/reader.js';
import { validateHttpError } from '../../server/validation.js';
import { connect } from '../support/client.js';
import { runCli, startCli, waitReady } from '../support/cli.js';
import { RECORDER_FUZZ_GENERATORS, type FuzzInput } from '../support/fuzz-recorder-inputs.js';
import { liveWebmChunks } from '../support/media.js';
import { startServer, useServers } from '../support/server.js';
import { until } from '../support/wait.js';

useServers();

const SEED = Number(process.env['IH_FUZZ_SEED'] ?? 20_261_205);
const BATCHES = 8;
const PER_BATCH = 24;
const FUZZ_BUDGET_MS = 20_000;
/** Longest any one connection may take to be answered or closed: the recorder answers in bounded time. */
const CONNECTION_BOUND_MS = 15_000;
const API_KEY = 'ih_live_FUZZ_key_0001';

let chunks: Buffer[];
beforeAll(async () => {
  chunks = await liveWebmChunks(6, 3);
}, 120_000);

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Outcome {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Send one input on its own connection and see it through: an HTTP answer (or the connection
 * closing), a cut right after writing, or for a successful upgrade the WebSocket closing handshake
 * (the client closes its side once the recorder's close frame has arrived).
 */
function exchange(port: number, input: FuzzInput, r: Random): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    let raw = Buffer.alloc(0);
    let outcome: Outcome | null = null;
    let closeSent = false;
    const bound = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer or close within ${CONNECTION_BOUND_MS} ms for: ${input.name}`));
    }, CONNECTION_BOUND_MS);
    const done = () => {
      clearTimeout(bound);
      resolve(outcome ?? { status: 0, headers: {}, body: '' });
    };
    const socket = createConnection({ host: '127.0.0.1', port }, () => {
      socket.write(input.bytes, () => {
        if (input.expect.kind === 'cut') socket.destroy();
      });
    });
    socket.on('data', (d: Buffer) => {
      raw = Buffer.concat([raw, d]);
      const end = raw.indexOf('\r\n\r\n');
      if (end < 0) return;
      outcome ??= parseHead(raw.subarray(0, end).toString('latin1'));
      const rest = raw.subarray(end + 4);
      if (outcome.status === 101) {
        // A WebSocket now: close it, and end our side once the recorder's close frame is in.
        if (!closeSent) {
          closeSent = true;
          socket.write(maskedClose(r));
        }
        if (hasCloseFrame(rest)) socket.end();
        return;
      }
      outcome.body = rest.toString('utf8');
      const length = outcome.headers['content-length'];
      if (length !== undefined && rest.length >= Number(length)) socket.end();
    });
    socket.on('close', done);
    socket.on('error', () => {});
  });
}

function parseHead(head: string): Outcome {
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const at = line.indexOf(':');
    if (at > 0) headers[line.slice(0, at).trim().toLowerCase()] = line.slice(at + 1).trim();
  }
  return { status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0), headers, body: '' };
}

function maskedClose(r: Random): Buffer {
  const key = Buffer.from([r.int(0, 255), r.int(0, 255), r.int(0, 255), r.int(0, 255)]);
  const payload = Buffer.from([0x03, 0xe8]);
  return Buffer.concat([Buffer.from([0x88, 0x82]), key, Buffer.from(payload.map((b, i) => b ^ key[i % 4]!))]);
}

/** Whether the server's (unmasked) frames in `bytes` include a close frame. */
function hasCloseFrame(bytes: Buffer): boolean {
  let at = 0;
  while (at + 2 <= bytes.length) {
    const opcode = bytes[at]! & 0x0f;
    let length = bytes[at + 1]! & 0x7f;
    let header = 2;
    if (length === 126) {
      if (at + 4 > bytes.length) return false;
      length = bytes.readUInt16BE(at + 2);
      header = 4;
    } else if (length === 127) {
      if (at + 10 > bytes.length) return false;
      length = Number(bytes.readBigUInt64BE(at + 2));
      header = 10;
    }
    if (opcode === 0x8) return true;
    at += header + length;
  }
  return false;
}

describe('fuzzing the recorder', () => {
  it(`survives seeded hostile input, answers its own errors with the v1 body, and writes a recording that passes ih-mock check (seed ${SEED})`, async () => {
    onTestFailed(() => console.error(`fuzz-recorder failed with seed ${SEED}: replay it with IH_FUZZ_SEED=${SEED}`));
    const random = new Random(SEED);
    const upstream = await startServer({ scenario: 'steady', seed: 7, timing: 'instant', apiKeys: [API_KEY] });
    const dir = await mkdtemp(join(tmpdir(), 'ih-mock-fuzz-rec-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'fuzz.jsonl');
    const run = startCli(['record', '--upstream', upstream.baseUrl, '--out', file, '--port', '0']);
    cleanups.push(async () => {
      if (run.child.exitCode === null) run.child.kill('SIGKILL');
      await run.exited;
    });
    const base = await waitReady(run, 20_000, 'record');
    const port = Number(new URL(base).port);
    const streamUrl = `${base.replace('http', 'ws')}/v1/stream/analyze?scenario=steady`;

    /** A well-behaved session through the recorder, so the recording has something whole to check. */
    const realSession = async () => {
      const client = await connect(streamUrl, { apiKey: API_KEY });
      await client.waitForType('session.ready');
      client.sendJson({ include: ['conversation_quality_overall'] });
      for (const chunk of chunks) await client.sendBinary(chunk);
      expect((await client.closeGracefully(15_000)).code, `seed ${SEED}`).toBe(1000);
    };
    const stillUp = async (after: string) => {
      expect(run.child.exitCode, `seed ${SEED}: the recorder exited after ${after}\n${run.stderr().slice(-2000)}`).toBeNull();
      const health = await fetch(`${base}/health`);
      expect(health.status, `seed ${SEED}: GET /health after ${after}`).toBe(200);
    };

    await realSession();
    const secrets = new Set<string>();
    const started = Date.now();
    let sent = 0;
    for (let batch = 0; batch < BATCHES && Date.now() - started < FUZZ_BUDGET_MS; batch++) {
      const inputs = Array.from({ length: PER_BATCH }, () => RECORDER_FUZZ_GENERATORS[random.int(0, RECORDER_FUZZ_GENERATORS.length - 1)]!(random, API_KEY));
      // A batch goes out side by side, as a busy proxy sees it.
      const outcomes = await Promise.all(inputs.map((input) => exchange(port, input, random.fork(input.name))));
      inputs.forEach((input, i) => {
        const outcome = outcomes[i]!;
        const what = `seed ${SEED}, batch ${batch}, input ${i}: ${input.name}`;
        for (const s of input.secrets) secrets.add(s);
        if (input.expect.kind === 'own-error') {
          expect(input.expect.statuses, `${what}: status ${outcome.status}`).toContain(outcome.status);
        } else if (input.expect.kind === 'forwarded' || input.expect.kind === 'frames') {
          expect(outcome.status, `${what}: no answer\n${run.stderr().slice(-3000)}`).toBeGreaterThan(0);
        }
        // Every error the recorder makes itself is the v1 body with its X-Correlation-ID.
        if (outcome.status >= 400 && (input.expect.kind === 'own-error' || outcome.body.includes('ih-mock record'))) {
          const body = JSON.parse(outcome.body) as Record<string, unknown>;
          expect(validateHttpError(body).ok, `${what}: ${outcome.body}`).toBe(true);
          expect(outcome.headers['x-correlation-id'], what).toBe(body['correlation_id']);
          expect(String(body['message']), what).toMatch(/^ih-mock record: /);
        }
      });
      sent += inputs.length;
      await stillUp(`batch ${batch}`);
    }
    expect(sent, `seed ${SEED}: at least a few batches within the budget`).toBeGreaterThanOrEqual(PER_BATCH * 2);
    await realSession();

    // Everything that passed the proxy is recorded (every open session closed, every request answered) before it stops.
    const settled = () => {
      const sessions = readRecording(file).sessions;
      return sessions.every((s) => (s.kind === 'http' ? s.response !== undefined : s.open.kind === 'ws.refused' || s.records.some((r) => r.kind === 'ws.close')));
    };
    await until(settled, 'every recorded session has its end recorded', 15_000);
    run.child.kill('SIGTERM');
    expect((await run.exited).code, `seed ${SEED}`).toBe(0);
    const output = `${run.stdout()}\n${run.stderr()}`;
    expect(output, `seed ${SEED}: a stack trace in the recorder's output`).not.toMatch(/^\s+at \S.*:\d+:\d+\)?$/m);

    const text = readFileSync(file, 'utf8');
    for (const secret of [API_KEY, ...secrets]) expect(text.includes(secret), `seed ${SEED}: the recording contains ${secret}`).toBe(false);
    expect(readRecording(file).problems, `seed ${SEED}`).toEqual([]);
    const check = await runCli(['check', file]);
    expect(check.stdout, `seed ${SEED}: ih-mock check`).toMatch(/ 0 not checked, \d+ skipped, 0 error\(s\)/);
    expect(check.code, `seed ${SEED}: ih-mock check\n${check.stdout}`).toBe(0);
    // What it skipped is what the fuzz did on purpose: refused upgrades, clients that left, requests that broke off.
    for (const line of check.stdout.split('\n').filter((l) => /: skipped: /.test(l))) {
      expect(line, `seed ${SEED}`).toMatch(/: skipped: (the upgrade was refused with HTTP \d+|the client closed the connection before the answer|the client's request broke off)/);
    }
  }, 120_000);
});
