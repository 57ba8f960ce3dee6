/**
 * Property-based runs: fast-check generates scenarios and fault schedules (the scenario generator's
 * arbitraries), the client runs against each, and the property is "no error-severity invariant is
 * violated". On a failure fast-check shrinks the scenario to the smallest one that still fails,
 * within a budget of time and runs; the kit runs that scenario once more to check it reproduces,
 * writes it as a scenario file and says how to replay exactly that case. Generated runs may run
 * several at once (`concurrency`) with the same outcome as one at a time; shrinking is sequential.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { scenarioArbitrary, scenarioToYaml, summarizeScenario, uploadFaultScheduleArbitrary } from '../scenarios/generator.js';
import type { Fault, Scenario } from '../server/types/generated.js';
import { TRANSPORTS, type Transport } from './cases.js';
import { consoleLine } from './reports.js';
import { runCase, scenarioCase, startOrder, type CaseResult, type ClientUnderTest } from './runner.js';

/** Advertised segment limit of a `smallLimit` scenario: the 24-s sample (about 180 KB) must be sent in parts. */
const SMALL_SEGMENT_LIMIT = 100_000;
/** Errors about one segment, scripted by segment so the envelope names it (ih5004 first: the one to shrink to). */
const SEGMENT_ERROR_CODES = ['ih5004', 'ih5006', 'ih5001'] as const;
/** Generated scenarios cover most of the 24 s of sample media, and always have room for a flapping signal (18 s). */
const GENERATED = { minDuration: 18, maxDuration: 24, maxSignals: 8, flapping: true } as const;

/**
 * Scenarios for property runs: up to the 24 s of sample media, with signals (a flapping type three
 * times in four) and fault schedules (session-ending faults included), in instant timing, and two
 * situations a generated fault schedule rarely produces on its own, each a shrinkable flag: a small
 * advertised segment limit, and the connection cut mid-stream (right after the first window's
 * results, a trigger on the session's progress: every signal the first window detected is still
 * active when it drops, however the client chunks its media, whatever the spans and however busy
 * the machine; a shrunk reproducer never sits on a timing edge, and a run takes no longer for it).
 * Half the runs also script an error about one of the first three segments (the
 * envelope names it; generated faults rarely do). Four times in five the generated faults apply;
 * shrinking can drop them all at once.
 */
export function conformanceScenarioArbitrary(): fc.Arbitrary<Scenario> {
  return fc
    .record({
      scenario: scenarioArbitrary({ ...GENERATED, faults: true, terminalFaults: true }),
      smallLimit: fc.boolean(),
      cutMidStream: fc.boolean(),
      // The generator's schedules have at least one fault: this flag lets a failure that needs none shrink to none.
      faulty: fc.option(fc.constant(true), { freq: 5, nil: false }),
      segmentError: fc.option(fc.record({ segment: fc.integer({ min: 1, max: 3 }), code: fc.constantFrom(...SEGMENT_ERROR_CODES) }), { freq: 2, nil: null }),
    })
    .map(({ scenario, smallLimit, cutMidStream, faulty, segmentError }) =>
      described(
        {
          ...scenario,
          ...(smallLimit ? { limits: { ...(scenario.limits ?? {}), max_segment_size_bytes: SMALL_SEGMENT_LIMIT } } : {}),
          processing: { timing: 'instant' as const },
          faults: [
            ...(segmentError ? [{ when: { segment: segmentError.segment }, action: 'error' as const, code: segmentError.code }] : []),
            ...(faulty ? (scenario.faults ?? []) : []).map(briskThrottle),
            ...(cutMidStream ? [{ when: { windows_sent: 1 }, action: 'disconnect' as const }] : []),
          ],
        },
        [
          smallLimit ? `a ${SMALL_SEGMENT_LIMIT}-byte segment limit` : null,
          cutMidStream ? 'the connection cut right after the first window\'s results' : null,
          segmentError ? `error ${segmentError.code} on segment ${segmentError.segment}` : null,
        ],
      ),
    );
}

/** The scenario with a description of what it holds now (the generator's described it before the kit changed it). */
function described(scenario: Scenario, notes: (string | null)[]): Scenario {
  const extra = notes.filter((n): n is string => n !== null);
  return { ...scenario, description: `${summarizeScenario(scenario, ' for ih-mock conformance')}${extra.length > 0 ? ` With ${extra.join(', and ')}.` : ''}` };
}

/** Scenarios for upload property runs: generated signals, engagement and quality, and what the first two uploads meet. */
export function conformanceUploadScenarioArbitrary(): fc.Arbitrary<Scenario> {
  return fc
    .record({ scenario: scenarioArbitrary({ ...GENERATED, faults: false }), faults: uploadFaultScheduleArbitrary() })
    .map(({ scenario, faults }) => described({ ...scenario, faults }, []));
}

/** One property run: a transport and a scenario for it (stream first, so a failure on both shrinks to the stream). */
export function conformanceRunArbitrary(transports: readonly Transport[] = TRANSPORTS): fc.Arbitrary<{ transport: Transport; scenario: Scenario }> {
  const byTransport = {
    stream: conformanceScenarioArbitrary().map((scenario) => ({ transport: 'stream' as const, scenario })),
    upload: conformanceUploadScenarioArbitrary().map((scenario) => ({ transport: 'upload' as const, scenario })),
  };
  const chosen = TRANSPORTS.filter((t) => transports.includes(t)).map((t) => byTransport[t]);
  if (chosen.length === 0) throw new RangeError('at least one transport');
  return chosen.length === 1 ? chosen[0]! : fc.oneof(...chosen);
}

/** Fastest throttle a property run uses: slower ones make a correct client outlast the case's time limit. */
const MIN_THROTTLE_BYTES_PER_SECOND = 8192;

function briskThrottle(fault: Fault): Fault {
  return fault.action === 'throttle' ? { ...fault, bytes_per_second: Math.max(fault.bytes_per_second ?? 0, MIN_THROTTLE_BYTES_PER_SECOND) } : fault;
}

/** How much shrinking may cost: it stops at whichever limit comes first (none: until fast-check is done). */
export interface ShrinkBudget {
  /** Wall time from the first failure (ms). */
  ms?: number;
  /** Runs of shrink candidates. */
  runs?: number;
}

/** Default: five minutes, so a property run always ends with a reproducer in reasonable time. */
export const DEFAULT_SHRINK_BUDGET: ShrinkBudget = { ms: 5 * 60_000 };

/** `90s`, `5m`, `1500ms`, `200` (runs), or a time and a run count: `5m,200`. */
export function parseShrinkBudget(text: string): ShrinkBudget {
  const budget: ShrinkBudget = {};
  for (const part of text.split(',').map((p) => p.trim())) {
    const match = /^(\d+)(ms|s|m)?$/.exec(part);
    if (!match) throw new RangeError(`a shrink budget is a time (90s, 5m, 1500ms) and/or a number of runs (200), comma-separated; got "${part}"`);
    const n = Number(match[1]);
    if (match[2] === undefined) budget.runs = n;
    else budget.ms = n * { ms: 1, s: 1000, m: 60_000 }[match[2] as 'ms' | 's' | 'm'];
  }
  return budget;
}

export function describeShrinkBudget(budget: ShrinkBudget): string {
  const parts = [budget.ms !== undefined ? `${budget.ms / 1000} s` : null, budget.runs !== undefined ? `${budget.runs} runs` : null].filter(Boolean);
  return parts.length > 0 ? parts.join(' or ') : 'none';
}

export interface PropertyOptions {
  client: ClientUnderTest;
  runs: number;
  seed: number;
  /** Where to write the shrunk counterexample. */
  outDir: string;
  /** How the client was given on the command line, for the replay command. */
  clientCommand?: string;
  /** Shrink a failure to the smallest scenario (default true); false reports the first failing one, faster. */
  shrink?: boolean;
  /** Bounds on shrinking (default DEFAULT_SHRINK_BUDGET); when one is reached, the smallest failing scenario so far is the result. */
  shrinkBudget?: ShrinkBudget;
  /** Which endpoints runs exercise (default both; a stream-only client passes ['stream']). */
  transports?: readonly Transport[];
  /**
   * Generated runs at once (default 1), each with its own emulator, proxy and client; the result is
   * the same as one at a time: the first failing run in the seed's order, shrunk one candidate at a time.
   */
  concurrency?: number;
  /** Called after each run; `phase` says whether it was a generated run or a shrink candidate. */
  onRun?: (result: CaseResult, run: number, phase: 'generated' | 'shrinking') => void;
}

export type PropertyResult =
  | {
      ok: true;
      runs: number;
      durationMs: number;
      /** Every generated run's result, in the seed's order (for reports: CI shows what passed too). */
      results: CaseResult[];
    }
  | {
      ok: false;
      /** Generated runs, up to and including the first failure (shrink runs not counted). */
      runs: number;
      /** Shrink candidates run. */
      shrinkRuns: number;
      /** Why shrinking stopped: done (nothing smaller fails), the budget, or not asked for. */
      shrinking: 'done' | 'budget' | 'off';
      shrinkBudget: ShrinkBudget;
      durationMs: number;
      seed: number;
      counterexample: Scenario;
      transport: Transport;
      /** The counterexample's failing run (during the search or shrinking). */
      failure: CaseResult;
      /** Its final re-run; `reproduced` is false when that did not fail the same way. */
      rerun: CaseResult;
      reproduced: boolean;
      /** Set when something about the result needs the user's attention (it did not reproduce). */
      warning: string | null;
      file: string;
      replay: string;
    };

const errorIds = (r: CaseResult) => new Set(r.violations.filter((v) => v.severity === 'error').map((v) => v.invariant));
/** `again` FAILED with at least one of the error invariants `first` broke. */
const failsTheSameWay = (first: CaseResult, again: CaseResult) => again.verdict === 'FAILED' && [...errorIds(first)].some((id) => errorIds(again).has(id));

type GeneratedRun = { transport: Transport; scenario: Scenario };

/**
 * The earliest (by index) of `runs` that FAILED, running `concurrency` at a time. Several at a time,
 * the runs with the longest scripted waits start first (as the catalogue's cases do: a long run
 * started last would keep the others waiting for it at the end); one at a time, in the seed's order
 * (nothing to overlap, and a failure stops the search soonest). Once one has failed, no run after
 * it (by index) is started and every run before it still runs, so the answer is the same either way.
 */
async function firstFailing(runs: readonly GeneratedRun[], concurrency: number, run: (r: GeneratedRun, index: number) => Promise<CaseResult>): Promise<{ index: number; result: CaseResult } | null> {
  const order = concurrency > 1 ? startOrder(runs.map(({ transport, scenario }, index) => ({ ...scenarioCase(`P${index + 1}`, scenario, transport), index }))).map((c) => c.index) : runs.map((_, index) => index);
  let first: { index: number; result: CaseResult } | null = null;
  const worker = async () => {
    for (let index = order.shift(); index !== undefined; index = order.shift()) {
      if (first !== null && index > first.index) continue;
      const result = await run(runs[index]!, index);
      if (result.verdict === 'FAILED' && (first === null || index < first.index)) first = { index, result };
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, runs.length)) }, worker));
  return first;
}

export async function runProperties(options: PropertyOptions): Promise<PropertyResult> {
  const started = Date.now();
  const shrink = options.shrink !== false;
  const budget = options.shrinkBudget ?? DEFAULT_SHRINK_BUDGET;
  const arbitrary = conformanceRunArbitrary(options.transports);
  const runOne = (id: string, { transport, scenario }: GeneratedRun) => runCase(scenarioCase(id, scenario, transport), { client: options.client, seed: options.seed });
  // fast-check's runs for this seed, in its order (fc.sample draws the same values as fc.check):
  // they can run side by side, and shrinking starts from the first that fails.
  const generatedRuns = fc.sample(arbitrary, { seed: options.seed, numRuns: options.runs });
  const results: CaseResult[] = [];
  const failed = await firstFailing(generatedRuns, options.concurrency ?? 1, async (run, index) => {
    const result = await runOne(`P${index + 1}`, run);
    results[index] = result;
    options.onRun?.(result, index + 1, 'generated');
    return result;
  });
  if (!failed) return { ok: true, runs: generatedRuns.length, durationMs: Date.now() - started, results };
  let shrinkRuns = 0;
  let budgetReached = false;
  // The smallest failing run so far: fast-check only goes on from a candidate that fails, so the last failure is the smallest.
  let best: GeneratedRun & { result: CaseResult } = { ...generatedRuns[failed.index]!, result: failed.result };
  if (shrink) {
    const shrinkStarted = Date.now();
    const failing = JSON.stringify(generatedRuns[failed.index]);
    let replayed = false;
    const property = fc.asyncProperty(arbitrary, async (run) => {
      // Replaying from the failing run's path, fast-check first hands back that run: it has failed already.
      const first = !replayed;
      replayed = true;
      if (first && JSON.stringify(run) === failing) return false;
      // Over budget: the remaining candidates pass without running, so fast-check ends with the best so far.
      const overBudget = () => {
        budgetReached ||= (budget.runs !== undefined && shrinkRuns >= budget.runs) || (budget.ms !== undefined && Date.now() - shrinkStarted >= budget.ms);
        return budgetReached;
      };
      const attempt = async () => {
        shrinkRuns++;
        const result = await runOne(`S${shrinkRuns}`, run);
        options.onRun?.(result, shrinkRuns, 'shrinking');
        return result;
      };
      if (overBudget()) return true;
      const result = await attempt();
      if (result.verdict !== 'FAILED') return true;
      // A candidate is taken only if it fails the same way twice: on a busy machine a run can fail by
      // timing alone, and shrinking on from it would end on a scenario that does not reproduce.
      if (overBudget()) return true;
      const again = await attempt();
      if (!failsTheSameWay(result, again)) return true;
      best = { ...run, result };
      return false;
    });
    await fc.check(property, { numRuns: options.runs, seed: options.seed, path: String(failed.index) });
  }
  // Generated runs up to the first failure, as if one at a time (runs after it that were under way do not count).
  const generated = failed.index + 1;
  const { transport, scenario: counterexample, result: failure } = best;
  // Run it once more: a failure that does not come back depends on timing, and the user must know.
  const rerun = await runCase(scenarioCase('rerun', counterexample, transport), { client: options.client, seed: options.seed });
  const reproduced = failsTheSameWay(failure, rerun);
  const warning = reproduced
    ? null
    : `the ${shrink ? 'shrunk' : 'failing'} scenario did not fail the same way when run again (${rerun.verdict}${rerun.verdict === 'FAILED' ? `: ${[...errorIds(rerun)].join(', ')}` : ''}): the failure depends on timing; the report shows the failing run`;
  const shrinking: 'done' | 'budget' | 'off' = !shrink ? 'off' : budgetReached ? 'budget' : 'done';
  const kind = shrinking === 'off' ? 'first' : shrinking === 'budget' ? `smallest (shrinking stopped by its budget, ${describeShrinkBudget(budget)}, after ${shrinkRuns} runs)` : 'smallest';
  const header = [
    `# The ${kind} failing scenario of ih-mock conformance --runs ${options.runs} --seed ${options.seed} (${transport})`,
    ...(warning ? [`# WARNING: ${warning}`] : []),
  ].join('\n');
  const file = writeUnique(options.outDir, `ih-mock-counterexample-seed-${options.seed}-${transport}`, `${header}\n${scenarioToYaml(counterexample)}`);
  const replay = `npx ih-mock conformance --client ${JSON.stringify(options.clientCommand ?? '<your client>')} --scenario-file ${file} --transport ${transport} --seed ${options.seed}`;
  return { ok: false, runs: generated, shrinkRuns, shrinking, shrinkBudget: budget, durationMs: Date.now() - started, seed: options.seed, counterexample, transport, failure, rerun, reproduced, warning, file, replay };
}

/** What the console says about a failed property run: the counts, the failing case, the file, the replay command, any warning. */
export function describePropertyFailure(result: Extract<PropertyResult, { ok: false }>): string {
  const what =
    result.shrinking === 'off'
      ? 'the first failing scenario (not shrunk)'
      : result.shrinking === 'budget'
        ? `the smallest failing scenario found before the shrink budget (${describeShrinkBudget(result.shrinkBudget)}) ran out, after ${result.shrinkRuns} shrink runs`
        : `the smallest failing scenario (after ${result.shrinkRuns} shrink runs)`;
  const lines = [`property failed after ${result.runs} generated runs (seed ${result.seed}); ${what}:`, consoleLine(result.failure), `  written to ${result.file}`, `  replay exactly this case: ${result.replay}`];
  if (result.warning) lines.push(`WARNING: ${result.warning}`);
  return `${lines.join('\n')}\n`;
}

/** Write `text` to `<stem>.yaml` in `dir`, or `<stem>-2.yaml`, `-3`, …: never over another run's file (exclusive create). */
function writeUnique(dir: string, stem: string, text: string): string {
  for (let n = 1; ; n++) {
    const file = join(dir, `${stem}${n === 1 ? '' : `-${n}`}.yaml`);
    let fd: number;
    try {
      fd = openSync(file, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw err;
    }
    try {
      writeSync(fd, text);
    } finally {
      closeSync(fd);
    }
    return file;
  }
}
