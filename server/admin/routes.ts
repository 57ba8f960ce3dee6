/**
 * The admin API over HTTP: every route under /__ih/ (docs/control-plane.md), in a fastify context
 * of its own, so its body parser, error handler and guard touch no other route.
 *
 * Each request passes the guard (admin/guard.ts), then has its test id read (`X-IH-Test-Id` or
 * `?test_id=`), then calls one `ControlPlane` method. Errors are the v1 error body with an admin
 * code (admin/errors.ts); a bug answers 500 ih1001 like the rest of ih-mock.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { httpErrorBody } from '../errors.js';
import type { DefaultsRequest } from '../types/generated.js';
import { ADMIN_PREFIX, type ControlPlane } from './control-plane.js';
import { registerDashboardRoutes } from './dashboard.js';
import { AdminError, adminErrorBody } from './errors.js';
import { journalQueryFromParams } from './journal-query.js';
import { testIdOf, TestIdError } from './test-scope.js';

/** Largest admin request body (a scenario object for the defaults is the largest thing sent). */
export const MAX_ADMIN_BODY_BYTES = 1024 * 1024;

/** Heartbeat of the journal event stream: keeps proxies and idle timeouts from closing it (real time). */
const STREAM_HEARTBEAT_MS = 15_000;

/** An event stream whose client reads slower than this many bytes behind is closed, not buffered without end. */
const STREAM_MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

declare module 'fastify' {
  interface FastifyRequest {
    /** The admin call's scope (X-IH-Test-Id or ?test_id=), null for none. */
    ihTestId: string | null;
  }
}

export function registerAdminRoutes(http: FastifyInstance, control: ControlPlane): void {
  http.decorateRequest('ihTestId', null);
  void http.register(
    async (scope) => {
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: MAX_ADMIN_BODY_BYTES }, (_request, text, done) => {
        if (text === '') return done(null, undefined);
        try {
          done(null, JSON.parse(text as string));
        } catch (err) {
          done(new AdminError('ihm4001', `The body is not valid JSON: ${(err as Error).message.split('\n')[0]}`), undefined);
        }
      });
      scope.addContentTypeParser('*', (request, _payload, done) => {
        done(new AdminError('ihm4001', `Send admin bodies as JSON with Content-Type: application/json (got ${JSON.stringify(request.headers['content-type'] ?? '')})`), undefined);
      });
      scope.setErrorHandler((err: Error & { statusCode?: number; code?: string }, request, reply) => {
        if (err instanceof AdminError) return sendAdminError(reply, err);
        if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return sendAdminError(reply, new AdminError('ihm4001', `The body is larger than ${MAX_ADMIN_BODY_BYTES} bytes.`));
        if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) return sendAdminError(reply, new AdminError('ihm4001', err.message));
        request.log.error({ err }, 'admin request failed');
        return reply.code(500).type('application/json; charset=utf-8').send(httpErrorBody('ih1001', String(request.id), 'Internal error in ih-mock while answering an admin request. Please report it with the log line of this correlation id.'));
      });
      scope.setNotFoundHandler((request, reply) =>
        sendAdminError(reply, new AdminError('ihm4005', `No admin route ${request.method} ${request.url.split('?')[0]}. GET ${ADMIN_PREFIX}/ lists them.`)),
      );
      scope.addHook('onRequest', async (request) => {
        control.guard.check(request.raw.socket.remoteAddress, request.headers);
        try {
          request.ihTestId = testIdOf(request.headers, searchParams(request));
        } catch (err) {
          if (err instanceof TestIdError) throw new AdminError('ihm4001', err.message);
          throw err;
        }
      });

      scope.get('/', async () => control.status());
      scope.get('/sessions', async (request) => {
        const params = searchParams(request);
        onlyParams(params, ['state', 'test_id']);
        const state = (params.get('state') ?? 'all') as 'open' | 'ended' | 'all';
        return { sessions: await control.sessions({ testId: request.ihTestId, state }) };
      });
      scope.get<{ Params: { id: string } }>('/sessions/:id', async (request) => {
        onlyParams(searchParams(request), ['test_id']);
        return control.session(request.params.id, { testId: request.ihTestId });
      });
      scope.post<{ Params: { id: string } }>('/sessions/:id/inject', async (request) => {
        onlyParams(searchParams(request), ['test_id']);
        return control.injectRequest(request.params.id, requiredBody(request), { testId: request.ihTestId });
      });

      scope.get('/journal', async (request) => control.journal({ ...journalQueryFromParams(searchParams(request), ['limit']), testId: request.ihTestId }));
      scope.delete('/journal', async (request) => {
        onlyParams(searchParams(request), ['test_id']);
        return control.clearJournal({ testId: request.ihTestId });
      });
      scope.get('/journal/wait', async (request, reply) => {
        const query = { ...journalQueryFromParams(searchParams(request), ['timeout_ms']), testId: request.ihTestId };
        const gone = new AbortController();
        const onClose = () => {
          if (!reply.raw.writableFinished) gone.abort();
        };
        reply.raw.once('close', onClose);
        try {
          return await control.waitFor(query, gone.signal);
        } finally {
          reply.raw.off('close', onClose);
        }
      });
      scope.get('/journal/stream', (request, reply) => streamJournal(control, request, reply));

      scope.get('/queue', async (request) => {
        onlyParams(searchParams(request), ['test_id']);
        return control.queue({ testId: request.ihTestId });
      });
      scope.delete('/queue', async (request) => {
        onlyParams(searchParams(request), ['test_id']);
        return control.clearQueue({ testId: request.ihTestId });
      });
      for (const target of ['sessions', 'uploads'] as const) {
        scope.post(`/queue/${target}`, async (request) => {
          onlyParams(searchParams(request), ['test_id']);
          return control.queueRequest(target, requiredBody(request), { testId: request.ihTestId });
        });
      }

      scope.get('/defaults', async (request) => {
        onlyParams(searchParams(request), ['test_id']);
        return control.defaults({ testId: request.ihTestId });
      });
      scope.post('/defaults', async (request) => {
        onlyParams(searchParams(request), ['test_id']);
        return control.setDefaults(requiredBody(request) as DefaultsRequest, { testId: request.ihTestId });
      });
      scope.post('/reset', async (request) => {
        onlyParams(searchParams(request), ['test_id']);
        return control.reset({ testId: request.ihTestId });
      });
    },
    { prefix: ADMIN_PREFIX },
  );
  registerDashboardRoutes(http, control.guard);
}

function sendAdminError(reply: FastifyReply, err: AdminError): FastifyReply {
  return reply.code(err.status).type('application/json; charset=utf-8').send(adminErrorBody(err.code, String(reply.request.id), err.message));
}

function searchParams(request: FastifyRequest): URLSearchParams {
  const at = request.url.indexOf('?');
  return new URLSearchParams(at < 0 ? '' : request.url.slice(at + 1));
}

/** Refuse query parameters the route does not take, so a typo is not silently ignored. */
function onlyParams(params: URLSearchParams, allowed: readonly string[]): void {
  for (const key of new Set(params.keys())) {
    if (!allowed.includes(key)) throw new AdminError('ihm4001', `unknown query parameter "${key}": this route takes ${allowed.join(', ')}`);
  }
}

/** The parsed JSON body; its shape is checked by the control plane against admin.schema.json. */
function requiredBody(request: FastifyRequest): unknown {
  if (request.body === undefined) throw new AdminError('ihm4001', 'This route needs a JSON body (Content-Type: application/json).');
  return request.body;
}

/**
 * GET /__ih/journal/stream: the journal as Server-Sent Events. Each entry is `id: <seq>`,
 * `event: entry`, `data: <JournalEntry JSON>`; a reconnecting EventSource resumes after its
 * `Last-Event-ID`. Entries already evicted are announced with one `event: gap`.
 */
async function streamJournal(control: ControlPlane, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const params = searchParams(request);
  const query = { ...journalQueryFromParams(params, []), testId: request.ihTestId };
  const lastEventId = request.headers['last-event-id'];
  if (query.since === undefined && typeof lastEventId === 'string' && /^\d{1,15}$/.test(lastEventId)) query.since = Number(lastEventId);
  const since = query.since ?? 0;
  const res = reply.raw;
  // What the journal already holds is delivered at once, before the headers are out: kept until then.
  const early: string[] = [];
  let open = false;
  const write = (text: string): boolean => {
    if (!open) {
      early.push(text);
      return true;
    }
    if (res.writableLength > STREAM_MAX_BUFFERED_BYTES) {
      res.end();
      return false;
    }
    res.write(text);
    return true;
  };
  // Throws ihm4001 for a bad query before anything is written (the error handler answers it).
  const unsubscribe = control.subscribe(query, (entry) => write(`id: ${entry.seq}\nevent: entry\ndata: ${JSON.stringify(entry)}\n\n`));
  reply.hijack();
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-store',
    Connection: 'keep-alive',
    'X-Correlation-ID': String(request.id),
  });
  const oldest = control.store.oldestSeq;
  res.write(`: ih-mock journal after seq ${since}\n\n`);
  if (oldest !== null && since + 1 < oldest) res.write(`event: gap\ndata: ${JSON.stringify({ from: since + 1, to: oldest - 1 })}\n\n`);
  open = true;
  for (const text of early.splice(0)) if (!write(text)) break;
  // Real time on purpose: it keeps a network connection alive, nothing the protocol times.
  const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), STREAM_HEARTBEAT_MS);
  heartbeat.unref();
  res.once('close', () => {
    clearInterval(heartbeat);
    unsubscribe();
  });
}
