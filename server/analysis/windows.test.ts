import { describe, expect, it } from 'vitest';
import { WindowScheduler } from './windows.js';

const span = (ws: { start: number; end: number }[]) => ws.map((w) => [w.start, w.end]);

describe('WindowScheduler', () => {
  it('hands out the 8 s / 3 s grid as media arrives, each window once and in order', () => {
    const s = new WindowScheduler();
    expect(s.advance(7.9)).toEqual([]);
    expect(s.advance(8)).toEqual([{ index: 0, start: 0, end: 8, final: false }]);
    expect(s.advance(8)).toEqual([]);
    expect(span(s.advance(17))).toEqual([
      [3, 11],
      [6, 14],
      [9, 17],
    ]);
    expect(s.advance(16)).toEqual([]); // media never goes back; nothing is handed out twice
    expect(s.advance(20).map((w) => w.index)).toEqual([4]);
  });

  it('uses the configured window and hop', () => {
    const s = new WindowScheduler({ windowSeconds: 4, hopSeconds: 4 });
    expect(span(s.advance(12))).toEqual([
      [0, 4],
      [4, 8],
      [8, 12],
    ]);
  });

  it('rejects a hop that would leave media unanalyzed, and non-positive lengths', () => {
    expect(() => new WindowScheduler({ windowSeconds: 3, hopSeconds: 4 })).toThrow(RangeError);
    expect(() => new WindowScheduler({ windowSeconds: 0 })).toThrow(RangeError);
    expect(() => new WindowScheduler({ hopSeconds: -1 })).toThrow(RangeError);
  });

  describe('flush', () => {
    it('yields [0, mediaEnd) when there is less media than one window', () => {
      const s = new WindowScheduler();
      expect(s.advance(5)).toEqual([]);
      expect(s.flush(5)).toEqual([{ index: 0, start: 0, end: 5, final: true }]);
    });

    it('clips the next grid window to mediaEnd when media goes beyond the last due window', () => {
      const s = new WindowScheduler();
      expect(s.advance(19).map((w) => w.index)).toEqual([0, 1, 2, 3]); // last due: [9, 17)
      expect(s.flush(19)).toEqual([{ index: 4, start: 12, end: 19, final: true }]);
    });

    it('yields nothing when the last due window ends exactly at mediaEnd (nothing is analyzed twice)', () => {
      const s = new WindowScheduler();
      s.advance(17);
      expect(s.flush(17)).toEqual([]);
    });

    it('also hands out full windows that became due but were not yet asked for', () => {
      const s = new WindowScheduler();
      expect(s.flush(12).map((w) => [w.index, w.start, w.end, w.final])).toEqual([
        [0, 0, 8, false],
        [1, 3, 11, false],
        [2, 6, 12, true],
      ]);
    });

    it('yields nothing without media, and closes the scheduler', () => {
      const s = new WindowScheduler();
      expect(s.flush(0)).toEqual([]);
      expect(s.closed).toBe(true);
      expect(s.advance(100)).toEqual([]);
      expect(s.flush(100)).toEqual([]);
    });
  });
});
