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

/**
 * Wait until the server's only session has received `n` binary messages (so virtual time can move
 * on). Synchronised on the server's journal: each binary message it records wakes the wait, which
 * then finds the message processed (a frame is processed synchronously as it arrives). With the
 * journal off, it checks between short real-time pauses instead.
 */
export async function untilReceived(server: MockServer, n: number, timeoutMs = 10_000): Promise<void> {
  const received = () => [...server.sessions].some((s) => s.stats.binaryMessages >= n);
  const { journal } = await server.admin.status();
  if (journal.capacity === 0) return until(received, `the session received ${n} binary messages`, timeoutMs);
  // Nothing can arrive between this status and the first wait: only promise continuations run.
  let since = journal.next;
  while (!received()) ({ next: since } = await server.admin.waitFor({ direction: 'in', type: 'binary', since, timeoutMs }));
}
