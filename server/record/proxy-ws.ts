/**
 * The WebSocket half of the recording proxy: a client's upgrade is checked, then opened to the
 * upstream with the same credential, and only once the upstream has accepted is the client's
 * upgrade completed, with the upstream's subprotocol and X-Correlation-ID. Every frame both ways is
 * recorded as it passes; a close on one side is passed on to the other.
 *
 * Invariants: every upgrade gets an answer: the upstream's (101, or its refusal as it sent it), or
 * the proxy's own v1 error (400 for a handshake it cannot complete, 502 when the upstream cannot be
 * reached or fails the handshake, 504 when it does not finish it in time); an upstream session is
 * never left open for a client that has gone; nothing the client sends can throw out of here.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer } from 'ws';
import { isSendableCloseCode } from '../close-codes.js';
import { receiveMessages, socketOf } from '../connection.js';
import { roundSeconds } from '../media/common.js';
import { MediaTimeline, type SegmentVerdict } from '../media/timeline.js';
import { ownAnswerHeaders, type OwnAnswer } from './answers.js';
import { forwardedHeaders, recordedRequestHeaders, recordedResponseHeaders, splitTarget, upstreamTarget, type ProxyContext, type SessionLog } from './proxy-context.js';

/**
 * Largest frame the proxy reads, either way. Far above what the upstream accepts (the live service
 * refuses segments over 32 MB with ih6002, which it must be able to send), so the upstream decides;
 * a bound all the same, so one frame cannot exhaust the recorder's memory.
 */
export const MAX_PROXIED_FRAME_BYTES = 256 * 1024 * 1024;

/** RFC 7230 tokens, comma-separated, no duplicates: what the proxy's WebSocket layer accepts as Sec-WebSocket-Protocol. */
const SUBPROTOCOL_LIST = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+(?:[ \t]*,[ \t]*[!#$%&'*+\-.^_`|~0-9A-Za-z]+)*$/;
const WEBSOCKET_KEY = /^[+/0-9A-Za-z]{22}==$/;

interface ProxiedUpgrade extends IncomingMessage {
  ihSelectedProtocol?: string | undefined;
  ihCorrelationId?: string | undefined;
}

/** The upgrade handler of a recording proxy. */
export function createUpgradeForwarder(ctx: ProxyContext): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  const { upstream, redactor, answers, clock, logger } = ctx;
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: MAX_PROXIED_FRAME_BYTES, handleProtocols: (_offered, request) => (request as ProxiedUpgrade).ihSelectedProtocol ?? false });
  wss.on('headers', (headers, request) => {
    const correlationId = (request as ProxiedUpgrade).ihCorrelationId;
    if (correlationId) headers.push(`X-Correlation-ID: ${correlationId}`);
  });
  // Checked before the upstream was asked (handshakeProblem), so never expected; answered all the same rather than with ws's text/html.
  wss.on('wsClientError', (err, socket) => {
    answers.raw(socket, 400, `the WebSocket handshake cannot be completed: ${err.message}`);
  });

  return function forwardUpgrade(req: ProxiedUpgrade, socket: Duplex, head: Buffer): void {
    // The credentials are learned (so they are scrubbed wherever they reappear) even from an upgrade that goes no further.
    const headers = recordedRequestHeaders(redactor, req.headers);
    const target = upstreamTarget(upstream, req.url);
    // Neither is recorded: the upstream never saw them.
    if (!target) {
      answers.raw(socket, 400, 'the request target must be a path starting with a single "/" (the proxy forwards only to its upstream)');
      return;
    }
    const problem = handshakeProblem(req);
    if (problem) {
      answers.raw(socket, problem.status, problem.message);
      return;
    }
    const [path, rawQuery] = splitTarget(req.url!);
    const query = redactor.query(rawQuery);
    target.protocol = upstream.protocol === 'https:' ? 'wss:' : 'ws:';
    const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim()).filter(Boolean);
    const forwarded: Record<string, string> = {};
    for (const name of ['authorization', 'x-client-request-id', 'origin', 'user-agent']) {
      const value = req.headers[name];
      if (typeof value === 'string') forwarded[name] = value;
    }
    let upstreamWs: WebSocket;
    try {
      upstreamWs = new WebSocket(target, offered, { headers: forwarded, perMessageDeflate: false, maxPayload: MAX_PROXIED_FRAME_BYTES });
    } catch (err) {
      // Checked above, so never expected: the upstream connection could not even be attempted.
      answers.raw(socket, 400, `the WebSocket handshake cannot be forwarded as it came: ${(err as Error).message}`);
      return;
    }
    const log = ctx.sessionLog();
    ctx.work.socketOpened(upstreamWs);
    upstreamWs.on('close', () => ctx.work.socketClosed(upstreamWs));
    // Answered (by the upstream's refusal, the proxy's own error, or the completed upgrade): nothing else is sent on the raw socket.
    let answered = false;
    const settle = () => {
      answered = true;
      clock.clearTimeout(handshakeTimer);
      socket.off('close', abandon);
    };
    // Set when the proxy itself cuts the upstream handshake (the client left, the refusal was passed on): no failure to report.
    let closedOnPurpose = false;
    // The client gave up during the upstream handshake: do not leave an upstream session open.
    const abandon = () => {
      if (upstreamWs.readyState !== WebSocket.CONNECTING) return;
      closedOnPurpose = true;
      upstreamWs.terminate();
    };
    socket.once('close', abandon);
    let timedOut = false;
    const handshakeTimer = clock.setTimeout(() => {
      if (upstreamWs.readyState !== WebSocket.CONNECTING) return;
      timedOut = true;
      upstreamWs.terminate(); // emits 'error': answered there
    }, ctx.upstreamHandshakeTimeoutMs);
    const refuseOwn = (answer: OwnAnswer | null) => {
      if (answer) log({ kind: 'ws.refused', path, query, headers, status: answer.status, response_headers: ownAnswerHeaders(answer), body: answer.text, by: 'recorder' });
    };

    upstreamWs.on('upgrade', (res) => {
      const selected = res.headers['sec-websocket-protocol'];
      req.ihSelectedProtocol = typeof selected === 'string' ? selected : undefined;
      const correlation = res.headers['x-correlation-id'];
      req.ihCorrelationId = typeof correlation === 'string' ? correlation : undefined;
    });
    upstreamWs.on('unexpected-response', (_request, res) => {
      if (answered) return;
      settle();
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      const upstreamBroke = (why: string) => {
        refuseOwn(answers.raw(socket, 502, `the upstream ${upstream.origin} cut its answer to the WebSocket handshake (${why})`));
        upstreamWs.terminate();
      };
      res.on('aborted', () => upstreamBroke('aborted'));
      res.on('error', (err) => upstreamBroke(err.message));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        log({ kind: 'ws.refused', path, query, headers, status: res.statusCode ?? 0, response_headers: recordedResponseHeaders(redactor, res.headers), body: redactor.jsonOrText(body.toString('utf8')) });
        // The refusal as the upstream sent it: its headers (one content-length: ours) and its body bytes.
        const lines = [`HTTP/1.1 ${res.statusCode ?? 502} ${res.statusMessage ?? ''}`];
        for (const [name, value] of Object.entries(forwardedHeaders(res.headers))) if (name !== 'content-length') lines.push(`${name}: ${Array.isArray(value) ? value.join(', ') : String(value)}`);
        lines.push(`content-length: ${body.length}`, 'connection: close', '', '');
        if (!socket.destroyed) socket.end(Buffer.concat([Buffer.from(lines.join('\r\n'), 'latin1'), body]));
        closedOnPurpose = true;
        upstreamWs.terminate(); // the refused handshake's connection is done with
      });
    });
    upstreamWs.on('error', (err) => {
      if (closedOnPurpose) return;
      logger.warn({ err: err.message }, 'upstream WebSocket failed');
      if (answered) return; // after the upgrade the close handlers pass the failure on
      settle();
      if (socket.destroyed) return; // the client left first
      // The upstream could not be reached, failed the handshake, or took too long: the proxy's own answer.
      const answer = timedOut
        ? answers.raw(socket, 504, `the upstream ${upstream.origin} did not complete the WebSocket handshake within ${ctx.upstreamHandshakeTimeoutMs / 1000} s`)
        : answers.raw(socket, 502, `the upstream ${upstream.origin} could not be reached or failed the WebSocket handshake (${(err as NodeJS.ErrnoException).code ?? err.message})`);
      refuseOwn(answer);
    });
    upstreamWs.on('open', () => {
      settle();
      if (socket.destroyed) {
        upstreamWs.terminate();
        return;
      }
      wss.handleUpgrade(req, socket, head, (client) => proxySession(ctx, log, client, upstreamWs, { path, query, headers, correlationId: req.ihCorrelationId ?? null }));
    });
  };
}

/** Frames both ways, recorded as they pass; a close on either side passed on to the other. */
function proxySession(ctx: ProxyContext, log: SessionLog, client: WebSocket, upstreamWs: WebSocket, open: { path: string; query: string; headers: Record<string, string>; correlationId: string | null }): void {
  const { redactor, writer } = ctx;
  ctx.work.socketOpened(client);
  log({ kind: 'ws.open', path: open.path, query: open.query, headers: open.headers, protocol: client.protocol ? redactor.selectedProtocol(client.protocol) : null, correlation_id: open.correlationId });
  const timeline = new MediaTimeline({ minSegmentSeconds: 0, toleranceSeconds: null, acceptContinuation: true, maxMessageSeconds: Number.MAX_SAFE_INTEGER });
  let closeRecorded = false;
  const recordClose = (by: 'client' | 'server', code: number, reason: string) => {
    if (closeRecorded) return;
    closeRecorded = true;
    log({ kind: 'ws.close', by, code, reason: redactor.text(reason) });
  };
  receiveMessages(client, (bytes, isBinary) => {
    if (isBinary) {
      const before = timeline.mediaEnd;
      const verdict = safePush(timeline, bytes);
      const sidecar = writer.media(bytes);
      const codecName = verdict?.codec ? (verdict.codec.name ?? verdict.codec.tag.trim()) : '';
      const codec = codecName ? { video_codec: codecName } : {};
      log({ kind: 'ws.client.binary', bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'), media_seconds: verdict ? roundSeconds(timeline.mediaEnd - before) : null, ...codec, ...(sidecar ? { sidecar } : {}) });
    } else {
      log({ kind: 'ws.client.text', text: redactor.jsonOrText(bytes.toString('utf8')) });
    }
    upstreamWs.send(bytes, { binary: isBinary });
  });
  receiveMessages(upstreamWs, (bytes, isBinary) => {
    if (isBinary) log({ kind: 'ws.server.binary', bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
    else log({ kind: 'ws.server.text', text: redactor.jsonOrText(bytes.toString('utf8')) });
    client.send(bytes, { binary: isBinary });
  });
  client.on('close', (code, reason) => {
    ctx.work.socketClosed(client);
    recordClose('client', code, reason.toString());
    closeOther(upstreamWs, code, reason.toString());
  });
  upstreamWs.on('close', (code, reason) => {
    recordClose('server', code, reason.toString());
    closeOther(client, code, reason.toString());
  });
  client.on('error', () => {});
}

/** Why the proxy cannot complete this client's WebSocket handshake (the same rules as its WebSocket layer), or null. */
function handshakeProblem(req: IncomingMessage): { status: number; message: string } | null {
  if (req.method !== 'GET') return { status: 405, message: `a WebSocket handshake is a GET request, not ${req.method ?? '?'}` };
  if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') return { status: 400, message: 'a WebSocket handshake needs Upgrade: websocket' };
  const key = req.headers['sec-websocket-key'];
  if (typeof key !== 'string' || !WEBSOCKET_KEY.test(key)) return { status: 400, message: 'a WebSocket handshake needs a Sec-WebSocket-Key of 16 bytes in base64' };
  const version = req.headers['sec-websocket-version'];
  if (version !== '13' && version !== '8') return { status: 400, message: 'a WebSocket handshake needs Sec-WebSocket-Version: 13' };
  const protocols = req.headers['sec-websocket-protocol'];
  if (protocols !== undefined) {
    const list = protocols.split(',').map((p) => p.trim());
    if (!SUBPROTOCOL_LIST.test(protocols) || new Set(list).size !== list.length) return { status: 400, message: 'Sec-WebSocket-Protocol must be a comma-separated list of distinct tokens' };
  }
  return null;
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
