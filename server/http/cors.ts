/**
 * CORS for pages of other origins that call the HTTP API from a browser (docs/protocol.md,
 * "Browsers on other origins"). A page's `fetch` with `Authorization` is not a simple request: the
 * browser first sends a preflight (`OPTIONS` with `Access-Control-Request-Method`), and then reads
 * the answer only if it names the page's origin.
 *
 * - Allowed origins (`corsOrigins`, default `*`: any) get `Access-Control-Allow-Origin` on every
 *   answer; a preflight is answered 204 with the methods, the headers it asked for, and a max-age.
 * - A preflight from another origin is refused with 403 `ih4903` (no CORS headers, so the browser
 *   blocks the call and its console says why); other requests are served, without CORS headers.
 * - The admin API (`/__ih/`) never answers another origin: a page the developer happens to visit
 *   must not read the journal or inject faults into a local ih-mock. WebSockets are not subject to
 *   CORS (browsers send `Origin` and connect), so the stream is not concerned.
 * - No response header is exposed beyond the CORS-safelisted ones: the evidence does not show the
 *   live service exposing `X-Correlation-ID`, and a page gets the correlation id from every error
 *   body and envelope anyway.
 */
import type { FastifyInstance } from 'fastify';
import { ADMIN_PREFIX } from '../admin/control-plane.js';
import { sendHttpError } from './reply.js';

/** What a preflight may ask for: the API's methods (GET for /health and /openapi.json). */
const ALLOWED_METHODS = ['GET', 'HEAD', 'POST'];
/** How long a browser may keep a preflight's answer (seconds). */
const PREFLIGHT_MAX_AGE_SECONDS = 600;

export function registerCors(http: FastifyInstance, origins: readonly string[]): void {
  if (origins.length === 0) return;
  const anyOrigin = origins.includes('*');
  const allowed = new Set(origins);
  http.addHook('onRequest', async (request, reply) => {
    const origin = request.headers.origin;
    if (origin === undefined || request.url.startsWith(ADMIN_PREFIX)) return undefined;
    const ok = anyOrigin || allowed.has(origin);
    // The answer depends on Origin whenever the list is narrower than "any": caches must know.
    if (!anyOrigin) reply.header('Vary', 'Origin');
    const preflight = request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined;
    if (!ok) {
      if (preflight) return sendHttpError(reply, 'ih4903', `Origin ${origin} is not allowed to call this API from a browser (allowed: ${origins.join(', ')}; --cors-origins).`);
      return undefined;
    }
    reply.header('Access-Control-Allow-Origin', anyOrigin ? '*' : origin);
    if (!preflight) return undefined;
    const method = String(request.headers['access-control-request-method']).toUpperCase();
    if (!ALLOWED_METHODS.includes(method)) {
      return sendHttpError(reply, 'ih4903', `A browser may call this API with ${ALLOWED_METHODS.join(', ')}, not ${method.slice(0, 16)}.`);
    }
    reply.header('Access-Control-Allow-Methods', ALLOWED_METHODS.join(', '));
    // Any header the page asked for: the API reads Authorization, Content-Type, X-Client-Request-Id
    // and X-IH-Test-Id, and ignores the rest, as it does for any client.
    const headers = request.headers['access-control-request-headers'];
    if (headers) reply.header('Access-Control-Allow-Headers', headers);
    reply.header('Access-Control-Max-Age', String(PREFLIGHT_MAX_AGE_SECONDS));
    return reply.code(204).send();
  });
}
