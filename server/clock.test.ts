import { describe, expect, it } from 'vitest';
import { isoMicros, RealClock, VirtualClock, VIRTUAL_EPOCH_MS } from './clock.js';

describe('VirtualClock', () => {
  it('fires timers in due order, same-instant timers in the order set, and only when advanced', () => {
    const clock = new VirtualClock();
    const fired: string[] = [];
    clock.setTimeout(() => fired.push('b@20'), 20);
    clock.setTimeout(() => fired.push('a@10'), 10);
    clock.setTimeout(() => fired.push('c@20'), 20);
    expect(fired).toEqual([]);
    clock.tick(15);
    expect(fired).toEqual(['a@10']);
    expect(clock.now()).toBe(VIRTUAL_EPOCH_MS + 15);
    clock.tick(5);
    expect(fired).toEqual(['a@10', 'b@20', 'c@20']);
  });

  it('fires timers set by timers within the same span, at their own due time', () => {
    const clock = new VirtualClock(0);
    const seen: number[] = [];
    clock.setTimeout(() => {
      seen.push(clock.now());
      clock.setTimeout(() => seen.push(clock.now()), 5);
    }, 10);
    clock.tick(100);
    expect(seen).toEqual([10, 15]);
    expect(clock.now()).toBe(100);
  });

  it('cancels timers', () => {
    const clock = new VirtualClock(0);
    let fired = false;
    const h = clock.setTimeout(() => (fired = true), 10);
    clock.clearTimeout(h);
    clock.tick(20);
    expect(fired).toBe(false);
    expect(clock.pendingCount).toBe(0);
  });

  it('advance() lets I/O callbacks run between timers', async () => {
    const clock = new VirtualClock(0);
    const order: string[] = [];
    clock.setTimeout(() => setImmediate(() => order.push('io after t1')), 10);
    clock.setTimeout(() => order.push('t2'), 20);
    await clock.advance(30);
    expect(order).toEqual(['io after t1', 't2']);
  });

  it('runs a one-hour schedule of 1 200 timers instantly', async () => {
    const clock = new VirtualClock(0);
    let count = 0;
    const every3s = () => {
      count++;
      if (clock.now() < 3600_000) clock.setTimeout(every3s, 3000);
    };
    clock.setTimeout(every3s, 3000);
    const started = Date.now();
    clock.tick(3600_000);
    expect(count).toBe(1200);
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describe('RealClock', () => {
  it('waits real time and can be cancelled', async () => {
    const clock = new RealClock();
    const t0 = clock.now();
    await new Promise<void>((resolve) => clock.setTimeout(resolve, 20));
    expect(clock.now() - t0).toBeGreaterThanOrEqual(15);
    let fired = false;
    clock.clearTimeout(clock.setTimeout(() => (fired = true), 5));
    await new Promise((r) => setTimeout(r, 20));
    expect(fired).toBe(false);
  });
});

describe('RealClock handles', () => {
  it('ignores handles it did not make and timers already fired', async () => {
    const clock = new RealClock();
    const handle = await new Promise<ReturnType<RealClock['setTimeout']>>((resolve) => {
      const h = clock.setTimeout(() => resolve(h), 1);
    });
    expect(() => clock.clearTimeout(handle)).not.toThrow();
    expect(() => clock.clearTimeout({ id: handle.id })).not.toThrow();
    expect(() => clock.clearTimeout(new VirtualClock().setTimeout(() => {}, 1))).not.toThrow();
  });
});

describe('VirtualClock, a delay that is not a number', () => {
  it('fires at once, as with Node: it is due now, and running every timer leaves the clock on a real time', async () => {
    const clock = new VirtualClock();
    const fired: string[] = [];
    clock.setTimeout(() => fired.push('NaN'), Number.NaN);
    clock.setTimeout(() => fired.push('5 ms'), 5);
    expect(clock.nextDue()).toBe(clock.now());
    await clock.runAll();
    expect(fired).toEqual(['NaN', '5 ms']);
    expect(Number.isFinite(clock.now())).toBe(true);
  });
});

describe('RealClock queue (one Node timer for all of its timers)', () => {
  it('fires timers in due order, those due together in the order they were set, and a cleared one never', async () => {
    // The wall clock stands still while the timers are set (so 'b1' to 'b3' are due together), then reads 40 ms on.
    let wall = Date.now();
    const clock = new RealClock(undefined, () => wall);
    const fired: string[] = [];
    const done = new Promise<void>((resolve) => clock.setTimeout(resolve, 40));
    for (const [name, ms] of [['c', 30], ['a', 10], ['b1', 20], ['b2', 20], ['x', 15], ['b3', 20]] as const) {
      const handle = clock.setTimeout(() => fired.push(name), ms);
      if (name === 'x') clock.clearTimeout(handle);
    }
    wall += 40;
    await done;
    expect(fired).toEqual(['a', 'b1', 'b2', 'b3', 'c']);
    expect(clock.pendingCount).toBe(0);
  });

  it('a timer set by a firing timer waits for a later turn, even at 0 ms', async () => {
    // The wall clock is pinned while the two 5-ms timers are set, so they are due together even if
    // the real millisecond turns between the two calls; it then reads 5 ms on.
    let wall = Date.now();
    const clock = new RealClock(undefined, () => wall);
    const order: string[] = [];
    await new Promise<void>((resolve) => {
      clock.setTimeout(() => {
        order.push('first');
        clock.setTimeout(() => {
          order.push('set by first');
          resolve();
        }, 0);
        setImmediate(() => order.push('next turn'));
      }, 5);
      clock.setTimeout(() => order.push('due with first'), 5);
      wall += 5;
    });
    expect(order).toEqual(['first', 'due with first', 'next turn', 'set by first']);
  });

  it('a callback that throws does not stop the timers due with it; its error is uncaught on its own turn', async () => {
    let wall = Date.now(); // pinned while both 5-ms timers are set, so they are due together
    const clock = new RealClock(undefined, () => wall);
    // The test runner's own handlers would report the error as a failure: stand in for them.
    const runners = process.listeners('uncaughtException');
    process.removeAllListeners('uncaughtException');
    const uncaught = new Promise<unknown>((resolve) => process.once('uncaughtException', resolve)).finally(() => {
      for (const listener of runners) process.on('uncaughtException', listener);
    });
    const fired: string[] = [];
    clock.setTimeout(() => {
      throw new Error('boom');
    }, 5);
    const after = new Promise<void>((resolve) => clock.setTimeout(() => (fired.push('after'), resolve()), 5));
    wall += 5;
    await after;
    expect(fired).toEqual(['after']);
    expect(((await uncaught) as Error).message).toBe('boom');
  });

  it('a delay that is not a number fires at once, as with Node, and holds up no timer behind it', async () => {
    const clock = new RealClock();
    const fired: string[] = [];
    clock.setTimeout(() => fired.push('NaN'), Number.NaN);
    await new Promise<void>((resolve) => clock.setTimeout(() => (fired.push('5 ms'), resolve()), 5));
    expect(fired).toEqual(['NaN', '5 ms']);
    expect(clock.pendingCount).toBe(0);
  });

  it('clearing the earliest timer lets the later ones fire on time, and an empty queue holds no Node timer', async () => {
    const clock = new RealClock();
    const early = clock.setTimeout(() => {
      throw new Error('cleared timer fired');
    }, 5);
    const t0 = Date.now();
    const later = new Promise<number>((resolve) => clock.setTimeout(() => resolve(Date.now() - t0), 25));
    clock.clearTimeout(early);
    expect(await later).toBeGreaterThanOrEqual(24);
    expect(clock.pendingCount).toBe(0);
    const activeTimeoutsBefore = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const handle = clock.setTimeout(() => {}, 60_000);
    clock.clearTimeout(handle);
    // Nothing keeps the loop alive: an empty queue has disarmed its Node timer.
    expect(process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length).toBe(activeTimeoutsBefore);
  });
});

describe('RealClock long timers', () => {
  it('chains waits longer than one Node timer instead of firing at once', async () => {
    const clock = new RealClock(20); // pretend Node's limit is 20 ms
    const t0 = Date.now();
    await new Promise<void>((resolve) => clock.setTimeout(resolve, 70));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(65);
  });

  it('a chained timer can still be cancelled mid-chain', async () => {
    const clock = new RealClock(10);
    let fired = false;
    const h = clock.setTimeout(() => (fired = true), 50);
    await new Promise((r) => setTimeout(r, 25));
    clock.clearTimeout(h);
    await new Promise((r) => setTimeout(r, 60));
    expect(fired).toBe(false);
  });
});

describe('isoMicros', () => {
  it('formats with six fractional digits and Z, as the live service', () => {
    expect(isoMicros(Date.UTC(2026, 5, 20, 15, 21, 55, 149))).toBe('2026-06-20T15:21:55.149000Z');
  });

  it('gives each time its own stamp when times repeat and alternate (the last stamp is reused only for the same time)', () => {
    const a = Date.UTC(2026, 0, 1, 0, 0, 0, 1);
    const b = Date.UTC(2026, 0, 1, 0, 0, 0, 2);
    expect([a, a, b, b, a, b].map(isoMicros)).toEqual([
      '2026-01-01T00:00:00.001000Z',
      '2026-01-01T00:00:00.001000Z',
      '2026-01-01T00:00:00.002000Z',
      '2026-01-01T00:00:00.002000Z',
      '2026-01-01T00:00:00.001000Z',
      '2026-01-01T00:00:00.002000Z',
    ]);
    expect(() => isoMicros(Number.NaN)).toThrow(RangeError);
  });
});
