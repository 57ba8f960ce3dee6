/**
 * Each deliberately broken client (conformance/clients/broken-*.mjs) is caught by a named case (run
 * through the command contract) and by a property run whose shrunk scenario file replays the
 * failure (run in-process: the point there is the client's behaviour, not the subprocess); stream
 * and upload reproducers also replay through the CLI, with the printed command's flags. The
 * reference passes every one of these cases (conformance.test.ts asserts OK on the whole catalogue).
 * Also: what property runs promise (a shrink budget, generated runs counted apart from shrink runs,
 * faults the failure does not need shrunk away, a warning when the reproducer does not reproduce,
 * files that never collide) and the case time limits.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CASES, selectCases, type Transport } from '../../conformance/cases.js';
import { conformanceRunArbitrary, runProperties, type PropertyResult } from '../../conformance/properties.js';
import { caseTimeoutMs, caseTransport, runCase, scenarioCase, scriptedWaitMs, type ClientEnv } from '../../conformance/runner.js';
import { loadScenario } from '../../scenarios/loader.js';
import { runCli } from '../support/cli.js';
import { inProcessClient, nodeClient, withTempDir } from '../support/conformance.js';

/** Each bug class, the case that must catch it and the invariant it must break. */
const BROKEN: [client: string, caseId: string, invariant: string][] = [
  ['broken-signals-array.mjs', '4.1', 'client.spans-match'],
  ['broken-no-implicit-end.mjs', '4.4', 'client.spans-closed'],
  ['broken-ignores-size-limit.mjs', '3.1', 'client.segment-size'],
  ['broken-session-configure.mjs', '2.1', 'client.config-valid'],
  ['broken-unknown-type-fatal.mjs', '5.2', 'client.events-in-order'],
  ['broken-reconnect-loop.mjs', '1.3', 'client.no-hammering'],
  // Not waiting for session.ready shows when none comes (1.2), not honouring it when it sets a limit (3.1).
  ['broken-ignores-ready.mjs', '1.2', 'client.waits-for-ready'],
  ['broken-ignores-ready.mjs', '3.1', 'client.segment-size'],
  // A polite reconnect policy that ignores why the session ended: after ih3003 (4029), after a 401 on the upgrade, after session.ended.
  ['broken-reconnect-after-final.mjs', '1.3', 'client.no-reconnect-after-final'],
  ['broken-reconnect-after-final.mjs', '1.4', 'client.no-reconnect-after-final'],
  ['broken-reconnect-after-final.mjs', '1.1', 'client.no-reconnect-after-final'],
  ['broken-auth-header.mjs', '1.1', 'client.authenticates'],
  ['broken-error-without-segment.mjs', '5.1', 'client.errors-surfaced'],
  ['broken-no-session-close.mjs', '6.1', 'client.close-requested'],
  ['broken-silence-timeout.mjs', '6.3', 'client.close-requested'],
  ['broken-span-per-type.mjs', '4.2', 'client.spans-match'],
  // The upload endpoint (IH_TRANSPORT=upload).
  ['broken-upload-signal-type.mjs', '8.1', 'client.spans-match'],
  ['broken-upload-include.mjs', '8.1', 'client.upload-include'],
  ['broken-upload-short-timeout.mjs', '8.2', 'client.upload-waits'],
  ['broken-upload-retry-loop.mjs', '8.3', 'client.upload-retry'],
  ['broken-upload-retry-loop.mjs', '8.5', 'client.upload-retry'],
  ['broken-auth-header.mjs', '8.1', 'client.authenticates'],
];

describe.concurrent('each broken client is caught by a named case', () => {
  it.each(BROKEN)('%s: case %s fails on %s', async (client, caseId, invariant) => {
    const broken = await runCase(selectCases([caseId])[0]!, { client: nodeClient(client) });
    expect(broken.verdict).toBe('FAILED');
    expect(broken.violations.map((v) => v.invariant)).toContain(invariant);
  }, 90_000);
});

/** Shrink candidates a test's property run may try: bounds its time; what it finds within them must still replay. */
const SHRINK_RUNS = 25;

async function expectReplays(result: PropertyResult, client: string, invariant: string, seed: number): Promise<void> {
  expect(result.ok).toBe(false);
  if (result.ok) return;
  expect(result.failure.violations.map((v) => v.invariant)).toContain(invariant);
  expect(result.reproduced, result.warning ?? '').toBe(true);
  const replayed = await runCase(scenarioCase('replay', loadScenario(result.file), result.transport), { client: await inProcessClient(client), seed });
  expect(replayed.verdict).toBe('FAILED');
  expect(replayed.violations.map((v) => v.invariant)).toContain(invariant);
}

describe.concurrent('each broken client is caught by a property run whose shrunk scenario file replays the failure', () => {
  // Seeds that find each bug within a few generated runs (measured); a bug the arbitraries cannot reach would fail here.
  // Shrinking is bounded by a number of runs: a smaller one for clients whose every run is long (reconnects with backoff, timeouts).
  it.each<[string, string, Transport, number, number?]>([
    ['broken-signals-array.mjs', 'client.spans-match', 'stream', 2],
    ['broken-no-implicit-end.mjs', 'client.spans-closed', 'stream', 1], // needs the connection cut mid-stream (right after the first window's results)
    ['broken-session-configure.mjs', 'client.config-valid', 'stream', 1],
    ['broken-reconnect-loop.mjs', 'client.no-hammering', 'stream', 2, 4], // 21 sessions a run
    ['broken-ignores-size-limit.mjs', 'client.segment-size', 'stream', 1],
    ['broken-ignores-ready.mjs', 'client.segment-size', 'stream', 1],
    ['broken-unknown-type-fatal.mjs', 'client.events-in-order', 'stream', 2],
    ['broken-reconnect-after-final.mjs', 'client.no-reconnect-after-final', 'stream', 2, 8], // 3 s of backoff a run
    ['broken-auth-header.mjs', 'client.authenticates', 'stream', 2],
    ['broken-error-without-segment.mjs', 'client.errors-surfaced', 'stream', 2], // needs an error about one segment
    ['broken-no-session-close.mjs', 'client.close-requested', 'stream', 3],
    ['broken-silence-timeout.mjs', 'client.close-requested', 'stream', 2, 10], // needs a scripted delay longer than its 4 s
    ['broken-span-per-type.mjs', 'client.spans-match', 'stream', 7], // needs a flapping signal
    ['broken-upload-signal-type.mjs', 'client.spans-match', 'upload', 4],
    ['broken-upload-include.mjs', 'client.upload-include', 'upload', 4],
    ['broken-upload-retry-loop.mjs', 'client.upload-retry', 'upload', 4],
    ['broken-upload-short-timeout.mjs', 'client.upload-waits', 'upload', 5],
    ['broken-auth-header.mjs', 'client.authenticates', 'upload', 5],
  ])('%s on %s (%s, seed %i)', async (client, invariant, transport, seed, shrinkRuns = SHRINK_RUNS) => {
    const underTest = await inProcessClient(client);
    await withTempDir('ih-mock-prop-', async (outDir) => {
      const result = await runProperties({ client: underTest, runs: 40, seed, transports: [transport], shrinkBudget: { runs: shrinkRuns }, outDir });
      await expectReplays(result, client, invariant, seed);
    });
  }, 240_000);
});

describe.concurrent('property runs', () => {
  it('a stream bug: shrunk to one flapping type with no faults, the counts kept apart, and the printed command replays it through the CLI', () =>
    withTempDir('ih-mock-prop-', async (outDir) => {
      const phases: string[] = [];
      const result = await runProperties({ client: await inProcessClient('broken-span-per-type.mjs'), runs: 40, seed: 7, transports: ['stream'], outDir, clientCommand: 'node conformance/clients/broken-span-per-type.mjs', onRun: (_r, _n, phase) => phases.push(phase) });
      expect(result.ok).toBe(false);
      if (result.ok) return;
      expect(result.shrinking).toBe('done');
      // "failed after N runs" counts the generated runs only.
      expect(result.runs).toBe(phases.filter((p) => p === 'generated').length);
      expect(result.shrinkRuns).toBe(phases.filter((p) => p === 'shrinking').length);
      expect(result.shrinkRuns).toBeGreaterThan(0);
      // Shrunk: the generated faults are gone, and one type detected twice is all it takes.
      expect(result.counterexample.faults).toEqual([]);
      expect(new Set(result.counterexample.signals!.map((s) => s.type)).size).toBe(1);
      expect(result.counterexample.signals).toHaveLength(2);
      expect(result.replay).toContain(`--scenario-file ${result.file} --transport stream`);
      const replayed = await runCli(['conformance', '--client', `${process.execPath} conformance/clients/broken-span-per-type.mjs`, '--scenario-file', result.file, '--transport', 'stream', '--seed', '7']);
      expect(replayed.code).toBe(1);
      expect(replayed.stdout).toMatch(/S1 +FAILED[\s\S]*client\.spans-match/);
      expect(loadScenario(result.file).signals).toEqual(result.counterexample.signals);
    }), 240_000);

  it('an upload bug through the CLI: shrunk to the spans of one type with no faults, --transport upload replays it', () =>
    withTempDir('ih-mock-prop-', async (outDir) => {
      const client = `${process.execPath} conformance/clients/broken-upload-signal-type.mjs`;
      const run = await runCli(['conformance', '--client', client, '--runs', '20', '--seed', '4', '--transport', 'upload', '--out-dir', outDir]);
      expect(run.code).toBe(1);
      expect(run.stdout).toMatch(/^property failed after 1 generated runs \(seed 4\); the smallest failing scenario \(after \d+ shrink runs\):/m);
      const file = /written to (\S+)/.exec(run.stdout)![1]!;
      expect(file).toBe(`${outDir}/ih-mock-counterexample-seed-4-upload.yaml`);
      const scenario = loadScenario(file);
      // One type is enough to show the bug (its two spans when it is the flapping one: they shrink away together or not at all).
      expect(new Set(scenario.signals!.map((s) => s.type)).size).toBe(1);
      expect(scenario.signals!.length).toBeLessThanOrEqual(2);
      expect(scenario.faults).toEqual([]);
      const replay = /replay exactly this case: (.*)$/m.exec(run.stdout)![1]!;
      expect(replay).toContain(`--scenario-file ${file} --transport upload --seed 4`);
      const replayed = await runCli(['conformance', '--client', client, '--scenario-file', file, '--transport', 'upload', '--seed', '4']);
      expect(replayed.code).toBe(1);
      expect(replayed.stdout).toMatch(/S1 +FAILED[\s\S]*client\.spans-match/);
    }), 240_000);

  it('--shrink-budget stops shrinking and reports the smallest failing scenario found so far, which replays', () =>
    withTempDir('ih-mock-prop-', async (outDir) => {
      const client = `${process.execPath} conformance/clients/broken-span-per-type.mjs`;
      const run = await runCli(['conformance', '--client', client, '--runs', '40', '--seed', '7', '--transport', 'stream', '--shrink-budget', '3', '--out-dir', outDir]);
      expect(run.code).toBe(1);
      expect(run.stdout).toMatch(/the smallest failing scenario found before the shrink budget \(3 runs\) ran out, after 3 shrink runs/);
      expect(run.stderr.match(/shrink run \d+/g)).toEqual(['shrink run 1', 'shrink run 2', 'shrink run 3']);
      const file = /written to (\S+)/.exec(run.stdout)![1]!;
      expect(readFileSync(file, 'utf8')).toMatch(/^# The smallest \(shrinking stopped by its budget, 3 runs, after 3 runs\) failing scenario/);
      const replayed = await runCase(scenarioCase('replay', loadScenario(file), 'stream'), { client: nodeClient('broken-span-per-type.mjs'), seed: 7 });
      expect(replayed.violations.map((v) => v.invariant)).toContain('client.spans-match');
    }), 240_000);

  it('a failure that does not come back on the final re-run is reported with a warning, never silently', async () => {
    // A flaky client: broken on its first run only, then correct.
    const broken = await inProcessClient('broken-span-per-type.mjs');
    const reference = await inProcessClient('reference.mjs');
    let runs = 0;
    const flaky = { run: (env: ClientEnv) => (runs++ === 0 && 'run' in broken ? broken.run(env) : 'run' in reference ? reference.run(env) : Promise.resolve(1)) };
    await withTempDir('ih-mock-prop-', async (outDir) => {
      // Every shrink candidate passes (the client is correct after its first run): a small budget
      // bounds the search, which is not what this test is about.
      const result = await runProperties({ client: flaky, runs: 40, seed: 7, transports: ['stream'], shrinkBudget: { runs: 4 }, outDir });
      expect(result.ok).toBe(false);
      if (result.ok) return;
      expect(result.reproduced).toBe(false);
      expect(result.rerun.verdict).toBe('OK');
      expect(result.failure.verdict).toBe('FAILED');
      expect(result.warning).toMatch(/did not fail the same way when run again \(OK\)/);
      expect(readFileSync(result.file, 'utf8')).toMatch(/^# WARNING: the shrunk scenario did not fail the same way/m);
    });
  }, 120_000);

  it('parallel runs with the same seed write distinct counterexample files', () =>
    withTempDir('ih-mock-prop-', async (outDir) => {
      const options = { runs: 40, seed: 2, transports: ['stream'] as Transport[], shrink: false, outDir };
      const [a, b] = await Promise.all([runProperties({ ...options, client: await inProcessClient('broken-auth-header.mjs') }), runProperties({ ...options, client: await inProcessClient('broken-auth-header.mjs') })]);
      const files = [a, b].map((r) => (r.ok ? '' : r.file)).sort();
      expect(files).toEqual([`${outDir}/ih-mock-counterexample-seed-2-stream-2.yaml`, `${outDir}/ih-mock-counterexample-seed-2-stream.yaml`]);
    }), 60_000);

  it('generated runs side by side end as one at a time: the first failing run in the seed\'s order, however the runs finish', () =>
    withTempDir('ih-mock-prop-', async (outDir) => {
      // Seed 16's first six runs are uploads (which this client gets right, taking 0.2 to 5 s each);
      // the seventh is the first stream run, which its session.configure frame fails.
      const options = { client: await inProcessClient('broken-session-configure.mjs'), runs: 10, seed: 16, shrink: false, outDir };
      const oneAtATime = await runProperties(options);
      const fourAtATime = await runProperties({ ...options, concurrency: 4 });
      for (const result of [oneAtATime, fourAtATime]) {
        expect(result.ok).toBe(false);
        if (result.ok) return;
        expect(result.runs).toBe(7);
        expect(result.transport).toBe('stream');
        expect(result.failure.id).toBe('P7');
        expect(result.failure.violations.map((v) => v.invariant)).toContain('client.config-valid');
      }
      if (oneAtATime.ok || fourAtATime.ok) return;
      expect(fourAtATime.counterexample).toEqual(oneAtATime.counterexample);
    }), 120_000);

  it('side by side, the generated runs with the longest scripted waits start first; every run still runs and reports in the seed\'s order', () =>
    withTempDir('ih-mock-prop-', async (outDir) => {
      const reference = await inProcessClient('reference.mjs');
      const started: string[] = [];
      const client = { run: (env: ClientEnv) => (started.push(env.IH_CASE), 'run' in reference ? reference.run(env) : Promise.resolve(1)) };
      const runs = 10;
      const seed = 16; // its longest waits are not its first runs: P2 (6 s), P1 (5 s), P10 (4 s), P4 (2 s)
      const waits = fc.sample(conformanceRunArbitrary(), { seed, numRuns: runs }).map(({ transport, scenario }, i) => ({ id: `P${i + 1}`, wait: scriptedWaitMs(scenarioCase('P', scenario, transport)) }));
      const longest = [...waits].sort((a, b) => b.wait - a.wait).slice(0, 4).map((w) => w.id);
      expect(longest).toContain('P10');
      const result = await runProperties({ client, runs, seed, outDir, concurrency: 4 });
      expect(result.ok).toBe(true);
      if (!result.ok) return;
      // The first four a worker took, in whatever order their emulators came up.
      expect(started.slice(0, 4).sort()).toEqual(longest.sort());
      expect(started.sort()).toEqual(waits.map((w) => w.id).sort());
      expect(result.results.map((r) => r.id)).toEqual(waits.map((w) => w.id));
    }), 120_000);
});

describe('case time limits', () => {
  const DRAIN_SECONDS = 30;
  /** What a correct client may have to wait for on a stream case: its media, the drain and every scripted delay. */
  const waits = (c: (typeof CASES)[number]) =>
    caseTransport(c) === 'upload'
      ? (c.scenario.faults ?? []).reduce((sum, f) => sum + (f.action === 'delay' ? (f.seconds ?? 0) * 1000 : 0) + (f.retry_after_seconds ?? 0) * 1000, 0)
      : c.mediaSeconds * 1000 + DRAIN_SECONDS * 1000 + (c.scenario.faults ?? []).reduce((sum, f) => sum + (f.action === 'delay' ? (f.seconds ?? 0) * 1000 * (f.windows ?? 1) : 0), 0);

  it('every catalogue case allows longer than the longest drain plus the delays it scripts', () => {
    for (const c of CASES) expect(caseTimeoutMs(c, DRAIN_SECONDS), c.id).toBeGreaterThan(waits(c));
  });

  it('so does every generated property run', () => {
    fc.assert(
      fc.property(conformanceRunArbitrary(), ({ transport, scenario }) => {
        const c = scenarioCase('P', scenario, transport);
        expect(caseTimeoutMs(c, DRAIN_SECONDS)).toBeGreaterThan(waits(c));
      }),
      { seed: 13, numRuns: 300 },
    );
  });
});
