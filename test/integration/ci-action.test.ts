/**
 * The conformance CI action (.github/actions/conformance, docs/ci-action.md). What GitHub runs is
 * the script next to action.yml, so the script is run here as a process, as the action's step runs
 * it: inputs as environment variables, $GITHUB_OUTPUT and $GITHUB_STEP_SUMMARY files, ih-mock as
 * this repository's built CLI. Against the reference client it passes with a JUnit report (parsed by
 * an XML parser: Python's ElementTree) and an HTML report; a broken client fails it, with the
 * reports still written for the upload step; the ledger and property-run inputs reach the kit. The
 * action.yml is parsed to check that its step runs that script with every declared input.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { PACKAGE_ROOT } from '../../server/paths.js';
import { BIN } from '../support/cli.js';
import { tempDir, useTempDirs } from '../support/temp.js';

useTempDirs();

const ACTION_DIR = join(PACKAGE_ROOT, '.github', 'actions', 'conformance');
const SCRIPT = join(ACTION_DIR, 'run-conformance.sh');
const shellQuote = (arg: string) => `'${arg.replaceAll("'", `'\\''`)}'`;
const IH_MOCK = [process.execPath, BIN].map(shellQuote).join(' ');
const client = (file: string) => `${shellQuote(process.execPath)} ${shellQuote(join(PACKAGE_ROOT, 'conformance', 'clients', file))}`;

interface ScriptRun {
  code: number | null;
  output: string;
  /** What the script wrote to $GITHUB_OUTPUT. */
  outputs: Record<string, string>;
  summary: string;
}

/** Run the action's script in `cwd` with these inputs (nothing of this process's CONFORMANCE_* or GITHUB_* leaks in). */
async function runScript(cwd: string, inputs: Record<string, string>): Promise<ScriptRun> {
  const outputFile = join(cwd, 'github-output.txt');
  const summaryFile = join(cwd, 'github-summary.md');
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(CONFORMANCE_|GITHUB_|IH_)/.test(k)));
  Object.assign(env, { IH_MOCK_COMMAND: IH_MOCK, GITHUB_OUTPUT: outputFile, GITHUB_STEP_SUMMARY: summaryFile, NO_COLOR: '1' }, inputs);
  const child = spawn('bash', [SCRIPT], { cwd, env });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const outputs = existsSync(outputFile) ? Object.fromEntries(readFileSync(outputFile, 'utf8').trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)])) : {};
  return { code, output, outputs, summary: existsSync(summaryFile) ? readFileSync(summaryFile, 'utf8') : '' };
}

interface JUnitCase {
  name: string;
  failures: string[];
  errors: number;
  skipped: number;
}

/** The testcases of a JUnit file, read with a real XML parser (Python's ElementTree: a malformed file throws). */
async function junitCases(file: string): Promise<JUnitCase[]> {
  const program = [
    'import json, sys, xml.etree.ElementTree as ET',
    'root = ET.parse(sys.argv[1]).getroot()',
    'print(json.dumps([{"name": c.get("name"), "failures": [f.get("message") or f.text or "" for f in c.findall("failure")], "errors": len(c.findall("error")), "skipped": len(c.findall("skipped"))} for c in root.iter("testcase")]))',
  ].join('\n');
  const { stdout } = await promisify(execFile)('/usr/bin/python3', ['-I', '-c', program, file]);
  return JSON.parse(stdout) as JUnitCase[];
}

describe('the action script, run as a process', () => {
  it('passes the reference client, with a JUnit and an HTML report whose paths it outputs', { timeout: 180_000 }, async () => {
    const dir = tempDir('ih-mock-action-');
    const run = await runScript(dir, { CONFORMANCE_CLIENT: client('reference.mjs'), CONFORMANCE_CASES: '1.2,8.1', CONFORMANCE_SEED: '3' });
    expect(run.code, run.output).toBe(0);
    const reports = join(dir, 'ih-mock-conformance'); // the default report-dir, made in the working directory
    expect(run.outputs).toEqual({ junit: join(reports, 'junit.xml'), html: join(reports, 'report.html'), json: join(reports, 'report.json'), 'report-dir': reports, 'exit-code': '0' });
    // The command it ran, with the inputs as flags.
    expect(run.output).toMatch(/^run-conformance: .* conformance --client .*reference\.mjs.* --cases 1\.2\\?,8\.1 --seed 3$/m); // %q may escape the comma

    const cases = await junitCases(run.outputs['junit']!);
    expect(cases.map((c) => c.name.split(' ')[0])).toEqual(['1.2', '8.1']);
    expect(cases.flatMap((c) => [...c.failures, ...Array(c.errors + c.skipped).fill('not run')])).toEqual([]);
    const html = readFileSync(run.outputs['html']!, 'utf8');
    expect(html).toMatch(/^<!doctype html>/i);
    expect(html).toContain('Credential without the stream scope');
    expect(html).toContain('Upload and read the result');
    expect(JSON.parse(readFileSync(run.outputs['json']!, 'utf8'))).toBeTruthy();
    expect(run.summary).toMatch(/^### ih-mock conformance: passed$/m);
    expect(run.summary).toContain('2 cases in');
  });

  it('fails for a broken client, still writing the reports and their paths; a ledger naming the deviation lets it pass', { timeout: 180_000 }, async () => {
    const dir = tempDir('ih-mock-action-');
    const broken = client('broken-auth-header.mjs'); // sends "Authorization: <key>" without "Bearer "
    const run = await runScript(dir, { CONFORMANCE_CLIENT: broken, CONFORMANCE_CASES: '8.1', CONFORMANCE_REPORT_DIR: 'reports' });
    expect(run.code, run.output).toBe(1);
    expect(run.outputs['exit-code']).toBe('1');
    expect(run.outputs['report-dir']).toBe(join(dir, 'reports'));
    const [only, ...rest] = await junitCases(run.outputs['junit']!);
    expect(rest).toEqual([]);
    expect(only!.name).toMatch(/^8\.1 /);
    expect(only!.failures.join('\n')).toContain('client.authenticates');
    expect(readFileSync(run.outputs['html']!, 'utf8')).toContain('client.authenticates');
    expect(run.summary).toMatch(/^### ih-mock conformance: failed \(exit 1\)$/m);

    const ledger = join(dir, 'ledger.yaml');
    writeFileSync(ledger, '"8.1": [client.authenticates]\n');
    const excused = await runScript(dir, { CONFORMANCE_CLIENT: broken, CONFORMANCE_CASES: '8.1', CONFORMANCE_REPORT_DIR: 'reports', CONFORMANCE_LEDGER: ledger });
    expect(excused.code, excused.output).toBe(0);
    expect(excused.output).toContain('--ledger');
    expect((await junitCases(excused.outputs['junit']!)).map((c) => c.name.split(' ')[0])).toEqual(['8.1']);
  });

  it('property runs: runs, seed and transport reach the kit; passing runs are reported, one test case each', { timeout: 180_000 }, async () => {
    const dir = tempDir('ih-mock-action-');
    const run = await runScript(dir, { CONFORMANCE_CLIENT: client('reference.mjs'), CONFORMANCE_RUNS: '2', CONFORMANCE_SEED: '11', CONFORMANCE_TRANSPORT: 'stream' });
    expect(run.code, run.output).toBe(0);
    expect(run.output).toMatch(/ --runs 2 --out-dir \S+ --seed 11 --transport stream$/m);
    expect(run.output).toContain('2 property runs passed');
    // Passing runs are reported too: the CI shows what was checked.
    expect(run.outputs['exit-code']).toBe('0');
    const cases = await junitCases(run.outputs['junit']!);
    expect(cases.map((c) => c.name.split(' ')[0])).toEqual(['P1', 'P2']);
    expect(cases.flatMap((c) => [...c.failures, ...(c.errors ? [`${c.name}: error`] : [])])).toEqual([]);
    expect(readFileSync(run.outputs['html']!, 'utf8')).toContain('P2');
    expect(readFileSync(join(run.outputs['report-dir']!, 'console.txt'), 'utf8')).toContain('2 property runs passed');
  });

  it('without a client it stops at once with exit 2, and writes no outputs', async () => {
    const dir = tempDir('ih-mock-action-');
    const run = await runScript(dir, {});
    expect(run.code).toBe(2);
    expect(run.output).toContain('CONFORMANCE_CLIENT (the action\'s client input) is required');
    expect(run.outputs).toEqual({});
  });
});

describe('action.yml', () => {
  const action = parse(readFileSync(join(ACTION_DIR, 'action.yml'), 'utf8'));
  const script = readFileSync(SCRIPT, 'utf8');
  const steps: any[] = action.runs.steps;
  const step = steps.find((s) => s.id === 'conformance');

  it('is a composite action without Docker whose step runs the script with the inputs as its environment', () => {
    expect(action.runs.using).toBe('composite');
    expect(JSON.stringify(action)).not.toMatch(/docker/i);
    expect(Object.keys(action.inputs)).toEqual(expect.arrayContaining(['client', 'cases', 'runs', 'seed', 'ledger']));
    expect(action.inputs.client.required).toBe(true);
    expect(step.shell).toBe('bash');
    expect(step.run).toBe('bash "$GITHUB_ACTION_PATH/run-conformance.sh"');
    // Every variable the script reads is set by the step, from an input that exists.
    const read = new Set([...script.matchAll(/\$\{((?:CONFORMANCE|IH_MOCK)_[A-Z_]+)/g)].map((m) => m[1]!));
    expect(new Set(Object.keys(step.env))).toEqual(read);
    for (const [name, value] of Object.entries<string>(step.env)) {
      const input = /^\$\{\{ inputs\.([a-z-]+) \}\}$/.exec(value)?.[1];
      expect(input && action.inputs[input], `${name}: ${value}`).toBeTruthy();
    }
    expect(step.env.CONFORMANCE_CLIENT).toBe('${{ inputs.client }}');
  });

  it('uses every input it declares, and only those; its outputs are what the script writes', () => {
    const text = JSON.stringify(action.runs);
    const used = new Set([...text.matchAll(/inputs\.([a-z-]+)/g)].map((m) => m[1]!));
    expect([...used].sort()).toEqual(Object.keys(action.inputs).sort());
    const written = [...script.matchAll(/echo "([a-z-]+)=\$/g)].map((m) => m[1]!);
    for (const [name, output] of Object.entries<any>(action.outputs)) {
      expect(output.value).toBe(`\${{ steps.conformance.outputs.${name} }}`);
      expect(written).toContain(name);
    }
  });

  it('uploads the report folder with actions/upload-artifact, also when the run failed', () => {
    const upload = steps.find((s) => String(s.uses).startsWith('actions/upload-artifact@'));
    expect(upload.if).toContain('always()');
    expect(upload.with.path).toBe('${{ steps.conformance.outputs.report-dir }}');
    expect(steps.indexOf(upload)).toBeGreaterThan(steps.indexOf(step));
  });
});

describe('the workflow examples of the README and docs/ci-action.md', () => {
  const action = parse(readFileSync(join(ACTION_DIR, 'action.yml'), 'utf8'));
  /** Every ```yaml block of a page, parsed. */
  const blocks = (page: string): any[] => [...readFileSync(join(PACKAGE_ROOT, page), 'utf8').matchAll(/^```yaml\n([\s\S]*?)^```/gm)].map((m) => parse(m[1]!));

  it.each(['README.md', 'docs/ci-action.md'])('%s: each use of the action names its folder and only inputs it declares, with the required ones', (page) => {
    const uses = blocks(page)
      .flatMap((block) => (Array.isArray(block) ? block : Object.values<any>(block.jobs ?? {}).flatMap((job) => job.steps)))
      .filter((step) => typeof step?.uses === 'string' && step.uses.includes('/.github/actions/conformance'));
    expect(uses.length).toBeGreaterThan(0);
    const required = Object.entries<any>(action.inputs).filter(([, input]) => input.required).map(([name]) => name);
    for (const step of uses) {
      expect(step.uses).toMatch(/^<owner>\/ih-mock\/\.github\/actions\/conformance@main$/);
      expect(Object.keys(step.with).filter((name) => !(name in action.inputs))).toEqual([]);
      expect(Object.keys(step.with)).toEqual(expect.arrayContaining(required));
    }
  });
});
