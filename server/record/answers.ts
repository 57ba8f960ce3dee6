/**
 * What the recording proxy answers itself, when it has no upstream answer to pass on: the upstream
 * could not be reached (502) or did not finish a WebSocket handshake in time (504), the request
 * could not be forwarded at all (400: not HTTP the proxy can parse, a request target that is not a
 * path, an invalid WebSocket handshake), or the recorder failed (500).
 *
 * Every such answer is a v1 error body (`{"error_id","correlation_id","link","message"}`) with
 * `X-Correlation-ID`, like every HTTP error ih-mock produces, and its message begins with
 * `ih-mock record:` so nobody takes it for the service's own. The ids come from a seeded generator.
 */
import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { httpErrorBody, type ErrorCode, type HttpErrorBody } from '../errors.js';
import type { Random } from '../random.js';

/**
 * The error id of the proxy's own answers: the documented table has no code for "the gateway
 * failed" or "this is not HTTP", and a v1 body's `error_id` must be a documented code (clients look
 * codes up), so the proxy uses the general category's code; the HTTP status says what happened.
 */
export const RECORDER_ERROR_CODE: ErrorCode = 'ih1001';

/** How long a socket answered by `raw` may stay half-open before it is cut. */
const LINGER_MS = 2000;

export interface OwnAnswer {
  status: number;
  correlationId: string;
  body: HttpErrorBody;
  /** The body as sent. */
  text: string;
}

export class OwnAnswers {
  constructor(private readonly ids: Random) {}

  make(status: number, message: string): OwnAnswer {
    const correlationId = this.ids.uuid();
    const body = httpErrorBody(RECORDER_ERROR_CODE, correlationId, `ih-mock record: ${message}`);
    return { status, correlationId, body, text: JSON.stringify(body) };
  }

  /** Answer through a ServerResponse (a request the HTTP server parsed); null when an answer had already begun. */
  http(res: ServerResponse, status: number, message: string): OwnAnswer | null {
    if (res.headersSent || res.destroyed) return null;
    const answer = this.make(status, message);
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(answer.text), 'x-correlation-id': answer.correlationId });
    res.end(answer.text);
    return answer;
  }

  /**
   * Answer on a raw socket (an upgrade request, or bytes the HTTP parser refused), then close it.
   * What the client still sends is read and dropped (unread bytes would turn the close into a reset
   * that can destroy the answer), and a client that does not close its side is cut after a moment.
   */
  raw(socket: Duplex, status: number, message: string): OwnAnswer | null {
    if (socket.destroyed || !socket.writable) {
      socket.destroy();
      return null;
    }
    const answer = this.make(status, message);
    socket.resume();
    // Real time on purpose: this is network hygiene, not anything the protocol times.
    const linger = setTimeout(() => socket.destroy(), LINGER_MS).unref();
    socket.once('close', () => clearTimeout(linger));
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
        `content-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(answer.text)}\r\n` +
        `x-correlation-id: ${answer.correlationId}\r\nconnection: close\r\n\r\n${answer.text}`,
    );
    return answer;
  }
}

/** The recorded headers of an own answer. */
export function ownAnswerHeaders(answer: OwnAnswer): Record<string, string> {
  return { 'content-type': 'application/json; charset=utf-8', 'x-correlation-id': answer.correlationId };
}
