/**
 * The token exchange (`POST /v1/auth`, `/v0/auth`), tokens on the stream, scopes, expiry on the
 * server's clock and the rate limit, over real HTTP and real sockets (docs/protocol.md §1, §5).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../server/clock.js';
import { formatDiagnostics, validateAuthResponse, validateHttpError, validateHttpValidationError } from '../../server/validation.js';
import { startCli, waitReady } from '../support/cli.js';
import { connect, connectRefused } from '../support/client.js';
import { readMedia } from '../support/media.js';
import { rawExchange, upgradeRequest } from '../support/raw-http.js';
import { startServer, useServers } from '../support/server.js';

useServers();

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const UPLOAD = 'interhumanai.upload';
const STREAM = 'interhumanai.stream';

interface Answer {
  status: number;
  headers: Headers;
  body: any;
}

/** POST a JSON value (or raw text with the given content type) to the token exchange. */
async function postAuth(baseUrl: string, body: unknown, opts: { path?: string; raw?: string; contentType?: string | null } = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  const contentType = opts.contentType === undefined ? 'application/json' : opts.contentType;
  if (contentType !== null) headers['Content-Type'] = contentType;
  const res = await fetch(`${baseUrl}${opts.path ?? '/v1/auth'}`, { method: 'POST', headers, body: opts.raw ?? JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

/** Exchange a pair for a token; fails the test unless it is a valid 200. */
async function token(baseUrl: string, scopes: string[] | undefined, keyId = 'key_1', keySecret = 'secret_1'): Promise<string> {
  const answer = await postAuth(baseUrl, { key_id: keyId, key_secret: keySecret, ...(scopes ? { scopes } : {}) });
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return answer.body.access_token as string;
}

/** Expect a v1 error body with `code` whose correlation_id is the X-Correlation-ID header. */
function expectHttpError(answer: Answer, status: number, code: string): void {
  expect(answer.status, JSON.stringify(answer.body)).toBe(status);
  const result = validateHttpError(answer.body);
  expect(result.ok ? '' : formatDiagnostics(result.errors)).toBe('');
  expect(answer.body.error_id).toBe(code);
  expect(answer.headers.get('x-correlation-id')).toMatch(UUID);
  expect(answer.body.correlation_id).toBe(answer.headers.get('x-correlation-id'));
  expect(answer.body.link).toMatch(new RegExp(`#${code}-`));
}

describe('token exchange (as in the upload codealong)', () => {
  it('exchanges key_id and key_secret for a token with the upload scope; the body matches the schema', async () => {
    const server = await startServer();
    const answer = await postAuth(server.baseUrl, { key_id: 'key_1', key_secret: 'secret_1', scopes: [UPLOAD] });
    expect(answer.status).toBe(200);
    const result = validateAuthResponse(answer.body);
    expect(result.ok ? '' : formatDiagnostics(result.errors)).toBe('');
    expect(answer.body).toEqual({ access_token: expect.stringMatching(/^ihtok_[0-9a-f]{40}$/), token_type: 'Bearer', expires_in: 900, scope: UPLOAD });
    // The header is on every response; a 200 body carries no correlation id.
    expect(answer.headers.get('x-correlation-id')).toMatch(UUID);
    expect(JSON.stringify(answer.body)).not.toContain(answer.headers.get('x-correlation-id'));
    expect(answer.headers.get('cache-control')).toBe('no-store');
  });

  it('serves the same exchange on /v0/auth', async () => {
    const server = await startServer();
    const answer = await postAuth(server.baseUrl, { key_id: 'k', key_secret: 's', scopes: [STREAM] }, { path: '/v0/auth' });
    expect(answer.status).toBe(200);
    expect(validateAuthResponse(answer.body).ok).toBe(true);
    expect(answer.body.scope).toBe(STREAM);
    expectHttpError(await postAuth(server.baseUrl, { key_id: 'k' }, { path: '/v0/auth' }), 400, 'ih2005');
  });

  it('grants every scope when scopes is omitted, space-separated in the order asked otherwise, and honours tokenTtlSeconds', async () => {
    const server = await startServer({ tokenTtlSeconds: 60 });
    const all = await postAuth(server.baseUrl, { key_id: 'k', key_secret: 's' });
    expect(all.body).toMatchObject({ scope: `${UPLOAD} ${STREAM}`, expires_in: 60 });
    const both = await postAuth(server.baseUrl, { key_id: 'k', key_secret: 's', scopes: [STREAM, UPLOAD] });
    expect(both.body.scope).toBe(`${STREAM} ${UPLOAD}`);
    expect(both.body.access_token).not.toBe(all.body.access_token);
  });

  it('draws tokens from the seed: the same seed issues the same tokens', async () => {
    const first = async (seed: number) => token((await startServer({ seed })).baseUrl, [UPLOAD]);
    expect(await first(7)).toBe(await first(7));
    expect(await first(7)).not.toBe(await first(8));
  });
});

describe('token exchange errors', () => {
  it.each([
    ['key_secret absent', { key_id: 'k', scopes: [UPLOAD] }],
    ['key_secret null', { key_id: 'k', key_secret: null }],
    ['key_secret empty', { key_id: 'k', key_secret: '' }],
  ])('%s → 400 ih2005', async (_name, body) => {
    const server = await startServer();
    expectHttpError(await postAuth(server.baseUrl, body), 400, 'ih2005');
  });

  it.each<[string, { body?: unknown; raw?: string; contentType?: string | null }, { type: string; loc: (string | number)[] }[]]>([
    ['not JSON', { raw: '{"key_id": "k", "key_secret": sec' }, [{ type: 'json_invalid', loc: ['body'] }]],
    ['an empty body', { raw: '' }, [{ type: 'missing', loc: ['body'] }]],
    ['no JSON content type', { raw: '{"key_id":"k","key_secret":"s"}', contentType: 'text/plain' }, [{ type: 'model_attributes_type', loc: ['body'] }]],
    ['an array', { body: [{ key_id: 'k', key_secret: 's' }] }, [{ type: 'model_attributes_type', loc: ['body'] }]],
    ['key_id missing', { body: { key_secret: 's' } }, [{ type: 'missing', loc: ['body', 'key_id'] }]],
    ['key_id a number', { body: { key_id: 42, key_secret: 's' } }, [{ type: 'string_type', loc: ['body', 'key_id'] }]],
    ['key_secret a number', { body: { key_id: 'k', key_secret: 1234 } }, [{ type: 'string_type', loc: ['body', 'key_secret'] }]],
    ['an extra key', { body: { key_id: 'k', key_secret: 's', grant_type: 'client_credentials' } }, [{ type: 'extra_forbidden', loc: ['body', 'grant_type'] }]],
    ['scopes a string', { body: { key_id: 'k', key_secret: 's', scopes: UPLOAD } }, [{ type: 'list_type', loc: ['body', 'scopes'] }]],
    ['an unknown scope', { body: { key_id: 'k', key_secret: 's', scopes: ['interhumanai.upload.inter-2-audio'] } }, [{ type: 'literal_error', loc: ['body', 'scopes', 0] }]],
    ['no scope at all', { body: { key_id: 'k', key_secret: 's', scopes: [] } }, [{ type: 'too_short', loc: ['body', 'scopes'] }]],
    ['a repeated scope', { body: { key_id: 'k', key_secret: 's', scopes: [UPLOAD, UPLOAD] } }, [{ type: 'value_error', loc: ['body', 'scopes'] }]],
    ['key_id missing and key_secret missing (the shape error wins)', { body: { scopes: [UPLOAD] } }, [{ type: 'missing', loc: ['body', 'key_id'] }]],
  ])('%s → 422 {detail:[…]} naming the place, never echoing the input', async (_name, req, expected) => {
    const server = await startServer();
    const answer = await postAuth(server.baseUrl, req.body, { raw: req.raw, contentType: req.contentType });
    expect(answer.status, JSON.stringify(answer.body)).toBe(422);
    const result = validateHttpValidationError(answer.body);
    expect(result.ok ? '' : formatDiagnostics(result.errors)).toBe('');
    expect(answer.body.detail.map((d: { type: string; loc: unknown }) => ({ type: d.type, loc: d.loc }))).toEqual(expected);
    expect(answer.headers.get('x-correlation-id')).toMatch(UUID);
    expect(JSON.stringify(answer.body)).not.toMatch(/1234|sec"|client_credentials/);
  });

  it('configured pairs restrict: wrong secret or unknown key → 401 ih2001; a scope not granted → 403 ih2003', async () => {
    const server = await startServer({
      keyPairs: [
        { keyId: 'key_upload', keySecret: 'secret_u', scopes: [UPLOAD] },
        { keyId: 'key_all', keySecret: 'secret_a' },
      ],
    });
    expectHttpError(await postAuth(server.baseUrl, { key_id: 'key_upload', key_secret: 'wrong', scopes: [UPLOAD] }), 401, 'ih2001');
    expectHttpError(await postAuth(server.baseUrl, { key_id: 'key_nobody', key_secret: 'secret_u' }), 401, 'ih2001');
    const denied = await postAuth(server.baseUrl, { key_id: 'key_upload', key_secret: 'secret_u', scopes: [UPLOAD, STREAM] });
    expectHttpError(denied, 403, 'ih2003');
    expect(denied.body.message).toContain(STREAM);
    expect((await postAuth(server.baseUrl, { key_id: 'key_upload', key_secret: 'secret_u' })).body.scope).toBe(UPLOAD);
    expect((await postAuth(server.baseUrl, { key_id: 'key_all', key_secret: 'secret_a', scopes: [STREAM] })).body.scope).toBe(STREAM);
  });

  it('open mode (no keyPairs) accepts any non-empty pair with every scope', async () => {
    const server = await startServer();
    for (const [id, secret] of [['a', 'b'], ['ih_key_1234', 'anything at all']]) {
      const answer = await postAuth(server.baseUrl, { key_id: id, key_secret: secret, scopes: [UPLOAD, STREAM] });
      expect(answer.status).toBe(200);
    }
  });

  it('answers other methods and paths with 404, not a crash', async () => {
    const server = await startServer();
    expect((await fetch(`${server.baseUrl}/v1/auth`)).status).toBe(404);
    expect((await postAuth(server.baseUrl, { key_id: 'k', key_secret: 's' }, { path: '/v2/auth' })).status).toBe(404);
  });
});

describe('tokens on the stream', () => {
  it('a stream token works as Authorization: Bearer, as a single subprotocol and as the access_token pair', async () => {
    const server = await startServer({ apiKeys: ['ih_live_only_key'] }); // configured API keys do not stop tokens
    const access = await token(server.baseUrl, [STREAM]);
    const bearer = await connect(server.streamUrl, { headers: { Authorization: `Bearer ${access}` } });
    await bearer.waitForType('session.ready');
    const single = await connect(server.streamUrl, { protocols: access });
    expect(single.ws.protocol).toBe(access);
    await single.waitForType('session.ready');
    const pair = await connect(server.streamUrl, { protocols: ['access_token', access] });
    expect(pair.ws.protocol).toBe('access_token');
    await pair.waitForType('session.ready');
  });

  it('an upload-only token gets the upgrade, then error ih2003 (segment null) and close 4003, and no session.ready', async () => {
    const server = await startServer();
    const uploadOnly = await token(server.baseUrl, [UPLOAD]);
    for (const opts of [{ headers: { Authorization: `Bearer ${uploadOnly}` } }, { protocols: uploadOnly }]) {
      const client = await connect(server.streamUrl, opts);
      const closed = await client.closed;
      expect(closed.code).toBe(4003);
      expect(client.types()).toEqual(['error']);
      const error = client.frames[0]!;
      expect(error.data).toMatchObject({ code: 'ih2003', segment: null, link: 'https://docs.interhuman.ai/api-reference/error-handling#ih2003-insufficient-scope' });
      expect(error.data.message).toContain(STREAM);
      expect(error.correlation_id).toBe(client.upgrade?.headers['x-correlation-id']);
    }
    expect(server.sessions.size).toBe(0);
  });

  it('an expired token is refused on the upgrade with 401 ih2001, by the server clock', async () => {
    const clock = new VirtualClock();
    const server = await startServer({ clock, tokenTtlSeconds: 900 });
    const access = await token(server.baseUrl, [STREAM]);
    await clock.advance(900_000 - 1);
    const lastMoment = await connect(server.streamUrl, { apiKey: access });
    await lastMoment.waitForType('session.ready');
    lastMoment.ws.close();
    await lastMoment.closed;
    await clock.advance(1);
    const refused = await connectRefused(server.streamUrl, { apiKey: access });
    expect(refused.status).toBe(401);
    expect(refused.body).toMatchObject({ error_id: 'ih2001', correlation_id: refused.headers['x-correlation-id'] });
    // A fresh token works again.
    const fresh = await connect(server.streamUrl, { protocols: await token(server.baseUrl, [STREAM]) });
    await fresh.waitForType('session.ready');
  });

  it('an unknown token-shaped credential is refused even in open mode (it could be an expired token)', async () => {
    const server = await startServer();
    const refused = await connectRefused(server.streamUrl, { apiKey: `ihtok_${'0'.repeat(40)}` });
    expect(refused.status).toBe(401);
    expect(refused.body.error_id).toBe('ih2001');
  });
});

describe('rate limit', () => {
  it('429 ih3001 with Retry-After beyond rateLimitPerMinute per key, recovering as the minute slides on', async () => {
    const clock = new VirtualClock();
    const server = await startServer({ clock, rateLimitPerMinute: 3 });
    const ask = () => postAuth(server.baseUrl, { key_id: 'busy', key_secret: 's', scopes: [UPLOAD] });
    expect((await ask()).status).toBe(200);
    await clock.advance(20_000);
    expect((await ask()).status).toBe(200);
    expect((await postAuth(server.baseUrl, { key_id: 'busy', key_secret: 'wrong-does-not-matter' })).status).toBe(200); // open mode; still counts
    const limited = await ask();
    expectHttpError(limited, 429, 'ih3001');
    expect(limited.headers.get('retry-after')).toBe('40');
    // Another key is not affected.
    expect((await postAuth(server.baseUrl, { key_id: 'calm', key_secret: 's' })).status).toBe(200);
    await clock.advance(30_000);
    expect((await ask()).headers.get('retry-after')).toBe('10');
    await clock.advance(10_000); // the first request has left the window
    expect((await ask()).status).toBe(200);
    expect((await ask()).status).toBe(429);
  });

  it('no limit when rateLimitPerMinute is null', async () => {
    const server = await startServer({ rateLimitPerMinute: null });
    for (let i = 0; i < 30; i++) expect((await postAuth(server.baseUrl, { key_id: 'k', key_secret: 's' })).status).toBe(200);
  });
});

describe('logs', () => {
  let mp4: Buffer;
  beforeAll(async () => {
    mp4 = await readMedia({ container: 'mp4', video: 'h264', audio: 'aac', seconds: 4 });
  }, 60_000);

  /**
   * Every way a credential reaches the server, against the real CLI: the token exchange (good,
   * wrong, malformed, key_secret of every JSON type), the token it issues, API keys as Bearer on an
   * upload and on the stream, as a single subprotocol and in the pair (also with an empty list
   * element), bad keys, and credentials in places nobody should put them (cookie, X-Api-Key, the
   * query string, a request the HTTP parser rejects, a refused WebSocket handshake).
   */
  async function exerciseCredentials(base: string, key: string, keyId: string, keySecret: string): Promise<string[]> {
    const secrets: string[] = [key, keySecret];
    const wrong = `${keySecret}_WRONG`;
    secrets.push(wrong);
    const issued = await token(base, [UPLOAD, STREAM], keyId, keySecret);
    secrets.push(issued, issued.slice('ihtok_'.length));
    await postAuth(base, { key_id: keyId, key_secret: wrong });
    await postAuth(base, { key_id: keyId, key_secret: keySecret, scopes: ['admin'] });
    await postAuth(base, undefined, { raw: `{"key_id":"${keyId}","key_secret":"${keySecret}` });
    for (const odd of [[keySecret], { value: keySecret }, 404]) await postAuth(base, { key_id: keyId, key_secret: odd, note: keySecret });
    await postAuth(base, { key_id: keyId, key_secret: keySecret }, { contentType: 'text/plain' });

    const form = () => {
      const f = new FormData();
      f.append('include[]', 'conversation_quality_overall');
      f.append('file', new Blob([mp4 as Uint8Array<ArrayBuffer>], { type: 'video/mp4' }), 'call.mp4');
      return f;
    };
    const badKey = `${key}_UNLISTED`;
    secrets.push(badKey);
    for (const credential of [key, issued, badKey]) {
      const res = await fetch(`${base}/v1/upload/analyze`, { method: 'POST', body: form(), headers: { Authorization: `Bearer ${credential}`, Cookie: `session=${credential}`, 'X-Api-Key': credential } });
      expect(res.status).toBe(credential === badKey ? 401 : 200);
    }
    await fetch(`${base}/nope?api_key=${key}`, { headers: { Authorization: `Bearer ${key}` } });
    await rawExchange(base, `GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${key}\r\nbroken header ${key}\r\n\r\n`);
    await rawExchange(base, upgradeRequest('/v1/stream/analyze', `Authorization: Bearer ${key}\r\n`).replace(/Sec-WebSocket-Key: .*\r\n/, ''));

    const stream = `${base.replace('http', 'ws')}/v1/stream/analyze`;
    for (const opts of [{ apiKey: key }, { protocols: key }, { protocols: ['access_token', issued] }]) {
      const client = await connect(stream, opts);
      await client.waitForType('session.ready');
      client.sendJson({ include: [], goal_dimensions: ['rapport'] });
      await client.waitForType('session.updated');
      expect((await client.closeGracefully()).code).toBe(1000);
    }
    // A browser never sends an empty list element; ws refuses to: a bare socket does.
    expect((await rawExchange(base, upgradeRequest('/v1/stream/analyze', `Sec-WebSocket-Protocol: , ${key}\r\n`))).status).toBe(101);
    await connectRefused(stream, { apiKey: badKey });
    await connectRefused(stream, { protocols: badKey });
    return secrets;
  }

  it.each(['trace', 'debug', 'info', 'warn', 'error'])('hold no credential at --log-level %s, whichever way it was sent', async (level) => {
    const key = `ih_live_SECRETKEY_${level}`;
    const run = startCli(['--port', '0', '--log-level', level, '--seed', '7', '--processing-ratio', '0', '--api-key', key, '--key-pair', `key_logged:KS_SECRET_${level}`]);
    let secrets: string[];
    try {
      const base = await waitReady(run);
      secrets = await exerciseCredentials(base, key, 'key_logged', `KS_SECRET_${level}`);
    } finally {
      run.child.kill('SIGTERM');
      await run.exited;
    }
    const lines = `${run.stdout()}\n${run.stderr()}`.split('\n');
    for (const secret of secrets) {
      const leaking = lines.filter((line) => line.includes(secret));
      expect(leaking, `--log-level ${level}: lines holding ${secret}:\n${leaking.join('\n')}`).toEqual([]);
    }
    // The exercise reached the logs that would have leaked: at trace, the multipart plugin's dump of
    // the request headers (scrubbed); at info, the outcome lines.
    const logs = run.stderr();
    if (level === 'trace') expect(logs).toMatch(/"busboyOptions":\{"headers":\{[^}]*"authorization":"\[redacted\]"/);
    if (level === 'trace' || level === 'debug' || level === 'info') {
      for (const msg of ['access token issued', 'token exchange refused', 'upload analyzed', 'stream session opened', 'stream upgrade refused']) expect(logs, `no "${msg}" line at ${level}`).toContain(msg);
    }
  }, 60_000);
});
