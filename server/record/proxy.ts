/**
 * `ih-mock record`: a recording proxy. It listens like the real API and forwards every connection
 * (the stream WebSocket: proxy-ws.ts; the upload, the token exchange, anything else: proxy-http.ts)
 * to the upstream, recording both directions with times relative to each session's start
 * (format.ts), credentials redacted before anything is written (redact.ts).
 *
 * Invariants: the client sees what the upstream sent, byte for byte (frames, statuses, bodies, the
 * selected subprotocol, X-Correlation-ID); where there is no upstream answer to pass on, the client
 * gets the proxy's own v1 error (answers.ts); a record is written when its frame or message passes
 * the proxy, so the file is in the order things happened; nothing a client sends stops the proxy;
 * nothing is buffered beyond one HTTP body's recording summary (JSON bodies up to 1 MiB; files are
 * hashed as they stream through).
 */
import { randomInt } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { Random } from '../random.js';
import type { RecordingRecord } from '../types/generated.js';
import { OwnAnswers } from './answers.js';
import { RecordingWriter, type WithoutSessionTime } from './format.js';
import { listenOn, shutDown } from './net.js';
import { ProxyWork, type ExchangeInProgress, type ProxyContext, type SessionLog } from './proxy-context.js';
import { forwardHttp } from './proxy-http.js';
import { createUpgradeForwarder } from './proxy-ws.js';
import { Redactor } from './redact.js';

/** How long the upstream may take to complete a WebSocket handshake, by default. */
export const DEFAULT_UPSTREAM_HANDSHAKE_TIMEOUT_MS = 30_000;

export interface RecorderOptions {
  /** Base URL of the service to record, e.g. https://api.interhuman.ai or http://127.0.0.1:4747. */
  upstream: string;
  /** Recording file to write. */
  out: string;
  /** Keep video bytes in a sidecar file (`<out>.media`). */
  withMedia: boolean;
  label?: string;
  recorder: string;
  host: string;
  port: number;
  clock: Clock;
  logger: Logger;
  /** Seed of the correlation ids of the proxy's own answers (default: drawn at random). */
  seed?: number;
  /** How long (ms of `clock`) the upstream may take to complete a WebSocket handshake before the client gets 504 (default 30 000). */
  upstreamHandshakeTimeoutMs?: number;
}

export interface Recorder {
  readonly writer: RecordingWriter;
  /** Bind, then create the recording file; resolves with the proxy's base URL. */
  listen(): Promise<string>;
  /** Resolves once no proxied WebSocket is open (both sides closed and recorded) and every HTTP exchange has its answer recorded, or after `timeoutMs`. */
  settled(timeoutMs: number): Promise<void>;
  /** Stop accepting, close every proxied connection (and every upgrade still waiting for the upstream), close the file. */
  close(): Promise<void>;
}

export function createRecorder(options: RecorderOptions): Recorder {
  const upstream = new URL(options.upstream);
  if (upstream.protocol !== 'http:' && upstream.protocol !== 'https:') throw new Error(`--upstream must be an http:// or https:// base URL, got ${options.upstream}`);
  const { clock, logger } = options;
  const writer = new RecordingWriter({ path: options.out, upstream: upstream.origin, recorder: options.recorder, label: options.label, withMedia: options.withMedia, now: clock.now() });
  const recordingStarted = clock.now();
  let sessions = 0;

  function sessionLog(): SessionLog {
    const session = ++sessions;
    const started = clock.now();
    return (record: WithoutSessionTime<RecordingRecord>, at = clock.now()): void => {
      // The first record of a session also says when it began within the recording.
      const first = record.kind === 'ws.open' || record.kind === 'ws.refused' || record.kind === 'http.request';
      writer.write({ session, t: at - started, ...(first ? { started: started - recordingStarted } : {}), ...record } as RecordingRecord);
    };
  }

  const ctx: ProxyContext = {
    upstream,
    clock,
    logger,
    writer,
    redactor: new Redactor(),
    answers: new OwnAnswers(new Random(options.seed ?? randomInt(0, 2 ** 32)).fork('recorder-correlation-ids')),
    withMedia: options.withMedia,
    upstreamHandshakeTimeoutMs: options.upstreamHandshakeTimeoutMs ?? DEFAULT_UPSTREAM_HANDSHAKE_TIMEOUT_MS,
    sessionLog,
    work: new ProxyWork(clock),
    pendingUpgrades: new Set<Duplex>(),
    inProgress: new WeakMap<Socket, ExchangeInProgress>(),
  };
  const forwardUpgrade = createUpgradeForwarder(ctx);

  // requireHostHeader: off, or Node answers an HTTP/1.1 request without Host with its own bare 400;
  // forwarded, the upstream request gets a Host all the same.
  const server: Server = createServer({ requireHostHeader: false }, (req, res) => {
    try {
      forwardHttp(ctx, req, res);
    } catch (err) {
      logger.error({ err }, 'internal error while proxying a request');
      if (!ctx.answers.http(res, 500, 'internal error of the recording proxy')) res.destroy();
    }
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => {});
    ctx.pendingUpgrades.add(socket);
    socket.once('close', () => ctx.pendingUpgrades.delete(socket));
    try {
      forwardUpgrade(req, socket, head);
    } catch (err) {
      logger.error({ err }, 'internal error while proxying an upgrade');
      ctx.answers.raw(socket, 500, 'internal error of the recording proxy');
    }
  });
  // Bytes the HTTP parser refuses (not HTTP, a bad header, broken chunked encoding, headers too
  // large): answered with the v1 body instead of Node's bare 400. An exchange already under way on
  // that connection is recorded as broken off, with this answer.
  server.on('clientError', (err: NodeJS.ErrnoException & { reason?: string }, socket: Duplex) => {
    socket.on('error', () => {});
    const exchange = ctx.inProgress.get(socket as Socket);
    // The client went away mid-request (a reset, or its end of the connection before the message's): a cut, no answer owed.
    if (err.code === 'ECONNRESET' || err.code === 'EPIPE' || err.code === 'HPE_INVALID_EOF_STATE' || !socket.writable) {
      exchange?.broken(null, err.code ?? 'connection lost');
      socket.destroy();
      return;
    }
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : err.code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW' ? 413 : 400;
    const why = `${err.reason ?? err.message}${err.code ? ` (${err.code})` : ''}`;
    const answer = exchange?.res.headersSent ? null : ctx.answers.raw(socket, status, `the request is not HTTP/1.1 the proxy can read: ${why}`);
    exchange?.broken(answer, why);
    if (!answer) socket.destroy();
  });

  return {
    writer,
    async listen() {
      const base = await listenOn(server, options.host, options.port);
      writer.open();
      return base;
    },
    settled(timeoutMs) {
      return ctx.work.settled(timeoutMs);
    },
    async close() {
      // Upgrade connections (waiting for the upstream, or being answered) are raw sockets the HTTP server no longer tracks.
      for (const socket of ctx.pendingUpgrades) socket.destroy();
      await shutDown(server, ctx.work.sockets);
      writer.close();
    },
  };
}
