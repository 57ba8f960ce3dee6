/**
 * Every HTTP error ih-mock can send has the v1 body and `X-Correlation-ID` (docs/protocol.md §1): requests
 * the HTTP parser rejects, targets fastify cannot route, unknown paths, and WebSocket handshakes the
 * WebSocket layer refuses. Sent over bare sockets, since a normal client cannot send most of them.
 */
import { describe, expect, it } from 'vitest';
import { connect } from '../support/client.js';
import { expectV1Error, openRaw, rawExchange, upgradeRequest, UUID } from '../support/raw-http.js';
import { startServer, useServers } from '../support/server.js';

useServers();

const AUTH_HEAD = 'POST /v1/auth HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n';
const UPLOAD_HEAD = 'POST /v1/upload/analyze HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ih_live_raw\r\nContent-Type: multipart/form-data; boundary=XYZ\r\n';
const FILE_PART = '--XYZ\r\nContent-Disposition: form-data; name="file"; filename="a.mp4"\r\n\r\nabc';

describe('requests the HTTP parser rejects', () => {
  it.each([
    { name: 'a garbage request line', request: 'GARBAGE\r\n\r\n', status: 400, code: 'ih4900' },
    { name: 'an HTTP/2 preface', request: 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', status: 400, code: 'ih4900' },
    { name: 'a header line without a colon', request: 'GET /health HTTP/1.1\r\nHost 127.0.0.1\r\n\r\n', status: 400, code: 'ih4900' },
    { name: 'a control character in a header value', request: 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: a\u0001b\r\n\r\n', status: 400, code: 'ih4900' },
    { name: 'headers over 16 KiB', request: `GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, status: 431, code: 'ih4931' },
    { name: 'bad chunked encoding on the token exchange', request: `${AUTH_HEAD}Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`, status: 400, code: 'ih4900' },
    { name: 'bad chunked encoding on an upload', request: `${UPLOAD_HEAD}Transfer-Encoding: chunked\r\n\r\n5\r\n--XYZ\r\nnot-hex\r\n`, status: 400, code: 'ih4900' },
    { name: 'both Content-Length and Transfer-Encoding', request: `${AUTH_HEAD}Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, status: 400, code: 'ih4900' },
    { name: 'an HTTP/1.1 request without Host', request: 'GET /health HTTP/1.1\r\n\r\n', status: 400, code: 'ih4900' },
  ])('$name → $status $code', async ({ name, request, status, code }) => {
    const server = await startServer();
    expectV1Error(await rawExchange(server.baseUrl, request), status, code, name);
  });

  it.each([
    ['a token exchange', `${AUTH_HEAD}Content-Length: 100\r\n\r\n{"key_id":"k"`],
    ['an upload', `${UPLOAD_HEAD}Content-Length: 5000\r\n\r\n${FILE_PART}`],
  ])('%s whose body is cut short (the client closes its side) → 400 ih4900 saying so; the server carries on', async (name, request) => {
    const server = await startServer();
    const body = expectV1Error(await rawExchange(server.baseUrl, request, { end: true }), 400, 'ih4900', name);
    expect(body.message).toMatch(/ended in the middle of the request/);
    expect((await fetch(`${server.baseUrl}/health`)).status).toBe(200);
    expect(server.uploads.inFlight).toBe(0);
  });

  it('CONNECT → 400 ih4900 (ih-mock is not a proxy)', async () => {
    const server = await startServer();
    const body = expectV1Error(await rawExchange(server.baseUrl, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n'), 400, 'ih4900');
    expect(body.message).toMatch(/not a proxy/);
  });

  it('an Expect the server does not know is ignored, as RFC 9110 allows, instead of a bare 417', async () => {
    const server = await startServer();
    const answer = await rawExchange(server.baseUrl, 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: teapot\r\n\r\n');
    expect(answer.status).toBe(200);
    expect(answer.headers['x-correlation-id']).toMatch(UUID);
  });
});

describe('requests no route answers', () => {
  it.each([
    { name: 'an unknown path', head: 'GET /nope HTTP/1.1', status: 404, code: 'ih4904', message: /No route GET \/nope\. ih-mock serves/ },
    { name: 'a known path with another method', head: 'GET /v1/upload/analyze HTTP/1.1', status: 404, code: 'ih4904', message: /No route GET \/v1\/upload\/analyze/ },
    { name: 'OPTIONS on the token exchange', head: 'OPTIONS /v1/auth HTTP/1.1', status: 404, code: 'ih4904', message: /No route OPTIONS/ },
    { name: 'a plain GET of the stream path', head: 'GET /v1/stream/analyze HTTP/1.1', status: 404, code: 'ih4904', message: /WebSocket endpoint: open it with a WebSocket upgrade/ },
    { name: 'a target with a bad percent-escape', head: 'GET /%zz HTTP/1.1', status: 400, code: 'ih4900', message: /cannot be decoded/ },
    { name: 'POST of bad JSON to a GET route (fastify reads the body first)', head: 'POST /health HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 1', status: 400, code: 'ih4900', message: /not valid JSON/ },
  ])('$name → $status $code', async ({ name, head, status, code, message }) => {
    const server = await startServer();
    const body = expectV1Error(await rawExchange(server.baseUrl, `${head}\r\nHost: 127.0.0.1\r\n\r\n${head.includes('Content-Length: 1') ? '{' : ''}`), status, code, name);
    expect(body.message).toMatch(message);
  });

  it('the query string is never echoed, and a bad percent-escape in it is no error', async () => {
    const server = await startServer();
    const body = expectV1Error(await rawExchange(server.baseUrl, 'GET /nope?api_key=ih_live_SECRET HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'), 404, 'ih4904');
    expect(body.message).not.toContain('SECRET');
    expect((await rawExchange(server.baseUrl, 'GET /health?%zz=1&a=%E0%A4%A HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')).status).toBe(200);
  });
});

describe('WebSocket handshakes', () => {
  it('Sec-WebSocket-Protocol: ", <key>" is read as the key alone (empty list elements are ignored, RFC 9110 5.6.1), by auth and handshake alike', async () => {
    const server = await startServer({ apiKeys: ['ih_live_listed'] });
    const conn = await openRaw(server.baseUrl);
    await conn.write(upgradeRequest('/v1/stream/analyze', 'Sec-WebSocket-Protocol: , ih_live_listed\r\n'));
    const answer = await conn.answer;
    expect(answer.status, answer.text).toBe(101);
    expect(answer.headers['sec-websocket-protocol']).toBe('ih_live_listed');
    expect(answer.headers['x-correlation-id']).toMatch(UUID);
    conn.socket.destroy();
    // The pair with an empty element in front works the same way.
    const pair = await openRaw(server.baseUrl);
    await pair.write(upgradeRequest('/v1/stream/analyze', 'Sec-WebSocket-Protocol: ,access_token, ih_live_listed\r\n'));
    expect((await pair.answer).headers['sec-websocket-protocol']).toBe('access_token');
    pair.socket.destroy();
  });

  it.each([
    ['no Sec-WebSocket-Key', upgradeRequest('/v1/stream/analyze').replace(/Sec-WebSocket-Key: .*\r\n/, ''), /Sec-WebSocket-Key/],
    ['an unsupported Sec-WebSocket-Version', upgradeRequest('/v1/stream/analyze').replace('Version: 13', 'Version: 12'), /Sec-WebSocket-Version/],
    ['a POST upgrade', upgradeRequest('/v1/stream/analyze').replace('GET', 'POST'), /method/],
    ['Upgrade: h2c', upgradeRequest('/v1/stream/analyze').replace('Upgrade: websocket', 'Upgrade: h2c'), /Upgrade header/],
    ['a repeated subprotocol', upgradeRequest('/v1/stream/analyze', 'Authorization: Bearer ih_live_raw\r\nSec-WebSocket-Protocol: chat, chat\r\n'), /Sec-WebSocket-Protocol/],
    ['a subprotocol that is not a token', upgradeRequest('/v1/stream/analyze', 'Sec-WebSocket-Protocol: ih_live/raw=\r\n'), /Sec-WebSocket-Protocol/],
    ['a bad ?seed=', upgradeRequest('/v1/stream/analyze?seed=abc'), /seed/],
    ['no Host', upgradeRequest('/v1/stream/analyze').replace('Host: 127.0.0.1\r\n', ''), /Host/],
  ])('%s → 400 ih4900, and the server keeps serving', async (name, request, message) => {
    const server = await startServer();
    const answer = await rawExchange(server.baseUrl, request);
    const body = expectV1Error(answer, 400, 'ih4900', name);
    expect(body.message).toMatch(message);
    if (name.includes('Version')) expect(answer.headers['sec-websocket-version']).toBe('13');
    const client = await connect(server.streamUrl);
    await client.waitForType('session.ready');
  });

  it('an upgrade on another path → 404 ih4904; a refused credential → 401 with the v1 body', async () => {
    const server = await startServer({ apiKeys: ['ih_live_listed'] });
    expectV1Error(await rawExchange(server.baseUrl, upgradeRequest('/v1/stream/other')), 404, 'ih4904');
    expectV1Error(await rawExchange(server.baseUrl, upgradeRequest('/v1/stream/analyze', 'Authorization: Bearer ih_live_unlisted\r\n')), 401, 'ih2001');
  });
});
