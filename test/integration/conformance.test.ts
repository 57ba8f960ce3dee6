/**
 * The conformance kit against real clients: the reference clients (Node and Python, as commands)
 * pass every case, stream and upload, and property runs; the kit is usable in-process with a client
 * function, and its CLI and reports. The broken clients: conformance-broken.test.ts (a file of its
 * own, so the two run in parallel).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { CASES, selectCases } from '../../conformance/cases.js';
import { runProperties } from '../../conformance/properties.js';
import { jsonReport, junitReport } from '../../conformance/reports.js';
import { runCase, runCatalogue, type ClientEnv } from '../../conformance/runner.js';
import { runCli } from '../support/cli.js';

const node = (client: string) => ({ command: `${JSON.stringify(process.execPath)} conformance/clients/${client}` });

describe('the reference clients pass every case', () => {
  it('and property runs (20 generated scenarios with faults, seed 11)', async () => {
    const result = await runProperties({ client: node('reference.mjs'), runs: 20, seed: 11, outDir: mkdtempSync(join(tmpdir(), 'ih-mock-prop-')) });
    expect(result.ok ? 'passed' : `${result.failure.violations.map((v) => `${v.invariant} ${v.message}`).join('; ')} (${result.file})`).toBe('passed');
  }, 180_000);

  it('Node', async () => {
    const result = await runCatalogue(CASES, { client: node('reference.mjs') });
    const bad = result.results.filter((r) => r.verdict !== 'OK' && r.verdict !== 'INFORMATIONAL');
    expect(bad.map((r) => `${r.id}: ${r.violations.map((v) => `${v.invariant} ${v.message}`).join('; ')}`)).toEqual([]);
    expect(result.counts.OK).toBe(CASES.length - CASES.filter((c) => c.informational).length);
  }, 120_000);

  it.each([
    ['Node', `${JSON.stringify(process.execPath)} conformance/clients/minimal.mjs`],
    ['Python', '/usr/bin/python3 conformance/clients/minimal.py'],
  ])('the README\'s minimal %s client too', async (_name, command) => {
    const result = await runCatalogue(CASES, { client: { command } });
    expect(result.results.filter((r) => r.verdict === 'FAILED').map((r) => r.id)).toEqual([]);
  }, 120_000);

  it('Python (Debian python3-websockets), through the command contract', async () => {
    const python = '/usr/bin/python3';
    execFileSync(python, ['-c', 'import websockets']); // the suite's machines install it (.ci/run)
    const result = await runCatalogue(CASES, { client: { command: `${python} conformance/clients/reference.py` } });
    const bad = result.results.filter((r) => r.verdict === 'FAILED');
    expect(bad.map((r) => `${r.id}: ${r.violations.map((v) => `${v.invariant} ${v.message}`).join('; ')}`)).toEqual([]);
  }, 120_000);
});

describe('running the kit', () => {
  it('in-process: the reference client as a function passes every case', async () => {
    const { runReference } = (await import(new URL('../../conformance/clients/reference.mjs', import.meta.url).href)) as { runReference: (env: ClientEnv) => Promise<number> };
    const result = await runCatalogue(CASES, { client: { run: runReference } });
    expect(result.results.filter((r) => r.verdict === 'FAILED').map((r) => r.id)).toEqual([]);
  }, 120_000);

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
    const result = await runCatalogue(selectCases(['2.1', '4.1']), { client: node('broken-session-configure.mjs') });
    const xml = junitReport(result, 'demo');
    expect(xml).toMatch(/<testsuite name="demo" tests="2" failures="2"/);
    expect(xml).toMatch(/<testcase classname="ih-mock.conformance" name="2.1 Config frame shape"[^>]*>\s*<failure message="client.config-valid: /);
    const json = JSON.parse(jsonReport(result, { client: 'x' }));
    expect(json.results.map((r: { id: string; verdict: string }) => `${r.id} ${r.verdict}`)).toEqual(['2.1 FAILED', '4.1 FAILED']);
  }, 60_000);

  it('the CLI: --cases selects, exit 1 on FAILED, a ledger of expected deviations turns it into 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ih-mock-ledger-'));
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
  }, 60_000);
});
