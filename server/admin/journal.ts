/**
 * The journal: what happened on the server, in order — every WebSocket frame of every stream session
 * in both directions, sessions opening and ending, uploads and token exchanges answered, admin
 * actions (docs/control-plane.md#the-journal). A ring buffer per server: when full, the oldest entry
 * is evicted and counted.
 *
 * Cheap enough to record every frame (issue 16's budget: ≤ 10 % of ingest throughput): an entry is
 * one small object of a fixed shape, holding a reference to the envelope that was sent (never a
 * copy, never re-serialised); everything derived (media time, JSON) is computed when the entry is
 * read. Listeners (long-polls, event streams) are woken once per turn, and only when there are any.
 *
 * Invariants: `seq` increases by one per entry over the server's life (never reused, also across
 * clears), so it is a cursor: "entries after N" means the same thing before and after evictions;
 * the buffer never holds more than `capacity` entries; an entry holds no credential (the recorders
 * never give it one).
 */
import { isoMicros } from '../clock.js';
import { envelopeMediaTime } from '../analysis/events.js';
import type { Envelope } from '../stream/envelope.js';
import type { InboundVerdict } from '../stream/session-tap.js';
import type { JournalEntry as JournalEntryJson, JournalKind } from '../types/generated.js';

export type { JournalKind };
export type Direction = 'in' | 'out';

/** One thing that happened. Fields are filled in place by the recorders; `toJSON` is the wire form. */
export class JournalEntry {
  /** Removed by a scoped clear (the slot stays, so seq still maps to a slot). */
  removed = false;

  constructor(
    readonly seq: number,
    /** Server clock, ms. */
    readonly at: number,
    readonly kind: JournalKind,
    readonly session: string | null,
    readonly testId: string | null,
    readonly direction: Direction | null,
    public type: string,
    public code: string | null,
    readonly signalType: string | null,
    public bytes: number | null,
    readonly segment: number | null,
    /** Binary in frames: the session's accepted media end after the frame. */
    public mediaEnd: number | null,
    public mediaSeconds: number | null,
    public verdict: InboundVerdict | null,
    /** Out frames: the envelope as sent (a reference). */
    readonly event: Envelope | null,
    public detail: unknown,
  ) {}

  toJSON(): JournalEntryJson {
    return {
      seq: this.seq,
      time: isoMicros(this.at),
      kind: this.kind,
      session: this.session,
      test_id: this.testId,
      direction: this.direction,
      type: this.type,
      code: this.code,
      signal_type: this.signalType,
      media_time: this.event ? envelopeMediaTime(this.event.type, this.event.data) : this.mediaEnd,
      bytes: this.bytes,
      segment: this.segment,
      media_seconds: this.mediaSeconds,
      verdict: this.verdict,
      event: this.event ?? null,
      detail: this.detail ?? null,
    };
  }
}

/** Which entries a reader wants; every field given must match (lists: any of). */
export interface JournalFilter {
  session?: string;
  /** The scope: only this test's entries. */
  testId?: string;
  kind?: readonly JournalKind[];
  direction?: Direction;
  type?: readonly string[];
  code?: readonly string[];
  signalType?: readonly string[];
}

export function matches(entry: JournalEntry, f: JournalFilter): boolean {
  return (
    !entry.removed &&
    (f.session === undefined || entry.session === f.session) &&
    (f.testId === undefined || entry.testId === f.testId) &&
    (f.kind === undefined || f.kind.includes(entry.kind)) &&
    (f.direction === undefined || entry.direction === f.direction) &&
    (f.type === undefined || f.type.includes(entry.type)) &&
    (f.code === undefined || (entry.code !== null && f.code.includes(entry.code))) &&
    (f.signalType === undefined || (entry.signalType !== null && f.signalType.includes(entry.signalType)))
  );
}

/**
 * Someone waiting for entries: a long-poll (takes one, then stops) or an event stream (takes all).
 * `deliver` returns whether it wants more.
 */
export interface JournalListener {
  readonly filter: JournalFilter;
  /** The seq of the last entry this listener has seen. */
  cursor: number;
  deliver(entry: JournalEntry): boolean;
}

export class Journal {
  private readonly slots: (JournalEntry | undefined)[];
  /** Index of the oldest held entry. */
  private head = 0;
  private held = 0;
  private lastSeq = 0;
  private evictedCount = 0;
  private readonly listeners = new Set<JournalListener>();
  private wakeScheduled = false;
  private readonly wake = (): void => this.notify();

  constructor(readonly capacity: number) {
    this.slots = new Array<JournalEntry | undefined>(capacity);
  }

  /** Whether anything is recorded (capacity 0 turns the journal off). */
  get enabled(): boolean {
    return this.capacity > 0;
  }

  /** The seq of the newest entry (0 before the first): `since` for "from now on". */
  get newestSeq(): number {
    return this.lastSeq;
  }

  /** The seq of the oldest entry held, or null when empty. */
  get oldestSeq(): number | null {
    return this.held === 0 ? null : this.slots[this.head]!.seq;
  }

  get size(): number {
    return this.held;
  }

  get recorded(): number {
    return this.lastSeq;
  }

  get evicted(): number {
    return this.evictedCount;
  }

  /**
   * Record an entry (the arguments are JournalEntry's after `seq`); evicts the oldest when full.
   * Returns it, so a recorder can fill in what it learns later in the same turn (a frame's verdict),
   * or null when the journal is off.
   */
  record(
    at: number,
    kind: JournalKind,
    session: string | null,
    testId: string | null,
    direction: Direction | null,
    type: string,
    code: string | null,
    signalType: string | null,
    bytes: number | null,
    segment: number | null,
    mediaEnd: number | null,
    mediaSeconds: number | null,
    verdict: InboundVerdict | null,
    event: Envelope | null,
    detail: unknown,
  ): JournalEntry | null {
    if (this.capacity === 0) return null;
    const entry = new JournalEntry(this.lastSeq + 1, at, kind, session, testId, direction, type, code, signalType, bytes, segment, mediaEnd, mediaSeconds, verdict, event, detail);
    this.lastSeq = entry.seq;
    if (this.held === this.capacity) {
      if (!this.slots[this.head]!.removed) this.evictedCount++;
      this.slots[this.head] = entry;
      this.head = (this.head + 1) % this.capacity;
    } else {
      this.slots[(this.head + this.held) % this.capacity] = entry;
      this.held++;
    }
    if (this.listeners.size > 0 && !this.wakeScheduled) {
      // Once per turn, after the frame that made this entry has been processed (its verdict filled in).
      this.wakeScheduled = true;
      queueMicrotask(this.wake);
    }
    return entry;
  }

  /** Entries after seq `since` matching `filter`, oldest first, at most `limit`. */
  read(filter: JournalFilter, since: number, limit: number): { entries: JournalEntry[]; more: boolean } {
    const entries: JournalEntry[] = [];
    for (let i = this.indexAfter(since); i < this.held; i++) {
      const entry = this.slots[(this.head + i) % this.capacity]!;
      if (!matches(entry, filter)) continue;
      if (entries.length === limit) return { entries, more: true };
      entries.push(entry);
    }
    return { entries, more: false };
  }

  /** Remove the entries matching `filter` (all with an empty filter); returns how many. */
  clear(filter: JournalFilter): number {
    let cleared = 0;
    if (Object.keys(filter).length === 0) {
      for (let i = 0; i < this.held; i++) if (!this.slots[(this.head + i) % this.capacity]!.removed) cleared++;
      this.slots.fill(undefined);
      this.head = 0;
      this.held = 0;
      return cleared;
    }
    for (let i = 0; i < this.held; i++) {
      const entry = this.slots[(this.head + i) % this.capacity]!;
      if (matches(entry, filter)) {
        entry.removed = true;
        cleared++;
      }
    }
    return cleared;
  }

  /** Forget the eviction count (a reset to the start-up state). */
  resetCounts(): void {
    this.evictedCount = 0;
  }

  /** Deliver the entries already held after `listener.cursor`, then keep it until `deliver` says stop or `unlisten`. */
  listen(listener: JournalListener): void {
    this.listeners.add(listener);
    this.deliverTo(listener);
  }

  unlisten(listener: JournalListener): void {
    this.listeners.delete(listener);
  }

  isListening(listener: JournalListener): boolean {
    return this.listeners.has(listener);
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  private notify(): void {
    this.wakeScheduled = false;
    for (const listener of this.listeners) this.deliverTo(listener);
  }

  private deliverTo(listener: JournalListener): void {
    for (let i = this.indexAfter(listener.cursor); i < this.held; i++) {
      const entry = this.slots[(this.head + i) % this.capacity]!;
      listener.cursor = entry.seq;
      if (matches(entry, listener.filter) && !listener.deliver(entry)) {
        this.listeners.delete(listener);
        return;
      }
    }
  }

  /** Position (0 = oldest held) of the first entry with seq > `since`. Held seqs are consecutive. */
  private indexAfter(since: number): number {
    if (this.held === 0) return 0;
    const oldest = this.slots[this.head]!.seq;
    return Math.min(this.held, Math.max(0, since + 1 - oldest));
  }
}
