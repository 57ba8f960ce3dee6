/**
 * The stream under hostile input, over real sockets: a text frame too big or too wrong to judge
 * cheaply, and a client that stops reading while the server keeps having something to say. Each
 * costs the server a bounded amount of work and memory, and other sessions carry on.
 */
import { describe, expect, it } from 'vitest';
import { socketOf } from '../../server/connection.js';
import type { StreamSession } from '../../server/stream/session.js';
import { connect } from '../support/client.js';
import { startServer, useServers } from '../support/server.js';

useServers();

/** `{"include":[1,1,…]}` of about `bytes` bytes: one schema problem per item. */
function includeOfOnes(bytes: number): string {
  return `{"include":[${Array.from({ length: Math.floor(bytes / 2) }, () => '1').join(',')}]}`;
}

describe('a text frame too big or too wrong', () => {
  it('a 1.4-MB {"include":[1,1,…]} frame gets a short ih6001 without being parsed; the session and a bystander carry on', async () => {
    const server = await startServer();
    const bystander = await connect(server.streamUrl);
    await bystander.waitForType('session.ready');
    const client = await connect(server.streamUrl);
    await client.waitForType('session.ready');
    client.sendText(includeOfOnes(1_400_000));
    const error = await client.waitForType('error');
    expect(error.data.code).toBe('ih6001');
    expect(error.data.segment).toBeNull();
    expect(error.data.message).toMatch(/too large: 1400\d{3} bytes.*at most 65536 bytes/);
    expect(JSON.stringify(error).length, 'the whole error envelope').toBeLessThan(1000);
    // Both sessions still answer config frames, in order.
    client.sendJson({ include: ['conversation_quality_overall'] });
    bystander.sendJson({ include: [] });
    expect((await client.waitForType('session.updated')).data.include).toEqual(['conversation_quality_overall']);
    await bystander.waitForType('session.updated');
    expect(bystander.ofType('error')).toEqual([]);
  });

  it('a frame just under maxTextFrameBytes with 30 000 problems gets one short ih6001 naming the first', async () => {
    const server = await startServer();
    const client = await connect(server.streamUrl);
    await client.waitForType('session.ready');
    const frame = includeOfOnes(60_000);
    expect(frame.length).toBeLessThan(65_536);
    client.sendText(frame);
    const error = await client.waitForType('error');
    expect(error.data.code).toBe('ih6001');
    expect(error.data.message).toMatch(/^Invalid session config frame: "include"\[0\] must be a string \(got 1\); a session config frame is/);
    expect(JSON.stringify(error).length).toBeLessThan(1000);
  });

  it('maxTextFrameBytes is an option: the limit is in bytes of the frame, a valid frame at the limit is read', async () => {
    const server = await startServer({ maxTextFrameBytes: 100 });
    const client = await connect(server.streamUrl);
    await client.waitForType('session.ready');
    const atLimit = JSON.stringify({ include: ['conversation_quality_overall'] }).padEnd(100, ' ');
    client.sendText(atLimit);
    expect((await client.waitForType('session.updated')).data.include).toEqual(['conversation_quality_overall']);
    // 63 characters, 102 bytes: "é" is two bytes in UTF-8.
    const accented = `{"goal_dimensions":["${'é'.repeat(39)}"]}`;
    expect(accented.length).toBe(63);
    client.sendText(accented);
    expect((await client.waitForType('error')).data.message).toMatch(/^Text frame too large: 102 bytes;.* at most 100 bytes/);
  });

  it('goal_dimensions are echoed only within bounds: more than 32, or one over 256 characters, is ih6001', async () => {
    const server = await startServer();
    const client = await connect(server.streamUrl);
    await client.waitForType('session.ready');
    const most = Array.from({ length: 32 }, (_, k) => `g${k}`.padEnd(256, 'x'));
    client.sendJson({ goal_dimensions: most });
    expect((await client.waitForType('session.updated')).data.goal_dimensions).toEqual(most);
    client.sendJson({ goal_dimensions: [...most, 'one more'] });
    expect((await client.waitForType('error')).data.message).toMatch(/"goal_dimensions" must have at most 32 items/);
    client.sendJson({ goal_dimensions: ['y'.repeat(257)] });
    expect((await client.waitForType('error', 2)).data.message).toMatch(/"goal_dimensions"\[0\] must have at most 256 characters/);
  });
});

describe('a client that stops reading', () => {
  it('is closed with 1008 once its send queue passes wsMaxBufferedBytes, and nothing more is queued for it', async () => {
    const limit = 256 * 1024;
    let ended: StreamSession | undefined;
    const server = await startServer({ wsMaxBufferedBytes: limit, onSessionEnded: (s) => (ended = s) });
    const client = await connect(server.streamUrl);
    await client.waitForType('session.ready');
    // The client stops reading its socket but keeps sending config frames, each echoed in a
    // session.updated of about 8 KB: what the server has to send piles up.
    socketOf(client.ws)!.pause();
    const frame = JSON.stringify({ include: [], goal_dimensions: Array.from({ length: 32 }, (_, k) => `g${k}`.padEnd(256, 'x')) });
    // Loopback socket buffers take a few MB before anything waits in the server's own queue;
    // 40 MB of echoes is far past that.
    const maxFrames = 5_000;
    let sent = 0;
    while (ended === undefined && sent < maxFrames) {
      await new Promise<void>((resolve, reject) => client.ws.send(frame, (err) => (err ? reject(err) : resolve())));
      sent++;
    }
    expect(ended, `the server never closed a client that sent ${sent} frames and read none`).toBeDefined();
    expect(ended!.endReason).toBe('client_too_slow');
    const echoed = ended!.stats.eventsSent;
    // Reading again, the client gets what was queued, then the close frame with the reason.
    socketOf(client.ws)!.resume();
    const closed = await client.closed;
    expect(closed).toEqual({ code: 1008, reason: 'send queue full: the client is not reading' });
    // Everything queued before the close arrived, and nothing after it.
    expect(client.ofType('session.updated').length).toBe(echoed - 1);
  });

  it('a client that reads at its own pace is never closed: 2 000 echoes through a 64-KB queue', async () => {
    const server = await startServer({ wsMaxBufferedBytes: 64 * 1024 });
    const client = await connect(server.streamUrl);
    await client.waitForType('session.ready');
    // At most 32 requests in flight (about 8 KB of echoes): the client keeps up with what it asks
    // for. A burst of 2 000 at once would be a client asking for more than the queue holds, which
    // the guard may rightly close on a slow machine.
    const inFlight = 32;
    for (let k = 0; k < 2_000; k++) {
      if (k >= inFlight) await client.waitForType('session.updated', k - inFlight + 1, 30_000);
      client.sendJson({ include: [], goal_dimensions: [`g${k}`] });
    }
    await client.waitForType('session.updated', 2_000, 30_000);
    expect(client.ofType('error')).toEqual([]);
    expect(server.sessions.size).toBe(1);
  });
});
