/**
 * MPEG-TS video timing (ISO/IEC 13818-1). Each TS message is treated as self-contained: a whole
 * number of 188-byte packets starting with the sync byte 0x47. The PAT gives the PMT PIDs, the
 * PMT gives the video elementary stream (first stream whose stream_type is a video type), and the
 * PES headers of that PID give the presentation timestamps (33-bit, 90 kHz). The video stream's
 * stream_type names its codec (codecs.ts).
 *
 * Duration = last PTS − first PTS + one frame, computed as (largest − smallest PTS, so B-frame
 * reordering does not matter) + the median gap between sorted PTS values. PTS wrap-around (2^33)
 * is unwrapped relative to the first PTS.
 *
 * Limits (kept simple on purpose): PSI sections must fit in one packet (true for the PAT/PMT of
 * ordinary files); a PES header split across packets is ignored.
 *
 * Throws `MediaError('malformed')` for lost sync, a trailing partial packet, no PAT/PMT or no PTS,
 * and `MediaError('no-video')` when the PMT lists no video stream.
 */

import { codecFromStreamType, TS_VIDEO_STREAM_TYPES, type VideoCodec } from './codecs.js';
import { MediaError, malformed, medianGap, roundSeconds } from './common.js';

export const TS_PACKET = 188;
export const SYNC = 0x47;
export const PTS_WRAP = 2 ** 33;
export const PTS_HZ = 90_000;

/** stream_type values that carry video: MPEG-1/2, MPEG-4 part 2, H.264, SVC, MVC, HEVC, VVC, AVS (0x42), Dirac, VC-1 (one table with their codecs, in codecs.ts). */
export const VIDEO_STREAM_TYPES: ReadonlySet<number> = TS_VIDEO_STREAM_TYPES;

export interface TsTiming {
  /** Seconds of video: last − first PTS + one frame. */
  durationSeconds: number;
  /** One frame (median PTS gap), or null with a single PTS. */
  frameSeconds: number | null;
  videoPid: number;
  streamType: number;
  /** The video stream's codec, named from its stream_type. */
  codec: VideoCodec;
}

/** True when the bytes look like MPEG-TS: sync bytes at 0 and 188, and at every further packet start among the first eight. */
export function looksLikeTransportStream(bytes: Uint8Array): boolean {
  if (bytes.length <= TS_PACKET || bytes[0] !== SYNC || bytes[TS_PACKET] !== SYNC) return false;
  for (let k = 2; k < 8 && k * TS_PACKET < bytes.length; k++) if (bytes[k * TS_PACKET] !== SYNC) return false;
  return true;
}

/** Video timing of one self-contained transport stream. Throws `MediaError`. */
export function scanTransportStream(bytes: Uint8Array): TsTiming {
  if (bytes.length % TS_PACKET !== 0) malformed(`the transport stream ends inside a packet (${bytes.length} bytes is not a multiple of 188)`);
  const pmtPids = new Set<number>();
  let pmtSeen = false;
  const streamTypes: number[] = [];
  let videoPid = -1;
  let videoType = 0;
  let firstPts: number | null = null;
  const pts: number[] = [];

  for (let at = 0; at < bytes.length; at += TS_PACKET) {
    if (bytes[at] !== SYNC) malformed(`lost MPEG-TS sync at byte ${at}`);
    const pusi = (bytes[at + 1]! & 0x40) !== 0;
    const pid = ((bytes[at + 1]! & 0x1f) << 8) | bytes[at + 2]!;
    const afc = (bytes[at + 3]! >> 4) & 0x3;
    let payload = at + 4;
    if (afc === 2 || afc === 0) continue; // adaptation field only, or reserved
    if (afc === 3) payload += 1 + bytes[at + 4]!;
    const end = at + TS_PACKET;
    if (payload >= end || !pusi) continue;

    if (pid === 0) {
      for (const [, pmt] of programs(bytes, payload, end)) pmtPids.add(pmt);
    } else if (pmtPids.has(pid) && videoPid < 0) {
      const types = pmtStreams(bytes, payload, end);
      if (types === null) continue;
      pmtSeen = true;
      for (const [type, esPid] of types) {
        streamTypes.push(type);
        if (videoPid < 0 && VIDEO_STREAM_TYPES.has(type)) {
          videoPid = esPid;
          videoType = type;
        }
      }
    } else if (pid === videoPid) {
      const value = pesPts(bytes, payload, end);
      if (value === null) continue;
      firstPts ??= value;
      let rel = value - firstPts;
      if (rel < -PTS_WRAP / 2) rel += PTS_WRAP;
      else if (rel > PTS_WRAP / 2) rel -= PTS_WRAP;
      pts.push(rel);
    }
  }

  if (!pmtSeen) malformed('no PAT/PMT in the transport stream');
  if (videoPid < 0) {
    const list = streamTypes.map((t) => `0x${t.toString(16)}`).join(', ');
    throw new MediaError('no-video', `the PMT lists no video stream (stream types: ${list || 'none'})`);
  }
  if (pts.length === 0) malformed('no presentation timestamps on the video stream');
  let min = Infinity;
  let max = -Infinity;
  for (const p of pts) {
    if (p < min) min = p;
    if (p > max) max = p;
  }
  const gap = medianGap(pts);
  const frameSeconds = gap === null ? null : gap / PTS_HZ;
  return { durationSeconds: roundSeconds((max - min) / PTS_HZ + (frameSeconds ?? 0)), frameSeconds, videoPid, streamType: videoType, codec: codecFromStreamType(videoType) };
}

/** Start and end (exclusive, CRC excluded) of the PSI section in this payload, or null if it does not fit. */
export function section(bytes: Uint8Array, payload: number, end: number, tableId: number): [number, number] | null {
  const start = payload + 1 + bytes[payload]!; // pointer_field
  if (start + 3 > end || bytes[start] !== tableId) return null;
  const length = ((bytes[start + 1]! & 0x0f) << 8) | bytes[start + 2]!;
  const sectionEnd = start + 3 + length - 4;
  if (sectionEnd > end || length < 9) return null;
  return [start, sectionEnd];
}

/** [program_number, PMT PID] pairs of a PAT. */
export function programs(bytes: Uint8Array, payload: number, end: number): Array<[number, number]> {
  const s = section(bytes, payload, end, 0x00);
  if (s === null) return [];
  const out: Array<[number, number]> = [];
  for (let i = s[0] + 8; i + 4 <= s[1]; i += 4) {
    const program = (bytes[i]! << 8) | bytes[i + 1]!;
    const pid = ((bytes[i + 2]! & 0x1f) << 8) | bytes[i + 3]!;
    if (program !== 0) out.push([program, pid]);
  }
  return out;
}

/** [stream_type, elementary PID] pairs of a PMT, or null if the section does not fit in the packet. */
export function pmtStreams(bytes: Uint8Array, payload: number, end: number): Array<[number, number]> | null {
  const s = section(bytes, payload, end, 0x02);
  if (s === null) return null;
  const infoLength = ((bytes[s[0] + 10]! & 0x0f) << 8) | bytes[s[0] + 11]!;
  const out: Array<[number, number]> = [];
  for (let i = s[0] + 12 + infoLength; i + 5 <= s[1]; ) {
    const type = bytes[i]!;
    const pid = ((bytes[i + 1]! & 0x1f) << 8) | bytes[i + 2]!;
    const esInfo = ((bytes[i + 3]! & 0x0f) << 8) | bytes[i + 4]!;
    out.push([type, pid]);
    i += 5 + esInfo;
  }
  return out;
}

/** The PTS of the PES packet starting in this payload, or null if it has none. */
export function pesPts(bytes: Uint8Array, p: number, end: number): number | null {
  if (p + 14 > end || bytes[p] !== 0 || bytes[p + 1] !== 0 || bytes[p + 2] !== 1) return null;
  if ((bytes[p + 6]! & 0xc0) !== 0x80 || (bytes[p + 7]! & 0x80) === 0) return null; // no optional header, or no PTS
  const b = bytes.subarray(p + 9, p + 14);
  return ((b[0]! >> 1) & 0x07) * 2 ** 30 + (b[1]! << 22) + ((b[2]! >> 1) << 15) + (b[3]! << 7) + (b[4]! >> 1);
}
