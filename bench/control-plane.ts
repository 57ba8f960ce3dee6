/**
 * What the control plane costs (bench/README.md, "Control plane cost"): the same figures with the
 * journal recording every frame (the default, `journalSize` 10000) and with it off (`journalSize`
 * 0), in the same run. Metrics cannot be switched off: what they do per frame (a count per
 * envelope, one histogram observation per window) is in both.
 */
import type { ServerHandle } from './child-handle.js';
import type { ChildConfig } from './protocol.js';
import { fmt } from './stats.js';
import { spread, spreadCell, type Spread } from './cpu-guard.js';

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

/** Ingest with the control plane on and off: warm-up, then pairs alternating which goes first. */
export async function controlPlaneIngest(
  sources: readonly ControlSource[],
  deps: { on: ServerHandle; off: ServerHandle; run: (server: ServerHandle, frames: readonly Buffer[]) => Promise<ControlRun>; repetitions: number; log: (msg: string) => void },
): Promise<ControlIngestFigure[]> {
  const figures: ControlIngestFigure[] = [];
  for (const source of sources) {
    for (const server of [deps.on, deps.off]) await deps.run(server, source.frames);
    const on: ControlRun[] = [];
    const off: ControlRun[] = [];
    for (let rep = 0; rep < deps.repetitions; rep++) {
      const order = rep % 2 === 0 ? [deps.off, deps.on] : [deps.on, deps.off];
      for (const server of order) {
        const r = await deps.run(server, source.frames);
        (server === deps.on ? on : off).push(r);
        deps.log(`control plane ${server === deps.on ? 'on' : 'off'} ${source.media}: ${fmt(r.mbPerSecond)} MB/s, ${fmt(r.serverMicros / r.messages)} µs server CPU a message`);
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

type Row = { figure: string; emulator: string; baseline: string; target: string; result: 'PASS' | 'FAIL' | 'info' };

export function controlIngestRows(figures: readonly ControlIngestFigure[], repetitions: number): Row[] {
  return figures.map((f) => ({
    figure: `Control plane cost, ingest MB/s: ${f.label}; on (journal recording every frame, metrics) vs off (journalSize 0); median (min–max) of ${repetitions} pairs`,
    emulator: `${spreadCell(f.onMbPerSecond)} MB/s on (${fmt(f.onMicrosPerMessage.median)} µs CPU a message)`,
    baseline: `${spreadCell(f.offMbPerSecond)} MB/s off (${fmt(f.offMicrosPerMessage.median)} µs)`,
    target: `on/off ${spreadCell(f.share, 2)} (≥ ${fmt(CONTROL_TARGETS.ingestShare, 2)})`,
    result: f.share.median >= CONTROL_TARGETS.ingestShare ? 'PASS' : 'FAIL',
  }));
}

export interface LagLike {
  sessions: number;
  seconds: number;
  lag: { p50: number; p99: number; max: number; count: number };
  expectedSamples: number;
  emulatorErrors: number;
}

export function controlLagRow(on: LagLike, off: LagLike): Row {
  const cell = (f: LagLike) => `${fmt(f.lag.p50)} / ${fmt(f.lag.p99)} / ${fmt(f.lag.max)} ms`;
  const extra = on.lag.p99 - off.lag.p99;
  const bad = [on, off].some((f) => f.emulatorErrors > 0 || f.lag.count < f.expectedSamples);
  return {
    figure: `Control plane cost, event lag p50 / p99 / max: ${on.sessions} real-time sessions, 3-s segment every 3 s, ${on.seconds} s; on vs off (journalSize 0)`,
    emulator: `${cell(on)} on`,
    baseline: `${cell(off)} off`,
    target: `p99 ${extra >= 0 ? '+' : ''}${fmt(extra)} ms (≤ +${CONTROL_TARGETS.lagP99ExtraMs} ms)`,
    result: !bad && extra <= CONTROL_TARGETS.lagP99ExtraMs ? 'PASS' : 'FAIL',
  };
}
