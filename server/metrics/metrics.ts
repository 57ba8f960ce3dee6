/**
 * The server's Prometheus metrics, served at GET /metrics (docs/control-plane.md#metrics).
 *
 * prom-client writes the text format (and keeps it right as the format evolves); each server has its
 * own `Registry`, never the global default, so several servers in one process (tests, benchmarks)
 * do not clash. The hot paths only bump plain numbers (a session's own `stats`, a Map per event
 * type); the prom-client metrics are filled from them when /metrics is read, so a frame costs no
 * label hashing.
 *
 * prom-client is loaded after start-up (`load`, which the server calls once it listens) or at the
 * first scrape, never at import: a command that does not serve, and the readiness line, never wait
 * for it. Window lags observed before it is there wait in a short list.
 *
 * Invariants: every counter only grows over the server's life (a reset of the admin API does not
 * touch them: scrapers compute rates from them); counters of open sessions are read live, and an
 * ended session's final counters move into the totals in the same turn it leaves the open set.
 */
import type { Histogram, Registry } from 'prom-client';
import type { SessionStats } from '../stream/session.js';

export const METRICS_PATH = '/metrics';

/** What the metrics need to know about the open sessions when they are read. */
export interface OpenSessionView {
  readonly scenarioName: string;
  readonly stats: SessionStats;
}

/** Buckets of the event-lag histogram, in seconds: from a millisecond to ten seconds. */
const LAG_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Counters summed over sessions: SessionStats field → metric. */
const SESSION_COUNTERS = [
  ['binaryMessages', 'ih_mock_binary_messages_total', 'Binary WebSocket messages (video segments) received.'],
  ['bytesReceived', 'ih_mock_binary_bytes_total', 'Bytes of binary messages received.'],
  ['rejectedMessages', 'ih_mock_rejected_messages_total', 'Binary messages refused with an error envelope.'],
  ['receivedSeconds', 'ih_mock_media_received_seconds_total', 'Seconds of media accepted.'],
  ['windowsAnalyzed', 'ih_mock_windows_analyzed_total', 'Analysis windows whose results were sent.'],
  ['windowsShed', 'ih_mock_windows_shed_total', 'Analysis windows shed under load.'],
] as const satisfies readonly (readonly [keyof SessionStats, string, string])[];

type CountedField = (typeof SESSION_COUNTERS)[number][0];

/** Lags kept while prom-client loads (it takes milliseconds after start-up; this only bounds memory). */
const MAX_PENDING_LAGS = 10_000;

export class ServerMetrics {
  private readonly endedTotals = new Map<CountedField, number>(SESSION_COUNTERS.map(([field]) => [field, 0]));
  private readonly sessionsOpened = new Map<string, number>();
  private readonly sessionsEnded = new Map<string, number>();
  private readonly eventsSent = new Map<string, number>();
  /** `${transport} ${code}` → count. */
  private readonly errors = new Map<string, number>();
  private readonly uploads = new Map<string, number>();
  private readonly tokenExchanges = new Map<string, number>();
  private lag: Histogram | undefined;
  private pendingLags: number[] = [];
  private loading: Promise<Registry> | undefined;

  constructor(
    private readonly openSessions: () => Iterable<OpenSessionView>,
    private readonly journal: () => { recorded: number; evicted: number },
  ) {}

  /** Load prom-client and build this server's registry (once); the server calls it as soon as it listens. */
  load(): Promise<Registry> {
    this.loading ??= import('prom-client').then((prom) => this.build(prom));
    return this.loading;
  }

  private build(prom: typeof import('prom-client')): Registry {
    const registry = new prom.Registry();
    const registers = [registry];
    const { openSessions, journal } = this;
    /** A counter filled from `values` whenever the metrics are read. */
    const counter = (name: string, help: string, labelNames: string[], values: () => [Record<string, string>, number][]) =>
      new prom.Counter({
        name,
        help,
        labelNames,
        registers,
        collect() {
          this.reset();
          for (const [labels, n] of values()) this.inc(labels, n);
        },
      });
    new prom.Gauge({
      name: 'ih_mock_sessions_open',
      help: 'Stream sessions open now, by scenario.',
      labelNames: ['scenario'],
      registers,
      collect() {
        this.reset();
        for (const s of openSessions()) this.inc({ scenario: s.scenarioName });
      },
    });
    counter('ih_mock_sessions_total', 'Stream sessions opened, by scenario.', ['scenario'], () => labelled(this.sessionsOpened, 'scenario'));
    counter('ih_mock_sessions_ended_total', 'Stream sessions ended, by reason.', ['reason'], () => labelled(this.sessionsEnded, 'reason'));
    for (const [field, name, help] of SESSION_COUNTERS) {
      counter(name, help, [], () => {
        let total = this.endedTotals.get(field)!;
        for (const s of openSessions()) total += s.stats[field];
        return [[{}, total]];
      });
    }
    counter('ih_mock_events_sent_total', 'Envelopes sent to stream clients, by type.', ['type'], () => labelled(this.eventsSent, 'type'));
    counter('ih_mock_errors_total', 'Errors answered, by ih code and transport (stream: error envelopes; http: error responses).', ['code', 'transport'], () =>
      [...this.errors].map(([key, n]) => {
        const [transport = '', code = ''] = key.split(' ');
        return [{ code, transport }, n];
      }),
    );
    counter('ih_mock_uploads_total', 'Uploads answered, by HTTP status (none: the connection was cut with no answer).', ['status'], () => labelled(this.uploads, 'status'));
    counter('ih_mock_token_exchanges_total', 'Token exchanges (POST /v1/auth, /v0/auth) answered, by HTTP status.', ['status'], () => labelled(this.tokenExchanges, 'status'));
    counter('ih_mock_journal_entries_total', 'Entries recorded in the admin journal.', [], () => [[{}, journal().recorded]]);
    counter('ih_mock_journal_evicted_total', 'Journal entries evicted because the journal was full.', [], () => [[{}, journal().evicted]]);
    const lag = new prom.Histogram({
      name: 'ih_mock_event_lag_seconds',
      help: "How late each analysis window's results left, behind an idle server's schedule (window due + processing time).",
      buckets: LAG_BUCKETS,
      registers,
    });
    for (const seconds of this.pendingLags) lag.observe(seconds);
    this.pendingLags = [];
    this.lag = lag;
    return registry;
  }

  sessionOpened(scenario: string): void {
    bump(this.sessionsOpened, scenario);
  }

  /** A session ended: its final counters join the totals (call as it leaves the open set). */
  sessionEnded(reason: string, stats: SessionStats): void {
    bump(this.sessionsEnded, reason);
    for (const [field] of SESSION_COUNTERS) this.endedTotals.set(field, this.endedTotals.get(field)! + stats[field]);
  }

  /** An envelope left; `code` for error envelopes. */
  eventSent(type: string, code: string | null): void {
    bump(this.eventsSent, type);
    if (code !== null) bump(this.errors, `stream ${code}`);
  }

  windowEmitted(lagMs: number): void {
    if (this.lag) this.lag.observe(lagMs / 1000);
    else if (this.pendingLags.length < MAX_PENDING_LAGS) this.pendingLags.push(lagMs / 1000);
  }

  /** An upload was answered with `status` (null: cut with no answer) and, for errors, its ih code. */
  uploadAnswered(status: number | null, code: string | null): void {
    bump(this.uploads, status === null ? 'none' : String(status));
    if (code !== null) bump(this.errors, `http ${code}`);
  }

  tokenExchangeAnswered(status: number | null, code: string | null): void {
    bump(this.tokenExchanges, status === null ? 'none' : String(status));
    if (code !== null) bump(this.errors, `http ${code}`);
  }

  /** The /metrics body and its content type. */
  async render(): Promise<{ contentType: string; text: string }> {
    const registry = await this.load();
    return { contentType: registry.contentType, text: await registry.metrics() };
  }
}

function bump(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

function labelled(map: Map<string, number>, label: string): [Record<string, string>, number][] {
  return [...map].map(([key, n]) => [{ [label]: key }, n]);
}
