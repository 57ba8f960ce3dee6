/**
 * `ih-mock serve` (the default command) as a user runs it: the built bin, real processes, real
 * ports. Independent processes start in parallel (each start costs most of a second of CPU), and
 * every wait is on an event (an output line, an exit, a close), never a sleep.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateScenario } from '../../scenarios/generator.js';
import { listScenarios, parseScenario, scenarioFromObject } from '../../scenarios/loader.js';
import { resolveOptions } from '../../server/options.js';
import { PACKAGE_ROOT } from '../../server/paths.js';
import { command as serve, serveOptions } from '../../server/cli/serve.js';
import { parseCommandLine } from '../../server/cli/options.js';
import { optionFlags } from '../../server/cli/schema-flags.js';
import { connect } from '../support/client.js';
import { runCli, startCli, stopGroup, waitForOutput, useCliProcesses, waitReady, type Running } from '../support/cli.js';
import { readMedia } from '../support/media.js';
import { useServers } from '../support/server.js';
import { upload } from '../support/upload.js';
import { tempDir, useTempDirs } from '../support/temp.js';

// Registers the after-each check that every frame the clients below received was schema-valid.
useServers();
useCliProcesses();
useTempDirs();

const STEADY = join(PACKAGE_ROOT, 'recordings', 'ih-mock-steady-session.jsonl');

/** Stop a running ih-mock with `signal` and return its exit code. */
async function stop(run: Running, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  run.child.kill(signal);
  return (await run.exited).code;
}

/** A TCP port held by this process (so the CLI finds it taken). */
async function occupiedPort(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as { port: number }).port, server };
}

/** Expect bad usage: nothing on stdout, one line on stderr matching `message`, no stack trace, exit 2. */
function expectUsageError(result: { code: number | null; stdout: string; stderr: string }, message: RegExp, what: string): void {
  expect(result.code, what).toBe(2);
  expect(result.stdout, what).toBe('');
  expect(result.stderr.trim().split('\n'), what).toHaveLength(1);
  expect(result.stderr, what).toMatch(message);
  expect(result.stderr, what).not.toMatch(/\n\s+at /);
}

/** Every serve flag with its own default written on the command line (booleans as --x / --no-x). */
function everyFlagAtItsDefault(): string[] {
  return optionFlags().flatMap((f) => {
    if (f.name === 'seed') return ['--seed', '7']; // its default (auto) draws a random seed
    if (f.type === 'boolean') return [f.default === 'true' ? `--${f.name}` : `--no-${f.name}`];
    if (f.name === 'api-key') return ['--api-key', 'ih_live_k'];
    if (f.name === 'key-pair') return ['--key-pair', 'key_1:s3cret'];
    return [`--${f.name}`, f.default!];
  });
}

/** Bounds, not waits: on a busy shared machine one start can take several seconds, and some tests start several. */
const CLI_TIMEOUT = { timeout: 120_000 };

describe('ih-mock serve', CLI_TIMEOUT, () => {
  it('serves on --port 0, prints the readiness line and URLs, answers /health, and exits 0 on SIGTERM', async () => {
    const run = startCli(['--port', '0', '--log-level', 'silent']);
    const base = await waitReady(run);
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(run.stdout()).toContain(`${base.replace('http', 'ws')}/v1/stream/analyze`);
    expect(run.stdout()).toMatch(/auth:.*Bearer/);
    expect(run.stdout()).toMatch(/seed \d+ \(pass --seed \d+ to replay this run\)/);
    const health = await fetch(`${base}/health`);
    expect(health.status).toBe(200);
    expect(health.headers.get('x-correlation-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(await stop(run)).toBe(0);
  });

  it('logs its V8 garbage-collection policy at --log-level debug; a --heap-growing-percent given to node wins', async () => {
    const policy = /"policy":"([^"]*)","msg":"V8 garbage collection"/;
    const threads = 'helper threads at nice 10 from 1500 open sessions';
    const tuned = startCli(['--port', '0', '--log-level', 'debug']);
    expect((await waitForOutput(tuned, policy, { stream: 'stderr' }))[1]).toBe(`growing 200 % from 1500 open sessions (V8's own below 1200), 100 % from 3500 (200 % again below 3000); ${threads}`);
    const own = startCli(['--port', '0', '--log-level', 'debug'], { nodeArgs: ['--heap-growing-percent=30'] });
    expect((await waitForOutput(own, policy, { stream: 'stderr' }))[1]).toBe(`growing factor left as node was started (--heap-growing-percent=30); ${threads}`);
    await waitReady(tuned);
    await waitReady(own);
    expect(await stop(tuned)).toBe(0);
    expect(await stop(own)).toBe(0);
  });

  it('SIGINT closes open sessions with 1001 and exits 0', async () => {
    const run = startCli(['--port', '0', '--log-level', 'silent']);
    const base = await waitReady(run);
    const client = await connect(`${base.replace('http', 'ws')}/v1/stream/analyze`);
    await client.waitForType('session.ready');
    run.child.kill('SIGINT');
    expect((await client.closed).code).toBe(1001);
    expect((await run.exited).code).toBe(0);
  });

  it('a SIGTERM the moment the readiness line appears still stops serve, record and replay gracefully (exit 0), every time', { timeout: 300_000 }, async () => {
    // The signal handlers used to be installed after the readiness line was written: a signal sent
    // on reading it killed the process about one start in four (8 starts of each: a 0.1 % chance
    // that all 24 pass with the race). Each command starts 8 times, 4 at a time.
    const dir = tempDir('ih-mock-sigterm-');
    const commands: [string, (i: number) => string[]][] = [
      ['', () => ['--port', '0', '--log-level', 'silent']],
      ['record', (i) => ['record', '--upstream', 'http://127.0.0.1:9', '--port', '0', '--out', join(dir, `r${i}.jsonl`)]],
      ['replay', () => ['replay', STEADY, '--port', '0']],
    ];
    const outcomes: string[] = [];
    for (const [name, args] of commands) {
      for (let batch = 0; batch < 2; batch++) {
        const results = await Promise.all(
          Array.from({ length: 4 }, async (_, i) => {
            const run = startCli(args(batch * 4 + i));
            await waitReady(run, undefined, name);
            run.child.kill('SIGTERM');
            const { code, signal } = await run.exited;
            return `${name || 'serve'}: ${code ?? signal}`;
          }),
        );
        outcomes.push(...results);
      }
    }
    expect(outcomes).toEqual(commands.flatMap(([name]) => Array<string>(8).fill(`${name || 'serve'}: 0`)));
  });

  it('--api-key restricts credentials; a config file sets options and flags win over it', async () => {
    const config = join(tempDir('ih-mock-cli-'), 'ih-mock.yaml');
    writeFileSync(config, 'idleTimeoutSeconds: 42\nmaxSegmentBytes: 5000000\nlogLevel: silent\n');
    const run = startCli(['--config', config, '--port', '0', '--max-segment-bytes', '6000000', '--api-key', 'ih_live_a', '--api-key', 'ih_live_b']);
    const base = await waitReady(run);
    const url = `${base.replace('http', 'ws')}/v1/stream/analyze`;
    const client = await connect(url, { apiKey: 'ih_live_b' });
    const ready = await client.waitForType('session.ready');
    expect(ready.data.session_idle_timeout_seconds).toBe(42);
    expect(ready.data.max_segment_size_bytes).toBe(6_000_000);
    await expect(connect(url, { apiKey: 'ih_live_c' })).rejects.toThrow(/401/);
    expect(await stop(run)).toBe(0);
  });

  it('a port in use gives one line saying so and exit code 1, for serve, record and replay', async () => {
    const { port, server } = await occupiedPort();
    const dir = tempDir('ih-mock-port-');
    // A recording the user already has at --out: a recorder that cannot start leaves it as it was.
    const earlier = join(dir, 'r.jsonl');
    writeFileSync(earlier, 'an earlier recording\n');
    try {
      const results = await Promise.all([
        runCli(['--port', String(port), '--log-level', 'silent']),
        runCli(['record', '--upstream', 'http://127.0.0.1:9', '--port', String(port), '--out', earlier, '--with-media']),
        runCli(['replay', STEADY, '--port', String(port)]),
      ]);
      for (const [i, result] of results.entries()) {
        expect(result.code, `command ${i}`).toBe(1);
        expect(result.stderr.trim().split('\n'), `command ${i}`).toHaveLength(1);
        expect(result.stderr).toMatch(new RegExp(`^ih-mock: port ${port} on 127\\.0\\.0\\.1 is in use`));
      }
      expect(readFileSync(earlier, 'utf8')).toBe('an earlier recording\n');
      expect(existsSync(`${earlier}.media`)).toBe(false);
    } finally {
      server.close();
    }
  });

  it('bad flags and values: one line naming the flag and what it expects, exit 2', async () => {
    const cases: [string[], RegExp][] = [
      [['--nope'], /unknown flag --nope/],
      [['--port', 'abc'], /--port expects a non-negative integer up to 65535, got "abc"/],
      [['--port', '70000'], /--port expects .* got "70000"/],
      [['--log-level', 'loud'], /--log-level expects "fatal", "error", .* or "silent", got "loud"/],
      [['--scenario', 'no-such-scenario'], /unknown scenario "no-such-scenario"/],
      [['frobnicate'], /unknown command "frobnicate"/],
      [['record', '--upstream', 'http://127.0.0.1:9', '--port', '0', '--out', '/no-such-folder/r.jsonl'], /cannot write the recording to \/no-such-folder\/r\.jsonl: no folder \/no-such-folder/],
      [['--idle-close-code', '1005'], /--idle-close-code expects an integer in 1000-1003, 1007-1014 or 3000-4999, got "1005"/],
      [['--max-duration-close-code', '4000.5'], /--max-duration-close-code expects an integer/],
      [['--window-seconds', '2'], /windowHopSeconds \(3\) must not exceed windowSeconds \(2\)/],
      [['--ws-max-payload-bytes', '100', '--max-segment-bytes', '1000'], /wsMaxPayloadBytes/],
      [['--video-codecs', 'h264,divx'], /videoCodecs\/1 must be one of h264, hevc, .*, any/],
      [['--min-upload-bytes', '64000000'], /minUploadBytes \(64000000\) must not exceed maxUploadBytes/],
      [['--rate-limit-per-minute', 'lots'], /--rate-limit-per-minute expects a positive integer or "off", got "lots"/],
      [['--port'], /--port needs a value <n> \(see ih-mock --help\)/],
      [['--port', '--seed', '1'], /--port needs a value <n>, got the flag --seed/],
    ];
    const results = await Promise.all(cases.map(([args]) => runCli(args)));
    for (const [i, [args, message]] of cases.entries()) expectUsageError(results[i]!, message, args.join(' '));
  });

  it('every flag takes its value by the option schema\'s type: each one given its own default is accepted, and means the default', async () => {
    // --idle-close-code used to reach the schema as a string and be refused whatever its value.
    const args = everyFlagAtItsDefault();
    const parsed = parseCommandLine(serve, args);
    const options = resolveOptions(await serveOptions(parsed.values));
    expect(options).toEqual(resolveOptions({ seed: 7, apiKeys: ['ih_live_k'], keyPairs: [{ keyId: 'key_1', keySecret: 's3cret' }] }));
    // The auto and off words give the schema's null.
    const nulls = await serveOptions(parseCommandLine(serve, ['--seed', 'auto', '--timing', 'auto', '--worker-pool-size', 'off', '--rate-limit-per-minute', 'off']).values);
    expect(nulls).toEqual({ seed: null, timing: null, workerPoolSize: null, rateLimitPerMinute: null });
    // And the built command starts with all of them.
    const run = startCli([...args, '--port', '0', '--log-level', 'silent']);
    await waitReady(run);
    expect(run.stdout()).toMatch(/seed 7 /);
    expect(await stop(run)).toBe(0);
  });

  it('--idle-close-code and --max-duration-close-code are accepted and close real sessions with those codes', async () => {
    const idle = startCli(['--port', '0', '--log-level', 'silent', '--idle-timeout', '0.3', '--idle-close-code', '4321']);
    const long = startCli(['--port', '0', '--log-level', 'silent', '--max-duration', '0.3', '--max-duration-close-code', '3999']);
    const [idleBase, longBase] = await Promise.all([waitReady(idle), waitReady(long)]);
    const [a, b] = await Promise.all([connect(`${idleBase.replace('http', 'ws')}/v1/stream/analyze`), connect(`${longBase.replace('http', 'ws')}/v1/stream/analyze`)]);
    expect((await a.closed).code).toBe(4321);
    expect((await b.closed).code).toBe(3999);
    expect(a.frames.filter((f) => f.type === 'error').map((f) => f.data.code)).toEqual(['ih6003']);
    expect(b.frames.filter((f) => f.type === 'error').map((f) => f.data.code)).toEqual(['ih6004']);
    expect(await Promise.all([stop(idle), stop(long)])).toEqual([0, 0]);
  });

  it('--scenario with a broken file exits 2 naming the file, line and field; a good file is served', async () => {
    const dir = tempDir('ih-mock-scn-');
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, 'name: broken\nsignals:\n  - type: hesitation\n    start: 10\n    end: 5\n    probability: sure\n');
    const mine = join(dir, 'mine.yaml');
    writeFileSync(mine, 'name: mine\nsignals:\n  - type: stress\n    start: 0\n    end: 9\n    probability: low\n');
    const run = startCli(['--scenario', mine, '--port', '0', '--log-level', 'silent']);
    const refused = await runCli(['--scenario', broken, '--port', '0']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`${broken}:6:`);
    expect(refused.stderr).toMatch(/\/signals\/0\/probability/);
    await waitReady(run);
    expect(run.stdout()).toContain('scenario: mine');
    expect(await stop(run)).toBe(0);
  });

  it('runs as `npx ih-mock` from the checkout', async () => {
    const run = startCli(['--port', '0', '--log-level', 'silent'], { viaNpx: true });
    const base = await waitReady(run);
    expect((await fetch(`${base}/health`)).status).toBe(200);
    stopGroup(run, 'SIGINT');
    // ih-mock holds npx's stdout too: once it is closed, ih-mock is gone, not left running by npx.
    await run.outputClosed;
    await expect(fetch(`${base}/health`)).rejects.toThrow();
  });

  it('open mode: the readiness output says any key pair works at POST /v1/auth', async () => {
    const run = startCli(['--port', '0', '--log-level', 'silent']);
    const base = await waitReady(run);
    expect(run.stdout()).toContain(`POST ${base}/v1/auth with any non-empty key_id/key_secret (every scope); configure --key-pair to restrict`);
    const res = await fetch(`${base}/v1/auth`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ key_id: 'x', key_secret: 'y' }) });
    expect((await res.json()).scope).toBe('interhumanai.upload interhumanai.stream');
    expect(await stop(run)).toBe(0);
  });

  it('--key-pair (repeatable) restricts the token exchange and the scopes of each key', async () => {
    const run = startCli(['--port', '0', '--log-level', 'silent', '--key-pair', 'key_up:s3cret:interhumanai.upload', '--key-pair', 'key_all:other', '--rate-limit-per-minute', 'off']);
    const base = await waitReady(run);
    expect(run.stdout()).toMatch(/POST http:\/\/\S+\/v1\/auth with one of the 2 configured --key-pair values/);
    const exchange = async (body: object) => {
      const res = await fetch(`${base}/v1/auth`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    expect(await exchange({ key_id: 'key_up', key_secret: 's3cret' })).toMatchObject({ status: 200, body: { scope: 'interhumanai.upload' } });
    expect(await exchange({ key_id: 'key_up', key_secret: 's3cret', scopes: ['interhumanai.stream'] })).toMatchObject({ status: 403, body: { error_id: 'ih2003' } });
    expect(await exchange({ key_id: 'key_up', key_secret: 'nope' })).toMatchObject({ status: 401, body: { error_id: 'ih2001' } });
    const all = await exchange({ key_id: 'key_all', key_secret: 'other', scopes: ['interhumanai.stream'] });
    expect(all.status).toBe(200);
    const client = await connect(`${base.replace('http', 'ws')}/v1/stream/analyze`, { protocols: String(all.body['access_token']) });
    await client.waitForType('session.ready');
    expect(await stop(run)).toBe(0);
  });

  it('bad --key-pair syntax: one line, exit 2, and the secret is not echoed', async () => {
    const cases: [string[], RegExp][] = [
      [['--key-pair', 'only_an_id'], /--key-pair expects keyId:keySecret/],
      [['--key-pair', 'id:'], /--key-pair expects keyId:keySecret/],
      [['--key-pair', ':TOPSECRET'], /--key-pair expects keyId:keySecret/],
      [['--key-pair', 'id:TOPSECRET:interhumanai.everything'], /--key-pair scopes must be/],
      [['--key-pair', 'id:TOPSECRET:a:b'], /--key-pair expects keyId:keySecret/],
    ];
    const results = await Promise.all(cases.map(([args]) => runCli([...args, '--port', '0'])));
    for (const [i, [args, message]] of cases.entries()) {
      expectUsageError(results[i]!, message, args.join(' '));
      expect(results[i]!.stderr).not.toContain('TOPSECRET');
    }
  });

  it('--timing and --worker-pool-size reach the server and show on the readiness lines', async () => {
    const instant = startCli(['--port', '0', '--log-level', 'silent', '--timing', 'instant']);
    const pooled = startCli(['--port', '0', '--log-level', 'silent', '--worker-pool-size', '100', '--workers-per-session', '3']);
    const generated = startCli(['--port', '0', '--log-level', 'silent', '--scenario', 'random', '--seed', '5']);
    await Promise.all([waitReady(instant), waitReady(pooled), waitReady(generated)]);
    expect(instant.stdout()).toMatch(/timing: +instant/);
    expect(instant.stdout()).toMatch(/\?scenario=<name\|random>&seed=<n>&timing=<live\|ratio\|instant\|realistic>/);
    expect(pooled.stdout()).toMatch(/live \(window results 9.5 s ± 1.5 s after due, 3 workers per session, no queue limit \(2 under load\), a shared pool of 100\)/);
    expect(generated.stdout()).toMatch(/scenario: generated-5, seed 5/);
    expect(await Promise.all([stop(instant), stop(pooled), stop(generated)])).toEqual([0, 0, 0]);
  });

  it('--timing realistic, the old name of ratio, still starts the server; --max-queued-windows off lifts the queue limit', async () => {
    const legacy = startCli(['--port', '0', '--log-level', 'silent', '--timing', 'realistic', '--max-queued-windows', 'off']);
    await waitReady(legacy);
    expect(legacy.stdout()).toMatch(/timing: +ratio \(window processing 0.25 x length ± 20 %, 4 workers per session, no queue limit \(2 under load\), unlimited shared pool\)/);
    expect(await stop(legacy)).toBe(0);
  });

  it('--video-codecs (comma-separated, repeatable) and --min-upload-bytes reach the server', async () => {
    const [mp4v, vp8, tiny] = await Promise.all([
      readMedia({ container: 'mp4', video: 'mpeg4', audio: 'aac', seconds: 4 }),
      readMedia({ container: 'webm', video: 'vp8', audio: 'opus', seconds: 4 }),
      readMedia({ container: 'mp4', video: 'h264', audio: null, seconds: 4, width: 32, height: 24, fps: 2 }),
    ]);
    const run = startCli(['--port', '0', '--log-level', 'silent', '--processing-ratio', '0', '--video-codecs', 'h264,mpeg4', '--video-codecs', 'vp9', '--min-upload-bytes', '0']);
    const base = await waitReady(run);
    expect((await upload(base, mp4v)).status).toBe(200);
    expect((await upload(base, tiny)).status).toBe(200);
    expect((await upload(base, vp8)).body.message).toBe('Unable to process the video: video codec VP8 (V_VP8) is not supported; send H.264, MPEG-4 Part 2 or VP9.');
    expect(await stop(run)).toBe(0);
  });
});

describe('ih-mock scenarios and validate', CLI_TIMEOUT, () => {
  it('lists every built-in with one line each, and shows one as its YAML file', async () => {
    const [list, show, missing] = await Promise.all([runCli(['scenarios']), runCli(['scenarios', 'show', 'steady']), runCli(['scenarios', 'show', 'nope'])]);
    expect(list.code).toBe(0);
    const lines = list.stdout.trim().split('\n');
    const names = listScenarios().map((s) => s.name);
    expect(lines).toHaveLength(names.length);
    for (const [i, name] of names.entries()) expect(lines[i]).toMatch(new RegExp(`^${name} +\\S`));
    expect(show.code).toBe(0);
    expect(show.stdout).toBe(readFileSync(listScenarios().find((s) => s.name === 'steady')!.path, 'utf8'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no built-in scenario "nope".*steady/);
  });

  it('generate --seed N writes the same valid scenario every time; validate accepts it', async () => {
    const dir = tempDir('ih-mock-gen-');
    const file = join(dir, 'generated.yaml');
    const [first, second, other, written, noSeed, badDuration, badOut] = await Promise.all([
      runCli(['scenarios', 'generate', '--seed', '42', '--faults']),
      runCli(['scenarios', 'generate', '--seed', '42', '--faults']),
      runCli(['scenarios', 'generate', '--seed', '43']),
      runCli(['scenarios', 'generate', '--seed', '42', '--duration', '90', '--out', file]),
      runCli(['scenarios', 'generate']),
      runCli(['scenarios', 'generate', '--seed', '1', '--duration', '0']),
      runCli(['scenarios', 'generate', '--seed', '1', '--out', join(dir, 'no-such-dir', 'x.yaml')]),
    ]);
    expect(first.code).toBe(0);
    expect(second.stdout).toBe(first.stdout);
    expect(parseScenario(first.stdout, 'stdout')).toEqual(scenarioFromObject(generateScenario(42, { faults: true })));
    expect(other.stdout).not.toBe(first.stdout);
    expect(written.code).toBe(0);
    expect(parseScenario(readFileSync(file, 'utf8'), file).duration).toBe(90);
    const ok = await runCli(['validate', file]);
    expect(ok).toMatchObject({ code: 0 });
    expect(ok.stdout).toContain(`${file}: ok`);
    expectUsageError(noSeed, /"scenarios generate" needs --seed <n>/, 'no seed');
    expectUsageError(badDuration, /--duration expects a positive integer up to 86400, got "0"/, '--duration 0');
    expectUsageError(badOut, /cannot write .*ENOENT/, 'unwritable --out');
  });

  it('validate reports every problem of a broken file by line, column and field, and exits 1', async () => {
    // Schema problems are reported first (a file that breaks the schema stops there), then the rules
    // beyond the schema; this file only breaks the latter, three times.
    const file = join(tempDir('ih-mock-validate-'), 'broken.yaml');
    writeFileSync(
      file,
      [
        'name: broken',
        'signals:',
        '  - type: agreement',
        '    start: 10',
        '    end: 5',
        '    probability: high',
        'faults:',
        '  - action: throttle',
        '    when: { segment: 2 }',
        '  - action: delay',
        '    seconds: 2',
        '    code: ih1001',
        '',
      ].join('\n'),
    );
    const { code, stderr } = await runCli(['validate', file]);
    expect(code).toBe(1);
    expect(stderr).toContain('(3 problems)');
    expect(stderr).toContain(`${file}:5:10: /signals/0/end: must be greater than start (10), got 5`);
    expect(stderr).toMatch(new RegExp(`${file}:8:\\d+: /faults/0: action throttle requires "bytes_per_second"`));
    expect(stderr).toMatch(new RegExp(`${file}:12:\\d+: /faults/1/code: action delay takes no "code"`));
  });
});
