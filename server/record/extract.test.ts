/**
 * Round trips of server/record/extract.ts through the emulator's own analysis: a session's events →
 * extracted scenario → the same session again must give the same signal, engagement and quality
 * events (type and data, in order). No sockets: `WindowAnalysis` is driven like a graceful stream
 * session whose media arrives in 3-s steps.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { scenarioArbitrary } from '../../scenarios/generator.js';
import { loadScenario, validateScenario } from '../../scenarios/loader.js';
import { WindowAnalysis, type AnalysisEvent } from '../analysis/index.js';
import type { Scenario } from '../types/generated.js';
import { extractScenario, extractScenarioWithNotes, type ExtractOptions } from './extract.js';

const BOTH = ['conversation_quality_overall', 'conversation_quality_timeline'] as const;

interface Geometry {
  windowSeconds?: number;
  hopSeconds?: number;
  presenceOverlapSeconds?: number;
}

/** A graceful session: media in 3-s steps up to `mediaEnd` (then the rest), each due window analyzed, then close. */
function session(scenario: Scenario, mediaEnd: number, include: readonly string[] = BOTH, geometry: Geometry = {}): AnalysisEvent[] {
  const analysis = new WindowAnalysis({ scenario, ...geometry });
  const events: AnalysisEvent[] = [];
  for (let media = 3; media <= mediaEnd; media += 3) for (const w of analysis.due(media)) events.push(...analysis.analyze(w, include));
  for (const w of analysis.due(mediaEnd)) events.push(...analysis.analyze(w, include));
  events.push(...analysis.finish(mediaEnd, include).events);
  return events;
}

/** Extracts a scenario from `events` (it must be valid) and replays it on the same media. */
function roundTrip(events: readonly AnalysisEvent[], mediaEnd: number, options: Omit<ExtractOptions, 'name'> = {}, include: readonly string[] = BOTH) {
  const { scenario, notes } = extractScenarioWithNotes(events, { name: 'extracted', ...options });
  expect(validateScenario(scenario)).toEqual({ ok: true });
  const geometry: Geometry = {
    ...(options.windowSeconds !== undefined ? { windowSeconds: options.windowSeconds } : {}),
    ...(options.hopSeconds !== undefined ? { hopSeconds: options.hopSeconds } : {}),
    ...(options.presenceOverlapSeconds !== undefined ? { presenceOverlapSeconds: options.presenceOverlapSeconds } : {}),
  };
  return { scenario, notes, replayed: session(scenario, mediaEnd, include, geometry) };
}

describe('extractScenario: built-in scenarios', () => {
  it.each([
    ['steady', 60],
    ['conversation', 300],
    ['sales-call-hesitation', 240],
  ])('%s (%i s of media) comes back event for event', (name, mediaEnd) => {
    const events = session(loadScenario(name), mediaEnd);
    expect(events.length).toBeGreaterThan(10);
    // No mediaEnd given: it is read from the last quality period.
    const { replayed, notes } = roundTrip(events, mediaEnd);
    expect(replayed).toEqual(events);
    expect(notes).toEqual([]);
  });

  it('extractScenario is the scenario of extractScenarioWithNotes', () => {
    const events = session(loadScenario('steady'), 60);
    expect(extractScenario(events, { name: 'x' })).toEqual(extractScenarioWithNotes(events, { name: 'x' }).scenario);
  });

  it('reads envelopes and skips session events silently', () => {
    const events = session(loadScenario('sales-call-hesitation'), 240);
    const envelope = (type: string, data: unknown) => ({ type, timestamp: '2026-06-20T15:21:55.149561Z', correlation_id: 'c', data });
    const recorded = [
      envelope('session.ready', { session_idle_timeout_seconds: 300 }),
      envelope('session.updated', { include: [...BOTH], goal_dimensions: null }),
      ...events.map((e) => envelope(e.type, e.data)),
      envelope('session.closing', {}),
      envelope('session.ended', {}),
    ];
    const { scenario, notes } = extractScenarioWithNotes(recorded, { name: 'sales', mediaEnd: 240 });
    expect(notes).toEqual([]);
    expect(scenario.name).toBe('sales');
    expect(scenario.description).toMatch(/reconstructed from a recorded stream session/i);
    expect(session(scenario, 240)).toEqual(events);
  });
});

describe('extractScenario: the inverse rules (default geometry)', () => {
  it('scripts the times docs/analysis.md predicts the emulator reports', () => {
    const original: Scenario = {
      name: 'rules',
      signals: [
        { type: 'agreement', start: 1.5, end: 35, probability: 'medium', rationale: 'Nods.', changes: [{ at: 17, probability: 'high' }] },
        // The docs' worked example: [20, 35) is reported as detected at 18, ended at 36.
        { type: 'stress', start: 20, end: 35, probability: 'low', rationale: 'Fidgets.' },
      ],
      engagement: [
        { start: 10, state: 'engaged' },
        { start: 26.5, state: 'neutral' },
      ],
    };
    const events = session(original, 45);
    expect(events.filter((e) => e.type !== 'conversation_quality.updated').map((e) => [e.type, e.data])).toEqual([
      ['signal.detected', { signal_type: 'agreement', start: 1.5, probability: 'medium', rationale: 'Nods.' }],
      ['engagement.updated', { state: 'engaged', start: 6 }],
      ['signal.updated', { signal_type: 'agreement', start: 1.5, probability: 'high', rationale: 'Nods.' }],
      ['signal.detected', { signal_type: 'stress', start: 18, probability: 'low', rationale: 'Fidgets.' }],
      ['engagement.updated', { state: 'neutral', start: 26.5 }],
      ['signal.ended', { signal_type: 'agreement', end: 36 }],
      ['signal.ended', { signal_type: 'stress', end: 36 }],
    ]);
    const { scenario, replayed, notes } = roundTrip(events, 45);
    expect(notes).toEqual([]);
    expect(replayed).toEqual(events);
    expect(scenario.signals).toEqual([
      // First slot: exact. End: as reported. The update has no time: windows 2 to 4 (between the
      // engagement of window 1 and the detection of window 5) all fit; the earliest, window 2, sees a
      // change at the end of window 1 (3·2 + 5 = 11) first. The original's 17 (window 4) gives the same events.
      { type: 'agreement', start: 1.5, end: 36, probability: 'medium', rationale: 'Nods.', changes: [{ at: 11, probability: 'high' }] },
      // Detected by window 5 at 18 = 3·5 + 3: start = 18 + window − hop − presence = 22.
      { type: 'stress', start: 22, end: 36, probability: 'low', rationale: 'Fidgets.' },
    ]);
    expect(scenario.engagement).toEqual([
      // First state, reported at 6 by window 1: from the end of window 0 (8). A later change: as reported.
      { start: 8, state: 'engaged' },
      { start: 26.5, state: 'neutral' },
    ]);
    expect(scenario.duration).toBe(45);
  });

  it('uses a second, touching span where only a takeover reproduces a window’s order', () => {
    // Window 8 reports the switch to the second uncertainty span at 26, before confusion at 27: a
    // scripted change could only be reported at 27 and would come after confusion (name order).
    const original: Scenario = {
      name: 'takeover',
      duration: 74,
      signals: [
        { type: 'uncertainty', start: 0, end: 26, probability: 'medium', rationale: 'Hedges.' },
        { type: 'uncertainty', start: 26, end: 62, probability: 'low', rationale: 'Hedges.' },
        { type: 'confusion', start: 31, end: 69, probability: 'high', rationale: 'Frowns.' },
      ],
    };
    const events = session(original, 74);
    const { scenario, replayed, notes } = roundTrip(events, 74);
    expect(notes).toEqual([]);
    expect(replayed).toEqual(events);
    expect(scenario.signals!.filter((s) => s.type === 'uncertainty')).toHaveLength(2);
  });

  it('shortens the script when the recorded one ended before the media', () => {
    // The recorded script ends at 31 s, the media at 33.5 s: window [24, 32) saw less of the last
    // engagement state than a script running to the media end would give it.
    const original: Scenario = {
      name: 'short',
      duration: 31,
      signals: [{ type: 'interest', start: 2, end: 31, probability: 'high' }],
      engagement: [
        { start: 0, state: 'neutral' },
        { start: 28, state: 'disengaged' },
      ],
    };
    const events = session(original, 33.5);
    const { scenario, replayed, notes } = roundTrip(events, 33.5, { mediaEnd: 33.5 });
    expect(replayed).toEqual(events);
    expect(scenario.duration).toBeLessThan(33.5);
    expect(notes).toEqual([expect.stringMatching(/only reproduced with the script ending at .* duration set to/)]);
  });
});

describe('extractScenario: generated scenarios (property)', () => {
  it('reproduces every event of a generated scenario run to its duration', () => {
    fc.assert(
      fc.property(scenarioArbitrary({ maxDuration: 180 }), (original) => {
        const mediaEnd = original.duration!;
        const events = session(original, mediaEnd);
        const { replayed, notes } = roundTrip(events, mediaEnd);
        expect(replayed).toEqual(events);
        expect(notes).toEqual([]);
      }),
      { seed: 20_260_620, numRuns: 100 },
    );
  });

  it('also for other geometries, media ends past the script and other include flags', () => {
    // Geometries whose presence overlap is at most window − hop (see the module header for larger ones).
    const geometries: Geometry[] = [
      { windowSeconds: 6, hopSeconds: 2, presenceOverlapSeconds: 0.5 },
      { windowSeconds: 10, hopSeconds: 5, presenceOverlapSeconds: 2 },
      { windowSeconds: 4, hopSeconds: 4, presenceOverlapSeconds: 0 },
      { windowSeconds: 5, hopSeconds: 3, presenceOverlapSeconds: 1 },
      { windowSeconds: 12, hopSeconds: 3, presenceOverlapSeconds: 1 },
      { windowSeconds: 8, hopSeconds: 3, presenceOverlapSeconds: 0 },
    ];
    const includes: string[][] = [[...BOTH], ['conversation_quality_overall'], ['conversation_quality_timeline'], []];
    fc.assert(
      fc.property(
        scenarioArbitrary({ maxDuration: 120 }),
        fc.constantFrom(...geometries),
        fc.constantFrom(0, 0.5, 1.25, 4),
        fc.constantFrom(...includes),
        (original, geometry, extra, include) => {
          const mediaEnd = original.duration! + extra;
          const events = session(original, mediaEnd, include, geometry);
          // Without a timeline the media end cannot be read from the events: it is given.
          const { replayed, notes } = roundTrip(events, mediaEnd, { ...geometry, mediaEnd }, include);
          expect(replayed).toEqual(events);
          expect(notes.filter((n) => !/duration set to/.test(n))).toEqual([]);
        },
      ),
      { seed: 7, numRuns: 60 },
    );
  });
});

describe('extractScenario: odd input', () => {
  const recording = session(loadScenario('sales-call-hesitation'), 240);

  it('never throws on garbage and returns a valid scenario, with notes for what it skipped', () => {
    const types = ['signal.detected', 'signal.updated', 'signal.ended', 'engagement.updated', 'conversation_quality.updated', 'coverage.dropped', 'feedback.generated'];
    const time = fc.oneof(fc.double({ min: -10, max: 300 }), fc.integer({ min: 0, max: 300 }), fc.constant(Number.POSITIVE_INFINITY));
    const scores = fc.record({ quality_index: time, clarity: time, authority: time, energy: time, rapport: time, learning: time }, { requiredKeys: [] });
    const data = fc.oneof(
      fc.anything(),
      fc.record(
        {
          signal_type: fc.constantFrom('interest', 'stress', 'bogus', 3),
          start: time,
          end: time,
          probability: fc.constantFrom('low', 'high', 'certain'),
          rationale: fc.oneof(fc.string(), fc.constant(undefined)),
          state: fc.constantFrom('engaged', 'neutral', 'asleep'),
          overall: fc.oneof(scores, fc.anything()),
          timeline: fc.oneof(fc.array(fc.record({ start: time, end: time, values: scores })), fc.anything()),
        },
        { requiredKeys: [] },
      ),
    );
    const eventLike = fc.record({ type: fc.constantFrom(...types), data }, { requiredKeys: ['type'] });
    const list = fc.array(fc.oneof(fc.anything(), eventLike, fc.constantFrom(...recording)), { maxLength: 40 });
    const options = fc.record({ mediaEnd: fc.option(fc.oneof(fc.double({ min: -5, max: 400 }), fc.constant(240)), { nil: undefined }) });
    fc.assert(
      fc.property(list, options, (events, { mediaEnd }) => {
        const { scenario, notes } = extractScenarioWithNotes(events as { type: string; data: unknown }[], { name: 'garbage', ...(mediaEnd !== undefined ? { mediaEnd } : {}) });
        expect(validateScenario(scenario)).toEqual({ ok: true });
        const junk = events.some((e) => typeof e !== 'object' || e === null || typeof (e as { type?: unknown }).type !== 'string');
        if (junk) expect(notes.length).toBeGreaterThan(0);
      }),
      { seed: 11, numRuns: 300 },
    );
  });

  it('repairs cut, thinned and reordered recordings into valid scenarios, and says so', () => {
    const mutation = fc.record({
      cut: fc.integer({ min: 1, max: recording.length - 1 }),
      drop: fc.uniqueArray(fc.integer({ min: 0, max: recording.length - 1 }), { maxLength: 6 }),
      swaps: fc.array(fc.tuple(fc.nat(recording.length - 1), fc.nat(recording.length - 1)), { maxLength: 3 }),
    });
    fc.assert(
      fc.property(mutation, ({ cut, drop, swaps }) => {
        const events = recording.slice(0, cut).filter((_, i) => !drop.includes(i));
        for (const [i, j] of swaps) if (i < events.length && j < events.length) [events[i], events[j]] = [events[j]!, events[i]!];
        const { scenario, notes } = extractScenarioWithNotes(events, { name: 'partial' });
        expect(validateScenario(scenario)).toEqual({ ok: true });
        // Cut before the close: at least the signals left open or the unknown media end show.
        if (events.length > 0) expect(notes.length).toBeGreaterThan(0);
      }),
      { seed: 12, numRuns: 100 },
    );
  });

  it('repairs lost and inconsistent events one by one', () => {
    const events = [
      { type: 'signal.updated', data: { signal_type: 'stress', start: 6, probability: 'high', rationale: 'Fidgets.' } },
      { type: 'signal.ended', data: { signal_type: 'interest', end: 9 } },
      { type: 'engagement.updated', data: { state: 'engaged', start: 12 } },
      { type: 'engagement.updated', data: { state: 'neutral', start: 3 } },
      { type: 'signal.ended', data: { signal_type: 'stress', end: 24 } },
      { type: 'coverage.dropped', data: { ranges: [{ start: 24, end: 30 }] } },
      { type: 'feedback.generated', data: { text: 'Slow down.' } },
      { type: 'error', data: { code: 'ih5001' } },
    ];
    const { scenario, notes } = extractScenarioWithNotes(events, { name: 'odd', mediaEnd: 36 });
    expect(validateScenario(scenario)).toEqual({ ok: true });
    expect(notes).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/coverage\.dropped/),
        expect.stringMatching(/feedback\.generated ×1/),
        expect.stringMatching(/signal\.updated stress without a signal\.detected: taken as the detection/),
        expect.stringMatching(/signal\.ended interest without an active signal\.detected; skipped/),
        expect.stringMatching(/engagement\.updated neutral reports 3 s, before the previous reported time 12 s/),
      ]),
    );
    expect(scenario.signals).toEqual([expect.objectContaining({ type: 'stress', probability: 'high', rationale: 'Fidgets.' })]);
    expect(scenario.engagement!.map((e) => e.state)).toEqual(['engaged', 'neutral']);
  });

  it('returns a bare valid scenario for input that is not a list', () => {
    for (const input of [null, 'events', 42, { type: 'signal.detected' }]) {
      const { scenario, notes } = extractScenarioWithNotes(input as unknown as { type: string; data: unknown }[], { name: '' });
      expect(validateScenario(scenario)).toEqual({ ok: true });
      expect(scenario.signals ?? []).toEqual([]);
      expect(notes).toEqual([expect.stringMatching(/not a list/)]);
    }
  });

  it('ignores unusable options instead of throwing', () => {
    const { scenario, notes } = extractScenarioWithNotes(recording, { name: 'x', windowSeconds: -1, hopSeconds: Number.NaN, presenceOverlapSeconds: -2, mediaEnd: Number.NaN });
    expect(validateScenario(scenario)).toEqual({ ok: true });
    expect(notes).toEqual(expect.arrayContaining([expect.stringMatching(/windowSeconds -1 is not usable/), expect.stringMatching(/mediaEnd NaN is not usable/)]));
    expect(session(scenario, 240)).toEqual(recording);
  });
});
