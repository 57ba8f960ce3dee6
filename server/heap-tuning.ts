/**
 * How V8 collects garbage in a process whose job is serving streams: the CLI's (`serve`, `exec`),
 * not a test runner that embeds `createMockServer`, whose process is not ours to tune. The server
 * tells it how many sessions are open; from 1,500 it sets two things (why not from fewer: see the
 * last paragraph). Most figures here were measured before `takeMessage` (connection.ts) stopped
 * received messages from waiting for a mark-compact; point 1's first paragraph says what the
 * settings do since.
 *
 * 1. The old generation's growing factor. V8 (Node 20) starts marking when the room left below its
 *    old generation's limit is down to about the young generation's size, and it counts against
 *    that room the off-heap bytes still held since the last mark-compact. With V8's own factor (the
 *    live heap × about 1.1, or + 8 MB) a server with thousands of sessions has, in most runs, no
 *    such room left right after a mark-compact, so the next one starts at once and marks the whole
 *    heap to free almost nothing on it. Measured without these settings (December 2026, bench scale
 *    sections, three runs each): at 2,000 sessions 105–167 mark-compacts in the 42-s span and a
 *    p99 event lag of 15.4–16.5 ms; at 5,000 runs with 1, 128 and 6 mark-compacts (p99 2.0, 31.5
 *    and 15.7 ms). With them, 1–2 in each span and p99 2.0–3.2 ms at both counts. So they are there
 *    for the lag; the CPU (against bare ws, both at once on one CPU) was about the same without
 *    them (0.71 against 0.72 at 2,000 sessions, 0.53 against 0.59 at 5,000).
 *    The factors were chosen before `takeMessage` (connection.ts): until then every received
 *    message was held until a mark-compact as well, and V8's limit on such off-heap bytes between
 *    mark-compacts (64 MB) set the pace. Those measurements, with that cause:
 *    - From 1,500 sessions, a factor of 3: at 2,000 sessions 26 mark-compacts in the 42-s span
 *      instead of 53–56 with a factor of 2 (4 and 8 made no fewer), and the server's CPU a
 *      session-second fell to about bare ws's on the same traffic. The price: received buffers
 *      freed later, up to about 80 MB of them at 2,000 sessions against about 50 in bare ws.
 *    - From 3,500 sessions, a factor of 2 again: by 5,000 sessions it gives the heap that room by
 *      itself, and there a factor of 3 made about as many mark-compacts (53–56 against 60–61) but
 *      a higher p99 event lag in each of six runs (13.9–49.5 ms) than in any of six with 2
 *      (9.0–13.8; cause not found). Where between 2,000 and 5,000 the step belongs was not
 *      measured: 3,500 is where the heap is about half-way, our choice.
 *    Measured again after `takeMessage` (one section run), a factor of 2 from 1,500 sessions
 *    instead of 3 made 34–35 mark-compacts in the span at 2,000 sessions against 1, a p99 lag of
 *    4.0 ms against 2.0, and CPU 1.14× bare ws's against 0.72; at 5,000, where the factor is 2
 *    either way, the same within the runs' spread.
 *    `bench/README.md`, "Scale", has the figures. With a few connections taking bulk media, though,
 *    V8's own factor is the better one (a fixed 2, or 4, cut the throughput of one-second Chromium
 *    chunks on 4 connections by a third to a half), so a factor is set only while many sessions are
 *    open, and given back to V8 when they have gone. Each step has two thresholds (hysteresis, so a
 *    count hovering at one does not flip the flag at every session).
 *
 *    `v8.setFlagsFromString` is documented as unsafe in general; this flag is only read when V8
 *    computes the next limit (checked under load), unlike the young generation's size, which is
 *    fixed at start-up. A `--heap-growing-percent` given to node wins, and then nothing is set
 *    (`node --heap-growing-percent=0 bin/ih-mock.js`, or `node_modules/ih-mock/bin/ih-mock.js`
 *    where installed, keeps V8's own; node refuses the flag in `NODE_OPTIONS`).
 *
 * 2. The priority of V8's helper threads (Linux). V8 marks the heap, sweeps it and scavenges on
 *    helper threads as well as the main one. Where they share a CPU with the main thread (a server
 *    given one core), each helper gets an equal turn, so the event loop waits behind garbage
 *    collection it was meant not to wait for: at 2,000 sessions on one core the main thread waited
 *    2.5–2.7 s of 42 s for the CPU, and windows' p99 lag was 10–13 ms; with the helpers at nice 10
 *    or 19 (or with V8 told not to use them) 2.8–4.4 ms. Nice 10, not 19: run alternately in one
 *    hour, three pairs each (December 2026), nice 19 cost CPU at 2,000 sessions (the server's CPU
 *    against bare ws 1.23 and 1.33, against 1.02 and 1.06 at nice 10, the main thread doing more of
 *    the work and more of it in the kernel) and did not lower the lag at 5,000 (pooled p99 9.7 and
 *    22.7 ms, against 10.8 and 14.1), though the main thread waited less (1.9–2.1 s of 42 against
 *    3.2–3.9). At nice 10 a helper gets about a tenth of a CPU the main thread is using (kernel
 *    weight 110 against 1024), and all of an idle one, which a real-time server's CPU mostly is, so
 *    the collection still progresses. `helperThreadNice` sets another value (0 leaves them alone).
 *    Switching V8's own threading flags at run time is not an option: several of them crash V8
 *    (checked). The priority is lowered once, the first time the threshold is crossed, and kept:
 *    an unprivileged process may lower a thread's priority but not raise it again. Threads created
 *    later (libuv's pool starts on demand) keep the normal priority.
 *
 * Why from 1,500 sessions, not fewer. Both settings cost memory where the main thread keeps its CPU
 * busy: helpers at a low priority free received buffers later (V8 frees their memory on a helper
 * thread), and (before `takeMessage`) the factor let more of them wait for a mark-compact. The
 * allocator keeps the high-water mark, so RSS after garbage collection stays higher by a few tens
 * of MB, whatever the number of sessions:
 * measured with the bench's memory figure (10 minutes of media sent as fast as the server takes it;
 * RSS over bare ws a session after 63 s → 600 s of media): at 300 sessions, medians of 5 pairs,
 * +166 → +97 KB with the settings (the helpers' priority alone gave about as much) against +78 → +20
 * without; at 1,000 sessions, 2 pairs, +108 and +37 → +86 and +56 with them, +78 and +39 → +2 and
 * +23 without; at 2,000, medians of 5 pairs, +65 → +62 with them (+87 → +54 with the helpers at
 * nice 19). The settings' share is a few tens
 * of MB, so per session it falls as sessions grow: the whole excess was over the memory target's
 * 100 KB a session at 300, about 70 at 1,000 and 65 at 2,000. From 1,500 (our choice) it is under
 * the target, and there the lag the settings save is needed (the scale figures). After
 * `takeMessage`, at 2,000 sessions with the settings: +32.5 → +58.8 KB (medians of 5 pairs).
 */
import { readdirSync } from 'node:fs';
import { setPriority } from 'node:os';
import { setFlagsFromString } from 'node:v8';

/** V8's old-generation growing factor with many sessions open (1 + percent / 100), and from how many to how few. */
export const SERVING_HEAP_GROWING_PERCENT = 200;
export const HEAP_TUNING_FROM_SESSIONS = 1500;
export const HEAP_TUNING_BELOW_SESSIONS = 1200;
/** The factor with thousands of sessions open, whose heap has the room by itself (see above), and from how many to how few. */
export const CROWDED_HEAP_GROWING_PERCENT = 100;
export const CROWDED_FROM_SESSIONS = 3500;
export const CROWDED_BELOW_SESSIONS = 3000;
/** The nice value V8's helper threads get with many sessions open (0 is normal and leaves them alone, 19 the lowest). */
export const HELPER_THREAD_NICE = 10;

/** Node's flags, where V8 accepts `_` for `-` in a flag's name. */
const sameFlag = (arg: string, name: string) => arg.replace(/^--/, '').split('=')[0]!.replace(/_/g, '-') === name;

export interface HeapTuningOptions {
  /** Where flags go (V8; a recorder in tests). */
  setFlags?: (flag: string) => void;
  /** Node's own arguments: a `--heap-growing-percent` there wins. */
  execArgv?: readonly string[];
  /** Open sessions from which the factor is set, and below which it is given back. */
  fromSessions?: number;
  belowSessions?: number;
  /** Open sessions from which the crowded factor takes over, and below which the first comes back (default: none when `fromSessions` is 3,500 or more). */
  crowdedFromSessions?: number;
  crowdedBelowSessions?: number;
  /** This process's threads other than the main one (Linux: from /proc; elsewhere none). */
  helperThreads?: () => number[];
  /** Give a thread a nice value (`os.setPriority`; on Linux a thread id sets that thread only). */
  setThreadPriority?: (threadId: number, nice: number) => void;
  /** The helper threads' nice value from the first step (0 leaves them alone). */
  helperThreadNice?: number;
}

/** What one call of `sessionsOpen` changed. */
export interface HeapTuningChange {
  /** The flag handed to V8 (none when node's own `--heap-growing-percent` wins). */
  flag?: string;
  /** Set the first time the threshold is crossed: the helper threads now at `nice`, and how many. */
  helperThreads?: { lowered: number; nice: number };
}

/** This process's threads but the main one, on Linux; none elsewhere (no way to name them). */
export function linuxHelperThreads(): number[] {
  if (process.platform !== 'linux') return [];
  try {
    return readdirSync('/proc/self/task').map(Number).filter((tid) => tid !== process.pid);
  } catch {
    return [];
  }
}

/** Tunes V8's garbage collection by the number of open sessions (one per serving process). */
export class ServingHeapTuning {
  /** The `--heap-growing-percent` node was started with, if any: then this never sets the flag. */
  readonly nodeFlag: string | undefined;
  readonly fromSessions: number;
  readonly belowSessions: number;
  readonly crowdedFromSessions: number;
  readonly crowdedBelowSessions: number;
  readonly helperThreadNice: number;
  /** The steps in order: up a step at its `from`, back down below its `below`. */
  private readonly steps: ReadonlyArray<{ from: number; below: number; percent: number }>;
  private readonly setFlags: (flag: string) => void;
  private readonly helperThreads: () => number[];
  private readonly setThreadPriority: (threadId: number, nice: number) => void;
  /** Steps taken: 0 is V8's own factor. */
  private level = 0;
  private threadsLowered = false;
  /** Set when V8 refused the flag: the tuning stops trying (the server logs the error once). */
  private broken = false;

  constructor({
    setFlags = setFlagsFromString,
    execArgv = process.execArgv,
    fromSessions = HEAP_TUNING_FROM_SESSIONS,
    belowSessions = Math.min(HEAP_TUNING_BELOW_SESSIONS, fromSessions),
    // A first step set at or above the crowded one's default leaves no room for it: no crowded step.
    crowdedFromSessions = fromSessions < CROWDED_FROM_SESSIONS ? CROWDED_FROM_SESSIONS : Infinity,
    crowdedBelowSessions = Math.max(Math.min(CROWDED_BELOW_SESSIONS, crowdedFromSessions), fromSessions),
    helperThreads = linuxHelperThreads,
    setThreadPriority = setPriority,
    helperThreadNice = HELPER_THREAD_NICE,
  }: HeapTuningOptions = {}) {
    // Off below the "on" threshold, or the flag would flip at every session around it; the steps in order.
    if (!(belowSessions <= fromSessions)) throw new RangeError(`belowSessions (${belowSessions}) must not exceed fromSessions (${fromSessions})`);
    if (!(fromSessions <= crowdedBelowSessions && crowdedBelowSessions <= crowdedFromSessions && fromSessions < crowdedFromSessions)) {
      throw new RangeError(`expected fromSessions (${fromSessions}) ≤ crowdedBelowSessions (${crowdedBelowSessions}) ≤ crowdedFromSessions (${crowdedFromSessions}), the first below the last`);
    }
    if (!(Number.isInteger(helperThreadNice) && helperThreadNice >= 0 && helperThreadNice <= 19)) throw new RangeError(`helperThreadNice must be a whole number from 0 to 19, got ${helperThreadNice}`);
    this.setFlags = setFlags;
    this.helperThreads = helperThreads;
    this.setThreadPriority = setThreadPriority;
    this.nodeFlag = execArgv.find((arg) => sameFlag(arg, 'heap-growing-percent'));
    this.fromSessions = fromSessions;
    this.belowSessions = belowSessions;
    this.crowdedFromSessions = crowdedFromSessions;
    this.crowdedBelowSessions = crowdedBelowSessions;
    this.helperThreadNice = helperThreadNice;
    this.steps = [
      { from: fromSessions, below: belowSessions, percent: SERVING_HEAP_GROWING_PERCENT },
      { from: crowdedFromSessions, below: crowdedBelowSessions, percent: CROWDED_HEAP_GROWING_PERCENT },
    ];
  }

  /** Whether a serving setting is in force now (many sessions open). */
  get active(): boolean {
    return this.level > 0;
  }

  /** The policy, for the start-up log. */
  describe(): string {
    const factor = this.nodeFlag !== undefined
      ? `growing factor left as node was started (${this.nodeFlag})`
      : `growing ${SERVING_HEAP_GROWING_PERCENT} % from ${this.fromSessions} open sessions (V8's own below ${this.belowSessions}), ${CROWDED_HEAP_GROWING_PERCENT} % from ${this.crowdedFromSessions} (${SERVING_HEAP_GROWING_PERCENT} % again below ${this.crowdedBelowSessions})`;
    // Only Linux lets a thread's priority be set on its own (`linuxHelperThreads` lists none elsewhere).
    const threads = process.platform !== 'linux' ? 'helper threads left alone (Linux only)'
      : this.helperThreadNice === 0 ? 'helper threads left alone' : `helper threads at nice ${this.helperThreadNice} from ${this.fromSessions} open sessions`;
    return `${factor}; ${threads}`;
  }

  /** The number of open sessions changed. Returns what this changed, if anything. */
  sessionsOpen(count: number): HeapTuningChange | undefined {
    if (this.broken) return undefined;
    const level = this.levelFor(count);
    if (level === this.level) return undefined;
    const helperThreads = level > 0 && !this.threadsLowered && this.helperThreadNice > 0 ? this.lowerHelperThreads() : undefined;
    // A refused flag leaves the level at the one V8 still holds.
    const flag = this.nodeFlag === undefined ? this.setFactor(level) : undefined;
    this.level = level;
    if (flag === undefined && helperThreads === undefined) return undefined;
    return { ...(flag !== undefined && { flag }), ...(helperThreads && { helperThreads }) };
  }

  /** The level for `count` open sessions, from the current one: up at a step's "from", down below its "below". */
  private levelFor(count: number): number {
    let level = this.level;
    while (level < this.steps.length && count >= this.steps[level]!.from) level++;
    while (level > 0 && count < this.steps[level - 1]!.below) level--;
    return level;
  }

  /** Hand V8 the factor for `level`; returns the flag. */
  private setFactor(level: number): string {
    // 0 is V8's "no fixed factor": it goes back to choosing its own.
    const flag = `--heap-growing-percent=${level === 0 ? 0 : this.steps[level - 1]!.percent}`;
    try {
      this.setFlags(flag);
    } catch (err) {
      this.broken = true;
      throw err;
    }
    return flag;
  }

  /** Once: every thread but the main one to `helperThreadNice`. A thread that ended meanwhile is skipped. */
  private lowerHelperThreads(): { lowered: number; nice: number } {
    this.threadsLowered = true;
    const nice = this.helperThreadNice;
    let lowered = 0;
    for (const threadId of this.helperThreads()) {
      try {
        this.setThreadPriority(threadId, nice);
        lowered++;
      } catch {
        // Gone since it was listed (ESRCH): nothing to lower.
      }
    }
    return { lowered, nice };
  }
}
