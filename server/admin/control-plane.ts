/**
 * The control plane of one server: the journal, the session list, queued faults and defaults per
 * test scope, and the metrics (docs/control-plane.md). app.ts reports to it as sessions open, frames
 * pass and HTTP requests are answered; the admin routes (admin/routes.ts) and the programmatic API
 * (`server.admin`) call its `AdminApi` methods, which check their input with the schemas in
 * admin.schema.json and, for faults, with the rules and messages of scenario files.
 *
 * This module knows neither fastify nor ws.
 */
import { faultListProblems, scenarioFromObject, ScenarioError, type FaultDestination } from '../../scenarios/loader.js';
import type { Clock } from '../clock.js';
import type { ScenarioLibrary } from '../connection-choice.js';
import { RANDOM_SCENARIO } from '../connection-choice.js';
import type { Envelope } from '../stream/envelope.js';
import type { StreamSession } from '../stream/session.js';
import type { TimingMode } from '../stream/timing.js';
import type {
  AdminStatus,
  Defaults as DefaultsJson,
  DefaultsRequest,
  Fault,
  InjectResult,
  JournalPage,
  QueueState,
  ResetResult,
  Scenario,
  SessionDetail,
  SessionSummary,
  WaitResult,
} from '../types/generated.js';
import { validateAdminBody, type AdminSchema, type Diagnostic } from '../validation.js';
import { ServerMetrics } from '../metrics/metrics.js';
import type { AdminApi, JournalQuery, QueueFaultsRequest, Scoped, WaitQuery } from './api.js';
import { AdminError } from './errors.js';
import { AdminGuard } from './guard.js';
import { Journal, type JournalEntry, type JournalFilter, type JournalListener } from './journal.js';
import { checkJournalQuery } from './journal-query.js';
import { Scopes, type DefaultScenario, type Defaults } from './scopes.js';
import { SessionRecord, SessionRegistry, type SessionOpening } from './sessions.js';
import { checkTestId, TestIdError } from './test-scope.js';

export const ADMIN_PREFIX = '/__ih';

/** The admin routes, as GET /__ih/ lists them. */
export const ADMIN_ROUTES: readonly string[] = [
  `GET ${ADMIN_PREFIX}/`,
  `GET ${ADMIN_PREFIX}/sessions`,
  `GET ${ADMIN_PREFIX}/sessions/{id}`,
  `POST ${ADMIN_PREFIX}/sessions/{id}/inject`,
  `GET ${ADMIN_PREFIX}/journal`,
  `DELETE ${ADMIN_PREFIX}/journal`,
  `GET ${ADMIN_PREFIX}/journal/wait`,
  `GET ${ADMIN_PREFIX}/journal/stream`,
  `GET ${ADMIN_PREFIX}/queue`,
  `DELETE ${ADMIN_PREFIX}/queue`,
  `POST ${ADMIN_PREFIX}/queue/sessions`,
  `POST ${ADMIN_PREFIX}/queue/uploads`,
  `GET ${ADMIN_PREFIX}/defaults`,
  `POST ${ADMIN_PREFIX}/defaults`,
  `POST ${ADMIN_PREFIX}/reset`,
  `GET ${ADMIN_PREFIX}/ui/`,
  'GET /metrics',
];

export interface ControlPlaneOptions {
  /** Entries the journal keeps (0: off). */
  journalSize: number;
  keepEndedSessions: number;
  adminToken: string | null;
  /** The address the server binds (for the admin guard). */
  host: string;
  serverSeed: number;
  /** The start-up scenario. */
  scenario: Scenario;
  version: string;
  clock: Clock;
  library: ScenarioLibrary;
  /** A default scenario object was set: the WebSocket layer's frame limit may need to grow for it. */
  onDefaultScenario?: (scenario: Scenario) => void;
  /** Count uploads from 1 again (the scenario's `when: {upload: N}` faults), for a full reset. */
  onReset?: () => void;
}

/** Where an HTTP exchange the journal records came in. */
export type HttpExchangeKind = 'upload' | 'auth';

export class ControlPlane implements AdminApi {
  /** The journal itself (the `journal` method reads it). */
  readonly store: Journal;
  readonly registry: SessionRegistry;
  /** The metrics themselves (the `metrics` method renders them). */
  readonly counters: ServerMetrics;
  readonly guard: AdminGuard;
  private readonly scopes = new Scopes();
  /** Waits in progress: how to end each (the server is closing). */
  private readonly waits = new Set<(err: AdminError) => void>();

  constructor(private readonly options: ControlPlaneOptions) {
    this.store = new Journal(options.journalSize);
    this.registry = new SessionRegistry(options.keepEndedSessions);
    this.counters = new ServerMetrics(() => this.registry.open(), () => this.store);
    this.guard = new AdminGuard(options.host, options.adminToken);
  }

  // ---- Reports from the server (app.ts) --------------------------------------------------------

  /** What a new session of scope `testId` runs with when its URL does not say. */
  defaultsFor(testId: string | null): Defaults {
    return this.scopes.defaultsFor(testId);
  }

  /** A session of scope `testId` opens: the faults queued for it, used up. */
  takeSessionFaults(testId: string | null): Fault[] {
    return this.scopes.take('sessions', testId);
  }

  /** An upload of scope `testId` arrived: the faults queued for it, used up. */
  takeUploadFaults(testId: string | null): Fault[] {
    return this.scopes.take('uploads', testId);
  }

  /** A session is about to be built: its record, which is also its tap. Call `record.attach(session)` once it exists. */
  sessionOpening(opening: SessionOpening): SessionRecord {
    const record = new SessionRecord(opening, this.store, this.counters, this.options.clock);
    this.registry.opened(record);
    this.counters.sessionOpened(opening.scenario.name);
    return record;
  }

  /** A session ended (from its onEnded): snapshot it and move it to the ended list. */
  sessionEnded(record: SessionRecord, session: StreamSession): void {
    record.ended(session);
    this.registry.closed(record);
    record.release();
  }

  /** A connection was refused after the upgrade (a credential without the stream scope): what it was sent. */
  sessionRefused(id: string, testId: string | null, refusal: Envelope, text: string, closeCode: number, closeReason: string): void {
    const code = (refusal.data as { code?: string }).code ?? null;
    this.counters.eventSent(refusal.type, code);
    const now = this.options.clock.now();
    this.store.record(now, 'session', id, testId, null, 'session.refused', code, null, null, null, null, null, null, null, { reason: 'missing_scope' });
    this.store.record(now, 'frame', id, testId, 'out', refusal.type, code, null, null, null, null, null, null, text, null);
    this.store.record(now, 'frame', id, testId, 'out', 'close', null, null, null, null, null, null, null, null, { code: closeCode, reason: closeReason });
  }

  /** An analysis window's results left, `lagMs` behind an idle server. */
  windowEmitted(lagMs: number): void {
    this.counters.windowEmitted(lagMs);
  }

  /**
   * An upload or token exchange was answered with `status` (null: the connection was cut with no
   * answer) and, for an error, its ih code. `body`: an upload's 200 body as sent (kept as the string,
   * parsed only when read); never a token exchange's body, which holds the token.
   */
  httpAnswered(kind: HttpExchangeKind, id: string, testId: string | null, status: number | null, code: string | null, bytes: number | null, body: string | null): void {
    if (kind === 'upload') this.counters.uploadAnswered(status, code);
    else this.counters.tokenExchangeAnswered(status, code);
    if (!this.store.enabled) return;
    this.store.record(this.options.clock.now(), kind, id, testId, null, kind, code, null, bytes, null, null, null, null, null, new HttpAnswer(status, kind === 'upload' ? body : null));
  }

  // ---- The admin API ---------------------------------------------------------------------------

  async status(): Promise<AdminStatus> {
    return {
      service: 'ih-mock',
      version: this.options.version,
      scenario: this.options.scenario.name,
      server_seed: this.options.serverSeed,
      sessions_open: this.registry.openCount,
      sessions_ended: this.registry.endedCount,
      journal: { size: this.store.size, capacity: this.store.capacity, recorded: this.store.recorded, evicted: this.store.evicted, next: this.store.newestSeq },
      admin_auth: this.guard.access === 'loopback' ? 'loopback' : 'token',
      routes: [...ADMIN_ROUTES],
    };
  }

  async sessions(query: Scoped & { state?: 'open' | 'ended' | 'all' } = {}): Promise<SessionSummary[]> {
    const state = query.state ?? 'all';
    if (!['open', 'ended', 'all'].includes(state)) throw new AdminError('ihm4001', `state must be open, ended or all, got ${JSON.stringify(state)}`);
    return this.registry.list(scopeOf(query), state).map((r) => r.summary());
  }

  async session(id: string, options: Scoped = {}): Promise<SessionDetail> {
    return this.registry.get(id, scopeOf(options)).detail();
  }

  async journal(query: JournalQuery = {}): Promise<JournalPage> {
    const { filter, since, limit } = checkJournalQuery(query, scopeOf(query));
    const { entries, more } = this.store.read(filter, since, limit);
    const next = more ? entries.at(-1)!.seq : Math.max(since, this.store.newestSeq);
    return { entries: entries.map((e) => e.toJSON()), next, more, evicted: this.store.evicted, recorded: this.store.recorded, capacity: this.store.capacity };
  }

  /**
   * Resolve with the first entry after `since` matching the query, already recorded or yet to come.
   * The timeout is real time on purpose: it is how long an HTTP caller is willing to wait, and a
   * virtual clock that nobody advances must not make a wait hang forever. `signal` aborts the wait
   * (the caller went away).
   */
  waitFor(query: WaitQuery, signal?: AbortSignal): Promise<WaitResult> {
    let checked: ReturnType<typeof checkJournalQuery>;
    try {
      checked = checkJournalQuery(query, scopeOf(query));
      this.requireJournal();
    } catch (err) {
      return Promise.reject(err);
    }
    const { filter, since, timeoutMs } = checked;
    return new Promise<WaitResult>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const stop = () => {
        clearTimeout(timer);
        this.store.unlisten(listener);
        signal?.removeEventListener('abort', onAbort);
        this.waits.delete(end);
      };
      const end = (err: AdminError) => {
        stop();
        reject(err);
      };
      const listener: JournalListener = {
        filter,
        cursor: since,
        deliver: (entry) => {
          stop();
          resolve({ entry: entry.toJSON(), next: entry.seq });
          return false;
        },
      };
      const onAbort = () => end(new AdminError('ihm4008', 'The wait was abandoned by the caller.'));
      signal?.addEventListener('abort', onAbort, { once: true });
      this.store.listen(listener);
      if (!this.store.isListening(listener)) return; // delivered at once from what was already recorded
      this.waits.add(end);
      timer = setTimeout(() => {
        end(new AdminError('ihm4008', `No journal entry after seq ${since} matched ${describeFilter(filter)} within ${timeoutMs} ms. Wait again with since=${listener.cursor} to continue from here.`));
      }, timeoutMs);
      // A wait alone does not keep the process alive (the server's socket does, while it listens).
      timer.unref();
    });
  }

  /** The server is closing: waits in progress end with ihm4008 at once. */
  close(): void {
    for (const end of [...this.waits]) end(new AdminError('ihm4008', 'The server closed before anything matched the wait.'));
  }

  /**
   * Deliver every entry after `since` matching the query to `deliver`, as it is recorded, until
   * `deliver` returns false or the returned function is called (the journal event stream).
   */
  subscribe(query: JournalQuery, deliver: (entry: JournalEntry) => boolean): () => void {
    const { filter, since } = checkJournalQuery(query, scopeOf(query));
    this.requireJournal();
    const listener: JournalListener = { filter, cursor: since, deliver };
    this.store.listen(listener);
    return () => this.store.unlisten(listener);
  }

  async clearJournal(options: Scoped = {}): Promise<{ cleared: number }> {
    const testId = scopeOf(options);
    const filter: JournalFilter = testId === null ? {} : { testId };
    return { cleared: this.store.clear(filter) };
  }

  async inject(sessionId: string, faults: Fault | readonly Fault[], options: Scoped = {}): Promise<InjectResult> {
    return this.injectRequest(sessionId, { faults: asFaultList(faults) }, options);
  }

  /** POST /__ih/sessions/{id}/inject with its body as received (checked against InjectRequest). */
  injectRequest(sessionId: string, body: unknown, options: Scoped = {}): InjectResult {
    const testId = scopeOf(options);
    const faults = this.checkFaults('InjectRequest', body, 'live-session');
    const record = this.registry.get(sessionId, testId);
    const session = record.session;
    if (session === null || session.state === 'ended') {
      throw new AdminError('ihm4009', `Session ${sessionId} has ended (${record.summary().end_reason ?? 'ended'}): nothing can be injected into it. Queue faults for the next session with POST /__ih/queue/sessions.`);
    }
    this.note('inject', record.id, record.testId, { faults });
    const { applied, armed } = session.inject(faults);
    record.injected(faults.length);
    return { session: record.id, applied, armed, state: session.state };
  }

  async queueFaults(request: QueueFaultsRequest): Promise<QueueState> {
    if (request.target !== 'sessions' && request.target !== 'uploads') throw new AdminError('ihm4001', `target must be sessions or uploads, got ${JSON.stringify(request.target)}`);
    const body: Record<string, unknown> = { faults: asFaultList(request.faults) };
    if (request.count !== undefined) body[request.target] = request.count;
    return this.queueRequest(request.target, body, request);
  }

  /** POST /__ih/queue/sessions or /__ih/queue/uploads with its body as received. */
  queueRequest(target: 'sessions' | 'uploads', body: unknown, options: Scoped = {}): QueueState {
    const testId = scopeOf(options);
    const faults = this.checkFaults(target === 'sessions' ? 'SessionQueueRequest' : 'UploadQueueRequest', body, target === 'sessions' ? 'next-sessions' : 'uploads');
    const count = ((body as Record<string, unknown>)[target] as number | undefined) ?? 1;
    this.scopes.push(target, testId, faults, count);
    this.note(`queue.${target}`, null, testId, { faults, count });
    return this.scopes.queueState(testId);
  }

  async queue(options: Scoped = {}): Promise<QueueState> {
    return this.scopes.queueState(scopeOf(options));
  }

  async clearQueue(options: Scoped = {}): Promise<QueueState> {
    const testId = scopeOf(options);
    this.scopes.clearQueue(testId);
    return this.scopes.queueState(testId);
  }

  async defaults(options: Scoped = {}): Promise<DefaultsJson> {
    return this.defaultsJson(scopeOf(options));
  }

  async setDefaults(change: DefaultsRequest, options: Scoped = {}): Promise<DefaultsJson> {
    const testId = scopeOf(options);
    const check = validateAdminBody('DefaultsRequest', change);
    if (!check.ok) throw invalid('defaults', check.errors);
    const next: { scenario?: DefaultScenario | null; seed?: number | null; timing?: TimingMode | null } = {};
    if (change.scenario !== undefined) next.scenario = change.scenario === null ? null : this.defaultScenario(change.scenario);
    if (change.seed !== undefined) next.seed = change.seed;
    if (change.timing !== undefined) next.timing = change.timing as TimingMode | null;
    this.scopes.setDefaults(testId, next);
    if (next.scenario?.scenario) this.options.onDefaultScenario?.(next.scenario.scenario);
    this.note('defaults', null, testId, { scenario: next.scenario === undefined ? undefined : (next.scenario?.name ?? null), seed: change.seed, timing: change.timing });
    return this.defaultsJson(testId);
  }

  async reset(options: Scoped = {}): Promise<ResetResult> {
    const testId = scopeOf(options);
    const journalEntries = this.store.clear(testId === null ? {} : { testId });
    if (testId === null) {
      this.store.resetCounts();
      this.options.onReset?.();
    }
    const endedSessions = this.registry.forgetEnded(testId);
    const { queued, defaults } = this.scopes.reset(testId);
    this.note('reset', null, testId, null);
    return { test_id: testId, journal_entries: journalEntries, ended_sessions: endedSessions, queued, defaults };
  }

  async metrics(): Promise<string> {
    return (await this.counters.render()).text;
  }

  // ---- Helpers ---------------------------------------------------------------------------------

  private defaultsJson(testId: string | null): DefaultsJson {
    const d = this.scopes.defaultsFor(testId);
    return { test_id: testId, scenario: d.scenario?.name ?? null, seed: d.seed ?? null, timing: d.timing ?? null };
  }

  private defaultScenario(value: string | Scenario): DefaultScenario {
    if (typeof value === 'string') {
      if (value === RANDOM_SCENARIO) return { name: RANDOM_SCENARIO, scenario: null };
      if (!this.options.library.names().includes(value)) {
        throw new AdminError('ihm4001', `unknown scenario "${value}": use a built-in (${this.options.library.names().join(', ')}), ${RANDOM_SCENARIO}, or a scenario object`);
      }
      return { name: value, scenario: this.options.library.connectionScenario(value, 0) };
    }
    try {
      const scenario = scenarioFromObject(value, 'defaults.scenario');
      return { name: scenario.name, scenario };
    } catch (err) {
      if (err instanceof ScenarioError) throw new AdminError('ihm4001', err.message);
      throw err;
    }
  }

  /** Check a body holding `faults` against its schema, then the faults against the scenario rules; returns a private copy of the faults. */
  private checkFaults(schema: AdminSchema, body: unknown, destination: FaultDestination): Fault[] {
    const check = validateAdminBody(schema, body);
    if (!check.ok) throw invalid('faults', check.errors);
    const faults = (body as { faults: readonly Fault[] }).faults;
    const problems = faultListProblems(faults, destination);
    if (problems.length > 0) throw invalid('faults', problems);
    return structuredClone([...faults]);
  }

  private requireJournal(): void {
    if (!this.store.enabled) throw new AdminError('ihm4001', 'The journal is off (journalSize 0): nothing can be read or waited for. Start ih-mock with --journal-size N.');
  }

  /** An admin action, in the journal. */
  private note(type: string, session: string | null, testId: string | null, detail: unknown): void {
    this.store.record(this.options.clock.now(), 'admin', session, testId, null, type, null, null, null, null, null, null, null, null, detail);
  }
}

/** An upload's or token exchange's answer, as the journal shows it: the status, and an upload's analysis. */
class HttpAnswer {
  constructor(
    readonly status: number | null,
    private readonly body: string | null,
  ) {}

  toJSON(): object {
    if (this.body === null) return { status: this.status };
    try {
      return { status: this.status, body: JSON.parse(this.body) as unknown };
    } catch {
      return { status: this.status };
    }
  }
}

function scopeOf(options: Scoped): string | null {
  try {
    return checkTestId(options.testId, 'testId');
  } catch (err) {
    if (err instanceof TestIdError) throw new AdminError('ihm4001', err.message);
    throw err;
  }
}

/** One fault or a list (anything else goes to the schema as it is, which says what is wrong). */
function asFaultList(faults: Fault | readonly Fault[]): unknown {
  if (Array.isArray(faults)) return faults;
  return faults !== null && typeof faults === 'object' ? [faults] : faults;
}

/** The ihm4001 for a body with problems: every problem on its own line, as `validate` prints a scenario's. */
function invalid(what: string, problems: readonly Diagnostic[]): AdminError {
  const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
  return new AdminError('ihm4001', `invalid ${what} (${count}):\n${problems.map((p) => (p.path === '' ? p.message : `${p.path}: ${p.message}`)).join('\n')}`);
}

function describeFilter(filter: JournalFilter): string {
  const parts = Object.entries(filter).map(([key, value]) => `${key}=${Array.isArray(value) ? value.join('|') : String(value)}`);
  return parts.length === 0 ? 'any entry' : parts.join(', ');
}
