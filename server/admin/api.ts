/**
 * The admin API as typed methods: one interface for the in-process server (`server.admin`) and for a
 * server in another process (`connectAdmin(url)`, admin/client.ts), so a test helper works with
 * either. Every method resolves with the body the HTTP route answers (docs/control-plane.md), and
 * rejects with an `AdminError` carrying the same code and message.
 */
import type {
  AdminStatus,
  Defaults,
  DefaultsRequest,
  Fault,
  InjectResult,
  JournalKind,
  JournalPage,
  QueueState,
  ResetResult,
  SessionDetail,
  SessionSummary,
  WaitResult,
} from '../types/generated.js';

/** Which journal entries; every field given must match (lists: any of). */
export interface JournalQuery {
  /** A session's id (its correlation id). */
  session?: string;
  /** The scope: only this test's entries (and, on a remote server, the test id sent with the call). */
  testId?: string | null;
  kind?: JournalKind | readonly JournalKind[];
  direction?: 'in' | 'out';
  /** Envelope types (signal.detected, error, …) or in-frame types (binary, session.config, close, …). */
  type?: string | readonly string[];
  code?: string | readonly string[];
  signalType?: string | readonly string[];
  /** Only entries with a greater seq (default 0: everything the journal still holds). */
  since?: number;
  /** At most this many entries (default 1000, at most 10000). */
  limit?: number;
}

export interface WaitQuery extends Omit<JournalQuery, 'limit'> {
  /** Give up after this many ms of real time (default 30000, at most 300000): AdminError ihm4008. */
  timeoutMs?: number;
}

/** Options of the calls that act within a scope. */
export interface Scoped {
  testId?: string | null;
}

export interface QueueFaultsRequest extends Scoped {
  /** `sessions`: the next stream sessions; `uploads`: the next uploads. */
  target: 'sessions' | 'uploads';
  faults: Fault | readonly Fault[];
  /** How many sessions (or uploads) each get the faults; default 1. */
  count?: number;
}

export interface AdminApi {
  /** GET /__ih/ */
  status(): Promise<AdminStatus>;
  /** GET /__ih/sessions: open and recently ended sessions, oldest first. */
  sessions(query?: Scoped & { state?: 'open' | 'ended' | 'all' }): Promise<SessionSummary[]>;
  /** GET /__ih/sessions/{id} */
  session(id: string, options?: Scoped): Promise<SessionDetail>;
  /** GET /__ih/journal */
  journal(query?: JournalQuery): Promise<JournalPage>;
  /** GET /__ih/journal/wait: the first matching entry after `since`, already there or yet to come. */
  waitFor(query: WaitQuery): Promise<WaitResult>;
  /** DELETE /__ih/journal: the scope's entries (every entry without a test id). */
  clearJournal(options?: Scoped): Promise<{ cleared: number }>;
  /** POST /__ih/sessions/{id}/inject */
  inject(sessionId: string, faults: Fault | readonly Fault[], options?: Scoped): Promise<InjectResult>;
  /** POST /__ih/queue/sessions or /__ih/queue/uploads */
  queueFaults(request: QueueFaultsRequest): Promise<QueueState>;
  /** GET /__ih/queue */
  queue(options?: Scoped): Promise<QueueState>;
  /** DELETE /__ih/queue */
  clearQueue(options?: Scoped): Promise<QueueState>;
  /** GET /__ih/defaults */
  defaults(options?: Scoped): Promise<Defaults>;
  /** POST /__ih/defaults */
  setDefaults(change: DefaultsRequest, options?: Scoped): Promise<Defaults>;
  /** POST /__ih/reset: the scope back to its start-up state (without a test id: everything). Open sessions are left alone. */
  reset(options?: Scoped): Promise<ResetResult>;
  /** GET /metrics: the Prometheus text. */
  metrics(): Promise<string>;
}
