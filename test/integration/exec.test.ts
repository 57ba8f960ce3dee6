/**
 * `ih-mock exec [options] -- <command>` as a CI job runs it: the built bin, a real child command
 * (test/clients/exec-child.mjs), real ports and signals. Every wait is on an event (an output line,
 * an exit), never a sleep.
 */
import { execFile } from 'node:child_process';
import { createConnection, createServer, type Server } from 'node:net';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EXIT_EXEC_FAILURE, EXIT_NOT_FOUND } from '../../server/cli/exec.js';
import { BIN, startCli, useCliProcesses, waitForOutput, type Running } from '../support/cli.js';

useCliProcesses();

const CHILD = fileURLToPath(new URL('../clients/exec-child.mjs', import.meta.url));
const PTY_CTRL_C = fileURLToPath(new URL('../clients/pty-ctrl-c.py', import.meta.url));
/** Bounds, not waits: each run starts the emulator and a Node child on a shared machine. */
const TIMEOUT = { timeout: 120_000 };

/** `ih-mock exec --timing instant -- node exec-child.mjs <args>`. */
function execChild(args: string[], options: string[] = []): Running {
  return startCli(['exec', '--timing', 'instant', ...options, '--', process.execPath, CHILD, ...args]);
}

/** The exit code, once every process holding the output (the child too) is gone. */
async function exitCode(run: Running): Promise<number | null> {
  const { code } = await run.exited;
  await run.outputClosed;
  return code;
}

/** The base URL exec announces on stderr once the emulator listens. */
async function announcedBase(run: Running): Promise<string> {
  return (await waitForOutput(run, /^ih-mock exec: emulator ready at (http:\/\/\S+) /m, { stream: 'stderr' }))[1]!;
}

/** Whether anything accepts TCP connections on `port` of 127.0.0.1. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Whether a process with this pid exists (signal 0 checks without sending anything). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

describe('ih-mock exec', TIMEOUT, () => {
  it('exits with the command\'s exit code (0, 3, 42), and 128+n when signal n killed it', async () => {
    const runs = [0, 3, 42].map((n) => execChild(['exit', String(n)]));
    const killed = execChild(['kill-self']);
    expect(await Promise.all(runs.map(exitCode))).toEqual([0, 3, 42]);
    expect(await exitCode(killed)).toBe(128 + 9);
  });

  it('gives the command the emulator\'s URLs and a key that works, then stops the emulator: the port refuses, no process is left', async () => {
    const run = execChild(['env'], ['--admin-token', 'exec-admin-secret']);
    const base = await announcedBase(run);
    expect(await exitCode(run)).toBe(0);
    const [first, ready] = run.stdout().trim().split('\n');
    const { pid, env } = JSON.parse(first!) as { pid: number; env: Record<string, string> };
    const port = Number(new URL(base).port);
    expect(port).toBeGreaterThan(0);
    expect(env).toMatchObject({
      IH_API_BASE_URL: base,
      IH_STREAM_URL: `ws://127.0.0.1:${port}/v1/stream/analyze`,
      IH_API_KEY: 'ih_mock_exec_key',
      IH_ADMIN_URL: `${base}/__ih`,
      IH_MOCK_URL: base,
      IH_ADMIN_TOKEN: 'exec-admin-secret',
    });
    // The child reached the emulator with that key: a session opened and said so.
    expect(JSON.parse(ready!)).toMatchObject({ type: 'session.ready' });
    expect(await accepts(port)).toBe(false);
    expect(alive(run.child.pid!)).toBe(false);
    expect(alive(pid)).toBe(false);
  });

  it('gives the first --api-key as IH_API_KEY, the one the emulator then requires', async () => {
    const run = execChild(['env'], ['--api-key', 'ih_live_only_this']);
    expect(await exitCode(run)).toBe(0);
    const [first, ready] = run.stdout().trim().split('\n');
    expect(JSON.parse(first!).env.IH_API_KEY).toBe('ih_live_only_this');
    expect(JSON.parse(ready!)).toMatchObject({ type: 'session.ready' });
  });

  it('passes SIGINT (Ctrl-C in a pipeline) and SIGTERM on to the command, whose handler decides the exit code', async () => {
    const runs = (['SIGINT', 'SIGTERM'] as const).map((signal, i) => ({ signal, code: 7 + i, run: execChild(['trap', String(7 + i)]) }));
    await Promise.all(
      runs.map(async ({ signal, code, run }) => {
        const base = await announcedBase(run);
        const childPid = Number((await waitForOutput(run, /^trap ready (\d+)$/m))[1]);
        run.child.kill(signal);
        expect(await exitCode(run)).toBe(code);
        expect(run.stdout()).toContain(`child got ${signal}`);
        expect(await accepts(Number(new URL(base).port))).toBe(false);
        expect(alive(childPid)).toBe(false);
      }),
    );
  });

  it('a command without a handler dies of the forwarded signal: exit 128+n, and the emulator stops', async () => {
    const run = execChild(['wait']);
    const base = await announcedBase(run);
    const childPid = Number((await waitForOutput(run, /^waiting (\d+)$/m))[1]);
    run.child.kill('SIGTERM');
    expect(await exitCode(run)).toBe(128 + 15);
    expect(await accepts(Number(new URL(base).port))).toBe(false);
    expect(alive(childPid)).toBe(false);
  });

  it('its own failures have their own codes: 125 for a port in use or a bad option (the command never runs), 127 for a command not found', async () => {
    const held: Server = createServer();
    await new Promise<void>((resolve) => held.listen(0, '127.0.0.1', resolve));
    const port = (held.address() as { port: number }).port;
    try {
      const portTaken = execChild(['exit', '0'], ['--port', String(port)]);
      const badOption = execChild(['exit', '0'], ['--idle-timeout', '-5']);
      const unknownFlag = startCli(['exec', '--no-such-flag', '--', 'true']);
      const noCommand = startCli(['exec', '--timing', 'instant']);
      const notFound = startCli(['exec', '--', 'ih-mock-no-such-command']);
      expect(await exitCode(portTaken)).toBe(EXIT_EXEC_FAILURE);
      expect(portTaken.stderr()).toMatch(new RegExp(`^ih-mock: port ${port} on 127\\.0\\.0\\.1 is in use`, 'm'));
      expect(await exitCode(badOption)).toBe(EXIT_EXEC_FAILURE);
      expect(badOption.stderr()).toMatch(/--idle-timeout/);
      expect(await exitCode(unknownFlag)).toBe(EXIT_EXEC_FAILURE);
      expect(await exitCode(noCommand)).toBe(EXIT_EXEC_FAILURE);
      expect(noCommand.stderr()).toMatch(/needs <command>/);
      for (const run of [portTaken, badOption, unknownFlag, noCommand]) expect(run.stdout()).toBe('');
      expect(await exitCode(notFound)).toBe(EXIT_NOT_FOUND);
      expect(notFound.stderr()).toMatch(/cannot run ih-mock-no-such-command: command not found/);
    } finally {
      await new Promise((resolve) => held.close(resolve));
    }
  });

  it('--shell runs the command through the shell (pipes and $VARIABLES), with the same exit code rule', async () => {
    const run = startCli(['exec', '--timing', 'instant', '--shell', '--', 'echo "$IH_API_BASE_URL" | grep -q "^http://127.0.0.1:" && exit 5']);
    expect(await exitCode(run)).toBe(5);
  });

  it('on a terminal, Ctrl-C reaches the command once: the terminal sends it, exec does not send it again', async () => {
    // A real pseudo-terminal (Python's pty): Ctrl-C makes the terminal signal the whole foreground
    // job, exec and the command alike. A second SIGINT from exec would make many test runners abort
    // their cleanup. SIGTERM, sent to exec alone afterwards, is still passed on.
    const { stdout } = await promisify(execFile)('/usr/bin/python3', [
      PTY_CTRL_C, '^count ready', 'child got SIGINT 1', process.execPath, BIN, 'exec', '--timing', 'instant', '--', process.execPath, CHILD, 'count',
    ]);
    const { output, status, timed_out } = JSON.parse(stdout) as { output: string; status: number; timed_out: boolean };
    expect(timed_out).toBe(false);
    expect(output).toMatch(/^child got SIGTERM after 1 SIGINT\r?$/m);
    expect(status).toBe(0);
  });
});
