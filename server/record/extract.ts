/**
 * Scenario reconstruction: the ordered server → client events of one recorded stream session
 * (envelopes `{type, timestamp, correlation_id, data}`, or just `{type, data}`) → a scenario that makes
 * ih-mock's analysis (server/analysis, docs/analysis.md) emit the same `signal.*`, `engagement.updated`
 * and `conversation_quality.updated` events (types, order and data) for the same media.
 *
 * Invariants:
 * - Never throws on odd input and always returns a scenario `validateScenario` accepts. Events of
 *   other types are skipped (silently, except `coverage.dropped` and unknown types); whatever had to
 *   be repaired, skipped or is not reproduced exactly is said in `notes`.
 * - Deterministic: the same events and options give the same scenario and notes.
 * - Self-checked: the result is replayed through `WindowAnalysis` (same geometry, media end and include
 *   flags as the recording); any difference from the (repaired) recording is reported in `notes`.
 *   No note about differences means the replay gives exactly the recorded events.
 *
 * The forward rules being inverted: window k reports its events with times clamped into its slot
 * [k·hop, k·hop + hop] (a final window: [start, media end]), sorted by (time, ended < detected/updated
 * < engagement, type name), its quality event last; the windows follow from the geometry and the media
 * end. A span is present in a window when it overlaps it by ≥ presence or lies wholly inside it.
 *
 * 1. Placement: which window reported each event. In order, each timed event goes to the earliest
 *    window whose slot holds its time, that keeps the window's sort order and the per-type lifecycle
 *    (detected < updated… < ended, one per window), and for which the inverse below exists; a timeline
 *    entry pins the window whose end closes that period; a `signal.ended` may also come at close.
 *    Updates carry no time: each run of consecutive updates is placed together (a small depth-first
 *    search) in the earliest windows that keep every window's order, leave the next timed event and
 *    the signal's later events room (a backward pass gives each event its latest possible window), and
 *    keep the lifecycle realizable; a window's updates are ordered with as few takeovers as possible.
 * 2. Signals: each detected → updated* → ended lifecycle becomes one span [s, e), found by a search
 *    over the breakpoints of the rules (window bounds, ± presence, slot bounds, midpoints) such that
 *    clamp(s, slot) = the reported start, present in the detection window and not the one before,
 *    present in the last window before the end and not in the ending one, clamp(e, slot) = the
 *    reported end (at close: max(last reported time, min(e, media end)) = the reported end; a signal
 *    still active at close runs to the media end), and checked window by window with `ScenarioModel`.
 *    An update first seen by window u is a `changes[]` entry at c ∈ [end(u−1), min(e, end(u))) (window
 *    u sees it, u−1 does not), reported at clamp(c, slot). Several changes inside one window show only
 *    the last one, so one change per update suffices. When the window's order needs the update
 *    earlier in its slot than any such c (ih-mock reported a second span of the type taking over), it
 *    becomes a takeover instead: the span is cut at x and a touching span with the new values starts
 *    there, winning window u (more overlap) but not u−1, reported at clamp(x, slot).
 *    With the default geometry (8 s windows, 3 s hop, 1 s presence) this comes down to:
 *      - detected in window 0 at r < 3: s = r (the first slot is exact); r = 3: s = 3;
 *      - detected in window k ≥ 1: the reported start is always 3k+3 and s ∈ (3k+4, 3k+7]; s = r +
 *        window − hop − presence = 3k+7, the last start window k still sees 1 s of;
 *      - ended in window j: the reported end q ∈ [3j, 3j+1) and e = q (any e ∈ [3j−2, 3j] for q = 3j);
 *      - ended at close: e = q (the media end when q is the media end);
 *      - updated, first seen by window u: a change at 3u+5 (the end of window u−1), reported at 3u+3;
 *        a takeover at x ∈ (3u+1, 3u+3) when the order needs it.
 * 3. Engagement: one entry per `engagement.updated`, at x with clamp(x, slot) = the reported start,
 *    checked with `ScenarioModel` (the state covering most of each window) from the previous change's
 *    window on. Defaults: the first state at the end of the window before the reporting one (3k+5; in
 *    window 0, x = r), a later change at x = r. A change near the end that only a script ending before
 *    the media can explain (the recorded scenario was shorter than the media) lowers the scenario's
 *    duration (noted); signals and quality then stay within it.
 * 4. Quality: the replay's periods follow from the windows and the cadence. Each dimension gets, per
 *    period, an unrounded average a_i with round(a_i) = the timeline value and, for every period that
 *    reported `overall`, round(Σ len·a / Σ len) = the overall value: a forward pass keeps the interval
 *    of feasible running sums, a backward pass picks values (the timeline value itself when it fits),
 *    scripted as two integer values split inside the period. With `overall` only, the same passes
 *    pick period values that reproduce the overall scores (exact when the media end is known).
 *
 * Not exactly reproducible (noted): recordings whose times do not fit ih-mock's window model (the live
 * service, another geometry than the options say, windows shed under load / `coverage.dropped`), lost
 * or inconsistent events (updates or ends without a detection, times going back), a session cut off
 * before its graceful close (the replay adds the closing `signal.ended`s and quality period), an
 * unknown media end without a timeline to read it from, and some geometries with a presence overlap
 * larger than window − hop (e.g. presence = window), where the placement can pick a window that only
 * the events after it rule out.
 */
import { isDeepStrictEqual } from 'node:util';
import { validateScenario } from '../../scenarios/loader.js';
import { WindowAnalysis, type AnalysisEvent } from '../analysis/index.js';
import { INCLUDE_QUALITY_OVERALL, INCLUDE_QUALITY_TIMELINE } from '../analysis/events.js';
import { DEFAULT_QUALITY_CADENCE_SECONDS, QUALITY_DIMENSIONS, type QualityDimension } from '../analysis/quality.js';
import { DEFAULT_PRESENCE_OVERLAP_SECONDS, DEFAULT_RATIONALES, ScenarioModel, SIGNAL_TYPES, type ObservedSignal } from '../analysis/scenario-model.js';
import { DEFAULT_HOP_SECONDS, DEFAULT_WINDOW_SECONDS, WindowScheduler, type Window } from '../analysis/windows.js';
import type {
  EngagementState,
  Probability,
  QualityScores,
  Scenario,
  ScriptedEngagement,
  ScriptedQuality,
  ScriptedSignal,
  ScriptedSignalChange,
  SignalType,
} from '../types/generated.js';

export interface ExtractOptions {
  /** Scenario name. */
  name: string;
  /** Default: says it was reconstructed from a recording, with counts. */
  description?: string;
  /** Window length of the recording's analysis (default 8). */
  windowSeconds?: number;
  /** Seconds between window starts (default 3). */
  hopSeconds?: number;
  /** Presence overlap (default 1). */
  presenceOverlapSeconds?: number;
  /** Minimum seconds between quality period ends (default 9). */
  qualityCadenceSeconds?: number;
  /** Session media seconds at the end, if known (else the last quality period's end or the last reported time). */
  mediaEnd?: number;
}

export interface ExtractResult {
  scenario: Scenario;
  /** Everything repaired, skipped or not reproduced exactly, in plain sentences. Empty for an exact reconstruction. */
  notes: string[];
}

/** The scenario only; see `extractScenarioWithNotes` for what was repaired. */
export function extractScenario(events: readonly { type: string; data: unknown }[], options: ExtractOptions): Scenario {
  return extractScenarioWithNotes(events, options).scenario;
}

// ---- Recorded events, cleaned ---------------------------------------------------------------------

type Dims = Partial<Record<QualityDimension, number>>;

type Clean =
  | { kind: 'detected'; type: SignalType; time: number; probability: Probability; rationale: string }
  | { kind: 'updated'; type: SignalType; start: number; probability: Probability; rationale: string }
  | { kind: 'ended'; type: SignalType; time: number }
  | { kind: 'engagement'; state: EngagementState; time: number }
  | { kind: 'quality'; overall: QualityScores | null; timeline: { start: number; end: number; values: QualityScores }[]; raw: Record<string, unknown> };

const PROBABILITIES: readonly Probability[] = ['low', 'medium', 'high'];
const STATES: readonly EngagementState[] = ['engaged', 'neutral', 'disengaged'];
const ANALYSIS_TYPES = ['signal.detected', 'signal.updated', 'signal.ended', 'engagement.updated', 'conversation_quality.updated'];
/** Protocol events that carry no analysis: skipped without a note. */
const OTHER_KNOWN_TYPES = ['session.ready', 'session.updated', 'session.closing', 'session.ended', 'error'];
const EPS = 1e-9;
/** Most windows a reconstruction considers (83 h of media with the default hop). */
const MAX_WINDOWS = 100_000;

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}
function finite(x: unknown): number | null {
  return typeof x === 'number' && Number.isFinite(x) ? x : null;
}
function near(a: number, b: number): boolean {
  return Math.abs(a - b) <= EPS * Math.max(1, Math.abs(a), Math.abs(b));
}
function clamp(x: number, lo: number, hi: number): number {
  return Math.min(Math.max(x, lo), hi);
}
function fmt(x: number): string {
  return String(Math.round(x * 1e6) / 1e6);
}

function scores(x: unknown): QualityScores | null {
  if (!isRecord(x)) return null;
  const out: Record<string, number> = {};
  for (const key of ['quality_index', ...QUALITY_DIMENSIONS]) {
    const v = finite(x[key]);
    if (v === null) return null;
    out[key] = v;
  }
  return out as unknown as QualityScores;
}

/** Reads the events; keeps the analysis ones that make sense, in order. */
function parse(events: readonly unknown[], notes: string[]): Clean[] {
  const out: Clean[] = [];
  const skipped = new Map<string, number>();
  events.forEach((raw, i) => {
    const at = `event #${i}`;
    if (!isRecord(raw) || typeof raw['type'] !== 'string') {
      notes.push(`${at} is not an event object {type, data}; skipped`);
      return;
    }
    const type = raw['type'];
    if (!ANALYSIS_TYPES.includes(type)) {
      if (type === 'coverage.dropped') {
        notes.push(`${at}: coverage.dropped — the recording shed windows; events those windows would have produced cannot be reproduced, the replay analyzes every window`);
      } else if (!OTHER_KNOWN_TYPES.includes(type)) {
        skipped.set(type, (skipped.get(type) ?? 0) + 1);
      }
      return;
    }
    const data = raw['data'];
    if (!isRecord(data)) {
      notes.push(`${at} (${type}) has no data object; skipped`);
      return;
    }
    const bad = (why: string): void => void notes.push(`${at} (${type}): ${why}; skipped`);
    if (type === 'engagement.updated') {
      const state = data['state'];
      const time = finite(data['start']);
      if (!STATES.includes(state as EngagementState)) return bad(`unknown state ${JSON.stringify(state)}`);
      if (time === null || time < 0) return bad('start is not a time ≥ 0');
      out.push({ kind: 'engagement', state: state as EngagementState, time });
      return;
    }
    if (type === 'conversation_quality.updated') {
      const overall = data['overall'] === undefined ? null : scores(data['overall']);
      if (data['overall'] !== undefined && overall === null) notes.push(`${at} (${type}): overall is not a set of scores; ignored`);
      const timeline: { start: number; end: number; values: QualityScores }[] = [];
      if (Array.isArray(data['timeline'])) {
        for (const entry of data['timeline']) {
          const start = isRecord(entry) ? finite(entry['start']) : null;
          const end = isRecord(entry) ? finite(entry['end']) : null;
          const values = isRecord(entry) ? scores(entry['values']) : null;
          if (start === null || end === null || values === null || !(end > start) || start < 0) {
            notes.push(`${at} (${type}): a timeline entry is not {start, end, values}; ignored`);
            continue;
          }
          timeline.push({ start, end, values });
        }
      }
      if (overall === null && timeline.length === 0) return bad('neither overall nor timeline');
      out.push({ kind: 'quality', overall, timeline, raw: data });
      return;
    }
    const signalType = data['signal_type'];
    if (!SIGNAL_TYPES.includes(signalType as SignalType)) return bad(`unknown signal_type ${JSON.stringify(signalType)}`);
    const st = signalType as SignalType;
    if (type === 'signal.ended') {
      const time = finite(data['end']);
      if (time === null || time < 0) return bad('end is not a time ≥ 0');
      out.push({ kind: 'ended', type: st, time });
      return;
    }
    const probability = data['probability'];
    if (!PROBABILITIES.includes(probability as Probability)) return bad(`unknown probability ${JSON.stringify(probability)}`);
    let rationale = data['rationale'];
    if (typeof rationale !== 'string') {
      notes.push(`${at} (${type}): no rationale; the type's default one is used`);
      rationale = DEFAULT_RATIONALES[st];
    }
    const start = finite(data['start']);
    if (type === 'signal.detected') {
      if (start === null || start < 0) return bad('start is not a time ≥ 0');
      out.push({ kind: 'detected', type: st, time: start, probability: probability as Probability, rationale: rationale as string });
    } else {
      out.push({ kind: 'updated', type: st, start: start !== null && start >= 0 ? start : -1, probability: probability as Probability, rationale: rationale as string });
    }
  });
  if (skipped.size > 0) {
    notes.push(`skipped events of types ih-mock's analysis does not produce: ${[...skipped].map(([t, n]) => `${t} ×${n}`).join(', ')}`);
  }
  return out;
}

/**
 * Makes the sequence one the emulator could send: per type detected → updated* → ended, no update
 * without a change, no repeated engagement state, reported times never going back.
 */
function repair(events: readonly Clean[], notes: string[]): Clean[] {
  const out: Clean[] = [];
  const active = new Map<SignalType, { start: number; probability: Probability; rationale: string }>();
  let engagement: EngagementState | null = null;
  let last = 0;
  const forward = (time: number, what: string): number => {
    if (time >= last) return (last = time);
    notes.push(`${what} reports ${fmt(time)} s, before the previous reported time ${fmt(last)} s (times never go back in ih-mock): moved to ${fmt(last)} s`);
    return last;
  };
  for (const ev of events) {
    switch (ev.kind) {
      case 'detected': {
        const current = active.get(ev.type);
        if (current !== undefined) {
          if (current.probability === ev.probability && current.rationale === ev.rationale) {
            notes.push(`signal.detected ${ev.type} while it is already active, with nothing new; skipped`);
          } else {
            notes.push(`signal.detected ${ev.type} while it is already active: taken as a signal.updated`);
            current.probability = ev.probability;
            current.rationale = ev.rationale;
            out.push({ kind: 'updated', type: ev.type, start: current.start, probability: ev.probability, rationale: ev.rationale });
          }
          break;
        }
        const time = forward(ev.time, `signal.detected ${ev.type}`);
        active.set(ev.type, { start: time, probability: ev.probability, rationale: ev.rationale });
        out.push({ ...ev, time });
        break;
      }
      case 'updated': {
        const current = active.get(ev.type);
        if (current === undefined) {
          // Its signal.detected was lost: the update's start (that detection's) is the best guess.
          const time = forward(ev.start >= 0 ? ev.start : last, `signal.updated ${ev.type} (taken as its lost signal.detected)`);
          notes.push(`signal.updated ${ev.type} without a signal.detected: taken as the detection (start ${fmt(time)} s)`);
          active.set(ev.type, { start: time, probability: ev.probability, rationale: ev.rationale });
          out.push({ kind: 'detected', type: ev.type, time, probability: ev.probability, rationale: ev.rationale });
          break;
        }
        if (current.probability === ev.probability && current.rationale === ev.rationale) {
          notes.push(`signal.updated ${ev.type} changes neither probability nor rationale (ih-mock never sends that); skipped`);
          break;
        }
        if (ev.start !== current.start) notes.push(`signal.updated ${ev.type} repeats start ${fmt(ev.start)} s, its detection said ${fmt(current.start)} s; the detection's is kept`);
        current.probability = ev.probability;
        current.rationale = ev.rationale;
        out.push({ ...ev, start: current.start });
        break;
      }
      case 'ended': {
        if (!active.has(ev.type)) {
          notes.push(`signal.ended ${ev.type} without an active signal.detected; skipped`);
          break;
        }
        active.delete(ev.type);
        out.push({ ...ev, time: forward(ev.time, `signal.ended ${ev.type}`) });
        break;
      }
      case 'engagement': {
        if (ev.state === engagement) {
          notes.push(`engagement.updated repeats the state ${ev.state} (ih-mock only reports changes); skipped`);
          break;
        }
        engagement = ev.state;
        out.push({ ...ev, time: forward(ev.time, `engagement.updated ${ev.state}`) });
        break;
      }
      case 'quality':
        out.push(ev);
        break;
    }
  }
  return out;
}

// ---- Geometry -------------------------------------------------------------------------------------

interface Geometry {
  W: number;
  h: number;
  p: number;
  cadence: number;
  /** Media end of the session. */
  M: number;
  /**
   * End of the script (the scenario's duration): the media end, unless an engagement change near
   * the end is only reproducible with a script that ends earlier (after it nothing is active).
   */
  horizon: number;
  wins: Window[];
  N: number;
}

/** A window's reporting slot (docs/analysis.md): [start, start + hop], a final window [start, media end]. */
function slot(g: Geometry, pos: number): { lo: number; hi: number } {
  const w = g.wins[pos]!;
  const hi = w.final ? w.end : w.start + g.h;
  return { lo: w.start, hi: Math.max(w.start, hi) };
}

/** The emulator's presence rule for one span and one window (ScenarioModel.observe). */
function present(g: Geometry, s: number, e: number, pos: number): boolean {
  const w = g.wins[pos];
  if (w === undefined) return false;
  const overlap = Math.min(e, w.end) - Math.max(s, w.start);
  if (overlap <= 0) return false;
  return overlap >= g.p || (s >= w.start && e <= w.end);
}

function windowEnd(g: Geometry, pos: number): number {
  return g.wins[pos]?.end ?? 0;
}

interface Key {
  time: number;
  rank: number;
  name: string;
}
const RANK = { ended: 0, detected: 1, updated: 1, engagement: 2 } as const;

function compareKeys(a: Key, b: Key): number {
  return a.time - b.time || a.rank - b.rank || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

/** Candidate values: the breakpoints, the midpoints between them and one beyond each end. */
function withMidpoints(values: Iterable<number>): number[] {
  const sorted = [...new Set([...values].filter((v) => Number.isFinite(v)))].sort((a, b) => a - b);
  const out = [...sorted];
  for (let i = 0; i + 1 < sorted.length; i++) out.push((sorted[i]! + sorted[i + 1]!) / 2);
  if (sorted.length > 0) out.push(sorted[0]! - 1, sorted[sorted.length - 1]! + 1);
  return [...new Set(out)].sort((a, b) => a - b);
}

/** How many decimals `x` needs (0–6, 7 for more): a mild preference for readable times. */
function decimals(x: number): number {
  for (let k = 0; k <= 6; k++) {
    const scaled = x * 10 ** k;
    if (Math.abs(scaled - Math.round(scaled)) < 1e-7) return k;
  }
  return 7;
}

// ---- Signals: one lifecycle → one span, or touching spans where a takeover is needed ---------------

type EndSpec =
  | { kind: 'window'; pos: number; q: number }
  | { kind: 'closing'; q: number; cursor: number }
  /** Still active when the recording stops: present until the last window. */
  | { kind: 'open' }
  /** Only the detection is known yet (placement check). */
  | { kind: 'free' };

/**
 * How an update is realized. `change`: a `changes[]` entry at c, reported at clamp(c, slot).
 * `takeover`: a new touching span of the type starts at x and has more overlap than the old one from
 * this window on; reported at clamp(x, slot). A takeover can be reported earlier in the slot than any
 * change (a change must be unseen by the previous window, so c ≥ its end), which some orders need.
 */
type UpdateMode = 'change' | 'takeover';

interface UpdateRecord {
  pos: number;
  /** The clamped time that orders the update in its window; set when the window's order is known. */
  tau: number;
  mode: UpdateMode;
  probability: Probability;
  rationale: string;
  /** Keys the update's own must stay between to keep its window's order (null: no bound). */
  lower: Key | null;
  upper: Key | null;
}

interface SpanPlan {
  type: SignalType;
  a: number;
  r: number;
  probability: Probability;
  rationale: string;
  updates: readonly UpdateRecord[];
  end: EndSpec;
  /** Where the previous span of the type ended (spans of one type must not overlap). */
  sMin: number;
}

/** The emulator's choice among two spans of a type in a window: more overlap; a tie → the later one. */
function newerWins(g: Geometry, oldStart: number, x: number, e: number, pos: number): boolean {
  const w = g.wins[pos];
  if (w === undefined) return false;
  const oldOverlap = Math.min(x, w.end) - Math.max(oldStart, w.start);
  const newOverlap = Math.min(e, w.end) - Math.max(x, w.start);
  const oldPresent = oldOverlap > 0 && (oldOverlap >= g.p || (oldStart >= w.start && x <= w.end));
  const newPresent = newOverlap > 0 && (newOverlap >= g.p || (x >= w.start && e <= w.end));
  if (!newPresent) return false;
  return !oldPresent || newOverlap >= oldOverlap;
}

/**
 * The scripted span(s) for [s, e) and the plan's updates, and the time each update will be ordered
 * by. An update is realized as planned (change or takeover at its planned time) when it can be, else
 * by the other realization or at another time that keeps its window's order. Null when none fits.
 */
function realize(g: Geometry, plan: SpanPlan, s: number, e: number): { spans: ScriptedSignal[]; taus: number[] } | null {
  const spans: ScriptedSignal[] = [];
  const taus: number[] = [];
  let current: ScriptedSignal = { type: plan.type, start: s, end: e, probability: plan.probability, rationale: plan.rationale };
  let values = { probability: plan.probability, rationale: plan.rationale };
  let previous = s; // last change or cut; the next one must come after it
  const mid = (w: Window | undefined): number => (w === undefined ? NaN : (w.start + w.end) / 2);
  for (const u of plan.updates) {
    const sl = slot(g, u.pos);
    const fits = (tau: number): boolean => {
      const key: Key = { time: tau, rank: RANK.updated, name: plan.type };
      return (u.lower === null || compareKeys(u.lower, key) <= 0) && (u.upper === null || compareKeys(key, u.upper) <= 0);
    };
    // The value giving the planned time first, then the breakpoints and midpoints around.
    const planned = (lo: number): number => (sl.hi > sl.lo && near(u.tau, sl.hi) ? Math.max(lo, sl.hi) : near(u.tau, sl.lo) ? lo : u.tau);
    const around = [sl.lo, sl.hi, previous, e, windowEnd(g, u.pos - 1), windowEnd(g, u.pos), mid(g.wins[u.pos - 1]), mid(g.wins[u.pos]), u.lower?.time ?? NaN, u.upper?.time ?? NaN];
    const change = (): number | undefined => {
      // Unseen by window u−1 (c ≥ its end), seen by window u (c < its end), inside the span.
      const lo = Math.max(current.start, windowEnd(g, u.pos - 1));
      const hi = Math.min(e, windowEnd(g, u.pos));
      if (!present(g, current.start, e, u.pos)) return undefined; // the window must still see the span
      return [planned(lo), ...withMidpoints([lo, hi, ...around])].find((c) => c >= lo && c < hi && c > previous && fits(clamp(c, sl.lo, sl.hi)));
    };
    const takeover = (): number | undefined =>
      [planned(previous), ...withMidpoints(around)].find(
        (x) => Number.isFinite(x) && x > previous && x < e && fits(clamp(x, sl.lo, sl.hi)) && newerWins(g, current.start, x, e, u.pos) && !newerWins(g, current.start, x, e, u.pos - 1),
      );
    const order: UpdateMode[] = u.mode === 'change' ? ['change', 'takeover'] : ['takeover', 'change'];
    let done = false;
    for (const mode of order) {
      const at = mode === 'change' ? change() : takeover();
      if (at === undefined) continue;
      if (mode === 'change') {
        const scripted: ScriptedSignalChange = { at };
        if (u.probability !== values.probability) scripted.probability = u.probability;
        if (u.rationale !== values.rationale) scripted.rationale = u.rationale;
        current.changes = [...(current.changes ?? []), scripted];
      } else {
        current.end = at;
        spans.push(current);
        current = { type: plan.type, start: at, end: e, probability: u.probability, rationale: u.rationale };
      }
      taus.push(clamp(at, sl.lo, sl.hi));
      previous = at;
      done = true;
      break;
    }
    if (!done) return null;
    values = { probability: u.probability, rationale: u.rationale };
  }
  spans.push(current);
  return { spans, taus };
}

/** Does the script `spans` make ih-mock report exactly this lifecycle (checked with ScenarioModel)? */
function reproduces(g: Geometry, plan: SpanPlan, spans: ScriptedSignal[], taus: readonly number[]): boolean {
  const model = new ScenarioModel({ name: 'check', signals: spans, ...(g.horizon > 0 ? { duration: g.horizon } : {}) }, { presenceOverlapSeconds: g.p });
  const b = plan.end.kind === 'window' ? plan.end.pos - 1 : g.N - 1;
  const last = plan.end.kind === 'window' ? plan.end.pos : g.N - 1;
  let seenBefore: ObservedSignal | null = null;
  let next = 0;
  for (let pos = Math.max(0, plan.a - 1); pos <= last; pos++) {
    const seen = model.observe(g.wins[pos]!).signals.find((o) => o.type === plan.type) ?? null;
    const sl = slot(g, pos);
    if ((seen !== null) !== (pos >= plan.a && pos <= b)) return false;
    if (seen !== null && pos === plan.a) {
      if (!near(clamp(seen.spanStart, sl.lo, sl.hi), plan.r) || seen.probability !== plan.probability || seen.rationale !== plan.rationale) return false;
    } else if (seen !== null && seenBefore !== null) {
      const changed = seen.probability !== seenBefore.probability || seen.rationale !== seenBefore.rationale;
      const update = plan.updates[next]?.pos === pos ? plan.updates[next] : undefined;
      if (changed !== (update !== undefined)) return false;
      if (update !== undefined) {
        if (seen.probability !== update.probability || seen.rationale !== update.rationale || !near(clamp(seen.since, sl.lo, sl.hi), taus[next]!)) return false;
        next++;
      }
    }
    if (plan.end.kind === 'window' && pos === plan.end.pos && (seenBefore === null || !near(clamp(seenBefore.spanEnd, sl.lo, sl.hi), plan.end.q))) return false;
    if (seen !== null) seenBefore = seen;
  }
  if (next !== plan.updates.length) return false;
  if (plan.end.kind === 'closing') return seenBefore !== null && near(Math.max(plan.end.cursor, Math.min(seenBefore.spanEnd, g.M)), plan.end.q);
  return true;
}

/**
 * The scripted span(s) that make the emulator report this lifecycle, or null. Searches [s, e) over the
 * breakpoints of the rules (window bounds, ± presence, slot bounds, midpoints between them); prefers
 * the targets of the header's inverse rules, then short decimals; checks the best with ScenarioModel.
 */
function solveSpan(g: Geometry, plan: SpanPlan): ScriptedSignal[] | null {
  const { a, r, end } = plan;
  const b = end.kind === 'window' ? end.pos - 1 : g.N - 1;
  if (b < a || a < 0 || a >= g.N) return null;
  const slotA = slot(g, a);
  const base: number[] = [r, plan.sMin, g.M, g.horizon, 0];
  const addWindow = (pos: number): void => {
    if (pos < 0 || pos >= g.N) return;
    const w = g.wins[pos]!;
    const sl = slot(g, pos);
    base.push(w.start, w.end, sl.lo, sl.hi);
  };
  for (const pos of [a - 1, a, a + 1, b - 1, b, b + 1]) addWindow(pos);
  for (const u of plan.updates) {
    addWindow(u.pos - 1);
    addWindow(u.pos);
    base.push(u.tau);
  }
  if (end.kind === 'window' || end.kind === 'closing') base.push(end.q);
  if (end.kind === 'closing') base.push(end.cursor);
  const candidates = withMidpoints(base.flatMap((x) => [x, x - g.p, x + g.p]));

  const sCandidates = candidates.filter((s) => s >= plan.sMin && s >= 0 && s < g.horizon && near(clamp(s, slotA.lo, slotA.hi), r));
  let eCandidates = candidates.filter((e) => e > 0 && e <= g.horizon);
  if (end.kind === 'window') {
    const sl = slot(g, end.pos);
    eCandidates = eCandidates.filter((e) => near(clamp(e, sl.lo, sl.hi), end.q));
  } else if (end.kind === 'closing') {
    eCandidates = eCandidates.filter((e) => near(Math.max(end.cursor, Math.min(e, g.M)), end.q));
  }

  // Targets (header): the first slot is exact; a later detection clamped up → r + window − hop − presence.
  const sTarget = a > 0 && slotA.hi > slotA.lo && near(r, slotA.hi) ? r + g.W - g.h - g.p : r;
  const eTarget = end.kind === 'window' || end.kind === 'closing' ? end.q : g.horizon;
  const ranked: { s: number; e: number; cost: number }[] = [];
  // Second tier, when the last update is near the end: the lifecycle taken as one span fails presence
  // at its end, but a short last span taking over (present as it lies wholly inside) may not.
  const lastUpdate = plan.updates[plan.updates.length - 1]?.pos ?? -Infinity;
  const reserve: typeof ranked = [];
  for (const s of sCandidates) {
    for (const e of eCandidates) {
      if (!(e > s)) continue;
      // Presence at the lifecycle's edges (contiguous in between: overlap is unimodal in k).
      if (!present(g, s, e, a) || (a > 0 && present(g, s, e, a - 1))) continue;
      const cost = Math.abs(s - sTarget) + Math.abs(e - eTarget) + 1e-3 * (decimals(s) + decimals(e));
      let edge = true;
      if (end.kind === 'window' && (!present(g, s, e, b) || present(g, s, e, end.pos))) edge = false;
      if ((end.kind === 'closing' || end.kind === 'open') && !present(g, s, e, b)) edge = false;
      if (end.kind === 'free' && edge) return [{ type: plan.type, start: s, end: e, probability: plan.probability, rationale: plan.rationale }];
      if (edge) ranked.push({ s, e, cost });
      else if (lastUpdate >= b - Math.ceil(g.W / g.h)) reserve.push({ s, e, cost });
    }
  }
  const byCost = (x: { s: number; e: number; cost: number }, y: { s: number; e: number; cost: number }): number => x.cost - y.cost || x.s - y.s || x.e - y.e;
  for (const { s, e } of [...ranked.sort(byCost).slice(0, 40), ...reserve.sort(byCost).slice(0, 10)]) {
    const realized = realize(g, plan, s, e);
    if (realized !== null && reproduces(g, plan, realized.spans, realized.taus)) return realized.spans;
  }
  return null;
}

/** Span(s) when no exact ones exist: close to the reported times, valid for the loader. */
function fallbackSpan(g: Geometry, plan: SpanPlan): ScriptedSignal[] {
  const limit = g.horizon > 0 ? g.horizon : Infinity;
  let s = Math.max(plan.sMin, plan.r);
  let e = plan.end.kind === 'window' || plan.end.kind === 'closing' ? plan.end.q : limit;
  if (!Number.isFinite(e)) e = s + g.W;
  if (s >= limit) s = Math.max(plan.sMin, limit - 0.5);
  if (!(e > s)) e = s + 0.5;
  const changes: ScriptedSignalChange[] = [];
  let values = { probability: plan.probability, rationale: plan.rationale };
  for (const u of plan.updates) {
    const previous = changes[changes.length - 1]?.at ?? s;
    const at = Math.min(Math.max(s, windowEnd(g, u.pos - 1), previous + 1e-3), e - 1e-3);
    if (!(at >= s && at < e && (changes.length === 0 || at > previous))) continue;
    const change: ScriptedSignalChange = { at };
    if (u.probability !== values.probability) change.probability = u.probability;
    if (u.rationale !== values.rationale) change.rationale = u.rationale;
    if (change.probability === undefined && change.rationale === undefined) continue;
    changes.push(change);
    values = { probability: u.probability, rationale: u.rationale };
  }
  const span: ScriptedSignal = { type: plan.type, start: s, end: e, probability: plan.probability, rationale: plan.rationale };
  return [changes.length > 0 ? { ...span, changes } : span];
}

interface Lifecycle {
  type: SignalType;
  a: number;
  r: number;
  probability: Probability;
  rationale: string;
  updates: UpdateRecord[];
  sMin: number;
  spans: ScriptedSignal[] | null;
  exact: boolean;
}

// ---- Placement: which window reported which event ---------------------------------------------------

interface EngagementPlacement {
  pos: number;
  state: EngagementState;
  t: number;
  x: number;
}

interface QualityData {
  timeline?: QualityScores;
  overall?: QualityScores;
}

interface Period {
  start: number;
  end: number;
  /** Window whose analysis closes the period, or -1 for the one closed at graceful close. */
  pos: number;
}

function periodsOf(g: Geometry): Period[] {
  const periods: Period[] = [];
  let start = 0;
  g.wins.forEach((w, pos) => {
    if (w.final || w.end < start + g.cadence) return;
    periods.push({ start, end: w.end, pos });
    start = w.end;
  });
  if (g.M > start) periods.push({ start, end: g.M, pos: -1 });
  return periods;
}

/** The engagement state each window must see, given the placements so far (null: no information yet). */
function expectedEngagement(placed: readonly EngagementPlacement[], pos: number): EngagementPlacement | null {
  let found: EngagementPlacement | null = null;
  for (const p of placed) if (p.pos <= pos) found = p;
  return found;
}

/** Does the script `entries` make windows [from, to] report exactly the placed engagement events? */
function engagementFits(g: Geometry, entries: readonly ScriptedEngagement[], placed: readonly EngagementPlacement[], from: number, to: number, horizon = g.horizon): boolean {
  const model = new ScenarioModel({ name: 'check', engagement: [...entries], ...(horizon > 0 ? { duration: horizon } : {}) }, { presenceOverlapSeconds: g.p });
  for (let pos = Math.max(0, from); pos <= to && pos < g.N; pos++) {
    const seen = model.observe(g.wins[pos]!).engagement;
    const want = expectedEngagement(placed, pos);
    if (want === null) {
      if (seen !== null) return false;
      continue;
    }
    // No information (past the script's end) sends nothing and keeps the last state.
    if (seen === null && want.pos !== pos) continue;
    if (seen === null || seen.state !== want.state) return false;
    if (want.pos === pos) {
      const sl = slot(g, pos);
      if (!near(clamp(seen.since, sl.lo, sl.hi), want.t)) return false;
    }
  }
  return true;
}

/** Entry times to try for an engagement change reported at `t` by window `pos`, best first. */
function engagementCandidates(g: Geometry, pos: number, t: number, after: number, horizon = g.horizon): number[] {
  const base: number[] = [t];
  if (Number.isFinite(after)) base.push(after);
  for (let q = pos - 2; q <= pos + 1; q++) {
    const w = g.wins[q];
    if (w === undefined) continue;
    const sl = slot(g, q);
    base.push(w.start, w.end, (w.start + w.end) / 2, sl.lo, sl.hi);
  }
  const sl = slot(g, pos);
  return withMidpoints(base)
    .filter((x) => x > after && x >= 0 && (horizon <= 0 || x < horizon) && near(clamp(x, sl.lo, sl.hi), t))
    .sort((x, y) => Math.abs(x - t) - Math.abs(y - t) || decimals(x) - decimals(y) || x - y);
}

/** The clamped times an update first seen by window `pos` can be reported at, per realization. */
interface TauOption {
  mode: UpdateMode;
  lo: number;
  hi: number;
  loOpen: boolean;
  hiOpen: boolean;
}

/** The image of the interval under clamping into the slot, or null if the interval is empty. */
function clampedInterval(mode: UpdateMode, lo: number, hi: number, loOpen: boolean, hiOpen: boolean, sl: { lo: number; hi: number }): TauOption | null {
  if (!(lo < hi || (lo === hi && !loOpen && !hiOpen))) return null;
  if (hi < sl.lo || (hi === sl.lo && hiOpen)) return { mode, lo: sl.lo, hi: sl.lo, loOpen: false, hiOpen: false };
  if (lo > sl.hi || (lo === sl.hi && loOpen)) return { mode, lo: sl.hi, hi: sl.hi, loOpen: false, hiOpen: false };
  const [l, lOpen] = lo < sl.lo ? [sl.lo, false] : [lo, loOpen];
  const [h, hOpen] = hi > sl.hi ? [sl.hi, false] : [hi, hiOpen];
  return { mode, lo: l, hi: h, loOpen: lOpen, hiOpen: hOpen };
}

/**
 * For an update first seen by window `pos` of a span that ends by `eMax` at the latest (from its
 * recorded end): a change is unseen by window pos−1 and seen by pos, c ∈ [end(pos−1), min(eMax,
 * end(pos))); a takeover (an old span long before, a new one [x, ≤ eMax)) wins window pos and not
 * pos−1 when x is past the middle of what each window sees of the two.
 */
function tauOptions(g: Geometry, pos: number, eMax = g.M): TauOption[] {
  const before = g.wins[pos - 1];
  const w = g.wins[pos];
  if (before === undefined || w === undefined) return [];
  const sl = slot(g, pos);
  return [
    clampedInterval('change', before.end, Math.min(w.end, eMax), false, true, sl),
    clampedInterval('takeover', (before.start + Math.min(before.end, eMax)) / 2, (w.start + Math.min(w.end, eMax)) / 2, true, false, sl),
  ].filter((o): o is TauOption => o !== null);
}

function inside(o: TauOption, x: number): boolean {
  return (x > o.lo || (!o.loOpen && x >= o.lo)) && (x < o.hi || (!o.hiOpen && x <= o.hi));
}

/** Times to try for an option: its ends, the neighbours' times inside it and midpoints between them. */
function tauPoints(o: TauOption, times: readonly number[]): number[] {
  const points = [o.lo, o.hi, ...times.filter((t) => t >= o.lo && t <= o.hi)];
  const candidates = withMidpoints(points).filter((x) => inside(o, x));
  // A change as early as possible; a takeover as late as possible (closest to where a change would be).
  return o.mode === 'change' ? candidates : candidates.reverse();
}

type BatchItem = { kind: 'fixed'; key: Key } | { kind: 'update'; type: SignalType; options: TauOption[]; record: UpdateRecord };

/**
 * Times for the window's pending updates that keep the window's sort order, with as few takeovers as
 * possible (a takeover only where the order needs an earlier time than a change can have); null when
 * no choice does.
 */
function orderUpdates(items: readonly BatchItem[]): { chosen: Map<UpdateRecord, { tau: number; mode: UpdateMode }>; takeovers: number } | null {
  const times = items.flatMap((i) => (i.kind === 'fixed' ? [i.key.time] : []));
  const pending = items.filter((i) => i.kind === 'update').length;
  const chosen = new Map<UpdateRecord, { tau: number; mode: UpdateMode }>();
  let budget = 20_000;
  const go = (i: number, previous: Key | null, takeovers: number): boolean => {
    if (budget-- <= 0) return false;
    const item = items[i];
    if (item === undefined) return true;
    if (item.kind === 'fixed') return (previous === null || compareKeys(previous, item.key) <= 0) && go(i + 1, item.key, takeovers);
    for (const option of item.options) {
      if (option.mode === 'takeover' && takeovers === 0) continue;
      for (const tau of tauPoints(option, previous === null ? times : [...times, previous.time])) {
        const key: Key = { time: tau, rank: RANK.updated, name: item.type };
        if (previous !== null && compareKeys(previous, key) > 0) continue;
        chosen.set(item.record, { tau, mode: option.mode });
        if (go(i + 1, key, option.mode === 'takeover' ? takeovers - 1 : takeovers)) return true;
      }
    }
    return false;
  };
  for (let takeovers = 0; takeovers <= pending; takeovers++) {
    chosen.clear();
    if (go(0, null, takeovers)) return { chosen, takeovers };
  }
  return null;
}

/**
 * The order of one window's events: each pending update's time and realization (fewest takeovers),
 * and the keys it may move between (up to a fixed neighbour, halfway to a neighbouring update).
 */
function orderBatch(batch: readonly BatchItem[]): Map<UpdateRecord, Pick<UpdateRecord, 'tau' | 'mode' | 'lower' | 'upper'>> {
  const chosen = orderUpdates(batch)?.chosen;
  const out = new Map<UpdateRecord, Pick<UpdateRecord, 'tau' | 'mode' | 'lower' | 'upper'>>();
  const keys = batch.map((item): Key | null => {
    if (item.kind === 'fixed') return item.key;
    const pick = chosen?.get(item.record);
    return pick === undefined ? null : { time: pick.tau, rank: RANK.updated, name: item.type };
  });
  batch.forEach((item, i) => {
    const own = keys[i];
    if (item.kind !== 'update' || own === null || own === undefined) return;
    const lowerKey = keys[i - 1] ?? null;
    const upperKey = keys[i + 1] ?? null;
    out.set(item.record, {
      ...chosen!.get(item.record)!,
      lower: lowerKey === null ? null : batch[i - 1]?.kind === 'fixed' ? lowerKey : { time: (lowerKey.time + own.time) / 2, rank: -1, name: '' },
      upper: upperKey === null ? null : batch[i + 1]?.kind === 'fixed' ? upperKey : { time: (upperKey.time + own.time) / 2, rank: 99, name: '' },
    });
  });
  return out;
}

interface Placement {
  lifecycles: Lifecycle[];
  engagement: EngagementPlacement[];
  periodData: Map<number, QualityData>;
  /** Timeline entries that match none of the replay's periods (another cadence or shed windows). */
  strayTimeline: { start: number; end: number; values: QualityScores }[];
}

function place(g: Geometry, events: readonly Clean[], notes: string[]): Placement {
  const lifecycles: Lifecycle[] = [];
  const active = new Map<SignalType, Lifecycle>();
  const spanEnd = new Map<SignalType, number>();
  const endedAt = new Map<SignalType, number>();
  const engagement: EngagementPlacement[] = [];
  const periods = periodsOf(g);
  const periodData = new Map<number, QualityData>();
  const strayTimeline: Placement['strayTimeline'] = [];
  let nextPeriod = 0;

  // The window being filled and its events so far; updates get their time once its order is known.
  const state = { cur: 0, batch: [] as BatchItem[], lastTime: 0, closing: false, closingKey: null as Key | null };
  const finalize = (): void => {
    for (const [record, order] of orderBatch(state.batch)) Object.assign(record, order);
    state.batch = [];
  };
  const fits = (pos: number, item: BatchItem): boolean => pos > state.cur || orderUpdates([...state.batch, item]) !== null;
  const take = (pos: number, item: BatchItem): void => {
    if (pos > state.cur) {
      finalize();
      state.cur = pos;
    }
    state.batch.push(item);
    if (item.kind === 'fixed') state.lastTime = Math.max(state.lastTime, item.key.time);
  };
  const startClosing = (): void => {
    finalize();
    state.closing = true;
    state.cur = g.N;
  };
  /** Windows (from the current one) whose slot holds `time`. */
  const slotted = (time: number): number[] => {
    const out: number[] = [];
    for (let pos = state.cur; pos < g.N; pos++) {
      const sl = slot(g, pos);
      if (sl.lo > time + EPS) break;
      if (time <= sl.hi + EPS) out.push(pos);
    }
    return out;
  };
  /** Best effort for an event no window can have reported: the window whose slot is nearest. */
  const nearest = (time: number): number => {
    let best = Math.max(0, Math.min(state.cur, g.N - 1));
    let distance = Infinity;
    for (let pos = 0; pos < g.N; pos++) {
      const sl = slot(g, pos);
      const d = time < sl.lo ? sl.lo - time : time > sl.hi ? time - sl.hi : 0;
      if (d < distance - EPS) {
        distance = d;
        best = pos;
      }
    }
    return best;
  };
  const plan = (lc: Lifecycle, end: EndSpec): SpanPlan => ({ type: lc.type, a: lc.a, r: lc.r, probability: lc.probability, rationale: lc.rationale, updates: lc.updates, end, sMin: lc.sMin });

  /**
   * Where an update at `index` may go, from the next timed event (or quality event): `hard`, the last
   * window that event can use; `soft` and `key`, where the update should go: not after that event's
   * window (nor in it unless it sorts before `key`). Later updates in between need room: a signal
   * updated m more times needs m windows after this one (m − 1 for another signal, which may share
   * this one's window); an end of the same signal one more, unless that end may be the close's.
   */
  const lookahead = (index: number, type: SignalType): { hard: number; soft: number; key: Key | null } => {
    const later = new Map<SignalType, number>();
    for (let i = index + 1; i < events.length; i++) {
      const next = events[i]!;
      if (next.kind === 'updated') {
        later.set(next.type, (later.get(next.type) ?? 0) + 1);
        continue;
      }
      const same = Math.max(0, ...[...later].map(([t, m]) => (t === type ? m : m - 1)));
      if (next.kind === 'quality') {
        // Its timeline names its period; `overall` alone belongs to the next one.
        const entry = next.timeline[next.timeline.length - 1];
        const period = entry === undefined ? periods[nextPeriod] : periods.find((p) => near(p.start, entry.start) && near(p.end, entry.end));
        const bound = period === undefined || period.pos < 0 ? g.N - 1 : period.pos - same;
        return { hard: bound, soft: bound, key: null };
      }
      const windows = next.kind === 'detected' ? detectionWindows(next, i) : slotted(next.time);
      const last = windows[windows.length - 1];
      if (last === undefined) return { hard: g.N - 1, soft: g.N - 1, key: null };
      const maybeAtClose = next.kind === 'ended' && last === g.N - 1;
      const ownEnd = next.kind === 'ended' && next.type === type;
      const key: Key | null = later.size === 0 && !ownEnd ? { time: next.time, rank: RANK[next.kind], name: next.kind === 'engagement' ? '' : next.type } : null;
      return { hard: (maybeAtClose ? g.N - 1 : last - (ownEnd ? 1 : 0)) - same, soft: last - (ownEnd ? 1 : 0) - same, key };
    }
    return { hard: g.N - 1, soft: g.N - 1, key: null };
  };

  /** The latest end `lc`'s span can have given its recorded end (after `index`): that end, the media end if none. */
  const eMaxOf = (lc: Lifecycle, index: number): number => {
    const end = events.slice(index + 1).find((e) => e.kind === 'ended' && e.type === lc.type);
    return end === undefined || end.kind !== 'ended' || end.time >= g.M ? g.M : end.time;
  };
  /** Where `lc`'s recorded end (the next signal.ended of its type after `index`) may be, after window `after`. */
  const endsOf = (lc: Lifecycle, index: number, after = -1): EndSpec[] => {
    const end = events.slice(index + 1).find((e): e is Extract<Clean, { kind: 'ended' }> => e.kind === 'ended' && e.type === lc.type);
    if (end === undefined) return [{ kind: 'open' }];
    const windows = slotted(end.time).filter((w) => w > after).map((w): EndSpec => ({ kind: 'window', pos: w, q: end.time }));
    return [...windows, { kind: 'closing', q: end.time, cursor: Math.max(state.lastTime, Math.min(end.time, g.M)) }];
  };
  /**
   * Windows that can have reported the detection at `index`: its time in their slot, after the type's
   * last end, and a span exists from there to the lifecycle's recorded end (updates aside).
   */
  const detectionWindows = (ev: Extract<Clean, { kind: 'detected' }>, index: number): number[] => {
    const after = endedAt.get(ev.type) ?? -1;
    const lc: Lifecycle = { type: ev.type, a: 0, r: ev.time, probability: ev.probability, rationale: ev.rationale, updates: [], sMin: spanEnd.get(ev.type) ?? 0, spans: null, exact: true };
    return slotted(ev.time).filter((p) => p > after && endsOf(lc, index, p).some((end) => solveSpan(g, plan({ ...lc, a: p }, end)) !== null));
  };
  /** Can `lc` still be realized with an update (time not fixed yet) in window `pos`, up to its recorded end? */
  const stillSolvable = (lc: Lifecycle, index: number, pos: number, record: UpdateRecord, tentative: readonly UpdateRecord[] = []): boolean => {
    const updates = [...lc.updates, ...tentative, { ...record, pos, tau: NaN, lower: null, upper: null }];
    return endsOf(lc, index, pos).some((e) => solveSpan(g, { ...plan(lc, e), updates }) !== null);
  };

  /**
   * Windows for the run of consecutive updates starting at `start`, chosen together (a depth-first
   * search, best first: fewest takeovers, earliest; first only where the look-ahead wants them, then
   * anywhere): one update's choice can leave the next no window. Null when the search finds nothing.
   */
  const planRun = (start: number): Map<number, number> | null => {
    let stop = start;
    while (events[stop]?.kind === 'updated') stop++;
    const run = events.slice(start, stop) as Extract<Clean, { kind: 'updated' }>[];
    const looks = run.map((_, k) => {
      const look = lookahead(stop - 1, run[k]!.type);
      const deadline = deadlines[start + k] ?? g.N - 1;
      return { hard: Math.min(look.hard, deadline), soft: Math.min(look.soft, deadline), key: look.key };
    });
    const planned = new Map<number, number>();
    let nodes = 0;
    /** With every window of the run ordered as `finalize` will, can each lifecycle touched still be realized? */
    const realizable = (batches: readonly BatchItem[][], tentative: ReadonlyMap<SignalType, UpdateRecord[]>): boolean => {
      const ordered = new Map<UpdateRecord, Partial<UpdateRecord>>();
      for (const batch of batches) for (const [record, order] of orderBatch(batch)) ordered.set(record, order);
      return [...tentative].every(([type, records]) => {
        const lc = active.get(type)!;
        const updates = [...lc.updates, ...records].map((u) => ({ ...u, ...ordered.get(u) }));
        return endsOf(lc, start).some((end) => solveSpan(g, { ...plan(lc, end), updates }) !== null);
      });
    };
    let strict = true; // first pass: only where the look-ahead wants the updates
    const go = (k: number, cur: number, closed: BatchItem[][], batch: BatchItem[], tentative: ReadonlyMap<SignalType, UpdateRecord[]>): boolean => {
      const ev = run[k];
      if (ev === undefined) return realizable([...closed, batch], tentative);
      if (++nodes > 2000) return false;
      const lc = active.get(ev.type)!;
      if (!lc.exact) return false;
      const mine = tentative.get(ev.type) ?? [];
      const first = Math.max(cur, (mine[mine.length - 1]?.pos ?? lc.updates[lc.updates.length - 1]?.pos ?? lc.a) + 1);
      const look = looks[k]!;
      const options: { pos: number; score: number; item: Extract<BatchItem, { kind: 'update' }> }[] = [];
      for (let pos = first; pos < g.N && pos <= look.hard; pos++) {
        const record: UpdateRecord = { pos, tau: NaN, mode: 'change', probability: ev.probability, rationale: ev.rationale, lower: null, upper: null };
        const item = { kind: 'update' as const, type: ev.type, options: tauOptions(g, pos, eMaxOf(lc, start + k)), record };
        if (item.options.length === 0) continue;
        const trial: BatchItem[] = pos > cur ? [item] : [...batch, item];
        const takeovers = orderUpdates(trial)?.takeovers;
        if (takeovers === undefined || !stillSolvable(lc, start + k, pos, record, mine)) continue;
        const last = k === run.length - 1;
        const preferred = pos < look.soft || (pos === look.soft && (!last || look.key === null || orderUpdates([...trial, { kind: 'fixed', key: look.key }]) !== null));
        if (strict && !preferred) continue;
        options.push({ pos, score: (preferred ? 0 : 1000) + takeovers, item });
      }
      options.sort((x, y) => x.score - y.score || x.pos - y.pos);
      for (const { pos, item } of options) {
        const next = new Map(tentative).set(ev.type, [...mine, item.record]);
        const moved = pos > cur;
        if (go(k + 1, pos, moved && batch.length > 0 ? [...closed, batch] : closed, moved ? [item] : [...batch, item], next)) {
          planned.set(start + k, pos);
          return true;
        }
      }
      return false;
    };
    if (go(0, state.cur, [], state.batch, new Map())) return planned;
    strict = false;
    nodes = 0;
    return go(0, state.cur, [], state.batch, new Map()) ? planned : null;
  };
  let runPlan: Map<number, number> | null = null;

  /**
   * The latest window each event can be in (N: at close), from the end backwards: not after the next
   * event's, before the next event of the same signal, inside a slot that holds its time, a quality
   * event in the window closing its period. A bound for placing updates.
   */
  const deadlines: number[] = new Array<number>(events.length);
  {
    const anchors = new Map<number, number>();
    let nextP = 0;
    events.forEach((e, i) => {
      if (e.kind !== 'quality') return;
      const matched = e.timeline.map((t) => periods.findIndex((p) => near(p.start, t.start) && near(p.end, t.end))).filter((k) => k >= 0);
      const k = matched.length > 0 ? Math.max(...matched) : e.timeline.length === 0 ? nextP : -1;
      if (k < 0 || k >= periods.length) return;
      nextP = k + 1;
      anchors.set(i, periods[k]!.pos < 0 ? g.N : periods[k]!.pos);
    });
    const lastSlot = (time: number): number => {
      // Slots are [k·hop, k·hop + hop] (the final one to the media end): the last one holding `time`.
      for (let pos = Math.min(g.N - 1, Math.floor(time / g.h + EPS)); pos >= 0; pos--) {
        const sl = slot(g, pos);
        if (time >= sl.lo - EPS && time <= sl.hi + EPS) return pos;
        if (sl.hi < time - EPS) break;
      }
      return g.N - 1;
    };
    let next = g.N;
    const nextOfType = new Map<SignalType, number>();
    for (let i = events.length - 1; i >= 0; i--) {
      const e = events[i]!;
      let own: number;
      if (e.kind === 'quality') own = anchors.get(i) ?? g.N;
      else if (e.kind === 'updated') own = g.N - 1;
      else {
        own = lastSlot(e.time);
        if (e.kind === 'ended' && own === g.N - 1) own = g.N; // it may be the close's
      }
      if (e.kind !== 'engagement' && e.kind !== 'quality') own = Math.min(own, (nextOfType.get(e.type) ?? g.N + 1) - 1);
      deadlines[i] = Math.min(own, next);
      next = deadlines[i]!;
      if (e.kind !== 'engagement' && e.kind !== 'quality') nextOfType.set(e.type, next);
    }
  }

  for (const [index, ev] of events.entries()) {
    switch (ev.kind) {
      case 'detected': {
        const item: BatchItem = { kind: 'fixed', key: { time: ev.time, rank: RANK.detected, name: ev.type } };
        const sMin = spanEnd.get(ev.type) ?? 0;
        const after = endedAt.get(ev.type) ?? -1;
        const lc: Lifecycle = { type: ev.type, a: 0, r: ev.time, probability: ev.probability, rationale: ev.rationale, updates: [], sMin, spans: null, exact: true };
        const pos = state.closing ? undefined : detectionWindows(ev, index).find((p) => fits(p, item));
        if (pos === undefined) {
          lc.exact = false;
          lc.a = g.N === 0 ? 0 : Math.min(Math.max(nearest(ev.time), after + 1), g.N - 1);
          notes.push(`signal.detected ${ev.type} at ${fmt(ev.time)} s fits no window of ih-mock's model here (window ${g.W} s, hop ${g.h} s, presence ${g.p} s, media end ${fmt(g.M)} s): scripted from ${fmt(ev.time)} s, not reproduced exactly`);
        } else {
          lc.a = pos;
          take(pos, item);
        }
        lifecycles.push(lc);
        active.set(ev.type, lc);
        break;
      }
      case 'updated': {
        const lc = active.get(ev.type)!; // repair() guarantees a detection
        const lastUpdate = lc.updates[lc.updates.length - 1]?.pos ?? lc.a;
        const record: UpdateRecord = { pos: -1, tau: NaN, mode: 'change', probability: ev.probability, rationale: ev.rationale, lower: null, upper: null };
        // The earliest window, up to the last one the next timed event can use, that orders the
        // window's updates with the fewest takeovers (a later window starts a batch of its own).
        const first = Math.max(state.cur, lastUpdate + 1);
        if (events[index - 1]?.kind !== 'updated') runPlan = state.closing ? null : planRun(index);
        const look = lookahead(index, ev.type);
        let best: { pos: number; item: BatchItem; score: number } | null = null;
        const plannedPos = runPlan?.get(index);
        if (plannedPos !== undefined) {
          best = { pos: plannedPos, item: { kind: 'update', type: ev.type, options: tauOptions(g, plannedPos, eMaxOf(lc, index)), record }, score: 0 };
        }
        // Without a plan: greedily, one update at a time.
        for (let pos = first; plannedPos === undefined && !state.closing && lc.exact && pos < g.N && (pos <= look.hard || best === null); pos++) {
          const item: BatchItem = { kind: 'update', type: ev.type, options: tauOptions(g, pos, eMaxOf(lc, index)), record };
          if (item.options.length === 0) continue;
          const trial: BatchItem[] = pos > state.cur ? [item] : [...state.batch, item];
          const takeovers = orderUpdates(trial)?.takeovers;
          if (takeovers === undefined || !stillSolvable(lc, index, pos, record)) continue;
          // In the next event's window the update must also sort before it.
          const preferred = pos < look.soft || (pos === look.soft && (look.key === null || orderUpdates([...trial, { kind: 'fixed', key: look.key }]) !== null));
          const score = (preferred ? 0 : 1000) + takeovers;
          if (best === null || score < best.score) best = { pos, item, score };
          if (score === 0) break;
        }
        if (best !== null) {
          record.pos = best.pos;
          take(best.pos, best.item);
        }
        if (record.pos < 0) {
          lc.exact = false;
          record.pos = Math.min(Math.max(state.cur, lastUpdate + 1), Math.max(g.N - 1, 0));
          record.tau = g.N > 0 ? slot(g, record.pos).hi : 0;
          notes.push(`signal.updated ${ev.type} (${ev.probability}) fits no window of ih-mock's model after its detection: scripted as a change, not reproduced exactly`);
        }
        lc.updates.push(record);
        break;
      }
      case 'ended': {
        const lc = active.get(ev.type)!;
        active.delete(ev.type);
        const item: BatchItem = { kind: 'fixed', key: { time: ev.time, rank: RANK.ended, name: ev.type } };
        const lastUpdate = lc.updates[lc.updates.length - 1]?.pos ?? lc.a;
        // Its updates' window is complete once this event goes to a later window: fix their times now.
        if (lc.updates.length > 0 && lastUpdate === state.cur) finalize();
        let done = false;
        if (lc.exact && !state.closing) {
          for (const pos of slotted(ev.time)) {
            if (pos <= lastUpdate || !fits(pos, item)) continue;
            const spans = solveSpan(g, plan(lc, { kind: 'window', pos, q: ev.time }));
            if (spans === null) continue;
            lc.spans = spans;
            take(pos, item);
            endedAt.set(ev.type, pos);
            done = true;
            break;
          }
        }
        if (!done && lc.exact && (state.closingKey === null || compareKeys(state.closingKey, item.key) <= 0)) {
          // Ended by the graceful close: after every window, end = max(cursor, min(e, media end)).
          const spans = solveSpan(g, plan(lc, { kind: 'closing', q: ev.time, cursor: state.lastTime }));
          if (spans !== null) {
            lc.spans = spans;
            if (!state.closing) startClosing();
            state.closingKey = item.key;
            endedAt.set(ev.type, g.N);
            done = true;
          }
        }
        if (!done) {
          lc.exact = false;
          const pos = Math.min(Math.max(state.cur, lastUpdate + 1), g.N);
          lc.spans = fallbackSpan(g, plan(lc, pos < g.N ? { kind: 'window', pos, q: ev.time } : { kind: 'closing', q: ev.time, cursor: state.lastTime }));
          endedAt.set(ev.type, pos);
          notes.push(`signal.ended ${ev.type} at ${fmt(ev.time)} s: no span makes ih-mock report this lifecycle exactly; scripted [${fmt(lc.spans[0]!.start)}, ${fmt(lc.spans[lc.spans.length - 1]!.end)})`);
        }
        spanEnd.set(ev.type, lc.spans![lc.spans!.length - 1]!.end);
        break;
      }
      case 'engagement': {
        const item: BatchItem = { kind: 'fixed', key: { time: ev.time, rank: RANK.engagement, name: '' } };
        const previous = engagement[engagement.length - 1];
        const after = previous?.x ?? -Infinity;
        const entries = engagement.map((e) => ({ start: e.x, state: e.state }));
        let placed: EngagementPlacement | null = null;
        // The script's end only matters here when a change comes near it: try the current one, then
        // earlier ends (largest first), which must leave every span scripted so far whole.
        const latestSpanEnd = Math.max(0, ...spanEnd.values());
        const horizons = [g.horizon];
        if (g.horizon > 0) {
          const near0 = slotted(ev.time)[0] ?? g.N - 1;
          const around = g.wins.slice(Math.max(0, near0 - 3), near0 + 4).flatMap((w) => [w.start, w.end]);
          // Recorded times are where a script end shows (a signal ended at close at min(end, script end)).
          const times = events.flatMap((e) => (e.kind === 'quality' || e.kind === 'updated' || e.time > g.horizon ? [] : [e.time]));
          horizons.push(...withMidpoints([ev.time, g.horizon, ...around, ...times]).filter((hz) => hz < g.horizon && hz > ev.time && hz >= latestSpanEnd).reverse());
        }
        for (const horizon of horizons) {
          for (const pos of state.closing ? [] : slotted(ev.time)) {
            if ((previous !== undefined && pos <= previous.pos) || !fits(pos, item)) continue;
            for (const x of engagementCandidates(g, pos, ev.time, after, horizon)) {
              const candidate: EngagementPlacement = { pos, state: ev.state, t: ev.time, x };
              // Re-check from the previous change's window (or the one before the first): a new entry can move an earlier window's majority.
              let from = previous === undefined ? pos - 1 : previous.pos;
              for (let q = 0; q < from; q++) if (windowEnd(g, q) > Math.min(x, horizon)) from = q;
              // An earlier script end changes every window after it too.
              const to = horizon < g.horizon ? g.N - 1 : pos;
              if (engagementFits(g, [...entries, { start: x, state: ev.state }], [...engagement, candidate], from, to, horizon)) {
                placed = candidate;
                break;
              }
            }
            if (placed !== null) break;
          }
          if (placed !== null) {
            if (horizon < g.horizon) notes.push(`engagement.updated ${ev.state} at ${fmt(ev.time)} s is only reproduced with the script ending at ${fmt(horizon)} s, before the media end (${fmt(g.M)} s): duration set to ${fmt(horizon)}`);
            g.horizon = horizon;
            break;
          }
        }
        if (placed === null) {
          const x = Math.max(ev.time, Number.isFinite(after) ? after + 0.5 : 0);
          placed = { pos: g.N === 0 ? 0 : Math.max(nearest(ev.time), (previous?.pos ?? -1) + 1), state: ev.state, t: ev.time, x };
          notes.push(`engagement.updated ${ev.state} at ${fmt(ev.time)} s fits no window of ih-mock's model here: scripted from ${fmt(x)} s, not reproduced exactly`);
        } else {
          take(placed.pos, item);
        }
        engagement.push(placed);
        break;
      }
      case 'quality': {
        // A timeline entry names its period, hence its window; `overall` alone belongs to the next period.
        const found: number[] = [];
        for (const entry of ev.timeline) {
          const i = periods.findIndex((p) => near(p.start, entry.start) && near(p.end, entry.end));
          if (i < 0) {
            strayTimeline.push(entry);
            continue;
          }
          periodData.set(i, { ...periodData.get(i), timeline: entry.values });
          found.push(i);
        }
        const anchor = found.length > 0 ? Math.max(...found) : ev.timeline.length === 0 && nextPeriod < periods.length ? nextPeriod : null;
        if (anchor === null) break;
        if (ev.overall !== null) periodData.set(anchor, { ...periodData.get(anchor), overall: ev.overall });
        nextPeriod = anchor + 1;
        const period = periods[anchor]!;
        if (period.pos < 0) {
          if (!state.closing) startClosing();
        } else if (period.pos >= state.cur && !state.closing) {
          // Quality comes last in its window: the next event is in a later one.
          finalize();
          state.cur = period.pos + 1;
        } else {
          notes.push(`conversation_quality.updated for [${fmt(period.start)}, ${fmt(period.end)}] comes after events of later windows; its values are used, its position is not reproduced`);
        }
        break;
      }
    }
  }
  finalize();

  for (const lc of active.values()) {
    notes.push(`signal ${lc.type} is still active when the recording stops (no signal.ended): scripted until the media end; a graceful close ends it`);
    const open = plan(lc, { kind: 'open' });
    lc.spans = (lc.exact ? solveSpan(g, open) : null) ?? fallbackSpan(g, open);
  }
  return { lifecycles, engagement, periodData, strayTimeline };
}

// ---- Quality ------------------------------------------------------------------------------------------

/** Keeps values this far inside rounding boundaries, so float noise cannot flip a rounding. */
const MARGIN = 1e-4;

interface PeriodValue {
  /** Integer value over [start, split), then value + 1 over [split, scripted end); split null → value throughout. */
  value: number;
  split: number | null;
}

/**
 * Per period, an average with round(average) = the timeline value and, where `overall` was reported,
 * round(running weighted mean) = the overall value (header, rule 4). Past the script's end `horizon`
 * nothing is scripted and every dimension is exactly 50, as in the emulator.
 */
function solveDimension(periods: readonly Period[], horizon: number, timeline: readonly (number | undefined)[], overall: readonly (number | undefined)[], dim: string, notes: string[]): (PeriodValue | null)[] {
  const n = periods.length;
  const parts = periods.map(({ start, end }) => {
    const scripted = Math.max(0, Math.min(end, horizon) - start);
    return { start, end, length: end - start, scripted, fixed: (end - start - scripted) * 50 };
  });
  // Averages a period can have: what rounds to its timeline value, within what the script can reach.
  const allowed = (i: number): [number, number] => {
    const { length, scripted, fixed } = parts[i]!;
    const reach: [number, number] = [fixed / length, (100 * scripted + fixed) / length];
    const t = timeline[i];
    if (t === undefined) return reach;
    const lo = Math.max(reach[0], t - 0.5 + MARGIN);
    const hi = Math.min(reach[1], t + 0.5 - MARGIN);
    if (lo <= hi) return [lo, hi];
    notes.push(`quality ${dim}: ${t} over [${fmt(parts[i]!.start)}, ${fmt(parts[i]!.end)}] cannot be scripted (the script ends at ${fmt(horizon)} s); it may differ`);
    return reach;
  };
  const feasible: [number, number][] = [[0, 0]];
  for (let i = 0; i < n; i++) {
    const { end, length } = parts[i]!;
    const [aLo, aHi] = allowed(i);
    const previous = feasible[i]!;
    let lo = previous[0] + length * aLo;
    let hi = previous[1] + length * aHi;
    const o = overall[i];
    if (o !== undefined) {
      const gLo = Math.max(0, end * (o - 0.5 + MARGIN));
      const gHi = Math.min(100 * end, end * (o + 0.5 - MARGIN));
      if (Math.max(lo, gLo) <= Math.min(hi, gHi)) {
        lo = Math.max(lo, gLo);
        hi = Math.min(hi, gHi);
      } else {
        notes.push(`quality ${dim}: no values reproduce both the timeline and overall ${o} at ${fmt(end)} s; overall there may differ`);
      }
    }
    feasible.push([lo, hi]);
  }
  const preferred = (i: number): number => timeline[i] ?? overall[i] ?? 50;
  let sum = clamp(parts.reduce((acc, p, i) => acc + p.length * preferred(i), 0), feasible[n]![0], feasible[n]![1]);
  const out: (PeriodValue | null)[] = new Array<PeriodValue | null>(n);
  for (let i = n - 1; i >= 0; i--) {
    const { start, length, scripted, fixed } = parts[i]!;
    const [aLo, aHi] = allowed(i);
    const lo = Math.max(aLo, (sum - feasible[i]![1]) / length);
    const hi = Math.min(aHi, (sum - feasible[i]![0]) / length);
    let average = clamp(preferred(i), Math.min(lo, hi), Math.max(lo, hi));
    if (scripted <= 0) {
      out[i] = null;
      average = 50;
    } else {
      // The scripted stretch's own average b: average·length = b·scripted + 50·(unscripted length).
      const b = clamp((average * length - fixed) / scripted, 0, 100);
      const realized = (x: number): number => (x * scripted + fixed) / length;
      const end = start + scripted;
      out[i] = { value: Math.round(b), split: null };
      average = realized(Math.round(b));
      if (Math.abs(b - Math.round(b)) > 1e-9) {
        const value = Math.min(99, Math.floor(b));
        const exact = end - (b - value) * scripted;
        out[i] = { value, split: exact };
        average = realized(b);
        // A readable split point when one keeps the average inside the feasible range.
        for (let k = 0; k <= 6; k++) {
          const split = Math.round(exact * 10 ** k) / 10 ** k;
          const candidate = realized(value + (end - split) / scripted);
          // (lo and hi keep MARGIN from every rounding boundary: float noise around them is harmless.)
          if (split > start && split < end && candidate >= lo - 1e-9 && candidate <= hi + 1e-9) {
            out[i] = { value, split };
            average = candidate;
            break;
          }
        }
      }
    }
    sum -= length * average;
  }
  return out;
}

function qualityEntries(periods: readonly Period[], horizon: number, data: ReadonlyMap<number, QualityData>, notes: string[]): ScriptedQuality[] {
  if (data.size === 0) return [];
  const perDim = new Map<QualityDimension, (PeriodValue | null)[]>();
  for (const dim of QUALITY_DIMENSIONS) {
    const timeline = periods.map((_, i) => data.get(i)?.timeline?.[dim]);
    const overall = periods.map((_, i) => data.get(i)?.overall?.[dim]);
    perDim.set(dim, solveDimension(periods, horizon, timeline, overall, dim, notes));
  }
  const bases: ScriptedQuality[] = [];
  const splits: ScriptedQuality[] = [];
  periods.forEach((period, i) => {
    const end = Math.min(period.end, horizon);
    if (!(end > period.start)) return;
    const values: Dims = {};
    for (const dim of QUALITY_DIMENSIONS) {
      const v = perDim.get(dim)![i];
      if (v === null || v === undefined) continue;
      values[dim] = clamp(v.value, 0, 100);
      if (v.split !== null) splits.push({ start: v.split, end, values: { [dim]: clamp(v.value + 1, 0, 100) } });
    }
    const last = bases[bases.length - 1];
    if (last !== undefined && last.end === period.start && isDeepStrictEqual(last.values, values)) last.end = end;
    else bases.push({ start: period.start, end, values });
  });
  // Later entries win: the split halves override their period's base values.
  return [...bases, ...splits];
}

// ---- Assembly and self-check ---------------------------------------------------------------------------

/** What the emulator would send for the (repaired) recording: the reference of the self-check. */
function expectedEvents(events: readonly Clean[]): { type: string; data: unknown }[] {
  return events.map((ev) => {
    switch (ev.kind) {
      case 'detected':
        return { type: 'signal.detected', data: { signal_type: ev.type, start: ev.time, probability: ev.probability, rationale: ev.rationale } };
      case 'updated':
        return { type: 'signal.updated', data: { signal_type: ev.type, start: ev.start, probability: ev.probability, rationale: ev.rationale } };
      case 'ended':
        return { type: 'signal.ended', data: { signal_type: ev.type, end: ev.time } };
      case 'engagement':
        return { type: 'engagement.updated', data: { state: ev.state, start: ev.time } };
      case 'quality': {
        const data: Record<string, unknown> = {};
        if (ev.raw['overall'] !== undefined) data['overall'] = ev.raw['overall'];
        if (ev.raw['timeline'] !== undefined) data['timeline'] = ev.raw['timeline'];
        return { type: 'conversation_quality.updated', data };
      }
    }
  });
}

/** Replays `scenario` like a graceful session with `mediaEnd` seconds of media. */
function replay(scenario: Scenario, g: Geometry, include: readonly string[]): AnalysisEvent[] {
  const analysis = new WindowAnalysis({ scenario, windowSeconds: g.W, hopSeconds: g.h, presenceOverlapSeconds: g.p, qualityCadenceSeconds: g.cadence });
  const events: AnalysisEvent[] = [];
  for (const w of analysis.due(g.M)) events.push(...analysis.analyze(w, include));
  events.push(...analysis.finish(g.M, include).events);
  return events;
}

/** Drops whatever the loader refuses (should not happen; a safety net so the result is always valid). */
function makeValid(scenario: Scenario, notes: string[]): Scenario {
  for (let attempt = 0; attempt < 50; attempt++) {
    const result = validateScenario(scenario);
    if (result.ok) return scenario;
    const error = result.errors[0]!;
    const match = /^\/(signals|engagement|quality)\/(\d+)/.exec(error.path);
    notes.push(`the reconstructed scenario was invalid at ${error.path || '/'} (${error.message}); that part was dropped`);
    if (match) {
      const list = scenario[match[1] as 'signals' | 'engagement' | 'quality'] as unknown[];
      list.splice(Number(match[2]), 1);
    } else if (error.path.startsWith('/duration')) {
      delete scenario.duration;
    } else {
      return { name: scenario.name.length > 0 ? scenario.name : 'recording' };
    }
  }
  return { name: scenario.name.length > 0 ? scenario.name : 'recording' };
}

function positive(value: number | undefined, fallback: number, what: string, notes: string[], allowZero = false): number {
  if (value === undefined) return fallback;
  if (Number.isFinite(value) && (value > 0 || (allowZero && value === 0))) return value;
  notes.push(`${what} ${String(value)} is not usable; ${fallback} is used`);
  return fallback;
}

/** `extractScenario` with the list of what was repaired, skipped or is not reproduced exactly. */
export function extractScenarioWithNotes(events: readonly { type: string; data: unknown }[], options: ExtractOptions): ExtractResult {
  const notes: string[] = [];
  const input: readonly unknown[] = Array.isArray(events) ? events : [];
  if (!Array.isArray(events)) notes.push('the events are not a list; nothing to reconstruct');
  const clean = repair(parse(input, notes), notes);

  const W = positive(options.windowSeconds, DEFAULT_WINDOW_SECONDS, 'windowSeconds', notes);
  let h = positive(options.hopSeconds, DEFAULT_HOP_SECONDS, 'hopSeconds', notes);
  if (h > W) {
    notes.push(`hopSeconds ${h} is longer than windowSeconds ${W}; ${Math.min(DEFAULT_HOP_SECONDS, W)} is used`);
    h = Math.min(DEFAULT_HOP_SECONDS, W);
  }
  const p = positive(options.presenceOverlapSeconds, DEFAULT_PRESENCE_OVERLAP_SECONDS, 'presenceOverlapSeconds', notes, true);
  const cadence = positive(options.qualityCadenceSeconds, DEFAULT_QUALITY_CADENCE_SECONDS, 'qualityCadenceSeconds', notes);

  // Media end: given, else the last quality period's end (the close's period ends there), else the latest time.
  let lastTimelineEnd = 0;
  let latest = 0;
  for (const ev of clean) {
    if (ev.kind === 'quality') for (const entry of ev.timeline) lastTimelineEnd = Math.max(lastTimelineEnd, entry.end);
    else if (ev.kind !== 'updated') latest = Math.max(latest, ev.time);
  }
  let M: number;
  if (options.mediaEnd !== undefined && Number.isFinite(options.mediaEnd) && options.mediaEnd >= 0) {
    M = options.mediaEnd;
  } else {
    if (options.mediaEnd !== undefined) notes.push(`mediaEnd ${String(options.mediaEnd)} is not usable; inferred from the events`);
    M = Math.max(lastTimelineEnd, latest);
    if (clean.length > 0 && !(lastTimelineEnd > 0 && lastTimelineEnd >= latest)) {
      notes.push(`media end not given and no final quality period to read it from: ${fmt(M)} s assumed (pass mediaEnd for an exact reconstruction)`);
    }
  }
  // Every window is materialized: a media end from garbage (1e300 s) must not take all memory.
  const longest = MAX_WINDOWS * h + W;
  if (M > longest) {
    notes.push(`media end ${fmt(M)} s is beyond what is reconstructed (${MAX_WINDOWS} windows, ${fmt(longest)} s); ${fmt(longest)} s is used`);
    M = longest;
  }
  const wins = M > 0 ? new WindowScheduler({ windowSeconds: W, hopSeconds: h }).flush(M) : [];
  const g: Geometry = { W, h, p, cadence, M, horizon: M, wins, N: wins.length };

  const placement = place(g, clean, notes);
  const signals = placement.lifecycles.flatMap((lc) => lc.spans ?? []).sort((x, y) => x.start - y.start || (x.type < y.type ? -1 : x.type > y.type ? 1 : 0));
  const engagement: ScriptedEngagement[] = placement.engagement.map((e) => ({ start: e.x, state: e.state }));
  for (let i = 1; i < engagement.length; i++) {
    // Fallback placements may collide; the loader wants strictly increasing starts.
    if (!(engagement[i]!.start > engagement[i - 1]!.start)) engagement[i]!.start = engagement[i - 1]!.start + 1e-3;
  }
  const periods = periodsOf(g);
  let quality = qualityEntries(periods, g.horizon, placement.periodData, notes);
  if (placement.strayTimeline.length > 0) {
    notes.push(`${placement.strayTimeline.length} quality period(s) do not match ih-mock's periods for this geometry (window ${W} s, hop ${h} s, cadence ${cadence} s): their values are scripted over the recorded spans, quality events will differ`);
    quality = [...quality, ...placement.strayTimeline.filter((t) => t.start < g.horizon).map((t) => ({ start: t.start, end: Math.min(t.end, g.horizon), values: Object.fromEntries(QUALITY_DIMENSIONS.map((d) => [d, clamp(Math.round(t.values[d]), 0, 100)])) }))];
  }

  const counts = `${clean.length} analysis event${clean.length === 1 ? '' : 's'} → ${signals.length} signal span${signals.length === 1 ? '' : 's'}, ${engagement.length} engagement entr${engagement.length === 1 ? 'y' : 'ies'}, ${quality.length} quality entr${quality.length === 1 ? 'y' : 'ies'}`;
  const description = options.description ?? `Reconstructed from a recorded stream session by ih-mock (server/record/extract.ts): ${counts} over ${fmt(M)} s of media.`;
  const name = typeof options.name === 'string' && options.name.length > 0 ? options.name : 'recording';
  const maxEnd = Math.max(0, ...signals.map((s) => s.end), ...quality.map((q) => q.end), ...engagement.map((e) => e.start));
  const scenario: Scenario = {
    name,
    description,
    ...(g.horizon > 0 ? { duration: Math.max(g.horizon, maxEnd) } : {}),
    signals,
    engagement,
    quality,
  };
  const valid = makeValid(scenario, notes);

  // Self-check: the replay must give the (repaired) recording back.
  if (M > 0 || clean.length > 0) {
    const include = [
      ...(clean.some((e) => e.kind === 'quality' && e.raw['overall'] !== undefined) ? [INCLUDE_QUALITY_OVERALL] : []),
      ...(clean.some((e) => e.kind === 'quality' && e.raw['timeline'] !== undefined) ? [INCLUDE_QUALITY_TIMELINE] : []),
    ];
    const got = M > 0 ? replay(valid, g, include) : [];
    const want = expectedEvents(clean);
    const n = Math.max(got.length, want.length);
    let differences = 0;
    let first = -1;
    for (let i = 0; i < n; i++) {
      const a = want[i];
      const b = got[i];
      if (a === undefined || b === undefined || a.type !== b.type || !isDeepStrictEqual(a.data, b.data)) {
        differences++;
        if (first < 0) first = i;
      }
    }
    if (differences > 0) {
      const show = (e: { type: string; data: unknown } | undefined): string => (e === undefined ? 'nothing' : `${e.type} ${JSON.stringify(e.data)}`);
      notes.push(
        `self-check: replaying the scenario gives ${got.length} analysis events for the recording's ${want.length}, ${differences} position(s) differ; first at #${first}: recorded ${show(want[first])}, replayed ${show(got[first])}`,
      );
    }
  }
  return { scenario: valid, notes };
}
