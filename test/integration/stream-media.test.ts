/**
 * Video segments, windows and signal lifecycles over real sockets with real media made by ffmpeg,
 * driven by a virtual clock so latency and timeouts are exact (docs/protocol.md §3.4–3.6).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { VirtualClock } from '../../server/clock.js';
import { connect, type Frame, type TestClient } from '../support/client.js';
import { fragmentedMp4Chunks, liveWebmChunks, readMedia } from '../support/media.js';
import { startServer, useServers } from '../support/server.js';
import { checkLifecycles, semantic } from '../support/protocol.js';
import { until, untilReceived } from '../support/wait.js';

useServers();

let webm4s: Buffer;
let webm2s: Buffer;
let webmAudioOnly: Buffer;
let vp9VideoOnly4s: Buffer;
let mp4s4s: Buffer;

beforeAll(async () => {
  [webm4s, webm2s, webmAudioOnly, vp9VideoOnly4s, mp4s4s] = await Promise.all([
    readMedia({ container: 'webm', video: 'vp8', audio: 'opus', seconds: 4 }),
    readMedia({ container: 'webm', video: 'vp8', audio: 'opus', seconds: 2 }),
    readMedia({ container: 'webm', video: null, audio: 'opus', seconds: 4 }),
    readMedia({ container: 'webm', video: 'vp9', audio: null, seconds: 4 }),
    readMedia({ container: 'mp4', video: 'h264', audio: 'aac', seconds: 4 }),
  ]);
}, 120_000);

const BOTH = ['conversation_quality_overall', 'conversation_quality_timeline'];

async function openSession(options: Parameters<typeof startServer>[0] = {}): Promise<{ server: Awaited<ReturnType<typeof startServer>>; client: TestClient; clock: VirtualClock }> {
  const clock = new VirtualClock();
  // Ratio timing without jitter, so processing times are exact and short; tests of jitter and shedding say so.
  const server = await startServer({ scenario: 'steady', clock, timing: 'ratio', processingJitter: 0, ...options });
  const client = await connect(server.streamUrl);
  await client.waitForType('session.ready');
  return { server, client, clock };
}

describe('segment rules', () => {
  it('answers a 40 MB frame with ih6002 (not a bare 1009) and the session stays usable', async () => {
    const { server, client } = await openSession({ processingRatio: 0 });
    await client.sendBinary(randomBytes(40 * 1024 * 1024));
    const error = await client.waitForType('error', 1, 20_000);
    expect(error.data).toMatchObject({ code: 'ih6002', segment: 1 });
    expect(error.data.message).toMatch(/41943040 bytes/);
    expect(error.data.link).toBe('https://docs.interhuman.ai/api-reference/error-handling#ih6002-message-too-large');
    await client.sendBinary(webm4s);
    await untilReceived(server, 2);
    client.sendJson({ include: [] });
    await client.waitForType('session.updated');
    expect(client.ofType('error')).toHaveLength(1);
    expect([...server.sessions][0]!.stats.receivedSeconds).toBeCloseTo(4, 1);
  });

  it('takes a segment sent as several WebSocket frames (a fragmented message) as one segment, and the next whole one after it', async () => {
    const { server, client } = await openSession({ processingRatio: 0 });
    const cut = [0, 1000, Math.floor(webm4s.length / 2), webm4s.length];
    for (let i = 0; i < 3; i++) {
      const fin = i === 2;
      await new Promise<void>((resolve, reject) => client.ws.send(webm4s.subarray(cut[i], cut[i + 1]), { binary: true, fin }, (err) => (err ? reject(err) : resolve())));
    }
    await client.sendBinary(webm4s);
    await untilReceived(server, 2);
    client.sendJson({ include: [] });
    await client.waitForType('session.updated');
    expect(client.ofType('error')).toHaveLength(0);
    const stats = [...server.sessions][0]!.stats;
    expect(stats.binaryMessages).toBe(2);
    expect(stats.bytesReceived).toBe(2 * webm4s.length);
    expect(stats.receivedSeconds).toBeCloseTo(8, 1);
  });

  it('numbers segments from 1 and gives ih5006 / ih5004 / ih5001 without adding media time', async () => {
    const { server, client } = await openSession({ processingRatio: 0 });
    await client.sendBinary(webm4s); // 1: ok
    await client.sendBinary(webm2s); // 2: too short
    await client.sendBinary(randomBytes(5000)); // 3: garbage
    await client.sendBinary(webmAudioOnly); // 4: no video
    await client.sendBinary(mp4s4s); // 5: ok
    await client.sendBinary(new Uint8Array(0)); // 6: empty
    await client.waitForType('error', 4);
    expect(client.ofType('error').map((e) => [e.data.code, e.data.segment])).toEqual([
      ['ih5006', 2],
      ['ih5004', 3],
      ['ih5001', 4],
      ['ih5004', 6],
    ]);
    expect([...server.sessions][0]!.stats.receivedSeconds).toBeCloseTo(8, 1);
    for (const e of client.ofType('error')) expect(e.data.link).toContain(`#${e.data.code}-`);
  });

  it('accepts MediaRecorder-style continuation chunks cut mid-element, and fragmented MP4 chunks', async () => {
    const { server, client } = await openSession({ processingRatio: 0 });
    const chunks = await liveWebmChunks(12, 3);
    for (const c of chunks) await client.sendBinary(c);
    await untilReceived(server, chunks.length);
    const session = [...server.sessions][0]!;
    expect(session.stats.rejectedMessages).toBe(0);
    expect(session.stats.receivedSeconds).toBeGreaterThan(11.5);
    expect(session.stats.receivedSeconds).toBeLessThan(12.5);
    await client.waitForType('signal.detected');

    const second = await openSession({ processingRatio: 0 });
    const frags = await fragmentedMp4Chunks(12, 3);
    for (const c of frags) await second.client.sendBinary(c);
    await untilReceived(second.server, frags.length);
    const s2 = [...second.server.sessions][0]!;
    expect(s2.stats.rejectedMessages).toBe(0);
    expect(s2.stats.receivedSeconds).toBeGreaterThan(11.5);
  });

  it('refuses a segment whose timestamps jump by years (ih5004) without scheduling windows for them; the session stays usable', async () => {
    const { server, client } = await openSession({ processingRatio: 0 });
    const forged = Buffer.from(await readMedia({ container: 'mp4', video: 'h264', audio: 'aac', seconds: 12, fragmented: true }));
    // Corrupt the third fragment's decode time (tfdt) to ~2.7e10 s of media.
    let at = -1;
    for (let n = 0; n < 3; n++) at = forged.indexOf('tfdt', at + 1);
    expect(at).toBeGreaterThan(0);
    forged.writeUInt32BE(0x0000ffff, at + 8);
    await client.sendBinary(forged);
    const error = await client.waitForType('error');
    expect(error.data).toMatchObject({ code: 'ih5004', segment: 1 });
    expect(error.data.message).toMatch(/timestamps are corrupt/);
    const session = [...server.sessions][0]!;
    expect(session.stats.receivedSeconds).toBe(0);
    await client.sendBinary(webm4s);
    await untilReceived(server, 2);
    expect(session.stats.receivedSeconds).toBeCloseTo(4, 1);
    expect(session.stats.rejectedMessages).toBe(1);
  });

  it('rejects continuation chunks with ih5004 in strict mode (acceptContinuation: false)', async () => {
    const { client } = await openSession({ processingRatio: 0, acceptContinuation: false });
    const chunks = await liveWebmChunks(12, 3);
    for (const c of chunks) await client.sendBinary(c);
    await client.waitForType('error', chunks.length - 1);
    expect(client.ofType('error').every((e) => e.data.code === 'ih5004')).toBe(true);
    expect(client.ofType('error').map((e) => e.data.segment)).toEqual(chunks.slice(1).map((_, i) => i + 2));
  });
});

describe('windows and lifecycles', () => {
  it('emits the steady scenario exactly, each window after its processing time on the injected clock', async () => {
    // 24 s of media arrive at once below: enough workers that every window runs at once, none is shed.
    const { server, client, clock } = await openSession({ processingRatio: 0.25, workersPerSession: 16, maxQueuedWindows: 16 });
    client.sendJson({ include: BOTH });
    await client.waitForType('session.updated');
    // Two 4-s segments: window [0, 8) is due; its result needs 0.25 x 8 s = 2 s of processing.
    await client.sendBinary(webm4s);
    await client.sendBinary(webm4s);
    await untilReceived(server, 2);
    await clock.advance(1999);
    expect([...server.sessions][0]!.stats.windowsAnalyzed).toBe(0); // server side: nothing left before its due time
    await clock.advance(1);
    await client.waitForType('signal.detected');
    for (let i = 0; i < 6; i++) await client.sendBinary(vp9VideoOnly4s);
    await untilReceived(server, 8);
    await clock.advance(3000);
    await client.waitForType('conversation_quality.updated', 3);
    await client.closeGracefully();

    const events = semantic(client.frames.filter((f) => !['session.ready', 'session.updated'].includes(f.type)));
    const q = (start: number, end: number, v: number[], o: number[]) => ({
      type: 'conversation_quality.updated',
      data: {
        overall: { quality_index: o[0], clarity: o[1], authority: o[2], energy: o[3], rapport: o[4], learning: o[5] },
        timeline: [{ start, end, values: { quality_index: v[0], clarity: v[1], authority: v[2], energy: v[3], rapport: v[4], learning: v[5] } }],
      },
    });
    const scripted = [70, 70, 60, 80, 75, 65];
    const steady = {
      agreement: 'The listener nods steadily and keeps eye contact while the proposal is summarized.',
      hesitationMedium: 'The listener pauses before answering and glances away when asked to commit to a date.',
      hesitationHigh: 'Long pauses, repeated "well..." and a hand over the mouth before each answer.',
    };
    expect(events).toEqual([
      { type: 'signal.detected', data: { signal_type: 'agreement', start: 0, probability: 'high', rationale: steady.agreement } },
      { type: 'engagement.updated', data: { state: 'engaged', start: 0 } },
      q(0, 11, scripted, scripted),
      { type: 'signal.detected', data: { signal_type: 'hesitation', start: 9, probability: 'medium', rationale: steady.hesitationMedium } },
      q(11, 20, scripted, scripted),
      { type: 'signal.updated', data: { signal_type: 'hesitation', start: 9, probability: 'high', rationale: steady.hesitationHigh } },
      { type: 'signal.ended', data: { signal_type: 'agreement', end: 21 } },
      { type: 'engagement.updated', data: { state: 'neutral', start: 24 } },
      q(20, 29, scripted, scripted),
      { type: 'session.closing', data: { max_drain_seconds: 30 } },
      { type: 'signal.ended', data: { signal_type: 'hesitation', end: 30 } },
      // [29, 32]: 1 s scripted, then 2 s with nothing active (neutral) = 50; overall weights [0,29] by 29 s and [29,32] by 3 s,
      // e.g. learning (65 x 29 + 55 x 3) / 32 = 64.06 -> 64.
      q(29, 32, [57, 57, 53, 60, 58, 55], [69, 69, 59, 78, 73, 64]),
      { type: 'session.ended', data: { reason: 'client_shutdown' } },
    ]);
    checkLifecycles(client.frames);
  });

  it('emits results in window order when windows finish out of order (seeded jitter), with the same content', async () => {
    const run = async (processingJitter: number) => {
      const heldBack: number[] = []; // virtual ms a window left later than on an idle server (slower itself, or behind a slower one)
      const { server, client, clock } = await openSession({
        scenario: 'conversation',
        processingRatio: 0.5,
        processingJitter,
        // Room for all 18 windows at once, so none is shed: this test is about ordering.
        workersPerSession: 32,
        maxQueuedWindows: 32,
        seed: 3,
        onWindowEmitted: (lagMs) => heldBack.push(lagMs),
      });
      client.sendJson({ include: BOTH });
      await client.waitForType('session.updated');
      for (let i = 0; i < 15; i++) await client.sendBinary(webm4s); // 60 s at once: 18 windows in flight together
      await untilReceived(server, 15);
      await clock.advance(10_000);
      client.sendJson({ type: 'session.close' });
      await client.waitForType('session.closing');
      await clock.runAll();
      expect((await client.closed).code).toBe(1000);
      checkLifecycles(client.frames);
      return { frames: semantic(client.frames), heldBack };
    };
    const steady = await run(0);
    const jittery = await run(0.9);
    expect(steady.heldBack.every((ms) => ms === 0)).toBe(true);
    // With jitter some windows finished before an earlier one and were held back: they left later than due.
    expect(jittery.heldBack.filter((ms) => ms > 0).length).toBeGreaterThan(3);
    expect(jittery.heldBack).toHaveLength(steady.heldBack.length);
    // ...and what the client saw is exactly the same, in the same order.
    expect(jittery.frames).toEqual(steady.frames);
  });

  it('on session.close analyzes the rest, ends every active signal, then session.ended and close 1000', async () => {
    const { server, client, clock } = await openSession({ processingRatio: 0.25 });
    for (let i = 0; i < 4; i++) await client.sendBinary(webm4s); // 16 s: windows [0,8) [3,11) [6,14) due, in flight
    await untilReceived(server, 4);
    client.sendJson({ type: 'session.close' });
    await client.waitForType('session.closing');
    await clock.runAll();
    const closed = await client.closed;
    expect(closed.code).toBe(1000);
    const types = client.types();
    expect(types[0]).toBe('session.ready');
    expect(types.at(-1)).toBe('session.ended');
    expect(types.indexOf('session.closing')).toBeLessThan(types.indexOf('signal.detected'));
    checkLifecycles(client.frames);
    const detected = client.ofType('signal.detected').map((f) => f.data.signal_type).sort();
    const ended = client.ofType('signal.ended').map((f) => f.data.signal_type).sort();
    expect(detected).toEqual(['agreement', 'hesitation']);
    expect(ended).toEqual(detected);
    expect(server.sessions.size).toBe(0);
  });

  it('refuses media and config after session.close with ih6001, and still ends cleanly', async () => {
    const { client, clock } = await openSession({ processingRatio: 0.25 });
    await client.sendBinary(webm4s);
    client.sendJson({ type: 'session.close' });
    await client.sendBinary(webm4s);
    client.sendJson({ include: [] });
    await client.waitForType('error', 2);
    expect(client.ofType('error').map((e) => [e.data.code, e.data.segment])).toEqual([
      ['ih6001', 2],
      ['ih6001', null],
    ]);
    await clock.runAll();
    expect((await client.closed).code).toBe(1000);
  });

  it('when the client closes first, cancels in-flight windows and sends nothing more', async () => {
    const { server, client, clock } = await openSession({ processingRatio: 0.25 });
    for (let i = 0; i < 4; i++) await client.sendBinary(webm4s);
    await untilReceived(server, 4);
    const session = [...server.sessions][0]!;
    const sentBefore = session.stats.eventsSent;
    client.ws.close(1000);
    await client.closed;
    await until(() => server.sessions.size === 0, 'the server dropped the session');
    expect(clock.pendingCount).toBe(0);
    await clock.advance(60_000);
    expect(session.stats.eventsSent).toBe(sentBefore);
    expect(session.endReason).toBe('client_disconnected');
  });
});

describe('timeouts', () => {
  it('closes an idle session with ih6003 and 4008; media resets the idle timer', async () => {
    const { server, client, clock } = await openSession({ idleTimeoutSeconds: 5, processingRatio: 0 });
    await clock.advance(4000);
    await client.sendBinary(webm4s);
    await untilReceived(server, 1);
    await clock.advance(4999);
    expect([...server.sessions][0]!.state).toBe('open');
    await clock.advance(1);
    const error = await client.waitForType('error');
    expect(error.data).toMatchObject({ code: 'ih6003', segment: null });
    expect((await client.closed).code).toBe(4008);
  });

  it('closes a session at its maximum duration with ih6004 and 4009, even while media flows', async () => {
    const { server, client, clock } = await openSession({ maxDurationSeconds: 10, processingRatio: 0 });
    for (let i = 1; i <= 3; i++) {
      await client.sendBinary(webm4s);
      await untilReceived(server, i);
      await clock.advance(3000);
    }
    expect([...server.sessions][0]!.state).toBe('open');
    await clock.advance(1000);
    const error = await client.waitForType('error');
    expect(error.data).toMatchObject({ code: 'ih6004', segment: null });
    expect((await client.closed).code).toBe(4009);
  });

  it('uses configured close codes', async () => {
    const { client, clock } = await openSession({ idleTimeoutSeconds: 1, idleCloseCode: 4408 });
    await clock.advance(1000);
    expect((await client.closed).code).toBe(4408);
  });
});

describe('isolation', () => {
  it('a session fed garbage does not disturb another session', async () => {
    const clock = new VirtualClock();
    const server = await startServer({ scenario: 'steady', clock, timing: 'instant' });
    const good = await connect(server.streamUrl);
    const bad = await connect(server.streamUrl);
    await Promise.all([good.waitForType('session.ready'), bad.waitForType('session.ready')]);
    good.sendJson({ include: BOTH });
    for (let i = 0; i < 5; i++) {
      bad.sendText('{"type":"session.configure"}');
      await bad.sendBinary(randomBytes(20_000));
      await bad.sendBinary(webm2s);
      await good.sendBinary(webm4s);
    }
    await until(() => [...server.sessions].every((s) => s.stats.binaryMessages >= 5), 'both sessions received their media');
    await clock.advance(1000);
    await good.closeGracefully();
    expect(good.ofType('error')).toHaveLength(0);
    await bad.waitForType('error', 15);
    expect(bad.ofType('error').map((e) => e.data.code)).toEqual(Array.from({ length: 5 }, () => ['ih6001', 'ih5004', 'ih5006']).flat());

    // The same good session, alone on a fresh server, sees the same events.
    const alone = await startServer({ scenario: 'steady', clock: new VirtualClock(), timing: 'instant' });
    const solo = await connect(alone.streamUrl);
    solo.sendJson({ include: BOTH });
    for (let i = 0; i < 5; i++) await solo.sendBinary(webm4s);
    await untilReceived(alone, 5);
    await solo.closeGracefully();
    expect(semantic(good.frames)).toEqual(semantic(solo.frames));
  });
});
