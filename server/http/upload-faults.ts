/**
 * A scenario's upload faults (`when: {upload: N}`): which scripted failure, if any, the n-th upload
 * meets. The route carries it out: `error` answers at once with the code's status and body (and
 * `Retry-After` when asked, or for ih3001), `delay` adds seconds before the answer, `disconnect`
 * cuts the connection with no answer.
 *
 * Invariants: uploads are counted from the server's start, among requests with an accepted
 * credential, in arrival order; each fault fires at most once; the seeded generator is drawn only
 * for a probability strictly between 0 and 1, so the same seed replays the same faults.
 */
import type { Random } from '../random.js';
import type { Fault } from '../types/generated.js';

/** Retry-After sent with a scripted ih3001 that names none (the rate limiter's own minimum). */
const DEFAULT_RATE_LIMIT_RETRY_AFTER_SECONDS = 1;

export type UploadFaultAction =
  | { kind: 'error'; fault: Fault & { code: NonNullable<Fault['code']> }; retryAfterSeconds: number | null }
  | { kind: 'delay'; seconds: number }
  | { kind: 'disconnect' };

export class UploadFaults {
  private count = 0;
  private readonly faults: readonly Fault[];

  constructor(
    faults: readonly Fault[],
    private readonly random: Random,
  ) {
    this.faults = faults.filter((f) => f.when?.upload !== undefined);
  }

  /** An upload arrived (credential accepted): what the scenario does to it, in the order scripted. */
  next(): UploadFaultAction[] {
    const n = ++this.count;
    if (this.faults.length === 0) return [];
    const actions: UploadFaultAction[] = [];
    for (const fault of this.faults) {
      if (fault.when!.upload !== n || !this.happens(fault.probability ?? 1)) continue;
      if (fault.action === 'error' && fault.code) {
        const retryAfterSeconds = fault.retry_after_seconds ?? (fault.code === 'ih3001' ? DEFAULT_RATE_LIMIT_RETRY_AFTER_SECONDS : null);
        actions.push({ kind: 'error', fault: fault as Fault & { code: NonNullable<Fault['code']> }, retryAfterSeconds });
      } else if (fault.action === 'delay') actions.push({ kind: 'delay', seconds: fault.seconds ?? 0 });
      else if (fault.action === 'disconnect') actions.push({ kind: 'disconnect' });
    }
    return actions;
  }

  private happens(probability: number): boolean {
    if (probability >= 1) return true;
    if (probability <= 0) return false;
    return this.random.next() < probability;
  }
}
