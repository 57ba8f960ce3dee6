/**
 * The token exchange, `POST /v1/auth` and its alias `POST /v0/auth` (docs/protocol.md §1): a JSON body
 * `{"key_id","key_secret","scopes":[…]}` → 200 `{"access_token","token_type":"Bearer","expires_in","scope"}`.
 *
 * Checks, in this order (each answers and stops):
 *  1. body shape (not JSON, not an object, wrong types, extra keys, missing key_id) → 422
 *     `{"detail":[{loc,msg,type}]}` (no ih code exists for it; see docs/errors.md). A missing
 *     `key_secret` is left to step 3, as the live service treats it as its own error;
 *  2. rate limit per key (`rateLimitPerMinute`, shared with the account's other HTTP requests) → 429 ih3001;
 *  3. `key_secret` missing (absent, null or "") → 400 ih2005;
 *  4. unknown key or wrong secret → 401 ih2001;
 *  5. a requested scope the key does not have → 403 ih2003.
 *
 * Invariants: nothing from the body is logged or echoed back except the account label (a hash of
 * key_id) and the scopes; the routes live in their own fastify context, so their body parser (raw
 * bytes, JSON parsed here) affects no other route.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { keyAccount, type Authenticator, type Scope } from '../auth.js';
import type { AuthResponse, HttpValidationErrorBody, ValidationProblem } from '../types/generated.js';
import { authRequestProblems, formatDiagnostics, validateAuthResponse, validateHttpError, validateHttpValidationError, type SchemaProblem } from '../validation.js';
import type { ErrorCode } from '../errors.js';
import type { RateLimiter } from './limits.js';
import { sendHttpError, sendRateLimited } from './reply.js';

export const AUTH_PATHS = ['/v1/auth', '/v0/auth'] as const;

/** Every ih code the token exchange answers with (its body-shape errors are 422 without a code). */
export const AUTH_ERROR_CODES = ['ih1001', 'ih2001', 'ih2003', 'ih2005', 'ih3001'] as const satisfies readonly ErrorCode[];

/** Largest token-exchange body read; a real one is under 300 bytes. */
export const MAX_AUTH_BODY_BYTES = 16 * 1024;

export interface AuthRouteDeps {
  authenticator: Authenticator;
  /** Counts requests per account (the key pair's); shared with the other HTTP routes. */
  rateLimiter: RateLimiter;
  /** Validate every response body against schemas/ before sending (the server's `strictEvents`). */
  strict?: boolean;
}

type ValidationType = ValidationProblem['type'];

const BODY_SHAPE = '{"key_id":"…","key_secret":"…","scopes":["interhumanai.upload"]}';

/** Register `POST /v1/auth` and `POST /v0/auth` on `http`, in a context of their own. */
export function registerAuthRoutes(http: FastifyInstance, deps: AuthRouteDeps): void {
  void http.register(async (scope) => {
    // Every body arrives as raw bytes; the handler parses it, so shape errors become our 422 rather
    // than fastify's 400/415.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: MAX_AUTH_BODY_BYTES }, (_request, body, done) => done(null, body));
    scope.setErrorHandler((err: Error & { statusCode?: number; code?: string }, request, reply) => {
      if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
        return sendValidation(reply, [{ type: 'value_error', loc: ['body'], msg: `The body is larger than ${MAX_AUTH_BODY_BYTES} bytes; send only ${BODY_SHAPE}` }]);
      }
      if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
        return sendValidation(reply, [{ type: 'value_error', loc: ['body'], msg: `The body could not be read; send ${BODY_SHAPE}` }]);
      }
      request.log.error({ err: { message: err.message, code: err.code } }, 'token exchange failed');
      return sendHttpError(reply, 'ih1001');
    });
    if (deps.strict) {
      // Every body these routes send must match its schema; a mismatch is a bug in ih-mock (ih1001).
      scope.addHook('onSend', async (_request, reply, payload) => {
        const value: unknown = typeof payload === 'string' ? JSON.parse(payload) : payload;
        const check = reply.statusCode === 200 ? validateAuthResponse(value) : reply.statusCode === 422 ? validateHttpValidationError(value) : validateHttpError(value);
        if (!check.ok) throw new Error(`invalid ${reply.statusCode} body from the token exchange:\n${formatDiagnostics(check.errors)}`);
        return payload;
      });
    }
    for (const path of AUTH_PATHS) scope.post(path, (request, reply) => exchange(request, reply, deps));
  });
}

async function exchange(request: FastifyRequest, reply: FastifyReply, deps: AuthRouteDeps): Promise<FastifyReply> {
  const parsed = parseBody(request);
  if (!parsed.ok) return sendValidation(reply, parsed.detail);
  const body = parsed.value;

  const secretMissing = isObject(body) && (body['key_secret'] === undefined || body['key_secret'] === null || body['key_secret'] === '');
  // Validate everything else with a stand-in secret: a missing one is ih2005, not a 422.
  const probe = secretMissing ? { ...body, key_secret: 'stand-in' } : body;
  const problems = authRequestProblems(probe);
  if (problems.length > 0) return sendValidation(reply, problems.map(toValidationProblem));
  const { key_id: keyId, key_secret: keySecret, scopes } = probe as { key_id: string; key_secret: string; scopes?: Scope[] };

  const account = keyAccount(keyId);
  const rate = deps.rateLimiter.take(account);
  if (!rate.ok) {
    request.log.info({ account, code: 'ih3001', retryAfterSeconds: rate.retryAfterSeconds }, 'token exchange refused');
    return sendRateLimited(reply, rate.retryAfterSeconds);
  }
  if (secretMissing) {
    request.log.info({ account, code: 'ih2005' }, 'token exchange refused');
    return sendHttpError(reply, 'ih2005', 'key_secret is required: send {"key_id","key_secret","scopes"}.');
  }

  const result = deps.authenticator.exchange(keyId, keySecret, scopes);
  if (!result.ok) {
    request.log.info({ account, code: result.code, scopes }, 'token exchange refused');
    return sendHttpError(reply, result.code, result.message);
  }
  request.log.info({ account, scopes: result.scopes, expiresIn: result.expiresIn }, 'access token issued');
  const response: AuthResponse = { access_token: result.accessToken, token_type: 'Bearer', expires_in: result.expiresIn, scope: result.scopes.join(' ') };
  // RFC 6749 5.1: responses carrying tokens must not be cached.
  return reply.code(200).header('Cache-Control', 'no-store').header('Pragma', 'no-cache').send(response);
}

type Parsed = { ok: true; value: unknown } | { ok: false; detail: ValidationProblem[] };

/** The body as JSON, or why it is not: empty, not declared JSON, or not parseable (input never echoed). */
function parseBody(request: FastifyRequest): Parsed {
  const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
  if (raw.length === 0) {
    return { ok: false, detail: [{ type: 'missing', loc: ['body'], msg: `Field required: send the JSON body ${BODY_SHAPE}` }] };
  }
  const contentType = String(request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (contentType !== 'application/json' && !/^application\/[\w.+-]+\+json$/.test(contentType)) {
    return {
      ok: false,
      detail: [{ type: 'model_attributes_type', loc: ['body'], msg: `The body must be JSON sent with Content-Type: application/json (got ${contentType ? JSON.stringify(contentType) : 'no Content-Type'})` }],
    };
  }
  try {
    return { ok: true, value: JSON.parse(raw.toString('utf8')) };
  } catch (err) {
    // Node's message quotes the input, which may hold the secret: keep only the position.
    const position = /at position (\d+)/.exec((err as Error).message)?.[1];
    const loc: ValidationProblem['loc'] = position === undefined ? ['body'] : ['body', Number(position)];
    return { ok: false, detail: [{ type: 'json_invalid', loc, msg: `JSON decode error: the body is not valid JSON${position === undefined ? '' : ` (at position ${position})`}` }] };
  }
}

/** A schema problem as a FastAPI-style 422 entry; never quotes the offending value. */
function toValidationProblem(problem: SchemaProblem): ValidationProblem {
  const tokens = problem.path
    .split('/')
    .slice(1)
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((t) => (/^\d+$/.test(t) ? Number(t) : t));
  const loc: ValidationProblem['loc'] = ['body', ...tokens];
  const [type, msg] = describe(problem);
  return { type, loc, msg };
}

function describe(problem: SchemaProblem): [ValidationType, string] {
  switch (problem.keyword) {
    case 'required':
      return ['missing', 'Field required'];
    case 'additionalProperties':
      return ['extra_forbidden', `Extra inputs are not permitted: the body takes only key_id, key_secret and scopes, e.g. ${BODY_SHAPE}`];
    case 'type':
      if (problem.expectedType === 'object') return ['model_attributes_type', `The body must be a JSON object: ${BODY_SHAPE}`];
      if (problem.expectedType === 'array') return ['list_type', 'Input should be a list of scopes, e.g. ["interhumanai.upload"]'];
      return ['string_type', 'Input should be a valid string'];
    case 'enum':
      return ['literal_error', "Input should be 'interhumanai.upload' or 'interhumanai.stream'"];
    case 'minLength':
      return ['string_too_short', 'String should have at least 1 character'];
    case 'minItems':
      return ['too_short', 'List should have at least 1 scope (omit scopes to get every scope of the key)'];
    case 'uniqueItems':
      return ['value_error', 'Value error, scopes must not repeat a scope'];
    default:
      return ['value_error', 'Value error, invalid value'];
  }
}

function sendValidation(reply: FastifyReply, detail: ValidationProblem[]): FastifyReply {
  const body: HttpValidationErrorBody = { detail: detail as HttpValidationErrorBody['detail'] };
  return reply.code(422).type('application/json; charset=utf-8').send(body);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
