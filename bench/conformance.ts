/**
 * The conformance figures of `npm run bench`, for the Node reference client, each beside a baseline
 * measured in the same run:
 * - the case catalogue with the client as a subprocess, as many cases at once as the CLI's default
 *   (defaultConcurrency), beside the same catalogue one case at a time (the CLI's former default),
 *   and beside the same client run once per case (its scenario, endpoint and media) straight
 *   against an emulator with no kit around it (no recording proxy, no trace reading, no invariants),
 *   as many at once: the difference is what the kit costs. Scripted waits (a delayed answer,
 *   Retry-After) are in all of them;
 * - the catalogue with the client in-process (a function), as many at once (target: 3 cases/s);
 * - property runs (generated scenarios with faults), as a subprocess as many at once beside one at a
 *   time, and in-process (target: 3 cases/s).
 */
import { spawn } from 'node:child_process';
import { CASES, type ConformanceCase } from '../conformance/cases.js';
import { runProperties } from '../conformance/properties.js';
import { defaultConcurrency, runCatalogue, sampleMedia, startOrder, type ClientEnv, type ClientUnderTest } from '../conformance/runner.js';
import { createMockServer } from '../server/app.js';

const REFERENCE = { command: `${JSON.stringify(process.execPath)} conformance/clients/reference.mjs` };

export interface ConformanceFigure {
  cases: number;
  /** Cases (and generated runs) at once in the parallel figures: the CLI's default. */
  parallel: number;
  /** The catalogue, the client as a subprocess, `parallel` at a time. */
  catalogueMs: number;
  /** The same, one case at a time. */
  sequentialMs: number;
  /** The same client run once per case with no kit, `parallel` at a time: the kit's baseline. */
  bareMs: number;
  /** The catalogue with the reference client run in-process (a function), `parallel` at a time. */
  inProcessMs: number;
  failed: number;
  propertyRuns: number;
  /** Property runs, the client as a subprocess, `parallel` at a time. */
  propertyMs: number;
  /** The same runs one at a time. */
  propertySequentialMs: number;
  /** The same runs with the client in-process, `parallel` at a time. */
  inProcessPropertyMs: number;
}

/** Run the reference client once per case straight against an emulator with the case's scenario, `parallel` at a time. */
async function bareRuns(cases: readonly ConformanceCase[], parallel: number): Promise<number> {
  const started = Date.now();
  const queue = startOrder(cases);
  const worker = async () => {
    for (let c = queue.shift(); c; c = queue.shift()) {
      const media = sampleMedia(c.mediaSeconds);
      const transport = c.transport ?? 'stream';
      // The emulator as the kit sets it up for the case (runner.ts), timing included, without the kit around it.
      const timing = c.scenario.processing?.timing ?? 'instant';
      const server = await createMockServer({ scenario: c.scenario, seed: 1, logLevel: 'silent', timing, ...(transport === 'upload' ? { processingRatio: 0 } : {}) });
      await new Promise<void>((resolve) => {
        const env = { ...process.env, IH_TRANSPORT: transport, IH_STREAM_URL: server.streamUrl, IH_API_BASE_URL: server.baseUrl, IH_API_KEY: 'k', IH_MEDIA_FILE: media.file, IH_MEDIA_SEGMENTS: media.segments.join('\n'), IH_MEDIA_SECONDS: String(c.mediaSeconds), IH_CASE: 'bare' };
        spawn(REFERENCE.command, { shell: true, env, stdio: 'ignore' }).on('exit', () => resolve());
      });
      await server.close();
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return Date.now() - started;
}

async function timedProperties(client: ClientUnderTest, runs: number, concurrency: number): Promise<{ ms: number; ok: boolean; runs: number }> {
  const started = Date.now();
  const result = await runProperties({ client, runs, seed: 1, outDir: '.cache', concurrency });
  return { ms: Date.now() - started, ok: result.ok, runs: result.runs };
}

export async function conformanceFigure(propertyRuns: number): Promise<ConformanceFigure> {
  const parallel = defaultConcurrency();
  const bareMs = await bareRuns(CASES, parallel);
  const catalogue = await runCatalogue(CASES, { client: REFERENCE, concurrency: parallel });
  const sequential = await runCatalogue(CASES, { client: REFERENCE });
  // A path the type checker does not follow: the reference is a plain .mjs script.
  const referencePath = new URL('../conformance/clients/reference.mjs', import.meta.url).href;
  const { runReference } = (await import(referencePath)) as { runReference: (env: ClientEnv) => Promise<number> };
  const inProcessClient = { run: runReference };
  const quietLog = console.error;
  console.error = () => {}; // the client logs each session to stderr; the bench's own lines are enough
  try {
    const inProcess = await runCatalogue(CASES, { client: inProcessClient, concurrency: parallel });
    const property = await timedProperties(REFERENCE, propertyRuns, parallel);
    const propertySequential = await timedProperties(REFERENCE, propertyRuns, 1);
    const inProcessProperty = await timedProperties(inProcessClient, propertyRuns, parallel);
    const catalogues = [catalogue, sequential, inProcess];
    const properties = [property, propertySequential, inProcessProperty];
    return {
      cases: CASES.length,
      parallel,
      catalogueMs: catalogue.durationMs,
      sequentialMs: sequential.durationMs,
      bareMs,
      inProcessMs: inProcess.durationMs,
      failed: catalogues.reduce((n, c) => n + c.counts.FAILED, 0) + properties.filter((p) => !p.ok).length,
      propertyRuns: property.runs,
      propertyMs: property.ms,
      propertySequentialMs: propertySequential.ms,
      inProcessPropertyMs: inProcessProperty.ms,
    };
  } finally {
    console.error = quietLog;
  }
}
