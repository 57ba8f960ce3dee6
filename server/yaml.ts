/**
 * The `yaml` package, required on first use rather than imported: a server whose scenarios are all
 * built in never needs it (they are compiled to JSON at build, see `scenarios/compile-built-ins.ts`),
 * and loading it cost a noticeable part of every start-up. It stays synchronous for the callers
 * (`parseScenario`, `readConfigFile`); `yaml` resolves to the same CommonJS build for `import` and
 * `require` under Node, so there is one instance either way.
 */
import { createRequire } from 'node:module';

type Yaml = typeof import('yaml');

const requireHere = createRequire(import.meta.url);
let loaded: Yaml | undefined;

export function yaml(): Yaml {
  return (loaded ??= requireHere('yaml') as Yaml);
}
