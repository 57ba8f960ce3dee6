/**
 * The conformance figures of `npm run bench`, for the Node reference client, each beside a baseline
 * measured in the same run:
 * - the case catalogue with the client as a subprocess, as many cases at once as the CLI's default
 *   (defaultConcurrency), beside the same catalogue one case at a time (the CLI's former default);
 * - what the kit costs a case: each case with the kit and bare (the same client, in-process,
 *   emulator and media with no kit around it: no recording proxy, no trace reading, no
 *   invariants), one right after the other, as many cases at once (kitCost). Scripted waits (a
 *   delayed answer, Retry-After) are in all of them;
 * - the catalogue with the client in-process (a function), as many at once as defaultConcurrency
 *   gives a client function (target: 3 cases/s);
 * - property runs (generated scenarios with faults), as a subprocess as many at once beside one at a
 *   time, and in-process as many at once as for the catalogue (target: 3 cases/s).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CASES, type ConformanceCase } from '../conformance/cases.js';
import { runProperties } from '../conformance/properties.js';
import { caseClientEnv, caseEmulatorOptions, caseTimeoutMs, defaultConcurrency, runCase, runCatalogue, runClient, startOrder, type ClientEnv, type ClientUnderTest } from '../conformance/runner.js';
import { createMockServer } from '../server/app.js';

const REFERENCE = { command: `${JSON.stringify(process.execPath)} conformance/clients/reference.mjs` };

export interface ConformanceFigure {
  cases: number;
  /** Cases (and generated runs) at once in the parallel figures with the client as a subprocess: the CLI's default. */
  parallel: number;
  /** The same with the client in-process: defaultConcurrency for a client function. */
  inProcessParallel: number;
  /** The catalogue, the client as a subprocess, `parallel` at a time. */
  catalogueMs: number;
  /** The same, one case at a time. */
  sequentialMs: number;
  /** Time of every case with the kit, summed, in the kit-cost run (kitCost). */
  kitCaseMs: number;
  /** The same cases bare, summed, in the same run: the kit's baseline. */
  bareCaseMs: number;
  /** The catalogue with the reference client run in-process (a function), `inProcessParallel` at a time. */
  inProcessMs: number;
  failed: number;
  propertyRuns: number;
  /** Property runs, the client as a subprocess, `parallel` at a time. */
  propertyMs: number;
  /** The same runs one at a time. */
  propertySequentialMs: number;
  /** The same runs with the client in-process, `inProcessParallel` at a time. */
  inProcessPropertyMs: number;
}

/**
 * What the kit costs a case: each case run with the kit (runCase) and bare, one right after the
 * other (the bare run first for every other case), `parallel` cases at a time, the reference client
 * in-process. Bare is the same emulator (caseEmulatorOptions), key, media and observation file, the
 * client run the same way (runClient), straight against the emulator: no recording proxy, no
 * recording read back, no invariants. The two runs of a case see the same load, which two
 * catalogues measured a minute apart on a shared machine do not. In-process, because a client
 * process's start varied by up to a second a case on the loaded machine, more than the kit costs,
 * and it is the same with and without the kit; and with the client as a subprocess the bare runs
 * had been spawned in the bench's own session where the kit's are each in a session of their own
 * (detached), which under Linux's autogroup scheduling gave the kit's clients more of the CPU: the
 * baseline came out slower than the kit.
 */
async function kitCost(cases: readonly ConformanceCase[], client: ClientUnderTest, parallel: number): Promise<{ kitMs: number; bareMs: number }> {
  let kitMs = 0;
  let bareMs = 0;
  const queue = startOrder(cases.map((c, i) => ({ ...c, i })));
  // Awaited before adding: `sum += await x` would read the sum before the wait and lose the other workers' additions.
  const kit = async (c: ConformanceCase) => {
    const { durationMs } = await runCase(c, { client });
    kitMs += durationMs;
  };
  const bare = async (c: ConformanceCase) => {
    const ms = await bareRun(c, client);
    bareMs += ms;
  };
  const worker = async () => {
    for (let c = queue.shift(); c; c = queue.shift()) {
      if (c.i % 2 === 0) await bare(c).then(() => kit(c));
      else await kit(c).then(() => bare(c));
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return { kitMs, bareMs };
}

/** One case without the kit: the client straight against the case's emulator (ms, emulator start to close). */
async function bareRun(c: ConformanceCase, client: ClientUnderTest): Promise<number> {
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'ih-mock-bench-bare-'));
  try {
    const server = await createMockServer(caseEmulatorOptions(c, 1));
    const env = caseClientEnv(c, { streamUrl: server.streamUrl, baseUrl: server.baseUrl }, join(dir, 'observations.jsonl'));
    await runClient(client, env, caseTimeoutMs(c, server.options.maxDrainSeconds));
    await server.close();
    return Date.now() - started;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function timedProperties(client: ClientUnderTest, runs: number, concurrency: number): Promise<{ ms: number; ok: boolean; runs: number }> {
  const started = Date.now();
  const result = await runProperties({ client, runs, seed: 1, outDir: '.cache', concurrency });
  return { ms: Date.now() - started, ok: result.ok, runs: result.runs };
}

export async function conformanceFigure(propertyRuns: number): Promise<ConformanceFigure> {
  const parallel = defaultConcurrency();
  const catalogue = await runCatalogue(CASES, { client: REFERENCE, concurrency: parallel });
  const sequential = await runCatalogue(CASES, { client: REFERENCE });
  // A path the type checker does not follow: the reference is a plain .mjs script.
  const referencePath = new URL('../conformance/clients/reference.mjs', import.meta.url).href;
  const { runReference } = (await import(referencePath)) as { runReference: (env: ClientEnv) => Promise<number> };
  const inProcessClient = { run: runReference };
  const inProcessParallel = defaultConcurrency(inProcessClient);
  const quietLog = console.error;
  console.error = () => {}; // the client logs each session to stderr; the bench's own lines are enough
  try {
    const { kitMs: kitCaseMs, bareMs: bareCaseMs } = await kitCost(CASES, inProcessClient, parallel);
    const inProcess = await runCatalogue(CASES, { client: inProcessClient, concurrency: inProcessParallel });
    const property = await timedProperties(REFERENCE, propertyRuns, parallel);
    const propertySequential = await timedProperties(REFERENCE, propertyRuns, 1);
    const inProcessProperty = await timedProperties(inProcessClient, propertyRuns, inProcessParallel);
    const catalogues = [catalogue, sequential, inProcess];
    const properties = [property, propertySequential, inProcessProperty];
    return {
      cases: CASES.length,
      parallel,
      inProcessParallel,
      catalogueMs: catalogue.durationMs,
      sequentialMs: sequential.durationMs,
      kitCaseMs,
      bareCaseMs,
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
