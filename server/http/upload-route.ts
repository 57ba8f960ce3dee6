/**
 * `POST /v1/upload/analyze` (docs/protocol.md §2): a video in a multipart/form-data body → the analysis of
 * the whole file, from the same engine as the stream (`server/analysis/file-analysis.ts`).
 *
 * Checks, in this order (each answers and stops):
 *  1. credential and scope (`interhumanai.upload`) → 401 ih2002 / 401 ih2001 / 403 ih2003;
 *  1b. the scenario's upload faults for this upload (`when: {upload: N}`, upload-faults.ts): a
 *     scripted error answers here; a disconnect cuts the connection here; a delay is added to the
 *     processing time of an upload that is analyzed (one refused below answers without it);
 *  2. per account: request rate → 429 ih3001; more than `uploadConcurrency` uploads in flight →
 *     429 ih3002; the scenario's `quota_exhausted` → 429 ih3003;
 *  3. not multipart/form-data → 400 ih4001;
 *  4. the body, streamed part by part: file bytes over `maxUploadBytes` → 413 ih4003 at once;
 *     no byte for `uploadIdleTimeoutSeconds`, or the body not complete after
 *     `uploadBodyTimeoutSeconds` (server clock, body-deadline.ts) → 408 ih4908 at once, and the
 *     connection is closed; no `file` part → 400 ih4001; a file under `minUploadBytes` (the docs'
 *     10 KB) → 400 ih4001, before its content is judged; then the probe's verdict: not a known
 *     container → 400 ih4002, no video track → 422 ih5001, unreadable or truncated → 422 ih5002, a
 *     video codec not in `videoCodecs` → 422 ih5002 naming it, shorter than `minUploadSeconds` →
 *     400 ih4007; a bug → 500 ih1001.
 *
 * Invariants:
 * - the file is never held in memory: each chunk goes to `FileProbe` (which keeps a few KB at most)
 *   and is dropped; bytes are counted as they arrive;
 * - an answer given before the body has been read (every refusal up to step 3, and 413) is sent at
 *   once; the parser is detached and the rest of the body is discarded as it arrives, never
 *   buffered, up to `DISCARD_LIMIT_BYTES`, after which the connection is cut. The connection is
 *   not closed by the server right after the answer: with request bytes still arriving that
 *   would be a TCP reset, which Node's fetch (undici) may see before the answer (measured with
 *   `Connection: close`: fetch failed with EPIPE in two of three runs of the 40-MB test). Clients that read early answers (undici, curl) stop
 *   sending and close the connection themselves; clients that send the whole body first (Python
 *   requests) still get the answer after it. A client that asked to close the connection after the
 *   exchange (Connection: close, Python's urllib) gets the answer once its body has been read, since
 *   Node closes such a connection with the answer (answerEarly);
 * - `include[]` fields count wherever they are in the body, before or after the file: the answer
 *   is computed only once the whole body has been read;
 * - every response carries `X-Correlation-ID` (app.ts), equal to `correlation_id` in error bodies;
 *   a concurrency slot is held from the check until the response is over or the client has gone.
 */
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { analyzeFile, UPLOAD_INCLUDE } from '../analysis/file-analysis.js';
import { SCOPE_UPLOAD, type Authenticator } from '../auth.js';
import type { Clock } from '../clock.js';
import { ERROR_TABLE, type ErrorCode } from '../errors.js';
import { codecRefusal, describeCodec } from '../media/codecs.js';
import { FileProbe, type ProbeResult } from '../media/file-probe.js';
import { DEFAULT_TOLERANCE_SECONDS } from '../media/timeline.js';
import type { ServerOptions } from '../options.js';
import type { Fault, Scenario, UploadResponse } from '../types/generated.js';
import { formatDiagnostics, validateHttpError, validateUploadResponse } from '../validation.js';
import { keepsAlive } from '../connection.js';
import { BodyDeadline } from './body-deadline.js';
import { authenticateRequest } from './credentials.js';
import { ConcurrencyLimiter, type RateLimiter } from './limits.js';
import type { Random } from '../random.js';
import { UploadFaults } from './upload-faults.js';
import { sendHttpError, sendRateLimited } from './reply.js';
import { requireCjs } from '../require-cjs.js';

const multipart = requireCjs('@fastify/multipart') as typeof import('@fastify/multipart').default;

export const UPLOAD_PATH = '/v1/upload/analyze';
/** Every ih code this route answers with (schemas/openapi.json documents them per status). */
export const UPLOAD_ERROR_CODES = ['ih1001', 'ih2001', 'ih2002', 'ih2003', 'ih3001', 'ih3002', 'ih3003', 'ih4001', 'ih4002', 'ih4003', 'ih4007', 'ih4908', 'ih5001', 'ih5002'] as const satisfies readonly ErrorCode[];
/** The multipart field holding the video. */
export const FILE_FIELD = 'file';
/** The repeated multipart text field holding include flags. */
export const INCLUDE_FIELD = 'include[]';
/**
 * Slack on `minUploadSeconds` (0.05 s): a recording a short frame under the minimum still passes.
 * The stream's default tolerance when a segment's frame duration is unknown.
 */
export const UPLOAD_TOLERANCE_SECONDS = DEFAULT_TOLERANCE_SECONDS;

/** Most request bytes discarded after an early answer before the connection is cut. */
export const DISCARD_LIMIT_BYTES = 64 * 1024 * 1024;

/**
 * Limits on the parts around the file: text fields are small (busboy keeps a field's value in
 * memory, so it is capped), and a body of thousands of parts is refused rather than walked.
 */
const MULTIPART_LIMITS = { fileSize: Number.MAX_SAFE_INTEGER, fieldSize: 4096, fields: 64, files: 16, parts: 128, headerPairs: 64 } as const;

/**
 * Buffer size of each part's stream in the multipart parser (busboy's `fileHwm`; default 16 KiB).
 * Why larger: busboy drains a part it skips (no `Content-Disposition: form-data`, over the files
 * limit) only from the next tick, and when such a part is handed more than this in one go its
 * parser pauses and is never resumed once the part has ended (@fastify/busboy 3.2.6): the upload
 * was never answered and kept its slot. The body arrives in socket reads of at most 64 KiB, and
 * Node pauses the socket while a request holds 16 KiB unread, so a part never gets 1 MiB in one go.
 * The upload body deadline (body-deadline.ts) still bounds any stall.
 */
const PART_BUFFER_BYTES = 1024 * 1024;

export interface UploadRouteDeps {
  options: ServerOptions;
  scenario: Scenario;
  /** The server's clock: the simulated processing time runs on it. */
  clock: Clock;
  authenticator: Authenticator;
  /** Requests per account (ih3001), shared with the other HTTP routes. */
  rateLimiter: RateLimiter;
  /** Uploads in flight per account (ih3002); default: a new one allowing `options.uploadConcurrency`. */
  concurrency?: ConcurrencyLimiter;
  /** Draws for upload faults with a probability. */
  random: Random;
  /** Faults queued for this upload through the admin API (used up by the call). */
  queuedFaults?: (request: IncomingMessage) => readonly Fault[];
}

/** What the server can do with the route once registered. */
export interface UploadRoute extends UploadActivity {
  /** Count uploads from 1 again for the scenario's `when: {upload: N}` faults. */
  resetFaultCount(): void;
}

/** What the upload route is doing now (for the programmatic API and tests). */
export interface UploadActivity {
  /** Uploads holding one of their account's concurrency slots: from the check until the answer is over or the client has gone. */
  readonly inFlight: number;
  /** Of those, the uploads waiting out their processing time (or a scripted delay). */
  readonly processing: number;
}

/** Register `POST /v1/upload/analyze` on `http`, in a context of its own (its body parsers affect no other route). */
export function registerUploadRoutes(http: FastifyInstance, deps: UploadRouteDeps): UploadRoute {
  const state: RouteState = {
    concurrency: deps.concurrency ?? new ConcurrencyLimiter(deps.options.uploadConcurrency),
    processing: new Set(),
    faults: new UploadFaults(deps.scenario.faults ?? [], deps.random),
  };
  // Shutting down: uploads still "processing" are cut (their connections closed), as stream
  // sessions are closed with 1001, so close() never waits out a simulated processing time.
  http.addHook('preClose', (done) => {
    for (const cut of [...state.processing]) cut();
    done();
  });
  void http.register(async (scope) => {
    // multipart/form-data is streamed by @fastify/multipart; any other body is left unread, so the
    // handler can answer ih4001 (rather than fastify's 415) without reading it.
    scope.removeAllContentTypeParsers();
    await scope.register(multipart, { limits: MULTIPART_LIMITS });
    scope.addContentTypeParser('*', (_request, _payload, done) => done(null));
    scope.setErrorHandler((err: Error & { statusCode?: number; code?: string }, request, reply) => {
      if (typeof err.code === 'string' && err.code.startsWith('FST_') && err.statusCode !== undefined && err.statusCode < 500) {
        // The multipart parser's complaints: a malformed body, or too many parts.
        request.log.info({ code: 'ih4001', reason: err.code }, 'upload refused: unreadable multipart body');
        return refuse(request, reply, 'ih4001', `The multipart/form-data body could not be read (${err.message}). Send the video in a field named "file".`);
      }
      request.log.error({ err }, 'upload failed');
      return refuse(request, reply, 'ih1001', 'Internal error in ih-mock while analyzing the upload. Please report it with this correlation id.');
    });
    if (deps.options.strictEvents) {
      // Every body this route sends must match its schema; a mismatch is a bug in ih-mock.
      scope.addHook('onSend', async (_request, reply, payload) => {
        const value: unknown = typeof payload === 'string' ? JSON.parse(payload) : payload;
        const check = reply.statusCode === 200 ? validateUploadResponse(value) : validateHttpError(value);
        if (!check.ok) throw new Error(`invalid ${reply.statusCode} body from ${UPLOAD_PATH}:\n${formatDiagnostics(check.errors)}`);
        return payload;
      });
    }
    scope.post(UPLOAD_PATH, (request, reply) => analyzeUpload(request, reply, deps, state));
  });
  return {
    get inFlight() {
      return state.concurrency.total;
    },
    get processing() {
      return state.processing.size;
    },
    resetFaultCount: () => state.faults.reset(),
  };
}

interface RouteState {
  readonly concurrency: ConcurrencyLimiter;
  /** Cut functions of the uploads waiting out their processing time. */
  readonly processing: Set<() => void>;
  readonly faults: UploadFaults;
}

async function analyzeUpload(request: FastifyRequest, reply: FastifyReply, deps: UploadRouteDeps, state: RouteState): Promise<FastifyReply> {
  const { options } = deps;
  const auth = authenticateRequest(deps.authenticator, request, SCOPE_UPLOAD);
  if (!auth.ok) {
    request.log.info({ code: auth.code }, 'upload refused');
    const message = auth.code === 'ih2003' ? `This credential lacks the ${SCOPE_UPLOAD} scope; ask POST /v1/auth for a token with it.` : undefined;
    return refuse(request, reply, auth.code, message);
  }
  const { account } = auth.principal;
  const log = request.log.child({ account });

  let delaySeconds = 0;
  for (const fault of state.faults.next(deps.queuedFaults?.(request.raw))) {
    if (fault.kind === 'disconnect') {
      log.info('upload fault: connection cut with no answer');
      request.raw.socket.destroy();
      return reply.hijack();
    }
    if (fault.kind === 'error') {
      log.info({ code: fault.fault.code }, 'upload fault: scripted error');
      if (fault.retryAfterSeconds !== null) reply.header('Retry-After', String(fault.retryAfterSeconds));
      return refuse(request, reply, fault.fault.code, fault.fault.message);
    }
    delaySeconds += fault.seconds;
  }

  const rate = deps.rateLimiter.take(account);
  if (!rate.ok) {
    log.info({ code: 'ih3001', retryAfterSeconds: rate.retryAfterSeconds }, 'upload refused');
    return answerEarly(request, reply, () => sendRateLimited(reply, rate.retryAfterSeconds));
  }
  const release = state.concurrency.acquire(account);
  if (release === null) {
    log.info({ code: 'ih3002' }, 'upload refused');
    return refuse(request, reply, 'ih3002', `Too many concurrent requests: this account already has ${options.uploadConcurrency} uploads in progress. Retry when one has finished.`);
  }
  // Held until the response is over, or the client has gone.
  reply.raw.once('close', release);
  if (deps.scenario.quota_exhausted) {
    log.info({ code: 'ih3003' }, 'upload refused');
    return refuse(request, reply, 'ih3003');
  }
  if (!request.isMultipart()) {
    const type = request.headers['content-type'];
    log.info({ code: 'ih4001', contentType: type }, 'upload refused: not multipart');
    return refuse(
      request,
      reply,
      'ih4001',
      `Expected a multipart/form-data body with the video in a field named "file" (got ${type ? `Content-Type: ${type}` : 'no Content-Type'}). For example: curl -F file=@call.mp4 …`,
    );
  }

  const deadline = new BodyDeadline(deps.clock, request.raw.socket, { idleSeconds: options.uploadIdleTimeoutSeconds, totalSeconds: options.uploadBodyTimeoutSeconds });
  const receiving = receiveUpload(request, options.maxUploadBytes);
  const received = await Promise.race([receiving, deadline.expired]);
  deadline.cancel();
  if (received.kind === 'timeout') {
    // The parser still waits for bytes; it gives up when the connection closes, below.
    receiving.catch(() => {});
    log.info({ code: 'ih4908', limit: received.limit, seconds: received.seconds }, 'upload refused: the body did not arrive in time');
    const message =
      received.limit === 'idle'
        ? `No bytes of the upload arrived for ${received.seconds} s (uploadIdleTimeoutSeconds); the upload was stopped.`
        : `The upload body was not complete after ${received.seconds} s (uploadBodyTimeoutSeconds); the upload was stopped.`;
    return refuseAndClose(request, reply, 'ih4908', message);
  }
  if (received.kind === 'too-large') {
    log.info({ code: 'ih4003', bytes: received.bytes }, 'upload refused: over the size limit');
    return refuse(request, reply, 'ih4003', `The file exceeds the ${formatBytes(options.maxUploadBytes)} upload limit (${options.maxUploadBytes} bytes); the upload was stopped there.`);
  }
  if (received.kind === 'unreadable') {
    if (request.raw.socket.destroyed) {
      log.info({ reason: received.message }, 'upload abandoned by the client');
      return reply.hijack();
    }
    log.info({ code: 'ih4001', reason: received.message }, 'upload refused: unreadable multipart body');
    return refuse(request, reply, 'ih4001', `The multipart/form-data body could not be read (${received.message}). Send the video in a field named "file".`);
  }
  if (received.kind === 'no-file') {
    log.info({ code: 'ih4001' }, 'upload refused: no file');
    const message = received.fileAsText
      ? 'The field "file" was sent as text: send the video as a file part (curl -F file=@call.mp4, or FormData.append("file", blob, "call.mp4")).'
      : received.empty
        ? 'The "file" part is empty (0 bytes).'
        : undefined;
    return refuse(request, reply, 'ih4001', message);
  }

  if (received.bytes < options.minUploadBytes) {
    // Checked before the content: the docs' 10 KB minimum is a size rule, like the 32 MB maximum.
    log.info({ code: 'ih4001', bytes: received.bytes }, 'upload refused: under the minimum size');
    return refuse(request, reply, 'ih4001', `The file is ${received.bytes} bytes; an upload must be at least ${formatBytes(options.minUploadBytes)} (${options.minUploadBytes} bytes).`);
  }

  const verdict = received.verdict;
  const refusal = verdictRefusal(verdict, options.minUploadSeconds, deps.scenario.limits?.video_codecs ?? options.videoCodecs);
  if (refusal !== null) {
    log.info({ code: refusal.code, bytes: received.bytes, reason: refusal.reason, ...(verdict.ok ? { codec: describeCodec(verdict.codec) } : {}) }, 'upload refused: media');
    return refuse(request, reply, refusal.code, refusal.message);
  }
  if (!verdict.ok) throw new Error('unreachable: a failed verdict is always refused');

  const include = [...new Set(received.include)].filter((flag) => UPLOAD_INCLUDE.includes(flag));
  const body: UploadResponse = analyzeFile({
    scenario: deps.scenario,
    windowSeconds: options.windowSeconds,
    hopSeconds: options.windowHopSeconds,
    qualityCadenceSeconds: options.qualityCadenceSeconds,
    durationSeconds: verdict.durationSeconds,
    include,
  });
  // Simulated processing time, on the server's clock: ratio × the file's duration (0 = at once),
  // plus any scripted delay.
  const processingMs = options.processingRatio * verdict.durationSeconds * 1000 + delaySeconds * 1000;
  if (processingMs > 0 && !(await processing(deps.clock, processingMs, reply, state.processing))) {
    log.info({ bytes: received.bytes }, 'upload cut during processing: the client went away, or the server is closing');
    return reply.hijack();
  }
  log.info({ bytes: received.bytes, container: verdict.container, codec: describeCodec(verdict.codec), durationSeconds: verdict.durationSeconds, include, signals: body.signals.length }, 'upload analyzed');
  return reply.code(200).send(body);
}

type Received =
  | { kind: 'too-large'; bytes: number }
  | { kind: 'no-file'; fileAsText: boolean; empty: boolean }
  | { kind: 'unreadable'; message: string }
  | { kind: 'file'; bytes: number; verdict: ProbeResult; include: string[] };

/**
 * Read the multipart body part by part. The first `file` part goes, chunk by chunk, to the probe;
 * other file parts are read and dropped; `include[]` values are collected; other fields are ignored.
 * Returns as soon as the file bytes (of every file part) exceed `maxBytes`, and with `unreadable`
 * when the multipart parser gives up (malformed body, too many parts, client gone).
 */
async function receiveUpload(request: FastifyRequest, maxBytes: number): Promise<Received> {
  const probe = new FileProbe();
  const include: string[] = [];
  let bytes = 0;
  let sawFile = false;
  let fileBytes = 0;
  let fileAsText = false;
  let probing = false;
  try {
    for await (const part of request.parts({ limits: MULTIPART_LIMITS, fileHwm: PART_BUFFER_BYTES })) {
      if (part.type === 'field') {
        if (part.fieldname === INCLUDE_FIELD && typeof part.value === 'string') include.push(part.value);
        else if (part.fieldname === FILE_FIELD) fileAsText = true;
        continue;
      }
      const analyzed: boolean = part.fieldname === FILE_FIELD && !sawFile;
      sawFile ||= analyzed;
      for await (const chunk of part.file as AsyncIterable<Buffer>) {
        bytes += chunk.length;
        if (bytes > maxBytes) return { kind: 'too-large', bytes };
        if (analyzed) {
          fileBytes += chunk.length;
          probing = true;
          probe.push(chunk); // throws only on a bug in ih-mock, never on bad media
          probing = false;
        }
      }
    }
  } catch (err) {
    if (probing) throw err;
    return { kind: 'unreadable', message: (err as Error).message };
  }
  if (!sawFile || fileBytes === 0) return { kind: 'no-file', fileAsText: !sawFile && fileAsText, empty: sawFile };
  return { kind: 'file', bytes: fileBytes, verdict: probe.finish(), include };
}

/**
 * The refusal a probe verdict calls for, or null when the file can be analyzed. `videoCodecs`: the
 * accepted codecs. A refused codec is 422 ih5002, the upload's code for media it cannot read: the
 * live stream reports the same codec as an undecodable segment (ih5004, also a media error), not as
 * an unsupported format (ih4002, a request error). Our inference; no upload of it was observed.
 */
export function verdictRefusal(verdict: ProbeResult, minSeconds: number, videoCodecs: readonly string[]): { code: ErrorCode; message: string; reason: string } | null {
  if (!verdict.ok) {
    switch (verdict.reason) {
      case 'unsupported':
        return {
          code: 'ih4002',
          reason: verdict.reason,
          message: `${ERROR_TABLE.ih4002.message} The container is detected from the file's first bytes, not from its name or content type: ${verdict.message}.`,
        };
      case 'no-video':
        return { code: 'ih5001', reason: verdict.reason, message: `${ERROR_TABLE.ih5001.message} (${verdict.message})` };
      case 'corrupt':
        return { code: 'ih5002', reason: verdict.reason, message: `${ERROR_TABLE.ih5002.message} (${verdict.message})` };
    }
  }
  const codec = codecRefusal(verdict.codec, videoCodecs);
  if (codec !== null) return { code: 'ih5002', reason: 'codec', message: `Unable to process the video: ${codec}.` };
  if (verdict.durationSeconds < minSeconds - UPLOAD_TOLERANCE_SECONDS) {
    return { code: 'ih4007', reason: 'too-short', message: `Video must be at least ${minSeconds} seconds; this ${verdict.container} file holds ${verdict.durationSeconds.toFixed(3)} s of video.` };
  }
  return null;
}

/**
 * Wait `ms` on the clock; false if the client went away first, or the server closed (then the
 * connection is closed without an answer). The timer is cancelled either way.
 */
function processing(clock: Clock, ms: number, reply: FastifyReply, pending: Set<() => void>): Promise<boolean> {
  return new Promise((resolve) => {
    const settle = (completed: boolean) => {
      clock.clearTimeout(timer);
      reply.raw.off('close', onClose);
      pending.delete(cut);
      resolve(completed);
    };
    const onClose = () => settle(false);
    const cut = () => {
      settle(false);
      reply.raw.destroy();
    };
    const timer = clock.setTimeout(() => settle(true), ms);
    reply.raw.once('close', onClose);
    pending.add(cut);
  });
}

/** Send the v1 error for `code`; if the body is still arriving, stop reading it first (see `stopReading`). */
function refuse(request: FastifyRequest, reply: FastifyReply, code: ErrorCode, message?: string): FastifyReply | Promise<FastifyReply> {
  return answerEarly(request, reply, () => sendHttpError(reply, code, message));
}

/**
 * Answer now and close the connection after the answer, whatever the client asked: for a body
 * that stopped arriving, whose end may never come (so `answerEarly`'s wait for it cannot apply).
 */
function refuseAndClose(request: FastifyRequest, reply: FastifyReply, code: ErrorCode, message: string): FastifyReply {
  stopReading(request, reply);
  if (request.raw.socket.destroyed) return reply.hijack();
  reply.header('Connection', 'close');
  return sendHttpError(reply, code, message);
}

/**
 * Answer before the body has been read: the rest of it is discarded (stopReading). A client that
 * asked to close the connection after this exchange (Connection: close, HTTP/1.0, Python's urllib)
 * would have it closed with the answer while it is still sending, and see a broken pipe instead of
 * the answer: it gets the answer once the rest of its body has been read and discarded (up to
 * DISCARD_LIMIT_BYTES, after which it is cut).
 */
function answerEarly(request: FastifyRequest, reply: FastifyReply, send: () => FastifyReply): FastifyReply | Promise<FastifyReply> {
  const raw = request.raw;
  stopReading(request, reply);
  if (raw.complete || keepsAlive(raw)) return send();
  return new Promise((resolve) => {
    let done = false;
    const answer = () => {
      if (done) return;
      done = true;
      resolve(raw.socket.destroyed ? reply.hijack() : send());
    };
    raw.once('end', answer);
    raw.once('close', answer);
  });
}


/**
 * Answering before the whole body has arrived: detach the multipart parser and discard the rest of
 * the body as it arrives (never buffered), so the connection stays usable and the client, which
 * reads the answer while still sending, is not reset. A client that keeps sending more than
 * `DISCARD_LIMIT_BYTES` after that has its connection cut.
 */
function stopReading(request: FastifyRequest, reply: FastifyReply): void {
  const raw = request.raw;
  if (raw.complete) return;
  raw.unpipe();
  let discarded = 0;
  raw.on('data', (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > DISCARD_LIMIT_BYTES) {
      reply.log.info({ discarded }, 'upload: the client kept sending after the answer; connection cut');
      raw.socket.destroy();
    }
  });
  raw.resume();
}

function formatBytes(bytes: number): string {
  if (bytes > 0 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MB`;
  if (bytes > 0 && bytes % 1024 === 0) return `${bytes / 1024} KB`;
  return `${bytes} bytes`;
}
