/**
 * Incremental AVI header reader, fed in pieces of any size: for uploads (`FileProbe`, `probeFile`)
 * and for AVI stream segments, which are always self-contained files. Only the header matters:
 * duration = avih dwMicroSecPerFrame × dwTotalFrames; a video stream is a strl whose strh fccType
 * is 'vids', and its codec is the biCompression fourcc of its strf (BITMAPINFOHEADER), else the
 * strh fccHandler (codecs.ts).
 *
 * What is kept: the 12-byte RIFF header, the position and size of each top-level chunk before the
 * hdrl list (ordinarily none: hdrl comes first), and the hdrl list itself (a few KB; more than
 * `MAX_HDRL_BYTES` is refused as unreadable). Everything after hdrl — the movi frames, idx1 — is
 * only counted. Whether a chunk runs past the RIFF end depends on the file length, so those checks
 * run in `finish`, in the same order `probeFile` makes them.
 */

import { codecFromAviCompression, codecFromAviFourcc, type VideoCodec } from './codecs.js';
import { MediaError, malformed } from './common.js';

/** Largest hdrl list accepted (bytes). Real ones are a few KB (OpenDML super-indexes included). */
export const MAX_HDRL_BYTES = 1 << 20;
/** Bytes kept after hdrl, so a field read just past a tiny avih sees what `probeFile` would. */
const TAIL_BYTES = 64;

function ascii(bytes: Uint8Array, at: number, length: number): string {
  return at + 4 <= length ? String.fromCharCode(bytes[at]!, bytes[at + 1]!, bytes[at + 2]!, bytes[at + 3]!) : '';
}

function le32(bytes: Uint8Array, at: number, length: number): number {
  if (at + 4 > length) malformed('the AVI header is truncated');
  return (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0;
}

/** What an AVI header says about its first video stream. */
export interface AviVideo {
  durationSeconds: number;
  /** dwMicroSecPerFrame in seconds, or null when it is 0. */
  frameSeconds: number | null;
  codec: VideoCodec;
}

interface TopChunk {
  readonly id: string;
  /** Absolute offset of the chunk header. */
  readonly at: number;
  readonly size: number;
  readonly hdrl: boolean;
}

/** Push-driven AVI header reader. `push` never throws; `finish` returns the duration or throws `MediaError`. */
export class AviHeaderScanner {
  private total = 0;
  private readonly riff = new Uint8Array(12);
  /** Absolute offset of the next top-level chunk header. */
  private next = 12;
  private readonly header = new Uint8Array(12);
  private headerLen = 0;
  private readonly chunks: TopChunk[] = [];
  /** The hdrl list from its list type on ('hdrl', then its children), plus a few bytes after it. */
  private hdrl: Uint8Array | null = null;
  private hdrlLen = 0;
  private hdrlTooLarge = false;
  /** Once hdrl is kept (or found too large), the rest of the file is only counted. */
  private done = false;

  /** Bytes pushed so far. */
  get bytes(): number {
    return this.total;
  }

  /** Length of the whole file as its RIFF header declares it (8 + RIFF size), once 8 bytes have arrived. */
  get declaredBytes(): number | null {
    return this.total < 8 ? null : 8 + le32(this.riff, 4, 8);
  }

  push(chunk: Uint8Array): void {
    const base = this.total;
    this.total += chunk.length;
    let i = 0;
    while (i < chunk.length && !this.done) {
      const pos = base + i;
      if (pos < 12) {
        const take = Math.min(12 - pos, chunk.length - i);
        this.riff.set(chunk.subarray(i, i + take), pos);
        i += take;
      } else if (this.hdrl !== null) {
        const take = Math.min(this.hdrl.length - this.hdrlLen, chunk.length - i);
        this.hdrl.set(chunk.subarray(i, i + take), this.hdrlLen);
        this.hdrlLen += take;
        i += take;
        if (this.hdrlLen === this.hdrl.length) this.done = true;
      } else if (pos < this.next) {
        i += Math.min(this.next - pos, chunk.length - i);
      } else {
        i = this.readHeader(chunk, i);
      }
    }
  }

  /** Read (part of) the top-level chunk header at `next`; returns the new index into `chunk`. */
  private readHeader(chunk: Uint8Array, i: number): number {
    const want = () => (this.headerLen >= 8 && ascii(this.header, 0, 8) === 'LIST' && le32(this.header, 4, 8) >= 4 ? 12 : 8);
    while (i < chunk.length && this.headerLen < want()) this.header[this.headerLen++] = chunk[i++]!;
    if (this.headerLen < want()) return i;
    const id = ascii(this.header, 0, 8);
    const size = le32(this.header, 4, 8);
    const hdrl = this.headerLen === 12 && ascii(this.header, 8, 12) === 'hdrl';
    this.headerLen = 0;
    this.chunks.push({ id, at: this.next, size, hdrl });
    if (hdrl) {
      if (size > MAX_HDRL_BYTES) {
        this.hdrlTooLarge = true;
        this.done = true;
        return i;
      }
      // Keep the list from its type on: the 4 type bytes are already read.
      this.hdrl = new Uint8Array(size + TAIL_BYTES);
      this.hdrl.set(this.header.subarray(8, 12), 0);
      this.hdrlLen = 4;
      return i;
    }
    this.next += 8 + size + (size & 1);
    if (this.chunks.length > 1024) this.done = true; // no hdrl among the first 1024 chunks: not an AVI we can read
    return i;
  }

  /** The file ends here: its video duration and codec. Throws `MediaError` ('malformed' or 'no-video'). */
  finish(): AviVideo {
    if (this.total < 12) malformed('the AVI header is truncated');
    const riffEnd = Math.min(this.total, 8 + le32(this.riff, 4, 12));
    for (const c of this.chunks) {
      if (c.at + 8 > riffEnd) break;
      if (c.at + 8 + c.size > riffEnd) malformed(`the AVI chunk '${c.id}' runs past its parent`);
      if (!c.hdrl) continue;
      if (this.hdrlTooLarge) malformed(`the AVI header list (hdrl) is larger than ${MAX_HDRL_BYTES} bytes`);
      return this.parseHdrl(c.size);
    }
    malformed('no AVI main header (hdrl/avih)');
  }

  /** The hdrl list kept in `hdrl` (offset 0 = its list type), `size` bytes long. */
  private parseHdrl(size: number): AviVideo {
    const bytes = this.hdrl!;
    const length = this.hdrlLen;
    function* chunks(start: number, end: number): Generator<[string, number, number]> {
      for (let at = start; at + 8 <= end; ) {
        const id = ascii(bytes, at, length);
        const chunkSize = le32(bytes, at + 4, length);
        if (at + 8 + chunkSize > end) malformed(`the AVI chunk '${id}' runs past its parent`);
        yield [id, at + 8, chunkSize];
        at += 8 + chunkSize + (chunkSize & 1);
      }
    }
    let micro: number | null = null;
    let frames = 0;
    let codec: VideoCodec | null = null;
    for (const [hid, hdata, hsize] of chunks(4, size)) {
      if (hid === 'avih') {
        micro = le32(bytes, hdata, length);
        frames = le32(bytes, hdata + 16, length);
      } else if (hid === 'LIST' && ascii(bytes, hdata, length) === 'strl' && codec === null) {
        let handler: string | null = null;
        let compression: number | null = null;
        for (const [sid, sdata, ssize] of chunks(hdata + 4, hdata + hsize)) {
          if (sid === 'strh' && ascii(bytes, sdata, length) === 'vids') handler = ascii(bytes, sdata + 4, length);
          else if (sid === 'strf' && ssize >= 20) compression = le32(bytes, sdata + 16, length);
        }
        if (handler !== null) codec = compression !== null ? codecFromAviCompression(compression) : codecFromAviFourcc(handler);
      }
    }
    if (micro === null) malformed('no AVI main header (hdrl/avih)');
    if (codec === null) throw new MediaError('no-video', 'the AVI file has no video stream (no strh with fccType vids)');
    return { durationSeconds: Math.round(micro * frames) / 1e6, frameSeconds: micro > 0 ? micro / 1e6 : null, codec };
  }
}
