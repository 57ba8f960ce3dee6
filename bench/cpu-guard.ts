/**
 * The bench figure that guards (bench/README.md, "Server CPU per message"): server CPU time per
 * message and per media second, read with `process.cpuUsage()` inside the server child, the
 * emulator against bare `ws` receiving the same frames, over several paired repetitions.
 *
 * Why CPU time, lockstep and a ratio per pair: throughput on a shared 2-core machine moves ×3
 * between runs, because other work steals the CPU. CPU time only counts the child's own work, but
 * a server that falls behind reads full TCP buffers and spends far less per byte than one that
 * keeps up, so messages are sent in lockstep (run.ts: each one waits for the pong to a ping sent
 * after the previous one): both servers read every message the same way. Each repetition runs the
 * emulator and bare ws back to back, so the pair shares the machine's state and their ratio
 * cancels most of it.
 *
 * The rule (the exit code): a row fails when every repetition of this run is worse than every
 * repetition of the reference (`bench/cpu-reference.json`, written by `--update-cpu-reference` on a
 * quiet machine): this run's lowest ratio is above the reference's highest. A regression smaller
 * than the noise cannot be told from it, and is not claimed.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ServerHandle } from './child-handle.js';
import { alternatingPairs } from './pairs.js';
import { fmt, spread, type Spread } from './stats.js';
import { spreadCell, type Row } from './table.js';

export const CPU_REFERENCE_PATH = fileURLToPath(new URL('./cpu-reference.json', import.meta.url));

/** What one ingest run reports (run.ts's IngestRun). */
export interface CpuRun {
  bytes: number;
  messages: number;
  serverMicros: number;
  mediaSeconds: number;
  /** Error envelopes the clients got during the run. */
  errors: number;
}

export interface CpuPair {
  emulatorMicrosPerMessage: number;
  bareMicrosPerMessage: number;
  /** Emulator / bare CPU per message, this pair. */
  ratio: number;
  emulatorMicrosPerMediaSecond: number;
  /** Bare ws's CPU over the media seconds its bytes hold (the emulator's seconds per byte of the same source). */
  bareMicrosPerMediaSecond: number;
}

export interface CpuFigure {
  media: string;
  label: string;
  pairs: CpuPair[];
  ratio: Spread;
  emulatorMicrosPerMessage: Spread;
  bareMicrosPerMessage: Spread;
  emulatorMicrosPerMediaSecond: Spread;
  bareMicrosPerMediaSecond: Spread;
  /** The reference's ratio spread for this source, if there is one. */
  reference: Spread | null;
  /** This run's lowest ratio is above the reference's highest. */
  regression: boolean;
  /** Error envelopes the clients got: the emulator was measured rejecting media, and the rows fail. */
  errors: number;
}

export interface CpuSource {
  media: string;
  label: string;
  frames: readonly Buffer[];
}

export interface CpuGuardDeps {
  emulator: ServerHandle;
  bare: ServerHandle;
  run: (server: ServerHandle, frames: readonly Buffer[], bytes: number) => Promise<CpuRun>;
  repetitions: number;
  bytesPerRun: number;
  log: (msg: string) => void;
}

interface Reference {
  note: string;
  measuredAt: string;
  loadAverage: number[];
  sources: Record<string, { ratio: Spread }>;
}

function readReference(): Reference | null {
  try {
    return JSON.parse(readFileSync(CPU_REFERENCE_PATH, 'utf8')) as Reference;
  } catch {
    return null;
  }
}

/** Write this run's figures as the reference the next runs are judged against. */
export function writeReference(figures: readonly CpuFigure[], loadAverage: number[]): void {
  const reference: Reference = {
    note: 'Written by `npm run bench -- --only=cpu --update-cpu-reference`; the ratio is emulator / bare ws server CPU per message, per paired repetition (bench/README.md).',
    measuredAt: new Date().toISOString(),
    loadAverage,
    sources: Object.fromEntries(figures.map((f) => [f.media, { ratio: f.ratio }])),
  };
  writeFileSync(CPU_REFERENCE_PATH, `${JSON.stringify(reference, null, 2)}\n`);
}

export async function cpuGuard(sources: readonly CpuSource[], deps: CpuGuardDeps): Promise<CpuFigure[]> {
  const reference = readReference();
  const figures: CpuFigure[] = [];
  for (const source of sources) {
    const pairs: CpuPair[] = [];
    let errors = 0;
    // Every run's error envelopes count, the warm-up's too.
    const run = async (server: ServerHandle) => {
      const r = await deps.run(server, source.frames, deps.bytesPerRun);
      errors += r.errors;
      return r;
    };
    await alternatingPairs([deps.emulator, deps.bare], run, deps.repetitions, (e, b) => {
      const secondsPerByte = e.mediaSeconds / e.bytes;
      const pair: CpuPair = {
        emulatorMicrosPerMessage: e.serverMicros / e.messages,
        bareMicrosPerMessage: b.serverMicros / b.messages,
        ratio: e.serverMicros / e.messages / (b.serverMicros / b.messages),
        emulatorMicrosPerMediaSecond: e.serverMicros / e.mediaSeconds,
        bareMicrosPerMediaSecond: b.serverMicros / (b.bytes * secondsPerByte),
      };
      pairs.push(pair);
      deps.log(`cpu ${source.media}: emulator ${fmt(pair.emulatorMicrosPerMessage)} µs/message, bare ${fmt(pair.bareMicrosPerMessage)}, ratio ${fmt(pair.ratio, 2)}`);
    });
    const ratio = spread(pairs.map((p) => p.ratio));
    const ref = reference?.sources[source.media]?.ratio ?? null;
    figures.push({
      media: source.media,
      label: source.label,
      pairs,
      ratio,
      emulatorMicrosPerMessage: spread(pairs.map((p) => p.emulatorMicrosPerMessage)),
      bareMicrosPerMessage: spread(pairs.map((p) => p.bareMicrosPerMessage)),
      emulatorMicrosPerMediaSecond: spread(pairs.map((p) => p.emulatorMicrosPerMediaSecond)),
      bareMicrosPerMediaSecond: spread(pairs.map((p) => p.bareMicrosPerMediaSecond)),
      reference: ref,
      regression: ref !== null && ratio.min > ref.max,
      errors,
    });
  }
  return figures;
}

/** Report rows (run.ts's Row shape). */
export function cpuRows(figures: readonly CpuFigure[], repetitions: number): Row[] {
  return figures.flatMap((f) => {
    const judged = f.reference === null ? 'no reference (bench/cpu-reference.json)' : `ratio ${spreadCell(f.ratio, 2)}; fails above the reference's ${spreadCell(f.reference, 2)}`;
    const result = f.errors > 0 ? ('FAIL' as const) : f.reference === null ? ('info' as const) : f.regression ? ('FAIL' as const) : ('PASS' as const);
    return [
      {
        figure: `Server CPU per message (process.cpuUsage in the server child): ${f.label}; median (min–max) of ${repetitions} pairs`,
        emulator: `${spreadCell(f.emulatorMicrosPerMessage)} µs`,
        baseline: `${spreadCell(f.bareMicrosPerMessage)} µs (bare ws)`,
        target: f.errors > 0 ? `${judged} (${f.errors} error envelopes!)` : judged,
        result,
      },
      {
        figure: `Server CPU per media second: ${f.label}; median (min–max) of ${repetitions} pairs`,
        emulator: `${spreadCell(f.emulatorMicrosPerMediaSecond, 0)} µs`,
        baseline: `${spreadCell(f.bareMicrosPerMediaSecond, 0)} µs (bare ws, same bytes)`,
        target: 'info: same traffic, so the same ratio as the row above',
        result: 'info' as const,
      },
    ];
  });
}
