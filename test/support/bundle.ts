/**
 * esbuild's account of the CLI bundle that `bin/ih-mock.js` runs (`server/cli/build-bundle.ts`):
 * which source files (paths relative to the package) each of its output files holds.
 */
import { readFileSync } from 'node:fs';
import { BUNDLE_METAFILE } from '../../server/cli/build-bundle.js';

interface Metafile {
  outputs: Record<string, { inputs: Record<string, unknown> }>;
}

function metafile(): Metafile {
  return JSON.parse(readFileSync(BUNDLE_METAFILE, 'utf8')) as Metafile;
}

/** The sources an output holds (`output` relative to the package, e.g. `dist/bundle/ih-mock.js`); throws for a file not in the bundle. */
export function bundledSources(output: string): string[] {
  const found = metafile().outputs[output];
  if (!found) throw new Error(`${output} is not an output of the CLI bundle (stale build?)`);
  return Object.keys(found.inputs);
}

/** Every source the bundle holds. */
export function allBundledSources(): string[] {
  return [...new Set(Object.values(metafile().outputs).flatMap((output) => Object.keys(output.inputs)))];
}
