/**
 * Sliding-window scheduling over session media time (docs/protocol.md §3.5: windows of 8 s advance every
 * 3 s over session media time; a window is analyzed once media up to its end has arrived, and the
 * tail is flushed on graceful close).
 *
 * Invariants:
 * - Window k covers [k·hop, k·hop + length). Windows are handed out in index order, each once.
 * - `advance` only hands out windows whose end has arrived (end ≤ mediaEnd).
 * - `flush` hands out at most one final, clipped window, and only for media no due window covered,
 *   so no second of media is analyzed twice by a final window that repeats a full one.
 * - Pure and synchronous: no clock, no I/O.
 */

/** One analysis window over session-cumulative media seconds, [start, end). */
export interface Window {
  /** Grid index k: the window starts at k·hop. */
  readonly index: number;
  /** Seconds, inclusive. */
  readonly start: number;
  /** Seconds, exclusive. For a final window this is the media end at close. */
  readonly end: number;
  /** True only for the clipped window produced by `flush` at graceful close. */
  readonly final: boolean;
}

export interface WindowSchedulerOptions {
  /** Window length in seconds (default 8). */
  windowSeconds?: number;
  /** Distance between consecutive window starts in seconds (default 3); 0 < hop ≤ window length. */
  hopSeconds?: number;
}

export const DEFAULT_WINDOW_SECONDS = 8;
export const DEFAULT_HOP_SECONDS = 3;

/** Hands out analysis windows as media arrives. */
export class WindowScheduler {
  readonly windowSeconds: number;
  readonly hopSeconds: number;
  /** Index of the next grid window not yet handed out. */
  private nextIndex = 0;
  private flushed = false;

  constructor(options: WindowSchedulerOptions = {}) {
    const windowSeconds = options.windowSeconds ?? DEFAULT_WINDOW_SECONDS;
    const hopSeconds = options.hopSeconds ?? DEFAULT_HOP_SECONDS;
    if (!Number.isFinite(windowSeconds) || windowSeconds <= 0) {
      throw new RangeError(`windowSeconds must be a positive number of seconds, got ${windowSeconds}`);
    }
    // A hop longer than the window would leave media no window ever looks at.
    if (!Number.isFinite(hopSeconds) || hopSeconds <= 0 || hopSeconds > windowSeconds) {
      throw new RangeError(`hopSeconds must be > 0 and ≤ windowSeconds (${windowSeconds}), got ${hopSeconds}`);
    }
    this.windowSeconds = windowSeconds;
    this.hopSeconds = hopSeconds;
  }

  /** The full grid window k (not clipped). */
  gridWindow(index: number): Window {
    const start = index * this.hopSeconds;
    return { index, start, end: start + this.windowSeconds, final: false };
  }

  /** True once `flush` has run; no more windows will be handed out. */
  get closed(): boolean {
    return this.flushed;
  }

  /**
   * The windows that became due now that media up to `mediaEnd` seconds has arrived, in order, each
   * once. A smaller `mediaEnd` than before simply yields nothing.
   */
  advance(mediaEnd: number): Window[] {
    const due: Window[] = [];
    if (this.flushed) return due;
    for (;;) {
      const w = this.gridWindow(this.nextIndex);
      if (w.end > mediaEnd) break;
      due.push(w);
      this.nextIndex++;
    }
    return due;
  }

  /**
   * At graceful close: every window still due, then the final partial window — the next grid window
   * whose start is before `mediaEnd`, clipped to [start, mediaEnd) and marked `final` — provided
   * `mediaEnd` lies beyond the end of the last full window. With less media than one window this is
   * [0, mediaEnd). Afterwards the scheduler is closed.
   */
  flush(mediaEnd: number): Window[] {
    if (this.flushed) return [];
    const windows = this.advance(mediaEnd);
    this.flushed = true;
    const lastFullEnd = this.nextIndex === 0 ? 0 : this.gridWindow(this.nextIndex - 1).end;
    const next = this.gridWindow(this.nextIndex);
    if (next.start < mediaEnd && mediaEnd > lastFullEnd) {
      windows.push({ index: next.index, start: next.start, end: mediaEnd, final: true });
      this.nextIndex++;
    }
    return windows;
  }
}
