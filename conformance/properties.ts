/**
 * Property-based runs: fast-check generates scenarios and fault schedules (the scenario generator's
 * arbitraries), the client runs against each, and the property is "no error-severity invariant is
 * violated". On a failure fast-check shrinks the scenario to the smallest one that still fails; the
 * kit writes it as a scenario file and says how to replay exactly that case.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { scenarioArbitrary, scenarioToYaml } from '../scenarios/generator.js';
import type { Scenario } from '../server/types/generated.js';
import { runCase, scenarioCase, type CaseResult, type ClientUnderTest } from './runner.js';

/** Scenarios for property runs: up to the 24 s of sample media, with faults, in instant timing (no waiting). */
export function conformanceScenarioArbitrary(): fc.Arbitrary<Scenario> {
  return scenarioArbitrary({ minDuration: 10, maxDuration: 24, maxSignals: 8, faults: true, terminalFaults: true }).map((s) => ({ ...s, processing: { ...(s.processing ?? {}), timing: 'instant' as const } }));
}

export interface PropertyOptions {
  client: ClientUnderTest;
  runs: number;
  seed: number;
  /** Where to write the shrunk counterexample. */
  outDir: string;
  /** How the client was given on the command line, for the replay command. */
  clientCommand?: string;
  onRun?: (result: CaseResult, run: number) => void;
}

export type PropertyResult =
  | { ok: true; runs: number; durationMs: number }
  | { ok: false; runs: number; durationMs: number; seed: number; counterexample: Scenario; failure: CaseResult; file: string; replay: string };

export async function runProperties(options: PropertyOptions): Promise<PropertyResult> {
  const started = Date.now();
  let runs = 0;
  let lastFailure: CaseResult | undefined;
  const property = fc.asyncProperty(conformanceScenarioArbitrary(), async (scenario) => {
    const result = await runCase(scenarioCase(`P${runs + 1}`, scenario), { client: options.client, seed: options.seed });
    runs++;
    options.onRun?.(result, runs);
    if (result.verdict === 'FAILED') lastFailure = result;
    return result.verdict !== 'FAILED';
  });
  const details = await fc.check(property, { numRuns: options.runs, seed: options.seed });
  const durationMs = Date.now() - started;
  if (!details.failed || !details.counterexample) return { ok: true, runs, durationMs };
  const counterexample = details.counterexample[0];
  // The last failing run is the shrunk counterexample's: run it once more to report exactly it.
  const failure = await runCase(scenarioCase('shrunk', counterexample), { client: options.client, seed: options.seed });
  const file = join(options.outDir, `ih-mock-counterexample-seed-${options.seed}.yaml`);
  writeFileSync(file, `# The smallest failing scenario of ih-mock conformance --runs ${options.runs} --seed ${options.seed}\n${scenarioToYaml(counterexample)}`);
  const replay = `npx ih-mock conformance --client ${JSON.stringify(options.clientCommand ?? '<your client>')} --scenario-file ${file} --seed ${options.seed}`;
  return { ok: false, runs, durationMs, seed: options.seed, counterexample, failure: failure.verdict === 'FAILED' ? failure : (lastFailure ?? failure), file, replay };
}
