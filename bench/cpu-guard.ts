/**
 * The bench figure that guards (bench/README.md, "Server CPU per message"): server CPU time per
 * message and per media second, read with `process.cpuUsage()` inside the server child, the
 * emulator against bare `ws` receiving the same frames, over several paired repetitions.
 *
 * Why CPU time, lockstep and both servers at once: throughput on a shared 2-core machine moves ×3
 * between runs, because other work steals the CPU. CPU time only counts the child's own work, but
 * a server that falls behind reads full TCP buffers and spends far less per byte than one that
 * keeps up, so messages are sent in lockstep (each one waits for the pongs to pings sent after the
 * previous one). One client drives both servers at once, the same frame to each (run.ts
 * `lockstepTogetherRun`), so both are measured over the same moments of a machine whose speed
 * drifts within seconds; run after run, as pairs back to back, the same build's ratio moved from 0.5
 * to 2.4. What still moves a run is the emulator's garbage-collection state (`GcState`): a run
 * without a mark-compact costs it about half as much as one with them, and a child may sit in either
 * for a whole run of the bench. So runs are compared only with the reference's runs in the same
 * state.
 *
 * The rule (the exit code): a row fails when, in a state with at least 5 runs both here and in the
 * reference (`bench/cpu-reference.json`, written by `--update-cpu-reference` on a quiet machine),
 * the median ratio's confidence interval of this run (stats.ts `medianInterval`) lies wholly above
 * the reference's. A regression smaller than the noise cannot be told from it, and is not claimed;
 * with no state to compare the row says so and is `info`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ServerHandle } from './child-handle.js';
import { togetherPairs } from './pairs.js';
import { fmt, medianInterval, spread, type MedianInterval, type Spread } from './stats.js';
import { intervalCell, MIN_COVERAGE, spreadCell, type Row } from './table.js';

export const CPU_REFERENCE_PATH = fileURLToPath(new URL('./cpu-reference.json', import.meta.url));

/** What one ingest run reports (run.ts's IngestRun). */
export interface CpuRun {
  bytes: number;
  messages: number;
  serverMicros: number;
  mediaSeconds: number;
  /** Error envelopes the clients got during the run. */
  errors: number;
  /** Mark-compacts the server child made during the run. */
  majorGcs: number;
}

/**
 * The emulator's garbage-collection state in a run. On these loads it is bimodal: no mark-compact
 * at all (its received buffers die young), or one every 15–25 MB like bare ws, at about twice the
 * CPU a message (bench/README.md). Runs are compared with the reference's in the same state.
 */
export type GcState = 'no mark-compact' | 'mark-compacts';
const GC_STATES: readonly GcState[] = ['no mark-compact', 'mark-compacts'];

export interface CpuPair {
  emulatorMicrosPerMessage: number;
  bareMicrosPerMessage: number;
  /** Emulator / bare CPU per message, this pair. */
  ratio: number;
  emulatorMicrosPerMediaSecond: number;
  /** Bare ws's CPU over the media seconds its bytes hold (the emulator's seconds per byte of the same source). */
  bareMicrosPerMediaSecond: number;
  emulatorGcState: GcState;
}

/** Each state's ratios (median, interval and how many runs), for the states the runs were in. */
export type ByGcState = Partial<Record<GcState, MedianInterval & { runs: number }>>;

export interface CpuFigure {
  media: string;
  label: string;
  pairs: CpuPair[];
  ratio: Spread;
  /** The median ratio's confidence interval over the pairs (stats.ts `medianInterval`): what is judged. */
  interval: MedianInterval;
  emulatorMicrosPerMessage: Spread;
  bareMicrosPerMessage: Spread;
  emulatorMicrosPerMediaSecond: Spread;
  bareMicrosPerMediaSecond: Spread;
  /** The ratios by the emulator's GC state. */
  byGcState: ByGcState;
  /** The reference's, if there is one. */
  reference: ByGcState | null;
  /** The states judged: with enough runs (a 90 % interval) both here and in the reference. */
  judgedStates: GcState[];
  /** In a judged state, this run's interval lies wholly above the reference's. */
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
  /** One lockstep run into both servers at once: their runs, in the order given. */
  run: (servers: readonly [ServerHandle, ServerHandle], frames: readonly Buffer[], bytes: number) => Promise<[CpuRun, CpuRun]>;
  repetitions: number;
  bytesPerRun: number;
  log: (msg: string) => void;
}

interface Reference {
  note: string;
  measuredAt: string;
  loadAverage: number[];
  sources: Record<string, { ratio: Spread; interval?: MedianInterval; byGcState?: ByGcState }>;
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
  // A state with too few runs to judge keeps what an earlier reference measured in it, so runs of
  // --update-cpu-reference add up to both states.
  const previous = readReference();
  const merged = (f: CpuFigure): ByGcState => {
    const kept: ByGcState = { ...(previous?.sources[f.media]?.byGcState ?? {}) };
    for (const state of GC_STATES) if ((f.byGcState[state]?.coverage ?? 0) >= MIN_COVERAGE || !kept[state]) kept[state] = f.byGcState[state];
    return kept;
  };
  const reference: Reference = {
    note: 'Written by `npm run bench -- --only=cpu --update-cpu-reference`; the ratio is emulator / bare ws server CPU per message, per paired repetition (bench/README.md).',
    measuredAt: new Date().toISOString(),
    loadAverage,
    sources: Object.fromEntries(figures.map((f) => [f.media, { ratio: f.ratio, interval: f.interval, byGcState: merged(f) }])),
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
    const run = async (servers: readonly [ServerHandle, ServerHandle]) => {
      const r = await deps.run(servers, source.frames, deps.bytesPerRun);
      errors += r[0].errors + r[1].errors;
      return r;
    };
    await togetherPairs([deps.emulator, deps.bare], run, deps.repetitions, (e, b) => {
      const secondsPerByte = e.mediaSeconds / e.bytes;
      const pair: CpuPair = {
        emulatorMicrosPerMessage: e.serverMicros / e.messages,
        bareMicrosPerMessage: b.serverMicros / b.messages,
        ratio: e.serverMicros / e.messages / (b.serverMicros / b.messages),
        emulatorMicrosPerMediaSecond: e.serverMicros / e.mediaSeconds,
        bareMicrosPerMediaSecond: b.serverMicros / (b.bytes * secondsPerByte),
        emulatorGcState: e.majorGcs === 0 ? 'no mark-compact' : 'mark-compacts',
      };
      pairs.push(pair);
      deps.log(`cpu ${source.media}: emulator ${fmt(pair.emulatorMicrosPerMessage)} µs/message (${e.majorGcs} mark-compacts), bare ${fmt(pair.bareMicrosPerMessage)} (${b.majorGcs}), ratio ${fmt(pair.ratio, 2)}`);
    });
    const ratios = pairs.map((p) => p.ratio);
    const byGcState = groupByGcState(pairs);
    // A reference written before this rule has no states: not judged until it is rewritten.
    const ref = reference?.sources[source.media]?.byGcState ?? null;
    const judgedStates = GC_STATES.filter((state) => (byGcState[state]?.coverage ?? 0) >= MIN_COVERAGE && (ref?.[state]?.coverage ?? 0) >= MIN_COVERAGE);
    figures.push({
      media: source.media,
      label: source.label,
      pairs,
      ratio: spread(ratios),
      interval: medianInterval(ratios),
      byGcState,
      emulatorMicrosPerMessage: spread(pairs.map((p) => p.emulatorMicrosPerMessage)),
      bareMicrosPerMessage: spread(pairs.map((p) => p.bareMicrosPerMessage)),
      emulatorMicrosPerMediaSecond: spread(pairs.map((p) => p.emulatorMicrosPerMediaSecond)),
      bareMicrosPerMediaSecond: spread(pairs.map((p) => p.bareMicrosPerMediaSecond)),
      reference: ref,
      judgedStates,
      regression: judgedStates.some((state) => byGcState[state]!.low > ref![state]!.high),
      errors,
    });
  }
  return figures;
}

function groupByGcState(pairs: readonly CpuPair[]): ByGcState {
  const byState: ByGcState = {};
  for (const state of GC_STATES) {
    const ratios = pairs.filter((p) => p.emulatorGcState === state).map((p) => p.ratio);
    if (ratios.length > 0) byState[state] = { ...medianInterval(ratios), runs: ratios.length };
  }
  return byState;
}

/** "no mark-compact: 8 runs 0.59 (0.55 to 0.61, 93 % interval); mark-compacts: 3 runs …". */
function byGcStateCell(byState: ByGcState): string {
  return GC_STATES.filter((state) => byState[state])
    .map((state) => `${state}: ${byState[state]!.runs} run${byState[state]!.runs === 1 ? '' : 's'} ${intervalCell(byState[state]!, 2)}`)
    .join('; ');
}

/** Report rows (run.ts's Row shape). */
export function cpuRows(figures: readonly CpuFigure[], repetitions: number): Row[] {
  return figures.flatMap((f) => {
    const measured = `ratio ${intervalCell(f.interval, 2)}, runs ${fmt(f.ratio.min, 2)}–${fmt(f.ratio.max, 2)}; by the emulator's GC state, ${byGcStateCell(f.byGcState)}`;
    const judged =
      f.reference === null
        ? `${measured}; no reference with GC states (bench/cpu-reference.json)`
        : f.judgedStates.length === 0
          ? `${measured}; not judged: no GC state with 5 runs here and in the reference (${byGcStateCell(f.reference)})`
          : `${measured}; fails when wholly above the reference's in the same state (${byGcStateCell(f.reference)})`;
    const result = f.errors > 0 ? ('FAIL' as const) : f.reference === null || f.judgedStates.length === 0 ? ('info' as const) : f.regression ? ('FAIL' as const) : ('PASS' as const);
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
