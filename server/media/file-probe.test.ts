/**
 * `FileProbe` (and the incremental MPEG-TS and AVI scanners under it) gives the verdict of
 * `probeFile` on the whole file, however the file is cut into pieces: real files from ffmpeg in
 * every container, audio-only, truncated, garbage, cut at random offsets (fast-check).
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { readMedia, type MediaOptions } from '../../test/support/media.js';
import { probeFile } from './detect.js';
import { DETECT_BYTES, FileProbe } from './file-probe.js';
import { scanTransportStream } from './mpegts.js';
import { TransportStreamScanner } from './mpegts-scanner.js';
import { MAX_HDRL_BYTES } from './avi-scanner.js';

const FILES: Record<string, MediaOptions> = {
  webm: { container: 'webm', video: 'vp8', audio: 'opus', seconds: 4 },
  'webm-live': { container: 'webm', video: 'vp8', audio: 'opus', seconds: 6, live: true },
  mkv: { container: 'mkv', video: 'h264', audio: 'aac', seconds: 4 },
  mp4: { container: 'mp4', video: 'h264', audio: 'aac', seconds: 4 },
  'mp4-faststart': { container: 'mp4', video: 'h264', audio: 'aac', seconds: 4, faststart: true },
  'mp4-fragmented': { container: 'mp4', video: 'h264', audio: 'aac', seconds: 4, fragmented: true },
  mov: { container: 'mov', video: 'h264', audio: 'aac', seconds: 4 },
  mpegts: { container: 'mpegts', video: 'h264', audio: 'aac', seconds: 4 },
  avi: { container: 'avi', video: 'h264', audio: 'mp3', seconds: 4 },
  'webm-audio': { container: 'webm', video: null, audio: 'opus', seconds: 4 },
  'mp4-audio': { container: 'mp4', video: null, audio: 'aac', seconds: 4 },
  'mpegts-audio': { container: 'mpegts', video: null, audio: 'aac', seconds: 4 },
  'avi-audio': { container: 'avi', video: null, audio: 'mp3', seconds: 4 },
};

const bytes: Record<string, Buffer> = {};

beforeAll(async () => {
  await Promise.all(Object.entries(FILES).map(async ([name, options]) => (bytes[name] = await readMedia(options))));
}, 120_000);

/** Probe `file` pushed in pieces cut at `cuts` (offsets, any order, duplicates allowed). */
function probeInPieces(file: Uint8Array, cuts: number[]) {
  const probe = new FileProbe();
  let from = 0;
  for (const at of [...new Set(cuts)].filter((c) => c > 0 && c < file.length).sort((a, b) => a - b)) {
    probe.push(file.subarray(from, at));
    from = at;
  }
  probe.push(file.subarray(from));
  expect(probe.bytes).toBe(file.length);
  return probe.finish();
}

/** Truncations and corruptions of a real file, so the comparison covers failures too. */
function variants(file: Buffer): Uint8Array[] {
  const flipped = Buffer.from(file);
  flipped[Math.floor(file.length / 3)] = flipped[Math.floor(file.length / 3)]! ^ 0xff;
  // A byte at a 188-byte boundary: for MPEG-TS, a lost sync; a whole number of packets: a clean cut.
  const unsynced = Buffer.from(file);
  const packetStart = 188 * Math.floor(file.length / 3 / 188);
  unsynced[packetStart] = unsynced[packetStart]! ^ 0xff;
  const wholePackets = file.subarray(0, 188 * Math.floor(file.length / 2 / 188));
  return [file, file.subarray(0, file.length >> 1), file.subarray(0, 1000), file.subarray(0, DETECT_BYTES + 7), file.subarray(0, file.length - 1), flipped, unsynced, wholePackets];
}

describe('FileProbe = probeFile', () => {
  it.each(Object.keys(FILES))('%s, whole and in 64-KB pieces', (name) => {
    const file = bytes[name]!;
    const expected = probeFile(file);
    expect(probeInPieces(file, [])).toEqual(expected);
    const cuts = Array.from({ length: Math.ceil(file.length / 65536) }, (_, k) => k * 65536);
    expect(probeInPieces(file, cuts)).toEqual(expected);
    if (!name.endsWith('-audio')) expect(expected).toMatchObject({ ok: true, hasVideo: true });
    else expect(expected).toMatchObject({ ok: false, reason: 'no-video' });
  });

  it('every container, truncated and corrupted, cut at random offsets (property)', () => {
    const files = Object.keys(FILES).flatMap((name) => variants(bytes[name]!).map((file, k) => ({ name: `${name}#${k}`, file })));
    fc.assert(
      fc.property(
        fc.constantFrom(...files),
        fc.array(fc.nat(), { maxLength: 12 }),
        fc.array(fc.integer({ min: 1, max: 300 }), { maxLength: 6 }),
        ({ file }, randomCuts, smallCuts) => {
          // Random offsets anywhere, plus a few 1-byte-apart cuts near the start (headers straddling pieces).
          const cuts = [...randomCuts.map((c) => c % Math.max(1, file.length)), ...smallCuts];
          expect(probeInPieces(file, cuts)).toEqual(probeFile(file));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('one byte at a time', () => {
    for (const name of ['webm', 'mp4-faststart', 'avi']) {
      const file = bytes[name]!.subarray(0, 40_000);
      const probe = new FileProbe();
      for (let k = 0; k < file.length; k++) probe.push(file.subarray(k, k + 1));
      expect(probe.finish(), name).toEqual(probeFile(file));
    }
  });

  it('garbage, tiny and empty files are unsupported', () => {
    for (const file of [new Uint8Array(0), new TextEncoder().encode('not a video'), new Uint8Array(5000).fill(0x41)]) {
      expect(probeInPieces(file, [1, 3, 100])).toEqual(probeFile(file));
      expect(probeInPieces(file, [])).toMatchObject({ ok: false, reason: 'unsupported' });
    }
  });

  it('knows an unrecognised container as soon as the detection bytes are in', () => {
    const probe = new FileProbe();
    probe.push(new Uint8Array(DETECT_BYTES).fill(0x41));
    expect(probe.failed).toMatchObject({ reason: 'unsupported' });
    expect(probe.family).toBeNull();
  });

  it('an AVI whose header list is implausibly large is unreadable', () => {
    const head = Buffer.alloc(64);
    head.write('RIFF', 0, 'latin1');
    head.writeUInt32LE(0xfffffff0, 4);
    head.write('AVI LIST', 8, 'latin1');
    head.writeUInt32LE(MAX_HDRL_BYTES + 2, 16);
    head.write('hdrl', 20, 'latin1');
    const file = Buffer.concat([head, Buffer.alloc(MAX_HDRL_BYTES + 100)]);
    expect(probeInPieces(file, [30, 4096])).toMatchObject({ ok: false, reason: 'corrupt', message: expect.stringContaining('hdrl') });
  });
});

describe('TransportStreamScanner = scanTransportStream', () => {
  it('same timing on a real file in odd-sized pieces', () => {
    const file = bytes['mpegts']!;
    const scanner = new TransportStreamScanner();
    for (let at = 0; at < file.length; at += 1001) scanner.push(file.subarray(at, at + 1001));
    expect(scanner.finish()).toEqual(scanTransportStream(file));
  });
});
