/**
 * A received binary message is garbage once the session has read it, and a young-generation
 * collection (a scavenge) frees it. It used not to: ws collects a message's fragments in an array it
 * made when the previous message ended, which by then lives in V8's old generation, and an old
 * object's pointer to a young one is a root for every scavenge until a mark-compact. With thousands
 * of sessions that kept every message until a mark-compact and set one off every half second
 * (`takeMessage` in server/connection.ts; bench/README.md, "Scale").
 *
 * The collections are explicit (V8's `gc`, exposed at run time), so the test is deterministic: the
 * figure is `process.memoryUsage().arrayBuffers`, with array-buffer sweeping done inside each
 * collection rather than on a helper thread later.
 */
import { randomBytes } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { connect } from '../support/client.js';
import { startServer, useServers } from '../support/server.js';
import { untilReceived } from '../support/wait.js';

setFlagsFromString('--expose-gc');
setFlagsFromString('--no-concurrent-array-buffer-sweeping');
// Throws if V8 no longer accepts flags at run time, rather than measuring without them.
const gc = runInNewContext('gc') as (options?: { type: 'minor' | 'major' }) => void;

useServers();

const MB = 1 << 20;

describe('received messages and the garbage collector', () => {
  it('frees a received message at the next scavenge, with the connection several collections old', async () => {
    const server = await startServer({ scenario: 'steady' });
    // The all-zero mask: the client sends the message as it is, so the only copy made of it in
    // this process is the server's (the client's masked copy would wait for a collection too).
    const client = await connect(server.streamUrl, { zeroMask: true });
    await client.waitForType('session.ready');
    // Not media: the session answers ih5004, which takes the message through the same path as video.
    const message = randomBytes(8 * MB);
    await client.sendBinary(message);
    await untilReceived(server, 1);
    // Two full collections move everything still live to the old generation, as time would on a
    // real connection: among it the array ws made for the next message's fragments.
    gc();
    gc();
    const before = process.memoryUsage().arrayBuffers;
    await client.sendBinary(message);
    await untilReceived(server, 2);
    gc({ type: 'minor' });
    const heldAfterScavenge = process.memoryUsage().arrayBuffers - before;
    // Both messages were read: the session refused them as not media.
    await client.waitForType('error', 2);
    expect(client.ofType('error').map((e) => e.data.code)).toEqual(['ih5004', 'ih5004']);
    // Held, the 8-MB message (copied out of the socket's reads by ws) would still be there: 9.3 MB
    // measured with the socket's binaryType left as ws's default, 0.8-1.3 MB with it freed.
    expect(heldAfterScavenge).toBeLessThan(4 * MB);
  });
});
