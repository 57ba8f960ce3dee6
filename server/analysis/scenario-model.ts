/**
 * The emulated analyzer: what a window "sees" in the scenario's ground truth.
 *
 * Invariants:
 * - Pure: the same scenario and window always give the same observation (no clock, no randomness).
 * - At most one observed span per signal type per window.
 * - Script times are session-cumulative media seconds. With `loop: true` the script repeats every
 *   `duration` seconds (times inside it are offsets into each cycle); without loop nothing is active
 *   from `duration` on. Items are clipped to [0, duration).
 * - The scenario is assumed to be validated already (end > start, loop only with duration).
 */
import type {
  EngagementState,
  Probability,
  QualityDimensions,
  Scenario,
  SignalType,
} from '../types/generated.js';
import type { Window } from './windows.js';

/** Signal types in the order used whenever ties are broken by name. */
export const SIGNAL_TYPES: readonly SignalType[] = [
  'agreement',
  'confidence',
  'confusion',
  'disagreement',
  'disengagement',
  'engagement',
  'frustration',
  'hesitation',
  'interest',
  'skepticism',
  'stress',
  'uncertainty',
];

/** The rationale reported for a scripted signal that has none (deterministic, one per type). */
export const DEFAULT_RATIONALES: Readonly<Record<SignalType, string>> = {
  agreement: 'Nods along and echoes the speaker’s words while keeping steady eye contact.',
  confidence: 'Speaks at an even pace with a steady voice, upright posture and direct gaze.',
  confusion: 'Brow furrows and a clarifying question follows a long pause.',
  disagreement: 'Shakes head slightly and answers with a counterpoint introduced by “but”.',
  disengagement: 'Gaze drifts away from the conversation and responses become short and flat.',
  engagement: 'Leans forward, responds promptly and keeps attention on the speaker.',
  frustration: 'Sighs audibly, voice tightens and speech becomes clipped.',
  hesitation: 'Speech slows with filled pauses and gaze aversion before answering.',
  interest: 'Eyebrows raise and follow-up questions ask for more detail.',
  skepticism: 'Tilts head with narrowed eyes and questions the claim just made.',
  stress: 'Speaks faster at a higher pitch with fidgeting hands and shallow breaths.',
  uncertainty: 'Hedges with “maybe” and “I think”, with rising intonation at the end of statements.',
};

/** Default minimum overlap, in seconds, for a span to count as present in a window. */
export const DEFAULT_PRESENCE_OVERLAP_SECONDS = 1;

export interface ScenarioModelOptions {
  /** A span is present in a window if it overlaps it by at least this many seconds (default 1), or lies wholly inside it. */
  presenceOverlapSeconds?: number;
}

/** A scripted signal span as seen by one window. */
export interface ObservedSignal {
  readonly type: SignalType;
  /** Start of the scripted span (seconds, cycle offset applied). */
  readonly spanStart: number;
  /** End of the scripted span (exclusive; clipped to the end of its loop cycle or `duration`). */
  readonly spanEnd: number;
  /** Probability in effect at the end of the span's overlap with the window. */
  readonly probability: Probability;
  /** Rationale in effect at the same moment (scripted, or the type's default). */
  readonly rationale: string;
  /** Media second from which this probability and rationale hold (span start or the last applied change). */
  readonly since: number;
}

/** The engagement state a window sees, with the second its run of that state began. */
export interface ObservedEngagement {
  readonly state: EngagementState;
  readonly since: number;
}

/** What one window sees in the ground truth. */
export interface WindowObservation {
  readonly window: Window;
  /** Present signals, at most one per type, sorted by type name. */
  readonly signals: readonly ObservedSignal[];
  /** `null` when no scripted engagement covers any of the window. */
  readonly engagement: ObservedEngagement | null;
}

/** The ground truth at an instant: what a `ScriptPiece` holds, without its bounds. */
export interface ScriptState {
  /** Active signals, at most one per type (the highest probability when scripted spans of a type overlap), sorted by type. */
  readonly signals: readonly { readonly type: SignalType; readonly probability: Probability }[];
  readonly engagement: EngagementState | null;
  /** Scripted quality values for the dimensions some `quality` entry covers here (the entry listed last wins). */
  readonly quality: QualityDimensions;
}

/** A stretch of media over which the ground truth is constant (used for conversation quality). */
export interface ScriptPiece extends ScriptState {
  readonly start: number;
  readonly end: number;
}

/** The state beyond the end of a script that does not loop. */
const NOTHING: ScriptState = Object.freeze({ signals: Object.freeze([]), engagement: null, quality: Object.freeze({}) });

interface NormalizedChange {
  at: number;
  probability: Probability | undefined;
  rationale: string | undefined;
}

interface NormalizedSpan {
  type: SignalType;
  /** Index of `type` in SIGNAL_TYPES. */
  rank: number;
  start: number;
  end: number;
  probability: Probability;
  rationale: string;
  changes: NormalizedChange[];
}

interface EngagementRun {
  state: EngagementState;
  start: number;
  end: number;
}

interface NormalizedQuality {
  start: number;
  end: number;
  values: QualityDimensions;
}

const PROBABILITY_RANK: Readonly<Record<Probability, number>> = { low: 0, medium: 1, high: 2 };

const SHARED = new WeakMap<Scenario, Map<number, ScenarioModel>>();
const NO_LOOP = [0, 0] as const;

/** Reads a scenario's ground truth window by window. */
export class ScenarioModel {
  readonly presenceOverlapSeconds: number;
  /** Cycle length when the script loops, else `undefined`. */
  private readonly period: number | undefined;
  private readonly spans: NormalizedSpan[];
  private readonly runs: EngagementRun[];
  private readonly quality: NormalizedQuality[];
  /** Every time at which the ground truth may change, within one cycle (or the whole script). */
  private readonly breakpoints: number[];
  private readonly horizon: number;
  /**
   * The state between breakpoints k and k+1 (the last: from the last breakpoint on), computed on
   * first use: the ground truth is constant there, and quality periods ask for it every few windows.
   */
  private intervalStates: ScriptState[] | undefined;
  /** Working space of `observe` and `engagementIn` (synchronous, so one per model is enough). */
  private readonly scratch = {
    bestSpan: new Array<NormalizedSpan | undefined>(SIGNAL_TYPES.length).fill(undefined),
    bestOffset: new Array<number>(SIGNAL_TYPES.length).fill(0),
    bestOverlap: new Array<number>(SIGNAL_TYPES.length).fill(0),
    coverState: new Array<EngagementState | undefined>(3).fill(undefined),
    coverSeconds: [0, 0, 0],
    coverSince: [0, 0, 0],
    coverLatest: [0, 0, 0],
  };

  /**
   * The model of `scenario`, shared: a model is immutable once built, and every session of a
   * scenario asks the same questions, so sessions share one instead of each normalizing the script
   * (memory and work per session). Keyed by the scenario object, which is never changed once loaded.
   */
  static shared(scenario: Scenario, options: ScenarioModelOptions = {}): ScenarioModel {
    const overlap = options.presenceOverlapSeconds ?? DEFAULT_PRESENCE_OVERLAP_SECONDS;
    let byOverlap = SHARED.get(scenario);
    if (byOverlap === undefined) SHARED.set(scenario, (byOverlap = new Map()));
    let model = byOverlap.get(overlap);
    if (model === undefined) byOverlap.set(overlap, (model = new ScenarioModel(scenario, options)));
    return model;
  }

  constructor(scenario: Scenario, options: ScenarioModelOptions = {}) {
    const overlap = options.presenceOverlapSeconds ?? DEFAULT_PRESENCE_OVERLAP_SECONDS;
    if (!Number.isFinite(overlap) || overlap < 0) {
      throw new RangeError(`presenceOverlapSeconds must be a non-negative number of seconds, got ${overlap}`);
    }
    this.presenceOverlapSeconds = overlap;
    const duration = scenario.duration;
    this.horizon = duration ?? Number.POSITIVE_INFINITY;
    this.period = scenario.loop === true && duration !== undefined ? duration : undefined;

    const horizon = this.horizon;
    this.spans = (scenario.signals ?? [])
      .map((s): NormalizedSpan => ({
        type: s.type,
        rank: SIGNAL_TYPES.indexOf(s.type),
        start: s.start,
        end: Math.min(s.end, horizon),
        probability: s.probability,
        rationale: s.rationale ?? DEFAULT_RATIONALES[s.type],
        changes: (s.changes ?? [])
          .map((c) => ({ at: c.at, probability: c.probability, rationale: c.rationale }))
          .sort((a, b) => a.at - b.at),
      }))
      .filter((s) => s.end > s.start);

    // Entries sorted by start; of entries with the same start the one listed last wins; consecutive
    // entries with the same state form one run (its start is when the state began).
    const entries = (scenario.engagement ?? [])
      .map((e, i) => ({ ...e, i }))
      .filter((e) => e.start < horizon)
      .sort((a, b) => a.start - b.start || a.i - b.i);
    const runs: EngagementRun[] = [];
    entries.forEach((e, i) => {
      const next = entries[i + 1];
      if (next !== undefined && next.start === e.start) return;
      const end = next?.start ?? horizon;
      const last = runs[runs.length - 1];
      if (last !== undefined && last.state === e.state) last.end = end;
      else runs.push({ state: e.state, start: e.start, end });
    });
    this.runs = runs;

    this.quality = (scenario.quality ?? [])
      .map((q) => ({ start: q.start, end: Math.min(q.end, horizon), values: q.values }))
      .filter((q) => q.end > q.start);

    const points = new Set<number>([0]);
    if (Number.isFinite(horizon)) points.add(horizon);
    for (const s of this.spans) {
      points.add(s.start).add(s.end);
      for (const c of s.changes) if (c.at > s.start && c.at < s.end) points.add(c.at);
    }
    for (const r of this.runs) points.add(r.start).add(r.end);
    for (const q of this.quality) points.add(q.start).add(q.end);
    this.breakpoints = [...points].filter((t) => Number.isFinite(t) && t <= horizon).sort((a, b) => a - b);
  }

  /** What `window` sees: present signals (presence rule) and the dominant engagement state. */
  observe(window: Window): WindowObservation {
    // The best span of each type, by SIGNAL_TYPES index, in scratch arrays of the model (it runs for
    // every window of every session, synchronously; a Map and an object per hit were garbage).
    const { bestSpan, bestOffset, bestOverlap } = this.scratch;
    bestSpan.fill(undefined);
    const period = this.period;
    const [firstCycle, lastCycle] = this.cycleRange(window.start, window.end);
    for (let c = firstCycle; c <= lastCycle; c++) {
      const offset = period === undefined ? 0 : c * period;
      for (const span of this.spans) {
        const start = span.start + offset;
        const end = span.end + offset;
        const overlap = Math.min(end, window.end) - Math.max(start, window.start);
        if (overlap <= 0) continue;
        const inside = start >= window.start && end <= window.end;
        if (overlap < this.presenceOverlapSeconds && !inside) continue;
        const r = span.rank;
        const current = bestSpan[r];
        // Two spans of a type in one window: the one with more overlap; on a tie the later one.
        if (current === undefined || overlap > bestOverlap[r]! || (overlap === bestOverlap[r]! && start > current.start + bestOffset[r]!)) {
          bestSpan[r] = span;
          bestOffset[r] = offset;
          bestOverlap[r] = overlap;
        }
      }
    }
    const signals: ObservedSignal[] = [];
    for (let r = 0; r < SIGNAL_TYPES.length; r++) {
      const span = bestSpan[r];
      if (span === undefined) continue;
      const type = span.type;
      const offset = bestOffset[r]!;
      const spanStart = span.start + offset;
      const spanEnd = span.end + offset;
      const at = Math.min(spanEnd, window.end);
      let probability = span.probability;
      let rationale = span.rationale;
      let since = spanStart;
      for (const change of span.changes) {
        const changeAt = change.at + offset;
        if (changeAt >= at) break;
        probability = change.probability ?? probability;
        rationale = change.rationale ?? rationale;
        since = Math.max(spanStart, changeAt);
      }
      signals.push({ type, spanStart, spanEnd, probability, rationale, since });
    }
    return { window, signals, engagement: this.engagementIn(window) };
  }

  /** The ground truth over [from, to), cut into pieces over which nothing changes. */
  pieces(from: number, to: number): ScriptPiece[] {
    const pieces: ScriptPiece[] = [];
    this.forEachPiece(from, to, (start, end, state) => pieces.push({ start, end, ...state }));
    return pieces;
  }

  /**
   * `pieces` without building them: `visit` gets each piece's bounds and its state, in order. The
   * states are shared objects (the same object for the same stretch of script): do not change them.
   */
  forEachPiece(from: number, to: number, visit: (start: number, end: number, state: ScriptState) => void): void {
    // Cuts at every breakpoint strictly inside (from, to), cycle by cycle: they come in increasing
    // order, and a cut equal to the previous one (a cycle's end and the next one's start) is skipped.
    let start = from;
    const period = this.period;
    const [firstCycle, lastCycle] = this.cycleRange(from, to);
    const breakpoints = this.breakpoints;
    for (let c = firstCycle; c <= lastCycle; c++) {
      const offset = period === undefined ? 0 : c * period;
      for (let k = 0; k < breakpoints.length; k++) {
        const at = breakpoints[k]! + offset;
        if (at <= start || at >= to) continue;
        visit(start, at, this.stateAt((start + at) / 2));
        start = at;
      }
    }
    if (to > start) visit(start, to, this.stateAt((start + to) / 2));
  }

  /** The ground truth at one instant (not on a breakpoint): the state of the interval between breakpoints it falls in. */
  private stateAt(t: number): ScriptState {
    const local = this.toCycle(t);
    if (local === undefined) return NOTHING;
    const states = (this.intervalStates ??= this.computeIntervalStates());
    // The last breakpoint ≤ local (breakpoints start at 0 and are sorted).
    const breakpoints = this.breakpoints;
    let lo = 0;
    let hi = breakpoints.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (breakpoints[mid]! <= local) lo = mid;
      else hi = mid - 1;
    }
    return states[lo]!;
  }

  private computeIntervalStates(): ScriptState[] {
    const breakpoints = this.breakpoints;
    return breakpoints.map((at, k) => {
      const next = breakpoints[k + 1];
      // Beyond the last breakpoint nothing changes any more: any instant after it will do.
      return Object.freeze(this.computeStateAt(next === undefined ? at + 1 : (at + next) / 2));
    });
  }

  /** The ground truth at script time `local` (within the cycle or script). */
  private computeStateAt(local: number): ScriptState {
    const active = new Map<SignalType, Probability>();
    for (const span of this.spans) {
      if (local < span.start || local >= span.end) continue;
      let probability = span.probability;
      for (const change of span.changes) {
        if (change.at > local) break;
        probability = change.probability ?? probability;
      }
      const current = active.get(span.type);
      if (current === undefined || PROBABILITY_RANK[probability] > PROBABILITY_RANK[current]) {
        active.set(span.type, probability);
      }
    }
    const signals = SIGNAL_TYPES.flatMap((type) => {
      const probability = active.get(type);
      return probability === undefined ? [] : [{ type, probability }];
    });
    const run = this.runs.find((r) => local >= r.start && local < r.end);
    const quality: QualityDimensions = {};
    for (const q of this.quality) {
      if (local >= q.start && local < q.end) Object.assign(quality, q.values);
    }
    return { signals, engagement: run?.state ?? null, quality };
  }

  /** The engagement state covering most of the window (ties → the one whose run starts later). */
  private engagementIn(window: Window): ObservedEngagement | null {
    if (this.runs.length === 0) return null;
    // Seconds covered per state, in scratch arrays, slots in the order states are first met (the
    // order a Map would keep, which decides equal ties).
    const { coverState, coverSeconds, coverSince, coverLatest } = this.scratch;
    let states = 0;
    const period = this.period;
    const [firstCycle, lastCycle] = this.cycleRange(window.start, window.end);
    for (let c = firstCycle; c <= lastCycle; c++) {
      const offset = period === undefined ? 0 : c * period;
      for (let i = 0; i < this.runs.length; i++) {
        const run = this.runs[i]!;
        const start = run.start + offset;
        const end = run.end + offset;
        const seconds = Math.min(end, window.end) - Math.max(start, window.start);
        if (seconds <= 0) continue;
        const since = this.runBegan(i, offset);
        let slot = coverState.indexOf(run.state);
        if (slot < 0 || slot >= states) {
          slot = states++;
          coverState[slot] = run.state;
          coverSeconds[slot] = seconds;
          coverSince[slot] = since;
          coverLatest[slot] = start;
        } else {
          coverSeconds[slot] = coverSeconds[slot]! + seconds;
          if (start > coverLatest[slot]!) {
            coverLatest[slot] = start;
            coverSince[slot] = since;
          }
        }
      }
    }
    let chosen = -1;
    for (let k = 0; k < states; k++) {
      if (chosen < 0 || coverSeconds[k]! > coverSeconds[chosen]! || (coverSeconds[k] === coverSeconds[chosen] && coverLatest[k]! > coverLatest[chosen]!)) chosen = k;
    }
    const result = chosen < 0 ? null : { state: coverState[chosen]!, since: coverSince[chosen]! };
    coverState.fill(undefined);
    return result;
  }

  /**
   * When the state of run `i` in the cycle at `offset` began: a run that opens a cycle continues the
   * previous cycle's last run when that one has the same state and lasts to the cycle end.
   */
  private runBegan(i: number, offset: number): number {
    const run = this.runs[i]!;
    const period = this.period;
    if (period === undefined || i !== 0 || run.start !== 0 || offset === 0) return run.start + offset;
    const last = this.runs[this.runs.length - 1]!;
    if (last.state !== run.state || last.end < period) return offset;
    // One run spanning the whole cycle: the state has held since the session began.
    if (this.runs.length === 1) return 0;
    return last.start + offset - period;
  }

  /** The loop cycles c that overlap [from, to) (offset c × period; just cycle 0 without loop). */
  private cycleRange(from: number, to: number): readonly [number, number] {
    const period = this.period;
    if (period === undefined) return NO_LOOP;
    const first = Math.max(0, Math.floor(from / period));
    return [first, Math.max(first, Math.ceil(to / period) - 1)];
  }

  /** Script time for media time `t`, or `undefined` when `t` is beyond a non-looping script. */
  private toCycle(t: number): number | undefined {
    if (this.period !== undefined) return t - Math.floor(t / this.period) * this.period;
    return t < this.horizon ? t : undefined;
  }
}
