/**
 * What the recording proxy's two halves (proxy-http.ts, proxy-ws.ts) share: the upstream, the
 * file, the redactor, the proxy's own answers, the record sink of each session, and the
 * work still under way (so `close()` can cut every connection, and `settled()` can wait for it).
 */
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import type { Clock } from '../clock.js';
import type { RecordingRecord } from '../types/generated.js';
import type { OwnAnswer, OwnAnswers } from './answers.js';
import type { RecordingWriter, WithoutSessionTime } from './format.js';
import { CREDENTIAL_HEADERS, type Redactor } from './redact.js';

/** One session's record sink: stamps the session number and the time since it began (now, or the clock time `at`). */
export type SessionLog = (record: WithoutSessionTime<RecordingRecord>, at?: number) => void;

/** An HTTP exchange in progress on a client connection, told when the client's HTTP breaks mid-request. */
export interface ExchangeInProgress {
  res: ServerResponse;
  /** The client's request cannot be read any further; `answer` is what the proxy answered it (null: nothing could be). */
  broken(answer: OwnAnswer | null, why: string): void;
}

export interface ProxyContext {
  readonly upstream: URL;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly writer: RecordingWriter;
  readonly redactor: Redactor;
  readonly answers: OwnAnswers;
  readonly withMedia: boolean;
  /** How long the upstream may take to complete a WebSocket handshake before the client gets 504. */
  readonly upstreamHandshakeTimeoutMs: number;
  /** Start a new session (an HTTP request or a WebSocket connection); returns its record sink. */
  sessionLog(): SessionLog;
  /** Open WebSockets and HTTP exchanges not recorded yet. */
  readonly work: ProxyWork;
  /** Client connections that came in as upgrades, until they close (the HTTP server no longer tracks them). */
  readonly pendingUpgrades: Set<Duplex>;
  /** The exchange in progress on each client connection. */
  readonly inProgress: WeakMap<Socket, ExchangeInProgress>;
}

/**
 * What the proxy still has under way: open WebSockets (both sides) and HTTP exchanges whose answer
 * (or abandonment) is not recorded yet; and who waits for none to be left. Waiters are told when
 * the last one ends, not by polling, and time out on the proxy's clock.
 */
export class ProxyWork {
  /** Open WebSockets, on both sides (so `close()` can cut every one). */
  readonly sockets = new Set<WebSocket>();
  private exchanges = 0;
  private readonly waiters = new Set<() => void>();

  constructor(private readonly clock: Clock) {}

  get idle(): boolean {
    return this.sockets.size === 0 && this.exchanges === 0;
  }

  socketOpened(ws: WebSocket): void {
    this.sockets.add(ws);
  }

  socketClosed(ws: WebSocket): void {
    if (this.sockets.delete(ws)) this.wakeIfIdle();
  }

  exchangeStarted(): void {
    this.exchanges++;
  }

  exchangeRecorded(): void {
    this.exchanges--;
    this.wakeIfIdle();
  }

  /** Resolves once nothing is under way, or after `timeoutMs` of the clock. */
  settled(timeoutMs: number): Promise<void> {
    if (this.idle) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.clock.clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = this.clock.setTimeout(done, timeoutMs);
      this.waiters.add(done);
    });
  }

  private wakeIfIdle(): void {
    if (this.idle) for (const done of [...this.waiters]) done();
  }
}

/** Request headers worth recording (lower case); others are forwarded but not written down. */
const RECORDED_REQUEST_HEADERS = ['authorization', 'sec-websocket-protocol', 'content-type', 'x-client-request-id', 'origin'];
/** Response headers worth recording. */
const RECORDED_RESPONSE_HEADERS = ['content-type', 'x-correlation-id', 'retry-after', 'sec-websocket-protocol'];
/** Hop-by-hop headers are the proxy's own business (RFC 9110 7.6.1). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'host']);

function headerValue(raw: string | string[] | undefined): string | undefined {
  return raw === undefined ? undefined : Array.isArray(raw) ? raw.join(', ') : raw;
}

/**
 * A request's recorded headers, its credentials redacted by position; the credentials of headers
 * that are not recorded (Cookie, X-API-Key, …) are learned, so they are scrubbed wherever they reappear.
 */
export function recordedRequestHeaders(redactor: Redactor, headers: IncomingHttpHeaders): Record<string, string> {
  for (const name of CREDENTIAL_HEADERS) {
    const value = headerValue(headers[name]);
    if (value !== undefined) redactor.credentialHeader(name, value);
  }
  const out: Record<string, string> = {};
  for (const name of RECORDED_REQUEST_HEADERS) {
    const value = headerValue(headers[name]);
    if (value === undefined) continue;
    out[name] = name === 'authorization' ? redactor.authorization(value) : name === 'sec-websocket-protocol' ? redactor.subprotocols(value) : redactor.text(value);
  }
  return out;
}

/** A response's recorded headers; a selected subprotocol that is a credential is redacted. */
export function recordedResponseHeaders(redactor: Redactor, headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of RECORDED_RESPONSE_HEADERS) {
    const value = headerValue(headers[name]);
    if (value === undefined) continue;
    out[name] = name === 'sec-websocket-protocol' ? redactor.selectedProtocol(value) : redactor.text(value);
  }
  return out;
}

/** The upstream URL for a request target, or null unless it is a path (`/…`, not `//host…` or a URL). */
export function upstreamTarget(upstream: URL, url: string | undefined): URL | null {
  if (!url || !url.startsWith('/') || url.startsWith('//')) return null;
  try {
    const target = new URL(url, upstream.origin);
    return target.origin === upstream.origin ? target : null;
  } catch {
    return null;
  }
}

/** `/path?query` → [path, query without '?']. */
export function splitTarget(url: string): [string, string] {
  const at = url.indexOf('?');
  return at < 0 ? [url, ''] : [url.slice(0, at), url.slice(at + 1)];
}

export function forwardedHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  return out;
}
