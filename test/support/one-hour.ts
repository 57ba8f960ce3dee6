/**
 * The one-hour scripted session on a virtual clock, shared by its test (long-session.test.ts, which
 * checks every event) and the bench (which times it): 360 × 10 s of media, each segment followed by
 * 9.9 s of virtual time (a little faster than real time, inside the 3 600-s maximum duration), then
 * a graceful close.
 */
import type { MockServer } from '../../server/app.js';
import type { VirtualClock } from '../../server/clock.js';
import { connect, type Frame } from './client.js';
import { untilReceived } from './wait.js';

export const ONE_HOUR_SEGMENTS = 360;

export interface OneHourRun {
  frames: Frame[];
  /** Every frame's text as it arrived. */
  raw: string[];
  windows: number;
  closeCode: number;
}

/** Stream `segment10s` for an hour of media to `server` (which runs on `clock`) and close. */
export async function runOneHourSession(server: MockServer, clock: VirtualClock, segment10s: Buffer): Promise<OneHourRun> {
  // 250 KB a segment: masking it in JavaScript would cost more than the session itself.
  const client = await connect(server.urls().streamUrl, { zeroMask: true });
  const raw: string[] = [];
  client.ws.on('message', (d) => raw.push(d.toString()));
  await client.waitForType('session.ready');
  client.sendJson({ include: ['conversation_quality_overall', 'conversation_quality_timeline'] });
  await client.waitForType('session.updated');
  const session = [...server.sessions][0]!;
  for (let i = 1; i <= ONE_HOUR_SEGMENTS; i++) {
    await client.sendBinary(segment10s);
    await untilReceived(server, i);
    await clock.advance(9_900);
  }
  client.sendJson({ type: 'session.close' });
  await client.waitForType('session.closing');
  await clock.runAll();
  const { code } = await client.closed;
  return { frames: client.frames, raw, windows: session.stats.windowsAnalyzed, closeCode: code };
}
