/**
 * The conformance kit against real clients: the reference and minimal clients (Node and Python, as
 * commands) pass every case, stream and upload, with OK, and the reference passes property runs; the
 * kit is usable in-process with a client function, and its CLI and reports. The broken clients:
 * conformance-broken.test.ts (a file of its own, so the two run in parallel).
 *
 * Speed: each catalogue runs its cases a few at a time (each case has its own emulator, proxy and
 * client), and the four catalogues run side by side; runs whose point is not the command contract
 * run the client in-process.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { CASES, selectCases } from '../../conformance/cases.js';
import { runProperties } from '../../conformance/properties.js';
import { jsonReport, junitReport } from '../../conformance/reports.js';
import { runCase, runCatalogue, type ClientEnv } from '../../conformance/runner.js';
import { runCli } from '../support/cli.js';
import { expectEveryCaseOk, inProcessClient, nodeClient, pythonClient, withTempDir } from '../support/conformance.js';

/** Cases of one catalogue run at once: the machine's two cores are shared, and each case is mostly waiting. */
const CASES_AT_ONCE = 3;

describe.concurrent('the reference and minimal clients pass every case with OK', () => {
  it.each([
    ['the Node reference', 'reference.mjs'],
    ["the README's minimal Node client", 'minimal.mjs'],
    ['the Python reference (Debian python3-websockets)', 'reference.py'],
    ["the README's minimal Python client", 'minimal.py'],
  ])('%s, through the command contract', async (_name, file) => {
    if (file.endsWith('.py')) execFileSync('/usr/bin/python3', ['-c', 'import websockets']); // the suite's machines install it (.ci/run)
    const client = file.endsWith('.py') ? pythonClient(file) : nodeClient(file);
    expectEveryCaseOk(await runCatalogue(CASES, { client, concurrency: CASES_AT_ONCE }));
  }, 240_000);

  it('the reference, and property runs (20 generated scenarios with faults and flapping signals, seed 11)', async () => {
    const client = await inProcessClient('reference.mjs');
    const result = await withTempDir('ih-mock-prop-', (outDir) => runProperties({ client, runs: 20, seed: 11, outDir }));
    expect(result.ok ? 'passed' : `${result.failure.violations.map((v) => `${v.invariant} ${v.message}`).join('; ')} (${result.file})`).toBe('passed');
  }, 240_000);
});

describe('running the kit', () => {
  it('in-process: the reference client as a function passes a stream and an upload case', async () => {
    const { runReference } = (await import(new URL('../../conformance/clients/reference.mjs', import.meta.url).href)) as { runReference: (env: ClientEnv) => Promise<number> };
    const result = await runCatalogue(selectCases(['5.1', '8.4']), { client: { run: (env) => runReference(env) }, concurrency: 2 });
    expect(result.results.map((r) => `${r.id} ${r.verdict}`)).toEqual(['5.1 OK', '8.4 OK']);
  }, 60_000);

  it('in-process: a client function gets the same environment and is judged the same way', async () => {
    const inProcess = async (env: ClientEnv): Promise<number> => {
      const ws = new WebSocket(env.IH_STREAM_URL, { headers: { authorization: `Bearer ${env.IH_API_KEY}` } });
      const closed = new Promise<void>((resolve) => ws.on('close', () => resolve()));
      ws.on('message', (data) => {
        if (JSON.parse(data.toString()).type !== 'session.ready') return;
        ws.send(readFileSync(env.IH_MEDIA_FILE));
        ws.send(JSON.stringify({ type: 'session.close' }));
      });
      await closed;
      return 0;
    };
    const result = await runCase(selectCases(['6.1'])[0]!, { client: { run: inProcess } });
    expect(result.verdict).toBe('OK');
    expect(result.connections).toBe(1);
  }, 60_000);

  it('JUnit XML and JSON reports name each case, its verdict and the violated invariants', async () => {
    const result = await runCatalogue(selectCases(['2.1', '4.1']), { client: nodeClient('broken-session-configure.mjs'), concurrency: 2 });
    const xml = junitReport(result, 'demo');
    expect(xml).toMatch(/<testsuite name="demo" tests="2" failures="2"/);
    expect(xml).toMatch(/<testcase classname="ih-mock.conformance" name="2.1 Config frame shape"[^>]*>\s*<failure message="client.config-valid: /);
    const json = JSON.parse(jsonReport(result, { client: 'x' }));
    expect(json.results.map((r: { id: string; verdict: string }) => `${r.id} ${r.verdict}`)).toEqual(['2.1 FAILED', '4.1 FAILED']);
  }, 60_000);

  it('the CLI: --cases selects, exit 1 on FAILED, a ledger of expected deviations turns it into 0', () => withTempDir('ih-mock-ledger-', async (dir) => {
    const junit = join(dir, 'junit.xml');
    const client = `${process.execPath} conformance/clients/broken-ignores-size-limit.mjs`;
    const html = join(dir, 'report.html');
    const failed = await runCli(['conformance', '--client', client, '--cases', '3.*', '--junit', junit, '--html', html]);
    const page = readFileSync(html, 'utf8');
    expect(page).toContain('<svg class="timeline"');
    expect(page).toContain('client.segment-size');
    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(/^3\.1 +FAILED/m);
    expect(failed.stdout).toMatch(/1 cases in [\d.]+ s: 0 OK, 0 NON-STRICT, 1 FAILED/);
    expect(readFileSync(junit, 'utf8')).toMatch(/failures="1"/);
    const ledger = join(dir, 'ledger.yaml');
    writeFileSync(ledger, '"3.1": [client.segment-size, client.segment-duration]\n');
    const expected = await runCli(['conformance', '--client', client, '--cases', '3.*', '--ledger', ledger]);
    expect(expected.code).toBe(0);
    expect(expected.stdout).toMatch(/1 FAILED case\(s\) are expected by the ledger: 3\.1/);
    expect((await runCli(['conformance'])).code).toBe(2);
    expect((await runCli(['conformance', '--client', 'x', '--cases', '9.*'])).stderr).toMatch(/no case matches 9\.\*/);
    expect((await runCli(['conformance', '--client', 'x', '--runs', '3', '--shrink-budget', '5 minutes'])).stderr).toMatch(/--shrink-budget: a shrink budget is a time/);
  }), 120_000);
});
