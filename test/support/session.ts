/** Driving one stream session over a real socket on a virtual clock: open, stream at a pace, close. */
import { beforeAll } from 'vitest';
import type { VirtualClock } from '../../server/clock.js';
import type { Scenario } from '../../server/types/generated.js';
import { loadScenario } from '../../scenarios/loader.js';
import { readMedia } from './media.js';
import type { StreamSession } from '../../server/stream/session.js';
import { connect, type ConnectOptions, type TestClient } from './client.js';
import type { startServer } from './server.js';
import { until } from './wait.js';

type Server = Awaited<ReturnType<typeof startServer>>;

/** Connect to `server` (with `query` appended to the stream URL) and wait for the first frame. */
export async function openClient(server: Server, query = '', opts: ConnectOptions = {}): Promise<{ client: TestClient; session: StreamSession }> {
  const before = new Set(server.sessions);
  const client = await connect(`${server.streamUrl}${query}`, opts);
  await client.waitFor(() => true, 10_000, 'the first frame');
  // The session just created (it may already have ended, e.g. a quota or scope refusal).
  const session = [...server.sessions].find((s) => !before.has(s));
  return { client, session: session as StreamSession };
}

/**
 * Send `segments` in order, each once the server has the previous one, advancing the virtual clock
 * by `paceMs` after each (real-time pace = the segment's duration).
 */
export async function streamPaced(client: TestClient, session: StreamSession, clock: VirtualClock, segments: readonly Buffer[], paceMs: number): Promise<void> {
  for (const segment of segments) {
    const before = session.stats.binaryMessages;
    await client.sendBinary(segment);
    await until(() => session.stats.binaryMessages > before || session.state === 'ended', 'the server received the segment');
    if (session.state === 'ended') return;
    await clock.advance(paceMs);
  }
}

/** Graceful close driven by the virtual clock: session.close, run every timer, wait for the close. */
export async function closeOnClock(client: TestClient, clock: VirtualClock): Promise<{ code: number; reason: string }> {
  client.sendJson({ type: 'session.close' });
  await client.waitForType('session.closing');
  await clock.runAll();
  return client.closed;
}

/**
 * Registers a `beforeAll` that makes (or reads from the cache) a self-contained VP8+Opus WebM segment
 * of `seconds`; the returned function gives `n` copies of it, to stream back to back.
 */
export function useWebmSegments(seconds: number): (n: number) => Buffer[] {
  let segment: Buffer | undefined;
  beforeAll(async () => {
    segment = await readMedia({ container: 'webm', video: 'vp8', audio: 'opus', seconds });
  }, 60_000);
  return (n) => Array.from({ length: n }, () => segment!);
}

/** The `steady` built-in with extra or replaced fields (processing, load, faults, ...). */
export function steadyWith(extra: Partial<Scenario>): Scenario {
  return { ...structuredClone(loadScenario('steady')), name: 'steady-variant', ...extra } as Scenario;
}
