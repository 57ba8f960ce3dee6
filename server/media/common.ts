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
 *   small fields the scanners need, its first bytes (at most `MAX_READ`) are decoded where they lie
 *   in the message, or copied when the message ends inside them;
 * - so what is carried from one `push` to the next is at most one partial header plus one partial
 *   small read (`retainedBytes()`), whatever the length of the stream; the message itself is not
 *   referenced once `push` returns.
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

/**
 * Close every container of `stack` that ends at `pos`: the outermost one ending there and everything
 * still open inside it (unknown-size children), innermost first. Returns true if one was closed.
 */
export function closeContainersEndingAt<T extends { readonly end: number | null }>(stack: T[], pos: number, close: (open: T) => void): boolean {
  for (let k = 0; k < stack.length; k++) {
    if (stack[k]!.end !== pos) continue;
    while (stack.length > k) close(stack.pop()!);
    return true;
  }
  return false;
}

/** Hex dump of the first bytes, for error messages. */
export function hexPreview(bytes: Uint8Array, count = 8): string {
  return Array.from(bytes.subarray(0, count), (b) => b.toString(16).padStart(2, '0')).join(' ');
}

/** Stepper modes (small integers: compared once per element on the hot path). */
const HEADER = 0; // between elements, or inside a header carried over from the previous message
const READ = 1; // copying the first bytes of a body for `onRead`
const SKIP = 2; // counting through the rest of a body

const EMPTY = new Uint8Array(0);

/**
 * Push-driven stepper over a stream of length-prefixed elements (EBML elements, ISO-BMFF boxes).
 * Subclasses decode headers and decide, element by element, whether to descend (containers), read
 * a small prefix of the body, or skip it. Absolute stream offsets (`pos`) are plain numbers: exact
 * up to 2^53 bytes.
 *
 * Speed: bytes are handed to the subclass where they lie (`bytes`, `at`, `length`) whenever a whole
 * header or a whole small read is inside the message being pushed, which is nearly always; only a
 * header or read cut by the end of a message is copied into the carry buffers (`head`, `buf`).
 * Bodies are skipped by arithmetic. Nothing is allocated per element here.
 */
export abstract class ByteScanner {
  /** Absolute offset of the next byte to be consumed. */
  protected pos = 0;
  /**
   * The message being pushed, and the index in it of the byte at `pos` (valid during the callbacks;
   * `src` is emptied when `push` returns so the message is not kept). A subclass may peek at
   * `src[srcAt…]` (bytes not yet consumed) to decode a field in place instead of asking for a read.
   */
  protected src: Uint8Array = EMPTY;
  protected srcAt = 0;
  private mode = HEADER;
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

  /**
   * Total header length, given the `avail` (≥ 1) header bytes at `bytes[at…]`: a value > `avail`
   * means more bytes are needed (it may grow again once they arrive). Throws on invalid bytes.
   */
  protected abstract headerLength(bytes: Uint8Array, at: number, avail: number): number;
  /** A complete header at `bytes[at … at+length)`, starting at absolute offset `start`. Call `body()` for a leaf; do nothing to descend into a container. */
  protected abstract onHeader(bytes: Uint8Array, at: number, length: number, start: number): void;
  /** The bytes asked for by `body()` or `readMore()`: `bytes[at … at+length)` (valid only during the call). */
  protected abstract onRead(bytes: Uint8Array, at: number, length: number): void;
  /** The current leaf body has been fully consumed. */
  protected abstract onBodyEnd(): void;
  /** Called at element boundaries: close every container that ends at `pos`; return true if one was closed. */
  protected abstract closeEnded(): boolean;

  /**
   * At an element boundary, with `bytes[at…n)` in this message: consume whole elements here, without
   * the stepper, and return the index after them (`at`: none). For the run of elements that makes
   * up nearly all of a stream (EBML's SimpleBlocks); the subclass takes only elements whose header
   * and body lie wholly in `bytes` and after which no container ends, so the stepper's state is
   * unchanged apart from `pos`, which the stepper advances. Anything else it leaves to the stepper
   * (which also reports every error).
   */
  protected consumeRun(_bytes: Uint8Array, at: number, _n: number): number {
    return at;
  }

  /** Declare the body of the element just headed: it runs to `end`; hand its first `read` bytes to `onRead` (none: skip it all). */
  protected body(end: number, read?: number): void {
    this.bodyEnd = end;
    if (read === undefined) this.mode = SKIP;
    else this.readMore(read);
  }

  /** From `onRead`: ask for the next `count` bytes of the current body (the rest is skipped otherwise). */
  protected readMore(count: number): void {
    if (count > MAX_READ) throw new Error(`internal: read of ${count} bytes exceeds MAX_READ`);
    if (this.pos + count > this.bodyEnd) malformed('a field runs past the end of its element');
    this.mode = READ;
    this.bufLen = 0;
    this.bufWant = count;
  }

  /** From `onRead`: true when the next `count` bytes of the current body are all in `src` after `srcAt` (so they can be decoded in place). */
  protected bodyBytesAt(count: number): boolean {
    return this.pos + count <= this.bodyEnd && this.srcAt + count <= this.src.length;
  }

  /** Consume the next piece of the stream. Throws `MediaError` when the bytes cannot be right. */
  push(chunk: Uint8Array): void {
    const n = chunk.length;
    let i = 0;
    this.src = chunk;
    this.srcAt = 0;
    try {
      this.settle();
      while (i < n) {
        const mode = this.mode;
        if (mode === SKIP) {
          const take = Math.min(n - i, this.bodyEnd - this.pos);
          i += take;
          this.pos += take;
        } else if (mode === HEADER) {
          if (this.headLen === 0) {
            const after = this.consumeRun(chunk, i, n);
            if (after !== i) {
              this.pos += after - i;
              i = after;
              this.srcAt = i;
              if (i === n) break;
            }
            const need = this.headerLength(chunk, i, n - i);
            if (need <= n - i) {
              // Fast path: the whole header is in this message: decode it where it lies (no copy).
              const start = this.pos;
              i += need;
              this.pos += need;
              this.srcAt = i;
              this.onHeader(chunk, i - need, need, start);
              if (this.mode === SKIP) {
                // A leaf to skip (a block whose header was decoded in place): skip it now rather
                // than on another turn of the loop; this is the path of nearly every element.
                const take = Math.min(n - i, this.bodyEnd - this.pos);
                i += take;
                this.pos += take;
              }
            } else {
              // The message ends inside this header: keep its first bytes for the next message.
              if (need > this.head.length) throw new Error('internal: header longer than the header buffer');
              this.headStart = this.pos;
              for (let k = 0; k < n - i; k++) this.head[k] = chunk[i + k]!;
              this.headLen = n - i;
              this.pos += n - i;
              i = n;
            }
          } else {
            i = this.carryHeader(chunk, i, n);
          }
        } else {
          const want = this.bufWant;
          if (this.bufLen === 0 && n - i >= want) {
            // Fast path: the whole field is in this message: hand it over where it lies (no copy).
            i += want;
            this.pos += want;
            this.srcAt = i;
            this.mode = SKIP;
            this.onRead(chunk, i - want, want);
          } else {
            // The field is cut by the end of a message: copy it into `buf` (at most MAX_READ bytes).
            const take = Math.min(n - i, want - this.bufLen);
            const buf = this.buf;
            for (let k = 0; k < take; k++) buf[this.bufLen + k] = chunk[i + k]!;
            this.bufLen += take;
            i += take;
            this.pos += take;
          }
        }
        this.srcAt = i;
        this.settle();
      }
    } finally {
      this.src = EMPTY;
      this.srcAt = 0;
    }
  }

  /** Continue a header carried over from an earlier message (it straddles messages); returns the new index in `chunk`. */
  private carryHeader(chunk: Uint8Array, i: number, n: number): number {
    const head = this.head;
    let need = this.headerLength(head, 0, this.headLen);
    while (need > this.headLen) {
      if (need > head.length) throw new Error('internal: header longer than the header buffer');
      if (i >= n) return i; // still incomplete: wait for the next message
      const take = Math.min(need - this.headLen, n - i);
      for (let k = 0; k < take; k++) head[this.headLen + k] = chunk[i + k]!;
      this.headLen += take;
      this.pos += take;
      i += take;
      need = this.headerLength(head, 0, this.headLen);
    }
    const len = this.headLen;
    this.headLen = 0;
    this.srcAt = i;
    this.onHeader(head, 0, len, this.headStart);
    return i;
  }

  /** Advance through everything that needs no more input (completed reads, empty bodies, ended containers). */
  private settle(): void {
    for (;;) {
      const mode = this.mode;
      if (mode === READ) {
        if (this.bufLen < this.bufWant) return;
        this.mode = SKIP;
        this.onRead(this.buf, 0, this.bufWant);
        continue; // onRead may have asked for more
      }
      if (mode === SKIP) {
        if (this.pos < this.bodyEnd) return;
        this.mode = HEADER;
        this.onBodyEnd();
        continue;
      }
      if (this.headLen > 0 || !this.closeEnded()) return;
    }
  }

  /** True when the stream stopped exactly between two elements (not inside a header or a body). */
  protected atBoundary(): boolean {
    return this.mode === HEADER && this.headLen === 0;
  }

  /** True when the stream stopped inside a body that runs to the end of the stream (ISO-BMFF size 0). */
  protected inOpenEndedBody(): boolean {
    return this.mode === SKIP && this.bodyEnd === Infinity;
  }

  /** Bytes carried over to the next `push`: a partial element header and a partial small read. */
  retainedBytes(): number {
    return this.headLen + (this.mode === READ ? this.bufLen : 0);
  }
}

/**
 * Estimates one frame's duration from the most recent video timestamps: the median of the positive
 * gaps between them once sorted (sorting makes it robust to B-frames stored in decode order).
 * Keeps a fixed ring of `size` timestamps, so memory does not grow with the stream.
 */
export class FrameGapEstimator {
  /** Timestamps, oldest first until full, then a ring (a plain array: one is made per segment, and a small Float64Array would live off the heap). */
  private readonly ring: number[] = [];
  private readonly size: number;
  private next = 0;

  constructor(size = 32) {
    this.size = size;
  }

  add(seconds: number): void {
    if (this.ring.length < this.size) this.ring.push(seconds);
    else {
      this.ring[this.next] = seconds;
      this.next = this.next + 1 === this.size ? 0 : this.next + 1;
    }
  }

  /** Median positive gap in seconds, or null before two distinct timestamps were seen. */
  estimate(): number | null {
    const count = this.ring.length;
    if (count < 2) return null;
    // Same result as `medianGap` without garbage (it runs once per message): copy oldest to newest,
    // which is nearly sorted already, so an insertion sort is about linear.
    if (scratchSorted.length < count) {
      scratchSorted = new Float64Array(count);
      scratchGaps = new Float64Array(count);
    }
    const sorted = scratchSorted;
    const gaps = scratchGaps;
    for (let k = 0; k < count; k++) sorted[k] = this.ring[(this.next + k) % count]!;
    insertionSort(sorted, count);
    let n = 0;
    for (let k = 1; k < count; k++) {
      const gap = sorted[k]! - sorted[k - 1]!;
      if (gap > 1e-9) gaps[n++] = gap;
    }
    if (n === 0) return null;
    insertionSort(gaps, n);
    return gaps[(n - 1) >> 1]!;
  }
}

/** Scratch space of `FrameGapEstimator.estimate`, shared (it is synchronous); grown on demand. */
let scratchSorted = new Float64Array(32);
let scratchGaps = new Float64Array(32);

/** Sort `a[0 … n)` ascending in place. */
function insertionSort(a: Float64Array, n: number): void {
  for (let k = 1; k < n; k++) {
    const v = a[k]!;
    let j = k - 1;
    while (j >= 0 && a[j]! > v) {
      a[j + 1] = a[j]!;
      j--;
    }
    a[j + 1] = v;
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
