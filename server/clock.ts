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

/** A RealClock timer: an entry of the clock's queue (no Node timer, closure or table of its own: there can be thousands, one per window due). */
class RealTimer implements TimerHandle {
  /** Position in the clock's heap; -1 once fired or cleared. */
  index = -1;
  constructor(
    readonly id: number,
    readonly due: number,
    public fn: (() => void) | null,
  ) {}
}

/**
 * Wall-clock time backed by Node's timers.
 *
 * Every timer of the clock waits in one queue (a binary heap by due time, then creation order),
 * under one Node timer armed for the earliest. Why not a Node timer each: a server with thousands of
 * sessions has several timers per session (idle, maximum duration, each window in flight), and a
 * Node timer with its closure is about half a dozen heap objects that live for seconds; every
 * mark-compact walks them all (bench/README.md, "Scale").
 *
 * Timers due together fire in the order they were set. A timer set by a firing timer waits for the
 * next turn, even at 0 ms, as with Node's own timers. A callback that throws does not stop the
 * others: the error is re-thrown on its own turn, where it is uncaught as it would have been. One
 * difference from Node's own timers: the `process.nextTick` and promise queues run once after all
 * the timers due in a turn, not after each of them.
 */
export class RealClock implements Clock {
  private nextId = 1;
  private readonly heap: RealTimer[] = [];
  private node: NodeJS.Timeout | undefined;
  /** When the Node timer is armed to fire (Infinity: not armed, `node` undefined). */
  private armedFor = Infinity;
  private readonly fire = (): void => this.fireDue();

  /**
   * @param maxStepMs longest single Node timer (tests lower it to exercise chaining).
   * @param epochMs the wall-clock source, read at each use (tests pin it so that timers set a moment apart are due together).
   */
  constructor(
    private readonly maxStepMs: number = MAX_NODE_TIMER_MS,
    private readonly epochMs: () => number = () => Date.now(),
  ) {}

  now(): number {
    return this.epochMs();
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    // Not a number (NaN): at once, as Node does; a NaN due time would never come and block the queue.
    const timer = new RealTimer(this.nextId++, this.epochMs() + (ms > 0 ? ms : 0), fn);
    this.push(timer);
    if (timer.index === 0) this.arm();
    return timer;
  }

  afterTurn(fn: () => void): void {
    setImmediate(fn);
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    if (!(handle instanceof RealTimer) || handle.index < 0 || this.heap[handle.index] !== handle) return;
    this.remove(handle.index);
    handle.fn = null;
    // The Node timer stays armed for the old earliest; it re-arms for what is left when it fires.
    if (this.heap.length === 0) this.disarm();
  }

  /** Number of timers waiting (for tests). */
  get pendingCount(): number {
    return this.heap.length;
  }

  /**
   * Arm the Node timer for the earliest timer. Node fires timers longer than 2^31−1 ms at once, so
   * longer waits are chained in steps; Node also counts in the event loop's own millisecond clock,
   * not in step with the wall clock, so it may fire up to a millisecond early: `fireDue` then waits again.
   */
  private arm(): void {
    const first = this.heap[0];
    if (first === undefined) return this.disarm();
    const now = this.epochMs();
    const wait = Math.min(Math.max(0, first.due - now), this.maxStepMs);
    const at = now + wait;
    if (at >= this.armedFor) return; // already armed early enough
    clearTimeout(this.node);
    this.armedFor = at;
    this.node = setTimeout(this.fire, wait);
  }

  private disarm(): void {
    clearTimeout(this.node);
    this.node = undefined;
    this.armedFor = Infinity;
  }

  private fireDue(): void {
    this.node = undefined;
    this.armedFor = Infinity;
    const now = this.epochMs();
    const lastId = this.nextId - 1; // timers set from here on wait for the next turn
    try {
      for (let first = this.heap[0]; first !== undefined && first.due <= now && first.id <= lastId; first = this.heap[0]) {
        this.remove(0);
        const fn = first.fn!;
        first.fn = null;
        try {
          fn();
        } catch (err) {
          setImmediate(() => {
            throw err;
          });
        }
      }
    } finally {
      this.arm();
    }
  }

  // An indexed binary min-heap by (due, id): O(log n) push and removal anywhere.

  private before(a: RealTimer, b: RealTimer): boolean {
    return a.due < b.due || (a.due === b.due && a.id < b.id);
  }

  private push(timer: RealTimer): void {
    timer.index = this.heap.length;
    this.heap.push(timer);
    this.up(timer.index);
  }

  private remove(index: number): void {
    const heap = this.heap;
    const removed = heap[index]!;
    const last = heap.pop()!;
    removed.index = -1;
    if (last === removed) return;
    heap[index] = last;
    last.index = index;
    this.up(index);
    this.down(last.index);
  }

  private up(index: number): void {
    const heap = this.heap;
    const timer = heap[index]!;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = heap[parentIndex]!;
      if (!this.before(timer, parent)) break;
      heap[index] = parent;
      parent.index = index;
      index = parentIndex;
    }
    heap[index] = timer;
    timer.index = index;
  }

  private down(index: number): void {
    const heap = this.heap;
    const n = heap.length;
    const timer = heap[index]!;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && this.before(heap[right]!, heap[left]!) ? right : left;
      if (!this.before(heap[child]!, timer)) break;
      heap[index] = heap[child]!;
      heap[index]!.index = index;
      index = child;
    }
    heap[index] = timer;
    timer.index = index;
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
    const timer: PendingTimer = { id: this.nextId++, due: this.current + (ms > 0 ? ms : 0), seq: this.seq++, fn };
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
