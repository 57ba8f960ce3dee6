/**
 * A recording WebSocket client for integration tests. It keeps every frame the server sends,
 * validates each one against `schemas/` as it arrives (violations fail the test through
 * `assertAllFramesValid`), and offers small waits keyed on event types.
 */
import WebSocket from 'ws';
import type { IncomingMessage } from 'node:http';
import { validateAnyServerEvent, formatDiagnostics } from '../../server/validation.js';

export interface Frame {
  type: string;
  timestamp: string;
  correlation_id: string;
  data: any;
}

export interface ConnectOptions {
  headers?: Record<string, string>;
  protocols?: string | string[];
  /** API key sent as `Authorization: Bearer` unless headers/protocols say otherwise. */
  apiKey?: string | null;
  /**
   * Mask frames with the all-zero key (a valid mask, which `ws` then skips applying on both ends):
   * for tests that stream a lot of media, where masking every byte in JavaScript costs more than
   * the emulator itself. The server sees the same frames either way.
   */
  zeroMask?: boolean;
}

export interface CloseInfo {
  code: number;
  reason: string;
}

/** Every client made through `connect`, so a suite can check all frames after each test. */
export const allClients: TestClient[] = [];

export class TestClient {
  readonly frames: Frame[] = [];
  /** The raw text of every frame in `frames`, as it arrived (key order and all). */
  readonly texts: string[] = [];
  readonly invalid: string[] = [];
  readonly closed: Promise<CloseInfo>;
  upgrade: IncomingMessage | undefined;
  private waiters: (() => void)[] = [];

  constructor(readonly ws: WebSocket) {
    ws.on('upgrade', (res) => (this.upgrade = res));
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        this.invalid.push('server sent a binary frame (the server never sends binary)');
        return;
      }
      const text = data.toString();
      let frame: Frame;
      try {
        frame = JSON.parse(text) as Frame;
      } catch {
        this.invalid.push(`not JSON: ${text.slice(0, 200)}`);
        return;
      }
      // Unknown (future) types are checked only for the shared envelope: clients must ignore them.
      const result = validateAnyServerEvent(frame);
      if (!result.ok) this.invalid.push(`${frame.type}: ${formatDiagnostics(result.errors)} in ${text.slice(0, 300)}`);
      this.frames.push(frame);
      this.texts.push(text);
      this.wake();
    });
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        resolve({ code, reason: reason.toString() });
        this.wake();
      });
    });
    ws.on('error', () => this.wake());
  }

  types(): string[] {
    return this.frames.map((f) => f.type);
  }

  ofType(type: string): Frame[] {
    return this.frames.filter((f) => f.type === type);
  }

  /** Wait (real time) until a frame matching `pred` has arrived; resolves with it. */
  async waitFor(pred: (f: Frame) => boolean, timeoutMs = 10_000, what = 'frame'): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.frames.find(pred);
      if (hit) return hit;
      if (this.ws.readyState === WebSocket.CLOSED) throw new Error(`socket closed before ${what}; got ${this.types().join(', ')}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; got ${this.types().join(', ')}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Wait for the n-th (1-based) frame of a type. */
  waitForType(type: string, n = 1, timeoutMs = 10_000): Promise<Frame> {
    return this.waitFor(() => this.ofType(type).length >= n, timeoutMs, `${n}x ${type}`).then(() => this.ofType(type)[n - 1]!);
  }

  sendJson(value: unknown): void {
    this.ws.send(JSON.stringify(value));
  }

  sendText(text: string): void {
    this.ws.send(text);
  }

  sendBinary(bytes: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => this.ws.send(bytes, { binary: true }, (err) => (err ? reject(err) : resolve())));
  }

  /** Graceful protocol close: send session.close and wait for the socket to close. */
  async closeGracefully(timeoutMs = 10_000): Promise<CloseInfo> {
    this.sendJson({ type: 'session.close' });
    return withTimeout(this.closed, timeoutMs, 'graceful close');
  }

  assertAllFramesValid(): void {
    if (this.invalid.length) throw new Error(`server sent ${this.invalid.length} invalid frame(s):\n${this.invalid.join('\n')}`);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

/** Open a stream session; resolves once the socket is open. */
export async function connect(url: string, opts: ConnectOptions = {}): Promise<TestClient> {
  const headers = { ...(opts.headers ?? {}) };
  if (opts.apiKey !== null && !opts.protocols && !headers['Authorization']) headers['Authorization'] = `Bearer ${opts.apiKey ?? 'ih_test_key'}`;
  const ws = new WebSocket(url, opts.protocols ?? [], { headers, ...(opts.zeroMask ? { generateMask: (mask: Buffer) => void mask.fill(0) } : {}) });
  const client = new TestClient(ws);
  allClients.push(client);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { response: res })));
    ws.once('error', reject);
  });
  return client;
}

/** Try to open a session that should be refused; resolves with the HTTP response and its body. */
export async function connectRefused(url: string, opts: ConnectOptions = {}): Promise<{ status: number; headers: IncomingMessage['headers']; body: any }> {
  try {
    await connect(url, opts);
  } catch (err) {
    const res = (err as { response?: IncomingMessage }).response;
    if (!res) throw err;
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString();
    return { status: res.statusCode ?? 0, headers: res.headers, body: text ? JSON.parse(text) : undefined };
  }
  throw new Error('the upgrade was accepted');
}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`timed out: ${what}`)), ms))]);
}
