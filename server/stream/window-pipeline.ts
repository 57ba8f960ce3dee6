/**
 * A session's windows between "due" and "emitted": the simulated model's queue, its workers, load
 * shedding and the coverage bookkeeping (docs/protocol.md §3.5).
 *
 *   due ──▶ queued ──(session worker + pool slot)──▶ running ──(processing time)──▶ done ──▶ emitted
 *             └───────────────── shed (not analyzed) ─────────────────────────────────────▶ skipped
 *
 * Invariants:
 * - Results leave strictly in window order, whatever order windows finish in; shedding never reorders.
 * - At most `workers` windows of the session run at once, each holding one slot of the shared pool.
 * - Waiting alone never sheds on the defaults (`queueLimit` is unbounded): a client that sends a
 *   whole recording at once is analyzed in full, as live. Under load (the shared pool saturated, or
 *   the window in a scripted load span) at most `loadQueueLimit` windows wait; an explicit
 *   `queueLimit` bounds the queue always. One more and a window is shed: first a redundant one (its
 *   kept neighbours together cover its seconds, so nothing is lost), else the oldest waiting one.
 * - Coverage: every received second is analyzed (inside an emitted window) or dropped (announced in
 *   order, just before the first analyzed window after the gap, or at close). analyzed + dropped +
 *   not-yet-decided = received.
 */
import type { Clock, TimerHandle } from '../clock.js';
import type { Random } from '../random.js';
import type { Window } from '../analysis/index.js';
import { loadAt, nominalSeconds, spreadSeconds, type SessionTiming } from './timing.js';
import type { PoolWaiter, WorkerPool } from './worker-pool.js';

export interface MediaRange {
  start: number;
  end: number;
}

export interface PipelineHost {
  clock: Clock;
  random: Random;
  pool: WorkerPool;
  timing: SessionTiming;
  /** Seconds between window starts. */
  hopSeconds: number;
  /** A bug surfaced in a window's timer: end only this session (ih1001). */
  fail(err: unknown): void;
  /** Analyze `window` and send its events. `lagMs`: emit time minus when it would have left on an idle server. */
  emitWindow(window: Window, lagMs: number): void;
  /** Announce seconds that were not analyzed (coverage.dropped). */
  announceDropped(range: MediaRange): void;
  /** True once the session ended: emit nothing more. */
  stopped(): boolean;
  /** Every due window is out (emitted or skipped); called after each release that empties the pipeline. */
  drained(): void;
}

type EntryState = 'queued' | 'running' | 'done' | 'shed';

interface Entry {
  readonly window: Window;
  state: EntryState;
  /** When an idle server would have emitted it (due time + nominal processing time, no slowdown or jitter). */
  readonly nominalDoneAt: number;
  /** Scripted extra processing time (delay faults). */
  readonly extraDelayMs: number;
  /** While running: when its processing ends (clock ms). */
  finishesAt: number;
}

const NO_RANGES: readonly MediaRange[] = Object.freeze([]);

export interface CoverageStats {
  /** Seconds inside an analyzed (emitted) window: the billable seconds. */
  analyzedSeconds: number;
  /** Seconds announced as dropped (shed and covered by no analyzed window). */
  droppedSeconds: number;
  windowsShed: number;
}

export class WindowPipeline implements PoolWaiter {
  /** Due windows not yet emitted or skipped, in window order. */
  private readonly entries: Entry[] = [];
  private running = 0;
  /** End of the last analyzed window: seconds before it are decided (analyzed or dropped). */
  private coveredUntil = 0;
  readonly coverage: CoverageStats = { analyzedSeconds: 0, droppedSeconds: 0, windowsShed: 0 };
  /** Ranges announced as dropped, in order (made with the first: most sessions never shed). */
  private dropped: MediaRange[] | undefined;
  private shedNextCount = 0;
  /** Extra processing ms for the next windows due, in order (delay faults add up; made with the first). */
  private pendingDelaysMs: number[] | undefined;
  /**
   * One timer for the session's running windows, due when the first of them finishes. Not one per
   * window: each would be a timer, a closure and its context living for the whole processing time
   * (9.5 s on the default timing), thousands of them on a busy server, walked by every mark-compact.
   */
  private timer: TimerHandle | undefined;
  private timerDue = Infinity;
  /** Whether the previously added window was kept (false before the first). */
  private previousKept = false;
  /**
   * The last window added, if a `shed: redundant` span shed it: its successor, which was to cover
   * its seconds, may never come (the session closes first); see `reviveTrailingRedundant`.
   */
  private trailingRedundant: Window | null = null;

  constructor(private readonly host: PipelineHost) {}

  /** Seconds shed and announced, in order. */
  get droppedRanges(): readonly MediaRange[] {
    return this.dropped ?? NO_RANGES;
  }

  /** No window is waiting, running or unreleased. */
  get idle(): boolean {
    return this.entries.length === 0;
  }

  /** A `drop_windows` fault: shed the next `count` windows that become due. */
  shedNext(count: number): void {
    this.shedNextCount += count;
  }

  /** A `delay` fault: the next `count` windows take `seconds` longer (on top of earlier delay faults). */
  delayNext(count: number, seconds: number): void {
    const delays = (this.pendingDelaysMs ??= []);
    for (let i = 0; i < count; i++) delays[i] = (delays[i] ?? 0) + seconds * 1000;
  }

  /** Whether the scripted rules shed `window` (a final window at close: `shed: all` and pending drop_windows apply). */
  shedsFinal(window: Window): boolean {
    if (this.shedNextCount > 0) {
      this.shedNextCount--;
      return true;
    }
    return loadAt(this.host.timing.load, window.start)?.shed === 'all';
  }

  /**
   * At graceful close: the last due window, if it was shed as redundant and no window came after it
   * to cover its seconds. The caller analyzes it with the final windows, so `shed: redundant` never
   * loses a second.
   */
  reviveTrailingRedundant(): Window | null {
    const window = this.trailingRedundant;
    if (window) this.coverage.windowsShed--;
    this.trailingRedundant = null;
    return window;
  }

  /** A window became due (media up to its end arrived). */
  add(window: Window): void {
    const { timing, clock } = this.host;
    const entry: Entry = {
      window,
      state: 'queued',
      nominalDoneAt: clock.now() + nominalSeconds(timing, window.end - window.start) * 1000,
      extraDelayMs: this.pendingDelaysMs?.shift() ?? 0,
      finishesAt: Infinity,
    };
    this.entries.push(entry);
    const scripted = this.scriptedShed(window);
    this.trailingRedundant = scripted === 'redundant' ? window : null;
    if (scripted !== null) this.shed(entry);
    // Free workers take windows first; only what still waits counts against the queue limit.
    this.pump();
    const limit = this.underLoad(window) ? Math.min(timing.queueLimit, timing.loadQueueLimit) : timing.queueLimit;
    while (this.queuedCount() > limit) this.shed(this.victim());
    this.previousKept = entry.state !== 'shed';
    this.release();
  }

  /** Graceful close ran out of time: every window still waiting or running completes now. */
  completeAll(): void {
    this.stopTimer();
    for (const entry of this.entries) if (entry.state === 'queued') entry.state = 'done';
    this.finishRunning(Infinity);
    this.host.pool.leave(this);
    this.release();
  }

  /** The session ended abruptly: cancel everything, give pool slots back, emit nothing. */
  cancel(): void {
    this.stopTimer();
    const running = this.running;
    this.running = 0;
    this.entries.length = 0;
    this.host.pool.leave(this);
    if (running > 0) this.host.pool.release(running);
  }

  /**
   * Graceful close: `tail` are the windows analyzed at close (a revived one, the final partial one),
   * in order. Returns the seconds no analyzed window covers before them (`before`, to announce ahead
   * of their events) and after them up to `mediaEnd` (`after`, to announce after their events).
   */
  closeCoverage(tail: readonly Window[], mediaEnd: number): { before: MediaRange | null; after: MediaRange | null } {
    const before = tail.length > 0 ? this.gapBefore(tail[0]!.start) : null;
    for (const window of tail) {
      // Tail windows overlap or touch (a revived window k and the final window k+1 starting inside it).
      this.countAnalyzed(window);
    }
    return { before, after: this.gapBefore(mediaEnd) };
  }

  /** A window's processing time before jitter: the nominal time (latency, or ratio x length), x the slowdown of a load span it starts in. */
  processingMs(window: Window): number {
    const { timing } = this.host;
    return nominalSeconds(timing, window.end - window.start) * 1000 * this.slowdown(window);
  }

  /** Seconds received but neither analyzed nor dropped yet (in flight, or cancelled at an abrupt end). */
  undecidedSeconds(mediaEnd: number): number {
    return Math.max(0, mediaEnd - this.coverage.analyzedSeconds - this.coverage.droppedSeconds);
  }

  /**
   * The pool offers a slot; take it if a window is waiting and a session worker is free. This runs
   * inside another session's code (whichever gave the slot back), so an error here is this session's
   * and goes to its own host: a bug in one session must not end the session that freed the slot.
   */
  offerSlot(): boolean {
    const next = this.firstQueued();
    if (!next || this.running >= this.host.timing.workers || this.host.stopped()) return false;
    try {
      this.start(next);
      if (this.running < this.host.timing.workers && this.firstQueued() !== undefined) this.host.pool.wait(this);
      // An instant window has already finished: let it (and what waited behind it) out now.
      this.release();
    } catch (err) {
      this.host.fail(err);
    }
    return true;
  }

  private queued(): Entry[] {
    return this.entries.filter((e) => e.state === 'queued');
  }

  /** The oldest waiting window; a loop, not `queued()[0]`: this runs for every window due, and an array each time was garbage. */
  private firstQueued(): Entry | undefined {
    const entries = this.entries;
    for (let k = 0; k < entries.length; k++) if (entries[k]!.state === 'queued') return entries[k];
    return undefined;
  }

  private queuedCount(): number {
    const entries = this.entries;
    let count = 0;
    for (let k = 0; k < entries.length; k++) if (entries[k]!.state === 'queued') count++;
    return count;
  }

  private slowdown(window: Window): number {
    return loadAt(this.host.timing.load, window.start)?.slowdown ?? 1;
  }

  /** The server is under load for this window: every shared worker is busy, or a scripted load span covers it. */
  private underLoad(window: Window): boolean {
    return this.host.pool.saturated || loadAt(this.host.timing.load, window.start) !== undefined;
  }

  /** Load spans and drop_windows faults shed a window whatever the queue; returns why, or null. */
  private scriptedShed(window: Window): 'dropped' | 'all' | 'redundant' | null {
    if (this.shedNextCount > 0) {
      this.shedNextCount--;
      return 'dropped';
    }
    const shed = loadAt(this.host.timing.load, window.start)?.shed ?? 'none';
    if (shed === 'all') return 'all';
    // Redundant: every other window after a kept one, so each shed window's neighbours cover it
    // (when a window is at least two hops long; otherwise no window is redundant and none is shed).
    if (shed === 'redundant' && this.previousKept && window.end - window.start >= 2 * this.host.hopSeconds) return 'redundant';
    return null;
  }

  /** The queued window to shed: the oldest redundant one, else the oldest. */
  private victim(): Entry {
    const queued = this.queued();
    return queued.find((e) => this.isRedundant(e)) ?? queued[0]!;
  }

  /** Its nearest kept neighbours (analyzed, running or waiting) together cover its seconds. */
  private isRedundant(entry: Entry): boolean {
    const at = this.entries.indexOf(entry);
    const before = this.entries.slice(0, at).reverse().find((e) => e.state !== 'shed');
    const after = this.entries.slice(at + 1).find((e) => e.state !== 'shed');
    if (!after) return false;
    // Seconds before coveredUntil are decided already (analyzed or announced as dropped).
    const coveredBefore = before ? before.window.end : this.coveredUntil;
    return coveredBefore >= after.window.start;
  }

  private shed(entry: Entry): void {
    entry.state = 'shed';
    this.coverage.windowsShed++;
  }

  /** Start waiting windows while the session has free workers and the pool has slots. */
  private pump(): void {
    const { timing, pool } = this.host;
    for (let next = this.firstQueued(); next !== undefined && this.running < timing.workers; next = this.firstQueued()) {
      if (!pool.tryAcquire()) {
        pool.wait(this);
        return;
      }
      this.start(next);
    }
  }

  private start(entry: Entry): void {
    const { timing, random } = this.host;
    entry.state = 'running';
    this.running++;
    const length = entry.window.end - entry.window.start;
    const spread = spreadSeconds(timing, length);
    // One seeded draw per window, uniform in ± spread (never below zero).
    const seconds = spread > 0 ? Math.max(0, nominalSeconds(timing, length) + spread * (2 * random.next() - 1)) : nominalSeconds(timing, length);
    const delayMs = seconds * 1000 * this.slowdown(entry.window) + entry.extraDelayMs;
    if (!(delayMs > 0)) {
      // Instant (or not a number, which a timer could never be due at): no timer, so tests need not advance a virtual clock.
      this.finishRun(entry);
      return;
    }
    entry.finishesAt = this.host.clock.now() + delayMs;
    if (entry.finishesAt < this.timerDue) this.armTimer(entry.finishesAt);
  }

  private finishRun(entry: Entry): void {
    this.markDone(entry);
    this.host.pool.release();
  }

  /** A running window's processing is over (its pool slot is given back by the caller). */
  private markDone(entry: Entry): void {
    entry.finishesAt = Infinity;
    entry.state = 'done';
    this.running--;
  }

  private armTimer(due: number): void {
    this.stopTimer();
    this.timerDue = due;
    this.timer = this.host.clock.setTimeout(() => this.onTimer(), due - this.host.clock.now());
  }

  private stopTimer(): void {
    this.host.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerDue = Infinity;
  }

  /** The first running window's processing ended: finish every window whose time is up, then wait for the next. */
  private onTimer(): void {
    try {
      // Up to the time the timer was due, even if the clock reads a hair earlier (an injected clock
      // whose now() is finer than its timers', like the bench's): their time is up by its own timers.
      const upTo = Math.max(this.timerDue, this.host.clock.now());
      this.timer = undefined;
      this.timerDue = Infinity;
      this.finishRunning(upTo);
      this.pump(); // may start windows, and arm the timer for them
      let next = Infinity;
      for (const entry of this.entries) if (entry.state === 'running') next = Math.min(next, entry.finishesAt);
      if (next < this.timerDue) this.armTimer(next);
      this.release();
    } catch (err) {
      this.host.fail(err);
    }
  }

  /**
   * Every running window whose time is up (`upTo`; Infinity: all) is done; then their pool slots go
   * back. In that order: a slot given back may start this pipeline's next window and release finished
   * ones (the pool offers it at once), which must not happen while the entries are being walked.
   */
  private finishRunning(upTo: number): void {
    let finished = 0;
    for (const entry of this.entries) {
      if (entry.state !== 'running' || entry.finishesAt > upTo) continue;
      this.markDone(entry);
      finished++;
    }
    if (finished > 0) this.host.pool.release(finished);
  }

  /** Emit finished windows and skip shed ones, strictly in window order; tell the host when none is left. */
  private release(): void {
    while (this.entries.length > 0 && !this.host.stopped()) {
      const head = this.entries[0]!;
      if (head.state === 'shed') {
        this.entries.shift();
        continue;
      }
      if (head.state !== 'done') return;
      this.entries.shift();
      const gap = this.gapBefore(head.window.start);
      if (gap) this.host.announceDropped(gap);
      this.countAnalyzed(head.window);
      this.host.emitWindow(head.window, this.host.clock.now() - head.nominalDoneAt);
    }
    if (this.entries.length === 0 && !this.host.stopped()) this.host.drained();
  }

  /** The undecided seconds before `start` become dropped (returned, to announce) when no analyzed window covers them. */
  private gapBefore(start: number): MediaRange | null {
    if (start <= this.coveredUntil) return null;
    const range = { start: this.coveredUntil, end: start };
    this.coverage.droppedSeconds += range.end - range.start;
    (this.dropped ??= []).push(range);
    this.coveredUntil = start;
    return range;
  }

  private countAnalyzed(window: Window): void {
    this.coverage.analyzedSeconds += Math.max(0, window.end - Math.max(window.start, this.coveredUntil));
    this.coveredUntil = Math.max(this.coveredUntil, window.end);
  }
}
