/**
 * Sending v1 HTTP errors (docs/protocol.md §1 and §5): the status from the error table and the body
 * `{error_id, correlation_id, link, message}`, whose `correlation_id` is the `X-Correlation-ID`
 * header app.ts sets from `request.id`. Shared by every HTTP route.
 */
import type { FastifyReply } from 'fastify';
import { httpErrorBody, httpStatus, type ErrorCode } from '../errors.js';

/** Reply with the v1 error body for `code` (status from the error table). */
export function sendHttpError(reply: FastifyReply, code: ErrorCode, message?: string): FastifyReply {
  return reply.code(httpStatus(code)).type('application/json; charset=utf-8').send(httpErrorBody(code, String(reply.request.id), message));
}

/** 429 `ih3001` with `Retry-After` (whole seconds until one more request would be accepted). */
export function sendRateLimited(reply: FastifyReply, retryAfterSeconds: number): FastifyReply {
  reply.header('Retry-After', String(retryAfterSeconds));
  return sendHttpError(reply, 'ih3001', `Too many requests for this account. Retry after ${retryAfterSeconds} s.`);
}
