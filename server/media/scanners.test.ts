/**
 * Scanner edge cases on hand-built or hand-edited bytes: structures ffmpeg does not write
 * (BlockGroup with BlockDuration, jittery timestamps, 64-bit and size-0 mdat) and garbage that
 * must be reported, not skipped.
 */
import { describe, expect, it } from 'vitest';
import { readMedia } from '../../test/support/media.js';
import { MediaError } from './common.js';
import { EbmlScanner } from './ebml.js';
import { IsobmffScanner } from './isobmff.js';
import { scanTransportStream } from './mpegts.js';
import { MediaTimeline } from './timeline.js';

// ---- a tiny EBML writer (test only) ----
type Bytes = number[];
const idBytes = (id: number): Bytes => {
  const out: Bytes = [];
  for (let v = id; v > 0; v = Math.floor(v / 256)) out.unshift(v & 0xff);
  return out;
};
const sizeBytes = (n: number): Bytes => (n < 127 ? [0x80 | n] : [0x40 | (n >> 8), n & 0xff]);
const UNKNOWN: Bytes = [0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
const el = (id: number, ...body: Bytes[]): Bytes => {
  const flat = body.flat();
  return [...idBytes(id), ...sizeBytes(flat.length), ...flat];
};
const open = (id: number, ...body: Bytes[]): Bytes => [...idBytes(id), ...UNKNOWN, ...body.flat()];
const uint = (id: number, value: number): Bytes => el(id, value < 256 ? [value] : value < 65536 ? [value >> 8, value & 0xff] : [(value >>> 24) & 0xff, (value >> 16) & 0xff, (value >> 8) & 0xff, value & 0xff]);
const str = (id: number, s: string): Bytes => el(id, [...new TextEncoder().encode(s)]);
const block = (id: 0xa3 | 0xa1, track: number, rel: number, payload = 20): Bytes => el(id, [0x80 | track, (rel >> 8) & 0xff, rel & 0xff, 0x80, ...new Array<number>(payload).fill(0x55)]);

const EBML_HEADER = el(0x1a45dfa3, uint(0x4286, 1), str(0x4282, 'webm'));
const INFO = el(0x1549a966, uint(0x2ad7b1, 1_000_000));
const track = (n: number, type: number, codec: string, defaultDuration?: number): Bytes =>
  el(0xae, uint(0xd7, n), uint(0x83, type), str(0x86, codec), defaultDuration ? uint(0x23e383, defaultDuration) : []);
const TRACKS = el(0x1654ae6b, track(1, 1, 'V_VP8'), track(2, 2, 'A_OPUS'));

function live(...segmentChildren: Bytes[]): Uint8Array {
  return Uint8Array.from([...EBML_HEADER, ...open(0x18538067, ...segmentChildren)]);
}

function scan(bytes: Uint8Array, piece = bytes.length): EbmlScanner {
  const s = new EbmlScanner();
  for (let at = 0; at < bytes.length; at += piece) s.push(bytes.subarray(at, at + piece));
  return s;
}

function failure(fn: () => void): MediaError {
  try {
    fn();
  } catch (err) {
    if (err instanceof MediaError) return err;
    throw err;
  }
  throw new Error('expected a MediaError');
}

describe('EBML scanner', () => {
  const jittery = live(
    INFO,
    TRACKS,
    open(0x1f43b675, uint(0xe7, 1000), block(0xa3, 1, 0), block(0xa3, 2, 5), block(0xa3, 1, 33), block(0xa3, 1, 67), block(0xa3, 2, 25), block(0xa3, 1, 100)),
  );

  it('times video blocks only, with the median frame gap for the last frame', () => {
    for (const piece of [jittery.length, 7, 1]) {
      const s = scan(jittery, piece);
      expect(s.videoSeconds).toBe(0.133); // 0.100 + median gap 0.033
      expect(s.frameSeconds).toBeCloseTo(0.033, 9);
      expect(s.retainedBytes()).toBe(0);
    }
  });

  it('uses BlockDuration of a BlockGroup, else DefaultDuration', () => {
    const grouped = live(INFO, TRACKS, open(0x1f43b675, uint(0xe7, 0), block(0xa3, 1, 0), el(0xa0, block(0xa1, 1, 40), uint(0x9b, 50))));
    expect(scan(grouped, 3).videoSeconds).toBe(0.09);
    const withDefault = live(INFO, el(0x1654ae6b, track(1, 1, 'V_VP8', 40_000_000)), open(0x1f43b675, uint(0xe7, 0), block(0xa3, 1, 0), block(0xa3, 1, 40)));
    expect(scan(withDefault).videoSeconds).toBe(0.08);
  });

  it('applies TimestampScale and ends unknown-size clusters at the next cluster', () => {
    const bytes = live(
      el(0x1549a966, uint(0x2ad7b1, 100_000)), // 0.1 ms ticks
      TRACKS,
      open(0x1f43b675, uint(0xe7, 0), block(0xa3, 1, 0), block(0xa3, 1, 1000)),
      open(0x1f43b675, uint(0xe7, 2000), block(0xa3, 1, 0), block(0xa3, 1, 1000)),
    );
    expect(scan(bytes, 5).videoSeconds).toBe(0.4); // last block at 0.3 s + 0.1 s gap
  });

  it('accepts Void and CRC-32 at any level', () => {
    const bytes = live(el(0xec, [0, 0, 0]), INFO, TRACKS, open(0x1f43b675, el(0xbf, [1, 2, 3, 4]), uint(0xe7, 0), el(0xec, []), block(0xa3, 1, 0), block(0xa3, 1, 100)));
    expect(scan(bytes).videoSeconds).toBe(0.2);
  });

  it.each<[string, Uint8Array, RegExp]>([
    ['an ID not allowed in a Cluster', live(INFO, TRACKS, open(0x1f43b675, uint(0xe7, 0), uint(0x4286, 1))), /EBMLVersion \(0x4286\) at byte \d+ is not allowed inside Cluster/],
    ['an ID not allowed in a Segment', live(INFO, TRACKS, uint(0xd7, 1)), /TrackNumber.*not allowed inside Segment/],
    ['an unknown size on Tracks', live(INFO, open(0x1654ae6b, track(1, 1, 'V_VP8'))), /unknown size/],
    ['a child running past its parent', live([...idBytes(0x1549a966), 0x83, ...uint(0x2ad7b1, 1_000_000)]), /runs past the end of its parent/],
    ['a Cluster before Tracks', live(INFO, open(0x1f43b675, uint(0xe7, 0))), /before the Tracks/],
    ['a block before the Cluster Timestamp', live(INFO, TRACKS, open(0x1f43b675, block(0xa3, 1, 0))), /before its Cluster's Timestamp/],
    ['a 0x00 byte where an element starts', live(INFO, TRACKS, [0x00, 0x01]), /invalid EBML element ID/],
    ['a reserved ID', live(INFO, TRACKS, [0xff, 0x80]), /reserved/],
    ['an unsupported DocType', Uint8Array.from(el(0x1a45dfa3, str(0x4282, 'mka2'))), /DocType/],
    ['a second EBML header', Uint8Array.from([...EBML_HEADER, ...EBML_HEADER]), /second EBML header/],
  ])('rejects %s', (_name, bytes, message) => {
    const err = failure(() => scan(bytes, 2));
    expect(err.kind).toBe('malformed');
    expect(err.message).toMatch(message);
  });

  describe('the run of SimpleBlocks decoded in one loop (consumeRun)', () => {
    // Clusters of many blocks, known and unknown size, with 1- and 2-byte block sizes (a 200-byte payload).
    const blocks = (from: number, count: number) => Array.from({ length: count }, (_, k) => block(0xa3, k % 3 === 2 ? 2 : 1, from + k * 40, k % 4 === 0 ? 200 : 20));
    const known = (ts: number, ...children: Bytes[]) => el(0x1f43b675, uint(0xe7, ts), ...children);
    const stream = live(INFO, TRACKS, known(0, ...blocks(0, 30)), open(0x1f43b675, uint(0xe7, 1200), ...blocks(0, 30)), known(2400, ...blocks(0, 30)));

    it('times a stream as the element-by-element path does, however the bytes are cut', () => {
      const whole = scan(stream);
      for (const piece of [1, 2, 3, 7, 64, 1000]) {
        const cut = scan(stream, piece);
        expect([cut.videoSeconds, cut.frameSeconds, cut.retainedBytes()]).toEqual([whole.videoSeconds, whole.frameSeconds, 0]);
      }
      expect(whole.videoSeconds).toBe(3.56); // the last video block at 2.4 + 28 × 0.04 = 3.52 s, + the 0.04-s gap
    });

    it('stops a run at the end of a known-size Segment around an unknown-size Cluster', () => {
      // Segment (known size) > Cluster (unknown size) > blocks; then a second Segment's worth of
      // bytes, which must be refused as such, not read as more blocks of the first.
      const segment = el(0x18538067, INFO, TRACKS, open(0x1f43b675, uint(0xe7, 0), ...blocks(0, 12)));
      const one = Uint8Array.from([...EBML_HEADER, ...segment]);
      const s = scan(one);
      s.finish();
      expect([s.segmentComplete, s.videoSeconds]).toEqual([true, scan(one, 1).videoSeconds]);
      const err = failure(() => scan(Uint8Array.from([...EBML_HEADER, ...segment, ...blocks(480, 3).flat()])));
      expect(err.message).toMatch(/SimpleBlock \(0xA3\) at byte \d+ is not allowed inside/);
    });

    it('rejects a block of an unknown-size Cluster that runs past its known-size Segment, on either path', () => {
      // The last block declares 14 bytes and has 4: it would end 10 bytes after the Segment, inside what follows.
      const segment = el(0x18538067, INFO, TRACKS, open(0x1f43b675, uint(0xe7, 0), ...blocks(0, 12), [0xa3, 0x80 | 14, 0x81, 0, 0, 0x80]));
      const bytes = Uint8Array.from([...EBML_HEADER, ...segment, ...blocks(0, 3).flat()]);
      for (const piece of [bytes.length, 5, 1]) {
        expect(failure(() => scan(bytes, piece)).message).toMatch(/SimpleBlock \(0xA3\) at byte \d+ runs past the end of the enclosing Segment/);
      }
    });

    it.each<[string, Bytes, RegExp, boolean]>([
      ['an unknown size on a block', [0xa3, 0xff, 0x81, 0, 0, 0x80], /SimpleBlock \(0xA3\) has an unknown size/, false],
      ['a track number that is no valid vint (0x00)', [0xa3, 0x84, 0x00, 0, 0, 0x80], /invalid track number/, false],
      ['an unknown size written in 2 bytes', [0xa3, 0x7f, 0xff, 0x81, 0, 0, 0x80], /SimpleBlock \(0xA3\) has an unknown size/, false],
      ['an unknown size written in 8 bytes', [0xa3, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x81, 0, 0, 0x80], /SimpleBlock \(0xA3\) has an unknown size/, false],
      ['a block too short for its header', [0xa3, 0x83, 0x81, 0, 0], /too short for a block header/, false],
      // Declares 14 bytes and has 4, the last of its Cluster: it would end 10 bytes into the next Cluster, in the same message.
      ['a block running past its Cluster', [0xa3, 0x80 | 14, 0x81, 0, 0, 0x80], /runs past the end of its parent Cluster/, true],
    ])('rejects %s in the middle of a run, in one message', (_name, bad, message, lastOfCluster) => {
      const clusters = lastOfCluster ? [known(0, ...blocks(0, 10), bad), known(400, ...blocks(0, 10))] : [known(0, ...blocks(0, 10), bad, ...blocks(400, 10))];
      const err = failure(() => scan(live(INFO, TRACKS, ...clusters)));
      expect(err.kind).toBe('malformed');
      expect(err.message).toMatch(message);
    });
  });

  it('reports a Tracks element without video as no-video', () => {
    const err = failure(() => scan(live(INFO, el(0x1654ae6b, track(1, 2, 'A_OPUS')))));
    expect(err.kind).toBe('no-video');
    expect(err.message).toMatch(/A_OPUS/);
  });

  it('finish() rejects a document that stops inside a known-size element', () => {
    const whole = Uint8Array.from([...EBML_HEADER, ...el(0x18538067, INFO, TRACKS, el(0x1f43b675, uint(0xe7, 0), block(0xa3, 1, 0)))]);
    const s = scan(whole);
    s.finish();
    expect(s.segmentComplete).toBe(true);
    expect(failure(() => scan(whole.subarray(0, whole.length - 5)).finish()).message).toMatch(/ends inside/);
  });
});

// ---- ISO-BMFF ----
function topLevel(bytes: Uint8Array): Array<{ type: string; at: number; size: number }> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Array<{ type: string; at: number; size: number }> = [];
  for (let at = 0; at < bytes.length; ) {
    const size = view.getUint32(at);
    out.push({ type: String.fromCharCode(...bytes.subarray(at + 4, at + 8)), at, size });
    at += size;
  }
  return out;
}

function scanIso(bytes: Uint8Array, piece = bytes.length): IsobmffScanner {
  const s = new IsobmffScanner();
  for (let at = 0; at < bytes.length; at += piece) s.push(bytes.subarray(at, at + piece));
  s.finish();
  return s;
}

describe('ISO-BMFF scanner', () => {
  it('skips an mdat with a 64-bit largesize, and an mdat of size 0 (to the end)', async () => {
    const file = new Uint8Array(await readMedia({ container: 'mp4', video: 'h264', audio: 'aac', seconds: 4, faststart: true }));
    const expected = scanIso(file).videoSeconds;
    const mdat = topLevel(file).find((b) => b.type === 'mdat')!;
    expect(mdat.at + mdat.size).toBe(file.length); // faststart: mdat is last

    const large = new Uint8Array(file.length + 8);
    large.set(file.subarray(0, mdat.at));
    const v = new DataView(large.buffer);
    v.setUint32(mdat.at, 1);
    large.set([0x6d, 0x64, 0x61, 0x74], mdat.at + 4);
    v.setUint32(mdat.at + 8, 0);
    v.setUint32(mdat.at + 12, mdat.size + 8);
    large.set(file.subarray(mdat.at + 8), mdat.at + 16);
    expect(scanIso(large, 1000).videoSeconds).toBe(expected);

    const open = file.slice();
    new DataView(open.buffer).setUint32(mdat.at, 0);
    expect(scanIso(open, 999).videoSeconds).toBe(expected);
    expect(new MediaTimeline({ minSegmentSeconds: 3, acceptContinuation: true }).push(open)).toMatchObject({ ok: true, end: expected });
  });

  it.each<[string, (file: Uint8Array) => Uint8Array, RegExp]>([
    ['an unknown top-level box', (f) => concat(f, box('abcd', 4)), /not a top-level box/],
    ['a non-printable box type', (f) => concat(f, Uint8Array.from([0, 0, 0, 8, 1, 2, 3, 4])), /invalid box type/],
    ['a size smaller than the header', (f) => concat(f, Uint8Array.from([0, 0, 0, 4, 0x66, 0x72, 0x65, 0x65])), /smaller than its header/],
    ['a moof in a file without mvex', (f) => concat(f, box('moof', 0)), /no mvex/],
    ['a second moov', (f) => concat(f, box('moov', 0)), /second moov/],
  ])('rejects %s', async (_name, edit, message) => {
    const file = new Uint8Array(await readMedia({ container: 'mp4', video: 'h264', audio: 'aac', seconds: 4, faststart: true }));
    const err = failure(() => scanIso(edit(file), 4096));
    expect(err.kind).toBe('malformed');
    expect(err.message).toMatch(message);
  });

  it('rejects a trun whose sample count runs past the box', async () => {
    const file = new Uint8Array(await readMedia({ container: 'mp4', video: 'h264', audio: 'aac', seconds: 4, fragmented: true }));
    const trun = indexOf(file, 'trun');
    const bad = file.slice();
    new DataView(bad.buffer).setUint32(trun + 12, 100_000); // sample_count
    expect(failure(() => scanIso(bad, 512)).message).toMatch(/runs past the end/);
  });
});

describe('MPEG-TS', () => {
  it('rejects lost sync and partial packets', async () => {
    const ts = new Uint8Array(await readMedia({ container: 'mpegts', video: 'h264', audio: 'aac', seconds: 4 }));
    const bad = ts.slice();
    bad[188 * 5] = 0x00;
    expect(failure(() => scanTransportStream(bad)).message).toMatch(/sync/);
    expect(failure(() => scanTransportStream(ts.subarray(0, ts.length - 10))).message).toMatch(/inside a packet/);
  });
});

function box(type: string, bodyLength: number): Uint8Array {
  const b = new Uint8Array(8 + bodyLength);
  new DataView(b.buffer).setUint32(0, 8 + bodyLength);
  b.set(new TextEncoder().encode(type), 4);
  return b;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function indexOf(bytes: Uint8Array, type: string): number {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).indexOf(type, 0, 'latin1') - 4;
}
