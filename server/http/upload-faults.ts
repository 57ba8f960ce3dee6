/**
 * A scenario's upload faults (`when: {upload: N}`): which scripted failure, if any, the n-th upload
 * meets. The route carries it out: `error` answers at once with the code's status and body (and
 * `Retry-After` when asked, or for ih3001), `delay` adds seconds before the answer, `disconnect`
 * cuts the connection with no answer.
 *
 * Invariants: uploads are counted from the server's start (or the admin API's reset), among requests with an accepted
 * credential, in arrival order. When a fault fires (at most once, with its seeded probability) is
 * the stream's FaultSchedule, so both follow the same rules.
 */
import type { Random } from '../random.js';
import { FaultSchedule } from '../stream/faults.js';
import type { Fault } from '../types/generated.js';

/** Retry-After sent with a scripted ih3001 that names none (the rate limiter's own minimum). */
const DEFAULT_RATE_LIMIT_RETRY_AFTER_SECONDS = 1;

export type UploadFaultAction =
  | { kind: 'error'; fault: Fault & { code: NonNullable<Fault['code']> }; retryAfterSeconds: number | null }
  | { kind: 'delay'; seconds: number }
  | { kind: 'disconnect' };

export class UploadFaults {
  private count = 0;
  private schedule: FaultSchedule;

  constructor(
    private readonly faults: readonly Fault[],
    private readonly random: Random,
  ) {
    this.schedule = new FaultSchedule(faults, random);
  }

  /**
   * An upload arrived (credential accepted): what it meets, in order — `queued` first (faults queued
   * for it through the admin API, already checked as upload faults), then the scenario's.
   */
  next(queued: readonly Fault[] = []): UploadFaultAction[] {
    return [...queued, ...this.schedule.onUpload(++this.count)].flatMap((fault): UploadFaultAction[] => {
      if (fault.action === 'error' && fault.code) {
        const retryAfterSeconds = fault.retry_after_seconds ?? (fault.code === 'ih3001' ? DEFAULT_RATE_LIMIT_RETRY_AFTER_SECONDS : null);
        return [{ kind: 'error', fault: fault as Fault & { code: NonNullable<Fault['code']> }, retryAfterSeconds }];
      }
      if (fault.action === 'delay') return [{ kind: 'delay', seconds: fault.seconds ?? 0 }];
      if (fault.action === 'disconnect') return [{ kind: 'disconnect' }];
      return []; // the loader allows no other action on an upload
    });
  }

  /** Count uploads from 1 again, every scripted fault armed again (the admin API's reset). */
  reset(): void {
    this.count = 0;
    this.schedule = new FaultSchedule(this.faults, this.random);
  }
}
