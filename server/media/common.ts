/**
 * Pieces shared by the container scanners: the error they throw, the incremental byte stepper they
 * are built on, and the frame-duration estimator.
 *
 * Why hand-written scanners: the maintained demuxers (mp4box.js, mediabunny, node-ebml) need a
 * complete file or random access, or buffer whole elements, and none of them parses a live byte
 * stream that may start in the middle of an element with bounded memory. The emulator only needs
 * timestamps, which sit in a handful of small fields, so a small push parser is enough.
 *
 * Invariants of `ByteScanner`:
 * - bytes are consumed once, in order, in pieces of any size (a message may end anywhere, even in
 *   the middle of an element header);
 * - payload bytes are never kept: an element body is either skipped by counting or, for the few
 *   small fields the scanners need, its first bytes (at most `MAX_READ`) are copied;
 * - so what is carried from one `push` to the next is at most one partial header plus one partial
 *   small read (`retainedBytes()`), whatever the length of the stream.
 */

/** Why a scanner gave up: the bytes are not a valid container, or the container has no video track. */
export type MediaFailure = 'malformed' | 'no-video';

/** Thrown by the scanners; `kind` maps to ih5004 (malformed) or ih5001 (no-video). */
export class MediaError extends Error {
  constructor(
    readonly kind: MediaFailure,
    message: string,
  ) {
    super(message);
    this.name = 'MediaError';
  }
}

/** Throw a `malformed` MediaError. */
export function malformed(message: string): never {
  throw new MediaError('malformed', message);
}

/** Largest small read a scanner may ask for (bytes). */
export const MAX_READ = 64;

/** Round to microseconds, so that sums of millisecond timestamps do not print as 2.9999999999. */
export function roundSeconds(seconds: number): number {
  return Math.round(seconds * 1e6) / 1e6;
}

/** Hex dump of the first bytes, for error messages. */
export function hexPreview(bytes: Uint8Array, count = 8): string {
  return Array.from(bytes.subarray(0, count), (b) => b.toString(16).padStart(2, '0')).join(' ');
}

type Mode = 'header' | 'read' | 'skip';

/**
 * Push-driven stepper over a stream of length-prefixed elements (EBML elements, ISO-BMFF boxes).
 * Subclasses decode headers and decide, element by element, whether to descend (containers), read
 * a small prefix of the body, or skip it. Absolute stream offsets (`pos`) are plain numbers: exact
 * up to 2^53 bytes.
 */
export abstract class ByteScanner {
  /** Absolute offset of the next byte to be consumed. */
  protected pos = 0;
  private mode: Mode = 'header';
  private readonly head: Uint8Array;
  private headLen = 0;
  private headStart = 0;
  private readonly buf = new Uint8Array(MAX_READ);
  private bufLen = 0;
  private bufWant = 0;
  /** Absolute end of the current element body (Infinity: runs to the end of the stream). */
  private bodyEnd = 0;

  protected constructor(maxHeaderBytes: number) {
    this.head = new Uint8Array(maxHeaderBytes);
  }

  /** Total header length needed given the first `len` header bytes (return `len` when complete). Throws on invalid bytes. */
  protected abstract headerLength(head: Uint8Array, len: number): number;
  /** A complete header starting at absolute offset `start`. Call `body()` for a leaf; do nothing to descend into a container. */
  protected abstract onHeader(head: Uint8Array, start: number): void;
  /** The bytes asked for by `body()` or `readMore()` have arrived (valid only during the call). */
  protected abstract onRead(data: Uint8Array): void;
  /** The current leaf body has been fully consumed. */
  protected abstract onBodyEnd(): void;
  /** Called at element boundaries: close every container that ends at `pos`; return true if one was closed. */
  protected abstract closeEnded(): boolean;

  /** Declare the body of the element just headed: it runs to `end`; hand its first `read` bytes to `onRead` (none: skip it all). */
  protected body(end: number, read?: number): void {
    this.bodyEnd = end;
    if (read === undefined) this.mode = 'skip';
    else this.readMore(read);
  }

  /** From `onRead`: ask for the next `count` bytes of the current body (the rest is skipped otherwise). */
  protected readMore(count: number): void {
    if (count > MAX_READ) throw new Error(`internal: read of ${count} bytes exceeds MAX_READ`);
    if (this.pos + count > this.bodyEnd) malformed('a field runs past the end of its element');
    this.mode = 'read';
    this.bufLen = 0;
    this.bufWant = count;
  }

  /** Consume the next piece of the stream. Throws `MediaError` when the bytes cannot be right. */
  push(chunk: Uint8Array): void {
    const n = chunk.length;
    let i = 0;
    this.settle();
    while (i < n) {
      if (this.mode === 'header') {
        if (this.headLen === 0) this.headStart = this.pos;
        this.head[this.headLen++] = chunk[i++]!;
        this.pos++;
        const need = this.headerLength(this.head, this.headLen);
        if (need > this.head.length) throw new Error('internal: header longer than the header buffer');
        if (need > this.headLen) continue;
        const len = this.headLen;
        this.headLen = 0;
        this.onHeader(this.head.subarray(0, len), this.headStart);
      } else if (this.mode === 'read') {
        const take = Math.min(n - i, this.bufWant - this.bufLen);
        this.buf.set(chunk.subarray(i, i + take), this.bufLen);
        this.bufLen += take;
        i += take;
        this.pos += take;
      } else {
        const take = Math.min(n - i, this.bodyEnd - this.pos);
        i += take;
        this.pos += take;
      }
      this.settle();
    }
  }

  /** Advance through everything that needs no more input (completed reads, empty bodies, ended containers). */
  private settle(): void {
    for (;;) {
      if (this.mode === 'read') {
        if (this.bufLen < this.bufWant) return;
        this.mode = 'skip';
        this.onRead(this.buf.subarray(0, this.bufWant));
        continue; // onRead may have asked for more
      }
      if (this.mode === 'skip') {
        if (this.pos < this.bodyEnd) return;
        this.mode = 'header';
        this.onBodyEnd();
        continue;
      }
      if (this.headLen > 0 || !this.closeEnded()) return;
    }
  }

  /** True when the stream stopped exactly between two elements (not inside a header or a body). */
  protected atBoundary(): boolean {
    return this.mode === 'header' && this.headLen === 0;
  }

  /** True when the stream stopped inside a body that runs to the end of the stream (ISO-BMFF size 0). */
  protected inOpenEndedBody(): boolean {
    return this.mode === 'skip' && this.bodyEnd === Infinity;
  }

  /** Bytes carried over to the next `push`: a partial element header and a partial small read. */
  retainedBytes(): number {
    return this.headLen + (this.mode === 'read' ? this.bufLen : 0);
  }
}

/**
 * Estimates one frame's duration from the most recent video timestamps: the median of the positive
 * gaps between them once sorted (sorting makes it robust to B-frames stored in decode order).
 * Keeps a fixed ring of `size` timestamps, so memory does not grow with the stream.
 */
export class FrameGapEstimator {
  private readonly ring: Float64Array;
  private count = 0;
  private next = 0;

  constructor(size = 32) {
    this.ring = new Float64Array(size);
  }

  add(seconds: number): void {
    this.ring[this.next] = seconds;
    this.next = (this.next + 1) % this.ring.length;
    if (this.count < this.ring.length) this.count++;
  }

  /** Median positive gap in seconds, or null before two distinct timestamps were seen. */
  estimate(): number | null {
    if (this.count < 2) return null;
    return medianGap(Array.from(this.ring.subarray(0, this.count)));
  }
}

/** Median of the positive gaps between the sorted values, or null if there is none. */
export function medianGap(values: number[]): number | null {
  const sorted = values.slice().sort((a, b) => a - b);
  const gaps: number[] = [];
  for (let k = 1; k < sorted.length; k++) {
    const gap = sorted[k]! - sorted[k - 1]!;
    if (gap > 1e-9) gaps.push(gap);
  }
  if (gaps.length === 0) return null;
  gaps.sort((a, b) => a - b);
  return gaps[(gaps.length - 1) >> 1]!;
}
