/**
 * The admin API of an ih-mock in another process, as typed methods (the same `AdminApi` as the
 * in-process `server.admin`):
 *
 * ```ts
 * import { connectAdmin } from 'ih-mock';
 * const admin = connectAdmin('http://127.0.0.1:4747', { testId: 'checkout-flow' });
 * const { entry } = await admin.waitFor({ direction: 'out', type: 'signal.detected', signalType: 'agreement' });
 * await admin.inject(entry.session!, { action: 'disconnect' });
 * ```
 *
 * Errors the server answers reject with `AdminError` (its code and message); a server that cannot be
 * reached rejects with the network error. Uses the global `fetch` (Node 20).
 */
import type {
  AdminStatus,
  Defaults,
  DefaultsRequest,
  Fault,
  InjectResult,
  JournalEntry,
  JournalPage,
  QueueState,
  ResetResult,
  SessionDetail,
  SessionSummary,
  WaitResult,
} from '../types/generated.js';
import type { AdminApi, JournalQuery, QueueFaultsRequest, Scoped, WaitQuery } from './api.js';
import { ADMIN_ERROR_CODES, AdminError } from './errors.js';
import { ADMIN_TOKEN_HEADER_NAME } from './guard.js';
import { TEST_ID_HEADER_NAME } from './test-scope.js';

export interface AdminClientOptions {
  /** Sent as X-IH-Admin-Token (needed when the server does not listen on a loopback address). */
  adminToken?: string | null;
  /** The test id every call is scoped to, unless a call names its own. */
  testId?: string | null;
}

/** Thrown for an answer that is neither a success nor an admin error (e.g. 500 ih1001). */
export class AdminHttpError extends Error {
  override readonly name = 'AdminHttpError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function connectAdmin(baseUrl: string, options: AdminClientOptions = {}): AdminClient {
  return new AdminClient(baseUrl, options);
}

type Query = Record<string, string | number | readonly string[] | undefined | null>;

export class AdminClient implements AdminApi {
  private readonly base: string;

  constructor(
    baseUrl: string,
    private readonly options: AdminClientOptions = {},
  ) {
    this.base = baseUrl.replace(/\/+$/, '');
  }

  status(): Promise<AdminStatus> {
    return this.call('GET', '/__ih/', {});
  }

  async sessions(query: Scoped & { state?: 'open' | 'ended' | 'all' } = {}): Promise<SessionSummary[]> {
    const body = await this.call<{ sessions: SessionSummary[] }>('GET', '/__ih/sessions', { testId: query.testId, query: { state: query.state } });
    return body.sessions;
  }

  session(id: string, options: Scoped = {}): Promise<SessionDetail> {
    return this.call('GET', `/__ih/sessions/${encodeURIComponent(id)}`, { testId: options.testId });
  }

  journal(query: JournalQuery = {}): Promise<JournalPage> {
    return this.call('GET', '/__ih/journal', { testId: query.testId, query: { ...journalParams(query), limit: query.limit } });
  }

  waitFor(query: WaitQuery): Promise<WaitResult> {
    return this.call('GET', '/__ih/journal/wait', { testId: query.testId, query: { ...journalParams(query), timeout_ms: query.timeoutMs } });
  }

  clearJournal(options: Scoped = {}): Promise<{ cleared: number }> {
    return this.call('DELETE', '/__ih/journal', { testId: options.testId });
  }

  inject(sessionId: string, faults: Fault | readonly Fault[], options: Scoped = {}): Promise<InjectResult> {
    return this.call('POST', `/__ih/sessions/${encodeURIComponent(sessionId)}/inject`, { testId: options.testId, body: { faults: Array.isArray(faults) ? faults : [faults] } });
  }

  queueFaults(request: QueueFaultsRequest): Promise<QueueState> {
    const body: Record<string, unknown> = { faults: Array.isArray(request.faults) ? request.faults : [request.faults] };
    if (request.count !== undefined) body[request.target] = request.count;
    return this.call('POST', `/__ih/queue/${encodeURIComponent(request.target)}`, { testId: request.testId, body });
  }

  queue(options: Scoped = {}): Promise<QueueState> {
    return this.call('GET', '/__ih/queue', { testId: options.testId });
  }

  clearQueue(options: Scoped = {}): Promise<QueueState> {
    return this.call('DELETE', '/__ih/queue', { testId: options.testId });
  }

  defaults(options: Scoped = {}): Promise<Defaults> {
    return this.call('GET', '/__ih/defaults', { testId: options.testId });
  }

  setDefaults(change: DefaultsRequest, options: Scoped = {}): Promise<Defaults> {
    return this.call('POST', '/__ih/defaults', { testId: options.testId, body: change });
  }

  reset(options: Scoped = {}): Promise<ResetResult> {
    return this.call('POST', '/__ih/reset', { testId: options.testId });
  }

  async metrics(): Promise<string> {
    const response = await fetch(`${this.base}/metrics`);
    if (!response.ok) throw new AdminHttpError(response.status, `GET /metrics answered ${response.status}`);
    return response.text();
  }

  /**
   * Follow the journal as it is written (GET /__ih/journal/stream): `onEntry` gets each matching
   * entry after `since`, until `signal` aborts (resolves then) or the server closes the stream.
   */
  async follow(query: JournalQuery, onEntry: (entry: JournalEntry) => void, signal?: AbortSignal): Promise<void> {
    const response = await fetch(this.url('/__ih/journal/stream', journalParams(query)), { headers: this.headers(query.testId), signal: signal ?? null });
    if (!response.ok) await this.fail(response);
    const decoder = new TextDecoder();
    let buffered = '';
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffered += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffered.indexOf('\n\n')) >= 0) {
          const event = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          const lines = event.split('\n');
          if (!lines.includes('event: entry')) continue;
          const data = lines.filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
          onEntry(JSON.parse(data) as JournalEntry);
        }
      }
    } catch (err) {
      if (signal?.aborted) return;
      throw err;
    }
  }

  private async call<T>(method: string, path: string, { testId, query, body }: { testId?: string | null | undefined; query?: Query; body?: unknown }): Promise<T> {
    const headers = this.headers(testId);
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const response = await fetch(this.url(path, query ?? {}), { method, headers, body: body === undefined ? null : JSON.stringify(body) });
    if (!response.ok) await this.fail(response);
    return (await response.json()) as T;
  }

  private headers(testId: string | null | undefined): Record<string, string> {
    const headers: Record<string, string> = {};
    const token = this.options.adminToken;
    if (token) headers[ADMIN_TOKEN_HEADER_NAME] = token;
    const scope = testId === undefined ? this.options.testId : testId;
    if (scope) headers[TEST_ID_HEADER_NAME] = scope;
    return headers;
  }

  private url(path: string, query: Query): string {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value === undefined || value === null) continue;
      params.set(key, typeof value === 'object' ? value.join(',') : String(value));
    }
    const search = params.toString();
    return `${this.base}${path}${search ? `?${search}` : ''}`;
  }

  private async fail(response: Response): Promise<never> {
    const text = await response.text();
    let body: { error_id?: unknown; message?: unknown } = {};
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      // not JSON: reported as it is below
    }
    if (typeof body.error_id === 'string' && (ADMIN_ERROR_CODES as readonly string[]).includes(body.error_id)) {
      throw new AdminError(body.error_id as AdminError['code'], typeof body.message === 'string' ? body.message : undefined);
    }
    throw new AdminHttpError(response.status, `${response.status}: ${typeof body.message === 'string' ? body.message : text.slice(0, 300)}`);
  }
}

/** A journal query as the routes' query parameters (the scope travels in the X-IH-Test-Id header). */
function journalParams(query: JournalQuery): Query {
  return {
    session: query.session,
    kind: query.kind as string | readonly string[] | undefined,
    direction: query.direction,
    type: query.type,
    code: query.code,
    signal_type: query.signalType,
    since: query.since,
  };
}
