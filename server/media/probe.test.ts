/**
 * Durations from the container timestamps, checked against ffprobe on real files made by ffmpeg,
 * and `probeFile` on every container the upload path accepts.
 */
import { describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { ffprobeDuration, liveWebmChunks, makeMedia, readMedia, type MediaOptions } from '../../test/support/media.js';
import { detectContainer, probeFile } from './detect.js';
import { MediaTimeline } from './timeline.js';

const FRAME = 0.1; // 10 fps
const EPS = 1e-6;

const timeline = () => new MediaTimeline({ minSegmentSeconds: 3, acceptContinuation: true });

const SELF_CONTAINED: Array<[string, MediaOptions, 'webm' | 'mp4' | 'mpegts', string]> = [
  ['WebM VP8 + Opus', { container: 'webm', video: 'vp8', audio: 'opus', seconds: 4 }, 'webm', 'webm'],
  ['WebM VP9 + Opus', { container: 'webm', video: 'vp9', audio: 'opus', seconds: 4 }, 'webm', 'webm'],
  ['WebM VP8 video only', { container: 'webm', video: 'vp8', audio: null, seconds: 4 }, 'webm', 'webm'],
  ['MKV H.264 (B-frames) + AAC, CRC-32 elements', { container: 'mkv', video: 'h264', audio: 'aac', seconds: 4 }, 'webm', 'mkv'],
  ['MP4 H.264 + AAC, moov at the end', { container: 'mp4', video: 'h264', audio: 'aac', seconds: 4 }, 'mp4', 'mp4'],
  ['MP4 H.264 + AAC, faststart', { container: 'mp4', video: 'h264', audio: 'aac', seconds: 4, faststart: true }, 'mp4', 'mp4'],
  ['MOV H.264 + AAC', { container: 'mov', video: 'h264', audio: 'aac', seconds: 4 }, 'mp4', 'mov'],
  ['MPEG-TS H.264 + AAC', { container: 'mpegts', video: 'h264', audio: 'aac', seconds: 4 }, 'mpegts', 'mpegts'],
];

describe('durations agree with ffprobe within one frame', () => {
  it.each(SELF_CONTAINED)('%s', async (_name, options, container, probed) => {
    const path = await makeMedia(options);
    const [bytes, oracle] = await Promise.all([readFile(path), ffprobeDuration(path)]);
    const verdict = timeline().push(bytes);
    expect(verdict).toMatchObject({ ok: true, container, kind: 'self-contained', start: 0 });
    if (!verdict.ok) return;
    expect(Math.abs(verdict.end - oracle)).toBeLessThanOrEqual(FRAME + EPS);
    const probe = probeFile(bytes);
    expect(probe).toMatchObject({ ok: true, container: probed, hasVideo: true });
    if (probe.ok) expect(probe.durationSeconds).toBe(verdict.end);
  });

  it('fragmented MP4 (one message: a stream head, never checked for length)', async () => {
    const path = await makeMedia({ container: 'mp4', video: 'h264', audio: 'aac', seconds: 4, fragmented: true });
    const [bytes, oracle] = await Promise.all([readFile(path), ffprobeDuration(path)]);
    const verdict = timeline().push(bytes);
    expect(verdict).toMatchObject({ ok: true, container: 'mp4', kind: 'stream-head', start: 0 });
    if (verdict.ok) expect(Math.abs(verdict.end - oracle)).toBeLessThanOrEqual(FRAME + EPS);
    expect(probeFile(bytes)).toMatchObject({ ok: true, container: 'mp4' });
  });

  it('live WebM (unknown sizes) as one file', async () => {
    const path = await makeMedia({ container: 'webm', video: 'vp8', audio: 'opus', seconds: 6, live: true });
    const [bytes, oracle] = await Promise.all([readFile(path), ffprobeDuration(path)]);
    const probe = probeFile(bytes);
    expect(probe).toMatchObject({ ok: true, container: 'webm' });
    if (probe.ok) expect(Math.abs(probe.durationSeconds - oracle)).toBeLessThanOrEqual(FRAME + EPS);
  });
});

describe('probeFile', () => {
  it('AVI: duration from avih, video from strh vids', async () => {
    const path = await makeMedia({ container: 'avi', video: 'h264', audio: 'mp3', seconds: 4 });
    const [bytes, oracle] = await Promise.all([readFile(path), ffprobeDuration(path)]);
    const probe = probeFile(bytes);
    expect(probe).toMatchObject({ ok: true, container: 'avi', hasVideo: true });
    if (probe.ok) expect(Math.abs(probe.durationSeconds - oracle)).toBeLessThanOrEqual(FRAME + EPS);
    expect(detectContainer(bytes)).toBe('avi');
  });

  it.each<[string, MediaOptions]>([
    ['WebM', { container: 'webm', video: null, audio: 'opus', seconds: 4 }],
    ['MP4', { container: 'mp4', video: null, audio: 'aac', seconds: 4 }],
    ['MPEG-TS', { container: 'mpegts', video: null, audio: 'aac', seconds: 4 }],
    ['AVI', { container: 'avi', video: null, audio: 'mp3', seconds: 4 }],
  ])('audio-only %s → no-video', async (_name, options) => {
    expect(probeFile(await readMedia(options))).toMatchObject({ ok: false, reason: 'no-video' });
  });

  it('garbage and unknown formats → unsupported', () => {
    expect(probeFile(new Uint8Array(0))).toMatchObject({ ok: false, reason: 'unsupported' });
    expect(probeFile(new TextEncoder().encode('hello, this is not a video at all'))).toMatchObject({ ok: false, reason: 'unsupported' });
    const wav = new Uint8Array(64);
    wav.set(new TextEncoder().encode('RIFF\x38\x00\x00\x00WAVEfmt '));
    expect(probeFile(wav)).toMatchObject({ ok: false, reason: 'unsupported' });
  });

  it('truncated files → corrupt', async () => {
    for (const options of [
      { container: 'mp4', video: 'h264', audio: 'aac', seconds: 4 },
      { container: 'mp4', video: 'h264', audio: 'aac', seconds: 4, faststart: true },
      { container: 'webm', video: 'vp8', audio: 'opus', seconds: 4 },
      { container: 'mkv', video: 'h264', audio: 'aac', seconds: 4 },
    ] as MediaOptions[]) {
      const bytes = await readMedia(options);
      const probe = probeFile(bytes.subarray(0, bytes.length >> 1));
      expect(probe, options.container).toMatchObject({ ok: false, reason: 'corrupt' });
    }
    const ts = await readMedia({ container: 'mpegts', video: 'h264', audio: 'aac', seconds: 4 });
    expect(probeFile(ts.subarray(0, 1000))).toMatchObject({ ok: false, reason: 'corrupt' });
  });

  it('a concatenated live WebM stream probes like the file it came from', async () => {
    const chunks = await liveWebmChunks(6, 2);
    const whole = probeFile(Buffer.concat(chunks));
    expect(whole).toMatchObject({ ok: true, container: 'webm' });
  });
});
