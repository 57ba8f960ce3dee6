/**
 * The control plane from the command line, as a user runs it (the built bin, real processes, real
 * ports): the start-up note, the admin client commands against a running ih-mock, and the logs —
 * short pretty lines (on a terminal, or with --log-format pretty), JSON lines otherwise, debug lines
 * per event and per segment, and never a credential.
 */
import { spawn } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { runAdminCommand, type AdminCommand } from '../../server/admin/cli-client.js';
import { CommandUsageError } from '../../server/cli/io.js';
import { BIN, runCli, startCli, waitReady, type Running } from '../support/cli.js';
import { connect } from '../support/client.js';
import { readMedia } from '../support/media.js';
import { useServers } from '../support/server.js';

useServers();

const running: Running[] = [];
// A test that failed half-way leaves no server behind.
afterEach(() => {
  for (const run of running.splice(0)) if (run.child.exitCode === null) run.child.kill('SIGKILL');
});

/** Start `ih-mock` (serve) and wait for its readiness line; stopped with SIGTERM by `stop`. */
async function serve(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ run: Running; base: string }> {
  const run = startCli(['--port', '0', ...args], { env });
  running.push(run);
  return { run, base: await waitReady(run) };
}

/** A port nothing listens on (just freed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Run an admin command in this process (the same function the bin runs, so most checks need not
 * pay a Node start-up each); bad usage as the bin reports it: exit 2 and the message.
 */
async function admin(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const [command, ...rest] = args;
  let stdout = '';
  let stderr = '';
  const io = { out: (t: string) => void (stdout += t), err: (t: string) => void (stderr += t) };
  try {
    return { code: await runAdminCommand(command as AdminCommand, rest, io, env), stdout, stderr };
  } catch (err) {
    if (!(err instanceof CommandUsageError)) throw err;
    return { code: 2, stdout, stderr: `ih-mock: ${err.message}\n` };
  }
}

async function stop(run: Running): Promise<void> {
  run.child.kill('SIGTERM');
  expect((await run.exited).code).toBe(0);
}

describe('ih-mock admin commands', () => {
  it('sessions, wait, inject, journal, queue, defaults and reset against a running ih-mock; exit 1 for what it refuses, 2 for bad usage', { timeout: 120_000 }, async () => {
    const segment = await readMedia({ container: 'webm', video: 'vp8', audio: 'opus', seconds: 4 });
    const { run, base } = await serve(['--scenario', 'steady', '--timing', 'instant', '--log-level', 'silent']);
    expect(run.stdout()).toContain(`  admin:    ${base}/__ih/ (from this machine, no token`);
    expect(run.stdout()).toContain(`metrics: ${base}/metrics`);
    const url = ['--url', base];

    const client = await connect(`${base.replace('http', 'ws')}/v1/stream/analyze?test_id=cli-test`);
    const id = (await client.waitForType('session.ready')).correlation_id;
    for (let i = 0; i < 3; i++) await client.sendBinary(segment);

    const waited = await runCli(['wait', ...url, '--test-id', 'cli-test', '--type', 'signal.detected', '--signal-type', 'agreement', '--timeout', '30000']);
    expect(waited.code, waited.stderr).toBe(0);
    expect(JSON.parse(waited.stdout).entry).toMatchObject({ session: id, type: 'signal.detected', signal_type: 'agreement' });

    const sessions = await admin(['sessions', ...url]);
    expect(sessions.code, sessions.stderr).toBe(0);
    expect(JSON.parse(sessions.stdout).map((s: { id: string; test_id: string }) => [s.id, s.test_id])).toEqual([[id, 'cli-test']]);
    expect(JSON.parse((await admin(['session', id, ...url])).stdout).session.id).toBe(id);

    const injected = await admin(['inject', id, '{"action":"error","code":"ih3003"}', ...url]);
    expect(injected.code, injected.stderr).toBe(0);
    expect(JSON.parse(injected.stdout)).toEqual({ session: id, applied: 1, armed: 0, state: 'open' });
    expect((await client.waitForType('error')).data.code).toBe('ih3003');

    const journal = await admin(['journal', ...url, '--session', id, '--kind', 'frame', '--direction', 'out']);
    expect(journal.code, journal.stderr).toBe(0);
    const lines = journal.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((e) => e.event)).toEqual(client.frames);

    const queued = await admin(['queue', 'uploads', '[{"action":"disconnect"}]', '--count', '2', ...url, '--test-id', 'cli-test']);
    expect(JSON.parse(queued.stdout).uploads).toEqual([{ faults: [{ action: 'disconnect' }], remaining: 2 }]);
    const defaults = await admin(['defaults', '--scenario', 'quiet', '--seed', '7', ...url]);
    expect(JSON.parse(defaults.stdout)).toEqual({ test_id: null, scenario: 'quiet', seed: 7, timing: null });
    expect(JSON.parse((await admin(['defaults', ...url])).stdout)).toMatchObject({ scenario: 'quiet', seed: 7 });

    // Refusals: the server's code and message on stderr, exit 1.
    const timedOut = await runCli(['wait', ...url, '--type', 'never.happens', '--timeout', '100']);
    expect(timedOut.code).toBe(1);
    expect(timedOut.stderr).toMatch(/^ih-mock wait: ihm4008: No journal entry after seq 0 matched type=never\.happens within 100 ms/);
    const invalid = await admin(['inject', id, '{"action":"eror"}', ...url]);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/ihm4001: invalid faults \(1 problem\):\n\/faults\/0\/action: must be one of error, close/);
    const unknown = await admin(['inject', 'no-such-session', '{"action":"close"}', ...url]);
    expect([unknown.code, unknown.stderr]).toEqual([1, expect.stringMatching(/ihm4004/)]);
    const unreachable = await admin(['sessions', '--url', `http://127.0.0.1:${await closedPort()}`]);
    expect([unreachable.code, unreachable.stderr]).toEqual([1, expect.stringMatching(/cannot reach ih-mock \(ECONNREFUSED\)/)]);
    // Bad usage: exit 2, one line (the first through the bin, the others in-process).
    for (const [i, args] of [['inject', id], ['inject', id, '{not json'], ['wait', '--timeout', 'soon']].entries()) {
      const bad = i === 0 ? await runCli([...args, ...url]) : await admin([...args, ...url]);
      expect(bad.code, args.join(' ')).toBe(2);
      expect(bad.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
    }

    const reset = await admin(['reset', ...url]);
    expect(JSON.parse(reset.stdout)).toMatchObject({ test_id: null, defaults: true, queued: 1 });
    client.ws.terminate();
    await stop(run);
  });

  it('on a server bound to 0.0.0.0 the start-up note says how the admin API is guarded; the client sends the token from --admin-token or IH_ADMIN_TOKEN', { timeout: 120_000 }, async () => {
    const disabled = await serve(['--host', '0.0.0.0', '--log-level', 'silent']);
    expect(disabled.run.stdout()).toContain('admin:    disabled: listening on 0.0.0.0 (not loopback) without --admin-token');
    const local = disabled.base.replace('0.0.0.0', '127.0.0.1');
    const refused = await runCli(['sessions', '--url', local]);
    expect([refused.code, refused.stderr]).toEqual([1, expect.stringMatching(/ihm2003: The admin API is disabled/)]);
    await stop(disabled.run);

    const token = 'cli-admin-token-value';
    const guarded = await serve(['--host', '0.0.0.0', '--log-level', 'silent'], { IH_ADMIN_TOKEN: token });
    expect(guarded.run.stdout()).toContain('(send X-IH-Admin-Token: <your --admin-token>)');
    expect(guarded.run.stdout()).not.toContain(token);
    const base = guarded.base.replace('0.0.0.0', '127.0.0.1');
    expect((await admin(['sessions', '--url', base])).stderr).toMatch(/ihm2002/);
    expect((await admin(['sessions', '--url', base, '--admin-token', 'wrong-token-value'])).stderr).toMatch(/ihm2001/);
    expect((await admin(['sessions', '--url', base, '--admin-token', token])).code).toBe(0);
    expect((await runCli(['sessions', '--url', base], { IH_ADMIN_TOKEN: token })).code).toBe(0);
    expect((await admin(['sessions'], { IH_ADMIN_TOKEN: token, IH_MOCK_URL: base })).code).toBe(0);
    await stop(guarded.run);
  });
});

describe('ih-mock logs', () => {
  const apiKey = 'ih_live_log_secret_key_123';
  const adminToken = 'log-admin-secret-456';

  /** A session through a running ih-mock: two segments, an admin call with the token, a graceful close; then SIGTERM. */
  async function session(args: string[]): Promise<{ stderr: string; id: string }> {
    const segment = await readMedia({ container: 'webm', video: 'vp8', audio: 'opus', seconds: 4 });
    const { run, base } = await serve(['--scenario', 'steady', '--timing', 'instant', '--api-key', apiKey, '--admin-token', adminToken, ...args]);
    const client = await connect(`${base.replace('http', 'ws')}/v1/stream/analyze`, { apiKey });
    const id = (await client.waitForType('session.ready')).correlation_id;
    await client.sendBinary(segment);
    await client.sendBinary(Buffer.from('not a video'));
    await client.sendBinary(segment);
    await client.waitForType('signal.detected');
    expect((await fetch(`${base}/__ih/sessions`, { headers: { 'X-IH-Admin-Token': adminToken } })).status).toBe(200);
    await client.closeGracefully();
    await stop(run);
    return { stderr: run.stderr(), id };
  }

  it('--log-format pretty: one short line each (time, session, what happened); debug shows each event sent and each segment verdict; no credential', { timeout: 60_000 }, async () => {
    const { stderr, id } = await session(['--log-format', 'pretty', '--log-level', 'debug']);
    const lines = stderr.trim().split('\n');
    for (const line of lines) {
      expect(() => JSON.parse(line), line).toThrow();
      expect(line).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] (DEBUG|INFO|WARN|ERROR)/);
    }
    const short = id.slice(0, 8);
    expect(lines.find((l) => l.includes(`${short} stream session opened`))).toBeDefined();
    expect(lines.find((l) => l.includes(`${short} event sent`) && l.includes('"event":"signal.detected"'))).toBeDefined();
    expect(lines.find((l) => l.includes(`${short} segment`) && l.includes('"verdict":"accepted"') && l.includes('"segment":1'))).toBeDefined();
    expect(lines.find((l) => l.includes(`${short} segment`) && l.includes('"verdict":"rejected"') && l.includes('"code":"ih5004"'))).toBeDefined();
    expect(lines.find((l) => l.includes(`${short} stream session ended`))).toBeDefined();
    expect(stderr).not.toContain(id); // the full id is shortened, never printed twice
    expect(stderr).not.toContain(apiKey);
    expect(stderr).not.toContain(adminToken);
  });

  it('not a terminal: JSON lines by default, the same debug lines as fields; no credential', { timeout: 60_000 }, async () => {
    const { stderr, id } = await session(['--log-level', 'debug']);
    const lines = stderr.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.filter((l) => l['correlationId'] === id && l['msg'] === 'event sent').map((l) => l['event'])).toContain('signal.detected');
    expect(lines.filter((l) => l['correlationId'] === id && l['msg'] === 'segment').map((l) => [l['segment'], l['verdict'], l['code']])).toEqual([
      [1, 'accepted', null],
      [2, 'rejected', 'ih5004'],
      [3, 'accepted', null],
    ]);
    expect(stderr).not.toContain(apiKey);
    expect(stderr).not.toContain(adminToken);
    // info (the default) leaves the per-frame lines out.
    const info = (await session([])).stderr.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(info.filter((l) => l['msg'] === 'event sent' || l['msg'] === 'segment')).toEqual([]);
    expect(info.map((l) => l['msg'])).toContain('stream session opened');
  });

  it('on a terminal (auto): coloured pretty lines', { timeout: 60_000 }, async () => {
    // `script` runs ih-mock on a pseudo-terminal, as a user's shell would.
    const { NO_COLOR: _no, FORCE_COLOR: _force, ...env } = process.env;
    const child = spawn('script', ['-q', '-e', '-c', `${process.execPath} ${BIN} --port 0 --log-level info`, '/dev/null'], { env: { ...env, TERM: 'xterm-256color' } });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const exited = new Promise((resolve) => child.on('exit', resolve));
    const deadline = Date.now() + 20_000;
    let base: string | undefined;
    while (base === undefined) {
      base = /ih-mock ready at (http:\/\/\S+)/.exec(out)?.[1];
      if (Date.now() > deadline) throw new Error(`not ready:\n${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const client = await connect(`${base.replace('http', 'ws')}/v1/stream/analyze`);
    const id = (await client.waitForType('session.ready')).correlation_id;
    while (!out.includes(`${id.slice(0, 8)}`)) {
      if (Date.now() > deadline) throw new Error(`no log line for the session:\n${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGTERM');
    await exited;
    const line = out.split('\n').find((l) => l.includes(id.slice(0, 8)))!;
    expect(line).toMatch(/\u001b\[\d+m/); // ANSI colour
    expect(line.replace(/\u001b\[[\d;]*m/g, '')).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: [0-9a-f]{8} stream session opened/);
  });
});
