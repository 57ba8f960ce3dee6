/**
 * A one-hour session on a virtual clock: 3 600 s of real media streamed at (slightly faster than)
 * real-time pace in virtual time, checked event by event (its wall time is a bench figure: `npm run bench -- --only=virtual`).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../server/clock.js';
import { loadScenario } from '../../scenarios/loader.js';
import { readMedia } from '../support/media.js';
import { runOneHourSession, type OneHourRun } from '../support/one-hour.js';
import { startServer, useServers } from '../support/server.js';

useServers();

let segment10s: Buffer;
beforeAll(async () => {
  segment10s = await readMedia({ container: 'webm', video: 'vp8', audio: 'opus', seconds: 10 });
}, 60_000);

async function runOneHour(seed: number): Promise<OneHourRun> {
  const clock = new VirtualClock();
  const server = await startServer({ clock, seed, scenario: 'conversation' }); // the default, live timing
  return runOneHourSession(server, clock, segment10s);
}

describe('a one-hour session under a virtual clock', () => {
  it('produces the full, well-formed event sequence, identically for the same seed', async () => {
    const started = Date.now();
    const first = await runOneHour(7);
    const elapsed = Date.now() - started;
    const frames = first.frames;

    expect(first.closeCode).toBe(1000);
    expect(frames[0]!.type).toBe('session.ready');
    expect(frames.at(-1)!.type).toBe('session.ended');
    expect(frames.filter((f) => f.type === 'error')).toEqual([]);

    // 3 600 s of media: windows [3k, 3k+8) for k = 0..1197 are due, plus the final [3594, 3600).
    expect(first.windows).toBe(1199);

    // Quality periods [0,11], [11,20], ... every 9 s up to [3584, 3593], then [3593, 3600] at close.
    const periods = frames.filter((f) => f.type === 'conversation_quality.updated').map((f) => f.data.timeline[0]);
    expect(periods).toHaveLength(400);
    expect(periods[0]).toMatchObject({ start: 0, end: 11 });
    expect(periods.at(-1)).toMatchObject({ start: 3593, end: 3600 });
    for (let i = 1; i < periods.length; i++) expect(periods[i].start).toBe(periods[i - 1].end);
    for (const f of frames.filter((x) => x.type === 'conversation_quality.updated')) {
      for (const scores of [f.data.overall, f.data.timeline[0].values]) {
        const dims = [scores.clarity, scores.authority, scores.energy, scores.rapport, scores.learning];
        expect(scores.quality_index).toBe(Math.round(dims.reduce((a: number, b: number) => a + b, 0) / 5));
      }
    }

    // Lifecycles: per type detected -> updated* -> ended, media times never go backwards, all closed.
    const active = new Map<string, number>();
    let last = 0;
    let detections = 0;
    for (const f of frames) {
      const t = f.type === 'signal.ended' ? f.data.end : f.type === 'signal.detected' || f.type === 'engagement.updated' ? f.data.start : null;
      if (t !== null) {
        expect(t).toBeGreaterThanOrEqual(last);
        last = t;
      }
      if (f.type === 'signal.detected') {
        expect(active.has(f.data.signal_type)).toBe(false);
        active.set(f.data.signal_type, f.data.start);
        detections++;
      }
      if (f.type === 'signal.updated') expect(active.get(f.data.signal_type)).toBe(f.data.start);
      if (f.type === 'signal.ended') {
        expect(active.delete(f.data.signal_type)).toBe(true);
      }
    }
    expect(active.size).toBe(0);
    // The 300-s conversation loops 12 times (300 s = 100 hops, so windows line up with the loop):
    // away from the first and last cycle, each cycle reports exactly the previous one, 300 s later.
    const timed = (lo: number, hi: number, shift: number) =>
      frames.flatMap((f) => {
        const t = f.type === 'signal.ended' ? f.data.end : f.type === 'signal.detected' || f.type === 'engagement.updated' ? f.data.start : null;
        if (t === null || t < lo || t >= hi) return [];
        const data = { ...f.data };
        if ('start' in data) data.start -= shift;
        if ('end' in data) data.end -= shift;
        return [{ type: f.type, data }];
      });
    const cycle2 = timed(300, 600, 0);
    expect(cycle2.length).toBeGreaterThan(10);
    for (let c = 3; c <= 11; c++) expect(timed((c - 1) * 300, c * 300, (c - 2) * 300), `cycle ${c}`).toEqual(cycle2);
    // ...and what it reports is the scenario's ground truth: every scripted signal type, nothing else.
    const scripted = new Set(loadScenario('conversation').signals!.map((sig) => sig.type));
    expect(new Set(cycle2.filter((e) => e.type === 'signal.detected').map((e) => e.data.signal_type))).toEqual(scripted);
    expect(detections).toBeGreaterThanOrEqual(12 * scripted.size);
    // Engagement only on change.
    const states = frames.filter((f) => f.type === 'engagement.updated').map((f) => f.data.state);
    for (let i = 1; i < states.length; i++) expect(states[i]).not.toBe(states[i - 1]);

    // Determinism: the same seed gives a byte-identical stream (ids and virtual timestamps included).
    const second = await runOneHour(7);
    expect(second.raw.length).toBe(first.raw.length);
    expect(second.raw).toEqual(first.raw);
    console.log(`one-hour session: ${frames.length} frames, ${first.windows} windows, ${elapsed} ms wall`);
  }, 120_000);
});
