/**
 * Delays of the server child measured in its own CPU time, so that a figure holds on a shared
 * machine (bench/README.md, "Scale"). The child is pinned to one CPU (cpu-pinning.ts): when its event
 * loop is late, it is either working (its main thread, or V8's GC threads, which share that CPU) or
 * waiting for the CPU while other processes run. The CPU the process used over a span is the part
 * that is its own: what the span would have lasted on a quiet, dedicated core.
 *
 * The meter samples the process's CPU time (`process.cpuUsage()`, every thread, user + system) every
 * `intervalMs`, and on Linux the main thread's own CPU time and run-queue wait (`/proc/thread-self/schedstat`,
 * first and second fields; the wait is time runnable but not running): the wait says how much of the
 * wall time other threads took, the main thread's CPU how much of a block was the event loop's own work
 * rather than the process's other threads, mostly V8's helpers (on one CPU, a helper running holds the
 * loop up just the same).
 * From the samples:
 * - `ownDelay`: each tick's lateness, capped by the CPU the process used during it: the longest
 *   synchronous block and how many passed 10 ms, whatever the machine's load (an upper bound: CPU
 *   used inside the nominal interval counts too);
 * - `cpuLag`: a window's lag, capped by the CPU the process used between its due time and its
 *   emission (cumulative CPU interpolated linearly between samples: an estimate to about a tick).
 * Unpinned, GC threads may run beside the main thread and the caps are loose; never too low.
 */
import { openSync, readFileSync, readSync } from 'node:fs';
import type { Distribution } from './stats.js';
import { distribution } from './stats.js';

export interface OwnDelayResult extends Distribution {
  /** Ticks whose own delay passed 10 ms, and the sum of own delays, ms. */
  over10ms: number;
  totalMs: number;
  /** Wall time of the span, the process's CPU over it, and the main thread's run-queue wait (null: not on this system), ms. */
  wallMs: number;
  cpuMs: number;
  waitMs: number | null;
  intervalMs: number;
  /** The longest own delays (at most `LONGEST_BLOCKS`, longest first): when (ms into the span), how long, and the main thread's CPU in that tick, at most the delay (null: not on this system). */
  longest: Array<{ atMs: number; ownMs: number; mainMs: number | null }>;
}

/** How many of the longest blocks `ownDelay` describes one by one. */
const LONGEST_BLOCKS = 5;

export class OwnTimeMeter {
  private timer: NodeJS.Timeout | undefined;
  private intervalMs = 0;
  /** Samples: time (performance.now()), cumulative process CPU, cumulative main-thread run-queue wait, cumulative main-thread CPU; all ms. */
  private t: number[] = [];
  private cpu: number[] = [];
  private wait: number[] = [];
  private main: number[] = [];
  /** `/proc/thread-self/schedstat` of the thread that built the meter (Linux), else null. */
  private readonly schedstat = openSchedstat();
  private readonly buf = Buffer.alloc(128);

  /** Start sampling (drops earlier samples). */
  start(intervalMs: number): void {
    this.stop();
    this.t = [];
    this.cpu = [];
    this.wait = [];
    this.main = [];
    this.intervalMs = intervalMs;
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  /** Stop sampling; the samples stay for `ownDelay` and `cpuLag`. */
  stop(): void {
    if (this.timer === undefined) return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.sample();
  }

  ownDelay(): OwnDelayResult {
    const own: number[] = [];
    for (let i = 1; i < this.t.length; i++) {
      const late = this.t[i]! - this.t[i - 1]! - this.intervalMs;
      own.push(Math.max(0, Math.min(late, this.cpu[i]! - this.cpu[i - 1]!)));
    }
    const last = this.t.length - 1;
    const span = (a: number[]) => (last > 0 ? a[last]! - a[0]! : 0);
    // own[k] is the tick from sample k to sample k + 1.
    const longest = own
      // The main thread's CPU in the tick, capped like the block (the tick's nominal interval counts too).
      .map((ownMs, i) => ({ atMs: this.t[i + 1]! - this.t[0]!, ownMs, mainMs: this.schedstat === null ? null : Math.min(ownMs, this.main[i + 1]! - this.main[i]!) }))
      .sort((a, b) => b.ownMs - a.ownMs)
      .slice(0, LONGEST_BLOCKS);
    return {
      ...distribution(own),
      over10ms: own.filter((d) => d > 10).length,
      totalMs: own.reduce((s, d) => s + d, 0),
      wallMs: span(this.t),
      cpuMs: span(this.cpu),
      waitMs: this.schedstat === null ? null : span(this.wait),
      intervalMs: this.intervalMs,
      longest,
    };
  }

  /** Each lag (ms), capped by the process's CPU between its due time (`emittedAt` − lag) and `emittedAt` (performance.now()). */
  cpuLag(lags: readonly number[], emittedAt: readonly number[]): number[] {
    return lags.map((lag, i) => Math.max(0, Math.min(lag, this.cpuAt(emittedAt[i]!) - this.cpuAt(emittedAt[i]! - lag))));
  }

  /** Cumulative CPU at time `at`, interpolated between the samples around it. */
  private cpuAt(at: number): number {
    const { t, cpu } = this;
    if (t.length === 0) return 0;
    if (at <= t[0]!) return cpu[0]!;
    if (at >= t[t.length - 1]!) return cpu[t.length - 1]!;
    let lo = 0;
    let hi = t.length - 1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (t[mid]! <= at) lo = mid;
      else hi = mid;
    }
    const span = t[hi]! - t[lo]!;
    return span > 0 ? cpu[lo]! + ((cpu[hi]! - cpu[lo]!) * (at - t[lo]!)) / span : cpu[lo]!;
  }

  private sample(): void {
    const usage = process.cpuUsage();
    this.t.push(performance.now());
    this.cpu.push((usage.user + usage.system) / 1000);
    const line = this.readSchedstat();
    this.main.push(schedstatField(line, 0) / 1e6);
    this.wait.push(schedstatField(line, 1) / 1e6);
  }

  /** The main thread's schedstat line (`cpu_ns wait_ns timeslices`, cumulative); empty without the file. */
  private readSchedstat(): string {
    if (this.schedstat === null) return '';
    const n = readSync(this.schedstat, this.buf, 0, this.buf.length, 0);
    return this.buf.toString('latin1', 0, n);
  }
}

/** The calling thread's cumulative CPU time, µs (`/proc/thread-self/schedstat`), or null off Linux. */
export function threadCpuMicros(): number | null {
  try {
    return schedstatField(readFileSync('/proc/thread-self/schedstat', 'latin1'), 0) / 1000;
  } catch {
    return null;
  }
}

/** A field of a schedstat line (`cpu_ns wait_ns timeslices`), ns; 0 if unreadable. */
function schedstatField(line: string, index: 0 | 1): number {
  const value = Number(line.split(' ')[index]);
  return Number.isFinite(value) ? value : 0;
}

function openSchedstat(): number | null {
  try {
    return openSync('/proc/thread-self/schedstat', 'r');
  } catch {
    return null;
  }
}
