/**
 * Writes `scenarios/built-in.generated.json`: every built-in scenario parsed from its YAML, with the
 * SHA-256 of the text it came from. `npm run build` runs this (after the validators, which it uses);
 * the file is not committed. The loader takes a built-in from it only when the YAML's hash matches,
 * so an edited scenario is never served stale, and a server whose scenarios are all built in never
 * loads the YAML parser (see `loadScenario`).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { join } from 'node:path';
import { SCENARIOS_DIR } from '../server/paths.js';
import { builtInScenarioNames, COMPILED_BUILT_INS_PATH, parseScenario, scenarioFromObject, sha256, type CompiledBuiltIn } from './loader.js';

export function compileBuiltIns(): Record<string, CompiledBuiltIn> {
  const compiled: Record<string, CompiledBuiltIn> = {};
  for (const name of builtInScenarioNames()) {
    const path = join(SCENARIOS_DIR, `${name}.yaml`);
    const text = readFileSync(path, 'utf8');
    const scenario = parseScenario(text, path);
    // What the loader will make of the JSON must be what it makes of the YAML.
    if (!isDeepStrictEqual(scenarioFromObject(JSON.parse(JSON.stringify(scenario)), path), scenario)) {
      throw new Error(`${path}: the scenario does not survive a JSON round trip`);
    }
    compiled[name] = { sha256: sha256(text), scenario };
  }
  return compiled;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  writeFileSync(COMPILED_BUILT_INS_PATH, `${JSON.stringify(compileBuiltIns())}\n`);
}
