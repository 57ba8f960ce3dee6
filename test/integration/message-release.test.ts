/**
 * A received binary message is garbage once the session has read it, and a young-generation
 * collection (a scavenge) frees it. It used not to: ws collects a message's fragments in an array it
 * made when the previous message ended, which by then lives in V8's old generation, and an old
 * object's pointer to a young one is a root for every scavenge until a mark-compact. With thousands
 * of sessions that kept every message until a mark-compact and set one off every half second
 * (`takeMessage` in server/connection.ts; bench/README.md, "Scale").
 *
 * The same holds for the replay server, which takes messages the same way (`receiveMessages`). The
 * recording proxy does too, but is not tested here: in about one run in three of such a test, two
 * 8-MB messages were still held after its scavenge (freed by a mark-compact), cause not found
 * (bench/README.md).
 *
 * The collections are explicit (V8's `gc`, exposed at run time), so the test is deterministic: the
 * figure is `process.memoryUsage().arrayBuffers`, with array-buffer sweeping done inside each
 * collection rather than on a helper thread later.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { RealClock } from '../../server/clock.js';
import { Random } from '../../server/random.js';
import { createRecorder } from '../../server/record/proxy.js';
import { readRecording } from '../../server/record/reader.js';
import { createReplayServer } from '../../server/record/replay.js';
import { connect, type TestClient } from '../support/client.js';
import { startServer, useServers } from '../support/server.js';
import { untilReceived } from '../support/wait.js';

setFlagsFromString('--expose-gc');
setFlagsFromString('--no-concurrent-array-buffer-sweeping');
// Throws if V8 no longer accepts flags at run time, rather than measuring without them.
const gc = runInNewContext('gc') as (options?: { type: 'minor' | 'major' }) => void;

useServers();

const MB = 1 << 20;
const quiet = pino({ level: 'silent' });
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/**
 * Sends `message` twice over `client` (its session ready), with two full collections between;
 * `answered(n)` resolves once the n-th message has been taken. Returns the array-buffer bytes still
 * held after one scavenge.
 */
async function heldAfterScavenge(client: TestClient, message: Buffer, answered: (n: number) => Promise<void>): Promise<number> {
  await client.sendBinary(message);
  await answered(1);
  gc();
  gc();
  const before = process.memoryUsage().arrayBuffers;
  await client.sendBinary(message);
  await answered(2);
  gc({ type: 'minor' });
  return process.memoryUsage().arrayBuffers - before;
}

describe('received messages and the garbage collector', () => {
  it('frees a received message at the next scavenge, with the connection several collections old', async () => {
    const server = await startServer({ scenario: 'steady' });
    // The all-zero mask: the client sends the message as it is, so the only copy made of it in
    // this process is the server's (the client's masked copy would wait for a collection too).
    const client = await connect(server.streamUrl, { zeroMask: true });
    await client.waitForType('session.ready');
    // Not media: the session answers ih5004, which takes the message through the same path as video.
    const held = await heldAfterScavenge(client, randomBytes(8 * MB), (n) => untilReceived(server, n));
    // Both messages were read: the session refused them as not media.
    await client.waitForType('error', 2);
    expect(client.ofType('error').map((e) => e.data.code)).toEqual(['ih5004', 'ih5004']);
    // Held, the 8-MB message (copied out of the socket's reads by ws) would still be there: 9.3 MB
    // measured with the socket's binaryType left as ws's default, 0.8-1.3 MB with it freed.
    expect(held).toBeLessThan(4 * MB);
  });

  it('frees it as well in the replay server', async () => {
    // A recording of a session that sent the message twice, made through the recording proxy.
    const upstream = await startServer({ scenario: 'steady', timing: 'instant' });
    const dir = await mkdtemp(join(tmpdir(), 'ih-mock-release-'));
    closers.push(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'session.jsonl');
    const recorder = createRecorder({ upstream: upstream.baseUrl, out: file, withMedia: false, recorder: 'ih-mock test', host: '127.0.0.1', port: 0, clock: new RealClock(), logger: quiet });
    const proxyBase = await recorder.listen();
    closers.push(() => recorder.close());
    const message = randomBytes(8 * MB);
    const recorded = await connect(`${proxyBase.replace('http', 'ws')}/v1/stream/analyze`, { zeroMask: true });
    await recorded.waitForType('session.ready');
    for (let n = 1; n <= 2; n++) {
      await recorded.sendBinary(message);
      await recorded.waitForType('error', n);
    }
    await recorded.closeGracefully(10_000);
    await recorder.close();

    // Its replay: the same client frames, the recorded answers.
    const replay = createReplayServer({ recording: readRecording(file), pace: { mode: 'recorded', speed: 1000 }, host: '127.0.0.1', port: 0, clock: new RealClock(), random: new Random(1), logger: quiet });
    const replayBase = await replay.listen();
    closers.push(() => replay.close());
    const client = await connect(`${replayBase.replace('http', 'ws')}/v1/stream/analyze`, { zeroMask: true });
    await client.waitForType('session.ready');
    const held = await heldAfterScavenge(client, message, (n) => client.waitForType('error', n).then(() => undefined));
    expect(client.ofType('error').map((e) => e.data.code)).toEqual(['ih5004', 'ih5004']);
    expect(replay.divergences).toEqual([]);
    // Held, the 8-MB message would still be there: 8.8 MB measured with the replay's socket left on
    // ws's default binaryType, 0.8 MB with it freed.
    expect(held).toBeLessThan(4 * MB);
  });
});
