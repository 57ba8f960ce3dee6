/** Raw TCP for tests that must send what no HTTP client would: malformed requests, cut bodies, broken handshakes. */
import { createConnection, createServer, type AddressInfo } from 'node:net';

export interface RawResponse {
  /** 0 when the connection closed without a status line. */
  status: number;
  /** Lower-case names; the last value of a repeated header. */
  headers: Record<string, string>;
  body: string;
  /** Everything received, as latin1. */
  raw: string;
}

/**
 * Write `request` to 127.0.0.1:`port` and resolve with the response: once the connection closes,
 * or once a whole response (headers and a Content-Length body, or a 101) has arrived.
 * `cutAfterWrite`: destroy the connection right after writing (a client that leaves mid-request).
 */
export function rawExchange(port: number, request: string | Buffer, opts: { cutAfterWrite?: boolean } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    let raw = '';
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      socket.destroy();
      resolve(parseResponse(raw));
    };
    const socket = createConnection({ host: '127.0.0.1', port }, () => {
      socket.write(typeof request === 'string' ? Buffer.from(request, 'latin1') : request, () => {
        if (opts.cutAfterWrite) finish();
      });
    });
    socket.on('data', (d: Buffer) => {
      raw += d.toString('latin1');
      if (isComplete(raw)) finish();
    });
    socket.on('close', finish);
    socket.on('error', (err) => (raw === '' && !opts.cutAfterWrite ? reject(err) : finish()));
  });
}

function isComplete(raw: string): boolean {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) return false;
  const response = parseResponse(raw);
  if (response.status === 101) return true;
  const length = response.headers['content-length'];
  return length !== undefined && Buffer.byteLength(raw.slice(end + 4), 'latin1') >= Number(length);
}

function parseResponse(raw: string): RawResponse {
  const end = raw.indexOf('\r\n\r\n');
  const head = end < 0 ? raw : raw.slice(0, end);
  const [statusLine = '', ...lines] = head.split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const at = line.indexOf(':');
    if (at > 0) headers[line.slice(0, at).trim().toLowerCase()] = line.slice(at + 1).trim();
  }
  const body = end < 0 ? '' : Buffer.from(raw.slice(end + 4), 'latin1').toString('utf8');
  return { status, headers, body, raw };
}

/** A TCP port nothing listens on (bound, then released). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
