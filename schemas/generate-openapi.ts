/**
 * Generates `schemas/openapi.json`: the OpenAPI 3.1 description of ih-mock's HTTP endpoints
 * (`POST /v1/upload/analyze`, `POST /v1/auth` and `/v0/auth`, `GET /health`, `GET /openapi.json`,
 * `GET /metrics`, and the admin API under `/__ih/`).
 * The WebSocket stream endpoint is described by `schemas/asyncapi.yaml` instead.
 *
 *   npm run gen:openapi              write schemas/openapi.json
 *   npx tsx schemas/generate-openapi.ts --check   exit 1 if the committed file is stale
 *
 * Single source of truth: the bodies are the JSON Schema files the routes validate with, embedded
 * in `components/schemas` (OpenAPI 3.1 uses JSON Schema 2020-12, so they go in unchanged but for
 * their `$ref`s). Every root schema becomes a component named by its `title`, every `$defs` entry a
 * component named by its key, and every `$ref` (in-file `#/$defs/X` or cross-file
 * `common.schema.json#/$defs/X`) is rewritten to `#/components/schemas/X`; `$id` and `$schema` are
 * dropped so those references resolve against the OpenAPI document. The error responses come from
 * the error table (`server/errors.ts`), per route, grouped by HTTP status.
 * `schemas/openapi.test.ts` checks the committed file equals this output, validates it against the
 * OpenAPI 3.1 schema, resolves every `$ref`, and checks real bodies against the components.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UPLOAD_INCLUDE } from '../server/analysis/file-analysis.js';
import { ERROR_TABLE, httpErrorBody, type ErrorCode } from '../server/errors.js';
import { AUTH_PATHS } from '../server/http/auth-routes.js';
import { OPENAPI_FILE, OPENAPI_ROUTE } from '../server/http/openapi-route.js';
import { AUTH_ERROR_CODES } from '../server/http/auth-routes.js';
import { FILE_FIELD, INCLUDE_FIELD, UPLOAD_ERROR_CODES, UPLOAD_PATH } from '../server/http/upload-route.js';
import { PACKAGE_ROOT, SCHEMAS_DIR } from '../server/paths.js';
import { ADMIN_PREFIX } from '../server/admin/control-plane.js';
import { DASHBOARD_PATH } from '../server/admin/dashboard.js';
import { ADMIN_ERROR_TABLE, adminErrorBody } from '../server/admin/errors.js';
import { ADMIN_TOKEN_HEADER_NAME } from '../server/admin/guard.js';
import { TEST_ID_HEADER_NAME, TEST_ID_PARAM } from '../server/admin/test-scope.js';
import { DEFAULT_JOURNAL_LIMIT, DEFAULT_WAIT_MS, JOURNAL_KINDS, MAX_JOURNAL_LIMIT, MAX_WAIT_MS } from '../server/admin/journal-query.js';
import { METRICS_PATH } from '../server/metrics/metrics.js';
import type { AdminErrorCode } from '../server/types/generated.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** The schema files embedded, owners of shared definitions first. */
export const EMBEDDED_SCHEMAS = [
  'common.schema.json',
  'http-error.schema.json',
  'http-validation-error.schema.json',
  'auth-request.schema.json',
  'auth-response.schema.json',
  'upload-response.schema.json',
  'scenario.schema.json',
  'admin.schema.json',
] as const;


/** GET /health's body (server/app.ts); the only body without a schema file of its own. */
const HEALTH_SCHEMA: JsonObject = {
  title: 'Health',
  type: 'object',
  additionalProperties: false,
  required: ['status', 'sessions'],
  properties: {
    status: { const: 'ok' },
    sessions: { type: 'integer', minimum: 0, description: 'Stream sessions open now.' },
  },
};

const SAMPLE_CORRELATION_ID = '550e8400-e29b-41d4-a716-446655440000';

const ROOT_KEYWORDS_DROPPED = new Set(['$schema', '$id', '$defs']);

function readSchema(file: string): JsonObject {
  return JSON.parse(readFileSync(join(SCHEMAS_DIR, file), 'utf8')) as JsonObject;
}

/**
 * The schema files as `components/schemas`: see the module header. Throws on a name used twice or
 * a `$ref` into something that is not a root or a `$defs` entry of an embedded file.
 */
export function embedSchemas(files: readonly string[] = EMBEDDED_SCHEMAS): Record<string, Json> {
  const docs = new Map(files.map((file) => [file, readSchema(file)]));
  const names = new Map<string, string>(); // "file#pointer" → component name
  const owner = new Map<string, string>(); // component name → "file#pointer"
  const name = (key: string, component: string) => {
    const taken = owner.get(component);
    if (taken !== undefined) throw new Error(`openapi: component name ${component} is used by both ${taken} and ${key}`);
    owner.set(component, key);
    names.set(key, component);
  };
  for (const [file, doc] of docs) {
    const hasRoot = Object.keys(doc).some((k) => !ROOT_KEYWORDS_DROPPED.has(k) && !['title', 'description'].includes(k));
    if (hasRoot) {
      if (typeof doc['title'] !== 'string') throw new Error(`openapi: ${file} has a root schema without a title`);
      name(`${file}#`, doc['title']);
    }
    for (const key of Object.keys((doc['$defs'] as JsonObject | undefined) ?? {})) name(`${file}#/$defs/${key}`, key);
  }

  const rewrite = (node: Json, file: string): Json => {
    if (Array.isArray(node)) return node.map((item) => rewrite(item, file));
    if (node === null || typeof node !== 'object') return node;
    const out: JsonObject = {};
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string') {
        const [target = '', pointer = ''] = value.split('#');
        const component = names.get(`${target === '' ? file : target}#${pointer}`);
        if (component === undefined) throw new Error(`openapi: cannot embed the $ref ${value} of ${file}`);
        out[key] = `#/components/schemas/${component}`;
      } else {
        out[key] = rewrite(value, file);
      }
    }
    return out;
  };

  const components: Record<string, Json> = {};
  for (const [file, doc] of docs) {
    const root = names.get(`${file}#`);
    if (root !== undefined) {
      const schema: JsonObject = {};
      for (const [key, value] of Object.entries(doc)) if (!ROOT_KEYWORDS_DROPPED.has(key)) schema[key] = value;
      components[root] = rewrite(schema, file);
    }
    for (const [key, def] of Object.entries((doc['$defs'] as JsonObject | undefined) ?? {})) components[key] = rewrite(def, file);
  }
  return components;
}

const ref = (component: string): JsonObject => ({ $ref: `#/components/schemas/${component}` });
const CORRELATION_HEADER: JsonObject = { 'X-Correlation-ID': { $ref: '#/components/headers/XCorrelationId' } };

/** Error responses for `codes`, one per HTTP status: the v1 error body narrowed to those codes, with an example of each. */
function errorResponses(codes: readonly ErrorCode[]): Record<string, Json> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of [...codes].sort()) {
    const status = ERROR_TABLE[code].http;
    if (status === null) throw new Error(`openapi: ${code} has no HTTP status`);
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const responses: Record<string, Json> = {};
  for (const [status, group] of [...byStatus].sort(([a], [b]) => a - b)) {
    const headers: JsonObject = { ...CORRELATION_HEADER };
    if (group.includes('ih3001')) headers['Retry-After'] = { $ref: '#/components/headers/RetryAfter' };
    responses[String(status)] = {
      description: group.map((code) => `\`${code}\` ${ERROR_TABLE[code].title}: ${ERROR_TABLE[code].message}`).join(' | '),
      headers,
      content: {
        'application/json': {
          schema: { allOf: [ref('HttpErrorBody'), { properties: { error_id: { enum: group } } }] },
          examples: Object.fromEntries(group.map((code) => [code, { summary: ERROR_TABLE[code].title, value: httpErrorBody(code, SAMPLE_CORRELATION_ID) as unknown as Json }])),
        },
      },
    };
  }
  return responses;
}

function uploadOperation(): JsonObject {
  return {
    operationId: 'uploadAnalyze',
    tags: ['upload'],
    summary: 'Analyze a video file',
    description: [
      'Upload one video as multipart/form-data and get the analysis of the whole file (docs/protocol.md §2): the same engine as the stream endpoint, so the signal spans equal those a stream session reports for the same media.',
      'The container (mp4, mov, webm, mkv, avi, MPEG-TS) is detected from the first bytes, never from the file name or content type. The file is streamed, never held in memory: over `maxUploadBytes` (32 MB) the answer is 413 `ih4003` at once; under `minUploadBytes` (10 KB) it is 400 `ih4001`.',
      'The video codec is read from the container: H.264, VP8 and VP9 are accepted (`videoCodecs`); others, such as MPEG-4 Part 2 (`mp4v`, OpenCV\'s default), get 422 `ih5002` naming the codec.',
      '`include[]` fields may come before or after the file. The answer waits `processingRatio` × the video duration on the server clock (0 = at once).',
    ].join('\n\n'),
    requestBody: {
      required: true,
      content: {
        'multipart/form-data': {
          schema: {
            type: 'object',
            required: [FILE_FIELD],
            properties: {
              [FILE_FIELD]: {
                type: 'string',
                contentMediaType: 'application/octet-stream',
                description: 'The video: mp4, mov, webm, mkv, avi or MPEG-TS with H.264, VP8 or VP9 video; 10 KB to 32 MB, at least 3 s of video.',
              },
              [INCLUDE_FIELD]: {
                type: 'array',
                items: { type: 'string', enum: [...UPLOAD_INCLUDE] },
                description: 'Repeated text field: conversation_quality_overall adds conversation_quality.overall, conversation_quality_timeline adds conversation_quality.timeline. Unknown values are ignored.',
              },
            },
          },
          encoding: { [FILE_FIELD]: { contentType: 'video/*, application/octet-stream' } },
        },
      },
    },
    responses: {
      '200': {
        description: 'The analysis of the whole file.',
        headers: CORRELATION_HEADER,
        content: { 'application/json': { schema: ref('UploadResponse') } },
      },
      ...errorResponses(UPLOAD_ERROR_CODES),
    },
  };
}

function authOperation(path: string): JsonObject {
  const legacy = path.startsWith('/v0/');
  return {
    operationId: legacy ? 'exchangeTokenV0' : 'exchangeToken',
    tags: ['auth'],
    summary: legacy ? 'Exchange a key pair for an access token (legacy v0 alias)' : 'Exchange a key pair for an access token',
    description: 'Exchange `key_id` and `key_secret` for a short-lived bearer token carrying the scopes asked for (docs/protocol.md §1). The token expires after `expires_in` seconds of the server clock.',
    security: [],
    requestBody: { required: true, content: { 'application/json': { schema: ref('AuthRequest') } } },
    responses: {
      '200': {
        description: 'The access token.',
        headers: { ...CORRELATION_HEADER, 'Cache-Control': { description: 'no-store (RFC 6749 5.1)', schema: { type: 'string' } } },
        content: { 'application/json': { schema: ref('AuthResponse') } },
      },
      ...errorResponses(AUTH_ERROR_CODES),
      '422': {
        description: 'The body is not the JSON object {key_id, key_secret, scopes}: not JSON, not an object, wrong types, extra keys, missing key_id. No ih code exists for it.',
        headers: CORRELATION_HEADER,
        content: { 'application/json': { schema: ref('HttpValidationErrorBody') } },
      },
    },
  };
}

/** Admin error responses for `codes`, one per HTTP status (the admin API's body, narrowed to those codes). */
function adminErrorResponses(codes: readonly AdminErrorCode[]): Record<string, Json> {
  const byStatus = new Map<number, AdminErrorCode[]>();
  for (const code of ['ihm2001', 'ihm2002', 'ihm2003', ...codes] as AdminErrorCode[]) {
    const status = ADMIN_ERROR_TABLE[code].http;
    if (!byStatus.get(status)?.includes(code)) byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const responses: Record<string, Json> = {};
  for (const [status, group] of [...byStatus].sort(([a], [b]) => a - b)) {
    responses[String(status)] = {
      description: group.map((code) => `\`${code}\` ${ADMIN_ERROR_TABLE[code].title}: ${ADMIN_ERROR_TABLE[code].message}`).join(' | '),
      headers: CORRELATION_HEADER,
      content: {
        'application/json': {
          schema: { allOf: [ref('AdminErrorBody'), { properties: { error_id: { enum: group } } }] },
          examples: Object.fromEntries(group.map((code) => [code, { summary: ADMIN_ERROR_TABLE[code].title, value: adminErrorBody(code, SAMPLE_CORRELATION_ID) as unknown as Json }])),
        },
      },
    };
  }
  return responses;
}

const TEST_ID_PARAMETERS: Json[] = [
  { name: TEST_ID_HEADER_NAME, in: 'header', required: false, description: 'The test scope of the call (docs/control-plane.md#scoping-by-test). Without one, the call sees every scope (and queues or sets defaults for sessions without a test id).', schema: ref('TestId') },
  { name: TEST_ID_PARAM, in: 'query', required: false, description: `Same as the ${TEST_ID_HEADER_NAME} header (give one, or both equal).`, schema: ref('TestId') },
];

const LIST = (description: string): JsonObject => ({ in: 'query', required: false, description: `${description} Comma-separated or repeated: any of them.`, schema: { type: 'string' } });

const JOURNAL_FILTERS: Json[] = [
  { name: 'session', in: 'query', required: false, description: "A session's id (its correlation id).", schema: { type: 'string' } },
  { name: 'kind', ...LIST(`Entry kinds: ${JOURNAL_KINDS.join(', ')}.`) },
  { name: 'direction', in: 'query', required: false, description: 'frame entries: in (from the client) or out (from ih-mock).', schema: { enum: ['in', 'out'] } },
  { name: 'type', ...LIST('Entry types: envelope types (signal.detected, error, …), in-frame types (binary, session.config, session.close, text.invalid, close), session.opened, session.ended, upload, auth, inject, ….') },
  { name: 'code', ...LIST('ih codes (of error envelopes, rejected frames, HTTP error answers).') },
  { name: 'signal_type', ...LIST('Signal types of signal.* events.') },
  { name: 'since', in: 'query', required: false, description: 'Only entries with a greater seq (default 0: everything the journal still holds).', schema: { type: 'integer', minimum: 0 } },
];

function adminOperation(operationId: string, summary: string, description: string, extra: JsonObject, success: JsonObject, codes: readonly AdminErrorCode[] = []): JsonObject {
  return {
    operationId,
    tags: ['admin'],
    summary,
    description,
    security: [{}, { adminToken: [] }],
    ...extra,
    parameters: [...TEST_ID_PARAMETERS, ...((extra['parameters'] as Json[] | undefined) ?? [])],
    responses: { '200': { headers: CORRELATION_HEADER, ...success }, ...adminErrorResponses(['ihm4001', ...codes]) },
  };
}

const json = (component: string): JsonObject => ({ content: { 'application/json': { schema: ref(component) } } });
const body = (component: string): JsonObject => ({ requestBody: { required: true, content: { 'application/json': { schema: ref(component) } } } });
const SESSION_ID: Json = { name: 'id', in: 'path', required: true, description: "The session's id: its correlation id (in every envelope it sends).", schema: { type: 'string' } };

/** The admin API (docs/control-plane.md) and GET /metrics. */
function adminPaths(): JsonObject {
  const p = ADMIN_PREFIX;
  return {
    [`${p}/`]: { get: adminOperation('adminStatus', 'The server and the admin API at a glance', 'Version, start-up scenario and seed, sessions, the journal\'s counters, how the admin API is guarded, and its routes.', {}, { description: 'Status.', ...json('AdminStatus') }) },
    [`${p}/sessions`]: {
      get: adminOperation(
        'listSessions',
        'Open and recently ended stream sessions',
        'Oldest first: the ended sessions still listed (keepEndedSessions), then the open ones. Scoped by test id.',
        { parameters: [{ name: 'state', in: 'query', required: false, schema: { enum: ['open', 'ended', 'all'], default: 'all' } }] },
        { description: 'The sessions.', ...json('SessionList') },
      ),
    },
    [`${p}/sessions/{id}`]: {
      get: adminOperation('getSession', "One session's detail", 'Its summary and counters, its limits, the media ranges shed, and its scenario.', { parameters: [SESSION_ID] }, { description: 'The session.', ...json('SessionDetail') }, ['ihm4004']),
    },
    [`${p}/sessions/{id}/inject`]: {
      post: adminOperation(
        'injectFaults',
        'Apply faults to a live session',
        'Faults in the scenario vocabulary (docs/scenarios.md), checked with the same rules and messages as a scenario file. Without `when` a fault happens at once; with a stream trigger it is armed on the session (wall_seconds counted from now). missing_scope and upload triggers are refused here.',
        { parameters: [SESSION_ID], ...body('InjectRequest') },
        { description: 'What was applied and armed, and the session\'s state after.', ...json('InjectResult') },
        ['ihm4004', 'ihm4009'],
      ),
    },
    [`${p}/journal`]: {
      get: adminOperation(
        'readJournal',
        'Journal entries',
        'Every frame of every session in both directions, sessions opening and ending, uploads and token exchanges answered, admin actions, oldest first. Page with since=next.',
        { parameters: [...JOURNAL_FILTERS, { name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: MAX_JOURNAL_LIMIT, default: DEFAULT_JOURNAL_LIMIT } }] },
        { description: 'The entries.', ...json('JournalPage') },
      ),
      delete: adminOperation('clearJournal', 'Clear the journal', "Removes the scope's entries (every entry without a test id). seq numbers are never reused.", {}, { description: 'How many entries were removed.', ...json('ClearResult') }),
    },
    [`${p}/journal/wait`]: {
      get: adminOperation(
        'waitForEntry',
        'Wait for a journal entry',
        'A long-poll: answers with the first entry after `since` that matches the filters, already recorded or yet to come (so there is no race with what already happened). Answers 408 ihm4008 after timeout_ms of real time.',
        { parameters: [...JOURNAL_FILTERS, { name: 'timeout_ms', in: 'query', required: false, schema: { type: 'integer', minimum: 0, maximum: MAX_WAIT_MS, default: DEFAULT_WAIT_MS } }] },
        { description: 'The entry.', ...json('WaitResult') },
        ['ihm4008'],
      ),
    },
    [`${p}/journal/stream`]: {
      get: adminOperation(
        'streamJournal',
        'Follow the journal (Server-Sent Events)',
        'Each matching entry after `since` (or the Last-Event-ID header) as `id: <seq>`, `event: entry`, `data: <JournalEntry>`; entries no longer held are announced once as `event: gap` with `{"from","to"}`. A comment line every 15 s keeps the connection open.',
        { parameters: JOURNAL_FILTERS },
        { description: 'An endless text/event-stream.', content: { 'text/event-stream': { schema: { type: 'string' } } } },
      ),
    },
    [`${p}/queue`]: {
      get: adminOperation('getQueue', 'Faults queued in this scope', 'For the next sessions and the next uploads, oldest first.', {}, { description: 'The queue.', ...json('QueueState') }),
      delete: adminOperation('clearQueue', 'Drop the faults queued in this scope', '', {}, { description: 'The (empty) queue.', ...json('QueueState') }),
    },
    [`${p}/queue/sessions`]: {
      post: adminOperation('queueSessionFaults', 'Faults for the next sessions', 'Each of the next `sessions` stream sessions opened in this scope runs these faults on top of its scenario\'s, with the same triggers (missing_scope: the session is refused instead of session.ready).', body('SessionQueueRequest'), { description: 'The queue after.', ...json('QueueState') }),
    },
    [`${p}/queue/uploads`]: {
      post: adminOperation('queueUploadFaults', 'Faults for the next uploads', 'Each of the next `uploads` uploads in this scope (with an accepted credential) meets these faults, before the scenario\'s: error (a code with an HTTP status), delay or disconnect, without `when`.', body('UploadQueueRequest'), { description: 'The queue after.', ...json('QueueState') }),
    },
    [`${p}/defaults`]: {
      get: adminOperation('getDefaults', 'What new sessions of this scope run', 'When their URL does not choose: the scope\'s defaults, else the unscoped ones, else the start-up options (null).', {}, { description: 'The defaults.', ...json('Defaults') }),
      post: adminOperation('setDefaults', 'Change what new sessions of this scope run', 'A key left out keeps its value; null restores the start-up value. Applies to stream sessions opened from now on; uploads keep the start-up scenario.', body('DefaultsRequest'), { description: 'The defaults after.', ...json('Defaults') }),
    },
    [`${p}/reset`]: {
      post: adminOperation('reset', 'Back to the start-up state', 'With a test id: that scope\'s journal entries, ended sessions, queued faults and defaults. Without: everything, the journal\'s eviction count, and the upload count of the scenario\'s upload faults. Open sessions are left alone; metrics keep counting.', {}, { description: 'What was cleared.', ...json('ResetResult') }),
    },
    [DASHBOARD_PATH]: {
      get: {
        operationId: 'dashboard',
        tags: ['admin'],
        summary: 'The live dashboard (a web page for a browser)',
        description:
          'Sessions, one session\'s timeline and frames as they happen, inject forms, uploads (docs/control-plane.md#the-dashboard). Its script, styles and the timeline renderer are served beside it under the same folder. The page reads everything from the admin routes; where an admin token is configured, the files are served without it (they hold no data) and the page sends the token it is given in its address\'s fragment (#token=…) as X-IH-Admin-Token.',
        security: [{}],
        responses: { '200': { description: 'The page.', headers: CORRELATION_HEADER, content: { 'text/html': { schema: { type: 'string' } } } }, ...adminErrorResponses(['ihm2003']) },
      },
    },
    [METRICS_PATH]: {
      get: {
        operationId: 'metrics',
        tags: ['service'],
        summary: 'Prometheus metrics',
        description: 'The text exposition format (docs/control-plane.md#metrics). Open like /health: counts only.',
        security: [],
        responses: { '200': { description: 'The metrics.', headers: CORRELATION_HEADER, content: { 'text/plain': { schema: { type: 'string' } } } } },
      },
    },
  };
}

/** The whole document. */
export function buildOpenApi(): JsonObject {
  const pkg = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string; description: string };
  const paths: JsonObject = {
    [UPLOAD_PATH]: { post: uploadOperation() },
  };
  for (const path of AUTH_PATHS) paths[path] = { post: authOperation(path) };
  paths['/health'] = {
    get: {
      operationId: 'health',
      tags: ['service'],
      summary: 'Liveness, and the number of stream sessions open',
      security: [],
      responses: { '200': { description: 'The server is up.', headers: CORRELATION_HEADER, content: { 'application/json': { schema: ref('Health') } } } },
    },
  };
  paths[OPENAPI_ROUTE] = {
    get: {
      operationId: 'openapi',
      tags: ['service'],
      summary: 'This document',
      security: [],
      responses: { '200': { description: 'The OpenAPI 3.1 description of the HTTP endpoints.', headers: CORRELATION_HEADER, content: { 'application/json': { schema: { type: 'object' } } } } },
    },
  };
  Object.assign(paths, adminPaths());
  return {
    openapi: '3.1.0',
    info: {
      title: 'ih-mock: the Interhuman v1 HTTP API',
      version: pkg.version,
      description:
        'The HTTP endpoints of ih-mock, a local emulator of the Interhuman v1 API. The WebSocket stream endpoint (/v1/stream/analyze) is described by schemas/asyncapi.yaml. Generated by schemas/generate-openapi.ts from the JSON Schemas in schemas/ and the error table; do not edit by hand.',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [{ url: 'http://127.0.0.1:4747', description: 'ih-mock with its default host and port' }],
    security: [{ bearer: [] }],
    tags: [
      { name: 'upload', description: 'Analysis of a whole video file.' },
      { name: 'auth', description: 'Token exchange.' },
      { name: 'service', description: 'Operational endpoints of ih-mock.' },
      { name: 'admin', description: `ih-mock's control plane under ${ADMIN_PREFIX}/ (not part of the Interhuman API): sessions, the journal, fault injection, defaults, reset. No token needed from a loopback client of a loopback-bound server; elsewhere the ${ADMIN_TOKEN_HEADER_NAME} header.` },
    ],
    paths,
    components: {
      schemas: { ...(embedSchemas() as JsonObject), Health: HEALTH_SCHEMA },
      headers: {
        XCorrelationId: {
          description: 'The request id (a UUID), also the correlation_id of an error body. Sent on every response.',
          schema: { type: 'string', format: 'uuid' },
        },
        RetryAfter: { description: 'Whole seconds until one more request would be accepted (429 ih3001).', schema: { type: 'integer', minimum: 1 } },
      },
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'An API key (ih_live_…) or an access token from POST /v1/auth. With no apiKeys configured, ih-mock accepts any non-empty key.',
        },
        adminToken: {
          type: 'apiKey',
          in: 'header',
          name: ADMIN_TOKEN_HEADER_NAME,
          description: 'The admin token (--admin-token). Not needed from a loopback client of a server bound to a loopback address.',
        },
      },
    },
  };
}

/** The file's text: 2-space JSON and a final newline. */
export function openApiText(): string {
  return `${JSON.stringify(buildOpenApi(), null, 2)}\n`;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const text = openApiText();
  if (process.argv.includes('--check')) {
    const current = readFileSync(OPENAPI_FILE, 'utf8');
    if (current !== text) {
      console.error(`${OPENAPI_FILE} is stale: run npm run gen:openapi`);
      process.exit(1);
    }
  } else {
    writeFileSync(OPENAPI_FILE, text);
    console.log(`wrote ${OPENAPI_FILE}`);
  }
}
