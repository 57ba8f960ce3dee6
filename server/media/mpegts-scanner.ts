/**
 * Incremental MPEG-TS video timing: the same rules as `scanTransportStream` (mpegts.ts), fed in
 * pieces of any size, for uploads that must not be held in memory.
 *
 * Why a second implementation: `scanTransportStream` takes one whole message (a stream segment is
 * one message, so that is right for the stream path); an upload arrives in socket-sized pieces. The
 * per-packet decoders (PAT, PMT, PES header) are shared with mpegts.ts, and `mpegts-scanner.test.ts`
 * checks that both agree on real files cut at arbitrary offsets.
 *
 * Invariants:
 * - packets are decoded as they complete; what is carried between pushes is one partial packet
 *   (< 188 bytes) plus the presentation timestamps of the video stream (8 bytes a frame: the median
 *   frame gap is taken over all of them, exactly as `scanTransportStream` does);
 * - `finish` reports the same outcome as `scanTransportStream` on the concatenated bytes: a length
 *   that is not a whole number of packets first, then lost sync, then no PAT/PMT, no video stream
 *   (`MediaError('no-video')`), no PTS.
 */

import { codecFromStreamType } from './codecs.js';
import { MediaError, malformed, medianGap, roundSeconds } from './common.js';
import { PTS_HZ, PTS_WRAP, SYNC, TS_PACKET, VIDEO_STREAM_TYPES, pesPts, pmtStreams, programs, type TsTiming } from './mpegts.js';

/** Push-driven MPEG-TS timing. `push` never throws on bad bytes; `finish` reports them. */
export class TransportStreamScanner {
  private readonly carry = new Uint8Array(TS_PACKET);
  private carryLen = 0;
  private total = 0;
  /** First sync error (reported by `finish` after the length check, as `scanTransportStream` does). */
  private syncError: string | null = null;
  private readonly pmtPids = new Set<number>();
  private pmtSeen = false;
  private readonly streamTypes: number[] = [];
  private videoPid = -1;
  private videoType = 0;
  private firstPts: number | null = null;
  private readonly pts: number[] = [];

  /** Bytes pushed so far. */
  get bytes(): number {
    return this.total;
  }

  /** Consume the next piece of the stream. */
  push(chunk: Uint8Array): void {
    this.total += chunk.length;
    if (this.syncError !== null) return;
    let i = 0;
    if (this.carryLen > 0) {
      const take = Math.min(TS_PACKET - this.carryLen, chunk.length);
      this.carry.set(chunk.subarray(0, take), this.carryLen);
      this.carryLen += take;
      i = take;
      if (this.carryLen < TS_PACKET) return;
      this.carryLen = 0;
      if (!this.packet(this.carry, 0, this.total - chunk.length + take - TS_PACKET)) return;
    }
    for (; i + TS_PACKET <= chunk.length; i += TS_PACKET) {
      if (!this.packet(chunk, i, this.total - chunk.length + i)) return;
    }
    if (i < chunk.length) {
      this.carry.set(chunk.subarray(i), 0);
      this.carryLen = chunk.length - i;
    }
  }

  /** The stream ends here: its timing, or a `MediaError` (same outcome as `scanTransportStream`). */
  finish(): TsTiming {
    if (this.total % TS_PACKET !== 0) malformed(`the transport stream ends inside a packet (${this.total} bytes is not a multiple of 188)`);
    if (this.syncError !== null) malformed(this.syncError);
    if (!this.pmtSeen) malformed('no PAT/PMT in the transport stream');
    if (this.videoPid < 0) {
      const list = this.streamTypes.map((t) => `0x${t.toString(16)}`).join(', ');
      throw new MediaError('no-video', `the PMT lists no video stream (stream types: ${list || 'none'})`);
    }
    if (this.pts.length === 0) malformed('no presentation timestamps on the video stream');
    let min = Infinity;
    let max = -Infinity;
    for (const p of this.pts) {
      if (p < min) min = p;
      if (p > max) max = p;
    }
    const gap = medianGap(this.pts);
    const frameSeconds = gap === null ? null : gap / PTS_HZ;
    return { durationSeconds: roundSeconds((max - min) / PTS_HZ + (frameSeconds ?? 0)), frameSeconds, videoPid: this.videoPid, streamType: this.videoType, codec: codecFromStreamType(this.videoType) };
  }

  /** One packet at `bytes[at … at+188)`, absolute offset `offset`; false after a sync error. */
  private packet(bytes: Uint8Array, at: number, offset: number): boolean {
    if (bytes[at] !== SYNC) {
      this.syncError = `lost MPEG-TS sync at byte ${offset}`;
      return false;
    }
    const pusi = (bytes[at + 1]! & 0x40) !== 0;
    const pid = ((bytes[at + 1]! & 0x1f) << 8) | bytes[at + 2]!;
    const afc = (bytes[at + 3]! >> 4) & 0x3;
    let payload = at + 4;
    if (afc === 2 || afc === 0) return true; // adaptation field only, or reserved
    if (afc === 3) payload += 1 + bytes[at + 4]!;
    const end = at + TS_PACKET;
    if (payload >= end || !pusi) return true;

    if (pid === 0) {
      for (const [, pmt] of programs(bytes, payload, end)) this.pmtPids.add(pmt);
    } else if (this.pmtPids.has(pid) && this.videoPid < 0) {
      const types = pmtStreams(bytes, payload, end);
      if (types === null) return true;
      this.pmtSeen = true;
      for (const [type, esPid] of types) {
        this.streamTypes.push(type);
        if (this.videoPid < 0 && VIDEO_STREAM_TYPES.has(type)) {
          this.videoPid = esPid;
          this.videoType = type;
        }
      }
    } else if (pid === this.videoPid) {
      const value = pesPts(bytes, payload, end);
      if (value === null) return true;
      this.firstPts ??= value;
      let rel = value - this.firstPts;
      if (rel < -PTS_WRAP / 2) rel += PTS_WRAP;
      else if (rel > PTS_WRAP / 2) rel -= PTS_WRAP;
      this.pts.push(rel);
    }
    return true;
  }
}
