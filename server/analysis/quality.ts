/**
 * Conversation quality (docs/protocol.md §4): five dimensions 0–100, integers, 50 = no evidence, and the
 * quality index = mean of the five. How signals map to dimensions is not published; this module is
 * ih-mock's own documented, deterministic mapping (docs/analysis.md has the same table).
 *
 * Invariants:
 * - Values come from the scenario's ground truth over media time, not from the events reported.
 * - Periods are contiguous, start at 0, and close at the first analyzed window end ≥ previous period
 *   end + cadence, plus one last partial period at finish.
 * - Every period is accumulated whatever the include flags say, so `overall` stays right when a
 *   client turns the flags on later; only the event depends on the flags.
 */
import type { EngagementState, Probability, SignalType } from '../types/generated.js';
import {
  INCLUDE_QUALITY_OVERALL,
  INCLUDE_QUALITY_TIMELINE,
  type ConversationQualityUpdatedEvent,
  type QualityScores,
  type QualityTimelineEntry,
} from './events.js';
import type { ScenarioModel, ScriptPiece, ScriptState } from './scenario-model.js';
import type { Window } from './windows.js';

export const QUALITY_DIMENSIONS = ['clarity', 'authority', 'energy', 'rapport', 'learning'] as const;
export type QualityDimension = (typeof QUALITY_DIMENSIONS)[number];
/** Unrounded values per dimension. */
export type DimensionValues = Record<QualityDimension, number>;
type Effects = Readonly<Partial<Record<QualityDimension, number>>>;

/** Default seconds between quality periods (with 8 s / 3 s windows the first period is [0, 11]). */
export const DEFAULT_QUALITY_CADENCE_SECONDS = 9;
/** The score of a dimension nothing contributes to. */
export const NEUTRAL_SCORE = 50;

/** How much of a signal's effect applies at each probability. */
export const PROBABILITY_WEIGHTS: Readonly<Record<Probability, number>> = { low: 0.5, medium: 0.75, high: 1 };

/** Points a signal adds to (or takes from) each dimension at probability high. */
export const SIGNAL_QUALITY_EFFECTS: Readonly<Record<SignalType, Effects>> = {
  agreement: { rapport: 20, energy: 5 },
  confidence: { authority: 20, clarity: 10, energy: 5 },
  confusion: { clarity: -20, learning: -15 },
  disagreement: { rapport: -20, energy: 5 },
  disengagement: { energy: -20, rapport: -10, learning: -10 },
  engagement: { energy: 15, rapport: 10, learning: 5 },
  frustration: { rapport: -15, energy: -10 },
  hesitation: { authority: -15, clarity: -10 },
  interest: { learning: 20, rapport: 10, energy: 5 },
  skepticism: { authority: -10, rapport: -10 },
  stress: { energy: -15, clarity: -10 },
  uncertainty: { authority: -10, clarity: -10, learning: -5 },
};

/** Points each engagement state adds (no probability weighting). */
export const ENGAGEMENT_QUALITY_EFFECTS: Readonly<Record<EngagementState, Effects>> = {
  engaged: { energy: 15, rapport: 10 },
  neutral: {},
  disengaged: { energy: -15, rapport: -10 },
};

function clampScore(x: number): number {
  return Math.min(100, Math.max(0, x));
}

/** Rounds half up, ignoring floating-point noise below 1e-6 (62.4999999999 → 63). */
function roundScore(x: number): number {
  return clampScore(Math.round(Math.round(x * 1e6) / 1e6));
}

/** The unrounded value of every dimension while `piece` holds. */
export function pieceValues(piece: Pick<ScriptPiece, 'signals' | 'engagement' | 'quality'>): DimensionValues {
  const values = {} as DimensionValues;
  for (const dim of QUALITY_DIMENSIONS) {
    const scripted = piece.quality[dim];
    if (scripted !== undefined) {
      values[dim] = clampScore(scripted);
      continue;
    }
    let v = NEUTRAL_SCORE;
    for (const s of piece.signals) v += (SIGNAL_QUALITY_EFFECTS[s.type][dim] ?? 0) * PROBABILITY_WEIGHTS[s.probability];
    if (piece.engagement !== null) v += ENGAGEMENT_QUALITY_EFFECTS[piece.engagement][dim] ?? 0;
    values[dim] = clampScore(v);
  }
  return values;
}

/** `pieceValues` of a script state, computed once per state: the model hands out the same state objects to every session. */
const VALUES_OF_STATE = new WeakMap<ScriptState, DimensionValues>();
function stateValues(state: ScriptState): DimensionValues {
  let values = VALUES_OF_STATE.get(state);
  if (values === undefined) VALUES_OF_STATE.set(state, (values = pieceValues(state)));
  return values;
}

/** Integer scores from unrounded values: each dimension rounded, the index = rounded mean of those. */
export function toScores(values: DimensionValues): QualityScores {
  const clarity = roundScore(values.clarity);
  const authority = roundScore(values.authority);
  const energy = roundScore(values.energy);
  const rapport = roundScore(values.rapport);
  const learning = roundScore(values.learning);
  const quality_index = roundScore((clarity + authority + energy + rapport + learning) / 5);
  return { quality_index, clarity, authority, energy, rapport, learning };
}

export interface QualityTrackerOptions {
  /** Minimum seconds between period ends (default 9). */
  cadenceSeconds?: number;
}

/** Closes quality periods as windows are analyzed and emits `conversation_quality.updated`. */
export class QualityTracker {
  readonly cadenceSeconds: number;
  private periodStart = 0;
  private readonly sums: DimensionValues = { clarity: 0, authority: 0, energy: 0, rapport: 0, learning: 0 };

  constructor(
    private readonly model: ScenarioModel,
    options: QualityTrackerOptions = {},
  ) {
    const cadence = options.cadenceSeconds ?? DEFAULT_QUALITY_CADENCE_SECONDS;
    if (!Number.isFinite(cadence) || cadence <= 0) {
      throw new RangeError(`qualityCadenceSeconds must be a positive number of seconds, got ${cadence}`);
    }
    this.cadenceSeconds = cadence;
  }

  /** Time-weighted scores over every closed period, or `null` before the first one closes. */
  get overall(): QualityScores | null {
    if (this.periodStart <= 0) return null;
    const total = this.periodStart;
    const avg = {} as DimensionValues;
    for (const dim of QUALITY_DIMENSIONS) avg[dim] = this.sums[dim] / total;
    return toScores(avg);
  }

  /**
   * After an analyzed window: closes the period at the window's end if it reaches previous period
   * end + cadence. A final (partial) window never closes one: `finish` closes the rest.
   */
  onWindow(window: Window, include: readonly string[]): ConversationQualityUpdatedEvent | null {
    if (window.final || window.end < this.periodStart + this.cadenceSeconds) return null;
    return this.close(window.end, include);
  }

  /** At graceful close: the partial period up to `mediaEnd`, if it is not empty. */
  finish(mediaEnd: number, include: readonly string[]): ConversationQualityUpdatedEvent | null {
    if (mediaEnd <= this.periodStart) return null;
    return this.close(mediaEnd, include);
  }

  private close(end: number, include: readonly string[]): ConversationQualityUpdatedEvent | null {
    const start = this.periodStart;
    const values: DimensionValues = { clarity: 0, authority: 0, energy: 0, rapport: 0, learning: 0 };
    this.model.forEachPiece(start, end, (pieceStart, pieceEnd, state) => {
      const v = stateValues(state);
      const w = pieceEnd - pieceStart;
      for (const dim of QUALITY_DIMENSIONS) values[dim] += v[dim] * w;
    });
    const length = end - start;
    for (const dim of QUALITY_DIMENSIONS) {
      this.sums[dim] += values[dim];
      values[dim] /= length;
    }
    // Only running sums are kept: a session's memory must not grow with its media time.
    this.periodStart = end;

    const wantOverall = include.includes(INCLUDE_QUALITY_OVERALL);
    const wantTimeline = include.includes(INCLUDE_QUALITY_TIMELINE);
    if (!wantOverall && !wantTimeline) return null;
    const overall = this.overall;
    const entry: QualityTimelineEntry = { start, end, values: toScores(values) };
    return {
      type: 'conversation_quality.updated',
      data: {
        ...(wantOverall && overall !== null ? { overall } : {}),
        ...(wantTimeline ? { timeline: [entry] } : {}),
      },
    };
  }
}
