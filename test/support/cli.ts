/** Run the real `ih-mock` command (the built bin) as a child process. */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { PACKAGE_ROOT } from '../../server/paths.js';

export const BIN = join(PACKAGE_ROOT, 'bin', 'ih-mock.js');

export interface Running {
  child: ChildProcessWithoutNullStreams;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves once the child's stdout and stderr are closed: every process holding them (npx's ih-mock too) is gone. */
  outputClosed: Promise<void>;
  /** Started in a process group of its own (via npx): signal it with `stopGroup`. */
  group: boolean;
  /** The arguments, for messages. */
  args: string[];
}

/** Every child started and not yet seen to exit: `useCliProcesses` kills what a failed test left behind. */
const running = new Set<Running>();

/** Start the CLI with `args` (via node, given `nodeArgs`, or via `npx` when `viaNpx`); `env` is added to this process's environment. */
export function startCli(args: string[], opts: { viaNpx?: boolean; env?: NodeJS.ProcessEnv; nodeArgs?: string[] } = {}): Running {
  // npx runs ih-mock as its own child and does not pass SIGTERM on: give it a process group of its
  // own, so `stopGroup` can signal npx and ih-mock together (as a terminal's Ctrl-C does).
  const child = opts.viaNpx
    ? spawn('npx', ['--no-install', 'ih-mock', ...args], { cwd: PACKAGE_ROOT, env: { ...process.env, NO_COLOR: '1' }, detached: true })
    : spawn(process.execPath, [...(opts.nodeArgs ?? []), BIN, ...args], { cwd: PACKAGE_ROOT, env: { ...process.env, ...(opts.env ?? {}) } });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const closed = (stream: NodeJS.ReadableStream) => new Promise<void>((resolve) => stream.on('close', () => resolve()));
  const run: Running = { child, stdout: () => out, stderr: () => err, exited, outputClosed: Promise.all([closed(child.stdout), closed(child.stderr)]).then(() => undefined), group: opts.viaNpx === true, args };
  running.add(run);
  void exited.then(() => running.delete(run));
  return run;
}

/**
 * Wait until the child's `stream` output matches `pattern` (checked on every chunk it writes), and
 * return the match. Fails at once if the child exits first, and after `timeoutMs` at the latest (a
 * bound, generous because a start costs most of a second of CPU and the machine may be shared).
 */
export function waitForOutput(run: Running, pattern: RegExp, { stream = 'stdout', timeoutMs = 60_000 }: { stream?: 'stdout' | 'stderr'; timeoutMs?: number } = {}): Promise<RegExpExecArray> {
  const text = stream === 'stdout' ? run.stdout : run.stderr;
  const source = stream === 'stdout' ? run.child.stdout : run.child.stderr;
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      source.off('data', check);
      run.child.off('exit', exited);
      outcome();
    };
    const check = () => {
      const match = pattern.exec(text());
      if (match) settle(() => resolve(match));
    };
    const exited = (code: number | null) => {
      // The last chunks may arrive after 'exit': look once more when the stream has ended.
      const last = () => {
        check();
        settle(() => reject(new Error(`ih-mock ${run.args.join(' ')} exited (${code}) before its ${stream} matched ${pattern}:\n${run.stdout()}\n${run.stderr()}`)));
      };
      if (source.readableEnded) last();
      else source.once('end', last);
    };
    const timer = setTimeout(() => settle(() => reject(new Error(`the ${stream} of ih-mock ${run.args.join(' ')} did not match ${pattern} within ${timeoutMs} ms:\n${run.stdout()}\n${run.stderr()}`))), timeoutMs);
    source.on('data', check);
    run.child.on('exit', exited);
    check();
  });
}

/** Wait for the fixed readiness line (`ih-mock ready at`, `ih-mock record ready at`, ...) and return the base URL it names. */
export async function waitReady(run: Running, timeoutMs = 60_000, command = ''): Promise<string> {
  const line = new RegExp(`^ih-mock ${command ? `${command} ` : ''}ready at (http:\\/\\/\\S+)$`, 'm');
  return (await waitForOutput(run, line, { timeoutMs }))[1]!;
}

/** Run the CLI to completion (for --help, bad flags, the admin client). */
export async function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const run = startCli(args, { env });
  const { code } = await run.exited;
  await run.outputClosed;
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}

/** Signal every process of a `viaNpx` run's group (npx and the ih-mock it started). */
export function stopGroup(run: Running, signal: NodeJS.Signals = 'SIGTERM'): void {
  process.kill(-run.child.pid!, signal);
}

/** Register once per test file: after each test, kill any ih-mock a failed test left running. */
export function useCliProcesses(): void {
  afterEach(async () => {
    const left = [...running];
    for (const run of left) {
      if (run.group) stopGroup(run, 'SIGKILL');
      else run.child.kill('SIGKILL');
    }
    await Promise.all(left.map((run) => run.outputClosed));
  });
}
