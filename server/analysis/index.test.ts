import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Scenario, ScriptedSignal } from '../types/generated.js';
import { eventMediaTime, SIGNAL_TYPES, WindowAnalysis, type AnalysisEvent, type Window, type WindowAnalysisOptions } from './index.js';

const BOTH = ['conversation_quality_overall', 'conversation_quality_timeline'] as const;

interface Session {
  events: AnalysisEvent[];
  windows: Window[];
  mediaEnd: number;
}

/**
 * Drives one session: media grows by `steps` seconds at a time; each due window is analyzed unless
 * `shed` says to drop it; then a graceful close.
 */
function drive(options: WindowAnalysisOptions, steps: readonly number[], include: readonly string[] = BOTH, shed: (index: number) => boolean = () => false): Session {
  const analysis = new WindowAnalysis(options);
  const events: AnalysisEvent[] = [];
  const windows: Window[] = [];
  let mediaEnd = 0;
  for (const step of steps) {
    mediaEnd += step;
    for (const w of analysis.due(mediaEnd)) {
      if (shed(w.index)) continue;
      windows.push(w);
      events.push(...analysis.analyze(w, include));
    }
  }
  const tail = analysis.finish(mediaEnd, include);
  windows.push(...tail.windows);
  events.push(...tail.events);
  return { events, windows, mediaEnd };
}

describe('WindowAnalysis facade', () => {
  const scenario: Scenario = { name: 'facade', signals: [{ type: 'agreement', start: 2, end: 30, probability: 'high' }] };

  it('analyzes windows in order and refuses one out of order', () => {
    const analysis = new WindowAnalysis({ scenario });
    const [w0, w1] = analysis.due(11);
    expect(analysis.analyze(w1!, [])).toEqual([expect.objectContaining({ type: 'signal.detected' })]);
    expect(() => analysis.analyze(w0!, [])).toThrow(/order/);
    expect(() => analysis.analyze(w1!, [])).toThrow(/order/);
  });

  it('finish analyzes the final partial window, then ends signals, then closes the last quality period', () => {
    const analysis = new WindowAnalysis({ scenario: { name: 'f', signals: [{ type: 'stress', start: 4, end: 30, probability: 'low' }] } });
    const { windows, events } = analysis.finish(6, BOTH);
    expect(windows).toEqual([{ index: 0, start: 0, end: 6, final: true }]);
    expect(events.map((e) => e.type)).toEqual(['signal.detected', 'signal.ended', 'conversation_quality.updated']);
    expect(events[0]).toMatchObject({ data: { start: 4 } });
    expect(events[1]).toEqual({ type: 'signal.ended', data: { signal_type: 'stress', end: 6 } });
    expect(events[2]).toMatchObject({ data: { timeline: [{ start: 0, end: 6 }] } });
    expect(() => analysis.finish(6, BOTH)).toThrow(/twice/);
    expect(() => analysis.analyze({ index: 9, start: 27, end: 35, final: false }, [])).toThrow(/after finish/);
  });

  it('finish with no media yields nothing', () => {
    expect(new WindowAnalysis({ scenario }).finish(0, BOTH)).toEqual({ windows: [], windowEvents: [], closing: [], events: [] });
  });

  it('puts a window’s quality event after its signal and engagement events', () => {
    const analysis = new WindowAnalysis({ scenario: { name: 'o', signals: [{ type: 'interest', start: 9, end: 30, probability: 'low' }], engagement: [{ start: 9, state: 'engaged' }] } });
    const [w0, w1] = analysis.due(11);
    expect(analysis.analyze(w0!, BOTH)).toEqual([]);
    // Window 1 = [3, 11): both clamp to 6 (slot [3, 6]); signal before engagement; quality period [0, 11] last.
    expect(analysis.analyze(w1!, BOTH).map((e) => [e.type, eventMediaTime(e)])).toEqual([
      ['signal.detected', 6],
      ['engagement.updated', 6],
      ['conversation_quality.updated', null],
    ]);
  });
});

// ---- property: any scenario, any media progression, any shedding ----

const num = (min: number, max: number) => fc.integer({ min: min * 4, max: max * 4 }).map((n) => n / 4);
const probability = fc.constantFrom('low' as const, 'medium' as const, 'high' as const);

const signalArb: fc.Arbitrary<ScriptedSignal> = fc
  .record({
    type: fc.constantFrom(...SIGNAL_TYPES),
    start: num(0, 90),
    length: num(0.25, 30),
    probability,
    rationale: fc.option(fc.constantFrom('a', 'b'), { nil: undefined }),
    changes: fc.array(fc.record({ at: fc.double({ min: 0, max: 1, noNaN: true }), probability: fc.option(probability, { nil: undefined }), rationale: fc.option(fc.constantFrom('c', 'd'), { nil: undefined }) }), { maxLength: 3 }),
  })
  .map(({ type, start, length, probability, rationale, changes }) => ({
    type,
    start,
    end: start + length,
    probability,
    ...(rationale !== undefined ? { rationale } : {}),
    changes: changes
      .map((c) => ({ at: start + c.at * length, ...(c.probability ? { probability: c.probability } : {}), ...(c.rationale ? { rationale: c.rationale } : {}) }))
      .sort((a, b) => a.at - b.at),
  }));

const scenarioArb: fc.Arbitrary<Scenario> = fc
  .record({
    duration: fc.option(num(5, 80), { nil: undefined }),
    loop: fc.boolean(),
    signals: fc.array(signalArb, { maxLength: 8 }),
    engagement: fc.array(fc.record({ start: num(0, 90), state: fc.constantFrom('engaged' as const, 'neutral' as const, 'disengaged' as const) }), { maxLength: 5 }),
    quality: fc.array(
      fc.record({
        start: num(0, 90),
        length: num(0.25, 30),
        values: fc.record(
          { clarity: fc.integer({ min: 0, max: 100 }), authority: fc.integer({ min: 0, max: 100 }), energy: fc.integer({ min: 0, max: 100 }), rapport: fc.integer({ min: 0, max: 100 }), learning: fc.integer({ min: 0, max: 100 }) },
          { requiredKeys: [] },
        ),
      }),
      { maxLength: 3 },
    ),
  })
  .map(({ duration, loop, signals, engagement, quality }) => ({
    name: 'random',
    ...(duration !== undefined ? { duration, loop } : {}),
    signals,
    engagement: [...engagement].sort((a, b) => a.start - b.start),
    quality: quality.map((q) => ({ start: q.start, end: q.start + q.length, values: q.values })),
  }));

const gridArb = fc.constantFrom(
  { windowSeconds: 8, hopSeconds: 3 },
  { windowSeconds: 8, hopSeconds: 3, presenceOverlapSeconds: 0 },
  { windowSeconds: 5, hopSeconds: 5 },
  { windowSeconds: 10, hopSeconds: 2.5, presenceOverlapSeconds: 2, qualityCadenceSeconds: 4 },
  { windowSeconds: 3, hopSeconds: 1, qualityCadenceSeconds: 20 },
);

describe('property: events over random scenarios', () => {
  it('keeps times monotone, lifecycles well-formed and quality valid', () => {
    fc.assert(
      fc.property(
        scenarioArb,
        gridArb,
        fc.array(num(0, 7), { maxLength: 40 }),
        fc.array(fc.boolean(), { maxLength: 60 }),
        (scenario, grid, steps, shedding) => {
          const { events, windows, mediaEnd } = drive({ scenario, ...grid }, steps, BOTH, (i) => shedding[i] === true);

          // Windows strictly in order; only the last may be final.
          windows.forEach((w, i) => {
            if (i > 0) expect(w.index).toBeGreaterThan(windows[i - 1]!.index);
            if (w.final) expect(i).toBe(windows.length - 1);
          });

          // Reported media times: non-decreasing, within [0, mediaEnd].
          let last = 0;
          for (const e of events) {
            const t = eventMediaTime(e);
            if (t === null) continue;
            expect(t).toBeGreaterThanOrEqual(last);
            expect(t).toBeLessThanOrEqual(mediaEnd);
            last = t;
          }

          // Per type: detected → updated* → ended, updated repeats the detected start; nothing left active.
          const active = new Map<string, { start: number; probability: string; rationale: string }>();
          for (const e of events) {
            if (e.type === 'signal.detected') {
              expect(active.has(e.data.signal_type)).toBe(false);
              active.set(e.data.signal_type, e.data);
            } else if (e.type === 'signal.updated') {
              const a = active.get(e.data.signal_type);
              expect(a).toBeDefined();
              expect(e.data.start).toBe(a!.start);
              expect(e.data.probability !== a!.probability || e.data.rationale !== a!.rationale).toBe(true);
              active.set(e.data.signal_type, e.data);
            } else if (e.type === 'signal.ended') {
              const a = active.get(e.data.signal_type);
              expect(a).toBeDefined();
              expect(e.data.end).toBeGreaterThanOrEqual(a!.start);
              active.delete(e.data.signal_type);
            }
          }
          expect([...active.keys()]).toEqual([]);

          // Engagement only on change.
          const states = events.flatMap((e) => (e.type === 'engagement.updated' ? [e.data.state] : []));
          states.forEach((s, i) => i > 0 && expect(s).not.toBe(states[i - 1]));

          // Quality: integer scores 0–100, index = rounded mean, periods contiguous from 0 to mediaEnd.
          const periods = events.flatMap((e) => (e.type === 'conversation_quality.updated' ? (e.data.timeline ?? []) : []));
          const overall = events.flatMap((e) => (e.type === 'conversation_quality.updated' && e.data.overall ? [e.data.overall] : []));
          expect(overall).toHaveLength(periods.length);
          for (const scores of [...overall, ...periods.map((p) => p.values)]) {
            const dims = [scores.clarity, scores.authority, scores.energy, scores.rapport, scores.learning];
            for (const v of [...dims, scores.quality_index]) {
              expect(Number.isInteger(v)).toBe(true);
              expect(v).toBeGreaterThanOrEqual(0);
              expect(v).toBeLessThanOrEqual(100);
            }
            expect(scores.quality_index).toBe(Math.round(dims.reduce((a, b) => a + b, 0) / 5));
          }
          let end = 0;
          for (const p of periods) {
            expect(p.start).toBe(end);
            expect(p.end).toBeGreaterThan(p.start);
            end = p.end;
          }
          expect(end).toBe(mediaEnd);
        },
      ),
      { numRuns: 400 },
    );
  });
});

describe('property: reported times stay close to the script (defaults, nothing shed)', () => {
  it('start is never after the scripted start and < 5 s before it; end is never before the scripted end and < 3 s after it', () => {
    const oneSpanPerType = fc.uniqueArray(signalArb, { selector: (s) => s.type, maxLength: 6 });
    fc.assert(
      fc.property(oneSpanPerType, fc.array(num(0, 7), { maxLength: 40 }), (signals, steps) => {
        const { events, mediaEnd } = drive({ scenario: { name: 'bounds', signals } }, steps);
        for (const e of events) {
          if (e.type !== 'signal.detected' && e.type !== 'signal.ended') continue;
          const span = signals.find((s) => s.type === e.data.signal_type)!;
          if (e.type === 'signal.detected') {
            expect(e.data.start).toBeLessThanOrEqual(span.start);
            expect(e.data.start).toBeGreaterThan(span.start - 5);
          } else if (span.end <= mediaEnd - 11) {
            // a full window starting after the span end was analyzed: ended by the window diff
            expect(e.data.end).toBeGreaterThanOrEqual(span.end);
            expect(e.data.end).toBeLessThan(span.end + 3);
          } else {
            // possibly ended by finish: at min(span end, media end) or later, never beyond the media
            expect(e.data.end).toBeGreaterThanOrEqual(Math.min(span.end, mediaEnd));
            expect(e.data.end).toBeLessThanOrEqual(mediaEnd);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('determinism and speed', () => {
  const hour: Scenario = {
    name: 'hour-loop',
    duration: 97,
    loop: true,
    signals: [
      { type: 'agreement', start: 3, end: 19, probability: 'medium', changes: [{ at: 11, probability: 'high' }] },
      { type: 'hesitation', start: 15, end: 17.5, probability: 'low' },
      { type: 'interest', start: 25, end: 70, probability: 'high', rationale: 'Asks for the pricing details.', changes: [{ at: 40, rationale: 'Takes notes.' }] },
      { type: 'confusion', start: 50, end: 52, probability: 'medium' },
      { type: 'stress', start: 80, end: 97, probability: 'high' },
      { type: 'confidence', start: 0, end: 6, probability: 'high' },
    ],
    engagement: [
      { start: 0, state: 'engaged' },
      { start: 30, state: 'neutral' },
      { start: 60, state: 'disengaged' },
      { start: 75, state: 'engaged' },
    ],
    quality: [{ start: 40, end: 55, values: { learning: 90 } }],
  };

  it('a one-hour looped scenario analyzed window by window gives the same events twice, well under a second', () => {
    const steps = Array.from({ length: 1200 }, () => 3);
    const started = performance.now();
    const a = drive({ scenario: hour }, steps);
    const b = drive({ scenario: hour }, steps);
    const elapsed = performance.now() - started;
    expect(a.mediaEnd).toBe(3600);
    expect(a.windows).toHaveLength(1199); // [0, 8) … [3591, 3599), then the final [3594, 3600)
    expect(b).toEqual(a);
    expect(a.events.filter((e) => e.type === 'signal.detected').length).toBeGreaterThan(100);
    expect(a.events.filter((e) => e.type === 'conversation_quality.updated')).toHaveLength(400);
    expect(elapsed).toBeLessThan(1000);
  });

  it('every loop cycle reports the same events, shifted by the cycle length', () => {
    const { events } = drive({ scenario: { ...hour, duration: 99 } }, Array.from({ length: 200 }, () => 3)); // 99 = 33 hops
    const shift = (e: AnalysisEvent, by: number) => {
      const t = eventMediaTime(e);
      return t === null ? null : { type: e.type, t: t - by, who: 'signal_type' in e.data ? e.data.signal_type : '' };
    };
    const inCycle = (c: number) =>
      events
        .map((e) => ({ e, t: eventMediaTime(e) }))
        .filter(({ t }) => t !== null && t >= c * 99 + 10 && t < (c + 1) * 99 + 10)
        .map(({ e }) => shift(e, c * 99));
    expect(inCycle(2)).toEqual(inCycle(1));
    expect(inCycle(4)).toEqual(inCycle(1));
  });
});
