/**
 * The conformance figure of `npm run bench`: how long the case catalogue and property runs take for
 * the Node reference client run as a subprocess, against a baseline measured in the same run: the
 * same client, as many times, straight against an emulator with no kit around it (no recording
 * proxy, no trace reading, no invariants). The difference is what the kit costs per case.
 */
import { spawn } from 'node:child_process';
import { CASES } from '../conformance/cases.js';
import { runProperties } from '../conformance/properties.js';
import { runCatalogue, sampleMedia, type ClientEnv } from '../conformance/runner.js';
import { createMockServer } from '../dist/server/app.js';

const REFERENCE = { command: `${JSON.stringify(process.execPath)} conformance/clients/reference.mjs` };

export interface ConformanceFigure {
  cases: number;
  catalogueMs: number;
  /** The same catalogue with the reference client run in-process (a function, no subprocess). */
  inProcessMs: number;
  failed: number;
  /** The same client run once per case with no kit: the baseline. */
  bareMs: number;
  propertyRuns: number;
  propertyMs: number;
}

/** Run the reference client `times` times straight against one emulator per run (steady, instant). */
async function bareRuns(times: number): Promise<number> {
  const started = Date.now();
  const media = sampleMedia(24);
  for (let i = 0; i < times; i++) {
    const server = await createMockServer({ scenario: 'steady', timing: 'instant', logLevel: 'silent' });
    await new Promise<void>((resolve) => {
      const env = { ...process.env, IH_STREAM_URL: server.streamUrl, IH_API_BASE_URL: server.baseUrl, IH_API_KEY: 'k', IH_MEDIA_FILE: media.file, IH_MEDIA_SEGMENTS: media.segments.join('\n'), IH_MEDIA_SECONDS: '24', IH_CASE: 'bare' };
      spawn(REFERENCE.command, { shell: true, env, stdio: 'ignore' }).on('exit', () => resolve());
    });
    await server.close();
  }
  return Date.now() - started;
}

export async function conformanceFigure(propertyRuns: number): Promise<ConformanceFigure> {
  const bareMs = await bareRuns(CASES.length);
  const catalogue = await runCatalogue(CASES, { client: REFERENCE });
  // A path the type checker does not follow: the reference is a plain .mjs script.
  const referencePath = new URL('../conformance/clients/reference.mjs', import.meta.url).href;
  const { runReference } = (await import(referencePath)) as { runReference: (env: ClientEnv) => Promise<number> };
  const quietLog = console.error;
  console.error = () => {}; // the client logs each session to stderr; the bench's own lines are enough
  const inProcess = await runCatalogue(CASES, { client: { run: runReference } }).finally(() => (console.error = quietLog));
  const started = Date.now();
  const property = await runProperties({ client: REFERENCE, runs: propertyRuns, seed: 1, outDir: '.cache' });
  return {
    cases: CASES.length,
    catalogueMs: catalogue.durationMs,
    inProcessMs: inProcess.durationMs,
    failed: catalogue.counts.FAILED + inProcess.counts.FAILED + (property.ok ? 0 : 1),
    bareMs,
    propertyRuns: property.runs,
    propertyMs: Date.now() - started,
  };
}
