/**
 * `ih-mock replay`: serve a recording back. Each stream connection gets the next recorded stream
 * session (or the one named by `?session=N`): the recorded server frames and close, paced as
 * recorded (optionally scaled) or by the client's own media; each HTTP request gets the next
 * recorded answer for its method and path. What the client sends is compared with what the recorded
 * client sent, semantically (config frames by content, segments by count and media duration, upload
 * fields and files by name and count; never raw bytes), and every difference is reported.
 *
 * Invariants: server frames leave in recorded order; a frame that answers something the client sends
 * (session.updated or ih6001 its config frame, an error naming segment n that segment, the closing
 * frames session.close) never leaves before it, at any pace; with media pacing a frame also waits
 * until the live client has sent the media it is about (see `mediaNeeded`); nothing is sent after the
 * client closed. Every session ends: a client that stops short (fewer segments, no session.close)
 * is reported, and once it has been silent for `clientIdleMs` while the recorded session can go no
 * further, it gets the rest of the recorded session and its close.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Clock, TimerHandle } from '../clock.js';
import { envelopeMediaTime } from '../analysis/events.js';
import { isSendableCloseCode } from '../close-codes.js';
import { receiveMessages } from '../connection.js';
import { MediaTimeline } from '../media/timeline.js';
import type { Random } from '../random.js';
import type { RecordedHttpBody, WsCloseRecord } from '../types/generated.js';
import { CLIENT_CLOSED_STATUS } from './format.js';
import { listenOn, shutDown } from './net.js';
import { REDACTED, Redactor } from './redact.js';
import type { RecordedExchange, RecordedStream, Recording } from './reader.js';

export type ReplayPace = { mode: 'recorded'; speed: number } | { mode: 'media' };

/** Something the live client did differently from the recorded one. */
export interface Divergence {
  /** The recorded session replayed. */
  session: number;
  message: string;
  expected?: unknown;
  actual?: unknown;
}

export interface ReplayOptions {
  recording: Recording;
  pace: ReplayPace;
  host: string;
  port: number;
  clock: Clock;
  random: Random;
  logger: Logger;
  /** Called with each divergence as it is found. */
  onDivergence?: (divergence: Divergence) => void;
  /**
   * How long (ms of `clock`) a client may stay silent, once the recorded session can go no further
   * without it (every frame due has left, or the next waits for something the client has not sent),
   * before its shortfall is reported and it gets the rest of the recorded session. Default 10 000.
   */
  clientIdleMs?: number;
}

/** How long a silent client is waited for, by default, before the recorded ending is sent. */
export const DEFAULT_CLIENT_IDLE_MS = 10_000;

export interface ReplayServer {
  readonly divergences: readonly Divergence[];
  listen(): Promise<string>;
  close(): Promise<void>;
}

/** How far the live client has got. */
interface Progress {
  /** Config frames (text frames other than session.close). */
  configs: number;
  /** Whether session.close was sent. */
  closed: boolean;
  binaries: number;
  mediaSeconds: number;
}

/** The client frames a server frame answers, at every pace (carried forward, so frames keep their order). */
interface Answered {
  configs: number;
  closed: boolean;
  /** The segment (1-based) an error names. */
  segment: number;
}

/** The media a server frame also waits for under media pacing (carried forward too). */
interface MediaNeed {
  binaries: number;
  mediaSeconds: number;
}

/** A server frame to send, and what it waits for: `answers` at every pace, `media` too under media pacing. */
type Action = { t: number; answers: Answered; media: MediaNeed } & ({ kind: 'text'; text: string } | { kind: 'close'; code: number; reason: string });

/** A media-duration difference below this is rounding, not a divergence. */
const MEDIA_TOLERANCE_SECONDS = 0.05;

export function createReplayServer(options: ReplayOptions): ReplayServer {
  const { recording, clock, logger } = options;
  const divergences: Divergence[] = [];
  const diverge = (d: Divergence) => {
    divergences.push(d);
    logger.warn(d, 'replay divergence');
    options.onDivergence?.(d);
  };
  const streams = recording.sessions.filter((s): s is RecordedStream => s.kind === 'stream');
  const exchanges = recording.sessions.filter((s): s is RecordedExchange => s.kind === 'http' && s.response !== undefined);
  let nextStream = 0;
  const used = new Set<number>();
  const sockets = new Set<WebSocket>();

  // ---- HTTP ------------------------------------------------------------------------------------

  async function replayHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const [path = '/'] = (req.url ?? '/').split('?');
    const at = exchanges.findIndex((e) => !used.has(e.session) && e.request.method === req.method && e.request.path === path);
    // Claimed before the body is read, so concurrent requests get different exchanges.
    if (at >= 0) used.add(exchanges[at]!.session);
    const body = await readBody(req);
    if (at < 0) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'not_recorded', message: `ih-mock replay: the recording has no (more) ${req.method} ${path} exchanges` }));
      return;
    }
    const exchange = exchanges[at]!;
    compareHttpRequest(exchange, req, body);
    const response = exchange.response!;
    // The recorded client left before any answer: neither does this one get one (the connection is
    // cut when the replay ends, or when the client leaves).
    if (response.status === CLIENT_CLOSED_STATUS) return;
    const headers: Record<string, string> = {};
    for (const name of ['content-type', 'x-correlation-id', 'retry-after']) if (response.headers[name] !== undefined) headers[name] = response.headers[name]!;
    res.writeHead(response.status, headers);
    res.end(replayBody(response.body));
  }

  function compareHttpRequest(exchange: RecordedExchange, req: IncomingMessage, body: Buffer): void {
    const recorded = exchange.request.body;
    const session = exchange.session;
    if (recorded?.kind === 'json') {
      let actual: unknown;
      try {
        actual = JSON.parse(body.toString('utf8'));
      } catch {
        diverge({ session, message: `${exchange.request.method} ${exchange.request.path}: the recorded request had a JSON body, this one is not JSON` });
        return;
      }
      if (!sameJsonIgnoringRedacted(recorded.json, actual)) diverge({ session, message: `${exchange.request.method} ${exchange.request.path}: the JSON body differs`, expected: recorded.json, actual: redactLike(recorded.json, actual) });
    } else if (recorded?.kind === 'multipart') {
      const actual = multipartSummary(req.headers['content-type'] ?? '', body);
      const expectedFields = recorded.fields.map((f) => `${f.name}=${f.value}`).sort();
      const actualFields = actual.fields.sort();
      if (!isDeepStrictEqual(expectedFields, actualFields)) diverge({ session, message: `${exchange.request.path}: the form fields differ`, expected: expectedFields, actual: actualFields });
      const expectedFiles = recorded.files.map((f) => f.field).sort();
      if (!isDeepStrictEqual(expectedFiles, actual.files.sort())) diverge({ session, message: `${exchange.request.path}: the uploaded files differ (by field)`, expected: expectedFiles, actual: actual.files });
    }
  }

  /** The recorded body; a redacted access token is replaced by a fresh-looking one the replay accepts. */
  function replayBody(body: RecordedHttpBody | null): string {
    if (body === null) return '';
    if (body.kind === 'json') return JSON.stringify(unredactTokens(body.json, options.random));
    if (body.kind === 'raw') return body.text ?? '';
    return '';
  }

  // ---- WebSocket -------------------------------------------------------------------------------

  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: 0,
    // Echo what the emulator would: `access_token` for the pair form, else the one offered value.
    handleProtocols: (offered) => (offered.has('access_token') ? 'access_token' : (offered.values().next().value ?? false)),
  });
  wss.on('headers', (headers, request) => {
    const id = (request as ReplayUpgrade).ihCorrelationId;
    if (id) headers.push(`X-Correlation-ID: ${id}`);
  });

  function replayUpgrade(req: ReplayUpgrade, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://replay');
    const asked = url.searchParams.get('session');
    const stream = asked !== null ? streams.find((s) => String(s.session) === asked) : streams[nextStream++];
    if (!stream) {
      const message = asked !== null ? `no stream session ${asked} in the recording (it has ${streams.map((s) => s.session).join(', ') || 'none'})` : 'the recording has no more stream sessions';
      socket.end(httpResponse(410, 'Gone', { 'content-type': 'application/json' }, JSON.stringify({ error: 'not_recorded', message: `ih-mock replay: ${message}` })));
      return;
    }
    const open = stream.open;
    if (open.kind === 'ws.refused') {
      socket.end(httpResponse(open.status, '', open.response_headers, open.body));
      return;
    }
    req.ihCorrelationId = open.correlation_id ?? undefined;
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      ws.on('close', () => sockets.delete(ws));
      new StreamReplay(stream, ws, options.pace, clock, diverge, options.clientIdleMs ?? DEFAULT_CLIENT_IDLE_MS).start();
    });
  }

  const server: Server = createServer((req, res) => {
    replayHttp(req, res).catch((err: unknown) => {
      logger.error({ err }, 'replay failed to answer');
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  server.on('upgrade', (req: ReplayUpgrade, socket: Duplex, head: Buffer) => {
    socket.on('error', () => {});
    try {
      replayUpgrade(req, socket, head);
    } catch (err) {
      logger.error({ err }, 'replay failed to open a stream session');
      socket.destroy();
    }
  });

  return {
    divergences,
    listen: () => listenOn(server, options.host, options.port),
    async close() {
      await shutDown(server, sockets);
    },
  };
}

/** One live connection replaying one recorded stream session. */
class StreamReplay {
  private readonly actions: Action[] = [];
  private readonly recordedTexts: string[] = [];
  private readonly recordedMedia: (number | null)[] = [];
  /** Recorded text frames other than session.close, and whether the recorded client sent session.close. */
  private readonly recordedConfigs: number;
  private readonly recordedClose: boolean;
  /** Whether the recorded client closed the connection first (the live one is then expected to). */
  private readonly recordedClientClosed: boolean;
  private readonly live: Progress = { configs: 0, closed: false, binaries: 0, mediaSeconds: 0 };
  private liveTexts = 0;
  private readonly timeline = new MediaTimeline({ minSegmentSeconds: 0, toleranceSeconds: null, acceptContinuation: true, maxMessageSeconds: Number.MAX_SAFE_INTEGER });
  private readonly openedAt: number;
  private timer: TimerHandle | undefined;
  private idleTimer: TimerHandle | undefined;
  /** No more frames are sent (the session ended, or is ending). */
  private done = false;
  /** The shortfall has been reported. */
  private accounted = false;
  private readonly session: number;

  constructor(
    stream: RecordedStream,
    private readonly ws: WebSocket,
    private readonly pace: ReplayPace,
    private readonly clock: Clock,
    private readonly diverge: (d: Divergence) => void,
    private readonly clientIdleMs: number,
  ) {
    this.session = stream.session;
    this.openedAt = clock.now();
    let recordedMedia = 0;
    let recordedBinaries = 0;
    let close: WsCloseRecord | undefined;
    // What each server frame waits for (see `answersTo` and `mediaNeeded`), carried forward so frames keep their order.
    let answers: Answered = { configs: 0, closed: false, segment: 0 };
    let media: MediaNeed = { binaries: 0, mediaSeconds: 0 };
    for (const record of stream.records) {
      if (record.kind === 'ws.client.text') {
        this.recordedTexts.push(record.text);
      } else if (record.kind === 'ws.client.binary') {
        recordedMedia += record.media_seconds ?? 0;
        recordedBinaries++;
        this.recordedMedia.push(record.media_seconds);
      } else if (record.kind === 'ws.server.text') {
        const event = parseEnvelope(record.text);
        answers = answersTo(answers, event);
        media = mediaNeeded(media, event, recordedMedia, recordedBinaries);
        this.actions.push({ t: record.t, answers, media, kind: 'text', text: record.text });
      } else if (record.kind === 'ws.close') {
        close = record;
      }
    }
    this.recordedClose = this.recordedTexts.some(isCloseFrame);
    this.recordedConfigs = this.recordedTexts.filter((t) => !isCloseFrame(t)).length;
    this.recordedClientClosed = close?.by === 'client';
    // A close the server made is replayed; a close the client made is the live client's to make.
    if (close?.by === 'server') this.actions.push({ t: close.t, answers, media: { binaries: Math.max(media.binaries, recordedBinaries), mediaSeconds: Math.max(media.mediaSeconds, recordedMedia) }, kind: 'close', code: close.code, reason: close.reason });
  }

  start(): void {
    receiveMessages(this.ws, (bytes, isBinary) => this.onClientFrame(bytes, isBinary));
    this.ws.on('close', () => this.onConnectionClosed());
    this.ws.on('error', () => {});
    this.advance();
  }

  private onClientFrame(bytes: Buffer, isBinary: boolean): void {
    if (isBinary) {
      const index = this.live.binaries++;
      const before = this.timeline.mediaEnd;
      let seconds: number | null = null;
      try {
        if (this.timeline.push(bytes).ok) seconds = this.timeline.mediaEnd - before;
      } catch {
        seconds = null;
      }
      this.live.mediaSeconds += seconds ?? 0;
      const expected = this.recordedMedia[index];
      if (index >= this.recordedMedia.length) this.diverge({ session: this.session, message: `segment ${index + 1}: the recorded client sent only ${this.recordedMedia.length} segments` });
      else if (!sameMedia(expected ?? null, seconds)) this.diverge({ session: this.session, message: `segment ${index + 1}: ${describeMedia(seconds)} of media, the recorded one had ${describeMedia(expected ?? null)}`, expected, actual: seconds });
    } else {
      const index = this.liveTexts++;
      const text = bytes.toString('utf8');
      if (isCloseFrame(text)) this.live.closed = true;
      else this.live.configs++;
      const expected = this.recordedTexts[index];
      if (expected === undefined) this.diverge({ session: this.session, message: `text frame ${index + 1}: the recorded client sent only ${this.recordedTexts.length} text frames`, actual: text });
      else if (!sameText(expected, text)) this.diverge({ session: this.session, message: `text frame ${index + 1} differs`, expected: parseOr(expected), actual: parseOr(text) });
    }
    this.advance();
  }

  /** The connection closed (either side): what the client did not send is reported, once. */
  private onConnectionClosed(): void {
    this.done = true;
    this.clock.clearTimeout(this.timer);
    this.clock.clearTimeout(this.idleTimer);
    this.reportShortfall('before closing');
  }

  /** What the live client did not send that the recorded one did, as divergences; once per session. */
  private reportShortfall(when: string): void {
    if (this.accounted) return;
    this.accounted = true;
    const { session, live } = this;
    if (live.configs < this.recordedConfigs) this.diverge({ session, message: `the client sent ${live.configs} text frames ${when} (besides session.close), the recorded one ${this.recordedConfigs}` });
    if (live.binaries < this.recordedMedia.length) this.diverge({ session, message: `the client sent ${live.binaries} segments ${when}, the recorded one ${this.recordedMedia.length}` });
    if (this.recordedClose && !live.closed) this.diverge({ session, message: `the client never sent session.close ${when}; the recorded one did` });
  }

  /** Send every action that is due, then wait for the next one (a timer, or more from the client), and for a silent client. */
  private advance(): void {
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    while (!this.done && this.actions.length > 0) {
      const next = this.actions[0]!;
      if (this.pace.mode === 'recorded') {
        const dueAt = this.openedAt + next.t / this.pace.speed;
        const wait = dueAt - this.clock.now();
        if (wait > 0) {
          this.timer = this.clock.setTimeout(() => this.advance(), wait);
          break;
        }
        if (!this.answered(next)) break;
      } else if (!this.reached(next)) {
        break;
      }
      this.actions.shift();
      this.perform(next);
    }
    this.waitForSilence();
  }

  /** (Re)start the wait for a silent client; only while the recorded session cannot go on without it (no frame is on a timer). */
  private waitForSilence(): void {
    this.clock.clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    if (this.done || this.timer !== undefined) return;
    this.idleTimer = this.clock.setTimeout(() => this.endSilentClient(), this.clientIdleMs);
  }

  /**
   * The client has been silent for `clientIdleMs` and the recorded session can go no further: report
   * what it did not send, then send it the rest of the recorded session and its close (the recorded
   * close, or 1000 when the recorded client was the one to close).
   */
  private endSilentClient(): void {
    if (this.done) return;
    const when = `before falling silent for ${this.clientIdleMs / 1000} s`;
    this.reportShortfall(when);
    if (this.recordedClientClosed && this.actions.length === 0) this.diverge({ session: this.session, message: `the client did not close the connection ${when}; the recorded one did` });
    for (const action of this.actions.splice(0)) this.perform(action);
    if (!this.done) {
      this.done = true;
      this.ws.close(1000, 'ih-mock replay: the recorded session ends here');
    }
  }

  /** Whether the client has sent what this frame answers (every pace). */
  private answered(action: Action): boolean {
    const { answers } = action;
    return this.live.configs >= answers.configs && (this.live.closed || !answers.closed) && this.live.binaries >= answers.segment;
  }

  /** Whether the client has sent what this frame waits for under media pacing. */
  private reached(action: Action): boolean {
    const { media } = action;
    return this.answered(action) && this.live.mediaSeconds >= media.mediaSeconds - MEDIA_TOLERANCE_SECONDS && this.live.binaries >= media.binaries;
  }

  private perform(action: Action): void {
    if (action.kind === 'text') {
      this.ws.send(action.text);
      return;
    }
    this.done = true;
    if (action.code === 1006) this.ws.terminate();
    else if (isSendableCloseCode(action.code)) this.ws.close(action.code, action.reason);
    else this.ws.close();
  }
}

interface ReplayUpgrade extends IncomingMessage {
  ihCorrelationId?: string | undefined;
}

/** Window length the media pacing assumes: an event about second t was produced by media up to t + this at most. */
const WINDOW_SECONDS = 8;

type Envelope = { type?: unknown; data: Record<string, unknown> } | null;

/** A recorded server frame as an envelope (null when it is not JSON). */
function parseEnvelope(text: string): Envelope {
  try {
    const event = JSON.parse(text) as { type?: unknown; data?: unknown } | null;
    if (event === null || typeof event !== 'object') return null;
    const data = event.data !== null && typeof event.data === 'object' ? (event.data as Record<string, unknown>) : {};
    return { type: event.type, data };
  } catch {
    return null;
  }
}

/**
 * What a server frame answers, given what the frame before it answered: a session.updated or ih6001
 * error its config frame; an error naming segment n segment n; session.closing (and so what follows)
 * session.close. A frame never leaves before what it answers, at any pace.
 */
function answersTo(previous: Answered, event: Envelope): Answered {
  const answers = { ...previous };
  if (!event) return answers;
  const { type, data } = event;
  if (type === 'session.updated' || (type === 'error' && data['code'] === 'ih6001' && !previous.closed)) answers.configs++;
  if (type === 'error' && typeof data['segment'] === 'number') answers.segment = Math.max(answers.segment, data['segment']);
  if (type === 'session.closing') answers.closed = true;
  return answers;
}

/**
 * The media a server frame waits for under media pacing, given what the frame before it waited for
 * and how much media the recorded client had sent when it was recorded:
 * - an event about media second t (a detected or engagement start, an ended end, a quality period's
 *   or a dropped range's end) waits for min(recorded media, t + one window): the media it is about,
 *   not more than the recording shows, and not the recording's figure alone, which a client that
 *   sent everything at once inflates;
 * - an error about no segment in particular (idle, quota, max duration) came after what the client
 *   had sent by then; replayed earlier it would cut the live client short;
 * - everything also waits for what the frame before it waited for, so frames keep their order.
 */
function mediaNeeded(previous: MediaNeed, event: Envelope, recordedMedia: number, recordedBinaries: number): MediaNeed {
  const need = { ...previous };
  if (!event) return need;
  const about = mediaAbout(event.type, event.data);
  if (about !== null) need.mediaSeconds = Math.max(need.mediaSeconds, Math.min(recordedMedia, about + WINDOW_SECONDS));
  if (event.type === 'error' && event.data['segment'] == null) {
    need.binaries = Math.max(need.binaries, recordedBinaries);
    need.mediaSeconds = Math.max(need.mediaSeconds, recordedMedia);
  }
  return need;
}

/** The media second an event is about, if it has one: its reported time, or the end of the period or range it reports. */
function mediaAbout(type: unknown, data: Record<string, unknown>): number | null {
  const last = (v: unknown) => (Array.isArray(v) && v.length > 0 ? (v[v.length - 1] as Record<string, unknown>) : null);
  const end = type === 'conversation_quality.updated' ? last(data['timeline'])?.['end'] : type === 'coverage.dropped' ? last(data['ranges'])?.['end'] : undefined;
  return envelopeMediaTime(type, data) ?? (typeof end === 'number' ? end : null);
}

function isCloseFrame(text: string): boolean {
  try {
    return (JSON.parse(text) as { type?: unknown }).type === 'session.close';
  } catch {
    return false;
  }
}

function sameMedia(expected: number | null, actual: number | null): boolean {
  if (expected === null || actual === null) return expected === actual;
  return Math.abs(expected - actual) <= MEDIA_TOLERANCE_SECONDS;
}

function describeMedia(seconds: number | null): string {
  return seconds === null ? 'no readable media' : `${Math.round(seconds * 1000) / 1000} s`;
}

/** Config frames compare by content (key order and spacing do not matter); anything else as text. */
function sameText(expected: string, actual: string): boolean {
  const a = parseOr(expected);
  const b = parseOr(actual);
  return typeof a === 'string' || typeof b === 'string' ? expected === actual : isDeepStrictEqual(a, b);
}

function parseOr(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** Equal, where a recorded `[redacted]` matches any string. */
function sameJsonIgnoringRedacted(recorded: unknown, actual: unknown): boolean {
  if (recorded === REDACTED) return typeof actual === 'string';
  if (Array.isArray(recorded)) return Array.isArray(actual) && recorded.length === actual.length && recorded.every((r, i) => sameJsonIgnoringRedacted(r, actual[i]));
  if (recorded !== null && typeof recorded === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return false;
    const keys = new Set([...Object.keys(recorded), ...Object.keys(actual)]);
    return [...keys].every((k) => sameJsonIgnoringRedacted((recorded as Record<string, unknown>)[k], (actual as Record<string, unknown>)[k]));
  }
  return isDeepStrictEqual(recorded, actual);
}

/** `actual` as a recorder would write it (credentials redacted at any depth), so a report never prints a live secret. */
function redactLike(_recorded: unknown, actual: unknown): unknown {
  return new Redactor().json(actual);
}

/** A redacted access token becomes a fresh token of the same shape (replay accepts any credential). */
function unredactTokens(value: unknown, random: Random): unknown {
  if (Array.isArray(value)) return value.map((v) => unredactTokens(v, random));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = k === 'access_token' && v === REDACTED ? `ihtok_${random.uuid().replace(/-/g, '')}${random.uuid().slice(0, 8)}` : unredactTokens(v, random);
    return out;
  }
  return value;
}

/** Field `name=value` pairs and file field names of a multipart body (enough to compare, no parser state kept). */
function multipartSummary(contentType: string, body: Buffer): { fields: string[]; files: string[] } {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
  const fields: string[] = [];
  const files: string[] = [];
  if (!boundary) return { fields, files };
  const marker = `--${boundary[1] ?? boundary[2]}`;
  for (const part of body.toString('latin1').split(marker).slice(1)) {
    const end = part.indexOf('\r\n\r\n');
    if (end < 0) continue;
    const head = part.slice(0, end);
    const name = /name="([^"]*)"/i.exec(head)?.[1];
    if (name === undefined) continue;
    if (/filename=/i.test(head)) files.push(name);
    else fields.push(`${name}=${Buffer.from(part.slice(end + 4).replace(/\r\n$/, ''), 'latin1').toString('utf8')}`);
  }
  return { fields, files };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', () => resolve(Buffer.concat(chunks)));
  });
}

function httpResponse(status: number, reason: string, headers: Record<string, string>, body: string): string {
  const lines = [`HTTP/1.1 ${status} ${reason}`];
  for (const [name, value] of Object.entries(headers)) if (name !== 'content-length') lines.push(`${name}: ${value}`);
  lines.push(`content-length: ${Buffer.byteLength(body)}`, 'connection: close', '', body);
  return lines.join('\r\n');
}
