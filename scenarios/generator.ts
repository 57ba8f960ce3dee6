/**
 * Seeded generator of plausible scenarios, built on fast-check arbitraries: for property tests of
 * clients, for the conformance kit and for writing a scenario file to start from.
 *
 * Invariants:
 * - Valid by construction: every generated scenario passes `validateScenario` (schema and semantic
 *   rules of scenarios/loader.ts) without filtering. Every generated scenario has `duration` and
 *   its defaults filled in (`description`, `loop: false`, every list), so it equals what the loader
 *   returns for it.
 * - Deterministic per seed: `generateScenario(seed, options)` always returns the same scenario.
 * - Shrinks via map: each part is drawn as plain integers, independent of the duration (positions
 *   are per mille of it), and `.map`ped into scenario form by a pure layout function. fast-check
 *   shrinks the integers; no `.filter` (shrinks poorly, can starve) and no `.chain`.
 * - Plausible: whole seconds, spans of 3 to 40 s that may overlap across types, probabilities and
 *   rationales that move, rationales from a small per-type pool, engagement that changes a few
 *   times, optional scripted quality, load and faults.
 */
import fc from 'fast-check';
import { QUALITY_DIMENSIONS } from '../server/analysis/quality.js';
import { SIGNAL_TYPES } from '../server/analysis/scenario-model.js';
import { yaml } from '../server/yaml.js';
import type {
  EngagementState,
  ErrorCode,
  Fault,
  FaultTrigger,
  LoadSpan,
  Probability,
  QualityDimensions,
  Scenario,
  ScriptedEngagement,
  ScriptedQuality,
  ScriptedSignal,
  ScriptedSignalChange,
  SignalType,
} from '../server/types/generated.js';

export interface GeneratorOptions {
  /** Shortest duration in whole seconds (default 30). */
  minDuration?: number;
  /** Longest duration in whole seconds (default 300). */
  maxDuration?: number;
  /** Most signal spans (default 12); spans pushed past the duration are left out, so there may be fewer. */
  maxSignals?: number;
  /** Include a fault schedule (default false). */
  faults?: boolean;
  /** With `faults`: the schedule may end with one fault that ends the session (default false). */
  terminalFaults?: boolean;
  /** Include load spans (default false). */
  load?: boolean;
  /** Include scripted quality periods (default true; the list may still come out empty). */
  quality?: boolean;
  /**
   * Three times in four, one signal type that flaps: it ends and is detected again 10 to 12 s later,
   * and its second span changes probability 4 s in, so signal.updated carries the new start
   * (default false; needs at least 18 s, shorter scenarios get none).
   */
  flapping?: boolean;
}

export interface FaultScheduleOptions {
  /**
   * Allow one fault that ends the session (close, disconnect, quota_exhausted, missing_scope, error
   * with close: true), listed last (default false).
   */
  terminal?: boolean;
}

const DEFAULTS: Required<GeneratorOptions> = {
  minDuration: 30,
  maxDuration: 300,
  maxSignals: 12,
  faults: false,
  terminalFaults: false,
  load: false,
  quality: true,
  flapping: false,
};

// Shrink targets are the first entries: low probability, engaged.
const PROBABILITIES: readonly Probability[] = ['low', 'medium', 'high'];
const ENGAGEMENT_STATES: readonly EngagementState[] = ['engaged', 'neutral', 'disengaged'];

/** What a participant's behaviour looks like for each signal type; three sentences each. */
export const RATIONALE_POOL: Readonly<Record<SignalType, readonly string[]>> = {
  agreement: [
    'Nods slowly and answers with a short “yes, that matches what we see”.',
    'Smiles and repeats the key point back in their own words.',
    'Leans in and adds an example that supports what was just said.',
  ],
  confidence: [
    'Answers without pausing, voice steady and shoulders relaxed.',
    'Holds eye contact and quotes the figures from memory.',
    'Speaks in complete sentences and takes the lead on next steps.',
  ],
  confusion: [
    'Squints at the screen and asks which of the two options was meant.',
    'Stops mid-sentence, frowns and asks to go over the last step again.',
    'Looks back and forth between their notes and the camera, visibly lost.',
  ],
  disagreement: [
    'Shakes their head and replies “I don’t think that works for us”.',
    'Crosses their arms and raises an objection before the point is finished.',
    'Interrupts to correct a figure, in a firm tone.',
  ],
  disengagement: [
    'Glances at another screen and answers in single words.',
    'Slumps back, drifts out of frame and replies late.',
    'Stops taking notes and lets long silences pass.',
  ],
  engagement: [
    'Takes notes and responds right away to each question.',
    'Leans toward the camera and builds on the other person’s ideas.',
    'Asks a follow-up question before the previous answer is finished.',
  ],
  frustration: [
    'Exhales sharply and rubs their forehead when the issue comes up again.',
    'Voice rises slightly: “we have been through this before”.',
    'Taps the desk and cuts the explanation short.',
  ],
  hesitation: [
    'Says “um, well” and looks away before answering.',
    'Starts an answer, stops, and begins again more cautiously.',
    'Pauses for a long time before agreeing to a date, hand on chin.',
  ],
  interest: [
    'Eyes widen and they ask how other teams use the feature.',
    'Writes something down and asks for a link to the demo.',
    'Moves closer to the screen when the results are shown.',
  ],
  skepticism: [
    'Raises an eyebrow and asks where that number comes from.',
    'Half-smiles and says it sounds too good to be true.',
    'Asks for a reference customer before going any further.',
  ],
  stress: [
    'Speaks quickly and keeps touching their collar.',
    'Breathing is shallow and answers come in short bursts.',
    'Checks the time twice and brings up the deadline.',
  ],
  uncertainty: [
    'Answers “probably, but I would need to check”.',
    'Shrugs and gives two different answers to the same question.',
    'Voice trails off at the end of each statement.',
  ],
};

// ---- helpers -------------------------------------------------------------------------------------

/** `list[i]`, wrapping around (indices come from small integer arbitraries). */
function pick<T>(list: readonly T[], i: number): T {
  return list[i % list.length]!;
}

/** The whole second at `permille`/1000 of `duration`: always in [0, duration). */
function position(permille: number, duration: number): number {
  return Math.floor((permille * duration) / 1000);
}

/** A span of `length` seconds at `permille` of the room left for it, so it fits whole when it can. */
function place(permille: number, length: number, duration: number): { start: number; end: number } {
  const start = position(permille, Math.max(1, duration - length + 1));
  return { start, end: Math.min(start + length, duration) };
}

const permille = fc.integer({ min: 0, max: 999 });
/** 0 or 1: moves a value one or two steps along its list, so it always differs from the last one. */
const step = fc.integer({ min: 0, max: 1 });

function checkDuration(duration: number): void {
  if (!Number.isFinite(duration) || duration <= 0) throw new RangeError(`duration must be a positive number of seconds, got ${duration}`);
}

/** Fields of `T` that may be null become optional keys without null. */
type Compact<T> = { [K in keyof T as null extends T[K] ? never : K]: T[K] } & { [K in keyof T as null extends T[K] ? K : never]?: Exclude<T[K], null> };

/** `fields` without its null entries: how an absent `fc.option` becomes an omitted key. */
function compact<T extends object>(fields: T): Compact<T> {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== null)) as Compact<T>;
}

// ---- signals -------------------------------------------------------------------------------------

interface RawSignal {
  type: SignalType;
  start: number; // per mille of the duration
  length: number;
  probability: number;
  rationale: number;
  changes: { gap: number; sets: 'probability' | 'rationale' | 'both'; step: number }[];
}

function rawSignals(maxSignals: number): fc.Arbitrary<RawSignal[]> {
  const change = fc.record({ gap: fc.integer({ min: 2, max: 15 }), sets: fc.constantFrom('probability' as const, 'rationale' as const, 'both' as const), step });
  const signal = fc.record({
    type: fc.constantFrom(...SIGNAL_TYPES),
    start: permille,
    length: fc.integer({ min: 3, max: 40 }),
    probability: fc.integer({ min: 0, max: PROBABILITIES.length - 1 }),
    rationale: fc.integer({ min: 0, max: 2 }), // every pool has three sentences
    changes: fc.array(change, { maxLength: 3 }),
  });
  return fc.array(signal, { maxLength: maxSignals });
}

/**
 * Places spans in start order; a span that would overlap the previous one of its type starts where
 * that one ends (spans are half-open), and one pushed to or past the duration is left out.
 */
function layoutSignals(raw: readonly RawSignal[], duration: number): ScriptedSignal[] {
  const freeFrom = new Map<SignalType, number>();
  const spans: ScriptedSignal[] = [];
  const ordered = raw.map((r) => ({ r, start: place(r.start, r.length, duration).start })).sort((a, b) => a.start - b.start);
  for (const { r, start: wanted } of ordered) {
    const start = Math.max(wanted, freeFrom.get(r.type) ?? 0);
    if (start >= duration) continue;
    const end = Math.min(start + r.length, duration);
    freeFrom.set(r.type, end);
    spans.push(signalSpan(r, start, end));
  }
  return spans.sort((a, b) => a.start - b.start || (a.type < b.type ? -1 : a.type > b.type ? 1 : 0));
}

function signalSpan(r: RawSignal, start: number, end: number): ScriptedSignal {
  const pool = RATIONALE_POOL[r.type];
  let probability = r.probability;
  let rationale = r.rationale;
  const changes: ScriptedSignalChange[] = [];
  let at = start;
  for (const c of r.changes) {
    at += c.gap;
    if (at >= end) break;
    const change: ScriptedSignalChange = { at };
    if (c.sets !== 'rationale') {
      probability = (probability + 1 + c.step) % PROBABILITIES.length;
      change.probability = pick(PROBABILITIES, probability);
    }
    if (c.sets !== 'probability') {
      rationale = (rationale + 1 + c.step) % pool.length;
      change.rationale = pick(pool, rationale);
    }
    changes.push(change);
  }
  const span: ScriptedSignal = { type: r.type, start, end, probability: pick(PROBABILITIES, r.probability), rationale: pick(pool, r.rationale) };
  return changes.length > 0 ? { ...span, changes } : span;
}

// ---- a flapping signal ---------------------------------------------------------------------------

interface RawFlap {
  type: SignalType;
  start: number; // per mille of the room left
  first: number; // length of the first span
  gap: number; // seconds between the spans
  second: number; // length of the second span
  probability: number;
  rationale: number;
}

/**
 * Why these numbers (windows of 8 s every 3 s, present when they overlap a span by 1 s; see
 * flapping-signals.yaml): a gap over 9 s always leaves a window that sees neither span, so the type
 * ends and is detected again; the first window to see the second span ends less than 4 s into it,
 * so a change 4 s in comes after that detection, and a span of 5 s or more is still seen by the next
 * window, which reports the change as signal.updated.
 */
const FLAP = { first: { min: 3, max: 5 }, gap: { min: 10, max: 12 }, second: { min: 5, max: 7 }, changeAfter: 4 } as const;

const rawFlap: fc.Arbitrary<RawFlap> = fc.record({
  type: fc.constantFrom(...SIGNAL_TYPES),
  start: permille,
  first: fc.integer(FLAP.first),
  gap: fc.integer(FLAP.gap),
  second: fc.integer(FLAP.second),
  probability: fc.integer({ min: 0, max: PROBABILITIES.length - 1 }),
  rationale: fc.integer({ min: 0, max: 2 }),
});

/** The two spans of a flapping type, shortened to fit `duration` (none if even the shortest do not fit). */
function layoutFlap(raw: RawFlap, duration: number): ScriptedSignal[] {
  const lengths = [raw.second, raw.gap, raw.first];
  const minimums = [FLAP.second.min, FLAP.gap.min, FLAP.first.min];
  let excess = lengths.reduce((a, b) => a + b, 0) - Math.floor(duration);
  for (let i = 0; i < lengths.length && excess > 0; i++) {
    const cut = Math.min(excess, lengths[i]! - minimums[i]!);
    lengths[i]! -= cut;
    excess -= cut;
  }
  if (excess > 0) return [];
  const [second, gap, first] = lengths as [number, number, number];
  const start = position(raw.start, Math.floor(duration) - (first + gap + second) + 1);
  const pool = RATIONALE_POOL[raw.type];
  const span = (from: number, length: number, p: number): ScriptedSignal => ({ type: raw.type, start: from, end: from + length, probability: pick(PROBABILITIES, p), rationale: pick(pool, raw.rationale) });
  const secondStart = start + first + gap;
  return [
    span(start, first, raw.probability),
    { ...span(secondStart, second, raw.probability + 1), changes: [{ at: secondStart + FLAP.changeAfter, probability: pick(PROBABILITIES, raw.probability + 2) }] },
  ];
}

/** `signals` with the flapping type's spans in place of any others of that type. */
function withFlap(signals: ScriptedSignal[], flap: ScriptedSignal[]): ScriptedSignal[] {
  if (flap.length === 0) return signals;
  return [...signals.filter((s) => s.type !== flap[0]!.type), ...flap].sort((a, b) => a.start - b.start || (a.type < b.type ? -1 : a.type > b.type ? 1 : 0));
}

/** Signal spans within [0, duration): valid (no overlap within a type, changes inside their span). */
export function signalSpansArbitrary(duration: number, maxSignals = DEFAULTS.maxSignals): fc.Arbitrary<ScriptedSignal[]> {
  checkDuration(duration);
  return rawSignals(maxSignals).map((raw) => layoutSignals(raw, duration));
}

// ---- engagement ----------------------------------------------------------------------------------

interface RawEngagement {
  start: number;
  state: number;
  changes: { gap: number; step: number }[];
}

// Mostly present: a participant is usually seen from the first seconds on.
const rawEngagement: fc.Arbitrary<RawEngagement | null> = fc.option(
  fc.record({
    start: fc.integer({ min: 0, max: 10 }),
    state: fc.integer({ min: 0, max: ENGAGEMENT_STATES.length - 1 }),
    changes: fc.array(fc.record({ gap: fc.integer({ min: 5, max: 90 }), step }), { maxLength: 4 }),
  }),
);

/** Each entry changes the state (an entry repeating it would be no change at all). */
function layoutEngagement(raw: RawEngagement | null, duration: number): ScriptedEngagement[] {
  if (raw === null) return [];
  const entries: ScriptedEngagement[] = [];
  let start = raw.start;
  let state = raw.state;
  for (const change of [null, ...raw.changes]) {
    if (change !== null) {
      start += change.gap;
      state = (state + 1 + change.step) % ENGAGEMENT_STATES.length;
    }
    if (start >= duration) break;
    entries.push({ start, state: pick(ENGAGEMENT_STATES, state) });
  }
  return entries;
}

/** Engagement entries with strictly increasing starts below `duration`, each a change of state. */
export function engagementArbitrary(duration: number): fc.Arbitrary<ScriptedEngagement[]> {
  checkDuration(duration);
  return rawEngagement.map((raw) => layoutEngagement(raw, duration));
}

// ---- quality -------------------------------------------------------------------------------------

interface RawQuality {
  start: number;
  length: number;
  values: QualityDimensions;
}

const score = fc.integer({ min: 0, max: 100 });
const rawQuality: fc.Arbitrary<RawQuality[]> = fc.array(
  fc.record({
    start: permille,
    length: fc.integer({ min: 5, max: 60 }),
    values: fc.record({ clarity: score, authority: score, energy: score, rapport: score, learning: score }, { requiredKeys: [] }),
  }),
  { maxLength: 3 },
);

/** A period that scripts no dimension would change nothing: it is left out. */
function layoutQuality(raw: readonly RawQuality[], duration: number): ScriptedQuality[] {
  return raw.flatMap((r) => {
    const values: QualityDimensions = {};
    for (const dim of QUALITY_DIMENSIONS) if (r.values[dim] !== undefined) values[dim] = r.values[dim];
    return Object.keys(values).length === 0 ? [] : [{ ...place(r.start, r.length, duration), values }];
  });
}

/** Scripted quality periods inside [0, duration], integer scores 0–100 (periods may overlap: the last listed wins). */
export function qualityArbitrary(duration: number): fc.Arbitrary<ScriptedQuality[]> {
  checkDuration(duration);
  return rawQuality.map((raw) => layoutQuality(raw, duration));
}

// ---- load ----------------------------------------------------------------------------------------

interface RawLoad {
  start: number;
  length: number;
  effect: 'slowdown' | 'shed' | 'both';
  slowdownTenths: number;
  shed: 'redundant' | 'all';
}

const rawLoad: fc.Arbitrary<RawLoad[]> = fc.array(
  fc.record({
    start: permille,
    length: fc.integer({ min: 5, max: 30 }),
    effect: fc.constantFrom('slowdown' as const, 'shed' as const, 'both' as const),
    slowdownTenths: fc.integer({ min: 15, max: 60 }),
    shed: fc.constantFrom('redundant' as const, 'all' as const),
  }),
  { maxLength: 2 },
);

function layoutLoad(raw: readonly RawLoad[], duration: number): LoadSpan[] {
  return raw.map((r) => {
    const span: LoadSpan = place(r.start, r.length, duration);
    if (r.effect !== 'shed') span.slowdown = r.slowdownTenths / 10;
    if (r.effect !== 'slowdown') span.shed = r.shed;
    return span;
  }).sort((a, b) => a.start - b.start);
}

/** Load spans inside [0, duration], each with a slowdown (1.5–6) and/or a shed mode. */
export function loadArbitrary(duration: number): fc.Arbitrary<LoadSpan[]> {
  checkDuration(duration);
  return rawLoad.map((raw) => layoutLoad(raw, duration));
}

// ---- faults --------------------------------------------------------------------------------------

type RawTrigger =
  | { kind: 'open' }
  | { kind: 'media' | 'wall'; at: number }
  | { kind: 'segment'; segment: number }
  | { kind: 'every'; percent: number };

// Shrinks toward firing at open, the simplest trigger.
const rawTrigger: fc.Arbitrary<RawTrigger> = fc.oneof(
  fc.constant({ kind: 'open' as const }),
  fc.record({ kind: fc.constantFrom('media' as const, 'wall' as const), at: permille }),
  fc.record({ kind: fc.constant('segment' as const), segment: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ kind: fc.constant('every' as const), percent: fc.integer({ min: 5, max: 25 }) }),
);

/** Wall-clock seconds are laid out like media seconds: a live stream runs at about real time. */
function trigger(raw: RawTrigger, duration: number): { when?: FaultTrigger; probability?: number } {
  switch (raw.kind) {
    case 'open':
      return {};
    case 'media':
      return { when: { media_seconds: position(raw.at, duration) } };
    case 'wall':
      return { when: { wall_seconds: position(raw.at, duration) } };
    case 'segment':
      return { when: { segment: raw.segment } };
    case 'every':
      // A random fault: on every segment, with a small chance each time.
      return { when: { every_segment: true }, probability: raw.percent / 100 };
  }
}

/** A fault without its trigger: the action and the parameters it requires (and some it takes). */
type FaultBody = Omit<Fault, 'when' | 'probability'>;

// Error codes the WebSocket sends without closing (server/errors.ts: ws 'error').
const NON_CLOSING_CODES: readonly ErrorCode[] = ['ih5001', 'ih5004', 'ih5006', 'ih6001', 'ih6002'];
const CLOSING_CODES: readonly ErrorCode[] = ['ih1001', 'ih6003', 'ih6004'];
const UNKNOWN_EVENT_TYPES = ['feedback.generated', 'transcript.partial', 'speaker.changed'] as const;
const UNKNOWN_EVENT_TEXTS = ['Try to slow down a little.', 'Great question!'] as const;
const CLOSE_REASONS = ['server restarting', 'maintenance window', 'load balancer drained'] as const;

const nonTerminalFault: fc.Arbitrary<FaultBody> = fc.oneof(
  fc
    .record({ halfSeconds: fc.integer({ min: 1, max: 20 }), windows: fc.option(fc.integer({ min: 1, max: 5 })) })
    .map(({ halfSeconds, windows }) => compact({ action: 'delay' as const, seconds: halfSeconds / 2, windows })),
  fc.option(fc.integer({ min: 1, max: 4 })).map((windows) => compact({ action: 'drop_windows' as const, windows })),
  fc
    .record({ bytes: fc.integer({ min: 256, max: 65_536 }), seconds: fc.option(fc.integer({ min: 2, max: 30 })) })
    .map(({ bytes, seconds }) => compact({ action: 'throttle' as const, bytes_per_second: bytes, seconds })),
  fc
    .record({ type: fc.option(fc.constantFrom(...UNKNOWN_EVENT_TYPES)), text: fc.option(fc.constantFrom(...UNKNOWN_EVENT_TEXTS)) })
    .map(({ type, text }) => compact({ action: 'unknown_event' as const, event_type: type, data: text === null ? null : { text } })),
  fc.constantFrom(...NON_CLOSING_CODES).map((code) => ({ action: 'error' as const, code })),
);

const closeReason = fc.option(fc.constantFrom(...CLOSE_REASONS));
const terminalFault: fc.Arbitrary<FaultBody> = fc.oneof(
  fc.constant({ action: 'disconnect' as const }),
  fc.record({ close_code: fc.option(fc.constantFrom(1000, 1001, 1011, 4000)), reason: closeReason }).map((r) => compact({ action: 'close' as const, ...r })),
  fc
    .record({ code: fc.constantFrom(...CLOSING_CODES), close_code: fc.option(fc.constantFrom(1011, 4000)), reason: closeReason })
    .map(({ code, ...r }) => compact({ action: 'error' as const, code, close: true, ...r })),
  fc.constant({ action: 'quota_exhausted' as const }),
  fc.constant({ action: 'missing_scope' as const }),
);

interface RawFault {
  trigger: RawTrigger;
  body: FaultBody;
}

function rawFaults(terminal: boolean): fc.Arbitrary<RawFault[]> {
  const fault = (body: fc.Arbitrary<FaultBody>) => fc.record({ trigger: rawTrigger, body });
  const schedule = fc.array(fault(nonTerminalFault), { minLength: 1, maxLength: 3 });
  if (!terminal) return schedule;
  // Half the schedules end the session, so sessions that run to the end stay common.
  return fc
    .tuple(schedule, fc.option(fault(terminalFault), { freq: 2 }))
    .map(([faults, last]) => (last === null ? faults : [...faults, last]));
}

function layoutFaults(raw: readonly RawFault[], duration: number): Fault[] {
  return raw.map(({ trigger: t, body }) => {
    // missing_scope happens at the upgrade, instead of session.ready: it takes no trigger.
    const { when, probability } = body.action === 'missing_scope' ? {} : trigger(t, duration);
    const fault: Fault = { action: body.action };
    if (when !== undefined) fault.when = when;
    if (probability !== undefined) fault.probability = probability;
    return { ...fault, ...body };
  });
}

/**
 * One to three faults that leave the session running (delay, drop_windows, throttle, unknown_event,
 * error without close); with `terminal`, sometimes one more, listed last, that ends it.
 */
export function faultScheduleArbitrary(duration: number, options: FaultScheduleOptions = {}): fc.Arbitrary<Fault[]> {
  checkDuration(duration);
  return rawFaults(options.terminal ?? false).map((raw) => layoutFaults(raw, duration));
}

/** Error codes a generated upload fault answers with: the failures upload clients meet. */
const UPLOAD_FAULT_CODES = ['ih3001', 'ih3002', 'ih3003', 'ih4003', 'ih1001'] as const;

const uploadFaultBody: fc.Arbitrary<Omit<Fault, 'when'>> = fc.oneof(
  fc.record({ code: fc.constantFrom(...UPLOAD_FAULT_CODES), retry: fc.constantFrom<(number | null)[]>(null, 1, 2) }).map(({ code, retry }): Omit<Fault, 'when'> => ({
    action: 'error',
    code,
    ...(retry !== null && (code === 'ih3001' || code === 'ih3002') ? { retry_after_seconds: retry } : {}),
  })),
  fc.integer({ min: 1, max: 4 }).map((seconds): Omit<Fault, 'when'> => ({ action: 'delay', seconds })),
  fc.constant<Omit<Fault, 'when'>>({ action: 'disconnect' }),
);

/**
 * What the first two uploads meet: for each, nothing or one fault (a scripted error of the kinds
 * clients meet, a delayed answer, a cut connection). Shrinks towards no fault.
 */
export function uploadFaultScheduleArbitrary(): fc.Arbitrary<Fault[]> {
  return fc.tuple(fc.option(uploadFaultBody, { nil: null }), fc.option(uploadFaultBody, { nil: null })).map((perUpload) =>
    perUpload.flatMap((body, i) => (body === null ? [] : [{ when: { upload: i + 1 }, ...body } as Fault])),
  );
}

// ---- whole scenarios -----------------------------------------------------------------------------

function resolveOptions(options: GeneratorOptions): Required<GeneratorOptions> {
  const o: Required<GeneratorOptions> = {
    minDuration: options.minDuration ?? DEFAULTS.minDuration,
    maxDuration: options.maxDuration ?? DEFAULTS.maxDuration,
    maxSignals: options.maxSignals ?? DEFAULTS.maxSignals,
    faults: options.faults ?? DEFAULTS.faults,
    terminalFaults: options.terminalFaults ?? DEFAULTS.terminalFaults,
    load: options.load ?? DEFAULTS.load,
    quality: options.quality ?? DEFAULTS.quality,
    flapping: options.flapping ?? DEFAULTS.flapping,
  };
  if (!Number.isInteger(o.minDuration) || o.minDuration < 1 || !Number.isInteger(o.maxDuration) || o.maxDuration < o.minDuration) {
    throw new RangeError(`minDuration and maxDuration must be whole seconds with 1 ≤ minDuration ≤ maxDuration, got ${o.minDuration} and ${o.maxDuration}`);
  }
  if (!Number.isInteger(o.maxSignals) || o.maxSignals < 0) throw new RangeError(`maxSignals must be a whole number ≥ 0, got ${o.maxSignals}`);
  return o;
}

/** A generated scenario: every field present. */
type Body = Required<Pick<Scenario, 'duration' | 'loop' | 'signals' | 'engagement' | 'quality' | 'load' | 'faults'>>;

function count(n: number, singular: string, plural = `${singular}s`): string {
  return `${n === 0 ? 'no' : n} ${n === 1 ? singular : plural}`;
}

/** The description: where the scenario came from (`origin`) and what is in it. */
function summarize(body: Body, origin: string): string {
  const types = [...new Set(body.signals.map((s) => s.type))].sort();
  const parts = [
    count(body.signals.length, 'signal span') + (types.length > 0 ? ` (${types.join(', ')})` : ''),
    count(body.engagement.length, 'engagement entry', 'engagement entries'),
    count(body.quality.length, 'scripted quality period'),
  ];
  if (body.load.length > 0) parts.push(count(body.load.length, 'load span'));
  if (body.faults.length > 0) parts.push(count(body.faults.length, 'fault'));
  return `Generated by ih-mock's scenario generator (scenarios/generator.ts)${origin}: ${body.duration} s of conversation with ${parts.join(', ')}.`;
}

/** The description of a generated scenario's content, e.g. after changing a generated one (`origin` as in summarize). */
export function summarizeScenario(scenario: Scenario, origin = ''): string {
  const body: Body = {
    duration: scenario.duration ?? 0,
    loop: scenario.loop ?? false,
    signals: scenario.signals ?? [],
    engagement: scenario.engagement ?? [],
    quality: scenario.quality ?? [],
    load: scenario.load ?? [],
    faults: scenario.faults ?? [],
  };
  return summarize(body, origin);
}

/** FNV-1a, 32 bits, as 8 hex digits: a short stable name for a scenario drawn without a seed. */
function fingerprint(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return (hash >>> 0).toString(16).padStart(8, '0');
}

function bodyArbitrary(o: Required<GeneratorOptions>): fc.Arbitrary<Body> {
  const parts = {
    duration: fc.integer({ min: o.minDuration, max: o.maxDuration }),
    signals: rawSignals(o.maxSignals),
    engagement: rawEngagement,
    quality: o.quality ? rawQuality : fc.constant<RawQuality[]>([]),
    load: o.load ? rawLoad : fc.constant<RawLoad[]>([]),
    faults: o.faults ? rawFaults(o.terminalFaults) : fc.constant<RawFault[]>([]),
  };
  // Last, and a constant (no draw) without the option: every seed draws what it always drew.
  const flap: fc.Arbitrary<RawFlap | null> = o.flapping ? fc.option(rawFlap, { freq: 4 }) : fc.constant(null);
  return fc
    .record({ ...parts, flap })
    .map(({ duration, flap: rawFlapDrawn, ...raw }) => ({
      duration,
      loop: false,
      signals: withFlap(layoutSignals(raw.signals, duration), rawFlapDrawn === null ? [] : layoutFlap(rawFlapDrawn, duration)),
      engagement: layoutEngagement(raw.engagement, duration),
      quality: layoutQuality(raw.quality, duration),
      load: layoutLoad(raw.load, duration),
      faults: layoutFaults(raw.faults, duration),
    }));
}

/**
 * Plausible conversations of `minDuration`..`maxDuration` whole seconds, valid by construction and
 * named `generated-<fingerprint of the content>`. `generateScenario` draws one from a seed.
 */
export function scenarioArbitrary(options: GeneratorOptions = {}): fc.Arbitrary<Scenario> {
  return bodyArbitrary(resolveOptions(options)).map(
    (body): Scenario => ({ name: `generated-${fingerprint(JSON.stringify(body))}`, description: summarize(body, ''), ...body }),
  );
}

/**
 * The scenario for `seed` (an unsigned 32-bit integer): the same seed and options always give the
 * same scenario, named `generated-<seed>`; its description says how to get it again.
 */
export function generateScenario(seed: number, options: GeneratorOptions = {}): Scenario {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffff_ffff) throw new RangeError(`seed must be an integer from 0 to 2^32 - 1, got ${seed}`);
  // noBias: fast-check skews its first runs toward small values; a seeded scenario should be a typical one.
  // randomType and examples are explicit so an fc.configureGlobal elsewhere cannot change what a seed gives.
  const arbitrary = fc.noBias(bodyArbitrary(resolveOptions(options)));
  const body = fc.sample(arbitrary, { seed: seed | 0, numRuns: 1, randomType: 'xorshift128plus', examples: [] })[0]!;
  const call = Object.keys(options).length === 0 ? `generateScenario(${seed})` : `generateScenario(${seed}, ${JSON.stringify(options)})`;
  return { name: `generated-${seed}`, description: summarize(body, ` from seed ${seed}, ${call}`), ...body };
}

// ---- YAML ----------------------------------------------------------------------------------------

const YAML_HEADER = [
  " Generated by ih-mock's scenario generator (scenarios/generator.ts); the description says how.",
  ' Times are session media seconds. Check an edited copy with loadScenario(path).',
].join('\n');

/** Lists whose entries fit on one line, and fields written as one-line maps. */
const FLOW_ITEMS = ['engagement', 'load'];
const FLOW_FIELDS: Readonly<Record<string, readonly string[]>> = { quality: ['values'], faults: ['when', 'data'] };

/** Defaults the loader fills in; left out of the file. */
function isLoaderDefault(key: string, value: unknown): boolean {
  return (key === 'description' && value === '') || (key === 'loop' && value === false) || (Array.isArray(value) && value.length === 0);
}

/**
 * The scenario as a readable YAML file with a comment header. `parseScenario` reads it back equal to
 * `scenarioFromObject(scenario)` (for a generated scenario: equal to `scenario` itself).
 */
export function scenarioToYaml(scenario: Scenario): string {
  const { Document, Scalar, isMap, isScalar, isSeq } = yaml();
  const doc = new Document(Object.fromEntries(Object.entries(scenario).filter(([key, value]) => value !== undefined && !isLoaderDefault(key, value))));
  doc.commentBefore = YAML_HEADER;
  const description = doc.get('description', true);
  if (isScalar(description)) description.type = Scalar.BLOCK_FOLDED;
  const root = doc.contents;
  if (isMap(root)) {
    for (const pair of root.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : '';
      if (!isSeq(pair.value)) continue;
      if (isScalar(pair.key)) pair.key.spaceBefore = true;
      for (const item of pair.value.items) {
        if (!isMap(item)) continue;
        if (FLOW_ITEMS.includes(key)) item.flow = true;
        for (const field of FLOW_FIELDS[key] ?? []) {
          const node = item.get(field, true);
          if (isMap(node)) node.flow = true;
        }
      }
    }
  }
  return doc.toString({ lineWidth: 100 });
}
