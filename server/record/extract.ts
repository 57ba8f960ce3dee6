/**
 * Scenario reconstruction: the ordered server → client events of one recorded stream session
 * (envelopes `{timestamp, correlation_id, type, data}` in any key order, or just `{type, data}`) → a scenario that makes
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
 *
 * Modules: extract/events.ts (parsing and repair), extract/geometry.ts (slots and sort keys),
 * extract/placement.ts (step 1, and engagement, step 3), extract/signals.ts (step 2),
 * extract/quality.ts (step 4), extract/numbers.ts (tolerance and formatting); this one assembles
 * the scenario and checks it by replaying it.
 */
import { isDeepStrictEqual } from 'node:util';
import { validateScenario } from '../../scenarios/loader.js';
import { WindowAnalysis, type AnalysisEvent } from '../analysis/index.js';
import { INCLUDE_QUALITY_OVERALL, INCLUDE_QUALITY_TIMELINE } from '../analysis/events.js';
import { DEFAULT_QUALITY_CADENCE_SECONDS, QUALITY_DIMENSIONS } from '../analysis/quality.js';
import { DEFAULT_PRESENCE_OVERLAP_SECONDS } from '../analysis/scenario-model.js';
import { DEFAULT_HOP_SECONDS, DEFAULT_WINDOW_SECONDS, WindowScheduler } from '../analysis/windows.js';
import type { Scenario, ScriptedEngagement } from '../types/generated.js';
import { MAX_WINDOWS, clamp, fmt } from './extract/numbers.js';
import { type Clean, parse, repair } from './extract/events.js';
import type { Geometry } from './extract/geometry.js';
import { periodsOf, place } from './extract/placement.js';
import { qualityEntries } from './extract/quality.js';

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
