import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../clock.js';
import { ConcurrencyLimiter, RateLimiter } from './limits.js';

describe('RateLimiter', () => {
  it('allows `limit` requests per key in any sliding window, with the wait until the oldest leaves', () => {
    const clock = new VirtualClock();
    const limiter = new RateLimiter({ limit: 2, windowMs: 60_000, clock });
    expect(limiter.take('a')).toEqual({ ok: true });
    clock.tick(15_000);
    expect(limiter.take('a')).toEqual({ ok: true });
    expect(limiter.take('a')).toEqual({ ok: false, retryAfterSeconds: 45 });
    expect(limiter.take('b')).toEqual({ ok: true });
    clock.tick(44_500);
    expect(limiter.take('a')).toEqual({ ok: false, retryAfterSeconds: 1 }); // rounded up, never 0
    clock.tick(500);
    expect(limiter.take('a')).toEqual({ ok: true }); // the first left the window; refusals did not count
    expect(limiter.take('a')).toEqual({ ok: false, retryAfterSeconds: 15 });
  });

  it('never limits with limit null', () => {
    const limiter = new RateLimiter({ limit: null, clock: new VirtualClock() });
    for (let i = 0; i < 10_000; i++) expect(limiter.take('a').ok).toBe(true);
    expect(limiter.size).toBe(0);
  });

  it('forgets keys whose requests have all left the window', () => {
    const clock = new VirtualClock();
    const limiter = new RateLimiter({ limit: 5, windowMs: 1_000, clock });
    for (let i = 0; i < 1000; i++) limiter.take(`key-${i}`);
    expect(limiter.size).toBe(1000);
    clock.tick(2_000);
    for (let i = 0; i < 1024; i++) limiter.take('steady');
    expect(limiter.size).toBeLessThanOrEqual(2);
  });
});

describe('ConcurrencyLimiter', () => {
  it('admits at most `max` per key; release (idempotent) frees a slot', () => {
    const limiter = new ConcurrencyLimiter(2);
    const r1 = limiter.acquire('a');
    const r2 = limiter.acquire('a');
    expect(r1 && r2).toBeTruthy();
    expect(limiter.acquire('a')).toBeNull();
    expect(limiter.acquire('b')).not.toBeNull();
    r1!();
    r1!();
    expect(limiter.active('a')).toBe(1);
    expect(limiter.acquire('a')).not.toBeNull();
    expect(limiter.acquire('a')).toBeNull();
  });
});
