/**
 * The HTTP half of the recording proxy: every request that is not a WebSocket upgrade (the upload,
 * the token exchange, anything else) goes to the upstream as it came, its answer back to the client
 * byte for byte, and both into the recording.
 *
 * Invariants: exactly one answer is recorded per request (the upstream's, or the proxy's own with
 * `by: "recorder"`: 502 when the upstream could not be reached or cut the connection, 499 when the
 * client left first, 400 when the client's HTTP broke mid-request); the request is recorded once its
 * body has passed (or was cut), before its answer; nothing the client sends can throw out of here.
 */
import { createHash } from 'node:crypto';
import { request as httpRequest, type ClientRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Busboy, type BusboyInstance } from '@fastify/busboy';
import { keepsAlive } from '../connection.js';
import type { RecordedHttpBody, RecordingRecord } from '../types/generated.js';
import { ownAnswerHeaders, type OwnAnswer } from './answers.js';
import { CLIENT_CLOSED_STATUS, type WithoutSessionTime } from './format.js';
import { forwardedHeaders, recordedRequestHeaders, recordedResponseHeaders, splitTarget, upstreamTarget, type ProxyContext } from './proxy-context.js';
import { isCredentialName, type Redactor } from './redact.js';

/** JSON bodies larger than this are recorded as size and hash only. */
const MAX_JSON_CAPTURE = 1 << 20;
/** Raw (non-JSON) bodies up to this size keep their text in the record. */
const MAX_TEXT_CAPTURE = 4096;
/** Recorded when the upstream failed: unreachable (and the proxy answered), or it cut the connection. */
const BAD_GATEWAY = 502;
/** Errors that mean the upstream was never reached: the proxy answers 502 itself. Any other error is a cut. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT']);
/** The text of a request body the client stopped sending before its end. */
const ABORTED_BODY = '[aborted by the client before the body was complete]';

type ResponseRecord = WithoutSessionTime<Extract<RecordingRecord, { kind: 'http.response' }>>;

/** The record of one of the proxy's own answers. */
export function ownAnswerRecord(answer: OwnAnswer): ResponseRecord {
  return { kind: 'http.response', status: answer.status, headers: ownAnswerHeaders(answer), body: { kind: 'json', json: answer.body }, by: 'recorder' };
}

export function forwardHttp(ctx: ProxyContext, req: IncomingMessage, res: ServerResponse): void {
  const { upstream, redactor, answers, clock, logger } = ctx;
  // The credentials of the headers and request line are learned before anything of the body is
  // written, and even from a request that goes no further, so they are scrubbed wherever they reappear.
  recordedRequestHeaders(redactor, req.headers);
  const target = upstreamTarget(upstream, req.url);
  if (!target) {
    // Not recorded: the upstream never saw it.
    req.resume();
    answers.http(res, 400, 'the request target must be a path starting with a single "/" (the proxy forwards only to its upstream)');
    return;
  }
  const [path, query] = splitTarget(req.url!);
  redactor.query(query);
  let upstreamReq: ClientRequest;
  try {
    upstreamReq = (upstream.protocol === 'https:' ? httpsRequest : httpRequest)(target, { method: req.method, headers: forwardedHeaders(req.headers) });
  } catch (err) {
    // Node will not send something its parser accepted (a header it refuses to write): not recorded, the upstream never saw it.
    answers.http(res, 400, `the request cannot be forwarded as it came: ${(err as Error).message}`);
    req.resume();
    return;
  }
  const log = ctx.sessionLog();
  const arrived = clock.now();
  const isTokenExchange = /^\/v[01]\/auth$/.test(path);
  // The request is recorded as soon as its body has passed (before the answer), the answer after it.
  const requestLogged = captureRequestBody(ctx, req, isTokenExchange)
    .then((body) => log({ kind: 'http.request', method: req.method ?? 'GET', path: redactor.path(path), query: redactor.query(query), headers: recordedRequestHeaders(redactor, req.headers), body }, arrived))
    .catch((err: unknown) => logger.error({ err }, 'could not record a request'));
  // Exactly one answer is recorded: the upstream's, a 502 when it failed, 499 when the client left first, 400 when its HTTP broke.
  let recorded = false;
  ctx.work.exchangeStarted();
  // The answer's time is when it passed the proxy, even if the request's record is written later.
  const respond = (record: ResponseRecord) => {
    if (recorded) return;
    recorded = true;
    const at = clock.now();
    void requestLogged
      .then(() => log(record, at))
      .catch((err: unknown) => logger.error({ err }, 'could not record an answer'))
      .finally(() => ctx.work.exchangeRecorded());
  };
  const failed = (status: number, text: string): ResponseRecord => ({ kind: 'http.response', status, headers: {}, body: { kind: 'raw', bytes: 0, sha256: createHash('sha256').digest('hex'), text }, by: 'recorder' });
  // Set once the proxy has given up on this exchange (the upstream failed, the client's HTTP broke): no 499 is recorded after it.
  let givenUp = false;
  upstreamReq.on('response', (upstreamRes) => {
    if (givenUp) {
      upstreamRes.resume();
      return;
    }
    res.writeHead(upstreamRes.statusCode ?? BAD_GATEWAY, forwardedHeaders(upstreamRes.headers));
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
      respond({ kind: 'http.response', status: upstreamRes.statusCode ?? 0, headers: recordedResponseHeaders(redactor, upstreamRes.headers), body: summarizeBody(redactor, upstreamRes.headers['content-type'], body, isTokenExchange) });
    });
    // The upstream dropped mid-answer: drop the client too (as it would have seen directly), and
    // record it as the upstream's failure, not the client's.
    const dropped = (why: string) => {
      givenUp = true;
      respond(failed(BAD_GATEWAY, `[the upstream cut the connection in the middle of its answer: ${why}]`));
      res.destroy();
    };
    upstreamRes.on('aborted', () => dropped('aborted'));
    upstreamRes.on('error', (err) => dropped(err.message));
  });
  upstreamReq.on('error', (err) => {
    if (recorded || givenUp) return; // the client left first, and the proxy gave up on the upstream for it
    logger.warn({ err: err.message }, 'upstream request failed');
    givenUp = true;
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
    const answer = answers.http(res, BAD_GATEWAY, `the upstream ${upstream.origin} could not be reached (${code ?? err.message})`);
    respond(answer ? ownAnswerRecord(answer) : failed(BAD_GATEWAY, `[the upstream ${upstream.origin} could not be reached: ${code ?? err.message}]`));
  });
  ctx.inProgress.set(req.socket, {
    res,
    broken(answer, why) {
      givenUp = true;
      upstreamReq.destroy();
      respond(answer ? ownAnswerRecord(answer) : failed(CLIENT_CLOSED_STATUS, `[the client's request broke off: ${why}]`));
    },
  });
  // The client gave up mid-request: so does the proxy, rather than leave the upstream waiting.
  onBodyCut(req, () => upstreamReq.destroy());
  res.on('close', () => {
    if (ctx.inProgress.get(req.socket)?.res === res) ctx.inProgress.delete(req.socket);
    if (res.writableFinished || givenUp) return;
    respond(failed(CLIENT_CLOSED_STATUS, '[the client closed the connection before the answer reached it]'));
    upstreamReq.destroy();
  });
  req.pipe(upstreamReq);
}

/** What to record of a request body, learned while it streams through to the upstream. Never rejects. */
function captureRequestBody(ctx: ProxyContext, req: IncomingMessage, isTokenExchange: boolean): Promise<RecordedHttpBody | null> {
  const type = req.headers['content-type'] ?? '';
  if (/^multipart\/form-data/i.test(type)) return captureMultipart(ctx, req);
  return new Promise((resolve) => {
    const body = new BodyCapture();
    req.on('data', (chunk: Buffer) => body.add(chunk));
    req.on('end', () => resolve(body.size === 0 ? null : summarizeBody(ctx.redactor, type, body, isTokenExchange)));
    req.on('error', () => resolve({ kind: 'raw', bytes: body.size, sha256: body.sha256(), text: ABORTED_BODY }));
    onBodyCut(req, () => resolve({ kind: 'raw', bytes: body.size, sha256: body.sha256(), text: ABORTED_BODY }));
  });
}

/**
 * Fields as they are (credentials redacted); each file as its size and hash (and its bytes in the
 * sidecar with --with-media). A body that is not a complete form (cut before its final boundary, a
 * broken part) is recorded as its size and hash, with a note saying so.
 */
function captureMultipart(ctx: ProxyContext, req: IncomingMessage): Promise<RecordedHttpBody | null> {
  return new Promise((resolve) => {
    const fields: { name: string; value: string }[] = [];
    const files: Extract<RecordedHttpBody, { kind: 'multipart' }>['files'] = [];
    const raw = new BodyCapture();
    const asRaw = (text: string): RecordedHttpBody => ({ kind: 'raw', bytes: raw.size, sha256: raw.sha256(), text });
    req.on('data', (chunk: Buffer) => raw.add(chunk));
    // A client that stops mid-body (it read an early answer and left) never lets the form finish:
    // recorded as what arrived, like any other cut body, so the exchange is not lost.
    onBodyCut(req, () => resolve(asRaw(ABORTED_BODY)));
    let busboy: BusboyInstance;
    try {
      busboy = new Busboy({ headers: req.headers as { 'content-type': string } });
    } catch (err) {
      req.on('end', () => resolve(asRaw(`[not a multipart form the recorder can read: ${(err as Error).message}]`)));
      req.on('error', () => resolve(asRaw(ABORTED_BODY)));
      return;
    }
    // A part without a name (or a value) comes through as undefined: recorded as "".
    busboy.on('field', (name: string | undefined, value: string | undefined) => fields.push({ name: name ?? '', value: value ?? '' }));
    busboy.on('file', (fieldName: string | undefined, stream: NodeJS.ReadableStream, filename: string | undefined, _encoding: string, mimeType: string | undefined) => {
      const field = fieldName ?? '';
      const hash = createHash('sha256');
      let bytes = 0;
      const kept: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        bytes += chunk.length;
        if (ctx.withMedia) kept.push(chunk);
      });
      // A part cut short (the form ends before the part does) errors here and in the form itself, which says so below.
      stream.on('error', () => {});
      stream.on('end', () => {
        const sidecar = ctx.withMedia ? ctx.writer.media(Buffer.concat(kept)) : null;
        files.push({ field, filename: filename ?? null, content_type: mimeType ?? null, bytes, sha256: hash.digest('hex'), ...(sidecar ? { sidecar } : {}) });
      });
    });
    busboy.on('finish', () => {
      try {
        resolve(redactForm(ctx.redactor, fields, files));
      } catch (err) {
        // A bug here must cost the record its form, never the recorder its life.
        ctx.logger.error({ err }, 'could not summarise a multipart form');
        resolve(asRaw('[a multipart form the recorder could not summarise]'));
      }
    });
    busboy.on('error', (err: Error) => {
      req.unpipe(busboy);
      req.resume();
      const done = () => resolve(asRaw(`[not a complete multipart form: ${err.message}]`));
      if (req.complete) done();
      else req.once('end', done);
    });
    req.on('error', () => resolve(asRaw(ABORTED_BODY)));
    req.pipe(busboy);
  });
}

/** A form as recorded: credentials learned from credential-named fields first, then scrubbed from every name and value. */
function redactForm(redactor: Redactor, fields: { name: string; value: string }[], files: Extract<RecordedHttpBody, { kind: 'multipart' }>['files']): RecordedHttpBody {
  for (const f of fields) if (isCredentialName(f.name)) redactor.learn(f.value);
  return {
    kind: 'multipart',
    fields: fields.map((f) => ({ name: redactor.contained(f.name), value: redactor.field(f.name, f.value) })),
    files: files.map((f) => ({ ...f, field: redactor.contained(f.field), filename: f.filename === null ? null : redactor.contained(f.filename) })),
  };
}

/** A body as recorded. Token-exchange bodies are kept only as parsed JSON (redacted): never as text. */
function summarizeBody(redactor: Redactor, contentType: string | undefined, body: BodyCapture, isTokenExchange: boolean): RecordedHttpBody {
  const whole = body.whole();
  const { size } = body;
  if (whole && (/json/i.test(contentType ?? '') || isTokenExchange)) {
    try {
      return { kind: 'json', json: redactor.json(JSON.parse(whole.toString('utf8'))) };
    } catch {
      // Not JSON after all (or too deeply nested to redact): recorded as raw below.
    }
  }
  const text = whole && size <= MAX_TEXT_CAPTURE && !isTokenExchange ? whole.toString('utf8') : undefined;
  if (text === undefined || text.includes('\uFFFD')) return { kind: 'raw', bytes: size, sha256: body.sha256() };
  const form = /^application\/x-www-form-urlencoded/i.test(contentType ?? '');
  return { kind: 'raw', bytes: size, sha256: body.sha256(), text: form ? redactor.query(text) : redactor.text(text) };
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
    if (this.digest === undefined) this.hash.update(chunk);
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
