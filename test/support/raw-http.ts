/**
 * HTTP over a bare TCP socket, for requests a normal client cannot send (broken request lines,
 * headers and bodies; a body that stalls) and for reading exactly what the server answers.
 */
import { createConnection, createServer, type AddressInfo, type Socket } from 'node:net';
import { expect } from 'vitest';
import { formatDiagnostics, validateHttpError } from '../../server/validation.js';

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export interface RawAnswer {
  status: number;
  /** Header names in lower case. */
  headers: Record<string, string>;
  /** The body as text (Content-Length bytes, or whatever came before the close). */
  text: string;
}

export interface RawConnection {
  socket: Socket;
  /** Write and wait until the bytes are handed to the kernel. */
  write(data: string | Buffer): Promise<void>;
  /** The first complete response; rejects if the connection closes before one arrived. */
  answer: Promise<RawAnswer>;
  /** Everything received so far (latin1). */
  received(): string;
  /** Resolves when the server has closed the connection (or it broke). */
  closed: Promise<void>;
}

/** Open a TCP connection to the server at `baseUrl`; `bodyless`: the answer has no body whatever its headers say (a HEAD request). */
export async function openRaw(baseUrl: string, { bodyless = false } = {}): Promise<RawConnection> {
  const { hostname, port } = new URL(baseUrl);
  const socket = createConnection({ host: hostname, port: Number(port) });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let data = '';
  let settle: { resolve: (a: RawAnswer) => void; reject: (e: Error) => void };
  const answer = new Promise<RawAnswer>((resolve, reject) => (settle = { resolve, reject }));
  answer.catch(() => {}); // read only by tests that expect one
  let done = false;
  const tryParse = (final: boolean) => {
    if (done) return;
    const parsed = parseResponse(data, final, bodyless);
    if (parsed) {
      done = true;
      settle.resolve(parsed);
    } else if (final) {
      done = true;
      settle.reject(new Error(`the connection closed without a complete response; received ${JSON.stringify(data.slice(0, 300))}`));
    }
  };
  socket.on('data', (chunk) => {
    data += chunk.toString('latin1');
    tryParse(false);
  });
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) =>
    socket.once('close', () => {
      tryParse(true);
      resolve();
    }),
  );
  return {
    socket,
    write: (chunk) => new Promise<void>((resolve, reject) => socket.write(chunk, (err) => (err ? reject(err) : resolve()))),
    answer,
    received: () => data,
    closed,
  };
}

/** Send `request` on a fresh connection and read the answer (the connection is then destroyed). */
export async function rawExchange(baseUrl: string, request: string | Buffer, { end = false } = {}): Promise<RawAnswer> {
  const conn = await openRaw(baseUrl);
  try {
    await conn.write(request);
    if (end) conn.socket.end();
    return await conn.answer;
  } finally {
    conn.socket.destroy();
  }
}

/**
 * Send `request` and take whatever comes back, even nothing: for tests that only ask "did the server
 * stay up, and what did it say if anything". `cutAfterWrite`: destroy the connection right after
 * writing (a client that leaves mid-request). Status 0 when no status line arrived.
 */
export async function rawAttempt(baseUrl: string, request: string | Buffer, { cutAfterWrite = false } = {}): Promise<RawAnswer> {
  const conn = await openRaw(baseUrl);
  await conn.write(request).catch(() => {});
  if (cutAfterWrite) conn.socket.destroy();
  await Promise.race([conn.answer.catch(() => {}), conn.closed]);
  conn.socket.destroy();
  return parseResponse(conn.received(), true) ?? { status: 0, headers: {}, text: '' };
}

/** A TCP port nothing listens on (bound, then released). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The first response in `data`, or null while incomplete (`final`: the connection has closed). */
export function parseResponse(data: string, final = false, bodyless = false): RawAnswer | null {
  const headEnd = data.indexOf('\r\n\r\n');
  if (headEnd < 0) return null;
  const [statusLine = '', ...lines] = data.slice(0, headEnd).split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? NaN);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const rest = data.slice(headEnd + 4);
  if (bodyless) return { status, headers, text: '' };
  const length = headers['content-length'];
  if (length !== undefined) {
    const bytes = Buffer.from(rest, 'latin1');
    if (bytes.length < Number(length)) return null;
    return { status, headers, text: bytes.subarray(0, Number(length)).toString('utf8') };
  }
  if (headers['transfer-encoding'] === 'chunked') {
    const end = rest.indexOf('0\r\n\r\n');
    return end < 0 && !final ? null : { status, headers, text: rest };
  }
  return final || status === 101 || status === 204 || status === 304 ? { status, headers, text: rest } : null;
}

/**
 * What every HTTP error must be (docs/protocol.md §1): JSON, the v1 body valid against its schema, an
 * `X-Correlation-ID` (a UUID) equal to its `correlation_id`. Returns the body.
 */
export function expectV1Error(answer: RawAnswer, status: number, code: string, what = ''): { error_id: string; message: string; correlation_id: string; link: string } {
  const label = `${what} ${answer.status} ${answer.text.slice(0, 300)}`;
  expect(answer.status, label).toBe(status);
  expect(answer.headers['content-type'], label).toMatch(/^application\/json/);
  let body: any;
  try {
    body = JSON.parse(answer.text);
  } catch {
    throw new Error(`not JSON: ${label}`);
  }
  const check = validateHttpError(body);
  expect(check.ok ? '' : formatDiagnostics(check.errors), label).toBe('');
  expect(body.error_id, label).toBe(code);
  expect(answer.headers['x-correlation-id'], label).toMatch(UUID);
  expect(body.correlation_id, label).toBe(answer.headers['x-correlation-id']);
  return body;
}

/** The head of a WebSocket upgrade of `path` with `extra` header lines (each ending in \r\n). */
export function upgradeRequest(path: string, extra = 'Authorization: Bearer ih_live_raw\r\n'): string {
  return `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`;
}
