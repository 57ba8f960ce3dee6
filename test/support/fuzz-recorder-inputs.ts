/**
 * Hostile client input for the recorder fuzz test (test/integration/fuzz-recorder.test.ts), as raw
 * bytes: malformed HTTP, bad percent-escapes, cut and broken multipart bodies, broken upgrades,
 * garbage WebSocket frames, auth bodies with credentials of every JSON type. Every choice draws from
 * a seeded `Random`, so a failing run replays from its seed.
 *
 * Each input says what the recorder owes it: `own-error` (it cannot be forwarded: the recorder's
 * own v1 error, status in `statuses`), `forwarded` (the upstream answers, whatever it answers),
 * `cut` (the client leaves mid-request: no answer is owed), `frames` (an upgrade that succeeds, then
 * frames; the connection must close after the final close frame).
 */
import type { Random } from '../../server/random.js';

export type FuzzExpectation = { kind: 'own-error'; statuses: number[] } | { kind: 'forwarded' } | { kind: 'cut' } | { kind: 'frames' };

export interface FuzzInput {
  name: string;
  bytes: Buffer;
  expect: FuzzExpectation;
  /** Credentials this input carries in a credential position (they must never reach the recording). */
  secrets: string[];
}

const WS_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const own = (...statuses: number[]): FuzzExpectation => ({ kind: 'own-error', statuses });
const pick = <T>(r: Random, items: readonly T[]): T => items[r.int(0, items.length - 1)]!;
const hex = (r: Random, n: number) => Array.from({ length: n }, () => r.int(0, 15).toString(16)).join('');
const bytes = (r: Random, n: number) => Buffer.from(Array.from({ length: n }, () => r.int(0, 255)));
/** A credential of the fuzz run: recognisable, so the recording can be searched for it. */
export const fuzzSecret = (r: Random) => `fz_SECRET_${hex(r, 12)}`;

function request(lines: string[], body: string | Buffer = ''): Buffer {
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), typeof body === 'string' ? Buffer.from(body, 'latin1') : body]);
}

/** Bytes the HTTP parser refuses, or a target that is not a path: the recorder's own 400 (431 for huge headers). */
export function malformedHttp(r: Random): FuzzInput {
  const secret = fuzzSecret(r);
  const variants: (() => FuzzInput)[] = [
    () => ({ name: 'not a request line', bytes: request([`\x01${bytes(r, r.int(1, 40)).toString('latin1').replace(/[\r\n]/g, 'x')}`]), expect: own(400), secrets: [] }),
    () => ({ name: 'a bad header name', bytes: request(['GET /health HTTP/1.1', 'Host: x', `Bad${pick(r, ['(', ')', ' ', '@', '"', '{', '\x7f'])}Name: v`, `Authorization: Bearer ${secret}`]), expect: own(400), secrets: [secret] }),
    () => ({ name: 'a control character in a header value', bytes: request(['GET /health HTTP/1.1', 'Host: x', `X-Odd: a${pick(r, ['\x01', '\x00', '\x7f'])}b`]), expect: own(400), secrets: [] }),
    () => ({ name: 'broken chunked encoding', bytes: request(['POST /v1/auth HTTP/1.1', 'Host: x', 'Content-Type: application/json', 'Transfer-Encoding: chunked'], `${pick(r, ['zz', '-1', 'g0', '1;\x01'])}\r\n{}\r\n0\r\n\r\n`), expect: own(400), secrets: [] }),
    () => ({ name: 'Content-Length and chunked together', bytes: request(['POST /v1/auth HTTP/1.1', 'Host: x', 'Content-Length: 2', 'Transfer-Encoding: chunked'], '2\r\n{}\r\n0\r\n\r\n'), expect: own(400), secrets: [] }),
    () => ({ name: 'headers over the limit', bytes: request(['GET /health HTTP/1.1', 'Host: x', `X-Big: ${'a'.repeat(r.int(17_000, 40_000))}`]), expect: own(431), secrets: [] }),
    () => ({ name: 'an absolute-form target', bytes: request([`GET http://${pick(r, ['example.invalid', '127.0.0.1:1', 'x'])}/health HTTP/1.1`, 'Host: x', `Authorization: Bearer ${secret}`, 'Connection: close']), expect: own(400), secrets: [secret] }),
    () => ({ name: 'an asterisk target', bytes: request(['OPTIONS * HTTP/1.1', 'Host: x', 'Connection: close']), expect: own(400), secrets: [] }),
  ];
  return pick(r, variants)();
}

/** Bad percent-escapes and odd query strings: forwarded as they came. */
export function badEscape(r: Random, apiKey: string): FuzzInput {
  const query = pick(r, ['%zz=1', '%', 'a=%E0%A4%A', '%%%', 'x=%00', 'access_token=%ZZ%', `note=${hex(r, 4)}%`, 'a=1&&=&b', '%E2%82']);
  const path = pick(r, ['/health', '/h%zzealth', '/v1/%', '/health/%C0%AF']);
  const variants: (() => FuzzInput)[] = [
    () => ({ name: `GET ${path}?${query}`, bytes: request([`GET ${path}?${query} HTTP/1.1`, 'Host: x', 'Connection: close']), expect: { kind: 'forwarded' }, secrets: [] }),
    () => {
      const body = JSON.stringify({ key_id: 'kid', key_secret: fuzzSecret(r), scopes: ['interhumanai.stream'] });
      return { name: `POST /v1/auth?${query}`, bytes: request([`POST /v1/auth?${query} HTTP/1.1`, 'Host: x', 'Content-Type: application/json', `Content-Length: ${body.length}`, 'Connection: close'], body), expect: { kind: 'forwarded' }, secrets: [JSON.parse(body).key_secret] };
    },
    () => ({ name: `GET /health without Host`, bytes: request([`GET /health?${query} HTTP/1.1`, `Authorization: Bearer ${apiKey}`, 'Connection: close']), expect: { kind: 'forwarded' }, secrets: [] }),
  ];
  return pick(r, variants)();
}

/** A multipart upload cut before its final boundary, cut by the client mid-body, or broken inside a part. */
export function cutMultipart(r: Random, apiKey: string): FuzzInput {
  const boundary = `fz${hex(r, r.int(1, 20))}`;
  const file = bytes(r, r.int(100, 3000));
  const parts = [
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="include[]"\r\n\r\nconversation_quality_overall\r\n`, 'latin1'),
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${pick(r, ['a.webm', 'call.mp4', '%zz.mp4', 'x"y.mp4'])}"\r\nContent-Type: video/webm\r\n\r\n`, 'latin1'),
    file,
    Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1'),
  ];
  const whole = Buffer.concat(parts);
  const head = (length: number, extra: string[] = []) => [`POST /v1/upload/analyze HTTP/1.1`, 'Host: x', `Authorization: Bearer ${apiKey}`, `Content-Type: multipart/form-data; boundary=${boundary}`, `Content-Length: ${length}`, 'Connection: close', ...extra];
  const at = r.int(1, whole.length - 20);
  const variants: (() => FuzzInput)[] = [
    () => {
      const body = whole.subarray(0, at);
      return { name: `a form that ends at byte ${at} of ${whole.length}, before its final boundary`, bytes: request(head(body.length), body), expect: { kind: 'forwarded' }, secrets: [] };
    },
    () => ({ name: `a form cut by the client at byte ${at} of ${whole.length}`, bytes: request(head(whole.length), whole.subarray(0, at)), expect: { kind: 'cut' }, secrets: [] }),
    () => {
      const broken = Buffer.from(whole);
      broken.write(pick(r, ['\r\r', '--', '\n\n', 'ZZ']), r.int(2, 60), 'latin1');
      return { name: 'a form broken inside a part header', bytes: request(head(broken.length), broken), expect: { kind: 'forwarded' }, secrets: [] };
    },
  ];
  return pick(r, variants)();
}

/** An upgrade with one thing wrong: the recorder refuses handshakes it cannot complete; the rest go upstream. */
export function brokenUpgrade(r: Random, apiKey: string): FuzzInput {
  const secret = fuzzSecret(r);
  const base = (over: Partial<Record<string, string | null>> = {}, method = 'GET', target = '/v1/stream/analyze') => {
    const headers: Record<string, string | null> = { Host: 'x', Upgrade: 'websocket', Connection: 'Upgrade', 'Sec-WebSocket-Key': WS_KEY, 'Sec-WebSocket-Version': '13', Authorization: `Bearer ${apiKey}`, ...over };
    return request([`${method} ${target} HTTP/1.1`, ...Object.entries(headers).flatMap(([k, v]) => (v === null ? [] : [`${k}: ${v}`]))]);
  };
  const variants: (() => FuzzInput)[] = [
    () => ({ name: 'upgrade without Sec-WebSocket-Key', bytes: base({ 'Sec-WebSocket-Key': null }), expect: own(400), secrets: [] }),
    () => ({ name: 'upgrade with a short key', bytes: base({ 'Sec-WebSocket-Key': hex(r, r.int(1, 20)) }), expect: own(400), secrets: [] }),
    () => ({ name: 'upgrade with version 12', bytes: base({ 'Sec-WebSocket-Version': pick(r, ['12', '0', 'x', '']) }), expect: own(400), secrets: [] }),
    () => ({ name: 'upgrade by POST', bytes: base({}, pick(r, ['POST', 'PUT', 'DELETE'])), expect: own(405), secrets: [] }),
    () => ({ name: 'Upgrade: not websocket', bytes: base({ Upgrade: pick(r, ['h2c', 'foo', 'websocketx']) }), expect: own(400), secrets: [] }),
    () => ({ name: 'a subprotocol list that is not distinct tokens', bytes: base({ Authorization: null, 'Sec-WebSocket-Protocol': pick(r, [`, ${secret}`, `${secret} x`, `x, x`, `access_token,, ${secret}`, `a/b`]) }), expect: own(400), secrets: [secret] }),
    () => ({ name: 'upgrade to an absolute target', bytes: base({}, 'GET', 'http://example.invalid/v1/stream/analyze'), expect: own(400), secrets: [] }),
    () => ({ name: 'upgrade to another path', bytes: base({}, 'GET', pick(r, ['/v1/stream/nope', '/', '/v2/stream/analyze'])), expect: { kind: 'forwarded' }, secrets: [] }),
    () => ({ name: 'upgrade with a bad escape in its query', bytes: base({}, 'GET', `/v1/stream/analyze?${pick(r, ['%zz', 'scenario=%', 'seed=%E0'])}`), expect: { kind: 'forwarded' }, secrets: [] }),
    () => ({ name: 'upgrade with a wrong key', bytes: base({ Authorization: `Bearer ${secret}` }), expect: { kind: 'forwarded' }, secrets: [secret] }),
    () => ({ name: 'upgrade with the key as subprotocol', bytes: base({ Authorization: null, 'Sec-WebSocket-Protocol': `access_token, ${secret}` }), expect: { kind: 'forwarded' }, secrets: [secret] }),
  ];
  return pick(r, variants)();
}

/** A client frame, masked as RFC 6455 requires (unless `unmasked`). */
function frame(r: Random, opcode: number, payload: Buffer, opts: { fin?: boolean; unmasked?: boolean; rsv?: number } = {}): Buffer {
  const first = ((opts.fin ?? true) ? 0x80 : 0) | ((opts.rsv ?? 0) << 4) | opcode;
  const mask = opts.unmasked ? 0 : 0x80;
  const length = payload.length < 126 ? Buffer.from([mask | payload.length]) : Buffer.from([mask | 126, payload.length >> 8, payload.length & 0xff]);
  if (opts.unmasked) return Buffer.concat([Buffer.from([first]), length, payload]);
  const key = bytes(r, 4);
  const masked = Buffer.from(payload.map((b, i) => b ^ key[i % 4]!));
  return Buffer.concat([Buffer.from([first]), length, key, masked]);
}

/** A valid upgrade, then 1-4 frames (garbage, protocol errors, small valid frames), then a valid close frame. */
export function garbageFrames(r: Random, apiKey: string): FuzzInput {
  const kinds: [string, () => Buffer][] = [
    ['random bytes', () => bytes(r, r.int(1, 64))],
    ['an unmasked text frame', () => frame(r, 0x1, Buffer.from('{}'), { unmasked: true })],
    ['a reserved opcode', () => frame(r, pick(r, [0x3, 0x4, 0xb, 0xf]), bytes(r, r.int(0, 20)))],
    ['reserved bits', () => frame(r, 0x1, Buffer.from('{}'), { rsv: r.int(1, 7) })],
    ['invalid UTF-8 text', () => frame(r, 0x1, Buffer.from([0xc3, 0x28, 0xff]))],
    ['a continuation with nothing to continue', () => frame(r, 0x0, bytes(r, 10))],
    ['a ping over 125 bytes', () => frame(r, 0x9, bytes(r, 126))],
    ['a small config frame', () => frame(r, 0x1, Buffer.from(JSON.stringify(pick(r, [{ include: ['conversation_quality_overall'] }, { type: 'session.configure' }, { include: [1, 2] }, { goal_dimensions: [hex(r, 6)] }]))))],
    ['text that is not JSON', () => frame(r, 0x1, Buffer.from(hex(r, r.int(1, 40))))],
    ['a binary frame of noise', () => frame(r, 0x2, bytes(r, r.int(1, 2000)))],
  ];
  const chosen = Array.from({ length: r.int(1, 4) }, () => pick(r, kinds));
  const close = frame(r, 0x8, Buffer.from([0x03, 0xe8]));
  const upgrade = request(['GET /v1/stream/analyze?scenario=steady HTTP/1.1', 'Host: x', 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Key: ${WS_KEY}`, 'Sec-WebSocket-Version: 13', `Authorization: Bearer ${apiKey}`]);
  return { name: `an upgrade, then ${chosen.map(([n]) => n).join(', ')}`, bytes: Buffer.concat([upgrade, ...chosen.map(([, make]) => make()), close]), expect: { kind: 'frames' }, secrets: [] };
}

/** Token-exchange bodies with the secret in every JSON shape, or not JSON at all: forwarded. */
export function oddAuthBody(r: Random): FuzzInput {
  const secret = fuzzSecret(r);
  const body = pick(r, [
    JSON.stringify({ key_id: 'kid', key_secret: [secret], scopes: ['interhumanai.stream'] }),
    JSON.stringify({ key_id: 'kid', key_secret: { nested: { deeper: [secret] } } }),
    JSON.stringify({ key_id: secret, key_secret: null }),
    JSON.stringify({ key_id: 'kid', key_secret: secret, extra: secret }),
    `{"key_id":"kid","key_secret":"${secret}",}`,
    `key_id=kid&key_secret=${secret}`,
    JSON.stringify([{ key_secret: secret }]),
  ]);
  const type = pick(r, ['application/json', 'text/plain', 'application/x-www-form-urlencoded']);
  const secrets = body.includes('"key_id":"fz_') ? [] : [secret]; // a secret sent as key_id is not in a credential position
  return { name: `POST /v1/auth (${type}) ${body.slice(0, 60)}`, bytes: request(['POST /v1/auth HTTP/1.1', 'Host: x', `Content-Type: ${type}`, `Content-Length: ${Buffer.byteLength(body)}`, 'Connection: close'], body), expect: { kind: 'forwarded' }, secrets };
}

export const RECORDER_FUZZ_GENERATORS: readonly ((r: Random, apiKey: string) => FuzzInput)[] = [malformedHttp, badEscape, cutMultipart, brokenUpgrade, garbageFrames, oddAuthBody];
