/**
 * The session state machine without sockets: a recording transport and a virtual clock make every
 * path exact — drain deadline, closes that cross each other, internal errors.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../clock.js';
import { resolveOptions, type ServerOptionsInput } from '../options.js';
import { loadScenario } from '../../scenarios/loader.js';
import { readMedia } from '../../test/support/media.js';
import { Random } from '../random.js';
import { StreamSession } from './session.js';
import { resolveTiming } from './timing.js';
import { WorkerPool } from './worker-pool.js';

let webm4s: Buffer;
beforeAll(async () => {
  webm4s = await readMedia({ container: 'webm', video: 'vp8', audio: 'opus', seconds: 4 });
}, 60_000);

interface Harness {
  session: StreamSession;
  clock: VirtualClock;
  sent: { type: string; data: any }[];
  closes: { code: number; reason: string }[];
  types: () => string[];
}

function harness(overrides: ServerOptionsInput = {}, failOn?: string): Harness {
  const clock = new VirtualClock();
  const sent: Harness['sent'] = [];
  const closes: Harness['closes'] = [];
  const quiet = { error() {}, info() {}, warn() {}, debug() {} };
  // Ratio timing without jitter (exact times) and room for every window: these tests are about the
  // state machine; shedding has its own tests, live timing the tests that say so.
  const options = resolveOptions({ seed: 1, timing: 'ratio', processingJitter: 0, workersPerSession: 64, ...overrides });
  const scenario = loadScenario('steady');
  const session = new StreamSession({
    options,
    scenario,
    timing: resolveTiming(options, scenario),
    pool: new WorkerPool(null),
    clock,
    random: new Random(1),
    correlationId: '00000000-0000-4000-8000-000000000000',
    logger: quiet,
    transport: {
      send(text) {
        const env = JSON.parse(text);
        if (failOn && env.type === failOn) throw new Error(`transport refused ${failOn}`);
        sent.push({ type: env.type, data: env.data });
      },
      close(code, reason) {
        closes.push({ code, reason });
      },
      terminate() {
        closes.push({ code: 1006, reason: 'terminated' });
      },
    },
  });
  session.start();
  return { session, clock, sent, closes, types: () => sent.map((e) => e.type) };
}

function feed(h: Harness, segments: number): void {
  for (let i = 0; i < segments; i++) h.session.onBinary(webm4s);
}

describe('StreamSession', () => {
  it('graceful close: drains in-flight windows, ends open signals, session.ended, 1000, no timer left', () => {
    const h = harness({ processingRatio: 0.25 });
    feed(h, 4);
    h.session.onText('{"type":"session.close"}');
    expect(h.types().slice(-1)).toEqual(['session.closing']);
    h.clock.tick(60_000);
    expect(h.types().at(-1)).toBe('session.ended');
    expect(h.closes).toEqual([{ code: 1000, reason: 'session ended' }]);
    expect(h.sent.filter((e) => e.type === 'signal.detected')).toHaveLength(2);
    expect(h.sent.filter((e) => e.type === 'signal.ended')).toHaveLength(2);
    expect(h.clock.pendingCount).toBe(0);
    expect(h.session.endReason).toBe('client_shutdown');
  });

  it('max_drain_seconds bounds the drain, the final window included: what is left is completed at the deadline', () => {
    // ratio 3: each 8-s window takes 24 s, more than the 5-s drain allowance.
    const h = harness({ processingRatio: 3, maxDrainSeconds: 5 });
    feed(h, 6); // 24 s: six full windows in flight ([0,8) … [15,23)), and a final [18,24) at close
    h.session.onText('{"type":"session.close"}');
    h.clock.tick(4_999);
    expect(h.types().at(-1)).toBe('session.closing');
    h.clock.tick(1);
    expect(h.types().at(-1)).toBe('session.ended');
    expect(h.sent.filter((e) => e.type === 'signal.ended').map((e) => e.data.signal_type).sort()).toEqual(['agreement', 'hesitation']);
    expect(h.session.stats.windowsAnalyzed).toBe(7);
    expect(h.closes[0]!.code).toBe(1000);
  });

  it('the final partial window starts at session.close and cannot push session.ended past the drain deadline', () => {
    const h = harness({ processingRatio: 0.5, maxDrainSeconds: 2 });
    feed(h, 6); // windows in flight finish at 4 s
    h.clock.tick(3_000);
    h.session.onText('{"type":"session.close"}'); // the final [18,24) would take 3 s from now, to 6 s; the deadline is 5 s
    h.clock.tick(1_999);
    expect(h.types().at(-1)).not.toBe('session.ended');
    h.clock.tick(1);
    expect(h.types().at(-1)).toBe('session.ended');
    expect(h.session.stats.windowsAnalyzed).toBe(7);
  });

  it('the final partial window runs alongside the windows in flight: session.ended when the slower is done', () => {
    const h = harness({ timing: 'live', modelLatencySeconds: 9.5, modelLatencyJitterSeconds: 0 });
    feed(h, 6); // 24 s: windows [0,8) … [15,23) due at once, 9.5 s each on 64 workers
    h.clock.tick(5_000);
    h.session.onText('{"type":"session.close"}'); // the final [18,24) is analyzed from 5 s to 14.5 s
    h.clock.tick(4_499);
    expect(h.types()).not.toContain('signal.detected');
    h.clock.tick(1); // 9.5 s: the full windows are out
    expect(h.types()).toContain('signal.detected');
    expect(h.types().at(-1)).not.toBe('session.ended');
    h.clock.tick(4_999);
    expect(h.types().at(-1)).not.toBe('session.ended');
    h.clock.tick(1); // 14.5 s
    expect(h.types().at(-1)).toBe('session.ended');
    expect(h.session.stats).toMatchObject({ windowsAnalyzed: 7, analyzedSeconds: 24 });
  });

  it('the maximum duration does not cut a graceful close short', () => {
    const h = harness({ processingRatio: 0.25, maxDurationSeconds: 10, maxDrainSeconds: 30 });
    h.clock.tick(8_000);
    feed(h, 4);
    h.session.onText('{"type":"session.close"}');
    h.clock.tick(30_000);
    expect(h.sent.some((e) => e.type === 'error')).toBe(false);
    expect(h.types().at(-1)).toBe('session.ended');
    expect(h.closes[0]!.code).toBe(1000);
  });

  it('a client that disconnects while the session drains gets nothing more', () => {
    const h = harness({ processingRatio: 0.25 });
    feed(h, 4);
    h.session.onText('{"type":"session.close"}');
    const before = h.sent.length;
    h.session.onClientClosed();
    h.clock.tick(60_000);
    expect(h.sent.length).toBe(before);
    expect(h.closes).toEqual([]);
    expect(h.clock.pendingCount).toBe(0);
    expect(h.session.endReason).toBe('client_disconnected');
  });

  it('server shutdown during a drain closes with 1001 and cancels every timer', () => {
    const h = harness({ processingRatio: 0.25 });
    feed(h, 4);
    h.session.onText('{"type":"session.close"}');
    h.session.shutdown();
    h.clock.tick(60_000);
    expect(h.closes).toEqual([{ code: 1001, reason: 'server shutting down' }]);
    expect(h.types().at(-1)).toBe('session.closing');
    expect(h.clock.pendingCount).toBe(0);
  });

  it('a second session.close while draining gets ih6001 and the drain goes on', () => {
    const h = harness({ processingRatio: 0 });
    feed(h, 1);
    h.session.onText('{"type":"session.close"}');
    expect(h.types().at(-1)).toBe('session.ended'); // instant mode: drained at once
    const h2 = harness({ processingRatio: 0.25 });
    feed(h2, 3);
    h2.session.onText('{"type":"session.close"}');
    h2.session.onText('{"type":"session.close"}');
    expect(h2.sent.at(-1)).toMatchObject({ type: 'error', data: { code: 'ih6001', segment: null } });
    expect(h2.sent.at(-1)!.data.message).toMatch(/already received/);
    h2.clock.tick(60_000);
    expect(h2.types().at(-1)).toBe('session.ended');
  });

  it('a bug while emitting a window (in a timer) ends only this session with ih1001 and 1011', () => {
    const h = harness({ processingRatio: 0.25 }, 'signal.detected');
    feed(h, 2);
    expect(() => h.clock.tick(2_000)).not.toThrow();
    expect(h.sent.at(-1)).toMatchObject({ type: 'error', data: { code: 'ih1001', segment: null } });
    expect(h.closes).toEqual([{ code: 1011, reason: 'internal error' }]);
    expect(h.session.endReason).toBe('internal_error');
    expect(h.clock.pendingCount).toBe(0);
    h.session.onBinary(webm4s);
    expect(h.sent.at(-1)!.data.code).toBe('ih1001'); // nothing after ended
  });

  it('strictEvents validates every outgoing envelope', () => {
    const h = harness({ strictEvents: true, processingRatio: 0 });
    feed(h, 3);
    h.session.onText('{"include":["conversation_quality_overall"]}');
    h.session.onText('{"type":"session.close"}');
    expect(h.sent.some((e) => e.type === 'error')).toBe(false);
    expect(h.types().at(-1)).toBe('session.ended');
  });

  it('idle timeout: a session whose windows are still being analyzed is not idle; the countdown starts once they are out', () => {
    const h = harness({ timing: 'live', modelLatencySeconds: 9.5, modelLatencyJitterSeconds: 0, idleTimeoutSeconds: 5 });
    feed(h, 4); // 16 s of media at 0 s: three windows, out at 9.5 s
    h.clock.tick(14_499);
    expect(h.sent.some((e) => e.type === 'error')).toBe(false);
    expect(h.session.stats.windowsAnalyzed).toBe(3);
    h.clock.tick(1); // 5 s after the last window was out
    expect(h.sent.at(-1)).toMatchObject({ type: 'error', data: { code: 'ih6003' } });
    expect(h.closes).toEqual([{ code: 4008, reason: 'idle-timeout' }]);
  });

  it('idleWhileAnalyzing: the idle timeout counts from the last binary message and cuts the analysis', () => {
    const h = harness({ timing: 'live', modelLatencySeconds: 9.5, modelLatencyJitterSeconds: 0, idleTimeoutSeconds: 5, idleWhileAnalyzing: true });
    feed(h, 4);
    h.clock.tick(5_000);
    expect(h.sent.at(-1)).toMatchObject({ type: 'error', data: { code: 'ih6003' } });
    expect(h.session.stats.windowsAnalyzed).toBe(0);
    expect(h.clock.pendingCount).toBe(0);
  });

  it('idle timeout: ih6003 then the configured close code; rejected segments also count as activity', () => {
    const h = harness({ idleTimeoutSeconds: 5, idleCloseCode: 4408 });
    h.clock.tick(4_000);
    h.session.onBinary(Buffer.from('garbage'));
    h.clock.tick(4_999);
    expect(h.closes).toEqual([]);
    h.clock.tick(1);
    expect(h.sent.at(-1)).toMatchObject({ type: 'error', data: { code: 'ih6003', segment: null } });
    expect(h.closes).toEqual([{ code: 4408, reason: 'idle-timeout' }]);
    expect(h.clock.pendingCount).toBe(0);
  });
});
