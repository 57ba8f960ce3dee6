/**
 * The injected clock. Everything in ih-mock that waits or stamps time goes through a `Clock`, never
 * `Date.now()` or the global timers, so a virtual clock can run a one-hour session in a second and a
 * failure replays exactly.
 */

/** Opaque handle returned by `Clock.setTimeout`. */
export interface TimerHandle {
  readonly id: number;
}

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** Run `fn` once after `ms` milliseconds of this clock's time. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle | undefined): void;
  /**
   * Run `fn` once the work of the current turn is done; used to write a turn's frames to a socket
   * together. Real time: at the end of this event-loop turn, after its timers and reads. Virtual
   * time: before the clock moves again, so a frame still leaves at the time it was sent. Without
   * it, `setImmediate`.
   */
  afterTurn?(fn: () => void): void;
}

/** Largest delay Node's setTimeout honours. */
const MAX_NODE_TIMER_MS = 2 ** 31 - 1;

/** A RealClock timer: the handle holds its Node timer itself (no table to look it up in, per window due). */
class RealTimer implements TimerHandle {
  node: NodeJS.Timeout | undefined;
  constructor(
    readonly id: number,
    readonly due: number,
    readonly fn: () => void,
  ) {}
}

/** Wall-clock time backed by Node's timers. */
export class RealClock implements Clock {
  private nextId = 1;

  /** @param maxStepMs longest single Node timer (tests lower it to exercise chaining). */
  constructor(private readonly maxStepMs: number = MAX_NODE_TIMER_MS) {}

  now(): number {
    return Date.now();
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer = new RealTimer(this.nextId++, Date.now() + Math.max(0, ms), fn);
    this.arm(timer);
    return timer;
  }

  /**
   * Node fires timers longer than 2^31−1 ms at once; longer waits are chained in steps. Node counts
   * in the event loop's own millisecond clock, not in step with Date.now(), so a timer may also fire
   * up to a millisecond before `due`: the rest is waited again, so nothing fires early.
   */
  private arm(timer: RealTimer): void {
    const wait = Math.min(Math.max(0, timer.due - Date.now()), this.maxStepMs);
    timer.node = setTimeout(() => {
      if (Date.now() < timer.due) return this.arm(timer);
      timer.node = undefined;
      timer.fn();
    }, wait);
  }

  afterTurn(fn: () => void): void {
    setImmediate(fn);
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    if (!(handle instanceof RealTimer) || handle.node === undefined) return;
    clearTimeout(handle.node);
    handle.node = undefined;
  }
}

interface PendingTimer {
  id: number;
  due: number;
  seq: number;
  fn: () => void;
}

/** Default start of virtual time: a fixed instant, so timestamps are reproducible. */
export const VIRTUAL_EPOCH_MS = Date.UTC(2026, 0, 1, 0, 0, 0);

/**
 * A clock that only moves when told to. Timers due at the same instant fire in the order they were
 * set. `advance` lets pending I/O callbacks (socket writes, parsing) run between timers, which is what
 * a test over real sockets needs.
 */
export class VirtualClock implements Clock {
  private current: number;
  private seq = 0;
  private nextId = 1;
  private pending: PendingTimer[] = [];

  constructor(startMs: number = VIRTUAL_EPOCH_MS) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer: PendingTimer = { id: this.nextId++, due: this.current + Math.max(0, ms), seq: this.seq++, fn };
    this.pending.push(timer);
    return { id: timer.id };
  }

  /** Before `advance` or `runAll` fires the next timer: this timer's frames leave at its time. */
  afterTurn(fn: () => void): void {
    process.nextTick(fn);
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    if (!handle) return;
    this.pending = this.pending.filter((t) => t.id !== handle.id);
  }

  /** Number of timers waiting to fire. */
  get pendingCount(): number {
    return this.pending.length;
  }

  /** Time of the next timer, or undefined when none is pending. */
  nextDue(): number | undefined {
    const next = this.earliest();
    return next?.due;
  }

  /**
   * Move time forward by `ms`, firing every timer that falls due, synchronously. Timers set by a
   * firing timer fire too if they fall inside the span.
   */
  tick(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      const next = this.earliest();
      if (!next || next.due > target) break;
      this.fire(next);
    }
    this.current = target;
  }

  /**
   * Like `tick`, but yields to the event loop before and after each timer so that socket I/O and
   * promise continuations triggered by one timer happen before the next one fires.
   */
  async advance(ms: number): Promise<void> {
    const target = this.current + ms;
    await settle();
    for (;;) {
      const next = this.earliest();
      if (!next || next.due > target) break;
      this.fire(next);
      await settle();
    }
    this.current = target;
    await settle();
  }

  /** Advance until no timer is pending or `limitMs` of virtual time has passed. */
  async runAll(limitMs = 24 * 3600_000): Promise<void> {
    const stop = this.current + limitMs;
    for (;;) {
      await settle();
      const next = this.earliest();
      if (!next || next.due > stop) break;
      await this.advance(next.due - this.current);
    }
  }

  private earliest(): PendingTimer | undefined {
    let best: PendingTimer | undefined;
    for (const t of this.pending) {
      if (!best || t.due < best.due || (t.due === best.due && t.seq < best.seq)) best = t;
    }
    return best;
  }

  private fire(timer: PendingTimer): void {
    this.pending = this.pending.filter((t) => t !== timer);
    this.current = Math.max(this.current, timer.due);
    timer.fn();
  }
}

/** Let queued microtasks and already-arrived I/O callbacks run. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** The last stamp made: every event of a window, and of the windows due with it, has the same millisecond. */
let lastIsoMs = Number.NaN;
let lastIso = '';

/** ISO 8601 with six fractional digits and `Z`, as the live service stamps envelopes. */
export function isoMicros(ms: number): string {
  if (ms === lastIsoMs) return lastIso; // not a Date and two strings per event sent
  const iso = new Date(ms).toISOString(); // 2026-01-01T00:00:00.000Z
  lastIsoMs = ms;
  lastIso = `${iso.slice(0, 23)}000Z`;
  return lastIso;
}
