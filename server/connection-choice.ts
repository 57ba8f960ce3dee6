/**
 * Which scenario, seed and timing a stream session runs with. The server has a default (CLI,
 * config or programmatic API); a client may choose for its own session with query parameters on
 * the upgrade URL, because browser and many other clients cannot set headers:
 *
 *   ws://127.0.0.1:4747/v1/stream/analyze?scenario=overloaded-server&seed=7&timing=instant
 *
 * Only built-in scenario names and `random` are accepted on the URL, never file paths: the URL
 * comes from the network, and a path would let any client read files on the server's machine.
 *
 * The generator of `random` scenarios is built on fast-check, the largest module a server would
 * load, so it is not imported with this module: `loadScenarioGenerator` loads it. A server whose
 * default is `random` has it loaded before it is built (the CLI, `createMockServer`, the package's
 * API); otherwise the server loads it once it listens, and an upgrade whose session would run a
 * random scenario waits until it is there (the others do not).
 */
import { builtInScenarioNames, loadScenario, scenarioFromObject, type ResolvedScenario } from '../scenarios/loader.js';
import { ACCEPTED_TIMING_NAMES, TIMING_MODES, type TimingMode } from './stream/timing.js';
import type { Scenario } from './types/generated.js';

/** The scenario name that means "generate one from the seed". */
export const RANDOM_SCENARIO = 'random';

type ScenarioGenerator = typeof import('../scenarios/generator.js');

let generator: ScenarioGenerator | undefined;
let loadingGenerator: Promise<void> | undefined;

/** Load the `random` scenario generator (once per process); until then, generating one throws. */
export function loadScenarioGenerator(): Promise<void> {
  loadingGenerator ??= import('../scenarios/generator.js').then(provideScenarioGenerator);
  return loadingGenerator;
}

/** Hand over the generator module where it is already imported (the package's API), so nothing waits for it. */
export function provideScenarioGenerator(loaded: ScenarioGenerator): void {
  generator = loaded;
}

export function scenarioGeneratorLoaded(): boolean {
  return generator !== undefined;
}

function generated(seed: number): ResolvedScenario {
  if (!generator) throw new Error('ih-mock: a random scenario was asked for before the scenario generator was loaded (await loadScenarioGenerator() first)');
  return scenarioFromObject(generator.generateScenario(seed), `${RANDOM_SCENARIO} (seed ${seed})`);
}

export interface ConnectionChoice {
  scenario?: string;
  seed?: number;
  timing?: TimingMode;
}

/** A query parameter the server cannot honour; the upgrade is refused with 400 and this message. */
export class ConnectionChoiceError extends Error {
  override name = 'ConnectionChoiceError';
}

/** Built-in scenarios (parsed once per process by the loader) and generated ones. */
export class ScenarioLibrary {
  names(): string[] {
    return builtInScenarioNames();
  }

  builtIns(): ResolvedScenario[] {
    return this.names().map((name) => loadScenario(name));
  }

  /** The server's default: a scenario object, a built-in name, a file path, or `random` (from the server seed). */
  serverScenario(input: string | Scenario, seed: number): ResolvedScenario {
    if (typeof input === 'object') return scenarioFromObject(input, 'options.scenario');
    if (input === RANDOM_SCENARIO) return generated(seed);
    return loadScenario(input);
  }

  /** A scenario named on a connection's URL (already checked by `parseConnectionChoice`). */
  connectionScenario(name: string, seed: number): ResolvedScenario {
    if (name === RANDOM_SCENARIO) return generated(seed);
    return loadScenario(name);
  }
}

/** Reads `scenario`, `seed` and `timing` from an upgrade URL's query; other parameters are ignored. */
export function parseConnectionChoice(params: URLSearchParams, { allowed, library }: { allowed: boolean; library: ScenarioLibrary }): ConnectionChoice {
  const choice: ConnectionChoice = {};
  const given = ['scenario', 'seed', 'timing'].filter((key) => params.has(key));
  if (given.length === 0) return choice;
  const repeated = given.filter((key) => params.getAll(key).length > 1);
  if (repeated.length > 0) throw new ConnectionChoiceError(`give ${repeated.map((k) => `?${k}=`).join(', ')} once, not ${params.getAll(repeated[0]!).length} times`);
  if (!allowed) {
    throw new ConnectionChoiceError(`this server does not let connections choose ${given.join(', ')} (started with connectionScenarios: false); drop the query parameters`);
  }
  const scenario = params.get('scenario');
  if (scenario !== null) {
    if (scenario !== RANDOM_SCENARIO && !library.names().includes(scenario)) {
      throw new ConnectionChoiceError(`unknown scenario "${scenario}" in ?scenario=: use a built-in (${library.names().join(', ')}) or ${RANDOM_SCENARIO}; files can only be chosen with the server's --scenario`);
    }
    choice.scenario = scenario;
  }
  const seed = params.get('seed');
  if (seed !== null) {
    const n = Number(seed);
    if (!/^\d+$/.test(seed) || !Number.isSafeInteger(n) || n > 2 ** 32 - 1) throw new ConnectionChoiceError(`?seed= must be a whole number from 0 to 4294967295, got "${seed}"`);
    choice.seed = n;
  }
  const timing = params.get('timing');
  if (timing !== null) {
    if (!(ACCEPTED_TIMING_NAMES as readonly string[]).includes(timing)) throw new ConnectionChoiceError(`?timing= must be one of ${TIMING_MODES.join(', ')} (realistic: the old name of ratio), got "${timing}"`);
    choice.timing = timing as TimingMode;
  }
  return choice;
}
