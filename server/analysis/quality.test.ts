import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Scenario } from '../types/generated.js';
import { WindowAnalysis, type ConversationQualityUpdatedData, type WindowAnalysisOptions } from './index.js';
import {
  ENGAGEMENT_QUALITY_EFFECTS,
  PROBABILITY_WEIGHTS,
  QUALITY_DIMENSIONS,
  SIGNAL_QUALITY_EFFECTS,
  pieceValues,
  toScores,
} from './quality.js';
import { SIGNAL_TYPES } from './scenario-model.js';

const BOTH = ['conversation_quality_overall', 'conversation_quality_timeline'];
const all = (v: number) => ({ quality_index: v, clarity: v, authority: v, energy: v, rapport: v, learning: v });

/** Analyzes media up to `mediaEnd` in 1 s steps with a fixed include list; returns the quality data. */
function quality(
  scenario: Omit<Scenario, 'name'>,
  mediaEnd: number,
  include: readonly string[] | ((t: number) => readonly string[]) = BOTH,
  options: Omit<WindowAnalysisOptions, 'scenario'> = {},
): ConversationQualityUpdatedData[] {
  const flags = typeof include === 'function' ? include : () => include;
  const analysis = new WindowAnalysis({ scenario: { name: 'q', ...scenario }, ...options });
  const out: ConversationQualityUpdatedData[] = [];
  const collect = (events: readonly { type: string; data: unknown }[]) => {
    for (const e of events) if (e.type === 'conversation_quality.updated') out.push(e.data as ConversationQualityUpdatedData);
  };
  for (let t = 1; t <= mediaEnd; t++) for (const w of analysis.due(t)) collect(analysis.analyze(w, flags(t)));
  collect(analysis.finish(mediaEnd, flags(mediaEnd)).events);
  return out;
}

describe('conversation quality', () => {
  it('is all 50 with an empty scenario, in periods [0, 11], [11, 20], … and a final partial one', () => {
    const data = quality({}, 31);
    expect(data.map((d) => [d.timeline?.[0]?.start, d.timeline?.[0]?.end])).toEqual([
      [0, 11],
      [11, 20],
      [20, 29],
      [29, 31],
    ]);
    for (const d of data) {
      expect(d.overall).toEqual(all(50));
      expect(d.timeline?.[0]?.values).toEqual(all(50));
    }
  });

  it('uses scripted values where quality entries cover a dimension, 50 elsewhere', () => {
    const [first] = quality({ quality: [{ start: 0, end: 11, values: { clarity: 80, authority: 61, energy: 0, rapport: 100 } }] }, 11);
    expect(first?.timeline?.[0]?.values).toEqual({ quality_index: 58, clarity: 80, authority: 61, energy: 0, rapport: 100, learning: 50 });
  });

  it('maps signals and engagement with the documented table and probability weights', () => {
    const [high] = quality({ signals: [{ type: 'confidence', start: 0, end: 11, probability: 'high' }] }, 11);
    expect(high?.timeline?.[0]?.values).toEqual({ quality_index: 57, clarity: 60, authority: 70, energy: 55, rapport: 50, learning: 50 });
    const [medium] = quality({ signals: [{ type: 'confidence', start: 0, end: 11, probability: 'medium' }] }, 11);
    // clarity 57.5 → 58, authority 65, energy 53.75 → 54; index (58+65+54+50+50)/5 = 55.4 → 55
    expect(medium?.timeline?.[0]?.values).toEqual({ quality_index: 55, clarity: 58, authority: 65, energy: 54, rapport: 50, learning: 50 });
    const [engaged] = quality({ engagement: [{ start: 0, state: 'engaged' }] }, 11);
    expect(engaged?.timeline?.[0]?.values).toEqual({ quality_index: 55, clarity: 50, authority: 50, energy: 65, rapport: 60, learning: 50 });
  });

  it('averages over time within a period and clamps to 0–100', () => {
    // Confusion (high) for 5.5 s of the 11 s period: clarity 50 − 20·0.5 = 40, learning 50 − 15·0.5 = 42.5 → 43
    const [half] = quality({ signals: [{ type: 'confusion', start: 5.5, end: 20, probability: 'high' }] }, 11);
    expect(half?.timeline?.[0]?.values).toMatchObject({ clarity: 40, learning: 43 });
    const negative = (['confusion', 'hesitation', 'stress', 'uncertainty'] as const).map((type) => ({ type, start: 0, end: 11, probability: 'high' as const }));
    const [floor] = quality({ signals: negative }, 11);
    expect(floor?.timeline?.[0]?.values.clarity).toBe(0);
    expect(pieceValues({ signals: [], engagement: 'engaged', quality: { energy: 100 } }).energy).toBe(100);
    expect(pieceValues({ signals: [{ type: 'agreement', probability: 'high' }, { type: 'interest', probability: 'high' }, { type: 'engagement', probability: 'high' }], engagement: 'engaged', quality: {} }).rapport).toBe(100);
  });

  it('overall is the time-weighted average of all closed periods (hand-computed)', () => {
    const data = quality(
      {
        quality: [
          { start: 0, end: 5, values: { clarity: 100 } },
          { start: 11, end: 20, values: { clarity: 20, energy: 80 } },
        ],
      },
      20,
    );
    // [0, 11]: clarity (100·5 + 50·6)/11 = 72.73 → 73; index (73 + 4·50)/5 = 54.6 → 55
    expect(data[0]).toEqual({
      overall: { quality_index: 55, clarity: 73, authority: 50, energy: 50, rapport: 50, learning: 50 },
      timeline: [{ start: 0, end: 11, values: { quality_index: 55, clarity: 73, authority: 50, energy: 50, rapport: 50, learning: 50 } }],
    });
    // [11, 20]: clarity 20, energy 80 → index 50.
    // overall over [0, 20]: clarity (800 + 180)/20 = 49; energy (550 + 720)/20 = 63.5 → 64; index 263/5 = 52.6 → 53
    expect(data[1]).toEqual({
      overall: { quality_index: 53, clarity: 49, authority: 50, energy: 64, rapport: 50, learning: 50 },
      timeline: [{ start: 11, end: 20, values: { quality_index: 50, clarity: 20, authority: 50, energy: 80, rapport: 50, learning: 50 } }],
    });
    expect(data).toHaveLength(2); // mediaEnd 20 is the end of the last period: no empty final one
  });

  it('include flags select the sections; no flag, no event, but overall keeps accumulating', () => {
    const scenario = { quality: [{ start: 0, end: 11, values: { clarity: 100, authority: 100, energy: 100, rapport: 100, learning: 100 } }] };
    expect(quality(scenario, 30, [])).toEqual([]);
    expect(quality(scenario, 30, ['something_else'])).toEqual([]);
    const overallOnly = quality(scenario, 20, ['conversation_quality_overall']);
    expect(overallOnly.map((d) => Object.keys(d))).toEqual([['overall'], ['overall']]);
    const timelineOnly = quality(scenario, 20, ['conversation_quality_timeline']);
    expect(timelineOnly.map((d) => Object.keys(d))).toEqual([['timeline'], ['timeline']]);
    // Flags turned on after the first period closed: overall still covers [0, 20] (100·11 + 50·9)/20 = 77.5 → 78
    const late = quality(scenario, 20, (t) => (t >= 15 ? ['conversation_quality_overall'] : []));
    expect(late).toEqual([{ overall: all(78) }]);
  });

  it('honours qualityCadenceSeconds', () => {
    const data = quality({}, 21, BOTH, { qualityCadenceSeconds: 5 });
    expect(data.map((d) => [d.timeline?.[0]?.start, d.timeline?.[0]?.end])).toEqual([
      [0, 8],
      [8, 14],
      [14, 20],
      [20, 21],
    ]);
  });

  it('rounds each dimension, then the index from the rounded dimensions', () => {
    expect(toScores({ clarity: 50.5, authority: 49.5, energy: 62.4999999999, rapport: 0, learning: 100 })).toEqual({
      quality_index: 53, // (51 + 50 + 63 + 0 + 100)/5 = 52.8
      clarity: 51,
      authority: 50,
      energy: 63,
      rapport: 0,
      learning: 100,
    });
  });
});

describe('docs/analysis.md', () => {
  const doc = readFileSync(new URL('../../docs/analysis.md', import.meta.url), 'utf8');
  const row = (name: string): string[] => {
    const line = doc.split('\n').find((l) => l.startsWith(`| ${name} |`));
    if (line === undefined) throw new Error(`docs/analysis.md has no table row for ${name}`);
    return line.split('|').slice(2, -1).map((c) => c.trim());
  };
  const cell = (n: number | undefined) => (n === undefined || n === 0 ? '' : n > 0 ? `+${n}` : `−${-n}`);

  it('lists the same signal → dimension table as the code', () => {
    for (const type of SIGNAL_TYPES) {
      expect(row(type), type).toEqual(QUALITY_DIMENSIONS.map((d) => cell(SIGNAL_QUALITY_EFFECTS[type][d])));
    }
    for (const state of ['engaged', 'neutral', 'disengaged'] as const) {
      expect(row(`${state} (state)`), state).toEqual(QUALITY_DIMENSIONS.map((d) => cell(ENGAGEMENT_QUALITY_EFFECTS[state][d])));
    }
  });

  it('states the probability weights used', () => {
    expect(doc).toContain(`low ${PROBABILITY_WEIGHTS.low} · medium ${PROBABILITY_WEIGHTS.medium} · high ${PROBABILITY_WEIGHTS.high}`);
  });
});
