/**
 * Keep the server under test and the load-generating client on different CPUs.
 *
 * Why: on a 2-core machine, unpinned, the scheduler moves the two processes around and the bare ws
 * baseline flips between two steady states whose cost per byte differs about threefold (a server
 * that keeps up reads many small TCP segments; one that lags reads full 64-KB buffers). A ratio
 * against that baseline then swung from 0.5 to 1.5 between runs of the same code. Pinned (the client
 * on the last CPU, each server child on the first), repeated runs agree within a few percent. The
 * figures that drive two servers at once (the CPU figures, the scale figure's CPU row) have both on
 * the first CPU together: each child's CPU time is still its own.
 *
 * Linux only, through `taskset` (util-linux, on every Debian); elsewhere, or with one CPU, nothing is
 * pinned and the bench says so.
 */
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';

export interface Pinning {
  /** CPU list for server children (`taskset -c` syntax), or undefined when not pinning. */
  server: string | undefined;
  /** One line for the report. */
  description: string;
  /** Let this process (and what it spawns from now on) run on every CPU again. */
  release(): void;
}

/** Pin this process (the client) to the last CPU, and say where server children go. */
export function pinBench(): Pinning {
  const count = cpus().length;
  const unpinned = (why: string): Pinning => ({ server: undefined, description: `not pinned (${why})`, release() {} });
  if (process.platform !== 'linux' || count < 2) return unpinned('needs Linux and 2 CPUs');
  const client = String(count - 1);
  const server = count === 2 ? '0' : `0-${count - 2}`;
  try {
    pinProcess(process.pid, client);
  } catch {
    return unpinned('taskset failed or is missing');
  }
  return {
    server,
    description: `client on CPU ${client}, server on CPU ${server}`,
    release: () => pinProcess(process.pid, `0-${count - 1}`),
  };
}

/** Restrict every thread of `pid` to `cpuList`. */
export function pinProcess(pid: number, cpuList: string): void {
  execFileSync('taskset', ['-a', '-p', '-c', cpuList, String(pid)], { stdio: 'ignore' });
}
