/**
 * The window pipeline on its own: worker and pool limits, the shedding policy (redundant first),
 * ordering, and coverage bookkeeping, on a virtual clock with exact processing times.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../clock.js';
import { Random } from '../random.js';
import { WindowScheduler, type Window } from '../analysis/windows.js';
import type { SessionTiming } from './timing.js';
import { WindowPipeline, type MediaRange } from './window-pipeline.js';
import { WorkerPool } from './worker-pool.js';

interface Harness {
  pipeline: WindowPipeline;
  clock: VirtualClock;
  emitted: { index: number; at: number; lagMs: number }[];
  dropped: MediaRange[];
  /** Windows due as media reaches `mediaEnd`. */
  feed(mediaEnd: number): void;
  /** How often the pipeline reported it had nothing left. */
  drains(): number;
}

function harness(timing: Partial<SessionTiming>, pool = new WorkerPool(null), clock = new VirtualClock()): Harness {
  const emitted: Harness['emitted'] = [];
  let drains = 0;
  const dropped: MediaRange[] = [];
  const scheduler = new WindowScheduler();
  const pipeline = new WindowPipeline({
    clock,
    random: new Random(1),
    pool,
    timing: { mode: 'ratio', latencySeconds: 0, latencyJitterSeconds: 0, ratio: 0.25, jitter: 0, workers: 1, queueLimit: 100, loadQueueLimit: 2, load: [], ...timing },
    hopSeconds: 3,
    fail: (err) => {
      throw err;
    },
    emitWindow: (w: Window, lagMs: number) => emitted.push({ index: w.index, at: clock.now(), lagMs }),
    announceDropped: (r) => dropped.push(r),
    stopped: () => false,
    drained: () => drains++,
  });
  return { pipeline, clock, emitted, dropped, drains: () => drains, feed: (mediaEnd) => scheduler.advance(mediaEnd).forEach((w) => pipeline.add(w)) };
}

describe('WindowPipeline', () => {
  it('one worker processes windows one after another; results keep window order', () => {
    const h = harness({ workers: 1 });
    h.feed(14); // windows 0 [0,8), 1 [3,11), 2 [6,14): 2 s each on one worker
    h.clock.tick(60_000);
    expect(h.emitted.map((e) => [e.index, e.at - h.emitted[0]!.at + 2000])).toEqual([
      [0, 2000],
      [1, 4000],
      [2, 6000],
    ]);
    // Lag: how much later than on an idle server (each window alone would take 2 s).
    expect(h.emitted.map((e) => e.lagMs)).toEqual([0, 2000, 4000]);
  });

  it('live: every window takes the model latency whatever its length; 4 in flight give bursts of 4, in window order', () => {
    const h = harness({ mode: 'live', latencySeconds: 9.5, ratio: 0, workers: 4, queueLimit: Infinity });
    const sentAt = h.clock.now();
    h.feed(60); // a whole minute at once: windows 0..17 ([51, 59) the last)
    h.clock.tick(600_000);
    expect(h.emitted.map((e) => e.index)).toEqual([...Array(18).keys()]);
    const burstAt = (from: number, to: number) => new Set(h.emitted.slice(from, to).map((e) => e.at)).size === 1 && h.emitted[from]!.at - sentAt;
    expect([burstAt(0, 4), burstAt(4, 8), burstAt(8, 12), burstAt(12, 16), burstAt(16, 18)]).toEqual([9500, 19_000, 28_500, 38_000, 47_500]);
    expect(h.pipeline.coverage).toEqual({ analyzedSeconds: 59, droppedSeconds: 0, windowsShed: 0 });
  });

  it('live with jitter: each window takes latency ± jitter (seeded); results never overtake each other', () => {
    const h = harness({ mode: 'live', latencySeconds: 9.5, latencyJitterSeconds: 1.5, ratio: 0, workers: 4, queueLimit: Infinity });
    const sentAt = h.clock.now();
    h.feed(60);
    h.clock.tick(600_000);
    const at = h.emitted.map((e) => e.at - sentAt);
    expect(at[0]).toBeGreaterThanOrEqual(8000);
    expect(at[0]).toBeLessThanOrEqual(11_000);
    expect(at).toEqual([...at].sort((a, b) => a - b));
    // Never faster than 4 windows per 8 s, never slower than 4 per 11 s.
    expect(at.at(-1)).toBeGreaterThanOrEqual(5 * 8000);
    expect(at.at(-1)).toBeLessThanOrEqual(5 * 11_000);
    expect(h.pipeline.coverage.windowsShed).toBe(0);
  });

  it('the windows in flight share one timer on the clock, and each still finishes at its own time', () => {
    const h = harness({ mode: 'live', latencySeconds: 9.5, ratio: 0, workers: 4, queueLimit: Infinity });
    h.pipeline.delayNext(1, 1);
    h.pipeline.delayNext(2, 1); // windows 0, 1, 2 take 11.5, 10.5 and 9.5 s: they finish in reverse order
    const sentAt = h.clock.now();
    h.feed(14);
    expect(h.clock.pendingCount).toBe(1);
    h.clock.tick(10_000); // window 2 is done, but leaves after 0 and 1
    expect(h.emitted).toEqual([]);
    expect(h.clock.pendingCount).toBe(1);
    h.clock.tick(1_499);
    expect(h.emitted).toEqual([]);
    h.clock.tick(1);
    expect(h.emitted.map((e) => [e.index, e.at - sentAt])).toEqual([
      [0, 11_500],
      [1, 11_500],
      [2, 11_500],
    ]);
    expect(h.clock.pendingCount).toBe(0);
  });

  it('windows finishing together on a saturated pool all finish, while the slots they free start the next ones', () => {
    // 2 shared slots, 4 windows due at once: 0 and 1 run, 2 and 3 wait in the pool. At 9.5 s 0 and 1
    // finish together; each slot they give back starts a waiting window of the same pipeline at once.
    const h = harness({ mode: 'live', latencySeconds: 9.5, ratio: 0, workers: 4, queueLimit: Infinity }, new WorkerPool(2));
    const sentAt = h.clock.now();
    h.feed(17);
    h.clock.tick(60_000);
    expect(h.emitted.map((e) => [e.index, e.at - sentAt])).toEqual([
      [0, 9_500],
      [1, 9_500],
      [2, 19_000],
      [3, 19_000],
    ]);
    expect(h.clock.pendingCount).toBe(0);
  });

  it('a bug in a session a freed slot is offered to loses no slot of the shared pool', () => {
    // Session A's two windows finish together on a 2-slot pool; session B waits for a slot, and the
    // window it starts with it is instant and throws when emitted (a bug in B).
    const clock = new VirtualClock();
    const pool = new WorkerPool(2);
    const a = harness({ mode: 'live', latencySeconds: 9.5, ratio: 0, workers: 2, queueLimit: Infinity }, pool, clock);
    a.feed(11);
    const b = new WindowPipeline({
      clock,
      random: new Random(2),
      pool,
      timing: { mode: 'instant', latencySeconds: 0, latencyJitterSeconds: 0, ratio: 0, jitter: 0, workers: 1, queueLimit: 100, loadQueueLimit: 2, load: [] },
      hopSeconds: 3,
      fail: (err) => {
        throw err;
      },
      emitWindow: () => {
        throw new Error('bug in session B');
      },
      announceDropped: () => {},
      stopped: () => false,
      drained: () => {},
    });
    new WindowScheduler().advance(8).forEach((w) => b.add(w));
    expect(pool.busy).toBe(2);
    // The bug surfaces in A's timer, which gave the slot to B (the harness's fail re-throws it).
    expect(() => clock.tick(20_000)).toThrow('bug in session B');
    // Both sessions end (what their fail does): every slot is back.
    a.pipeline.cancel();
    b.cancel();
    expect(pool.busy).toBe(0);
  });

  it("a bug in the session a freed slot is offered to ends that session, not the one whose window freed it", () => {
    const clock = new VirtualClock();
    const pool = new WorkerPool(1);
    const failed: string[] = [];
    // B's windows are instant, so B emits inside offerSlot, which runs in A's timer as A frees the slot.
    const pipelineOf = (name: string, mode: 'ratio' | 'instant', emitWindow: () => void) =>
      new WindowPipeline({
        clock,
        random: new Random(2),
        pool,
        timing: { mode, latencySeconds: 0, latencyJitterSeconds: 0, ratio: mode === 'ratio' ? 0.25 : 0, jitter: 0, workers: 1, queueLimit: 100, loadQueueLimit: 2, load: [] },
        hopSeconds: 3,
        fail: (err) => failed.push(`${name}: ${(err as Error).message}`),
        emitWindow,
        announceDropped: () => {},
        stopped: () => false,
        drained: () => {},
      });
    let aEmitted = 0;
    const a = pipelineOf('A', 'ratio', () => aEmitted++);
    const b = pipelineOf('B', 'instant', () => {
      throw new Error('bug in session B');
    });
    new WindowScheduler().advance(8).forEach((w) => a.add(w)); // A takes the only slot for 2 s
    new WindowScheduler().advance(8).forEach((w) => b.add(w)); // B waits for it
    clock.tick(10_000);
    expect(aEmitted).toBe(1);
    expect(failed).toEqual(['B: bug in session B']);
    b.cancel();
    expect(pool.busy).toBe(0);
  });

  it('no queue limit: a whole recording at once is never shed; a saturated shared pool is load and sheds beyond loadQueueLimit', () => {
    const alone = harness({ workers: 4, queueLimit: Infinity, loadQueueLimit: 2 });
    alone.feed(60);
    alone.clock.tick(600_000);
    expect(alone.pipeline.coverage.windowsShed).toBe(0);

    const pool = new WorkerPool(2);
    const crowded = harness({ workers: 4, queueLimit: Infinity, loadQueueLimit: 2 }, pool);
    crowded.feed(60); // 2 windows take the pool's 2 slots; of the 16 left only 2 may wait
    crowded.clock.tick(600_000);
    expect(crowded.pipeline.coverage.windowsShed).toBe(14);
    expect(crowded.emitted).toHaveLength(4);
    expect(crowded.dropped.length).toBeGreaterThan(0);
    expect(pool.busy).toBe(0);
  });

  it('a scripted load span puts the session under load: the load queue limit applies from the first window in it', () => {
    const h = harness({ workers: 1, queueLimit: Infinity, loadQueueLimit: 1, load: [{ start: 30, end: 60, slowdown: 1 }] });
    h.feed(35); // windows 0..8 (starts 0..24): 8 wait for the one worker, none under load
    expect(h.pipeline.coverage.windowsShed).toBe(0);
    h.feed(37); // window 9 starts at 27: still no load
    expect(h.pipeline.coverage.windowsShed).toBe(0);
    h.feed(38); // window 10 starts at 30, in the span: at most 1 may wait now
    expect(h.pipeline.coverage.windowsShed).toBe(9);
  });

  it('a full queue sheds the oldest redundant window, never the newest; no second is lost', () => {
    const h = harness({ workers: 1, queueLimit: 2 });
    h.feed(8); // window 0 starts at once
    h.feed(17); // 1, 2, 3 queue: 3 > 2, so the oldest redundant one (1: 0 and 2 cover it) is shed
    h.clock.tick(60_000);
    expect(h.emitted.map((e) => e.index)).toEqual([0, 2, 3]);
    expect(h.dropped).toEqual([]);
    expect(h.pipeline.coverage).toEqual({ analyzedSeconds: 17, droppedSeconds: 0, windowsShed: 1 });
  });

  it('when no queued window is redundant it sheds the oldest, and announces exactly the uncovered seconds', () => {
    const h = harness({ workers: 1, queueLimit: 1 });
    h.feed(8); // 0 runs
    h.feed(11); // 1 waits
    h.feed(14); // 2 arrives: 1 is redundant (0 and 2 cover it): shed
    h.feed(17); // 3 arrives: queue [2, 3]; 2 is not redundant (0 ends at 8, 3 starts at 9): shed the oldest, 2
    h.clock.tick(60_000);
    expect(h.emitted.map((e) => e.index)).toEqual([0, 3]);
    expect(h.dropped).toEqual([{ start: 8, end: 9 }]);
    expect(h.pipeline.coverage).toEqual({ analyzedSeconds: 16, droppedSeconds: 1, windowsShed: 2 });
  });

  it('closeCoverage announces the gap before the tail and accounts the tail windows', () => {
    const h = harness({ ratio: 0, load: [{ start: 12, end: 100, shed: 'all' }] });
    h.feed(23); // windows 0..5; 4 [12,20) and 5 [15,23) are shed; 3 [9,17) is the last analyzed
    expect(h.emitted.map((e) => e.index)).toEqual([0, 1, 2, 3]);
    const gaps = h.pipeline.closeCoverage([{ index: 6, start: 18, end: 24, final: true }], 24);
    expect(gaps).toEqual({ before: { start: 17, end: 18 }, after: null });
    expect(h.pipeline.coverage).toEqual({ analyzedSeconds: 23, droppedSeconds: 1, windowsShed: 2 });
    expect(h.pipeline.undecidedSeconds(24)).toBe(0);
  });

  it('the shared pool is the limit: two pipelines with 4 workers each share 1 slot in turn, first come first served', () => {
    const pool = new WorkerPool(1);
    const clock = new VirtualClock();
    const a = harness({ workers: 4 }, pool, clock);
    const b = harness({ workers: 4 }, pool, clock);
    a.feed(8);
    b.feed(8);
    a.feed(11);
    clock.tick(60_000);
    // a0 holds the slot; b0 asked before a1 did, so b0 runs second.
    expect([...a.emitted.map((e) => ['a', e.index, e.at]), ...b.emitted.map((e) => ['b', e.index, e.at])].sort((x, y) => (x[2] as number) - (y[2] as number)).map((x) => `${x[0]}${x[1]}`)).toEqual(['a0', 'b0', 'a1']);
    expect(pool.busy).toBe(0);
    expect(pool.contended).toBeGreaterThan(0);
  });

  it('cancel gives the pool slots back and emits nothing more', () => {
    const pool = new WorkerPool(2);
    const h = harness({ workers: 2 }, pool);
    h.feed(11);
    expect(pool.busy).toBe(2);
    h.pipeline.cancel();
    expect(pool.busy).toBe(0);
    h.clock.tick(60_000);
    expect(h.emitted).toEqual([]);
    expect(h.pipeline.undecidedSeconds(11)).toBe(11);
  });

  it('completeAll finishes running and waiting windows at once, in order', () => {
    const h = harness({ workers: 1 });
    h.feed(14);
    h.pipeline.completeAll();
    expect(h.emitted.map((e) => e.index)).toEqual([0, 1, 2]);
    expect(h.pipeline.idle).toBe(true);
  });

  it('scripted shedding: drop_windows sheds the next N due, shed: redundant every other window after a kept one', () => {
    const h = harness({ ratio: 0, load: [{ start: 12, end: 30, shed: 'redundant' }] });
    h.pipeline.shedNext(1);
    // Windows 0..9: 0 by drop_windows; in the span (starts 12..27) 4, 6 and 8, each after a kept one.
    h.feed(35);
    expect(h.emitted.map((e) => e.index)).toEqual([1, 2, 3, 5, 7, 9]);
    expect(h.dropped).toEqual([{ start: 0, end: 3 }]);
  });

  it('queue_limit 0 sheds only what no free worker takes', () => {
    const h = harness({ workers: 2, queueLimit: 0 });
    h.feed(11); // windows 0 and 1: two free workers take both
    h.feed(14); // window 2: both workers busy, nothing may wait: shed
    h.clock.tick(60_000);
    expect(h.emitted.map((e) => e.index)).toEqual([0, 1]);
    expect(h.pipeline.coverage.windowsShed).toBe(1);
  });

  it('a window started by a pool slot offer finishes and leaves at once when instant', () => {
    const pool = new WorkerPool(1);
    const clock = new VirtualClock();
    const slow = harness({ workers: 1 }, pool, clock);
    const instant = harness({ workers: 1, ratio: 0 }, pool, clock);
    slow.feed(8); // holds the only slot for 2 s
    instant.feed(8); // waits for it
    expect(instant.emitted).toEqual([]);
    clock.tick(2000);
    expect(instant.emitted.map((e) => e.index)).toEqual([0]);
    expect(instant.pipeline.idle).toBe(true);
    expect(instant.drains()).toBe(1);
  });

  it('reports drained once trailing shed windows are skipped, not only after an emit', () => {
    const h = harness({ workers: 1, load: [{ start: 3, end: 100, shed: 'all' }] });
    h.feed(14); // 0 runs for 2 s; 1 and 2 are shed behind it
    expect(h.drains()).toBe(0);
    h.clock.tick(2000);
    expect(h.emitted.map((e) => e.index)).toEqual([0]);
    expect(h.pipeline.idle).toBe(true);
    expect(h.drains()).toBe(1);
  });

  it('delay faults add up on the windows they share', () => {
    const h = harness({ workers: 4, ratio: 0.25 });
    h.pipeline.delayNext(2, 1);
    h.pipeline.delayNext(1, 3);
    h.feed(14); // 0: 2 s + 1 s + 3 s; 1: 2 s + 1 s; 2: 2 s
    h.clock.tick(60_000);
    const start = h.emitted[0]!.at - 6000;
    expect(h.emitted.map((e) => e.at - start)).toEqual([6000, 6000, 6000]); // 1 and 2 finished earlier but wait for 0
  });

  it('a trailing redundant shed is revived at close, so no second is lost', () => {
    const h = harness({ ratio: 0, load: [{ start: 0, end: 100, shed: 'redundant' }] });
    h.feed(14); // 0 kept, 1 shed, 2 kept
    h.feed(17); // 3 shed as redundant, and nothing after it
    const revived = h.pipeline.reviveTrailingRedundant();
    expect(revived?.index).toBe(3);
    expect(h.pipeline.closeCoverage([revived!], 17)).toEqual({ before: null, after: null });
    expect(h.pipeline.coverage).toEqual({ analyzedSeconds: 17, droppedSeconds: 0, windowsShed: 1 });
  });
});

