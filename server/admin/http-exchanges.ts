/**
 * Uploads and token exchanges in the journal and the metrics: each answer's status and ih code (and
 * an upload's analysis), with the request's test id. Hooks on the root fastify instance, so the route
 * modules need not know the control plane; the upload route only asks `testIdOf` which scope an
 * upload belongs to (for its queued faults).
 *
 * Invariants: nothing from a request body or a credential header is kept; a token exchange's answer
 * (which holds the token) is never kept either, only its status and code. Every exchange is recorded
 * once, when its connection is done with it, also when it was cut without an answer (status null).
 */
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { ControlPlane, HttpExchangeKind } from './control-plane.js';
import { testIdOf, TestIdError } from './test-scope.js';

/** An upload's answer is kept in the journal up to this size (a long file's analysis can be large). */
const MAX_KEPT_BODY_CHARS = 256 * 1024;

interface Exchange {
  kind: HttpExchangeKind;
  testId: string | null;
  code: string | null;
  body: string | null;
}

/**
 * Record the exchanges on `paths` (kind by path). Returns the test id of a request on those paths;
 * a malformed test id is refused with 400 before the route runs, like a malformed one on the upgrade.
 */
export function recordHttpExchanges(http: FastifyInstance, control: ControlPlane, paths: ReadonlyMap<string, HttpExchangeKind>): (request: IncomingMessage) => string | null {
  const exchanges = new WeakMap<IncomingMessage, Exchange>();
  http.addHook('onRequest', async (request, reply) => {
    const path = request.url.split('?', 1)[0]!;
    const kind = paths.get(path);
    if (kind === undefined) return;
    let testId: string | null;
    try {
      testId = testIdOf(request.headers, new URLSearchParams(request.url.slice(path.length + 1)));
    } catch (err) {
      if (!(err instanceof TestIdError)) throw err;
      return reply.code(400).send({ error: 'bad_request', message: err.message });
    }
    const exchange: Exchange = { kind, testId, code: null, body: null };
    exchanges.set(request.raw, exchange);
    const length = Number(request.headers['content-length']);
    reply.raw.once('close', () => {
      const answered = reply.raw.headersSent;
      control.httpAnswered(kind, String(request.id), testId, answered ? reply.raw.statusCode : null, answered ? exchange.code : null, Number.isSafeInteger(length) ? length : null, answered ? exchange.body : null);
    });
  });
  http.addHook('onSend', async (request, reply, payload) => {
    const exchange = exchanges.get(request.raw);
    if (exchange === undefined || typeof payload !== 'string') return payload;
    if (reply.statusCode >= 400) exchange.code = /"error_id"\s*:\s*"(ih\d{4})"/.exec(payload.slice(0, 200))?.[1] ?? null;
    else if (exchange.kind === 'upload' && payload.length <= MAX_KEPT_BODY_CHARS) exchange.body = payload;
    return payload;
  });
  return (request) => exchanges.get(request)?.testId ?? null;
}
