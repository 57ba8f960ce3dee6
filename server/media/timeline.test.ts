/**
 * The session media timeline on real ffmpeg media: continuation chunks cut anywhere, the 3-s
 * minimum and its tolerance, the error codes, the strict option and bounded memory.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fragmentedMp4Chunks, liveWebmChunks, readMedia, type MediaOptions } from '../../test/support/media.js';
import { probeFile } from './detect.js';
import { MediaTimeline, type MediaTimelineOptions, type SegmentVerdict } from './timeline.js';

const FRAME = 0.1; // 10 fps
const EPS = 1e-6;
const KIB64 = 64 * 1024;

const timeline = (options: Partial<MediaTimelineOptions> = {}) => new MediaTimeline({ minSegmentSeconds: 3, acceptContinuation: true, ...options });

const WEBM4: MediaOptions = { container: 'webm', video: 'vp8', audio: 'opus', seconds: 4 };
const MP4_4: MediaOptions = { container: 'mp4', video: 'h264', audio: 'aac', seconds: 4 };
const TS4: MediaOptions = { container: 'mpegts', video: 'h264', audio: 'aac', seconds: 4 };

/** Push every piece; check each verdict is ok and starts where the previous one ended; return the verdicts. */
function pushAll(t: MediaTimeline, pieces: Uint8Array[], maxRetained = KIB64): Array<SegmentVerdict & { ok: true }> {
  const out: Array<SegmentVerdict & { ok: true }> = [];
  let end = t.mediaEnd;
  for (const [k, piece] of pieces.entries()) {
    const v = t.push(piece);
    if (!v.ok) throw new Error(`piece ${k} (${piece.length} bytes) rejected: ${v.code} ${v.message}`);
    if (v.start !== end || v.end < v.start) throw new Error(`piece ${k}: [${v.start}, ${v.end}) does not continue ${end}`);
    if (t.retainedBytes() >= maxRetained) throw new Error(`piece ${k}: retained ${t.retainedBytes()} bytes`);
    end = v.end;
    out.push(v);
  }
  return out;
}

/** Split at the given offsets, ignoring those before `first` (the first message must hold the container header). */
function splitAt(bytes: Uint8Array, cuts: number[], first = 1): Uint8Array[] {
  const points = [...new Set(cuts.filter((c) => c >= first && c < bytes.length))].sort((a, b) => a - b);
  const pieces: Uint8Array[] = [];
  let from = 0;
  for (const at of [...points, bytes.length]) {
    pieces.push(bytes.subarray(from, at));
    from = at;
  }
  return pieces;
}

/** The first `first` bytes in one message (the container header), then one byte per message. */
function bytewise(bytes: Uint8Array, first: number): Uint8Array[] {
  return [bytes.subarray(0, first), ...Array.from({ length: bytes.length - first }, (_, k) => bytes.subarray(first + k, first + k + 1))];
}

describe('continuation chunks (one MediaRecorder.start(3000))', () => {
  it('live WebM cut mid-element: every chunk ok, contiguous, summing to the whole stream', async () => {
    const chunks = await liveWebmChunks(12, 3);
    expect(chunks.length).toBe(4);
    const whole = probeFile(Buffer.concat(chunks));
    if (!whole.ok) throw new Error(whole.message);
    const t = timeline();
    const verdicts = pushAll(t, chunks);
    expect(verdicts.map((v) => v.kind)).toEqual(['stream-head', 'continuation', 'continuation', 'continuation']);
    expect(verdicts.every((v) => v.container === 'webm')).toBe(true);
    expect(Math.abs(t.mediaEnd - whole.durationSeconds)).toBeLessThanOrEqual(FRAME + EPS);
    expect(Math.abs(t.mediaEnd - 12)).toBeLessThanOrEqual(FRAME + EPS);
    // The second cut was moved into a Cluster ID: that chunk starts with the ID's last two bytes.
    expect([...chunks[2]!.subarray(0, 2)]).toEqual([0xb6, 0x75]);
  });

  it('live WebM pushed one byte at a time (after the 4-byte EBML magic) gives the same total', async () => {
    const stream = Buffer.concat(await liveWebmChunks(4, 2));
    const total = pushAll(timeline(), [stream]).at(-1)!.end;
    const t = timeline();
    pushAll(t, bytewise(stream, 4), 16);
    expect(t.mediaEnd).toBe(total);
  });

  it('live WebM split at random offsets gives the same total (property)', async () => {
    const stream = Buffer.concat(await liveWebmChunks(6, 3));
    const total = pushAll(timeline(), [stream]).at(-1)!.end;
    fc.assert(
      fc.property(fc.array(fc.nat({ max: stream.length - 1 }), { maxLength: 40 }), (cuts) => {
        const t = timeline();
        pushAll(t, splitAt(stream, cuts, 4), 16);
        return t.mediaEnd === total;
      }),
      { numRuns: 60 },
    );
  });

  it('fragmented MP4 cut mid-box: every chunk ok, contiguous, summing to the whole stream', async () => {
    const chunks = await fragmentedMp4Chunks(12, 3);
    const whole = probeFile(Buffer.concat(chunks));
    if (!whole.ok) throw new Error(whole.message);
    const t = timeline();
    const verdicts = pushAll(t, chunks);
    expect(verdicts.map((v) => v.kind)).toEqual(['stream-head', 'continuation', 'continuation', 'continuation']);
    expect(t.mediaEnd).toBe(whole.durationSeconds);
    expect(Math.abs(t.mediaEnd - 12)).toBeLessThanOrEqual(FRAME + EPS);
  });

  it('fragmented MP4 byte by byte, at random offsets, and at box boundaries', async () => {
    const stream = Buffer.concat(await fragmentedMp4Chunks(4, 2));
    const init = stream.indexOf('moof') - 4; // the first message holds the init segment (ftyp + moov)
    const total = pushAll(timeline(), [stream]).at(-1)!.end;
    const t = timeline();
    pushAll(t, bytewise(stream, init), 32);
    expect(t.mediaEnd).toBe(total);
    fc.assert(
      fc.property(fc.array(fc.nat({ max: stream.length - 1 }), { maxLength: 30 }), (cuts) => {
        const r = timeline();
        pushAll(r, splitAt(stream, cuts, init), 32);
        return r.mediaEnd === total;
      }),
      { numRuns: 40 },
    );
    // Cut exactly before each moof: those messages start with a box header but continue the stream.
    const moofs: number[] = [];
    for (let at = stream.indexOf('moof'); at >= 0; at = stream.indexOf('moof', at + 1)) moofs.push(at - 4);
    const verdicts = pushAll(timeline(), splitAt(stream, moofs, init));
    expect(verdicts.slice(1).every((v) => v.kind === 'continuation')).toBe(true);
    expect(verdicts.at(-1)!.end).toBe(total);
  });

  it('a short stream head is not rejected: the minimum applies to self-contained segments only', async () => {
    const [head] = await liveWebmChunks(4, 2);
    const v = timeline().push(head!);
    expect(v).toMatchObject({ ok: true, kind: 'stream-head', start: 0 });
    if (v.ok) expect(v.end).toBeLessThan(3);
  });
});

describe('self-contained segments', () => {
  it('mediaEnd accumulates across segments of any container', async () => {
    const t = timeline();
    const ends: number[] = [];
    for (const options of [WEBM4, MP4_4, TS4, { ...MP4_4, container: 'mov' } as MediaOptions]) {
      const v = t.push(await readMedia(options));
      expect(v).toMatchObject({ ok: true, kind: 'self-contained', start: ends.at(-1) ?? 0 });
      if (v.ok) ends.push(v.end);
    }
    expect(ends).toEqual([4, 8, 12, 16]);
    expect(t.mediaEnd).toBe(16);
    expect(t.retainedBytes()).toBe(0);
  });

  it('2 s → ih5006 (adds no media time); 3 s → accepted', async () => {
    const t = timeline();
    for (const container of ['webm', 'mp4', 'mpegts'] as const) {
      const video = container === 'webm' ? 'vp8' : 'h264';
      const audio = container === 'webm' ? 'opus' : 'aac';
      const short = t.push(await readMedia({ container, video, audio, seconds: 2 }));
      expect(short, container).toMatchObject({ ok: false, code: 'ih5006' });
      if (!short.ok) expect(short.message).toMatch(/2\.000 s.*at least 3 s/);
      const before = t.mediaEnd;
      const ok = t.push(await readMedia({ container, video, audio, seconds: 3 }));
      expect(ok, container).toMatchObject({ ok: true, kind: 'self-contained', start: before });
    }
    expect(t.mediaEnd).toBeCloseTo(9, 6);
  });

  it('the tolerance is one frame by default and can be overridden', async () => {
    const three = await readMedia({ container: 'webm', video: 'vp8', audio: null, seconds: 3 });
    expect(timeline({ minSegmentSeconds: 3.05 }).push(three)).toMatchObject({ ok: true });
    expect(timeline({ minSegmentSeconds: 3.15 }).push(three)).toMatchObject({ ok: false, code: 'ih5006' });
    expect(timeline({ minSegmentSeconds: 3.05, toleranceSeconds: 0 }).push(three)).toMatchObject({ ok: false, code: 'ih5006' });
    expect(timeline({ minSegmentSeconds: 3.5, toleranceSeconds: 0.5 }).push(three)).toMatchObject({ ok: true });
  });
});

describe('errors', () => {
  it.each<[string, MediaOptions]>([
    ['WebM', { container: 'webm', video: null, audio: 'opus', seconds: 4 }],
    ['MP4', { container: 'mp4', video: null, audio: 'aac', seconds: 4 }],
    ['MPEG-TS', { container: 'mpegts', video: null, audio: 'aac', seconds: 4 }],
  ])('audio-only %s → ih5001', async (_name, options) => {
    const t = timeline();
    expect(t.push(await readMedia(options))).toMatchObject({ ok: false, code: 'ih5001' });
    expect(t.mediaEnd).toBe(0);
  });

  it('random bytes → ih5004', () => {
    const rng = fc.sample(fc.uint8Array({ minLength: 4096, maxLength: 4096 }), { numRuns: 1, seed: 42 })[0]!;
    const v = timeline().push(rng);
    expect(v).toMatchObject({ ok: false, code: 'ih5004' });
    if (!v.ok) expect(v.message).toMatch(/not a recognised container/);
    expect(timeline().push(new Uint8Array(0))).toMatchObject({ ok: false, code: 'ih5004' });
  });

  it('a truncated self-contained file → ih5004', async () => {
    for (const options of [MP4_4, { ...MP4_4, faststart: true }, WEBM4, { ...WEBM4, container: 'mkv', video: 'h264', audio: 'aac' } as MediaOptions]) {
      const bytes = await readMedia(options);
      const v = timeline().push(bytes.subarray(0, bytes.length >> 1));
      expect(v, JSON.stringify(options)).toMatchObject({ ok: false, code: 'ih5004' });
    }
    const mp4 = await readMedia(MP4_4);
    const v = timeline().push(mp4.subarray(0, mp4.length >> 1));
    if (!v.ok) expect(v.message).toMatch(/no moov/);
  });

  it('a continuation chunk with no open stream → ih5004', async () => {
    const chunks = await liveWebmChunks(12, 3);
    const v = timeline().push(chunks[1]!);
    expect(v).toMatchObject({ ok: false, code: 'ih5004' });
    if (!v.ok) expect(v.message).toMatch(/no stream is open|none is open/);
  });

  it('acceptContinuation: false → heads accepted, continuation chunks ih5004', async () => {
    const chunks = await liveWebmChunks(12, 3);
    const t = timeline({ acceptContinuation: false });
    expect(t.push(chunks[0]!)).toMatchObject({ ok: true, kind: 'stream-head' });
    const v = t.push(chunks[1]!);
    expect(v).toMatchObject({ ok: false, code: 'ih5004' });
    if (!v.ok) expect(v.message).toMatch(/continuation chunks are not accepted/);
    expect(t.push(await readMedia(WEBM4))).toMatchObject({ ok: true, kind: 'self-contained' });
  });

  it('a bad chunk mid-stream → ih5004, the stream is dropped, the next header restarts cleanly', async () => {
    const stream = Buffer.concat(await liveWebmChunks(12, 3));
    const clusters: number[] = [];
    for (let at = stream.indexOf(CLUSTER); at >= 0; at = stream.indexOf(CLUSTER, at + 1)) clusters.push(at);
    const t = timeline();
    expect(t.push(stream.subarray(0, clusters[2]))).toMatchObject({ ok: true, kind: 'stream-head' });
    const before = t.mediaEnd;
    // Two good clusters, then garbage where the next element should start: rejected whole.
    const bad = Buffer.concat([stream.subarray(clusters[2], clusters[4]), Buffer.from([0x00, 0x13, 0x37])]);
    const v = t.push(bad);
    expect(v).toMatchObject({ ok: false, code: 'ih5004' });
    if (!v.ok) expect(v.message).toMatch(/invalid EBML element ID/);
    expect(t.mediaEnd).toBe(before);
    expect(t.retainedBytes()).toBe(0);
    expect(t.push(stream.subarray(clusters[4]))).toMatchObject({ ok: false, code: 'ih5004' });
    const restart = t.push(stream);
    expect(restart).toMatchObject({ ok: true, kind: 'stream-head', start: before });
    if (restart.ok) expect(Math.abs(restart.end - before - 12)).toBeLessThanOrEqual(FRAME + EPS);
  });

  it('an element ID invalid at its level inside a continuation → ih5004', async () => {
    const stream = Buffer.concat(await liveWebmChunks(6, 3));
    const cluster = stream.indexOf(CLUSTER, stream.indexOf(CLUSTER) + 1);
    const t = timeline();
    t.push(stream.subarray(0, cluster));
    const v = t.push(Buffer.from([0x16, 0x54, 0xae, 0x6b, 0x80])); // an empty Tracks element inside a Cluster
    expect(v).toMatchObject({ ok: false, code: 'ih5004' });
    if (!v.ok) expect(v.message).toMatch(/second Tracks/);
  });

  it('a new header closes the open stream', async () => {
    const chunks = await liveWebmChunks(12, 3);
    const t = timeline();
    t.push(chunks[0]!);
    expect(t.push(await readMedia(MP4_4))).toMatchObject({ ok: true, kind: 'self-contained' });
    expect(t.push(chunks[1]!)).toMatchObject({ ok: false, code: 'ih5004' });
  });

  it('AVI (a format the docs list for segments) is a self-contained segment; one cut short is ih5004', async () => {
    const avi = await readMedia({ container: 'avi', video: 'h264', audio: 'mp3', seconds: 4 });
    const t = timeline();
    const v = t.push(avi);
    expect(v).toMatchObject({ ok: true, container: 'avi', kind: 'self-contained', start: 0, codec: { name: 'h264' } });
    if (v.ok) expect(Math.abs(v.end - 4)).toBeLessThanOrEqual(FRAME + EPS);
    const cut = t.push(avi.subarray(0, avi.length - 100));
    expect(cut).toMatchObject({ ok: false, code: 'ih5004' });
    if (!cut.ok) expect(cut.message).toMatch(/inside its RIFF chunk/);
    expect(timeline().push(await readMedia({ container: 'avi', video: 'h264', audio: 'mp3', seconds: 2 }))).toMatchObject({ ok: false, code: 'ih5006' });
  });
});

describe('bounded memory', () => {
  it('10 minutes of live WebM in 3-s chunks, then many self-contained segments', async () => {
    const chunks = await liveWebmChunks(600, 3);
    expect(chunks.length).toBe(200);
    const t = timeline();
    let maxRetained = 0;
    for (const chunk of chunks) {
      expect(t.push(chunk).ok).toBe(true);
      maxRetained = Math.max(maxRetained, t.retainedBytes());
    }
    expect(maxRetained).toBeLessThan(64);
    const live = t.mediaEnd;
    expect(Math.abs(live - 600)).toBeLessThanOrEqual(FRAME + EPS); // looping shifts each pass by a few ms
    const segment = await readMedia(WEBM4);
    for (let k = 0; k < 100; k++) expect(t.push(segment).ok).toBe(true);
    expect(t.retainedBytes()).toBe(0);
    expect(t.mediaEnd).toBeCloseTo(live + 400, 6);
  });
});

const CLUSTER = Buffer.from([0x1f, 0x43, 0xb6, 0x75]);
