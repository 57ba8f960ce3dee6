/**
 * One `/v1/stream/analyze` session as an explicit state machine (PROTOCOL 3).
 *
 *   open ──session.close──▶ closing ──drained──▶ ended (session.ended, close 1000)
 *     │                        │
 *     ├─ idle / max duration ──┴─▶ ended (error ih6003 / ih6004, close with the configured code)
 *     └─ client closed / server shutdown ───▶ ended (nothing more is sent)
 *
 * Invariants: `session.ready` is the first frame and is sent once; nothing is sent in `ended`;
 * analysis results leave in window order although windows are "processed" concurrently; every
 * `signal.detected` is matched by a `signal.ended` before `session.ended`.
 */
import type { Clock, TimerHandle } from '../clock.js';
import type { Random } from '../random.js';
import type { ErrorCode } from '../errors.js';
import { ERROR_TABLE } from '../errors.js';
import type { ServerOptions } from '../options.js';
import type { Scenario } from '../types/generated.js';
import { MediaTimeline } from '../media/timeline.js';
import { INCLUDE_QUALITY_OVERALL, INCLUDE_QUALITY_TIMELINE, WindowAnalysis, type AnalysisEvent, type Window } from '../analysis/index.js';
import { assertValidServerEvent, parseClientTextFrame } from '../validation.js';
import { envelope, errorData, type Envelope } from './envelope.js';

/** Include values the emulated service understands; others are ignored (PROTOCOL 3.2). */
export const SUPPORTED_INCLUDE: readonly string[] = [INCLUDE_QUALITY_OVERALL, INCLUDE_QUALITY_TIMELINE];

/** What a session needs from its connection. Only the app module knows it is a `ws` socket. */
export interface SessionTransport {
  send(text: string): void;
  close(code: number, reason: string): void;
  /** Run `fn`, whose sends may be written to the network together (one write instead of one per frame). */
  batch?(fn: () => void): void;
}

export interface SessionLogger {
  error(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export interface SessionDeps {
  options: ServerOptions;
  scenario: Scenario;
  clock: Clock;
  /** This session's own seeded generator (processing jitter). */
  random: Random;
  correlationId: string;
  transport: SessionTransport;
  logger: SessionLogger;
  /** Called with every envelope sent, after it is written (for the programmatic API and benchmarks). */
  onSend?: (event: Envelope) => void;
  /** Called as each window's results are emitted; `lagMs` = emit time − time its processing was due. */
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

/** Why a session ended; 'client_shutdown' is the only graceful one. 'protocol_error': the WebSocket layer closed it (1002, 1007, 1009). */
export type EndReason =
  | 'client_shutdown'
  | 'client_disconnected'
  | 'protocol_error'
  | 'idle_timeout'
  | 'max_duration'
  | 'quota_exhausted'
  | 'server_shutdown'
  | 'internal_error';

/** Counters exposed to the programmatic API and logged at the end. */
export interface SessionStats {
  binaryMessages: number;
  rejectedMessages: number;
  bytesReceived: number;
  /** Session-cumulative seconds of accepted media. */
  mediaSeconds: number;
  windowsAnalyzed: number;
  eventsSent: number;
  configFrames: number;
}

/** Effective limits: the server's options, overridden by the scenario's `limits`. */
export interface SessionLimits {
  idleTimeoutSeconds: number;
  maxDurationSeconds: number;
  maxSegmentBytes: number;
  minSegmentSeconds: number;
}

export function sessionLimits(options: ServerOptions, scenario: Scenario): SessionLimits {
  const l = scenario.limits ?? {};
  return {
    idleTimeoutSeconds: l.idle_timeout_seconds ?? options.idleTimeoutSeconds,
    maxDurationSeconds: l.max_duration_seconds ?? options.maxDurationSeconds,
    maxSegmentBytes: l.max_segment_size_bytes ?? options.maxSegmentBytes,
    minSegmentSeconds: l.min_segment_duration_seconds ?? options.minSegmentSeconds,
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
    mediaSeconds: 0,
    windowsAnalyzed: 0,
    eventsSent: 0,
    configFrames: 0,
  };

  private include: string[] = [];
  private readonly media: MediaTimeline;
  private readonly analysis: WindowAnalysis;
  /** Windows handed to the (simulated) model, in order; `done` once their processing time passed. */
  private readonly inFlight: { window: Window; dueAt: number; done: boolean; timer: TimerHandle | undefined }[] = [];
  private idleTimer: TimerHandle | undefined;
  /** Clock time of the last binary message (or of the start). */
  private lastActivityAt = 0;
  private maxDurationTimer: TimerHandle | undefined;
  private drainTimer: TimerHandle | undefined;
  /** Clock time by which a graceful close must be over (session.closing's max_drain_seconds). */
  private drainDeadline = Infinity;
  private drainDeadlinePassed = false;
  private tailStarted = false;

  constructor(private readonly deps: SessionDeps) {
    this.correlationId = deps.correlationId;
    this.limits = sessionLimits(deps.options, deps.scenario);
    this.media = new MediaTimeline({
      minSegmentSeconds: this.limits.minSegmentSeconds,
      toleranceSeconds: deps.options.segmentToleranceSeconds,
      acceptContinuation: deps.options.acceptContinuation,
      maxMessageSeconds: this.limits.maxDurationSeconds,
    });
    this.analysis = new WindowAnalysis({
      scenario: deps.scenario,
      windowSeconds: deps.options.windowSeconds,
      hopSeconds: deps.options.windowHopSeconds,
      qualityCadenceSeconds: deps.options.qualityCadenceSeconds,
    });
  }

  /** Announce the session (`session.ready`) and arm the timeouts. */
  start(): void {
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
      // As observed live: the session opens, then the quota check refuses it (error, close 4029).
      this.sendError('ih3003', null, 'The usage quota of this account is exhausted. No video can be analyzed.');
      this.end('quota_exhausted');
      this.deps.transport.close(ERROR_TABLE.ih3003.closeCode, ERROR_TABLE.ih3003.title);
      return;
    }
    this.noteActivity();
    this.maxDurationTimer = this.setTimer(() => this.terminate('ih6004', 'max_duration'), this.limits.maxDurationSeconds * 1000);
  }

  /** A text frame from the client: a session config frame or `{"type":"session.close"}`. */
  onText(text: string): void {
    switch (this.current) {
      case 'open':
        break;
      case 'closing':
        this.sendError('ih6001', null, 'session.close was already received: the session is draining and accepts no more text frames.');
        return;
      case 'ended':
        return;
      default:
        assertNever(this.current);
    }
    const parsed = parseClientTextFrame(text);
    if (parsed.kind === 'close') {
      this.beginGracefulClose();
      return;
    }
    if (parsed.kind === 'invalid') {
      this.sendError('ih6001', null, `Invalid session config frame: ${parsed.problem}`);
      return;
    }
    const { frame } = parsed;
    this.include = [...new Set(frame.include ?? [])].filter((v) => SUPPORTED_INCLUDE.includes(v));
    this.stats.configFrames++;
    this.send('session.updated', { include: [...this.include], goal_dimensions: frame.goal_dimensions ?? null });
  }

  /** A binary frame: one video segment. `segment` in errors is its 1-based index. */
  onBinary(bytes: Uint8Array): void {
    if (this.current === 'ended') return;
    const segment = ++this.stats.binaryMessages;
    this.stats.bytesReceived += bytes.byteLength;
    if (this.current === 'closing') {
      this.reject('ih6001', segment, 'session.close was already received: no more video is accepted on this session.');
      return;
    }
    this.noteActivity();
    if (bytes.byteLength > this.limits.maxSegmentBytes) {
      this.reject('ih6002', segment, `WebSocket message too large: ${bytes.byteLength} bytes. Individual video chunks must not exceed ${this.limits.maxSegmentBytes} bytes (max_segment_size_bytes).`);
      return;
    }
    if (bytes.byteLength === 0) {
      this.reject('ih5004', segment, 'Empty binary message: a video segment must hold at least 1 byte (min_segment_size_bytes).');
      return;
    }
    const verdict = this.media.push(bytes);
    if (!verdict.ok) {
      this.reject(verdict.code, segment, verdict.message);
      return;
    }
    this.stats.mediaSeconds = this.media.mediaEnd;
    for (const window of this.analysis.due(this.media.mediaEnd)) this.dispatch(window);
  }

  /** The connection closed (client close, drop, or a WebSocket-layer error): cancel everything, send nothing more. */
  onClientClosed(reason: Extract<EndReason, 'client_disconnected' | 'protocol_error'> = 'client_disconnected'): void {
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
    this.end('internal_error');
    this.deps.transport.close(ERROR_TABLE.ih1001.closeCode, 'internal error');
  }

  /** Server shutdown: close politely with 1001 (going away). */
  shutdown(): void {
    if (this.current === 'ended') return;
    this.end('server_shutdown');
    this.deps.transport.close(1001, 'server shutting down');
  }

  private beginGracefulClose(): void {
    this.enter('closing');
    // The client asked to end: neither idleness nor the maximum duration may cut the drain short;
    // max_drain_seconds bounds it instead.
    this.deps.clock.clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    this.deps.clock.clearTimeout(this.maxDurationTimer);
    const { maxDrainSeconds } = this.deps.options;
    this.send('session.closing', { max_drain_seconds: maxDrainSeconds });
    // If the model does not drain in time, stop waiting for it: complete what is in flight at once,
    // so every detected signal still ends before session.ended.
    this.drainDeadline = this.deps.clock.now() + maxDrainSeconds * 1000;
    this.drainTimer = this.setTimer(() => this.forceDrain(), maxDrainSeconds * 1000);
    this.releaseCompleted();
  }

  private forceDrain(): void {
    this.drainDeadlinePassed = true;
    for (const entry of this.inFlight) {
      this.deps.clock.clearTimeout(entry.timer);
      entry.done = true;
    }
    this.releaseCompleted();
  }

  /** Hand a due window to the simulated model: it completes after ratio x window length. */
  private dispatch(window: Window): void {
    const { processingRatio, processingJitter } = this.deps.options;
    const spread = processingJitter > 0 ? 1 + processingJitter * (2 * this.deps.random.next() - 1) : 1;
    const delayMs = processingRatio * (window.end - window.start) * 1000 * spread;
    const entry: (typeof this.inFlight)[number] = { window, dueAt: this.deps.clock.now() + delayMs, done: false, timer: undefined };
    this.inFlight.push(entry);
    if (delayMs === 0) {
      // Instant mode (processingRatio 0): no timer, so tests need not advance a virtual clock.
      entry.done = true;
      this.releaseCompleted();
      return;
    }
    entry.timer = this.setTimer(() => {
      entry.done = true;
      entry.timer = undefined;
      this.releaseCompleted();
    }, delayMs);
  }

  /** Emit results of completed windows strictly in window order; drain when closing. */
  private releaseCompleted(): void {
    while (this.inFlight.length > 0 && this.inFlight[0]!.done && this.current !== 'ended') {
      const { window, dueAt } = this.inFlight.shift()!;
      this.emitAll(this.analysis.analyze(window, this.include));
      this.stats.windowsAnalyzed++;
      this.deps.onWindowEmitted?.(this.deps.clock.now() - dueAt);
    }
    if (this.current === 'closing' && this.inFlight.length === 0) this.analyzeTail();
  }

  /**
   * After `session.close`, once every in-flight window is out: analyze the final partial window,
   * wait its processing time, then emit its events, the closing `signal.ended`s and `session.ended`.
   */
  private analyzeTail(): void {
    if (this.tailStarted) return;
    this.tailStarted = true;
    this.deps.clock.clearTimeout(this.drainTimer);
    const { windows, events } = this.analysis.finish(this.media.mediaEnd, this.include);
    const processingMs = windows.reduce((ms, w) => ms + this.deps.options.processingRatio * (w.end - w.start) * 1000, 0);
    const delayMs = this.drainDeadlinePassed ? 0 : Math.max(0, Math.min(processingMs, this.drainDeadline - this.deps.clock.now()));
    const emitTail = () => {
      this.stats.windowsAnalyzed += windows.length;
      this.emitAll(events);
      this.finishGracefulClose();
    };
    if (delayMs === 0) emitTail();
    else this.drainTimer = this.setTimer(emitTail, delayMs);
  }

  /** Last step of a graceful close. */
  private finishGracefulClose(): void {
    if (this.current !== 'closing') return;
    this.send('session.ended', { reason: 'client_shutdown' });
    this.end('client_shutdown');
    this.deps.transport.close(1000, 'session ended');
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
    this.end(reason);
    const closeCode = code === 'ih6003' ? this.deps.options.idleCloseCode : this.deps.options.maxDurationCloseCode;
    this.deps.transport.close(closeCode, ERROR_TABLE[code].title);
  }

  private end(reason: EndReason): void {
    this.enter('ended');
    this.endReason = reason;
    const { clock } = this.deps;
    clock.clearTimeout(this.idleTimer);
    clock.clearTimeout(this.maxDurationTimer);
    clock.clearTimeout(this.drainTimer);
    for (const entry of this.inFlight) clock.clearTimeout(entry.timer);
    this.inFlight.length = 0;
    this.deps.logger.info({ reason, ...this.stats }, 'stream session ended');
    this.deps.onEnded?.(this);
  }

  /**
   * Media arrived: push the idle deadline back. The timer is not re-armed per message (that would be
   * two timer operations per chunk on the ingest path); when it fires early it re-arms itself for the rest.
   */
  private noteActivity(): void {
    this.lastActivityAt = this.deps.clock.now();
    if (this.idleTimer === undefined) this.armIdleTimer(this.limits.idleTimeoutSeconds * 1000);
  }

  private armIdleTimer(ms: number): void {
    this.idleTimer = this.setTimer(() => {
      this.idleTimer = undefined;
      const idleMs = this.limits.idleTimeoutSeconds * 1000;
      const quietFor = this.deps.clock.now() - this.lastActivityAt;
      if (quietFor >= idleMs) this.terminate('ih6003', 'idle_timeout');
      else this.armIdleTimer(idleMs - quietFor);
    }, ms);
  }

  /** The one place the state changes; an illegal edge is a bug in ih-mock, reported as ih1001. */
  private enter(next: SessionState): void {
    if (!LEGAL_TRANSITIONS[this.current].includes(next)) throw new Error(`illegal session transition ${this.current} -> ${next}`);
    this.current = next;
  }

  /** Where the session is in its life (read-only: only `enter` changes it). */
  get state(): SessionState {
    return this.current;
  }

  /** Every timer of the session goes through here, so a bug in a callback ends only this session (ih1001). */
  private setTimer(fn: () => void, ms: number): TimerHandle {
    return this.deps.clock.setTimeout(() => {
      try {
        fn();
      } catch (err) {
        this.fail(err);
      }
    }, ms);
  }

  private reject(code: ErrorCode, segment: number, message: string): void {
    this.stats.rejectedMessages++;
    this.deps.logger.debug({ code, segment }, 'segment rejected');
    this.sendError(code, segment, message);
  }

  private sendError(code: ErrorCode, segment: number | null, message: string): void {
    this.send('error', errorData(code, segment, message));
  }

  /** A window's events go out together: one network write for all of them. */
  private emitAll(events: readonly AnalysisEvent[]): void {
    const sendAll = () => {
      for (const event of events) this.send(event.type, event.data);
    };
    if (events.length > 1 && this.deps.transport.batch) this.deps.transport.batch(sendAll);
    else sendAll();
  }

  private send(type: string, data: unknown): void {
    if (this.current === 'ended') return;
    const env = envelope(type, data, this.correlationId, this.deps.clock);
    if (this.deps.options.strictEvents) assertValidServerEvent(env);
    this.deps.transport.send(JSON.stringify(env));
    this.stats.eventsSent++;
    this.deps.onSend?.(env);
  }
}

function assertNever(value: never): never {
  throw new Error(`unexpected state ${String(value)}`);
}
