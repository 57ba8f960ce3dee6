/**
 * A real Python `websockets` client (test/clients/python_mp4_client.py) that sends self-contained
 * MP4 segments, one file per binary message, as OpenCV/ffmpeg-writing desktop clients do, then
 * closes gracefully (docs/protocol.md §3.2, §3.4, §3.6, §4); and the same client with OpenCV's default codec,
 * MPEG-4 Part 2 (`mp4v`), which the live service refuses with ih5004.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { formatDiagnostics, validateServerEvent } from '../../server/validation.js';
import type { StreamSession } from '../../server/stream/session.js';
import { ffprobeDuration } from '../support/media.js';
import { mp4Segments } from '../support/segments.js';
import { startServer, useServers } from '../support/server.js';
import { expectError, upload } from '../support/upload.js';

useServers();

/** Debian's interpreter, which has `websockets` 10.4 (the first python3 on PATH may not). */
const PYTHON = '/usr/bin/python3';
const CLIENT = fileURLToPath(new URL('../clients/python_mp4_client.py', import.meta.url));
const QUALITY_KEYS = ['clarity', 'authority', 'energy', 'rapport', 'learning'] as const;

interface Envelope {
  type: string;
  timestamp: string;
  correlation_id: string;
  data: any;
}

/** Run the client; resolves with its envelopes (each validated) and the close line. */
async function runPythonClient(url: string, segments: string[]): Promise<{ events: Envelope[]; close: { code: number; reason: string }; stderr: string }> {
  // -I: isolated mode, so no PYTHONPATH or user site-packages can shadow Debian's websockets.
  const { stdout, stderr } = await promisify(execFile)(PYTHON, ['-I', CLIENT, url, ...segments], {
    env: { ...process.env, IH_API_KEY: 'ih_live_python_client' },
    timeout: 20_000,
  });
  const lines = stdout.trim().split('\n');
  const last = JSON.parse(lines.pop() ?? '{}') as { close?: { code: number; reason: string } };
  if (!last.close) throw new Error(`the client's last line is not the close line:\n${stdout}\n${stderr}`);
  const events = lines.map((line) => {
    const event = JSON.parse(line) as Envelope;
    const result = validateServerEvent(event);
    if (!result.ok) throw new Error(`invalid ${event.type}: ${formatDiagnostics(result.errors)} in ${line}`);
    return event;
  });
  return { events, close: last.close, stderr };
}

describe('Python websockets client sending self-contained MP4 segments', () => {
  it('gets the full event sequence for 4 x 4 s of H.264+AAC and a graceful close 1000', { timeout: 30_000 }, async () => {
    const segments = await mp4Segments(16, 4);
    expect(segments).toHaveLength(4);
    let session: StreamSession | undefined;
    const server = await startServer({ scenario: 'steady', timing: 'instant', onEvent: (_e, s) => (session ??= s) });

    const { events, close, stderr } = await runPythonClient(server.streamUrl, segments);
    const types = events.map((e) => e.type);

    expect(close, stderr).toEqual({ code: 1000, reason: expect.any(String) });
    expect(events.filter((e) => e.type === 'error')).toEqual([]);
    expect(types[0]).toBe('session.ready');
    expect(types.filter((t) => t === 'session.ready')).toHaveLength(1);
    expect(events.find((e) => e.type === 'session.updated')?.data).toEqual({
      include: ['conversation_quality_overall', 'conversation_quality_timeline'],
      goal_dimensions: null,
    });
    const correlationIds = new Set(events.map((e) => e.correlation_id));
    expect(correlationIds.size).toBe(1);

    // Graceful close: session.closing, then (last) session.ended, then the socket closes.
    expect(types.at(-1)).toBe('session.ended');
    expect(events.at(-1)?.data).toEqual({ reason: 'client_shutdown' });
    expect(types.indexOf('session.closing')).toBeGreaterThan(0);
    expect(types.indexOf('session.closing')).toBeLessThan(types.indexOf('session.ended'));

    // steady: agreement [0, 20) and hesitation [12, 30) over 16 s of media.
    const detected = events.filter((e) => e.type === 'signal.detected');
    expect(detected.map((e) => e.data.signal_type).sort()).toEqual(['agreement', 'hesitation']);
    expect(detected.find((e) => e.data.signal_type === 'agreement')?.data).toMatchObject({ start: 0, probability: 'high' });
    // Every detected signal ends before session.ended, after its detection.
    const endedAt = types.indexOf('session.ended');
    for (const d of detected) {
      const at = events.indexOf(d);
      const end = events.findIndex((e, i) => i > at && e.type === 'signal.ended' && e.data.signal_type === d.data.signal_type);
      expect(end, `signal.ended for ${d.data.signal_type}`).toBeGreaterThan(at);
      expect(end).toBeLessThan(endedAt);
      expect(events[end]!.data.end).toBeGreaterThanOrEqual(d.data.start);
      expect(events[end]!.data.end).toBeLessThanOrEqual(16);
    }
    expect(events.find((e) => e.type === 'engagement.updated')?.data).toEqual({ state: 'engaged', start: 0 });

    // Conversation quality: integer scores, quality_index = rounded mean of the five dimensions.
    const quality = events.filter((e) => e.type === 'conversation_quality.updated');
    expect(quality.length).toBeGreaterThanOrEqual(1);
    for (const q of quality) {
      expect(q.data.overall).toBeDefined();
      expect(q.data.timeline).toHaveLength(1);
      for (const scores of [q.data.overall, q.data.timeline[0].values]) {
        for (const key of [...QUALITY_KEYS, 'quality_index']) expect(Number.isInteger(scores[key]), `${key} = ${scores[key]}`).toBe(true);
        const mean = QUALITY_KEYS.reduce((sum, k) => sum + (scores[k] as number), 0) / QUALITY_KEYS.length;
        expect(scores.quality_index).toBe(Math.round(mean));
      }
    }
    // steady scripts the quality for [0, 30): clarity 70, authority 60, energy 80, rapport 75, learning 65.
    expect(quality[0]!.data.overall).toEqual({ quality_index: 70, clarity: 70, authority: 60, energy: 80, rapport: 75, learning: 65 });
    // Timeline periods are contiguous from 0 to the media end.
    const periods = quality.map((q) => q.data.timeline[0] as { start: number; end: number });
    expect(periods[0]!.start).toBe(0);
    for (let i = 1; i < periods.length; i++) expect(periods[i]!.start).toBe(periods[i - 1]!.end);
    expect(periods.at(-1)!.end).toBe(16);

    // Server side: all four messages accepted, media time from the files' own timestamps.
    expect(session).toBeDefined();
    const durations = await Promise.all(segments.map((s) => ffprobeDuration(s)));
    expect(session!.stats).toMatchObject({ binaryMessages: 4, rejectedMessages: 0, configFrames: 1 });
    expect(session!.stats.receivedSeconds).toBeCloseTo(durations.reduce((a, b) => a + b, 0), 1);
    expect(session!.endReason).toBe('client_shutdown');
    expect(server.sessions.size).toBe(0);
  });
});

describe('the same client with OpenCV-style mp4v segments (what cv2.VideoWriter writes with the mp4v fourcc)', () => {
  it('gets ih5004 naming the codec for every segment, the session stays open until its graceful close; the file as an upload is 422 ih5002', { timeout: 30_000 }, async () => {
    const segments = await mp4Segments(9, 3, 'mpeg4'); // three 3-s MPEG-4 Part 2 files, made with ffmpeg -c:v mpeg4
    let session: StreamSession | undefined;
    const server = await startServer({ scenario: 'steady', processingRatio: 0, onEvent: (_e, s) => (session ??= s) });

    const { events, close, stderr } = await runPythonClient(server.streamUrl, segments);

    const errors = events.filter((e) => e.type === 'error').map((e) => e.data);
    expect(errors).toEqual(
      [1, 2, 3].map((segment) => ({
        code: 'ih5004',
        segment,
        message: 'video codec MPEG-4 Part 2 (mp4v) is not supported; send H.264, VP8 or VP9',
        link: 'https://docs.interhuman.ai/api-reference/error-handling#ih5004-malformed-video-segment',
      })),
    );
    // The session stayed open through the refusals: the config was answered and the close was graceful.
    expect(events.map((e) => e.type)).toEqual(['session.ready', 'session.updated', 'error', 'error', 'error', 'session.closing', 'session.ended']);
    expect(close, stderr).toEqual({ code: 1000, reason: expect.any(String) });
    expect(session!.stats).toMatchObject({ binaryMessages: 3, rejectedMessages: 3, receivedSeconds: 0 });

    const refused = await upload(server.baseUrl, await readFile(segments[0]!), { filename: 'segment.mp4', type: 'video/mp4' });
    expectError(refused, 422, 'ih5002');
    expect(refused.body.message).toMatch(/video codec MPEG-4 Part 2 \(mp4v\) is not supported/);
  });
});
