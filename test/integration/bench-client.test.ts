/**
 * The bench's own client (bench/client.ts) must see the emulator's error envelopes: any of them marks
 * a bench row as failed, since the emulator would then be measured rejecting media. It reads them
 * from a frame's first bytes, so a change of the envelope's key order (issue 11 moved `type` behind
 * `timestamp` and `correlation_id`) must not blind it; this test checks it against the real server.
 */
import { describe, expect, it } from 'vitest';
import { BenchConnection } from '../../bench/client.js';
import { readMedia } from '../support/media.js';
import { startServer, useServers } from '../support/server.js';

useServers();

describe('the bench client', () => {
  it('counts the error envelopes the emulator sends, and only those', async () => {
    const server = await startServer();
    const conn = await BenchConnection.open(server.streamUrl);
    conn.send(await readMedia({ container: 'webm', video: 'vp8', audio: 'opus', seconds: 4 }));
    await conn.barrier(); // ws answers the ping after the frames before it, in order
    expect(conn.textFrames).toBeGreaterThan(0); // session.ready at least
    expect(conn.errorFrames).toBe(0);
    conn.send(Buffer.from('definitely not a video segment'));
    await conn.barrier();
    expect(conn.errorFrames).toBe(1);
    expect(conn.firstError).toMatch(/"type":"error","data":\{"code":"ih5004"/);
    conn.ws.close();
  });
});
