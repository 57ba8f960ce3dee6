/**
 * Scripted faults (issue 3, item 3) over real sockets and real media on a virtual clock: each action,
 * each trigger, and seeded probabilistic faults.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../server/clock.js';
import type { StreamSession } from '../../server/stream/session.js';
import type { Fault, Scenario } from '../../server/types/generated.js';
import { checkLifecycles, droppedRanges, semantic } from '../support/protocol.js';
import { startServer, useServers } from '../support/server.js';
import { closeOnClock, openClient, steadyWith, streamPaced, useWebmSegments } from '../support/session.js';
import { until } from '../support/wait.js';

useServers();

const times = useWebmSegments(3);
const longMessage = useWebmSegments(24);

/** Steady in instant timing with `faults`. */
function withFaults(faults: Fault[]): Scenario {
  return steadyWith({ processing: { timing: 'instant' }, faults });
}

async function open(faults: Fault[], options: Parameters<typeof startServer>[0] = {}) {
  const clock = new VirtualClock();
  const ended: StreamSession[] = [];
  const server = await startServer({ clock, scenario: withFaults(faults), onSessionEnded: (s) => ended.push(s), ...options });
  const opened = await openClient(server);
  return { ...opened, clock, server, ended };
}

describe('error faults', () => {
  it('an error on segment 2 carries segment 2 and the table message; the session stays open and ends cleanly', async () => {
    const { client, session, clock } = await open([{ when: { segment: 2 }, action: 'error', code: 'ih5004' }]);
    await streamPaced(client, session, clock, times(4), 0);
    const error = await client.waitForType('error');
    expect(error.data).toMatchObject({ code: 'ih5004', segment: 2, message: 'The video segment could not be decoded.' });
    expect(error.data.link).toBe('https://docs.interhuman.ai/api-reference/error-handling#ih5004-malformed-video-segment');
    // The scripted error does not reject the segment: all 12 s count.
    expect(session.stats.receivedSeconds).toBe(12);
    expect(await closeOnClock(client, clock)).toMatchObject({ code: 1000 });
    checkLifecycles(client.frames);
  });

  it('an error with close at media 12 s closes with the table close code (ih1001 → 1011) or the one given', async () => {
    const a = await open([{ when: { media_seconds: 12 }, action: 'error', code: 'ih1001', message: 'GPU fell over', close: true }]);
    await streamPaced(a.client, a.session, a.clock, times(6), 0);
    expect((await a.client.closed).code).toBe(1011);
    // A media trigger concerns no one segment: segment null (a segment trigger gives its segment).
    expect(a.client.ofType('error').map((f) => f.data)).toEqual([expect.objectContaining({ code: 'ih1001', message: 'GPU fell over', segment: null })]);
    expect(a.client.types().at(-1)).toBe('error');
    expect(a.session.endReason).toBe('scripted_fault');

    const b = await open([{ when: { wall_seconds: 4 }, action: 'error', code: 'ih5006', close: true, close_code: 4400, reason: 'scripted' }]);
    await b.clock.advance(4000);
    expect(await b.client.closed).toEqual({ code: 4400, reason: 'scripted' });
    expect(b.client.ofType('error')[0]!.data).toMatchObject({ code: 'ih5006', segment: null });
  });
});

describe('connection faults', () => {
  it('close: a close frame with the given code at a wall-clock offset, and no session.ended', async () => {
    const { client, session, clock } = await open([{ when: { wall_seconds: 10 }, action: 'close', close_code: 4500, reason: 'maintenance' }]);
    await streamPaced(client, session, clock, times(3), 3000);
    await clock.advance(1000);
    expect(await client.closed).toEqual({ code: 4500, reason: 'maintenance' });
    expect(client.types()).not.toContain('session.ended');
  });

  it('disconnect: the TCP connection is cut mid-signal, without a close frame (the client sees 1006)', async () => {
    const { client, session, clock } = await open([{ when: { media_seconds: 12 }, action: 'disconnect' }]);
    await streamPaced(client, session, clock, times(6), 0);
    expect((await client.closed).code).toBe(1006);
    // agreement was detected and never ended: the client must treat it as ended at the disconnect.
    expect(client.ofType('signal.detected').map((f) => f.data.signal_type)).toContain('agreement');
    expect(client.ofType('signal.ended')).toEqual([]);
  });

  it('disconnect after the first window\'s results: on the session\'s progress, even when one message brings every window', async () => {
    // 24 s in one message: six windows fall due at once. Without the fault all of them are analyzed.
    const plain = await open([]);
    await streamPaced(plain.client, plain.session, plain.clock, longMessage(1), 0);
    expect(plain.session.stats.windowsAnalyzed).toBe(6);

    const { client, session, clock } = await open([{ when: { windows_sent: 1 }, action: 'disconnect' }]);
    await streamPaced(client, session, clock, longMessage(1), 0);
    expect((await client.closed).code).toBe(1006);
    expect(session.stats.windowsAnalyzed).toBe(1);
    // The first window's results left before the cut: the start of what the plain session sent, and no more.
    const got = semantic(client.frames);
    expect(got).toEqual(semantic(plain.client.frames).slice(0, got.length));
    expect(got.length).toBeLessThan(plain.client.frames.length);
    expect(client.ofType('signal.detected').length).toBeGreaterThan(0);
    expect(client.ofType('signal.ended')).toEqual([]);
  });

  it('quota_exhausted soon after opening: session.ready, then ih3003 and close 4029 at the scripted second', async () => {
    const { client, clock } = await open([{ when: { wall_seconds: 2 }, action: 'quota_exhausted' }]);
    await clock.advance(1999);
    expect(client.types()).toEqual(['session.ready']);
    await clock.advance(1);
    expect((await client.closed).code).toBe(4029);
    expect(client.types()).toEqual(['session.ready', 'error']);
    expect(client.frames[1]!.data).toMatchObject({ code: 'ih3003', segment: null });
  });

  it('missing_scope: error ih2003 and close 4003 instead of session.ready', async () => {
    const { client, ended } = await open([{ action: 'missing_scope' }]);
    expect((await client.closed).code).toBe(4003);
    expect(client.types()).toEqual(['error']);
    expect(client.frames[0]!.data).toMatchObject({ code: 'ih2003', segment: null });
    expect(ended.map((s) => s.endReason)).toEqual(['missing_scope']);
  });
});

describe('timing faults', () => {
  it('delay: the windows after media 9 s leave 5 s late, and everything behind them waits (order holds)', async () => {
    const plain = await open([]);
    await streamPaced(plain.client, plain.session, plain.clock, times(4), 0);
    const firstTypes = plain.client.types();
    expect(firstTypes).toContain('signal.detected');

    const { client, session, clock } = await open([{ when: { media_seconds: 9 }, action: 'delay', seconds: 5, windows: 1 }]);
    await streamPaced(client, session, clock, times(4), 0);
    expect(client.types()).toEqual(['session.ready']); // window [0, 8) is held for 5 s; [3, 11) waits behind it
    await clock.advance(5000);
    expect(client.types()).toEqual(firstTypes);
    await closeOnClock(client, clock);
    checkLifecycles(client.frames);
  });

  it('throttle: frames reach the client at most at bytes_per_second, in order, and the close waits behind them', async () => {
    const { client, session, clock } = await open([{ when: { segment: 1 }, action: 'throttle', bytes_per_second: 500 }]);
    const delivered: { at: number; bytes: number }[] = [];
    client.ws.on('message', (data: Buffer) => delivered.push({ at: clock.now(), bytes: data.length }));
    await streamPaced(client, session, clock, times(8), 0);
    client.sendJson({ type: 'session.close' });
    // Time has to pass for anything to get through; move it in steps until the close arrives.
    let closed = false;
    void client.closed.then(() => (closed = true));
    for (let i = 0; i < 120 && !closed; i++) await clock.advance(1000);
    expect((await client.closed).code).toBe(1000);
    expect(client.frames.at(-1)!.type).toBe('session.ended');
    expect(delivered.length).toBeGreaterThan(5);
    // Frame n+1 arrives no earlier than size(n) / rate after frame n (allowing the clock's 1-ms steps).
    for (let i = 1; i < delivered.length; i++) {
      expect(delivered[i]!.at - delivered[i - 1]!.at).toBeGreaterThanOrEqual((delivered[i - 1]!.bytes / 500) * 1000 - 1);
    }
    checkLifecycles(client.frames);
  });

  it('throttle: a client that disconnects leaves no queue and no timer behind', async () => {
    const { client, session, clock } = await open([{ when: { segment: 1 }, action: 'throttle', bytes_per_second: 1 }]);
    await streamPaced(client, session, clock, times(6), 0);
    const pendingWhileThrottled = clock.pendingCount;
    client.ws.terminate();
    await client.closed;
    await until(() => session.state === 'ended', 'the session ended');
    expect(pendingWhileThrottled).toBeGreaterThan(0);
    expect(clock.pendingCount).toBe(0);
  });
});

describe('window and event faults', () => {
  it('drop_windows at segment 5 sheds the next 3 windows: coverage.dropped announces what no other window covers', async () => {
    const { client, session, clock } = await open([{ when: { segment: 5 }, action: 'drop_windows', windows: 3 }]);
    await streamPaced(client, session, clock, times(10), 0);
    await closeOnClock(client, clock);
    // Segment 5 brings media to 15 s: windows 2 [6,14) and 3 [9,17) would be due... window 2 came with
    // segment 5 (media 15 ≥ 14) and is the first shed, then 3 and 4; 1 [3,11) and 5 [15,23) are kept.
    expect(droppedRanges(client.frames)).toEqual([{ start: 11, end: 15 }]);
    expect(session.stats).toMatchObject({ windowsShed: 3, droppedSeconds: 4, receivedSeconds: 30, analyzedSeconds: 26 });
    checkLifecycles(client.frames);
  });

  it('unknown_event: a future event type arrives with a valid envelope, and the session goes on', async () => {
    const { client, session, clock } = await open([
      { when: { media_seconds: 6 }, action: 'unknown_event' },
      { when: { media_seconds: 9 }, action: 'unknown_event', event_type: 'coaching.tip_generated', data: { tip: 'Ask an open question.' } },
    ]);
    await streamPaced(client, session, clock, times(6), 0);
    await closeOnClock(client, clock);
    expect(client.ofType('feedback.generated')).toHaveLength(1);
    expect(client.ofType('coaching.tip_generated')[0]!.data).toEqual({ tip: 'Ask an open question.' });
    expect(client.frames.at(-1)!.type).toBe('session.ended');
  });
});

describe('probabilistic faults', () => {
  const random: Fault[] = [{ when: { every_segment: true }, probability: 0.3, action: 'drop_windows' }];

  it('replay exactly under the same seed and differ under another', async () => {
    const run = async (query: string) => {
      const clock = new VirtualClock();
      const server = await startServer({ clock, scenario: withFaults(random) });
      const { client, session } = await openClient(server, query);
      await streamPaced(client, session, clock, times(40), 0);
      await closeOnClock(client, clock);
      checkLifecycles(client.frames);
      return { events: semantic(client.frames), shed: session.stats.windowsShed };
    };
    const first = await run('?seed=11');
    const again = await run('?seed=11');
    const other = await run('?seed=12');
    expect(first.shed).toBeGreaterThan(3);
    expect(again).toEqual(first);
    expect(other.events).not.toEqual(first.events);
  });
});
