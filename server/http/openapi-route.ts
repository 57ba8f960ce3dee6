/**
 * `GET /openapi.json`: the OpenAPI 3.1 description of ih-mock's HTTP endpoints, as committed in
 * `schemas/openapi.json` (made by `npm run gen:openapi` from the same JSON Schemas the routes
 * validate with; `schemas/openapi.test.ts` fails when the committed file is stale). Read once, at
 * the first request (it is 200 KB: reading it is no work for a start-up).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { SCHEMAS_DIR } from '../paths.js';

export const OPENAPI_ROUTE = '/openapi.json';
export const OPENAPI_FILE = join(SCHEMAS_DIR, 'openapi.json');

/** Register `GET /openapi.json` on `http`. */
export function registerOpenApiRoute(http: FastifyInstance): void {
  let document: string | undefined;
  http.get(OPENAPI_ROUTE, async (_request, reply) => reply.type('application/json; charset=utf-8').send((document ??= readFileSync(OPENAPI_FILE, 'utf8'))));
}
