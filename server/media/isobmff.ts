/**
 * Incremental ISO-BMFF scanner (MP4, MOV, fragmented MP4): video timing from a byte stream fed in
 * pieces, without keeping payload bytes (why hand-written: see `common.ts`).
 *
 * What it reads (ISO/IEC 14496-12 box types):
 * - ftyp (major brand), moov → mvhd (timescale, duration), trak → tkhd (track_ID),
 *   mdia → mdhd (timescale, duration), hdlr ('vide' / 'soun'), minf/stbl → stsd (the type of the
 *   first sample entry, which names the codec: avc1, mp4v, …; see codecs.ts), stts (first sample
 *   delta), stsz (sample count); moov/mvex → trex (default sample duration);
 * - moof → traf → tfhd (track_ID, default sample duration), tfdt (base media decode time),
 *   trun (per-sample durations, streamed entry by entry);
 * - everything else, mdat included (32-bit size, 64-bit largesize, size 0 = to the end), is skipped
 *   by counting bytes. moov may come before or after mdat.
 *
 * Rules it enforces (violations throw `MediaError('malformed')`): box types are four printable
 * characters; top-level boxes must be of a known top-level type; a box may not be shorter than its
 * header nor run past its parent; size 0 only at the top level; one moov; moof only after a moov
 * that has mvex. A moov without a video track ('vide' handler) throws `MediaError('no-video')`.
 *
 * Media time:
 * - non-fragmented (moov without mvex): the video track's mdhd duration / timescale, falling back
 *   to mvhd's duration / timescale when mdhd says 0 or "unknown";
 * - fragmented: the video track's trun sample durations (per sample, else tfhd's default, else
 *   trex's) laid from each traf's tfdt (or the previous fragment's end); `videoSeconds` = end of
 *   the latest fragment − the first fragment's start. A fragment counts once the mdat that follows
 *   its moof has been fully received (or the next moof starts, or the file ends).
 */

import { codecFromSampleEntry, type VideoCodec } from './codecs.js';
import { ByteScanner, closeContainersEndingAt, malformed, MAX_READ, MediaError, roundSeconds } from './common.js';

/** Box types accepted at the top level of a file or live stream. */
export const TOP_LEVEL_BOXES: ReadonlySet<string> = new Set([
  'ftyp', 'styp', 'moov', 'moof', 'mdat', 'free', 'skip', 'wide', 'pdin', 'mfra', 'sidx', 'ssix', 'prft', 'emsg', 'meta', 'uuid', 'pnot', 'junk',
]);

/** Containers the scanner descends into, with the parent each must appear in ('' = top level). */
const CONTAINERS = new Map<string, string>([
  ['moov', ''],
  ['trak', 'moov'],
  ['mdia', 'trak'],
  ['minf', 'mdia'],
  ['stbl', 'minf'],
  ['mvex', 'moov'],
  ['moof', ''],
  ['traf', 'moof'],
]);

/** Full boxes read, keyed parent/type, with the bytes read from their start. */
const LEAVES = new Map<string, number>([
  ['/ftyp', 8],
  ['moov/mvhd', 32],
  ['trak/tkhd', 24],
  ['mdia/mdhd', 32],
  ['mdia/hdlr', 12],
  ['stbl/stsd', 16],
  ['stbl/stts', 16],
  ['stbl/stsz', 12],
  ['mvex/trex', 16],
  ['traf/tfhd', 32],
  ['traf/tfdt', 12],
  ['traf/trun', 8],
]);

const MAX_TRACKS = 64;
const TWO32 = 2 ** 32;

interface Open {
  readonly type: string;
  /** Absolute end offset; null when the box runs to the end of the stream (size 0). */
  readonly end: number | null;
}

/** One trak as declared in the moov. */
export interface IsoTrack {
  id: number;
  handler: string;
  timescale: number;
  /** mdhd duration in timescale units (null when absent or "unknown"). */
  duration: number | null;
  sampleCount: number | null;
  firstDelta: number | null;
  /** Type of the first sample entry in stsd (the codec's four characters), null if there is none. */
  sampleEntry: string | null;
}

interface Fragment {
  trackId: number;
  defaultDuration: number | null;
  baseTime: number | null;
  sum: number;
}

/** Big-endian 32-bit field at `bytes[at…]`, which must end by `end` (the end of the bytes read). */
function u32(bytes: Uint8Array, at: number, end: number): number {
  if (at + 4 > end) malformed('a box is too short for its fields');
  return ((bytes[at]! << 24) >>> 0) + (bytes[at + 1]! << 16) + (bytes[at + 2]! << 8) + bytes[at + 3]!;
}

function u64(bytes: Uint8Array, at: number, end: number): number {
  const value = u32(bytes, at, end) * TWO32 + u32(bytes, at + 4, end);
  if (value > Number.MAX_SAFE_INTEGER) malformed('a 64-bit field is too large');
  return value;
}

/** Four characters at `bytes[at…]`; a position at or past `end` reads as NUL (a box too short for its field). */
function fourcc(bytes: Uint8Array, at: number, end: number): string {
  if (at + 4 <= end) return String.fromCharCode(bytes[at]!, bytes[at + 1]!, bytes[at + 2]!, bytes[at + 3]!);
  let out = '';
  for (let k = at; k < at + 4; k++) out += String.fromCharCode(k < end ? bytes[k]! : 0);
  return out;
}

function printable(b: number): boolean {
  return (b >= 0x20 && b <= 0x7e) || b === 0xa9;
}

/** Incremental scanner for one ISO-BMFF file or fragmented stream. See the module header. */
export class IsobmffScanner extends ByteScanner {
  /** ftyp major brand, if an ftyp was seen ('qt  ' for QuickTime). */
  majorBrand: string | null = null;
  /** 'done' once a complete moov has been read. */
  moov: 'none' | 'open' | 'done' = 'none';
  /** True when the moov has an mvex (the media is in moof/mdat fragments). */
  fragmented = false;
  /** Null until the moov ends; then whether it has a video track. */
  hasVideo: boolean | null = null;
  readonly tracks: IsoTrack[] = [];
  videoTrack: IsoTrack | null = null;

  private readonly stack: Open[] = [];
  /** `close` as a value made once: closeEnded runs at every element boundary, and a closure per call was most of a segment's garbage. */
  private readonly closeOpen = (open: Open): void => this.close(open);
  private movieTimescale = 0;
  private movieDuration: number | null = null;
  private track: IsoTrack | null = null;
  private readonly trexDefaults = new Map<number, number>();
  private leaf = '';
  private fragment: Fragment | null = null;
  /** trun streaming state. */
  private trunFlags = 0;
  private trunLeft = 0;
  private trunEntry = 0;
  private trunDefault = 0;
  /** Fragmented timing, in video timescale units. */
  private firstTime: number | null = null;
  private nextTime = 0;
  private pendingEnd: number | null = null;
  private committedEnd: number | null = null;
  private lastSampleDuration: number | null = null;

  constructor() {
    super(16); // size + type + 64-bit largesize
  }

  /** Seconds of video: see the module header. Non-fragmented files: known once the moov is read. */
  get videoSeconds(): number {
    const v = this.videoTrack;
    if (v === null) return 0;
    if (this.fragmented) {
      if (this.firstTime === null || this.committedEnd === null) return 0;
      return roundSeconds((this.committedEnd - this.firstTime) / v.timescale);
    }
    if (v.duration) return roundSeconds(v.duration / v.timescale);
    if (this.movieDuration && this.movieTimescale) return roundSeconds(this.movieDuration / this.movieTimescale);
    return 0;
  }

  /** The video track's codec (from its sample entry type), once the moov has been read. */
  get videoCodec(): VideoCodec | null {
    return this.videoTrack === null ? null : codecFromSampleEntry(this.videoTrack.sampleEntry ?? '');
  }

  /** One video frame in seconds (stts first delta, else duration / sample count, else the last fragment sample), or null. */
  get frameSeconds(): number | null {
    const v = this.videoTrack;
    if (v === null) return null;
    if (this.fragmented) return this.lastSampleDuration ? this.lastSampleDuration / v.timescale : null;
    if (v.firstDelta) return v.firstDelta / v.timescale;
    if (v.duration && v.sampleCount) return v.duration / v.sampleCount / v.timescale;
    return null;
  }

  /** True when the stream stopped between two top-level boxes (where a continuation may start with a box). */
  atTopLevelBoundary(): boolean {
    return this.atBoundary() && this.stack.length === 0;
  }

  /** The file ends here: throws if it stops inside a box (a size-0 box may run to the end). */
  finish(): void {
    if (!this.atBoundary() && !this.inOpenEndedBody()) malformed('the data ends inside a box');
    for (let k = this.stack.length - 1; k >= 0; k--) {
      const open = this.stack[k]!;
      if (open.end !== null) malformed(`the data ends inside the '${open.type}' box`);
      this.stack.pop();
      this.close(open);
    }
    this.commit();
  }

  protected headerLength(bytes: Uint8Array, at: number, avail: number): number {
    if (avail < 8) return 8;
    return u32(bytes, at, at + 8) === 1 ? 16 : 8;
  }

  protected onHeader(head: Uint8Array, at: number, length: number, start: number): void {
    const hdrEnd = at + length;
    for (let k = at + 4; k < at + 8; k++) {
      if (!printable(head[k]!)) malformed(`invalid box type bytes at byte ${start} (not a box header)`);
    }
    const type = fourcc(head, at + 4, hdrEnd);
    const parent = this.stack[this.stack.length - 1];
    const parentType = parent?.type ?? '';
    if (parent === undefined && !TOP_LEVEL_BOXES.has(type)) malformed(`'${type}' at byte ${start} is not a top-level box`);
    const size32 = u32(head, at, hdrEnd);
    let end: number | null;
    if (size32 === 1) {
      const large = u64(head, at + 8, hdrEnd);
      if (large < 16) malformed(`'${type}' declares a 64-bit size smaller than its header`);
      end = start + large;
    } else if (size32 === 0) {
      if (parent !== undefined) malformed(`'${type}' inside '${parentType}' has size 0 (only top-level boxes may run to the end)`);
      end = null;
    } else {
      if (size32 < 8) malformed(`'${type}' at byte ${start} declares size ${size32}, smaller than its header`);
      end = start + size32;
    }
    const parentEnd = parent?.end ?? null;
    if (parentEnd !== null && (end === null || end > parentEnd)) malformed(`'${type}' runs past the end of its parent '${parentType}'`);

    if (CONTAINERS.get(type) === parentType) {
      this.open(type);
      this.stack.push({ type, end });
      return;
    }
    const key = `${parentType}/${type}`;
    const want = LEAVES.get(key);
    this.leaf = want === undefined ? '' : key;
    const bodyEnd = end ?? Infinity;
    if (want === undefined) {
      this.body(bodyEnd);
      return;
    }
    if (key === '/ftyp' && this.majorBrand !== null) malformed('a second ftyp box');
    if (key === 'traf/trun' && this.fragment === null) malformed('trun outside a traf');
    // Fields are bounds-checked when decoded, so a box too short for them is reported then.
    this.body(bodyEnd, Math.min(want, bodyEnd - this.pos, MAX_READ));
  }

  protected onRead(data: Uint8Array, at: number, length: number): void {
    const end = at + length; // fields are bounds-checked against it, so a box too short for them is reported
    const version = length > 0 ? data[at]! : 0;
    switch (this.leaf) {
      case 'trun-entry':
        this.addSamples(1, this.trunFlags & 0x100 ? u32(data, at, end) : this.trunDefault);
        if (--this.trunLeft > 0) this.readMore(this.trunEntry);
        return;
      case '/ftyp':
        this.majorBrand = fourcc(data, at, end);
        return;
      case 'moov/mvhd':
        this.movieTimescale = version === 1 ? u32(data, at + 20, end) : u32(data, at + 12, end);
        this.movieDuration = version === 1 ? u64(data, at + 24, end) : u32(data, at + 16, end);
        return;
      case 'trak/tkhd':
        this.track!.id = version === 1 ? u32(data, at + 20, end) : u32(data, at + 12, end);
        return;
      case 'mdia/mdhd': {
        const timescale = version === 1 ? u32(data, at + 20, end) : u32(data, at + 12, end);
        if (timescale === 0) malformed('mdhd timescale is 0');
        const duration = version === 1 ? u64(data, at + 24, end) : u32(data, at + 16, end);
        this.track!.timescale = timescale;
        this.track!.duration = duration === 0xffffffff || duration === 0 ? null : duration;
        return;
      }
      case 'mdia/hdlr':
        this.track!.handler = fourcc(data, at + 8, end);
        return;
      case 'stbl/stsd':
        // version/flags, entry_count, then the first entry's size and type.
        if (this.track && length >= 16 && u32(data, at + 4, end) > 0) this.track.sampleEntry = fourcc(data, at + 12, end);
        return;
      case 'stbl/stts':
        if (this.track && u32(data, at + 4, end) > 0 && length >= 16) this.track.firstDelta = u32(data, at + 12, end);
        return;
      case 'stbl/stsz':
        if (this.track) this.track.sampleCount = u32(data, at + 8, end);
        return;
      case 'mvex/trex':
        if (this.trexDefaults.size >= MAX_TRACKS) malformed(`more than ${MAX_TRACKS} trex boxes`);
        this.trexDefaults.set(u32(data, at + 4, end), u32(data, at + 12, end));
        return;
      case 'traf/tfhd': {
        const flags = u32(data, at, end) & 0xffffff;
        this.fragment!.trackId = u32(data, at + 4, end);
        let field = at + 8;
        if (flags & 0x1) field += 8;
        if (flags & 0x2) field += 4;
        if (flags & 0x8) this.fragment!.defaultDuration = u32(data, field, end);
        return;
      }
      case 'traf/tfdt':
        this.fragment!.baseTime = version === 1 ? u64(data, at + 4, end) : u32(data, at + 4, end);
        return;
      case 'traf/trun': {
        const flags = u32(data, at, end) & 0xffffff;
        this.trunFlags = flags;
        this.trunLeft = u32(data, at + 4, end);
        const f = this.fragment!;
        this.trunDefault = f.defaultDuration ?? this.trexDefaults.get(f.trackId) ?? 0;
        this.trunEntry = 4 * ((flags & 0x100 ? 1 : 0) + (flags & 0x200 ? 1 : 0) + (flags & 0x400 ? 1 : 0) + (flags & 0x800 ? 1 : 0));
        const optional = (flags & 0x1 ? 4 : 0) + (flags & 0x4 ? 4 : 0);
        this.leaf = 'trun-optional';
        this.readMore(optional); // malformed if the box is too short
        return;
      }
      case 'trun-optional':
        this.leaf = 'trun-entry';
        if (this.trunEntry === 0) {
          this.addSamples(this.trunLeft, this.trunDefault);
          this.trunLeft = 0;
        } else if (this.trunLeft > 0 && this.bodyBytesAt(this.trunLeft * this.trunEntry)) {
          // Fast path: every entry is in this message (and inside the box): sum them in place, then
          // let the rest of the box be skipped by counting, instead of one read step per sample.
          const src = this.src;
          const hasDuration = (this.trunFlags & 0x100) !== 0;
          for (let k = 0, p = this.srcAt; k < this.trunLeft; k++, p += this.trunEntry) {
            this.addSamples(1, hasDuration ? u32(src, p, src.length) : this.trunDefault);
          }
          this.trunLeft = 0;
        } else if (this.trunLeft > 0) {
          this.readMore(this.trunEntry); // entries straddle messages: one read per entry
        }
        return;
      default:
        throw new Error(`internal: unexpected read for '${this.leaf}'`);
    }
  }

  protected onBodyEnd(): void {
    if (this.leaf === '' && this.stack.length === 0) this.commit(); // a top-level box (mdat) ended
    this.leaf = '';
  }

  protected closeEnded(): boolean {
    return closeContainersEndingAt(this.stack, this.pos, this.closeOpen);
  }

  private open(type: string): void {
    switch (type) {
      case 'moov':
        if (this.moov !== 'none') malformed('a second moov box');
        this.moov = 'open';
        return;
      case 'trak':
        if (this.tracks.length >= MAX_TRACKS) malformed(`more than ${MAX_TRACKS} tracks`);
        this.track = { id: 0, handler: '', timescale: 0, duration: null, sampleCount: null, firstDelta: null, sampleEntry: null };
        return;
      case 'mvex':
        this.fragmented = true;
        return;
      case 'moof':
        if (this.moov !== 'done') malformed('a movie fragment (moof) before the moov box');
        if (!this.fragmented) malformed('a movie fragment (moof) in a file whose moov has no mvex');
        this.commit();
        return;
      case 'traf':
        this.fragment = { trackId: 0, defaultDuration: null, baseTime: null, sum: 0 };
        return;
      default:
        return;
    }
  }

  private close(open: Open): void {
    switch (open.type) {
      case 'trak': {
        const track = this.track!;
        this.track = null;
        if (track.timescale === 0 && track.handler === 'vide') malformed('the video trak has no mdhd timescale');
        this.tracks.push(track);
        return;
      }
      case 'moov': {
        this.moov = 'done';
        this.videoTrack = this.tracks.find((t) => t.handler === 'vide') ?? null;
        this.hasVideo = this.videoTrack !== null;
        if (!this.hasVideo) {
          const kinds = this.tracks.map((t) => t.handler || '?').join(', ');
          throw new MediaError('no-video', `the moov declares no video track (handlers: ${kinds || 'no tracks'})`);
        }
        return;
      }
      case 'traf': {
        const f = this.fragment!;
        this.fragment = null;
        if (this.videoTrack === null || f.trackId !== this.videoTrack.id) return;
        const start = f.baseTime ?? this.nextTime;
        this.firstTime ??= start;
        const end = start + f.sum;
        this.nextTime = end;
        this.pendingEnd = Math.max(this.pendingEnd ?? end, end);
        return;
      }
      case 'moof':
        return;
      default:
        return;
    }
  }

  private addSamples(count: number, duration: number): void {
    const f = this.fragment!;
    f.sum += count * duration;
    if (count > 0) this.lastSampleDuration = duration;
  }

  /** Count the fragments whose moof has been read (called when their mdat ends, or at the next moof, or at the end). */
  private commit(): void {
    if (this.pendingEnd === null) return;
    this.committedEnd = Math.max(this.committedEnd ?? this.pendingEnd, this.pendingEnd);
    this.pendingEnd = null;
  }
}
