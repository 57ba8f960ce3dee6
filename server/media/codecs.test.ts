/**
 * The video codec each scanner reads from real ffmpeg media, checked against ffprobe, and the codec
 * rule applied by `MediaTimeline` (stream) — the upload's is in test/integration/codecs.test.ts.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { ffprobeVideoCodec, fragmentedMp4Chunks, liveWebmChunks, makeMedia, readMedia, type MediaOptions } from '../../test/support/media.js';
import { OPTIONS_SCHEMA } from '../options-schema.js';
import {
  ANY_VIDEO_CODEC,
  codecFromAviCompression,
  codecFromAviFourcc,
  codecFromMatroskaId,
  codecFromSampleEntry,
  codecFromStreamType,
  codecRefusal,
  LIVE_VIDEO_CODECS,
  VIDEO_CODEC_NAMES,
} from './codecs.js';
import { probeFile } from './detect.js';
import { FileProbe } from './file-probe.js';
import { MediaTimeline } from './timeline.js';

/** ffprobe's codec_name → ih-mock's name (the same short names, but for MPEG-2). */
const FROM_FFPROBE: Record<string, string> = { mpeg2video: 'mpeg2' };

/** [what, media, ih-mock's codec name, the tag as the container writes it]. */
const CASES: Array<[string, MediaOptions, string, string]> = [
  ['MP4 H.264', { container: 'mp4', video: 'h264', audio: 'aac', seconds: 4 }, 'h264', 'avc1'],
  ['MP4 MPEG-4 Part 2 (OpenCV-style mp4v)', { container: 'mp4', video: 'mpeg4', audio: 'aac', seconds: 4 }, 'mpeg4', 'mp4v'],
  ['MP4 HEVC', { container: 'mp4', video: 'hevc', audio: null, seconds: 4 }, 'hevc', 'hev1'],
  ['MP4 AV1', { container: 'mp4', video: 'av1', audio: null, seconds: 4 }, 'av1', 'av01'],
  ['MP4 VP9', { container: 'mp4', video: 'vp9', audio: null, seconds: 4 }, 'vp9', 'vp09'],
  ['MOV Motion JPEG', { container: 'mov', video: 'mjpeg', audio: null, seconds: 4 }, 'mjpeg', 'jpeg'],
  ['WebM VP8', { container: 'webm', video: 'vp8', audio: 'opus', seconds: 4 }, 'vp8', 'V_VP8'],
  ['WebM VP9', { container: 'webm', video: 'vp9', audio: 'opus', seconds: 4 }, 'vp9', 'V_VP9'],
  ['WebM AV1', { container: 'webm', video: 'av1', audio: null, seconds: 4 }, 'av1', 'V_AV1'],
  ['MKV H.264', { container: 'mkv', video: 'h264', audio: 'aac', seconds: 4 }, 'h264', 'V_MPEG4/ISO/AVC'],
  ['MKV MPEG-4 Part 2', { container: 'mkv', video: 'mpeg4', audio: 'aac', seconds: 4 }, 'mpeg4', 'V_MPEG4/ISO/ASP'],
  ['MKV HEVC', { container: 'mkv', video: 'hevc', audio: null, seconds: 4 }, 'hevc', 'V_MPEGH/ISO/HEVC'],
  ['MKV Motion JPEG', { container: 'mkv', video: 'mjpeg', audio: null, seconds: 4 }, 'mjpeg', 'V_MJPEG'],
  ['MPEG-TS H.264', { container: 'mpegts', video: 'h264', audio: 'aac', seconds: 4 }, 'h264', 'stream_type 0x1B'],
  ['MPEG-TS HEVC', { container: 'mpegts', video: 'hevc', audio: null, seconds: 4 }, 'hevc', 'stream_type 0x24'],
  ['MPEG-TS MPEG-4 Part 2', { container: 'mpegts', video: 'mpeg4', audio: 'aac', seconds: 4 }, 'mpeg4', 'stream_type 0x10'],
  ['MPEG-TS MPEG-2 (ffmpeg\'s default for .ts)', { container: 'mpegts', video: 'mpeg2', audio: 'aac', seconds: 4 }, 'mpeg2', 'stream_type 0x02'],
  ['AVI H.264', { container: 'avi', video: 'h264', audio: 'mp3', seconds: 4 }, 'h264', 'H264'],
  ['AVI MPEG-4 Part 2 (ffmpeg\'s default for .avi)', { container: 'avi', video: 'mpeg4', audio: 'mp3', seconds: 4 }, 'mpeg4', 'FMP4'],
  ['AVI Motion JPEG', { container: 'avi', video: 'mjpeg', audio: null, seconds: 4 }, 'mjpeg', 'MJPG'],
];

const stream = () => new MediaTimeline({ minSegmentSeconds: 3, videoCodecs: LIVE_VIDEO_CODECS });

describe('the codec read from the container, on real media', () => {
  it.each(CASES)('%s', { timeout: 60_000 }, async (_what, options, name, tag) => {
    const path = await makeMedia(options);
    const [bytes, oracle] = await Promise.all([readFile(path), ffprobeVideoCodec(path)]);
    expect(FROM_FFPROBE[oracle.name] ?? oracle.name).toBe(name);
    if (['mp4', 'mov', 'avi'].includes(options.container)) expect(oracle.tag).toBe(tag); // there ffprobe's tag is the fourcc itself

    // Whole file, and the same file pushed in pieces as an upload arrives: the same codec.
    const whole = probeFile(bytes);
    expect(whole).toMatchObject({ ok: true, codec: { name, tag } });
    const probe = new FileProbe();
    for (let at = 0; at < bytes.length; at += 1000) probe.push(bytes.subarray(at, at + 1000));
    expect(probe.finish()).toEqual(whole);

    // The stream: accepted with its codec when live accepts it, else ih5004 naming it; no media time either way.
    const t = stream();
    const verdict = t.push(bytes);
    if (LIVE_VIDEO_CODECS.includes(name as never)) {
      expect(verdict).toMatchObject({ ok: true, codec: { name, tag } });
    } else {
      expect(verdict).toMatchObject({ ok: false, code: 'ih5004' });
      if (!verdict.ok) expect(verdict.message).toBe(`video codec ${codecLabel(name)} (${tag}) is not supported; send H.264, VP8 or VP9`);
      expect(t.mediaEnd).toBe(0);
    }
    // Without a rule (the recorder's timeline), every codec is measured.
    expect(new MediaTimeline({ minSegmentSeconds: 3 }).push(bytes)).toMatchObject({ ok: true, codec: { name } });
  });
});

function codecLabel(name: string): string {
  return { mpeg4: 'MPEG-4 Part 2', hevc: 'HEVC (H.265)', av1: 'AV1', mjpeg: 'Motion JPEG', mpeg2: 'MPEG-2 video' }[name] ?? name;
}

describe('the codec rule on the stream', () => {
  it('an mp4v segment is refused before its length is judged: a 2-s one is ih5004 for the codec, not ih5006', async () => {
    const short = await readMedia({ container: 'mp4', video: 'mpeg4', audio: 'aac', seconds: 2 });
    const v = stream().push(short);
    expect(v).toMatchObject({ ok: false, code: 'ih5004' });
    if (!v.ok) expect(v.message).toMatch(/MPEG-4 Part 2 \(mp4v\)/);
  });

  it('a refused stream head: its continuation chunks get ih5004 naming the codec, until a new header', async () => {
    // An AV1 MediaRecorder-like stream would be refused the same way; build one from the VP8 stream by
    // rewriting its CodecID in place (same length: V_VP8 → V_AV1).
    const chunks = (await liveWebmChunks(12, 3)).map((c) => Buffer.from(c));
    const at = chunks[0]!.indexOf('V_VP8');
    expect(at).toBeGreaterThan(0);
    chunks[0]!.write('V_AV1', at, 'latin1');
    const t = stream();
    const verdicts = chunks.map((c) => t.push(c));
    for (const v of verdicts) {
      expect(v).toMatchObject({ ok: false, code: 'ih5004' });
      if (!v.ok) expect(v.message).toMatch(/video codec AV1 \(V_AV1\) is not supported; send H\.264, VP8 or VP9/);
    }
    if (!verdicts[1]!.ok) expect(verdicts[1]!.message).toMatch(/^this chunk continues a stream that was refused/);
    // A new header starts afresh: a VP8 segment is accepted, and a bare chunk now has no open stream.
    expect(t.push(await readMedia({ container: 'webm', video: 'vp8', audio: 'opus', seconds: 4 }))).toMatchObject({ ok: true, codec: { name: 'vp8' } });
    const bare = t.push(chunks[1]!);
    expect(bare).toMatchObject({ ok: false, code: 'ih5004' });
    if (!bare.ok) expect(bare.message).toMatch(/none is open/);
  });

  it('a refused fragmented-MP4 head: later fragments starting with moof are its continuation, refused for the codec', async () => {
    const fmp4 = await readMedia({ container: 'mp4', video: 'h264', audio: 'aac', seconds: 4, fragmented: true });
    const first = fmp4.indexOf('moof') - 4;
    const second = fmp4.indexOf('moof', first + 8) - 4;
    const t = new MediaTimeline({ minSegmentSeconds: 3, videoCodecs: ['vp8', 'vp9'] });
    for (const piece of [fmp4.subarray(0, first), fmp4.subarray(first, second), fmp4.subarray(second)]) {
      const v = t.push(piece);
      expect(v).toMatchObject({ ok: false, code: 'ih5004' });
      if (!v.ok) expect(v.message).toMatch(/video codec H\.264 \(avc1\) is not supported; send VP8 or VP9$/);
    }
  });

  it('fragmented MP4 stream heads carry the codec of their moov; continuation verdicts repeat it', async () => {
    const chunks = await fragmentedMp4Chunks(12, 3);
    const t = stream();
    for (const c of chunks) expect(t.push(c)).toMatchObject({ ok: true, codec: { name: 'h264', tag: 'avc1' } });
  });

  it('widens and narrows: mp4v accepted with mpeg4 or any; VP8 refused without vp8', async () => {
    const mp4v = await readMedia({ container: 'mp4', video: 'mpeg4', audio: 'aac', seconds: 4 });
    const vp8 = await readMedia({ container: 'webm', video: 'vp8', audio: 'opus', seconds: 4 });
    expect(new MediaTimeline({ minSegmentSeconds: 3, videoCodecs: [...LIVE_VIDEO_CODECS, 'mpeg4'] }).push(mp4v)).toMatchObject({ ok: true });
    expect(new MediaTimeline({ minSegmentSeconds: 3, videoCodecs: [ANY_VIDEO_CODEC] }).push(mp4v)).toMatchObject({ ok: true });
    const narrow = new MediaTimeline({ minSegmentSeconds: 3, videoCodecs: ['h264', 'vp9'] }).push(vp8);
    expect(narrow).toMatchObject({ ok: false, code: 'ih5004' });
    if (!narrow.ok) expect(narrow.message).toBe('video codec VP8 (V_VP8) is not supported; send H.264 or VP9');
  });
});

describe('the tables', () => {
  it('the options schema offers exactly the codecs ih-mock names, plus any; the default is the live set', () => {
    const prop = OPTIONS_SCHEMA.properties['videoCodecs'] as { items: { enum: string[] }; default: string[] };
    expect(prop.items.enum).toEqual([...VIDEO_CODEC_NAMES, ANY_VIDEO_CODEC]);
    expect(prop.default).toEqual([...LIVE_VIDEO_CODECS]);
  });

  it('names the tags other writers use', () => {
    expect(codecFromSampleEntry('avc3')).toEqual({ name: 'h264', tag: 'avc3' });
    expect(codecFromSampleEntry('hvc1').name).toBe('hevc');
    expect(codecFromSampleEntry('apch').name).toBe('prores');
    expect(codecFromSampleEntry('encv')).toEqual({ name: null, tag: 'encv' });
    expect(codecFromMatroskaId('V_MPEG4/MS/V3').name).toBe('msmpeg4');
    expect(codecFromMatroskaId('V_MS/VFW/FOURCC').name).toBeNull();
    expect(codecFromStreamType(0xea).name).toBe('vc1');
    expect(codecFromAviFourcc('xvid').name).toBe('mpeg4'); // AVI fourccs are compared without case
    expect(codecFromAviFourcc('DIVX').name).toBe('mpeg4');
    expect(codecFromAviFourcc('DIV3').name).toBe('msmpeg4');
    expect(codecFromAviCompression(0)).toEqual({ name: null, tag: 'BI_RGB (uncompressed)' });
    expect(codecFromAviCompression(0x34363248)).toEqual({ name: 'h264', tag: 'H264' }); // 'H264' little-endian
  });

  it('says what to send, and names tags it does not know', () => {
    expect(codecRefusal({ name: null, tag: 'xyz1' }, LIVE_VIDEO_CODECS)).toBe('video codec xyz1 (not a codec ih-mock recognises) is not supported; send H.264, VP8 or VP9');
    expect(codecRefusal({ name: null, tag: '' }, ['vp8'])).toBe('video codec none declared (not a codec ih-mock recognises) is not supported; send VP8');
    expect(codecRefusal({ name: null, tag: 'xyz1' }, [ANY_VIDEO_CODEC])).toBeNull();
    expect(codecRefusal({ name: 'h264', tag: 'avc1' }, LIVE_VIDEO_CODECS)).toBeNull();
  });
});
