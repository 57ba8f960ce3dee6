/** Folding a file's events into the upload body (docs/analysis.md, "Uploads"). */
import { describe, expect, it } from 'vitest';
import { scenarioFromObject } from '../../scenarios/loader.js';
import { validateUploadResponse } from '../validation.js';
import type { AnalysisEvent } from './events.js';
import { analyzeFile, engagementSpans, fileEvents, uploadBody } from './file-analysis.js';

const BOTH = ['conversation_quality_overall', 'conversation_quality_timeline'];

describe('uploadBody', () => {
  it('one entry per span, with the probability and rationale of the highest probability reported (ties: the earliest)', () => {
    const events: AnalysisEvent[] = [
      { type: 'signal.detected', data: { signal_type: 'interest', start: 2, probability: 'medium', rationale: 'm1' } },
      { type: 'signal.updated', data: { signal_type: 'interest', start: 2, probability: 'high', rationale: 'h1' } },
      { type: 'signal.updated', data: { signal_type: 'interest', start: 2, probability: 'high', rationale: 'h2' } },
      { type: 'signal.updated', data: { signal_type: 'interest', start: 2, probability: 'low', rationale: 'l1' } },
      { type: 'signal.detected', data: { signal_type: 'confusion', start: 6, probability: 'low', rationale: 'c' } },
      { type: 'signal.ended', data: { signal_type: 'interest', end: 20 } },
      { type: 'signal.detected', data: { signal_type: 'interest', start: 26, probability: 'low', rationale: 'again' } },
      { type: 'signal.ended', data: { signal_type: 'confusion', end: 24 } },
      { type: 'signal.ended', data: { signal_type: 'interest', end: 30 } },
    ];
    expect(uploadBody(events, 30, []).signals).toEqual([
      { type: 'interest', start: 2, end: 20, probability: 'high', rationale: 'h1' },
      { type: 'confusion', start: 6, end: 24, probability: 'low', rationale: 'c' },
      { type: 'interest', start: 26, end: 30, probability: 'low', rationale: 'again' },
    ]);
  });

  it('refuses a signal left open (the engine always ends them)', () => {
    expect(() => uploadBody([{ type: 'signal.detected', data: { signal_type: 'stress', start: 1, probability: 'low', rationale: 'x' } }], 5, [])).toThrow(/still active/);
  });

  it('conversation_quality only when asked: overall = the last, timeline = every period', () => {
    const scores = (q: number) => ({ quality_index: q, clarity: q, authority: q, energy: q, rapport: q, learning: q });
    const events: AnalysisEvent[] = [
      { type: 'conversation_quality.updated', data: { overall: scores(60), timeline: [{ start: 0, end: 11, values: scores(60) }] } },
      { type: 'conversation_quality.updated', data: { overall: scores(55), timeline: [{ start: 11, end: 15, values: scores(40) }] } },
    ];
    expect(uploadBody(events, 15, []).conversation_quality).toBeUndefined();
    expect(uploadBody(events, 15, BOTH).conversation_quality).toEqual({
      overall: scores(55),
      timeline: [
        { start: 0, end: 11, values: scores(60) },
        { start: 11, end: 15, values: scores(40) },
      ],
    });
    // With no media at all nothing closed: overall is the neutral 50s, the timeline empty.
    expect(uploadBody([], 0, BOTH).conversation_quality).toEqual({ overall: scores(50), timeline: [] });
  });
});

describe('engagementSpans', () => {
  it('each change holds until the next, the last until the end; empty spans dropped, equal neighbours merged', () => {
    expect(engagementSpans([], 30)).toEqual([]);
    expect(
      engagementSpans(
        [
          { start: 0, state: 'engaged' },
          { start: 6, state: 'neutral' },
          { start: 6, state: 'engaged' },
          { start: 12, state: 'disengaged' },
          { start: 30, state: 'neutral' },
        ],
        30,
      ),
    ).toEqual([
      { start: 0, end: 12, state: 'engaged' },
      { start: 12, end: 30, state: 'disengaged' },
    ]);
  });
});

describe('analyzeFile', () => {
  const scenario = scenarioFromObject(
    {
      name: 'file',
      signals: [
        { type: 'hesitation', start: 4, end: 20, probability: 'low', changes: [{ at: 10, probability: 'high', rationale: 'Long pauses.' }] },
        { type: 'agreement', start: 30, end: 60, probability: 'medium' },
      ],
      engagement: [
        { start: 0, state: 'neutral' },
        { start: 25, state: 'engaged' },
      ],
    },
    'test',
  );

  it('runs the stream engine to the end of the file and folds its events', () => {
    const body = analyzeFile({ scenario, durationSeconds: 40, include: [...BOTH, 'unknown_flag'] });
    expect(validateUploadResponse(body).ok).toBe(true);
    const events = fileEvents({ scenario, durationSeconds: 40, include: BOTH });
    const detected = events.filter((e) => e.type === 'signal.detected');
    const ended = events.filter((e) => e.type === 'signal.ended');
    expect(body.signals.map((s) => [s.type, s.start, s.end])).toEqual(
      detected.map((d) => [d.data.signal_type, d.data.start, ended.find((e) => e.data.signal_type === d.data.signal_type)!.data.end]),
    );
    expect(body.signals[0]).toMatchObject({ type: 'hesitation', probability: 'high', rationale: 'Long pauses.' });
    // agreement is still active at the end of the file: it ends there.
    expect(body.signals[1]).toMatchObject({ type: 'agreement', end: 40 });
    expect(body.engagement_state.map((s) => s.state)).toEqual(['neutral', 'engaged']);
    expect(body.engagement_state.at(-1)!.end).toBe(40);
    const timeline = body.conversation_quality!.timeline!;
    expect(timeline[0]!.start).toBe(0);
    expect(timeline.at(-1)!.end).toBe(40);
    for (let k = 1; k < timeline.length; k++) expect(timeline[k]!.start).toBe(timeline[k - 1]!.end);
  });

  it('is deterministic and does not depend on include for signals and engagement', () => {
    const a = analyzeFile({ scenario, durationSeconds: 40, include: [] });
    const b = analyzeFile({ scenario, durationSeconds: 40, include: BOTH });
    expect(a.conversation_quality).toBeUndefined();
    expect({ ...b, conversation_quality: undefined }).toEqual({ ...a, conversation_quality: undefined });
    expect(analyzeFile({ scenario, durationSeconds: 40, include: BOTH })).toEqual(b);
  });
});
