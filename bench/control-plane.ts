/**
 * What the control plane costs (bench/README.md, "Control plane cost"): the same figures with the
 * journal recording every frame (the default, `journalSize` 10000) and with it off (`journalSize`
 * 0), in the same run. Metrics cannot be switched off: what they do per frame (a count per
 * envelope, one histogram observation per window) is in both. Ingest and lag are measured in pairs
 * on two running children, alternating which goes first, and judged on the median of the pairs
 * with their spread beside it.
 */
import type { ServerHandle } from './child-handle.js';
import type { ChildConfig } from './protocol.js';
import { fmt, spread, type Distribution, type Spread } from './stats.js';
import { lagCell, spreadCell, type Row, type Verdict } from './table.js';

export const CONTROL_TARGETS = {
  /** Ingest throughput with the control plane on ≥ this share of it off. */
  ingestShare: 0.9,
  /** Extra p99 event lag at 500 sessions, ms. */
  lagP99ExtraMs: 2,
};

/** The emulator with the control plane off: the journal records nothing. */
export const CONTROL_PLANE_OFF: Partial<ChildConfig> = { journalSize: 0 };

export interface ControlRun {
  mbPerSecond: number;
  serverMicros: number;
  messages: number;
}

export interface ControlIngestFigure {
  media: string;
  label: string;
  on: ControlRun[];
  off: ControlRun[];
  /** On / off throughput, per pair. */
  share: Spread;
  onMbPerSecond: Spread;
  offMbPerSecond: Spread;
  onMicrosPerMessage: Spread;
  offMicrosPerMessage: Spread;
}

export interface ControlSource {
  media: string;
  label: string;
  frames: readonly Buffer[];
}

/**
 * Ingest with the control plane on and off, in pairs alternating which goes first. Each pair runs on
 * fresh children (both started, each warmed up, then measured), as the ingest figure does: a child
 * that falls into V8's mark-compact-per-30-MB state stays in it, so long-lived children made one
 * such fall decide every pair (bench/README.md, "Garbage-collection state").
 */
export async function controlPlaneIngest(
  sources: readonly ControlSource[],
  deps: {
    /** Run one pair: a measured run with the control plane on and one off, in `order` (run.ts: on fresh children). */
    pair: (order: readonly ('on' | 'off')[], frames: readonly Buffer[]) => Promise<ControlRun[]>;
    repetitions: number;
    log: (msg: string) => void;
  },
): Promise<ControlIngestFigure[]> {
  const figures: ControlIngestFigure[] = [];
  for (const source of sources) {
    const on: ControlRun[] = [];
    const off: ControlRun[] = [];
    for (let rep = 0; rep < deps.repetitions; rep++) {
      const order: ('on' | 'off')[] = rep % 2 === 0 ? ['off', 'on'] : ['on', 'off'];
      const runs = await deps.pair(order, source.frames);
      for (const [i, r] of runs.entries()) {
        (order[i] === 'on' ? on : off).push(r);
        deps.log(`control plane ${order[i]} ${source.media} (pair ${rep + 1}): ${fmt(r.mbPerSecond)} MB/s, ${fmt(r.serverMicros / r.messages)} µs server CPU a message`);
      }
    }
    const perMessage = (r: ControlRun) => r.serverMicros / r.messages;
    figures.push({
      media: source.media,
      label: source.label,
      on,
      off,
      share: spread(on.map((r, i) => r.mbPerSecond / off[i]!.mbPerSecond)),
      onMbPerSecond: spread(on.map((r) => r.mbPerSecond)),
      offMbPerSecond: spread(off.map((r) => r.mbPerSecond)),
      onMicrosPerMessage: spread(on.map(perMessage)),
      offMicrosPerMessage: spread(off.map(perMessage)),
    });
  }
  return figures;
}


/**
 * A row judged against the spread of its pairs: PASS when every pair meets the target, FAIL when
 * every pair misses it, otherwise info, with a note on the target cell saying the run could not tell.
 */
function pairsVerdict(everyPairMeets: boolean, everyPairMisses: boolean): { result: Verdict; note: string } {
  if (everyPairMeets) return { result: 'PASS', note: '' };
  if (everyPairMisses) return { result: 'FAIL', note: '' };
  return { result: 'info', note: ': the pairs span the target, not shown either way' };
}

/** Judged against the spread of the pairs, like the lag row (`controlLagRow`): every pair within the target passes, every pair beyond it fails. */
export function controlIngestRows(figures: readonly ControlIngestFigure[], repetitions: number): Row[] {
  return figures.map((f) => {
    const { result, note } = pairsVerdict(f.share.min >= CONTROL_TARGETS.ingestShare, f.share.max < CONTROL_TARGETS.ingestShare);
    return {
      figure: `Control plane cost, ingest MB/s: ${f.label}; on (journal recording every frame, metrics) vs off (journalSize 0); median (min–max) of ${repetitions} pairs`,
      emulator: `${spreadCell(f.onMbPerSecond)} MB/s on (${fmt(f.onMicrosPerMessage.median)} µs CPU a message)`,
      baseline: `${spreadCell(f.offMbPerSecond)} MB/s off (${fmt(f.offMicrosPerMessage.median)} µs)`,
      target: `on/off ${spreadCell(f.share, 2)} (≥ ${fmt(CONTROL_TARGETS.ingestShare, 2)} in every pair)${note}`,
      result,
    };
  });
}

/** One real-time load on a running emulator (run.ts `realTimeLoad`): every window's lag, in ms. */
export interface LagRun {
  sessions: number;
  seconds: number;
  lag: Distribution;
  expectedSamples: number;
  emulatorErrors: number;
  firstError: string | undefined;
}

export interface ControlLagFigure {
  sessions: number;
  seconds: number;
  on: LagRun[];
  off: LagRun[];
  /** p99 on − p99 off, ms, per pair. */
  extraP99: Spread;
  onP99: Spread;
  offP99: Spread;
  onP50: Spread;
  offP50: Spread;
  /** Some run missed windows or got error envelopes: the figure measured something else. */
  bad: boolean;
}

/**
 * Event lag with the control plane on and off, on two running children: one warm-up each, then
 * pairs alternating which goes first, so both halves of a pair see the same machine. Each pair gives
 * one difference of p99s; the row judges their median against the target and their spread against
 * the noise (`controlLagRow`).
 */
export async function controlPlaneLag(deps: { on: ServerHandle; off: ServerHandle; run: (server: ServerHandle, warmUp: boolean) => Promise<LagRun>; repetitions: number; log: (msg: string) => void }): Promise<ControlLagFigure> {
  for (const server of [deps.on, deps.off]) await deps.run(server, true);
  const on: LagRun[] = [];
  const off: LagRun[] = [];
  for (let rep = 0; rep < deps.repetitions; rep++) {
    const order = rep % 2 === 0 ? [deps.off, deps.on] : [deps.on, deps.off];
    for (const server of order) {
      const r = await deps.run(server, false);
      (server === deps.on ? on : off).push(r);
      deps.log(`control plane lag ${server === deps.on ? 'on' : 'off'} ${r.sessions} sessions: ${lagCell(r.lag, 2)} (${r.lag.count}/${r.expectedSamples} windows)`);
    }
  }
  return {
    sessions: on[0]!.sessions,
    seconds: on[0]!.seconds,
    on,
    off,
    extraP99: spread(on.map((r, i) => r.lag.p99 - off[i]!.lag.p99)),
    onP99: spread(on.map((r) => r.lag.p99)),
    offP99: spread(off.map((r) => r.lag.p99)),
    onP50: spread(on.map((r) => r.lag.p50)),
    offP50: spread(off.map((r) => r.lag.p50)),
    bad: [...on, ...off].some((r) => r.emulatorErrors > 0 || r.lag.count < r.expectedSamples),
  };
}

/**
 * The lag row. The criterion is the target, +2 ms of p99, judged against the spread of the pairs:
 * the range of n pair differences holds their median with probability 1 − 2 / 2^n (94 % for 5
 * pairs, a sign test), so the row passes when every pair is within the target, fails when every
 * pair is above it (a cost beyond the spread, as the CPU rows fail only beyond the reference's),
 * and otherwise says the run could not tell (info: neither shown nor refuted; the machine was too
 * noisy for a 2-ms difference).
 */
export function controlLagRow(f: ControlLagFigure, repetitions: number): Row {
  const target = CONTROL_TARGETS.lagP99ExtraMs;
  const signed = (x: number) => `${x >= 0 ? '+' : ''}${fmt(x, 2)}`;
  const extra = `p99 ${signed(f.extraP99.median)} ms (${signed(f.extraP99.min)} to ${signed(f.extraP99.max)})`;
  const { result, note } = pairsVerdict(!f.bad && f.extraP99.max <= target, f.bad || f.extraP99.min > target);
  const cell = (p50: Spread, p99: Spread) => `p50 ${spreadCell(p50, 2)}, p99 ${spreadCell(p99, 2)} ms`;
  return {
    figure: `Control plane cost, event lag (server clock, µs resolution): ${f.sessions} real-time sessions, 3-s segment every 3 s, ${f.seconds} s; on vs off (journalSize 0); median (min–max) of ${repetitions} pairs`,
    emulator: `${cell(f.onP50, f.onP99)} on`,
    baseline: `${cell(f.offP50, f.offP99)} off`,
    target: `${extra} (≤ +${target} ms in every pair)${note}`,
    result,
  };
}
