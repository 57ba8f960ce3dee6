/**
 * The stream sessions the admin API can list: the open ones, and the most recent ended ones
 * (`keepEndedSessions`). A `SessionRecord` is a session's tap (stream/session-tap.ts): it writes the
 * session's frames to the journal and counts them for the metrics.
 *
 * Invariants: an ended record lets go of its StreamSession (keeping a snapshot of what the admin API
 * shows), so ended sessions cost a few hundred bytes each, not their media timelines; the ended list
 * never holds more than `keepEnded` records, oldest dropped first.
 */
import { isoMicros, type Clock } from '../clock.js';
import type { ErrorCode } from '../errors.js';
import type { Envelope } from '../stream/envelope.js';
import type { EndReason, SessionLimits, SessionStats, StreamSession } from '../stream/session.js';
import type { InboundType, InboundVerdict, SessionTap } from '../stream/session-tap.js';
import type { SessionTiming } from '../stream/timing.js';
import type { MediaRange } from '../stream/window-pipeline.js';
import type { Scenario, SessionDetail, SessionSummary } from '../types/generated.js';
import type { ServerMetrics } from '../metrics/metrics.js';
import type { Journal } from './journal.js';
import { AdminError } from './errors.js';

/** What is known about a session as it opens. */
export interface SessionOpening {
  /** Its correlation id. */
  id: string;
  testId: string | null;
  scenario: Scenario;
  /** The session's own seed (URL or admin default), else null. */
  seed: number | null;
  serverSeed: number;
  timing: SessionTiming;
  credentialSource: string;
  /** Faults it took from the admin queue. */
  faultsQueued: number;
}

/** What an ended session leaves behind. */
interface Final {
  state: 'ended';
  endReason: EndReason | null;
  stats: SessionStats;
  droppedRanges: readonly MediaRange[];
}

export class SessionRecord implements SessionTap {
  /** The live session; null once it has ended (see `final`). */
  session: StreamSession | null = null;
  readonly openedAt: number;
  endedAt: number | null = null;
  faultsInjected = 0;
  private final: Final | null = null;
  private limits: SessionLimits | null = null;
  /** The journal seq of the client frame being processed (its verdict comes in `decided`); 0: none. */
  private pending = 0;

  constructor(
    readonly opening: SessionOpening,
    private readonly journal: Journal,
    private readonly metrics: ServerMetrics,
    private readonly clock: Clock,
  ) {
    this.openedAt = clock.now();
  }

  get id(): string {
    return this.opening.id;
  }

  get testId(): string | null {
    return this.opening.testId;
  }

  get scenarioName(): string {
    return this.opening.scenario.name;
  }

  get stats(): SessionStats {
    return this.final?.stats ?? this.session!.stats;
  }

  /** The session it records (set once, right after the session is built). */
  attach(session: StreamSession): void {
    this.session = session;
    this.limits = session.limits;
    const o = this.opening;
    this.note('session', null, 'session.opened', null, {
      scenario: o.scenario.name,
      seed: o.seed,
      timing: o.timing.mode,
      credential_source: o.credentialSource,
      faults_queued: o.faultsQueued,
    });
  }

  // ---- SessionTap: called by the session, once per frame ----------------------------------------

  sent(event: Envelope, text: string): void {
    const code = event.type === 'error' ? ((event.data as { code?: string }).code ?? null) : null;
    this.metrics.eventSent(event.type, code);
    if (!this.journal.enabled) return;
    const signal = event.type.startsWith('signal.') ? ((event.data as { signal_type?: string }).signal_type ?? null) : null;
    this.journal.record(this.clock.now(), 'frame', this.opening.id, this.opening.testId, 'out', event.type, code, signal, null, null, null, null, null, text, null);
  }

  received(binary: boolean, bytes: number, segment: number | null): void {
    this.pending = this.journal.record(this.clock.now(), 'frame', this.opening.id, this.opening.testId, 'in', binary ? 'binary' : 'text', null, null, bytes, segment, null, null, null, null, null);
  }

  decided(type: InboundType, verdict: InboundVerdict, code: ErrorCode | null, mediaEnd: number | null, mediaSeconds: number | null): void {
    if (this.pending === 0) return;
    this.journal.complete(this.pending, type, verdict, code, mediaEnd, mediaSeconds);
    this.pending = 0;
  }

  // ---- The connection (from app.ts) ------------------------------------------------------------

  /** ih-mock sent a close frame. */
  closeSent(code: number, reason: string): void {
    this.note('frame', 'out', 'close', null, { code, reason });
  }

  /** ih-mock cut the connection without a close frame (a disconnect fault, or after a protocol error). */
  disconnected(): void {
    this.note('frame', 'out', 'disconnect', null, null);
  }

  /** The connection closed: the client's close frame (code 1006: none came, the connection dropped). */
  clientClosed(code: number, reason: string): void {
    this.note('frame', 'in', 'close', null, { code, reason });
  }

  /** The session ended: snapshot what the admin API shows, and let go of the session. */
  ended(session: StreamSession): void {
    this.endedAt = this.clock.now();
    this.final = { state: 'ended', endReason: session.endReason ?? null, stats: { ...session.stats }, droppedRanges: [...session.droppedRanges] };
    this.metrics.sessionEnded(session.endReason ?? 'unknown', session.stats);
    this.note('session', null, 'session.ended', null, { reason: session.endReason ?? null, stats: countersOf(session.stats) });
  }

  /** Release the session object (after every listener of its end has run). */
  release(): void {
    this.session = null;
  }

  injected(count: number): void {
    this.faultsInjected += count;
  }

  summary(): SessionSummary {
    const o = this.opening;
    const live = this.final === null ? this.session : null;
    return {
      id: o.id,
      test_id: o.testId,
      state: this.final?.state ?? live?.state ?? 'ended',
      scenario: o.scenario.name,
      seed: o.seed,
      server_seed: o.serverSeed,
      timing: { mode: o.timing.mode, ratio: o.timing.ratio, jitter: o.timing.jitter, workers: o.timing.workers, queue_limit: Number.isFinite(o.timing.queueLimit) ? o.timing.queueLimit : null },
      opened_at: isoMicros(this.openedAt),
      ended_at: this.endedAt === null ? null : isoMicros(this.endedAt),
      end_reason: this.final?.endReason ?? live?.endReason ?? null,
      credential_source: o.credentialSource,
      faults_queued: o.faultsQueued,
      faults_injected: this.faultsInjected,
      stats: countersOf(this.stats),
    };
  }

  detail(): SessionDetail {
    const limits = this.limits!;
    const ranges = this.final?.droppedRanges ?? this.session?.droppedRanges ?? [];
    return {
      session: this.summary(),
      limits: {
        idle_timeout_seconds: limits.idleTimeoutSeconds,
        max_duration_seconds: limits.maxDurationSeconds,
        max_segment_bytes: limits.maxSegmentBytes,
        min_segment_seconds: limits.minSegmentSeconds,
      },
      dropped_ranges: ranges.map((r) => ({ start: r.start, end: r.end })),
      scenario_definition: this.opening.scenario as unknown as Record<string, unknown>,
    };
  }

  private note(kind: 'frame' | 'session', direction: 'in' | 'out' | null, type: string, code: string | null, detail: unknown): void {
    this.journal.record(this.clock.now(), kind, this.opening.id, this.opening.testId, direction, type, code, null, null, null, null, null, null, null, detail);
  }
}

/** A session's counters in the admin API's (snake_case) form. */
export function countersOf(s: SessionStats): SessionSummary['stats'] {
  return {
    binary_messages: s.binaryMessages,
    rejected_messages: s.rejectedMessages,
    bytes_received: s.bytesReceived,
    received_seconds: s.receivedSeconds,
    analyzed_seconds: s.analyzedSeconds,
    dropped_seconds: s.droppedSeconds,
    windows_analyzed: s.windowsAnalyzed,
    windows_shed: s.windowsShed,
    events_sent: s.eventsSent,
    config_frames: s.configFrames,
  };
}

export type SessionStateFilter = 'open' | 'ended' | 'all';

export class SessionRegistry {
  private readonly openRecords = new Map<string, SessionRecord>();
  /** Oldest first. */
  private ended: SessionRecord[] = [];

  constructor(private readonly keepEnded: number) {}

  opened(record: SessionRecord): void {
    this.openRecords.set(record.id, record);
  }

  /** Move a record to the ended list (after `record.ended`). */
  closed(record: SessionRecord): void {
    this.openRecords.delete(record.id);
    if (this.keepEnded === 0) return;
    this.ended.push(record);
    if (this.ended.length > this.keepEnded) this.ended.splice(0, this.ended.length - this.keepEnded);
  }

  /** Open records, for the metrics. */
  open(): Iterable<SessionRecord> {
    return this.openRecords.values();
  }

  get openCount(): number {
    return this.openRecords.size;
  }

  get endedCount(): number {
    return this.ended.length;
  }

  /** Oldest first: ended ones (by end), then open ones (by opening). `testId` null = every scope. */
  list(testId: string | null, state: SessionStateFilter): SessionRecord[] {
    const inScope = (r: SessionRecord) => testId === null || r.testId === testId;
    const ended = state === 'open' ? [] : this.ended.filter(inScope);
    const open = state === 'ended' ? [] : [...this.openRecords.values()].filter(inScope);
    return [...ended, ...open];
  }

  /** The session `id` in scope `testId` (null = any), or AdminError ihm4004. */
  get(id: string, testId: string | null): SessionRecord {
    const record = this.openRecords.get(id) ?? this.ended.find((r) => r.id === id);
    if (record === undefined || (testId !== null && record.testId !== testId)) {
      throw new AdminError('ihm4004', `No session ${JSON.stringify(id)}${testId === null ? '' : ` in test ${JSON.stringify(testId)}`}: it never opened, or ended too long ago to be listed (keepEndedSessions). GET /__ih/sessions lists them.`);
    }
    return record;
  }

  /** Forget the ended sessions of scope `testId` (null = all); returns how many. */
  forgetEnded(testId: string | null): number {
    const before = this.ended.length;
    this.ended = testId === null ? [] : this.ended.filter((r) => r.testId !== testId);
    return before - this.ended.length;
  }
}
