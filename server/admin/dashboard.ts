/**
 * The live dashboard (docs/control-plane.md#the-dashboard): the static files of server/ui/ (the page,
 * its script and styles, and the timeline renderer) served from the package under /__ih/ui/, with
 * no build step and nothing from a CDN. The page itself holds no data: it reads everything from the
 * admin API with the browser's fetch, so the data stays behind the admin guard and the admin token
 * travels in its header.
 *
 * Who gets the files: the same loopback rule as the admin API; where an admin token is configured,
 * anyone who reaches the server (the files are the package's own, and the page needs them to ask
 * for the token). Where the admin API is disabled, so is the dashboard.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { httpErrorBody } from '../errors.js';
import { PACKAGE_ROOT } from '../paths.js';
import { ADMIN_PREFIX } from './control-plane.js';
import { AdminError, adminErrorBody } from './errors.js';
import type { AdminGuard } from './guard.js';

export const DASHBOARD_PATH = `${ADMIN_PREFIX}/ui/`;

/** The browser's side: the page, and the timeline renderer it shares with the HTML conformance report. */
const UI_DIR = join(PACKAGE_ROOT, 'server', 'ui');

/** The files the dashboard is made of, by the name the page asks for: nothing else is served. */
const FILES: Readonly<Record<string, { path: string; type: string }>> = {
  'index.html': { path: join(UI_DIR, 'dashboard.html'), type: 'text/html; charset=utf-8' },
  'dashboard.css': { path: join(UI_DIR, 'dashboard.css'), type: 'text/css; charset=utf-8' },
  'dashboard.js': { path: join(UI_DIR, 'dashboard.js'), type: 'text/javascript; charset=utf-8' },
  'timeline.js': { path: join(UI_DIR, 'timeline.js'), type: 'text/javascript; charset=utf-8' },
};

/**
 * Only this server's own origin: scripts, styles and the admin API. Inline styles are allowed for the
 * renderer's legend swatches (style attributes), never inline scripts.
 */
const CONTENT_SECURITY_POLICY = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export function registerDashboardRoutes(http: FastifyInstance, guard: AdminGuard): void {
  const cache = new Map<string, Buffer>();
  const send = async (name: string, reply: FastifyReply) => {
    const file = Object.hasOwn(FILES, name) ? FILES[name] : undefined;
    if (!file) throw new AdminError('ihm4005', `No dashboard file ${JSON.stringify(name)}. Open ${DASHBOARD_PATH}.`);
    let bytes = cache.get(name);
    if (!bytes) {
      bytes = await readFile(file.path);
      cache.set(name, bytes);
    }
    return reply
      .type(file.type)
      .header('Cache-Control', 'no-cache')
      .header('X-Content-Type-Options', 'nosniff')
      .header('Content-Security-Policy', CONTENT_SECURITY_POLICY)
      .header('Referrer-Policy', 'no-referrer')
      .send(bytes);
  };

  void http.register(async (scope) => {
    scope.setErrorHandler((err, request, reply) => {
      if (err instanceof AdminError) return reply.code(err.status).type('application/json; charset=utf-8').send(adminErrorBody(err.code, String(request.id), err.message));
      request.log.error({ err }, 'dashboard request failed');
      return reply.code(500).type('application/json; charset=utf-8').send(httpErrorBody('ih1001', String(request.id), 'Internal error in ih-mock while serving a dashboard file. Please report it with the log line of this correlation id.'));
    });
    scope.addHook('onRequest', async (request) => guard.checkDashboardFiles(request.raw.socket.remoteAddress));
    // Relative URLs in the page resolve against the folder: /__ih/ui becomes /__ih/ui/.
    scope.get(DASHBOARD_PATH.slice(0, -1), async (_request, reply) => reply.redirect(DASHBOARD_PATH, 302));
    scope.get(DASHBOARD_PATH, async (_request, reply) => send('index.html', reply));
    scope.get<{ Params: { file: string } }>(`${DASHBOARD_PATH}:file`, async (request, reply) => send(request.params.file, reply));
  });
}
