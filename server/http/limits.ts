/**
 * Per-account limits of the HTTP API (docs/protocol.md §2 and §5): a request rate (`ih3001`) and a number of
 * concurrent requests (`ih3002`). Both are keyed by a caller-chosen string (an account label, or
 * `auth:<key_id>` on the token exchange) and run on the injected clock, so a virtual clock drives them.
 *
 * Invariants: memory is bounded by the keys in use (a key with nothing left to remember is
 * forgotten); a refused request does not count against the window, so a client that keeps retrying
 * recovers as soon as the window has moved on.
 */
import type { Clock } from '../clock.js';

export type RateDecision = { ok: true } | { ok: false; retryAfterSeconds: number };

export interface RateLimiterOptions {
  /** Requests allowed per key within `windowMs`; null = no limit. */
  limit: number | null;
  /** Length of the sliding window in milliseconds (default one minute). */
  windowMs?: number;
  clock: Clock;
}

/**
 * A sliding-window request counter: at most `limit` accepted requests per key in any `windowMs` of
 * clock time. Hand-written because it must run on the injected clock, which rate-limit plugins do not.
 */
export class RateLimiter {
  private readonly limit: number | null;
  private readonly windowMs: number;
  private readonly clock: Clock;
  /** Accepted request times per key, oldest first. */
  private readonly hits = new Map<string, number[]>();
  private calls = 0;

  constructor(options: RateLimiterOptions) {
    this.limit = options.limit;
    this.windowMs = options.windowMs ?? 60_000;
    this.clock = options.clock;
  }

  /** Count one request for `key`, or refuse it with the seconds until one more would be accepted. */
  take(key: string): RateDecision {
    if (this.limit === null) return { ok: true };
    const now = this.clock.now();
    if (++this.calls % 1024 === 0) this.sweep(now);
    const times = this.hits.get(key) ?? [];
    dropOlderThan(times, now - this.windowMs);
    if (times.length >= this.limit) {
      // The oldest accepted request leaves the window first; then there is room for one more.
      const waitMs = times[0]! + this.windowMs - now;
      this.hits.set(key, times);
      return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
    }
    times.push(now);
    this.hits.set(key, times);
    return { ok: true };
  }

  /** Keys currently remembered (for tests of the memory bound). */
  get size(): number {
    return this.hits.size;
  }

  /** Forget every key whose requests have all left the window. */
  private sweep(now: number): void {
    for (const [key, times] of this.hits) {
      dropOlderThan(times, now - this.windowMs);
      if (times.length === 0) this.hits.delete(key);
    }
  }
}

/** Remove the leading entries at or before `cutoff` (the array is sorted, oldest first). */
function dropOlderThan(times: number[], cutoff: number): void {
  let n = 0;
  while (n < times.length && times[n]! <= cutoff) n++;
  if (n > 0) times.splice(0, n);
}

/**
 * At most `max` requests in flight per key. `acquire` returns a release function (call it exactly
 * once, when the request is over, however it ends), or `null` when the key is at its limit.
 */
export class ConcurrencyLimiter {
  private readonly inFlight = new Map<string, number>();

  constructor(private readonly max: number) {}

  acquire(key: string): (() => void) | null {
    const current = this.inFlight.get(key) ?? 0;
    if (current >= this.max) return null;
    this.inFlight.set(key, current + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.inFlight.get(key) ?? 1) - 1;
      if (left <= 0) this.inFlight.delete(key);
      else this.inFlight.set(key, left);
    };
  }

  /** Requests in flight for `key`. */
  active(key: string): number {
    return this.inFlight.get(key) ?? 0;
  }

  /** Requests in flight for every key together. */
  get total(): number {
    let sum = 0;
    for (const n of this.inFlight.values()) sum += n;
    return sum;
  }
}
