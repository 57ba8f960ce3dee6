/** The `ih-mock` command as a user runs it: the built bin, real processes, real ports. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateScenario } from '../../scenarios/generator.js';
import { listScenarios, parseScenario, scenarioFromObject } from '../../scenarios/loader.js';
import { connect } from '../support/client.js';
import { runCli, startCli, stopGroup, waitReady } from '../support/cli.js';
import { readMedia } from '../support/media.js';
import { upload } from '../support/upload.js';
import { useServers } from '../support/server.js';

/** True once `url` refuses connections (the server is gone), polling for up to `ms`. */
async function refusedWithin(url: string, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    try {
      await fetch(url);
    } catch {
      return true;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

// Registers the after-each check that every frame the clients below received was schema-valid.
useServers();

describe('ih-mock CLI', () => {
  it('--help lists every flag with its default', async () => {
    const { code, stdout } = await runCli(['--help']);
    expect(code).toBe(0);
    for (const flag of ['--host', '--port', '--scenario', '--seed', '--idle-timeout', '--max-duration', '--max-segment-bytes', '--api-key', '--log-level', '--config']) {
      expect(stdout).toContain(flag);
    }
    expect(stdout).toMatch(/--port <n>.*\[default: 4747\]/);
    expect(stdout).toMatch(/--idle-timeout <n>.*\[default: 300\]/);
  });

  it.each([
    [['--nope'], /unknown option '--nope'/i],
    [['--port', 'abc'], /--port expects a number/],
    [['--port', '70000'], /port/],
    [['--log-level', 'loud'], /logLevel/],
    [['--scenario', 'no-such-scenario'], /no-such-scenario/],
    [['frobnicate'], /unknown command/],
    [['--video-codecs', 'h264,divx'], /option videoCodecs\/1 must be one of h264, hevc, .*, any/],
    [['--min-upload-bytes', '64000000'], /minUploadBytes \(64000000\) must not exceed maxUploadBytes/],
  ])('bad usage %j gives a one-line error and exit code 2', async (args, message) => {
    const { code, stderr, stdout } = await runCli(args);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(message);
  });

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
    run.child.kill('SIGTERM');
    expect((await run.exited).code).toBe(0);
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

  it('--api-key restricts credentials; a config file sets options and flags win over it', async () => {
    const { writeFileSync, mkdtempSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'ih-mock-cli-'));
    const config = join(dir, 'ih-mock.yaml');
    writeFileSync(config, 'idleTimeoutSeconds: 42\nmaxSegmentBytes: 5000000\nlogLevel: silent\n');
    const run = startCli(['--config', config, '--port', '0', '--max-segment-bytes', '6000000', '--api-key', 'ih_live_a', '--api-key', 'ih_live_b']);
    const base = await waitReady(run);
    const url = `${base.replace('http', 'ws')}/v1/stream/analyze`;
    const client = await connect(url, { apiKey: 'ih_live_b' });
    const ready = await client.waitForType('session.ready');
    expect(ready.data.session_idle_timeout_seconds).toBe(42);
    expect(ready.data.max_segment_size_bytes).toBe(6_000_000);
    await expect(connect(url, { apiKey: 'ih_live_c' })).rejects.toThrow(/401/);
    run.child.kill('SIGTERM');
    expect((await run.exited).code).toBe(0);
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
    run.child.kill('SIGTERM');
    expect((await run.exited).code).toBe(0);
  });

  it('a port in use gives one line saying so, and exit code 1', async () => {
    const run = startCli(['--port', '0', '--log-level', 'silent']);
    const base = await waitReady(run);
    const port = new URL(base).port;
    const second = await runCli(['--port', port]);
    expect(second.code).toBe(1);
    expect(second.stderr.trim().split('\n')).toHaveLength(1);
    expect(second.stderr).toMatch(new RegExp(`port ${port} .*in use`));
    run.child.kill('SIGTERM');
    await run.exited;
  });

  it.each([
    [['--window-seconds', '2'], /windowHopSeconds \(3\) must not exceed windowSeconds \(2\)/],
    [['--idle-close-code', '1005'], /idleCloseCode/],
    [['--ws-max-payload-bytes', '100', '--max-segment-bytes', '1000'], /wsMaxPayloadBytes/],
  ])('option values that could never work are refused at start-up: %j', async (args, message) => {
    const { code, stderr } = await runCli([...args, '--port', '0']);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
  });

  it('--scenario with a broken file exits 2 naming the file, line and field', async () => {
    const { writeFileSync, mkdtempSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const file = join(mkdtempSync(join(tmpdir(), 'ih-mock-scn-')), 'broken.yaml');
    writeFileSync(file, 'name: broken\nsignals:\n  - type: hesitation\n    start: 10\n    end: 5\n    probability: sure\n');
    const { code, stderr } = await runCli(['--scenario', file, '--port', '0']);
    expect(code).toBe(2);
    expect(stderr).toContain(`${file}:6:`);
    expect(stderr).toMatch(/\/signals\/0\/probability/);
  });

  it('--scenario takes a scenario file and serves it', async () => {
    const { writeFileSync, mkdtempSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const file = join(mkdtempSync(join(tmpdir(), 'ih-mock-scn-')), 'mine.yaml');
    writeFileSync(file, 'name: mine\nsignals:\n  - type: stress\n    start: 0\n    end: 9\n    probability: low\n');
    const run = startCli(['--scenario', file, '--port', '0', '--log-level', 'silent']);
    await waitReady(run);
    expect(run.stdout()).toContain('scenario: mine');
    run.child.kill('SIGTERM');
    expect((await run.exited).code).toBe(0);
  });

  it('runs as `npx ih-mock` from the checkout', { timeout: 90_000 }, async () => {
    const run = startCli(['--port', '0', '--log-level', 'silent'], { viaNpx: true });
    const base = await waitReady(run, 60_000);
    expect((await fetch(`${base}/health`)).status).toBe(200);
    stopGroup(run, 'SIGINT');
    await run.exited;
    // ih-mock itself is gone too, not left running by npx: its port refuses connections.
    await expect(refusedWithin(`${base}/health`, 10_000)).resolves.toBe(true);
  });

  it('--help lists --key-pair with its format, and the token and rate-limit flags', async () => {
    const { stdout } = await runCli(['--help']);
    expect(stdout).toMatch(/--key-pair <id:secret\[:scopes\]>.*keyId:keySecret\[:scope,scope\].*\(repeatable\)/);
    expect(stdout).toMatch(/--token-ttl-seconds <n>.*\[default: 900\]/);
    expect(stdout).toMatch(/--rate-limit-per-minute <n\|off>.*\[default: 600\]/);
  });

  it('open mode: the readiness output says any key pair works at POST /v1/auth', async () => {
    const run = startCli(['--port', '0', '--log-level', 'silent']);
    const base = await waitReady(run);
    expect(run.stdout()).toContain(`POST ${base}/v1/auth with any non-empty key_id/key_secret (every scope); configure --key-pair to restrict`);
    const res = await fetch(`${base}/v1/auth`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ key_id: 'x', key_secret: 'y' }) });
    expect((await res.json()).scope).toBe('interhumanai.upload interhumanai.stream');
    run.child.kill('SIGTERM');
    expect((await run.exited).code).toBe(0);
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
    run.child.kill('SIGTERM');
    expect((await run.exited).code).toBe(0);
  });

  it.each([
    [['--key-pair', 'only_an_id'], /--key-pair expects keyId:keySecret/],
    [['--key-pair', 'id:'], /--key-pair expects keyId:keySecret/],
    [['--key-pair', ':TOPSECRET'], /--key-pair expects keyId:keySecret/],
    [['--key-pair', 'id:TOPSECRET:interhumanai.everything'], /--key-pair scopes must be/],
    [['--key-pair', 'id:TOPSECRET:a:b'], /--key-pair expects keyId:keySecret/],
    [['--rate-limit-per-minute', 'lots'], /--rate-limit-per-minute expects a number/],
  ])('bad --key-pair syntax %j: one line, exit 2, and the secret is not echoed', async (args, message) => {
    const { code, stderr, stdout } = await runCli([...args, '--port', '0']);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(message);
    expect(stderr).not.toContain('TOPSECRET');
  });

  it('--timing realistic, the old name of ratio, still starts the server; --max-queued-windows off lifts the queue limit', async () => {
    const legacy = startCli(['--port', '0', '--log-level', 'silent', '--timing', 'realistic', '--max-queued-windows', 'off']);
    await waitReady(legacy);
    expect(legacy.stdout()).toMatch(/timing: +ratio \(window processing 0.25 x length ± 20 %, 4 workers per session, no queue limit \(2 under load\), unlimited shared pool\)/);
    legacy.child.kill('SIGTERM');
    expect((await legacy.exited).code).toBe(0);
  });

  it('--timing and --worker-pool-size reach the server and show on the readiness lines', async () => {
    const run = startCli(['--port', '0', '--log-level', 'silent', '--timing', 'instant']);
    await waitReady(run);
    expect(run.stdout()).toMatch(/timing: +instant/);
    expect(run.stdout()).toMatch(/\?scenario=<name\|random>&seed=<n>&timing=/);
    run.child.kill('SIGTERM');
    await run.exited;
    const pooled = startCli(['--port', '0', '--log-level', 'silent', '--worker-pool-size', '100', '--workers-per-session', '3']);
    await waitReady(pooled);
    expect(pooled.stdout()).toMatch(/live \(window results 9.5 s ± 1.5 s after due, 3 workers per session, no queue limit \(2 under load\), a shared pool of 100\)/);
    pooled.child.kill('SIGTERM');
    await pooled.exited;
    expect((await runCli(['--timing', 'fast'])).stderr).toMatch(/timing/);
    const generated = startCli(['--port', '0', '--log-level', 'silent', '--scenario', 'random', '--seed', '5']);
    await waitReady(generated);
    expect(generated.stdout()).toMatch(/scenario: generated-5, seed 5/);
    generated.child.kill('SIGTERM');
    await generated.exited;
  });
});

describe('ih-mock scenarios and validate', () => {
  it('lists every built-in with one line each, and shows one as its YAML file', async () => {
    const list = await runCli(['scenarios']);
    expect(list.code).toBe(0);
    const lines = list.stdout.trim().split('\n');
    const names = listScenarios().map((s) => s.name);
    expect(lines).toHaveLength(names.length);
    for (const [i, name] of names.entries()) expect(lines[i]).toMatch(new RegExp(`^${name} +\\S`));
    const show = await runCli(['scenarios', 'show', 'steady']);
    expect(show.code).toBe(0);
    expect(show.stdout).toBe(readFileSync(listScenarios().find((s) => s.name === 'steady')!.path, 'utf8'));
    const missing = await runCli(['scenarios', 'show', 'nope']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no built-in scenario "nope".*steady/);
  });

  it('generate --seed N writes the same valid scenario every time; validate accepts it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ih-mock-gen-'));
    const first = await runCli(['scenarios', 'generate', '--seed', '42', '--faults']);
    const second = await runCli(['scenarios', 'generate', '--seed', '42', '--faults']);
    expect(first.code).toBe(0);
    expect(second.stdout).toBe(first.stdout);
    expect(parseScenario(first.stdout, 'stdout')).toEqual(scenarioFromObject(generateScenario(42, { faults: true })));
    expect((await runCli(['scenarios', 'generate', '--seed', '43'])).stdout).not.toBe(first.stdout);
    const file = join(dir, 'generated.yaml');
    const written = await runCli(['scenarios', 'generate', '--seed', '42', '--duration', '90', '--out', file]);
    expect(written.code).toBe(0);
    expect(parseScenario(readFileSync(file, 'utf8'), file).duration).toBe(90);
    const ok = await runCli(['validate', file]);
    expect(ok).toMatchObject({ code: 0 });
    expect(ok.stdout).toContain(`${file}: ok`);
    expect((await runCli(['scenarios', 'generate'])).code).toBe(2);
    for (const args of [['--duration', '0'], ['--out', join(dir, 'no-such-dir', 'x.yaml')]]) {
      const bad = await runCli(['scenarios', 'generate', '--seed', '1', ...args]);
      expect(bad.code).toBe(2);
      expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    }
  });

  it('validate reports every problem of a broken file by line, column and field, and exits 1', async () => {
    // Schema problems are reported first (a file that breaks the schema stops there), then the rules
    // beyond the schema; this file only breaks the latter, three times.
    const dir = mkdtempSync(join(tmpdir(), 'ih-mock-validate-'));
    const file = join(dir, 'broken.yaml');
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

