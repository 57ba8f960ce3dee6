/**
 * Sending v1 HTTP errors (docs/protocol.md §1 and §5): the status from the error table and the body
 * `{error_id, correlation_id, link, message}`, whose `correlation_id` is the `X-Correlation-ID`
 * header. Shared by every HTTP route, and by the paths that answer on the bare socket because no
 * fastify reply exists there (a refused WebSocket upgrade, a request the HTTP parser rejected).
 */
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyReply } from 'fastify';
import { httpErrorBody, httpStatus, type ErrorCode } from '../errors.js';

/** Reply with the v1 error body for `code` (status from the error table). */
export function sendHttpError(reply: FastifyReply, code: ErrorCode, message?: string): FastifyReply {
  reply.header('X-Correlation-ID', String(reply.request.id));
  return reply.code(httpStatus(code)).type('application/json; charset=utf-8').send(httpErrorBody(code, String(reply.request.id), message));
}

/** 429 `ih3001` with `Retry-After` (whole seconds until one more request would be accepted). */
export function sendRateLimited(reply: FastifyReply, retryAfterSeconds: number): FastifyReply {
  reply.header('Retry-After', String(retryAfterSeconds));
  return sendHttpError(reply, 'ih3001', `Too many requests for this account. Retry after ${retryAfterSeconds} s.`);
}

/**
 * Write a complete v1 error response straight to `socket` and close the connection once it is
 * flushed. For the places with no reply object: the upgrade path and the HTTP parser's errors.
 */
export function writeRawHttpError(socket: Duplex, code: ErrorCode, correlationId: string, message?: string, extraHeaders: Record<string, string> = {}): void {
  if (socket.destroyed || !socket.writable) {
    socket.destroy();
    return;
  }
  const status = httpStatus(code);
  const body = JSON.stringify(httpErrorBody(code, correlationId, message));
  const headers = {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(body)),
    'X-Correlation-ID': correlationId,
    ...extraHeaders,
    Connection: 'close',
  };
  // Destroy once flushed: the client may still be sending, and nothing more is read on this socket.
  socket.once('finish', () => socket.destroy());
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n${body}`);
}
