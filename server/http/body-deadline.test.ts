import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../clock.js';
import { BodyDeadline, type BodyTimeout } from './body-deadline.js';

/** A deadline over a connection whose byte counter the test moves; `result()` is what fired, if anything. */
function watched(limits: { idleSeconds: number; totalSeconds: number }) {
  const clock = new VirtualClock();
  const socket = { bytesRead: 100 };
  const deadline = new BodyDeadline(clock, socket, limits);
  let fired: (BodyTimeout & { at: number }) | undefined;
  void deadline.expired.then((t) => (fired = { ...t, at: clock.now() - start }));
  const start = clock.now();
  return { clock, socket, deadline, result: () => fired, elapsed: () => clock.now() - start };
}

describe('BodyDeadline', () => {
  it('a body with no byte at all expires after exactly the idle span', async () => {
    const w = watched({ idleSeconds: 8, totalSeconds: 100 });
    await w.clock.advance(7_999);
    expect(w.result()).toBeUndefined();
    await w.clock.advance(1);
    expect(w.result()).toEqual({ kind: 'timeout', limit: 'idle', seconds: 8, at: 8_000 });
    expect(w.clock.pendingCount).toBe(0);
  });

  it('bytes push the idle deadline back: expiry comes between 1 and 1.25 idle spans after the last byte', async () => {
    const w = watched({ idleSeconds: 8, totalSeconds: 100 });
    for (const at of [1_000, 5_000, 9_500, 12_100]) {
      await w.clock.advance(at - w.elapsed());
      w.socket.bytesRead += 1;
    }
    await w.clock.runAll();
    const { at } = w.result()!;
    expect(w.result()!.limit).toBe('idle');
    expect(at - 12_100).toBeGreaterThanOrEqual(8_000);
    expect(at - 12_100).toBeLessThanOrEqual(10_000);
  });

  it('a body that keeps trickling expires at exactly the total span', async () => {
    const w = watched({ idleSeconds: 4, totalSeconds: 10 });
    for (let second = 1; second <= 12 && !w.result(); second++) {
      w.socket.bytesRead += 1;
      await w.clock.advance(1_000);
    }
    expect(w.result()).toEqual({ kind: 'timeout', limit: 'total', seconds: 10, at: 10_000 });
  });

  it('cancel() leaves no timer and nothing ever fires', async () => {
    const w = watched({ idleSeconds: 1, totalSeconds: 2 });
    await w.clock.advance(500);
    w.deadline.cancel();
    expect(w.clock.pendingCount).toBe(0);
    await w.clock.advance(10_000);
    expect(w.result()).toBeUndefined();
  });
});
