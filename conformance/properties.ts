/**
 * Property-based runs: fast-check generates scenarios and fault schedules (the scenario generator's
 * arbitraries), the client runs against each, and the property is "no error-severity invariant is
 * violated". On a failure fast-check shrinks the scenario to the smallest one that still fails; the
 * kit writes it as a scenario file and says how to replay exactly that case.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { scenarioArbitrary, scenarioToYaml, uploadFaultScheduleArbitrary } from '../scenarios/generator.js';
import type { Fault, Scenario } from '../server/types/generated.js';
import { TRANSPORTS, type Transport } from './cases.js';
import { runCase, scenarioCase, type CaseResult, type ClientUnderTest } from './runner.js';

/** Advertised segment limit of a `smallLimit` scenario: the 24-s sample (about 180 KB) must be sent in parts. */
const SMALL_SEGMENT_LIMIT = 100_000;

/**
 * Scenarios for property runs: up to the 24 s of sample media, with signals and fault schedules
 * (session-ending faults included), in instant timing, and two situations a generated fault schedule
 * rarely produces on its own, each a shrinkable flag: a small advertised segment limit, and the
 * connection cut mid-stream (slow windows, 0.4 s each on one worker, and a drop 1 s in), so signals
 * are still active when it drops however the client chunks its media.
 */
export function conformanceScenarioArbitrary(): fc.Arbitrary<Scenario> {
  return fc
    .record({
      scenario: scenarioArbitrary({ minDuration: 10, maxDuration: 24, maxSignals: 8, faults: true, terminalFaults: true }),
      smallLimit: fc.boolean(),
      cutMidStream: fc.boolean(),
    })
    .map(({ scenario, smallLimit, cutMidStream }) => ({
      ...scenario,
      ...(smallLimit ? { limits: { ...(scenario.limits ?? {}), max_segment_size_bytes: SMALL_SEGMENT_LIMIT } } : {}),
      processing: cutMidStream ? { timing: 'ratio' as const, ratio: 0.05, jitter: 0, workers: 1, queue_limit: 20 } : { timing: 'instant' as const },
      faults: [...(scenario.faults ?? []).map(briskThrottle), ...(cutMidStream ? [{ when: { wall_seconds: 1 }, action: 'disconnect' as const }] : [])],
    }));
}

/** Scenarios for upload property runs: generated signals, engagement and quality, and what the first two uploads meet. */
export function conformanceUploadScenarioArbitrary(): fc.Arbitrary<Scenario> {
  return fc
    .record({ scenario: scenarioArbitrary({ minDuration: 10, maxDuration: 24, maxSignals: 8, faults: false }), faults: uploadFaultScheduleArbitrary() })
    .map(({ scenario, faults }) => ({ ...scenario, faults }));
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
  /** Which endpoints runs exercise (default both; a stream-only client passes ['stream']). */
  transports?: readonly Transport[];
  onRun?: (result: CaseResult, run: number) => void;
}

export type PropertyResult =
  | { ok: true; runs: number; durationMs: number }
  | { ok: false; runs: number; durationMs: number; seed: number; counterexample: Scenario; transport: Transport; failure: CaseResult; file: string; replay: string };

export async function runProperties(options: PropertyOptions): Promise<PropertyResult> {
  const started = Date.now();
  let runs = 0;
  let lastFailure: CaseResult | undefined;
  const property = fc.asyncProperty(conformanceRunArbitrary(options.transports), async ({ transport, scenario }) => {
    const result = await runCase(scenarioCase(`P${runs + 1}`, scenario, transport), { client: options.client, seed: options.seed });
    runs++;
    options.onRun?.(result, runs);
    if (result.verdict === 'FAILED') lastFailure = result;
    return result.verdict !== 'FAILED';
  });
  const details = await fc.check(property, { numRuns: options.runs, seed: options.seed, endOnFailure: options.shrink === false });
  const durationMs = Date.now() - started;
  if (!details.failed || !details.counterexample) return { ok: true, runs, durationMs };
  const { transport, scenario: counterexample } = details.counterexample[0];
  // The last failing run is the shrunk counterexample's: run it once more to report exactly it.
  const failure = await runCase(scenarioCase('shrunk', counterexample, transport), { client: options.client, seed: options.seed });
  const file = join(options.outDir, `ih-mock-counterexample-seed-${options.seed}.yaml`);
  writeFileSync(file, `# The ${options.shrink === false ? 'first' : 'smallest'} failing scenario of ih-mock conformance --runs ${options.runs} --seed ${options.seed} (${transport})\n${scenarioToYaml(counterexample)}`);
  const replay = `npx ih-mock conformance --client ${JSON.stringify(options.clientCommand ?? '<your client>')} --scenario-file ${file} --transport ${transport} --seed ${options.seed}`;
  return { ok: false, runs, durationMs, seed: options.seed, counterexample, transport, failure: failure.verdict === 'FAILED' ? failure : (lastFailure ?? failure), file, replay };
}
