/**
 * What public clients do after a call ends, re-run here on the default options (issue 11, item 6):
 * send the whole recording as ONE binary message, then wait for results with a "quiet" timer,
 * because v1 sends no completion event. Live, the first analysis event came 8-11 s after the send,
 * then bursts with gaps of several seconds; everything was analyzed (docs/fidelity.md). A client
 * with a 4-s quiet timer gave up before the first event; one with a 20-s timer got everything.
 *
 * One test runs on the real clock (the default as shipped); the others on a virtual clock.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../server/clock.js';
import type { StreamSession } from '../../server/stream/session.js';
import { connect, type Frame, type TestClient } from '../support/client.js';
import { readMedia } from '../support/media.js';
import { checkLifecycles, droppedRanges, mediaTime } from '../support/protocol.js';
import { startServer, useServers } from '../support/server.js';
import { closeOnClock, openClient } from '../support/session.js';
import { until } from '../support/wait.js';

useServers();

const BOTH = ['conversation_quality_overall', 'conversation_quality_timeline'];
const ANALYSIS = new Set(['signal.detected', 'signal.updated', 'signal.ended', 'engagement.updated', 'conversation_quality.updated']);
const isAnalysis = (f: Frame) => ANALYSIS.has(f.type);

/** A minute recorded as Chromium's MediaRecorder writes one blob (VP9 + Opus WebM, unknown sizes), made by ffmpeg. */
let recording: Buffer;
beforeAll(async () => {
  recording = await readMedia({ container: 'webm', video: 'vp9', audio: 'opus', seconds: 60, live: true });
}, 120_000);

/** Open a session, ask for both quality includes, and wait until they are confirmed. */
async function configured(server: Awaited<ReturnType<typeof startServer>>): Promise<{ client: TestClient; session: StreamSession }> {
  const opened = await openClient(server);
  opened.client.sendJson({ include: BOTH });
  await opened.client.waitForType('session.updated');
  return opened;
}

/** Server-clock ms of a frame (its envelope timestamp). */
const at = (f: Frame) => Date.parse(f.timestamp);

/**
 * Where a client whose quiet timer is armed at the send and re-armed by every analysis event would
 * give up: the first silence of `quietMs` (from the send, or from an analysis event) before the next
 * analysis event. null if it never would before `endMs`.
 */
function givesUpAt(analysisTimes: readonly number[], sentAt: number, quietMs: number, endMs: number): number | null {
  let last = sentAt;
  for (const t of [...analysisTimes, endMs]) {
    if (t - last >= quietMs) return last + quietMs;
    last = t;
  }
  return null;
}

describe('a whole recording sent as one message, default options', () => {
  it('real clock: the first analysis event comes 8 s or more after the send; a 4-s quiet timer gives up before it', async () => {
    const server = await startServer({ seed: 11 }); // as shipped: live timing on the real clock
    const { client } = await configured(server);
    const arrivals = new Map<Frame, number>();
    let gaveUpAt: number | null = null;
    let armings = 0;
    let armingsWhenGaveUp = 0;
    let quietTimer: NodeJS.Timeout | undefined;
    // The public client's quiet timer: armed once the send completes, re-armed by each analysis event.
    const armQuietTimer = () => {
      clearTimeout(quietTimer);
      armings++;
      quietTimer = setTimeout(() => {
        if (gaveUpAt !== null) return;
        gaveUpAt = Date.now();
        armingsWhenGaveUp = armings;
      }, 4000);
    };
    client.ws.on('message', () => {
      const frame = client.frames.at(-1)!; // the test client's own listener, registered first, has stored it
      arrivals.set(frame, Date.now());
      if (isAnalysis(frame)) armQuietTimer();
    });
    await client.sendBinary(recording);
    const sentAt = Date.now();
    armQuietTimer();
    try {
      const first = await client.waitFor(isAnalysis, 20_000, 'the first analysis event');
      const delayMs = arrivals.get(first)! - sentAt;
      expect(delayMs).toBeGreaterThanOrEqual(8000);
      expect(delayMs).toBeLessThan(15_000); // 11 s at most on the server's clock, plus a loaded machine's slack
      expect(gaveUpAt).not.toBeNull();
      // The timer that gave up is the one armed at the send: 4 s of silence from the send. (Not timed
      // against Date.now: Node's timers count on the event loop's own millisecond clock, so a 4000-ms
      // timer may end 3999 ms later by Date.now.)
      expect(armingsWhenGaveUp).toBe(1);
      expect(gaveUpAt!).toBeLessThan(arrivals.get(first)!);
      expect(client.frames.slice(0, client.frames.indexOf(first)).map((f) => f.type)).toEqual(['session.ready', 'session.updated']);
      expect(client.ofType('coverage.dropped')).toEqual([]);
      console.info(`[bulk-send, real clock] first analysis event ${delayMs} ms after the send; the 4-s quiet timer gave up after ${gaveUpAt! - sentAt} ms`);
    } finally {
      clearTimeout(quietTimer);
    }
  });

  it('virtual clock: bursts in window order, nothing shed, the whole minute analyzed; a 20-s quiet timer gets it all, a 4-s one nothing', async () => {
    const clock = new VirtualClock();
    const windowsOutAt: number[] = [];
    const server = await startServer({ clock, seed: 11, onWindowEmitted: () => windowsOutAt.push(clock.now()) });
    const { client, session } = await configured(server);
    await client.sendBinary(recording);
    await until(() => session.stats.binaryMessages === 1, 'the server has the recording');
    const sentAt = clock.now();
    expect(session.stats.receivedSeconds).toBeCloseTo(60, 0);

    // Wait like the fixed public client: stop once 20 s pass without an analysis event.
    const analysisTimes = () => client.frames.filter(isAnalysis).map(at);
    for (;;) {
      const next = clock.nextDue()!;
      const times = analysisTimes();
      if (times.length > 0 && next >= times.at(-1)! + 20_000) break;
      await clock.advance(next - clock.now());
    }
    const times = analysisTimes();
    // Every full window was out before the 20-s client gave up: 18 windows, [0, 8) ... [51, 59).
    expect(session.stats.windowsAnalyzed).toBe(18);
    expect(session.stats).toMatchObject({ windowsShed: 0, droppedSeconds: 0 });

    const firstMs = times[0]! - sentAt;
    expect(firstMs).toBeGreaterThanOrEqual(8000);
    expect(firstMs).toBeLessThanOrEqual(11_000);
    // Windows leave in bursts: 4 in flight, each 8-11 s, so about every 9.5 s a few windows at once.
    const windowGaps = windowsOutAt.slice(1).map((t, i) => t - windowsOutAt[i]!);
    expect(windowGaps.filter((g) => g < 2000).length).toBeGreaterThanOrEqual(8); // inside bursts
    expect(windowGaps.filter((g) => g >= 4000).length).toBeGreaterThanOrEqual(3); // between bursts
    expect(windowsOutAt.at(-1)! - sentAt).toBeGreaterThanOrEqual(5 * 8000); // 18 windows, 4 at a time: 5 rounds
    expect(windowsOutAt.at(-1)! - sentAt).toBeLessThanOrEqual(5 * 11_000);
    const eventGaps = times.slice(1).map((t, i) => t - times[i]!);
    const maxGap = Math.max(...eventGaps);
    expect(maxGap).toBeGreaterThan(4000);

    // A 4-s quiet timer armed at the send (the bug a public client shipped) gives up before the first event.
    expect(givesUpAt(times, sentAt, 4000, clock.now())).toBe(sentAt + 4000);
    // A 20-s one never gives up while results are still coming.
    expect(givesUpAt(times, sentAt, 20_000, times.at(-1)!)).toBeNull();

    // session.close: the final window [54, 60) is analyzed, every signal ends, the minute is covered.
    expect(await closeOnClock(client, clock)).toMatchObject({ code: 1000 });
    expect(client.frames.at(-1)!.type).toBe('session.ended');
    expect(client.ofType('coverage.dropped')).toEqual([]);
    expect(session.stats).toMatchObject({ windowsAnalyzed: 19, windowsShed: 0, droppedSeconds: 0 });
    expect(session.stats.analyzedSeconds).toBeCloseTo(session.stats.receivedSeconds, 6);
    const quality = client.ofType('conversation_quality.updated');
    expect(quality.at(-1)!.data.timeline[0].end).toBeCloseTo(60, 0);
    expect(Math.max(...client.frames.map((f) => mediaTime(f) ?? 0))).toBeGreaterThanOrEqual(50);
    checkLifecycles(client.frames);
    console.info(
      `[bulk-send, virtual clock] first event ${firstMs} ms after the send; windows out at ${windowsOutAt.map((t) => ((t - sentAt) / 1000).toFixed(1)).join(', ')} s; ` +
        `${times.length} analysis events, largest gap ${maxGap} ms`,
    );
  });

  it('a recording that stays in analysis longer than the idle timeout is analyzed to its end: idle counts from the last result', async () => {
    const clock = new VirtualClock();
    let lastWindowAt = 0;
    const server = await startServer({ clock, seed: 11, idleTimeoutSeconds: 20, onWindowEmitted: () => (lastWindowAt = clock.now()) });
    const { client, session } = await configured(server);
    await client.sendBinary(recording); // about 48 s of analysis, more than twice the idle timeout
    await until(() => session.stats.binaryMessages === 1, 'the server has the recording');
    await clock.runAll();
    expect((await client.closed).code).toBe(4008);
    expect(session.stats.windowsAnalyzed).toBe(18);
    const error = client.ofType('error')[0]!;
    expect(error.data.code).toBe('ih6003');
    expect(at(error) - lastWindowAt).toBeCloseTo(20_000, -1); // timestamps carry whole ms
    expect(lastWindowAt - at(client.ofType('session.updated')[0]!)).toBeGreaterThan(40_000);
  });
});

describe('the shedding scenarios still shed on the default options', () => {
  it('overloaded-server, its three minutes sent at once: windows shed under its load, announced with coverage.dropped', async () => {
    const clock = new VirtualClock();
    const server = await startServer({ clock, seed: 4, scenario: 'overloaded-server' });
    const { client, session } = await configured(server);
    for (let i = 0; i < 3; i++) await client.sendBinary(recording);
    await until(() => session.stats.binaryMessages === 3, 'the server has the recordings');
    await clock.advance(60_000);
    expect(await closeOnClock(client, clock)).toMatchObject({ code: 1000 });
    const ranges = droppedRanges(client.frames);
    expect(ranges.length).toBeGreaterThan(0);
    expect(ranges.some((r) => r.start <= 125 && r.end >= 135)).toBe(true); // its shed: all span
    expect(session.stats.windowsShed).toBeGreaterThan(5);
    expect(session.stats.analyzedSeconds + session.stats.droppedSeconds).toBeCloseTo(session.stats.receivedSeconds, 6);
    checkLifecycles(client.frames);
  });
});
