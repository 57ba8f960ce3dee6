/**
 * When a scenario's faults fire. This module only decides *when* (trigger + seeded probability);
 * the session carries each action out.
 *
 * Invariants: a fault with a one-shot trigger (open, media_seconds, segment, wall_seconds, windows_sent, upload) fires at
 * most once; `every_segment` faults are considered on every binary message; each consideration draws
 * only when the probability is strictly between 0 and 1, so a schedule without random faults consumes
 * no randomness and the same seed replays the same faults. Each random fault draws from a generator
 * of its own, forked by its content, so adding or removing another fault never changes when it fires
 * (a shrunk scenario keeps the faults its failure needs firing as before).
 */
import type { Random } from '../random.js';
import type { Fault } from '../types/generated.js';

const NO_FAULTS: readonly Fault[] = Object.freeze([]);

// What each trigger matches (module-level, so the calls made per binary message and per window allocate nothing).
const atOpen = (f: Fault): boolean => f.when === undefined && f.action !== 'missing_scope';
const isFault = (f: Fault, fault: Fault): boolean => f === fault;
const untriggeredIn = (f: Fault, added: ReadonlySet<Fault>): boolean => added.has(f) && f.when === undefined;
const onSegment = (f: Fault, segment: number): boolean => f.when?.segment === segment || f.when?.every_segment === true;
const onUpload = (f: Fault, n: number): boolean => f.when?.upload === n;
const afterWindowsSent = (f: Fault, windows: number): boolean => f.when?.windows_sent !== undefined && f.when.windows_sent <= windows;
const atMedia = (f: Fault, mediaEnd: number): boolean => f.when?.media_seconds !== undefined && f.when.media_seconds <= mediaEnd;

// The collections below are made when the first fault needs them: nearly every session has none,
// and a server with thousands of sessions would keep three empty ones each for the session's life.
export class FaultSchedule {
  private fired: Set<Fault> | undefined;
  private readonly faults: Fault[];
  /** The generator of each random fault (0 < probability < 1). */
  private randoms: Map<Fault, Random> | undefined;
  /** How many identical faults got a generator so far, by content (for independent forks). */
  private copies: Map<string, number> | undefined;

  constructor(
    faults: readonly Fault[],
    private readonly random: Random,
  ) {
    this.faults = [...faults];
    for (const fault of faults) this.forkFor(fault);
  }

  /** A random fault's own generator, forked by content (and position among identical faults): independent of the other faults. */
  private forkFor(fault: Fault): void {
    const p = fault.probability ?? 1;
    if (p <= 0 || p >= 1) return;
    const key = JSON.stringify(fault);
    this.copies ??= new Map();
    const copy = this.copies.get(key) ?? 0;
    this.copies.set(key, copy + 1);
    (this.randoms ??= new Map()).set(fault, this.random.fork(`fault ${key} #${copy}`));
  }

  /**
   * Faults added while the session runs (the admin API's inject): those without a trigger are due
   * now (after their probability draw) and returned; the others join the schedule and fire like a
   * scenario's (`wall_seconds` ones are returned in `timed`, for the session to arm from now).
   */
  add(faults: readonly Fault[]): { due: readonly Fault[]; timed: [Fault, number][] } {
    this.faults.push(...faults);
    for (const fault of faults) this.forkFor(fault);
    const added = new Set(faults);
    return {
      due: this.take(untriggeredIn, added),
      timed: faults.filter((f) => f.when?.wall_seconds !== undefined).map((f) => [f, f.when!.wall_seconds! * 1000]),
    };
  }

  /** The upgrade: `missing_scope` replaces session.ready. */
  get refusesScope(): boolean {
    return this.faults.some((f) => f.action === 'missing_scope');
  }

  /** Faults without a trigger: right after session.ready. */
  atOpen(): readonly Fault[] {
    return this.take(atOpen, 0);
  }

  /** `wall_seconds` faults, for the session to arm as timers: [fault, ms after open]. */
  timed(): [Fault, number][] {
    return this.faults.filter((f) => f.when?.wall_seconds !== undefined).map((f) => [f, f.when!.wall_seconds! * 1000]);
  }

  /** A timed fault's moment came. */
  atWallTime(fault: Fault): readonly Fault[] {
    return this.take(isFault, fault);
  }

  /** Binary message `segment` (1-based) arrived, before it is processed. */
  onSegment(segment: number): readonly Fault[] {
    return this.take(onSegment, segment);
  }

  /** The `n`-th upload (1-based) arrived: its upload faults (`when: {upload: n}`). */
  onUpload(n: number): readonly Fault[] {
    return this.take(onUpload, n);
  }

  /** The results of `windows` analyzed windows have been sent. */
  onWindowsSent(windows: number): readonly Fault[] {
    return this.take(afterWindowsSent, windows);
  }

  /** Accepted media reached `mediaEnd` seconds. */
  onMedia(mediaEnd: number): readonly Fault[] {
    return this.take(atMedia, mediaEnd);
  }

  /** The faults matching `match(fault, value)` that fire now. `match` is one of the module's predicates, so a call makes no closure. */
  private take<T>(match: (f: Fault, value: T) => boolean, value: T): readonly Fault[] {
    // Nearly every session has no faults: nothing to allocate on each binary message or window.
    if (this.faults.length === 0) return NO_FAULTS;
    const due: Fault[] = [];
    const fired = (this.fired ??= new Set());
    for (const fault of this.faults) {
      const repeating = fault.when?.every_segment === true;
      if ((!repeating && fired.has(fault)) || !match(fault, value)) continue;
      if (!repeating) fired.add(fault);
      if (this.happens(fault)) due.push(fault);
    }
    return due;
  }

  private happens(fault: Fault): boolean {
    const random = this.randoms?.get(fault);
    if (!random) return (fault.probability ?? 1) >= 1;
    return random.next() < fault.probability!;
  }
}
