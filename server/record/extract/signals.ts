/** Signals: one recorded lifecycle becomes one span, or touching spans where a takeover is needed (see ../extract.ts, step 2). */
import { ScenarioModel, type ObservedSignal } from '../../analysis/scenario-model.js';
import type { Window } from '../../analysis/windows.js';
import type { Probability, ScriptedSignal, ScriptedSignalChange, SignalType } from '../../types/generated.js';
import { clamp, near } from './numbers.js';
import { type Geometry, type Key, RANK, compareKeys, decimals, present, slot, windowEnd, withMidpoints } from './geometry.js';

export type EndSpec =
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
export type UpdateMode = 'change' | 'takeover';

export interface UpdateRecord {
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

export interface SpanPlan {
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
export function reproduces(g: Geometry, plan: SpanPlan, spans: ScriptedSignal[], taus: readonly number[]): boolean {
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
export function solveSpan(g: Geometry, plan: SpanPlan): ScriptedSignal[] | null {
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
export function fallbackSpan(g: Geometry, plan: SpanPlan): ScriptedSignal[] {
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

export interface Lifecycle {
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
