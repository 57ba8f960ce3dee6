/**
 * The conformance figure of `npm run bench`: how long the case catalogue and property runs take for
 * the Node reference client run as a subprocess, against a baseline measured in the same run: the
 * same client, once per case with the case's scenario, endpoint and media, straight against an
 * emulator with no kit around it (no recording proxy, no trace reading, no invariants). Scripted
 * waits (a delayed upload answer, Retry-After) are in both. The difference is what the kit costs per case.
 */
import { spawn } from 'node:child_process';
import { CASES, type ConformanceCase } from '../conformance/cases.js';
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
  /** The same client run once per case (its scenario, endpoint and media) with no kit: the baseline. */
  bareMs: number;
  propertyRuns: number;
  propertyMs: number;
}

/** Run the reference client once per case straight against an emulator with the case's scenario. */
async function bareRuns(cases: readonly ConformanceCase[]): Promise<number> {
  const started = Date.now();
  for (const c of cases) {
    const media = sampleMedia(c.mediaSeconds);
    const transport = c.transport ?? 'stream';
    const server = await createMockServer({ scenario: c.scenario, seed: 1, logLevel: 'silent', ...(transport === 'upload' ? { processingRatio: 0 } : {}) });
    await new Promise<void>((resolve) => {
      const env = { ...process.env, IH_TRANSPORT: transport, IH_STREAM_URL: server.streamUrl, IH_API_BASE_URL: server.baseUrl, IH_API_KEY: 'k', IH_MEDIA_FILE: media.file, IH_MEDIA_SEGMENTS: media.segments.join('\n'), IH_MEDIA_SECONDS: String(c.mediaSeconds), IH_CASE: 'bare' };
      spawn(REFERENCE.command, { shell: true, env, stdio: 'ignore' }).on('exit', () => resolve());
    });
    await server.close();
  }
  return Date.now() - started;
}

export async function conformanceFigure(propertyRuns: number): Promise<ConformanceFigure> {
  const bareMs = await bareRuns(CASES);
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
