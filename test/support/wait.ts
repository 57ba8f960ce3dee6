/** Waiting helpers for tests that drive a virtual clock over real sockets. */
import type { MockServer } from '../../server/app.js';

/** Wait (real time) until `cond` holds, yielding to I/O between checks. */
export async function until(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Wait until the server's only session has received `n` binary messages (so virtual time can move on). */
export async function untilReceived(server: MockServer, n: number): Promise<void> {
  await until(() => [...server.sessions].some((s) => s.stats.binaryMessages >= n), `the session received ${n} binary messages`);
}
