/**
 * The shared worker pool: simulated model capacity (GPUs) that every session's windows compete for.
 *
 * Invariants: at most `capacity` slots are in use; a session that could not get a slot waits in
 * FIFO order and is offered the next free slot before any later waiter, so no session starves; a
 * waiter that no longer needs a slot declines it and the slot goes to the next one.
 */

/** A session waiting for a slot. `offerSlot` returns true if it took the slot (it must then `release` it later). */
export interface PoolWaiter {
  offerSlot(): boolean;
}

export class WorkerPool {
  readonly capacity: number;
  private inUse = 0;
  private readonly waiting: PoolWaiter[] = [];
  /** Times a window had to wait because every slot was busy (for the benchmark and logs). */
  contended = 0;

  /** `capacity` null = unlimited (no shared limit). */
  constructor(capacity: number | null) {
    if (capacity !== null && (!Number.isInteger(capacity) || capacity < 1)) throw new RangeError(`worker pool capacity must be a positive integer or null, got ${capacity}`);
    this.capacity = capacity ?? Infinity;
  }

  get busy(): number {
    return this.inUse;
  }

  /** Every slot is in use or sessions are queued for one: the server is under load. Never true for an unlimited pool. */
  get saturated(): boolean {
    return this.inUse >= this.capacity || this.waiting.length > 0;
  }

  /** Take a slot if one is free and nobody is queued ahead. */
  tryAcquire(): boolean {
    if (this.inUse >= this.capacity || this.waiting.length > 0) return false;
    this.inUse++;
    return true;
  }

  /** Queue `waiter` for the next free slot (once; a second call while queued does nothing). */
  wait(waiter: PoolWaiter): void {
    if (this.waiting.includes(waiter)) return;
    this.contended++;
    this.waiting.push(waiter);
  }

  /** Stop waiting (the session ended). */
  leave(waiter: PoolWaiter): void {
    const at = this.waiting.indexOf(waiter);
    if (at >= 0) this.waiting.splice(at, 1);
  }

  /**
   * Give `count` slots back; they go to the first waiters that still want them. All of them are
   * back before any is offered, so a waiter whose code throws (it is offered the slot inside the
   * releaser's call) cannot make the releaser lose the rest.
   */
  release(count = 1): void {
    if (count > this.inUse) throw new Error(`WorkerPool.release of ${count} slots with ${this.inUse} in use`);
    this.inUse -= count;
    this.offerFreeSlots();
  }

  private offerFreeSlots(): void {
    while (this.inUse < this.capacity && this.waiting.length > 0) {
      const waiter = this.waiting.shift()!;
      this.inUse++;
      if (!waiter.offerSlot()) this.inUse--;
    }
  }
}
