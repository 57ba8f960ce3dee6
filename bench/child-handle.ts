/** Parent side of `server-child.ts`: spawn it, wait for its port, call its commands, stop it. */
import { spawn, type ChildProcess } from 'node:child_process';
import { buildSync } from 'esbuild';
import { pinProcess } from './cpu-pinning.js';
import { fileURLToPath } from 'node:url';
import type { ChildCommand, ChildConfig, ChildReady, ChildReply, ChildRequest } from './protocol.js';

const CHILD_SOURCE = fileURLToPath(new URL('./server-child.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));
/** The child compiled to plain JavaScript: in `.cache/`, one level below the repo like `bench/`, so its `../dist/` imports still resolve. */
const CHILD_PATH = fileURLToPath(new URL('../.cache/bench-server-child.mjs', import.meta.url));
let childBuilt = false;

/**
 * Compile `server-child.ts` (and the bench modules it imports) to one JavaScript file, once per
 * bench run, so a server child runs as plain `node` on the built package, as `npx ih-mock` does.
 * Why not `node --import tsx`: tsx's loader adds several MB to the child's heap, which moves where
 * V8 schedules its mark-compacts (bench/README.md, "Garbage-collection state") and is not in what a
 * user runs. The package (`../dist/`) and npm packages stay imports, not copies.
 */
function buildChild(): void {
  if (childBuilt) return;
  buildSync({
    entryPoints: [CHILD_SOURCE],
    outfile: CHILD_PATH,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    external: ['../dist/*'],
    logLevel: 'error',
  });
  childBuilt = true;
}

/** Every child started and not yet reaped, so the bench can stop them all on any failure. */
const live = new Set<ChildProcess>();

export interface SpawnOptions {
  /** Write a V8 CPU profile of the child to this directory when it exits. */
  cpuProfDir?: string;
  /** How long the child may take to start listening. */
  startTimeoutMs?: number;
  /** Run the child on these CPUs only (a `taskset -c` list), see `cpu-pinning.ts`. */
  cpus?: string;
  /** More environment variables for the child (on top of the bench's own). */
  env?: Record<string, string>;
}

export class ServerHandle {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private exited = false;

  private constructor(
    readonly config: ChildConfig,
    private readonly child: ChildProcess,
    readonly port: number,
    readonly url: string,
  ) {
    child.on('message', (message: ChildReply) => {
      const entry = this.pending.get(message.id);
      if (!entry) return;
      this.pending.delete(message.id);
      clearTimeout(entry.timer);
      if (message.ok) entry.resolve(message.result);
      else entry.reject(new Error(`server child (${config.kind}): ${message.error ?? 'failed'}`));
    });
    child.on('exit', (code, signal) => {
      this.exited = true;
      live.delete(child);
      for (const [, entry] of this.pending) {
        clearTimeout(entry.timer);
        entry.reject(new Error(`server child (${config.kind}) exited (code ${code}, signal ${signal})`));
      }
      this.pending.clear();
    });
  }

  static start(config: ChildConfig, options: SpawnOptions = {}): Promise<ServerHandle> {
    // BENCH_CHILD_NODE_ARGS: more node/V8 flags for every server child (e.g. "--trace-gc"; bench/README.md).
    buildChild();
    const args = ['--expose-gc', ...(process.env.BENCH_CHILD_NODE_ARGS ?? '').split(/\s+/).filter(Boolean)];
    if (options.cpuProfDir) args.push('--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`);
    args.push(CHILD_PATH, JSON.stringify(config));
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], ...(options.env && { env: { ...process.env, ...options.env } }) });
    live.add(child);
    if (options.cpus !== undefined && child.pid !== undefined) pinProcess(child.pid, options.cpus);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`server child (${config.kind}) did not start within ${options.startTimeoutMs ?? 30_000} ms`));
      }, options.startTimeoutMs ?? 30_000);
      const onExit = (code: number | null) => {
        clearTimeout(timer);
        reject(new Error(`server child (${config.kind}) exited before listening (code ${code})`));
      };
      child.once('exit', onExit);
      child.once('message', (message: ChildReady) => {
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve(new ServerHandle(config, child, message.port, `ws://127.0.0.1:${message.port}${message.path}`));
      });
    });
  }

  call<T>(command: ChildCommand, timeoutMs = 60_000): Promise<T> {
    if (this.exited) return Promise.reject(new Error(`server child (${this.config.kind}) has exited`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`server child (${this.config.kind}): ${command.cmd} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.child.send({ id, command } satisfies ChildRequest);
    });
  }

  /** Ask the child to close and exit; kill it if it does not within a few seconds. */
  async stop(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.call({ cmd: 'exit' }, 5_000).catch(() => {});
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 8_000);
    await exited;
    clearTimeout(timer);
  }
}

/** A child for the length of `fn`, stopped whatever happens. */
export async function withChild<T>(config: ChildConfig, options: SpawnOptions, fn: (server: ServerHandle) => Promise<T>): Promise<T> {
  const server = await ServerHandle.start(config, options);
  try {
    return await fn(server);
  } finally {
    await server.stop();
  }
}

/**
 * Fresh children, one per config, started together (to halve the start-up wait); then `each` runs
 * on them one after the other, in the configs' order; then all are stopped, whatever happened.
 * For paired measurements: a child's garbage-collection state carries over from run to run
 * (bench/README.md, "Garbage-collection state"), so each pair gets children of its own.
 */
export async function onFreshChildren<R>(configs: readonly ChildConfig[], options: SpawnOptions, each: (server: ServerHandle, index: number) => Promise<R>): Promise<R[]> {
  const started = await Promise.allSettled(configs.map((config) => ServerHandle.start(config, options)));
  try {
    const results: R[] = [];
    for (const [index, s] of started.entries()) {
      if (s.status === 'rejected') throw s.reason;
      results.push(await each(s.value, index));
    }
    return results;
  } finally {
    await Promise.all(started.map((s) => (s.status === 'fulfilled' ? s.value.stop() : undefined)));
  }
}

/** Kill every child still running (on failure or timeout). Only processes this module started. */
export function killAllChildren(): void {
  for (const child of live) child.kill('SIGKILL');
  live.clear();
}
