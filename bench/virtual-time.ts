/**
 * The virtual-time figure of `npm run bench`: the wall time of the one-hour scripted session of
 * test/integration/long-session.test.ts (360 × 10 s of media on a virtual clock, the conversation
 * scenario with live timing and quality, a graceful close), run in this process. The first run pays
 * for loading and compiling (schemas, JIT) and is reported apart; the figure is the median of the
 * runs after it. Baseline, in the same run: the same client sending the same 360 messages to a bare
 * `ws` server that only receives them (the transport alone).
 */
import { once } from 'node:events';
import { WebSocketServer } from 'ws';
import { createMockServer } from '../server/app.js';
import { VirtualClock } from '../server/clock.js';
import { connect } from '../test/support/client.js';
import { readMedia } from '../test/support/media.js';
import { ONE_HOUR_SEGMENTS, runOneHourSession } from '../test/support/one-hour.js';
import { median } from './stats.js';

export interface VirtualTimeFigure {
  /** The first session in this process (module loading, schema compilation, JIT included), ms. */
  firstMs: number;
  /** Median of the later sessions, ms. */
  sessionMs: number;
  sessionRuns: number[];
  /** Median time to send the same messages to a bare ws server, ms. */
  bareMs: number;
  windows: number;
  frames: number;
}

async function oneHour(segment: Buffer): Promise<{ ms: number; windows: number; frames: number }> {
  const started = performance.now();
  const clock = new VirtualClock();
  const server = await createMockServer({ host: '127.0.0.1', clock, seed: 7, scenario: 'conversation', logLevel: 'silent' });
  try {
    const run = await runOneHourSession(server, clock, segment);
    if (run.closeCode !== 1000) throw new Error(`the one-hour session closed with ${run.closeCode}`);
    return { ms: performance.now() - started, windows: run.windows, frames: run.frames.length };
  } finally {
    await server.close();
  }
}

/** The same messages to a ws server that counts them: each send waits until the server has it, as the session does. */
async function bareTransport(segment: Buffer): Promise<number> {
  const started = performance.now();
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 64 << 20 });
  await once(wss, 'listening');
  let received = 0;
  let wake: (() => void) | null = null;
  wss.on('connection', (ws) => ws.on('message', () => (received++, wake?.())));
  const { port } = wss.address() as { port: number };
  const client = await connect(`ws://127.0.0.1:${port}/`, { zeroMask: true });
  for (let i = 1; i <= ONE_HOUR_SEGMENTS; i++) {
    await client.sendBinary(segment);
    while (received < i) await new Promise<void>((resolve) => (wake = resolve));
  }
  client.ws.close();
  for (const ws of wss.clients) ws.terminate();
  wss.close();
  return performance.now() - started;
}

export async function virtualTimeFigure(repetitions: number): Promise<VirtualTimeFigure> {
  const segment = await readMedia({ container: 'webm', video: 'vp8', audio: 'opus', seconds: 10 });
  const first = await oneHour(segment);
  const runs: number[] = [];
  const bare: number[] = [];
  for (let i = 0; i < repetitions; i++) {
    runs.push((await oneHour(segment)).ms);
    bare.push(await bareTransport(segment));
  }
  return { firstMs: first.ms, sessionMs: median(runs), sessionRuns: runs, bareMs: median(bare), windows: first.windows, frames: first.frames };
}
