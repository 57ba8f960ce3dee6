/**
 * One `/v1/stream/analyze` session as an explicit state machine (docs/protocol.md §3).
 *
 *   open ──session.close──▶ closing ──drained──▶ ended (session.ended, close 1000)
 *     │                        │
 *     ├─ idle / max duration ──┴─▶ ended (error ih6003 / ih6004, close with the configured code)
 *     ├─ scripted fault (error+close, close, disconnect, quota) ─▶ ended
 *     └─ client closed / server shutdown ───▶ ended (nothing more is sent)
 *
 * Invariants: `session.ready` is the first frame and is sent once (unless a missing_scope fault
 * refuses the session instead); nothing is sent in `ended`; analysis results leave in window order
 * although windows are processed concurrently (window-pipeline.ts); every `signal.detected` is
 * matched by a `signal.ended` before `session.ended`; received = analyzed + dropped seconds once a
 * graceful close has drained.
 */
import type { Clock, TimerHandle } from '../clock.js';
import { SEND_QUEUE_FULL_CLOSE_CODE } from '../close-codes.js';
import type { Random } from '../random.js';
import type { ErrorCode } from '../errors.js';
import { ERROR_TABLE } from '../errors.js';
import type { ServerOptions } from '../options.js';
import type { Fault, Scenario } from '../types/generated.js';
import { MediaTimeline } from '../media/timeline.js';
import { INCLUDE_QUALITY_OVERALL, INCLUDE_QUALITY_TIMELINE, WindowAnalysis, type AnalysisEvent, type Window } from '../analysis/index.js';
import { assertValidEnvelopeShape, assertValidServerEvent, parseClientTextFrame } from '../validation.js';
import { envelope, errorData, type Envelope } from './envelope.js';
import { FaultSchedule } from './faults.js';
import { Outbound, type SessionTransport } from './outbound.js';
import type { InboundType, InboundVerdict, SessionTap } from './session-tap.js';
import type { SessionTiming } from './timing.js';
import { WindowPipeline, type MediaRange } from './window-pipeline.js';
import type { WorkerPool } from './worker-pool.js';

export type { SessionTransport };

/** Include values the emulated service understands; others are ignored (docs/protocol.md §3.2). */
export const SUPPORTED_INCLUDE: readonly string[] = [INCLUDE_QUALITY_OVERALL, INCLUDE_QUALITY_TIMELINE];

export interface SessionLogger {
  error(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
  /** pino's: lets the session skip building debug lines nobody will see. */
  isLevelEnabled?(level: string): boolean;
}

export interface SessionDeps {
  options: ServerOptions;
  scenario: Scenario;
  /** How the simulated model spends time (resolved from options, scenario and connection). */
  timing: SessionTiming;
  /** Model capacity shared with every other session. */
  pool: WorkerPool;
  clock: Clock;
  /** This session's own seeded generator (processing jitter, random faults). */
  random: Random;
  correlationId: string;
  transport: SessionTransport;
  logger: SessionLogger;
  /** Called with every envelope sent, after it is written (for the programmatic API and benchmarks). */
  onSend?: (event: Envelope) => void;
  /** Told about every frame in both directions (the admin journal and metrics); see session-tap.ts. */
  tap?: SessionTap;
  /** Faults on top of the scenario's (queued through the admin API for this session). */
  extraFaults?: readonly Fault[];
  /** Called as each window's results are emitted; `lagMs` = emit time − when an idle server would have emitted them (due + nominal processing time). */
  onWindowEmitted?: (lagMs: number) => void;
  /** Called once when the session reaches `ended`. */
  onEnded?: (session: StreamSession) => void;
}

export type SessionState = 'open' | 'closing' | 'ended';

/** The only transitions a session may make (see the diagram above). */
const LEGAL_TRANSITIONS: Readonly<Record<SessionState, readonly SessionState[]>> = {
  open: ['closing', 'ended'],
  closing: ['ended'],
  ended: [],
};

/**
 * Why a session ended; 'client_shutdown' is the only graceful one. 'protocol_error': the WebSocket
 * layer closed it (1002, 1007, 1009). 'client_too_slow': the client stopped reading and its send
 * queue passed `wsMaxBufferedBytes` (close 1008).
 */
export type EndReason =
  | 'client_shutdown'
  | 'client_disconnected'
  | 'protocol_error'
  | 'client_too_slow'
  | 'idle_timeout'
  | 'max_duration'
  | 'quota_exhausted'
  | 'missing_scope'
  | 'scripted_fault'
  | 'server_shutdown'
  | 'internal_error';

/** Counters exposed to the programmatic API and logged at the end. */
export interface SessionStats {
  binaryMessages: number;
  rejectedMessages: number;
  bytesReceived: number;
  /** Session-cumulative seconds of accepted media. */
  receivedSeconds: number;
  /** Seconds inside analyzed windows: the billable seconds. */
  analyzedSeconds: number;
  /** Seconds shed and covered by no analyzed window: announced in coverage.dropped unless announceDropped is off (not billed). */
  droppedSeconds: number;
  windowsAnalyzed: number;
  /** Windows shed (including redundant ones, whose seconds other windows covered). */
  windowsShed: number;
  eventsSent: number;
  configFrames: number;
}

/** Effective limits: the server's options, overridden by the scenario's `limits`. */
export interface SessionLimits {
  idleTimeoutSeconds: number;
  maxDurationSeconds: number;
  maxSegmentBytes: number;
  minSegmentSeconds: number;
  /** Video codecs accepted (ih5004 for others); not announced in session.ready. */
  videoCodecs: readonly string[];
}

export function sessionLimits(options: ServerOptions, scenario: Scenario): SessionLimits {
  const l = scenario.limits ?? {};
  return {
    idleTimeoutSeconds: l.idle_timeout_seconds ?? options.idleTimeoutSeconds,
    maxDurationSeconds: l.max_duration_seconds ?? options.maxDurationSeconds,
    maxSegmentBytes: l.max_segment_size_bytes ?? options.maxSegmentBytes,
    minSegmentSeconds: l.min_segment_duration_seconds ?? options.minSegmentSeconds,
    videoCodecs: l.video_codecs ?? options.videoCodecs,
  };
}

export class StreamSession {
  private current: SessionState = 'open';
  endReason: EndReason | undefined;
  readonly correlationId: string;
  readonly limits: SessionLimits;
  readonly stats: SessionStats = {
    binaryMessages: 0,
    rejectedMessages: 0,
    bytesReceived: 0,
    receivedSeconds: 0,
    analyzedSeconds: 0,
    droppedSeconds: 0,
    windowsAnalyzed: 0,
    windowsShed: 0,
    eventsSent: 0,
    configFrames: 0,
  };

  private include: readonly string[] = NO_INCLUDE;
  private readonly media: MediaTimeline;
  private readonly analysis: WindowAnalysis;
  private readonly pipeline: WindowPipeline;
  private readonly faults: FaultSchedule;
  private readonly out: Outbound;
  /** Timers of `wall_seconds` faults (made with the first: most sessions have none). */
  private faultTimers: TimerHandle[] | undefined;
  private idleTimer: TimerHandle | undefined;
  /** Clock time of the last binary message, of the start, or (unless idleWhileAnalyzing) of the last time the model had nothing left to do. */
  private lastActivityAt = 0;
  private maxDurationTimer: TimerHandle | undefined;
  private drainTimer: TimerHandle | undefined;
  /** Clock time session.close arrived: the final window's analysis starts then. */
  private closeRequestedAt = 0;
  /** Clock time by which a graceful close must be over (session.closing's max_drain_seconds). */
  private drainDeadline = Infinity;
  private drainDeadlinePassed = false;
  private tailStarted = false;
  /** Whether debug lines (each event sent, each segment's verdict) are wanted: decided once, not per frame. */
  private readonly debugLog: boolean;

  constructor(private readonly deps: SessionDeps) {
    this.correlationId = deps.correlationId;
    this.limits = sessionLimits(deps.options, deps.scenario);
    this.media = new MediaTimeline({
      minSegmentSeconds: this.limits.minSegmentSeconds,
      toleranceSeconds: deps.options.segmentToleranceSeconds,
      acceptContinuation: deps.options.acceptContinuation,
      maxMessageSeconds: this.limits.maxDurationSeconds,
      videoCodecs: this.limits.videoCodecs,
    });
    this.analysis = new WindowAnalysis({
      scenario: deps.scenario,
      windowSeconds: deps.options.windowSeconds,
      hopSeconds: deps.options.windowHopSeconds,
      qualityCadenceSeconds: deps.options.qualityCadenceSeconds,
    });
    this.pipeline = new WindowPipeline({
      clock: deps.clock,
      random: deps.random.fork('processing'),
      pool: deps.pool,
      timing: deps.timing,
      hopSeconds: deps.options.windowHopSeconds,
      fail: (err) => this.fail(err),
      emitWindow: (window, lagMs) => this.emitWindow(window, lagMs),
      announceDropped: (range) => this.announceDropped(range),
      stopped: () => this.isEnded(),
      drained: () => this.onDrained(),
    });
    this.faults = new FaultSchedule(deps.extraFaults?.length ? [...(deps.scenario.faults ?? []), ...deps.extraFaults] : (deps.scenario.faults ?? []), deps.random.fork('faults'));
    this.debugLog = deps.logger.isLevelEnabled?.('debug') ?? false;
    this.out = new Outbound(deps.transport, deps.clock, (err) => this.fail(err));
  }

  /** Announce the session (`session.ready`) and arm the timeouts and timed faults. */
  start(): void {
    if (this.faults.refusesScope) {
      // A scripted missing stream scope: what the app does for a credential without it (docs/protocol.md §1).
      this.sendError('ih2003', null, missingScopeMessage('API key'));
      this.endAndClose('missing_scope', ERROR_TABLE.ih2003.closeCode, ERROR_TABLE.ih2003.title);
      return;
    }
    this.send('session.ready', {
      session_idle_timeout_seconds: this.limits.idleTimeoutSeconds,
      session_max_duration_seconds: this.limits.maxDurationSeconds,
      max_segment_duration_seconds: null,
      min_segment_duration_seconds: this.limits.minSegmentSeconds,
      min_segment_size_bytes: 1,
      max_segment_size_bytes: this.limits.maxSegmentBytes,
      supported_session_config_options: { include: [...SUPPORTED_INCLUDE], goal_dimensions: null },
    });
    if (this.deps.scenario.quota_exhausted) {
      this.quotaExhausted();
      return;
    }
    this.noteActivity();
    this.maxDurationTimer = this.deps.clock.setTimeout(this.onMaxDuration, this.limits.maxDurationSeconds * 1000);
    for (const [fault, ms] of this.faults.timed()) {
      (this.faultTimers ??= []).push(this.setTimer(() => this.applyFaults(this.faults.atWallTime(fault), null), ms));
    }
    this.applyFaults(this.faults.atOpen(), null);
  }

  /**
   * A text frame from the client: a session config frame or `{"type":"session.close"}`. Given as
   * bytes, it is decoded only once its size is known to be within `maxTextFrameBytes`.
   */
  onText(text: string | Buffer): void {
    const tap = this.deps.tap;
    const ignored = this.current === 'ended';
    tap?.received(false, typeof text === 'string' ? Buffer.byteLength(text) : text.byteLength, null);
    const type = this.takeText(text);
    if (!tap) return;
    if (ignored) tap.decided(type, 'ignored', null, null, null);
    else if (type === 'text' || type === 'text.invalid') tap.decided(type, 'rejected', 'ih6001', null, null);
    else tap.decided(type, 'accepted', null, null, null);
  }

  /** Carry out a text frame; returns what it was read as (`text`: not read). */
  private takeText(text: string | Buffer): Exclude<InboundType, 'binary'> {
    switch (this.current) {
      case 'open':
        break;
      case 'closing':
        this.sendError('ih6001', null, 'session.close was already received: the session is draining and accepts no more text frames.');
        return 'text';
      case 'ended':
        return 'text';
      default:
        assertNever(this.current);
    }
    const bytes = typeof text === 'string' ? Buffer.byteLength(text) : text.byteLength;
    const limit = this.deps.options.maxTextFrameBytes;
    if (bytes > limit) {
      this.sendError('ih6001', null, `Text frame too large: ${bytes} bytes; a text frame (session config or session.close) may hold at most ${limit} bytes. It was not read.`);
      return 'text';
    }
    const parsed = parseClientTextFrame(typeof text === 'string' ? text : text.toString('utf8'));
    if (parsed.kind === 'close') {
      this.beginGracefulClose();
      return 'session.close';
    }
    if (parsed.kind === 'invalid') {
      this.sendError('ih6001', null, `Invalid session config frame: ${parsed.problem}`);
      return 'text.invalid';
    }
    const { frame } = parsed;
    this.include = [...new Set(frame.include ?? [])].filter((v) => SUPPORTED_INCLUDE.includes(v));
    this.stats.configFrames++;
    this.send('session.updated', { include: [...this.include], goal_dimensions: frame.goal_dimensions ?? null });
    return 'session.config';
  }

  /** A binary frame: one video segment. `segment` in errors is its 1-based index. */
  onBinary(bytes: Uint8Array): void {
    const tap = this.deps.tap;
    if (this.current === 'ended') {
      tap?.received(true, bytes.byteLength, null);
      tap?.decided('binary', 'ignored', null, null, null);
      return;
    }
    const segment = ++this.stats.binaryMessages;
    this.stats.bytesReceived += bytes.byteLength;
    tap?.received(true, bytes.byteLength, segment);
    const mediaBefore = this.media.mediaEnd;
    const outcome = this.takeSegment(segment, bytes);
    if (tap === undefined && !this.debugLog) return;
    const verdict: InboundVerdict = outcome === null ? 'accepted' : outcome === IGNORED ? 'ignored' : 'rejected';
    const code = outcome === null || outcome === IGNORED ? null : outcome;
    const mediaSeconds = this.media.mediaEnd - mediaBefore;
    tap?.decided('binary', verdict, code, this.media.mediaEnd, mediaSeconds);
    if (this.debugLog) this.deps.logger.debug({ segment, bytes: bytes.byteLength, verdict, code, mediaSeconds, mediaEnd: this.media.mediaEnd }, 'segment');
  }

  /** Carry out binary message `segment`: null when its media was accepted, else the code it was refused with, or IGNORED when a fault ended the session first. */
  private takeSegment(segment: number, bytes: Uint8Array): ErrorCode | null | typeof IGNORED {
    this.applyFaults(this.faults.onSegment(segment), segment);
    if (this.isEnded()) return IGNORED;
    if (this.current === 'closing') {
      return this.reject('ih6001', segment, 'session.close was already received: no more video is accepted on this session.');
    }
    this.noteActivity();
    if (bytes.byteLength > this.limits.maxSegmentBytes) {
      return this.reject('ih6002', segment, `WebSocket message too large: ${bytes.byteLength} bytes. Individual video chunks must not exceed ${this.limits.maxSegmentBytes} bytes (max_segment_size_bytes).`);
    }
    if (bytes.byteLength === 0) {
      return this.reject('ih5004', segment, 'Empty binary message: a video segment must hold at least 1 byte (min_segment_size_bytes).');
    }
    const verdict = this.media.push(bytes);
    if (!verdict.ok) return this.reject(verdict.code, segment, verdict.message);
    this.stats.receivedSeconds = this.media.mediaEnd;
    this.applyFaults(this.faults.onMedia(this.media.mediaEnd), null);
    if (this.isEnded()) return null;
    for (const window of this.analysis.due(this.media.mediaEnd)) {
      this.pipeline.add(window);
      if (this.isEnded()) break; // a windows_sent fault ended the session: the rest is never analyzed
    }
    return null;
  }

  /**
   * Faults from the admin API, on this live session: those without a trigger are carried out now,
   * the others are armed like a scenario's (`wall_seconds` from now). A fault that throws ends this
   * session only (ih1001), like any bug in it.
   */
  inject(faults: readonly Fault[]): { applied: number; armed: number } {
    if (this.isEnded()) return { applied: 0, armed: 0 };
    const { due, timed } = this.faults.add(faults);
    for (const [fault, ms] of timed) (this.faultTimers ??= []).push(this.setTimer(() => this.applyFaults(this.faults.atWallTime(fault), null), ms));
    try {
      this.applyFaults(due, null);
    } catch (err) {
      this.fail(err);
    }
    return { applied: due.length, armed: faults.filter((f) => f.when !== undefined).length };
  }

  /** The connection closed (client close, drop, or a WebSocket-layer error): cancel everything, send nothing more. */
  onClientClosed(reason: Extract<EndReason, 'client_disconnected' | 'protocol_error'> = 'client_disconnected'): void {
    // Whatever is still queued for the client (a throttled close, say) can no longer reach it.
    this.out.dispose();
    if (this.current === 'ended') return;
    this.end(reason);
  }

  /**
   * A bug in ih-mock surfaced while serving this session: report ih1001 and close with 1011. Only
   * this session is affected.
   */
  fail(err: unknown): void {
    if (this.current === 'ended') return;
    this.deps.logger.error({ err }, 'internal error in stream session');
    try {
      this.sendError('ih1001', null, 'Internal error in ih-mock. Please report it with the log line of this correlation id.');
    } catch {
      // The envelope itself could not be sent; close anyway.
    }
    this.endAndClose('internal_error', ERROR_TABLE.ih1001.closeCode, 'internal error');
  }

  /** Server shutdown: close politely with 1001 (going away). */
  shutdown(): void {
    if (this.current === 'ended') return;
    this.end('server_shutdown');
    this.out.dispose(); // going away now: frames still throttled are dropped, not sent after the close
    this.deps.transport.close(1001, 'server shutting down');
  }

  /** Seconds shed and announced, in order (the ranges of every coverage.dropped sent or due). */
  get droppedRanges(): readonly MediaRange[] {
    return this.pipeline.droppedRanges;
  }

  private beginGracefulClose(): void {
    this.enter('closing');
    // The client asked to end: neither idleness nor the maximum duration may cut the drain short;
    // max_drain_seconds bounds it instead.
    this.deps.clock.clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    this.deps.clock.clearTimeout(this.maxDurationTimer);
    const { maxDrainSeconds } = this.deps.options;
    this.closeRequestedAt = this.deps.clock.now();
    this.send('session.closing', { max_drain_seconds: maxDrainSeconds });
    // If the model does not drain in time, stop waiting for it: complete what is in flight at once,
    // so every detected signal still ends before session.ended.
    this.drainDeadline = this.deps.clock.now() + maxDrainSeconds * 1000;
    this.drainTimer = this.setTimer(() => this.forceDrain(), maxDrainSeconds * 1000);
    this.tailIfDrained();
  }

  private forceDrain(): void {
    this.drainDeadlinePassed = true;
    this.pipeline.completeAll(); // releases everything, then calls drained() → the tail
  }

  /** The pipeline releases a window's results (in window order). */
  private emitWindow(window: Window, lagMs: number): void {
    this.emitAll(this.analysis.analyze(window, this.include));
    this.stats.windowsAnalyzed++;
    this.syncCoverage();
    this.deps.onWindowEmitted?.(lagMs);
    this.applyFaults(this.faults.onWindowsSent(this.stats.windowsAnalyzed), null);
  }

  private announceDropped(range: MediaRange): void {
    this.syncCoverage();
    if (this.deps.options.announceDropped) this.send('coverage.dropped', { ranges: [range] });
  }

  private syncCoverage(): void {
    const { coverage } = this.pipeline;
    this.stats.analyzedSeconds = coverage.analyzedSeconds;
    this.stats.droppedSeconds = coverage.droppedSeconds;
    this.stats.windowsShed = coverage.windowsShed;
  }

  /** Every due window is out: the idle countdown may start now, and a closing session analyzes its tail. */
  private onDrained(): void {
    if (!this.deps.options.idleWhileAnalyzing) this.lastActivityAt = Math.max(this.lastActivityAt, this.deps.clock.now());
    this.tailIfDrained();
  }

  /** When closing and every due window is out, analyze the tail. */
  private tailIfDrained(): void {
    if (this.current === 'closing' && this.pipeline.idle) this.analyzeTail();
  }

  /**
   * After `session.close`, once every in-flight window is out: analyze the final partial window,
   * wait its processing time, then emit its events, the closing `signal.ended`s and `session.ended`.
   */
  private analyzeTail(): void {
    if (this.tailStarted) return;
    this.tailStarted = true;
    this.deps.clock.clearTimeout(this.drainTimer);
    // A redundant window shed last is analyzed after all (its successor never came); the final
    // window obeys `shed: all` and pending drop_windows like any other.
    const revive = this.pipeline.reviveTrailingRedundant();
    const { windows, windowEvents, closing } = this.analysis.finish(this.media.mediaEnd, this.include, { revive, keep: (w) => !this.pipeline.shedsFinal(w) });
    // The final windows are known from session.close on and take their processing time from then
    // (with any slowdown), without waiting for workers; they leave after every earlier window.
    const processingMs = windows.reduce((ms, w) => ms + this.pipeline.processingMs(w), 0);
    const now = this.deps.clock.now();
    const delayMs = this.drainDeadlinePassed ? 0 : Math.max(0, Math.min(this.closeRequestedAt + processingMs, this.drainDeadline) - now);
    const emitTail = () => {
      this.stats.windowsAnalyzed += windows.length;
      const gaps = this.pipeline.closeCoverage(windows, this.media.mediaEnd);
      if (gaps.before) this.announceDropped(gaps.before);
      this.emitAll(windowEvents);
      if (gaps.after) this.announceDropped(gaps.after);
      this.syncCoverage();
      this.emitAll(closing);
      this.finishGracefulClose();
    };
    if (delayMs === 0) emitTail();
    else this.drainTimer = this.setTimer(emitTail, delayMs);
  }

  /** Last step of a graceful close. */
  private finishGracefulClose(): void {
    if (this.current !== 'closing') return;
    this.send('session.ended', { reason: 'client_shutdown' });
    this.endAndClose('client_shutdown', 1000, 'session ended');
  }

  /** Idle timeout or max duration: an error envelope, then close with the code for it. */
  private terminate(code: Extract<ErrorCode, 'ih6003' | 'ih6004'>, reason: EndReason): void {
    if (this.current === 'ended') return;
    const limit = code === 'ih6003' ? this.limits.idleTimeoutSeconds : this.limits.maxDurationSeconds;
    const message =
      code === 'ih6003'
        ? `No video received for ${limit} s (session_idle_timeout_seconds). The session is closed.`
        : `The session reached its maximum duration of ${limit} s (session_max_duration_seconds). The session is closed.`;
    this.sendError(code, null, message);
    this.endAndClose(reason, this.closeCodeFor(code), ERROR_TABLE[code].title);
  }

  /** As observed live: the session opens, then the quota check refuses it (error ih3003, close 4029). */
  private quotaExhausted(): void {
    this.sendError('ih3003', null, 'The usage quota of this account is exhausted. No video can be analyzed.');
    this.endAndClose('quota_exhausted', ERROR_TABLE.ih3003.closeCode, ERROR_TABLE.ih3003.title);
  }

  /** The close code that follows an error envelope of `code` (configurable for the timeouts). */
  private closeCodeFor(code: ErrorCode): number {
    if (code === 'ih6003') return this.deps.options.idleCloseCode;
    if (code === 'ih6004') return this.deps.options.maxDurationCloseCode;
    const spec = ERROR_TABLE[code];
    return 'closeCode' in spec ? spec.closeCode : 1011;
  }

  /** Carry out scripted faults (docs/scenarios.md). `segment`: the binary message whose arrival triggered them (segment triggers), else null. */
  private applyFaults(faults: readonly Fault[], segment: number | null): void {
    if (faults.length === 0) return; // twice per binary message, nearly always with nothing to do
    for (const fault of faults) {
      if (this.isEnded()) return;
      this.deps.logger.debug({ action: fault.action, segment }, 'scripted fault');
      switch (fault.action) {
        case 'error': {
          const code = fault.code!;
          this.sendError(code, fault.segment === undefined ? segment : fault.segment, fault.message ?? ERROR_TABLE[code].message);
          if (fault.close) this.endAndClose('scripted_fault', fault.close_code ?? this.closeCodeFor(code), fault.reason ?? ERROR_TABLE[code].title);
          break;
        }
        case 'close':
          this.endAndClose('scripted_fault', fault.close_code ?? 1000, fault.reason ?? 'scripted close');
          break;
        case 'disconnect':
          this.end('scripted_fault');
          this.out.terminate();
          break;
        case 'delay':
          this.pipeline.delayNext(fault.windows ?? 1, fault.seconds!);
          break;
        case 'drop_windows':
          this.pipeline.shedNext(fault.windows ?? 1);
          break;
        case 'quota_exhausted':
          this.quotaExhausted();
          break;
        case 'throttle':
          this.out.throttle(fault.bytes_per_second!, fault.seconds);
          break;
        case 'unknown_event':
          this.send(fault.event_type ?? 'feedback.generated', fault.data ?? { text: 'A future event type: clients must ignore types they do not know.' }, { unknownType: true });
          break;
        case 'missing_scope':
          break; // handled by start(): it replaces session.ready
        default:
          assertNever(fault.action);
      }
    }
  }

  private endAndClose(reason: EndReason, code: number, closeReason: string): void {
    this.end(reason);
    try {
      this.out.close(code, closeReason);
    } catch (err) {
      // The close frame could not be sent (the socket is gone, say): cut the connection instead.
      this.deps.logger.warn({ err }, 'close frame could not be sent; connection cut');
      this.out.terminate();
    }
  }

  private end(reason: EndReason): void {
    this.enter('ended');
    this.endReason = reason;
    const { clock } = this.deps;
    clock.clearTimeout(this.idleTimer);
    clock.clearTimeout(this.maxDurationTimer);
    clock.clearTimeout(this.drainTimer);
    for (const timer of this.faultTimers ?? []) clock.clearTimeout(timer);
    this.pipeline.cancel();
    this.syncCoverage();
    const unanalyzedSeconds = this.pipeline.undecidedSeconds(this.media.mediaEnd);
    this.deps.logger.info({ reason, ...this.stats, unanalyzedSeconds, timing: this.deps.timing.mode }, 'stream session ended');
    this.deps.onEnded?.(this);
  }

  /**
   * Media arrived: push the idle deadline back. The timer is not re-armed per message (that would be
   * two timer operations per chunk on the ingest path); when it fires early it re-arms itself for the
   * rest. Unless idleWhileAnalyzing, a session whose windows are still being analyzed is not idle: the
   * countdown restarts when the last of them is out (onDrained), so a long recording sent in one
   * message is never cut by ih6003 before its analysis ends.
   */
  private noteActivity(): void {
    this.lastActivityAt = this.deps.clock.now();
    if (this.idleTimer === undefined) this.armIdleTimer(this.limits.idleTimeoutSeconds * 1000);
  }

  private armIdleTimer(ms: number): void {
    this.idleTimer = this.deps.clock.setTimeout(this.onIdleTimer, ms);
  }

  // The two timers every session has, as callbacks made once per session rather than closures made
  // (and wrapped by setTimer) at every arming: thousands of sessions keep them for their lives.
  private readonly onIdleTimer = (): void => this.guarded(this.idleTimerFired);
  private readonly onMaxDuration = (): void => this.guarded(this.maxDurationReached);

  private idleTimerFired(): void {
    this.idleTimer = undefined;
    const idleMs = this.limits.idleTimeoutSeconds * 1000;
    const quietFor = this.deps.clock.now() - this.lastActivityAt;
    if (!this.deps.options.idleWhileAnalyzing && !this.pipeline.idle) this.armIdleTimer(idleMs);
    else if (quietFor >= idleMs) this.terminate('ih6003', 'idle_timeout');
    else this.armIdleTimer(idleMs - quietFor);
  }

  private maxDurationReached(): void {
    this.terminate('ih6004', 'max_duration');
  }

  /** The one place the state changes; an illegal edge is a bug in ih-mock, reported as ih1001. */
  private enter(next: SessionState): void {
    if (!LEGAL_TRANSITIONS[this.current].includes(next)) throw new Error(`illegal session transition ${this.current} -> ${next}`);
    this.current = next;
  }

  /** A method rather than a comparison, so TypeScript does not narrow the state across calls that may end the session. */
  private isEnded(): boolean {
    return this.current === 'ended';
  }

  /** The scenario this session runs (the server's, or the one its URL chose). */
  get scenario(): Scenario {
    return this.deps.scenario;
  }

  /** Where the session is in its life (read-only: only `enter` changes it). */
  get state(): SessionState {
    return this.current;
  }

  /** The session's other timers go through here (onIdleTimer and onMaxDuration are guarded once). */
  private setTimer(fn: () => void, ms: number): TimerHandle {
    return this.deps.clock.setTimeout(() => this.guarded(fn), ms);
  }

  /** Run a timer's work (a method of this session, or a closure); a bug in it ends only this session (ih1001). */
  private guarded(fn: (this: StreamSession) => void): void {
    try {
      fn.call(this);
    } catch (err) {
      this.fail(err);
    }
  }

  private reject(code: ErrorCode, segment: number, message: string): ErrorCode {
    this.stats.rejectedMessages++;
    this.sendError(code, segment, message);
    return code;
  }

  private sendError(code: ErrorCode, segment: number | null, message: string): void {
    this.send('error', errorData(code, segment, message));
  }

  private emitAll(events: readonly AnalysisEvent[]): void {
    for (const event of events) this.send(event.type, event.data);
  }

  /** `unknownType`: a deliberately unknown event (fault), checked only for the envelope's shape. */
  private send(type: string, data: unknown, { unknownType = false } = {}): void {
    if (this.current === 'ended') return;
    const env = envelope(type, data, this.correlationId, this.deps.clock);
    if (this.deps.options.strictEvents) {
      if (unknownType) assertValidEnvelopeShape(env);
      else assertValidServerEvent(env);
    }
    const text = JSON.stringify(env);
    this.out.send(text);
    this.stats.eventsSent++;
    this.deps.tap?.sent(env, text);
    this.deps.onSend?.(env);
    if (this.debugLog) this.deps.logger.debug(debugLineOf(env), 'event sent');
    if ((this.deps.transport.backlogBytes?.() ?? 0) > this.deps.options.wsMaxBufferedBytes) this.clientTooSlow();
  }

  /**
   * The client has stopped reading: what waits to be sent to it passed `wsMaxBufferedBytes`. Queue
   * nothing more; close with 1008 (the close frame waits behind the queue, so a client that reads
   * again still learns why; the WebSocket layer cuts one that never does).
   */
  private clientTooSlow(): void {
    this.deps.logger.warn({ backlogBytes: this.deps.transport.backlogBytes?.(), limit: this.deps.options.wsMaxBufferedBytes }, 'client not reading: send queue full, session closed');
    this.endAndClose('client_too_slow', SEND_QUEUE_FULL_CLOSE_CODE, 'send queue full: the client is not reading');
  }
}

/** The include list before any session config (shared: most sessions never send one). */
const NO_INCLUDE: readonly string[] = Object.freeze([]);

/** A binary message the session never looked at: a fault ended the session as it arrived. */
const IGNORED = Symbol('ignored');

/** The debug line of an event sent: its type and what tells events of that type apart. */
function debugLineOf(env: Envelope): object {
  const data = (env.data ?? {}) as Record<string, unknown>;
  if (env.type === 'error') return { event: env.type, code: data['code'], segment: data['segment'] };
  if (env.type.startsWith('signal.')) return { event: env.type, signal: data['signal_type'], start: data['start'], end: data['end'], probability: data['probability'] };
  if (env.type === 'engagement.updated') return { event: env.type, state: data['state'], start: data['start'] };
  if (env.type === 'coverage.dropped') return { event: env.type, ranges: data['ranges'] };
  return { event: env.type };
}

function assertNever(value: never): never {
  throw new Error(`unexpected value ${String(value)}`);
}

/** The ih2003 message for a credential without the stream scope. */
export function missingScopeMessage(credentialKind: 'API key' | 'access token'): string {
  return `This ${credentialKind} lacks the interhumanai.stream scope; request it from POST /v1/auth.`;
}
