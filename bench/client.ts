/**
 * The bench's WebSocket client, the same code against the emulator and the bare ws server.
 *
 * Cheap on purpose, so the server is what is measured: frames are pre-read Buffers sent as they
 * are, with an all-zero masking key (RFC 6455 lets the client pick any key; with a zero key `ws`
 * skips the XOR and the copy on the client side, and the server's ws skips unmasking too: see
 * bench/README.md). Replies are counted, not parsed: only whether a text frame is an `error`
 * envelope, read from its first bytes (where its keys are: `timestamp`, `correlation_id`, `type`).
 */
import WebSocket from 'ws';

/** An error envelope's type, looked for in a frame's first bytes: `type` comes before `data` (after `timestamp` and `correlation_id`), so it is there. */
const ERROR_TYPE = Buffer.from('"type":"error"');
const ERROR_TYPE_WITHIN = 160;

export interface StreamResult {
  bytes: number;
  messages: number;
}

export class BenchConnection {
  textFrames = 0;
  errorFrames = 0;
  /** Binary frames handed to `ws` by `send`. */
  framesSent = 0;
  /** The first error envelope received, for diagnostics. */
  firstError: string | undefined;
  closeCode: number | undefined;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, isBinary) => {
      if (isBinary) return;
      this.textFrames++;
      if (data.subarray(0, ERROR_TYPE_WITHIN).indexOf(ERROR_TYPE) >= 0) {
        this.errorFrames++;
        this.firstError ??= data.toString('utf8', 0, Math.min(data.length, 400));
      }
    });
    ws.on('close', (code) => (this.closeCode = code));
    ws.on('error', () => {});
  }

  static open(url: string, timeoutMs = 20_000): Promise<BenchConnection> {
    const ws = new WebSocket(url, {
      perMessageDeflate: false,
      headers: { Authorization: 'Bearer ih-mock-bench' },
      generateMask: (mask) => void mask.fill(0),
      handshakeTimeout: timeoutMs,
    });
    const conn = new BenchConnection(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(conn));
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)));
    });
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** Resolves once the server has processed everything sent before: a ping is answered in order. */
  barrier(timeoutMs = 120_000): Promise<void> {
    return new Promise((resolve, reject) => {
      if (!this.isOpen) {
        reject(new Error(`connection closed (code ${this.closeCode})`));
        return;
      }
      const done = (err?: Error) => {
        clearTimeout(timer);
        this.ws.off('pong', onPong);
        this.ws.off('close', onClose);
        if (err) reject(err);
        else resolve();
      };
      const onPong = () => done();
      const onClose = (code: number) => done(new Error(`connection closed by the server (code ${code})`));
      const timer = setTimeout(() => done(new Error(`no pong within ${timeoutMs} ms`)), timeoutMs);
      this.ws.on('pong', onPong);
      this.ws.on('close', onClose);
      this.ws.ping();
    });
  }

  /**
   * Send frames from `next` (until it returns undefined) as fast as the server takes them: at most
   * `highWaterBytes` of sends not yet handed to the kernel. Resolves after a `barrier`.
   */
  sendAll(next: () => Buffer | undefined, highWaterBytes: number): Promise<StreamResult> {
    return new Promise((resolve, reject) => {
      let inflight = 0;
      let bytes = 0;
      let messages = 0;
      let exhausted = false;
      let settled = false;
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        this.ws.off('close', onClose);
        reject(err);
      };
      const onClose = (code: number) => fail(new Error(`connection closed by the server (code ${code}) after ${messages} messages`));
      const finish = () => {
        if (settled) return;
        settled = true;
        this.ws.off('close', onClose);
        this.barrier().then(() => resolve({ bytes, messages }), reject);
      };
      const pump = () => {
        while (!exhausted && inflight < highWaterBytes && !settled) {
          const frame = next();
          if (frame === undefined) {
            exhausted = true;
            break;
          }
          inflight += frame.length;
          bytes += frame.length;
          messages++;
          this.ws.send(frame, { binary: true }, (err) => {
            if (err) {
              fail(err);
              return;
            }
            inflight -= frame.length;
            if (!exhausted) pump();
            else if (inflight === 0) finish();
          });
        }
        if (exhausted && inflight === 0) finish();
      };
      this.ws.on('close', onClose);
      pump();
    });
  }

  /**
   * Lockstep on several connections at once (one to each server measured together): each frame goes
   * to every connection, and the next only after all of them have answered the ping sent after it,
   * so the servers read the same frames over the same moments of the machine (bench/cpu-guard.ts).
   */
  static async sendLockstepTogether(conns: readonly BenchConnection[], next: () => Buffer | undefined): Promise<StreamResult> {
    let bytes = 0;
    let messages = 0;
    for (let frame = next(); frame !== undefined; frame = next()) {
      for (const conn of conns) {
        if (!conn.isOpen) throw new Error(`connection closed by the server (code ${conn.closeCode}) after ${messages} messages`);
        conn.ws.send(frame, { binary: true });
      }
      bytes += frame.length;
      messages++;
      await Promise.all(conns.map((conn) => conn.barrier()));
    }
    return { bytes, messages };
  }

  /** Fire-and-forget send (real-time pacing is the caller's job). */
  send(frame: Buffer): void {
    if (!this.isOpen) return;
    this.ws.send(frame, { binary: true });
    this.framesSent++;
  }

  close(): void {
    this.ws.terminate();
  }
}

/** Open `count` connections, `batch` handshakes at a time. */
export async function openMany(url: string, count: number, batch = 50): Promise<BenchConnection[]> {
  const conns: BenchConnection[] = [];
  try {
    for (let i = 0; i < count; i += batch) {
      const n = Math.min(batch, count - i);
      conns.push(...(await Promise.all(Array.from({ length: n }, () => BenchConnection.open(url)))));
    }
  } catch (err) {
    for (const c of conns) c.close();
    throw err;
  }
  return conns;
}

export function closeAll(conns: readonly BenchConnection[]): void {
  for (const c of conns) c.close();
}

/** A frame source: `frames` in order, cycling, until at least `budgetBytes` have been produced. */
export function cyclingSource(frames: readonly Buffer[], budgetBytes: number): () => Buffer | undefined {
  let i = 0;
  let produced = 0;
  return () => {
    if (produced >= budgetBytes) return undefined;
    const frame = frames[i]!;
    i = (i + 1) % frames.length;
    produced += frame.length;
    return frame;
  };
}

/** A frame source: `frames[from..to)` once. */
export function rangeSource(frames: readonly Buffer[], from: number, to: number): () => Buffer | undefined {
  let i = from;
  return () => (i < to ? frames[i++] : undefined);
}

/**
 * Real-time pacing for many connections from one timer: connection i sends `frame` at
 * t0 + i/N of a period + k periods, k = 0 .. sends−1, like N MediaRecorders started one after
 * another. One timer walks the schedule in order (not one timer per connection), so 5,000
 * connections cost this process one wake-up per millisecond or so. Resolves after the last send
 * with how late each send left (ms behind its schedule): the check that the client kept pace.
 */
export function paceRealTime(conns: readonly BenchConnection[], frame: Buffer, periodMs: number, sends: number): Promise<{ sent: number; lateMs: number[] }> {
  const n = conns.length;
  const total = n * sends;
  const t0 = performance.now() + 50;
  const dueAt = (j: number) => t0 + Math.floor(j / n) * periodMs + ((j % n) * periodMs) / n;
  const lateMs: number[] = [];
  let next = 0;
  let sent = 0;
  return new Promise((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (next < total && dueAt(next) <= now) {
        const conn = conns[next % n]!;
        if (conn.isOpen) {
          conn.send(frame);
          sent++;
        }
        lateMs.push(now - dueAt(next));
        next++;
      }
      if (next < total) setTimeout(tick, Math.max(0, dueAt(next) - performance.now()));
      else resolve({ sent, lateMs });
    };
    tick();
  });
}
