/** What the commands that serve until stopped (serve, record, replay) share. */
import { CommandFailure } from './io.js';

/**
 * Run `body` with SIGINT/SIGTERM handlers already in place; `stopped` resolves with the first of
 * them. Install before listening and before printing the readiness line: a script that signals the
 * moment it reads that line must get the graceful stop (and exit 0), not the default action of a
 * signal nobody handles yet, which kills the process. After the first signal the handlers are
 * removed, so a second Ctrl-C during a slow shutdown still ends the process at once.
 */
export async function withStopSignal<T>(body: (stopped: Promise<NodeJS.Signals>) => Promise<T>): Promise<T> {
  let received!: (signal: NodeJS.Signals) => void;
  const stopped = new Promise<NodeJS.Signals>((resolve) => (received = resolve));
  const dispose = () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
  const handler = (signal: NodeJS.Signals) => {
    dispose();
    received(signal);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  try {
    return await body(stopped);
  } finally {
    dispose();
  }
}

/** Listen, or fail in one line that says why (exit 1): a port in use is a slip, not a crash. */
export async function listenOrExplain<T>(listen: () => Promise<T>, where: { host: string; port: number }): Promise<T> {
  try {
    return await listen();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new CommandFailure(
      e.code === 'EADDRINUSE' ? `port ${where.port} on ${where.host} is in use (pick another with --port, or --port 0 for a free one)`
      : e.code === 'EADDRNOTAVAIL' || e.code === 'ENOTFOUND' ? `cannot listen on host ${where.host} (${e.code})`
      : e.code === 'EACCES' ? `not allowed to listen on port ${where.port} of ${where.host} (EACCES; ports below 1024 need privileges)`
      : `cannot listen on ${where.host}:${where.port}: ${e.message}`,
    );
  }
}
