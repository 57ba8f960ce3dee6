/** Checks every event stream in the tests must pass, and views of a stream that ignore ids and clocks. */
import { expect } from 'vitest';
import { envelopeMediaTime } from '../../server/analysis/events.js';
import type { Frame } from './client.js';

/** The media time an event reports (for ordering checks): the emulator's own rule. */
export function mediaTime(f: Frame): number | null {
  return envelopeMediaTime(f.type, f.data);
}

/**
 * Lifecycle checks: per type detected → updated* → ended, times never go back, nothing active at
 * session.ended, coverage.dropped ranges non-empty, in order and not overlapping.
 */
export function checkLifecycles(frames: Frame[]): void {
  const active = new Map<string, number>();
  let last = -Infinity;
  let droppedUntil = -Infinity;
  for (const f of frames) {
    const t = mediaTime(f);
    if (t !== null) {
      expect(t, `${f.type} time went backwards`).toBeGreaterThanOrEqual(last);
      last = t;
    }
    if (f.type === 'signal.detected') {
      expect(active.has(f.data.signal_type), `double detect of ${f.data.signal_type}`).toBe(false);
      active.set(f.data.signal_type, f.data.start);
    } else if (f.type === 'signal.updated') {
      expect(active.get(f.data.signal_type), `update of inactive ${f.data.signal_type}`).toBe(f.data.start);
    } else if (f.type === 'signal.ended') {
      expect(active.has(f.data.signal_type), `end of inactive ${f.data.signal_type}`).toBe(true);
      expect(f.data.end).toBeGreaterThanOrEqual(active.get(f.data.signal_type)!);
      active.delete(f.data.signal_type);
    } else if (f.type === 'coverage.dropped') {
      for (const r of f.data.ranges) {
        expect(r.end, 'empty dropped range').toBeGreaterThan(r.start);
        expect(r.start, 'dropped ranges out of order or overlapping').toBeGreaterThanOrEqual(droppedUntil);
        droppedUntil = r.end;
      }
    } else if (f.type === 'session.ended') {
      expect([...active.keys()], 'signals still active at session.ended').toEqual([]);
    }
  }
}

/** Type and data only: what must be identical across runs (timestamps and ids differ). */
export function semantic(frames: Frame[]): { type: string; data: unknown }[] {
  return frames.map((f) => ({ type: f.type, data: f.data }));
}

/** Every range of every coverage.dropped, in order. */
export function droppedRanges(frames: Frame[]): { start: number; end: number }[] {
  return frames.filter((f) => f.type === 'coverage.dropped').flatMap((f) => f.data.ranges);
}
