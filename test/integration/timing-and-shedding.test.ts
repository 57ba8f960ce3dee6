/**
 * Processing timing (live / ratio / instant), load shedding with coverage.dropped, and the shared
 * worker pool, over real sockets with real WebM segments on a virtual clock (issue 3, items 1 and 2;
 * issue 11, items 1 and 2). A whole recording sent in one message: bulk-send.test.ts.
 */
import { createConnection } from 'node:net';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../server/clock.js';
import type { Scenario } from '../../server/types/generated.js';
import type { Frame } from '../support/client.js';
import { checkLifecycles, droppedRanges, semantic } from '../support/protocol.js';
import { startServer, useServers } from '../support/server.js';
import { closeOnClock, openClient, steadyWith, streamPaced, useWebmSegments } from '../support/session.js';

useServers();

const times = useWebmSegments(3);
const fourSeconds = useWebmSegments(4);
const tenSeconds = useWebmSegments(10);

/** Virtual ms since the session opened at which each frame arrived. */
function arrivals(frames: Frame[], openedAt: number): { type: string; at: number }[] {
  return frames.map((f) => ({ type: f.type, at: Date.parse(f.timestamp) - openedAt }));
}

/** Counters must add up once a graceful close has drained: received = analyzed + dropped. */
function expectCountersAddUp(stats: { receivedSeconds: number; analyzedSeconds: number; droppedSeconds: number }): void {
  expect(stats.analyzedSeconds + stats.droppedSeconds).toBeCloseTo(stats.receivedSeconds, 6);
}

/** Virtual ms at which each window's results left, relative to `openedAt` (from the server's own hook). */
function windowTimes(emitted: number[], openedAt: number): number[] {
  return emitted.map((at) => at - openedAt);
}

describe('timing modes', () => {
  it('live (the default): streamed in real time as 3-s segments, each window leaves 8-11 s after it is due, one every ~3 s, none shed', async () => {
    const clock = new VirtualClock();
    const openedAt = clock.now();
    const emitted: number[] = [];
    const server = await startServer({ clock, scenario: 'steady', seed: 5, onWindowEmitted: () => emitted.push(clock.now()) });
    const { client, session } = await openClient(server);
    await streamPaced(client, session, clock, times(20), 3000);
    expect(await closeOnClock(client, clock)).toMatchObject({ code: 1000 });

    const timeline = arrivals(client.frames, openedAt).filter((a) => a.type.startsWith('signal.') || a.type === 'engagement.updated');
    // Window [0, 8) is due when the third segment (media 9 s) arrives at 6 s (sent at 0, 3, 6 s); it takes 9.5 ± 1.5 s.
    expect(timeline[0]!.at).toBeGreaterThanOrEqual(6000 + 8000);
    expect(timeline[0]!.at).toBeLessThanOrEqual(6000 + 11_000);
    // Window k is due at 6 + 3k s: with 4 in flight nothing waits for a worker, so each leaves 8-11 s
    // after its due time, or with an earlier slower one (results never overtake each other).
    const at = windowTimes(emitted, openedAt);
    const full = at.slice(0, 17); // windows 0..16 of 60 s of media; the 18th and the final one leave at close
    full.forEach((ms, k) => {
      expect(ms).toBeGreaterThanOrEqual(6000 + 3000 * k + 8000);
      expect(ms).toBeLessThanOrEqual(6000 + 3000 * k + 11_000);
    });
    expect(at).toEqual([...at].sort((x, y) => x - y));
    expect(session.stats).toMatchObject({ windowsShed: 0, droppedSeconds: 0, analyzedSeconds: 60 });
    checkLifecycles(client.frames);
  });

  it('ratio: the same stream, each window takes 0.25 x its length ± 20 %: the first events about 2 s after it is due', async () => {
    const clock = new VirtualClock();
    const openedAt = clock.now();
    const server = await startServer({ clock, scenario: 'steady', seed: 5, timing: 'ratio' });
    const { client, session } = await openClient(server);
    await streamPaced(client, session, clock, times(10), 3000);
    expect(await closeOnClock(client, clock)).toMatchObject({ code: 1000 });

    const timeline = arrivals(client.frames, openedAt).filter((a) => a.type.startsWith('signal.') || a.type === 'engagement.updated');
    expect(timeline[0]!.at).toBeGreaterThanOrEqual(6000 + 1600);
    expect(timeline[0]!.at).toBeLessThanOrEqual(6000 + 2400);
    expect(session.stats.windowsShed).toBe(0);
    checkLifecycles(client.frames);
  });

  it('realistic, the old name of ratio, still works as an option, on the URL and in a scenario, and times exactly like ratio', async () => {
    const run = async (options: Parameters<typeof startServer>[0], query = '') => {
      const clock = new VirtualClock();
      const server = await startServer({ clock, scenario: 'steady', seed: 5, ...options });
      const { client, session } = await openClient(server, query);
      await streamPaced(client, session, clock, times(6), 3000);
      await closeOnClock(client, clock);
      return client.frames.map((f) => ({ type: f.type, data: f.data, timestamp: f.timestamp }));
    };
    const ratio = await run({ timing: 'ratio' });
    expect(await run({ timing: 'realistic' })).toEqual(ratio);
    expect(await run({}, '?timing=realistic&seed=5')).toEqual(await run({}, '?timing=ratio&seed=5'));
    expect(await run({ scenario: steadyWith({ name: 'steady', processing: { timing: 'realistic' } }) })).toEqual(ratio);
  });

  it('instant: the same stream yields the same events with no added latency (no clock advance needed)', async () => {
    const clock = new VirtualClock();
    const live = await startServer({ clock, scenario: 'steady', seed: 5 });
    const a = await openClient(live);
    await streamPaced(a.client, a.session, clock, times(10), 3000);
    await clock.advance(11_000); // every due window is out before session.close, as in instant mode
    await closeOnClock(a.client, clock);

    const instantClock = new VirtualClock();
    const openedAt = instantClock.now();
    const instant = await startServer({ clock: instantClock, scenario: 'steady', timing: 'instant' });
    const b = await openClient(instant);
    await streamPaced(b.client, b.session, instantClock, times(10), 0);
    b.client.sendJson({ type: 'session.close' });
    expect((await b.client.closed).code).toBe(1000);
    expect(instantClock.now()).toBe(openedAt); // not one virtual millisecond passed
    expect(semantic(b.client.frames)).toEqual(semantic(a.client.frames));
  });

  it('the mode is chosen by scenario, by server option over the scenario, and by ?timing= over both', async () => {
    const clock = new VirtualClock();
    const instantScenario = steadyWith({ processing: { timing: 'instant' } });
    const byScenario = await startServer({ clock, scenario: instantScenario });
    const byOption = await startServer({ clock, scenario: instantScenario, timing: 'live' });
    const s1 = await openClient(byScenario);
    const s2 = await openClient(byOption);
    const s3 = await openClient(byOption, '?timing=instant');
    for (const { client, session } of [s1, s2, s3]) await streamPaced(client, session, clock, times(4), 0);
    // 12 s of media at once and no time passes: only instant sessions have reported anything.
    const detected = (c: typeof s1) => c.client.ofType('signal.detected').length;
    expect(detected(s1)).toBeGreaterThan(0);
    expect(detected(s2)).toBe(0);
    expect(detected(s3)).toBeGreaterThan(0);
  });
});

describe('load shedding', () => {
  it('shed: all over [30, 45) drops windows 10-14 and announces exactly [35, 45) before the next analyzed window', async () => {
    const clock = new VirtualClock();
    const server = await startServer({ clock, scenario: steadyWith({ processing: { timing: 'instant' }, load: [{ start: 30, end: 45, shed: 'all' }] }) });
    const { client, session } = await openClient(server);
    await streamPaced(client, session, clock, times(20), 0);
    await closeOnClock(client, clock);

    expect(droppedRanges(client.frames)).toEqual([{ start: 35, end: 45 }]);
    // Window 9 [27, 35) is the last analyzed before the gap, window 15 [45, 53) the first after it.
    const at = client.frames.findIndex((f) => f.type === 'coverage.dropped');
    expect(client.frames.slice(at + 1).every((f) => f.type !== 'signal.detected' || f.data.start >= 45)).toBe(true);
    expect(session.stats).toMatchObject({ receivedSeconds: 60, droppedSeconds: 10, analyzedSeconds: 50, windowsShed: 5 });
    expectCountersAddUp(session.stats);
    checkLifecycles(client.frames);
  });

  it('shed: redundant sheds every other window and loses no second: nothing is announced', async () => {
    const clock = new VirtualClock();
    const server = await startServer({ clock, scenario: steadyWith({ processing: { timing: 'instant' }, load: [{ start: 0, end: 60, shed: 'redundant' }] }) });
    const { client, session } = await openClient(server);
    await streamPaced(client, session, clock, times(20), 0);
    await closeOnClock(client, clock);
    expect(client.ofType('coverage.dropped')).toEqual([]);
    expect(session.stats.windowsShed).toBeGreaterThanOrEqual(8);
    expect(session.stats).toMatchObject({ receivedSeconds: 60, analyzedSeconds: 60, droppedSeconds: 0 });
    checkLifecycles(client.frames);
  });

  it('a backed-up queue sheds redundant windows first, then announces real gaps; events stay in order and counters add up', async () => {
    const clock = new VirtualClock();
    // Windows take 2.5 x their length on one worker: the session falls further behind every window.
    const server = await startServer({ clock, seed: 9, scenario: steadyWith({ processing: { timing: 'ratio', ratio: 2.5, jitter: 0, workers: 1, queue_limit: 2 } }) });
    const { client, session } = await openClient(server);
    await streamPaced(client, session, clock, times(30), 3000);
    await closeOnClock(client, clock);

    const ranges = droppedRanges(client.frames);
    expect(session.stats.windowsShed).toBeGreaterThan(10);
    expect(ranges.length).toBeGreaterThan(0);
    const announced = ranges.reduce((sum, r) => sum + r.end - r.start, 0);
    expect(announced).toBeCloseTo(session.stats.droppedSeconds, 6);
    expect(session.stats.droppedSeconds).toBeLessThan(session.stats.receivedSeconds);
    for (const r of ranges) expect(r.end).toBeLessThanOrEqual(session.stats.receivedSeconds);
    expectCountersAddUp(session.stats);
    checkLifecycles(client.frames);
    expect((await client.closed).code).toBe(1000);
  });

  it('announceDropped: false sheds the same windows without telling the client; the counters still know', async () => {
    const clock = new VirtualClock();
    const server = await startServer({ clock, announceDropped: false, scenario: steadyWith({ processing: { timing: 'instant' }, load: [{ start: 30, end: 45, shed: 'all' }] }) });
    const { client, session } = await openClient(server);
    await streamPaced(client, session, clock, times(20), 0);
    await closeOnClock(client, clock);
    expect(client.ofType('coverage.dropped')).toEqual([]);
    expect(session.stats.droppedSeconds).toBe(10);
  });

  it('a saturated shared pool is load: sessions shed beyond loadQueueLimit that would not on their own, and each session still adds up', async () => {
    const run = async (workerPoolSize: number | null) => {
      const clock = new VirtualClock();
      const ended: { receivedSeconds: number; analyzedSeconds: number; droppedSeconds: number; windowsShed: number }[] = [];
      // No queue limit of their own (the default): only the pool's saturation makes them shed.
      const server = await startServer({ clock, seed: 2, scenario: 'steady', timing: 'ratio', processingRatio: 0.9, processingJitter: 0, workersPerSession: 3, loadQueueLimit: 1, workerPoolSize, onSessionEnded: (s) => ended.push({ ...s.stats }) });
      const sessions = [await openClient(server), await openClient(server), await openClient(server)];
      // Interleave: each session gets its segment, then time moves 3 s (real-time pace for all three).
      for (let i = 0; i < 20; i++) {
        for (const { client, session } of sessions) await streamPaced(client, session, clock, times(1), 0);
        await clock.advance(3000);
      }
      for (const { client } of sessions) client.sendJson({ type: 'session.close' });
      await clock.runAll();
      for (const { client } of sessions) expect((await client.closed).code).toBe(1000);
      for (const { client } of sessions) checkLifecycles(client.frames);
      return ended;
    };
    const alone = await run(null);
    expect(alone.map((s) => s.windowsShed)).toEqual([0, 0, 0]);
    // A window needs 7.2 s of a slot and each session makes one every 3 s: alone, 3 workers keep up; 3 sessions need ~7 slots of the pool and get 2.
    const crowded = await run(2);
    expect(crowded.reduce((n, s) => n + s.windowsShed, 0)).toBeGreaterThan(10);
    for (const stats of [...alone, ...crowded]) expectCountersAddUp(stats);
  });

  it('a graceful close is not held up by windows shed at the end, and the final window obeys shed: all', async () => {
    const clock = new VirtualClock();
    const openedAt = clock.now();
    const server = await startServer({ clock, timing: 'ratio', processingJitter: 0, scenario: steadyWith({ load: [{ start: 3, end: 100, shed: 'all' }] }) });
    const { client, session } = await openClient(server);
    await streamPaced(client, session, clock, times(5), 0); // 15 s: window 0 runs, 1..2 are shed behind it
    expect(await closeOnClock(client, clock)).toMatchObject({ code: 1000 });
    // Window 0 takes 2 s; the final window [9, 15) is shed too, so nothing else is waited for.
    expect(Date.parse(client.frames.at(-1)!.timestamp) - openedAt).toBe(2000);
    expect(droppedRanges(client.frames)).toEqual([{ start: 8, end: 15 }]);
    expect(session.stats).toMatchObject({ receivedSeconds: 15, analyzedSeconds: 8, droppedSeconds: 7 });
    // The drop is announced after window 0's events and before the closing signal.ended.
    const types = client.types();
    expect(types.indexOf('coverage.dropped')).toBeLessThan(types.lastIndexOf('signal.ended'));
  });

  it('shed: redundant to the very end loses no second: the last shed window is analyzed at close', async () => {
    const clock = new VirtualClock();
    const server = await startServer({ clock, scenario: steadyWith({ processing: { timing: 'instant' }, load: [{ start: 0, end: 100, shed: 'redundant' }] }) });
    const { client, session } = await openClient(server);
    // 10 + 4 + 3 = 17 s: windows 0..3 are due; 1 and 3 are shed, and 3 [9, 17) ends where the media does.
    await streamPaced(client, session, clock, [...tenSeconds(1), ...fourSeconds(1), ...times(1)], 0);
    await closeOnClock(client, clock);
    expect(client.ofType('coverage.dropped')).toEqual([]);
    expect(session.stats).toMatchObject({ receivedSeconds: 17, analyzedSeconds: 17, droppedSeconds: 0, windowsShed: 1, windowsAnalyzed: 3 });
  });
});

describe('robustness', () => {
  it('an unparsable request target gets 400 and the server goes on serving', async () => {
    const server = await startServer();
    const { port } = new URL(server.baseUrl);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = createConnection({ host: '127.0.0.1', port: Number(port) }, () => {
        socket.write('GET //[/v1/stream/analyze HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nAuthorization: Bearer k\r\n\r\n');
      });
      let text = '';
      socket.on('data', (d) => (text += d));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 400 Bad Request/);
    expect(answer).toMatch(/Cannot parse the request target/);
    const { client } = await openClient(server);
    expect(client.types()).toEqual(['session.ready']);
  });
});

