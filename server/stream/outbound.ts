/**
 * The session's way out to the client, with an optional throttle (the `throttle` fault: a slow
 * network between the service and the client).
 *
 * Invariants: frames and the final close leave in the order they were queued; while a throttle is
 * on, frame n+1 leaves no earlier than size(n) / rate after frame n; when the throttle ends, what is
 * queued still drains at the rate (so order holds) and later frames go straight out once the queue
 * is empty. `dispose` (the connection is gone, or the server shuts down) and `terminate` (an abrupt
 * disconnect) drop the queue and its timer, so nothing is written to a dead socket and no timer
 * keeps the process alive. A transport error while draining drops the queue, cuts the connection
 * and is reported once; it never escapes the timer.
 */
import type { Clock, TimerHandle } from '../clock.js';

/** What a session needs from its connection. Only the app module knows it is a `ws` socket. */
export interface SessionTransport {
  send(text: string): void;
  close(code: number, reason: string): void;
  /** Cut the connection without a close frame. */
  terminate(): void;
  /** Bytes of earlier turns the client has not taken yet (omitted: the transport does not queue). */
  backlogBytes?(): number;
}

type Queued = { kind: 'frame'; text: string } | { kind: 'close'; code: number; reason: string };

export class Outbound {
  private bytesPerSecond: number | null = null;
  private throttleUntil = Infinity;
  private readonly queue: Queued[] = [];
  private nextSendAt = 0;
  private timer: TimerHandle | undefined;
  /** Disposed or broken: nothing more is written. */
  private done = false;

  constructor(
    private readonly transport: SessionTransport,
    private readonly clock: Clock,
    /** Called once if the transport throws while the queue drains (the connection is then cut). */
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Frames leave at most at `bytesPerSecond`, for `seconds` (server clock) or until the end. */
  throttle(bytesPerSecond: number, seconds: number | undefined): void {
    this.bytesPerSecond = bytesPerSecond;
    this.throttleUntil = seconds === undefined ? Infinity : this.clock.now() + seconds * 1000;
  }

  get throttled(): boolean {
    return this.queue.length > 0 || (this.bytesPerSecond !== null && this.clock.now() < this.throttleUntil);
  }

  send(text: string): void {
    if (this.done) return;
    if (!this.throttled) this.transport.send(text);
    else this.enqueue({ kind: 'frame', text });
  }

  /** Close after whatever is queued. */
  close(code: number, reason: string): void {
    if (this.done) return;
    if (this.queue.length === 0) this.transport.close(code, reason);
    else this.enqueue({ kind: 'close', code, reason });
  }

  /** Cut the connection now, dropping the queue. */
  terminate(): void {
    this.dispose();
    this.transport.terminate();
  }

  /** Drop the queue and its timer; write nothing more. */
  dispose(): void {
    this.done = true;
    this.queue.length = 0;
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private enqueue(item: Queued): void {
    this.queue.push(item);
    if (this.timer === undefined) this.drain();
  }

  private drain(): void {
    this.timer = undefined;
    while (this.queue.length > 0 && !this.done) {
      const now = this.clock.now();
      if (now < this.nextSendAt) {
        this.timer = this.clock.setTimeout(() => this.drainSafely(), this.nextSendAt - now);
        return;
      }
      const item = this.queue.shift()!;
      if (item.kind === 'close') {
        this.dispose();
        this.transport.close(item.code, item.reason);
        return;
      }
      this.transport.send(item.text);
      const rate = this.bytesPerSecond ?? Infinity;
      this.nextSendAt = now + (Buffer.byteLength(item.text) / rate) * 1000;
    }
  }

  /** A timer turn: a transport error ends here, with the connection cut and the error reported once. */
  private drainSafely(): void {
    try {
      this.drain();
    } catch (err) {
      this.dispose();
      try {
        this.transport.terminate();
      } catch {
        // Nothing more can be done with this connection.
      }
      this.onError(err);
    }
  }
}
