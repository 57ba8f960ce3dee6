/**
 * How fast V8 lets the old generation grow, in a process whose job is serving streams: the CLI's
 * (`serve`, `exec`), not a test runner that embeds `createMockServer`, whose process is not ours to
 * tune. The server tells it how many sessions are open; it chooses V8's growing factor.
 *
 * Why: a stream server receives every frame in fresh off-heap buffers and keeps little on its heap.
 * With many sessions open, after a mark-compact V8 (Node 20) sets the next old-generation limit to
 * the live heap × about 1.1, or + 8 MB, plus the young generation, and starts marking again at once:
 * a mark-compact every 100–200 ms for as long as the load lasts (159 in 42 s at 2,000 sessions).
 * A factor of 2 leaves room once the live heap passes about 16 MB: 53–56 mark-compacts in the same
 * span, less server CPU a session-second and a lower p99 event lag (`bench/README.md`, "Scale", has
 * the figures). With a few connections taking bulk media, though, V8's own factor
 * is the better one (a fixed 2, or 4, cut the throughput of one-second Chromium chunks on 4
 * connections by a third to a half), so the factor is set only while many sessions are open, and given back to V8 when
 * they have gone (hysteresis, so a count hovering at the threshold does not flip it at every session).
 *
 * `v8.setFlagsFromString` is documented as unsafe in general; this flag is only read when V8
 * computes the next limit (checked under load), unlike the young generation's size, which is fixed
 * at start-up. A `--heap-growing-percent` given to node wins, and then nothing is set
 * (`node --heap-growing-percent=0 bin/ih-mock.js`, or `node_modules/ih-mock/bin/ih-mock.js` where
 * installed, keeps V8's own; node refuses the flag in `NODE_OPTIONS`).
 */
import { setFlagsFromString } from 'node:v8';

/** V8's old-generation growing factor with many sessions open: 1 + percent / 100. */
export const SERVING_HEAP_GROWING_PERCENT = 100;
/** Open sessions from which the factor is set, and below which it is given back to V8. */
export const HEAP_TUNING_FROM_SESSIONS = 200;
export const HEAP_TUNING_BELOW_SESSIONS = 150;

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
}

/** Sets V8's heap growing factor by the number of open sessions (one per serving process). */
export class ServingHeapTuning {
  /** The `--heap-growing-percent` node was started with, if any: then this never sets the flag. */
  readonly nodeFlag: string | undefined;
  readonly fromSessions: number;
  readonly belowSessions: number;
  private readonly setFlags: (flag: string) => void;
  private tuned = false;
  /** Set when V8 refused the flag: the tuning stops trying (the server logs the error once). */
  private broken = false;

  constructor({ setFlags = setFlagsFromString, execArgv = process.execArgv, fromSessions = HEAP_TUNING_FROM_SESSIONS, belowSessions = Math.min(HEAP_TUNING_BELOW_SESSIONS, fromSessions) }: HeapTuningOptions = {}) {
    // Off below the "on" threshold, or the flag would flip at every session around it.
    if (!(belowSessions <= fromSessions)) throw new RangeError(`belowSessions (${belowSessions}) must not exceed fromSessions (${fromSessions})`);
    this.setFlags = setFlags;
    this.nodeFlag = execArgv.find((arg) => sameFlag(arg, 'heap-growing-percent'));
    this.fromSessions = fromSessions;
    this.belowSessions = belowSessions;
  }

  /** Whether the serving factor is in force now. */
  get active(): boolean {
    return this.tuned;
  }

  /** The policy, for the start-up log. */
  describe(): string {
    return this.nodeFlag !== undefined
      ? `left as node was started (${this.nodeFlag})`
      : `${SERVING_HEAP_GROWING_PERCENT} % from ${this.fromSessions} open sessions, V8's own below ${this.belowSessions}`;
  }

  /** The number of open sessions changed. Returns the flag set, when this changed it. */
  sessionsOpen(count: number): string | undefined {
    if (this.nodeFlag !== undefined || this.broken) return undefined;
    if (this.tuned ? count >= this.belowSessions : count < this.fromSessions) return undefined;
    // 0 is V8's "no fixed factor": it goes back to choosing its own.
    const flag = `--heap-growing-percent=${this.tuned ? 0 : SERVING_HEAP_GROWING_PERCENT}`;
    try {
      this.setFlags(flag);
    } catch (err) {
      this.broken = true;
      throw err;
    }
    this.tuned = !this.tuned;
    return flag;
  }
}
