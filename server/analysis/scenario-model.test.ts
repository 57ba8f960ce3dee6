import { describe, expect, it } from 'vitest';
import type { Scenario, ScriptedSignal } from '../types/generated.js';
import { DEFAULT_RATIONALES, ScenarioModel, SIGNAL_TYPES } from './scenario-model.js';
import type { Window } from './windows.js';

const win = (start: number, end: number, index = Math.round(start / 3)): Window => ({ index, start, end, final: false });
const scenario = (parts: Partial<Scenario>): Scenario => ({ name: 'test', ...parts });
const sig = (s: Partial<ScriptedSignal> & Pick<ScriptedSignal, 'start' | 'end'>): ScriptedSignal => ({
  type: 'agreement',
  probability: 'high',
  ...s,
});

describe('ScenarioModel: presence', () => {
  const model = new ScenarioModel(scenario({ signals: [sig({ start: 20, end: 35 })] }));
  const present = (w: Window) => model.observe(w).signals.map((s) => s.type);

  it('counts a span present when it overlaps the window by at least 1 s', () => {
    expect(present(win(12, 20))).toEqual([]);
    expect(present(win(12.5, 20.5))).toEqual([]); // 0.5 s
    expect(present(win(13, 21))).toEqual(['agreement']); // exactly 1 s
    expect(present(win(34, 42))).toEqual(['agreement']);
    expect(present(win(34.01, 42))).toEqual([]);
  });

  it('counts a span shorter than the threshold present when it lies wholly inside the window', () => {
    const m = new ScenarioModel(scenario({ signals: [sig({ start: 10, end: 10.4 })] }));
    expect(m.observe(win(9, 17)).signals).toHaveLength(1);
    expect(m.observe(win(10.2, 18)).signals).toHaveLength(0); // only partly inside, 0.2 s overlap
  });

  it('honours presenceOverlapSeconds', () => {
    const m = new ScenarioModel(scenario({ signals: [sig({ start: 20, end: 35 })] }), { presenceOverlapSeconds: 3 });
    expect(m.observe(win(15, 22)).signals).toHaveLength(0);
    expect(m.observe(win(15, 23)).signals).toHaveLength(1);
  });

  it('reports the span, probability, since and default rationale', () => {
    expect(model.observe(win(15, 23)).signals).toEqual([
      { type: 'agreement', spanStart: 20, spanEnd: 35, probability: 'high', rationale: DEFAULT_RATIONALES.agreement, since: 20 },
    ]);
  });

  it('sees at most one span per type: the one with more overlap', () => {
    const m = new ScenarioModel(
      scenario({
        signals: [sig({ start: 0, end: 10, probability: 'low' }), sig({ start: 12, end: 30, probability: 'high' })],
      }),
    );
    expect(m.observe(win(6, 14)).signals).toMatchObject([{ spanStart: 0, probability: 'low' }]); // 4 s vs 2 s
    expect(m.observe(win(9, 17)).signals).toMatchObject([{ spanStart: 12, probability: 'high' }]); // 1 s vs 5 s
    expect(m.observe(win(7, 15)).signals).toMatchObject([{ spanStart: 12 }]); // 3 s vs 3 s: the later one
  });

  it('lists several types sorted by name', () => {
    const m = new ScenarioModel(
      scenario({ signals: [sig({ type: 'stress', start: 0, end: 8 }), sig({ type: 'confusion', start: 2, end: 6 })] }),
    );
    expect(m.observe(win(0, 8)).signals.map((s) => s.type)).toEqual(['confusion', 'stress']);
  });

  it('has a distinct default rationale for each of the 12 types', () => {
    expect(SIGNAL_TYPES).toHaveLength(12);
    expect(new Set(SIGNAL_TYPES.map((t) => DEFAULT_RATIONALES[t])).size).toBe(12);
    expect(DEFAULT_RATIONALES.hesitation).toBe('Speech slows with filled pauses and gaze aversion before answering.');
  });
});

describe('ScenarioModel: probability and rationale', () => {
  const model = new ScenarioModel(
    scenario({
      signals: [
        sig({
          start: 20,
          end: 40,
          probability: 'low',
          rationale: 'first',
          changes: [
            { at: 25, probability: 'medium' },
            { at: 30, rationale: 'second' },
            { at: 38, probability: 'high', rationale: 'third' },
          ],
        }),
      ],
    }),
  );
  const at = (w: Window) => {
    const s = model.observe(w).signals[0]!;
    return [s.probability, s.rationale, s.since];
  };

  it('takes what is in effect at the end of the overlap (changes strictly before it)', () => {
    expect(at(win(15, 23))).toEqual(['low', 'first', 20]);
    expect(at(win(17, 25))).toEqual(['low', 'first', 20]); // change at 25 is not < 25
    expect(at(win(18, 26))).toEqual(['medium', 'first', 25]);
    expect(at(win(24, 32))).toEqual(['medium', 'second', 30]); // rationale changes, probability kept
    expect(at(win(36, 44))).toEqual(['high', 'third', 38]); // overlap ends at the span end, 40
  });
});

describe('ScenarioModel: engagement', () => {
  const model = new ScenarioModel(
    scenario({
      engagement: [
        { start: 0, state: 'neutral' },
        { start: 10, state: 'engaged' },
        { start: 14, state: 'engaged' }, // same state: one run from 10
        { start: 20, state: 'disengaged' },
      ],
    }),
  );

  it('is the state covering most of the window, with the start of its run', () => {
    expect(model.observe(win(0, 8)).engagement).toEqual({ state: 'neutral', since: 0 });
    expect(model.observe(win(3, 11)).engagement).toEqual({ state: 'neutral', since: 0 });
    expect(model.observe(win(9, 17)).engagement).toEqual({ state: 'engaged', since: 10 });
    expect(model.observe(win(15, 23)).engagement).toEqual({ state: 'engaged', since: 10 });
  });

  it('breaks a tie in favour of the later state', () => {
    expect(model.observe(win(6, 14)).engagement).toEqual({ state: 'engaged', since: 10 }); // 4 s each
    expect(model.observe(win(16, 24)).engagement).toEqual({ state: 'disengaged', since: 20 });
  });

  it('is null without engagement entries, or before the first entry', () => {
    expect(new ScenarioModel(scenario({})).observe(win(0, 8)).engagement).toBeNull();
    const late = new ScenarioModel(scenario({ engagement: [{ start: 30, state: 'engaged' }] }));
    expect(late.observe(win(0, 8)).engagement).toBeNull();
    expect(late.observe(win(24, 32)).engagement).toEqual({ state: 'engaged', since: 30 });
  });
});

describe('ScenarioModel: duration and loop', () => {
  const script: Partial<Scenario> = {
    duration: 30,
    signals: [sig({ start: 5, end: 12, probability: 'low', changes: [{ at: 9, probability: 'high' }] })],
    engagement: [
      { start: 0, state: 'engaged' },
      { start: 20, state: 'neutral' },
    ],
  };

  it('without loop, nothing is active from `duration` on', () => {
    const m = new ScenarioModel(scenario({ ...script, signals: [sig({ start: 25, end: 60 })] }));
    expect(m.observe(win(24, 32)).signals).toMatchObject([{ spanEnd: 30 }]);
    expect(m.observe(win(30, 38))).toMatchObject({ signals: [], engagement: null });
  });

  it('with loop, repeats the script every `duration` seconds', () => {
    const m = new ScenarioModel(scenario({ ...script, loop: true }));
    const first = m.observe(win(6, 14)).signals;
    const again = m.observe(win(3606, 3614)).signals;
    expect(first).toMatchObject([{ spanStart: 5, spanEnd: 12, probability: 'high', since: 9 }]);
    expect(again).toMatchObject([{ spanStart: 3605, spanEnd: 3612, probability: 'high', since: 3609 }]);
    expect(m.observe(win(35, 43)).engagement).toEqual({ state: 'engaged', since: 30 });
  });

  it('with loop, a state that runs across the cycle boundary keeps the start of its run', () => {
    const m = new ScenarioModel(
      scenario({
        duration: 30,
        loop: true,
        engagement: [
          { start: 0, state: 'engaged' },
          { start: 10, state: 'neutral' },
          { start: 20, state: 'engaged' },
        ],
      }),
    );
    expect(m.observe(win(27, 35)).engagement).toEqual({ state: 'engaged', since: 20 });
    expect(m.observe(win(60, 68)).engagement).toEqual({ state: 'engaged', since: 50 });
    const single = new ScenarioModel(scenario({ duration: 30, loop: true, engagement: [{ start: 0, state: 'neutral' }] }));
    expect(single.observe(win(90, 98)).engagement).toEqual({ state: 'neutral', since: 0 });
  });
});

describe('ScenarioModel: pieces (ground truth over time)', () => {
  it('cuts media into stretches over which nothing changes', () => {
    const m = new ScenarioModel(
      scenario({
        signals: [
          sig({ type: 'interest', start: 2, end: 6, probability: 'low', changes: [{ at: 4, probability: 'high' }] }),
          sig({ type: 'interest', start: 3, end: 5, probability: 'medium' }),
        ],
        engagement: [{ start: 5, state: 'engaged' }],
        quality: [
          { start: 0, end: 3, values: { clarity: 10, energy: 20 } },
          { start: 1, end: 2, values: { clarity: 90 } },
        ],
      }),
    );
    expect(m.pieces(0, 8)).toEqual([
      { start: 0, end: 1, signals: [], engagement: null, quality: { clarity: 10, energy: 20 } },
      { start: 1, end: 2, signals: [], engagement: null, quality: { clarity: 90, energy: 20 } },
      { start: 2, end: 3, signals: [{ type: 'interest', probability: 'low' }], engagement: null, quality: { clarity: 10, energy: 20 } },
      { start: 3, end: 4, signals: [{ type: 'interest', probability: 'medium' }], engagement: null, quality: {} },
      { start: 4, end: 5, signals: [{ type: 'interest', probability: 'high' }], engagement: null, quality: {} },
      { start: 5, end: 6, signals: [{ type: 'interest', probability: 'high' }], engagement: 'engaged', quality: {} },
      { start: 6, end: 8, signals: [], engagement: 'engaged', quality: {} },
    ]);
  });
});
