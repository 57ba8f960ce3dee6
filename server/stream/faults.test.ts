/** When scripted faults fire: each trigger once, every_segment each time, seeded probabilities. */
import { describe, expect, it } from 'vitest';
import { Random } from '../random.js';
import type { Fault } from '../types/generated.js';
import { FaultSchedule } from './faults.js';

const actions = (faults: readonly Fault[]) => faults.map((f) => f.action);

describe('FaultSchedule', () => {
  it('fires open, segment and media triggers once each, in script order', () => {
    const schedule = new FaultSchedule(
      [
        { action: 'unknown_event' },
        { when: { segment: 2 }, action: 'delay', seconds: 1 },
        { when: { media_seconds: 10 }, action: 'drop_windows' },
        { when: { media_seconds: 5 }, action: 'throttle', bytes_per_second: 10 },
      ],
      new Random(1),
    );
    expect(actions(schedule.atOpen())).toEqual(['unknown_event']);
    expect(actions(schedule.atOpen())).toEqual([]);
    expect(actions(schedule.onSegment(1))).toEqual([]);
    expect(actions(schedule.onSegment(2))).toEqual(['delay']);
    expect(actions(schedule.onSegment(2))).toEqual([]);
    // Media jumps past both thresholds in one message: both fire, in script order.
    expect(actions(schedule.onMedia(12))).toEqual(['drop_windows', 'throttle']);
    expect(actions(schedule.onMedia(20))).toEqual([]);
  });

  it('windows_sent fires once, when the count of windows sent reaches it (or passes it)', () => {
    const schedule = new FaultSchedule([{ when: { windows_sent: 2 }, action: 'disconnect' }, { when: { windows_sent: 5 }, action: 'unknown_event' }], new Random(1));
    expect(actions(schedule.onWindowsSent(1))).toEqual([]);
    expect(actions(schedule.onWindowsSent(2))).toEqual(['disconnect']);
    expect(actions(schedule.onWindowsSent(3))).toEqual([]);
    expect(actions(schedule.onWindowsSent(7))).toEqual(['unknown_event']);
    expect(actions(schedule.onSegment(1))).toEqual([]);
  });

  it('wall-clock faults are handed out for timers, and missing_scope is an upgrade-time flag', () => {
    const timed: Fault = { when: { wall_seconds: 2.5 }, action: 'quota_exhausted' };
    const schedule = new FaultSchedule([timed, { action: 'missing_scope' }], new Random(1));
    expect(schedule.timed()).toEqual([[timed, 2500]]);
    expect(schedule.atWallTime(timed)).toEqual([timed]);
    expect(schedule.atWallTime(timed)).toEqual([]);
    expect(schedule.refusesScope).toBe(true);
    expect(schedule.atOpen()).toEqual([]);
  });

  it('every_segment with a probability: about that share of segments, the same ones for the same seed', () => {
    const fault: Fault = { when: { every_segment: true }, probability: 0.25, action: 'drop_windows' };
    const fire = (seed: number) => {
      const schedule = new FaultSchedule([fault], new Random(seed));
      return Array.from({ length: 400 }, (_, i) => schedule.onSegment(i + 1).length);
    };
    const a = fire(7);
    expect(a).toEqual(fire(7));
    expect(a).not.toEqual(fire(8));
    const share = a.reduce((n, x) => n + x, 0) / a.length;
    expect(share).toBeGreaterThan(0.18);
    expect(share).toBeLessThan(0.32);
  });

  it('a random fault fires on the same segments whatever other faults come before it (so shrinking can drop them)', () => {
    const fault: Fault = { when: { every_segment: true }, probability: 0.3, action: 'error', code: 'ih5004' };
    const other: Fault = { when: { every_segment: true }, probability: 0.5, action: 'unknown_event' };
    const firings = (faults: Fault[]) => {
      const schedule = new FaultSchedule(faults, new Random(11));
      return Array.from({ length: 200 }, (_, i) => schedule.onSegment(i + 1).filter((f) => f === fault).length);
    };
    const alone = firings([fault]);
    expect(firings([other, fault])).toEqual(alone);
    expect(firings([fault, other, { ...other }])).toEqual(alone);
    expect(alone.some((n) => n === 1) && alone.some((n) => n === 0)).toBe(true);
  });

  it('probability 1 and 0 draw nothing, so adding them does not shift seeded faults', () => {
    const random = new Random(3);
    const probe = new Random(3);
    const schedule = new FaultSchedule([{ when: { every_segment: true }, probability: 0, action: 'disconnect' }, { when: { every_segment: true }, action: 'delay', seconds: 1 }], random);
    for (let i = 1; i <= 5; i++) expect(actions(schedule.onSegment(i))).toEqual(['delay']);
    expect(random.next()).toBe(probe.next());
  });
});
