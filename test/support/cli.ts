/** Run the real `ih-mock` command (the built bin) as a child process. */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../server/paths.js';

export const BIN = join(PACKAGE_ROOT, 'bin', 'ih-mock.js');

export interface Running {
  child: ChildProcessWithoutNullStreams;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Start the CLI with `args` (via node, or via `npx` when `viaNpx`); `env` adds to the environment. */
export function startCli(args: string[], opts: { viaNpx?: boolean; env?: NodeJS.ProcessEnv } = {}): Running {
  // npx runs ih-mock as its own child and does not pass SIGTERM on: give it a process group of its
  // own, so `stopGroup` can signal npx and ih-mock together (as a terminal's Ctrl-C does).
  const child = opts.viaNpx
    ? spawn('npx', ['--no-install', 'ih-mock', ...args], { cwd: PACKAGE_ROOT, env: { ...process.env, NO_COLOR: '1' }, detached: true })
    : spawn(process.execPath, [BIN, ...args], { cwd: PACKAGE_ROOT, env: { ...process.env, ...(opts.env ?? {}) } });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Wait for the fixed readiness line (`ih-mock ready at`, `ih-mock record ready at`, ...) and return the base URL it names. */
export async function waitReady(run: Running, timeoutMs = 20_000, command = ''): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  const line = new RegExp(`^ih-mock ${command ? `${command} ` : ''}ready at (http:\\/\\/\\S+)$`, 'm');
  for (;;) {
    const match = line.exec(run.stdout());
    if (match) return match[1]!;
    if (run.child.exitCode !== null) throw new Error(`ih-mock exited (${run.child.exitCode}) before ready:\n${run.stderr()}`);
    if (Date.now() > deadline) throw new Error(`ih-mock not ready in time:\n${run.stdout()}\n${run.stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Run the CLI to completion (for --help, bad flags, the admin client). */
export async function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const run = startCli(args, { env });
  const { code } = await run.exited;
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}

/** Signal every process of a `viaNpx` run's group (npx and the ih-mock it started). */
export function stopGroup(run: Running, signal: NodeJS.Signals = 'SIGTERM'): void {
  process.kill(-run.child.pid!, signal);
}
