/**
 * `ih-mock record`: a recording proxy. It listens like the real API and forwards every connection
 * (the stream WebSocket, the upload, the token exchange, anything else) to the upstream, recording
 * both directions with times relative to each session's start (format.ts), credentials redacted
 * before anything is written (redact.ts).
 *
 * Invariants: the client sees what the upstream sent, byte for byte (frames, statuses, bodies, the
 * selected subprotocol, X-Correlation-ID); a record is written when its frame or message passes the
 * proxy, so the file is in the order things happened; nothing is buffered beyond one HTTP body's
 * recording summary (JSON bodies up to 1 MiB; files are hashed as they stream through).
 */
import { createHash } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Duplex } from 'node:stream';
import { Busboy, type BusboyInstance } from '@fastify/busboy';
import type { Logger } from 'pino';
import WebSocket, { WebSocketServer, type RawData } from 'ws';
import type { Clock } from '../clock.js';
import { isSendableCloseCode } from '../close-codes.js';
import { keepsAlive, socketOf, toBuffer } from '../connection.js';
import { roundSeconds } from '../media/common.js';
import { MediaTimeline, type SegmentVerdict } from '../media/timeline.js';
import type { RecordedHttpBody, RecordingRecord } from '../types/generated.js';
import { CLIENT_CLOSED_STATUS, RecordingWriter, type WithoutSessionTime } from './format.js';
import { listenOn, shutDown } from './net.js';
import { Redactor } from './redact.js';

/** JSON bodies larger than this are recorded as size and hash only. */
const MAX_JSON_CAPTURE = 1 << 20;
/** Request headers worth recording (lower case); others are forwarded but not written down. */
const RECORDED_REQUEST_HEADERS = ['authorization', 'sec-websocket-protocol', 'content-type', 'x-client-request-id', 'origin'];
/** Response headers worth recording. */
const RECORDED_RESPONSE_HEADERS = ['content-type', 'x-correlation-id', 'retry-after', 'sec-websocket-protocol'];
/** Recorded when the upstream failed: unreachable (and the proxy answered), or it cut the connection. */
const BAD_GATEWAY = 502;
/** Errors that mean the upstream was never reached: the proxy answers 502 itself. Any other error is a cut. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT']);

/** The text of a request body the client stopped sending before its end. */
const ABORTED_BODY = '[aborted by the client before the body was complete]';
/** Hop-by-hop headers are the proxy's own business (RFC 9110 7.6.1). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'host']);

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
}

export interface Recorder {
  readonly writer: RecordingWriter;
  /** Bind; resolves with the proxy's base URL. */
  listen(): Promise<string>;
  /** Resolves once no proxied WebSocket is open (both sides closed and recorded) and every HTTP exchange has its answer recorded, or after `timeoutMs`. */
  settled(timeoutMs: number): Promise<void>;
  /** Stop accepting, close every proxied connection, close the file. */
  close(): Promise<void>;
}

export function createRecorder(options: RecorderOptions): Recorder {
  const upstream = new URL(options.upstream);
  if (upstream.protocol !== 'http:' && upstream.protocol !== 'https:') throw new Error(`--upstream must be an http:// or https:// base URL, got ${options.upstream}`);
  const { clock, logger } = options;
  const writer = new RecordingWriter({ path: options.out, upstream: upstream.origin, recorder: options.recorder, label: options.label, withMedia: options.withMedia, now: clock.now() });
  const redactor = new Redactor();
  const recordingStarted = clock.now();
  let sessions = 0;
  const sockets = new Set<WebSocket>();

  /**
   * One session's record sink: stamps the session number and the time since it began (now, or the
   * clock time `at` when the record is written later than it happened, like a request whose body
   * had to be read first).
   */
  /** HTTP exchanges whose answer (or abandonment) is not recorded yet. */
  let exchangesOpen = 0;

  function sessionLog() {
    const session = ++sessions;
    const started = clock.now();
    return (record: WithoutSessionTime<RecordingRecord>, at = clock.now()): void => {
      // The first record of a session also says when it began within the recording.
      const first = record.kind === 'ws.open' || record.kind === 'ws.refused' || record.kind === 'http.request';
      writer.write({ session, t: at - started, ...(first ? { started: started - recordingStarted } : {}), ...record } as RecordingRecord);
    };
  }

  function recordedHeaders(headers: IncomingHttpHeaders, names: readonly string[]): Record<string, string> {
    const out: Record<string, string> = {};
    for (const name of names) {
      const raw = headers[name];
      if (raw === undefined) continue;
      const value = Array.isArray(raw) ? raw.join(', ') : raw;
      out[name] = name === 'authorization' ? redactor.authorization(value) : name === 'sec-websocket-protocol' ? redactor.subprotocols(value) : redactor.text(value);
    }
    return out;
  }

  // ---- HTTP ------------------------------------------------------------------------------------

  function forwardHttp(req: IncomingMessage, res: ServerResponse): void {
    const target = upstreamTarget(req.url);
    if (!target) {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'bad_request', message: 'ih-mock record: the request target must be a path starting with a single "/"' }));
      return;
    }
    const log = sessionLog();
    const arrived = clock.now();
    const [path, query] = splitTarget(req.url!);
    const headers = recordedHeaders(req.headers, RECORDED_REQUEST_HEADERS);
    const isTokenExchange = /^\/v[01]\/auth$/.test(path);
    // The request is recorded as soon as its body has passed (before the answer), the answer after it.
    const requestLogged = captureRequestBody(req, isTokenExchange).then((body) => log({ kind: 'http.request', method: req.method ?? 'GET', path, query: redactor.query(query), headers, body }, arrived));
    const upstreamReq = (upstream.protocol === 'https:' ? httpsRequest : httpRequest)(target, { method: req.method, headers: forwardedHeaders(req.headers) });
    // Exactly one answer is recorded: the upstream's, a 502 when it failed, or 499 when the client left first.
    let recorded = false;
    exchangesOpen++;
    // The answer's time is when it passed the proxy, even if the request's record is written later.
    const respond = (record: WithoutSessionTime<RecordingRecord>) => {
      if (recorded) return;
      recorded = true;
      const at = clock.now();
      void requestLogged.then(() => {
        log(record, at);
        exchangesOpen--;
      });
    };
    const failed = (status: number, text: string): WithoutSessionTime<RecordingRecord> => ({ kind: 'http.response', status, headers: {}, body: { kind: 'raw', bytes: 0, sha256: createHash('sha256').digest('hex'), text } });
    let upstreamFailed = false;
    upstreamReq.on('response', (upstreamRes) => {
      res.writeHead(upstreamRes.statusCode ?? 502, forwardedHeaders(upstreamRes.headers));
      const body = new BodyCapture();
      upstreamRes.on('data', (chunk: Buffer) => {
        body.add(chunk);
        res.write(chunk);
      });
      upstreamRes.on('end', () => {
        // The upstream answered before the whole request body arrived (an early 413, 429, …): it
        // needs no more of it, and may not read it; stop forwarding and read the rest for the record.
        // A client that asked to close the connection after this exchange would have its socket
        // closed with the answer while it is still sending (a broken pipe, not the answer): its
        // answer ends once its body has arrived.
        if (!req.complete) {
          req.unpipe(upstreamReq);
          upstreamReq.destroy();
          req.resume();
          if (!keepsAlive(req)) req.once('end', () => res.end());
          else res.end();
        } else {
          res.end();
        }
        respond({ kind: 'http.response', status: upstreamRes.statusCode ?? 0, headers: recordedHeaders(upstreamRes.headers, RECORDED_RESPONSE_HEADERS), body: summarizeBody(upstreamRes.headers['content-type'], body, isTokenExchange) });
      });
      // The upstream dropped mid-answer: drop the client too (as it would have seen directly), and
      // record it as the upstream's failure, not the client's.
      const dropped = (why: string) => {
        upstreamFailed = true;
        respond(failed(BAD_GATEWAY, `[the upstream cut the connection in the middle of its answer: ${why}]`));
        res.destroy();
      };
      upstreamRes.on('aborted', () => dropped('aborted'));
      upstreamRes.on('error', (err) => dropped(err.message));
    });
    upstreamReq.on('error', (err) => {
      if (recorded) return; // the client left first, and the proxy gave up on the upstream for it
      logger.warn({ err: err.message }, 'upstream request failed');
      upstreamFailed = true;
      const code = (err as NodeJS.ErrnoException).code;
      if (res.headersSent || !UNREACHABLE.has(code ?? '')) {
        // The upstream took the request and then cut the connection with no answer (or mid-answer):
        // the client sees the same cut. The record says so, as a 502 with no body.
        respond(failed(BAD_GATEWAY, `[the upstream cut the connection without an answer: ${redactor.text(err.message)}]`));
        res.destroy();
        req.socket.destroy();
        return;
      }
      // The upstream could not be reached at all: that is the proxy's own answer to give.
      res.writeHead(BAD_GATEWAY, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'bad_gateway', message: `ih-mock record: the upstream ${upstream.origin} did not answer (${err.message})` }));
      respond({ kind: 'http.response', status: BAD_GATEWAY, headers: { 'content-type': 'application/json' }, body: { kind: 'raw', bytes: 0, sha256: createHash('sha256').digest('hex'), text: redactor.text(err.message) } });
    });
    // The client gave up mid-request: so does the proxy, rather than leave the upstream waiting.
    onBodyCut(req, () => upstreamReq.destroy());
    res.on('close', () => {
      if (res.writableFinished || upstreamFailed) return;
      respond(failed(CLIENT_CLOSED_STATUS, '[the client closed the connection before the answer reached it]'));
      upstreamReq.destroy();
    });
    req.pipe(upstreamReq);
  }

  /** The upstream URL for a request target, or null unless it is a path (`/…`, not `//host…` or a URL). */
  function upstreamTarget(url: string | undefined): URL | null {
    if (!url || !url.startsWith('/') || url.startsWith('//')) return null;
    try {
      const target = new URL(url, upstream.origin);
      return target.origin === upstream.origin ? target : null;
    } catch {
      return null;
    }
  }

  /** What to record of a request body, learned while it streams through to the upstream. */
  function captureRequestBody(req: IncomingMessage, isTokenExchange: boolean): Promise<RecordedHttpBody | null> {
    const type = req.headers['content-type'] ?? '';
    if (/^multipart\/form-data/i.test(type)) return captureMultipart(req);
    return new Promise((resolve) => {
      const body = new BodyCapture();
      req.on('data', (chunk: Buffer) => body.add(chunk));
      req.on('end', () => resolve(body.size === 0 ? null : summarizeBody(type, body, isTokenExchange)));
      req.on('error', () => resolve(null));
      onBodyCut(req, () => resolve({ kind: 'raw', bytes: body.size, sha256: body.sha256(), text: ABORTED_BODY }));
    });
  }

  /** Fields as they are; each file as its size and hash (and its bytes in the sidecar with --with-media). */
  function captureMultipart(req: IncomingMessage): Promise<RecordedHttpBody | null> {
    return new Promise((resolve) => {
      const fields: { name: string; value: string }[] = [];
      const files: Extract<RecordedHttpBody, { kind: 'multipart' }>['files'] = [];
      let busboy: BusboyInstance;
      try {
        busboy = new Busboy({ headers: req.headers as { 'content-type': string } });
      } catch {
        resolve(null);
        return;
      }
      busboy.on('field', (name, value) => fields.push({ name, value: redactor.field(name, value) }));
      busboy.on('file', (field, stream, filename, _encoding, mimeType) => {
        const hash = createHash('sha256');
        let bytes = 0;
        const kept: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => {
          hash.update(chunk);
          bytes += chunk.length;
          if (options.withMedia) kept.push(chunk);
        });
        stream.on('end', () => {
          const sidecar = options.withMedia ? writer.media(Buffer.concat(kept)) : null;
          files.push({ field, filename: filename ?? null, content_type: mimeType ?? null, bytes, sha256: hash.digest('hex'), ...(sidecar ? { sidecar } : {}) });
        });
      });
      busboy.on('finish', () => resolve({ kind: 'multipart', fields, files }));
      busboy.on('error', () => resolve({ kind: 'multipart', fields, files }));
      // A client that stops mid-body (it read an early answer and left) never lets the form finish:
      // recorded as what arrived, like any other cut body, so the exchange is not lost.
      const raw = new BodyCapture();
      req.on('data', (chunk: Buffer) => raw.add(chunk));
      onBodyCut(req, () => resolve({ kind: 'raw', bytes: raw.size, sha256: raw.sha256(), text: ABORTED_BODY }));
      req.pipe(busboy);
    });
  }

  /** A body as recorded. Token-exchange bodies are kept only as parsed JSON (redacted): never as text. */
  function summarizeBody(contentType: string | undefined, body: BodyCapture, isTokenExchange: boolean): RecordedHttpBody {
    const whole = body.whole();
    const { size } = body;
    if (whole && (/json/i.test(contentType ?? '') || isTokenExchange)) {
      try {
        return { kind: 'json', json: redactor.json(JSON.parse(whole.toString('utf8'))) };
      } catch {
        // Not JSON after all: recorded as raw below.
      }
    }
    const text = whole && size <= 4096 && !isTokenExchange ? whole.toString('utf8') : undefined;
    return { kind: 'raw', bytes: size, sha256: body.sha256(), ...(text !== undefined && !text.includes('\uFFFD') ? { text: redactor.text(text) } : {}) };
  }

  // ---- WebSocket -------------------------------------------------------------------------------

  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 0, handleProtocols: (_offered, request) => (request as ProxiedUpgrade).ihSelectedProtocol ?? false });
  wss.on('headers', (headers, request) => {
    const correlationId = (request as ProxiedUpgrade).ihCorrelationId;
    if (correlationId) headers.push(`X-Correlation-ID: ${correlationId}`);
  });

  function forwardUpgrade(req: ProxiedUpgrade, socket: Duplex, head: Buffer): void {
    const target = upstreamTarget(req.url);
    if (!target) {
      socket.end('HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n{"error":"bad_request","message":"ih-mock record: the request target must be a path starting with a single /"}');
      return;
    }
    const log = sessionLog();
    const [path, rawQuery] = splitTarget(req.url!);
    const query = redactor.query(rawQuery);
    const headers = recordedHeaders(req.headers, RECORDED_REQUEST_HEADERS);
    target.protocol = upstream.protocol === 'https:' ? 'wss:' : 'ws:';
    const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim()).filter(Boolean);
    const forwarded: Record<string, string> = {};
    for (const name of ['authorization', 'x-client-request-id', 'origin', 'user-agent']) {
      const value = req.headers[name];
      if (typeof value === 'string') forwarded[name] = value;
    }
    const upstreamWs = new WebSocket(target, offered, { headers: forwarded, perMessageDeflate: false, maxPayload: 0 });
    sockets.add(upstreamWs);
    upstreamWs.on('close', () => sockets.delete(upstreamWs));
    // The client gave up during the upstream handshake: do not leave an upstream session open.
    const abandon = () => {
      if (upstreamWs.readyState === WebSocket.CONNECTING) upstreamWs.terminate();
    };
    socket.once('close', abandon);
    const timeline = new MediaTimeline({ minSegmentSeconds: 0, toleranceSeconds: null, acceptContinuation: true, maxMessageSeconds: Number.MAX_SAFE_INTEGER });
    let closeRecorded = false;
    const recordClose = (by: 'client' | 'server', code: number, reason: string) => {
      if (closeRecorded) return;
      closeRecorded = true;
      log({ kind: 'ws.close', by, code, reason: redactor.text(reason) });
    };

    upstreamWs.on('upgrade', (res) => {
      const selected = res.headers['sec-websocket-protocol'];
      req.ihSelectedProtocol = typeof selected === 'string' ? selected : undefined;
      const correlation = res.headers['x-correlation-id'];
      req.ihCorrelationId = typeof correlation === 'string' ? correlation : undefined;
    });
    upstreamWs.on('unexpected-response', (_request, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        log({ kind: 'ws.refused', path, query, headers, status: res.statusCode ?? 0, response_headers: recordedHeaders(res.headers, RECORDED_RESPONSE_HEADERS), body: redactor.text(body.toString('utf8')) });
        // The refusal as the upstream sent it: its headers (one content-length: ours) and its body bytes.
        const lines = [`HTTP/1.1 ${res.statusCode ?? 502} ${res.statusMessage ?? ''}`];
        for (const [name, value] of Object.entries(forwardedHeaders(res.headers))) if (name !== 'content-length') lines.push(`${name}: ${Array.isArray(value) ? value.join(', ') : String(value)}`);
        lines.push(`content-length: ${body.length}`, 'connection: close', '', '');
        socket.end(Buffer.concat([Buffer.from(lines.join('\r\n'), 'latin1'), body]));
      });
    });
    upstreamWs.on('error', (err) => {
      logger.warn({ err: err.message }, 'upstream WebSocket failed');
      if (upstreamWs.readyState === WebSocket.CONNECTING || !socket.writable) socket.destroy();
    });
    upstreamWs.on('open', () => {
      socket.off('close', abandon);
      if (socket.destroyed) {
        upstreamWs.terminate();
        return;
      }
      wss.handleUpgrade(req, socket, head, (client) => {
        sockets.add(client);
        log({ kind: 'ws.open', path, query, headers, protocol: client.protocol ? redactor.subprotocols(client.protocol) : null, correlation_id: req.ihCorrelationId ?? null });
        const fromClient = (data: RawData, isBinary: boolean) => {
          const bytes = toBuffer(data);
          if (isBinary) {
            const before = timeline.mediaEnd;
            const verdict = safePush(timeline, bytes);
            const sidecar = writer.media(bytes);
            const codecName = verdict?.codec ? (verdict.codec.name ?? verdict.codec.tag.trim()) : '';
            const codec = codecName ? { video_codec: codecName } : {};
            log({ kind: 'ws.client.binary', bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'), media_seconds: verdict ? roundSeconds(timeline.mediaEnd - before) : null, ...codec, ...(sidecar ? { sidecar } : {}) });
          } else {
            log({ kind: 'ws.client.text', text: redactor.text(bytes.toString('utf8')) });
          }
          upstreamWs.send(bytes, { binary: isBinary });
        };
        client.on('message', fromClient);
        upstreamWs.on('message', (data, isBinary) => {
          const bytes = toBuffer(data);
          if (isBinary) log({ kind: 'ws.server.binary', bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
          else log({ kind: 'ws.server.text', text: redactor.text(bytes.toString('utf8')) });
          client.send(bytes, { binary: isBinary });
        });
        client.on('close', (code, reason) => {
          sockets.delete(client);
          recordClose('client', code, reason.toString());
          closeOther(upstreamWs, code, reason.toString());
        });
        upstreamWs.on('close', (code, reason) => {
          recordClose('server', code, reason.toString());
          closeOther(client, code, reason.toString());
        });
        client.on('error', () => {});
      });
    });
  }

  const server: Server = createServer((req, res) => {
    try {
      forwardHttp(req, res);
    } catch (err) {
      logger.error({ err }, 'internal error while proxying a request');
      if (!res.headersSent) res.writeHead(500);
      res.end();
    }
  });
  server.on('upgrade', (req: ProxiedUpgrade, socket: Duplex, head: Buffer) => {
    socket.on('error', () => {});
    try {
      forwardUpgrade(req, socket, head);
    } catch (err) {
      logger.error({ err }, 'internal error while proxying an upgrade');
      socket.destroy();
    }
  });

  return {
    writer,
    listen: () => listenOn(server, options.host, options.port),
    async settled(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while ((sockets.size > 0 || exchangesOpen > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    },
    async close() {
      await shutDown(server, sockets);
      writer.close();
    },
  };
}

/**
 * Call `fn` once if the request's body stops before its end: the request closes incomplete, or its
 * connection closes (once the answer has been sent Node no longer reports the request's own close).
 */
function onBodyCut(req: IncomingMessage, fn: () => void): void {
  const socket = req.socket;
  let called = false;
  const check = () => {
    socket.off('close', check);
    if (called || req.complete) return;
    called = true;
    fn();
  };
  req.once('close', check);
  socket.once('close', check);
  // A complete body: the listener on a kept-alive connection would outlive the request.
  req.once('end', () => socket.off('close', check));
}

/** A body passing through: its size and hash, and its bytes while they are few enough to parse as JSON. */
class BodyCapture {
  size = 0;
  private readonly hash = createHash('sha256');
  private readonly chunks: Buffer[] = [];
  private digest: string | undefined;

  add(chunk: Buffer): void {
    this.size += chunk.length;
    this.hash.update(chunk);
    if (this.size <= MAX_JSON_CAPTURE) this.chunks.push(chunk);
  }

  sha256(): string {
    this.digest ??= this.hash.digest('hex');
    return this.digest;
  }

  /** The whole body, or null when it was too large to keep. */
  whole(): Buffer | null {
    return this.size <= MAX_JSON_CAPTURE ? Buffer.concat(this.chunks) : null;
  }
}

interface ProxiedUpgrade extends IncomingMessage {
  ihSelectedProtocol?: string | undefined;
  ihCorrelationId?: string | undefined;
}

/** `/path?query` → [path, query without '?']. */
function splitTarget(url: string): [string, string] {
  const at = url.indexOf('?');
  return at < 0 ? [url, ''] : [url.slice(0, at), url.slice(at + 1)];
}

function forwardedHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  return out;
}

/** Pass a close on to the other side with the same code, where the code may be sent; 1006 (dropped) is passed on as a drop. */
function closeOther(ws: WebSocket, code: number, reason: string): void {
  if (ws.readyState === WebSocket.CLOSED || ws.readyState === WebSocket.CLOSING) return;
  if (code === 1006) dropAfterFlush(ws);
  else if (isSendableCloseCode(code)) ws.close(code, reason);
  else ws.close();
}

/**
 * Drop the connection with no close frame, as the other side's was, but after the frames already
 * forwarded on it: a server that sends a frame and cuts the connection at once (the disconnect fault)
 * has the frame arrive before the cut, and so must the proxied client. `terminate()` would discard
 * frames still in the socket's buffer. The TCP connection is ended (FIN), and destroyed if it lingers.
 */
function dropAfterFlush(ws: WebSocket): void {
  const socket = socketOf(ws);
  if (!socket || socket.destroyed) {
    ws.terminate();
    return;
  }
  // The connection is gone for the other side: what this one still sends is neither forwarded nor recorded.
  ws.removeAllListeners('message');
  socket.end();
  setTimeout(() => ws.terminate(), 1000).unref();
}

/** The verdict on a message the client sent, or null when its media could not be read. */
function safePush(timeline: MediaTimeline, bytes: Buffer): Extract<SegmentVerdict, { ok: true }> | null {
  try {
    const verdict = timeline.push(bytes);
    return verdict.ok ? verdict : null;
  } catch {
    return null;
  }
}


