/**
 * How long a request body may take to arrive, on the server's clock: at most `idleSeconds` without
 * a byte, and `totalSeconds` in all. Without it a client that trickles its upload (a byte a second)
 * or stops half-way holds one of its account's upload slots for as long as it likes.
 *
 * Progress is the socket's own byte counter, read by a timer every quarter of the idle span: nothing
 * is done per chunk on the ingest path, one timer is pending at a time, and the body stream is left
 * alone (a 'data' listener could set it flowing before the multipart parser is attached). So an idle
 * body is answered between `idleSeconds` and 1.25 × `idleSeconds` after its last byte; the total
 * limit is exact.
 *
 * Invariant: `expired` resolves at most once, and never after `cancel()`; `cancel()` leaves no
 * timer behind.
 */
import type { Clock, TimerHandle } from '../clock.js';

export interface BodyDeadlineLimits {
  idleSeconds: number;
  totalSeconds: number;
}

export interface BodyTimeout {
  kind: 'timeout';
  /** Which limit was reached. */
  limit: 'idle' | 'total';
  seconds: number;
}

export class BodyDeadline {
  /** Resolves when a limit is reached (never if cancelled first). */
  readonly expired: Promise<BodyTimeout>;
  private timer: TimerHandle | undefined;
  private lastBytes: number;
  private lastProgressAt: number;
  private readonly startedAt: number;
  private settle!: (timeout: BodyTimeout) => void;
  private done = false;

  constructor(
    private readonly clock: Clock,
    /** The connection the body arrives on (`bytesRead` counts every byte received). */
    private readonly socket: { readonly bytesRead: number },
    private readonly limits: BodyDeadlineLimits,
  ) {
    this.expired = new Promise((resolve) => (this.settle = resolve));
    this.startedAt = this.lastProgressAt = clock.now();
    this.lastBytes = socket.bytesRead;
    this.arm();
  }

  cancel(): void {
    this.done = true;
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(): void {
    const now = this.clock.now();
    const nextLook = now + (this.limits.idleSeconds * 1000) / 4;
    const totalDue = this.startedAt + this.limits.totalSeconds * 1000;
    this.timer = this.clock.setTimeout(() => this.check(), Math.max(0, Math.min(nextLook, totalDue) - now));
  }

  private check(): void {
    this.timer = undefined;
    if (this.done) return;
    const now = this.clock.now();
    if (now - this.startedAt >= this.limits.totalSeconds * 1000) return this.expire('total', this.limits.totalSeconds);
    const bytes = this.socket.bytesRead;
    if (bytes !== this.lastBytes) {
      // Bytes came since the last look (a quarter of the idle span ago at most): count from now.
      this.lastBytes = bytes;
      this.lastProgressAt = now;
    } else if (now - this.lastProgressAt >= this.limits.idleSeconds * 1000) {
      return this.expire('idle', this.limits.idleSeconds);
    }
    this.arm();
  }

  private expire(limit: BodyTimeout['limit'], seconds: number): void {
    this.done = true;
    this.settle({ kind: 'timeout', limit, seconds });
  }
}
