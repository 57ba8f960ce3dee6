/** Placement: which window reported which event (see ../extract.ts, steps 1 and 3). */
import { ScenarioModel } from '../../analysis/scenario-model.js';
import type { EngagementState, QualityScores, ScriptedEngagement, SignalType } from '../../types/generated.js';
import { EPS, clamp, fmt, near } from './numbers.js';
import type { Clean } from './events.js';
import { type Geometry, type Key, RANK, compareKeys, decimals, slot, windowEnd, withMidpoints } from './geometry.js';
import { type EndSpec, type Lifecycle, type SpanPlan, type UpdateMode, type UpdateRecord, fallbackSpan, solveSpan } from './signals.js';

interface EngagementPlacement {
  pos: number;
  state: EngagementState;
  t: number;
  x: number;
}

export interface QualityData {
  timeline?: QualityScores;
  overall?: QualityScores;
}

export interface Period {
  start: number;
  end: number;
  /** Window whose analysis closes the period, or -1 for the one closed at graceful close. */
  pos: number;
}

export function periodsOf(g: Geometry): Period[] {
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

export function inside(o: TauOption, x: number): boolean {
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

export interface Placement {
  lifecycles: Lifecycle[];
  engagement: EngagementPlacement[];
  periodData: Map<number, QualityData>;
  /** Timeline entries that match none of the replay's periods (another cadence or shed windows). */
  strayTimeline: { start: number; end: number; values: QualityScores }[];
}

export function place(g: Geometry, events: readonly Clean[], notes: string[]): Placement {
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
