import { describe, expect, it } from 'vitest';
import type { Scenario } from '../types/generated.js';
import { eventMediaTime, WindowAnalysis, type AnalysisEvent, type WindowAnalysisOptions } from './index.js';
import { SignalLifecycle } from './lifecycle.js';
import type { ObservedSignal, WindowObservation } from './scenario-model.js';

/** Feeds media in 1 s steps up to `mediaEnd`, analyzes every due window, then finishes. */
function run(
  scenario: Omit<Scenario, 'name'>,
  mediaEnd: number,
  options: Omit<WindowAnalysisOptions, 'scenario'> = {},
): { window: number | 'finish'; type: string; data: unknown }[] {
  const analysis = new WindowAnalysis({ scenario: { name: 'test', ...scenario }, ...options });
  const out: { window: number | 'finish'; type: string; data: unknown }[] = [];
  for (let t = 1; t <= mediaEnd; t++) {
    for (const w of analysis.due(t)) for (const e of analysis.analyze(w, [])) out.push({ window: w.index, ...e });
  }
  for (const e of analysis.finish(mediaEnd, []).events) out.push({ window: 'finish', ...e });
  return out;
}

const signal = (type: string, start: number, end: number, extra: object = {}) => ({
  type: type as never,
  start,
  end,
  probability: 'high' as const,
  rationale: `${type} rationale`,
  ...extra,
});

describe('signal lifecycle (through WindowAnalysis, 8 s / 3 s windows)', () => {
  it('a signal [20, 35) gives exactly one detected and one ended, at the documented times', () => {
    // Window 5 = [15, 23) is the first to overlap by ≥ 1 s: start 20 clamped into slot [15, 18] → 18.
    // Window 12 = [36, 44) is the first without it: end 35 clamped into slot [36, 39] → 36.
    expect(run({ signals: [signal('agreement', 20, 35)] }, 60)).toEqual([
      {
        window: 5,
        type: 'signal.detected',
        data: { signal_type: 'agreement', start: 18, probability: 'high', rationale: 'agreement rationale' },
      },
      { window: 12, type: 'signal.ended', data: { signal_type: 'agreement', end: 36 } },
    ]);
  });

  it('keeps scripted times when they fall inside the slot (1 s windows, no overlap)', () => {
    expect(run({ signals: [signal('agreement', 20, 35)] }, 60, { windowSeconds: 1, hopSeconds: 1, presenceOverlapSeconds: 0.5 })).toEqual([
      { window: 20, type: 'signal.detected', data: expect.objectContaining({ start: 20 }) },
      { window: 35, type: 'signal.ended', data: { signal_type: 'agreement', end: 35 } },
    ]);
  });

  it('a probability change gives signal.updated repeating the reported start', () => {
    const events = run(
      { signals: [signal('hesitation', 20, 40, { probability: 'low', changes: [{ at: 28, probability: 'high' }, { at: 33, rationale: 'new' }] })] },
      60,
    );
    expect(events).toEqual([
      { window: 5, type: 'signal.detected', data: { signal_type: 'hesitation', start: 18, probability: 'low', rationale: 'hesitation rationale' } },
      // window 7 = [21, 29) is the first whose overlap ends after 28
      { window: 7, type: 'signal.updated', data: { signal_type: 'hesitation', start: 18, probability: 'high', rationale: 'hesitation rationale' } },
      { window: 9, type: 'signal.updated', data: { signal_type: 'hesitation', start: 18, probability: 'high', rationale: 'new' } },
      { window: 14, type: 'signal.ended', data: { signal_type: 'hesitation', end: 42 } },
    ]);
  });

  it('no signal.updated when a new span of the same type continues with the same probability', () => {
    const events = run({ signals: [signal('interest', 10, 20), signal('interest', 20, 30)] }, 40);
    expect(events.map((e) => e.type)).toEqual(['signal.detected', 'signal.ended']);
    expect(events[1]).toMatchObject({ data: { end: 30 } });
  });

  it('flapping: a type that comes and goes is detected and ended each time', () => {
    const flapping = { signals: [0, 6, 12].map((s) => signal('stress', s, s + 3)) };
    expect(run(flapping, 15, { windowSeconds: 3, hopSeconds: 3 }).map((e) => [e.window, e.type, e.data])).toEqual([
      [0, 'signal.detected', expect.objectContaining({ start: 0 })],
      [1, 'signal.ended', { signal_type: 'stress', end: 3 }],
      [2, 'signal.detected', expect.objectContaining({ start: 6 })],
      [3, 'signal.ended', { signal_type: 'stress', end: 9 }],
      [4, 'signal.detected', expect.objectContaining({ start: 12 })],
      ['finish', 'signal.ended', { signal_type: 'stress', end: 15 }],
    ]);
  });

  it('flapping with the default windows: short bursts far apart give separate detected/ended pairs', () => {
    const events = run({ signals: [signal('stress', 20, 21), signal('stress', 40, 41)] }, 60);
    expect(events.map((e) => [e.window, e.type, (e.data as { start?: number; end?: number }).start ?? (e.data as { end: number }).end])).toEqual([
      [5, 'signal.detected', 18], // [15, 23) holds [20, 21) wholly
      [7, 'signal.ended', 21], // [21, 29) no longer does
      [11, 'signal.detected', 36],
      [14, 'signal.ended', 42],
    ]);
  });

  it('two overlapping signals of different types have independent lifecycles, ordered by time then name', () => {
    const events = run({ signals: [signal('interest', 20, 35), signal('agreement', 21, 30)] }, 60);
    expect(events.map((e) => [e.window, e.type, (e.data as { signal_type: string }).signal_type])).toEqual([
      [5, 'signal.detected', 'agreement'], // both clamp to 18: name order
      [5, 'signal.detected', 'interest'],
      [10, 'signal.ended', 'agreement'], // [30, 38) overlaps [21, 30) by 0 s
      [12, 'signal.ended', 'interest'],
    ]);
  });

  it('two overlapping spans of one type are one active signal', () => {
    const events = run({ signals: [signal('confusion', 10, 30), signal('confusion', 15, 20, { probability: 'low' })] }, 40);
    expect(events.filter((e) => e.type === 'signal.detected')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'signal.ended')).toHaveLength(1);
  });

  it('engagement.updated when first established, then only on change', () => {
    const events = run(
      {
        engagement: [
          { start: 0, state: 'neutral' },
          { start: 10, state: 'neutral' },
          { start: 20, state: 'engaged' },
          { start: 40, state: 'engaged' },
          { start: 50, state: 'disengaged' },
        ],
      },
      70,
    );
    expect(events).toEqual([
      { window: 0, type: 'engagement.updated', data: { state: 'neutral', start: 0 } },
      // window 4 = [12, 20): neutral; window 5 = [15, 23): neutral 5 s; window 6 = [18, 26): engaged 6 s
      { window: 6, type: 'engagement.updated', data: { state: 'engaged', start: 20 } },
      // window 15 = [45, 53): engaged 5 s; window 16 = [48, 56): disengaged 6 s
      { window: 16, type: 'engagement.updated', data: { state: 'disengaged', start: 50 } },
    ]);
  });

  it('finish ends every active signal at min(span end, mediaEnd), never before the last reported time', () => {
    const events = run({ signals: [signal('agreement', 2, 100), signal('stress', 5, 20.5)] }, 21);
    expect(events.filter((e) => e.window === 'finish')).toEqual([
      { window: 'finish', type: 'signal.ended', data: { signal_type: 'stress', end: 20.5 } },
      { window: 'finish', type: 'signal.ended', data: { signal_type: 'agreement', end: 21 } },
    ]);
  });
});

describe('SignalLifecycle (direct)', () => {
  const obs = (index: number, signals: Partial<ObservedSignal>[], engagement: WindowObservation['engagement'] = null): WindowObservation => ({
    window: { index, start: index * 3, end: index * 3 + 8, final: false },
    signals: signals.map((s) => ({
      type: 'agreement',
      spanStart: 0,
      spanEnd: 100,
      probability: 'high',
      rationale: 'r',
      since: 0,
      ...s,
    })),
    engagement,
  });

  it('orders a window: by time, then ended < detected/updated < engagement, then type name', () => {
    const l = new SignalLifecycle();
    l.diff(obs(0, [{ type: 'stress', spanEnd: 4 }, { type: 'confusion', spanEnd: 4 }]));
    const events = l.diff(
      obs(
        1,
        [
          { type: 'interest', spanStart: 4 },
          { type: 'agreement', spanStart: 4 },
        ],
        { state: 'engaged', since: 4 },
      ),
    );
    expect(events.map((e) => [e.type, 'signal_type' in e.data ? e.data.signal_type : e.data.state, 'end' in e.data ? e.data.end : e.data.start])).toEqual([
      ['signal.ended', 'confusion', 4],
      ['signal.ended', 'stress', 4],
      ['signal.detected', 'agreement', 4],
      ['signal.detected', 'interest', 4],
      ['engagement.updated', 'engaged', 4],
    ]);
    const later = l.diff(obs(2, [{ type: 'agreement', spanStart: 4, probability: 'low', since: 7 }, { type: 'interest', spanStart: 4 }], { state: 'neutral', since: 6.5 }));
    expect(later.map((e) => e.type)).toEqual(['engagement.updated', 'signal.updated']); // 6.5 before 7
    expect(l.lastReportedTime).toBe(6.5); // signal.updated reports no time of its own
  });

  it('rejects windows out of order', () => {
    const l = new SignalLifecycle();
    l.diff(obs(2, []));
    expect(() => l.diff(obs(2, []))).toThrow(/order/);
    expect(() => l.diff(obs(1, []))).toThrow(/order/);
  });

  it('uses the final window slot [start, mediaEnd]', () => {
    const l = new SignalLifecycle();
    const events = l.diff({
      window: { index: 4, start: 12, end: 19, final: true },
      signals: [{ type: 'agreement', spanStart: 17, spanEnd: 30, probability: 'low', rationale: 'r', since: 17 }],
      engagement: null,
    });
    expect(events).toEqual([{ type: 'signal.detected', data: { signal_type: 'agreement', start: 17, probability: 'low', rationale: 'r' } }]);
    expect(l.finish(19)).toEqual([{ type: 'signal.ended', data: { signal_type: 'agreement', end: 19 } }]);
    expect(l.activeSignals).toEqual([]);
  });

  it('never reports a time before the last reported one (AnalysisEvent times stay monotone)', () => {
    const l = new SignalLifecycle();
    const all: AnalysisEvent[] = [];
    all.push(...l.diff(obs(0, [{ spanStart: 0, spanEnd: 1 }])));
    all.push(...l.diff(obs(1, [])));
    all.push(...l.diff(obs(5, [{ type: 'stress', spanStart: 0 }])));
    all.push(...l.finish(2));
    const times = all.map(eventMediaTime);
    expect(times).toEqual([0, 3, 15, 15]);
  });
});
