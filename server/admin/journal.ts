/**
 * The journal: what happened on the server, in order — every WebSocket frame of every stream session
 * in both directions, sessions opening and ending, uploads and token exchanges answered, admin
 * actions (docs/control-plane.md#the-journal). A ring buffer per server: when full, the oldest entry
 * is evicted and counted.
 *
 * Cheap enough to record every frame (tens of nanoseconds a frame, `bench/journal-cost.ts`; its effect
 * on ingest and event lag: the control-plane rows of `npm run bench`):
 * recording allocates nothing. The ring is a set of columns allocated once (typed arrays for the
 * numbers, arrays of references for the strings), and an out frame keeps the text that was sent,
 * one flat string it already had, instead of the envelope's object graph. Why: a journal keeps
 * thousands of entries for a while, so every object it holds survives the young generation and is
 * copied and promoted by the garbage collector; one object per frame (and the envelope it held)
 * made recording cost about 40 % of the session's own work per message. Entries are made as
 * `JournalEntry` objects, and the event parsed again, only when someone reads them. Listeners
 * (long-polls, event streams) are woken once per turn, and only when there are any.
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

/** One thing that happened, as a reader gets it (made from the journal's columns when read); `toJSON` is the wire form. */
export class JournalEntry {
  constructor(
    readonly seq: number,
    /** Server clock, ms. */
    readonly at: number,
    readonly kind: JournalKind,
    readonly session: string | null,
    readonly testId: string | null,
    readonly direction: Direction | null,
    readonly type: string,
    readonly code: string | null,
    readonly signalType: string | null,
    readonly bytes: number | null,
    readonly segment: number | null,
    /** Binary in frames: the session's accepted media end after the frame. */
    readonly mediaEnd: number | null,
    readonly mediaSeconds: number | null,
    readonly verdict: InboundVerdict | null,
    /** Out frames: the envelope as sent (its text parsed again). */
    readonly event: Envelope | null,
    readonly detail: unknown,
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
      event: this.event,
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

const KINDS: readonly JournalKind[] = ['frame', 'session', 'upload', 'auth', 'admin'];
const DIRECTIONS: readonly (Direction | null)[] = [null, 'in', 'out'];
const VERDICTS: readonly (InboundVerdict | null)[] = [null, 'accepted', 'rejected', 'ignored'];

/** Per slot: session, test id, type, code, signal type. */
const STRINGS = 5;
/** Per slot: bytes, segment, media end, media seconds (NaN = null). */
const NUMBERS = 4;

const orNull = (n: number): number | null => (Number.isNaN(n) ? null : n);

export class Journal {
  // The ring's columns, slot i at [i * width + field]; allocated once.
  private readonly at: Float64Array;
  private readonly numbers: Float64Array;
  /** kind, direction and verdict as indexes of KINDS, DIRECTIONS, VERDICTS. */
  private readonly kinds: Uint8Array;
  private readonly directions: Uint8Array;
  private readonly verdicts: Uint8Array;
  /** Removed by a scoped clear (the slot stays, so seq still maps to a slot). */
  private readonly removed: Uint8Array;
  private readonly strings: (string | null)[];
  /** Out frames: the text sent (parsed again when read). */
  private readonly texts: (string | null)[];
  private readonly details: unknown[];
  /** Index of the oldest held entry. */
  private head = 0;
  private held = 0;
  private lastSeq = 0;
  private evictedCount = 0;
  private readonly listeners = new Set<JournalListener>();
  private wakeScheduled = false;
  private readonly wake = (): void => this.notify();

  constructor(readonly capacity: number) {
    this.at = new Float64Array(capacity);
    this.numbers = new Float64Array(capacity * NUMBERS);
    this.kinds = new Uint8Array(capacity);
    this.directions = new Uint8Array(capacity);
    this.verdicts = new Uint8Array(capacity);
    this.removed = new Uint8Array(capacity);
    this.strings = new Array<string | null>(capacity * STRINGS).fill(null);
    this.texts = new Array<string | null>(capacity).fill(null);
    this.details = new Array<unknown>(capacity).fill(null);
  }

  /** Whether anything is recorded (capacity 0 turns the journal off). */
  get enabled(): boolean {
    return this.capacity > 0;
  }

  /** The seq of the newest entry (0 before the first): `since` for "from now on". */
  get newestSeq(): number {
    return this.lastSeq;
  }

  /** The seq of the oldest entry held, or null when empty. Held seqs are consecutive and end at the newest. */
  get oldestSeq(): number | null {
    return this.held === 0 ? null : this.firstHeldSeq;
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
   * Record an entry (the arguments are JournalEntry's after `seq`, with an out frame's text as sent
   * instead of its envelope); evicts the oldest when full. Returns its seq, so a recorder can fill in
   * what it learns later in the same turn (`complete`: a frame's verdict), or 0 when the journal is off.
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
    text: string | null,
    detail: unknown,
  ): number {
    if (this.capacity === 0) return 0;
    let slot: number;
    if (this.held === this.capacity) {
      slot = this.head;
      if (this.removed[slot] === 0) this.evictedCount++;
      this.head = (this.head + 1) % this.capacity;
    } else {
      slot = (this.head + this.held) % this.capacity;
      this.held++;
    }
    const seq = ++this.lastSeq;
    this.at[slot] = at;
    this.kinds[slot] = KINDS.indexOf(kind);
    this.directions[slot] = DIRECTIONS.indexOf(direction);
    this.verdicts[slot] = VERDICTS.indexOf(verdict);
    this.removed[slot] = 0;
    const s = slot * STRINGS;
    this.strings[s] = session;
    this.strings[s + 1] = testId;
    this.strings[s + 2] = type;
    this.strings[s + 3] = code;
    this.strings[s + 4] = signalType;
    const n = slot * NUMBERS;
    this.numbers[n] = bytes ?? Number.NaN;
    this.numbers[n + 1] = segment ?? Number.NaN;
    this.numbers[n + 2] = mediaEnd ?? Number.NaN;
    this.numbers[n + 3] = mediaSeconds ?? Number.NaN;
    this.texts[slot] = text;
    this.details[slot] = detail;
    if (this.listeners.size > 0 && !this.wakeScheduled) {
      // Once per turn, after the frame that made this entry has been processed (its verdict filled in).
      this.wakeScheduled = true;
      queueMicrotask(this.wake);
    }
    return seq;
  }

  /** Fill in what a recorder learnt after recording entry `seq` (an in frame's verdict); nothing if it is no longer held. */
  complete(seq: number, type: string, verdict: InboundVerdict, code: string | null, mediaEnd: number | null, mediaSeconds: number | null): void {
    const slot = this.slotOf(seq);
    if (slot === -1) return;
    this.strings[slot * STRINGS + 2] = type;
    this.strings[slot * STRINGS + 3] = code;
    this.verdicts[slot] = VERDICTS.indexOf(verdict);
    this.numbers[slot * NUMBERS + 2] = mediaEnd ?? Number.NaN;
    this.numbers[slot * NUMBERS + 3] = mediaSeconds ?? Number.NaN;
  }

  /** Entries after seq `since` matching `filter`, oldest first, at most `limit`. */
  read(filter: JournalFilter, since: number, limit: number): { entries: JournalEntry[]; more: boolean } {
    const entries: JournalEntry[] = [];
    for (let i = this.indexAfter(since); i < this.held; i++) {
      const slot = (this.head + i) % this.capacity;
      if (!this.matches(slot, filter)) continue;
      if (entries.length === limit) return { entries, more: true };
      entries.push(this.entryAt(i));
    }
    return { entries, more: false };
  }

  /** Remove the entries matching `filter` (all with an empty filter); returns how many. */
  clear(filter: JournalFilter): number {
    let cleared = 0;
    if (Object.keys(filter).length === 0) {
      for (let i = 0; i < this.held; i++) if (this.removed[(this.head + i) % this.capacity] === 0) cleared++;
      // Let go of what the slots reference.
      this.strings.fill(null);
      this.texts.fill(null);
      this.details.fill(null);
      this.head = 0;
      this.held = 0;
      return cleared;
    }
    for (let i = 0; i < this.held; i++) {
      const slot = (this.head + i) % this.capacity;
      if (this.matches(slot, filter)) {
        this.removed[slot] = 1;
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
      const slot = (this.head + i) % this.capacity;
      listener.cursor = this.firstHeldSeq + i;
      if (this.matches(slot, listener.filter) && !listener.deliver(this.entryAt(i))) {
        this.listeners.delete(listener);
        return;
      }
    }
  }

  /** Whether the entry in `slot` is held (not removed) and matches `f`; every field given must match (lists: any of). */
  private matches(slot: number, f: JournalFilter): boolean {
    const s = slot * STRINGS;
    const code = this.strings[s + 3]!;
    const signalType = this.strings[s + 4]!;
    return (
      this.removed[slot] === 0 &&
      (f.session === undefined || this.strings[s] === f.session) &&
      (f.testId === undefined || this.strings[s + 1] === f.testId) &&
      (f.kind === undefined || f.kind.includes(KINDS[this.kinds[slot]!]!)) &&
      (f.direction === undefined || DIRECTIONS[this.directions[slot]!] === f.direction) &&
      (f.type === undefined || f.type.includes(this.strings[s + 2]!)) &&
      (f.code === undefined || (code !== null && f.code.includes(code))) &&
      (f.signalType === undefined || (signalType !== null && f.signalType.includes(signalType)))
    );
  }

  /** The entry at position `i` (0 = oldest held), made from the columns. */
  private entryAt(i: number): JournalEntry {
    const slot = (this.head + i) % this.capacity;
    const s = slot * STRINGS;
    const n = slot * NUMBERS;
    const text = this.texts[slot];
    return new JournalEntry(
      this.firstHeldSeq + i,
      this.at[slot]!,
      KINDS[this.kinds[slot]!]!,
      this.strings[s]!,
      this.strings[s + 1]!,
      DIRECTIONS[this.directions[slot]!]!,
      this.strings[s + 2]!,
      this.strings[s + 3]!,
      this.strings[s + 4]!,
      // An out frame's size is its text's (counted when read, not per frame).
      text != null ? Buffer.byteLength(text) : orNull(this.numbers[n]!),
      orNull(this.numbers[n + 1]!),
      orNull(this.numbers[n + 2]!),
      orNull(this.numbers[n + 3]!),
      VERDICTS[this.verdicts[slot]!]!,
      text != null ? (JSON.parse(text) as Envelope) : null,
      this.details[slot],
    );
  }

  /** The seq of the oldest held entry (held seqs are consecutive and end at the newest); lastSeq + 1 when none is held. */
  private get firstHeldSeq(): number {
    return this.lastSeq - this.held + 1;
  }

  /** The slot holding entry `seq`, or -1 when it is not held. */
  private slotOf(seq: number): number {
    const i = seq - this.firstHeldSeq;
    return seq > 0 && i >= 0 && i < this.held ? (this.head + i) % this.capacity : -1;
  }

  /** Position (0 = oldest held) of the first entry with seq > `since`. */
  private indexAfter(since: number): number {
    if (this.held === 0) return 0;
    return Math.min(this.held, Math.max(0, since + 1 - this.firstHeldSeq));
  }
}
