/**
 * The pytest plugin (python/pytest-ih-mock, docs/pytest.md) tested by its own pytest suite, run the
 * way CI runs it: Debian's `/usr/bin/python3 -m pytest` (pytest 7, websockets 10.4) with the plugin
 * on PYTHONPATH (no pip install) and loaded with `-p pytest_ih_mock`, ih-mock being this
 * repository's built CLI. In that suite a real websockets client streams ffmpeg-made media through
 * the fixture while the test waits, injects and queues faults; pytester runs check the life cycle
 * (scopes, no process left). Here: every test of it ran (none skipped or uncollected: pytest's exit
 * code 5, nothing collected, is a failure like any other non-zero code) and passed.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../server/paths.js';
import { BIN } from '../support/cli.js';
import { tempDir, useTempDirs } from '../support/temp.js';

useTempDirs();

const PYTHON = '/usr/bin/python3';
const PLUGIN = join(PACKAGE_ROOT, 'python', 'pytest-ih-mock');
const TESTS = join(PLUGIN, 'tests');

/** Quoted for the plugin's shell-like split of IH_MOCK_COMMAND (shlex). */
const shellQuote = (arg: string) => `'${arg.replaceAll("'", `'\\''`)}'`;

/** The tests the Python files define (`def test_…` at the top level): each must appear in the report. */
function definedTests(): string[] {
  return readdirSync(TESTS)
    .filter((f) => /^test_.*\.py$/.test(f))
    .flatMap((f) => [...readFileSync(join(TESTS, f), 'utf8').matchAll(/^def (test_\w+)\(/gm)].map((m) => m[1]!));
}

describe('the pytest plugin, by its own pytest suite', () => {
  it('runs every test of python/pytest-ih-mock/tests with Debian python3-pytest, and all pass', { timeout: 600_000 }, async () => {
    const dir = tempDir('ih-mock-pytest-');
    const junit = join(dir, 'junit.xml');
    const args = ['-m', 'pytest', '-p', 'pytest_ih_mock', '-p', 'no:cacheprovider', '--basetemp', join(dir, 'basetemp'), '--junitxml', junit, '-q', TESTS];
    const env = {
      ...process.env,
      PYTHONPATH: join(PLUGIN, 'src'),
      PYTHONDONTWRITEBYTECODE: '1',
      IH_MOCK_COMMAND: [process.execPath, BIN].map(shellQuote).join(' '),
    };
    const outcome = await promisify(execFile)(PYTHON, args, { cwd: dir, env, timeout: 540_000, maxBuffer: 16 << 20 }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (err: { code?: number | string; stdout?: string; stderr?: string }) => ({ code: err.code, stdout: err.stdout ?? '', stderr: err.stderr ?? '' }),
    );
    const output = `${outcome.stdout}\n${outcome.stderr}`;
    // 0 only: 5 (no tests collected), 1 (failures), 2–4 (interrupted, internal or usage errors) all fail.
    expect(outcome.code, output).toBe(0);

    const xml = readFileSync(junit, 'utf8');
    const suite = /<testsuite\b[^>]*>/.exec(xml)?.[0] ?? '';
    const count = (name: string) => Number(new RegExp(`\\b${name}="(\\d+)"`).exec(suite)?.[1]);
    const ran = [...xml.matchAll(/<testcase\b[^>]*\bname="([^"]+)"/g)].map((m) => m[1]!);
    const expected = definedTests();
    expect(expected.length).toBeGreaterThanOrEqual(14);
    expect(ran.sort(), output).toEqual(expected.sort());
    expect({ tests: count('tests'), failures: count('failures'), errors: count('errors'), skipped: count('skipped') }).toEqual({ tests: expected.length, failures: 0, errors: 0, skipped: 0 });
    expect(ran).toContain('test_waits_for_a_signal_then_injects_a_quota_error_and_a_cut_the_client_sees');
  });
});
